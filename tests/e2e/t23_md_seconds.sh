#!/usr/bin/env bash
# t23_md_seconds — MotherDuck's transaction_seconds bound on the staged load (docs/motherduck.md,
# "Limits"), on a local DuckDB file under PG2MD_TEST_MOTHERDUCK_RULES=1: a package of several
# files, loaded with transaction_seconds = 1 (its minimum) and transaction_rows far above the
# package, takes one step per transaction: every transaction passed one second after its first
# step.  Time is made to pass by tests/lib/fastclock.c (CLOCK_MONOTONIC 10,000 times faster for
# pg2md load), so the split does not depend on the machine's speed.  Killed after the third
# step's commit, the rerun continues at the fourth; the table equals the source value by value
# (every row arrived once) and no step record or work table is left.
. "$(dirname "$0")/../lib/common.sh"
t_init md_seconds
require_pg2md
export PG2MD_TEST_MOTHERDUCK_RULES=1

command -v cc >/dev/null || { echo "1..0 # SKIP no C compiler for tests/lib/fastclock.c"; t_cleanup; exit 77; }
cc -shared -fPIC -O2 -o "$T_TMP/fastclock.so" "$PG2MD_SRC/tests/lib/fastclock.c" -ldl 2>"$T_ERR" ||
	t_bail "cannot build tests/lib/fastclock.c" "$(cat "$T_ERR")"
# pg2md with its monotonic clock 10,000 times faster (the shim first, also under ASan)
FAST=(env LD_PRELOAD="$T_TMP/fastclock.so" FASTCLOCK_FACTOR=10000
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$PG2MD_BIN")

pg -c "CREATE TABLE big (id int PRIMARY KEY, v text, n numeric(12,3), at timestamptz);
       INSERT INTO big SELECT g, 'v' || g || repeat('x', g % 40), g * 1.5, TIMESTAMPTZ '2024-01-01' + g * interval '1 minute'
              FROM generate_series(1, 6000) g;"
P=$T_TMP/p
make_project "$P" --tables "big" --config "[destination.motherduck]
batch_size = 1000
transaction_rows = 100000000
transaction_seconds = 1"
DB=$P/pg2md.duckdb

# a package of several files: page ranges of 8 pages, one file each
assert_exit 0 env PG2MD_PAGES_PER_TASK=8 "$PG2MD_BIN" extract --project-dir "$P"
assert_exit 0 "$PG2MD_BIN" normalize --project-dir "$P"
files=$(find "$P" -path '*normalized*' -name '*.parquet' | wc -l)
[ "$files" -ge 3 ] && t_pass "the package holds $files files" || t_fail "expected several files in the package, found $files"

# killed after the third step transaction's commit
assert_exit 137 env PG2MD_FAULT=load:step_committed PG2MD_FAULT_SKIP=2 "${FAST[@]}" load --project-dir "$P" --log-level DEBUG
n=$(sed -n 's/.*table "big": steps up to 1 of \([0-9]*\) committed.*/\1/p' "$T_ERR")
[ "${n:-0}" -ge 5 ] && t_pass "the load has $n steps (batch_size rows at most each)" || t_fail "expected at least 5 steps, the log says '${n:-nothing}'" "$(t_last)"
for i in 1 2 3; do
	assert_match "$(cat "$T_ERR")" "table \"big\": steps up to $i of $n committed \([0-9]+ rows" "transaction $i held step $i alone"
done
assert_eq "3 $(ddbq "$DB" "SELECT count(*) FROM pg2md_data._pg2md_new__big")" \
	"$(ddbq "$DB" "SELECT count(*), sum(rows) FROM pg2md_data._pg2md_load_steps" | tr '\t' ' ')" \
	"three step records committed with their rows in the work table"
assert_eq 0 "$(ddbq "$DB" "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'big'")" "nothing loaded into the table yet"

# the rerun continues at step 4, one step per transaction again
assert_exit 0 "${FAST[@]}" load --project-dir "$P" --log-level DEBUG
assert_contains "$(cat "$T_ERR")" "continuing load" "the rerun says it continues"
assert_contains "$(cat "$T_ERR")" "at step 4 of $n" "after the last committed step"
assert_eq "$((n - 3))" "$(grep -c 'table "big": steps up to [0-9]* of [0-9]* committed' "$T_ERR")" \
	"$((n - 3)) more transactions for the $((n - 3)) steps left: one step each"
for ((i = 4; i <= n; i++)); do
	grep -q "table \"big\": steps up to $i of $n committed" "$T_ERR" || t_fail "no transaction ended at step $i" "$(t_last)"
done
assert_table_equal public big "$DB" pg2md_data big "loaded in one-step transactions: big equals the source (every row once)"
assert_eq 1 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data._dlt_loads")" "one load recorded"
assert_eq "" "$(ddbq "$DB" "SELECT coalesce(string_agg(table_name, ','), '') FROM duckdb_tables() WHERE table_name LIKE '_pg2md_%'")" \
	"no step record table and no work table left"

t_done

#!/usr/bin/env bash
# t78_follow_md_steps — under MotherDuck's rules (the test-only switch PG2MD_TEST_MOTHERDUCK_RULES=1
# on a local file) a streamed large transaction is applied in bounded steps into work tables and
# swapped in by one short transaction at its Stream Commit (docs/motherduck.md, "pg2md follow"):
#   - a streamed transaction within transaction_rows (2000 here) is applied in one transaction,
#     no table copied;
#   - past it, a transaction of ~40,000 changes (inserts, updates leaving a
#     large value unchanged, key changes, deletes, a TRUNCATE) takes several steps (the DEBUG log
#     says so), ends equal to the source, and leaves no work table;
#   - a column added inside a streamed transaction: its work table follows it; within the
#     bounds, a column change after rows of its table (which one DuckDB transaction cannot
#     apply) sends the transaction to steps too;
#   - SIGKILL between two steps, and after the last step before the swap: the mirror tables are
#     as before the transaction (what a reader of the destination sees then), the work tables are
#     there; the rerun drops them, applies the transaction again, and ends equal to the source;
#   - SIGKILL after the swap's commit: the rerun applies nothing twice;
#   - the 512 KB statement cap: a table of 1,599 numeric columns with long names, followed with
#     protocol 1 (text values), needs a statement of about 700 KB: refused under the rules before
#     it is sent, with a hint, the mirror unchanged.
# logical_decoding_work_mem = 64kB (PGOPTIONS, as in t69) makes the server stream the transactions.
# Every step compares the destination with the source by checksum.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_md_steps
require_pg2md

SLOT="t78_slot_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't78_%_$$' AND NOT active" >/dev/null 2>&1 || true
	orig_t_cleanup
}
export PGOPTIONS="-c logical_decoding_work_mem=64kB"
export PG2MD_TEST_MOTHERDUCK_RULES=1

pg -c "CREATE TABLE ts (id bigint PRIMARY KEY, v int, s text, big text);
       ALTER TABLE ts ALTER COLUMN big SET STORAGE EXTERNAL;
       CREATE TABLE tb (k int PRIMARY KEY, v int NOT NULL);
       CREATE TABLE tq (k int PRIMARY KEY, w text);
       INSERT INTO ts SELECT g, g, 'row ' || g, CASE WHEN g % 50 = 0 THEN repeat(md5(g::text), 100) END
                      FROM generate_series(1, 3000) g;
       INSERT INTO tb SELECT g, g FROM generate_series(1, 500) g;
       INSERT INTO tq SELECT g, 'q' || g FROM generate_series(1, 100) g;"

P=$T_TMP/p
make_project "$P" --tables "ts tb tq" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t78_pub_$$\"
[destination.motherduck]
transaction_rows = 2000"
DB=$P/pg2md.duckdb

compare_all() {
	local t
	for t in ts tb tq; do assert_table_equal public "$t" "$DB" pg2md_data "$t" "$1: $t equals the source"; done
}
work_tables() { ddbq "$DB" "SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, '_pg2md_cdcw__')"; }
mirror() { # what a reader of the destination sees: a fingerprint of every mirror table
	ddbq "$DB" "SELECT (SELECT count(*) || '/' || sum(hash(id, v, s, big)) FROM pg2md_data.ts) || ' ' ||
	            (SELECT count(*) || '/' || sum(hash(k, v)) FROM pg2md_data.tb) || ' ' ||
	            (SELECT count(*) || '/' || sum(hash(k, w)) FROM pg2md_data.tq)"
}
big_tx() { # $1: a tag, $2: the first new id
	pg -c "BEGIN;
	       INSERT INTO ts SELECT g, g, '$1', NULL FROM generate_series($2, $2 + 15000) g;
	       UPDATE ts SET s = '$1 u' WHERE id % 3 = 0;                    -- big unchanged: 'u' values
	       UPDATE ts SET id = id + 1000000 WHERE id % 13 = 0 AND id < 3000; -- key changes
	       DELETE FROM ts WHERE id % 11 = 0;
	       TRUNCATE tb; INSERT INTO tb SELECT g, g + 1 FROM generate_series(1, 2500) g;
	       COMMIT;" || t_bail "the source statements failed"
}

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "initial copy"

# --- a streamed transaction within the bounds: one transaction, no table copied ------------------
pg -c "UPDATE ts SET big = repeat('z', 2000) WHERE id <= 300;" || t_bail "the source statements failed"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
assert_contains "$(cat "$T_OUT")" "streamed transactions: 1 applied (0 as they arrived)" \
	"the transaction came streamed, applied from disk at its commit (never as it arrives under the rules)"
assert_match "$(cat "$T_ERR")" "applied streamed transaction [0-9]+ up to [0-9A-F/]+ \(600 rows written" \
	"within transaction_rows: applied in one transaction"
assert_not_contains "$(cat "$T_ERR")" "work table" "no work table made"
compare_all "a streamed transaction within the bounds"

# --- a streamed transaction in several steps ---------------------------------------------------
big_tx steps 100000
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
assert_contains "$(cat "$T_OUT")" "streamed transactions: 1 applied (0 as they arrived)" \
	"the transaction came streamed, applied from disk at its commit"
assert_contains "$(cat "$T_ERR")" "past the bounds of one step in one transaction, applied again in steps" \
	"past transaction_rows, the one transaction was given up for steps"
assert_match "$(cat "$T_ERR")" "applied streamed transaction [0-9]+ up to [0-9A-F/]+ in ([3-9]|[1-9][0-9]+) steps" \
	"the transaction was applied in several steps"
assert_contains "$(cat "$T_ERR")" "step 2 committed" "each step committed on its own"
assert_contains "$(cat "$T_ERR")" "2 work tables swapped in" "ts and tb swapped in (tq untouched)"
[ "$(grep -c "copied the rows .* of ts into its work table" "$T_ERR")" -ge 2 ] &&
	t_pass "the copy of ts into its work table took several steps of transaction_rows rows" ||
	t_fail "the copy of ts into its work table was not cut into steps" "$(grep "copied the rows" "$T_ERR")"
compare_all "a streamed transaction in steps"
assert_eq "$(pgq "SELECT md5(big) FROM ts WHERE id = 1000650")" \
	"$(ddbq "$DB" "SELECT md5(big) FROM pg2md_data.ts WHERE id = 1000650")" \
	"an unchanged large value follows its row through a key change (read from the work table)"
assert_eq 0 "$(work_tables)" "no work table left"

# --- a column added inside a streamed transaction ----------------------------------------------
pg -c "BEGIN;
       UPDATE ts SET v = v + 1 WHERE id < 110000;
       ALTER TABLE ts ADD COLUMN extra int DEFAULT 5;
       UPDATE ts SET extra = id::int WHERE id < 105000;
       INSERT INTO tb SELECT g, g FROM generate_series(3001, 6000) g;
       COMMIT;" || t_bail "the source statements failed"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
assert_contains "$(cat "$T_ERR")" "follows its source's columns: column extra" "the column change was followed"
assert_match "$(cat "$T_ERR")" "in ([3-9]|[1-9][0-9]+) steps" "the transaction was applied in several steps"
assert_table_equal public ts "$DB" pg2md_data ts "a column added in a streamed transaction: ts equals the source"
assert_table_equal public tb "$DB" pg2md_data tb "a column added in a streamed transaction: tb equals the source"
assert_eq 0 "$(work_tables)" "no work table left"

# --- within the bounds, a column change after rows of its table: steps apply it ------------------
# (one DuckDB transaction cannot change a table's columns after its rows: without the rules this
# stops with the resync hint, under them the transaction is applied again in steps)
pg -c "BEGIN;
       UPDATE ts SET big = repeat('y', 2000) WHERE id <= 300;
       ALTER TABLE ts ADD COLUMN extra2 text;
       UPDATE ts SET extra2 = 'e' || id WHERE id <= 100;
       COMMIT;" || t_bail "the source statements failed"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
assert_contains "$(cat "$T_ERR")" "a column change after rows of its table in one transaction, applied again in steps" \
	"the column change after rows sent the transaction to steps"
assert_contains "$(cat "$T_ERR")" "follows its source's columns: column extra2" "the column change was followed"
assert_table_equal public ts "$DB" pg2md_data ts "a column change after rows in a streamed transaction: ts equals the source"
assert_eq 0 "$(work_tables)" "no work table left"
mirror() { # (ts has its columns extra and extra2 now)
	ddbq "$DB" "SELECT (SELECT count(*) || '/' || sum(hash(id, v, s, big, extra, extra2)) FROM pg2md_data.ts) || ' ' ||
	            (SELECT count(*) || '/' || sum(hash(k, v)) FROM pg2md_data.tb) || ' ' ||
	            (SELECT count(*) || '/' || sum(hash(k, w)) FROM pg2md_data.tq)"
}

# --- SIGKILL between two steps, and before the swap: a reader sees the old tables ----------------
for point in "cdc:stream_step 1 400000" "cdc:stream_before_commit 0 500000"; do
	set -- $point
	before=$(mirror)
	big_tx "kill ${1#cdc:}" "$3"
	t_run env PG2MD_FAULT="$1" PG2MD_FAULT_SKIP="$2" "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
	assert_eq 137 "$T_RC" "killed at $1 (SIGKILL)"
	[ "$1" = cdc:stream_step ] && assert_contains "$(cat "$T_ERR")" "step 1 committed" "killed after a step committed"
	assert_eq "$before" "$(mirror)" "killed at $1: the mirror tables are as before the transaction"
	[ "$(work_tables)" -ge 1 ] && t_pass "killed at $1: the work tables hold the steps" ||
		t_fail "killed at $1: no work table"
	assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level INFO
	assert_match "$(cat "$T_ERR")" "dropped [1-9][0-9]* work tables? of a streamed transaction a stopped run left" "the rerun dropped them"
	assert_contains "$(cat "$T_OUT")" "streamed transactions: 1 applied" "the rerun applied the transaction again"
	compare_all "rerun after a kill at $1"
	assert_eq 0 "$(work_tables)" "no work table left after the rerun"
done

# --- SIGKILL after the swap's commit, before the server heard of it: applied once ---------------
big_tx after 300000
t_run env PG2MD_FAULT=cdc:stream_after_commit "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq 137 "$T_RC" "killed after the swap's commit"
compare_all "after a kill after the swap"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "applied 0 transactions" "the rerun skips the transaction it already applied"
compare_all "rerun after a kill after the swap (nothing applied twice)"

# --- the 512 KB cap on the apply statements ---------------------------------------------------------
long=$(printf 'x%.0s' $(seq 1 53))
cols=$(for i in $(seq 1000 2598); do printf ', c%s_%s numeric(10,2)' "$i" "$long"; done)
pg -c "CREATE TABLE wide (id int PRIMARY KEY$cols); INSERT INTO wide (id) SELECT g FROM generate_series(1, 3) g;" ||
	t_bail "the source statements failed"
W=$T_TMP/w
make_project "$W" --tables "wide" --config "[sources.pg_replication]
slot_name = \"t78_wide_$$\"
pub_name = \"t78_wpub_$$\"
proto_version = 1"
# (DuckDB's budget raised: 1,599 text columns staged take more than the default 128 MB)
export PG2MD_DUCKDB_MEMORY_LIMIT=1GB
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$W"
pg -c "UPDATE wide SET c1001_$long = 1.25 WHERE id = 2;" || t_bail "the source statements failed"
assert_exit 1 "$PG2MD_BIN" follow --once --project-dir "$W"
assert_match "$(cat "$T_ERR")" "a statement of [0-9]+ bytes, over MotherDuck's limit of 524288 bytes" \
	"under the rules: a statement over 512 KB is refused before it is sent"
assert_contains "$(cat "$T_ERR")" "excluded_columns" "the hint says what to do"
assert_eq "null" "$(ddbq "$W/pg2md.duckdb" "SELECT coalesce(CAST(c1001_$long AS VARCHAR), 'null') FROM pg2md_data.wide
	WHERE id = 2")" "the mirror is unchanged"

t_done

#!/usr/bin/env bash
# tests/valgrind/run.sh — an end-to-end run of pg2md under valgrind's memcheck
# (tests/tools/valgrind-pg2md): staged and direct runs, replace, append with an incremental
# cursor, merge (with updates, inserts and deletes at the source), runs interrupted by SIGINT
# mid-COPY, failing runs (exit 2 and 3), and the commands verify, trace, info, check and sql.  Every invocation must exit with its usual code;
# any memory error or definite/indirect leak makes the wrapper exit 99, which fails the
# assertion.  The data is compared with the source after each run.  Not in the plain suite
# (valgrind makes each pg2md run ~20x slower): scripts/test.sh runs it in its sanitizer stage.
. "$(dirname "$0")/../lib/common.sh"
T_REAL_BIN=${PG2MD_VALGRIND_BIN:-$PG2MD_BIN}
t_init valgrind
command -v valgrind >/dev/null || t_bail "valgrind not found (apt-get install valgrind)"
[ -x "$T_REAL_BIN" ] || t_bail "pg2md binary not found at $T_REAL_BIN" "build it first: make build"
export PG2MD_VALGRIND_BIN=$T_REAL_BIN PG2MD_VALGRIND_LOG=$T_TMP/valgrind
VG=${PG2MD_VALGRIND_WRAPPER:-$PG2MD_SRC/tests/tools/valgrind-pg2md} # the plain binary, to check the scenario itself
# ddbq stays the plain build: only pg2md is under test
DDBQ=$(dirname "$T_REAL_BIN")/ddbq
[ -x "$DDBQ" ] || DDBQ=$PG2MD_SRC/build/ddbq

pg -c "CREATE TABLE r (id int primary key, s text, n numeric(12,3), ts timestamptz, arr int[], j jsonb, b bytea);
       INSERT INTO r SELECT g, md5(g::text), g / 7.0, timestamptz '2024-01-01 00:00+00' + g * interval '1 s',
                            ARRAY[g, g + 1], jsonb_build_object('g', g), decode(md5(g::text), 'hex')
       FROM generate_series(1, 3000) g;
       CREATE TABLE inc (seq bigint primary key, v text);
       INSERT INTO inc SELECT g, 'v' || g FROM generate_series(1, 1000) g;
       CREATE TABLE mrg (id int primary key, v text, updated_at timestamptz);
       INSERT INTO mrg SELECT g, 'v' || g, timestamptz '2024-01-01 00:00+00' FROM generate_series(1, 1000) g;"
make_project "$T_TMP/p" --tables "r inc mrg" --config '
[sources.sql_database.inc]
write_disposition = "append"
incremental.cursor_path = "seq"

[sources.sql_database.mrg]
write_disposition = "merge"'
P=$T_TMP/p
DUCK=$P/pg2md.duckdb

# show_reports — the valgrind reports of the last failed invocation
show_reports() {
	local f
	for f in "$PG2MD_VALGRIND_LOG"/*.log; do
		grep -q -E 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]' "$f" && t_diag "$(head -c 6000 "$f")"
	done
	return 0
}
vg() { # CODE ARGS… — pg2md under valgrind, exit CODE wanted
	local want=$1
	shift
	assert_exit "$want" "$VG" "$@" || show_reports
}

vg 0 check --project-dir "$P"
vg 0 run --project-dir "$P"
assert_table_equal public r "$DUCK" pg2md_data r "staged: r equals its source"
assert_table_equal public inc "$DUCK" pg2md_data inc "staged: inc equals its source"
assert_table_equal public mrg "$DUCK" pg2md_data mrg "staged: mrg equals its source"

pg -c "INSERT INTO inc SELECT g, 'v' || g FROM generate_series(1001, 1500) g;
       UPDATE mrg SET v = v || '+' WHERE id <= 100; INSERT INTO mrg VALUES (1001, 'new', now());
       UPDATE r SET s = upper(s) WHERE id % 10 = 0; DELETE FROM r WHERE id > 2900;"
vg 0 run --direct --project-dir "$P"
assert_table_equal public r "$DUCK" pg2md_data r "direct: r equals its source"
assert_table_equal public inc "$DUCK" pg2md_data inc "direct, incremental append: inc equals its source"
assert_table_equal public mrg "$DUCK" pg2md_data mrg "direct, merge: mrg equals its source"

pg -c "INSERT INTO inc SELECT g, 'v' || g FROM generate_series(1501, 1600) g;
       UPDATE mrg SET v = v || '!' WHERE id > 900;"
vg 0 run --project-dir "$P"
assert_table_equal public inc "$DUCK" pg2md_data inc "staged again, incremental append: inc equals its source"
assert_table_equal public mrg "$DUCK" pg2md_data mrg "staged again, merge: mrg equals its source"

vg 0 verify --project-dir "$P"
vg 0 trace --json --project-dir "$P"
vg 0 info --project-dir "$P"
vg 0 sql --project-dir "$P" "SELECT count(*) FROM pg2md_data.r"
assert_eq "$(pgq "SELECT count(*) FROM r")" "$(head -n 3 "$T_OUT" | grep -E -o '[0-9]+' | tail -n 1)" "sql prints the count"
vg 2 run --project-dir "$P" --tables r,no_such_table
# interrupted mid-COPY (SIGINT, exit 4): the cancel and cleanup paths free what they hold; the
# wrapper execs valgrind, which runs pg2md in its own process, so the signal reaches pg2md
for mode in staged direct; do
	gate=$T_TMP/gate-$mode
	PG2MD_PAUSE=extract:chunk PG2MD_PAUSE_FILE=$gate "$VG" run --$mode --project-dir "$P" >"$T_OUT" 2>"$T_ERR" &
	pid=$!
	for i in $(seq 1200); do [ -f "$gate.paused" ] && break; sleep 0.1; done
	kill -INT "$pid"
	sleep 0.5
	touch "$gate"
	T_RC=0
	wait "$pid" || T_RC=$?
	assert_eq 4 "$T_RC" "SIGINT mid-COPY ($mode): exit 4 under valgrind" || { t_diag "$(t_last)"; show_reports; }
done
vg 0 run --project-dir "$P"
assert_table_equal public r "$DUCK" pg2md_data r "after the interrupted runs: r equals its source"
make_project "$T_TMP/bad" --tables "r" --password wrong-password
vg 3 run --project-dir "$T_TMP/bad"
t_done

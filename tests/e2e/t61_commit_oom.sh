#!/usr/bin/env bash
# t61_commit_oom — a direct task's COMMIT that DuckDB reports out of memory.  Either it did not
# commit ("commit:oom": the injected failure rolls the transaction back before the COMMIT) and the
# task is read again once, alone, in the run's snapshot; or it committed and then failed
# ("commit:oom_after": the COMMIT ran, then the failure is reported, as a checkpoint failing after
# the commit would be) and the run goes on without reading it again.  The work table's row count
# against the rows known committed tells which (commit.c, commit_settle).  Three workers, one worker, and
# MotherDuck's one writer (the test-only switch); staged mode has no such COMMIT and is unaffected.
# Every case compares the destination with the source value by value and counts duplicates.
. "$(dirname "$0")/../lib/common.sh"
t_init commit_oom
require_pg2md

# fillfactor 20 spreads f over ~12k pages: three page-range tasks, one per worker, and g
pg -c "CREATE TABLE f (id int primary key, s text, n numeric(12,2)) WITH (fillfactor = 20);
       INSERT INTO f SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, 200000) g;
       CREATE TABLE g (id int primary key, v text);
       INSERT INTO g SELECT g, 'v' || g FROM generate_series(1, 5000) g;"
make_project "$T_TMP/p" --tables "f g" --config "workers = 3
[postgres]
pool_size = 3"
make_project "$T_TMP/one" --tables "f g" --config "workers = 1"

# check_dest LABEL DIR — both tables equal to the source, no id twice, no work table left
check_dest() {
	local label=$1 db=$2/pg2md.duckdb
	assert_table_equal public f "$db" pg2md_data f "$label: f equals its source"
	assert_table_equal public g "$db" pg2md_data g "$label: g equals its source"
	assert_eq 0 "$(ddbq "$db" "SELECT (SELECT count(*) - count(DISTINCT id) FROM pg2md_data.f) +
		(SELECT count(*) - count(DISTINCT id) FROM pg2md_data.g)")" "$label: no row twice"
	assert_eq 0 "$(ddbq "$db" "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\_pg2md\_%' ESCAPE '\'")" \
		"$label: no work table left"
}

# 1. three workers, the COMMITs of all four tasks (f's three page ranges, g) fail before committing,
# f's tasks often at once: each is read again alone, in the run's snapshot (the source changes
# while the run is held before the first read again)
rm -rf "$T_TMP/p/pg2md.duckdb" "$T_TMP/p/.pg2md"
gate=$T_TMP/gate
rm -f "$gate" "$gate.paused"
PG2MD_FAULT_FAIL=commit:oom PG2MD_FAULT_FAIL_TIMES=4 PG2MD_PAUSE=extract:retry PG2MD_PAUSE_FILE=$gate \
	"$PG2MD_BIN" run --direct --project-dir "$T_TMP/p" >"$T_OUT" 2>"$T_ERR" &
pid=$!
for i in $(seq 400); do [ -f "$gate.paused" ] && break; sleep 0.05; done
assert_eq 1 "$([ -f "$gate.paused" ] && echo 1 || echo 0)" "commit:oom: the run reaches a read again"
pg -c "UPDATE g SET v = v || '#x'; UPDATE f SET s = s || '#x' WHERE id % 97 = 0" >/dev/null
touch "$gate"
T_RC=0
wait "$pid" || T_RC=$?
assert_eq 0 "$T_RC" "commit:oom: the run succeeds" || t_diag "$(t_last)"
assert_eq 4 "$(grep -c 'ran out of memory committing table .*, and its rows did not commit; reading it again alone' "$T_ERR")" \
	"commit:oom: four tasks read again alone, each said"
assert_eq 4 "$(trace_retries "$T_TMP/p")" "commit:oom: the trace counts four retries"
assert_eq 0 "$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT (SELECT count(*) FROM pg2md_data.f WHERE s LIKE '%#x') +
	(SELECT count(*) FROM pg2md_data.g WHERE v LIKE '%#x')")" "commit:oom: the reads again saw the run's snapshot"
pg -c "UPDATE g SET v = replace(v, '#x', ''); UPDATE f SET s = replace(s, '#x', '') WHERE id % 97 = 0" >/dev/null
check_dest "commit:oom" "$T_TMP/p"

# 2. three workers, all four COMMITs fail after committing: kept, not read again
rm -rf "$T_TMP/p/pg2md.duckdb" "$T_TMP/p/.pg2md"
T_RC=0
PG2MD_FAULT_FAIL=commit:oom_after PG2MD_FAULT_FAIL_TIMES=4 \
	"$PG2MD_BIN" run --direct --project-dir "$T_TMP/p" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
assert_eq 0 "$T_RC" "commit:oom_after: the run succeeds" || t_diag "$(t_last)"
assert_eq 4 "$(grep -c 'ran out of memory committing table .*, after its rows committed: they are kept' "$T_ERR")" \
	"commit:oom_after: four commits found committed, each said"
assert_not_contains "$(cat "$T_ERR")" "reading it again" "commit:oom_after: nothing read again"
assert_eq 4 "$(trace_retries "$T_TMP/p")" "commit:oom_after: the trace counts four retries"
check_dest "commit:oom_after" "$T_TMP/p"

# 3. staged: no direct COMMIT, the fault is never reached
rm -rf "$T_TMP/p/pg2md.duckdb" "$T_TMP/p/.pg2md"
T_RC=0
PG2MD_FAULT_FAIL=commit:oom "$PG2MD_BIN" run --project-dir "$T_TMP/p" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
assert_eq 0 "$T_RC" "staged: the run succeeds"
assert_not_contains "$(cat "$T_ERR")" "fault injected" "staged: the fault is not reached"
assert_eq 0 "$(trace_retries "$T_TMP/p")" "staged: no retry"
check_dest "staged" "$T_TMP/p"

# 4. one worker: a COMMIT that committed goes on; one that did not fails the run cleanly (alone
# already, reading again would change nothing) and the next run completes
T_RC=0
PG2MD_FAULT_FAIL=commit:oom_after "$PG2MD_BIN" run --direct --project-dir "$T_TMP/one" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
assert_eq 0 "$T_RC" "one worker, commit:oom_after: the run succeeds" || t_diag "$(t_last)"
assert_eq 1 "$(trace_retries "$T_TMP/one")" "one worker, commit:oom_after: the trace counts one retry"
check_dest "one worker, commit:oom_after" "$T_TMP/one"
pg -c "UPDATE g SET v = v || '+' WHERE id <= 100" >/dev/null
T_RC=0
PG2MD_FAULT_FAIL=commit:oom "$PG2MD_BIN" run --direct --project-dir "$T_TMP/one" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
assert_eq 1 "$T_RC" "one worker, commit:oom: the run fails with exit 1"
assert_contains "$(cat "$T_ERR")" "committing the copied rows of table" "one worker, commit:oom: the failed commit is named"
assert_not_contains "$(cat "$T_ERR")" "reading it again" "one worker, commit:oom: no read again"
assert_eq 0 "$(ddbq "$T_TMP/one/pg2md.duckdb" "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\_pg2md\_%' ESCAPE '\'")" \
	"one worker, commit:oom: the failed run left no work table"
assert_exit 0 "$PG2MD_BIN" run --direct --project-dir "$T_TMP/one"
check_dest "one worker, after the rerun" "$T_TMP/one"

# 5. MotherDuck's one writer (on a local file): a COMMIT that committed goes on; one that did not
# fails the run cleanly (the writer commits one task at a time: nothing to read alone)
export PG2MD_TEST_MOTHERDUCK_RULES=1
rm -rf "$T_TMP/p/pg2md.duckdb" "$T_TMP/p/.pg2md"
T_RC=0
PG2MD_FAULT_FAIL=commit:oom_after PG2MD_FAULT_FAIL_TIMES=2 \
	"$PG2MD_BIN" run --direct --project-dir "$T_TMP/p" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
assert_eq 0 "$T_RC" "one writer, commit:oom_after: the run succeeds" || t_diag "$(t_last)"
assert_eq 2 "$(trace_retries "$T_TMP/p")" "one writer, commit:oom_after: the trace counts two retries"
check_dest "one writer, commit:oom_after" "$T_TMP/p"
pg -c "UPDATE g SET v = v || '+' WHERE id <= 100" >/dev/null
T_RC=0
PG2MD_FAULT_FAIL=commit:oom "$PG2MD_BIN" run --direct --project-dir "$T_TMP/p" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
assert_eq 1 "$T_RC" "one writer, commit:oom: the run fails with exit 1"
assert_contains "$(cat "$T_ERR")" "committing the copied rows of table" "one writer, commit:oom: the failed commit is named"
assert_exit 0 "$PG2MD_BIN" run --direct --project-dir "$T_TMP/p"
check_dest "one writer, after the rerun" "$T_TMP/p"
unset PG2MD_TEST_MOTHERDUCK_RULES

t_done

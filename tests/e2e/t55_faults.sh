#!/usr/bin/env bash
# t55_faults — the source fails under a run: a reading backend terminated mid-copy
# (pg_terminate_backend) is retried on a new connection in the same snapshot; the backend that
# holds the snapshot terminated, and PostgreSQL restarted mid-run, fail the run cleanly and the
# next run completes; a task whose DuckDB side ran out of memory mid-copy while other workers
# copied is read again alone on the same connection, the snapshot's own included, in the run's
# snapshot, staged and direct; with one worker that fails cleanly.  The out-of-memory failure is
# injected at "extract:oom": its detection is simulated (tests/unit/test_duck.c checks it on a
# real one); the cancelled COPY, the rollback to the savepoint, the DuckDB rollback and the read
# alone are real.  Every case ends with the destination equal to the source, value by value, and
# the faults injected and the recoveries are printed.
. "$(dirname "$0")/../lib/common.sh"
t_init faults
require_pg2md

FAULTS=0
RECOVERED=0

# run_paused PROJECT SQL-while-paused — start a run held at its first COPY chunk, run SQL, release
run_paused() {
	local dir=$1 sql=$2 gate=$T_TMP/gate
	rm -f "$gate" "$gate.paused"
	PG2MD_PAUSE=extract:chunk PG2MD_PAUSE_FILE=$gate "$PG2MD_BIN" run --project-dir "$dir" >"$T_OUT" 2>"$T_ERR" &
	local pid=$! i
	for i in $(seq 200); do [ -f "$gate.paused" ] && break; sleep 0.05; done
	sleep 0.3
	pg -c "$sql" >/dev/null
	touch "$gate"
	T_RC=0
	wait "$pid" || T_RC=$?
}

# fillfactor 20 spreads f over ~12k pages: three page-range tasks, one per worker
pg -c "CREATE TABLE f (id int primary key, s text, n numeric(12,2)) WITH (fillfactor = 20);
       INSERT INTO f SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, 200000) g;
       CREATE TABLE g (id int primary key, v text);
       INSERT INTO g SELECT g, 'v' || g FROM generate_series(1, 5000) g;"
# three workers, and a table cut into several page ranges
make_project "$T_TMP/p" --tables "f g" --config "workers = 3
[postgres]
pool_size = 3"

# 1. a worker's backend (not the one holding the snapshot) is terminated mid-copy: retried
FAULTS=$((FAULTS + 1))
run_paused "$T_TMP/p" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE application_name = 'pg2md' AND datname = current_database() AND query LIKE 'COPY%'
	  AND state = 'active' AND xact_start > (SELECT min(xact_start) FROM pg_stat_activity WHERE application_name = 'pg2md'
	                    AND datname = current_database())
	LIMIT 1"
assert_eq 0 "$T_RC" "terminated worker: the run still succeeds"
assert_contains "$(cat "$T_ERR")" "retrying" "terminated worker: a retry is announced"
retries=$(trace_retries "$T_TMP/p")
assert_eq 1 "$retries" "terminated worker: the trace counts one retry"
assert_table_equal public f "$T_TMP/p/pg2md.duckdb" pg2md_data f "terminated worker: f equals its source"
assert_table_equal public g "$T_TMP/p/pg2md.duckdb" pg2md_data g "terminated worker: g equals its source"
[ "$T_RC" = 0 ] && RECOVERED=$((RECOVERED + 1))

# 2. the backend holding the snapshot is terminated: the run fails cleanly, the next completes
FAULTS=$((FAULTS + 1))
pg -c "UPDATE g SET v = v || '+' WHERE id <= 100" >/dev/null
run_paused "$T_TMP/p" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE application_name = 'pg2md' AND datname = current_database()
	  AND xact_start = (SELECT min(xact_start) FROM pg_stat_activity WHERE application_name = 'pg2md'
	                    AND datname = current_database())"
assert_eq 1 "$T_RC" "terminated leader: the run fails with exit 1"
assert_contains "$(cat "$T_ERR")" "error:" "terminated leader: an error is printed"
assert_eq "" "$(find "$T_TMP/p/.pg2md/pipelines/pg2md/load/extracting" -mindepth 1 2>/dev/null)" \
	"terminated leader: no half-extracted package is left"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/p"
assert_table_equal public f "$T_TMP/p/pg2md.duckdb" pg2md_data f "after the terminated leader: f equals its source"
assert_table_equal public g "$T_TMP/p/pg2md.duckdb" pg2md_data g "after the terminated leader: g equals its source"
[ "$T_RC" = 0 ] && RECOVERED=$((RECOVERED + 1))

# 3. DuckDB runs out of memory mid-copy while other workers copy: the first attempts of all four
# tasks (f's three page ranges, g) fail at their second chunk, the snapshot's own connection
# (worker 0's) among them; each is read again alone.  The run is held before the first retry
# while the source changes: the retries must read the run's snapshot, not the changes.
pg -c "UPDATE g SET v = v || '*' WHERE id % 7 = 0; UPDATE f SET s = upper(s) WHERE id % 11 = 0" >/dev/null
for mode in staged direct; do
	FAULTS=$((FAULTS + 4))
	rm -rf "$T_TMP/p/pg2md.duckdb" "$T_TMP/p/.pg2md"
	gate=$T_TMP/oom-$mode
	rm -f "$gate" "$gate.paused"
	PG2MD_FAULT_FAIL=extract:oom PG2MD_FAULT_FAIL_TIMES=4 PG2MD_PAUSE=extract:retry PG2MD_PAUSE_FILE=$gate \
		"$PG2MD_BIN" run --$mode --project-dir "$T_TMP/p" >"$T_OUT" 2>"$T_ERR" &
	pid=$!
	for i in $(seq 400); do [ -f "$gate.paused" ] && break; sleep 0.05; done
	assert_eq 1 "$([ -f "$gate.paused" ] && echo 1 || echo 0)" "out of memory ($mode): the run reaches a retry"
	pg -c "UPDATE g SET v = v || '#$mode'; UPDATE f SET s = s || '#$mode' WHERE id % 97 = 0" >/dev/null
	touch "$gate"
	T_RC=0
	wait "$pid" || T_RC=$?
	assert_eq 0 "$T_RC" "out of memory ($mode): the run succeeds" || t_diag "$(t_last)"
	assert_eq 4 "$(grep -c 'ran out of memory copying table .* reading it again alone' "$T_ERR")" \
		"out of memory ($mode): four tasks read again alone, each said"
	retries=$(trace_retries "$T_TMP/p")
	assert_eq 4 "$retries" "out of memory ($mode): the trace counts four retries"
	seen=$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT (SELECT count(*) FROM pg2md_data.f WHERE s LIKE '%#$mode') + (SELECT count(*) FROM pg2md_data.g WHERE v LIKE '%#$mode')")
	assert_eq 0 "$seen" "out of memory ($mode): the retries read the run's snapshot (no change made during the run)"
	# the source back as the run's snapshot had it: then equal value by value
	pg -c "UPDATE g SET v = replace(v, '#$mode', ''); UPDATE f SET s = replace(s, '#$mode', '') WHERE id % 97 = 0" >/dev/null
	assert_table_equal public f "$T_TMP/p/pg2md.duckdb" pg2md_data f "out of memory ($mode): f equals its source"
	assert_table_equal public g "$T_TMP/p/pg2md.duckdb" pg2md_data g "out of memory ($mode): g equals its source"
	dups=$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT (SELECT count(*) - count(DISTINCT id) FROM pg2md_data.f) + (SELECT count(*) - count(DISTINCT id) FROM pg2md_data.g)")
	assert_eq 0 "$dups" "out of memory ($mode): rows duplicated 0"
	[ "$T_RC" = 0 ] && [ "$dups" = 0 ] && [ "$seen" = 0 ] && RECOVERED=$((RECOVERED + 4))
done
# alone: one task fails; held at the start of its second read, no other task of the run is
# copying (the others finished theirs, the fourth waits for the gate)
FAULTS=$((FAULTS + 1))
rm -rf "$T_TMP/p/pg2md.duckdb" "$T_TMP/p/.pg2md"
gate=$T_TMP/oom-alone
rm -f "$gate" "$gate.paused"
PG2MD_FAULT_FAIL=extract:oom PG2MD_PAUSE=extract:alone PG2MD_PAUSE_FILE=$gate \
	"$PG2MD_BIN" run --direct --project-dir "$T_TMP/p" >"$T_OUT" 2>"$T_ERR" &
pid=$!
for i in $(seq 400); do [ -f "$gate.paused" ] && break; sleep 0.05; done
copying=$(pgq "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg2md'
	AND datname = current_database() AND state = 'active' AND query LIKE 'COPY%'")
touch "$gate"
T_RC=0
wait "$pid" || T_RC=$?
assert_eq 0 "$copying" "out of memory: while one task is read again alone, no other copies"
assert_eq 0 "$T_RC" "out of memory, one task: the run succeeds" || t_diag "$(t_last)"
assert_table_equal public f "$T_TMP/p/pg2md.duckdb" pg2md_data f "out of memory, one task: f equals its source" &&
	assert_table_equal public g "$T_TMP/p/pg2md.duckdb" pg2md_data g "out of memory, one task: g equals its source" &&
	RECOVERED=$((RECOVERED + 1))

# one worker: nothing else held DuckDB's memory, so reading again alone would change nothing;
# the run fails cleanly with DuckDB's message, and the next run completes
FAULTS=$((FAULTS + 1))
make_project "$T_TMP/one" --tables "f g" --config "workers = 1"
T_RC=0
PG2MD_FAULT_FAIL=extract:oom "$PG2MD_BIN" run --direct --project-dir "$T_TMP/one" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
assert_eq 1 "$T_RC" "out of memory, one worker: the run fails with exit 1"
assert_contains "$(cat "$T_ERR")" "Out of Memory Error" "out of memory, one worker: DuckDB's error is printed"
assert_not_contains "$(cat "$T_ERR")" "reading it again alone" "out of memory, one worker: no retry"
assert_exit 0 "$PG2MD_BIN" run --direct --project-dir "$T_TMP/one"
assert_table_equal public f "$T_TMP/one/pg2md.duckdb" pg2md_data f "out of memory, one worker: after the rerun f equals its source" &&
	assert_table_equal public g "$T_TMP/one/pg2md.duckdb" pg2md_data g "out of memory, one worker: after the rerun g equals its source" &&
	RECOVERED=$((RECOVERED + 1))

# 4. PostgreSQL restarts mid-run (a private cluster: the shared one serves other tests)
FAULTS=$((FAULTS + 1))
PRIV=$(mktemp -d /tmp/pg2md-faults-pg.XXXXXX) # the server user must reach it: not under T_TMP
"$PG2MD_SRC/tests/lib/cluster.sh" start "$PRIV" >/dev/null
trap '"$PG2MD_SRC/tests/lib/cluster.sh" stop "$PRIV" >/dev/null 2>&1; t_cleanup' EXIT
PPORT=$(sed -n 's/^export PGPORT=//p' "$PRIV/env")
psql -X -q -h "$PRIV" -p "$PPORT" -U postgres -d pg2md_test -c "CREATE TABLE r (id int primary key, s text);
	INSERT INTO r SELECT g, md5(g::text) FROM generate_series(1, 300000) g;"
make_project "$T_TMP/r" --tables "r" --port "$PPORT" --database pg2md_test
gate=$T_TMP/rgate
rm -f "$gate" "$gate.paused"
PG2MD_PAUSE=extract:chunk PG2MD_PAUSE_FILE=$gate "$PG2MD_BIN" run --project-dir "$T_TMP/r" >"$T_OUT" 2>"$T_ERR" &
pid=$!
for i in $(seq 200); do [ -f "$gate.paused" ] && break; sleep 0.05; done
"$PG2MD_SRC/tests/lib/cluster.sh" restart "$PRIV" >/dev/null
touch "$gate"
T_RC=0
wait "$pid" || T_RC=$?
assert_eq 1 "$T_RC" "restart: the run fails with exit 1"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/r"
rows=$(psql -X -At -h "$PRIV" -p "$PPORT" -U postgres -d pg2md_test -c "SELECT count(*), sum(hashtext(s)::bigint) FROM r")
got=$(ddbq "$T_TMP/r/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.r")
assert_eq "300000" "${rows%%|*}" "restart: the private cluster holds the table"
assert_eq "${rows%%|*}" "$got" "restart: after the rerun every row arrived once"
dups=$(ddbq "$T_TMP/r/pg2md.duckdb" "SELECT count(*) - count(DISTINCT id) FROM pg2md_data.r")
assert_eq 0 "$dups" "restart: no row twice"
[ -n "$got" ] && [ "$got" = "${rows%%|*}" ] && RECOVERED=$((RECOVERED + 1))

"$PG2MD_SRC/tests/lib/cluster.sh" stop "$PRIV" >/dev/null 2>&1

t_diag "faults injected: $FAULTS; recovered (destination equal to the source): $RECOVERED"
t_done

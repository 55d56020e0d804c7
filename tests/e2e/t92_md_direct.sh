#!/usr/bin/env bash
# t92_md_direct — `--direct` under MotherDuck's rules (PG2MD_TEST_MOTHERDUCK_RULES=1 on a local
# DuckDB file): the workers read in parallel, each on its own PostgreSQL connection, and hand
# their rows to the one writer connection, which writes one task's transaction at a time
# (stage/handoff.c).  Three workers, three tables cut into page-range tasks (one with a
# transform and the lineage columns): the data equals the source value by value (the transform's
# by checksum); the trace shows two workers' readings overlapping in time, tasks read whole
# before the writer took them, and one write span per task on the writer.  Failures leave nothing half-written and the next run is exact: a reading
# backend terminated mid-copy is read again on a new connection; SIGINT mid-copy exits 4; a
# reading that fails for good (extract:oom) fails the run cleanly, no work table left; a run
# killed after a task committed (extract:task_done) leaves the destination as it was.
. "$(dirname "$0")/../lib/common.sh"
t_init md_direct
require_pg2md
export PG2MD_TEST_MOTHERDUCK_RULES=1
export PG2MD_PAGES_PER_TASK=1000

DS=pg2md_data
pg >/dev/null <<'SQL' || t_bail "cannot build the source tables"
CREATE TABLE f (id int primary key, s text, n numeric(12,2), at timestamptz) WITH (fillfactor = 20);
INSERT INTO f SELECT g, md5(g::text), g / 7.0, timestamptz '2024-01-01' + g * interval '1 second'
  FROM generate_series(1, 200000) g;
CREATE TABLE g (id int primary key, v text, b bytea);
INSERT INTO g SELECT g, repeat('v', g % 300), decode(md5(g::text), 'hex') FROM generate_series(1, 20000) g;
CREATE TABLE x (id int primary key, v text);
INSERT INTO x SELECT g, 'x' || g FROM generate_series(1, 30000) g;
SQL

P=$T_TMP/p
make_project "$P" --tables "f g x" --config "workers = 3
[postgres]
pool_size = 3
[sources.sql_database.x]
transform = \"SELECT id, v, upper(v) AS vu FROM data\"
[normalize.parquet_normalizer]
add_dlt_load_id = true
add_dlt_id = true"
F=$P/pg2md.duckdb
TRACE=$P/.pg2md/pipelines/pg2md/trace.json

# x through its transform: the same rows, checksummed on both sides
x_src() { pgq "SELECT count(*) || ' ' || md5(string_agg(id || '|' || v || '|' || upper(v), ',' ORDER BY id)) FROM x"; }
x_dst() { ddbq "$F" "SELECT count(*) || ' ' || md5(string_agg(id || '|' || v || '|' || vu, ',' ORDER BY id)) FROM $DS.x"; }
check_all() {
	assert_table_equal public f "$F" $DS f "$1: f equals its source"
	assert_table_equal public g "$F" $DS g "$1: g equals its source"
	assert_eq "$(x_src)" "$(x_dst)" "$1: x through its transform equals its source (checksum)"
}
no_work_tables() {
	assert_eq "" "$(ddbq "$F" "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '_pg2md_new%'")" \
		"$1: no work table left"
}

# --- parallel readers, one writer -----------------------------------------------------------
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --direct --log-level DEBUG --progress none
assert_match "$(cat "$T_ERR")" "direct under MotherDuck's rules: 3 workers read, one connection writes" "one writer"
check_all "first run"
assert_eq 0 "$(ddbq "$F" "SELECT count(*) FROM $DS.x WHERE _dlt_load_id IS NULL OR length(_dlt_id) <> 36")" \
	"first run: x has its lineage columns"
no_work_tables "first run"

q() { ddbq :memory: "$1" 2>&1; }
J="read_json('$TRACE', maximum_object_size = 100000000)"
SPANS="(SELECT unnest(timeline.spans, recursive := true) FROM $J)"
TASKS=$(q "SELECT tasks FROM $J")
assert_match "$TASKS" '^([6-9]|[1-9][0-9]+)$' "trace: the tables were cut into several tasks ($TASKS)"
assert_eq "$TASKS" "$(q "SELECT count(*) FROM $SPANS WHERE stage = 'extract' AND ok")" "trace: one extract (reading) span per task"
assert_eq "$TASKS -1" "$(q "SELECT count(*) || ' ' || min(worker) FROM $SPANS WHERE stage = 'write' AND ok")" \
	"trace: one write span per task, all on the writer (the run's thread)"
# two readings of different workers overlap: [start, end) intersect
overlaps=$(q "WITH s AS (SELECT * FROM $SPANS WHERE stage = 'extract')
	SELECT count(*) FROM s a, s b WHERE a.worker < b.worker AND a.start < b.\"end\" AND b.start < a.\"end\"")
assert_match "$overlaps" '^[1-9][0-9]*$' "trace: two workers' readings overlap in time ($overlaps pairs)" ||
	t_diag "$(q "SELECT worker, task, round(start, 3), round(\"end\", 3) FROM $SPANS WHERE stage = 'extract' ORDER BY start")"

# the readers do not wait for the writer: a task was read whole before the writer began it
ahead=$(q "WITH s AS (SELECT * FROM $SPANS)
	SELECT count(*) FROM s r, s w WHERE r.stage = 'extract' AND w.stage = 'write' AND r.task = w.task AND r.\"end\" <= w.start")
assert_match "$ahead" '^[1-9][0-9]*$' "trace: tasks read ahead of the writer ($ahead)"

# --- a reading backend terminated mid-copy: read again, exactly once -------------------------
pg -c "UPDATE f SET s = 'second' WHERE id % 100 = 0; UPDATE x SET v = v || '!' WHERE id % 7 = 0" >/dev/null
gate=$T_TMP/gate
rm -f "$gate" "$gate.paused"
# tasks of 4,096 pages: more than the sockets buffer, so the reading really breaks off
PG2MD_PAGES_PER_TASK=4096 PG2MD_PAUSE=extract:chunk PG2MD_PAUSE_FILE=$gate "$PG2MD_BIN" run --project-dir "$P" --direct >"$T_OUT" 2>"$T_ERR" &
pid=$!
for i in $(seq 200); do [ -f "$gate.paused" ] && break; sleep 0.05; done
sleep 0.3
pg -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE application_name = 'pg2md' AND datname = current_database() AND query LIKE 'COPY%'
	  AND state = 'active' AND xact_start > (SELECT min(xact_start) FROM pg_stat_activity WHERE application_name = 'pg2md'
	                    AND datname = current_database())
	LIMIT 1" >/dev/null
touch "$gate"
rc=0
wait "$pid" || rc=$?
assert_eq 0 "$rc" "terminated reader: the run still succeeds" || t_diag "$(cat "$T_ERR")"
assert_contains "$(cat "$T_ERR")" "retrying" "terminated reader: a retry is announced"
retries=$(trace_retries "$P")
assert_eq 1 "$retries" "terminated reader: the trace counts one retry"
check_all "terminated reader"
no_work_tables "terminated reader"

# --- SIGINT mid-copy: exit 4, nothing written, the next run is exact ---------------------------
pg -c "UPDATE f SET s = 'sigint' WHERE id % 100 = 3" >/dev/null
before=$(ddbq "$F" "SELECT md5(string_agg(s, ',' ORDER BY id)) FROM $DS.f")
rm -f "$gate" "$gate.paused"
PG2MD_PAUSE=extract:chunk PG2MD_PAUSE_FILE=$gate "$PG2MD_BIN" run --project-dir "$P" --direct >"$T_OUT" 2>"$T_ERR" &
pid=$!
for i in $(seq 200); do [ -f "$gate.paused" ] && break; sleep 0.05; done
kill -INT "$pid"
touch "$gate"
rc=0
wait "$pid" || rc=$?
assert_eq 4 "$rc" "SIGINT: exit 4" || t_diag "$(cat "$T_ERR")"
assert_eq "$before" "$(ddbq "$F" "SELECT md5(string_agg(s, ',' ORDER BY id)) FROM $DS.f")" "SIGINT: f is as it was"
no_work_tables "SIGINT"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --direct
check_all "after SIGINT"

# --- a reading that fails for good: the run fails cleanly, the next run is exact ---------------
pg -c "UPDATE f SET s = 'third' WHERE id % 100 = 1; UPDATE g SET v = 'third' WHERE id % 50 = 0" >/dev/null
before=$(ddbq "$F" "SELECT md5(string_agg(s, ',' ORDER BY id)) FROM $DS.f")
assert_exit 1 env PG2MD_FAULT_FAIL=extract:oom "$PG2MD_BIN" run --project-dir "$P" --direct
assert_contains "$(cat "$T_ERR")" "injected at \"extract:oom\"" "failed reading: the root cause is the message"
assert_eq "$before" "$(ddbq "$F" "SELECT md5(string_agg(s, ',' ORDER BY id)) FROM $DS.f")" \
	"failed reading: f is as it was"
no_work_tables "failed reading"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --direct
check_all "after the failed reading"

# --- killed after a task committed: nothing of the run is visible, the next run is exact -------
pg -c "UPDATE f SET s = 'fourth' WHERE id % 100 = 2; DELETE FROM g WHERE id % 3 = 0" >/dev/null
before=$(ddbq "$F" "SELECT md5(string_agg(s, ',' ORDER BY id)) || (SELECT count(*) FROM $DS.g) FROM $DS.f")
assert_exit 137 env PG2MD_FAULT=extract:task_done PG2MD_FAULT_SKIP=2 "$PG2MD_BIN" run --project-dir "$P" --direct
assert_eq "$before" "$(ddbq "$F" "SELECT md5(string_agg(s, ',' ORDER BY id)) || (SELECT count(*) FROM $DS.g) FROM $DS.f")" \
	"killed: the destination tables are as they were"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --direct
check_all "after the kill"
no_work_tables "after the kill"
assert_eq 5 "$(ddbq "$F" "SELECT count(*) FROM $DS._dlt_loads")" "five runs loaded (the interrupted, failed and killed ones not)"

t_done

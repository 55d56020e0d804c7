#!/usr/bin/env bash
# t94_staged_overlap.sh — a staged run loads each finished table into its work table while the
# others are still extracted (src/stage/overlap.c), and a killed run still loads every row once:
#   overlap  one worker, three tables (replace, append, merge) in one package; the worker is held
#            after the first table's last task (PG2MD_PAUSE=extract:table_queued) until the log
#            says that table was loaded early, so the trace must show an early load that ended
#            before an extraction span started (no timing involved); every table equals its
#            source value by value;
#   kills    at load:early_loaded (an early load committed, the package still extracting: the
#            rerun discards it and loads everything under a new load id), at
#            load:early_before_commit, and at load:before_commit (the package extracted, some
#            tables in their work tables: the rerun reads those); each time the tables equal
#            the source, the append table holds each source row once per load, and no
#            _pg2md_* table is left;
#   off      [sources.sql_database] overlap_load = false (the default; the project sets true): no
#            early load, same result.
. "$(dirname "$0")/../lib/common.sh"
t_init staged_overlap
require_pg2md

DS=pg2md_data
pg >/dev/null <<'SQL' || t_bail "cannot build the source tables"
CREATE TABLE r (id int PRIMARY KEY, v text, n numeric(12,3), ts timestamptz, iv interval);
INSERT INTO r SELECT g, 'r' || g, g * 1.5, timestamptz '2024-03-01 12:00+00' + g * interval '1 minute',
  g * interval '1 hour 3 seconds' FROM generate_series(1, 20000) g;
CREATE TABLE a (id int PRIMARY KEY, v text, d date, c char(5));
INSERT INTO a SELECT g, 'a' || g, date '2024-01-01' + g % 900, 'c' || g % 100 FROM generate_series(1, 8000) g;
CREATE TABLE m (id int PRIMARY KEY, v text, n int, f float8);
INSERT INTO m SELECT g, 'm' || g, g, g / 3.0 FROM generate_series(1, 6000) g;
SQL
# a_xN: every row of a N times (the append table after N loads)
for n in 1 2 3 4 5 6; do
	pg -c "CREATE VIEW a_x$n AS SELECT a.* FROM a, generate_series(1, $n)" >/dev/null
done

P=$T_TMP/p
make_project "$P" --tables "r a m" --config '
workers = 1
overlap_load = true

[sources.sql_database.a]
write_disposition = "append"

[sources.sql_database.m]
write_disposition = "merge"'
TRACE=$P/.pg2md/pipelines/pg2md/trace.json
q() { ddbq :memory: "$1" 2>&1; }
J="read_json('$TRACE', maximum_object_size = 100000000)"
SPANS="(SELECT unnest(timeline.spans, recursive := true) FROM $J)"
duck() { ddbq "$P/pg2md.duckdb" "$1" 2>&1; }

# the destination after a load: r and m equal the source, a holds each row $1 times
check_dest() {
	local loads=$1 label=$2
	assert_table_equal public r "$P/pg2md.duckdb" $DS r "$label: r (replace) equals its source"
	assert_table_equal public "a_x$loads" "$P/pg2md.duckdb" $DS a "$label: a (append) holds each source row $loads times"
	assert_table_equal public m "$P/pg2md.duckdb" $DS m "$label: m (merge) equals its source"
	assert_eq "$loads 0" "$(duck "SELECT count(*) || ' ' || (count(*) - count(DISTINCT load_id)) FROM $DS._dlt_loads")" \
		"$label: $loads loads in _dlt_loads, none twice"
	assert_eq 0 "$(duck "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '\\_pg2md%' ESCAPE '\\'")" \
		"$label: no _pg2md_* work table or record of load steps left"
}

# --- the overlap, made certain by holding the worker --------------------------------------------
GO=$T_TMP/go
rm -f "$GO" "$GO.paused"
PG2MD_PAUSE=extract:table_queued PG2MD_PAUSE_FILE=$GO "$PG2MD_BIN" run --project-dir "$P" --log-level INFO \
	--progress none >"$T_TMP/held.out" 2>"$T_TMP/held.err" &
pid=$!
for _ in $(seq 600); do
	[ -e "$GO.paused" ] && grep -q 'loaded early into its work table' "$T_TMP/held.err" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
assert_contains "$(cat "$T_TMP/held.err")" "loaded early into its work table" \
	"while the worker is held after the first table, the loader loads that table"
touch "$GO"
rc=0
wait "$pid" || rc=$?
assert_eq 0 "$rc" "the held run finishes" || t_diag "$(tail -5 "$T_TMP/held.err")"
assert_eq 3 "$(q "SELECT count(*) FROM $SPANS WHERE stage = 'load' AND what = 'early' AND \"table\" IS NOT NULL")" \
	"trace: the three tables were loaded early"
assert_eq 1 "$(q "SELECT (count(*) > 0)::INT FROM $SPANS e, $SPANS x WHERE e.stage = 'load' AND e.what = 'early'
	AND x.stage = 'extract' AND x.start >= e.\"end\"")" \
	"trace: an early load ended before an extraction span started (the load overlapped the extraction)"
check_dest 1 "overlap"

# the source changes between the loads: merge updates and inserts, replace all three
pg -c "UPDATE r SET v = v || ' u', n = n * 2 WHERE id % 10 = 0" -c "DELETE FROM r WHERE id % 7 = 0" \
	-c "UPDATE m SET v = v || ' u', f = f + 1 WHERE id % 5 = 0" \
	-c "INSERT INTO m SELECT g, 'new' || g, g, 0.5 FROM generate_series(6001, 6500) g" >/dev/null

# --- killed inside the early load ----------------------------------------------------------------
loads=1
for point in load:early_loaded load:early_before_commit; do
	assert_exit 137 env PG2MD_FAULT=$point "$PG2MD_BIN" run --project-dir "$P" --progress none
	assert_contains "$(cat "$T_ERR")" "fault injected at \"$point\"" "$point: the run died there"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
	loads=$((loads + 1))
	check_dest $loads "killed at $point, run again"
done

# --- killed at the load's commit, after tables were loaded early ---------------------------------
pg -c "UPDATE r SET v = v || ' w' WHERE id % 3 = 0" -c "UPDATE m SET n = -n WHERE id % 4 = 0" >/dev/null
assert_exit 137 env PG2MD_FAULT=load:before_commit "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_eq 3 "$(duck "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '\\_pg2md\\_new\\_\\_%' ESCAPE '\\'")" \
	"load:before_commit: the three tables wait in their work tables"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none --log-level DEBUG
assert_contains "$(cat "$T_ERR")" "tables loaded early are read from their work tables" \
	"load:before_commit: the rerun reads the work tables the killed run loaded"
loads=$((loads + 1))
check_dest $loads "killed at load:before_commit, run again"

# --- overlap_load = false ----------------------------------------------------------------------
assert_exit 0 env SOURCES__SQL_DATABASE__OVERLAP_LOAD=false "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_eq 0 "$(q "SELECT count(*) FROM $SPANS WHERE what = 'early'")" "overlap_load = false: no table is loaded early"
loads=$((loads + 1))
check_dest $loads "overlap_load = false"

t_done

#!/usr/bin/env bash
# t59_long_tx — long-running transactions at the source never make pg2md hang:
#   1. a transaction with uncommitted writes to a replicated table stays open across the run:
#      the run completes and copies the committed rows only;
#   2. a session holds an ACCESS EXCLUSIVE lock on a replicated table in an idle transaction:
#      the run fails after [sources.sql_database] lock_timeout with exit 1, a message naming the
#      table and the blocking pid, and the destination loaded before is intact; once the blocker
#      ends, the rerun completes;
#   3. pg2md leaves no session of its own behind, idle in a transaction or otherwise, and has
#      no transaction open at the source while it loads.
# Both blockers are psql sessions fed through a FIFO, so the test decides when they end.
. "$(dirname "$0")/../lib/common.sh"
t_init long_tx
require_pg2md

# open_session NAME — a psql session on the test database reading SQL from a FIFO (fd 7/8)
open_session() {
	local fifo=$T_TMP/$1.fifo
	mkfifo "$fifo"
	psql -X -q -v ON_ERROR_STOP=1 -d "$T_DB" <"$fifo" >"$T_TMP/$1.out" 2>&1 &
	SESSION_PID=$!
	exec 7>"$fifo"
}
# session_sql SQL — send SQL to the open session and wait until the server ran it
session_sql() {
	echo "$1" >&7
	echo "SELECT 'done-' || pg_backend_pid();" >&7
	local i
	for i in $(seq 200); do grep -q '^ *done-' "$T_TMP/$SESSION_NAME.out" 2>/dev/null && break; sleep 0.05; done
	sed -n 's/^ *done-\([0-9]*\).*/\1/p' "$T_TMP/$SESSION_NAME.out" | tail -n 1
}
close_session() {
	exec 7>&-
	wait "$SESSION_PID" 2>/dev/null || true
}

pg -c "CREATE TABLE a (id bigint primary key, v text);
       INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
       CREATE TABLE b (id int primary key, n numeric(10,2));
       INSERT INTO b SELECT g, g / 3.0 FROM generate_series(1, 5000) g;"
make_project "$T_TMP/p" --tables "a b" --config "lock_timeout = 2"
# lock_timeout belongs to [sources.sql_database]: make_project appends after that section
grep -q '^lock_timeout = 2' "$T_TMP/p/.dlt/config.toml" || t_bail "the project has no lock_timeout"
out=$("$PG2MD_BIN" info --project-dir "$T_TMP/p" 2>&1)
assert_match "$out" 'lock_timeout.*2' "pg2md info shows lock_timeout = 2"

# 1. uncommitted writes stay out
SESSION_NAME=writer
open_session writer
writer_pid=$(session_sql "BEGIN; INSERT INTO a SELECT g, 'uncommitted' FROM generate_series(20001, 25000) g;
	UPDATE b SET n = -1 WHERE id <= 100; DELETE FROM a WHERE id <= 50;")
[ -n "$writer_pid" ] || t_bail "the writing session did not start" "$(cat "$T_TMP/writer.out")"
t_diag "fault: pid $writer_pid holds 5000 uncommitted inserts, 100 updates and 50 deletes open"
assert_exit 0 timeout 300 "$PG2MD_BIN" run --project-dir "$T_TMP/p"
n_uncommitted=$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.a WHERE v = 'uncommitted' OR id > 20000")
assert_eq 0 "$n_uncommitted" "open transaction: no uncommitted row was copied"
assert_table_equal public a "$T_TMP/p/pg2md.duckdb" pg2md_data a "open transaction: a equals its committed source"
assert_table_equal public b "$T_TMP/p/pg2md.duckdb" pg2md_data b "open transaction: b equals its committed source"
assert_eq "20000" "$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.a")" "open transaction: a holds the 20000 committed rows"
state=$(pgq "SELECT state FROM pg_stat_activity WHERE pid = $writer_pid")
assert_eq "idle in transaction" "$state" "the writer was still open after the run"
session_sql "ROLLBACK;" >/dev/null
close_session

# pg2md's own transactions end with the extraction: held just before the load commits, none of
# its sessions is in a transaction (idle in transaction would hold back vacuum)
gate=$T_TMP/gate
PG2MD_PAUSE=load:before_commit PG2MD_PAUSE_FILE=$gate "$PG2MD_BIN" run --project-dir "$T_TMP/p" >"$T_OUT" 2>"$T_ERR" &
run_pid=$!
for i in $(seq 600); do [ -f "$gate.paused" ] && break; sleep 0.05; done
[ -f "$gate.paused" ] || t_fail "the run did not reach load:before_commit" "$(cat "$T_ERR")"
sessions=$(pgq "SELECT count(*) FILTER (WHERE state LIKE 'idle in transaction%' OR xact_start IS NOT NULL) || ' of ' || count(*)
	FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pg2md'")
touch "$gate"
T_RC=0
wait "$run_pid" || T_RC=$?
assert_eq "0" "${sessions%% of *}" "held before the load commits: none of pg2md's ${sessions##* of } sessions is in a transaction"
assert_eq 0 "$T_RC" "the held run completes"

# 2. an ACCESS EXCLUSIVE lock held in an idle transaction
# checksums of the destination before the failed run (the source's b cannot be read while locked)
before=$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT count(*), sum(id), sum(hash(v) % 1000003) FROM pg2md_data.a")
before_b=$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT count(*), sum(id), sum(n) FROM pg2md_data.b")
pg -c "INSERT INTO a SELECT g, md5(g::text) FROM generate_series(20001, 21000) g" # what the rerun must bring
SESSION_NAME=locker
open_session locker
locker_pid=$(session_sql "BEGIN; LOCK TABLE b IN ACCESS EXCLUSIVE MODE;")
[ -n "$locker_pid" ] || t_bail "the locking session did not start" "$(cat "$T_TMP/locker.out")"
t_diag "fault: pid $locker_pid holds ACCESS EXCLUSIVE on b, idle in transaction"
start=$(date +%s)
assert_exit 1 timeout 300 "$PG2MD_BIN" run --project-dir "$T_TMP/p"
took=$(($(date +%s) - start))
err=$(cat "$T_ERR")
assert_contains "$err" 'could not lock table "public.b"' "locked table: the message names the table"
assert_contains "$err" "pid $locker_pid" "locked table: the message names the blocking pid"
assert_match "$err" '^hint:.*lock_timeout' "locked table: a hint names lock_timeout"
assert_match "$err" "pg_terminate_backend\\($locker_pid\\)" "locked table: the hint says how to end the blocker"
t_diag "the run gave up after $took s (lock_timeout = 2 s)"
after=$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT count(*), sum(id), sum(hash(v) % 1000003) FROM pg2md_data.a")
assert_eq "$before" "$after" "locked table: what was loaded before is intact (count, sums)"
after_b=$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT count(*), sum(id), sum(n) FROM pg2md_data.b")
assert_eq "$before_b" "$after_b" "locked table: b in the destination is intact (count, sums)"
assert_eq "" "$(find "$T_TMP/p/.pg2md/pipelines/pg2md/load" -mindepth 2 -maxdepth 2 -path '*/extracting/*' 2>/dev/null)" \
	"locked table: no half-extracted package is left"
state=$(pgq "SELECT state FROM pg_stat_activity WHERE pid = $locker_pid")
assert_eq "idle in transaction" "$state" "the locker was still holding its lock after the failed run"

# 3. pg2md leaves no session behind (idle in transaction or any other state)
left=$(pgq "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pg2md'")
assert_eq 0 "$left" "no pg2md session is left on the server after the failed run"

# wait_lock_waiters N — until N pg2md sessions wait for a lock (10 s at most); prints the count
wait_lock_waiters() {
	local i n=0
	for i in $(seq 200); do
		n=$(pgq "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND application_name = 'pg2md' AND wait_event_type = 'Lock'")
		[ "$n" -ge "$1" ] && break
		sleep 0.05
	done
	echo "$n"
}

# lock_timeout = 0 waits; SIGTERM while it waits stops the run (exit 4), the wait does not hold it
sed -i 's/^lock_timeout = 2/lock_timeout = 0/' "$T_TMP/p/.dlt/config.toml"
"$PG2MD_BIN" run --project-dir "$T_TMP/p" >"$T_OUT" 2>"$T_ERR" &
run_pid=$!
assert_eq 1 "$(wait_lock_waiters 1)" "lock_timeout = 0: the leader waits for the lock"
kill -TERM "$run_pid"
T_RC=0
timeout 120 tail --pid="$run_pid" -f /dev/null || T_RC=124
[ "$T_RC" = 0 ] && { wait "$run_pid" || T_RC=$?; }
[ "$T_RC" = 124 ] && kill -KILL "$run_pid" 2>/dev/null
assert_eq 4 "$T_RC" "SIGTERM while waiting for the lock: exit 4 (interrupted), no hang" || t_diag "$(t_last)"
assert_eq "$before_b" "$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT count(*), sum(id), sum(n) FROM pg2md_data.b")" \
	"SIGTERM while waiting: b in the destination is intact"

# released while waiting, the run completes
"$PG2MD_BIN" run --project-dir "$T_TMP/p" >"$T_OUT" 2>"$T_ERR" &
run_pid=$!
waited=0
for i in $(seq 200); do
	waited=$(pgq "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = 'pg2md' AND wait_event_type = 'Lock'")
	[ "$waited" -gt 0 ] && break
	sleep 0.05
done
assert_eq 1 "$waited" "lock_timeout = 0: pg2md waits for the lock"
sleep 3 # longer than the 2 s lock_timeout before: the run must still be waiting, not failed
alive=0
kill -0 "$run_pid" 2>/dev/null && alive=1
assert_eq 1 "$alive" "lock_timeout = 0: still waiting after 3 s"
session_sql "COMMIT;" >/dev/null
close_session
t_diag "recovery: pid $locker_pid committed; the waiting run continues"
T_RC=0
wait "$run_pid" || T_RC=$?
assert_eq 0 "$T_RC" "after the blocker ended the run completes" || t_diag "$(t_last)"
assert_table_equal public a "$T_TMP/p/pg2md.duckdb" pg2md_data a "after the blocker: a equals its source"
assert_table_equal public b "$T_TMP/p/pg2md.duckdb" pg2md_data b "after the blocker: b equals its source"
dups=$(ddbq "$T_TMP/p/pg2md.duckdb" "SELECT count(*) - count(DISTINCT id) FROM pg2md_data.a")
assert_eq 0 "$dups" "after the blocker: no row twice"
left=$(pgq "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pg2md'")
assert_eq 0 "$left" "no pg2md session is left on the server after the run"

# a worker's COPY queued behind a TRUNCATE that waits for the run's own ACCESS SHARE lock: the
# leader waits for the worker, the worker for the TRUNCATE, the TRUNCATE for the leader — a wait
# PostgreSQL's deadlock detector cannot see (the leader waits on its client, not on a lock).
# lock_timeout ends it (exit 1); with lock_timeout = 0, SIGTERM does (exit 4)
pg -c "CREATE TABLE q (id int primary key, s text) WITH (fillfactor = 20);
       INSERT INTO q SELECT g, md5(g::text) FROM generate_series(1, 200000) g; ANALYZE q;" # ~12,000 pages: three page-range tasks (as in t55)
make_project "$T_TMP/q" --tables "q" --config "workers = 3
lock_timeout = 3"
for lt in 3 0; do
	sed -i "s/^lock_timeout = .*/lock_timeout = $lt/" "$T_TMP/q/.dlt/config.toml"
	gate=$T_TMP/qgate-$lt
	PG2MD_PAUSE=extract:after_snapshot PG2MD_PAUSE_FILE=$gate "$PG2MD_BIN" run --project-dir "$T_TMP/q" >"$T_OUT" 2>"$T_ERR" &
	run_pid=$!
	for i in $(seq 600); do [ -f "$gate.paused" ] && break; sleep 0.05; done
	psql -X -q -d "$T_DB" -c "SET lock_timeout = '300s'; TRUNCATE q" >"$T_TMP/truncate.out" 2>&1 &
	trunc_pid=$!
	for i in $(seq 200); do
		[ "$(pgq "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%TRUNCATE q%'
			AND wait_event_type = 'Lock'")" -gt 0 ] && break
		sleep 0.05
	done
	touch "$gate"
	if [ "$lt" = 0 ]; then
		assert_match "$(wait_lock_waiters 1)" '^[1-9]' "lock_timeout = 0: the workers wait behind the TRUNCATE"
		kill -TERM "$run_pid"
		want=4
	else
		want=1
	fi
	T_RC=0
	timeout 120 tail --pid="$run_pid" -f /dev/null || T_RC=124
	[ "$T_RC" = 0 ] && { wait "$run_pid" || T_RC=$?; }
	[ "$T_RC" = 124 ] && kill -KILL "$run_pid" 2>/dev/null
	assert_eq "$want" "$T_RC" "COPY queued behind a TRUNCATE, lock_timeout = $lt: exit $want, no hang" || t_diag "$(t_last)"
	[ "$lt" = 3 ] && assert_contains "$(cat "$T_ERR")" "lock timeout" "lock_timeout = 3: the message says a lock timed out"
	[ "$lt" = 3 ] && assert_match "$(cat "$T_ERR")" "pid [0-9]+ waits for an ACCESS EXCLUSIVE lock on it" "lock_timeout = 3: the message names the TRUNCATE's session" && t_diag "$(head -n 3 "$T_ERR")"
	wait "$trunc_pid" # the run's locks are gone: the TRUNCATE completes
	assert_eq 0 "$(pgq "SELECT count(*) FROM q")" "the TRUNCATE went through once the run ended"
	pg -c "INSERT INTO q SELECT g, md5(g::text) FROM generate_series(1, 200000) g; ANALYZE q"
done
assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/q"
assert_table_equal public q "$T_TMP/q/pg2md.duckdb" pg2md_data q "after the blocked runs: q equals its source"

# the environment variable sets it too, and a negative value is a configuration error
sed -i '/^lock_timeout = 0/d' "$T_TMP/p/.dlt/config.toml"
out=$(SOURCES__SQL_DATABASE__LOCK_TIMEOUT=7 "$PG2MD_BIN" info --project-dir "$T_TMP/p" 2>&1)
assert_match "$out" 'lock_timeout.*7' "SOURCES__SQL_DATABASE__LOCK_TIMEOUT sets lock_timeout"
out=$("$PG2MD_BIN" info --project-dir "$T_TMP/p" 2>&1)
assert_match "$out" 'lock_timeout.*60' "the default lock_timeout is 60 s"
assert_exit 2 env SOURCES__SQL_DATABASE__LOCK_TIMEOUT=-1 "$PG2MD_BIN" run --project-dir "$T_TMP/p"

t_diag "faults injected: 4 (uncommitted writes, ACCESS EXCLUSIVE lock held, SIGTERM while waiting for it, COPY queued behind a TRUNCATE); runs that hung: 0"
t_done

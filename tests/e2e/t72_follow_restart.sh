#!/usr/bin/env bash
# t72_follow_restart — pg2md follow across a PostgreSQL restart and a slot lost while it streams
# (docs/cdc.md, "Lost connections"), on a cluster of its own (the suite's is shared):
#   - the server restarted (fast shutdown) while follow streams: follow warns, reconnects with
#     backoff once the server is back, and resumes at the watermark; changes committed before and
#     after the restart arrive once (a table without a key, compared as a multiset);
#   - the slot invalidated while follow streams (max_slot_wal_keep_size passed: the server ends
#     the walsender): follow stops with the "invalidated" message and the resync, no retry loop;
#   - the slot dropped while follow streams: the "is gone" message, no retry loop.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_restart
require_pg2md

C2=""
holder=""
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	if [ -n "${bg:-}" ]; then kill -KILL "$bg" 2>/dev/null; wait "$bg" 2>/dev/null; bg=""; fi
	if [ -n "$holder" ]; then kill -KILL "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; holder=""; fi
	if [ -n "$C2" ]; then "$PG2MD_SRC/tests/lib/cluster.sh" stop "$C2"; C2=""; fi
	orig_t_cleanup
}
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

C2=$(mktemp -d "${TMPDIR:-/tmp}/pg2md-t72.XXXXXX") # not under T_TMP: the server runs as postgres
"$PG2MD_SRC/tests/lib/cluster.sh" start "$C2" >/dev/null || t_bail "cannot start a second cluster"
port2=$(sed -n 's/^export PGPORT=//p' "$C2/env")
p2() { psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$C2" -p "$port2" -U pg2md -d pg2md_test "$@"; }
p2 -c "CREATE TABLE acc (id int PRIMARY KEY, bal bigint);
       CREATE TABLE hist (aid int, delta int);
       ALTER TABLE hist REPLICA IDENTITY FULL;
       INSERT INTO acc SELECT g, 0 FROM generate_series(1, 100) g;"

SLOT=t72_slot
P=$T_TMP/p
make_project "$P" --tables "acc hist" --port "$port2" --database pg2md_test --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t72_pub\""
DB=$P/pg2md.duckdb
compare_all() { # (the PG* variables are the suite's cluster)
	local t
	for t in acc hist; do
		PGHOST=$C2 PGPORT=$port2 PGUSER=pg2md compare_table pg2md_test public $t "$DB" pg2md_data $t >"$T_TMP/cmp.out" 2>&1 &&
			t_pass "$1: $t equals the source" || t_fail "$1: $t differs from the source" "$(cat "$T_TMP/cmp.out")"
	done
}
confirmed() { p2 -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"; }
wait_confirmed() { # LSN: until the slot confirms it, or follow ended
	local c
	for _ in $(seq 1 600); do
		c=$(confirmed 2>/dev/null)
		[ -n "$c" ] && [ "$(p2 -c "SELECT '$1'::pg_lsn <= '$c'::pg_lsn")" = t ] && return 0
		kill -0 "$bg" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
start_follow() {
	"$PG2MD_BIN" follow --project-dir "$P" >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" &
	bg=$!
}
# stop_follow — SIGTERM, then wait; the exit status in $rc
stop_follow() { kill -TERM "$bg" 2>/dev/null; rc=0; wait "$bg" || rc=$?; bg=""; }

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"

# --- a server restart while following ----------------------------------------------------------
start_follow
p2 -c "UPDATE acc SET bal = bal + 1 WHERE id <= 50; INSERT INTO hist SELECT g, 1 FROM generate_series(1, 50) g;"
wait_confirmed "$(p2 -c "SELECT pg_current_wal_insert_lsn()")" || t_fail "follow did not apply the first changes"
p2 -c "INSERT INTO hist SELECT g, 2 FROM generate_series(1, 50) g; DELETE FROM acc WHERE id > 90;"
as_pg "$PG2MD_TEST_BINDIR/pg_ctl" -D "$C2/data" -w -m fast -l "$C2/server.log" restart >/dev/null ||
	t_bail "cannot restart the second cluster"
p2 -c "INSERT INTO hist SELECT g, 3 FROM generate_series(1, 50) g; UPDATE acc SET bal = -bal WHERE id % 3 = 0;"
wait_confirmed "$(p2 -c "SELECT pg_current_wal_insert_lsn()")" &&
	t_pass "follow reconnected after the restart and applied what came after it" ||
	t_fail "follow did not recover from the restart" "$(cat "$T_TMP/bg.err")"
stop_follow
assert_eq 0 "$rc" "then stops cleanly on SIGTERM"
assert_contains "$(cat "$T_TMP/bg.err")" "lost the replication connection" "the lost connection is a warning"
compare_all "across a server restart"

# --- the slot invalidated while following: stop, with the resync, no retry loop ---------------
p2 -c "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'" -c "SELECT pg_reload_conf()" >/dev/null
start_follow
wait_confirmed "$(p2 -c "SELECT pg_current_wal_insert_lsn()")"
# a transaction left open holds the slot's restart_lsn while WAL segments pass
psql -X -q -h "$C2" -p "$port2" -U pg2md -d pg2md_test \
	-c "BEGIN" -c "INSERT INTO hist VALUES (0, 0)" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 1 100); do
	[ "$(p2 -c "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND query LIKE '%pg_sleep%'")" = 1 ] && break
	sleep 0.1
done
for _ in 1 2 3; do
	p2 -c "INSERT INTO acc SELECT g, 0 FROM generate_series(1000, 1100) g ON CONFLICT DO NOTHING" -c "SELECT pg_switch_wal()" >/dev/null
done
p2 -c "CHECKPOINT"
assert_eq lost "$(p2 -c "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$SLOT'")" \
	"the slot was invalidated (wal_status lost)"
rc=0
for _ in $(seq 1 600); do kill -0 "$bg" 2>/dev/null || break; sleep 0.1; done
wait "$bg" || rc=$?
bg=""
assert_eq 1 "$rc" "follow stops (exit 1)"
assert_contains "$(cat "$T_TMP/bg.err")" "replication slot \"$SLOT\" was invalidated (wal_status lost)" \
	"with the message for an invalidated slot"
assert_contains "$(cat "$T_TMP/bg.err")" "DELETE FROM pg2md_data._pg2md_cdc" "and the resync to run"
assert_eq 1 "$(grep -c 'lost the replication connection' "$T_TMP/bg.err")" "one attempt, no retry loop" \
	"$(cat "$T_TMP/bg.err")"
# (its backend ended too: a new slot's snapshot waits for every open transaction)
p2 -c "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND query LIKE '%pg_sleep%'" >/dev/null
wait "$holder" 2>/dev/null
holder=""

# --- the slot dropped while following: the "is gone" message, no retry loop -------------------
p2 -c "ALTER SYSTEM RESET max_slot_wal_keep_size" -c "SELECT pg_reload_conf()" \
	-c "SELECT pg_drop_replication_slot('$SLOT')" >/dev/null
"$DDBQ" --rw "$DB" "DELETE FROM pg2md_data._pg2md_cdc" >/dev/null
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "initial copy done" "the resync copies the tables again"
compare_all "after the resync"
start_follow
wait_confirmed "$(p2 -c "SELECT pg_current_wal_insert_lsn()")"
p2 -c "SELECT pg_terminate_backend(active_pid, 10000) FROM pg_replication_slots WHERE slot_name = '$SLOT'" \
	-c "DO \$\$ BEGIN FOR i IN 1..200 LOOP
	      BEGIN PERFORM pg_drop_replication_slot('$SLOT'); RETURN;
	      EXCEPTION WHEN object_in_use THEN PERFORM pg_sleep(0.01); END;
	    END LOOP; END \$\$" >/dev/null
rc=0
for _ in $(seq 1 600); do kill -0 "$bg" 2>/dev/null || break; sleep 0.1; done
wait "$bg" || rc=$?
bg=""
assert_eq 1 "$rc" "follow stops (exit 1)"
assert_contains "$(cat "$T_TMP/bg.err")" "replication slot \"$SLOT\" is gone" "with the message for a slot that is gone"
assert_eq 1 "$(grep -c 'lost the replication connection' "$T_TMP/bg.err")" "one attempt, no retry loop" \
	"$(cat "$T_TMP/bg.err")"

t_done

#!/usr/bin/env bash
# t71_follow_reconnect — pg2md follow is safe for the source (docs/cdc.md, "Lost connections",
# "Monitoring"): its walsender terminated three times (pg_terminate_backend) while a pgbench
# workload commits, follow reconnects each time, warns, and resumes at the watermark: the
# destination ends equal to the source by checksum, a table without a key (REPLICA IDENTITY
# FULL, compared as a multiset) shows nothing was applied twice.  Idle with heartbeat_interval = 1,
# it writes pg_logical_emit_message heartbeats (seen in the WAL through a second slot) and the
# slot's confirmed position moves past WAL written after it went idle, in this database and in
# another one.  The metrics file ([runtime] metrics_file) is written while following and at the
# stop: its watermark, reconnect count and slot lag checked against DuckDB and pg_replication_slots.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_reconnect
require_pg2md

SLOT="t71_slot_$$"
PEEK="t71_peek_$$"
drop_slots() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name IN ('$SLOT', '$PEEK')" >/dev/null 2>&1 || true
}
bg=""
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	if [ -n "$bg" ]; then kill -KILL "$bg" 2>/dev/null; wait "$bg" 2>/dev/null; bg=""; fi
	drop_slots
	orig_t_cleanup
}

pg -c "CREATE TABLE acc (id int PRIMARY KEY, bal bigint, note text);
       CREATE TABLE hist (aid int, delta int, at timestamptz);   -- no key: matched by all values
       ALTER TABLE hist REPLICA IDENTITY FULL;
       INSERT INTO acc SELECT g, 0, 'acc ' || g FROM generate_series(1, 200) g;
       INSERT INTO hist VALUES (1, 0, '2024-01-01 00:00:00+00');"

P=$T_TMP/p
PROM=$T_TMP/follow.prom
make_project "$P" --tables "acc hist" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t71_pub\"
heartbeat_interval = 1"
DB=$P/pg2md.duckdb
export RUNTIME__METRICS_FILE=$PROM

compare_all() {
	assert_table_equal public acc "$DB" pg2md_data acc "$1: acc equals the source"
	assert_table_equal public hist "$DB" pg2md_data hist "$1: hist equals the source (as a multiset)"
}
confirmed() { pgq "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"; }
walsender() { pgq "SELECT coalesce(active_pid, 0) FROM pg_replication_slots WHERE slot_name = '$SLOT'"; }
lsn_le() { [ "$(pgq "SELECT '$1'::pg_lsn <= '$2'::pg_lsn")" = t ]; }
# metric NAME — the value of the first sample of NAME in the metrics file
metric() { awk -v n="$1" '$1 ~ "^"n"[{ ]" { print $NF; exit }' "$PROM" 2>/dev/null; }
# wait_confirmed LSN — until the slot confirms LSN (follow applied everything before it), or follow ended
wait_confirmed() {
	local c
	for _ in $(seq 1 600); do
		c=$(confirmed)
		[ -n "$c" ] && lsn_le "$1" "$c" && return 0
		kill -0 "$bg" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "initial copy"

# --- the walsender terminated while a workload commits: reconnect, resume, exactly once -------
"$PG2MD_BIN" follow --project-dir "$P" >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" &
bg=$!
cat >"$T_TMP/work.sql" <<'SQL'
\set k random(1, 400)
BEGIN;
INSERT INTO acc VALUES (:k, 1, 'new') ON CONFLICT (id) DO UPDATE SET bal = acc.bal + 1;
INSERT INTO hist VALUES (:k, 1, now());
DELETE FROM acc WHERE id = (:k * 7) % 400;
COMMIT;
SQL
"$PG2MD_TEST_BINDIR/pgbench" -n -c 1 -t 3000 -f "$T_TMP/work.sql" "$T_DB" >"$T_TMP/pgbench.out" 2>&1 &
pgb=$!
kills=0
prev=0
while [ $kills -lt 3 ] && kill -0 "$bg" 2>/dev/null; do
	pid=$(walsender)
	if [ "$pid" != 0 ] && [ "$pid" != "$prev" ]; then # streaming again, from a new walsender
		sleep 0.3
		[ "$(pgq "SELECT pg_terminate_backend($pid, 10000)")" = t ] && kills=$((kills + 1))
		prev=$pid
	fi
	sleep 0.1
done
wait $pgb || t_fail "pgbench failed: $(tail -5 "$T_TMP/pgbench.out")"
assert_eq 3 "$kills" "the walsender was terminated three times while pgbench committed"
want=$(pgq "SELECT pg_current_wal_insert_lsn()")
wait_confirmed "$want" && t_pass "follow reconnected and confirmed the whole workload" ||
	t_fail "follow did not catch up after the terminations" "$(tail -20 "$T_TMP/bg.err")"
assert_eq 3 "$(grep -c 'lost the replication connection' "$T_TMP/bg.err")" \
	"a warning on stderr for each lost connection" "$(cat "$T_TMP/bg.err")"
assert_contains "$(cat "$T_TMP/bg.err")" "reconnecting in 1 s (attempt 1 of 10)" "the first attempt after 1 s"

# --- the metrics file, written while following (DuckDB's file is follow's until it stops) -----
cnum=$(pgq "SELECT ('$(confirmed)'::pg_lsn - '0/0'::pg_lsn)::bigint")
for _ in $(seq 1 200); do # rewritten at most every 5 s: until it shows the last batch
	[ "$(metric pg2md_follow_applied_lsn)" -ge "$cnum" ] 2>/dev/null && break
	sleep 0.1
done
a=$(metric pg2md_follow_applied_lsn)
[ -n "$a" ] && [ "$a" -ge "$cnum" ] && t_pass "metrics while following: pg2md_follow_applied_lsn at or past what the slot confirmed" ||
	t_fail "metrics while following: pg2md_follow_applied_lsn '$a' < the slot's confirmed $cnum"
assert_eq 3 "$(metric pg2md_follow_reconnects_total)" "metrics: pg2md_follow_reconnects_total"
assert_match "$(grep '^pg2md_follow_wal_status{' "$PROM")" \
	"^pg2md_follow_wal_status\\{pipeline=\"[^\"]*\",slot=\"$SLOT\",wal_status=\"reserved\"\\} 1$" \
	"metrics: the slot's wal_status as a label"
assert_eq -1 "$(metric pg2md_follow_safe_wal_size_bytes)" "metrics: safe_wal_size unlimited (max_slot_wal_keep_size -1)"
tx=$(metric pg2md_follow_transactions_total)
[ "${tx:-0}" -ge 3000 ] && t_pass "metrics: $tx transactions applied" || t_fail "metrics: transactions_total is '$tx'"

# --- idle: heartbeats, and the slot moves past WAL it has nothing to send for ------------------
pgq "SELECT 1 FROM pg_create_logical_replication_slot('$PEEK', 'pgoutput')" >/dev/null
idle=$(pgq "SELECT pg_current_wal_insert_lsn()")
wait_confirmed "$idle"
past=$(pgq "SELECT pg_current_wal_insert_lsn()")
wait_confirmed "$(pgq "SELECT '$past'::pg_lsn + 1")" &&
	t_pass "the idle slot's confirmed position moved past $past (nothing else writes here)" ||
	t_fail "the idle slot stayed at $(confirmed), before $past"
assert_eq t "$(pgq "SELECT count(*) > 0 FROM pg_logical_slot_peek_binary_changes('$PEEK', NULL, NULL,
		'proto_version', '1', 'publication_names', 't71_pub', 'messages', 'true')
		WHERE position(convert_to('pg2md_heartbeat', 'UTF8') IN data) > 0")" \
	"the heartbeat is a pg_logical_emit_message in the WAL"
psql -X -q -d postgres -c "SELECT pg_logical_emit_message(true, 't71_other_db', repeat('x', 200000))" >/dev/null
other=$(pgq "SELECT pg_current_wal_insert_lsn()")
wait_confirmed "$other" && t_pass "the slot moved past WAL written by another database" ||
	t_fail "the slot stayed at $(confirmed), before $other (WAL of another database)"
hb=$(metric pg2md_follow_heartbeats_total)
[ "${hb:-0}" -ge 1 ] && t_pass "metrics: $hb heartbeats" || t_fail "metrics: heartbeats_total is '$hb'"

# --- the stop: the last metrics ---------------------------------------------------------------
kill -TERM $bg
rc=0
wait $bg || rc=$?
bg=""
assert_eq 0 "$rc" "follow stops cleanly on SIGTERM"
compare_all "after three lost connections, a workload and idle heartbeats"
w=$(ddbq "$DB" "SELECT applied_lsn_text FROM pg2md_data._pg2md_cdc WHERE slot_name = '$SLOT'")
assert_eq "$w" "$(confirmed)" "the slot's confirmed position is the watermark"
assert_eq "$(pgq "SELECT ('$w'::pg_lsn - '0/0'::pg_lsn)::bigint")" "$(metric pg2md_follow_applied_lsn)" \
	"metrics at the stop: pg2md_follow_applied_lsn is the watermark"

# --- slot lag against pg_replication_slots, and the warning past lag_warning_mb ---------------
# --endpos before 2 MB of WAL the slot then holds (a table not published: nothing to apply)
endpos=$(pgq "SELECT pg_current_wal_insert_lsn()")
pg -c "CREATE TABLE junk AS SELECT g, md5(g::text) AS m FROM generate_series(1, 30000) g"
# the WAL written, not only inserted (the slot's lag is measured against the write position)
past=$(pgq "SELECT pg_current_wal_insert_lsn()")
wal_written || t_diag "the WAL writer did not catch up in 10 s"
t_run env SOURCES__PG_REPLICATION__LAG_WARNING_MB=1 "$PG2MD_BIN" follow --endpos "$endpos" --project-dir "$P"
assert_eq 0 "$T_RC" "follow --endpos before the WAL of a table not followed"
c=$(confirmed)
now=$(pgq "SELECT pg_current_wal_lsn()")
lag=$(metric pg2md_follow_slot_lag_bytes)
lo=$(pgq "SELECT pg_wal_lsn_diff('$past', '$c')::bigint")
hi=$(pgq "SELECT pg_wal_lsn_diff('$now', '$c')::bigint")
[ -n "$lag" ] && [ "$lo" -gt 1048576 ] && [ "$lag" -ge "$lo" ] && [ "$lag" -le "$hi" ] &&
	t_pass "metrics: slot lag $lag bytes, as pg_replication_slots gives it ($lo..$hi)" ||
	t_fail "metrics: slot lag '$lag' not in $lo..$hi" "$(cat "$PROM")"
assert_eq 1 "$(metric pg2md_follow_slot_lag_warning)" "metrics: the lag warning past lag_warning_mb = 1"
assert_contains "$(cat "$T_ERR")" "more than lag_warning_mb (1)" "and the warning on stderr"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq 0 "$(metric pg2md_follow_slot_lag_warning)" "caught up: no lag warning"
compare_all "at the end"

t_done

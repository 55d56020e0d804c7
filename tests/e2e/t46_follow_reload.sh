#!/usr/bin/env bash
# t46_follow_reload — a running pg2md follow (not --once) reading its configuration again on
# SIGHUP (docs/cdc.md, "Adding and removing tables"):
#   - a table added to `tables` is copied in its own snapshot while follow runs, and joins the
#     stream at that snapshot's position: a table without a key (REPLICA IDENTITY FULL, so a
#     change applied twice or lost shows as a row too many or too few) changed while its copy
#     waits (after the snapshot: must come from the stream, once), and after;
#   - a configuration that cannot be read, one naming a table that does not exist, one giving a
#     followed table a `where` its publication does not hold: an error logged, follow goes on
#     with the tables and settings it had;
#   - a setting that needs a restart (heartbeat_interval): a warning;
#   - a table removed: no longer applied, its mirror kept as it was;
#   - the same configuration again: nothing stops;
# all under a pgbench workload on ra and rc; then SIGTERM (exit 0) and every followed table compared with the source value by value.
# Follow holds the DuckDB file while it runs: progress is read from the slot's confirmed
# position (confirmed only after the DuckDB commit) and follow's log.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_reload
require_pg2md

SLOT="t46_slot_$$"
PUB="t46_pub_$$"
BG=""
WORK_STOP=""
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	[ -n "$WORK_STOP" ] && touch "$WORK_STOP"
	[ -n "$BG" ] && kill -KILL "$BG" 2>/dev/null
	wait 2>/dev/null
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't46_slot_$$%' AND NOT active" >/dev/null 2>&1 || true
	orig_t_cleanup
}

pg -c "CREATE TABLE ra (id int PRIMARY KEY, v text, n numeric(10,2));
       CREATE TABLE rb (k bigint PRIMARY KEY, v int);
       CREATE TABLE rc (a int, b text);                 -- no key: rows matched by all their values
       ALTER TABLE rc REPLICA IDENTITY FULL;
       INSERT INTO ra SELECT g, 'a' || g, g * 0.5 FROM generate_series(1, 2000) g;
       INSERT INTO rb SELECT g, g FROM generate_series(1, 1000) g;
       INSERT INTO rc SELECT g % 50, 'c' || (g % 7) FROM generate_series(1, 3000) g;"

P=$T_TMP/p
# change SQL — a change at the source; one that fails fails the test
change() { pg -c "$1" || t_fail "a change at the source failed" "$1"; }
project() { # tables [extra config]
	make_project "$P" --tables "$1" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"$PUB\"
${2:-}"
}
DB=$P/pg2md.duckdb
ERR=$T_TMP/follow.err
confirmed() { pgq "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"; }
lsn_le() { [ "$(pgq "SELECT '$1'::pg_lsn <= '$2'::pg_lsn")" = t ]; }
pub_tables() { pgq "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = '$PUB'"; }
alive() { kill -0 "$BG" 2>/dev/null; }
# applied WHAT — wait until follow confirmed the WAL written so far (after its DuckDB commit)
applied() {
	local want c
	want=$(pgq "SELECT pg_current_wal_insert_lsn()")
	for _ in $(seq 1 600); do
		c=$(confirmed)
		[ -n "$c" ] && lsn_le "$want" "$c" && { t_pass "$1: applied up to $want"; return 0; }
		alive || break
		sleep 0.1
	done
	t_fail "$1: follow did not apply up to $want (confirmed ${c:-none})" "$(tail -20 "$ERR")"
	return 1
}
# logged TEXT WHAT — wait until follow's log says TEXT (the n-th time with LOGGED_N=n)
logged() {
	for _ in $(seq 1 600); do
		[ "$(grep -cF -- "$1" "$ERR")" -ge "${LOGGED_N:-1}" ] && { t_pass "$2"; return 0; }
		alive || break
		sleep 0.1
	done
	t_fail "$2: follow's log does not say \"$1\"" "$(tail -20 "$ERR")"
	return 1
}

# --- a workload on ra and rc from here until the end (rb is changed by hand only) --------------
cat >"$T_TMP/work.sql" <<'SQL'
\set k random(1, 4000)
BEGIN;
INSERT INTO ra VALUES (:k, 'w', 1) ON CONFLICT (id) DO UPDATE SET n = ra.n + 1, v = 'w' || :k;
DELETE FROM ra WHERE id = (:k * 7) % 4000;
INSERT INTO rc VALUES (:k % 50, 'w');
DELETE FROM rc WHERE ctid = (SELECT ctid FROM rc WHERE a = (:k * 3) % 50 LIMIT 1);
UPDATE rc SET b = b || 'u' WHERE ctid = (SELECT ctid FROM rc WHERE a = (:k * 11) % 50 LIMIT 1);
COMMIT;
SQL
WORK_STOP=$T_TMP/work.stop
(
	while [ ! -e "$WORK_STOP" ]; do
		"$PG2MD_TEST_BINDIR/pgbench" -n -c 2 -t 50 -R 400 -f "$T_TMP/work.sql" "$T_DB" >>"$T_TMP/pgbench.out" 2>&1 || exit 1
	done
) &
work=$!

# --- follow starts with ra and rb: the initial copy, then changes as they come -----------------
project "ra rb"
GO=$T_TMP/go
PG2MD_PAUSE=cdc:add_after_slot PG2MD_PAUSE_FILE=$GO "$PG2MD_BIN" follow --log-level INFO --project-dir "$P" \
	>"$T_TMP/follow.out" 2>"$ERR" &
BG=$!
change "UPDATE ra SET v = 'live' WHERE id <= 100; DELETE FROM rb WHERE k > 900; INSERT INTO rc VALUES (1, 'not followed yet');"
applied "changes while following ra and rb"

# --- rc added + SIGHUP: copied in its own snapshot, changes during its copy applied once -------
project "ra rb rc"
kill -HUP "$BG"
for _ in $(seq 1 600); do [ -e "$GO.paused" ] || ! alive && break; sleep 0.1; done
[ -e "$GO.paused" ] && t_pass "on SIGHUP follow copies rc: paused after its snapshot, before the copy" ||
	t_fail "follow did not reach rc's copy after SIGHUP" "$(tail -20 "$ERR")"
assert_eq "ra rb rc" "$(pub_tables)" "rc joined the publication"
# after the snapshot, while the copy waits: not in the copy, must come from the stream, once
change "INSERT INTO rc VALUES (7, 'during copy'), (7, 'during copy'), (7, 'during copy');
       DELETE FROM rc WHERE ctid = (SELECT ctid FROM rc WHERE a = 7 AND b = 'during copy' LIMIT 1);
       UPDATE rc SET b = 'upd during copy' WHERE ctid = (SELECT ctid FROM rc WHERE a = 8 LIMIT 1);
       UPDATE ra SET v = 'during copy' WHERE id BETWEEN 101 AND 150; INSERT INTO rb VALUES (5000, 5);"
touch "$GO"
logged "copying 1 table added to tables (rc)" "rc is copied in a temporary slot's snapshot"
logged "the added tables join the stream at" "rc joins the stream at that snapshot's position"
logged "streaming again from" "follow streams again after the reload"
alive && t_pass "follow is still running after the reload" || t_fail "follow stopped on the reload" "$(tail -20 "$ERR")"
applied "changes made during rc's copy"
change "INSERT INTO rc VALUES (9, 'after'), (9, 'after'); DELETE FROM rc WHERE ctid = (SELECT ctid FROM rc WHERE a = 3 LIMIT 1);
       INSERT INTO ra VALUES (5000, 'after', 1); UPDATE rb SET v = -v WHERE k < 10;"
applied "changes of ra, rb and the added rc"

# --- the same configuration again: nothing to do, the stream goes on -------------------------
kill -HUP "$BG"
logged "the followed tables and their settings are unchanged" "a reload without a change of the tables says so"
assert_eq 1 "$(grep -c "the stream stops at" "$ERR")" "and does not stop the stream"

# --- a configuration that cannot be read, one naming a table that is not there: follow goes on --
cp "$P/.dlt/config.toml" "$T_TMP/good.toml"
printf '[sources.sql_database\ntables = [\n' >"$P/.dlt/config.toml"
kill -HUP "$BG"
logged "could not read the configuration again" "a configuration that cannot be read is logged as an error"
change "INSERT INTO ra VALUES (5001, 'after bad config', 2); INSERT INTO rc VALUES (10, 'after bad config');"
applied "changes after the unreadable configuration (follow goes on with the old one)"
project "ra rb rc no_such_table"
kill -HUP "$BG"
logged "cannot be followed" "a configuration naming a table that is not there is logged as an error"
change "UPDATE rb SET v = 7 WHERE k = 5000; INSERT INTO rc VALUES (11, 'after missing table');"
applied "changes after the refused configuration (follow goes on with the old tables)"
# a followed table's setting changed in a way the publication does not hold (a new `where`)
project "ra rb rc" "[sources.sql_database.rc]
where = \"a < 10\""
kill -HUP "$BG"
LOGGED_N=2 logged "cannot be followed" "a followed table's new where the publication does not hold is logged as an error"
logged "sources.sql_database.rc.where changed" "the changed setting of rc is named"
change "UPDATE rb SET v = 8 WHERE k = 5000; INSERT INTO rc VALUES (30, 'outside the refused where');"
applied "changes after the refused where (rc still followed whole)"
alive && t_pass "follow is still running after the refused configurations" || t_fail "follow stopped"

# --- rb removed + SIGHUP (and a setting that needs a restart): rb no longer applied ------------
project "ra rc" "heartbeat_interval = 30"
kill -HUP "$BG"
logged "table \"rb\" is no longer in tables" "rb is removed on SIGHUP"
LOGGED_N=2 logged "streaming again from" "follow streams again after the removal"
logged "heartbeat_interval changed" "a setting that needs a restart is logged as waiting for it"
change "CREATE TABLE rb_before AS SELECT * FROM rb;"
assert_eq "ra rc" "$(pub_tables)" "rb left the publication pg2md created"
change "INSERT INTO rb VALUES (-1, -1); UPDATE rb SET v = 0 WHERE k <= 100; DELETE FROM rb WHERE k BETWEEN 200 AND 300;
       UPDATE ra SET n = n + 1 WHERE id % 3 = 0; INSERT INTO rc VALUES (12, 'after removal');"
applied "changes after rb's removal"

# --- the workload stops; SIGTERM: a clean stop; every followed table equals the source ----------
touch "$WORK_STOP"
rc=0
wait $work || rc=$?
assert_eq 0 "$rc" "the workload ran without an error"
t_diag "$(grep -c 'number of transactions actually processed' "$T_TMP/pgbench.out") pgbench runs of 100 transactions across the reloads"
applied "the workload's last changes"
kill -TERM "$BG"
rc=0
wait "$BG" || rc=$?
BG=""
assert_eq 0 "$rc" "follow stops cleanly on SIGTERM after the reloads"
assert_contains "$(cat "$T_TMP/follow.out")" "stopped by a signal" "it says it stopped by a signal"
assert_table_equal public ra "$DB" pg2md_data ra "ra equals the source"
assert_table_equal public rc "$DB" pg2md_data rc "rc (added while following, no key) equals the source as a multiset"
assert_table_equal public rb_before "$DB" pg2md_data rb "rb's mirror is as it was at its removal"
assert_eq 0 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.rb WHERE k = -1")" "a change of rb after its removal is not applied"
assert_eq "ra rc" "$(ddbq "$DB" "SELECT string_agg(table_name, ' ' ORDER BY table_name) FROM pg2md_data._pg2md_cdc_tables WHERE slot_name = '$SLOT'")" \
	"the followed tables recorded: ra rc"
assert_eq 1 "$(pgq "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 't46_slot_$$%'")" "the temporary slot is gone"
t_done

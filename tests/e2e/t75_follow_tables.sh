#!/usr/bin/env bash
# t75_follow_tables — the set of followed tables changing between pg2md follow starts, with a
# workload committing all along (docs/cdc.md, "Adding and removing tables"), and crashes during
# a copy (its exported snapshot is then gone):
#   - SIGKILL in the middle of the initial copy (after a first extraction task, and before the
#     load's commit): the rerun drops the slot, copies again in a new snapshot;
#   - a table added to `tables` is copied in a temporary slot's snapshot and joins at that
#     slot's position: a table without a key (REPLICA IDENTITY FULL, so a change applied twice
#     or lost shows as a row too many or too few) changed between its joining the publication
#     and the snapshot (in the copy: must be skipped) and between the snapshot and the copy's end
#     (not in it: must be applied);
#   - SIGKILL during an added table's copy (--direct mid-table, staged after its extraction,
#     before its load commits): the rerun copies it again;
#   - a table removed from `tables`: out of the publication pg2md created, its changes no
#     longer applied, its mirror table kept;
# every followed table compared with the source by checksum (multisets: duplicates count).
. "$(dirname "$0")/../lib/common.sh"
t_init follow_tables
require_pg2md

SLOT="t75_slot_$$"
PUB="t75_pub_$$"
drop_slot() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't75_%_$$%' AND NOT active" >/dev/null 2>&1 || true
}
WORK_STOP=""
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	[ -n "$WORK_STOP" ] && touch "$WORK_STOP"
	wait 2>/dev/null
	drop_slot
	orig_t_cleanup
}

pg -c "CREATE TABLE ta (id int PRIMARY KEY, v text, n numeric(10,2));
       CREATE TABLE tb (k bigint PRIMARY KEY, v int);
       CREATE TABLE tc (a int, b text);                 -- no key: rows matched by all their values
       ALTER TABLE tc REPLICA IDENTITY FULL;
       CREATE TABLE td (id int PRIMARY KEY, payload text, at timestamptz);
       INSERT INTO ta SELECT g, 'a' || g, g * 0.5 FROM generate_series(1, 3000) g;
       INSERT INTO tb SELECT g, g FROM generate_series(1, 2000) g;
       INSERT INTO tc SELECT g % 100, 'c' || (g % 7) FROM generate_series(1, 1500) g;
       INSERT INTO td SELECT g, repeat('d', g % 60), TIMESTAMPTZ '2024-01-01' + g * interval '1 minute'
              FROM generate_series(1, 20000) g;"

P=$T_TMP/p
project() { # tables
	make_project "$P" --tables "$1" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"$PUB\""
}
DB=$P/pg2md.duckdb
same() { # table what
	assert_table_equal public "$1" "$DB" pg2md_data "$1" "$2: $1 equals the source"
}
pub_tables() { pgq "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = '$PUB'"; }
joined() { ddbq "$DB" "SELECT coalesce(string_agg(table_name, ' ' ORDER BY table_name), '') FROM pg2md_data._pg2md_cdc_tables WHERE slot_name = '$SLOT'"; }
slots() { pgq "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 't75_slot_$$%'"; }

# --- a crash in the middle of the initial copy: the rerun copies again, in a new snapshot ------
project "ta tb"
t_run env PG2MD_FAULT=extract:task_done "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
assert_eq 137 "$T_RC" "killed after the first extraction task of the initial copy"
assert_eq 1 "$(slots)" "the slot of the killed copy is there"
pg -c "UPDATE ta SET v = 'after kill 1' WHERE id <= 100; DELETE FROM tb WHERE k > 1900;"
t_run env PG2MD_FAULT=load:before_commit "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
assert_eq 137 "$T_RC" "killed again, before the initial copy's load committed"
pg -c "UPDATE ta SET v = 'after kill 2' WHERE id BETWEEN 50 AND 150; INSERT INTO tb VALUES (5000, 5);"
assert_exit 0 "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "dropping the slot and copying again" "the rerun drops the slot left without a watermark"
assert_contains "$(cat "$T_OUT")" "initial copy done" "and copies again"
assert_eq 1 "$(slots)" "one slot, made again (the killed runs' snapshots are gone)"
same ta "initial copy after two kills"
same tb "initial copy after two kills"
assert_eq "ta tb" "$(joined)" "the followed tables are recorded with the watermark"
# a destination written before _pg2md_cdc_tables existed: its tables are taken as followed, not copied
ddbq --rw "$DB" "DROP TABLE pg2md_data._pg2md_cdc_tables" >/dev/null
pg -c "UPDATE ta SET v = 'before the record' WHERE id < 30;"
assert_exit 0 "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
assert_not_contains "$(cat "$T_ERR")" "added to tables" "no record of the tables: nothing copied"
assert_eq "ta tb" "$(joined)" "no record of the tables: the configured ones recorded as followed"
same ta "no record of the tables"

# --- a workload on every table from here until the end ---------------------------------------
cat >"$T_TMP/work.sql" <<'SQL'
\set k random(1, 4000)
BEGIN;
INSERT INTO ta VALUES (:k, 'w', 1) ON CONFLICT (id) DO UPDATE SET n = ta.n + 1, v = 'w' || :k;
INSERT INTO tb VALUES (:k, 1) ON CONFLICT (k) DO UPDATE SET v = tb.v + 1;
DELETE FROM tb WHERE k = (:k * 7) % 4000;
INSERT INTO tc VALUES (:k % 100, 'w');
DELETE FROM tc WHERE ctid = (SELECT ctid FROM tc WHERE a = (:k * 3) % 100 LIMIT 1);
UPDATE tc SET b = b || 'u' WHERE ctid = (SELECT ctid FROM tc WHERE a = (:k * 11) % 100 LIMIT 1);
INSERT INTO td VALUES (:k, 'w', now()) ON CONFLICT (id) DO UPDATE SET payload = td.payload || 'x';
DELETE FROM td WHERE id = (:k * 13) % 4000;
COMMIT;
SQL
WORK_STOP=$T_TMP/work.stop
(
	while [ ! -e "$WORK_STOP" ]; do
		"$PG2MD_TEST_BINDIR/pgbench" -n -c 2 -t 100 -f "$T_TMP/work.sql" "$T_DB" >>"$T_TMP/pgbench.out" 2>&1 || exit 1
	done
) &
work=$!
workload_ran() { # the workload committed at least once more since the last call (a step ran under it)
	local before=$WORK_N
	for _ in $(seq 1 600); do
		WORK_N=$(grep -c "number of transactions actually processed" "$T_TMP/pgbench.out" 2>/dev/null || true)
		[ "${WORK_N:-0}" -gt "${before:-0}" ] && return 0
		kill -0 $work 2>/dev/null || break
		sleep 0.1
	done
	t_fail "the workload did not run" "$(tail -5 "$T_TMP/pgbench.out")"
}
WORK_N=0
workload_ran
assert_exit 0 "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"

# --- tc added: changed before its snapshot (skipped, it is in the copy) and after it (applied) --
project "ta tb tc"
GO=$T_TMP/go1
PG2MD_PAUSE=cdc:add_before_slot PG2MD_PAUSE_FILE=$GO "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P" \
	>"$T_TMP/add1.out" 2>"$T_TMP/add1.err" &
f=$!
for _ in $(seq 1 600); do [ -e "$GO.paused" ] || ! kill -0 $f 2>/dev/null && break; sleep 0.1; done
[ -e "$GO.paused" ] && t_pass "follow paused between tc joining the publication and its snapshot" ||
	t_fail "follow did not pause at cdc:add_before_slot" "$(cat "$T_TMP/add1.err")"
assert_eq "ta tb tc" "$(pub_tables)" "tc is in the publication before its snapshot"
# in the publication, before the snapshot: streamed by the slot AND in the copy
pg -c "INSERT INTO tc VALUES (7, 'window'), (7, 'window'), (7, 'window');
       DELETE FROM tc WHERE ctid = (SELECT ctid FROM tc WHERE a = 7 AND b = 'window' LIMIT 1);
       UPDATE tc SET b = 'window-upd' WHERE ctid = (SELECT ctid FROM tc WHERE a = 8 LIMIT 1);"
touch "$GO"
rc=0
wait $f || rc=$?
assert_eq 0 "$rc" "follow with tc added"
assert_contains "$(cat "$T_TMP/add1.err")" "copying 1 table added to tables (tc)" "tc is copied in its own snapshot"
assert_contains "$(cat "$T_TMP/add1.err")" "join the stream at" "and joins the stream at that snapshot's position"
assert_not_contains "$(cat "$T_TMP/add1.out")" "initial copy done" "the other tables are not copied again"
assert_eq "ta tb tc" "$(joined)" "tc is recorded"
assert_eq 1 "$(slots)" "the temporary slot is gone"
workload_ran
pg -c "INSERT INTO tc VALUES (9, 'after'), (9, 'after');"
assert_exit 0 "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"

# --- td added: killed during its copy (extraction, then before its load commits) ---------------
project "ta tb tc td"
t_run env PG2MD_FAULT=extract:chunk PG2MD_FAULT_SKIP=1 "$PG2MD_BIN" follow --once --direct --project-dir "$P"
assert_eq 137 "$T_RC" "killed during td's copy straight into DuckDB (--direct, a second chunk)"
assert_eq "ta tb tc" "$(joined)" "td is not recorded"
t_run env PG2MD_FAULT=extract:task_done "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
assert_eq 137 "$T_RC" "killed during td's copy (after its extraction)"
assert_eq "ta tb tc" "$(joined)" "td is not recorded"
t_run env PG2MD_FAULT=load:before_commit "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
assert_eq 137 "$T_RC" "killed before td's copy committed"
assert_eq "ta tb tc" "$(joined)" "td is still not recorded"
GO=$T_TMP/go2
PG2MD_PAUSE=cdc:add_after_slot PG2MD_PAUSE_FILE=$GO "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P" \
	>"$T_TMP/add2.out" 2>"$T_TMP/add2.err" &
f=$!
for _ in $(seq 1 600); do [ -e "$GO.paused" ] || ! kill -0 $f 2>/dev/null && break; sleep 0.1; done
# after the snapshot, before the copy ends: not in the copy, must come from the stream
pg -c "UPDATE td SET payload = 'after snapshot' WHERE id BETWEEN 1 AND 40; DELETE FROM td WHERE id BETWEEN 41 AND 60;
       INSERT INTO tc VALUES (8, 'after snapshot');"
touch "$GO"
rc=0
wait $f || rc=$?
assert_eq 0 "$rc" "the rerun copies td again"
assert_contains "$(cat "$T_TMP/add2.err")" "copying 1 table added to tables (td)" "td copied in a new snapshot"
assert_eq "ta tb tc td" "$(joined)" "td is recorded"
assert_eq 1 "$(slots)" "no temporary slot is left by the killed copies"
workload_ran

# --- tb removed: out of the publication, no longer applied, its mirror kept ---------------------
project "ta tc td"
assert_exit 0 "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "table \"tb\" is no longer in tables" "the removal is said"
assert_eq "ta tc td" "$(pub_tables)" "tb left the publication pg2md created"
assert_eq "ta tc td" "$(joined)" "tb is no longer recorded"
tb_rows=$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.tb")
pg -c "INSERT INTO tb VALUES (-1, -1);"
workload_ran
assert_exit 0 "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
assert_eq 0 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.tb WHERE k = -1")" "a change of tb after its removal is not applied"
[ "$tb_rows" -gt 0 ] && t_pass "tb's mirror table is kept ($tb_rows rows)" || t_fail "tb's mirror table is empty"

# --- the workload stops; one more run; every followed table equals the source -------------------
touch "$WORK_STOP"
rc=0
wait $work || rc=$?
assert_eq 0 "$rc" "the workload ran without an error"
t_diag "$(grep -c 'number of transactions actually processed' "$T_TMP/pgbench.out") pgbench runs of 200 transactions"
assert_exit 0 "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
same ta "after adds and a removal under a workload"
same tc "after adds and a removal under a workload"
same td "after adds and a removal under a workload"

# --- tb back: copied again in its own snapshot, then followed ----------------------------------
project "ta tb tc td"
assert_exit 0 "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "copying 1 table added to tables (tb)" "tb re-added: copied again"
pg -c "UPDATE tb SET v = v * 10 WHERE k < 100; DELETE FROM ta WHERE id < 10;"
assert_exit 0 "$PG2MD_BIN" follow --once --log-level INFO --project-dir "$P"
same tb "re-added"
same ta "re-added"
assert_eq "ta tb tc td" "$(pub_tables)" "the publication holds the configured tables"

# --- pg2md drop --replication forgets the followed tables with the watermark -------------------
assert_exit 0 "$PG2MD_BIN" drop --replication --yes --project-dir "$P"
assert_eq "" "$(joined)" "drop --replication: no followed table recorded"
assert_eq 0 "$(slots)" "drop --replication: the slot is gone"

t_done

#!/usr/bin/env bash
# t66_follow — pg2md follow --once (docs/cdc.md): the first start creates the publication and the
# slot and copies the tables inside the slot's snapshot; each later start applies what was
# committed since: inserts (multi-row, one LSN), updates (an unchanged TOAST value kept, also
# across a key change), deletes, TRUNCATE, a delete then an insert of one key.  SIGKILL before
# the DuckDB commit, after it (before the flush is confirmed) and during the initial copy, then
# a rerun, and at random moments while pgbench commits (half of them timed to come after a
# batch's commit, which the watermark recorded around each kill shows): the destination equals
# the source by checksum after every step, and the slot's confirmed position never passes the
# destination's watermark.  A table without a key is
# refused with the ALTER TABLE to run; --endpos stops before a later transaction; without --once
# it applies changes as they come until SIGTERM (exit 0); a server without wal_level = logical
# gets the ALTER SYSTEM to run.
. "$(dirname "$0")/../lib/common.sh"
t_init follow
require_pg2md

SLOT="t66_slot_$$"
drop_slot() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't66_%_$$'" >/dev/null 2>&1 || true
}
C2=""
# t_done and t_bail call t_cleanup (which drops the database: the slots must go first)
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	drop_slot
	if [ -n "$C2" ]; then "$PG2MD_SRC/tests/lib/cluster.sh" stop "$C2"; C2=""; fi
	orig_t_cleanup
}

pg -c "CREATE TABLE ta (id int PRIMARY KEY, name text, big text, n numeric(12,2), ts timestamptz,
                        tags text[], j jsonb, d date);
       ALTER TABLE ta ALTER COLUMN big SET STORAGE EXTERNAL;
       CREATE TABLE tb (k bigint PRIMARY KEY, v int);
       INSERT INTO ta SELECT g, 'name ' || g, CASE WHEN g % 10 = 0 THEN repeat(md5(g::text), 200) END, g * 1.25,
                             '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour',
                             ARRAY['a' || g, NULL], jsonb_build_object('g', g), DATE '2024-01-01' + g
                      FROM generate_series(1, 500) g;
       INSERT INTO tb SELECT g, g * 2 FROM generate_series(1, 300) g;"

P=$T_TMP/p
make_project "$P" --tables "ta tb" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t66_pub\""
DB=$P/pg2md.duckdb

compare_all() {
	assert_table_equal public ta "$DB" pg2md_data ta "$1: ta equals the source"
	assert_table_equal public tb "$DB" pg2md_data tb "$1: tb equals the source"
}
watermark() { ddbq "$DB" "SELECT applied_lsn_text FROM pg2md_data._pg2md_cdc WHERE slot_name = '$SLOT'"; }
confirmed() { pgq "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"; }
lsn_le() { [ "$(pgq "SELECT '$1'::pg_lsn <= '$2'::pg_lsn")" = t ]; }

# --- first start: publication, slot, copy in its snapshot ---------------------------------
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "initial copy done" "the first start copies the tables"
assert_eq "2" "$(pgq "SELECT count(*) FROM pg_publication_tables WHERE pubname = 't66_pub'")" \
	"the publication was created for the configured tables"
compare_all "initial copy"
w0=$(watermark)
[ -n "$w0" ] && t_pass "the watermark is recorded ($w0)" || t_fail "no watermark after the initial copy"

assert_exit 0 "$PG2MD_BIN" info --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "slot \"$SLOT\": applied up to $w0" "pg2md info shows the slot's watermark"
assert_exit 0 "$PG2MD_BIN" info --json --project-dir "$P"
assert_eq "$w0" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["replication"][0]["applied_lsn"])' <"$T_OUT")" \
	"pg2md info --json: replication[0].applied_lsn"

# --- changes between runs -----------------------------------------------------------------
pg -c "INSERT INTO ta SELECT g, 'new ' || g, repeat('z', 5000), g, now(), '{}', 'null', NULL FROM generate_series(501, 520) g;
       UPDATE ta SET name = 'renamed' WHERE id IN (10, 20, 30);          -- big unchanged: 'u'
       UPDATE ta SET id = 1010, n = 7.5 WHERE id = 40;                   -- key change, big unchanged
       UPDATE ta SET id = 2020 WHERE id = 1010;                          -- and again
       DELETE FROM ta WHERE id BETWEEN 100 AND 149;
       DELETE FROM ta WHERE id = 5; INSERT INTO ta VALUES (5, 'again', NULL, 0, NULL, NULL, NULL, NULL);
       BEGIN; UPDATE tb SET v = v + 1 WHERE k <= 100; DELETE FROM tb WHERE k > 250; COMMIT;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_not_contains "$(cat "$T_OUT")" "initial copy" "a later start does not copy again"
compare_all "inserts, updates, key changes, deletes"
assert_eq "$(pgq "SELECT md5(big) FROM ta WHERE id = 2020")" \
	"$(ddbq "$DB" "SELECT md5(big) FROM pg2md_data.ta WHERE id = 2020")" \
	"an unchanged TOAST value follows its row through two key changes"
w1=$(watermark)
assert_eq "$w1" "$(confirmed)" "after a clean run the slot's flush position is the watermark"

# --- TRUNCATE, then rows after it in the same batch ----------------------------------------
pg -c "TRUNCATE tb; INSERT INTO tb VALUES (1, 1), (2, 2); UPDATE ta SET d = NULL WHERE id < 50;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "truncate"

# --- nothing to apply: changes of a table not followed still move the slot ----------------
pg -c "CREATE TABLE other (a int); INSERT INTO other SELECT generate_series(1, 1000);"
past=$(pgq "SELECT pg_current_wal_insert_lsn()")
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "applied 0 transactions" "nothing of the followed tables to apply"
lsn_le "$past" "$(watermark)" && t_pass "the watermark moved past WAL of tables not followed" ||
	t_fail "the watermark $(watermark) stayed before $past"
assert_eq "$(watermark)" "$(confirmed)" "and the slot's flush position with it"
compare_all "no changes"

# --- SIGKILL before the DuckDB commit: nothing applied, the rerun applies it ---------------
pg -c "UPDATE ta SET name = 'before-commit kill' WHERE id BETWEEN 200 AND 260; INSERT INTO tb VALUES (3, 3);"
after=$(pgq "SELECT pg_current_wal_insert_lsn()")
t_run env PG2MD_FAULT=cdc:before_commit "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq 137 "$T_RC" "killed before the commit (SIGKILL)"
# (an idle moment may move it, but never past a transaction not applied)
lsn_le "$after" "$(watermark)" && t_fail "the watermark $(watermark) passed the killed transaction (< $after)" ||
	t_pass "the watermark stays before the killed transaction"
assert_eq 0 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.ta WHERE name = 'before-commit kill'")" \
	"no row of the killed batch is in the destination"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "rerun after a kill before the commit"

# --- SIGKILL after the commit, before the flush is confirmed: the rerun repeats nothing -----
pg -c "INSERT INTO tb SELECT g, g FROM generate_series(10, 40) g; DELETE FROM ta WHERE id BETWEEN 300 AND 310;
       UPDATE ta SET n = n + 1 WHERE id BETWEEN 400 AND 420;"
t_run env PG2MD_FAULT=cdc:after_commit "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq 137 "$T_RC" "killed after the commit (SIGKILL)"
w=$(watermark)
c=$(confirmed)
if lsn_le "$c" "$w" && [ "$c" != "$w" ]; then
	t_pass "the slot's confirmed position ($c) is behind the committed watermark ($w)"
else
	t_fail "the slot's confirmed position ($c) should be behind the watermark ($w)"
fi
compare_all "after a kill after the commit"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "rerun after a kill after the commit (nothing applied twice)"
assert_eq "$(watermark)" "$(confirmed)" "the rerun confirmed the watermark"

# --- --endpos: the transaction whose commit starts at or after it waits ---------------------
pg -c "INSERT INTO tb VALUES (100, 100);"
endpos=$(pgq "SELECT pg_current_wal_insert_lsn()")
pg -c "INSERT INTO tb VALUES (101, 101);"
assert_exit 0 "$PG2MD_BIN" follow --endpos "$endpos" --project-dir "$P"
assert_eq "1 0" "$(ddbq "$DB" "SELECT count(*) FILTER (WHERE k = 100), count(*) FILTER (WHERE k = 101) FROM pg2md_data.tb" | tr '\t' ' ')" \
	"--endpos: the transaction before it applied, the one after it not"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "after --endpos, --once catches up"
assert_exit 2 "$PG2MD_BIN" follow --endpos nonsense --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "LSN" "a bad --endpos is a usage error"

# --- without --once: runs until SIGTERM, applying as changes come; a clean stop is exit 0 -----
"$PG2MD_BIN" follow --project-dir "$P" >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" &
bg=$!
pg -c "INSERT INTO tb VALUES (500, 500); UPDATE ta SET name = 'live' WHERE id = 1;"
want=$(pgq "SELECT pg_current_wal_insert_lsn()")
for _ in $(seq 1 600); do # the slot's flush position passes want only after the DuckDB commit
	c=$(confirmed)
	[ -n "$c" ] && lsn_le "$want" "$c" && break
	kill -0 $bg 2>/dev/null || break
	sleep 0.1
done
kill -TERM $bg
rc=0
wait $bg || rc=$?
assert_eq 0 "$rc" "follow without --once stops cleanly on SIGTERM (exit 0)"
assert_contains "$(cat "$T_TMP/bg.out")" "stopped by a signal" "it says it stopped by a signal"
compare_all "follow until SIGTERM"

# --- SIGKILL at random moments while a pgbench workload commits ------------------------------
# Under a steady stream a batch commits at the first commit 1 s or more after its first
# transaction (docs/cdc.md; not configurable), so a kill within a second of the start lands
# before any commit.  Odd kills come 0.3-3.0 s after the start; even ones 0-1.4 s after the
# slot's flush position first passed the watermark the process started from (a batch committed
# and was confirmed), i.e. at a random point of a later batch's cycle, sometimes between its
# DuckDB commit and its confirmation.  After each kill the slot's confirmed position must not
# pass the destination's watermark, and the watermark is recorded before and after.
cat >"$T_TMP/work.sql" <<'SQL'
\set k random(1, 2000)
BEGIN;
INSERT INTO tb VALUES (:k, 1) ON CONFLICT (k) DO UPDATE SET v = tb.v + 1;
UPDATE ta SET n = n + 1, big = CASE WHEN :k % 50 = 0 THEN repeat('w', 4000) ELSE big END WHERE id = :k % 520;
DELETE FROM tb WHERE k = (:k * 7) % 2000;
COMMIT;
SQL
# the workload runs until the kills are done (then stopped: its last transaction, cut, aborts)
"$PG2MD_TEST_BINDIR/pgbench" -n -c 1 -T 600 -f "$T_TMP/work.sql" "$T_DB" >"$T_TMP/pgbench.out" 2>&1 &
pgb=$!
kills=0 after_commit=0 in_window=0 behind_ok=1
phase_start=$SECONDS
for i in 1 2 3 4 5 6; do
	w_before=$(watermark)
	"$PG2MD_BIN" follow --project-dir "$P" >/dev/null 2>"$T_TMP/kill.err" &
	f=$!
	if [ $((i % 2)) = 1 ]; then
		d=$((RANDOM % 28 + 3))
	else
		for _ in $(seq 1 600); do # 60 s at most: the flush position passes w_before only after a commit
			c=$(confirmed)
			[ -n "$c" ] && ! lsn_le "$c" "$w_before" && break
			kill -0 $f 2>/dev/null || break
			sleep 0.1
		done
		d=$((RANDOM % 15))
	fi
	sleep "$((d / 10)).$((d % 10))"
	kill -0 $f 2>/dev/null || t_fail "kill $i: follow had stopped before its SIGKILL" "$(cat "$T_TMP/kill.err")"
	kill -KILL $f 2>/dev/null || true
	wait $f 2>/dev/null || true
	kills=$((kills + 1))
	w_after=$(watermark)
	c=$(confirmed)
	lsn_le "$c" "$w_after" || { behind_ok=0; t_diag "kill $i: the slot's confirmed position $c passed the watermark $w_after"; }
	[ "$w_after" != "$w_before" ] && lsn_le "$w_before" "$w_after" && after_commit=$((after_commit + 1))
	[ "$c" != "$w_after" ] && in_window=$((in_window + 1))
	t_diag "kill $i after $((d / 10)).$((d % 10)) s$([ $((i % 2)) = 0 ] && echo " past the first confirmation"): watermark $w_before -> $w_after, confirmed $c"
done
if kill -0 $pgb 2>/dev/null; then
	kill -TERM $pgb
	wait $pgb 2>/dev/null || true
else
	t_fail "pgbench stopped before the kills were done: $(tail -5 "$T_TMP/pgbench.out")"
fi
assert_eq 1 "$behind_ok" "after each of $kills SIGKILLs the slot's confirmed position is at most the watermark"
[ "$after_commit" -ge 3 ] && t_pass "$after_commit of $kills kills came after a batch's commit (the watermark had moved)" ||
	t_fail "only $after_commit of $kills kills came after a batch's commit (at least the 3 timed from a confirmation must)"
t_diag "$in_window kill(s) landed between a DuckDB commit and its flush confirmation"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "after random SIGKILLs under a pgbench workload"
assert_eq "$(watermark)" "$(confirmed)" "the slot's flush position is the watermark again"
t_diag "random-kill phase: $((SECONDS - phase_start)) s"

# --- SIGKILL during the initial copy of a second pipeline: the rerun copies again ------------
P2=$T_TMP/p2
make_project "$P2" --tables "ta tb" --config "[sources.pg_replication]
slot_name = \"t66_two_$$\"
pub_name = \"t66_pub\""
t_run env PG2MD_FAULT=cdc:before_watermark "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_eq 137 "$T_RC" "killed after the initial copy, before its watermark"
pg -c "UPDATE tb SET v = -v WHERE k < 20; INSERT INTO ta VALUES (9999, 'late', NULL, 1, NULL, NULL, NULL, NULL);"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_contains "$(cat "$T_OUT")" "initial copy done" "the rerun starts the copy again from a new slot"
assert_table_equal public ta "$P2/pg2md.duckdb" pg2md_data ta "second pipeline: ta equals the source"
assert_table_equal public tb "$P2/pg2md.duckdb" pg2md_data tb "second pipeline: tb equals the source"

# --- a table without a key is refused with the fix -----------------------------------------
pg -c "CREATE TABLE nokey (a int, b text); INSERT INTO nokey VALUES (1, 'x');"
P3=$T_TMP/p3
make_project "$P3" --tables "nokey" --config "[sources.pg_replication]
slot_name = \"t66_three_$$\"
pub_name = \"t66_pub3\""
assert_exit 2 "$PG2MD_BIN" follow --once --project-dir "$P3"
assert_contains "$(cat "$T_ERR")" "ADD PRIMARY KEY" "a table without a key: the ALTER TABLE to run"

# --- a server without wal_level = logical: the error says what to change --------------------
C2=$(mktemp -d "${TMPDIR:-/tmp}/pg2md-t66-replica.XXXXXX") # not under T_TMP: the server runs as postgres
"$PG2MD_SRC/tests/lib/cluster.sh" start "$C2" >/dev/null
echo "wal_level = replica" >>"$C2/data/postgresql.conf"
if [ "$(id -u)" -eq 0 ]; then
	runuser -u postgres -- "$PG2MD_TEST_BINDIR/pg_ctl" -D "$C2/data" -w -l "$C2/server.log" restart >/dev/null
else
	"$PG2MD_TEST_BINDIR/pg_ctl" -D "$C2/data" -w -l "$C2/server.log" restart >/dev/null
fi
port2=$(sed -n 's/^export PGPORT=//p' "$C2/env")
psql -X -q -h "$C2" -p "$port2" -U pg2md -d pg2md_test -c "CREATE TABLE t (id int PRIMARY KEY)"
P4=$T_TMP/p4
make_project "$P4" --tables "t" --port "$port2" --database pg2md_test
assert_exit 3 "$PG2MD_BIN" follow --once --project-dir "$P4"
assert_contains "$(cat "$T_ERR")" 'wal_level is "replica"' "wal_level not logical: the error says so"
assert_contains "$(cat "$T_ERR")" "ALTER SYSTEM SET wal_level = logical" "and the fix"

t_done

#!/usr/bin/env bash
# t69_follow_stream — streamed large transactions in pg2md follow (docs/cdc.md, "Large
# transactions"): with logical_decoding_work_mem = 64kB (set for follow's connections through
# PGOPTIONS) the server sends every transaction of more than a few hundred rows in segments
# before it commits; follow keeps them on disk and applies each as it arrives (into a DuckDB
# transaction committed at its Stream Commit), or from disk at its commit when another
# transaction came in between.
#   - a large transaction with SAVEPOINT / ROLLBACK TO inside (nested too): only the changes of
#     the subtransactions rolled back go;
#   - an aborted large transaction leaves nothing (and no file behind);
#   - small transactions committed while a large one is open, before and after it in commit order;
#   - a column change inside a large transaction applied as it arrived, then given up (a small
#     transaction commits meanwhile): applied again from disk, the column change too;
#   - SIGKILL after a segment reached the disk, before the DuckDB commit, and after it (before the
#     server heard of it): the rerun ends equal to the source, nothing applied twice;
#   - streaming = false: the same transaction arrives whole;
#   - peak RSS of follow for a 1,000,000-row transaction against a 100,000-row one (a ratio bound,
#     not a time).
# Every step compares the destination with the source by checksum.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_stream
require_pg2md

SLOT="t69_slot_$$"
drop_slot() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't69_%_$$'" >/dev/null 2>&1 || true
}
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	[ -n "${APID:-}" ] && kill "$APID" 2>/dev/null
	[ -n "${FPID:-}" ] && kill "$FPID" 2>/dev/null
	drop_slot
	orig_t_cleanup
}

# small decoding memory on follow's (walsender) connections only: large transactions stream
export PGOPTIONS="-c logical_decoding_work_mem=64kB"

pg -c "CREATE TABLE ts (id bigint PRIMARY KEY, v int, s text, big text);
       ALTER TABLE ts ALTER COLUMN big SET STORAGE EXTERNAL;
       CREATE TABLE tb (k int PRIMARY KEY, v int);
       INSERT INTO ts SELECT g, g, 'row ' || g, CASE WHEN g % 100 = 0 THEN repeat(md5(g::text), 100) END
                      FROM generate_series(1, 2000) g;
       INSERT INTO tb SELECT g, g FROM generate_series(1, 100) g;"

P=$T_TMP/p
make_project "$P" --tables "ts tb" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t69_pub\""
DB=$P/pg2md.duckdb
SPILL=$P/.pg2md/pipelines/pg2md/cdc

compare_all() {
	assert_table_equal public ts "$DB" pg2md_data ts "$1: ts equals the source"
	assert_table_equal public tb "$DB" pg2md_data tb "$1: tb equals the source"
}
watermark() { ddbq "$DB" "SELECT applied_lsn_text FROM pg2md_data._pg2md_cdc WHERE slot_name = '$SLOT'"; }
confirmed() { pgq "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"; }
spill_files() { find "$SPILL" -name '*.spill' 2>/dev/null | wc -l; }

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "initial copy"

# --- a large transaction with savepoints rolled back inside --------------------------------
pg -c "BEGIN;
       INSERT INTO ts SELECT g, g, 'big ' || g, NULL FROM generate_series(2001, 30000) g;
       SAVEPOINT a;
         UPDATE ts SET v = -v WHERE id < 5000;
         DELETE FROM ts WHERE id BETWEEN 6000 AND 7000;
       ROLLBACK TO a;
       SAVEPOINT b;
         UPDATE ts SET s = 'in b' WHERE id % 3 = 0;            -- big unchanged: 'u' values
         SAVEPOINT c;
           DELETE FROM ts WHERE id % 7 = 0;
           UPDATE ts SET id = id + 100000 WHERE id % 5 = 0;      -- key changes, rolled back
         ROLLBACK TO c;
         UPDATE ts SET id = id + 200000 WHERE id % 13 = 0;       -- key changes, kept
       RELEASE b;
       INSERT INTO tb SELECT g, g FROM generate_series(101, 5000) g;
       DELETE FROM ts WHERE id % 11 = 0;
       COMMIT;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "streamed transactions: 1 applied (0 as they arrived), 2 aborts" \
	"the transaction came streamed; two subtransactions rolled back (so it was applied from disk)"
compare_all "a streamed transaction with ROLLBACK TO SAVEPOINT"
assert_eq "$(pgq "SELECT md5(big) FROM ts WHERE id = 200200")" \
	"$(ddbq "$DB" "SELECT md5(big) FROM pg2md_data.ts WHERE id = 200200")" \
	"an unchanged TOAST value follows its row through a key change in a streamed transaction"
assert_eq 0 "$(spill_files)" "no file left behind after the commit"
assert_eq "$(watermark)" "$(confirmed)" "the slot's flush position is the watermark"

# --- an aborted large transaction leaves nothing ---------------------------------------------
before=$(ddbq "$DB" "SELECT count(*), sum(v) FROM pg2md_data.ts")
pg -c "BEGIN; INSERT INTO ts SELECT g, g, 'aborted', NULL FROM generate_series(300001, 330000) g;
       UPDATE ts SET v = 0 WHERE id < 10000; DELETE FROM tb; ROLLBACK;
       INSERT INTO tb VALUES (-1, -1);"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "0 applied (0 as they arrived), 1 aborts" "the aborted transaction came streamed, and was discarded"
assert_eq "$before" "$(ddbq "$DB" "SELECT count(*), sum(v) FROM pg2md_data.ts")" "the aborted transaction left nothing"
compare_all "an aborted streamed transaction"
assert_eq 0 "$(spill_files)" "its file is gone"

# --- small transactions committed while a large one is open ----------------------------------
# session A (a coprocess) opens a large transaction and waits; small ones commit meanwhile
coproc APSQL { PGOPTIONS="" PGAPPNAME=t69_a psql -X -q -v ON_ERROR_STOP=1 -d "$T_DB" >/dev/null 2>&1; }
APID=$APSQL_PID
echo "BEGIN; INSERT INTO ts SELECT g, g, 'open', NULL FROM generate_series(400001, 420000) g;
      SELECT set_config('application_name', 't69_a_ready', false);" >&"${APSQL[1]}"
for _ in $(seq 1 600); do
	[ "$(pgq "SELECT count(*) FROM pg_stat_activity WHERE application_name = 't69_a_ready'")" = 1 ] && break
	sleep 0.1
done
pg -c "INSERT INTO tb VALUES (-2, -2);"
pg -c "UPDATE ts SET v = 42 WHERE id BETWEEN 1 AND 50;"
pg -c "BEGIN; INSERT INTO ts SELECT g, g, 'small', NULL FROM generate_series(500001, 500100) g; DELETE FROM tb WHERE k < 10; COMMIT;"
echo "UPDATE ts SET s = 'open 2' WHERE id BETWEEN 400001 AND 410000; UPDATE ts SET v = 43 WHERE id BETWEEN 1 AND 20;
      COMMIT;" >&"${APSQL[1]}"
echo '\q' >&"${APSQL[1]}"
wait "$APID"
APID=""
pg -c "UPDATE ts SET v = 44 WHERE id BETWEEN 10 AND 30; INSERT INTO tb VALUES (-3, -3);"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "applied 5 transactions" "the large one and the four small ones"
assert_contains "$(cat "$T_OUT")" "streamed transactions: 1 applied (0 as they arrived)" \
	"the large one came streamed, and was applied from disk (others committed while it streamed)"
compare_all "small transactions around an open streamed one"

# --- column changes in a large transaction applied as it arrives ------------------------------
# follow runs in the background, a coprocess holds a large transaction open.
#  1. a column added before (committed): the open transaction's first change of the table evolves
#     the mirror inside its DuckDB transaction; a small transaction then commits first, so the
#     eager apply is given up (rolled back, column change included) and the transaction is
#     applied from disk at its commit, the column change again;
#  2. a column added inside the open transaction: its lock would make the catalog wait for the
#     commit, so the transaction is left to its commit at once.
wait_log() { # PATTERN [COUNT]: until follow's log has it COUNT times (60 s at most)
	for _ in $(seq 1 600); do
		[ "$(grep -c "$1" "$T_TMP/bg.err")" -ge "${2:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}
pg -c "ALTER TABLE ts ADD COLUMN extra int DEFAULT 7;" || t_bail "the source statements failed"
RUNTIME__LOG_LEVEL=DEBUG "$PG2MD_BIN" follow --project-dir "$P" >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" &
FPID=$!
coproc BPSQL { PGOPTIONS="" PGAPPNAME=t69_b psql -X -q -v ON_ERROR_STOP=1 -d "$T_DB" >/dev/null 2>&1; }
APID=$BPSQL_PID
echo "BEGIN; INSERT INTO tb SELECT g, g FROM generate_series(20001, 40000) g;
      UPDATE ts SET extra = id WHERE id < 1000;" >&"${BPSQL[1]}"
wait_log "follows its source's columns: column extra" &&
	t_pass "the open transaction's first change of ts evolved the mirror as it arrived" ||
	t_fail "follow did not apply the open transaction's segments as they arrived"
pg -c "INSERT INTO tb VALUES (-9, -9);" || t_bail "the source statements failed"
echo "UPDATE ts SET v = -v WHERE id < 100; COMMIT;" >&"${BPSQL[1]}"
wait_log "applied streamed transaction" || t_fail "the streamed transaction was not applied"
assert_contains "$(cat "$T_TMP/bg.err")" "applied from disk at its commit (another transaction committed while it streamed)" \
	"a small transaction committing meanwhile gave the eager apply up"
echo "BEGIN; INSERT INTO tb SELECT g, g FROM generate_series(40001, 60000) g;
      ALTER TABLE ts ADD COLUMN extra2 int; UPDATE ts SET extra2 = 1 WHERE id < 10;
      INSERT INTO tb SELECT g, g FROM generate_series(60001, 80000) g;" >&"${BPSQL[1]}"
wait_log "a column change of it holds its table's lock" &&
	t_pass "a column change inside the open transaction leaves it to its commit" ||
	t_fail "follow did not give up the transaction with the column change"
echo "COMMIT;" >&"${BPSQL[1]}"
echo '\q' >&"${BPSQL[1]}"
wait "$APID"
APID=""
wait_log "applied streamed transaction" 2 || t_fail "the second streamed transaction was not applied"
kill -TERM "$FPID"
wait "$FPID"
assert_eq 0 "$?" "follow stopped cleanly"
FPID=""
assert_contains "$(cat "$T_TMP/bg.out")" "streamed transactions: 2 applied (0 as they arrived)" \
	"both transactions were applied from disk at their commit"
assert_eq "extra|extra2" "$(ddbq "$DB" "SELECT string_agg(column_name, '|' ORDER BY ordinal_position) FROM information_schema.columns
	WHERE table_schema = 'pg2md_data' AND table_name = 'ts' AND ordinal_position > 4")" "the columns added are in the destination"
compare_all "streamed transactions with column changes"

# --- SIGKILL after a segment reached the disk: the rerun gets the transaction again -----------
big_tx() { # $1: a tag
	pg -c "BEGIN; INSERT INTO ts SELECT g, g, '$1', NULL FROM generate_series(600001, 625000) g ON CONFLICT (id) DO UPDATE SET s = '$1';
	       UPDATE ts SET v = v + 1 WHERE id % 2 = 0 AND id < 30000; DELETE FROM ts WHERE id BETWEEN 600001 AND 601000; COMMIT;"
}
big_tx kill1
t_run env PG2MD_FAULT=cdc:stream_stop "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq 137 "$T_RC" "killed after the first segment reached the disk (SIGKILL)"
[ "$(spill_files)" -ge 1 ] && t_pass "the killed run left its file" || t_fail "no file after a kill mid-transaction"
assert_eq 0 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.ts WHERE s = 'kill1'")" "nothing of it was applied"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "streamed transactions: 1 applied (1 as they arrived)" \
	"alone, the transaction was applied as it arrived"
compare_all "rerun after a kill mid streamed transaction"
assert_eq 0 "$(spill_files)" "the dead run's file was removed"

# --- SIGKILL before the DuckDB commit of a streamed transaction (its folds applied) ----------
big_tx kill2
t_run env PG2MD_FAULT=cdc:stream_before_commit "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq 137 "$T_RC" "killed before the streamed transaction's commit"
assert_eq 0 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.ts WHERE s = 'kill2'")" "nothing of it is in the destination"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "rerun after a kill before a streamed commit"

# --- SIGKILL after the DuckDB commit, before the flush is confirmed: applied once -------------
big_tx kill3
t_run env PG2MD_FAULT=cdc:stream_after_commit "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq 137 "$T_RC" "killed after the streamed transaction's commit"
compare_all "after a kill after a streamed commit"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "applied 0 transactions" "the rerun skips the transaction it already applied"
compare_all "rerun after a kill after a streamed commit (nothing applied twice)"
assert_eq "$(watermark)" "$(confirmed)" "the rerun confirmed the watermark"

# --- streaming = false: the server sends the transaction whole --------------------------------
P2=$T_TMP/p2
make_project "$P2" --tables "ts tb" --config "[sources.pg_replication]
slot_name = \"t69_two_$$\"
pub_name = \"t69_pub\"
streaming = false"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
big_tx nostream
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_not_contains "$(cat "$T_OUT")" "streamed" "streaming = false: nothing streamed"
assert_table_equal public ts "$P2/pg2md.duckdb" pg2md_data ts "streaming = false: ts equals the source"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "the same transaction streamed"

# --- peak RSS: a 1,000,000-row transaction against a 100,000-row one --------------------------
# DuckDB's budget at 64MB (pg2md's default is 128MB): the 100,000-row transaction already fills
# it, so what is compared is what grows with the transaction (pg2md's own memory), not DuckDB
# filling its budget (the default's figures are in docs/cdc.md).
maxrss() { # run follow --once, print its peak RSS in kB
	PG2MD_DUCKDB_MEMORY_LIMIT=64MB python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r == 0 else "failed %d" % r)' \
		"$PG2MD_BIN" follow --once --project-dir "$P"
}
if [ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then
	# a sanitizer's shadow memory makes the figures meaningless (and a million rows slow)
	t_diag "peak RSS not measured under a sanitizer"
else
	pg -c "CREATE TABLE tm (id bigint PRIMARY KEY, v int, s text);"
	P3=$T_TMP/p3
	make_project "$P3" --tables "tm" --config "[sources.pg_replication]
slot_name = \"t69_three_$$\"
pub_name = \"t69_pub\""
	P=$P3
	assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P3"
	pg -c "INSERT INTO tm SELECT g, g, 'row ' || g FROM generate_series(1, 100000) g;"
	rss_small=$(maxrss)
	pg -c "INSERT INTO tm SELECT g, g, 'row ' || g FROM generate_series(100001, 1100000) g;"
	rss_large=$(maxrss)
	t_diag "peak RSS of follow --once: 100,000-row transaction $rss_small kB, 1,000,000-row transaction $rss_large kB"
	assert_table_equal public tm "$P3/pg2md.duckdb" pg2md_data tm "the 1,000,000-row transaction applied"
	if [[ "$rss_small" =~ ^[0-9]+$ && "$rss_large" =~ ^[0-9]+$ ]] && [ $((rss_large * 10)) -le $((rss_small * 20)) ]; then
		t_pass "ten times the rows, at most twice the memory ($rss_large kB against $rss_small kB)"
	else
		t_fail "peak RSS $rss_large kB for 1,000,000 rows against $rss_small kB for 100,000"
	fi
fi

t_done

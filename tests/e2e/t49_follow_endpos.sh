#!/usr/bin/env bash
# t49_follow_endpos — pg2md follow --endpos LSN in pgcopydb's three cases (docs/cdc.md, "Running
# it"; issue 16): between transactions, inside a transaction (open before LSN, committed after
# it: a small one, and a large one the server streams, not applied even in part), and exactly at
# a transaction's commit LSN (read from the slot's Commit messages by peeking it), of a small and
# of a streamed transaction, then one byte past it.  What docs/cdc.md promises, asserted exactly:
# the transactions whose commit starts before LSN are applied, none from the first whose commit
# starts at or after it; the watermark lies between the end of the last transaction applied and
# the commit of the first one not applied (else the next run would skip it); the next run
# applies the rest whole.  Marker rows in a table without a key (REPLICA IDENTITY FULL) count
# each transaction's rows, so a transaction applied twice or in part shows; the tables end equal
# to the source value by value.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_endpos
require_pg2md

SLOT="t49_slot_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	[ -n "${OPID:-}" ] && kill "$OPID" 2>/dev/null
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't49_%_$$'" >/dev/null 2>&1 || true
	orig_t_cleanup
}

pg -c "CREATE TABLE tk (id int PRIMARY KEY, v text, n numeric(12,2));
       CREATE TABLE tf (a int, b text);
       ALTER TABLE tf REPLICA IDENTITY FULL;
       INSERT INTO tk SELECT g, 'k' || g, g FROM generate_series(1, 100) g;
       INSERT INTO tf SELECT g % 10, 'f' FROM generate_series(1, 100) g;"
P=$T_TMP/p
make_project "$P" --tables "tk tf" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t49_pub\""
DB=$P/pg2md.duckdb

watermark() { ddbq "$DB" "SELECT applied_lsn_text FROM pg2md_data._pg2md_cdc WHERE slot_name = '$SLOT'"; }
confirmed() { pgq "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"; }
lsn_le() { [ "$(pgq "SELECT '$1'::pg_lsn <= '$2'::pg_lsn")" = t ]; }
# flushed — wait (10 s at most) until the WAL inserted so far is flushed: the slot's SQL peek
# decodes only flushed WAL, and the test cluster commits asynchronously
flushed() {
	local ins i
	ins=$(pgq "SELECT pg_current_wal_insert_lsn()")
	for i in $(seq 1 100); do
		[ "$(pgq "SELECT pg_current_wal_flush_lsn() >= '$ins'::pg_lsn")" = t ] && return 0
		sleep 0.1
	done
	return 1
}
# the slot's pending pgoutput messages (protocol 1: lsn, xid, data), read without consuming them
PEEK="pg_logical_slot_peek_binary_changes('$SLOT', NULL, NULL, 'proto_version', '1', 'publication_names', 't49_pub')"

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"

# marks — the marker rows (b = 'E…') in the mirror's tf, with their counts
marks() { ddbq "$DB" "SELECT coalesce(string_agg(b || 'x' || n, ' ' ORDER BY b), '-') FROM
	(SELECT b, count(*) AS n FROM pg2md_data.tf WHERE b LIKE 'E%' GROUP BY b)"; }
# commit_of XID — "commit_lsn end_lsn" of a pending transaction's Commit message in the slot
commit_of() {
	flushed
	pgq "SELECT '0/0'::pg_lsn + ('x' || encode(substr(data, 3, 8), 'hex'))::bit(64)::bigint::numeric,
	            '0/0'::pg_lsn + ('x' || encode(substr(data, 11, 8), 'hex'))::bit(64)::bigint::numeric
	     FROM $PEEK WHERE get_byte(data, 0) = ascii('C') AND xid::text = '$1'" | tr '\t' ' '
}
# insert_tx B — one transaction inserting (0, B) into tf; prints its xid
insert_tx() { pgq "INSERT INTO tf VALUES (0, '$1') RETURNING txid_current()"; }
# open_tx NAME SQL — session NAME (a coprocess) runs BEGIN; SQL and stays in the transaction
open_tx() {
	coproc OPEN { PGOPTIONS="" psql -X -q -v ON_ERROR_STOP=1 -d "$T_DB" >/dev/null 2>&1; }
	OPID=$OPEN_PID
	echo "BEGIN; $2; SELECT set_config('application_name', '$1', false);" >&"${OPEN[1]}"
	for _ in $(seq 1 600); do
		[ "$(pgq "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1'")" = 1 ] && return 0
		sleep 0.1
	done
	t_bail "session $1 did not start its transaction"
}
# close_tx SQL — the open session runs SQL; COMMIT and ends
close_tx() {
	echo "$1; COMMIT;" >&"${OPEN[1]}"
	echo '\q' >&"${OPEN[1]}"
	wait "$OPID"
	OPID=""
}

# (1) and (2): T1 opens and inserts; T0 commits; LSN A; T1 inserts more and commits; LSN B; T2
open_tx t49_t1 "INSERT INTO tf VALUES (0, 'E1 open'), (0, 'E1 open')"
x0=$(insert_tx "E0")
a=$(pgq "SELECT pg_current_wal_insert_lsn()")
close_tx "INSERT INTO tf VALUES (0, 'E1 open'); INSERT INTO tk VALUES (-1, 'E1', 1)"
b=$(pgq "SELECT pg_current_wal_insert_lsn()")
x2=$(insert_tx "E2")
read -r c0 e0 <<<"$(commit_of "$x0")"
read -r c2 e2 <<<"$(commit_of "$x2")"
assert_exit 0 "$PG2MD_BIN" follow --endpos "$a" --project-dir "$P"
assert_eq "E0x1" "$(marks)" "--endpos inside T1 (open before it, committed after it): T0 applied, nothing of T1 or T2"
assert_eq 0 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.tk WHERE id = -1")" "nothing of T1 in the other table either"
w=$(watermark)
lsn_le "$e0" "$w" && lsn_le "$w" "$a" && t_pass "the watermark ($w) is past T0's end ($e0) and at or before --endpos ($a)" ||
	t_fail "the watermark $w should be between T0's end $e0 and --endpos $a"
assert_exit 0 "$PG2MD_BIN" follow --endpos "$b" --project-dir "$P"
assert_eq "E0x1 E1 openx3" "$(marks)" "--endpos between T1 and T2: T1 applied whole, T2 not"
w=$(watermark)
lsn_le "$w" "$c2" && t_pass "the watermark ($w) is at or before T2's commit ($c2)" || t_fail "the watermark $w passed T2's commit $c2: it would be skipped"

# (3): exactly at a commit LSN: T3, T4, T5; --endpos = T3's commit LSN, then T4's + 1
x3=$(insert_tx "E3")
x4=$(insert_tx "E4")
x5=$(insert_tx "E5")
read -r c3 e3 <<<"$(commit_of "$x3")"
read -r c4 e4 <<<"$(commit_of "$x4")"
read -r c5 e5 <<<"$(commit_of "$x5")"
t_diag "commits: T2 $c2-$e2, T3 $c3-$e3, T4 $c4-$e4, T5 $c5-$e5"
assert_exit 0 "$PG2MD_BIN" follow --endpos "$c3" --project-dir "$P"
assert_eq "E0x1 E1 openx3 E2x1" "$(marks)" "--endpos exactly at T3's commit LSN: T2 applied, T3 (its commit starts there) not"
w=$(watermark)
lsn_le "$e2" "$w" && lsn_le "$w" "$c3" && t_pass "the watermark ($w) is past T2's end and at or before T3's commit ($c3)" ||
	t_fail "the watermark $w should be between T2's end $e2 and T3's commit $c3"
c4p=$(pgq "SELECT '$c4'::pg_lsn + 1")
assert_exit 0 "$PG2MD_BIN" follow --endpos "$c4p" --project-dir "$P"
assert_eq "E0x1 E1 openx3 E2x1 E3x1 E4x1" "$(marks)" "--endpos one byte past T4's commit LSN: T3 and T4 applied, T5 not"
w=$(watermark)
lsn_le "$e4" "$w" && lsn_le "$w" "$c5" && t_pass "the watermark ($w) is past T4's end and at or before T5's commit ($c5)" ||
	t_fail "the watermark $w should be between T4's end $e4 and T5's commit $c5"
assert_eq "$w" "$(confirmed)" "the slot's flush position is the watermark"

# (2) large: a streamed transaction with --endpos inside it is not applied in part
open_tx t49_t6 "INSERT INTO tk SELECT g, 'E6', g FROM generate_series(100001, 106000) g; INSERT INTO tf VALUES (0, 'E6')"
x7=$(insert_tx "E7")
a=$(pgq "SELECT pg_current_wal_insert_lsn()")
close_tx "INSERT INTO tk SELECT g, 'E6', g FROM generate_series(106001, 107000) g; INSERT INTO tf VALUES (0, 'E6')"
insert_tx "E8" >/dev/null
# the server's count of transactions it streamed to the slot (pg_stat_replication_slots)
streamed_txns() { pgq "SELECT coalesce((SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = '$SLOT'), 0)"; }
s0=$(streamed_txns)
assert_exit 0 env PGOPTIONS="-c logical_decoding_work_mem=64kB" "$PG2MD_BIN" follow --endpos "$a" --project-dir "$P"
for _ in $(seq 1 100); do [ "$(streamed_txns)" -gt "$s0" ] && break; sleep 0.1; done # the statistics arrive late
[ "$(streamed_txns)" -gt "$s0" ] && t_pass "the server streamed the large transaction (stream_txns $s0 -> $(streamed_txns))" ||
	t_fail "the server did not stream the large transaction to the slot (stream_txns stays $s0)"
assert_not_contains "$(cat "$T_OUT")" "streamed transactions:" "no streamed transaction applied"
assert_eq "E0x1 E1 openx3 E2x1 E3x1 E4x1 E5x1 E7x1" "$(marks)" "--endpos inside a streamed transaction: what committed before applied, nothing of it"
assert_eq 0 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.tk WHERE v = 'E6'")" "none of its 7,000 rows"
w=$(watermark)
lsn_le "$w" "$a" && t_pass "the watermark ($w) is at or before --endpos ($a)" || t_fail "the watermark $w passed --endpos $a"
assert_exit 0 env PGOPTIONS="-c logical_decoding_work_mem=64kB" "$PG2MD_BIN" follow --once --project-dir "$P"
# applied whole, streamed or not: the server streams a transaction only from records past the point
# decoding starts at, and the watermark an earlier run confirmed may lie inside its records
assert_match "$(cat "$T_OUT")" "applied 1 transaction|streamed transactions: 1 applied" "the next run applies it"
assert_eq "E0x1 E1 openx3 E2x1 E3x1 E4x1 E5x1 E6x2 E7x1 E8x1" "$(marks)" "every transaction applied once"

# (3) large: --endpos exactly at a streamed transaction's commit LSN (it is not applied, also not
# as it arrives), then one byte past it (applied, as it arrived)
x9=$(pgq "BEGIN; INSERT INTO tk SELECT g, 'E9', g FROM generate_series(200001, 206000) g; INSERT INTO tf VALUES (0, 'E9');
          SELECT txid_current(); COMMIT;" | tail -n 1)
insert_tx "E9b" >/dev/null
read -r c9 e9 <<<"$(commit_of "$x9")"
assert_exit 0 env PGOPTIONS="-c logical_decoding_work_mem=64kB" "$PG2MD_BIN" follow --endpos "$c9" --project-dir "$P"
assert_eq "0 0" "$(ddbq "$DB" "SELECT count(*), (SELECT count(*) FROM pg2md_data.tf WHERE b = 'E9') FROM pg2md_data.tk WHERE v = 'E9'" | tr '\t' ' ')" \
	"--endpos exactly at a streamed transaction's commit LSN: nothing of it applied"
w=$(watermark)
lsn_le "$w" "$c9" && t_pass "the watermark ($w) is at or before its commit ($c9)" || t_fail "the watermark $w passed its commit $c9"
c9p=$(pgq "SELECT '$c9'::pg_lsn + 1")
assert_exit 0 env PGOPTIONS="-c logical_decoding_work_mem=64kB" "$PG2MD_BIN" follow --endpos "$c9p" --project-dir "$P"
assert_match "$(cat "$T_OUT")" "applied 1 transaction|streamed transactions: 1 applied" \
	"one byte past its commit LSN: the (large) transaction applied"
assert_eq "6000 1 0" "$(ddbq "$DB" "SELECT count(*), (SELECT count(*) FROM pg2md_data.tf WHERE b = 'E9'),
	(SELECT count(*) FROM pg2md_data.tf WHERE b = 'E9b') FROM pg2md_data.tk WHERE v = 'E9'" | tr '\t' ' ')" \
	"all of it, and not the transaction after it"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "E0x1 E1 openx3 E2x1 E3x1 E4x1 E5x1 E6x2 E7x1 E8x1 E9x1 E9bx1" "$(marks)" "every transaction applied once"
assert_table_equal public tk "$DB" pg2md_data tk "after the --endpos runs and --once: tk equals the source"
assert_table_equal public tf "$DB" pg2md_data tf "after the --endpos runs and --once: tf equals the source"
assert_eq "$(watermark)" "$(confirmed)" "the slot's flush position is the watermark"

t_done

#!/usr/bin/env bash
# t79_follow_edges — the edges of pgoutput's stream that pg2md follow must apply exactly
# (docs/cdc.md, issue 16):
#   - a TRUNCATE naming several followed tables (in either order, CASCADE to a referencing
#     table), alone and between other changes of one transaction: every table it names emptied,
#     in order with the changes around it, a table it does not name untouched;
#   - several changes at one LSN: COPY FROM STDIN writes one WAL record per page of rows (checked
#     by peeking the slot: several inserts share an LSN), into a keyed table and a table without a
#     key (equal rows at one LSN), with updates and deletes of the copied rows after it in the
#     same transaction, plainly and inside a large streamed transaction;
#   (--endpos in pgcopydb's three cases: t49_follow_endpos)
#   - a role that owns no table (REPLICATION, not superuser) cannot create the publication:
#     follow stops with the exact CREATE PUBLICATION to run, leaves no slot; run by the owner,
#     the next follow copies and follows the tables; a table added later: the ALTER PUBLICATION;
# Every step compares the destination with the source value by value (tables without a key as
# multisets, so a change applied twice or lost shows).
. "$(dirname "$0")/../lib/common.sh"
t_init follow_edges
require_pg2md

SLOT="t79_slot_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't79_%_$$'" >/dev/null 2>&1 || true
	orig_t_cleanup
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1 || true
}
ROLE="t79_repl_$$"

pg -c "CREATE TABLE ta (id int PRIMARY KEY, v text);
       CREATE TABLE tb (id int PRIMARY KEY, w int);
       CREATE TABLE tc (k int PRIMARY KEY, s text);
       CREATE TABLE tp (id int PRIMARY KEY, v text);
       CREATE TABLE tr (id int PRIMARY KEY, p int REFERENCES tp (id), v text);
       CREATE TABLE tf (a int, b text);
       CREATE TABLE tk (id int PRIMARY KEY, v text, n numeric(12,2));
       ALTER TABLE tf REPLICA IDENTITY FULL;
       INSERT INTO ta SELECT g, 'a' || g FROM generate_series(1, 200) g;
       INSERT INTO tb SELECT g, g FROM generate_series(1, 200) g;
       INSERT INTO tc SELECT g, 'c' || g FROM generate_series(1, 50) g;
       INSERT INTO tp SELECT g, 'p' || g FROM generate_series(1, 20) g;
       INSERT INTO tr SELECT g, g % 20 + 1, 'r' || g FROM generate_series(1, 60) g;
       INSERT INTO tf SELECT g % 10, 'f' FROM generate_series(1, 100) g;
       INSERT INTO tk SELECT g, 'k' || g, g FROM generate_series(1, 100) g;"

TABLES="ta tb tc tp tr tf tk"
P=$T_TMP/p
make_project "$P" --tables "$TABLES" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t79_pub\""
DB=$P/pg2md.duckdb

# compare_all MSG [TABLES] — the tables a step touched (default: all) equal the source
compare_all() {
	local t
	for t in ${2:-$TABLES}; do assert_table_equal public "$t" "$DB" pg2md_data "$t" "$1: $t equals the source"; done
}
watermark() { ddbq "$DB" "SELECT applied_lsn_text FROM pg2md_data._pg2md_cdc WHERE slot_name = '$SLOT'"; }
confirmed() { pgq "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"; }
lsn_le() { [ "$(pgq "SELECT '$1'::pg_lsn <= '$2'::pg_lsn")" = t ]; }
# duck_count TABLE — rows of a mirror table
duck_count() { ddbq "$DB" "SELECT count(*) FROM pg2md_data.$1"; }

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"

# --- TRUNCATE of several tables in one statement --------------------------------------------
# pgoutput sends one Truncate message naming every relation (pgcopydb applied only the first).
# Alone, with tc untouched; the second names them in the other order; between them a change.
pg -c "TRUNCATE ta, tb;"
pg -c "INSERT INTO ta VALUES (1, 'after first');"
pg -c "INSERT INTO tb VALUES (7, 7); TRUNCATE tb, ta; INSERT INTO tb VALUES (8, 8);"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "0 1 50" "$(duck_count ta) $(duck_count tb) $(duck_count tc)" \
	"TRUNCATE ta, tb then TRUNCATE tb, ta: both emptied each time, tc kept, the row after it arrived"
compare_all "TRUNCATE of two tables" "ta tb"

# --- TRUNCATE between other changes of one transaction ----------------------------------------
# rows before it in the transaction go with the table, rows after it stay; updates and deletes
# of other tables around it apply; a table without a key (multiset) too
pg -c "INSERT INTO ta SELECT g, 'x' || g FROM generate_series(1, 30) g; INSERT INTO tb SELECT g, g FROM generate_series(11, 40) g;"
pg -c "BEGIN;
       INSERT INTO ta VALUES (100, 'before');
       UPDATE tb SET w = -w WHERE id <= 20;
       UPDATE tc SET s = 'before truncate' WHERE k <= 5;
       INSERT INTO tf VALUES (1, 'f'), (1, 'f');
       TRUNCATE ta, tb, tf;
       INSERT INTO ta VALUES (101, 'after'), (102, 'after');
       INSERT INTO tf VALUES (2, 'after'), (2, 'after');
       UPDATE tc SET s = 'after truncate' WHERE k BETWEEN 4 AND 8;
       DELETE FROM tc WHERE k > 45;
       INSERT INTO tb VALUES (5, 50);
       UPDATE ta SET v = 'after, updated' WHERE id = 102;
       COMMIT;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "2 1 45 2" "$(duck_count ta) $(duck_count tb) $(duck_count tc) $(duck_count tf)" \
	"a TRUNCATE of three tables between changes of one transaction: only the rows after it stay"
compare_all "TRUNCATE inside a transaction" "ta tb tc tf"

# --- TRUNCATE … CASCADE: the referencing table is named in the message too ------------------
pg -c "BEGIN; INSERT INTO tr VALUES (1000, 1, 'gone'); TRUNCATE tp CASCADE;
       INSERT INTO tp VALUES (1, 'back'); INSERT INTO tr VALUES (1, 1, 'back'); COMMIT;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "1 1" "$(duck_count tp) $(duck_count tr)" "TRUNCATE tp CASCADE empties tp and tr, the rows after it stay"
compare_all "TRUNCATE CASCADE" "tp tr"
assert_eq "$(watermark)" "$(confirmed)" "the slot's flush position is the watermark"

# --- several changes sharing one LSN: COPY -------------------------------------------------------
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
PEEK="pg_logical_slot_peek_binary_changes('$SLOT', NULL, NULL, 'proto_version', '1', 'publication_names', 't79_pub')"
# copy_rows TABLE FROM TO — COPY text rows for tk (id, v, n) or tf (a, b: equal rows)
copy_rows() {
	case $1 in
	tk) seq "$2" "$3" | awk '{ printf "%d\tcopied %d\t%d.%02d\n", $1, $1, $1, $1 % 100 }' ;;
	tf) seq "$2" "$3" | awk '{ printf "%d\tdup\n", $1 % 3 }' ;;
	esac
}
{
	echo "BEGIN;"
	echo "COPY tk FROM STDIN;"; copy_rows tk 1001 3000; echo '\.'
	echo "COPY tf FROM STDIN;"; copy_rows tf 1 300; echo '\.'
	echo "UPDATE tk SET v = 'updated after copy' WHERE id BETWEEN 1001 AND 1010;
	      DELETE FROM tk WHERE id BETWEEN 2991 AND 3000;
	      DELETE FROM tf WHERE ctid = (SELECT min(ctid) FROM tf WHERE a = 1 AND b = 'dup');
	      COMMIT;"
	echo "COPY tk FROM STDIN;"; copy_rows tk 2995 3005; echo '\.'
} >"$T_TMP/copy1.sql"
pg -f "$T_TMP/copy1.sql" || t_bail "the COPY transaction failed"
flushed
shared=$(pgq "SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM $PEEK WHERE get_byte(data, 0) = ascii('I') GROUP BY lsn) x")
[ "${shared:-0}" -ge 100 ] && t_pass "COPY: $shared inserts share one LSN (one WAL record per page of rows)" ||
	t_fail "COPY: expected inserts sharing an LSN, the most at one LSN is ${shared:-none}"
same=$(pgq "SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM $PEEK WHERE get_byte(data, 0) = ascii('I') GROUP BY lsn, data) x")
[ "${same:-0}" -ge 2 ] && t_pass "COPY: $same equal rows of the table without a key share one LSN (identical messages)" ||
	t_fail "COPY: expected equal rows at one LSN, found at most ${same:-none}"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "$(pgq "SELECT count(*) FROM tf WHERE b = 'dup'")" "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.tf WHERE b = 'dup'")" \
	"COPY of equal rows into a table without a key: every copy arrived once"
compare_all "COPY, then updates and deletes of the copied rows" "tk tf"

# the same inside a large transaction the server streams (logical_decoding_work_mem = 64kB on
# follow's connections), copies of one key deleted and copied again in it, and a TRUNCATE of two
# tables between changes
{
	echo "BEGIN;"
	echo "COPY tk FROM STDIN;"; copy_rows tk 10001 18000; echo '\.'
	echo "COPY tf FROM STDIN;"; copy_rows tf 1 3000; echo '\.'
	echo "UPDATE tk SET n = -n WHERE id % 7 = 0; DELETE FROM tk WHERE id BETWEEN 15001 AND 15100;"
	echo "COPY tk FROM STDIN;"; copy_rows tk 15051 15100 | sed 's/copied/again/'; echo '\.'
	echo "DELETE FROM tf WHERE ctid IN (SELECT ctid FROM tf WHERE a = 2 LIMIT 500);"
	echo "INSERT INTO ta VALUES (200, 'gone'); TRUNCATE tb, ta; INSERT INTO ta VALUES (201, 'streamed, after the truncate');"
	echo "COMMIT;"
} >"$T_TMP/copy2.sql"
pg -f "$T_TMP/copy2.sql" || t_bail "the large COPY transaction failed"
assert_exit 0 env PGOPTIONS="-c logical_decoding_work_mem=64kB" "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "streamed transactions: 1 applied" "the COPY transaction came streamed"
assert_eq "$(pgq "SELECT count(*), sum(a) FROM tf")" "$(ddbq "$DB" "SELECT count(*), sum(a) FROM pg2md_data.tf")" \
	"streamed COPY of equal rows into a table without a key: every copy arrived once"
compare_all "COPY and TRUNCATE ta, tb in a streamed transaction" "tk tf ta tb"
assert_eq "$(watermark)" "$(confirmed)" "the slot's flush position is the watermark"

# --- a publication the role may not create: the statement to run ------------------------------
pg -c "CREATE ROLE $ROLE LOGIN REPLICATION PASSWORD 'role-secret-$$';
       GRANT CREATE ON DATABASE \"$T_DB\" TO $ROLE;
       CREATE TABLE ua (id int PRIMARY KEY, v text); CREATE TABLE ub (k text PRIMARY KEY, n int);
       INSERT INTO ua SELECT g, 'u' || g FROM generate_series(1, 300) g;
       INSERT INTO ub SELECT 'k' || g, g FROM generate_series(1, 100) g;
       GRANT SELECT ON ua, ub TO $ROLE;"
P2=$T_TMP/p2
make_project "$P2" --tables "ua ub" --user "$ROLE" --password "role-secret-$$" --config "[sources.pg_replication]
slot_name = \"t79_two_$$\"
pub_name = \"t79_pub2\""
assert_exit 2 "$PG2MD_BIN" follow --once --project-dir "$P2"
want='CREATE PUBLICATION "t79_pub2" FOR TABLE "public"."ua", "public"."ub" WITH (publish_via_partition_root = true);'
assert_contains "$(cat "$T_ERR")" "$want" "a role that owns neither table: stopped with the CREATE PUBLICATION to run"
assert_not_contains "$(cat "$T_OUT" "$T_ERR")" "role-secret-$$" "the message does not show the role's password"
assert_eq 0 "$(pgq "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 't79_two_$$'")" "no slot was left behind"
assert_eq 0 "$(pgq "SELECT count(*) FROM pg_publication WHERE pubname = 't79_pub2'")" "no publication either"
sql=$(grep -o 'CREATE PUBLICATION .*;' "$T_ERR" | head -n 1)
pg -c "$sql" || t_fail "the statement of the message does not run as the owner: $sql"
pg -c "INSERT INTO ua VALUES (1000, 'before the first start'); UPDATE ub SET n = -n WHERE n <= 10;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_contains "$(cat "$T_OUT")" "initial copy done" "with the publication made by the owner, follow copies the tables"
pg -c "INSERT INTO ua VALUES (1001, 'after'); DELETE FROM ua WHERE id <= 10; UPDATE ub SET n = 0 WHERE k = 'k50'; TRUNCATE ub;
       INSERT INTO ub VALUES ('again', 1);"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_table_equal public ua "$P2/pg2md.duckdb" pg2md_data ua "followed by a role that does not own it: ua equals the source"
assert_table_equal public ub "$P2/pg2md.duckdb" pg2md_data ub "followed by a role that does not own it: ub equals the source"
# a table added: the publication (the owner's) lacks it, the role may not extend it
pg -c "CREATE TABLE uc (id int PRIMARY KEY); INSERT INTO uc SELECT generate_series(1, 50); GRANT SELECT ON uc TO $ROLE;"
make_project "$P2" --tables "ua ub uc" --user "$ROLE" --password "role-secret-$$" --config "[sources.pg_replication]
slot_name = \"t79_two_$$\"
pub_name = \"t79_pub2\""
assert_exit 2 "$PG2MD_BIN" follow --once --project-dir "$P2"
want='ALTER PUBLICATION "t79_pub2" ADD TABLE "public"."uc";'
assert_contains "$(cat "$T_ERR")" "$want" "a table added, a publication the role may not extend: the ALTER PUBLICATION to run"
sql=$(grep -o 'ALTER PUBLICATION .*;' "$T_ERR" | head -n 1)
pg -c "$sql" || t_fail "the statement of the message does not run as the owner: $sql"
pg -c "INSERT INTO uc VALUES (51); UPDATE ua SET v = 'with uc' WHERE id = 1000;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_table_equal public uc "$P2/pg2md.duckdb" pg2md_data uc "the added table, after the owner extended the publication"
assert_table_equal public ua "$P2/pg2md.duckdb" pg2md_data ua "and ua still follows"

t_done

#!/usr/bin/env bash
# t63_follow_proto1 — pg2md follow with pgoutput protocol 1 and text values, forced by
# [sources.pg_replication] proto_version = 1 (what servers before PostgreSQL 14 speak; only 15
# runs here): a subset of t66 — the initial copy, inserts (multi-row), updates with an unchanged
# TOAST value and a key change chain, deletes, a delete then an insert of a key, TRUNCATE, SIGKILL
# before the DuckDB commit, --endpos — over the scalar types DuckDB reads from text, and a table
# with an array column (its texts rendered by the server; t48 covers those types).  Every step compares with the source by checksum.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_proto1
require_pg2md

SLOT="t63_slot_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't63_%_$$'" >/dev/null 2>&1 || true
	orig_t_cleanup
}

pg -c "CREATE TABLE ta (id int PRIMARY KEY, name text, big text, n numeric(12,2), ts timestamptz, j jsonb, d date,
                        ok bool, bin bytea, f float8, u uuid, c char(5), free numeric, t timestamp, tm time,
                        vc varchar(20), i2 smallint, i8 bigint);
       ALTER TABLE ta ALTER COLUMN big SET STORAGE EXTERNAL;
       CREATE TABLE tb (k bigint PRIMARY KEY, v int);
       INSERT INTO ta SELECT g, 'name ' || g, CASE WHEN g % 10 = 0 THEN repeat(md5(g::text), 200) END, g * 1.25,
                             '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour 1.5 second',
                             jsonb_build_object('g', g, 'q', 'a\"b'), DATE '2024-01-01' + g, g % 2 = 0,
                             decode(md5(g::text), 'hex'), CASE WHEN g = 7 THEN 'Infinity' ELSE g / 3.0 END,
                             md5(g::text)::uuid, 'c' || (g % 100), g * 1.5, '2024-02-29 12:00:00.123456'::timestamp,
                             '12:34:56.789'::time, 'v' || g, g % 1000, g * 100000000000
                      FROM generate_series(1, 500) g;
       INSERT INTO tb SELECT g, g * 2 FROM generate_series(1, 300) g;"

P=$T_TMP/p
make_project "$P" --tables "ta tb" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t63_pub\"
proto_version = 1"
DB=$P/pg2md.duckdb
compare_all() {
	assert_table_equal public ta "$DB" pg2md_data ta "$1: ta equals the source"
	assert_table_equal public tb "$DB" pg2md_data tb "$1: tb equals the source"
}
watermark() { ddbq "$DB" "SELECT applied_lsn_text FROM pg2md_data._pg2md_cdc WHERE slot_name = '$SLOT'"; }
lsn_le() { [ "$(pgq "SELECT '$1'::pg_lsn <= '$2'::pg_lsn")" = t ]; }

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "initial copy"

pg -c "INSERT INTO ta (id, name, big, n, ts, j, d, ok, bin, f, u, c, free, t, tm, vc, i2, i8)
         SELECT g, 'new ' || g, repeat('z', 5000), g, now(), 'null', NULL, NULL, '\\x00ff', -0.1, NULL, 'ab', 2.5,
                'infinity', '24:00:00', NULL, -1, -9223372036854775808
         FROM generate_series(501, 520) g;
       UPDATE ta SET name = 'renamed' WHERE id IN (10, 20, 30);
       UPDATE ta SET id = 1010, n = 7.5 WHERE id = 40;
       UPDATE ta SET id = 2020 WHERE id = 1010;
       DELETE FROM ta WHERE id BETWEEN 100 AND 149;
       DELETE FROM ta WHERE id = 5; INSERT INTO ta (id, name) VALUES (5, 'again');
       BEGIN; UPDATE tb SET v = v + 1 WHERE k <= 100; DELETE FROM tb WHERE k > 250; COMMIT;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "protocol 1: inserts, updates, key changes, deletes"
assert_eq "$(pgq "SELECT md5(big) FROM ta WHERE id = 2020")" \
	"$(ddbq "$DB" "SELECT md5(big) FROM pg2md_data.ta WHERE id = 2020")" \
	"an unchanged TOAST value follows its row through two key changes"

pg -c "TRUNCATE tb; INSERT INTO tb VALUES (1, 1), (2, 2); UPDATE ta SET d = NULL WHERE id < 50;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "protocol 1: truncate"

pg -c "UPDATE ta SET name = 'before-commit kill' WHERE id BETWEEN 200 AND 260; INSERT INTO tb VALUES (3, 3);"
t_run env PG2MD_FAULT=cdc:before_commit "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq 137 "$T_RC" "killed before the commit (SIGKILL)"
assert_eq 0 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.ta WHERE name = 'before-commit kill'")" \
	"no row of the killed batch is in the destination"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "protocol 1: rerun after a kill before the commit"

pg -c "INSERT INTO tb VALUES (100, 100);"
endpos=$(pgq "SELECT pg_current_wal_insert_lsn()")
pg -c "INSERT INTO tb VALUES (101, 101);"
assert_exit 0 "$PG2MD_BIN" follow --endpos "$endpos" --project-dir "$P"
assert_eq "1 0" "$(ddbq "$DB" "SELECT count(*) FILTER (WHERE k = 100), count(*) FILTER (WHERE k = 101) FROM pg2md_data.tb" | tr '\t' ' ')" \
	"--endpos: the transaction before it applied, the one after it not"
lsn_le "$(watermark)" "$endpos" && t_pass "the watermark stays at or before --endpos" || t_fail "watermark $(watermark) past $endpos"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "protocol 1: after --endpos, --once catches up"

# --- a type DuckDB cannot read from text: its texts go through the server (t48 covers them all) --
pg -c "CREATE TABLE tarr (id int PRIMARY KEY, tags text[]); INSERT INTO tarr VALUES (1, '{a,b}');"
P2=$T_TMP/p2
make_project "$P2" --tables "tarr" --config "[sources.pg_replication]
slot_name = \"t63_two_$$\"
pub_name = \"t63_pub2\"
proto_version = 1"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
pg -c "INSERT INTO tarr VALUES (2, '{\"c d\",NULL}'); UPDATE tarr SET tags = tags || 'e'::text WHERE id = 1;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_table_equal public tarr "$P2/pg2md.duckdb" pg2md_data tarr "protocol 1: an array column followed"
assert_exit 2 env SOURCES__PG_REPLICATION__PROTO_VERSION=7 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_contains "$(cat "$T_ERR")" "protocols are 1 to 4" "a protocol that does not exist is a configuration error"

t_done

#!/usr/bin/env bash
# t77_follow_server_values — pg2md follow of the columns a run reads through the server
# (docs/cdc.md "Types"): types without a binary decoder (network addresses, money, bit
# strings, xml, tsvector, ranges, geometric types, arrays of them, a domain over one) and a
# column with a data_type override.  pgoutput sends their binary form; follow has the source
# render each batch's values as the run's COPY does.  After inserts, updates (keys of such a
# type included), deletes, a streamed transaction and an unchanged TOAST value, the mirror is
# compared with the source by checksum and, column by column, with a fresh `pg2md run` of the
# same tables: a followed table looks exactly as a replace run leaves it.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_server_values
require_pg2md

SLOT="t77_slot_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't77_%_$$'" >/dev/null 2>&1 || true
	orig_t_cleanup
}

pg -c "CREATE DOMAIN host_addr AS inet CHECK (family(VALUE) IN (4, 6));
       CREATE TABLE sv (id int PRIMARY KEY, ip inet, net cidr, mac macaddr, mac8 macaddr8, m money,
                        b bit(8), vb varbit, x xml, ts tsvector, r int4range, tr tstzrange, nr numrange,
                        p point, bx box, c circle, pg polygon, ips inet[], boxes box[], h host_addr,
                        ov numeric(12,3), big text);
       ALTER TABLE sv ALTER COLUMN big SET STORAGE EXTERNAL;
       CREATE TABLE kv (k inet PRIMARY KEY, v text);
       INSERT INTO sv SELECT g, ('10.0.' || (g % 256) || '.' || (g % 7) || '/' || (24 + g % 9))::inet,
              ('192.168.' || (g % 256) || '.0/24')::cidr, ('08:00:2b:01:02:' || lpad(to_hex(g % 256), 2, '0'))::macaddr,
              ('08:00:2b:01:02:03:04:' || lpad(to_hex(g % 256), 2, '0'))::macaddr8, (g * 1.25)::money,
              (g % 256)::bit(8), repeat('10', g % 5)::varbit, ('<a n=\"' || g || '\">x &amp; y</a>')::xml,
              to_tsvector('simple', 'row ' || g || ' of the quick brown fox'), int4range(g, g + 10, '[)'),
              tstzrange('2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour', NULL),
              numrange(g / 3.0, g, '(]'), point(g / 7.0, -g), box(point(0, 0), point(g, g / 3.0)),
              circle(point(g, 1), g % 5 + 0.5), polygon(box(point(0, 0), point(1, g))),
              ARRAY['1.2.3.4'::inet, NULL, ('::' || g)::inet], ARRAY[box(point(0, 0), point(1, g))],
              ('2001:db8::' || to_hex(g))::inet, g / 8.0, CASE WHEN g % 25 = 0 THEN repeat(md5(g::text), 200) END
         FROM generate_series(1, 300) g;
       INSERT INTO sv (id) VALUES (0);
       INSERT INTO kv SELECT ('172.16.0.' || g)::inet, 'v' || g FROM generate_series(1, 50) g;" || t_bail "the source statements failed"
P=$T_TMP/p
make_project "$P" --tables "sv kv" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t77_pub\"

[sources.sql_database.sv.columns.ov]
data_type = \"double\""
DB=$P/pg2md.duckdb

# the mirror against the source, and against a replace run of the same tables
cmp_all() {
	assert_table_equal public sv "$DB" pg2md_data sv "$1: sv equals the source"
	assert_table_equal public kv "$DB" pg2md_data kv "$1: kv equals the source"
	local R=$T_TMP/run
	rm -rf "$R" && make_project "$R" --tables "sv kv" --config "[sources.sql_database.sv.columns.ov]
data_type = \"double\""
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$R"
	local t
	for t in sv kv; do
		assert_eq "$(ddbq "$R/pg2md.duckdb" "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
				FROM information_schema.columns WHERE table_schema = 'pg2md_data' AND table_name = '$t'")" \
			"$(ddbq "$DB" "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
				FROM information_schema.columns WHERE table_schema = 'pg2md_data' AND table_name = '$t'")" \
			"$1: $t has the columns and types a run gives it"
		assert_eq "0|0" "$(ddbq "$DB" "ATTACH '$R/pg2md.duckdb' AS r (READ_ONLY);
			SELECT (SELECT count(*) FROM (SELECT * FROM pg2md_data.$t EXCEPT ALL SELECT * FROM r.pg2md_data.$t)) || '|' ||
			       (SELECT count(*) FROM (SELECT * FROM r.pg2md_data.$t EXCEPT ALL SELECT * FROM pg2md_data.$t))" | tail -1)" \
			"$1: $t holds exactly the values a run writes"
	done
}

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
cmp_all "initial copy"

# --- inserts, updates, deletes; a key of a text-read type changed; NULLs -------------------------
pg -c "INSERT INTO sv (id, ip, r, ts, ips, ov) VALUES (1000, '::ffff:1.2.3.4/128', 'empty', '', '{}', 1.5),
              (1001, NULL, '(,)', 'a:1 b:2,3', ARRAY[NULL::inet], NULL);
       UPDATE sv SET ip = '2001:db8::1/64', m = m * -1, b = ~b, p = point(p[1], p[0]), nr = numrange(NULL, id)
        WHERE id % 3 = 0;
       UPDATE sv SET x = NULL, tr = 'empty', boxes = NULL, h = '10.9.8.7' WHERE id % 5 = 1;
       DELETE FROM sv WHERE id % 11 = 0;
       UPDATE kv SET k = ('172.17.0.' || host(k)::inet - '172.16.0.0'::inet)::inet WHERE v IN ('v1', 'v2', 'v3');
       DELETE FROM kv WHERE k = '172.16.0.9';
       INSERT INTO kv VALUES ('fe80::1/64', 'v6');" || t_bail "the source statements failed"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
cmp_all "inserts, updates (keys too) and deletes"

# --- an unchanged TOAST value beside them, and a streamed transaction ---------------------------
pg -c "UPDATE sv SET mac = '00:00:00:00:00:01' WHERE big IS NOT NULL;" || t_bail "the source statements failed"
pg -c "BEGIN; UPDATE sv SET c = circle(point(id, id), 1), vb = vb || B'1' WHERE id < 150;
       INSERT INTO sv (id, ip, bx, ov) SELECT g, ('10.1.' || (g % 256) || '.1')::inet, box(point(g, 0), point(0, g)), g
         FROM generate_series(2000, 6000) g;
       DELETE FROM kv WHERE v = 'v20'; COMMIT;" || t_bail "the source statements failed"
assert_exit 0 env PGOPTIONS="-c logical_decoding_work_mem=64kB" "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "streamed transactions: 1 applied" "the large transaction came streamed"
cmp_all "unchanged TOAST values and a streamed transaction"

# --- protocol 1 (text values): the texts go to the server too (t48 covers the types) ------------
P1=$T_TMP/p1
make_project "$P1" --tables "kv" --config "[sources.pg_replication]
slot_name = \"t77_one_$$\"
pub_name = \"t77_pub1\"
proto_version = 1"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P1"
pg -c "UPDATE kv SET k = '10.10.10.10/8' WHERE v = 'v4'; INSERT INTO kv VALUES ('::2', NULL);" ||
	t_bail "the source statements failed"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P1"
assert_table_equal public kv "$P1/pg2md.duckdb" pg2md_data kv "protocol 1: kv (an inet key changed) equals the source"

t_done

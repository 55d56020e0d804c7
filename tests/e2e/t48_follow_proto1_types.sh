#!/usr/bin/env bash
# t48_follow_proto1_types — pg2md follow with pgoutput protocol 1 (text values, forced by
# [sources.pg_replication] proto_version = 1) over the types DuckDB cannot read from text
# (docs/cdc.md "Protocol 1"): arrays (NULL elements, quotes, separators, two dimensions), a composite,
# interval, timetz, types a run reads as text (inet, a range, money, bit, tsvector), beside
# numeric, jsonb, a domain and an enum, and a data_type override.  Their texts go back to the
# source, which computes what a run's COPY carries; the batch is decoded by the run's decoders.
# After the initial copy, inserts, updates (a key change, an unchanged TOAST value), deletes and
# NULLs, the mirror is compared with the source and, value by value and type by type, with a
# fresh `pg2md run` of the same tables (t77's comparison, for protocol 2).
. "$(dirname "$0")/../lib/common.sh"
t_init follow_proto1_types
require_pg2md

SLOT="t48_slot_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't48_%_$$'" >/dev/null 2>&1 || true
	orig_t_cleanup
}

pg -c "CREATE TYPE t48_pair AS (a int, b text, c numeric(6,2));
       CREATE TYPE t48_mood AS ENUM ('sad', 'ok', 'happy');
       CREATE DOMAIN t48_pos AS int CHECK (VALUE > 0);
       CREATE TABLE pa (id int PRIMARY KEY, ia int[], ta text[], m2 int[][], pr t48_pair, iv interval, tz timetz,
                        n numeric(12,3), fn numeric, ip inet, r int4range, mo money, b bit(6), ts tsvector,
                        j jsonb, d t48_pos, e t48_mood, ov numeric(10,2), big text, skip text);
       ALTER TABLE pa ALTER COLUMN big SET STORAGE EXTERNAL;
       CREATE TABLE pk (k interval PRIMARY KEY, tags text[]);
       INSERT INTO pa SELECT g, ARRAY[g, NULL, -g], ARRAY['a\"q' || g, NULL, 'b,c', 'NULL', '', 'x\\y'],
              ARRAY[[g, g + 1], [g + 2, NULL]], ROW(g, 'p \"' || g || '\"', g / 7.0)::t48_pair,
              make_interval(0, g % 13, 0, g % 40, g % 24, g % 60, g / 3.0), ('12:34:56.5+0' || (g % 10))::timetz,
              g / 8.0, g / 3.0, ('10.0.' || (g % 256) || '.1/' || (16 + g % 17))::inet, int4range(g, g + 5),
              (g * 1.25)::money, (g % 64)::bit(6), to_tsvector('simple', 'the row ' || g),
              jsonb_build_object('g', g, 's', 'x\"y'), g, (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::t48_mood,
              g / 4.0, CASE WHEN g % 20 = 0 THEN repeat(md5(g::text), 200) END, 'left out'
         FROM generate_series(1, 200) g;
       INSERT INTO pa (id) VALUES (0);
       INSERT INTO pk SELECT make_interval(0, 0, 0, g), ARRAY['k' || g] FROM generate_series(1, 20) g;" ||
	t_bail "the source statements failed"

CONF="[sources.sql_database.pa]
excluded_columns = [\"skip\"]

[sources.sql_database.pa.columns.ov]
data_type = \"double\""
P=$T_TMP/p
make_project "$P" --tables "pa pk" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t48_pub\"
proto_version = 1

$CONF"
DB=$P/pg2md.duckdb

# the mirror against the source, and against a replace run of the same tables
cmp_all() {
	assert_table_equal public pk "$DB" pg2md_data pk "$1: pk equals the source"
	pg -c "CREATE OR REPLACE VIEW pa_copied AS SELECT id, ia, ta, m2, pr, iv, tz, n, fn, ip, r, mo, b, ts, j, d, e,
	              ov::float8 AS ov, big FROM pa" >/dev/null || t_bail "the view failed"
	ddbq --rw "$DB" "CREATE OR REPLACE VIEW pg2md_data.pa_copied AS SELECT * FROM pg2md_data.pa" >/dev/null
	assert_table_equal public pa_copied "$DB" pg2md_data pa_copied "$1: pa equals the source"
	local R=$T_TMP/run
	rm -rf "$R" && make_project "$R" --tables "pa pk" --config "$CONF"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$R"
	local t
	for t in pa pk; do
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

# --- inserts, updates (a key change, an unchanged TOAST value), deletes, NULLs -------------------
pg -c "INSERT INTO pa (id, ia, ta, m2, pr, iv, tz, n, fn, ip, r, mo, b, ts, j, d, e, ov, skip)
         VALUES (1000, '{}', '{NULL}', '{{1},{2}}', ROW(NULL, NULL, NULL), '-1 year -2 days +03:04:05.000006',
                 '00:00:00-14:59', -0.001, '0.5', '::1/128', 'empty', '-0.01', B'101010', '', '[]', 1, 'happy', 0, 'x'),
                (1001, ARRAY[NULL::int], ARRAY['\"}{\"', E'tab\\there'], NULL, ROW(-1, '', 0)::t48_pair,
                 '0', '24:00:00+00', NULL, '-7.25', NULL, '(,)', NULL, NULL, 'a:1 b:2,3', 'null', NULL, NULL, NULL, NULL);
       UPDATE pa SET ia = ia || 99, pr.b = 'upd', iv = -iv, tz = tz + interval '1 minute', r = int4range(id, NULL)
        WHERE id % 3 = 0;
       UPDATE pa SET mo = NULL, ta = ARRAY['new'], ip = '2001:db8::1/64' WHERE big IS NOT NULL;
       UPDATE pa SET id = id + 500, e = 'sad' WHERE id IN (7, 8);
       DELETE FROM pa WHERE id % 11 = 0;
       UPDATE pk SET k = k + interval '1 hour' WHERE k < interval '3 days';
       DELETE FROM pk WHERE k = interval '10 days';
       INSERT INTO pk VALUES ('1 mon -2 days 00:00:01', ARRAY['q\"', NULL]);" ||
	t_bail "the source statements failed"
assert_exit 0 env RUNTIME__LOG_LEVEL=DEBUG "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT" "$T_ERR")" "pgoutput protocol 1 with text values" "follow reads protocol 1's text values"
assert_eq 1 "$(grep -cE 'rendered 19 column\(s\) of [0-9]+ row\(s\) of table "pa" on the server' "$T_ERR")" \
	"the texts of pa's rows went through the server, every copied column"
cmp_all "protocol 1: inserts, updates (keys too) and deletes"

# --- a delete then an insert of a key, TRUNCATE of one table in a transaction ------------------
pg -c "BEGIN; DELETE FROM pa WHERE id = 5; INSERT INTO pa (id, pr, tz) VALUES (5, ROW(5, 'again', 5), '01:02:03+05:30');
       TRUNCATE pk; INSERT INTO pk VALUES ('00:00:00.000001', '{}'); COMMIT;" || t_bail "the source statements failed"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
cmp_all "protocol 1: delete and insert of a key, truncate"

t_done

#!/usr/bin/env bash
# t31_verify.sh — `pg2md verify`: after a run, every table of every type (t10's edge values:
# NaN/±Infinity/-0 floats, ±infinity dates and timestamps, 24:00:00, timetz offsets, intervals,
# bytea with NUL, bpchar padding, unicode, "|" and "\" in text, json/jsonb, uuid, numerics up to
# 1000 digits, NULLs everywhere) is "ok" with exit 0; one value changed, a row deleted, a row
# duplicated, two fields shifted across the separator in DuckDB, or a value changed at the
# source each make verify exit 1 naming the table; a NaN in a numeric(p,s) column (NULL in
# DECIMAL by design) is reported as a difference; --tables limits the check; --json parses;
# a where filter applies to the source; no DuckDB file: exit 1 and no file created; a wrong
# password: exit 3 without printing it; a missing table or a stray argument: exit 2.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
t_init verify
require_pg2md

unset MOTHERDUCK_TOKEN motherduck_token DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN

pg >/dev/null <<'SQL' || t_bail "cannot build the source tables"
CREATE TABLE v_bool_int (id int PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, o oid);
INSERT INTO v_bool_int VALUES (1, true, -32768, -2147483648, -9223372036854775808, 0),
  (2, false, 32767, 2147483647, 9223372036854775807, 4294967295), (3, NULL, NULL, NULL, NULL, NULL);
INSERT INTO v_bool_int SELECT 100 + g, g % 2 = 0, g, g * 7, g::int8 * 1000000007, g FROM generate_series(1, 500) g;

CREATE TABLE v_float (id int PRIMARY KEY, f4 float4, f8 float8);
INSERT INTO v_float VALUES (1, 'NaN', 'NaN'), (2, 'Infinity', 'Infinity'), (3, '-Infinity', '-Infinity'),
  (4, '-0', '-0'), (5, '0', '0'), (6, '3.4028235e38', '1e308'), (7, '1.4e-45', '5e-324'),
  (8, '-1.17549435e-38', '-2.2250738585072014e-308'), (9, '0.1', '0.1'), (10, NULL, NULL),
  (11, '16777217', '9007199254740993'), (12, '-3.4028235e38', '1.7976931348623157e308'), (13, '1e-10', '1e23');
INSERT INTO v_float SELECT 1000 + g, (sin(g) * 10 ^ (g % 70 - 35))::float4, sin(g) * 10 ^ (g % 600 - 300)
  FROM generate_series(1, 2000) g;

CREATE TABLE v_numeric (id int PRIMARY KEY, n10_2 numeric(10,2), n38_37 numeric(38,37), n38_0 numeric(38,0),
  n5_5 numeric(5,5), n_free numeric, n_wide numeric(50,10));
INSERT INTO v_numeric VALUES
  (1, 99999999.99, -9.9999999999999999999999999999999999999, 99999999999999999999999999999999999999, 0.99999, 'NaN', 1234567890123456789012345678901234567890.0123456789),
  (2, -99999999.99, 0.0000000000000000000000000000000000001, -99999999999999999999999999999999999999, -0.00001, 'Infinity', -0.0000000001),
  (3, 0, 0, 0, 0, '-Infinity', 0),
  (4, -0.01, NULL, 1, NULL, repeat('9', 1000)::numeric, NULL),
  (5, NULL, NULL, NULL, NULL, ('-0.' || repeat('0', 999) || '1')::numeric, NULL),
  (6, 1.50, NULL, NULL, 0.5, 1.50, NULL),
  (7, NULL, NULL, NULL, -0.5, -123456789012345678901234567890.123456789012345678901234567890, NULL),
  (8, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE v_text (id int PRIMARY KEY, t text, vc varchar(20), bp char(5), nm name, c1 "char");
INSERT INTO v_text VALUES (1, '', '', '', '', 'x'), (2, E'tab\there\nnewline\r\n\\\\ back', 'a,b|c"d''e', 'ab', 'abc', ' '),
  (3, 'ü€😀 Ω 中文', 'ünï', 'ééé', 'ü', 'y'), (4, NULL, NULL, NULL, NULL, NULL),
  (5, repeat('x', 1048576), repeat('é', 20), '  a', repeat('n', 63), 'z'),
  (6, '\N', '|', '\', '|\N|', '|'), (7, ' leading and trailing ', ' ', ' ', ' ', '\');

CREATE TABLE v_shift (id int PRIMARY KEY, a text, b text);
INSERT INTO v_shift VALUES (1, 'a|', 'b'), (2, 'x\', 'y');

CREATE TABLE v_date (id int PRIMARY KEY, v date);
INSERT INTO v_date VALUES (1, '2024-02-29'), (2, '1970-01-01'), (3, '1969-12-31'), (4, '0001-01-01'),
  (5, '0001-12-31 BC'), (6, '0044-03-15 BC'), (7, '4714-11-24 BC'), (8, '5874897-12-31'), (9, 'infinity'),
  (10, '-infinity'), (11, NULL), (12, '2000-01-01');

CREATE TABLE v_timestamp (id int PRIMARY KEY, ts timestamp, ts3 timestamp(3), tstz timestamptz);
INSERT INTO v_timestamp VALUES
  (1, '2024-01-01 12:34:56.789012', '2024-01-01 12:34:56.789', '2024-01-01 12:34:56.789012+05:30'),
  (2, '1970-01-01 00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00'),
  (3, '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.999', '1969-12-31 23:59:59.999999-12:30'),
  (4, '1900-01-01 00:00:00.000001', '1900-01-01 00:00:00.001', '1900-01-01 00:00:00+01'),
  (5, '0044-03-15 12:00:00 BC', '0044-03-15 12:00:00 BC', '0044-03-15 12:00:00+00 BC'),
  (6, '200000-01-01 00:00:00', '200000-01-01 00:00:00', '200000-01-01 00:00:00+00'),
  (7, 'infinity', 'infinity', 'infinity'), (8, '-infinity', '-infinity', '-infinity'), (9, NULL, NULL, NULL);

CREATE TABLE v_time (id int PRIMARY KEY, t time, ttz timetz);
INSERT INTO v_time VALUES (1, '00:00:00', '12:00:00+14'), (2, '24:00:00', '24:00:00-12:30'),
  (3, '23:59:59.999999', '00:00:00+00'), (4, '12:34:56.5', '23:59:59.999999-15:59:59'),
  (5, NULL, '12:00:00-14'), (6, '00:00:00.000001', NULL), (7, '24:00:00', '24:00:00+15:59:59');

CREATE TABLE v_interval (id int PRIMARY KEY, v interval);
INSERT INTO v_interval VALUES (1, '-14 months 3 days -01:02:03.5'), (2, '1 year 2 months -40 days 25:00:00.000001'),
  (3, '-178000000 years'), (4, '2562047788 hours'), (5, '0'), (6, '1 mon'), (7, '30 days'), (8, '24 hours'),
  (9, '-1 microsecond'), (10, NULL), (11, '-2562047788:00:54.775807'), (12, '1 mon -30 days');

CREATE TABLE v_bytea (id int PRIMARY KEY, v bytea);
INSERT INTO v_bytea VALUES (1, '\x'), (2, '\x00'), (3, '\x00ff00'), (4, '\xdeadbeef'), (5, NULL),
  (6, decode(repeat('00ff', 500000), 'hex')), (7, convert_to(E'\\\\ \t \n|', 'UTF8'));

CREATE TABLE v_uuid (id int PRIMARY KEY, v uuid);
INSERT INTO v_uuid VALUES (1, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), (2, '00000000-0000-0000-0000-000000000000'),
  (3, 'ffffffff-ffff-ffff-ffff-ffffffffffff'), (4, NULL);

CREATE TABLE v_json (id int PRIMARY KEY, j json, jb jsonb);
INSERT INTO v_json VALUES (1, '{"b": 1,  "a": [1, 2]}', '{"b": 1,  "a": [1, 2]}'), (2, '[]', '[]'),
  (3, 'null', 'null'), (4, '"\u00fc"', '{"a":"\u00fc", "a":2}'), (5, NULL, NULL),
  (6, ('[' || repeat('1,', 5000) || '1]')::json, '{"k": 1.50, "big": 123456789012345678901234567890}'),
  (7, E'{\n  "pretty": true\n}', '{"nested": {"deep": [null, true, false, "x\\ty|"]}}');

CREATE TABLE v_other (id int PRIMARY KEY, ip inet, r int4range, mac macaddr, bits bit varying(16),
  x xml, tv tsvector, pt point, m money);
INSERT INTO v_other VALUES (1, '192.168.0.1/24', '[1,5)', '08:00:2b:01:02:03', B'101', '<a>1</a>',
  'a fat cat', '(1,2)', 12.34),
  (2, '::1', 'empty', 'ff:ff:ff:ff:ff:ff', B'', '<b/>', '', '(-1.5,0)', -0.5),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE v_people (id int, name text, score float8);
INSERT INTO v_people SELECT g, 'name ' || g, g / 7.0 FROM generate_series(1, 3000) g;
INSERT INTO v_people VALUES (1, 'name 1', 1 / 7.0);   -- a duplicate row at the source too

CREATE TABLE v_filtered (id int PRIMARY KEY, v text);
INSERT INTO v_filtered SELECT g, 'v' || g FROM generate_series(1, 200) g;

CREATE TABLE v_nan (id int PRIMARY KEY, n numeric(10,2));
INSERT INTO v_nan VALUES (1, 1.5), (2, 'NaN'), (3, NULL);
ANALYZE;
SQL

TABLES="v_bool_int v_float v_numeric v_text v_shift v_date v_timestamp v_time v_interval v_bytea v_uuid v_json v_other v_people v_filtered"
P=$T_TMP/p
DUCK=$P/pg2md.duckdb
make_project "$P" --tables "$TABLES" --config '[sources.sql_database.v_filtered]
where = "id <= 150 AND v <> '"'"'v7'"'"'"'

# --- before any run ---------------------------------------------------------------------------

assert_exit 1 "$PG2MD_BIN" verify --project-dir "$P" --tables v_date
assert_contains "$(cat "$T_OUT")" 'DIFFERENT' "no DuckDB file yet: the table is DIFFERENT"
assert_contains "$(cat "$T_ERR")" 'pg2md run' "no DuckDB file yet: the hint says to run first"
if [ -e "$DUCK" ]; then t_fail "verify creates no DuckDB file"; else t_pass "verify creates no DuckDB file"; fi

# --- after a run: everything equal ------------------------------------------------------------

assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none || t_bail "the run failed"
assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"
OUT=$(cat "$T_OUT")
for t in $TABLES; do
	assert_match "$OUT" "^  ok +\"$t\" " "after a run: $t is ok"
done
assert_match "$OUT" "^total: 15 tables, 15 ok, 0 different" "the total line counts 15 equal tables"
assert_match "$OUT" "\"v_filtered\" +149 rows" "the where filter applies to the source (149 of 200 rows)"
assert_match "$OUT" "\"v_people\" +3001 rows" "duplicate source rows are counted"

# the checksum is the sum of 60-bit md5 prefixes of the rows: the same number for equal data
# loaded twice (a second replace run)
SUM1=$(grep '"v_float"' "$T_OUT" | sed 's/.*checksum \([0-9]*\).*/\1/')
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none --tables v_float
assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P" --tables v_float
assert_eq "$SUM1" "$(grep '"v_float"' "$T_OUT" | sed 's/.*checksum \([0-9]*\).*/\1/')" "the checksum is stable across runs"

# --- differences in the destination -----------------------------------------------------------

# restore — rerun the whole pipeline (replace) so the next mutation starts from equal data
restore() {
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none --tables "$1" >/dev/null
}
# expect_diff TABLE WHAT — verify exits 1, names TABLE as DIFFERENT and every other table ok
expect_diff() {
	assert_exit 1 "$PG2MD_BIN" verify --project-dir "$P"
	local out
	out=$(cat "$T_OUT")
	assert_match "$out" "^  DIFFERENT +\"$1\" +source" "detects $2: \"$1\" is DIFFERENT"
	assert_match "$out" "^total: 15 tables, 14 ok, 1 different" "detects $2: only \"$1\" differs"
	assert_contains "$(cat "$T_ERR")" "1 of 15 tables differs" "detects $2: the error line counts it"
}

ddbq --rw "$DUCK" "UPDATE pg2md_data.v_float SET f8 = 1.0000000000000002 WHERE id = 13" >/dev/null
expect_diff v_float "one double changed"
restore v_float
# (through another value: DuckDB skips an UPDATE to a value that compares equal, and '1 mon' = 30 days
# for DuckDB, hence DELETE + INSERT for the interval below)
ddbq --rw "$DUCK" "UPDATE pg2md_data.v_float SET f8 = 7 WHERE id = 4; UPDATE pg2md_data.v_float SET f8 = 0.0 WHERE id = 4" >/dev/null
expect_diff v_float "-0.0 turned into 0.0"
restore v_float
ddbq --rw "$DUCK" "UPDATE pg2md_data.v_text SET bp = bp || ' ' WHERE id = 5" >/dev/null
expect_diff v_text "bpchar pad blanks put back"
restore v_text
ddbq --rw "$DUCK" "UPDATE pg2md_data.v_text SET t = NULL WHERE id = 1" >/dev/null
expect_diff v_text "an empty string turned NULL"
restore v_text
ddbq --rw "$DUCK" "UPDATE pg2md_data.v_text SET t = '\\N' WHERE id = 4" >/dev/null
expect_diff v_text "a NULL turned into the text \\N"
restore v_text
ddbq --rw "$DUCK" "UPDATE pg2md_data.v_shift SET a = 'a', b = '|b' WHERE id = 1" >/dev/null
expect_diff v_shift "a separator moved from one field to the next"
restore v_shift
ddbq --rw "$DUCK" "UPDATE pg2md_data.v_timestamp SET tstz = tstz + INTERVAL 1 MICROSECOND WHERE id = 1" >/dev/null
expect_diff v_timestamp "a timestamptz off by one microsecond"
restore v_timestamp
ddbq --rw "$DUCK" "DELETE FROM pg2md_data.v_interval WHERE id = 6; INSERT INTO pg2md_data.v_interval VALUES (6, to_days(30))" >/dev/null
expect_diff v_interval "1 mon became 30 days"
restore v_interval
ddbq --rw "$DUCK" "UPDATE pg2md_data.v_numeric SET n_free = repeat('9', 999) || '8' WHERE id = 4" >/dev/null
expect_diff v_numeric "the last digit of a 1000-digit numeric"
restore v_numeric
ddbq --rw "$DUCK" "UPDATE pg2md_data.v_bytea SET v = ''::BLOB WHERE id = 2" >/dev/null
expect_diff v_bytea "a NUL byte removed"
restore v_bytea
ddbq --rw "$DUCK" "DELETE FROM pg2md_data.v_people WHERE id = 2500" >/dev/null
expect_diff v_people "a deleted row"
assert_match "$(cat "$T_OUT")" "\"v_people\" +source 3001 rows, checksum [0-9]+; destination 3000 rows" \
	"a deleted row: both counts are shown"
restore v_people
ddbq --rw "$DUCK" "INSERT INTO pg2md_data.v_people SELECT * FROM pg2md_data.v_people WHERE id = 77" >/dev/null
expect_diff v_people "a duplicated row"
restore v_people
ddbq --rw "$DUCK" "DELETE FROM pg2md_data.v_people WHERE id = 1 AND rowid = (SELECT min(rowid) FROM pg2md_data.v_people WHERE id = 1);
	INSERT INTO pg2md_data.v_people VALUES (2, 'name 2', 2 / 7.0)" >/dev/null
expect_diff v_people "a duplicate replaced by another duplicate (same count)"
restore v_people
ddbq --rw "$DUCK" "ALTER TABLE pg2md_data.v_uuid DROP COLUMN v" >/dev/null
expect_diff v_uuid "a missing column"
assert_contains "$(cat "$T_OUT")" 'has no column "v"' "a missing column is named"
restore v_uuid
ddbq --rw "$DUCK" "DROP TABLE pg2md_data.v_date" >/dev/null
expect_diff v_date "a missing table"
restore v_date

# --- --tables limits the check; --json -----------------------------------------------------------

ddbq --rw "$DUCK" "UPDATE pg2md_data.v_json SET jb = '{\"k\": 1.5}' WHERE id = 6" >/dev/null
assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P" --tables v_text,v_date
assert_not_contains "$(cat "$T_OUT")" "v_json" "--tables: other tables are not checked"
assert_match "$(cat "$T_OUT")" "^total: 2 tables, 2 ok" "--tables: two tables checked"
assert_exit 1 "$PG2MD_BIN" verify --project-dir "$P" --tables v_json,v_uuid --json
JSON_OK=$(python3 -c 'import json, sys
d = json.load(sys.stdin)
st = {t["table"]: t["status"] for t in d["tables"]}
assert st == {"v_json": "different", "v_uuid": "ok"}, st
assert d["equal"] is False and d["total"]["different"] == 1
t = [t for t in d["tables"] if t["table"] == "v_json"][0]
assert t["source"]["rows"] == t["destination"]["rows"] == 7
assert t["source"]["checksum"] != t["destination"]["checksum"]
print("yes")' <"$T_OUT" 2>&1)
assert_eq yes "$JSON_OK" "--json: parses, names the different table, both counts and checksums"
assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P" --tables v_uuid --json
assert_eq true "$(python3 -c 'import json, sys; print(str(json.load(sys.stdin)["equal"]).lower())' <"$T_OUT" 2>&1)" \
	"--json: equal is true when all match"
restore v_json

# --- a difference at the source -------------------------------------------------------------------

pg -c "UPDATE v_time SET ttz = '24:00:00-12:29' WHERE id = 2"
expect_diff v_time "a timetz offset changed at the source"
restore v_time
pg -c "UPDATE v_date SET v = 'infinity' WHERE id = 8"
expect_diff v_date "a date changed to infinity at the source"
restore v_date
assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"

# --- NaN in numeric(p,s): NULL in DECIMAL, and verify says so --------------------------------------

P2=$T_TMP/p2
make_project "$P2" --tables v_nan
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P2" --progress none
assert_exit 1 "$PG2MD_BIN" verify --project-dir "$P2"
assert_match "$(cat "$T_OUT")" "^  DIFFERENT +\"v_nan\" +source 3 rows.*destination 3 rows" \
	"NaN in numeric(10,2) (NULL in DECIMAL) is reported as a difference"

# --- errors ------------------------------------------------------------------------------------------

assert_exit 2 "$PG2MD_BIN" verify --project-dir "$P" --tables no_such_table
assert_contains "$(cat "$T_ERR")" '"no_such_table"' "a missing source table is named"
assert_exit 2 "$PG2MD_BIN" verify --project-dir "$P" stray
WRONG="Wr0ng-t31-$$-pass"
P3=$T_TMP/p3
make_project "$P3" --tables v_date --password "$WRONG"
assert_exit 3 "${T_CLEAN_ENV[@]}" "$PG2MD_BIN" verify --project-dir "$P3"
assert_not_contains "$(cat "$T_OUT" "$T_ERR")" "$WRONG" "a wrong password: exit 3 and the password is never printed"

t_done

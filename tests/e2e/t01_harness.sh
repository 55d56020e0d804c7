#!/usr/bin/env bash
# t01_harness.sh — self-test of the test harness itself, independent of pg2md: ddbq, the
# common.sh helpers, the canonical forms of compare.sh (the same edge values written as SQL
# literals into PostgreSQL and into a DuckDB file must compare equal, subtly different ones
# must not), and compare_table's detection of changed, missing, duplicated and extra rows.
. "$(dirname "$0")/../lib/common.sh"
t_init harness

DUCK=$T_TMP/harness.duckdb

# --- ddbq ------------------------------------------------------------------------------------

out=$(ddbq :memory: "SELECT 1 AS a, NULL AS b, 'x' || chr(9) || 'y' || chr(10) || 'z\\' AS c, '' AS d")
assert_eq $'1\t\\N\tx\\ty\\nz\\\\\t' "$out" "ddbq prints COPY text format (\\N, \\t, \\n, \\\\)"
out=$(ddbq :memory: "SELECT [1, NULL] AS l, {'k': 'v'} AS s, 1.50::DECIMAL(5,2) AS d, '24:00:00'::TIME AS t, 'nan'::DOUBLE AS n")
assert_eq $'[1, NULL]\t{\'k\': v}\t1.50\t24:00:00\tnan' "$out" "ddbq prints non-VARCHAR columns as DuckDB's text"
out=$(ddbq :memory: "CREATE TABLE t AS SELECT range AS i FROM range(3000)" "SELECT count(*), sum(i) FROM t" "SELECT i FROM t ORDER BY i DESC LIMIT 2")
assert_eq $'3000\t4498500\n2999\n2998' "$out" "ddbq runs several statements and prints each result"
out=$(printf 'SELECT 41 + 1; SELECT $$a;b$$ -- c ;\n' | ddbq :memory: -)
assert_eq $'42\na;b' "$out" "ddbq reads SQL from stdin and splits statements outside quotes and comments"
assert_exit 1 ddbq :memory: "SELECT no_such_column"
assert_contains "$(cat "$T_ERR")" "no_such_column" "ddbq reports the DuckDB error on stderr"
assert_exit 1 ddbq "$T_TMP/absent.duckdb" "SELECT 1"
assert_exit 0 ddbq --rw "$DUCK" "CREATE TABLE probe(i INTEGER); INSERT INTO probe VALUES (1)"
assert_exit 1 ddbq "$DUCK" "INSERT INTO probe VALUES (2)"
assert_contains "$(cat "$T_ERR")" "read-only" "ddbq opens files read-only by default"
assert_exit 2 ddbq
# the same strings through psql COPY and through ddbq give the same bytes
pg -c "CREATE TABLE esc(t text)" \
	-c "INSERT INTO esc VALUES (E'a\\tb\\nc\\\\d\\re\\bf\\fg' || chr(11) || 'h'), (''), (NULL), ('ü€😀 \\N')"
pgout=$(pg -c "COPY (SELECT t FROM esc ORDER BY t NULLS LAST) TO STDOUT")
ddout=$(ddbq :memory: "SELECT t FROM (VALUES ('a' || chr(9) || 'b' || chr(10) || 'c\\d' || chr(13) || 'e' || chr(8) || 'f' || chr(12) || 'g' || chr(11) || 'h'), (''), (NULL), ('ü€😀 \\N')) v(t) ORDER BY t NULLS LAST")
assert_eq "$pgout" "$ddout" "psql COPY TO STDOUT and ddbq escape values identically"

# --- common.sh --------------------------------------------------------------------------------

assert_eq "$T_DB" "$(pgq "SELECT current_database()")" "pg/pgq use the test's own database"
make_project "$T_TMP/proj" --tables "a b_c"
assert_contains "$(cat "$T_TMP/proj/.dlt/config.toml")" 'tables = ["a", "b_c"]' "make_project writes the tables list"
assert_contains "$(cat "$T_TMP/proj/.dlt/secrets.toml")" "port = $PG2MD_TEST_PORT" "make_project writes the cluster's port"
assert_contains "$(cat "$T_TMP/proj/.dlt/secrets.toml")" "database = \"$T_DB\"" "make_project writes the test database"
make_project "$T_TMP/proj2" --tables "" --no-secrets
assert_contains "$(cat "$T_TMP/proj2/.dlt/config.toml")" 'tables = []' "make_project --tables \"\" writes an empty list"
assert_eq "no" "$([ -e "$T_TMP/proj2/.dlt/secrets.toml" ] && echo yes || echo no)" "make_project --no-secrets writes no secrets.toml"
# assertion helpers count failures (run in a subshell so this test's counters stay clean)
sub=$( (T_FAIL=0; T_PASS=0; assert_eq a b x >/dev/null; assert_contains abc d >/dev/null;
	assert_not_contains abc b >/dev/null; assert_exit 0 false >/dev/null; assert_eq a a >/dev/null
	echo "$T_FAIL/$T_PASS") )
assert_eq "4/1" "$sub" "failing assertions are counted as failures, passing ones as passes"
sub=$( (T_FAIL=0; T_TODO="later"; assert_eq a b x >/dev/null; echo "$T_FAIL/$T_TODO_N") )
assert_eq "0/1" "$sub" "assertions under T_TODO are not counted as failures"

# --- canonical forms: the same values on both sides compare equal -----------------------------

pg <<'SQL'
CREATE TABLE c_bool (id int, v bool);
INSERT INTO c_bool VALUES (1, true), (2, false), (3, NULL);

CREATE TABLE c_int (id int, a int2, b int4, c int8, d oid);
INSERT INTO c_int VALUES (1, -32768, -2147483648, -9223372036854775808, 0),
  (2, 32767, 2147483647, 9223372036854775807, 4294967295), (3, 0, 0, 0, NULL), (4, NULL, NULL, NULL, 1);

CREATE TABLE c_float8 (id int, v float8);
INSERT INTO c_float8 VALUES (1, 'NaN'), (2, 'Infinity'), (3, '-Infinity'), (4, '-0'), (5, '0'),
  (6, '1e308'), (7, '1.7976931348623157e308'), (8, '5e-324'), (9, '-5e-324'), (10, '2.2250738585072014e-308'),
  (11, '2.225073858507201e-308'), (12, '0.1'), (13, '1e15'), (14, '1e23'), (15, '9007199254740993'),
  (16, '-1.5e-300'), (17, '3.141592653589793'), (18, '1'), (19, '0.30000000000000004'), (20, NULL),
  (21, '-1e-320'), (22, '27264664759178352'), (23, '-1.7976931348623157e308'), (24, '0.5'), (25, '2');

CREATE TABLE c_float4 (id int, v float4);
INSERT INTO c_float4 VALUES (1, 'NaN'), (2, 'Infinity'), (3, '-Infinity'), (4, '-0'), (5, '3.4028235e38'),
  (6, '1.4e-45'), (7, '1.17549435e-38'), (8, '0.1'), (9, '16777217'), (10, NULL), (11, '-2.5'), (12, '-3.4028235e38');

CREATE TABLE c_numeric (id int, p10s2 numeric(10,2), p38s37 numeric(38,37), p5s5 numeric(5,5),
  p38s0 numeric(38,0), p18s6 numeric(18,6), free numeric);
INSERT INTO c_numeric VALUES
  (1, 1.5, -9.9999999999999999999999999999999999999, 0.00123, 99999999999999999999999999999999999999, -123456789012.345678, 'NaN'),
  (2, -0.01, 0.0000000000000000000000000000000000001, -0.00123, -99999999999999999999999999999999999999, 0, 'Infinity'),
  (3, 0, 0, 0, 0, 0.000001, '-Infinity'),
  (4, 99999999.99, NULL, NULL, NULL, NULL, repeat('9', 1000)::numeric),
  (5, NULL, NULL, NULL, NULL, NULL, ('-0.' || repeat('0', 999) || '1')::numeric),
  (6, NULL, NULL, NULL, NULL, NULL, 1.50),
  (7, NULL, NULL, NULL, NULL, NULL, 0),
  (8, NULL, NULL, NULL, NULL, NULL, NULL),
  (9, NULL, NULL, NULL, NULL, NULL, -123456789012345678901234567890.123456789012345678901234567890);

CREATE TABLE c_text (id int, t text, vc varchar(20), bp char(5), nm name, c1 "char");
INSERT INTO c_text VALUES
  (1, '', '', 'a', 'abc', 'x'),
  (2, E'tab\there', E'line\nbreak\r\n', 'ab', 'ünï', 'y'),
  (3, 'back\slash \N', 'a,b|c"d''e', '', 'x', NULL),
  (4, 'ü€😀 Ω', '', NULL, NULL, NULL),
  (5, repeat('x', 1048576), repeat('é', 20), 'ééééé', repeat('n', 63), 'z'),
  (6, NULL, NULL, NULL, NULL, NULL),
  (7, repeat('é', 150), 'x', '  a', '', ' ');

CREATE TABLE c_date (id int, v date);
INSERT INTO c_date VALUES (1, '2024-02-29'), (2, '1970-01-01'), (3, '1969-12-31'), (4, '0001-01-01'),
  (5, '0001-12-31 BC'), (6, '0044-03-15 BC'), (7, '4714-11-24 BC'), (8, '5874897-12-31'),
  (9, 'infinity'), (10, '-infinity'), (11, NULL), (12, '2000-01-01');

CREATE TABLE c_timestamp (id int, v timestamp);
INSERT INTO c_timestamp VALUES (1, '2024-01-01 12:34:56.789012'), (2, '1970-01-01 00:00:00'),
  (3, '1969-12-31 23:59:59.999999'), (4, '1900-01-01 00:00:00.000001'), (5, '0044-03-15 12:00:00 BC'),
  (6, '4713-01-01 00:00:00 BC'), (7, '200000-01-01 00:00:00'), (8, '294246-12-31 23:59:59.999999'),
  (9, 'infinity'), (10, '-infinity'), (11, NULL);

CREATE TABLE c_timestamptz (id int, v timestamptz);
INSERT INTO c_timestamptz VALUES (1, '2024-01-01 12:34:56.789012+05:30'), (2, '2024-06-30 23:59:59.999999-12:30'),
  (3, '1969-12-31 23:59:59.999999+00'), (4, '1900-01-01 00:00:00+01'), (5, '0044-03-15 12:00:00+00 BC'),
  (6, '200000-01-01 00:00:00+00'), (7, 'infinity'), (8, '-infinity'), (9, NULL);

CREATE TABLE c_time (id int, v time, tz timetz);
INSERT INTO c_time VALUES (1, '00:00:00', '12:00:00+14'), (2, '24:00:00', '24:00:00-12:30'),
  (3, '23:59:59.999999', '00:00:00+00'), (4, '12:34:56.5', '23:59:59.999999-15:59:59'),
  (5, NULL, '12:00:00-14'), (6, '00:00:00.000001', NULL);

CREATE TABLE c_interval (id int, v interval);
INSERT INTO c_interval VALUES (1, '-14 months 3 days -01:02:03.5'), (2, '1 year 2 months -40 days 25:00:00.000001'),
  (3, '-178000000 years'), (4, '2562047788 hours'), (5, '0'), (6, '1 mon'), (7, '30 days'), (8, '24 hours'),
  (9, '-1 microsecond'), (10, NULL), (11, '-2562047788:00:54.775807');

CREATE TABLE c_bytea (id int, v bytea);
INSERT INTO c_bytea VALUES (1, '\x'), (2, '\x00'), (3, '\x00ff00'), (4, '\xdeadbeef'),
  (5, decode(repeat('00ff', 100000), 'hex')), (6, NULL);

CREATE TABLE c_uuid (id int, v uuid);
INSERT INTO c_uuid VALUES (1, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), (2, '00000000-0000-0000-0000-000000000000'),
  (3, 'ffffffff-ffff-ffff-ffff-ffffffffffff'), (4, NULL);

CREATE TABLE c_json (id int, j json, jb jsonb);
INSERT INTO c_json VALUES (1, '{"b": 1,  "a": [1, 2]}', '{"b": 1,  "a": [1, 2]}'), (2, '[]', '[]'),
  (3, 'null', 'null'), (4, '"\u00fc"', '{"a":"\u00fc", "a":2}'), (5, NULL, NULL),
  (6, ('[' || repeat('1,', 500) || '1]')::json, '{"k": 1.50}');

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE TABLE c_other (id int, ip inet, r int4range, m money, b bit varying(8), x xml, ts tsvector,
  p point, e mood, d posint, ai int4[], at text[], af float8[], atxt int4[]);
INSERT INTO c_other VALUES
  (1, '192.168.0.1/24', '[1,5)', 12.34, B'101', '<a>1</a>', 'a fat cat', '(1,2)', 'happy', 7,
   '{1,NULL,3}', '{"a,b","c\\d",NULL,""}', '{NaN,-0,1e308,5e-324}', '{1,2}'),
  (2, '::1', 'empty', -0.5, B'', '<b/>', '', '(-1.5,0)', 'sad', 1, '{}', '{}', '{}', '{}'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SQL

ddbq --rw "$DUCK" - <<'SQL' || t_bail "cannot build the DuckDB side of the canonical checks"
CREATE SCHEMA d;
CREATE TABLE d.c_bool (id INTEGER, v BOOLEAN);
INSERT INTO d.c_bool VALUES (3, NULL), (2, false), (1, true);

CREATE TABLE d.c_int (id INTEGER, a SMALLINT, b INTEGER, c BIGINT, d BIGINT);
INSERT INTO d.c_int VALUES (1, -32768, -2147483648, -9223372036854775808, 0),
  (2, 32767, 2147483647, 9223372036854775807, 4294967295), (3, 0, 0, 0, NULL), (4, NULL, NULL, NULL, 1);

CREATE TABLE d.c_float8 (id INTEGER, v DOUBLE);
INSERT INTO d.c_float8 VALUES (1, 'nan'), (2, 'inf'), (3, '-inf'), (4, '-0.0'), (5, '0'),
  (6, '1e308'), (7, '1.7976931348623157e308'), (8, '5e-324'), (9, '-5e-324'), (10, '2.2250738585072014e-308'),
  (11, '2.225073858507201e-308'), (12, '0.1'), (13, '1e15'), (14, '1e23'), (15, '9007199254740993'),
  (16, '-1.5e-300'), (17, '3.141592653589793'), (18, '1'), (19, '0.30000000000000004'), (20, NULL),
  (21, '-1e-320'), (22, '27264664759178352'), (23, '-1.7976931348623157e308'), (24, '0.5'), (25, '2');

CREATE TABLE d.c_float4 (id INTEGER, v FLOAT);
INSERT INTO d.c_float4 VALUES (1, 'nan'), (2, 'inf'), (3, '-inf'), (4, '-0.0'), (5, '3.4028235e38'),
  (6, '1.4e-45'), (7, '1.17549435e-38'), (8, '0.1'), (9, '16777217'), (10, NULL), (11, '-2.5'), (12, '-3.4028235e38');

CREATE TABLE d.c_numeric (id INTEGER, p10s2 DECIMAL(10,2), p38s37 DECIMAL(38,37), p5s5 DECIMAL(5,5),
  p38s0 DECIMAL(38,0), p18s6 DECIMAL(18,6), free VARCHAR);
INSERT INTO d.c_numeric VALUES
  (1, 1.5, -9.9999999999999999999999999999999999999, 0.00123, 99999999999999999999999999999999999999, -123456789012.345678, 'NaN'),
  (2, -0.01, 0.0000000000000000000000000000000000001, -0.00123, -99999999999999999999999999999999999999, 0, 'Infinity'),
  (3, 0, 0, 0, 0, 0.000001, '-Infinity'),
  (4, 99999999.99, NULL, NULL, NULL, NULL, repeat('9', 1000)),
  (5, NULL, NULL, NULL, NULL, NULL, '-0.' || repeat('0', 999) || '1'),
  (6, NULL, NULL, NULL, NULL, NULL, '1.50'),
  (7, NULL, NULL, NULL, NULL, NULL, '0'),
  (8, NULL, NULL, NULL, NULL, NULL, NULL),
  (9, NULL, NULL, NULL, NULL, NULL, '-123456789012345678901234567890.123456789012345678901234567890');

CREATE TABLE d.c_text (id INTEGER, t VARCHAR, vc VARCHAR, bp VARCHAR, nm VARCHAR, c1 VARCHAR);
INSERT INTO d.c_text VALUES
  (1, '', '', 'a    ', 'abc', 'x'),
  (2, 'tab' || chr(9) || 'here', 'line' || chr(10) || 'break' || chr(13) || chr(10), 'ab   ', 'ünï', 'y'),
  (3, 'back\slash \N', 'a,b|c"d''e', '     ', 'x', NULL),
  (4, 'ü€😀 Ω', '', NULL, NULL, NULL),
  (5, repeat('x', 1048576), repeat('é', 20), 'ééééé', repeat('n', 63), 'z'),
  (6, NULL, NULL, NULL, NULL, NULL),
  (7, repeat('é', 150), 'x', '  a  ', '', ' ');

CREATE TABLE d.c_date (id INTEGER, v DATE);
INSERT INTO d.c_date VALUES (1, '2024-02-29'), (2, '1970-01-01'), (3, '1969-12-31'), (4, '0001-01-01'),
  (5, '0001-12-31 (BC)'), (6, '0044-03-15 (BC)'), (7, '4714-11-24 (BC)'), (8, '5874897-12-31'),
  (9, 'infinity'), (10, '-infinity'), (11, NULL), (12, '2000-01-01');

CREATE TABLE d.c_timestamp (id INTEGER, v TIMESTAMP);
INSERT INTO d.c_timestamp VALUES (1, '2024-01-01 12:34:56.789012'), (2, '1970-01-01 00:00:00'),
  (3, '1969-12-31 23:59:59.999999'), (4, '1900-01-01 00:00:00.000001'), (5, '0044-03-15 (BC) 12:00:00'),
  (6, '4713-01-01 (BC) 00:00:00'), (7, '200000-01-01 00:00:00'), (8, '294246-12-31 23:59:59.999999'),
  (9, 'infinity'), (10, '-infinity'), (11, NULL);

CREATE TABLE d.c_timestamptz (id INTEGER, v TIMESTAMPTZ);
INSERT INTO d.c_timestamptz VALUES (1, '2024-01-01 12:34:56.789012+05:30'), (2, '2024-06-30 23:59:59.999999-12:30'),
  (3, '1969-12-31 23:59:59.999999+00'), (4, '1900-01-01 00:00:00+01'), (5, '0044-03-15 (BC) 12:00:00+00'),
  (6, '200000-01-01 00:00:00+00'), (7, 'infinity'), (8, '-infinity'), (9, NULL);

CREATE TABLE d.c_time (id INTEGER, v TIME, tz TIMETZ);
INSERT INTO d.c_time VALUES (1, '00:00:00', '12:00:00+14'), (2, '24:00:00', '24:00:00-12:30'),
  (3, '23:59:59.999999', '00:00:00+00'), (4, '12:34:56.5', '23:59:59.999999-15:59:59'),
  (5, NULL, '12:00:00-14'), (6, '00:00:00.000001', NULL);

CREATE TABLE d.c_interval (id INTEGER, v INTERVAL);
INSERT INTO d.c_interval VALUES (1, to_months(-14) + to_days(3) + to_microseconds(-3723500000)),
  (2, to_months(14) + to_days(-40) + to_microseconds(90000000001)), (3, to_months(-2136000000)),
  (4, to_microseconds(9223372036800000000)), (5, to_microseconds(0)), (6, to_months(1)), (7, to_days(30)),
  (8, to_hours(24)), (9, to_microseconds(-1)), (10, NULL), (11, to_microseconds(-9223372036854775807));

CREATE TABLE d.c_bytea (id INTEGER, v BLOB);
INSERT INTO d.c_bytea VALUES (1, ''::BLOB), (2, '\x00'::BLOB), (3, '\x00\xFF\x00'::BLOB), (4, '\xDE\xAD\xBE\xEF'::BLOB),
  (5, unhex(repeat('00ff', 100000))), (6, NULL);

CREATE TABLE d.c_uuid (id INTEGER, v UUID);
INSERT INTO d.c_uuid VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), (2, '00000000-0000-0000-0000-000000000000'),
  (3, 'ffffffff-ffff-ffff-ffff-ffffffffffff'), (4, NULL);

CREATE TABLE d.c_json (id INTEGER, j JSON, jb JSON);
INSERT INTO d.c_json VALUES (1, '{"b": 1,  "a": [1, 2]}', '{"a": [1, 2], "b": 1}'), (2, '[]', '[]'),
  (3, 'null', 'null'), (4, '"\u00fc"', '{"a": 2}'), (5, NULL, NULL),
  (6, '[' || repeat('1,', 500) || '1]', '{"k": 1.50}');

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE d.c_other (id INTEGER, ip VARCHAR, r VARCHAR, m VARCHAR, b VARCHAR, x VARCHAR, ts VARCHAR,
  p VARCHAR, e mood, d INTEGER, ai INTEGER[], "at" VARCHAR[], af DOUBLE[], atxt VARCHAR);
INSERT INTO d.c_other VALUES
  (1, '192.168.0.1/24', '[1,5)', '$12.34', '101', '<a>1</a>', '''a'' ''cat'' ''fat''', '(1,2)', 'happy', 7,
   [1, NULL, 3], ['a,b', 'c\d', NULL, ''], ['nan'::DOUBLE, '-0.0'::DOUBLE, 1e308, 5e-324], '{1,2}'),
  (2, '::1', 'empty', '-$0.50', '', '<b/>', '', '(-1.5,0)', 'sad', 1, [], [], [], '{}'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SQL

for t in c_bool c_int c_float8 c_float4 c_numeric c_text c_date c_timestamp c_timestamptz c_time c_interval \
	c_bytea c_uuid c_json c_other; do
	# d.c_text holds bpchar padded: the form of char_padding = "keep"
	CMP_CHAR_PADDING=keep assert_table_equal public "$t" "$DUCK" d "$t" "canonical forms agree: $t edge values"
done
# the default form (char_padding = "trim"): bpchar as value::text, pad blanks gone
pg -c "CREATE TABLE c_bp AS SELECT id, bp FROM c_text"
ddbq --rw "$DUCK" "CREATE TABLE d.c_bp AS SELECT id, rtrim(bp, ' ') AS bp FROM d.c_text" >/dev/null
assert_table_equal public c_bp "$DUCK" d c_bp "canonical forms agree: bpchar without its pad blanks"

# --- canonical forms: subtly different values compare different --------------------------------

# differ NAME PGTYPE PGVALUE DUCKTYPE DUCKVALUE — a one-row table on each side must differ
differ() {
	pg -c "CREATE TABLE n_$1 (v $2)" -c "INSERT INTO n_$1 VALUES ($3)"
	ddbq --rw "$DUCK" "CREATE TABLE d.n_$1 (v $4); INSERT INTO d.n_$1 VALUES ($5)"
	assert_tables_differ public "n_$1" "$DUCK" d "n_$1" "detects: $1"
}
# same NAME PGTYPE PGVALUE DUCKTYPE DUCKVALUE — equal values written differently must be equal
same() {
	pg -c "CREATE TABLE s_$1 (v $2)" -c "INSERT INTO s_$1 VALUES ($3)"
	ddbq --rw "$DUCK" "CREATE TABLE d.s_$1 (v $4); INSERT INTO d.s_$1 VALUES ($5)"
	assert_table_equal public "s_$1" "$DUCK" d "s_$1" "accepts: $1"
}
differ f8_negzero float8 "'-0'" DOUBLE "0.0"
differ f8_ulp float8 "'1'" DOUBLE "1.0000000000000002"
differ f8_subnormal float8 "'5e-324'" DOUBLE "1e-323"
differ f8_nan_null float8 "'NaN'" DOUBLE "NULL"
differ f8_inf_max float8 "'Infinity'" DOUBLE "1.7976931348623157e308"
differ f4_as_double float4 "'0.1'" DOUBLE "0.1"
differ num_scale "numeric(10,2)" "1.50" "DECIMAL(10,3)" "1.500"
differ num_free_scale numeric "1.50" VARCHAR "'1.5'"
differ num_last_digit numeric "repeat('9', 1000)::numeric" VARCHAR "repeat('9', 999) || '8'"
differ text_space text "'a'" VARCHAR "'a '"
differ text_empty_null text "''" VARCHAR "NULL"
differ text_backslash_n text "'\\N'" VARCHAR "NULL"
differ text_long text "repeat('x', 1048576)" VARCHAR "repeat('x', 1048575) || 'y'"
CMP_CHAR_PADDING=keep differ bpchar_trimmed "char(5)" "'ab'" VARCHAR "'ab'"
differ bpchar_padded "char(5)" "'ab'" VARCHAR "'ab   '"
# a plain numeric held as a measured DECIMAL: the value compared, not each value's own scale
same num_measured numeric "1.5" "DECIMAL(18,3)" "1.500"
differ num_measured_value numeric "1.5" "DECIMAL(18,3)" "1.501"
differ date_day date "'2024-01-01'" DATE "'2024-01-02'"
differ date_inf date "'infinity'" DATE "'5874897-12-31'"
differ date_bc date "'0044-03-15 BC'" DATE "'0044-03-15'"
differ ts_micro timestamp "'1969-12-31 23:59:59.999999'" TIMESTAMP "'1970-01-01 00:00:00'"
differ ts_inf timestamp "'-infinity'" TIMESTAMP "'290309-12-22 (BC) 00:00:00'"
differ tstz_micro timestamptz "'2024-01-01 12:00:00+00'" TIMESTAMPTZ "'2024-01-01 12:00:00.000001+00'"
same tstz_zone timestamptz "'2024-01-01 12:00:00+00'" TIMESTAMPTZ "'2024-01-01 13:00:00+01'"
differ time_24 time "'24:00:00'" TIME "'00:00:00'"
differ timetz_offset timetz "'12:00:00+01'" TIMETZ "'11:00:00+00'"
differ interval_month_days interval "'1 mon'" INTERVAL "to_days(30)"
differ interval_day_hours interval "'1 day'" INTERVAL "to_hours(24)"
differ interval_sign interval "'-1 day'" INTERVAL "to_days(1)"
differ bytea_nul bytea "'\\x00'" BLOB "''::BLOB"
differ bytea_long bytea "decode(repeat('00ff', 100000), 'hex')" BLOB "unhex(repeat('00ff', 99999) || '00fe')"
differ json_space json "'{\"a\":1}'" JSON "'{\"a\": 1}'"
differ uuid_digit uuid "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'" UUID "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'"
differ bool_null bool "false" BOOLEAN "NULL"
differ array_null_elem "int4[]" "'{1,NULL}'" "INTEGER[]" "[1, 0]"
differ array_empty_null "int4[]" "'{}'" "INTEGER[]" "NULL"
differ array_text_comma "text[]" "'{\"a,b\"}'" "VARCHAR[]" "['a', 'b']"

# --- compare_table: whole-table detection ----------------------------------------------------

pg <<'SQL'
CREATE TABLE people (id int, name text, born date, score float8, tags text[], photo bytea);
INSERT INTO people SELECT g, 'name ' || g, DATE '1950-01-01' + g * 7, g / 7.0, ARRAY['t' || (g % 5)],
  decode(lpad(to_hex(g), 8, '0'), 'hex') FROM generate_series(1, 5000) g;
INSERT INTO people VALUES (5001, 'twin', '2000-01-01', 1.5, '{}', '\x'), (5002, 'twin', '2000-01-01', 1.5, '{}', '\x'),
  (5003, NULL, NULL, NULL, NULL, NULL);
UPDATE people SET id = 5001 WHERE id = 5002;
SQL
ddbq --rw "$DUCK" - <<'SQL' || t_bail "cannot build the DuckDB people table"
CREATE TABLE d.people (id INTEGER, name VARCHAR, born DATE, score DOUBLE, tags VARCHAR[], photo BLOB, _dlt_load_id VARCHAR);
INSERT INTO d.people SELECT g, 'name ' || g, DATE '1950-01-01' + CAST(g * 7 AS INTEGER), g / 7.0, ['t' || (g % 5)],
  unhex(lpad(lower(hex(g)), 8, '0')), 'load1' FROM range(5000, 0, -1) t(g);
INSERT INTO d.people VALUES (5001, 'twin', '2000-01-01', 1.5, [], ''::BLOB, 'l'), (5001, 'twin', '2000-01-01', 1.5, [], ''::BLOB, 'l'),
  (5003, NULL, NULL, NULL, NULL, NULL, 'l');
CREATE TABLE d.people_base AS SELECT * FROM d.people;
SQL
assert_table_equal public people "$DUCK" d people "identical data in another row order (duplicates, NULLs, _dlt_ column ignored)"
mutate() {
	ddbq --rw "$DUCK" "CREATE OR REPLACE TABLE d.people AS SELECT * FROM d.people_base; $1"
	assert_tables_differ public people "$DUCK" d people "detects: $2"
}
mutate "UPDATE d.people SET score = 1.5000000000000002 WHERE id = 5001 AND rowid = (SELECT min(rowid) FROM d.people WHERE id = 5001)" "one float off by one ulp in one of two duplicate rows"
mutate "UPDATE d.people SET name = 'name 4243' WHERE id = 4242" "a changed string"
mutate "UPDATE d.people SET name = NULL WHERE id = 17" "a value turned NULL"
mutate "DELETE FROM d.people WHERE id = 2500" "a missing row"
mutate "INSERT INTO d.people SELECT * FROM d.people WHERE id = 77" "a duplicated row"
mutate "DELETE FROM d.people WHERE id = 5001 AND rowid = (SELECT min(rowid) FROM d.people WHERE id = 5001)" "a missing duplicate"
mutate "INSERT INTO d.people VALUES (9999, 'extra', NULL, NULL, NULL, NULL, 'l')" "an extra row"
mutate "UPDATE d.people SET born = CASE id WHEN 10 THEN DATE '1950-01-01' + 140 ELSE DATE '1950-01-01' + 70 END WHERE id IN (10, 20)" "values swapped between rows (same column multiset)"
mutate "UPDATE d.people SET tags = ['t1', 't2'] WHERE id = 1" "a changed array"
mutate "UPDATE d.people SET photo = unhex('00000003') WHERE id = 4" "a changed blob"
mutate "ALTER TABLE d.people DROP COLUMN score" "a missing column"
mutate "ALTER TABLE d.people ADD COLUMN surprise INTEGER" "an unexpected extra column"
mutate "DELETE FROM d.people" "an empty destination table"

# --- random floats: values created in PostgreSQL, carried to DuckDB as text ---------------------

pg <<'SQL'
SELECT setseed(0.42);
CREATE TABLE rnd (id int, d float8, f float4);
INSERT INTO rnd SELECT g,
  (floor(random() * 9007199254740992)::int8::float8 / 4503599627370496.0::float8
     * power(2::float8, (floor(random() * 2090) - 1067)::int)) * (CASE WHEN random() < 0.5 THEN -1 ELSE 1 END),
  (random() * 1e6 - 5e5)::float4 * power(10::float4, (floor(random() * 60) - 30)::int)::float4
FROM generate_series(1, 20000) g;
SQL
pg -c "SET extra_float_digits = 1" -c "COPY rnd TO STDOUT" >"$T_TMP/rnd.tsv"
ddbq --rw "$DUCK" "CREATE TABLE d.rnd AS SELECT CAST(column0 AS INTEGER) AS id, CAST(column1 AS DOUBLE) AS d,
	CAST(column2 AS FLOAT) AS f FROM read_csv('$T_TMP/rnd.tsv', delim = '\t', header = false, quote = '', escape = '',
	columns = {'column0': 'VARCHAR', 'column1': 'VARCHAR', 'column2': 'VARCHAR'})"
assert_table_equal public rnd "$DUCK" d rnd "20000 random doubles/floats over the whole exponent range agree bit for bit"
ddbq --rw "$DUCK" "UPDATE d.rnd SET d = d * (1 + 2.220446049250313e-16) WHERE id = 777 AND d IS NOT NULL AND abs(d) > 1e-300"
assert_tables_differ public rnd "$DUCK" d rnd "detects: one random double changed by one ulp"

t_done

#!/usr/bin/env bash
# capture_seeds.sh — capture the COPY streams make_corpus.py turns into fuzz_copydec seeds, from a
# running PostgreSQL (PG* environment of tests/lib/cluster.sh), into /tmp/seeds:
#   bash tests/fuzz/capture_seeds.sh && python3 tests/fuzz/make_corpus.py /tmp/seeds
# name  SQL (the column types are make_corpus.py SEEDS[name])
set -e
mkdir -p /tmp/seeds
q() { psql -X -q -v ON_ERROR_STOP=1 -d "${PGDATABASE:-postgres}" -c "COPY ($2) TO STDOUT (FORMAT binary)" >"/tmp/seeds/$1.copy"; }
q bool        "SELECT * FROM (VALUES (true),(false),(NULL::bool)) t"
q ints        "SELECT * FROM (VALUES (1::int2, -2::int4, 9223372036854775807::int8, 4294967295::oid), ((-32768)::int2, (-2147483648)::int4, (-9223372036854775808)::int8, 0::oid), (NULL, NULL, NULL, NULL)) t"
q floats      "SELECT * FROM (VALUES (1.5::float4, 'NaN'::float8),('Infinity','-Infinity'),('-0', 1e308),(NULL,NULL)) t"
q dec4_2      "SELECT * FROM (VALUES (99.99::numeric(4,2)),(-99.99),(0),(0.01),('NaN'),(NULL)) t"
q dec7_2      "SELECT * FROM (VALUES (12345.67::numeric(7,2)),(-99999.99),(0.5),('NaN')) t"
q dec9_9      "SELECT * FROM (VALUES (0.999999999::numeric(9,9)),(-0.000000001),(0)) t"
q dec18_6     "SELECT * FROM (VALUES (999999999999.999999::numeric(18,6)),(-1.000001),(123456.5)) t"
q dec19_0     "SELECT * FROM (VALUES (9999999999999999999::numeric(19,0)),(-1),(10000)) t"
q dec38_0     "SELECT * FROM (VALUES (99999999999999999999999999999999999999::numeric(38,0)),(-1e37),(0)) t"
q dec38_18    "SELECT * FROM (VALUES (99999999999999999999.999999999999999999::numeric(38,18)),(-0.000000000000000001),('Infinity'::numeric)) t"
q dec38_38    "SELECT * FROM (VALUES (0.99999999999999999999999999999999999999::numeric(38,38)),(-0.1)) t"
q numtext     "SELECT * FROM (VALUES (-0.000001::numeric),('Infinity'),('-Infinity'),('NaN'),(1e1000),(1e-1000),(123456789012345678901234567890.123456789),(0),(0.0000)) t"
q text        "SELECT * FROM (VALUES ('hé'::text, 'x'::\"char\", '\\x00ff'::bytea),('', '', ''::bytea),(repeat('ab',300), NULL, '\\x00'::bytea)) t"
q dates       "SELECT * FROM (VALUES ('2000-01-01'::date, '24:00:00'::time, '12:00:00+05:30'::timetz),('-infinity', '00:00:00', '23:59:59.999999-15:59'),('infinity','12:34:56.789', '00:00:00+15:59'),('5874897-12-31', NULL, NULL),('4713-01-01 BC', NULL, NULL)) t"
q timestamps  "SELECT * FROM (VALUES ('infinity'::timestamp, '2024-02-29 12:34:56.789012Z'::timestamptz),('-infinity','-infinity'),('1900-01-01 00:00:00.000001', '294276-12-31 23:59:59Z'),('4713-01-01 00:00 BC', NULL)) t"
q intervals   "SELECT * FROM (VALUES ('1 mon -2 days 00:00:00.000003'::interval),('-178000000 years'),('178000000 years'),('2147483647 days 2562047788 hours'),(NULL)) t"
q uuidjson    "SELECT * FROM (VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, '{\"a\": 1}'::jsonb),('00000000-0000-0000-0000-000000000000', '[]'),('ffffffff-ffff-ffff-ffff-ffffffffffff', '\"\\u00e9\"'),(NULL, 'null')) t"
q empty       "SELECT 1::int4 WHERE false"
# nested types (fuzz_copydec col_types 29..38); the composite types are created in the database
psql -X -q -d "${PGDATABASE:-postgres}" <<'SQL'
DROP TYPE IF EXISTS fz_outer, fz_rec, fz_inner, mood CASCADE;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE fz_rec AS (x int4, y text, z interval, w timetz);
CREATE TYPE fz_inner AS (d date, u uuid);
CREATE TYPE fz_outer AS (a int8[], e mood, s fz_inner);
SQL
q arrays      "SELECT * FROM (VALUES ('{1,NULL,3}'::int4[], '{{a,b},{c,NULL}}'::text[][], '{1.25,-9999999.99}'::numeric(9,2)[]), ('{}', '{}', '{}'), (NULL, '{{x}}', '{NULL}'), ('[0:2]={7,8,9}', '{{x,é}}', '{0}')) t"
q arrays2     "SELECT * FROM (VALUES ('{1 mon -2 days,-178000000 years}'::interval[], '{12:00:00+05:30,24:00:00-15:59}'::timetz[]), ('{}', '{NULL}')) t"
q enums       "SELECT * FROM (VALUES ('happy'::mood, '{sad,NULL,ok}'::mood[]), ('sad', '{}'), (NULL, NULL)) t"
q records     "SELECT * FROM (VALUES (ROW(1, 'a''b', '1 day', '01:02:03+04')::fz_rec, ROW('{1,2}', 'ok', ROW('2000-01-01', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'))::fz_outer, ARRAY[ROW(2, NULL, NULL, NULL)::fz_rec, NULL]), (ROW(NULL, NULL, NULL, NULL)::fz_rec, ROW(NULL, NULL, NULL)::fz_outer, '{}'::fz_rec[]), (NULL, NULL, NULL)) t"

#!/usr/bin/env bash
# make_fixtures.sh — capture the binary COPY bytes that tests/unit/test_copydec.c decodes.
# Run with the PG* variables of a running server (e.g. a cluster from tests/lib/cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../tests/unit/fixtures"
psql -qAt -c "COPY (SELECT * FROM (VALUES
 (true, 1::int2, -2::int4, 9223372036854775807::int8, 1.5::float4, 'NaN'::float8, 12345.67::numeric(7,2),
  '-0.000001'::numeric, 'héllo'::text, '2000-01-01'::date, 'infinity'::timestamp,
  '2024-02-29 12:34:56.789012+00'::timestamptz, '\x00ff'::bytea, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid,
  '{\"a\": 1}'::jsonb, '12:00:00+05:30'::timetz, '1 mon -2 days 00:00:00.000003'::interval, '24:00:00'::time,
  -99999999999999999999.999999999999999999::numeric(38,18), '-infinity'::date),
 (NULL, NULL, NULL, NULL, NULL, NULL, 'NaN'::numeric(7,2), 'Infinity'::numeric, NULL, '1999-12-31'::date,
  '1900-01-01 00:00:00.000001'::timestamp, NULL, ''::bytea, NULL, NULL, NULL, NULL, NULL, 0::numeric(38,18), NULL)
) t) TO STDOUT (FORMAT binary)" > types.copy
psql -qAt -c "COPY (SELECT 1 WHERE false) TO STDOUT (FORMAT binary)" > empty.copy
# nested.copy: enums, arrays (1-D, 2-D, empty, NULL elements, a 3000-element one), composites
# (NULL field, arrays of them), nested intervals and timetz; the types live in pg_temp.
psql -qAt -c "CREATE TYPE pg_temp.mood AS ENUM ('sad', 'ok', 'it''s')" \
 -c "CREATE TYPE pg_temp.pt AS (x int, y numeric(10,2), label text)" \
 -c "COPY (SELECT * FROM (VALUES
 ('{1,NULL,3}'::int[], '{{1,2},{3,4}}'::int[][], '{\"a,b\",NULL,\"\"}'::text[], 'it''s'::pg_temp.mood,
  ROW(1, 2.50, NULL)::pg_temp.pt, ARRAY[ROW(1, 1.00, 'x')::pg_temp.pt, NULL], '{\"1 mon -2 days 00:00:00.000003\"}'::interval[],
  '{\"12:00:00+05:30\"}'::timetz[], '{NaN,1.50}'::numeric[], '{ok,NULL}'::pg_temp.mood[]),
 ('{}', NULL, '{}', NULL, NULL, '{}', NULL, NULL, '{}', NULL),
 (array(SELECT generate_series(1, 3000)), NULL, NULL, 'sad', NULL, NULL, NULL, NULL, NULL, NULL)
) t) TO STDOUT (FORMAT binary)" > nested.copy

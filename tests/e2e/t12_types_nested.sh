#!/usr/bin/env bash
# t12_types_nested.sh — enums, arrays, composites and domains over them arrive as DuckDB ENUM,
# LIST (nested per dimension) and STRUCT, in the staged mode (through Parquet) and the direct
# mode: the DuckDB column types are checked and every table is compared with its source value
# by value (tests/lib/compare.sh walks LISTs element by element and STRUCTs field by field).
# pg2md verify finds every table equal in both modes and detects one changed nested value
# (element, 3-D element, reshaped list, deep STRUCT field, NULL vs STRUCT of NULLs, empty list
# vs [NULL], ENUM label in a list, interval, timetz, double and numeric-text elements), naming
# the table.
# Also: types with a part that has no binary decoder fall back to text for the whole column; an
# array value with more dimensions than the column declares fails the run naming the column;
# a rerun with append keeps the nested types (their spelling matches DuckDB's); odd names
# (mixed case, spaces, quotes, reserved words, unicode), names colliding after snake_case
# folding, zero-column tables (replicated with _dlt_load_id as their one column) and a
# 1,000-column table.
. "$(dirname "$0")/../lib/common.sh"
t_init types_nested
require_pg2md

SCHEMA=nest
DATASET=pg2md_data
GEN=${T12_ROWS:-3000}

pg >/dev/null <<SQL || t_bail "cannot build the source schema"
CREATE SCHEMA $SCHEMA;
SET search_path = $SCHEMA;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s', 'ünï code', 'with,comma', 'Select');
CREATE TYPE pt AS (x int, y numeric(10,2), label text);
CREATE TYPE inner_t AS (n numeric, d date, iv interval, tz timetz, b bytea);
CREATE TYPE outer_t AS ("Name" text, "select" int, "year" int, i inner_t, arr int[], moods mood[], pts pt[]);
CREATE DOMAIN intarr AS int[] CHECK (cardinality(VALUE) < 100);
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN pt_d AS pt;

-- arrays of every supported element type; empty arrays, NULL elements, NULL arrays
CREATE TABLE arrays (id int PRIMARY KEY, ai int[], a2 int2[], a8 int8[], atx text[], an numeric(10,2)[],
  anf numeric[], ad date[], ats timestamp[], atstz timestamptz[], au uuid[], ab bool[], aby bytea[],
  ajb jsonb[], aj json[], af4 float4[], af8 float8[], ati time[], atz timetz[], aiv interval[], avc varchar(5)[],
  abp char(3)[], aoid oid[]);
INSERT INTO arrays VALUES
  (1, '{1,NULL,-2147483648,2147483647}', '{-32768,32767}', '{-9223372036854775808,9223372036854775807}',
   '{"a,b","c\\\\d",NULL,"","ü€😀","{x}","[y]","NULL"}', '{1.50,NULL,-99999999.99}', '{NaN,Infinity,-Infinity,1.500,-0.000001}',
   '{2024-02-29,infinity,-infinity,"0044-03-15 BC",NULL}', '{"2024-01-01 00:00:00.000001",infinity,-infinity}',
   '{"2024-01-01 12:34:56.789012+05:30",NULL,"1900-01-01 00:00:00+00"}',
   '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL,00000000-0000-0000-0000-000000000000}', '{t,f,NULL}',
   ARRAY['\\x00ff'::bytea, '\\x'::bytea, NULL], ARRAY['{"b": 1, "a": [1, 2]}'::jsonb, 'null'::jsonb, NULL],
   ARRAY['{"b": 1,  "a": 2}'::json, NULL], '{NaN,-0,1.4e-45,Infinity}', '{NaN,-0,5e-324,1e308,-Infinity}',
   '{00:00:00,24:00:00,NULL}', '{"24:00:00-12","00:00:01+00","23:59:59.999999-15:59:59","12:00:00+05:30:15"}',
   '{"-14 months 3 days -01:02:03.5","1 mon -30 days","2562047788 hours",NULL}', '{ab,"a b c"}', '{a,"ab "}', '{0,4294967295}'),
  (2, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}',
   '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}'),
  (5, '[0:2]={7,8,9}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
-- several DuckDB vectors: the LIST child grows past its first reservation, across chunks
INSERT INTO arrays (id, ai, atx, an, anf, atstz, aiv, atz)
  SELECT 1000 + g, CASE WHEN g % 17 = 0 THEN NULL ELSE array(SELECT k * g FROM generate_series(1, g % 40) k) END,
    array(SELECT CASE WHEN k % 5 = 0 THEN NULL ELSE md5((g * k)::text) END FROM generate_series(1, g % 7) k),
    array[g / 7.0, NULL]::numeric(10,2)[], array[g::numeric / 13, 'NaN'], array[TIMESTAMPTZ '2000-01-01 00:00+00' + g * interval '1 day 1 us'],
    array[make_interval(months => g % 25 - 12, days => g % 61 - 30) + g * interval '1 us'],
    array[('10:00:00' || CASE WHEN g % 2 = 0 THEN '+' ELSE '-' END || lpad((g % 15)::text, 2, '0'))::timetz]
  FROM generate_series(1, $GEN) g;

-- arrays of the other text-like scalars: name, "char", char(n) in two dimensions (padding kept)
CREATE TABLE text_arrays (id int PRIMARY KEY, anm name[], ach "char"[], abp2 char(2)[][]);
INSERT INTO text_arrays VALUES (1, '{abc,NULL,"",ü}', '{a,NULL," ",z}', '{{a,NULL},{" ",ab}}'), (2, '{}', '{}', '{}'),
  (3, NULL, NULL, NULL);
INSERT INTO text_arrays SELECT 1000 + g, ARRAY['n' || g, NULL]::name[], ARRAY[chr(65 + g % 26)]::"char"[],
  ARRAY[[left(md5(g::text), g % 3), NULL]]::char(2)[][] FROM generate_series(1, $GEN) g;

-- several dimensions
CREATE TABLE multi (id int PRIMARY KEY, m2 int[][], m3 text[][][], mn numeric(6,1)[][], mts timestamptz[][]);
INSERT INTO multi VALUES
  (1, '{{1,2,3},{4,NULL,6}}', '{{{a,b},{c,NULL}},{{e,f},{"g,h",""}}}', '{{1.5,NULL},{-2.0,3.1}}', '{{"2024-01-01 00:00+00"},{NULL}}'),
  (2, '{}', '{}', '{}', '{}'), (3, NULL, NULL, NULL, NULL), (4, '{{NULL}}', '{{{NULL}}}', '{{NULL}}', '{{NULL}}');
INSERT INTO multi (id, m2) SELECT 1000 + g, array[[g, g + 1], [g + 2, g + 3], [NULL, g]] FROM generate_series(1, $GEN) g;

-- enums
CREATE TABLE enums (id int PRIMARY KEY, e mood, ea mood[], en mood NOT NULL DEFAULT 'ok');
INSERT INTO enums VALUES (1, 'sad', '{sad,ok}', 'sad'), (2, 'it''s', '{"it''s",NULL}', 'it''s'), (3, NULL, NULL, 'ok'),
  (4, 'ünï code', '{}', 'with,comma'), (5, 'with,comma', '{"with,comma","ünï code"}', 'Select'), (6, 'Select', '{Select}', 'Select');
INSERT INTO enums SELECT 1000 + g, (enum_range(NULL::mood))[1 + g % 6], CASE WHEN g % 3 = 0 THEN NULL ELSE
  array[(enum_range(NULL::mood))[1 + g % 6], NULL] END, (enum_range(NULL::mood))[1 + g % 5] FROM generate_series(1, $GEN) g;

-- composites: nested, arrays of them, NULL composite, composite with NULL fields, domains
CREATE TABLE comps (id int PRIMARY KEY, p pt, o outer_t, pa pt[], d pt_d, dia intarr, dpi posint[]);
INSERT INTO comps VALUES
  (1, ROW(1, 2.50, 'a,b'), ROW('Ünï', 1, 2024, ROW(1.5, '2024-02-29', '1 mon 2 days 00:00:00.000003', '12:00:00+05:30:15', '\\x00ff'),
      '{4,NULL}', '{sad,NULL,"it''s"}', ARRAY[ROW(1, 1.00, 'x')::pt, NULL]),
   ARRAY[ROW(1, NULL, NULL)::pt, NULL, ROW(NULL, NULL, NULL)::pt], ROW(9, 9.99, 'dom'), '{1,2,NULL}', '{1,NULL,7}'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, ROW(NULL, NULL, NULL), ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL), '{}', ROW(NULL, NULL, NULL), '{}', '{}'),
  (4, ROW(-1, -0.01, ''), ROW('x', NULL, NULL, ROW(NULL, NULL, NULL, NULL, NULL), '{}', '{}', '{}'), '{"(2,3.5,\\"q\\\\\\"\\")"}', NULL, NULL, NULL),
  (5, NULL, ROW(NULL, 7, NULL, ROW('NaN', 'infinity', '-178000000 years', '24:00:00-15:59:59', '\\x'), NULL, NULL, NULL), NULL, NULL, NULL, NULL);
INSERT INTO comps (id, p, o, pa)
  SELECT 1000 + g, CASE WHEN g % 11 = 0 THEN NULL ELSE ROW(g, g / 3.0, 'p' || g)::pt END,
    CASE WHEN g % 13 = 0 THEN NULL ELSE ROW('n' || g, g, NULL, ROW(g::numeric / 7, DATE '2000-01-01' + g, g * interval '1 day 1 us',
      '10:00:00+01', decode(md5(g::text), 'hex')), array[g, NULL], NULL, array[ROW(g, 1.25, NULL)::pt])::outer_t END,
    array(SELECT ROW(k, k / 4.0, CASE WHEN k % 2 = 0 THEN NULL ELSE 'k' END)::pt FROM generate_series(1, g % 5) k)
  FROM generate_series(1, $GEN) g;

-- types with a part that has no binary decoder: the whole column as text
CREATE TYPE netpair AS (a inet, n int);
CREATE TABLE fallback (id int PRIMARY KEY, ips inet[], np netpair, rs int4range[], ok int[]);
INSERT INTO fallback VALUES (1, '{192.168.0.1/24,::1}', ROW('10.0.0.1', 1), '{"[1,5)",empty}', '{1}'), (2, NULL, NULL, NULL, NULL),
  (3, '{}', ROW(NULL, NULL), '{}', '{}');

-- odd names: mixed case, spaces, quotes, reserved words, unicode
CREATE TABLE "OddNames" ("MixedCase" int, "with space" text, "quote""d" int[], "select" mood, "ünïcödé" pt, "order" int);
INSERT INTO "OddNames" VALUES (1, 'a', '{1}', 'sad', ROW(1, 1, 'u'), 2), (2, NULL, NULL, NULL, NULL, NULL);
ANALYZE;
SQL

TABLES="arrays text_arrays multi enums comps fallback"
NT=$(wc -w <<<"$TABLES")
ENUM_T="ENUM('sad', 'ok', 'it''s', 'ünï code', 'with,comma', 'Select')"
PT_T="STRUCT(x INTEGER, y DECIMAL(10,2), \"label\" VARCHAR)"
INNER_T="STRUCT(n VARCHAR, d DATE, iv INTERVAL, tz TIME WITH TIME ZONE, b BLOB)"

# expected DuckDB types: table|column|TYPE (one per line)
EXPECTED_TYPES="arrays|ai|INTEGER[]
arrays|a2|SMALLINT[]
arrays|a8|BIGINT[]
arrays|atx|VARCHAR[]
arrays|an|DECIMAL(10,2)[]
arrays|anf|VARCHAR[]
arrays|ad|DATE[]
arrays|ats|TIMESTAMP[]
arrays|atstz|TIMESTAMP WITH TIME ZONE[]
arrays|au|UUID[]
arrays|ab|BOOLEAN[]
arrays|aby|BLOB[]
arrays|ajb|JSON[]
arrays|aj|JSON[]
arrays|af4|FLOAT[]
arrays|af8|DOUBLE[]
arrays|ati|TIME[]
arrays|atz|TIME WITH TIME ZONE[]
arrays|aiv|INTERVAL[]
arrays|avc|VARCHAR[]
arrays|abp|VARCHAR[]
arrays|aoid|UINTEGER[]
text_arrays|anm|VARCHAR[]
text_arrays|ach|VARCHAR[]
text_arrays|abp2|VARCHAR[][]
multi|m2|INTEGER[][]
multi|m3|VARCHAR[][][]
multi|mn|DECIMAL(6,1)[][]
multi|mts|TIMESTAMP WITH TIME ZONE[][]
enums|e|$ENUM_T
enums|ea|$ENUM_T[]
enums|en|$ENUM_T
comps|p|$PT_T
comps|o|STRUCT(\"Name\" VARCHAR, \"select\" INTEGER, \"year\" INTEGER, i $INNER_T, arr INTEGER[], moods $ENUM_T[], pts $PT_T[])
comps|pa|$PT_T[]
comps|d|$PT_T
comps|dia|INTEGER[]
comps|dpi|INTEGER[]
fallback|ips|VARCHAR[]
fallback|np|VARCHAR
fallback|rs|VARCHAR[]
fallback|ok|INTEGER[]"

# check_run LABEL DIR — types and values of every table in DIR/pg2md.duckdb
check_run() {
	local label=$1 file=$2/pg2md.duckdb t c want got
	while IFS='|' read -r t c want; do
		got=$(duck_type "$file" "$DATASET" "$t" "$c" 2>&1)
		assert_eq "$want" "$got" "$label: type of $t.$c"
	done <<<"$EXPECTED_TYPES"
	for t in $TABLES; do
		assert_table_equal "$SCHEMA" "$t" "$file" "$DATASET" "$t" "$label: $t equals its source"
	done
	got=$(ddbq "$file" "SELECT is_nullable FROM information_schema.columns WHERE table_schema = '$DATASET'
		AND table_name = 'enums' AND column_name = 'en'")
	assert_eq NO "$got" "$label: NOT NULL of an enum column kept"
}

# verify_mutations DIR — one nested value changed in DuckDB at a time: verify exits 1 naming
# that table alone; a replace run of the table restores it
verify_mutations() {
	local dir=$1 t sql what
	while IFS='|' read -r t what sql; do
		[ -n "$t" ] || continue
		ddbq --rw "$dir/pg2md.duckdb" "$sql" >/dev/null || { t_fail "mutation failed: $sql"; continue; }
		assert_exit 1 "$PG2MD_BIN" verify --project-dir "$dir"
		assert_match "$(cat "$T_OUT")" "^  DIFFERENT +\"$t\" +source" "verify detects $what: \"$t\" is DIFFERENT"
		assert_match "$(cat "$T_OUT")" "^total: $NT tables, $((NT - 1)) ok, 1 different" "verify detects $what: only \"$t\" differs"
		assert_contains "$(cat "$T_ERR")" "1 of $NT tables differs" "verify detects $what: the error line counts it"
		assert_exit 0 "$PG2MD_BIN" run --project-dir "$dir" --tables "$t" >/dev/null
	done <<MUTATIONS
arrays|a NULL element turned 0|UPDATE $DATASET.arrays SET ai = [1, 0, -2147483648, 2147483647] WHERE id = 1
arrays|an empty list turned [NULL]|UPDATE $DATASET.arrays SET atx = [NULL] WHERE id = 2
arrays|an empty list turned a list of one empty BLOB|UPDATE $DATASET.arrays SET aby = [''::BLOB] WHERE id = 2
arrays|a timetz offset inside a list off by one second|UPDATE $DATASET.arrays SET atz = ['24:00:00-12'::TIMETZ, '00:00:01+00'::TIMETZ, '23:59:59.999999-15:59:59'::TIMETZ, '12:00:00+05:30:16'::TIMETZ] WHERE id = 1
arrays|an interval element turned 0|UPDATE $DATASET.arrays SET aiv = [INTERVAL '-14 months 3 days -01:02:03.5', INTERVAL 0 DAYS, INTERVAL '2562047788 hours', NULL] WHERE id = 1
arrays|a NaN double element turned NULL|UPDATE $DATASET.arrays SET af8 = [NULL, -0.0, 5e-324, 1e308, '-inf'::DOUBLE] WHERE id = 1
arrays|a numeric text element lost a trailing zero|UPDATE $DATASET.arrays SET anf = ['NaN', 'Infinity', '-Infinity', '1.50', '-0.000001'] WHERE id = 1
multi|one element of a 3-D list|UPDATE $DATASET.multi SET m3 = [[['a', 'b'], ['c', NULL]], [['e', 'f'], ['g,i', '']]] WHERE id = 1
multi|a 2-D list reshaped (same elements)|UPDATE $DATASET.multi SET m2 = [[1, 2], [3, 4], [NULL, 6]] WHERE id = 1
comps|a field deep inside a nested STRUCT|UPDATE $DATASET.comps SET o = struct_update(o, i := struct_update(o.i, n := '1.50')) WHERE id = 1
comps|a STRUCT of NULLs turned NULL|UPDATE $DATASET.comps SET p = NULL WHERE id = 3
comps|a NULL element of a list of STRUCTs turned a STRUCT of NULLs|UPDATE $DATASET.comps SET pa = [{'x': 1, 'y': NULL, 'label': NULL}, {'x': NULL, 'y': NULL, 'label': NULL}, {'x': NULL, 'y': NULL, 'label': NULL}] WHERE id = 1
text_arrays|char(2) padding trimmed inside a 2-D list|UPDATE $DATASET.text_arrays SET abp2 = [['a', NULL], [' ', 'ab']] WHERE id = 1
enums|a label inside an ENUM list|UPDATE $DATASET.enums SET ea = ['sad', 'it''s'] WHERE id = 1
MUTATIONS
}

for mode in staged direct; do
	flags=()
	[ $mode = direct ] && flags=(--direct)
	make_project "$T_TMP/$mode" --schema "$SCHEMA" --tables "$TABLES"
	if assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/$mode" "${flags[@]}"; then
		check_run "$mode" "$T_TMP/$mode"
		# pg2md verify compares LISTs element by element and STRUCTs field by field
		assert_exit 0 "$PG2MD_BIN" verify --project-dir "$T_TMP/$mode"
		for t in $TABLES; do
			assert_match "$(cat "$T_OUT")" "^  ok +\"$t\" " "$mode: verify finds $t equal"
		done
		[ $mode = staged ] && verify_mutations "$T_TMP/$mode"
	fi
	# a rerun appending to the tables: the stored nested types match the ones pg2md computes
	if assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/$mode" --write-disposition append "${flags[@]}"; then
		got=$(ddbq "$T_TMP/$mode/pg2md.duckdb" "SELECT count(*) FROM $DATASET.comps")
		assert_eq "$((2 * (GEN + 5)))" "$got" "$mode: append rerun doubled the rows of comps"
	fi
done

# an enum gains a label: a replace run picks it up
pg -c "ALTER TYPE $SCHEMA.mood ADD VALUE 'new one'" -c "INSERT INTO $SCHEMA.enums VALUES (7, 'new one', '{\"new one\"}', 'new one')"
make_project "$T_TMP/enum2" --schema "$SCHEMA" --tables "enums"
if assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/enum2"; then
	assert_table_equal "$SCHEMA" enums "$T_TMP/enum2/pg2md.duckdb" "$DATASET" enums "enum with an added label equals its source"
fi

# an array value with more dimensions than the column declares: the run fails, naming the column
pg -c "CREATE TABLE $SCHEMA.dims (id int, v int[])" -c "INSERT INTO $SCHEMA.dims VALUES (1, '{1,2}'), (2, '{{1,2},{3,4}}')"
for mode in staged direct; do
	flags=()
	[ $mode = direct ] && flags=(--direct)
	make_project "$T_TMP/dims_$mode" --schema "$SCHEMA" --tables "dims"
	assert_exit 1 "$PG2MD_BIN" run --project-dir "$T_TMP/dims_$mode" "${flags[@]}"
	assert_contains "$(cat "$T_ERR")" '"v"' "$mode: a 2-D value in an int[] column fails naming the column"
	assert_contains "$(cat "$T_ERR")" "2 dimensions" "$mode: the failure says how many dimensions the value has"
	assert_contains "$(cat "$T_ERR")" '[sources.sql_database.dims.columns.v] data_type = "text"' "$mode: the hint names the fallback"
	assert_eq "0" "$(ddbq "$T_TMP/dims_$mode/pg2md.duckdb" "SELECT count(*) FROM information_schema.tables WHERE table_name = 'dims'" 2>/dev/null || echo 0)" \
		"$mode: nothing of the failed table is loaded"
done
# the documented fallback: the column as PostgreSQL's array text, every value exact, verify agrees
pg -c "INSERT INTO $SCHEMA.dims VALUES (3, NULL), (4, '{}'), (5, '[0:1]={7,NULL}'), (6, '{{{1}},{{2}}}')"
for mode in staged direct; do
	flags=()
	[ $mode = direct ] && flags=(--direct)
	make_project "$T_TMP/dims_text_$mode" --schema "$SCHEMA" --tables "dims" --config '[sources.sql_database.dims.columns.v]
data_type = "text"'
	if assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/dims_text_$mode" "${flags[@]}"; then
		assert_eq VARCHAR "$(duck_type "$T_TMP/dims_text_$mode/pg2md.duckdb" "$DATASET" dims v)" "$mode: data_type = text makes the mixed column VARCHAR"
		assert_eq '{1,2}|{{1,2},{3,4}}|NULL|{}|[0:1]={7,NULL}|{{{1}},{{2}}}' "$(ddbq "$T_TMP/dims_text_$mode/pg2md.duckdb" "SELECT string_agg(coalesce(v, 'NULL'), '|' ORDER BY id)
			FROM $DATASET.dims")" "$mode: each value is PostgreSQL's array text"
		assert_table_equal "$SCHEMA" dims "$T_TMP/dims_text_$mode/pg2md.duckdb" "$DATASET" dims "$mode: the mixed-dimension column as text equals its source"
		assert_exit 0 "$PG2MD_BIN" verify --project-dir "$T_TMP/dims_text_$mode"
	fi
done
pg -c "DELETE FROM $SCHEMA.dims WHERE id >= 3"

# declaring the dimensions fixes it (ALTER … TYPE int[][] sets attndims; no rewrite)
pg -c "DELETE FROM $SCHEMA.dims WHERE id = 1" -c "ALTER TABLE $SCHEMA.dims ALTER COLUMN v TYPE int[][]"
make_project "$T_TMP/dims2" --schema "$SCHEMA" --tables "dims"
if assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/dims2"; then
	assert_eq "INTEGER[][]" "$(duck_type "$T_TMP/dims2/pg2md.duckdb" "$DATASET" dims v)" "int[][] column is INTEGER[][]"
	assert_table_equal "$SCHEMA" dims "$T_TMP/dims2/pg2md.duckdb" "$DATASET" dims "2-D column equals its source"
fi

# --- names ---------------------------------------------------------------------------------

for mode in staged direct; do
	flags=()
	[ $mode = direct ] && flags=(--direct)
	make_project "$T_TMP/odd_$mode" --schema "$SCHEMA" --tables "OddNames"
	if assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/odd_$mode" "${flags[@]}"; then
		got=$(ddbq "$T_TMP/odd_$mode/pg2md.duckdb" "SELECT string_agg(column_name, '|' ORDER BY ordinal_position)
			FROM information_schema.columns WHERE table_schema = '$DATASET' AND table_name = 'odd_names'")
		assert_eq 'mixed_case|with_space|quote_d|select|ünïcödé|order' "$got" "$mode: odd names folded to snake_case"
		got=$(ddbq "$T_TMP/odd_$mode/pg2md.duckdb" "SELECT \"quote_d\", \"select\", \"ünïcödé\".\"label\", \"order\"
			FROM $DATASET.odd_names WHERE mixed_case = 1")
		assert_eq $'[1]\tsad\tu\t2' "$got" "$mode: odd names hold their values"
	fi
	make_project "$T_TMP/odd_direct_$mode" --schema "$SCHEMA" --tables "OddNames" --config $'[schema]\nnaming = "direct"'
	if assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/odd_direct_$mode" "${flags[@]}"; then
		assert_table_equal "$SCHEMA" "OddNames" "$T_TMP/odd_direct_$mode/pg2md.duckdb" "$DATASET" "OddNames" \
			"$mode: naming = direct keeps odd names, values equal"
	fi
done

# names colliding after snake_case folding: a clear error naming both
pg -c "CREATE TABLE $SCHEMA.collide (\"OrderID\" int, order_id int)"
make_project "$T_TMP/collide" --schema "$SCHEMA" --tables "collide"
assert_exit 2 "$PG2MD_BIN" run --project-dir "$T_TMP/collide"
assert_contains "$(cat "$T_ERR")" '"OrderID" and "order_id"' "colliding column names: the error names both"

# tables with no columns (CREATE TABLE z () holds rows): the destination gets dlt's _dlt_load_id
# as its one column, the load id in every row, one row per source row; replace and append, both
# modes; verify compares the counts (and catches a missing row); a table whose columns are all
# excluded by the configuration stays an error naming it
pg -c "CREATE TABLE $SCHEMA.zero ()" -c "CREATE TABLE $SCHEMA.zero_empty ()" \
	-c "INSERT INTO $SCHEMA.zero SELECT FROM generate_series(1, 4321)" -c "ANALYZE $SCHEMA.zero"
for mode in staged direct; do
	flags=()
	[ $mode = direct ] && flags=(--direct)
	Z=$T_TMP/zero_$mode
	make_project "$Z" --schema "$SCHEMA" --tables "zero zero_empty"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$Z" "${flags[@]}" || continue
	assert_eq "_dlt_load_id|VARCHAR|NO" "$(ddbq "$Z/pg2md.duckdb" "SELECT string_agg(column_name || '|' || data_type
		|| '|' || is_nullable, ',') FROM information_schema.columns WHERE table_schema = '$DATASET' AND table_name = 'zero'")" \
		"$mode: a zero-column table arrives with _dlt_load_id VARCHAR NOT NULL as its only column"
	assert_eq "$(pgq "SELECT count(*) FROM $SCHEMA.zero")" "$(ddbq "$Z/pg2md.duckdb" "SELECT count(*) FROM $DATASET.zero")" \
		"$mode: zero-column table: one row per source row (4321)"
	assert_eq "0" "$(ddbq "$Z/pg2md.duckdb" "SELECT count(*) FROM $DATASET.zero_empty")" \
		"$mode: an empty zero-column table arrives empty"
	assert_eq "1|true" "$(ddbq "$Z/pg2md.duckdb" "SELECT count(DISTINCT _dlt_load_id) || '|' ||
		(min(_dlt_load_id) = (SELECT max(load_id) FROM $DATASET._dlt_loads))::VARCHAR FROM $DATASET.zero")" \
		"$mode: every row holds the run's load id (the one in _dlt_loads)"
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$Z"
	assert_match "$(cat "$T_OUT")" '^  ok +"zero" +4321 rows' "$mode: verify says the zero-column table is ok (4321 rows)"
	assert_match "$(cat "$T_OUT")" '^  ok +"zero_empty" +0 rows' "$mode: verify says the empty zero-column table is ok"
	ddbq --rw "$Z/pg2md.duckdb" "DELETE FROM $DATASET.zero WHERE rowid = 7" >/dev/null
	assert_exit 1 "$PG2MD_BIN" verify --project-dir "$Z"
	assert_match "$(cat "$T_OUT")" '^  DIFFERENT +"zero" +source 4321 rows.*destination 4320 rows' \
		"$mode: verify catches a missing row of a zero-column table"
	# a second run appending: twice the rows, two load ids
	pg -c "INSERT INTO $SCHEMA.zero_empty DEFAULT VALUES"
	if assert_exit 0 "$PG2MD_BIN" run --project-dir "$Z" --write-disposition append "${flags[@]}"; then
		assert_eq "8641|2" "$(ddbq "$Z/pg2md.duckdb" "SELECT count(*) || '|' || count(DISTINCT _dlt_load_id) FROM $DATASET.zero")" \
			"$mode: append adds one row per source row under the new load id"
		assert_eq "1" "$(ddbq "$Z/pg2md.duckdb" "SELECT count(*) FROM $DATASET.zero_empty")" \
			"$mode: append into the once-empty zero-column table"
	fi
	# replace again: back to the source's count
	if assert_exit 0 "$PG2MD_BIN" run --project-dir "$Z" "${flags[@]}"; then
		assert_eq "4321" "$(ddbq "$Z/pg2md.duckdb" "SELECT count(*) FROM $DATASET.zero")" "$mode: replace brings back the source's count"
	fi
	pg -c "TRUNCATE $SCHEMA.zero_empty"
done
pg -c "CREATE TABLE $SCHEMA.all_excluded (a int)"
make_project "$T_TMP/all_excluded" --schema "$SCHEMA" --tables "all_excluded" --config "[sources.sql_database.all_excluded]
excluded_columns = [\"a\"]"
assert_exit 2 "$PG2MD_BIN" run --project-dir "$T_TMP/all_excluded"
assert_contains "$(cat "$T_ERR")" 'table "all_excluded" has no columns left after included_columns and excluded_columns' \
	"every column excluded: a clear error naming the table"

# a 1,000-column table of mixed types (enums, arrays, composites among them)
{
	echo "CREATE TABLE $SCHEMA.wide1000 (id int"
	for ((i = 1; i < 1000; i++)); do
		case $((i % 33)) in
		1) echo ", c$i int[]" ;; 2) echo ", c$i $SCHEMA.mood" ;; 3) echo ", c$i $SCHEMA.pt" ;; 4) echo ", c$i numeric(12,3)" ;; *) echo ", c$i int" ;;
		esac
	done
	echo ");"
	printf "INSERT INTO %s.wide1000 SELECT g" "$SCHEMA"
	for ((i = 1; i < 1000; i++)); do
		case $((i % 33)) in
		1) printf ", array[%d, NULL, g]" "$i" ;; 2) printf ", CASE WHEN g %% 2 = 0 THEN 'ok'::%s.mood END" "$SCHEMA" ;;
		3) printf ", ROW(g, %d.5, NULL)::%s.pt" "$i" "$SCHEMA" ;; 4) printf ", g * %d.125" "$i" ;; *) printf ", g * %d" "$i" ;;
		esac
	done
	echo " FROM generate_series(1, 300) g;"
} >"$T_TMP/wide.sql"
pg -f "$T_TMP/wide.sql" >/dev/null || t_fail "cannot create the 1,000-column table"
for mode in staged direct; do
	flags=()
	[ $mode = direct ] && flags=(--direct)
	make_project "$T_TMP/wide_$mode" --schema "$SCHEMA" --tables "wide1000"
	if assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/wide_$mode" "${flags[@]}"; then
		got=$(ddbq "$T_TMP/wide_$mode/pg2md.duckdb" "SELECT count(*) FROM information_schema.columns
			WHERE table_schema = '$DATASET' AND table_name = 'wide1000'")
		assert_eq 1000 "$got" "$mode: the 1,000-column table has 1,000 columns"
		assert_table_equal "$SCHEMA" wide1000 "$T_TMP/wide_$mode/pg2md.duckdb" "$DATASET" wide1000 "$mode: wide1000 equals its source"
	fi
done

t_done

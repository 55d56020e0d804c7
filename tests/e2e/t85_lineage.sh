#!/usr/bin/env bash
# t85_lineage — dlt's lineage columns, [normalize.parquet_normalizer] add_dlt_load_id and
# add_dlt_id: staged and direct, replace / append / merge over two runs (the source changed in
# between), each destination row's _dlt_load_id is the load_id of the _dlt_loads row of the load
# that wrote it (merge: an updated row carries the new one), _dlt_id is non-null and unique
# across both loads, both are VARCHAR NOT NULL and last; the data columns equal the source value
# by value and pg2md verify exits 0.  Also: a transform (at extract and at normalize), a query
# table and a renamed column get the columns after their own; a table without columns keeps one
# _dlt_load_id (holding the load id, with a transform too); an existing table gains the columns
# (NULL in its old rows); a source column named _dlt_id is a configuration error (exit 2); and
# with the options off nothing is added.
. "$(dirname "$0")/../lib/common.sh"
t_init lineage
require_pg2md

DS=pg2md_data

pg >/dev/null <<'SQL' || t_bail "cannot build the source tables"
CREATE TABLE r (id int PRIMARY KEY, v text, n numeric(12,3), ts timestamptz);
INSERT INTO r SELECT g, 'r' || g, g * 1.5, timestamptz '2024-03-01 12:00+00' + g * interval '1 minute'
  FROM generate_series(1, 3000) g;
CREATE TABLE a (id int PRIMARY KEY, v text);
INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 2000) g;
CREATE TABLE m (id int PRIMARY KEY, v text, n int);
INSERT INTO m SELECT g, 'm' || g, g FROM generate_series(1, 2500) g;   -- n: the incremental cursor
CREATE TABLE z ();
INSERT INTO z DEFAULT VALUES; INSERT INTO z DEFAULT VALUES; INSERT INTO z DEFAULT VALUES;
CREATE TABLE clash (id int, _dlt_id text);
INSERT INTO clash VALUES (1, 'x');
SQL

# lineage_checks DUCKFILE TABLE WHAT — the two columns last, VARCHAR NOT NULL; every load id one
# of _dlt_loads; the row ids non-null and unique
lineage_checks() {
	local f=$1 t=$2 what=$3
	assert_eq "_dlt_load_id|VARCHAR|NO,_dlt_id|VARCHAR|NO" "$(ddbq "$f" "SELECT string_agg(column_name || '|' ||
		data_type || '|' || is_nullable, ',' ORDER BY ordinal_position) FROM (SELECT * FROM information_schema.columns
		WHERE table_schema = '$DS' AND table_name = '$t' ORDER BY ordinal_position DESC LIMIT 2)")" \
		"$what: _dlt_load_id and _dlt_id are the last columns, VARCHAR NOT NULL"
	assert_eq 0 "$(ddbq "$f" "SELECT count(*) FROM $DS.$t WHERE _dlt_load_id IS NULL OR _dlt_load_id NOT IN
		(SELECT load_id FROM $DS._dlt_loads)")" "$what: every _dlt_load_id is a load_id of _dlt_loads"
	assert_eq "0|0" "$(ddbq "$f" "SELECT count(*) FILTER (WHERE _dlt_id IS NULL) || '|' ||
		(count(*) - count(DISTINCT _dlt_id)) FROM $DS.$t")" "$what: _dlt_id is non-null and unique per row"
}

# load_of DUCKFILE N — the load id of the Nth load (1 = the first)
load_of() {
	ddbq "$1" "SELECT load_id FROM $DS._dlt_loads ORDER BY inserted_at, load_id LIMIT 1 OFFSET $(($2 - 1))"
}

LIN='[normalize.parquet_normalizer]
add_dlt_load_id = true
add_dlt_id = true'

for mode in staged direct; do
	flag=""
	[ "$mode" = direct ] && flag=--direct
	P=$T_TMP/$mode
	F=$P/pg2md.duckdb
	pg -c "UPDATE r SET v = 'r' || id; UPDATE m SET v = 'm' || id, n = id; DELETE FROM a WHERE id > 2000;
		DELETE FROM m WHERE id > 2500" >/dev/null
	make_project "$P" --tables "r a m" --config "$LIN
[sources.sql_database.a]
write_disposition = \"append\"
[sources.sql_database.m]
write_disposition = \"merge\"
incremental.cursor_path = \"n\""
	assert_exit 0 "$PG2MD_BIN" run $flag --project-dir "$P"
	L1=$(load_of "$F" 1)
	for t in r a m; do
		lineage_checks "$F" $t "$mode run 1 $t"
		assert_table_equal public $t "$F" $DS $t "$mode run 1: $t equals the source value by value"
		assert_eq "$L1" "$(ddbq "$F" "SELECT string_agg(DISTINCT _dlt_load_id, ',') FROM $DS.$t")" \
			"$mode run 1: every row of $t holds the load id"
	done
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"

	pg -c "UPDATE r SET v = 'r2-' || id WHERE id <= 10; UPDATE m SET v = 'm2-' || id, n = 5000 + id WHERE id <= 20;
		INSERT INTO m VALUES (2501, 'new', 9000); INSERT INTO a VALUES (2001, 'a2001')" >/dev/null
	assert_exit 0 "$PG2MD_BIN" run $flag --project-dir "$P"
	L2=$(load_of "$F" 2)
	[ -n "$L2" ] && [ "$L1" != "$L2" ] && t_pass "$mode: two loads, two load ids" || t_fail "$mode: two load ids" "$L1 / $L2"
	for t in r a m; do
		lineage_checks "$F" $t "$mode run 2 $t"
	done
	assert_table_equal public r "$F" $DS r "$mode run 2: replace: r equals the source"
	assert_eq "3000|$L2" "$(ddbq "$F" "SELECT count(*) || '|' || string_agg(DISTINCT _dlt_load_id, ',') FROM $DS.r")" \
		"$mode run 2: replace: every row holds the new load id"
	assert_eq "2000|$L1,2001|$L2" "$(ddbq "$F" "SELECT string_agg(n || '|' || l, ',' ORDER BY l) FROM
		(SELECT _dlt_load_id l, count(*) n FROM $DS.a GROUP BY l)")" \
		"$mode run 2: append: the first load's rows keep its load id, the rows appended have the second"
	assert_eq "4001" "$(ddbq "$F" "SELECT count(*) FROM $DS.a")" "$mode run 2: append: 2000 + 2001 rows"
	assert_table_equal public m "$F" $DS m "$mode run 2: merge: m equals the source"
	# the incremental window of run 2 (n >= 2500): the 20 updated rows, the new one and row 2500
	assert_eq "2479|$L1,22|$L2" "$(ddbq "$F" "SELECT string_agg(n || '|' || l, ',' ORDER BY l) FROM
		(SELECT _dlt_load_id l, count(*) n FROM $DS.m GROUP BY l)")" \
		"$mode run 2: merge: the rows merged (20 updated, 1 new, the boundary row) carry the new load id, the others the first"
	assert_eq "0" "$(ddbq "$F" "SELECT count(*) FROM $DS.m WHERE (id <= 20 OR id >= 2500) <> (_dlt_load_id = '$L2')")" \
		"$mode run 2: merge: exactly those rows"
	assert_eq "$L2" "$(ddbq "$F" "SELECT _dlt_load_id FROM $DS.m WHERE id = 7")" "$mode run 2: merge: updated row 7 has the new load id"
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P" --tables r,m
done

# transforms at extract (both modes) and at normalize, a query table, a renamed column, and the
# table without columns (with a transform: its _dlt_load_id holds the load id, not NULL)
pg -c "CREATE VIEW r_expected AS SELECT id, upper(v) AS v_up FROM r WHERE id % 2 = 0;
	CREATE VIEW q_expected AS SELECT id, v AS value FROM m WHERE id <= 100" >/dev/null
for mode in staged direct normalize; do
	flag=""
	stage=extract
	[ "$mode" = direct ] && flag=--direct
	[ "$mode" = normalize ] && stage=normalize
	P=$T_TMP/tx-$mode
	F=$P/pg2md.duckdb
	make_project "$P" --tables "r q z" --config "$LIN
[sources.sql_database.r]
transform = \"SELECT id, upper(v) AS v_up FROM data WHERE id % 2 = 0\"
transform_stage = \"$stage\"
[sources.sql_database.q]
query = \"SELECT id, v FROM public.m WHERE id <= 100\"
[sources.sql_database.q.columns.v]
name = \"value\"
[sources.sql_database.z]
transform = \"SELECT * FROM data\"
transform_stage = \"$stage\""
	assert_exit 0 "$PG2MD_BIN" run $flag --project-dir "$P"
	L1=$(load_of "$F" 1)
	lineage_checks "$F" r "$mode transform"
	assert_eq "id,v_up,_dlt_load_id,_dlt_id" "$(ddbq "$F" "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = '$DS' AND table_name = 'r'")" \
		"$mode transform: the lineage columns follow the transform's output"
	assert_table_equal public r_expected "$F" $DS r "$mode transform: r equals the transform of the source"
	assert_eq "1500|$L1" "$(ddbq "$F" "SELECT count(*) || '|' || string_agg(DISTINCT _dlt_load_id, ',') FROM $DS.r")" \
		"$mode transform: every row holds the load id"
	lineage_checks "$F" q "$mode query table"
	assert_table_equal public q_expected "$F" $DS q "$mode query table with a renamed column equals the query"
	assert_eq "_dlt_load_id,_dlt_id" "$(ddbq "$F" "SELECT string_agg(column_name, ','
		ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = '$DS' AND table_name = 'z'")" \
		"$mode: the table without columns has one _dlt_load_id (not two) and _dlt_id"
	assert_eq "3|$L1|3" "$(ddbq "$F" "SELECT count(*) || '|' || string_agg(DISTINCT _dlt_load_id, ',') || '|' ||
		count(DISTINCT _dlt_id) FROM $DS.z")" "$mode: its rows hold the load id (through the transform) and distinct ids"
done

# the known bug: a table without columns and a transform at extract, options off: the load id, not NULL
P=$T_TMP/z-plain
make_project "$P" --tables "z" --config '[sources.sql_database.z]
transform = "SELECT * FROM data"'
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_eq "3|$(load_of "$P/pg2md.duckdb" 1)" "$(ddbq "$P/pg2md.duckdb" "SELECT count(_dlt_load_id) || '|' ||
	string_agg(DISTINCT _dlt_load_id, ',') FROM $DS.z")" "a table without columns and a transform at extract: _dlt_load_id holds the load id"

# the default adds nothing; turning the options on later (environment variables) adds the
# columns to the existing tables: NULL in the rows loaded before, the load id in the new ones
for mode in staged direct; do
	flag=""
	[ "$mode" = direct ] && flag=--direct
	P=$T_TMP/evolve-$mode
	F=$P/pg2md.duckdb
	make_project "$P" --tables "r a" --config '[sources.sql_database.a]
write_disposition = "append"'
	assert_exit 0 "$PG2MD_BIN" run $flag --project-dir "$P"
	assert_eq "0" "$(ddbq "$F" "SELECT count(*) FROM information_schema.columns WHERE table_schema = '$DS'
		AND table_name IN ('r', 'a') AND column_name LIKE '\_dlt\_%' ESCAPE '\\'")" "$mode: options off: no lineage column"
	assert_exit 0 env NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID=true NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID=true \
		"$PG2MD_BIN" run $flag --project-dir "$P"
	L2=$(load_of "$F" 2)
	assert_eq "2001|0|0,2001|2001|2001" "$(ddbq "$F" "SELECT string_agg(n || '|' || l || '|' || i, ',' ORDER BY l) FROM
		(SELECT count(*) n, count(_dlt_load_id) l, count(DISTINCT _dlt_id) i FROM $DS.a GROUP BY _dlt_load_id IS NULL)")" \
		"$mode: append after turning the options on: old rows NULL, new rows with ids"
	assert_eq "$L2" "$(ddbq "$F" "SELECT string_agg(DISTINCT _dlt_load_id, ',') FROM $DS.a")" "$mode: the new rows hold the second load id"
	assert_eq "_dlt_load_id|YES,_dlt_id|YES" "$(ddbq "$F" "SELECT string_agg(column_name || '|' || is_nullable, ','
		ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = '$DS' AND table_name = 'a'
		AND column_name LIKE '\_dlt\_%' ESCAPE '\\'")" "$mode: columns added to an existing table allow NULL"
	lineage_checks "$F" r "$mode replace after turning the options on (a new table)"
	assert_exit 0 env NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID=true NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID=true \
		"$PG2MD_BIN" verify --project-dir "$P" --tables r
done

# a source column with a lineage name: exit 2, naming table and column; nothing loaded
P=$T_TMP/clash
make_project "$P" --tables "clash" --config "$LIN"
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(cat "$T_ERR")" 'column "_dlt_id" of table "clash" is named "_dlt_id", which add_dlt_id adds'
[ ! -f "$P/pg2md.duckdb" ] || assert_eq "" "$(ddbq "$P/pg2md.duckdb" "SELECT table_name FROM information_schema.tables
	WHERE table_name = 'clash'")" "clash: nothing loaded"
make_project "$P" --tables "clash" --config "$LIN
[sources.sql_database.clash.columns._dlt_id]
name = \"src_dlt_id\""
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
lineage_checks "$P/pg2md.duckdb" clash "clash renamed by a column hint"

t_done

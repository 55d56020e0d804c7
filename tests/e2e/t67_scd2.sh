#!/usr/bin/env bash
# t67_scd2 — merge's scd2 strategy (dlt's "slowly changing dimension type 2"): a table loaded
# three times with updates, deletes and a re-insert in between keeps every version, each valid
# from the load that brought it to the load that no longer saw it; checked value by value (the
# history, the boundaries against the loads, the active rows against the source), staged and
# direct.  Then dlt's options: validity_column_names, active_record_timestamp,
# boundary_timestamp, row_version_column_name, merge_key (incremental scd2: only the keys
# loaded can retire), hard_delete, a transform, the environment spelling; a new column and a
# widened numeric make no new versions; `pg2md verify` compares the active rows; a crash before
# and after the load's commit is exactly once; bad options stop `pg2md check` with exit 2.
. "$(dirname "$0")/../lib/common.sh"
t_init scd2
require_pg2md

# history P TABLE [COLS] — "id name valid_to_is_null" per version, ordered, one line
history() {
	ddbq "$1/pg2md.duckdb" "SELECT ${3:-id, name}, CASE WHEN _dlt_valid_to IS NULL THEN 'active' ELSE 'retired' END
		FROM pg2md_data.$2 ORDER BY id, _dlt_valid_from, name" | tr '\t' ' ' | paste -sd'|'
}

for mode in staged direct; do
	pg -c "DROP TABLE IF EXISTS cust; CREATE TABLE cust (id int PRIMARY KEY, name text, city char(6), amount numeric,
	         seen timestamptz);
	       INSERT INTO cust VALUES (1,'ann','paris',1.50,'2024-01-01 10:00+02'),(2,'bob','rome',2,NULL),
	                               (3,'cy',NULL,NULL,'2024-02-01 00:00+00'),(4,'dee','oslo',4.25,NULL);"
	P=$T_TMP/$mode
	make_project "$P" --tables "cust" --config '[sources.sql_database.cust]
write_disposition = { disposition = "merge", strategy = "scd2" }'
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
	assert_eq "1 ann active|2 bob active|3 cy active|4 dee active" "$(history "$P" cust)" "$mode: load 1 opens one version per row"
	active_equal "$P" cust "$mode: load 1, the active rows equal the source"
	# load 2: bob renamed, cy deleted, eve new, ann and dee untouched
	pg -c "UPDATE cust SET name = 'bobby' WHERE id = 2; DELETE FROM cust WHERE id = 3; INSERT INTO cust VALUES (5,'eve','lima',5,NULL);"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
	# load 3: cy back exactly as she was (the same row hash as her retired version), bobby again updated
	pg -c "INSERT INTO cust VALUES (3,'cy',NULL,NULL,'2024-02-01 00:00+00'); UPDATE cust SET amount = 2.5 WHERE id = 2;"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
	assert_eq "1 ann active|2 bob retired|2 bobby retired|2 bobby active|3 cy retired|3 cy active|4 dee active|5 eve active" \
		"$(history "$P" cust)" "$mode: three loads: every version kept, the current one active"
	active_equal "$P" cust "$mode: load 3, the active rows equal the source"
	# the boundaries are the loads': valid-from of each version is its load's time, valid-to the next
	loads=$(ddbq "$P/pg2md.duckdb" "SELECT count(DISTINCT _dlt_valid_from), count(DISTINCT _dlt_valid_to) FROM pg2md_data.cust" | tr '\t' ' ')
	assert_eq "3 2" "$loads" "$mode: three load boundaries opened versions, two retired them"
	assert_eq "0" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.cust c WHERE _dlt_valid_to IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM pg2md_data.cust n WHERE n._dlt_valid_from = c._dlt_valid_to)")" \
		"$mode: every version retires at the instant a later load opened versions"
	assert_eq "3" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data._dlt_loads l WHERE EXISTS (SELECT 1 FROM
		pg2md_data.cust c WHERE c._dlt_valid_from = make_timestamptz(CAST(CAST(l.load_id AS DOUBLE) * 1e6 AS BIGINT)))")" \
		"$mode: each boundary is its load id's time (the package's creation)"
	h=$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.cust WHERE id = 3 GROUP BY _dlt_id")
	assert_eq "2" "$h" "$mode: cy's two versions share their row hash (same values)"
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"
	assert_contains "$(cat "$T_OUT")" '"cust" 5 rows' "$mode: verify compares the 5 active rows"
	pg -c "UPDATE cust SET name = 'ann2' WHERE id = 1"
	assert_exit 1 "$PG2MD_BIN" verify --project-dir "$P"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"
	# an unchanged source makes no version; a new column without values and a wider numeric neither
	n=$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.cust")
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
	assert_eq "$n" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.cust")" "$mode: an unchanged source adds no version"
	pg -c "ALTER TABLE cust ADD COLUMN note text; INSERT INTO cust VALUES (6,'fay','kyiv',6.125,NULL,'new')"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
	assert_eq "3" "$(ddbq "$P/pg2md.duckdb" "SELECT numeric_scale FROM information_schema.columns WHERE table_name = 'cust' AND column_name = 'amount'")" \
		"$mode: the numeric column widened to hold 6.125"
	assert_eq "$((n + 1))" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.cust")" \
		"$mode: the new column and the wider numeric made no new version of the old rows; fay is one"
	assert_eq "new" "$(ddbq "$P/pg2md.duckdb" "SELECT note FROM pg2md_data.cust WHERE id = 6")" "$mode: the new column in the new version"
	active_equal "$P" cust "$mode: after the schema changes, the active rows equal the source"
done

# --- dlt's options ------------------------------------------------------------------------------
pg -c "DROP TABLE IF EXISTS opt; CREATE TABLE opt (id int PRIMARY KEY, name text, ver int);
       INSERT INTO opt VALUES (1,'a',101),(2,'b',201);"
P=$T_TMP/opt
make_project "$P" --tables "opt" --config '[sources.sql_database.opt]
write_disposition = { disposition = "merge", strategy = "scd2", validity_column_names = ["ValidFrom", "valid_until"], active_record_timestamp = "9999-12-31", boundary_timestamp = "2024-04-01T12:00:00+02:00", row_version_column_name = "ver" }'
# ver identifies a version (unique across rows, as dlt asks of row_version_column_name)
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
pg -c "UPDATE opt SET name = 'a-same-version' WHERE id = 1; UPDATE opt SET name = 'b2', ver = 202 WHERE id = 2;"
sed -i 's/2024-04-01T12:00:00+02:00/2024-05-01/' "$P/.dlt/config.toml"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
got=$(ddbq "$P/pg2md.duckdb" "SELECT id, name, ver, strftime(valid_from AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M'),
	strftime(valid_until AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM pg2md_data.opt ORDER BY id, valid_from" | tr '\t' ' ' | paste -sd'|')
assert_eq "1 a 101 2024-04-01 10:00 9999-12-31 00:00|2 b 201 2024-04-01 10:00 2024-05-01 00:00|2 b2 202 2024-05-01 00:00 9999-12-31 00:00" "$got" \
	"validity_column_names (normalized), active_record_timestamp, boundary_timestamp, row_version_column_name (same version: no new row)"
assert_eq "" "$(ddbq "$P/pg2md.duckdb" "SELECT column_name FROM information_schema.columns WHERE table_name = 'opt' AND column_name = '_dlt_id'")" \
	"with a row version column, no hash column"

# merge_key: incremental scd2 retires only within the keys loaded
pg -c "DROP TABLE IF EXISTS inc; CREATE TABLE inc (id int PRIMARY KEY, name text, updated int);
       INSERT INTO inc SELECT g, 'n' || g, 1 FROM generate_series(1, 5) g;"
P=$T_TMP/inc
make_project "$P" --tables "inc" --config '[sources.sql_database.inc]
write_disposition = { disposition = "merge", strategy = "scd2" }
merge_key = "id"
incremental.cursor_path = "updated"'
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
pg -c "UPDATE inc SET name = 'n2-new', updated = 2 WHERE id = 2"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_eq "1 n1 active|2 n2 retired|2 n2-new active|3 n3 active|4 n4 active|5 n5 active" "$(history "$P" inc)" \
	"merge_key: rows the incremental extract did not read stay active"
sed -i '/^merge_key/d' "$P/.dlt/config.toml"
assert_exit 0 "$PG2MD_BIN" check --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "no merge_key: each load retires every current row it did not read" \
	"incremental scd2 without merge_key: a warning with the fix"

# hard_delete: a flagged row retires its version and is not inserted
pg -c "DROP TABLE IF EXISTS hd; CREATE TABLE hd (id int PRIMARY KEY, name text, gone boolean);
       INSERT INTO hd VALUES (1,'a',false),(2,'b',false);"
P=$T_TMP/hd
make_project "$P" --tables "hd" --config '[sources.sql_database.hd]
write_disposition = { disposition = "merge", strategy = "scd2" }
[sources.sql_database.hd.columns.gone]
hard_delete = true'
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
pg -c "UPDATE hd SET gone = true WHERE id = 2; INSERT INTO hd VALUES (3,'c',true);"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_eq "1 a active|2 b retired" "$(history "$P" hd)" "hard_delete: b retired, c (flagged) never inserted"

# a transform, and the strategy spelled as dlt's environment variables
pg -c "DROP TABLE IF EXISTS tr; CREATE TABLE tr (id int PRIMARY KEY, name text);
       INSERT INTO tr VALUES (1,'a'),(2,'b');"
P=$T_TMP/tr
make_project "$P" --tables "tr" --config '[sources.sql_database.tr]
write_disposition = "merge"
transform = "SELECT id, upper(name) AS name FROM data"'
export SOURCES__SQL_DATABASE__TR__WRITE_DISPOSITION__STRATEGY=scd2
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
pg -c "UPDATE tr SET name = 'b2' WHERE id = 2"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
unset SOURCES__SQL_DATABASE__TR__WRITE_DISPOSITION__STRATEGY
assert_eq "1 A active|2 B retired|2 B2 active" "$(history "$P" tr)" "a transform's output is versioned; the strategy from the environment"

# --- exactly once across a crash ------------------------------------------------------------------
pg -c "DROP TABLE IF EXISTS kc; CREATE TABLE kc (id int PRIMARY KEY, name text);
       INSERT INTO kc SELECT g, 'v' || g FROM generate_series(1, 50) g;"
P=$T_TMP/kill
make_project "$P" --tables "kc" --config '[sources.sql_database.kc]
write_disposition = { disposition = "merge", strategy = "scd2" }'
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
for point in load:before_commit load:after_commit; do
	pg -c "UPDATE kc SET name = name || 'x' WHERE id % 10 = 0; DELETE FROM kc WHERE id = (SELECT min(id) FROM kc)"
	before=$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.kc")
	assert_exit 137 env PG2MD_FAULT="$point" "$PG2MD_BIN" run --project-dir "$P"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
	# 5 updated rows retire and reopen, 1 deleted retires: 5 new versions, once
	assert_eq "$((before + 5))" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.kc")" \
		"$point: the crashed load's versions exist once after the rerun"
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"
done

# --- bad options: exit 2 from check, before any connection -----------------------------------------
bad() {
	local P=$T_TMP/bad-$RANDOM
	make_project "$P" --tables "cust" --config "[sources.sql_database.cust]
$1"
	assert_exit 2 "$PG2MD_BIN" check --project-dir "$P"
	assert_contains "$(cat "$T_ERR")" "$2" "check: $2"
}
bad 'write_disposition = { disposition = "merge", strategy = "scd3" }' 'expected "delete-insert", "upsert", "insert-only" or "scd2"'
bad 'write_disposition = { disposition = "merge", strategy = "scd2", validity_column_names = ["a"] }' 'must name two different columns'
bad 'write_disposition = { disposition = "merge", strategy = "scd2", boundary_timestamp = "yesterday" }' 'is not a date or timestamp'
bad 'write_disposition = { disposition = "merge", strategy = "upsert", validity_column_names = ["a", "b"] }' 'applies to the "scd2" merge strategy only'
P=$T_TMP/clash
make_project "$P" --tables "cust" --config '[sources.sql_database.cust]
write_disposition = { disposition = "merge", strategy = "scd2", validity_column_names = ["name", "valid_to"] }'
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(cat "$T_ERR")" 'has a column "name", which scd2 needs' "a validity column that is a column of the table is refused"

t_done

#!/usr/bin/env bash
# t57_merge_hints — merge with dlt's column hints (hard_delete, dedup_sort) under both merge
# strategies: delete-insert (the default) and upsert (DuckDB's MERGE INTO); an unsupported
# strategy is a configuration error.
. "$(dirname "$0")/../lib/common.sh"
t_init merge_hints
require_pg2md

for strategy in delete-insert upsert; do
	pg -c "DROP TABLE IF EXISTS hd; CREATE TABLE hd (id int, ver int, deleted boolean, v text);
	       INSERT INTO hd VALUES (1,1,false,'a'),(2,1,false,'b'),(3,1,false,'c'),(6,1,false,'f');"
	P=$T_TMP/$strategy
	make_project "$P" --tables "hd" --config "[sources.sql_database.hd]
write_disposition.disposition = \"merge\"
write_disposition.strategy = \"$strategy\"
primary_key = \"id\"
[sources.sql_database.hd.columns.deleted]
hard_delete = true
[sources.sql_database.hd.columns.ver]
dedup_sort = \"desc\""
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
	# new versions of 2 (two of them), 3 flagged deleted, 4 new, 5 new but flagged, 6 updated
	pg -c "INSERT INTO hd VALUES (2,2,false,'b2'),(2,3,false,'b3'),(3,2,true,'c-del'),(4,1,false,'d'),
	                             (5,1,true,'never'),(6,2,false,'f2');
	       DELETE FROM hd WHERE (id, ver) IN ((2,1),(3,1),(6,1));"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
	assert_eq "1 1 a|2 3 b3|4 1 d|6 2 f2" \
		"$(ddbq "$P/pg2md.duckdb" "SELECT id, ver, v FROM pg2md_data.hd ORDER BY id" | tr '\t' ' ' | paste -sd'|')" \
		"$strategy: dedup_sort keeps the highest version, hard_delete removes 3 and never inserts 5"
done

P=$T_TMP/bad
make_project "$P" --tables "hd" --config '[sources.sql_database.hd]
write_disposition.disposition = "merge"
write_disposition.strategy = "scd2"
primary_key = "id"'
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(cat "$T_ERR")" '"scd2"' "an unsupported strategy is named in the error"

t_done

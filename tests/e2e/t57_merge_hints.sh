#!/usr/bin/env bash
# t57_merge_hints — merge with dlt's column hints (hard_delete, dedup_sort) under the merge
# strategies: delete-insert (the default), upsert (DuckDB's MERGE INTO) and insert-only (new keys
# only, staged and direct); an unsupported
# strategy is a configuration error.  dlt's merge_key: a day reloaded whole (rows deleted at the
# source leave the destination with their day; other days stay), with and without a primary
# key, staged and direct; merge_key with upsert, or naming no column, is a configuration error.
. "$(dirname "$0")/../lib/common.sh"
t_init merge_hints
require_pg2md

for run in delete-insert upsert insert-only insert-only:direct; do
	strategy=${run%%:*} mode=staged
	[ "$run" != "$strategy" ] && mode=${run#*:}
	pg -c "DROP TABLE IF EXISTS hd; CREATE TABLE hd (id int, ver int, deleted boolean, v text);
	       INSERT INTO hd VALUES (1,1,false,'a'),(2,1,false,'b'),(3,1,false,'c'),(6,1,false,'f');"
	P=$T_TMP/$strategy-$mode
	make_project "$P" --tables "hd" --config "[sources.sql_database.hd]
write_disposition.disposition = \"merge\"
write_disposition.strategy = \"$strategy\"
primary_key = \"id\"
[sources.sql_database.hd.columns.deleted]
hard_delete = true
[sources.sql_database.hd.columns.ver]
dedup_sort = \"desc\""
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
	# new versions of 2 (two of them), 3 flagged deleted, 4 new, 5 new but flagged, 6 updated
	pg -c "INSERT INTO hd VALUES (2,2,false,'b2'),(2,3,false,'b3'),(3,2,true,'c-del'),(4,1,false,'d'),
	                             (5,1,true,'never'),(6,2,false,'f2');
	       DELETE FROM hd WHERE (id, ver) IN ((2,1),(3,1),(6,1));"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
	if [ "$strategy" = insert-only ]; then
		# dlt's insert-only: keys already there (2, 3, 6) keep their rows, 4 is new, 5 flagged: never inserted
		assert_eq "1 1 a|2 1 b|3 1 c|4 1 d|6 1 f" \
			"$(ddbq "$P/pg2md.duckdb" "SELECT id, ver, v FROM pg2md_data.hd ORDER BY id" | tr '\t' ' ' | paste -sd'|')" \
			"$strategy, $mode: existing keys untouched, new keys inserted, a flagged new row never"
		continue
	fi
	assert_eq "1 1 a|2 3 b3|4 1 d|6 2 f2" \
		"$(ddbq "$P/pg2md.duckdb" "SELECT id, ver, v FROM pg2md_data.hd ORDER BY id" | tr '\t' ' ' | paste -sd'|')" \
		"$strategy: dedup_sort keeps the highest version, hard_delete removes 3 and never inserts 5"
done

P=$T_TMP/bad
make_project "$P" --tables "hd" --config '[sources.sql_database.hd]
write_disposition.disposition = "merge"
write_disposition.strategy = "scd3"
primary_key = "id"'
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(cat "$T_ERR")" '"scd3"' "an unknown strategy is named in the error"

# --- merge_key --------------------------------------------------------------------------------
for mode in staged direct; do
	for key in 'primary_key = "id"' ''; do
		pg -c "DROP TABLE IF EXISTS ev; CREATE TABLE ev (id int, day date, v text);
		       INSERT INTO ev SELECT g, DATE '2024-01-01' + (g % 3), 'v' || g FROM generate_series(1, 30) g;"
		P=$T_TMP/mk-$mode-${key:+pk}
		make_project "$P" --tables "ev" --config "[sources.sql_database.ev]
write_disposition = \"merge\"
merge_key = \"day\"
$key
where = \"day >= DATE '2024-01-02'\""
		what="$mode, merge_key${key:+ and primary_key}"
		assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
		# the destination also holds a row of a day the filter never reads, and a stale one of a read day
		ddbq --rw "$P/pg2md.duckdb" "INSERT INTO pg2md_data.ev VALUES (100, DATE '2024-01-01', 'kept'), (101, DATE '2024-01-02', 'stale')"
		# at the source: two rows of 2024-01-02 deleted, one of 2024-01-03 changed, a new one
		pg -c "DELETE FROM ev WHERE id IN (3, 6); UPDATE ev SET v = 'changed' WHERE id = 2; INSERT INTO ev VALUES (31, DATE '2024-01-03', 'new');"
		assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
		want=$(pgq "SELECT id, day, v FROM ev WHERE day >= DATE '2024-01-02' ORDER BY id" | paste -sd'|')
		assert_eq "$want|100	2024-01-01	kept" \
			"$(ddbq "$P/pg2md.duckdb" "SELECT id, day, v FROM pg2md_data.ev ORDER BY id" | paste -sd'|')" \
			"$what: each day read is replaced whole (deleted and stale rows gone), the day not read stays"
	done
done
P=$T_TMP/mk-upsert
make_project "$P" --tables "ev" --config '[sources.sql_database.ev]
write_disposition.disposition = "merge"
write_disposition.strategy = "upsert"
primary_key = "id"
merge_key = "day"'
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(cat "$T_ERR")" 'does not apply to the "upsert" strategy' "merge_key with upsert: a configuration error"
P=$T_TMP/mk-missing
make_project "$P" --tables "ev" --config '[sources.sql_database.ev]
write_disposition = "merge"
merge_key = ["day", "nope"]'
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(cat "$T_ERR")" 'merge_key column "nope" of table "ev" does not exist' "a merge_key column that does not exist: a configuration error"

t_done

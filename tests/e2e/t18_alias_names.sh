#!/usr/bin/env bash
# t18_alias_names — tables named like the aliases of pg2md's load statements (m, s, t, k): every
# merge strategy and an incremental append load them, staged and direct, twice with changes at
# the source in between, and each equals what the source says it should be, value by value.  A
# table named "m" with a merge_key failed to load ("Binder Error: Ambiguous reference to table
# "m""): the delete-insert statement called its key subquery m.
. "$(dirname "$0")/../lib/common.sh"
t_init alias_names
require_pg2md

CONFIG='[sources.sql_database.m]
write_disposition = "merge"
merge_key = "day"
[sources.sql_database.s]
write_disposition = { disposition = "merge", strategy = "upsert" }
[sources.sql_database.t]
write_disposition = { disposition = "merge", strategy = "scd2" }
[sources.sql_database.k]
write_disposition = { disposition = "merge", strategy = "insert-only" }
[sources.sql_database.n]
write_disposition = "append"
incremental = { cursor_path = "u" }'

for mode in staged direct; do
	pg -c "DROP TABLE IF EXISTS m, s, t, k, n;
	       CREATE TABLE m (id int, day int, v text);
	       INSERT INTO m SELECT g, g % 3, 'm' || g FROM generate_series(1, 30) g;
	       CREATE TABLE s (id int PRIMARY KEY, v text);
	       INSERT INTO s SELECT g, 's' || g FROM generate_series(1, 20) g;
	       CREATE TABLE t (id int PRIMARY KEY, v text);
	       INSERT INTO t SELECT g, 't' || g FROM generate_series(1, 20) g;
	       CREATE TABLE k (id int PRIMARY KEY, v text);
	       INSERT INTO k SELECT g, 'k' || g FROM generate_series(1, 20) g;
	       CREATE TABLE n (id int PRIMARY KEY, u int, v text);
	       INSERT INTO n SELECT g, g / 4, 'n' || g FROM generate_series(1, 20) g;" || t_bail "cannot build the tables"
	P=$T_TMP/$mode
	make_project "$P" --tables "m s t k n" --config "$CONFIG"
	DB=$P/pg2md.duckdb
	assert_exit 0 "$PG2MD_BIN" run --$mode --project-dir "$P"
	for tb in m s k n; do
		assert_table_equal public $tb "$DB" pg2md_data $tb "$mode, first run: table $tb"
	done
	active_equal "$P" t "$mode, first run: table t (scd2)"

	# changes: m's day 1 rewritten and a day-2 row deleted (its merge key reloads the day whole);
	# s updated and grown; t updated; k grown only (insert-only never updates); n grown, with a
	# row at the last cursor value (5) that the closed range reads again and must not double
	pg -c "UPDATE m SET v = v || '!' WHERE day = 1; DELETE FROM m WHERE id = 2;
	       UPDATE s SET v = v || '!' WHERE id % 2 = 0; INSERT INTO s SELECT g, 's' || g FROM generate_series(21, 25) g;
	       UPDATE t SET v = v || '!' WHERE id <= 5;
	       INSERT INTO k SELECT g, 'k' || g FROM generate_series(21, 25) g;
	       INSERT INTO n VALUES (100, 5, 'at the last value'), (101, 9, 'after it');" || t_bail "cannot change the tables"
	assert_exit 0 "$PG2MD_BIN" run --$mode --project-dir "$P"
	for tb in m s k n; do
		assert_table_equal public $tb "$DB" pg2md_data $tb "$mode, second run: table $tb"
	done
	active_equal "$P" t "$mode, second run: table t (scd2)"
	assert_eq 25 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.t")" "$mode: t holds 20 versions and the 5 retired ones"
done

t_done

#!/usr/bin/env bash
# t89_motherduck_rules — the MotherDuck load path end to end on a local DuckDB file, with the
# test-only switch PG2MD_TEST_MOTHERDUCK_RULES=1 that makes it load as into MotherDuck: every
# statement under 512 KB (checked before it is sent; the split of thousands of files is
# unit.test_motherduck's), batch_size rows per INSERT (a large file read in row ranges), the upload in steps of bounded transactions into
# work tables, then one short transaction (replace swaps the work table in).  replace, append and
# merge, staged and direct, compared with the source value by value; a run killed between two
# steps continues after the last committed one, and nothing arrives twice.
. "$(dirname "$0")/../lib/common.sh"
t_init motherduck_rules
require_pg2md
export PG2MD_TEST_MOTHERDUCK_RULES=1

pg -c "CREATE TABLE big (id int primary key, v text, n numeric(12,3), at timestamptz, d interval);
       INSERT INTO big SELECT g, 'v' || g, g * 1.5, TIMESTAMPTZ '2024-01-01' + g * interval '1 minute',
              g * interval '1 hour 3 seconds' FROM generate_series(1, 2000) g;
       CREATE TABLE other (k int primary key, t text); INSERT INTO other SELECT g, repeat('x', g % 50) FROM generate_series(1, 3000) g;"

LONGDIR=$T_TMP
steps_sql="SELECT count(*) FROM pg2md_data._pg2md_load_steps"

for mode in staged direct; do
	for disp in replace append merge; do
		P=$LONGDIR/$mode-$disp
		make_project "$P" --tables "big other" --config "[sources.sql_database.big]
write_disposition = \"$disp\"
[destination.motherduck]
batch_size = 300
transaction_rows = 900"
		assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode --log-level DEBUG
		assert_table_equal public big "$P/pg2md.duckdb" pg2md_data big "$mode $disp: first load"
		assert_table_equal public other "$P/pg2md.duckdb" pg2md_data other "$mode $disp: first load, a second table (replace)"
		if [ "$mode" = staged ]; then
			# one file of 2,000 rows read in ranges of 300 rows per INSERT: 7 steps, three to a transaction
			assert_contains "$(cat "$T_ERR")" "steps up to 3 of 7 committed (900 rows" "$mode $disp: steps of batch_size rows, transactions of transaction_rows"
			assert_contains "$(cat "$T_ERR")" "steps up to 7 of 7 committed (200 rows" "$mode $disp: the last step"
			assert_eq "" "$(ddbq "$P/pg2md.duckdb" "SELECT table_name FROM duckdb_tables() WHERE table_name = '_pg2md_load_steps'")" \
				"$mode $disp: the step records, and their table, are gone after the load"
		fi
		if [ "$mode" = direct ]; then
			# the workers read, and hand their rows to one connection (t92 tests it further)
			assert_match "$(cat "$T_ERR")" "direct under MotherDuck's rules: [0-9]+ workers read, one connection writes" \
				"$mode $disp: one writer"
		fi
		assert_eq "" "$(ddbq "$P/pg2md.duckdb" "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '_pg2md_new%'")" \
			"$mode $disp: no work table left"
		# a second run: new rows, a changed row
		pg -c "INSERT INTO big SELECT g, 'v' || g, g, now(), interval '1 day' FROM generate_series(2001, 2100) g;
		       UPDATE big SET v = 'changed' WHERE id = 7;"
		if [ "$disp" = append ]; then
			pg -c "DELETE FROM big WHERE id > 2000; UPDATE big SET v = 'v7' WHERE id = 7;"
			assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
			assert_eq "4000 $((2 * 2001000))" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*), sum(id) FROM pg2md_data.big" | tr '\t' ' ')" \
				"$mode append: every row twice after two runs, no more"
		else
			assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --$mode
			assert_table_equal public big "$P/pg2md.duckdb" pg2md_data big "$mode $disp: second load"
			pg -c "DELETE FROM big WHERE id > 2000; UPDATE big SET v = 'v7' WHERE id = 7;"
		fi
		assert_table_equal public other "$P/pg2md.duckdb" pg2md_data other "$mode $disp: second load, the second table"
		assert_eq 2 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data._dlt_loads")" "$mode $disp: two loads recorded"
	done
done

# --- killed between steps: the next run continues after the last committed step ----------------
for disp in replace append merge; do
	P=$LONGDIR/crash-$disp
	make_project "$P" --tables "big" --config "[sources.sql_database.big]
write_disposition = \"$disp\"
[destination.motherduck]
batch_size = 300
transaction_rows = 300"
	# steps of 300 rows, one per transaction: killed after the third commit
	assert_exit 137 env PG2MD_FAULT=load:step_committed PG2MD_FAULT_SKIP=2 "$PG2MD_BIN" run --project-dir "$P"
	assert_eq 3 "$(ddbq "$P/pg2md.duckdb" "$steps_sql")" "crash $disp: three steps committed before the kill"
	assert_eq 900 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data._pg2md_new__big")" "crash $disp: their rows in the work table"
	assert_eq 0 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data._dlt_loads")" "crash $disp: nothing loaded yet"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --log-level INFO
	assert_contains "$(cat "$T_ERR")" "continuing load" "crash $disp: the run says it continues"
	assert_contains "$(cat "$T_ERR")" "at step 4 of 7" "crash $disp: after the last committed step"
	assert_table_equal public big "$P/pg2md.duckdb" pg2md_data big "crash $disp: every row exactly once"
	assert_eq 1 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data._dlt_loads")" "crash $disp: one load"
	# killed after the load's commit, before the package was marked: the retry finds _dlt_loads
	assert_exit 137 env PG2MD_FAULT=load:after_commit "$PG2MD_BIN" run --project-dir "$P"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --log-level INFO
	assert_contains "$(cat "$T_ERR")" "already loaded" "crash $disp: a committed load is not loaded again"
	if [ "$disp" = append ]; then
		assert_eq "4000" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.big")" "crash append: two loads, no third"
	else
		assert_table_equal public big "$P/pg2md.duckdb" pg2md_data big "crash $disp: after the retry"
	fi
done

# --- without the switch a local file keeps one transaction per package ------------------------
P=$T_TMP/plain
make_project "$P" --tables "big" --config "[data_writer]
file_max_items = 500"
assert_exit 0 env -u PG2MD_TEST_MOTHERDUCK_RULES "$PG2MD_BIN" run --project-dir "$P" --log-level DEBUG
assert_not_contains "$(cat "$T_ERR")" "steps up to" "no switch: no steps"
assert_eq "" "$(ddbq "$P/pg2md.duckdb" "SELECT table_name FROM duckdb_tables() WHERE table_name = '_pg2md_load_steps'")" \
	"no switch: no table of steps"
assert_table_equal public big "$P/pg2md.duckdb" pg2md_data big "no switch: the data"

t_done

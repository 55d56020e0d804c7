#!/usr/bin/env bash
# t82_query — a table defined by a replacement query (`query = "SELECT … JOIN …"`): its rows are
# the query's, value by value (checked against a view of the same query), read as one task in
# the run's snapshot; it composes with where, excluded_columns, a transform, replace, append and
# merge (delete-insert and upsert) with incremental loading on one of its output columns;
# `pg2md check` describes it and `pg2md verify` compares it; a query that does not describe, holds
# two statements, is not a SELECT, writes, or returns one name twice is refused before any data
# moves (exit 2), naming the table and showing PostgreSQL's message.
. "$(dirname "$0")/../lib/common.sh"
t_init query
require_pg2md

pg <<'SQL'
CREATE SCHEMA my_pg;
CREATE TYPE my_pg.category AS ENUM ('Books', 'Music', 'Sports');
CREATE DOMAIN my_pg.brand_name AS varchar(50) NOT NULL;
CREATE TABLE my_pg.item (i_item_sk int PRIMARY KEY, i_brand my_pg.brand_name, i_category my_pg.category,
                         i_current_price numeric(7,2), i_tags text[]);
INSERT INTO my_pg.item SELECT g, 'brand #' || g, (ARRAY['Books','Music','Sports'])[g % 3 + 1]::my_pg.category,
       g * 1.25, CASE WHEN g % 4 = 0 THEN NULL ELSE ARRAY['t' || g, NULL, 'x'] END
FROM generate_series(1, 200) g;
CREATE TABLE my_pg.store_sales (ss_ticket_number int, ss_item_sk int, ss_quantity int, ss_net_paid numeric(7,2),
                                ss_sold_date date, updated_at timestamptz,
                                PRIMARY KEY (ss_ticket_number, ss_item_sk));
INSERT INTO my_pg.store_sales SELECT g / 3, g % 200 + 1, g % 9, (g % 1000) * 0.37, DATE '2024-01-01' + g % 365,
       timestamptz '2024-01-01 00:00+00' + g * interval '1 minute'
FROM generate_series(1, 30000) g ON CONFLICT DO NOTHING;
SQL

Q='SELECT ss.ss_ticket_number, ss.ss_item_sk, i.i_brand, i.i_category, ss.ss_quantity, ss.ss_net_paid,
       ss.ss_quantity * i.i_current_price AS gross, ss.ss_sold_date, ss.updated_at
FROM my_pg.store_sales ss JOIN my_pg.item i ON i.i_item_sk = ss.ss_item_sk -- the guide'"'"'s TPC-DS tables
;'
pg -c "CREATE VIEW my_pg.expected AS $Q"
# the query as a TOML multi-line literal string: no escapes to think about
QTOML="query = '''
$Q'''"

trace_table() { # DIR TABLE FIELD — FIELD of TABLE in the last run's trace
	"$PG2MD_BIN" trace --json --project-dir "$1" |
		python3 -c 'import json,sys; print([t for t in json.load(sys.stdin)["tables"] if t["name"] == sys.argv[1]][0][sys.argv[2]])' "$2" "$3"
}

# --- replace, staged and direct: the query's rows, value by value, as one task ----------------
for mode in staged direct; do
	P=$T_TMP/$mode
	flag=""
	[ "$mode" = direct ] && flag=--direct
	make_project "$P" --schema my_pg --tables "item sales_by_item tags" --config "[sources.sql_database.sales_by_item]
$QTOML
[sources.sql_database.tags]
query = \"SELECT i_item_sk, i_tags FROM my_pg.item WHERE i_item_sk % 2 = 0\""
	pg -c "ANALYZE"
	assert_exit 0 "$PG2MD_BIN" run $flag --project-dir "$P" --progress none
	assert_table_equal my_pg expected "$P/pg2md.duckdb" pg2md_data sales_by_item "$mode: the query table equals the query's rows"
	assert_table_equal my_pg item "$P/pg2md.duckdb" pg2md_data item "$mode: a plain table of the same run"
	pg -c "CREATE OR REPLACE VIEW my_pg.expected_tags AS SELECT i_item_sk, i_tags FROM my_pg.item WHERE i_item_sk % 2 = 0"
	assert_table_equal my_pg expected_tags "$P/pg2md.duckdb" pg2md_data tags "$mode: a query with an array column"
	assert_eq 1 "$(trace_table "$P" sales_by_item tasks)" "$mode: the query is read as one task"
	assert_eq "VARCHAR ENUM('Books', 'Music', 'Sports') DECIMAL(7,2) DECIMAL(18,2)" \
		"$(ddbq "$P/pg2md.duckdb" "SELECT data_type FROM information_schema.columns WHERE table_name = 'sales_by_item'
		   AND column_name IN ('i_brand', 'i_category', 'ss_net_paid', 'gross') ORDER BY ordinal_position" | tr '\n' ' ' | sed 's/ $//')" \
		"$mode: domain, enum and numeric(7,2) output columns get their decoders (a computed numeric has no typmod: a DECIMAL measured over the query's rows)"
	assert_eq "VARCHAR[]" "$(duck_type "$P/pg2md.duckdb" pg2md_data tags i_tags)" "$mode: an array output column is a LIST"
	# (verify leaves out tables with arrays: it compares a LIST with PostgreSQL's array text)
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P" --tables sales_by_item
	assert_match "$(cat "$T_OUT")" '^  ok +"sales_by_item" +[0-9]+ rows, checksum' "$mode: verify compares the query's rows and values"
done

# --- check describes the query ---------------------------------------------------------------
assert_exit 0 "$PG2MD_BIN" check --project-dir "$T_TMP/staged"
assert_match "$(cat "$T_OUT")" 'ok +table "sales_by_item" +query, 9 columns, read as one task' "check: the query is described"

# --- where, excluded_columns and a transform on the query's output ----------------------------
P=$T_TMP/filtered
make_project "$P" --schema my_pg --tables "sales_by_item" --config "[sources.sql_database.sales_by_item]
$QTOML
where = \"i_category = 'Music' AND gross > 10\"
excluded_columns = [\"ss_sold_date\"]
transform = \"SELECT * EXCLUDE (i_brand), md5(i_brand) AS brand_hash FROM data\""
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
pgq "SELECT ss_ticket_number, ss_item_sk, md5(i_brand), gross FROM my_pg.expected WHERE i_category = 'Music' AND gross > 10 ORDER BY 1, 2" >"$T_TMP/src.txt"
ddbq "$P/pg2md.duckdb" "SELECT ss_ticket_number, ss_item_sk, brand_hash, gross FROM pg2md_data.sales_by_item ORDER BY 1, 2" >"$T_TMP/dst.txt"
assert_eq "$(wc -l <"$T_TMP/src.txt")" "$(wc -l <"$T_TMP/dst.txt")" "where: the destination holds the filtered rows ($(wc -l <"$T_TMP/src.txt"))"
assert_eq "" "$(diff "$T_TMP/src.txt" "$T_TMP/dst.txt" | head -3)" "where + transform: every row and value as the source computes it"
assert_eq "" "$(ddbq "$P/pg2md.duckdb" "SELECT column_name FROM information_schema.columns WHERE table_name = 'sales_by_item' AND column_name IN ('ss_sold_date', 'i_brand')")" \
	"excluded_columns and the transform leave ss_sold_date and i_brand out"
assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"
assert_match "$(cat "$T_OUT")" '"sales_by_item" +[0-9]+ rows \(transformed: rows counted, values not compared\) \(source filtered by where\)' \
	"verify: a transformed query table is compared by its rows after the where filter"

# --- incremental loading on an output column, with every write disposition --------------------
INCR="incremental.cursor_path = \"updated_at\"
incremental.initial_value = \"2024-01-10T00:00:00Z\""
WINDOW="updated_at >= timestamptz '2024-01-10 00:00+00'"
declare -A DISP=([merge]='write_disposition = "merge"
primary_key = ["ss_ticket_number", "ss_item_sk"]'
	[upsert]='write_disposition = { disposition = "merge", strategy = "upsert" }
primary_key = ["ss_ticket_number", "ss_item_sk"]'
	[append]='write_disposition = "append"'
	[replace]='write_disposition = "replace"')
for d in merge upsert append replace; do
	P=$T_TMP/incr_$d
	make_project "$P" --schema my_pg --tables "sales_by_item" --config "[sources.sql_database.sales_by_item]
$QTOML
${DISP[$d]}
$INCR"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
	assert_eq "$(pgq "SELECT count(*) FROM my_pg.expected WHERE $WINDOW")" "$(trace_table "$P" sales_by_item rows)" \
		"$d + incremental: the first run reads the rows from initial_value on"
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"
	assert_match "$(cat "$T_OUT")" '"sales_by_item" +[0-9]+ rows, checksum .*incremental window' "$d: verify compares the incremental window"
done
# the source changes: 10 rows updated, 5 new ones
pg -c "UPDATE my_pg.store_sales SET ss_net_paid = ss_net_paid + 1, updated_at = timestamptz '2025-06-01 00:00+00'
       WHERE ss_ticket_number BETWEEN 5000 AND 5003;
       INSERT INTO my_pg.store_sales SELECT 20000 + g, g, 1, 9.99, DATE '2025-06-02', timestamptz '2025-06-02 00:00+00' + g * interval '1 s'
       FROM generate_series(1, 5) g;"
changed=$(pgq "SELECT count(*) FROM my_pg.store_sales WHERE updated_at >= timestamptz '2025-06-01 00:00+00'")
for d in merge upsert append replace; do
	P=$T_TMP/incr_$d
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
	# the changed and new rows, and the row at the last value (the closed range start reads it again)
	assert_eq $((changed + 1)) "$(trace_table "$P" sales_by_item rows)" "$d + incremental: the second run reads only the $changed changed rows and the boundary row"
done
for d in merge upsert; do
	P=$T_TMP/incr_$d
	pg -c "SET client_min_messages = warning; DROP VIEW IF EXISTS my_pg.expected_window; CREATE VIEW my_pg.expected_window AS SELECT * FROM my_pg.expected WHERE $WINDOW"
	assert_table_equal my_pg expected_window "$P/pg2md.duckdb" pg2md_data sales_by_item "$d + incremental: the destination equals the query's rows in the window"
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"
done
P=$T_TMP/incr_append
# append: the first run's rows, then the changed rows again (append adds what it reads), the boundary row once
assert_eq "$(( $(pgq "SELECT count(*) FROM my_pg.expected WHERE $WINDOW") + $(pgq "SELECT count(*) FROM my_pg.store_sales WHERE ss_ticket_number BETWEEN 5000 AND 5003") ))" \
	"$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.sales_by_item")" "append + incremental: old versions stay, the boundary row is not duplicated"
assert_eq 0 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM (SELECT ss_ticket_number, ss_item_sk, updated_at FROM pg2md_data.sales_by_item GROUP BY ALL HAVING count(*) > 1)")" \
	"append + incremental: no row version twice"
P=$T_TMP/incr_replace
assert_eq "$((changed + 1))" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.sales_by_item")" "replace + incremental: the table holds the last run's rows"

# row_order: one task, so the rows can come ordered by the cursor
P=$T_TMP/order
make_project "$P" --schema my_pg --tables "sales_by_item" --config "[sources.sql_database.sales_by_item]
$QTOML
$INCR
incremental.row_order = \"desc\""
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none --log-level DEBUG
assert_contains "$(cat "$T_ERR")" 'ORDER BY "updated_at" DESC) TO STDOUT' "row_order: the query's COPY orders by the cursor"

# --- merge needs a key the query cannot give ---------------------------------------------------
P=$T_TMP/nokey
make_project "$P" --schema my_pg --tables "sales_by_item" --config "[sources.sql_database.sales_by_item]
$QTOML
write_disposition = \"merge\""
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_contains "$(cat "$T_ERR")" 'table "sales_by_item" has write_disposition "merge" but no primary key' "merge without primary_key: refused"

# --- queries refused before any data moves ----------------------------------------------------
bad_query() { # NAME QUERY EXPECTED-MESSAGE…
	local name=$1 q=$2
	shift 2
	P=$T_TMP/bad_$name
	make_project "$P" --schema my_pg --tables "item sales_by_item" --config "[sources.sql_database.sales_by_item]
query = '''$q'''"
	assert_exit 2 "$PG2MD_BIN" run --project-dir "$P" --progress none
	local m
	for m in "$@"; do
		assert_contains "$(cat "$T_ERR")" "$m" "$name: the error says: $m"
	done
	assert_eq "" "$(find "$P" -name '*.parquet' -o -name pg2md.duckdb)" "$name: nothing was extracted or loaded"
}
bad_query missing_column 'SELECT nope FROM my_pg.item' 'the query of table "sales_by_item" cannot be described' 'column "nope" does not exist'
bad_query missing_table 'SELECT * FROM store_sales' 'relation "store_sales" does not exist' 'qualify its tables'
bad_query parameter 'SELECT * FROM my_pg.item WHERE i_item_sk = $1' 'the query of table "sales_by_item" has parameters' 'HINT:  write the values into'
bad_query two_statements 'SELECT 1 AS a; SELECT 2 AS a' 'the query of table "sales_by_item" holds more than one statement'
bad_query not_select 'DELETE FROM my_pg.item RETURNING *' 'the query of table "sales_by_item" is not a SELECT statement' 'starts with "delete"'
bad_query writing_cte 'WITH d AS (DELETE FROM my_pg.item RETURNING *) SELECT * FROM d' 'cannot be described' 'data-modifying'
bad_query same_name 'SELECT i.i_item_sk, s.ss_item_sk AS i_item_sk FROM my_pg.item i JOIN my_pg.store_sales s ON s.ss_item_sk = i.i_item_sk' \
	'returns more than one column named "i_item_sk"'
assert_eq 200 "$(pgq "SELECT count(*) FROM my_pg.item")" "the refused DELETE deleted nothing"
assert_exit 1 "$PG2MD_BIN" check --project-dir "$T_TMP/bad_missing_column"
assert_match "$(cat "$T_OUT")" 'FAILED +table "sales_by_item" +the query of table "sales_by_item" cannot be described' "check: a query that does not describe fails the check"
assert_match "$(cat "$T_OUT")" 'ok +table "item"' "check: the other tables are still checked"

t_done

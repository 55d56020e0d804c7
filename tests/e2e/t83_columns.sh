#!/usr/bin/env bash
# t83_columns — dlt's column hints that change a column: columns.<c>.name renames it (under the
# naming convention), columns.<c>.data_type (+ precision, scale) casts it at extract, value by
# value equal to PostgreSQL's own cast (checked against a view); merge (delete-insert and upsert,
# with hard_delete), append and incremental keep working on renamed and re-typed columns, whether
# the config names the source column or its new name; verify compares re-typed columns; an
# unknown column, a colliding name, an unknown type, a misplaced scale and a cast PostgreSQL does
# not have are configuration errors naming file:line (exit 2, nothing extracted), and a value the
# cast refuses fails the run (exit 1) naming the table, the value and the override, nothing loaded.
. "$(dirname "$0")/../lib/common.sh"
t_init columns
require_pg2md

pg <<'SQL'
CREATE TABLE orders (id int PRIMARY KEY, amount numeric(12,4), qty_text text, flag_text text, small_big int8,
                     price numeric(10,4), code int, payload jsonb, doc_text text, raw_text text, day_text text,
                     time_text text, ts_text text, "CamelCase" int, updated_at timestamptz, deleted boolean);
INSERT INTO orders
SELECT g, CASE WHEN g % 17 = 0 THEN NULL ELSE g * 1.2345 + 0.0001 END, (g * 3)::text, CASE WHEN g % 2 = 0 THEN 'true' ELSE 'f' END,
       g * 1000, g * 0.1234 + 0.005, g % 50, jsonb_build_object('k', g, 'a', jsonb_build_array(1, 'x')),
       '{"id": ' || g || ', "s": "v\u00e9"}', 'bytes ' || g || E' \u00e9', (DATE '2024-01-01' + g)::text,
       '12:34:' || lpad((g % 60)::text, 2, '0') || '.5', '2024-03-01 10:00:00+02', g % 7,
       timestamptz '2024-01-01 00:00+00' + g * interval '1 minute', false
FROM generate_series(1, 3000) g;
CREATE VIEW orders_expected AS
SELECT id AS order_id, amount::float8 AS amount, qty_text::bigint AS qty, flag_text::boolean AS flag_text,
       small_big::int4 AS small_big, price::numeric(8,2) AS price, code::text AS code, payload::text AS payload,
       doc_text::json AS doc_text, convert_to(raw_text, 'UTF8') AS raw_text, day_text::date AS day_text,
       time_text::time AS time_text, ts_text::timestamptz AS ts_text, "CamelCase" AS renamed_camel,
       updated_at AS changed_at, deleted AS is_deleted
FROM orders;
SQL

HINTS='[sources.sql_database.orders.columns.id]
name = "order_id"
[sources.sql_database.orders.columns.amount]
data_type = "double"
[sources.sql_database.orders.columns.qty_text]
name = "qty"
data_type = "bigint"
[sources.sql_database.orders.columns.flag_text]
data_type = "bool"
[sources.sql_database.orders.columns.small_big]
data_type = "bigint"
precision = 32
[sources.sql_database.orders.columns.price]
data_type = "decimal"
precision = 8
scale = 2
[sources.sql_database.orders.columns.code]
data_type = "text"
[sources.sql_database.orders.columns.payload]
data_type = "text"
[sources.sql_database.orders.columns.doc_text]
data_type = "complex"
[sources.sql_database.orders.columns.raw_text]
data_type = "binary"
[sources.sql_database.orders.columns.day_text]
data_type = "date"
[sources.sql_database.orders.columns.time_text]
data_type = "time"
[sources.sql_database.orders.columns.ts_text]
data_type = "timestamp"
[sources.sql_database.orders.columns.CamelCase]
name = "renamedCamel"
[sources.sql_database.orders.columns.updated_at]
name = "changed_at"
[sources.sql_database.orders.columns.deleted]
name = "is_deleted"'

types() { # DUCKFILE — "column:type …" of pg2md_data.orders
	ddbq "$1" "SELECT string_agg(column_name || ':' || data_type, ' ' ORDER BY ordinal_position) FROM information_schema.columns
		WHERE table_schema = 'pg2md_data' AND table_name = 'orders'"
}
trace_rows() { # DIR — rows read for orders in the last run
	"$PG2MD_BIN" trace --json --project-dir "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tables"][0]["rows"])'
}

# --- replace, staged and direct: renamed and re-typed, value by value ---------------------------
for mode in staged direct; do
	P=$T_TMP/$mode
	flag=""
	[ "$mode" = direct ] && flag=--direct
	make_project "$P" --tables orders --config "$HINTS"
	assert_exit 0 "$PG2MD_BIN" run $flag --project-dir "$P" --progress none
	assert_eq "order_id:INTEGER amount:DOUBLE qty:BIGINT flag_text:BOOLEAN small_big:INTEGER price:DECIMAL(8,2) code:VARCHAR payload:VARCHAR doc_text:JSON raw_text:BLOB day_text:DATE time_text:TIME ts_text:TIMESTAMP WITH TIME ZONE renamed_camel:INTEGER changed_at:TIMESTAMP WITH TIME ZONE is_deleted:BOOLEAN" \
		"$(types "$P/pg2md.duckdb")" "$mode: renamed columns (snake_case applied to the new names) with the overridden types"
	assert_table_equal public orders_expected "$P/pg2md.duckdb" pg2md_data orders "$mode: every value equals PostgreSQL's own cast"
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"
	assert_match "$(cat "$T_OUT")" '^  ok +"orders" +3000 rows, checksum' "$mode: verify compares renamed and re-typed columns"
done

# naming = "direct" keeps a new name exactly
P=$T_TMP/direct_naming
make_project "$P" --tables orders --config '[schema]
naming = "direct"
[sources.sql_database.orders]
included_columns = ["id", "amount"]
[sources.sql_database.orders.columns.amount]
name = "Net Amount"'
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_eq "id:INTEGER Net Amount:DECIMAL(12,4)" "$(types "$P/pg2md.duckdb")" "naming = direct: the new name is kept as written"

# a transform sees the new names and types
P=$T_TMP/transform
make_project "$P" --tables orders --config "[sources.sql_database.orders]
transform = \"SELECT order_id, qty * 2 AS qty2 FROM data\"
$HINTS"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_eq "$(pgq "SELECT sum(qty_text::bigint * 2) FROM orders")" "$(ddbq "$P/pg2md.duckdb" "SELECT sum(qty2) FROM pg2md_data.orders")" \
	"a transform reads the renamed, re-typed column"

# --- merge and append with incremental on renamed columns -----------------------------------------
# (HINTS ends in the section of column "deleted": a hard_delete line right after it lands there)
declare -A DISP=(
	[merge_src]='hard_delete = true
[sources.sql_database.orders]
write_disposition = "merge"
primary_key = "id"
incremental.cursor_path = "updated_at"'
	[merge_new]='[sources.sql_database.orders.columns.is_deleted]
hard_delete = true
[sources.sql_database.orders]
write_disposition = "merge"
primary_key = "order_id"
incremental.cursor_path = "changed_at"'
	[upsert]='hard_delete = true
[sources.sql_database.orders]
write_disposition = { disposition = "merge", strategy = "upsert" }
primary_key = "id"
incremental.cursor_path = "changed_at"'
	[append]='[sources.sql_database.orders]
write_disposition = "append"
incremental.cursor_path = "changed_at"')
for d in merge_src merge_new upsert append; do
	make_project "$T_TMP/$d" --tables orders --config "$HINTS
${DISP[$d]}"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/$d" --progress none
done
pg -c "UPDATE orders SET amount = amount + 1, qty_text = '7', updated_at = timestamptz '2025-01-01 00:00+00' WHERE id <= 20;
       UPDATE orders SET deleted = true, updated_at = timestamptz '2025-01-01 00:00+00' WHERE id BETWEEN 21 AND 25;
       INSERT INTO orders SELECT 5000 + g, g, '1', 't', 1, 1, 1, '{}', '[]', 'r', '2025-01-01', '00:00', '2025-01-01 00:00+00', 1,
                              timestamptz '2025-01-02 00:00+00' + g * interval '1 s', NULL FROM generate_series(1, 3) g;
       CREATE VIEW orders_live AS SELECT * FROM orders_expected WHERE NOT coalesce(is_deleted, false);"
for d in merge_src merge_new upsert append; do
	P=$T_TMP/$d
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
	assert_eq 29 "$(trace_rows "$P")" "$d: the second run reads the 28 changed and new rows and the boundary row"
done
for d in merge_src merge_new upsert; do
	assert_table_equal public orders_live "$T_TMP/$d/pg2md.duckdb" pg2md_data orders \
		"$d: merge on the renamed key and cursor: updated rows replaced, flagged rows deleted, new rows added"
done
assert_eq "$((3000 + 28))" "$(ddbq "$T_TMP/append/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.orders")" \
	"append on a renamed cursor: the changed and new rows added, the boundary row not twice"
assert_eq 3028 "$(ddbq "$T_TMP/append/pg2md.duckdb" "SELECT count(DISTINCT (order_id, changed_at)) FROM pg2md_data.orders")" \
	"append: no row version twice"
assert_eq "sources.sql_database.resources.orders.incremental.updated_at" \
	"$(ddbq "$T_TMP/merge_new/pg2md.duckdb" "SELECT 'sources.sql_database.resources.orders.incremental.' || (SELECT k FROM (SELECT unnest(json_keys(state, '\$.sources.sql_database.resources.orders.incremental')) AS k)) FROM pg2md_data._dlt_pipeline_state ORDER BY version DESC LIMIT 1")" \
	"the state keeps the cursor under its source name, whichever name the config used"

# --- configuration errors: exit 2, file:line, nothing extracted ----------------------------------
bad_config() { # NAME CONFIG EXPECTED…
	local name=$1 config=$2
	shift 2
	P=$T_TMP/bad_$name
	make_project "$P" --tables orders --config "$config"
	assert_exit 2 "$PG2MD_BIN" run --project-dir "$P" --progress none
	local m
	for m in "$@"; do
		assert_contains "$(cat "$T_ERR")" "$m" "$name: the error says: $m"
	done
	assert_eq "" "$(find "$P" -name '*.parquet' -o -name pg2md.duckdb)" "$name: nothing was extracted or loaded"
	# pg2md check finds the same before any run: a failed check (exit 1), or the configuration
	# error itself (exit 2) for a value no table could take
	T_RC=0
	"$PG2MD_BIN" check --project-dir "$P" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
	assert_eq "yes" "$([ "$T_RC" = 1 ] || [ "$T_RC" = 2 ] && echo yes || echo "no: exit $T_RC")" "$name: pg2md check fails too"
	assert_contains "$(cat "$T_OUT" "$T_ERR")" "$1" "$name: pg2md check says: $1"
}
bad_config unknown_column '[sources.sql_database.orders.columns.nope]
name = "x"' 'column "nope" of table "orders" does not exist' "$T_TMP/bad_unknown_column/.dlt/config.toml:10" 'HINT:  columns.<column> names the column at the source: "id", "amount"'
bad_config excluded_column '[sources.sql_database.orders]
excluded_columns = ["code"]
[sources.sql_database.orders.columns.code]
data_type = "text"' 'column "code" of table "orders" does not exist or is not among the copied columns'
bad_config collision '[sources.sql_database.orders.columns.qty_text]
name = "Code"' 'columns "qty_text" and "code" of table "orders" both become "code" in the destination' \
	"[sources.sql_database.orders.columns.qty_text] is set at $T_TMP/bad_collision/.dlt/config.toml:10"
bad_config unknown_type '[sources.sql_database.orders.columns.code]
data_type = "integer"' "invalid value for \"sources.sql_database.orders.columns.code.data_type\" in \"$T_TMP/bad_unknown_type/.dlt/config.toml\" line 10: \"integer\"" \
	'expected "text", "double", "bool"'
bad_config scale '[sources.sql_database.orders.columns.amount]
data_type = "double"
scale = 2' 'scale of column "amount" of table "orders" applies to data_type "decimal" only'
bad_config wide_decimal '[sources.sql_database.orders.columns.amount]
data_type = "decimal"
precision = 40' 'decimal(40,0) of column "amount" of table "orders" is not a DuckDB DECIMAL'
bad_config no_cast '[sources.sql_database.orders.columns.day_text]
data_type = "date"
[sources.sql_database.orders.columns.updated_at]
data_type = "bigint"' 'column "updated_at" of table "orders" (timestamp with time zone) cannot be read as data_type "bigint"' \
	'cannot cast type timestamp with time zone to bigint' "is set at $T_TMP/bad_no_cast/.dlt/config.toml:12"

# --- a value the cast refuses: exit 1, the table, the value, the override; nothing loaded ---------
P=$T_TMP/bad_value
make_project "$P" --tables orders --config '[sources.sql_database.orders.columns.qty_text]
data_type = "bigint"'
pg -c "UPDATE orders SET qty_text = 'abc' WHERE id = 1500"
for flag in "" --direct; do
	assert_exit 1 "$PG2MD_BIN" run $flag --project-dir "$P" --progress none
	assert_contains "$(cat "$T_ERR")" 'table "orders"' "bad value${flag:+ ($flag)}: the error names the table"
	assert_contains "$(cat "$T_ERR")" 'invalid input syntax for type bigint: "abc"' "bad value${flag:+ ($flag)}: PostgreSQL names the value"
	assert_contains "$(cat "$T_ERR")" "\"qty_text\" as bigint ($P/.dlt/config.toml:10)" "bad value${flag:+ ($flag)}: the hint names the override and its place"
	assert_eq "" "$(find "$P" -name '*.parquet')" "bad value${flag:+ ($flag)}: no staging file is left"
	assert_eq 0 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '%orders'" 2>/dev/null || echo 0)" \
		"bad value${flag:+ ($flag)}: nothing was loaded"
done

# --- a database whose time zone is not UTC: type overrides read wall-clock timestamps as UTC (as
# dlt does), whatever the server's setting; append + incremental on such a column loads each row once
pg -c "CREATE TABLE tz (id int primary key, t timestamp not null, s text not null);
       INSERT INTO tz VALUES (1, '2024-01-01 00:00', '2024-01-01 00:00'), (2, '2024-06-01 12:00', '2024-06-01 12:00');
       ALTER DATABASE $T_DB SET timezone = 'America/New_York';"
P=$T_TMP/tz
make_project "$P" --tables "tz" --config '[sources.sql_database.tz]
write_disposition = "append"
incremental.cursor_path = "t"

[sources.sql_database.tz.columns.t]
data_type = "timestamp"

[sources.sql_database.tz.columns.s]
data_type = "timestamp"'
for run in 1 2 3; do assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"; done
assert_eq "1|2024-01-01 00:00:00+00|2024-01-01 00:00:00+00
2|2024-06-01 12:00:00+00|2024-06-01 12:00:00+00" \
	"$(ddbq "$P/pg2md.duckdb" "SET TimeZone = 'UTC'; SELECT id, t, s FROM pg2md_data.tz ORDER BY id" | tr '\t' '|')" \
	"a New York database: timestamps overridden to timestamptz are read as UTC, three runs append each row once"
pg -c "ALTER DATABASE $T_DB RESET timezone"

t_done

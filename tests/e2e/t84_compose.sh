#!/usr/bin/env bash
# t84_compose — everything at once: a replacement query (a join), renamed columns, type
# overrides and a masking transform on one table, loaded with each write disposition (replace,
# append, merge delete-insert and upsert) and incremental loading on the renamed cursor, staged and
# direct, the transform at extract or at normalize; the destination is compared value by value
# with what PostgreSQL computes, after a first run and after the source changed; verify counts the
# rows of the incremental window.
. "$(dirname "$0")/../lib/common.sh"
t_init compose
require_pg2md

pg <<'SQL'
CREATE TABLE customer (c_id int PRIMARY KEY, c_name text, c_email text, c_score numeric(10,3));
INSERT INTO customer SELECT g, 'name ' || g, 'person' || g || '@example.com', g / 7.0 FROM generate_series(1, 500) g;
CREATE TABLE orders (o_id int PRIMARY KEY, o_cust int REFERENCES customer, o_amount numeric(9,2), updated_at timestamptz);
INSERT INTO orders SELECT g, g % 500 + 1, g * 0.37, timestamptz '2024-01-01 00:00+00' + g * interval '1 minute'
FROM generate_series(1, 8000) g;
CREATE VIEW all_expected AS
SELECT o.o_id AS order_id, o.o_amount::text AS o_amount, c.c_score::float8 AS c_score, o.updated_at AS changed,
       md5(c.c_email) AS email_hash
FROM orders o JOIN customer c ON c.c_id = o.o_cust;
CREATE VIEW expected AS SELECT * FROM all_expected WHERE changed >= timestamptz '2024-01-02 00:00+00';
SQL

BASE='query = "SELECT o.o_id, o.o_amount, c.c_email, c.c_score, o.updated_at FROM public.orders o JOIN public.customer c ON c.c_id = o.o_cust"
transform = "SELECT * EXCLUDE (email), md5(email) AS email_hash FROM data"
incremental.initial_value = "2024-01-02T00:00:00Z"'
HINTS='[sources.sql_database.cust_orders.columns.o_id]
name = "order_id"
[sources.sql_database.cust_orders.columns.c_email]
name = "email"
[sources.sql_database.cust_orders.columns.c_score]
data_type = "double"
[sources.sql_database.cust_orders.columns.o_amount]
data_type = "text"
[sources.sql_database.cust_orders.columns.updated_at]
name = "changed"'
declare -A DISP=(
	[replace]='write_disposition = "replace"
incremental.cursor_path = "changed"'
	[append]='write_disposition = "append"
incremental.cursor_path = "updated_at"'
	[merge]='write_disposition = "merge"
primary_key = "o_id"
incremental.cursor_path = "changed"'
	[upsert]='write_disposition = { disposition = "merge", strategy = "upsert" }
primary_key = "order_id"
incremental.cursor_path = "updated_at"')
CASES="replace:staged append:staged merge:staged upsert:staged append:direct merge:direct upsert:direct append:normalize upsert:normalize"

duck() { ddbq "$1/pg2md.duckdb" "$2"; }

for c in $CASES; do
	d=${c%:*} mode=${c#*:}
	P=$T_TMP/${d}_$mode
	stage=""
	[ "$mode" = normalize ] && stage='transform_stage = "normalize"'
	make_project "$P" --tables cust_orders --config "[sources.sql_database.cust_orders]
$BASE
$stage
${DISP[$d]}
$HINTS"
	flag=""
	[ "$mode" = direct ] && flag=--direct
	assert_exit 0 "$PG2MD_BIN" run $flag --project-dir "$P" --progress none
	assert_table_equal public expected "$P/pg2md.duckdb" pg2md_data cust_orders "$d ($mode), first run: the window's rows, renamed, re-typed and masked"
done

pg -c "UPDATE orders SET o_amount = o_amount + 100, updated_at = timestamptz '2025-01-01 00:00+00' WHERE o_id BETWEEN 3000 AND 3009;
       INSERT INTO orders SELECT 9000 + g, g, 1.50, timestamptz '2025-01-02 00:00+00' + g * interval '1 s' FROM generate_series(1, 4) g;"
N1=$(pgq "SELECT count(*) FROM expected WHERE changed < timestamptz '2025-01-01 00:00+00' OR order_id BETWEEN 3000 AND 3009")

for c in $CASES; do
	d=${c%:*} mode=${c#*:}
	P=$T_TMP/${d}_$mode
	flag=""
	[ "$mode" = direct ] && flag=--direct
	assert_exit 0 "$PG2MD_BIN" run $flag --project-dir "$P" --progress none
	case $d in
	merge | upsert)
		assert_table_equal public expected "$P/pg2md.duckdb" pg2md_data cust_orders "$d ($mode), second run: changed rows replaced, new rows added"
		assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"
		assert_match "$(cat "$T_OUT")" '"cust_orders" +[0-9]+ rows \(transformed: rows counted, values not compared\) \(source filtered by the incremental window\)' \
			"$d ($mode): verify counts the rows of the incremental window"
		;;
	append)
		# the first run's rows (the changed ones in their old version) plus the 14 changed and new rows;
		# the boundary row read again is not added twice
		assert_eq $((N1 + 14)) "$(duck "$P" "SELECT count(*) FROM pg2md_data.cust_orders")" "$d ($mode): old versions kept, changed and new rows added once"
		assert_eq 0 "$(duck "$P" "SELECT count(*) FROM (SELECT order_id, changed FROM pg2md_data.cust_orders GROUP BY ALL HAVING count(*) > 1)")" \
			"$d ($mode): no row version twice"
		assert_eq "$(pgq "SELECT string_agg(o_amount::text, ',' ORDER BY o_id) FROM orders WHERE o_id BETWEEN 3000 AND 3009")" \
			"$(duck "$P" "SELECT string_agg(o_amount, ',' ORDER BY order_id) FROM pg2md_data.cust_orders WHERE changed >= '2025-01-01'::TIMESTAMPTZ AND order_id <= 3009")" \
			"$d ($mode): the new versions carry the new values, cast to text as PostgreSQL prints them"
		;;
	replace)
		# from the previous last value (order 8000's, read again: the range start is closed)
		pg -c "CREATE OR REPLACE VIEW expected_last AS SELECT * FROM all_expected
		       WHERE changed >= timestamptz '2024-01-01 00:00+00' + 8000 * interval '1 minute'"
		assert_table_equal public expected_last "$P/pg2md.duckdb" pg2md_data cust_orders "$d ($mode): the table holds the second run's rows"
		;;
	esac
done
assert_eq "" "$(grep -rl -a '@example.com' "$T_TMP"/*/pg2md.duckdb "$T_TMP"/*/.pg2md 2>/dev/null | head -3)" \
	"no raw e-mail address in any destination or pipeline folder"

t_done

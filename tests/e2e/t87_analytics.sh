#!/usr/bin/env bash
# t87_analytics.sh — the copy answers queries as PostgreSQL does (docs/types.md): a dozen and more
# analytics queries over the demo's TPC-DS-shaped data, plus the fixtures it lacks (plain
# `numeric` columns, a partitioned table), each run on PostgreSQL and on the copy, staged and
# direct, their outputs compared byte for byte (COPY text on both sides).  They exercise
# character(n) without its pad blanks (=, LIKE, ||, length, md5, GROUP BY, joins on char keys),
# sums over plain numerics (a DECIMAL measured in the run's snapshot), dates, partitions.
# Also: no table list copies every table of the schema (partitions through their parents only),
# a leaf partition named alone is a table, arrays of text-read types are LISTs, a table loaded
# with its pad blanks is trimmed in place when appended to trimmed (and the other way stops),
# and a measured DECIMAL widens, or becomes the fallback type, when new values need it.
. "$(dirname "$0")/../lib/common.sh"
t_init analytics
stdout() { cat "$T_OUT"; }
stderr() { cat "$T_ERR"; }

export PGDATABASE=$T_DB
"$PG2MD_SRC/scripts/gen_tpcds.sh" 0.01 >"$T_TMP/gen.log" 2>&1 || t_bail "gen_tpcds.sh failed: $(tail -5 "$T_TMP/gen.log")"
pg <<'SQL'
CREATE TABLE my_pg.public_amounts (id int PRIMARY KEY, rate numeric, qty numeric, label char(8));
INSERT INTO my_pg.public_amounts
  SELECT g, round((g * 1.25)::numeric / 8, 4), g - 500, CASE WHEN g % 3 = 0 THEN 'fee' WHEN g % 3 = 1 THEN 'tax' END
  FROM generate_series(1, 1000) g;
INSERT INTO my_pg.public_amounts VALUES (1001, 12345678901234567890.5, 0.000001, 'big'), (1002, -0.5, NULL, NULL);
CREATE TABLE my_pg.events (id int, day date, kind char(4), amount numeric, tags inet[], boxes box[]) PARTITION BY RANGE (day);
CREATE TABLE my_pg.events_2024 PARTITION OF my_pg.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE my_pg.events_2025 PARTITION OF my_pg.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO my_pg.events SELECT g, DATE '2024-06-01' + g, CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END,
  g * 0.01, ARRAY['10.0.0.' || (g % 256), NULL]::inet[],
  CASE WHEN g % 2 = 0 THEN ARRAY[box(point(g, 1), point(0, 0)), NULL, box(point(1, 1), point(2, 2))] END
  FROM generate_series(1, 400) g;
ANALYZE;
SQL

# name|SQL — written once, valid in both dialects; NULLs and row order made explicit.  A char(n)
# value shown alone is cast to VARCHAR: PostgreSQL prints a bpchar result with its blanks, the
# value pg2md copies is value::text (docs/types.md); =, ||, length, md5 and GROUP BY need no cast.
# LIKE is the exception PostgreSQL documents (patterns see the blanks): only prefixes here.
QUERIES=$(cat <<'Q'
books|SELECT count(*) FROM item WHERE i_category = 'Books'
categories|SELECT coalesce(CAST(i_category AS VARCHAR), '-'), count(*) FROM item GROUP BY 1 ORDER BY 1
like_prefix|SELECT count(*) FROM item WHERE i_category LIKE 'Boo%' OR i_color LIKE 'b%'
concat|SELECT i_item_id || '/' || coalesce(i_category, '-') || '/' || coalesce(i_color, '-') FROM item ORDER BY i_item_sk LIMIT 20
length|SELECT sum(length(i_category)), sum(length(i_item_id)), max(length(c_first_name)) FROM item, (SELECT c_first_name FROM customer ORDER BY c_customer_sk LIMIT 50) c
md5|SELECT md5(i_category), count(*) FROM item WHERE i_category IS NOT NULL GROUP BY 1 ORDER BY 1
join_char_key|SELECT v.cat, count(*) FROM item i JOIN (VALUES ('Books'), ('Music'), ('Sports')) AS v(cat) ON i.i_category = v.cat GROUP BY v.cat ORDER BY v.cat
sales_by_category|SELECT coalesce(CAST(i.i_category AS VARCHAR), '-'), count(*), sum(ss.ss_net_paid), sum(ss.ss_quantity) FROM store_sales ss JOIN item i ON ss.ss_item_sk = i.i_item_sk GROUP BY 1 ORDER BY 1
names|SELECT c_salutation || ' ' || c_first_name || ' ' || c_last_name FROM customer WHERE c_salutation IS NOT NULL AND c_first_name IS NOT NULL AND c_last_name IS NOT NULL ORDER BY c_customer_sk LIMIT 25
distinct_colors|SELECT count(DISTINCT i_color), count(DISTINCT upper(i_color)) FROM item
state_filter|SELECT CAST(ca_state AS VARCHAR), count(*) FROM customer_address WHERE ca_state IN ('CA', 'TX', 'NY') GROUP BY ca_state ORDER BY 1
dates|SELECT d_year, count(*), min(d_date), max(d_date) FROM date_dim WHERE d_date BETWEEN DATE '1999-12-25' AND DATE '2001-01-05' GROUP BY d_year ORDER BY d_year
plain_numeric|SELECT sum(rate), sum(qty), count(*) FILTER (WHERE rate > 100), CAST(max(rate) AS DECIMAL(38,6)), CAST(min(qty) AS DECIMAL(38,6)) FROM public_amounts
plain_numeric_group|SELECT coalesce(CAST(label AS VARCHAR), '-'), CAST(sum(rate) AS DECIMAL(38,4)), count(*) FROM public_amounts GROUP BY 1 ORDER BY 1
partitioned|SELECT CAST(kind AS VARCHAR), count(*), sum(amount), min(day), max(day) FROM events GROUP BY kind ORDER BY kind
Q
)

run_queries() { # MODE DUCKFILE — every query on both sides, outputs compared
	local mode=$1 duck=$2 name sql pgout dkout
	while IFS='|' read -r name sql; do
		[ -n "$name" ] || continue
		pgout=$(PGOPTIONS="-c search_path=my_pg" psql -X -q -v ON_ERROR_STOP=1 -c "COPY ($sql) TO STDOUT" 2>&1)
		dkout=$(ddbq "$duck" "SET schema = 'pg2md_data'" "$sql" 2>&1)
		if [ "$pgout" = "$dkout" ] && [ -n "$pgout" ]; then
			t_pass "$mode: $name answers as in PostgreSQL"
		else
			t_fail "$mode: $name answers as in PostgreSQL" \
				"$(printf 'query: %s\n--- PostgreSQL:\n%s\n--- DuckDB copy:\n%s' "$sql" "$(head -c 1500 <<<"$pgout")" "$(head -c 1500 <<<"$dkout")")"
		fi
	done <<<"$QUERIES"
}

# --- staged, no table list: every table of the schema --------------------------------------------
S=$T_TMP/staged
make_project "$S" --schema my_pg
if assert_exit 0 "$PG2MD_BIN" run --project-dir "$S" --progress none; then
	assert_contains "$(stdout)" 'no table list: every table of schema "my_pg", 26 found' "staged: the summary says how many tables were found"
	run_queries staged "$S/pg2md.duckdb"
	assert_eq "events_2024=0 events_2025=0 events=400" \
		"$(ddbq "$S/pg2md.duckdb" "SELECT 'events_2024=' || count(*) FILTER (WHERE table_name = 'events_2024') || ' events_2025=' || count(*) FILTER (WHERE table_name = 'events_2025')
		   || ' events=' || (SELECT count(*) FROM pg2md_data.events) FROM information_schema.tables WHERE table_schema = 'pg2md_data'")" \
		"staged: partitions come through their parent only, their rows once"
	assert_eq "rate=DECIMAL(38,4) qty=DECIMAL(18,6) label=VARCHAR tags=VARCHAR[]" \
		"$(ddbq "$S/pg2md.duckdb" "SELECT string_agg(column_name || '=' || data_type, ' ' ORDER BY ordinal_position) FROM information_schema.columns
		   WHERE table_schema = 'pg2md_data' AND ((table_name = 'public_amounts' AND column_name <> 'id') OR (table_name = 'events' AND column_name = 'tags'))")" \
		"staged: plain numerics are measured DECIMALs; char(n) VARCHAR; inet[] a LIST of VARCHAR"
	assert_eq "[10.0.0.1, NULL]" "$(ddbq "$S/pg2md.duckdb" "SELECT tags FROM pg2md_data.events WHERE id = 1")" "staged: an inet[] value, element by element"
	assert_eq "VARCHAR[]|['(2,1),(0,0)', NULL, '(2,2),(1,1)']" "$(ddbq "$S/pg2md.duckdb" "SELECT (SELECT data_type FROM information_schema.columns
		   WHERE table_name = 'events' AND column_name = 'boxes') || '|' || CAST(boxes AS VARCHAR) FROM pg2md_data.events WHERE id = 2")" \
		"staged: a box[] (elements separated by ';' in its text) element by element"
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$S"
	assert_exit 0 "$PG2MD_BIN" check --project-dir "$S"
	assert_contains "$(stdout)" 'no table list: every table of schema "my_pg", 26 found' "check: lists what will be copied"
fi

# --- direct, a list naming a leaf partition ------------------------------------------------------
D=$T_TMP/direct
make_project "$D" --schema my_pg --tables "item store_sales customer customer_address date_dim public_amounts events events_2025"
if assert_exit 0 "$PG2MD_BIN" run --direct --project-dir "$D" --progress none; then
	run_queries direct "$D/pg2md.duckdb"
	leaf=$(PGOPTIONS="-c search_path=my_pg" psql -X -At -c "SELECT count(*) || '|' || sum(amount) FROM events_2025")
	assert_eq "$leaf" "$(ddbq "$D/pg2md.duckdb" "SELECT count(*) || '|' || sum(amount) FROM pg2md_data.events_2025")" \
		"direct: a leaf partition named in tables is copied as a table"
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$D"
	assert_exit 0 "$PG2MD_BIN" check --project-dir "$D"
	assert_match "$(stdout)" 'table "events_2025" +partition, ' "check: shows the leaf partition"
fi

# --- include_views: views join the discovered tables ---------------------------------------------
pg -c "CREATE SCHEMA v" -c "CREATE TABLE v.base (id int, c char(6))" -c "INSERT INTO v.base VALUES (1, 'x'), (2, NULL)" \
	-c "CREATE VIEW v.padded AS SELECT id, c FROM v.base"
V=$T_TMP/views
make_project "$V" --schema v --config 'include_views = true'
if assert_exit 0 "$PG2MD_BIN" run --project-dir "$V" --progress none; then
	assert_contains "$(stdout)" '2 found' "include_views: the view is found with the table"
	assert_eq "1|x|1" "$(ddbq "$V/pg2md.duckdb" "SELECT id || '|' || c || '|' || length(c) FROM pg2md_data.padded WHERE id = 1")" \
		"include_views: the view's char(6) value arrives without its pad blanks"
fi

# --- trimmed char(n) in a transform and as an incremental cursor --------------------------------
pg -c "CREATE TABLE v.tagged (id int PRIMARY KEY, tag char(6), label char(6))" \
	-c "INSERT INTO v.tagged VALUES (1, 'aa', 'x'), (2, 'bb', 'y')"
T=$T_TMP/transform
make_project "$T" --schema v --tables tagged --config '[sources.sql_database.tagged]
transform = "SELECT id, tag, label || '"'"'!'"'"' AS label FROM data"
write_disposition = "append"
incremental.cursor_path = "tag"'
assert_exit 0 "$PG2MD_BIN" run --project-dir "$T" --progress none
pg -c "INSERT INTO v.tagged VALUES (3, 'cc', 'z')"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$T" --progress none
assert_eq "1|aa|x! 2|bb|y! 3|cc|z!" "$(ddbq "$T/pg2md.duckdb" "SELECT string_agg(id || '|' || tag || '|' || label, ' ' ORDER BY id) FROM pg2md_data.tagged")" \
	"a transform sees char(n) without its blanks; a char(n) cursor takes the new row, the boundary row once"

# --- char_padding: keep, then trim in place, then keep again stops; a measured DECIMAL widens,
# then falls back to text when a NaN arrives: staged and direct ----------------------------------
evolution() { # MODE FLAGS…
	local mode=$1 K A
	shift
	pg -c "DROP TABLE IF EXISTS v.codes, v.amounts" \
		-c "CREATE TABLE v.codes (id int PRIMARY KEY, code char(5), codes char(3)[])" \
		-c "INSERT INTO v.codes VALUES (1, 'ab', '{a,bb}'), (2, NULL, NULL)"
	K=$T_TMP/padding_$mode
	make_project "$K" --schema v --tables codes --config '[sources.sql_database.codes]
char_padding = "keep"'
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$K" --progress none "$@"
	assert_eq "ab   |['a  ', 'bb ']" "$(ddbq "$K/pg2md.duckdb" "SELECT code || '|' || CAST(codes AS VARCHAR) FROM pg2md_data.codes WHERE id = 1")" \
		"$mode: char_padding = keep: the stored pad blanks arrive"
	pg -c "INSERT INTO v.codes VALUES (3, 'cd', '{c}')"
	sed -i 's/^char_padding = "keep"$/char_padding = "trim"/' "$K/.dlt/config.toml"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$K" --progress none --write-disposition merge "$@"
	assert_eq "1|ab|[a, bb] 3|cd|[c]" "$(ddbq "$K/pg2md.duckdb" "SELECT string_agg(id || '|' || code || '|' || CAST(codes AS VARCHAR), ' ' ORDER BY id) FROM pg2md_data.codes WHERE code IS NOT NULL")" \
		"$mode: merge with trim onto a padded table: the rows already there are trimmed in the same load"
	assert_eq 0 "$(ddbq "$K/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.codes WHERE code LIKE '% ' OR len(list_filter(codes, lambda x: x LIKE '% ')) > 0")" \
		"$mode: no padded value is left"
	assert_exit 0 "$PG2MD_BIN" verify --project-dir "$K"
	sed -i 's/^char_padding = "trim"$/char_padding = "keep"/' "$K/.dlt/config.toml"
	assert_exit 2 "$PG2MD_BIN" run --project-dir "$K" --progress none --write-disposition append "$@"
	assert_contains "$(stderr)" 'was loaded without its pad blanks' "$mode: keep after trim: stops, saying why"
	assert_contains "$(stderr)" '--write-disposition replace' "$mode: keep after trim: the hint says how to reload"
	assert_eq 3 "$(ddbq "$K/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.codes")" "$mode: keep after trim: nothing of that load was applied"

	pg -c "CREATE TABLE v.amounts (id int PRIMARY KEY, x numeric)" -c "INSERT INTO v.amounts VALUES (1, 1.5), (2, 20)"
	A=$T_TMP/widen_$mode
	make_project "$A" --schema v --tables amounts --config '[sources.sql_database.amounts]
write_disposition = "append"'
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$A" --progress none "$@"
	colty() { ddbq "$A/pg2md.duckdb" "SELECT data_type FROM information_schema.columns WHERE table_name = 'amounts' AND column_name = 'x'"; }
	assert_eq "DECIMAL(18,1)" "$(colty)" "$mode: a plain numeric of scale 1: DECIMAL(18,1)"
	pg -c "TRUNCATE v.amounts" -c "INSERT INTO v.amounts VALUES (3, 0.125), (4, 123456789012345678.5)"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$A" --progress none "$@"
	assert_eq "DECIMAL(38,3)" "$(colty)" "$mode: append of wider values: the column widens to hold both"
	assert_eq "1.500 20.000 0.125 123456789012345678.500" "$(ddbq "$A/pg2md.duckdb" "SELECT string_agg(CAST(x AS VARCHAR), ' ' ORDER BY id) FROM pg2md_data.amounts")" \
		"$mode: every value kept exactly across the widening"
	pg -c "TRUNCATE v.amounts" -c "INSERT INTO v.amounts VALUES (5, 'NaN'), (6, 2.25)"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$A" --progress none "$@"
	assert_contains "$(stderr)" 'column "x" of table "amounts" (numeric) holds NaN' "$mode: a NaN: a warning names the column and the kind of value"
	assert_eq "VARCHAR" "$(colty)" "$mode: a NaN: the column becomes the fallback type"
	assert_eq "1.500 20.000 0.125 123456789012345678.500 NaN 2.25" "$(ddbq "$A/pg2md.duckdb" "SELECT string_agg(x, ' ' ORDER BY id) FROM pg2md_data.amounts")" \
		"$mode: a NaN: nothing rounded, the new values as PostgreSQL prints them"
	pg -c "TRUNCATE v.amounts" -c "INSERT INTO v.amounts VALUES (7, 3.5)"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$A" --progress none "$@"
	assert_eq "VARCHAR|3.5" "$(colty)|$(ddbq "$A/pg2md.duckdb" "SELECT x FROM pg2md_data.amounts WHERE id = 7")" \
		"$mode: a text column stays text; a value measured at its own scale arrives as PostgreSQL prints it"
}
evolution staged
evolution direct --direct

t_done

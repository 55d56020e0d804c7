#!/usr/bin/env bash
# t81_transform_normalize — transform_stage = "normalize": the transform runs in the normalize
# stage over all of a table's staged Parquet files at once, so whole-table SQL (GROUP BY,
# DISTINCT, window functions) gives one answer however many page-range tasks read the table;
# the package's files are replaced by the transformed ones before load; a crash between writing
# them and rewriting the manifest is recovered; a transform that fails on the data keeps the
# package and loses nothing loaded; the direct mode refuses it.
. "$(dirname "$0")/../lib/common.sh"
t_init transform_normalize
require_pg2md

pg -c "CREATE TABLE sales (id int primary key, customer int not null, amount numeric(12,2) not null,
                           span interval, note text, updated_at timestamp not null);
       INSERT INTO sales SELECT g, g % 37, (g * 7 % 1000) / 4.0, make_interval(days => g % 9, secs => g % 61),
              'secret-note-' || g, '2024-01-01'::timestamp + g * interval '1 second'
       FROM generate_series(1, 30000) g;"

# many small tasks, so a transform applied per task would see pieces of the table
export PG2MD_PAGES_PER_TASK=8

AGG='transform = "SELECT customer, count(*) AS n, sum(amount) AS total, max(span) AS longest FROM data GROUP BY customer"'
src_agg() {
	pgq "SELECT customer, count(*), sum(amount), max(span) FROM sales GROUP BY customer ORDER BY customer" |
		sed 's/|/ /g'
}
dst_agg() {
	ddbq "$1" "SELECT customer, n, total, CAST(longest AS VARCHAR) FROM pg2md_data.sales ORDER BY customer" |
		sed 's/|/ /g'
}
canon() { # DuckDB and PostgreSQL render intervals alike for these (days and h:m:s)
	sed -E 's/ 00:00:00$//; s/ days? / day /g'
}
canon_interval() { # the same, for every interval field on a line
	sed -E 's/ days? / day /g; s/\| ?00:00:00(\||$)/|\1/g'
}

# --- a whole-table aggregate, staged stage by stage -------------------------------------------
P=$T_TMP/agg
make_project "$P" --tables "sales" --config "[extract]
workers = 2

[sources.sql_database.sales]
transform_stage = \"normalize\"
$AGG"
assert_exit 0 "$PG2MD_BIN" extract --project-dir "$P"
man=$(find "$P/.pg2md" -path '*extracted*' -name manifest.json | head -1)
ntasks=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tables"][0]["tasks"])' "$man")
assert_match "$ntasks" '^([2-9]|[1-9][0-9]+)$' "the table was read in several tasks ($ntasks)"
assert_contains "$(cat "$man")" '"transform"' "the extracted package records the transform for normalize"
raw=$(grep -rl -a 'secret-note-' "$P/.pg2md" 2>/dev/null | wc -l)
assert_match "$raw" '^[1-9]' "extracted: the staged files hold the rows as read ($raw files)"

assert_exit 0 "$PG2MD_BIN" normalize --project-dir "$P"
nman=$(find "$P/.pg2md" -path '*normalized*' -name manifest.json | head -1)
files=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["tables"][0]["files"]))' "$nman")
assert_eq "sales.transformed.parquet" "$files" "normalized: the package lists the transformed file only"
assert_eq 0 "$(grep -rl -a 'secret-note-' "$P/.pg2md" 2>/dev/null | wc -l)" \
	"normalized: the extracted files are gone (no raw note left in the package)"
assert_exit 0 "$PG2MD_BIN" load --project-dir "$P"
DB=$P/pg2md.duckdb
assert_eq "$(src_agg | canon)" "$(dst_agg "$DB" | canon)" \
	"the aggregate saw the whole table: one row per customer, every count, sum and max equal to PostgreSQL's"
assert_eq "customer n total longest" \
	"$(ddbq "$DB" "SELECT column_name FROM information_schema.columns WHERE table_schema = 'pg2md_data' AND table_name = 'sales' ORDER BY ordinal_position" | tr '\n' ' ' | sed 's/ $//')" \
	"the destination columns follow the transform's output"
assert_eq "INTERVAL" "$(duck_type "$DB" pg2md_data sales longest)" "an INTERVAL output column keeps its type through staging"

# --- a window function over the whole table, with file rotation, in one run -------------------
P=$T_TMP/window
make_project "$P" --tables "sales" --config "[data_writer]
file_max_items = 4096

[sources.sql_database.sales]
transform_stage = \"normalize\"
transform = \"SELECT id, amount, row_number() OVER (ORDER BY amount DESC, id) AS rank_by_amount FROM data\""
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
pgq "SELECT id, amount, row_number() OVER (ORDER BY amount DESC, id) FROM sales ORDER BY id" >"$T_TMP/w_src.txt"
ddbq "$P/pg2md.duckdb" "SELECT id, amount, rank_by_amount FROM pg2md_data.sales ORDER BY id" >"$T_TMP/w_dst.txt"
assert_eq "" "$(diff "$T_TMP/w_src.txt" "$T_TMP/w_dst.txt" | head -3)" \
	"a window function over the whole table: every rank equals PostgreSQL's (30000 rows)"
assert_eq 30000 "$(wc -l <"$T_TMP/w_dst.txt")" "window: every row arrived once"

# --- with file_max_bytes (DuckDB's ROW_GROUP_SIZE_BYTES on the transformed files) ---------------
P=$T_TMP/maxbytes
make_project "$P" --tables "sales" --config "[data_writer]
file_max_bytes = 200000

[sources.sql_database.sales]
transform_stage = \"normalize\"
$AGG"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_eq "$(src_agg | canon)" "$(dst_agg "$P/pg2md.duckdb" | canon)" "file_max_bytes: the aggregate at normalize equals PostgreSQL's"

# --- killed after writing the transformed files, before the manifest: the rerun recovers -----
P=$T_TMP/crash
make_project "$P" --tables "sales" --config "[sources.sql_database.sales]
transform_stage = \"normalize\"
$AGG"
assert_exit 137 env PG2MD_FAULT=normalize:transformed "$PG2MD_BIN" run --project-dir "$P"
assert_eq "" "$(ls "$P"/pg2md.duckdb 2>/dev/null)" "crash: nothing was loaded"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(cat "$T_OUT" "$T_ERR")" "finish" "crash: the rerun finishes the pending package"
assert_eq "$(src_agg | canon)" "$(dst_agg "$P/pg2md.duckdb" | canon)" "crash: after the rerun the aggregate equals PostgreSQL's"
assert_eq 1 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data._dlt_loads")" "crash: one load, no duplicate"

# --- append + incremental: each run transforms the new rows only ------------------------------
P=$T_TMP/incr
make_project "$P" --tables "sales" --config "[sources.sql_database.sales]
write_disposition = \"append\"
incremental.cursor_path = \"updated_at\"
incremental.range_start = \"open\"
transform_stage = \"normalize\"
transform = \"SELECT id, amount * 2 AS doubled, updated_at FROM data\""
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
pg -c "INSERT INTO sales SELECT g, g % 37, g / 8.0, NULL, 'secret-note-' || g, '2030-01-01'::timestamp + g * interval '1 second'
       FROM generate_series(30001, 30500) g;"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
pgq "SELECT id, amount * 2 FROM sales ORDER BY id" >"$T_TMP/i_src.txt"
ddbq "$P/pg2md.duckdb" "SELECT id, doubled FROM pg2md_data.sales ORDER BY id" >"$T_TMP/i_dst.txt"
assert_eq "" "$(diff "$T_TMP/i_src.txt" "$T_TMP/i_dst.txt" | head -3)" \
	"append + incremental: every row once, transformed (30500 rows)"

# --- merge: the transform keeps the key, the second run updates ------------------------------
P=$T_TMP/merge
make_project "$P" --tables "sales" --config "[sources.sql_database.sales]
write_disposition = \"merge\"
transform_stage = \"normalize\"
transform = \"SELECT id, customer, amount FROM data WHERE amount > 10\""
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
pg -c "UPDATE sales SET amount = amount + 1000 WHERE id <= 100"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
pgq "SELECT id, customer, amount FROM sales WHERE amount > 10 ORDER BY id" >"$T_TMP/m_src.txt"
ddbq "$P/pg2md.duckdb" "SELECT id, customer, amount FROM pg2md_data.sales ORDER BY id" >"$T_TMP/m_dst.txt"
assert_eq "" "$(diff "$T_TMP/m_src.txt" "$T_TMP/m_dst.txt" | head -3)" "merge: the destination equals the filtered source after an update"

# --- a transform that binds but fails on the data: the package is kept, nothing loaded is lost
P=$T_TMP/fail
make_project "$P" --tables "sales" --config "[sources.sql_database.sales]
transform_stage = \"normalize\"
transform = \"SELECT id, amount FROM data\""
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
before=$(ddbq "$P/pg2md.duckdb" "SELECT count(*), sum(amount) FROM pg2md_data.sales")
sed -i 's/^transform = .*/transform = "SELECT id, CAST(note AS INTEGER) AS note_number FROM data"/' "$P/.dlt/config.toml"
assert_exit 1 "$PG2MD_BIN" run --project-dir "$P"
err=$(cat "$T_ERR")
assert_contains "$err" 'the transform of table "sales" failed at normalize' "failing transform: the message names the table"
assert_match "$err" "conver|cast" "failing transform: DuckDB's message is shown"
assert_match "$err" "hint:.*drop --pending" "failing transform: a hint says how to go on"
assert_eq "$before" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*), sum(amount) FROM pg2md_data.sales")" \
	"failing transform: the rows loaded before are intact"
assert_eq 1 "$(find "$P/.pg2md" -path '*extracted*' -name manifest.json | wc -l)" "failing transform: the extracted package is kept"
sed -i 's/^transform = .*/transform = "SELECT id, amount FROM data"/' "$P/.dlt/config.toml"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(cat "$T_OUT" "$T_ERR")" "finish" "with the transform fixed, the next run finishes the kept package"
assert_eq "$(pgq "SELECT count(*), sum(amount) FROM sales" | sed 's/|/ /')" \
	"$(ddbq "$P/pg2md.duckdb" "SELECT count(*), sum(amount) FROM pg2md_data.sales" | sed 's/|/ /')" \
	"the kept package loaded with the fixed transform: the destination equals the source"
assert_eq 2 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data._dlt_loads")" "two loads in all: none lost, none twice"

# --- the default stage (extract) on a table with an interval column, staged and direct --------
for mode in staged direct; do
	P=$T_TMP/rowwise_$mode
	flag=""
	[ "$mode" = direct ] && flag=--direct
	make_project "$P" --tables "sales" --config "[sources.sql_database.sales]
transform = \"SELECT id, span, span * 2 AS twice FROM data\""
	assert_exit 0 "$PG2MD_BIN" run $flag --project-dir "$P"
	pgq "SELECT id, coalesce(span::text, 'null'), coalesce((span * 2)::text, 'null') FROM sales ORDER BY id" |
		canon_interval >"$T_TMP/r_src.txt"
	ddbq "$P/pg2md.duckdb" "SELECT id, coalesce(CAST(span AS VARCHAR), 'null'), coalesce(CAST(twice AS VARCHAR), 'null')
	                        FROM pg2md_data.sales ORDER BY id" |
		canon_interval >"$T_TMP/r_dst.txt"
	assert_eq "" "$(diff "$T_TMP/r_src.txt" "$T_TMP/r_dst.txt" | head -3)" \
		"$mode: a row-wise transform at extract reads intervals exactly ($(wc -l <"$T_TMP/r_dst.txt") rows)"
done

# --- append + incremental (closed start): a transform must keep the cursor, at either stage ---
for stage in extract normalize; do
	P=$T_TMP/nocursor_$stage
	make_project "$P" --tables "sales" --config "[sources.sql_database.sales]
write_disposition = \"append\"
incremental.cursor_path = \"updated_at\"
transform_stage = \"$stage\"
transform = \"SELECT id, updated_at AS changed FROM data\""
	assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
	assert_contains "$(cat "$T_ERR")" 'leaves out the cursor column "updated_at"' "$stage: a transform without the cursor is refused for append"
	assert_contains "$(cat "$T_ERR")" 'incremental.range_start = "open"' "$stage: the hint names the way out"
	assert_eq "" "$(find "$P" -name '*.parquet' 2>/dev/null)" "$stage: nothing was extracted"
	echo 'incremental.range_start = "open"' >>"$P/.dlt/config.toml"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
	assert_eq "$(pgq "SELECT count(*) FROM sales")" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.sales")" \
		"$stage: with an open range start two runs append every row once"
done

# --- configuration errors -------------------------------------------------------------------
P=$T_TMP/direct
make_project "$P" --tables "sales" --config "[sources.sql_database.sales]
transform_stage = \"normalize\"
$AGG"
assert_exit 2 "$PG2MD_BIN" run --direct --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "direct mode" "direct mode: transform_stage = normalize is refused"
sed -i 's/transform_stage = "normalize"/transform_stage = "load"/' "$P/.dlt/config.toml"
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(cat "$T_ERR")" 'transform_stage "load" of table "sales" is not valid' "an unknown stage is a configuration error"
assert_eq "" "$(find "$P" -name '*.parquet' 2>/dev/null)" "configuration errors: nothing was extracted"

t_done

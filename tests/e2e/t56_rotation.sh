#!/usr/bin/env bash
# t56_rotation — staging files rotate at [data_writer] file_max_items / file_max_bytes, and
# [destination.motherduck] batch_size bounds the rows of one INSERT when loading; the data that
# arrives is the same whatever the rotation.
. "$(dirname "$0")/../lib/common.sh"
t_init rotation
require_pg2md

pg -c "CREATE TABLE r (id int primary key, s text, d numeric(10,2));
       INSERT INTO r SELECT g, md5(g::text), g / 3.0 FROM generate_series(1, 30000) g;"

manifest_py='import json,glob,sys
m = json.load(open(glob.glob(sys.argv[1] + "/.pg2md/pipelines/pg2md/load/extracted/*/manifest.json")[0]))
t = m["tables"][0]
print(len(t["files"]), max(t["file_rows"]), sum(t["file_rows"]))'

# rows: 30000 rows at 4000 per file -> at least 8 files of at most 4000 rows
P=$T_TMP/items
make_project "$P" --tables "r" --config '[data_writer]
file_max_items = 4000
[destination.motherduck]
batch_size = 10000'
assert_exit 0 "$PG2MD_BIN" extract --project-dir "$P"
read -r nfiles maxrows total <<<"$(python3 -c "$manifest_py" "$P")"
assert_match "$nfiles" '^([89]|[1-9][0-9]+)$' "file_max_items: the table is staged in at least 8 files ($nfiles)"
assert_eq 1 "$([ "$maxrows" -le 4000 ] && echo 1 || echo 0)" "file_max_items: no file holds more than 4000 rows ($maxrows)"
assert_eq 30000 "$total" "file_max_items: the files hold every row"
assert_exit 0 "$PG2MD_BIN" normalize --project-dir "$P"
assert_exit 0 "$PG2MD_BIN" load --project-dir "$P" --log-level DEBUG
inserts=$(grep -c '^INSERT INTO' "$T_ERR" || true)
assert_eq 1 "$([ "$inserts" -ge 3 ] && echo 1 || echo 0)" "batch_size 10000: the load inserts in several batches ($inserts statements)"
assert_table_equal public r "$P/pg2md.duckdb" pg2md_data r "rotated by rows and batched: r equals its source"
assert_eq "" "$(find "$P/.pg2md" -name '*.parquet*' | head -1)" "after the load no staging file or folder is left"

# bytes: about 200 kB per file
P=$T_TMP/bytes
make_project "$P" --tables "r" --config '[data_writer]
file_max_bytes = 200000'
assert_exit 0 "$PG2MD_BIN" extract --project-dir "$P"
read -r nfiles maxrows total <<<"$(python3 -c "$manifest_py" "$P")"
assert_eq 1 "$([ "$nfiles" -ge 2 ] && echo 1 || echo 0)" "file_max_bytes: the table is staged in several files ($nfiles)"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_table_equal public r "$P/pg2md.duckdb" pg2md_data r "rotated by bytes: r equals its source"

# append, rotated and batched, twice: every row twice
P=$T_TMP/append
make_project "$P" --tables "r" --config 'write_disposition = "append"
[data_writer]
file_max_items = 5000
[destination.motherduck]
batch_size = 7000'
sed -i 's/^write_disposition = "append"$//; s/^\[sources.sql_database\]$/[sources.sql_database]\nwrite_disposition = "append"/' "$P/.dlt/config.toml"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_eq "60000 30000" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*), count(DISTINCT id) FROM pg2md_data.r" | tr '\t' ' ')" \
	"append, rotated and batched: every row exactly twice"

t_done

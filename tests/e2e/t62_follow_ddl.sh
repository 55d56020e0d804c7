#!/usr/bin/env bash
# t62_follow_ddl — pg2md follow through column changes at the source (docs/cdc.md, "Column
# changes"): ADD COLUMN with a constant DEFAULT (existing rows get it) and without one (NULL),
# with rows of the old shape in the same run; RENAME COLUMN; DROP COLUMN (the mirror drops it, as
# a replace run's layout has it not); an ADD COLUMN followed inside a streamed transaction; a type
# change the destination cannot follow stops with the resync to run, and the documented
# one-table resync brings the table back; a volatile DEFAULT is refused.  Every step compares the
# destination with the source by checksum (column names included).
. "$(dirname "$0")/../lib/common.sh"
t_init follow_ddl
require_pg2md

SLOT="t62_slot_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't62_%_$$'" >/dev/null 2>&1 || true
	orig_t_cleanup
}

pg -c "CREATE TABLE td (id int PRIMARY KEY, a int, b text, c text);
       CREATE TABLE tb (k int PRIMARY KEY, v int);
       INSERT INTO td SELECT g, g, 'b ' || g, 'c ' || g FROM generate_series(1, 300) g;
       INSERT INTO tb SELECT g, g FROM generate_series(1, 50) g;"
P=$T_TMP/p
make_project "$P" --tables "td tb" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t65_pub\""
DB=$P/pg2md.duckdb
compare_all() {
	assert_table_equal public td "$DB" pg2md_data td "$1: td equals the source"
	assert_table_equal public tb "$DB" pg2md_data tb "$1: tb equals the source"
}
columns() { ddbq "$DB" "SELECT string_agg(column_name, ',' ORDER BY column_index) FROM duckdb_columns() WHERE table_name = '$1'"; }

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "initial copy"

# --- ADD COLUMN: a constant DEFAULT for existing rows, and NULL; old-shape rows in the same run --
pg -c "UPDATE td SET b = 'before' WHERE id <= 10;"
pg -c "ALTER TABLE td ADD COLUMN n int DEFAULT 7;"
pg -c "INSERT INTO td VALUES (1001, 1, 'new', 'new', 8); UPDATE td SET n = 9 WHERE id = 20;"
pg -c "ALTER TABLE td ADD COLUMN t text;"
pg -c "UPDATE td SET t = 'x' || id WHERE id BETWEEN 30 AND 40; INSERT INTO tb VALUES (1001, 1);"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "id,a,b,c,n,t" "$(columns td)" "the added columns are in the mirror, in the source's order"
assert_eq "7" "$(ddbq "$DB" "SELECT DISTINCT n FROM pg2md_data.td WHERE id BETWEEN 100 AND 300")" \
	"rows that existed before ADD COLUMN … DEFAULT 7 have 7"
compare_all "ADD COLUMN"

# --- RENAME COLUMN, then DROP COLUMN ------------------------------------------------------------
pg -c "ALTER TABLE td RENAME COLUMN c TO c_renamed;"
pg -c "UPDATE td SET c_renamed = 'renamed ' || id WHERE id <= 5;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "id,a,b,c_renamed,n,t" "$(columns td)" "the column is renamed in the mirror"
assert_eq "c 200" "$(ddbq "$DB" "SELECT c_renamed FROM pg2md_data.td WHERE id = 200")" "and keeps its values"
compare_all "RENAME COLUMN"
pg -c "ALTER TABLE td DROP COLUMN b;"
pg -c "INSERT INTO td VALUES (1002, 2, 'c', 3, 'y'); DELETE FROM td WHERE id = 1;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "id,a,c_renamed,n,t" "$(columns td)" "the dropped column is dropped from the mirror (a replace run's layout)"
compare_all "DROP COLUMN"

# --- an ADD COLUMN first seen inside a streamed transaction ---------------------------------------
pg -c "ALTER TABLE td ADD COLUMN z int DEFAULT 1;"
pg -c "BEGIN; UPDATE td SET z = id, a = -a; INSERT INTO td SELECT g, g, 'c', 0, 'big', g FROM generate_series(2000, 12000) g; COMMIT;"
assert_exit 0 env PGOPTIONS="-c logical_decoding_work_mem=64kB" "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "streamed transactions: 1 applied" "the transaction came streamed"
compare_all "ADD COLUMN followed inside a streamed transaction"

# --- a type change DuckDB's column cannot follow: stop, then the one-table resync ---------------
pg -c "ALTER TABLE td ALTER COLUMN a TYPE bigint;"
pg -c "UPDATE td SET a = 5000000000 WHERE id = 2; INSERT INTO tb VALUES (1002, 2);"
assert_exit 1 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "column \"a\" of table \"td\" changed type" "the error names the column and the table"
assert_contains "$(cat "$T_ERR")" "resync this one table" "and says how to resync it"
# 1. follow the other tables past this point
assert_exit 0 "$PG2MD_BIN" follow --once --tables tb --project-dir "$P"
assert_table_equal public tb "$DB" pg2md_data tb "resync: the other tables go on"
# 2. copy the table again (changes keep coming meanwhile)
pg -c "UPDATE td SET a = 6000000000 WHERE id = 3;"
assert_exit 0 "$PG2MD_BIN" run --tables td --project-dir "$P"
pg -c "UPDATE td SET a = 7000000000 WHERE id = 4; DELETE FROM td WHERE id = 5; INSERT INTO tb VALUES (1003, 3);"
# 3. follow it again
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
compare_all "after the one-table resync"
assert_eq "BIGINT" "$(ddbq "$DB" "SELECT data_type FROM duckdb_columns() WHERE table_name = 'td' AND column_name = 'a'")" \
	"the resynced table has the new type"

# --- a volatile DEFAULT: each existing row's value was never sent --------------------------------
pg -c "ALTER TABLE td ADD COLUMN r float8 DEFAULT random();"
pg -c "UPDATE td SET r = 1 WHERE id = 2;"
assert_exit 1 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "volatile DEFAULT" "a column added with a volatile DEFAULT is refused"
assert_contains "$(cat "$T_ERR")" "resync this one table" "with the resync"

t_done

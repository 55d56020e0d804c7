#!/usr/bin/env bash
# t73_follow_filter — a run's per-table settings in pg2md follow (docs/cdc.md, "A run's settings
# in follow mode"): where (the publication's row filter: inserts outside it skipped, updates
# moving rows out of it deleting them, into it inserting them, by the key and in a REPLICA
# IDENTITY FULL table with large values), excluded_columns / included_columns (a column added at
# the source), a row-wise transform per batch, lineage columns per batch; and the refusals: a
# filter the replica identity does not cover (no publication made: the source's updates keep
# working), a filter PostgreSQL cannot evaluate, a publication without the filter, transforms
# that are not row-wise or drop the key, query tables, a row entering the filter without its
# large value.  Each mirror is compared with a view of the source applying the same settings.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_filter
require_pg2md

eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't73_%_$$'" >/dev/null 2>&1 || true
	orig_t_cleanup
}
repl() { # slot publication
	printf '[sources.pg_replication]\nslot_name = "t73_%s_%s"\npub_name = "%s"\n' "$1" "$$" "$2"
}

pg -c "CREATE TABLE tw (id int PRIMARY KEY, status text, v int, big text, secret text, addr inet);
       ALTER TABLE tw ALTER COLUMN big SET STORAGE EXTERNAL;
       INSERT INTO tw SELECT g, 's' || g % 4, g, CASE WHEN g BETWEEN 100 AND 130 THEN repeat(md5(g::text), 100) END,
                             'secret ' || g, '10.0.0.1' FROM generate_series(1, 300) g;
       CREATE VIEW v_tw AS SELECT id, status, v, big FROM tw WHERE id % 3 <> 0;
       CREATE TABLE tf (id int, status text, big text);
       ALTER TABLE tf ALTER COLUMN big SET STORAGE EXTERNAL;
       ALTER TABLE tf REPLICA IDENTITY FULL;
       INSERT INTO tf SELECT g % 40, CASE WHEN g % 3 = 0 THEN 'hidden' ELSE 'shown' END,
                             CASE WHEN g % 5 = 0 THEN repeat(md5(g::text), 100) END FROM generate_series(1, 200) g;
       CREATE VIEW v_tf AS SELECT * FROM tf WHERE status <> 'hidden';
       CREATE TABLE tc (id int PRIMARY KEY, a int, b text);
       INSERT INTO tc SELECT g, g * 2, 'b' || g FROM generate_series(1, 50) g;
       CREATE VIEW v_tc AS SELECT id, a FROM tc;
       CREATE TABLE tx (id int PRIMARY KEY, name text, email text, hidden bool NOT NULL DEFAULT false);
       INSERT INTO tx SELECT g, 'name' || g, 'user' || g || '@example.com', g % 7 = 0 FROM generate_series(1, 100) g;
       CREATE VIEW v_tx AS SELECT id, name, hidden, md5(email) AS email_hash, upper(name) AS name_up FROM tx WHERE NOT hidden;"
P=$T_TMP/p
make_project "$P" --tables "tw tf tc tx" --config "$(repl main t73_pub)

[sources.sql_database.tw]
where = \"id % 3 <> 0\"
excluded_columns = [\"secret\", \"addr\"]

[sources.sql_database.tf]
where = \"status <> 'hidden'\"

[sources.sql_database.tc]
included_columns = [\"id\", \"a\"]

[sources.sql_database.tx]
transform = \"SELECT * EXCLUDE (email), md5(email) AS email_hash, upper(name) AS name_up FROM data WHERE NOT hidden\"

[normalize.parquet_normalizer]
add_dlt_load_id = true
add_dlt_id = true"
DB=$P/pg2md.duckdb
cmp_all() {
	assert_table_equal public v_tw "$DB" pg2md_data tw "$1: tw equals the source's rows in its where, without the excluded columns"
	assert_table_equal public v_tf "$DB" pg2md_data tf "$1: tf (REPLICA IDENTITY FULL) equals the source's rows in its where"
	assert_table_equal public v_tc "$DB" pg2md_data tc "$1: tc holds its included columns"
	assert_table_equal public v_tx "$DB" pg2md_data tx "$1: tx equals the transform of the source"
}

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(pgq "SELECT pg_get_expr(prqual, prrelid) FROM pg_publication_rel WHERE prrelid = 'tw'::regclass")" \
	"(id % 3) <> 0" "the publication holds tw with its where as the row filter"
cmp_all "initial copy"
COPY_LOAD=$(ddbq "$DB" "SELECT DISTINCT _dlt_load_id FROM pg2md_data.tw")

# --- changes crossing the filters ------------------------------------------------------------------
pg -c "INSERT INTO tw SELECT g, 'new', g, NULL, 'x', NULL FROM generate_series(1001, 1030) g;
       UPDATE tw SET v = v + 1000 WHERE id BETWEEN 1 AND 40;
       UPDATE tw SET id = id + 10000 WHERE id BETWEEN 41 AND 70;
       UPDATE tw SET status = 'toast kept' WHERE id BETWEEN 100 AND 130 AND id % 3 <> 0;
       DELETE FROM tw WHERE id BETWEEN 200 AND 220;
       UPDATE tw SET secret = 'changed', addr = '10.0.0.2' WHERE id > 280;"
pg -c "UPDATE tf SET status = 'shown' WHERE status = 'hidden' AND id < 20;
       UPDATE tf SET status = 'hidden' WHERE status = 'shown' AND id BETWEEN 30 AND 35;
       UPDATE tf SET status = 'still hidden' WHERE status = 'hidden' AND id > 36;
       INSERT INTO tf VALUES (1, 'hidden', NULL), (1, 'shown', NULL), (1, 'shown', NULL);
       DELETE FROM tf WHERE status = 'hidden' AND id = 25;
       DELETE FROM tf WHERE ctid = (SELECT min(ctid) FROM tf WHERE id = 1 AND status = 'shown' AND big IS NULL);"
pg -c "UPDATE tc SET b = 'only b' WHERE id < 10; UPDATE tc SET a = -a WHERE id BETWEEN 10 AND 20;
       ALTER TABLE tc ADD COLUMN c int DEFAULT 7; INSERT INTO tc VALUES (51, 51, 'x', 1);"
pg -c "UPDATE tx SET hidden = NOT hidden WHERE id BETWEEN 1 AND 30;
       UPDATE tx SET email = 'changed' || id WHERE id BETWEEN 50 AND 60;
       INSERT INTO tx VALUES (101, 'new one', 'n@example.com', false), (102, 'new hidden', 'h@example.com', true);
       DELETE FROM tx WHERE id IN (70, 71);"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
cmp_all "inserts, updates and deletes crossing the filters"
assert_eq "id,a" "$(ddbq "$DB" "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns
	WHERE table_schema = 'pg2md_data' AND table_name = 'tc' AND column_name NOT LIKE '\\_dlt%' ESCAPE '\\'")" \
	"a column added at the source stays out of a table with included_columns"
assert_eq "0" "$(ddbq "$DB" "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'pg2md_data'
	AND table_name = 'tw' AND column_name IN ('secret', 'addr')")" "excluded columns stay out of the mirror"

# --- lineage columns: the batch's load id, recorded in _dlt_loads; a fresh _dlt_id per row ------------
BATCH_LOAD=$(ddbq "$DB" "SELECT DISTINCT _dlt_load_id FROM pg2md_data.tw WHERE id > 1000")
assert_match "$BATCH_LOAD" '^[0-9]+\.[0-9]{6}$' "the rows a batch wrote carry one load id, as dlt forms them"
assert_eq $'0\t1' "$(ddbq "$DB" "SELECT status, count(*) FROM pg2md_data._dlt_loads WHERE load_id = '$BATCH_LOAD' GROUP BY status")" \
	"the batch's load is in _dlt_loads with status 0"
assert_eq "$COPY_LOAD" "$(ddbq "$DB" "SELECT DISTINCT _dlt_load_id FROM pg2md_data.tw WHERE id BETWEEN 250 AND 260")" \
	"rows the batch did not change keep the initial copy's load id"
assert_eq "0" "$(ddbq "$DB" "SELECT count(*) - count(DISTINCT _dlt_id) + count(*) FILTER (WHERE _dlt_id IS NULL)
	FROM (SELECT _dlt_id FROM pg2md_data.tw UNION ALL SELECT _dlt_id FROM pg2md_data.tf UNION ALL SELECT _dlt_id FROM pg2md_data.tx)")" \
	"every row has its own _dlt_id"

# --- a streamed transaction through the filter and the transform -----------------------------------
pg -c "BEGIN; INSERT INTO tw SELECT g, 'streamed', g, NULL, 'x', NULL FROM generate_series(20001, 23000) g;
       UPDATE tw SET id = id + 100000 WHERE id BETWEEN 20001 AND 21000 AND id % 2 = 1;
       UPDATE tx SET name = 'streamed ' || id; INSERT INTO tf SELECT g % 9, 'shown', NULL FROM generate_series(1, 2000) g; COMMIT;"
assert_exit 0 env PGOPTIONS="-c logical_decoding_work_mem=64kB" "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "streamed transactions: 1 applied" "the transaction came streamed"
cmp_all "a streamed transaction"
assert_eq "1" "$(ddbq "$DB" "SELECT count(DISTINCT _dlt_load_id) FROM (SELECT _dlt_load_id FROM pg2md_data.tw WHERE id > 20000
	UNION ALL SELECT _dlt_load_id FROM pg2md_data.tx)")" "one load id for every table of the batch"

# --- a row entering the filter by a key change, with a large value the update left alone: refused ----
pg -c "UPDATE tw SET id = 600 WHERE id = 101;" # in (101 % 3 = 2) -> out (600 % 3 = 0): a delete
pg -c "UPDATE tw SET id = 601 WHERE id = 600;" # out -> in, big unchanged: an insert without big
assert_exit 1 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_ERR")" 'entered its where filter without the value of column "big"' "refused, naming the column"
assert_contains "$(cat "$T_ERR")" 'REPLICA IDENTITY FULL' "with the fix"

# --- refusals before anything moves -------------------------------------------------------------------
pg -c "CREATE TABLE tk (id int PRIMARY KEY, status text); INSERT INTO tk VALUES (1, 'a'), (2, 'b');
       CREATE TABLE tq (id int PRIMARY KEY, x int); INSERT INTO tq VALUES (1, 1);"
refused() { # name tables config expected-text message
	local d=$T_TMP/$1
	make_project "$d" --tables "$2" --config "$(repl "$1" "t73_$1")
$3"
	assert_exit 2 "$PG2MD_BIN" follow --once --project-dir "$d"
	assert_contains "$(cat "$T_ERR")" "$4" "$5"
}
refused ident tk '[sources.sql_database.tk]
where = "status <> '\''b'\''"' 'tk" REPLICA IDENTITY FULL;' "a where over columns outside the key: refused with the ALTER TABLE"
assert_eq "0" "$(pgq "SELECT count(*) FROM pg_publication WHERE pubname = 't73_ident'")" "and no publication was made"
pg -c "UPDATE tk SET status = 'c' WHERE id = 1;" && t_pass "the source's UPDATE of the table still works"
refused mutable tk '[sources.sql_database.tk]
where = "id < extract(epoch from now())"' "mutable functions are not allowed" "a where PostgreSQL cannot filter by: its reason"
pg -c "CREATE PUBLICATION t73_handmade FOR TABLE tk;"
refused handmade tk '[sources.sql_database.tk]
where = "id > 1"' 'ADD TABLE "public"."tk" WHERE (id > 1)' "a publication holding the table without the filter: the statements that fix it"
refused agg tq '[sources.sql_database.tq]
transform = "SELECT id, sum(x) OVER () AS total FROM data"' "is not row-wise (DuckDB plans it with" "a window function: not row-wise"
refused group tq '[sources.sql_database.tq]
transform = "SELECT x AS id, count(*) AS n FROM data GROUP BY x"' "HASH_GROUP_BY" "GROUP BY: not row-wise"
refused normalize tq '[sources.sql_database.tq]
transform = "SELECT * FROM data"
transform_stage = "normalize"' "runs at normalize" "a transform at normalize"
refused nokey tq '[sources.sql_database.tq]
transform = "SELECT x FROM data"' 'leaves out key column "id"' "a transform without the key"
refused keyout tq '[sources.sql_database.tq]
excluded_columns = ["id"]' 'key column' "the key left out of the columns"
refused query "tq qt" '[sources.sql_database.qt]
query = "SELECT id, x FROM public.tq"' 'query tables cannot be followed' "a query table"

# --- a transformed table: an update leaving a large value unchanged is refused (the mirror has no raw value) ---
pg -c "CREATE TABLE tb (id int PRIMARY KEY, name text, big text); ALTER TABLE tb ALTER COLUMN big SET STORAGE EXTERNAL;
       INSERT INTO tb VALUES (1, 'a', repeat('x', 5000)), (2, 'b', NULL);"
B=$T_TMP/tb
make_project "$B" --tables "tb" --config "$(repl tb t73_tb)
[sources.sql_database.tb]
transform = \"SELECT * EXCLUDE (big), length(big) AS big_len FROM data\""
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$B"
pg -c "UPDATE tb SET name = 'b2' WHERE id = 2; UPDATE tb SET big = repeat('y', 6000) WHERE id = 1;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$B"
assert_eq "1|a|6000 2|b2|" "$(ddbq "$B/pg2md.duckdb" "SELECT string_agg(id || '|' || name || '|' || coalesce(big_len::VARCHAR, ''), ' ' ORDER BY id) FROM pg2md_data.tb")" \
	"a transformed table follows updates that send the large value"
pg -c "UPDATE tb SET name = 'a2' WHERE id = 1;"
assert_exit 1 "$PG2MD_BIN" follow --once --project-dir "$B"
assert_contains "$(cat "$T_ERR")" 'left the large value of column "big" unchanged' "an unchanged large value: refused, naming the column"

# --- a plain numeric whose new value has more fraction digits than the DECIMAL the copy measured ---
pg -c "CREATE TABLE tn (id int PRIMARY KEY, amount numeric); INSERT INTO tn VALUES (1, 1.5), (2, 22.25);"
N=$T_TMP/tn
make_project "$N" --tables "tn" --config "$(repl tn t73_tn)"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$N"
pg -c "UPDATE tn SET amount = 3.75 WHERE id = 1;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$N"
assert_table_equal public tn "$N/pg2md.duckdb" pg2md_data tn "a value that fits the measured DECIMAL"
pg -c "UPDATE tn SET amount = 1.234 WHERE id = 2;"
assert_exit 1 "$PG2MD_BIN" follow --once --project-dir "$N"
assert_contains "$(cat "$T_ERR")" 'more fraction digits than its DECIMAL' "one with more fraction digits fails the batch, never rounded"
assert_eq "22.25" "$(ddbq "$N/pg2md.duckdb" "SELECT amount FROM pg2md_data.tn WHERE id = 2")" "and the mirror keeps the value it had"

t_done

#!/usr/bin/env bash
# t74_follow_partition — partitioned tables in pg2md follow (docs/cdc.md): published via the
# root (publish_via_partition_root), applied to the parent's table; inserts into several
# partitions, rows moving between partitions (an UPDATE of the partition key), changes made on a
# partition itself, a TRUNCATE of the parent, a partition attached while following, a where
# (rows moving into and out of it with their partition); a publication without
# publish_via_partition_root refused.  Compared with the source by checksum after each step.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_partition
require_pg2md

SLOT="t74_slot_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't74_%_$$'" >/dev/null 2>&1 || true
	orig_t_cleanup
}

pg -c "CREATE TABLE m (id bigint, region text, v int, note text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
       CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu');
       CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us');
       CREATE TABLE m_other PARTITION OF m DEFAULT;
       CREATE TABLE r (id int PRIMARY KEY, k int NOT NULL, s text) PARTITION BY RANGE (id);
       CREATE TABLE r_1 PARTITION OF r FOR VALUES FROM (0) TO (1000);
       CREATE TABLE r_2 PARTITION OF r FOR VALUES FROM (1000) TO (2000);
       CREATE VIEW v_m AS SELECT * FROM m WHERE region <> 'ap';
       INSERT INTO m SELECT g, (ARRAY['eu','us','ap'])[1 + g % 3], g, 'n' || g FROM generate_series(1, 300) g;
       INSERT INTO r SELECT g, g % 7, 's' || g FROM generate_series(1, 1999, 3) g;"
P=$T_TMP/p
make_project "$P" --tables "m r" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t74_pub\"

[sources.sql_database.m]
where = \"region <> 'ap'\""
DB=$P/pg2md.duckdb
cmp_all() {
	assert_table_equal public v_m "$DB" pg2md_data m "$1: m equals the source's rows in its where (region <> 'ap')"
	assert_table_equal public r "$DB" pg2md_data r "$1: r equals the source"
}

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "t" "$(pgq "SELECT pubviaroot FROM pg_publication WHERE pubname = 't74_pub'")" \
	"the publication publishes partitions via their root"
cmp_all "initial copy"

# --- inserts into several partitions, rows moving between partitions -------------------------
pg -c "INSERT INTO m SELECT g, (ARRAY['eu','us','ap','xx'])[1 + g % 4], -g, 'new' FROM generate_series(301, 400) g;
       INSERT INTO r VALUES (2, 1, 'a'), (1005, 2, 'b'), (1500, 3, 'c');"
pg -c "UPDATE m SET region = 'us', note = 'moved eu->us' WHERE region = 'eu' AND id % 5 = 0;
       UPDATE m SET region = 'eu' WHERE region = 'ap' AND id < 50;
       UPDATE r SET id = id + 1000, s = 'moved' WHERE id < 200;
       UPDATE m SET v = v * 10 WHERE region = 'us';
       DELETE FROM m WHERE region = 'xx' AND id % 2 = 0;
       DELETE FROM r WHERE id BETWEEN 1300 AND 1400;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "0" "$(ddbq "$DB" "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pg2md_data' AND table_name LIKE 'm\_%' ESCAPE '\\'")" \
	"no table per partition in the destination"
cmp_all "inserts into several partitions, updates moving rows between them, deletes"

# --- a key change and a move in one transaction, then TRUNCATE of one partition and the parent ---
pg -c "BEGIN; UPDATE m SET id = id + 10000 WHERE region = 'us' AND id < 100;
       UPDATE m SET region = 'ap' WHERE id > 10000 AND id % 2 = 1; INSERT INTO m VALUES (7, 'zz', 7, 'late'); COMMIT;"
pg -c "DELETE FROM m_us WHERE id % 4 = 0; INSERT INTO m_eu VALUES (9001, 'eu', 1, 'into the partition');
       UPDATE m_other SET v = 0 WHERE region = 'ap';"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
cmp_all "a key change, moves, changes made on the partitions themselves"
pg -c "BEGIN; INSERT INTO r VALUES (3, 3, 'before'); TRUNCATE r; INSERT INTO r VALUES (4, 4, 'after'), (1004, 4, 'after'); COMMIT;"
pg -c "TRUNCATE m;"
pg -c "INSERT INTO m VALUES (5, 'eu', 5, 'after the truncate');"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
cmp_all "TRUNCATE of the parent, in order with the changes around it"

# --- a partition attached while following --------------------------------------------------------
pg -c "CREATE TABLE r_3 (id int NOT NULL, k int NOT NULL, s text); INSERT INTO r_3 VALUES (2500, 1, 'attached');
       ALTER TABLE r ATTACH PARTITION r_3 FOR VALUES FROM (2000) TO (3000);
       INSERT INTO r VALUES (2600, 2, 'into the new partition');"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "2600" "$(ddbq "$DB" "SELECT string_agg(id::VARCHAR, ',') FROM pg2md_data.r WHERE id >= 2000")" \
	"a row inserted into an attached partition arrives (the rows it held before do not: ATTACH is not logged)"

# --- a publication that publishes the partitions, not the root: refused ---------------------------
pg -c "CREATE PUBLICATION t74_leaves FOR TABLE m;"
P2=$T_TMP/p2
make_project "$P2" --tables "m" --config "[sources.pg_replication]
slot_name = \"t74_two_$$\"
pub_name = \"t74_leaves\""
assert_exit 2 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_contains "$(cat "$T_ERR")" 'ALTER PUBLICATION "t74_leaves" SET (publish_via_partition_root = true);' \
	"a publication without publish_via_partition_root: refused with the ALTER PUBLICATION"
pg -c 'ALTER PUBLICATION t74_leaves SET (publish_via_partition_root = true);'
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
pg -c "UPDATE m SET region = 'us' WHERE id = 5; INSERT INTO m VALUES (6, 'xx', 6, 'x');"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_table_equal public m "$P2/pg2md.duckdb" pg2md_data m "after the ALTER PUBLICATION it is followed"

t_done

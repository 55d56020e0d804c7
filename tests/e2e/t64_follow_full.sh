#!/usr/bin/env bash
# t64_follow_full — tables without a primary key in pg2md follow (docs/cdc.md): REPLICA
# IDENTITY FULL tables are followed with rows matched by all their values (duplicates: an update
# or delete of one of several equal rows affects one), unchanged TOAST values included, also in
# a streamed transaction; a table with REPLICA IDENTITY DEFAULT and no key is refused with the
# ALTER TABLE to run.  Compared by checksum (as multisets: duplicates count).
. "$(dirname "$0")/../lib/common.sh"
t_init follow_full
require_pg2md

SLOT="t64_slot_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't64_%_$$'" >/dev/null 2>&1 || true
	orig_t_cleanup
}

pg -c "CREATE TABLE tf (a int, b text, big text, f float8, d date);
       ALTER TABLE tf ALTER COLUMN big SET STORAGE EXTERNAL;
       ALTER TABLE tf REPLICA IDENTITY FULL;
       INSERT INTO tf SELECT g % 50, 'b ' || (g % 7), CASE WHEN g % 10 = 0 THEN repeat(md5((g % 50)::text), 150) END,
                             CASE WHEN g % 3 = 0 THEN NULL ELSE g % 4 END, DATE '2024-01-01' + g % 5
                      FROM generate_series(1, 1000) g;
       INSERT INTO tf VALUES (1, 'dup', NULL, NULL, NULL), (1, 'dup', NULL, NULL, NULL), (1, 'dup', NULL, NULL, NULL);"
P=$T_TMP/p
make_project "$P" --tables "tf" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"t64_pub\""
DB=$P/pg2md.duckdb
cmp_tf() { assert_table_equal public tf "$DB" pg2md_data tf "$1: tf equals the source"; }

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
cmp_tf "initial copy"

# --- one of three equal rows updated, one deleted; equal rows inserted; NULLs matched -----------
pg -c "UPDATE tf SET b = 'one of three' WHERE ctid = (SELECT min(ctid) FROM tf WHERE b = 'dup');"
pg -c "DELETE FROM tf WHERE ctid = (SELECT min(ctid) FROM tf WHERE b = 'dup');"
pg -c "INSERT INTO tf VALUES (2, 'new', NULL, 1.5, NULL), (2, 'new', NULL, 1.5, NULL);
       UPDATE tf SET f = -1 WHERE a = 3 AND f IS NULL;
       DELETE FROM tf WHERE a = 4 AND d = DATE '2024-01-02';"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq "1" "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.tf WHERE b = 'dup'")" \
	"of three equal rows, one was updated and one deleted: one is left"
cmp_tf "updates and deletes of duplicated rows"

# --- an unchanged TOAST value (the old row carries it), then a streamed transaction ------------
pg -c "UPDATE tf SET b = 'toast kept' WHERE big IS NOT NULL AND a = 10;"
pg -c "BEGIN; UPDATE tf SET f = coalesce(f, 0) + 1 WHERE a < 25;
       INSERT INTO tf SELECT g % 10, 'streamed', NULL, NULL, NULL FROM generate_series(1, 5000) g;
       DELETE FROM tf WHERE a = 7; COMMIT;"
assert_exit 0 env PGOPTIONS="-c logical_decoding_work_mem=64kB" "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "streamed transactions: 2 applied" "both transactions came streamed (the TOAST values of the old rows are large)"
cmp_tf "unchanged TOAST values and a streamed transaction"

# --- REPLICA IDENTITY DEFAULT without a key: refused with the ALTER TABLE ------------------------
pg -c "CREATE TABLE nokey (a int, b text); INSERT INTO nokey VALUES (1, 'x');"
P2=$T_TMP/p2
make_project "$P2" --tables "nokey" --config "[sources.pg_replication]
slot_name = \"t64_two_$$\"
pub_name = \"t64_pub2\""
assert_exit 2 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_contains "$(cat "$T_ERR")" 'ALTER TABLE "public"."nokey" REPLICA IDENTITY FULL;' "the ALTER TABLE to run"
pg -c 'ALTER TABLE nokey REPLICA IDENTITY FULL;'
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
pg -c "UPDATE nokey SET b = 'y'; INSERT INTO nokey VALUES (1, 'y');"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P2"
assert_table_equal public nokey "$P2/pg2md.duckdb" pg2md_data nokey "after ALTER TABLE … REPLICA IDENTITY FULL it is followed"

t_done

#!/usr/bin/env bash
# t65_follow_drop — pg2md info's view of follow's slot on the source (the WAL it holds, a
# warning past lag_warning_mb), then pg2md drop --replication (docs/cdc.md, "Retiring a pipeline"): after pg2md
# follow, it drops the replication slot, the publication follow created (follow comments it so)
# and the watermark, after confirmation (none without a terminal or --yes: exit 2, nothing
# dropped); refused while follow streams from the slot; a publication someone else created is
# kept; a second drop finds nothing; the next follow copies the tables again, equal to the
# source; --replication with --tables is a usage error.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_drop
require_pg2md

SLOT="t65_slot_$$"
PUB="t65_pub_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't65_%_$$'" >/dev/null 2>&1 || true
	orig_t_cleanup
}

pg -c "CREATE TABLE ta (id int PRIMARY KEY, v text);
       INSERT INTO ta SELECT g, 'v' || g FROM generate_series(1, 200) g;"
P=$T_TMP/p
make_project "$P" --tables "ta" --config "[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"$PUB\""
DB=$P/pg2md.duckdb
slot_exists() { pgq "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT'"; }
pub_exists() { pgq "SELECT count(*) FROM pg_publication WHERE pubname = '$1'"; }
wm_rows() { ddbq "$DB" "SELECT count(*) FROM pg2md_data._pg2md_cdc WHERE slot_name = '$SLOT'"; }

assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_eq 1 "$(slot_exists)" "follow created the slot"
assert_eq 1 "$(pub_exists "$PUB")" "follow created the publication"
assert_contains "$(pgq "SELECT obj_description(oid, 'pg_publication') FROM pg_publication WHERE pubname = '$PUB'")" \
	"created by pg2md follow" "the publication says who created it"

# --- pg2md info asks the source about the slot -----------------------------------------------
assert_exit 0 "$PG2MD_BIN" info --project-dir "$P"
assert_match "$(cat "$T_OUT")" "on the source: slot \"$SLOT\" not read now, confirmed [0-9A-F]+/[0-9A-F]+, holds [0-9.]+ MB of WAL" \
	"info shows the slot's confirmed position and the WAL it holds"
assert_not_contains "$(cat "$T_ERR")" "warning" "no warning below lag_warning_mb"
pg -c "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS v FROM generate_series(1, 30000) g"
wal_written || t_diag "the WAL writer did not catch up in 10 s"
assert_exit 0 env SOURCES__PG_REPLICATION__LAG_WARNING_MB=1 "$PG2MD_BIN" info --json --project-dir "$P"
lag=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["replication_slot"]; print(s["exists"], s["active"], s["warning"], s["lag_bytes"] > 1048576, s["wal_status"])' "$T_OUT")
assert_eq "True False True True reserved" "$lag" "info --json: the slot holds more than 1 MB, past lag_warning_mb = 1"
assert_contains "$(cat "$T_ERR")" "holds" "a warning past lag_warning_mb"
assert_contains "$(cat "$T_ERR")" "lag_warning_mb" "naming the setting"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_exit 0 env SOURCES__PG_REPLICATION__LAG_WARNING_MB=1 "$PG2MD_BIN" info --project-dir "$P"
assert_not_contains "$(cat "$T_ERR")" "warning" "after follow caught up, no warning"

# --- not confirmed: nothing dropped ----------------------------------------------------------
assert_exit 2 "$PG2MD_BIN" drop --replication --project-dir "$P" </dev/null
assert_contains "$(cat "$T_ERR")" "without confirmation" "no terminal, no --yes: refused"
assert_eq "1 1 1" "$(slot_exists) $(pub_exists "$PUB") $(wm_rows)" "nothing was dropped"
assert_exit 2 "$PG2MD_BIN" drop --replication --tables ta --yes --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "give one" "--replication with --tables is a usage error"

# --- refused while follow streams from the slot ------------------------------------------------
"$PG2MD_BIN" follow --project-dir "$P" >/dev/null 2>&1 &
bg=$!
for _ in $(seq 1 100); do
	[ "$(pgq "SELECT active FROM pg_replication_slots WHERE slot_name = '$SLOT'")" = t ] && break
	sleep 0.1
done
assert_exit 1 "$PG2MD_BIN" drop --replication --yes --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "is in use" "an active slot is not dropped"
assert_contains "$(cat "$T_ERR")" "stop the pg2md follow" "and the hint says what to do"
kill -TERM $bg
wait $bg || true
assert_eq "1 1" "$(slot_exists) $(pub_exists "$PUB")" "the slot and publication are still there"

# --- dropped -----------------------------------------------------------------------------------
assert_exit 0 "$PG2MD_BIN" drop --replication --yes --project-dir "$P"
out=$(cat "$T_OUT")
assert_contains "$out" "dropped replication slot \"$SLOT\"" "says it dropped the slot"
assert_contains "$out" "dropped publication \"$PUB\"" "says it dropped the publication"
assert_contains "$out" "removed the watermark" "says it removed the watermark"
assert_eq "0 0 0" "$(slot_exists) $(pub_exists "$PUB") $(wm_rows)" "slot, publication and watermark are gone"
assert_exit 0 "$PG2MD_BIN" drop --replication --yes --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "nothing to drop" "a second drop finds nothing"

# --- the next follow copies again --------------------------------------------------------------
pg -c "UPDATE ta SET v = 'after' WHERE id <= 10; DELETE FROM ta WHERE id > 190;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "initial copy" "the next follow starts with a new copy"
assert_table_equal public ta "$DB" pg2md_data ta "after drop and a new follow, ta equals the source"

# --- dropping the whole dataset says the slot is still there ----------------------------------
assert_exit 0 "$PG2MD_BIN" drop --yes --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "pg2md drop --replication" "drop of the dataset points to drop --replication"
assert_eq 1 "$(slot_exists)" "the slot is still there"
assert_exit 0 "$PG2MD_BIN" drop --replication --yes --project-dir "$P"
assert_eq "0 0" "$(slot_exists) $(pub_exists "$PUB")" "drop --replication without a watermark drops slot and publication"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"

# --- a publication pg2md did not create is kept ------------------------------------------------
assert_exit 0 "$PG2MD_BIN" drop --replication --yes --project-dir "$P"
pg -c "CREATE PUBLICATION $PUB FOR TABLE ta"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_exit 0 "$PG2MD_BIN" drop --replication --yes --project-dir "$P"
out=$(cat "$T_OUT")
assert_contains "$out" "dropped replication slot" "the slot is dropped"
assert_contains "$out" "kept publication \"$PUB\"" "a publication someone else created is kept, and said so"
assert_eq "0 1" "$(slot_exists) $(pub_exists "$PUB")" "only the slot went"
pg -c "DROP PUBLICATION $PUB"
t_done

#!/usr/bin/env bash
# t22_dest_unwritable.sh — the destination folder is not writable ([destination.duckdb]
# credentials pointing into it): on a read-only file system (a tmpfs mounted ro) and with mode
# 0555 (pg2md run without CAP_DAC_OVERRIDE, as root is not stopped by permission bits), `pg2md
# run` stops before reading anything with exit 3, a message naming the folder and the reason, and
# a hint; `--direct` and `pg2md check` say the same; a package extracted before stays pending and
# is loaded once the folder is fixed; the earlier load into another DuckDB file is untouched; the
# next run after the fix completes and matches the source.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
t_init dest_unwritable
require_pg2md

unset MOTHERDUCK_TOKEN motherduck_token DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN
[ "$(id -u)" = 0 ] || t_bail "this test needs root (mount, setpriv)" "make test runs as root"

RO=$T_TMP/ro
mkdir -p "$RO"
mount -t tmpfs -o ro,size=16m,mode=0755 pg2md-t22 "$RO" || t_bail "cannot mount a read-only tmpfs on $RO"
unmount() {
	if mountpoint -q "$RO"; then
		umount "$RO" 2>/dev/null || umount -l "$RO" 2>/dev/null || echo "# warning: could not unmount $RO"
	fi
}
# t_cleanup runs on every way out (t_done, t_bail, the EXIT and INT traps): unmount first, so the
# temp folder can go
eval "t22_orig_$(declare -f t_cleanup)"
t_cleanup() {
	[ -n "$T_TMP" ] && unmount
	t22_orig_t_cleanup
}

pg >/dev/null <<'SQL' || t_bail "cannot build the source tables"
CREATE TABLE customer (id int PRIMARY KEY, name text);
INSERT INTO customer SELECT g, 'name ' || g FROM generate_series(1, 1000) g;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount numeric(10,2));
INSERT INTO orders SELECT g, g % 1000 + 1, g * 1.25 FROM generate_series(1, 3000) g;
SQL

P=$T_TMP/p
GOOD=$T_TMP/good/first.duckdb
mkdir -p "$T_TMP/good"
dest() { # dest PATH [extra config] — the project, loading into PATH
	make_project "$P" --tables "customer orders" --config "[destination.duckdb]
credentials = \"$1\""
}
stderr() { cat "$T_ERR"; }
pending() { "$PG2MD_BIN" info --json --project-dir "$P" 2>/dev/null | grep -c '"state": "\(extracted\|normalized\)"'; }

# --- a first load into a writable folder ---------------------------------------------------------
dest "$GOOD"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_table_equal public orders "$GOOD" pg2md_data orders "first load: orders"
GOOD_LOADS=$(ddbq "$GOOD" "SELECT count(*) FROM pg2md_data._dlt_loads")
GOOD_SUM=$(ddbq "$GOOD" "SELECT count(*) || ' ' || sum(amount) FROM pg2md_data.orders")

# the source moves on
pg -c "INSERT INTO orders SELECT g, g % 1000 + 1, g * 1.25 FROM generate_series(3001, 3500) g" >/dev/null

# --- read-only file system -------------------------------------------------------------------
dest "$RO/second.duckdb"
assert_exit 3 "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_contains "$(stderr)" "folder \"$RO\" is not writable" "read-only folder: the message names the folder and says it is not writable"
assert_contains "$(stderr)" "$RO/second.duckdb" "read-only folder: the message names the DuckDB file"
assert_contains "$(stderr)" "Read-only file system" "read-only folder: the detail gives the reason"
assert_match "$(stderr)" '^HINT:  .*\[destination\.duckdb\] credentials' "read-only folder: a hint names the setting to change"
assert_match "$(head -n 1 "$T_ERR")" '^pg2md: error: [a-z]' "read-only folder: PostgreSQL-style error line"
assert_eq 0 "$(pending)" "read-only folder: the run stopped before extracting (no package left)"
assert_contains "$("$PG2MD_BIN" trace --project-dir "$P" 2>&1)" "the run failed (exit code 3)" "read-only folder: the trace records the failure"

assert_exit 3 "$PG2MD_BIN" run --direct --project-dir "$P" --progress none
assert_contains "$(stderr)" "is not writable" "read-only folder, --direct: the same message"

assert_exit 3 "$PG2MD_BIN" check --project-dir "$P"
assert_match "$(cat "$T_OUT" "$T_ERR")" 'FAILED .*not writable' "read-only folder: pg2md check reports the destination FAILED, not writable"

# a package extracted before the folder is fixed (extract alone needs no destination) stays pending
assert_exit 0 "$PG2MD_BIN" extract --project-dir "$P" --progress none
assert_eq 1 "$(pending)" "pg2md extract: one package pending"
assert_exit 3 "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_eq 1 "$(pending)" "read-only folder: the pending package is kept, not lost"

# the earlier load into the other file is untouched
assert_eq "$GOOD_LOADS" "$(ddbq "$GOOD" "SELECT count(*) FROM pg2md_data._dlt_loads")" "the first destination still has its loads"
assert_eq "$GOOD_SUM" "$(ddbq "$GOOD" "SELECT count(*) || ' ' || sum(amount) FROM pg2md_data.orders")" "the first destination's rows are untouched"
assert_eq no "$(test -e "$RO/second.duckdb" && echo yes || echo no)" "nothing was created in the read-only folder"

# --- fixed: the pending package is loaded, then a fresh run completes --------------------------
mount -o remount,rw "$RO" || t_bail "cannot remount $RO read-write"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_contains "$(cat "$T_OUT")" "finished load package" "after the fix: the pending package is loaded first"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_table_equal public orders "$RO/second.duckdb" pg2md_data orders "after the fix: orders"
assert_table_equal public customer "$RO/second.duckdb" pg2md_data customer "after the fix: customer"

# --- permission bits: a folder of mode 0555, pg2md without CAP_DAC_OVERRIDE -----------------------
LOCKED=$T_TMP/locked
mkdir -p "$LOCKED"
chmod 0555 "$LOCKED"
dest "$LOCKED/third.duckdb"
NOCAP=(setpriv --bounding-set=-dac_override,-dac_read_search)
"${NOCAP[@]}" true || t_bail "setpriv cannot drop capabilities here"
assert_exit 3 "${NOCAP[@]}" "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_contains "$(stderr)" "folder \"$LOCKED\" is not writable" "mode 0555: the message names the folder"
assert_contains "$(stderr)" "Permission denied" "mode 0555: the detail says permission denied"
assert_match "$(stderr)" '^HINT:  make the folder writable' "mode 0555: a hint"
assert_eq 0 "$(pending)" "mode 0555: nothing extracted"
chmod 0755 "$LOCKED"
assert_exit 0 "${NOCAP[@]}" "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_table_equal public orders "$LOCKED/third.duckdb" pg2md_data orders "mode 0755 again: the run completes"

# --- a folder that does not exist ------------------------------------------------------------------
dest "$T_TMP/no/such/folder/x.duckdb"
assert_exit 3 "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_contains "$(stderr)" "folder \"$T_TMP/no/such/folder\" does not exist" "missing folder: says so"
assert_match "$(stderr)" '^HINT:  create the folder' "missing folder: a hint"

t_done

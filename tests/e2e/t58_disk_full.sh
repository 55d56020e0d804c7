#!/usr/bin/env bash
# t58_disk_full — the disk fills up under a run, on a tmpfs mounted here (needs root or
# CAP_SYS_ADMIN; otherwise the test is reported skipped with the reason, exit 77):
#   1. the staging folder ([runtime] pipelines_dir on an 8 MiB tmpfs) fills while the Parquet
#      files of a 300,000-row increment are written: the run fails with exit 1, a message naming
#      the file and a hint naming pipelines_dir; no package is left that a later stage would take
#      for complete; the destination keeps what it held (count, sums); after the tmpfs is
#      remounted bigger, the rerun completes;
#   2. the DuckDB file (on a 6 MiB tmpfs) fills during the load: the load's transaction is rolled
#      back, the destination keeps what it held, the normalized package stays; after a remount
#      the rerun loads it.
# Both tables are append with an incremental cursor: a load committed in part would show as
# duplicated rows after the rerun.  Rows lost and duplicated are counted against the source and
# must be zero; the faults and recoveries are printed with their figures.
. "$(dirname "$0")/../lib/common.sh"
t_init disk_full
require_pg2md

MOUNTS=()
umount_all() {
	local m
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	MOUNTS=()
}
# t_done and t_bail clean up through t_cleanup: unmount first, so nothing stays mounted
eval "t_cleanup_files() $(declare -f t_cleanup | tail -n +2)"
t_cleanup() { umount_all; t_cleanup_files; }

# mount_tmpfs DIR SIZE — or skip the whole test, saying why
mount_tmpfs() {
	mkdir -p "$1"
	local err
	if ! err=$(mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" 2>&1); then
		echo "# SKIP: cannot mount a tmpfs at $1 ($err): this test needs root or CAP_SYS_ADMIN"
		t_cleanup
		trap - EXIT
		exit 77
	fi
	MOUNTS+=("$1")
}
free_kb() { df -k --output=avail "$1" | tail -n 1 | tr -d ' '; }

FAULTS=0
RECOVERED=0
GROW="INSERT INTO %s SELECT g, md5(g::text), md5((g * 3)::text) FROM generate_series(2001, 300000) g"

# sums TABLE — count, sum(id), sum of a hash of the text: on both sides
sums_pg() { pgq "SELECT count(*), sum(id), sum(('x' || substr(md5(s || r), 1, 8))::bit(32)::bigint) FROM $1"; }
sums_duck() {
	ddbq "$1" "SELECT count(*), sum(id), sum(('0x' || substr(md5(s || r), 1, 8))::BIGINT) FROM pg2md_data.$2"
}
# lost_dup FILE TABLE — "lost duplicated" against the source
lost_dup() {
	local src got distinct
	src=$(pgq "SELECT count(*) FROM $2")
	read -r got distinct < <(ddbq "$1" "SELECT count(*), count(DISTINCT id) FROM pg2md_data.$2")
	echo "$((src - distinct)) $((got - distinct))"
}

# --- 1. the staging folder fills -------------------------------------------------------------
STAGE=$T_TMP/stage
mount_tmpfs "$STAGE" 8m
pg -c "CREATE TABLE s1 (id int primary key, s text, r text);
       INSERT INTO s1 SELECT g, md5(g::text), md5((g * 3)::text) FROM generate_series(1, 2000) g;"
make_project "$T_TMP/p" --tables "s1" --config "
[sources.sql_database.s1]
write_disposition = \"append\"
incremental.cursor_path = \"id\"

[pipeline]
pipelines_dir = \"$STAGE\""
P=$T_TMP/p
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_eq "$(sums_pg s1)" "$(sums_duck "$P/pg2md.duckdb" s1)" "staging: the first 2000 rows arrived (count, sums)"
before=$(sums_duck "$P/pg2md.duckdb" s1)

# shellcheck disable=SC2059
pg -c "$(printf "$GROW" s1)"
FAULTS=$((FAULTS + 1))
t_diag "fault: 298,000 new rows to stage into a tmpfs with $(($(free_kb "$STAGE") / 1024)) MiB free"
assert_exit 1 "$PG2MD_BIN" run --project-dir "$P"
err=$(cat "$T_ERR")
assert_contains "$err" "No space left on device" "staging full: the message says the disk is full"
assert_contains "$err" "$STAGE/" "staging full: the message names the file in the staging folder"
assert_match "$err" '^hint:.*pipelines_dir' "staging full: the hint names pipelines_dir"
left=$(find "$STAGE/pg2md/load/extracting" "$STAGE/pg2md/load/extracted" "$STAGE/pg2md/load/normalized" \
	-mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
assert_eq 0 "$left" "staging full: no package is left extracting, extracted or normalized"
assert_eq "$before" "$(sums_duck "$P/pg2md.duckdb" s1)" "staging full: the destination holds what it held (count, sums)"
assert_eq "2000" "$(pgq "SELECT count(*) FROM s1 WHERE id <= 2000")" "staging full: (the source's first rows are unchanged)"

mount -o remount,size=64m "$STAGE"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
staged=$("$PG2MD_BIN" trace --json --project-dir "$P" |
	python3 -c 'import json,sys; print(sum(t["file_bytes"] for t in json.load(sys.stdin)["tables"]))' 2>/dev/null)
assert_eq "$(sums_pg s1)" "$(sums_duck "$P/pg2md.duckdb" s1)" "staging recovered: the destination equals the source (count, sums)"
assert_table_equal public s1 "$P/pg2md.duckdb" pg2md_data s1 "staging recovered: s1 equals its source value by value"
read -r lost dup < <(lost_dup "$P/pg2md.duckdb" s1)
assert_eq "0 0" "$lost $dup" "staging recovered: rows lost 0, rows duplicated 0"
t_diag "recovery: remounted at 64 MiB; the rerun staged ${staged:-?} bytes and loaded the 298,000 rows; lost $lost, duplicated $dup"
[ "$T_RC" = 0 ] && [ "$lost $dup" = "0 0" ] && RECOVERED=$((RECOVERED + 1))

# --- 2. the DuckDB file's disk fills during the load -------------------------------------------
DEST=$T_TMP/dest
mount_tmpfs "$DEST" 6m
pg -c "CREATE TABLE s2 (id int primary key, s text, r text);
       INSERT INTO s2 SELECT g, md5(g::text), md5((g * 3)::text) FROM generate_series(1, 2000) g;"
make_project "$T_TMP/q" --tables "s2" --config "
[sources.sql_database.s2]
write_disposition = \"append\"
incremental.cursor_path = \"id\"

[destination.duckdb]
credentials = \"$DEST/pg2md.duckdb\""
Q=$T_TMP/q
DUCK=$DEST/pg2md.duckdb
assert_exit 0 "$PG2MD_BIN" run --project-dir "$Q"
assert_eq "$(sums_pg s2)" "$(sums_duck "$DUCK" s2)" "destination: the first 2000 rows arrived (count, sums)"
before=$(sums_duck "$DUCK" s2)

# shellcheck disable=SC2059
pg -c "$(printf "$GROW" s2)"
FAULTS=$((FAULTS + 1))
t_diag "fault: 298,000 new rows to load into a DuckDB file on a tmpfs with $(($(free_kb "$DEST") / 1024)) MiB free"
assert_exit 1 "$PG2MD_BIN" run --project-dir "$Q"
err=$(cat "$T_ERR")
assert_contains "$err" "No space left on device" "destination full: the message says the disk is full"
assert_contains "$err" "$DUCK" "destination full: the message names the DuckDB file"
assert_match "$err" '^hint:.*destination.duckdb' "destination full: the hint names the DuckDB file's key"
assert_eq "$before" "$(sums_duck "$DUCK" s2)" "destination full: the load was rolled back, the destination holds what it held"
pending=$(find "$Q/.pg2md/pipelines/pg2md/load/normalized" -mindepth 1 -maxdepth 1 | wc -l)
assert_eq 1 "$pending" "destination full: the normalized package stays for the next run"

mount -o remount,size=64m "$DEST"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$Q"
assert_contains "$(cat "$T_OUT")" "left normalized" "destination recovered: the rerun finishes the pending package"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$Q" # and a run after it extracts nothing new twice
assert_eq "$(sums_pg s2)" "$(sums_duck "$DUCK" s2)" "destination recovered: the destination equals the source (count, sums)"
assert_table_equal public s2 "$DUCK" pg2md_data s2 "destination recovered: s2 equals its source value by value"
read -r lost dup < <(lost_dup "$DUCK" s2)
assert_eq "0 0" "$lost $dup" "destination recovered: rows lost 0, rows duplicated 0"
t_diag "recovery: remounted at 64 MiB; the rerun loaded the pending package; DuckDB file $(($(stat -c %s "$DUCK") / 1024)) KiB; lost $lost, duplicated $dup"
[ "$lost $dup" = "0 0" ] && RECOVERED=$((RECOVERED + 1))

umount_all
t_diag "faults injected: $FAULTS (staging disk full, destination disk full); recovered with rows lost 0 and duplicated 0: $RECOVERED"
t_done

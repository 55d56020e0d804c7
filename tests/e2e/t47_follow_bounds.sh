#!/usr/bin/env bash
# t47_follow_bounds — transactions the server sends whole at their commit, applied in steps
# (docs/cdc.md "Large transactions", "Column changes"; docs/motherduck.md "pg2md follow"):
#   A. under MotherDuck's rules (PG2MD_TEST_MOTHERDUCK_RULES=1 on a local file), with
#      streaming = false (protocol 2, binary) and with proto_version = 1 (text, never streamed):
#      a transaction within transaction_rows (2000 here) is applied in one transaction; one of
#      ~12,000 changes (inserts, updates leaving a large value unchanged, key changes, deletes,
#      a TRUNCATE) goes to steps with the small transaction before it, several steps (the DEBUG
#      log says so), equal to the source, no work table left; SIGKILL after a step (both), before
#      the swap's commit (the mirror as before the transactions, the work tables there; the rerun
#      drops them and applies them again) and after it (the rerun applies nothing twice);
#   B. on a local file (no rules), plain (streaming = false) and streamed (logical_decoding_work_mem
#      = 64kB): a transaction changing rows of a table, then its columns, then rows again, and a
#      column change reaching a table the batch already changed while its own transaction changed
#      another table first (both refused before): followed, with a SIGKILL after a step and a rerun;
#      the new columns' values checked.
# Every step compares the destination with the source value by value.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_bounds
require_pg2md

eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't47_%_$$' AND NOT active" >/dev/null 2>&1 || true
	orig_t_cleanup
}

pg -c "CREATE TABLE ts (id bigint PRIMARY KEY, v int, s text, big text);
       ALTER TABLE ts ALTER COLUMN big SET STORAGE EXTERNAL;
       CREATE TABLE tb (k int PRIMARY KEY, v int NOT NULL);
       CREATE TABLE tq (k int PRIMARY KEY, w text);
       INSERT INTO ts SELECT g, g, 'row ' || g, CASE WHEN g % 50 = 0 THEN repeat(md5(g::text), 100) END
                      FROM generate_series(1, 3000) g;
       INSERT INTO tb SELECT g, g FROM generate_series(1, 500) g;
       INSERT INTO tq SELECT g, 'q' || g FROM generate_series(1, 100) g;"

# ============ A: MotherDuck's rules, transactions not streamed ===================================
# two pipelines on their own slots read the same changes: streaming = false, and protocol 1
A1=$T_TMP/a1
A2=$T_TMP/a2
for x in "a1 streaming = false" "a2 proto_version = 1"; do
	set -- $x
	make_project "$T_TMP/$1" --tables "ts tb tq" --config "[sources.pg_replication]
slot_name = \"t47_$1_$$\"
pub_name = \"t47_pub_$$\"
$2 $3 $4
[destination.motherduck]
transaction_rows = 2000"
done
export PG2MD_TEST_MOTHERDUCK_RULES=1

compare_all() { # $1: project, $2: what
	local t
	for t in ts tb tq; do assert_table_equal public "$t" "$1/pg2md.duckdb" pg2md_data "$t" "$2: $t equals the source"; done
}
work_tables() { ddbq "$1/pg2md.duckdb" "SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, '_pg2md_cdcw__')"; }
mirror() { # what a reader of the destination sees
	ddbq "$1/pg2md.duckdb" "SELECT (SELECT count(*) || '/' || sum(hash(id, v, s, big)) FROM pg2md_data.ts) || ' ' ||
	            (SELECT count(*) || '/' || sum(hash(k, v)) FROM pg2md_data.tb) || ' ' ||
	            (SELECT count(*) || '/' || sum(hash(k, w)) FROM pg2md_data.tq)"
}
big_tx() { # $1: a tag, $2: the first new id, $3: "small": a small transaction first (folded before it)
	[ "${3:-}" = small ] && { pg -c "UPDATE tq SET w = '$1' WHERE k <= 10;" || t_bail "the source statements failed"; }
	pg -c "BEGIN;
	       INSERT INTO ts SELECT g, g, '$1', NULL FROM generate_series($2, $2 + 5000) g;
	       UPDATE ts SET s = '$1 u' WHERE id % 3 = 0;                    -- big unchanged: 'u' values
	       UPDATE ts SET id = id + 1000000 WHERE id % 13 = 0 AND id < 3000; -- key changes
	       DELETE FROM ts WHERE id % 11 = 0;
	       TRUNCATE tb; INSERT INTO tb SELECT g, g + 1 FROM generate_series(1, 2500) g;
	       COMMIT;" || t_bail "the source statements failed"
}

for P in $A1 $A2; do
	assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
done

# --- within the bounds: one transaction, no steps -----------------------------------------------
pg -c "UPDATE ts SET big = repeat('z', 2000) WHERE id <= 300;" || t_bail "the source statements failed"
for P in $A1 $A2; do
	assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
	assert_not_contains "$(cat "$T_ERR")" "steps" "$(basename "$P"): within transaction_rows, no steps"
	assert_not_contains "$(cat "$T_ERR")" "work table" "$(basename "$P"): no work table made"
	assert_table_equal public ts "$P/pg2md.duckdb" pg2md_data ts "a transaction within the bounds: ts equals the source"
done

# --- past them: in steps --------------------------------------------------------------------------
big_tx steps 100000 small
for P in $A1 $A2; do
	n=$(basename "$P")
	assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
	assert_not_contains "$(cat "$T_OUT")" "streamed transactions" "$n: the transaction was not streamed"
	assert_match "$(cat "$T_ERR")" "transaction at [0-9A-F/]+: past the bounds of one step, applied in steps with the batch before it" \
		"$n: past transaction_rows, the transaction (and the one before it) went to steps"
	assert_match "$(cat "$T_ERR")" "applied a transaction up to [0-9A-F/]+ in ([3-9]|[1-9][0-9]+) steps" \
		"$n: the transaction was applied in several steps"
	# (tq's work table too when the small transaction was still folded when the large one came:
	# the stream may also have been idle between them, which applies it as a batch of its own)
	assert_match "$(cat "$T_ERR")" "[23] work tables swapped in" "$n: ts and tb swapped in"
	compare_all "$P" "a transaction in steps"
	assert_eq "$(pgq "SELECT md5(big) FROM ts WHERE id = 1000650")" \
		"$(ddbq "$P/pg2md.duckdb" "SELECT md5(big) FROM pg2md_data.ts WHERE id = 1000650")" \
		"$n: an unchanged large value follows its row through a key change"
	assert_eq 0 "$(work_tables "$P")" "$n: no work table left"
done

# --- SIGKILL after a step, and before the swap: a reader sees the old tables ------------------------
for point in "cdc:stream_step 1 400000 $A1 $A2" "cdc:before_commit 0 500000 $A1"; do
	set -- $point
	big_tx "kill ${1#cdc:}" "$3"
	for P in ${@:4}; do
		n=$(basename "$P")
		before=$(mirror "$P")
		t_run env PG2MD_FAULT="$1" PG2MD_FAULT_SKIP="$2" "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
		assert_eq 137 "$T_RC" "$n: killed at $1 (SIGKILL)"
		[ "$1" = cdc:stream_step ] && assert_contains "$(cat "$T_ERR")" "step 2 committed" "$n: killed after a step committed"
		assert_eq "$before" "$(mirror "$P")" "$n: killed at $1: the mirror tables are as before the transactions"
		[ "$(work_tables "$P")" -ge 1 ] && t_pass "$n: killed at $1: the work tables hold the steps" ||
			t_fail "$n: killed at $1: no work table"
		assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
		assert_match "$(cat "$T_ERR")" "dropped [1-9][0-9]* work tables? of a streamed transaction a stopped run left" \
			"$n: the rerun dropped them"
		assert_match "$(cat "$T_ERR")" "applied a transaction up to [0-9A-F/]+ in [0-9]+ steps" "$n: and applied the transaction again"
		compare_all "$P" "rerun after a kill at $1"
		assert_eq 0 "$(work_tables "$P")" "$n: no work table left after the rerun"
	done
done

# --- SIGKILL after the swap's commit, before the server heard of it: applied once ----------------
big_tx after 300000
for P in $A1; do
	n=$(basename "$P")
	t_run env PG2MD_FAULT=cdc:after_commit "$PG2MD_BIN" follow --once --project-dir "$P"
	assert_eq 137 "$T_RC" "$n: killed after the swap's commit"
	assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
	assert_contains "$(cat "$T_OUT")" "applied 0 transactions" "$n: the rerun skips the transactions it already applied"
	compare_all "$P" "rerun after a kill after the swap (nothing applied twice)"
done
unset PG2MD_TEST_MOTHERDUCK_RULES

# ============ B: rows then columns, on a local file ===========================================
pg -c "CREATE TABLE tc (id int PRIMARY KEY, v int, s text);
       CREATE TABLE td (k int PRIMARY KEY, w int);
       INSERT INTO tc SELECT g, g, 'c' || g FROM generate_series(1, 2000) g;
       INSERT INTO td SELECT g, g FROM generate_series(1, 200) g;"
LP=$T_TMP/lp # plain: transactions sent whole at their commit
LS=$T_TMP/ls # streamed (logical_decoding_work_mem = 64kB for its runs)
for x in "lp streaming = false" "ls streaming = true"; do
	set -- $x
	make_project "$T_TMP/$1" --tables "tc td" --config "[sources.pg_replication]
slot_name = \"t47_$1_$$\"
pub_name = \"t47_lpub_$$\"
$2 $3 $4"
done
follow() { # $1: project, then more arguments
	local p=$1
	shift
	if [ "$p" = "$LS" ]; then
		PGOPTIONS="-c logical_decoding_work_mem=64kB" "$@"
	else
		"$@"
	fi
}
compare_b() {
	local t
	for t in tc td; do assert_table_equal public "$t" "$1/pg2md.duckdb" pg2md_data "$t" "$2: $t equals the source"; done
}
for P in $LP $LS; do
	assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
done

# --- one transaction: rows, then a column, then rows (SIGKILL after its first step, then a rerun) --
pg -c "BEGIN;
       UPDATE tc SET v = v + 1 WHERE id <= 1500;
       INSERT INTO tc SELECT g, g, 'new' FROM generate_series(2001, 3000) g;
       ALTER TABLE tc ADD COLUMN c int DEFAULT 7;
       INSERT INTO tc SELECT g, g, 'after', g * 2 FROM generate_series(3001, 4000) g;
       UPDATE tc SET c = id + 1 WHERE id % 3 = 0 AND id <= 1500;
       UPDATE td SET w = w + 1;
       COMMIT;" || t_bail "the source statements failed"
for P in $LP $LS; do
	n=$(basename "$P")
	t_run follow "$P" env PG2MD_FAULT=cdc:stream_step "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
	assert_eq 137 "$T_RC" "$n: killed after the first step of rows-then-columns"
	assert_contains "$(cat "$T_ERR")" "step 1 committed" "$n: a step committed"
	assert_eq 2000 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.tc")" "$n: the mirror as before the transaction"
	follow "$P" assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
	assert_contains "$(cat "$T_ERR")" "follows its source's columns: column c" "$n: the column change was followed"
	assert_match "$(cat "$T_ERR")" "a column change after rows of its table" "$n: the rows before it went to steps"
	compare_b "$P" "rows, then a column, then rows"
	assert_eq "$(pgq "SELECT sum(c::bigint) || '/' || count(*) FILTER (WHERE c = 7) FROM tc")" \
		"$(ddbq "$P/pg2md.duckdb" "SELECT sum(c::bigint) || '/' || count(*) FILTER (WHERE c = 7) FROM pg2md_data.tc")" \
		"$n: the new column's values (the default for the rows before it, the set ones after)"
	assert_eq 0 "$(work_tables "$P")" "$n: no work table left"
done

# --- a column change of a table the batch changed, after its transaction changed another table ----
pg -c "UPDATE tc SET v = v - 1 WHERE id <= 20;" || t_bail "the source statements failed"
pg -c "BEGIN;
       UPDATE td SET w = w * 2;
       INSERT INTO td SELECT g, g FROM generate_series(201, 1500) g;
       ALTER TABLE tc ADD COLUMN t2 text DEFAULT 'dflt';
       UPDATE tc SET t2 = 'set ' || id WHERE id % 4 = 0;
       COMMIT;" || t_bail "the source statements failed"
for P in $LP $LS; do
	n=$(basename "$P")
	follow "$P" assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
	assert_contains "$(cat "$T_ERR")" "follows its source's columns: column t2" "$n: the column change was followed"
	compare_b "$P" "a column change after the batch changed its table"
	assert_eq "$(pgq "SELECT count(*) FILTER (WHERE t2 = 'dflt') || '/' || count(*) FILTER (WHERE t2 LIKE 'set %') FROM tc")" \
		"$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FILTER (WHERE t2 = 'dflt') || '/' || count(*) FILTER (WHERE t2 LIKE 'set %') FROM pg2md_data.tc")" \
		"$n: the new column's values"
	assert_eq 0 "$(work_tables "$P")" "$n: no work table left"
done

t_done

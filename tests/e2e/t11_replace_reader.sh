#!/usr/bin/env bash
# t11_replace_reader.sh — readers of a table that `pg2md run` replaces never see it empty,
# missing or half-filled.  DuckDB lets only one process open a file for writing (and none
# while another process has it open), so "a reader during the replace" is checked the ways
# other processes can observe it:
#   1. staged: after `pg2md extract` and `pg2md normalize` the destination still holds the
#      complete old table; after `pg2md load` the complete new one;
#   2. a reader holding the file open: the run fails cleanly (non-zero, says the file is in
#      use), the old table is intact, and the next run completes;
#   3. `pg2md run` killed with SIGKILL at several moments of a replace (staged and direct): the
#      table is always the complete old or the complete new one (read with --rw: DuckDB cannot
#      replay a WAL in read-only mode), and reruns converge.
. "$(dirname "$0")/../lib/common.sh"
t_init replace_reader
require_pg2md

ROWS=${T11_ROWS:-300000}
Q="SELECT count(*) || ':' || coalesce(sum(id), 0) FROM pg2md_data.big"

# fill N — the source holds rows 1..N, payload depends on the generation G
fill() {
	pg -c "TRUNCATE big" -c "INSERT INTO big SELECT g, repeat(md5(g::text || '$2'), 4) FROM generate_series(1, $1) g"
	pgq "SELECT count(*) || ':' || coalesce(sum(id), 0) FROM big"
}

# state DIR [--rw] — count:sum of the destination table (or the error).  After a SIGKILL the
# file may have a WAL to replay, which DuckDB cannot do read-only: those reads use --rw.
state() {
	if [ "${2:-}" = --rw ]; then
		"$DDBQ" --rw "$1/pg2md.duckdb" "$Q" 2>&1 | head -c 300
	else
		"$DDBQ" "$1/pg2md.duckdb" "$Q" 2>&1 | head -c 300
	fi
}

pg -c "CREATE TABLE big (id int PRIMARY KEY, payload text)"

# --- 1. staged stages one by one ---------------------------------------------------------------

dir=$T_TMP/stages
make_project "$dir" --tables big
old=$(fill "$ROWS" a)
assert_exit 0 "$PG2MD_BIN" run --project-dir "$dir"
assert_eq "$old" "$(state "$dir")" "stages: first run loaded the table"
new=$(fill $((ROWS - 1000)) b)
assert_exit 0 "$PG2MD_BIN" extract --project-dir "$dir"
assert_eq "$old" "$(state "$dir")" "stages: after extract the old table is complete"
assert_exit 0 "$PG2MD_BIN" normalize --project-dir "$dir"
assert_eq "$old" "$(state "$dir")" "stages: after normalize the old table is complete"
assert_exit 0 "$PG2MD_BIN" load --project-dir "$dir"
assert_eq "$new" "$(state "$dir")" "stages: after load the new table is complete"
assert_table_equal public big "$dir/pg2md.duckdb" pg2md_data big "stages: the new table equals the source"

# --- 2. a reader holds the file open ---------------------------------------------------------------

for mode in staged direct; do
	flags=()
	[ $mode = direct ] && flags=(--direct)
	dir=$T_TMP/locked-$mode
	make_project "$dir" --tables big
	old=$(fill "$ROWS" c)
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$dir" "${flags[@]}" || continue
	new=$(fill $((ROWS + 500)) d)
	fifo=$T_TMP/fifo-$mode
	mkfifo "$fifo"
	"$DDBQ" "$dir/pg2md.duckdb" - <"$fifo" >"$T_TMP/reader.out" 2>&1 &
	reader=$!
	exec 9>"$fifo"
	sleep 0.5 # ddbq opens the file, then waits for its SQL on the fifo
	assert_exit nonzero "$PG2MD_BIN" run --project-dir "$dir" "${flags[@]}"
	assert_match "$(cat "$T_ERR")" 'lock|in use|another process|open' "$mode, file held by a reader: the message says the file is in use"
	echo "$Q;" >&9
	exec 9>&-
	wait "$reader"
	assert_eq "$old" "$(cat "$T_TMP/reader.out")" "$mode, file held by a reader: the reader saw the complete old table"
	assert_eq "$old" "$(state "$dir")" "$mode, file held by a reader: the old table is intact after the failed run"
	for attempt in 1 2; do
		t_run "$PG2MD_BIN" run --project-dir "$dir" "${flags[@]}"
		[ "$(state "$dir")" = "$new" ] && break
	done
	assert_eq "$new" "$(state "$dir")" "$mode, file held by a reader: the next run(s) load the new table"
done

# --- 3. SIGKILL during a replace ---------------------------------------------------------------

for mode in staged direct; do
	flags=()
	[ $mode = direct ] && flags=(--direct)
	dir=$T_TMP/kill-$mode
	make_project "$dir" --tables big
	gen=0
	cur=$(fill "$ROWS" "k$gen")
	assert_exit 0 "$PG2MD_BIN" run --project-dir "$dir" "${flags[@]}" || continue
	bad=""
	for delay in 0.05 0.2 0.4 0.7 1.0 1.5; do
		gen=$((gen + 1))
		prev=$(state "$dir")
		cur=$(fill $((ROWS - gen * 1000)) "k$gen")
		"$PG2MD_BIN" run --project-dir "$dir" "${flags[@]}" >/dev/null 2>&1 &
		pid=$!
		sleep "$delay"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		got=$(state "$dir" --rw)
		if [ "$got" != "$prev" ] && [ "$got" != "$cur" ]; then
			bad+="killed after ${delay}s: table is '$got', expected old '$prev' or new '$cur'"$'\n'
		fi
		# the next runs finish what the killed one left and load the current source
		for attempt in 1 2 3; do
			t_run "$PG2MD_BIN" run --project-dir "$dir" "${flags[@]}"
			[ "$(state "$dir")" = "$cur" ] && break
		done
		if [ "$(state "$dir")" != "$cur" ]; then
			bad+="after the kill at ${delay}s, reruns did not converge: '$(state "$dir")' instead of '$cur'; last run: $(head -c 500 "$T_ERR")"$'\n'
		fi
	done
	assert_eq "" "$bad" "$mode: killed replaces leave the complete old or new table, and reruns converge"
	assert_table_equal public big "$dir/pg2md.duckdb" pg2md_data big "$mode: after the kills the table equals the source"
done

t_done

#!/usr/bin/env bash
# t91_nomem — running out of memory is an error, not an abort (util/mem.h): an allocation that
# fails is retried once pg2md's reserve is released, and the run stops at its next check as it
# would on a cancel (COPYs cancelled, nothing half-written committed, no package passed on),
# exit status 1 with "out of memory" and a hint.  Memory running out is simulated at the Nth
# allocation (fault "alloc"), staged and direct, from the first allocations of a run to past its
# last (the control: no fault fires): never a crash, never a partial load, and the next run
# always copies the source exactly.
. "$(dirname "$0")/../lib/common.sh"
t_init nomem
require_pg2md

pg -c "CREATE TABLE items (id int PRIMARY KEY, code text, price numeric(10,2), tags text[]);
       INSERT INTO items SELECT g, 'c' || g, g * 1.25, ARRAY['t' || g % 3] FROM generate_series(1, 200000) g;
       CREATE TABLE small (id int, x text);
       INSERT INTO small VALUES (1, 'a'), (2, NULL);"
P=$T_TMP/p
make_project "$P" --tables "items small"

loads() { "$DDBQ" "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data._dlt_loads" 2>/dev/null || echo 0; }

failed=0 finished=0
for mode in staged direct; do
	for skip in 5 20 50 80 110 140 170 200 100000; do
		before=$(loads)
		T_RC=0
		PG2MD_FAULT_FAIL=alloc PG2MD_FAULT_FAIL_SKIP=$skip "$PG2MD_BIN" run --project-dir "$P" --progress=none \
			"--$mode" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
		case $T_RC in
		0)
			finished=$((finished + 1))
			assert_eq $((before + 1)) "$(loads)" "$mode, allocation $skip: the run finished, one load more"
			if grep -q 'fault injected' "$T_ERR"; then
				assert_contains "$(cat "$T_ERR")" "pg2md's reserve covered it" \
					"$mode, allocation $skip: memory ran out after the last check: a warning"
			fi
			;;
		1)
			failed=$((failed + 1))
			assert_contains "$(cat "$T_ERR")" "pg2md: error: out of memory" "$mode, allocation $skip: out of memory, an error"
			assert_contains "$(cat "$T_ERR")" "HINT:  " "$mode, allocation $skip: with a hint"
			assert_eq "$before" "$(loads)" "$mode, allocation $skip: nothing was loaded"
			;;
		*)
			t_fail "$mode, allocation $skip: exit status 0 or 1" "exit status $T_RC" "$(tail -5 "$T_ERR")"
			;;
		esac
		assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress=none "--$mode"
		assert_eq 200000 "$("$DDBQ" "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.items")" \
			"$mode, allocation $skip: the next run copies every row"
	done
done
assert_eq 1 "$((failed > 0 && finished > 0))" "runs stopped by memory running out ($failed) and runs it did not stop ($finished)"
assert_table_equal public items "$P/pg2md.duckdb" pg2md_data items "the copy equals the source, value by value"
assert_table_equal public small "$P/pg2md.duckdb" pg2md_data small "the small table too"

# check and verify survive it too: out of memory or their normal answer, never a crash
for cmd in check verify info; do
	T_RC=0
	PG2MD_FAULT_FAIL=alloc PG2MD_FAULT_FAIL_SKIP=30 "$PG2MD_BIN" $cmd --project-dir "$P" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
	assert_eq 1 "$((T_RC <= 1))" "$cmd with memory running out: exit status $T_RC, no crash"
done
t_done

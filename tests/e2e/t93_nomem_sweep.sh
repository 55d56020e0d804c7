#!/usr/bin/env bash
# t93_nomem_sweep — the library never ends the process when memory runs out (issue 15, point 4):
# every allocation pg2md makes itself can fail, and its caller unwinds with "out of memory"
# (PG2MD_ERR_NOMEM) like any other error.  The fault "alloc_hard" makes one allocation fail for
# good (the reserve spent, util/mem.c); the test moves that allocation through every command's
# life — the first allocations densely, then ever further apart, past the last (the control) —
# and asserts each run either ends normally or fails with "out of memory": never a signal, never
# another error text, and the destination never half-written (the next run copies the source
# exactly).  PG2MD_NOMEM_SWEEP=dense fails every one of the first 3,000 allocations instead (for
# finding the sites by hand; minutes).
. "$(dirname "$0")/../lib/common.sh"
t_init nomem_sweep
require_pg2md

pg -c "CREATE TABLE items (id int PRIMARY KEY, code text, price numeric(10,2), tags text[], doc jsonb,
                           seen timestamptz, ip inet);
       INSERT INTO items SELECT g, 'c' || g, g * 1.25, ARRAY['t' || g % 3], jsonb_build_object('k', g),
                                '2026-01-01'::timestamptz + g * interval '1 hour', '10.0.0.1'
       FROM generate_series(1, 3000) g;
       CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, what text);
       INSERT INTO events SELECT g, '2026-01-01'::timestamptz + g * interval '1 minute', 'e' || g
       FROM generate_series(1, 2000) g;" || t_bail "could not create the source tables"
P=$T_TMP/p
make_project "$P" --tables "items events" --config '[sources.sql_database.events]
write_disposition = "merge"
primary_key = "id"
incremental = { cursor_path = "at" }'
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress=none
F=$T_TMP/f
make_project "$F" --tables "items"

if [ "${PG2MD_NOMEM_SWEEP:-}" = dense ]; then
	skips=$(seq 0 3000)
elif [ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then
	skips="0 1 2 3 5 8 13 21 34 55 89 144 233 377 610 987 1597 2584 4181 100000000"
else
	skips="$(seq 0 24) 28 32 40 50 63 80 100 126 160 200 250 320 400 500 630 800 1000 1260 1600 2000 2500
	       3200 4000 5000 6300 8000 10000 100000000"
fi

# one failing allocation in `pg2md $*`, at every skip; $1 names the case
sweep() {
	local name=$1 dir=$2 crashed=0 other=0 failed=0 fine=0
	shift 2
	for skip in $skips; do
		T_RC=0
		PG2MD_FAULT_FAIL=alloc_hard PG2MD_FAULT_FAIL_SKIP=$skip "$PG2MD_BIN" "$@" --project-dir "$dir" \
			>"$T_OUT" 2>"$T_ERR" || T_RC=$?
		if [ "$T_RC" = 0 ]; then
			fine=$((fine + 1))
		elif [ "$T_RC" -ge 128 ] || grep -q 'AddressSanitizer\|runtime error:\|ThreadSanitizer' "$T_ERR"; then
			crashed=$((crashed + 1))
			t_fail "$name, allocation $skip fails: no crash" "exit status $T_RC" "$(tail -8 "$T_ERR")"
		elif grep -q 'out of memory' "$T_ERR"; then
			failed=$((failed + 1))
		else
			other=$((other + 1))
			t_fail "$name, allocation $skip fails: the error says out of memory" "exit status $T_RC" \
				"$(tail -4 "$T_ERR")"
		fi
	done
	assert_eq 0 "$crashed" "$name: no crash at any failing allocation ($failed out of memory, $fine finished)"
	assert_eq 0 "$other" "$name: every failure says out of memory"
	assert_eq 1 "$((failed > 0))" "$name: some allocations did fail it (the fault reached it)"
}

sweep "run (staged)" "$P" run --progress=none
sweep "run --direct" "$P" run --progress=none --direct
# whatever the sweep left, the next run finishes and the copy equals the source
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress=none
assert_table_equal public items "$P/pg2md.duckdb" pg2md_data items "after the sweep, items equals the source"
assert_table_equal public events "$P/pg2md.duckdb" pg2md_data events "after the sweep, events equals the source"

sweep "check" "$P" check
sweep "verify" "$P" verify
sweep "info" "$P" info
sweep "info --json" "$P" info --json
sweep "drop --pending" "$P" drop --pending --yes
sweep "follow --once" "$F" follow --once
pg -c "UPDATE items SET code = code || 'x' WHERE id % 7 = 0; DELETE FROM items WHERE id % 11 = 0" ||
	t_bail "could not change the source"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$F"
assert_table_equal public items "$F/pg2md.duckdb" pg2md_data items "follow after the sweep: items equals the source"
assert_exit 0 "$PG2MD_BIN" drop --replication --yes --project-dir "$F"
t_done

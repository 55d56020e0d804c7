#!/usr/bin/env bash
# t50_resume.sh — crash recovery (DESIGN §2 "exactly once", §5 fault tests).  `pg2md run` is
# killed with SIGKILL at every named crash point (PG2MD_FAULT), at random moments
# (timeout -s KILL) and, in direct mode, at load:before_commit and mid-COPY; each time
# `pg2md run` is rerun until it reports a normal load ("loaded …" or "finished load package …",
# at most 3 reruns), then:
#   - every table equals its source: small, the append table and the incremental table value by
#     value (compare.sh); big (300k rows, 2 page-range tasks, ~150 COPY chunks) by an exact
#     fingerprint (row count, distinct ids, md5 of every value in id order) after each crash and
#     value by value at the end of each part (the canonical comparison of 300k rows costs ~3 s);
#   - the append table `app` (no primary key) holds its source exactly once per row of
#     _dlt_loads: a package loaded twice shows as extra copies;
#   - the append + incremental table `inc` (cursor on id, new rows between crashes) holds every
#     source row exactly once: the cursor state survives every crash;
#   - _dlt_loads has no duplicate load_id, no table has a duplicate primary key, no package is
#     left in extracting/, extracted/ or normalized/, no _pg2md_new__ table is left behind;
#   - the rerun's message says what it found (discarded a half-extracted package, finished an
#     extracted or normalized package, or loaded normally).
# The source changes between crashes (updates, deletes, inserts) so stale data cannot pass.
. "$(dirname "$0")/../lib/common.sh"
t_init resume
require_pg2md

BIG=${T50_ROWS:-300000}
DS=pg2md_data
SUMMARY=()

pg >/dev/null <<SQL || t_bail "cannot build the source tables"
-- fillfactor 40: ~7900 heap pages, more than 1.5 x 4096 pages, so big is read in 2 page-range tasks
CREATE TABLE big (id int PRIMARY KEY, grp int, payload text) WITH (fillfactor = 40);
INSERT INTO big SELECT g, g % 100, md5(g::text) FROM generate_series(1, $BIG) g;
CREATE TABLE small (id int PRIMARY KEY, v text, ts timestamptz, amount numeric(10,2));
INSERT INTO small SELECT g, 'small ' || g, timestamptz '2024-01-01 00:00+00' + g * interval '1 hour', g * 1.25
  FROM generate_series(1, 200) g;
CREATE TABLE app (id int, v text, f float8);
INSERT INTO app SELECT g, 'app ' || g, g / 7.0 FROM generate_series(1, 2000) g;
CREATE TABLE app_expected (LIKE app);
CREATE TABLE inc (id int PRIMARY KEY, v text);
INSERT INTO inc SELECT g, 'inc ' || g FROM generate_series(1, 1000) g;
SQL

CONFIG='workers = 2

[sources.sql_database.app]
write_disposition = "append"

[sources.sql_database.inc]
write_disposition = "append"
incremental.cursor_path = "id"
incremental.initial_value = 0'

# --- helpers ---------------------------------------------------------------------------------

duck() { ddbq "$1/pg2md.duckdb" "$2" 2>&1; }

# fingerprint of big: rows, distinct ids, md5 of every value in id order (same text both sides)
FP_EXPR="id::VARCHAR || ':' || coalesce(grp::VARCHAR, 'N') || ':' || coalesce(payload, 'N')"
fp_pg() { pgq "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || md5(coalesce(string_agg(${FP_EXPR//VARCHAR/text}, E'\n' ORDER BY id), '')) FROM big"; }
fp_duck() { duck "$1" "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || md5(coalesce(string_agg($FP_EXPR, chr(10) ORDER BY id), '')) FROM $DS.big"; }

nloads() { duck "$1" "SELECT count(*) FROM $DS._dlt_loads"; }

# pending DIR — load packages left in extracting/, extracted/ or normalized/
pending() {
	local d=$1/.pg2md/pipelines/pg2md/load
	find "$d/extracting" "$d/extracted" "$d/normalized" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# mutate K — change the source between scenarios: updates, a delete and an insert in big,
# updates in small, 100 new rows in inc (app stays as it is: its copies count the loads)
mutate() {
	local k=$1
	pg -c "UPDATE big SET payload = md5(payload || '$k') WHERE id % 50 = $((k % 50))" \
		-c "DELETE FROM big WHERE id = (SELECT min(id) FROM big)" \
		-c "INSERT INTO big VALUES ($BIG + $k, $k, 'new $k')" \
		-c "UPDATE small SET v = v || '.$k', ts = ts + interval '1 minute', amount = amount + 1 WHERE id % 7 = $((k % 7))" \
		-c "INSERT INTO inc SELECT g, 'inc ' || g || ' k$k' FROM generate_series((SELECT max(id) + 1 FROM inc), (SELECT max(id) + 100 FROM inc)) g" \
		>/dev/null || t_bail "cannot change the source"
}

# recover DIR LABEL [flags…] — rerun `pg2md run` until it reports a normal load (≤ 3 reruns);
# sets RERUNS, RERUN_OUT (stdout of the successful rerun), RERUN_ERR (stderr of all reruns)
recover() {
	local dir=$1 label=$2
	shift 2
	RERUNS=0
	RERUN_OUT=""
	RERUN_ERR=""
	local i
	for i in 1 2 3; do
		RERUNS=$i
		t_run "$PG2MD_BIN" run --project-dir "$dir" "$@"
		RERUN_ERR+=$(cat "$T_ERR")$'\n'
		if [ "$T_RC" -eq 0 ] && grep -q -E 'pg2md: (loaded|finished load package)' "$T_OUT"; then
			RERUN_OUT=$(cat "$T_OUT")
			t_pass "$label: rerun $i reports a normal load"
			return 0
		fi
		t_diag "$label: rerun $i did not load: $(t_last)"
	done
	t_fail "$label: no rerun out of 3 reported a normal load" "$(t_last)"
	return 1
}

# check DIR LABEL [full] — every invariant of the header
check() {
	local dir=$1 label=$2 full=${3:-}
	local db=$dir/pg2md.duckdb n
	n=$(nloads "$dir")
	pg -c "TRUNCATE app_expected" -c "INSERT INTO app_expected SELECT a.* FROM app a, generate_series(1, ${n//[^0-9]/0}) g" >/dev/null
	if [ "$full" = full ]; then
		assert_table_equal public big "$db" $DS big "$label: big equals its source"
	else
		assert_eq "$(fp_pg)" "$(fp_duck "$dir")" "$label: big equals its source (rows, ids, md5 of all values)"
	fi
	assert_table_equal public small "$db" $DS small "$label: small equals its source"
	assert_table_equal public app_expected "$db" $DS app "$label: app (append) holds its source once per load ($n loads)"
	assert_table_equal public inc "$db" $DS inc "$label: inc (append, incremental) holds every source row exactly once"
	assert_eq "0 0 0" "$(duck "$dir" "SELECT (SELECT count(*) - count(DISTINCT id) FROM $DS.big) || ' ' ||
		(SELECT count(*) - count(DISTINCT id) FROM $DS.small) || ' ' || (SELECT count(*) - count(DISTINCT id) FROM $DS.inc)")" \
		"$label: no duplicate primary key in big, small, inc"
	assert_eq "0" "$(duck "$dir" "SELECT count(*) - count(DISTINCT load_id) FROM $DS._dlt_loads")" \
		"$label: no duplicate load_id in _dlt_loads"
	assert_eq "0" "$(duck "$dir" "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '\\_pg2md%' ESCAPE '\\'")" \
		"$label: no _pg2md_new__ work table left in the destination"
	assert_eq 0 "$(pending "$dir")" "$label: no load package left pending"
}

# --- staged: a clean first load ----------------------------------------------------------------

P=$T_TMP/staged
make_project "$P" --tables "big small app inc" --config "$CONFIG"
t0=$SECONDS
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" || t_bail "the first run failed"
assert_exit 0 "$PG2MD_BIN" trace --json --project-dir "$P"
cp "$T_OUT" "$T_TMP/trace.json"
assert_eq 2 "$(ddbq :memory: "SELECT t.tasks FROM (SELECT unnest(tables) AS t FROM read_json_auto('$T_TMP/trace.json')) WHERE t.name = 'big'")" \
	"big is read in 2 page-range tasks"
check "$P" "first load" full

# --- staged: every crash point ---------------------------------------------------------------

# point SKIP expected-rerun-kind loads-added
#   kind: fresh (no package), discard (half-extracted package discarded), extracted, normalized
POINTS="extract:after_snapshot 0 fresh 1
extract:chunk 60 discard 1
extract:task_done 1 discard 1
extract:workers_done 0 discard 1
extract:before_manifest 0 discard 1
extract:before_move 0 discard 1
extract:after_move 0 extracted 1
normalize:start 0 extracted 1
normalize:before_move 0 extracted 1
load:before_commit 0 normalized 1
load:after_commit 0 normalized 1
load:before_move 0 normalized 1
load:after_loaded 0 loaded 2"

k=0
while read -r point skip kind added; do
	k=$((k + 1))
	mutate $k
	before=$(nloads "$P")
	assert_exit 137 env PG2MD_FAULT="$point" PG2MD_FAULT_SKIP="$skip" "$PG2MD_BIN" run --project-dir "$P"
	assert_contains "$(cat "$T_ERR")" "fault injected at \"$point\"" "$point: the process died at the crash point"
	recover "$P" "$point" || { SUMMARY+=("$point: NOT recovered"); continue; }
	case $kind in
	fresh)
		assert_contains "$RERUN_OUT" "pg2md: loaded" "$point: the rerun extracted and loaded normally"
		assert_not_contains "$RERUN_ERR" "discarding" "$point: nothing to discard (no package was started)"
		;;
	discard)
		assert_match "$RERUN_ERR" 'discarding package [0-9.]+ that an earlier run did not finish extracting' \
			"$point: the rerun discards the half-extracted package"
		assert_contains "$RERUN_OUT" "pg2md: loaded" "$point: then extracts and loads normally"
		;;
	extracted | normalized)
		assert_match "$RERUN_OUT" "finished load package [0-9.]+ that an earlier run left $kind" \
			"$point: the rerun finishes the package the crash left $kind"
		;;
	loaded)
		assert_contains "$RERUN_OUT" "pg2md: loaded" "$point: the crashed run had finished; the rerun is a new load"
		;;
	esac
	after=$(nloads "$P")
	assert_eq "$((before + added))" "$after" "$point: _dlt_loads grew by $added"
	check "$P" "$point"
	SUMMARY+=("$(printf '%-26s killed (exit 137), recovered after %d rerun(s) [%s]' "$point" "$RERUNS" "$kind")")
done <<<"$POINTS"
check "$P" "after every crash point" full

# --- staged: crashes in the reruns too ----------------------------------------------------------

# a package that an earlier crash left extracted; the rerun dies after normalizing it, the next
# one right after committing its load; the last one only marks it loaded
k=$((k + 1))
mutate $k
before=$(nloads "$P")
chain=""
for point in extract:after_move normalize:before_move load:after_commit; do
	assert_exit 137 env PG2MD_FAULT="$point" "$PG2MD_BIN" run --project-dir "$P"
	chain+="$point -> "
done
if recover "$P" "three crashes in a row"; then
	assert_match "$RERUN_OUT" "finished load package [0-9.]+ that an earlier run left normalized" \
		"three crashes in a row: the last rerun finds the package normalized (already committed) and only marks it loaded"
	assert_eq "$((before + 1))" "$(nloads "$P")" "three crashes in a row: the package was loaded exactly once"
	check "$P" "three crashes in a row"
	SUMMARY+=("$(printf '%-26s %s, recovered after %d rerun(s)' "crash chain" "${chain}rerun" "$RERUNS")")
else
	SUMMARY+=("crash chain: NOT recovered")
fi

# --- staged: random moments -------------------------------------------------------------------

# fixed moments spread over a ~1.5 s run, plus one random one (printed)
for delay in 0.2 0.45 0.7 0.9 1.1 1.3 "$((RANDOM % 2)).$((RANDOM % 9 + 1))"; do
	k=$((k + 1))
	mutate $k
	t_run timeout -s KILL "$delay" "$PG2MD_BIN" run --project-dir "$P"
	what="killed after ${delay}s"
	[ "$T_RC" -eq 0 ] && what="finished within ${delay}s"
	if [ "$T_RC" -ne 0 ] && [ "$T_RC" -ne 137 ]; then
		t_fail "random kill after ${delay}s: exit 0 or 137 expected" "$(t_last)"
	fi
	recover "$P" "random kill after ${delay}s ($what)" || { SUMMARY+=("random ${delay}s: NOT recovered"); continue; }
	state=$(grep -o -E 'discarding package|left (extracted|normalized)' <<<"$RERUN_OUT$RERUN_ERR" | head -1)
	check "$P" "random kill after ${delay}s"
	SUMMARY+=("$(printf '%-26s %s, recovered after %d rerun(s) [%s]' "random ${delay}s" "$what" "$RERUNS" "${state:-fresh extract}")")
done
check "$P" "after the random kills" full

# --- direct mode ------------------------------------------------------------------------------

D=$T_TMP/direct
make_project "$D" --tables "big small app inc" --config "$CONFIG"
assert_exit 0 "$PG2MD_BIN" run --direct --project-dir "$D" || t_bail "the first direct run failed"
check "$D" "direct: first load"
for spec in "load:before_commit 0" "extract:chunk 60"; do
	read -r point skip <<<"$spec"
	k=$((k + 1))
	mutate $k
	before=$(nloads "$D")
	assert_exit 137 env PG2MD_FAULT="$point" PG2MD_FAULT_SKIP="$skip" "$PG2MD_BIN" run --direct --project-dir "$D"
	recover "$D" "direct, $point" --direct || { SUMMARY+=("direct $point: NOT recovered"); continue; }
	assert_contains "$RERUN_OUT" "direct mode" "direct, $point: the rerun loads in direct mode"
	assert_eq "$((before + 1))" "$(nloads "$D")" "direct, $point: _dlt_loads grew by 1"
	check "$D" "direct, $point" full
	SUMMARY+=("$(printf '%-26s killed (exit 137), recovered after %d rerun(s) [direct]' "direct $point" "$RERUNS")")
done

echo "# summary: ${#SUMMARY[@]} faults injected ($((SECONDS - t0)) s)"
for s in "${SUMMARY[@]}"; do echo "#   $s"; done
t_done

#!/usr/bin/env bash
# t90_scale — sizes the other tests do not reach, each with pg2md's peak RSS measured
# (/usr/bin/time's maximum resident set size of the whole process) and asserted bounded:
#   a. a narrow UNLOGGED table of PG2MD_SCALE_ROWS rows (default 50 000 000), staged then
#      direct: count, sum, min, max and a hash-like sum(id * v % p) equal on both sides;
#   b. a table whose rows carry values of several MB (text 5–9.5 MB, bytea 2.5 MB, 40 rows,
#      ~330 MB), staged then direct at pg2md's default DuckDB budget (raised for the load, and
#      said), appended onto itself, merged back in direct mode, verified: every value's md5
#      equal on both sides at each step;
#   b2. 6000 rows of ~95 kB (~550 MB), staged then direct: peak RSS below the table's size
#      (DuckDB holds 2048 rows at a time; pg2md sizes its budget for them);
#   b3. 400 values of 1 MB that PostgreSQL compressed to a few kB, direct: sized from the rows;
#   b4. the three at once, direct, three workers; verify of the compressed one;
#   c. 200 small tables of mixed shapes and sizes, workers = 4: every table's count and an
#      md5 over its rows equal on both sides.
# Rows lost and rows duplicated are counted per case and asserted zero.  Durations are printed,
# never asserted.  Heavy: CMakeLists.txt runs it alone (RUN_SERIAL).
. "$(dirname "$0")/../lib/common.sh"
t_init scale
require_pg2md
[ -x /usr/bin/time ] || t_bail "/usr/bin/time not found (apt-get install time): peak RSS cannot be measured"

ROWS=${PG2MD_SCALE_ROWS:-50000000}
GiB=$((1024 * 1024 * 1024))
SUMMARY=()

# run_measured LABEL PROJECT [pg2md args…] — run pg2md under /usr/bin/time; RSS_KB, SECS set
run_measured() {
	local label=$1 dir=$2
	shift 2
	local t0 t1
	t0=$(date +%s.%N)
	T_RC=0
	/usr/bin/time -f '%M' -o "$T_TMP/rss" "$PG2MD_BIN" run --project-dir "$dir" "$@" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
	t1=$(date +%s.%N)
	RSS_KB=$(tail -n 1 "$T_TMP/rss")
	SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	assert_eq 0 "$T_RC" "$label: the run succeeds" || t_diag "$(t_last)"
	t_diag "$label: peak RSS $((RSS_KB / 1024)) MiB, $SECS s"
}

# a. a narrow table --------------------------------------------------------------------------
t0=$(date +%s)
pg -c "CREATE UNLOGGED TABLE narrow (id bigint, v int);
       INSERT INTO narrow SELECT g, (g * 7919) % 1000003 FROM generate_series(1::bigint, $ROWS) g;
       ANALYZE narrow;"
t_diag "narrow: $ROWS rows generated in $(($(date +%s) - t0)) s ($(pgq "SELECT pg_size_pretty(pg_relation_size('narrow'))"))"
checksum="SELECT count(*), sum(id), min(id), max(id), sum(v), sum(id * v % 1000003) FROM"
src=$(pgq "$checksum narrow")
[ "${src%%$'\t'*}" = "$ROWS" ] || t_bail "narrow: the source does not hold $ROWS rows" "got: $src"
make_project "$T_TMP/a" --tables "narrow"
for mode in staged direct; do
	run_measured "narrow $mode" "$T_TMP/a" --$mode
	got=$(ddbq "$T_TMP/a/pg2md.duckdb" "$checksum pg2md_data.narrow")
	assert_eq "$src" "$got" "narrow $mode: count, sum, min, max, sum(v), sum(id*v % p) equal the source"
	d=$(ddbq "$T_TMP/a/pg2md.duckdb" "SELECT count(*) - count(DISTINCT id) FROM pg2md_data.narrow")
	lost=$((ROWS - $(ddbq "$T_TMP/a/pg2md.duckdb" "SELECT count(DISTINCT id) FROM pg2md_data.narrow")))
	assert_eq "0 0" "$lost $d" "narrow $mode: rows lost 0, rows duplicated 0"
	assert_eq 1 "$((RSS_KB * 1024 < GiB))" "narrow $mode: peak RSS $((RSS_KB / 1024)) MiB < 1 GiB"
	SUMMARY+=("narrow $mode: $ROWS rows, peak RSS $((RSS_KB / 1024)) MiB, $SECS s")
done
pg -c "DROP TABLE narrow"
rm -rf "$T_TMP/a"

# b. values of several MB --------------------------------------------------------------------
unset PG2MD_DUCKDB_MEMORY_LIMIT # pg2md's default budget
t0=$(date +%s)
pg -c "CREATE TABLE wide (id int primary key, t text, b bytea);
       INSERT INTO wide SELECT g,
         (SELECT string_agg(md5(s::text || g), '') FROM generate_series(1, 150000 + g * 4000) s),
         decode((SELECT string_agg(md5(s::text || -g), '') FROM generate_series(1, 80000 + g) s), 'hex')
       FROM generate_series(1, 40) g;
       INSERT INTO wide VALUES (41, NULL, NULL), (42, '', ''::bytea);
       ANALYZE wide;"
wide_sum="SELECT id, coalesce(md5(t), 'null'), coalesce(md5(b), 'null'), coalesce(length(t), -1)"
src=$(pgq "$wide_sum, coalesce(length(b), -1) FROM wide ORDER BY id")
[ "$(wc -l <<<"$src")" = 42 ] || t_bail "wide: the source does not hold 42 rows" "$src"
t_diag "wide: 42 rows generated in $(($(date +%s) - t0)) s: $(pgq "SELECT pg_size_pretty(sum(length(t))::bigint) || ' of text, ' || pg_size_pretty(sum(length(b))::bigint) || ' of bytea, largest text ' || pg_size_pretty(max(length(t))::bigint) FROM wide")"
make_project "$T_TMP/b" --tables "wide"
# pg2md's default DuckDB budget (128 MB): DuckDB writes a table 2048 rows at a time, so these
# 42 rows (~330 MB) need more; pg2md raises the budget for the load from the staged files'
# footers (staged) or the scan's measure of the rows (direct), and says so at INFO
# (docs/reliability.md, "Values of several MB")
for mode in staged direct; do
	run_measured "wide $mode" "$T_TMP/b" --$mode --log-level INFO
	assert_contains "$(cat "$T_ERR")" "DuckDB's memory budget raised from 128 MB" "wide $mode: the raised budget is reported"
	got=$(ddbq "$T_TMP/b/pg2md.duckdb" "$wide_sum, coalesce(octet_length(b), -1) FROM pg2md_data.wide ORDER BY id")
	if [ "$src" == "$got" ]; then
		t_pass "wide $mode: md5 and length of every value equal the source (42 rows)"
	else
		t_fail "wide $mode: md5 and length of every value equal the source" "$(diff <(echo "$src") <(echo "$got") | head -n 10)"
	fi
	n=$(ddbq "$T_TMP/b/pg2md.duckdb" "SELECT count(*), count(DISTINCT id) FROM pg2md_data.wide")
	assert_eq "42	42" "$n" "wide $mode: rows lost 0, rows duplicated 0"
	assert_eq 1 "$((RSS_KB * 1024 < GiB))" "wide $mode: peak RSS $((RSS_KB / 1024)) MiB < 1 GiB"
	SUMMARY+=("wide $mode: 42 rows of up to 10 MB, peak RSS $((RSS_KB / 1024)) MiB, $SECS s")
done
# appended onto the 42 rows already there: DuckDB writes the table's last row group again
# whole, so this load holds 84 rows at once (the budget follows)
SOURCES__SQL_DATABASE__WRITE_DISPOSITION=append run_measured "wide append" "$T_TMP/b" --staged --log-level INFO
assert_contains "$(cat "$T_ERR")" "DuckDB's memory budget raised from 128 MB" "wide append: the raised budget is reported"
assert_eq 1 "$((RSS_KB * 1024 < 2 * GiB))" "wide append: peak RSS $((RSS_KB / 1024)) MiB < 2 GiB"
SUMMARY+=("wide append onto 42 rows: peak RSS $((RSS_KB / 1024)) MiB, $SECS s")
got=$(ddbq "$T_TMP/b/pg2md.duckdb" "$wide_sum, coalesce(octet_length(b), -1) FROM pg2md_data.wide ORDER BY id")
assert_eq "$(awk '{ print; print }' <<<"$src")" "$got" "wide append: 84 rows, every source row twice, value by value"
# merged in direct mode: one row per key again, each equal to the source
SOURCES__SQL_DATABASE__WRITE_DISPOSITION=merge run_measured "wide merge direct" "$T_TMP/b" --direct
assert_eq 1 "$((RSS_KB * 1024 < 3 * GiB))" "wide merge direct: peak RSS $((RSS_KB / 1024)) MiB < 3 GiB"
SUMMARY+=("wide merge (direct) onto 84 rows: peak RSS $((RSS_KB / 1024)) MiB, $SECS s")
got=$(ddbq "$T_TMP/b/pg2md.duckdb" "$wide_sum, coalesce(octet_length(b), -1) FROM pg2md_data.wide ORDER BY id")
assert_eq "$src" "$got" "wide merge direct: 42 rows again, value by value"
# verify sizes its budget from the source's statistics (ANALYZE above)
T_RC=0
/usr/bin/time -f '%M' -o "$T_TMP/rss" "$PG2MD_BIN" verify --project-dir "$T_TMP/b" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
assert_eq 0 "$T_RC" "wide: pg2md verify finds the table equal" || t_diag "$(t_last)"
t_diag "wide verify: peak RSS $(($(tail -n 1 "$T_TMP/rss") / 1024)) MiB"
SUMMARY+=("wide verify: peak RSS $(($(tail -n 1 "$T_TMP/rss") / 1024)) MiB")
rm -rf "$T_TMP/b"

# b2. rows of ~95 kB, more than 2048 of them: the load holds 2048 rows at a time, not the table
t0=$(date +%s)
MID=${PG2MD_SCALE_MID_ROWS:-6000}
pg -c "CREATE TABLE mid (id int primary key, t text);
       INSERT INTO mid SELECT g, (SELECT string_agg(md5(s::text || g), '') FROM generate_series(1, 2900 + g % 200) s)
       FROM generate_series(1, $MID) g;"
mid_sum="SELECT count(*), sum(length(t)), md5(string_agg(md5(t), '' ORDER BY id))"
src=$(pgq "$mid_sum FROM mid")
mid_bytes=$(pgq "SELECT sum(length(t)) FROM mid")
t_diag "mid: $MID rows generated in $(($(date +%s) - t0)) s: $((mid_bytes / 1048576)) MiB of text"
make_project "$T_TMP/b" --tables "mid"
for mode in staged direct; do
	run_measured "mid $mode" "$T_TMP/b" --$mode
	got=$(ddbq "$T_TMP/b/pg2md.duckdb" "$mid_sum FROM pg2md_data.mid")
	assert_eq "$src" "$got" "mid $mode: count, total length and md5 over every value's md5 equal the source"
	assert_eq 1 "$((RSS_KB * 1024 < mid_bytes))" "mid $mode: peak RSS $((RSS_KB / 1024)) MiB < the table's $((mid_bytes / 1048576)) MiB"
	SUMMARY+=("mid $mode: $MID rows of ~95 kB ($((mid_bytes / 1048576)) MiB), peak RSS $((RSS_KB / 1024)) MiB, $SECS s")
done
# merged on a configured key (not the table's own: one row per key is chosen over the keys alone,
# then the rows stream; one window function over the rows held all of them: 2.1-2.3 times the
# table before session 6)
for mode in staged direct; do
	SOURCES__SQL_DATABASE__WRITE_DISPOSITION=merge SOURCES__SQL_DATABASE__MID__PRIMARY_KEY=id \
		run_measured "mid merge $mode" "$T_TMP/b" --$mode
	got=$(ddbq "$T_TMP/b/pg2md.duckdb" "$mid_sum FROM pg2md_data.mid")
	assert_eq "$src" "$got" "mid merge $mode on a configured key: every value equal the source, once"
	assert_eq 1 "$((RSS_KB * 1024 < 2 * mid_bytes))" "mid merge $mode: peak RSS $((RSS_KB / 1024)) MiB < twice the table's $((mid_bytes / 1048576)) MiB"
	SUMMARY+=("mid merge $mode on a configured key: peak RSS $((RSS_KB / 1024)) MiB, $SECS s")
done
rm -rf "$T_TMP/b"

# b3. values PostgreSQL compressed (1 MB of a repeated md5 each, a few kB on disk): direct mode
# sizes DuckDB's budget from the rows as read, not from the source's size
pg -c "CREATE TABLE comp (id int primary key, t text);
       INSERT INTO comp SELECT g, lpad('', 1000000 + g, md5(g::text)) FROM generate_series(1, 400) g; ANALYZE comp;"
comp_sum="SELECT count(*), sum(length(t)), md5(string_agg(md5(t), '' ORDER BY id))"
src=$(pgq "$comp_sum FROM comp")
t_diag "comp: $(pgq "SELECT pg_size_pretty(sum(length(t))::bigint) || ' of text in ' || pg_size_pretty(pg_table_size('comp')) FROM comp")"
make_project "$T_TMP/b" --tables "comp"
run_measured "comp direct" "$T_TMP/b" --direct
assert_eq "$src" "$(ddbq "$T_TMP/b/pg2md.duckdb" "$comp_sum FROM pg2md_data.comp")" "comp direct: count, total length and md5 of every value equal the source"
assert_eq 1 "$((RSS_KB * 1024 < GiB))" "comp direct: peak RSS $((RSS_KB / 1024)) MiB < 1 GiB"
SUMMARY+=("comp direct: 400 rows of 1 MB compressed at the source, peak RSS $((RSS_KB / 1024)) MiB, $SECS s")
rm -rf "$T_TMP/b"

# b4. the three tables of large rows at once, direct, three workers: each worker's rows wait in
# DuckDB while another commits (the budget adds up their windows; their commits take turns);
# then verify, which sizes its budget from the windows the load measured (comp's values are
# 4.9 MB on disk for 382 MB: the source's statistics would say far too little)
make_project "$T_TMP/b" --tables "wide comp mid" --config $'workers = 3\n[postgres]\npool_size = 3'
run_measured "three tables of large rows, direct, 3 workers" "$T_TMP/b" --direct
assert_eq "$src" "$(ddbq "$T_TMP/b/pg2md.duckdb" "$comp_sum FROM pg2md_data.comp")" "three at once: comp equal the source"
assert_eq "$(pgq "$mid_sum FROM mid")" "$(ddbq "$T_TMP/b/pg2md.duckdb" "$mid_sum FROM pg2md_data.mid")" "three at once: mid equal the source"
assert_eq "$(pgq "$wide_sum, coalesce(length(b), -1) FROM wide ORDER BY id")" \
	"$(ddbq "$T_TMP/b/pg2md.duckdb" "$wide_sum, coalesce(octet_length(b), -1) FROM pg2md_data.wide ORDER BY id")" \
	"three at once: wide equal the source, value by value"
assert_eq 1 "$((RSS_KB * 1024 < 3 * GiB))" "three at once: peak RSS $((RSS_KB / 1024)) MiB < 3 GiB"
SUMMARY+=("wide, comp and mid at once, direct, 3 workers: peak RSS $((RSS_KB / 1024)) MiB, $SECS s")
T_RC=0
"$PG2MD_BIN" verify --project-dir "$T_TMP/b" --tables comp >"$T_OUT" 2>"$T_ERR" || T_RC=$?
assert_eq 0 "$T_RC" "comp: pg2md verify finds it equal (budget from the load's measure)" || t_diag "$(t_last)"
pg -c "DROP TABLE wide; DROP TABLE mid; DROP TABLE comp"
rm -rf "$T_TMP/b"

# c. 200 tables -------------------------------------------------------------------------------
NT=200
t0=$(date +%s)
pg -c "DO \$\$
BEGIN
  FOR i IN 1..$NT LOOP
    CASE i % 4
    WHEN 0 THEN
      EXECUTE format('CREATE TABLE m%s (id int primary key, a text, n numeric(10,2), d date)', i);
      EXECUTE format('INSERT INTO m%s SELECT g, md5(g::text), g / 7.0, date ''2020-01-01'' + g FROM generate_series(1, %s) g', i, (i * 37) % 3000);
    WHEN 1 THEN
      EXECUTE format('CREATE TABLE m%s (id bigint primary key, v double precision, ok boolean)', i);
      EXECUTE format('INSERT INTO m%s SELECT g, g * 1.5, g %% 3 = 0 FROM generate_series(1, %s) g', i, (i * 53) % 5000);
    WHEN 2 THEN
      EXECUTE format('CREATE TABLE m%s (id int primary key, tags text[], ts timestamptz)', i);
      EXECUTE format('INSERT INTO m%s SELECT g, ARRAY[g::text, ''x''], timestamptz ''2024-01-01 00:00+00'' + g * interval ''1 minute'' FROM generate_series(1, %s) g', i, (i * 11) % 800);
    ELSE
      EXECUTE format('CREATE TABLE m%s (id int primary key, j jsonb, u uuid)', i);
      EXECUTE format('INSERT INTO m%s SELECT g, jsonb_build_object(''k'', g), md5(g::text)::uuid FROM generate_series(1, %s) g', i, (i * 17) % 400);
    END CASE;
  END LOOP;
END \$\$"
t_diag "$NT tables: generated in $(($(date +%s) - t0)) s, $(pgq "SELECT sum(n_live_tup) FROM pg_stat_user_tables WHERE relname ~ '^m[0-9]+$'") rows (statistics)"
tables=""
for i in $(seq $NT); do tables+="m$i "; done
make_project "$T_TMP/c" --tables "$tables" --config "workers = 4"
# one checksum per table: count, sum(id) and md5 of every row's text in id order, using only
# casts whose text is the same in PostgreSQL and DuckDB
row_expr() { # I SIDE
	case $(($1 % 4)) in
	0) echo "a || '|' || n::text || '|' || d::text" ;;
	1) echo "(v * 2)::bigint::text || '|' || ok::text" ;;
	2) if [ "$2" = pg ]; then echo "array_to_string(tags, ',') || '|' || extract(epoch FROM ts)::bigint"
	   else echo "array_to_string(tags, ',') || '|' || epoch(ts)::bigint"; fi ;;
	3) echo "(j->>'k') || '|' || u::text" ;;
	esac
}
checksums() { # SIDE SCHEMA
	local i sql="" sep=""
	for i in $(seq $NT); do
		sql+="$sep SELECT $i AS t, count(*) AS n, coalesce(sum(id), 0) AS s, md5(coalesce(string_agg($(row_expr "$i" "$1"), ';' ORDER BY id), '')) AS h FROM $2.m$i"
		sep=" UNION ALL"
	done
	echo "SELECT * FROM ($sql) x ORDER BY t"
}
src=$(pgq "$(checksums pg public)")
[ "$(wc -l <<<"$src")" = $NT ] || t_bail "the source does not hold $NT tables" "$(head -n 5 <<<"$src")"
run_measured "$NT tables" "$T_TMP/c"
got=$(ddbq "$T_TMP/c/pg2md.duckdb" "$(checksums duck pg2md_data)")
ntables=$(ddbq "$T_TMP/c/pg2md.duckdb" "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pg2md_data' AND table_name ~ '^m[0-9]+$'")
assert_eq "$NT" "$ntables" "$NT tables: all $NT arrived"
assert_same() { # EXPECTED ACTUAL MSG — multi-line values, a short diff on failure
	if [ "$1" == "$2" ]; then t_pass "$3"; else t_fail "$3" "$(diff <(echo "$1") <(echo "$2") | head -n 10)"; fi
}
assert_same "$src" "$got" "$NT tables: count, sum(id) and md5 of the rows equal the source for every table"
src_rows=$(awk -F'\t' '{ s += $2 } END { print s }' <<<"$src")
dups=$(ddbq "$T_TMP/c/pg2md.duckdb" "SELECT sum(d) FROM ($(for i in $(seq $NT); do
	[ "$i" -gt 1 ] && echo " UNION ALL "
	echo "SELECT count(*) - count(DISTINCT id) AS d FROM pg2md_data.m$i"
done)) x")
got_rows=$(awk -F'\t' '{ s += $2 } END { print s }' <<<"$got")
assert_eq "0 0" "$((src_rows - got_rows + dups)) $dups" "$NT tables: rows lost 0, rows duplicated 0 ($src_rows rows)"
assert_eq 1 "$((RSS_KB * 1024 < GiB))" "$NT tables: peak RSS $((RSS_KB / 1024)) MiB < 1 GiB"
SUMMARY+=("$NT tables: $src_rows rows, workers 4, peak RSS $((RSS_KB / 1024)) MiB, $SECS s")
# the same tables again (replace): a leak per table or per run would show as a larger RSS
rss1=$RSS_KB
run_measured "$NT tables, second run" "$T_TMP/c"
got=$(ddbq "$T_TMP/c/pg2md.duckdb" "$(checksums duck pg2md_data)")
assert_same "$src" "$got" "$NT tables, second run: every table equals the source"
SUMMARY+=("$NT tables, second run: peak RSS $((RSS_KB / 1024)) MiB (first $((rss1 / 1024)) MiB), $SECS s")

for s in "${SUMMARY[@]}"; do t_diag "$s"; done
t_done

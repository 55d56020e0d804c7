#!/usr/bin/env bash
# bench.sh BUILD SCALE — pg2md's benchmark (DESIGN §6); results in bench/RESULTS.md.
#
# Starts its own throwaway PostgreSQL cluster (stopped at exit, whatever happens), generates the
# TPC-DS-shaped data set at SCALE (scripts/gen_tpcds.sh), then times, in one run and at the same
# parallelism W (BENCH_WORKERS, default nproc):
#   1. source limit   every table `COPY … TO STDOUT (FORMAT binary)` into /dev/null, W at once;
#                     timed twice, one COPY per table and with big tables cut into ctid ranges
#                     (as pg2md reads them), the faster counts; also reported: the same in CSV
#                     (informational: binary is ~2x the bytes of CSV for numeric-heavy tables)
#   2. sink limit     DuckDB copying the same tables from one DuckDB file into a fresh one
#                     (ATTACH … READ_ONLY; CREATE TABLE … AS FROM src…)
#   3. naive          psql \copy of every table to CSV (W at once), then DuckDB read_csv into
#                     tables of a fresh file (explicit column types from the PostgreSQL catalog)
#   4. pg2md staged   `pg2md run` (Parquet load packages) into a fresh project folder
#   5. pg2md direct   `pg2md run --direct` into a fresh project folder
# Each is reported as seconds, ratio to (1)+(2), rows/s and peak RSS (/usr/bin/time -v, the
# largest client-side process; the PostgreSQL server is not included).  The outputs of 3, 4
# and 5 are checked against the source: per table the row count and, per column, sum() of
# numbers, sum(days since 2000-01-01) of dates, count() of everything else.
# All connections (psql and pg2md) use TCP to 127.0.0.1 with a password.  Work files are in
# bench/work/ (ignored by git; emptied at the start).  Exits non-zero if a pg2md run fails or a
# check finds a difference (after writing RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-build}
scale=${2:-1}
case $build in /*) ;; *) build=$root/$build ;; esac
W=${BENCH_WORKERS:-$(nproc)}
pg2md=$build/pg2md
ddbq=$build/ddbq
work=$root/bench/work
results=$root/bench/RESULTS.md

[ -x "$pg2md" ] || { echo "bench: $pg2md not found — build first (make build)" >&2; exit 2; }
if [ ! -x /usr/bin/time ]; then
	echo "bench: installing the Debian package time (for /usr/bin/time -v)"
	SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null ||
		{ DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null; }
fi

rm -rf "$work"
mkdir -p "$work"
if [ ! -x "$ddbq" ]; then
	# The build normally makes it (tests/tools/ddbq.c); build a private copy if it did not.
	echo "bench: $ddbq not found, compiling tests/tools/ddbq.c into bench/work/"
	cc -O2 -std=c11 -I third_party/duckdb tests/tools/ddbq.c -o "$work/ddbq" \
		-L third_party/duckdb -lduckdb -Wl,-rpath,"$root/third_party/duckdb"
	ddbq=$work/ddbq
fi

cluster=$(mktemp -d /tmp/pg2md-bench.XXXXXX)
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() { "$root/tests/lib/cluster.sh" stop "$cluster" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "== bench: SCALE=$scale, $W workers, $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
tests/lib/cluster.sh start "$cluster" >/dev/null
# shellcheck disable=SC1091
. "$cluster/env"
pgver=$(psql -X -At -c 'SHOW server_version')

echo "== generating data (scripts/gen_tpcds.sh $scale)"
t0=$(now)
scripts/gen_tpcds.sh "$scale" >"$work/gen.log"
gen_s=$(secs "$t0" "$(now)")
grep -E '^gen_tpcds: done|TOTAL' "$work/gen.log" | sed 's/^ */   /'

# From here on psql talks TCP with a password, like pg2md does.
export PGHOST=127.0.0.1 PGPASSWORD=$PG2MD_TEST_PASSWORD

TABLES="customer customer_address customer_demographics household_demographics income_band
date_dim time_dim item inventory warehouse store_sales store_returns catalog_sales
catalog_returns web_sales web_returns store call_center catalog_page web_page web_site
promotion reason ship_mode"
# shellcheck disable=SC2086
printf '%s\n' $TABLES >"$work/tables"
total_rows=$(psql -X -At -c "SELECT sum(n) FROM ($(sed "s/.*/SELECT count(*) AS n FROM my_pg.&/" "$work/tables" | paste -sd '|' | sed 's/|/ UNION ALL /g')) c")
pg_bytes=$(psql -X -At -c "SELECT sum(pg_table_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'my_pg' AND c.relkind = 'r'")
echo "   $total_rows rows, $(numfmt --to=iec "$pg_bytes")B of heap in PostgreSQL"

# ---------------------------------------------------------------------------------------------
# measure KEY LABEL CMD… — run CMD under /usr/bin/time -v, REPEAT times (BENCH_REPEAT, default
# 1); record the best seconds, the largest peak RSS and the first failure's exit code.  Before
# each repetition the shell command in $RESET (if set) runs untimed; stdin comes from $IN (if
# set, else /dev/null).
REPEAT=${BENCH_REPEAT:-1}
declare -A SEC RSS RC LABEL
measure() {
	local key=$1 label=$2 t0 t1 rc r s m best="" rss=0
	shift 2
	echo "== $label"
	RC[$key]=0
	for ((r = 1; r <= REPEAT; r++)); do
		[ -n "${RESET:-}" ] && bash -c "$RESET"
		rc=0
		t0=$(now)
		/usr/bin/time -v -o "$work/$key.time" "$@" <"${IN:-/dev/null}" >"$work/$key.log" 2>&1 || rc=$?
		t1=$(now)
		s=$(secs "$t0" "$t1")
		m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/$key.time")
		[ "${m:-0}" -gt "$rss" ] && rss=$m
		if [ "$rc" -ne 0 ]; then RC[$key]=$rc; best=$s; break; fi
		if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
		[ "$REPEAT" -gt 1 ] && echo "   run $r: $s s"
	done
	SEC[$key]=$best
	RSS[$key]=$rss
	LABEL[$key]=$label
	if [ "${RC[$key]}" -ne 0 ]; then
		echo "   FAILED (exit ${RC[$key]}) after ${SEC[$key]} s; last lines of bench/work/$key.log:"
		tail -n 5 "$work/$key.log" | sed 's/^/     /'
	else
		printf '   %s s, peak RSS %s MB\n' "${SEC[$key]}" "$(awk -v k="${RSS[$key]}" 'BEGIN { printf "%.0f", k / 1024 }')"
	fi
}

# ---------------------------------------------------------------------------------------------
# 1. source limit.  Tasks: tables larger than `chunk` pages are cut into ctid ranges of `chunk`
# pages (the last one open-ended), the rest are one task each.
cat >"$work/copy_task.sh" <<'SH'
#!/usr/bin/env bash
# copy_task.sh TABLE [FROM_PAGE [TO_PAGE]] — COPY of a table or a ctid range to stdout,
# in FORMAT $COPY_FORMAT (default binary).
set -euo pipefail
t=$1; lo=${2:-}; hi=${3:-}; f=${COPY_FORMAT:-binary}
if [ -z "$lo" ]; then c="COPY my_pg.$t TO STDOUT (FORMAT $f)"
elif [ -z "$hi" ]; then c="COPY (SELECT * FROM my_pg.$t WHERE ctid >= '($lo,0)'::tid) TO STDOUT (FORMAT $f)"
else c="COPY (SELECT * FROM my_pg.$t WHERE ctid >= '($lo,0)'::tid AND ctid < '($hi,0)'::tid) TO STDOUT (FORMAT $f)"; fi
exec psql -X -q -v ON_ERROR_STOP=1 -c "$c"
SH
chmod +x "$work/copy_task.sh"
psql -X -At -F ' ' -c "SELECT c.relname, c.relpages FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'my_pg' AND c.relkind = 'r' ORDER BY c.relpages DESC" >"$work/relpages"
awk -v w="$W" '
	{ t[NR] = $1; p[NR] = $2; total += $2 }
	END {
		chunk = int(total / (w * 8)); if (chunk < 1024) chunk = 1024
		for (i = 1; i <= NR; i++) {
			if (p[i] <= 2 * chunk) { print t[i]; continue }
			for (lo = 0; lo + chunk < p[i]; lo += chunk) print t[i], lo, lo + chunk
			print t[i], lo
		}
	}' "$work/relpages" >"$work/source_tasks"

# Untimed warm-up pass, so that every method below reads a warm cache.
xargs -P "$W" -L 1 "$work/copy_task.sh" <"$work/tables" >/dev/null

measure source_rng "source, binary COPY to /dev/null, ctid ranges ($(wc -l <"$work/source_tasks") tasks, $W at once)" \
	bash -c "xargs -P $W -L 1 '$work/copy_task.sh' <'$work/source_tasks' >/dev/null"
measure source_pt "source, binary COPY to /dev/null, one COPY per table ($W at once)" \
	bash -c "xargs -P $W -L 1 '$work/copy_task.sh' <'$work/tables' >/dev/null"
measure source_csv "source, CSV COPY to /dev/null, one COPY per table ($W at once; informational)" \
	env COPY_FORMAT=csv bash -c "xargs -P $W -L 1 '$work/copy_task.sh' <'$work/tables' >/dev/null"
# The source limit is the faster of the two binary variants.
if awk -v a="${SEC[source_rng]}" -v b="${SEC[source_pt]}" 'BEGIN { exit !(a <= b) }'; then best=source_rng; how="ctid ranges"; else best=source_pt; how="one COPY per table"; fi
SEC[source]=${SEC[$best]}; RSS[source]=${RSS[$best]}; RC[source]=${RC[$best]}
LABEL[source]="source limit: binary COPY to /dev/null (best of the two variants: $how)"

# ---------------------------------------------------------------------------------------------
# 3. naive: CSV files through psql, then DuckDB read_csv with the catalog's types.
mkdir -p "$work/csv"
RESET="rm -f '$work'/csv/*.csv" measure naive_csv "naive, step 1: psql \\copy every table to CSV, $W at once" \
	bash -c "xargs -P $W -I{} psql -X -q -v ON_ERROR_STOP=1 -c \"\\copy my_pg.{} TO '$work/csv/{}.csv' (FORMAT csv)\" <'$work/tables'"
psql -X -At -c "
	SELECT format('CREATE TABLE pg2md_data.%I AS FROM read_csv(%L, header = false, delim = '','', quote = ''\"'', escape = ''\"'', nullstr = '''', allow_quoted_nulls = false, columns = {%s});',
	              c.relname, '$work/csv/' || c.relname || '.csv',
	              string_agg(format('%L: %L', a.attname,
	                 CASE WHEN t.typname = 'int2' THEN 'SMALLINT'
	                      WHEN t.typname = 'int4' THEN 'INTEGER'
	                      WHEN t.typname = 'int8' THEN 'BIGINT'
	                      WHEN t.typname = 'numeric' AND a.atttypmod > 0 AND ((a.atttypmod - 4) >> 16) <= 38
	                           THEN format('DECIMAL(%s,%s)', (a.atttypmod - 4) >> 16, (a.atttypmod - 4) & 65535)
	                      WHEN t.typname = 'date' THEN 'DATE'
	                      WHEN t.typname = 'float8' THEN 'DOUBLE'
	                      WHEN t.typname = 'float4' THEN 'FLOAT'
	                      WHEN t.typname = 'bool' THEN 'BOOLEAN'
	                      ELSE 'VARCHAR' END), ', ' ORDER BY a.attnum))
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	JOIN pg_type t ON t.oid = a.atttypid
	WHERE n.nspname = 'my_pg' AND c.relkind = 'r'
	GROUP BY c.relname ORDER BY c.relname" >"$work/naive_load.sql"
sed -i "1i SET threads = $W; CREATE SCHEMA pg2md_data;" "$work/naive_load.sql"
RESET="rm -f '$work/naive.duckdb' '$work/naive.duckdb.wal'" IN=$work/naive_load.sql \
	measure naive_load "naive, step 2: DuckDB read_csv into a fresh file" "$ddbq" --rw "$work/naive.duckdb" -
# The naive method is both steps; its peak RSS is the larger one.
SEC[naive]=$(awk -v a="${SEC[naive_csv]}" -v b="${SEC[naive_load]}" 'BEGIN { printf "%.2f", a + b }')
RSS[naive]=$(( RSS[naive_csv] > RSS[naive_load] ? RSS[naive_csv] : RSS[naive_load] ))
RC[naive]=$(( RC[naive_csv] != 0 ? RC[naive_csv] : RC[naive_load] ))
LABEL[naive]="naive: psql CSV + DuckDB read_csv (both steps)"

# ---------------------------------------------------------------------------------------------
# 2. sink limit: the same tables, DuckDB file to DuckDB file.  The source file is the naive
# method's output (typed like pg2md's output), so this does not depend on pg2md working.
{
	echo "SET threads = $W;"
	echo "ATTACH '$work/naive.duckdb' AS src (READ_ONLY);"
	echo "CREATE SCHEMA pg2md_data;"
	sed 's/.*/CREATE TABLE pg2md_data.& AS FROM src.pg2md_data.&;/' "$work/tables"
} >"$work/sink.sql"
RESET="rm -f '$work/sink.duckdb' '$work/sink.duckdb.wal'" IN=$work/sink.sql \
	measure sink "sink limit: DuckDB file to a fresh DuckDB file" "$ddbq" --rw "$work/sink.duckdb" -

# ---------------------------------------------------------------------------------------------
# 4, 5. pg2md, each into a fresh project folder with the guide's config at W workers.
project() {
	local dir=$1
	mkdir -p "$dir/.dlt"
	{
		echo '[runtime]'
		echo 'log_level = "WARNING"'
		echo 'dlthub_telemetry = false'
		echo
		echo '[sources.sql_database]'
		echo 'schema = "my_pg"'
		echo "tables = [$(sed 's/.*/"&"/' "$work/tables" | paste -sd, | sed 's/,/, /g')]"
		echo "workers = $W"
		echo
		echo '[postgres]'
		echo "pool_size = $W"
		echo
		echo '[data_writer]'
		echo 'format = "parquet"'
		echo
		echo '[destination.motherduck]'
		echo 'batch_size = 1000000'
		echo
		printf '[extract]\nworkers = %s\n\n[normalize]\nworkers = %s\n\n[load]\nworkers = %s\n' "$W" "$W" "$W"
	} >"$dir/.dlt/config.toml"
	(
		umask 077
		cat >"$dir/.dlt/secrets.toml" <<TOML
[sources.sql_database.credentials]
drivername = "postgresql"
database = "$PGDATABASE"
host = "127.0.0.1"
password = "$PG2MD_TEST_PASSWORD"
port = $PGPORT
username = "$PGUSER"
TOML
	)
}
# pg2md gets its configuration from the project folder only.
clean_env=(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD
	-u MOTHERDUCK_TOKEN -u motherduck_token -u DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN)
project "$work/staged"
RESET="rm -rf '$work/staged/pg2md.duckdb' '$work/staged/pg2md.duckdb.wal' '$work/staged/.pg2md'" measure staged "pg2md run (staged: Parquet load packages)" \
	"${clean_env[@]}" "$pg2md" run --project-dir "$work/staged"
project "$work/direct"
RESET="rm -rf '$work/direct/pg2md.duckdb' '$work/direct/pg2md.duckdb.wal' '$work/direct/.pg2md'" measure direct "pg2md run --direct" \
	"${clean_env[@]}" "$pg2md" run --direct --project-dir "$work/direct"

# ---------------------------------------------------------------------------------------------
# Checks: per table, count(*) and one aggregate per column, in PostgreSQL and in each output.
echo "== checking the outputs against PostgreSQL"
psql -X -At -F '|' -c "
	SELECT c.relname,
	       'SELECT ' || quote_literal(c.relname) || ', count(*), ' || string_agg(
	         CASE WHEN t.typname IN ('int2','int4','int8','numeric','float4','float8') THEN format('sum(%I)', a.attname)
	              WHEN t.typname = 'date' THEN format('sum(%I - DATE ''2000-01-01'')', a.attname)
	              ELSE format('count(%I)', a.attname) END, ', ' ORDER BY a.attnum)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	JOIN pg_type t ON t.oid = a.atttypid
	WHERE n.nspname = 'my_pg' AND c.relkind = 'r'
	GROUP BY c.relname ORDER BY c.relname" >"$work/check_queries"
while IFS='|' read -r t q; do
	echo "COPY ($q FROM my_pg.$t) TO STDOUT;"
done <"$work/check_queries" | psql -X -q -v ON_ERROR_STOP=1 >"$work/check_pg.tsv"

declare -A CHECK
check_output() { # KEY DUCKDB_FILE
	local key=$1 db=$2 t q bad=()
	: >"$work/check_$key.tsv"
	if [ "${RC[$key]}" -ne 0 ] || [ ! -f "$db" ]; then CHECK[$key]="not checked (run failed)"; return; fi
	while IFS='|' read -r t q; do
		"$ddbq" "$db" "$q FROM pg2md_data.$t" >>"$work/check_$key.tsv" 2>>"$work/check_$key.err" ||
			echo "$t	(query failed: $(tail -n 1 "$work/check_$key.err"))" >>"$work/check_$key.tsv"
	done <"$work/check_queries"
	while IFS= read -r t; do bad+=("$t"); done < <(
		diff <(sort "$work/check_pg.tsv") <(sort "$work/check_$key.tsv") | awk -F '\t' '/^[<>]/ { sub(/^[<>] /, ""); print $1 }' | sort -u)
	if [ ${#bad[@]} -eq 0 ]; then
		CHECK[$key]="ok (24 tables: rows and column sums equal)"
	else
		CHECK[$key]="DIFFERS: ${bad[*]}"
	fi
	echo "   ${LABEL[$key]}: ${CHECK[$key]}"
}
check_output naive "$work/naive.duckdb"
check_output staged "$work/staged/pg2md.duckdb"
check_output direct "$work/direct/pg2md.duckdb"
# The CSV files are the bulk of bench/work/; BENCH_KEEP=1 keeps them.
[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$work/csv"

# ---------------------------------------------------------------------------------------------
# Results.
base=$(awk -v a="${SEC[source]}" -v b="${SEC[sink]}" 'BEGIN { printf "%.2f", a + b }')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src include CMakeLists.txt 2>/dev/null || commit="$commit (with uncommitted changes)"
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
ddbver=$("$ddbq" :memory: "SELECT version()" 2>/dev/null || echo "?")

row() { # KEY
	local k=$1 s=${SEC[$1]} note=""
	[ "${RC[$k]}" -ne 0 ] && note=" — **failed (exit ${RC[$k]})**"
	awk -v l="${LABEL[$k]}" -v s="$s" -v b="$base" -v r="$total_rows" -v m="${RSS[$k]:-0}" -v note="$note" -v c="${CHECK[$k]:-}" 'BEGIN {
		rate = (s > 0) ? r / s : 0
		if (rate >= 1e6) rs = sprintf("%.2f M", rate / 1e6); else rs = sprintf("%.0f k", rate / 1e3)
		if (note != "") printf "| %s%s | %.2f | — | — | %.0f MB | %s |\n", l, note, s, m / 1024, c
		else printf "| %s | %.2f | %.2f | %s | %.0f MB | %s |\n", l, s, (b > 0) ? s / b : 0, rs, m / 1024, c
	}'
}
{
	echo "# pg2md benchmark results"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- SCALE: $scale ($total_rows rows in 24 tables, $(numfmt --to=iec "$pg_bytes")B of PostgreSQL heap; generated in $gen_s s)"
	echo "- machine: $(nproc) CPUs ($cpu), $mem memory"
	echo "- parallelism: $W workers for every method; best of $REPEAT run(s) each (xargs -P $W, DuckDB threads = $W, pg2md workers/pool_size = $W)"
	echo "- PostgreSQL $pgver (throwaway cluster, fsync off), DuckDB $ddbver, pg2md $commit"
	echo
	echo "| method | seconds | ratio to source+sink ($base s) | rows/s | peak RSS | output check |"
	echo "| --- | ---: | ---: | ---: | ---: | --- |"
	for k in source sink naive staged direct; do row "$k"; done
	echo
	echo "Details:"
	echo
	echo "| step | seconds | ratio to source+sink | peak RSS |"
	echo "| --- | ---: | ---: | ---: |"
	for k in source_rng source_pt source_csv naive_csv naive_load; do
		awk -v l="${LABEL[$k]}" -v s="${SEC[$k]}" -v b="$base" -v m="${RSS[$k]:-0}" -v rc="${RC[$k]}" 'BEGIN {
			printf "| %s%s | %.2f | %.2f | %.0f MB |\n", l, (rc != 0) ? " — **failed (exit " rc ")**" : "", s, (b > 0) ? s / b : 0, m / 1024 }'
	done
	echo
	echo "Absolute seconds are noisy on a shared machine (other jobs run beside this one); the ratios"
	echo "within one run are comparable, since every method ran back to back on the same warm data at"
	echo "the same parallelism.  Peak RSS is the largest client-side process (psql, ddbq or pg2md),"
	echo "not the PostgreSQL server.  See bench/README.md for what each line measures."
} >"$results"
echo
cat "$results"

fail=0
for k in staged direct; do
	[ "${RC[$k]}" -eq 0 ] || fail=1
	case ${CHECK[$k]} in ok*) ;; *) fail=1 ;; esac
done
exit $fail

#!/usr/bin/env bash
# bench.sh BUILD SCALE — pg2md's benchmark (DESIGN §6); results in bench/RESULTS.md and the chart
# bench/results.svg.
#
# Starts its own throwaway PostgreSQL cluster (stopped at exit, whatever happens), generates the
# TPC-DS-shaped data set at SCALE (scripts/gen_tpcds.sh), then times, in one run, back to back on
# the same warm data and at the same parallelism W (BENCH_WORKERS, default nproc):
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
#   5b. with BENCH_BASELINE=PATH (another pg2md binary, e.g. a build of an older commit): that
#      binary staged and direct too, each right after pg2md's own run of the same mode, with the
#      ratios new/old in the results, labelled BENCH_BASELINE_LABEL (a refactoring's A/B:
#      BENCH_PEERS=0 BENCH_REPEAT=3)
#   6. the peers (BENCH_PEERS=0 skips them), from pinned virtual environments that
#      bench/peers/venv.sh installs from PyPI into bench/.venv/ (ignored by git):
#      - DuckDB's postgres extension: ATTACH … (TYPE postgres), one CREATE TABLE AS per table,
#        W at once (bench/peers/duckdb_postgres.py)
#      - the guide's pipeline (bench/peers/sql_database_pipeline.py: dlt sql_database,
#        backend="connectorx", .parallelize(), the guide's .dlt config, dlt's duckdb destination
#        into a local file), with connectorx 0.4.1 (the guide's pin <0.4.2) and with 0.4.6
#      - the same with dlt's default SQLAlchemy backend, at BENCH_SQLA_SCALE (default: SCALE if
#        SCALE <= 0.05, else 0.05) in a second database; pg2md staged and dlt + ConnectorX run
#        there too, so that block has its own same-scale ratios
#   7. rows of several MB (BENCH_BIG=0 skips them): 42 rows of 5-10 MB values, pg2md staged, direct,
#      append, merge on a configured key and verify at its default budget, and the peers
# Each method runs under bench/peers/treemon.py: wall seconds, peak RSS of the whole client
# process tree (sum over its processes, sampled every 0.1 s), CPU seconds of that tree, and
# busy core-seconds of the whole machine from /proc/stat (the PostgreSQL server included).
# Every output is checked against the source (bench/peers/compare.py): per table the row
# count and per column sum() of numbers, sum(days since 2000-01-01) of dates, count() and
# sum(length(rtrim())) of text; pad blanks of char(n), floating-point sums and type mappings
# are reported, not failed.  All connections use TCP to 127.0.0.1 with a password.  Work files
# are in bench/work/ (ignored by git; emptied at the start).  BENCH_RESULTS=FILE writes the
# results there (and the chart beside it, FILE with .svg) instead of bench/RESULTS.md; a relative
# FILE, like a relative BENCH_BASELINE, is taken from the repository's folder.  Exits non-zero if a pg2md run
# fails or its check finds a difference (after writing RESULTS.md); a failing peer is reported.
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
results=${BENCH_RESULTS:-$root/bench/RESULTS.md}
case $results in /*) ;; *) results=$root/$results ;; esac
chart=$root/bench/results.svg
[ -n "${BENCH_RESULTS:-}" ] && chart=${results%.md}.svg
baseline=${BENCH_BASELINE:-}
if [ -n "$baseline" ]; then
	case $baseline in /*) ;; *) baseline=$root/$baseline ;; esac
	[ -x "$baseline" ] || { echo "bench: BENCH_BASELINE=$baseline is not an executable pg2md" >&2; exit 2; }
fi

[ -x "$pg2md" ] || { echo "bench: $pg2md not found — build first (make build)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench: python3 not found (it runs bench/peers/*.py)" >&2; exit 2; }
treemon=(python3 "$root/bench/peers/treemon.py")
# background_busy SECONDS — busy cores of the machine while this script does nothing
background_busy() {
	python3 "$root/bench/peers/treemon.py" "$work/idle.mon" -- sleep "$1" >/dev/null 2>&1 || true
	awk -v s="$1" '$1 == "machine_busy_s" { printf "%.2f", $2 / s }' "$work/idle.mon"
}

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
# treemon.py measures the CPU time of the server through its postmaster
PG2MD_TREEMON_PGPID=$(head -n 1 "$cluster/data/postmaster.pid")
export PG2MD_TREEMON_PGPID

idle_before=$(background_busy 5)
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
# measure KEY LABEL CMD… — run CMD under bench/peers/treemon.py, REPEAT times (BENCH_REPEAT,
# default 1); record the best seconds (and that run's core-seconds), the largest peak RSS and the
# first failure's exit code.  Before each repetition the shell command in $RESET (if set) runs
# untimed; stdin comes from $IN (if set, else /dev/null); the command runs in $CWD (if set).
REPEAT=${BENCH_REPEAT:-1}
declare -A SEC RSS PRSS BUSY CCPU SRV RC LABEL ROWS
measure() {
	local key=$1 label=$2 rc r s m p best="" rss=0 prss=0
	shift 2
	echo "== $label"
	RC[$key]=0
	for ((r = 1; r <= REPEAT; r++)); do
		[ -n "${RESET:-}" ] && bash -c "$RESET"
		rc=0
		(cd "${CWD:-.}" && exec "${treemon[@]}" "$work/$key.mon" -- "$@") <"${IN:-/dev/null}" >"$work/$key.log" 2>&1 || rc=$?
		s=$(awk '$1 == "seconds" { printf "%.2f", $2 }' "$work/$key.mon")
		m=$(awk '$1 == "tree_rss_kb" { print $2 }' "$work/$key.mon")
		p=$(awk '$1 == "max_proc_rss_kb" { print $2 }' "$work/$key.mon")
		[ "${m:-0}" -gt "$rss" ] && rss=$m
		[ "${p:-0}" -gt "$prss" ] && prss=$p
		if [ -z "$best" ] || [ "$rc" -ne 0 ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$s
			BUSY[$key]=$(awk '$1 == "machine_busy_s" { print $2 }' "$work/$key.mon")
			CCPU[$key]=$(awk '$1 == "client_cpu_s" { print $2 }' "$work/$key.mon")
			SRV[$key]=$(awk '$1 == "server_cpu_s" { print $2 }' "$work/$key.mon")
		fi
		if [ "$rc" -ne 0 ]; then RC[$key]=$rc; break; fi
		[ "$REPEAT" -gt 1 ] && echo "   run $r: $s s"
	done
	SEC[$key]=$best
	RSS[$key]=$rss
	PRSS[$key]=$prss
	LABEL[$key]=$label
	ROWS[$key]=${ROWS_NOW:-$total_rows}
	if [ "${RC[$key]}" -ne 0 ]; then
		echo "   FAILED (exit ${RC[$key]}) after ${SEC[$key]} s; last lines of bench/work/$key.log:"
		tail -n 5 "$work/$key.log" | sed 's/^/     /'
	else
		printf '   %s s, peak RSS %s MB (process tree), %s core-s machine-wide, CPU-s %s client + %s server\n' "${SEC[$key]}" \
			"$(awk -v k="${RSS[$key]}" 'BEGIN { printf "%.0f", k / 1024 }')" "${BUSY[$key]}" "${CCPU[$key]}" "${SRV[$key]}"
	fi
}
# combine KEY LABEL PART… — a method made of steps run one after the other: seconds and
# core-seconds add up, peak RSS is the largest step's
combine() {
	local key=$1 label=$2 k
	shift 2
	SEC[$key]=0; BUSY[$key]=0; CCPU[$key]=0; SRV[$key]=0; RSS[$key]=0; PRSS[$key]=0; RC[$key]=0
	for k in "$@"; do
		SEC[$key]=$(awk -v a="${SEC[$key]}" -v b="${SEC[$k]}" 'BEGIN { printf "%.2f", a + b }')
		BUSY[$key]=$(awk -v a="${BUSY[$key]}" -v b="${BUSY[$k]}" 'BEGIN { printf "%.2f", a + b }')
		CCPU[$key]=$(awk -v a="${CCPU[$key]}" -v b="${CCPU[$k]}" 'BEGIN { printf "%.2f", a + b }')
		SRV[$key]=$(awk -v a="${SRV[$key]}" -v b="${SRV[$k]}" 'BEGIN { printf "%.2f", a + b }')
		[ "${RSS[$k]}" -gt "${RSS[$key]}" ] && RSS[$key]=${RSS[$k]}
		[ "${PRSS[$k]}" -gt "${PRSS[$key]}" ] && PRSS[$key]=${PRSS[$k]}
		[ "${RC[$key]}" -eq 0 ] && RC[$key]=${RC[$k]}
	done
	LABEL[$key]=$label
	ROWS[$key]=${ROWS[$k]}
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
SEC[source]=${SEC[$best]}; RSS[source]=${RSS[$best]}; PRSS[source]=${PRSS[$best]}; BUSY[source]=${BUSY[$best]}
CCPU[source]=${CCPU[$best]}; SRV[source]=${SRV[$best]}; RC[source]=${RC[$best]}; ROWS[source]=${ROWS[$best]}
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
combine naive "naive: psql CSV + DuckDB read_csv (both steps)" naive_csv naive_load

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
project() { # DIR [DATABASE]
	local dir=$1 db=${2:-$PGDATABASE}
	mkdir -p "$dir/.dlt"
	{
		echo '[runtime]'
		echo 'log_level = "WARNING"'
		echo 'dlthub_telemetry = false'
		echo
		echo '[sources.sql_database]'
		echo "schema = \"${PROJECT_SCHEMA:-my_pg}\""
		echo "tables = [$(sed 's/.*/"&"/' "${PROJECT_TABLES:-$work/tables}" | paste -sd, | sed 's/,/, /g')]"
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
database = "$db"
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
base_keys=()
if [ -n "$baseline" ]; then
	base_ver=${BENCH_BASELINE_LABEL:-$baseline}
	project "$work/base_staged"
	RESET="rm -rf '$work/base_staged/pg2md.duckdb' '$work/base_staged/pg2md.duckdb.wal' '$work/base_staged/.pg2md'" \
		measure base_staged "baseline ($base_ver) run (staged)" "${clean_env[@]}" "$baseline" run --project-dir "$work/base_staged"
	base_keys+=(base_staged)
fi
project "$work/direct"
RESET="rm -rf '$work/direct/pg2md.duckdb' '$work/direct/pg2md.duckdb.wal' '$work/direct/.pg2md'" measure direct "pg2md run --direct" \
	"${clean_env[@]}" "$pg2md" run --direct --project-dir "$work/direct"
if [ -n "$baseline" ]; then
	project "$work/base_direct"
	RESET="rm -rf '$work/base_direct/pg2md.duckdb' '$work/base_direct/pg2md.duckdb.wal' '$work/base_direct/.pg2md'" \
		measure base_direct "baseline ($base_ver) run --direct" "${clean_env[@]}" "$baseline" run --direct --project-dir "$work/base_direct"
	base_keys+=(base_direct)
fi

# ---------------------------------------------------------------------------------------------
# 6. The peers, from pinned virtual environments (bench/peers/venv.sh; bench/.venv/ is ignored).
declare -A OUT CHECKDB SHORT
OUT[naive]=$work/naive.duckdb; OUT[staged]=$work/staged/pg2md.duckdb; OUT[direct]=$work/direct/pg2md.duckdb
OUT[base_staged]=$work/base_staged/pg2md.duckdb; OUT[base_direct]=$work/base_direct/pg2md.duckdb
SHORT[base_staged]="pg2md staged, baseline binary"; SHORT[base_direct]="pg2md direct, baseline binary"
SHORT[source]="source limit (binary COPY)"; SHORT[sink]="sink limit (DuckDB to DuckDB)"
SHORT[naive]="naive: psql CSV + read_csv"; SHORT[staged]="pg2md staged"; SHORT[direct]="pg2md direct"
PEERS=${BENCH_PEERS:-1}
declare -A PYV=([guide]="" [cx-current]="")
peer_keys=()
small_keys=()
venv_note=""
if [ "$PEERS" = 1 ]; then
	echo "== the peers' Python environments (bench/peers/venv.sh: pinned, from PyPI, into bench/.venv/)"
	t0=$(now)
	for v in guide cx-current; do
		rc=0
		PYV[$v]=$(bench/peers/venv.sh "$v" 2> >(sed 's/^/   /' >&2)) || rc=$?
		if [ $rc -ne 0 ]; then
			PYV[$v]=""
			venv_note+="the venv $v could not be installed (bench/peers/venv.sh exit $rc$([ $rc -eq 75 ] && echo ": PyPI unreachable")); its methods did not run. "
		fi
	done
	venv_s=$(secs "$t0" "$(now)")
	echo "   ready in $venv_s s"
fi

# peer_dlt KEY LABEL PYTHON BACKEND [DATABASE] — the guide's pipeline in a fresh project folder
peer_dlt() {
	local key=$1 label=$2 py=$3 backend=$4 db=${5:-$PGDATABASE} dir=$work/$1
	project "$dir" "$db"
	RESET="rm -rf '$dir/pg2md.duckdb' '$dir/pg2md.duckdb.wal' '$dir/dlt-data'" CWD=$dir measure "$key" "$label" \
		"${clean_env[@]}" DLT_DATA_DIR="$dir/dlt-data" "$py" "$root/bench/peers/sql_database_pipeline.py" "$backend"
	OUT[$key]=$dir/pg2md.duckdb
}
if [ -n "${PYV[guide]}" ]; then
	# shellcheck disable=SC2086 # one argument per table
	RESET="rm -f '$work/pgext.duckdb' '$work/pgext.duckdb.wal'" measure pgext \
		"DuckDB postgres extension: ATTACH, CREATE TABLE AS per table, $W at once" \
		"${PYV[guide]}" "$root/bench/peers/duckdb_postgres.py" "$work/pgext.duckdb" "$W" my_pg $TABLES
	OUT[pgext]=$work/pgext.duckdb; SHORT[pgext]="DuckDB postgres extension"; peer_keys+=(pgext)
	peer_dlt dlt_cx "dlt + ConnectorX 0.4.1 (the guide's pipeline and pins)" "${PYV[guide]}" connectorx
	SHORT[dlt_cx]="dlt + ConnectorX 0.4.1 (guide)"; peer_keys+=(dlt_cx)
fi
if [ -n "${PYV[cx-current]}" ]; then
	peer_dlt dlt_cx6 "dlt + ConnectorX 0.4.6 (the guide's pipeline, current connectorx)" "${PYV[cx-current]}" connectorx
	SHORT[dlt_cx6]="dlt + ConnectorX 0.4.6"; peer_keys+=(dlt_cx6)
fi

# dlt's SQLAlchemy backend: too slow for SCALE=1 within the time budget, so it runs at
# BENCH_SQLA_SCALE in a second database, beside pg2md staged and dlt + ConnectorX on that data.
sqla_scale=${BENCH_SQLA_SCALE:-$(awk -v s="$scale" 'BEGIN { print (s + 0 <= 0.05) ? s : 0.05 }')}
small_rows=""
if [ -n "${PYV[guide]}" ]; then
	if awk -v a="$sqla_scale" -v b="$scale" 'BEGIN { exit !(a + 0 == b + 0) }'; then
		peer_dlt dlt_sqla "dlt + SQLAlchemy (dlt's default backend)" "${PYV[guide]}" sqlalchemy
		SHORT[dlt_sqla]="dlt + SQLAlchemy"; peer_keys+=(dlt_sqla)
	else
		echo "== the SQLAlchemy block: scripts/gen_tpcds.sh $sqla_scale into database bench_small"
		psql -X -q -c "CREATE DATABASE bench_small" >/dev/null
		PGDATABASE=bench_small scripts/gen_tpcds.sh "$sqla_scale" >"$work/gen_small.log"
		small_rows=$(PGDATABASE=bench_small psql -X -At -c "SELECT sum(n) FROM ($(sed "s/.*/SELECT count(*) AS n FROM my_pg.&/" "$work/tables" | paste -sd '|' | sed 's/|/ UNION ALL /g')) c")
		echo "   $small_rows rows"
		PGDATABASE=bench_small xargs -P "$W" -L 1 "$work/copy_task.sh" <"$work/tables" >/dev/null
		project "$work/s_staged" bench_small
		ROWS_NOW=$small_rows RESET="rm -rf '$work/s_staged/pg2md.duckdb' '$work/s_staged/pg2md.duckdb.wal' '$work/s_staged/.pg2md'" \
			measure s_staged "pg2md run (staged), SCALE=$sqla_scale" "${clean_env[@]}" "$pg2md" run --project-dir "$work/s_staged"
		OUT[s_staged]=$work/s_staged/pg2md.duckdb; SHORT[s_staged]="pg2md staged"
		ROWS_NOW=$small_rows peer_dlt s_dlt_cx "dlt + ConnectorX 0.4.1 (the guide's), SCALE=$sqla_scale" "${PYV[guide]}" connectorx bench_small
		SHORT[s_dlt_cx]="dlt + ConnectorX 0.4.1"
		ROWS_NOW=$small_rows peer_dlt s_dlt_sqla "dlt + SQLAlchemy (dlt's default backend), SCALE=$sqla_scale" "${PYV[guide]}" sqlalchemy bench_small
		SHORT[s_dlt_sqla]="dlt + SQLAlchemy"
		small_keys=(s_staged s_dlt_cx s_dlt_sqla)
		for k in "${small_keys[@]}"; do CHECKDB[$k]=small; done
	fi
fi

# ---------------------------------------------------------------------------------------------
# Exactness probe (untimed): values the TPC-DS data does not hold (bench/peers/probe.py), each
# table copied alone by every method that ran, compared value by value with the source.
declare -A PROBE
probe_keys=(staged direct)
for k in "${peer_keys[@]}" "${small_keys[@]}"; do case $k in pgext | dlt_cx | dlt_cx6 | dlt_sqla | s_dlt_sqla) probe_keys+=("$k") ;; esac; done
if [ "${BENCH_PROBE:-1}" = 1 ]; then
	echo "== exactness probe (untimed): schema probe, $(python3 bench/peers/probe.py sql | grep -c 'CREATE TABLE') tables"
	python3 bench/peers/probe.py sql | psql -X -q -v ON_ERROR_STOP=1 >/dev/null
	mkdir -p "$work/probe"
	for t in exact wide; do
		cols=$(python3 bench/peers/probe.py columns "$t")
		dcols=$(python3 bench/peers/probe.py duckdb-columns "$t")
		psql -X -q -c "COPY (SELECT $cols FROM probe.$t ORDER BY id) TO STDOUT" >"$work/probe/pg_$t.tsv"
		echo "$t" >"$work/probe/tables_$t"
		for k in "${probe_keys[@]}"; do
			d=$work/probe/${k}_$t
			rm -rf "$d"
			mkdir -p "$d"
			PROJECT_SCHEMA=probe PROJECT_TABLES=$work/probe/tables_$t project "$d"
			rc=0
			case $k in
			staged) "${clean_env[@]}" "$pg2md" run --project-dir "$d" >"$d/log" 2>&1 || rc=$? ;;
			direct) "${clean_env[@]}" "$pg2md" run --direct --project-dir "$d" >"$d/log" 2>&1 || rc=$? ;;
			pgext) "${PYV[guide]}" bench/peers/duckdb_postgres.py "$d/pg2md.duckdb" 1 probe "$t" >"$d/log" 2>&1 || rc=$? ;;
			dlt_cx | dlt_cx6 | dlt_sqla | s_dlt_sqla)
				py=${PYV[guide]}; [ "$k" = dlt_cx6 ] && py=${PYV[cx-current]}
				be=connectorx; case $k in *sqla) be=sqlalchemy ;; esac
				(cd "$d" && "${clean_env[@]}" DLT_DATA_DIR="$d/dlt-data" "$py" "$root/bench/peers/sql_database_pipeline.py" "$be") >"$d/log" 2>&1 || rc=$? ;;
			esac
			if [ $rc -ne 0 ]; then
				echo "ERROR: the run failed (exit $rc): $(grep -E 'Error|error|ERROR' "$d/log" | tail -n 1 | sed 's/.*caused an exception: //' | cut -c1-200)" >"$d/out.tsv"
			else
				"$ddbq" "$d/pg2md.duckdb" "SELECT $dcols FROM pg2md_data.$t ORDER BY id" >"$d/out.tsv" 2>&1 ||
					sed -i '1s/^/ERROR: /' "$d/out.tsv"
			fi
			r=$(python3 bench/peers/probe.py compare "$work/probe/pg_$t.tsv" "$d/out.tsv")
			PROBE[$k]="${PROBE[$k]:+${PROBE[$k]}; }probe.$t: $r"
		done
	done
	for k in "${probe_keys[@]}"; do echo "   ${LABEL[$k]}: ${PROBE[$k]}"; done
fi

# ---------------------------------------------------------------------------------------------
# Checks (bench/peers/compare.py): per table, count(*) and per column sums, in PostgreSQL and in
# each output; what cannot be compared exactly (floating point, pad blanks, types) is reported.
echo "== checking the outputs against PostgreSQL"
psql -X -At -F $'\t' -c "
	SELECT c.relname, a.attname, t.typname, format_type(a.atttypid, a.atttypmod)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	JOIN pg_type t ON t.oid = a.atttypid
	WHERE n.nspname = 'my_pg' AND c.relkind = 'r'
	ORDER BY c.relname, a.attnum" >"$work/pg_columns.tsv"
python3 bench/peers/compare.py queries "$work"
pg_check() { # DATABASE OUT
	while IFS='|' read -r t q _ _; do
		echo "COPY ($q FROM my_pg.$t) TO STDOUT;"
	done <"$work/check_queries" | PGDATABASE=$1 psql -X -q -v ON_ERROR_STOP=1 >"$2"
}
pg_check "$PGDATABASE" "$work/check_pg.tsv"
[ -n "$small_rows" ] && pg_check bench_small "$work/check_pg_small.tsv"

declare -A CHECK
check_output() { # KEY
	local key=$1 db=${OUT[$1]} t q pgtsv=$work/check_pg.tsv
	[ "${CHECKDB[$1]:-}" = small ] && pgtsv=$work/check_pg_small.tsv
	: >"$work/check_$key.tsv"
	if [ "${RC[$key]}" -ne 0 ] || [ ! -f "$db" ]; then CHECK[$key]="not checked (run failed)"; return; fi
	while IFS='|' read -r t _ q _; do
		"$ddbq" "$db" "$q FROM pg2md_data.$t" >>"$work/check_$key.tsv" 2>>"$work/check_$key.err" ||
			printf '%s\tquery failed: %s\n' "$t" "$(tail -n 1 "$work/check_$key.err")" >>"$work/check_$key.tsv"
	done <"$work/check_queries"
	"$ddbq" "$db" "SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'pg2md_data' ORDER BY table_name, ordinal_position" >"$work/types_$key.tsv" 2>/dev/null || true
	CHECK[$key]=$(python3 bench/peers/compare.py check "$work" "$key" "$pgtsv" || true)
	echo "   ${LABEL[$key]}: ${CHECK[$key]}"
}
# ---------------------------------------------------------------------------------------------
# 7. Rows of several MB (BENCH_BIG=0 skips them): 42 rows of 5-10 MB of text and 2.5 MB of bytea
#    each, at pg2md's default DuckDB budget: staged, direct, appended onto them (84 rows), merged
#    back on a configured key (the source table has none), verified; then the peers on the same
#    table.  Every output is checked by the md5 and length of every value.
big_keys=()
declare -A BIGCHECK
big_check() { # KEY DUCKDB_FILE [2: every source row twice] — md5 and length of every value
	local got=$work/big_$1.tsv want=$work/big_src.tsv
	if [ "${RC[$1]}" -ne 0 ] || [ ! -f "$2" ]; then BIGCHECK[$1]="not checked (failed)"; return; fi
	"$ddbq" "$2" "$big_sum, coalesce(octet_length(b), -1) FROM pg2md_data.big ORDER BY id" >"$got" 2>&1 || true
	if [ "${3:-1}" = 2 ]; then
		awk '{ print; print }' "$want" >"$work/big_want2.tsv"
		want=$work/big_want2.tsv
	fi
	if cmp -s "$want" "$got"; then
		BIGCHECK[$1]="ok ($(wc -l <"$want") rows: md5 and length of every value)"
	else
		BIGCHECK[$1]="**differs**: $(diff "$want" "$got" | head -n 3 | cut -c1-100 | paste -sd ' ')"
	fi
}
if [ "${BENCH_BIG:-1}" = 1 ]; then
	echo "== rows of several MB: 42 rows (5-10 MB of text, 2.5 MB of bytea each) into schema big_pg"
	t0=$(now)
	psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE SCHEMA big_pg;
CREATE TABLE big_pg.big (id int, t text, b bytea);
INSERT INTO big_pg.big SELECT g,
  (SELECT string_agg(md5(s::text || g), '') FROM generate_series(1, 150000 + g * 4000) s),
  decode((SELECT string_agg(md5(s::text || -g), '') FROM generate_series(1, 80000 + g) s), 'hex')
FROM generate_series(1, 40) g;
INSERT INTO big_pg.big VALUES (41, NULL, NULL), (42, '', ''::bytea);
ANALYZE big_pg.big;
SQL
	big_s=$(secs "$t0" "$(now)")
	big_bytes=$(psql -X -At -c "SELECT sum(coalesce(length(t), 0) + coalesce(length(b), 0)) FROM big_pg.big")
	big_sum="SELECT id, coalesce(md5(t), 'null'), coalesce(md5(b), 'null'), coalesce(length(t), -1)"
	psql -X -At -F $'\t' -c "$big_sum, coalesce(length(b), -1) FROM big_pg.big ORDER BY id" >"$work/big_src.tsv"
	echo "   $(numfmt --to=iec "$big_bytes")B of values in $big_s s"
	echo big >"$work/big_tables"
	bigp=$work/big
	PROJECT_SCHEMA=big_pg PROJECT_TABLES=$work/big_tables project "$bigp"
	printf '\n[sources.sql_database.big]\nprimary_key = "id"\n' >>"$bigp/.dlt/config.toml"
	repeat_saved=$REPEAT
	REPEAT=1 # the runs build on each other
	bigreset="rm -rf '$bigp/pg2md.duckdb' '$bigp/pg2md.duckdb.wal' '$bigp/.pg2md'"
	ROWS_NOW=42 RESET=$bigreset measure big_direct "pg2md run --direct" "${clean_env[@]}" "$pg2md" run --direct --project-dir "$bigp"
	big_check big_direct "$bigp/pg2md.duckdb"
	ROWS_NOW=42 RESET=$bigreset measure big_staged "pg2md run (staged)" "${clean_env[@]}" "$pg2md" run --project-dir "$bigp"
	big_check big_staged "$bigp/pg2md.duckdb"
	ROWS_NOW=42 measure big_append "pg2md run, append onto those 42 rows (84 then)" \
		"${clean_env[@]}" "$pg2md" run --write-disposition append --project-dir "$bigp"
	big_check big_append "$bigp/pg2md.duckdb" 2
	ROWS_NOW=42 measure big_merge "pg2md run, merge on the configured key (back to 42 rows)" \
		"${clean_env[@]}" "$pg2md" run --write-disposition merge --project-dir "$bigp"
	big_check big_merge "$bigp/pg2md.duckdb"
	ROWS_NOW=42 measure big_verify "pg2md verify (both sides' checksums)" "${clean_env[@]}" "$pg2md" verify --project-dir "$bigp"
	BIGCHECK[big_verify]=$([ "${RC[big_verify]}" -eq 0 ] && echo "equal (pg2md's own check)" || echo "not equal")
	big_keys=(big_staged big_direct big_append big_merge big_verify)
	if [ -n "${PYV[guide]}" ]; then
		ROWS_NOW=42 RESET="rm -f '$work/big_pgext.duckdb' '$work/big_pgext.duckdb.wal'" measure big_pgext \
			"DuckDB postgres extension: CREATE TABLE AS" \
			"${PYV[guide]}" "$root/bench/peers/duckdb_postgres.py" "$work/big_pgext.duckdb" "$W" big_pg big
		big_check big_pgext "$work/big_pgext.duckdb"
		ROWS_NOW=42 PROJECT_SCHEMA=big_pg PROJECT_TABLES=$work/big_tables \
			peer_dlt big_dlt_cx "dlt + ConnectorX 0.4.1 (the guide's pipeline and pins)" "${PYV[guide]}" connectorx
		big_check big_dlt_cx "${OUT[big_dlt_cx]}"
		big_keys+=(big_pgext big_dlt_cx)
	fi
	REPEAT=$repeat_saved
fi

for k in naive staged direct "${base_keys[@]}" "${peer_keys[@]}" "${small_keys[@]}"; do check_output "$k"; done
# The CSV files are the bulk of bench/work/; BENCH_KEEP=1 keeps them.
[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$work/csv"
idle_after=$(background_busy 5)

# ---------------------------------------------------------------------------------------------
# Results.
base=$(awk -v a="${SEC[source]}" -v b="${SEC[sink]}" 'BEGIN { printf "%.2f", a + b }')
base_cpu=$(awk -v a="${CCPU[source]}" -v b="${SRV[source]}" -v c="${CCPU[sink]}" -v d="${SRV[sink]}" 'BEGIN { printf "%.1f", a + b + c + d }')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src include CMakeLists.txt 2>/dev/null || commit="$commit (with uncommitted changes)"
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
ddbver=$("$ddbq" :memory: "SELECT version()" 2>/dev/null || echo "?")
pyver() { # PYTHON — the peers' exact versions
	[ -n "$1" ] && "$1" - <<'PY' 2>/dev/null
import importlib.metadata as m, platform
print(f"Python {platform.python_version()}, " + ", ".join(f"{p} {m.version(p)}" for p in
      ("dlt", "connectorx", "duckdb", "duckdb-ext-postgres", "pyarrow", "SQLAlchemy", "psycopg2-binary")))
PY
}

# row KEY REF BASE — one line of a results table; REF is the key the × columns divide by
row() {
	local k=$1 ref=$2 b=$3 note=""
	[ "${RC[$k]}" -ne 0 ] && note=" — **failed (exit ${RC[$k]})**"
	awk -v l="${LABEL[$k]}" -v s="${SEC[$k]}" -v rs="${SEC[$ref]}" -v b="$b" -v r="${ROWS[$k]}" \
		-v m="${RSS[$k]:-0}" -v rm="${RSS[$ref]:-0}" -v p="${PRSS[$k]:-0}" -v u="${BUSY[$k]:-0}" \
		-v c="${CCPU[$k]:-0}" -v sv="${SRV[$k]:-0}" -v rc="${CCPU[$ref]:-0}" -v rsv="${SRV[$ref]:-0}" \
		-v note="$note" -v chk="${CHECK[$k]:-}" 'BEGIN {
		rate = (s > 0) ? r / s : 0
		if (rate >= 1e6) rt = sprintf("%.2f M", rate / 1e6); else rt = sprintf("%.0f k", rate / 1e3)
		xb = (b > 0) ? sprintf("%.2f", s / b) : "—"
		cs = c + sv; rcs = rc + rsv
		if (note != "") printf "| %s%s | %.2f | — | — | — | %.0f MB | — | %.1f | %.1f + %.1f | — | %s |\n", l, note, s, m / 1024, u, c, sv, chk
		else printf "| %s | %.2f | %.2f | %s | %s | %.0f MB (%.0f) | %.2f | %.1f | %.1f + %.1f | %.2f | %s |\n",
			l, s, (rs > 0) ? s / rs : 0, xb, rt, m / 1024, p / 1024, (rm > 0) ? m / rm : 0, u, c, sv, (rcs > 0) ? cs / rcs : 0, chk
	}'
}
header() {
	echo "| method | seconds | × pg2md staged | × (source+sink)$1 | rows/s | peak RSS, tree (largest process) | RSS × staged | core-s, machine | CPU-s, client + server | CPU × staged | output check |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
}
main_keys=(source sink naive staged direct "${base_keys[@]}" "${peer_keys[@]}")
# the chart: the main block, then the SQLAlchemy block (labelled with its scale)
for k in "${main_keys[@]}" "${small_keys[@]}"; do
	lab=${SHORT[$k]:-$k}
	case $k in s_*) lab="$lab (SCALE=$sqla_scale)" ;; esac
	printf '%s\t%s\t%s\t%s\t%s\n' "$lab" "${SEC[$k]}" "$(awk -v m="${RSS[$k]}" 'BEGIN { printf "%.1f", m / 1024 }')" \
		"$(awk -v a="${CCPU[$k]}" -v b="${SRV[$k]}" 'BEGIN { printf "%.2f", a + b }')" "$([ "${RC[$k]}" -ne 0 ] && echo 1 || echo 0)"
done >"$work/chart.tsv"
python3 bench/peers/chart.py "$work/chart.tsv" "$chart" \
	"pg2md benchmark, SCALE=$scale ($total_rows rows), $W workers, $(nproc) CPUs — $(date -u '+%Y-%m-%d')"
{
	echo "# pg2md benchmark results"
	echo
	echo "![the methods side by side: wall seconds, peak RSS, machine core-seconds]($(basename "$chart"))"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- SCALE: $scale ($total_rows rows in 24 tables, $(numfmt --to=iec "$pg_bytes")B of PostgreSQL heap; generated in $gen_s s)"
	echo "- machine: $(nproc) CPUs ($cpu), $mem memory; other load on the machine (busy cores while the bench sat idle): $idle_before before the run, $idle_after after it${BENCH_NOTE:+; $BENCH_NOTE}"
	echo "- parallelism: $W workers for every method; best of $REPEAT run(s) each (xargs -P $W, DuckDB threads = $W, pg2md and dlt workers = $W, $W CREATE TABLE AS at once)"
	echo "- PostgreSQL $pgver (throwaway cluster, fsync off), DuckDB $ddbver, pg2md $commit"
	[ -n "${PYV[guide]}" ] && echo "- the guide's venv (bench/peers/requirements-guide.txt): $(pyver "${PYV[guide]}")"
	[ -n "${PYV[cx-current]}" ] && echo "- the current-connectorx venv (bench/peers/requirements-cx-current.txt): $(pyver "${PYV[cx-current]}")"
	[ -n "$venv_note" ] && echo "- **$venv_note**"
	echo
	echo "× columns divide by pg2md staged's figure of the same run; × (source+sink) by the two limits' sum"
	echo "($base s; $base_cpu CPU-s client + server).  Peak RSS: the sum over the method's whole client process tree"
	echo "(sampled every 0.1 s; in brackets the largest single process, exact).  core-s, machine: busy"
	echo "time of the whole machine from /proc/stat over the method (PostgreSQL's server included, and"
	echo "anything else running then: on a shared machine it is inflated by other jobs).  CPU-s, client +"
	echo "server: the CPU time of the method's own processes and of the PostgreSQL server (exact, from"
	echo "getrusage and the postmaster's /proc/PID/stat; unaffected by other jobs); CPU × staged divides"
	echo "their sum."
	echo
	header " ($base s)"
	for k in "${main_keys[@]}"; do row "$k" staged "$base"; done
	if [ ${#small_keys[@]} -gt 0 ]; then
		echo
		echo "dlt's SQLAlchemy backend at SCALE=$sqla_scale ($small_rows rows, database bench_small), beside pg2md"
		echo "staged and the guide's pipeline on the same data (× columns divide by this block's pg2md staged):"
		echo
		header ""
		for k in "${small_keys[@]}"; do row "$k" s_staged 0; done
	fi
	if [ ${#big_keys[@]} -gt 0 ]; then
		echo
		echo "Rows of several MB: 42 rows of 5–10 MB of text and 2.5 MB of bytea each ($(numfmt --to=iec "$big_bytes")B of"
		echo "values, generated in $big_s s), pg2md at its default DuckDB budget (128 MB, raised for such rows as"
		echo "docs/reliability.md says); one after the other on the same file, then the peers:"
		echo
		echo "| method | seconds | peak RSS, tree (largest process) | CPU-s, client + server | output check |"
		echo "| --- | ---: | ---: | ---: | --- |"
		for k in "${big_keys[@]}"; do
			awk -v l="${LABEL[$k]}" -v rc="${RC[$k]}" -v s="${SEC[$k]}" -v m="${RSS[$k]:-0}" -v p="${PRSS[$k]:-0}" \
				-v c="${CCPU[$k]:-0}" -v sv="${SRV[$k]:-0}" -v chk="${BIGCHECK[$k]:-}" 'BEGIN {
				printf "| %s%s | %.2f | %.0f MB (%.0f) | %.1f + %.1f | %s |\n", l, (rc != 0) ? " — **failed (exit " rc ")**" : "",
					s, m / 1024, p / 1024, c, sv, chk }'
		done
	fi
	if [ -n "${SEC[dlt_cx]:-}" ] && [ -n "${SEC[pgext]:-}" ]; then
		echo
		echo "Issue 17's targets in this run (wall seconds; CPU-s client + server in brackets):"
		echo
		awk -v st="${SEC[staged]}" -v di="${SEC[direct]}" -v dc="${SEC[dlt_cx]}" -v pe="${SEC[pgext]}" -v b="$base" \
			-v mst="${RSS[staged]}" -v mdc="${RSS[dlt_cx]}" \
			-v cst="$(awk -v a="${CCPU[staged]}" -v b="${SRV[staged]}" 'BEGIN { print a + b }')" \
			-v cdi="$(awk -v a="${CCPU[direct]}" -v b="${SRV[direct]}" 'BEGIN { print a + b }')" \
			-v cdc="$(awk -v a="${CCPU[dlt_cx]}" -v b="${SRV[dlt_cx]}" 'BEGIN { print a + b }')" \
			-v cpe="$(awk -v a="${CCPU[pgext]}" -v b="${SRV[pgext]}" 'BEGIN { print a + b }')" -v cb="$base_cpu" 'BEGIN {
			ok = "met"; no = "**missed**"
			printf "- pg2md staged vs dlt + ConnectorX 0.4.1 (the guide): %.2f× as fast (%.2f× less CPU), target ≥ 3×: %s; peak RSS %.3f of dlt'"'"'s, target ≤ 1/3: %s\n", dc / st, cdc / cst, (dc / st >= 3) ? ok : no, mst / mdc, (mst / mdc <= 1 / 3) ? ok : no
			printf "- pg2md direct vs DuckDB'"'"'s postgres extension: %.2f× as fast (%.2f× less CPU), target > 1: %s\n", pe / di, cpe / cdi, (pe > di) ? ok : no
			printf "- pg2md staged: %.2f × (source + sink) (CPU %.2f), target ≤ 1.0: %s\n", st / b, cst / cb, (st / b <= 1.0) ? ok : no
			printf "- pg2md direct: %.2f × (source + sink) (CPU %.2f), target ≤ 0.75: %s\n", di / b, cdi / cb, (di / b <= 0.75) ? ok : no
		}'
	fi
	if [ ${#base_keys[@]} -gt 0 ]; then
		echo
		echo "Against the baseline binary ($base_ver), each mode run right after pg2md's own (new / baseline;"
		echo "below 1 is faster; the refactoring target is within 5%, i.e. at most 1.05):"
		echo
		for m in staged direct; do
			awk -v m="$m" -v s="${SEC[$m]}" -v bs="${SEC[base_$m]}" -v r="${RSS[$m]}" -v br="${RSS[base_$m]}" \
				-v c="$(awk -v a="${CCPU[$m]}" -v b="${SRV[$m]}" 'BEGIN { print a + b }')" \
				-v bc="$(awk -v a="${CCPU[base_$m]}" -v b="${SRV[base_$m]}" 'BEGIN { print a + b }')" 'BEGIN {
				printf "- %s: wall %.2f s / %.2f s = %.3f; CPU-s client + server %.1f / %.1f = %.3f; peak RSS %.0f / %.0f MB = %.3f\n",
					m, s, bs, (bs > 0) ? s / bs : 0, c, bc, (bc > 0) ? c / bc : 0, r / 1024, br / 1024, (br > 0) ? r / br : 0 }'
		done
	fi
	echo
	echo "What each method got wrong or changed (bench/peers/compare.py; details in bench/work/check_KEY.txt):"
	echo
	for k in naive staged direct "${base_keys[@]}" "${peer_keys[@]}" "${small_keys[@]}"; do
		[ -f "$work/types_$k.map" ] || { echo "- ${LABEL[$k]}: ${CHECK[$k]:-not checked}"; continue; }
		# types: all of them for pg2md staged, the others only where they differ from it
		if [ "$k" = staged ] || [ ! -f "$work/types_staged.lst" ]; then
			tm="Types: $(cat "$work/types_$k.map")"
		else
			tm=$(comm -23 <(sort "$work/types_$k.lst") <(sort "$work/types_staged.lst") | paste -sd ';' | sed 's/;/; /g')
			tm=${tm:+"Types unlike pg2md's: $tm"}
			tm=${tm:-"Types: as pg2md's"}
		fi
		echo "- **${LABEL[$k]}**: ${CHECK[$k]}. $tm${PROBE[$k]:+. Exactness probe: ${PROBE[$k]}}"
		grep '^! ' "$work/check_$k.txt" | head -n 6 | cut -c3-400 | sed 's/^/  - /' || true
	done
	echo
	echo "Details:"
	echo
	echo "| step | seconds | ratio to source+sink | peak RSS, tree | core-s, machine | CPU-s, client + server |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	for k in source_rng source_pt source_csv naive_csv naive_load; do
		awk -v l="${LABEL[$k]}" -v s="${SEC[$k]}" -v b="$base" -v m="${RSS[$k]:-0}" -v u="${BUSY[$k]}" -v c="${CCPU[$k]}" -v sv="${SRV[$k]}" -v rc="${RC[$k]}" 'BEGIN {
			printf "| %s%s | %.2f | %.2f | %.0f MB | %.1f | %.1f + %.1f |\n", l, (rc != 0) ? " — **failed (exit " rc ")**" : "", s, (b > 0) ? s / b : 0, m / 1024, u, c, sv }'
	done
	echo
	echo "Absolute seconds are noisy on a shared machine (other jobs may run beside this one); the ratios"
	echo "within one run are comparable, since every method ran back to back on the same warm data at"
	echo "the same parallelism.  See bench/README.md for what each line measures."
} >"$results"
echo
cat "$results"

fail=0
for k in staged direct; do
	[ "${RC[$k]}" -eq 0 ] || fail=1
	case ${CHECK[$k]} in ok*) ;; *) fail=1 ;; esac
done
for k in "${big_keys[@]}"; do
	case $k in big_pgext | big_dlt_cx) continue ;; esac
	[ "${RC[$k]}" -eq 0 ] || fail=1
	case ${BIGCHECK[$k]} in ok* | equal*) ;; *) fail=1 ;; esac
done
exit $fail

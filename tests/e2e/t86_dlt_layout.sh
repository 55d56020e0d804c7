#!/usr/bin/env bash
# t86_dlt_layout — pg2md writes dlt's dataset layout: the guide's own dlt pipeline
# (bench/peers/sql_database_pipeline.py: dlt sql_database, backend="connectorx", .parallelize(),
# the guide's pins, dlt's duckdb destination into a local file) and pg2md copy the same tables
# (the demo data, scripts/gen_tpcds.sh 0.01, plus one table of further common types) into two
# DuckDB files, and the test compares them: the same tables, the same column names in the same
# order, the same DuckDB types except the deliberate differences listed below (each documented
# in docs/dlt-compat.md), and the same columns of _dlt_loads, _dlt_version and
# _dlt_pipeline_state.  A renamed, added, dropped or retyped column fails it.
#
# dlt comes from the benchmark's pinned virtual environment (bench/peers/venv.sh guide, in
# bench/.venv/guide, reused when already there); when PyPI cannot be reached to install it,
# the test prints one "# SKIP:" line and exits 77, which ctest reports as skipped.
. "$(dirname "$0")/../lib/common.sh"
t_init dlt_layout
require_pg2md

# --- the deliberate differences: one place, each documented in docs/dlt-compat.md -------------
# source type (format_type) | dlt's DuckDB type | pg2md's DuckDB type
# The DuckDB types are shell patterns (DECIMAL* is any DECIMAL); the source type is exact.
ALLOWED='integer|BIGINT|INTEGER
smallint|BIGINT|SMALLINT
real|DOUBLE|FLOAT
numeric|DECIMAL(38,9)|DECIMAL*
uuid|VARCHAR|UUID'

# --- dlt, from the benchmark's pinned environment --------------------------------------------
started=$(date +%s)
venv_rc=0
PY=$("$PG2MD_SRC/bench/peers/venv.sh" guide 2>"$T_TMP/venv.err") || venv_rc=$?
sed 's/^/# /' "$T_TMP/venv.err"
if [ "$venv_rc" -eq 75 ]; then
	echo "# SKIP: PyPI cannot be reached to install dlt (bench/peers/venv.sh guide); the dlt layout check did not run"
	t_cleanup
	trap - EXIT
	exit 77
fi
[ "$venv_rc" -eq 0 ] || t_bail "bench/peers/venv.sh guide failed (exit $venv_rc)" "$(cat "$T_TMP/venv.err")"
echo "# dlt environment ready in $(($(date +%s) - started)) s (install time included)"

# --- the data: the demo tables and one table of further types ----------------------------------
PGDATABASE=$T_DB "$PG2MD_SRC/scripts/gen_tpcds.sh" 0.01 >"$T_TMP/gen.log" 2>&1 ||
	t_bail "scripts/gen_tpcds.sh 0.01 failed" "$(tail -n 20 "$T_TMP/gen.log")"
pg >/dev/null <<'SQL' || t_bail "cannot build my_pg.more_types"
CREATE TABLE my_pg.more_types (
  id bigint PRIMARY KEY, i2 smallint, i4 integer, f4 real, f8 double precision,
  n numeric, n20 numeric(20,5), b boolean, t text, v varchar(12), c char(3),
  d date, ts timestamp, tstz timestamptz, u uuid, j jsonb);
INSERT INTO my_pg.more_types
SELECT g, g % 100, g * 7, g / 4.0, g / 3.0, g * 1.25, g * 1000.12345, g % 2 = 0, 't' || g, 'v' || g, 'c' || (g % 10),
       date '2024-01-01' + g, timestamp '2024-01-01 00:00' + g * interval '1 hour',
       timestamptz '2024-01-01 00:00+00' + g * interval '1 minute', md5(g::text)::uuid, jsonb_build_object('k', g)
FROM generate_series(1, 500) g;
SQL
TABLES="customer customer_address customer_demographics household_demographics income_band date_dim time_dim
item inventory warehouse store_sales store_returns catalog_sales catalog_returns web_sales web_returns store
call_center catalog_page web_page web_site promotion reason ship_mode more_types"

# The guide's .dlt config (workers 2) for both; dlt reads the same files pg2md reads.
for who in dlt pg2md; do
	make_project "$T_TMP/$who" --schema my_pg --tables "$TABLES" --config '[postgres]
pool_size = 2

[data_writer]
format = "parquet"

[extract]
workers = 2

[normalize]
workers = 2

[load]
workers = 2'
done

t0=$(date +%s)
assert_exit 0 bash -c "cd '$T_TMP/dlt' && exec \"\${@}\"" _ "${T_CLEAN_ENV[@]}" DLT_DATA_DIR="$T_TMP/dlt/dlt-data" \
	"$PY" "$PG2MD_SRC/bench/peers/sql_database_pipeline.py" connectorx ||
	t_bail "the guide's dlt pipeline failed"
echo "# dlt pipeline: $(($(date +%s) - t0)) s"
assert_exit 0 "${T_CLEAN_ENV[@]}" "$PG2MD_BIN" run --project-dir "$T_TMP/pg2md" || t_bail "pg2md run failed"
DLT=$T_TMP/dlt/pg2md.duckdb
PGM=$T_TMP/pg2md/pg2md.duckdb

# --- the comparison -----------------------------------------------------------------------
cols() { # FILE — table|column|type, in column order
	ddbq "$1" "SELECT table_name || '|' || column_name || '|' || data_type FROM information_schema.columns
		WHERE table_schema = 'pg2md_data' ORDER BY table_name, ordinal_position"
}
cols "$DLT" >"$T_TMP/dlt.cols"
cols "$PGM" >"$T_TMP/pg2md.cols"
tables() { ddbq "$1" "SELECT table_name FROM information_schema.tables WHERE table_schema = 'pg2md_data' ORDER BY 1"; }
assert_eq "$(tables "$DLT")" "$(tables "$PGM")" "the same tables in dataset pg2md_data (the 25 copied and dlt's three)"
assert_eq "$(cut -d'|' -f1,2 "$T_TMP/dlt.cols")" "$(cut -d'|' -f1,2 "$T_TMP/pg2md.cols")" \
	"the same column names in the same order in every table"

for t in _dlt_loads _dlt_version _dlt_pipeline_state; do
	assert_eq "$(grep "^$t|" "$T_TMP/dlt.cols")" "$(grep "^$t|" "$T_TMP/pg2md.cols")" \
		"$t has dlt's columns and types"
done

# Every data column: equal types, or one of ALLOWED for its source type.
pgq "SELECT c.relname || '|' || a.attname || '|' || format_type(a.atttypid, a.atttypmod)
	FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'my_pg' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped" >"$T_TMP/pg.cols"
allowed() { # SRC DLT PG2MD
	local s d p
	while IFS='|' read -r s d p; do
		# shellcheck disable=SC2053 # the DuckDB types are patterns on purpose
		[[ $1 == "$s" ]] && [[ $2 == $d ]] && [[ $3 == $p ]] && return 0
	done <<<"$ALLOWED"
	return 1
}
bad=()
same=0
deliberate=0
declare -A seen_diff
while IFS='|' read -r t c dt; do
	[[ $t == _dlt_* ]] && continue
	pt=$(grep -m1 "^$t|$c|" "$T_TMP/pg2md.cols" | cut -d'|' -f3)
	src=$(grep -m1 "^$t|$c|" "$T_TMP/pg.cols" | cut -d'|' -f3)
	if [ "$dt" = "$pt" ]; then
		same=$((same + 1))
	elif allowed "$src" "$dt" "$pt"; then
		deliberate=$((deliberate + 1))
		seen_diff["$src: dlt $dt, pg2md $pt"]=1
	else
		bad+=("$t.$c ($src): dlt $dt, pg2md ${pt:-(missing)}")
	fi
done <"$T_TMP/dlt.cols"
if [ ${#bad[@]} -eq 0 ]; then
	t_pass "every column has dlt's DuckDB type or a listed deliberate difference ($same equal, $deliberate deliberate)"
else
	t_fail "columns whose type differs from dlt's and is not a listed deliberate difference" "${bad[@]}"
fi
for k in "${!seen_diff[@]}"; do t_diag "deliberate: $k"; done

# The rows are the same too (dlt's connectorx path keeps char(n) pad blanks: compare trimmed).
n_dlt=$(ddbq "$DLT" "SELECT sum(c) FROM (SELECT count(*) c FROM pg2md_data.store_sales UNION ALL SELECT count(*) FROM pg2md_data.more_types)")
n_pgm=$(ddbq "$PGM" "SELECT sum(c) FROM (SELECT count(*) c FROM pg2md_data.store_sales UNION ALL SELECT count(*) FROM pg2md_data.more_types)")
assert_eq "$n_dlt" "$n_pgm" "store_sales and more_types hold as many rows in both files"
echo "# total $(($(date +%s) - started)) s"
t_done

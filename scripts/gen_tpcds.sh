#!/usr/bin/env bash
# gen_tpcds.sh SCALE — generate pg2md's TPC-DS-shaped sample data set into schema my_pg.
#
# Connects with psql using the PG* environment variables already set (PGHOST, PGPORT, PGUSER,
# PGDATABASE, …).  Drops and recreates schema my_pg with the 24 tables of the guide's config
# (TPC-DS column names, types and primary keys) and fills them deterministically: the same
# SCALE always yields the same rows.  The SQL is in scripts/gen_tpcds.sql (our own generator
# built on generate_series; not dsdgen).
#
# SCALE is a positive number; SCALE=1 is about TPC-DS scale factor 1 (~19.5 M rows: inventory
# 11.7 M, store_sales 2.88 M, customer_demographics 1.92 M, catalog_sales 1.44 M, …).  Fixed
# dimensions (date_dim, time_dim, household_demographics, income_band, reason, ship_mode, store,
# call_center, warehouse, web_site, web_page, promotion, catalog_page) keep their TPC-DS size at
# every SCALE; customer_demographics scales down below 1 and stays at its full 1,920,800-row
# cross product above 1.  SCALE=0.01 (~0.37 M rows) takes a few seconds.
#
# Loading runs GEN_JOBS psql sessions at once (default: nproc); primary keys are built after
# loading, then each table gets VACUUM (FREEZE, ANALYZE).
set -euo pipefail

scale=${1:?usage: gen_tpcds.sh SCALE   (e.g. 0.01 or 1; uses the PG* environment variables)}
if ! awk -v s="$scale" 'BEGIN { exit !(s ~ /^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ && s + 0 > 0) }'; then
	echo "gen_tpcds.sh: SCALE must be a positive number, got \"$scale\"" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
sql=$here/gen_tpcds.sql
jobs=${GEN_JOBS:-$(nproc)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1

# Row counts: n(base) = max(minimum, round(base * SCALE)).
read -r n_cust n_addr n_cdemo n_item n_ss n_cs n_ws < <(awk -v s="$scale" '
	function n(base, lo,   v) { v = int(base * s + 0.5); return v < lo ? lo : v }
	BEGIN {
		cd = n(1920800, 1); if (cd > 1920800) cd = 1920800
		print n(100000, 1), n(50000, 1), cd, n(18000, 2), n(2880404, 1), n(1441548, 1), n(719384, 1)
	}')
n_inv_item=$(((n_item + 1) / 2))
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }
l_ss=$(min 12 "$n_item")
l_cs=$(min 10 "$n_item")
l_ws=$(min 8 "$n_item")

export GEN_SQL=$sql
export GEN_VARS="-v n_cust=$n_cust -v n_addr=$n_addr -v n_cdemo=$n_cdemo -v n_item=$n_item -v n_inv_item=$n_inv_item -v n_ss=$n_ss -v n_cs=$n_cs -v n_ws=$n_ws -v l_ss=$l_ss -v l_cs=$l_cs -v l_ws=$l_ws"

# run_part LABEL PSQL-ARGS… — one psql session running one part of gen_tpcds.sql.
run_part() {
	local label=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	if ! psql -X -q -v ON_ERROR_STOP=1 $GEN_VARS "$@" -f "$GEN_SQL"; then
		echo "gen_tpcds.sh: part $label failed" >&2
		return 255 # makes xargs stop at once
	fi
	t1=$(date +%s.%N)
	awk -v l="$label" -v a="$t0" -v b="$t1" 'BEGIN { printf "  %-28s %7.1f s\n", l, b - a }'
}
export -f run_part

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

t_start=$(now)
echo "gen_tpcds: SCALE=$scale into $PGDATABASE on ${PGHOST:-localhost}:${PGPORT:-5432}, $jobs sessions at once"

run_part schema -v part_schema=1 >/dev/null

# Loading: the big tables first.  inventory is split into week ranges so it spreads over the
# sessions; returns are derived from sales, so each channel's pair runs in one session.
t_load=$(now)
{
	per=$(((261 + jobs - 1) / jobs))
	for ((w = 0; w < 261; w += per)); do
		hi=$((w + per - 1)); [ "$hi" -gt 260 ] && hi=260
		echo "inventory[$w-$hi] -v part_inventory=1 -v inv_from=$w -v inv_to=$hi"
	done
	echo "store_sales+returns -v part_store=1"
	echo "catalog_sales+returns -v part_catalog=1"
	echo "customer_demographics -v part_cdemo=1"
	echo "web_sales+returns -v part_web=1"
	echo "dimensions -v part_dims=1"
	echo "customer+address -v part_customer=1"
} | xargs -P "$jobs" -L 1 bash -c 'run_part "$@"' run_part
echo "  loaded in $(since "$t_load") s"

t_fin=$(now)
printf '%s\n' inventory store_sales catalog_sales customer_demographics web_sales store_returns \
	catalog_returns web_returns customer time_dim date_dim customer_address catalog_page item \
	household_demographics promotion web_page web_site reason ship_mode income_band store \
	call_center warehouse |
	xargs -P "$jobs" -I{} bash -c 'run_part "pk+vacuum {}" -v part_finish=1 -v table={} >/dev/null'
echo "  primary keys, VACUUM (FREEZE, ANALYZE) in $(since "$t_fin") s"
run_part cleanup -v part_cleanup=1 >/dev/null

echo "gen_tpcds: done in $(since "$t_start") s"
# Exact row counts (reltuples after VACUUM (ANALYZE) is ANALYZE's estimate).
q=$(psql -X -q -At -c "SELECT string_agg(format('SELECT %L AS t, count(*) AS n, pg_total_relation_size(%L) AS b FROM my_pg.%I',
		c.relname, 'my_pg.' || c.relname, c.relname), ' UNION ALL ')
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'my_pg' AND c.relkind = 'r'")
psql -X -q -At -F ' ' -c "WITH c AS ($q)
	SELECT t, n, pg_size_pretty(b) FROM c
	UNION ALL SELECT 'TOTAL', sum(n), pg_size_pretty(sum(b)) FROM c ORDER BY 2, 1" |
	awk '{ printf "  %-24s %12s  %s %s\n", $1, $2, $3, $4 }'

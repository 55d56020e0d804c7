#!/usr/bin/env bash
# demo.sh BUILD — the guide's pipeline end to end on sample data, into a local DuckDB file.
#
# Starts a throwaway PostgreSQL cluster (stopped at exit, whatever happens), generates the
# TPC-DS-shaped sample data set into schema my_pg (scripts/gen_tpcds.sh, SCALE=$DEMO_SCALE,
# default 0.01), writes the project folder demo/ (ignored by git) with the guide's
# .dlt/config.toml verbatim and its .dlt/secrets.toml filled in with the cluster's credentials
# (MotherDuck token left out, so the local DuckDB file demo/pg2md.duckdb is the destination),
# runs `BUILD/pg2md run --project-dir demo`, then shows how to look at the result.
# Exits non-zero when the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
scale=${DEMO_SCALE:-0.01}
pg2md=$build/pg2md
demo=$root/demo

[ -x "$pg2md" ] || { echo "demo: $pg2md not found — build first (make build)" >&2; exit 2; }

cluster=$(mktemp -d /tmp/pg2md-demo.XXXXXX)
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() { "$root/tests/lib/cluster.sh" stop "$cluster" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== starting a throwaway PostgreSQL cluster"
tests/lib/cluster.sh start "$cluster" >/dev/null
# shellcheck disable=SC1091
. "$cluster/env"
echo "   $(psql -X -At -c 'SHOW server_version') on 127.0.0.1:$PGPORT, database $PGDATABASE"

echo "== generating sample data (TPC-DS shaped, SCALE=$scale) into schema my_pg"
scripts/gen_tpcds.sh "$scale" | grep -E '^gen_tpcds|TOTAL' | sed 's/^ */   /'

echo "== writing the project folder demo/"
rm -rf "$demo"
mkdir -p "$demo/.dlt"
# The guide's .dlt/config.toml, all its sections, as it prints them.
cat >"$demo/.dlt/config.toml" <<'TOML'
[runtime]
log_level = "WARNING"  # Options: "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"
dlthub_telemetry = true

[sources.sql_database]
schema = "my_pg"

# List of tables to replicate
tables = [
    # Customer-related tables
    "customer",
    "customer_address",
    "customer_demographics",
    "household_demographics",
    "income_band",

    # Time-related tables
    "date_dim",
    "time_dim",

    # Product-related tables
    "item",
    "inventory",
    "warehouse",

    # Sales and returns tables
    "store_sales",
    "store_returns",
    "catalog_sales",
    "catalog_returns",
    "web_sales",
    "web_returns",

    # Store and catalog tables
    "store",
    "call_center",
    "catalog_page",

    # Web-related tables
    "web_page",
    "web_site",

    # Other dimension tables
    "promotion",
    "reason",
    "ship_mode"
]

# Number of parallel workers for data extraction
workers = 6

[postgres]
# Should match the number of workers for optimal performance
pool_size = 6

[data_writer]
# Parquet provides good compression and performance
format = "parquet"

[destination.motherduck]
# Number of rows per batch - larger sizes improve performance
batch_size = 1000000

# Extract stage configuration
[extract]
workers = 8

# Normalize stage configuration (data transformation)
[normalize]
workers = 4

# Load stage configuration (loading to MotherDuck)
[load]
workers = 4
TOML
# The guide's .dlt/secrets.toml with this cluster's values; no MotherDuck token, so pg2md
# writes the local DuckDB file demo/pg2md.duckdb.
(
	umask 077
	cat >"$demo/.dlt/secrets.toml" <<TOML
# PostgreSQL credentials
[sources.sql_database.credentials]
drivername = "postgresql"
database = "$PGDATABASE"
host = "127.0.0.1"
password = "$PG2MD_TEST_PASSWORD"
port = $PGPORT
username = "$PGUSER"

# MotherDuck credentials
# (left out for the demo: without a token pg2md writes the local file pg2md.duckdb;
#  uncomment and set a token to load into MotherDuck instead)
# [destination.motherduck.credentials]
# token = "your_motherduck_token"
TOML
)
chmod 600 "$demo/.dlt/secrets.toml"
echo "   demo/.dlt/config.toml   (the guide's, unchanged)"
echo "   demo/.dlt/secrets.toml  (mode 600; host 127.0.0.1, port $PGPORT, database $PGDATABASE, user $PGUSER)"

echo "== running: $pg2md run --project-dir demo"
# Only the project folder configures the run: no PG* variables, no MotherDuck token from the
# caller's environment.
rc=0
env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD -u PGSERVICE \
	-u MOTHERDUCK_TOKEN -u motherduck_token -u DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN \
	"$pg2md" run --project-dir "$demo" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "demo: pg2md run failed (exit $rc)" >&2
	exit "$rc"
fi
[ -f "$demo/pg2md.duckdb" ] || { echo "demo: pg2md run succeeded but demo/pg2md.duckdb is missing" >&2; exit 1; }

echo "== the result: demo/pg2md.duckdb, schema pg2md_data"
ddbq=$build/ddbq
q1="SELECT table_name, estimated_size AS rows FROM duckdb_tables() WHERE schema_name = 'pg2md_data' ORDER BY table_name"
q2="SELECT ss_ticket_number, ss_item_sk, ss_quantity, ss_sales_price, ss_net_paid FROM pg2md_data.store_sales ORDER BY ss_ticket_number, ss_item_sk LIMIT 5"
if [ -x "$ddbq" ]; then
	echo "   \$ $ddbq demo/pg2md.duckdb \"$q2\""
	"$ddbq" "$demo/pg2md.duckdb" "$q2" | sed 's/^/   /'
	echo "   tables:"
	"$ddbq" "$demo/pg2md.duckdb" "$q1" | awk -F '\t' '{ printf "     %-24s %10s rows\n", $1, $2 }'
	echo
	echo "Look around yourself with:"
	echo "   $ddbq demo/pg2md.duckdb \"SELECT count(*) FROM pg2md_data.store_sales\""
	echo "   $ddbq demo/pg2md.duckdb \"FROM pg2md_data._dlt_loads\""
else
	echo "   (no $ddbq; build it with make build)"
fi
echo "or with any DuckDB client (1.4 or later):  duckdb demo/pg2md.duckdb -c \"FROM pg2md_data.store_sales LIMIT 5\""
echo "(the throwaway PostgreSQL cluster is stopped as this script exits; demo/ keeps the DuckDB file and the staged load packages)"

#!/usr/bin/env bash
# bench_cdc.sh BUILD [SCALE] — the change-data-capture part of pg2md's benchmark (`pg2md follow`,
# docs/cdc.md); results in bench/RESULTS-cdc.md.  `make bench` runs it after scripts/bench.sh;
# `make bench-cdc` runs it alone.
#
# Starts its own throwaway PostgreSQL cluster (wal_level = logical; stopped at exit, whatever
# happens), loads pgbench's tables at pgbench scale SCALE (default 20: 2 M rows in
# pgbench_accounts; pgbench_history gets a bigserial primary key, since pg2md follow needs a key),
# lets `pg2md follow --once` make the initial copy, creates a second slot on the same publication
# for the source limit, then, back to back:
#   A. bulk UPDATE: one UPDATE of a quarter of pgbench_accounts, then one of all of it (one
#      transaction each).  Each is read twice from its slot: by pg_recvlogical to /dev/null
#      (pgoutput, the same options pg2md asks for: protocol 2, binary, streaming) — the source limit — and
#      applied by `pg2md follow --endpos`, both up to the same position (stop_at).  Changes/s of each and pg2md's share of the limit; peak
#      RSS of both sizes (memory should not grow with the transaction).
#   B. backlog of small transactions: pgbench's tpcb-like script at full speed for
#      BENCH_CDC_SECONDS (default 20) while nothing follows, then the same two readers catch up.
#   C. live: `pg2md follow` runs while pgbench commits BENCH_CDC_RATE transactions/s (default
#      1,000; -R, 4 clients) for BENCH_CDC_SECONDS, then for twice as long; freshness (each
#      transaction's PostgreSQL commit to the DuckDB commit that made it visible: p50, p99,
#      max, as pg2md follow reports it) and peak RSS of both runs (flat = memory does not grow
#      with the workload's length).
# After each step the destination is checked against the source (row count and sums of every
# balance column and of pgbench_history.delta); a difference fails the bench (exit 1, after
# RESULTS-cdc.md is written).  Each step runs under bench/peers/treemon.py (wall seconds, peak RSS
# of the process tree, CPU seconds, busy core-seconds of the whole machine).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-build}
scale=${2:-20}
case $build in /*) ;; *) build=$root/$build ;; esac
rate=${BENCH_CDC_RATE:-1000}
secs=${BENCH_CDC_SECONDS:-20}
pg2md=$build/pg2md
ddbq=$build/ddbq
work=$root/bench/work/cdc
results=$root/bench/RESULTS-cdc.md
treemon=(python3 "$root/bench/peers/treemon.py")

[ -x "$pg2md" ] || { echo "bench_cdc: $pg2md not found — build first (make build)" >&2; exit 2; }
[ -x "$ddbq" ] || { echo "bench_cdc: $ddbq not found — build first (make build)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench_cdc: python3 not found (it runs bench/peers/treemon.py)" >&2; exit 2; }
case $scale in '' | *[!0-9]*) echo "bench_cdc: SCALE is pgbench's scale factor, a whole number (got \"$scale\")" >&2; exit 2 ;; esac

rm -rf "$work"
mkdir -p "$work"
cluster=$(mktemp -d /tmp/pg2md-bench-cdc.XXXXXX)
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	[ -n "${follow_pid:-}" ] && kill -TERM "$follow_pid" 2>/dev/null
	"$root/tests/lib/cluster.sh" stop "$cluster" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
now() { date +%s.%N; }

echo "== bench_cdc: pgbench scale $scale, $(nproc) CPUs"
tests/lib/cluster.sh start "$cluster" >/dev/null
# shellcheck disable=SC1091
. "$cluster/env"
bindir=$PG2MD_TEST_BINDIR
pgver=$(psql -X -At -c 'SHOW server_version')
PG2MD_TREEMON_PGPID=$(head -n 1 "$cluster/data/postmaster.pid")
export PG2MD_TREEMON_PGPID
# From here on everything talks TCP with a password, as pg2md does.
export PGHOST=127.0.0.1 PGPASSWORD=$PG2MD_TEST_PASSWORD
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }

echo "== pgbench -i -s $scale"
"$bindir/pgbench" -i -q -s "$scale" >"$work/init.log" 2>&1
q "ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY" >/dev/null
q "CREATE TABLE bench_marker (id int PRIMARY KEY, n int); INSERT INTO bench_marker VALUES (1, 0)" >/dev/null
accounts=$(q "SELECT count(*) FROM pgbench_accounts")

P=$work/project
mkdir -p "$P/.dlt"
cat >"$P/.dlt/config.toml" <<TOML
pipeline_name = "bench_cdc"
dataset_name = "pgbench"

[runtime]
log_level = "INFO"

[sources.sql_database]
schema = "public"
tables = ["pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history", "bench_marker"]

[sources.pg_replication]
slot_name = "bench_cdc_slot"
pub_name = "bench_cdc_pub"

[extract]
workers = $(nproc)
TOML
(
	umask 077
	cat >"$P/.dlt/secrets.toml" <<TOML
[sources.sql_database.credentials]
drivername = "postgresql"
database = "$PGDATABASE"
host = "127.0.0.1"
port = $PGPORT
username = "$PGUSER"
password = "$PG2MD_TEST_PASSWORD"
TOML
)
DB=$P/bench_cdc.duckdb
clean_env=(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD)

declare -A SEC RSS BUSY CCPU SRV RC
# measure KEY CMD… — run CMD under treemon.py; its output in $work/KEY.log
measure() {
	local key=$1
	shift
	RC[$key]=0
	"${treemon[@]}" "$work/$key.mon" -- "$@" >"$work/$key.log" 2>&1 || RC[$key]=$?
	SEC[$key]=$(awk '$1 == "seconds" { printf "%.2f", $2 }' "$work/$key.mon")
	RSS[$key]=$(awk '$1 == "tree_rss_kb" { printf "%.0f", $2 / 1024 }' "$work/$key.mon")
	BUSY[$key]=$(awk '$1 == "machine_busy_s" { printf "%.1f", $2 }' "$work/$key.mon")
	CCPU[$key]=$(awk '$1 == "client_cpu_s" { printf "%.1f", $2 }' "$work/$key.mon")
	SRV[$key]=$(awk '$1 == "server_cpu_s" { printf "%.1f", $2 }' "$work/$key.mon")
	if [ "${RC[$key]}" -ne 0 ]; then
		echo "   $key FAILED (exit ${RC[$key]}); last lines of bench/work/cdc/$key.log:"
		tail -n 5 "$work/$key.log" | sed 's/^/     /'
	else
		echo "   $key: ${SEC[$key]} s, peak RSS ${RSS[$key]} MB, ${BUSY[$key]} core-s machine-wide"
	fi
}

# The checks: the same figures from both sides.
source_sums() {
	q "SELECT (SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts) || ' ' ||
	          (SELECT count(*) || ' ' || sum(bbalance) FROM pgbench_branches) || ' ' ||
	          (SELECT count(*) || ' ' || sum(tbalance) FROM pgbench_tellers) || ' ' ||
	          (SELECT count(*) || ' ' || coalesce(sum(delta), 0) || ' ' || coalesce(sum(aid), 0) FROM pgbench_history)"
}
dest_sums() {
	"$ddbq" "$DB" "SELECT (SELECT count(*) || ' ' || sum(abalance) FROM pgbench.pgbench_accounts) || ' ' ||
	          (SELECT count(*) || ' ' || sum(bbalance) FROM pgbench.pgbench_branches) || ' ' ||
	          (SELECT count(*) || ' ' || sum(tbalance) FROM pgbench.pgbench_tellers) || ' ' ||
	          (SELECT count(*) || ' ' || coalesce(sum(delta), 0) || ' ' || coalesce(sum(aid), 0) FROM pgbench.pgbench_history)"
}
failed=0
declare -A CHECK
check() { # KEY
	local s d
	s=$(source_sums)
	d=$(dest_sums 2>&1) || true
	if [ "$s" = "$d" ]; then
		CHECK[$1]="equal"
	else
		CHECK[$1]="DIFFERENT (source $s; destination $d)"
		failed=1
	fi
	echo "   check after $1: ${CHECK[$1]}"
}

lsn_now() { q "SELECT pg_current_wal_insert_lsn()"; }
# stop_at — the position both readers stop at: the WAL insert position now, then a marker
# transaction on a followed table.  pg_recvlogical -E stops at the marker's first message and
# pg2md follow --endpos at its Begin, each as soon as it reads it (without it, a reader of a
# quiet server waits for a keepalive to learn it passed the position).  The marker is applied
# by the next step.
stop_at() { lsn_now; q "UPDATE bench_marker SET n = n + 1" >/dev/null; }
# recv KEY ENDPOS — the source limit: pg_recvlogical reads the second slot up to ENDPOS into /dev/null
recv() {
	measure "$1" "$bindir/pg_recvlogical" -d "dbname=$PGDATABASE host=127.0.0.1 port=$PGPORT user=$PGUSER" \
		-S bench_recv --start --no-loop -E "$2" -o proto_version=2 -o publication_names=bench_cdc_pub \
		-o binary=true -o streaming=on -f /dev/null
}
# changes KEY — how many changes pg2md applied, from its report line
changes() { sed -n 's/.*applied [0-9]* transactions\{0,1\} (\([0-9]*\) changes.*/\1/p' "$work/$1.log" | tail -n 1; }
freshness() { sed -n 's/.*freshness (PostgreSQL commit to DuckDB commit) of \([0-9]*\) transactions\{0,1\}: p50 \([0-9]*\) ms, p99 \([0-9]*\) ms, max \([0-9]*\) ms.*/\1 \2 \3 \4/p' "$work/$1.log" | tail -n 1; }

echo "== initial copy (pg2md follow --once: slot, snapshot, copy)"
measure initial "${clean_env[@]}" "$pg2md" follow --once --project-dir "$P"
[ "${RC[initial]}" -eq 0 ] || exit 1
check initial
"$bindir/pg_recvlogical" -d "dbname=$PGDATABASE host=127.0.0.1 port=$PGPORT user=$PGUSER" \
	-S bench_recv --create-slot -P pgoutput >/dev/null

# --- A. bulk UPDATE ----------------------------------------------------------------------------
bulk() { # KEY FRACTION_DIVISOR
	local key=$1 div=$2 rows end
	rows=$(q "WITH u AS (UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % $div = 0 RETURNING 1) SELECT count(*) FROM u")
	end=$(stop_at)
	echo "== A. bulk UPDATE of $rows rows in one transaction"
	recv "${key}_recv" "$end"
	measure "${key}_pg2md" "${clean_env[@]}" "$pg2md" follow --endpos "$end" --project-dir "$P"
	check "${key}_pg2md"
	eval "ROWS_$key=$rows"
}
bulk bulk1 4
bulk bulk2 1

# --- B. backlog of small transactions ----------------------------------------------------------
echo "== B. backlog: pgbench tpcb-like at full speed for $secs s, nothing following"
"$bindir/pgbench" -n -c 4 -j 2 -T "$secs" -b tpcb-like >"$work/backlog_pgbench.log" 2>&1
backlog_tps=$(sed -n "s/^tps = \([0-9]*\).*/\1/p" "$work/backlog_pgbench.log" | head -n 1)
backlog_tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/backlog_pgbench.log")
end=$(stop_at)
recv backlog_recv "$end"
measure backlog_pg2md "${clean_env[@]}" "$pg2md" follow --endpos "$end" --project-dir "$P"
check backlog_pg2md

# --- C. live -----------------------------------------------------------------------------------
live() { # KEY SECONDS
	local key=$1 s=$2 want c
	echo "== C. live: pg2md follow while pgbench commits $rate transactions/s for $s s"
	# untimed: apply what waits (stop_at's marker), so that freshness counts only the live run
	"${clean_env[@]}" "$pg2md" follow --once --project-dir "$P" >"$work/${key}_before.log" 2>&1
	"${treemon[@]}" "$work/$key.mon" -- "${clean_env[@]}" "$pg2md" follow --project-dir "$P" >"$work/$key.log" 2>&1 &
	follow_pid=$!
	sleep 3 # connected and streaming
	"$bindir/pgbench" -n -c 4 -j 2 -R "$rate" -T "$s" -b tpcb-like >"$work/${key}_pgbench.log" 2>&1
	want=$(lsn_now)
	for _ in $(seq 1 1200); do # until the slot's flush position (moved after the DuckDB commit) passes it
		c=$(q "SELECT confirmed_flush_lsn >= '$want' FROM pg_replication_slots WHERE slot_name = 'bench_cdc_slot'")
		[ "$c" = t ] && break
		sleep 0.1
	done
	# treemon passes no signal on: stop its child, pg2md follow
	pkill -TERM -P "$follow_pid" 2>/dev/null || true
	RC[$key]=0
	wait "$follow_pid" || RC[$key]=$?
	follow_pid=""
	RSS[$key]=$(awk '$1 == "tree_rss_kb" { printf "%.0f", $2 / 1024 }' "$work/$key.mon")
	eval "TPS_$key=$(sed -n 's/^tps = \([0-9]*\).*/\1/p' "$work/${key}_pgbench.log" | head -n 1)"
	eval "FRESH_$key=\"$(freshness "$key")\""
	echo "   $key: exit ${RC[$key]}, peak RSS ${RSS[$key]} MB, freshness (n p50 p99 max ms): $(freshness "$key")"
	check "$key"
}
live live1 "$secs"
live live2 $((secs * 2))
"$bindir/pg_recvlogical" -d "dbname=$PGDATABASE host=127.0.0.1 port=$PGPORT user=$PGUSER" -S bench_recv --drop-slot

# --- RESULTS-cdc.md --------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
persec() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else printf "-" }'; }
row() { # LABEL RECV_KEY PG2MD_KEY CHANGES
	local c=$4
	printf '| %s | %s | %s s | %s | %s s | %s | **%s** | %s MB | %s | %s |\n' "$1" "$c" "${SEC[$2]}" "$(persec "$c" "${SEC[$2]}")" \
		"${SEC[$3]}" "$(persec "$c" "${SEC[$3]}")" "$(ratio "${SEC[$2]}" "${SEC[$3]}")" "${RSS[$3]}" "${BUSY[$3]}" "${CHECK[$3]}"
}
# shellcheck disable=SC2154 # ROWS_*, TPS_*, FRESH_* are set through eval
{
	echo "# pg2md follow: change data capture benchmark"
	echo
	echo "Written by \`scripts/bench_cdc.sh\` ($(date -u +%Y-%m-%d), \`make bench\` or \`make bench-cdc\`) on this"
	echo "machine: $(nproc) CPUs, PostgreSQL $pgver (its throwaway cluster: fsync off), pg2md $("$pg2md" --version | head -n 1 | awk '{ print $2 }'),"
	echo "pgbench scale $scale ($accounts rows in pgbench_accounts). The source limit is \`pg_recvlogical\`"
	echo "reading the same changes from a second slot on the same publication into /dev/null, with the"
	echo "options pg2md asks for (pgoutput protocol 2, binary, streaming); \"share\" is its time over pg2md's, i.e."
	echo "pg2md's apply rate as a fraction of the rate at which the server can send the changes (target"
	echo "for this machine: at least 0.5). Peak RSS is pg2md's process; core-seconds are the whole machine's"
	echo "(the server's decoding included). Every step is checked against the source (row counts and"
	echo "sums of every balance column and of pgbench_history); \`check\` says what was found."
	echo
	echo "| changes | count | pg_recvlogical | changes/s | pg2md follow --endpos | changes/s | share | pg2md peak RSS | core-s | check |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	row "A. one UPDATE of a quarter of pgbench_accounts" bulk1_recv bulk1_pg2md "$ROWS_bulk1"
	row "A. one UPDATE of all of pgbench_accounts" bulk2_recv bulk2_pg2md "$ROWS_bulk2"
	row "B. backlog: $backlog_tx pgbench transactions ($backlog_tps tps)" backlog_recv backlog_pg2md "$(changes backlog_pg2md)"
	echo
	echo "Live (C): \`pg2md follow\` running while pgbench's tpcb-like script commits at a fixed rate (-R $rate,"
	echo "4 clients). Freshness is each transaction's PostgreSQL commit timestamp to the DuckDB commit"
	echo "that made it visible, as \`pg2md follow\` reports it at the end (1 ms buckets). Target for this"
	echo "machine: p99 at most 2 s at 1,000 transactions/s, memory flat as the run grows longer."
	echo
	echo "| run | rate asked | pgbench achieved | transactions | freshness p50 | p99 | max | pg2md peak RSS | exit | check |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	for k in live1 live2; do
		eval "f=\$FRESH_$k; t=\$TPS_$k"
		read -r fn f50 f99 fmax <<<"${f:-- - - -}"
		d=$secs; [ $k = live2 ] && d=$((secs * 2))
		printf '| %s s | %s tps | %s tps | %s | %s ms | %s ms | %s ms | %s MB | %s | %s |\n' "$d" "$rate" "${t:-?}" "$fn" "$f50" "$f99" \
			"$fmax" "${RSS[$k]}" "${RC[$k]}" "${CHECK[$k]}"
	done
	echo
	echo "Initial copy (\`pg2md follow --once\` on an empty destination: publication, slot, the copy in"
	echo "its snapshot): ${SEC[initial]} s, peak RSS ${RSS[initial]} MB; check: ${CHECK[initial]}."
} >"$results"
echo "== wrote $results"
cat "$results"
exit $failed

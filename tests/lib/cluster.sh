#!/usr/bin/env bash
# cluster.sh — a throwaway PostgreSQL cluster for tests, the demo and the benchmark.
#
#   tests/lib/cluster.sh start DIR   initdb into DIR, start on a Unix socket in DIR and a free
#                                    loopback port; writes DIR/env (PGHOST, PGPORT, PGUSER, …)
#   tests/lib/cluster.sh stop DIR    stop it (immediate) and remove DIR
#
# Runs the server as the `postgres` user when invoked as root (initdb refuses root).  Local
# socket connections are trusted; TCP connections need the password of role "pg2md"
# (scram-sha-256), so wrong-password tests are real.
set -euo pipefail

cmd=${1:?usage: cluster.sh start|stop DIR}
dir=${2:?usage: cluster.sh start|stop DIR}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "cluster.sh: no PostgreSQL server found (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

case "$cmd" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	chmod 0755 "$dir"
	as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1
	port=$(free_port)
	cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_wal_size = 4GB
logging_collector = off
# logical replication (pg2md follow, tests/e2e/t66_follow.sh)
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
CONF
	cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
local replication all trust
host replication postgres 127.0.0.1/32 trust
host replication all 127.0.0.1/32 scram-sha-256
HBA
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
	as_pg psql -h "$dir" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE ROLE pg2md LOGIN SUPERUSER PASSWORD 'pg2md-test-secret';
CREATE DATABASE pg2md_test OWNER pg2md;
SQL
	cat >"$dir/env" <<ENV
export PGHOST=$dir
export PGPORT=$port
export PGUSER=pg2md
export PGDATABASE=pg2md_test
export PG2MD_TEST_CLUSTER=$dir
export PG2MD_TEST_PORT=$port
export PG2MD_TEST_PASSWORD=pg2md-test-secret
export PG2MD_TEST_BINDIR=$bindir
ENV
	chmod 0644 "$dir/env"
	echo "$dir"
	;;
stop)
	[ -d "$dir/data" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
restart)
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
	;;
*)
	echo "cluster.sh: unknown command $cmd" >&2; exit 2 ;;
esac

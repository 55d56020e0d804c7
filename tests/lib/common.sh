# common.sh — helpers for the end-to-end tests (tests/e2e/tNN_*.sh), sourced by each test:
#
#   . "$(dirname "$0")/../lib/common.sh"
#   t_init types                 # own database pg2md_t_types_<pid> and temp folder, cleaned up on exit
#   pg -c "CREATE TABLE …"       # psql on the test database (ON_ERROR_STOP)
#   pgq "SELECT count(*) FROM t" # one value, unaligned
#   make_project "$T_TMP/p" --tables "a b"
#   assert_exit 0 "$PG2MD_BIN" run --project-dir "$T_TMP/p"
#   assert_table_equal public a "$T_TMP/p/pg2md.duckdb" pg2md_data a
#   t_done                       # prints "N passed, N failed", exit status 1 on any failure
#
# Output is TAP-like: "ok N - what", "not ok N - what" followed by "#" diagnostic lines.
# Needs the environment of a cluster started by tests/lib/cluster.sh (PGHOST, PGPORT, PGUSER,
# PG2MD_TEST_PORT, PG2MD_TEST_PASSWORD) — scripts/test.sh provides it — plus PG2MD_BIN (the
# pg2md binary; default build/pg2md) and PG2MD_SRC (repository root; default derived from
# this file).  DDBQ defaults to build/ddbq next to PG2MD_BIN.
#
# Assertions never abort the test; t_bail does (after cleanup).  Setting T_TODO="reason"
# marks the following assertions as TAP TODO: they are reported, not counted as failures.
# PG2MD_KEEP_TMP=1 keeps the temp folder (its path is printed).

set -u -o pipefail

T_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG2MD_SRC=${PG2MD_SRC:-$(cd "$T_LIB/../.." && pwd)}
PG2MD_BIN=${PG2MD_BIN:-$PG2MD_SRC/build/pg2md}
DDBQ=${DDBQ:-$(dirname "$PG2MD_BIN")/ddbq}
[ -x "$DDBQ" ] || DDBQ=$PG2MD_SRC/build/ddbq
export PG2MD_SRC PG2MD_BIN DDBQ

# shellcheck source=compare.sh
. "$T_LIB/compare.sh"

T_N=0
T_PASS=0
T_FAIL=0
T_TODO_N=0
T_TODO=""
T_NAME=""
T_DB=""
T_TMP=""
T_RC=0
T_OUT=""
T_ERR=""
T_DB_CREATED=0

# --- reporting -----------------------------------------------------------------------------

t_diag() {
	local line
	while IFS= read -r line; do printf '# %s\n' "$line"; done <<<"$*"
}

t_pass() {
	T_N=$((T_N + 1))
	if [ -n "$T_TODO" ]; then
		T_TODO_N=$((T_TODO_N + 1))
		printf 'ok %d - %s # TODO %s\n' "$T_N" "$1" "$T_TODO"
	else
		T_PASS=$((T_PASS + 1))
		printf 'ok %d - %s\n' "$T_N" "$1"
	fi
}

# t_fail MSG [DIAGNOSTIC…]
t_fail() {
	T_N=$((T_N + 1))
	if [ -n "$T_TODO" ]; then
		T_TODO_N=$((T_TODO_N + 1))
		printf 'not ok %d - %s # TODO %s\n' "$T_N" "$1" "$T_TODO"
	else
		T_FAIL=$((T_FAIL + 1))
		printf 'not ok %d - %s\n' "$T_N" "$1"
	fi
	shift
	local d
	for d in "$@"; do t_diag "$d"; done
	return 0
}

t_done() {
	trap - EXIT
	t_cleanup
	local todo=""
	[ "$T_TODO_N" -gt 0 ] && todo=" ($T_TODO_N todo)"
	echo "1..$T_N"
	echo "$T_PASS passed, $T_FAIL failed$todo"
	if [ "$T_FAIL" -gt 0 ] || [ "$T_PASS" -eq 0 ]; then exit 1; fi
	exit 0
}

# t_bail MSG — stop the test now (counted as a failure)
t_bail() {
	T_TODO=""
	if [ -n "${2:-}" ]; then t_fail "$1" "$2"; else t_fail "$1"; fi
	echo "Bail out! $1"
	t_done
}

# --- setup and cleanup ---------------------------------------------------------------------

t_cleanup() {
	if [ "$T_DB_CREATED" = 1 ]; then
		psql -X -q -d "${PG2MD_ADMIN_DB:-postgres}" -c "DROP DATABASE IF EXISTS \"$T_DB\" WITH (FORCE)" >/dev/null 2>&1 ||
			echo "# warning: could not drop database $T_DB"
		T_DB_CREATED=0
	fi
	if [ -n "$T_TMP" ] && [ -d "$T_TMP" ]; then
		if [ -n "${PG2MD_KEEP_TMP:-}" ]; then
			echo "# kept $T_TMP"
		else
			rm -rf "$T_TMP"
		fi
		T_TMP=""
	fi
}

# t_init NAME — check the environment, create the test database and temp folder
t_init() {
	T_NAME=$1
	trap 't_cleanup' EXIT
	trap 't_cleanup; exit 130' INT TERM
	echo "# test $T_NAME ($(basename "$0"))"
	local v
	for v in PGHOST PGPORT PGUSER PG2MD_TEST_PORT PG2MD_TEST_PASSWORD; do
		[ -n "${!v:-}" ] || t_bail "environment variable $v is not set" \
			"run through 'make test', or start a cluster: tests/lib/cluster.sh start DIR; . DIR/env"
	done
	command -v psql >/dev/null || t_bail "psql not found on PATH"
	[ -x "$DDBQ" ] || t_bail "ddbq not found at $DDBQ" "build it: make build (tests/tools/ddbq.c)"
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pg2md-$T_NAME.XXXXXX") || t_bail "cannot create a temp folder"
	T_CLEAN_ENV[${#T_CLEAN_ENV[@]} - 1]="HOME=$T_TMP"
	T_OUT=$T_TMP/last.out
	T_ERR=$T_TMP/last.err
	T_DB="pg2md_t_${T_NAME//[^a-zA-Z0-9_]/_}_$$"
	T_DB=${T_DB,,}
	local i err
	for i in 1 2 3 4 5; do
		if err=$(psql -X -q -v ON_ERROR_STOP=1 -d "${PG2MD_ADMIN_DB:-postgres}" \
			-c "DROP DATABASE IF EXISTS \"$T_DB\" WITH (FORCE)" -c "CREATE DATABASE \"$T_DB\"" 2>&1); then
			T_DB_CREATED=1
			break
		fi
		sleep 1
	done
	[ "$T_DB_CREATED" = 1 ] || t_bail "cannot create database $T_DB" "$err"
	echo "# database $T_DB, temp folder $T_TMP"
}

# require_pg2md — bail out clearly when the pg2md binary is not there
require_pg2md() {
	[ -x "$PG2MD_BIN" ] || t_bail "pg2md binary not found at $PG2MD_BIN" "build it first: make build"
}

# --- PostgreSQL and DuckDB -----------------------------------------------------------------

# pg [psql args…] — psql on the test database, stops on the first error
pg() {
	psql -X -q -b -v ON_ERROR_STOP=1 -d "$T_DB" "$@"
}

# pgq SQL — the result of one query, unaligned, tuples only, fields separated by tabs
pgq() {
	psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 -d "$T_DB" -c "$1"
}

# wal_written — wait (10 s at most) until the WAL inserted so far is written: the test cluster
# commits asynchronously (synchronous_commit = off), so pg_current_wal_lsn(), against which a
# slot's lag is measured, may lag behind a commit for up to wal_writer_delay
wal_written() {
	local ins i
	ins=$(pgq "SELECT pg_current_wal_insert_lsn()")
	for i in $(seq 1 100); do
		[ "$(pgq "SELECT pg_current_wal_lsn() >= '$ins'::pg_lsn")" = t ] && return 0
		sleep 0.1
	done
	return 1
}

# ddbq FILE SQL… — query a DuckDB file (read-only unless --rw first)
ddbq() {
	"$DDBQ" "$@"
}

# --- project folders -----------------------------------------------------------------------

# make_project DIR [options] — write DIR/.dlt/config.toml and secrets.toml for the test database
#   --tables "a b c"   tables to copy (default: none written; --tables "" writes tables = [])
#   --schema S         source schema (default public)
#   --password P  --host H  --port N  --user U  --database D   credentials (default: the cluster)
#   --no-secrets       write no secrets.toml
#   --config TEXT      extra lines appended to config.toml
#   --secrets TEXT     extra lines appended to secrets.toml
make_project() {
	local dir=$1
	shift
	local tables="__unset__" schema=public host=127.0.0.1 port=$PG2MD_TEST_PORT user=pg2md
	local password=$PG2MD_TEST_PASSWORD database=$T_DB secrets=1 extra_config="" extra_secrets=""
	while [ $# -gt 0 ]; do
		case $1 in
		--tables) tables=$2; shift 2 ;;
		--schema) schema=$2; shift 2 ;;
		--password) password=$2; shift 2 ;;
		--host) host=$2; shift 2 ;;
		--port) port=$2; shift 2 ;;
		--user) user=$2; shift 2 ;;
		--database) database=$2; shift 2 ;;
		--no-secrets) secrets=0; shift ;;
		--config) extra_config=$2; shift 2 ;;
		--secrets) extra_secrets=$2; shift 2 ;;
		*) t_bail "make_project: unknown option $1" ;;
		esac
	done
	mkdir -p "$dir/.dlt"
	{
		echo "[runtime]"
		echo "log_level = \"WARNING\""
		echo "dlthub_telemetry = false"
		echo
		echo "[sources.sql_database]"
		echo "schema = \"$schema\""
		if [ "$tables" != "__unset__" ]; then
			local t list="" sep=""
			for t in $tables; do list+="$sep\"$t\""; sep=", "; done
			echo "tables = [$list]"
		fi
		[ -n "$extra_config" ] && printf '\n%s\n' "$extra_config"
	} >"$dir/.dlt/config.toml"
	rm -f "$dir/.dlt/secrets.toml"
	if [ "$secrets" = 1 ]; then
		{
			echo "[sources.sql_database.credentials]"
			echo "drivername = \"postgresql\""
			echo "database = \"$database\""
			echo "host = \"$host\""
			echo "password = \"$password\""
			echo "port = $port"
			echo "username = \"$user\""
			[ -n "$extra_secrets" ] && printf '\n%s\n' "$extra_secrets"
		} >"$dir/.dlt/secrets.toml"
		chmod 600 "$dir/.dlt/secrets.toml"
	fi
	return 0
}

# --- running commands ----------------------------------------------------------------------

# t_run CMD… — run a command, stdout to $T_OUT, stderr to $T_ERR, exit status in $T_RC
t_run() {
	T_RC=0
	"$@" >"$T_OUT" 2>"$T_ERR" || T_RC=$?
	return 0
}

# "${T_CLEAN_ENV[@]}" CMD… — run CMD with no PG* / dlt source variables and HOME in the temp
# folder (no ~/.pgpass): e.g. assert_exit 2 "${T_CLEAN_ENV[@]}" "$PG2MD_BIN" run …
T_CLEAN_ENV=(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD -u PGPASSFILE
	-u PGSERVICE -u PGSERVICEFILE -u PGHOSTADDR -u PGOPTIONS -u PGSSLMODE -u PGSYSCONFDIR
	-u SOURCES__SQL_DATABASE__CREDENTIALS -u SOURCES__SQL_DATABASE__CREDENTIALS__PASSWORD
	-u SOURCES__SQL_DATABASE__CREDENTIALS__USERNAME -u SOURCES__SQL_DATABASE__CREDENTIALS__HOST
	-u SOURCES__SQL_DATABASE__CREDENTIALS__DATABASE -u SOURCES__SQL_DATABASE__CREDENTIALS__PORT
	-u SOURCES__SQL_DATABASE__CREDENTIALS__DRIVERNAME HOME=/nonexistent)

# t_last — the captured output of the last t_run / assert_exit, for diagnostics
t_last() {
	echo "exit status: $T_RC"
	echo "--- stdout (first 40 lines):"
	head -n 40 "$T_OUT" 2>/dev/null
	echo "--- stderr (first 40 lines):"
	head -n 40 "$T_ERR" 2>/dev/null
}

# --- assertions ----------------------------------------------------------------------------

# assert_eq EXPECTED ACTUAL [MSG]
assert_eq() {
	local msg=${3:-"'$2' = '$1'"}
	if [ "$1" == "$2" ]; then
		t_pass "$msg"
	else
		t_fail "$msg" "expected: $1" "got:      $2"
		return 1
	fi
}

# assert_exit CODE CMD… — run CMD (as t_run), check its exit status; CODE may be a number,
# a list like 1,2, or "nonzero"
assert_exit() {
	local want=$1
	shift
	t_run "$@"
	local ok=0 c
	if [ "$want" = nonzero ]; then
		[ "$T_RC" -ne 0 ] && ok=1
	else
		for c in ${want//,/ }; do [ "$T_RC" -eq "$c" ] && ok=1; done
	fi
	local cmd="$*"
	cmd=${cmd//$PG2MD_BIN/pg2md}
	[ "${#cmd}" -gt 120 ] && cmd="${cmd:0:117}..."
	if [ $ok = 1 ]; then
		t_pass "exit $T_RC (want $want): $cmd"
	else
		t_fail "exit $T_RC (want $want): $cmd" "$(t_last)"
		return 1
	fi
}

# assert_contains HAYSTACK NEEDLE [MSG] — fixed string, case-sensitive
assert_contains() {
	local msg=${3:-"output contains '$2'"}
	if [[ "$1" == *"$2"* ]]; then
		t_pass "$msg"
	else
		t_fail "$msg" "looked for: $2" "in: $(head -c 3000 <<<"$1")"
		return 1
	fi
}

# assert_not_contains HAYSTACK NEEDLE [MSG] — the diagnostic never repeats NEEDLE itself
assert_not_contains() {
	local msg=${3:-"output does not contain the given string"}
	if [[ "$1" != *"$2"* ]]; then
		t_pass "$msg"
	else
		local shown=${1//$2/<FOUND>}
		t_fail "$msg" "found it (marked <FOUND>): $(head -c 3000 <<<"$shown")"
		return 1
	fi
}

# assert_match HAYSTACK ERE [MSG] — extended regular expression (grep -E -i), any line
assert_match() {
	local msg=${3:-"output matches /$2/"}
	if grep -E -i -q -- "$2" <<<"$1"; then
		t_pass "$msg"
	else
		t_fail "$msg" "pattern: $2" "in: $(head -c 3000 <<<"$1")"
		return 1
	fi
}

# assert_table_equal PGSCHEMA PGTABLE DUCKFILE DUCKSCHEMA DUCKTABLE [MSG] — compare.sh
assert_table_equal() {
	local msg=${6:-"$1.$2 equals $4.$5 value by value"}
	CMP_LAST_ROWS=""
	if compare_table "$T_DB" "$1" "$2" "$3" "$4" "$5" >"$T_TMP/compare.report" 2>&1; then
		t_pass "$msg ($CMP_LAST_ROWS rows)"
	else
		t_fail "$msg" "$(cat "$T_TMP/compare.report")"
		return 1
	fi
}

# trace_retries PROJECT — the retries of the last run's tables, summed (pg2md trace --json)
trace_retries() {
	"$PG2MD_BIN" trace --json --project-dir "$1" |
		python3 -c 'import json,sys; print(sum(t["retries"] for t in json.load(sys.stdin)["tables"]))'
}

# active_equal P TABLE MSG — scd2's active versions (valid-to NULL) of P's TABLE, without
# the validity and hash columns, equal the source table value by value
active_equal() {
	local copy=$T_TMP/active-$RANDOM.duckdb
	cp "$1/pg2md.duckdb" "$copy"
	ddbq --rw "$copy" "CREATE VIEW pg2md_data.$2_active AS SELECT * EXCLUDE (_dlt_id, _dlt_valid_from, _dlt_valid_to)
		FROM pg2md_data.$2 WHERE _dlt_valid_to IS NULL" >/dev/null
	assert_table_equal public "$2" "$copy" pg2md_data "$2_active" "$3"
	rm -f "$copy"
}

# assert_tables_differ PGSCHEMA PGTABLE DUCKFILE DUCKSCHEMA DUCKTABLE MSG — the comparator must
# report a difference (exit 1, not an error; for self-tests)
assert_tables_differ() {
	local rc=0
	compare_table "$T_DB" "$1" "$2" "$3" "$4" "$5" >"$T_TMP/compare.report" 2>&1 || rc=$?
	if [ $rc -eq 1 ]; then
		t_pass "$6"
		t_diag "$(cat "$T_TMP/compare.report")"
	elif [ $rc -eq 0 ]; then
		t_fail "$6" "compare_table found no difference"
		return 1
	else
		t_fail "$6" "compare_table could not compare:" "$(cat "$T_TMP/compare.report")"
		return 1
	fi
}

# duck_type FILE SCHEMA TABLE COLUMN — DuckDB's data_type of a column (information_schema)
duck_type() {
	ddbq "$1" "SELECT data_type FROM information_schema.columns WHERE table_schema = $(cmp_ql "$2")
		AND table_name = $(cmp_ql "$3") AND column_name = $(cmp_ql "$4")"
}

#!/usr/bin/env bash
# t20_errors.sh — error paths of `pg2md run` and their exit codes (DESIGN §1: 0 ok, 1 run
# failed, 2 usage or configuration error, 3 connection failed): wrong passwords (in
# secrets.toml, in the environment, in a connection string) give 3 and the password never
# appears in any output or file; a missing table names the table; broken TOML names the file and
# line; no credentials at all (exit 2; a host that does not answer stays 3), no tables to copy
# (no list and an empty schema), unknown commands and flags are clear errors.
. "$(dirname "$0")/../lib/common.sh"
t_init errors
require_pg2md

pg -c "CREATE TABLE present (id int PRIMARY KEY, v text)" -c "INSERT INTO present SELECT g, 'v' || g FROM generate_series(1, 100) g"

WRONG='Wr0ng-pa55-7f3c9e'
REAL=$PG2MD_TEST_PASSWORD
P=$T_TMP/p

stderr() { cat "$T_ERR"; }
alloutput() { cat "$T_OUT" "$T_ERR"; }

# no_leak SECRET WHAT — neither stdout nor stderr of the last run contains SECRET
no_leak() {
	assert_not_contains "$(alloutput)" "$1" "$2: the password appears nowhere in stdout or stderr"
}

# pg_style WHAT — the error line is in PostgreSQL's style: starts with pg2md, no full stop
pg_style() {
	local first
	first=$(grep -m1 -i 'error' "$T_ERR")
	assert_match "$first" '^pg2md' "$1: the error line starts with the program name"
	if [[ "$first" == *. ]]; then
		t_fail "$1: the error line has no full stop at the end" "$first"
	else
		t_pass "$1: the error line has no full stop at the end"
	fi
}

# --- wrong passwords: exit 3, never printed ------------------------------------------------

make_project "$P" --tables present --password "$WRONG"
assert_exit 3 "$PG2MD_BIN" run --project-dir "$P"
assert_match "$(stderr)" 'authentication|password' "wrong password: the message says authentication failed"
no_leak "$WRONG" "wrong password"
no_leak "$REAL" "wrong password (the real one)"
pg_style "wrong password"

assert_exit 3 "$PG2MD_BIN" run --project-dir "$P" --log-level DEBUG
no_leak "$WRONG" "wrong password at log level DEBUG"

make_project "$P" --tables present
assert_exit 3 env SOURCES__SQL_DATABASE__CREDENTIALS__PASSWORD="$WRONG" "$PG2MD_BIN" run --project-dir "$P"
no_leak "$WRONG" "wrong password from SOURCES__SQL_DATABASE__CREDENTIALS__PASSWORD"
no_leak "$REAL" "wrong password from the environment (the file's one)"

make_project "$P" --tables present --no-secrets
printf '[sources.sql_database]\ncredentials = "postgresql://pg2md:%s@127.0.0.1:%s/%s"\n' "$WRONG" "$PG2MD_TEST_PORT" "$T_DB" >"$P/.dlt/secrets.toml"
chmod 600 "$P/.dlt/secrets.toml"
assert_exit 3 "$PG2MD_BIN" run --project-dir "$P"
no_leak "$WRONG" "wrong password in a connection string"
assert_not_contains "$(alloutput)" "pg2md:$WRONG@" "wrong password in a connection string: the URL with its password is not printed"

SPECIAL='W"r0ng p@ss%41:/?\x'
make_project "$P" --tables present --password 'W\"r0ng p@ss%41:/?\\x'
assert_exit 3 "$PG2MD_BIN" run --project-dir "$P"
no_leak "$SPECIAL" "wrong password with quotes, spaces, @, % and a backslash"
no_leak 'p@ss%41' "wrong password with special characters (a fragment of it)"

# a password with special characters that is right works
ROLE="t20_role_$$"
RPASS='p@ss w"rd%41:/?'
pg -c "CREATE ROLE $ROLE LOGIN PASSWORD \$pw\$$RPASS\$pw\$" -c "GRANT SELECT ON present TO $ROLE"
make_project "$P.role" --tables present --user "$ROLE" --password 'p@ss w\"rd%41:/?'
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P.role" --log-level DEBUG
no_leak "$RPASS" "right password with special characters at log level DEBUG"
if [ -f "$P.role/pg2md.duckdb" ]; then
	assert_table_equal public present "$P.role/pg2md.duckdb" pg2md_data present "a role with a special-character password copies the table"
	leaks=$(cd "$P.role" && grep -r -a -l -F -e "$RPASS" -e 'p@ss w' . 2>/dev/null | grep -v '^\./\.dlt/secrets\.toml$')
	assert_eq "" "$leaks" "after a successful run no file of the project folder except secrets.toml holds the password"
fi
pg -c "DROP OWNED BY $ROLE" -c "DROP ROLE $ROLE" >/dev/null 2>&1

# --- other connection failures: exit 3 --------------------------------------------------------

make_project "$P" --tables present --port 1
assert_exit 3 "$PG2MD_BIN" run --project-dir "$P"
assert_match "$(stderr)" 'connect' "nothing listening: the message says the connection failed"
no_leak "$REAL" "nothing listening"

make_project "$P" --tables present --database "no_such_db_$$"
assert_exit 3 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(stderr)" "no_such_db_$$" "unknown database: the message names it"

# --- missing table: exit 2 (a configuration error), names the table -----------------------------

make_project "$P" --tables "present no_such_table"
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(stderr)" "no_such_table" "missing table: the message names the table"
pg_style "missing table"

make_project "$P" --schema no_such_schema --tables present
assert_exit 1,2 "$PG2MD_BIN" run --project-dir "$P"
assert_match "$(stderr)" 'no_such_schema|present' "missing schema: the message names the schema or the table"

# --- broken TOML: exit 2, the file and the line are named ------------------------------------

make_project "$P" --tables present
printf '[sources.sql_database]\nschema = "public"\ntables = ["present"]\nworkers = = 4\n' >"$P/.dlt/config.toml"
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(stderr)" "config.toml" "broken config.toml: the message names the file"
assert_match "$(stderr)" '(line 4([^0-9]|$)|config\.toml"?:4([^0-9]|$))' "broken config.toml: the message names line 4"

make_project "$P" --tables present
sed -i 's/^password = "\(.*\)"$/password = "\1/' "$P/.dlt/secrets.toml"  # unterminated string, line 5
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(stderr)" "secrets.toml" "broken secrets.toml: the message names the file"
assert_match "$(stderr)" '(line 5([^0-9]|$)|secrets\.toml"?:5([^0-9]|$))' "broken secrets.toml: the message names line 5"
no_leak "$REAL" "broken secrets.toml on the password line"

# --- no credentials anywhere: exit 2 (configuration), a clear message; a wrong one stays 3 ------------

make_project "$P" --tables present --no-secrets
assert_exit 2 "${T_CLEAN_ENV[@]}" "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(stderr)" "no PostgreSQL credentials are configured" "no credentials: says so"
assert_match "$(stderr)" '^HINT:  .*\[sources\.sql_database\.credentials\].*secrets\.toml' "no credentials: the hint points at secrets.toml"
pg_style "no credentials"
assert_exit 2 "${T_CLEAN_ENV[@]}" "$PG2MD_BIN" check --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "FAILED  no PostgreSQL credentials are configured" "no credentials: pg2md check says so (exit 2)"
# libpq's variables count as credentials: then the connection is tried, and a failure is a 3
assert_exit 3 "${T_CLEAN_ENV[@]}" PGHOST=127.0.0.1 PGPORT=1 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(stderr)" "could not connect to PostgreSQL" "PGHOST set, nothing listening: a connection error"
# a host alone in secrets.toml is credentials too
printf '[sources.sql_database.credentials]\nhost = "127.0.0.1"\nport = 1\n' >"$P/.dlt/secrets.toml"
chmod 600 "$P/.dlt/secrets.toml"
assert_exit 3 "${T_CLEAN_ENV[@]}" "$PG2MD_BIN" run --project-dir "$P"

# --- tables list: empty or absent → every table of the schema (t87); a schema with nothing to
# copy → exit 2 --------------------------------------------------------------------------------

pg -c "CREATE SCHEMA empty_schema"
make_project "$P" --tables "" --schema empty_schema
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_match "$(stderr)" 'no tables configured, and schema "empty_schema" has no tables' "empty tables list, empty schema: the message says so"
assert_match "$(stderr)" 'HINT:.*tables' "empty tables list, empty schema: the hint names the tables key"

make_project "$P" --schema empty_schema
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_match "$(stderr)" 'has no tables' "absent tables list, empty schema: the message says so"

# --- usage errors: exit 2 ----------------------------------------------------------------------

assert_exit 2 "$PG2MD_BIN" no-such-command
assert_exit 2 "$PG2MD_BIN" run --no-such-flag
assert_exit 2 "$PG2MD_BIN" run --project-dir "$T_TMP/does/not/exist"

# nothing above created a destination table for the failed runs
if [ -f "$P/pg2md.duckdb" ]; then
	n=$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pg2md_data' AND table_name = 'present'" 2>/dev/null)
	assert_eq 0 "${n:-0}" "failed runs loaded nothing into the destination"
fi

t_done

#!/usr/bin/env bash
# t21_motherduck — with a MotherDuck token configured, pg2md targets md:<database> with the token
# passed as the motherduck_token setting.  This machine cannot reach MotherDuck, so the run must
# fail before any data moves with exit code 3, a message that says what to check, and the token
# nowhere: not in stdout, stderr, the trace, the pipeline folder or any file pg2md wrote.
. "$(dirname "$0")/../lib/common.sh"
t_init motherduck
require_pg2md
unset MOTHERDUCK_TOKEN motherduck_token DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN

TOKEN="md-test-token-$$-9f8e7d6c5b4a"
pg -c "CREATE TABLE t (id int primary key, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g;"

check_no_token() { # what
	assert_not_contains "$(cat "$T_OUT" "$T_ERR")" "$TOKEN" "$1: the token is not in the output"
	local hits
	hits=$(grep -rl -- "$TOKEN" "$2" 2>/dev/null | grep -v '/.dlt/secrets.toml$' || true)
	assert_eq "" "$hits" "$1: no file pg2md wrote holds the token"
}

# 1. token in secrets.toml, as the guide writes it
make_project "$T_TMP/a" --tables "t" --secrets "[destination.motherduck.credentials]
token = \"$TOKEN\""
assert_exit 3 "$PG2MD_BIN" run --project-dir "$T_TMP/a"
assert_contains "$(cat "$T_ERR")" "MotherDuck" "secrets token: the message names MotherDuck"
assert_contains "$(cat "$T_ERR")" "HINT:" "secrets token: a hint says what to check"
assert_contains "$(cat "$T_ERR")" "token" "secrets token: the hint mentions the token"
check_no_token "secrets token" "$T_TMP/a"
assert_eq "" "$(find "$T_TMP/a" -name '*.parquet' 2>/dev/null)" "secrets token: nothing was extracted before the destination was tried"

# 2. token in the environment, at DEBUG level
make_project "$T_TMP/b" --tables "t"
assert_exit 3 env MOTHERDUCK_TOKEN="$TOKEN" "$PG2MD_BIN" run --project-dir "$T_TMP/b" --log-level DEBUG
check_no_token "env token, DEBUG" "$T_TMP/b"

# 3. dlt's md: connection string form with the token inside, and another database name
make_project "$T_TMP/c" --tables "t" --secrets "[destination.motherduck]
credentials = \"md:analytics?motherduck_token=$TOKEN\""
assert_exit 3 "$PG2MD_BIN" run --project-dir "$T_TMP/c"
assert_contains "$(cat "$T_ERR")" "\"analytics\"" "md: string: the message names the database"
check_no_token "md: string" "$T_TMP/c"

# 4. the direct mode fails the same way
assert_exit 3 "$PG2MD_BIN" run --direct --project-dir "$T_TMP/a"
check_no_token "direct" "$T_TMP/a"

# 5. --destination duckdb overrides the token: the run works locally
assert_exit 0 "$PG2MD_BIN" run --destination duckdb --project-dir "$T_TMP/a"
assert_table_equal public t "$T_TMP/a/pg2md.duckdb" pg2md_data t "with --destination duckdb the data arrives locally"
check_no_token "local run" "$T_TMP/a"

t_done

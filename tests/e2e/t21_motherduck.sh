#!/usr/bin/env bash
# t21_motherduck — with a MotherDuck token configured, pg2md targets md:<database> with the token
# passed as the motherduck_token setting.  This machine cannot reach MotherDuck, so the run must
# fail before any data moves with exit code 3, a message that says what to check, and the token
# nowhere: not in stdout, stderr, the trace, the pipeline folder or any file pg2md wrote.  The
# token may come from secrets.toml, an md: string, MOTHERDUCK_TOKEN, or dlt's lower-case
# motherduck_token alone (without it the same md: project is refused with exit 2).
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

# 5. the offline install: [destination.motherduck] extension_path, a missing file and a file that is
#    not the extension are refused before any connection (exit 2), naming the file; the environment
#    variable of dlt's form overrides the file's setting
make_project "$T_TMP/e" --tables "t" --config "[destination.motherduck]
extension_path = \"ext/motherduck.duckdb_extension\"" --secrets "[destination.motherduck.credentials]
token = \"$TOKEN\""
assert_exit 2 "$PG2MD_BIN" run --project-dir "$T_TMP/e"
assert_contains "$(cat "$T_ERR")" "could not read the motherduck extension \"$T_TMP/e/ext/motherduck.duckdb_extension\"" \
	"missing extension: the message names the file (relative to the project)"
assert_contains "$(cat "$T_ERR")" "No such file" "missing extension: the reason"
assert_contains "$(cat "$T_ERR")" "extension_path" "missing extension: the hint names the setting"
check_no_token "missing extension" "$T_TMP/e"
mkdir -p "$T_TMP/e/ext" "$T_TMP/junk"
echo "not an extension" >"$T_TMP/e/ext/motherduck.duckdb_extension"
assert_exit 2 "$PG2MD_BIN" run --project-dir "$T_TMP/e"
assert_contains "$(cat "$T_ERR")" "cannot be used by this DuckDB" "wrong file: the message says so"
assert_contains "$(cat "$T_ERR")" "not a DuckDB extension" "wrong file: DuckDB's reason"
check_no_token "wrong extension" "$T_TMP/e"
echo "junk" >"$T_TMP/junk/motherduck.duckdb_extension"
assert_exit 2 env DESTINATION__MOTHERDUCK__EXTENSION_PATH="$T_TMP/junk/motherduck.duckdb_extension" \
	"$PG2MD_BIN" run --project-dir "$T_TMP/e"
assert_contains "$(cat "$T_ERR")" "$T_TMP/junk/motherduck.duckdb_extension" "the environment variable overrides the file"
assert_eq "" "$(find "$T_TMP/e" -name '*.parquet' 2>/dev/null)" "extension refused: nothing was extracted"
# pg2md check reports the client: DuckDB version supported, the extension file not loadable; a
# configured file that does not load is a configuration error there too (exit 2, as run says)
assert_exit 2 "$PG2MD_BIN" check --project-dir "$T_TMP/e"
assert_contains "$(cat "$T_OUT")" "Offline install" "check: the hint for an extension file that does not load"
assert_not_contains "$(cat "$T_ERR")" "a connection could not be made" "check: no connection hint for a bad file"
assert_contains "$(cat "$T_OUT")" "DuckDB v$(sed 's/^v//' "$PG2MD_SRC/third_party/duckdb/VERSION")" \
	"check: names the DuckDB version"
assert_contains "$(cat "$T_OUT")" "MotherDuck supports" "check: says whether MotherDuck supports this DuckDB"
assert_contains "$(cat "$T_OUT")" "motherduck extension" "check: reports the extension"
assert_contains "$(cat "$T_OUT")" "not a DuckDB extension" "check: says why the extension file does not load"
check_no_token "check" "$T_TMP/e"

# 7. dlt's lower-case name alone: motherduck_token in the environment (no MOTHERDUCK_TOKEN, no
#    token in the files) is the token.  Without it the md: destination is refused (exit 2); with
#    it check and run get past that refusal to the connection (exit 3), the token nowhere
make_project "$T_TMP/l" --tables "t" --config "[pipeline]
destination = \"motherduck\"" --secrets "[destination.motherduck]
credentials = \"md:lower_db\""
assert_exit 2 "$PG2MD_BIN" check --project-dir "$T_TMP/l"
assert_contains "$(cat "$T_ERR")" "needs a MotherDuck token" "md: without any token: refused before connecting"
assert_exit 3 env motherduck_token="$TOKEN" "$PG2MD_BIN" check --project-dir "$T_TMP/l"
assert_not_contains "$(cat "$T_ERR")" "needs a MotherDuck token" "motherduck_token alone: check is not refused for want of a token"
assert_contains "$(cat "$T_OUT")" "could not connect to MotherDuck database \"lower_db\"" "motherduck_token alone: check tries the connection"
check_no_token "motherduck_token, check" "$T_TMP/l"
assert_exit 3 env motherduck_token="$TOKEN" "$PG2MD_BIN" run --project-dir "$T_TMP/l" --log-level DEBUG
assert_contains "$(cat "$T_ERR")" "\"lower_db\"" "motherduck_token alone: run tries the connection to the database"
check_no_token "motherduck_token, run at DEBUG" "$T_TMP/l"
assert_eq "" "$(find "$T_TMP/l" -name '*.parquet' 2>/dev/null)" "motherduck_token alone: nothing was extracted before the destination was tried"

# 6. --destination duckdb overrides the token: the run works locally
assert_exit 0 "$PG2MD_BIN" run --destination duckdb --project-dir "$T_TMP/a"
assert_table_equal public t "$T_TMP/a/pg2md.duckdb" pg2md_data t "with --destination duckdb the data arrives locally"
check_no_token "local run" "$T_TMP/a"

t_done

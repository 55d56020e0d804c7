#!/usr/bin/env bash
# t30_cli.sh — the project commands around a run: `pg2md init` (writes both .dlt templates with
# the guide's values, secrets.toml mode 600, one .gitignore line; refuses to overwrite, --force
# does), `pg2md check` (passes against the cluster without creating the DuckDB file; exit 3 on a
# wrong password, never printing it; exit 1 for a missing table, naming a close one, and for a
# table the role may not SELECT), `pg2md info` (values with FILE:LINE, an environment override,
# the password masked and never printed, pending packages, _dlt_loads, --json), `pg2md drop`
# (--tables drops one table and the next run brings it back; refuses while a package is pending,
# without --yes off a terminal, for an unknown table; --yes drops the dataset and the pipeline
# folder and keeps the DuckDB file); every command has `pg2md help CMD` = `pg2md CMD --help`, and a
# usage error (unknown flag, another command's flag, a stray argument, a missing value) exits 2
# pointing at the command's help.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
t_init cli
require_pg2md

# A token in the environment would make MotherDuck the destination.
unset MOTHERDUCK_TOKEN motherduck_token DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN

ROLE="t30_nopriv_$$"
RPASS="Np-t30-$$-pw"
WRONG="Wr0ng-t30-$$-pass"
REAL=$PG2MD_TEST_PASSWORD

drop_role() {
	psql -X -q -d "${PG2MD_ADMIN_DB:-postgres}" -c "DROP ROLE IF EXISTS \"$ROLE\"" >/dev/null 2>&1 ||
		echo "# warning: could not drop role $ROLE"
}
# t_cleanup drops the database (and with it the role's grants), then the role can go.
trap 't_cleanup; drop_role' EXIT
trap 't_cleanup; drop_role; exit 130' INT TERM

alloutput() { cat "$T_OUT" "$T_ERR"; }
# assert_true MSG TEST… — the test command succeeds
assert_true() {
	local msg=$1
	shift
	if "$@"; then t_pass "$msg"; else t_fail "$msg" "failed: $*"; fi
}
no_leak() {
	assert_not_contains "$(alloutput)" "$1" "$2: the password appears nowhere in stdout or stderr"
}

pg >/dev/null <<SQL || t_bail "cannot build the source tables"
CREATE TABLE customer (id int PRIMARY KEY, name text);
INSERT INTO customer SELECT g, 'name ' || g FROM generate_series(1, 1000) g;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount numeric(10,2));
INSERT INTO orders SELECT g, g % 1000 + 1, g * 1.25 FROM generate_series(1, 5000) g;
ANALYZE;
SQL

# --- init ------------------------------------------------------------------------------------

I=$T_TMP/init
assert_exit 0 "$PG2MD_BIN" init --project-dir "$I"
assert_true "init writes .dlt/config.toml" test -f "$I/.dlt/config.toml"
assert_true "init writes .dlt/secrets.toml" test -f "$I/.dlt/secrets.toml"
assert_eq 600 "$(stat -c %a "$I/.dlt/secrets.toml" 2>/dev/null)" "init: secrets.toml has mode 600"
assert_eq 1 "$(grep -c -x '\.dlt/secrets\.toml' "$I/.gitignore" 2>/dev/null)" "init: .gitignore holds .dlt/secrets.toml once"

CONF=$(cat "$I/.dlt/config.toml" 2>/dev/null)
SECR=$(cat "$I/.dlt/secrets.toml" 2>/dev/null)
for want in '[runtime]' 'log_level = "WARNING"' 'dlthub_telemetry = true' '[sources.sql_database]' 'schema = "my_pg"' \
	'"customer_demographics",' '"ship_mode"' 'workers = 6' '[postgres]' 'pool_size = 6' '[data_writer]' \
	'format = "parquet"' '[destination.motherduck]' 'batch_size = 1000000' '[extract]' 'workers = 8' '[normalize]' \
	'workers = 4' '[load]' 'strategy = "scd2"'; do
	assert_contains "$CONF" "$want" "init: config.toml has the guide's $want"
done
for want in '[sources.sql_database.credentials]' 'drivername = "postgresql"' 'database = "your_database_name"' \
	'host = "your_postgres_host"' 'password = "your_postgres_password"' 'port = 5432' \
	'username = "your_postgres_username"' '# [destination.motherduck.credentials]' '# token = "your_motherduck_token"'; do
	assert_contains "$SECR" "$want" "init: secrets.toml has $want"
done
# every key line of both templates has a comment line right above it (or is inside the tables list)
uncommented=$(awk 'FNR == 1 { prev = "" } /^[a-z_]+ = / && prev !~ /^#/ { print FILENAME ":" FNR ": " $0 }
	{ if ($0 != "") prev = $0 }' "$I/.dlt/config.toml" "$I/.dlt/secrets.toml")
assert_eq "" "$uncommented" "init: every key of the templates is explained by a comment"

# the templates load as they are: no warning, tables listed, local DuckDB destination, no file created
assert_exit 0 "${T_CLEAN_ENV[@]}" "$PG2MD_BIN" info --project-dir "$I"
assert_eq "" "$(cat "$T_ERR")" "init: the written templates load without any warning"
assert_match "$(cat "$T_OUT")" '^  pipeline\.destination +\= duckdb ' "init: with the token commented out the destination is the local DuckDB file"
assert_match "$(cat "$T_OUT")" '^  sources\.sql_database\.tables += customer, customer_address, .*ship_mode ' "init: the guide's 24 tables are configured"
assert_not_contains "$(alloutput)" "your_postgres_password" "init: info masks the template's password"
assert_true "info does not create the DuckDB file" test ! -e "$I/pg2md.duckdb"

# refuses to overwrite, names --force, changes nothing
echo "# my edit" >>"$I/.dlt/config.toml"
assert_exit 2 "$PG2MD_BIN" init --project-dir "$I"
assert_contains "$(cat "$T_ERR")" "already exists" "init over existing files: says the file exists"
assert_contains "$(cat "$T_ERR")" "--force" "init over existing files: the hint names --force"
assert_contains "$(cat "$I/.dlt/config.toml")" "# my edit" "init over existing files: config.toml is unchanged"
assert_eq 1 "$(grep -c -x '\.dlt/secrets\.toml' "$I/.gitignore")" "init over existing files: .gitignore still has the line once"

# --force overwrites (and tightens the mode of secrets.toml), the .gitignore line is not repeated
chmod 644 "$I/.dlt/secrets.toml"
assert_exit 0 "$PG2MD_BIN" init --project-dir "$I" --force
assert_not_contains "$(cat "$I/.dlt/config.toml")" "# my edit" "init --force: config.toml is the template again"
assert_eq 600 "$(stat -c %a "$I/.dlt/secrets.toml")" "init --force: secrets.toml is mode 600 again"
assert_eq 1 "$(grep -c -x '\.dlt/secrets\.toml' "$I/.gitignore")" "init --force: .gitignore has the line once"

# an existing .gitignore (no final newline) is appended to once
I2=$T_TMP/init2
mkdir -p "$I2"
printf 'node_modules/\n*.log' >"$I2/.gitignore"
assert_exit 0 "$PG2MD_BIN" init --project-dir "$I2"
assert_eq "$(printf 'node_modules/\n*.log\n.dlt/secrets.toml')" "$(cat "$I2/.gitignore")" "init: an existing .gitignore keeps its lines and gets one more"
rm -f "$I2/.dlt/config.toml" "$I2/.dlt/secrets.toml"
assert_exit 0 "$PG2MD_BIN" init --project-dir "$I2"
assert_eq 1 "$(grep -c -x '\.dlt/secrets\.toml' "$I2/.gitignore")" "init again after removing the files: still one .gitignore line"

# --- check -----------------------------------------------------------------------------------

P=$T_TMP/p
make_project "$P" --tables "customer orders"
assert_exit 0 "$PG2MD_BIN" check --project-dir "$P"
OUT=$(cat "$T_OUT")
assert_match "$OUT" '^  ok +connected to PostgreSQL [0-9]+' "check: connects and shows the server version"
assert_contains "$OUT" "database \"$T_DB\", user \"pg2md\"" "check: shows database and user"
assert_contains "$OUT" "127.0.0.1:$PG2MD_TEST_PORT" "check: shows host:port"
assert_match "$OUT" '^  ok +table "customer" +~1\.0 k rows, [0-9.]+ [kM]?B' "check: customer's row estimate and size"
assert_match "$OUT" '^  ok +table "orders" +~5\.0 k rows' "check: orders' row estimate"
assert_match "$OUT" '^  ok +writable' "check: the destination is writable"
assert_match "$OUT" '^  ok +opened DuckDB file .*\(DuckDB v[0-9]' "check: shows the DuckDB version"
assert_match "$OUT" '^all [0-9]+ checks passed' "check: all checks passed"
assert_not_contains "$OUT" "FAILED" "check: no FAILED line"
no_leak "$REAL" "check"
assert_true "check leaves no DuckDB file behind" test ! -e "$P/pg2md.duckdb"

PW=$T_TMP/pw
make_project "$PW" --tables "customer orders" --password "$WRONG"
assert_exit 3 "$PG2MD_BIN" check --project-dir "$PW"
assert_match "$(alloutput)" 'FAILED +could not connect to PostgreSQL' "check, wrong password: a FAILED connection line"
assert_contains "$(alloutput)" "password authentication failed" "check, wrong password: says why"
no_leak "$WRONG" "check, wrong password"
no_leak "$REAL" "check, wrong password (the real one)"
assert_match "$(alloutput)" '^  ok +writable' "check, wrong password: the destination is still checked"

PM=$T_TMP/pm
make_project "$PM" --tables "customer custmer"
assert_exit 1 "$PG2MD_BIN" check --project-dir "$PM"
assert_match "$(cat "$T_OUT")" 'FAILED +table "custmer" +not found in schema "public"' "check: a missing table is a FAILED line"
assert_contains "$(cat "$T_OUT")" 'did you mean "customer"?' "check: the missing table gets the close name"
assert_match "$(cat "$T_ERR")" '^pg2md: error: 1 check failed$' "check: the error line counts the failures"

pg -c "CREATE ROLE \"$ROLE\" LOGIN PASSWORD '$RPASS'" -c "GRANT SELECT ON customer TO \"$ROLE\"" >/dev/null ||
	t_bail "cannot create role $ROLE"
PR=$T_TMP/pr
make_project "$PR" --tables "customer orders" --user "$ROLE" --password "$RPASS"
assert_exit 1 "$PG2MD_BIN" check --project-dir "$PR"
assert_match "$(cat "$T_OUT")" '^  ok +table "customer"' "check as a role with SELECT on customer only: customer is ok"
assert_match "$(cat "$T_OUT")" "FAILED +table \"orders\" +no SELECT permission for user \"$ROLE\"" "check: a table without SELECT permission is a FAILED line"
assert_contains "$(cat "$T_OUT")" "GRANT SELECT ON \"public\".\"orders\" TO \"$ROLE\"" "check: the hint is the GRANT statement"
no_leak "$RPASS" "check as the role"

# --- info ------------------------------------------------------------------------------------

assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
LOAD_ID=$(ddbq "$P/pg2md.duckdb" "SELECT load_id FROM pg2md_data._dlt_loads")

assert_exit 0 env LOAD__WORKERS=3 "$PG2MD_BIN" info --project-dir "$P"
OUT=$(cat "$T_OUT")
line=$(grep -n '^schema = ' "$P/.dlt/config.toml" | cut -d: -f1)
assert_match "$OUT" "^  sources\\.sql_database\\.schema +\\= public +$P/\\.dlt/config\\.toml:$line\$" "info: a value from config.toml with its file:line"
assert_match "$OUT" '^  load\.workers +\= 3 +environment LOAD__WORKERS$' "info: an environment override shows the variable"
assert_match "$OUT" "^  sources\\.sql_database\\.credentials\\.password +\\= \\*\\*\\*\\*\\*\\*\\*\\* +$P/\\.dlt/secrets\\.toml:[0-9]+\$" "info: the password is masked, with where it came from"
assert_match "$OUT" '^  extract\.workers +\= 5 +default$' "info: a default"
assert_contains "$OUT" "$LOAD_ID" "info: shows the load from _dlt_loads"
assert_match "$OUT" '^pending load packages: none' "info: no pending packages"
assert_match "$OUT" '^last run: .*6\.0 k rows.*succeeded' "info: the last run's summary"
no_leak "$REAL" "info"

assert_exit 0 env LOAD__WORKERS=3 "$PG2MD_BIN" info --project-dir "$P" --json
no_leak "$REAL" "info --json"
if jq -e . "$T_OUT" >/dev/null 2>&1; then
	t_pass "info --json prints valid JSON"
	assert_eq "environment LOAD__WORKERS 3" "$(jq -r '.settings[] | select(.key == "load.workers") | "\(.origin) \(.where) \(.value)"' "$T_OUT")" "info --json: the environment override"
	assert_eq "******** true" "$(jq -r '.settings[] | select(.key == "sources.sql_database.credentials.password") | "\(.value) \(.secret)"' "$T_OUT")" "info --json: the password masked"
	assert_eq "$LOAD_ID" "$(jq -r '.destination.loads[0].load_id' "$T_OUT")" "info --json: the newest load"
	assert_eq "0 6000" "$(jq -r '"\(.last_run.exit_code) \(.last_run.rows)"' "$T_OUT")" "info --json: the last run"
else
	t_fail "info --json prints valid JSON" "$(head -c 2000 "$T_OUT")"
fi

# a pending package: info lists it, drop --tables refuses
assert_exit 0 "$PG2MD_BIN" extract --project-dir "$P"
assert_exit 0 "$PG2MD_BIN" info --project-dir "$P"
assert_match "$(cat "$T_OUT")" '^  extracted +[0-9.]+ +2 tables, 6\.0 k rows: customer \(1\.0 k\), orders \(5\.0 k\)' "info: the pending package with its tables and rows"
assert_exit 1 "$PG2MD_BIN" drop --project-dir "$P" --tables orders --yes
assert_contains "$(cat "$T_ERR")" "pending load package" "drop --tables with a pending package: refused, saying why"
assert_eq 5000 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.orders")" "drop refused: orders is still there"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"

# --- drop --tables ---------------------------------------------------------------------------

assert_exit 2 "$PG2MD_BIN" drop --project-dir "$P" --tables orders </dev/null
assert_contains "$(cat "$T_ERR")" "--yes" "drop without --yes off a terminal: the hint names --yes"
assert_eq 5000 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.orders")" "drop not confirmed: orders is still there"

assert_exit 2 "$PG2MD_BIN" drop --project-dir "$P" --tables orders,no_such_table --yes
assert_contains "$(cat "$T_ERR")" '"no_such_table" not found' "drop --tables with an unknown table: names it"
assert_eq 5000 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.orders")" "drop with an unknown table drops nothing"

# give both tables some resource state (as incremental loading keeps it) to see drop reset it
STATE_SQL="SELECT state FROM pg2md_data._dlt_pipeline_state ORDER BY version DESC LIMIT 1"
ddbq --rw "$P/pg2md.duckdb" "INSERT INTO pg2md_data._dlt_pipeline_state SELECT version + 1, engine_version,
	pipeline_name, json_merge_patch(state, '{\"sources\":{\"sql_database\":{\"resources\":{\"orders\":{\"incremental\":{\"id\":{\"last_value\":5000}}},\"customer\":{\"incremental\":{\"id\":{\"last_value\":1000}}}}}}}')::VARCHAR,
	now(), version_hash, _dlt_load_id, _dlt_id FROM pg2md_data._dlt_pipeline_state ORDER BY version DESC LIMIT 1" >/dev/null ||
	t_fail "could not add resource state for the drop test"
assert_eq "orders customer" "$(ddbq "$P/pg2md.duckdb" "SELECT json_keys(json_extract(state, '\$.sources.sql_database.resources')) FROM ($STATE_SQL)" | tr -d "[]'," )" \
	"the test state holds both tables" || true

assert_exit 0 "$PG2MD_BIN" drop --project-dir "$P" --tables orders --yes
assert_contains "$(cat "$T_OUT")" 'dropped table "pg2md_data"."orders"' "drop --tables: says what it dropped"
assert_contains "$(cat "$T_OUT")" 'reset the state of 1 table' "drop --tables: says it reset the table's state"
assert_eq "customer" "$(ddbq "$P/pg2md.duckdb" "SELECT json_keys(json_extract(state, '\$.sources.sql_database.resources')) FROM ($STATE_SQL)" | tr -d "[]'," )" \
	"drop --tables orders: the newest pipeline state keeps customer's state only"
assert_eq "customer" "$(ddbq "$P/pg2md.duckdb" "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM duckdb_tables()
	WHERE schema_name = 'pg2md_data' AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'")" "drop --tables orders: only customer is left"
assert_table_equal public customer "$P/pg2md.duckdb" pg2md_data customer "drop --tables orders: customer is untouched"
assert_eq 0 "$(ddbq "$P/pg2md.duckdb" "SELECT position('\"dest_name\":\"orders\"' IN schema) FROM pg2md_data._dlt_version
	ORDER BY version DESC LIMIT 1")" "drop --tables orders: the stored schema no longer lists orders"

assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_table_equal public orders "$P/pg2md.duckdb" pg2md_data orders "the run after drop --tables copies orders again"

# --- drop everything -------------------------------------------------------------------------

assert_exit 2 "$PG2MD_BIN" drop --project-dir "$P" </dev/null
assert_eq 1 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'pg2md_data'")" "drop not confirmed: the dataset is still there"

assert_exit 0 "$PG2MD_BIN" drop --project-dir "$P" --yes
assert_contains "$(cat "$T_OUT")" 'dropped dataset "pg2md_data"' "drop --yes: says it dropped the dataset"
assert_contains "$(cat "$T_OUT")" 'removed the pipeline folder' "drop --yes: says it removed the pipeline folder"
assert_eq 0 "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'pg2md_data'")" "drop --yes: the dataset is gone"
assert_true "drop --yes: the pipeline folder is gone" test ! -e "$P/.pg2md/pipelines/pg2md"
assert_true "drop --yes: the DuckDB file stays" test -f "$P/pg2md.duckdb"
assert_exit 0 "$PG2MD_BIN" drop --project-dir "$P" --yes
assert_contains "$(cat "$T_OUT")" "nothing to drop" "drop --yes again: nothing to drop"
assert_exit 0 "$PG2MD_BIN" info --project-dir "$P"
assert_match "$(cat "$T_OUT")" '^last run: none recorded' "info after drop: no last run"

# --- help and usage errors, for every command ---------------------------------------------------

assert_exit 0 "$PG2MD_BIN" --help
CMDS=$(sed -n 's/^  \([a-z]\+\)  .*/\1/p' "$T_OUT" | grep -v '^help$' | tr '\n' ' ')
assert_eq "run extract normalize load sql trace init check info verify follow drop " "$CMDS" "pg2md --help lists every command of DESIGN §1 (and follow)"
for c in $CMDS; do
	assert_exit 0 "$PG2MD_BIN" help "$c"
	HELP=$(cat "$T_OUT")
	assert_match "$(head -n 1 <<<"$HELP")" "^usage: pg2md $c( |\$)" "help $c: starts with its usage line"
	assert_contains "$HELP" "--project-dir DIR" "help $c: lists the common flags"
	assert_exit 0 "$PG2MD_BIN" "$c" --help
	assert_eq "$HELP" "$(cat "$T_OUT")" "pg2md $c --help prints the same help"
	assert_exit 2 "$PG2MD_BIN" "$c" --no-such-flag
	assert_contains "$(cat "$T_ERR")" "Try \"pg2md $c --help\" for more information." "$c --no-such-flag: points at the help"
done
# a flag of another command, an argument where none is taken, a missing option argument: exit 2, pointing at the help
for args in "run --json" "info --tables x" "trace --yes" "check --html r.html" "verify --pending" "init --tables x" \
	"drop --force" "run --once" "sql --progress none SELECT" "run extra" "trace extra" "trace --html" "run --progress sometimes"; do
	# shellcheck disable=SC2086
	assert_exit 2 "$PG2MD_BIN" $args --project-dir "$T_TMP/none"
	assert_match "$(cat "$T_ERR")" '^Try "pg2md [a-z]+ --help" for more information\.$' "pg2md $args: usage error points at the help"
done
assert_contains "$(cat "$T_ERR")" "--progress takes tty, log or none" "--progress sometimes: says which values it takes"
assert_exit 2 "$PG2MD_BIN" run --json
assert_contains "$(cat "$T_ERR")" 'option "--json" does not apply to this command' "run --json: says the option does not apply"
assert_exit 2 "$PG2MD_BIN" trace --html
assert_contains "$(cat "$T_ERR")" 'option "--html" requires an argument' "trace --html: says it needs a FILE"
assert_exit 2 "$PG2MD_BIN" run --direct=1
assert_contains "$(cat "$T_ERR")" 'option "--direct" takes no value' "run --direct=1: says the option takes no value"
assert_eq 0 "$(LC_ALL=C grep -c '[[:cntrl:]]' "$T_ERR")" "run --direct=1: no control character in the message"
assert_exit 2 "$PG2MD_BIN" no-such-command
assert_contains "$(cat "$T_ERR")" 'Try "pg2md --help" for more information.' "unknown command: points at pg2md --help"
assert_exit 2 "$PG2MD_BIN" help no-such-command
assert_contains "$(cat "$T_ERR")" 'Try "pg2md --help" for more information.' "help of an unknown command: points at pg2md --help"


t_cleanup
drop_role
t_done

#!/usr/bin/env bash
# t70_security.sh — what pg2md promises about secrets, identifiers, connection parameters and
# file modes (DESIGN §1 "No secret … ever appears in output, logs or traces"; docs/reliability.md):
#
# 1. secrets: a run at DEBUG log level with the PostgreSQL password in secrets.toml and in the
#    environment, and a MotherDuck token in the environment but --destination duckdb: neither
#    appears in stdout, stderr, `pg2md trace --json`, `pg2md info`, any file of the pipeline
#    folder (packages, manifests, state, trace), nor anywhere in the DuckDB file (strings).
# 2. secrets.toml readable by others (chmod 644): a warning names the file and gives the chmod
#    hint; at 600 no warning.
# 3. identifiers are always quoted: a table named  x"; DROP TABLE y; --  with a column holding a
#    double quote, in a schema whose name has a space, replicates value by value and the tables
#    named y (source and destination) still exist with their rows.
# 4. libpq parameters pass through: [sources.sql_database.credentials.query] sslmode = "require"
#    against this cluster (no SSL) fails with an SSL error and exit 3; application_name is what
#    the server sees in pg_stat_activity while the run is held.
# 5. modes: the DuckDB file, the pipeline folder and the load packages are created readable by
#    the user only (files 0600, folders 0700), whatever the umask of the caller.
. "$(dirname "$0")/../lib/common.sh"
t_init security
require_pg2md
unset MOTHERDUCK_TOKEN motherduck_token DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN

PASSWORD=$PG2MD_TEST_PASSWORD
TOKEN="md-t70-token-$$-5e4d3c2b1a"

pg -c "CREATE TABLE t (id int PRIMARY KEY, v text, n numeric(10,2))" \
	-c "INSERT INTO t SELECT g, 'v' || g, g / 7.0 FROM generate_series(1, 2000) g"

# --- 1. no secret anywhere -----------------------------------------------------------------
P=$T_TMP/p
make_project "$P" --tables t
umask 022
assert_exit 0 env MOTHERDUCK_TOKEN="$TOKEN" DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN="$TOKEN" \
	SOURCES__SQL_DATABASE__CREDENTIALS__PASSWORD="$PASSWORD" \
	"$PG2MD_BIN" run --project-dir "$P" --destination duckdb --log-level DEBUG
assert_match "$(cat "$T_ERR")" 'DEBUG' "the run logged at DEBUG level (so there was something to leak)"
assert_table_equal public t "$P/pg2md.duckdb" pg2md_data t "the DEBUG run copied t"
cp "$T_OUT" "$T_TMP/run.out"
cp "$T_ERR" "$T_TMP/run.err"

t_run env MOTHERDUCK_TOKEN="$TOKEN" "$PG2MD_BIN" trace --json --project-dir "$P" --destination duckdb --log-level DEBUG
cp "$T_OUT" "$T_TMP/trace.out"
cat "$T_ERR" >>"$T_TMP/trace.out"
assert_eq 0 "$T_RC" "pg2md trace --json works"
t_run env MOTHERDUCK_TOKEN="$TOKEN" "$PG2MD_BIN" info --project-dir "$P" --destination duckdb --log-level DEBUG
cat "$T_OUT" "$T_ERR" >"$T_TMP/info.out"

for secret in "$PASSWORD" "$TOKEN"; do
	what=password
	[ "$secret" = "$TOKEN" ] && what=token
	assert_not_contains "$(cat "$T_TMP/run.out")" "$secret" "$what: not in the run's stdout"
	assert_not_contains "$(cat "$T_TMP/run.err")" "$secret" "$what: not in the run's stderr (DEBUG)"
	assert_not_contains "$(cat "$T_TMP/trace.out")" "$secret" "$what: not in pg2md trace --json"
	assert_not_contains "$(cat "$T_TMP/info.out")" "$secret" "$what: not in pg2md info"
	hits=$(grep -rl -a -F -- "$secret" "$P" 2>/dev/null | grep -v '/.dlt/secrets.toml$' || true)
	assert_eq "" "$hits" "$what: in no file of the project folder (pipeline folder, packages, manifests, state, trace, DuckDB file)"
	hits=$(strings -a "$P/pg2md.duckdb" | grep -c -F -- "$secret" || true)
	assert_eq 0 "$hits" "$what: not among the strings of the DuckDB file"
done
assert_match "$(find "$P/.pg2md" -name '*.json' | head -n 50)" 'manifest|trace|state' \
	"the pipeline folder holds JSON files (manifests, state, trace) that were searched"

# --- 2. secrets.toml readable by others ------------------------------------------------------
chmod 644 "$P/.dlt/secrets.toml"
t_run "$PG2MD_BIN" info --project-dir "$P" --destination duckdb
assert_contains "$(cat "$T_ERR")" "$P/.dlt/secrets.toml" "secrets.toml at 644: the warning names the file"
assert_match "$(cat "$T_ERR")" 'readable by other' "secrets.toml at 644: it says the file is readable by others"
assert_match "$(cat "$T_ERR")" 'chmod 600' "secrets.toml at 644: a hint gives the chmod"
chmod 600 "$P/.dlt/secrets.toml"
t_run "$PG2MD_BIN" info --project-dir "$P" --destination duckdb
assert_not_contains "$(cat "$T_ERR")" "readable by other" "secrets.toml at 600: no warning"

# --- 3. identifiers are quoted ---------------------------------------------------------------
EVIL='x"; DROP TABLE y; --'
pg -c 'CREATE SCHEMA "my schema"' \
	-c 'CREATE TABLE public.y (id int)' -c 'INSERT INTO public.y VALUES (1), (2)' \
	-c 'CREATE TABLE "my schema".y (id int)' -c 'INSERT INTO "my schema".y VALUES (3)' \
	-c 'CREATE TABLE "my schema"."x""; DROP TABLE y; --" (id int PRIMARY KEY, "we""ird col" text, "it''s" int)' \
	-c "INSERT INTO \"my schema\".\"x\"\"; DROP TABLE y; --\" SELECT g, 'a\"b''c' || g, g FROM generate_series(1, 50) g"
Q=$T_TMP/q
# naming = "direct": the destination names are the source names, quotes and all
make_project "$Q" --schema "my schema" --config 'tables = ["x\"; DROP TABLE y; --", "y"]

[schema]
naming = "direct"'
# a destination table y exists before the run: the run must not drop it
"$DDBQ" --rw "$Q/pg2md.duckdb" "CREATE SCHEMA pg2md_data; CREATE TABLE main.y (id int); INSERT INTO main.y VALUES (42)" >/dev/null 2>&1 ||
	t_fail "could not create main.y in the destination"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$Q"
assert_eq 2 "$(pgq 'SELECT count(*) FROM public.y')" "source: public.y still exists with its rows"
assert_eq 3 "$(pgq 'SELECT id FROM "my schema".y')" "source: \"my schema\".y still exists with its row"
assert_eq 42 "$(ddbq "$Q/pg2md.duckdb" 'SELECT id FROM main.y')" "destination: main.y still exists with its row"
dest=$(ddbq "$Q/pg2md.duckdb" "SELECT table_name FROM information_schema.tables WHERE table_schema = 'pg2md_data'
	AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' AND table_name <> 'y' ORDER BY 1")
if [ "$dest" = "$EVIL" ]; then
	t_pass "destination: the table keeps its name $EVIL (naming = direct)"
	assert_table_equal "my schema" "$EVIL" "$Q/pg2md.duckdb" pg2md_data "$dest" "the table named $EVIL arrives value by value"
else
	t_fail "destination: the table keeps its name $EVIL (naming = direct)" "tables: $dest"
fi
assert_table_equal "my schema" y "$Q/pg2md.duckdb" pg2md_data y "\"my schema\".y arrives as pg2md_data.y"

# --- 4. libpq parameters pass through ---------------------------------------------------------
S=$T_TMP/s
make_project "$S" --tables t --secrets '[sources.sql_database.credentials.query]
sslmode = "require"'
assert_exit 3 "$PG2MD_BIN" run --project-dir "$S"
assert_match "$(cat "$T_ERR")" 'SSL' "sslmode = \"require\" reaches libpq: the server without SSL is refused with an SSL error"
assert_not_contains "$(cat "$T_OUT" "$T_ERR")" "$PASSWORD" "sslmode failure: the password is not printed"

APP="pg2md-t70-$$"
make_project "$S" --tables t --secrets "[sources.sql_database.credentials.query]
application_name = \"$APP\"
sslmode = \"disable\""
go=$T_TMP/go
PG2MD_PAUSE=extract:after_snapshot PG2MD_PAUSE_FILE=$go "$PG2MD_BIN" run --project-dir "$S" \
	>"$T_TMP/held.out" 2>"$T_TMP/held.err" &
pid=$!
for _ in $(seq 1 300); do
	[ -e "$go.paused" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
if [ -e "$go.paused" ]; then
	seen=$(psql -X -A -t -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$APP'")
	names=$(psql -X -A -t -d postgres -c "SELECT string_agg(DISTINCT application_name, ', ') FROM pg_stat_activity
		WHERE datname = '$T_DB' AND pid <> pg_backend_pid()")
	touch "$go"
	rc=0
	wait "$pid" || rc=$?
	# pg2md names its connections through fallback_application_name: the user's name wins
	if [ "${seen:-0}" -ge 1 ]; then
		t_pass "application_name reaches the server ($seen connection(s) named $APP while the run was held)"
	else
		t_fail "application_name reaches the server" "pg_stat_activity had no connection named $APP" \
			"the run's connections were named: $names"
	fi
	assert_eq 0 "$rc" "the held run with application_name finishes"
else
	wait "$pid" 2>/dev/null || true
	t_fail "the run reached extract:after_snapshot" "$(cat "$T_TMP/held.out" "$T_TMP/held.err")"
fi

# --- 5. modes: readable by the user only -------------------------------------------------------
# (runs above used umask 022; nothing pg2md created may be readable by group or others)
M=$T_TMP/m
make_project "$M" --tables t
umask 022
assert_exit 0 "$PG2MD_BIN" extract --project-dir "$M"
pkg_open=$(find "$M/.pg2md" \( -type f -perm /077 \) -o \( -type d -perm /077 \) 2>/dev/null)
assert_eq "" "$pkg_open" "an extracted package (manifest, schema, Parquet files) is readable by the user only"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$M"
mode=$(stat -c %a "$M/pg2md.duckdb" 2>/dev/null)
assert_eq 600 "$mode" "the DuckDB file is created with mode 0600"
wal=$(find "$M" -maxdepth 1 -name '*.wal' -perm /077)
assert_eq "" "$wal" "a DuckDB WAL file, if any, is not readable by others"
open=$(find "$M/.pg2md" \( -type f -perm /077 \) -o \( -type d -perm /077 \) 2>/dev/null)
assert_eq "" "$open" "the pipeline folder: files 0600, folders 0700 (nothing readable by group or others)"
dmode=$(stat -c %a "$M/.pg2md/pipelines/pg2md" 2>/dev/null || echo missing)
assert_eq 700 "$dmode" "the pipeline folder itself is 0700"
assert_eq 600 "$(stat -c %a "$P/pg2md.duckdb")" "the DuckDB file of the DEBUG run (section 1) is 0600"
# pg2md follow creates its DuckDB file as privately (it once left it 0644: only run set the umask)
F=$T_TMP/f
make_project "$F" --tables t
printf '\n[sources.pg_replication]\nslot_name = "t70_slot"\npub_name = "t70_pub"\n' >>"$F/.dlt/config.toml"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$F"
assert_eq 600 "$(stat -c %a "$F/pg2md.duckdb" 2>/dev/null)" "the DuckDB file pg2md follow created is 0600"
fopen=$(find "$F" -mindepth 1 -path "$F/.dlt" -prune -o \( -perm /077 -print \) 2>/dev/null)
assert_eq "" "$fopen" "nothing pg2md follow created is readable by group or others"
pg -c "SELECT pg_drop_replication_slot('t70_slot')" >/dev/null || t_bail "could not drop the test's slot"
pg -c "DROP PUBLICATION t70_pub" >/dev/null || t_bail "could not drop the test's publication"

t_done

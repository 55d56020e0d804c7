#!/usr/bin/env bash
# t76_follow_motherduck — pg2md follow into MotherDuck, tested up to the connection (this machine
# cannot reach MotherDuck; docs/motherduck.md, "pg2md follow"):
#   - no token: exit 2 before anything connects (no slot, no publication on the source);
#   - a fake token: exit 3 as pg2md run, the token in no output and no file, and the source left
#     as it was (the destination is tried before the publication or the slot is made);
#   - with the test-only switch PG2MD_TEST_MOTHERDUCK_RULES=1 (a local DuckDB file loads as into
#     MotherDuck: statements under 512 KB, one writer, the initial copy in bounded steps) the
#     whole of follow --once: initial copy, changes, a kill before a batch's commit, a table added;
#   - a runner with no local state (the pipelines folder deleted) resumes from the watermark
#     read back from the destination: nothing copied again, nothing lost or doubled.
# Every step compared with the source by checksum.
. "$(dirname "$0")/../lib/common.sh"
t_init follow_motherduck
require_pg2md
unset MOTHERDUCK_TOKEN motherduck_token DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN

SLOT="t76_slot_$$"
PUB="t76_pub_$$"
eval "orig_$(declare -f t_cleanup)"
t_cleanup() {
	psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name LIKE 't76_%_$$%' AND NOT active" >/dev/null 2>&1 || true
	orig_t_cleanup
}
TOKEN="md-follow-token-$$-1a2b3c4d5e6f"
REPL="[sources.pg_replication]
slot_name = \"$SLOT\"
pub_name = \"$PUB\""

pg -c "CREATE TABLE ma (id int PRIMARY KEY, v text, n numeric(12,2), at timestamptz);
       CREATE TABLE mb (k bigint PRIMARY KEY, payload text);
       INSERT INTO ma SELECT g, 'v' || g, g * 1.25, TIMESTAMPTZ '2024-01-01' + g * interval '1 hour'
              FROM generate_series(1, 3000) g;
       INSERT INTO mb SELECT g, repeat('p', g % 500) FROM generate_series(1, 1500) g;"
source_untouched() { # what
	assert_eq 0 "$(pgq "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT'")" "$1: no slot made"
	assert_eq 0 "$(pgq "SELECT count(*) FROM pg_publication WHERE pubname = '$PUB'")" "$1: no publication made"
}
no_token() { # what dir
	assert_not_contains "$(cat "$T_OUT" "$T_ERR")" "$TOKEN" "$1: the token is not in the output"
	local hits
	hits=$(grep -rl -- "$TOKEN" "$2" 2>/dev/null | grep -v '/.dlt/secrets.toml$' || true)
	assert_eq "" "$hits" "$1: no file pg2md wrote holds the token"
}

# --- MotherDuck without a token: a configuration error before any connection --------------------
make_project "$T_TMP/n" --tables "ma mb" --config "$REPL"
assert_exit 2 "$PG2MD_BIN" follow --once --destination motherduck --project-dir "$T_TMP/n"
assert_contains "$(cat "$T_ERR")" "needs a MotherDuck token" "no token: the error says so"
source_untouched "no token"

# --- a fake token: exit 3 like pg2md run, nothing on the source, the token nowhere --------------
make_project "$T_TMP/f" --tables "ma mb" --config "$REPL" --secrets "[destination.motherduck.credentials]
token = \"$TOKEN\""
assert_exit 3 "$PG2MD_BIN" run --project-dir "$T_TMP/f"
run_err=$(head -1 "$T_ERR")
assert_exit 3 "$PG2MD_BIN" follow --once --project-dir "$T_TMP/f" --log-level DEBUG
assert_eq "$run_err" "$(head -1 "$T_ERR")" "fake token: follow fails as run does"
assert_contains "$(cat "$T_ERR")" "HINT:" "fake token: a hint says what to check"
no_token "follow, fake token" "$T_TMP/f"
source_untouched "fake token"
assert_exit 3 env MOTHERDUCK_TOKEN="$TOKEN" "$PG2MD_BIN" follow --once --project-dir "$T_TMP/n"
no_token "follow, token in the environment" "$T_TMP/n"
source_untouched "token in the environment"

# --- MotherDuck's rules on a local file: follow --once end to end --------------------------------
export PG2MD_TEST_MOTHERDUCK_RULES=1
P=$T_TMP/p
make_project "$P" --tables "ma mb" --config "$REPL
[destination.motherduck]
batch_size = 500
transaction_rows = 1000"
DB=$P/pg2md.duckdb
same() { # what tables…
	local what=$1 t
	shift
	for t in "$@"; do assert_table_equal public "$t" "$DB" pg2md_data "$t" "$what: $t equals the source"; done
}
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level DEBUG
assert_contains "$(cat "$T_OUT")" "initial copy done" "rules: the first start copies"
assert_contains "$(cat "$T_ERR")" "steps up to 2 of 6 committed" "rules: the initial copy loads in bounded steps"
same "rules, initial copy" ma mb
pg -c "INSERT INTO ma SELECT g, 'new', g, now() FROM generate_series(3001, 3200) g;
       UPDATE ma SET v = 'upd', n = n + 1 WHERE id % 7 = 0;
       DELETE FROM mb WHERE k BETWEEN 100 AND 300;
       BEGIN; UPDATE mb SET payload = payload || 'x' WHERE k < 50; TRUNCATE ma; INSERT INTO ma VALUES (1, 'one', 1, now()); COMMIT;
       INSERT INTO ma SELECT g, 'again', g, now() FROM generate_series(2, 900) g;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
assert_not_contains "$(cat "$T_OUT")" "initial copy" "rules: a later start does not copy again"
same "rules, changes" ma mb

# a kill before a batch's commit, then a rerun
pg -c "UPDATE mb SET payload = 'killed' WHERE k > 1000; DELETE FROM ma WHERE id > 800;"
assert_exit 137 env PG2MD_FAULT=cdc:before_commit "$PG2MD_BIN" follow --once --project-dir "$P"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P"
same "rules, after a kill before the commit" ma mb

# --- no local state: the pipelines folder deleted, the watermark read back from the destination ---
wm() { ddbq "$DB" "SELECT applied_lsn_text FROM pg2md_data._pg2md_cdc WHERE slot_name = '$SLOT'"; }
before=$(wm)
rm -rf "$P/.pg2md"
pg -c "INSERT INTO mb SELECT g, 'fresh runner' FROM generate_series(5001, 5100) g; UPDATE ma SET v = 'fresh' WHERE id < 20;"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level INFO
assert_not_contains "$(cat "$T_OUT")" "initial copy" "no local state: nothing copied again"
assert_match "$(cat "$T_OUT")" "applied [1-9][0-9]* transaction" "no local state: the changes since the watermark applied"
same "no local state" ma mb
[ "$(pgq "SELECT '$before'::pg_lsn < '$(wm)'::pg_lsn")" = t ] && t_pass "the watermark moved on from $before" ||
	t_fail "the watermark did not move on from $before"

# --- a table added under the rules, then a fresh runner again --------------------------------------
pg -c "CREATE TABLE mc (id int PRIMARY KEY, w text); INSERT INTO mc SELECT g, 'w' || g FROM generate_series(1, 1200) g;"
make_project "$P" --tables "ma mb mc" --config "$REPL
[destination.motherduck]
batch_size = 500
transaction_rows = 1000"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level INFO
assert_contains "$(cat "$T_ERR")" "copying 1 table added to tables (mc)" "rules: the added table is copied"
pg -c "UPDATE mc SET w = 'changed' WHERE id < 100; DELETE FROM mc WHERE id > 1100;"
rm -rf "$P/.pg2md"
assert_exit 0 "$PG2MD_BIN" follow --once --project-dir "$P" --log-level INFO
assert_not_contains "$(cat "$T_ERR")" "table added" "no local state: the added table is known from the destination"
same "rules, a table added, then a fresh runner" ma mb mc

t_done

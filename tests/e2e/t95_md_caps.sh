#!/usr/bin/env bash
# t95_md_caps — MotherDuck's 512 KB statement cap where a statement grows with the columns, on a
# local DuckDB file under the test-only switch PG2MD_TEST_MOTHERDUCK_RULES=1:
#   - a package whose stored schema passes 512 KB (two tables of 1,400 columns with long names,
#     about 210 bytes each in the schema): it loads, the schema stored in _dlt_version is the
#     same text a local load stores (written in pieces through a temporary table), the data
#     equals the source (value by value for the narrow table, pg2md verify's checksum for the
#     wide ones); pg2md drop of one of them rewrites the schema the same way;
#   - the pipeline state read back through the MotherDuck branch (a local file stands in for
#     it): the pipelines folder deleted, an incremental append continues with no duplicate;
#   - --direct of a wide table (its writer's statements checked), and a table whose --direct
#     statement passes 512 KB (a long transform) refused before anything is read, by name.
. "$(dirname "$0")/../lib/common.sh"
t_init md_caps
require_pg2md

# 1,400 integer columns named with 62 characters, one more with a quote and non-ASCII letters
cols=$(seq -w 1 1400 | sed 's/.*/a_rather_long_column_name_so_the_stored_schema_grows_fast_& int/' | paste -sd,)
vals=$(seq 1 1400 | sed 's/.*/CASE WHEN g % 5 = & % 5 THEN NULL ELSE g * & END/' | paste -sd,)
for t in w1 w2; do
	# (on stdin: more than an argument may hold)
	pg <<<"CREATE TABLE $t (id int PRIMARY KEY, \"it's naïve ☃\" text, $cols);
	       INSERT INTO $t SELECT g, 'é''' || g, $vals FROM generate_series(1, 40) g" ||
		t_bail "could not create $t"
done
pg -c "CREATE TABLE narrow (id int PRIMARY KEY, v text, at timestamptz);
       INSERT INTO narrow SELECT g, 'v' || g, TIMESTAMPTZ '2026-01-01' + g * interval '1 minute'
       FROM generate_series(1, 500) g" || t_bail "could not create narrow"
CONF='[sources.sql_database.narrow]
write_disposition = "append"
incremental.cursor_path = "id"'
SCHEMA_SQL="SELECT version_hash, md5(schema), length(schema) FROM pg2md_data._dlt_version ORDER BY version DESC LIMIT 1"

# --- the reference: a local load, no rules ----------------------------------------------------------
L=$T_TMP/local
make_project "$L" --tables "w1 w2 narrow" --config "$CONF"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$L"
ref=$(ddbq "$L/pg2md.duckdb" "$SCHEMA_SQL")
[ "$(echo "$ref" | cut -f3)" -gt 524288 ] && t_pass "the stored schema passes 512 KB ($(echo "$ref" | cut -f3) bytes)" ||
	t_fail "the stored schema is under 512 KB: the test tests nothing" "$ref"

# --- the same package under the rules ---------------------------------------------------------------
export PG2MD_TEST_MOTHERDUCK_RULES=1
M=$T_TMP/rules
DB=$M/pg2md.duckdb
make_project "$M" --tables "w1 w2 narrow" --config "$CONF"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$M" --log-level DEBUG
assert_contains "$(cat "$T_ERR")" "steps up to" "rules: loaded in steps"
assert_eq "$ref" "$(ddbq "$DB" "$SCHEMA_SQL")" "rules: the stored schema is the local load's, byte for byte (hash, md5, length)"
assert_eq 1 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data._dlt_pipeline_state")" "rules: the state recorded"
assert_table_equal public narrow "$DB" pg2md_data narrow "rules: narrow"
assert_exit 0 "$PG2MD_BIN" verify --project-dir "$M" --tables w1,w2
assert_contains "$(cat "$T_OUT")" "2 ok, 0 different" "rules: the wide tables equal the source (verify's checksum)"

# --- pg2md drop under the rules: the schema without w2 (still over 128 KB: in pieces) --------------
assert_exit 0 "$PG2MD_BIN" drop --project-dir "$M" --tables w2 --yes
assert_eq "" "$(ddbq "$DB" "SELECT table_name FROM duckdb_tables() WHERE table_name = 'w2'")" "drop: w2 gone"
after=$(ddbq "$DB" "SELECT list_sort([t->>'name' FOR t IN CAST(schema->'tables' AS JSON[])]), length(schema)
                   FROM pg2md_data._dlt_version ORDER BY version DESC LIMIT 1" | tr '\t' ' ')
assert_match "$after" "^\[narrow, w1\] [0-9]{6}$" "drop: the newest stored schema holds narrow and w1 ($after)"
assert_eq 40 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.w1")" "drop: w1 still there"

# --- the state read back from the destination (the MotherDuck branch): no local state -----------------
rm -rf "$M/.pg2md"
pg -c "INSERT INTO narrow SELECT g, 'new ' || g, now() FROM generate_series(501, 620) g"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$M" --tables narrow --log-level DEBUG
assert_contains "$(cat "$T_ERR")" "reading the pipeline state stored in DuckDB file" "no local state: read through dest_open"
assert_contains "$(cat "$T_ERR")" "restoring the pipeline state from the destination" "no local state: restored"
assert_table_equal public narrow "$DB" pg2md_data narrow "no local state: the new rows appended once, no duplicate"
assert_eq 2 "$(ddbq "$DB" "SELECT count(*) FROM pg2md_data._dlt_loads")" "no local state: two loads recorded"

# --- --direct under the rules: a wide table -------------------------------------------------------------
D=$T_TMP/direct
make_project "$D" --tables "w1"
assert_exit 0 "$PG2MD_BIN" run --direct --project-dir "$D" --log-level DEBUG
assert_match "$(cat "$T_ERR")" "one connection writes" "direct: one writer"
assert_exit 0 "$PG2MD_BIN" verify --project-dir "$D"
assert_contains "$(cat "$T_OUT")" "1 ok, 0 different" "direct: w1 equals the source (verify's checksum)"

# --- a --direct statement over 512 KB: refused by name, before anything is read --------------------------
pad=$(head -c 600000 /dev/zero | tr '\0' x)
make_project "$D" --tables "narrow" --config "[sources.sql_database.narrow]
transform = \"SELECT *, length('$pad') AS pad FROM data\""
assert_exit 1 "$PG2MD_BIN" run --direct --project-dir "$D"
assert_match "$(cat "$T_ERR")" "table \"narrow\": its copy is a statement of [0-9]+ bytes, over MotherDuck's limit of 524288 bytes" \
	"direct: the statement over the cap refused, naming the table"
assert_contains "$(cat "$T_ERR")" "excluded_columns" "direct: the hint says the fix"
assert_eq "" "$(ddbq "$D/pg2md.duckdb" "SELECT table_name FROM duckdb_tables() WHERE table_name IN ('narrow', '_pg2md_new__narrow')")" \
	"direct: nothing written, no work table left"
# staged, the transform runs on this machine: the same table loads
assert_exit 0 "$PG2MD_BIN" run --project-dir "$D"
assert_eq "620 600000" "$(ddbq "$D/pg2md.duckdb" "SELECT count(*), min(pad) FROM pg2md_data.narrow" | tr '\t' ' ')" \
	"staged: the long transform loads"

t_done

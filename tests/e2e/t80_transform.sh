#!/usr/bin/env bash
# t80_transform — choosing rows and columns at the source (where, included/excluded_columns) and
# reshaping rows with a DuckDB SQL transform: a PII-masking transform whose raw values never reach
# the staging files or the destination, a transform that does not bind is refused before any
# data moves, and transforms compose with merge and incremental loading, staged and direct.
. "$(dirname "$0")/../lib/common.sh"
t_init transform
require_pg2md

pg -c "CREATE TABLE customer (c_id int primary key, c_name text, c_email_address text, c_ssn text,
                              deleted_at timestamptz, updated_at timestamptz);
       INSERT INTO customer SELECT g, 'name ' || g, 'person' || g || '@example.com', 'SSN-' || (100000 + g),
              CASE WHEN g % 10 = 0 THEN now() END, '2024-01-01'::timestamptz + g * interval '1 minute'
       FROM generate_series(1, 20000) g;"

MASK='transform = "SELECT * EXCLUDE (c_email_address), md5(c_email_address) AS c_email_hash, upper(c_name) AS c_name_upper FROM data"'

for mode in staged direct; do
	P=$T_TMP/$mode
	flag=""
	[ "$mode" = direct ] && flag=--direct
	make_project "$P" --tables "customer" --config "[sources.sql_database.customer]
excluded_columns = [\"c_ssn\"]
where = \"deleted_at IS NULL\"
$MASK"
	if [ "$mode" = staged ]; then
		# keep the staged files to inspect them: extract and normalize only, then look, then load
		assert_exit 0 "$PG2MD_BIN" extract --project-dir "$P"
		hits=$(grep -rl -a -e '@example.com' -e 'SSN-1' "$P/.pg2md" 2>/dev/null | head -3)
		assert_eq "" "$hits" "$mode: no raw e-mail address or SSN in the staging files"
		first_file=$(find "$P/.pg2md" -name '*.parquet' | head -1)
		assert_match "$first_file" 'parquet$' "$mode: the package holds Parquet files"
		assert_exit 0 "$PG2MD_BIN" normalize --project-dir "$P"
		assert_exit 0 "$PG2MD_BIN" load --project-dir "$P"
	else
		assert_exit 0 "$PG2MD_BIN" run $flag --project-dir "$P"
	fi
	DB=$P/pg2md.duckdb
	assert_eq "c_id c_name deleted_at updated_at c_email_hash c_name_upper" \
		"$(ddbq "$DB" "SELECT column_name FROM information_schema.columns WHERE table_schema = 'pg2md_data' AND table_name = 'customer' ORDER BY ordinal_position" | tr '\n' ' ' | sed 's/ $//')" \
		"$mode: the destination columns follow the transform's output"
	assert_eq "$(pgq "SELECT count(*) FROM customer WHERE deleted_at IS NULL")" \
		"$(ddbq "$DB" "SELECT count(*) FROM pg2md_data.customer")" "$mode: the source row filter applied"
	# every hash equals md5 of the source address, row by row (both sides compute md5 as hex)
	pgq "SELECT c_id, md5(c_email_address), upper(c_name) FROM customer WHERE deleted_at IS NULL ORDER BY c_id" >"$T_TMP/src.txt"
	ddbq "$DB" "SELECT c_id, c_email_hash, c_name_upper FROM pg2md_data.customer ORDER BY c_id" >"$T_TMP/dst.txt"
	assert_eq "" "$(diff "$T_TMP/src.txt" "$T_TMP/dst.txt" | head -3)" "$mode: every masked value equals md5 of the source value"
	hits=$(grep -c -a -e '@example.com' -e 'SSN-1' "$DB" 2>/dev/null || true)
	assert_eq 0 "$hits" "$mode: no raw e-mail address or SSN in the DuckDB file"
	hits=$(grep -rl -a -e '@example.com' -e 'SSN-1' "$P/.pg2md" 2>/dev/null | head -3)
	assert_eq "" "$hits" "$mode: no raw value anywhere in the pipeline folder"
done

# a transform that does not bind: exit 2 before any data moves, naming the table, DuckDB's message
P=$T_TMP/bad
make_project "$P" --tables "customer" --config '[sources.sql_database.customer]
transform = "SELECT no_such_column FROM data"'
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P"
assert_contains "$(cat "$T_ERR")" '"customer"' "bad transform: the message names the table"
assert_contains "$(cat "$T_ERR")" "no_such_column" "bad transform: DuckDB's message is shown"
assert_eq "" "$(find "$P" -name '*.parquet' 2>/dev/null)" "bad transform: nothing was extracted"
assert_eq "" "$(ls "$P"/pg2md.duckdb 2>/dev/null)" "bad transform: no destination was written"

# transform + merge + incremental: the cursor is read at the source, the key kept by the transform
P=$T_TMP/merge
make_project "$P" --tables "customer" --config "[sources.sql_database.customer]
write_disposition = \"merge\"
incremental.cursor_path = \"updated_at\"
$MASK"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
pg -c "UPDATE customer SET c_email_address = 'changed' || c_id || '@example.com', updated_at = now() WHERE c_id <= 50;
       INSERT INTO customer VALUES (20001, 'new', 'new@example.com', 'SSN-X', NULL, now());"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_eq "20001" "$(ddbq "$P/pg2md.duckdb" "SELECT count(*) FROM pg2md_data.customer")" "merge: one row per key after the second run"
assert_eq "$(pgq "SELECT md5(c_email_address) FROM customer WHERE c_id = 7")" \
	"$(ddbq "$P/pg2md.duckdb" "SELECT c_email_hash FROM pg2md_data.customer WHERE c_id = 7")" "merge: the updated row carries the new hash"
rows=$("$PG2MD_BIN" trace --json --project-dir "$P" | python3 -c 'import json,sys; print(sum(t["rows"] for t in json.load(sys.stdin)["tables"]))')
# 50 changed rows, the new one, and the row at the last value (the closed range start reads it
# again; merge makes it harmless)
assert_eq 52 "$rows" "incremental: the second run read only the changed rows, the new one and the boundary row"

t_done

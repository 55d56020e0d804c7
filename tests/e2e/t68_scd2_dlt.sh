#!/usr/bin/env bash
# t68_scd2_dlt — pg2md's scd2 against dlt's own: the same table loaded three times, with updates,
# deletes and a re-insert in between, by dlt (sql_database, backend "sqlalchemy", the scd2 merge
# strategy, dlt's duckdb destination) and by pg2md, each into its own DuckDB file after each
# change.  The two histories must agree: the same active rows value by value, the same number of
# versions of each row, and three load boundaries each.  dlt's ConnectorX backend (the guide's) is
# run once too, to record what it does with scd2 (docs/pipeline.md §10: its Arrow rows carry no
# _dlt_id, and dlt stops in normalize with UnboundColumnException).
#
# dlt comes from the benchmark's pinned virtual environment (bench/peers/venv.sh guide); when
# PyPI cannot be reached to install it, the test prints one "# SKIP:" line and exits 77.
. "$(dirname "$0")/../lib/common.sh"
t_init scd2_dlt
require_pg2md

venv_rc=0
PY=$("$PG2MD_SRC/bench/peers/venv.sh" guide 2>"$T_TMP/venv.err") || venv_rc=$?
sed 's/^/# /' "$T_TMP/venv.err"
if [ "$venv_rc" -eq 75 ]; then
	echo "# SKIP: PyPI cannot be reached to install dlt (bench/peers/venv.sh guide); the scd2 comparison with dlt did not run"
	t_cleanup
	trap - EXIT
	exit 77
fi
[ "$venv_rc" -eq 0 ] || t_bail "bench/peers/venv.sh guide failed (exit $venv_rc)" "$(cat "$T_TMP/venv.err")"

pg -c "CREATE TABLE dim (id int PRIMARY KEY, name text, city varchar(20), amount numeric(10,2), since date, vip boolean);
       INSERT INTO dim SELECT g, 'name' || g, CASE WHEN g % 4 = 0 THEN NULL ELSE 'city' || (g % 7) END, g * 1.25,
                              DATE '2024-01-01' + g, g % 3 = 0
       FROM generate_series(1, 40) g;"

for who in dlt cx pg2md; do
	make_project "$T_TMP/$who" --tables "dim" --config '[sources.sql_database.dim]
write_disposition = { disposition = "merge", strategy = "scd2" }'
done

load() { # load all three
	local t0
	t0=$(date +%s)
	assert_exit 0 bash -c "cd '$T_TMP/dlt' && exec \"\${@}\"" _ "${T_CLEAN_ENV[@]}" DLT_DATA_DIR="$T_TMP/dlt/dlt-data" \
		"$PY" "$PG2MD_SRC/tests/e2e/py/scd2_dlt.py" dim sqlalchemy || t_bail "dlt (sqlalchemy) failed"
	if [ "$1" = 1 ]; then
		# recorded, not required: what the guide's backend does with scd2
		t_run bash -c "cd '$T_TMP/cx' && exec \"\${@}\"" _ "${T_CLEAN_ENV[@]}" DLT_DATA_DIR="$T_TMP/cx/dlt-data" \
			"$PY" "$PG2MD_SRC/tests/e2e/py/scd2_dlt.py" dim connectorx
		t_diag "dlt with the guide's ConnectorX backend: exit $T_RC; $(grep -Eo '[A-Za-z]+Exception: .{0,160}' "$T_ERR" | head -n 1)"
	fi
	assert_exit 0 "${T_CLEAN_ENV[@]}" "$PG2MD_BIN" run --project-dir "$T_TMP/pg2md" || t_bail "pg2md run failed"
	echo "# load $1: $(($(date +%s) - t0)) s"
}

load 1
pg -c "UPDATE dim SET name = name || '-v2' WHERE id % 5 = 0;      -- 8 updated
       DELETE FROM dim WHERE id IN (3, 13, 23);                     -- 3 deleted
       INSERT INTO dim VALUES (41, 'new41', 'x', 1.00, '2025-01-01', true);"
load 2
pg -c "INSERT INTO dim SELECT 3, 'name3', 'city3', 3.75, DATE '2024-01-04', true;  -- 3 back as it was
       UPDATE dim SET amount = amount + 1 WHERE id IN (10, 41);
       UPDATE dim SET city = NULL WHERE id = 1;"
load 3

# the comparison, in one DuckDB session over both files
PGM=$T_TMP/pg2md/pg2md.duckdb
q() { ddbq "$PGM" "ATTACH '$T_TMP/$1/pg2md.duckdb' AS o (READ_ONLY)" "$2"; }
USER_COLS="id, name, city, CAST(amount AS DECIMAL(10,2)) AS amount, since, vip"
diff_active=$(q dlt "SELECT count(*) FROM (
	(SELECT $USER_COLS FROM pg2md_data.dim WHERE _dlt_valid_to IS NULL EXCEPT ALL
	 SELECT $USER_COLS FROM o.pg2md_data.dim WHERE _dlt_valid_to IS NULL)
	UNION ALL
	(SELECT $USER_COLS FROM o.pg2md_data.dim WHERE _dlt_valid_to IS NULL EXCEPT ALL
	 SELECT $USER_COLS FROM pg2md_data.dim WHERE _dlt_valid_to IS NULL))")
assert_eq "0" "$diff_active" "the active rows of pg2md and dlt are the same, value by value"
assert_eq "$(pgq "SELECT count(*) FROM dim")" "$(ddbq "$PGM" "SELECT count(*) FROM pg2md_data.dim WHERE _dlt_valid_to IS NULL")" \
	"as many active rows as the source has rows"
versions() { # FILE-OWNER — id:versions for every id
	q "$1" "SELECT string_agg(id || ':' || n, ' ' ORDER BY id) FROM (SELECT id, count(*) n FROM $2.dim GROUP BY id)"
}
assert_eq "$(versions dlt o.pg2md_data)" "$(versions dlt pg2md_data)" "the same number of versions of each row as dlt"
assert_eq "$(q dlt "SELECT count(*) FROM o.pg2md_data.dim")" "$(ddbq "$PGM" "SELECT count(*) FROM pg2md_data.dim")" \
	"the same number of versions in all"
assert_eq "3 2" "$(ddbq "$PGM" "SELECT count(DISTINCT _dlt_valid_from), count(DISTINCT _dlt_valid_to) FROM pg2md_data.dim" | tr '\t' ' ')" \
	"pg2md: three boundaries opened versions, two retired them"
assert_eq "3 2" "$(q dlt "SELECT count(DISTINCT _dlt_valid_from), count(DISTINCT _dlt_valid_to) FROM o.pg2md_data.dim" | tr '\t' ' ')" \
	"dlt: the same"
t_diag "dlt (sqlalchemy): $(q dlt "SELECT count(*) FROM o.pg2md_data.dim") versions; pg2md: $(ddbq "$PGM" "SELECT count(*) FROM pg2md_data.dim")"

t_done

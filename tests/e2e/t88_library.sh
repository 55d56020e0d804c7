#!/usr/bin/env bash
# t88_library.sh — libpg2md as a library: `cmake --install` into a DESTDIR staging root installs
# the header, the shared library (exporting pg2md.h's functions only), a pkg-config file, the
# libduckdb.so it runs with, the binary and the man page; examples/copy_tables.c builds against
# that install with `pkg-config --cflags --libs pg2md` and copies tables exactly (compared value
# by value with the source); the library prints nothing itself (log lines reach the callback),
# errors arrive as a status plus message, hint and SQLSTATE; the installed binary runs.
. "$(dirname "$0")/../lib/common.sh"
t_init library

BUILD=$(cd "$(dirname "$PG2MD_BIN")" && pwd)
ROOT=$T_TMP/root
PREFIX=/usr/local
if ! DESTDIR=$ROOT cmake --install "$BUILD" --prefix "$PREFIX" >"$T_TMP/install.log" 2>&1; then
	t_bail "cmake --install failed: $(tail -5 "$T_TMP/install.log")"
fi
LIB=$ROOT$PREFIX/lib
for f in include/pg2md.h lib/libpg2md.so lib/pkgconfig/pg2md.pc lib/pg2md/libduckdb.so bin/pg2md share/man/man1/pg2md.1; do
	if [ -e "$ROOT$PREFIX/$f" ]; then t_pass "installed $f"; else t_fail "installed $f" "missing: $ROOT$PREFIX/$f"; fi
done
assert_eq "pg2md_cancel pg2md_check pg2md_close pg2md_describe pg2md_drop_all pg2md_drop_pending pg2md_drop_replication pg2md_drop_tables pg2md_follow pg2md_follow_reload pg2md_free pg2md_holds_secret pg2md_last_run pg2md_last_trace pg2md_loads pg2md_lsn_format pg2md_lsn_parse pg2md_open pg2md_packages pg2md_run pg2md_running_json pg2md_set_log pg2md_set_progress pg2md_setting pg2md_settings pg2md_slot pg2md_sql pg2md_sqlv pg2md_trace_json pg2md_verify pg2md_version pg2md_watermarks" \
	"$(nm -D --defined-only "$LIB/libpg2md.so" | awk '{ print $3 }' | sort | paste -sd' ')" \
	"libpg2md.so exports the functions of pg2md.h and nothing else"

# the example, built as a user would, against the staged install (a sanitizer build's library
# needs the sanitizer's runtime in the program too)
san=$(sed -n 's/^PG2MD_SANITIZE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
cflags=(-O1 -g)
[ -n "$san" ] && cflags+=("-fsanitize=$san")
export PKG_CONFIG_PATH=$LIB/pkgconfig
if flags=$(pkg-config --define-prefix --cflags --libs pg2md 2>"$T_TMP/pc.err"); then
	t_pass "pkg-config finds pg2md in the install"
else
	t_fail "pkg-config finds pg2md in the install" "$(cat "$T_TMP/pc.err")"
fi
# shellcheck disable=SC2086 # flags are words
if cc -std=c11 -Wall -Wextra -Werror "${cflags[@]}" "$PG2MD_SRC/examples/copy_tables.c" $flags -o "$T_TMP/copy_tables" 2>"$T_TMP/cc.err"; then
	t_pass "examples/copy_tables.c builds against the install with pkg-config, no warnings"
else
	t_bail "examples/copy_tables.c does not build: $(head -20 "$T_TMP/cc.err")"
fi
assert_not_contains "$(readelf -d "$T_TMP/copy_tables" "$LIB/libpg2md.so" | grep -E 'RPATH|RUNPATH')" "$PG2MD_SRC" \
	"nothing installed depends on the build tree"

pg <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, code char(8), price numeric, tags text[], added timestamptz);
INSERT INTO items SELECT g, 'c' || g, g * 1.25, ARRAY['t' || g % 3, NULL], TIMESTAMPTZ '2024-01-01 00:00+00' + g * interval '1 hour'
  FROM generate_series(1, 3000) g;
CREATE TABLE odd (id int PRIMARY KEY, x numeric);
INSERT INTO odd VALUES (1, 'NaN'), (2, 1.5);
SQL
P=$T_TMP/p
make_project "$P" --tables "items odd"
assert_exit 0 "$T_TMP/copy_tables" "$P" items
assert_contains "$(cat "$T_OUT")" 'schema "public" (' "the setting and where it came from"
assert_contains "$(cat "$T_OUT")" '2 tables, 3002 rows (3002 read when extraction ended)' \
	"the run's figures from pg2md_last_run; the progress callback's last call"
assert_contains "$(cat "$T_OUT")" $'  items -> pg2md_data.items: 3000 rows\n  odd -> pg2md_data.odd: 2 rows\nverify: 2 tables, 0 different\n3000' \
	"per table, pg2md_verify, then the SQL answer through pg2md_sql"
assert_contains "$(cat "$T_OUT")" 'check: 7 passed, 0 failed' "pg2md_check: every item passed (source and destination)"
assert_contains "$(cat "$T_OUT")" '0 packages pending, 1 load recorded in pg2md_data, the newest this run'"'"'s' \
	"pg2md_packages and pg2md_loads: nothing pending, the run's load recorded"
assert_table_equal public items "$P/pg2md.duckdb" pg2md_data items "the library's copy equals the source, value by value"
assert_table_equal public odd "$P/pg2md.duckdb" pg2md_data odd "the library's copy of a NaN numeric equals the source"
assert_contains "$(cat "$T_ERR")" 'copy_tables: log 30: column "x" of table "odd" (numeric) holds NaN' "a warning reaches the log callback"
assert_not_contains "$(cat "$T_ERR")" 'pg2md: ' "the library itself writes nothing to stderr"
assert_exit 0 "$PG2MD_BIN" verify --project-dir "$P"
assert_exit 0 "$PG2MD_BIN" trace --project-dir "$P"
assert_contains "$(cat "$T_OUT")" "3.0 k" "the library's run is kept for pg2md trace"

# errors: a status, the message and its hint; a server error carries its SQLSTATE
assert_exit 2 "$T_TMP/copy_tables" "$T_TMP/nowhere"
assert_contains "$(cat "$T_ERR")" 'open failed (status 2): project folder' "a configuration error: status 2 and the message"
make_project "$P" --tables "items" --config '[sources.sql_database.items]
where = "no_such_column > 0"'
assert_exit 1 "$T_TMP/copy_tables" "$P"
assert_contains "$(cat "$T_ERR")" 'run failed (status 1, SQLSTATE 42703)' "a server error: its SQLSTATE"
make_project "$P" --tables "items" --password wrong-password
assert_exit 3 "$T_TMP/copy_tables" "$P"
assert_not_contains "$(cat "$T_ERR")" 'wrong-password' "a connection error: status 3, the password nowhere"

# the installed binary runs from the staging root (RUNPATH $ORIGIN/../lib/pg2md)
assert_exit 0 env -u LD_LIBRARY_PATH "$ROOT$PREFIX/bin/pg2md" --version
t_done

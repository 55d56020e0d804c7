/*
 * test_motherduck.c — the MotherDuck client's pieces that need no server: the user agent
 * MotherDuck's format asks for, the DuckDB versions MotherDuck supports (1.4.0 to 1.5.x), and
 * the offline extension file refused clearly when it is missing, misnamed or not an extension;
 * the split of a package's files, and of a long text value, under MotherDuck's 512 KB cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <duckdb.h>

#include "dest/load.h"
#include "dest/motherduck.h"
#include "pg2md.h"

static void
user_agent_is_integration_slash_version(void **state)
{
	(void)state;
	assert_string_equal(md_user_agent(), "pg2md/" PG2MD_VERSION);
	assert_null(strchr(md_user_agent(), ' '));
}

static void
supported_versions(void **state)
{
	(void)state;
	assert_true(md_duckdb_supported("v1.4.0"));
	assert_true(md_duckdb_supported("v1.4.4"));
	assert_true(md_duckdb_supported("1.5.9"));
	assert_false(md_duckdb_supported("v1.3.2"));
	assert_false(md_duckdb_supported("v1.6.0"));
	assert_false(md_duckdb_supported("v2.0.0"));
	assert_false(md_duckdb_supported("dev"));
	assert_false(md_duckdb_supported(NULL));
	/* the DuckDB pg2md is built with is one */
	assert_true(md_duckdb_supported(duckdb_library_version()));
}

static void
extension_file_refused_clearly(void **state)
{
	char dir[] = "/tmp/pg2md_md_XXXXXX", path[128];
	pg2md_error err;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));

	pg2md_error_init(&err);
	snprintf(path, sizeof(path), "%s/motherduck.duckdb_extension", dir);
	assert_int_equal(md_extension_install(path, &err), PG2MD_ERR_USAGE);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "No such file"));
	assert_non_null(strstr(err.hint, "extension_path"));

	/* not an extension at all */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not an extension\n", f);
	fclose(f);
	pg2md_error_init(&err);
	assert_int_equal(md_extension_install(path, &err), PG2MD_ERR_USAGE);
	assert_non_null(strstr(err.msg, "cannot be used by this DuckDB"));
	assert_non_null(strstr(err.detail, "not a DuckDB extension"));
	unlink(path);

	/* DuckDB names an extension after its file */
	snprintf(path, sizeof(path), "%s/md.duckdb_extension.gz", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	pg2md_error_init(&err);
	assert_int_equal(md_extension_install(path, &err), PG2MD_ERR_USAGE);
	assert_non_null(strstr(err.msg, "must be named motherduck.duckdb_extension"));
	unlink(path);
	rmdir(dir);
}

/* A package of 5,000 files with long paths (about 1.5 MB of read_parquet list): every step's
 * statement under MotherDuck's 512 KB, every file in exactly one step, batch_size rows at most
 * (a file larger than it read in row ranges). */
static void
steps_split_thousands_of_files(void **state)
{
	json_t *jt = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:b}], s:[], s:[]}", "name", "t", "dest_name", "t",
			       "write_disposition", "append", "columns", "name", "id", "dest_name", "id", "duck_type",
			       "INTEGER", "nullable", 1, "files", "file_rows");
	json_t *doc = json_pack("{s:s, s:s, s:[o]}", "load_id", "1", "dataset_name", "ds", "tables", jt);
	pg2md_manifest m;
	pg2md_error err;
	char dir[400], name[64];
	int64_t total = 0;
	size_t i;
	json_t *steps, *st;

	(void)state;
	memset(dir, 'd', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	for (int f = 0; f < 5000; f++) {
		snprintf(name, sizeof(name), "t/part_%d.parquet", f);
		json_array_append_new(json_object_get(jt, "files"), json_string(name));
		json_array_append_new(json_object_get(jt, "file_rows"), json_integer(f == 17 ? 2500 : 10));
	}
	pg2md_error_init(&err);
	assert_int_equal(manifest_parse(doc, "test", &m, &err), PG2MD_OK);
	steps = md_load_steps(&m.tables[0], "ds", dir, 1000);
	assert_true(json_array_size(steps) > 3);
	json_array_foreach(steps, i, st) {
		const char *sql = json_string_value(json_object_get(st, "sql"));
		assert_true(strlen(sql) < MD_STATEMENT_MAX);
		assert_true(json_integer_value(json_object_get(st, "rows")) <= 1000);
		total += json_integer_value(json_object_get(st, "rows"));
	}
	assert_int_equal(total, 4999 * 10 + 2500);
	for (int f = 0; f < 5000; f += 499) {
		/* each file named once ("part_1.parquet'" is not part of "part_17.parquet'") */
		int seen = 0;
		snprintf(name, sizeof(name), "/t/part_%d.parquet'", f);
		json_array_foreach(steps, i, st)
			for (const char *p = json_string_value(json_object_get(st, "sql")); (p = strstr(p, name)); p++)
				seen++;
		assert_int_equal(seen, 1);
	}
	json_decref(steps);
	manifest_free(&m);
	json_decref(doc);
}

/* Count the statements of sql (each ends ";\n") and check each is under the cap. */
static int
statements_under_cap(const char *sql)
{
	int n = 0;
	for (const char *p = sql, *end; *p; p = end + 2, n++) {
		end = strstr(p, ";\n");
		assert_non_null(end);
		assert_true((size_t)(end - p) < MD_STATEMENT_MAX);
	}
	return n;
}

/* A long text value under the rules: written in pieces (never cut inside a UTF-8 character,
 * quotes doubled), each statement under the cap, and read back byte for byte; outside the rules,
 * or short, it is one literal. */
static void
long_text_in_pieces(void **state)
{
	/* "xy", then 2-byte characters (the cut at MD_TEXT_PIECE falls inside one), a quote and a
	 * 4-byte character every 1,000 */
	size_t len = 0, cap = 700 * 1024;
	char *text = malloc(cap + 8);
	pg2md_buf pre = PG2MD_BUF_INIT, value = PG2MD_BUF_INIT, sql = PG2MD_BUF_INIT;
	duckdb_database db;
	duckdb_connection con;
	duckdb_result res;
	pg2md_error err;

	(void)state;
	assert_non_null(text);
	text[len++] = 'x';
	text[len++] = 'y';
	for (int i = 0; len < cap; i++) {
		const char *piece = i % 1000 == 999 ? "'\xf0\x9f\xa6\x86" : "\xc3\xa9";
		memcpy(text + len, piece, strlen(piece));
		len += strlen(piece);
	}
	text[len] = '\0';
	assert_int_equal((unsigned char)text[MD_TEXT_PIECE] & 0xC0, 0x80);

	md_text_value(&pre, &value, true, "schema", text);
	assert_true(statements_under_cap(pre.data) >= 6);
	assert_null(strstr(value.data, "\xc3\xa9")); /* the value reads the pieces */
	buf_puts(&sql, pre.data);
	buf_puts(&sql, "SELECT ");
	buf_append(&sql, value.data, value.len);
	buf_puts(&sql, " = ");
	buf_literal(&sql, text); /* DuckDB takes a long literal: the cap is MotherDuck's */
	buf_puts(&sql, ", strlen(");
	buf_append(&sql, value.data, value.len);
	buf_puts(&sql, ")");
	assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
	assert_int_equal(duckdb_connect(db, &con), DuckDBSuccess);
	assert_int_equal(duckdb_query(con, "BEGIN", NULL), DuckDBSuccess);
	if (duckdb_query(con, sql.data, &res) == DuckDBError)
		fail_msg("%s", duckdb_result_error(&res));
	assert_true(duckdb_value_boolean(&res, 0, 0));
	assert_int_equal(duckdb_value_int64(&res, 1, 0), (int64_t)len);
	duckdb_destroy_result(&res);
	assert_int_equal(duckdb_query(con, "COMMIT", NULL), DuckDBSuccess);
	duckdb_disconnect(&con);
	duckdb_close(&db);

	/* a checked statement list with the pieces passes; the plain literal would not */
	pg2md_error_init(&err);
	assert_int_equal(md_statements_check(pre.data, "test", &err), PG2MD_OK);
	buf_reset(&pre);
	buf_reset(&value);
	md_text_value(&pre, &value, false, "schema", text);
	assert_int_equal((int)pre.len, 0);
	assert_true(value.len > MD_STATEMENT_MAX);
	buf_reset(&value);
	md_text_value(&pre, &value, true, "state", "{\"a\":\"it's\"}");
	assert_int_equal((int)pre.len, 0);
	assert_string_equal(value.data, "'{\"a\":\"it''s\"}'");
	buf_release(&pre);
	buf_release(&value);
	buf_release(&sql);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(user_agent_is_integration_slash_version),
		cmocka_unit_test(supported_versions),
		cmocka_unit_test(extension_file_refused_clearly),
		cmocka_unit_test(steps_split_thousands_of_files),
		cmocka_unit_test(long_text_in_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_duck.c — what the run's retry of a task relies on in DuckDB's C API: a statement that
 * runs out of a real memory budget reads back as out of memory (duck_out_of_memory), and other
 * failures (a missing table, an invalid cast, an error whose text only says so) do not; a COMMIT
 * that runs out of memory at its checkpoint reads back as such (duck_commit_out_of_memory), and
 * what it leaves behind is what the file keeps (commit.c, commit_settle, counts on it).
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

#include "dest/duck.h"

typedef struct fixture {
	duckdb_database db;
	duckdb_connection con;
} fixture;

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	duckdb_result res;

	assert_non_null(f);
	assert_int_equal(duckdb_open(NULL, &f->db), DuckDBSuccess);
	assert_int_equal(duckdb_connect(f->db, &f->con), DuckDBSuccess);
	/* a small budget, one thread, nowhere to spill to */
	assert_int_equal(duckdb_query(f->con, "SET memory_limit = '32MB'; SET threads = 1; SET temp_directory = ''",
				      &res),
			 DuckDBSuccess);
	duckdb_destroy_result(&res);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;
	duckdb_disconnect(&f->con);
	duckdb_close(&f->db);
	free(f);
	return 0;
}

/* Run sql, which must fail; returns duck_out_of_memory of its result. */
static bool
fails_out_of_memory(fixture *f, const char *sql)
{
	duckdb_result res;
	bool oom;

	assert_int_equal(duckdb_query(f->con, sql, &res), DuckDBError);
	oom = duck_out_of_memory(&res);
	duckdb_destroy_result(&res);
	return oom;
}

static void
a_real_out_of_memory_is_one(void **state)
{
	/* 200 MB of strings in one aggregate state, under a 32 MB budget that cannot spill */
	assert_true(fails_out_of_memory(*state, "SELECT length(string_agg(repeat('x', 2000), '')) "
						 "FROM range(100000)"));
}

static void
other_failures_are_not(void **state)
{
	fixture *f = *state;

	assert_false(fails_out_of_memory(f, "SELECT * FROM no_such_table"));
	assert_false(fails_out_of_memory(f, "SELECT CAST('x' AS INTEGER)"));
	assert_false(fails_out_of_memory(f, "SELECT error('Out of Memory Error: only its text')"));
}

/* The first row's first column of sql on con, as text ("" on failure); the caller frees it. */
static char *
scalar(duckdb_connection con, const char *sql)
{
	duckdb_result res;
	char *v = NULL, *out;

	if (duckdb_query(con, sql, &res) == DuckDBSuccess)
		v = duckdb_value_varchar(&res, 0, 0);
	out = strdup(v ? v : "");
	duckdb_free(v);
	duckdb_destroy_result(&res);
	return out;
}

static void
exec_ok(duckdb_connection con, const char *sql)
{
	duckdb_result res;
	duckdb_state st = duckdb_query(con, sql, &res);
	if (st != DuckDBSuccess)
		print_message("%s: %s\n", sql, duckdb_result_error(&res));
	duckdb_destroy_result(&res);
	assert_int_equal(st, DuckDBSuccess);
}

/*
 * A direct task's COMMIT of 12 rows of 6 MB into an empty table, with the budget lowered below
 * their window before it, as pg2md commits (checkpoint at commit): DuckDB 1.4.4 fails it with a
 * TransactionContext error ("Failed to commit: Failed to create checkpoint because of error:
 * failed to pin block of size …"), which must read as out of memory.  The table then holds all
 * the rows or none (1.4.4: none, while a one-row table written in the same transaction kept its
 * row: why commit_settle counts the work table itself), and the file holds what the count said.
 */
static void
a_commit_out_of_memory(void **state)
{
	char dir[] = "/tmp/pg2md-test-duck.XXXXXX", path[64];
	duckdb_database db;
	duckdb_connection con;
	duckdb_result res;
	char *rows, *marker, *again;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.duckdb", dir);
	assert_int_equal(duckdb_open(path, &db), DuckDBSuccess);
	assert_int_equal(duckdb_connect(db, &con), DuckDBSuccess);
	exec_ok(con, "SET memory_limit = '1GB'; SET threads = 1; SET checkpoint_threshold = '0b'");
	exec_ok(con, "CREATE TABLE w (id INTEGER, t VARCHAR); CREATE TABLE marker (task INTEGER)");
	exec_ok(con, "BEGIN TRANSACTION");
	exec_ok(con, "INSERT INTO w SELECT i, repeat(chr(65 + i::INTEGER), 6000000) FROM range(12) r(i)");
	exec_ok(con, "INSERT INTO marker VALUES (1)");
	exec_ok(con, "SET memory_limit = '64MB'");
	assert_int_equal(duckdb_query(con, "COMMIT", &res), DuckDBError);
	print_message("COMMIT: %.160s\n", duckdb_result_error(&res));
	assert_true(duck_commit_out_of_memory(&res));
	duckdb_destroy_result(&res);
	duckdb_query(con, "ROLLBACK", &res); /* no transaction left: an error, ignored */
	duckdb_destroy_result(&res);
	rows = scalar(con, "SELECT count(*) FROM w");
	marker = scalar(con, "SELECT count(*) FROM marker");
	print_message("after the failed COMMIT: %s of 12 rows, %s of 1 record\n", rows, marker);
	assert_true(strcmp(rows, "0") == 0 || strcmp(rows, "12") == 0);
	/* what the count said is what the file keeps */
	exec_ok(con, "SET memory_limit = '1GB'");
	exec_ok(con, "CHECKPOINT");
	duckdb_disconnect(&con);
	duckdb_close(&db);
	assert_int_equal(duckdb_open(path, &db), DuckDBSuccess);
	assert_int_equal(duckdb_connect(db, &con), DuckDBSuccess);
	again = scalar(con, "SELECT count(*) FROM w");
	assert_string_equal(rows, again);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	free(rows);
	free(marker);
	free(again);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t.duckdb.wal", dir);
	unlink(path);
	rmdir(dir);
}

static void
other_commit_failures_are_not(void **state)
{
	fixture *f = *state;
	duckdb_result res;

	/* no transaction to commit: a transaction error of another kind */
	assert_int_equal(duckdb_query(f->con, "COMMIT", &res), DuckDBError);
	assert_false(duck_commit_out_of_memory(&res));
	duckdb_destroy_result(&res);
	assert_int_equal(duckdb_query(f->con, "SELECT error('Failed to commit: failed to pin block of size 1 MiB')", &res),
			 DuckDBError);
	assert_false(duck_commit_out_of_memory(&res));
	duckdb_destroy_result(&res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_real_out_of_memory_is_one),
		cmocka_unit_test(other_failures_are_not),
		cmocka_unit_test(a_commit_out_of_memory),
		cmocka_unit_test(other_commit_failures_are_not),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_duck.c — what the run's retry of a task relies on in DuckDB's C API: a statement that
 * runs out of a real memory budget reads back as out of memory (duck_out_of_memory), and other
 * failures (a missing table, an invalid cast, an error whose text only says so) do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_real_out_of_memory_is_one),
		cmocka_unit_test(other_failures_are_not),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

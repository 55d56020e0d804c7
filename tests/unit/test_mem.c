/*
 * test_mem.c — running out of memory is an error, not an abort (util/mem.h, util/buf.h): an
 * allocation that fails gives back the reserve and succeeds on its retry, remembering that
 * memory ran out; a buffer that cannot grow breaks (libpq's PQExpBuffer) and stays broken
 * without writing anywhere; a broken buffer's statement never runs (PG2MD_ERR_NOMEM); the
 * stages see memory running out as a reason to stop; the next call starts afresh.
 *
 * The faults "alloc" and "alloc_hard" (util/fault.h) stand for memory running out; the
 * environment arms them before the first allocation, as the tests of the binary do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dest/duck.h"
#include "util/buf.h"
#include "util/interrupt.h"
#include "util/mem.h"

/* Armed in main: "alloc", after one allocation that passes. */
static void
a_failed_allocation_is_retried_and_remembered(void **state)
{
	(void)state;
	mem_begin();
	assert_false(mem_short());
	void *a = mem_malloc(100); /* passes (PG2MD_FAULT_FAIL_SKIP=1) */
	assert_non_null(a);
	assert_false(mem_short());
	void *b = mem_malloc(100); /* fails once, the reserve is released, the retry succeeds */
	assert_non_null(b);
	assert_true(mem_short());
	assert_int_equal(interrupt_reason(), PG2MD_ERR_NOMEM);
	assert_true(interrupt_requested());
	assert_string_equal(interrupt_what(), "out of memory");
	free(a);
	free(b);
	mem_begin(); /* the next call of the interface */
	assert_false(mem_short());
	assert_int_equal(interrupt_reason(), PG2MD_OK);
}

static void
a_buffer_breaks_instead_of_aborting(void **state)
{
	pg2md_buf b = PG2MD_BUF_INIT;
	pg2md_error err;
	duckdb_database db;
	duckdb_connection con;
	(void)state;

	mem_begin();
	buf_puts(&b, "SELECT 1");
	assert_false(buf_broken(&b));
	/* every attempt to grow it fails from now on (alloc_hard): the reserve is spent, it breaks */
	for (int i = 0; i < 64 && !buf_broken(&b); i++)
		buf_puts(&b, " UNION ALL SELECT 1 UNION ALL SELECT 1 UNION ALL SELECT 1 UNION ALL SELECT 1");
	assert_true(buf_broken(&b));
	assert_true(buf_is_oom(b.data));
	assert_string_equal(b.data, "");
	assert_true(mem_short());
	buf_printf(&b, "%s", "more");
	buf_putc(&b, 'x');
	buf_reset(&b);
	assert_true(buf_broken(&b)); /* stays broken: nothing half-built ever reads as complete */

	/* its statement never runs */
	assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
	assert_int_equal(duckdb_connect(db, &con), DuckDBSuccess);
	pg2md_error_init(&err);
	assert_int_equal(duck_exec(con, b.data, "loading", &err), PG2MD_ERR_NOMEM);
	assert_string_equal(err.msg, "out of memory while loading");
	duckdb_disconnect(&con);
	duckdb_close(&db);

	char *s = buf_detach(&b); /* NULL: its user fails with out of memory, never reads "" as complete */
	assert_null(s);
	assert_null(b.data);
	buf_release(&b);
	assert_null(b.data);
}

/* Each group in a process of its own: the faults are read from the environment once. */
static int
run_group(const char *name, const struct CMUnitTest *tests, size_t n, const char *point, const char *skip)
{
	int status;
	pid_t pid = fork();
	if (pid == 0) {
		setenv("PG2MD_FAULT_FAIL", point, 1);
		setenv("PG2MD_FAULT_FAIL_SKIP", skip, 1);
		setenv("PG2MD_FAULT_FAIL_TIMES", "1000", 1);
		_exit(_cmocka_run_group_tests(name, tests, n, NULL, NULL) == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int
main(void)
{
	const struct CMUnitTest soft[] = {
		cmocka_unit_test(a_failed_allocation_is_retried_and_remembered),
	};
	const struct CMUnitTest hard[] = {
		cmocka_unit_test(a_buffer_breaks_instead_of_aborting),
	};
	/* "alloc": each allocation after the first fails once; "alloc_hard": the buffer's first
	 * growth passes (the skip), every one after fails */
	return run_group("soft", soft, sizeof(soft) / sizeof(soft[0]), "alloc", "1") |
	       run_group("hard", hard, sizeof(hard) / sizeof(hard[0]), "alloc_hard", "1");
}

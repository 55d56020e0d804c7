/*
 * test_nomem_lib.c — the library's shared pieces when an allocation fails for good (fault
 * "alloc_hard", util/mem.c): a string that never came (NULL) breaks a buffer instead of crashing
 * it; a checklist that cannot keep an item is broken (cl->oom) and holds only whole items; a
 * manifest table copy that runs out of memory says so and keeps nothing (no leak, no double
 * free: run under ASan).
 *
 * The fault is read from the environment once per process, so each group runs in a process of
 * its own (as test_mem.c does).
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

#include "schema/manifest.h"
#include "util/buf.h"
#include "util/checklist.h"
#include "util/error.h"
#include "util/mem.h"

/* No fault armed. */
static void
a_null_string_breaks_the_buffer(void **state)
{
	(void)state;
	const char *none = NULL;
	pg2md_buf a = PG2MD_BUF_INIT, b = PG2MD_BUF_INIT, c = PG2MD_BUF_INIT;
	buf_puts(&a, "SELECT * FROM ");
	buf_ident(&a, none);
	buf_puts(&b, "SELECT ");
	buf_literal(&b, none);
	buf_puts(&c, none);
	assert_true(buf_broken(&a));
	assert_true(buf_broken(&b));
	assert_true(buf_broken(&c));
	assert_true(buf_is_oom(a.data)); /* pg_query, duck_exec refuse it with PG2MD_ERR_NOMEM */
	assert_null(buf_detach(&a));
	buf_release(&b);
	buf_release(&c);

	pg2md_error err;
	pg2md_error_init(&err);
	assert_int_equal(pg2md_nomem(&err), PG2MD_ERR_NOMEM);
	assert_string_equal(err.msg, "out of memory");
	/* the first failure stays */
	assert_int_equal(pg2md_fail(&err, PG2MD_ERR_RUN, "later"), PG2MD_ERR_NOMEM);
}

static int handed;

static void
count_item(void *arg, const checklist *cl, int i)
{
	(void)arg;
	assert_non_null(cl->items[i].text); /* only whole items are handed on */
	handed++;
}

/* Armed: "alloc_hard" after 3 allocations (the section's array and its two names). */
static void
a_checklist_breaks_and_keeps_whole_items(void **state)
{
	(void)state;
	checklist cl = CHECKLIST_INIT;
	cl.fn = count_item;
	mem_begin();
	checklist_section(&cl, "source", "PostgreSQL");
	assert_false(cl.oom);
	assert_int_equal(cl.nsections, 1);
	check_ok(&cl, "connected"); /* its text is vasprintf's; the items' array cannot grow */
	assert_true(cl.oom);
	assert_int_equal(cl.nitems, 0);
	check_failed(&cl, PG2MD_ERR_RUN, "table \"%s\" not found", "t"); /* nothing more is added */
	check_detail(&cl, "detail");
	check_note(&cl, "note");
	checklist_section(&cl, "destination", "DuckDB");
	checklist_flush(&cl);
	assert_int_equal(cl.nitems, 0);
	assert_int_equal(cl.nsections, 1);
	assert_int_equal(handed, 0);
	checklist_release(&cl);
	assert_false(cl.oom);
}

static manifest_column
column(const char *name)
{
	manifest_column c;
	memset(&c, 0, sizeof(c));
	c.name = strdup(name); /* not through mem.c: the fault never reaches the source table */
	c.dest_name = strdup(name);
	c.duck_type = strdup("VARCHAR");
	return c;
}

/* Armed: "alloc_hard" after a few allocations, in the middle of the copy. */
static void
a_manifest_copy_out_of_memory_is_freed_whole(void **state)
{
	(void)state;
	manifest_table src, dst;
	memset(&src, 0, sizeof(src));
	src.name = strdup("items");
	src.dest_name = strdup("items");
	src.disposition = strdup("merge");
	src.npk = 1;
	src.primary_key = calloc(2, sizeof(char *));
	src.primary_key[0] = strdup("id");
	src.scd2 = calloc(1, sizeof(manifest_scd2));
	src.scd2->valid_from = strdup("_dlt_valid_from");
	src.ncols = 2;
	src.cols = calloc(3, sizeof(manifest_column));
	src.cols[0] = column("id");
	src.cols[1] = column("code");
	src.nfiles = 1;
	src.files = calloc(2, sizeof(char *));
	src.files[0] = strdup("items.0.parquet");
	src.file_rows = calloc(2, sizeof(int64_t));
	src.incremental.cursor_path = strdup("at");

	mem_begin();
	assert_false(manifest_table_copy(&dst, &src));
	assert_true(mem_short());
	/* nothing half copied is kept (a caller that forgets to check reads an empty table) */
	assert_null(dst.name);
	assert_null(dst.cols);
	assert_int_equal(dst.ncols, 0);
	manifest_table_free(&dst); /* harmless */
	manifest_table_free(&src);
}

static int
run_group(const char *name, const struct CMUnitTest *tests, size_t n, const char *point, const char *skip)
{
	int status;
	pid_t pid = fork();
	if (pid == 0) {
		if (point) {
			setenv("PG2MD_FAULT_FAIL", point, 1);
			setenv("PG2MD_FAULT_FAIL_SKIP", skip, 1);
			setenv("PG2MD_FAULT_FAIL_TIMES", "100000", 1);
		}
		_exit(_cmocka_run_group_tests(name, tests, n, NULL, NULL) == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int
main(void)
{
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(a_null_string_breaks_the_buffer),
	};
	const struct CMUnitTest list[] = {
		cmocka_unit_test(a_checklist_breaks_and_keeps_whole_items),
	};
	const struct CMUnitTest copy[] = {
		cmocka_unit_test(a_manifest_copy_out_of_memory_is_freed_whole),
	};
	int failed = run_group("plain", plain, 1, NULL, NULL) | run_group("checklist", list, 1, "alloc_hard", "3");
	/* the copy failing at each of its first allocations in turn */
	for (int k = 0; k < 12; k++) {
		char skip[8];
		snprintf(skip, sizeof(skip), "%d", k);
		failed |= run_group("manifest copy", copy, 1, "alloc_hard", skip);
	}
	return failed;
}

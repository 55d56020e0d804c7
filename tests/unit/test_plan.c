/*
 * test_plan.c — the partition planner: page ranges cover every page exactly
 * once, the last range is open-ended, 64-bit page numbers survive, small
 * leaves are one task, partitions are planned one by one, tasks come largest
 * first, and the COPY statements say what they read.  When an allocation fails (the fault
 * "alloc_hard", util/fault.h) the planner returns -1 with nothing to free, whichever one it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stage/plan.h"
#include "util/mem.h"

static pg2md_column cols[2] = {
	{.name = "id", .dest_name = "id", .pg_type = "integer", .dec = DEC_INT4},
	{.name = "Note", .dest_name = "note", .pg_type = "inet", .dec = DEC_TEXT, .as_text = true, .text_out = "inet_out"},
};

static void
make_table(pg2md_table *t, const char *name, int nleaves, const int64_t *pages, int ncols)
{
	memset(t, 0, sizeof(*t));
	t->name = (char *)name;
	t->dest_name = (char *)name;
	t->relkind = nleaves > 1 ? 'p' : 'r';
	t->cols = cols;
	t->ncols = ncols;
	t->nleaves = nleaves;
	t->leaf_pages = calloc((size_t)nleaves + 1, sizeof(int64_t));
	t->leaf_names = calloc((size_t)nleaves + 1, sizeof(char *));
	for (int i = 0; i < nleaves; i++) {
		t->leaf_pages[i] = pages[i];
		t->leaf_names[i] = strdup(i == 0 ? "\"s\".\"t\"" : "\"s\".\"t_part\"");
	}
}

static void
free_table(pg2md_table *t)
{
	for (int i = 0; i < t->nleaves; i++)
		free(t->leaf_names[i]);
	free(t->leaf_names);
	free(t->leaf_pages);
}

static void
ranges_cover_every_page_once(void **state)
{
	(void)state;
	pg2md_table t;
	pg2md_task *tasks;
	int64_t pages[] = {10000};
	make_table(&t, "big", 1, pages, 1);
	int n = plan_tasks(&t, 1, NULL, 1000, &tasks);
	assert_int_equal(n, 10);
	/* sorted by size, the open-ended last range (size 1000 by measure) ties with the others: check coverage */
	int64_t covered = 0;
	int open_ended = 0;
	for (int64_t page = 0; page < 10000; page += 1000) {
		int hits = 0;
		for (int i = 0; i < n; i++) {
			int64_t lo = tasks[i].page_lo, hi = tasks[i].page_hi;
			if (page >= lo && (hi < 0 || page < hi))
				hits++;
		}
		assert_int_equal(hits, 1);
		covered++;
	}
	for (int i = 0; i < n; i++)
		if (tasks[i].page_hi < 0) {
			open_ended++;
			assert_true(tasks[i].page_lo == 9000);
			assert_non_null(strstr(tasks[i].copy_sql, "ctid >= '(9000,0)'::tid"));
			assert_null(strstr(tasks[i].copy_sql, "ctid <"));
		}
	assert_int_equal(open_ended, 1);
	assert_int_equal(covered, 10);
	plan_free(tasks, n);
	free_table(&t);
}

static void
small_tables_are_one_plain_copy(void **state)
{
	(void)state;
	pg2md_table t;
	pg2md_task *tasks;
	int64_t pages[] = {1400}; /* under one and a half tasks of 1000 */
	make_table(&t, "small", 1, pages, 1);
	int n = plan_tasks(&t, 1, NULL, 1000, &tasks);
	assert_int_equal(n, 1);
	assert_true(tasks[0].page_lo == -1 && tasks[0].page_hi == -1);
	assert_string_equal(tasks[0].copy_sql, "COPY \"s\".\"t\" (\"id\") TO STDOUT (FORMAT binary)");
	plan_free(tasks, n);
	free_table(&t);
}

static void
text_columns_and_filters_use_a_query(void **state)
{
	(void)state;
	pg2md_table t;
	pg2md_task *tasks;
	int64_t pages[] = {10};
	const char *filters[] = {"(\"id\" > 5)"};
	make_table(&t, "q", 1, pages, 2);
	int n = plan_tasks(&t, 1, filters, 1000, &tasks);
	assert_int_equal(n, 1);
	assert_string_equal(tasks[0].copy_sql, "COPY (SELECT \"id\", pg_catalog.textin(inet_out(\"Note\")) FROM ONLY "
					       "\"s\".\"t\" WHERE (\"id\" > 5)) TO STDOUT (FORMAT binary)");
	plan_free(tasks, n);
	free_table(&t);
}

static void
page_numbers_are_64_bit(void **state)
{
	(void)state;
	pg2md_table t;
	pg2md_task *tasks;
	int64_t huge = INT64_C(3) << 32; /* more pages than an int32 holds */
	int64_t pages[] = {huge};
	make_table(&t, "huge", 1, pages, 1);
	int n = plan_tasks(&t, 1, NULL, INT64_C(1) << 31, &tasks);
	assert_int_equal(n, 6);
	bool saw_high = false;
	for (int i = 0; i < n; i++)
		if (tasks[i].page_lo == (INT64_C(5) << 31)) {
			saw_high = true;
			assert_non_null(strstr(tasks[i].copy_sql, "ctid >= '(10737418240,0)'::tid"));
		}
	assert_true(saw_high);
	plan_free(tasks, n);
	free_table(&t);
}

static void
partitions_planned_each_and_largest_first(void **state)
{
	(void)state;
	pg2md_table t[2];
	pg2md_task *tasks;
	int64_t p1[] = {5000, 200};
	int64_t p2[] = {2500};
	make_table(&t[0], "parted", 2, p1, 1);
	make_table(&t[1], "other", 1, p2, 1);
	int n = plan_tasks(t, 2, NULL, 1000, &tasks);
	/* 5 ranges + 1 small partition + 3 ranges */
	assert_int_equal(n, 9);
	for (int i = 1; i < n; i++) {
		const pg2md_task *a = &tasks[i - 1], *b = &tasks[i];
		int64_t pa = a->page_lo < 0 ? a->table->leaf_pages[a->leaf]
			   : a->page_hi < 0 ? a->table->leaf_pages[a->leaf] - a->page_lo : a->page_hi - a->page_lo;
		int64_t pb = b->page_lo < 0 ? b->table->leaf_pages[b->leaf]
			   : b->page_hi < 0 ? b->table->leaf_pages[b->leaf] - b->page_lo : b->page_hi - b->page_lo;
		assert_true(pa >= pb);
		assert_int_equal(a->id, i - 1);
	}
	int small = 0;
	for (int i = 0; i < n; i++)
		if (tasks[i].table == &t[0] && tasks[i].leaf == 1) {
			small++;
			assert_non_null(strstr(tasks[i].copy_sql, "\"s\".\"t_part\""));
		}
	assert_int_equal(small, 1);
	plan_free(tasks, n);
	free_table(&t[0]);
	free_table(&t[1]);
}

/* A query table is one task whatever its size, read through its subquery with the filter, the
 * cursor order and a data_type override's cast; it goes first. */
static void
query_tables_are_one_task_first(void **state)
{
	(void)state;
	pg2md_column qcols[2] = {
		{.name = "id", .dest_name = "id", .pg_type = "integer", .dec = DEC_INT4},
		{.name = "n", .dest_name = "n", .pg_type = "text", .dec = DEC_INT8, .src_expr = "CAST(\"n\" AS bigint)"},
	};
	pg2md_table t[2];
	pg2md_task *tasks;
	int64_t pages[] = {100000};
	make_table(&t[0], "big", 1, pages, 1);
	memset(&t[1], 0, sizeof(t[1]));
	t[1].name = t[1].dest_name = "q";
	t[1].relkind = 'q';
	t[1].cols = qcols;
	t[1].ncols = 2;
	t[1].nleaves = 1;
	int64_t qpages[] = {-1};
	char *qname = "(\nSELECT 1 AS id, '2' AS n -- c\n) AS \"q\"";
	t[1].leaf_pages = qpages;
	t[1].leaf_names = &qname;
	t[1].order_by = "ORDER BY \"id\" ASC";
	const char *filters[2] = {NULL, "(id > 0)"};
	int n = plan_tasks(t, 2, filters, 1000, &tasks);
	assert_int_equal(n, 101);
	assert_int_equal(tasks[0].table_idx, 1);
	assert_string_equal(tasks[0].copy_sql, "COPY (SELECT \"id\", CAST(\"n\" AS bigint) FROM (\nSELECT 1 AS id, '2' AS n -- c\n) "
					       "AS \"q\" WHERE (id > 0) ORDER BY \"id\" ASC) TO STDOUT (FORMAT binary)");
	for (int i = 1; i < n; i++)
		assert_int_equal(tasks[i].table_idx, 0);
	plan_free(tasks, n);
	free_table(&t[0]);
}

/*
 * Allocation skip of plan_tasks fails, in a process of its own (the faults are read from the
 * environment once): the whole plan or -1, never a crash (ASan: nothing leaked either way).
 * Exit status 0: as expected; 2: the allocation was past the planner's last.
 */
static int
plan_with_failing_allocation(int skip)
{
	pid_t pid = fork();
	int status;
	if (pid == 0) {
		char s[16];
		snprintf(s, sizeof(s), "%d", skip);
		setenv("PG2MD_FAULT_FAIL", "alloc_hard", 1);
		setenv("PG2MD_FAULT_FAIL_SKIP", s, 1);
		mem_begin();
		pg2md_table t;
		pg2md_task *tasks = NULL;
		int64_t pages[] = {20000, 3000}; /* 23 tasks: the array grows past its first 16 */
		make_table(&t, "big", 2, pages, 2);
		int n = plan_tasks(&t, 1, NULL, 1000, &tasks);
		int rc = n == -1 && tasks == NULL ? 0 : n == 23 && tasks != NULL ? 2 : 1;
		if (n > 0)
			plan_free(tasks, n);
		free_table(&t);
		exit(rc); /* exit, not _exit: LeakSanitizer checks at exit */
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}

static void
a_failed_allocation_fails_the_plan(void **state)
{
	(void)state;
	int skip = 0, rc;
	/* each allocation in turn, until one past the planner's last */
	while ((rc = plan_with_failing_allocation(skip)) == 0)
		skip++;
	assert_int_equal(rc, 2);
	/* the array, its growth, a statement and a file name per task */
	assert_true(skip >= 2 + 2 * 23);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: its processes read the faults before this one's first allocation does */
		cmocka_unit_test(a_failed_allocation_fails_the_plan),
		cmocka_unit_test(ranges_cover_every_page_once),
		cmocka_unit_test(query_tables_are_one_task_first),
		cmocka_unit_test(small_tables_are_one_plain_copy),
		cmocka_unit_test(text_columns_and_filters_use_a_query),
		cmocka_unit_test(page_numbers_are_64_bit),
		cmocka_unit_test(partitions_planned_each_and_largest_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

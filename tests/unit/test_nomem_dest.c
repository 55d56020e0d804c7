/*
 * test_nomem_dest.c — a load's SQL when an allocation fails (issue 15, point 4): load_table_sql
 * and md_load_steps build their statements from pieces (file paths, work table names, a merge's
 * keys, scd2's row hash), and each piece's allocation may return NULL.  Failing the k-th
 * allocation for every k up to past the last, each build must either fail with PG2MD_ERR_NOMEM
 * (the statement broken: buf_is_oom, so it never runs half-built) or give exactly the statement
 * it gives with memory to spare; never crash.  Each k runs in a process of its own: the faults
 * are read from the environment once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dest/load.h"
#include "util/mem.h"

/* A table as a package's manifest gives it; the strings are literals (nothing to allocate). */
static char *pk[] = {(char *)"id"};
static char *mk[] = {(char *)"day"};
static char *files[] = {(char *)"t.1.parquet", (char *)"t.2.parquet", (char *)"t.3.parquet"};
static int64_t file_rows[] = {40, 70, 10};
static manifest_column cols[] = {
	{.name = (char *)"id", .dest_name = (char *)"id", .pg_type = (char *)"integer", .duck_type = (char *)"INTEGER"},
	{.name = (char *)"day", .dest_name = (char *)"day", .pg_type = (char *)"date", .duck_type = (char *)"DATE",
	 .nullable = true},
	{.name = (char *)"price", .dest_name = (char *)"price", .pg_type = (char *)"numeric",
	 .duck_type = (char *)"DECIMAL(10,2)", .nullable = true},
	{.name = (char *)"span", .dest_name = (char *)"span", .pg_type = (char *)"interval",
	 .duck_type = (char *)"INTERVAL", .nullable = true, .staged_as = (char *)"interval_struct"},
	{.name = (char *)"gone", .dest_name = (char *)"gone", .pg_type = (char *)"boolean",
	 .duck_type = (char *)"BOOLEAN", .nullable = true},
	{.name = (char *)"_dlt_id", .dest_name = (char *)"_dlt_id", .duck_type = (char *)"VARCHAR",
	 .lineage = (char *)"dlt_id"},
};
static manifest_scd2 scd2 = {.valid_from = (char *)"_dlt_valid_from", .valid_to = (char *)"_dlt_valid_to",
			     .hash_column = (char *)"_dlt_id", .boundary = (char *)"2026-01-01 00:00:00+00"};

static manifest_table
table(const char *disposition, const char *strategy, bool with_scd2)
{
	manifest_table t = {.name = (char *)"t", .dest_name = (char *)"t", .disposition = (char *)disposition,
			    .primary_key = pk, .npk = 1, .merge_strategy = (char *)strategy, .cols = cols,
			    .ncols = (int)(sizeof(cols) / sizeof(cols[0])), .files = files, .file_rows = file_rows,
			    .nfiles = 3, .rows = 120, .bytes = 120 * 8192};
	if (with_scd2) {
		t.scd2 = &scd2;
		t.merge_key = mk;
		t.nmerge_key = 1;
		t.has_merge_key = true;
	} else {
		t.hard_delete = (char *)"gone";
		t.dedup_sort = (char *)"day";
	}
	return t;
}

/* The statements of every case, one after another (NULL: a step list that ran out of memory). */
static pg2md_code
build(pg2md_buf *out, pg2md_error *err)
{
	static const struct {
		const char *disp, *strategy;
		bool scd2, direct;
		int64_t batch;
	} cases[] = {
		{"replace", NULL, false, false, 50}, {"replace", NULL, false, true, 0},
		{"append", NULL, false, false, 0},   {"merge", NULL, false, false, 60},
		{"merge", "upsert", false, true, 0}, {"merge", "insert-only", false, false, 0},
		{"merge", NULL, true, false, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		manifest_table t = table(cases[i].disp, cases[i].strategy, cases[i].scd2);
		pg2md_buf sql = PG2MD_BUF_INIT;
		pg2md_code rc = load_table_sql(&sql, &t, "ds", "/pkg", cases[i].direct, cases[i].batch, err);
		if (rc == PG2MD_OK && buf_broken(&sql))
			rc = PG2MD_ERR_RUN; /* a broken statement must not pass for a built one */
		if (sql.data && !buf_broken(&sql))
			buf_puts(out, sql.data);
		buf_release(&sql);
		if (rc)
			return rc;
	}
	manifest_table t = table("replace", NULL, false);
	json_t *steps = md_load_steps(&t, "ds", "/pkg", 50);
	if (!steps)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	char *text = json_dumps(steps, JSON_COMPACT);
	buf_puts(out, text);
	free(text);
	json_decref(steps);
	pg2md_buf work = PG2MD_BUF_INIT;
	md_work_table_sql(&work, &t, "ds");
	if (buf_broken(&work))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	buf_puts(out, work.data);
	buf_release(&work);
	return PG2MD_OK;
}

/* A child dies of its signal: cmocka's handlers would turn a crash into a failed test of its own. */
static void
plain_signals(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

/* In a child with allocation skip failing: 0 built exactly as expected, 1 out of memory, 2 wrong. */
static int
child(int skip, const char *expected)
{
	char n[16];
	plain_signals();
	snprintf(n, sizeof(n), "%d", skip);
	setenv("PG2MD_FAULT_FAIL", "alloc_hard", 1);
	setenv("PG2MD_FAULT_FAIL_SKIP", n, 1);
	mem_begin();
	pg2md_buf out = PG2MD_BUF_INIT;
	pg2md_error err;
	pg2md_error_init(&err);
	pg2md_code rc = build(&out, &err);
	int r;
	if (rc == PG2MD_ERR_NOMEM)
		r = strcmp(err.msg, "out of memory") == 0 || strncmp(err.msg, "out of memory while", 19) == 0 ? 1 : 2;
	else if (rc != PG2MD_OK || buf_broken(&out))
		r = mem_short() ? 1 : 2; /* the output buffer itself may break: its user reports it */
	else
		r = strcmp(out.data, expected) == 0 ? 0 : 2;
	buf_release(&out);
	return r;
}

/* The statements built with memory to spare, by a child (the parent allocates nothing through
 * util/mem.h: the faults are set up at the first allocation, and every child inherits that). */
static char *
expected(void)
{
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		plain_signals();
		close(fd[0]);
		pg2md_buf out = PG2MD_BUF_INIT;
		pg2md_error err;
		pg2md_error_init(&err);
		mem_begin();
		if (build(&out, &err) != PG2MD_OK || buf_broken(&out))
			_exit(1);
		size_t off = 0;
		while (off < out.len) {
			ssize_t w = write(fd[1], out.data + off, out.len - off);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(fd[1]);
	size_t len = 0, cap = 1 << 16;
	char *text = malloc(cap);
	assert_non_null(text);
	ssize_t r;
	while ((r = read(fd[0], text + len, cap - len - 1)) > 0) {
		len += (size_t)r;
		if (cap - len < 2) {
			cap *= 2;
			text = realloc(text, cap);
			assert_non_null(text);
		}
	}
	close(fd[0]);
	text[len] = 0;
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return text;
}

static void
every_failing_allocation_unwinds(void **state)
{
	(void)state;
	char *want = expected();
	assert_non_null(strstr(want, "MERGE INTO"));
	assert_non_null(strstr(want, "_pg2md_new__t"));

	/* past the last allocation every build is whole: ten in a row end the sweep */
	int nomem = 0, whole = 0, skip;
	for (skip = 0; skip < 5000 && whole < 10; skip++) {
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			exit(10 + child(skip, want)); /* exit, not _exit: a leak sanitizer checks what unwinding
							 * freed (its exit status, 1, is none of ours) */
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status))
			fail_msg("allocation %d failing: killed by signal %d", skip, WTERMSIG(status));
		int r = WEXITSTATUS(status) - 10;
		if (r < 0 || r > 2)
			fail_msg("allocation %d failing: exit status %d (a sanitizer's report above)", skip, r + 10);
		if (r == 2)
			fail_msg("allocation %d failing: neither out of memory nor the statements built with memory", skip);
		whole = r == 0 ? whole + 1 : 0;
		nomem += r == 1;
	}
	assert_true(skip < 5000);
	assert_true(nomem > 20); /* the fault reached the builders */
	printf("# %d allocations failed one at a time, each unwound with out of memory\n", nomem);
	free(want);
}

int
main(void)
{
	/* T_SKIP_DEBUG=k: fail allocation k in this process (no fork), to see the crash under gdb */
	if (getenv("T_SKIP_DEBUG"))
		return child(atoi(getenv("T_SKIP_DEBUG")), "");
	const struct CMUnitTest tests[] = {cmocka_unit_test(every_failing_allocation_unwinds)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

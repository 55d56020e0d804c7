/*
 * test_spill.c — streamed transactions on disk (src/cdc/spill.c): messages read back in the
 * order written, several transactions interleaved segment by segment, a subtransaction's abort
 * cuts its changes and those of subtransactions after it (nested in it) and keeps the rest, an
 * abort of the whole transaction or of a subtransaction never seen, files of a dead process
 * removed on open, and the files gone after discard and close.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdc/spill.h"

static char dir[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pg2md-test-spill.%d/cdc", (int)getpid());
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/pg2md-test-spill.%d", (int)getpid());
	return system(cmd) == 0 ? 0 : -1;
}

static void
put(cdc_spill *s, uint32_t subxid, const char *text)
{
	pg2md_error err;
	pg2md_error_init(&err);
	assert_int_equal(cdc_spill_write(s, subxid, (const uint8_t *)text, strlen(text), &err), PG2MD_OK);
}

/* xid's messages read back, joined by spaces. */
static void
read_all(cdc_spill *s, uint32_t xid, char *out, size_t n)
{
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_spill_reader r;
	bool empty;
	out[0] = 0;
	assert_int_equal(cdc_spill_read_open(s, xid, &r, &empty, &err), PG2MD_OK);
	for (;;) {
		const uint8_t *m;
		size_t len;
		assert_int_equal(cdc_spill_read_next(&r, &m, &len, &err), PG2MD_OK);
		if (!m)
			break;
		size_t o = strlen(out);
		snprintf(out + o, n - o, "%s%.*s", o ? " " : "", (int)len, (const char *)m);
	}
	cdc_spill_read_close(&r);
}

static int
files(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "ls %s/*.spill 2>/dev/null | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static void
test_interleaved_and_subxact_abort(void **state)
{
	(void)state;
	pg2md_error err;
	pg2md_error_init(&err);
	char got[512];
	cdc_spill *s = cdc_spill_open(dir, &err);
	assert_non_null(s);
	/* transaction 100: top changes, subxact 101 (released), 102 with 103 nested in it */
	assert_int_equal(cdc_spill_start(s, 100, true, &err), PG2MD_OK);
	put(s, 100, "t1");
	put(s, 101, "s101a");
	put(s, 100, "t2");
	assert_int_equal(cdc_spill_stop(s, &err), PG2MD_OK);
	/* transaction 200 between two segments of 100 */
	assert_int_equal(cdc_spill_start(s, 200, true, &err), PG2MD_OK);
	put(s, 200, "x1");
	assert_int_equal(cdc_spill_stop(s, &err), PG2MD_OK);
	assert_int_equal(cdc_spill_start(s, 100, false, &err), PG2MD_OK);
	put(s, 102, "s102a");
	put(s, 103, "s103a");
	put(s, 102, "s102b");
	assert_int_equal(cdc_spill_stop(s, &err), PG2MD_OK);
	assert_int_equal(cdc_spill_count(s), 2);
	assert_int_equal(files(), 2);

	/* a subtransaction that made no change kept: nothing happens */
	assert_int_equal(cdc_spill_abort(s, 100, 999, &err), PG2MD_OK);
	read_all(s, 100, got, sizeof(got));
	assert_string_equal(got, "t1 s101a t2 s102a s103a s102b");
	/* the nested one (ROLLBACK TO a savepoint inside 102): 103's change and what followed it */
	assert_int_equal(cdc_spill_abort(s, 100, 103, &err), PG2MD_OK);
	read_all(s, 100, got, sizeof(got));
	assert_string_equal(got, "t1 s101a t2 s102a");
	/* more changes after the abort, then 102 aborts: its changes go, earlier ones stay */
	assert_int_equal(cdc_spill_start(s, 100, false, &err), PG2MD_OK);
	put(s, 102, "s102c");
	assert_int_equal(cdc_spill_stop(s, &err), PG2MD_OK);
	assert_int_equal(cdc_spill_abort(s, 100, 102, &err), PG2MD_OK);
	assert_int_equal(cdc_spill_start(s, 100, false, &err), PG2MD_OK);
	put(s, 100, "t3");
	put(s, 104, "s104a");
	assert_int_equal(cdc_spill_stop(s, &err), PG2MD_OK);
	read_all(s, 100, got, sizeof(got));
	assert_string_equal(got, "t1 s101a t2 t3 s104a");
	read_all(s, 200, got, sizeof(got));
	assert_string_equal(got, "x1");

	/* the whole of 200 aborts; 100 is applied and discarded */
	assert_int_equal(cdc_spill_abort(s, 200, 200, &err), PG2MD_OK);
	assert_int_equal(cdc_spill_size(s, 200), 0);
	read_all(s, 200, got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(files(), 1);
	cdc_spill_discard(s, 100);
	assert_int_equal(cdc_spill_count(s), 0);
	assert_int_equal(files(), 0);
	/* an abort of a transaction never seen */
	assert_int_equal(cdc_spill_abort(s, 300, 300, &err), PG2MD_OK);
	cdc_spill_close(s);
}

static void
test_leftovers_removed(void **state)
{
	(void)state;
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_spill *s = cdc_spill_open(dir, &err);
	assert_non_null(s);
	assert_int_equal(cdc_spill_start(s, 7, true, &err), PG2MD_OK);
	put(s, 7, "a");
	assert_int_equal(cdc_spill_stop(s, &err), PG2MD_OK);
	/* a process that dies leaves its file; the next open removes it */
	char path[300], other[300];
	snprintf(path, sizeof(path), "%s/7.spill", dir);
	snprintf(other, sizeof(other), "%s/keep.txt", dir);
	FILE *f = fopen(other, "w");
	assert_non_null(f);
	fclose(f);
	cdc_spill *s2 = cdc_spill_open(dir, &err);
	assert_non_null(s2);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(other, F_OK), 0); /* only *.spill files */
	cdc_spill_close(s2);
	/* the first store's close does not fail on the missing file */
	cdc_spill_close(s);
	/* a folder that cannot be made */
	cdc_spill *bad = cdc_spill_open("/proc/pg2md-no/cdc", &err);
	assert_null(bad);
	assert_int_equal(err.code, PG2MD_ERR_RUN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interleaved_and_subxact_abort),
		cmocka_unit_test(test_leftovers_removed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

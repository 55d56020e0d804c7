/*
 * test_reconnect.c — which failures pg2md follow retries after losing its replication connection
 * (src/cdc/reconnect.c), and the backoff between attempts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cdc/reconnect.h"

static pg2md_error
failure(pg2md_code code, const char *sqlstate)
{
	pg2md_error e;
	pg2md_error_init(&e);
	pg2md_fail(&e, code, "failed");
	if (sqlstate)
		pg2md_sqlstate(&e, sqlstate);
	return e;
}

static void
test_by_sqlstate(void **state)
{
	(void)state;
	static const char *const yes[] = {"08006", "08003", "08P01", "57P01", "57P02", "57P03"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		pg2md_error e = failure(PG2MD_ERR_RUN, yes[i]);
		assert_true(cdc_retryable(&e, false, false));
		assert_true(cdc_retryable(&e, true, true));
	}
	/* a slot that is gone (42704), invalidated (55000), a query error: never, connection lost or not */
	static const char *const no[] = {"42704", "55000", "XX000", "42601", "57014"};
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++) {
		pg2md_error e = failure(PG2MD_ERR_RUN, no[i]);
		assert_false(cdc_retryable(&e, true, false));
		assert_false(cdc_retryable(&e, true, true));
	}
	/* the slot still held by the terminated walsender, its WAL sender place: only while reconnecting */
	pg2md_error busy = failure(PG2MD_ERR_RUN, "55006"), full = failure(PG2MD_ERR_RUN, "53300");
	assert_false(cdc_retryable(&busy, false, false));
	assert_true(cdc_retryable(&busy, false, true));
	assert_false(cdc_retryable(&full, false, false));
	assert_true(cdc_retryable(&full, false, true));
}

static void
test_without_sqlstate(void **state)
{
	(void)state;
	pg2md_error run = failure(PG2MD_ERR_RUN, NULL);
	assert_true(cdc_retryable(&run, true, false));   /* the connection is gone */
	assert_false(cdc_retryable(&run, false, false)); /* e.g. DuckDB failed: the stream is fine */
	pg2md_error conn = failure(PG2MD_ERR_CONNECT, NULL);
	assert_true(cdc_retryable(&conn, false, true));  /* the server not back yet */
	assert_false(cdc_retryable(&conn, false, false));
	/* usage, memory, an interrupt: never */
	pg2md_code never[] = {PG2MD_ERR_USAGE, PG2MD_ERR_NOMEM, PG2MD_ERR_INTERRUPTED};
	for (size_t i = 0; i < sizeof(never) / sizeof(*never); i++) {
		pg2md_error e = failure(never[i], "08006");
		assert_false(cdc_retryable(&e, true, true));
	}
}

static void
test_backoff(void **state)
{
	(void)state;
	static const int want[] = {1, 2, 4, 8, 16, 30, 30, 30, 30, 30};
	for (int i = 0; i < CDC_RECONNECT_ATTEMPTS; i++)
		assert_int_equal(cdc_backoff_seconds(i + 1), want[i]);
	assert_int_equal(cdc_backoff_seconds(1000), CDC_RECONNECT_MAX_S);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_sqlstate),
		cmocka_unit_test(test_without_sqlstate),
		cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

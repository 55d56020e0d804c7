/*
 * test_freshness.c — commit-to-visible latency of applied transactions (src/cdc/freshness.c):
 * pending commits are counted only when their batch commits; percentiles by rank; values past
 * the last bucket keep the maximum; a clock behind the server's counts as 0 ms; discard.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cdc/freshness.h"

static void
test_nothing_counted(void **state)
{
	(void)state;
	cdc_freshness f = {0};
	assert_int_equal(cdc_fresh_percentile(&f, 0.5), -1);
	assert_true(cdc_fresh_committed(&f, 1000)); /* nothing pending: nothing counted */
	assert_int_equal(f.count, 0);
	assert_true(cdc_fresh_add(&f, 0));
	assert_int_equal(cdc_fresh_percentile(&f, 0.5), -1); /* pending is not counted */
	cdc_fresh_discard(&f);
	assert_true(cdc_fresh_committed(&f, 5000000));
	assert_int_equal(f.count, 0);
	cdc_fresh_release(&f);
}

static void
test_percentiles(void **state)
{
	(void)state;
	cdc_freshness f = {0};
	int64_t now = 1000LL * 1000 * 1000 * 1000; /* some µs since 2000 */
	/* 100 transactions committed 1 … 100 ms before the batch's DuckDB commit, in two batches */
	for (int i = 1; i <= 60; i++)
		assert_true(cdc_fresh_add(&f, now - i * 1000));
	assert_true(cdc_fresh_committed(&f, now));
	for (int i = 61; i <= 100; i++)
		assert_true(cdc_fresh_add(&f, now + 500 - i * 1000)); /* 500 µs: truncated to whole ms */
	assert_true(cdc_fresh_committed(&f, now + 500));
	assert_int_equal(f.count, 100);
	assert_int_equal(cdc_fresh_percentile(&f, 0.50), 50);
	assert_int_equal(cdc_fresh_percentile(&f, 0.99), 99);
	assert_int_equal(cdc_fresh_percentile(&f, 1.0), 100);
	assert_int_equal(cdc_fresh_percentile(&f, 0.001), 1);
	assert_int_equal(f.max_ms, 100);
	cdc_fresh_release(&f);
	assert_null(f.hist);
}

static void
test_beyond_last_bucket_and_skew(void **state)
{
	(void)state;
	cdc_freshness f = {0};
	int64_t now = 5000000000LL;
	assert_true(cdc_fresh_add(&f, now - 65LL * 1000 * 1000)); /* 65 s */
	assert_true(cdc_fresh_add(&f, now + 3000));               /* the server's clock 3 ms ahead */
	for (int i = 0; i < 3000; i++)                             /* more than one growth of the array */
		assert_true(cdc_fresh_add(&f, now - 2000));
	assert_true(cdc_fresh_committed(&f, now));
	assert_int_equal(f.count, 3002);
	assert_int_equal(f.max_ms, 65000);
	assert_int_equal(cdc_fresh_percentile(&f, 1.0), 65000);
	assert_int_equal(cdc_fresh_percentile(&f, 0.0001), 0);
	assert_int_equal(cdc_fresh_percentile(&f, 0.5), 2);
	cdc_fresh_release(&f);
}

static void
test_now_is_in_postgres_epoch(void **state)
{
	(void)state;
	/* 2026 is between 25 and 40 years after 2000 */
	int64_t years = cdc_fresh_now() / (1000000LL * 3600 * 24 * 365);
	assert_in_range(years, 25, 40);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_counted),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_beyond_last_bucket_and_skew),
		cmocka_unit_test(test_now_is_in_postgres_epoch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

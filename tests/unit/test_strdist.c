/*
 * test_strdist.c — "did you mean", one rule for every hint (util/strdist.h): how far a name may
 * be from what was meant, and which candidates are suggested, closest first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/strdist.h"

static void
the_limit_grows_with_the_name(void **state)
{
	(void)state;
	assert_int_equal(strdist_limit("x"), 1);
	assert_int_equal(strdist_limit("id"), 1);
	assert_int_equal(strdist_limit("ord"), 2);
	assert_int_equal(strdist_limit("customer"), 2);
	assert_int_equal(strdist_limit("sources.sql_database.wrkers"), 3);
}

static void
the_closest_come_first(void **state)
{
	const char *const tables[] = {"orders", "order_items", "custmers", "customer", NULL, "customers"};
	int found[3];
	(void)state;
	/* "customer" (0 away) first, then "customers" (1), then "custmers" (2) */
	assert_int_equal(strdist_suggest("customer", tables, 6, false, 3, found), 3);
	assert_int_equal(found[0], 3);
	assert_int_equal(found[1], 5);
	assert_int_equal(found[2], 2);
	/* equally close ones keep their order */
	const char *const ties[] = {"customr", "custmer", "cstomer"};
	assert_int_equal(strdist_suggest("customer", ties, 3, false, 3, found), 3);
	assert_int_equal(found[0], 0);
	assert_int_equal(found[1], 1);
	assert_int_equal(found[2], 2);
	/* at most max */
	assert_int_equal(strdist_suggest("customer", tables, 6, false, 1, found), 1);
	assert_int_equal(found[0], 3);
	/* nothing close: no hint rather than a wild one */
	assert_int_equal(strdist_suggest("x", tables, 6, false, 3, found), 0);
	assert_int_equal(strdist_suggest("invoices", tables, 6, false, 3, found), 0);
}

static void
keys_ignore_case_and_transpositions(void **state)
{
	const char *const keys[] = {"load.workers", "sources.sql_database.workers"};
	int found[1];
	(void)state;
	assert_int_equal(strdist_suggest("sources.sql_database.wrokers", keys, 2, true, 1, found), 1);
	assert_int_equal(found[0], 1);
	assert_int_equal(strdist_suggest("LOAD.WORKERS", keys, 2, true, 1, found), 1);
	assert_int_equal(found[0], 0);
	assert_int_equal(strdist_suggest("LOAD.WORKERS", keys, 2, false, 1, found), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_limit_grows_with_the_name),
		cmocka_unit_test(the_closest_come_first),
		cmocka_unit_test(keys_ignore_case_and_transpositions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

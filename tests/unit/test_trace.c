/*
 * test_trace.c — the timeline of a run (trace.h): spans keep their fields and
 * times relative to the start, stop at TRACE_MAX_SPANS (the rest counted as
 * dropped), are recorded exactly once from many threads at a time; samples
 * come at most once per interval, always the first and the final ones, and a
 * long run is thinned evenly to at most TRACE_MAX_SAMPLES with its first
 * sample, its last one and its order kept.
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
#include <pthread.h>

#include "stage/trace.h"

static trace_span
span(int worker, const char *table, double start, double end)
{
	return (trace_span){worker, "extract", table, NULL, 7, 100, -1, start, end, 42, 4200, 1, true};
}

static void
spans_keep_their_fields(void **state)
{
	(void)state;
	pg2md_timeline *tl = trace_timeline_new(1000.0);
	trace_span s = span(2, "we</script>ird", 1000.5, 1001.25);
	trace_span_add(tl, &s);
	trace_span_add(tl, &(trace_span){TRACE_MAIN, "load", NULL, "commit", -1, -1, -1, 1002.0, 1002.5, 0, 0, 0, true});
	trace_span_add(NULL, &s); /* no timeline: nothing, no crash */
	json_t *doc = trace_timeline_json(tl);
	json_t *spans = json_object_get(doc, "spans");
	assert_int_equal(json_array_size(spans), 2);
	json_t *a = json_array_get(spans, 0), *b = json_array_get(spans, 1);
	assert_int_equal(json_integer_value(json_object_get(a, "worker")), 2);
	assert_string_equal(json_string_value(json_object_get(a, "table")), "we</script>ird");
	assert_string_equal(json_string_value(json_object_get(a, "stage")), "extract");
	assert_int_equal(json_integer_value(json_object_get(a, "task")), 7);
	assert_int_equal(json_integer_value(json_object_get(a, "page_lo")), 100);
	assert_true(json_is_null(json_object_get(a, "page_hi"))); /* open-ended */
	assert_true(json_real_value(json_object_get(a, "start")) == 0.5);
	assert_true(json_real_value(json_object_get(a, "end")) == 1.25);
	assert_int_equal(json_integer_value(json_object_get(a, "rows")), 42);
	assert_int_equal(json_integer_value(json_object_get(a, "bytes")), 4200);
	assert_int_equal(json_integer_value(json_object_get(a, "retries")), 1);
	assert_true(json_is_true(json_object_get(a, "ok")));
	assert_int_equal(json_integer_value(json_object_get(b, "worker")), TRACE_MAIN);
	assert_true(json_is_null(json_object_get(b, "table")));
	assert_string_equal(json_string_value(json_object_get(b, "what")), "commit");
	assert_null(json_object_get(b, "task"));
	assert_null(json_object_get(b, "page_lo"));
	assert_int_equal(json_integer_value(json_object_get(doc, "spans_dropped")), 0);
	json_decref(doc);
	trace_timeline_free(tl);
}

static void
spans_are_capped(void **state)
{
	(void)state;
	pg2md_timeline *tl = trace_timeline_new(0);
	for (int i = 0; i < TRACE_MAX_SPANS + 25; i++) {
		trace_span s = span(i % 4, "t", i, i + 1);
		trace_span_add(tl, &s);
	}
	json_t *doc = trace_timeline_json(tl);
	assert_int_equal(json_array_size(json_object_get(doc, "spans")), TRACE_MAX_SPANS);
	assert_int_equal(json_integer_value(json_object_get(doc, "spans_dropped")), 25);
	assert_int_equal(json_integer_value(json_object_get(doc, "span_limit")), TRACE_MAX_SPANS);
	/* the first ones are kept */
	assert_true(json_real_value(json_object_get(json_array_get(json_object_get(doc, "spans"), 0), "start")) == 0);
	json_decref(doc);
	trace_timeline_free(tl);
}

#define THREADS 8
#define PER_THREAD 500

static void *
adder(void *arg)
{
	pg2md_timeline *tl = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		trace_span s = span(i % 3, "t", i, i + 0.5);
		trace_span_add(tl, &s);
		trace_sample_add(tl, i, i, i, false);
	}
	return NULL;
}

static void
spans_from_many_threads(void **state)
{
	(void)state;
	pg2md_timeline *tl = trace_timeline_new(0);
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, adder, tl), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	json_t *doc = trace_timeline_json(tl);
	assert_int_equal(json_array_size(json_object_get(doc, "spans")), THREADS * PER_THREAD);
	assert_true(json_array_size(json_object_get(doc, "samples")) <= TRACE_MAX_SAMPLES);
	json_decref(doc);
	trace_timeline_free(tl);
}

static double
sample_t(json_t *doc, size_t i)
{
	return json_real_value(json_array_get(json_array_get(json_object_get(doc, "samples"), i), 0));
}

static void
samples_once_per_interval(void **state)
{
	(void)state;
	pg2md_timeline *tl = trace_timeline_new(10.0);
	trace_sample_add(tl, 10.1, 0, 0, true);     /* the first */
	trace_sample_add(tl, 10.2, 5, 50, false);   /* too soon: skipped */
	trace_sample_add(tl, 10.35, 10, 100, false); /* one interval later */
	trace_sample_add(tl, 10.4, 12, 120, true);  /* final: kept however soon */
	trace_sample_add(NULL, 10.5, 1, 1, true);   /* no timeline: nothing */
	json_t *doc = trace_timeline_json(tl);
	json_t *samples = json_object_get(doc, "samples");
	assert_int_equal(json_array_size(samples), 3);
	assert_true(sample_t(doc, 0) == 0.1);
	assert_true(sample_t(doc, 1) == 0.35);
	assert_true(sample_t(doc, 2) == 0.4);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(samples, 1), 1)), 10);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(samples, 2), 2)), 120);
	assert_true(json_real_value(json_object_get(doc, "sample_seconds")) == TRACE_SAMPLE_SECONDS);
	json_decref(doc);
	trace_timeline_free(tl);
}

static void
long_runs_are_thinned_evenly(void **state)
{
	(void)state;
	/* 3 hours of ticks every 250 ms: 43200 samples offered */
	pg2md_timeline *tl = trace_timeline_new(0);
	int n = 3 * 3600 * 4;
	for (int i = 0; i <= n; i++)
		trace_sample_add(tl, i * 0.25, (int64_t)i * 1000, (int64_t)i * 100000, i == 0 || i == n);
	json_t *doc = trace_timeline_json(tl);
	size_t kept = json_array_size(json_object_get(doc, "samples"));
	double interval = json_real_value(json_object_get(doc, "sample_seconds"));
	assert_true(kept <= TRACE_MAX_SAMPLES);
	assert_true(kept >= TRACE_MAX_SAMPLES / 4); /* still a detailed picture */
	assert_true(sample_t(doc, 0) == 0);
	assert_true(sample_t(doc, kept - 1) == n * 0.25); /* the end of the run is there */
	assert_true(interval > TRACE_SAMPLE_SECONDS);
	/* in order, and no gap much wider than the final interval (even coverage) */
	for (size_t i = 1; i < kept; i++) {
		double gap = sample_t(doc, i) - sample_t(doc, i - 1);
		assert_true(gap > 0);
		assert_true(gap <= interval * 1.01);
	}
	json_decref(doc);
	trace_timeline_free(tl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spans_keep_their_fields),
		cmocka_unit_test(spans_are_capped),
		cmocka_unit_test(spans_from_many_threads),
		cmocka_unit_test(samples_once_per_interval),
		cmocka_unit_test(long_runs_are_thinned_evenly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * freshness.c — commit-to-visible latency of applied transactions (see freshness.h).
 */
#include "cdc/freshness.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/mem.h"

/* seconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch */
#define PG_EPOCH_UNIX 946684800LL

bool
cdc_fresh_add(cdc_freshness *f, int64_t pg_commit_us)
{
	if (f->npending == f->cap) {
		int cap = f->cap ? f->cap * 2 : 1024;
		int64_t *p = mem_realloc(f->pending, (size_t)cap * sizeof(*p));
		if (!p)
			return false;
		f->pending = p;
		f->cap = cap;
	}
	f->pending[f->npending++] = pg_commit_us;
	return true;
}

bool
cdc_fresh_committed(cdc_freshness *f, int64_t now_pg_us)
{
	if (f->npending == 0)
		return true;
	if (!f->hist) {
		f->hist = mem_calloc(CDC_FRESH_BUCKETS, sizeof(*f->hist));
		if (!f->hist)
			return false;
	}
	for (int i = 0; i < f->npending; i++) {
		int64_t ms = (now_pg_us - f->pending[i]) / 1000;
		if (ms < 0)
			ms = 0; /* a clock behind the server's */
		if (ms > f->max_ms)
			f->max_ms = ms;
		f->hist[ms < CDC_FRESH_BUCKETS - 1 ? ms : CDC_FRESH_BUCKETS - 1]++;
		f->count++;
	}
	f->npending = 0;
	return true;
}

void
cdc_fresh_discard(cdc_freshness *f)
{
	f->npending = 0;
}

int64_t
cdc_fresh_percentile(const cdc_freshness *f, double p)
{
	if (f->count == 0 || !f->hist)
		return -1;
	/* the rank of the p-th transaction, 1-based, rounded up: p99 of 100 is the 99th */
	int64_t rank = (int64_t)((double)f->count * p);
	if ((double)rank < (double)f->count * p)
		rank++;
	if (rank < 1)
		rank = 1;
	int64_t seen = 0;
	for (int b = 0; b < CDC_FRESH_BUCKETS; b++) {
		seen += f->hist[b];
		if (seen >= rank)
			return b < CDC_FRESH_BUCKETS - 1 ? b : f->max_ms;
	}
	return f->max_ms;
}

int64_t
cdc_fresh_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec - PG_EPOCH_UNIX) * 1000000 + ts.tv_nsec / 1000;
}

void
cdc_fresh_release(cdc_freshness *f)
{
	free(f->pending);
	free(f->hist);
	memset(f, 0, sizeof(*f));
}

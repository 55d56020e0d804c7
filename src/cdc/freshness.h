/*
 * freshness.h — how long a change took from its COMMIT in PostgreSQL to the DuckDB commit that
 * made it visible in the destination ("freshness", or end-to-end latency), per transaction.
 *
 * pg2md follow notes the commit timestamp pgoutput sends with each applied transaction's Commit
 * message; when the batch holding it commits in DuckDB, the difference to the wall clock is
 * counted in a histogram of 1 ms buckets up to 10 s (beyond that, one bucket, and the maximum).
 * Both clocks are the machines' wall clocks: when pg2md does not run on the database server,
 * the figures include the skew between the two.
 */
#ifndef PG2MD_CDC_FRESHNESS_H
#define PG2MD_CDC_FRESHNESS_H

#include <stdbool.h>
#include <stdint.h>

#define CDC_FRESH_BUCKETS 10001 /* 0 … 9,999 ms, then ≥ 10 s */

typedef struct cdc_freshness {
	int64_t *pending;       /* commit timestamps (µs since 2000-01-01 UTC, as PostgreSQL sends them) */
	int npending, cap;      /*   of the transactions in the batch DuckDB has not committed yet */
	int64_t *hist;          /* CDC_FRESH_BUCKETS counts, allocated at the first commit counted */
	int64_t count;          /* transactions counted */
	int64_t max_ms;
} cdc_freshness;

/* A transaction of the pending batch, with its PostgreSQL commit timestamp.  False: out of memory. */
bool cdc_fresh_add(cdc_freshness *f, int64_t pg_commit_us);

/* The pending batch committed in DuckDB at now_pg_us (same epoch): count it.  False: out of memory. */
bool cdc_fresh_committed(cdc_freshness *f, int64_t now_pg_us);

/* The pending batch will not be committed (the run stops): forget it. */
void cdc_fresh_discard(cdc_freshness *f);

/* The smallest bucket (ms) at or below which a fraction p (0 < p ≤ 1) of the counted transactions
 * lie; -1 when none were counted.  For the last bucket, the maximum. */
int64_t cdc_fresh_percentile(const cdc_freshness *f, double p);

/* The wall clock now, in PostgreSQL's epoch (µs since 2000-01-01 UTC). */
int64_t cdc_fresh_now(void);

void cdc_fresh_release(cdc_freshness *f);

#endif

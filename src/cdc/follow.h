/*
 * follow.h — pg2md follow: the initial copy inside a replication slot's snapshot, then the
 * changes streamed from the slot and applied to the mirror tables (docs/cdc.md).
 */
#ifndef PG2MD_CDC_FOLLOW_H
#define PG2MD_CDC_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "cdc/pgoutput.h"
#include "config/config.h"
#include "util/error.h"

typedef struct cdc_follow_opts {
	bool once;             /* stop at the server's WAL position at start */
	bool has_endpos;
	pgo_lsn endpos;        /* stop before the first transaction whose commit starts at or after it */
	int64_t batch_bytes;   /* apply when the folded batch holds this much (0: 64 MB) */
	int64_t batch_ms;      /* or at the first commit this long after the batch's first (0: 1,000 ms) */
	/* read the configuration again, as at the start (on reload_take(), util/interrupt.h); NULL:
	 * reloads are not possible, a request is logged and ignored */
	pg2md_code (*reload)(void *arg, pg2md_config **out, pg2md_error *err);
	void *reload_arg;
} cdc_follow_opts;

typedef struct cdc_follow_report {
	char slot[64], publication[64];
	bool created_publication;
	bool initial_copy;     /* this run created the slot and copied the tables */
	pgo_lsn start_lsn;     /* where streaming started (the watermark read back, or the slot's consistent point) */
	pgo_lsn target_lsn;    /* --once / --endpos: where it stopped; 0 when it ran until interrupted */
	pgo_lsn applied_lsn;   /* the watermark now */
	int64_t transactions;  /* transactions applied */
	int64_t streamed;      /* of them, streamed ones (kept on disk until their Stream Commit) */
	int64_t stream_aborts; /* Stream Abort messages (a streamed transaction or subtransaction discarded) */
	int64_t streamed_eager;/* of the streamed ones, applied as they arrived (follow.c, eager_begin) */
	int64_t changes;       /* inserts, updates, deletes, truncates folded */
	int64_t rows_written;  /* rows deleted and inserted in the destination */
	int batches;
	bool interrupted;
	int reloads;           /* configuration reloads that changed the followed tables */
	int64_t fresh_transactions;  /* transactions whose PostgreSQL commit to DuckDB commit time was counted */
	int64_t fresh_p50_ms, fresh_p99_ms, fresh_max_ms;
} cdc_follow_report;

/* The slot and publication names: configured, or derived from pipeline_name. */
void cdc_follow_names(const pg2md_config *cfg, char *slot, char *pub, size_t n);

/* Run pg2md follow.  cfg is modified while the initial copy runs, and restored. */
pg2md_code cdc_follow(pg2md_config *cfg, const cdc_follow_opts *opts, cdc_follow_report *rep, pg2md_error *err);

#endif

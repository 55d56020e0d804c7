/*
 * trace.h — the metrics of a run, stored as JSON in the pipeline folder
 * (<pipelines_dir>/<pipeline_name>/trace.json) so `pg2md trace` can show the
 * last run, as dlt's `pipeline trace` does.
 */
#ifndef PG2MD_TRACE_H
#define PG2MD_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "stage/pipeline.h"
#include "util/error.h"

/*
 * The timeline of a run, for `pg2md trace --html`: spans and throughput
 * samples, with times in seconds from the start of the run.
 *
 * A span is one piece of work on one thread: an extract task (a table or a
 * page range of it, on extract worker 0..n-1), the normalize step, one
 * table's load and the load's commit (on the run's own thread,
 * TRACE_MAIN).  A sample is the total rows and bytes read from PostgreSQL
 * so far, taken by the progress thread (progress.c) every 250 ms while the
 * extraction runs.
 *
 * Thread-safe: one mutex, taken once per finished task and once per
 * sample, never per row.  Bounded: at most TRACE_MAX_SPANS spans (more are
 * only counted, "spans_dropped"), and at most TRACE_MAX_SAMPLES samples:
 * when they are full, every other one is dropped and the interval doubles,
 * so a run of any length keeps an even picture of its whole duration in at
 * most a few hundred kB of trace.json.
 */
#define TRACE_MAX_SPANS 10000
#define TRACE_MAX_SAMPLES 1024
#define TRACE_SAMPLE_SECONDS 0.25
#define TRACE_MAIN (-1)

typedef struct pg2md_timeline pg2md_timeline;

typedef struct trace_span {
	int worker;            /* extract worker 0..n-1, or TRACE_MAIN */
	const char *stage;     /* "extract", "write" (direct under MotherDuck's rules), "normalize", "load" */
	const char *table;     /* source table name, or NULL (normalize, commit) */
	const char *what;      /* NULL, or what the span did when it is not a table ("commit") */
	int task;              /* extract task id, or -1 */
	int64_t page_lo;       /* extract: first page, -1 for a whole table */
	int64_t page_hi;       /* extract: page after the last, -1 open-ended */
	double start, end;     /* now_seconds() */
	int64_t rows, bytes;
	int retries;
	bool ok;
} trace_span;

/* A new timeline whose time 0 is t0 (now_seconds() at the start of the run); NULL when memory ran out. */
pg2md_timeline *trace_timeline_new(double t0);
void trace_timeline_free(pg2md_timeline *tl);
/* Record a span (the strings are copied).  tl may be NULL: nothing is recorded. */
void trace_span_add(pg2md_timeline *tl, const trace_span *span);
/* Record the totals read so far: at most one sample per interval, unless final (the first and
 * the last of an extraction are always kept).  tl may be NULL. */
void trace_sample_add(pg2md_timeline *tl, double now, int64_t rows, int64_t bytes, bool final);
/* {started_at, spans: [...], spans_dropped, samples: [[t, rows, bytes], ...], sample_seconds} */
json_t *trace_timeline_json(pg2md_timeline *tl);

json_t *trace_to_json(const pg2md_trace *t, const pg2md_error *err);
/* false: memory ran out (t holds what was copied; release it as usual) */
bool trace_from_json(pg2md_trace *t, json_t *doc);

/* Write the trace of a run (success or failure) into the pipeline folder. */
pg2md_code trace_store(const pg2md_config *cfg, const pg2md_trace *t, const pg2md_error *run_err, pg2md_error *err);
/* Read the last stored trace; NULL with err set when there is none. */
json_t *trace_load(const pg2md_config *cfg, pg2md_error *err);

#endif

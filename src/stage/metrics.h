/*
 * metrics.h — the Prometheus text file a run leaves for monitoring.
 *
 * After every run, failed or not, pg2md can write its metrics in the
 * Prometheus text exposition format (version 0.0.4) to one file, atomically
 * (temp file in the same folder, fsync, rename), so node_exporter's textfile
 * collector never reads half a file.  Values that describe earlier runs (the
 * last success, the last load) are read back from the file being replaced,
 * so a failed run keeps them.  docs/operations.md explains each metric.
 */
#ifndef PG2MD_STAGE_METRICS_H
#define PG2MD_STAGE_METRICS_H

#include <stdbool.h>

#include "config/config.h"
#include "stage/pipeline.h"
#include "util/buf.h"
#include "util/error.h"

typedef struct metrics_run {
	const pg2md_config *cfg;
	const pg2md_trace *trace;
	const pg2md_error *result;  /* the run's outcome (code 0: success) */
	const char *failed_stage;   /* "extract", "normalize" or "load"; NULL when the run succeeded */
	bool loaded;                /* the run committed data into the destination */
} metrics_run;

/* The stage a failed run failed in, from what its trace recorded: "extract", "normalize" or "load". */
const char *metrics_failed_stage(const pg2md_trace *trace, int stages);

/* Write the metrics file at path; on failure err says why (the run's exit code does not change). */
pg2md_code metrics_write(const char *path, const metrics_run *run, pg2md_error *err);

/* The pieces, for other writers of the file (pg2md follow, cdc/monitor.c): a family's "# HELP" and
 * "# TYPE" lines; a label value escaped as the format requires; text written to path atomically
 * (temp file in its folder, fsync, rename; mode 0644). */
void metrics_family(pg2md_buf *b, const char *name, const char *type, const char *help);
void metrics_escape_label(pg2md_buf *b, const char *s);
pg2md_code metrics_write_file(const char *path, const char *text, pg2md_error *err);

#endif

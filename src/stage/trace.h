/*
 * trace.h — the metrics of a run, stored as JSON in the pipeline folder
 * (<pipelines_dir>/<pipeline_name>/trace.json) so `pg2md trace` can show the
 * last run, as dlt's `pipeline trace` does.
 */
#ifndef PG2MD_TRACE_H
#define PG2MD_TRACE_H

#include <jansson.h>

#include "config/config.h"
#include "stage/pipeline.h"
#include "util/error.h"

json_t *trace_to_json(const pg2md_trace *t, const pg2md_error *err);
void trace_from_json(pg2md_trace *t, json_t *doc);

/* Write the trace of a run (success or failure) into the pipeline folder. */
pg2md_code trace_store(const pg2md_config *cfg, const pg2md_trace *t, const pg2md_error *run_err, pg2md_error *err);
/* Read the last stored trace; NULL with err set when there is none. */
json_t *trace_load(const pg2md_config *cfg, pg2md_error *err);

#endif

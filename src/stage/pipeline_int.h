/*
 * pipeline_int.h — what the files of a run share (pipeline.h is the public side).
 *
 * A run: prepare.c (snapshot, tables, plan) and extract.c (the extract driver), workers.c (the
 * worker pool, its gate and retries), extract_sql.c (each task's DuckDB statement, the Parquet
 * files it writes), manifest.c (what a package holds), normalize.c, and load.c (a package into
 * the destination, in one transaction).
 */
#ifndef PG2MD_PIPELINE_INT_H
#define PG2MD_PIPELINE_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "config/config.h"
#include "dest/duck.h"
#include "stage/pipeline.h"
#include "stage/trace.h"
#include "util/error.h"

/* ---- load.c ------------------------------------------------------------------------------ */

/* Load a package's manifest man into dest in one transaction (pkg_path: its files; NULL when
 * direct); *already: it was loaded before.  DuckDB's budget and threads are back after. */
pg2md_code load_package(const pg2md_config *cfg, pg2md_dest *dest, json_t *man, const char *pkg_path, bool direct,
			pg2md_timeline *tl, bool *already, pg2md_error *err);
/* Load a normalized package and mark it loaded (its Parquet files are removed). */
pg2md_code finish_package(const pg2md_config *cfg, const char *load_id, pg2md_trace *trace, pg2md_error *err);
/* Remove a package's staged file; a rotated task's folder goes with its last file. */
void remove_staged_file(const char *pkg_path, const char *rel);

/* ---- manifest.c -------------------------------------------------------------------------- */

/* The trace's tables from a package's manifest (and its load id when the trace has none). */
void trace_from_manifest(pg2md_trace *trace, json_t *man);

#endif

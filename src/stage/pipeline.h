/*
 * pipeline.h — a pg2md run: extract, normalize, load.
 *
 * Staged mode (the default, as in the guide): extract writes Parquet files
 * into a load package, normalize fixes the schema and load plan, load moves
 * the package into the destination in one transaction together with its
 * _dlt_loads row.  Direct mode streams the COPY data straight into new
 * destination tables and swaps them in the same way, with no files.
 *
 * A run that finds a package left by an earlier run finishes that package
 * and stops there, as dlt does.
 */
#ifndef PG2MD_PIPELINE_H
#define PG2MD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "util/error.h"

enum {
	STAGE_EXTRACT = 1,
	STAGE_NORMALIZE = 2,
	STAGE_LOAD = 4,
	STAGE_ALL = 7
};

typedef struct pg2md_table_stat {
	char *name;
	char *dest_name;
	char *disposition;
	int64_t rows;
	int64_t bytes;       /* bytes read from PostgreSQL */
	int64_t file_bytes;  /* Parquet bytes staged */
	int files;
	int tasks;
	int retries;         /* tasks read again after a lost connection */
	int64_t lossy;
	double seconds;      /* extract wall time from first task start to last task end */
} pg2md_table_stat;

typedef struct pg2md_trace {
	char *load_id;
	bool direct;
	bool finished_pending; /* this run only finished a package left by an earlier run */
	char *pending_state;   /* the state it was found in */
	char *note;            /* a stage had nothing to do: what to tell the user instead of a summary */
	int workers;
	int ntasks;
	char *destination;     /* "DuckDB file \"…\"" */
	char *dataset;
	char *found_in;        /* no table list: the schema whose tables were all copied, else NULL */
	pg2md_table_stat *tables;
	int ntables;
	double t_extract, t_normalize, t_load, t_total;
	int64_t peak_rss;
	pg2md_code result;
	struct pg2md_timeline *timeline; /* spans and throughput samples (trace.h); NULL when read back */
} pg2md_trace;

pg2md_code pipeline_run(const pg2md_config *cfg, int stages, pg2md_trace *trace, pg2md_error *err);
void pipeline_trace_release(pg2md_trace *trace);

#endif

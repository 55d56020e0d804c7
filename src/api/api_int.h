/*
 * api_int.h — what the files of src/api/ share: the pipeline handle behind pg2md.h and the
 * mapping of internal failures (util/error.h) onto the caller's pg2md_err.
 *
 * Everything a handle returns to its caller lives in the handle until the next call of the
 * same kind or pg2md_close: each kind of result has its own slot below, released when the
 * slot is filled again.
 */
#ifndef PG2MD_API_INT_H
#define PG2MD_API_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "cdc/admin.h"
#include "cdc/follow.h"
#include "config/config.h"
#include "pg2md.h"
#include "stage/drop.h"
#include "stage/pipeline.h"
#include "util/checklist.h"
#include "util/error.h"
#include "verify/verify.h"

/* A run as pg2md_run_info shows it: the trace it points into and the table array. */
typedef struct api_run {
	bool filled;
	pg2md_trace trace;
	pg2md_run_info info;
	pg2md_table_run *tables;
	char *finished_at, *error; /* a stored trace's */
} api_run;

struct pg2md_pipeline {
	pg2md_config *cfg;
	pg2md_config_flags flags;      /* pg2md_open's options, its strings owned here: a reload reads with them */
	pg2md_pipeline_info pinfo;
	char *pipeline_dir;
	pg2md_setting_info *settings;  /* sorted by key */

	api_run last;                  /* pg2md_run */
	api_run stored;                /* pg2md_last_trace */
	pg2md_progress_fn progress_fn; /* pg2md_set_progress */
	void *progress_arg;

	verify_report verify;          /* pg2md_verify */
	pg2md_verify_info verify_info;
	pg2md_verify_table *verify_tables;

	checklist check;               /* pg2md_check */
	pg2md_check_item *check_items;
	pg2md_check_info check_info;
	pg2md_check_fn check_fn;
	void *check_arg;

	json_t *packages_doc;          /* pg2md_packages: the strings below point into it */
	pg2md_packages_info packages_info;
	pg2md_package *packages;
	pg2md_package_table *package_tables;

	json_t *loads_doc;             /* pg2md_loads */
	char *loads_note;
	pg2md_loads_info loads_info;
	pg2md_load *loads;

	drop_result drop;              /* pg2md_drop_* */
	pg2md_drop_info drop_info;

	json_t *watermarks_doc;        /* pg2md_watermarks: the strings below point into it */
	pg2md_watermarks_info watermarks_info;
	pg2md_watermark *watermarks;

	cdc_slot_status slot;          /* pg2md_slot: the strings below point into it */
	pg2md_slot_info slot_info;

	cdc_follow_report follow;      /* pg2md_follow: the strings below point into it */
	pg2md_follow_info follow_info;
};

/* At the start of each call that does work: memory's state (util/mem.h) starts afresh. */
void api_begin(void);

/* Copy an internal failure out (err may be NULL); returns its status.  A failure while memory
 * ran out is PG2MD_NOMEM, whatever it says. */
pg2md_status api_error(pg2md_err *err, const pg2md_error *in);
/* PG2MD_NOMEM, where the interface itself could not allocate. */
pg2md_status api_nomem(pg2md_err *err);

/* Fill *r's public view from r->trace (run stages, or 0 for a stored trace); false when out of
 * memory (the view then lists no tables). */
bool api_run_fill(api_run *r, pg2md_status status, int stages);
void api_run_release(api_run *r);

void api_check_release(pg2md_pipeline *p);
void api_info_release(pg2md_pipeline *p);
void api_drop_release(pg2md_pipeline *p);
void api_follow_release(pg2md_pipeline *p);
/* Read the configuration again as pg2md_open read it (pg2md_follow_reload). */
pg2md_code api_config_reload(void *pipeline, pg2md_config **out, pg2md_error *err);

#endif

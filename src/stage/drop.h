/*
 * drop.h — `pg2md drop`: forget tables, the whole pipeline, or the load packages not loaded
 * yet, as dlt's `pipeline drop` and `drop-pending-packages` do.
 *
 * Each looks up everything it would drop first, then asks confirm (may be NULL: no question)
 * with a sentence saying what ("drop table \"a\" from dataset \"d\" of file /p/x.duckdb"); a
 * non-zero answer drops nothing (PG2MD_ERR_USAGE, result->refused).  What was done is in
 * *result (release with drop_result_release), for the caller to report.
 */
#ifndef PG2MD_STAGE_DROP_H
#define PG2MD_STAGE_DROP_H

#include <stdbool.h>

#include "config/config.h"
#include "util/error.h"

typedef int (*drop_confirm_fn)(void *arg, const char *question);

typedef struct drop_result {
	bool refused;          /* confirm said no */
	bool nothing;          /* there was nothing to drop */
	char *where;           /* the destination as messages name it; NULL when it was not opened */
	char *dataset;
	char *staging;         /* <dataset>_staging */
	char *pipeline_dir;
	/* drop_tables */
	char **tables;         /* dropped, destination names */
	int ntables;
	int staging_tables;    /* also dropped from the staging dataset */
	int schema_tables;     /* removed from the stored schema */
	int state_tables;      /* whose state was reset */
	/* drop_all */
	bool dropped_dataset, dropped_staging, removed_folder;
	/* drop_pending */
	char **packages;       /* discarded load ids */
	const char **package_states;
	int npackages;
	/* cdc_drop_replication (cdc/admin.c) */
	char *slot, *publication;
	bool dropped_slot, dropped_publication, cleared_watermark;
	bool publication_kept; /* it exists but pg2md follow did not create it */
} drop_result;

/* An empty result for cfg's pipeline (what every drop_* starts with); false when memory ran out
 * (release it with drop_result_release all the same). */
bool drop_result_init(drop_result *r, const pg2md_config *cfg);

/* Ask confirm (NULL: nobody is asked); a refusal sets r->refused and fails with PG2MD_ERR_USAGE. */
pg2md_code drop_confirmed(drop_confirm_fn confirm, void *arg, const char *question, drop_result *r,
			  pg2md_error *err);

/*
 * Drop the tables of list ("T1,T2": source or destination names) from the dataset and its
 * staging dataset, their stored schema and their state, in one transaction: all or none.
 * Refused while a load package is pending (loading it later would bring the tables back).
 */
pg2md_code drop_tables(const pg2md_config *cfg, const char *list, drop_confirm_fn confirm, void *arg,
		       drop_result *result, pg2md_error *err);

/* Drop the dataset and its staging dataset, and remove the pipeline folder.  The DuckDB file stays. */
pg2md_code drop_all(const pg2md_config *cfg, drop_confirm_fn confirm, void *arg, drop_result *result,
		    pg2md_error *err);

/*
 * Discard the load packages extracted or normalized but not loaded: their rows are read again
 * by the next run (their cursors were never stored).
 */
pg2md_code drop_pending(const pg2md_config *cfg, drop_confirm_fn confirm, void *arg, drop_result *result,
			pg2md_error *err);

void drop_result_release(drop_result *r);

#endif

/*
 * drop.h — what `pg2md drop` does in the destination: look up tables and datasets, drop
 * tables with their stored schema and state (as dlt's `pipeline drop` does), drop datasets.
 * stage/drop.c decides what to drop and asks for confirmation first.
 */
#ifndef PG2MD_DEST_DROP_H
#define PG2MD_DEST_DROP_H

#include <stdbool.h>

#include "dest/duck.h"
#include "util/error.h"

/* Does relation name exist in schema (of the current database)? */
bool dest_has_table(pg2md_dest *d, const char *schema, const char *name);
/* Does schema exist (in the current database)? */
bool dest_has_schema(pg2md_dest *d, const char *schema);
/* The data tables of dataset, quoted and comma separated, for hints (caller frees); NULL: none. */
char *dest_data_tables(pg2md_dest *d, const char *dataset);

/* What dest_drop_tables did besides dropping the tables. */
typedef struct dest_drop_counts {
	int staging;        /* tables dropped from the staging dataset too */
	int schema;         /* tables removed from the stored schema (a new _dlt_version row) */
	int state;          /* tables whose state was reset (a new _dlt_pipeline_state row) */
} dest_drop_counts;

/*
 * In one transaction: drop dataset.names[k] (each must exist) and the same tables of the
 * staging dataset, remove them from the newest stored schema and their state
 * (sources.sql_database.resources.<src_names[k] or names[k]>) from the newest state of
 * pipeline_name, each as a new row written with load_id.  On failure nothing is dropped.
 */
pg2md_code dest_drop_tables(pg2md_dest *d, const char *dataset, const char *staging, const char *pipeline_name,
			    char **src_names, char **names, int n, const char *load_id, dest_drop_counts *out,
			    pg2md_error *err);

/* DROP SCHEMA … CASCADE of the dataset and/or its staging dataset, in one transaction. */
pg2md_code dest_drop_datasets(pg2md_dest *d, const char *dataset, const char *staging, bool drop_dataset,
			      bool drop_staging, pg2md_error *err);

#endif

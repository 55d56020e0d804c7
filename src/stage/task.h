/*
 * task.h — one unit of extraction work: a table, or a page range of one leaf
 * of it, read with one COPY on one connection.
 *
 * Tasks are planned before any data moves (plan.c) and handed out from a
 * shared queue; a worker fills in the results and the error of the task it
 * ran, so an error travels with its item, never through a global.
 */
#ifndef PG2MD_TASK_H
#define PG2MD_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "schema/table.h"
#include "util/error.h"
#include "xfer/copyscan.h"

typedef struct pg2md_task {
	int id;
	int table_idx;
	pg2md_table *table;
	int leaf;            /* index into table->leaf_* */
	int64_t page_lo;     /* first page, or -1: the whole leaf */
	int64_t page_hi;     /* page after the last, or -1: open-ended */
	char *copy_sql;      /* COPY (SELECT …) TO STDOUT (FORMAT binary) */
	char *file;          /* staged mode: the Parquet file written (or folder, when rotating), relative to the package */
	char **parts;        /* rotating: the files in that folder, relative to the package */
	int64_t *part_rows;  /* their rows (-1: unknown) */
	int nparts;

	/* the scan of the task (xfer/copyscan.h): its table, copy_sql and the running worker's
	 * connection in; rows, bytes, window, lossy values, its error out; scan.retries counts the
	 * times the task was read again (a lost connection, DuckDB out of memory) */
	copyscan_job scan;
	/* direct: the rows its statement inserted into the work table (this attempt); its COMMIT
	 * ran DuckDB out of memory and did not commit (commit.c, commit_settle): it may be read again */
	int64_t inserted;
	bool commit_undone;

	/* results of the stage's own */
	int64_t file_bytes;  /* Parquet bytes written */
	double started;
	double seconds;
	int worker;
} pg2md_task;

#endif

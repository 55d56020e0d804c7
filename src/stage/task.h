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

#include <libpq-fe.h>
#include <stdint.h>

#include "source/catalog.h"
#include "util/error.h"

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

	PGconn *conn;        /* the running worker's connection */
	bool staged;         /* set by the scan: decoding for Parquet staging */

	/* results */
	int64_t rows;
	int64_t bytes;       /* COPY bytes received */
	int64_t window_bytes; /* the most COPY bytes in 2048 consecutive rows (rows of several MB) */
	int64_t window_rows;  /* the rows of that window */
	int64_t file_bytes;  /* Parquet bytes written */
	int64_t lossy;       /* values not representable exactly (counted, see docs/types.md) */
	double started;
	double seconds;
	int worker;
	int retries;         /* times the task was read again (a lost connection, DuckDB out of memory) */
	bool oom;            /* the attempt failed as DuckDB ran out of memory (or extract:oom said so) */
	pg2md_error err;
	char sqlstate[6];    /* PostgreSQL's SQLSTATE when the COPY failed on the server, else "" */
} pg2md_task;

#endif

/*
 * copyscan.h — a PostgreSQL COPY stream as a DuckDB table function: where PostgreSQL meets
 * DuckDB.
 *
 * `pg2md_scan(job_id)` streams the rows of one job (its COPY runs on the job's connection)
 * straight into DuckDB vectors.  One SQL statement then writes them where they go:
 * `COPY (SELECT … FROM pg2md_scan(3)) TO 'f.parquet'` for the staged mode,
 * `INSERT INTO t SELECT … FROM pg2md_scan(3)` for the direct mode.  Memory is one DuckDB chunk
 * (2048 rows) plus one COPY row per scan, whatever the table size.
 *
 * A job is what one scan needs and what it finds, nothing of the run that plans and runs it
 * (the stage's task holds one).
 */
#ifndef PG2MD_COPYSCAN_H
#define PG2MD_COPYSCAN_H

#include <duckdb.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "schema/table.h"
#include "util/error.h"

typedef struct copyscan_job {
	/* what to read, set by the caller before the statement runs */
	const pg2md_table *table;
	PGconn *conn;            /* the connection the COPY runs on */
	const char *copy_sql;    /* COPY (SELECT …) TO STDOUT (FORMAT binary) */
	int retries;             /* times it was read again (the fault "extract:oom" fails a first read only) */

	/* what the scan found; rows and bytes are added with relaxed atomics (the caller's
	 * progress thread reads them while the scan runs) */
	bool staged;             /* it decoded for Parquet staging */
	int64_t rows;
	int64_t bytes;           /* COPY bytes received */
	int64_t window_bytes;    /* the most COPY bytes in 2048 consecutive rows (rows of several MB) */
	int64_t window_rows;     /* the rows of that window */
	int64_t lossy;           /* values not representable exactly (counted, see docs/types.md) */
	bool oom;                /* it failed as DuckDB ran out of memory (or extract:oom said so) */
	pg2md_error err;         /* why it failed: the root cause */
	char sqlstate[6];        /* PostgreSQL's SQLSTATE when the COPY failed on the server, else "" */
} copyscan_job;

/*
 * Hand-off mode: the next chunk of job job_id, decoded by a reader (copyscan_reader_*) outside
 * the statement; 1 with *chunk (the scan destroys it), 0 at the end of the job's rows, -1 when
 * its reading failed (the job's err says why).  May wait for the reader.
 */
typedef int (*copyscan_take_fn)(void *arg, int job_id, duckdb_data_chunk *chunk);

typedef struct copyscan_registry {
	copyscan_job **jobs;     /* indexed by job id; owned by the caller */
	int njobs;
	bool staged;             /* writing Parquet: intervals as STRUCT(months, days, micros) */
	copyscan_take_fn take;   /* NULL: each scan runs its job's COPY; else hand-off mode */
	void *take_arg;
} copyscan_registry;

/*
 * A reader of one job outside any DuckDB statement (hand-off mode: several readers, one writer
 * whose pg2md_scan takes their chunks).  start runs the COPY on job->conn (NULL, job->err set,
 * when it did not start); new_chunk makes a chunk of the job's columns as pg2md_scan declares
 * them (the caller destroys it; NULL when out of memory, which fill then reports); fill decodes the next rows into it as the scan would (*bytes:
 * their COPY bytes; *done: the data ended; fails with job->err set); end cancels a COPY still
 * running (copyscan_abort) and frees the reader.
 */
typedef struct copyscan_reader copyscan_reader;
copyscan_reader *copyscan_reader_start(copyscan_job *job, bool staged);
duckdb_data_chunk copyscan_new_chunk(const copyscan_job *job, bool staged);
pg2md_code copyscan_reader_fill(copyscan_reader *r, duckdb_data_chunk chunk, int64_t *bytes, bool *done);
void copyscan_reader_end(copyscan_reader *r);

/*
 * The DuckDB type a column's decoder writes: dec and its precision/scale, ty its nested shape
 * (arrays, composites; NULL for scalars), staged for the Parquet shapes, nested inside a LIST
 * or STRUCT.  The caller destroys it.  NULL when out of memory.
 */
duckdb_logical_type copyscan_logical_type(pg2md_dec dec, int precision, int scale, const pg2md_type *ty, bool staged,
					  bool nested);

/* Register pg2md_scan on a database (through one of its connections). */
pg2md_code copyscan_register(duckdb_connection con, copyscan_registry *reg, pg2md_error *err);

/* Cancel the COPY running on conn, if any, and drain it (used on errors and SIGINT). */
void copyscan_abort(PGconn *conn);

#endif

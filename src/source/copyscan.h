/*
 * copyscan.h — a PostgreSQL COPY stream as a DuckDB table function.
 *
 * `pg2md_scan(task_id)` streams the rows of one task (its COPY runs on the
 * task's connection) straight into DuckDB vectors.  One SQL statement then
 * writes them where they go: `COPY (SELECT … FROM pg2md_scan(3)) TO 'f.parquet'`
 * for the staged mode, `INSERT INTO t SELECT … FROM pg2md_scan(3)` for the
 * direct mode.  Memory is one DuckDB chunk (2048 rows) plus one COPY row per
 * scan, whatever the table size.
 */
#ifndef PG2MD_COPYSCAN_H
#define PG2MD_COPYSCAN_H

#include <duckdb.h>

#include "stage/task.h"
#include "util/error.h"

typedef struct copyscan_registry {
	pg2md_task *tasks; /* indexed by task id; owned by the caller */
	int ntasks;
	bool staged;       /* writing Parquet: intervals as STRUCT(months, days, micros) */
} copyscan_registry;

/*
 * The DuckDB type a column's decoder writes: dec and its precision/scale, ty its nested shape
 * (arrays, composites; NULL for scalars), staged for the Parquet shapes, nested inside a LIST
 * or STRUCT.  The caller destroys it.
 */
duckdb_logical_type copyscan_logical_type(pg2md_dec dec, int precision, int scale, const pg2md_type *ty, bool staged,
					  bool nested);

/* Register pg2md_scan on a database (through one of its connections). */
pg2md_code copyscan_register(duckdb_connection con, copyscan_registry *reg, pg2md_error *err);

/* Cancel the COPY running on conn, if any, and drain it (used on errors and SIGINT). */
void copyscan_abort(PGconn *conn);

#endif

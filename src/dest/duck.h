/*
 * duck.h — the destination: a local DuckDB file or a MotherDuck database.
 *
 * Both are a DuckDB database to pg2md; MotherDuck is opened as
 * "md:<database>" with the token passed as the motherduck_token setting,
 * never in the path (so it cannot leak into a message).  This file also owns
 * the dataset's layout: the schema named after dataset_name, the data
 * tables, and dlt's system tables _dlt_loads, _dlt_pipeline_state and
 * _dlt_version with dlt's columns.
 */
#ifndef PG2MD_DUCK_H
#define PG2MD_DUCK_H

#include <duckdb.h>
#include <stdbool.h>

#include "config/config.h"
#include "util/buf.h"
#include "util/error.h"

typedef struct pg2md_dest {
	duckdb_database db;
	duckdb_connection con;  /* the loader's connection */
	bool motherduck;
	char *where;            /* "file /p/pg2md.duckdb" or "MotherDuck database \"my_db\"", for messages */
	char *catalog;          /* the catalog holding the dataset ("pg2md" for a file, the md database) */
	int threads;            /* DuckDB threads it was opened with */
} pg2md_dest;

/* The memory budget of each DuckDB instance pg2md opens ("128MB" unless PG2MD_DUCKDB_MEMORY_LIMIT). */
const char *duck_memory_limit(void);
/* After a failed DuckDB statement, a hint for the failures a user can fix: DuckDB out of its
 * memory budget (rows of several MB need more than the default), a full file system (staging
 * files or the DuckDB file); docs/reliability.md. */
void duck_error_hint(const char *duck_error, pg2md_error *err);

/*
 * Rows of several MB.  DuckDB writes (and scans) a table 2048 rows at a time, holding all their
 * values at once: a load needs about the bytes of its largest 2048 consecutive rows, whatever
 * its budget.  duck_load_need() estimates that for rows of row_bytes bytes (window_rows of them
 * at most 2048); dest_budget_raise() raises the budget of d to need (when
 * PG2MD_DUCKDB_MEMORY_LIMIT is not set, and at most to 3/4 of the machine's memory) and runs it
 * on one thread, which holds one such window, not one per thread; dest_budget_restore() undoes
 * it.  *raised tells whether anything changed.  docs/reliability.md, "Values of several MB".
 */
int64_t duck_load_need(int64_t window_rows, double row_bytes);
pg2md_code dest_budget_raise(pg2md_dest *d, int64_t need, const char *what, bool *raised, pg2md_error *err);
/* The same on a connection of the destination (direct mode's workers: the budget is DuckDB's,
 * one for all connections). */
pg2md_code duck_budget_raise(duckdb_connection con, int64_t need, const char *what, bool *raised, pg2md_error *err);
void dest_budget_restore(pg2md_dest *d);
/* "128MB", "1.5GiB", "400000000b" as DuckDB reads a memory_limit; -1 if not one. */
int64_t duck_parse_bytes(const char *s);

/* Open destinations with DuckDB's own memory limit from now on (pg2md sql: the user's queries). */
void duck_memory_unbounded(void);

/* DuckDB threads for a stage that asks for wanted: at least 1, at most the cores. */
int duck_threads(int wanted);

/*
 * For a local DuckDB file: can this process create or write it?  The folder must exist and be
 * writable (DuckDB writes the file and its .wal next to it), and an existing file writable.
 * Fails with PG2MD_ERR_CONNECT, naming the folder or the file and the reason (read-only file
 * system, permission denied, no such folder), with a hint.  MotherDuck: nothing to check here.
 * A run calls it before extracting, so nothing is read that could not be loaded.
 */
pg2md_code dest_check_writable(const pg2md_config *cfg, pg2md_error *err);

/* Open the configured destination; PG2MD_ERR_CONNECT with a hint on failure. */
pg2md_code dest_open(pg2md_dest *d, const pg2md_config *cfg, int threads, pg2md_error *err);
void dest_close(pg2md_dest *d);

/* Run SQL on con; PG2MD_ERR_RUN with DuckDB's message on failure. what says what was being done. */
pg2md_code duck_exec(duckdb_connection con, const char *sql, const char *what, pg2md_error *err);

/* First column of the first row as a new string (NULL if no row), or error. */
pg2md_code duck_scalar(duckdb_connection con, const char *sql, char **out, pg2md_error *err);

/* CREATE SCHEMA and dlt's system tables if missing. */
pg2md_code dest_prepare_dataset(pg2md_dest *d, const char *dataset, pg2md_error *err);

/* Append "dataset"."name" to b. */
void duck_qualified(pg2md_buf *b, const char *dataset, const char *name);

#endif

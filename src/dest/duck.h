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
	bool md_rules;          /* loads under MotherDuck's rules: MotherDuck, or the test-only switch (motherduck.h) */
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
/* Whether a failed statement's result is DuckDB running out of its memory budget (its error
 * type, not its text). */
bool duck_out_of_memory(duckdb_result *res);
/* The same for a failed COMMIT, which DuckDB reports as a transaction error with the buffer
 * manager's message inside. */
bool duck_commit_out_of_memory(duckdb_result *res);

/*
 * Rows of several MB.  DuckDB writes (and scans) a table 2048 rows at a time, holding all their
 * values: a load needs about the bytes of its largest 2048 consecutive rows (the window),
 * whatever its budget.  docs/reliability.md, "Values of several MB".
 *
 * duck_window_with: a window of window_rows rows and window_bytes bytes, plus more_rows rows of
 * its average size while it holds fewer than 2048 (the rows of the table appended to).
 * duck_window_need: the budget a window needs.  duck_budget_short: whether that passes the
 * budget.  duck_budget_raise: raise DuckDB's budget (one for all connections of a database) to
 * need, unless PG2MD_DUCKDB_MEMORY_LIMIT was set (then a warning) and at most to 3/4 of the
 * machine's memory; announce says it at INFO (else DEBUG); *raised tells whether it changed.
 * duck_budget_restore: back to duck_memory_limit().
 */
#define DUCK_WINDOW_ROWS 2048
/*
 * And wide tables: what DuckDB's budget counts per column of a table being written (a 256 KB
 * segment and, loading from Parquet, a column reader's buffers, for each of its threads).
 * Measured at 2 threads on 3,000 narrow rows: 400 columns load at 256 MB (200 MB fails), 800
 * at 512 MB (448 MB fails), while peak RSS stays near 110-120 MB: blocks are counted when
 * allocated, not when touched, so wide tables need a larger budget more than more memory.
 */
#define DUCK_COLUMN_BYTES (640 * 1024)
int64_t duck_window_with(int64_t window_bytes, int64_t window_rows, int64_t more_rows);
int64_t duck_window_need(int64_t window_bytes);
bool duck_budget_short(int64_t need);
pg2md_code duck_budget_raise(duckdb_connection con, int64_t need, const char *what, bool announce, bool *raised,
			     pg2md_error *err);
void duck_budget_restore(duckdb_connection con);
/* SET threads on con's database (a warning if DuckDB refuses). */
void duck_set_threads(duckdb_connection con, int threads);
/* The rows of dataset.table in the destination (DuckDB's count, kept with the table), 0 if none. */
pg2md_code duck_table_rows(duckdb_connection con, const char *dataset, const char *table, int64_t *rows,
			   pg2md_error *err);
/* "128MB", "1.5GiB", "400000000b" as DuckDB reads a memory_limit; -1 if not one. */
int64_t duck_parse_bytes(const char *s);
/* Commits on d write straight into the file, not the WAL first (a DuckDB file; the pipeline's
 * loads, see duck.c). */
void dest_checkpoint_on_commit(pg2md_dest *d);

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

/*
 * An in-memory DuckDB of pg2md's own (staging, normalize, checking a transform): threads
 * threads, no insertion order kept (rows of a table have none, and ROW_GROUP_SIZE_BYTES needs
 * it), the memory budget, spilling into tmpdir (NULL: DuckDB's default).  what names it in the
 * error ("for staging").
 */
pg2md_code duck_open_scratch(duckdb_database *db, duckdb_connection *con, int threads, const char *tmpdir,
			     const char *what, pg2md_error *err);

/* A local DuckDB file opened read-only with one thread and the memory budget; NULL *db and DuckDB's message in *why
 * (caller frees with duckdb_free) when it cannot be. */
bool duck_open_readonly(const char *path, duckdb_database *db, duckdb_connection *con, char **why);

/* Does relation name exist in schema (of con's current database)?  false when the query fails. */
bool duck_has_table(duckdb_connection con, const char *schema, const char *name);

/* Is there a destination to read: MotherDuck (always; opening it tells more), or a local DuckDB
 * file that exists?  Nothing is opened. */
bool dest_exists(const pg2md_config *cfg);

/* Open the configured destination; PG2MD_ERR_CONNECT with a hint on failure. */
pg2md_code dest_open(pg2md_dest *d, const pg2md_config *cfg, int threads, pg2md_error *err);
void dest_close(pg2md_dest *d);

/* Run SQL on con; PG2MD_ERR_RUN with DuckDB's message on failure. what says what was being done. */
pg2md_code duck_exec(duckdb_connection con, const char *sql, const char *what, pg2md_error *err);

/*
 * Run a user's statement on con and pass each row to row (ncols values as DuckDB's text, NULL
 * for SQL NULL; valid until row returns; row returns non-zero to stop).  A SELECT is wrapped in
 * a cast of every column to VARCHAR; what cannot be wrapped (DESCRIBE, SHOW, DDL) runs as it is.
 */
typedef int (*duck_row_fn)(void *arg, int ncols, const char *const *values);
pg2md_code duck_query_rows(duckdb_connection con, const char *sql, duck_row_fn row, void *arg, pg2md_error *err);

/* First column of the first row as a new string (NULL if no row), or error. */
pg2md_code duck_scalar(duckdb_connection con, const char *sql, char **out, pg2md_error *err);

/* CREATE SCHEMA and dlt's system tables if missing. */
pg2md_code dest_prepare_dataset(pg2md_dest *d, const char *dataset, pg2md_error *err);

/* Append "dataset"."name" to b. */
void duck_qualified(pg2md_buf *b, const char *dataset, const char *name);

#endif

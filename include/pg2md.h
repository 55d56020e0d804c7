/*
 * pg2md.h — the public interface of libpg2md: copy PostgreSQL tables into DuckDB or MotherDuck.
 *
 * A pipeline is opened from a project folder holding dlt's .dlt/config.toml and
 * .dlt/secrets.toml (the same files, keys and environment overrides the pg2md command uses),
 * with optional overrides, then run: extract (binary COPY of every configured table, in
 * parallel, inside one snapshot), normalize, load (one DuckDB transaction per load package, so
 * a run that stops at any point is finished by the next one, never duplicating a row).
 *
 *     #include <pg2md.h>
 *
 *     pg2md_options opts = PG2MD_OPTIONS_INIT;
 *     pg2md_pipeline *p;
 *     pg2md_err err;
 *     opts.project_dir = "/srv/pipelines/shop";
 *     if (pg2md_open(&p, &opts, &err) != PG2MD_SUCCESS) { report(&err); return; }
 *     if (pg2md_run(p, PG2MD_STAGE_ALL, &err) != PG2MD_SUCCESS) report(&err);
 *     else printf("%lld rows\n", (long long)pg2md_last_run(p)->rows);
 *     pg2md_close(p);
 *
 * Build with `pkg-config --cflags --libs pg2md`.
 *
 * Conventions (as libpq and SQLite keep them):
 * - Every function that can fail returns a pg2md_status and, when err is not NULL, fills the
 *   caller-owned *err: the status, the SQLSTATE when PostgreSQL reported one, a message in
 *   PostgreSQL's style (lower case, no full stop, names in double quotes), and optional detail
 *   and hint lines.  No message ever holds a password, token or connection string with one.
 * - The library never prints, exits or aborts.  Log lines reach the callback of pg2md_set_log
 *   (none: they are dropped); the command-line tool is the one that writes to a terminal.
 * - Strings returned are owned by the pipeline and valid until the next call on it, or until
 *   pg2md_close, unless said otherwise; strings the caller must free say "free with pg2md_free".
 * - A pipeline handle is used by one thread at a time; the library runs its own worker threads
 *   inside pg2md_run.  Different handles may run at once, on different project folders.
 */
#ifndef PG2MD_PUBLIC_H
#define PG2MD_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PG2MD_VERSION "0.1.0"

/* What a call ended with.  The command line maps these to its exit codes (docs/commands.md). */
typedef enum pg2md_status {
	PG2MD_SUCCESS = 0,
	PG2MD_FAILED = 1,    /* the work failed: a data error, a load error, the pipeline already running */
	PG2MD_CONFIG = 2,    /* a usage or configuration error: fix the input, a retry fails the same way */
	PG2MD_CONNECT = 3,   /* PostgreSQL, the DuckDB file or MotherDuck could not be reached */
	PG2MD_CANCELLED = 4, /* pg2md_cancel() was called; what was not committed is finished by the next run */
	PG2MD_NOMEM = 5      /* out of memory */
} pg2md_status;

/* A failure, filled by the call that failed.  The caller owns it (a stack variable will do). */
typedef struct pg2md_err {
	pg2md_status status;
	char sqlstate[6];    /* PostgreSQL's SQLSTATE ("55P03"), or "" when the failure was not the server's */
	char message[1024];
	char detail[2048];   /* "" when none */
	char hint[1024];     /* "" when none: what to do about it */
} pg2md_err;

/* Overrides of the project's settings, as the command line's flags give them; NULL / -1: not given. */
typedef struct pg2md_options {
	const char *project_dir;       /* the folder holding .dlt/ (NULL: DLT_PROJECT_DIR, else the current folder) */
	const char *tables;            /* "a,b": these tables instead of [sources.sql_database] tables */
	const char *write_disposition; /* "replace", "append" or "merge" for every table */
	const char *destination;       /* "duckdb" or "motherduck" */
	const char *dataset_name;
	const char *pipeline_name;
	const char *log_level;         /* "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL" */
	int direct;                    /* 1: stream into the destination without Parquet staging; 0: staged; -1: as configured */
} pg2md_options;

#define PG2MD_OPTIONS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, -1 }

typedef struct pg2md_pipeline pg2md_pipeline;

/* The library's version, PG2MD_VERSION of the library linked (not of the header compiled). */
const char *pg2md_version(void);

/*
 * Log lines of every pipeline of the process go to fn (level: 10 DEBUG, 20 INFO, 30 WARNING,
 * 40 ERROR, 50 CRITICAL; the message without a prefix).  Lines below the configured
 * [runtime] log_level are not produced.  fn may be called from the library's worker threads,
 * never by two at once.  NULL drops them (the default).
 */
typedef void (*pg2md_log_fn)(void *arg, int level, const char *message);
void pg2md_set_log(pg2md_log_fn fn, void *arg);

/*
 * Read the project's configuration (files, environment, options) and check it; no connection
 * is made.  On success *out is a new pipeline (close it with pg2md_close); on failure *out is
 * NULL and err says what is wrong and where (file and line).
 */
pg2md_status pg2md_open(pg2md_pipeline **out, const pg2md_options *opts, pg2md_err *err);
void pg2md_close(pg2md_pipeline *p);

/*
 * A resolved setting by its canonical dotted key ("sources.sql_database.schema",
 * "load.workers", …: docs/configuration.md), as text, or NULL when the key is unknown.  A
 * secret reads "********".  *where (if not NULL) receives where the value came from:
 * "/p/.dlt/config.toml:12", "environment SOURCES__SQL_DATABASE__SCHEMA", "--tables", "default".
 */
const char *pg2md_setting(const pg2md_pipeline *p, const char *key, const char **where);

/* Stages of pg2md_run, to combine with |. */
#define PG2MD_STAGE_EXTRACT 1
#define PG2MD_STAGE_NORMALIZE 2
#define PG2MD_STAGE_LOAD 4
#define PG2MD_STAGE_ALL 7

/*
 * Run the given stages.  A load package left by an earlier run that stopped is finished first,
 * and the run stops there (pg2md_last_run(p)->finished_pending), as dlt does.  The run's
 * metrics are kept in the pipeline folder for `pg2md trace`, failed runs too.  Blocks until the
 * run ends; pg2md_cancel ends it early.
 */
pg2md_status pg2md_run(pg2md_pipeline *p, unsigned stages, pg2md_err *err);

/* One table of a run. */
typedef struct pg2md_table_run {
	const char *name;              /* at the source */
	const char *dest_name;         /* in the destination */
	const char *write_disposition;
	int64_t rows;
	int64_t bytes_read;            /* from PostgreSQL */
	int64_t bytes_staged;          /* Parquet bytes written (0 in direct mode) */
	int tasks, files, retries;
	int64_t lossy;                 /* values that could not arrive exactly (NaN in a DECIMAL column) */
	double seconds;                /* extraction wall time */
} pg2md_table_run;

/*
 * Progress while a run extracts, about once a second, and a last time (final = 1) when the
 * extraction ends: what a live display shows.  The strings live until the callback returns.
 */
typedef struct pg2md_progress_table {
	const char *name;
	int64_t rows, bytes;           /* read so far */
	double est_rows;               /* the catalog's estimate, < 0 when unknown */
	double rows_per_second;        /* since the table started */
} pg2md_progress_table;

typedef struct pg2md_progress_info {
	int final;                     /* the extraction ended: clear a live display */
	double elapsed_seconds;
	int tables_total, tables_done, tables_running;
	int64_t rows, bytes;           /* read so far, all tables */
	double rows_per_second;        /* smoothed over about five seconds */
	double eta_seconds;            /* from the catalog's estimates, < 0 when unknown */
	int nrunning;
	const pg2md_progress_table *running; /* the tables being read now */
} pg2md_progress_info;

/*
 * Call fn with the progress of every pg2md_run of p (NULL: none, the default).  fn runs on the
 * library's reporting thread, never twice at once, and must not call back into p.
 */
typedef void (*pg2md_progress_fn)(void *arg, const pg2md_progress_info *progress);
void pg2md_set_progress(pg2md_pipeline *p, pg2md_progress_fn fn, void *arg);

/* The last pg2md_run of this pipeline handle, or NULL before the first. */
typedef struct pg2md_run_info {
	pg2md_status status;
	const char *load_id;           /* NULL when nothing was extracted */
	const char *destination;       /* e.g. DuckDB file "/p/pg2md.duckdb" */
	const char *dataset;
	const char *note;              /* a stage had nothing to do: what to tell the user; else NULL */
	const char *found_in;          /* no table list: the schema whose tables were all copied; else NULL */
	int direct;
	int finished_pending;          /* only a package left by an earlier run was finished */
	int workers, tasks;
	int ntables;
	const pg2md_table_run *tables;
	int64_t rows;                  /* all tables */
	double seconds_extract, seconds_normalize, seconds_load, seconds_total;
	int64_t peak_rss_bytes;        /* of the process, at the end of the run */
} pg2md_run_info;

const pg2md_run_info *pg2md_last_run(const pg2md_pipeline *p);

/*
 * The stored metrics of the last run of this project's pipeline (by any process) as JSON, the
 * document `pg2md trace --json` prints.  *json: free with pg2md_free.  PG2MD_CONFIG when no
 * run has stored any.
 */
pg2md_status pg2md_trace_json(pg2md_pipeline *p, char **json, pg2md_err *err);

/*
 * Run SQL on the destination (the DuckDB file, or MotherDuck), with DuckDB's own defaults (not
 * the pipeline's memory budget).  Each row of each statement's result is passed to row (may be
 * NULL): ncols values as DuckDB's text, NULL for SQL NULL; the strings live until row returns.
 * row returns 0 to go on, anything else to stop (the call then returns PG2MD_SUCCESS).
 */
typedef int (*pg2md_row_fn)(void *arg, int ncols, const char *const *values);
pg2md_status pg2md_sql(pg2md_pipeline *p, const char *sql, pg2md_row_fn row, void *arg, pg2md_err *err);

/* One table of pg2md_verify. */
typedef struct pg2md_verify_table {
	const char *name, *dest_name;
	int equal;                     /* same rows and, unless values_compared is 0, the same values */
	int values_compared;           /* 0: a transform reshapes the rows, only counts are compared */
	long long source_rows;
	long long dest_rows;           /* -1: the table is not in the destination */
	const char *source_checksum;
	const char *dest_checksum;     /* NULL: not computed */
	const char *detail;            /* why it could not be compared, or NULL */
} pg2md_verify_table;

typedef struct pg2md_verify_info {
	const char *destination;
	int ntables, ndifferent;
	const pg2md_verify_table *tables;
} pg2md_verify_info;

/*
 * Compare every table to copy, source against destination, as `pg2md verify` does: row counts
 * and an order-independent checksum of every value, computed inside each database.  Tables
 * that differ are a result, not a failure: the call succeeds and (*out)->ndifferent counts them.
 * *out is owned by p (valid until the next pg2md_verify or pg2md_close).
 */
pg2md_status pg2md_verify(pg2md_pipeline *p, const pg2md_verify_info **out, pg2md_err *err);

/*
 * Ask every running pg2md_run of the process to stop: running COPYs are cancelled on the server
 * (PQcancel), nothing half-written is committed, and the run returns PG2MD_CANCELLED.
 * Async-signal-safe: call it from a SIGINT or SIGTERM handler.
 */
void pg2md_cancel(void);

/* Free what the library allocated for the caller. */
void pg2md_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif

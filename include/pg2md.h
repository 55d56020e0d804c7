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
 * - The library never prints or exits, and running out of memory is an error (PG2MD_NOMEM), not
 *   an abort: it keeps a reserve to give back and stops the run cleanly; an allocation that
 *   fails even then unwinds the call with PG2MD_NOMEM like any other error.  Log lines reach the callback of
 *   pg2md_set_log (none: they are dropped); the command-line tool is the one that writes to a
 *   terminal.
 * - Strings returned are owned by the pipeline and valid until the next call on it, or until
 *   pg2md_close, unless said otherwise; strings the caller must free say "free with pg2md_free".
 * - The library leaves the process's umask alone.  The folders and files it makes itself
 *   (pipeline folder, packages, state, trace, follow's spill files) are 0700 and 0600, and a
 *   DuckDB file it creates is made 0600; files DuckDB writes beside it (the WAL) follow the
 *   caller's umask, so a program holding private data sets umask(077) as the command line does.
 * - A pipeline handle is used by one thread at a time; the library runs its own worker threads
 *   inside pg2md_run.  Different handles may run at once, on different project folders.
 * - Structs the library returns (pg2md_run_info, …) may gain fields at their end in later
 *   versions; structs the caller fills (pg2md_options) are initialised with their _INIT macro.
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
	PG2MD_NOMEM = 5      /* memory ran out: the run stopped as on pg2md_cancel, nothing half-written committed */
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
	const char *metrics_file;      /* [runtime] metrics_file: the Prometheus text file each pg2md_run writes */
} pg2md_options;

#define PG2MD_OPTIONS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, -1, NULL }

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

/* One resolved setting, as `pg2md info` lists them. */
typedef struct pg2md_setting_info {
	const char *key;               /* canonical dotted key */
	const char *value;             /* as text, "" when unset; a secret reads "********" */
	const char *origin;            /* "default", "config.toml", "secrets.toml", "environment" or "flag" */
	const char *where;             /* "/p/.dlt/config.toml:12", the variable, "--tables", …; NULL when nothing more */
	int secret;
} pg2md_setting_info;

/* Every resolved setting, sorted by key; *n counts them. */
const pg2md_setting_info *pg2md_settings(const pg2md_pipeline *p, int *n);

/* What the pipeline is, as its configuration resolved. */
typedef struct pg2md_pipeline_info {
	const char *project_dir;       /* absolute */
	const char *pipeline_name;
	const char *pipeline_dir;      /* <pipelines_dir>/<pipeline_name>: load packages, trace.json, status.json */
	const char *schema;            /* the source's schema */
	const char *dataset;           /* the destination's dataset */
	const char *destination;       /* "duckdb" or "motherduck" */
	const char *duckdb_path;       /* the DuckDB file; NULL for MotherDuck */
	const char *log_level;         /* [runtime] log_level: "DEBUG", "INFO", "WARNING", "ERROR" or "CRITICAL" */
	int log_json;                  /* [runtime] log_format is JSON */
	const char *on_failure;        /* [runtime] on_failure: a command to run when a run fails, or NULL */
} pg2md_pipeline_info;

const pg2md_pipeline_info *pg2md_describe(const pg2md_pipeline *p);

/*
 * Does text hold one of the pipeline's secrets (the PostgreSQL password, the MotherDuck token;
 * those under 4 characters are not looked for)?  For a caller that passes text on: into a
 * child's environment, a log, a ticket.
 */
int pg2md_holds_secret(const pg2md_pipeline *p, const char *text);

/* Stages of pg2md_run, to combine with |. */
#define PG2MD_STAGE_EXTRACT 1
#define PG2MD_STAGE_NORMALIZE 2
#define PG2MD_STAGE_LOAD 4
#define PG2MD_STAGE_ALL 7

/*
 * Run the given stages.  A load package left by an earlier run that stopped is finished first,
 * and the run stops there (pg2md_last_run(p)->finished_pending), as dlt does.  The run's
 * metrics are kept in the pipeline folder for `pg2md trace`, failed runs too, and written as
 * a Prometheus text file when [runtime] metrics_file is set (docs/operations.md).  Blocks until
 * the run ends; pg2md_cancel ends it early.
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
	const char *pending_state;     /* finished_pending: the state the package was found in, e.g. "normalized" */
	const char *failed_stage;      /* a failed run: "extract", "normalize" or "load"; else NULL */
	const char *finished_at;       /* pg2md_last_trace: when the run ended, ISO 8601 in UTC; else NULL */
	const char *error;             /* pg2md_last_trace: a failed run's message; else NULL */
} pg2md_run_info;

const pg2md_run_info *pg2md_last_run(const pg2md_pipeline *p);

/*
 * The stored record of the last run of this project's pipeline, by any process (what `pg2md
 * trace` shows), in the form of pg2md_last_run.  PG2MD_CONFIG when no run has stored one.  *out
 * is owned by p (valid until the next pg2md_last_trace or pg2md_close).
 */
pg2md_status pg2md_last_trace(pg2md_pipeline *p, const pg2md_run_info **out, pg2md_err *err);

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

/* pg2md_sql of nsql statements in turn, on one connection (a SET or a temporary table of one
 * holds for the next), stopping at the first that fails or whose row callback stops. */
pg2md_status pg2md_sqlv(pg2md_pipeline *p, int nsql, const char *const *sql, pg2md_row_fn row, void *arg,
			pg2md_err *err);

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
	const char *write_disposition;
	int filtered;                  /* the source side has a where filter */
	int windowed;                  /* the source side is limited to the incremental window */
	int incremental;               /* the table has an incremental cursor */
} pg2md_verify_table;

typedef struct pg2md_verify_info {
	const char *destination;
	int ntables, ndifferent;
	const pg2md_verify_table *tables;
	int dest_exists;               /* 0: a local DuckDB file that does not exist (every table differs) */
} pg2md_verify_info;

/*
 * Compare every table to copy, source against destination, as `pg2md verify` does: row counts
 * and an order-independent checksum of every value, computed inside each database.  Tables
 * that differ are a result, not a failure: the call succeeds and (*out)->ndifferent counts them.
 * *out is owned by p (valid until the next pg2md_verify or pg2md_close).
 */
pg2md_status pg2md_verify(pg2md_pipeline *p, const pg2md_verify_info **out, pg2md_err *err);

/*
 * pg2md_check: what a run needs, tested before any data moves.  Each thing tested is an item,
 * "ok" or failed, in a section: first the source (PostgreSQL: the connection, the schema, each
 * table to copy: it exists, it may be read, its estimated size), then the destination (DuckDB
 * or MotherDuck: it opens, it is writable, the dataset's tables).  Both sections are always
 * checked, so one call reports everything; nothing is left behind (a DuckDB file that did not
 * exist is removed again).
 */
typedef struct pg2md_check_item {
	const char *section;           /* "source" or "destination" */
	const char *system;            /* "PostgreSQL", "DuckDB" or "MotherDuck" */
	int ok;
	pg2md_status status;           /* PG2MD_SUCCESS when ok; else PG2MD_CONNECT (could not connect),
	                                * PG2MD_CONFIG (nothing to connect with) or PG2MD_FAILED */
	const char *text;              /* what was checked and found: "schema \"public\"" */
	const char *detail;            /* NULL when none */
	const char *hint;              /* NULL when none: what to do about a failure */
	int nnotes;
	const char *const *notes;      /* further lines: the dataset's tables, what was not checked */
} pg2md_check_item;

typedef struct pg2md_check_info {
	int nitems, npassed, nfailed;
	const pg2md_check_item *items;
	pg2md_status status;           /* PG2MD_SUCCESS when every item passed; else the first of PG2MD_CONFIG,
	                                * PG2MD_CONNECT and PG2MD_FAILED that a failed item has */
} pg2md_check_info;

/*
 * Run the checks.  fn (may be NULL) is called with each item as soon as it is known, in order,
 * for a caller that shows them as they come.  Failed items are a result, not a failure: the
 * call succeeds and (*out)->status says whether everything passed.  *out is owned by p (valid
 * until the next pg2md_check or pg2md_close).  Memory running out is the one failure: an item that
 * failed because of it, or one that could not be kept, makes the call return PG2MD_NOMEM (*out
 * NULL; the items already handed to fn stand).
 */
typedef void (*pg2md_check_fn)(void *arg, const pg2md_check_item *item);
pg2md_status pg2md_check(pg2md_pipeline *p, pg2md_check_fn fn, void *arg, const pg2md_check_info **out,
			 pg2md_err *err);

/*
 * Load packages: what a run extracted and has not loaded yet, in the pipeline folder (the next
 * run finishes them), and how many loaded ones are kept.
 */
typedef struct pg2md_package_table {
	const char *name;
	int64_t rows;
} pg2md_package_table;

typedef struct pg2md_package {
	const char *load_id;
	const char *state;             /* "extracting" (interrupted: the next run discards it), "extracted", "normalized" */
	const char *path;              /* its folder */
	int has_manifest;              /* 0: tables and rows unknown */
	int64_t rows;
	int ntables;
	const pg2md_package_table *tables;
} pg2md_package;

typedef struct pg2md_packages_info {
	int npending;
	const pg2md_package *pending;  /* by state (extracting, extracted, normalized), oldest first in each */
	int nloaded;                   /* loaded packages whose manifests are kept */
} pg2md_packages_info;

/* *out is owned by p (valid until the next pg2md_packages or pg2md_close). */
pg2md_status pg2md_packages(pg2md_pipeline *p, const pg2md_packages_info **out, pg2md_err *err);

/* A row of the destination's _dlt_loads: one per load package loaded. */
typedef struct pg2md_load {
	const char *load_id;
	const char *schema_name;
	int64_t status;                /* 0: loaded */
	const char *inserted_at;       /* ISO 8601 in UTC */
	const char *schema_version_hash;
} pg2md_load;

typedef struct pg2md_loads_info {
	int available;                 /* 0: not read, note says why */
	const char *note;              /* NULL when available */
	int nloads;
	const pg2md_load *loads;       /* newest first */
} pg2md_loads_info;

/*
 * The last max loads recorded in the dataset's _dlt_loads.  Only a local DuckDB file that exists
 * is read, opened read-only: the file is never created and the writer's lock never taken.  For
 * MotherDuck, a file that does not exist or a dataset without loads, (*out)->available is 0 and
 * the note says why: that is not a failure.  *out is owned by p (valid until the next
 * pg2md_loads or pg2md_close).
 */
pg2md_status pg2md_loads(pg2md_pipeline *p, int max, const pg2md_loads_info **out, pg2md_err *err);

/*
 * A run of this pipeline going on in another process, as its status file says (pid, stage,
 * started_at, updated_at, load_id, tables_done, tables_total, rows, bytes, rows_per_second,
 * eta_seconds, running_tables): *json is that JSON document (free with pg2md_free), or NULL
 * when no run is going (none, or the process that wrote it is gone).
 */
pg2md_status pg2md_running_json(pg2md_pipeline *p, char **json, pg2md_err *err);

/* Where `pg2md follow` has applied the changes of a replication slot up to (pg2md_watermarks). */
typedef struct pg2md_watermark {
	const char *slot;              /* the replication slot */
	const char *applied_lsn;       /* as PostgreSQL writes an LSN: "0/16B3748" */
	const char *applied_at;        /* when, ISO 8601 in UTC */
	int64_t seconds_ago;
} pg2md_watermark;

typedef struct pg2md_watermarks_info {
	int available;                 /* 0: nothing to read (MotherDuck, no DuckDB file, follow never ran) */
	int nslots;
	const pg2md_watermark *slots;  /* by slot name */
} pg2md_watermarks_info;

/*
 * pg2md follow's watermarks, one per replication slot, from the dataset's _pg2md_cdc table.  As
 * pg2md_loads: only a local DuckDB file that exists is read, opened read-only; when there is
 * nothing to read, (*out)->available is 0, which is not a failure.  *out is owned by p (valid
 * until the next pg2md_watermarks or pg2md_close).
 */
pg2md_status pg2md_watermarks(pg2md_pipeline *p, const pg2md_watermarks_info **out, pg2md_err *err);

/* pg2md follow's replication slot as the source sees it (pg2md_slot). */
typedef struct pg2md_slot_info {
	const char *slot;              /* [sources.pg_replication] slot_name, or the derived name */
	int exists;                    /* 0: no such slot on the source (the other fields are empty) */
	int active;                    /* a process streams from it now */
	const char *wal_status;        /* reserved, extended, unreserved (WAL about to go), lost */
	int64_t safe_wal_size;         /* bytes it may still fall behind before the server drops WAL it needs;
	                                * -1: unlimited (max_slot_wal_keep_size = -1) */
	const char *confirmed_lsn;     /* what pg2md follow confirmed (after its DuckDB commit) */
	int64_t lag_bytes;             /* WAL the slot holds: the server's position minus confirmed_lsn */
	int warning;                   /* lag_bytes is past [sources.pg_replication] lag_warning_mb, or
	                                * wal_status is unreserved or lost */
} pg2md_slot_info;

/*
 * Read pg2md follow's slot from pg_replication_slots on the source (this connects to
 * PostgreSQL: PG2MD_CONNECT when it cannot).  *out is owned by p (valid until the next
 * pg2md_slot or pg2md_close).
 */
pg2md_status pg2md_slot(pg2md_pipeline *p, const pg2md_slot_info **out, pg2md_err *err);

/*
 * Dropping, as dlt's `pipeline drop` does.  Each call looks up everything it would drop, then
 * asks confirm (NULL: nobody is asked) with a sentence saying what: "drop table \"a\" from
 * dataset \"d\" of DuckDB file \"/p/x.duckdb\"".  confirm returns 0 to go on; anything else
 * drops nothing, and the call returns PG2MD_CONFIG with (*out)->refused set.  *out says what was
 * done, also when the call failed partway (a dataset dropped, its folder not removed); it is
 * owned by p (valid until the next drop call or pg2md_close).
 */
typedef int (*pg2md_confirm_fn)(void *arg, const char *question);

typedef struct pg2md_drop_info {
	int refused;                   /* confirm said no: nothing was dropped */
	int nothing;                   /* there was nothing to drop */
	const char *destination;       /* where, as messages name it; NULL when it was not opened */
	const char *dataset;
	const char *staging_dataset;
	const char *pipeline_dir;
	/* pg2md_drop_tables */
	int ntables;
	const char *const *tables;     /* dropped (destination names) */
	int staging_tables;            /* also dropped from the staging dataset */
	int schema_tables;             /* removed from the stored schema (a new _dlt_version row) */
	int state_tables;              /* whose state was reset (a new _dlt_pipeline_state row) */
	/* pg2md_drop_all */
	int dropped_dataset, dropped_staging, removed_folder;
	/* pg2md_drop_pending */
	int npackages;
	const char *const *packages;   /* discarded load ids */
	const char *const *package_states;
	/* pg2md_drop_replication */
	const char *slot, *publication;
	int dropped_slot, dropped_publication;
	int publication_kept;          /* it exists, but pg2md follow did not create it: not dropped */
	int cleared_watermark;
} pg2md_drop_info;

/*
 * Drop the tables of the list ("a,b": source or destination names) from the dataset and its
 * staging dataset, with their stored schema and state, in one transaction: all or none (each
 * must exist).  The next run copies them in full.  Refused (PG2MD_FAILED) while a load package
 * is pending: loading it later would bring the tables back.
 */
pg2md_status pg2md_drop_tables(pg2md_pipeline *p, const char *tables, pg2md_confirm_fn confirm, void *arg,
			       const pg2md_drop_info **out, pg2md_err *err);

/* Drop the whole dataset (and its staging dataset) and remove the pipeline folder (packages,
 * trace).  The DuckDB file stays. */
pg2md_status pg2md_drop_all(pg2md_pipeline *p, pg2md_confirm_fn confirm, void *arg, const pg2md_drop_info **out,
			    pg2md_err *err);

/* Discard the load packages extracted or normalized but not loaded; the next run reads their
 * rows again from the source. */
pg2md_status pg2md_drop_pending(pg2md_pipeline *p, pg2md_confirm_fn confirm, void *arg,
				const pg2md_drop_info **out, pg2md_err *err);

/*
 * Retire pg2md follow's replication on the source: drop its replication slot (refused with
 * PG2MD_FAILED while a process streams from it), its publication when pg2md follow created it
 * (a publication made by someone else is kept: (*out)->publication_kept), and the slot's
 * watermark in the destination, so that the next pg2md follow copies the tables again.  A slot
 * that nobody reads keeps the server's WAL for ever: this is the way to end a pipeline that
 * followed.  Connects to PostgreSQL (PG2MD_CONNECT when it cannot).
 */
pg2md_status pg2md_drop_replication(pg2md_pipeline *p, pg2md_confirm_fn confirm, void *arg,
				    const pg2md_drop_info **out, pg2md_err *err);

/*
 * Change data capture (docs/cdc.md).  pg2md_follow creates, on its first start, the publication
 * (when missing) and the replication slot of [sources.pg_replication], copies the tables inside
 * the slot's snapshot as pg2md_run does (write disposition replace) and records where the copy
 * ends; each start then applies the INSERT, UPDATE, DELETE and TRUNCATE committed since, in
 * batches, each batch in one DuckDB transaction with the position it reached (its watermark):
 * a follow stopped at any point and started again neither loses nor repeats a change.  Needs
 * wal_level = logical, a role with the REPLICATION attribute and PostgreSQL 14 or later.
 */

/* A position in PostgreSQL's write-ahead log. */
typedef uint64_t pg2md_lsn;

/* "16/B374D848", as PostgreSQL writes an LSN, into out (at least PG2MD_LSN_TEXT bytes); returns out. */
#define PG2MD_LSN_TEXT 20
const char *pg2md_lsn_format(pg2md_lsn lsn, char *out);
/* Parse an LSN as PostgreSQL writes it; 1 on success, 0 (and *out untouched) when text is not one. */
int pg2md_lsn_parse(const char *text, pg2md_lsn *out);

typedef struct pg2md_follow_options {
	int once;                      /* stop at the server's WAL position when follow started */
	int has_endpos;                /* stop at endpos: transactions whose commit starts before it are applied */
	pg2md_lsn endpos;
} pg2md_follow_options;

#define PG2MD_FOLLOW_OPTIONS_INIT { 0, 0, 0 }

/* What a pg2md_follow did. */
typedef struct pg2md_follow_info {
	const char *slot, *publication;
	int created_publication;       /* this call created the publication */
	int initial_copy;              /* this call created the slot and copied the tables */
	pg2md_lsn start_lsn;           /* where streaming started */
	pg2md_lsn target_lsn;          /* once / endpos: where it stopped; 0 when it ran until cancelled */
	pg2md_lsn applied_lsn;         /* the watermark now */
	int64_t transactions;          /* transactions applied */
	int64_t changes;               /* inserts, updates, deletes, truncates */
	int64_t rows_written;          /* rows deleted and inserted in the destination */
	int batches;
	int interrupted;               /* pg2md_cancel stopped it, cleanly: whole transactions only */
	/* freshness: from a transaction's COMMIT in PostgreSQL to the DuckDB commit that made it
	 * visible (both machines' wall clocks), over the transactions applied by this call */
	int64_t fresh_transactions;    /* transactions counted; 0: the figures below are not set */
	int64_t fresh_p50_ms, fresh_p99_ms, fresh_max_ms;
	/* streamed large transactions (streaming 'on'): of the transactions, how many came streamed
	 * (kept on disk until their commit); Stream Aborts (a transaction or subtransaction discarded) */
	int64_t streamed, stream_aborts;
	/* of the streamed ones, how many were applied as they arrived (the others were read back
	 * from disk at their commit: another transaction committed while they streamed) */
	int64_t streamed_eager;
} pg2md_follow_info;

/*
 * Follow the tables to copy: the initial copy when there is no watermark yet, then the changes
 * until opts says stop, or until pg2md_cancel (a clean stop: the call succeeds, (*out)->interrupted
 * set).  opts NULL: until cancelled.  *out is filled on success and failure alike (what was
 * applied before the failure) and owned by p (valid until the next pg2md_follow or pg2md_close).
 */
pg2md_status pg2md_follow(pg2md_pipeline *p, const pg2md_follow_options *opts, const pg2md_follow_info **out,
			  pg2md_err *err);

/*
 * Ask every running pg2md_run of the process to stop: running COPYs are cancelled on the server
 * (PQcancel), nothing half-written is committed, and the run returns PG2MD_CANCELLED.
 * Async-signal-safe: call it from a SIGINT or SIGTERM handler.
 */
void pg2md_cancel(void);

/*
 * Ask a running pg2md_follow of the process to read the project's configuration again (the
 * files and the environment, with the options given to pg2md_open), as PostgreSQL reloads on
 * SIGHUP.  When the followed tables or their settings changed, follow applies the batch in hand
 * (whole transactions), stops the stream, copies the added tables in their own snapshot, stops
 * applying the removed ones, and streams on from its watermark (docs/cdc.md, "Adding and
 * removing tables").  A configuration that cannot be read, or whose tables cannot be followed,
 * is logged as an error and follow goes on with the one it had; other settings changed are
 * logged as taking effect at the next start.  Nothing happens outside pg2md_follow (a request
 * made then is taken by the next one).  Async-signal-safe: call it from a SIGHUP handler.
 */
void pg2md_follow_reload(void);

/* Free what the library allocated for the caller. */
void pg2md_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif

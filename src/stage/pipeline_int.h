/*
 * pipeline_int.h — what the files of a run share (pipeline.h is the public side).
 *
 * A run: prepare.c (the snapshot, the tables and their plan) and extract.c (the extract
 * driver), workers.c (the worker pool, its gate and retries), commit.c (a direct
 * task's COMMIT), handoff.c (direct under MotherDuck's
 * rules: parallel readers, one writer), extract_sql.c (each task's DuckDB
 * statement and the Parquet files it writes), manifest.c (what a package holds), normalize.c,
 * and load.c (a package into the destination, in one transaction).
 */
#ifndef PG2MD_PIPELINE_INT_H
#define PG2MD_PIPELINE_INT_H

#include <duckdb.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "dest/duck.h"
#include "schema/manifest.h"
#include "source/catalog.h"
#include "xfer/copyscan.h"
#include "stage/incremental.h"
#include "stage/pipeline.h"
#include "stage/progress.h"
#include "stage/task.h"
#include "stage/trace.h"
#include "stage/transform.h"
#include "util/buf.h"
#include "util/error.h"

/* One extraction: what the leader prepared, the tasks, and what the workers share under lock. */
typedef struct run_ctx {
	const pg2md_config *cfg;
	pg2md_table *tables;
	int ntables;
	pg2md_task *tasks;
	int ntasks;
	copyscan_registry reg;
	char *snapshot;
	char *load_id;
	char *pkg_path;       /* staged: the package folder being written */
	const char *dataset;
	bool direct;
	duckdb_database ddb;  /* staged: in-memory DuckDB writing Parquet; direct: the destination */
	json_t *state;        /* pipeline state the run starts from */
	PGconn *leader;       /* exported the snapshot; worker 0 reads on it */
	char **filters;       /* per table: row filter (where + incremental), "" for none */
	incr_plan *incr;      /* per table */
	transform_out *tx;    /* per table: the transform's output columns (ncols 0: none) */
	const char **tx_sql;  /* per table: the transform applied at extract, or NULL */
	const char **tx_later; /* per table: the transform applied at normalize (staged), or NULL */
	pthread_mutex_t lock;
	int next_task;
	int failed;
	int64_t *work_rows;   /* direct: per table, the rows its work table holds */
	int64_t *win_bytes;   /* direct: per table, the largest task->scan.window_bytes so far */
	int64_t *win_rows;    /* and its rows */
	bool *announced;      /* direct: per table, the raised budget was said at INFO */
	int64_t *need;        /* direct: per table of large rows, the budget its window needs */
	int64_t *committed;   /* direct: per table, the rows of its tasks known committed (commit.c) */
	int *unsettled;       /* direct: per table, its tasks whose COMMIT failed, not yet settled */
	int64_t *unsettled_rows; /* and the rows they inserted */
	pthread_cond_t gate_cv; /* under lock: the gate of the tasks' DuckDB work (gate_move) */
	int gate_active;      /* tasks holding the gate shared */
	int gate_solo_waiting; /* tasks waiting to run alone */
	bool gate_solo;       /* a task holds it alone */
	int nworkers;
	int64_t budget;       /* direct: DuckDB's memory budget as raised by the workers */
	int64_t col_need;     /* direct: what the budget holds for wide tables' columns (extract.c) */
	bool motherduck;      /* direct: the destination is MotherDuck (no local budget to raise) */
	bool one_writer;      /* direct under MotherDuck's rules: every task writes on writer, one at a time (handoff.c) */
	duckdb_connection writer; /* one_writer: the one connection that writes (run_workers) */
	struct overlap *overlap; /* staged: the loader of finished tables, or NULL (overlap.c) */
	pg2md_progress *progress; /* reports while the workers run (progress.h) */
	pg2md_timeline *timeline; /* the run's spans and samples (trace.h) */
} run_ctx;

/* ---- prepare.c --------------------------------------------------------------------------- */

/*
 * The leader's connection in a repeatable-read transaction with an exported snapshot, the
 * tables reflected in it and locked (ACCESS SHARE) for the whole extraction: rc->leader,
 * rc->snapshot, rc->tables.
 */
pg2md_code prepare_snapshot(run_ctx *rc, pg2md_trace *trace, pg2md_error *err);
/* The state to continue from (rc->state) and, per table, its filter, incremental plan and
 * transform, with the checks that stop a run before any data moves. */
pg2md_code prepare_tables(run_ctx *rc, pg2md_error *err);
/* Cut the tables into tasks (rc->tasks). */
pg2md_code prepare_plan(run_ctx *rc, pg2md_error *err);

/* ---- workers.c --------------------------------------------------------------------------- */

/* Readers at once for ntasks tasks, within the configured limits. */
int effective_workers(const pg2md_config *cfg, int ntasks);
/* Run rc's tasks on nworkers threads; err: the first task's failure in plan order, if any. */
pg2md_code run_workers(run_ctx *rc, int nworkers, pg2md_error *err);
/* Worker id's PostgreSQL connection in the run's snapshot (worker 0: the leader's); NULL, err set. */
PGconn *worker_connect(run_ctx *rc, int id, pg2md_error *err);
/* A task whose connection was lost, on a new one in the snapshot after a pause; true to read it again. */
bool retry_task(run_ctx *rc, pg2md_task *task, PGconn **conn, int attempt);
/*
 * The gate around the tasks' DuckDB work (workers.c): *held, what the caller holds (GATE_*),
 * becomes want; a task leaves what it holds first.
 */
enum { GATE_OUT, GATE_SHARED, GATE_ALONE };
void gate_move(run_ctx *rc, int *held, int want);

/* ---- commit.c ---------------------------------------------------------------------------- */

/*
 * Commit a direct task's transaction on con, DuckDB's budget raised first for rows of several
 * MB (then alone: *gate, what the caller holds of the gate).  A COMMIT that ran DuckDB out of
 * memory is settled: kept when its rows committed (err cleared, a warning, a retry counted), or
 * task->commit_undone set when they did not.
 */
pg2md_code direct_commit(run_ctx *rc, pg2md_task *task, duckdb_connection con, int *gate, pg2md_error *err);
/* direct_commit for a caller outside the gate (the handoff writer). */
pg2md_code task_commit(run_ctx *rc, pg2md_task *task, duckdb_connection con, pg2md_error *err);

/* ---- handoff.c --------------------------------------------------------------------------- */

/* Direct under MotherDuck's rules: nworkers readers hand their rows to rc->writer, which writes
 * each task; errs: per reader, its own failure (its connection). */
void handoff_run(run_ctx *rc, int nworkers, pg2md_error *errs);
/* Direct under MotherDuck's rules: each table's copy statement checked against MotherDuck's cap
 * before anything is read (a table too wide for it is refused by name, dest/load.h). */
pg2md_code handoff_check_statements(run_ctx *rc, pg2md_error *err);

/* ---- extract_sql.c ----------------------------------------------------------------------- */

/* Whether [data_writer] file_max_items / file_max_bytes rotate the staged files. */
bool rotating(const pg2md_config *cfg);
/* " (FORMAT parquet, …)" for a COPY … TO; byte_row_groups: close row groups by size. */
void parquet_options(pg2md_buf *b, const pg2md_config *cfg, bool byte_row_groups);
/* What a COPY … TO <pkg_path>/<rel> wrote: the files (when rotating), their rows and bytes;
 * false when memory ran out (what *parts holds, *nparts of them, is still the caller's). */
bool collect_output(const char *pkg_path, const char *rel, duckdb_connection con, char ***parts,
		    int64_t **part_rows, int *nparts, int64_t *bytes);
/* After a staged task: the files it wrote, their bytes and rows; false when memory ran out. */
bool task_collect_files(run_ctx *rc, pg2md_task *task, duckdb_connection con);
/* One column of a transform's output as staged (i: its position). */
void staged_column(pg2md_buf *b, int i, const char *name, const char *type);
/* The DuckDB statement of a task: a COPY to Parquet (staged) or an INSERT (direct); NULL when
 * memory ran out. */
char *task_statement(run_ctx *rc, pg2md_task *task);

/* ---- manifest.c -------------------------------------------------------------------------- */

/* The manifest of the extracted package: its tables, their columns, files and figures (release
 * it with manifest_free, also after a failure: PG2MD_ERR_NOMEM). */
pg2md_code build_manifest(run_ctx *rc, pg2md_manifest *m, pg2md_error *err);
/* Table ti's entry of that manifest, once its tasks are done (release it with
 * manifest_table_free, also when false: memory ran out). */
bool build_manifest_table(run_ctx *rc, int ti, manifest_table *mt);
/* The trace's tables from a package's manifest (and its load id when the trace has none);
 * false when memory ran out. */
bool trace_from_manifest(pg2md_trace *trace, const pg2md_manifest *man);

/* ---- normalize.c ------------------------------------------------------------------------- */

/* Normalize: apply the transforms left for normalize, fix the schema, move the package on. */
pg2md_code normalize_package(const pg2md_config *cfg, const char *load_id, pg2md_trace *trace, pg2md_error *err);

/* ---- extract.c --------------------------------------------------------------------------- */

/* Extract (and, as stages asks, normalize and load) one new package. */
pg2md_code extract_run(const pg2md_config *cfg, bool direct, int stages, pg2md_trace *trace, pg2md_error *err);

/* ---- overlap.c: staged, the finished tables loaded while the others are extracted ------- */

/*
 * The loader of rc's finished tables into their work tables, on a thread with its own
 * connection to the destination, when the run loads its package itself (stages: all of them),
 * the destination is a local DuckDB file and [sources.sql_database] overlap_load is on; else
 * rc->overlap stays NULL.  Fails only when the destination cannot be opened.
 */
pg2md_code overlap_start(run_ctx *rc, int stages, pg2md_error *err);
/* A staged task finished without error (a worker, after its files were collected). */
void overlap_task_done(run_ctx *rc, const pg2md_task *task);
/* No more tasks: the loader finishes the tables given to it (none more when failed, and what it
 * loaded is dropped), and stops; rc->overlap is NULL after.  keep (not failed): its connection to
 * the destination handed over for the load (finish_package_on), else closed. */
void overlap_finish(run_ctx *rc, bool failed, pg2md_dest *keep);
/*
 * The tables of man that were loaded early for its load id: *work_man, man with those tables
 * read from their work tables, *from_work (per table, new) and *any set; nothing set when none.
 */
pg2md_code overlap_loaded(pg2md_dest *dest, const pg2md_manifest *man, pg2md_manifest *work_man, bool **from_work,
			  bool *any, pg2md_error *err);

/* ---- load.c ------------------------------------------------------------------------------ */

/* Load a package's manifest man into dest in one transaction (pkg_path: its files; NULL when
 * direct); *already: it was loaded before.  DuckDB's budget and threads are back after. */
pg2md_code load_manifest(const pg2md_config *cfg, pg2md_dest *dest, const pg2md_manifest *man, const char *pkg_path,
			 bool direct, pg2md_timeline *tl, bool *already, pg2md_error *err);
/* Load a normalized package and mark it loaded (its Parquet files are removed). */
pg2md_code finish_package(const pg2md_config *cfg, const char *load_id, pg2md_trace *trace, pg2md_error *err);
/* finish_package on open, an open destination it takes over (closed after; NULL: it opens one). */
pg2md_code finish_package_on(const pg2md_config *cfg, const char *load_id, pg2md_trace *trace, pg2md_dest *open,
			     pg2md_error *err);
/* ---- load_steps.c: a staged package under MotherDuck's rules ----------------------------- */

/*
 * Upload each table of man into its work table in recorded steps, continuing after the last
 * committed one; *work_man: man as the load then reads it (from the work tables; caller
 * releases it with manifest_free, also after a failure).  *already: _dlt_loads holds the load (nothing was done).
 */
pg2md_code load_upload_steps(const pg2md_config *cfg, pg2md_dest *dest, const pg2md_manifest *man,
			     const char *pkg_path, pg2md_manifest *work_man, bool *already, pg2md_error *err);
/* The table of load steps in dataset, made if missing (also for the early loads of overlap.c). */
pg2md_code load_steps_create(pg2md_dest *dest, const char *dataset, pg2md_error *err);
/* After the load committed: its step records (and any of loads already recorded) removed, and
 * the table of steps once empty. */
void load_steps_forget(pg2md_dest *dest, const char *dataset, const char *load_id);

/* Remove a package's staged file; a rotated task's folder goes with its last file. */
void remove_staged_file(const char *pkg_path, const char *rel);

#endif

/*
 * pipeline.c — extract, normalize and load (see pipeline.h).
 *
 * DESIGN.  A leader connection opens a repeatable-read transaction, exports
 * its snapshot and reflects the tables inside it.  The planner cuts each
 * table's leaves into page ranges (tasks); N workers, each owning one
 * PostgreSQL connection that imported the snapshot and one DuckDB connection,
 * take tasks from a shared counter.  A task is one SQL statement in DuckDB
 * reading the pg2md_scan table function: it writes a Parquet file (staged)
 * or inserts into a new destination table (direct).  A failed task records
 * its error on itself and stops the hand-out; the first failure is the one
 * reported.  Loading is one destination transaction per package: every
 * table's rows and the _dlt_loads row commit together or not at all.
 */
#include "stage/pipeline.h"
#include "stage/pipeline_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <duckdb.h>
#include <jansson.h>

#include "dest/duck.h"
#include "dest/load.h"
#include "dest/naming.h"
#include "source/catalog.h"
#include "source/colhints.h"
#include "source/copyscan.h"
#include "source/pgconn.h"
#include "stage/incremental.h"
#include "stage/lock.h"
#include "stage/package.h"
#include "stage/plan.h"
#include "stage/progress.h"
#include "stage/state.h"
#include "stage/task.h"
#include "stage/trace.h"
#include "stage/transform.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/hash.h"
#include "util/humanize.h"
#include "util/interrupt.h"
#include "util/log.h"

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
	int64_t *win_bytes;   /* direct: per table, the largest task->window_bytes so far */
	int64_t *win_rows;    /* and its rows */
	bool *announced;      /* direct: per table, the raised budget was said at INFO */
	int64_t *need;        /* direct: per table of large rows, the budget its window needs */
	pthread_cond_t gate_cv; /* under lock: the gate of the tasks' DuckDB work (gate_move) */
	int gate_active;      /* tasks holding the gate shared */
	int gate_solo_waiting; /* tasks waiting to run alone */
	bool gate_solo;       /* a task holds it alone */
	int nworkers;
	int64_t budget;       /* direct: DuckDB's memory budget as raised by the workers */
	bool motherduck;      /* direct: the destination is MotherDuck (no local budget to raise) */
	pg2md_progress *progress; /* reports while the workers run (progress.h) */
	pg2md_timeline *timeline; /* the run's spans and samples (trace.h) */
} run_ctx;

typedef struct worker {
	int id;
	run_ctx *rc;
	pthread_t thread;
	pg2md_error err;
} worker;

static char *
make_load_id(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return xasprintf("%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
}

/* ---- state --------------------------------------------------------------- */

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Packages extracted but not loaded yet already read past the stored cursor:
 * their last values count, oldest first, so a second `pg2md extract` before
 * a load reads only what is newer (dlt keeps the state at extract time too).
 */
static void
state_apply_pending(const pg2md_config *cfg, json_t *state)
{
	pkg_state states[2] = {PKG_NORMALIZED, PKG_EXTRACTED};
	char **ids = NULL;
	int n = 0, cap = 0;
	for (int k = 0; k < 2; k++) {
		char *dir = xasprintf("%s/%s/load/%s", cfg->pipelines_dir, cfg->pipeline_name, pkg_state_name(states[k]));
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				ids = xrealloc(ids, (size_t)cap * sizeof(char *));
			}
			ids[n++] = xasprintf("%s/%s/manifest.json", dir, e->d_name);
		}
		if (d)
			closedir(d);
		free(dir);
	}
	/* the manifest paths sort by state folder first; sort by load id (the folder name) instead */
	for (int i = 0; i < n; i++) {
		char *p = ids[i], *slash = strrchr(p, '/');
		*slash = '\0';
		char *lid = strrchr(p, '/') + 1;
		char *key = xasprintf("%s\t%s/manifest.json", lid, p);
		free(p);
		ids[i] = key;
	}
	if (n > 1)
		qsort(ids, (size_t)n, sizeof(char *), str_cmp);
	for (int i = 0; i < n; i++) {
		pg2md_error ignore;
		json_t *man, *jt;
		size_t k;
		pg2md_error_init(&ignore);
		man = json_read_file(strchr(ids[i], '\t') + 1, &ignore);
		json_array_foreach(json_object_get(man, "tables"), k, jt) {
			json_t *inc = json_object_get(jt, "incremental");
			if (json_is_object(inc) && json_string_value(json_object_get(inc, "last_value")))
				state_set_last_value(state, json_string_value(json_object_get(jt, "name")),
						     json_string_value(json_object_get(inc, "cursor_path")),
						     json_string_value(json_object_get(inc, "initial_value")),
						     json_string_value(json_object_get(inc, "last_value")));
		}
		json_decref(man);
		free(ids[i]);
	}
	free(ids);
}

/* ---- planning ---------------------------------------------------------- */

static void
plan_run(run_ctx *rc, int64_t pages_per_task)
{
	rc->ntasks = plan_tasks(rc->tables, rc->ntables, (const char *const *)rc->filters, pages_per_task, &rc->tasks);
	rc->reg.tasks = rc->tasks;
	rc->reg.ntasks = rc->ntasks;
	rc->reg.staged = !rc->direct;
}

/*
 * Where a staged task writes: one Parquet file, or with [data_writer] file_max_items /
 * file_max_bytes a folder of files rotated at those limits (DuckDB's ROW_GROUPS_PER_FILE and
 * FILE_SIZE_BYTES; a file closes at a row group boundary, so it can pass file_max_bytes by
 * up to one row group).
 */
static bool
rotating(const pg2md_config *cfg)
{
	return cfg->file_max_items > 0 || cfg->file_max_bytes > 0;
}

/* byte_row_groups: close row groups by size, which DuckDB allows only without insertion order
 * (the extract's staging instance; not the normalize stage's transform, whose order may count) */
static void
parquet_options(pg2md_buf *b, const pg2md_config *cfg, bool byte_row_groups)
{
	buf_puts(b, " (FORMAT parquet, COMPRESSION snappy");
	if (rotating(cfg)) {
		if (cfg->file_max_items > 0) {
			/* DuckDB fills row groups in whole 2048-row vectors: round down so no file passes the
			 * limit (below 2048 rows a file holds 2048) */
			int64_t rg = cfg->file_max_items / 2048 * 2048;
			if (rg < 2048)
				rg = 2048;
			if (rg > 122880)
				rg = 122880;
			int64_t groups = cfg->file_max_items / rg > 0 ? cfg->file_max_items / rg : 1;
			buf_printf(b, ", ROW_GROUP_SIZE %lld, ROW_GROUPS_PER_FILE %lld", (long long)rg, (long long)groups);
		}
		if (cfg->file_max_bytes > 0) {
			/* row groups of about a quarter of the limit, so a file closes near it */
			int64_t rgb = cfg->file_max_bytes / 4 > 65536 ? cfg->file_max_bytes / 4 : 65536;
			buf_printf(b, ", FILE_SIZE_BYTES %lld, ROW_GROUP_SIZE_BYTES %lld", (long long)cfg->file_max_bytes,
				   (long long)rgb);
		}
		buf_puts(b, ", FILENAME_PATTERN 'part_{i}', OVERWRITE true");
	} else if (byte_row_groups) {
		/* DuckDB's Parquet writer holds a row group (122,880 rows) in memory: rows of several MB
		 * would make that the whole table.  Close row groups at 8 MB instead: the reader at load
		 * holds a row group's values at once too (docs/reliability.md, "Values of several MB") */
		buf_puts(b, ", ROW_GROUP_SIZE_BYTES 8388608");
	}
	buf_puts(b, ")");
}

static void
parquet_target(pg2md_buf *b, run_ctx *rc, pg2md_task *task)
{
	char *path = xasprintf("%s/%s", rc->pkg_path, task->file);
	buf_literal(b, path);
	free(path);
	parquet_options(b, rc->cfg, true);
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * What a COPY … TO <pkg_path>/<rel> wrote: <rel> itself, or when rotating a folder of files
 * (their paths relative to the package, sorted, each with its row count from the Parquet
 * footer, for [destination.motherduck] batch_size); *bytes gets their total size.
 */
static void
collect_output(const char *pkg_path, const char *rel, duckdb_connection con, char ***parts, int64_t **part_rows,
	       int *nparts, int64_t *bytes)
{
	char *path = xasprintf("%s/%s", pkg_path, rel);
	struct stat st;
	*nparts = 0;
	*bytes = 0;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		int cap = 0;
		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char *fp = xasprintf("%s/%s", path, e->d_name);
			if (stat(fp, &st) == 0)
				*bytes += st.st_size;
			free(fp);
			if (*nparts == cap) {
				cap = cap ? cap * 2 : 8;
				*parts = xrealloc(*parts, (size_t)cap * sizeof(char *));
				*part_rows = xrealloc(*part_rows, (size_t)cap * sizeof(int64_t));
			}
			(*parts)[*nparts] = xasprintf("%s/%s", rel, e->d_name);
			(*part_rows)[*nparts] = -1;
			(*nparts)++;
		}
		if (d)
			closedir(d);
		if (*nparts > 1)
			qsort(*parts, (size_t)*nparts, sizeof(char *), cmp_cstr);
		for (int i = 0; i < *nparts; i++) {
			pg2md_buf q = PG2MD_BUF_INIT;
			pg2md_error ignore;
			char *v = NULL, *fp = xasprintf("%s/%s", pkg_path, (*parts)[i]);
			pg2md_error_init(&ignore);
			buf_puts(&q, "SELECT num_rows FROM parquet_file_metadata(");
			buf_literal(&q, fp);
			buf_puts(&q, ")");
			if (duck_scalar(con, q.data, &v, &ignore) == PG2MD_OK && v)
				(*part_rows)[i] = strtoll(v, NULL, 10);
			free(v);
			free(fp);
			buf_release(&q);
		}
	} else if (stat(path, &st) == 0) {
		*bytes = st.st_size;
	}
	free(path);
}

/* After a staged task: the files it wrote, their bytes and rows. */
static void
task_collect_files(run_ctx *rc, pg2md_task *task, duckdb_connection con)
{
	collect_output(rc->pkg_path, task->file, con, &task->parts, &task->part_rows, &task->nparts,
		       &task->file_bytes);
}

/*
 * One column of a transform's output as staged: INTERVAL and TIME WITH TIME ZONE as their
 * text (Parquet has no exact form for them); the load casts back to the manifest's type.
 */
static void
staged_column(pg2md_buf *b, int i, const char *name, const char *type)
{
	bool as_text = strcmp(type, "INTERVAL") == 0 || strcmp(type, "TIME WITH TIME ZONE") == 0;
	if (i)
		buf_puts(b, ", ");
	if (as_text)
		buf_puts(b, "CAST(");
	buf_ident(b, name);
	if (as_text) {
		buf_puts(b, " AS VARCHAR) AS ");
		buf_ident(b, name);
	}
}

static char *
task_statement(run_ctx *rc, pg2md_task *task)
{
	pg2md_buf b = PG2MD_BUF_INIT;
	const pg2md_table *t = task->table;

	const char *tx = rc->tx_sql ? rc->tx_sql[task->table_idx] : NULL;
	if (tx) {
		/* the transform runs on the rows as they stream: nothing untransformed is written */
		const transform_out *out = &rc->tx[task->table_idx];
		char *nt = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);
		if (rc->direct) {
			buf_puts(&b, "INSERT INTO ");
			duck_qualified(&b, rc->dataset, nt);
			buf_puts(&b, " SELECT *");
			for (int i = 0; i < out->ncols; i++) {
				if (!out->cols[i].lineage)
					continue; /* the lineage columns follow the transform's output */
				buf_puts(&b, ", ");
				transform_lineage_value(&b, out->cols[i].lineage, rc->load_id);
			}
			buf_puts(&b, " FROM ");
			transform_source(&b, t, tx, task->id, !rc->direct, rc->load_id);
		} else {
			buf_puts(&b, "COPY (SELECT ");
			for (int i = 0; i < out->ncols; i++) {
				if (out->cols[i].lineage) {
					buf_puts(&b, i ? ", " : "");
					transform_lineage_value(&b, out->cols[i].lineage, rc->load_id);
					buf_puts(&b, " AS ");
					buf_ident(&b, out->cols[i].name);
					continue;
				}
				staged_column(&b, i, out->cols[i].name, out->cols[i].duck_type);
			}
			buf_puts(&b, " FROM ");
			transform_source(&b, t, tx, task->id, !rc->direct, rc->load_id);
			buf_puts(&b, ") TO ");
			parquet_target(&b, rc, task);
		}
		free(nt);
		return buf_detach(&b);
	}
	if (rc->direct) {
		char *nt = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);
		buf_puts(&b, "INSERT INTO ");
		duck_qualified(&b, rc->dataset, nt);
		free(nt);
		buf_puts(&b, " SELECT ");
		for (int i = 0; i < t->ncols; i++) {
			if (i)
				buf_puts(&b, ", ");
			if (catalog_column_synthetic(&t->cols[i])) {
				transform_lineage_value(&b, t->cols[i].load_id ? TRANSFORM_LOAD_ID : TRANSFORM_DLT_ID,
							rc->load_id);
				continue;
			}
			buf_puts(&b, "CAST(");
			buf_ident(&b, t->cols[i].dest_name);
			buf_printf(&b, " AS %s)", t->cols[i].duck_type);
		}
		if (t->ncols == 0)
			buf_puts(&b, "*");
		buf_printf(&b, " FROM pg2md_scan(%d)", task->id);
	} else {
		buf_puts(&b, "COPY (SELECT ");
		for (int i = 0; i < t->ncols; i++) {
			if (i)
				buf_puts(&b, ", ");
			if (catalog_column_synthetic(&t->cols[i])) {
				transform_lineage_value(&b, t->cols[i].load_id ? TRANSFORM_LOAD_ID : TRANSFORM_DLT_ID,
							rc->load_id);
				buf_puts(&b, " AS ");
			} else if (t->cols[i].stage_as_text) {
				buf_puts(&b, "CAST(");
				buf_ident(&b, t->cols[i].dest_name);
				buf_puts(&b, " AS VARCHAR) AS ");
			}
			buf_ident(&b, t->cols[i].dest_name);
		}
		if (t->ncols == 0)
			buf_puts(&b, "*");
		buf_printf(&b, " FROM pg2md_scan(%d)) TO ", task->id);
		parquet_target(&b, rc, task);
	}
	return buf_detach(&b);
}

/*
 * The gate around the tasks' DuckDB work: a task holds it shared from its statement (a COPY, or
 * an INSERT) to its commit, or alone, which waits until no task holds it and holds back new ones
 * (one waiting to go alone goes first).  Alone: a direct commit of large rows (direct_commit),
 * and a task read again after DuckDB ran out of memory (retry_out_of_memory), so that no other
 * worker's rows wait in DuckDB's memory meanwhile.  A task moves between the states with
 * gate_move, leaving the one it holds first: two tasks that both want to go alone from shared
 * do not wait for each other.
 */
static void
gate_enter(run_ctx *rc, bool solo)
{
	pthread_mutex_lock(&rc->lock);
	if (solo) {
		rc->gate_solo_waiting++;
		while (rc->gate_solo || rc->gate_active > 0)
			pthread_cond_wait(&rc->gate_cv, &rc->lock);
		rc->gate_solo_waiting--;
		rc->gate_solo = true;
	} else {
		while (rc->gate_solo || rc->gate_solo_waiting > 0)
			pthread_cond_wait(&rc->gate_cv, &rc->lock);
		rc->gate_active++;
	}
	pthread_mutex_unlock(&rc->lock);
}

static void
gate_leave(run_ctx *rc, bool solo)
{
	pthread_mutex_lock(&rc->lock);
	if (solo)
		rc->gate_solo = false;
	else
		rc->gate_active--;
	pthread_cond_broadcast(&rc->gate_cv);
	pthread_mutex_unlock(&rc->lock);
}

enum { GATE_OUT, GATE_SHARED, GATE_ALONE };

static void
gate_move(run_ctx *rc, int *held, int want)
{
	if (*held == want)
		return;
	if (*held != GATE_OUT)
		gate_leave(rc, *held == GATE_ALONE);
	if (want != GATE_OUT)
		gate_enter(rc, want == GATE_ALONE);
	*held = want;
}

/*
 * Direct mode: a worker's INSERT runs in a transaction of its own.  At its commit DuckDB writes
 * the work table's last row group out again, 2048 rows at a time, holding their values: with
 * rows of several MB that can pass the budget.  The scan measured the task's largest 2048-row
 * window (task->window_bytes): the budget is raised to what the work table's window needs (with
 * the rows already there), then the task commits.  The budget only grows, for the rest of the
 * run; the lock keeps the SETs in the order of their sizes.  *gate: what the caller holds of the
 * gate (gate_move), alone after a commit of large rows.
 */
static pg2md_code
direct_commit(run_ctx *rc, pg2md_task *task, duckdb_connection con, int *gate, pg2md_error *err)
{
	int t = task->table_idx;

	pthread_mutex_lock(&rc->lock);
	int64_t before = rc->work_rows[t];
	rc->work_rows[t] += task->rows;
	if (task->window_bytes > rc->win_bytes[t]) {
		rc->win_bytes[t] = task->window_bytes;
		rc->win_rows[t] = task->window_rows;
	}
	int64_t need = duck_window_need(duck_window_with(rc->win_bytes[t], rc->win_rows[t], before));
	bool big = !rc->motherduck && duck_budget_short(need);
	if (big && need > rc->need[t]) {
		/*
		 * Workers copy other tables of large rows at the same time, and their rows wait in
		 * DuckDB's memory too: the budget is the sum of those tables' windows (measured: three
		 * such tables at once, direct, ran out at the largest one's), and 32 MB for each other
		 * worker's rows on their way in while one commits (under ThreadSanitizer's timing a
		 * worker's INSERT ran out by 4 MB while another table committed).
		 */
		int64_t total = duck_window_need(1) + (int64_t)(rc->nworkers - 1) * 32 * 1000 * 1000;
		rc->need[t] = need;
		for (int i = 0; i < rc->ntables; i++)
			if (rc->need[i] > 0)
				total += rc->need[i] - duck_window_need(1);
		if (total > rc->budget) {
			bool raised;
			char *what = xasprintf("copying table \"%s\"", task->table->name);
			/* said once per table; the later raises of the same table at DEBUG */
			pg2md_code r = duck_budget_raise(con, total, what, !rc->announced[t], &raised, err);
			free(what);
			if (r == PG2MD_OK) {
				rc->budget = total;
				rc->announced[t] = true;
			}
		}
	}
	pthread_mutex_unlock(&rc->lock);
	if (pg2md_failed(err))
		return err->code;
	/*
	 * A commit of large rows runs alone: it holds its table's window while it writes, and the
	 * other workers' INSERT statements hold theirs (the budget counts 32 MB for each; a table
	 * of rows of 10 MB has 330 MB in one chunk: measured, such an INSERT ran out of memory while
	 * another table of large rows committed).  It waits for the tasks under way to commit.
	 */
	if (big)
		gate_move(rc, gate, GATE_ALONE);
	return duck_exec(con, "COMMIT", "committing the copied rows", err);
}

/* A task about to be read again: its counts and error start over (the progress thread reads them). */
static void
task_start_over(pg2md_task *task)
{
	__atomic_store_n(&task->rows, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&task->bytes, 0, __ATOMIC_RELAXED);
	task->lossy = 0;
	task->oom = false;
	task->retries++;
	pg2md_error_init(&task->err);
}

/*
 * A task that failed because DuckDB ran out of memory while other workers copied (each worker's
 * rows wait in DuckDB's memory; the budget adds up the large tables' windows as their tasks
 * commit, and a table still being read is not in that sum yet) is read again once, alone, in the
 * same snapshot: the COPY was cancelled (copyscan_abort), the connection's transaction rolls back
 * to the savepoint taken before it, and the DuckDB side left nothing (a failed INSERT rolled
 * back; a Parquet file is rewritten).  Alone, it needs what a run of that table by itself does.
 * Returns true to try again, *solo set.
 */
static bool
retry_out_of_memory(run_ctx *rc, pg2md_task *task, PGconn *conn, int attempt, bool *solo)
{
	pg2md_error err;

	/*
	 * Not a query's task: the leader locks tables, not a query's (docs/transformations.md), so
	 * the COPY's own lock, gone with the savepoint, was all that kept a TRUNCATE out.
	 */
	if (!task->oom || attempt > 0 || *solo || rc->nworkers < 2 || interrupt_requested() ||
	    task->table->relkind == 'q' || PQstatus(conn) != CONNECTION_OK)
		return false;
	pg2md_error_init(&err);
	if (pg_exec(conn, "ROLLBACK TO SAVEPOINT pg2md_task", &err) ||
	    pg_exec(conn, "RELEASE SAVEPOINT pg2md_task", &err)) {
		pg2md_warn("cannot read table \"%s\" again: %s", task->table->name, err.msg);
		return false;
	}
	/* DuckDB's first line: its list of possible solutions is for the error that stops a run */
	pg2md_warn("DuckDB ran out of memory copying table \"%s\" while other workers copied; reading it "
		   "again alone (%.*s)",
		   task->table->name, (int)strcspn(task->err.msg, "\n"), task->err.msg);
	task_start_over(task);
	*solo = true;
	fault_point("extract:retry");
	return true;
}

#define TASK_RETRIES 3

/*
 * A task whose connection was lost (the backend was terminated, the network
 * dropped) is read again on a new connection that joins the same snapshot,
 * after 1, 2, 4 seconds.  That needs the snapshot's exporter alive: when it
 * is the connection that died (worker 0's), or the server restarted, the
 * snapshot is gone and the run fails cleanly; the next run starts afresh.
 * The task's partial output is replaced: a Parquet file is rewritten, and a
 * failed INSERT statement left nothing.  Returns true to try again.
 */
static bool
retry_task(run_ctx *rc, worker *w, pg2md_task *task, PGconn **conn, int attempt)
{
	pg2md_error err;
	PGconn *fresh;

	if (attempt >= TASK_RETRIES || interrupt_requested() || PQstatus(*conn) != CONNECTION_BAD ||
	    *conn == rc->leader || PQstatus(rc->leader) != CONNECTION_OK)
		return false;
	pg2md_warn("lost the connection reading table \"%s\" (%s); retrying in %d s (%d of %d)", task->table->name,
		   task->err.msg, 1 << attempt, attempt + 1, TASK_RETRIES);
	sleep(1u << attempt);
	pg2md_error_init(&err);
	fresh = pg_connect(rc->cfg, &err);
	if (!fresh || pg_snapshot_import(fresh, rc->snapshot, &err)) {
		pg2md_warn("cannot retry table \"%s\": %s", task->table->name, err.msg);
		if (fresh)
			PQfinish(fresh);
		return false;
	}
	PQfinish(*conn);
	*conn = fresh;
	(void)w;
	task_start_over(task);
	return true;
}

static void *
worker_main(void *arg)
{
	worker *w = arg;
	run_ctx *rc = w->rc;
	PGconn *conn = NULL;
	duckdb_connection con = NULL;

	if (w->id == 0 && rc->leader) {
		/* The first worker reads on the leader's connection, already in the snapshot: a run opens
		 * exactly as many connections as it has workers, within [postgres] pool_size. */
		conn = rc->leader;
	} else {
		conn = pg_connect(rc->cfg, &w->err);
		if (!conn)
			goto out;
		if (pg_snapshot_import(conn, rc->snapshot, &w->err))
			goto out;
	}
	if (duckdb_connect(rc->ddb, &con) == DuckDBError) {
		pg2md_fail(&w->err, PG2MD_ERR_RUN, "could not connect to DuckDB");
		goto out;
	}
	for (;;) {
		pg2md_task *task;
		pthread_mutex_lock(&rc->lock);
		if (rc->failed || rc->next_task >= rc->ntasks) {
			pthread_mutex_unlock(&rc->lock);
			break;
		}
		task = &rc->tasks[rc->next_task++];
		pthread_mutex_unlock(&rc->lock);

		task->worker = w->id;
		task->started = now_seconds();
		char *sql = task_statement(rc, task);
		bool solo = false, committed = false;
		for (int attempt = 0;; attempt++) {
			task->conn = conn;
			pg2md_debug("worker %d: task %d (%s): %s", w->id, task->id, task->table->name, task->copy_sql);
			int gate = GATE_OUT;
			gate_move(rc, &gate, solo ? GATE_ALONE : GATE_SHARED);
			if (solo)
				fault_point("extract:alone");
			/* the savepoint lets the task be read again on this connection (retry_out_of_memory) */
			if (pg_exec(conn, "SAVEPOINT pg2md_task", &task->err) == PG2MD_OK &&
			    (!rc->direct || duck_exec(con, "BEGIN TRANSACTION", "copying", &task->err) == PG2MD_OK)) {
				duckdb_result res;
				if (duckdb_query(con, sql, &res) == DuckDBError) {
					task->oom = task->oom || duck_out_of_memory(&res);
					/* the scan's own error is the root cause when it has one */
					pg2md_fail(&task->err, PG2MD_ERR_RUN, "copying table \"%s\" failed: %s",
						   task->table->name, duckdb_result_error(&res));
					duck_error_hint(duckdb_result_error(&res), &task->err);
					copyscan_abort(conn);
				}
				duckdb_destroy_result(&res);
				if (!pg2md_failed(&task->err))
					pg_exec(conn, "RELEASE SAVEPOINT pg2md_task", &task->err);
			}
			/*
			 * Never read again once the COMMIT was tried: DuckDB may report a failed checkpoint
			 * after the rows committed, and reading them again would add them twice.  The
			 * failed run drops its work tables.  (Also set when raising the budget failed
			 * before the COMMIT: on the safe side.)
			 */
			if (rc->direct && !pg2md_failed(&task->err)) {
				direct_commit(rc, task, con, &gate, &task->err);
				committed = true;
			}
			if (rc->direct && pg2md_failed(&task->err)) {
				pg2md_error ignore;
				pg2md_error_init(&ignore);
				duck_exec(con, "ROLLBACK", "rolling back", &ignore);
			}
			gate_move(rc, &gate, GATE_OUT);
			if (!pg2md_failed(&task->err) || committed)
				break;
			if (retry_out_of_memory(rc, task, conn, attempt, &solo))
				continue;
			if (!retry_task(rc, w, task, &conn, attempt))
				break;
		}
		free(sql);
		task->seconds = now_seconds() - task->started;
		task->conn = NULL;
		progress_task_done(rc->progress, task);
		trace_span_add(rc->timeline, &(trace_span){w->id, "extract", task->table->name, NULL, task->id,
							    task->page_lo, task->page_hi, task->started,
							    task->started + task->seconds, task->rows, task->bytes,
							    task->retries, !pg2md_failed(&task->err)});
		fault_point("extract:task_done");
		if (!rc->direct && !pg2md_failed(&task->err))
			task_collect_files(rc, task, con);
		if (pg2md_failed(&task->err)) {
			pg2md_error_merge(&w->err, &task->err);
			pthread_mutex_lock(&rc->lock);
			rc->failed = 1;
			pthread_mutex_unlock(&rc->lock);
			break;
		}
	}
out:
	if (pg2md_failed(&w->err)) {
		pthread_mutex_lock(&rc->lock);
		rc->failed = 1;
		pthread_mutex_unlock(&rc->lock);
	}
	if (con)
		duckdb_disconnect(&con);
	if (conn && conn != rc->leader)
		PQfinish(conn);
	return NULL;
}

static int
effective_workers(const pg2md_config *cfg, int ntasks)
{
	/* Readers at once: [sources.sql_database] workers, capped by [extract] workers (the stage's
	 * pool) and by [postgres] pool_size (connections; worker 0 reuses the snapshot's). */
	int n = cfg->source_workers > 0 ? cfg->source_workers : 1;
	if (cfg->extract_workers > 0 && cfg->extract_workers < n)
		n = cfg->extract_workers;
	if (cfg->pool_size > 0 && cfg->pool_size < n)
		n = cfg->pool_size;
	if (n > ntasks)
		n = ntasks;
	return n < 1 ? 1 : n;
}

static pg2md_code
run_workers(run_ctx *rc, int nworkers, pg2md_error *err)
{
	worker *ws = xcalloc((size_t)nworkers, sizeof(worker));
	pthread_mutex_init(&rc->lock, NULL);
	pthread_cond_init(&rc->gate_cv, NULL);
	rc->gate_active = rc->gate_solo_waiting = 0;
	rc->gate_solo = false;
	rc->next_task = 0;
	rc->failed = 0;
	rc->progress = progress_start(&(progress_run){rc->cfg, rc->tasks, rc->ntasks, rc->tables, rc->ntables,
						      &rc->lock, &rc->next_task, rc->load_id, rc->timeline});
	for (int i = 0; i < nworkers; i++) {
		ws[i].id = i;
		ws[i].rc = rc;
		pg2md_error_init(&ws[i].err);
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
			pg2md_fail(err, PG2MD_ERR_RUN, "could not start worker thread: %s", strerror(errno));
			nworkers = i;
			pthread_mutex_lock(&rc->lock);
			rc->failed = 1;
			pthread_mutex_unlock(&rc->lock);
			break;
		}
	}
	for (int i = 0; i < nworkers; i++)
		pthread_join(ws[i].thread, NULL);
	progress_stop(rc->progress);
	rc->progress = NULL;
	/* The first task in plan order that failed holds the root cause; a worker's own
	 * failure (connection) otherwise. */
	for (int i = 0; i < rc->ntasks && !pg2md_failed(err); i++)
		pg2md_error_merge(err, &rc->tasks[i].err);
	for (int i = 0; i < nworkers && !pg2md_failed(err); i++)
		pg2md_error_merge(err, &ws[i].err);
	pthread_cond_destroy(&rc->gate_cv);
	pthread_mutex_destroy(&rc->lock);
	free(ws);
	return err->code;
}

/* ---- manifest ----------------------------------------------------------- */

/*
 * The destination name of a column a table key names (primary_key, hard_delete, dedup_sort):
 * the source column's, also when it was renamed; else (a column a transform makes) the name
 * under the naming convention.
 */
static char *
config_column_dest(const pg2md_config *cfg, const pg2md_table *t, const char *name)
{
	int i = catalog_find_column(t, name);
	return i >= 0 ? xstrdup(t->cols[i].dest_name) : naming_normalize(cfg->naming, name);
}

static json_t *
build_manifest(run_ctx *rc)
{
	json_t *doc = json_object();
	json_t *tables = json_array();
	json_object_set_new(doc, "load_id", json_string(rc->load_id));
	json_object_set_new(doc, "pipeline_name", json_string(rc->cfg->pipeline_name));
	json_object_set_new(doc, "dataset_name", json_string(rc->dataset));
	json_object_set_new(doc, "mode", json_string(rc->direct ? "direct" : "staged"));
	json_object_set_new(doc, "source_schema", json_string(rc->cfg->schema));
	for (int ti = 0; ti < rc->ntables; ti++) {
		pg2md_table *t = &rc->tables[ti];
		json_t *jt = json_object(), *cols = json_array(), *files = json_array(), *pk = json_array();
		json_t *file_rows = json_array();
		int64_t rows = 0, bytes = 0, fbytes = 0, lossy = 0, win_bytes = 0, win_rows = 0;
		double first = 0, last = 0;
		int ntasks = 0, retries = 0;
		const transform_out *out = rc->tx_sql && rc->tx_sql[ti] ? &rc->tx[ti] : NULL;
		for (int c = 0; out && c < out->ncols; c++)
			json_array_append_new(cols, transform_column_json(&out->cols[c]));
		for (int c = 0; !out && c < t->ncols; c++) {
			json_t *jc = json_object();
			json_object_set_new(jc, "name", json_string(t->cols[c].name));
			json_object_set_new(jc, "dest_name", json_string(t->cols[c].dest_name));
			json_object_set_new(jc, "pg_type", json_string(t->cols[c].pg_type));
			json_object_set_new(jc, "duck_type", json_string(t->cols[c].duck_type));
			json_object_set_new(jc, "nullable", json_boolean(t->cols[c].nullable));
			if (!rc->direct && t->cols[c].dec == DEC_INTERVAL)
				json_object_set_new(jc, "staged_as", json_string("interval_struct"));
			if (t->cols[c].measured)
				json_object_set_new(jc, "measured", json_true());
			if (t->cols[c].dec == DEC_BPCHAR || catalog_type_has(t->cols[c].type, DEC_BPCHAR))
				json_object_set_new(jc, "char_padding", json_string("trim"));
			if (t->cols[c].lineage)
				json_object_set_new(jc, "lineage", json_string(t->cols[c].load_id ? "load_id" : "dlt_id"));
			json_array_append_new(cols, jc);
		}
		const pg2md_table_config *tc = pg2md_config_table(rc->cfg, t->name);
		/* the key is the table's own primary key, and the rows are the table's as read from one
		 * snapshot: no two share it, merge need not keep one per key */
		json_object_set_new(jt, "key_unique",
				    json_boolean(!(tc && tc->primary_key.n > 0) && t->npk > 0 && t->relkind != 'q' &&
						 !(rc->tx_sql && rc->tx_sql[ti]) && !(rc->tx_later && rc->tx_later[ti])));
		if (tc && tc->primary_key.n > 0) {
			for (int k = 0; k < tc->primary_key.n; k++) {
				char *dn = config_column_dest(rc->cfg, t, tc->primary_key.items[k]);
				json_array_append_new(pk, json_string(dn));
				free(dn);
			}
		} else {
			for (int k = 0; k < t->npk; k++)
				json_array_append_new(pk, json_string(t->cols[t->pk[k]].dest_name));
		}
		for (int i = 0; i < rc->ntasks; i++) {
			pg2md_task *task = &rc->tasks[i];
			if (task->table != t)
				continue;
			rows += task->rows;
			bytes += task->bytes;
			fbytes += task->file_bytes;
			lossy += task->lossy;
			if (task->window_bytes > win_bytes) {
				win_bytes = task->window_bytes;
				win_rows = task->window_rows;
			}
			if (ntasks == 0 || task->started < first)
				first = task->started;
			if (task->started + task->seconds > last)
				last = task->started + task->seconds;
			ntasks++;
			retries += task->retries;
			if (!rc->direct && task->nparts == 0) {
				json_array_append_new(files, json_string(task->file));
				json_array_append_new(file_rows, json_integer(task->rows));
			}
			for (int p = 0; !rc->direct && p < task->nparts; p++) {
				json_array_append_new(files, json_string(task->parts[p]));
				json_array_append_new(file_rows, json_integer(task->part_rows[p]));
			}
		}
		json_object_set_new(jt, "name", json_string(t->name));
		json_object_set_new(jt, "dest_name", json_string(t->dest_name));
		json_object_set_new(jt, "write_disposition",
				    json_string(pg2md_disposition_name(pg2md_config_disposition(rc->cfg, t->name))));
		json_object_set_new(jt, "primary_key", pk);
		if (tc && tc->merge_key.n > 0) {
			json_t *mk = json_array();
			for (int k = 0; k < tc->merge_key.n; k++) {
				char *dn = config_column_dest(rc->cfg, t, tc->merge_key.items[k]);
				json_array_append_new(mk, json_string(dn));
				free(dn);
			}
			json_object_set_new(jt, "merge_key", mk);
		}
		if (tc && tc->hard_delete) {
			char *dn = config_column_dest(rc->cfg, t, tc->hard_delete);
			json_object_set_new(jt, "hard_delete", json_string(dn));
			free(dn);
		}
		if (tc && tc->merge_strategy)
			json_object_set_new(jt, "merge_strategy", json_string(tc->merge_strategy));
		if (tc && tc->dedup_sort) {
			char *dn = config_column_dest(rc->cfg, t, tc->dedup_sort);
			json_object_set_new(jt, "dedup_sort", json_string(dn));
			json_object_set_new(jt, "dedup_sort_order", json_string(tc->dedup_sort_order ? tc->dedup_sort_order : "desc"));
			free(dn);
		}
		json_object_set_new(jt, "columns", cols);
		if (rc->tx_later && rc->tx_later[ti]) {
			/* staged as extracted; normalize applies the transform and takes these columns */
			json_t *tcols = json_array();
			for (int c = 0; c < rc->tx[ti].ncols; c++)
				json_array_append_new(tcols, transform_column_json(&rc->tx[ti].cols[c]));
			json_object_set_new(jt, "transform", json_string(rc->tx_later[ti]));
			json_object_set_new(jt, "transform_columns", tcols);
		}
		json_object_set_new(jt, "files", files);
		json_object_set_new(jt, "file_rows", file_rows);
		json_object_set_new(jt, "rows", json_integer(rows));
		json_object_set_new(jt, "bytes", json_integer(bytes));
		json_object_set_new(jt, "file_bytes", json_integer(fbytes));
		json_object_set_new(jt, "lossy", json_integer(lossy));
		/* the most COPY bytes in 2048 consecutive rows of one task, and their rows */
		json_object_set_new(jt, "window_bytes", json_integer(win_bytes));
		json_object_set_new(jt, "window_rows", json_integer(win_rows));
		json_object_set_new(jt, "tasks", json_integer(ntasks));
		json_object_set_new(jt, "retries", json_integer(retries));
		json_object_set_new(jt, "incremental", incr_to_json(t, &rc->incr[ti]));
		json_object_set_new(jt, "seconds", json_real(ntasks ? last - first : 0.0));
		json_array_append_new(tables, jt);
	}
	json_object_set_new(doc, "tables", tables);
	return doc;
}

void
trace_from_manifest(pg2md_trace *trace, json_t *man)
{
	json_t *tables = json_object_get(man, "tables"), *jt;
	size_t i;
	trace->ntables = (int)json_array_size(tables);
	trace->tables = xcalloc((size_t)trace->ntables + 1, sizeof(pg2md_table_stat));
	json_array_foreach(tables, i, jt) {
		pg2md_table_stat *s = &trace->tables[i];
		s->name = xstrdup(json_string_value(json_object_get(jt, "name")));
		s->dest_name = xstrdup(json_string_value(json_object_get(jt, "dest_name")));
		s->disposition = xstrdup(json_string_value(json_object_get(jt, "write_disposition")));
		s->rows = json_integer_value(json_object_get(jt, "rows"));
		s->bytes = json_integer_value(json_object_get(jt, "bytes"));
		s->file_bytes = json_integer_value(json_object_get(jt, "file_bytes"));
		s->lossy = json_integer_value(json_object_get(jt, "lossy"));
		s->tasks = (int)json_integer_value(json_object_get(jt, "tasks"));
		s->retries = (int)json_integer_value(json_object_get(jt, "retries"));
		s->files = (int)json_array_size(json_object_get(jt, "files"));
		s->seconds = json_real_value(json_object_get(jt, "seconds"));
	}
	if (!trace->load_id)
		trace->load_id = xstrdup(json_string_value(json_object_get(man, "load_id")));
}

/* The DuckDB that applies transforms at normalize: [normalize] workers threads, the usual budget. */
static pg2md_code
normalize_duck_open(const pg2md_config *cfg, duckdb_database *db, duckdb_connection *con, pg2md_error *err)
{
	duckdb_config dc;
	char tbuf[16], *open_err = NULL;
	char *tmpdir = xasprintf("%s/%s/tmp", cfg->pipelines_dir, cfg->pipeline_name);
	duckdb_create_config(&dc);
	snprintf(tbuf, sizeof(tbuf), "%d", duck_threads(cfg->normalize_workers));
	duckdb_set_config(dc, "threads", tbuf);
	/* as the staging instance: rows of a table have no order, and ROW_GROUP_SIZE_BYTES needs this */
	duckdb_set_config(dc, "preserve_insertion_order", "false");
	duckdb_set_config(dc, "memory_limit", duck_memory_limit());
	duckdb_set_config(dc, "temp_directory", tmpdir);
	free(tmpdir);
	if (duckdb_open_ext(":memory:", db, dc, &open_err) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not start DuckDB to normalize: %s", open_err ? open_err : "");
		duckdb_free(open_err);
	} else if (duckdb_connect(*db, con) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not connect to the normalizing DuckDB");
	}
	duckdb_destroy_config(&dc);
	return err->code;
}

/*
 * transform_stage = "normalize": apply one table's transform over all of its staged files at
 * once (so aggregates, DISTINCT and window functions see the whole table), into
 * <dest>.transformed.parquet (a folder of files when rotating).  jt is updated to list those
 * files and the transform's output columns; the extracted files it replaces are appended to
 * old_files.
 */
static pg2md_code
normalize_table(const pg2md_config *cfg, duckdb_connection con, json_t *jt, const char *pkg_path, json_t *old_files,
		const char *load_id, pg2md_error *err)
{
	const char *name = json_string_value(json_object_get(jt, "name"));
	const char *dn = json_string_value(json_object_get(jt, "dest_name"));
	const pg2md_table_config *tc = pg2md_config_table(cfg, name);
	/* the configured transform, so a fixed one applies to a kept package; else the one recorded */
	const char *tx = tc && tc->transform && tc->transform_stage && strcmp(tc->transform_stage, "normalize") == 0
				 ? tc->transform
				 : json_string_value(json_object_get(jt, "transform"));
	json_t *all = json_object_get(jt, "columns"), *files = json_object_get(jt, "files");
	json_t *tcols = json_array(), *cols = json_array(), *lineage = json_array(), *c;
	char *rel = rotating(cfg) ? xasprintf("%s.transformed", dn) : xasprintf("%s.transformed.parquet", dn);
	char *target = xasprintf("%s/%s", pkg_path, rel), *count = NULL;
	pg2md_buf src = PG2MD_BUF_INIT, sql = PG2MD_BUF_INIT;
	pg2md_error derr;
	duckdb_result res;
	size_t i;

	/* lineage columns (staged at extract) are not in "data": they follow the transform's output */
	json_array_foreach(all, i, c)
		json_array_append(json_object_get(c, "lineage") ? lineage : cols, c);

	/* the transform over "data": the staged rows with their destination types */
	buf_puts(&src, "(WITH data AS (SELECT ");
	if (json_array_size(files) > 0) {
		select_list(&src, cols);
		buf_puts(&src, " FROM ");
		read_parquet_files(&src, pkg_path, files);
	} else {
		/* nothing was staged (no rows, rotating): the transform still runs, on no rows */
		json_array_foreach(cols, i, c) {
			if (i)
				buf_puts(&src, ", ");
			buf_printf(&src, "CAST(NULL AS %s) AS ", json_string_value(json_object_get(c, "duck_type")));
			buf_ident(&src, json_string_value(json_object_get(c, "dest_name")));
		}
		buf_puts(&src, " WHERE false");
	}
	buf_printf(&src, ") %s)", tx);

	/* its output columns, which the destination follows */
	buf_printf(&sql, "DESCRIBE SELECT * FROM %s", src.data);
	if (duckdb_query(con, sql.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" does not bind", name);
		pg2md_detail(err, "%s", duckdb_result_error(&res));
		pg2md_hint(err, "the extracted package is kept: fix [sources.sql_database.%s] transform and run "
				"pg2md run again, or drop the package with pg2md drop --pending", name);
		duckdb_destroy_result(&res);
		goto done;
	}
	for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
		char *cn = duckdb_value_varchar(&res, 0, r), *ct = duckdb_value_varchar(&res, 1, r);
		transform_col tcol = {cn ? cn : (char *)"", ct ? ct : (char *)"VARCHAR", 0};
		json_array_append_new(tcols, transform_column_json(&tcol));
		duckdb_free(cn);
		duckdb_free(ct);
	}
	duckdb_destroy_result(&res);
	json_array_foreach(lineage, i, c) {
		const char *ln = json_string_value(json_object_get(c, "dest_name"));
		transform_col tcol = {(char *)ln, (char *)"VARCHAR",
				      strcmp(json_string_value(json_object_get(c, "lineage")), "load_id") == 0
					      ? TRANSFORM_LOAD_ID
					      : TRANSFORM_DLT_ID};
		size_t k;
		json_t *tc2;
		json_array_foreach(tcols, k, tc2)
			if (strcmp(json_string_value(json_object_get(tc2, "dest_name")), ln) == 0) {
				pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" outputs a column \"%s\", which %s adds",
					   name, ln, tcol.lineage == TRANSFORM_LOAD_ID ? "add_dlt_load_id" : "add_dlt_id");
				goto done;
			}
		json_array_append_new(tcols, transform_column_json(&tcol));
	}

	buf_reset(&sql);
	buf_puts(&sql, "COPY (SELECT ");
	json_array_foreach(tcols, i, c) {
		const char *lk = json_string_value(json_object_get(c, "lineage"));
		if (lk) {
			buf_puts(&sql, i ? ", " : "");
			transform_lineage_value(&sql, strcmp(lk, "load_id") == 0 ? TRANSFORM_LOAD_ID : TRANSFORM_DLT_ID,
						load_id);
			buf_puts(&sql, " AS ");
			buf_ident(&sql, json_string_value(json_object_get(c, "dest_name")));
			continue;
		}
		staged_column(&sql, (int)i, json_string_value(json_object_get(c, "dest_name")),
			      json_string_value(json_object_get(c, "duck_type")));
	}
	buf_printf(&sql, " FROM %s) TO ", src.data);
	buf_literal(&sql, target);
	parquet_options(&sql, cfg, false);
	pg2md_error_init(&derr);
	if (duck_scalar(con, sql.data, &count, &derr) != PG2MD_OK) {
		pg2md_fail(err, PG2MD_ERR_RUN, "the transform of table \"%s\" failed at normalize", name);
		pg2md_detail(err, "%s", derr.msg);
		pg2md_hint(err, "the extracted package is kept: fix [sources.sql_database.%s] transform and run "
				"pg2md run again, or drop the package with pg2md drop --pending", name);
	} else {
		json_t *nfiles = json_array(), *nrows = json_array();
		char **parts = NULL;
		int64_t *part_rows = NULL, bytes = 0;
		int nparts = 0;
		collect_output(pkg_path, rel, con, &parts, &part_rows, &nparts, &bytes);
		if (!rotating(cfg)) {
			json_array_append_new(nfiles, json_string(rel));
			json_array_append_new(nrows, json_integer(count ? strtoll(count, NULL, 10) : 0));
		}
		for (int p = 0; p < nparts; p++) {
			json_array_append_new(nfiles, json_string(parts[p]));
			json_array_append_new(nrows, json_integer(part_rows[p]));
			free(parts[p]);
		}
		free(parts);
		free(part_rows);
		json_array_extend(old_files, files);
		json_object_set(jt, "columns", tcols);
		json_object_set_new(jt, "files", nfiles);
		json_object_set_new(jt, "file_rows", nrows);
		json_object_set_new(jt, "file_bytes", json_integer(bytes));
		json_object_set_new(jt, "transformed_rows", json_integer(count ? strtoll(count, NULL, 10) : 0));
		json_object_set_new(jt, "transformed_at", json_string("normalize"));
		json_object_del(jt, "transform");
		json_object_del(jt, "transform_columns");
	}
done:
	json_decref(tcols);
	json_decref(cols);
	json_decref(lineage);
	free(count);
	free(rel);
	free(target);
	buf_release(&src);
	buf_release(&sql);
	return err->code;
}

/*
 * Apply the transforms left for normalize.  Rerunnable: the manifest names the extracted files
 * until every transform has been written, so a crash before the manifest is rewritten leaves
 * a package that the next normalize transforms again; the extracted files go after.
 */
static pg2md_code
normalize_transforms(const pg2md_config *cfg, json_t *man, const char *pkg_path, const char *manpath,
		     pg2md_error *err)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	json_t *old_files = json_array(), *jt, *f;
	size_t i;
	int done = 0;

	json_array_foreach(json_object_get(man, "tables"), i, jt) {
		if (!json_string_value(json_object_get(jt, "transform")))
			continue;
		if (!db && normalize_duck_open(cfg, &db, &con, err))
			break;
		pg2md_info("transforming table \"%s\"", json_string_value(json_object_get(jt, "name")));
		if (normalize_table(cfg, con, jt, pkg_path, old_files, json_string_value(json_object_get(man, "load_id")),
				    err))
			break;
		done++;
	}
	if (con)
		duckdb_disconnect(&con);
	if (db)
		duckdb_close(&db);
	if (done && !pg2md_failed(err)) {
		fault_point("normalize:transformed");
		if (json_write_atomic(manpath, man, err) == PG2MD_OK)
			json_array_foreach(old_files, i, f)
				remove_staged_file(pkg_path, json_string_value(f));
	}
	json_decref(old_files);
	return err->code;
}

/* Normalize: fix the schema of an extracted package (schema.json) and move it on. */
static pg2md_code
normalize_package(const pg2md_config *cfg, const char *load_id, pg2md_trace *trace, pg2md_error *err)
{
	double t0 = now_seconds();
	char *path = pkg_dir(cfg, PKG_EXTRACTED, load_id);
	char *manpath = xasprintf("%s/manifest.json", path);
	char *schemapath = xasprintf("%s/schema.json", path);
	json_t *man = json_read_file(manpath, err);
	if (man) {
		json_t *schema = json_object();
		json_object_set_new(schema, "name", json_string("sql_database"));
		fault_point("normalize:start");
		normalize_transforms(cfg, man, path, manpath, err);
		json_object_set(schema, "tables", json_object_get(man, "tables"));
		if (!pg2md_failed(err) && json_write_atomic(schemapath, schema, err) == PG2MD_OK) {
			fault_point("normalize:before_move");
			pkg_move(cfg, load_id, PKG_EXTRACTED, PKG_NORMALIZED, err);
		}
		json_decref(schema);
		if (!trace->tables)
			trace_from_manifest(trace, man);
		json_decref(man);
	}
	free(path);
	free(manpath);
	free(schemapath);
	trace_span_add(trace->timeline, &(trace_span){TRACE_MAIN, "normalize", NULL, NULL, -1, -1, -1, t0,
						       now_seconds(), 0, 0, 0, !pg2md_failed(err)});
	trace->t_normalize += now_seconds() - t0;
	return err->code;
}

/*
 * append + incremental with a closed range start reads the rows at the last value again and
 * drops those already loaded by matching the cursor column in the destination
 * (append_boundary_filter).  A transform that leaves the cursor out of its output would make
 * every run append those rows once more: refused before any data moves.
 */
/*
 * merge_key: only for merge's delete-insert strategy (upsert matches on the primary key alone),
 * and each of its columns must reach the destination (a source column, or a transform's).
 */
static pg2md_code
merge_key_check(const pg2md_config *cfg, const pg2md_table *t, const transform_out *out, pg2md_error *err)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);

	if (!tc || tc->merge_key.n == 0)
		return PG2MD_OK;
	if (pg2md_config_disposition(cfg, t->name) != PG2MD_DISP_MERGE) {
		pg2md_warn("table \"%s\": merge_key applies to write_disposition \"merge\" only; ignored", t->name);
		return PG2MD_OK;
	}
	if (tc->merge_strategy && strcmp(tc->merge_strategy, "upsert") == 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\": merge_key does not apply to the \"upsert\" strategy",
			   t->name);
		pg2md_hint(err, "upsert matches rows on primary_key alone; remove merge_key, or use the delete-insert "
				"strategy (the default)");
		return err->code;
	}
	for (int k = 0; k < tc->merge_key.n; k++) {
		const char *name = tc->merge_key.items[k];
		bool found = false;
		if (out && out->ncols > 0) {
			for (int c = 0; c < out->ncols && !found; c++)
				found = strcmp(out->cols[c].name, name) == 0;
		} else {
			int c = catalog_find_column(t, name);
			found = c >= 0 && !catalog_column_synthetic(&t->cols[c]);
		}
		if (!found) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "merge_key column \"%s\" of table \"%s\" does not exist", name,
				   t->name);
			pg2md_hint(err, "merge_key names columns of the table as it is loaded (after included_columns, "
					"excluded_columns and a transform)");
			return err->code;
		}
	}
	return PG2MD_OK;
}

static pg2md_code
boundary_cursor_check(const pg2md_config *cfg, const pg2md_table *t, const incr_plan *p, const transform_out *out,
		      pg2md_error *err)
{
	if (!p->active || !p->start_closed || p->fixed_range ||
	    pg2md_config_disposition(cfg, t->name) != PG2MD_DISP_APPEND)
		return PG2MD_OK;
	const char *cursor = t->cols[p->col].dest_name;
	for (int c = 0; c < out->ncols; c++)
		if (strcmp(out->cols[c].name, cursor) == 0)
			return PG2MD_OK;
	pg2md_fail(err, PG2MD_ERR_USAGE,
		   "the transform of table \"%s\" leaves out the cursor column \"%s\", which append needs to skip the rows "
		   "loaded before", t->name, cursor);
	pg2md_detail(err, "incremental.range_start = \"closed\" reads the rows at the last cursor value again; without "
			  "the cursor in the destination they would be appended on every run");
	pg2md_hint(err, "keep \"%s\" in the transform's output, or set incremental.range_start = \"open\" under "
			"[sources.sql_database.%s]", cursor, t->name);
	return err->code;
}

/* ---- the run ------------------------------------------------------------ */

static pg2md_code
extract(const pg2md_config *cfg, bool direct, int stages, pg2md_trace *trace, pg2md_error *err)
{
	run_ctx rc;
	PGconn *leader = NULL;
	pg2md_dest dest;
	duckdb_database stagedb = NULL;
	duckdb_connection regcon = NULL;
	double t0 = now_seconds();
	json_t *man = NULL;

	memset(&rc, 0, sizeof(rc));
	memset(&dest, 0, sizeof(dest));
	rc.cfg = cfg;
	rc.direct = direct;
	rc.dataset = cfg->dataset_name;
	rc.load_id = make_load_id();
	rc.timeline = trace->timeline;
	trace->load_id = xstrdup(rc.load_id);

	leader = pg_connect(cfg, err);
	if (!leader)
		goto out;
	if (pg_snapshot_export(leader, &rc.snapshot, err))
		goto out;
	if (catalog_reflect(leader, cfg, &rc.tables, &rc.ntables, err))
		goto out;
	if (cfg->tables.n == 0)
		trace->found_in = xstrdup(cfg->schema);
	/*
	 * ACCESS SHARE locks for the whole extraction, as pg_dump takes them: a TRUNCATE or
	 * ALTER TABLE (not MVCC-safe) waits for the run instead of emptying its snapshot.
	 */
	{
		pg2md_buf lk = PG2MD_BUF_INIT;
		int nlocked = 0;
		buf_puts(&lk, "LOCK TABLE ");
		for (int i = 0; i < rc.ntables; i++) {
			if (rc.tables[i].relkind == 'q')
				continue; /* a query's tables are read in the snapshot, not locked (docs/transformations.md) */
			if (nlocked++)
				buf_puts(&lk, ", ");
			buf_ident(&lk, cfg->schema);
			buf_putc(&lk, '.');
			buf_ident(&lk, rc.tables[i].name);
		}
		buf_puts(&lk, " IN ACCESS SHARE MODE");
		pg2md_code result = nlocked ? pg_exec(leader, lk.data, err) : PG2MD_OK;
		buf_release(&lk);
		if (result)
			goto out;
	}
	fault_point("extract:after_snapshot");

	/* The state to continue from: the local file, or the destination's copy when it is newer. */
	rc.state = state_load_local(cfg, err);
	if (!rc.state)
		goto out;
	{
		json_t *remote = state_load_destination(cfg);
		if (remote && json_integer_value(json_object_get(remote, "_state_version")) >
				      json_integer_value(json_object_get(rc.state, "_state_version"))) {
			pg2md_info("restoring the pipeline state from the destination (version %lld)",
				   (long long)json_integer_value(json_object_get(remote, "_state_version")));
			json_decref(rc.state);
			rc.state = remote;
		} else if (remote) {
			json_decref(remote);
		}
	}
	state_apply_pending(cfg, rc.state);
	rc.filters = xcalloc((size_t)rc.ntables + 1, sizeof(char *));
	rc.tx = xcalloc((size_t)rc.ntables + 1, sizeof(transform_out));
	rc.tx_sql = xcalloc((size_t)rc.ntables + 1, sizeof(char *));
	rc.tx_later = xcalloc((size_t)rc.ntables + 1, sizeof(char *));
	rc.incr = xcalloc((size_t)rc.ntables + 1, sizeof(incr_plan));
	rc.work_rows = xcalloc((size_t)rc.ntables + 1, sizeof(int64_t));
	rc.win_bytes = xcalloc((size_t)rc.ntables + 1, sizeof(int64_t));
	rc.win_rows = xcalloc((size_t)rc.ntables + 1, sizeof(int64_t));
	rc.announced = xcalloc((size_t)rc.ntables + 1, sizeof(bool));
	rc.need = xcalloc((size_t)rc.ntables + 1, sizeof(int64_t));
	rc.budget = duck_parse_bytes(duck_memory_limit());
	for (int i = 0; i < rc.ntables; i++) {
		pg2md_buf f = PG2MD_BUF_INIT;
		const pg2md_table_config *tc = pg2md_config_table(cfg, rc.tables[i].name);
		if (tc && tc->where)
			buf_printf(&f, "(%s)", tc->where);
		if (incr_plan_table(cfg, rc.state, &rc.tables[i], &rc.incr[i], &f, err) ||
		    incr_check_missing(leader, cfg->schema, &rc.tables[i], f.data, &rc.incr[i], err)) {
			buf_release(&f);
			goto out;
		}
		rc.filters[i] = buf_detach(&f);
		/* plain numerics: a DECIMAL measured over the rows this run reads, in its snapshot */
		if (catalog_measure_numerics(leader, cfg->schema, &rc.tables[i], rc.filters[i], err))
			goto out;
		if (tc && tc->merge_strategy && strcmp(tc->merge_strategy, "delete-insert") != 0 &&
		    strcmp(tc->merge_strategy, "upsert") != 0) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "merge strategy \"%s\" of table \"%s\" is not supported",
				   tc->merge_strategy, rc.tables[i].name);
			pg2md_hint(err, "use write_disposition.strategy = \"delete-insert\" (the default) or \"upsert\"");
			goto out;
		}
		if (rc.tables[i].relkind == 'q' && rc.incr[i].active && tc->row_order) {
			/* one task: the rows can come in the cursor's order, as dlt's row_order asks */
			pg2md_buf ob = PG2MD_BUF_INIT;
			buf_puts(&ob, "ORDER BY ");
			buf_ident(&ob, rc.tables[i].cols[rc.incr[i].col].name);
			buf_puts(&ob, strcmp(tc->row_order, "desc") == 0 ? " DESC" : " ASC");
			rc.tables[i].order_by = buf_detach(&ob);
		}
		if (tc && tc->transform) {
			bool later;
			if (transform_stage_parse(tc, direct, &later, err))
				goto out;
			/* bound now, against the reflected columns: a broken transform stops the run before any data moves */
			if (transform_bind(&rc.tables[i], tc->transform, &rc.tx[i], err))
				goto out;
			if (later)
				rc.tx_later[i] = tc->transform;
			else
				rc.tx_sql[i] = tc->transform;
			if (boundary_cursor_check(cfg, &rc.tables[i], &rc.incr[i], &rc.tx[i], err))
				goto out;
		}
	}
	for (int i = 0; i < rc.ntables; i++)
		if (merge_key_check(cfg, &rc.tables[i], &rc.tx[i], err))
			goto out;
	for (int i = 0; i < rc.ntables; i++)
		if (pg2md_config_disposition(cfg, rc.tables[i].name) == PG2MD_DISP_MERGE && rc.tables[i].npk == 0 &&
		    !(pg2md_config_table(cfg, rc.tables[i].name) &&
		      (pg2md_config_table(cfg, rc.tables[i].name)->primary_key.n > 0 ||
		       pg2md_config_table(cfg, rc.tables[i].name)->merge_key.n > 0))) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has write_disposition \"merge\" but no primary key",
				   rc.tables[i].name);
			pg2md_hint(err, "add a primary key at the source, or set primary_key under [sources.sql_database.%s]",
				   rc.tables[i].name);
			goto out;
		}
	{
		/*
		 * Split a table only as far as balance needs: tasks of at least a 1/(2 × workers) share
		 * of all the pages to read.  A whole table is read with a plain COPY, cheaper for the
		 * server than COPY (SELECT … WHERE ctid …) (measured: docs/internals/performance.md).
		 */
		int64_t total = 0, per_task = PAGES_PER_TASK_DEFAULT;
		int readers = effective_workers(cfg, INT32_MAX);
		for (int i = 0; i < rc.ntables; i++)
			total += rc.tables[i].pages;
		if (getenv("PG2MD_PAGES_PER_TASK"))
			per_task = strtoll(getenv("PG2MD_PAGES_PER_TASK"), NULL, 10);
		else if (readers > 0 && total / (2 * readers) > per_task)
			per_task = total / (2 * readers);
		plan_run(&rc, per_task);
	}
	int nworkers = effective_workers(cfg, rc.ntasks);
	rc.nworkers = nworkers;
	trace->workers = nworkers;
	trace->ntasks = rc.ntasks;
	trace->direct = direct;

	if (direct) {
		/*
		 * One DuckDB thread: each worker runs its own INSERT on its own thread.  Background
		 * threads would only hand the single-threaded scan back and forth while the caller
		 * spins waiting for it (measured: half the CPU time, docs/internals/performance.md).
		 */
		if (dest_open(&dest, cfg, 1, err))
			goto out;
		trace->destination = xstrdup(dest.where);
		dest_checkpoint_on_commit(&dest);
		rc.motherduck = dest.motherduck;
		if (dest_prepare_dataset(&dest, rc.dataset, err))
			goto out;
		pg2md_buf sql = PG2MD_BUF_INIT;
		for (int i = 0; i < rc.ntables; i++) {
			pg2md_table *t = &rc.tables[i];
			char *nt = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);
			buf_reset(&sql);
			buf_puts(&sql, "DROP TABLE IF EXISTS ");
			duck_qualified(&sql, rc.dataset, nt);
			buf_puts(&sql, "; CREATE TABLE ");
			duck_qualified(&sql, rc.dataset, nt);
			buf_puts(&sql, " (");
			if (rc.tx_sql[i]) {
				for (int c = 0; c < rc.tx[i].ncols; c++) {
					if (c)
						buf_puts(&sql, ", ");
					buf_ident(&sql, rc.tx[i].cols[c].name);
					buf_printf(&sql, " %s%s", rc.tx[i].cols[c].duck_type,
						   rc.tx[i].cols[c].lineage ? " NOT NULL" : "");
				}
			}
			for (int c = 0; !rc.tx_sql[i] && c < t->ncols; c++) {
				if (c)
					buf_puts(&sql, ", ");
				buf_ident(&sql, t->cols[c].dest_name);
				buf_printf(&sql, " %s%s", t->cols[c].duck_type, t->cols[c].nullable ? "" : " NOT NULL");
			}
			buf_puts(&sql, ")");
			free(nt);
			if (duck_exec(dest.con, sql.data, "creating a destination table", err))
				break;
		}
		buf_release(&sql);
		if (pg2md_failed(err))
			goto out;
		rc.ddb = dest.db;
		regcon = dest.con;
	} else {
		duckdb_config dc;
		char tbuf[16];
		char *open_err = NULL;
		if (pkg_init_dirs(cfg, err))
			goto out;
		rc.pkg_path = pkg_dir(cfg, PKG_EXTRACTING, rc.load_id);
		if (mkdir_p(rc.pkg_path, 0700, err))
			goto out;
		duckdb_create_config(&dc);
		snprintf(tbuf, sizeof(tbuf), "%d", 1); /* as in the direct mode: workers are the threads */
		duckdb_set_config(dc, "threads", tbuf);
		duckdb_set_config(dc, "preserve_insertion_order", "false");
		duckdb_set_config(dc, "memory_limit", duck_memory_limit());
		{
			/* an in-memory DuckDB would spill into ./.tmp: keep it in the pipeline folder */
			char *tmpdir = xasprintf("%s/%s/tmp", cfg->pipelines_dir, cfg->pipeline_name);
			duckdb_set_config(dc, "temp_directory", tmpdir);
			free(tmpdir);
		}
		if (duckdb_open_ext(":memory:", &stagedb, dc, &open_err) == DuckDBError) {
			pg2md_fail(err, PG2MD_ERR_RUN, "could not start DuckDB for staging: %s", open_err ? open_err : "");
			duckdb_free(open_err);
			duckdb_destroy_config(&dc);
			goto out;
		}
		duckdb_destroy_config(&dc);
		if (duckdb_connect(stagedb, &regcon) == DuckDBError) {
			pg2md_fail(err, PG2MD_ERR_RUN, "could not connect to the staging DuckDB");
			goto out;
		}
		rc.ddb = stagedb;
	}
	if (copyscan_register(regcon, &rc.reg, err))
		goto out;

	/* The new cursor values: the snapshot fixes them, so they are known before the copy starts. */
	for (int i = 0; i < rc.ntables; i++)
		if (incr_finish(leader, cfg->schema, &rc.tables[i], rc.filters[i], &rc.incr[i], err))
			goto out;
	rc.leader = leader;
	pg2md_info("extracting %d tables in %d tasks with %d workers", rc.ntables, rc.ntasks, nworkers);
	if (run_workers(&rc, nworkers, err)) {
		for (int i = 0; i < rc.ntasks; i++)
			if (pg2md_failed(&rc.tasks[i].err)) {
				/* a value the server could not convert (SQLSTATE class 22): name the type overrides */
				if (strncmp(rc.tasks[i].sqlstate, "22", 2) == 0)
					colhints_failure_hint(cfg, rc.tasks[i].table, err);
				break;
			}
		goto out;
	}
	fault_point("extract:workers_done");
	/* Every worker has its snapshot; the leader's transaction can end. */
	pg_exec(leader, "COMMIT", err);
	trace->t_extract = now_seconds() - t0;

	fault_point("extract:before_manifest");
	man = build_manifest(&rc);
	trace_from_manifest(trace, man);
	if (direct) {
		double t1 = now_seconds();
		bool already;
		if (load_package(cfg, &dest, man, NULL, true, trace->timeline, &already, err) == PG2MD_OK)
			trace->t_load = now_seconds() - t1;
	} else {
		char *manpath = xasprintf("%s/manifest.json", rc.pkg_path);
		pg2md_code result = json_write_atomic(manpath, man, err);
		free(manpath);
		if (result == PG2MD_OK)
			fault_point("extract:before_move");
		if (result == PG2MD_OK && pkg_move(cfg, rc.load_id, PKG_EXTRACTING, PKG_EXTRACTED, err) == PG2MD_OK) {
			fault_point("extract:after_move");
			if ((stages & STAGE_NORMALIZE) && normalize_package(cfg, rc.load_id, trace, err) == PG2MD_OK &&
			    (stages & STAGE_LOAD))
				finish_package(cfg, rc.load_id, trace, err);
		}
	}

out:
	if (pg2md_failed(err) && direct && dest.con) {
		/* The half-filled work tables of a failed direct run go now, not at the next run. */
		pg2md_error ignore;
		pg2md_buf sql = PG2MD_BUF_INIT;
		pg2md_error_init(&ignore);
		for (int i = 0; i < rc.ntables; i++) {
			char *nt = xasprintf(NEW_TABLE_PREFIX "%s", rc.tables[i].dest_name);
			buf_reset(&sql);
			buf_puts(&sql, "DROP TABLE IF EXISTS ");
			duck_qualified(&sql, rc.dataset, nt);
			duck_exec(dest.con, sql.data, "dropping a work table", &ignore);
			free(nt);
		}
		buf_release(&sql);
	}
	if (pg2md_failed(err) && rc.pkg_path && !direct) {
		/* A half-extracted package is never loaded: discard it now rather than at the next run. */
		pkg_remove_tree(rc.pkg_path);
	}
	json_decref(man);
	if (regcon && !direct)
		duckdb_disconnect(&regcon);
	if (stagedb)
		duckdb_close(&stagedb);
	if (direct)
		dest_close(&dest);
	if (leader)
		PQfinish(leader);
	plan_free(rc.tasks, rc.ntasks);
	for (int i = 0; rc.filters && i < rc.ntables; i++) {
		free(rc.filters[i]);
		incr_release(&rc.incr[i]);
	}
	free(rc.filters);
	free(rc.incr);
	free(rc.work_rows);
	free(rc.win_bytes);
	free(rc.win_rows);
	free(rc.announced);
	free(rc.need);
	for (int i = 0; rc.tx && i < rc.ntables; i++)
		transform_out_release(&rc.tx[i]);
	free(rc.tx);
	free(rc.tx_sql);
	free(rc.tx_later);
	json_decref(rc.state);
	catalog_free(rc.tables, rc.ntables);
	free(rc.snapshot);
	free(rc.load_id);
	free(rc.pkg_path);
	return err->code;
}

pg2md_code
pipeline_run(const pg2md_config *cfg, int stages, pg2md_trace *trace, pg2md_error *err)
{
	double t0 = now_seconds();
	char *id;
	int lock = -1;

	memset(trace, 0, sizeof(*trace));
	trace->dataset = xstrdup(cfg->dataset_name);
	trace->timeline = trace_timeline_new(t0);
	/* Everything a run creates (DuckDB file, packages, state, trace) is the user's alone:
	 * the data is as private as the database it came from. */
	umask(077);
	lock = pipeline_lock(cfg, err);
	if (lock < 0)
		goto out;
	if (pkg_init_dirs(cfg, err))
		goto out;

	/* A package that a crash left half-extracted is discarded. */
	while ((id = pkg_find(cfg, PKG_EXTRACTING)) != NULL) {
		char *p = pkg_dir(cfg, PKG_EXTRACTING, id);
		pg2md_warn("discarding package %s that an earlier run did not finish extracting", id);
		pkg_remove_tree(p);
		free(p);
		free(id);
	}
	/* A local DuckDB file that cannot be written fails now, before anything is read. */
	if (((stages & STAGE_LOAD) || ((stages & STAGE_EXTRACT) && cfg->direct)) && dest_check_writable(cfg, err))
		goto out;
	/* A package already extracted or normalized is finished first, and the run stops there. */
	if (stages == STAGE_ALL) {
		if ((id = pkg_find(cfg, PKG_NORMALIZED)) != NULL || (id = pkg_find(cfg, PKG_EXTRACTED)) != NULL) {
			char *np = pkg_dir(cfg, PKG_NORMALIZED, id);
			bool normalized = access(np, F_OK) == 0;
			free(np);
			trace->finished_pending = true;
			trace->pending_state = xstrdup(normalized ? "normalized" : "extracted");
			trace->load_id = xstrdup(id);
			if (!normalized)
				normalize_package(cfg, id, trace, err);
			if (!pg2md_failed(err))
				finish_package(cfg, id, trace, err);
			free(id);
			goto out;
		}
	} else if (stages == STAGE_NORMALIZE) {
		/* normalize takes the oldest extracted package */
		if ((id = pkg_find(cfg, PKG_EXTRACTED)) == NULL) {
			trace->note = xstrdup("nothing to normalize: no extracted load package is pending");
			goto out;
		}
		trace->load_id = xstrdup(id);
		normalize_package(cfg, id, trace, err);
		free(id);
		goto out;
	} else if (stages == STAGE_LOAD) {
		/* load takes the oldest normalized package */
		if ((id = pkg_find(cfg, PKG_NORMALIZED)) == NULL) {
			id = pkg_find(cfg, PKG_EXTRACTED);
			trace->note = id ? xasprintf("nothing to load: load package %s is extracted but not normalized yet; "
						     "run pg2md normalize first", id)
					 : xstrdup("nothing to load: no normalized load package is pending");
			free(id);
			goto out;
		}
		trace->load_id = xstrdup(id);
		finish_package(cfg, id, trace, err);
		free(id);
		goto out;
	}
	/* A remote destination is tried before any data moves, so a wrong token or no network
	 * costs seconds, not a whole extraction. */
	if ((stages & STAGE_LOAD) && cfg->destination && strcmp(cfg->destination, "motherduck") == 0) {
		pg2md_dest probe;
		if (dest_open(&probe, cfg, 1, err))
			goto out;
		dest_close(&probe);
	}
	if (stages & STAGE_EXTRACT)
		extract(cfg, cfg->direct, stages, trace, err);

out:
	pipeline_unlock(lock);
	trace->t_total = now_seconds() - t0;
	trace->peak_rss = peak_rss_bytes();
	trace->result = err->code;
	return err->code;
}

void
pipeline_trace_release(pg2md_trace *trace)
{
	for (int i = 0; i < trace->ntables; i++) {
		free(trace->tables[i].name);
		free(trace->tables[i].dest_name);
		free(trace->tables[i].disposition);
	}
	free(trace->tables);
	free(trace->load_id);
	free(trace->pending_state);
	free(trace->note);
	free(trace->destination);
	free(trace->dataset);
	free(trace->found_in);
	trace_timeline_free(trace->timeline);
	memset(trace, 0, sizeof(*trace));
}

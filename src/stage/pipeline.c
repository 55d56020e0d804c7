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
bool
rotating(const pg2md_config *cfg)
{
	return cfg->file_max_items > 0 || cfg->file_max_bytes > 0;
}

/* byte_row_groups: close row groups by size, which DuckDB allows only without insertion order
 * (the extract's staging instance; not the normalize stage's transform, whose order may count) */
void
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
void
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
void
task_collect_files(run_ctx *rc, pg2md_task *task, duckdb_connection con)
{
	collect_output(rc->pkg_path, task->file, con, &task->parts, &task->part_rows, &task->nparts,
		       &task->file_bytes);
}

/*
 * One column of a transform's output as staged: INTERVAL and TIME WITH TIME ZONE as their
 * text (Parquet has no exact form for them); the load casts back to the manifest's type.
 */
void
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

char *
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

int
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

pg2md_code
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

pg2md_code
extract_run(const pg2md_config *cfg, bool direct, int stages, pg2md_trace *trace, pg2md_error *err)
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
		extract_run(cfg, cfg->direct, stages, trace, err);

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

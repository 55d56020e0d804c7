/*
 * workers.c — the worker pool of an extraction.
 *
 * N threads take tasks from a shared counter; each owns one PostgreSQL connection that joined
 * the run's snapshot (worker 0 reads on the leader's) and one DuckDB connection.  A failed task
 * records its error on itself and stops the hand-out; the first failure in plan order is the
 * one reported.  A task whose connection was lost is read again on a new connection in the
 * same snapshot; one that ran DuckDB out of memory while others copied is read again alone, and
 * so is a direct task whose COMMIT did (unless its work table shows the rows committed anyway:
 * commit.c).
 * A gate around the tasks' DuckDB work lets a task run alone when it must (gate_move).
 * Direct under MotherDuck's rules, the workers only read: handoff.c hands their rows to the one
 * writer connection.
 */
#include "stage/pipeline_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "source/pgconn.h"
#include "util/fault.h"
#include "util/humanize.h"
#include "util/interrupt.h"
#include "util/log.h"

typedef struct worker {
	int id;
	run_ctx *rc;
	pthread_t thread;
	pg2md_error err;
} worker;

/*
 * The gate around the tasks' DuckDB work: a task holds it shared from its statement (a COPY, or
 * an INSERT) to its commit, or alone, which waits until no task holds it and holds back new ones
 * (one waiting to go alone goes first).  Alone: a direct commit of large rows (direct_commit,
 * commit.c), the settling of a COMMIT that ran DuckDB out of memory (commit_settle), and a task
 * read again after DuckDB ran out of memory (retry_out_of_memory), so that no other worker's
 * rows wait in DuckDB's memory meanwhile.  A task moves between the states with
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

void
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

/* A task about to be read again: its counts and error start over (the progress thread reads them). */
static void
task_start_over(pg2md_task *task)
{
	__atomic_store_n(&task->scan.rows, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&task->scan.bytes, 0, __ATOMIC_RELAXED);
	task->scan.lossy = 0;
	task->scan.oom = false;
	task->commit_undone = false;
	task->scan.retries++;
	pg2md_error_init(&task->scan.err);
}

/*
 * A task that failed because DuckDB ran out of memory while other workers copied (each worker's
 * rows wait in DuckDB's memory; the budget adds up the large tables' windows as their tasks
 * commit, and a table still being read is not in that sum yet) is read again once, alone, in the
 * same snapshot: the COPY was cancelled (copyscan_abort), the connection's transaction rolls back
 * to the savepoint taken before it, and the DuckDB side left nothing (a failed INSERT rolled
 * back; a Parquet file is rewritten).  Alone, it needs what a run of that table by itself does.
 * So is a direct task whose COMMIT ran out of memory and did not commit (commit_settle): its COPY
 * had ended and its savepoint was released, so the transaction goes on as it is, the COPY's lock
 * kept.  Returns true to try again, *solo set.
 */
static bool
retry_out_of_memory(run_ctx *rc, pg2md_task *task, PGconn *conn, int attempt, bool *solo)
{
	pg2md_error err;
	bool at_commit = task->commit_undone;

	/*
	 * Not a query's task mid-copy: the leader locks tables, not a query's
	 * (docs/transformations.md), so the COPY's own lock, gone with the savepoint, was all that
	 * kept a TRUNCATE out.
	 */
	if (!task->scan.oom || attempt > 0 || *solo || rc->nworkers < 2 || interrupt_requested() ||
	    (task->table->relkind == 'q' && !at_commit) || PQstatus(conn) != CONNECTION_OK)
		return false;
	pg2md_error_init(&err);
	if (!at_commit && (pg_exec(conn, "ROLLBACK TO SAVEPOINT pg2md_task", &err) ||
			   pg_exec(conn, "RELEASE SAVEPOINT pg2md_task", &err))) {
		pg2md_warn("cannot read table \"%s\" again: %s", task->table->name, err.msg);
		return false;
	}
	/* DuckDB's first line: its list of possible solutions is for the error that stops a run */
	int len = (int)strcspn(task->scan.err.msg, "\n");
	if (at_commit)
		pg2md_warn("DuckDB ran out of memory committing table \"%s\", and its rows did not commit; reading it "
			   "again alone (%.*s)",
			   task->table->name, len, task->scan.err.msg);
	else
		pg2md_warn("DuckDB ran out of memory copying table \"%s\" while other workers copied; reading it "
			   "again alone (%.*s)",
			   task->table->name, len, task->scan.err.msg);
	if (at_commit) {
		/* direct_commit counted its rows into the work table's */
		pthread_mutex_lock(&rc->lock);
		rc->work_rows[task->table_idx] -= task->scan.rows;
		pthread_mutex_unlock(&rc->lock);
	}
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
bool
retry_task(run_ctx *rc, pg2md_task *task, PGconn **conn, int attempt)
{
	pg2md_error err;
	PGconn *fresh;

	if (attempt >= TASK_RETRIES || interrupt_requested() || PQstatus(*conn) != CONNECTION_BAD ||
	    *conn == rc->leader || PQstatus(rc->leader) != CONNECTION_OK)
		return false;
	pg2md_warn("lost the connection reading table \"%s\" (%s); retrying in %d s (%d of %d)", task->table->name,
		   task->scan.err.msg, 1 << attempt, attempt + 1, TASK_RETRIES);
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
	task_start_over(task);
	return true;
}

/*
 * Run one task's statement on the worker's connections, reading the task again as long as a
 * retry applies (retry_out_of_memory, retry_task; *conn is replaced by a reconnect).  The
 * outcome is on the task.
 */
static void
run_task(run_ctx *rc, worker *w, pg2md_task *task, PGconn **conn, duckdb_connection con)
{
	char *sql = task_statement(rc, task);
	bool solo = false, committed = false;
	if (!sql) {
		pg2md_fail(&task->scan.err, PG2MD_ERR_NOMEM, "out of memory");
		return;
	}
	for (int attempt = 0;; attempt++) {
		task->scan.conn = *conn;
		pg2md_debug("worker %d: task %d (%s): %s", w->id, task->id, task->table->name, task->copy_sql);
		int gate = GATE_OUT;
		gate_move(rc, &gate, solo ? GATE_ALONE : GATE_SHARED);
		if (solo)
			fault_point("extract:alone");
		/* the savepoint lets the task be read again on this connection (retry_out_of_memory) */
		if (pg_exec(*conn, "SAVEPOINT pg2md_task", &task->scan.err) == PG2MD_OK &&
		    (!rc->direct || duck_exec(con, "BEGIN TRANSACTION", "copying", &task->scan.err) == PG2MD_OK)) {
			duckdb_result res;
			if (duckdb_query(con, sql, &res) == DuckDBError) {
				task->scan.oom = task->scan.oom || duck_out_of_memory(&res);
				/* the scan's own error is the root cause when it has one */
				pg2md_fail(&task->scan.err, PG2MD_ERR_RUN, "copying table \"%s\" failed: %s",
					   task->table->name, duckdb_result_error(&res));
				duck_error_hint(duckdb_result_error(&res), &task->scan.err);
				copyscan_abort(*conn);
			} else {
				task->inserted = (int64_t)duckdb_rows_changed(&res);
			}
			duckdb_destroy_result(&res);
			if (!pg2md_failed(&task->scan.err))
				pg_exec(*conn, "RELEASE SAVEPOINT pg2md_task", &task->scan.err);
		}
		/*
		 * Once the COMMIT was tried, read again only when the work table shows it did not
		 * commit (commit_settle, after DuckDB ran out of memory): DuckDB may report a failed
		 * checkpoint after the rows committed, and reading them again would add them twice.
		 * Otherwise the failed run drops its work tables.  (Also when raising the budget
		 * failed before the COMMIT: on the safe side.)
		 */
		if (rc->direct && !pg2md_failed(&task->scan.err)) {
			direct_commit(rc, task, con, &gate, &task->scan.err);
			committed = !task->commit_undone;
		}
		if (rc->direct && pg2md_failed(&task->scan.err)) {
			pg2md_error ignore;
			pg2md_error_init(&ignore);
			duck_exec(con, "ROLLBACK", "rolling back", &ignore);
		}
		gate_move(rc, &gate, GATE_OUT);
		if (!pg2md_failed(&task->scan.err) || committed)
			break;
		if (retry_out_of_memory(rc, task, *conn, attempt, &solo))
			continue;
		if (!retry_task(rc, task, conn, attempt))
			break;
	}
	free(sql);
}

PGconn *
worker_connect(run_ctx *rc, int id, pg2md_error *err)
{
	PGconn *conn;

	/* The first worker reads on the leader's connection, already in the snapshot: a run opens
	 * exactly as many connections as it has workers, within [postgres] pool_size. */
	if (id == 0 && rc->leader)
		return rc->leader;
	conn = pg_connect(rc->cfg, err);
	if (conn && pg_snapshot_import(conn, rc->snapshot, err)) {
		PQfinish(conn);
		conn = NULL;
	}
	return conn;
}

static void *
worker_main(void *arg)
{
	worker *w = arg;
	run_ctx *rc = w->rc;
	PGconn *conn = NULL;
	duckdb_connection con = NULL;

	conn = worker_connect(rc, w->id, &w->err);
	if (!conn)
		goto out;
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
		run_task(rc, w, task, &conn, con);
		task->seconds = now_seconds() - task->started;
		task->scan.conn = NULL;
		progress_task_done(rc->progress, task);
		trace_span_add(rc->timeline, &(trace_span){w->id, "extract", task->table->name, NULL, task->id,
							    task->page_lo, task->page_hi, task->started,
							    task->started + task->seconds, task->scan.rows, task->scan.bytes,
							    task->scan.retries, !pg2md_failed(&task->scan.err)});
		fault_point("extract:task_done");
		if (!rc->direct && !pg2md_failed(&task->scan.err)) {
			if (!task_collect_files(rc, task, con))
				pg2md_fail(&task->scan.err, PG2MD_ERR_NOMEM, "out of memory");
			else
				overlap_task_done(rc, task);
		}
		if (pg2md_failed(&task->scan.err)) {
			pg2md_error_merge(&w->err, &task->scan.err);
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

/* What run_workers allocated for its own use. */
static void
run_workers_free(run_ctx *rc)
{
	free(rc->committed);
	free(rc->unsettled);
	free(rc->unsettled_rows);
	rc->committed = NULL;
	rc->unsettled = NULL;
	rc->unsettled_rows = NULL;
}

pg2md_code
run_workers(run_ctx *rc, int nworkers, pg2md_error *err)
{
	worker *ws = xcalloc((size_t)nworkers, sizeof(worker));
	/* the readers' own failures when they hand their rows to one writer */
	pg2md_error *errs = rc->direct && rc->one_writer ? xcalloc((size_t)nworkers, sizeof(pg2md_error)) : NULL;
	int nworkers_started = nworkers;
	rc->committed = xcalloc((size_t)rc->ntables + 1, sizeof(int64_t));
	rc->unsettled = xcalloc((size_t)rc->ntables + 1, sizeof(int));
	rc->unsettled_rows = xcalloc((size_t)rc->ntables + 1, sizeof(int64_t));
	if (!ws || (rc->direct && rc->one_writer && !errs) || !rc->committed || !rc->unsettled || !rc->unsettled_rows) {
		free(ws);
		free(errs);
		run_workers_free(rc);
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&rc->lock, NULL);
	pthread_cond_init(&rc->gate_cv, NULL);
	rc->gate_active = rc->gate_solo_waiting = 0;
	rc->gate_solo = false;
	rc->next_task = 0;
	rc->failed = 0;
	rc->writer = NULL;
	if (rc->direct && rc->one_writer) {
		/*
		 * MotherDuck allows one writer per database, and parallel writers' transactions conflict:
		 * the workers read in parallel and hand their rows to one connection, which writes one
		 * task's transaction at a time (handoff.c; docs/motherduck.md).
		 */
		if (duckdb_connect(rc->ddb, &rc->writer) == DuckDBError) {
			rc->writer = NULL;
			pg2md_fail(err, PG2MD_ERR_RUN, "could not connect to DuckDB");
			pthread_cond_destroy(&rc->gate_cv);
			pthread_mutex_destroy(&rc->lock);
			free(ws);
			free(errs);
			run_workers_free(rc);
			return err->code;
		}
		pg2md_debug("direct under MotherDuck's rules: %d workers read, one connection writes, one task at a time",
			    nworkers);
	}
	rc->progress = progress_start(&(progress_run){rc->cfg, rc->tasks, rc->ntasks, rc->tables, rc->ntables,
						      &rc->lock, &rc->next_task, rc->load_id, rc->timeline});
	for (int i = 0; i < nworkers; i++) {
		ws[i].id = i;
		ws[i].rc = rc;
		pg2md_error_init(&ws[i].err);
	}
	if (rc->writer) {
		for (int i = 0; i < nworkers; i++)
			pg2md_error_init(&errs[i]);
		handoff_run(rc, nworkers, errs);
		for (int i = 0; i < nworkers; i++)
			ws[i].err = errs[i];
		nworkers_started = 0;
	}
	for (int i = 0; i < nworkers_started; i++) {
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
			pg2md_fail(err, PG2MD_ERR_RUN, "could not start worker thread: %s", strerror(errno));
			nworkers_started = i;
			pthread_mutex_lock(&rc->lock);
			rc->failed = 1;
			pthread_mutex_unlock(&rc->lock);
			break;
		}
	}
	for (int i = 0; i < nworkers_started; i++)
		pthread_join(ws[i].thread, NULL);
	progress_stop(rc->progress);
	rc->progress = NULL;
	/* The first task in plan order that failed holds the root cause; a worker's own
	 * failure (connection) otherwise. */
	for (int i = 0; i < rc->ntasks && !pg2md_failed(err); i++)
		pg2md_error_merge(err, &rc->tasks[i].scan.err);
	for (int i = 0; i < nworkers && !pg2md_failed(err); i++)
		pg2md_error_merge(err, &ws[i].err);
	if (rc->writer)
		duckdb_disconnect(&rc->writer);
	pthread_cond_destroy(&rc->gate_cv);
	pthread_mutex_destroy(&rc->lock);
	free(ws);
	free(errs);
	run_workers_free(rc);
	return err->code;
}

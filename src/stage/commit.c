/*
 * commit.c — the COMMIT of a direct task's transaction.
 *
 * Before it, DuckDB's budget is raised for rows of several MB and a commit of such rows goes
 * alone through the workers' gate (direct_commit).  A COMMIT that runs DuckDB out of memory is
 * settled: whether its rows committed is read from the work table's count, so that run_task
 * (workers.c) keeps them or reads the task again alone (commit_settle).
 */
#include "stage/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

#include "dest/load.h"
#include "util/fault.h"
#include "util/log.h"

/* The rows of task's work table (DuckDB's count); -1 if the query failed (a warning). */
static int64_t
work_table_rows(run_ctx *rc, pg2md_task *task, duckdb_connection con)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_error err;
	char *nt = xasprintf(NEW_TABLE_PREFIX "%s", task->table->dest_name), *n = NULL;
	int64_t rows = -1;

	pg2md_error_init(&err);
	if (!nt) {
		pg2md_warn("cannot count the rows copied into table \"%s\": out of memory", task->table->name);
		return -1;
	}
	buf_puts(&sql, "SELECT count(*) FROM ");
	duck_qualified(&sql, rc->dataset, nt);
	if (duck_scalar(con, sql.data, &n, &err) == PG2MD_OK && n)
		rows = strtoll(n, NULL, 10);
	else
		pg2md_warn("cannot count the rows copied into table \"%s\": %s", task->table->name,
			   pg2md_failed(&err) ? err.msg : "no answer");
	free(n);
	free(nt);
	buf_release(&sql);
	return rows;
}

/*
 * After a COMMIT that ran DuckDB out of memory: did the task's rows commit?  The error does not
 * say (DuckDB can report a checkpoint that failed after the commit), and a record of the task
 * written in the same transaction does not either: measured with DuckDB 1.4.4, a commit whose
 * checkpoint failed kept such a record while the work table lost the rows.  So the work table's
 * own count decides, taken alone (*gate: no other task commits meanwhile) against the rows of the
 * table's tasks known committed (rc->committed): those plus the task's, it committed; those
 * alone, it did not, and task->commit_undone is set so that run_task may read it again.  While
 * other tasks of the table have a failed COMMIT unsettled, only all of them committed or none is
 * clear.  Anything else, and the error stays: the run fails and drops its work tables, as on any
 * other failed COMMIT.
 */
static void
commit_settle(run_ctx *rc, pg2md_task *task, duckdb_connection con, int *gate, pg2md_error *err)
{
	int t = task->table_idx;
	pg2md_error ignore;

	pg2md_error_init(&ignore);
	/* a failed COMMIT ends DuckDB's transaction; should one be left, it did not commit */
	duck_exec(con, "ROLLBACK", "rolling back", &ignore);
	gate_move(rc, gate, GATE_ALONE);
	int64_t rows = work_table_rows(rc, task, con);
	pthread_mutex_lock(&rc->lock);
	int64_t known = rc->committed[t];
	bool others = rc->unsettled[t] > 1;
	/* with other failed COMMITs of the table unsettled: clear when none or all of them committed */
	bool kept = rows == known + (others ? rc->unsettled_rows[t] : task->inserted);
	bool undone = !kept && rows == known;
	if (kept)
		rc->committed[t] += task->inserted;
	rc->unsettled[t]--;
	rc->unsettled_rows[t] -= task->inserted;
	pthread_mutex_unlock(&rc->lock);
	pg2md_debug("task %d (%s): COMMIT out of memory; the work table holds %lld rows, %lld known committed, "
		    "this task inserted %lld%s: %s",
		    task->id, task->table->name, (long long)rows, (long long)known, (long long)task->inserted,
		    others ? " (other failed COMMITs of the table unsettled)" : "",
		    kept ? "committed" : undone ? "not committed" : "cannot tell");
	int len = (int)strcspn(err->msg, "\n");
	if (kept) {
		pg2md_warn("DuckDB ran out of memory committing table \"%s\", after its rows committed: they are kept "
			   "(%.*s)",
			   task->table->name, len, err->msg);
		task->scan.retries++;
		pg2md_error_init(err);
	} else if (undone) {
		task->commit_undone = true;
		task->scan.oom = true;
	} else if (rows >= 0) {
		pg2md_warn("cannot tell whether table \"%s\"'s rows committed: its work table holds %lld rows, "
			   "%lld were committed before%s",
			   task->table->name, (long long)rows, (long long)known,
			   others ? ", and another of its tasks failed to commit too" : "");
	}
}

/*
 * COMMIT a direct task's transaction; after DuckDB ran out of memory, commit_settle finds out
 * what happened.  The faults "commit:oom" (the COMMIT fails before committing) and
 * "commit:oom_after" (it commits, then fails) stand for that, at a task's first attempt.
 */
static pg2md_code
commit_checked(run_ctx *rc, pg2md_task *task, duckdb_connection con, int *gate, pg2md_error *err)
{
	bool first = task->scan.retries == 0, oom = false, failed = true;
	char *msg = NULL; /* the failure's message (NULL also when memory ran out copying it) */
	duckdb_result res;

	if (first && fault_fail("commit:oom")) {
		pg2md_error ignore;
		pg2md_error_init(&ignore);
		duck_exec(con, "ROLLBACK", "rolling back", &ignore);
		msg = xstrdup("Out of Memory Error: injected at \"commit:oom\" (PG2MD_FAULT_FAIL)");
		oom = true;
	} else if (duckdb_query(con, "COMMIT", &res) == DuckDBError) {
		oom = duck_commit_out_of_memory(&res);
		msg = xstrdup(duckdb_result_error(&res));
		duckdb_destroy_result(&res);
	} else {
		duckdb_destroy_result(&res);
		failed = first && fault_fail("commit:oom_after");
		if (failed) {
			msg = xstrdup("Out of Memory Error: injected at \"commit:oom_after\" (PG2MD_FAULT_FAIL)");
			oom = true;
		}
	}
	/* before the task leaves the gate: commit_settle counts on it */
	pthread_mutex_lock(&rc->lock);
	if (!failed)
		rc->committed[task->table_idx] += task->inserted;
	else if (oom) {
		rc->unsettled[task->table_idx]++;
		rc->unsettled_rows[task->table_idx] += task->inserted;
	}
	pthread_mutex_unlock(&rc->lock);
	if (!failed)
		return PG2MD_OK;
	if (msg) {
		pg2md_fail(err, PG2MD_ERR_RUN, "committing the copied rows of table \"%s\" failed: %s", task->table->name,
			   msg);
		duck_error_hint(msg, err);
	} else {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	free(msg);
	if (oom)
		commit_settle(rc, task, con, gate, err);
	return err->code;
}

/*
 * Direct mode: a worker's INSERT runs in a transaction of its own.  At its commit DuckDB writes
 * the work table's last row group out again, 2048 rows at a time, holding their values: with
 * rows of several MB that can pass the budget.  The scan measured the task's largest 2048-row
 * window (task->scan.window_bytes): the budget is raised to what the work table's window needs (with
 * the rows already there), then the task commits.  The budget only grows, for the rest of the
 * run; the lock keeps the SETs in the order of their sizes.  *gate: what the caller holds of the
 * gate (gate_move), alone after a commit of large rows.
 */
pg2md_code
direct_commit(run_ctx *rc, pg2md_task *task, duckdb_connection con, int *gate, pg2md_error *err)
{
	int t = task->table_idx;

	pthread_mutex_lock(&rc->lock);
	int64_t before = rc->work_rows[t];
	rc->work_rows[t] += task->scan.rows;
	if (task->scan.window_bytes > rc->win_bytes[t]) {
		rc->win_bytes[t] = task->scan.window_bytes;
		rc->win_rows[t] = task->scan.window_rows;
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
		/* (and what the copy of wide tables holds: their columns, extract.c) */
		int64_t total = duck_window_need(1) + (int64_t)(rc->nworkers - 1) * 32 * 1000 * 1000 + rc->col_need;
		rc->need[t] = need;
		for (int i = 0; i < rc->ntables; i++)
			if (rc->need[i] > 0)
				total += rc->need[i] - duck_window_need(1);
		if (total > rc->budget) {
			bool raised;
			char *what = xasprintf("copying table \"%s\"", task->table->name);
			/* said once per table; the later raises of the same table at DEBUG */
			pg2md_code r = what ? duck_budget_raise(con, total, what, !rc->announced[t], &raised, err)
					    : pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
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
	return commit_checked(rc, task, con, gate, err);
}

pg2md_code
task_commit(run_ctx *rc, pg2md_task *task, duckdb_connection con, pg2md_error *err)
{
	int gate = GATE_OUT;
	direct_commit(rc, task, con, &gate, err);
	gate_move(rc, &gate, GATE_OUT);
	return err->code;
}

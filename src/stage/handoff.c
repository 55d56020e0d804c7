/*
 * handoff.c — direct mode under MotherDuck's rules: parallel readers, one writer.
 *
 * MotherDuck allows one writer per database: every task's rows go through one DuckDB
 * connection, one task's transaction at a time.  The reading need not wait for that: each worker
 * (a reader) runs its task's COPY on its own PostgreSQL connection and decodes the rows into
 * DuckDB chunks of its own (copyscan_reader_*), queued on the task; the run's thread (the
 * writer) runs each task's usual statement, INSERT … SELECT … FROM pg2md_scan(task) (the same
 * SQL as without the rules, so transforms and lineage columns are unchanged), whose scan takes
 * the queued chunks without copying them (copyscan.h, hand-off mode), and commits the task.
 *
 * Memory: each reader may keep its share of HAND_BYTES_TOTAL (at least HAND_BYTES_MIN) in
 * queued chunks, over the tasks it has read whole and the one it reads; past it, it waits.  A
 * task the writer is taking drains as it is read, and holds at most HAND_CHUNKS chunks.  The
 * chunks are DuckDB's but outside its memory_limit: this is on top of that budget.
 *
 * Order: the writer takes the tasks in the order their data became ready (read whole, or its
 * reader waiting for room), so a reader never waits long on a slow task of another: it reads
 * ahead while the writer writes what others read.  The plan keeps tasks of 32 MB of heap under
 * these rules (prepare.c), about what a reader reads ahead.
 *
 * Why this and not one statement per table with a parallel pg2md_scan (DuckDB's threads as the
 * readers, one connection each): a statement per table runs one table at a time (a run of many
 * small tables would read one at a time again), a lost connection would roll back the whole
 * table's statement instead of one task, and per-task progress, trace spans and transforms
 * would need a table-wide scan; here every task keeps its own statement, transaction, retry and
 * span, and the SQL stays the same.  Measured (1M rows, 2 workers, docs/motherduck.md): 0.67x
 * the time of one task at a time, with less CPU and memory; a prototype of the other design was
 * no faster (1.1x this one's time).
 *
 * Exactly once as before: each task commits alone; a task whose reading failed (the connection
 * was lost) has its statement fail and roll back, and is read again on a new connection in the
 * snapshot (retry_task); a failed commit is never read again here (when DuckDB ran out of memory
 * at it, the work table's count tells whether its rows committed anyway and the run goes on if
 * so: commit.c, commit_settle); a failed run drops its work tables (extract.c).  One writer commits
 * one task at a time already: reading a task again alone would change nothing there.
 */
#include "stage/pipeline_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dest/load.h"
#include "source/pgconn.h"
#include "util/fault.h"
#include "util/humanize.h"
#include "util/log.h"

#define HAND_CHUNKS 16                        /* chunks queued on a task the writer is taking */
#define HAND_BYTES_TOTAL (128 * 1000 * 1000)  /* the readers' queues together (DuckDB's own budget) */
#define HAND_BYTES_MIN (16 * 1000 * 1000)     /* but at least this much for each reader */

/* A decoded chunk on its way to the writer. */
typedef struct hand_chunk {
	duckdb_data_chunk chunk;
	int64_t bytes;
	struct hand_chunk *next;
} hand_chunk;

/* One task's queue and where it stands; under handoff.mu. */
typedef struct hand_task {
	hand_chunk *head, *tail;
	int count;
	bool reading;      /* a reader has it (this attempt) */
	bool ready;        /* the writer may take it: its reader waits for room, or read it whole */
	int64_t ready_seq; /* the order in which tasks became ready */
	bool eof;          /* read whole: every chunk is queued */
	bool failed;       /* its reading failed (task->scan.err): the statement fails */
	bool reader_done;  /* the reader stopped: eof, failed, or it saw dropped */
	bool writing;      /* the writer's statement runs on it */
	bool dropped;      /* the writer's statement ended without taking everything: stop reading */
	bool finished;     /* the writer is done with it (committed, or failed for good) */
	bool ok;           /* finished: committed */
} hand_task;

typedef struct handoff {
	run_ctx *rc;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	hand_task *t;      /* per task */
	int64_t *held;     /* per reader: the bytes of its queued chunks */
	int64_t budget;    /* per reader: what held may reach before it waits */
	int readers;       /* reader threads still running */
	int64_t seq;
	bool stop;         /* a task failed for good: no new task is started or written */
} handoff;

typedef struct reader {
	int id;
	handoff *h;
	pthread_t thread;
	pg2md_error *err;
} reader;

static void
make_ready(handoff *h, hand_task *q)
{
	if (!q->ready) {
		q->ready = true;
		q->ready_seq = h->seq++;
	}
}

/* Destroy a task's queued chunks; their bytes leave reader r's count. */
static void
queue_discard(handoff *h, hand_task *q, int r)
{
	while (q->head) {
		hand_chunk *c = q->head;
		q->head = c->next;
		if (r >= 0)
			h->held[r] -= c->bytes;
		duckdb_destroy_data_chunk(&c->chunk);
		free(c);
	}
	q->tail = NULL;
	q->count = 0;
}

/*
 * Whether reader r waits before queueing on q: a task the writer takes drains, so it holds at
 * most HAND_CHUNKS chunks; any other waits while the reader's chunks fill its budget (its
 * tasks read whole and this one; the writer takes them in turn, in the order they became ready).
 */
static bool
queue_wait(handoff *h, hand_task *q, int r)
{
	if (q->dropped || (h->stop && !q->writing))
		return false;
	if (q->writing)
		return q->count >= HAND_CHUNKS;
	if (h->held[r] >= h->budget) {
		make_ready(h, q);
		return true;
	}
	return false;
}

/*
 * Reader r queues a chunk (bytes: its estimated memory) on q: 1.  0: the chunk is not wanted
 * (the writer dropped the task, or the run stops and no statement takes it); the caller
 * destroys it.
 */
static int
queue_push(handoff *h, hand_task *q, int r, duckdb_data_chunk chunk, int64_t bytes)
{
	hand_chunk *c = xcalloc(1, sizeof(hand_chunk));
	if (!c)
		return -1;
	pthread_mutex_lock(&h->mu);
	while (queue_wait(h, q, r)) {
		pthread_cond_broadcast(&h->cv); /* it may have become ready */
		pthread_cond_wait(&h->cv, &h->mu);
	}
	bool ok = !q->dropped && !(h->stop && !q->writing);
	if (ok) {
		c->chunk = chunk;
		c->bytes = bytes;
		if (q->tail)
			q->tail->next = c;
		else
			q->head = c;
		q->tail = c;
		q->count++;
		h->held[r] += bytes;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	if (!ok)
		free(c);
	return ok ? 1 : 0;
}

/* The writer's scan takes the next chunk (copyscan_take_fn). */
static int
queue_take(void *arg, int id, duckdb_data_chunk *chunk)
{
	handoff *h = arg;
	hand_task *q = &h->t[id];
	int got;

	pthread_mutex_lock(&h->mu);
	while (!q->head && !q->eof && !q->failed)
		pthread_cond_wait(&h->cv, &h->mu);
	if (q->failed) {
		got = -1;
	} else if (q->head) {
		hand_chunk *c = q->head;
		q->head = c->next;
		if (!q->head)
			q->tail = NULL;
		q->count--;
		h->held[h->rc->tasks[id].worker] -= c->bytes;
		*chunk = c->chunk;
		free(c);
		got = 1;
		pthread_cond_broadcast(&h->cv);
	} else {
		got = 0;
	}
	pthread_mutex_unlock(&h->mu);
	return got;
}

/* Read one attempt of a task into its queue; true when it was read whole. */
static bool
read_task(handoff *h, pg2md_task *task, int rid, PGconn *conn)
{
	hand_task *q = &h->t[task->id];
	bool ok = true, done = false;

	task->scan.conn = conn;
	pthread_mutex_lock(&h->mu);
	q->reading = true;
	q->ready = q->eof = q->failed = q->reader_done = q->dropped = false;
	pthread_mutex_unlock(&h->mu);
	copyscan_reader *r = copyscan_reader_start(&task->scan, false);
	ok = r != NULL;
	while (ok && !done) {
		duckdb_data_chunk chunk = copyscan_new_chunk(&task->scan, false);
		int64_t bytes;
		if (copyscan_reader_fill(r, chunk, &bytes, &done) != PG2MD_OK) {
			ok = false;
		} else if (duckdb_data_chunk_get_size(chunk) > 0) {
			/* a chunk's memory: its vectors (2048 values of up to 8 bytes a column; longer
			 * ones are out of line) and about its COPY bytes for strings and lists */
			bytes += (int64_t)task->table->ncols * 2048 * 8;
			int pushed = queue_push(h, q, rid, chunk, bytes);
			if (pushed > 0)
				chunk = NULL; /* the queue's now */
			else
				ok = false;
			/* a failed reading: the writer's scan stops waiting for the rest */
			if (pushed < 0)
				pg2md_fail(&task->scan.err, PG2MD_ERR_NOMEM, "out of memory");
		}
		if (chunk)
			duckdb_destroy_data_chunk(&chunk);
	}
	copyscan_reader_end(r); /* cancels a COPY that did not end */
	task->seconds = now_seconds() - task->started;
	return ok;
}

/* An extract span for a task's reading (its reader, from the COPY's start to its end). */
static void
read_span(run_ctx *rc, pg2md_task *task, bool ok)
{
	trace_span_add(rc->timeline, &(trace_span){task->worker, "extract", task->table->name, NULL, task->id,
						    task->page_lo, task->page_hi, task->started,
						    task->started + task->seconds, task->scan.rows, task->scan.bytes,
						    task->scan.retries, ok});
}

/*
 * A reader's task: read it into its queue, again on a new connection when the connection was
 * lost (the writer's statement on it failed and rolled back first).  Returns false when the task
 * failed for good or the run stops.
 */
static bool
reader_task(handoff *h, reader *rd, pg2md_task *task, PGconn **conn)
{
	run_ctx *rc = h->rc;
	hand_task *q = &h->t[task->id];

	task->worker = rd->id;
	for (int attempt = 0;; attempt++) {
		task->started = now_seconds();
		pg2md_debug("reader %d: task %d (%s): %s", rd->id, task->id, task->table->name, task->copy_sql);
		bool whole = read_task(h, task, rd->id, *conn);
		pthread_mutex_lock(&h->mu);
		q->reading = false;
		q->reader_done = true;
		if (whole) {
			q->eof = true;
			make_ready(h, q);
			pthread_cond_broadcast(&h->cv);
			pthread_mutex_unlock(&h->mu);
			return true;
		}
		bool read_failed = pg2md_failed(&task->scan.err) && !q->dropped;
		q->failed = read_failed;
		pthread_cond_broadcast(&h->cv);
		while (q->writing)
			pthread_cond_wait(&h->cv, &h->mu);
		queue_discard(h, q, rd->id);
		bool stopping = h->stop, good = q->finished && q->ok;
		pthread_mutex_unlock(&h->mu);
		/* not a failed reading: the writer stopped taking the rows (its statement failed, its
		 * error is on the task; or it ended early: a transform's LIMIT), or the run stops */
		if (!read_failed)
			return good;
		if (!stopping && retry_task(rc, task, conn, attempt))
			continue;
		/* the task failed for good: nothing more starts */
		read_span(rc, task, false);
		progress_task_done(rc->progress, task);
		pthread_mutex_lock(&h->mu);
		h->stop = true;
		q->finished = true;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		return false;
	}
}

static void *
reader_main(void *arg)
{
	reader *rd = arg;
	handoff *h = rd->h;
	run_ctx *rc = h->rc;
	PGconn *conn = worker_connect(rc, rd->id, rd->err);

	for (bool go = conn != NULL; go;) {
		pthread_mutex_lock(&h->mu);
		go = !h->stop;
		pthread_mutex_unlock(&h->mu);
		pg2md_task *task = NULL;
		pthread_mutex_lock(&rc->lock);
		if (go && !rc->failed && rc->next_task < rc->ntasks)
			task = &rc->tasks[rc->next_task++];
		pthread_mutex_unlock(&rc->lock);
		if (!task)
			break;
		go = reader_task(h, rd, task, &conn);
	}
	pthread_mutex_lock(&h->mu);
	if (pg2md_failed(rd->err))
		h->stop = true;
	h->readers--;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (conn && conn != rc->leader)
		PQfinish(conn);
	return NULL;
}

/* The writer's next task: the first whose data became ready; NULL when none is left. */
static pg2md_task *
writer_next(handoff *h)
{
	run_ctx *rc = h->rc;
	pg2md_task *next = NULL;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		int64_t best = INT64_MAX;
		for (int i = 0; !h->stop && i < rc->ntasks; i++) {
			hand_task *q = &h->t[i];
			if (q->ready && !q->finished && !q->failed && q->ready_seq < best) {
				best = q->ready_seq;
				next = &rc->tasks[i];
			}
		}
		if (next || h->stop || h->readers == 0)
			break;
		pthread_cond_wait(&h->cv, &h->mu);
	}
	if (next) {
		h->t[next->id].writing = true;
		pthread_cond_broadcast(&h->cv); /* its reader may queue more now */
	}
	pthread_mutex_unlock(&h->mu);
	return next;
}

/*
 * Write one task: its statement in a transaction of its own, committed (direct_commit) once its
 * reader read it whole.  A statement that failed leaves the queue to its reader: a failed reading
 * is read again (reader_task), the writer's own failure fails the task.
 */
static void
write_task(handoff *h, pg2md_task *task, const char *sql)
{
	run_ctx *rc = h->rc;
	hand_task *q = &h->t[task->id];
	duckdb_connection con = rc->writer;
	pg2md_error werr;
	duckdb_result res;
	double t0 = now_seconds();
	bool ran = false;

	pg2md_error_init(&werr);
	/* every statement is checked against the cap (handoff_check_statements did it before reading) */
	if (!sql)
		pg2md_fail(&werr, PG2MD_ERR_NOMEM, "out of memory"); /* task_statement: the task fails as a statement would */
	else if (md_table_statement_check(sql, task->table->name, "its copy", &werr) == PG2MD_OK &&
		 duck_exec(con, "BEGIN TRANSACTION", "copying", &werr) == PG2MD_OK) {
		ran = duckdb_query(con, sql, &res) != DuckDBError;
		if (!ran) {
			pg2md_fail(&werr, PG2MD_ERR_RUN, "copying table \"%s\" failed: %s", task->table->name,
				   duckdb_result_error(&res));
			duck_error_hint(duckdb_result_error(&res), &werr);
		} else {
			task->inserted = (int64_t)duckdb_rows_changed(&res);
		}
		duckdb_destroy_result(&res);
	}
	/* the reader is done with the task before its outcome is decided */
	pthread_mutex_lock(&h->mu);
	if (!q->eof) {
		/* failed, or it needed no more rows (a transform's LIMIT): the reader stops */
		q->dropped = true;
		pthread_cond_broadcast(&h->cv);
	}
	while (!q->reader_done)
		pthread_cond_wait(&h->cv, &h->mu);
	bool read_failed = q->failed;
	pthread_mutex_unlock(&h->mu);

	bool committed = false;
	if (ran) {
		/* never read again once the COMMIT was tried (it may have committed: commit_settle) */
		task_commit(rc, task, con, &task->scan.err);
		committed = true;
	} else if (!read_failed) {
		pg2md_error_merge(&task->scan.err, &werr);
	}
	if (pg2md_failed(&task->scan.err) || !ran) {
		pg2md_error ignore;
		pg2md_error_init(&ignore);
		duck_exec(con, "ROLLBACK", "rolling back", &ignore);
	}
	bool ok = committed && !pg2md_failed(&task->scan.err);
	if (committed || !read_failed) {
		/* its outcome is final: a span for its reading and one for its writing */
		read_span(rc, task, ok);
		trace_span_add(rc->timeline, &(trace_span){TRACE_MAIN, "write", task->table->name, NULL, task->id,
							    task->page_lo, task->page_hi, t0, now_seconds(),
							    task->scan.rows, 0, task->scan.retries, ok});
		progress_task_done(rc->progress, task);
	}
	pthread_mutex_lock(&h->mu);
	q->writing = false;
	if (committed || !read_failed) {
		q->finished = true;
		q->ok = ok;
		queue_discard(h, q, task->worker);
		if (!ok)
			h->stop = true;
	}
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (ok)
		fault_point("extract:task_done");
}

pg2md_code
handoff_check_statements(run_ctx *rc, pg2md_error *err)
{
	bool *seen = xcalloc((size_t)(rc->ntables > 0 ? rc->ntables : 1), sizeof(bool));

	if (!seen)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	/* a table's tasks differ only in their task number: its first one stands for them */
	for (int i = 0; i < rc->ntasks; i++) {
		pg2md_task *task = &rc->tasks[i];
		if (seen[task->table_idx])
			continue;
		seen[task->table_idx] = true;
		char *sql = task_statement(rc, task);
		if (!sql) {
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			break;
		}
		pg2md_code result = md_table_statement_check(sql, task->table->name, "its copy", err);
		free(sql);
		if (result)
			break;
	}
	free(seen);
	return err->code;
}

void
handoff_run(run_ctx *rc, int nworkers, pg2md_error *errs)
{
	handoff h;
	reader *rs = xcalloc((size_t)nworkers, sizeof(reader));
	int started = 0;

	memset(&h, 0, sizeof(h));
	h.rc = rc;
	h.t = xcalloc((size_t)(rc->ntasks > 0 ? rc->ntasks : 1), sizeof(hand_task));
	h.held = xcalloc((size_t)nworkers, sizeof(int64_t));
	if (!rs || !h.t || !h.held) {
		pg2md_fail(&errs[0], PG2MD_ERR_NOMEM, "out of memory");
		free(h.held);
		free(h.t);
		free(rs);
		return;
	}
	h.budget = HAND_BYTES_TOTAL / nworkers > HAND_BYTES_MIN ? HAND_BYTES_TOTAL / nworkers : HAND_BYTES_MIN;
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	rc->reg.take = queue_take;
	rc->reg.take_arg = &h;
	h.readers = nworkers;
	for (int i = 0; i < nworkers; i++) {
		rs[i].id = i;
		rs[i].h = &h;
		rs[i].err = &errs[i];
		if (pthread_create(&rs[i].thread, NULL, reader_main, &rs[i]) != 0) {
			pg2md_fail(&errs[i], PG2MD_ERR_RUN, "could not start worker thread: %s", strerror(errno));
			pthread_mutex_lock(&h.mu);
			h.readers -= nworkers - i;
			h.stop = true;
			pthread_cond_broadcast(&h.cv);
			pthread_mutex_unlock(&h.mu);
			break;
		}
		started++;
	}
	pg2md_task *task;
	while ((task = writer_next(&h)) != NULL) {
		char *sql = task_statement(rc, task);
		write_task(&h, task, sql);
		free(sql);
	}
	for (int i = 0; i < started; i++)
		pthread_join(rs[i].thread, NULL);
	pthread_mutex_lock(&rc->lock);
	if (h.stop)
		rc->failed = 1;
	pthread_mutex_unlock(&rc->lock);
	for (int i = 0; i < rc->ntasks; i++)
		queue_discard(&h, &h.t[i], -1);
	rc->reg.take = NULL;
	rc->reg.take_arg = NULL;
	pthread_cond_destroy(&h.cv);
	pthread_mutex_destroy(&h.mu);
	free(h.held);
	free(h.t);
	free(rs);
}

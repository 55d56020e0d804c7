/*
 * progress.c — the progress thread of an extraction: a snapshot for the
 * caller's progress callback, throughput samples for the trace, and
 * status.json for other processes (see progress.h).  It draws nothing: the
 * command line's display is src/cli/progress_view.c.
 *
 * DESIGN.  The workers never wait for the reporter: the scan adds to its
 * task's rows and bytes with relaxed atomic adds, a worker marks a task done
 * with one atomic store (progress_task_done), and which tasks have started is
 * read from the run's hand-out counter under the run's own lock once a tick.
 * Everything else (per-table first-seen times, the smoothed rate, the lines
 * drawn) belongs to the reporter thread alone.  The thread sleeps on a
 * condition variable, so progress_stop() wakes it at once.
 */
#include "stage/progress.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg2md.h"
#include "stage/package.h"
#include "stage/trace.h"
#include "util/buf.h"
#include "util/humanize.h"

#define TICK_MS 250     /* a throughput sample for the trace every tick */
#define SINK_EVERY 4    /* ticks between calls of the progress callback (1 s) */
#define STATUS_EVERY 8  /* ticks between status.json writes (2 s) */

static pg2md_progress_fn sink;
static void *sink_arg;

void
progress_set_sink(pg2md_progress_fn fn, void *arg)
{
	sink = fn;
	sink_arg = arg;
}

typedef struct table_view {
	int64_t rows, bytes;
	int ntasks, started, done;
	double first_seen; /* monotonic time the reporter first saw one of its tasks started; 0 = not yet */
	double finished;   /* monotonic time it first saw every task done */
} table_view;

struct pg2md_progress {
	progress_run run;
	pg2md_progress_fn sink;  /* the callback when the run started, and its argument */
	void *sink_arg;
	pg2md_progress_table *running; /* the callback's view of the running tables */
	int *done;               /* per task: 1 once finished (atomic) */
	table_view *tv;          /* per table, reporter thread only */
	char *status_path;
	char started_at[32];     /* wall clock, ISO 8601 UTC */
	double t0;               /* monotonic */
	double last_t;
	int64_t last_rows;
	double rate;             /* rows/s, smoothed over a few seconds */

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
};

typedef struct totals {
	int tables_done, tables_running;
	int64_t rows, bytes;
	double est_left;         /* rows still expected (from the catalog's estimates), < 0 unknown */
} totals;

static void
iso_now(char *out, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Read the counters and refresh the per-table view. */
static void
snapshot(pg2md_progress *p, double now, totals *t)
{
	const progress_run *r = &p->run;
	int started;
	bool known = true;

	pthread_mutex_lock(r->lock);
	started = *r->next_task;
	pthread_mutex_unlock(r->lock);

	for (int i = 0; i < r->ntables; i++) {
		p->tv[i].rows = p->tv[i].bytes = 0;
		p->tv[i].started = p->tv[i].done = 0;
	}
	for (int k = 0; k < r->ntasks; k++) {
		const pg2md_task *task = &r->tasks[k];
		table_view *v;
		if (task->table_idx < 0 || task->table_idx >= r->ntables)
			continue;
		v = &p->tv[task->table_idx];
		v->rows += __atomic_load_n(&task->scan.rows, __ATOMIC_RELAXED);
		v->bytes += __atomic_load_n(&task->scan.bytes, __ATOMIC_RELAXED);
		if (k < started)
			v->started++;
		if (__atomic_load_n(&p->done[k], __ATOMIC_ACQUIRE))
			v->done++;
	}
	memset(t, 0, sizeof(*t));
	t->est_left = 0;
	for (int i = 0; i < r->ntables; i++) {
		table_view *v = &p->tv[i];
		double est = r->tables[i].est_rows;
		t->rows += v->rows;
		t->bytes += v->bytes;
		if (v->done >= v->ntasks) {
			t->tables_done++;
			if (v->finished == 0)
				v->finished = now;
			continue;
		}
		if (v->started > 0) {
			t->tables_running++;
			if (v->first_seen == 0)
				v->first_seen = now;
		}
		if (est > 0)
			t->est_left += est > (double)v->rows ? est - (double)v->rows : 0;
		else
			known = false;
	}
	if (!known)
		t->est_left = -1;

	/* the rate: an exponential average over about five seconds */
	if (now > p->last_t) {
		double inst = (double)(t->rows - p->last_rows) / (now - p->last_t);
		if (inst < 0)
			inst = 0; /* a retried task starts its rows again from 0 */
		double a = 1.0 - exp(-(now - p->last_t) / 5.0);
		p->rate = p->last_rows == 0 && p->rate == 0 ? inst : p->rate + a * (inst - p->rate);
		p->last_t = now;
		p->last_rows = t->rows;
	}
}

static double
table_rate(const table_view *v, double now)
{
	double end = v->finished > 0 ? v->finished : now;
	return v->first_seen > 0 && end > v->first_seen ? (double)v->rows / (end - v->first_seen) : 0;
}

/* Hand the callback what a display shows (final: the extraction ended). */
static void
report(pg2md_progress *p, double now, const totals *t, bool final)
{
	const progress_run *r = &p->run;
	int n = 0;
	if (!p->sink)
		return;
	for (int i = 0; i < r->ntables; i++) {
		const table_view *v = &p->tv[i];
		if (v->started == 0 || v->done >= v->ntasks)
			continue;
		p->running[n++] = (pg2md_progress_table){r->tables[i].name, v->rows, v->bytes,
							 r->tables[i].est_rows > 0 ? r->tables[i].est_rows : -1,
							 table_rate(v, now)};
	}
	pg2md_progress_info info = {final, now - p->t0, r->ntables, t->tables_done, t->tables_running, t->rows,
				    t->bytes, p->rate, t->est_left >= 0 && p->rate > 0 ? t->est_left / p->rate : -1, n,
				    p->running};
	p->sink(p->sink_arg, &info);
}

static void
write_status(pg2md_progress *p, const char *stage, double now, const totals *t)
{
	const progress_run *r = &p->run;
	json_t *doc = json_object(), *running = json_array();
	char ts[32];
	pg2md_error ignore;

	iso_now(ts, sizeof(ts));
	for (int i = 0; i < r->ntables; i++)
		if (p->tv[i].started > 0 && p->tv[i].done < p->tv[i].ntasks)
			json_array_append_new(running, json_string(r->tables[i].name));
	json_object_set_new(doc, "pid", json_integer((json_int_t)getpid()));
	json_object_set_new(doc, "pipeline_name", json_string(r->cfg->pipeline_name));
	json_object_set_new(doc, "load_id", r->load_id ? json_string(r->load_id) : json_null());
	json_object_set_new(doc, "stage", json_string(stage));
	json_object_set_new(doc, "started_at", json_string(p->started_at));
	json_object_set_new(doc, "updated_at", json_string(ts));
	json_object_set_new(doc, "elapsed_seconds", json_real(now - p->t0));
	json_object_set_new(doc, "tables_done", json_integer(t->tables_done));
	json_object_set_new(doc, "tables_total", json_integer(r->ntables));
	json_object_set_new(doc, "running_tables", running);
	json_object_set_new(doc, "rows", json_integer(t->rows));
	json_object_set_new(doc, "bytes", json_integer(t->bytes));
	json_object_set_new(doc, "rows_per_second", json_real(p->rate));
	json_object_set_new(doc, "eta_seconds",
			    t->est_left >= 0 && p->rate > 0 && strcmp(stage, "extract") == 0 ? json_real(t->est_left / p->rate)
											       : json_null());
	pg2md_error_init(&ignore);
	json_write_atomic(p->status_path, doc, &ignore); /* best effort: the run never fails for it */
	json_decref(doc);
}

static void *
progress_main(void *arg)
{
	pg2md_progress *p = arg;
	int tick = 0;

	pthread_mutex_lock(&p->mu);
	while (!p->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!p->stopping && pthread_cond_timedwait(&p->cv, &p->mu, &until) != ETIMEDOUT)
			;
		if (p->stopping)
			break;
		pthread_mutex_unlock(&p->mu);

		totals t;
		double now = now_seconds();
		tick++;
		snapshot(p, now, &t);
		trace_sample_add(p->run.timeline, now, t.rows, t.bytes, false);
		if (tick % SINK_EVERY == 0)
			report(p, now, &t, false);
		if (tick % STATUS_EVERY == 0)
			write_status(p, "extract", now, &t);

		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

pg2md_progress *
progress_start(const progress_run *run)
{
	pg2md_progress *p = xcalloc(1, sizeof(*p));
	totals t;

	if (!p)
		return NULL; /* memory ran out: no reports (the run stops at its next check) */
	p->run = *run;
	p->sink = sink;
	p->sink_arg = sink_arg;
	p->running = xcalloc((size_t)run->ntables + 1, sizeof(pg2md_progress_table));
	p->done = xcalloc((size_t)run->ntasks + 1, sizeof(int));
	p->tv = xcalloc((size_t)run->ntables + 1, sizeof(table_view));
	p->status_path = progress_status_path(run->cfg);
	if (!p->running || !p->done || !p->tv || !p->status_path) {
		free(p->done);
		free(p->tv);
		free(p->running);
		free(p->status_path);
		free(p);
		return NULL;
	}
	for (int k = 0; k < run->ntasks; k++)
		if (run->tasks[k].table_idx >= 0 && run->tasks[k].table_idx < run->ntables)
			p->tv[run->tasks[k].table_idx].ntasks++;
	iso_now(p->started_at, sizeof(p->started_at));
	p->t0 = p->last_t = now_seconds();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);

	/* The status file exists from the first moment, not only after the first tick. */
	snapshot(p, p->t0, &t);
	write_status(p, "extract", p->t0, &t);
	trace_sample_add(run->timeline, p->t0, t.rows, t.bytes, true);

	if (pthread_create(&p->thread, NULL, progress_main, p) != 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		free(p->done);
		free(p->tv);
		free(p->running);
		free(p->status_path);
		free(p);
		return NULL;
	}
	return p;
}

void
progress_task_done(pg2md_progress *p, const pg2md_task *task)
{
	long k;
	if (!p || !task)
		return;
	k = task - p->run.tasks;
	if (k >= 0 && k < p->run.ntasks)
		__atomic_store_n(&p->done[k], 1, __ATOMIC_RELEASE);
}

void
progress_stop(pg2md_progress *p)
{
	totals t;
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);

	snapshot(p, now_seconds(), &t);
	report(p, now_seconds(), &t, true);
	write_status(p, "extracted", now_seconds(), &t);
	trace_sample_add(p->run.timeline, now_seconds(), t.rows, t.bytes, true);

	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->done);
	free(p->tv);
	free(p->running);
	free(p->status_path);
	free(p);
}

/* ---- status.json, for the command-line tool ---------------------------------------- */

char *
progress_status_path(const pg2md_config *cfg)
{
	return xasprintf("%s/%s/status.json", cfg->pipelines_dir, cfg->pipeline_name);
}

static bool
pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

json_t *
progress_status_running(const pg2md_config *cfg)
{
	char *path = progress_status_path(cfg);
	json_t *doc = path ? json_load_file(path, 0, NULL) : NULL;
	long pid;

	free(path);
	if (!doc)
		return NULL;
	pid = (long)json_integer_value(json_object_get(doc, "pid"));
	if (pid == (long)getpid() || !pid_alive(pid)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

void
progress_status_remove(const pg2md_config *cfg)
{
	char *path = progress_status_path(cfg);
	json_t *doc = path ? json_load_file(path, 0, NULL) : NULL;
	if (doc && json_integer_value(json_object_get(doc, "pid")) == (json_int_t)getpid())
		unlink(path);
	json_decref(doc);
	free(path);
}

/*
 * progress.h — what a running extraction reports while it runs: a snapshot
 * for the caller's progress callback, and a status file other processes read.
 *
 * progress_start() is called once the tasks are planned and before the
 * workers start; it starts one thread that wakes every 250 ms, reads the
 * tasks' counters (the scan adds to task->scan.rows and task->scan.bytes with relaxed
 * atomics; this side reads them with atomic loads, so no lock is taken on the
 * data path) and
 *   - records the totals as a throughput sample of the run's timeline;
 *   - every second calls the progress callback (progress_set_sink; pg2md.h's
 *     pg2md_progress_info: totals, rate, ETA from the catalog's row
 *     estimates, the running tables), and once more with final set when the
 *     extraction ends; the library draws nothing (the command line's display
 *     is src/cli/progress_view.c);
 *   - writes <pipelines_dir>/<pipeline_name>/status.json atomically (temp file
 *     and rename) every 2 s: pid, stage, started_at, tables done/total, rows,
 *     bytes, rows/s.
 * progress_stop() joins the thread and leaves status.json saying "extracted"
 * (the run goes on normalizing and loading); the caller removes the file when
 * the run ends (progress_status_remove).
 */
#ifndef PG2MD_PROGRESS_H
#define PG2MD_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include "config/config.h"
#include "pg2md.h"
#include "schema/table.h"
#include "stage/task.h"

typedef struct pg2md_progress pg2md_progress;

/* The callback (pg2md.h) of the runs that start from now on (NULL: none); process-wide, as logging is. */
void progress_set_sink(pg2md_progress_fn fn, void *arg);

/* What the progress thread watches; everything must outlive progress_stop(). */
typedef struct progress_run {
	const pg2md_config *cfg;
	const pg2md_task *tasks;   /* rows/bytes read atomically, nothing else */
	int ntasks;
	const pg2md_table *tables; /* name, est_rows: fixed before the workers start */
	int ntables;
	pthread_mutex_t *lock;     /* guards *next_task */
	const int *next_task;      /* tasks handed out so far (they are handed out in order) */
	const char *load_id;
	struct pg2md_timeline *timeline; /* gets a throughput sample every tick (trace.h); may be NULL */
} progress_run;

/* Start reporting; returns NULL when the thread could not start or memory ran out (the run goes
 * on without it). */
pg2md_progress *progress_start(const progress_run *run);

/* A worker finished a task (successfully or not).  Thread-safe; p may be NULL. */
void progress_task_done(pg2md_progress *p, const pg2md_task *task);

/* Stop the thread, clear the live display, mark status.json "extracted", free p (may be NULL). */
void progress_stop(pg2md_progress *p);

/* <pipelines_dir>/<pipeline_name>/status.json (caller frees). */
char *progress_status_path(const pg2md_config *cfg);

/*
 * The status file of a run that is still going: NULL when there is none, or
 * when the process that wrote it is gone (a crashed run) or is this process.
 */
json_t *progress_status_running(const pg2md_config *cfg);

/* Remove status.json if this process wrote it (another run's file is left alone). */
void progress_status_remove(const pg2md_config *cfg);

#endif

/*
 * progress.h — what a running extraction reports while it runs: a live
 * display or log lines on stderr, and a status file other processes read.
 *
 * progress_start() is called once the tasks are planned and before the
 * workers start; it starts one thread that wakes every 250 ms, reads the
 * tasks' counters (the scan adds to task->rows and task->bytes with relaxed
 * atomics; this side reads them with atomic loads, so no lock is taken on the
 * data path) and
 *   - records the totals as a throughput sample of the run's timeline;
 *   - mode "tty": every second, redraws a few lines in place (ANSI cursor movement): each
 *     running table's rows, bytes, rows/s and an ETA from the catalog's row
 *     estimate, then the totals;
 *   - mode "log": every 5 s one line, "pg2md: progress: 3/24 tables done, …";
 *   - mode "none": prints nothing;
 * and in every mode writes <pipelines_dir>/<pipeline_name>/status.json
 * atomically (temp file and rename) every 2 s: pid, stage, started_at,
 * tables done/total, rows, bytes, rows/s.  progress_stop() joins the thread,
 * clears the display and leaves status.json saying "extracted" (the run goes
 * on normalizing and loading); the command-line tool removes the file when
 * the process ends (progress_status_remove).
 *
 * The mode comes from cfg->progress (--progress); unset, it is "tty" when
 * stderr is a terminal and "log" otherwise.
 */
#ifndef PG2MD_PROGRESS_H
#define PG2MD_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include "config/config.h"
#include "source/catalog.h"
#include "stage/task.h"

typedef struct pg2md_progress pg2md_progress;

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

/* Start reporting; returns NULL when the thread could not start (the run goes on without it). */
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

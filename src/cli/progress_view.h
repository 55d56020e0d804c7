/*
 * progress_view.h — the command line's display of a running extraction, drawn from the
 * library's progress callback (pg2md.h, pg2md_progress_info):
 *   "tty"  a few lines redrawn in place every second (ANSI cursor movement): each running
 *          table's rows, bytes, rows/s and ETA, then the totals; cleared when extraction ends;
 *   "log"  every 5 s one line, "pg2md: progress: 3/24 tables done, …" (a JSON line when
 *          [runtime] log_format is JSON);
 *   "none" nothing.
 * NULL mode: "tty" when stderr is a terminal (and TERM is not dumb), else "log".
 */
#ifndef PG2MD_CLI_PROGRESS_VIEW_H
#define PG2MD_CLI_PROGRESS_VIEW_H

#include <stdbool.h>

#include "pg2md.h"

typedef struct progress_view progress_view;

/* Start drawing the runs of p (its progress callback); NULL when mode is "none". */
progress_view *progress_view_start(pg2md_pipeline *p, const char *mode, bool json_log);

/* Stop drawing and free v (may be NULL). */
void progress_view_end(pg2md_pipeline *p, progress_view *v);

#endif

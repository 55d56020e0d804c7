/*
 * interrupt.h — a reason for the running stages to stop: a cancel request (SIGINT, SIGTERM;
 * pg2md_cancel), or memory having run out (util/mem.h).
 *
 * The command-line tool's signal handler calls interrupt_request(), which is
 * async-signal-safe (it sets a flag).  The COPY scans check the flag once per
 * chunk and stop their COPY with PQcancel; the loader checks it between
 * statements.  Whatever was not committed stays for the next run.
 */
#ifndef PG2MD_INTERRUPT_H
#define PG2MD_INTERRUPT_H

#include <stdbool.h>

#include "util/error.h"

void interrupt_request(void);
bool interrupt_requested(void);

/* A configuration reload asked for (SIGHUP; pg2md_follow_reload): async-signal-safe, as
 * interrupt_request.  reload_take says whether one was asked for since the last call, and clears it. */
void reload_request(void);
bool reload_take(void);

/* Why to stop: PG2MD_ERR_INTERRUPTED, PG2MD_ERR_NOMEM, or PG2MD_OK (go on). */
pg2md_code interrupt_reason(void);
/* The reason for a message: "interrupted" or "out of memory" ("%s while reading table \"t\""). */
const char *interrupt_what(void);

#endif

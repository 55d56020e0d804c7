/*
 * interrupt.h — a cancel request (SIGINT, SIGTERM) seen by the running stages.
 *
 * The command-line tool's signal handler calls interrupt_request(), which is
 * async-signal-safe (it sets a flag).  The COPY scans check the flag once per
 * chunk and stop their COPY with PQcancel; the loader checks it between
 * statements.  Whatever was not committed stays for the next run.
 */
#ifndef PG2MD_INTERRUPT_H
#define PG2MD_INTERRUPT_H

#include <stdbool.h>

void interrupt_request(void);
bool interrupt_requested(void);

#endif

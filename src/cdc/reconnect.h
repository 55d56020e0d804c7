/*
 * reconnect.h — when pg2md follow reconnects after losing its replication connection, and how
 * long it waits (docs/cdc.md, "Lost connections").
 *
 * A connection lost mid-stream (the walsender terminated, the server restarting, the network) is
 * worth another try: follow opens a new replication connection and streams again from the
 * destination's watermark, which is exactly once as a restart is (follow.c).  Anything else — a
 * slot that is gone or invalidated, a change follow cannot apply, DuckDB failing — stops follow
 * as before: retrying would fail the same way.
 */
#ifndef PG2MD_CDC_RECONNECT_H
#define PG2MD_CDC_RECONNECT_H

#include <stdbool.h>

#include "util/error.h"

#define CDC_RECONNECT_ATTEMPTS 10    /* in a row; a stream that ran long enough starts the count again */
#define CDC_RECONNECT_MAX_S 30       /* the longest wait between two attempts */
#define CDC_RECONNECT_STABLE_MS 60000 /* a stream up this long resets the count */

/*
 * Whether err is worth another attempt.  By SQLSTATE when the server gave one: class 08
 * (connection exceptions) and 57P01 / 57P02 / 57P03 (administrator shutdown, crash shutdown,
 * cannot connect now); while reconnecting also 55006 (the slot is still held by the walsender
 * that was terminated, until it exits) and 53300 (too many connections: its WAL sender place, the
 * same).  Without one: lost (the replication connection is gone or the server ended the stream),
 * or, while reconnecting, a connection that could not be made.  Never usage errors or memory.
 */
bool cdc_retryable(const pg2md_error *err, bool lost, bool reconnecting);

/* Seconds to wait before attempt n (1, 2, …): 1, 2, 4, … capped at CDC_RECONNECT_MAX_S. */
int cdc_backoff_seconds(int attempt);

/* Wait that long; false when SIGINT / SIGTERM asked to stop meanwhile (checked every 100 ms). */
bool cdc_backoff_wait(int attempt);

#endif

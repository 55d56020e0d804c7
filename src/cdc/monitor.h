/*
 * monitor.h — what pg2md follow does for the source's sake and for its watchers while it streams
 * (docs/cdc.md, "Monitoring"):
 *   - a heartbeat: on an idle database, pg_logical_emit_message every heartbeat_interval
 *     seconds, so the server's keepalives report a newer WAL position and the slot advances
 *     (follow.c confirms it only when nothing is in flight: see advance_idle);
 *   - the slot's status on the source (lag, wal_status, safe_wal_size), with a warning past
 *     lag_warning_mb or when the server is about to remove or removed WAL the slot needs;
 *   - the Prometheus metrics file of [runtime] metrics_file, rewritten atomically at most every
 *     CDC_METRICS_MS while following and once at the end.
 * All of it on one plain (not replication) connection to the source, opened when first needed.
 * Nothing here fails follow: a heartbeat or a metrics file that cannot be written is a warning.
 */
#ifndef PG2MD_CDC_MONITOR_H
#define PG2MD_CDC_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "cdc/admin.h"
#include "cdc/follow.h"
#include "cdc/freshness.h"
#include "config/config.h"

#define CDC_METRICS_MS 5000      /* the metrics file at most this often */
#define CDC_SLOT_CHECK_MS 60000  /* the slot's status for the warning when no metrics file is written */

typedef struct cdc_monitor {
	const pg2md_config *cfg;
	struct pg_conn *conn;      /* a plain connection to the source */
	bool heartbeat;            /* this run emits heartbeats (not --once / --endpos) */
	int64_t next_heartbeat, next_slot, next_metrics; /* monotonic ms */
	int64_t heartbeats;        /* emitted */
	int64_t reconnects;        /* of the replication connection (follow.c counts) */
	bool have_status, warned, failing;
	cdc_slot_status status;    /* as last read */
} cdc_monitor;

void cdc_monitor_init(cdc_monitor *m, const pg2md_config *cfg, bool heartbeat);

/*
 * Do what is due: the heartbeat when idle (between transactions, nothing waiting to be applied),
 * the slot's status and the metrics file with the run's figures so far and the watermark; force:
 * the status and the file now (at the end, after a reconnect).
 */
void cdc_monitor_tick(cdc_monitor *m, const cdc_follow_report *rep, const cdc_freshness *fresh, pgo_lsn watermark,
		      bool idle, bool force);

/* Forget the connection (the server may have restarted): the next tick opens a new one. */
void cdc_monitor_disconnect(cdc_monitor *m);
void cdc_monitor_release(cdc_monitor *m);

#endif

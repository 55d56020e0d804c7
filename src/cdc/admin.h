/*
 * admin.h — what `pg2md drop --replication` does: remove what pg2md follow left on the source
 * (its replication slot, and its publication when follow created it) and its watermark in the
 * destination (docs/cdc.md, "Retiring a pipeline").
 */
#ifndef PG2MD_CDC_ADMIN_H
#define PG2MD_CDC_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "stage/drop.h"
#include "util/error.h"

/* The comment pg2md follow puts on a publication it creates; drop removes only those. */
#define CDC_PUB_COMMENT_PREFIX "created by pg2md follow"

/*
 * Look up the slot and publication of [sources.pg_replication] on the source and the slot's
 * watermark in the destination, ask confirm, then drop the slot (refused while a process
 * streams from it), the publication when its comment says pg2md follow created it (else it is
 * kept and r->publication_kept set), and the watermark.  r says what was done, also on failure.
 */
pg2md_code cdc_drop_replication(const pg2md_config *cfg, drop_confirm_fn confirm, void *arg, drop_result *r,
				pg2md_error *err);

struct pg_conn; /* libpq's PGconn */

/* The slot of [sources.pg_replication] as the source sees it (pg_replication_slots). */
typedef struct cdc_slot_status {
	char slot[64];
	bool found, active;
	char wal_status[16];        /* reserved, extended, unreserved, lost */
	int64_t safe_wal_size;      /* bytes the slot may still fall behind; -1: unlimited */
	char confirmed_flush[32];   /* what pg2md follow confirmed, as an LSN's text */
	int64_t lag_bytes;          /* the server's WAL position minus confirmed_flush; -1 unknown */
	bool warn;                  /* past lag_warning_mb, or wal_status unreserved / lost */
} cdc_slot_status;

/* Connect to the source and read the slot's status. */
pg2md_code cdc_slot_status_read(const pg2md_config *cfg, cdc_slot_status *out, pg2md_error *err);
/* The same on an open connection (pg2md follow's monitor, cdc/monitor.c). */
pg2md_code cdc_slot_status_query(struct pg_conn *conn, const pg2md_config *cfg, cdc_slot_status *out,
				 pg2md_error *err);

#endif

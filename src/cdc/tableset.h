/*
 * tableset.h — which tables a slot's stream applies, and from which position on
 * (docs/cdc.md, "Adding and removing tables").
 *
 * The destination keeps, beside the watermark, one row per followed table in
 * "<dataset>"."_pg2md_cdc_tables" (slot_name, table_name, copy_lsn, copy_lsn_text, copied_at):
 * the position of the snapshot the table was copied in.  The stream applies a change of a table
 * only when its transaction's commit starts at or after that position (the same rule as the
 * slot's watermark: the snapshot holds every transaction that committed before it).  At each
 * start, the configured tables are compared with those rows:
 *   - a table without a row is added: to the publication (follow.c), then copied in the
 *     exported snapshot of a temporary slot, then its row recorded at that slot's consistent
 *     point.  A crash before the row leaves none: the next start copies it again.
 *   - a row without a configured table is removed: the table leaves the publication when
 *     pg2md created the publication, then the row goes.  The mirror table stays.
 */
#ifndef PG2MD_CDC_TABLESET_H
#define PG2MD_CDC_TABLESET_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "cdc/pgoutput.h"
#include "cdc/stream.h"
#include "config/config.h"
#include "dest/duck.h"
#include "schema/table.h"
#include "util/error.h"

typedef struct cdc_joined {
	char *name;       /* the source table's name */
	pgo_lsn copy_lsn; /* changes committed from here on are applied (0: every one the slot sends) */
} cdc_joined;

typedef struct cdc_tableset {
	cdc_joined *items;
	int n;
} cdc_tableset;

/* The slot's rows; none (n = 0) when the table or the rows are not there. */
pg2md_code cdc_tableset_read(pg2md_dest *d, const pg2md_config *cfg, const char *slot, cdc_tableset *out,
			     pg2md_error *err);
void cdc_tableset_release(cdc_tableset *ts);

/* Record tables[0..n) as copied at lsn, in one transaction; replace_all: the slot's other rows go. */
pg2md_code cdc_tableset_record(pg2md_dest *d, const pg2md_config *cfg, const char *slot, const pg2md_table *tables,
			       int n, pgo_lsn lsn, bool replace_all, pg2md_error *err);

/* Remove every row of the slot (pg2md drop --replication). */
pg2md_code cdc_tableset_clear(pg2md_dest *d, const pg2md_config *cfg, const char *slot, pg2md_error *err);

/* A replication connection with the source's credentials. */
cdc_stream *cdc_open_stream(const pg2md_config *cfg, pg2md_error *err);

/* Copy tables[0..n) (all configured ones when tables is NULL) with the ordinary run, every
 * connection inside snapshot.  cfg is changed while it runs, and restored. */
pg2md_code cdc_copy_tables(pg2md_config *cfg, const char *snapshot, const pg2md_table *tables, int n,
			   pg2md_error *err);

/*
 * At a start that found the slot's watermark: the configured tables compared with the rows (a
 * destination from before those rows gets one per configured table, at 0), removed ones dropped,
 * added ones copied (see above).  conn is a plain connection to the source.  copy_lsn[i] is set for
 * tables[i].  *d is closed during a copy and opened again (*dest_open says whether it is open).
 */
typedef struct cdc_sync {
	pg2md_config *cfg;
	pg2md_dest *dest;
	bool *dest_open;
	PGconn *conn;
	const char *slot, *pub;
	const pg2md_table *tables;
	int ntables;
	pgo_lsn *copy_lsn;
	int added, removed; /* out */
} cdc_sync;
pg2md_code cdc_tableset_sync(cdc_sync *s, pg2md_error *err);

#endif

/*
 * filter.h — a run's per-table settings in pg2md follow: the `where` row filter, as a row
 * filter of pg2md's publication (PostgreSQL 15+), and the publication's fitness for the
 * configured tables (row filters, partitioned tables published via their root).
 *
 * Why the server filters: PostgreSQL 15 evaluates a publication's row filter on the old and the
 * new row of every change and turns an UPDATE that leaves the filter into a DELETE, one that
 * enters it into an INSERT: exactly what the mirror of a filtered run needs, evaluated by
 * PostgreSQL itself (the `where` is PostgreSQL SQL) on the row as it was at that change.
 * PostgreSQL then refuses UPDATE and DELETE on the table at the source unless the replica
 * identity covers the filter's columns, so cdc_filter_check refuses such a filter before the
 * publication gets it (the source's writes must never fail because of pg2md).
 */
#ifndef PG2MD_CDC_FILTER_H
#define PG2MD_CDC_FILTER_H

#include <libpq-fe.h>

#include "config/config.h"
#include "schema/table.h"
#include "util/buf.h"
#include "util/error.h"

/* What follows table t's name in pg2md's CREATE / ALTER PUBLICATION: " WHERE (<where>)" when
 * the table has a `where`, else nothing. */
void cdc_pub_table_clause(pg2md_buf *b, const pg2md_config *cfg, const pg2md_table *t);

/*
 * Before the publication is created or extended: every table's `where` can be a row filter of
 * it (PostgreSQL 15+, an expression a row filter may hold, the replica identity of the table and
 * of each of its partitions covering the filter's columns), and the publication, if it exists,
 * holds each table with the row filter its `where` asks for (none without one) and publishes
 * partitioned tables via their root.  PG2MD_ERR_USAGE with the reason and the fix otherwise.
 */
pg2md_code cdc_filter_check(PGconn *conn, const pg2md_config *cfg, const char *pub, const pg2md_table *tables, int n,
			    pg2md_error *err);

#endif

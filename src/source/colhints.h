/*
 * colhints.h — dlt's column hints that change a column, applied to a
 * reflected table (issue "transformations"):
 *
 *   [sources.sql_database.store_sales.columns.ss_net_paid]
 *   name = "net_paid"            # the destination name (the naming convention applies to it)
 *   data_type = "double"         # dlt's type names: text, double, bool, timestamp, date, time,
 *                                # bigint, binary, json (complex), decimal, wei
 *   precision = 12               # decimal: (precision, scale); bigint: bits (16, 32, 64)
 *   scale = 2
 *   nullable = false
 *
 * A type override is a cast PostgreSQL computes in the COPY's SELECT (so a
 * value that does not convert fails the run with PostgreSQL's message naming
 * the value), except numeric to double, which the decoder converts with
 * correct rounding.  The column is then decoded as the cast's type, exactly
 * as a column of that type would be.  The source column keeps its name and
 * type for everything that runs at the source: where, the incremental cursor.
 */
#ifndef PG2MD_COLHINTS_H
#define PG2MD_COLHINTS_H

#include <libpq-fe.h>

#include "config/config.h"
#include "source/catalog.h"
#include "util/error.h"

/*
 * Apply t's column hints (renames, type overrides, nullability), then check
 * that no two columns share a destination name.  An unknown column, a bad
 * precision or scale, a colliding name, or a cast PostgreSQL refuses for the
 * column's type is PG2MD_ERR_USAGE naming the file and line of the hint.
 */
pg2md_code colhints_apply(PGconn *conn, const pg2md_config *cfg, pg2md_table *t, pg2md_error *err);

/* After a failed read of t: a hint listing its type overrides, when it has any and err no hint yet. */
void colhints_failure_hint(const pg2md_config *cfg, const pg2md_table *t, pg2md_error *err);

#endif

/*
 * query.h — tables defined by a replacement query (issue "transformations"):
 *
 *   [sources.sql_database.sales_by_item]
 *   query = "SELECT ss.ss_item_sk, i.i_brand, ss.ss_net_paid FROM my_pg.store_sales ss JOIN my_pg.item i ON …"
 *
 * The section's name is the destination table; its columns and types are the
 * query's output, learned by describing the query (PQprepare and
 * PQdescribePrepared: nothing is executed) inside the run's snapshot, and each
 * gets its decoder as a table column does (catalog.h).  The rows are read as
 * ONE task, `COPY (SELECT cols FROM (<query>) AS "q" [WHERE filter]) TO STDOUT
 * (FORMAT binary)`: a query has no pages to cut into ctid ranges.  The
 * source's where filter and the incremental cursor apply to the query's
 * output columns through that wrapper.
 */
#ifndef PG2MD_QUERY_H
#define PG2MD_QUERY_H

#include <libpq-fe.h>

#include "config/config.h"
#include "source/catalog.h"
#include "util/error.h"

/*
 * Describe t's query (t->name set, relkind 'q', the query from t's section):
 * fills t->query, columns (included/excluded_columns applied, every column
 * nullable, no primary key) and its one leaf.  A query that is not one
 * SELECT-like statement, or that PostgreSQL cannot prepare, is an error with
 * PG2MD_ERR_USAGE naming the table and showing PostgreSQL's message.  Inside a
 * transaction the describing runs under a savepoint, so a failure leaves the
 * transaction usable.
 */
pg2md_code query_describe(PGconn *conn, const pg2md_config *cfg, pg2md_table *t, pg2md_error *err);

/* The query of a section without trailing blanks and semicolons (a new string). */
char *query_trimmed(const char *query);

#endif

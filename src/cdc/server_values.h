/*
 * server_values.h — the values pg2md follow cannot decode itself, rendered by the source.
 *
 * A run reads some columns through the server: the types pg2md has no binary decoder for
 * (ranges, inet, money, geometric types, PostGIS …) through their type's output function, and
 * columns with a data_type override through the override's expression (stage/plan.h's
 * plan_column).  pgoutput sends their binary form, which pg2md cannot turn into what the run
 * writes.  So before a batch is applied, the values of those columns go back to the server as
 * binary parameters of their own type, and the server computes the run's expression over them:
 * its binary result is what the run's COPY would have carried, decoded by the same decoders.
 * The conversion runs on a plain connection with the run's session settings (pg_connect), one
 * statement per 2,048 rows of a table that has such columns; the other tables cost nothing.
 * Protocol 1 sends text values: a table with a column DuckDB cannot read from text has its
 * rows' texts sent the same way, and every column comes back as the run's COPY carries it.
 */
#ifndef PG2MD_CDC_SERVER_VALUES_H
#define PG2MD_CDC_SERVER_VALUES_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "cdc/fold.h"
#include "schema/table.h"
#include "util/error.h"

/* Does column c need the server (read as text, or a data_type override)? */
bool cdc_server_column(const pg2md_column *c);

/*
 * Can column c be read from protocol 1's text by DuckDB's casts (apply.c's text stage)?  The
 * others (arrays, composites, interval, timetz, the types a run reads as text, data_type
 * overrides) go through the server.
 */
bool cdc_text_native(const pg2md_column *c);

/* Does any followed table need the server, with binary values (a column above) or text values
 * (text: a column not cdc_text_native)?  Follow then opens the plain connection. */
bool cdc_server_needed(const pg2md_table *tables, int ntables, bool text);

/*
 * Replace, in the batch f, every binary value of such a column by the server's rendering of it
 * (in the fold's memory).  With protocol 1's text values, a table with a column that is not
 * cdc_text_native has every value of its rows rendered, the run's COPY expression of each column
 * computed over the text read by the type's input function, in binary: its batch is then
 * decoded by a run's decoders, as a binary one.  NULL and unchanged-TOAST values stay as they
 * are (and are not sent).
 */
pg2md_code cdc_server_values(PGconn *conn, const pg2md_table *tables, int ntables, const cdc_relcache *rc,
			     cdc_fold *f, pg2md_error *err);

#endif

/*
 * catalog.h — what pg2md learns about the source tables before copying them, from
 * PostgreSQL's catalog, into the table model (schema/table.h): columns, their types and how
 * each is decoded, nullability, primary key, size, and for partitioned tables the leaves that
 * hold the rows.
 *
 * Each column's decoder is chosen here, once, from the catalog; the COPY
 * reader never looks at a type again (see xfer/copydec.h).
 */
#ifndef PG2MD_CATALOG_H
#define PG2MD_CATALOG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "schema/table.h"
#include "util/buf.h"
#include "util/error.h"

/*
 * The names of the tables to copy: the configured list, or with none every table of cfg->schema
 * (with include_views its views too; partitions only through their parents), by name.  A schema
 * with nothing to copy is an error (PG2MD_ERR_USAGE).  Free with catalog_names_free.
 */
pg2md_code catalog_table_names(PGconn *conn, const pg2md_config *cfg, pg2md_strlist *out, pg2md_error *err);
void catalog_names_free(pg2md_strlist *l);

/*
 * Reflect the tables to copy (catalog_table_names) of cfg->schema.  Tables that do not exist are
 * one error (PG2MD_ERR_USAGE) that names them and the closest existing names.
 */
pg2md_code catalog_reflect(PGconn *conn, const pg2md_config *cfg, pg2md_table **tables, int *ntables,
			   pg2md_error *err);

/*
 * Choose the decoder and the destination type of c from its type_oid and typmod (domains,
 * enums, arrays and composites resolved on conn); ndims: the array's declared dimensions, 0
 * when unknown; c->numeric_double chooses DOUBLE over VARCHAR for numerics DECIMAL cannot hold,
 * c->char_keep keeps the pad blanks of character(n).  Fills dec, precision, scale, as_text,
 * stage_as_text, duck_type, type.  An array of a type without a binary decoder is read as
 * text[] (as_text, a LIST of DEC_TEXT): a LIST of each element's text.
 */
pg2md_code catalog_choose_decoder(PGconn *conn, pg2md_column *c, int ndims, pg2md_error *err);

/*
 * A numeric column without typmod (plain "numeric") becomes a DECIMAL that holds every value the
 * run reads exactly: one scan of the rows the run reads (rel filtered by filter, on conn, in the
 * run's snapshot) measures the largest scale and the integer digits of the largest magnitude.
 * The type is DECIMAL(18,s) when 18 digits hold them, else DECIMAL(38,s); a column with NaN,
 * ±Infinity or more than 38 digits keeps the fallback type (VARCHAR, or DOUBLE on request), with
 * a warning naming the column and the kind of value.  Marks the columns it measured (c->measured).
 */
pg2md_code catalog_measure_numerics(PGconn *conn, const char *schema, pg2md_table *t, const char *filter,
				    pg2md_error *err);

/*
 * "Did you mean": append to out the names in column namecol of res close to want
 * (util/strdist.h), at most 3, closest first, as "\"a\" or \"b\"", leaving out the rows
 * whose column skipcol is 't' (partitions; skipcol < 0: none).
 */
void catalog_close_names(pg2md_buf *out, const char *want, PGresult *res, int namecol, int skipcol);

/*
 * Append the relation rows of t are read from: "schema"."table", or for a query table
 * the query as a subquery, (\n<query>\n) AS "q" (the newlines end a trailing -- comment).
 */
void catalog_source_rel(pg2md_buf *b, const char *schema, const pg2md_table *t);

#endif

/*
 * evolve.h — following a followed table's column changes (DDL) from pgoutput's Relation
 * messages (docs/cdc.md, "Column changes").
 *
 * pgoutput sends a Relation message before the first change of a relation in a session and
 * again after its shape changed.  For each one of a followed table, cdc_evolve_plan compares
 * the message's columns with the mirror table's in DuckDB and says what to do to DuckDB so that
 * the table looks as a `replace` run would leave it:
 *   ADD COLUMN       the column added with the type a run maps it to; existing rows get the
 *                    value PostgreSQL's catalog gives them (attmissingval: the constant DEFAULT
 *                    of the ADD COLUMN, else NULL);
 *   DROP COLUMN      the column dropped (a replace run would not have it);
 *   RENAME COLUMN    pgoutput shows it as the same position and type under a new name: renamed;
 *   a type change    followed when the run's DuckDB type is the same (varchar(10) to varchar(20),
 *                    a domain to its base type, …); anything else stops with an error and the
 *                    documented one-table resync.
 * The table's definition for decoding (pg2md_table: decoders, DuckDB types, names) is read from
 * PostgreSQL's catalog as a run reads it, and must match the message: when the catalog has moved
 * on (the columns changed again later in the WAL), that is an error with the same resync.
 */
#ifndef PG2MD_CDC_EVOLVE_H
#define PG2MD_CDC_EVOLVE_H

#include <libpq-fe.h>

#include "cdc/pgoutput.h"
#include "config/config.h"
#include "dest/duck.h"
#include "schema/table.h"
#include "source/catalog.h"
#include "util/error.h"

typedef struct cdc_evolve_plan {
	pg2md_table *all;      /* the configured tables as the catalog has them now (schema_tables_free) */
	int nall;
	int idx;               /* the one the message is about */
	char *ddl;             /* DuckDB statements to run (no transaction of their own), NULL when none */
	char *what;            /* what they do, for the log */
} cdc_evolve_plan;

/*
 * Plan the evolution of table t (the definition follow holds, matched by OID) to relation
 * message m.  Errors: PG2MD_ERR_RUN for a type change DuckDB's column cannot follow, a column
 * added in a way whose existing rows' values logical replication does not carry (a volatile
 * DEFAULT, which rewrites the table), or a catalog that no longer matches the message; each
 * says how to resync the table.
 */
pg2md_code cdc_evolve_plan_make(PGconn *conn, pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *t,
				const pgo_msg *m, cdc_evolve_plan *out, pg2md_error *err);
void cdc_evolve_plan_release(cdc_evolve_plan *p);

/* The hint every "cannot follow" error of a table ends with: the one-table resync. */
void cdc_resync_hint(pg2md_error *err, const pg2md_config *cfg, const char *table);

#endif

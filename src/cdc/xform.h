/*
 * xform.h — a table's `transform` and lineage columns in pg2md follow.
 *
 * A transform is applied to each batch's new row images (apply.c): the keys the batch touches
 * are deleted from the mirror, and the transform's output over their new images inserted.  That
 * equals the transform over the whole table only for a row-wise transform (what a run already
 * requires at transform_stage = "extract", where it sees one page range at a time), whose output
 * keeps the key columns as they are.  cdc_transform_check refuses the others before anything is
 * copied; apply.c checks per batch that the output's keys are the batch's.
 */
#ifndef PG2MD_CDC_XFORM_H
#define PG2MD_CDC_XFORM_H

#include <libpq-fe.h>

#include "config/config.h"
#include "schema/table.h"
#include "util/buf.h"
#include "util/error.h"

/* t's transform, or NULL. */
const char *cdc_transform_of(const pg2md_config *cfg, const pg2md_table *t);

/* Can t's transform (if any) be applied batch by batch?  PG2MD_ERR_USAGE with the reason. */
pg2md_code cdc_transform_check(const pg2md_config *cfg, const pg2md_table *t, pg2md_error *err);

/*
 * A Relation message of transformed table t (follow's definition): the source's columns, as the
 * catalog has them, must be t's.  The mirror holds the transform's output, which follow does not
 * evolve: a column change is PG2MD_ERR_RUN with the one-table resync.
 */
pg2md_code cdc_transform_relation(PGconn *conn, const pg2md_config *cfg, const pg2md_table *t, pg2md_error *err);

/*
 * The value of lineage column c in a row follow writes, as a DuckDB expression: _dlt_load_id
 * the load id of the batch's DuckDB transaction (its start time, as dlt forms load ids: the
 * same for every row and table of the batch, and in the batch's _dlt_loads row), _dlt_id a
 * fresh random id.
 */
void cdc_lineage_value(pg2md_buf *b, const pg2md_column *c);

/* The statement that records the batch's load in _dlt_loads (when add_dlt_load_id is set), to
 * run in the batch's transaction; nothing otherwise. */
void cdc_lineage_load_sql(pg2md_buf *b, const pg2md_config *cfg);

#endif

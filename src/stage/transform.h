/*
 * transform.h — per-table DuckDB SQL transforms (issue "transformations").
 *
 *   [sources.sql_database.customer]
 *   transform = "SELECT * EXCLUDE (c_email_address), md5(c_email_address) AS c_email_hash FROM data"
 *
 * `data` is the table's rows with their destination types.  By default
 * (transform_stage = "extract") the transform is applied to the rows as they
 * stream out of PostgreSQL, before anything is written: in the staged mode the
 * Parquet files already hold the transformed rows (a masked column never
 * reaches the disk), in the direct mode they are inserted as transformed.  It
 * runs on each task's rows (one page range at a time), so it must be row-wise:
 * projections, expressions, casts, renames, WHERE filters.  With
 * transform_stage = "normalize" (staged mode) the rows are staged as read and
 * the normalize stage applies the transform over all of the table's staged
 * files at once (stage/normalize.c), so aggregates, DISTINCT and window functions see
 * the whole table.
 *
 * Before any data moves, the transform is bound against an empty table of the
 * reflected schema: a transform that does not bind is an error naming the
 * table, with DuckDB's message; the destination columns follow its output.
 */
#ifndef PG2MD_TRANSFORM_H
#define PG2MD_TRANSFORM_H

#include <jansson.h>
#include <stdbool.h>

#include "config/config.h"
#include "schema/manifest.h"
#include "schema/table.h"
#include "util/buf.h"
#include "util/error.h"

typedef struct transform_col {
	char *name;      /* output column */
	char *duck_type; /* its DuckDB type, as SQL */
	int lineage;     /* TRANSFORM_LOAD_ID, TRANSFORM_DLT_ID: a lineage column added after the output; 0 otherwise */
} transform_col;

enum { TRANSFORM_LOAD_ID = 1, TRANSFORM_DLT_ID = 2 };

typedef struct transform_out {
	transform_col *cols;
	int ncols;
} transform_out;

/*
 * Bind transform against t's columns; fills out (release with transform_out_release).  t's
 * lineage columns (catalog.h) are not in "data": they follow the transform's output in out,
 * flagged; an output column of the same name is a configuration error.
 */
pg2md_code transform_bind(const pg2md_table *t, const char *transform, transform_out *out, pg2md_error *err);
void transform_out_release(transform_out *out);

/*
 * Where tc's transform runs: *later = false at extract (the default, transform_stage =
 * "extract"), true at normalize (transform_stage = "normalize", staged mode only).  An
 * unknown value, or "normalize" in the direct mode, is a configuration error.
 */
pg2md_code transform_stage_parse(const pg2md_table_config *tc, bool direct, bool *later, pg2md_error *err);

/* A transform output column as a manifest column (its strings are new: manifest_table_free's);
 * false when memory ran out (what was copied is still out's). */
bool transform_column_manifest(const transform_col *c, manifest_column *out);

/*
 * Append "(WITH data AS (SELECT <casts> FROM pg2md_scan(task_id)) <transform>)" to b; staged
 * says the scan runs for staging (intervals come as their fields, copyscan.h).
 */
void transform_source(pg2md_buf *b, const pg2md_table *t, const char *transform, int task_id, bool staged,
		      const char *load_id);

/*
 * The value of a lineage column (TRANSFORM_LOAD_ID, TRANSFORM_DLT_ID) as a DuckDB expression:
 * the load id as a literal, or a fresh random UUID's text per row (uuid(): unique across loads).
 */
void transform_lineage_value(pg2md_buf *b, int lineage, const char *load_id);

#endif

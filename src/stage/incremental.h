/*
 * incremental.h — incremental loading on a cursor column, with dlt's meaning
 * of cursor_path, initial_value, end_value, lag, range_start, range_end and
 * on_cursor_value_missing.
 *
 * The read is a row filter pushed into the COPY query, so only new rows
 * leave the server.  The new last value is the maximum of the cursor over
 * exactly the rows read: it is computed on the run's leader connection,
 * inside the same snapshot as the copy.  With a closed range start, the rows
 * at the last value that the destination already holds are dropped at load
 * time (by primary key, or by the whole row when there is none).
 */
#ifndef PG2MD_INCREMENTAL_H
#define PG2MD_INCREMENTAL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "config/config.h"
#include "schema/manifest.h"
#include "source/catalog.h"
#include "util/buf.h"
#include "util/error.h"

typedef struct incr_plan {
	bool active;
	int col;              /* cursor column index in the table */
	char *initial;        /* initial_value */
	char *prev_last;      /* last value from the state, or NULL */
	char *start;          /* where the read starts (last value or initial value), NULL: from the beginning */
	bool start_closed;
	bool fixed_range;     /* end_value set: [initial_value, end_value) every run, no state */
	char *end;            /* end_value */
	const char *missing;  /* "raise", "include", "exclude" */
	char *new_last;       /* after the read */
} incr_plan;

/*
 * Plan the incremental read of t: appends the row condition to filter (with
 * " AND " when filter is not empty).  Inactive when the table has no cursor.
 */
pg2md_code incr_plan_table(const pg2md_config *cfg, json_t *state, const pg2md_table *t, incr_plan *p,
			   pg2md_buf *filter, pg2md_error *err);

/* Before the copy: with on_cursor_value_missing = "raise", fail when rows with a NULL cursor would be read. */
pg2md_code incr_check_missing(PGconn *leader, const char *schema, const pg2md_table *t, const char *filter,
			      incr_plan *p, pg2md_error *err);

/* After the copy, in the same snapshot: the new last value. */
pg2md_code incr_finish(PGconn *leader, const char *schema, const pg2md_table *t, const char *filter, incr_plan *p,
		       pg2md_error *err);

/* The manifest's description of the plan (for load-time de-duplication and the state); out's
 * strings are new (manifest_table_free's).  false: memory ran out (what was copied is still out's). */
bool incr_to_manifest(const pg2md_table *t, const incr_plan *p, manifest_incremental *out);

void incr_release(incr_plan *p);

#endif

/*
 * verify.h — does the destination hold what the source holds?  For each table to copy, a row
 * count and an order-independent checksum of every value, computed inside PostgreSQL and inside
 * DuckDB (no row leaves either database), then compared.  verify/checksum.h defines the
 * canonical text of each type and the checksum.
 *
 * The source is read in one repeatable-read, read-only transaction, so all tables are compared
 * at the same moment of the source; a table's `where` filter applies as in a run, and so does
 * the incremental window of a first run (initial_value, end_value, on_cursor_value_missing =
 * "exclude"): later runs read from the last value on, so an append or merge table holds every
 * row of that window.  A table defined by a query is compared with the query's rows.  A
 * transformed table's values differ from the source's by design: only its rows are counted.
 */
#ifndef PG2MD_VERIFY_H
#define PG2MD_VERIFY_H

#include <stdbool.h>

#include "config/config.h"
#include "util/error.h"

/* The outcome of one table. */
typedef struct verify_result {
	char *name;           /* at the source */
	char *dest_name;
	long long src_rows;
	char *src_sum;
	long long dst_rows;   /* -1: the table is not in the destination */
	char *dst_sum;        /* NULL: not computed (table or columns missing) */
	char *problem;        /* why the destination could not be checksummed, or NULL */
	bool filtered;        /* the source side has a `where` filter */
	bool windowed;        /* the source side is limited to the incremental window */
	bool count_only;      /* a transform reshapes the rows: counts compared, values not */
	char *filter;         /* the source filter: where and the incremental window, or "" */
	const char *disposition;
	bool incremental;
	bool equal;
} verify_result;

typedef struct verify_report {
	char *destination;    /* where the destination is, as messages name it */
	bool dest_exists;     /* false: a local DuckDB file that does not exist (every table differs) */
	verify_result *tables;
	int ntables;
	int ndiff;            /* tables that differ */
} verify_report;

/*
 * Compare every table to copy (cfg's list, or every table of the schema); *out is filled even
 * when tables differ (that is not an error here: the caller decides).  An error (a connection,
 * a checksum query that failed) stops the comparison; *out then holds what was compared.
 */
pg2md_code verify_run(const pg2md_config *cfg, verify_report *out, pg2md_error *err);
void verify_report_release(verify_report *r);

#endif

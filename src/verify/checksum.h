/*
 * checksum.h — the SQL of `pg2md verify`: a row count and an order-independent
 * checksum of every value of a table, computed inside PostgreSQL for the
 * source and inside DuckDB for the destination, so that equal data gives
 * equal results on both sides without moving a row.
 *
 * Each value becomes a canonical text chosen by its source type (the forms
 * of tests/lib/compare.sh: floats as exact hex from the IEEE bits, times as
 * epoch microseconds, intervals as months/days/microseconds, bytea as hex,
 * …; arrays and composites held as LISTs and STRUCTs element by element and
 * field by field, in the same forms); a row is its fields escaped and joined with "|", NULL written \N; the
 * checksum is the sum of the first 60 bits of md5(row) over all rows, which
 * does not depend on row order and counts duplicates.
 */
#ifndef PG2MD_CHECKSUM_H
#define PG2MD_CHECKSUM_H

#include <stdbool.h>

#include "schema/table.h"
#include "util/buf.h"

/* The canonical form of a column's values. */
typedef enum checksum_kind {
	CKS_BOOL,     /* t / f */
	CKS_INT,      /* decimal text */
	CKS_FLOAT,    /* [-]0x1.<13 hex>p<exp>, subnormals 0x0.<13 hex>p-1022, ±0x0p+0, NaN, ±Infinity */
	CKS_NUMERIC,  /* PostgreSQL's numeric text (scale kept), a leading 0 before the point */
	CKS_NUM_FLOAT,/* a numeric held as DOUBLE in DuckDB: compared as float8 */
	CKS_TEXT,     /* the type's output function in PostgreSQL, CAST(v AS VARCHAR) in DuckDB */
	CKS_DATE,     /* days since 1970-01-01, infinity, -infinity */
	CKS_TS,       /* microseconds since 1970-01-01 00:00, infinity, -infinity */
	CKS_TSTZ,     /* the same, in UTC */
	CKS_TIME,     /* microseconds since midnight (24:00:00 = 86400000000) */
	CKS_TIMETZ,   /* local microseconds @ UTC offset in seconds east */
	CKS_INTERVAL, /* <months>m<days>d<microseconds>us, fields as stored */
	CKS_BYTEA,    /* lower-case hex */
	CKS_UUID,     /* lower-case 8-4-4-4-12 */
	CKS_BPCHAR,   /* character(n) without its pad blanks (char_padding = "trim"): value::text, then as CKS_TEXT */
	CKS_NUM_TRIM, /* a numeric without typmod held as a measured DECIMAL: CKS_NUMERIC without the
		       * fraction's trailing zeros (each value's own scale is not kept by a DECIMAL) */
	CKS_NESTED    /* a LIST or STRUCT (col->type): [e1,e2], {f1,f2}, recursively; each scalar
		       * in its own form above, text escaped (\ , [ ] { } | get a \), NULL as \N */
} checksum_kind;

/*
 * The canonical form for a replicated column: from its source type, and from
 * the type DuckDB actually holds (duck_type as duckdb_columns() spells it; a
 * value held as VARCHAR or JSON is compared with the source's text; a LIST or
 * STRUCT column is compared element-wise when DuckDB holds exactly the type
 * pg2md writes, col->duck_type, else as text, which differs).
 */
checksum_kind checksum_kind_of(const pg2md_column *col, const char *duck_type);

/* Name of a kind, for debug messages. */
const char *checksum_kind_name(checksum_kind k);

/*
 * Statements DuckDB must run once per connection before checksum_duck_sql's
 * query: TEMP macros named pg2md_cks_*.
 */
extern const char *const checksum_duck_prelude;

/*
 * Append to out the PostgreSQL query returning one row: count(*) as bigint
 * and the checksum as numeric text, over schema.table filtered by where
 * (SQL, may be NULL).  kinds[i] is the form of t->cols[i].  to_utf8: the
 * server encoding is not UTF8, hash the UTF-8 bytes (as DuckDB does).
 */
void checksum_pg_sql(pg2md_buf *out, const char *schema, const pg2md_table *t, const checksum_kind *kinds,
		     const char *where, bool to_utf8);

/*
 * Append to out the DuckDB query returning the same row for dataset.table:
 * duck_cols[i] is the destination column holding t->cols[i]; where (NULL: none) selects the
 * rows compared (an scd2 table's active versions).
 */
void checksum_duck_sql(pg2md_buf *out, const char *dataset, const char *table, const pg2md_table *t,
		       const char *const *duck_cols, const checksum_kind *kinds, const char *where);

#endif

/*
 * types.h — PostgreSQL's types in the table model: which decoder reads a scalar type's binary
 * COPY value, and the DuckDB type each becomes, spelled as DuckDB prints it (so a rerun
 * compares a stored type with the same text).  Pure functions of the type: the catalog
 * queries that resolve domains, enums, arrays and composites are the reader's
 * (source/catalog.c).
 */
#ifndef PG2MD_SCHEMA_TYPES_H
#define PG2MD_SCHEMA_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "schema/table.h"
#include "util/buf.h"

/* Built-in type OIDs (pg_type.dat); stable across PostgreSQL versions. */
enum {
	BOOLOID = 16, BYTEAOID = 17, CHAROID = 18, NAMEOID = 19, INT8OID = 20, INT2OID = 21,
	INT4OID = 23, TEXTOID = 25, OIDOID = 26, JSONOID = 114, FLOAT4OID = 700, FLOAT8OID = 701,
	BPCHAROID = 1042, VARCHAROID = 1043, DATEOID = 1082, TIMEOID = 1083, TIMESTAMPOID = 1114,
	TIMESTAMPTZOID = 1184, INTERVALOID = 1186, TIMETZOID = 1266, NUMERICOID = 1700,
	UUIDOID = 2950, JSONBOID = 3802
};

/* How a table asks its values to be read (schema_scalar_dec's opts). */
enum {
	SCHEMA_NUM_DOUBLE = 1, /* numeric_fallback = "double" */
	SCHEMA_CHAR_KEEP = 2   /* char_padding = "keep" */
};

/*
 * The decoder of a scalar type, or false when it has none.  numeric(p,s) with 1 <= p <= 38 and
 * 0 <= s <= p is DECIMAL(p,s); any other numeric is exact text, or DOUBLE with
 * SCHEMA_NUM_DOUBLE; a numeric without typmod at the top of a column may become a measured
 * DECIMAL later (catalog_measure_numerics).  character(n) loses its pad blanks unless
 * SCHEMA_CHAR_KEEP.
 */
bool schema_scalar_dec(uint32_t oid, int32_t typmod, unsigned opts, pg2md_dec *dec, int *precision, int *scale);

/*
 * Append DuckDB's name of a scalar.  nested: as DuckDB prints it inside LIST and STRUCT types
 * (information_schema spells "TIMESTAMP WITH TIME ZONE").
 */
void schema_scalar_duck(pg2md_buf *b, pg2md_dec dec, uint32_t oid, int precision, int scale, bool nested);

/* Append the DuckDB type of a nested shape, spelled as DuckDB prints it. */
void schema_type_string(pg2md_buf *b, const pg2md_type *t, bool nested);

#endif

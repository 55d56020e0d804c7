/*
 * table.h — the table model: a table to copy as both sides know it, its columns, their types
 * and how each is decoded, its primary key and the leaves that hold its rows.
 *
 * The reader (source/catalog.c) fills it from PostgreSQL's catalog, the scan (xfer/) decodes
 * by it, the stages and the writer (dest/) build DuckDB statements from it; none of them owns
 * it.  It speaks no library: destination types are DuckDB's names as text (schema/types.h
 * spells them), names follow dlt's naming convention (schema/naming.h).
 */
#ifndef PG2MD_SCHEMA_TABLE_H
#define PG2MD_SCHEMA_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/error.h"

/* How a column's binary COPY value becomes a DuckDB value. */
typedef enum pg2md_dec {
	DEC_BOOL,
	DEC_INT2,
	DEC_INT4,
	DEC_INT8,
	DEC_OID,
	DEC_FLOAT4,
	DEC_FLOAT8,
	DEC_NUMERIC_DECIMAL, /* numeric(p,s), p <= 38 -> DECIMAL(p,s) */
	DEC_NUMERIC_TEXT,    /* other numerics -> exact text */
	DEC_NUMERIC_DOUBLE,  /* other numerics -> DOUBLE, on request */
	DEC_TEXT,            /* text, varchar, name, json, and everything read as ::text */
	DEC_BPCHAR,          /* character(n): the value without its pad blanks, as value::text (char_padding) */
	DEC_CHAR,            /* "char": one byte */
	DEC_BYTEA,
	DEC_DATE,
	DEC_TIME,
	DEC_TIMETZ,
	DEC_TIMESTAMP,
	DEC_TIMESTAMPTZ,
	DEC_INTERVAL,
	DEC_UUID,
	DEC_JSONB,
	DEC_INTERVAL_STRUCT, /* interval as STRUCT(months, days, micros): what the Parquet staging holds */
	DEC_INTERVAL_TEXT,   /* interval inside a LIST/STRUCT, staged: text DuckDB parses back exactly */
	DEC_TIMETZ_TEXT,     /* timetz inside a LIST/STRUCT, staged: text with the offset to the second */
	DEC_ENUM,            /* enum label -> DuckDB ENUM index */
	DEC_LIST,            /* array -> LIST (nested LISTs for several dimensions) */
	DEC_STRUCT,          /* composite -> STRUCT */
	DEC__COUNT
} pg2md_dec;

/*
 * The shape of an enum, array or composite column (scalars have none): a
 * tree resolved once from the catalog, domains replaced by their base types.
 */
typedef struct pg2md_type {
	pg2md_dec dec;
	uint32_t oid;              /* base type */
	int precision, scale;      /* DEC_NUMERIC_DECIMAL */
	int ndim;                  /* DEC_LIST: dimensions every value must have (or be empty) */
	struct pg2md_type *elem;   /* DEC_LIST: the element */
	int nfields;               /* DEC_STRUCT: the composite's live attributes, in order */
	char **field_names;
	struct pg2md_type *fields;
	int nlabels;               /* DEC_ENUM: labels in pg_enum.enumsortorder order */
	char **labels;
} pg2md_type;

typedef struct pg2md_column {
	char *name;         /* name at the source */
	char *dest_name;    /* name in the destination (naming convention applied) */
	char *pg_type;      /* format_type(), for messages and the stored schema */
	uint32_t type_oid;  /* base type (domains resolved) */
	int32_t typmod;
	pg2md_dec dec;
	int precision;      /* DECIMAL width */
	int scale;          /* DECIMAL scale */
	bool nullable;
	bool as_text;       /* read as text on the server, through the type's output function */
	char *text_out;     /* that output function (pg_type.typoutput), e.g. "inet_out" */
	bool text_array_cast; /* an array read as text[] element by element (::text[]): its elements are not
				 separated by commas in the array's text (box, PostGIS geometry) */
	bool stage_as_text; /* Parquet cannot hold it exactly: staged as VARCHAR, cast back on load */
	char *duck_type;    /* destination type as DuckDB spells it, e.g. "DECIMAL(7,2)", "INTEGER[]",
			       "ENUM('a', 'b')", "STRUCT(x INTEGER, \"y z\" VARCHAR)" */
	pg2md_type *type;   /* DEC_ENUM, DEC_LIST, DEC_STRUCT: the nested shape; NULL otherwise */
	uint32_t src_oid;   /* the base type at the source (type_oid is the type read, after a data_type override) */
	bool numeric_double; /* the table's numeric_fallback is "double": numerics DECIMAL cannot hold
				become DOUBLE (input of catalog_choose_decoder) */
	bool char_keep;     /* the table's char_padding is "keep": character(n) keeps its pad blanks
			       (input of catalog_choose_decoder) */
	bool measured;      /* a numeric without typmod whose type was chosen by measuring its values in
			       the run's snapshot (catalog_measure_numerics): a DECIMAL(p,s), or the
			       fallback type when none holds them */
	char *src_expr;     /* what the server computes instead of the column (a data_type override, SQL), or NULL */
	bool renamed;       /* dest_name comes from a columns.<c>.name hint */
	bool load_id;       /* not a source column: dlt's _dlt_load_id, the only column of a table that
			       has none (DuckDB has no tables without columns); holds the load id */
	bool dlt_id;        /* not a source column: dlt's _dlt_id, a random id per row */
	bool lineage;       /* added by [normalize.parquet_normalizer] add_dlt_load_id / add_dlt_id (load_id or
			       dlt_id is set): last, after a transform's output, never in its "data" */
} pg2md_column;

typedef struct pg2md_table {
	char *name;         /* name at the source, as configured */
	char *dest_name;    /* destination table name */
	uint32_t oid;
	char relkind;       /* r, p, v, m, f; q: a replacement query (source/query.h) */
	char *query;        /* relkind q: the query, trimmed of trailing semicolons */
	char *order_by;     /* relkind q: "ORDER BY …" after the filter (incremental.row_order), or NULL */
	pg2md_column *cols;
	int ncols;
	int *pk;            /* indexes into cols */
	int npk;
	int64_t pages;      /* heap pages (sum of leaves for partitioned tables) */
	double est_rows;    /* planner estimate */
	int64_t est_bytes;  /* pg_table_size of the leaves (heap and TOAST), for the rows' size */
	double leaf_rows;   /* the leaves' reltuples; < 0 when one was never analyzed */
	/* Leaves holding the rows: the table itself, or a partitioned table's leaf partitions. */
	uint32_t *leaf_oids;
	char **leaf_names;  /* schema-qualified, quoted */
	int64_t *leaf_pages;
	int nleaves;
} pg2md_table;

/* Not read from the source: _dlt_load_id or _dlt_id (a lineage column, or a table without columns). */
static inline bool
schema_column_synthetic(const pg2md_column *c)
{
	return c->load_id || c->dlt_id;
}

/* DuckDB type of the scan output for a column (the type the decoder writes). */
const char *schema_scan_type(const pg2md_column *col, char *out, size_t n);

/*
 * The decoder a value of dec uses: inside a LIST or STRUCT (nested) of the
 * staged mode, intervals and timetz become text (Parquet cannot hold them
 * exactly; the load casts them back).  The scan's types and the decoders both
 * follow it.
 */
pg2md_dec schema_effective_dec(pg2md_dec dec, bool staged, bool nested);

void schema_type_free(pg2md_type *t);

/* Does a nested shape hold a value decoded by dec anywhere inside? */
bool schema_type_has(const pg2md_type *t, pg2md_dec dec);

/* Free an array of tables and everything they hold. */
void schema_tables_free(pg2md_table *tables, int ntables);

/* Is column name copied, given included_columns / excluded_columns (tc may be NULL)? */
bool schema_column_kept(const pg2md_table_config *tc, const char *name);

/*
 * The column a configuration key names: by its source name, else by its destination name
 * when exactly one column has it (a renamed column).  -1 when none.
 */
int schema_find_column(const pg2md_table *t, const char *name);

/* dlt's columns that are no source column, appended last as VARCHAR (see pg2md_column). */
typedef enum schema_dlt_column {
	SCHEMA_DLT_LOAD_ID, /* _dlt_load_id: the load id */
	SCHEMA_DLT_ID       /* _dlt_id: a random id per row */
} schema_dlt_column;
bool schema_add_dlt_column(pg2md_table *t, schema_dlt_column which, bool lineage); /* false: out of memory */

/*
 * dlt's lineage columns, as its parquet normalizer adds them: _dlt_load_id (load_id) and
 * _dlt_id (dlt_id), last.  A table without columns already has _dlt_load_id as its one
 * column: it is not added twice.  A source column (or a renamed one) with that destination
 * name is a configuration error (PG2MD_ERR_USAGE): its values would be replaced.
 */
pg2md_code schema_add_lineage(pg2md_table *t, bool load_id, bool dlt_id, pg2md_error *err);

#endif

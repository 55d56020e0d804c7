/*
 * catalog.h — what pg2md learns about the source tables before copying them:
 * columns, their types and how each is decoded, nullability, primary key,
 * size, and for partitioned tables the leaves that hold the rows.
 *
 * Each column's decoder is chosen here, once, from the catalog; the COPY
 * reader never looks at a type again (see copydec.h).
 */
#ifndef PG2MD_CATALOG_H
#define PG2MD_CATALOG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/strdist.h"

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
void catalog_free(pg2md_table *tables, int ntables);

/* Not read from the source: _dlt_load_id or _dlt_id (a lineage column, or a table without columns). */
static inline bool
catalog_column_synthetic(const pg2md_column *c)
{
	return c->load_id || c->dlt_id;
}

/* DuckDB type of the scan output for a column (the type the decoder writes). */
const char *catalog_scan_type(const pg2md_column *col, char *out, size_t n);

/*
 * The decoder a value of dec uses: inside a LIST or STRUCT (nested) of the
 * staged mode, intervals and timetz become text (Parquet cannot hold them
 * exactly; the load casts them back).  The scan's types and the decoders both
 * follow it.
 */
pg2md_dec catalog_effective_dec(pg2md_dec dec, bool staged, bool nested);

void catalog_type_free(pg2md_type *t);

/* Does a nested shape hold a value decoded by dec anywhere inside? */
bool catalog_type_has(const pg2md_type *t, pg2md_dec dec);

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

/* Is column name copied, given included_columns / excluded_columns (tc may be NULL)? */
bool catalog_column_kept(const pg2md_table_config *tc, const char *name);

/*
 * Append the relation rows of t are read from: "schema"."table", or for a query table
 * the query as a subquery, (\n<query>\n) AS "q" (the newlines end a trailing -- comment).
 */
void catalog_source_rel(pg2md_buf *b, const char *schema, const pg2md_table *t);

/*
 * The column a configuration key names: by its source name, else by its destination name
 * when exactly one column has it (a renamed column).  -1 when none.
 */
int catalog_find_column(const pg2md_table *t, const char *name);

#endif

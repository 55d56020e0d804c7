/*
 * copydec.h — decoding PostgreSQL's binary COPY format into DuckDB vectors.
 *
 * The stream is an 11-byte signature, flags and a header extension, then one
 * tuple per row: an int16 field count (-1 ends the stream) and per field an
 * int32 length (-1 is NULL) followed by the value in the type's binary "send"
 * format, big-endian.  A decoder function per column is chosen once from the
 * catalog (copydec_init); decoding a row is a loop over those functions,
 * with no type switch and no allocation per value.
 */
#ifndef PG2MD_COPYDEC_H
#define PG2MD_COPYDEC_H

#include <duckdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "schema/table.h"
#include "util/buf.h"
#include "util/error.h"

typedef struct copydec_col copydec_col;
typedef bool (*copydec_fn)(copydec_col *c, idx_t row, const uint8_t *p, int32_t len);
typedef void (*copydec_null_fn)(copydec_col *c, idx_t row);

/*
 * One decoder per column, chosen once.  Enums, arrays and composites are a
 * tree of them (the element of a LIST, the fields of a STRUCT): a LIST of n
 * dimensions is n nodes, each the only kid of the one above, then the
 * element.  A NULL is written by null_fn, which keeps nested vectors
 * consistent (a NULL STRUCT has NULL fields, a NULL LIST an empty entry).
 */
struct copydec_col {
	copydec_fn fn;
	copydec_null_fn null_fn;
	pg2md_dec dec;
	int precision, scale;
	duckdb_vector vec; /* current output chunk's vector */
	void *data;        /* its data array */
	void *child[3];    /* DEC_INTERVAL_STRUCT: months, days, micros arrays */
	uint64_t *child_validity[3]; /* a NULL struct must have NULL fields too (Parquet reads them) */
	uint64_t *validity;
	pg2md_buf scratch; /* numeric text rendering */
	int64_t lossy;     /* values that could not be represented (NaN in DECIMAL) */
	int64_t *lossy_to; /* where this node counts them: its column's lossy */
	const char *why;   /* last decode failure: static text or whybuf */
	char whybuf[160];
	/* nested */
	copydec_col *kids; /* DEC_STRUCT: the fields; DEC_LIST: kids[0], the next level or the element */
	int nkids;
	int ndim;          /* DEC_LIST, top level: dimensions a non-empty value must have */
	idx_t used;        /* DEC_LIST: child entries written in this chunk */
	idx_t cap;         /* DEC_LIST: child entries reserved in this chunk */
	/* DEC_ENUM: open-addressing table of label -> index + 1 */
	uint32_t *slots;
	uint32_t mask;
	int width;         /* bytes of DuckDB's ENUM index: 1, 2 or 4 */
	const char *const *labels;
	size_t *label_len;
	int nlabels;
};

typedef struct copydec {
	int ncols;
	copydec_col *cols;
	bool header_done;
	bool finished;     /* trailer seen */
	int64_t rows;
} copydec;

/* staged: intervals are decoded as STRUCT(months, days, micros) for the Parquet files.  false:
 * out of memory (the caller fails with PG2MD_ERR_NOMEM): nothing is kept, d->cols is NULL and
 * d->ncols 0 (copydec_release may still be called). */
bool copydec_init(copydec *d, const pg2md_table *t, bool staged);
void copydec_release(copydec *d);

/* Point the decoder at the vectors of an output chunk (once per chunk). */
void copydec_bind_chunk(copydec *d, duckdb_data_chunk chunk);

/*
 * Decode the tuples in msg[*off..len) into rows starting at *row, up to
 * capacity.  Advances *off and *row.  Returns PG2MD_OK, or an error (malformed
 * data) with err filled, naming the column.
 */
pg2md_code copydec_feed(copydec *d, const pg2md_table *t, const uint8_t *msg, int32_t len, int32_t *off,
			idx_t *row, idx_t capacity, pg2md_error *err);

/* Bytes of the index DuckDB uses for an ENUM of n labels (its internal type). */
int copydec_enum_width(int nlabels);

/* Render a binary numeric as PostgreSQL's text (exposed for tests). */
bool copydec_numeric_text(pg2md_buf *out, const uint8_t *p, int32_t len);

#endif

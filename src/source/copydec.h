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

#include "source/catalog.h"
#include "util/buf.h"
#include "util/error.h"

typedef struct copydec_col copydec_col;
typedef bool (*copydec_fn)(copydec_col *c, idx_t row, const uint8_t *p, int32_t len);

struct copydec_col {
	copydec_fn fn;
	pg2md_dec dec;
	int precision, scale;
	duckdb_vector vec; /* current output chunk's vector */
	void *data;        /* its data array */
	void *child[3];    /* DEC_INTERVAL_STRUCT: months, days, micros arrays */
	uint64_t *child_validity[3]; /* a NULL struct must have NULL fields too (Parquet reads them) */
	uint64_t *validity;
	pg2md_buf scratch; /* numeric text rendering */
	int64_t lossy;     /* values that could not be represented (NaN in DECIMAL) */
	const char *why;   /* last decode failure, static text */
};

typedef struct copydec {
	int ncols;
	copydec_col *cols;
	bool header_done;
	bool finished;     /* trailer seen */
	int64_t rows;
} copydec;

/* staged: intervals are decoded as STRUCT(months, days, micros) for the Parquet files. */
void copydec_init(copydec *d, const pg2md_table *t, bool staged);
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

/* Render a binary numeric as PostgreSQL's text (exposed for tests). */
bool copydec_numeric_text(pg2md_buf *out, const uint8_t *p, int32_t len);

#endif

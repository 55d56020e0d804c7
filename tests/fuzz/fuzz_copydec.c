/*
 * fuzz_copydec.c — libFuzzer target for the binary COPY decoder (src/xfer/copydec.c).
 *
 * The input is a table description followed by a COPY stream:
 *
 *   byte 0     bits 0-4: number of columns - 1 (1..32)
 *              bit 5: prepend a valid 19-byte COPY header (so mutations reach the tuples)
 *              bit 6: staged mode (intervals decoded as STRUCT(months, days, micros))
 *   byte 1     bits 0-1: chunk capacity (1, 3, 64 or 2048 rows: chunks are reset and rebound)
 *              bits 2-7: number of pieces the stream is split into (1..64)
 *   byte 2     seed of the split points
 *   bytes 3..  one type selector per column (index into col_types[], modulo its size)
 *   the rest   the COPY stream: signature, flags, header extension, tuples, trailer
 *
 * Each piece is handed to copydec_feed as one CopyData message, exactly as copyscan.c does
 * with PQgetCopyData's buffers; the decoder must never read or write out of bounds, never
 * loop without progress, and never store a DECIMAL value wider than its declared precision.
 * Nested types (arrays, enums, composites: DEC_LIST, DEC_ENUM, DEC_STRUCT) use fixed shapes.
 * A decode error ends the stream, as it ends a real scan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/table.h"
#include "xfer/copydec.h"
#include "xfer/copyscan.h"

typedef struct col_type {
	pg2md_dec dec;
	int p, s;
	duckdb_type type;
	pg2md_type *shape; /* DEC_LIST, DEC_STRUCT, DEC_ENUM: the nested shape (schema/table.h) */
} col_type;

/* Nested shapes, as catalog.c resolves them from pg_type / pg_attribute / pg_enum. */
static pg2md_type t_int4 = {.dec = DEC_INT4}, t_int8 = {.dec = DEC_INT8}, t_text = {.dec = DEC_TEXT};
static pg2md_type t_dec9_2 = {.dec = DEC_NUMERIC_DECIMAL, .precision = 9, .scale = 2};
static pg2md_type t_interval = {.dec = DEC_INTERVAL}, t_timetz = {.dec = DEC_TIMETZ};
static pg2md_type t_date = {.dec = DEC_DATE}, t_uuid = {.dec = DEC_UUID};
static char *mood_labels[] = {"sad", "ok", "happy"};
static pg2md_type t_enum = {.dec = DEC_ENUM, .nlabels = 3, .labels = mood_labels};
static pg2md_type l_int4 = {.dec = DEC_LIST, .ndim = 1, .elem = &t_int4};
static pg2md_type l2_text = {.dec = DEC_LIST, .ndim = 2, .elem = &t_text};
static pg2md_type l_dec = {.dec = DEC_LIST, .ndim = 1, .elem = &t_dec9_2};
static pg2md_type l_interval = {.dec = DEC_LIST, .ndim = 1, .elem = &t_interval};
static pg2md_type l_timetz = {.dec = DEC_LIST, .ndim = 1, .elem = &t_timetz};
static pg2md_type l_enum = {.dec = DEC_LIST, .ndim = 1, .elem = &t_enum};
static pg2md_type l_int8 = {.dec = DEC_LIST, .ndim = 1, .elem = &t_int8};
static char *rec_names[] = {"x", "y", "z", "w"};
static pg2md_type rec_fields[] = {{.dec = DEC_INT4}, {.dec = DEC_TEXT}, {.dec = DEC_INTERVAL}, {.dec = DEC_TIMETZ}};
static pg2md_type t_rec = {.dec = DEC_STRUCT, .nfields = 4, .field_names = rec_names, .fields = rec_fields};
static char *inner_names[] = {"d", "u"};
static pg2md_type inner_fields[] = {{.dec = DEC_DATE}, {.dec = DEC_UUID}};
static char *outer_names[] = {"a", "e", "s"};
static pg2md_type outer_fields[3];
static pg2md_type t_outer = {.dec = DEC_STRUCT, .nfields = 3, .field_names = outer_names, .fields = outer_fields};
static pg2md_type l_rec = {.dec = DEC_LIST, .ndim = 1, .elem = &t_rec};

static void
init_shapes(void)
{
	/* STRUCT(a BIGINT[], e ENUM, s STRUCT(d DATE, u UUID)): a composite holding an array, an enum, a composite */
	outer_fields[0] = l_int8;
	outer_fields[1] = t_enum;
	outer_fields[2] = (pg2md_type){.dec = DEC_STRUCT, .nfields = 2, .field_names = inner_names, .fields = inner_fields};
	(void)t_date, (void)t_uuid;
}

static const col_type col_types[] = {
	{DEC_BOOL, 0, 0, DUCKDB_TYPE_BOOLEAN, NULL},
	{DEC_INT2, 0, 0, DUCKDB_TYPE_SMALLINT, NULL},
	{DEC_INT4, 0, 0, DUCKDB_TYPE_INTEGER, NULL},
	{DEC_INT8, 0, 0, DUCKDB_TYPE_BIGINT, NULL},
	{DEC_OID, 0, 0, DUCKDB_TYPE_UINTEGER, NULL},
	{DEC_FLOAT4, 0, 0, DUCKDB_TYPE_FLOAT, NULL},
	{DEC_FLOAT8, 0, 0, DUCKDB_TYPE_DOUBLE, NULL},
	{DEC_NUMERIC_DECIMAL, 1, 0, DUCKDB_TYPE_DECIMAL, NULL},
	{DEC_NUMERIC_DECIMAL, 4, 2, DUCKDB_TYPE_DECIMAL, NULL},   /* int16 storage */
	{DEC_NUMERIC_DECIMAL, 7, 2, DUCKDB_TYPE_DECIMAL, NULL},   /* int32 */
	{DEC_NUMERIC_DECIMAL, 9, 9, DUCKDB_TYPE_DECIMAL, NULL},
	{DEC_NUMERIC_DECIMAL, 18, 6, DUCKDB_TYPE_DECIMAL, NULL},  /* int64 */
	{DEC_NUMERIC_DECIMAL, 19, 0, DUCKDB_TYPE_DECIMAL, NULL},  /* hugeint */
	{DEC_NUMERIC_DECIMAL, 38, 0, DUCKDB_TYPE_DECIMAL, NULL},
	{DEC_NUMERIC_DECIMAL, 38, 18, DUCKDB_TYPE_DECIMAL, NULL},
	{DEC_NUMERIC_DECIMAL, 38, 38, DUCKDB_TYPE_DECIMAL, NULL},
	{DEC_NUMERIC_TEXT, 0, 0, DUCKDB_TYPE_VARCHAR, NULL},
	{DEC_NUMERIC_DOUBLE, 0, 0, DUCKDB_TYPE_DOUBLE, NULL},
	{DEC_TEXT, 0, 0, DUCKDB_TYPE_VARCHAR, NULL},
	{DEC_CHAR, 0, 0, DUCKDB_TYPE_VARCHAR, NULL},
	{DEC_BYTEA, 0, 0, DUCKDB_TYPE_BLOB, NULL},
	{DEC_DATE, 0, 0, DUCKDB_TYPE_DATE, NULL},
	{DEC_TIME, 0, 0, DUCKDB_TYPE_TIME, NULL},
	{DEC_TIMETZ, 0, 0, DUCKDB_TYPE_TIME_TZ, NULL},
	{DEC_TIMESTAMP, 0, 0, DUCKDB_TYPE_TIMESTAMP, NULL},
	{DEC_TIMESTAMPTZ, 0, 0, DUCKDB_TYPE_TIMESTAMP_TZ, NULL},
	{DEC_INTERVAL, 0, 0, DUCKDB_TYPE_INTERVAL, NULL},         /* STRUCT in staged mode */
	{DEC_UUID, 0, 0, DUCKDB_TYPE_UUID, NULL},
	{DEC_JSONB, 0, 0, DUCKDB_TYPE_VARCHAR, NULL},
	/* 29.. nested (index in make_corpus.py) */
	{DEC_LIST, 0, 0, DUCKDB_TYPE_LIST, &l_int4},       /* int4[] */
	{DEC_LIST, 0, 0, DUCKDB_TYPE_LIST, &l2_text},      /* text[][] */
	{DEC_LIST, 0, 0, DUCKDB_TYPE_LIST, &l_dec},        /* numeric(9,2)[] */
	{DEC_LIST, 0, 0, DUCKDB_TYPE_LIST, &l_interval},   /* interval[]: text when staged */
	{DEC_LIST, 0, 0, DUCKDB_TYPE_LIST, &l_timetz},     /* timetz[]: text when staged */
	{DEC_ENUM, 0, 0, DUCKDB_TYPE_ENUM, &t_enum},       /* enum mood */
	{DEC_LIST, 0, 0, DUCKDB_TYPE_LIST, &l_enum},       /* mood[] */
	{DEC_STRUCT, 0, 0, DUCKDB_TYPE_STRUCT, &t_rec},    /* (int4, text, interval, timetz) */
	{DEC_STRUCT, 0, 0, DUCKDB_TYPE_STRUCT, &t_outer},  /* (int8[], mood, (date, uuid)) */
	{DEC_LIST, 0, 0, DUCKDB_TYPE_LIST, &l_rec},        /* composite[] */
	{DEC_BPCHAR, 0, 0, DUCKDB_TYPE_VARCHAR, NULL},     /* character(n), pad blanks trimmed */
};
#define NTYPES ((int)(sizeof(col_types) / sizeof(col_types[0])))
#define MAXCOLS 32

/* FUZZ_VERBOSE=1: say what each input decoded to (for checking seeds). */
static int verbose = -1;

static const uint8_t copy_header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0,
					0, 0, 0, 0, 0, 0, 0, 0};


/* Every valid DECIMAL value of the filled rows is below 10^precision in magnitude. */
static void
check_chunk(duckdb_data_chunk chunk, const pg2md_table *t, idx_t rows)
{
	for (int i = 0; i < t->ncols; i++) {
		const pg2md_column *c = &t->cols[i];
		if (c->dec != DEC_NUMERIC_DECIMAL)
			continue;
		duckdb_vector v = duckdb_data_chunk_get_vector(chunk, (idx_t)i);
		void *data = duckdb_vector_get_data(v);
		uint64_t *valid = duckdb_vector_get_validity(v);
		__int128 limit = 1;
		for (int k = 0; k < c->precision; k++)
			limit *= 10;
		for (idx_t r = 0; r < rows; r++) {
			__int128 x;
			if (valid && !duckdb_validity_row_is_valid(valid, r))
				continue;
			if (c->precision <= 4)
				x = ((int16_t *)data)[r];
			else if (c->precision <= 9)
				x = ((int32_t *)data)[r];
			else if (c->precision <= 18)
				x = ((int64_t *)data)[r];
			else {
				duckdb_hugeint h = ((duckdb_hugeint *)data)[r];
				x = (__int128)(((unsigned __int128)(uint64_t)h.upper << 64) | h.lower);
			}
			if (x >= limit || x <= -limit) {
				fprintf(stderr, "fuzz_copydec: DECIMAL(%d,%d) column %d row %llu holds a value out of range\n",
					c->precision, c->scale, i, (unsigned long long)r);
				abort();
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pg2md_table t;
	pg2md_column cols[MAXCOLS];
	duckdb_logical_type lts[MAXCOLS];
	copydec d;
	pg2md_error err;
	bool staged;
	int ncols, npieces;
	idx_t capacity;
	uint32_t seed;
	static const idx_t capacities[4] = {1, 3, 64, 2048};

	if (verbose < 0) {
		verbose = getenv("FUZZ_VERBOSE") != NULL;
		init_shapes();
	}
	if (size < 3)
		return 0;
	ncols = (data[0] & 0x1f) + 1;
	staged = (data[0] & 0x40) != 0;
	capacity = capacities[data[1] & 3];
	npieces = (data[1] >> 2) + 1;
	seed = data[2] * 2654435761u + 1;
	if (size < 3 + (size_t)ncols)
		return 0;

	memset(&t, 0, sizeof(t));
	memset(cols, 0, sizeof(cols));
	t.name = "fuzz";
	t.cols = cols;
	t.ncols = ncols;
	for (int i = 0; i < ncols; i++) {
		const col_type *ct = &col_types[data[3 + i] % NTYPES];
		cols[i].name = "c";
		cols[i].pg_type = "t";
		cols[i].dec = ct->dec;
		cols[i].precision = ct->p;
		cols[i].scale = ct->s;
		cols[i].type = ct->shape;
		lts[i] = copyscan_logical_type(ct->dec, ct->p, ct->s, ct->shape, staged, false);
	}
	const uint8_t *body = data + 3 + ncols;
	size_t blen = size - 3 - (size_t)ncols;

	/* The stream: optionally a synthetic header, then the body, in one owned buffer. */
	size_t slen = blen + ((data[0] & 0x20) ? sizeof(copy_header) : 0);
	uint8_t *stream = malloc(slen ? slen : 1);
	if ((data[0] & 0x20) != 0) {
		memcpy(stream, copy_header, sizeof(copy_header));
		memcpy(stream + sizeof(copy_header), body, blen);
	} else {
		memcpy(stream, body, blen);
	}

	duckdb_data_chunk chunk = duckdb_create_data_chunk(lts, (idx_t)ncols);
	for (int i = 0; i < ncols; i++)
		duckdb_destroy_logical_type(&lts[i]);
	copydec_init(&d, &t, staged);
	copydec_bind_chunk(&d, chunk);
	pg2md_error_init(&err);

	idx_t row = 0;
	size_t start = 0;
	for (int piece = 0; piece < npieces && start < slen && !d.finished; piece++) {
		size_t plen;
		if (piece == npieces - 1) {
			plen = slen - start;
		} else {
			seed = seed * 1103515245u + 12345u;
			plen = (seed >> 8) % (slen - start + 1);
		}
		/* Each piece is its own allocation, so ASan sees any read past its end. */
		uint8_t *msg = malloc(plen ? plen : 1);
		memcpy(msg, stream + start, plen);
		int32_t off = 0;
		pg2md_code rc = PG2MD_OK;
		while (off < (int32_t)plen) {
			int32_t before_off = off;
			idx_t before_row = row;
			rc = copydec_feed(&d, &t, msg, (int32_t)plen, &off, &row, capacity, &err);
			if (rc != PG2MD_OK)
				break;
			if (off < 0 || off > (int32_t)plen || row > capacity)
				abort(); /* the decoder left its bounds */
			if (row == capacity) {
				check_chunk(chunk, &t, row);
				duckdb_data_chunk_set_size(chunk, row);
				duckdb_data_chunk_reset(chunk);
				copydec_bind_chunk(&d, chunk);
				row = 0;
			} else if (off == before_off && row == before_row && off < (int32_t)plen) {
				fprintf(stderr, "fuzz_copydec: copydec_feed made no progress at offset %d\n", off);
				abort();
			}
		}
		free(msg);
		start += plen;
		if (rc != PG2MD_OK) {
			if (err.msg[0] == '\0')
				abort(); /* an error must say what went wrong */
			break;
		}
	}
	check_chunk(chunk, &t, row);
	duckdb_data_chunk_set_size(chunk, row);
	if (verbose)
		fprintf(stderr, "fuzz_copydec: %d columns, %lld rows, %s%s\n", ncols, (long long)d.rows,
			d.finished ? "trailer seen" : "no trailer", err.msg[0] ? err.msg : "");

	copydec_release(&d);
	duckdb_destroy_data_chunk(&chunk);
	free(stream);
	return 0;
}

/*
 * copydec.c — binary COPY tuples to DuckDB vectors (see copydec.h).
 *
 * Epoch shifts: PostgreSQL counts dates and timestamps from 2000-01-01,
 * DuckDB from 1970-01-01.  Infinite values map to DuckDB's own infinities.
 * numeric(p,s) with p <= 38 is rebuilt as a scaled 128-bit integer from its
 * base-10000 digits; other numerics are rendered to PostgreSQL's exact text.
 */
#include "source/copydec.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PG_EPOCH_DAYS 10957                 /* 2000-01-01 - 1970-01-01 in days */
#define PG_EPOCH_USECS INT64_C(946684800000000)

#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t
rd64(const uint8_t *p)
{
	return ((uint64_t)rd32(p) << 32) | rd32(p + 4);
}

#define WANT_LEN(n)                                         \
	do {                                                \
		if (len != (n)) {                           \
			c->why = "unexpected value length"; \
			return false;                       \
		}                                           \
	} while (0)

static bool
dec_bool(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	WANT_LEN(1);
	((bool *)c->data)[row] = p[0] != 0;
	return true;
}

static bool
dec_int2(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	WANT_LEN(2);
	((int16_t *)c->data)[row] = (int16_t)rd16(p);
	return true;
}

static bool
dec_int4(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	WANT_LEN(4);
	((int32_t *)c->data)[row] = (int32_t)rd32(p);
	return true;
}

static bool
dec_oid(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	WANT_LEN(4);
	((uint32_t *)c->data)[row] = rd32(p);
	return true;
}

static bool
dec_int8(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	WANT_LEN(8);
	((int64_t *)c->data)[row] = (int64_t)rd64(p);
	return true;
}

static bool
dec_float4(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	uint32_t bits;
	float f;
	WANT_LEN(4);
	bits = rd32(p);
	memcpy(&f, &bits, sizeof(f));
	((float *)c->data)[row] = f;
	return true;
}

static bool
dec_float8(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	uint64_t bits;
	double f;
	WANT_LEN(8);
	bits = rd64(p);
	memcpy(&f, &bits, sizeof(f));
	((double *)c->data)[row] = f;
	return true;
}

static bool
dec_text(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	duckdb_vector_assign_string_element_len(c->vec, row, (const char *)p, (idx_t)len);
	return true;
}

static bool
dec_jsonb(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	if (len < 1 || p[0] != 1) {
		c->why = "unknown jsonb version";
		return false;
	}
	duckdb_vector_assign_string_element_len(c->vec, row, (const char *)p + 1, (idx_t)len - 1);
	return true;
}

static bool
dec_date(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	int32_t d;
	WANT_LEN(4);
	d = (int32_t)rd32(p);
	if (d == INT32_MAX)
		((int32_t *)c->data)[row] = INT32_MAX;
	else if (d == INT32_MIN)
		((int32_t *)c->data)[row] = -INT32_MAX;
	else
		((int32_t *)c->data)[row] = d + PG_EPOCH_DAYS;
	return true;
}

static bool
dec_timestamp(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	int64_t t, out;
	WANT_LEN(8);
	t = (int64_t)rd64(p);
	if (t == INT64_MAX)
		out = INT64_MAX;
	else if (t == INT64_MIN)
		out = -INT64_MAX;
	else if (__builtin_add_overflow(t, PG_EPOCH_USECS, &out) || out == INT64_MAX || out == -INT64_MAX) {
		c->why = "timestamp out of DuckDB's range (after 294247-01-10)";
		return false;
	}
	((int64_t *)c->data)[row] = out;
	return true;
}

static bool
dec_time(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	WANT_LEN(8);
	((int64_t *)c->data)[row] = (int64_t)rd64(p);
	return true;
}

static bool
dec_timetz(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	WANT_LEN(12);
	int64_t micros = (int64_t)rd64(p);
	/* PostgreSQL stores the zone as seconds west of UTC; DuckDB wants seconds east. */
	int32_t zone = (int32_t)rd32(p + 8);
	((duckdb_time_tz *)c->data)[row] = duckdb_create_time_tz(micros, -zone);
	return true;
}

static bool
dec_interval(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	duckdb_interval iv;
	WANT_LEN(16);
	iv.micros = (int64_t)rd64(p);
	iv.days = (int32_t)rd32(p + 8);
	iv.months = (int32_t)rd32(p + 12);
	((duckdb_interval *)c->data)[row] = iv;
	return true;
}

static bool
dec_interval_struct(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	WANT_LEN(16);
	((int64_t *)c->child[2])[row] = (int64_t)rd64(p);
	((int32_t *)c->child[1])[row] = (int32_t)rd32(p + 8);
	((int32_t *)c->child[0])[row] = (int32_t)rd32(p + 12);
	return true;
}

static bool
dec_uuid(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	duckdb_hugeint h;
	WANT_LEN(16);
	/* DuckDB keeps a UUID as a 128-bit integer with the top bit flipped, so it sorts as text does. */
	h.upper = (int64_t)(rd64(p) ^ (UINT64_C(1) << 63));
	h.lower = rd64(p + 8);
	((duckdb_hugeint *)c->data)[row] = h;
	return true;
}

typedef struct numeric_hdr {
	int ndigits, weight, sign, dscale;
	const uint8_t *digits;
} numeric_hdr;

static bool
numeric_parse(numeric_hdr *h, const uint8_t *p, int32_t len)
{
	if (len < 8)
		return false;
	h->ndigits = (int16_t)rd16(p);
	h->weight = (int16_t)rd16(p + 2);
	h->sign = rd16(p + 4);
	h->dscale = (int16_t)rd16(p + 6);
	h->digits = p + 8;
	if (h->ndigits < 0 || len != 8 + 2 * h->ndigits)
		return false;
	for (int i = 0; i < h->ndigits; i++)
		if (rd16(h->digits + 2 * i) > 9999)
			return false;
	return true;
}

/* Append a base-10000 digit as exactly four decimal digits. */
static inline char *
put4(char *o, int d)
{
	o[0] = (char)('0' + d / 1000);
	o[1] = (char)('0' + d / 100 % 10);
	o[2] = (char)('0' + d / 10 % 10);
	o[3] = (char)('0' + d % 10);
	return o + 4;
}

bool
copydec_numeric_text(pg2md_buf *out, const uint8_t *p, int32_t len)
{
	numeric_hdr h;
	char *o;

	buf_reset(out);
	if (!numeric_parse(&h, p, len))
		return false;
	if (h.sign == NUMERIC_NAN) {
		buf_puts(out, "NaN");
		return true;
	}
	if (h.sign == NUMERIC_PINF) {
		buf_puts(out, "Infinity");
		return true;
	}
	if (h.sign == NUMERIC_NINF) {
		buf_puts(out, "-Infinity");
		return true;
	}
	if ((h.sign != NUMERIC_POS && h.sign != NUMERIC_NEG) || h.dscale < 0)
		return false;
	/* sign, integer groups, point, fraction (rounded up to whole groups) */
	buf_reserve(out, (size_t)(h.weight > 0 ? h.weight + 1 : 1) * 4 + (size_t)h.dscale + 8);
	o = out->data;
	if (h.sign == NUMERIC_NEG && h.ndigits > 0)
		*o++ = '-';
	if (h.weight < 0) {
		*o++ = '0';
	} else {
		for (int i = 0; i <= h.weight; i++) {
			int d = i < h.ndigits ? rd16(h.digits + 2 * i) : 0;
			if (i == 0) {
				/* the leading group without leading zeros */
				char tmp[4];
				put4(tmp, d);
				int skip = d >= 1000 ? 0 : d >= 100 ? 1 : d >= 10 ? 2 : 3;
				memcpy(o, tmp + skip, (size_t)(4 - skip));
				o += 4 - skip;
			} else {
				o = put4(o, d);
			}
		}
	}
	if (h.dscale > 0) {
		char *frac;
		*o++ = '.';
		frac = o;
		for (int i = h.weight + 1; o - frac < h.dscale; i++) {
			int d = (i >= 0 && i < h.ndigits) ? rd16(h.digits + 2 * i) : 0;
			o = put4(o, d);
		}
		o = frac + h.dscale; /* drop the digits past dscale in the last group */
	}
	*o = '\0';
	out->len = (size_t)(o - out->data);
	return true;
}

static bool
dec_numeric_text(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	if (!copydec_numeric_text(&c->scratch, p, len)) {
		c->why = "malformed numeric";
		return false;
	}
	duckdb_vector_assign_string_element_len(c->vec, row, c->scratch.data, c->scratch.len);
	return true;
}

static bool
dec_numeric_double(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	if (!copydec_numeric_text(&c->scratch, p, len)) {
		c->why = "malformed numeric";
		return false;
	}
	/* strtod rounds correctly and understands NaN, Infinity and -Infinity. */
	((double *)c->data)[row] = strtod(c->scratch.data, NULL);
	return true;
}

static __int128 pow10_128[39];

static pthread_once_t pow10_once = PTHREAD_ONCE_INIT;

static void
fill_pow10(void)
{
	__int128 v = 1;
	for (int i = 0; i < 39; i++) {
		pow10_128[i] = v;
		if (i < 38)
			v *= 10; /* 10^39 would overflow */
	}
}

static void
init_pow10(void)
{
	pthread_once(&pow10_once, fill_pow10); /* scans start on several threads at once */
}

static bool
dec_numeric_decimal(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	numeric_hdr h;
	__int128 acc = 0;

	if (!numeric_parse(&h, p, len)) {
		c->why = "malformed numeric";
		return false;
	}
	if (h.sign == NUMERIC_NAN || h.sign == NUMERIC_PINF || h.sign == NUMERIC_NINF) {
		/* DECIMAL has no NaN: the value becomes NULL and is counted (docs/types.md). */
		duckdb_validity_set_row_invalid(c->validity, row);
		c->lossy++;
		return true;
	}
	for (int i = 0; i < h.ndigits; i++) {
		int d = rd16(h.digits + 2 * i);
		int k = 4 * (h.weight - i) + c->scale;
		if (d == 0)
			continue;
		if (k > 38) {
			c->why = "numeric value does not fit its declared precision";
			return false;
		}
		if (k >= 0)
			acc += (__int128)d * pow10_128[k];
		else if (k > -4)
			acc += d / (int)pow10_128[-k];
	}
	if (acc >= pow10_128[c->precision]) {
		c->why = "numeric value does not fit its declared precision";
		return false;
	}
	if (h.sign == NUMERIC_NEG)
		acc = -acc;
	if (c->precision <= 4)
		((int16_t *)c->data)[row] = (int16_t)acc;
	else if (c->precision <= 9)
		((int32_t *)c->data)[row] = (int32_t)acc;
	else if (c->precision <= 18)
		((int64_t *)c->data)[row] = (int64_t)acc;
	else {
		duckdb_hugeint hv;
		hv.lower = (uint64_t)acc;
		hv.upper = (int64_t)(acc >> 64);
		((duckdb_hugeint *)c->data)[row] = hv;
	}
	return true;
}

static const copydec_fn decoders[DEC__COUNT] = {
	[DEC_BOOL] = dec_bool,
	[DEC_INT2] = dec_int2,
	[DEC_INT4] = dec_int4,
	[DEC_INT8] = dec_int8,
	[DEC_OID] = dec_oid,
	[DEC_FLOAT4] = dec_float4,
	[DEC_FLOAT8] = dec_float8,
	[DEC_NUMERIC_DECIMAL] = dec_numeric_decimal,
	[DEC_NUMERIC_TEXT] = dec_numeric_text,
	[DEC_NUMERIC_DOUBLE] = dec_numeric_double,
	[DEC_TEXT] = dec_text,
	[DEC_CHAR] = dec_text,
	[DEC_BYTEA] = dec_text,
	[DEC_DATE] = dec_date,
	[DEC_TIME] = dec_time,
	[DEC_TIMETZ] = dec_timetz,
	[DEC_TIMESTAMP] = dec_timestamp,
	[DEC_TIMESTAMPTZ] = dec_timestamp,
	[DEC_INTERVAL] = dec_interval,
	[DEC_UUID] = dec_uuid,
	[DEC_JSONB] = dec_jsonb,
	[DEC_INTERVAL_STRUCT] = dec_interval_struct,
};

void
copydec_init(copydec *d, const pg2md_table *t, bool staged)
{
	init_pow10();
	memset(d, 0, sizeof(*d));
	d->ncols = t->ncols;
	d->cols = xcalloc((size_t)t->ncols + 1, sizeof(copydec_col));
	for (int i = 0; i < t->ncols; i++) {
		copydec_col *c = &d->cols[i];
		c->dec = t->cols[i].dec;
		if (staged && c->dec == DEC_INTERVAL)
			c->dec = DEC_INTERVAL_STRUCT;
		c->fn = decoders[c->dec];
		c->precision = t->cols[i].precision;
		c->scale = t->cols[i].scale;
	}
}

void
copydec_release(copydec *d)
{
	for (int i = 0; i < d->ncols; i++)
		buf_release(&d->cols[i].scratch);
	free(d->cols);
	d->cols = NULL;
}

void
copydec_bind_chunk(copydec *d, duckdb_data_chunk chunk)
{
	for (int i = 0; i < d->ncols; i++) {
		copydec_col *c = &d->cols[i];
		c->vec = duckdb_data_chunk_get_vector(chunk, (idx_t)i);
		c->data = duckdb_vector_get_data(c->vec);
		duckdb_vector_ensure_validity_writable(c->vec);
		c->validity = duckdb_vector_get_validity(c->vec);
		if (c->dec == DEC_INTERVAL_STRUCT)
			for (int k = 0; k < 3; k++) {
				duckdb_vector child = duckdb_struct_vector_get_child(c->vec, (idx_t)k);
				c->child[k] = duckdb_vector_get_data(child);
				duckdb_vector_ensure_validity_writable(child);
				c->child_validity[k] = duckdb_vector_get_validity(child);
			}
	}
}

static const uint8_t copy_signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

pg2md_code
copydec_feed(copydec *d, const pg2md_table *t, const uint8_t *msg, int32_t len, int32_t *off, idx_t *row,
	     idx_t capacity, pg2md_error *err)
{
	int32_t pos = *off;

	if (!d->header_done) {
		if (len - pos < 19 || memcmp(msg + pos, copy_signature, 11) != 0)
			return pg2md_fail(err, PG2MD_ERR_RUN, "invalid COPY header from table \"%s\"", t->name);
		uint32_t ext = rd32(msg + pos + 15);
		if (ext > (uint32_t)(len - pos - 19))
			return pg2md_fail(err, PG2MD_ERR_RUN, "invalid COPY header from table \"%s\"", t->name);
		pos += 19 + (int32_t)ext;
		d->header_done = true;
	}
	while (pos < len && *row < capacity) {
		if (len - pos < 2)
			goto truncated;
		int16_t nf = (int16_t)rd16(msg + pos);
		pos += 2;
		if (nf == -1) {
			d->finished = true;
			pos = len;
			break;
		}
		if (nf != d->ncols)
			return pg2md_fail(err, PG2MD_ERR_RUN, "COPY row of table \"%s\" has %d fields, expected %d",
					  t->name, nf, d->ncols);
		idx_t r = *row;
		for (int i = 0; i < d->ncols; i++) {
			copydec_col *c = &d->cols[i];
			if (len - pos < 4)
				goto truncated;
			int32_t flen = (int32_t)rd32(msg + pos);
			pos += 4;
			if (flen == -1) {
				duckdb_validity_set_row_invalid(c->validity, r);
				if (c->dec == DEC_INTERVAL_STRUCT)
					for (int k = 0; k < 3; k++)
						duckdb_validity_set_row_invalid(c->child_validity[k], r);
				continue;
			}
			if (flen < 0 || flen > len - pos)
				goto truncated;
			if (!c->fn(c, r, msg + pos, flen)) {
				pg2md_fail(err, PG2MD_ERR_RUN, "cannot decode column \"%s\" (%s) of table \"%s\": %s",
					   t->cols[i].name, t->cols[i].pg_type, t->name, c->why ? c->why : "bad value");
				return err->code;
			}
			pos += flen;
		}
		(*row)++;
		d->rows++;
	}
	*off = pos;
	return PG2MD_OK;

truncated:
	return pg2md_fail(err, PG2MD_ERR_RUN, "truncated COPY data from table \"%s\"", t->name);
}

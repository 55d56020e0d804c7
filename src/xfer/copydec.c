/*
 * copydec.c — binary COPY tuples to DuckDB vectors (see copydec.h).
 *
 * Epoch shifts: PostgreSQL counts dates and timestamps from 2000-01-01,
 * DuckDB from 1970-01-01.  Infinite values map to DuckDB's own infinities.
 * numeric(p,s) with p <= 38 is rebuilt as a scaled 128-bit integer from its
 * base-10000 digits; other numerics are rendered to PostgreSQL's exact text.
 */
#include "xfer/copydec.h"

#include <math.h>
#include <stdio.h>
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

/* character(n): the pad blanks dropped (only ' ', as bpchar's own length and ::text count them). */
static bool
dec_bpchar(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	while (len > 0 && p[len - 1] == ' ')
		len--;
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
	else if (d > INT32_MAX - 1 - PG_EPOCH_DAYS) /* past PostgreSQL's and DuckDB's last date (fuzz_copydec) */
		return c->why = "date out of range", false;
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
	if (zone < -57599 || zone > 57599 || micros < 0 || micros > INT64_C(86400000000)) /* ±15:59:59 (fuzz_copydec) */
		return c->why = "time or time zone offset out of range", false;
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
	if (buf_broken(out))
		return false; /* out of memory: the run stops (util/mem.h) */
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
		c->why = buf_broken(&c->scratch) ? "out of memory" : "malformed numeric";
		return false;
	}
	duckdb_vector_assign_string_element_len(c->vec, row, c->scratch.data, c->scratch.len);
	return true;
}

static bool
dec_numeric_double(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	if (!copydec_numeric_text(&c->scratch, p, len)) {
		c->why = buf_broken(&c->scratch) ? "out of memory" : "malformed numeric";
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
		(*c->lossy_to)++;
		return true;
	}
	for (int i = 0; i < h.ndigits; i++) {
		int d = rd16(h.digits + 2 * i);
		int k = 4 * (h.weight - i) + c->scale;
		if (d == 0)
			continue;
		if (k >= c->precision || (k >= 0 && d >= pow10_128[c->precision - k])) { /* before the int128 overflows */
			c->why = "numeric value does not fit its declared precision";
			return false;
		}
		if (k >= 0) {
			acc += (__int128)d * pow10_128[k];
		} else if (k <= -4 || d % (int)pow10_128[-k] != 0) {
			/* a digit past the scale: never dropped (a run's values fit the scale it declared or
			 * measured; pg2md follow's may not) */
			c->why = "numeric value has more fraction digits than its DECIMAL's scale";
			return false;
		} else {
			acc += d / (int)pow10_128[-k];
		}
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

/* ---- staged text forms of values nested in LIST/STRUCT --------------------- */

/* An interval as text DuckDB's cast reads back exactly (months, days, microseconds kept apart). */
static bool
dec_interval_text(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	char tmp[96];
	int n;
	WANT_LEN(16);
	int64_t micros = (int64_t)rd64(p);
	int32_t days = (int32_t)rd32(p + 8), months = (int32_t)rd32(p + 12);
	if (micros == INT64_MIN) /* its digits do not parse as a BIGINT: two terms that add up */
		n = snprintf(tmp, sizeof(tmp), "%d months %d days -9223372036854775807 microseconds -1 microseconds",
			     (int)months, (int)days);
	else
		n = snprintf(tmp, sizeof(tmp), "%d months %d days %lld microseconds", (int)months, (int)days,
			     (long long)micros);
	duckdb_vector_assign_string_element_len(c->vec, row, tmp, (idx_t)n);
	return true;
}

/* A timetz as HH:MM:SS.ffffff+HH:MM:SS (the offset to the second, east of UTC, as DuckDB reads it). */
static bool
dec_timetz_text(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	char tmp[48];
	WANT_LEN(12);
	int64_t micros = (int64_t)rd64(p);
	int32_t east = (int32_t)(0u - rd32(p + 8)); /* unsigned: INT32_MIN cannot be negated (fuzz_copydec) */
	if (micros < 0 || micros > INT64_C(86400000000) || east < -57599 || east > 57599) {
		c->why = "timetz out of range";
		return false;
	}
	uint32_t off = (uint32_t)(east < 0 ? -east : east);
	int n = snprintf(tmp, sizeof(tmp), "%02d:%02d:%02d.%06d%c%02u:%02u:%02u", (int)(micros / 3600000000),
			 (int)(micros / 60000000 % 60), (int)(micros / 1000000 % 60), (int)(micros % 1000000),
			 east < 0 ? '-' : '+', off / 3600, off / 60 % 60, off % 60);
	duckdb_vector_assign_string_element_len(c->vec, row, tmp, (idx_t)n);
	return true;
}

/* ---- enums ------------------------------------------------------------------ */

int
copydec_enum_width(int nlabels)
{
	/* DuckDB: UTINYINT up to 255 labels, USMALLINT up to 65535, else UINTEGER */
	return nlabels <= 255 ? 1 : nlabels <= 65535 ? 2 : 4;
}

static inline uint32_t
label_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The binary send format of an enum is its label: looked up in a table built once. */
static bool
dec_enum(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	uint32_t i = label_hash(p, (size_t)len) & c->mask;
	for (;; i = (i + 1) & c->mask) {
		uint32_t s = c->slots[i];
		if (s == 0) {
			snprintf(c->whybuf, sizeof(c->whybuf), "enum label \"%.*s\" is not in the catalog read at the start",
				 len > 64 ? 64 : (int)len, (const char *)p);
			c->why = c->whybuf;
			return false;
		}
		if (c->label_len[s - 1] == (size_t)len && memcmp(c->labels[s - 1], p, (size_t)len) == 0) {
			if (c->width == 1)
				((uint8_t *)c->data)[row] = (uint8_t)(s - 1);
			else if (c->width == 2)
				((uint16_t *)c->data)[row] = (uint16_t)(s - 1);
			else
				((uint32_t *)c->data)[row] = s - 1;
			return true;
		}
	}
}

/* ---- NULLs ------------------------------------------------------------------ */

static void
null_plain(copydec_col *c, idx_t row)
{
	duckdb_validity_set_row_invalid(c->validity, row);
}

static void
null_interval_struct(copydec_col *c, idx_t row)
{
	duckdb_validity_set_row_invalid(c->validity, row);
	for (int k = 0; k < 3; k++)
		duckdb_validity_set_row_invalid(c->child_validity[k], row);
}

/* A NULL STRUCT has NULL fields: the Parquet writer reads the fields of NULL rows. */
static void
null_struct(copydec_col *c, idx_t row)
{
	duckdb_validity_set_row_invalid(c->validity, row);
	for (int k = 0; k < c->nkids; k++)
		c->kids[k].null_fn(&c->kids[k], row);
}

/* A NULL LIST points at no child entry. */
static void
null_list(copydec_col *c, idx_t row)
{
	duckdb_list_entry *e = (duckdb_list_entry *)c->data + row;
	duckdb_validity_set_row_invalid(c->validity, row);
	e->offset = c->used;
	e->length = 0;
}

/* ---- nested vectors --------------------------------------------------------- */

/* Point a node and its kids at vec (after a chunk starts, or after a LIST's child grew). */
static void
bind_node(copydec_col *c, duckdb_vector vec)
{
	c->vec = vec;
	c->data = duckdb_vector_get_data(vec);
	duckdb_vector_ensure_validity_writable(vec);
	c->validity = duckdb_vector_get_validity(vec);
	if (c->dec == DEC_INTERVAL_STRUCT)
		for (int k = 0; k < 3; k++) {
			duckdb_vector child = duckdb_struct_vector_get_child(vec, (idx_t)k);
			c->child[k] = duckdb_vector_get_data(child);
			duckdb_vector_ensure_validity_writable(child);
			c->child_validity[k] = duckdb_vector_get_validity(child);
		}
	else if (c->dec == DEC_STRUCT)
		for (int k = 0; k < c->nkids; k++)
			bind_node(&c->kids[k], duckdb_struct_vector_get_child(vec, (idx_t)k));
	else if (c->dec == DEC_LIST)
		bind_node(&c->kids[0], duckdb_list_vector_get_child(vec));
}

/* A new chunk: every LIST's child starts empty. */
static void
reset_node(copydec_col *c)
{
	c->used = 0;
	c->cap = 0;
	for (int k = 0; k < c->nkids; k++)
		reset_node(&c->kids[k]);
}

/* Make room for need child entries of the LIST c (amortised: the capacity doubles). */
static bool
list_grow(copydec_col *c, idx_t need)
{
	idx_t cap = c->cap * 2;
	if (cap < need)
		cap = need;
	if (cap < 1024)
		cap = 1024;
	if (duckdb_list_vector_reserve(c->vec, cap) != DuckDBSuccess) {
		c->why = "cannot reserve memory for a LIST";
		return false;
	}
	c->cap = cap;
	bind_node(&c->kids[0], duckdb_list_vector_get_child(c->vec));
	return true;
}

/*
 * A PostgreSQL array: int32 ndim, int32 has-NULL flag, element oid, per
 * dimension (int32 size, int32 lower bound), then the elements in row-major
 * order, each length-prefixed (-1 is NULL).  n dimensions fill n levels of
 * LIST entries; an empty array (ndim 0) is an empty LIST.  Lower bounds are
 * not kept (a LIST starts at 1).
 */
static bool
dec_array(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	const uint8_t *q, *end = p + len;
	copydec_col *level = c;
	uint64_t count = 1;
	idx_t pos = row;

	if (len < 12)
		goto bad;
	int32_t ndim = (int32_t)rd32(p);
	if (ndim == 0) {
		duckdb_list_entry *e = (duckdb_list_entry *)c->data + row;
		e->offset = c->used;
		e->length = 0;
		return true;
	}
	if (ndim != c->ndim) {
		if (ndim < 0 || ndim > 6)
			goto bad;
		snprintf(c->whybuf, sizeof(c->whybuf),
			 "an array value has %d dimension%s where the column's type (DuckDB LIST nesting) has %d",
			 (int)ndim, ndim == 1 ? "" : "s", c->ndim);
		c->why = c->whybuf;
		return false;
	}
	if (len < 12 + 8 * ndim)
		goto bad;
	q = p + 12 + 8 * ndim;
	for (int k = 0; k < ndim; k++) {
		int32_t n = (int32_t)rd32(p + 12 + 8 * k);
		if (n < 0)
			goto bad;
		uint64_t total = count * (uint64_t)n;
		if (total > (uint64_t)(end - q) / 4) /* every element takes at least its length word */
			goto bad;
		idx_t base = level->used, need = base + (idx_t)total;
		if (need > level->cap && !list_grow(level, need))
			return false;
		duckdb_list_entry *e = (duckdb_list_entry *)level->data + pos;
		for (uint64_t j = 0; j < count; j++) {
			e[j].offset = base + j * (uint64_t)n;
			e[j].length = (uint64_t)n;
		}
		level->used = need;
		duckdb_list_vector_set_size(level->vec, need);
		pos = base;
		count = total;
		level = &level->kids[0];
	}
	/* level is now the element */
	for (uint64_t i = 0; i < count; i++) {
		if (end - q < 4)
			goto bad;
		int32_t flen = (int32_t)rd32(q);
		q += 4;
		if (flen == -1) {
			level->null_fn(level, pos + i);
			continue;
		}
		if (flen < 0 || flen > end - q)
			goto bad;
		if (!level->fn(level, pos + i, q, flen)) {
			c->why = level->why;
			return false;
		}
		q += flen;
	}
	if (q != end)
		goto bad;
	return true;
bad:
	c->why = "malformed array";
	return false;
}

/* A composite (record_send): int32 field count, then per field its type oid, length and value. */
static bool
dec_record(copydec_col *c, idx_t row, const uint8_t *p, int32_t len)
{
	const uint8_t *q = p + 4, *end = p + len;
	if (len < 4)
		goto bad;
	if ((int32_t)rd32(p) != c->nkids) {
		snprintf(c->whybuf, sizeof(c->whybuf), "a composite value has %d fields, the catalog %d",
			 (int)(int32_t)rd32(p), c->nkids);
		c->why = c->whybuf;
		return false;
	}
	for (int k = 0; k < c->nkids; k++) {
		copydec_col *f = &c->kids[k];
		if (end - q < 8)
			goto bad;
		int32_t flen = (int32_t)rd32(q + 4);
		q += 8;
		if (flen == -1) {
			f->null_fn(f, row);
			continue;
		}
		if (flen < 0 || flen > end - q)
			goto bad;
		if (!f->fn(f, row, q, flen)) {
			c->why = f->why;
			return false;
		}
		q += flen;
	}
	if (q != end)
		goto bad;
	return true;
bad:
	c->why = "malformed composite";
	return false;
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
	[DEC_BPCHAR] = dec_bpchar,
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
	[DEC_INTERVAL_TEXT] = dec_interval_text,
	[DEC_TIMETZ_TEXT] = dec_timetz_text,
	[DEC_ENUM] = dec_enum,
	[DEC_LIST] = dec_array,
	[DEC_STRUCT] = dec_record,
};

/* Build the decoder of a value of type ty (NULL: the scalar dec, p, s); false when out of memory
 * (what was built is released with the node). */
static bool
node_init(copydec_col *c, pg2md_dec dec, int p, int s, const pg2md_type *ty, bool staged, bool nested,
	  int64_t *lossy_to)
{
	c->dec = schema_effective_dec(dec, staged, nested);
	c->fn = decoders[c->dec];
	c->null_fn = c->dec == DEC_INTERVAL_STRUCT ? null_interval_struct : null_plain;
	c->precision = p;
	c->scale = s;
	c->lossy_to = lossy_to;
	if (!ty)
		return true;
	if (c->dec == DEC_LIST) {
		copydec_col *level = c;
		c->ndim = ty->ndim;
		for (int k = 0; k < ty->ndim; k++) {
			level->dec = DEC_LIST;
			level->null_fn = null_list;
			level->lossy_to = lossy_to;
			level->kids = xcalloc(1, sizeof(copydec_col));
			if (!level->kids)
				return false;
			level->nkids = 1;
			level = &level->kids[0];
		}
		return node_init(level, ty->elem->dec, ty->elem->precision, ty->elem->scale,
				 ty->elem->dec >= DEC_ENUM ? ty->elem : NULL, staged, true, lossy_to);
	} else if (c->dec == DEC_STRUCT) {
		c->null_fn = null_struct;
		c->kids = xcalloc((size_t)ty->nfields + 1, sizeof(copydec_col));
		if (!c->kids)
			return false;
		c->nkids = ty->nfields;
		for (int k = 0; k < ty->nfields; k++) {
			const pg2md_type *f = &ty->fields[k];
			if (!node_init(&c->kids[k], f->dec, f->precision, f->scale, f->dec >= DEC_ENUM ? f : NULL, staged,
				       true, lossy_to))
				return false;
		}
	} else if (c->dec == DEC_ENUM) {
		uint32_t size = 16;
		while (size < 2u * (uint32_t)ty->nlabels)
			size *= 2;
		c->mask = size - 1;
		c->slots = xcalloc(size, sizeof(uint32_t));
		c->labels = (const char *const *)ty->labels;
		c->nlabels = ty->nlabels;
		c->label_len = xcalloc((size_t)ty->nlabels + 1, sizeof(size_t));
		if (!c->slots || !c->label_len)
			return false;
		c->width = copydec_enum_width(ty->nlabels);
		for (int k = 0; k < ty->nlabels; k++) {
			c->label_len[k] = strlen(ty->labels[k]);
			uint32_t i = label_hash((const uint8_t *)ty->labels[k], c->label_len[k]) & c->mask;
			while (c->slots[i])
				i = (i + 1) & c->mask;
			c->slots[i] = (uint32_t)k + 1;
		}
	}
	return true;
}

static void
node_release(copydec_col *c)
{
	buf_release(&c->scratch);
	for (int k = 0; k < c->nkids; k++)
		node_release(&c->kids[k]);
	free(c->kids);
	free(c->slots);
	free(c->label_len);
}

bool
copydec_init(copydec *d, const pg2md_table *t, bool staged)
{
	init_pow10();
	memset(d, 0, sizeof(*d));
	d->cols = xcalloc((size_t)t->ncols + 1, sizeof(copydec_col));
	if (!d->cols)
		return false;
	d->ncols = t->ncols;
	for (int i = 0; i < t->ncols; i++) {
		const pg2md_column *col = &t->cols[i];
		if (!node_init(&d->cols[i], col->dec, col->precision, col->scale, col->type, staged, false,
			       &d->cols[i].lossy)) {
			copydec_release(d); /* no decoder half built: d->cols NULL */
			d->ncols = 0;
			return false;
		}
	}
	return true;
}

void
copydec_release(copydec *d)
{
	for (int i = 0; i < d->ncols; i++)
		node_release(&d->cols[i]);
	free(d->cols);
	d->cols = NULL;
}

void
copydec_bind_chunk(copydec *d, duckdb_data_chunk chunk)
{
	for (int i = 0; i < d->ncols; i++) {
		bind_node(&d->cols[i], duckdb_data_chunk_get_vector(chunk, (idx_t)i));
		reset_node(&d->cols[i]);
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
				c->null_fn(c, r);
				continue;
			}
			if (flen < 0 || flen > len - pos)
				goto truncated;
			if (!c->fn(c, r, msg + pos, flen)) {
				if (c->why && strcmp(c->why, "out of memory") == 0)
					return pg2md_nomem(err); /* not a bad value */
				pg2md_fail(err, PG2MD_ERR_RUN, "cannot decode column \"%s\" (%s) of table \"%s\": %s",
					   t->cols[i].name, t->cols[i].pg_type, t->name, c->why ? c->why : "bad value");
				if (c->why && strstr(c->why, " dimension"))
					pg2md_hint(err, "copy the column as PostgreSQL's array text with [sources.sql_database.%s.columns.%s] "
							"data_type = \"text\", declare its real dimensions at the source (ALTER TABLE … "
							"ALTER COLUMN … TYPE …[][] changes only the catalog), or leave it out with "
							"excluded_columns (docs/types.md, \"Array dimensions\")",
						   t->name, t->cols[i].name);
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

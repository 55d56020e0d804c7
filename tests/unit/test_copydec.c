/*
 * test_copydec.c — the binary COPY decoder, fed with bytes captured from a
 * PostgreSQL 15 server (tests/unit/fixtures, made with
 * COPY (SELECT …) TO STDOUT (FORMAT binary); the query is in the fixture's
 * README).  Checks every decoded value in the DuckDB vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schema/table.h"
#include "xfer/copydec.h"

static uint8_t *
read_fixture(const char *name, long *len)
{
	char path[256];
	snprintf(path, sizeof(path), "fixtures/%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc((size_t)*len);
	assert_int_equal(fread(buf, 1, (size_t)*len, f), (size_t)*len);
	fclose(f);
	return buf;
}

/* The columns of fixtures/types.copy, in order. */
static const struct {
	pg2md_dec dec;
	int p, s;
	duckdb_type type;
} types_cols[] = {
	{DEC_BOOL, 0, 0, DUCKDB_TYPE_BOOLEAN},
	{DEC_INT2, 0, 0, DUCKDB_TYPE_SMALLINT},
	{DEC_INT4, 0, 0, DUCKDB_TYPE_INTEGER},
	{DEC_INT8, 0, 0, DUCKDB_TYPE_BIGINT},
	{DEC_FLOAT4, 0, 0, DUCKDB_TYPE_FLOAT},
	{DEC_FLOAT8, 0, 0, DUCKDB_TYPE_DOUBLE},
	{DEC_NUMERIC_DECIMAL, 7, 2, DUCKDB_TYPE_DECIMAL},
	{DEC_NUMERIC_TEXT, 0, 0, DUCKDB_TYPE_VARCHAR},
	{DEC_TEXT, 0, 0, DUCKDB_TYPE_VARCHAR},
	{DEC_DATE, 0, 0, DUCKDB_TYPE_DATE},
	{DEC_TIMESTAMP, 0, 0, DUCKDB_TYPE_TIMESTAMP},
	{DEC_TIMESTAMPTZ, 0, 0, DUCKDB_TYPE_TIMESTAMP_TZ},
	{DEC_BYTEA, 0, 0, DUCKDB_TYPE_BLOB},
	{DEC_UUID, 0, 0, DUCKDB_TYPE_UUID},
	{DEC_JSONB, 0, 0, DUCKDB_TYPE_VARCHAR},
	{DEC_TIMETZ, 0, 0, DUCKDB_TYPE_TIME_TZ},
	{DEC_INTERVAL, 0, 0, DUCKDB_TYPE_INTERVAL},
	{DEC_TIME, 0, 0, DUCKDB_TYPE_TIME},
	{DEC_NUMERIC_DECIMAL, 38, 18, DUCKDB_TYPE_DECIMAL},
	{DEC_DATE, 0, 0, DUCKDB_TYPE_DATE},
};
#define NTYPES ((int)(sizeof(types_cols) / sizeof(types_cols[0])))

typedef struct fixture {
	pg2md_table table;
	pg2md_column cols[NTYPES];
	duckdb_data_chunk chunk;
	copydec dec;
} fixture;

/* Column 7 (unconstrained numeric) decoded as dec7 into a vector of type7. */
static void
setup_types_with(fixture *fx, pg2md_dec dec7, duckdb_type type7)
{
	duckdb_logical_type lts[NTYPES];
	memset(fx, 0, sizeof(*fx));
	fx->table.name = "types";
	fx->table.cols = fx->cols;
	fx->table.ncols = NTYPES;
	for (int i = 0; i < NTYPES; i++) {
		fx->cols[i].name = "c";
		fx->cols[i].pg_type = "t";
		fx->cols[i].dec = types_cols[i].dec;
		fx->cols[i].precision = types_cols[i].p;
		fx->cols[i].scale = types_cols[i].s;
		lts[i] = types_cols[i].type == DUCKDB_TYPE_DECIMAL
				 ? duckdb_create_decimal_type((uint8_t)types_cols[i].p, (uint8_t)types_cols[i].s)
				 : duckdb_create_logical_type(i == 7 ? type7 : types_cols[i].type);
	}
	fx->cols[7].dec = dec7;
	fx->chunk = duckdb_create_data_chunk(lts, NTYPES);
	for (int i = 0; i < NTYPES; i++)
		duckdb_destroy_logical_type(&lts[i]);
	copydec_init(&fx->dec, &fx->table, false);
	copydec_bind_chunk(&fx->dec, fx->chunk);
}

static void
setup_types(fixture *fx)
{
	setup_types_with(fx, DEC_NUMERIC_TEXT, DUCKDB_TYPE_VARCHAR);
}

static void
teardown_types(fixture *fx)
{
	copydec_release(&fx->dec);
	duckdb_destroy_data_chunk(&fx->chunk);
}

static void *
col(fixture *fx, int i)
{
	return duckdb_vector_get_data(duckdb_data_chunk_get_vector(fx->chunk, (idx_t)i));
}

static bool
is_null(fixture *fx, int i, idx_t row)
{
	uint64_t *v = duckdb_vector_get_validity(duckdb_data_chunk_get_vector(fx->chunk, (idx_t)i));
	return v && !duckdb_validity_row_is_valid(v, row);
}

static void
assert_str(fixture *fx, int i, idx_t row, const char *want, size_t wantlen)
{
	duckdb_string_t *s = &((duckdb_string_t *)col(fx, i))[row];
	assert_int_equal(duckdb_string_t_length(*s), wantlen);
	assert_memory_equal(duckdb_string_t_data(s), want, wantlen);
}

static void
decodes_every_type(void **state)
{
	(void)state;
	fixture fx;
	pg2md_error err;
	long len;
	uint8_t *buf = read_fixture("types.copy", &len);
	int32_t off = 0;
	idx_t row = 0;

	setup_types(&fx);
	pg2md_error_init(&err);
	assert_int_equal(copydec_feed(&fx.dec, &fx.table, buf, (int32_t)len, &off, &row, 2048, &err), PG2MD_OK);
	assert_int_equal(row, 2);
	assert_true(fx.dec.finished);

	/* row 0 */
	assert_true(((bool *)col(&fx, 0))[0]);
	assert_int_equal(((int16_t *)col(&fx, 1))[0], 1);
	assert_int_equal(((int32_t *)col(&fx, 2))[0], -2);
	assert_true(((int64_t *)col(&fx, 3))[0] == INT64_MAX);
	assert_true(((float *)col(&fx, 4))[0] == 1.5f);
	assert_true(((double *)col(&fx, 5))[0] != ((double *)col(&fx, 5))[0]); /* NaN */
	assert_int_equal(((int32_t *)col(&fx, 6))[0], 1234567);                 /* 12345.67 as DECIMAL(7,2) */
	assert_str(&fx, 7, 0, "-0.000001", 9);
	assert_str(&fx, 8, 0, "h\xc3\xa9llo", 6);
	assert_int_equal(((int32_t *)col(&fx, 9))[0], 10957);                    /* 2000-01-01 */
	assert_true(((int64_t *)col(&fx, 10))[0] == INT64_MAX);                  /* infinity */
	assert_true(((int64_t *)col(&fx, 11))[0] == INT64_C(1709210096789012));  /* 2024-02-29 12:34:56.789012Z */
	assert_str(&fx, 12, 0, "\x00\xff", 2);
	duckdb_hugeint u = ((duckdb_hugeint *)col(&fx, 13))[0];
	assert_true((uint64_t)u.upper == (UINT64_C(0xa0eebc999c0b4ef8) ^ (UINT64_C(1) << 63)));
	assert_true(u.lower == UINT64_C(0xbb6d6bb9bd380a11));
	assert_str(&fx, 14, 0, "{\"a\": 1}", 8);
	duckdb_time_tz_struct tz = duckdb_from_time_tz(((duckdb_time_tz *)col(&fx, 15))[0]);
	assert_int_equal(tz.time.hour, 12);
	assert_int_equal(tz.offset, 5 * 3600 + 30 * 60);
	duckdb_interval iv = ((duckdb_interval *)col(&fx, 16))[0];
	assert_int_equal(iv.months, 1);
	assert_int_equal(iv.days, -2);
	assert_int_equal(iv.micros, 3);
	assert_true(((int64_t *)col(&fx, 17))[0] == INT64_C(86400000000));      /* 24:00:00 */
	duckdb_hugeint h = ((duckdb_hugeint *)col(&fx, 18))[0];
	__int128 v = (__int128)(((unsigned __int128)(uint64_t)h.upper << 64) | h.lower);
	__int128 want = -(__int128)99999999999999999 * 1000 - 999; /* -99999999999999999999 */
	want = want * 1000000000000000000LL - 999999999999999999LL;
	assert_true(v == want);
	assert_true(((int32_t *)col(&fx, 19))[0] == -INT32_MAX);                /* -infinity */

	/* row 1: NULLs, NaN in a DECIMAL becomes NULL and is counted, Infinity as text */
	for (int i = 0; i < 6; i++)
		assert_true(is_null(&fx, i, 1));
	assert_true(is_null(&fx, 6, 1));
	assert_int_equal(fx.dec.cols[6].lossy, 1);
	assert_str(&fx, 7, 1, "Infinity", 8);
	assert_int_equal(((int32_t *)col(&fx, 9))[1], 10956);                    /* 1999-12-31 */
	assert_true(((int64_t *)col(&fx, 10))[1] == INT64_C(-2208988799999999)); /* 1900-01-01 00:00:00.000001 */
	assert_str(&fx, 12, 1, "", 0);
	assert_false(is_null(&fx, 12, 1));
	h = ((duckdb_hugeint *)col(&fx, 18))[1];
	assert_true(h.upper == 0 && h.lower == 0);

	teardown_types(&fx);
	free(buf);
}

static void
decodes_row_by_row_and_respects_capacity(void **state)
{
	(void)state;
	fixture fx;
	pg2md_error err;
	long len;
	uint8_t *buf = read_fixture("types.copy", &len);
	int32_t off = 0;
	idx_t row = 0;

	setup_types(&fx);
	pg2md_error_init(&err);
	/* room for one row: stops after it, offset inside the message */
	assert_int_equal(copydec_feed(&fx.dec, &fx.table, buf, (int32_t)len, &off, &row, 1, &err), PG2MD_OK);
	assert_int_equal(row, 1);
	assert_true(off < len);
	assert_false(fx.dec.finished);
	row = 0;
	assert_int_equal(copydec_feed(&fx.dec, &fx.table, buf, (int32_t)len, &off, &row, 2048, &err), PG2MD_OK);
	assert_int_equal(row, 1);
	assert_true(fx.dec.finished);
	teardown_types(&fx);
	free(buf);
}

static void
rejects_truncated_and_corrupt_input(void **state)
{
	(void)state;
	fixture fx;
	pg2md_error err;
	long len;
	uint8_t *buf = read_fixture("types.copy", &len);

	for (long cut = 19; cut < len - 2; cut += 7) {
		int32_t off = 0;
		idx_t row = 0;
		setup_types(&fx);
		pg2md_error_init(&err);
		pg2md_code rc = copydec_feed(&fx.dec, &fx.table, buf, (int32_t)cut, &off, &row, 2048, &err);
		/* a cut inside a tuple is an error; a cut exactly between tuples simply ends early */
		if (rc != PG2MD_OK)
			assert_non_null(strstr(err.msg, "types"));
		teardown_types(&fx);
	}
	/* a wrong signature */
	{
		int32_t off = 0;
		idx_t row = 0;
		uint8_t bad[32];
		memcpy(bad, buf, sizeof(bad));
		bad[0] = 'X';
		setup_types(&fx);
		pg2md_error_init(&err);
		assert_int_equal(copydec_feed(&fx.dec, &fx.table, bad, sizeof(bad), &off, &row, 2048, &err), PG2MD_ERR_RUN);
		assert_non_null(strstr(err.msg, "invalid COPY header"));
		teardown_types(&fx);
	}
	/* a field count that does not match the table */
	{
		int32_t off = 0;
		idx_t row = 0;
		uint8_t *bad = malloc((size_t)len);
		memcpy(bad, buf, (size_t)len);
		bad[19] = 0;
		bad[20] = 3;
		setup_types(&fx);
		pg2md_error_init(&err);
		assert_int_equal(copydec_feed(&fx.dec, &fx.table, bad, (int32_t)len, &off, &row, 2048, &err), PG2MD_ERR_RUN);
		assert_non_null(strstr(err.msg, "has 3 fields"));
		teardown_types(&fx);
		free(bad);
	}
	free(buf);
}

static void
empty_result_is_header_and_trailer(void **state)
{
	(void)state;
	fixture fx;
	pg2md_error err;
	long len;
	uint8_t *buf = read_fixture("empty.copy", &len);
	int32_t off = 0;
	idx_t row = 0;
	setup_types(&fx);
	pg2md_error_init(&err);
	assert_int_equal(copydec_feed(&fx.dec, &fx.table, buf, (int32_t)len, &off, &row, 2048, &err), PG2MD_OK);
	assert_int_equal(row, 0);
	assert_true(fx.dec.finished);
	teardown_types(&fx);
	free(buf);
}

/* numeric_fallback = "double": the unconstrained numeric column as the nearest doubles. */
static void
decodes_numeric_as_double(void **state)
{
	(void)state;
	fixture fx;
	pg2md_error err;
	long len;
	uint8_t *buf = read_fixture("types.copy", &len);
	int32_t off = 0;
	idx_t row = 0;

	setup_types_with(&fx, DEC_NUMERIC_DOUBLE, DUCKDB_TYPE_DOUBLE);
	pg2md_error_init(&err);
	assert_int_equal(copydec_feed(&fx.dec, &fx.table, buf, (int32_t)len, &off, &row, 2048, &err), PG2MD_OK);
	assert_int_equal(row, 2);
	double *v = col(&fx, 7);
	assert_true(v[0] == -0.000001);     /* -0.000001 */
	assert_true(v[1] > 0 && v[1] * 0.5 == v[1]); /* Infinity */
	assert_false(is_null(&fx, 7, 0) || is_null(&fx, 7, 1));
	teardown_types(&fx);
	free(buf);
}

static void
numeric_text_matches_postgres(void **state)
{
	(void)state;
	/* 1000-digit and high-scale values, built from base-10000 digits by hand */
	pg2md_buf out = PG2MD_BUF_INIT;
	uint8_t b[8 + 2 * 3];
	/* 12345678.9 : ndigits 3, weight 1, digits 1234 5678 9000, dscale 1 */
	uint8_t v1[] = {0, 3, 0, 1, 0, 0, 0, 1, 0x04, 0xd2, 0x16, 0x2e, 0x23, 0x28};
	assert_true(copydec_numeric_text(&out, v1, sizeof(v1)));
	assert_string_equal(out.data, "12345678.9");
	/* 0.00000001 with dscale 8: weight -2 (units of 10000^-2), digit 1 */
	uint8_t v2[] = {0, 1, 0xff, 0xfe, 0, 0, 0, 8, 0x00, 0x01};
	assert_true(copydec_numeric_text(&out, v2, sizeof(v2)));
	assert_string_equal(out.data, "0.00000001");
	/* zero with scale 3 */
	uint8_t v3[] = {0, 0, 0, 0, 0, 0, 0, 3};
	assert_true(copydec_numeric_text(&out, v3, sizeof(v3)));
	assert_string_equal(out.data, "0.000");
	/* 10^8 (trailing zero groups are omitted: weight 2, one digit) */
	uint8_t v4[] = {0, 1, 0, 2, 0x40, 0, 0, 0, 0, 1};
	assert_true(copydec_numeric_text(&out, v4, sizeof(v4)));
	assert_string_equal(out.data, "-100000000");
	/* malformed: digit > 9999 */
	memcpy(b, v1, sizeof(v1));
	b[8] = 0xff;
	assert_false(copydec_numeric_text(&out, b, sizeof(v1)));
	buf_release(&out);
}

/* ---- nested.copy: enums, arrays, composites (scripts/make_fixtures.sh) ---------------- */

#define NNESTED 10

typedef struct nested_fixture {
	pg2md_table table;
	pg2md_column cols[NNESTED];
	pg2md_type types[NNESTED];
	pg2md_type elems[NNESTED];
	pg2md_type pt_fields[3];
	char *pt_names[3];
	char *labels[3];
	duckdb_data_chunk chunk;
	copydec dec;
} nested_fixture;

static duckdb_logical_type
mk(duckdb_type t)
{
	return duckdb_create_logical_type(t);
}

static duckdb_logical_type
mk_list(duckdb_logical_type child, int ndim)
{
	for (int i = 0; i < ndim; i++) {
		duckdb_logical_type l = duckdb_create_list_type(child);
		duckdb_destroy_logical_type(&child);
		child = l;
	}
	return child;
}

static duckdb_logical_type
mk_pt(void)
{
	duckdb_logical_type m[3] = {mk(DUCKDB_TYPE_INTEGER), duckdb_create_decimal_type(10, 2), mk(DUCKDB_TYPE_VARCHAR)};
	const char *names[3] = {"x", "y", "label"};
	duckdb_logical_type st = duckdb_create_struct_type(m, names, 3);
	for (int i = 0; i < 3; i++)
		duckdb_destroy_logical_type(&m[i]);
	return st;
}

/*
 * The catalog's trees for the columns of nested.copy, and a chunk of the types
 * the scan declares (staged: nested intervals and timetz as VARCHAR).  int_ndim:
 * the dimensions the first column declares.
 */
static void
setup_nested(nested_fixture *fx, bool staged, int int_ndim)
{
	memset(fx, 0, sizeof(*fx));
	fx->table.name = "nested";
	fx->table.cols = fx->cols;
	fx->table.ncols = NNESTED;
	fx->labels[0] = "sad";
	fx->labels[1] = "ok";
	fx->labels[2] = "it's";
	fx->pt_names[0] = "x";
	fx->pt_names[1] = "y";
	fx->pt_names[2] = "label";
	fx->pt_fields[0].dec = DEC_INT4;
	fx->pt_fields[1].dec = DEC_NUMERIC_DECIMAL;
	fx->pt_fields[1].precision = 10;
	fx->pt_fields[1].scale = 2;
	fx->pt_fields[2].dec = DEC_TEXT;
	pg2md_type pt = {.dec = DEC_STRUCT, .nfields = 3, .field_names = fx->pt_names, .fields = fx->pt_fields};
	pg2md_type mood = {.dec = DEC_ENUM, .nlabels = 3, .labels = fx->labels};
	const pg2md_dec elem_dec[NNESTED] = {DEC_INT4, DEC_INT4, DEC_TEXT, 0, 0, 0, DEC_INTERVAL, DEC_TIMETZ, DEC_NUMERIC_TEXT, 0};
	const int ndims[NNESTED] = {int_ndim, 2, 1, 0, 0, 1, 1, 1, 1, 1};
	for (int i = 0; i < NNESTED; i++) {
		pg2md_column *c = &fx->cols[i];
		c->name = "c";
		c->pg_type = "t";
		c->type = &fx->types[i];
		fx->elems[i].dec = elem_dec[i];
		if (i == 3)
			fx->types[i] = mood;
		else if (i == 4)
			fx->types[i] = pt;
		else {
			if (i == 5)
				fx->elems[i] = pt;
			if (i == 9)
				fx->elems[i] = mood;
			fx->types[i].dec = DEC_LIST;
			fx->types[i].ndim = ndims[i];
			fx->types[i].elem = &fx->elems[i];
		}
		c->dec = fx->types[i].dec;
	}
	duckdb_logical_type lts[NNESTED] = {
		mk_list(mk(DUCKDB_TYPE_INTEGER), int_ndim),
		mk_list(mk(DUCKDB_TYPE_INTEGER), 2),
		mk_list(mk(DUCKDB_TYPE_VARCHAR), 1),
		duckdb_create_enum_type((const char **)fx->labels, 3),
		mk_pt(),
		mk_list(mk_pt(), 1),
		mk_list(mk(staged ? DUCKDB_TYPE_VARCHAR : DUCKDB_TYPE_INTERVAL), 1),
		mk_list(mk(staged ? DUCKDB_TYPE_VARCHAR : DUCKDB_TYPE_TIME_TZ), 1),
		mk_list(mk(DUCKDB_TYPE_VARCHAR), 1),
		mk_list(duckdb_create_enum_type((const char **)fx->labels, 3), 1),
	};
	fx->chunk = duckdb_create_data_chunk(lts, NNESTED);
	for (int i = 0; i < NNESTED; i++)
		duckdb_destroy_logical_type(&lts[i]);
	copydec_init(&fx->dec, &fx->table, staged);
	copydec_bind_chunk(&fx->dec, fx->chunk);
}

static void
teardown_nested(nested_fixture *fx)
{
	copydec_release(&fx->dec);
	duckdb_destroy_data_chunk(&fx->chunk);
}

static duckdb_vector
vec(nested_fixture *fx, int i)
{
	return duckdb_data_chunk_get_vector(fx->chunk, (idx_t)i);
}

static bool
vnull(duckdb_vector v, idx_t row)
{
	uint64_t *m = duckdb_vector_get_validity(v);
	return m && !duckdb_validity_row_is_valid(m, row);
}

static duckdb_list_entry
entry(duckdb_vector v, idx_t row)
{
	return ((duckdb_list_entry *)duckdb_vector_get_data(v))[row];
}

static void
assert_vstr(duckdb_vector v, idx_t row, const char *want)
{
	duckdb_string_t *s = &((duckdb_string_t *)duckdb_vector_get_data(v))[row];
	assert_int_equal(duckdb_string_t_length(*s), strlen(want));
	assert_memory_equal(duckdb_string_t_data(s), want, strlen(want));
}

/*
 * character(n) without its pad blanks (DEC_BPCHAR, char_padding = "trim"): only trailing ' '
 * go, as PostgreSQL's value::text drops them; blanks inside, leading ones, tabs stay; a value
 * of blanks only becomes ''.  DEC_TEXT (char_padding = "keep") keeps every byte.
 */
static void
trims_bpchar_pad_blanks(void **state)
{
	(void)state;
	static const char *const vals[] = {"ab   ", "     ", "a b ", "  x", "t\t ", "", "\xc3\xa9 "};
	static const char *const trimmed[] = {"ab", "", "a b", "  x", "t\t", "", "\xc3\xa9"};
	const int n = (int)(sizeof(vals) / sizeof(vals[0]));
	uint8_t buf[512];
	size_t len = 0;
	static const uint8_t header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
	memcpy(buf, header, sizeof(header));
	len = sizeof(header);
	for (int i = 0; i <= n; i++) {
		uint32_t l = i < n ? (uint32_t)strlen(vals[i]) : 0xffffffffu; /* the last row: NULL */
		buf[len++] = 0, buf[len++] = 2; /* two fields: trimmed and kept */
		for (int f = 0; f < 2; f++) {
			buf[len++] = (uint8_t)(l >> 24), buf[len++] = (uint8_t)(l >> 16);
			buf[len++] = (uint8_t)(l >> 8), buf[len++] = (uint8_t)l;
			if (i < n) {
				memcpy(buf + len, vals[i], l);
				len += l;
			}
		}
	}
	buf[len++] = 0xff, buf[len++] = 0xff;

	pg2md_column cols[2] = {{.name = "c", .pg_type = "character(5)", .dec = DEC_BPCHAR},
				{.name = "k", .pg_type = "character(5)", .dec = DEC_TEXT}};
	pg2md_table t = {.name = "bp", .cols = cols, .ncols = 2};
	duckdb_logical_type lts[2] = {mk(DUCKDB_TYPE_VARCHAR), mk(DUCKDB_TYPE_VARCHAR)};
	duckdb_data_chunk chunk = duckdb_create_data_chunk(lts, 2);
	copydec dec;
	copydec_init(&dec, &t, false);
	copydec_bind_chunk(&dec, chunk);
	int32_t off = 0;
	idx_t row = 0;
	pg2md_error err;
	pg2md_error_init(&err);
	assert_int_equal(copydec_feed(&dec, &t, buf, (int32_t)len, &off, &row, 2048, &err), PG2MD_OK);
	assert_int_equal(row, (idx_t)n + 1);
	duckdb_data_chunk_set_size(chunk, row);
	duckdb_vector vt = duckdb_data_chunk_get_vector(chunk, 0), vk = duckdb_data_chunk_get_vector(chunk, 1);
	for (int i = 0; i < n; i++) {
		assert_vstr(vt, (idx_t)i, trimmed[i]);
		assert_vstr(vk, (idx_t)i, vals[i]);
	}
	assert_false(duckdb_validity_row_is_valid(duckdb_vector_get_validity(vt), (idx_t)n));
	copydec_release(&dec);
	duckdb_destroy_data_chunk(&chunk);
	for (int i = 0; i < 2; i++)
		duckdb_destroy_logical_type(&lts[i]);
}

static void
decode_nested(nested_fixture *fx, pg2md_code want, pg2md_error *err)
{
	long len;
	uint8_t *buf = read_fixture("nested.copy", &len);
	int32_t off = 0;
	idx_t row = 0;
	pg2md_error_init(err);
	assert_int_equal(copydec_feed(&fx->dec, &fx->table, buf, (int32_t)len, &off, &row, 2048, err), want);
	if (want == PG2MD_OK)
		assert_int_equal(row, 3);
	duckdb_data_chunk_set_size(fx->chunk, row);
	free(buf);
}

static void
decodes_arrays_enums_composites(void **state)
{
	(void)state;
	nested_fixture fx;
	pg2md_error err;
	setup_nested(&fx, false, 1);
	decode_nested(&fx, PG2MD_OK, &err);

	/* int[]: {1,NULL,3}, {}, then 3000 elements (the child grows past its first reservation) */
	duckdb_vector v = vec(&fx, 0), ch = duckdb_list_vector_get_child(v);
	int32_t *iv = duckdb_vector_get_data(ch);
	duckdb_list_entry e = entry(v, 0);
	assert_int_equal(e.length, 3);
	assert_int_equal(iv[e.offset], 1);
	assert_true(vnull(ch, e.offset + 1));
	assert_int_equal(iv[e.offset + 2], 3);
	assert_false(vnull(v, 1));
	assert_int_equal(entry(v, 1).length, 0);
	e = entry(v, 2);
	assert_int_equal(e.length, 3000);
	for (int k = 0; k < 3000; k++)
		assert_int_equal(iv[e.offset + (idx_t)k], k + 1);
	assert_int_equal(duckdb_list_vector_get_size(v), 3003);

	/* int[][]: {{1,2},{3,4}} is a LIST of two LISTs; NULL */
	v = vec(&fx, 1);
	e = entry(v, 0);
	assert_int_equal(e.length, 2);
	duckdb_vector mid = duckdb_list_vector_get_child(v), leaf = duckdb_list_vector_get_child(mid);
	int32_t *lv = duckdb_vector_get_data(leaf);
	for (int k = 0; k < 2; k++) {
		duckdb_list_entry me = entry(mid, e.offset + (idx_t)k);
		assert_int_equal(me.length, 2);
		assert_int_equal(lv[me.offset], 2 * k + 1);
		assert_int_equal(lv[me.offset + 1], 2 * k + 2);
	}
	assert_true(vnull(v, 1));
	assert_int_equal(entry(v, 1).length, 0); /* a NULL LIST points at no entry */

	/* text[]: {"a,b",NULL,""} */
	v = vec(&fx, 2);
	ch = duckdb_list_vector_get_child(v);
	e = entry(v, 0);
	assert_int_equal(e.length, 3);
	assert_vstr(ch, e.offset, "a,b");
	assert_true(vnull(ch, e.offset + 1));
	assert_vstr(ch, e.offset + 2, "");

	/* enum: it's (index 2), NULL, sad (index 0) */
	v = vec(&fx, 3);
	assert_int_equal(copydec_enum_width(3), 1);
	assert_int_equal(((uint8_t *)duckdb_vector_get_data(v))[0], 2);
	assert_true(vnull(v, 1));
	assert_int_equal(((uint8_t *)duckdb_vector_get_data(v))[2], 0);

	/* pt: (1, 2.50, NULL); NULL composite has NULL fields too */
	v = vec(&fx, 4);
	duckdb_vector fx0 = duckdb_struct_vector_get_child(v, 0), fx1 = duckdb_struct_vector_get_child(v, 1),
		      fx2 = duckdb_struct_vector_get_child(v, 2);
	assert_int_equal(((int32_t *)duckdb_vector_get_data(fx0))[0], 1);
	assert_int_equal(((int64_t *)duckdb_vector_get_data(fx1))[0], 250);
	assert_true(vnull(fx2, 0));
	assert_false(vnull(v, 0));
	assert_true(vnull(v, 1));
	assert_true(vnull(fx0, 1) && vnull(fx1, 1) && vnull(fx2, 1));

	/* pt[]: {(1,1.00,x), NULL} — the NULL element's fields are NULL */
	v = vec(&fx, 5);
	ch = duckdb_list_vector_get_child(v);
	e = entry(v, 0);
	assert_int_equal(e.length, 2);
	assert_int_equal(((int32_t *)duckdb_vector_get_data(duckdb_struct_vector_get_child(ch, 0)))[e.offset], 1);
	assert_vstr(duckdb_struct_vector_get_child(ch, 2), e.offset, "x");
	assert_true(vnull(ch, e.offset + 1));
	assert_true(vnull(duckdb_struct_vector_get_child(ch, 0), e.offset + 1));
	assert_int_equal(entry(v, 1).length, 0);

	/* interval[] and timetz[] in their own types (direct mode) */
	v = vec(&fx, 6);
	duckdb_interval ivl = ((duckdb_interval *)duckdb_vector_get_data(duckdb_list_vector_get_child(v)))[entry(v, 0).offset];
	assert_int_equal(ivl.months, 1);
	assert_int_equal(ivl.days, -2);
	assert_int_equal(ivl.micros, 3);
	v = vec(&fx, 7);
	duckdb_time_tz tz = ((duckdb_time_tz *)duckdb_vector_get_data(duckdb_list_vector_get_child(v)))[entry(v, 0).offset];
	duckdb_time_tz_struct tzs = duckdb_from_time_tz(tz);
	assert_int_equal(tzs.time.hour, 12);
	assert_int_equal(tzs.offset, 5 * 3600 + 30 * 60);

	/* numeric[] without typmod: exact text elements */
	v = vec(&fx, 8);
	ch = duckdb_list_vector_get_child(v);
	assert_vstr(ch, entry(v, 0).offset, "NaN");
	assert_vstr(ch, entry(v, 0).offset + 1, "1.50");

	/* mood[]: {ok,NULL} */
	v = vec(&fx, 9);
	ch = duckdb_list_vector_get_child(v);
	assert_int_equal(((uint8_t *)duckdb_vector_get_data(ch))[entry(v, 0).offset], 1);
	assert_true(vnull(ch, entry(v, 0).offset + 1));
	teardown_nested(&fx);
}

static void
stages_nested_intervals_and_timetz_as_text(void **state)
{
	(void)state;
	nested_fixture fx;
	pg2md_error err;
	setup_nested(&fx, true, 1);
	decode_nested(&fx, PG2MD_OK, &err);
	duckdb_vector v = vec(&fx, 6);
	assert_vstr(duckdb_list_vector_get_child(v), entry(v, 0).offset, "1 months -2 days 3 microseconds");
	v = vec(&fx, 7);
	assert_vstr(duckdb_list_vector_get_child(v), entry(v, 0).offset, "12:00:00.000000+05:30:00");
	teardown_nested(&fx);
}

static void
array_with_other_dimensions_fails_naming_column(void **state)
{
	(void)state;
	nested_fixture fx;
	pg2md_error err;
	/* the first column declares 2 dimensions; its first value has 1 */
	setup_nested(&fx, false, 2);
	decode_nested(&fx, PG2MD_ERR_RUN, &err);
	assert_non_null(strstr(err.msg, "1 dimension"));
	assert_non_null(strstr(err.msg, "\"c\""));
	teardown_nested(&fx);
}

static void
enum_index_width_matches_duckdb(void **state)
{
	(void)state;
	static const int counts[] = {1, 255, 256, 65535, 65536};
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		int n = counts[k];
		char **names = calloc((size_t)n, sizeof(char *));
		for (int i = 0; i < n; i++) {
			names[i] = malloc(12);
			snprintf(names[i], 12, "l%d", i);
		}
		duckdb_logical_type t = duckdb_create_enum_type((const char **)names, (idx_t)n);
		duckdb_type it = duckdb_enum_internal_type(t);
		int width = it == DUCKDB_TYPE_UTINYINT ? 1 : it == DUCKDB_TYPE_USMALLINT ? 2 : 4;
		assert_int_equal(copydec_enum_width(n), width);
		duckdb_destroy_logical_type(&t);
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes_every_type),
		cmocka_unit_test(decodes_row_by_row_and_respects_capacity),
		cmocka_unit_test(rejects_truncated_and_corrupt_input),
		cmocka_unit_test(empty_result_is_header_and_trailer),
		cmocka_unit_test(numeric_text_matches_postgres),
		cmocka_unit_test(decodes_numeric_as_double),
		cmocka_unit_test(trims_bpchar_pad_blanks),
		cmocka_unit_test(decodes_arrays_enums_composites),
		cmocka_unit_test(stages_nested_intervals_and_timetz_as_text),
		cmocka_unit_test(array_with_other_dimensions_fails_naming_column),
		cmocka_unit_test(enum_index_width_matches_duckdb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

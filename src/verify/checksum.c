/*
 * checksum.c — the per-type SQL expressions of `pg2md verify` (see checksum.h).
 *
 * Each pair of expressions (PostgreSQL, DuckDB) yields identical text for
 * equal values and different text for different ones; they are the forms
 * proven by tests/e2e/t01_harness.sh on every edge value (tests/lib/compare.sh
 * holds the same pairs as pg_temp functions and DuckDB macros).  PostgreSQL
 * gets them inline, because verify runs in a read-only transaction where no
 * temporary function can be created; DuckDB gets TEMP macros.
 *
 * A row: each field's canonical text hashed on its own (md5, 32 hex digits; the
 * source's text converted to UTF-8 first when the database is not UTF-8; a bytea's
 * bytes hashed as they are), NULL as \N (never an md5), and the row's hash the md5
 * of its fields' in column order.  The row's text is never put together: for
 * values of several MB that held several copies of every row (a `||` chain copies
 * the growing text at each step, escaping copies it again), 2.5 GB for 42 rows of
 * up to 10 MB (docs/reliability.md).  LISTs and STRUCTs are walked element by
 * element and field by field (pg_nested, duck_nested), each scalar in its own form,
 * their text leaves escaped so the structure stays unambiguous.  The row's md5
 * is computed by each database; the first 15 hex digits (60 bits) are summed
 * as numeric (PostgreSQL) or HUGEINT (DuckDB), so the sum cannot overflow and
 * does not depend on row order.
 */
#include "verify/checksum.h"

#include <stdlib.h>
#include <string.h>

#include "schema/types.h"
#include "source/catalog.h"

static const char *const kind_names[] = {
	[CKS_BOOL] = "bool", [CKS_INT] = "int", [CKS_FLOAT] = "float", [CKS_NUMERIC] = "numeric",
	[CKS_NUM_FLOAT] = "numeric as float", [CKS_TEXT] = "text", [CKS_DATE] = "date",
	[CKS_TS] = "timestamp", [CKS_TSTZ] = "timestamptz", [CKS_TIME] = "time", [CKS_TIMETZ] = "timetz",
	[CKS_INTERVAL] = "interval", [CKS_BYTEA] = "bytea", [CKS_UUID] = "uuid", [CKS_BPCHAR] = "character",
	[CKS_NUM_TRIM] = "numeric (measured)", [CKS_NESTED] = "nested",
};

const char *
checksum_kind_name(checksum_kind k)
{
	return kind_names[k];
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The form of a scalar inside a LIST or STRUCT, from its decoder. */
static checksum_kind
dec_kind(pg2md_dec dec)
{
	switch (dec) {
	case DEC_BOOL: return CKS_BOOL;
	case DEC_INT2: case DEC_INT4: case DEC_INT8: case DEC_OID: return CKS_INT;
	case DEC_FLOAT4: case DEC_FLOAT8: return CKS_FLOAT;
	case DEC_NUMERIC_DECIMAL: case DEC_NUMERIC_TEXT: return CKS_NUMERIC;
	case DEC_NUMERIC_DOUBLE: return CKS_NUM_FLOAT;
	case DEC_DATE: return CKS_DATE;
	case DEC_TIME: return CKS_TIME;
	case DEC_TIMETZ: return CKS_TIMETZ;
	case DEC_TIMESTAMP: return CKS_TS;
	case DEC_TIMESTAMPTZ: return CKS_TSTZ;
	case DEC_INTERVAL: return CKS_INTERVAL;
	case DEC_UUID: return CKS_UUID;
	case DEC_BYTEA: return CKS_BYTEA;
	case DEC_BPCHAR: return CKS_BPCHAR;
	default: return CKS_TEXT; /* text, "char", json, jsonb, enum labels */
	}
}

checksum_kind
checksum_kind_of(const pg2md_column *col, const char *duck_type)
{
	checksum_kind k;
	bool duck_text = duck_type && (strcmp(duck_type, "VARCHAR") == 0 || strcmp(duck_type, "JSON") == 0);

	/* Arrays and composites: element by element when DuckDB holds the type pg2md writes (a
	 * missing destination, duck_type NULL, needs the source side only). */
	if (col->type && (col->dec == DEC_LIST || col->dec == DEC_STRUCT))
		return !duck_type || strcmp(duck_type, col->duck_type) == 0 ? CKS_NESTED : CKS_TEXT;

	switch (col->type_oid) {
	case BOOLOID: k = CKS_BOOL; break;
	case INT2OID: case INT4OID: case INT8OID: case OIDOID: k = CKS_INT; break;
	case FLOAT4OID: case FLOAT8OID: k = CKS_FLOAT; break;
	case NUMERICOID:
		if (duck_type && (strcmp(duck_type, "DOUBLE") == 0 || strcmp(duck_type, "FLOAT") == 0))
			return CKS_NUM_FLOAT;
		if (col->typmod < 0 && duck_type && starts_with(duck_type, "DECIMAL"))
			return CKS_NUM_TRIM;
		return CKS_NUMERIC; /* DECIMAL or VARCHAR: both print PostgreSQL's text */
	case DATEOID: k = CKS_DATE; break;
	case TIMESTAMPOID: k = CKS_TS; break;
	case TIMESTAMPTZOID: k = CKS_TSTZ; break;
	case TIMEOID: k = CKS_TIME; break;
	case TIMETZOID: k = CKS_TIMETZ; break;
	case INTERVALOID: k = CKS_INTERVAL; break;
	case BYTEAOID: k = CKS_BYTEA; break;
	case UUIDOID: k = CKS_UUID; break;
	default: k = col->dec == DEC_BPCHAR ? CKS_BPCHAR : CKS_TEXT; break;
	}
	/* A typed value the destination holds as text: compare the texts. */
	if (k != CKS_BPCHAR && (duck_text || (duck_type && starts_with(duck_type, "VARCHAR"))))
		return CKS_TEXT;
	return k;
}

/* ---- PostgreSQL ------------------------------------------------------------- */

/*
 * The float8 v (an expression) as an exact hex float, from its IEEE bits
 * (float8send): sign, 11-bit exponent, 52-bit fraction.
 */
static void
pg_float(pg2md_buf *b, const char *v)
{
	pg2md_buf bits = PG2MD_BUF_INIT, e = PG2MD_BUF_INIT, m = PG2MD_BUF_INIT;

	buf_printf(&bits, "('x' || encode(float8send(%s), 'hex'))::bit(64)::int8", v);
	buf_printf(&e, "((%s >> 52) & 2047)", bits.data);
	buf_printf(&m, "(%s & 4503599627370495)", bits.data);
	buf_printf(b,
		   "CASE WHEN %1$s IS NULL THEN NULL WHEN %1$s = 'NaN'::float8 THEN 'NaN'"
		   " WHEN %1$s = 'Infinity'::float8 THEN 'Infinity' WHEN %1$s = '-Infinity'::float8 THEN '-Infinity'"
		   " ELSE CASE WHEN %2$s < 0 THEN '-' ELSE '' END"
		   " || CASE WHEN %3$s = 0 AND %4$s = 0 THEN '0x0p+0'"
		   " WHEN %3$s = 0 THEN '0x0.' || lpad(to_hex(%4$s), 13, '0') || 'p-1022'"
		   " ELSE '0x1.' || lpad(to_hex(%4$s), 13, '0') || 'p'"
		   " || CASE WHEN %3$s >= 1023 THEN '+' ELSE '' END || (%3$s - 1023)::text END END",
		   v, bits.data, e.data, m.data);
	if (buf_broken(&bits) || buf_broken(&e) || buf_broken(&m))
		buf_break(b); /* whoever runs b says out of memory */
	buf_release(&bits);
	buf_release(&e);
	buf_release(&m);
}

/* Append the canonical text of column c (a quoted identifier) as PostgreSQL computes it. */
static void
pg_expr(pg2md_buf *b, checksum_kind k, const char *c)
{
	switch (k) {
	case CKS_BOOL:
		buf_printf(b, "CASE WHEN %1$s THEN 't' WHEN NOT %1$s THEN 'f' END", c);
		break;
	case CKS_INT:
	case CKS_NUMERIC: /* PostgreSQL never prints ".5": the leading zero is there already */
	case CKS_UUID:
		buf_printf(b, "%s::text", c);
		break;
	case CKS_FLOAT: {
		char *v = xasprintf("%s::float8", c);
		if (v)
			pg_float(b, v);
		else
			buf_break(b);
		free(v);
		break;
	}
	case CKS_NUM_FLOAT: {
		/*
		 * The double nearest to the numeric, as the decoder's strtod rounds it; PostgreSQL's
		 * own cast (the same strtod) refuses what rounds to ±Infinity or to zero, so those are
		 * decided here, exactly: |v| >= 2^1024 - 2^970 (halfway past DBL_MAX) overflows,
		 * |v| <= 2^-1075 (half the smallest subnormal, ties to even) underflows.
		 */
		char *v = xasprintf("(%s)::float8", c);
		if (!v) {
			buf_break(b);
			break;
		}
		buf_printf(b, "CASE WHEN %1$s IS NULL THEN NULL WHEN %1$s = 'NaN'::numeric THEN 'NaN'"
			      " WHEN %1$s >= 2::numeric ^ 970 * (2::numeric ^ 54 - 1) THEN 'Infinity'"
			      " WHEN %1$s <= -(2::numeric ^ 970 * (2::numeric ^ 54 - 1)) THEN '-Infinity'"
			      " WHEN abs(%1$s) * 2::numeric ^ 1075 <= 1 THEN CASE WHEN %1$s < 0 THEN '-0x0p+0' ELSE '0x0p+0' END"
			      " ELSE ", c);
		pg_float(b, v);
		buf_puts(b, " END");
		free(v);
		break;
	}
	case CKS_NUM_TRIM:
		buf_printf(b, "CASE WHEN strpos(%1$s::text, '.') > 0 THEN rtrim(rtrim(%1$s::text, '0'), '.') ELSE %1$s::text END", c);
		break;
	case CKS_BPCHAR:
		/* value::text drops the pad blanks, as the decoder does (a field is hashed alone: no escaping) */
		buf_printf(b, "(%s)::pg_catalog.text", c);
		break;
	case CKS_TEXT:
		/* The type's output function (bpchar keeps its padding, unlike ::text); num_nulls because a
		 * composite whose fields are all NULL IS NULL without being NULL. */
		buf_printf(b, "CASE WHEN num_nulls(%s) = 0 THEN format('%%s', %s) END", c, c);
		break;
	case CKS_DATE:
		buf_printf(b, "CASE WHEN %1$s = 'infinity'::date THEN 'infinity' WHEN %1$s = '-infinity'::date THEN '-infinity'"
			      " ELSE (%1$s - DATE '1970-01-01')::text END", c);
		break;
	case CKS_TS:
	case CKS_TSTZ: {
		const char *t = k == CKS_TS ? "timestamp" : "timestamptz";
		buf_printf(b, "CASE WHEN %1$s = 'infinity'::%2$s THEN 'infinity' WHEN %1$s = '-infinity'::%2$s THEN '-infinity'"
			      " ELSE trunc(extract(epoch FROM %1$s) * 1000000)::text END", c, t);
		break;
	}
	case CKS_TIME:
		buf_printf(b, "trunc(extract(epoch FROM %s) * 1000000)::text", c);
		break;
	case CKS_TIMETZ:
		buf_printf(b, "trunc(extract(epoch FROM %1$s::time) * 1000000)::text || '@' || trunc(extract(timezone FROM %1$s))::text",
			   c);
		break;
	case CKS_INTERVAL:
		buf_printf(b, "trunc(extract(year FROM %1$s) * 12 + extract(month FROM %1$s))::text || 'm'"
			      " || trunc(extract(day FROM %1$s))::text || 'd'"
			      " || trunc(extract(hour FROM %1$s) * 3600000000 + extract(minute FROM %1$s) * 60000000"
			      " + extract(microseconds FROM %1$s))::text || 'us'", c);
		break;
	case CKS_BYTEA:
		buf_printf(b, "encode(%s, 'hex')", c);
		break;
	case CKS_NESTED: /* pg_nested, which needs the column's type */
		buf_puts(b, "NULL");
		break;
	}
}

/*
 * Nested values.  A LIST is "[" then ",<element>" per element then "]" (so an
 * empty list and a list of one empty element differ), one level per
 * dimension; a STRUCT is "{" fields joined with "," "}"; NULL is \N; text
 * leaves escape \ , [ ] { } and | with a \, so the structure and the row's
 * "|" separators stay unambiguous.  PostgreSQL walks generate_subscripts
 * per dimension (the array's own bounds), DuckDB list_transform.
 */
#define PG_TEXT_LEAF \
	"replace(replace(replace(replace(replace(replace(replace(CASE WHEN num_nulls(%1$s) = 0 THEN format('%%s', %1$s) END," \
	" '\\', '\\\\'), ',', '\\,'), '[', '\\['), ']', '\\]'), '{', '\\{'), '}', '\\}'), '|', '\\|')"

static void
pg_nested(pg2md_buf *b, const pg2md_type *ty, const char *e, int *n)
{
	if (ty->dec == DEC_LIST) {
		int id = (*n)++;
		pg2md_buf el = PG2MD_BUF_INIT, inner = PG2MD_BUF_INIT, outer = PG2MD_BUF_INIT;
		buf_printf(&el, "(%s)", e);
		for (int k = 1; k <= ty->ndim; k++)
			buf_printf(&el, "[pg2md_s%d_%d]", id, k);
		buf_puts(&inner, "',' || coalesce(");
		pg_nested(&inner, ty->elem, el.data, n);
		buf_puts(&inner, ", '\\N')");
		for (int k = ty->ndim; k >= 1; k--) {
			buf_reset(&outer);
			buf_printf(&outer, "'[' || coalesce((SELECT string_agg(%s, '' ORDER BY pg2md_s%d_%d)"
					   " FROM pg_catalog.generate_subscripts(%s, %d) AS pg2md_s%d_%d), '') || ']'",
				   inner.data, id, k, e, k, id, k);
			if (k > 1) {
				buf_reset(&inner);
				buf_printf(&inner, "',' || %s", outer.data);
			}
		}
		buf_printf(b, "CASE WHEN num_nulls(%s) = 1 THEN NULL ELSE %s END", e, outer.data);
		if (buf_broken(&el) || buf_broken(&inner) || buf_broken(&outer))
			buf_break(b);
		buf_release(&el);
		buf_release(&inner);
		buf_release(&outer);
	} else if (ty->dec == DEC_STRUCT) {
		pg2md_buf f = PG2MD_BUF_INIT;
		buf_printf(b, "CASE WHEN num_nulls(%s) = 1 THEN NULL ELSE '{' || ", e);
		for (int i = 0; i < ty->nfields; i++) {
			buf_reset(&f);
			buf_printf(&f, "(%s).", e);
			buf_ident(&f, ty->field_names[i]);
			buf_puts(b, i ? " || ',' || coalesce(" : "coalesce(");
			pg_nested(b, &ty->fields[i], f.data, n);
			buf_puts(b, ", '\\N')");
		}
		buf_puts(b, " || '}' END");
		if (buf_broken(&f))
			buf_break(b);
		buf_release(&f);
	} else {
		checksum_kind k = dec_kind(ty->dec);
		char *v = k == CKS_BPCHAR ? xasprintf("(%s)::pg_catalog.text", e) : xasprintf("(%s)", e);
		if (!v)
			buf_break(b);
		else if (k == CKS_TEXT || k == CKS_BPCHAR)
			buf_printf(b, PG_TEXT_LEAF, v);
		else
			pg_expr(b, k, v);
		free(v);
	}
}

void
checksum_pg_sql(pg2md_buf *out, const char *schema, const pg2md_table *t, const checksum_kind *kinds,
		const char *where, bool to_utf8)
{
	pg2md_buf row = PG2MD_BUF_INIT, col = PG2MD_BUF_INIT;

	int n = 0;
	for (int i = 0; i < t->ncols; i++) {
		if (schema_column_synthetic(&t->cols[i]))
			continue; /* not at the source (lineage); a table without columns compares its count */
		buf_reset(&col);
		if (t->cols[i].src_expr)
			buf_printf(&col, "(%s)", t->cols[i].src_expr); /* a data_type override: the value loaded */
		else
			buf_ident(&col, t->cols[i].name);
		if (n++)
			buf_puts(&row, " || ");
		if (kinds[i] == CKS_BYTEA) {
			/* the bytes themselves: md5 of a bytea is md5 of its bytes, as DuckDB's of a BLOB */
			buf_printf(&row, "coalesce(md5(%s), '\\N')", col.data);
			continue;
		}
		buf_puts(&row, to_utf8 ? "coalesce(md5(convert_to(" : "coalesce(md5(");
		if (kinds[i] == CKS_NESTED) {
			int n = 0;
			pg_nested(&row, t->cols[i].type, col.data, &n);
		} else {
			pg_expr(&row, kinds[i], col.data);
		}
		buf_puts(&row, to_utf8 ? ", 'UTF8')), '\\N')" : "), '\\N')");
	}
	if (n == 0)
		buf_puts(&row, "''");
	buf_printf(out, "SELECT count(*), coalesce(sum(('x' || substr(md5(%s), 1, 15))::bit(60)::int8), 0)::text FROM ",
		   row.data);
	catalog_source_rel(out, schema, t);
	if (where && *where)
		buf_printf(out, " WHERE (%s)", where);
	if (buf_broken(&row) || buf_broken(&col))
		buf_break(out);
	buf_release(&row);
	buf_release(&col);
}

/* ---- DuckDB ----------------------------------------------------------------- */

/*
 * Floats: DuckDB cannot read a double's bits, so the same hex form comes from
 * exact arithmetic: floor(log2(|x|)) guesses the exponent, one step corrects
 * it, and divisions by powers of two (exact) give the fraction bits.
 */
const char *const checksum_duck_prelude =
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_bool(v) AS CASE WHEN v THEN 't' WHEN NOT v THEN 'f' END;\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_num(t) AS CASE WHEN left(t, 1) = '.' THEN '0' || t\n"
	"    WHEN left(t, 2) = '-.' THEN '-0' || substr(t, 2) ELSE t END;\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_numtrim(t) AS CASE WHEN strpos(t, '.') > 0\n"
	"    THEN rtrim(rtrim(t, '0'), '.') ELSE t END;\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_f8hex(i, n) AS lpad(lower(hex(CAST(i AS BIGINT))), n, '0');\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_f8norm(sg, a, e) AS CASE\n"
	"    WHEN e < -1022 THEN sg || '0x0.' || pg2md_cks_f8hex(a / pow(2.0, -1074), 13) || 'p-1022'\n"
	"    ELSE sg || '0x1.' || pg2md_cks_f8hex((a / pow(2.0, e) - 1.0) * pow(2.0, 52), 13) || 'p'\n"
	"         || CASE WHEN e >= 0 THEN '+' ELSE '' END || CAST(e AS VARCHAR) END;\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_f8exp(a, e0) AS e0 + CASE WHEN a / pow(2.0, e0) >= 2.0 THEN 1\n"
	"    WHEN a / pow(2.0, e0) < 1.0 THEN -1 ELSE 0 END;\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_f8x(x) AS CASE WHEN x IS NULL THEN NULL\n"
	"    WHEN isnan(x) THEN 'NaN' WHEN x = 'inf'::DOUBLE THEN 'Infinity' WHEN x = '-inf'::DOUBLE THEN '-Infinity'\n"
	"    WHEN x = 0 THEN CASE WHEN left(CAST(x AS VARCHAR), 1) = '-' THEN '-0x0p+0' ELSE '0x0p+0' END\n"
	"    ELSE pg2md_cks_f8norm(CASE WHEN x < 0 THEN '-' ELSE '' END, abs(x),\n"
	"                          pg2md_cks_f8exp(abs(x), CAST(floor(log2(abs(x))) AS INTEGER))) END;\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_f8(v) AS pg2md_cks_f8x(CAST(v AS DOUBLE));\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_date(v) AS CASE WHEN v = 'infinity'::DATE THEN 'infinity'\n"
	"    WHEN v = '-infinity'::DATE THEN '-infinity' ELSE CAST(datediff('day', DATE '1970-01-01', v) AS VARCHAR) END;\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_ts(v) AS CASE WHEN v = 'infinity'::TIMESTAMP THEN 'infinity'\n"
	"    WHEN v = '-infinity'::TIMESTAMP THEN '-infinity' ELSE CAST(epoch_us(v) AS VARCHAR) END;\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_tstz(v) AS CASE WHEN v = 'infinity'::TIMESTAMPTZ THEN 'infinity'\n"
	"    WHEN v = '-infinity'::TIMESTAMPTZ THEN '-infinity' ELSE CAST(epoch_us(v) AS VARCHAR) END;\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_time(v) AS CAST(epoch_us(CAST(v AS TIME)) AS VARCHAR);\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_timetz(v) AS pg2md_cks_time(CAST(v AS TIME)) || '@'\n"
	"    || CAST(extract('timezone' FROM v) AS VARCHAR);\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_interval(v) AS\n"
	"    CAST(CAST(extract('year' FROM v) AS HUGEINT) * 12 + extract('month' FROM v) AS VARCHAR) || 'm'\n"
	"    || CAST(extract('day' FROM v) AS VARCHAR) || 'd'\n"
	"    || CAST(CAST(extract('hour' FROM v) AS HUGEINT) * 3600000000 + CAST(extract('minute' FROM v) AS HUGEINT) * 60000000\n"
	"            + extract('microsecond' FROM v) AS VARCHAR) || 'us';\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_bytea(v) AS lower(hex(v));\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_uuid(v) AS lower(CAST(v AS VARCHAR));\n"
	"CREATE OR REPLACE TEMP MACRO pg2md_cks_lesc(t) AS replace(replace(replace(replace(replace(replace(replace(t,\n"
	"    '\\', '\\\\'), ',', '\\,'), '[', '\\['), ']', '\\]'), '{', '\\{'), '}', '\\}'), '|', '\\|');\n";

/* Append the canonical text of column c (a quoted identifier) as DuckDB computes it. */
static void
duck_expr(pg2md_buf *b, checksum_kind k, const char *c)
{
	switch (k) {
	case CKS_BOOL: buf_printf(b, "pg2md_cks_bool(%s)", c); break;
	case CKS_INT: buf_printf(b, "CAST(%s AS VARCHAR)", c); break;
	case CKS_FLOAT: case CKS_NUM_FLOAT: buf_printf(b, "pg2md_cks_f8(%s)", c); break;
	case CKS_NUMERIC: buf_printf(b, "pg2md_cks_num(CAST(%s AS VARCHAR))", c); break;
	case CKS_TEXT: case CKS_BPCHAR: buf_printf(b, "CAST(%s AS VARCHAR)", c); break; /* hashed alone */
	case CKS_NUM_TRIM: buf_printf(b, "pg2md_cks_numtrim(pg2md_cks_num(CAST(%s AS VARCHAR)))", c); break;
	case CKS_DATE: buf_printf(b, "pg2md_cks_date(%s)", c); break;
	case CKS_TS: buf_printf(b, "pg2md_cks_ts(%s)", c); break;
	case CKS_TSTZ: buf_printf(b, "pg2md_cks_tstz(%s)", c); break;
	case CKS_TIME: buf_printf(b, "pg2md_cks_time(%s)", c); break;
	case CKS_TIMETZ: buf_printf(b, "pg2md_cks_timetz(%s)", c); break;
	case CKS_INTERVAL: buf_printf(b, "pg2md_cks_interval(%s)", c); break;
	case CKS_BYTEA: buf_printf(b, "pg2md_cks_bytea(%s)", c); break;
	case CKS_UUID: buf_printf(b, "pg2md_cks_uuid(%s)", c); break;
	case CKS_NESTED: buf_puts(b, "NULL"); break; /* duck_nested, which needs the column's type */
	}
}

/* The nested form of pg_nested, as DuckDB computes it. */
static void
duck_nested(pg2md_buf *b, const pg2md_type *ty, const char *e, int *n)
{
	if (ty->dec == DEC_LIST) {
		int id = (*n)++;
		pg2md_buf el = PG2MD_BUF_INIT, inner = PG2MD_BUF_INIT, outer = PG2MD_BUF_INIT;
		buf_printf(&el, "pg2md_v%d_%d", id, ty->ndim);
		buf_puts(&inner, "',' || coalesce(");
		duck_nested(&inner, ty->elem, el.data, n);
		buf_puts(&inner, ", '\\N')");
		for (int k = ty->ndim; k >= 1; k--) {
			char *src = k == 1 ? xstrdup(e) : xasprintf("pg2md_v%d_%d", id, k - 1);
			buf_reset(&outer);
			if (!src)
				buf_break(&outer);
			else
				buf_printf(&outer, "'[' || coalesce(array_to_string(list_transform(%s, lambda pg2md_v%d_%d: %s), ''), '') || ']'",
					   src, id, k, inner.data);
			free(src);
			if (k > 1) {
				buf_reset(&inner);
				buf_printf(&inner, "',' || coalesce(%s, '\\N')", outer.data);
			}
		}
		buf_printf(b, "CASE WHEN (%s) IS NULL THEN NULL ELSE %s END", e, outer.data);
		if (buf_broken(&el) || buf_broken(&inner) || buf_broken(&outer))
			buf_break(b);
		buf_release(&el);
		buf_release(&inner);
		buf_release(&outer);
	} else if (ty->dec == DEC_STRUCT) {
		pg2md_buf f = PG2MD_BUF_INIT;
		buf_printf(b, "CASE WHEN (%s) IS NULL THEN NULL ELSE '{' || ", e);
		for (int i = 0; i < ty->nfields; i++) {
			buf_reset(&f);
			buf_printf(&f, "struct_extract(%s, ", e);
			buf_literal(&f, ty->field_names[i]);
			buf_putc(&f, ')');
			buf_puts(b, i ? " || ',' || coalesce(" : "coalesce(");
			duck_nested(b, &ty->fields[i], f.data, n);
			buf_puts(b, ", '\\N')");
		}
		buf_puts(b, " || '}' END");
		if (buf_broken(&f))
			buf_break(b);
		buf_release(&f);
	} else {
		checksum_kind k = dec_kind(ty->dec);
		char *v = xasprintf("(%s)", e);
		if (!v)
			buf_break(b);
		else if (k == CKS_TEXT || k == CKS_BPCHAR)
			buf_printf(b, "pg2md_cks_lesc(CAST(%s AS VARCHAR))", v);
		else
			duck_expr(b, k, v);
		free(v);
	}
}

void
checksum_duck_sql(pg2md_buf *out, const char *dataset, const char *table, const pg2md_table *t,
		  const char *const *duck_cols, const checksum_kind *kinds, const char *where)
{
	pg2md_buf row = PG2MD_BUF_INIT, col = PG2MD_BUF_INIT;

	int n = 0;
	for (int i = 0; i < t->ncols; i++) {
		if (schema_column_synthetic(&t->cols[i]))
			continue;
		buf_reset(&col);
		buf_ident(&col, duck_cols[i]);
		/* concat(a, b, …), not a || b || …: a chain of 1,000 operators passes DuckDB's
		 * expression depth (a table of 1,500 columns); every argument is coalesced, never NULL */
		buf_puts(&row, n++ ? ", " : "concat(");
		if (kinds[i] == CKS_BYTEA) {
			buf_printf(&row, "coalesce(md5(%s), '\\N')", col.data);
			continue;
		}
		buf_puts(&row, "coalesce(md5(");
		if (kinds[i] == CKS_NESTED) {
			int n = 0;
			duck_nested(&row, t->cols[i].type, col.data, &n);
		} else {
			duck_expr(&row, kinds[i], col.data);
		}
		buf_puts(&row, "), '\\N')");
	}
	buf_puts(&row, n == 0 ? "''" : ")");
	buf_printf(out, "SELECT count(*), CAST(coalesce(sum(CAST('0x' || substr(md5(%s), 1, 15) AS BIGINT)), 0) AS VARCHAR) FROM ",
		   row.data);
	buf_ident(out, dataset);
	buf_putc(out, '.');
	buf_ident(out, table);
	if (where)
		buf_printf(out, " WHERE %s", where);
	if (buf_broken(&row) || buf_broken(&col))
		buf_break(out);
	buf_release(&row);
	buf_release(&col);
}

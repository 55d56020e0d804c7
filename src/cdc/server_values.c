/* server_values.c — values pg2md follow has the source render (see server_values.h). */
#include "cdc/server_values.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage/plan.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

/* Rows per statement: PostgreSQL takes at most 65,535 parameters in one. */
#define ROWS_MAX 2048
#define PARAMS_MAX 60000

bool
cdc_server_column(const pg2md_column *c)
{
	return !schema_column_synthetic(c) && (c->as_text || c->src_expr);
}

bool
cdc_text_native(const pg2md_column *c)
{
	switch (c->dec) {
	case DEC_BOOL: case DEC_INT2: case DEC_INT4: case DEC_INT8: case DEC_OID: case DEC_FLOAT4: case DEC_FLOAT8:
	case DEC_NUMERIC_DECIMAL: case DEC_NUMERIC_TEXT: case DEC_NUMERIC_DOUBLE: case DEC_TEXT: case DEC_BPCHAR:
	case DEC_CHAR: case DEC_BYTEA: case DEC_DATE: case DEC_TIME: case DEC_TIMESTAMP: case DEC_TIMESTAMPTZ:
	case DEC_UUID: case DEC_JSONB: case DEC_ENUM:
		/* a type read as text, or a data_type override: the run's value is the server's
		 * rendering, which protocol 1's text (the type's plain output) is not */
		return !c->as_text && !c->src_expr;
	default:
		return false;
	}
}

/* Under protocol 1: does t have a column DuckDB cannot read from text (the whole row then goes
 * through the server)? */
static bool
text_table_needs_server(const pg2md_table *t)
{
	for (int j = 0; j < t->ncols; j++)
		if (!schema_column_synthetic(&t->cols[j]) && !cdc_text_native(&t->cols[j]))
			return true;
	return false;
}

bool
cdc_server_needed(const pg2md_table *tables, int ntables, bool text)
{
	for (int i = 0; i < ntables; i++) {
		if (text && text_table_needs_server(&tables[i]))
			return true;
		for (int j = 0; !text && j < tables[i].ncols; j++)
			if (cdc_server_column(&tables[i].cols[j]))
				return true;
	}
	return false;
}

/*
 * The columns of t the server renders: their index in t (cols) and in the relation (relcols).
 * From binary values, those a run reads through the server; from text (all), every column of
 * the stream the table copies.
 */
static int
server_columns(const pg2md_table *t, const cdc_rel *rel, bool all, int *cols, int *relcols)
{
	int n = 0;
	for (int j = 0; j < t->ncols; j++) {
		if (all ? schema_column_synthetic(&t->cols[j]) : !cdc_server_column(&t->cols[j]))
			continue;
		for (int k = 0; k < rel->ncols; k++) {
			if (strcmp(rel->cols[k].name, t->cols[j].name) == 0) {
				cols[n] = j;
				relcols[n++] = k;
				break;
			}
		}
	}
	return n;
}

/*
 * SELECT <the run's expression of each column> FROM (VALUES (0, $1, $2), (1, $3, $4) …)
 * AS s(n, "a", "b") ORDER BY n: the parameters carry the stream's values with the relation's
 * types, so the server reads them with the types' receive functions (binary values) or input
 * functions (protocol 1's text, which is the types' output).  For a column a run decodes
 * itself the expression is the column, and the result its binary form, as in the run's COPY.
 */
static char *
convert_sql(const pg2md_table *t, const int *cols, int ncols, int nrows)
{
	/* the rows' ordinal, named apart from every column (a column "n" would make "n" ambiguous) */
	char ord[64] = "n";
	for (bool clash = true; clash && strlen(ord) < sizeof(ord) - 1;) {
		clash = false;
		for (int j = 0; j < t->ncols && !clash; j++)
			clash = strcmp(t->cols[j].name, ord) == 0;
		if (clash)
			strcat(ord, "_");
	}
	pg2md_buf b = PG2MD_BUF_INIT;
	buf_puts(&b, "SELECT ");
	for (int i = 0; i < ncols; i++) {
		if (i)
			buf_puts(&b, ", ");
		plan_column(&b, &t->cols[cols[i]]);
	}
	buf_puts(&b, " FROM (VALUES ");
	int p = 1;
	for (int r = 0; r < nrows; r++) {
		buf_printf(&b, "%s(%d", r ? ", " : "", r);
		for (int i = 0; i < ncols; i++)
			buf_printf(&b, ", $%d", p++);
		buf_putc(&b, ')');
	}
	buf_puts(&b, ") AS s(");
	buf_ident(&b, ord);
	for (int i = 0; i < ncols; i++) {
		buf_puts(&b, ", ");
		buf_ident(&b, t->cols[cols[i]].name);
	}
	buf_puts(&b, ") ORDER BY ");
	buf_ident(&b, ord);
	return buf_detach(&b);
}

/*
 * Rows lo..hi-1 of ft: their values of the columns go to the server and come back rendered.
 * kind is the stream's: 'b' binary values, 't' text (protocol 1; the texts are not
 * NUL-terminated in the message, so they are copied into one block that is).
 */
static pg2md_code
convert_rows(PGconn *conn, cdc_fold *f, cdc_fold_table *ft, const pg2md_table *t, const cdc_rel *rel,
	     const int *cols, const int *relcols, int ncols, int lo, int hi, char kind, pg2md_error *err)
{
	int nrows = hi - lo, np = nrows * ncols;
	size_t textlen = 0;
	for (int r = 0; kind == 't' && r < nrows; r++)
		for (int i = 0; i < ncols; i++)
			if (ft->rows[lo + r].cols[relcols[i]].kind == 't')
				textlen += ft->rows[lo + r].cols[relcols[i]].len + 1;
	Oid *types = mem_calloc((size_t)np + 1, sizeof(Oid));
	const char **vals = mem_calloc((size_t)np + 1, sizeof(char *));
	int *lens = mem_calloc((size_t)np + 1, sizeof(int));
	int *fmts = mem_calloc((size_t)np + 1, sizeof(int));
	char *texts = mem_calloc(textlen + 1, 1), *tp = texts;
	char *sql = NULL;
	PGresult *res = NULL;
	pg2md_code rc = PG2MD_OK;
	if (!types || !vals || !lens || !fmts || !texts) {
		rc = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int r = 0; r < nrows; r++) {
		const cdc_row *row = &ft->rows[lo + r];
		for (int i = 0; i < ncols; i++) {
			int p = r * ncols + i;
			const pgo_value *v = &row->cols[relcols[i]];
			types[p] = rel->cols[relcols[i]].type_oid;
			fmts[p] = kind == 'b';
			if (v->kind == 'b') {
				/* an empty value (a zero-length binary form) still needs a non-NULL pointer */
				vals[p] = v->len ? (const char *)v->data : "";
				lens[p] = (int)v->len;
			} else if (v->kind == 't') {
				memcpy(tp, v->data, v->len);
				tp[v->len] = '\0';
				vals[p] = tp;
				tp += v->len + 1;
			}
		}
	}
	sql = convert_sql(t, cols, ncols, nrows);
	if (sql == NULL) {
		rc = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto out;
	}
	res = PQexecParams(conn, sql, np, types, vals, lens, fmts, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != nrows) {
		rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not have PostgreSQL render the values of table \"%s\": %s",
				t->name, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		pg2md_detail(err, "pg2md follow sends the values of the columns a run reads as text (or through a "
				  "data_type override) back to the server, which renders them as the run would");
		goto out;
	}
	for (int r = 0; r < nrows && rc == PG2MD_OK; r++) {
		cdc_row *row = &ft->rows[lo + r];
		for (int i = 0; i < ncols; i++) {
			pgo_value *v = &row->cols[relcols[i]];
			if (v->kind != kind)
				continue;
			if (PQgetisnull(res, r, i)) {
				*v = (pgo_value){.kind = 'n'};
				continue;
			}
			int len = PQgetlength(res, r, i);
			uint8_t *copy = cdc_fold_alloc(f, (size_t)len + 1);
			if (copy == NULL) {
				rc = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory rendering the values of table \"%s\"",
						t->name);
				break;
			}
			memcpy(copy, PQgetvalue(res, r, i), (size_t)len);
			*v = (pgo_value){.kind = 'b', .len = (uint32_t)len, .data = copy};
		}
	}
out:
	PQclear(res);
	free(sql);
	free(types);
	free(vals);
	free(lens);
	free(fmts);
	free(texts);
	return rc;
}

/* The kind of the batch's values of ft ('b' binary, 't' text), 0 when it has none. */
static char
values_kind(const cdc_fold_table *ft)
{
	for (int r = 0; r < ft->nrows; r++)
		for (int j = 0; j < ft->ncols; j++) {
			char k = ft->rows[r].cols[j].kind;
			if (k == 't' || k == 'b')
				return k;
		}
	return 0;
}

/*
 * Text values of relation columns the table does not copy (excluded_columns) become NULL: the
 * batch of a table sent through the server is then binary throughout, as the apply requires.
 */
static void
drop_other_texts(cdc_fold_table *ft, const int *relcols, int ncols)
{
	for (int k = 0; k < ft->ncols; k++) {
		bool copied = false;
		for (int i = 0; i < ncols && !copied; i++)
			copied = relcols[i] == k;
		for (int r = 0; !copied && r < ft->nrows; r++)
			if (ft->rows[r].cols[k].kind == 't')
				ft->rows[r].cols[k] = (pgo_value){.kind = 'n'};
	}
}

pg2md_code
cdc_server_values(PGconn *conn, const pg2md_table *tables, int ntables, const cdc_relcache *rc, cdc_fold *f,
		  pg2md_error *err)
{
	for (int i = 0; i < f->n; i++) {
		cdc_fold_table *ft = &f->tables[i];
		const pg2md_table *t = NULL;
		for (int k = 0; k < ntables && !t; k++)
			if (tables[k].oid == ft->relid)
				t = &tables[k];
		const cdc_rel *rel = cdc_relcache_get(rc, ft->relid);
		if (t == NULL || rel == NULL || ft->nrows == 0)
			continue;
		/* text values (protocol 1): the whole row when DuckDB cannot read a column from text */
		char kind = values_kind(ft);
		if (kind == 0 || (kind == 't' && !text_table_needs_server(t)))
			continue;
		int *cols = mem_calloc((size_t)t->ncols + 1, sizeof(int));
		int *relcols = mem_calloc((size_t)t->ncols + 1, sizeof(int));
		if (!cols || !relcols) {
			free(cols);
			free(relcols);
			return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		}
		int ncols = server_columns(t, rel, kind == 't', cols, relcols);
		int step = ncols ? PARAMS_MAX / ncols : 0;
		if (step > ROWS_MAX)
			step = ROWS_MAX;
		pg2md_code r = PG2MD_OK;
		for (int lo = 0; ncols && lo < ft->nrows && r == PG2MD_OK; lo += step) {
			int hi = lo + step < ft->nrows ? lo + step : ft->nrows;
			r = convert_rows(conn, f, ft, t, rel, cols, relcols, ncols, lo, hi, kind, err);
		}
		if (r == PG2MD_OK && kind == 't')
			drop_other_texts(ft, relcols, ncols);
		if (ncols)
			pg2md_debug("rendered %d column(s) of %d row(s) of table \"%s\" on the server", ncols, ft->nrows,
				    t->name);
		free(cols);
		free(relcols);
		if (r)
			return r;
	}
	return PG2MD_OK;
}

/* server_values.c — values pg2md follow has the source render (see server_values.h). */
#include "cdc/server_values.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage/plan.h"
#include "util/buf.h"
#include "util/log.h"

/* Rows per statement: PostgreSQL takes at most 65,535 parameters in one. */
#define ROWS_MAX 2048
#define PARAMS_MAX 60000

bool
cdc_server_column(const pg2md_column *c)
{
	return !schema_column_synthetic(c) && (c->as_text || c->src_expr);
}

bool
cdc_server_needed(const pg2md_table *tables, int ntables)
{
	for (int i = 0; i < ntables; i++)
		for (int j = 0; j < tables[i].ncols; j++)
			if (cdc_server_column(&tables[i].cols[j]))
				return true;
	return false;
}

/* The columns of t the server renders: their index in t (cols) and in the relation (relcols). */
static int
server_columns(const pg2md_table *t, const cdc_rel *rel, int *cols, int *relcols)
{
	int n = 0;
	for (int j = 0; j < t->ncols; j++) {
		if (!cdc_server_column(&t->cols[j]))
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
 * AS s(n, "a", "b") ORDER BY n: the parameters carry the stream's binary values with the
 * relation's types, so the server reads them with the types' receive functions.
 */
static char *
convert_sql(const pg2md_table *t, const int *cols, int ncols, int nrows)
{
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
	buf_puts(&b, ") AS s(n");
	for (int i = 0; i < ncols; i++) {
		buf_puts(&b, ", ");
		buf_ident(&b, t->cols[cols[i]].name);
	}
	buf_puts(&b, ") ORDER BY n");
	return buf_detach(&b);
}

/* Rows lo..hi-1 of ft: their values of the columns go to the server and come back rendered. */
static pg2md_code
convert_rows(PGconn *conn, cdc_fold *f, cdc_fold_table *ft, const pg2md_table *t, const cdc_rel *rel,
	     const int *cols, const int *relcols, int ncols, int lo, int hi, pg2md_error *err)
{
	int nrows = hi - lo, np = nrows * ncols;
	Oid *types = xcalloc((size_t)np, sizeof(Oid));
	const char **vals = xcalloc((size_t)np, sizeof(char *));
	int *lens = xcalloc((size_t)np, sizeof(int));
	int *fmts = xcalloc((size_t)np, sizeof(int));
	char *sql = NULL;
	PGresult *res = NULL;
	pg2md_code rc = PG2MD_OK;
	if (!types || !vals || !lens || !fmts) {
		rc = pg2md_nomem(err);
		goto out;
	}
	for (int r = 0; r < nrows; r++) {
		const cdc_row *row = &ft->rows[lo + r];
		for (int i = 0; i < ncols; i++) {
			int p = r * ncols + i;
			const pgo_value *v = &row->cols[relcols[i]];
			types[p] = rel->cols[relcols[i]].type_oid;
			fmts[p] = 1;
			if (v->kind == 'b') {
				/* an empty value (a zero-length binary form) still needs a non-NULL pointer */
				vals[p] = v->len ? (const char *)v->data : "";
				lens[p] = (int)v->len;
			}
		}
	}
	if (!(sql = convert_sql(t, cols, ncols, nrows))) {
		rc = pg2md_nomem(err);
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
			if (v->kind != 'b')
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
	return rc;
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
		int *cols = xcalloc((size_t)t->ncols + 1, sizeof(int));
		int *relcols = xcalloc((size_t)t->ncols + 1, sizeof(int));
		if (!cols || !relcols) {
			free(cols);
			free(relcols);
			return pg2md_nomem(err);
		}
		int ncols = server_columns(t, rel, cols, relcols);
		int step = ncols ? PARAMS_MAX / ncols : 0;
		if (step > ROWS_MAX)
			step = ROWS_MAX;
		pg2md_code r = PG2MD_OK;
		for (int lo = 0; ncols && lo < ft->nrows && r == PG2MD_OK; lo += step) {
			int hi = lo + step < ft->nrows ? lo + step : ft->nrows;
			r = convert_rows(conn, f, ft, t, rel, cols, relcols, ncols, lo, hi, err);
		}
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

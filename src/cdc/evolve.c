/*
 * evolve.c — a followed table's column changes, from Relation messages to DuckDB (see evolve.h).
 *
 * Matching, between the message's columns (as the catalog reads them: destination names and
 * DuckDB types a run would give them) and the DuckDB table's:
 *   1. by destination name: the same column (its DuckDB type must be the run's, or the column
 *      is a numeric whose DECIMAL the initial copy measured);
 *   2. left over on both sides, at the same position with the same DuckDB type: a rename;
 *   3. left over in DuckDB: dropped;  left over in the message: added.
 * Statements: renames, then drops, then adds, so the columns end in PostgreSQL's order.
 */
#include "cdc/evolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/naming.h"
#include "source/pgconn.h"
#include "util/buf.h"
#include "util/log.h"

void
cdc_resync_hint(pg2md_error *err, const pg2md_config *cfg, const char *table)
{
	pg2md_hint(err, "resync this one table (docs/cdc.md, \"Resyncing one table\"): run pg2md follow --once with "
			"\"%s\" left out of tables (the others go on past this point), copy it again with pg2md run "
			"--tables %s, then put it back in tables and run pg2md follow (dataset %s)",
		   table, table, cfg->dataset_name);
}

void
cdc_evolve_plan_release(cdc_evolve_plan *p)
{
	if (p->all)
		schema_tables_free(p->all, p->nall);
	free(p->ddl);
	free(p->what);
	memset(p, 0, sizeof(*p));
}

/* A DuckDB query's first column of the first row, or NULL (error in err when it failed). */
static char *
duck_value(pg2md_dest *d, const char *sql, pg2md_error *err)
{
	duckdb_result res;
	if (buf_is_oom(sql)) {
		pg2md_nomem(err);
		return NULL;
	}
	if (duckdb_query(d->con, sql, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read the destination's columns: %s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		return NULL;
	}
	char *v = NULL;
	if (duckdb_row_count(&res) > 0) {
		char *s = duckdb_value_varchar(&res, 0, 0);
		v = s ? xstrdup(s) : NULL;
		if (s && !v)
			pg2md_nomem(err);
		duckdb_free(s);
	}
	duckdb_destroy_result(&res);
	return v;
}

/* How DuckDB spells duck_type in duckdb_columns() (TIMESTAMPTZ is TIMESTAMP WITH TIME ZONE). */
static char *
duck_canon(pg2md_dest *d, const char *duck_type, pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_printf(&q, "SELECT typeof(CAST(NULL AS %s))", duck_type);
	char *v = duck_value(d, q.data, err);
	buf_release(&q);
	return v;
}

static void
dest_table(pg2md_buf *b, const pg2md_config *cfg, const pg2md_table *t)
{
	buf_ident(b, cfg->dataset_name);
	buf_putc(b, '.');
	buf_ident(b, t->dest_name);
}

typedef struct dcols {
	char **name, **type;
	int n;
} dcols;

static void
dcols_free(dcols *c)
{
	for (int i = 0; i < c->n; i++) {
		free(c->name[i]);
		free(c->type[i]);
	}
	free(c->name);
	free(c->type);
}

static pg2md_code
duck_columns(pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *t, dcols *out, pg2md_error *err)
{
	memset(out, 0, sizeof(*out));
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
		     "AND schema_name = ");
	buf_literal(&q, cfg->dataset_name);
	buf_puts(&q, " AND table_name = ");
	buf_literal(&q, t->dest_name);
	buf_puts(&q, " ORDER BY column_index");
	duckdb_result res;
	if (buf_broken(&q))
		return pg2md_nomem(err);
	if (duckdb_query(d->con, q.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read the columns of \"%s\" in the destination: %s", t->dest_name,
			   duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		buf_release(&q);
		return PG2MD_ERR_RUN;
	}
	buf_release(&q);
	idx_t n = duckdb_row_count(&res);
	out->name = xcalloc(n + 1, sizeof(char *));
	out->type = xcalloc(n + 1, sizeof(char *));
	bool oom = !out->name || !out->type;
	for (idx_t r = 0; r < n && !oom; r++) {
		char *a = duckdb_value_varchar(&res, 0, r), *b = duckdb_value_varchar(&res, 1, r);
		out->name[r] = xstrdup(a ? a : "");
		out->type[r] = xstrdup(b ? b : "");
		out->n = (int)r + 1; /* dcols_free frees what was copied */
		oom = !out->name[r] || !out->type[r];
		duckdb_free(a);
		duckdb_free(b);
	}
	duckdb_destroy_result(&res);
	if (oom)
		return pg2md_nomem(err);
	if (n == 0)
		return pg2md_fail(err, PG2MD_ERR_RUN, "table %s.%s is not in the destination", cfg->dataset_name, t->dest_name);
	return PG2MD_OK;
}

static bool
numeric_dec(pg2md_dec dec)
{
	return dec == DEC_NUMERIC_DECIMAL || dec == DEC_NUMERIC_TEXT || dec == DEC_NUMERIC_DOUBLE;
}

/* DuckDB types a numeric column may have in the mirror (the initial copy measured a DECIMAL). */
static bool
numeric_duck(const char *type)
{
	return strncmp(type, "DECIMAL", 7) == 0 || strcmp(type, "DOUBLE") == 0 || strcmp(type, "VARCHAR") == 0;
}

/* The catalog moved on past the message: the table cannot be evolved to it from here. */
static pg2md_code
moved_on(pg2md_error *err, const pg2md_config *cfg, const pg2md_table *t, const char *what)
{
	pg2md_fail(err, PG2MD_ERR_RUN, "the columns of table \"%s\" changed at the source, and changed again later: "
		   "pg2md follow cannot tell how to decode its rows at this point of the stream", t->name);
	pg2md_detail(err, "%s", what);
	cdc_resync_hint(err, cfg, t->name);
	return PG2MD_ERR_RUN;
}

/* Existing rows' value for added column c: the DEFAULT clause or "" (NULL); error when unknown. */
static pg2md_code
added_default(PGconn *conn, pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *t, const pg2md_column *c,
	      pg2md_buf *clause, pg2md_error *err)
{
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", t->oid);
	const char *params[] = {oid, c->name};
	PGresult *res = pg_query(conn, "SELECT a.atthasmissing, (a.attmissingval::text::text[])[1], a.atthasdef "
				       "FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::oid AND a.attname = $2 "
				       "AND NOT a.attisdropped", 2, params, err);
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return moved_on(err, cfg, t, "a column the stream adds is no longer in the catalog");
	}
	bool missing = PQgetvalue(res, 0, 0)[0] == 't', hasdef = PQgetvalue(res, 0, 2)[0] == 't';
	bool null_missing = PQgetisnull(res, 0, 1);
	char *val = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	if (!val)
		return pg2md_nomem(err);
	pg2md_code rc = PG2MD_OK;
	if (missing && !null_missing) {
		static const pg2md_dec literal_ok[] = {DEC_BOOL, DEC_INT2, DEC_INT4, DEC_INT8, DEC_OID, DEC_FLOAT4, DEC_FLOAT8,
						       DEC_NUMERIC_DECIMAL, DEC_NUMERIC_TEXT, DEC_NUMERIC_DOUBLE, DEC_TEXT,
						       DEC_BPCHAR, DEC_DATE, DEC_TIMESTAMP, DEC_TIMESTAMPTZ, DEC_UUID, DEC_JSONB};
		bool ok = false;
		for (size_t i = 0; i < sizeof(literal_ok) / sizeof(literal_ok[0]); i++)
			ok |= c->dec == literal_ok[i];
		if (c->dec == DEC_TEXT && c->as_text)
			ok = false; /* a type read through its output function: its text is not DuckDB's */
		if (!ok) {
			pg2md_fail(err, PG2MD_ERR_RUN, "column \"%s\" (%s) was added to table \"%s\" with a DEFAULT pg2md follow "
				   "cannot give the existing rows", c->name, c->pg_type, t->name);
			pg2md_detail(err, "the value for existing rows is '%s'; follow writes such defaults for scalar types only", val);
			cdc_resync_hint(err, cfg, t->name);
			rc = PG2MD_ERR_RUN;
		} else {
			buf_puts(clause, " DEFAULT CAST(");
			buf_literal(clause, val);
			buf_printf(clause, " AS %s)", c->duck_type);
		}
	} else if (hasdef && !missing) {
		/* a volatile DEFAULT (or one over a rewrite) fills existing rows by rewriting the table,
		 * which logical replication does not send: each row's value is unknown here */
		pg2md_buf q = PG2MD_BUF_INIT;
		buf_puts(&q, "SELECT count(*) FROM (SELECT 1 FROM ");
		dest_table(&q, cfg, t);
		buf_puts(&q, " LIMIT 1)");
		char *n = duck_value(d, q.data, err);
		buf_release(&q);
		if (!n) {
			rc = err->code ? err->code : PG2MD_ERR_RUN;
		} else if (strcmp(n, "0") != 0) {
			pg2md_fail(err, PG2MD_ERR_RUN, "column \"%s\" was added to table \"%s\" with a DEFAULT that PostgreSQL "
				   "computed for each existing row (a volatile DEFAULT such as random() or clock_timestamp())",
				   c->name, t->name);
			pg2md_detail(err, "PostgreSQL rewrote the table, and logical replication does not send a rewrite: the "
					  "existing rows' values cannot be followed");
			cdc_resync_hint(err, cfg, t->name);
			rc = PG2MD_ERR_RUN;
		}
		free(n);
	}
	free(val);
	return rc;
}

static void
column_free(pg2md_column *c)
{
	free(c->name);
	free(c->dest_name);
	free(c->pg_type);
	free(c->duck_type);
	free(c->text_out);
	free(c->src_expr);
	schema_type_free(c->type);
	free(c->type);
}

/* The base type of a column's declared type (domains resolved), its typmod, output function and
 * format_type, as the catalog's column query reads them. */
static const char *type_sql =
	"WITH RECURSIVE d AS ("
	" SELECT t.oid, t.typbasetype, t.typtypmod, t.typtype, 0 AS depth FROM pg_catalog.pg_type t WHERE t.oid = $1::oid"
	" UNION ALL"
	" SELECT t.oid, t.typbasetype, t.typtypmod, t.typtype, d.depth + 1"
	" FROM d JOIN pg_catalog.pg_type t ON t.oid = d.typbasetype WHERE d.typtype = 'd')"
	" SELECT b.oid,"
	"        coalesce((SELECT d2.typtypmod FROM d d2 WHERE d2.typtype = 'd' AND d2.typtypmod >= 0"
	"                  ORDER BY d2.depth DESC LIMIT 1), $2::int),"
	"        (SELECT p.typoutput::regproc::text FROM pg_catalog.pg_type p WHERE p.oid = b.oid),"
	"        format_type($1::oid, $2::int)"
	" FROM d b WHERE b.typtype <> 'd'";

/* nt's columns replaced by the message's (the kept ones), decoders chosen as a run chooses them. */
static pg2md_code
message_columns(PGconn *conn, const pg2md_config *cfg, const pg2md_table *t, const pgo_msg *m, pg2md_table *nt,
		pg2md_error *err)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);
	bool num_double = strcmp(pg2md_config_numeric_fallback(cfg, t->name), "double") == 0;
	bool char_keep = pg2md_config_char_keep(cfg, t->name);
	pg2md_column *cols = xcalloc((size_t)m->ncolumns + 1, sizeof(*cols));
	if (!cols)
		return pg2md_nomem(err);
	int n = 0;
	pg2md_code rc = PG2MD_OK;
	for (int i = 0; i < m->ncolumns && rc == PG2MD_OK; i++) {
		const pgo_column *mc = &m->columns[i];
		if (!schema_column_kept(tc, mc->name))
			continue;
		char oid[16], mod[16];
		snprintf(oid, sizeof(oid), "%u", mc->type_oid);
		snprintf(mod, sizeof(mod), "%d", (int)mc->typmod);
		const char *params[] = {oid, mod};
		PGresult *res = pg_query(conn, type_sql, 2, params, err);
		if (!res) {
			rc = err->code;
			break;
		}
		if (PQntuples(res) != 1) {
			PQclear(res);
			rc = pg2md_fail(err, PG2MD_ERR_RUN, "the type (OID %u) of column \"%s\" of table \"%s\" is not in the "
					"source's catalog", mc->type_oid, mc->name, t->name);
			break;
		}
		pg2md_column *c = &cols[n++];
		c->name = xstrdup(mc->name);
		c->dest_name = naming_normalize(cfg->naming, mc->name);
		c->nullable = true;
		for (int j = 0; j < t->ncols; j++)
			if (strcmp(t->cols[j].name, mc->name) == 0) {
				/* a known column keeps its destination name (a columns.<c>.name hint included) */
				c->nullable = t->cols[j].nullable;
				c->renamed = t->cols[j].renamed;
				free(c->dest_name);
				c->dest_name = xstrdup(t->cols[j].dest_name);
			}
		c->text_out = xstrdup(PQgetvalue(res, 0, 2));
		c->pg_type = xstrdup(PQgetvalue(res, 0, 3));
		if (!c->name || !c->dest_name || !c->text_out || !c->pg_type) {
			PQclear(res);
			rc = pg2md_nomem(err); /* the column, as far as it got, is freed with nt's */
			break;
		}
		c->type_oid = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
		c->typmod = (int32_t)strtol(PQgetvalue(res, 0, 1), NULL, 10);
		c->src_oid = c->type_oid;
		c->numeric_double = num_double;
		c->char_keep = char_keep;
		PQclear(res);
		/* the message has no dimensions: an array column the catalog still has with this type
		 * keeps its declared ones (int[][] is a LIST of LISTs in a run, not one LIST) */
		int ndims = 0;
		for (int k = 0; k < nt->ncols; k++)
			if (strcmp(nt->cols[k].name, c->name) == 0 && nt->cols[k].src_oid == c->src_oid &&
			    nt->cols[k].type && nt->cols[k].type->dec == DEC_LIST)
				ndims = nt->cols[k].type->ndim;
		rc = catalog_choose_decoder(conn, c, ndims, err);
	}
	for (int j = 0; j < nt->ncols; j++)
		column_free(&nt->cols[j]);
	free(nt->cols);
	nt->cols = cols;
	nt->ncols = n;
	/* the key: the replica identity's columns, as the message flags them */
	free(nt->pk);
	nt->pk = xcalloc((size_t)n + 1, sizeof(int));
	nt->npk = 0;
	if (!nt->pk && rc == PG2MD_OK)
		rc = pg2md_nomem(err);
	for (int i = 0, j = 0; rc == PG2MD_OK && i < m->ncolumns && j < n; i++) {
		if (strcmp(m->columns[i].name, cols[j].name) != 0)
			continue;
		if (m->columns[i].flags & 1)
			nt->pk[nt->npk++] = j;
		j++;
	}
	/* dlt's lineage columns, last, as the catalog gives them (follow writes their values) */
	if (rc == PG2MD_OK)
		rc = schema_add_lineage(nt, cfg->add_dlt_load_id, cfg->add_dlt_id, err);
	return rc;
}

pg2md_code
cdc_evolve_plan_make(PGconn *conn, pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *t, const pgo_msg *m,
		     cdc_evolve_plan *out, pg2md_error *err)
{
	memset(out, 0, sizeof(*out));
	out->idx = -1;
	dcols dc = {0};
	char **canon = NULL;
	int *dmatch = NULL;
	bool *used = NULL;
	pg2md_buf ddl = PG2MD_BUF_INIT, what = PG2MD_BUF_INIT, q = PG2MD_BUF_INIT;

	if (catalog_reflect(conn, cfg, &out->all, &out->nall, err))
		goto fail;
	for (int i = 0; i < out->nall && out->idx < 0; i++)
		if (out->all[i].oid == t->oid)
			out->idx = i;
	if (out->idx < 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "table \"%s\" is no longer in the source's catalog", t->name);
		goto fail;
	}
	pg2md_table *nt = &out->all[out->idx];

	/* the columns as the message has them (the catalog may have moved on since), each mapped as a
	 * run maps its type */
	if (message_columns(conn, cfg, t, m, nt, err))
		goto fail;

	if (duck_columns(d, cfg, t, &dc, err))
		goto fail;
	canon = xcalloc((size_t)nt->ncols + 1, sizeof(char *));
	dmatch = xcalloc((size_t)nt->ncols + 1, sizeof(int));
	used = xcalloc((size_t)dc.n + 1, sizeof(bool));
	if (!canon || !dmatch || !used) {
		pg2md_nomem(err);
		goto fail;
	}
	for (int j = 0; j < nt->ncols; j++) {
		const pg2md_column *c = &nt->cols[j];
		if (!(canon[j] = duck_canon(d, c->duck_type, err)))
			goto fail;
		dmatch[j] = -1;
		for (int x = 0; x < dc.n && dmatch[j] < 0; x++)
			if (!used[x] && strcmp(dc.name[x], c->dest_name) == 0)
				dmatch[j] = x;
		if (dmatch[j] < 0)
			continue;
		used[dmatch[j]] = true;
		const char *have = dc.type[dmatch[j]];
		if (strcmp(have, canon[j]) != 0 && !(numeric_dec(c->dec) && numeric_duck(have))) {
			pg2md_fail(err, PG2MD_ERR_RUN, "column \"%s\" of table \"%s\" changed type at the source: it is %s now, "
				   "which a run writes as %s, and the destination's column is %s", c->name, t->name, c->pg_type,
				   canon[j], have);
			pg2md_detail(err, "pg2md follow changes no column's type in the destination");
			cdc_resync_hint(err, cfg, t->name);
			goto fail;
		}
	}
	/* renames: the same position and type under a new name */
	for (int j = 0; j < nt->ncols; j++) {
		if (dmatch[j] >= 0 || j >= dc.n || used[j] || strcmp(dc.type[j], canon[j]) != 0)
			continue;
		dmatch[j] = j;
		used[j] = true;
		buf_puts(&ddl, "ALTER TABLE ");
		dest_table(&ddl, cfg, t);
		buf_puts(&ddl, " RENAME COLUMN ");
		buf_ident(&ddl, dc.name[j]);
		buf_puts(&ddl, " TO ");
		buf_ident(&ddl, nt->cols[j].dest_name);
		buf_puts(&ddl, "; ");
		buf_printf(&what, "%scolumn %s renamed to %s", what.len ? ", " : "", dc.name[j], nt->cols[j].dest_name);
	}
	for (int x = 0; x < dc.n; x++) {
		if (used[x])
			continue;
		buf_puts(&ddl, "ALTER TABLE ");
		dest_table(&ddl, cfg, t);
		buf_puts(&ddl, " DROP COLUMN ");
		buf_ident(&ddl, dc.name[x]);
		buf_puts(&ddl, "; ");
		buf_printf(&what, "%scolumn %s dropped", what.len ? ", " : "", dc.name[x]);
	}
	for (int j = 0; j < nt->ncols; j++) {
		if (dmatch[j] >= 0)
			continue;
		const pg2md_column *c = &nt->cols[j];
		pg2md_buf def = PG2MD_BUF_INIT;
		if (added_default(conn, d, cfg, nt, c, &def, err) || (buf_broken(&def) && pg2md_nomem(err))) {
			buf_release(&def);
			goto fail;
		}
		buf_puts(&ddl, "ALTER TABLE ");
		dest_table(&ddl, cfg, t);
		buf_puts(&ddl, " ADD COLUMN ");
		buf_ident(&ddl, c->dest_name);
		buf_printf(&ddl, " %s%s; ", c->duck_type, def.len ? def.data : "");
		if (def.len) {
			buf_puts(&ddl, "ALTER TABLE ");
			dest_table(&ddl, cfg, t);
			buf_puts(&ddl, " ALTER COLUMN ");
			buf_ident(&ddl, c->dest_name);
			buf_puts(&ddl, " DROP DEFAULT; ");
		}
		buf_printf(&what, "%scolumn %s %s added%s", what.len ? ", " : "", c->dest_name, c->duck_type,
			   def.len ? " (existing rows: its DEFAULT)" : "");
		buf_release(&def);
	}
	if (buf_broken(&ddl) || buf_broken(&what)) { /* a broken buffer's len is 0: not "no changes" */
		pg2md_nomem(err);
		goto fail;
	}
	if (ddl.len) {
		out->ddl = buf_detach(&ddl);
		out->what = buf_detach(&what);
		if (!out->ddl || !out->what) {
			pg2md_nomem(err);
			goto fail;
		}
	}
	buf_release(&ddl);
	buf_release(&what);
	buf_release(&q);
	for (int j = 0; canon && j < nt->ncols; j++)
		free(canon[j]);
	free(canon);
	free(dmatch);
	free(used);
	dcols_free(&dc);
	return PG2MD_OK;
fail:
	if (!pg2md_failed(err))
		pg2md_fail(err, PG2MD_ERR_RUN, "could not follow the column changes of table \"%s\"", t->name);
	if (canon && out->idx >= 0)
		for (int j = 0; j < out->all[out->idx].ncols; j++)
			free(canon[j]);
	free(canon);
	free(dmatch);
	free(used);
	dcols_free(&dc);
	buf_release(&ddl);
	buf_release(&what);
	buf_release(&q);
	cdc_evolve_plan_release(out);
	return err->code;
}

/*
 * catalog.c — reflection of the source tables (see catalog.h).
 *
 * One query lists the configured tables of the schema, one per table reads
 * its columns with domains resolved to their base types, one its primary key,
 * one its leaves and sizes.  The decoder of each column is picked here.
 */
#include "source/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/naming.h"
#include "source/pgconn.h"
#include "util/buf.h"
#include "util/log.h"

/* Built-in type OIDs (pg_type.dat); stable across PostgreSQL versions. */
enum {
	BOOLOID = 16, BYTEAOID = 17, CHAROID = 18, NAMEOID = 19, INT8OID = 20, INT2OID = 21,
	INT4OID = 23, TEXTOID = 25, OIDOID = 26, JSONOID = 114, FLOAT4OID = 700, FLOAT8OID = 701,
	BPCHAROID = 1042, VARCHAROID = 1043, DATEOID = 1082, TIMEOID = 1083, TIMESTAMPOID = 1114,
	TIMESTAMPTZOID = 1184, INTERVALOID = 1186, TIMETZOID = 1266, NUMERICOID = 1700,
	UUIDOID = 2950, JSONBOID = 3802
};

int
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int *row = xcalloc(lb + 1, sizeof(int));
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int prev = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int cur = row[j];
			int sub = prev + (a[i - 1] != b[j - 1]);
			int del = row[j] + 1, ins = row[j - 1] + 1;
			row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
			prev = cur;
		}
	}
	int d = row[lb];
	free(row);
	return d;
}

/* Choose the decoder and the destination type of one column. */
static void
choose_decoder(pg2md_column *c)
{
	char tmp[64];
	c->as_text = false;
	c->stage_as_text = false;
	switch (c->type_oid) {
	case BOOLOID: c->dec = DEC_BOOL; c->duck_type = xstrdup("BOOLEAN"); break;
	case INT2OID: c->dec = DEC_INT2; c->duck_type = xstrdup("SMALLINT"); break;
	case INT4OID: c->dec = DEC_INT4; c->duck_type = xstrdup("INTEGER"); break;
	case INT8OID: c->dec = DEC_INT8; c->duck_type = xstrdup("BIGINT"); break;
	case OIDOID: c->dec = DEC_OID; c->duck_type = xstrdup("UINTEGER"); break;
	case FLOAT4OID: c->dec = DEC_FLOAT4; c->duck_type = xstrdup("FLOAT"); break;
	case FLOAT8OID: c->dec = DEC_FLOAT8; c->duck_type = xstrdup("DOUBLE"); break;
	case NUMERICOID:
		if (c->typmod >= 4) {
			int32_t tm = c->typmod - 4;
			int p = (tm >> 16) & 0xffff;
			int s = ((tm & 0x7ff) ^ 1024) - 1024; /* 11-bit signed scale (PostgreSQL 15) */
			if (p >= 1 && p <= 38 && s >= 0 && s <= p) {
				c->dec = DEC_NUMERIC_DECIMAL;
				c->precision = p;
				c->scale = s;
				snprintf(tmp, sizeof(tmp), "DECIMAL(%d,%d)", p, s);
				c->duck_type = xstrdup(tmp);
				break;
			}
		}
		/* Unconstrained or wider than DECIMAL(38): exact text. */
		c->dec = DEC_NUMERIC_TEXT;
		c->duck_type = xstrdup("VARCHAR");
		break;
	case TEXTOID: case VARCHAROID: case BPCHAROID: case NAMEOID:
		c->dec = DEC_TEXT; c->duck_type = xstrdup("VARCHAR"); break;
	case CHAROID: c->dec = DEC_CHAR; c->duck_type = xstrdup("VARCHAR"); break;
	case JSONOID: c->dec = DEC_TEXT; c->duck_type = xstrdup("JSON"); break;
	case JSONBOID: c->dec = DEC_JSONB; c->duck_type = xstrdup("JSON"); break;
	case BYTEAOID: c->dec = DEC_BYTEA; c->duck_type = xstrdup("BLOB"); break;
	case DATEOID: c->dec = DEC_DATE; c->duck_type = xstrdup("DATE"); break;
	case TIMEOID: c->dec = DEC_TIME; c->duck_type = xstrdup("TIME"); break;
	case TIMETZOID:
		c->dec = DEC_TIMETZ; c->duck_type = xstrdup("TIMETZ"); c->stage_as_text = true; break;
	case TIMESTAMPOID: c->dec = DEC_TIMESTAMP; c->duck_type = xstrdup("TIMESTAMP"); break;
	case TIMESTAMPTZOID: c->dec = DEC_TIMESTAMPTZ; c->duck_type = xstrdup("TIMESTAMPTZ"); break;
	case INTERVALOID:
		/* Parquet's INTERVAL keeps milliseconds only, and DuckDB's interval text does not always parse
		 * back: staged as STRUCT(months, days, micros), rebuilt exactly on load. */
		c->dec = DEC_INTERVAL; c->duck_type = xstrdup("INTERVAL"); break;
	case UUIDOID: c->dec = DEC_UUID; c->duck_type = xstrdup("UUID"); break;
	default:
		/* No binary decoder: the server renders it as text. */
		c->dec = DEC_TEXT;
		c->as_text = true;
		c->duck_type = xstrdup("VARCHAR");
		break;
	}
}

const char *
catalog_scan_type(const pg2md_column *col, char *out, size_t n)
{
	switch (col->dec) {
	case DEC_NUMERIC_DECIMAL:
		snprintf(out, n, "DECIMAL(%d,%d)", col->precision, col->scale);
		return out;
	case DEC_NUMERIC_DOUBLE:
		return "DOUBLE";
	case DEC_TEXT: case DEC_JSONB: case DEC_CHAR: case DEC_NUMERIC_TEXT:
		return "VARCHAR";
	default:
		return col->duck_type;
	}
}

static const char *tables_sql =
	"SELECT c.oid, c.relname, c.relkind, c.reltuples "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = $1 AND c.relkind IN ('r','p','v','m','f') AND NOT c.relispartition";

static const char *columns_sql =
	"WITH RECURSIVE cols AS ("
	" SELECT a.attnum, a.attname, a.attnotnull AS nn, a.atttypid AS typid, a.atttypmod AS typmod,"
	"        format_type(a.atttypid, a.atttypmod) AS typname, 0 AS depth"
	" FROM pg_catalog.pg_attribute a"
	" WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped"
	" UNION ALL"
	" SELECT c.attnum, c.attname, c.nn OR t.typnotnull, t.typbasetype,"
	"        CASE WHEN t.typtypmod >= 0 THEN t.typtypmod ELSE c.typmod END, c.typname, c.depth + 1"
	" FROM cols c JOIN pg_catalog.pg_type t ON t.oid = c.typid WHERE t.typtype = 'd')"
	" SELECT DISTINCT ON (attnum) attname, nn, typid, typmod, typname,"
	"        (SELECT t.typoutput::regproc::text FROM pg_catalog.pg_type t WHERE t.oid = typid)"
	" FROM cols ORDER BY attnum, depth DESC";

static const char *pk_sql =
	"SELECT a.attname FROM pg_catalog.pg_index i"
	" JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
	" WHERE i.indrelid = $1::oid AND i.indisprimary"
	" ORDER BY array_position(i.indkey::int2[], a.attnum)";

static const char *leaves_sql =
	"SELECT l.oid, quote_ident(n.nspname) || '.' || quote_ident(l.relname),"
	"       pg_relation_size(l.oid) / current_setting('block_size')::bigint, l.relkind"
	" FROM (SELECT relid FROM pg_catalog.pg_partition_tree($1::oid) WHERE isleaf"
	"       UNION SELECT $1::oid) p"
	" JOIN pg_catalog.pg_class l ON l.oid = p.relid"
	" JOIN pg_catalog.pg_namespace n ON n.oid = l.relnamespace"
	" WHERE l.relkind IN ('r','m','f') ORDER BY 3 DESC";

static pg2md_code
reflect_columns(PGconn *conn, const pg2md_config *cfg, pg2md_table *t, pg2md_error *err)
{
	char oidbuf[16];
	const char *params[1] = {oidbuf};
	PGresult *res;
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);

	snprintf(oidbuf, sizeof(oidbuf), "%u", t->oid);
	res = pg_query(conn, columns_sql, 1, params, err);
	if (!res)
		return err->code;
	int nrows = PQntuples(res);
	t->cols = xcalloc((size_t)nrows, sizeof(pg2md_column));
	t->ncols = 0;
	for (int i = 0; i < nrows; i++) {
		const char *name = PQgetvalue(res, i, 0);
		bool keep = true;
		if (tc && tc->included_columns.n > 0) {
			keep = false;
			for (int k = 0; k < tc->included_columns.n; k++)
				if (strcmp(tc->included_columns.items[k], name) == 0)
					keep = true;
		}
		if (tc)
			for (int k = 0; k < tc->excluded_columns.n; k++)
				if (strcmp(tc->excluded_columns.items[k], name) == 0)
					keep = false;
		if (!keep)
			continue;
		pg2md_column *c = &t->cols[t->ncols++];
		c->name = xstrdup(name);
		c->dest_name = naming_normalize(cfg->naming, name);
		c->nullable = strcmp(PQgetvalue(res, i, 1), "t") != 0;
		c->type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
		c->typmod = (int32_t)strtol(PQgetvalue(res, i, 3), NULL, 10);
		c->pg_type = xstrdup(PQgetvalue(res, i, 4));
		c->text_out = xstrdup(PQgetvalue(res, i, 5));
		choose_decoder(c);
	}
	PQclear(res);

	/* Two source columns that the naming convention folds into one name. */
	for (int i = 0; i < t->ncols; i++)
		for (int j = i + 1; j < t->ncols; j++)
			if (strcmp(t->cols[i].dest_name, t->cols[j].dest_name) == 0) {
				pg2md_fail(err, PG2MD_ERR_USAGE,
					   "columns \"%s\" and \"%s\" of table \"%s\" both become \"%s\" in the destination",
					   t->cols[i].name, t->cols[j].name, t->name, t->cols[i].dest_name);
				pg2md_hint(err, "set [schema] naming = \"direct\" to keep names exactly, or exclude one column");
				return err->code;
			}

	res = pg_query(conn, pk_sql, 1, params, err);
	if (!res)
		return err->code;
	t->pk = xcalloc((size_t)PQntuples(res) + 1, sizeof(int));
	for (int i = 0; i < PQntuples(res); i++)
		for (int j = 0; j < t->ncols; j++)
			if (strcmp(t->cols[j].name, PQgetvalue(res, i, 0)) == 0)
				t->pk[t->npk++] = j;
	PQclear(res);

	if (t->relkind == 'v') {
		t->nleaves = 1;
		t->leaf_oids = xcalloc(1, sizeof(uint32_t));
		t->leaf_names = xcalloc(1, sizeof(char *));
		t->leaf_pages = xcalloc(1, sizeof(int64_t));
		t->leaf_oids[0] = t->oid;
		pg2md_buf q = PG2MD_BUF_INIT;
		buf_ident(&q, cfg->schema);
		buf_putc(&q, '.');
		buf_ident(&q, t->name);
		t->leaf_names[0] = buf_detach(&q);
		return PG2MD_OK;
	}
	res = pg_query(conn, leaves_sql, 1, params, err);
	if (!res)
		return err->code;
	t->nleaves = PQntuples(res);
	t->leaf_oids = xcalloc((size_t)t->nleaves + 1, sizeof(uint32_t));
	t->leaf_names = xcalloc((size_t)t->nleaves + 1, sizeof(char *));
	t->leaf_pages = xcalloc((size_t)t->nleaves + 1, sizeof(int64_t));
	for (int i = 0; i < t->nleaves; i++) {
		t->leaf_oids[i] = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		t->leaf_names[i] = xstrdup(PQgetvalue(res, i, 1));
		/* Foreign tables and materialized views are read whole: no ctid ranges. */
		t->leaf_pages[i] = PQgetvalue(res, i, 3)[0] == 'r' ? strtoll(PQgetvalue(res, i, 2), NULL, 10) : -1;
		if (t->leaf_pages[i] > 0)
			t->pages += t->leaf_pages[i];
	}
	PQclear(res);
	return PG2MD_OK;
}

pg2md_code
catalog_reflect(PGconn *conn, const pg2md_config *cfg, pg2md_table **tables_out, int *ntables_out,
		pg2md_error *err)
{
	const char *params[1] = {cfg->schema};
	PGresult *res = pg_query(conn, tables_sql, 1, params, err);
	pg2md_table *tables;
	pg2md_buf missing = PG2MD_BUF_INIT, hint = PG2MD_BUF_INIT;
	int nmissing = 0;

	if (!res)
		return err->code;
	int nrel = PQntuples(res);
	if (nrel == 0) {
		PGresult *ns = pg_query(conn, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", 1, params, err);
		bool exists = ns && PQntuples(ns) > 0;
		PQclear(ns);
		PQclear(res);
		if (!exists) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "schema \"%s\" does not exist", cfg->schema);
			pg2md_hint(err, "check [sources.sql_database] schema in .dlt/config.toml; "
					"SELECT nspname FROM pg_namespace lists the schemas");
			return err->code;
		}
		res = pg_query(conn, tables_sql, 1, params, err);
		if (!res)
			return err->code;
	}

	tables = xcalloc((size_t)cfg->tables.n + 1, sizeof(pg2md_table));
	for (int i = 0; i < cfg->tables.n; i++) {
		const char *want = cfg->tables.items[i];
		int found = -1;
		for (int r = 0; r < nrel; r++)
			if (strcmp(PQgetvalue(res, r, 1), want) == 0)
				found = r;
		if (found < 0) {
			/* List the closest names that do exist. */
			int best[3] = {-1, -1, -1}, bestd[3] = {1 << 30, 1 << 30, 1 << 30};
			for (int r = 0; r < nrel; r++) {
				int d = edit_distance(want, PQgetvalue(res, r, 1));
				for (int k = 0; k < 3; k++)
					if (d < bestd[k]) {
						for (int m = 2; m > k; m--) {
							bestd[m] = bestd[m - 1];
							best[m] = best[m - 1];
						}
						bestd[k] = d;
						best[k] = r;
						break;
					}
			}
			buf_printf(&missing, "%s\"%s\"", nmissing ? ", " : "", want);
			int limit = (int)strlen(want) / 2 + 2;
			bool any = false;
			for (int k = 0; k < 3; k++)
				if (best[k] >= 0 && bestd[k] <= limit) {
					if (!any)
						buf_printf(&hint, "%sfor \"%s\" did you mean ", hint.len ? "; " : "", want);
					buf_printf(&hint, "%s\"%s\"", any ? " or " : "", PQgetvalue(res, best[k], 1));
					any = true;
				}
			nmissing++;
			continue;
		}
		pg2md_table *t = &tables[i];
		t->name = xstrdup(want);
		t->dest_name = naming_normalize(cfg->naming, want);
		t->oid = (uint32_t)strtoul(PQgetvalue(res, found, 0), NULL, 10);
		t->relkind = PQgetvalue(res, found, 2)[0];
		t->est_rows = strtod(PQgetvalue(res, found, 3), NULL);
	}
	PQclear(res);

	if (nmissing) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "%s %s not found in schema \"%s\"", nmissing > 1 ? "tables" : "table",
			   missing.data, cfg->schema);
		if (hint.len)
			pg2md_hint(err, "%s", hint.data);
		else
			pg2md_hint(err, "check the names under [sources.sql_database] tables; SELECT table_name FROM "
					"information_schema.tables WHERE table_schema = '%s' lists what exists", cfg->schema);
		buf_release(&missing);
		buf_release(&hint);
		catalog_free(tables, cfg->tables.n);
		return err->code;
	}
	buf_release(&missing);
	buf_release(&hint);

	for (int i = 0; i < cfg->tables.n; i++) {
		for (int j = 0; j < i; j++)
			if (strcmp(tables[i].dest_name, tables[j].dest_name) == 0) {
				pg2md_fail(err, PG2MD_ERR_USAGE, "tables \"%s\" and \"%s\" both become \"%s\" in the destination",
					   tables[j].name, tables[i].name, tables[i].dest_name);
				pg2md_hint(err, "set [schema] naming = \"direct\" to keep names exactly");
				catalog_free(tables, cfg->tables.n);
				return err->code;
			}
		if (reflect_columns(conn, cfg, &tables[i], err)) {
			catalog_free(tables, cfg->tables.n);
			return err->code;
		}
		pg2md_debug("table \"%s\": %d columns, %lld pages, %d leaves, about %.0f rows", tables[i].name,
			    tables[i].ncols, (long long)tables[i].pages, tables[i].nleaves, tables[i].est_rows);
	}
	*tables_out = tables;
	*ntables_out = cfg->tables.n;
	return PG2MD_OK;
}

void
catalog_free(pg2md_table *tables, int ntables)
{
	if (!tables)
		return;
	for (int i = 0; i < ntables; i++) {
		pg2md_table *t = &tables[i];
		for (int j = 0; j < t->ncols; j++) {
			free(t->cols[j].name);
			free(t->cols[j].dest_name);
			free(t->cols[j].pg_type);
			free(t->cols[j].duck_type);
			free(t->cols[j].text_out);
		}
		free(t->cols);
		free(t->pk);
		for (int j = 0; j < t->nleaves; j++)
			free(t->leaf_names[j]);
		free(t->leaf_names);
		free(t->leaf_oids);
		free(t->leaf_pages);
		free(t->name);
		free(t->dest_name);
	}
	free(tables);
}

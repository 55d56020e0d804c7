/*
 * catalog.c — reflection of the source tables (see catalog.h).
 *
 * One query lists the configured tables of the schema, one per table reads
 * its columns with domains resolved to their base types, one its primary key,
 * one its leaves and sizes.  The decoder of each column is picked here, from
 * what schema/types.h says of each type.
 */
#include "source/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/naming.h"
#include "schema/types.h"
#include "source/colhints.h"
#include "source/pgconn.h"
#include "source/query.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/strdist.h"

/* A type, its domains resolved: base oid and typmod, kind, array element, composite relation. */
static const char *resolve_sql =
	"WITH RECURSIVE d(oid, typmod, depth) AS ("
	" SELECT $1::oid, $2::int4, 0"
	" UNION ALL"
	" SELECT t.typbasetype, CASE WHEN t.typtypmod >= 0 THEN t.typtypmod ELSE d.typmod END, d.depth + 1"
	" FROM d JOIN pg_catalog.pg_type t ON t.oid = d.oid WHERE t.typtype = 'd')"
	" SELECT d.oid, d.typmod, t.typtype, t.typelem, t.typrelid,"
	"        t.typcategory = 'A' AND t.typelem <> 0 AND t.typlen = -1,"
	"        (SELECT max(t2.typndims) FROM d d2 JOIN pg_catalog.pg_type t2 ON t2.oid = d2.oid),"
	"        (SELECT e.typdelim FROM pg_catalog.pg_type e WHERE e.oid = t.typelem)"
	" FROM d JOIN pg_catalog.pg_type t ON t.oid = d.oid ORDER BY d.depth DESC LIMIT 1";

static const char *enum_sql =
	"SELECT enumlabel FROM pg_catalog.pg_enum WHERE enumtypid = $1::oid ORDER BY enumsortorder";

static const char *fields_sql =
	"SELECT attname, atttypid, atttypmod, attndims FROM pg_catalog.pg_attribute"
	" WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum";

/*
 * Resolve a type into a decoding tree.  ndims: the dimensions declared for an
 * array (pg_attribute.attndims; 0 when unknown: one is assumed, and a value
 * with more fails the run, naming the column).  Returns 1 when every part has
 * a binary decoder, 0 when some part has none (the column is then read as
 * text), 2 for a column that is an array of such a type (read as text[]: a
 * LIST of VARCHAR), 3 for one whose elements' array text is not separated by
 * commas (each element cast to text), -1 on a query error (err filled).
 */
static int
resolve_type(PGconn *conn, uint32_t oid, int32_t typmod, int ndims, unsigned opts, int depth, pg2md_type *out,
	     pg2md_error *err)
{
	char oidbuf[16], tmbuf[16];
	const char *params[2] = {oidbuf, tmbuf};
	PGresult *res;
	int r = 1;

	memset(out, 0, sizeof(*out));
	out->oid = oid;
	if (depth > 32)
		return 0;
	if (schema_scalar_dec(oid, typmod, opts, &out->dec, &out->precision, &out->scale))
		return 1;
	snprintf(oidbuf, sizeof(oidbuf), "%u", oid);
	snprintf(tmbuf, sizeof(tmbuf), "%d", (int)typmod);
	res = pg_query(conn, resolve_sql, 2, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	uint32_t base = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	int32_t btm = (int32_t)strtol(PQgetvalue(res, 0, 1), NULL, 10);
	char typtype = PQgetvalue(res, 0, 2)[0];
	uint32_t elem = (uint32_t)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
	uint32_t relid = (uint32_t)strtoul(PQgetvalue(res, 0, 4), NULL, 10);
	bool is_array = PQgetvalue(res, 0, 5)[0] == 't';
	int dndims = atoi(PQgetvalue(res, 0, 6));
	char delim = PQgetvalue(res, 0, 7)[0];
	PQclear(res);
	out->oid = base;
	if (schema_scalar_dec(base, btm, opts, &out->dec, &out->precision, &out->scale))
		return 1;
	if (is_array) {
		out->dec = DEC_LIST;
		out->ndim = ndims > 0 ? ndims : dndims > 0 ? dndims : 1;
		if (out->ndim > 6)
			return 0;
		out->elem = xcalloc(1, sizeof(pg2md_type));
		if (!out->elem) {
			pg2md_nomem(err);
			return -1;
		}
		/* An array's typmod is its element's (numeric(10,2)[]). */
		int r = resolve_type(conn, elem, btm, 0, opts, depth + 1, out->elem, err);
		if (r == 0 && depth == 0) {
			/* No binary decoder for the element: the column is read as text[], a LIST of
			 * VARCHAR like every other array (source/plan.c).  Elements another delimiter
			 * separates in the array's text (box ';', PostGIS ':') are cast one by one. */
			schema_type_free(out->elem);
			out->elem->dec = DEC_TEXT;
			out->elem->oid = TEXTOID;
			return delim == ',' ? 2 : 3;
		}
		return r;
	}
	if (typtype == 'e') {
		params[0] = oidbuf;
		snprintf(oidbuf, sizeof(oidbuf), "%u", base);
		res = pg_query(conn, enum_sql, 1, params, err);
		if (!res)
			return -1;
		out->dec = DEC_ENUM;
		out->nlabels = PQntuples(res);
		out->labels = xcalloc((size_t)out->nlabels + 1, sizeof(char *));
		if (!out->labels)
			out->nlabels = 0;
		for (int i = 0; i < out->nlabels && r; i++)
			r = (out->labels[i] = xstrdup(PQgetvalue(res, i, 0))) != NULL;
		PQclear(res);
		if (!out->labels || !r) {
			pg2md_nomem(err); /* the caller frees what was made */
			return -1;
		}
		/* DuckDB's ENUM cannot be empty: an enum without labels has no value to copy but NULL. */
		return out->nlabels > 0 ? 1 : 0;
	}
	if (typtype == 'c' && relid != 0) {
		snprintf(oidbuf, sizeof(oidbuf), "%u", relid);
		res = pg_query(conn, fields_sql, 1, params, err);
		if (!res)
			return -1;
		out->dec = DEC_STRUCT;
		out->nfields = PQntuples(res);
		out->fields = xcalloc((size_t)out->nfields + 1, sizeof(pg2md_type));
		out->field_names = xcalloc((size_t)out->nfields + 1, sizeof(char *));
		if (!out->fields || !out->field_names)
			out->nfields = 0;
		for (int i = 0; i < out->nfields && r == 1; i++)
			if (!(out->field_names[i] = xstrdup(PQgetvalue(res, i, 0))))
				r = -1;
		if (!out->fields || !out->field_names || r < 0) {
			PQclear(res);
			pg2md_nomem(err);
			return -1;
		}
		/* DuckDB has no STRUCT without fields. */
		if (out->nfields == 0)
			r = 0;
		for (int i = 0; i < out->nfields && r == 1; i++)
			r = resolve_type(conn, (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10),
					 (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10), atoi(PQgetvalue(res, i, 3)), opts,
					 depth + 1,
					 &out->fields[i], err);
		PQclear(res);
		return r;
	}
	return 0;
}

/* Choose the decoder and the destination type of one column. */
pg2md_code
catalog_choose_decoder(PGconn *conn, pg2md_column *c, int ndims, pg2md_error *err)
{
	pg2md_buf b = PG2MD_BUF_INIT;
	c->as_text = false;
	c->stage_as_text = false;
	c->measured = false;
	unsigned opts = (c->numeric_double ? SCHEMA_NUM_DOUBLE : 0) | (c->char_keep ? SCHEMA_CHAR_KEEP : 0);
	if (schema_scalar_dec(c->type_oid, c->typmod, opts, &c->dec, &c->precision, &c->scale)) {
		/* character(n) read without a cast (a data_type = "text" hint keeps the bytes as they are) */
		if (c->dec == DEC_TEXT && c->src_oid == BPCHAROID && !c->src_expr && !c->char_keep)
			c->dec = DEC_BPCHAR;
		/* Parquet's TIME cannot hold the offset: staged as text, cast back on load.  Intervals are
		 * staged as STRUCT(months, days, micros) (Parquet's INTERVAL keeps milliseconds only). */
		c->stage_as_text = c->dec == DEC_TIMETZ;
		schema_scalar_duck(&b, c->dec, c->type_oid, c->precision, c->scale, false);
		c->duck_type = buf_detach(&b);
		return c->duck_type ? PG2MD_OK : pg2md_nomem(err);
	}
	pg2md_type *t = xcalloc(1, sizeof(pg2md_type));
	if (!t)
		return pg2md_nomem(err);
	int r = resolve_type(conn, c->type_oid, c->typmod, ndims, opts, 0, t, err);
	if (r < 0) {
		schema_type_free(t);
		free(t);
		return err->code;
	}
	if (r == 0) {
		/* No binary decoder for the type or a part of it: the server renders it as text. */
		schema_type_free(t);
		free(t);
		c->dec = DEC_TEXT;
		c->as_text = true;
		c->duck_type = xstrdup("VARCHAR");
		return c->duck_type ? PG2MD_OK : pg2md_nomem(err);
	}
	c->as_text = r >= 2; /* an array read as text[] (source/plan.c) */
	c->text_array_cast = r == 3;
	c->type = t;
	c->dec = t->dec;
	schema_type_string(&b, t, false);
	c->duck_type = buf_detach(&b); /* c->type is freed with the column */
	return c->duck_type ? PG2MD_OK : pg2md_nomem(err);
}

/* Columns catalog_measure_numerics measures: plain numeric, read as it is (no override, no text). */
static bool
measurable(const pg2md_column *c)
{
	return c->src_oid == NUMERICOID && c->type_oid == NUMERICOID && c->typmod < 0 && !c->src_expr &&
	       !c->as_text && (c->dec == DEC_NUMERIC_TEXT || c->dec == DEC_NUMERIC_DOUBLE);
}

/* Digits before the point of a non-negative numeric's text ("0.5" has none). */
static int
integer_digits(const char *text)
{
	size_t n = strcspn(text, ".");
	return n == 1 && text[0] == '0' ? 0 : (int)n;
}

pg2md_code
catalog_measure_numerics(PGconn *conn, const char *schema, pg2md_table *t, const char *filter, pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT, col = PG2MD_BUF_INIT;
	int n = 0;

	buf_puts(&q, "SELECT ");
	for (int i = 0; i < t->ncols; i++) {
		if (!measurable(&t->cols[i]))
			continue;
		buf_reset(&col);
		buf_ident(&col, t->cols[i].name);
		/* scale() is NULL for NaN and ±Infinity: those are counted apart (no 'Infinity' literal,
		 * which servers before 14 refuse) */
		buf_printf(&q, "%1$smax(scale(%2$s)), max(abs(%2$s)) FILTER (WHERE scale(%2$s) IS NOT NULL),"
			       " count(*) FILTER (WHERE %2$s = 'NaN'),"
			       " count(*) FILTER (WHERE scale(%2$s) IS NULL AND %2$s <> 'NaN')",
			   n++ ? ", " : "", col.data);
	}
	if (buf_broken(&col))
		buf_break(&q); /* pg_query reports it */
	buf_release(&col);
	if (n == 0) {
		buf_release(&q);
		return PG2MD_OK;
	}
	buf_puts(&q, " FROM ");
	catalog_source_rel(&q, schema, t);
	if (filter && *filter)
		buf_printf(&q, " WHERE %s", filter);
	PGresult *res = pg_query(conn, q.data, 0, NULL, err);
	buf_release(&q);
	if (!res)
		return err->code;
	n = 0;
	for (int i = 0; i < t->ncols; i++) {
		pg2md_column *c = &t->cols[i];
		if (!measurable(c))
			continue;
		int f = 4 * n++;
		int scale = PQgetisnull(res, 0, f) ? 0 : atoi(PQgetvalue(res, 0, f));
		int intd = PQgetisnull(res, 0, f + 1) ? 0 : integer_digits(PQgetvalue(res, 0, f + 1));
		long long nans = atoll(PQgetvalue(res, 0, f + 2)), infs = atoll(PQgetvalue(res, 0, f + 3));
		const char *fallback = c->dec == DEC_NUMERIC_DOUBLE ? "DOUBLE" : "VARCHAR";
		c->measured = true;
		if (nans || infs || intd + scale > 38) {
			if (nans || infs)
				pg2md_warn("column \"%s\" of table \"%s\" (numeric) holds %s: it stays %s, as no DECIMAL can hold it",
					   c->name, t->name, nans ? "NaN" : "Infinity", fallback);
			else
				pg2md_warn("column \"%s\" of table \"%s\" (numeric) holds a value of %d digits (%d after the point): "
					   "it stays %s, as no DECIMAL(38) can hold it exactly",
					   c->name, t->name, intd + scale, scale, fallback);
			continue;
		}
		c->dec = DEC_NUMERIC_DECIMAL;
		c->precision = intd + scale <= 18 ? 18 : 38;
		c->scale = scale;
		free(c->duck_type);
		c->duck_type = xasprintf("DECIMAL(%d,%d)", c->precision, c->scale);
		if (!c->duck_type) {
			PQclear(res);
			return pg2md_nomem(err);
		}
		pg2md_debug("column \"%s\" of table \"%s\" (numeric): %d integer digits, scale %d, as %s", c->name,
			    t->name, intd, scale, c->duck_type);
	}
	PQclear(res);
	return PG2MD_OK;
}

/* Every relation of the schema a table name may name, partitions too (a leaf named alone is copied alone). */
static const char *tables_sql =
	"SELECT c.oid, c.relname, c.relkind, c.reltuples, c.relispartition "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = $1 AND c.relkind IN ('r','p','v','m','f') ORDER BY c.relname";

/*
 * With no table list, what dlt's sql_database reflects: the schema's tables (and with
 * include_views its views and materialized views), each partitioned table once through its
 * parent, never its partitions again (dlt lists both and loads partitioned rows twice), no
 * foreign tables (reading one reads another server).
 */
static const char *discover_sql =
	"SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = $1 AND NOT c.relispartition"
	" AND c.relkind = ANY (CASE WHEN $2 THEN '{r,p,v,m}'::\"char\"[] ELSE '{r,p}'::\"char\"[] END)"
	" ORDER BY c.relname";

/* OK when cfg->schema exists; else PG2MD_ERR_USAGE saying so (or the query's error). */
static pg2md_code
schema_exists(PGconn *conn, const pg2md_config *cfg, pg2md_error *err)
{
	const char *params[1] = {cfg->schema};
	PGresult *ns = pg_query(conn, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", 1, params, err);
	bool exists = ns && PQntuples(ns) > 0;
	PQclear(ns);
	if (pg2md_failed(err) || exists)
		return err->code;
	pg2md_fail(err, PG2MD_ERR_USAGE, "schema \"%s\" does not exist", cfg->schema);
	pg2md_hint(err, "check [sources.sql_database] schema in .dlt/config.toml; "
			"SELECT nspname FROM pg_namespace lists the schemas");
	return err->code;
}

pg2md_code
catalog_table_names(PGconn *conn, const pg2md_config *cfg, pg2md_strlist *out, pg2md_error *err)
{
	memset(out, 0, sizeof(*out));
	if (cfg->tables.n > 0) {
		out->items = xcalloc((size_t)cfg->tables.n + 1, sizeof(char *));
		for (int i = 0; out->items && i < cfg->tables.n; i++)
			if (!(out->items[out->n++] = xstrdup(cfg->tables.items[i]))) {
				catalog_names_free(out);
				return pg2md_nomem(err);
			}
		return out->items ? PG2MD_OK : pg2md_nomem(err);
	}
	const char *params[2] = {cfg->schema, cfg->include_views ? "true" : "false"};
	PGresult *res = pg_query(conn, discover_sql, 2, params, err);
	if (!res)
		return err->code;
	out->items = xcalloc((size_t)PQntuples(res) + 1, sizeof(char *));
	for (int i = 0; out->items && i < PQntuples(res); i++)
		if (!(out->items[out->n++] = xstrdup(PQgetvalue(res, i, 0)))) {
			PQclear(res);
			catalog_names_free(out);
			return pg2md_nomem(err);
		}
	PQclear(res);
	if (!out->items)
		return pg2md_nomem(err);
	if (out->n == 0) {
		catalog_names_free(out);
		if (schema_exists(conn, cfg, err))
			return err->code;
		pg2md_fail(err, PG2MD_ERR_USAGE, "no tables configured, and schema \"%s\" has no tables%s", cfg->schema,
			   cfg->include_views ? " or views" : "");
		pg2md_hint(err, "list the tables to copy under [sources.sql_database] tables in \"%s\"%s",
			   cfg->config_path, cfg->include_views ? "" : ", or set include_views = true to copy views");
		return err->code;
	}
	pg2md_debug("no table list: %d tables found in schema \"%s\"", out->n, cfg->schema);
	return PG2MD_OK;
}

void
catalog_names_free(pg2md_strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static const char *columns_sql =
	"WITH RECURSIVE cols AS ("
	" SELECT a.attnum, a.attname, a.attnotnull AS nn, a.atttypid AS typid, a.atttypmod AS typmod,"
	"        format_type(a.atttypid, a.atttypmod) AS typname, 0 AS depth, a.attndims::int AS ndims"
	" FROM pg_catalog.pg_attribute a"
	" WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped"
	" UNION ALL"
	" SELECT c.attnum, c.attname, c.nn OR t.typnotnull, t.typbasetype,"
	"        CASE WHEN t.typtypmod >= 0 THEN t.typtypmod ELSE c.typmod END, c.typname, c.depth + 1,"
	"        greatest(c.ndims, t.typndims)"
	" FROM cols c JOIN pg_catalog.pg_type t ON t.oid = c.typid WHERE t.typtype = 'd')"
	" SELECT DISTINCT ON (attnum) attname, nn, typid, typmod, typname,"
	"        (SELECT t.typoutput::regproc::text FROM pg_catalog.pg_type t WHERE t.oid = typid), ndims"
	" FROM cols ORDER BY attnum, depth DESC";

static const char *pk_sql =
	"SELECT a.attname FROM pg_catalog.pg_index i"
	" JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
	" WHERE i.indrelid = $1::oid AND i.indisprimary"
	" ORDER BY array_position(i.indkey::int2[], a.attnum)";

static const char *leaves_sql =
	"SELECT l.oid, quote_ident(n.nspname) || '.' || quote_ident(l.relname),"
	"       pg_relation_size(l.oid) / current_setting('block_size')::bigint, l.relkind,"
	"       pg_table_size(l.oid), l.reltuples"
	" FROM (SELECT relid FROM pg_catalog.pg_partition_tree($1::oid) WHERE isleaf"
	"       UNION SELECT $1::oid) p"
	" JOIN pg_catalog.pg_class l ON l.oid = p.relid"
	" JOIN pg_catalog.pg_namespace n ON n.oid = l.relnamespace"
	" WHERE l.relkind IN ('r','m','f') ORDER BY 3 DESC";

void
catalog_source_rel(pg2md_buf *b, const char *schema, const pg2md_table *t)
{
	if (t->relkind == 'q') {
		buf_printf(b, "(\n%s\n) AS ", t->query);
		buf_ident(b, "q");
		return;
	}
	buf_ident(b, schema);
	buf_putc(b, '.');
	buf_ident(b, t->name);
}

static pg2md_code
reflect_columns(PGconn *conn, const pg2md_config *cfg, pg2md_table *t, pg2md_error *err)
{
	char oidbuf[16];
	const char *params[1] = {oidbuf};
	PGresult *res;
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);
	bool num_double = strcmp(pg2md_config_numeric_fallback(cfg, t->name), "double") == 0;
	bool char_keep = pg2md_config_char_keep(cfg, t->name);

	snprintf(oidbuf, sizeof(oidbuf), "%u", t->oid);
	res = pg_query(conn, columns_sql, 1, params, err);
	if (!res)
		return err->code;
	int nrows = PQntuples(res);
	t->cols = xcalloc((size_t)nrows, sizeof(pg2md_column));
	t->ncols = 0;
	if (!t->cols) {
		PQclear(res);
		return pg2md_nomem(err);
	}
	for (int i = 0; i < nrows; i++) {
		const char *name = PQgetvalue(res, i, 0);
		if (!schema_column_kept(tc, name))
			continue;
		pg2md_column *c = &t->cols[t->ncols++];
		c->name = xstrdup(name);
		c->dest_name = naming_normalize(cfg->naming, name);
		c->nullable = strcmp(PQgetvalue(res, i, 1), "t") != 0;
		c->type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
		c->typmod = (int32_t)strtol(PQgetvalue(res, i, 3), NULL, 10);
		c->pg_type = xstrdup(PQgetvalue(res, i, 4));
		c->text_out = xstrdup(PQgetvalue(res, i, 5));
		if (!c->name || !c->dest_name || !c->pg_type || !c->text_out) {
			PQclear(res); /* the column is freed with the table */
			return pg2md_nomem(err);
		}
		c->src_oid = c->type_oid;
		c->numeric_double = num_double;
		c->char_keep = char_keep;
		if (catalog_choose_decoder(conn, c, atoi(PQgetvalue(res, i, 6)), err)) {
			PQclear(res);
			return err->code;
		}
	}
	PQclear(res);
	if (nrows == 0) {
		/*
		 * CREATE TABLE z () can hold rows, but DuckDB has no tables without columns (and Parquet
		 * no files without them): the destination gets dlt's _dlt_load_id as its one column, one
		 * row per source row, so the row counts match.  The COPY reads NULL for it and the
		 * statement writing the rows puts the load id there (see plan.c and stage/extract_sql.c).
		 */
		if (!schema_add_dlt_column(t, SCHEMA_DLT_LOAD_ID, false))
			return pg2md_nomem(err);
	}
	if (t->ncols == 0) {
		/* Every column was left out by the configuration: most likely a mistake. */
		pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has no columns left after included_columns and excluded_columns",
			   t->name);
		pg2md_hint(err, "check included_columns and excluded_columns under [sources.sql_database.%s]", t->name);
		return err->code;
	}

	res = pg_query(conn, pk_sql, 1, params, err);
	if (!res)
		return err->code;
	t->pk = xcalloc((size_t)PQntuples(res) + 1, sizeof(int));
	if (!t->pk) {
		PQclear(res);
		return pg2md_nomem(err);
	}
	for (int i = 0; i < PQntuples(res); i++)
		for (int j = 0; j < t->ncols; j++)
			if (strcmp(t->cols[j].name, PQgetvalue(res, i, 0)) == 0)
				t->pk[t->npk++] = j;
	PQclear(res);

	if (t->relkind == 'v') {
		t->leaf_rows = -1; /* a view: its rows are not counted */
		t->leaf_oids = xcalloc(1, sizeof(uint32_t));
		t->leaf_names = xcalloc(1, sizeof(char *));
		t->leaf_pages = xcalloc(1, sizeof(int64_t));
		if (!t->leaf_oids || !t->leaf_names || !t->leaf_pages)
			return pg2md_nomem(err); /* freed with the table */
		t->nleaves = 1;
		t->leaf_oids[0] = t->oid;
		pg2md_buf q = PG2MD_BUF_INIT;
		buf_ident(&q, cfg->schema);
		buf_putc(&q, '.');
		buf_ident(&q, t->name);
		t->leaf_names[0] = buf_detach(&q);
		return t->leaf_names[0] ? PG2MD_OK : pg2md_nomem(err);
	}
	res = pg_query(conn, leaves_sql, 1, params, err);
	if (!res)
		return err->code;
	int nleaves = PQntuples(res);
	t->leaf_oids = xcalloc((size_t)nleaves + 1, sizeof(uint32_t));
	t->leaf_names = xcalloc((size_t)nleaves + 1, sizeof(char *));
	t->leaf_pages = xcalloc((size_t)nleaves + 1, sizeof(int64_t));
	if (!t->leaf_oids || !t->leaf_names || !t->leaf_pages) {
		PQclear(res);
		return pg2md_nomem(err); /* freed with the table */
	}
	t->nleaves = nleaves;
	for (int i = 0; i < t->nleaves; i++) {
		t->leaf_oids[i] = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		t->leaf_names[i] = xstrdup(PQgetvalue(res, i, 1));
		if (!t->leaf_names[i]) {
			PQclear(res);
			return pg2md_nomem(err);
		}
		/* Foreign tables and materialized views are read whole: no ctid ranges. */
		t->leaf_pages[i] = PQgetvalue(res, i, 3)[0] == 'r' ? strtoll(PQgetvalue(res, i, 2), NULL, 10) : -1;
		if (t->leaf_pages[i] > 0)
			t->pages += t->leaf_pages[i];
		double r = strtod(PQgetvalue(res, i, 5), NULL);
		if (r > 0) /* a leaf never analyzed (0 before PostgreSQL 14) has bytes but no rows */
			t->est_bytes += strtoll(PQgetvalue(res, i, 4), NULL, 10);
		t->leaf_rows = i == 0 ? r : r < 0 || t->leaf_rows < 0 ? -1 : t->leaf_rows + r;
	}
	PQclear(res);
	return PG2MD_OK;
}

void
catalog_close_names(pg2md_buf *out, const char *want, PGresult *res, int namecol, int skipcol)
{
	int n = PQntuples(res), found[3], nfound;
	const char **names = xcalloc((size_t)n + 1, sizeof(char *));
	if (!names) {
		buf_break(out); /* its user reports it */
		return;
	}
	for (int r = 0; r < n; r++)
		names[r] = skipcol >= 0 && PQgetvalue(res, r, skipcol)[0] == 't' ? NULL : PQgetvalue(res, r, namecol);
	nfound = strdist_suggest(want, names, n, false, 3, found);
	for (int k = 0; k < nfound; k++)
		buf_printf(out, "%s\"%s\"", k ? " or " : "", names[found[k]]);
	free(names);
}

pg2md_code
catalog_reflect(PGconn *conn, const pg2md_config *cfg, pg2md_table **tables_out, int *ntables_out,
		pg2md_error *err)
{
	const char *params[1] = {cfg->schema};
	pg2md_strlist names;
	if (catalog_table_names(conn, cfg, &names, err))
		return err->code;
	PGresult *res = pg_query(conn, tables_sql, 1, params, err);
	pg2md_table *tables;
	pg2md_buf missing = PG2MD_BUF_INIT, hint = PG2MD_BUF_INIT;
	int nmissing = 0;
	int ntables = names.n;

	if (!res) {
		catalog_names_free(&names);
		return err->code;
	}
	int nrel = PQntuples(res);
	if (nrel == 0 && schema_exists(conn, cfg, err)) {
		PQclear(res);
		catalog_names_free(&names);
		return err->code;
	}

	tables = xcalloc((size_t)ntables + 1, sizeof(pg2md_table));
	if (!tables) {
		PQclear(res);
		catalog_names_free(&names);
		return pg2md_nomem(err);
	}
	for (int i = 0; i < ntables; i++) {
		const char *want = names.items[i];
		const pg2md_table_config *tc = pg2md_config_table(cfg, want);
		int found = -1;
		if (tc && tc->query) {
			/* a replacement query: its output is the table (source/query.c) */
			tables[i].name = xstrdup(want);
			tables[i].dest_name = naming_normalize(cfg->naming, want);
			tables[i].relkind = 'q';
			if (!tables[i].name || !tables[i].dest_name)
				break;
			continue;
		}
		for (int r = 0; r < nrel; r++)
			if (strcmp(PQgetvalue(res, r, 1), want) == 0)
				found = r;
		if (found < 0) {
			/* the closest names that do exist (partitions aside: there may be thousands) */
			pg2md_buf close = PG2MD_BUF_INIT;
			buf_printf(&missing, "%s\"%s\"", nmissing ? ", " : "", want);
			catalog_close_names(&close, want, res, 1, 4);
			if (buf_broken(&close))
				buf_break(&hint);
			if (close.len)
				buf_printf(&hint, "%sfor \"%s\" did you mean %s", hint.len ? "; " : "", want, close.data);
			buf_release(&close);
			nmissing++;
			continue;
		}
		pg2md_table *t = &tables[i];
		t->name = xstrdup(want);
		t->dest_name = naming_normalize(cfg->naming, want);
		t->oid = (uint32_t)strtoul(PQgetvalue(res, found, 0), NULL, 10);
		t->relkind = PQgetvalue(res, found, 2)[0];
		t->est_rows = strtod(PQgetvalue(res, found, 3), NULL);
		if (!t->name || !t->dest_name)
			break;
	}
	PQclear(res);
	for (int i = 0; i < ntables; i++)
		if (tables[i].relkind && (!tables[i].name || !tables[i].dest_name))
			pg2md_nomem(err);
	if (buf_broken(&missing) || buf_broken(&hint))
		pg2md_nomem(err);
	if (pg2md_failed(err)) {
		buf_release(&missing);
		buf_release(&hint);
		schema_tables_free(tables, ntables);
		catalog_names_free(&names);
		return err->code;
	}

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
		schema_tables_free(tables, ntables);
		catalog_names_free(&names);
		return err->code;
	}
	buf_release(&missing);
	catalog_names_free(&names);
	buf_release(&hint);

	for (int i = 0; i < ntables; i++) {
		for (int j = 0; j < i; j++)
			if (strcmp(tables[i].dest_name, tables[j].dest_name) == 0) {
				pg2md_fail(err, PG2MD_ERR_USAGE, "tables \"%s\" and \"%s\" both become \"%s\" in the destination",
					   tables[j].name, tables[i].name, tables[i].dest_name);
				pg2md_hint(err, "set [schema] naming = \"direct\" to keep names exactly");
				schema_tables_free(tables, ntables);
				return err->code;
			}
		if ((tables[i].relkind == 'q' ? query_describe(conn, cfg, &tables[i], err)
					      : reflect_columns(conn, cfg, &tables[i], err)) ||
		    colhints_apply(conn, cfg, &tables[i], err) || schema_add_lineage(&tables[i], cfg->add_dlt_load_id, cfg->add_dlt_id, err)) {
			schema_tables_free(tables, ntables);
			return err->code;
		}
		pg2md_debug("table \"%s\": %d columns, %lld pages, %d leaves, about %.0f rows", tables[i].name,
			    tables[i].ncols, (long long)tables[i].pages, tables[i].nleaves, tables[i].est_rows);
	}
	*tables_out = tables;
	*ntables_out = ntables;
	return PG2MD_OK;
}

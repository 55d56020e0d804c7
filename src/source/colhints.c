/* colhints.c — renames, type overrides and nullability from dlt's column hints (see colhints.h). */
#include "source/colhints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/naming.h"
#include "schema/types.h"
#include "util/buf.h"
#include "util/log.h"

static bool
textlike(uint32_t oid)
{
	return oid == TEXTOID || oid == VARCHAROID || oid == BPCHAROID || oid == NAMEOID;
}

static bool
changes_column(const pg2md_column_hint *h)
{
	return h->name || h->data_type || h->precision > 0 || h->scale >= 0 || h->nullable >= 0;
}

/* "…" at <where>, for the detail line of a hint's error. */
static void
hint_place(pg2md_error *err, const char *table, const pg2md_column_hint *h)
{
	pg2md_detail(err, "[sources.sql_database.%s.columns.%s] is set at %s", table, h->column, h->where);
}

/* Check precision and scale against the type; fills *p, *s for decimal and bigint. */
static pg2md_code
check_precision(const pg2md_table *t, const pg2md_column_hint *h, int *p, int *s, pg2md_error *err)
{
	const char *dt = h->data_type;
	bool dec = dt && (strcmp(dt, "decimal") == 0 || strcmp(dt, "wei") == 0);
	if ((h->precision > 0 || h->scale >= 0) && !dt) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "precision and scale of column \"%s\" of table \"%s\" need a data_type",
			   h->column, t->name);
		hint_place(err, t->name, h);
		pg2md_hint(err, "add data_type = \"decimal\" (or \"bigint\" for precision in bits)");
		return err->code;
	}
	if (h->scale >= 0 && !dec) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "scale of column \"%s\" of table \"%s\" applies to data_type \"decimal\" only",
			   h->column, t->name);
		hint_place(err, t->name, h);
		return err->code;
	}
	if (h->precision > 0 && !dec && strcmp(dt, "bigint") != 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE,
			   "precision of column \"%s\" of table \"%s\" applies to data_type \"decimal\" and \"bigint\" only",
			   h->column, t->name);
		hint_place(err, t->name, h);
		return err->code;
	}
	if (dt && strcmp(dt, "wei") == 0) {
		*p = h->precision > 0 ? h->precision : 38;
		*s = h->scale >= 0 ? h->scale : 0;
	} else if (dec) {
		/* dlt's default decimal is (38, 9); a precision alone means scale 0, as SQL's numeric(p) */
		*p = h->precision > 0 ? h->precision : 38;
		*s = h->scale >= 0 ? h->scale : h->precision > 0 ? 0 : 9;
	} else {
		*p = h->precision;
		*s = 0;
	}
	if (dec && (*p > 38 || *s > *p)) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "decimal(%d,%d) of column \"%s\" of table \"%s\" is not a DuckDB DECIMAL", *p,
			   *s, h->column, t->name);
		hint_place(err, t->name, h);
		pg2md_hint(err, "precision goes from 1 to 38 and scale from 0 to the precision; for more digits use "
				"data_type = \"text\"");
		return err->code;
	}
	return PG2MD_OK;
}

/* Make c read as dlt's type dt: a server-side cast (src_expr) and the cast type's decoder. */
static pg2md_code
override_type(PGconn *conn, const pg2md_table *t, pg2md_column *c, const pg2md_column_hint *h, pg2md_error *err)
{
	const char *dt = strcmp(h->data_type, "complex") == 0 ? "json" : h->data_type;
	uint32_t src = c->src_oid, target = 0;
	int32_t typmod = -1;
	int p = 0, s = 0;
	pg2md_buf col = PG2MD_BUF_INIT, expr = PG2MD_BUF_INIT;
	const char *cast = NULL;

	if (check_precision(t, h, &p, &s, err))
		return err->code;
	buf_ident(&col, c->name);
	if (strcmp(dt, "double") == 0 && src == NUMERICOID) {
		/* no cast: the decoder turns the exact numeric into the nearest double (strtod) */
		schema_type_free(c->type);
		free(c->type);
		c->type = NULL;
		free(c->duck_type);
		c->dec = DEC_NUMERIC_DOUBLE;
		c->duck_type = xstrdup("DOUBLE");
		c->as_text = false;
		c->stage_as_text = false;
		buf_release(&col);
		return c->duck_type ? PG2MD_OK : pg2md_nomem(err);
	}
	if (strcmp(dt, "text") == 0) {
		target = TEXTOID;
		if (!textlike(src))
			/* the type's output function, as columns without a binary decoder are read */
			buf_printf(&expr, "pg_catalog.textin(%s(%s))", c->text_out, col.data);
	} else if (strcmp(dt, "double") == 0) {
		target = FLOAT8OID;
		cast = "double precision";
	} else if (strcmp(dt, "bool") == 0) {
		target = BOOLOID;
		cast = "boolean";
	} else if (strcmp(dt, "timestamp") == 0) {
		target = TIMESTAMPTZOID;
		cast = "timestamp with time zone";
	} else if (strcmp(dt, "date") == 0) {
		target = DATEOID;
		cast = "date";
	} else if (strcmp(dt, "time") == 0) {
		target = TIMEOID;
		cast = "time without time zone";
	} else if (strcmp(dt, "bigint") == 0) {
		/* dlt's precision of an integer is in bits; PostgreSQL has no one-byte integer */
		target = p > 0 && p <= 16 ? INT2OID : p > 0 && p <= 32 ? INT4OID : INT8OID;
		cast = target == INT2OID ? "smallint" : target == INT4OID ? "integer" : "bigint";
	} else if (strcmp(dt, "binary") == 0) {
		target = BYTEAOID;
		if (textlike(src))
			buf_printf(&expr, "convert_to(%s, 'UTF8')", col.data);
		else
			cast = "bytea";
	} else if (strcmp(dt, "json") == 0) {
		target = JSONOID;
		if (textlike(src) || src == JSONBOID)
			cast = "json";
		else if (src != JSONOID)
			buf_printf(&expr, "to_json(%s)", col.data);
	} else { /* decimal, wei */
		target = NUMERICOID;
		typmod = ((p << 16) | s) + 4;
		buf_printf(&expr, "CAST(%s AS numeric(%d,%d))", col.data, p, s);
	}
	if (cast && !(src == target && (c->typmod == typmod || typmod < 0)))
		buf_printf(&expr, "CAST(%s AS %s)", col.data, cast);
	if (buf_broken(&col) || buf_broken(&expr)) {
		/* not "no cast": the cast could not be written */
		buf_release(&col);
		buf_release(&expr);
		return pg2md_nomem(err);
	}
	buf_release(&col);

	free(c->src_expr);
	c->src_expr = expr.len ? buf_detach(&expr) : NULL;
	buf_release(&expr); /* not broken: detaching it cannot fail */
	if (c->src_expr == NULL && src == target && c->typmod == typmod)
		return PG2MD_OK; /* already that type */
	schema_type_free(c->type);
	free(c->type);
	c->type = NULL;
	free(c->duck_type);
	c->duck_type = NULL;
	c->type_oid = target;
	c->typmod = typmod;
	if (c->as_text && !c->src_expr && target == TEXTOID) {
		/* read as text already: keep the output function */
		c->dec = DEC_TEXT;
		c->duck_type = xstrdup("VARCHAR");
		return c->duck_type ? PG2MD_OK : pg2md_nomem(err);
	}
	c->as_text = false;
	return catalog_choose_decoder(conn, c, 0, err);
}

/* Prepare (never run) each cast at the source: a cast PostgreSQL does not have fails here. */
static pg2md_code
check_casts(PGconn *conn, const pg2md_config *cfg, const pg2md_table_config *tc, const pg2md_table *t,
	    pg2md_error *err)
{
	bool in_tx = PQtransactionStatus(conn) == PQTRANS_INTRANS;
	pg2md_buf sql = PG2MD_BUF_INIT;
	for (int i = 0; i < t->ncols && !pg2md_failed(err); i++) {
		const pg2md_column *c = &t->cols[i];
		if (!c->src_expr)
			continue;
		buf_reset(&sql);
		buf_printf(&sql, "SELECT %s FROM ", c->src_expr);
		catalog_source_rel(&sql, cfg->schema, t);
		if (buf_broken(&sql)) {
			pg2md_nomem(err); /* not a cast PostgreSQL refused */
			break;
		}
		if (in_tx)
			PQclear(PQexec(conn, "SAVEPOINT pg2md_cast"));
		PGresult *res = PQprepare(conn, "", sql.data, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			const pg2md_column_hint *h = pg2md_config_column_hint(tc, c->name);
			pg2md_fail(err, PG2MD_ERR_USAGE, "column \"%s\" of table \"%s\" (%s) cannot be read as data_type \"%s\"",
				   c->name, t->name, c->pg_type, h ? h->data_type : "?");
			pg2md_detail(err, "%s; [sources.sql_database.%s.columns.%s] is set at %s",
				     primary ? primary : "PostgreSQL refused the cast", t->name, c->name, h ? h->where : "?");
			pg2md_hint(err, "choose a data_type the column converts to, or convert it in a query");
		}
		PQclear(res);
		if (in_tx) {
			if (pg2md_failed(err))
				PQclear(PQexec(conn, "ROLLBACK TO SAVEPOINT pg2md_cast"));
			PQclear(PQexec(conn, "RELEASE SAVEPOINT pg2md_cast"));
		}
	}
	buf_release(&sql);
	return err->code;
}

pg2md_code
colhints_apply(PGconn *conn, const pg2md_config *cfg, pg2md_table *t, pg2md_error *err)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);
	bool overrides = false;

	for (int k = 0; tc && k < tc->n_col_hints; k++) {
		const pg2md_column_hint *h = &tc->col_hints[k];
		pg2md_column *c = NULL;
		if (!changes_column(h))
			continue; /* hard_delete / dedup_sort only: they may name a transform's output */
		for (int i = 0; i < t->ncols && !c; i++)
			if (strcmp(t->cols[i].name, h->column) == 0)
				c = &t->cols[i];
		if (!c) {
			pg2md_buf names = PG2MD_BUF_INIT;
			for (int i = 0; i < t->ncols && i < 12; i++)
				buf_printf(&names, "%s\"%s\"", i ? ", " : "", t->cols[i].name);
			if (t->ncols > 12)
				buf_puts(&names, ", …");
			pg2md_fail(err, PG2MD_ERR_USAGE, "column \"%s\" of table \"%s\" does not exist%s", h->column, t->name,
				   tc->included_columns.n || tc->excluded_columns.n ? " or is not among the copied columns" : "");
			hint_place(err, t->name, h);
			pg2md_hint(err, "columns.<column> names the column at the source%s: %s",
				   t->relkind == 'q' ? " (an output column of the query)" : "", names.data);
			buf_release(&names);
			return err->code;
		}
		if (h->name) {
			free(c->dest_name);
			c->dest_name = naming_normalize(cfg->naming, h->name);
			c->renamed = true;
			if (!c->dest_name)
				return pg2md_nomem(err);
		}
		if (h->nullable >= 0)
			c->nullable = h->nullable == 1;
		if (h->data_type) {
			if (override_type(conn, t, c, h, err))
				return err->code;
			overrides = overrides || c->src_expr;
		} else if (check_precision(t, h, &(int){0}, &(int){0}, err)) {
			return err->code;
		}
	}

	/* Two columns with one destination name: the naming convention folded them, or a rename did. */
	for (int i = 0; i < t->ncols; i++)
		for (int j = i + 1; j < t->ncols; j++)
			if (strcmp(t->cols[i].dest_name, t->cols[j].dest_name) == 0) {
				const pg2md_column *r = t->cols[j].renamed ? &t->cols[j] : t->cols[i].renamed ? &t->cols[i] : NULL;
				pg2md_fail(err, PG2MD_ERR_USAGE,
					   "columns \"%s\" and \"%s\" of table \"%s\" both become \"%s\" in the destination",
					   t->cols[i].name, t->cols[j].name, t->name, t->cols[i].dest_name);
				if (r) {
					hint_place(err, t->name, pg2md_config_column_hint(tc, r->name));
					pg2md_hint(err, "choose a name no other column of the table has");
				} else {
					pg2md_hint(err, "set [schema] naming = \"direct\" to keep names exactly, rename one column "
							"(columns.<column>.name), or exclude one");
				}
				return err->code;
			}
	return overrides ? check_casts(conn, cfg, tc, t, err) : PG2MD_OK;
}

void
colhints_failure_hint(const pg2md_config *cfg, const pg2md_table *t, pg2md_error *err)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);
	pg2md_buf b = PG2MD_BUF_INIT;
	if (err->hint[0])
		return;
	for (int i = 0; i < t->ncols; i++) {
		const pg2md_column_hint *h = pg2md_config_column_hint(tc, t->cols[i].name);
		if (t->cols[i].src_expr && h && h->data_type)
			buf_printf(&b, "%s\"%s\" as %s (%s)", b.len ? ", " : "", t->cols[i].name, h->data_type, h->where);
	}
	if (b.len)
		pg2md_hint(err, "a value PostgreSQL cannot convert fails the run; the table's type overrides: %s; nothing was "
				"loaded", b.data);
	buf_release(&b);
}

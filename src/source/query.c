/*
 * query.c — describing the replacement query of a table (see query.h).
 *
 * Nothing of the query is executed here: PQprepare parses and plans it and
 * PQdescribePrepared returns its output columns (domains already resolved to
 * their base types by the server), so a query that does not parse, names a
 * missing table or column, or holds two statements fails before any data
 * moves, with PostgreSQL's own message.
 */
#include "source/query.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schema/naming.h"
#include "source/pgconn.h"
#include "util/buf.h"
#include "util/log.h"

#define SAVEPOINT_NAME "pg2md_describe"

char *
query_trimmed(const char *query)
{
	char *q = xstrdup(query ? query : "");
	if (!q)
		return NULL;
	size_t n = strlen(q);
	while (n > 0 && (isspace((unsigned char)q[n - 1]) || q[n - 1] == ';'))
		q[--n] = '\0';
	return q;
}

/* The first keyword of q, past blanks, comments and opening parentheses, lower-cased into out. */
static void
first_keyword(const char *q, char *out, size_t n)
{
	size_t k = 0;
	for (;;) {
		while (isspace((unsigned char)*q) || *q == '(')
			q++;
		if (q[0] == '-' && q[1] == '-') {
			while (*q && *q != '\n')
				q++;
		} else if (q[0] == '/' && q[1] == '*') {
			const char *end = strstr(q + 2, "*/");
			q = end ? end + 2 : q + strlen(q);
		} else {
			break;
		}
	}
	while (k + 1 < n && (isalpha((unsigned char)*q) || *q == '_'))
		out[k++] = (char)tolower((unsigned char)*q++);
	out[k] = '\0';
}

/* PostgreSQL's primary message of a failed result, with its detail when there is one. */
static void
pg_message(const PGresult *res, PGconn *conn, pg2md_error *err)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (primary && detail)
		pg2md_detail(err, "%s (%s)", primary, detail);
	else if (primary)
		pg2md_detail(err, "%s", primary);
	else {
		char msg[PG2MD_DETAIL_MAX];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
		pg2md_chomp(msg);
		pg2md_detail(err, "%s", msg);
	}
}

static void
savepoint(PGconn *conn, bool in_tx, const char *sql)
{
	if (in_tx) {
		PGresult *res = PQexec(conn, sql);
		PQclear(res);
	}
}

/* Prepare sql as the unnamed statement; NULL and err filled on failure. */
static PGresult *
prepare(PGconn *conn, const pg2md_table *t, const char *sql, pg2md_error *err)
{
	if (buf_is_oom(sql)) {
		pg2md_nomem(err);
		return NULL;
	}
	PGresult *res = PQprepare(conn, "", sql, 0, NULL);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		PQclear(res);
		res = PQdescribePrepared(conn, "");
		if (PQresultStatus(res) == PGRES_COMMAND_OK && PQnparams(res) == 0)
			return res;
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "the query of table \"%s\" has parameters ($1, …)", t->name);
			pg2md_hint(err, "write the values into [sources.sql_database.%s] query; pg2md has nothing to bind "
					"to them", t->name);
			PQclear(res);
			return NULL;
		}
	}
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (primary && strstr(primary, "multiple commands"))
		pg2md_fail(err, PG2MD_ERR_USAGE, "the query of table \"%s\" holds more than one statement", t->name);
	else
		pg2md_fail(err, PG2MD_ERR_USAGE, "the query of table \"%s\" cannot be described", t->name);
	pg_message(res, conn, err);
	pg2md_hint(err, "check [sources.sql_database.%s] query; it runs in the schema search path of user \"%s\", so "
			"qualify its tables with their schema", t->name, PQuser(conn));
	PQclear(res);
	return NULL;
}

/* Fill t's columns from the described output d. */
static pg2md_code
describe_columns(PGconn *conn, const pg2md_config *cfg, const pg2md_table_config *tc, pg2md_table *t,
		 const PGresult *d, pg2md_error *err)
{
	int n = PQnfields(d);
	pg2md_buf oids = PG2MD_BUF_INIT, mods = PG2MD_BUF_INIT;
	PGresult *res;

	buf_putc(&oids, '{');
	buf_putc(&mods, '{');
	for (int i = 0; i < n; i++) {
		buf_printf(&oids, "%s%u", i ? "," : "", (unsigned)PQftype(d, i));
		buf_printf(&mods, "%s%d", i ? "," : "", PQfmod(d, i));
	}
	buf_putc(&oids, '}');
	buf_putc(&mods, '}');
	if (buf_broken(&oids) || buf_broken(&mods)) {
		buf_release(&oids);
		buf_release(&mods);
		return pg2md_nomem(err);
	}
	const char *params[2] = {oids.data, mods.data};
	res = pg_query(conn,
		       "SELECT format_type(u.o, u.m), t.typoutput::regproc::text"
		       " FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS u(o, m, n)"
		       " JOIN pg_catalog.pg_type t ON t.oid = u.o ORDER BY u.n",
		       2, params, err);
	buf_release(&oids);
	buf_release(&mods);
	if (!res)
		return err->code;
	if (PQntuples(res) != n) {
		PQclear(res);
		return pg2md_fail(err, PG2MD_ERR_RUN, "could not look up the column types of the query of table \"%s\"",
				  t->name);
	}
	t->cols = xcalloc((size_t)n + 1, sizeof(pg2md_column));
	t->ncols = 0;
	if (!t->cols) {
		PQclear(res);
		return pg2md_nomem(err);
	}
	for (int i = 0; i < n; i++) {
		const char *name = PQfname(d, i);
		if (!schema_column_kept(tc, name))
			continue;
		for (int j = 0; j < t->ncols; j++)
			if (strcmp(t->cols[j].name, name) == 0) {
				PQclear(res);
				pg2md_fail(err, PG2MD_ERR_USAGE, "the query of table \"%s\" returns more than one column named \"%s\"",
					   t->name, name);
				pg2md_hint(err, "name the columns apart with AS in the query, or leave one out with excluded_columns");
				return err->code;
			}
		pg2md_column *c = &t->cols[t->ncols++];
		c->name = xstrdup(name);
		c->dest_name = naming_normalize(cfg->naming, name);
		c->nullable = true; /* a query says nothing about it */
		c->type_oid = c->src_oid = (uint32_t)PQftype(d, i);
		c->typmod = PQfmod(d, i);
		c->pg_type = xstrdup(PQgetvalue(res, i, 0));
		c->text_out = xstrdup(PQgetvalue(res, i, 1));
		if (!c->name || !c->dest_name || !c->pg_type || !c->text_out) {
			PQclear(res); /* the column is freed with the table */
			return pg2md_nomem(err);
		}
		c->numeric_double = strcmp(pg2md_config_numeric_fallback(cfg, t->name), "double") == 0;
		c->char_keep = pg2md_config_char_keep(cfg, t->name);
		if (catalog_choose_decoder(conn, c, 0, err)) {
			PQclear(res);
			return err->code;
		}
	}
	PQclear(res);
	if (t->ncols == 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "the query of table \"%s\" has no columns%s", t->name,
			   n > 0 ? " left after included_columns and excluded_columns" : "");
		pg2md_detail(err, "a DuckDB table needs at least one column");
		return err->code;
	}
	return PG2MD_OK;
}

pg2md_code
query_describe(PGconn *conn, const pg2md_config *cfg, pg2md_table *t, pg2md_error *err)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);
	bool in_tx = PQtransactionStatus(conn) == PQTRANS_INTRANS;
	pg2md_buf wrapped = PG2MD_BUF_INIT;
	PGresult *d = NULL;
	char kw[16];

	t->query = query_trimmed(tc ? tc->query : NULL);
	if (!t->query)
		return pg2md_nomem(err);
	first_keyword(t->query, kw, sizeof(kw));
	if (strcmp(kw, "select") != 0 && strcmp(kw, "with") != 0 && strcmp(kw, "values") != 0 &&
	    strcmp(kw, "table") != 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "the query of table \"%s\" is not a SELECT statement", t->name);
		if (*t->query == '\0')
			pg2md_detail(err, "the query is empty");
		else
			pg2md_detail(err, "it starts with \"%s\"", *kw ? kw : "something that is not a keyword");
		pg2md_hint(err, "query takes one SELECT (or WITH … SELECT, VALUES, TABLE) whose rows become the table");
		return err->code;
	}

	savepoint(conn, in_tx, "SAVEPOINT " SAVEPOINT_NAME);
	/* The query as written (two statements are refused here), then as pg2md reads it: a
	 * subquery, where a data-modifying WITH is refused. */
	d = prepare(conn, t, t->query, err);
	if (d) {
		PQclear(d);
		buf_puts(&wrapped, "SELECT * FROM ");
		catalog_source_rel(&wrapped, cfg->schema, t);
		d = prepare(conn, t, wrapped.data, err);
	}
	if (d && describe_columns(conn, cfg, tc, t, d, err) == PG2MD_OK) {
		savepoint(conn, in_tx, "RELEASE SAVEPOINT " SAVEPOINT_NAME);
	} else {
		savepoint(conn, in_tx, "ROLLBACK TO SAVEPOINT " SAVEPOINT_NAME);
		savepoint(conn, in_tx, "RELEASE SAVEPOINT " SAVEPOINT_NAME);
	}
	PQclear(d);
	buf_release(&wrapped);
	if (pg2md_failed(err))
		return err->code;

	/* One leaf, no pages: one task, never split. */
	t->leaf_oids = xcalloc(1, sizeof(uint32_t));
	t->leaf_names = xcalloc(1, sizeof(char *));
	t->leaf_pages = xcalloc(1, sizeof(int64_t));
	if (!t->leaf_oids || !t->leaf_names || !t->leaf_pages)
		return pg2md_nomem(err); /* freed with the table */
	t->nleaves = 1;
	pg2md_buf rel = PG2MD_BUF_INIT;
	catalog_source_rel(&rel, cfg->schema, t);
	t->leaf_names[0] = buf_detach(&rel);
	t->leaf_pages[0] = -1;
	if (!t->leaf_names[0])
		return pg2md_nomem(err);
	pg2md_debug("table \"%s\": a query of %d columns", t->name, t->ncols);
	return PG2MD_OK;
}

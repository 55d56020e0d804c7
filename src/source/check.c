/*
 * check.c — `pg2md check`'s source section (see check.h): the PostgreSQL connection, the
 * schema, each configured table.  Each finding is an item of the checklist; nothing is
 * printed here.
 */
#include "source/check.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "source/catalog.h"
#include "source/colhints.h"
#include "source/pgconn.h"
#include "source/query.h"
#include "util/buf.h"
#include "util/humanize.h"

/* The schema's existence and USAGE; returns 1 when tables can be looked at. */
static int
check_schema(checklist *cl, PGconn *conn, const pg2md_config *cfg)
{
	const char *params[1] = {cfg->schema};
	pg2md_error err;
	PGresult *res;

	pg2md_error_init(&err);
	res = pg_query(conn, "SELECT has_schema_privilege(oid, 'USAGE') FROM pg_catalog.pg_namespace WHERE nspname = $1",
		       1, params, &err);
	if (!res) {
		check_failed(cl, PG2MD_ERR_RUN, "could not look up schema \"%s\"", cfg->schema);
		pg2md_chomp(err.msg);
		check_detail(cl, "%s", err.msg);
		return 0;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		check_failed(cl, PG2MD_ERR_RUN, "schema \"%s\" does not exist", cfg->schema);
		res = pg_query(conn, "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname !~ '^pg_' "
				     "AND nspname <> 'information_schema' ORDER BY 1", 0, NULL, &err);
		if (res) {
			pg2md_buf hint = PG2MD_BUF_INIT;
			catalog_close_names(&hint, cfg->schema, res, 0, -1);
			cl->oom |= buf_broken(&hint);
			if (hint.len)
				check_hint(cl, "did you mean %s? ([sources.sql_database] schema)", hint.data);
			else
				check_hint(cl, "check [sources.sql_database] schema in .dlt/config.toml");
			buf_release(&hint);
			PQclear(res);
		}
		return 0;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		pg2md_buf grant = PG2MD_BUF_INIT;
		buf_puts(&grant, "GRANT USAGE ON SCHEMA ");
		buf_ident(&grant, cfg->schema);
		buf_puts(&grant, " TO ");
		buf_ident(&grant, PQuser(conn));
		cl->oom |= buf_broken(&grant);
		check_failed(cl, PG2MD_ERR_RUN, "schema \"%s\": no USAGE permission for user \"%s\"", cfg->schema,
			     PQuser(conn));
		check_hint(cl, "%s", grant.data);
		buf_release(&grant);
		PQclear(res);
		return 0;
	}
	check_ok(cl, "schema \"%s\"", cfg->schema);
	PQclear(res);
	return 1;
}

/*
 * Per relation of the schema: name, kind, estimated rows (-1: never analyzed),
 * readable (table privilege, or every column's), total size, and for
 * partitioned tables the leaves the user cannot read.
 */
static const char *tables_sql =
	"SELECT c.relname, c.relkind,"
	"  CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(l.reltuples) FILTER (WHERE l.reltuples >= 0), -1)"
	"       FROM pg_partition_tree(c.oid) t JOIN pg_catalog.pg_class l ON l.oid = t.relid WHERE t.isleaf)"
	"  ELSE c.reltuples END,"
	"  has_table_privilege(c.oid, 'SELECT') OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
	"       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
	"       AND NOT has_column_privilege(c.oid, a.attnum, 'SELECT')),"
	"  CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)"
	"       FROM pg_partition_tree(c.oid) t WHERE t.isleaf)"
	"  ELSE pg_total_relation_size(c.oid) END,"
	"  CASE WHEN c.relkind = 'p' THEN (SELECT string_agg(t.relid::regclass::text, ', ')"
	"       FROM pg_partition_tree(c.oid) t WHERE t.isleaf AND NOT has_table_privilege(t.relid, 'SELECT'))"
	"  END,"
	"  CASE WHEN c.relkind = 'p' THEN (SELECT count(*) FROM pg_partition_tree(c.oid) t WHERE t.isleaf) END,"
	"  c.relispartition "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = $1 AND c.relkind IN ('r','p','v','m','f') "
	"ORDER BY c.relispartition, c.relname";

static const char *
kind_name(char k)
{
	switch (k) {
	case 'p': return "partitioned table";
	case 'v': return "view";
	case 'm': return "materialized view";
	case 'f': return "foreign table";
	default: return "table";
	}
}

/* A table defined by a query: it is described (never run), its column hints applied. */
static void
check_query_table(checklist *cl, PGconn *conn, const pg2md_config *cfg, const char *name, int namew,
		  const char *quoted)
{
	pg2md_table *t = xcalloc(1, sizeof(pg2md_table)); /* schema_tables_free frees an array */
	pg2md_error err;
	pg2md_error_init(&err);
	if (!t) {
		cl->oom = true;
		return;
	}
	t->name = xstrdup(name);
	t->dest_name = xstrdup(name);
	t->relkind = 'q';
	if (!t->name || !t->dest_name)
		cl->oom = true;
	else if (query_describe(conn, cfg, t, &err) == PG2MD_OK && colhints_apply(conn, cfg, t, &err) == PG2MD_OK) {
		check_ok(cl, "table %-*s query, %d column%s, read as one task", namew, quoted, t->ncols,
			 t->ncols == 1 ? "" : "s");
	} else {
		pg2md_chomp(err.msg);
		check_failed(cl, PG2MD_ERR_RUN, "table %-*s %s", namew, quoted, err.msg);
		check_error(cl, &err);
	}
	schema_tables_free(t, 1);
}

/*
 * A table's column hints (renames, type overrides), applied as a run applies them before any
 * data moves: the table is reflected alone, its casts tried by PostgreSQL.
 */
static pg2md_code
check_table_hints(PGconn *conn, const pg2md_config *cfg, const char *want, pg2md_error *err)
{
	pg2md_config one = *cfg; /* shallow: the same settings, this table alone */
	char *items[1] = {(char *)want};
	pg2md_table *tables = NULL;
	int n = 0;

	one.tables.items = items;
	one.tables.n = 1;
	if (catalog_reflect(conn, &one, &tables, &n, err) == PG2MD_OK)
		schema_tables_free(tables, n);
	return err->code;
}

static void
check_tables(checklist *cl, PGconn *conn, const pg2md_config *cfg)
{
	const char *params[1] = {cfg->schema};
	pg2md_error err;
	PGresult *res;
	int namew = 0;

	pg2md_error_init(&err);
	res = pg_query(conn, tables_sql, 1, params, &err);
	if (!res) {
		pg2md_chomp(err.msg);
		check_failed(cl, PG2MD_ERR_RUN, "could not list the tables of schema \"%s\"", cfg->schema);
		check_detail(cl, "%s", err.msg);
		return;
	}
	pg2md_strlist names;
	if (catalog_table_names(conn, cfg, &names, &err)) {
		pg2md_chomp(err.msg);
		check_failed(cl, PG2MD_ERR_RUN, "%s", err.msg);
		check_error(cl, &err);
		PQclear(res);
		return;
	}
	if (cfg->tables.n == 0)
		check_ok(cl, "no table list: every table of schema \"%s\"%s, %d found", cfg->schema,
			 cfg->include_views ? " and its views" : "", names.n);
	for (int i = 0; i < names.n; i++)
		if ((int)strlen(names.items[i]) > namew)
			namew = (int)strlen(names.items[i]);
	namew += 2; /* the quotes */
	for (int i = 0; i < names.n; i++) {
		const char *want = names.items[i];
		char *quoted = xasprintf("\"%s\"", want);
		int found = -1;
		const pg2md_table_config *tc = pg2md_config_table(cfg, want);
		if (!quoted) {
			cl->oom = true;
			break;
		}
		if (tc && tc->query) {
			check_query_table(cl, conn, cfg, want, namew, quoted);
			free(quoted);
			continue;
		}
		for (int r = 0; r < PQntuples(res) && found < 0; r++)
			if (strcmp(PQgetvalue(res, r, 0), want) == 0)
				found = r;
		if (found < 0) {
			/* the closest existing names, partitions aside */
			pg2md_buf hint = PG2MD_BUF_INIT;
			catalog_close_names(&hint, want, res, 0, 7);
			cl->oom |= buf_broken(&hint);
			check_failed(cl, PG2MD_ERR_RUN, "table %-*s not found in schema \"%s\"", namew, quoted, cfg->schema);
			if (hint.len)
				check_hint(cl, "did you mean %s?", hint.data);
			else
				check_hint(cl, "SELECT table_name FROM information_schema.tables WHERE table_schema = "
					       "'%s' lists what exists", cfg->schema);
			buf_release(&hint);
			free(quoted);
			continue;
		}
		char kind = PQgetvalue(res, found, 1)[0];
		double est = strtod(PQgetvalue(res, found, 2), NULL);
		int readable = strcmp(PQgetvalue(res, found, 3), "t") == 0;
		double size = strtod(PQgetvalue(res, found, 4), NULL);
		const char *unreadable_leaves = PQgetisnull(res, found, 5) ? NULL : PQgetvalue(res, found, 5);
		char rows[32], bytes[32], what[64];

		pg2md_error herr;
		pg2md_error_init(&herr);
		if (readable && !unreadable_leaves && tc && tc->n_col_hints > 0 &&
		    check_table_hints(conn, cfg, want, &herr) != PG2MD_OK) {
			pg2md_chomp(herr.msg);
			check_failed(cl, PG2MD_ERR_RUN, "table %-*s %s", namew, quoted, herr.msg);
			check_error(cl, &herr);
			free(quoted);
			continue;
		}
		bool partition = PQgetvalue(res, found, 7)[0] == 't';
		if (kind == 'p')
			snprintf(what, sizeof(what), "partitioned table, %s partitions, %s", PQgetvalue(res, found, 6),
				 partition ? "itself a partition, " : "");
		else if (partition)
			snprintf(what, sizeof(what), "partition, ");
		else if (kind != 'r')
			snprintf(what, sizeof(what), "%s, ", kind_name(kind));
		else
			what[0] = '\0';
		if (!readable) {
			pg2md_buf grant = PG2MD_BUF_INIT;
			buf_puts(&grant, "GRANT SELECT ON ");
			buf_ident(&grant, cfg->schema);
			buf_putc(&grant, '.');
			buf_ident(&grant, want);
			buf_puts(&grant, " TO ");
			buf_ident(&grant, PQuser(conn));
			cl->oom |= buf_broken(&grant);
			check_failed(cl, PG2MD_ERR_RUN, "table %-*s no SELECT permission for user \"%s\"", namew, quoted,
				     PQuser(conn));
			check_hint(cl, "%s", grant.data);
			buf_release(&grant);
		} else if (unreadable_leaves) {
			check_failed(cl, PG2MD_ERR_RUN, "table %-*s no SELECT permission for user \"%s\" on partitions %s", namew,
				     quoted, PQuser(conn), unreadable_leaves);
			check_hint(cl, "pg2md reads the partitions directly; grant SELECT on each of them");
		} else if (kind == 'v') {
			check_ok(cl, "table %-*s %srows unknown until read", namew, quoted, what);
		} else if (est < 0) {
			check_ok(cl, "table %-*s %srows unknown (never analyzed), %s", namew, quoted, what,
				 human_bytes(bytes, sizeof(bytes), size));
		} else {
			check_ok(cl, "table %-*s %s~%s rows, %s", namew, quoted, what, human_count(rows, sizeof(rows), est),
				 human_bytes(bytes, sizeof(bytes), size));
		}
		free(quoted);
	}
	catalog_names_free(&names);
	PQclear(res);
}

void
source_check(checklist *cl, const pg2md_config *cfg)
{
	pg2md_error err;
	PGconn *conn;
	char where[256];

	checklist_section(cl, "source", "PostgreSQL");
	pg2md_error_init(&err);
	conn = pg_connect(cfg, &err);
	if (!conn) {
		/* PG2MD_ERR_USAGE: no credentials at all */
		check_failed(cl, err.code == PG2MD_ERR_USAGE ? PG2MD_ERR_USAGE : PG2MD_ERR_CONNECT, "%s", err.msg);
		check_error(cl, &err);
		check_note(cl, "(schema and tables not checked)");
		return;
	}
	pg_describe(conn, where, sizeof(where));
	const char *version = PQparameterStatus(conn, "server_version");
	char vbuf[32];
	if (!version) {
		int v = PQserverVersion(conn);
		snprintf(vbuf, sizeof(vbuf), "%d.%d", v / 10000, v % 10000);
		version = vbuf;
	}
	check_ok(cl, "connected to PostgreSQL %s at %s, database \"%s\", user \"%s\"", version, where, PQdb(conn),
		 PQuser(conn));
	if (check_schema(cl, conn, cfg))
		check_tables(cl, conn, cfg);
	else
		check_note(cl, "(tables not checked)");
	PQfinish(conn);
}


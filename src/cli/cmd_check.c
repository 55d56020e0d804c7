/*
 * cmd_check.c — `pg2md check`: everything a run needs, tested before any data
 * moves, printed as a checklist of "ok" / "FAILED" lines.
 *
 * Source: the PostgreSQL connection (server version, host:port, database,
 * user — never the password), the schema, and for each configured table that
 * it exists (else the closest names), that the user may SELECT it (for a
 * partitioned table: every leaf, since the rows are read from the leaves),
 * its estimated rows and size.  Destination: it opens, it is writable (a
 * scratch table created, filled and dropped), the DuckDB version,
 * the dataset's tables.  A local DuckDB file that did not exist before the
 * check is removed again, so checking leaves nothing behind.
 *
 * Exit codes: 0 all passed; 3 a connection failed (either side); 1 a table is
 * missing or unreadable, or the destination is not writable; 2 configuration.
 * Both sides are always checked, so one run of `check` reports everything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <duckdb.h>
#include <libpq-fe.h>

#include "cli/cli.h"
#include "dest/duck.h"
#include "dest/motherduck.h"
#include "source/catalog.h"
#include "source/colhints.h"
#include "source/pgconn.h"
#include "source/query.h"
#include "util/buf.h"
#include "util/humanize.h"

typedef struct checklist {
	int passed;
	int failed;
	int connect_failed;
	int config_failed;   /* no credentials configured: exit 2, which wins over 3 and 1 */
} checklist;

#define INDENT "          "

static void
item(checklist *cl, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One checklist line: "  ok      what" or "  FAILED  what". */
static void
item(checklist *cl, int ok, const char *fmt, ...)
{
	va_list ap;
	printf("  %-8s", ok ? "ok" : "FAILED");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		cl->passed++;
	else
		cl->failed++;
}

/* "DETAIL:  text" under a checklist line; the text's own lines stay under its first. */
static void
item_note(const char *label, const char *text)
{
	int lw = (int)strlen(label) + 3;
	printf(INDENT "%s:  ", label);
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			while (p[1] == '\n')
				p++;
			if (!p[1])
				break;
			printf("\n" INDENT "%*s", lw, "");
		} else {
			putchar(*p);
		}
	}
	putchar('\n');
}

/* The detail and hint of a failure, indented under its line. */
static void
item_error(const pg2md_error *err)
{
	if (err->detail[0])
		item_note("DETAIL", err->detail);
	if (err->hint[0])
		item_note("HINT", err->hint);
}

/* ---- source --------------------------------------------------------------- */

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
		item(cl, 0, "could not look up schema \"%s\"", cfg->schema);
		pg2md_chomp(err.msg);
		item_note("DETAIL", err.msg);
		return 0;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		item(cl, 0, "schema \"%s\" does not exist", cfg->schema);
		res = pg_query(conn, "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname !~ '^pg_' "
				     "AND nspname <> 'information_schema' ORDER BY 1", 0, NULL, &err);
		if (res) {
			pg2md_buf hint = PG2MD_BUF_INIT;
			for (int r = 0; r < PQntuples(res); r++) {
				const char *name = PQgetvalue(res, r, 0);
				if (edit_distance(cfg->schema, name) <= (int)strlen(cfg->schema) / 2 + 1)
					buf_printf(&hint, "%s\"%s\"", hint.len ? " or " : "", name);
			}
			if (hint.len)
				printf(INDENT "HINT:  did you mean %s? ([sources.sql_database] schema)\n", hint.data);
			else
				printf(INDENT "HINT:  check [sources.sql_database] schema in .dlt/config.toml\n");
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
		item(cl, 0, "schema \"%s\": no USAGE permission for user \"%s\"", cfg->schema, PQuser(conn));
		printf(INDENT "HINT:  %s\n", grant.data);
		buf_release(&grant);
		PQclear(res);
		return 0;
	}
	item(cl, 1, "schema \"%s\"", cfg->schema);
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
	pg2md_table *t = xcalloc(1, sizeof(pg2md_table)); /* catalog_free frees an array */
	pg2md_error err;
	pg2md_error_init(&err);
	t->name = xstrdup(name);
	t->dest_name = xstrdup(name);
	t->relkind = 'q';
	if (query_describe(conn, cfg, t, &err) == PG2MD_OK && colhints_apply(conn, cfg, t, &err) == PG2MD_OK) {
		item(cl, 1, "table %-*s query, %d column%s, read as one task", namew, quoted, t->ncols, t->ncols == 1 ? "" : "s");
	} else {
		pg2md_chomp(err.msg);
		item(cl, 0, "table %-*s %s", namew, quoted, err.msg);
		item_error(&err);
	}
	catalog_free(t, 1);
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
		catalog_free(tables, n);
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
		item(cl, 0, "could not list the tables of schema \"%s\"", cfg->schema);
		item_note("DETAIL", err.msg);
		return;
	}
	pg2md_strlist names;
	if (catalog_table_names(conn, cfg, &names, &err)) {
		pg2md_chomp(err.msg);
		item(cl, 0, "%s", err.msg);
		item_error(&err);
		PQclear(res);
		return;
	}
	if (cfg->tables.n == 0)
		item(cl, 1, "no table list: every table of schema \"%s\"%s, %d found", cfg->schema,
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
		if (tc && tc->query) {
			check_query_table(cl, conn, cfg, want, namew, quoted);
			free(quoted);
			continue;
		}
		for (int r = 0; r < PQntuples(res) && found < 0; r++)
			if (strcmp(PQgetvalue(res, r, 0), want) == 0)
				found = r;
		if (found < 0) {
			/* The closest existing names (at most 3, closest first). */
			pg2md_buf hint = PG2MD_BUF_INIT;
			int limit = (int)strlen(want) / 3 + 1, shown = 0;
			for (int d = 0; d <= limit; d++)
				for (int r = 0; r < PQntuples(res) && shown < 3; r++)
					if (PQgetvalue(res, r, 7)[0] != 't' && edit_distance(want, PQgetvalue(res, r, 0)) == d) {
						buf_printf(&hint, "%s\"%s\"", shown ? " or " : "", PQgetvalue(res, r, 0));
						shown++;
					}
			item(cl, 0, "table %-*s not found in schema \"%s\"", namew, quoted, cfg->schema);
			if (hint.len)
				printf(INDENT "HINT:  did you mean %s?\n", hint.data);
			else
				printf(INDENT "HINT:  SELECT table_name FROM information_schema.tables WHERE table_schema = "
					      "'%s' lists what exists\n", cfg->schema);
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
			item(cl, 0, "table %-*s %s", namew, quoted, herr.msg);
			item_error(&herr);
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
			item(cl, 0, "table %-*s no SELECT permission for user \"%s\"", namew, quoted, PQuser(conn));
			printf(INDENT "HINT:  %s\n", grant.data);
			buf_release(&grant);
		} else if (unreadable_leaves) {
			item(cl, 0, "table %-*s no SELECT permission for user \"%s\" on partitions %s", namew, quoted,
			     PQuser(conn), unreadable_leaves);
			printf(INDENT "HINT:  pg2md reads the partitions directly; grant SELECT on each of them\n");
		} else if (kind == 'v') {
			item(cl, 1, "table %-*s %srows unknown until read", namew, quoted, what);
		} else if (est < 0) {
			item(cl, 1, "table %-*s %srows unknown (never analyzed), %s", namew, quoted, what,
			     human_bytes(bytes, sizeof(bytes), size));
		} else {
			item(cl, 1, "table %-*s %s~%s rows, %s", namew, quoted, what, human_count(rows, sizeof(rows), est),
			     human_bytes(bytes, sizeof(bytes), size));
		}
		free(quoted);
	}
	catalog_names_free(&names);
	PQclear(res);
}

static void
check_source(checklist *cl, const pg2md_config *cfg)
{
	pg2md_error err;
	PGconn *conn;
	char where[256];

	printf("source: PostgreSQL\n");
	pg2md_error_init(&err);
	conn = pg_connect(cfg, &err);
	if (!conn) {
		item(cl, 0, "%s", err.msg);
		item_error(&err);
		if (err.code == PG2MD_ERR_USAGE)
			cl->config_failed = 1; /* no credentials at all */
		else
			cl->connect_failed = 1;
		printf(INDENT "(schema and tables not checked)\n");
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
	item(cl, 1, "connected to PostgreSQL %s at %s, database \"%s\", user \"%s\"", version, where, PQdb(conn),
	     PQuser(conn));
	if (check_schema(cl, conn, cfg))
		check_tables(cl, conn, cfg);
	else
		printf(INDENT "(tables not checked)\n");
	PQfinish(conn);
}

/* ---- destination ------------------------------------------------------------ */

/* The dataset's tables with their estimated rows, one line each under an ok line. */
static void
list_dataset(checklist *cl, pg2md_dest *d, const char *dataset)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	duckdb_result res;

	buf_puts(&sql, "SELECT table_name, estimated_size, column_count FROM duckdb_tables() "
		       "WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&sql, dataset);
	buf_puts(&sql, " ORDER BY table_name LIKE '\\_dlt\\_%' ESCAPE '\\', table_name");
	if (duckdb_query(d->con, sql.data, &res) == DuckDBError) {
		item(cl, 0, "could not list the tables of dataset \"%s\"", dataset);
		item_note("DETAIL", duckdb_result_error(&res));
	} else {
		idx_t n = duckdb_row_count(&res);
		if (n == 0) {
			item(cl, 1, "dataset \"%s\" does not exist yet (the first run creates it)", dataset);
		} else {
			item(cl, 1, "dataset \"%s\": %llu table%s", dataset, (unsigned long long)n, n == 1 ? "" : "s");
			for (idx_t r = 0; r < n; r++) {
				char *name = duckdb_value_varchar(&res, 0, r);
				char rows[32];
				printf(INDENT "%-30s %10s rows %4lld columns\n", name ? name : "?",
				       human_count(rows, sizeof(rows), (double)duckdb_value_int64(&res, 1, r)),
				       (long long)duckdb_value_int64(&res, 2, r));
				duckdb_free(name);
			}
		}
	}
	duckdb_destroy_result(&res);
	buf_release(&sql);
}

static void
check_destination(checklist *cl, const pg2md_config *cfg)
{
	bool md = cfg->destination && strcmp(cfg->destination, "motherduck") == 0;
	bool existed = true;
	pg2md_dest d;
	pg2md_error err;
	struct stat st;
	char *version = NULL;

	pg2md_error_init(&err);
	if (!md)
		existed = stat(cfg->duckdb_path, &st) == 0;
	printf("\ndestination: %s\n", md ? "MotherDuck" : "DuckDB");
	if (md) {
		md_facts f;
		md_client_facts(cfg, &f);
		item(cl, f.version_supported, "DuckDB %s: %s MotherDuck supports (%s to 1.5.x)", f.duckdb_version,
		     f.version_supported ? "a version" : "not a version", MD_DUCKDB_MIN);
		item(cl, f.loadable || (!f.from_file && !f.installed), "motherduck extension %s%s%s",
		     f.from_file ? "file " : "", f.from_file || f.installed ? f.where : "not installed",
		     f.loadable ? ": loads" : f.from_file || f.installed ? ": does not load" : " (downloaded on first use)");
		if (!f.loadable && f.why[0])
			item_note("DETAIL", f.why);
	}
	if (dest_open(&d, cfg, 1, &err) != PG2MD_OK) {
		item(cl, 0, "%s", err.msg);
		item_error(&err);
		cl->connect_failed = 1;
		return;
	}
	duck_scalar(d.con, "SELECT version()", &version, &err);
	item(cl, 1, "opened %s (DuckDB %s)%s", d.where, version ? version : "?",
	     existed ? "" : "; a new file, removed again after the check");
	free(version);
	pg2md_error_init(&err);

	/*
	 * Writable: a scratch schema and table created and filled in one committed transaction,
	 * then dropped (DuckDB cannot commit an insert into a table the same transaction drops).
	 */
	{
		pg2md_buf sql = PG2MD_BUF_INIT, drop = PG2MD_BUF_INIT;
		char name[64];
		snprintf(name, sizeof(name), "_pg2md_check_%ld", (long)getpid());
		buf_puts(&sql, "BEGIN;\nCREATE SCHEMA ");
		buf_ident(&sql, name);
		buf_puts(&sql, ";\nCREATE TABLE ");
		duck_qualified(&sql, name, "scratch");
		buf_puts(&sql, " (x INTEGER);\nINSERT INTO ");
		duck_qualified(&sql, name, "scratch");
		buf_puts(&sql, " VALUES (1);\nCOMMIT");
		buf_puts(&drop, "DROP SCHEMA ");
		buf_ident(&drop, name);
		buf_puts(&drop, " CASCADE");
		if (duck_exec(d.con, sql.data, "writing", &err) == PG2MD_OK &&
		    duck_exec(d.con, drop.data, "dropping the scratch schema", &err) == PG2MD_OK) {
			item(cl, 1, "writable (created, filled and dropped a scratch table)");
		} else {
			pg2md_error ignore;
			pg2md_error_init(&ignore);
			duck_exec(d.con, "ROLLBACK", "rolling back", &ignore);
			item(cl, 0, "%s is not writable", d.where);
			item_note("DETAIL", err.msg);
			printf(INDENT "HINT:  %s\n", md ? "check that the token may write to the database (not a read-only share)"
						    : "check the file's and folder's permissions and free space");
		}
		buf_release(&sql);
		buf_release(&drop);
	}
	list_dataset(cl, &d, cfg->dataset_name);
	dest_close(&d);

	if (!existed) {
		char *wal = xasprintf("%s.wal", cfg->duckdb_path);
		unlink(cfg->duckdb_path);
		unlink(wal);
		free(wal);
	}
}

int
cmd_check(cli_opts *opts)
{
	int code;
	pg2md_config *cfg;
	checklist cl = {0, 0, 0, 0};

	if (opts->nargs > 0) {
		fprintf(stderr, "pg2md check: unexpected argument \"%s\"\n"
				"Try \"pg2md check --help\" for more information.\n", opts->args[0]);
		return PG2MD_ERR_USAGE;
	}
	cfg = cli_load_config(opts, &code);
	if (!cfg)
		return code;
	printf("pg2md check: project \"%s\", pipeline \"%s\"\n\n", cfg->project_dir, cfg->pipeline_name);
	check_source(&cl, cfg);
	fflush(stdout);
	check_destination(&cl, cfg);
	putchar('\n');
	if (cl.failed == 0) {
		printf("all %d checks passed\n", cl.passed);
		code = PG2MD_OK;
	} else {
		printf("%d of %d checks FAILED\n", cl.failed, cl.failed + cl.passed);
		fflush(stdout);
		code = cl.config_failed ? PG2MD_ERR_USAGE : cl.connect_failed ? PG2MD_ERR_CONNECT : PG2MD_ERR_RUN;
		fprintf(stderr, "pg2md: error: %d check%s failed\n", cl.failed, cl.failed == 1 ? "" : "s");
		if (cl.connect_failed)
			fprintf(stderr, "HINT:  see the FAILED lines above; a connection could not be made\n");
	}
	pg2md_config_free(cfg);
	return code;
}

/*
 * filter.c — `where` as a row filter of pg2md's publication, and the publication checked
 * against the configured tables (see filter.h, docs/cdc.md "A run's settings in follow mode").
 *
 * A filter is first tried on a publication created and rolled back in one transaction (other
 * sessions never see it): PostgreSQL then says whether it can be a row filter at all (only
 * immutable built-in functions, no subqueries, no user-defined types), deparses it (what an
 * existing publication's filter is compared with), and names the columns it reads (the Vars of
 * pg_publication_rel.prqual), which the replica identity must cover.
 */
#include "cdc/filter.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/pgconn.h"
#include "util/log.h"

static const char *
table_where(const pg2md_config *cfg, const pg2md_table *t)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);
	return tc && tc->where && *tc->where ? tc->where : NULL;
}

void
cdc_pub_table_clause(pg2md_buf *b, const pg2md_config *cfg, const pg2md_table *t)
{
	const char *w = table_where(cfg, t);
	if (w)
		buf_printf(b, " WHERE (%s)", w);
}

/* The row filter of relation oid in publication pub: its deparsed text, the columns it reads (a
 * PostgreSQL text[] literal) and whether it reads the whole row; *found false when the table is
 * not in the publication by name (FOR TABLE). */
static pg2md_code
read_filter(PGconn *conn, const char *pub, const char *oid, bool *found, char **text, char **cols, bool *whole,
	    pg2md_error *err)
{
	const char *ps[] = {pub, oid};
	PGresult *res = pg_query(conn,
				 "SELECT pg_catalog.pg_get_expr(pr.prqual, pr.prrelid), coalesce((SELECT "
				 "pg_catalog.array_agg(DISTINCT a.attname::text) FROM pg_catalog.regexp_matches(pr.prqual::text, "
				 "'\\{VAR :varno [0-9]+ :varattno ([0-9]+)', 'g') AS m(v) JOIN pg_catalog.pg_attribute a ON "
				 "a.attrelid = pr.prrelid AND a.attnum = m.v[1]::int2), '{}')::text, "
				 "coalesce(pg_catalog.strpos(pr.prqual::text, ':varattno 0 ') > 0, false) "
				 "FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid "
				 "WHERE p.pubname = $1 AND pr.prrelid = $2::oid",
				 2, ps, err);
	if (!res)
		return err->code;
	*found = PQntuples(res) == 1;
	*text = *found && !PQgetisnull(res, 0, 0) ? xstrdup(PQgetvalue(res, 0, 0)) : NULL;
	*cols = xstrdup(*found ? PQgetvalue(res, 0, 1) : "{}");
	*whole = *found && PQgetvalue(res, 0, 2)[0] == 't';
	bool oom = !*cols || (*found && !PQgetisnull(res, 0, 0) && !*text);
	PQclear(res);
	if (oom) {
		free(*text);
		free(*cols);
		*text = *cols = NULL;
		return pg2md_nomem(err);
	}
	return PG2MD_OK;
}

/* `where` of t tried as a row filter of a publication that is rolled back (see the file's
 * comment); PG2MD_ERR_USAGE with PostgreSQL's reason when it cannot be one.  *denied: the role
 * may not create publications (the caller may then rely on an existing one's filter). */
static pg2md_code
probe_filter(PGconn *conn, const pg2md_config *cfg, const pg2md_table *t, const char *where, char **text,
	     char **cols, bool *whole, bool *denied, pg2md_error *err)
{
	char name[64], oid[16];
	snprintf(name, sizeof(name), "pg2md_filter_probe_%ld", (long)getpid());
	snprintf(oid, sizeof(oid), "%u", t->oid);
	*denied = false;
	if (pg_exec(conn, "BEGIN", err))
		return err->code;
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "CREATE PUBLICATION ");
	buf_ident(&q, name);
	buf_puts(&q, " FOR TABLE ");
	buf_ident(&q, cfg->schema);
	buf_putc(&q, '.');
	buf_ident(&q, t->name);
	buf_printf(&q, " WHERE (%s) WITH (publish_via_partition_root = true)", where);
	PGresult *res = buf_broken(&q) ? NULL : pg_exec_wait(conn, q.data, 0, NULL);
	pg2md_code rc = PG2MD_OK;
	if (buf_broken(&q)) {
		rc = pg2md_nomem(err);
	} else if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage(conn);
		const char *det = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
		if (state && strcmp(state, "42501") == 0) {
			*denied = true;
		} else {
			pg2md_fail(err, PG2MD_ERR_USAGE, "the where of table \"%s\" cannot be a row filter of the publication "
				   "pg2md follow reads", t->name);
			pg2md_detail(err, "PostgreSQL: %s%s%s", msg ? msg : "error", det ? ": " : "", det ? det : "");
			pg2md_hint(err, "a row filter may use the table's columns, operators and immutable built-in functions "
					"(no subqueries, user-defined functions or types): rewrite the where under "
					"[sources.sql_database.%s], or leave the table out of tables", t->name);
			rc = PG2MD_ERR_USAGE;
		}
	} else {
		bool found;
		rc = read_filter(conn, name, oid, &found, text, cols, whole, err);
	}
	if (res)
		PQclear(res);
	buf_release(&q);
	pg2md_error e;
	pg2md_error_init(&e);
	pg_exec(conn, "ROLLBACK", &e);
	return rc;
}

/* The replica identity of t and of each of its partitions covers the filter's columns, or
 * PostgreSQL would refuse the source's UPDATE and DELETE on it once the publication has it. */
static pg2md_code
check_identity(PGconn *conn, const pg2md_config *cfg, const pg2md_table *t, const char *where, const char *cols,
	       bool whole, pg2md_error *err)
{
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", t->oid);
	const char *ps[] = {oid, cols, whole ? "true" : "false"};
	PGresult *res = pg_query(conn,
				 "SELECT c.relname::text, c.relreplident FROM (SELECT $1::oid AS relid UNION SELECT relid "
				 "FROM pg_catalog.pg_partition_tree($1::oid)) pt JOIN pg_catalog.pg_class c ON c.oid = pt.relid "
				 "WHERE c.relkind <> 'p' AND c.relreplident <> 'f' AND ($3::bool OR NOT ($2::text[] <@ "
				 "coalesce((SELECT pg_catalog.array_agg(a.attname::text) FROM pg_catalog.pg_index i JOIN "
				 "pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE "
				 "i.indrelid = c.oid AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND "
				 "i.indisreplident))), '{}'))) ORDER BY 1 LIMIT 1",
				 3, ps, err);
	if (!res)
		return err->code;
	pg2md_code rc = PG2MD_OK;
	if (PQntuples(res) == 1) {
		const char *rel = PQgetvalue(res, 0, 0);
		bool part = strcmp(rel, t->name) != 0;
		pg2md_fail(err, PG2MD_ERR_USAGE, "the where of table \"%s\" reads columns %s that the replica identity of %s "
			   "\"%s\" does not hold", t->name, cols, part ? "its partition" : "table", rel);
		pg2md_detail(err, "pg2md follow filters the changes with a row filter of its publication (where = \"%s\"); "
				  "PostgreSQL then refuses every UPDATE and DELETE of a table whose replica identity (here "
				  "%s) lacks a column the filter reads, and pg2md will not make the source's writes fail",
			     where, PQgetvalue(res, 0, 1)[0] == 'n' ? "NOTHING" : "the primary key or the index it names");
		pg2md_hint(err, "ALTER TABLE \"%s\".\"%s\" REPLICA IDENTITY FULL; (more WAL per UPDATE and DELETE: the "
				"whole old row), or a where over the key columns only", cfg->schema, rel);
		rc = PG2MD_ERR_USAGE;
	}
	PQclear(res);
	return rc;
}

/* The publication's row filter for t must be the one its `where` asks for (none without one):
 * else the stream would carry other rows than the initial copy holds. */
static pg2md_code
compare_filter(const pg2md_config *cfg, const char *pub, const pg2md_table *t, const char *where, const char *want,
	       const char *have, pg2md_error *err)
{
	if ((want == NULL) == (have == NULL) && (!want || strcmp(want, have) == 0))
		return PG2MD_OK;
	pg2md_fail(err, PG2MD_ERR_USAGE, "publication \"%s\" holds table \"%s\" %s%s%s, but its where is %s%s%s", pub,
		   t->name, have ? "with the row filter " : "without a row filter", have ? have : "", "",
		   where ? "\"" : "not set", where ? where : "", where ? "\"" : "");
	pg2md_detail(err, "pg2md follow filters the changes of a table with a where by the publication's row filter; "
			  "the stream must carry the rows the copy holds");
	pg2md_hint(err, "have the publication's owner run: ALTER PUBLICATION \"%s\" DROP TABLE \"%s\".\"%s\"; ALTER "
			"PUBLICATION \"%s\" ADD TABLE \"%s\".\"%s\"%s%s%s; then, if the table is followed already, resync "
			"it (docs/cdc.md, \"Resyncing one table\")",
		   pub, cfg->schema, t->name, pub, cfg->schema, t->name, where ? " WHERE (" : "", where ? where : "",
		   where ? ")" : "");
	return PG2MD_ERR_USAGE;
}

/* One table with a where: a valid row filter, covered by the replica identity, and the
 * publication's (if it holds the table) the same. */
static pg2md_code
check_where(PGconn *conn, const pg2md_config *cfg, const char *pub, const pg2md_table *t, const char *where,
	    bool in_pub, const char *have, const char *have_cols, bool have_whole, pg2md_error *err)
{
	char *text = NULL, *cols = NULL;
	bool whole = false, denied = false;
	pg2md_code rc = probe_filter(conn, cfg, t, where, &text, &cols, &whole, &denied, err);
	if (rc == PG2MD_OK && denied) {
		if (!in_pub || !have) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "the role may not create publications, and table \"%s\" has a where",
				   t->name);
			pg2md_detail(err, "pg2md follow needs a publication holding the table with the where as its row filter");
			pg2md_hint(err, "have the table's owner run: CREATE PUBLICATION \"%s\" FOR TABLE \"%s\".\"%s\" WHERE (%s) "
					"WITH (publish_via_partition_root = true); (or ALTER PUBLICATION \"%s\" ADD TABLE … when it "
					"exists)", pub, cfg->schema, t->name, where, pub);
			rc = PG2MD_ERR_USAGE;
		} else {
			/* PostgreSQL's text of a filter is the expression in parentheses */
			char *paren = xasprintf("(%s)", where);
			rc = !paren ? pg2md_nomem(err)
			     : strcmp(have, where) == 0 || strcmp(have, paren) == 0
				     ? check_identity(conn, cfg, t, where, have_cols, have_whole, err)
				     : compare_filter(cfg, pub, t, where, paren, have, err);
			free(paren);
		}
	} else if (rc == PG2MD_OK) {
		rc = check_identity(conn, cfg, t, where, cols, whole, err);
		if (rc == PG2MD_OK && in_pub)
			rc = compare_filter(cfg, pub, t, where, text, have, err);
	}
	free(text);
	free(cols);
	return rc;
}

/* Does publication pub hold t other than by name (FOR TABLES IN SCHEMA)?  *rc set on failure. */
static bool
in_schema_pub(PGconn *conn, const char *pub, const pg2md_config *cfg, const pg2md_table *t, pg2md_code *rc,
	      pg2md_error *err)
{
	const char *ps[] = {pub, cfg->schema, t->name};
	PGresult *res = pg_query(conn, "SELECT 1 FROM pg_catalog.pg_publication_tables WHERE pubname = $1 AND "
				       "schemaname = $2 AND tablename = $3", 3, ps, err);
	*rc = res ? PG2MD_OK : err->code;
	bool in = res && PQntuples(res) > 0;
	if (res)
		PQclear(res);
	return in;
}

/* The replica identity's columns are copied (not left out by included_columns /
 * excluded_columns): follow applies changes by them. */
static pg2md_code
check_key_columns(PGconn *conn, const pg2md_table *t, pg2md_error *err)
{
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", t->oid);
	const char *ps[] = {oid};
	PGresult *res = pg_query(conn, "SELECT a.attname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_index i ON "
				       "i.indrelid = c.oid AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = "
				       "'i' AND i.indisreplident)) JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND "
				       "a.attnum = ANY (i.indkey) WHERE c.oid = $1::oid ORDER BY a.attnum", 1, ps, err);
	if (!res)
		return err->code;
	pg2md_code rc = PG2MD_OK;
	for (int r = 0; r < PQntuples(res) && rc == PG2MD_OK; r++) {
		const char *name = PQgetvalue(res, r, 0);
		bool copied = false;
		for (int j = 0; j < t->ncols && !copied; j++)
			copied = !t->cols[j].lineage && strcmp(t->cols[j].name, name) == 0;
		if (copied)
			continue;
		pg2md_fail(err, PG2MD_ERR_USAGE, "key column \"%s\" of table \"%s\" is left out of the copy", name, t->name);
		pg2md_detail(err, "pg2md follow applies updates and deletes by the replica identity's columns: the mirror "
				  "must hold them");
		pg2md_hint(err, "keep \"%s\" in included_columns / out of excluded_columns under [sources.sql_database.%s]",
			   name, t->name);
		rc = PG2MD_ERR_USAGE;
	}
	PQclear(res);
	return rc;
}

pg2md_code
cdc_filter_check(PGconn *conn, const pg2md_config *cfg, const char *pub, const pg2md_table *tables, int n,
		 pg2md_error *err)
{
	int version = PQserverVersion(conn);
	for (int i = 0; i < n; i++)
		if (tables[i].relkind != 'q' && check_key_columns(conn, &tables[i], err))
			return err->code;
	for (int i = 0; i < n; i++)
		if (tables[i].relkind != 'q' && table_where(cfg, &tables[i]) && version < 150000) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has a where, which pg2md follow needs PostgreSQL 15 or "
				   "later for (this server is %d.%d)", tables[i].name, version / 10000, version % 10000);
			pg2md_detail(err, "the changes are filtered by a row filter of the publication (PostgreSQL 15+): the "
					  "server then turns an UPDATE that moves a row out of the filter into a DELETE, into "
					  "it into an INSERT, exactly as the where decides");
			pg2md_hint(err, "leave the where out (the mirror then holds every row), or the table out of tables");
			return PG2MD_ERR_USAGE;
		}
	const char *p1[] = {pub};
	PGresult *res = pg_query(conn, version >= 130000 ? "SELECT puballtables, pubviaroot FROM pg_catalog.pg_publication "
							  "WHERE pubname = $1"
							: "SELECT puballtables, false FROM pg_catalog.pg_publication WHERE pubname = $1",
				 1, p1, err);
	if (!res)
		return err->code;
	bool exists = PQntuples(res) == 1;
	bool all = exists && PQgetvalue(res, 0, 0)[0] == 't', viaroot = exists && PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	pg2md_code rc = PG2MD_OK;
	for (int i = 0; i < n && rc == PG2MD_OK; i++) {
		const pg2md_table *t = &tables[i];
		const char *where = table_where(cfg, t);
		if (t->relkind == 'q')
			continue; /* refused by the caller: a query is no table of a publication */
		if (exists && t->relkind == 'p' && !viaroot) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "publication \"%s\" does not publish the partitioned table \"%s\" via its "
				   "root", pub, t->name);
			pg2md_detail(err, "pg2md follow applies the changes of a partitioned table to its one table in the "
					  "destination: the stream must name the table, not its partitions");
			pg2md_hint(err, "have the publication's owner run: ALTER PUBLICATION \"%s\" SET "
					"(publish_via_partition_root = true);", pub);
			return PG2MD_ERR_USAGE;
		}
		bool in_pub = false, whole = false;
		char *have = NULL, *cols = NULL, oid[16];
		snprintf(oid, sizeof(oid), "%u", t->oid);
		if (exists && version >= 150000 && read_filter(conn, pub, oid, &in_pub, &have, &cols, &whole, err))
			return err->code;
		bool other = all; /* the publication holds t, but not by name: no row filter possible */
		if (where && exists && !in_pub && !all) {
			other = in_schema_pub(conn, pub, cfg, t, &rc, err);
			if (rc) {
				free(have);
				free(cols);
				return rc;
			}
		}
		if (where && other) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "publication \"%s\" publishes table \"%s\" FOR ALL TABLES or TABLES IN "
				   "SCHEMA, which cannot filter its rows by its where", pub, t->name);
			pg2md_hint(err, "use a publication of its own for pg2md ([sources.pg_replication] pub_name): pg2md "
					"creates it with the row filter");
			rc = PG2MD_ERR_USAGE;
		} else if (where) {
			rc = check_where(conn, cfg, pub, t, where, in_pub, have, cols, whole, err);
		} else if (in_pub) {
			rc = compare_filter(cfg, pub, t, NULL, NULL, have, err);
		}
		free(have);
		free(cols);
	}
	return rc;
}

/*
 * pgconn.c — connecting to PostgreSQL and sharing one snapshot (see pgconn.h).
 *
 * Every connection of a run joins the snapshot the first one exports
 * (pg_export_snapshot / SET TRANSACTION SNAPSHOT), so all tables and all
 * page ranges of a table are read as of the same moment, as pg_dump does.
 */
#include "source/pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"

#define MAX_PARAMS 64

PGconn *
pg_connect(const pg2md_config *cfg, pg2md_error *err)
{
	const char *keys[MAX_PARAMS + 1];
	const char *vals[MAX_PARAMS + 1];
	PGconn *conn;

	/* The config holds the credentials as separate fields (a connection string is parsed
	 * into them), the pass-through parameters (sslmode, …) and fallback_application_name. */
	pg2md_config_pg_params(cfg, keys, vals, MAX_PARAMS);
	conn = PQconnectdbParams(keys, vals, 0);
	if (conn == NULL) {
		pg2md_fail(err, PG2MD_ERR_CONNECT, "could not connect to PostgreSQL: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		char msg[PG2MD_DETAIL_MAX];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
		pg2md_chomp(msg);
		pg2md_fail(err, PG2MD_ERR_CONNECT, "could not connect to PostgreSQL%s%s%s",
			   cfg->pg_database ? " database \"" : "", cfg->pg_database ? cfg->pg_database : "",
			   cfg->pg_database ? "\"" : "");
		pg2md_detail(err, "%s", msg);
		if (strstr(msg, "password authentication failed") || strstr(msg, "no password supplied"))
			pg2md_hint(err, "check username and password under [sources.sql_database.credentials] in .dlt/secrets.toml");
		else if (strstr(msg, "does not exist"))
			pg2md_hint(err, "check the database name under [sources.sql_database.credentials]");
		else
			pg2md_hint(err, "check host and port under [sources.sql_database.credentials], that the server runs and "
					"accepts connections from this machine (test with psql -h HOST -U USER -d DATABASE)");
		PQfinish(conn);
		return NULL;
	}
	/* Predictable text output for the columns read as text. */
	PGresult *res = PQexec(conn, "SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres'; "
				     "SET extra_float_digits = 3; SET statement_timeout = 0; "
				     "SET idle_in_transaction_session_timeout = 0; SET client_encoding = 'UTF8'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg2md_fail(err, PG2MD_ERR_CONNECT, "could not set up the PostgreSQL session");
		pg2md_detail(err, "%s", PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

pg2md_code
pg_exec(PGconn *conn, const char *sql, pg2md_error *err)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg2md_fail(err, PG2MD_ERR_RUN, "%s", PQerrorMessage(conn));
		PQclear(res);
		return err->code;
	}
	PQclear(res);
	return PG2MD_OK;
}

PGresult *
pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params, pg2md_error *err)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg2md_fail(err, PG2MD_ERR_RUN, "%s", PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

pg2md_code
pg_snapshot_export(PGconn *conn, char **snapshot, pg2md_error *err)
{
	PGresult *res;
	if (pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err))
		return err->code;
	res = pg_query(conn, "SELECT pg_export_snapshot()", 0, NULL, err);
	if (!res)
		return err->code;
	*snapshot = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return PG2MD_OK;
}

pg2md_code
pg_snapshot_import(PGconn *conn, const char *snapshot, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_code result;
	if (pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err))
		return err->code;
	buf_puts(&sql, "SET TRANSACTION SNAPSHOT ");
	buf_literal(&sql, snapshot);
	result = pg_exec(conn, sql.data, err);
	buf_release(&sql);
	return result;
}

void
pg_describe(PGconn *conn, char *out, size_t n)
{
	const char *host = PQhost(conn);
	snprintf(out, n, "%s:%s", host && *host ? host : "local", PQport(conn) ? PQport(conn) : "5432");
}

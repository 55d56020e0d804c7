/*
 * pgconn.c — connecting to PostgreSQL and sharing one snapshot (see pgconn.h).
 *
 * Every connection of a run joins the snapshot the first one exports
 * (pg_export_snapshot / SET TRANSACTION SNAPSHOT), so all tables and all
 * page ranges of a table are read as of the same moment, as pg_dump does.
 */
#include "source/pgconn.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/interrupt.h"
#include "util/log.h"

#define MAX_PARAMS 64

static bool
set(const char *s)
{
	return s && *s;
}

/*
 * Were credentials given anywhere: a host, database, user or password in the config (files,
 * SOURCES__SQL_DATABASE__CREDENTIALS*, a connection string), a libpq service, or libpq's PG*
 * variables?  With none, connecting would only try libpq's defaults (the local socket, the
 * login name): a new user's missing secrets.toml, which is a configuration error, not a server
 * that cannot be reached.
 */
static bool
credentials_given(const pg2md_config *cfg)
{
	static const char *const env[] = {"PGHOST", "PGHOSTADDR", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSERVICE", NULL};
	if (set(cfg->pg_host) || set(cfg->pg_database) || set(cfg->pg_username) || set(cfg->pg_password) ||
	    set(cfg->pg_conn_string))
		return true;
	for (int i = 0; i < cfg->pg_query_keys.n; i++)
		if (strcmp(cfg->pg_query_keys.items[i], "service") == 0)
			return true;
	for (int i = 0; env[i]; i++)
		if (set(getenv(env[i])))
			return true;
	return false;
}

PGconn *
pg_connect(const pg2md_config *cfg, pg2md_error *err)
{
	const char *keys[MAX_PARAMS + 1];
	const char *vals[MAX_PARAMS + 1];
	PGconn *conn;

	if (!credentials_given(cfg)) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "no PostgreSQL credentials are configured");
		pg2md_detail(err, "no host, database, username or password under [sources.sql_database.credentials] in "
				  "\"%s\", nor in SOURCES__SQL_DATABASE__CREDENTIALS* or libpq's PG* variables",
			     cfg->secrets_path ? cfg->secrets_path : ".dlt/secrets.toml");
		pg2md_hint(err, "set drivername, database, host, port, username and password under "
				"[sources.sql_database.credentials] in .dlt/secrets.toml (pg2md init writes a template)");
		return NULL;
	}

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
	/*
	 * Predictable text output for the columns read as text.  No statement timeout (a COPY of a
	 * large table takes long), but a bounded wait for table locks: a session holding an ACCESS
	 * EXCLUSIVE lock in a forgotten transaction must fail the run, not hang it (lock_timeout).
	 */
	char setup[320];
	snprintf(setup, sizeof(setup),
		 "SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres'; "
		 "SET extra_float_digits = 3; SET statement_timeout = 0; SET lock_timeout = '%ds'; "
		 "SET idle_in_transaction_session_timeout = 0; SET client_encoding = 'UTF8'; SET timezone = 'UTC'",
		 cfg->lock_timeout);
	PGresult *res = PQexec(conn, setup);
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

/*
 * A statement failed after waiting lock_timeout for a table lock (SQLSTATE 55P03): say which
 * table and which session holds it.  The transaction is aborted anyway (the run fails), so it
 * is rolled back to ask pg_locks.  Only an ACCESS EXCLUSIVE lock conflicts with what pg2md takes
 * (ACCESS SHARE: LOCK TABLE, COPY, pg_relation_size).
 */
void
pg_fail_lock_timeout(PGconn *conn, pg2md_error *err)
{
	char server[PG2MD_DETAIL_MAX];
	PGresult *res;

	snprintf(server, sizeof(server), "%s", PQerrorMessage(conn));
	if (strchr(server, '\n'))
		*strchr(server, '\n') = '\0'; /* the message, not the statement it quotes */
	pg2md_chomp(server);
	if (PQtransactionStatus(conn) == PQTRANS_INERROR)
		PQclear(PQexec(conn, "ROLLBACK"));
	res = PQexec(conn, "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), l.pid,"
			   "       coalesce(a.state, '?'), coalesce(extract(epoch FROM now() - a.xact_start)::bigint, -1),"
			   "       current_setting('lock_timeout')"
			   " FROM pg_catalog.pg_locks l"
			   " JOIN pg_catalog.pg_class c ON c.oid = l.relation"
			   " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			   " LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
			   " WHERE l.locktype = 'relation' AND l.granted AND l.mode = 'AccessExclusiveLock'"
			   "   AND l.pid <> pg_backend_pid() AND l.database = (SELECT oid FROM pg_catalog.pg_database"
			   "                                                    WHERE datname = current_database())"
			   "   AND c.relkind IN ('r', 'p', 'm', 'f')"
			   " ORDER BY a.xact_start NULLS LAST LIMIT 1");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		const char *table = PQgetvalue(res, 0, 0), *pid = PQgetvalue(res, 0, 1);
		long long age = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		pg2md_fail(err, PG2MD_ERR_RUN, "could not lock table \"%s\": another session holds an ACCESS EXCLUSIVE lock on it",
			   table);
		if (age >= 0)
			pg2md_detail(err, "pg2md waited lock_timeout (%s); pid %s holds the lock (%s, in a transaction for %lld s)",
				     PQgetvalue(res, 0, 4), pid, PQgetvalue(res, 0, 2), age);
		else
			pg2md_detail(err, "pg2md waited lock_timeout (%s); pid %s holds the lock", PQgetvalue(res, 0, 4), pid);
		pg2md_hint(err, "end that transaction (SELECT pg_terminate_backend(%s)) or let it finish, then run again; "
				"[sources.sql_database] lock_timeout sets how many seconds pg2md waits for a lock (0: forever)",
			   pid);
		PQclear(res);
		return;
	}
	PQclear(res);
	/*
	 * Nobody holds the lock: a session waits for it (a TRUNCATE, an ALTER TABLE), queued behind
	 * the run's own ACCESS SHARE lock, and pg2md's later reads of the table queue behind it.
	 */
	res = PQexec(conn, "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), l.pid,"
			   "       left(regexp_replace(coalesce(a.query, '?'), '\\s+', ' ', 'g'), 60),"
			   "       current_setting('lock_timeout')"
			   " FROM pg_catalog.pg_locks l"
			   " JOIN pg_catalog.pg_class c ON c.oid = l.relation"
			   " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			   " LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
			   " WHERE l.locktype = 'relation' AND NOT l.granted AND l.mode = 'AccessExclusiveLock'"
			   "   AND l.pid <> pg_backend_pid() AND l.database = (SELECT oid FROM pg_catalog.pg_database"
			   "                                                    WHERE datname = current_database())"
			   "   AND c.relkind IN ('r', 'p', 'm', 'f')"
			   " ORDER BY a.query_start NULLS LAST LIMIT 1");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		const char *pid = PQgetvalue(res, 0, 1);
		pg2md_fail(err, PG2MD_ERR_RUN,
			   "could not lock table \"%s\": pid %s waits for an ACCESS EXCLUSIVE lock on it, behind this run",
			   PQgetvalue(res, 0, 0), pid);
		pg2md_detail(err, "server: %s; pg2md waited lock_timeout (%s); pid %s runs: %s", server,
			     PQgetvalue(res, 0, 3), pid, PQgetvalue(res, 0, 2));
		pg2md_hint(err, "that statement waits for the lock this run holds, and the run's next reads of the table "
				"wait behind it: run it before or after pg2md, or cancel it (SELECT pg_cancel_backend(%s)), "
				"then run again",
			   pid);
	} else {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not lock a table: lock_timeout expired");
		pg2md_detail(err, "server: %s", server);
		pg2md_hint(err, "another session held a conflicting lock (ACCESS EXCLUSIVE: ALTER TABLE, TRUNCATE, VACUUM "
				"FULL, LOCK TABLE); run again when it is done, or raise [sources.sql_database] lock_timeout");
	}
	PQclear(res);
}

/* Wait until a result can be read without blocking; cancel the statement once if a cancel
 * request comes meanwhile (checked every 200 ms).  False when the connection failed. */
static bool
wait_result(PGconn *conn)
{
	bool cancelled = false;
	while (PQisBusy(conn)) {
		struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
		int n = poll(&pfd, 1, 200);
		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0 && !PQconsumeInput(conn))
			return false;
		if (!cancelled && interrupt_requested()) {
			char errbuf[256];
			PGcancel *cancel = PQgetCancel(conn);
			if (cancel) {
				PQcancel(cancel, errbuf, sizeof(errbuf));
				PQfreeCancel(cancel);
			}
			cancelled = true;
		}
	}
	return true;
}

PGresult *
pg_exec_wait(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult *last = NULL, *res;
	int sent = nparams > 0 ? PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
			       : PQsendQuery(conn, sql);
	if (!sent)
		return NULL;
	/* as PQexec: the last result, or the first COPY one; a failed connection ends the wait and
	 * PQgetResult reports it */
	for (;;) {
		wait_result(conn);
		res = PQgetResult(conn);
		if (!res)
			break;
		PQclear(last);
		last = res;
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH || PQstatus(conn) == CONNECTION_BAD)
			break;
	}
	return last;
}

/* The failure of a statement (res: its result, may be NULL), unless a cancel request stopped it. */
static void
fail_statement(PGconn *conn, const PGresult *res, pg2md_error *err)
{
	if (interrupt_requested()) {
		pg2md_fail(err, interrupt_reason(), "%s while waiting for PostgreSQL", interrupt_what());
	} else if (!pg2md_failed(err)) {
		pg2md_fail(err, PG2MD_ERR_RUN, "%s", PQerrorMessage(conn));
		pg2md_sqlstate(err, res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL);
	}
}

static bool
is_lock_timeout(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return state && strcmp(state, "55P03") == 0;
}

pg2md_code
pg_exec(PGconn *conn, const char *sql, pg2md_error *err)
{
	if (buf_is_oom(sql))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	PGresult *res = pg_exec_wait(conn, sql, 0, NULL);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		if (is_lock_timeout(res))
			pg_fail_lock_timeout(conn, err);
		else
			fail_statement(conn, res, err);
		PQclear(res);
		return err->code;
	}
	PQclear(res);
	return PG2MD_OK;
}

PGresult *
pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params, pg2md_error *err)
{
	/* one statement, as PQexecParams (extended protocol even without parameters) */
	PGresult *res = NULL;
	if (buf_is_oom(sql)) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)) {
		PGresult *r;
		for (;;) {
			wait_result(conn);
			if ((r = PQgetResult(conn)) == NULL)
				break;
			PQclear(res);
			res = r;
			if (PQstatus(conn) == CONNECTION_BAD)
				break;
		}
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (is_lock_timeout(res))
			pg_fail_lock_timeout(conn, err);
		else
			fail_statement(conn, res, err);
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
	return *snapshot ? PG2MD_OK : pg2md_nomem(err);
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

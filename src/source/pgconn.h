/*
 * pgconn.h — PostgreSQL connections for pg2md: connect from the resolved
 * configuration, run a statement, and share one snapshot across connections.
 *
 * Credentials come from the config (fields or a connection string, plus
 * pass-through libpq parameters such as sslmode); whatever is left unset is
 * filled by libpq itself from PGHOST, PGPORT, PGPASSWORD, ~/.pgpass, …
 * No function here ever puts a password into a message.
 */
#ifndef PG2MD_PGCONN_H
#define PG2MD_PGCONN_H

#include <libpq-fe.h>

#include "config/config.h"
#include "util/error.h"

/* Open a connection; on failure err gets code PG2MD_ERR_CONNECT and NULL is returned. */
PGconn *pg_connect(const pg2md_config *cfg, pg2md_error *err);

/*
 * PQexec (nparams 0: one or more statements) or PQexecParams (one statement) that a cancel
 * request (SIGINT, SIGTERM: interrupt_request) interrupts: a statement blocked at the server,
 * waiting for a lock or for its first row, is cancelled with PQcancel instead of holding the run.
 * Returns what PQexec would (a COPY returns its PGRES_COPY_OUT result); NULL when the query could
 * not be sent (PQerrorMessage says why).  The caller PQclear()s.
 */
PGresult *pg_exec_wait(PGconn *conn, const char *sql, int nparams, const char *const *params);

/* Run a statement that returns no rows (or ignore them); PG2MD_ERR_RUN on failure, or
 * PG2MD_ERR_INTERRUPTED when a cancel request stopped it. */
pg2md_code pg_exec(PGconn *conn, const char *sql, pg2md_error *err);

/* Run a query; returns the result (caller PQclear()s) or NULL with err set. */
PGresult *pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params, pg2md_error *err);

/* Start a repeatable-read, read-only transaction and export its snapshot (caller frees *snapshot). */
pg2md_code pg_snapshot_export(PGconn *conn, char **snapshot, pg2md_error *err);
/* Start a transaction that sees the exported snapshot. */
pg2md_code pg_snapshot_import(PGconn *conn, const char *snapshot, pg2md_error *err);

/* "host:port" as libpq resolved it, for messages (no secrets). */
void pg_describe(PGconn *conn, char *out, size_t n);

/*
 * After a statement on conn failed with SQLSTATE 55P03 (lock_timeout): fill err with the table
 * and the session in the way (one holding an ACCESS EXCLUSIVE lock, or one waiting for it behind
 * the run), with a hint.  Rolls back conn's transaction to ask pg_locks: the run fails anyway.
 */
void pg_fail_lock_timeout(PGconn *conn, pg2md_error *err);

#endif

/*
 * stream.c — the logical replication connection (see stream.h).
 *
 * Modelled on the streaming replication protocol as pg_recvlogical speaks it: a walsender
 * connection (replication=database) takes replication commands (IDENTIFY_SYSTEM,
 * CREATE_REPLICATION_SLOT, START_REPLICATION) and plain SQL in the simple query protocol only,
 * so every SQL text here is built with escaped literals, never with parameters.  After
 * START_REPLICATION the connection is in CopyBoth: the server sends XLogData ('w') and
 * keepalives ('k'), the client sends standby status updates ('r').
 *
 * Positions never move backwards: flush only grows through cdc_stream_confirm; write grows as
 * data arrives.  The status timer runs on CLOCK_MONOTONIC; the timestamp in a status update is
 * the wall clock in PostgreSQL's epoch, as the server expects.
 */
#include "cdc/stream.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "util/mem.h"

#define MAX_KEYS 80

struct cdc_stream {
	PGconn *conn;
	int server_version;
	bool copying;          /* in CopyBoth */
	bool started;          /* START_REPLICATION ran once: a walsender streams once per connection */
	char *buf;             /* the last PQgetCopyData buffer, freed on the next call */
	pgo_lsn written, flushed, server_end;
	int status_ms;
	int64_t next_status;   /* monotonic ms */
	bool status_pending;   /* a confirm asked for an update at the next chance */
	bool ended;            /* the server ended the copy (CopyDone: a walsender shutting down) */
};

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
pg_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - PGO_EPOCH_OFFSET_US;
}

static void
fail_conn(cdc_stream *s, pg2md_error *err, const char *what)
{
	char msg[PG2MD_DETAIL_MAX];
	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->conn));
	pg2md_chomp(msg);
	pg2md_fail(err, PG2MD_ERR_RUN, "%s", what);
	pg2md_detail(err, "%s", msg);
}

static void
fail_result(PGresult *res, pg2md_error *err, const char *what)
{
	char msg[PG2MD_DETAIL_MAX];
	snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
	pg2md_chomp(msg);
	pg2md_fail(err, PG2MD_ERR_RUN, "%s", what);
	pg2md_detail(err, "%s", msg);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state)
		pg2md_sqlstate(err, state);
}

/* Run a command that returns rows or nothing; NULL with err set on failure. */
static PGresult *
command(cdc_stream *s, const char *sql, const char *what, pg2md_error *err)
{
	PGresult *res = PQexec(s->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	if (res)
		fail_result(res, err, what);
	else
		fail_conn(s, err, what);
	PQclear(res);
	return NULL;
}

/* A quoted identifier for a replication command ("slot"), or false when it cannot be one. */
static bool
quote_ident(const char *name, char *out, size_t n)
{
	size_t o = 0;
	if (n < 3 || !*name)
		return false;
	out[o++] = '"';
	for (const char *c = name; *c; c++) {
		if (o + 3 >= n)
			return false;
		if (*c == '"')
			out[o++] = '"';
		out[o++] = *c;
	}
	out[o++] = '"';
	out[o] = 0;
	return true;
}

static void
hint_connect(pg2md_error *err, const char *msg, const char *user)
{
	if (strstr(msg, "replication role") || strstr(msg, "WAL sender") || strstr(msg, "walsender")) {
		pg2md_hint(err, "the role needs the REPLICATION attribute: ALTER ROLE \"%s\" REPLICATION; "
				"(on Amazon RDS: GRANT rds_replication TO \"%s\";)", user, user);
	} else if (strstr(msg, "pg_hba.conf") && strstr(msg, "replication")) {
		pg2md_hint(err, "pg_hba.conf needs a line for replication connections of this role, such as "
				"\"host replication %s 0.0.0.0/0 scram-sha-256\" (the word replication matches them; "
				"\"all\" does not), then SELECT pg_reload_conf();", user);
	} else if (strstr(msg, "number of requested standby connections") || strstr(msg, "max_wal_senders")) {
		pg2md_hint(err, "raise max_wal_senders on the server (a restart is needed)");
	} else {
		pg2md_hint(err, "check host, port and credentials under [sources.sql_database.credentials]");
	}
}

cdc_stream *
cdc_stream_open(const char *const *keys, const char *const *values, pg2md_error *err)
{
	const char *k[MAX_KEYS + 2], *v[MAX_KEYS + 2];
	int n = 0;
	for (; keys && keys[n] && n < MAX_KEYS; n++) {
		k[n] = keys[n];
		v[n] = values[n];
	}
	k[n] = "replication";
	v[n++] = "database";
	k[n] = NULL;
	v[n] = NULL;

	cdc_stream *s = mem_calloc(1, sizeof(*s));
	if (s == NULL) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory opening a replication connection");
		return NULL;
	}
	s->conn = PQconnectdbParams(k, v, 0);
	if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
		char msg[PG2MD_DETAIL_MAX];
		snprintf(msg, sizeof(msg), "%s", s->conn ? PQerrorMessage(s->conn) : "out of memory");
		pg2md_chomp(msg);
		const char *user = s->conn && PQuser(s->conn) ? PQuser(s->conn) : "ROLE";
		pg2md_fail(err, PG2MD_ERR_CONNECT, "could not open a replication connection to PostgreSQL");
		pg2md_detail(err, "%s", msg);
		hint_connect(err, msg, user);
		cdc_stream_close(s);
		return NULL;
	}
	s->server_version = PQserverVersion(s->conn);
	if (s->server_version < 100000) {
		pg2md_fail(err, PG2MD_ERR_CONNECT, "logical replication with pgoutput needs PostgreSQL 10 or later");
		pg2md_detail(err, "the server is version %d", s->server_version);
		cdc_stream_close(s);
		return NULL;
	}

	PGresult *res = command(s, "SHOW wal_level", "could not read wal_level", err);
	if (res == NULL) {
		cdc_stream_close(s);
		return NULL;
	}
	const char *level = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
	if (strcmp(level, "logical") != 0) {
		pg2md_fail(err, PG2MD_ERR_CONNECT, "the source does not allow logical replication: wal_level is \"%s\"", level);
		pg2md_sqlstate(err, "55000"); /* what the server says when asked to decode: not retried */
		pg2md_detail(err, "pg2md follow reads changes through a logical replication slot, which needs wal_level = logical");
		pg2md_hint(err, "run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL (on Amazon RDS set the "
				"parameter rds.logical_replication = 1, on Cloud SQL cloudsql.logical_decoding = on)");
		PQclear(res);
		cdc_stream_close(s);
		return NULL;
	}
	PQclear(res);

	/* The status interval: half of wal_sender_timeout, at most 10 s, at least 100 ms. */
	s->status_ms = 10000;
	res = command(s, "SHOW wal_sender_timeout", "could not read wal_sender_timeout", err);
	if (res == NULL) {
		cdc_stream_close(s);
		return NULL;
	}
	if (PQntuples(res) == 1) {
		const char *t = PQgetvalue(res, 0, 0);
		char *end;
		double val = strtod(t, &end);
		double ms = strcmp(end, "s") == 0 ? val * 1000 : strcmp(end, "min") == 0 ? val * 60000
			: strcmp(end, "ms") == 0 || *end == 0 ? val : strcmp(end, "h") == 0 ? val * 3600000 : 60000;
		if (ms > 0 && ms / 2 < s->status_ms)
			s->status_ms = ms / 2 < 100 ? 100 : (int)(ms / 2);
	}
	PQclear(res);
	return s;
}

void
cdc_stream_close(cdc_stream *s)
{
	if (s == NULL)
		return;
	if (s->buf)
		PQfreemem(s->buf);
	PQfinish(s->conn);
	free(s);
}

pg2md_code
cdc_stream_identify(cdc_stream *s, cdc_system *out, pg2md_error *err)
{
	memset(out, 0, sizeof(*out));
	PGresult *res = command(s, "IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM failed", err);
	if (res == NULL)
		return PG2MD_ERR_RUN;
	if (PQntuples(res) != 1 || PQnfields(res) < 4 || !pgo_lsn_parse(PQgetvalue(res, 0, 2), &out->xlogpos)) {
		PQclear(res);
		return pg2md_fail(err, PG2MD_ERR_RUN, "IDENTIFY_SYSTEM returned an unexpected result");
	}
	snprintf(out->systemid, sizeof(out->systemid), "%s", PQgetvalue(res, 0, 0));
	out->timeline = atoi(PQgetvalue(res, 0, 1));
	snprintf(out->dbname, sizeof(out->dbname), "%s", PQgetvalue(res, 0, 3));
	out->server_version = s->server_version;
	PQclear(res);
	return PG2MD_OK;
}

pg2md_code
cdc_stream_create_slot(cdc_stream *s, const char *slot, bool temporary, char **snapshot, pgo_lsn *consistent,
		       pg2md_error *err)
{
	char q[160], sql[400];
	*snapshot = NULL;
	if (!quote_ident(slot, q, sizeof(q)))
		return pg2md_fail(err, PG2MD_ERR_USAGE, "slot name \"%s\" is not valid", slot);
	if (s->server_version >= 150000)
		snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT %s %sLOGICAL pgoutput (SNAPSHOT 'export')", q,
			 temporary ? "TEMPORARY " : "");
	else
		snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT %s %sLOGICAL pgoutput EXPORT_SNAPSHOT", q,
			 temporary ? "TEMPORARY " : "");
	char what[256];
	snprintf(what, sizeof(what), "could not create replication slot \"%s\"", slot);
	PGresult *res = command(s, sql, what, err);
	if (res == NULL) {
		if (strcmp(err->sqlstate, "42710") == 0)
			pg2md_hint(err, "a slot of that name exists: pg2md resumes from it when the destination knows it; "
					"otherwise drop it (SELECT pg_drop_replication_slot('%s');) to start again", slot);
		else if (strcmp(err->sqlstate, "53400") == 0)
			pg2md_hint(err, "every replication slot is in use: raise max_replication_slots (restart needed) "
					"or drop an unused slot");
		return PG2MD_ERR_RUN;
	}
	if (PQntuples(res) != 1 || PQnfields(res) < 3 || !pgo_lsn_parse(PQgetvalue(res, 0, 1), consistent) ||
	    PQgetisnull(res, 0, 2)) {
		PQclear(res);
		return pg2md_fail(err, PG2MD_ERR_RUN, "CREATE_REPLICATION_SLOT returned an unexpected result");
	}
	const char *name = PQgetvalue(res, 0, 2);
	size_t len = strlen(name) + 1;
	*snapshot = mem_malloc(len);
	if (*snapshot)
		memcpy(*snapshot, name, len);
	PQclear(res);
	if (*snapshot == NULL)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	return PG2MD_OK;
}

pg2md_code
cdc_stream_slot_info(cdc_stream *s, const char *slot, cdc_slot_info *out, pg2md_error *err)
{
	memset(out, 0, sizeof(*out));
	char *lit = PQescapeLiteral(s->conn, slot, strlen(slot));
	if (lit == NULL)
		return pg2md_fail(err, PG2MD_ERR_RUN, "could not quote slot name \"%s\"", slot);
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT plugin, database, confirmed_flush_lsn, restart_lsn, %s, active "
		 "FROM pg_catalog.pg_replication_slots WHERE slot_name = %s",
		 s->server_version >= 130000 ? "wal_status" : "''", lit);
	PQfreemem(lit);
	PGresult *res = command(s, sql, "could not read pg_replication_slots", err);
	if (res == NULL)
		return PG2MD_ERR_RUN;
	if (PQntuples(res) == 1) {
		out->found = true;
		snprintf(out->plugin, sizeof(out->plugin), "%s", PQgetvalue(res, 0, 0));
		snprintf(out->database, sizeof(out->database), "%s", PQgetvalue(res, 0, 1));
		if (!PQgetisnull(res, 0, 2))
			pgo_lsn_parse(PQgetvalue(res, 0, 2), &out->confirmed_flush);
		if (!PQgetisnull(res, 0, 3))
			pgo_lsn_parse(PQgetvalue(res, 0, 3), &out->restart_lsn);
		snprintf(out->wal_status, sizeof(out->wal_status), "%s", PQgetvalue(res, 0, 4));
		out->active = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	}
	PQclear(res);
	return PG2MD_OK;
}

pg2md_code
cdc_stream_current_lsn(cdc_stream *s, pgo_lsn *out, pg2md_error *err)
{
	PGresult *res = command(s, "SELECT pg_catalog.pg_current_wal_insert_lsn()", "could not read the WAL position", err);
	if (res == NULL)
		return PG2MD_ERR_RUN;
	bool ok = PQntuples(res) == 1 && pgo_lsn_parse(PQgetvalue(res, 0, 0), out);
	PQclear(res);
	if (!ok)
		return pg2md_fail(err, PG2MD_ERR_RUN, "pg_current_wal_insert_lsn() returned an unexpected result");
	return PG2MD_OK;
}

pg2md_code
cdc_stream_drop_slot(cdc_stream *s, const char *slot, pg2md_error *err)
{
	char q[160], sql[200];
	if (!quote_ident(slot, q, sizeof(q)))
		return pg2md_fail(err, PG2MD_ERR_USAGE, "slot name \"%s\" is not valid", slot);
	snprintf(sql, sizeof(sql), "DROP_REPLICATION_SLOT %s", q);
	char what[256];
	snprintf(what, sizeof(what), "could not drop replication slot \"%s\"", slot);
	PGresult *res = command(s, sql, what, err);
	if (res == NULL)
		return PG2MD_ERR_RUN;
	PQclear(res);
	return PG2MD_OK;
}

pg2md_code
cdc_stream_start(cdc_stream *s, const char *slot, const char *publication, pgo_lsn start,
		 const cdc_start_opts *opts, cdc_start_opts *chosen, pg2md_error *err)
{
	/* PostgreSQL 15's walsender ends a second logical START_REPLICATION on the same connection
	 * at once (the stream-done flags of the first stay set): one stream per connection. */
	if (s->started)
		return pg2md_fail(err, PG2MD_ERR_RUN, "the replication stream was already started on this connection "
				  "(open a new connection to stream again)");
	cdc_start_opts o = opts ? *opts : (cdc_start_opts){0, -1, -1, false};
	bool v14 = s->server_version >= 140000;
	if (o.proto_version == 0)
		o.proto_version = v14 ? 2 : 1;
	if (o.binary < 0)
		o.binary = v14;
	if (o.streaming < 0)
		o.streaming = v14 && o.proto_version >= 2;
	if (o.streaming && o.proto_version < 2)
		return pg2md_fail(err, PG2MD_ERR_USAGE, "streaming of large transactions needs pgoutput protocol 2 or later");
	if (o.proto_version > 1 && !v14)
		return pg2md_fail(err, PG2MD_ERR_USAGE, "pgoutput protocol %d needs PostgreSQL 14 or later", o.proto_version);

	char q[160], pubq[400], sql[900];
	if (!quote_ident(slot, q, sizeof(q)))
		return pg2md_fail(err, PG2MD_ERR_USAGE, "slot name \"%s\" is not valid", slot);
	/* publication_names is a string literal holding a list of identifiers: quote the name as
	 * an identifier, then the whole as a literal (single quotes doubled). */
	char ident[300];
	if (!quote_ident(publication, ident, sizeof(ident)))
		return pg2md_fail(err, PG2MD_ERR_USAGE, "publication name \"%s\" is not valid", publication);
	size_t o2 = 0;
	for (const char *c = ident; *c && o2 + 2 < sizeof(pubq); c++) {
		if (*c == '\'')
			pubq[o2++] = '\'';
		pubq[o2++] = *c;
	}
	pubq[o2] = 0;
	char lsn[PGO_LSN_TEXT];
	snprintf(sql, sizeof(sql),
		 "START_REPLICATION SLOT %s LOGICAL %s (proto_version '%d', publication_names '%s'%s%s%s)", q,
		 pgo_lsn_format(start, lsn), o.proto_version, pubq, o.binary ? ", binary 'true'" : "",
		 o.streaming ? ", streaming 'on'" : "", o.messages ? ", messages 'true'" : "");
	PGresult *res = PQexec(s->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_BOTH) {
		char what[256];
		snprintf(what, sizeof(what), "could not start logical replication from slot \"%s\"", slot);
		if (res)
			fail_result(res, err, what);
		else
			fail_conn(s, err, what);
		const char *m = res ? PQresultErrorMessage(res) : "";
		if (strstr(m, "publication") && strstr(m, "does not exist"))
			pg2md_hint(err, "create it: CREATE PUBLICATION \"%s\" FOR TABLE …;", publication);
		else if (strstr(m, "does not exist"))
			pg2md_hint(err, "the slot is gone: start again from a new snapshot");
		else if (strstr(m, "is active"))
			pg2md_hint(err, "another process reads this slot: stop it first (pg_stat_replication shows it)");
		PQclear(res);
		return PG2MD_ERR_RUN;
	}
	PQclear(res);
	s->copying = true;
	s->started = true;
	s->written = start;
	if (start > s->flushed)
		s->flushed = start;
	s->next_status = mono_ms() + s->status_ms;
	if (chosen)
		*chosen = o;
	return PG2MD_OK;
}

static pg2md_code
send_status(cdc_stream *s, bool reply, pg2md_error *err)
{
	uint8_t msg[PGO_STATUS_LEN];
	pgo_build_status(msg, s->written > s->flushed ? s->written : s->flushed, s->flushed, s->flushed, pg_now_us(),
			 reply);
	if (PQputCopyData(s->conn, (const char *)msg, sizeof(msg)) <= 0 || PQflush(s->conn) < 0) {
		fail_conn(s, err, "could not send a standby status update to PostgreSQL");
		return PG2MD_ERR_RUN;
	}
	s->status_pending = false;
	s->next_status = mono_ms() + s->status_ms;
	return PG2MD_OK;
}

pg2md_code
cdc_stream_tick(cdc_stream *s, pg2md_error *err)
{
	if (!s->copying)
		return PG2MD_OK;
	if (s->status_pending || mono_ms() >= s->next_status)
		return send_status(s, false, err);
	return PG2MD_OK;
}

pg2md_code
cdc_stream_confirm(cdc_stream *s, pgo_lsn lsn, bool now, pg2md_error *err)
{
	if (lsn <= s->flushed)
		return PG2MD_OK;
	s->flushed = lsn;
	s->status_pending = true;
	if (now && s->copying)
		return send_status(s, false, err);
	return PG2MD_OK;
}

cdc_next_result
cdc_stream_next(cdc_stream *s, int timeout_ms, cdc_data *out, pg2md_error *err)
{
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	memset(out, 0, sizeof(*out));
	if (s->buf) {
		PQfreemem(s->buf);
		s->buf = NULL;
	}
	if (!s->copying) {
		pg2md_fail(err, PG2MD_ERR_RUN, "the replication stream is not started");
		return CDC_NEXT_ERROR;
	}
	for (;;) {
		if (cdc_stream_tick(s, err))
			return CDC_NEXT_ERROR;
		char *buf = NULL;
		int r = PQgetCopyData(s->conn, &buf, 1);
		if (r == 0) {
			int64_t now = mono_ms();
			if (now >= deadline)
				return CDC_NEXT_TIMEOUT;
			int64_t wait = deadline - now;
			if (s->next_status - now < wait)
				wait = s->next_status - now > 0 ? s->next_status - now : 0;
			struct pollfd pfd = {.fd = PQsocket(s->conn), .events = POLLIN};
			if (poll(&pfd, 1, (int)wait) < 0 && errno != EINTR) {
				pg2md_fail(err, PG2MD_ERR_RUN, "could not wait for the replication stream: %s", strerror(errno));
				return CDC_NEXT_ERROR;
			}
			if (PQconsumeInput(s->conn) == 0) {
				fail_conn(s, err, "the replication connection to PostgreSQL was lost");
				return CDC_NEXT_ERROR;
			}
			continue;
		}
		if (r == -1) { /* the server ended the copy */
			PGresult *res = PQgetResult(s->conn);
			s->copying = false;
			if (res && PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_COPY_OUT) {
				fail_result(res, err, "the replication stream ended with an error");
				PQclear(res);
				return CDC_NEXT_ERROR;
			}
			PQclear(res);
			while ((res = PQgetResult(s->conn)) != NULL)
				PQclear(res);
			s->ended = true;
			return CDC_NEXT_END;
		}
		if (r < 0) {
			fail_conn(s, err, "could not read from the replication stream");
			return CDC_NEXT_ERROR;
		}
		pgo_walmsg w;
		if (pgo_parse_wal((const uint8_t *)buf, (size_t)r, &w, err)) {
			PQfreemem(buf);
			return CDC_NEXT_ERROR;
		}
		if (w.wal_end > s->server_end)
			s->server_end = w.wal_end;
		if (w.kind == PGO_WAL_KEEPALIVE) {
			PQfreemem(buf);
			if (w.reply_requested && send_status(s, false, err))
				return CDC_NEXT_ERROR;
			continue;
		}
		if (w.start > s->written)
			s->written = w.start;
		s->buf = buf;
		out->lsn = w.start;
		out->wal_end = w.wal_end;
		out->data = w.data;
		out->len = w.len;
		return CDC_NEXT_DATA;
	}
}

pg2md_code
cdc_stream_stop(cdc_stream *s, pg2md_error *err)
{
	if (!s->copying)
		return PG2MD_OK;
	if (s->buf) {
		PQfreemem(s->buf);
		s->buf = NULL;
	}
	/* a last status update with the final flush position, then CopyDone */
	if (send_status(s, false, err))
		return PG2MD_ERR_RUN;
	if (PQputCopyEnd(s->conn, NULL) <= 0 || PQflush(s->conn) < 0) {
		fail_conn(s, err, "could not end the replication stream");
		return PG2MD_ERR_RUN;
	}
	for (;;) {
		char *buf = NULL;
		int r = PQgetCopyData(s->conn, &buf, 0);
		if (buf)
			PQfreemem(buf);
		if (r == -1)
			break;
		if (r == -2) {
			fail_conn(s, err, "could not end the replication stream");
			return PG2MD_ERR_RUN;
		}
	}
	s->copying = false;
	PGresult *res;
	pg2md_code rc = PG2MD_OK;
	while ((res = PQgetResult(s->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && rc == PG2MD_OK) {
			fail_result(res, err, "the replication stream ended with an error");
			rc = PG2MD_ERR_RUN;
		}
		PQclear(res);
	}
	return rc;
}

pgo_lsn
cdc_stream_written(const cdc_stream *s)
{
	return s->written;
}

pgo_lsn
cdc_stream_flushed(const cdc_stream *s)
{
	return s->flushed;
}

pgo_lsn
cdc_stream_server_end(const cdc_stream *s)
{
	return s->server_end;
}

bool
cdc_stream_lost(const cdc_stream *s)
{
	return s == NULL || s->ended || PQstatus(s->conn) == CONNECTION_BAD;
}

int
cdc_stream_status_interval_ms(const cdc_stream *s)
{
	return s->status_ms;
}

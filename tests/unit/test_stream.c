/*
 * test_stream.c — the replication connection (src/cdc/stream.c) against the test cluster
 * (PGHOST, PGPORT, PGUSER, PGDATABASE from tests/lib/cluster.sh's env; skipped without them):
 *   - a slot's exported snapshot sees exactly the rows committed before the slot, the stream
 *     exactly the rows committed after it (nothing lost or doubled at the hand-off);
 *   - the flush position reaches pg_replication_slots only when confirmed, never moves back,
 *     and a restart from 0/0 resumes after it (nothing confirmed is sent again);
 *   - the connection outlives several wal_sender_timeouts of silence (keepalive replies and
 *     the status timer);
 *   - a role without REPLICATION gets the ALTER ROLE to run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "cdc/pgoutput.h"
#include "cdc/stream.h"

static char slot[64], pub[64], table[64];

static PGconn *
sql_conn(void)
{
	PGconn *c = PQconnectdb("");
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	return c;
}

static void
sql(PGconn *c, const char *fmt, ...)
{
	char q[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(c, q);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(c));
	PQclear(r);
}

static long
sql_long(PGconn *c, const char *fmt, ...)
{
	char q[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(c, q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("%s: %s", q, PQerrorMessage(c));
	long v = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static int
setup(void **state)
{
	(void)state;
	if (getenv("PGHOST") == NULL || getenv("PGDATABASE") == NULL)
		return 0;
	snprintf(slot, sizeof(slot), "test_stream_%d", (int)getpid());
	snprintf(pub, sizeof(pub), "test_stream_pub_%d", (int)getpid());
	snprintf(table, sizeof(table), "test_stream_t_%d", (int)getpid());
	PGconn *c = sql_conn();
	sql(c, "CREATE TABLE %s (id int PRIMARY KEY, v text)", table);
	sql(c, "CREATE PUBLICATION %s FOR TABLE %s", pub, table);
	PQfinish(c);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (getenv("PGHOST") == NULL || getenv("PGDATABASE") == NULL)
		return 0;
	PGconn *c = sql_conn();
	sql(c, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '%s'", slot);
	sql(c, "DROP PUBLICATION IF EXISTS %s", pub);
	sql(c, "DROP TABLE IF EXISTS %s", table);
	sql(c, "DROP ROLE IF EXISTS test_stream_norepl");
	PQfinish(c);
	return 0;
}

#define NEED_CLUSTER()                                                       \
	do {                                                                 \
		if (getenv("PGHOST") == NULL || getenv("PGDATABASE") == NULL) \
			skip();                                              \
	} while (0)

static cdc_stream *
open_stream(void)
{
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_stream *s = cdc_stream_open(NULL, NULL, &err);
	if (s == NULL)
		fail_msg("%s: %s (%s)", err.msg, err.detail, err.hint);
	return s;
}

/* Read messages until a Commit; the ids of the inserts on the way go into ids. */
static pgo_lsn
read_txn(cdc_stream *s, pgo_parser *p, long *ids, int *nids, int max)
{
	pg2md_error err;
	pg2md_error_init(&err);
	*nids = 0;
	for (int waited = 0; waited < 600;) {
		cdc_data d;
		cdc_next_result r = cdc_stream_next(s, 100, &d, &err);
		if (r == CDC_NEXT_TIMEOUT) {
			waited++;
			continue;
		}
		if (r != CDC_NEXT_DATA)
			fail_msg("next: %d %s %s (after %d inserts)", r, err.msg, err.detail, *nids);
		pgo_msg m;
		if (pgo_parse(p, d.data, d.len, &m, &err))
			fail_msg("parse: %s", err.msg);
		if (m.kind == PGO_INSERT) {
			assert_int_equal(m.newtup.cols[0].kind, 'b'); /* binary tuples were asked for */
			const uint8_t *b = m.newtup.cols[0].data;
			assert_true(*nids < max);
			ids[(*nids)++] = (long)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
		}
		if (m.kind == PGO_COMMIT)
			return m.end_lsn;
	}
	fail_msg("no Commit arrived in 60 s");
	return 0;
}

static pgo_lsn
slot_confirmed(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = current_setting('test.slot')");
	pgo_lsn l = 0;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		pgo_lsn_parse(PQgetvalue(r, 0, 0), &l);
	PQclear(r);
	return l;
}

static void
snapshot_handoff_confirm_and_resume(void **state)
{
	(void)state;
	NEED_CLUSTER();
	PGconn *c = sql_conn();
	sql(c, "SET test.slot = '%s'", slot);
	sql(c, "INSERT INTO %s SELECT g, 'before' FROM generate_series(1, 100) g", table);

	cdc_stream *s = open_stream();
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_system sys;
	assert_int_equal(cdc_stream_identify(s, &sys, &err), PG2MD_OK);
	assert_true(sys.server_version >= 100000);
	assert_true(sys.xlogpos > 0);
	assert_string_equal(sys.dbname, getenv("PGDATABASE"));
	assert_true(cdc_stream_status_interval_ms(s) <= 10000);

	char *snap = NULL;
	pgo_lsn consistent = 0;
	assert_int_equal(cdc_stream_create_slot(s, slot, false, &snap, &consistent, &err), PG2MD_OK);
	assert_non_null(snap);
	assert_true(consistent >= sys.xlogpos);
	/* a second slot of the same name: an error with a hint */
	cdc_stream *s2 = open_stream();
	char *snap2 = NULL;
	pgo_lsn c2;
	pg2md_error e2;
	pg2md_error_init(&e2);
	assert_int_equal(cdc_stream_create_slot(s2, slot, false, &snap2, &c2, &e2), PG2MD_ERR_RUN);
	assert_string_equal(e2.sqlstate, "42710");
	assert_non_null(strstr(e2.hint, "pg_drop_replication_slot"));
	cdc_stream_close(s2);

	/* rows committed after the slot: in the stream, not in the snapshot */
	sql(c, "INSERT INTO %s SELECT g, 'after' FROM generate_series(101, 150) g", table);
	PGconn *reader = sql_conn();
	sql(reader, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	sql(reader, "SET TRANSACTION SNAPSHOT '%s'", snap);
	assert_int_equal(sql_long(reader, "SELECT count(*) FROM %s", table), 100);
	assert_int_equal(sql_long(reader, "SELECT max(id) FROM %s", table), 100);
	sql(reader, "COMMIT");
	PQfinish(reader);
	free(snap);

	cdc_start_opts chosen;
	assert_int_equal(cdc_stream_start(s, slot, pub, consistent, NULL, &chosen, &err), PG2MD_OK);
	if (sys.server_version >= 140000) {
		assert_int_equal(chosen.proto_version, 2);
		assert_int_equal(chosen.binary, 1);
		assert_int_equal(chosen.streaming, 1);
	}
	pgo_parser p;
	pgo_parser_init(&p, chosen.proto_version);
	long ids[200];
	int n;
	pgo_lsn end1 = read_txn(s, &p, ids, &n, 200);
	assert_int_equal(n, 50);
	for (int i = 0; i < n; i++)
		assert_int_equal(ids[i], 101 + i);

	/* not confirmed yet: the slot stays where it was made */
	assert_true(slot_confirmed(c) <= consistent);
	assert_int_equal(cdc_stream_confirm(s, end1, true, &err), PG2MD_OK);
	assert_int_equal(cdc_stream_flushed(s), end1);
	assert_int_equal(cdc_stream_confirm(s, end1 - 1, true, &err), PG2MD_OK); /* never back */
	assert_int_equal(cdc_stream_flushed(s), end1);
	for (int i = 0; i < 300 && slot_confirmed(c) < end1; i++)
		usleep(100000);
	assert_int_equal(slot_confirmed(c), end1);

	/* stop, then start again from 0/0 on a new connection: the server resumes after end1 */
	assert_int_equal(cdc_stream_stop(s, &err), PG2MD_OK);
	cdc_slot_info info;
	assert_int_equal(cdc_stream_slot_info(s, slot, &info, &err), PG2MD_OK);
	assert_true(info.found);
	assert_string_equal(info.plugin, "pgoutput");
	assert_int_equal(info.confirmed_flush, end1);
	sql(c, "INSERT INTO %s VALUES (151, 'later')", table);
	pgo_parser_release(&p);
	pgo_parser_init(&p, chosen.proto_version);
	pg2md_error_init(&e2);
	assert_int_equal(cdc_stream_start(s, slot, pub, 0, NULL, NULL, &e2), PG2MD_ERR_RUN); /* once per connection */
	assert_non_null(strstr(e2.msg, "already started"));
	cdc_stream_close(s);
	s = open_stream();
	assert_int_equal(cdc_stream_start(s, slot, pub, 0, NULL, NULL, &err), PG2MD_OK);
	pgo_lsn end2 = read_txn(s, &p, ids, &n, 200);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 151);
	/* confirmed without sending: stop's last status update carries it */
	assert_int_equal(cdc_stream_confirm(s, end2, false, &err), PG2MD_OK);
	assert_int_equal(cdc_stream_stop(s, &err), PG2MD_OK);
	pgo_parser_release(&p);
	assert_int_equal(cdc_stream_slot_info(s, slot, &info, &err), PG2MD_OK);
	assert_int_equal(info.confirmed_flush, end2);

	/* a slot that does not exist */
	assert_int_equal(cdc_stream_slot_info(s, "no_such_slot", &info, &err), PG2MD_OK);
	assert_false(info.found);
	cdc_stream_close(s);
	PQfinish(c);
}

/* With wal_sender_timeout = 2s, 7 s of silence: the status timer keeps the connection. */
static void
silence_longer_than_wal_sender_timeout(void **state)
{
	(void)state;
	NEED_CLUSTER();
	PGconn *c = sql_conn();
	sql(c, "SET test.slot = '%s'", slot);
	sql(c, "ALTER SYSTEM SET wal_sender_timeout = '2s'");
	sql(c, "SELECT pg_reload_conf()");
	cdc_stream *s = NULL;
	for (int i = 0; i < 100; i++) { /* the reload reaches new backends shortly */
		s = open_stream();
		if (cdc_stream_status_interval_ms(s) == 1000)
			break;
		cdc_stream_close(s);
		s = NULL;
		usleep(100000);
	}
	assert_non_null(s);
	pg2md_error err;
	pg2md_error_init(&err);
	assert_int_equal(cdc_stream_start(s, slot, pub, 0, NULL, NULL, &err), PG2MD_OK);
	cdc_data d;
	for (int i = 0; i < 7; i++) {
		cdc_next_result r = cdc_stream_next(s, 1000, &d, &err);
		if (r == CDC_NEXT_ERROR || r == CDC_NEXT_END)
			fail_msg("the stream died while idle: %s %s", err.msg, err.detail);
	}
	sql(c, "ALTER SYSTEM RESET wal_sender_timeout");
	sql(c, "SELECT pg_reload_conf()");
	sql(c, "INSERT INTO %s VALUES (152, 'after the silence')", table);
	pgo_parser p;
	pgo_parser_init(&p, 2);
	long ids[4];
	int n;
	read_txn(s, &p, ids, &n, 4);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 152);
	pgo_parser_release(&p);
	assert_int_equal(cdc_stream_stop(s, &err), PG2MD_OK);
	cdc_stream_close(s);
	PQfinish(c);
}

static void
role_without_replication_gets_the_fix(void **state)
{
	(void)state;
	NEED_CLUSTER();
	PGconn *c = sql_conn();
	sql(c, "DROP ROLE IF EXISTS test_stream_norepl");
	sql(c, "CREATE ROLE test_stream_norepl LOGIN NOREPLICATION");
	PQfinish(c);
	const char *keys[] = {"user", NULL};
	const char *vals[] = {"test_stream_norepl", NULL};
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_stream *s = cdc_stream_open(keys, vals, &err);
	assert_null(s);
	assert_int_equal(err.code, PG2MD_ERR_CONNECT);
	assert_non_null(strstr(err.hint, "ALTER ROLE \"test_stream_norepl\" REPLICATION"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(snapshot_handoff_confirm_and_resume),
		cmocka_unit_test(silence_longer_than_wal_sender_timeout),
		cmocka_unit_test(role_without_replication_gets_the_fix),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

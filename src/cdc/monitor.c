/*
 * monitor.c — pg2md follow's heartbeat, slot status and metrics file (see monitor.h).
 *
 * The heartbeat is a non-transactional logical message (pg_logical_emit_message(false, …)): it
 * is written to the WAL at once, needs no transaction id, and pgoutput sends nothing for it (the
 * messages option is off), but the walsender decodes past it and its next keepalive says so.
 * That is what lets an idle slot advance where the WAL written since is not ours to see (other
 * databases, or nothing at all but a server that writes WAL now and then: RDS does, every five
 * minutes): the keepalive's position is confirmed only when nothing is in flight (follow.c).
 */
#include "cdc/monitor.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <libpq-fe.h>

#include "source/pgconn.h"
#include "stage/metrics.h"
#include "util/buf.h"
#include "util/log.h"

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
cdc_monitor_init(cdc_monitor *m, const pg2md_config *cfg, bool heartbeat)
{
	int64_t now = mono_ms();
	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	m->heartbeat = heartbeat && cfg->repl_heartbeat_interval > 0;
	m->next_heartbeat = now + (int64_t)cfg->repl_heartbeat_interval * 1000;
	m->next_slot = m->next_metrics = now;
}

void
cdc_monitor_disconnect(cdc_monitor *m)
{
	if (m->conn)
		PQfinish(m->conn);
	m->conn = NULL;
}

void
cdc_monitor_release(cdc_monitor *m)
{
	cdc_monitor_disconnect(m);
}

/* A failure of the connection's work: said once until it works again; the connection dropped. */
static void
failed(cdc_monitor *m, const char *what, const pg2md_error *e)
{
	if (!m->failing)
		pg2md_warn("pg2md follow could not %s on the source: %s%s%s", what, e->msg, e->detail[0] ? ": " : "",
			   e->detail);
	m->failing = true;
	cdc_monitor_disconnect(m);
}

static bool
connected(cdc_monitor *m, const char *what)
{
	pg2md_error e;
	pg2md_error_init(&e);
	if (!m->conn && !(m->conn = pg_connect(m->cfg, &e)))
		failed(m, what, &e);
	return m->conn != NULL;
}

static void
heartbeat(cdc_monitor *m)
{
	pg2md_error e;
	pg2md_error_init(&e);
	if (!connected(m, "write a heartbeat"))
		return;
	PGresult *res = pg_query(m->conn, "SELECT pg_catalog.pg_logical_emit_message(false, 'pg2md_heartbeat', '')", 0,
				 NULL, &e);
	if (!res) {
		pg2md_hint(&e, "set [sources.pg_replication] heartbeat_interval = 0 to write none");
		failed(m, "write a heartbeat (pg_logical_emit_message)", &e);
		return;
	}
	PQclear(res);
	m->failing = false;
	m->heartbeats++;
	pg2md_debug("heartbeat written to the source's WAL");
}

static void
read_status(cdc_monitor *m)
{
	pg2md_error e;
	pg2md_error_init(&e);
	m->have_status = false;
	if (!connected(m, "read the replication slot's status"))
		return;
	if (cdc_slot_status_query(m->conn, m->cfg, &m->status, &e)) {
		failed(m, "read the replication slot's status", &e);
		return;
	}
	m->failing = false;
	m->have_status = m->status.found;
	if (m->have_status && m->status.warn && !m->warned) {
		if (strcmp(m->status.wal_status, "unreserved") == 0 || strcmp(m->status.wal_status, "lost") == 0)
			pg2md_warn("replication slot \"%s\" has wal_status %s: the server %s WAL it needs", m->status.slot,
				   m->status.wal_status, strcmp(m->status.wal_status, "lost") == 0 ? "removed" : "is about to remove");
		else
			pg2md_warn("replication slot \"%s\" holds %lld MB of WAL on the source, more than lag_warning_mb (%lld)",
				   m->status.slot, (long long)(m->status.lag_bytes / (1024 * 1024)),
				   (long long)m->cfg->repl_lag_warning_mb);
	}
	m->warned = m->have_status && m->status.warn;
}

/* name{pipeline="…",slot="…"[,key="value"]} v */
static void
sample(pg2md_buf *b, const char *name, const char *const *lab, const char *key, const char *value, double v)
{
	buf_printf(b, "%s{pipeline=\"", name);
	metrics_escape_label(b, lab[0]);
	buf_puts(b, "\",slot=\"");
	metrics_escape_label(b, lab[1]);
	if (key) {
		buf_printf(b, "\",%s=\"", key);
		metrics_escape_label(b, value);
	}
	if (v == (double)(long long)v)
		buf_printf(b, "\"} %lld\n", (long long)v);
	else
		buf_printf(b, "\"} %.3f\n", v);
}

static void
one(pg2md_buf *b, const char *name, const char *type, const char *help, const char *const *lab, double v)
{
	metrics_family(b, name, type, help);
	sample(b, name, lab, NULL, NULL, v);
}

static void
write_metrics(cdc_monitor *m, const cdc_follow_report *rep, const cdc_freshness *fresh, pgo_lsn watermark)
{
	pg2md_buf b = PG2MD_BUF_INIT;
	const char *const rep_lab[] = {m->cfg->pipeline_name ? m->cfg->pipeline_name : "", rep->slot};
	struct timeval tv;
	gettimeofday(&tv, NULL);
	one(&b, "pg2md_follow_last_update_timestamp_seconds", "gauge", "Unix time pg2md follow last wrote this file.", rep_lab,
	    (double)tv.tv_sec + (double)(tv.tv_usec / 1000) / 1e3);
	one(&b, "pg2md_follow_applied_lsn", "gauge", "The watermark: the WAL position (an LSN as a number) the destination "
	    "holds every change before.", rep_lab, (double)watermark);
	one(&b, "pg2md_follow_transactions_total", "counter", "Transactions applied since follow started.", rep_lab,
	    (double)rep->transactions);
	one(&b, "pg2md_follow_changes_total", "counter", "Inserts, updates, deletes and truncates folded since follow "
	    "started.", rep_lab, (double)rep->changes);
	one(&b, "pg2md_follow_rows_written_total", "counter", "Rows deleted and inserted in the destination since follow "
	    "started.", rep_lab, (double)rep->rows_written);
	one(&b, "pg2md_follow_batches_total", "counter", "DuckDB transactions (batches) committed since follow started.",
	    rep_lab, (double)rep->batches);
	one(&b, "pg2md_follow_reconnects_total", "counter", "Times the replication connection was opened again after it "
	    "was lost.", rep_lab, (double)m->reconnects);
	one(&b, "pg2md_follow_heartbeats_total", "counter", "Heartbeats (pg_logical_emit_message) written since follow "
	    "started.", rep_lab, (double)m->heartbeats);
	if (fresh->count > 0) {
		metrics_family(&b, "pg2md_follow_freshness_seconds", "gauge", "PostgreSQL commit to DuckDB commit of the "
			       "transactions applied since follow started, by quantile.");
		sample(&b, "pg2md_follow_freshness_seconds", rep_lab, "quantile", "0.5", cdc_fresh_percentile(fresh, 0.5) / 1e3);
		sample(&b, "pg2md_follow_freshness_seconds", rep_lab, "quantile", "0.99", cdc_fresh_percentile(fresh, 0.99) / 1e3);
	}
	if (m->have_status) {
		one(&b, "pg2md_follow_slot_lag_bytes", "gauge", "WAL the slot holds on the source: pg_current_wal_lsn() minus "
		    "its confirmed_flush_lsn.", rep_lab, (double)m->status.lag_bytes);
		metrics_family(&b, "pg2md_follow_wal_status", "gauge", "The slot's wal_status on the source (the label; 1).");
		sample(&b, "pg2md_follow_wal_status", rep_lab, "wal_status", m->status.wal_status, 1);
		one(&b, "pg2md_follow_safe_wal_size_bytes", "gauge", "WAL the slot may still fall behind before the server "
		    "removes WAL it needs (safe_wal_size); -1: unlimited.", rep_lab, (double)m->status.safe_wal_size);
		one(&b, "pg2md_follow_slot_lag_warning", "gauge", "1 when the slot holds more than lag_warning_mb of WAL or its "
		    "wal_status is unreserved or lost.", rep_lab, m->status.warn ? 1 : 0);
	}
	pg2md_error e;
	pg2md_error_init(&e);
	if (buf_broken(&b)) /* an empty file would say nothing is followed: the last one stays */
		pg2md_warn("out of memory writing metrics file \"%s\": it keeps its last state", m->cfg->metrics_file);
	else if (metrics_write_file(m->cfg->metrics_file, b.data, &e))
		pg2md_warn("%s", e.msg);
	buf_release(&b);
}

void
cdc_monitor_tick(cdc_monitor *m, const cdc_follow_report *rep, const cdc_freshness *fresh, pgo_lsn watermark,
		 bool idle, bool force)
{
	int64_t now = mono_ms();
	if (m->heartbeat && idle && now >= m->next_heartbeat) {
		heartbeat(m);
		m->next_heartbeat = now + (int64_t)m->cfg->repl_heartbeat_interval * 1000;
	}
	if ((force && m->cfg->metrics_file) || now >= m->next_slot) {
		read_status(m);
		m->next_slot = now + (m->cfg->metrics_file ? CDC_METRICS_MS : CDC_SLOT_CHECK_MS);
	}
	if (m->cfg->metrics_file && (force || now >= m->next_metrics)) {
		write_metrics(m, rep, fresh, watermark);
		m->next_metrics = now + CDC_METRICS_MS;
	}
}

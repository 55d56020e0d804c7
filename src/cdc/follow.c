/*
 * follow.c — pg2md follow (see follow.h, docs/cdc.md).
 *
 * First start (no watermark in the destination):
 *   1. the publication for the configured tables (created when missing, if the role may);
 *   2. CREATE_REPLICATION_SLOT exporting a snapshot, and the ordinary run (extract, normalize,
 *      load; write disposition replace) with every connection inside that snapshot;
 *   3. the watermark set to the slot's consistent point: the snapshot holds every transaction
 *      that committed before it, the stream every one after.
 *   A crash before 3 leaves no watermark: the next start drops the slot and copies again.
 * Every start then streams from the watermark and applies whole transactions in batches:
 *   - a batch is applied only at a transaction boundary (after a Commit, or when the stream is
 *     idle between transactions), in one DuckDB transaction with the new watermark (apply.c);
 *   - the slot's flush position is confirmed only after that commit (stream.c);
 *   - a transaction whose commit starts before the watermark is skipped (it was applied), so a
 *     crash anywhere re-streams exactly what was not committed.
 * --once stops at the server's WAL position when it started, --endpos at a given one: the
 * transactions whose commit record starts before it are applied, the next one waits.
 * Streamed large transactions (streaming 'on') go to disk segment by segment (spill.c) and are
 * applied as they arrive, or read back at their Stream Commit, a bounded fold at a time, in one
 * DuckDB transaction with the watermark; a Stream Abort discards the transaction or the
 * subtransaction it names.
 *
 * This file starts and resumes; follow_apply.c makes and applies the batches, follow_stream.c
 * reads the stream (follow_int.h).
 */
#include "cdc/follow.h"
#include "cdc/follow_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "cdc/admin.h"
#include "cdc/apply.h"
#include "cdc/evolve.h"
#include "cdc/filter.h"
#include "cdc/fold.h"
#include "cdc/freshness.h"
#include "cdc/monitor.h"
#include "cdc/reconnect.h"
#include "cdc/server_values.h"
#include "cdc/spill.h"
#include "cdc/stream.h"
#include "cdc/tableset.h"
#include "cdc/xform.h"
#include "dest/duck.h"
#include "source/catalog.h"
#include "source/pgconn.h"
#include "stage/package.h"
#include "stage/pipeline.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/interrupt.h"
#include "util/log.h"

#define MAX_PARAMS 64

/* The slot's and the publication's names: configured, or derived from the pipeline's (config_finish.c). */
void
cdc_follow_names(const pg2md_config *cfg, char *slot, char *pub, size_t n)
{
	snprintf(slot, n, "%s", cfg->repl_slot_name ? cfg->repl_slot_name : "pg2md_slot");
	snprintf(pub, n, "%s", cfg->repl_pub_name ? cfg->repl_pub_name : "pg2md_pub");
}

/*
 * Wide tables: a batch is written through stage tables as wide as its table (a text stage and a
 * typed one, cdc/apply.c) into the table itself, and DuckDB's budget counts a block per column
 * of each (DUCK_COLUMN_BYTES).  Measured at the default budget: 200 columns failed to commit a
 * batch of 3,000 updates; 1,500 columns needed 2 GB for 5,000 changes under protocol 1.  So
 * the budget is raised for the widest table for the whole of follow (a user's
 * PG2MD_DUCKDB_MEMORY_LIMIT is kept, with a warning).
 */
pg2md_code
follow_budget(follow_state *st, pg2md_error *err)
{
	int widest = 0;
	bool raised;
	for (int i = 0; i < st->ntables; i++)
		if (st->tables[i].ncols > widest)
			widest = st->tables[i].ncols;
	int64_t need = duck_window_need(1) + (int64_t)widest * DUCK_COLUMN_BYTES * 3;
	if (st->dest.motherduck || !duck_budget_short(need))
		return PG2MD_OK;
	return duck_budget_raise(st->dest.con, need, "following tables of many columns", true, &raised, err);
}

/* Every table has a key the stream can name rows by, and a disposition follow can keep. */
pg2md_code
follow_check_tables(PGconn *conn, const pg2md_config *cfg, const pg2md_table *tables, int n, pg2md_error *err)
{
	for (int i = 0; i < n; i++) {
		const pg2md_table *t = &tables[i];
		if (cdc_check_table(cfg, t, err))
			return err->code;
		if (pg2md_config_disposition(cfg, t->name) != PG2MD_DISP_REPLACE) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has write_disposition \"%s\": pg2md follow mirrors tables",
				   t->name, pg2md_disposition_name(pg2md_config_disposition(cfg, t->name)));
			pg2md_hint(err, "use write_disposition = \"replace\" for the tables pg2md follow keeps (docs/cdc.md)");
			return PG2MD_ERR_USAGE;
		}
		char oid[16];
		snprintf(oid, sizeof(oid), "%u", t->oid);
		const char *params[] = {oid};
		PGresult *res = pg_query(conn, "SELECT relreplident FROM pg_catalog.pg_class WHERE oid = $1::oid", 1, params, err);
		if (!res)
			return err->code;
		char ident = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0)[0] : 'd';
		PQclear(res);
		if (ident == 'n' || (ident == 'd' && t->npk == 0)) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has no key pg2md follow can apply its changes by", t->name);
			pg2md_detail(err, "its replica identity is %s: PostgreSQL sends no old row for its updates and deletes",
				     ident == 'n' ? "NOTHING" : "DEFAULT, and it has no primary key");
			pg2md_hint(err, "add a primary key (ALTER TABLE \"%s\".\"%s\" ADD PRIMARY KEY (…);), or ALTER TABLE "
					"\"%s\".\"%s\" REPLICA IDENTITY FULL; (rows are then matched by all their values), or "
					"REPLICA IDENTITY USING INDEX a_unique_index_on_not_null_columns;",
				   cfg->schema, t->name, cfg->schema, t->name);
			return PG2MD_ERR_USAGE;
		}
	}
	return PG2MD_OK;
}

/* The publication: every table in it, or created / extended when the role may. */
pg2md_code
follow_ensure_publication(PGconn *conn, const pg2md_config *cfg, const char *pub, const pg2md_table *tables, int n,
			  bool *created, pg2md_error *err)
{
	const char *p1[] = {pub};
	PGresult *res = pg_query(conn, "SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = $1", 1, p1, err);
	if (!res)
		return err->code;
	bool exists = PQntuples(res) == 1, all = exists && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (all)
		return PG2MD_OK;
	pg2md_buf missing = PG2MD_BUF_INIT;
	int nmissing = 0;
	for (int i = 0; i < n; i++) {
		bool in = false;
		if (exists) {
			const char *p3[] = {pub, cfg->schema, tables[i].name};
			res = pg_query(conn, "SELECT 1 FROM pg_catalog.pg_publication_tables WHERE pubname = $1 AND "
					     "schemaname = $2 AND tablename = $3", 3, p3, err);
			if (!res) {
				buf_release(&missing);
				return err->code;
			}
			in = PQntuples(res) > 0;
			PQclear(res);
		}
		if (in)
			continue;
		if (nmissing++)
			buf_puts(&missing, ", ");
		buf_ident(&missing, cfg->schema);
		buf_putc(&missing, '.');
		buf_ident(&missing, tables[i].name);
		cdc_pub_table_clause(&missing, cfg, &tables[i]);
	}
	if (nmissing == 0 || buf_broken(&missing)) {
		buf_release(&missing);
		return nmissing ? pg2md_nomem(err) : PG2MD_OK;
	}
	pg2md_buf sql = PG2MD_BUF_INIT;
	if (exists) {
		buf_puts(&sql, "ALTER PUBLICATION ");
		buf_ident(&sql, pub);
		buf_printf(&sql, " ADD TABLE %s", missing.data);
	} else {
		buf_puts(&sql, "CREATE PUBLICATION ");
		buf_ident(&sql, pub);
		buf_printf(&sql, " FOR TABLE %s", missing.data);
		if (PQserverVersion(conn) >= 130000)
			buf_puts(&sql, " WITH (publish_via_partition_root = true)");
	}
	pg2md_error e;
	pg2md_error_init(&e);
	pg2md_code rc = pg_exec(conn, sql.data, &e);
	if (rc == PG2MD_ERR_NOMEM) {
		rc = pg2md_nomem(err);
	} else if (rc) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "could not %s publication \"%s\"", exists ? "extend" : "create", pub);
		pg2md_detail(err, "%s", e.msg);
		pg2md_hint(err, "have its owner or a superuser run: %s;", sql.data);
	} else {
		*created = !exists;
		pg2md_info("%s publication \"%s\" for %s", exists ? "extended" : "created", pub, missing.data);
		if (!exists) {
			/* how pg2md drop --replication knows the publication is ours to drop */
			buf_reset(&sql);
			buf_puts(&sql, "COMMENT ON PUBLICATION ");
			buf_ident(&sql, pub);
			buf_puts(&sql, " IS ");
			char *c = xasprintf(CDC_PUB_COMMENT_PREFIX " for pipeline %s; pg2md drop --replication removes it",
					    cfg->pipeline_name ? cfg->pipeline_name : "pg2md");
			if (c)
				buf_literal(&sql, c);
			free(c);
			if (!c || buf_broken(&sql))
				rc = pg2md_nomem(err); /* the publication stays, uncommented, as when COMMENT fails */
			else if (pg_exec(conn, sql.data, &e))
				pg2md_warn("could not comment publication \"%s\" (pg2md drop --replication will keep it): %s",
					   pub, e.msg);
			pg2md_error_init(&e);
		}
	}
	buf_release(&sql);
	buf_release(&missing);
	return rc;
}
/* A slot to resume from, for a destination that has a watermark: still there, pgoutput's, not lost. */
static pg2md_code
usable_slot(follow_state *st, const cdc_slot_info *slot, pg2md_error *err)
{
	if (!slot->found) {
		char l[PGO_LSN_TEXT];
		pg2md_fail(err, PG2MD_ERR_RUN, "replication slot \"%s\" is gone: the changes after %s cannot be read",
			   st->rep->slot, pgo_lsn_format(st->watermark, l));
		pg2md_hint(err, "copy the tables again: pg2md sql \"DELETE FROM %s._pg2md_cdc\", then pg2md follow",
			   st->cfg->dataset_name);
		return err->code;
	}
	if (strcmp(slot->plugin, "pgoutput") != 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "replication slot \"%s\" uses plugin \"%s\", not pgoutput", st->rep->slot,
			   slot->plugin);
		return err->code;
	}
	if (slot->wal_status[0] && strcmp(slot->wal_status, "lost") == 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "replication slot \"%s\" was invalidated (wal_status lost): the server "
			   "removed WAL it still needed", st->rep->slot);
		pg2md_hint(err, "drop it (SELECT pg_drop_replication_slot('%s');), then copy the tables again: pg2md sql "
				"\"DELETE FROM %s._pg2md_cdc\" and pg2md follow", st->rep->slot, st->cfg->dataset_name);
		return err->code;
	}
	return PG2MD_OK;
}

/* START_REPLICATION from the watermark with the protocol, value format and streaming the server
 * allows (or the configuration forces); the spill folder when transactions may be streamed. */
static pg2md_code
start_streaming(follow_state *st, const cdc_system *sys, cdc_start_opts *chosen, pg2md_error *err)
{
	/* protocol 2 with binary values and streaming from PostgreSQL 14, else protocol 1 and text;
	 * proto_version forces one (1: text values, no streaming) */
	int proto = st->cfg->repl_proto_version;
	cdc_start_opts want = {.proto_version = proto, .binary = proto == 1 ? 0 : -1,
			       .streaming = st->cfg->repl_streaming && proto != 1 ? -1 : 0, .messages = false};
	if (want.streaming && sys->server_version < 140000)
		want.streaming = 0;
	if (want.streaming) {
		/* <pipelines_dir>/<pipeline_name>/cdc: a streamed transaction's changes until it commits */
		char *pdir = pkg_pipeline_dir(st->cfg);
		char *dir = pdir ? xasprintf("%s/cdc", pdir) : NULL;
		if (!dir) {
			free(pdir);
			return pg2md_nomem(err);
		}
		st->spill = cdc_spill_open(dir, err);
		free(dir);
		free(pdir);
		if (!st->spill)
			return err->code;
	}
	if (cdc_stream_start(st->s, st->rep->slot, st->rep->publication, st->watermark, &want, chosen, err))
		return err->code;
	if (!chosen->streaming) {
		cdc_spill_close(st->spill);
		st->spill = NULL;
	}
	st->text = !chosen->binary;
	if (st->text)
		pg2md_info("pgoutput protocol %d with text values", chosen->proto_version);
	return PG2MD_OK;
}

/*
 * First start, or an initial copy that did not finish (no watermark): a new slot, the tables
 * copied in its snapshot, then the followed tables and the watermark at its consistent point.
 */
static pg2md_code
first_copy(follow_state *st, const cdc_slot_info *slot, bool *dest_open_ok, pg2md_error *err)
{
	cdc_follow_report *rep = st->rep;
	char *snapshot = NULL;
	if (slot->found) {
		pg2md_info("replication slot \"%s\" exists but the destination has no watermark: an earlier initial "
			   "copy did not finish; dropping the slot and copying again", rep->slot);
		if (cdc_stream_drop_slot(st->s, rep->slot, err))
			return err->code;
	}
	pgo_lsn consistent;
	if (cdc_stream_create_slot(st->s, rep->slot, false, &snapshot, &consistent, err))
		return err->code;
	rep->initial_copy = true;
	/* the run opens the destination itself */
	dest_close(&st->dest);
	*dest_open_ok = false;
	fault_point("cdc:after_slot");
	if (cdc_copy_tables(st->cfg, snapshot, NULL, 0, err))
		goto out;
	fault_point("cdc:before_watermark");
	if (dest_open(&st->dest, st->cfg, 2, err))
		goto out;
	*dest_open_ok = true;
	/* the tables first: without the watermark they are not read, and the next start copies again */
	if (cdc_tableset_record(&st->dest, st->cfg, rep->slot, st->tables, st->ntables, consistent, true, err) ||
	    cdc_watermark_set(&st->dest, st->cfg, rep->slot, consistent, err))
		goto out;
	st->watermark = consistent;
out:
	free(snapshot);
	return err->code;
}

/*
 * After a lost connection: a new replication connection streaming from the watermark, as a
 * restart would.  What was folded and not applied is dropped, and the streamed transactions on
 * disk: the server sends every transaction that commits after the slot's confirmed position
 * again, from its start, and those before the watermark are skipped.  The slot must still be
 * there and usable (else the clear message of usable_slot, not another attempt).
 */
pg2md_code
follow_resume(follow_state *st, const cdc_system *sys, cdc_start_opts *chosen, pg2md_error *err)
{
	cdc_stream_close(st->s);
	st->s = NULL;
	cdc_spill_close(st->spill);
	st->spill = NULL;
	if (st->pg)
		PQfinish(st->pg);
	st->pg = NULL;
	cdc_monitor_disconnect(&st->mon);
	cdc_fold_reset(&st->fold);
	cdc_fresh_discard(&st->fresh);
	st->folded_end = st->watermark;
	st->folded_txns = st->txn_changes = 0;
	cdc_slot_info slot;
	if (!(st->s = cdc_open_stream(st->cfg, err)) || cdc_stream_slot_info(st->s, st->rep->slot, &slot, err) ||
	    usable_slot(st, &slot, err))
		return err->code;
	return start_streaming(st, sys, chosen, err);
}

/* Stream until done; a connection lost mid-stream is opened again with backoff (reconnect.h). */
static pg2md_code
follow_stream(follow_state *st, const cdc_system *sys, pgo_lsn target, cdc_start_opts *chosen, pg2md_error *err)
{
	int attempt = 0;
	int64_t started = follow_mono_ms();
	char l[PGO_LSN_TEXT];
	for (;;) {
		if (follow_stream_changes(st, target, chosen->proto_version, err) == PG2MD_OK) {
			if (!st->reload_wanted)
				return PG2MD_OK;
			/* the followed tables changed (follow_reload.c): a failure there stops follow, as
			 * the same at a start would (an added table not copied must not be applied) */
			st->reload_wanted = false;
			if (follow_reload_apply(st, sys, chosen, err))
				return err->code;
			started = follow_mono_ms();
			continue;
		}
		if (!cdc_retryable(err, cdc_stream_lost(st->s), false))
			return err->code;
		if (follow_mono_ms() - started >= CDC_RECONNECT_STABLE_MS)
			attempt = 0;
		do {
			if (++attempt > CDC_RECONNECT_ATTEMPTS) {
				pg2md_warn("gave up after %d attempts to reconnect; pg2md follow resumes at the watermark %s when "
					   "started again", CDC_RECONNECT_ATTEMPTS, pgo_lsn_format(st->watermark, l));
				return err->code;
			}
			pg2md_warn("lost the replication connection (%s%s%s); reconnecting in %d s (attempt %d of %d), to resume "
				   "at %s", err->msg, err->detail[0] ? ": " : "", err->detail, cdc_backoff_seconds(attempt), attempt,
				   CDC_RECONNECT_ATTEMPTS, pgo_lsn_format(st->watermark, l));
			if (!cdc_backoff_wait(attempt)) {
				st->rep->interrupted = true;
				pg2md_error_init(err);
				return PG2MD_OK;
			}
			pg2md_error_init(err);
			if (follow_resume(st, sys, chosen, err) == PG2MD_OK)
				break;
			if (!cdc_retryable(err, cdc_stream_lost(st->s), true))
				return err->code;
		} while (true);
		st->mon.reconnects++;
		pg2md_info("reconnected to slot \"%s\": streaming again from %s", st->rep->slot, pgo_lsn_format(st->watermark, l));
		started = follow_mono_ms();
	}
}

pg2md_code
cdc_follow(pg2md_config *cfg, const cdc_follow_opts *opts, cdc_follow_report *rep, pg2md_error *err)
{
	follow_state st = {.cfg = cfg, .opts = opts, .rep = rep};
	memset(rep, 0, sizeof(*rep));
	cdc_follow_names(cfg, rep->slot, rep->publication, sizeof(rep->slot));
	cdc_relcache_init(&st.rc);
	cdc_fold_init(&st.fold);
	bool dest_open_ok = false;
	PGconn *conn = NULL;
	st.dest_open = &dest_open_ok;

	/* the destination first: a MotherDuck that cannot be reached fails before the source changes */
	if (dest_open(&st.dest, cfg, 2, err))
		goto out;
	dest_open_ok = true;
	conn = pg_connect(cfg, err);
	if (!conn)
		goto out;
	if (catalog_reflect(conn, cfg, &st.tables, &st.ntables, err) ||
	    cdc_filter_check(conn, cfg, rep->publication, st.tables, st.ntables, err) ||
	    follow_check_tables(conn, cfg, st.tables, st.ntables, err) ||
	    follow_ensure_publication(conn, cfg, rep->publication, st.tables, st.ntables, &rep->created_publication, err))
		goto out;
	/* every table's first Relation message is compared with the destination's columns */
	st.check = xcalloc((size_t)st.ntables + 1, sizeof(bool));
	st.copy_lsn = xcalloc((size_t)st.ntables + 1, sizeof(pgo_lsn));
	if (!st.check || !st.copy_lsn) {
		pg2md_nomem(err);
		goto out;
	}
	for (int i = 0; i < st.ntables; i++)
		st.check[i] = true;

	st.s = cdc_open_stream(cfg, err);
	if (!st.s)
		goto out;
	cdc_system sys;
	if (cdc_stream_identify(st.s, &sys, err))
		goto out;
	if (cfg->repl_proto_version < 0 || cfg->repl_proto_version > 4) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "[sources.pg_replication] proto_version is %d: pgoutput's protocols are 1 to 4 "
			   "(0: chosen from the server's version)", cfg->repl_proto_version);
		goto out;
	}
	bool found;
	if (cdc_watermark_read(&st.dest, cfg, rep->slot, &found, &st.watermark, err))
		goto out;
	cdc_slot_info slot;
	if (cdc_stream_slot_info(st.s, rep->slot, &slot, err))
		goto out;
	if (found && usable_slot(&st, &slot, err))
		goto out;
	if (found) {
		/* tables added to or removed from `tables` since the last start (tableset.h) */
		cdc_sync sy = {.cfg = cfg, .dest = &st.dest, .dest_open = &dest_open_ok, .conn = conn, .slot = rep->slot,
			       .pub = rep->publication, .tables = st.tables, .ntables = st.ntables, .copy_lsn = st.copy_lsn};
		if (cdc_tableset_sync(&sy, err))
			goto out;
	} else if (first_copy(&st, &slot, &dest_open_ok, err)) {
		goto out;
	}
	/* a streamed transaction a stopped run was applying in steps: its work tables go, the server
	 * sends it again (follow_steps.c) */
	if (follow_steps_cleanup(&st, err))
		goto out;
	if (follow_budget(&st, err))
		goto out;
	PQfinish(conn);
	conn = NULL;
	rep->start_lsn = st.watermark;
	/* the target: the server's WAL position now (--once), or --endpos */
	pgo_lsn target = 0;
	if (opts->has_endpos) {
		target = opts->endpos;
	} else if (opts->once) {
		/* after the initial copy: the snapshot is no longer needed, a command may end it.  The
		 * insert position, not the flushed one: an asynchronous commit made just before is in */
		if (cdc_stream_current_lsn(st.s, &target, err))
			goto out;
	}
	rep->target_lsn = target;
	cdc_start_opts chosen;
	if (start_streaming(&st, &sys, &chosen, err))
		goto out;
	cdc_monitor_init(&st.mon, cfg, target == 0); /* a heartbeat only when following without an end */
	if (target && target <= st.watermark) {
		/* nothing to do: stop at once */
	} else if (follow_stream(&st, &sys, target, &chosen, err)) {
		goto out;
	}
	rep->applied_lsn = st.watermark;
	if (!cdc_stream_lost(st.s)) /* (not after giving up reconnecting on a stop signal) */
		cdc_stream_stop(st.s, err);
	rep->fresh_transactions = st.fresh.count;
	if (st.fresh.count) {
		rep->fresh_p50_ms = cdc_fresh_percentile(&st.fresh, 0.50);
		rep->fresh_p99_ms = cdc_fresh_percentile(&st.fresh, 0.99);
		rep->fresh_max_ms = st.fresh.max_ms;
		pg2md_info("freshness (PostgreSQL commit to DuckDB commit) of %lld transaction%s: p50 %lld ms, p99 %lld ms, "
			   "max %lld ms", (long long)st.fresh.count, st.fresh.count == 1 ? "" : "s",
			   (long long)rep->fresh_p50_ms, (long long)rep->fresh_p99_ms, (long long)rep->fresh_max_ms);
	}

out:
	rep->applied_lsn = st.watermark;
	if (st.mon.cfg) /* the metrics file's last state, failed or not */
		cdc_monitor_tick(&st.mon, rep, &st.fresh, st.watermark, false, true);
	cdc_monitor_release(&st.mon);
	if (conn)
		PQfinish(conn);
	if (dest_open_ok) {
		follow_steps_abandon(&st);
		dest_close(&st.dest);
	}
	cdc_stream_close(st.s);
	cdc_spill_close(st.spill);
	if (st.pg)
		PQfinish(st.pg);
	free(st.check);
	free(st.copy_lsn);
	free(st.touched);
	if (st.tables)
		schema_tables_free(st.tables, st.ntables);
	if (st.next_tables)
		schema_tables_free(st.next_tables, st.next_ntables);
	pg2md_config_free(st.next_cfg);
	pg2md_config_free(st.seen_cfg);
	cdc_fold_release(&st.fold);
	cdc_fresh_release(&st.fresh);
	cdc_relcache_release(&st.rc);
	cfg->import_snapshot = NULL;
	if (rep->interrupted && !pg2md_failed(err))
		return PG2MD_OK;
	return err->code;
}

/*
 * follow_stream.c — pg2md follow's reading of the replication stream (follow_int.h): whole
 * transactions into the fold, batches bounded in size and time, and streamed large transactions:
 * to disk segment by segment (spill.c), applied as they arrive or read back at their Stream Commit.
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


/*
 * The end of a streamed transaction whose changes are all applied in the open DuckDB transaction:
 * its watermark, the commit, then the confirmation to the server.
 */
static pg2md_code
streamed_commit(follow_state *st, uint32_t xid, pgo_lsn end_lsn, int64_t ts, int64_t rows, uint64_t nmsg,
		pg2md_error *err)
{
	fault_point("cdc:stream_before_commit");
	bool stepped = st->steps;
	if (st->steps ? follow_steps_commit(st, st->rep->slot, end_lsn, err)
		      : cdc_apply_commit(&st->dest, st->cfg, st->rep->slot, end_lsn, err))
		return err->code;
	fault_point("cdc:stream_after_commit");
	cdc_spill_discard(st->spill, xid);
	st->watermark = st->folded_end = end_lsn;
	st->rep->rows_written += rows;
	st->rep->transactions++;
	st->rep->streamed++;
	st->rep->batches++;
	if (!cdc_fresh_add(&st->fresh, ts) || !cdc_fresh_committed(&st->fresh, cdc_fresh_now()))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory counting the batch's freshness");
	char l[PGO_LSN_TEXT];
	if (stepped)
		pg2md_debug("applied streamed transaction %u up to %s in %d steps (%lld rows written, %llu messages)", xid,
			    pgo_lsn_format(end_lsn, l), st->nsteps, (long long)rows, (unsigned long long)nmsg);
	else
		pg2md_debug("applied streamed transaction %u up to %s (%lld rows written, %llu messages)", xid,
			    pgo_lsn_format(end_lsn, l), (long long)rows, (unsigned long long)nmsg);
	return cdc_stream_confirm(st->s, st->watermark, true, err);
}

/*
 * Under MotherDuck's rules: has the one DuckDB transaction a streamed transaction is applied in
 * passed transaction_rows or transaction_seconds (the bounds of follow_steps.c), or met a column
 * change only steps can apply (st->want_steps)?
 */
static bool
past_bounds(const follow_state *st, int64_t rows, int64_t t0)
{
	if (st->steps)
		return false;
	if (st->want_steps) /* (into a local file too: DuckDB's rule, not MotherDuck's) */
		return true;
	if (!st->dest.md_rules)
		return false;
	int64_t max_rows = st->cfg->md_transaction_rows, max_s = st->cfg->md_transaction_seconds;
	return (max_rows > 0 && rows >= max_rows) || (max_s > 0 && follow_mono_ms() - t0 >= max_s * 1000);
}

/*
 * After a change of a transaction not streamed was folded: under MotherDuck's rules, the batch
 * applied in steps (follow_steps_begin_txn) once it passes a step's bounds (transaction_rows
 * changes, or the batch's bytes), and while in steps a fold applied whenever it is full or the
 * step has run transaction_seconds.  A batch of whole transactions past them is cut at a Commit
 * instead (follow_stream_changes): only one transaction larger than a step comes here.
 */
static pg2md_code
txn_bounds(follow_state *st, int64_t limit, pg2md_error *err)
{
	if (!st->dest.md_rules)
		return PG2MD_OK;
	if (!st->txn_steps)
		return follow_steps_fold_full(st) || (int64_t)cdc_fold_bytes(&st->fold) >= limit
			       ? follow_steps_begin_txn(st, "past the bounds of one step", err)
			       : PG2MD_OK;
	int64_t max_s = st->cfg->md_transaction_seconds;
	if (follow_steps_fold_full(st) || (int64_t)cdc_fold_bytes(&st->fold) >= STREAM_FOLD_BYTES ||
	    (max_s > 0 && st->fold.changes && follow_mono_ms() - st->step_started >= max_s * 1000))
		return follow_replay_apply(st, &st->txn_rows, err);
	return PG2MD_OK;
}

/*
 * Stream Commit of xid: the transactions folded before it (they committed first) as a batch of
 * their own, then in one DuckDB transaction its changes read back from disk, folded and applied a
 * bounded fold at a time (each fold applied in order, so a later one sees what an earlier one
 * wrote), then the watermark: its end.  The server is kept content between folds.
 *
 * Under MotherDuck's rules that one transaction must stay within the bounds of a load's step:
 * past them it is rolled back, and the transaction is read from disk again and applied in steps
 * into work tables, swapped in at the end by one short transaction (follow_steps.c).  A streamed
 * transaction within them is applied as without the rules, with no table copied.
 */
static pg2md_code
apply_streamed(follow_state *st, uint32_t xid, pgo_lsn end_lsn, int64_t ts, int proto, int64_t limit, pg2md_error *err)
{
	int64_t rows = 0, changes0 = st->rep->changes;
	cdc_spill_reader rd;
	bool empty, steps = false;
	pgo_parser p;
	pgo_parser_init(&p, proto);
	memset(&rd, 0, sizeof(rd));
	if (follow_flush_batch(st, err))
		goto fail0;
again:
	p.in_stream = true; /* the messages were written inside stream segments: each has its xid */
	st->want_steps = false;
	if (cdc_spill_read_open(st->spill, xid, &rd, &empty, err))
		goto fail0;
	if (steps ? follow_steps_begin(st, err) : cdc_apply_begin(&st->dest, err))
		goto fail0;
	st->replaying = true;
	st->ntouched = 0;
	uint64_t nmsg = 0;
	int64_t t0 = follow_mono_ms();
	for (;;) {
		const uint8_t *msg;
		size_t len;
		if (cdc_spill_read_next(&rd, &msg, &len, err))
			goto fail;
		if (!msg)
			break;
		pgo_msg m;
		if (pgo_parse(&p, msg, len, &m, err))
			goto fail;
		nmsg++;
		if (m.kind == PGO_RELATION) {
			if (follow_handle_relation(st, &m, false, &rows, err))
				goto fail;
		} else if (m.kind == PGO_INSERT || m.kind == PGO_UPDATE || m.kind == PGO_DELETE || m.kind == PGO_TRUNCATE) {
			if (follow_fold_msg(st, &m, &rows, err))
				goto fail;
		}
		if (!st->want_steps && ((int64_t)cdc_fold_bytes(&st->fold) >= limit || follow_steps_fold_full(st)) &&
		    follow_replay_apply(st, &rows, err))
			goto fail;
		if (past_bounds(st, rows, t0)) {
			pg2md_debug("streamed transaction %u: %s in one transaction, applied again in steps", xid,
				    st->want_steps ? "a column change after rows of its table" : "past the bounds of one step");
			cdc_apply_rollback(&st->dest);
			cdc_fold_reset(&st->fold);
			cdc_spill_read_close(&rd);
			memset(&rd, 0, sizeof(rd));
			pgo_parser_release(&p);
			pgo_parser_init(&p, proto);
			st->rep->changes = changes0;
			rows = 0;
			/* a column change it made was rolled back: every table compared with the destination
			 * again (as when an eager apply is given up) */
			for (int i = 0; i < st->ntables; i++)
				st->check[i] = true;
			steps = true;
			goto again;
		}
		if ((nmsg & 4095) == 0 && cdc_stream_tick(st->s, err))
			goto fail;
	}
	if (follow_replay_apply(st, &rows, err))
		goto fail;
	st->replaying = false;
	cdc_spill_read_close(&rd);
	pgo_parser_release(&p);
	return streamed_commit(st, xid, end_lsn, ts, rows, nmsg, err);
fail:
	if (!st->work)
		cdc_apply_rollback(&st->dest);
fail0:
	follow_steps_abandon(st); /* in steps: the open step rolled back, the work tables dropped */
	st->replaying = false;
	cdc_spill_read_close(&rd);
	pgo_parser_release(&p);
	return err->code;
}

/*
 * Applying a streamed transaction as it arrives.  Reading it back from disk at its Stream Commit
 * and applying it then (apply_streamed) adds the whole apply to the time the server took to
 * decode and send it: a bulk UPDATE of 2 M rows took twice as long as pg_recvlogical reading it.
 * So a streamed transaction that starts while nothing else is pending is also folded and applied,
 * a bounded fold at a time, into a DuckDB transaction opened at its first segment, while it is
 * still being written to disk; at its Stream Commit only the last fold and the watermark remain.
 * The DuckDB transaction is one connection's, so anything that would need another one first
 * gives the eager apply up (rolled back; the transaction is applied from disk at its commit, as
 * before): another transaction committing meanwhile (a Begin, or another streamed transaction's
 * commit), a Stream Abort of it or of one of its subtransactions, a commit the run must not
 * apply (already applied before a restart, or at or after --endpos), the end of the run.
 */
static bool
eager_eligible(const follow_state *st)
{
	/* under MotherDuck's rules a streamed transaction is applied from disk in bounded steps
	 * (follow_steps.c): one DuckDB transaction as long as it is is what those rules forbid */
	if (!st->spill || st->text || st->eager || cdc_spill_count(st->spill) > 1 || st->dest.md_rules)
		return false;
	/* its commit is not known yet: every table must take it whatever it is (before_copy) */
	for (int i = 0; i < st->ntables; i++)
		if (st->copy_lsn[i] > st->watermark)
			return false;
	return true;
}

static pg2md_code
eager_begin(follow_state *st, uint32_t xid, pg2md_error *err)
{
	/* the transactions that committed before it first, as a batch of their own */
	if (follow_flush_batch(st, err))
		return err->code;
	if (st->fold.changes)
		return PG2MD_OK;
	if (cdc_apply_begin(&st->dest, err))
		return err->code;
	st->eager = st->replaying = true;
	/* a table still to be compared with the destination may evolve it in this transaction
	 * (at its first change); later only a Relation message does (eager_msg) */
	st->eager_rel = false;
	for (int i = 0; i < st->ntables; i++)
		st->eager_rel |= st->check[i];
	st->eager_xid = xid;
	st->want_steps = false;
	st->eager_rows = 0;
	st->eager_msgs = 0;
	st->eager_changes0 = st->rep->changes;
	st->ntouched = 0;
	st->txn_lsn = UINT64_MAX; /* after every table's copy (eager_eligible) */
	pg2md_debug("streamed transaction %u: applied as it arrives", xid);
	return PG2MD_OK;
}

static void
eager_abandon(follow_state *st, const char *why)
{
	if (!st->eager)
		return;
	cdc_apply_rollback(&st->dest);
	cdc_fold_reset(&st->fold);
	st->eager = st->replaying = false;
	st->rep->changes = st->eager_changes0;
	/* a column change it made is rolled back: compare every table with the destination again at
	 * its next message (the relation cache holds the shapes it read) */
	if (st->eager_rel)
		for (int i = 0; i < st->ntables; i++)
			st->check[i] = true;
	pg2md_debug("streamed transaction %u: applied from disk at its commit (%s)", st->eager_xid, why);
}

/* Does a transaction hold relid's ACCESS EXCLUSIVE lock (an ALTER TABLE not committed yet)? */
static pg2md_code
relation_locked(follow_state *st, uint32_t relid, bool *locked, pg2md_error *err)
{
	if (!st->pg && !(st->pg = pg_connect(st->cfg, err)))
		return err->code;
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", relid);
	const char *params[] = {oid};
	PGresult *res = pg_query(st->pg, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'relation' "
				 "AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
				 "AND relation = $1::oid AND mode = 'AccessExclusiveLock' AND granted)", 1, params, err);
	if (!res)
		return err->code;
	*locked = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return PG2MD_OK;
}

/* A message of the streamed transaction being applied eagerly (already on disk). */
static pg2md_code
eager_msg(follow_state *st, const pgo_msg *m, int64_t limit, pg2md_error *err)
{
	st->eager_msgs++;
	if (m->kind == PGO_RELATION) {
		int ti = follow_table_index(st, m->relid);
		const cdc_rel *prev = cdc_relcache_get(&st->rc, m->relid);
		if (ti >= 0 && (st->check[ti] || !prev || !cdc_rel_matches(prev, m))) {
			/* the table is compared with the catalog, which waits for a column change the
			 * transaction itself made (its lock) until it commits: left to its commit */
			bool locked = false;
			if (relation_locked(st, m->relid, &locked, err))
				return err->code;
			if (locked) {
				eager_abandon(st, "a column change of it holds its table's lock");
				return PG2MD_OK;
			}
			st->eager_rel = true;
		}
		if (follow_handle_relation(st, m, false, &st->eager_rows, err))
			return err->code;
		if (st->want_steps) { /* a column change after rows of its table: from disk, in steps */
			st->eager_rel = true;
			eager_abandon(st, "a column change after rows of its table");
			return PG2MD_OK;
		}
	} else if (follow_fold_msg(st, m, &st->eager_rows, err)) {
		return err->code;
	}
	if ((int64_t)cdc_fold_bytes(&st->fold) >= limit)
		return follow_replay_apply(st, &st->eager_rows, err);
	return PG2MD_OK;
}

/* Stream Commit of the transaction applied eagerly: the last fold, the watermark, the commit. */
static pg2md_code
eager_commit(follow_state *st, uint32_t xid, pgo_lsn end_lsn, int64_t ts, pg2md_error *err)
{
	st->eager = false;
	if (follow_replay_apply(st, &st->eager_rows, err)) {
		st->replaying = false;
		cdc_apply_rollback(&st->dest);
		return err->code;
	}
	st->replaying = false;
	st->rep->streamed_eager++;
	return streamed_commit(st, xid, end_lsn, ts, st->eager_rows, st->eager_msgs, err);
}

/*
 * Stream Commit: the transaction applied, as it arrived (eager_commit) or from disk
 * (apply_streamed); not when it commits at or after the target (*done: it waits for the next
 * run, as a Begin there), nor when it was applied before a restart.
 */
static pg2md_code
stream_commit(follow_state *st, const pgo_msg *m, pgo_lsn target, int proto, int64_t limit, bool *done,
	      pg2md_error *err)
{
	if (st->eager && (m->xid != st->eager_xid || (target && m->commit_lsn >= target) || m->commit_lsn < st->watermark))
		eager_abandon(st, m->xid != st->eager_xid ? "another streamed transaction committed first"
							  : "its commit is not applied now");
	if (st->eager)
		return eager_commit(st, m->xid, m->end_lsn, m->ts, err);
	if (target && m->commit_lsn >= target) {
		*done = true;
		return PG2MD_OK;
	}
	if (m->commit_lsn < st->watermark) {
		cdc_spill_discard(st->spill, m->xid); /* applied before a restart */
		return PG2MD_OK;
	}
	st->txn_lsn = m->commit_lsn;
	return apply_streamed(st, m->xid, m->end_lsn, m->ts, proto, limit < STREAM_FOLD_BYTES ? limit : STREAM_FOLD_BYTES,
			      err);
}

pg2md_code
follow_stream_changes(follow_state *st, pgo_lsn target, int proto, pg2md_error *err)
{
	int64_t limit = st->opts->batch_bytes > 0 ? st->opts->batch_bytes : 64 * 1024 * 1024;
	int64_t max_ms = st->opts->batch_ms > 0 ? st->opts->batch_ms : 1000;
	pgo_parser p;
	pgo_parser_init(&p, proto);
	bool in_txn = false, skip = false, done = false;
	st->last_advance = follow_mono_ms(); /* the first idle advance after 10 s, or at the end */
	pg2md_code rc = PG2MD_OK;
	while (!done && rc == PG2MD_OK) {
		if (interrupt_reason() == PG2MD_ERR_NOMEM) {
			/* as a run stops on it: the batch not applied, the watermark where it was */
			rc = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory while following slot \"%s\"; the "
					"changes after %s are applied by the next start", st->rep->slot,
					pgo_lsn_format(st->rep->applied_lsn, (char[PGO_LSN_TEXT]){0}));
			break;
		}
		if (interrupt_requested()) {
			st->rep->interrupted = true;
			break;
		}
		if (!in_txn && reload_take()) {
			/* SIGHUP (pg2md_follow_reload): between transactions, so that the batch in hand
			 * is whole when the stream stops for a change of the tables */
			bool restart = false;
			follow_reload_read(st, &restart);
			if (restart) {
				st->reload_wanted = true;
				break;
			}
		}
		cdc_data d;
		cdc_next_result r = cdc_stream_next(st->s, 200, &d, err);
		if (r == CDC_NEXT_ERROR) {
			rc = err->code;
			break;
		}
		if (r == CDC_NEXT_END) {
			rc = pg2md_fail(err, PG2MD_ERR_RUN, "the server ended the replication stream");
			break;
		}
		if (r == CDC_NEXT_TIMEOUT) {
			if (in_txn)
				continue;
			if ((rc = follow_flush_batch(st, err)))
				break;
			if (target && cdc_stream_server_end(st->s) >= target)
				done = true;
			if ((rc = follow_advance_idle(st, target, done, err)))
				break;
			cdc_monitor_tick(&st->mon, st->rep, &st->fresh, st->watermark, true, false);
			continue;
		}
		pgo_msg m;
		if ((rc = pgo_parse(&p, d.data, d.len, &m, err)))
			break;
		if (m.streamed) {
			/* a segment of a streamed transaction: to disk until it commits or aborts */
			bool keep = m.kind == PGO_RELATION || m.kind == PGO_TRUNCATE ||
				    ((m.kind == PGO_INSERT || m.kind == PGO_UPDATE || m.kind == PGO_DELETE) && follow_followed(st, m.relid));
			if (keep)
				rc = cdc_spill_write(st->spill, m.xid, d.data, d.len, err);
			if (keep && rc == PG2MD_OK && st->eager && st->stream_xid == st->eager_xid)
				rc = eager_msg(st, &m, limit < STREAM_FOLD_BYTES ? limit : STREAM_FOLD_BYTES, err);
			continue;
		}
		switch (m.kind) {
		case PGO_BEGIN:
			eager_abandon(st, "another transaction committed while it streamed");
			if (target && m.final_lsn >= target) {
				done = true; /* this transaction waits for the next run */
				break;
			}
			in_txn = true;
			skip = m.final_lsn < st->watermark;
			st->txn_lsn = m.final_lsn;
			st->txn_changes = 0;
			break;
		case PGO_COMMIT:
			in_txn = false;
			if (st->txn_steps) {
				rc = follow_steps_commit_txn(st, m.end_lsn, m.ts, err);
				cdc_monitor_tick(&st->mon, st->rep, &st->fresh, st->watermark, false, false);
				break;
			}
			if (!skip) {
				if (st->folded_txns == 0)
					st->batch_started = follow_mono_ms();
				st->folded_end = m.end_lsn;
				st->folded_txns++;
				if (!cdc_fresh_add(&st->fresh, m.ts)) {
					rc = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory noting a transaction's commit time");
					break;
				}
			}
			/* a batch is bounded in size and in time: under a steady stream the connection is
			 * never idle, and a change must not wait for 64 MB of others */
			if ((int64_t)cdc_fold_bytes(&st->fold) >= limit || follow_steps_fold_full(st) ||
			    (st->folded_txns > 0 && follow_mono_ms() - st->batch_started >= max_ms))
				rc = follow_flush_batch(st, err);
			cdc_monitor_tick(&st->mon, st->rep, &st->fresh, st->watermark, false, false);
			break;
		case PGO_RELATION: {
			/* (rows written here are a transaction in steps': st->txn_rows) */
			rc = follow_handle_relation(st, &m, skip, NULL, err);
			break;
		}
		case PGO_INSERT:
		case PGO_UPDATE:
		case PGO_DELETE:
		case PGO_TRUNCATE:
			if (!skip && (rc = follow_fold_msg(st, &m, NULL, err)) == PG2MD_OK)
				rc = txn_bounds(st, limit, err);
			break;
		case PGO_STREAM_START:
			if (!st->spill) {
				rc = pg2md_fail(err, PG2MD_ERR_RUN, "a streamed transaction came, which pg2md follow did not ask for");
				break;
			}
			rc = cdc_spill_start(st->spill, m.xid, m.first_segment, err);
			st->stream_xid = m.xid;
			if (rc == PG2MD_OK && m.first_segment && eager_eligible(st))
				rc = eager_begin(st, m.xid, err);
			break;
		case PGO_STREAM_STOP:
			rc = cdc_spill_stop(st->spill, err);
			fault_point("cdc:stream_stop");
			break;
		case PGO_STREAM_ABORT:
			if (st->eager && m.xid == st->eager_xid)
				eager_abandon(st, m.subxid == m.xid ? "it aborted" : "a subtransaction of it aborted");
			rc = cdc_spill_abort(st->spill, m.xid, m.subxid, err);
			st->rep->stream_aborts++;
			break;
		case PGO_STREAM_COMMIT:
			rc = stream_commit(st, &m, target, proto, limit, &done, err);
			break;
		default: /* Origin, Type, Message */
			break;
		}
	}
	eager_abandon(st, "the run stops before its commit");
	follow_steps_abandon_txn(st); /* (in_txn: nothing of it or after the watermark is kept) */
	/* a clean stop: whole transactions only (a transaction cut by an interrupt is not in the fold's end) */
	if (rc == PG2MD_OK && !in_txn)
		rc = follow_flush_batch(st, err);
	if (rc == PG2MD_OK && !in_txn && done)
		rc = follow_advance_idle(st, target, true, err);
	pgo_parser_release(&p);
	return rc;
}

/*
 * follow_apply.c — pg2md follow's batches (follow_int.h): the messages of whole transactions
 * folded per key, column changes followed, each batch applied with its watermark in one DuckDB
 * transaction and confirmed to the server after it commits.
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


int64_t
follow_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
follow_table_index(const follow_state *st, uint32_t relid)
{
	for (int i = 0; i < st->ntables; i++)
		if (st->tables[i].oid == relid)
			return i;
	return -1;
}

bool
follow_followed(const follow_state *st, uint32_t relid)
{
	return follow_table_index(st, relid) >= 0;
}

/* A change of table ti in a transaction its copy already holds (an added table, tableset.h)? */
static bool
before_copy(const follow_state *st, int ti)
{
	return st->txn_lsn < st->copy_lsn[ti];
}

/* The values of the batch only the source can render (cdc/server_values.h), on the plain connection. */
static pg2md_code
server_values(follow_state *st, pg2md_error *err)
{
	if (!cdc_server_needed(st->tables, st->ntables, st->text))
		return PG2MD_OK;
	if (!st->pg && !(st->pg = pg_connect(st->cfg, err)))
		return err->code;
	return cdc_server_values(st->pg, st->tables, st->ntables, &st->rc, &st->fold, err);
}

/* Apply the fold (whole transactions only) with its watermark, then confirm to the server. */
pg2md_code
follow_flush_batch(follow_state *st, pg2md_error *err)
{
	if (st->folded_end <= st->watermark)
		return PG2MD_OK;
	int64_t rows = 0;
	if (server_values(st, err))
		return err->code;
	fault_point("cdc:before_commit");
	if (cdc_apply_batch(&st->dest, st->cfg, st->tables, st->ntables, &st->rc, &st->fold, st->rep->slot,
			    st->folded_end, &rows, err))
		return err->code;
	fault_point("cdc:after_commit");
	st->watermark = st->folded_end;
	st->rep->rows_written += rows;
	st->rep->transactions += st->folded_txns;
	st->rep->batches++;
	st->folded_txns = 0;
	cdc_fold_reset(&st->fold);
	if (!cdc_fresh_committed(&st->fresh, cdc_fresh_now()))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory counting the batch's freshness");
	char l[PGO_LSN_TEXT];
	pg2md_debug("applied a batch up to %s (%lld rows written)", pgo_lsn_format(st->watermark, l), (long long)rows);
	return cdc_stream_confirm(st->s, st->watermark, true, err);
}

/*
 * Idle between transactions with nothing folded: every transaction whose commit comes before the
 * server's sent position has arrived and been applied (a keepalive follows the data it covers),
 * so the watermark may move there, capped at the target.  Without this a slot whose tables do
 * not change would hold the WAL of every other table's changes (pgoutput sends nothing for
 * them).  At most every 10 s (or every heartbeat_interval when shorter: the heartbeat is there to
 * move the slot) unless forced (at the end of --once / --endpos).
 */
pg2md_code
follow_advance_idle(follow_state *st, pgo_lsn target, bool force, pg2md_error *err)
{
	pgo_lsn to = cdc_stream_server_end(st->s);
	if (target && to > target)
		to = target;
	if (to <= st->watermark || st->folded_end > st->watermark || st->fold.changes || st->eager)
		return PG2MD_OK;
	int64_t now = follow_mono_ms(), every = 10000;
	if (st->cfg->repl_heartbeat_interval > 0 && st->cfg->repl_heartbeat_interval < 10)
		every = (int64_t)st->cfg->repl_heartbeat_interval * 1000;
	if (!force && now - st->last_advance < every)
		return PG2MD_OK;
	st->last_advance = now;
	if (cdc_watermark_set(&st->dest, st->cfg, st->rep->slot, to, err))
		return err->code;
	st->watermark = to;
	return cdc_stream_confirm(st->s, to, true, err);
}

static bool
was_touched(const follow_state *st, uint32_t relid)
{
	for (int i = 0; i < st->ntouched; i++)
		if (st->touched[i] == relid)
			return true;
	return false;
}

/* While replaying: the fold into the open DuckDB transaction, noting the tables it writes. */
pg2md_code
follow_replay_apply(follow_state *st, int64_t *rows, pg2md_error *err)
{
	if (!rows) /* a transaction not streamed, in steps (follow_steps_begin_txn) */
		rows = &st->txn_rows;
	if (st->steps) {
		/* under MotherDuck's rules: into the work tables, in bounded steps (follow_steps.c) */
		if (server_values(st, err) || follow_steps_apply(st, rows, err))
			return err->code;
		cdc_fold_reset(&st->fold);
		return PG2MD_OK;
	}
	for (int i = 0; i < st->fold.n; i++) {
		const cdc_fold_table *ft = &st->fold.tables[i];
		if ((ft->nrows || ft->truncated) && !was_touched(st, ft->relid)) {
			if (st->ntouched == st->touchcap) {
				int cap = st->touchcap ? st->touchcap * 2 : 8;
				uint32_t *a = xrealloc(st->touched, (size_t)cap * sizeof(uint32_t));
				if (!a)
					return pg2md_nomem(err);
				st->touched = a;
				st->touchcap = cap;
			}
			st->touched[st->ntouched++] = ft->relid;
		}
	}
	if (server_values(st, err) ||
	    cdc_apply_fold(&st->dest, st->cfg, st->tables, st->ntables, &st->rc, &st->fold, rows, err))
		return err->code;
	cdc_fold_reset(&st->fold);
	return PG2MD_OK;
}

/*
 * A Relation message of followed table ti whose shape is new to this run or changed: the
 * destination table evolved to it (evolve.h), after the rows folded with the earlier shape.
 * Outside a streamed transaction the column changes commit on their own, after a batch of the
 * transactions before (a transaction boundary); inside one, in its DuckDB transaction, before
 * it writes the table.  When that transaction already wrote the table, or no boundary separates
 * the table's rows from the column change, in steps (follow_steps.c): DuckDB cannot commit a
 * transaction that changes a table's rows and then its columns.
 */
static pg2md_code
evolve_table(follow_state *st, int ti, const pgo_msg *m, int64_t *rows, pg2md_error *err)
{
	if (!st->pg && !(st->pg = pg_connect(st->cfg, err)))
		return err->code;
	pg2md_table *t = &st->tables[ti];
	if (cdc_transform_of(st->cfg, t)) {
		/* the mirror holds the transform's output: the source's columns checked, nothing evolved */
		if (cdc_transform_relation(st->pg, st->cfg, t, err))
			return err->code;
		st->check[ti] = false;
		return PG2MD_OK;
	}
	/* in steps (follow_steps.c) the work table is the one to follow the columns, once made */
	pg2md_table target = *t;
	if (st->steps && st->work[ti])
		target.dest_name = st->work[ti];
	cdc_evolve_plan plan;
	if (cdc_evolve_plan_make(st->pg, &st->dest, st->cfg, &target, m, &plan, err))
		return err->code;
	pg2md_code rc = PG2MD_OK;
	if (cdc_check_table(st->cfg, &plan.all[plan.idx], err)) {
		rc = err->code;
		goto out;
	}
	/* statements built while memory ran short may lack what a broken buffer held (util/mem.h) */
	if (plan.ddl && interrupt_reason() == PG2MD_ERR_NOMEM) {
		rc = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory while changing the columns of table \"%s\"", t->name);
		goto out;
	}
	const cdc_fold_table *ft = cdc_fold_table_get(&st->fold, m->relid);
	bool has = ft && (ft->nrows > 0 || ft->truncated);
	if (!st->replaying && plan.ddl && has && st->txn_changes > 0) {
		/* rows of the table folded, then its columns, and no transaction boundary between them
		 * after which the batch could end (the transaction being read changed rows before):
		 * the batch goes on in steps, the column change in a step of its own (follow_steps.c) */
		if ((rc = follow_steps_begin_txn(st, "a column change after rows of its table", err)))
			goto out;
		has = false;
	}
	if (st->steps && plan.ddl) {
		/* the rows before it in a step of their own, then the columns of the work table */
		bool made = st->work[ti] && target.dest_name == st->work[ti];
		if ((has && (rc = follow_replay_apply(st, rows, err))) ||
		    (rc = follow_steps_for_ddl(st, ti, &target, err)))
			goto out;
		if (!made) { /* planned against the mirror: again against its new work table */
			cdc_evolve_plan_release(&plan);
			if ((rc = cdc_evolve_plan_make(st->pg, &st->dest, st->cfg, &target, m, &plan, err)))
				goto out;
		}
		if (plan.ddl && (rc = cdc_exec(&st->dest, plan.ddl, "changing the columns of a work table", err)))
			goto out;
	} else if (st->replaying) {
		if (has && (rc = follow_replay_apply(st, rows, err)))
			goto out;
		if (plan.ddl && was_touched(st, m->relid)) {
			/* steps can: apply_streamed starts again in steps (follow_steps.c), this table
			 * compared with the destination again at its next message (applied as it
			 * arrives: that is given up first, eager_msg) */
			st->want_steps = true;
			goto out;
		}
		if (plan.ddl && (rc = cdc_exec(&st->dest, plan.ddl, "changing the columns of a mirror table", err)))
			goto out;
	} else if (plan.ddl) {
		/* rows of it folded before this transaction (rows of it in this one went to steps,
		 * above): the batch ends at the transaction boundary before the column change */
		if (has && (rc = follow_flush_batch(st, err)))
			goto out;
		pg2md_buf q = PG2MD_BUF_INIT;
		buf_printf(&q, "BEGIN; %s COMMIT", plan.ddl);
		rc = cdc_exec(&st->dest, q.data, "changing the columns of a mirror table", err);
		buf_release(&q);
		if (rc) {
			cdc_apply_rollback(&st->dest);
			goto out;
		}
	}
	if (plan.ddl)
		pg2md_info("table \"%s\" follows its source's columns: %s", t->name, plan.what);
	/* the definition the rows are decoded with from here: the catalog's, which matches the message */
	pg2md_table tmp = *t;
	*t = plan.all[plan.idx];
	plan.all[plan.idx] = tmp;
	st->check[ti] = false;
out:
	cdc_evolve_plan_release(&plan);
	return rc;
}

/*
 * A Relation message: the cache refreshed.  For a followed table whose shape is new to this run
 * or changed, the destination is evolved to it first (not inside a transaction being skipped:
 * that is done at its first change that is applied).
 */
pg2md_code
follow_handle_relation(follow_state *st, const pgo_msg *m, bool skip, int64_t *rows, pg2md_error *err)
{
	int ti = follow_table_index(st, m->relid);
	if (ti >= 0) {
		const cdc_rel *prev = cdc_relcache_get(&st->rc, m->relid);
		bool same = prev && cdc_rel_matches(prev, m);
		if (!same)
			st->check[ti] = true;
		if (st->check[ti] && !skip && !before_copy(st, ti) && evolve_table(st, ti, m, rows, err))
			return err->code;
	}
	cdc_rel_change ch;
	return cdc_relcache_update(&st->rc, m, &ch, err);
}

/* The Relation message of rel, rebuilt from the cache (for a table checked at its first change). */
static pg2md_code
evolve_cached(follow_state *st, int ti, const cdc_rel *rel, int64_t *rows, pg2md_error *err)
{
	pgo_column *cols = xcalloc((size_t)rel->ncols + 1, sizeof(*cols));
	if (!cols)
		return pg2md_nomem(err);
	for (int i = 0; i < rel->ncols; i++)
		cols[i] = (pgo_column){.flags = rel->cols[i].key, .name = rel->cols[i].name, .type_oid = rel->cols[i].type_oid,
				       .typmod = rel->cols[i].typmod};
	pgo_msg m = {.kind = PGO_RELATION, .relid = rel->relid, .nspname = rel->nspname, .name = rel->name,
		     .replident = rel->replident, .ncolumns = rel->ncols, .columns = cols};
	pg2md_code rc = evolve_table(st, ti, &m, rows, err);
	free(cols);
	return rc;
}

/* An Insert, Update, Delete or Truncate into the fold (changes of tables not followed skipped). */
pg2md_code
follow_fold_msg(follow_state *st, const pgo_msg *m, int64_t *rows, pg2md_error *err)
{
	if (m->kind == PGO_TRUNCATE) {
		for (int i = 0; i < m->nrelids; i++) {
			const cdc_rel *rel = cdc_relcache_get(&st->rc, m->relids[i]);
			int ti = follow_table_index(st, m->relids[i]);
			if (rel && ti >= 0 && !before_copy(st, ti)) {
				if (st->check[ti] && evolve_cached(st, ti, rel, rows, err))
					return err->code;
				if (cdc_fold_truncate(&st->fold, rel, m->flags, err))
					return err->code;
				st->rep->changes++;
				st->txn_changes++;
			}
		}
		return PG2MD_OK;
	}
	int ti = follow_table_index(st, m->relid);
	if (ti < 0 || before_copy(st, ti))
		return PG2MD_OK;
	const cdc_rel *rel = cdc_relcache_get(&st->rc, m->relid);
	if (!rel)
		return pg2md_fail(err, PG2MD_ERR_RUN, "a change of relation %u came before its Relation message", m->relid);
	if (st->check[ti] && evolve_cached(st, ti, rel, rows, err))
		return err->code;
	st->rep->changes++;
	st->txn_changes++;
	return cdc_fold_change(&st->fold, rel, m, err);
}

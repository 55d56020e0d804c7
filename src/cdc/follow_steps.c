/*
 * follow_steps.c — a transaction applied in bounded steps instead of one DuckDB transaction:
 * under MotherDuck's rules (docs/motherduck.md, "pg2md follow") a large one, streamed or not,
 * and anywhere one with a column change after rows of its table (docs/cdc.md, "Column changes").
 *
 * MotherDuck advises transactions of under a minute, and a streamed transaction may hold
 * millions of rows.  apply_streamed (follow_stream.c) applies one in a single DuckDB transaction
 * while that stays within the bounds below; past them it rolls that back and reads the
 * transaction from disk again through here.  Copy on write: the first change of a table makes its
 * work table (STEPS_TABLE_PREFIX + its name: the mirror's columns, types and NOT NULLs, and its
 * rows, copied in steps too), the transaction's folds are applied to the work tables (an unchanged TOAST value is
 * read from there too), and a step commits whenever it passed [destination.motherduck]
 * transaction_rows or transaction_seconds (the load's bounds, stage/load_steps.c; a fold is
 * never cut).  At the Stream Commit one short transaction drops each mirror table, renames its
 * work table over it and moves the watermark: a reader sees the tables as they were before the
 * transaction or after it, never half of it.  A stop anywhere before that leaves only work
 * tables, which the next start drops; the watermark did not move, so the server sends the
 * transaction again from its start: exactly once.
 */
#include "cdc/follow_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/apply.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/log.h"

/* The names of the dataset's work tables (STEPS_TABLE_PREFIX). */
static pg2md_code
leftover_tables(follow_state *st, char ***names, int *n, pg2md_error *err)
{
	*names = NULL;
	*n = 0;
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&q, st->cfg->dataset_name);
	buf_puts(&q, " AND starts_with(table_name, '" STEPS_TABLE_PREFIX "') ORDER BY table_name");
	duckdb_result res;
	if (buf_broken(&q))
		return pg2md_nomem(err);
	if (duckdb_query(st->dest.con, q.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not list the work tables of %s: %s", st->dest.where,
			   duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		buf_release(&q);
		return err->code;
	}
	buf_release(&q);
	idx_t rows = duckdb_row_count(&res);
	*names = xcalloc(rows + 1, sizeof(char *));
	bool oom = !*names;
	for (idx_t r = 0; r < rows && !oom; r++) {
		char *v = duckdb_value_varchar(&res, 0, r);
		oom = !((*names)[*n] = xstrdup(v ? v : ""));
		*n += !oom;
		duckdb_free(v);
	}
	duckdb_destroy_result(&res);
	if (oom) {
		for (int i = 0; i < *n; i++)
			free((*names)[i]);
		free(*names);
		*names = NULL;
		*n = 0;
		return pg2md_nomem(err);
	}
	return PG2MD_OK;
}

pg2md_code
follow_steps_cleanup(follow_state *st, pg2md_error *err)
{
	char **names;
	int n;
	if (leftover_tables(st, &names, &n, err))
		return err->code;
	pg2md_buf q = PG2MD_BUF_INIT;
	for (int i = 0; i < n; i++) {
		buf_puts(&q, "DROP TABLE IF EXISTS ");
		duck_qualified(&q, st->cfg->dataset_name, names[i]);
		buf_puts(&q, "; ");
		free(names[i]);
	}
	free(names);
	pg2md_code rc = PG2MD_OK;
	if (n) {
		rc = duck_exec(st->dest.con, q.data, "dropping the work tables a stopped run left", err);
		if (rc == PG2MD_OK)
			pg2md_info("dropped %d work table%s of a streamed transaction a stopped run left (it is applied again "
				   "from its start)", n, n == 1 ? "" : "s");
	}
	buf_release(&q);
	return rc;
}

static void
work_release(follow_state *st)
{
	for (int i = 0; st->work && i < st->ntables; i++)
		free(st->work[i]);
	free(st->work);
	st->work = NULL;
	st->steps = false;
}

pg2md_code
follow_steps_begin(follow_state *st, pg2md_error *err)
{
	work_release(st);
	st->work = xcalloc((size_t)st->ntables + 1, sizeof(char *));
	if (!st->work)
		return pg2md_nomem(err);
	st->step_rows = 0;
	st->step_started = follow_mono_ms();
	st->nsteps = 0;
	if (cdc_apply_begin(&st->dest, err))
		return err->code;
	st->steps = st->replaying = true;
	return PG2MD_OK;
}

static pg2md_code step_cut(follow_state *st, pg2md_error *err);
static pg2md_code copy_rows(follow_state *st, const char *work, const char *mirror, pg2md_error *err);

/*
 * The work table of table ti, in the open step: the mirror's columns with their exact types
 * (CREATE TABLE AS), its NOT NULLs (a replace run makes no other constraint, nor a default), then
 * its rows, in steps (copy_rows).  The ALTERs come before the rows: DuckDB changes no columns
 * after rows in one transaction.
 */
static pg2md_code
make_work(follow_state *st, int ti, pg2md_error *err)
{
	const pg2md_table *t = &st->tables[ti];
	const char *ds = st->cfg->dataset_name;
	char *work = xasprintf(STEPS_TABLE_PREFIX "%s", t->dest_name);
	if (!work)
		return pg2md_nomem(err);
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&q, ds);
	buf_puts(&q, " AND table_name = ");
	buf_literal(&q, t->dest_name);
	buf_puts(&q, " AND NOT is_nullable ORDER BY column_index");
	duckdb_result res;
	if (buf_broken(&q)) {
		free(work);
		return pg2md_nomem(err);
	}
	if (duckdb_query(st->dest.con, q.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read the columns of %s.%s: %s", ds, t->dest_name,
			   duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		buf_release(&q);
		free(work);
		return err->code;
	}
	buf_reset(&q);
	buf_puts(&q, "CREATE OR REPLACE TABLE ");
	duck_qualified(&q, ds, work);
	buf_puts(&q, " AS SELECT * FROM ");
	duck_qualified(&q, ds, t->dest_name);
	buf_puts(&q, " LIMIT 0; ");
	for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
		char *c = duckdb_value_varchar(&res, 0, r);
		buf_puts(&q, "ALTER TABLE ");
		duck_qualified(&q, ds, work);
		buf_puts(&q, " ALTER COLUMN ");
		buf_ident(&q, c ? c : "");
		buf_puts(&q, " SET NOT NULL; ");
		duckdb_free(c);
	}
	duckdb_destroy_result(&res);
	pg2md_code rc = cdc_exec(&st->dest, q.data, "making the work table of a streamed transaction", err);
	buf_release(&q);
	if (rc == PG2MD_OK)
		rc = copy_rows(st, work, t->dest_name, err);
	if (rc) {
		free(work);
		return rc;
	}
	st->work[ti] = work;
	pg2md_debug("streamed transaction: table \"%s\" is applied to its work table %s", t->name, work);
	return PG2MD_OK;
}

/*
 * The mirror's rows into its work table, a step of at most [destination.motherduck]
 * transaction_rows rows at a time (rowid ranges: the mirror does not change meanwhile, only its
 * work table is written), so that the copy too stays within MotherDuck's bounds; a run stopped
 * in the middle leaves a work table the next start drops, as after any step.
 */
static pg2md_code
copy_rows(follow_state *st, const char *work, const char *mirror, pg2md_error *err)
{
	const char *ds = st->cfg->dataset_name;
	int64_t step = st->cfg->md_transaction_rows > 0 ? st->cfg->md_transaction_rows : INT64_MAX;
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "SELECT coalesce(max(rowid), -1) + 1 FROM ");
	duck_qualified(&q, ds, mirror);
	duckdb_result res;
	int64_t end = 0;
	pg2md_code rc = PG2MD_OK;
	if (buf_broken(&q))
		return pg2md_nomem(err);
	if (duckdb_query(st->dest.con, q.data, &res) == DuckDBError)
		rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not read the size of %s.%s: %s", ds, mirror,
				duckdb_result_error(&res));
	else
		end = duckdb_value_int64(&res, 0, 0);
	duckdb_destroy_result(&res);
	for (int64_t lo = 0; rc == PG2MD_OK && lo < end; lo += step) {
		if (lo > 0 && (rc = step_cut(st, err)))
			break;
		buf_reset(&q);
		buf_puts(&q, "INSERT INTO ");
		duck_qualified(&q, ds, work);
		buf_puts(&q, " SELECT * FROM ");
		duck_qualified(&q, ds, mirror);
		buf_printf(&q, " WHERE rowid >= %lld AND rowid < %lld", (long long)lo,
			   (long long)(end - lo > step ? lo + step : end));
		rc = cdc_exec(&st->dest, q.data, "copying a mirror table into its work table", err);
		if (rc == PG2MD_OK)
			pg2md_debug("copied the rows %lld to %lld of %s into its work table", (long long)lo,
				    (long long)(end - lo > step ? lo + step : end) - 1, mirror);
	}
	buf_release(&q);
	return rc;
}

/* Commit the open step and begin the next. */
static pg2md_code
step_cut(follow_state *st, pg2md_error *err)
{
	if (duck_exec(st->dest.con, "COMMIT", "committing a step of a streamed transaction", err))
		return err->code;
	st->nsteps++;
	pg2md_debug("streamed transaction: step %d committed (%lld rows written)", st->nsteps, (long long)st->step_rows);
	fault_point("cdc:stream_step");
	st->step_rows = 0;
	st->step_started = follow_mono_ms();
	return cdc_apply_begin(&st->dest, err);
}

bool
follow_steps_fold_full(const follow_state *st)
{
	int64_t max = st->cfg->md_transaction_rows;
	return st->dest.md_rules && max > 0 && (int64_t)st->fold.changes >= max;
}

/* The followed tables as the fold is applied to them: those with a work table under its name
 * (NULL: out of memory). */
static pg2md_table *
targets(const follow_state *st)
{
	pg2md_table *t = xcalloc((size_t)st->ntables + 1, sizeof(*t));
	if (!t)
		return NULL;
	memcpy(t, st->tables, (size_t)st->ntables * sizeof(*t));
	for (int i = 0; i < st->ntables; i++)
		if (st->work[i])
			t[i].dest_name = st->work[i];
	return t;
}

pg2md_code
follow_steps_apply(follow_state *st, int64_t *rows, pg2md_error *err)
{
	for (int i = 0; i < st->fold.n; i++) {
		const cdc_fold_table *ft = &st->fold.tables[i];
		int ti = follow_table_index(st, ft->relid);
		if ((ft->nrows || ft->truncated) && ti >= 0 && !st->work[ti] && make_work(st, ti, err))
			return err->code;
	}
	pg2md_table *t = targets(st);
	if (!t)
		return pg2md_nomem(err);
	int64_t n = 0;
	pg2md_code rc = cdc_apply_fold(&st->dest, st->cfg, t, st->ntables, &st->rc, &st->fold, &n, err);
	free(t);
	if (rc)
		return rc;
	*rows += n;
	st->step_rows += n;
	int64_t max_rows = st->cfg->md_transaction_rows, max_s = st->cfg->md_transaction_seconds;
	if ((max_rows > 0 && st->step_rows >= max_rows) ||
	    (max_s > 0 && follow_mono_ms() - st->step_started >= max_s * 1000))
		return step_cut(st, err);
	return PG2MD_OK;
}

pg2md_code
follow_steps_for_ddl(follow_state *st, int ti, pg2md_table *t, pg2md_error *err)
{
	if (step_cut(st, err))
		return err->code;
	if (!st->work[ti] && (make_work(st, ti, err) || step_cut(st, err)))
		return err->code;
	*t = st->tables[ti];
	t->dest_name = st->work[ti];
	return PG2MD_OK;
}

pg2md_code
follow_steps_commit(follow_state *st, const char *slot, pgo_lsn lsn, pg2md_error *err)
{
	/* the last step, then the swap alone: a short transaction */
	if (step_cut(st, err)) {
		follow_steps_abandon(st);
		return err->code;
	}
	pg2md_buf q = PG2MD_BUF_INIT;
	const char *ds = st->cfg->dataset_name;
	int n = 0;
	for (int i = 0; i < st->ntables; i++) {
		if (!st->work[i])
			continue;
		buf_puts(&q, "DROP TABLE ");
		duck_qualified(&q, ds, st->tables[i].dest_name);
		buf_puts(&q, "; ALTER TABLE ");
		duck_qualified(&q, ds, st->work[i]);
		buf_puts(&q, " RENAME TO ");
		buf_ident(&q, st->tables[i].dest_name);
		buf_puts(&q, "; ");
		n++;
	}
	pg2md_code rc = n ? cdc_exec(&st->dest, q.data, "swapping the work tables of a streamed transaction in", err)
			  : PG2MD_OK;
	buf_release(&q);
	if (rc == PG2MD_OK)
		rc = cdc_apply_commit(&st->dest, st->cfg, slot, lsn, err); /* (rolls back itself when it fails) */
	else
		cdc_apply_rollback(&st->dest);
	if (rc) {
		st->replaying = false;
		follow_steps_abandon(st);
		return rc;
	}
	pg2md_debug("streamed transaction: %d work table%s swapped in after %d steps", n, n == 1 ? "" : "s", st->nsteps);
	st->replaying = false;
	work_release(st);
	return PG2MD_OK;
}

void
follow_steps_abandon(follow_state *st)
{
	if (!st->work)
		return;
	if (st->steps)
		cdc_apply_rollback(&st->dest);
	/* what the committed steps wrote is only in the work tables: dropped here, or at the next start */
	pg2md_buf q = PG2MD_BUF_INIT;
	for (int i = 0; i < st->ntables; i++) {
		if (!st->work[i])
			continue;
		buf_puts(&q, "DROP TABLE IF EXISTS ");
		duck_qualified(&q, st->cfg->dataset_name, st->work[i]);
		buf_puts(&q, "; ");
	}
	if (q.len)
		duck_exec(st->dest.con, q.data, "dropping the work tables of a streamed transaction", &(pg2md_error){0});
	buf_release(&q);
	work_release(st);
}

/*
 * A transaction the server sends whole at its commit (streaming = false, protocol 1, or one under
 * logical_decoding_work_mem) is folded as it arrives, with the transactions of the batch before
 * it.  Two things one DuckDB transaction cannot take go to steps here, from the point they are
 * met: under MotherDuck's rules a fold past transaction_rows changes (or the batch's bytes), and
 * anywhere a column change of a table after rows of it in the same batch that the transaction
 * boundary cannot separate (DuckDB changes no columns after rows in one transaction).  The
 * batch so far — the transactions before it and its changes so far, a prefix of the stream — is
 * applied to work tables, the rest of it fold by fold, the column change in a step of its own;
 * at its Commit one short transaction swaps the work tables in with the watermark at its end.
 * The watermark never names a point inside it: a stop before the swap leaves work tables only,
 * and the server sends the transactions again (exactly once, as for a streamed transaction).
 */
pg2md_code
follow_steps_begin_txn(follow_state *st, const char *why, pg2md_error *err)
{
	if (follow_steps_begin(st, err))
		return err->code;
	st->txn_steps = true;
	st->txn_rows = 0;
	char l[PGO_LSN_TEXT];
	pg2md_debug("transaction at %s: %s, applied in steps with the batch before it", pgo_lsn_format(st->txn_lsn, l),
		    why);
	return follow_replay_apply(st, &st->txn_rows, err);
}

pg2md_code
follow_steps_commit_txn(follow_state *st, pgo_lsn end_lsn, int64_t ts, pg2md_error *err)
{
	st->txn_steps = false;
	if (follow_replay_apply(st, &st->txn_rows, err)) {
		follow_steps_abandon(st);
		st->replaying = false;
		return err->code;
	}
	fault_point("cdc:before_commit");
	int nsteps = st->nsteps + 1;
	if (follow_steps_commit(st, st->rep->slot, end_lsn, err))
		return err->code;
	fault_point("cdc:after_commit");
	st->watermark = st->folded_end = end_lsn;
	st->rep->rows_written += st->txn_rows;
	st->rep->transactions += st->folded_txns + 1;
	st->rep->batches++;
	st->folded_txns = 0;
	cdc_fold_reset(&st->fold);
	if (!cdc_fresh_add(&st->fresh, ts) || !cdc_fresh_committed(&st->fresh, cdc_fresh_now()))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory counting the batch's freshness");
	char l[PGO_LSN_TEXT];
	pg2md_debug("applied a transaction up to %s in %d steps (%lld rows written)", pgo_lsn_format(end_lsn, l), nsteps,
		    (long long)st->txn_rows);
	return cdc_stream_confirm(st->s, st->watermark, true, err);
}

void
follow_steps_abandon_txn(follow_state *st)
{
	if (!st->txn_steps)
		return;
	st->txn_steps = false;
	follow_steps_abandon(st);
	st->replaying = false;
	cdc_fold_reset(&st->fold);
	st->folded_txns = 0;
	st->folded_end = st->watermark;
	/* a column change it made went with the work tables: every table compared with the
	 * destination again at its next message */
	for (int i = 0; i < st->ntables; i++)
		st->check[i] = true;
}

/*
 * overlap.c — a staged run loads each finished table while the others are still extracted.
 *
 * Without it a staged run extracts every table, then loads the whole package in one
 * transaction: the load waits for the slowest table's last range, and reads every Parquet file
 * inside that transaction, on a machine whose cores are idle while the tail of the extraction
 * runs (docs/internals/performance.md).  Here, as soon as the last task of a table has written
 * its files, a loader thread reads them into the table's work table (_pg2md_new__<t>, the one
 * a direct run and a load under MotherDuck's rules use) on its own connection to the
 * destination, in one transaction that also records the table in _pg2md_load_steps for the
 * run's load id.  The load's own transaction (load.c) then reads those work tables instead of
 * the files: a replace renames its work table over the table, append and merge read it; the
 * _dlt_loads row commits with them, so nothing of the run is visible before, and a replace
 * stays atomic.
 *
 * Exactly once: a work table counts only with its record for this load id, committed with it.
 * A run killed during the extraction leaves a half-extracted package, discarded by the next
 * run, which loads everything under a new load id: a leftover work table is replaced (CREATE
 * OR REPLACE) and the old records go with the next load's (load_steps_forget).  A run killed
 * after the extraction leaves a package whose records say which tables are in their work
 * tables; the pending load reads those and the files of the others.  A failed extraction drops
 * what its loader loaded.
 *
 * Only tables whose files are final when extracted: a transform at normalize rewrites them,
 * and rows of several MB want the budget the load raises for them (dest/budget.c); those load
 * from their files as before.  Not under MotherDuck's rules (its load goes in bounded steps,
 * load_steps.c).
 */
#include "stage/pipeline_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dest/load.h"
#include "dest/motherduck.h"
#include "util/fault.h"
#include "util/humanize.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

struct overlap {
	run_ctx *rc;
	pg2md_dest dest;      /* the loader's own connection to the destination */
	pthread_t thread;
	pthread_mutex_t mu;   /* guards what follows, up to loaded */
	pthread_cond_t cv;
	int *left;            /* per table: its tasks not yet done (-1: not loaded early) */
	int *queue;           /* tables whose tasks are all done, in that order */
	int nqueued;
	int next;             /* the loader's next in queue */
	bool closing;         /* no more tables will come */
	bool abandon;         /* the run failed: load no more */
	bool *loaded;         /* per table: its work table and record committed */
};

/* Table t's files into its work table, with its record: SQL for the loader's transaction. */
static pg2md_code
early_table_sql(struct overlap *ov, const manifest_table *t, pg2md_buf *sql, pg2md_error *err)
{
	run_ctx *rc = ov->rc;
	char *work = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);

	if (!work)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	buf_reset(sql);
	md_work_table_sql(sql, t, rc->dataset);
	if (t->nfiles > 0) {
		buf_puts(sql, ";\nINSERT INTO ");
		duck_qualified(sql, rc->dataset, work);
		buf_puts(sql, " SELECT ");
		select_list(sql, t->cols, t->ncols, NULL);
		buf_puts(sql, " FROM ");
		read_parquet_files(sql, rc->pkg_path, t->files, t->nfiles);
	}
	buf_puts(sql, ";\nINSERT INTO ");
	duck_qualified(sql, rc->dataset, MD_STEPS_TABLE);
	buf_puts(sql, " VALUES (");
	buf_literal(sql, rc->load_id);
	buf_puts(sql, ", ");
	buf_literal(sql, t->dest_name);
	buf_printf(sql, ", 0, %lld)", (long long)t->rows);
	free(work);
	if (buf_broken(sql))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	return PG2MD_OK;
}

/*
 * The tables tis[0..n) (their tasks all done) into their work tables in one transaction: one
 * commit for all the tables that finished meanwhile, since a commit writes the database file
 * (dest_checkpoint_on_commit).  A table of rows too large for the budget is left to the load,
 * which raises it (dest/budget.c).  done[i]: table tis[i] committed.
 */
static pg2md_code
early_batch(struct overlap *ov, const int *tis, int n, bool *done, pg2md_error *err)
{
	run_ctx *rc = ov->rc;
	duckdb_connection con = ov->dest.con;
	manifest_table *mts = xcalloc((size_t)n + 1, sizeof(manifest_table));
	pg2md_buf sql = PG2MD_BUF_INIT;
	int nin = 0;

	if (!mts)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	if (duck_exec(con, "BEGIN TRANSACTION", "starting an early load", err))
		goto out;
	for (int i = 0; i < n; i++) {
		manifest_table *t = &mts[i];
		double t0 = now_seconds();
		if (!build_manifest_table(rc, tis[i], t)) {
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			break;
		}
		if (duck_budget_short(duck_window_need(t->window_bytes))) {
			pg2md_debug("table \"%s\": rows too large to load early; it loads from its files", t->name);
			continue;
		}
		if (early_table_sql(ov, t, &sql, err))
			break;
		pg2md_debug("loading table \"%s\" early:\n%s", t->dest_name, sql.data);
		char *what = xasprintf("loading table \"%s\" early", t->dest_name);
		pg2md_code r = duck_exec(con, sql.data, what ? what : "loading a table early", err);
		free(what);
		if (r)
			break;
		done[i] = true;
		nin++;
		trace_span_add(rc->timeline, &(trace_span){TRACE_MAIN, "load", t->name, "early", -1, -1, -1, t0,
							    now_seconds(), t->rows, t->file_bytes, 0, true});
	}
	double t_commit = now_seconds();
	if (!pg2md_failed(err) && nin > 0)
		fault_point("load:early_before_commit");
	if (pg2md_failed(err) || duck_exec(con, "COMMIT", "committing an early load", err)) {
		pg2md_error ignore;
		pg2md_error_init(&ignore);
		duck_exec(con, "ROLLBACK", "rolling back", &ignore);
		memset(done, 0, (size_t)n * sizeof(bool));
		goto out;
	}
	if (nin > 0) {
		trace_span_add(rc->timeline, &(trace_span){TRACE_MAIN, "load", NULL, "early", -1, -1, -1, t_commit,
							    now_seconds(), 0, 0, 0, true});
		for (int i = 0; i < n; i++)
			if (done[i])
				pg2md_info("table \"%s\" loaded early into its work table (%lld rows)", mts[i].dest_name,
					   (long long)mts[i].rows);
		fault_point("load:early_loaded");
	}
out:
	for (int i = 0; i < n; i++)
		manifest_table_free(&mts[i]);
	free(mts);
	buf_release(&sql);
	return err->code;
}

static void *
loader_main(void *arg)
{
	struct overlap *ov = arg;
	int ntables = ov->rc->ntables;
	int *tis = xcalloc((size_t)ntables + 1, sizeof(int));
	bool *done = xcalloc((size_t)ntables + 1, sizeof(bool));
	bool all_threads = false;

	while (tis && done) {
		int n = 0;
		bool closing;
		pg2md_error err;
		pthread_mutex_lock(&ov->mu);
		while (!ov->closing && !ov->abandon && ov->next == ov->nqueued)
			pthread_cond_wait(&ov->cv, &ov->mu);
		if (ov->abandon || ov->next == ov->nqueued) {
			pthread_mutex_unlock(&ov->mu);
			break;
		}
		/* every table that finished meanwhile, in one transaction */
		while (ov->next < ov->nqueued)
			tis[n++] = ov->queue[ov->next++];
		closing = ov->closing;
		pthread_mutex_unlock(&ov->mu);
		if (interrupt_requested())
			break;
		if (closing && !all_threads) {
			/* the extraction is over: the load's threads for what is left */
			duck_set_threads(ov->dest.con, ov->dest.threads);
			all_threads = true;
		}
		pg2md_error_init(&err);
		memset(done, 0, (size_t)n * sizeof(bool));
		early_batch(ov, tis, n, done, &err);
		pthread_mutex_lock(&ov->mu);
		for (int i = 0; i < n; i++)
			ov->loaded[tis[i]] = done[i];
		pthread_mutex_unlock(&ov->mu);
		if (pg2md_failed(&err)) {
			/* the rest load from their files, as without overlap: nothing is lost but time */
			int len = (int)strcspn(err.msg, "\n");
			pg2md_warn("could not load finished tables early (%.*s); they and the tables after them load "
				   "from their files", len, err.msg);
			break;
		}
	}
	free(tis);
	free(done);
	return NULL;
}

static void
overlap_free(struct overlap *ov)
{
	if (!ov)
		return;
	free(ov->left);
	free(ov->queue);
	free(ov->loaded);
	free(ov);
}

pg2md_code
overlap_start(run_ctx *rc, int stages, pg2md_error *err)
{
	const pg2md_config *cfg = rc->cfg;
	struct overlap *ov;
	int eligible = 0;

	rc->overlap = NULL;
	if (rc->direct || stages != STAGE_ALL || !cfg->overlap_load || pg2md_config_motherduck(cfg) ||
	    md_rules_forced() || rc->ntables < 2)
		return PG2MD_OK;
	ov = xcalloc(1, sizeof(*ov));
	if (!ov)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	ov->rc = rc;
	ov->left = xcalloc((size_t)rc->ntables + 1, sizeof(int));
	ov->queue = xcalloc((size_t)rc->ntables + 1, sizeof(int));
	ov->loaded = xcalloc((size_t)rc->ntables + 1, sizeof(bool));
	if (!ov->left || !ov->queue || !ov->loaded) {
		overlap_free(ov);
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	for (int i = 0; i < rc->ntables; i++)
		ov->left[i] = rc->tx_later && rc->tx_later[i] ? -1 : 0;
	for (int i = 0; i < rc->ntasks; i++)
		if (ov->left[rc->tasks[i].table_idx] >= 0)
			ov->left[rc->tasks[i].table_idx]++;
	for (int i = 0; i < rc->ntables; i++)
		eligible += ov->left[i] > 0;
	if (eligible == 0) {
		overlap_free(ov);
		return PG2MD_OK;
	}
	/* the budget and threads a load has (finish_package), beside the staging DuckDB */
	if (dest_open(&ov->dest, cfg, cfg->load_workers > 0 ? cfg->load_workers : 1, err) ||
	    dest_prepare_dataset(&ov->dest, rc->dataset, err) || load_steps_create(&ov->dest, rc->dataset, err)) {
		dest_close(&ov->dest);
		overlap_free(ov);
		return err->code;
	}
	dest_checkpoint_on_commit(&ov->dest);
	/*
	 * One DuckDB thread while the workers extract: they own the cores.  Measured at SCALE=0.2
	 * on 2 cores, the loader at the load's 2 threads cost more CPU than it overlapped
	 * (docs/internals/performance.md).  overlap_finish gives the load its threads back.
	 */
	duck_set_threads(ov->dest.con, 1);
	pthread_mutex_init(&ov->mu, NULL);
	pthread_cond_init(&ov->cv, NULL);
	int rcode = pthread_create(&ov->thread, NULL, loader_main, ov);
	if (rcode != 0) {
		/* not fatal: the package loads from its files */
		pg2md_warn("could not start the thread that loads finished tables early: %s", strerror(rcode));
		pthread_cond_destroy(&ov->cv);
		pthread_mutex_destroy(&ov->mu);
		dest_close(&ov->dest);
		overlap_free(ov);
		return PG2MD_OK;
	}
	pg2md_debug("loading finished tables early: %d of %d tables", eligible, rc->ntables);
	rc->overlap = ov;
	return PG2MD_OK;
}

void
overlap_task_done(run_ctx *rc, const pg2md_task *task)
{
	struct overlap *ov = rc->overlap;
	int ti = task->table_idx;

	if (!ov)
		return;
	bool queued = false;
	pthread_mutex_lock(&ov->mu);
	if (ov->left[ti] > 0 && --ov->left[ti] == 0) {
		ov->queue[ov->nqueued++] = ti;
		pthread_cond_signal(&ov->cv);
		queued = true;
	}
	pthread_mutex_unlock(&ov->mu);
	if (queued) /* a test holds the worker here until the loader has loaded the table */
		fault_point("extract:table_queued");
}

/* After a failed extraction: the work tables loaded early and this load's records go. */
static void
overlap_undo(struct overlap *ov)
{
	run_ctx *rc = ov->rc;
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_error ignore;

	pg2md_error_init(&ignore);
	for (int i = 0; i < rc->ntables; i++) {
		if (!ov->loaded[i])
			continue;
		char *work = xasprintf(NEW_TABLE_PREFIX "%s", rc->tables[i].dest_name);
		if (!work)
			continue;
		buf_reset(&sql);
		buf_puts(&sql, "DROP TABLE IF EXISTS ");
		duck_qualified(&sql, rc->dataset, work);
		duck_exec(ov->dest.con, sql.data, "dropping a work table", &ignore);
		free(work);
	}
	buf_release(&sql);
	load_steps_forget(&ov->dest, rc->dataset, rc->load_id);
}

void
overlap_finish(run_ctx *rc, bool failed, pg2md_dest *keep)
{
	struct overlap *ov = rc->overlap;

	if (!ov)
		return;
	pthread_mutex_lock(&ov->mu);
	ov->closing = true;
	ov->abandon = failed;
	pthread_cond_broadcast(&ov->cv);
	pthread_mutex_unlock(&ov->mu);
	pthread_join(ov->thread, NULL);
	if (failed)
		overlap_undo(ov);
	pthread_cond_destroy(&ov->cv);
	pthread_mutex_destroy(&ov->mu);
	if (keep && !failed) {
		/* the load runs on it: no second open of the file, no checkpoint at a close between */
		duck_set_threads(ov->dest.con, ov->dest.threads);
		*keep = ov->dest;
		memset(&ov->dest, 0, sizeof(ov->dest));
	}
	dest_close(&ov->dest);
	overlap_free(ov);
	rc->overlap = NULL;
}

/* The dest names of the tables this load id loaded early (a JSON array of strings; NULL on error). */
static json_t *
early_names(pg2md_dest *dest, const char *dataset, const char *load_id, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	duckdb_result res;
	json_t *names = json_array();

	if (!names) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	buf_puts(&sql, "SELECT DISTINCT table_name FROM ");
	duck_qualified(&sql, dataset, MD_STEPS_TABLE);
	buf_puts(&sql, " WHERE load_id = ");
	buf_literal(&sql, load_id);
	if (buf_broken(&sql)) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	} else if (duckdb_query(dest->con, sql.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "reading the tables loaded early failed: %s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
	} else {
		for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
			char *v = duckdb_value_varchar(&res, 0, r);
			if (v)
				json_array_append_new(names, json_string(v));
			duckdb_free(v);
		}
		duckdb_destroy_result(&res);
	}
	buf_release(&sql);
	if (pg2md_failed(err)) {
		json_decref(names);
		return NULL;
	}
	return names;
}

static bool
names_hold(json_t *names, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(names, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

pg2md_code
overlap_loaded(pg2md_dest *dest, const pg2md_manifest *man, pg2md_manifest *work_man, bool **from_work, bool *any,
	       pg2md_error *err)
{
	const char *dataset = man->dataset_name;
	json_t *names;

	memset(work_man, 0, sizeof(*work_man));
	*from_work = NULL;
	*any = false;
	if (!duck_has_table(dest->con, dataset, MD_STEPS_TABLE))
		return PG2MD_OK;
	names = early_names(dest, dataset, man->load_id, err);
	if (!names || json_array_size(names) == 0) {
		json_decref(names);
		return err->code;
	}
	work_man->load_id = xstrdup(man->load_id);
	work_man->dataset_name = xstrdup(man->dataset_name);
	work_man->tables = xcalloc((size_t)man->ntables + 1, sizeof(manifest_table));
	*from_work = xcalloc((size_t)man->ntables + 1, sizeof(bool));
	if (!work_man->load_id || !work_man->dataset_name || !work_man->tables || !*from_work) {
		json_decref(names);
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	for (int i = 0; i < man->ntables; i++) {
		const manifest_table *t = &man->tables[i];
		char *work = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);
		if (!work) {
			json_decref(names);
			return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		}
		/* its record committed with its work table; the table is looked for all the same */
		(*from_work)[i] = names_hold(names, t->dest_name) && duck_has_table(dest->con, dataset, work);
		free(work);
		if ((*from_work)[i]) {
			md_table_from_work(&work_man->tables[i], t);
			*any = true;
		} else {
			manifest_table_copy(&work_man->tables[i], t);
		}
		work_man->ntables++;
	}
	json_decref(names);
	if (*any)
		pg2md_debug("load %s: tables loaded early are read from their work tables", man->load_id);
	return PG2MD_OK;
}

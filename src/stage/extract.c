/*
 * extract.c — the extract stage: one new load package from PostgreSQL.
 *
 * prepare.c settles the snapshot, the tables and the plan; then the DuckDB side opens (staged:
 * an in-memory DuckDB writing Parquet into the package folder; direct: the destination, with a
 * work table per table), the COPY scan is registered, the new cursor values are fixed, and the
 * worker pool runs the tasks.  A staged package gets its manifest and moves to extracted/ (and
 * on through normalize and load when the run asks); a direct run loads its work tables at once.
 * A failed run leaves nothing half-done behind: no work tables, no half-extracted package.
 */
#include "stage/pipeline_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/load.h"
#include "dest/motherduck.h"
#include "source/colhints.h"
#include "source/pgconn.h"
#include "stage/package.h"
#include "stage/plan.h"
#include "util/fault.h"
#include "util/humanize.h"
#include "util/log.h"

/*
 * Direct mode: the destination, and a new work table per table for the workers to insert into.
 * One DuckDB thread: each worker runs its own INSERT on its own thread.  Background threads
 * would only hand the single-threaded scan back and forth while the caller spins waiting for it
 * (measured: half the CPU time, docs/internals/performance.md).
 */
/*
 * Tables of many columns: every worker writes its task's work table in a transaction of its own,
 * and DuckDB's budget counts a block per column of each (DUCK_COLUMN_BYTES, dest/duck.h): a
 * table of 1,500 columns ran out copying at the default budget.  The budget is raised before the
 * copy for the widest table, once per worker; rows of several MB add their windows at each
 * commit (commit.c) on top of it (rc->col_need).
 */
static pg2md_code
direct_budget_columns(run_ctx *rc, pg2md_dest *dest, pg2md_error *err)
{
	int widest = 0;
	bool raised = false;
	for (int i = 0; i < rc->ntables; i++) {
		int n = rc->tx_sql[i] ? rc->tx[i].ncols : rc->tables[i].ncols;
		if (n > widest)
			widest = n;
	}
	int64_t cols = (int64_t)widest * DUCK_COLUMN_BYTES * (rc->one_writer ? 1 : rc->nworkers);
	int64_t need = duck_window_need(1) + cols;
	if (rc->motherduck || !duck_budget_short(need))
		return PG2MD_OK;
	rc->col_need = cols; /* the windows of large rows come on top of it (commit.c) */
	if (duck_budget_raise(dest->con, need, "copying tables of many columns", true, &raised, err))
		return err->code;
	if (raised)
		rc->budget = need;
	return PG2MD_OK;
}

static pg2md_code
open_direct(run_ctx *rc, pg2md_dest *dest, pg2md_trace *trace, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;

	if (dest_open(dest, rc->cfg, 1, err))
		return err->code;
	if (dest->where && !(trace->destination = xstrdup(dest->where)))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	dest_checkpoint_on_commit(dest);
	rc->motherduck = dest->motherduck;
	rc->one_writer = dest->md_rules;
	if (dest_prepare_dataset(dest, rc->dataset, err))
		return err->code;
	for (int i = 0; i < rc->ntables; i++) {
		pg2md_table *t = &rc->tables[i];
		char *nt = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);
		if (!nt) {
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			break;
		}
		buf_reset(&sql);
		buf_puts(&sql, "DROP TABLE IF EXISTS ");
		duck_qualified(&sql, rc->dataset, nt);
		buf_puts(&sql, "; CREATE TABLE ");
		duck_qualified(&sql, rc->dataset, nt);
		buf_puts(&sql, " (");
		if (rc->tx_sql[i]) {
			for (int c = 0; c < rc->tx[i].ncols; c++) {
				if (c)
					buf_puts(&sql, ", ");
				buf_ident(&sql, rc->tx[i].cols[c].name);
				buf_printf(&sql, " %s%s", rc->tx[i].cols[c].duck_type,
					   rc->tx[i].cols[c].lineage ? " NOT NULL" : "");
			}
		}
		for (int c = 0; !rc->tx_sql[i] && c < t->ncols; c++) {
			if (c)
				buf_puts(&sql, ", ");
			buf_ident(&sql, t->cols[c].dest_name);
			buf_printf(&sql, " %s%s", t->cols[c].duck_type, t->cols[c].nullable ? "" : " NOT NULL");
		}
		buf_puts(&sql, ")");
		free(nt);
		if ((dest->md_rules && md_table_statement_check(sql.data, t->name, "its work table", err)) ||
		    duck_exec(dest->con, sql.data, "creating a destination table", err))
			break;
	}
	buf_release(&sql);
	if (pg2md_failed(err) || (rc->one_writer && handoff_check_statements(rc, err)))
		return err->code;
	rc->ddb = dest->db;
	return direct_budget_columns(rc, dest, err);
}

/* Staged mode: the package folder, and an in-memory DuckDB that writes its Parquet files. */
static pg2md_code
open_staging(run_ctx *rc, duckdb_database *stagedb, duckdb_connection *regcon, pg2md_error *err)
{
	const pg2md_config *cfg = rc->cfg;

	if (pkg_init_dirs(cfg, err))
		return err->code;
	if (!(rc->pkg_path = pkg_dir(cfg, PKG_EXTRACTING, rc->load_id)))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	if (mkdir_p(rc->pkg_path, 0700, err))
		return err->code;
	/* one thread, as in the direct mode: workers are the threads; an in-memory DuckDB would
	 * spill into ./.tmp: keep it in the pipeline folder */
	char *tmpdir = xasprintf("%s/%s/tmp", cfg->pipelines_dir, cfg->pipeline_name);
	if (!tmpdir)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	duck_open_scratch(stagedb, regcon, 1, tmpdir, "for staging", err);
	free(tmpdir);
	if (pg2md_failed(err))
		return err->code;
	rc->ddb = *stagedb;
	return PG2MD_OK;
}

/* The workers ran the tasks; err: the first failure, with a hint for a value the server could
 * not convert (SQLSTATE class 22): the type overrides. */
static pg2md_code
extract_tasks(run_ctx *rc, int nworkers, pg2md_error *err)
{
	pg2md_info("extracting %d tables in %d tasks with %d workers", rc->ntables, rc->ntasks, nworkers);
	if (run_workers(rc, nworkers, err)) {
		for (int i = 0; i < rc->ntasks; i++)
			if (pg2md_failed(&rc->tasks[i].scan.err)) {
				if (strncmp(rc->tasks[i].scan.sqlstate, "22", 2) == 0)
					colhints_failure_hint(rc->cfg, rc->tasks[i].table, err);
				break;
			}
	}
	return err->code;
}

/*
 * The extracted rows on their way: direct, loaded from the work tables now; staged, the
 * manifest written and the package moved to extracted/, then normalized and loaded as stages
 * asks.
 */
static pg2md_code
extract_output(run_ctx *rc, pg2md_dest *dest, const pg2md_manifest *man, int stages, pg2md_trace *trace,
	       pg2md_error *err)
{
	/* staged: the early loader's connection, if it had one, loads the package (overlap.c) */
	const pg2md_config *cfg = rc->cfg;

	if (rc->direct) {
		double t1 = now_seconds();
		bool already;
		if (load_manifest(cfg, dest, man, NULL, true, trace->timeline, &already, err) == PG2MD_OK)
			trace->t_load = now_seconds() - t1;
	} else {
		char *manpath = pkg_manifest_path(rc->pkg_path);
		json_t *doc = manifest_to_json(man);
		pg2md_code result = manpath && doc ? json_write_atomic(manpath, doc, err)
						   : pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		json_decref(doc);
		free(manpath);
		if (result == PG2MD_OK)
			fault_point("extract:before_move");
		if (result == PG2MD_OK && pkg_move(cfg, rc->load_id, PKG_EXTRACTING, PKG_EXTRACTED, err) == PG2MD_OK) {
			fault_point("extract:after_move");
			if ((stages & STAGE_NORMALIZE) && normalize_package(cfg, rc->load_id, trace, err) == PG2MD_OK &&
			    (stages & STAGE_LOAD))
				finish_package_on(cfg, rc->load_id, trace, dest, err);
		}
	}
	return err->code;
}

/* After a failure: the half-filled work tables of a direct run go now, not at the next run. */
static void
drop_work_tables(run_ctx *rc, pg2md_dest *dest)
{
	pg2md_error ignore;
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_error_init(&ignore);
	for (int i = 0; i < rc->ntables; i++) {
		char *nt = xasprintf(NEW_TABLE_PREFIX "%s", rc->tables[i].dest_name);
		if (!nt)
			break; /* what is left goes at the next run (dest_prepare_dataset) */
		buf_reset(&sql);
		buf_puts(&sql, "DROP TABLE IF EXISTS ");
		duck_qualified(&sql, rc->dataset, nt);
		duck_exec(dest->con, sql.data, "dropping a work table", &ignore);
		free(nt);
	}
	buf_release(&sql);
}

/* What the run context holds, freed (the connections and DuckDB instances are closed before). */
static void
run_release(run_ctx *rc)
{
	plan_free(rc->tasks, rc->ntasks);
	free(rc->reg.jobs);
	for (int i = 0; rc->filters && i < rc->ntables; i++)
		free(rc->filters[i]);
	for (int i = 0; rc->incr && i < rc->ntables; i++)
		incr_release(&rc->incr[i]); /* (either array may be missing: memory ran out, prepare_tables) */
	free(rc->filters);
	free(rc->incr);
	free(rc->work_rows);
	free(rc->win_bytes);
	free(rc->win_rows);
	free(rc->announced);
	free(rc->need);
	for (int i = 0; rc->tx && i < rc->ntables; i++)
		transform_out_release(&rc->tx[i]);
	free(rc->tx);
	free(rc->tx_sql);
	free(rc->tx_later);
	json_decref(rc->state);
	schema_tables_free(rc->tables, rc->ntables);
	free(rc->snapshot);
	free(rc->load_id);
	free(rc->pkg_path);
}

pg2md_code
extract_run(const pg2md_config *cfg, bool direct, int stages, pg2md_trace *trace, pg2md_error *err)
{
	run_ctx rc;
	pg2md_dest dest;
	duckdb_database stagedb = NULL;
	duckdb_connection regcon = NULL;
	double t0 = now_seconds();
	pg2md_manifest man;

	memset(&rc, 0, sizeof(rc));
	memset(&man, 0, sizeof(man));
	memset(&dest, 0, sizeof(dest));
	rc.cfg = cfg;
	rc.direct = direct;
	rc.dataset = cfg->dataset_name;
	rc.load_id = pkg_new_load_id();
	rc.timeline = trace->timeline;
	trace->load_id = xstrdup(rc.load_id);
	if (!rc.load_id || !trace->load_id) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto out;
	}

	if (prepare_snapshot(&rc, trace, err) || prepare_tables(&rc, err))
		goto out;
	/* as dest_open will say (open_direct): the plan depends on it */
	rc.one_writer = direct && (pg2md_config_motherduck(cfg) || md_rules_forced());
	if (prepare_plan(&rc, err))
		goto out;
	int nworkers = effective_workers(cfg, rc.ntasks);
	rc.nworkers = nworkers;
	trace->workers = nworkers;
	trace->ntasks = rc.ntasks;
	trace->direct = direct;

	if (direct) {
		if (open_direct(&rc, &dest, trace, err))
			goto out;
		regcon = dest.con;
	} else if (open_staging(&rc, &stagedb, &regcon, err)) {
		goto out;
	}
	if (copyscan_register(regcon, &rc.reg, err))
		goto out;

	/* The new cursor values: the snapshot fixes them, so they are known before the copy starts. */
	for (int i = 0; i < rc.ntables; i++)
		if (incr_finish(rc.leader, cfg->schema, &rc.tables[i], rc.filters[i], &rc.incr[i], err))
			goto out;
	/* staged: finished tables load while the others are extracted (overlap.c) */
	if (overlap_start(&rc, stages, err))
		goto out;
	if (extract_tasks(&rc, nworkers, err))
		goto out;
	/* the loader finishes the tables it was given: the package's load reads their work tables */
	overlap_finish(&rc, false, &dest);
	fault_point("extract:workers_done");
	/* Every worker has its snapshot; the leader's transaction can end. */
	pg_exec(rc.leader, "COMMIT", err);
	trace->t_extract = now_seconds() - t0;

	fault_point("extract:before_manifest");
	if (build_manifest(&rc, &man, err))
		goto out;
	if (!trace_from_manifest(trace, &man)) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto out;
	}
	extract_output(&rc, &dest, &man, stages, trace, err);

out:
	overlap_finish(&rc, pg2md_failed(err), NULL);
	if (pg2md_failed(err) && direct && dest.con)
		drop_work_tables(&rc, &dest);
	if (pg2md_failed(err) && rc.pkg_path && !direct) {
		/* A half-extracted package is never loaded: discard it now rather than at the next run. */
		pkg_remove_tree(rc.pkg_path);
	}
	manifest_free(&man);
	if (regcon && !direct)
		duckdb_disconnect(&regcon);
	if (stagedb)
		duckdb_close(&stagedb);
	dest_close(&dest); /* direct: the destination; staged: the early loader's, if not taken over */
	if (rc.leader)
		PQfinish(rc.leader);
	run_release(&rc);
	return err->code;
}

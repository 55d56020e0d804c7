/*
 * load.c — the load stage: a package into the destination, in one transaction.
 *
 * Every table's rows, the pipeline state and the package's _dlt_loads row commit together or
 * not at all, so a load that is killed and run again never duplicates or loses rows; a package
 * whose load_id _dlt_loads already holds is only marked loaded.  The SQL itself is the
 * destination's (dest/load.h); this file drives it, keeps the local state in step and moves the
 * package to loaded/.
 */
#include "stage/pipeline_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dest/load.h"
#include "stage/package.h"
#include "stage/state.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/humanize.h"
#include "util/interrupt.h"
#include "util/log.h"

/*
 * Each table of the package: its schema evolved (append, merge), its statements run, DuckDB's
 * budget raised first for rows of several MB.  Inside the load's transaction.  A table whose
 * from_work is set is read from its work table, as a direct run's (loaded early: overlap.c).
 */
static pg2md_code
load_tables(const pg2md_config *cfg, pg2md_dest *dest, const pg2md_manifest *man, const char *pkg_path, bool direct,
	    const bool *from_work, pg2md_timeline *tl, load_budget *lb, pg2md_error *err)
{
	const char *load_id = man->load_id;
	const char *dataset = man->dataset_name;
	pg2md_buf sql = PG2MD_BUF_INIT;
	json_t *stored = NULL;
	bool stored_read = false;

	for (int i = 0; i < man->ntables; i++) {
		const manifest_table *t = &man->tables[i];
		bool work = direct || (from_work && from_work[i]);
		if (interrupt_requested()) {
			pg2md_fail(err, interrupt_reason(), "%s while loading; nothing of load %s was committed",
				   interrupt_what(), load_id);
			pg2md_hint(err, "run pg2md run (or pg2md load) again to load the pending package");
			break;
		}
		buf_reset(&sql);
		double t_table = now_seconds();
		if (strcmp(t->disposition, "replace") != 0) {
			if (!stored_read) {
				stored = stored_schema_tables(dest->con, dataset);
				stored_read = true;
			}
			if (evolve_table(dest->con, dataset, t, stored, err))
				break;
		}
		if (load_table_sql(&sql, t, dataset, pkg_path, work, cfg->batch_size, err))
			break;
		char *what = xasprintf("loading table \"%s\"", t->dest_name);
		if (!what) {
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			break;
		}
		bool big = load_budget_table(dest, t, dataset, pkg_path, work, what, lb);
		pg2md_debug("%s:\n%s", what, sql.data);
		pg2md_code result = dest->md_rules ? md_statements_check(sql.data, what, err) : PG2MD_OK;
		if (result == PG2MD_OK)
			result = duck_exec(dest->con, sql.data, what, err);
		free(what);
		if (big)
			duck_set_threads(dest->con, dest->threads);
		trace_span_add(tl, &(trace_span){TRACE_MAIN, "load", t->name, NULL, -1, -1, -1, t_table, now_seconds(),
						 t->rows, t->file_bytes, 0, result == PG2MD_OK});
		if (result)
			break;
	}
	json_decref(stored);
	buf_release(&sql);
	return err->code;
}

/* The pipeline state with this package's cursors, versioned above both copies (NULL on error). */
static json_t *
load_state(const pg2md_config *cfg, pg2md_dest *dest, const pg2md_manifest *man, long long *state_version,
	   pg2md_error *err)
{
	const char *dataset = man->dataset_name;
	json_t *state;

	state = state_load_local(cfg, err);
	if (!state)
		return NULL;
	if (dlt_state_version(dest->con, dataset, state_version, err)) {
		json_decref(state);
		return NULL;
	}
	if (json_integer_value(json_object_get(state, "_state_version")) > *state_version)
		*state_version = json_integer_value(json_object_get(state, "_state_version"));
	(*state_version)++;
	/* a state that lacks what could not be set is never stored */
	bool oom = json_object_set_new(state, "_state_version", json_integer(*state_version)) ||
		   json_object_set_new(state, "pipeline_name", json_string(cfg->pipeline_name)) ||
		   json_object_set_new(state, "dataset_name", json_string(dataset)) ||
		   json_object_set_new(state, "default_schema_name", json_string("sql_database"));
	for (int i = 0; !oom && i < man->ntables; i++) {
		const manifest_incremental *inc = &man->tables[i].incremental;
		if (inc->present && !state_set_last_value(state, man->tables[i].name, inc->cursor_path,
							  inc->initial_value, inc->last_value))
			oom = true;
	}
	if (oom) {
		json_decref(state);
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	return state;
}

/*
 * Load one package into the destination in one transaction with its
 * _dlt_loads row.  A package whose load_id is already in _dlt_loads was
 * loaded by a run that died before it could mark the package: nothing is
 * loaded twice.
 */
static pg2md_code
load_package_tx(const pg2md_config *cfg, pg2md_dest *dest, const pg2md_manifest *man, const char *pkg_path,
		bool direct, const bool *from_work, pg2md_timeline *tl, bool *already, load_budget *lb, pg2md_error *err)
{
	const char *load_id = man->load_id;
	const char *dataset = man->dataset_name;
	json_t *state = NULL;
	bool found = false;
	long long state_version = 0;

	*already = false;
	if (dest_prepare_dataset(dest, dataset, err))
		return err->code;
	if (duck_exec(dest->con, "BEGIN TRANSACTION", "starting the load", err))
		return err->code;
	if (dlt_load_recorded(dest->con, dataset, load_id, &found, err))
		goto fail;
	if (found) {
		*already = true;
		return duck_exec(dest->con, "ROLLBACK", "ending the load", err);
	}
	if (load_tables(cfg, dest, man, pkg_path, direct, from_work, tl, lb, err))
		goto fail;
	double t_commit = now_seconds();

	state = load_state(cfg, dest, man, &state_version, err);
	if (!state)
		goto fail;
	if (dlt_record_load(dest, dataset, cfg->pipeline_name, load_id, man->tables, man->ntables, state,
			    state_version, err))
		goto fail;
	fault_point("load:before_commit");
	/* a statement built while memory ran short may lack what a broken buffer held (util/mem.h) */
	if (interrupt_reason() == PG2MD_ERR_NOMEM) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory while loading; nothing of load %s was committed", load_id);
		goto fail;
	}
	if (lb->big) /* the commit writes the large rows out: one window at a time */
		duck_set_threads(dest->con, 1);
	if (duck_exec(dest->con, "COMMIT", "committing the load", err))
		goto fail;
	trace_span_add(tl, &(trace_span){TRACE_MAIN, "load", NULL, "commit", -1, -1, -1, t_commit, now_seconds(), 0, 0,
					 0, true});
	fault_point("load:after_commit");
	/* The destination holds the new state; the local copy follows (a crash here is healed by
	 * restoring the newer destination copy at the next run). */
	state_save_local(cfg, state, err);
	json_decref(state);
	return err->code;

fail:
	json_decref(state);
	{
		pg2md_error ignore;
		pg2md_error_init(&ignore);
		duck_exec(dest->con, "ROLLBACK", "rolling back", &ignore);
	}
	return err->code;
}

/* load_package_tx, then DuckDB's budget and threads back as they were. */
pg2md_code
load_manifest(const pg2md_config *cfg, pg2md_dest *dest, const pg2md_manifest *man, const char *pkg_path, bool direct,
	      pg2md_timeline *tl, bool *already, pg2md_error *err)
{
	load_budget lb = {0, false, false};

	if (dest->md_rules && !direct) {
		/* MotherDuck: the files uploaded in bounded steps first, then a short transaction */
		pg2md_manifest work_man = {0};
		if (load_upload_steps(cfg, dest, man, pkg_path, &work_man, already, err) == PG2MD_OK && !*already &&
		    load_package_tx(cfg, dest, &work_man, pkg_path, true, NULL, tl, already, &lb, err) == PG2MD_OK)
			load_steps_forget(dest, man->dataset_name, man->load_id);
		manifest_free(&work_man);
	} else if (!direct) {
		/* tables loaded early into their work tables while others were extracted (overlap.c) */
		pg2md_manifest work_man = {0};
		bool *from_work = NULL, any = false;
		/* then the records go: this load's, and those a run killed while it loaded early left */
		if (overlap_loaded(dest, man, &work_man, &from_work, &any, err) == PG2MD_OK &&
		    load_package_tx(cfg, dest, any ? &work_man : man, pkg_path, false, from_work, tl, already, &lb,
				    err) == PG2MD_OK &&
		    duck_has_table(dest->con, man->dataset_name, MD_STEPS_TABLE))
			load_steps_forget(dest, man->dataset_name, man->load_id);
		manifest_free(&work_man);
		free(from_work);
	} else {
		load_package_tx(cfg, dest, man, pkg_path, direct, NULL, tl, already, &lb, err);
	}
	if (lb.raised)
		duck_budget_restore(dest->con);
	if (lb.big)
		duck_set_threads(dest->con, dest->threads);
	return err->code;
}

/* Remove a package's staged file; a rotated task's folder goes with its last file.  (When memory
 * ran out it stays: only space, nothing reads a file its manifest does not name.) */
void
remove_staged_file(const char *pkg_path, const char *rel)
{
	char *fp = xasprintf("%s/%s", pkg_path, rel);
	if (!fp)
		return;
	unlink(fp);
	char *slash = strrchr(fp, '/');
	if (slash && strchr(rel, '/')) {
		*slash = '\0';
		rmdir(fp);
	}
	free(fp);
}

/* Load a normalized package and mark it loaded (its Parquet files are removed). */
pg2md_code
finish_package(const pg2md_config *cfg, const char *load_id, pg2md_trace *trace, pg2md_error *err)
{
	return finish_package_on(cfg, load_id, trace, NULL, err);
}

pg2md_code
finish_package_on(const pg2md_config *cfg, const char *load_id, pg2md_trace *trace, pg2md_dest *open,
		  pg2md_error *err)
{
	char *path = pkg_dir(cfg, PKG_NORMALIZED, load_id);
	pg2md_manifest man;
	pg2md_dest dest;
	bool already = false;
	double t0 = now_seconds();

	memset(&man, 0, sizeof(man));
	memset(&dest, 0, sizeof(dest));
	if (open && open->con) {
		/* the early loader's connection (overlap.c): opened as below, taken over */
		dest = *open;
		memset(open, 0, sizeof(*open));
	}
	if (!path || manifest_load(path, &man, err)) {
		if (!path)
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		manifest_free(&man);
		dest_close(&dest);
		free(path);
		return err->code;
	}
	if (!trace->tables && !trace_from_manifest(trace, &man)) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		manifest_free(&man);
		dest_close(&dest);
		free(path);
		return err->code;
	}
	if (dest.con || dest_open(&dest, cfg, cfg->load_workers > 0 ? cfg->load_workers : 1, err) == PG2MD_OK) {
		free(trace->destination);
		trace->destination = xstrdup(dest.where);
		dest_checkpoint_on_commit(&dest);
		if (dest.where && !trace->destination)
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		else if (load_manifest(cfg, &dest, &man, path, false, trace->timeline, &already, err) == PG2MD_OK) {
			if (already)
				pg2md_info("package %s was already loaded; marking it loaded", load_id);
		}
		dest_close(&dest);
	}
	trace->t_load += now_seconds() - t0;
	if (!pg2md_failed(err)) {
		/*
		 * The rows are committed with the package's _dlt_loads row, so the files are no
		 * longer needed even if we die before the move: a rerun finds the load_id in
		 * _dlt_loads and only marks the package loaded.  The manifest stays.
		 */
		for (int i = 0; i < man.ntables; i++)
			for (int k = 0; k < man.tables[i].nfiles; k++)
				remove_staged_file(path, man.tables[i].files[k]);
		fault_point("load:before_move");
		if (pkg_move(cfg, load_id, PKG_NORMALIZED, PKG_LOADED, err) == PG2MD_OK)
			fault_point("load:after_loaded");
	}
	manifest_free(&man);
	free(path);
	return err->code;
}

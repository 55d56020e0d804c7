/*
 * pipeline.c — extract, normalize and load (see pipeline.h).
 *
 * DESIGN.  A leader connection opens a repeatable-read transaction, exports
 * its snapshot and reflects the tables inside it.  The planner cuts each
 * table's leaves into page ranges (tasks); N workers, each owning one
 * PostgreSQL connection that imported the snapshot and one DuckDB connection,
 * take tasks from a shared counter.  A task is one SQL statement in DuckDB
 * reading the pg2md_scan table function: it writes a Parquet file (staged)
 * or inserts into a new destination table (direct).  A failed task records
 * its error on itself and stops the hand-out; the first failure is the one
 * reported.  Loading is one destination transaction per package: every
 * table's rows and the _dlt_loads row commit together or not at all.
 */
#include "stage/pipeline.h"
#include "stage/pipeline_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <duckdb.h>
#include <jansson.h>

#include "dest/duck.h"
#include "dest/load.h"
#include "dest/naming.h"
#include "source/catalog.h"
#include "source/colhints.h"
#include "source/copyscan.h"
#include "source/pgconn.h"
#include "stage/incremental.h"
#include "stage/lock.h"
#include "stage/package.h"
#include "stage/plan.h"
#include "stage/progress.h"
#include "stage/state.h"
#include "stage/task.h"
#include "stage/trace.h"
#include "stage/transform.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/hash.h"
#include "util/humanize.h"
#include "util/interrupt.h"
#include "util/log.h"

static char *
make_load_id(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return xasprintf("%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
}

/* ---- state --------------------------------------------------------------- */

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Packages extracted but not loaded yet already read past the stored cursor:
 * their last values count, oldest first, so a second `pg2md extract` before
 * a load reads only what is newer (dlt keeps the state at extract time too).
 */
static void
state_apply_pending(const pg2md_config *cfg, json_t *state)
{
	pkg_state states[2] = {PKG_NORMALIZED, PKG_EXTRACTED};
	char **ids = NULL;
	int n = 0, cap = 0;
	for (int k = 0; k < 2; k++) {
		char *dir = xasprintf("%s/%s/load/%s", cfg->pipelines_dir, cfg->pipeline_name, pkg_state_name(states[k]));
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				ids = xrealloc(ids, (size_t)cap * sizeof(char *));
			}
			ids[n++] = xasprintf("%s/%s/manifest.json", dir, e->d_name);
		}
		if (d)
			closedir(d);
		free(dir);
	}
	/* the manifest paths sort by state folder first; sort by load id (the folder name) instead */
	for (int i = 0; i < n; i++) {
		char *p = ids[i], *slash = strrchr(p, '/');
		*slash = '\0';
		char *lid = strrchr(p, '/') + 1;
		char *key = xasprintf("%s\t%s/manifest.json", lid, p);
		free(p);
		ids[i] = key;
	}
	if (n > 1)
		qsort(ids, (size_t)n, sizeof(char *), str_cmp);
	for (int i = 0; i < n; i++) {
		pg2md_error ignore;
		json_t *man, *jt;
		size_t k;
		pg2md_error_init(&ignore);
		man = json_read_file(strchr(ids[i], '\t') + 1, &ignore);
		json_array_foreach(json_object_get(man, "tables"), k, jt) {
			json_t *inc = json_object_get(jt, "incremental");
			if (json_is_object(inc) && json_string_value(json_object_get(inc, "last_value")))
				state_set_last_value(state, json_string_value(json_object_get(jt, "name")),
						     json_string_value(json_object_get(inc, "cursor_path")),
						     json_string_value(json_object_get(inc, "initial_value")),
						     json_string_value(json_object_get(inc, "last_value")));
		}
		json_decref(man);
		free(ids[i]);
	}
	free(ids);
}

/* ---- planning ---------------------------------------------------------- */

static void
plan_run(run_ctx *rc, int64_t pages_per_task)
{
	rc->ntasks = plan_tasks(rc->tables, rc->ntables, (const char *const *)rc->filters, pages_per_task, &rc->tasks);
	rc->reg.tasks = rc->tasks;
	rc->reg.ntasks = rc->ntasks;
	rc->reg.staged = !rc->direct;
}

/*
 * append + incremental with a closed range start reads the rows at the last value again and
 * drops those already loaded by matching the cursor column in the destination
 * (append_boundary_filter).  A transform that leaves the cursor out of its output would make
 * every run append those rows once more: refused before any data moves.
 */
/*
 * merge_key: only for merge's delete-insert strategy (upsert matches on the primary key alone),
 * and each of its columns must reach the destination (a source column, or a transform's).
 */
static pg2md_code
merge_key_check(const pg2md_config *cfg, const pg2md_table *t, const transform_out *out, pg2md_error *err)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);

	if (!tc || tc->merge_key.n == 0)
		return PG2MD_OK;
	if (pg2md_config_disposition(cfg, t->name) != PG2MD_DISP_MERGE) {
		pg2md_warn("table \"%s\": merge_key applies to write_disposition \"merge\" only; ignored", t->name);
		return PG2MD_OK;
	}
	if (tc->merge_strategy && strcmp(tc->merge_strategy, "upsert") == 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\": merge_key does not apply to the \"upsert\" strategy",
			   t->name);
		pg2md_hint(err, "upsert matches rows on primary_key alone; remove merge_key, or use the delete-insert "
				"strategy (the default)");
		return err->code;
	}
	for (int k = 0; k < tc->merge_key.n; k++) {
		const char *name = tc->merge_key.items[k];
		bool found = false;
		if (out && out->ncols > 0) {
			for (int c = 0; c < out->ncols && !found; c++)
				found = strcmp(out->cols[c].name, name) == 0;
		} else {
			int c = catalog_find_column(t, name);
			found = c >= 0 && !catalog_column_synthetic(&t->cols[c]);
		}
		if (!found) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "merge_key column \"%s\" of table \"%s\" does not exist", name,
				   t->name);
			pg2md_hint(err, "merge_key names columns of the table as it is loaded (after included_columns, "
					"excluded_columns and a transform)");
			return err->code;
		}
	}
	return PG2MD_OK;
}

static pg2md_code
boundary_cursor_check(const pg2md_config *cfg, const pg2md_table *t, const incr_plan *p, const transform_out *out,
		      pg2md_error *err)
{
	if (!p->active || !p->start_closed || p->fixed_range ||
	    pg2md_config_disposition(cfg, t->name) != PG2MD_DISP_APPEND)
		return PG2MD_OK;
	const char *cursor = t->cols[p->col].dest_name;
	for (int c = 0; c < out->ncols; c++)
		if (strcmp(out->cols[c].name, cursor) == 0)
			return PG2MD_OK;
	pg2md_fail(err, PG2MD_ERR_USAGE,
		   "the transform of table \"%s\" leaves out the cursor column \"%s\", which append needs to skip the rows "
		   "loaded before", t->name, cursor);
	pg2md_detail(err, "incremental.range_start = \"closed\" reads the rows at the last cursor value again; without "
			  "the cursor in the destination they would be appended on every run");
	pg2md_hint(err, "keep \"%s\" in the transform's output, or set incremental.range_start = \"open\" under "
			"[sources.sql_database.%s]", cursor, t->name);
	return err->code;
}

/* ---- the run ------------------------------------------------------------ */

pg2md_code
extract_run(const pg2md_config *cfg, bool direct, int stages, pg2md_trace *trace, pg2md_error *err)
{
	run_ctx rc;
	PGconn *leader = NULL;
	pg2md_dest dest;
	duckdb_database stagedb = NULL;
	duckdb_connection regcon = NULL;
	double t0 = now_seconds();
	json_t *man = NULL;

	memset(&rc, 0, sizeof(rc));
	memset(&dest, 0, sizeof(dest));
	rc.cfg = cfg;
	rc.direct = direct;
	rc.dataset = cfg->dataset_name;
	rc.load_id = make_load_id();
	rc.timeline = trace->timeline;
	trace->load_id = xstrdup(rc.load_id);

	leader = pg_connect(cfg, err);
	if (!leader)
		goto out;
	if (pg_snapshot_export(leader, &rc.snapshot, err))
		goto out;
	if (catalog_reflect(leader, cfg, &rc.tables, &rc.ntables, err))
		goto out;
	if (cfg->tables.n == 0)
		trace->found_in = xstrdup(cfg->schema);
	/*
	 * ACCESS SHARE locks for the whole extraction, as pg_dump takes them: a TRUNCATE or
	 * ALTER TABLE (not MVCC-safe) waits for the run instead of emptying its snapshot.
	 */
	{
		pg2md_buf lk = PG2MD_BUF_INIT;
		int nlocked = 0;
		buf_puts(&lk, "LOCK TABLE ");
		for (int i = 0; i < rc.ntables; i++) {
			if (rc.tables[i].relkind == 'q')
				continue; /* a query's tables are read in the snapshot, not locked (docs/transformations.md) */
			if (nlocked++)
				buf_puts(&lk, ", ");
			buf_ident(&lk, cfg->schema);
			buf_putc(&lk, '.');
			buf_ident(&lk, rc.tables[i].name);
		}
		buf_puts(&lk, " IN ACCESS SHARE MODE");
		pg2md_code result = nlocked ? pg_exec(leader, lk.data, err) : PG2MD_OK;
		buf_release(&lk);
		if (result)
			goto out;
	}
	fault_point("extract:after_snapshot");

	/* The state to continue from: the local file, or the destination's copy when it is newer. */
	rc.state = state_load_local(cfg, err);
	if (!rc.state)
		goto out;
	{
		json_t *remote = state_load_destination(cfg);
		if (remote && json_integer_value(json_object_get(remote, "_state_version")) >
				      json_integer_value(json_object_get(rc.state, "_state_version"))) {
			pg2md_info("restoring the pipeline state from the destination (version %lld)",
				   (long long)json_integer_value(json_object_get(remote, "_state_version")));
			json_decref(rc.state);
			rc.state = remote;
		} else if (remote) {
			json_decref(remote);
		}
	}
	state_apply_pending(cfg, rc.state);
	rc.filters = xcalloc((size_t)rc.ntables + 1, sizeof(char *));
	rc.tx = xcalloc((size_t)rc.ntables + 1, sizeof(transform_out));
	rc.tx_sql = xcalloc((size_t)rc.ntables + 1, sizeof(char *));
	rc.tx_later = xcalloc((size_t)rc.ntables + 1, sizeof(char *));
	rc.incr = xcalloc((size_t)rc.ntables + 1, sizeof(incr_plan));
	rc.work_rows = xcalloc((size_t)rc.ntables + 1, sizeof(int64_t));
	rc.win_bytes = xcalloc((size_t)rc.ntables + 1, sizeof(int64_t));
	rc.win_rows = xcalloc((size_t)rc.ntables + 1, sizeof(int64_t));
	rc.announced = xcalloc((size_t)rc.ntables + 1, sizeof(bool));
	rc.need = xcalloc((size_t)rc.ntables + 1, sizeof(int64_t));
	rc.budget = duck_parse_bytes(duck_memory_limit());
	for (int i = 0; i < rc.ntables; i++) {
		pg2md_buf f = PG2MD_BUF_INIT;
		const pg2md_table_config *tc = pg2md_config_table(cfg, rc.tables[i].name);
		if (tc && tc->where)
			buf_printf(&f, "(%s)", tc->where);
		if (incr_plan_table(cfg, rc.state, &rc.tables[i], &rc.incr[i], &f, err) ||
		    incr_check_missing(leader, cfg->schema, &rc.tables[i], f.data, &rc.incr[i], err)) {
			buf_release(&f);
			goto out;
		}
		rc.filters[i] = buf_detach(&f);
		/* plain numerics: a DECIMAL measured over the rows this run reads, in its snapshot */
		if (catalog_measure_numerics(leader, cfg->schema, &rc.tables[i], rc.filters[i], err))
			goto out;
		if (tc && tc->merge_strategy && strcmp(tc->merge_strategy, "delete-insert") != 0 &&
		    strcmp(tc->merge_strategy, "upsert") != 0) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "merge strategy \"%s\" of table \"%s\" is not supported",
				   tc->merge_strategy, rc.tables[i].name);
			pg2md_hint(err, "use write_disposition.strategy = \"delete-insert\" (the default) or \"upsert\"");
			goto out;
		}
		if (rc.tables[i].relkind == 'q' && rc.incr[i].active && tc->row_order) {
			/* one task: the rows can come in the cursor's order, as dlt's row_order asks */
			pg2md_buf ob = PG2MD_BUF_INIT;
			buf_puts(&ob, "ORDER BY ");
			buf_ident(&ob, rc.tables[i].cols[rc.incr[i].col].name);
			buf_puts(&ob, strcmp(tc->row_order, "desc") == 0 ? " DESC" : " ASC");
			rc.tables[i].order_by = buf_detach(&ob);
		}
		if (tc && tc->transform) {
			bool later;
			if (transform_stage_parse(tc, direct, &later, err))
				goto out;
			/* bound now, against the reflected columns: a broken transform stops the run before any data moves */
			if (transform_bind(&rc.tables[i], tc->transform, &rc.tx[i], err))
				goto out;
			if (later)
				rc.tx_later[i] = tc->transform;
			else
				rc.tx_sql[i] = tc->transform;
			if (boundary_cursor_check(cfg, &rc.tables[i], &rc.incr[i], &rc.tx[i], err))
				goto out;
		}
	}
	for (int i = 0; i < rc.ntables; i++)
		if (merge_key_check(cfg, &rc.tables[i], &rc.tx[i], err))
			goto out;
	for (int i = 0; i < rc.ntables; i++)
		if (pg2md_config_disposition(cfg, rc.tables[i].name) == PG2MD_DISP_MERGE && rc.tables[i].npk == 0 &&
		    !(pg2md_config_table(cfg, rc.tables[i].name) &&
		      (pg2md_config_table(cfg, rc.tables[i].name)->primary_key.n > 0 ||
		       pg2md_config_table(cfg, rc.tables[i].name)->merge_key.n > 0))) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has write_disposition \"merge\" but no primary key",
				   rc.tables[i].name);
			pg2md_hint(err, "add a primary key at the source, or set primary_key under [sources.sql_database.%s]",
				   rc.tables[i].name);
			goto out;
		}
	{
		/*
		 * Split a table only as far as balance needs: tasks of at least a 1/(2 × workers) share
		 * of all the pages to read.  A whole table is read with a plain COPY, cheaper for the
		 * server than COPY (SELECT … WHERE ctid …) (measured: docs/internals/performance.md).
		 */
		int64_t total = 0, per_task = PAGES_PER_TASK_DEFAULT;
		int readers = effective_workers(cfg, INT32_MAX);
		for (int i = 0; i < rc.ntables; i++)
			total += rc.tables[i].pages;
		if (getenv("PG2MD_PAGES_PER_TASK"))
			per_task = strtoll(getenv("PG2MD_PAGES_PER_TASK"), NULL, 10);
		else if (readers > 0 && total / (2 * readers) > per_task)
			per_task = total / (2 * readers);
		plan_run(&rc, per_task);
	}
	int nworkers = effective_workers(cfg, rc.ntasks);
	rc.nworkers = nworkers;
	trace->workers = nworkers;
	trace->ntasks = rc.ntasks;
	trace->direct = direct;

	if (direct) {
		/*
		 * One DuckDB thread: each worker runs its own INSERT on its own thread.  Background
		 * threads would only hand the single-threaded scan back and forth while the caller
		 * spins waiting for it (measured: half the CPU time, docs/internals/performance.md).
		 */
		if (dest_open(&dest, cfg, 1, err))
			goto out;
		trace->destination = xstrdup(dest.where);
		dest_checkpoint_on_commit(&dest);
		rc.motherduck = dest.motherduck;
		if (dest_prepare_dataset(&dest, rc.dataset, err))
			goto out;
		pg2md_buf sql = PG2MD_BUF_INIT;
		for (int i = 0; i < rc.ntables; i++) {
			pg2md_table *t = &rc.tables[i];
			char *nt = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);
			buf_reset(&sql);
			buf_puts(&sql, "DROP TABLE IF EXISTS ");
			duck_qualified(&sql, rc.dataset, nt);
			buf_puts(&sql, "; CREATE TABLE ");
			duck_qualified(&sql, rc.dataset, nt);
			buf_puts(&sql, " (");
			if (rc.tx_sql[i]) {
				for (int c = 0; c < rc.tx[i].ncols; c++) {
					if (c)
						buf_puts(&sql, ", ");
					buf_ident(&sql, rc.tx[i].cols[c].name);
					buf_printf(&sql, " %s%s", rc.tx[i].cols[c].duck_type,
						   rc.tx[i].cols[c].lineage ? " NOT NULL" : "");
				}
			}
			for (int c = 0; !rc.tx_sql[i] && c < t->ncols; c++) {
				if (c)
					buf_puts(&sql, ", ");
				buf_ident(&sql, t->cols[c].dest_name);
				buf_printf(&sql, " %s%s", t->cols[c].duck_type, t->cols[c].nullable ? "" : " NOT NULL");
			}
			buf_puts(&sql, ")");
			free(nt);
			if (duck_exec(dest.con, sql.data, "creating a destination table", err))
				break;
		}
		buf_release(&sql);
		if (pg2md_failed(err))
			goto out;
		rc.ddb = dest.db;
		regcon = dest.con;
	} else {
		duckdb_config dc;
		char tbuf[16];
		char *open_err = NULL;
		if (pkg_init_dirs(cfg, err))
			goto out;
		rc.pkg_path = pkg_dir(cfg, PKG_EXTRACTING, rc.load_id);
		if (mkdir_p(rc.pkg_path, 0700, err))
			goto out;
		duckdb_create_config(&dc);
		snprintf(tbuf, sizeof(tbuf), "%d", 1); /* as in the direct mode: workers are the threads */
		duckdb_set_config(dc, "threads", tbuf);
		duckdb_set_config(dc, "preserve_insertion_order", "false");
		duckdb_set_config(dc, "memory_limit", duck_memory_limit());
		{
			/* an in-memory DuckDB would spill into ./.tmp: keep it in the pipeline folder */
			char *tmpdir = xasprintf("%s/%s/tmp", cfg->pipelines_dir, cfg->pipeline_name);
			duckdb_set_config(dc, "temp_directory", tmpdir);
			free(tmpdir);
		}
		if (duckdb_open_ext(":memory:", &stagedb, dc, &open_err) == DuckDBError) {
			pg2md_fail(err, PG2MD_ERR_RUN, "could not start DuckDB for staging: %s", open_err ? open_err : "");
			duckdb_free(open_err);
			duckdb_destroy_config(&dc);
			goto out;
		}
		duckdb_destroy_config(&dc);
		if (duckdb_connect(stagedb, &regcon) == DuckDBError) {
			pg2md_fail(err, PG2MD_ERR_RUN, "could not connect to the staging DuckDB");
			goto out;
		}
		rc.ddb = stagedb;
	}
	if (copyscan_register(regcon, &rc.reg, err))
		goto out;

	/* The new cursor values: the snapshot fixes them, so they are known before the copy starts. */
	for (int i = 0; i < rc.ntables; i++)
		if (incr_finish(leader, cfg->schema, &rc.tables[i], rc.filters[i], &rc.incr[i], err))
			goto out;
	rc.leader = leader;
	pg2md_info("extracting %d tables in %d tasks with %d workers", rc.ntables, rc.ntasks, nworkers);
	if (run_workers(&rc, nworkers, err)) {
		for (int i = 0; i < rc.ntasks; i++)
			if (pg2md_failed(&rc.tasks[i].err)) {
				/* a value the server could not convert (SQLSTATE class 22): name the type overrides */
				if (strncmp(rc.tasks[i].sqlstate, "22", 2) == 0)
					colhints_failure_hint(cfg, rc.tasks[i].table, err);
				break;
			}
		goto out;
	}
	fault_point("extract:workers_done");
	/* Every worker has its snapshot; the leader's transaction can end. */
	pg_exec(leader, "COMMIT", err);
	trace->t_extract = now_seconds() - t0;

	fault_point("extract:before_manifest");
	man = build_manifest(&rc);
	trace_from_manifest(trace, man);
	if (direct) {
		double t1 = now_seconds();
		bool already;
		if (load_package(cfg, &dest, man, NULL, true, trace->timeline, &already, err) == PG2MD_OK)
			trace->t_load = now_seconds() - t1;
	} else {
		char *manpath = xasprintf("%s/manifest.json", rc.pkg_path);
		pg2md_code result = json_write_atomic(manpath, man, err);
		free(manpath);
		if (result == PG2MD_OK)
			fault_point("extract:before_move");
		if (result == PG2MD_OK && pkg_move(cfg, rc.load_id, PKG_EXTRACTING, PKG_EXTRACTED, err) == PG2MD_OK) {
			fault_point("extract:after_move");
			if ((stages & STAGE_NORMALIZE) && normalize_package(cfg, rc.load_id, trace, err) == PG2MD_OK &&
			    (stages & STAGE_LOAD))
				finish_package(cfg, rc.load_id, trace, err);
		}
	}

out:
	if (pg2md_failed(err) && direct && dest.con) {
		/* The half-filled work tables of a failed direct run go now, not at the next run. */
		pg2md_error ignore;
		pg2md_buf sql = PG2MD_BUF_INIT;
		pg2md_error_init(&ignore);
		for (int i = 0; i < rc.ntables; i++) {
			char *nt = xasprintf(NEW_TABLE_PREFIX "%s", rc.tables[i].dest_name);
			buf_reset(&sql);
			buf_puts(&sql, "DROP TABLE IF EXISTS ");
			duck_qualified(&sql, rc.dataset, nt);
			duck_exec(dest.con, sql.data, "dropping a work table", &ignore);
			free(nt);
		}
		buf_release(&sql);
	}
	if (pg2md_failed(err) && rc.pkg_path && !direct) {
		/* A half-extracted package is never loaded: discard it now rather than at the next run. */
		pkg_remove_tree(rc.pkg_path);
	}
	json_decref(man);
	if (regcon && !direct)
		duckdb_disconnect(&regcon);
	if (stagedb)
		duckdb_close(&stagedb);
	if (direct)
		dest_close(&dest);
	if (leader)
		PQfinish(leader);
	plan_free(rc.tasks, rc.ntasks);
	for (int i = 0; rc.filters && i < rc.ntables; i++) {
		free(rc.filters[i]);
		incr_release(&rc.incr[i]);
	}
	free(rc.filters);
	free(rc.incr);
	free(rc.work_rows);
	free(rc.win_bytes);
	free(rc.win_rows);
	free(rc.announced);
	free(rc.need);
	for (int i = 0; rc.tx && i < rc.ntables; i++)
		transform_out_release(&rc.tx[i]);
	free(rc.tx);
	free(rc.tx_sql);
	free(rc.tx_later);
	json_decref(rc.state);
	catalog_free(rc.tables, rc.ntables);
	free(rc.snapshot);
	free(rc.load_id);
	free(rc.pkg_path);
	return err->code;
}

pg2md_code
pipeline_run(const pg2md_config *cfg, int stages, pg2md_trace *trace, pg2md_error *err)
{
	double t0 = now_seconds();
	char *id;
	int lock = -1;

	memset(trace, 0, sizeof(*trace));
	trace->dataset = xstrdup(cfg->dataset_name);
	trace->timeline = trace_timeline_new(t0);
	/* Everything a run creates (DuckDB file, packages, state, trace) is the user's alone:
	 * the data is as private as the database it came from. */
	umask(077);
	lock = pipeline_lock(cfg, err);
	if (lock < 0)
		goto out;
	if (pkg_init_dirs(cfg, err))
		goto out;

	/* A package that a crash left half-extracted is discarded. */
	while ((id = pkg_find(cfg, PKG_EXTRACTING)) != NULL) {
		char *p = pkg_dir(cfg, PKG_EXTRACTING, id);
		pg2md_warn("discarding package %s that an earlier run did not finish extracting", id);
		pkg_remove_tree(p);
		free(p);
		free(id);
	}
	/* A local DuckDB file that cannot be written fails now, before anything is read. */
	if (((stages & STAGE_LOAD) || ((stages & STAGE_EXTRACT) && cfg->direct)) && dest_check_writable(cfg, err))
		goto out;
	/* A package already extracted or normalized is finished first, and the run stops there. */
	if (stages == STAGE_ALL) {
		if ((id = pkg_find(cfg, PKG_NORMALIZED)) != NULL || (id = pkg_find(cfg, PKG_EXTRACTED)) != NULL) {
			char *np = pkg_dir(cfg, PKG_NORMALIZED, id);
			bool normalized = access(np, F_OK) == 0;
			free(np);
			trace->finished_pending = true;
			trace->pending_state = xstrdup(normalized ? "normalized" : "extracted");
			trace->load_id = xstrdup(id);
			if (!normalized)
				normalize_package(cfg, id, trace, err);
			if (!pg2md_failed(err))
				finish_package(cfg, id, trace, err);
			free(id);
			goto out;
		}
	} else if (stages == STAGE_NORMALIZE) {
		/* normalize takes the oldest extracted package */
		if ((id = pkg_find(cfg, PKG_EXTRACTED)) == NULL) {
			trace->note = xstrdup("nothing to normalize: no extracted load package is pending");
			goto out;
		}
		trace->load_id = xstrdup(id);
		normalize_package(cfg, id, trace, err);
		free(id);
		goto out;
	} else if (stages == STAGE_LOAD) {
		/* load takes the oldest normalized package */
		if ((id = pkg_find(cfg, PKG_NORMALIZED)) == NULL) {
			id = pkg_find(cfg, PKG_EXTRACTED);
			trace->note = id ? xasprintf("nothing to load: load package %s is extracted but not normalized yet; "
						     "run pg2md normalize first", id)
					 : xstrdup("nothing to load: no normalized load package is pending");
			free(id);
			goto out;
		}
		trace->load_id = xstrdup(id);
		finish_package(cfg, id, trace, err);
		free(id);
		goto out;
	}
	/* A remote destination is tried before any data moves, so a wrong token or no network
	 * costs seconds, not a whole extraction. */
	if ((stages & STAGE_LOAD) && cfg->destination && strcmp(cfg->destination, "motherduck") == 0) {
		pg2md_dest probe;
		if (dest_open(&probe, cfg, 1, err))
			goto out;
		dest_close(&probe);
	}
	if (stages & STAGE_EXTRACT)
		extract_run(cfg, cfg->direct, stages, trace, err);

out:
	pipeline_unlock(lock);
	trace->t_total = now_seconds() - t0;
	trace->peak_rss = peak_rss_bytes();
	trace->result = err->code;
	return err->code;
}

void
pipeline_trace_release(pg2md_trace *trace)
{
	for (int i = 0; i < trace->ntables; i++) {
		free(trace->tables[i].name);
		free(trace->tables[i].dest_name);
		free(trace->tables[i].disposition);
	}
	free(trace->tables);
	free(trace->load_id);
	free(trace->pending_state);
	free(trace->note);
	free(trace->destination);
	free(trace->dataset);
	free(trace->found_in);
	trace_timeline_free(trace->timeline);
	memset(trace, 0, sizeof(*trace));
}

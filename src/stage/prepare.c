/*
 * prepare.c — what an extraction settles before any data moves.
 *
 * The leader connection opens a repeatable-read transaction, exports its snapshot, reflects
 * the tables inside it and locks them as pg_dump does.  Then per table: the state to continue
 * from (incremental cursors, including those of packages not loaded yet), the row filter, the
 * transform bound against the reflected columns, and the checks that would otherwise fail a
 * run halfway (merge without a key, a merge_key or cursor the transform leaves out).  Last, the
 * planner cuts the tables into tasks.
 */
#include "stage/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

#include "schema/naming.h"
#include "source/pgconn.h"
#include "stage/package.h"
#include "stage/plan.h"
#include "stage/state.h"
#include "util/fault.h"
#include "util/log.h"

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
static pg2md_code
state_apply_pending(const pg2md_config *cfg, json_t *state, pg2md_error *err)
{
	pkg_state states[2] = {PKG_NORMALIZED, PKG_EXTRACTED};
	char **ids = NULL;
	int n = 0;
	bool oom = false;
	/* "<load id>\t<package folder>", so that they sort by load id whatever their state */
	for (int k = 0; !oom && k < 2; k++) {
		int m;
		char **in = pkg_list(cfg, states[k], &m);
		char **more = in ? xrealloc(ids, (size_t)(n + m + 1) * sizeof(char *)) : NULL;
		oom = !more;
		if (more)
			ids = more;
		for (int i = 0; !oom && i < m; i++) {
			char *dir = pkg_dir(cfg, states[k], in[i]);
			ids[n] = dir ? xasprintf("%s\t%s", in[i], dir) : NULL;
			free(dir);
			if (!(oom = !ids[n]))
				n++;
		}
		pkg_list_free(in);
	}
	if (oom) {
		for (int i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	if (n > 1)
		qsort(ids, (size_t)n, sizeof(char *), str_cmp);
	for (int i = 0; i < n; i++) {
		pg2md_error ignore;
		pg2md_manifest man;
		pg2md_error_init(&ignore);
		/* a damaged manifest adds nothing here: loading its package says what is wrong */
		if (manifest_load(strchr(ids[i], '\t') + 1, &man, &ignore) == PG2MD_OK)
			for (int k = 0; k < man.ntables; k++) {
				const manifest_incremental *inc = &man.tables[k].incremental;
				if (inc->present && inc->last_value &&
				    !state_set_last_value(state, man.tables[k].name, inc->cursor_path,
							  inc->initial_value, inc->last_value))
					pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			}
		else if (ignore.code == PG2MD_ERR_NOMEM)
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory"); /* not a damaged manifest */
		manifest_free(&man);
		free(ids[i]);
	}
	free(ids);
	return err->code;
}

static pg2md_code
plan_run(run_ctx *rc, int64_t pages_per_task, pg2md_error *err)
{
	int n = plan_tasks(rc->tables, rc->ntables, (const char *const *)rc->filters, pages_per_task, &rc->tasks);
	if (n < 0)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	rc->ntasks = n;
	/* the scans' registry: job i is task i's scan (pg2md_scan(i)) */
	if (!(rc->reg.jobs = xcalloc((size_t)rc->ntasks + 1, sizeof(copyscan_job *))))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	for (int i = 0; i < rc->ntasks; i++)
		rc->reg.jobs[i] = &rc->tasks[i].scan;
	rc->reg.njobs = rc->ntasks;
	rc->reg.staged = !rc->direct;
	return PG2MD_OK;
}

/* scd2's validity column k of table, under the naming convention (a new string). */
static char *
merge_validity_column(const pg2md_config *cfg, const char *table, int k)
{
	return naming_normalize(cfg->naming, pg2md_config_validity_column(cfg, table, k));
}

/* Whether column name reaches the destination (a source column, or a transform's output). */
static bool
loaded_column(const pg2md_table *t, const transform_out *out, const char *name)
{
	if (out && out->ncols > 0) {
		for (int c = 0; c < out->ncols; c++)
			if (strcmp(out->cols[c].name, name) == 0)
				return true;
		return false;
	}
	int c = schema_find_column(t, name);
	return c >= 0 && !schema_column_synthetic(&t->cols[c]);
}

/*
 * A merge table's keys against its columns: each merge_key column, and scd2's
 * row_version_column_name, must reach the destination; scd2's validity columns must not be
 * columns of the table.  (The options themselves were checked with the configuration,
 * config_merge.c.)
 */
static pg2md_code
merge_key_check(const pg2md_config *cfg, const pg2md_table *t, const transform_out *out, pg2md_error *err)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);

	if (!tc)
		return PG2MD_OK;
	if (tc->merge_key.n > 0 && pg2md_config_disposition(cfg, t->name) != PG2MD_DISP_MERGE) {
		pg2md_warn("table \"%s\": merge_key applies to write_disposition \"merge\" only; ignored", t->name);
		return PG2MD_OK;
	}
	for (int k = 0; k < tc->merge_key.n; k++) {
		if (!loaded_column(t, out, tc->merge_key.items[k])) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "merge_key column \"%s\" of table \"%s\" does not exist",
				   tc->merge_key.items[k], t->name);
			pg2md_hint(err, "merge_key names columns of the table as it is loaded (after included_columns, "
					"excluded_columns and a transform)");
			return err->code;
		}
	}
	if (!pg2md_config_scd2(cfg, t->name))
		return PG2MD_OK;
	if (tc->row_version_column_name && !loaded_column(t, out, tc->row_version_column_name)) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "row_version_column_name \"%s\" of table \"%s\" does not exist",
			   tc->row_version_column_name, t->name);
		pg2md_hint(err, "name a column of the table as it is loaded, one that changes whenever its row does "
				"(an updated_at, a version counter), or remove the key to hash each row");
		return err->code;
	}
	for (int k = 0; k < 2; k++) {
		char *vn = merge_validity_column(cfg, t->name, k);
		bool clash = false;
		if (!vn)
			return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		if (out && out->ncols > 0) {
			for (int c = 0; c < out->ncols && !clash; c++)
				clash = !out->cols[c].lineage && strcmp(out->cols[c].name, vn) == 0;
		} else {
			for (int c = 0; c < t->ncols && !clash; c++)
				clash = !t->cols[c].lineage && strcmp(t->cols[c].dest_name, vn) == 0;
		}
		if (clash) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has a column \"%s\", which scd2 needs for the "
						       "validity of each row version", t->name, vn);
			pg2md_hint(err, "name the validity columns otherwise: write_disposition.validity_column_names = "
					"[\"valid_from\", \"valid_to\"]");
			free(vn);
			return err->code;
		}
		free(vn);
	}
	return PG2MD_OK;
}

/*
 * append + incremental with a closed range start reads the rows at the last value again and
 * drops those already loaded by matching the cursor column in the destination
 * (append_boundary_filter).  A transform that leaves the cursor out of its output would make
 * every run append those rows once more: refused before any data moves.
 */
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

pg2md_code
prepare_snapshot(run_ctx *rc, pg2md_trace *trace, pg2md_error *err)
{
	const pg2md_config *cfg = rc->cfg;

	rc->leader = pg_connect(cfg, err);
	if (!rc->leader)
		return err->code;
	/* pg2md follow: the replication slot's exported snapshot, so the stream starts where the copy ends */
	if (cfg->import_snapshot) {
		if (pg_snapshot_import(rc->leader, cfg->import_snapshot, err))
			return err->code;
		if (!(rc->snapshot = xstrdup(cfg->import_snapshot)))
			return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	} else if (pg_snapshot_export(rc->leader, &rc->snapshot, err)) {
		return err->code;
	}
	if (!rc->snapshot) /* the workers import it */
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	if (catalog_reflect(rc->leader, cfg, &rc->tables, &rc->ntables, err))
		return err->code;
	if (cfg->tables.n == 0 && cfg->schema && !(trace->found_in = xstrdup(cfg->schema)))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	/*
	 * ACCESS SHARE locks for the whole extraction, as pg_dump takes them: a TRUNCATE or
	 * ALTER TABLE (not MVCC-safe) waits for the run instead of emptying its snapshot.
	 */
	{
		pg2md_buf lk = PG2MD_BUF_INIT;
		int nlocked = 0;
		buf_puts(&lk, "LOCK TABLE ");
		for (int i = 0; i < rc->ntables; i++) {
			if (rc->tables[i].relkind == 'q')
				continue; /* a query's tables are read in the snapshot, not locked (docs/transformations.md) */
			if (nlocked++)
				buf_puts(&lk, ", ");
			buf_ident(&lk, cfg->schema);
			buf_putc(&lk, '.');
			buf_ident(&lk, rc->tables[i].name);
		}
		buf_puts(&lk, " IN ACCESS SHARE MODE");
		pg2md_code result = nlocked ? pg_exec(rc->leader, lk.data, err) : PG2MD_OK;
		buf_release(&lk);
		if (result)
			return err->code;
	}
	fault_point("extract:after_snapshot");
	return PG2MD_OK;
}

/* The state to continue from: the local file, or the destination's copy when it is newer. */
static pg2md_code
prepare_state(run_ctx *rc, pg2md_error *err)
{
	rc->state = state_load_local(rc->cfg, err);
	if (!rc->state)
		return err->code;
	json_t *remote = state_load_destination(rc->cfg, err);
	if (pg2md_failed(err))
		return err->code;
	if (remote && json_integer_value(json_object_get(remote, "_state_version")) >
			      json_integer_value(json_object_get(rc->state, "_state_version"))) {
		pg2md_info("restoring the pipeline state from the destination (version %lld)",
			   (long long)json_integer_value(json_object_get(remote, "_state_version")));
		json_decref(rc->state);
		rc->state = remote;
	} else if (remote) {
		json_decref(remote);
	}
	return state_apply_pending(rc->cfg, rc->state, err);
}

/*
 * Table i: its row filter (where + incremental), the numerics measured over the rows it reads,
 * its merge strategy checked, the cursor's row order, and its transform bound.
 */
static pg2md_code
prepare_table(run_ctx *rc, int i, pg2md_error *err)
{
	const pg2md_config *cfg = rc->cfg;
	pg2md_buf f = PG2MD_BUF_INIT;
	const pg2md_table_config *tc = pg2md_config_table(cfg, rc->tables[i].name);

	if (tc && tc->where)
		buf_printf(&f, "(%s)", tc->where);
	if (incr_plan_table(cfg, rc->state, &rc->tables[i], &rc->incr[i], &f, err) ||
	    incr_check_missing(rc->leader, cfg->schema, &rc->tables[i], f.data, &rc->incr[i], err)) {
		buf_release(&f);
		return err->code;
	}
	if (!(rc->filters[i] = buf_detach(&f)))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	/* plain numerics: a DECIMAL measured over the rows this run reads, in its snapshot */
	if (catalog_measure_numerics(rc->leader, cfg->schema, &rc->tables[i], rc->filters[i], err))
		return err->code;
	if (rc->tables[i].relkind == 'q' && rc->incr[i].active && tc->row_order) {
		/* one task: the rows can come in the cursor's order, as dlt's row_order asks */
		pg2md_buf ob = PG2MD_BUF_INIT;
		buf_puts(&ob, "ORDER BY ");
		buf_ident(&ob, rc->tables[i].cols[rc->incr[i].col].name);
		buf_puts(&ob, strcmp(tc->row_order, "desc") == 0 ? " DESC" : " ASC");
		if (!(rc->tables[i].order_by = buf_detach(&ob)))
			return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	if (tc && tc->transform) {
		bool later;
		if (transform_stage_parse(tc, rc->direct, &later, err))
			return err->code;
		/* bound now, against the reflected columns: a broken transform stops the run before any data moves */
		if (transform_bind(&rc->tables[i], tc->transform, &rc->tx[i], err))
			return err->code;
		if (later)
			rc->tx_later[i] = tc->transform;
		else
			rc->tx_sql[i] = tc->transform;
		if (boundary_cursor_check(cfg, &rc->tables[i], &rc->incr[i], &rc->tx[i], err))
			return err->code;
	}
	return PG2MD_OK;
}

pg2md_code
prepare_tables(run_ctx *rc, pg2md_error *err)
{
	const pg2md_config *cfg = rc->cfg;

	if (prepare_state(rc, err))
		return err->code;
	rc->filters = xcalloc((size_t)rc->ntables + 1, sizeof(char *));
	rc->tx = xcalloc((size_t)rc->ntables + 1, sizeof(transform_out));
	rc->tx_sql = xcalloc((size_t)rc->ntables + 1, sizeof(char *));
	rc->tx_later = xcalloc((size_t)rc->ntables + 1, sizeof(char *));
	rc->incr = xcalloc((size_t)rc->ntables + 1, sizeof(incr_plan));
	rc->work_rows = xcalloc((size_t)rc->ntables + 1, sizeof(int64_t));
	rc->win_bytes = xcalloc((size_t)rc->ntables + 1, sizeof(int64_t));
	rc->win_rows = xcalloc((size_t)rc->ntables + 1, sizeof(int64_t));
	rc->announced = xcalloc((size_t)rc->ntables + 1, sizeof(bool));
	rc->need = xcalloc((size_t)rc->ntables + 1, sizeof(int64_t));
	if (!rc->filters || !rc->tx || !rc->tx_sql || !rc->tx_later || !rc->incr || !rc->work_rows || !rc->win_bytes ||
	    !rc->win_rows || !rc->announced || !rc->need)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory"); /* run_release frees the others */
	rc->budget = duck_parse_bytes(duck_memory_limit());
	for (int i = 0; i < rc->ntables; i++)
		if (prepare_table(rc, i, err))
			return err->code;
	for (int i = 0; i < rc->ntables; i++)
		if (merge_key_check(cfg, &rc->tables[i], &rc->tx[i], err))
			return err->code;
	for (int i = 0; i < rc->ntables; i++)
		if (pg2md_config_disposition(cfg, rc->tables[i].name) == PG2MD_DISP_MERGE && rc->tables[i].npk == 0 &&
		    !pg2md_config_scd2(cfg, rc->tables[i].name) && !(pg2md_config_table(cfg, rc->tables[i].name) &&
		      (pg2md_config_table(cfg, rc->tables[i].name)->primary_key.n > 0 ||
		       pg2md_config_table(cfg, rc->tables[i].name)->merge_key.n > 0))) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has write_disposition \"merge\" but no primary key",
				   rc->tables[i].name);
			pg2md_hint(err, "add a primary key at the source, or set primary_key under [sources.sql_database.%s]",
				   rc->tables[i].name);
			return err->code;
		}
	return PG2MD_OK;
}

pg2md_code
prepare_plan(run_ctx *rc, pg2md_error *err)
{
	/*
	 * Split a table only as far as balance needs: tasks of at least a 1/(2 × workers) share
	 * of all the pages to read.  A whole table is read with a plain COPY, cheaper for the
	 * server than COPY (SELECT … WHERE ctid …) (measured: docs/internals/performance.md).
	 */
	int64_t total = 0, per_task = PAGES_PER_TASK_DEFAULT;
	int readers = effective_workers(rc->cfg, INT32_MAX);
	for (int i = 0; i < rc->ntables; i++)
		total += rc->tables[i].pages;
	if (getenv("PG2MD_PAGES_PER_TASK"))
		per_task = strtoll(getenv("PG2MD_PAGES_PER_TASK"), NULL, 10);
	else if (rc->direct && rc->one_writer)
		/*
		 * Parallel readers, one writer (handoff.c): a task is one transaction of the writer,
		 * and a reader reads ahead about one task in its share of memory; tasks grown with the
		 * table would be read mostly at the writer's pace.  Not smaller: each commit writes
		 * the table's last row group out again (measured, 1M rows, 2 workers: 1,024-page
		 * tasks took 1.5-2x as long as 4,096-page ones, most of it in the kernel).
		 */
		per_task = PAGES_PER_TASK_DEFAULT;
	else if (readers > 0 && total / (2 * readers) > per_task)
		per_task = total / (2 * readers);
	return plan_run(rc, per_task, err);
}

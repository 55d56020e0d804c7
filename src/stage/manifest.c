/*
 * manifest.c — a load package's manifest.json: what the package holds and how to load it.
 *
 * One entry per table: its destination name, write disposition and keys, its columns with
 * their DuckDB types, the Parquet files and their rows, the incremental cursor, and the
 * extraction's figures (rows, bytes, the largest 2048-row window, tasks, retries, seconds).
 * Normalize and load read nothing else, so a package can be loaded by a later run.  The
 * struct and the file's format are schema/manifest.h's; this file fills it from a run.
 */
#include "stage/pipeline_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schema/naming.h"

/*
 * Memory running out while the manifest is built: each copy below that can fail goes through
 * ok(), which remembers it; build_manifest then fails with PG2MD_ERR_NOMEM and manifest_free
 * releases what was copied (every field starts NULL).
 */
static void *
ok(bool *oom, void *p)
{
	if (!p)
		*oom = true;
	return p;
}

/*
 * The destination name of a column a table key names (primary_key, hard_delete, dedup_sort):
 * the source column's, also when it was renamed; else (a column a transform makes) the name
 * under the naming convention.
 */
static char *
config_column_dest(bool *oom, const pg2md_config *cfg, const pg2md_table *t, const char *name)
{
	int i = schema_find_column(t, name);
	return ok(oom, i >= 0 ? xstrdup(t->cols[i].dest_name) : naming_normalize(cfg->naming, name));
}

/* Table ti's columns as the manifest lists them: the transform's output, or the source's. */
static void
manifest_columns(bool *oom, run_ctx *rc, int ti, manifest_table *mt)
{
	pg2md_table *t = &rc->tables[ti];
	const transform_out *out = rc->tx_sql && rc->tx_sql[ti] ? &rc->tx[ti] : NULL;

	if (out) {
		if (!ok(oom, mt->cols = xcalloc((size_t)out->ncols + 1, sizeof(manifest_column))))
			return;
		for (int c = 0; c < out->ncols; c++)
			if (!transform_column_manifest(&out->cols[c], &mt->cols[mt->ncols++]))
				*oom = true;
		return;
	}
	if (!ok(oom, mt->cols = xcalloc((size_t)t->ncols + 1, sizeof(manifest_column))))
		return;
	for (int c = 0; c < t->ncols; c++) {
		const pg2md_column *col = &t->cols[c];
		manifest_column *mc = &mt->cols[mt->ncols++];
		mc->name = ok(oom, xstrdup(col->name));
		mc->dest_name = ok(oom, xstrdup(col->dest_name));
		mc->pg_type = ok(oom, xstrdup(col->pg_type));
		mc->duck_type = ok(oom, xstrdup(col->duck_type));
		mc->nullable = col->nullable;
		if (!rc->direct && col->dec == DEC_INTERVAL)
			mc->staged_as = ok(oom, xstrdup("interval_struct"));
		mc->measured = col->measured;
		if (col->dec == DEC_BPCHAR || schema_type_has(col->type, DEC_BPCHAR))
			mc->char_padding = ok(oom, xstrdup("trim"));
		if (col->lineage)
			mc->lineage = ok(oom, xstrdup(col->load_id ? "load_id" : "dlt_id"));
	}
}

/*
 * scd2's settings as the load applies them: the validity columns and the hash column under the
 * naming convention, valid-to of active rows (null: NULL), the boundary (boundary_timestamp, else
 * the load id's time: the package's creation, as dlt takes it; kept in the manifest so a load
 * retried after a crash retires and opens versions at the same instant), and the user's row
 * version column if one is named.
 */
static manifest_scd2 *
manifest_scd2_of(bool *oom, run_ctx *rc, const pg2md_table *t, const pg2md_table_config *tc)
{
	manifest_scd2 *o = ok(oom, xcalloc(1, sizeof(manifest_scd2)));
	char boundary[64];

	if (!o)
		return NULL;
	if (tc->boundary_timestamp) {
		snprintf(boundary, sizeof(boundary), "%s", tc->boundary_timestamp);
	} else {
		long long sec = strtoll(rc->load_id, NULL, 10);
		const char *dot = strchr(rc->load_id, '.');
		long usec = dot ? strtol(dot + 1, NULL, 10) : 0;
		time_t tt = (time_t)sec;
		struct tm tm;
		gmtime_r(&tt, &tm);
		snprintf(boundary, sizeof(boundary), "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00:00", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	}
	o->valid_from = ok(oom, naming_normalize(rc->cfg->naming, pg2md_config_validity_column(rc->cfg, t->name, 0)));
	o->valid_to = ok(oom, naming_normalize(rc->cfg->naming, pg2md_config_validity_column(rc->cfg, t->name, 1)));
	o->hash_column = ok(oom, naming_normalize(rc->cfg->naming, "_dlt_id"));
	o->active = tc->active_record_timestamp ? ok(oom, xstrdup(tc->active_record_timestamp)) : NULL;
	o->boundary = ok(oom, xstrdup(boundary));
	if (tc->row_version_column_name)
		o->row_version = config_column_dest(oom, rc->cfg, t, tc->row_version_column_name);
	return o;
}

/* The destination names of the configured key columns keys (n of them), a new array. */
static char **
config_keys_dest(bool *oom, const pg2md_config *cfg, const pg2md_table *t, char **keys, int n)
{
	char **out = ok(oom, xcalloc((size_t)n + 1, sizeof(char *)));
	for (int k = 0; out && k < n; k++)
		out[k] = config_column_dest(oom, cfg, t, keys[k]);
	return out;
}

/* Table ti's keys and settings: how the load writes it. */
static void
manifest_settings(bool *oom, run_ctx *rc, int ti, manifest_table *mt)
{
	pg2md_table *t = &rc->tables[ti];
	const pg2md_table_config *tc = pg2md_config_table(rc->cfg, t->name);

	/* the key is the table's own primary key, and the rows are the table's as read from one
	 * snapshot: no two share it, merge need not keep one per key */
	mt->key_unique = !(tc && tc->primary_key.n > 0) && t->npk > 0 && t->relkind != 'q' &&
			 !(rc->tx_sql && rc->tx_sql[ti]) && !(rc->tx_later && rc->tx_later[ti]);
	mt->name = ok(oom, xstrdup(t->name));
	mt->dest_name = ok(oom, xstrdup(t->dest_name));
	mt->disposition = ok(oom, xstrdup(pg2md_disposition_name(pg2md_config_disposition(rc->cfg, t->name))));
	if (tc && tc->primary_key.n > 0) {
		mt->primary_key = config_keys_dest(oom, rc->cfg, t, tc->primary_key.items, tc->primary_key.n);
		mt->npk = mt->primary_key ? tc->primary_key.n : 0;
	} else if (ok(oom, mt->primary_key = xcalloc((size_t)t->npk + 1, sizeof(char *)))) {
		for (int k = 0; k < t->npk; k++)
			mt->primary_key[mt->npk++] = ok(oom, xstrdup(t->cols[t->pk[k]].dest_name));
	}
	if (tc && tc->merge_key.n > 0) {
		mt->has_merge_key = true;
		mt->merge_key = config_keys_dest(oom, rc->cfg, t, tc->merge_key.items, tc->merge_key.n);
		mt->nmerge_key = mt->merge_key ? tc->merge_key.n : 0;
	}
	if (tc && tc->hard_delete)
		mt->hard_delete = config_column_dest(oom, rc->cfg, t, tc->hard_delete);
	if (tc && tc->merge_strategy)
		mt->merge_strategy = ok(oom, xstrdup(tc->merge_strategy));
	if (tc && tc->dedup_sort) {
		mt->dedup_sort = config_column_dest(oom, rc->cfg, t, tc->dedup_sort);
		mt->dedup_sort_order = ok(oom, xstrdup(tc->dedup_sort_order ? tc->dedup_sort_order : "desc"));
	}
	if (pg2md_config_scd2(rc->cfg, t->name))
		mt->scd2 = manifest_scd2_of(oom, rc, t, tc);
	manifest_columns(oom, rc, ti, mt);
	if (rc->tx_later && rc->tx_later[ti]) {
		/* staged as extracted; normalize applies the transform and takes these columns */
		mt->transform = ok(oom, xstrdup(rc->tx_later[ti]));
		if (!ok(oom, mt->transform_cols = xcalloc((size_t)rc->tx[ti].ncols + 1, sizeof(manifest_column))))
			return;
		for (int c = 0; c < rc->tx[ti].ncols; c++)
			if (!transform_column_manifest(&rc->tx[ti].cols[c], &mt->transform_cols[mt->ntransform_cols++]))
				*oom = true;
	}
}

/* Table ti's files and the extraction's figures, summed over its tasks. */
static void
manifest_figures(bool *oom, run_ctx *rc, int ti, manifest_table *mt)
{
	pg2md_table *t = &rc->tables[ti];
	double first = 0, last = 0;
	int nfiles = 0;

	for (int i = 0; i < rc->ntasks; i++)
		if (rc->tasks[i].table == t)
			nfiles += rc->tasks[i].nparts > 0 ? rc->tasks[i].nparts : 1;
	mt->files = ok(oom, xcalloc((size_t)nfiles + 1, sizeof(char *)));
	mt->file_rows = ok(oom, xcalloc((size_t)nfiles + 1, sizeof(int64_t)));
	if (!mt->files || !mt->file_rows)
		return;
	mt->has_window = true;
	for (int i = 0; i < rc->ntasks; i++) {
		pg2md_task *task = &rc->tasks[i];
		if (task->table != t)
			continue;
		mt->rows += task->scan.rows;
		mt->bytes += task->scan.bytes;
		mt->file_bytes += task->file_bytes;
		mt->lossy += task->scan.lossy;
		/* the most COPY bytes in 2048 consecutive rows of one task, and their rows */
		if (task->scan.window_bytes > mt->window_bytes) {
			mt->window_bytes = task->scan.window_bytes;
			mt->window_rows = task->scan.window_rows;
		}
		if (mt->tasks == 0 || task->started < first)
			first = task->started;
		if (task->started + task->seconds > last)
			last = task->started + task->seconds;
		mt->tasks++;
		mt->retries += task->scan.retries;
		if (!rc->direct && task->nparts == 0) {
			mt->files[mt->nfiles] = ok(oom, xstrdup(task->file));
			mt->file_rows[mt->nfiles++] = task->scan.rows;
		}
		for (int p = 0; !rc->direct && p < task->nparts; p++) {
			mt->files[mt->nfiles] = ok(oom, xstrdup(task->parts[p]));
			mt->file_rows[mt->nfiles++] = task->part_rows[p];
		}
	}
	if (!incr_to_manifest(t, &rc->incr[ti], &mt->incremental))
		*oom = true;
	mt->seconds = mt->tasks ? last - first : 0.0;
}

bool
build_manifest_table(run_ctx *rc, int ti, manifest_table *mt)
{
	bool oom = false;

	manifest_settings(&oom, rc, ti, mt);
	manifest_figures(&oom, rc, ti, mt);
	return !oom;
}

pg2md_code
build_manifest(run_ctx *rc, pg2md_manifest *m, pg2md_error *err)
{
	bool oom = false;

	memset(m, 0, sizeof(*m));
	m->load_id = ok(&oom, xstrdup(rc->load_id));
	m->pipeline_name = ok(&oom, xstrdup(rc->cfg->pipeline_name));
	m->dataset_name = ok(&oom, xstrdup(rc->dataset));
	m->mode = ok(&oom, xstrdup(rc->direct ? "direct" : "staged"));
	m->source_schema = ok(&oom, xstrdup(rc->cfg->schema));
	m->tables = ok(&oom, xcalloc((size_t)rc->ntables + 1, sizeof(manifest_table)));
	for (int ti = 0; !oom && ti < rc->ntables; ti++) {
		m->ntables++; /* counted first: manifest_free releases a table filled in part */
		manifest_settings(&oom, rc, ti, &m->tables[ti]);
		manifest_figures(&oom, rc, ti, &m->tables[ti]);
	}
	return oom ? pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory") : PG2MD_OK;
}

/* The trace's table figures; false: memory ran out (trace_free releases what was copied). */
bool
trace_from_manifest(pg2md_trace *trace, const pg2md_manifest *man)
{
	bool oom = false;

	trace->tables = ok(&oom, xcalloc((size_t)man->ntables + 1, sizeof(pg2md_table_stat)));
	trace->ntables = trace->tables ? man->ntables : 0;
	for (int i = 0; i < trace->ntables; i++) {
		const manifest_table *t = &man->tables[i];
		pg2md_table_stat *s = &trace->tables[i];
		s->name = ok(&oom, xstrdup(t->name));
		s->dest_name = ok(&oom, xstrdup(t->dest_name));
		s->disposition = ok(&oom, xstrdup(t->disposition));
		s->rows = t->rows;
		s->bytes = t->bytes;
		s->file_bytes = t->file_bytes;
		s->lossy = t->lossy;
		s->tasks = t->tasks;
		s->retries = t->retries;
		s->files = t->nfiles;
		s->seconds = t->seconds;
	}
	if (!trace->load_id)
		trace->load_id = ok(&oom, xstrdup(man->load_id));
	return !oom;
}

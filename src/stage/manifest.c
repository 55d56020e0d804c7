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
 * The destination name of a column a table key names (primary_key, hard_delete, dedup_sort):
 * the source column's, also when it was renamed; else (a column a transform makes) the name
 * under the naming convention.
 */
static char *
config_column_dest(const pg2md_config *cfg, const pg2md_table *t, const char *name)
{
	int i = schema_find_column(t, name);
	return i >= 0 ? xstrdup(t->cols[i].dest_name) : naming_normalize(cfg->naming, name);
}

/* Table ti's columns as the manifest lists them: the transform's output, or the source's. */
static void
manifest_columns(run_ctx *rc, int ti, manifest_table *mt)
{
	pg2md_table *t = &rc->tables[ti];
	const transform_out *out = rc->tx_sql && rc->tx_sql[ti] ? &rc->tx[ti] : NULL;

	if (out) {
		mt->cols = xcalloc((size_t)out->ncols + 1, sizeof(manifest_column));
		for (int c = 0; c < out->ncols; c++)
			transform_column_manifest(&out->cols[c], &mt->cols[mt->ncols++]);
		return;
	}
	mt->cols = xcalloc((size_t)t->ncols + 1, sizeof(manifest_column));
	for (int c = 0; c < t->ncols; c++) {
		const pg2md_column *col = &t->cols[c];
		manifest_column *mc = &mt->cols[mt->ncols++];
		mc->name = xstrdup(col->name);
		mc->dest_name = xstrdup(col->dest_name);
		mc->pg_type = xstrdup(col->pg_type);
		mc->duck_type = xstrdup(col->duck_type);
		mc->nullable = col->nullable;
		if (!rc->direct && col->dec == DEC_INTERVAL)
			mc->staged_as = xstrdup("interval_struct");
		mc->measured = col->measured;
		if (col->dec == DEC_BPCHAR || schema_type_has(col->type, DEC_BPCHAR))
			mc->char_padding = xstrdup("trim");
		if (col->lineage)
			mc->lineage = xstrdup(col->load_id ? "load_id" : "dlt_id");
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
manifest_scd2_of(run_ctx *rc, const pg2md_table *t, const pg2md_table_config *tc)
{
	manifest_scd2 *o = xcalloc(1, sizeof(manifest_scd2));
	char boundary[64];

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
	o->valid_from = naming_normalize(rc->cfg->naming, pg2md_config_validity_column(rc->cfg, t->name, 0));
	o->valid_to = naming_normalize(rc->cfg->naming, pg2md_config_validity_column(rc->cfg, t->name, 1));
	o->hash_column = naming_normalize(rc->cfg->naming, "_dlt_id");
	o->active = tc->active_record_timestamp ? xstrdup(tc->active_record_timestamp) : NULL;
	o->boundary = xstrdup(boundary);
	if (tc->row_version_column_name)
		o->row_version = config_column_dest(rc->cfg, t, tc->row_version_column_name);
	return o;
}

/* The destination names of the configured key columns keys (n of them), a new array. */
static char **
config_keys_dest(const pg2md_config *cfg, const pg2md_table *t, char **keys, int n)
{
	char **out = xcalloc((size_t)n + 1, sizeof(char *));
	for (int k = 0; k < n; k++)
		out[k] = config_column_dest(cfg, t, keys[k]);
	return out;
}

/* Table ti's keys and settings: how the load writes it. */
static void
manifest_settings(run_ctx *rc, int ti, manifest_table *mt)
{
	pg2md_table *t = &rc->tables[ti];
	const pg2md_table_config *tc = pg2md_config_table(rc->cfg, t->name);

	/* the key is the table's own primary key, and the rows are the table's as read from one
	 * snapshot: no two share it, merge need not keep one per key */
	mt->key_unique = !(tc && tc->primary_key.n > 0) && t->npk > 0 && t->relkind != 'q' &&
			 !(rc->tx_sql && rc->tx_sql[ti]) && !(rc->tx_later && rc->tx_later[ti]);
	mt->name = xstrdup(t->name);
	mt->dest_name = xstrdup(t->dest_name);
	mt->disposition = xstrdup(pg2md_disposition_name(pg2md_config_disposition(rc->cfg, t->name)));
	if (tc && tc->primary_key.n > 0) {
		mt->primary_key = config_keys_dest(rc->cfg, t, tc->primary_key.items, tc->primary_key.n);
		mt->npk = tc->primary_key.n;
	} else {
		mt->primary_key = xcalloc((size_t)t->npk + 1, sizeof(char *));
		for (int k = 0; k < t->npk; k++)
			mt->primary_key[mt->npk++] = xstrdup(t->cols[t->pk[k]].dest_name);
	}
	if (tc && tc->merge_key.n > 0) {
		mt->has_merge_key = true;
		mt->merge_key = config_keys_dest(rc->cfg, t, tc->merge_key.items, tc->merge_key.n);
		mt->nmerge_key = tc->merge_key.n;
	}
	if (tc && tc->hard_delete)
		mt->hard_delete = config_column_dest(rc->cfg, t, tc->hard_delete);
	if (tc && tc->merge_strategy)
		mt->merge_strategy = xstrdup(tc->merge_strategy);
	if (tc && tc->dedup_sort) {
		mt->dedup_sort = config_column_dest(rc->cfg, t, tc->dedup_sort);
		mt->dedup_sort_order = xstrdup(tc->dedup_sort_order ? tc->dedup_sort_order : "desc");
	}
	if (pg2md_config_scd2(rc->cfg, t->name))
		mt->scd2 = manifest_scd2_of(rc, t, tc);
	manifest_columns(rc, ti, mt);
	if (rc->tx_later && rc->tx_later[ti]) {
		/* staged as extracted; normalize applies the transform and takes these columns */
		mt->transform = xstrdup(rc->tx_later[ti]);
		mt->transform_cols = xcalloc((size_t)rc->tx[ti].ncols + 1, sizeof(manifest_column));
		for (int c = 0; c < rc->tx[ti].ncols; c++)
			transform_column_manifest(&rc->tx[ti].cols[c], &mt->transform_cols[mt->ntransform_cols++]);
	}
}

/* Table ti's files and the extraction's figures, summed over its tasks. */
static void
manifest_figures(run_ctx *rc, int ti, manifest_table *mt)
{
	pg2md_table *t = &rc->tables[ti];
	double first = 0, last = 0;
	int nfiles = 0;

	for (int i = 0; i < rc->ntasks; i++)
		if (rc->tasks[i].table == t)
			nfiles += rc->tasks[i].nparts > 0 ? rc->tasks[i].nparts : 1;
	mt->files = xcalloc((size_t)nfiles + 1, sizeof(char *));
	mt->file_rows = xcalloc((size_t)nfiles + 1, sizeof(int64_t));
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
			mt->files[mt->nfiles] = xstrdup(task->file);
			mt->file_rows[mt->nfiles++] = task->scan.rows;
		}
		for (int p = 0; !rc->direct && p < task->nparts; p++) {
			mt->files[mt->nfiles] = xstrdup(task->parts[p]);
			mt->file_rows[mt->nfiles++] = task->part_rows[p];
		}
	}
	incr_to_manifest(t, &rc->incr[ti], &mt->incremental);
	mt->seconds = mt->tasks ? last - first : 0.0;
}

void
build_manifest(run_ctx *rc, pg2md_manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->load_id = xstrdup(rc->load_id);
	m->pipeline_name = xstrdup(rc->cfg->pipeline_name);
	m->dataset_name = xstrdup(rc->dataset);
	m->mode = xstrdup(rc->direct ? "direct" : "staged");
	m->source_schema = xstrdup(rc->cfg->schema);
	m->tables = xcalloc((size_t)rc->ntables + 1, sizeof(manifest_table));
	for (int ti = 0; ti < rc->ntables; ti++) {
		manifest_settings(rc, ti, &m->tables[ti]);
		manifest_figures(rc, ti, &m->tables[ti]);
		m->ntables++;
	}
}

void
trace_from_manifest(pg2md_trace *trace, const pg2md_manifest *man)
{
	trace->ntables = man->ntables;
	trace->tables = xcalloc((size_t)trace->ntables + 1, sizeof(pg2md_table_stat));
	for (int i = 0; i < man->ntables; i++) {
		const manifest_table *t = &man->tables[i];
		pg2md_table_stat *s = &trace->tables[i];
		s->name = xstrdup(t->name);
		s->dest_name = xstrdup(t->dest_name);
		s->disposition = xstrdup(t->disposition);
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
		trace->load_id = xstrdup(man->load_id);
}

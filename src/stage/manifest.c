/*
 * manifest.c — a load package's manifest.json: what the package holds and how to load it.
 *
 * One entry per table: its destination name, write disposition and keys, its columns with
 * their DuckDB types, the Parquet files and their rows, the incremental cursor, and the
 * extraction's figures (rows, bytes, the largest 2048-row window, tasks, retries, seconds).
 * Normalize and load read nothing else, so a package can be loaded by a later run.
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
static json_t *
manifest_columns(run_ctx *rc, int ti)
{
	pg2md_table *t = &rc->tables[ti];
	json_t *cols = json_array();
	const transform_out *out = rc->tx_sql && rc->tx_sql[ti] ? &rc->tx[ti] : NULL;
	for (int c = 0; out && c < out->ncols; c++)
		json_array_append_new(cols, transform_column_json(&out->cols[c]));
	for (int c = 0; !out && c < t->ncols; c++) {
		json_t *jc = json_object();
		json_object_set_new(jc, "name", json_string(t->cols[c].name));
		json_object_set_new(jc, "dest_name", json_string(t->cols[c].dest_name));
		json_object_set_new(jc, "pg_type", json_string(t->cols[c].pg_type));
		json_object_set_new(jc, "duck_type", json_string(t->cols[c].duck_type));
		json_object_set_new(jc, "nullable", json_boolean(t->cols[c].nullable));
		if (!rc->direct && t->cols[c].dec == DEC_INTERVAL)
			json_object_set_new(jc, "staged_as", json_string("interval_struct"));
		if (t->cols[c].measured)
			json_object_set_new(jc, "measured", json_true());
		if (t->cols[c].dec == DEC_BPCHAR || schema_type_has(t->cols[c].type, DEC_BPCHAR))
			json_object_set_new(jc, "char_padding", json_string("trim"));
		if (t->cols[c].lineage)
			json_object_set_new(jc, "lineage", json_string(t->cols[c].load_id ? "load_id" : "dlt_id"));
		json_array_append_new(cols, jc);
	}
	return cols;
}

/*
 * scd2's settings as the load applies them: the validity columns and the hash column under the
 * naming convention, valid-to of active rows (null: NULL), the boundary (boundary_timestamp, else
 * the load id's time: the package's creation, as dlt takes it; kept in the manifest so a load
 * retried after a crash retires and opens versions at the same instant), and the user's row
 * version column if one is named.
 */
static json_t *
scd2_json(run_ctx *rc, const pg2md_table *t, const pg2md_table_config *tc)
{
	json_t *o = json_object();
	char *from = naming_normalize(rc->cfg->naming, pg2md_config_validity_column(rc->cfg, t->name, 0));
	char *to = naming_normalize(rc->cfg->naming, pg2md_config_validity_column(rc->cfg, t->name, 1));
	char *hash = naming_normalize(rc->cfg->naming, "_dlt_id");
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
	json_object_set_new(o, "valid_from", json_string(from));
	json_object_set_new(o, "valid_to", json_string(to));
	json_object_set_new(o, "hash_column", json_string(hash));
	json_object_set_new(o, "active", tc->active_record_timestamp ? json_string(tc->active_record_timestamp) : json_null());
	json_object_set_new(o, "boundary", json_string(boundary));
	if (tc->row_version_column_name) {
		char *rv = config_column_dest(rc->cfg, t, tc->row_version_column_name);
		json_object_set_new(o, "row_version", json_string(rv));
		free(rv);
	}
	free(from);
	free(to);
	free(hash);
	return o;
}

json_t *
build_manifest(run_ctx *rc)
{
	json_t *doc = json_object();
	json_t *tables = json_array();
	json_object_set_new(doc, "load_id", json_string(rc->load_id));
	json_object_set_new(doc, "pipeline_name", json_string(rc->cfg->pipeline_name));
	json_object_set_new(doc, "dataset_name", json_string(rc->dataset));
	json_object_set_new(doc, "mode", json_string(rc->direct ? "direct" : "staged"));
	json_object_set_new(doc, "source_schema", json_string(rc->cfg->schema));
	for (int ti = 0; ti < rc->ntables; ti++) {
		pg2md_table *t = &rc->tables[ti];
		json_t *jt = json_object(), *cols = manifest_columns(rc, ti), *files = json_array(), *pk = json_array();
		json_t *file_rows = json_array();
		int64_t rows = 0, bytes = 0, fbytes = 0, lossy = 0, win_bytes = 0, win_rows = 0;
		double first = 0, last = 0;
		int ntasks = 0, retries = 0;
		const pg2md_table_config *tc = pg2md_config_table(rc->cfg, t->name);
		/* the key is the table's own primary key, and the rows are the table's as read from one
		 * snapshot: no two share it, merge need not keep one per key */
		json_object_set_new(jt, "key_unique",
				    json_boolean(!(tc && tc->primary_key.n > 0) && t->npk > 0 && t->relkind != 'q' &&
						 !(rc->tx_sql && rc->tx_sql[ti]) && !(rc->tx_later && rc->tx_later[ti])));
		if (tc && tc->primary_key.n > 0) {
			for (int k = 0; k < tc->primary_key.n; k++) {
				char *dn = config_column_dest(rc->cfg, t, tc->primary_key.items[k]);
				json_array_append_new(pk, json_string(dn));
				free(dn);
			}
		} else {
			for (int k = 0; k < t->npk; k++)
				json_array_append_new(pk, json_string(t->cols[t->pk[k]].dest_name));
		}
		for (int i = 0; i < rc->ntasks; i++) {
			pg2md_task *task = &rc->tasks[i];
			if (task->table != t)
				continue;
			rows += task->scan.rows;
			bytes += task->scan.bytes;
			fbytes += task->file_bytes;
			lossy += task->scan.lossy;
			if (task->scan.window_bytes > win_bytes) {
				win_bytes = task->scan.window_bytes;
				win_rows = task->scan.window_rows;
			}
			if (ntasks == 0 || task->started < first)
				first = task->started;
			if (task->started + task->seconds > last)
				last = task->started + task->seconds;
			ntasks++;
			retries += task->scan.retries;
			if (!rc->direct && task->nparts == 0) {
				json_array_append_new(files, json_string(task->file));
				json_array_append_new(file_rows, json_integer(task->scan.rows));
			}
			for (int p = 0; !rc->direct && p < task->nparts; p++) {
				json_array_append_new(files, json_string(task->parts[p]));
				json_array_append_new(file_rows, json_integer(task->part_rows[p]));
			}
		}
		json_object_set_new(jt, "name", json_string(t->name));
		json_object_set_new(jt, "dest_name", json_string(t->dest_name));
		json_object_set_new(jt, "write_disposition",
				    json_string(pg2md_disposition_name(pg2md_config_disposition(rc->cfg, t->name))));
		json_object_set_new(jt, "primary_key", pk);
		if (tc && tc->merge_key.n > 0) {
			json_t *mk = json_array();
			for (int k = 0; k < tc->merge_key.n; k++) {
				char *dn = config_column_dest(rc->cfg, t, tc->merge_key.items[k]);
				json_array_append_new(mk, json_string(dn));
				free(dn);
			}
			json_object_set_new(jt, "merge_key", mk);
		}
		if (tc && tc->hard_delete) {
			char *dn = config_column_dest(rc->cfg, t, tc->hard_delete);
			json_object_set_new(jt, "hard_delete", json_string(dn));
			free(dn);
		}
		if (tc && tc->merge_strategy)
			json_object_set_new(jt, "merge_strategy", json_string(tc->merge_strategy));
		if (tc && tc->dedup_sort) {
			char *dn = config_column_dest(rc->cfg, t, tc->dedup_sort);
			json_object_set_new(jt, "dedup_sort", json_string(dn));
			json_object_set_new(jt, "dedup_sort_order", json_string(tc->dedup_sort_order ? tc->dedup_sort_order : "desc"));
			free(dn);
		}
		if (pg2md_config_scd2(rc->cfg, t->name))
			json_object_set_new(jt, "scd2", scd2_json(rc, t, tc));
		json_object_set_new(jt, "columns", cols);
		if (rc->tx_later && rc->tx_later[ti]) {
			/* staged as extracted; normalize applies the transform and takes these columns */
			json_t *tcols = json_array();
			for (int c = 0; c < rc->tx[ti].ncols; c++)
				json_array_append_new(tcols, transform_column_json(&rc->tx[ti].cols[c]));
			json_object_set_new(jt, "transform", json_string(rc->tx_later[ti]));
			json_object_set_new(jt, "transform_columns", tcols);
		}
		json_object_set_new(jt, "files", files);
		json_object_set_new(jt, "file_rows", file_rows);
		json_object_set_new(jt, "rows", json_integer(rows));
		json_object_set_new(jt, "bytes", json_integer(bytes));
		json_object_set_new(jt, "file_bytes", json_integer(fbytes));
		json_object_set_new(jt, "lossy", json_integer(lossy));
		/* the most COPY bytes in 2048 consecutive rows of one task, and their rows */
		json_object_set_new(jt, "window_bytes", json_integer(win_bytes));
		json_object_set_new(jt, "window_rows", json_integer(win_rows));
		json_object_set_new(jt, "tasks", json_integer(ntasks));
		json_object_set_new(jt, "retries", json_integer(retries));
		json_object_set_new(jt, "incremental", incr_to_json(t, &rc->incr[ti]));
		json_object_set_new(jt, "seconds", json_real(ntasks ? last - first : 0.0));
		json_array_append_new(tables, jt);
	}
	json_object_set_new(doc, "tables", tables);
	return doc;
}

void
trace_from_manifest(pg2md_trace *trace, json_t *man)
{
	json_t *tables = json_object_get(man, "tables"), *jt;
	size_t i;
	trace->ntables = (int)json_array_size(tables);
	trace->tables = xcalloc((size_t)trace->ntables + 1, sizeof(pg2md_table_stat));
	json_array_foreach(tables, i, jt) {
		pg2md_table_stat *s = &trace->tables[i];
		s->name = xstrdup(json_string_value(json_object_get(jt, "name")));
		s->dest_name = xstrdup(json_string_value(json_object_get(jt, "dest_name")));
		s->disposition = xstrdup(json_string_value(json_object_get(jt, "write_disposition")));
		s->rows = json_integer_value(json_object_get(jt, "rows"));
		s->bytes = json_integer_value(json_object_get(jt, "bytes"));
		s->file_bytes = json_integer_value(json_object_get(jt, "file_bytes"));
		s->lossy = json_integer_value(json_object_get(jt, "lossy"));
		s->tasks = (int)json_integer_value(json_object_get(jt, "tasks"));
		s->retries = (int)json_integer_value(json_object_get(jt, "retries"));
		s->files = (int)json_array_size(json_object_get(jt, "files"));
		s->seconds = json_real_value(json_object_get(jt, "seconds"));
	}
	if (!trace->load_id)
		trace->load_id = xstrdup(json_string_value(json_object_get(man, "load_id")));
}

/* trace.c — run metrics to and from JSON (see trace.h). */
#include "stage/trace.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stage/package.h"
#include "util/buf.h"

static const char *
s_or_null(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

json_t *
trace_to_json(const pg2md_trace *t, const pg2md_error *err)
{
	json_t *doc = json_object(), *tables = json_array(), *stages = json_object();
	char ts[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

	json_object_set_new(doc, "finished_at", json_string(ts));
	json_object_set_new(doc, "load_id", t->load_id ? json_string(t->load_id) : json_null());
	json_object_set_new(doc, "mode", json_string(t->direct ? "direct" : "staged"));
	json_object_set_new(doc, "finished_pending", json_boolean(t->finished_pending));
	if (t->pending_state)
		json_object_set_new(doc, "pending_state", json_string(t->pending_state));
	json_object_set_new(doc, "destination", t->destination ? json_string(t->destination) : json_null());
	json_object_set_new(doc, "dataset_name", t->dataset ? json_string(t->dataset) : json_null());
	json_object_set_new(doc, "workers", json_integer(t->workers));
	json_object_set_new(doc, "tasks", json_integer(t->ntasks));
	json_object_set_new(doc, "peak_rss_bytes", json_integer(t->peak_rss));
	json_object_set_new(stages, "extract", json_real(t->t_extract));
	json_object_set_new(stages, "normalize", json_real(t->t_normalize));
	json_object_set_new(stages, "load", json_real(t->t_load));
	json_object_set_new(stages, "total", json_real(t->t_total));
	json_object_set_new(doc, "seconds", stages);
	for (int i = 0; i < t->ntables; i++) {
		const pg2md_table_stat *s = &t->tables[i];
		json_t *jt = json_object();
		json_object_set_new(jt, "name", json_string(s->name));
		json_object_set_new(jt, "dest_name", json_string(s->dest_name ? s->dest_name : s->name));
		json_object_set_new(jt, "write_disposition", json_string(s->disposition ? s->disposition : ""));
		json_object_set_new(jt, "rows", json_integer(s->rows));
		json_object_set_new(jt, "bytes", json_integer(s->bytes));
		json_object_set_new(jt, "file_bytes", json_integer(s->file_bytes));
		json_object_set_new(jt, "files", json_integer(s->files));
		json_object_set_new(jt, "tasks", json_integer(s->tasks));
		json_object_set_new(jt, "retries", json_integer(s->retries));
		json_object_set_new(jt, "lossy", json_integer(s->lossy));
		json_object_set_new(jt, "seconds", json_real(s->seconds));
		json_object_set_new(jt, "rows_per_second", json_real(s->seconds > 0 ? (double)s->rows / s->seconds : 0));
		json_array_append_new(tables, jt);
	}
	json_object_set_new(doc, "tables", tables);
	json_object_set_new(doc, "exit_code", json_integer(err ? err->code : 0));
	if (err && err->code) {
		json_t *e = json_object();
		json_object_set_new(e, "message", json_string(err->msg));
		if (err->detail[0])
			json_object_set_new(e, "detail", json_string(err->detail));
		if (err->hint[0])
			json_object_set_new(e, "hint", json_string(err->hint));
		json_object_set_new(doc, "error", e);
	}
	return doc;
}

void
trace_from_json(pg2md_trace *t, json_t *doc)
{
	json_t *tables = json_object_get(doc, "tables"), *jt, *sec = json_object_get(doc, "seconds");
	size_t i;
	memset(t, 0, sizeof(*t));
	t->load_id = xstrdup(s_or_null(doc, "load_id"));
	t->direct = s_or_null(doc, "mode") && strcmp(s_or_null(doc, "mode"), "direct") == 0;
	t->finished_pending = json_is_true(json_object_get(doc, "finished_pending"));
	t->pending_state = xstrdup(s_or_null(doc, "pending_state"));
	t->destination = xstrdup(s_or_null(doc, "destination"));
	t->dataset = xstrdup(s_or_null(doc, "dataset_name"));
	t->workers = (int)json_integer_value(json_object_get(doc, "workers"));
	t->ntasks = (int)json_integer_value(json_object_get(doc, "tasks"));
	t->peak_rss = json_integer_value(json_object_get(doc, "peak_rss_bytes"));
	t->t_extract = json_number_value(json_object_get(sec, "extract"));
	t->t_normalize = json_number_value(json_object_get(sec, "normalize"));
	t->t_load = json_number_value(json_object_get(sec, "load"));
	t->t_total = json_number_value(json_object_get(sec, "total"));
	t->result = (pg2md_code)json_integer_value(json_object_get(doc, "exit_code"));
	t->ntables = (int)json_array_size(tables);
	t->tables = xcalloc((size_t)t->ntables + 1, sizeof(pg2md_table_stat));
	json_array_foreach(tables, i, jt) {
		pg2md_table_stat *s = &t->tables[i];
		s->name = xstrdup(s_or_null(jt, "name"));
		s->dest_name = xstrdup(s_or_null(jt, "dest_name"));
		s->disposition = xstrdup(s_or_null(jt, "write_disposition"));
		s->rows = json_integer_value(json_object_get(jt, "rows"));
		s->bytes = json_integer_value(json_object_get(jt, "bytes"));
		s->file_bytes = json_integer_value(json_object_get(jt, "file_bytes"));
		s->files = (int)json_integer_value(json_object_get(jt, "files"));
		s->tasks = (int)json_integer_value(json_object_get(jt, "tasks"));
		s->retries = (int)json_integer_value(json_object_get(jt, "retries"));
		s->lossy = json_integer_value(json_object_get(jt, "lossy"));
		s->seconds = json_number_value(json_object_get(jt, "seconds"));
	}
}

pg2md_code
trace_store(const pg2md_config *cfg, const pg2md_trace *t, const pg2md_error *run_err, pg2md_error *err)
{
	char *dir = pkg_pipeline_dir(cfg);
	char *path = xasprintf("%s/trace.json", dir);
	json_t *doc = trace_to_json(t, run_err);
	pg2md_code result = mkdir_p(dir, 0700, err);
	if (result == PG2MD_OK)
		result = json_write_atomic(path, doc, err);
	json_decref(doc);
	free(path);
	free(dir);
	return result;
}

json_t *
trace_load(const pg2md_config *cfg, pg2md_error *err)
{
	char *dir = pkg_pipeline_dir(cfg);
	char *path = xasprintf("%s/trace.json", dir);
	json_t *doc = NULL;
	if (access(path, R_OK) != 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "pipeline \"%s\" has no trace yet", cfg->pipeline_name);
		pg2md_hint(err, "the trace is written by pg2md run in \"%s\"", dir);
	} else {
		doc = json_read_file(path, err);
	}
	free(path);
	free(dir);
	return doc;
}

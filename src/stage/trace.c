/* trace.c — run metrics to and from JSON, and the timeline of a run (see trace.h). */
#include "stage/trace.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stage/package.h"
#include "util/buf.h"

/* ---- the timeline -------------------------------------------------------------------- */

typedef struct span_rec {
	int worker, task, retries;
	char *stage, *table, *what;
	int64_t page_lo, page_hi, rows, bytes;
	double start, end;
	bool ok;
} span_rec;

typedef struct sample_rec {
	double t;
	int64_t rows, bytes;
} sample_rec;

struct pg2md_timeline {
	pthread_mutex_t mu;
	double t0;
	char started_at[32];
	span_rec *spans;
	int nspans, spans_cap;
	int64_t spans_dropped;
	sample_rec samples[TRACE_MAX_SAMPLES];
	int nsamples;
	double interval;       /* seconds between kept samples; doubles each time the buffer fills */
};

pg2md_timeline *
trace_timeline_new(double t0)
{
	pg2md_timeline *tl = xcalloc(1, sizeof(*tl));
	time_t now = time(NULL);
	struct tm tm;
	if (!tl)
		return NULL;
	pthread_mutex_init(&tl->mu, NULL);
	tl->t0 = t0;
	tl->interval = TRACE_SAMPLE_SECONDS;
	gmtime_r(&now, &tm);
	strftime(tl->started_at, sizeof(tl->started_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return tl;
}

void
trace_timeline_free(pg2md_timeline *tl)
{
	if (!tl)
		return;
	for (int i = 0; i < tl->nspans; i++) {
		free(tl->spans[i].stage);
		free(tl->spans[i].table);
		free(tl->spans[i].what);
	}
	free(tl->spans);
	pthread_mutex_destroy(&tl->mu);
	free(tl);
}

void
trace_span_add(pg2md_timeline *tl, const trace_span *span)
{
	span_rec *r;
	if (!tl || !span)
		return;
	pthread_mutex_lock(&tl->mu);
	if (tl->nspans >= TRACE_MAX_SPANS) {
		tl->spans_dropped++;
		pthread_mutex_unlock(&tl->mu);
		return;
	}
	if (tl->nspans == tl->spans_cap) {
		int cap = tl->spans_cap ? tl->spans_cap * 2 : 64;
		span_rec *more = xrealloc(tl->spans, (size_t)cap * sizeof(span_rec));
		if (!more) {
			/* memory ran out: the span is dropped (the run stops at its next check) */
			tl->spans_dropped++;
			pthread_mutex_unlock(&tl->mu);
			return;
		}
		tl->spans = more;
		tl->spans_cap = cap;
	}
	r = &tl->spans[tl->nspans];
	r->stage = xstrdup(span->stage ? span->stage : "");
	r->table = xstrdup(span->table);
	r->what = xstrdup(span->what);
	if (!r->stage || (span->table && !r->table) || (span->what && !r->what)) {
		free(r->stage);
		free(r->table);
		free(r->what);
		tl->spans_dropped++;
		pthread_mutex_unlock(&tl->mu);
		return;
	}
	tl->nspans++;
	r->worker = span->worker;
	r->task = span->task;
	r->retries = span->retries;
	r->page_lo = span->page_lo;
	r->page_hi = span->page_hi;
	r->rows = span->rows;
	r->bytes = span->bytes;
	r->start = span->start - tl->t0;
	r->end = span->end - tl->t0;
	r->ok = span->ok;
	pthread_mutex_unlock(&tl->mu);
}

void
trace_sample_add(pg2md_timeline *tl, double now, int64_t rows, int64_t bytes, bool final)
{
	double t;
	if (!tl)
		return;
	pthread_mutex_lock(&tl->mu);
	t = now - tl->t0;
	if (tl->nsamples > 0 && !final) {
		sample_rec *last = &tl->samples[tl->nsamples - 1];
		if (t < last->t + tl->interval * 0.9) { /* 0.9: a tick that wakes a little early still counts */
			pthread_mutex_unlock(&tl->mu);
			return;
		}
	}
	if (tl->nsamples == TRACE_MAX_SAMPLES) {
		/* keep the first and every second one after it, then sample half as often */
		int n = 0;
		for (int i = 0; i < tl->nsamples; i += 2)
			tl->samples[n++] = tl->samples[i];
		tl->nsamples = n;
		tl->interval *= 2;
	}
	tl->samples[tl->nsamples++] = (sample_rec){t, rows, bytes};
	pthread_mutex_unlock(&tl->mu);
}

static json_t *
seconds_json(double s)
{
	/* milliseconds are plenty, and keep trace.json small */
	return json_real((double)(int64_t)(s * 1000.0 + (s >= 0 ? 0.5 : -0.5)) / 1000.0);
}

json_t *
trace_timeline_json(pg2md_timeline *tl)
{
	json_t *doc = json_object(), *spans = json_array(), *samples = json_array();
	pthread_mutex_lock(&tl->mu);
	json_object_set_new(doc, "started_at", json_string(tl->started_at));
	for (int i = 0; i < tl->nspans; i++) {
		const span_rec *r = &tl->spans[i];
		json_t *js = json_object();
		json_object_set_new(js, "worker", json_integer(r->worker));
		json_object_set_new(js, "stage", json_string(r->stage));
		json_object_set_new(js, "table", r->table ? json_string(r->table) : json_null());
		if (r->what)
			json_object_set_new(js, "what", json_string(r->what));
		if (r->task >= 0)
			json_object_set_new(js, "task", json_integer(r->task));
		if (r->page_lo >= 0 || r->page_hi >= 0) {
			json_object_set_new(js, "page_lo", json_integer(r->page_lo >= 0 ? r->page_lo : 0));
			json_object_set_new(js, "page_hi", r->page_hi >= 0 ? json_integer(r->page_hi) : json_null());
		}
		json_object_set_new(js, "start", seconds_json(r->start));
		json_object_set_new(js, "end", seconds_json(r->end));
		json_object_set_new(js, "rows", json_integer(r->rows));
		json_object_set_new(js, "bytes", json_integer(r->bytes));
		if (r->retries)
			json_object_set_new(js, "retries", json_integer(r->retries));
		json_object_set_new(js, "ok", json_boolean(r->ok));
		json_array_append_new(spans, js);
	}
	for (int i = 0; i < tl->nsamples; i++) {
		json_t *a = json_array();
		json_array_append_new(a, seconds_json(tl->samples[i].t));
		json_array_append_new(a, json_integer(tl->samples[i].rows));
		json_array_append_new(a, json_integer(tl->samples[i].bytes));
		json_array_append_new(samples, a);
	}
	json_object_set_new(doc, "spans", spans);
	json_object_set_new(doc, "spans_dropped", json_integer(tl->spans_dropped));
	json_object_set_new(doc, "span_limit", json_integer(TRACE_MAX_SPANS));
	json_object_set_new(doc, "samples", samples);
	json_object_set_new(doc, "sample_seconds", json_real(tl->interval));
	pthread_mutex_unlock(&tl->mu);
	return doc;
}

/* ---- the trace ------------------------------------------------------------------------ */

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
	if (t->found_in)
		json_object_set_new(doc, "tables_found_in_schema", json_string(t->found_in));
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
	if (t->timeline)
		json_object_set_new(doc, "timeline", trace_timeline_json(t->timeline));
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

bool
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
	t->found_in = xstrdup(s_or_null(doc, "tables_found_in_schema"));
	t->workers = (int)json_integer_value(json_object_get(doc, "workers"));
	t->ntasks = (int)json_integer_value(json_object_get(doc, "tasks"));
	t->peak_rss = json_integer_value(json_object_get(doc, "peak_rss_bytes"));
	t->t_extract = json_number_value(json_object_get(sec, "extract"));
	t->t_normalize = json_number_value(json_object_get(sec, "normalize"));
	t->t_load = json_number_value(json_object_get(sec, "load"));
	t->t_total = json_number_value(json_object_get(sec, "total"));
	t->result = (pg2md_code)json_integer_value(json_object_get(doc, "exit_code"));
	bool oom = (s_or_null(doc, "load_id") && !t->load_id) ||
		   (s_or_null(doc, "pending_state") && !t->pending_state) ||
		   (s_or_null(doc, "destination") && !t->destination) || (s_or_null(doc, "dataset_name") && !t->dataset) ||
		   (s_or_null(doc, "tables_found_in_schema") && !t->found_in);
	t->tables = xcalloc(json_array_size(tables) + 1, sizeof(pg2md_table_stat));
	if (!t->tables)
		return false;
	t->ntables = (int)json_array_size(tables);
	json_array_foreach(tables, i, jt) {
		pg2md_table_stat *s = &t->tables[i];
		s->name = xstrdup(s_or_null(jt, "name"));
		s->dest_name = xstrdup(s_or_null(jt, "dest_name"));
		s->disposition = xstrdup(s_or_null(jt, "write_disposition"));
		oom = oom || (s_or_null(jt, "name") && !s->name) || (s_or_null(jt, "dest_name") && !s->dest_name) ||
		      (s_or_null(jt, "write_disposition") && !s->disposition);
		s->rows = json_integer_value(json_object_get(jt, "rows"));
		s->bytes = json_integer_value(json_object_get(jt, "bytes"));
		s->file_bytes = json_integer_value(json_object_get(jt, "file_bytes"));
		s->files = (int)json_integer_value(json_object_get(jt, "files"));
		s->tasks = (int)json_integer_value(json_object_get(jt, "tasks"));
		s->retries = (int)json_integer_value(json_object_get(jt, "retries"));
		s->lossy = json_integer_value(json_object_get(jt, "lossy"));
		s->seconds = json_number_value(json_object_get(jt, "seconds"));
	}
	return !oom;
}

pg2md_code
trace_store(const pg2md_config *cfg, const pg2md_trace *t, const pg2md_error *run_err, pg2md_error *err)
{
	char *dir = pkg_pipeline_dir(cfg);
	char *path = dir ? xasprintf("%s/trace.json", dir) : NULL;
	json_t *doc = trace_to_json(t, run_err);
	pg2md_code result;
	if (!path || !doc || json_object_set_new(doc, "pipeline_name", json_string(cfg->pipeline_name)))
		result = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	else
		result = mkdir_p(dir, 0700, err);
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
	char *path = dir ? xasprintf("%s/trace.json", dir) : NULL;
	json_t *doc = NULL;
	if (!path) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	} else if (access(path, R_OK) != 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "pipeline \"%s\" has no trace yet", cfg->pipeline_name);
		pg2md_hint(err, "the trace is written by pg2md run in \"%s\"", dir);
	} else {
		doc = json_read_file(path, err);
	}
	free(path);
	free(dir);
	return doc;
}

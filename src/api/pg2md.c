/*
 * pg2md.c — the handle behind include/pg2md.h: opening a pipeline, running it, what a run
 * reports, SQL and verify.  check (api_check.c), info (api_info.c) and drop (api_drop.c) have
 * files of their own.
 *
 * The internal modules report into pg2md_error (util/error.h), whose code is one of the
 * categories pg2md_status names with the same values; api_error() copies it out.  Nothing here
 * prints: logging goes to the sink pg2md_set_log registered (util/log.h), progress to the
 * callback of pg2md_set_progress (stage/progress.h); drawing them is the caller's.
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dest/duck.h"
#include "stage/metrics.h"
#include "stage/package.h"
#include "stage/progress.h"
#include "stage/trace.h"
#include "util/buf.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

_Static_assert(PG2MD_SUCCESS == (int)PG2MD_OK && PG2MD_FAILED == (int)PG2MD_ERR_RUN &&
		       PG2MD_CONFIG == (int)PG2MD_ERR_USAGE && PG2MD_CONNECT == (int)PG2MD_ERR_CONNECT &&
		       PG2MD_CANCELLED == (int)PG2MD_ERR_INTERRUPTED && PG2MD_NOMEM == (int)PG2MD_ERR_NOMEM,
	       "pg2md_status and pg2md_code name the same categories");

void
api_begin(void)
{
	mem_begin();
}

/*
 * A failure that memory running out caused, whatever it says (a library's message, a step that
 * found nothing where a broken buffer stood): out of memory, what it said as the detail.
 */
static void
as_nomem(pg2md_error *e)
{
	pg2md_error was = *e;
	if (e->code == PG2MD_OK || e->code == PG2MD_ERR_INTERRUPTED || !mem_short())
		return;
	if (e->code != PG2MD_ERR_NOMEM) {
		pg2md_error_init(e);
		pg2md_fail(e, PG2MD_ERR_NOMEM, "out of memory");
		pg2md_detail(e, "%s", was.msg);
	}
	pg2md_hint(e, "nothing half-written was committed: run again with more memory (or fewer workers, "
		      "[sources.sql_database] workers) and the next run finishes what was left");
}

pg2md_status
api_error(pg2md_err *err, const pg2md_error *in_)
{
	pg2md_error in = *in_;
	as_nomem(&in);
	pg2md_status st = (pg2md_status)in.code;
	if (err) {
		memset(err, 0, sizeof(*err));
		err->status = st;
		memcpy(err->sqlstate, in.sqlstate, sizeof(err->sqlstate));
		snprintf(err->message, sizeof(err->message), "%s", in.msg);
		snprintf(err->detail, sizeof(err->detail), "%s", in.detail);
		snprintf(err->hint, sizeof(err->hint), "%s", in.hint);
	}
	return st;
}

pg2md_status
api_nomem(pg2md_err *err)
{
	pg2md_error e;
	pg2md_error_init(&e);
	pg2md_fail(&e, PG2MD_ERR_NOMEM, "out of memory");
	return api_error(err, &e);
}

const char *
pg2md_version(void)
{
	return PG2MD_VERSION;
}

static pg2md_log_fn user_log;
static void *user_log_arg;

void
pg2md_set_log(pg2md_log_fn fn, void *arg)
{
	user_log = fn;
	user_log_arg = arg;
	pg2md_log_set_sink(fn, arg);
}

static int
cmp_setting(const void *a, const void *b)
{
	return strcmp(((const pg2md_setting_info *)a)->key, ((const pg2md_setting_info *)b)->key);
}

/* The public views of the configuration: pg2md_describe, pg2md_settings (false: out of memory). */
static bool
describe(pg2md_pipeline *p)
{
	const pg2md_config *cfg = p->cfg;
	bool md = pg2md_config_motherduck(cfg);
	p->pipeline_dir = pkg_pipeline_dir(cfg);
	p->pinfo = (pg2md_pipeline_info){
		.project_dir = cfg->project_dir,
		.pipeline_name = cfg->pipeline_name,
		.pipeline_dir = p->pipeline_dir,
		.schema = cfg->schema,
		.dataset = cfg->dataset_name,
		.destination = cfg->destination ? cfg->destination : "duckdb",
		.duckdb_path = md ? NULL : cfg->duckdb_path,
		.log_level = cfg->log_level ? cfg->log_level : "WARNING",
		.log_json = cfg->log_format && strcasecmp(cfg->log_format, "JSON") == 0,
		.on_failure = cfg->on_failure && cfg->on_failure[0] ? cfg->on_failure : NULL,
	};
	p->settings = xcalloc((size_t)cfg->n_prov + 1, sizeof(pg2md_setting_info));
	if (!p->pipeline_dir || !p->settings)
		return false;
	for (int i = 0; i < cfg->n_prov; i++) {
		const pg2md_provenance *pv = &cfg->prov[i];
		p->settings[i] = (pg2md_setting_info){pv->key, pv->value ? pv->value : "", pg2md_origin_name(pv->origin),
						      pv->where, pv->secret};
	}
	qsort(p->settings, (size_t)cfg->n_prov, sizeof(pg2md_setting_info), cmp_setting);
	return true;
}

/* The options' strings copied into p->flags: the caller's may be gone when a reload reads them. */
static int
keep_flags(pg2md_pipeline *p, const pg2md_config_flags *flags)
{
	p->flags = *flags;
	const char **s[] = {&p->flags.project_dir, &p->flags.tables, &p->flags.write_disposition,
			    &p->flags.destination, &p->flags.dataset_name, &p->flags.pipeline_name,
			    &p->flags.log_level, &p->flags.metrics_file};
	int failed = 0;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (!*s[i])
			continue;
		char *c = xstrdup(*s[i]);
		failed |= !c;
		*s[i] = c;
	}
	return failed;
}

static void
free_flags(pg2md_config_flags *f)
{
	const char *s[] = {f->project_dir, f->tables, f->write_disposition, f->destination, f->dataset_name,
			   f->pipeline_name, f->log_level, f->metrics_file};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free((char *)s[i]);
	memset(f, 0, sizeof(*f));
}

pg2md_code
api_config_reload(void *pipeline, pg2md_config **out, pg2md_error *err)
{
	pg2md_pipeline *p = pipeline;
	return pg2md_config_load(out, &p->flags, NULL, err);
}

pg2md_status
pg2md_open(pg2md_pipeline **out, const pg2md_options *opts, pg2md_err *err)
{
	pg2md_config_flags flags = PG2MD_CONFIG_FLAGS_INIT;
	pg2md_error e;
	pg2md_config *cfg = NULL;

	api_begin();

	*out = NULL;
	pg2md_error_init(&e);
	/* a library never writes to its user's stderr: lines go to the registered sink, or nowhere */
	pg2md_log_set_sink(user_log, user_log_arg);
	if (opts) {
		flags.project_dir = opts->project_dir;
		flags.tables = opts->tables;
		flags.write_disposition = opts->write_disposition;
		flags.destination = opts->destination;
		flags.dataset_name = opts->dataset_name;
		flags.pipeline_name = opts->pipeline_name;
		flags.log_level = opts->log_level;
		flags.metrics_file = opts->metrics_file;
		flags.direct = opts->direct;
		/* before the configuration is read, so that its warnings obey the level given */
		if (opts->log_level && pg2md_log_level_parse(opts->log_level) >= 0)
			pg2md_log_set_level((pg2md_log_level)pg2md_log_level_parse(opts->log_level));
	}
	if (pg2md_config_load(&cfg, &flags, NULL, &e) != PG2MD_OK)
		return api_error(err, &e);
	int lvl = pg2md_log_level_parse(cfg->log_level ? cfg->log_level : "WARNING");
	pg2md_log_set_level(lvl >= 0 ? (pg2md_log_level)lvl : PG2MD_LOG_WARNING);
	pg2md_pipeline *p = mem_calloc(1, sizeof(*p));
	if (!p) {
		pg2md_config_free(cfg);
		return api_nomem(err);
	}
	p->cfg = cfg;
	if (keep_flags(p, &flags) || !describe(p)) {
		pg2md_close(p);
		return api_nomem(err);
	}
	*out = p;
	if (err)
		memset(err, 0, sizeof(*err));
	return PG2MD_SUCCESS;
}

void
pg2md_close(pg2md_pipeline *p)
{
	if (!p)
		return;
	api_run_release(&p->last);
	api_run_release(&p->stored);
	verify_report_release(&p->verify);
	free(p->verify_tables);
	api_check_release(p);
	api_info_release(p);
	api_drop_release(p);
	api_follow_release(p);
	free(p->settings);
	free(p->pipeline_dir);
	pg2md_config_free(p->cfg);
	free_flags(&p->flags);
	free(p);
}

const char *
pg2md_setting(const pg2md_pipeline *p, const char *key, const char **where)
{
	const pg2md_provenance *pv = pg2md_config_provenance(p->cfg, key);
	if (where)
		*where = pv ? pv->where : NULL;
	return pv ? pv->value : NULL;
}

const pg2md_setting_info *
pg2md_settings(const pg2md_pipeline *p, int *n)
{
	*n = p->cfg->n_prov;
	return p->settings;
}

const pg2md_pipeline_info *
pg2md_describe(const pg2md_pipeline *p)
{
	return &p->pinfo;
}

int
pg2md_holds_secret(const pg2md_pipeline *p, const char *text)
{
	const char *secrets[] = {p->cfg->pg_password, p->cfg->md_token};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (secrets[i] && strlen(secrets[i]) >= 4 && strstr(text, secrets[i]))
			return 1;
	return 0;
}

void
api_run_release(api_run *r)
{
	if (r->filled)
		pipeline_trace_release(&r->trace);
	free(r->tables);
	free(r->finished_at);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

bool
api_run_fill(api_run *r, pg2md_status st, int stages)
{
	const pg2md_trace *t = &r->trace;
	pg2md_run_info *i = &r->info;
	r->filled = true;
	r->tables = xcalloc((size_t)t->ntables + 1, sizeof(pg2md_table_run));
	/* out of memory: the summary without its tables (ntables 0), the caller says so */
	int ntables = r->tables ? t->ntables : 0;
	*i = (pg2md_run_info){
		.status = st,
		.load_id = t->load_id,
		.destination = t->destination,
		.dataset = t->dataset,
		.note = t->note,
		.found_in = t->found_in,
		.direct = t->direct,
		.finished_pending = t->finished_pending,
		.workers = t->workers,
		.tasks = t->ntasks,
		.ntables = ntables,
		.tables = r->tables,
		.seconds_extract = t->t_extract,
		.seconds_normalize = t->t_normalize,
		.seconds_load = t->t_load,
		.seconds_total = t->t_total,
		.peak_rss_bytes = t->peak_rss,
		.pending_state = t->pending_state,
		.failed_stage = st != PG2MD_SUCCESS ? metrics_failed_stage(t, stages ? stages : STAGE_ALL) : NULL,
		.finished_at = r->finished_at,
		.error = r->error,
	};
	for (int k = 0; k < ntables; k++) {
		const pg2md_table_stat *s = &t->tables[k];
		r->tables[k] = (pg2md_table_run){s->name, s->dest_name, s->disposition, s->rows, s->bytes, s->file_bytes,
						 s->tasks, s->files, s->retries, s->lossy, s->seconds};
		i->rows += s->rows;
	}
	return r->tables != NULL;
}

/* After a run: its Prometheus metrics, when a metrics file is configured (a failure is only logged). */
static void
write_metrics(pg2md_pipeline *p, int stages, const pg2md_error *e)
{
	const pg2md_trace *t = &p->last.trace;
	if (!p->cfg->metrics_file)
		return;
	metrics_run mr = {p->cfg, t, e, pg2md_failed(e) ? metrics_failed_stage(t, stages) : NULL,
			  !pg2md_failed(e) && (stages & STAGE_LOAD) && !t->note};
	pg2md_error merr;
	pg2md_error_init(&merr);
	if (metrics_write(p->cfg->metrics_file, &mr, &merr))
		pg2md_warn("%s", merr.msg);
}

pg2md_status
pg2md_run(pg2md_pipeline *p, unsigned stages, pg2md_err *err)
{
	pg2md_error e, te;

	api_begin();
	pg2md_error_init(&e);
	pg2md_error_init(&te);
	api_run_release(&p->last);
	if (stages == 0 || stages > PG2MD_STAGE_ALL) {
		pg2md_fail(&e, PG2MD_ERR_USAGE, "no stage to run: stages must combine PG2MD_STAGE_EXTRACT, "
						"PG2MD_STAGE_NORMALIZE and PG2MD_STAGE_LOAD");
		return api_error(err, &e);
	}
	progress_set_sink(p->progress_fn, p->progress_arg);
	pipeline_run(p->cfg, (int)stages, &p->last.trace, &e);
	progress_set_sink(NULL, NULL);
	progress_status_remove(p->cfg);
	/* kept for `pg2md trace`, failed runs too; a trace that cannot be written is only logged */
	if (trace_store(p->cfg, &p->last.trace, &e, &te))
		pg2md_warn("%s", te.msg);
	write_metrics(p, (int)stages, &e);
	if (!pg2md_failed(&e) && mem_short())
		pg2md_warn("memory ran out during the run; pg2md's reserve covered it and the run finished");
	pg2md_status st = api_error(err, &e);
	if (!api_run_fill(&p->last, st, (int)stages) && st == PG2MD_SUCCESS)
		return api_nomem(err);
	return st;
}

void
pg2md_set_progress(pg2md_pipeline *p, pg2md_progress_fn fn, void *arg)
{
	p->progress_fn = fn;
	p->progress_arg = arg;
}

const pg2md_run_info *
pg2md_last_run(const pg2md_pipeline *p)
{
	return p->last.filled ? &p->last.info : NULL;
}

pg2md_status
pg2md_trace_json(pg2md_pipeline *p, char **json, pg2md_err *err)
{
	pg2md_error e;

	api_begin();
	pg2md_error_init(&e);
	*json = NULL;
	json_t *doc = trace_load(p->cfg, &e);
	if (!doc)
		return api_error(err, &e);
	*json = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!*json)
		return api_nomem(err);
	return api_error(err, &e);
}

pg2md_status
pg2md_last_trace(pg2md_pipeline *p, const pg2md_run_info **out, pg2md_err *err)
{
	pg2md_error e;

	api_begin();
	pg2md_error_init(&e);
	*out = NULL;
	api_run_release(&p->stored);
	json_t *doc = trace_load(p->cfg, &e);
	if (!doc)
		return api_error(err, &e);
	trace_from_json(&p->stored.trace, doc);
	const char *finished = json_string_value(json_object_get(doc, "finished_at"));
	const char *error = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
	p->stored.finished_at = xstrdup(finished);
	p->stored.error = xstrdup(error);
	json_decref(doc);
	if (!api_run_fill(&p->stored, (pg2md_status)p->stored.trace.result, 0) || (finished && !p->stored.finished_at) ||
	    (error && !p->stored.error)) {
		api_run_release(&p->stored);
		return api_nomem(err);
	}
	*out = &p->stored.info;
	return api_error(err, &e);
}

pg2md_status
pg2md_sqlv(pg2md_pipeline *p, int nsql, const char *const *sql, pg2md_row_fn row, void *arg, pg2md_err *err)
{
	pg2md_dest dest;
	pg2md_error e;

	api_begin();
	pg2md_error_init(&e);
	/* the user's own queries get DuckDB's defaults, not the pipeline's memory budget */
	duck_memory_unbounded();
	if (dest_open(&dest, p->cfg, 2, &e) != PG2MD_OK)
		return api_error(err, &e);
	for (int i = 0; i < nsql && !pg2md_failed(&e); i++)
		duck_query_rows(dest.con, sql[i], row, arg, &e);
	dest_close(&dest);
	return api_error(err, &e);
}

pg2md_status
pg2md_sql(pg2md_pipeline *p, const char *sql, pg2md_row_fn row, void *arg, pg2md_err *err)
{
	return pg2md_sqlv(p, 1, &sql, row, arg, err);
}

pg2md_status
pg2md_verify(pg2md_pipeline *p, const pg2md_verify_info **out, pg2md_err *err)
{
	pg2md_error e;

	api_begin();
	pg2md_error_init(&e);
	verify_report_release(&p->verify);
	free(p->verify_tables);
	p->verify_tables = NULL;
	*out = NULL;
	if (verify_run(p->cfg, &p->verify, &e))
		return api_error(err, &e);
	const verify_report *r = &p->verify;
	p->verify_tables = xcalloc((size_t)r->ntables + 1, sizeof(pg2md_verify_table));
	if (!p->verify_tables)
		return api_nomem(err);
	for (int i = 0; i < r->ntables; i++) {
		const verify_result *v = &r->tables[i];
		p->verify_tables[i] = (pg2md_verify_table){
			.name = v->name,
			.dest_name = v->dest_name,
			.equal = v->equal,
			.values_compared = !v->count_only,
			.source_rows = v->src_rows,
			.dest_rows = v->dst_rows,
			.source_checksum = v->src_sum,
			.dest_checksum = v->dst_sum,
			.detail = v->problem,
			.write_disposition = v->disposition,
			.filtered = v->filtered,
			.windowed = v->windowed,
			.incremental = v->incremental,
		};
	}
	p->verify_info = (pg2md_verify_info){r->destination, r->ntables, r->ndiff, p->verify_tables, r->dest_exists};
	*out = &p->verify_info;
	return api_error(err, &e);
}

void
pg2md_cancel(void)
{
	interrupt_request();
}

void
pg2md_follow_reload(void)
{
	reload_request();
}

void
pg2md_free(void *ptr)
{
	free(ptr);
}

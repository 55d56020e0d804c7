/*
 * pg2md.c — the handle behind include/pg2md.h: wires the configuration, the pipeline's stages
 * and the destination together for a library user.
 *
 * The internal modules report into pg2md_error (util/error.h), whose code is one of the
 * categories pg2md_status names with the same values; api_error() copies it out.  Nothing here
 * prints: logging goes to the sink pg2md_set_log registered (util/log.h), progress to the
 * callback of pg2md_set_progress (stage/progress.h); drawing them is the caller's.
 */
#include "pg2md.h"

#include <stdlib.h>
#include <string.h>

#include <duckdb.h>
#include <jansson.h>

#include "config/config.h"
#include "dest/duck.h"
#include "stage/pipeline.h"
#include "stage/progress.h"
#include "stage/trace.h"
#include "util/buf.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "verify/verify.h"

struct pg2md_pipeline {
	pg2md_config *cfg;
	pg2md_trace trace; /* of the last pg2md_run */
	bool ran;
	pg2md_run_info info;
	pg2md_table_run *tables;
	pg2md_progress_fn progress_fn; /* pg2md_set_progress */
	void *progress_arg;
	verify_report verify;          /* of the last pg2md_verify */
	pg2md_verify_info verify_info;
	pg2md_verify_table *verify_tables;
};

_Static_assert(PG2MD_SUCCESS == (int)PG2MD_OK && PG2MD_FAILED == (int)PG2MD_ERR_RUN &&
		       PG2MD_CONFIG == (int)PG2MD_ERR_USAGE && PG2MD_CONNECT == (int)PG2MD_ERR_CONNECT &&
		       PG2MD_CANCELLED == (int)PG2MD_ERR_INTERRUPTED,
	       "pg2md_status and pg2md_code name the same categories");

/* Copy an internal failure out (err may be NULL); returns its status. */
static pg2md_status
api_error(pg2md_err *err, const pg2md_error *in)
{
	pg2md_status st = (pg2md_status)in->code;
	if (err) {
		memset(err, 0, sizeof(*err));
		err->status = st;
		memcpy(err->sqlstate, in->sqlstate, sizeof(err->sqlstate));
		snprintf(err->message, sizeof(err->message), "%s", in->msg);
		snprintf(err->detail, sizeof(err->detail), "%s", in->detail);
		snprintf(err->hint, sizeof(err->hint), "%s", in->hint);
	}
	return st;
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
	pg2md_log_set_sink(fn, arg, 0);
}

pg2md_status
pg2md_open(pg2md_pipeline **out, const pg2md_options *opts, pg2md_err *err)
{
	pg2md_config_flags flags = PG2MD_CONFIG_FLAGS_INIT;
	pg2md_error e;
	pg2md_config *cfg = NULL;

	*out = NULL;
	pg2md_error_init(&e);
	/* a library never writes to its user's stderr: lines go to the registered sink, or nowhere */
	pg2md_log_set_sink(user_log, user_log_arg, 0);
	if (opts) {
		flags.project_dir = opts->project_dir;
		flags.tables = opts->tables;
		flags.write_disposition = opts->write_disposition;
		flags.destination = opts->destination;
		flags.dataset_name = opts->dataset_name;
		flags.pipeline_name = opts->pipeline_name;
		flags.log_level = opts->log_level;
		flags.direct = opts->direct;
		if (opts->log_level && pg2md_log_level_parse(opts->log_level) >= 0)
			pg2md_log_set_level((pg2md_log_level)pg2md_log_level_parse(opts->log_level));
	}
	if (pg2md_config_load(&cfg, &flags, NULL, &e) != PG2MD_OK)
		return api_error(err, &e);
	int lvl = pg2md_log_level_parse(cfg->log_level ? cfg->log_level : "WARNING");
	pg2md_log_set_level(lvl >= 0 ? (pg2md_log_level)lvl : PG2MD_LOG_WARNING);
	pg2md_pipeline *p = calloc(1, sizeof(*p));
	if (!p) {
		pg2md_config_free(cfg);
		pg2md_fail(&e, PG2MD_ERR_RUN, "out of memory");
		api_error(err, &e);
		if (err)
			err->status = PG2MD_NOMEM;
		return PG2MD_NOMEM;
	}
	p->cfg = cfg;
	*out = p;
	if (err)
		memset(err, 0, sizeof(*err));
	return PG2MD_SUCCESS;
}

static void
forget_run(pg2md_pipeline *p)
{
	if (p->ran)
		pipeline_trace_release(&p->trace);
	free(p->tables);
	p->tables = NULL;
	p->ran = false;
	memset(&p->info, 0, sizeof(p->info));
}

void
pg2md_close(pg2md_pipeline *p)
{
	if (!p)
		return;
	forget_run(p);
	verify_report_release(&p->verify);
	free(p->verify_tables);
	pg2md_config_free(p->cfg);
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

/* The public view of the trace just run (pointers into p->trace). */
static void
fill_info(pg2md_pipeline *p, pg2md_status st)
{
	const pg2md_trace *t = &p->trace;
	pg2md_run_info *r = &p->info;
	p->tables = xcalloc((size_t)t->ntables + 1, sizeof(pg2md_table_run));
	r->status = st;
	r->load_id = t->load_id;
	r->destination = t->destination;
	r->dataset = t->dataset;
	r->note = t->note;
	r->found_in = t->found_in;
	r->direct = t->direct;
	r->finished_pending = t->finished_pending;
	r->workers = t->workers;
	r->tasks = t->ntasks;
	r->ntables = t->ntables;
	r->tables = p->tables;
	for (int i = 0; i < t->ntables; i++) {
		const pg2md_table_stat *s = &t->tables[i];
		p->tables[i] = (pg2md_table_run){s->name, s->dest_name, s->disposition, s->rows, s->bytes, s->file_bytes,
						 s->tasks, s->files, s->retries, s->lossy, s->seconds};
		r->rows += s->rows;
	}
	r->seconds_extract = t->t_extract;
	r->seconds_normalize = t->t_normalize;
	r->seconds_load = t->t_load;
	r->seconds_total = t->t_total;
	r->peak_rss_bytes = t->peak_rss;
}

pg2md_status
pg2md_run(pg2md_pipeline *p, unsigned stages, pg2md_err *err)
{
	pg2md_error e, te;
	pg2md_error_init(&e);
	pg2md_error_init(&te);
	forget_run(p);
	if (stages == 0 || stages > PG2MD_STAGE_ALL) {
		pg2md_fail(&e, PG2MD_ERR_USAGE, "no stage to run: stages must combine PG2MD_STAGE_EXTRACT, "
						"PG2MD_STAGE_NORMALIZE and PG2MD_STAGE_LOAD");
		return api_error(err, &e);
	}
	progress_set_sink(p->progress_fn, p->progress_arg);
	pipeline_run(p->cfg, (int)stages, &p->trace, &e);
	progress_set_sink(NULL, NULL);
	p->ran = true;
	/* kept for `pg2md trace`, failed runs too; a trace that cannot be written is only logged */
	if (trace_store(p->cfg, &p->trace, &e, &te))
		pg2md_warn("%s", te.msg);
	progress_status_remove(p->cfg);
	pg2md_status st = api_error(err, &e);
	fill_info(p, st);
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
	return p->ran ? &p->info : NULL;
}

pg2md_status
pg2md_trace_json(pg2md_pipeline *p, char **json, pg2md_err *err)
{
	pg2md_error e;
	pg2md_error_init(&e);
	*json = NULL;
	json_t *doc = trace_load(p->cfg, &e);
	if (!doc)
		return api_error(err, &e);
	*json = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!*json) {
		pg2md_fail(&e, PG2MD_ERR_RUN, "out of memory");
		api_error(err, &e);
		if (err)
			err->status = PG2MD_NOMEM;
		return PG2MD_NOMEM;
	}
	return api_error(err, &e);
}

pg2md_status
pg2md_sql(pg2md_pipeline *p, const char *sql, pg2md_row_fn row, void *arg, pg2md_err *err)
{
	pg2md_dest dest;
	pg2md_error e;
	pg2md_error_init(&e);
	/* the user's own queries get DuckDB's defaults, not the pipeline's memory budget */
	duck_memory_unbounded();
	if (dest_open(&dest, p->cfg, 2, &e) != PG2MD_OK)
		return api_error(err, &e);
	duck_query_rows(dest.con, sql, row, arg, &e);
	dest_close(&dest);
	return api_error(err, &e);
}

pg2md_status
pg2md_verify(pg2md_pipeline *p, const pg2md_verify_info **out, pg2md_err *err)
{
	pg2md_error e;
	pg2md_error_init(&e);
	verify_report_release(&p->verify);
	free(p->verify_tables);
	p->verify_tables = NULL;
	*out = NULL;
	if (verify_run(p->cfg, &p->verify, &e))
		return api_error(err, &e);
	const verify_report *r = &p->verify;
	p->verify_tables = xcalloc((size_t)r->ntables + 1, sizeof(pg2md_verify_table));
	for (int i = 0; i < r->ntables; i++) {
		const verify_result *v = &r->tables[i];
		p->verify_tables[i] = (pg2md_verify_table){v->name, v->dest_name, v->equal, !v->count_only, v->src_rows,
							   v->dst_rows, v->src_sum, v->dst_sum, v->problem};
	}
	p->verify_info = (pg2md_verify_info){r->destination, r->ntables, r->ndiff, p->verify_tables};
	*out = &p->verify_info;
	return api_error(err, &e);
}

void
pg2md_cancel(void)
{
	interrupt_request();
}

void
pg2md_free(void *ptr)
{
	free(ptr);
}

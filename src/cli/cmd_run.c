/*
 * cmd_run.c — `pg2md run`, `extract`, `normalize`, `load`: run the pipeline
 * stages and print the run summary a person reads at a glance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "stage/pipeline.h"
#include "stage/trace.h"
#include "util/humanize.h"

void
print_summary(FILE *f, const struct pg2md_trace *t, int stages)
{
	char a[32], b[32], c[32], d[32], e[32];
	int64_t rows = 0, bytes = 0, fbytes = 0, lossy = 0;
	int namew = 5;

	if (t->finished_pending)
		fprintf(f, "pg2md: finished load package %s that an earlier run left %s; no new data was extracted\n"
			   "       run again to extract new data\n",
			t->load_id, t->pending_state);
	else if (stages == STAGE_ALL || (stages & STAGE_LOAD))
		fprintf(f, "pg2md: loaded %d table%s into %s, dataset \"%s\"\n", t->ntables, t->ntables == 1 ? "" : "s",
			t->destination ? t->destination : "the destination", t->dataset);
	else if (stages == STAGE_NORMALIZE)
		fprintf(f, "pg2md: normalized load package %s (%d table%s); pg2md load loads it\n", t->load_id, t->ntables,
			t->ntables == 1 ? "" : "s");
	else
		fprintf(f, "pg2md: extracted %d table%s into load package %s\n", t->ntables, t->ntables == 1 ? "" : "s",
			t->load_id);
	if (!t->finished_pending && t->workers > 0)
		fprintf(f, "       load %s, %s mode, %d worker%s, %d task%s\n", t->load_id, t->direct ? "direct" : "staged",
			t->workers, t->workers == 1 ? "" : "s", t->ntasks, t->ntasks == 1 ? "" : "s");
	fputc('\n', f);
	for (int i = 0; i < t->ntables; i++)
		if ((int)strlen(t->tables[i].name) > namew)
			namew = (int)strlen(t->tables[i].name);
	fprintf(f, "  %-*s  %-8s %12s %10s %10s %9s %12s\n", namew, "table", "write", "rows", "read", "staged", "time",
		"rows/s");
	for (int i = 0; i < t->ntables; i++) {
		const pg2md_table_stat *s = &t->tables[i];
		double rate = s->seconds > 0 ? (double)s->rows / s->seconds : 0;
		fprintf(f, "  %-*s  %-8s %12s %10s %10s %9s %12s\n", namew, s->name, s->disposition ? s->disposition : "",
			human_count(a, sizeof(a), (double)s->rows), human_bytes(b, sizeof(b), (double)s->bytes),
			t->direct ? "-" : human_bytes(c, sizeof(c), (double)s->file_bytes),
			human_seconds(d, sizeof(d), s->seconds), s->seconds > 0 ? human_count(e, sizeof(e), rate) : "-");
		rows += s->rows;
		bytes += s->bytes;
		fbytes += s->file_bytes;
		lossy += s->lossy;
	}
	double ex = t->t_extract > 0 ? t->t_extract : 0;
	fprintf(f, "  %-*s  %-8s %12s %10s %10s %9s %12s\n", namew, "total", "",
		human_count(a, sizeof(a), (double)rows), human_bytes(b, sizeof(b), (double)bytes),
		t->direct ? "-" : human_bytes(c, sizeof(c), (double)fbytes), human_seconds(d, sizeof(d), t->t_total),
		t->t_total > 0 ? human_count(e, sizeof(e), (double)rows / t->t_total) : "-");
	fprintf(f, "\n  stages: extract %s, ", human_seconds(a, sizeof(a), ex));
	fprintf(f, "normalize %s, ", human_seconds(a, sizeof(a), t->t_normalize));
	fprintf(f, "load %s; total %s; peak RSS %s\n", human_seconds(b, sizeof(b), t->t_load),
		human_seconds(c, sizeof(c), t->t_total), human_bytes(d, sizeof(d), (double)t->peak_rss));
	if (lossy > 0)
		fprintf(f, "  note: %lld NaN value%s in DECIMAL columns arrived as NULL (see docs/types.md)\n",
			(long long)lossy, lossy == 1 ? "" : "s");
}

static int
run_stages(cli_opts *opts, int stages)
{
	int code;
	pg2md_config *cfg = cli_load_config(opts, &code);
	pg2md_trace trace;
	pg2md_error err;

	if (!cfg)
		return code;
	pg2md_error_init(&err);
	pipeline_run(cfg, stages, &trace, &err);
	{
		/* The trace is kept for `pg2md trace`, for failed runs too. */
		pg2md_error terr;
		pg2md_error_init(&terr);
		if (trace_store(cfg, &trace, &err, &terr))
			fprintf(stderr, "pg2md: warning: %s\n", terr.msg);
	}
	if (pg2md_failed(&err)) {
		cli_print_error(&err);
		code = err.code;
	} else if (trace.note) {
		printf("pg2md: %s\n", trace.note);
		code = 0;
	} else {
		print_summary(stdout, &trace, stages);
		code = 0;
	}
	pipeline_trace_release(&trace);
	pg2md_config_free(cfg);
	return code;
}

int
cmd_run(cli_opts *opts)
{
	return run_stages(opts, STAGE_ALL);
}

int
cmd_extract(cli_opts *opts)
{
	return run_stages(opts, STAGE_EXTRACT);
}

int
cmd_normalize(cli_opts *opts)
{
	return run_stages(opts, STAGE_NORMALIZE);
}

int
cmd_load(cli_opts *opts)
{
	return run_stages(opts, STAGE_LOAD);
}

int
cmd_trace(cli_opts *opts)
{
	int code;
	pg2md_config *cfg = cli_load_config(opts, &code);
	pg2md_error err;
	json_t *doc;

	if (!cfg)
		return code;
	pg2md_error_init(&err);
	doc = trace_load(cfg, &err);
	if (!doc) {
		cli_print_error(&err);
		pg2md_config_free(cfg);
		return err.code;
	}
	if (opts->json) {
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
		puts(text);
		free(text);
	} else {
		pg2md_trace t;
		trace_from_json(&t, doc);
		printf("last run of pipeline \"%s\", finished %s\n", cfg->pipeline_name,
		       json_string_value(json_object_get(doc, "finished_at")));
		if (t.result != PG2MD_OK) {
			json_t *e = json_object_get(doc, "error");
			printf("the run failed (exit code %d): %s\n", (int)t.result,
			       json_string_value(json_object_get(e, "message")));
		}
		print_summary(stdout, &t, STAGE_ALL);
		pipeline_trace_release(&t);
	}
	json_decref(doc);
	pg2md_config_free(cfg);
	return 0;
}

/*
 * cmd_run.c — `pg2md run`, `extract`, `normalize`, `load`: run the pipeline
 * stages and print the run summary a person reads at a glance; then what
 * production needs after a run: the metrics file ([runtime] metrics_file) and,
 * when the run failed, the [runtime] on_failure command, run with the error in
 * its environment and every secret taken out of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/metrics.h"
#include "cli/progress_view.h"
#include "cli/report.h"
#include "stage/pipeline.h"
#include "stage/progress.h"
#include "stage/trace.h"
#include "util/buf.h"
#include "util/humanize.h"
#include "util/log.h"

extern char **environ;

#define HOOK_TIMEOUT_SECONDS 60

void
print_summary(FILE *f, const struct pg2md_trace *t, int stages, bool detail)
{
	char a[32], b[32], c[32], d[32], e[32];
	int64_t rows = 0, bytes = 0, fbytes = 0, lossy = 0;
	int files = 0, tasks = 0, retries = 0;
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
	if (t->found_in)
		fprintf(f, "       no table list: every table of schema \"%s\", %d found\n", t->found_in, t->ntables);
	if (!t->finished_pending && t->workers > 0)
		fprintf(f, "       load %s, %s mode, %d worker%s, %d task%s\n", t->load_id, t->direct ? "direct" : "staged",
			t->workers, t->workers == 1 ? "" : "s", t->ntasks, t->ntasks == 1 ? "" : "s");
	fputc('\n', f);
	for (int i = 0; i < t->ntables; i++)
		if ((int)strlen(t->tables[i].name) > namew)
			namew = (int)strlen(t->tables[i].name);
	fprintf(f, "  %-*s  %-8s %12s %10s %10s %9s %12s", namew, "table", "write", "rows", "read", "staged", "time",
		"rows/s");
	if (detail)
		fprintf(f, " %6s %6s %8s", "files", "tasks", "retries");
	fputc('\n', f);
	for (int i = 0; i < t->ntables; i++) {
		const pg2md_table_stat *s = &t->tables[i];
		double rate = s->seconds > 0 ? (double)s->rows / s->seconds : 0;
		fprintf(f, "  %-*s  %-8s %12s %10s %10s %9s %12s", namew, s->name, s->disposition ? s->disposition : "",
			human_count(a, sizeof(a), (double)s->rows), human_bytes(b, sizeof(b), (double)s->bytes),
			t->direct ? "-" : human_bytes(c, sizeof(c), (double)s->file_bytes),
			human_seconds(d, sizeof(d), s->seconds), s->seconds > 0 ? human_count(e, sizeof(e), rate) : "-");
		if (detail)
			fprintf(f, " %6d %6d %8d", s->files, s->tasks, s->retries);
		fputc('\n', f);
		files += s->files;
		tasks += s->tasks;
		retries += s->retries;
		rows += s->rows;
		bytes += s->bytes;
		fbytes += s->file_bytes;
		lossy += s->lossy;
	}
	double ex = t->t_extract > 0 ? t->t_extract : 0;
	fprintf(f, "  %-*s  %-8s %12s %10s %10s %9s %12s", namew, "total", "",
		human_count(a, sizeof(a), (double)rows), human_bytes(b, sizeof(b), (double)bytes),
		t->direct ? "-" : human_bytes(c, sizeof(c), (double)fbytes), human_seconds(d, sizeof(d), t->t_total),
		t->t_total > 0 ? human_count(e, sizeof(e), (double)rows / t->t_total) : "-");
	if (detail)
		fprintf(f, " %6d %6d %8d", files, tasks, retries);
	fputc('\n', f);
	fprintf(f, "\n  stages: extract %s, ", human_seconds(a, sizeof(a), ex));
	fprintf(f, "normalize %s, ", human_seconds(a, sizeof(a), t->t_normalize));
	fprintf(f, "load %s; total %s; peak RSS %s\n", human_seconds(b, sizeof(b), t->t_load),
		human_seconds(c, sizeof(c), t->t_total), human_bytes(d, sizeof(d), (double)t->peak_rss));
	if (lossy > 0)
		fprintf(f, "  note: %lld NaN value%s in DECIMAL columns arrived as NULL (see docs/types.md)\n",
			(long long)lossy, lossy == 1 ? "" : "s");
}

/* ---- the on_failure command ------------------------------------------------------- */

/* Variables whose name says they hold a secret: dlt's credentials, tokens, passwords. */
static bool
secret_name(const char *var)
{
	static const char *const words[] = {"PASSWORD", "PASSWD", "TOKEN", "SECRET", "CREDENTIALS", NULL};
	char name[256];
	size_t n = 0;
	for (; var[n] && var[n] != '=' && n < sizeof(name) - 1; n++)
		name[n] = (char)(var[n] >= 'a' && var[n] <= 'z' ? var[n] - 'a' + 'A' : var[n]);
	name[n] = '\0';
	for (int i = 0; words[i]; i++)
		if (strstr(name, words[i]))
			return true;
	return false;
}

/* Values that hold a secret whatever the name: a URL with a password, libpq's password=, the configured secrets. */
static bool
secret_value(const char *value, const pg2md_config *cfg)
{
	const char *scheme = strstr(value, "://");
	if (scheme) {
		const char *auth = scheme + 3, *at = strchr(auth, '@'), *slash = strchr(auth, '/');
		if (at && (!slash || at < slash) && memchr(auth, ':', (size_t)(at - auth)))
			return true;
	}
	if (strcasestr(value, "password=") || strcasestr(value, "motherduck_token="))
		return true;
	if (cfg->pg_password && strlen(cfg->pg_password) >= 4 && strstr(value, cfg->pg_password))
		return true;
	if (cfg->md_token && strlen(cfg->md_token) >= 4 && strstr(value, cfg->md_token))
		return true;
	return false;
}

static bool
hook_name(const char *var)
{
	return strncmp(var, "PG2MD_ERROR", 11) == 0 || strncmp(var, "PG2MD_EXIT_CODE=", 16) == 0 ||
	       strncmp(var, "PG2MD_PIPELINE=", 15) == 0 || strncmp(var, "PG2MD_STAGE=", 12) == 0 ||
	       strncmp(var, "PG2MD_LOAD_ID=", 14) == 0 || strncmp(var, "PG2MD_DATASET=", 14) == 0 ||
	       strncmp(var, "PG2MD_PROJECT_DIR=", 18) == 0;
}

/*
 * Run [runtime] on_failure with /bin/sh -c, its output on our stderr, stdin
 * from /dev/null, in its own process group, given at most
 * HOOK_TIMEOUT_SECONDS (PG2MD_ON_FAILURE_TIMEOUT overrides) before it and
 * its children are stopped.  Its environment is ours without any secret, plus
 * PG2MD_ERROR, PG2MD_ERROR_DETAIL, PG2MD_ERROR_HINT, PG2MD_EXIT_CODE,
 * PG2MD_PIPELINE, PG2MD_DATASET, PG2MD_PROJECT_DIR, PG2MD_STAGE, PG2MD_LOAD_ID.
 */
static void
run_on_failure(const pg2md_config *cfg, const pg2md_trace *t, const pg2md_error *err, const char *stage)
{
	int n = 0, timeout = HOOK_TIMEOUT_SECONDS, status = 0;
	char **envp;
	const char *tv = getenv("PG2MD_ON_FAILURE_TIMEOUT");
	pid_t pid;
	double deadline;
	bool done = false;

	if (tv && atoi(tv) > 0)
		timeout = atoi(tv);
	for (char **e = environ; *e; e++)
		n++;
	envp = xcalloc((size_t)n + 16, sizeof(char *));
	n = 0;
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || secret_name(*e) || secret_value(eq + 1, cfg) || hook_name(*e))
			continue;
		envp[n++] = *e;
	}
	/* a run's error, detail and hint never hold a secret (DESIGN §1) */
	envp[n++] = xasprintf("PG2MD_ERROR=%s", err->msg);
	if (err->detail[0])
		envp[n++] = xasprintf("PG2MD_ERROR_DETAIL=%s", err->detail);
	if (err->hint[0])
		envp[n++] = xasprintf("PG2MD_ERROR_HINT=%s", err->hint);
	envp[n++] = xasprintf("PG2MD_EXIT_CODE=%d", (int)err->code);
	envp[n++] = xasprintf("PG2MD_PIPELINE=%s", cfg->pipeline_name);
	envp[n++] = xasprintf("PG2MD_DATASET=%s", cfg->dataset_name);
	envp[n++] = xasprintf("PG2MD_PROJECT_DIR=%s", cfg->project_dir);
	envp[n++] = xasprintf("PG2MD_STAGE=%s", stage);
	envp[n++] = xasprintf("PG2MD_LOAD_ID=%s", t->load_id ? t->load_id : "");
	envp[n] = NULL;

	pg2md_info("running the on_failure command");
	fflush(stdout);
	fflush(stderr);
	/*
	 * posix_spawn rather than fork: no atfork handlers run (DuckDB's allocator has some), and
	 * the child gets its own process group (so a timeout stops its children too), stdin from
	 * /dev/null, stdout onto our stderr, SIGPIPE back to its default, no blocked signals.
	 */
	{
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t attr;
		sigset_t none, dfl;
		int rc;
		sigemptyset(&none);
		sigemptyset(&dfl);
		sigaddset(&dfl, SIGPIPE);
		sigaddset(&dfl, SIGINT);
		sigaddset(&dfl, SIGTERM);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
		posix_spawnattr_init(&attr);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		posix_spawnattr_setpgroup(&attr, 0);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &dfl);
		rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, (char *const[]){"sh", "-c", cfg->on_failure, NULL}, envp);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
		if (rc != 0) {
			fprintf(stderr, "pg2md: warning: could not run the on_failure command: %s\n", strerror(rc));
			goto out;
		}
	}
	deadline = now_seconds() + timeout;
	while (!done) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR)) {
			done = true;
			break;
		}
		if (now_seconds() >= deadline)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	if (!done) {
		fprintf(stderr, "pg2md: warning: the on_failure command did not finish within %d s; stopping it\n", timeout);
		kill(-pid, SIGTERM);
		deadline = now_seconds() + 5;
		while (waitpid(pid, &status, WNOHANG) == 0 && now_seconds() < deadline)
			nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		fprintf(stderr, "pg2md: warning: the on_failure command exited with status %d\n", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		fprintf(stderr, "pg2md: warning: the on_failure command was terminated by signal %d\n", WTERMSIG(status));
	}
out:
	for (int i = 0; i < n; i++)
		if (strncmp(envp[i], "PG2MD_", 6) == 0 && hook_name(envp[i]))
			free(envp[i]);
	free(envp);
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
	progress_view *view = progress_view_start(opts->progress, cfg->log_format && strcasecmp(cfg->log_format, "JSON") == 0);
	pipeline_run(cfg, stages, &trace, &err);
	progress_view_end(view);
	progress_status_remove(cfg);
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
		print_summary(stdout, &trace, stages, false);
		code = 0;
	}
	fflush(stdout);
	{
		const char *failed = pg2md_failed(&err) ? metrics_failed_stage(&trace, stages) : NULL;
		if (cfg->metrics_file) {
			metrics_run mr = {cfg, &trace, &err, failed,
					  !pg2md_failed(&err) && (stages & STAGE_LOAD) && !trace.note};
			pg2md_error merr;
			pg2md_error_init(&merr);
			if (metrics_write(cfg->metrics_file, &mr, &merr))
				fprintf(stderr, "pg2md: warning: %s\n", merr.msg);
		}
		if (failed && cfg->on_failure && cfg->on_failure[0])
			run_on_failure(cfg, &trace, &err, failed);
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
	pg2md_config *cfg;
	pg2md_error err;
	json_t *doc;

	if (opts->html && opts->json) {
		fprintf(stderr, "pg2md trace: options --json and --html cannot be used together\n"
				"Try \"pg2md trace --help\" for more information.\n");
		return PG2MD_ERR_USAGE;
	}
	cfg = cli_load_config(opts, &code);
	if (!cfg)
		return code;
	pg2md_error_init(&err);
	doc = trace_load(cfg, &err);
	if (!doc) {
		cli_print_error(&err);
		pg2md_config_free(cfg);
		return err.code;
	}
	if (opts->html) {
		if (report_html_write(opts->html, doc, &err)) {
			cli_print_error(&err);
			json_decref(doc);
			pg2md_config_free(cfg);
			return err.code;
		}
		if (strcmp(opts->html, "-") != 0)
			fprintf(stderr, "pg2md: wrote the HTML report of the last run of pipeline \"%s\" to \"%s\"\n",
				cfg->pipeline_name, opts->html);
	} else if (opts->json) {
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
		print_summary(stdout, &t, STAGE_ALL, true);
		{
			json_t *tl = json_object_get(doc, "timeline");
			size_t nspans = json_array_size(json_object_get(tl, "spans"));
			if (nspans > 0)
				printf("  timeline: %zu spans, %zu throughput samples; pg2md trace --html FILE draws them\n",
				       nspans, json_array_size(json_object_get(tl, "samples")));
		}
		pipeline_trace_release(&t);
	}
	json_decref(doc);
	pg2md_config_free(cfg);
	return 0;
}

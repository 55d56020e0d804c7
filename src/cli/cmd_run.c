/*
 * cmd_run.c — `pg2md run`, `extract`, `normalize`, `load`: run the pipeline
 * stages (pg2md_run, which also writes the metrics file of [runtime]
 * metrics_file) and print the run summary a person reads at a glance; then,
 * when the run failed, the [runtime] on_failure command, run with the error in
 * its environment and every secret taken out of it.  `pg2md trace` shows a
 * stored run the same way.
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

#include "cli.h"
#include "progress_view.h"
#include "report.h"

extern char **environ;

#define HOOK_TIMEOUT_SECONDS 60

void
print_summary(FILE *f, const pg2md_run_info *t, unsigned stages, bool detail)
{
	char a[32], b[32], c[32], d[32], e[32];
	int64_t rows = 0, bytes = 0, fbytes = 0, lossy = 0;
	int files = 0, tasks = 0, retries = 0;
	int namew = 5;

	if (t->finished_pending)
		fprintf(f, "pg2md: finished load package %s that an earlier run left %s; no new data was extracted\n"
			   "       run again to extract new data\n",
			t->load_id, t->pending_state);
	else if (stages == PG2MD_STAGE_ALL || (stages & PG2MD_STAGE_LOAD))
		fprintf(f, "pg2md: loaded %d table%s into %s, dataset \"%s\"\n", t->ntables, t->ntables == 1 ? "" : "s",
			t->destination ? t->destination : "the destination", t->dataset);
	else if (stages == PG2MD_STAGE_NORMALIZE)
		fprintf(f, "pg2md: normalized load package %s (%d table%s); pg2md load loads it\n", t->load_id, t->ntables,
			t->ntables == 1 ? "" : "s");
	else
		fprintf(f, "pg2md: extracted %d table%s into load package %s\n", t->ntables, t->ntables == 1 ? "" : "s",
			t->load_id);
	if (t->found_in)
		fprintf(f, "       no table list: every table of schema \"%s\", %d found\n", t->found_in, t->ntables);
	if (!t->finished_pending && t->workers > 0)
		fprintf(f, "       load %s, %s mode, %d worker%s, %d task%s\n", t->load_id, t->direct ? "direct" : "staged",
			t->workers, t->workers == 1 ? "" : "s", t->tasks, t->tasks == 1 ? "" : "s");
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
		const pg2md_table_run *s = &t->tables[i];
		double rate = s->seconds > 0 ? (double)s->rows / s->seconds : 0;
		fprintf(f, "  %-*s  %-8s %12s %10s %10s %9s %12s", namew, s->name,
			s->write_disposition ? s->write_disposition : "", fmt_count(a, sizeof(a), (double)s->rows),
			fmt_bytes(b, sizeof(b), (double)s->bytes_read),
			t->direct ? "-" : fmt_bytes(c, sizeof(c), (double)s->bytes_staged),
			fmt_seconds(d, sizeof(d), s->seconds), s->seconds > 0 ? fmt_count(e, sizeof(e), rate) : "-");
		if (detail)
			fprintf(f, " %6d %6d %8d", s->files, s->tasks, s->retries);
		fputc('\n', f);
		files += s->files;
		tasks += s->tasks;
		retries += s->retries;
		rows += s->rows;
		bytes += s->bytes_read;
		fbytes += s->bytes_staged;
		lossy += s->lossy;
	}
	double ex = t->seconds_extract > 0 ? t->seconds_extract : 0;
	fprintf(f, "  %-*s  %-8s %12s %10s %10s %9s %12s", namew, "total", "", fmt_count(a, sizeof(a), (double)rows),
		fmt_bytes(b, sizeof(b), (double)bytes), t->direct ? "-" : fmt_bytes(c, sizeof(c), (double)fbytes),
		fmt_seconds(d, sizeof(d), t->seconds_total),
		t->seconds_total > 0 ? fmt_count(e, sizeof(e), (double)rows / t->seconds_total) : "-");
	if (detail)
		fprintf(f, " %6d %6d %8d", files, tasks, retries);
	fputc('\n', f);
	fprintf(f, "\n  stages: extract %s, ", fmt_seconds(a, sizeof(a), ex));
	fprintf(f, "normalize %s, ", fmt_seconds(a, sizeof(a), t->seconds_normalize));
	fprintf(f, "load %s; total %s; peak RSS %s\n", fmt_seconds(b, sizeof(b), t->seconds_load),
		fmt_seconds(c, sizeof(c), t->seconds_total), fmt_bytes(d, sizeof(d), (double)t->peak_rss_bytes));
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
secret_value(const char *value, const pg2md_pipeline *p)
{
	const char *scheme = strstr(value, "://");
	if (scheme) {
		const char *auth = scheme + 3, *at = strchr(auth, '@'), *slash = strchr(auth, '/');
		if (at && (!slash || at < slash) && memchr(auth, ':', (size_t)(at - auth)))
			return true;
	}
	if (strcasestr(value, "password=") || strcasestr(value, "motherduck_token="))
		return true;
	return pg2md_holds_secret(p, value) != 0;
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
run_on_failure(const pg2md_pipeline *p, const pg2md_run_info *t, const pg2md_err *err)
{
	const pg2md_pipeline_info *pi = pg2md_describe(p);
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
	envp = cli_alloc(((size_t)n + 16) * sizeof(char *));
	n = 0;
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || secret_name(*e) || secret_value(eq + 1, p) || hook_name(*e))
			continue;
		envp[n++] = *e;
	}
	/* a run's error, detail and hint never hold a secret (DESIGN §1) */
	envp[n++] = cli_asprintf("PG2MD_ERROR=%s", err->message);
	if (err->detail[0])
		envp[n++] = cli_asprintf("PG2MD_ERROR_DETAIL=%s", err->detail);
	if (err->hint[0])
		envp[n++] = cli_asprintf("PG2MD_ERROR_HINT=%s", err->hint);
	envp[n++] = cli_asprintf("PG2MD_EXIT_CODE=%d", cli_exit_code(err->status));
	envp[n++] = cli_asprintf("PG2MD_PIPELINE=%s", pi->pipeline_name);
	envp[n++] = cli_asprintf("PG2MD_DATASET=%s", pi->dataset);
	envp[n++] = cli_asprintf("PG2MD_PROJECT_DIR=%s", pi->project_dir);
	envp[n++] = cli_asprintf("PG2MD_STAGE=%s", t->failed_stage ? t->failed_stage : "extract");
	envp[n++] = cli_asprintf("PG2MD_LOAD_ID=%s", t->load_id ? t->load_id : "");
	envp[n] = NULL;

	cli_log(CLI_LOG_INFO, "running the on_failure command");
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
		rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, (char *const[]){"sh", "-c", (char *)pi->on_failure, NULL}, envp);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
		if (rc != 0) {
			fprintf(stderr, "pg2md: warning: could not run the on_failure command: %s\n", strerror(rc));
			goto out;
		}
	}
	deadline = clock_seconds() + timeout;
	while (!done) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR)) {
			done = true;
			break;
		}
		if (clock_seconds() >= deadline)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	if (!done) {
		fprintf(stderr, "pg2md: warning: the on_failure command did not finish within %d s; stopping it\n", timeout);
		kill(-pid, SIGTERM);
		deadline = clock_seconds() + 5;
		while (waitpid(pid, &status, WNOHANG) == 0 && clock_seconds() < deadline)
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
run_stages(cli_opts *opts, unsigned stages)
{
	int code;
	pg2md_pipeline *p = cli_open(opts, &code);
	pg2md_err err;

	if (!p)
		return code;
	progress_view *view = progress_view_start(p, opts->progress, pg2md_describe(p)->log_json);
	pg2md_status st = pg2md_run(p, stages, &err);
	progress_view_end(p, view);
	const pg2md_run_info *t = pg2md_last_run(p);
	if (st != PG2MD_SUCCESS)
		cli_print_error(&err);
	else if (t->note)
		printf("pg2md: %s\n", t->note);
	else
		print_summary(stdout, t, stages, false);
	fflush(stdout);
	if (st != PG2MD_SUCCESS && pg2md_describe(p)->on_failure)
		run_on_failure(p, t, &err);
	pg2md_close(p);
	return cli_exit_code(st);
}

int
cmd_run(cli_opts *opts)
{
	return run_stages(opts, PG2MD_STAGE_ALL);
}

int
cmd_extract(cli_opts *opts)
{
	return run_stages(opts, PG2MD_STAGE_EXTRACT);
}

int
cmd_normalize(cli_opts *opts)
{
	return run_stages(opts, PG2MD_STAGE_NORMALIZE);
}

int
cmd_load(cli_opts *opts)
{
	return run_stages(opts, PG2MD_STAGE_LOAD);
}

/* The stored trace as JSON, or NULL with the error printed and *code set. */
static json_t *
load_trace(pg2md_pipeline *p, int *code)
{
	char *text = NULL;
	pg2md_err err;
	json_t *doc;

	if (pg2md_trace_json(p, &text, &err) != PG2MD_SUCCESS) {
		cli_print_error(&err);
		*code = cli_exit_code(err.status);
		return NULL;
	}
	doc = json_loads(text, 0, NULL);
	pg2md_free(text);
	if (!doc) {
		cli_fail(&err, PG2MD_FAILED, "could not read the stored trace");
		cli_print_error(&err);
		*code = EXIT_RUN;
	}
	return doc;
}

/* `pg2md trace` as text: the summary of the stored run, in detail. */
static int
print_trace(pg2md_pipeline *p, json_t *doc)
{
	const pg2md_run_info *t;
	pg2md_err err;

	if (pg2md_last_trace(p, &t, &err) != PG2MD_SUCCESS) {
		cli_print_error(&err);
		return cli_exit_code(err.status);
	}
	printf("last run of pipeline \"%s\", finished %s\n", pg2md_describe(p)->pipeline_name, t->finished_at);
	if (t->status != PG2MD_SUCCESS)
		printf("the run failed (exit code %d): %s\n", cli_exit_code(t->status), t->error);
	print_summary(stdout, t, PG2MD_STAGE_ALL, true);
	json_t *tl = json_object_get(doc, "timeline");
	size_t nspans = json_array_size(json_object_get(tl, "spans"));
	if (nspans > 0)
		printf("  timeline: %zu spans, %zu throughput samples; pg2md trace --html FILE draws them\n", nspans,
		       json_array_size(json_object_get(tl, "samples")));
	return EXIT_OK;
}

int
cmd_trace(cli_opts *opts)
{
	int code = EXIT_OK;
	pg2md_pipeline *p;
	pg2md_err err;
	json_t *doc;

	if (opts->html && opts->json) {
		fprintf(stderr, "pg2md trace: options --json and --html cannot be used together\n"
				"Try \"pg2md trace --help\" for more information.\n");
		return EXIT_USAGE;
	}
	p = cli_open(opts, &code);
	if (!p)
		return code;
	doc = load_trace(p, &code);
	if (!doc) {
		pg2md_close(p);
		return code;
	}
	if (opts->html) {
		memset(&err, 0, sizeof(err));
		if (report_html_write(opts->html, doc, &err)) {
			cli_print_error(&err);
			code = cli_exit_code(err.status);
		} else if (strcmp(opts->html, "-") != 0) {
			fprintf(stderr, "pg2md: wrote the HTML report of the last run of pipeline \"%s\" to \"%s\"\n",
				pg2md_describe(p)->pipeline_name, opts->html);
		}
	} else if (opts->json) {
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
		puts(text);
		free(text);
	} else {
		code = print_trace(p, doc);
	}
	json_decref(doc);
	pg2md_close(p);
	return code;
}

/*
 * metrics.c — write a run's metrics as a Prometheus text file (see metrics.h).
 *
 * Every sample carries a pipeline="<name>" label, so the files of several
 * pipelines can sit side by side in one textfile-collector folder.  Each
 * family is written as "# HELP", "# TYPE", then its samples, once; label
 * values are escaped as the format requires (backslash, double quote,
 * newline).  The file is made readable by others (0644) although runs use
 * umask 077: node_exporter usually runs as another user, and the file holds
 * table names and numbers, never a credential.
 */
#include "stage/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "stage/package.h"
#include "util/buf.h"

const char *
metrics_failed_stage(const pg2md_trace *t, int stages)
{
	if (stages == STAGE_NORMALIZE)
		return "normalize";
	if (stages == STAGE_LOAD)
		return "load";
	if (stages == STAGE_EXTRACT)
		return "extract";
	/* Each stage records its time when it ends, failed or not; the last one that started failed. */
	if (t->t_load > 0)
		return "load";
	if (t->t_normalize > 0)
		return "normalize";
	if (t->finished_pending)
		return "load";
	if (t->direct && t->t_extract > 0)
		return "load";
	return "extract";
}

void
metrics_escape_label(pg2md_buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			buf_puts(b, "\\\\");
		else if (*s == '"')
			buf_puts(b, "\\\"");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
}

void
metrics_family(pg2md_buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{pipeline="…"[,key="value"]} value */
static void
sample(pg2md_buf *b, const char *name, const char *pipeline, const char *key, const char *value, double v)
{
	buf_printf(b, "%s{pipeline=\"", name);
	metrics_escape_label(b, pipeline);
	if (key) {
		buf_printf(b, "\",%s=\"", key);
		metrics_escape_label(b, value);
	}
	if (v < 1e15 && v > -1e15 && v == (double)(long long)v)
		buf_printf(b, "\"} %lld\n", (long long)v);
	else
		buf_printf(b, "\"} %.3f\n", v);
}

/* The value of the first sample of name in an earlier metrics file, or -1. */
static double
previous_value(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *end = strchr(line, '\n'), *sp;
		char num[64];
		if (strncmp(line, name, n) != 0 || (line[n] != '{' && line[n] != ' '))
			continue;
		if (!end)
			end = line + strlen(line);
		for (sp = end; sp > line && sp[-1] != ' '; sp--)
			;
		if (sp == line || (size_t)(end - sp) >= sizeof(num))
			continue;
		memcpy(num, sp, (size_t)(end - sp));
		num[end - sp] = '\0';
		return strtod(num, NULL);
	}
	return -1;
}

/* The text of an earlier metrics file in *text (NULL: none); false when memory ran out. */
static bool
read_small_file(const char *path, char **text)
{
	FILE *f = fopen(path, "r");
	pg2md_buf b = PG2MD_BUF_INIT;
	char chunk[4096];
	size_t n;
	*text = NULL;
	if (!f)
		return true;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1 << 20))
		buf_append(&b, chunk, n);
	fclose(f);
	if (!b.data)
		buf_puts(&b, "");
	return (*text = buf_detach(&b)) != NULL;
}

/* The packages in state s; -1 when memory ran out. */
static int
count_packages(const pg2md_config *cfg, pkg_state s)
{
	int n;
	char **ids = pkg_list(cfg, s, &n);
	if (!ids)
		return -1;
	pkg_list_free(ids);
	return n;
}

pg2md_code
metrics_write_file(const char *path, const char *text, pg2md_error *err)
{
	/* the temp name does not end in .prom: the textfile collector ignores it */
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	char *dir = xstrdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	size_t len = strlen(text), off = 0;
	int fd = tmp && dir ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;

	if (!tmp || !dir) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (fd < 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not write metrics file \"%s\": %s", tmp, strerror(errno));
		goto done;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < len || fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not write metrics file \"%s\": %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto done;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not rename \"%s\" to \"%s\": %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto done;
	}
	if (slash) {
		*slash = '\0';
		int dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
done:
	free(tmp);
	free(dir);
	return err->code;
}

pg2md_code
metrics_write(const char *path, const metrics_run *run, pg2md_error *err)
{
	const pg2md_config *cfg = run->cfg;
	const pg2md_trace *t = run->trace;
	const char *pl = cfg->pipeline_name;
	bool ok = run->result->code == PG2MD_OK;
	char *old;
	struct timeval tv;
	double now, last_success, last_load;
	pg2md_buf b = PG2MD_BUF_INIT;
	static const char *const stages[] = {"extract", "normalize", "load"};
	pg2md_code result;
	int pending[2] = {count_packages(cfg, PKG_EXTRACTED), count_packages(cfg, PKG_NORMALIZED)};

	/* a file that lacks what memory could not hold is not written (the old one stays) */
	if (!read_small_file(path, &old) || pending[0] < 0 || pending[1] < 0) {
		free(old);
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	gettimeofday(&tv, NULL);
	now = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
	last_success = ok ? now : previous_value(old, "pg2md_last_success_timestamp_seconds");
	last_load = ok && run->loaded ? now : previous_value(old, "pg2md_last_load_timestamp_seconds");
	free(old);

	metrics_family(&b, "pg2md_last_run_timestamp_seconds", "gauge",
	       "Unix time the last run of the pipeline ended, whether it succeeded or failed.");
	sample(&b, "pg2md_last_run_timestamp_seconds", pl, NULL, NULL, now);
	metrics_family(&b, "pg2md_last_success_timestamp_seconds", "gauge",
	       "Unix time the last successful run ended (0: none recorded yet).");
	sample(&b, "pg2md_last_success_timestamp_seconds", pl, NULL, NULL, last_success > 0 ? last_success : 0);
	metrics_family(&b, "pg2md_last_exit_code", "gauge",
	       "Exit code of the last run: 0 success, 1 run failed, 2 configuration, 3 connection, 4 interrupted.");
	sample(&b, "pg2md_last_exit_code", pl, NULL, NULL, (double)run->result->code);

	metrics_family(&b, "pg2md_run_failed", "gauge", "1 when the last run failed in this stage, else 0.");
	for (int i = 0; i < 3; i++)
		sample(&b, "pg2md_run_failed", pl, "stage", stages[i],
		       !ok && run->failed_stage && strcmp(run->failed_stage, stages[i]) == 0 ? 1 : 0);

	metrics_family(&b, "pg2md_run_duration_seconds", "gauge", "Wall time of each stage of the last run, and of the whole run.");
	sample(&b, "pg2md_run_duration_seconds", pl, "stage", "extract", t->t_extract);
	sample(&b, "pg2md_run_duration_seconds", pl, "stage", "normalize", t->t_normalize);
	sample(&b, "pg2md_run_duration_seconds", pl, "stage", "load", t->t_load);
	sample(&b, "pg2md_run_duration_seconds", pl, "stage", "total", t->t_total);

	if (t->ntables > 0) {
		metrics_family(&b, "pg2md_rows_total", "gauge", "Rows the last run copied, per source table.");
		for (int i = 0; i < t->ntables; i++)
			sample(&b, "pg2md_rows_total", pl, "table", t->tables[i].name, (double)t->tables[i].rows);
		metrics_family(&b, "pg2md_bytes_total", "gauge", "Bytes the last run read from PostgreSQL, per source table.");
		for (int i = 0; i < t->ntables; i++)
			sample(&b, "pg2md_bytes_total", pl, "table", t->tables[i].name, (double)t->tables[i].bytes);
	}

	metrics_family(&b, "pg2md_pending_packages", "gauge",
	       "Load packages extracted but not loaded yet; the next run finishes them.");
	sample(&b, "pg2md_pending_packages", pl, NULL, NULL,
	       (double)(pending[0] + pending[1]));
	metrics_family(&b, "pg2md_peak_rss_bytes", "gauge", "Peak resident memory of the last run.");
	sample(&b, "pg2md_peak_rss_bytes", pl, NULL, NULL, (double)t->peak_rss);

	if (last_load > 0) {
		metrics_family(&b, "pg2md_last_load_timestamp_seconds", "gauge",
		       "Unix time the last successful load committed data into the destination.");
		sample(&b, "pg2md_last_load_timestamp_seconds", pl, NULL, NULL, last_load);
		metrics_family(&b, "pg2md_load_lag_seconds", "gauge",
		       "Seconds from the last successful load to the end of the last run (how stale the destination was "
		       "then; time() - pg2md_last_load_timestamp_seconds is the live value).");
		sample(&b, "pg2md_load_lag_seconds", pl, NULL, NULL, now - last_load);
	}

	result = buf_broken(&b) ? pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory") : metrics_write_file(path, b.data, err);
	buf_release(&b);
	return result;
}

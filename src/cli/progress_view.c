/*
 * progress_view.c — the command line's live display and progress log lines (see
 * progress_view.h).  The library's reporting thread calls render() about once a second with a
 * snapshot; everything here belongs to that thread while a run extracts.
 */
#include "progress_view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define LOG_SECONDS 5.0  /* between log lines */
#define TTY_MAX_TABLES 10

enum { MODE_LOG, MODE_TTY };

struct progress_view {
	int mode;
	bool json_log;
	double last_log;  /* elapsed seconds of the last log line */
	int tty_lines;    /* lines of the live display on screen */
};

static void
emit(const char *text)
{
	if (!text)
		return;
	fputs(text, stderr);
	fflush(stderr);
}

/* ", about 40 s left" or "" */
static void
eta_text(char *out, size_t n, double eta)
{
	char s[32];
	if (eta < 0) {
		out[0] = '\0';
		return;
	}
	snprintf(out, n, ", about %s left", fmt_seconds(s, sizeof(s), eta));
}

static void
log_line(progress_view *v, const pg2md_progress_info *p)
{
	char a[32], b[32], c[32], d[32], eta[64], ts[32];
	strbuf line = STRBUF_INIT;

	eta_text(eta, sizeof(eta), p->eta_seconds);
	sb_printf(&line, "progress: %d/%d tables done, %s rows, %s, %s rows/s, %s elapsed%s", p->tables_done,
		   p->tables_total, fmt_count(a, sizeof(a), (double)p->rows), fmt_bytes(b, sizeof(b), (double)p->bytes),
		   fmt_count(c, sizeof(c), p->rows_per_second), fmt_seconds(d, sizeof(d), p->elapsed_seconds), eta);
	for (int i = 0; i < p->nrunning; i++) {
		if (i == 3) {
			sb_puts(&line, ", …");
			break;
		}
		sb_printf(&line, "%s \"%s\"", i ? "," : "; running", p->running[i].name);
	}
	if (v->json_log) {
		strbuf j = STRBUF_INIT;
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		sb_printf(&j, "{\"time\":\"%s\",\"level\":\"INFO\",\"logger\":\"pg2md\",\"msg\":\"", ts);
		for (const char *s = line.data; *s; s++) {
			if (*s == '"' || *s == '\\')
				sb_putc(&j, '\\');
			sb_putc(&j, *s);
		}
		sb_puts(&j, "\"}\n");
		emit(j.data);
		sb_release(&j);
	} else {
		strbuf out = STRBUF_INIT;
		sb_printf(&out, "pg2md: %s\n", line.data);
		emit(out.data);
		sb_release(&out);
	}
	sb_release(&line);
}

static int
term_width(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* Append one display line, cut to the terminal's width so nothing wraps (wrapping breaks the redraw). */
static void tty_add(strbuf *frame, int width, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
tty_add(strbuf *frame, int width, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if ((int)strlen(line) > width - 1)
		line[width - 1] = '\0';
	sb_puts(frame, line);
	sb_puts(frame, "\033[K\n");
}

/* Move the cursor back over the last frame and clear it. */
static void
tty_erase(progress_view *v, strbuf *frame)
{
	if (v->tty_lines > 0)
		sb_printf(frame, "\r\033[%dA\033[J", v->tty_lines);
	v->tty_lines = 0;
}

static void
tty_draw(progress_view *v, const pg2md_progress_info *p)
{
	strbuf frame = STRBUF_INIT;
	char a[32], b[32], c[32], d[32], e[32];
	int width = term_width(), namew = 5, lines = 0, more = 0;

	for (int i = 0; i < p->nrunning; i++) {
		int l = (int)strlen(p->running[i].name);
		if (l > namew)
			namew = l > 30 ? 30 : l;
	}
	tty_erase(v, &frame);
	tty_add(&frame, width, "pg2md: extracting %d table%s: %d done, %d running, %d waiting", p->tables_total,
		p->tables_total == 1 ? "" : "s", p->tables_done, p->tables_running,
		p->tables_total - p->tables_done - p->tables_running);
	lines++;
	for (int i = 0; i < p->nrunning; i++) {
		const pg2md_progress_table *t = &p->running[i];
		if (lines > TTY_MAX_TABLES) {
			more++;
			continue;
		}
		if (t->est_rows > 0) {
			char n[24];
			snprintf(e, sizeof(e), "~%s", fmt_count(n, sizeof(n), t->est_rows));
		} else {
			snprintf(e, sizeof(e), "?");
		}
		if (t->est_rows > (double)t->rows && t->rows_per_second > 0)
			fmt_seconds(d, sizeof(d), (t->est_rows - (double)t->rows) / t->rows_per_second);
		else
			snprintf(d, sizeof(d), "-");
		tty_add(&frame, width, "  %-*.*s %9s / %-7s rows %10s %10s rows/s  ETA %s", namew, namew, t->name,
			fmt_count(a, sizeof(a), (double)t->rows), e, fmt_bytes(b, sizeof(b), (double)t->bytes),
			t->rows_per_second > 0 ? fmt_count(c, sizeof(c), t->rows_per_second) : "-", d);
		lines++;
	}
	if (more) {
		tty_add(&frame, width, "  … and %d more", more);
		lines++;
	}
	if (p->eta_seconds >= 0)
		fmt_seconds(d, sizeof(d), p->eta_seconds);
	else
		snprintf(d, sizeof(d), "-");
	tty_add(&frame, width, "  %-*s %9s rows %10s %10s rows/s  %s elapsed, ETA %s", namew, "total",
		fmt_count(a, sizeof(a), (double)p->rows), fmt_bytes(b, sizeof(b), (double)p->bytes),
		fmt_count(c, sizeof(c), p->rows_per_second), fmt_seconds(e, sizeof(e), p->elapsed_seconds), d);
	lines++;
	v->tty_lines = lines;
	emit(frame.data);
	sb_release(&frame);
}

static void
render(void *arg, const pg2md_progress_info *p)
{
	progress_view *v = arg;
	if (v->mode == MODE_TTY && p->final) {
		strbuf frame = STRBUF_INIT;
		tty_erase(v, &frame);
		emit(frame.data);
		sb_release(&frame);
	} else if (v->mode == MODE_TTY) {
		tty_draw(v, p);
	} else if (!p->final && p->elapsed_seconds - v->last_log >= LOG_SECONDS) {
		v->last_log = p->elapsed_seconds;
		log_line(v, p);
	}
	if (p->final)
		v->last_log = 0; /* the next run starts its own clock */
}

progress_view *
progress_view_start(pg2md_pipeline *p, const char *mode, bool json_log)
{
	int m;
	if (mode && strcmp(mode, "none") == 0)
		return NULL;
	if (mode && strcmp(mode, "log") == 0) {
		m = MODE_LOG;
	} else if (mode && strcmp(mode, "tty") == 0) {
		m = MODE_TTY;
	} else if (isatty(STDERR_FILENO)) {
		const char *term = getenv("TERM");
		m = term && strcmp(term, "dumb") == 0 ? MODE_LOG : MODE_TTY;
	} else {
		m = MODE_LOG;
	}
	progress_view *v = cli_alloc(sizeof(*v));
	v->mode = m;
	v->json_log = json_log;
	pg2md_set_progress(p, render, v);
	return v;
}

void
progress_view_end(pg2md_pipeline *p, progress_view *v)
{
	if (!v)
		return;
	pg2md_set_progress(p, NULL, NULL);
	free(v);
}

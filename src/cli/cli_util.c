/*
 * cli_util.c — the command line's own helpers: allocation that gives up on out of memory,
 * a growable string, numbers a person reads, errors it fills itself.  The library has its own
 * (src/util/); the command line sees nothing of the library but include/pg2md.h.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
out_of_memory(void)
{
	fputs("pg2md: error: out of memory\n", stderr);
	exit(EXIT_RUN);
}

void *
cli_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *
cli_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *
cli_strdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		out_of_memory();
	return p;
}

char *
cli_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		out_of_memory();
	va_end(ap);
	return p;
}

static void
sb_reserve(strbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap = b->cap ? b->cap : 64;
	if (need <= b->cap)
		return;
	while (cap < need)
		cap *= 2;
	b->data = cli_realloc(b->data, cap);
	b->cap = cap;
}

void
sb_append(strbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
sb_puts(strbuf *b, const char *s)
{
	sb_append(b, s, strlen(s));
}

void
sb_putc(strbuf *b, char c)
{
	sb_append(b, &c, 1);
}

void
sb_printf(strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	sb_reserve(b, 64);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		sb_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

char *
sb_detach(strbuf *b)
{
	char *s = b->data ? b->data : cli_strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void
sb_release(strbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static char *
scaled(char *out, size_t n, double v, const char *const *units, int nunits, double step, const char *sep)
{
	int u = 0;
	while (v >= step * 0.9995 && u < nunits - 1) {
		v /= step;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%.0f%s%s", v, *units[0] ? sep : "", units[0]);
	else
		snprintf(out, n, v < 9.95 ? "%.1f%s%s" : "%.0f%s%s", v, sep, units[u]);
	return out;
}

char *
fmt_count(char *out, size_t n, double v)
{
	static const char *const units[] = {"", "k", "M", "G", "T"};
	return scaled(out, n, v, units, 5, 1000.0, " ");
}

char *
fmt_bytes(char *out, size_t n, double v)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	if (v < 1000) {
		snprintf(out, n, "%.0f B", v);
		return out;
	}
	return scaled(out, n, v, units, 5, 1000.0, " ");
}

char *
fmt_seconds(char *out, size_t n, double s)
{
	if (s < 1.0)
		snprintf(out, n, "%.0f ms", s * 1000.0);
	else if (s < 60.0)
		snprintf(out, n, "%.1f s", s);
	else if (s < 3600.0)
		snprintf(out, n, "%d min %02d s", (int)(s / 60), (int)s % 60);
	else
		snprintf(out, n, "%d h %02d min", (int)(s / 3600), ((int)s % 3600) / 60);
	return out;
}

double
clock_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
cli_fail(pg2md_err *err, pg2md_status status, const char *fmt, ...)
{
	va_list ap;
	if (err->status != PG2MD_SUCCESS)
		return;
	memset(err, 0, sizeof(*err));
	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

void
cli_detail(pg2md_err *err, const char *fmt, ...)
{
	va_list ap;
	if (err->detail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void
cli_hint(pg2md_err *err, const char *fmt, ...)
{
	va_list ap;
	if (err->hint[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

/* buf.c — growable string buffer and allocation wrappers (see buf.h). */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void *
xmalloc(size_t n)
{
	return mem_malloc(n);
}

void *
xcalloc(size_t n, size_t size)
{
	return mem_calloc(n, size);
}

void *
xrealloc(void *p, size_t n)
{
	return mem_realloc(p, n);
}

char *
xstrdup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char small[256];

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return xstrdup("");
	char *p = xmalloc((size_t)n + 1);
	if (!p)
		return NULL;
	if ((size_t)n < sizeof(small)) {
		memcpy(p, small, (size_t)n + 1);
	} else {
		va_start(ap, fmt);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	return p;
}

/* ---- buffers ----------------------------------------------------------------------------- */

const char buf_oom_text[1] = "";

/* Memory ran out: the buffer holds nothing from now on (buf_is_oom tells its users). */
void
buf_break(pg2md_buf *b)
{
	if (!buf_broken(b))
		free(b->data);
	b->data = (char *)buf_oom_text;
	b->len = b->cap = 0;
}

void
buf_reserve(pg2md_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (buf_broken(b) || need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	char *data = mem_realloc(b->data, cap);
	if (!data) {
		buf_break(b);
		return;
	}
	b->data = data;
	b->cap = cap;
}

void
buf_append(pg2md_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	if (buf_broken(b))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(pg2md_buf *b, const char *s)
{
	if (!s) {
		buf_break(b); /* a string whose allocation failed upstream */
		return;
	}
	buf_append(b, s, strlen(s));
}

void
buf_putc(pg2md_buf *b, char c)
{
	buf_append(b, &c, 1);
}

void
buf_printf(pg2md_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	buf_reserve(b, 64);
	if (buf_broken(b))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n);
		if (buf_broken(b))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
buf_reset(pg2md_buf *b)
{
	b->len = 0;
	if (b->data && !buf_broken(b))
		b->data[0] = '\0';
}

void
buf_release(pg2md_buf *b)
{
	if (!buf_broken(b))
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
buf_detach(pg2md_buf *b)
{
	char *s = buf_broken(b) ? NULL : b->data ? b->data : xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void
buf_ident(pg2md_buf *b, const char *name)
{
	if (!name) {
		buf_break(b); /* a name whose allocation failed upstream */
		return;
	}
	buf_putc(b, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			buf_putc(b, '"');
		buf_putc(b, *p);
	}
	buf_putc(b, '"');
}

void
buf_literal(pg2md_buf *b, const char *s)
{
	if (!s) {
		buf_break(b); /* a string whose allocation failed upstream */
		return;
	}
	buf_putc(b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			buf_putc(b, '\'');
		buf_putc(b, *p);
	}
	buf_putc(b, '\'');
}

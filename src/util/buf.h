/*
 * buf.h — a growable string buffer (like PostgreSQL's StringInfo).
 *
 * Out of memory aborts: pg2md cannot do anything useful without memory and
 * every caller would do the same.
 */
#ifndef PG2MD_BUF_H
#define PG2MD_BUF_H

#include <stddef.h>

typedef struct pg2md_buf {
	char *data; /* always NUL-terminated once anything is appended */
	size_t len;
	size_t cap;
} pg2md_buf;

#define PG2MD_BUF_INIT {NULL, 0, 0}

void buf_reserve(pg2md_buf *b, size_t extra);
void buf_append(pg2md_buf *b, const char *s, size_t n);
void buf_puts(pg2md_buf *b, const char *s);
void buf_putc(pg2md_buf *b, char c);
void buf_printf(pg2md_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(pg2md_buf *b);
void buf_release(pg2md_buf *b);
/* Hand over the string; the buffer is empty afterwards. Never NULL. */
char *buf_detach(pg2md_buf *b);

/* Append name as a double-quoted SQL identifier (both PostgreSQL and DuckDB). */
void buf_ident(pg2md_buf *b, const char *name);
/* Append s as a single-quoted SQL string literal. */
void buf_literal(pg2md_buf *b, const char *s);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/*
 * buf.h — a growable string buffer (like PostgreSQL's StringInfo), and the allocation
 * wrappers the library uses.
 *
 * Out of memory never aborts a buffer: as libpq's PQExpBuffer it becomes "broken" instead —
 * its text is the empty string buf_oom_text (and stays so: appending does nothing), and memory
 * is marked short (util/mem.h).  Whatever runs a statement checks for that text
 * (buf_is_oom) and fails with PG2MD_ERR_NOMEM, so a half-built statement never runs.
 *
 * xmalloc and the others go through util/mem.h: when memory runs out they release the reserve
 * and retry, and the run stops at its next check with PG2MD_ERR_NOMEM.  When even that fails
 * they return NULL, and every caller checks: it unwinds with PG2MD_ERR_NOMEM ("out of memory")
 * like any other failure.  The library never ends the process.  xrealloc leaves its block as
 * it was when it fails (assign through a temporary); xstrdup(NULL) is NULL, not a failure.
 *
 * buf_puts, buf_ident and buf_literal given NULL (a string whose allocation failed before it
 * reached them) break the buffer rather than crash: whoever runs it reports out of memory.
 * Callers still check their own allocations; this only keeps a missed one from crashing.
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

/* The text of a broken buffer. */
extern const char buf_oom_text[];
/* Is s the text of a broken buffer (memory ran out while it was built)? */
static inline int buf_is_oom(const char *s) { return s == buf_oom_text; }
static inline int buf_broken(const pg2md_buf *b) { return b->data == buf_oom_text; }

void buf_reserve(pg2md_buf *b, size_t extra);
void buf_append(pg2md_buf *b, const char *s, size_t n);
void buf_puts(pg2md_buf *b, const char *s);
void buf_putc(pg2md_buf *b, char c);
void buf_printf(pg2md_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(pg2md_buf *b);
void buf_release(pg2md_buf *b);
/* Hand over the string; the buffer is empty afterwards.  NULL when memory ran out (a broken
 * buffer, or no room for the "" of an empty one): the caller fails with PG2MD_ERR_NOMEM. */
char *buf_detach(pg2md_buf *b);
/* Memory ran out while filling b from elsewhere (an array that could not be had): break it, so
 * that its user reports PG2MD_ERR_NOMEM as for a failed append. */
void buf_break(pg2md_buf *b);

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

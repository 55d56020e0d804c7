/*
 * error.h — the error buffer every pg2md operation reports into.
 *
 * Modelled on libpq's conn->errorMessage and curl's Curl_failf(): the first
 * failure recorded wins, so the root cause is what the user reads, not the
 * cascade it caused.  Each worker owns its own buffer; the pipeline copies a
 * worker's buffer into the run's when the worker's item fails.
 *
 * Messages follow PostgreSQL's style: primary line lower case, no full stop,
 * names in double quotes; optional detail and hint lines.
 */
#ifndef PG2MD_ERROR_H
#define PG2MD_ERROR_H

#include <stdarg.h>
#include <stddef.h>

/* The categories of a failure (pg2md.h's pg2md_status; the command line maps them to exit codes). */
typedef enum pg2md_code {
	PG2MD_OK = 0,
	PG2MD_ERR_RUN = 1,        /* the run failed: data error, load error */
	PG2MD_ERR_USAGE = 2,      /* usage or configuration error */
	PG2MD_ERR_CONNECT = 3,    /* a connection could not be made */
	PG2MD_ERR_INTERRUPTED = 4, /* cancelled by a signal; pending work kept */
	PG2MD_ERR_NOMEM = 5       /* out of memory (util/mem.h); the run unwound as from a cancel */
} pg2md_code;

#define PG2MD_MSG_MAX 1024
#define PG2MD_DETAIL_MAX 2048

typedef struct pg2md_error {
	pg2md_code code;
	char sqlstate[6];          /* PostgreSQL's SQLSTATE of the failure, when the server gave one */
	char msg[PG2MD_MSG_MAX];
	char detail[PG2MD_DETAIL_MAX];
	char hint[PG2MD_MSG_MAX];
} pg2md_error;

void pg2md_error_init(pg2md_error *err);

/* Record a failure unless one is already recorded; returns the code now held. */
pg2md_code pg2md_fail(pg2md_error *err, pg2md_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
pg2md_code pg2md_vfail(pg2md_error *err, pg2md_code code, const char *fmt, va_list ap);

/* Record "out of memory" (PG2MD_ERR_NOMEM) for an allocation that returned NULL; returns the code now held. */
pg2md_code pg2md_nomem(pg2md_error *err);

/* Detail and hint attach to the recorded failure; the first one set stays. */
void pg2md_detail(pg2md_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pg2md_hint(pg2md_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The SQLSTATE of the recorded failure, when it came from the server (first one set stays). */
void pg2md_sqlstate(pg2md_error *err, const char *state);

/* Copy src into dst unless dst already holds a failure. */
void pg2md_error_merge(pg2md_error *dst, const pg2md_error *src);

static inline int pg2md_failed(const pg2md_error *err) { return err->code != PG2MD_OK; }

/* Remove a trailing newline and a final full stop, libpq's messages end with both. */
void pg2md_chomp(char *s);

#endif

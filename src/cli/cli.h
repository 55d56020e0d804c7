/*
 * cli.h — what the subcommands share: options, opening the pipeline, printing errors in
 * PostgreSQL's style, exit codes, the log sink, and small helpers of the command line's own
 * (text buffers, numbers a person reads).  The command line uses the library through
 * include/pg2md.h only; it prints, the library never does.
 */
#ifndef PG2MD_CLI_H
#define PG2MD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pg2md.h"

/* Exit codes (docs/commands.md), named as jq names its own. */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_RUN = 1,         /* the run failed: data error, load error, out of memory */
	EXIT_USAGE = 2,       /* usage or configuration error */
	EXIT_CONNECT = 3,     /* a connection could not be made */
	EXIT_INTERRUPTED = 4  /* cancelled by a signal; pending work kept */
};

typedef struct cli_opts {
	pg2md_options lib;      /* what pg2md_open gets: project, tables, dataset, … */
	const char *progress;   /* "tty", "log", "none" */
	int json;
	const char *html;
	int yes;
	int pending;            /* drop --pending: discard the load packages not loaded yet */
	int replication;        /* drop --replication: pg2md follow's slot, publication, watermark */
	int force;              /* --force: init overwrites existing files */
	int once;               /* follow --once: stop at the server's WAL position at start */
	const char *endpos;     /* follow --endpos LSN */
	int help;
	char **args;            /* positional arguments */
	int nargs;
} cli_opts;

typedef int (*cli_fn)(cli_opts *opts);

typedef struct cli_command {
	const char *name;
	cli_fn fn;
	const char *summary;
	const char *usage;      /* the full help text */
	const char *options;    /* the command's own long options, " a b c " (the common ones are always accepted) */
	int args;               /* takes positional arguments */
} cli_command;

/* Parse argv after the subcommand; returns 0 or EXIT_USAGE (message printed). */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_opts *opts);

/* Open the pipeline for the parsed options; prints the error and returns NULL (*code set) on failure. */
pg2md_pipeline *cli_open(cli_opts *opts, int *code);

/* "pg2md: error: …" with its DETAIL and HINT lines, to stderr. */
void cli_print_error(const pg2md_err *err);

/* The exit code of a status. */
int cli_exit_code(pg2md_status status);

/* "pg2md CMD: unexpected argument …" unless the command got none; returns 0 or EXIT_USAGE. */
int cli_no_args(const cli_opts *opts, const char *cmd);

/* ---- cli_log.c: the library's log lines (and the command line's own) on stderr ------------ */

#define CLI_LOG_DEBUG 10
#define CLI_LOG_INFO 20
#define CLI_LOG_WARNING 30
#define CLI_LOG_ERROR 40

/* "DEBUG", "info", "WARN", … as a level; -1 when unknown. */
int cli_log_level_parse(const char *name);
/* Register the sink (pg2md_set_log): "pg2md: warning: …" lines, or JSON lines once cli_log_setup says so. */
void cli_log_start(void);
/* After opening: the pipeline's level and format ([runtime] log_level, log_format). */
void cli_log_setup(const pg2md_pipeline *p);
/* A line of the command line's own, as the library's lines look. */
void cli_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- cli_util.c: the command line's helpers ------------------------------------------------ */

/* Allocation that ends the process on out of memory (the command line may; the library never). */
void *cli_alloc(size_t n);
void *cli_realloc(void *p, size_t n);
char *cli_strdup(const char *s);
char *cli_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable string. */
typedef struct strbuf {
	char *data;             /* NUL-terminated once anything is appended */
	size_t len, cap;
} strbuf;
#define STRBUF_INIT {NULL, 0, 0}
void sb_append(strbuf *b, const char *s, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_putc(strbuf *b, char c);
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *sb_detach(strbuf *b);   /* never NULL */
void sb_release(strbuf *b);

/* Numbers a person reads at a glance: "2.9 M", "404 MB", "3.2 s"; each writes into out. */
char *fmt_count(char *out, size_t n, double v);
char *fmt_bytes(char *out, size_t n, double v);
char *fmt_seconds(char *out, size_t n, double s);
/* A monotonic clock, in seconds. */
double clock_seconds(void);

/* pg2md_err filled by the command line itself: the first failure wins, as in the library. */
void cli_fail(pg2md_err *err, pg2md_status status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cli_detail(pg2md_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_hint(pg2md_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the commands ---------------------------------------------------------------------- */

int cmd_run(cli_opts *opts);
int cmd_extract(cli_opts *opts);
int cmd_normalize(cli_opts *opts);
int cmd_load(cli_opts *opts);
int cmd_sql(cli_opts *opts);
int cmd_trace(cli_opts *opts);
int cmd_init(cli_opts *opts);
int cmd_check(cli_opts *opts);
int cmd_info(cli_opts *opts);
int cmd_drop(cli_opts *opts);
int cmd_verify(cli_opts *opts);
int cmd_follow(cli_opts *opts);

/* The table of a run; detail (pg2md trace) adds files, tasks and retries per table. */
void print_summary(FILE *f, const pg2md_run_info *r, unsigned stages, bool detail);

#endif

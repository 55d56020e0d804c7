/*
 * cli.h — what the subcommands share: option parsing into config flags,
 * config loading, printing errors in PostgreSQL's style.  The command-line
 * tool prints; the library never does.
 */
#ifndef PG2MD_CLI_H
#define PG2MD_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"
#include "util/error.h"

typedef struct cli_opts {
	pg2md_config_flags flags;
	const char *progress;   /* "tty", "log", "none" */
	int json;
	const char *html;
	int yes;
	int pending;            /* drop --pending: discard the load packages not loaded yet */
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

/* Parse argv after the subcommand; returns 0 or PG2MD_ERR_USAGE (message printed). */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_opts *opts);

/* Load the configuration for the parsed flags; prints the error and returns NULL on failure. */
pg2md_config *cli_load_config(cli_opts *opts, int *code);

/* Print an error with its detail and hint lines to stderr. */
void cli_print_error(const pg2md_error *err);

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

struct pg2md_trace;
/* The table of a run; detail (pg2md trace) adds files, tasks and retries per table. */
void print_summary(FILE *f, const struct pg2md_trace *t, int stages, bool detail);

#endif

/*
 * cmd_follow.c — `pg2md follow`: parse, call pg2md_follow, print what it did.
 */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* SIGHUP: read the configuration again (PostgreSQL's convention); the handler only sets a flag. */
static void
on_hup(int sig)
{
	(void)sig;
	pg2md_follow_reload();
}

int
cmd_follow(cli_opts *opts)
{
	pg2md_follow_options fo = PG2MD_FOLLOW_OPTIONS_INIT;
	fo.once = opts->once != 0;
	if (opts->endpos) {
		if (!pg2md_lsn_parse(opts->endpos, &fo.endpos)) {
			fprintf(stderr, "pg2md follow: --endpos takes an LSN as PostgreSQL writes it (such as 0/16B3748), "
					"not \"%s\"\n", opts->endpos);
			return EXIT_USAGE;
		}
		fo.has_endpos = 1;
	}
	int code;
	pg2md_pipeline *p = cli_open(opts, &code);
	if (!p)
		return code;
	pg2md_err err;
	const pg2md_follow_info *rep;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	if (pg2md_follow(p, &fo, &rep, &err) != PG2MD_SUCCESS) {
		cli_print_error(&err);
		pg2md_close(p);
		return cli_exit_code(err.status);
	}
	char a[PG2MD_LSN_TEXT], b[PG2MD_LSN_TEXT];
	printf("pg2md follow: slot \"%s\", publication \"%s\"%s\n", rep->slot, rep->publication,
	       rep->created_publication ? " (created)" : "");
	if (rep->initial_copy)
		printf("  initial copy done in the slot's snapshot; changes from %s\n", pg2md_lsn_format(rep->start_lsn, a));
	printf("  applied %lld transaction%s (%lld changes, %lld rows written) in %d batch%s\n",
	       (long long)rep->transactions, rep->transactions == 1 ? "" : "s", (long long)rep->changes,
	       (long long)rep->rows_written, rep->batches, rep->batches == 1 ? "" : "es");
	if (rep->streamed || rep->stream_aborts)
		printf("  streamed transactions: %lld applied (%lld as they arrived), %lld aborts (transactions or "
		       "subtransactions) discarded\n",
		       (long long)rep->streamed, (long long)rep->streamed_eager, (long long)rep->stream_aborts);
	printf("  applied up to %s", pg2md_lsn_format(rep->applied_lsn, a));
	if (rep->target_lsn)
		printf(" (stopped at %s)", pg2md_lsn_format(rep->target_lsn, b));
	else if (rep->interrupted)
		printf(" (stopped by a signal)");
	putchar('\n');
	pg2md_close(p);
	return EXIT_OK;
}

/*
 * cmd_follow.c — `pg2md follow`: parse, call cdc_follow (src/cdc/follow.c), print what it did.
 */
#include <stdio.h>
#include <string.h>

#include "cdc/follow.h"
#include "cli/cli.h"

int
cmd_follow(cli_opts *opts)
{
	cdc_follow_opts fo = {.once = opts->once != 0};
	if (opts->endpos) {
		if (!pgo_lsn_parse(opts->endpos, &fo.endpos)) {
			fprintf(stderr, "pg2md follow: --endpos takes an LSN as PostgreSQL writes it (such as 0/16B3748), "
					"not \"%s\"\n", opts->endpos);
			return PG2MD_ERR_USAGE;
		}
		fo.has_endpos = true;
	}
	int code;
	pg2md_config *cfg = cli_load_config(opts, &code);
	if (!cfg)
		return code;
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_follow_report rep;
	cdc_follow(cfg, &fo, &rep, &err);
	if (pg2md_failed(&err)) {
		cli_print_error(&err);
		pg2md_config_free(cfg);
		return err.code;
	}
	char a[PGO_LSN_TEXT], b[PGO_LSN_TEXT];
	printf("pg2md follow: slot \"%s\", publication \"%s\"%s\n", rep.slot, rep.publication,
	       rep.created_publication ? " (created)" : "");
	if (rep.initial_copy)
		printf("  initial copy done in the slot's snapshot; changes from %s\n", pgo_lsn_format(rep.start_lsn, a));
	printf("  applied %lld transaction%s (%lld changes, %lld rows written) in %d batch%s\n",
	       (long long)rep.transactions, rep.transactions == 1 ? "" : "s", (long long)rep.changes,
	       (long long)rep.rows_written, rep.batches, rep.batches == 1 ? "" : "es");
	printf("  applied up to %s", pgo_lsn_format(rep.applied_lsn, a));
	if (rep.target_lsn)
		printf(" (stopped at %s)", pgo_lsn_format(rep.target_lsn, b));
	else if (rep.interrupted)
		printf(" (stopped by a signal)");
	putchar('\n');
	pg2md_config_free(cfg);
	return 0;
}

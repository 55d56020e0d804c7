/* cmd_sql.c — `pg2md sql "SQL" ["SQL" …]`: query the destination (pg2md_sqlv), rows printed tab-separated. */
#include "cli.h"

/* A row tab-separated, NULL (or a value with no text form) as NULL. */
static int
print_row(void *arg, int ncols, const char *const *values)
{
	(void)arg;
	for (int c = 0; c < ncols; c++)
		printf("%s%s", c ? "\t" : "", values[c] ? values[c] : "NULL");
	putchar('\n');
	return 0;
}

int
cmd_sql(cli_opts *opts)
{
	int code;
	pg2md_pipeline *p;
	pg2md_err err;

	if (opts->nargs < 1) {
		fprintf(stderr, "pg2md sql: missing the SQL statement\nTry \"pg2md sql --help\" for more information.\n");
		return EXIT_USAGE;
	}
	p = cli_open(opts, &code);
	if (!p)
		return code;
	if (pg2md_sqlv(p, opts->nargs, (const char *const *)opts->args, print_row, NULL, &err) != PG2MD_SUCCESS)
		cli_print_error(&err);
	pg2md_close(p);
	return cli_exit_code(err.status);
}

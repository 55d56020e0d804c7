/* cmd_sql.c — `pg2md sql "SQL"`: query the destination, rows printed tab-separated. */
#include <stdio.h>
#include <stdlib.h>

#include <duckdb.h>

#include "cli/cli.h"
#include "dest/duck.h"
#include "util/buf.h"

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
	pg2md_config *cfg;
	pg2md_dest dest;
	pg2md_error err;

	if (opts->nargs < 1) {
		fprintf(stderr, "pg2md sql: missing the SQL statement\nTry \"pg2md sql --help\" for more information.\n");
		return PG2MD_ERR_USAGE;
	}
	cfg = cli_load_config(opts, &code);
	if (!cfg)
		return code;
	pg2md_error_init(&err);
	/* the user's own queries get DuckDB's defaults, not the pipeline's memory budget */
	duck_memory_unbounded();
	if (dest_open(&dest, cfg, 2, &err) == PG2MD_OK) {
		for (int i = 0; i < opts->nargs && !pg2md_failed(&err); i++)
			duck_query_rows(dest.con, opts->args[i], print_row, NULL, &err);
		dest_close(&dest);
	}
	if (pg2md_failed(&err))
		cli_print_error(&err);
	pg2md_config_free(cfg);
	return err.code;
}

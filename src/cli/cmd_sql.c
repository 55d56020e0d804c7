/* cmd_sql.c — `pg2md sql "SQL"`: query the destination, rows printed tab-separated. */
#include <stdio.h>
#include <stdlib.h>

#include <duckdb.h>

#include "cli/cli.h"
#include "dest/duck.h"
#include "util/buf.h"

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
		for (int i = 0; i < opts->nargs && !pg2md_failed(&err); i++) {
			duckdb_result res;
			/* Render every value as DuckDB's own text: a SELECT is wrapped in a cast to VARCHAR;
			 * what cannot be wrapped (DESCRIBE, SHOW, DDL) runs as it is. */
			char *wrapped = xasprintf("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (%s)", opts->args[i]);
			duckdb_state st = duckdb_query(dest.con, wrapped, &res);
			free(wrapped);
			if (st == DuckDBError) {
				duckdb_destroy_result(&res);
				st = duckdb_query(dest.con, opts->args[i], &res);
			}
			if (st == DuckDBError) {
				pg2md_fail(&err, PG2MD_ERR_RUN, "%s", duckdb_result_error(&res));
			} else {
				idx_t nc = duckdb_column_count(&res), nr = duckdb_row_count(&res);
				for (idx_t r = 0; r < nr; r++) {
					for (idx_t c = 0; c < nc; c++) {
						/* NULL (or a value with no text form) comes back as nullptr */
						char *v = duckdb_value_varchar(&res, c, r);
						printf("%s%s", c ? "\t" : "", v ? v : "NULL");
						duckdb_free(v);
					}
					putchar('\n');
				}
			}
			duckdb_destroy_result(&res);
		}
		dest_close(&dest);
	}
	if (pg2md_failed(&err))
		cli_print_error(&err);
	pg2md_config_free(cfg);
	return err.code;
}

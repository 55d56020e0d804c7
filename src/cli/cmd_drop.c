/*
 * cmd_drop.c — `pg2md drop`: forget tables (--tables), the load packages not loaded yet
 * (--pending), or the whole pipeline, as dlt's `dlt pipeline drop` does (pg2md_drop_tables,
 * pg2md_drop_pending, pg2md_drop_all), or what pg2md follow left on the source (--replication,
 * pg2md_drop_replication).  What is about to be dropped is confirmed first: on a
 * terminal pg2md asks; otherwise --yes is required.  Then each thing dropped is a line.
 */
#include "cli.h"

#include <string.h>
#include <unistd.h>

typedef struct asker {
	int yes;
	int said_no;            /* the question was refused (its message printed) */
} asker;

/* Ask on the terminal; without one, --yes is required.  Returns 0 when confirmed. */
static int
confirm(void *arg, const char *what)
{
	asker *a = arg;
	char answer[16];

	if (a->yes)
		return 0;
	a->said_no = 1;
	if (!isatty(0)) {
		fprintf(stderr, "pg2md: error: refusing to %s without confirmation\n", what);
		fprintf(stderr, "HINT:  pass --yes, or run pg2md drop on a terminal to be asked\n");
		return EXIT_USAGE;
	}
	fprintf(stderr, "pg2md: %s? [y/N] ", what);
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin) || (strcmp(answer, "y\n") != 0 && strcmp(answer, "yes\n") != 0 &&
						      strcmp(answer, "Y\n") != 0 && strcmp(answer, "YES\n") != 0)) {
		fprintf(stderr, "pg2md: nothing dropped\n");
		return EXIT_USAGE;
	}
	a->said_no = 0;
	return 0;
}

static void
print_tables(const pg2md_drop_info *d)
{
	if (d->ntables == 0)
		return;
	for (int k = 0; k < d->ntables; k++)
		printf("pg2md: dropped table \"%s\".\"%s\" from %s\n", d->dataset, d->tables[k], d->destination);
	if (d->staging_tables)
		printf("pg2md: dropped %d table%s from the staging dataset \"%s\"\n", d->staging_tables,
		       d->staging_tables == 1 ? "" : "s", d->staging_dataset);
	if (d->schema_tables)
		printf("pg2md: removed %d table%s from the stored schema (a new _dlt_version row)\n", d->schema_tables,
		       d->schema_tables == 1 ? "" : "s");
	if (d->state_tables)
		printf("pg2md: reset the state of %d table%s (a new _dlt_pipeline_state row)\n", d->state_tables,
		       d->state_tables == 1 ? "" : "s");
	printf("pg2md: the next run copies %s in full\n", d->ntables > 1 ? "them" : "it");
}

static void
print_all(const pg2md_drop_info *d)
{
	if (d->nothing)
		printf("pg2md: nothing to drop: no dataset \"%s\" in %s, no pipeline folder \"%s\"\n", d->dataset,
		       d->destination ? d->destination : "the destination", d->pipeline_dir);
	if (d->dropped_dataset)
		printf("pg2md: dropped dataset \"%s\" from %s\n", d->dataset, d->destination);
	if (d->dropped_staging)
		printf("pg2md: dropped staging dataset \"%s\" from %s\n", d->staging_dataset, d->destination);
	if (d->removed_folder)
		printf("pg2md: removed the pipeline folder \"%s\"\n", d->pipeline_dir);
}

static void
print_pending(const pg2md_drop_info *d)
{
	if (d->nothing)
		printf("pg2md: no pending load package\n");
	for (int k = 0; k < d->npackages; k++)
		printf("pg2md: discarded load package %s (%s)\n", d->packages[k], d->package_states[k]);
}

static void
print_replication(const pg2md_drop_info *d)
{
	if (d->nothing)
		printf("pg2md: nothing to drop: no replication slot \"%s\" on the source, no watermark for it%s\n", d->slot,
		       d->publication_kept ? "" : ", no publication of pg2md follow");
	if (d->dropped_slot)
		printf("pg2md: dropped replication slot \"%s\" on the source\n", d->slot);
	if (d->dropped_publication)
		printf("pg2md: dropped publication \"%s\" on the source\n", d->publication);
	if (d->publication_kept)
		printf("pg2md: kept publication \"%s\": pg2md follow did not create it (DROP PUBLICATION %s; removes it)\n",
		       d->publication, d->publication);
	if (d->cleared_watermark)
		printf("pg2md: removed the watermark of slot \"%s\" from %s: the next pg2md follow copies the tables again\n",
		       d->slot, d->destination);
}

int
cmd_drop(cli_opts *opts)
{
	int code;
	pg2md_pipeline *p;
	const char *tables = opts->lib.tables;
	const pg2md_drop_info *d;
	pg2md_err err;
	pg2md_status st;
	asker a = {opts->yes, 0};

	if ((code = cli_no_args(opts, "drop")) != 0)
		return code;
	/* --tables names what to drop, not what to copy: the configuration keeps its own list. */
	opts->lib.tables = NULL;
	p = cli_open(opts, &code);
	if (!p)
		return code;
	if (opts->pending + opts->replication + (tables != NULL) > 1) {
		fprintf(stderr, "pg2md: error: --tables, --pending and --replication are different drops: give one\n");
		pg2md_close(p);
		return EXIT_USAGE;
	}
	if (opts->pending) {
		st = pg2md_drop_pending(p, confirm, &a, &d, &err);
		print_pending(d);
	} else if (opts->replication) {
		st = pg2md_drop_replication(p, confirm, &a, &d, &err);
		print_replication(d);
	} else if (tables) {
		st = pg2md_drop_tables(p, tables, confirm, &a, &d, &err);
		print_tables(d);
	} else {
		st = pg2md_drop_all(p, confirm, &a, &d, &err);
		print_all(d);
	}
	/* a refusal has said so already */
	if (st != PG2MD_SUCCESS && !d->refused)
		cli_print_error(&err);
	pg2md_close(p);
	return cli_exit_code(st);
}

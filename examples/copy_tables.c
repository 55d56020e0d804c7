/*
 * copy_tables.c — libpg2md from C: check a project's pipeline, run it, print what each table
 * received, verify it, ask the destination a question, then look at what it recorded.  The
 * whole program the command line's `pg2md check`, `run`, `verify` and `info` boil down to, and
 * what an Airflow operator or a Python/Go binding would wrap.
 *
 *     cc copy_tables.c $(pkg-config --cflags --libs pg2md) -o copy_tables
 *     ./copy_tables /path/to/project [TABLE]
 *
 * Exit status: 0 done, else the pg2md_status of the failed call (2 configuration, 3 connection).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <pg2md.h>

/* The library prints nothing itself: its log lines come here. */
static void
log_line(void *arg, int level, const char *message)
{
	(void)arg;
	fprintf(stderr, "copy_tables: log %d: %s\n", level, message);
}

/* Called about once a second while tables are read, and once more at the end (final). */
static void
on_progress(void *arg, const pg2md_progress_info *pr)
{
	long long *final_rows = arg;
	if (pr->final)
		*final_rows = (long long)pr->rows;
	else
		fprintf(stderr, "copy_tables: %d/%d tables, %lld rows\n", pr->tables_done, pr->tables_total,
			(long long)pr->rows);
}

static void
on_signal(int sig)
{
	(void)sig;
	pg2md_cancel(); /* async-signal-safe: the run stops, nothing half-written is committed */
}

static void
report(const char *what, const pg2md_err *err)
{
	fprintf(stderr, "copy_tables: %s failed (status %d%s%s): %s\n", what, (int)err->status,
		err->sqlstate[0] ? ", SQLSTATE " : "", err->sqlstate, err->message);
	if (err->detail[0])
		fprintf(stderr, "DETAIL:  %s\n", err->detail);
	if (err->hint[0])
		fprintf(stderr, "HINT:  %s\n", err->hint);
}

/* Each check as soon as it is known; only the failed ones are printed here. */
static void
on_check(void *arg, const pg2md_check_item *item)
{
	(void)arg;
	if (!item->ok)
		fprintf(stderr, "copy_tables: check failed: %s: %s\n", item->section, item->text);
}

static int
print_row(void *arg, int ncols, const char *const *values)
{
	(void)arg;
	for (int i = 0; i < ncols; i++)
		printf("%s%s", i ? "\t" : "", values[i] ? values[i] : "NULL");
	putchar('\n');
	return 0;
}

int
main(int argc, char **argv)
{
	pg2md_options opts = PG2MD_OPTIONS_INIT;
	pg2md_pipeline *p;
	pg2md_err err;
	const char *where;

	if (argc < 2) {
		fprintf(stderr, "usage: copy_tables PROJECT_DIR [TABLE]\n");
		return 2;
	}
	opts.project_dir = argv[1];
	pg2md_set_log(log_line, NULL);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (pg2md_open(&p, &opts, &err) != PG2MD_SUCCESS) {
		report("open", &err);
		return (int)err.status;
	}
	long long final_rows = -1;
	pg2md_set_progress(p, on_progress, &final_rows);
	const char *schema = pg2md_setting(p, "sources.sql_database.schema", &where);
	printf("libpg2md %s, schema \"%s\" (%s)\n", pg2md_version(), schema, where);

	const pg2md_check_info *check;
	if (pg2md_check(p, on_check, NULL, &check, &err) != PG2MD_SUCCESS) {
		report("check", &err);
		pg2md_close(p);
		return (int)err.status;
	}
	printf("check: %d passed, %d failed\n", check->npassed, check->nfailed);
	if (check->status != PG2MD_SUCCESS) {
		int status = (int)check->status; /* *check is the pipeline's: read it before closing */
		pg2md_close(p);
		return status;
	}

	if (pg2md_run(p, PG2MD_STAGE_ALL, &err) != PG2MD_SUCCESS) {
		report("run", &err);
		pg2md_close(p);
		return (int)err.status;
	}
	const pg2md_run_info *run = pg2md_last_run(p);
	printf("load %s into %s: %d tables, %lld rows (%lld read when extraction ended)\n",
	       run->load_id ? run->load_id : "-", run->destination, run->ntables, (long long)run->rows, final_rows);
	for (int i = 0; i < run->ntables; i++)
		printf("  %s -> %s.%s: %lld rows\n", run->tables[i].name, run->dataset, run->tables[i].dest_name,
		       (long long)run->tables[i].rows);

	const pg2md_verify_info *v;
	if (pg2md_verify(p, &v, &err) != PG2MD_SUCCESS) {
		report("verify", &err);
		pg2md_close(p);
		return (int)err.status;
	}
	printf("verify: %d tables, %d different\n", v->ntables, v->ndifferent);

	if (argc > 2) {
		char sql[512];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\".\"%s\"", run->dataset, argv[2]);
		if (pg2md_sql(p, sql, print_row, NULL, &err) != PG2MD_SUCCESS) {
			report("sql", &err);
			pg2md_close(p);
			return (int)err.status;
		}
	}

	/* what the pipeline folder and the destination recorded (as `pg2md info` shows them) */
	const pg2md_packages_info *packages;
	const pg2md_loads_info *loads;
	if (pg2md_packages(p, &packages, &err) != PG2MD_SUCCESS || pg2md_loads(p, 5, &loads, &err) != PG2MD_SUCCESS) {
		report("info", &err);
		pg2md_close(p);
		return (int)err.status;
	}
	printf("%d package%s pending, %d load%s recorded in %s, the newest %s\n", packages->npending,
	       packages->npending == 1 ? "" : "s", loads->nloads, loads->nloads == 1 ? "" : "s", pg2md_describe(p)->dataset,
	       loads->nloads && run->load_id && strcmp(loads->loads[0].load_id, run->load_id) == 0 ? "this run's"
												   : "another's");
	pg2md_close(p);
	return 0;
}

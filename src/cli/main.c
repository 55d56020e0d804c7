/*
 * main.c — pg2md's command line: a table of subcommands (as git's commands[]),
 * getopt_long for the common flags, help for each command, named exit codes.
 */
#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define COMMON_FLAGS                                                                              \
	"  --project-dir DIR        folder holding .dlt/config.toml and .dlt/secrets.toml (default .)\n" \
	"  --pipeline-name NAME     [pipeline] pipeline_name (default pg2md)\n"                          \
	"  --dataset-name NAME      [pipeline] dataset_name (default pg2md_data)\n"                      \
	"  --destination NAME       duckdb or motherduck (default: motherduck when a token is set)\n"    \
	"  --log-level LEVEL        DEBUG, INFO, WARNING, ERROR or CRITICAL\n"

#define RUN_FLAGS                                                                               \
	"  --tables T1,T2           copy these tables instead of [sources.sql_database] tables\n"      \
	"  --write-disposition WD   replace, append or merge for every table\n"                        \
	"  --direct                 stream into the destination without Parquet staging\n"           \
	"  --staged                 stage Parquet load packages (the default)\n"                       \
	"  --progress MODE          tty (live display; the default on a terminal), log (a line every 5 s;\n" \
	"                           the default otherwise) or none\n"                                      \
	MONITOR_FLAGS

#define MONITOR_FLAGS                                                                           \
	"  --metrics-file FILE      write Prometheus metrics after the run ([runtime] metrics_file)\n"

static const cli_command commands[] = {
	{"run", cmd_run, "extract, normalize and load the configured tables",
	 "usage: pg2md run [OPTIONS]\n\n"
	 "Copies the tables of [sources.sql_database] into the destination: extract (binary COPY in one\n"
	 "snapshot, in parallel), normalize, load (one transaction per load package).  When an earlier\n"
	 "run left a package behind, run finishes that package and stops, saying so; run again for new data.\n\n"
	 "options:\n" RUN_FLAGS COMMON_FLAGS,
	 " tables write-disposition direct staged progress metrics-file ", 0},
	{"extract", cmd_extract, "extract the configured tables into a new load package",
	 "usage: pg2md extract [OPTIONS]\n\noptions:\n" RUN_FLAGS COMMON_FLAGS,
	 " tables write-disposition direct staged progress metrics-file ", 0},
	{"normalize", cmd_normalize, "normalize the extracted load package",
	 "usage: pg2md normalize [OPTIONS]\n\noptions:\n" MONITOR_FLAGS COMMON_FLAGS,
	 " metrics-file ", 0},
	{"load", cmd_load, "load the pending load package into the destination",
	 "usage: pg2md load [OPTIONS]\n\noptions:\n" MONITOR_FLAGS COMMON_FLAGS,
	 " metrics-file ", 0},
	{"sql", cmd_sql, "run SQL against the destination and print the result",
	 "usage: pg2md sql [OPTIONS] \"SQL\"\n\n"
	 "Runs the statement on the destination (the local DuckDB file, or MotherDuck) and prints the\n"
	 "rows tab-separated.\n\noptions:\n" COMMON_FLAGS,
	 " ", 1},
	{"trace", cmd_trace, "show the metrics of the last run",
	 "usage: pg2md trace [--json | --html FILE] [OPTIONS]\n\n"
	 "Shows the last run's metrics per stage and per table (rows, bytes, files, durations, rows/s,\n"
	 "retries, peak RSS), from <pipelines_dir>/<pipeline_name>/trace.json, which every run writes\n"
	 "(failed runs too).  --json prints that file: the same metrics, plus the run's timeline (a span\n"
	 "per extract task, per table loaded, for normalize and the commit: worker, start and end in\n"
	 "seconds from the start of the run, rows, bytes; at most 10000) and throughput samples (rows and\n"
	 "bytes read so far, every 250 ms while extracting; at most 1024, thinned evenly on long runs).\n"
	 "--html FILE writes one self-contained HTML page (no network needed to view it): a summary, the\n"
	 "timeline with one lane per worker and one bar per task, the throughput over time (rows/s and\n"
	 "bytes/s) and a table per source table.  FILE - writes the page to stdout.\n\n"
	 "options:\n"
	 "  --json                   print the stored trace as JSON\n"
	 "  --html FILE              write the HTML report to FILE\n" COMMON_FLAGS "\n"
	 "exit codes: 0 shown or written, 2 no trace yet, FILE cannot be written, or a usage error\n",
	 " json html ", 0},
	{"init", cmd_init, "write commented .dlt/config.toml and secrets.toml templates",
	 "usage: pg2md init [--force] [--project-dir DIR]\n\n"
	 "Writes DIR/.dlt/config.toml and DIR/.dlt/secrets.toml: every section of the PostgreSQL to\n"
	 "MotherDuck guide, each key explained, the guide's values.  secrets.toml gets placeholders and\n"
	 "mode 600; its MotherDuck token is commented out, so pg2md loads into a local DuckDB file until\n"
	 "you set one.  \".dlt/secrets.toml\" is added to DIR/.gitignore (once).  Existing files are\n"
	 "kept unless --force is given.\n\n"
	 "options:\n"
	 "  --force                  overwrite existing config.toml and secrets.toml\n"
	 "  --project-dir DIR        the project folder (default ., or DLT_PROJECT_DIR); created if missing\n\n"
	 "exit codes: 0 written, 2 a file exists (use --force) or cannot be written\n",
	 " force ", 0},
	{"check", cmd_check, "test both connections and the configured tables before moving data",
	 "usage: pg2md check [OPTIONS]\n\n"
	 "Checks, before any data moves, and prints a checklist of \"ok\" and \"FAILED\" lines:\n"
	 "  source       connects to PostgreSQL (server version, host:port, database, user), the schema,\n"
	 "               each configured table: exists (else the closest names), SELECT permission,\n"
	 "               estimated rows and size\n"
	 "  destination  opens the DuckDB file or MotherDuck, tests it is writable (a scratch table\n"
	 "               created, filled and dropped), DuckDB version, the dataset's tables\n"
	 "Nothing is left behind: a DuckDB file that did not exist before is removed again.\n\n"
	 "options:\n  --tables T1,T2           check these tables instead of [sources.sql_database] tables\n"
	 COMMON_FLAGS "\n"
	 "exit codes: 0 every check passed, 1 a table is missing or not readable or the destination is\n"
	 "            not writable, 2 configuration error, 3 a connection could not be made\n",
	 " tables ", 0},
	{"info", cmd_info, "show the resolved settings, pending packages and last loads",
	 "usage: pg2md info [--json] [OPTIONS]\n\n"
	 "Shows every resolved setting with where it came from (FILE:LINE, an environment variable, a\n"
	 "--flag, or default; secrets as ********), the load packages waiting in the pipeline folder\n"
	 "(state, load id, tables, rows), the last 10 loads recorded in the destination's _dlt_loads\n"
	 "(local DuckDB file only, read-only; a file that does not exist is not created), and the last\n"
	 "run's result.\n\n"
	 "options:\n  --json                   print JSON\n" COMMON_FLAGS "\n"
	 "exit codes: 0 shown, 2 configuration error\n",
	 " json ", 0},
	{"verify", cmd_verify, "compare row counts and checksums, source against destination",
	 "usage: pg2md verify [--tables T1,T2] [--json] [OPTIONS]\n\n"
	 "For each configured table, counts the rows and computes an order-independent checksum of every\n"
	 "value, inside PostgreSQL for the source and inside DuckDB for the destination (no row is\n"
	 "transferred), and compares them.  Each value is turned into a canonical text that both databases\n"
	 "compute identically (floats by their exact bits, timestamps as epoch microseconds, intervals as\n"
	 "months/days/microseconds, bytea as hex, numerics as PostgreSQL prints them, text as output by\n"
	 "its type, NULL as a marker of its own); the checksum is the sum over the rows of the first 60\n"
	 "bits of md5(row).  The source is read in one repeatable-read transaction; a table's where\n"
	 "filter applies as in a run, incremental cursors do not (the whole table is compared: append\n"
	 "tables that ran more than once differ legitimately).  Prints one line per table, \"ok\" or\n"
	 "\"DIFFERENT\" with both counts and checksums, and a total.\n\n"
	 "options:\n"
	 "  --tables T1,T2           verify these tables instead of [sources.sql_database] tables\n"
	 "  --json                   print JSON\n" COMMON_FLAGS "\n"
	 "exit codes: 0 every table equal, 1 a table differs or is missing in the destination,\n"
	 "            2 usage or configuration error, 3 a connection could not be made\n",
	 " tables json ", 0},
	{"follow", cmd_follow, "copy the tables once, then apply their changes from logical replication",
	 "usage: pg2md follow --once | --endpos LSN [OPTIONS]\n\n"
	 "Change data capture (docs/cdc.md).  The first start creates the publication (when missing)\n"
	 "and the replication slot of [sources.pg_replication], copies the tables inside the slot's\n"
	 "snapshot as pg2md run does (write disposition replace), and records where the copy ends.\n"
	 "Each start then applies the INSERT, UPDATE, DELETE and TRUNCATE committed since, in batches,\n"
	 "each batch in one DuckDB transaction with the position it reached: a run killed at any point\n"
	 "and run again neither loses nor repeats a change.  Needs wal_level = logical, a role with the\n"
	 "REPLICATION attribute and PostgreSQL 14 or later.  Without --once or --endpos it runs until\n"
	 "SIGINT/SIGTERM (a clean stop is exit 0).\n\n"
	 "options:\n"
	 "  --once                   stop at the server's WAL position when follow started\n"
	 "  --endpos LSN             stop there: transactions whose commit starts before LSN are applied\n"
	 "  --tables T1,T2           follow these tables instead of [sources.sql_database] tables\n"
	 "  --direct, --staged       how the initial copy loads (as pg2md run)\n"
	 "  --metrics-file FILE      write Prometheus metrics while following ([runtime] metrics_file)\n"
	 COMMON_FLAGS "\n"
	 "exit codes: 0 caught up (or stopped cleanly), 1 failed, 2 usage or configuration error,\n"
	 "            3 a connection could not be made\n",
	 " once endpos tables direct staged metrics-file ", 0},
	{"drop", cmd_drop, "drop tables, or the whole dataset and pipeline state",
	 "usage: pg2md drop [--tables T1,T2 | --pending | --replication] [--yes] [OPTIONS]\n\n"
	 "With --pending: discards the load packages extracted or normalized but not loaded (their rows\n"
	 "are read again by the next run), e.g. one the destination refused for a schema change.\n"
	 "With --tables: drops those tables from the destination dataset (and from its staging dataset),\n"
	 "removes them from the stored schema (_dlt_version) and their state (_dlt_pipeline_state); the\n"
	 "next run copies them again in full.  Refused while load packages are pending.\n"
	 "Without --tables: drops the whole dataset (DROP SCHEMA … CASCADE, and its staging dataset)\n"
	 "and removes the local pipeline folder (pending packages, trace).  The DuckDB file stays.\n"
	 "With --replication: drops pg2md follow's replication slot on the source, its publication when\n"
	 "pg2md follow created it, and its watermark in the destination (docs/cdc.md).\n"
	 "On a terminal pg2md asks first; otherwise --yes is required.\n\n"
	 "options:\n"
	 "  --tables T1,T2           drop only these tables (source or destination names)\n"
	 "  --pending                discard the pending load packages\n"
	 "  --replication            drop pg2md follow's slot, publication and watermark\n"
	 "  -y, --yes                do not ask\n" COMMON_FLAGS "\n"
	 "exit codes: 0 dropped (or nothing to drop), 1 the drop failed or packages are pending,\n"
	 "            2 not confirmed / usage or configuration error, 3 a connection could not be made\n",
	 " tables pending replication yes ", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

static void
usage(FILE *f)
{
	fputs("pg2md copies PostgreSQL tables into DuckDB or MotherDuck.\n\n"
	      "usage: pg2md COMMAND [OPTIONS]\n\ncommands:\n", f);
	for (const cli_command *c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fputs("  help CMD   show the help of a command\n\n"
	      "exit codes: 0 success, 1 the run failed, 2 usage or configuration error,\n"
	      "            3 a connection could not be made, 4 interrupted\n", f);
}

static const cli_command *
find_command(const char *name)
{
	for (const cli_command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void
cli_print_error(const pg2md_err *err)
{
	fprintf(stderr, "pg2md: error: %s\n", err->message);
	if (err->detail[0])
		fprintf(stderr, "DETAIL:  %s\n", err->detail);
	if (err->hint[0])
		fprintf(stderr, "HINT:  %s\n", err->hint);
}

/* The flags every command accepts (COMMON_FLAGS). */
static bool
option_common(const char *name)
{
	static const char *const common[] = {"project-dir", "pipeline-name", "dataset-name", "destination",
					     "log-level", "help", NULL};
	for (int i = 0; common[i]; i++)
		if (strcmp(name, common[i]) == 0)
			return true;
	return false;
}

/* Is --name one of cmd's own options? */
static bool
option_of(const cli_command *cmd, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), " %s ", name);
	return cmd->options && strstr(cmd->options, key) != NULL;
}

int
cli_parse(const cli_command *cmd, int argc, char **argv, cli_opts *opts)
{
	enum { O_PROJECT = 256, O_TABLES, O_WD, O_DEST, O_DATASET, O_PIPELINE, O_LOG, O_DIRECT, O_STAGED,
	       O_PROGRESS, O_JSON, O_HTML, O_YES, O_FORCE, O_METRICS, O_PENDING, O_REPLICATION, O_ONCE, O_ENDPOS };
	static const struct option longopts[] = {
		{"project-dir", required_argument, NULL, O_PROJECT},
		{"tables", required_argument, NULL, O_TABLES},
		{"write-disposition", required_argument, NULL, O_WD},
		{"destination", required_argument, NULL, O_DEST},
		{"dataset-name", required_argument, NULL, O_DATASET},
		{"pipeline-name", required_argument, NULL, O_PIPELINE},
		{"log-level", required_argument, NULL, O_LOG},
		{"direct", no_argument, NULL, O_DIRECT},
		{"staged", no_argument, NULL, O_STAGED},
		{"progress", required_argument, NULL, O_PROGRESS},
		{"metrics-file", required_argument, NULL, O_METRICS},
		{"json", no_argument, NULL, O_JSON},
		{"html", required_argument, NULL, O_HTML},
		{"yes", no_argument, NULL, O_YES},
		{"pending", no_argument, NULL, O_PENDING},
		{"replication", no_argument, NULL, O_REPLICATION},
		{"force", no_argument, NULL, O_FORCE},
		{"once", no_argument, NULL, O_ONCE},
		{"endpos", required_argument, NULL, O_ENDPOS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, idx;

	memset(opts, 0, sizeof(*opts));
	opts->lib = (pg2md_options)PG2MD_OPTIONS_INIT;
	optind = 1;
	opterr = 0;
	while ((idx = -1, c = getopt_long(argc, argv, "+:hy", longopts, &idx)) != -1) {
		const char *name = idx >= 0 ? longopts[idx].name : c == 'y' ? "yes" : c == 'h' ? "help" : NULL;
		if (c == ':') {
			fprintf(stderr, "pg2md %s: option \"%s\" requires an argument\n", cmd->name, argv[optind - 1]);
			fprintf(stderr, "Try \"pg2md %s --help\" for more information.\n", cmd->name);
			return EXIT_USAGE;
		}
		if (name && !option_common(name) && !option_of(cmd, name)) {
			fprintf(stderr, "pg2md %s: option \"%s%s\" does not apply to this command\n", cmd->name,
				idx >= 0 ? "--" : "-", idx >= 0 ? name : (c == 'y' ? "y" : "h"));
			fprintf(stderr, "Try \"pg2md %s --help\" for more information.\n", cmd->name);
			return EXIT_USAGE;
		}
		switch (c) {
		case O_PROJECT: opts->lib.project_dir = optarg; break;
		case O_TABLES: opts->lib.tables = optarg; break;
		case O_WD: opts->lib.write_disposition = optarg; break;
		case O_DEST: opts->lib.destination = optarg; break;
		case O_DATASET: opts->lib.dataset_name = optarg; break;
		case O_PIPELINE: opts->lib.pipeline_name = optarg; break;
		case O_LOG: opts->lib.log_level = optarg; break;
		case O_DIRECT: opts->lib.direct = 1; break;
		case O_STAGED: opts->lib.direct = 0; break;
		case O_PROGRESS: opts->progress = optarg; break;
		case O_METRICS: opts->lib.metrics_file = optarg; break;
		case O_JSON: opts->json = 1; break;
		case O_HTML: opts->html = optarg; break;
		case 'y': case O_YES: opts->yes = 1; break;
		case O_PENDING: opts->pending = 1; break;
		case O_REPLICATION: opts->replication = 1; break;
		case O_FORCE: opts->force = 1; break;
		case O_ONCE: opts->once = 1; break;
		case O_ENDPOS: opts->endpos = optarg; break;
		case 'h': opts->help = 1; break;
		default:
			if (optopt > 0 && optopt < 128 && isalnum(optopt))
				fprintf(stderr, "pg2md %s: unknown option \"-%c\"\n", cmd->name, optopt);
			else if (optopt && strchr(argv[optind - 1], '='))
				/* a long option that takes no value, given one (--direct=1) */
				fprintf(stderr, "pg2md %s: option \"%.*s\" takes no value\n", cmd->name,
					(int)(strchr(argv[optind - 1], '=') - argv[optind - 1]), argv[optind - 1]);
			else
				fprintf(stderr, "pg2md %s: unknown option \"%s\"\n", cmd->name, argv[optind - 1]);
			fprintf(stderr, "Try \"pg2md %s --help\" for more information.\n", cmd->name);
			return EXIT_USAGE;
		}
	}
	if (opts->progress && strcmp(opts->progress, "tty") && strcmp(opts->progress, "log") &&
	    strcmp(opts->progress, "none")) {
		fprintf(stderr, "pg2md %s: --progress takes tty, log or none, not \"%s\"\n", cmd->name, opts->progress);
		fprintf(stderr, "Try \"pg2md %s --help\" for more information.\n", cmd->name);
		return EXIT_USAGE;
	}
	if (opts->lib.log_level && cli_log_level_parse(opts->lib.log_level) < 0) {
		fprintf(stderr, "pg2md %s: unknown log level \"%s\"\n", cmd->name, opts->lib.log_level);
		fprintf(stderr, "HINT:  use DEBUG, INFO, WARNING, ERROR or CRITICAL\n");
		return EXIT_USAGE;
	}
	opts->args = argv + optind;
	opts->nargs = argc - optind;
	if (opts->nargs > 0 && !cmd->args) {
		fprintf(stderr, "pg2md %s: unexpected argument \"%s\"\n", cmd->name, opts->args[0]);
		fprintf(stderr, "Try \"pg2md %s --help\" for more information.\n", cmd->name);
		return EXIT_USAGE;
	}
	return 0;
}

int
cli_exit_code(pg2md_status status)
{
	switch (status) {
	case PG2MD_SUCCESS: return EXIT_OK;
	case PG2MD_CONFIG: return EXIT_USAGE;
	case PG2MD_CONNECT: return EXIT_CONNECT;
	case PG2MD_CANCELLED: return EXIT_INTERRUPTED;
	case PG2MD_FAILED:
	case PG2MD_NOMEM:
	default: return EXIT_RUN;
	}
}

int
cli_no_args(const cli_opts *opts, const char *cmd)
{
	if (opts->nargs == 0)
		return 0;
	fprintf(stderr, "pg2md %s: unexpected argument \"%s\"\nTry \"pg2md %s --help\" for more information.\n", cmd,
		opts->args[0], cmd);
	return EXIT_USAGE;
}

pg2md_pipeline *
cli_open(cli_opts *opts, int *code)
{
	pg2md_pipeline *p;
	pg2md_err err;
	if (pg2md_open(&p, &opts->lib, &err) != PG2MD_SUCCESS) {
		cli_print_error(&err);
		*code = cli_exit_code(err.status);
		return NULL;
	}
	cli_log_setup(p);
	*code = 0;
	return p;
}

/* First SIGINT/SIGTERM: ask the run to stop cleanly.  A second one ends the process. */
static void
on_signal(int sig)
{
	pg2md_cancel();
	signal(sig, SIG_DFL);
}

int
main(int argc, char **argv)
{
	const cli_command *cmd;
	cli_opts opts;
	int code;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("pg2md %s\n", pg2md_version());
		return 0;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		cmd = find_command(argv[2]);
		if (!cmd) {
			fprintf(stderr, "pg2md: unknown command \"%s\"\nTry \"pg2md --help\" for more information.\n", argv[2]);
			return EXIT_USAGE;
		}
		fputs(cmd->usage, stdout);
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "pg2md: unknown command \"%s\"\nTry \"pg2md --help\" for more information.\n", argv[1]);
		return EXIT_USAGE;
	}
	code = cli_parse(cmd, argc - 1, argv + 1, &opts);
	if (code)
		return code;
	if (opts.help) {
		fputs(cmd->usage, stdout);
		return 0;
	}
	/* Everything a command creates (the DuckDB file and its WAL, the pipeline folder, packages,
	 * state, trace, follow's spill files) is the user's alone: the data is as private as the
	 * database it came from.  The process's umask is the program's to set, not the library's. */
	umask(077);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	cli_log_start();
	return cmd->fn(&opts);
}

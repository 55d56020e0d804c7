/*
 * cmd_init.c — `pg2md init`: write the commented .dlt/config.toml and
 * .dlt/secrets.toml templates of the PostgreSQL → MotherDuck guide into a
 * project folder, and keep secrets.toml out of git.
 *
 * The templates carry every section of the guide with its values, so a user
 * of the guide recognises them line by line; each key has a one-line comment.
 * secrets.toml holds placeholders only, is written with mode 600, and its
 * MotherDuck token is commented out so pg2md loads into a local DuckDB file
 * until a token is set.  Existing files are never overwritten without --force.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char config_template[] =
	"# .dlt/config.toml — pg2md's (and dlt's) pipeline settings, written by \"pg2md init\".\n"
	"# Secrets (passwords, tokens) belong in .dlt/secrets.toml, never here.\n"
	"# Environment variables override this file with dlt's names (LOAD__WORKERS=4, ...);\n"
	"# \"pg2md info\" shows every resolved value and where it came from.\n"
	"\n"
	"[runtime]\n"
	"# log level: \"DEBUG\", \"INFO\", \"WARNING\", \"ERROR\" or \"CRITICAL\"\n"
	"log_level = \"WARNING\"\n"
	"# accepted for dlt projects; pg2md never sends telemetry or anything else anywhere\n"
	"dlthub_telemetry = true\n"
	"\n"
	"[pipeline]\n"
	"# names the pipeline folder (.pg2md/pipelines/<name>) and the local file <name>.duckdb\n"
	"pipeline_name = \"pg2md\"\n"
	"# the DuckDB schema the tables are loaded into\n"
	"dataset_name = \"pg2md_data\"\n"
	"# \"duckdb\" or \"motherduck\"; unset: motherduck when a token is configured, else duckdb\n"
	"# destination = \"motherduck\"\n"
	"\n"
	"[sources.sql_database]\n"
	"# the PostgreSQL schema holding the tables (must match your PostgreSQL schema)\n"
	"schema = \"my_pg\"\n"
	"\n"
	"# the tables to replicate (\"pg2md check\" tells which of them exist); a partition may be\n"
	"# named alone; leave the list out to copy every table of the schema\n"
	"tables = [\n"
	"    # Customer-related tables\n"
	"    \"customer\",\n"
	"    \"customer_address\",\n"
	"    \"customer_demographics\",\n"
	"    \"household_demographics\",\n"
	"    \"income_band\",\n"
	"\n"
	"    # Time-related tables\n"
	"    \"date_dim\",\n"
	"    \"time_dim\",\n"
	"\n"
	"    # Product-related tables\n"
	"    \"item\",\n"
	"    \"inventory\",\n"
	"    \"warehouse\",\n"
	"\n"
	"    # Sales and returns tables\n"
	"    \"store_sales\",\n"
	"    \"store_returns\",\n"
	"    \"catalog_sales\",\n"
	"    \"catalog_returns\",\n"
	"    \"web_sales\",\n"
	"    \"web_returns\",\n"
	"\n"
	"    # Store and catalog tables\n"
	"    \"store\",\n"
	"    \"call_center\",\n"
	"    \"catalog_page\",\n"
	"\n"
	"    # Web-related tables\n"
	"    \"web_page\",\n"
	"    \"web_site\",\n"
	"\n"
	"    # Other dimension tables\n"
	"    \"promotion\",\n"
	"    \"reason\",\n"
	"    \"ship_mode\"\n"
	"]\n"
	"\n"
	"# tables (and page ranges of big tables) read from PostgreSQL at once\n"
	"workers = 6\n"
	"\n"
	"# with no tables list: copy views too\n"
	"# include_views = false\n"
	"# char(n) values arrive without their pad blanks, as PostgreSQL compares them;\n"
	"# \"keep\" copies the stored blanks\n"
	"# char_padding = \"trim\"\n"
	"# plain numeric columns become a DECIMAL measured from their values; those no DECIMAL\n"
	"# holds (NaN, Infinity, more than 38 digits) arrive as exact text, or \"double\"\n"
	"# numeric_fallback = \"varchar\"\n"
	"\n"
	"# Per-table settings (optional), one section per table:\n"
	"# [sources.sql_database.store_sales]\n"
	"# write_disposition = \"append\"          # replace (default), append or merge\n"
	"# primary_key = [\"ss_item_sk\", \"ss_ticket_number\"]   # needed for merge\n"
	"# merge strategies: delete-insert (default), upsert, insert-only, or scd2, which keeps every\n"
	"# version of every row, valid from the load that brought it (_dlt_valid_from) until the load\n"
	"# that no longer saw it (_dlt_valid_to, NULL while current):\n"
	"# [sources.sql_database.customer]\n"
	"# write_disposition = { disposition = \"merge\", strategy = \"scd2\" }\n"
	"#   optional: validity_column_names = [\"valid_from\", \"valid_to\"],\n"
	"#   active_record_timestamp = \"9999-12-31\", boundary_timestamp = \"2024-04-01\",\n"
	"#   row_version_column_name = \"row_hash\"\n"
	"\n"
	"[postgres]\n"
	"# most PostgreSQL connections open at once; should match the number of workers\n"
	"pool_size = 6\n"
	"\n"
	"[data_writer]\n"
	"# staging file format; Parquet provides good compression and performance\n"
	"format = \"parquet\"\n"
	"\n"
	"[destination.motherduck]\n"
	"# rows per insert batch when loading; lower it (500000) if memory runs out\n"
	"batch_size = 1000000\n"
	"\n"
	"# [destination.duckdb]\n"
	"# the local DuckDB file used when no MotherDuck token is set (default <pipeline_name>.duckdb)\n"
	"# credentials = \"pg2md.duckdb\"\n"
	"\n"
	"# Extract stage configuration\n"
	"[extract]\n"
	"# extract parallelism\n"
	"workers = 8\n"
	"\n"
	"# Normalize stage configuration (data transformation)\n"
	"[normalize]\n"
	"# normalize parallelism\n"
	"workers = 4\n"
	"\n"
	"# Load stage configuration (loading to MotherDuck)\n"
	"[load]\n"
	"# load parallelism\n"
	"workers = 4\n";

static const char secrets_template[] =
	"# .dlt/secrets.toml — credentials, written by \"pg2md init\".\n"
	"# Never commit this file to version control (pg2md init added it to .gitignore); keep it\n"
	"# readable by you only (chmod 600).  Environment variables override it with dlt's names:\n"
	"# SOURCES__SQL_DATABASE__CREDENTIALS__PASSWORD, DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN.\n"
	"\n"
	"# PostgreSQL credentials (a connection string also works:\n"
	"# credentials = \"postgresql://user:password@host:5432/database\" under [sources.sql_database])\n"
	"[sources.sql_database.credentials]\n"
	"# the driver; pg2md speaks PostgreSQL only\n"
	"drivername = \"postgresql\"\n"
	"# the database to copy from\n"
	"database = \"your_database_name\"\n"
	"# host name, IP address or Unix socket folder of the server\n"
	"host = \"your_postgres_host\"\n"
	"# the role's password (never printed by pg2md)\n"
	"password = \"your_postgres_password\"\n"
	"# the server's port\n"
	"port = 5432\n"
	"# the role to connect as; it needs SELECT on the tables\n"
	"username = \"your_postgres_username\"\n"
	"\n"
	"# MotherDuck credentials: uncomment both lines and set your token to load into MotherDuck;\n"
	"# while they stay commented out, pg2md loads into a local DuckDB file (pg2md.duckdb).\n"
	"# [destination.motherduck.credentials]\n"
	"# token = \"your_motherduck_token\"\n";

/* The line that keeps secrets.toml out of git. */
static const char ignore_line[] = ".dlt/secrets.toml";

/* Write text into path (mode applies to a new file and is forced on an existing one). */
static int
write_file(const char *path, const char *text, mode_t mode, pg2md_err *err)
{
	size_t len = strlen(text), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0) {
		cli_fail(err, PG2MD_CONFIG, "could not write \"%s\": %s", path, strerror(errno));
		return -1;
	}
	/* --force over an existing, more open file: tighten it before the secrets go in. */
	if (fchmod(fd, mode) != 0) {
		cli_fail(err, PG2MD_CONFIG, "could not change the mode of \"%s\": %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			cli_fail(err, PG2MD_CONFIG, "could not write \"%s\": %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		cli_fail(err, PG2MD_CONFIG, "could not write \"%s\": %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Does a .gitignore line already cover .dlt/secrets.toml? */
static int
ignores_secrets(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	static const char *const forms[] = {".dlt/secrets.toml", "/.dlt/secrets.toml", "**/.dlt/secrets.toml",
					    "secrets.toml", "**/secrets.toml"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (strlen(forms[i]) == n && strncmp(line, forms[i], n) == 0)
			return 1;
	return 0;
}

/*
 * Add ".dlt/secrets.toml" to DIR/.gitignore unless a line already covers it.
 * *added (OUT) tells whether the file changed.
 */
static int
update_gitignore(const char *path, int *added, pg2md_err *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int last_nl = 1, found = 0;

	*added = 0;
	if (f) {
		ssize_t n;
		while ((n = getline(&line, &cap, f)) > 0) {
			last_nl = line[n - 1] == '\n';
			if (ignores_secrets(line))
				found = 1;
		}
		free(line);
		fclose(f);
	} else if (errno != ENOENT) {
		cli_fail(err, PG2MD_CONFIG, "could not read \"%s\": %s", path, strerror(errno));
		return -1;
	}
	if (found)
		return 0;
	f = fopen(path, "a");
	if (!f) {
		cli_fail(err, PG2MD_CONFIG, "could not write \"%s\": %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%s%s\n", last_nl ? "" : "\n", ignore_line);
	if (fclose(f) != 0) {
		cli_fail(err, PG2MD_CONFIG, "could not write \"%s\": %s", path, strerror(errno));
		return -1;
	}
	*added = 1;
	return 0;
}

int
cmd_init(cli_opts *opts)
{
	const char *dir = opts->lib.project_dir;
	char *dlt = NULL, *config = NULL, *secrets = NULL, *ignore = NULL;
	pg2md_err err;
	struct stat st;
	int added = 0;
	const char *flag = NULL; /* the folder as the user named it, for the next steps */
	char real[PATH_MAX];

	memset(&err, 0, sizeof(err));
	if (cli_no_args(opts, "init"))
		return EXIT_USAGE;
	if (!dir || !*dir)
		dir = getenv("DLT_PROJECT_DIR");
	if (!dir || !*dir)
		dir = ".";
	else
		flag = dir;
	/* Absolute names in messages when the folder exists already. */
	if (realpath(dir, real))
		dir = real;
	dlt = cli_asprintf("%s/.dlt", dir);
	config = cli_asprintf("%s/config.toml", dlt);
	secrets = cli_asprintf("%s/secrets.toml", dlt);
	ignore = cli_asprintf("%s/.gitignore", dir);

	if (!opts->force) {
		const char *exists = stat(config, &st) == 0 ? config : stat(secrets, &st) == 0 ? secrets : NULL;
		if (exists) {
			cli_fail(&err, PG2MD_CONFIG, "\"%s\" already exists", exists);
			cli_detail(&err, "pg2md init writes new templates only; nothing was changed");
			cli_hint(&err, "use --force to overwrite config.toml and secrets.toml with the templates");
			goto done;
		}
	}
	/* mkdir -p DIR/.dlt: the project folder may be new. */
	for (char *s = dlt + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(dlt, 0755) != 0 && errno != EEXIST) {
			cli_fail(&err, PG2MD_CONFIG, "could not create folder \"%s\": %s", dlt, strerror(errno));
			*s = '/';
			goto done;
		}
		*s = '/';
	}
	if (mkdir(dlt, 0755) != 0 && errno != EEXIST) {
		cli_fail(&err, PG2MD_CONFIG, "could not create folder \"%s\": %s", dlt, strerror(errno));
		goto done;
	}
	if (write_file(config, config_template, 0644, &err) || write_file(secrets, secrets_template, 0600, &err) ||
	    update_gitignore(ignore, &added, &err))
		goto done;

	printf("pg2md: wrote \"%s\"\n", config);
	printf("pg2md: wrote \"%s\" (mode 600)\n", secrets);
	if (added)
		printf("pg2md: added \"%s\" to \"%s\"\n", ignore_line, ignore);
	else
		printf("pg2md: \"%s\" already ignores \"%s\"\n", ignore, ignore_line);
	printf("\nnext steps:\n"
	       "  1. put your PostgreSQL credentials into %s\n"
	       "  2. set schema and tables under [sources.sql_database] in %s\n"
	       "  3. pg2md check%s%s   (tests both connections and the tables)\n"
	       "  4. pg2md run%s%s\n",
	       secrets, config, flag ? " --project-dir " : "", flag ? flag : "", flag ? " --project-dir " : "",
	       flag ? flag : "");
done:
	if (err.status != PG2MD_SUCCESS)
		cli_print_error(&err);
	free(dlt);
	free(config);
	free(secrets);
	free(ignore);
	return cli_exit_code(err.status);
}

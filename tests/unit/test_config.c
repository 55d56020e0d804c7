/*
 * test_config.c — unit tests of configuration loading (src/config/config.c):
 * the guide's files load unchanged, dlt's aliases, the precedence of
 * defaults < config.toml < secrets.toml < environment < flags, connection
 * strings, MotherDuck token forms, error messages with file and line, unknown
 * key warnings, provenance, and that secrets are never shown.
 *
 * Each test builds a temporary project folder; warnings are captured by
 * redirecting stderr (where the test's log sink writes) to a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/log.h"

/* ---------------------------------------------------------------------- */

static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

/* A temporary project folder with .dlt/config.toml and .dlt/secrets.toml (either may be NULL). */
static char *
make_project(const char *config, const char *secrets)
{
	char tmpl[] = "/tmp/pg2md-test-config-XXXXXX";
	char path[512];
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	dir = strdup(dir);
	snprintf(path, sizeof(path), "%s/.dlt", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	if (config) {
		snprintf(path, sizeof(path), "%s/.dlt/config.toml", dir);
		write_file(path, config, 0644);
	}
	if (secrets) {
		snprintf(path, sizeof(path), "%s/.dlt/secrets.toml", dir);
		write_file(path, secrets, 0600);
	}
	return dir;
}

static void
remove_project(char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/.dlt/config.toml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.dlt/secrets.toml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.dlt", dir);
	rmdir(path);
	rmdir(dir);
	free(dir);
}

/* The result of one load: config or error, and what was logged. */
typedef struct result {
	pg2md_code code;
	pg2md_config *cfg;
	pg2md_error err;
	char *log;
} result;

/* The library writes nowhere itself: this sink writes its lines as the command line does. */
static void
stderr_sink(void *arg, int level, const char *message)
{
	(void)arg;
	fprintf(stderr, "pg2md: %s: %s\n", level >= PG2MD_LOG_ERROR ? "error" : level >= PG2MD_LOG_WARNING ? "warning"
						   : level >= PG2MD_LOG_INFO ? "info" : "debug", message);
}

static result
load(const char *dir, char **env, pg2md_config_flags *flags)
{
	static char *empty_env[] = {NULL};
	pg2md_config_flags f = PG2MD_CONFIG_FLAGS_INIT;
	char logpath[] = "/tmp/pg2md-test-log-XXXXXX";
	result r;
	int saved, fd;

	memset(&r, 0, sizeof(r));
	if (flags)
		f = *flags;
	f.project_dir = dir;
	pg2md_error_init(&r.err);
	pg2md_log_set_sink(stderr_sink, NULL);

	fd = mkstemp(logpath);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	r.code = pg2md_config_load(&r.cfg, &f, env ? env : empty_env, &r.err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	r.log = read_all(logpath);
	unlink(logpath);
	return r;
}

static void
release(result *r)
{
	pg2md_config_free(r->cfg);
	free(r->log);
}

/* All of the error: message, detail and hint. */
static char *
error_text(const result *r, char *buf, size_t n)
{
	snprintf(buf, n, "%s\n%s\n%s", r->err.msg, r->err.detail, r->err.hint);
	return buf;
}

static const pg2md_provenance *
prov(const result *r, const char *key)
{
	const pg2md_provenance *p = pg2md_config_provenance(r->cfg, key);
	if (p == NULL)
		fail_msg("no provenance for \"%s\"", key);
	return p;
}

/* Copy the guide's fixture files into a temporary project. */
static char *
guide_project(void)
{
	char *config = read_all("config_fixtures/guide/.dlt/config.toml");
	char *secrets = read_all("config_fixtures/guide/.dlt/secrets.toml");
	char *dir;
	assert_non_null(config);
	assert_non_null(secrets);
	dir = make_project(config, secrets);
	free(config);
	free(secrets);
	return dir;
}

#define MINIMAL "[sources.sql_database]\ntables = [\"t1\"]\n"

/* ---------------------------------------------------------------------- */

static void
test_guide_files_load_unchanged(void **state)
{
	(void)state;
	char *dir = guide_project();
	char where[600];
	result r = load(dir, NULL, NULL);

	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.log, ""); /* no warning at all */
	pg2md_config *c = r.cfg;
	assert_string_equal(c->schema, "my_pg");
	assert_int_equal(c->tables.n, 24);
	assert_string_equal(c->tables.items[0], "customer");
	assert_string_equal(c->tables.items[23], "ship_mode");
	assert_int_equal(c->source_workers, 6);
	assert_int_equal(c->pool_size, 6);
	assert_string_equal(c->file_format, "parquet");
	assert_int_equal(c->batch_size, 1000000);
	assert_int_equal(c->extract_workers, 8);
	assert_int_equal(c->normalize_workers, 4);
	assert_int_equal(c->load_workers, 4);
	assert_string_equal(c->log_level, "WARNING");
	assert_true(c->dlthub_telemetry);
	assert_string_equal(c->pg_drivername, "postgresql");
	assert_string_equal(c->pg_database, "your_database_name");
	assert_string_equal(c->pg_host, "your_postgres_host");
	assert_string_equal(c->pg_password, "your_postgres_password");
	assert_int_equal(c->pg_port, 5432);
	assert_string_equal(c->pg_port_text, "5432");
	assert_string_equal(c->pg_username, "your_postgres_username");
	assert_string_equal(c->md_token, "your_motherduck_token");
	assert_string_equal(c->md_database, "my_db");
	/* a token is configured: MotherDuck, as the guide's pipeline */
	assert_string_equal(c->destination, "motherduck");
	assert_string_equal(c->pipeline_name, "pg2md");
	assert_string_equal(c->dataset_name, "pg2md_data");
	assert_int_equal(pg2md_config_disposition(c, "customer"), PG2MD_DISP_REPLACE);

	snprintf(where, sizeof(where), "%s/.dlt/config.toml:50", c->project_dir);
	assert_string_equal(prov(&r, "sources.sql_database.workers")->where, where);
	assert_int_equal(prov(&r, "sources.sql_database.workers")->origin, PG2MD_ORIGIN_CONFIG);
	assert_string_equal(prov(&r, "sources.sql_database.workers")->value, "6");
	snprintf(where, sizeof(where), "%s/.dlt/secrets.toml:6", c->project_dir);
	assert_string_equal(prov(&r, "sources.sql_database.credentials.password")->where, where);
	assert_int_equal(prov(&r, "sources.sql_database.credentials.password")->origin, PG2MD_ORIGIN_SECRETS);
	release(&r);
	remove_project(dir);
}

static void
test_defaults(void **state)
{
	(void)state;
	char *dir = make_project(MINIMAL, NULL);
	char path[600];
	result r = load(dir, NULL, NULL);

	assert_int_equal(r.code, PG2MD_OK);
	pg2md_config *c = r.cfg;
	assert_string_equal(c->pipeline_name, "pg2md");
	assert_string_equal(c->dataset_name, "pg2md_data");
	assert_string_equal(c->schema, "public");
	assert_int_equal(c->source_workers, 4);
	assert_int_equal(c->pool_size, 4);
	assert_false(c->direct);
	assert_string_equal(c->file_format, "parquet");
	assert_int_equal(c->file_max_items, 0);
	assert_int_equal(c->file_max_bytes, 0);
	assert_int_equal(c->buffer_max_items, 5000);
	assert_int_equal(c->batch_size, 1000000);
	assert_int_equal(c->extract_workers, 5);
	assert_int_equal(c->normalize_workers, 1);
	assert_int_equal(c->load_workers, 20);
	assert_string_equal(c->log_level, "WARNING");
	assert_string_equal(c->log_format, "TEXT");
	assert_string_equal(c->naming, "snake_case");
	assert_string_equal(c->md_database, "my_db");
	assert_null(c->md_token);
	assert_string_equal(c->destination, "duckdb");
	assert_int_equal(c->write_disposition, PG2MD_DISP_REPLACE);
	assert_false(c->add_dlt_load_id);
	assert_false(c->add_dlt_id);
	/* libpq fills what is not configured from PGHOST, … */
	assert_null(c->pg_host);
	assert_null(c->pg_password);
	assert_int_equal(c->pg_port, 0);
	assert_string_equal(c->pg_port_text, "");
	snprintf(path, sizeof(path), "%s/pg2md.duckdb", c->project_dir);
	assert_string_equal(c->duckdb_path, path);
	snprintf(path, sizeof(path), "%s/.pg2md/pipelines", c->project_dir);
	assert_string_equal(c->pipelines_dir, path);
	assert_string_equal(prov(&r, "extract.workers")->where, "default");
	assert_int_equal(prov(&r, "extract.workers")->origin, PG2MD_ORIGIN_DEFAULT);
	assert_string_equal(prov(&r, "postgres.pool_size")->value, "4");
	assert_string_equal(prov(&r, "pipeline.destination")->value, "duckdb");
	assert_string_equal(prov(&r, "sources.sql_database.credentials.password")->value, "");
	release(&r);
	remove_project(dir);
}

static void
test_every_key_has_provenance(void **state)
{
	(void)state;
	static const char *const keys[] = {
		"pipeline.pipeline_name", "pipeline.dataset_name", "pipeline.destination", "runtime.pipelines_dir",
		"sources.sql_database.schema", "sources.sql_database.tables", "sources.sql_database.workers",
		"sources.sql_database.direct", "sources.sql_database.write_disposition",
		"sources.sql_database.credentials", "sources.sql_database.credentials.drivername",
		"sources.sql_database.credentials.database", "sources.sql_database.credentials.host",
		"sources.sql_database.credentials.port", "sources.sql_database.credentials.username",
		"sources.sql_database.credentials.password", "postgres.pool_size", "data_writer.format",
		"data_writer.file_max_items", "data_writer.file_max_bytes", "data_writer.buffer_max_items",
		"destination.duckdb.credentials", "destination.motherduck.credentials",
		"destination.motherduck.credentials.token", "destination.motherduck.credentials.database",
		"destination.motherduck.batch_size", "extract.workers", "normalize.workers", "load.workers",
		"runtime.log_level", "runtime.log_format", "runtime.dlthub_telemetry", "schema.naming",
		"normalize.parquet_normalizer.add_dlt_load_id", "normalize.parquet_normalizer.add_dlt_id",
		"sources.sql_database.numeric_fallback", "sources.sql_database.char_padding",
		"sources.sql_database.include_views", "project_dir", NULL};
	char *dir = make_project(MINIMAL, NULL);
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	for (int i = 0; keys[i]; i++) {
		const pg2md_provenance *p = prov(&r, keys[i]);
		assert_non_null(p->value);
		assert_non_null(p->where);
	}
	release(&r);
	remove_project(dir);
}

static void
test_aliases(void **state)
{
	(void)state;
	char *dir = make_project("[sources.sql_database]\n"
				 "table_names = [\"a\", \"b\"]\n"
				 "[sources.sql_database.extract]\n"
				 "workers = 3\n"
				 "[data_writer]\n"
				 "loader_file_format = \"parquet\"\n"
				 "buffer_max_items = 100\n"
				 "[normalize.data_writer]\n"
				 "file_max_items = 7\n"
				 "[pipeline]\n"
				 "dataset_name = \"ds\"\n",
				 "[sources.credentials]\n"
				 "host = \"generic-host\"\n"
				 "username = \"generic-user\"\n"
				 "[sources.sql_database.credentials]\n"
				 "host = \"specific-host\"\n"
				 "[destination.motherduck.credentials]\n"
				 "password = \"tok\"\n");
	result r = load(dir, NULL, NULL);

	assert_int_equal(r.code, PG2MD_OK);
	pg2md_config *c = r.cfg;
	assert_int_equal(c->tables.n, 2);
	assert_string_equal(c->tables.items[1], "b");
	assert_int_equal(c->source_workers, 3);
	assert_int_equal(c->pool_size, 3);
	assert_int_equal(c->buffer_max_items, 100);
	assert_int_equal(c->file_max_items, 7);
	assert_string_equal(c->dataset_name, "ds");
	/* the more specific section wins within one file */
	assert_string_equal(c->pg_host, "specific-host");
	assert_string_equal(c->pg_username, "generic-user");
	assert_string_equal(c->md_token, "tok");
	assert_string_equal(c->destination, "motherduck");
	assert_string_equal(r.log, "");
	release(&r);
	remove_project(dir);
}

static void
test_secrets_beat_config(void **state)
{
	(void)state;
	char *dir = make_project(MINIMAL "workers = 2\n[sources.sql_database.credentials]\nhost = \"from-config\"\n",
				 "[sources.sql_database]\nworkers = 9\n"
				 "[sources.sql_database.credentials]\nhost = \"from-secrets\"\n");
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_int_equal(r.cfg->source_workers, 9);
	assert_string_equal(r.cfg->pg_host, "from-secrets");
	assert_int_equal(prov(&r, "sources.sql_database.workers")->origin, PG2MD_ORIGIN_SECRETS);
	release(&r);
	remove_project(dir);
}

static void
test_env_overrides_files(void **state)
{
	(void)state;
	char *dir = guide_project();
	char *env[] = {
		"SOURCES__SQL_DATABASE__CREDENTIALS__PASSWORD=from-env",
		"SOURCES__SQL_DATABASE__TABLES=[\"x\", \"y\"]",
		"DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN=env-token",
		"LOAD__WORKERS=11",
		"RUNTIME__LOG_LEVEL=debug",
		"PIPELINE__DATASET_NAME=env_ds",
		"DATA_WRITER__FILE_MAX_BYTES=1048576",
		"SOURCES__SQL_DATABASE__DIRECT=true",
		"UNRELATED=1",
		NULL,
	};
	result r = load(dir, env, NULL);

	assert_int_equal(r.code, PG2MD_OK);
	pg2md_config *c = r.cfg;
	assert_string_equal(c->pg_password, "from-env");
	assert_int_equal(c->tables.n, 2);
	assert_string_equal(c->tables.items[0], "x");
	assert_string_equal(c->md_token, "env-token");
	assert_int_equal(c->load_workers, 11);
	assert_string_equal(c->log_level, "DEBUG");
	assert_string_equal(c->dataset_name, "env_ds");
	assert_int_equal(c->file_max_bytes, 1048576);
	assert_true(c->direct);
	assert_int_equal(c->source_workers, 6); /* untouched: from the file */
	assert_string_equal(prov(&r, "load.workers")->where, "LOAD__WORKERS");
	assert_int_equal(prov(&r, "load.workers")->origin, PG2MD_ORIGIN_ENV);
	assert_string_equal(prov(&r, "sources.sql_database.tables")->value, "x, y");
	release(&r);
	remove_project(dir);
}

static void
test_env_comma_list_and_aliases(void **state)
{
	(void)state;
	char *dir = make_project(NULL, NULL);
	char *env[] = {
		"SOURCES__SQL_DATABASE__TABLE_NAMES= a , b,,c ",
		"SOURCES__SQL_DATABASE__EXTRACT__WORKERS=7",
		"POSTGRES__POOL_SIZE=2",
		NULL,
	};
	result r = load(dir, env, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_int_equal(r.cfg->tables.n, 3);
	assert_string_equal(r.cfg->tables.items[0], "a");
	assert_string_equal(r.cfg->tables.items[2], "c");
	assert_int_equal(r.cfg->source_workers, 7);
	assert_int_equal(r.cfg->pool_size, 2);
	release(&r);
	remove_project(dir);
}

static void
test_flags_beat_env(void **state)
{
	(void)state;
	char *dir = make_project(MINIMAL "direct = true\n", NULL);
	char *env[] = {
		"SOURCES__SQL_DATABASE__TABLES=envtable",
		"RUNTIME__LOG_LEVEL=ERROR",
		"PIPELINE__PIPELINE_NAME=envpipe",
		"SOURCES__SQL_DATABASE__WRITE_DISPOSITION=append",
		NULL,
	};
	pg2md_config_flags f = PG2MD_CONFIG_FLAGS_INIT;
	f.tables = "f1,f2";
	f.log_level = "info";
	f.pipeline_name = "flagpipe";
	f.dataset_name = "flagds";
	f.write_disposition = "merge";
	f.direct = 0;
	result r = load(dir, env, &f);

	assert_int_equal(r.code, PG2MD_OK);
	pg2md_config *c = r.cfg;
	assert_int_equal(c->tables.n, 2);
	assert_string_equal(c->tables.items[1], "f2");
	assert_string_equal(c->log_level, "INFO");
	assert_string_equal(c->pipeline_name, "flagpipe");
	assert_string_equal(c->dataset_name, "flagds");
	assert_int_equal(c->write_disposition, PG2MD_DISP_MERGE);
	assert_false(c->direct);
	assert_string_equal(prov(&r, "sources.sql_database.tables")->where, "--tables");
	assert_int_equal(prov(&r, "sources.sql_database.tables")->origin, PG2MD_ORIGIN_FLAG);
	assert_string_equal(prov(&r, "sources.sql_database.direct")->where, "--staged");
	/* the default DuckDB file follows the pipeline name */
	char path[600];
	snprintf(path, sizeof(path), "%s/flagpipe.duckdb", c->project_dir);
	assert_string_equal(c->duckdb_path, path);
	release(&r);
	remove_project(dir);
}

static void
test_connection_string(void **state)
{
	(void)state;
	char *dir = make_project(MINIMAL,
				 "[sources.sql_database]\n"
				 "credentials = \"postgresql+psycopg2://us%40er:p%40ss%3Aw%2F@db.example.com:6543/my%20db"
				 "?sslmode=require&connect_timeout=10\"\n");
	const char *keys[16], *values[16];
	result r = load(dir, NULL, NULL);

	assert_int_equal(r.code, PG2MD_OK);
	pg2md_config *c = r.cfg;
	assert_string_equal(c->pg_drivername, "postgresql+psycopg2");
	assert_true(strncmp(c->pg_conn_string, "postgresql://us%40er:", 21) == 0);
	assert_string_equal(c->pg_username, "us@er");
	assert_string_equal(c->pg_password, "p@ss:w/");
	assert_string_equal(c->pg_host, "db.example.com");
	assert_int_equal(c->pg_port, 6543);
	assert_string_equal(c->pg_database, "my db");
	assert_int_equal(c->pg_query_keys.n, 2);
	int s = -1;
	for (int i = 0; i < c->pg_query_keys.n; i++)
		if (strcmp(c->pg_query_keys.items[i], "sslmode") == 0)
			s = i;
	assert_true(s >= 0);
	assert_string_equal(c->pg_query_values.items[s], "require");
	assert_string_equal(prov(&r, "sources.sql_database.credentials")->value, "********");
	assert_string_equal(prov(&r, "sources.sql_database.credentials.password")->value, "********");
	assert_string_equal(prov(&r, "sources.sql_database.credentials.host")->value, "db.example.com");
	assert_string_equal(prov(&r, "sources.sql_database.credentials.query.sslmode")->value, "require");

	int n = pg2md_config_pg_params(c, keys, values, 16);
	assert_int_equal(n, 8);
	assert_string_equal(keys[0], "host");
	assert_string_equal(values[1], "6543");
	assert_string_equal(keys[2], "dbname");
	assert_string_equal(values[4], "p@ss:w/");
	assert_string_equal(keys[7], "fallback_application_name");
	assert_null(keys[8]);
	release(&r);
	remove_project(dir);
}

static void
test_connection_string_refined_by_fields(void **state)
{
	(void)state;
	/* the URL in config.toml, the password in secrets.toml, sslmode from a query table */
	char *dir = make_project(MINIMAL "credentials = \"postgresql://loader@pg.internal/warehouse\"\n",
				 "[sources.sql_database.credentials]\npassword = \"s3cret\"\n"
				 "[sources.sql_database.credentials.query]\nsslmode = \"verify-full\"\n");
	char *env[] = {"SOURCES__SQL_DATABASE__CREDENTIALS__QUERY__CONNECT_TIMEOUT=5", NULL};
	result r = load(dir, env, NULL);

	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.cfg->pg_username, "loader");
	assert_string_equal(r.cfg->pg_password, "s3cret");
	assert_string_equal(r.cfg->pg_host, "pg.internal");
	assert_int_equal(r.cfg->pg_port, 0);
	assert_int_equal(r.cfg->pg_query_keys.n, 2);
	assert_string_equal(r.cfg->pg_query_keys.items[0], "sslmode");
	assert_string_equal(r.cfg->pg_query_values.items[0], "verify-full");
	assert_string_equal(r.cfg->pg_query_keys.items[1], "connect_timeout");
	release(&r);
	remove_project(dir);

	/* a connection string in the environment replaces the files' fields */
	dir = make_project(MINIMAL, "[sources.sql_database.credentials]\nhost = \"filehost\"\npassword = \"filepw\"\n");
	char *env2[] = {"SOURCES__SQL_DATABASE__CREDENTIALS=postgres://envuser@envhost:5433/envdb", NULL};
	r = load(dir, env2, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.cfg->pg_host, "envhost");
	assert_null(r.cfg->pg_password);
	assert_int_equal(r.cfg->pg_port, 5433);
	assert_string_equal(prov(&r, "sources.sql_database.credentials.host")->where,
			    "SOURCES__SQL_DATABASE__CREDENTIALS");
	release(&r);
	remove_project(dir);
}

static void
test_bad_connection_string_hides_password(void **state)
{
	(void)state;
	char buf[4096];
	char *dir = make_project(MINIMAL, "[sources.sql_database]\n"
					  "credentials = \"postgresql://u:hunter2@h/db?sslmode=%zz\"\n");
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_ERR_USAGE);
	error_text(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "secrets.toml\" line 2"));
	assert_null(strstr(buf, "hunter2"));
	assert_null(strstr(r.log, "hunter2"));
	release(&r);
	remove_project(dir);

	dir = make_project(MINIMAL, "[sources.sql_database]\ncredentials = \"mysql://u:hunter2@h/db\"\n");
	r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_ERR_USAGE);
	error_text(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "not for PostgreSQL"));
	assert_null(strstr(buf, "hunter2"));
	release(&r);
	remove_project(dir);
}

static void
test_motherduck_forms(void **state)
{
	(void)state;
	char *dir = make_project(MINIMAL, "[destination.motherduck]\n"
					  "credentials = \"md:prod?motherduck_token=abc%2Bdef\"\n");
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.cfg->md_token, "abc+def");
	assert_string_equal(r.cfg->md_database, "prod");
	assert_string_equal(r.cfg->destination, "motherduck");
	assert_string_equal(prov(&r, "destination.motherduck.credentials")->value, "********");
	assert_string_equal(prov(&r, "destination.motherduck.credentials.token")->value, "********");
	assert_string_equal(prov(&r, "destination.motherduck.credentials.database")->value, "prod");
	release(&r);
	remove_project(dir);

	/* a parameter without "=" (once a write into a string literal) is ignored */
	dir = make_project(MINIMAL, "[destination.motherduck]\n"
				    "credentials = \"md:prod?attach_mode&motherduck_token=t%41\"\n");
	r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.cfg->md_token, "tA");
	assert_string_equal(r.cfg->md_database, "prod");
	release(&r);
	remove_project(dir);

	/* "md:db" and the token from MOTHERDUCK_TOKEN */
	dir = make_project(MINIMAL "[destination.motherduck]\ncredentials = \"md:analytics\"\n", NULL);
	char *env[] = {"MOTHERDUCK_TOKEN=envtok", NULL};
	r = load(dir, env, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.cfg->md_token, "envtok");
	assert_string_equal(r.cfg->md_database, "analytics");
	assert_string_equal(r.cfg->destination, "motherduck");
	assert_string_equal(prov(&r, "destination.motherduck.credentials.token")->where, "MOTHERDUCK_TOKEN");
	release(&r);
	remove_project(dir);

	/* lower-case motherduck_token, below secrets.toml as in dlt */
	dir = make_project(MINIMAL, "[destination.motherduck.credentials]\ntoken = \"filetok\"\n");
	char *env2[] = {"motherduck_token=envtok", NULL};
	r = load(dir, env2, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.cfg->md_token, "filetok");
	release(&r);
	remove_project(dir);

	/* a token but an explicit duckdb destination */
	dir = make_project(MINIMAL "[pipeline]\ndestination = \"duckdb\"\n",
			   "[destination.motherduck.credentials]\ntoken = \"t\"\n");
	r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.cfg->destination, "duckdb");
	release(&r);
	remove_project(dir);
}

/* pg2md follow's slot and publication: derived from the pipeline's name unless named */
static void
test_replication_names(void **state)
{
	(void)state;
	char *dir = make_project(MINIMAL "[pipeline]\npipeline_name = \"Shop-Orders.EU\"\n", NULL);
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.cfg->repl_slot_name, "shop_orders_eu_slot");
	assert_string_equal(r.cfg->repl_pub_name, "shop_orders_eu_pub");
	assert_string_equal(prov(&r, "sources.pg_replication.slot_name")->value, "shop_orders_eu_slot");
	release(&r);
	remove_project(dir);

	dir = make_project(MINIMAL "[sources.pg_replication]\nslot_name = \"mine\"\n", NULL);
	r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.cfg->repl_slot_name, "mine");
	assert_string_equal(r.cfg->repl_pub_name, "pg2md_pub");
	release(&r);
	remove_project(dir);
}

static void
test_motherduck_without_token(void **state)
{
	(void)state;
	char buf[4096];
	char *dir = make_project(MINIMAL, NULL);
	pg2md_config_flags f = PG2MD_CONFIG_FLAGS_INIT;
	f.destination = "motherduck";
	result r = load(dir, NULL, &f);
	assert_int_equal(r.code, PG2MD_ERR_USAGE);
	error_text(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "needs a MotherDuck token"));
	assert_non_null(strstr(buf, "MOTHERDUCK_TOKEN"));
	release(&r);
	remove_project(dir);
}

static void
test_duckdb_relative_path(void **state)
{
	(void)state;
	char path[600];
	char *dir = make_project(MINIMAL "[destination.duckdb]\ncredentials = \"data/out.duckdb\"\n"
				 "[runtime]\npipelines_dir = \"/var/tmp/p\"\n", NULL);
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	snprintf(path, sizeof(path), "%s/data/out.duckdb", r.cfg->project_dir);
	assert_string_equal(r.cfg->duckdb_path, path);
	assert_string_equal(r.cfg->pipelines_dir, "/var/tmp/p");
	release(&r);
	remove_project(dir);
}

static void
test_syntax_error(void **state)
{
	(void)state;
	char *dir = make_project("[sources.sql_database]\ntables = [\"a\"]\nworkers = = 3\n", NULL);
	char expect[600];
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_ERR_USAGE);
	snprintf(expect, sizeof(expect), "syntax error in \"%s/.dlt/config.toml\" at line 3, column ", dir);
	/* dir may be a symlink-free path already; compare from "syntax error" on */
	assert_non_null(strstr(r.err.msg, "syntax error in \""));
	assert_non_null(strstr(r.err.msg, "/.dlt/config.toml\" at line 3, column "));
	assert_null(r.cfg);
	release(&r);
	remove_project(dir);
}

/* No table list, or an empty one: every table of the schema (found when the source is reflected), as dlt does. */
static void
test_missing_tables(void **state)
{
	(void)state;
	char *dir = make_project("[sources.sql_database]\nschema = \"x\"\n[sources.sql_database.t9]\nwhere = \"a > 1\"\n", NULL);
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_int_equal(r.cfg->tables.n, 0);
	assert_false(r.cfg->include_views);
	assert_false(pg2md_config_char_keep(r.cfg, "t9"));
	release(&r);
	remove_project(dir);

	dir = make_project("[sources.sql_database]\ntables = []\ninclude_views = true\nchar_padding = \"keep\"\n"
			   "[sources.sql_database.t2]\nchar_padding = \"trim\"\n", NULL);
	r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_int_equal(r.cfg->tables.n, 0);
	assert_true(r.cfg->include_views);
	assert_true(pg2md_config_char_keep(r.cfg, "t1"));
	assert_false(pg2md_config_char_keep(r.cfg, "t2"));
	release(&r);
	remove_project(dir);

	dir = make_project("[sources.sql_database]\ntables = [\"a\"]\nchar_padding = \"pad\"\n", NULL);
	r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_ERR_USAGE);
	assert_non_null(strstr(r.err.msg, "char_padding"));
	release(&r);
	remove_project(dir);
}

static void
test_type_errors(void **state)
{
	(void)state;
	static const struct {
		const char *config;
		const char *want;
	} cases[] = {
		{MINIMAL "workers = \"six\"\n",
		 "invalid value for \"sources.sql_database.workers\" in \"%s/.dlt/config.toml\" line 3: \"six\""},
		{MINIMAL "workers = 0\n", "invalid value for \"sources.sql_database.workers\" in \"%s/.dlt/config.toml\" line 3"},
		{MINIMAL "write_disposition = \"upsert\"\n", "\"upsert\""},
		{MINIMAL "[pipeline]\ndestination = \"snowflake\"\n", "\"snowflake\""},
		{MINIMAL "[load]\nworkers = -2\n", "\"load.workers\""},
		{MINIMAL "[runtime]\nlog_level = \"LOUD\"\n", "\"LOUD\""},
		{MINIMAL "[sources.sql_database.credentials]\nport = 70000\n", "\"sources.sql_database.credentials.port\""},
		{MINIMAL "[sources.sql_database.workers]\nx = 1\n", "is a section"},
		{MINIMAL "[sources.sql_database.orders]\nwrite_disposition = \"sometimes\"\n", "\"sometimes\""},
		{MINIMAL "[sources.sql_database.orders]\nincremental.row_order = \"up\"\n", "\"up\""},
		{"[sources.sql_database]\ntables = [[\"a\"]]\n", "got an array"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir = make_project(cases[i].config, NULL);
		char *real = realpath(dir, NULL);
		char want[1024], buf[4096];
		result r = load(dir, NULL, NULL);
		snprintf(want, sizeof(want), cases[i].want, real);
		error_text(&r, buf, sizeof(buf));
		if (r.code != PG2MD_ERR_USAGE || strstr(buf, want) == NULL)
			fail_msg("case %zu: got code %d, message \"%s\", want \"%s\"", i, r.code, buf, want);
		release(&r);
		free(real);
		remove_project(dir);
	}
}

static void
test_type_error_on_secret_hides_value(void **state)
{
	(void)state;
	char buf[4096];
	char *dir = make_project(MINIMAL, "[destination.motherduck]\ncredentials = \"notmd-hunter2\"\n");
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_ERR_USAGE);
	error_text(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "destination.motherduck.credentials"));
	assert_non_null(strstr(buf, "line 2"));
	assert_null(strstr(buf, "hunter2"));
	release(&r);
	remove_project(dir);

	dir = make_project(MINIMAL, "[sources.sql_database.credentials]\npassword = [\"hunter2\"]\n");
	r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_ERR_USAGE);
	error_text(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "sources.sql_database.credentials.password"));
	assert_null(strstr(buf, "hunter2"));
	release(&r);
	remove_project(dir);
}

static void
test_unknown_key_warning(void **state)
{
	(void)state;
	char *dir = make_project("[sources.sql_database]\n"
				 "tables = [\"t1\"]\n"
				 "backend = \"connectorx\"\n"
				 "chunk_size = 50000\n"
				 "\n"
				 "\n"
				 "wrkers = 6\n"
				 "[runtime]\n"
				 "sentry_dsn = \"x\"\n"
				 "[frobnicate]\n"
				 "level = 3\n"
				 "[sources.rest_api]\n"
				 "base_url = \"https://example.com\"\n",
				 NULL);
	char *real = realpath(dir, NULL);
	char want[1024];
	result r = load(dir, NULL, NULL);

	assert_int_equal(r.code, PG2MD_OK);
	snprintf(want, sizeof(want),
		 "pg2md: warning: unknown key \"sources.sql_database.wrkers\" in \"%s/.dlt/config.toml\" line 7\n"
		 "HINT:  did you mean \"sources.sql_database.workers\"?",
		 real);
	assert_non_null(strstr(r.log, want));
	assert_non_null(strstr(r.log, "unknown key \"frobnicate.level\""));
	/* dlt's own keys and other sources' sections are accepted quietly */
	assert_null(strstr(r.log, "backend"));
	assert_null(strstr(r.log, "chunk_size"));
	assert_null(strstr(r.log, "sentry_dsn"));
	assert_null(strstr(r.log, "rest_api"));
	release(&r);
	free(real);
	remove_project(dir);
}

static void
test_empty_known_sections_are_quiet(void **state)
{
	(void)state;
	char *dir = make_project(MINIMAL "[extract]\n# workers = 8\n[destination.motherduck]\n[sources.sql_database.t1]\n"
				 "[sources.sql_database.t1.incremental]\n[normalize.parquet_normalizer]\n",
				 "[sources.sql_database.credentials]\n");
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.log, "");
	assert_non_null(pg2md_config_table(r.cfg, "t1"));
	release(&r);
	remove_project(dir);
}

static void
test_unknown_key_suggestions(void **state)
{
	(void)state;
	char *dir = make_project("[sql_database]\ntables = [\"t1\"]\n"
				 "[sources.sql_database]\ntables = [\"t1\"]\n"
				 "[sources.sql_database.credentials]\nuser = \"u\"\n"
				 "[sources.sql_database.t1]\nprimry_key = \"id\"\n",
				 NULL);
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_non_null(strstr(r.log, "unknown key \"sql_database.tables\""));
	assert_non_null(strstr(r.log, "did you mean \"sources.sql_database.tables\"?"));
	assert_non_null(strstr(r.log, "did you mean \"sources.sql_database.credentials.username\"?"));
	assert_non_null(strstr(r.log, "did you mean \"sources.sql_database.t1.primary_key\"?"));
	release(&r);
	remove_project(dir);
}

static void
test_secrets_permissions_warning(void **state)
{
	(void)state;
	char path[600];
	char *dir = make_project(MINIMAL, "[sources.sql_database.credentials]\npassword = \"pw\"\n");
	snprintf(path, sizeof(path), "%s/.dlt/secrets.toml", dir);
	chmod(path, 0644);
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_non_null(strstr(r.log, "/.dlt/secrets.toml\" is readable by other users"));
	assert_non_null(strstr(r.log, "chmod 600"));
	release(&r);

	chmod(path, 0600);
	r = load(dir, NULL, NULL);
	assert_string_equal(r.log, "");
	release(&r);
	remove_project(dir);
}

static void
test_secrets_never_shown(void **state)
{
	(void)state;
	char *dir = make_project(MINIMAL "credentials = \"postgresql://u:pw-in-url@h/db\"\n",
				 "[sources.sql_database.credentials]\npassword = \"pw-in-field\"\n"
				 "[destination.motherduck.credentials]\ntoken = \"the-token\"\n");
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	for (int i = 0; i < r.cfg->n_prov; i++) {
		const pg2md_provenance *p = &r.cfg->prov[i];
		assert_null(strstr(p->value, "pw-in-"));
		assert_null(strstr(p->value, "the-token"));
	}
	assert_true(prov(&r, "sources.sql_database.credentials.password")->secret);
	assert_string_equal(prov(&r, "sources.sql_database.credentials.password")->value, "********");
	assert_string_equal(prov(&r, "destination.motherduck.credentials.token")->value, "********");
	assert_null(strstr(r.log, "pw-in-"));
	release(&r);
	remove_project(dir);
}

static void
test_table_sections(void **state)
{
	(void)state;
	char *dir = make_project("[sources.sql_database]\n"
				 "tables = [\"orders\", \"customers\", \"events\"]\n"
				 "write_disposition = \"append\"\n"
				 "[sources.sql_database.orders]\n"
				 "write_disposition = \"merge\"\n"
				 "primary_key = [\"order_id\", \"line\"]\n"
				 "incremental.cursor_path = \"updated_at\"\n"
				 "incremental.initial_value = 2024-01-01T00:00:00Z\n"
				 "incremental.row_order = \"ASC\"\n"
				 "excluded_columns = [\"blob\"]\n"
				 "[sources.sql_database.customers]\n"
				 "primary_key = \"id\"\n"
				 "where = \"active\"\n"
				 "incremental = { cursor_path = \"id\", initial_value = 100 }\n"
				 "backend = \"pyarrow\"\n",
				 NULL);
	char *env[] = {"SOURCES__SQL_DATABASE__EVENTS__WRITE_DISPOSITION=replace",
		       "SOURCES__SQL_DATABASE__CUSTOMERS__INCLUDED_COLUMNS=id,name", NULL};
	result r = load(dir, env, NULL);

	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.log, "");
	const pg2md_table_config *o = pg2md_config_table(r.cfg, "orders");
	assert_non_null(o);
	assert_int_equal(o->write_disposition, PG2MD_DISP_MERGE);
	assert_int_equal(o->primary_key.n, 2);
	assert_string_equal(o->primary_key.items[1], "line");
	assert_string_equal(o->cursor_path, "updated_at");
	assert_string_equal(o->initial_value, "2024-01-01T00:00:00Z");
	assert_string_equal(o->row_order, "asc");
	assert_int_equal(o->excluded_columns.n, 1);

	const pg2md_table_config *c = pg2md_config_table(r.cfg, "customers");
	assert_non_null(c);
	assert_int_equal(c->primary_key.n, 1);
	assert_string_equal(c->primary_key.items[0], "id");
	assert_string_equal(c->where, "active");
	assert_string_equal(c->cursor_path, "id");
	assert_string_equal(c->initial_value, "100");
	assert_int_equal(c->included_columns.n, 2);
	assert_string_equal(c->included_columns.items[1], "name");

	assert_int_equal(pg2md_config_disposition(r.cfg, "orders"), PG2MD_DISP_MERGE);
	assert_int_equal(pg2md_config_disposition(r.cfg, "customers"), PG2MD_DISP_APPEND);
	assert_int_equal(pg2md_config_disposition(r.cfg, "events"), PG2MD_DISP_REPLACE);
	assert_string_equal(prov(&r, "sources.sql_database.events.write_disposition")->where,
			    "SOURCES__SQL_DATABASE__EVENTS__WRITE_DISPOSITION");
	assert_string_equal(prov(&r, "sources.sql_database.orders.incremental.cursor_path")->value, "updated_at");
	release(&r);
	remove_project(dir);
}

static void
test_column_hints(void **state)
{
	(void)state;
	char buf[4096];
	char *dir = make_project("[sources.sql_database]\n"
				 "tables = [\"orders\"]\n"
				 "[sources.sql_database.orders.columns.amount]\n"
				 "name = \"net_amount\"\n"
				 "data_type = \"decimal\"\n"
				 "precision = 12\n"
				 "scale = 2\n"
				 "nullable = false\n"
				 "[sources.sql_database.orders.columns.deleted]\n"
				 "hard_delete = true\n"
				 "[sources.sql_database.orders.columns]\n"
				 "doc = { data_type = \"complex\" }\n",
				 NULL);
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.log, "");
	const pg2md_table_config *o = pg2md_config_table(r.cfg, "orders");
	assert_non_null(o);
	const pg2md_column_hint *h = pg2md_config_column_hint(o, "amount");
	assert_non_null(h);
	assert_string_equal(h->name, "net_amount");
	assert_string_equal(h->data_type, "decimal");
	assert_int_equal(h->precision, 12);
	assert_int_equal(h->scale, 2);
	assert_int_equal(h->nullable, 0);
	snprintf(buf, sizeof(buf), "%s/.dlt/config.toml:4", dir);
	assert_string_equal(h->where, buf);
	assert_string_equal(prov(&r, "sources.sql_database.orders.columns.amount.data_type")->value, "decimal");
	assert_string_equal(prov(&r, "sources.sql_database.orders.columns.amount.scale")->where + strlen(dir),
			    "/.dlt/config.toml:7");
	h = pg2md_config_column_hint(o, "doc");
	assert_non_null(h);
	assert_string_equal(h->data_type, "complex");
	assert_null(h->name);
	assert_int_equal(h->precision, 0);
	assert_int_equal(h->scale, -1);
	assert_int_equal(h->nullable, -1);
	assert_null(pg2md_config_column_hint(o, "deleted")); /* hard_delete alone changes nothing of the column */
	assert_string_equal(o->hard_delete, "deleted");
	release(&r);
	remove_project(dir);

	/* an unknown type, a precision out of range, an empty name: exit 2 with file and line */
	static const char *const bad[][2] = {
		{"data_type = \"integer\"\n", "expected \"text\", \"double\", \"bool\", \"timestamp\", \"date\", \"time\", \"bigint\", "
						  "\"binary\", \"json\", \"complex\", \"decimal\" or \"wei\""},
		{"precision = 65\n", "expected a positive integer up to 64"},
		{"scale = -1\n", "expected an integer of 0 or more up to 38"},
		{"name = \"\"\n", "expected a column name"},
		{"nullable = \"perhaps\"\n", "expected true or false"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char cfgtext[512];
		snprintf(cfgtext, sizeof(cfgtext), "[sources.sql_database]\ntables = [\"t\"]\n[sources.sql_database.t.columns.c]\n%s",
			 bad[i][0]);
		dir = make_project(cfgtext, NULL);
		r = load(dir, NULL, NULL);
		assert_int_equal(r.code, PG2MD_ERR_USAGE);
		snprintf(buf, sizeof(buf), "%s/.dlt/config.toml\" line 4", dir);
		assert_non_null(strstr(r.err.msg, buf));
		assert_non_null(strstr(r.err.msg, "sources.sql_database.t.columns.c."));
		assert_string_equal(r.err.detail, bad[i][1]);
		release(&r);
		remove_project(dir);
	}
}

static void
test_table_section_not_listed(void **state)
{
	(void)state;
	char *dir = make_project("[sources.sql_database]\ntables = [\"customer\"]\n"
				 "[sources.sql_database.custmer]\nwrite_disposition = \"append\"\n"
				 "[sources.sql_database.x]\nwrite_disposition = \"append\"\n", NULL);
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_non_null(strstr(r.log, "settings for table \"custmer\""));
	assert_non_null(strstr(r.log, "did you mean \"customer\"?"));
	assert_non_null(strstr(r.log, "settings for table \"x\" ("));
	assert_null(strstr(r.log, "did you mean \"x\"?"));
	release(&r);
	remove_project(dir);
}

static void
test_project_dir_missing(void **state)
{
	(void)state;
	pg2md_config *cfg = NULL;
	pg2md_error err;
	char *env[] = {NULL};
	pg2md_config_flags f = PG2MD_CONFIG_FLAGS_INIT;
	f.project_dir = "/nonexistent/pg2md/project";
	pg2md_error_init(&err);
	assert_int_equal(pg2md_config_load(&cfg, &f, env, &err), PG2MD_ERR_USAGE);
	assert_string_equal(err.msg, "project folder \"/nonexistent/pg2md/project\" does not exist");
	assert_null(cfg);
}

static void
test_same_layer_alias_override_warns(void **state)
{
	(void)state;
	char *dir = make_project("[sources.sql_database]\ntables = [\"a\"]\ntable_names = [\"b\"]\n", NULL);
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(r.cfg->tables.items[0], "b");
	assert_non_null(strstr(r.log, "\"sources.sql_database.table_names\""));
	assert_non_null(strstr(r.log, "overrides \"sources.sql_database.tables\""));
	release(&r);
	remove_project(dir);
}

/*
 * numeric_fallback: "varchar" by default, "double" on request for all tables or per table (the
 * table's wins), from the files or dlt-style environment variables, with provenance; anything
 * else is an error naming the file and line (or the variable).
 */
static void
test_numeric_fallback(void **state)
{
	char buf[4096];
	(void)state;

	char *dir = make_project(MINIMAL, NULL);
	result r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(pg2md_config_numeric_fallback(r.cfg, "t1"), "varchar");
	assert_int_equal(prov(&r, "sources.sql_database.numeric_fallback")->origin, PG2MD_ORIGIN_DEFAULT);
	release(&r);
	remove_project(dir);

	dir = make_project("[sources.sql_database]\ntables = [\"t1\", \"t2\"]\nnumeric_fallback = \"DOUBLE\"\n"
			   "\n[sources.sql_database.t2]\nnumeric_fallback = \"varchar\"\n", NULL);
	r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(pg2md_config_numeric_fallback(r.cfg, "t1"), "double");
	assert_string_equal(pg2md_config_numeric_fallback(r.cfg, "t2"), "varchar");
	assert_non_null(strstr(prov(&r, "sources.sql_database.numeric_fallback")->where, "config.toml:3"));
	assert_string_equal(prov(&r, "sources.sql_database.t2.numeric_fallback")->value, "varchar");
	assert_non_null(strstr(prov(&r, "sources.sql_database.t2.numeric_fallback")->where, "config.toml:6"));
	release(&r);

	char *env[] = {"SOURCES__SQL_DATABASE__NUMERIC_FALLBACK=varchar", "SOURCES__SQL_DATABASE__T2__NUMERIC_FALLBACK=double",
		       NULL};
	r = load(dir, env, NULL);
	assert_int_equal(r.code, PG2MD_OK);
	assert_string_equal(pg2md_config_numeric_fallback(r.cfg, "t1"), "varchar");
	assert_string_equal(pg2md_config_numeric_fallback(r.cfg, "t2"), "double");
	assert_string_equal(prov(&r, "sources.sql_database.numeric_fallback")->where, "SOURCES__SQL_DATABASE__NUMERIC_FALLBACK");
	release(&r);
	remove_project(dir);

	dir = make_project("[sources.sql_database]\ntables = [\"t1\"]\n\n[sources.sql_database.t1]\nnumeric_fallback = \"float\"\n",
			   NULL);
	r = load(dir, NULL, NULL);
	assert_int_equal(r.code, PG2MD_ERR_USAGE);
	error_text(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "invalid value for \"sources.sql_database.t1.numeric_fallback\""));
	assert_non_null(strstr(buf, "config.toml\" line 5: \"float\""));
	assert_non_null(strstr(buf, "expected \"varchar\" or \"double\""));
	release(&r);
	remove_project(dir);

	dir = make_project(MINIMAL, NULL);
	char *bad_env[] = {"SOURCES__SQL_DATABASE__NUMERIC_FALLBACK=text", NULL};
	r = load(dir, bad_env, NULL);
	assert_int_equal(r.code, PG2MD_ERR_USAGE);
	error_text(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "environment variable \"SOURCES__SQL_DATABASE__NUMERIC_FALLBACK\": \"text\""));
	release(&r);
	remove_project(dir);
}

static void
test_disposition_names(void **state)
{
	(void)state;
	assert_int_equal(pg2md_disposition_parse("replace"), PG2MD_DISP_REPLACE);
	assert_int_equal(pg2md_disposition_parse("Append"), PG2MD_DISP_APPEND);
	assert_int_equal(pg2md_disposition_parse("merge"), PG2MD_DISP_MERGE);
	assert_int_equal(pg2md_disposition_parse("upsert"), -1);
	assert_string_equal(pg2md_disposition_name(PG2MD_DISP_MERGE), "merge");
	assert_string_equal(pg2md_origin_name(PG2MD_ORIGIN_SECRETS), "secrets.toml");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guide_files_load_unchanged),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key_has_provenance),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_secrets_beat_config),
		cmocka_unit_test(test_env_overrides_files),
		cmocka_unit_test(test_env_comma_list_and_aliases),
		cmocka_unit_test(test_flags_beat_env),
		cmocka_unit_test(test_connection_string),
		cmocka_unit_test(test_connection_string_refined_by_fields),
		cmocka_unit_test(test_bad_connection_string_hides_password),
		cmocka_unit_test(test_motherduck_forms),
		cmocka_unit_test(test_motherduck_without_token),
		cmocka_unit_test(test_duckdb_relative_path),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_missing_tables),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_type_error_on_secret_hides_value),
		cmocka_unit_test(test_unknown_key_warning),
		cmocka_unit_test(test_empty_known_sections_are_quiet),
		cmocka_unit_test(test_unknown_key_suggestions),
		cmocka_unit_test(test_secrets_permissions_warning),
		cmocka_unit_test(test_secrets_never_shown),
		cmocka_unit_test(test_table_sections),
		cmocka_unit_test(test_column_hints),
		cmocka_unit_test(test_table_section_not_listed),
		cmocka_unit_test(test_project_dir_missing),
		cmocka_unit_test(test_same_layer_alias_override_warns),
		cmocka_unit_test(test_disposition_names),
		cmocka_unit_test(test_numeric_fallback),
		cmocka_unit_test(test_replication_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

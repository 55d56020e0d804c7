/*
 * cmd_info.c — `pg2md info`: what pg2md would do and what it has done.
 *
 * Five parts, as text or (--json) one JSON document:
 *   running   a run in progress, from its status.json (pid still alive)
 *   settings  every resolved key, its value (secrets already masked by the
 *             config as ********) and where it came from (FILE:LINE, an
 *             environment variable, a --flag, default)
 *   pending   load packages waiting in the pipeline folder, per state, with
 *             their tables and rows from manifest.json
 *   loads     the last 10 rows of the destination's _dlt_loads, newest first;
 *             only for a local DuckDB file that exists, opened read-only, so
 *             info never creates a file or takes the writer's lock
 *   last run  one line from trace.json
 *   replication  pg2md follow's watermark per slot (<dataset>._pg2md_cdc), from the same
 *             read-only open of the DuckDB file
 * Nothing here connects to PostgreSQL or writes anything.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <duckdb.h>
#include <jansson.h>

#include "cli/cli.h"
#include "dest/duck.h"
#include "stage/package.h"
#include "stage/progress.h"
#include "stage/trace.h"
#include "util/buf.h"
#include "util/humanize.h"

#define MAX_LOADS 10

static int
cmp_prov(const void *a, const void *b)
{
	const pg2md_provenance *x = *(const pg2md_provenance *const *)a, *y = *(const pg2md_provenance *const *)b;
	return strcmp(x->key, y->key);
}

/* "where" as a person reads it: the file and line, "environment LOAD__WORKERS", "flag --tables", "default". */
static char *
where_text(const pg2md_provenance *p)
{
	switch (p->origin) {
	case PG2MD_ORIGIN_ENV:
		return xasprintf("environment %s", p->where ? p->where : "");
	case PG2MD_ORIGIN_FLAG:
		return xasprintf("flag %s", p->where ? p->where : "");
	case PG2MD_ORIGIN_CONFIG:
	case PG2MD_ORIGIN_SECRETS:
		return xstrdup(p->where ? p->where : pg2md_origin_name(p->origin));
	default:
		if (p->where && *p->where && strcmp(p->where, "default") != 0)
			return xasprintf("default (%s)", p->where);
		return xstrdup("default");
	}
}

static json_t *
settings_json(const pg2md_config *cfg, const pg2md_provenance **sorted)
{
	json_t *arr = json_array();
	for (int i = 0; i < cfg->n_prov; i++) {
		const pg2md_provenance *p = sorted[i];
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:b}", "key", p->key, "value",
						     p->value ? p->value : "", "origin", pg2md_origin_name(p->origin),
						     "where", p->where ? p->where : "", "secret", p->secret));
	}
	return arr;
}

/* ---- pending packages ------------------------------------------------------------ */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The package ids in a state, oldest first (caller frees each and the array). */
static char **
list_packages(const pg2md_config *cfg, pkg_state s, int *n)
{
	char *dir = xasprintf("%s/%s/load/%s", cfg->pipelines_dir, cfg->pipeline_name, pkg_state_name(s));
	DIR *d = opendir(dir);
	char **ids = NULL;
	int cap = 0;
	struct dirent *e;

	*n = 0;
	free(dir);
	if (!d)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			ids = xrealloc(ids, (size_t)cap * sizeof(char *));
		}
		ids[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(ids, (size_t)*n, sizeof(char *), cmp_str);
	return ids;
}

/* One package: {state, load_id, rows, tables: [{name, rows}]}; manifest missing: tables null. */
static json_t *
package_json(const pg2md_config *cfg, pkg_state s, const char *id)
{
	char *dir = pkg_dir(cfg, s, id);
	char *path = xasprintf("%s/manifest.json", dir);
	json_t *man = json_load_file(path, 0, NULL);
	json_t *out = json_pack("{s:s, s:s, s:s}", "state", pkg_state_name(s), "load_id", id, "path", dir);

	if (man) {
		json_t *tables = json_array(), *jt;
		json_int_t rows = 0;
		size_t i;
		json_array_foreach(json_object_get(man, "tables"), i, jt) {
			json_int_t r = json_integer_value(json_object_get(jt, "rows"));
			const char *name = json_string_value(json_object_get(jt, "name"));
			json_array_append_new(tables, json_pack("{s:s, s:I}", "name", name ? name : "?", "rows", r));
			rows += r;
		}
		json_object_set_new(out, "tables", tables);
		json_object_set_new(out, "rows", json_integer(rows));
		json_decref(man);
	} else {
		json_object_set_new(out, "tables", json_null());
		json_object_set_new(out, "rows", json_null());
	}
	free(path);
	free(dir);
	return out;
}

static json_t *
pending_json(const pg2md_config *cfg, int *loaded)
{
	static const pkg_state pending[] = {PKG_EXTRACTING, PKG_EXTRACTED, PKG_NORMALIZED};
	json_t *arr = json_array();
	int n;
	char **ids;

	for (size_t k = 0; k < sizeof(pending) / sizeof(pending[0]); k++) {
		ids = list_packages(cfg, pending[k], &n);
		for (int i = 0; i < n; i++) {
			json_array_append_new(arr, package_json(cfg, pending[k], ids[i]));
			free(ids[i]);
		}
		free(ids);
	}
	ids = list_packages(cfg, PKG_LOADED, &n);
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	*loaded = n;
	return arr;
}

/* ---- loads in the destination ------------------------------------------------------ */

/*
 * The last loads from <dataset>._dlt_loads, or NULL with *note saying why not
 * (caller frees the note).  The file is opened read-only and only if it exists.
 */
static json_t *
loads_json(const pg2md_config *cfg, char **note)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	char *open_err = NULL;
	pg2md_buf sql = PG2MD_BUF_INIT;
	json_t *arr = NULL;
	struct stat st;

	*note = NULL;
	if (cfg->destination && strcmp(cfg->destination, "motherduck") == 0) {
		*note = xasprintf("MotherDuck is not queried by pg2md info; pg2md sql \"SELECT * FROM %s._dlt_loads\" "
				  "shows the loads",
				  cfg->dataset_name);
		return NULL;
	}
	if (stat(cfg->duckdb_path, &st) != 0) {
		*note = xasprintf("DuckDB file \"%s\" does not exist yet", cfg->duckdb_path);
		return NULL;
	}
	if (!duck_open_readonly(cfg->duckdb_path, &db, &con, &open_err)) {
		*note = xasprintf("could not open DuckDB file \"%s\" read-only: %s", cfg->duckdb_path,
				  open_err ? open_err : "unknown error");
		duckdb_free(open_err);
		return NULL;
	}
	buf_puts(&sql, "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&sql, cfg->dataset_name);
	buf_puts(&sql, " AND table_name = '_dlt_loads'");
	if (duckdb_query(con, sql.data, &res) == DuckDBError || duckdb_value_int64(&res, 0, 0) == 0) {
		*note = xasprintf("dataset \"%s\" has no loads yet", cfg->dataset_name);
		duckdb_destroy_result(&res);
		goto done;
	}
	duckdb_destroy_result(&res);
	buf_reset(&sql);
	buf_puts(&sql, "SELECT load_id, schema_name, status, strftime(inserted_at AT TIME ZONE 'UTC', "
		       "'%Y-%m-%dT%H:%M:%SZ'), schema_version_hash FROM ");
	duck_qualified(&sql, cfg->dataset_name, "_dlt_loads");
	buf_printf(&sql, " ORDER BY inserted_at DESC, load_id DESC LIMIT %d", MAX_LOADS);
	if (duckdb_query(con, sql.data, &res) == DuckDBError) {
		*note = xasprintf("could not read _dlt_loads: %s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		goto done;
	}
	arr = json_array();
	for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
		char *v[5];
		for (idx_t c = 0; c < 5; c++)
			v[c] = duckdb_value_varchar(&res, c, r);
		json_array_append_new(arr, json_pack("{s:s?, s:s?, s:I, s:s?, s:s?}", "load_id", v[0], "schema_name", v[1],
						     "status", (json_int_t)duckdb_value_int64(&res, 2, r), "inserted_at",
						     v[3], "schema_version_hash", v[4]));
		for (int c = 0; c < 5; c++)
			duckdb_free(v[c]);
	}
	duckdb_destroy_result(&res);
done:
	buf_release(&sql);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return arr;
}

/* ---- replication ------------------------------------------------------------------------ */

/* pg2md follow's watermarks [{slot, applied_lsn, applied_at, seconds_ago}], or NULL when there are
 * none (no local file, no _pg2md_cdc table). */
static json_t *
replication_json(const pg2md_config *cfg)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	char *open_err = NULL;
	struct stat st;
	json_t *arr = NULL;

	if ((cfg->destination && strcmp(cfg->destination, "motherduck") == 0) || stat(cfg->duckdb_path, &st) != 0)
		return NULL;
	if (!duck_open_readonly(cfg->duckdb_path, &db, &con, &open_err)) {
		duckdb_free(open_err);
		return NULL;
	}
	pg2md_buf sql = PG2MD_BUF_INIT;
	buf_puts(&sql, "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&sql, cfg->dataset_name);
	buf_puts(&sql, " AND table_name = '_pg2md_cdc'");
	if (duckdb_query(con, sql.data, &res) == DuckDBError || duckdb_value_int64(&res, 0, 0) == 0) {
		duckdb_destroy_result(&res);
		goto done;
	}
	duckdb_destroy_result(&res);
	buf_reset(&sql);
	buf_puts(&sql, "SELECT slot_name, applied_lsn_text, strftime(applied_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), "
		       "CAST(epoch(now()) - epoch(applied_at) AS BIGINT) FROM ");
	duck_qualified(&sql, cfg->dataset_name, "_pg2md_cdc");
	buf_puts(&sql, " ORDER BY slot_name");
	if (duckdb_query(con, sql.data, &res) == DuckDBError) {
		duckdb_destroy_result(&res);
		goto done;
	}
	arr = json_array();
	for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
		char *v[3];
		for (idx_t c = 0; c < 3; c++)
			v[c] = duckdb_value_varchar(&res, c, r);
		json_array_append_new(arr, json_pack("{s:s?, s:s?, s:s?, s:I}", "slot", v[0], "applied_lsn", v[1],
						     "applied_at", v[2], "seconds_ago",
						     (json_int_t)duckdb_value_int64(&res, 3, r)));
		for (int c = 0; c < 3; c++)
			duckdb_free(v[c]);
	}
	duckdb_destroy_result(&res);
done:
	buf_release(&sql);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return arr;
}

/* ---- last run ------------------------------------------------------------------------ */

/* {finished_at, load_id, exit_code, tables, rows, seconds, error}, or NULL when no trace. */
static json_t *
last_run_json(const pg2md_config *cfg)
{
	pg2md_error err;
	json_t *doc, *out, *jt;
	json_int_t rows = 0;
	size_t i;

	pg2md_error_init(&err);
	doc = trace_load(cfg, &err);
	if (!doc)
		return NULL;
	json_array_foreach(json_object_get(doc, "tables"), i, jt)
		rows += json_integer_value(json_object_get(jt, "rows"));
	out = json_pack("{s:O?, s:O?, s:I, s:I, s:I, s:O?, s:b}", "finished_at", json_object_get(doc, "finished_at"),
			"load_id", json_object_get(doc, "load_id"), "exit_code",
			json_integer_value(json_object_get(doc, "exit_code")), "tables",
			(json_int_t)json_array_size(json_object_get(doc, "tables")), "rows", rows, "destination",
			json_object_get(doc, "destination"), "finished_pending",
			json_is_true(json_object_get(doc, "finished_pending")));
	json_object_set_new(out, "seconds",
			    json_real(json_number_value(json_object_get(json_object_get(doc, "seconds"), "total"))));
	json_t *e = json_object_get(doc, "error");
	if (e)
		json_object_set(out, "error", json_object_get(e, "message"));
	json_decref(doc);
	return out;
}

/* ---- output ---------------------------------------------------------------------------- */

/* "running: pid 123 since …, extracting: 3/24 tables done, 1.2 M rows, 140 MB, 310 k rows/s (as of …)" */
static void
print_running(json_t *st)
{
	char a[32], b[32], c[32];
	const char *stage = json_string_value(json_object_get(st, "stage"));
	json_t *running = json_object_get(st, "running_tables"), *v;
	size_t i;

	printf("running: pid %lld since %s, load %s\n", (long long)json_integer_value(json_object_get(st, "pid")),
	       json_string_value(json_object_get(st, "started_at")),
	       json_string_value(json_object_get(st, "load_id")) ? json_string_value(json_object_get(st, "load_id")) : "-");
	printf("  %s: %lld/%lld tables extracted, %s rows, %s read, %s rows/s",
	       stage && strcmp(stage, "extract") == 0 ? "extracting" : "extracted, now normalizing and loading",
	       (long long)json_integer_value(json_object_get(st, "tables_done")),
	       (long long)json_integer_value(json_object_get(st, "tables_total")),
	       human_count(a, sizeof(a), (double)json_integer_value(json_object_get(st, "rows"))),
	       human_bytes(b, sizeof(b), (double)json_integer_value(json_object_get(st, "bytes"))),
	       human_count(c, sizeof(c), json_number_value(json_object_get(st, "rows_per_second"))));
	if (json_is_number(json_object_get(st, "eta_seconds")))
		printf(", about %s left", human_seconds(a, sizeof(a), json_number_value(json_object_get(st, "eta_seconds"))));
	printf(" (as of %s)\n", json_string_value(json_object_get(st, "updated_at")));
	if (json_array_size(running) > 0) {
		printf("  copying:");
		json_array_foreach(running, i, v)
			printf("%s \"%s\"", i ? "," : "", json_string_value(v));
		putchar('\n');
	}
	putchar('\n');
}

static void
print_text(const pg2md_config *cfg, const pg2md_provenance **sorted, json_t *pending, int loaded, json_t *loads,
	   const char *loads_note, json_t *last, json_t *running)
{
	int keyw = 0, valw = 0;
	size_t i;
	json_t *p;
	char a[32], b[32];

	printf("pipeline \"%s\", project \"%s\"\n", cfg->pipeline_name, cfg->project_dir);
	printf("pipeline folder \"%s/%s\"\n\n", cfg->pipelines_dir, cfg->pipeline_name);
	if (running)
		print_running(running);

	printf("settings (%d, secrets shown as ********):\n", cfg->n_prov);
	for (int k = 0; k < cfg->n_prov; k++) {
		int kl = (int)strlen(sorted[k]->key), vl = sorted[k]->value ? (int)strlen(sorted[k]->value) : 0;
		if (kl > keyw)
			keyw = kl;
		if (vl > valw && vl <= 40)
			valw = vl;
	}
	for (int k = 0; k < cfg->n_prov; k++) {
		char *where = where_text(sorted[k]);
		const char *v = sorted[k]->value ? sorted[k]->value : "";
		printf("  %-*s = %-*s  %s\n", keyw, sorted[k]->key, valw, *v ? v : "(unset)", where);
		free(where);
	}

	printf("\npending load packages:");
	if (json_array_size(pending) == 0)
		printf(" none\n");
	else
		putchar('\n');
	json_array_foreach(pending, i, p) {
		const char *state = json_string_value(json_object_get(p, "state"));
		json_t *tables = json_object_get(p, "tables");
		printf("  %-10s %s", state, json_string_value(json_object_get(p, "load_id")));
		if (json_is_array(tables)) {
			size_t k;
			json_t *t;
			printf("  %zu table%s, %s rows:", json_array_size(tables), json_array_size(tables) == 1 ? "" : "s",
			       human_count(a, sizeof(a), (double)json_integer_value(json_object_get(p, "rows"))));
			json_array_foreach(tables, k, t)
				printf("%s %s (%s)", k ? "," : "", json_string_value(json_object_get(t, "name")),
				       human_count(b, sizeof(b), (double)json_integer_value(json_object_get(t, "rows"))));
			putchar('\n');
		} else if (strcmp(state, "extracting") == 0) {
			printf("  (interrupted while extracting; the next run discards it)\n");
		} else {
			printf("  (no manifest)\n");
		}
	}
	if (json_array_size(pending) > 0)
		printf("  pg2md run finishes them (or pg2md drop --yes discards everything)\n");
	printf("loaded packages kept: %d\n", loaded);

	if (loads) {
		printf("\nlast loads in DuckDB file \"%s\", dataset \"%s\" (newest first):\n", cfg->duckdb_path,
		       cfg->dataset_name);
		if (json_array_size(loads) == 0)
			printf("  none\n");
		else
			printf("  %-20s %-14s %6s  %-20s  %s\n", "load_id", "schema_name", "status", "inserted_at",
			       "schema_version_hash");
		json_array_foreach(loads, i, p)
			printf("  %-20s %-14s %6lld  %-20s  %s\n", json_string_value(json_object_get(p, "load_id")),
			       json_string_value(json_object_get(p, "schema_name")),
			       (long long)json_integer_value(json_object_get(p, "status")),
			       json_string_value(json_object_get(p, "inserted_at")),
			       json_string_value(json_object_get(p, "schema_version_hash")));
	} else {
		printf("\nlast loads: %s\n", loads_note ? loads_note : "not available");
	}

	if (!last) {
		printf("\nlast run: none recorded\n");
		return;
	}
	int code = (int)json_integer_value(json_object_get(last, "exit_code"));
	printf("\nlast run: finished %s, load %s, %lld table%s, %s rows, %s, ",
	       json_string_value(json_object_get(last, "finished_at")),
	       json_string_value(json_object_get(last, "load_id")) ? json_string_value(json_object_get(last, "load_id"))
								    : "-",
	       (long long)json_integer_value(json_object_get(last, "tables")),
	       json_integer_value(json_object_get(last, "tables")) == 1 ? "" : "s",
	       human_count(a, sizeof(a), (double)json_integer_value(json_object_get(last, "rows"))),
	       human_seconds(b, sizeof(b), json_number_value(json_object_get(last, "seconds"))));
	if (code == 0)
		printf("%s\n", json_is_true(json_object_get(last, "finished_pending")) ? "finished a pending package"
										       : "succeeded");
	else
		printf("failed (exit code %d): %s\n", code,
		       json_string_value(json_object_get(last, "error")) ? json_string_value(json_object_get(last, "error"))
									 : "unknown error");
}

int
cmd_info(cli_opts *opts)
{
	int code, loaded = 0;
	pg2md_config *cfg;
	const pg2md_provenance **sorted;
	json_t *pending, *loads, *last, *running;
	char *loads_note = NULL;

	if (opts->nargs > 0) {
		fprintf(stderr, "pg2md info: unexpected argument \"%s\"\n"
				"Try \"pg2md info --help\" for more information.\n", opts->args[0]);
		return PG2MD_ERR_USAGE;
	}
	cfg = cli_load_config(opts, &code);
	if (!cfg)
		return code;
	sorted = xcalloc((size_t)cfg->n_prov + 1, sizeof(*sorted));
	for (int i = 0; i < cfg->n_prov; i++)
		sorted[i] = &cfg->prov[i];
	qsort(sorted, (size_t)cfg->n_prov, sizeof(*sorted), cmp_prov);

	pending = pending_json(cfg, &loaded);
	loads = loads_json(cfg, &loads_note);
	last = last_run_json(cfg);
	running = progress_status_running(cfg);
	json_t *repl = replication_json(cfg);

	if (opts->json) {
		json_t *doc = json_object();
		json_object_set_new(doc, "pipeline_name", json_string(cfg->pipeline_name));
		json_object_set_new(doc, "project_dir", json_string(cfg->project_dir));
		char *pd = pkg_pipeline_dir(cfg);
		json_object_set_new(doc, "pipeline_dir", json_string(pd));
		free(pd);
		json_object_set(doc, "running", running ? running : json_null());
		json_object_set_new(doc, "settings", settings_json(cfg, sorted));
		json_object_set(doc, "pending_packages", pending);
		json_object_set_new(doc, "loaded_packages", json_integer(loaded));
		json_t *dest = json_pack("{s:s, s:s}", "destination", cfg->destination ? cfg->destination : "duckdb",
					 "dataset_name", cfg->dataset_name);
		if (!(cfg->destination && strcmp(cfg->destination, "motherduck") == 0))
			json_object_set_new(dest, "path", json_string(cfg->duckdb_path));
		json_object_set(dest, "loads", loads ? loads : json_null());
		if (loads_note)
			json_object_set_new(dest, "note", json_string(loads_note));
		json_object_set_new(doc, "destination", dest);
		json_object_set(doc, "last_run", last ? last : json_null());
		json_object_set(doc, "replication", repl ? repl : json_null());
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(text);
		free(text);
		json_decref(doc);
	} else {
		print_text(cfg, sorted, pending, loaded, loads, loads_note, last, running);
		json_t *r;
		size_t ri;
		json_array_foreach(repl, ri, r) {
			if (ri == 0)
				printf("\nreplication (pg2md follow; the slot's lag: docs/cdc.md, \"Monitoring\"):\n");
			printf("  slot \"%s\": applied up to %s at %s (%lld s ago)\n", json_string_value(json_object_get(r, "slot")),
			       json_string_value(json_object_get(r, "applied_lsn")), json_string_value(json_object_get(r, "applied_at")),
			       (long long)json_integer_value(json_object_get(r, "seconds_ago")));
		}
	}
	json_decref(repl);
	json_decref(pending);
	json_decref(loads);
	json_decref(last);
	json_decref(running);
	free(loads_note);
	free(sorted);
	pg2md_config_free(cfg);
	return PG2MD_OK;
}

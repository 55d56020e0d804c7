/*
 * cmd_info.c — `pg2md info`: what pg2md would do and what it has done.
 *
 * Five parts, as text or (--json) one JSON document:
 *   running   a run in progress in another process (pg2md_running_json)
 *   settings  every resolved key, its value (secrets as ********) and where it came from
 *             (FILE:LINE, an environment variable, a --flag, default): pg2md_settings
 *   pending   load packages waiting in the pipeline folder, per state, with their tables and
 *             rows: pg2md_packages
 *   loads     the last 10 rows of the destination's _dlt_loads, newest first (a local DuckDB
 *             file that exists, opened read-only): pg2md_loads
 *   last run  one line from the stored trace: pg2md_trace_json
 *   replication  pg2md follow's watermark per slot, from the same read-only open of the DuckDB
 *             file: pg2md_watermarks
 * Nothing here connects to PostgreSQL or writes anything.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define MAX_LOADS 10

/* "where" as a person reads it: the file and line, "environment LOAD__WORKERS", "flag --tables", "default". */
static char *
where_text(const pg2md_setting_info *s)
{
	if (strcmp(s->origin, "environment") == 0)
		return cli_asprintf("environment %s", s->where ? s->where : "");
	if (strcmp(s->origin, "flag") == 0)
		return cli_asprintf("flag %s", s->where ? s->where : "");
	if (strcmp(s->origin, "config.toml") == 0 || strcmp(s->origin, "secrets.toml") == 0)
		return cli_strdup(s->where ? s->where : s->origin);
	if (s->where && *s->where && strcmp(s->where, "default") != 0)
		return cli_asprintf("default (%s)", s->where);
	return cli_strdup("default");
}

static json_t *
settings_json(const pg2md_setting_info *settings, int n)
{
	json_t *arr = json_array();
	for (int i = 0; i < n; i++) {
		const pg2md_setting_info *s = &settings[i];
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:b}", "key", s->key, "value", s->value, "origin",
						     s->origin, "where", s->where ? s->where : "", "secret", s->secret));
	}
	return arr;
}

/* The watermarks as a JSON array, or NULL when there was nothing to read. */
static json_t *
watermarks_json(const pg2md_watermarks_info *wi)
{
	if (!wi->available)
		return NULL;
	json_t *arr = json_array();
	for (int i = 0; i < wi->nslots; i++) {
		const pg2md_watermark *w = &wi->slots[i];
		json_array_append_new(arr, json_pack("{s:s?, s:s?, s:s?, s:I}", "slot", w->slot, "applied_lsn",
						     w->applied_lsn, "applied_at", w->applied_at, "seconds_ago",
						     (json_int_t)w->seconds_ago));
	}
	return arr;
}

static json_t *
pending_json(const pg2md_packages_info *pk)
{
	json_t *arr = json_array();
	for (int i = 0; i < pk->npending; i++) {
		const pg2md_package *p = &pk->pending[i];
		json_t *o = json_pack("{s:s, s:s, s:s}", "state", p->state, "load_id", p->load_id, "path", p->path);
		if (p->has_manifest) {
			json_t *tables = json_array();
			for (int k = 0; k < p->ntables; k++)
				json_array_append_new(tables, json_pack("{s:s, s:I}", "name", p->tables[k].name, "rows",
									(json_int_t)p->tables[k].rows));
			json_object_set_new(o, "tables", tables);
			json_object_set_new(o, "rows", json_integer(p->rows));
		} else {
			json_object_set_new(o, "tables", json_null());
			json_object_set_new(o, "rows", json_null());
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

/* The loads as a JSON array, or NULL when they were not read. */
static json_t *
loads_json(const pg2md_loads_info *li)
{
	if (!li->available)
		return NULL;
	json_t *arr = json_array();
	for (int i = 0; i < li->nloads; i++) {
		const pg2md_load *l = &li->loads[i];
		json_array_append_new(arr, json_pack("{s:s?, s:s?, s:I, s:s?, s:s?}", "load_id", l->load_id, "schema_name",
						     l->schema_name, "status", (json_int_t)l->status, "inserted_at",
						     l->inserted_at, "schema_version_hash", l->schema_version_hash));
	}
	return arr;
}

/* {finished_at, load_id, exit_code, tables, rows, destination, finished_pending, seconds, error}, or NULL
 * (err says PG2MD_NOMEM when that is why: not "no last run"). */
static json_t *
last_run_json(pg2md_pipeline *p, pg2md_err *err)
{
	char *text = NULL;
	json_t *doc, *out, *jt;
	json_int_t rows = 0;
	size_t i;

	if (pg2md_trace_json(p, &text, err) != PG2MD_SUCCESS)
		return NULL;
	doc = json_loads(text, 0, NULL);
	pg2md_free(text);
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

/* The status of a run going on in another process, or NULL (err as last_run_json's). */
static json_t *
running_json(pg2md_pipeline *p, pg2md_err *err)
{
	char *text = NULL;
	json_t *doc = NULL;
	if (pg2md_running_json(p, &text, err) == PG2MD_SUCCESS && text)
		doc = json_loads(text, 0, NULL);
	pg2md_free(text);
	return doc;
}

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
	       fmt_count(a, sizeof(a), (double)json_integer_value(json_object_get(st, "rows"))),
	       fmt_bytes(b, sizeof(b), (double)json_integer_value(json_object_get(st, "bytes"))),
	       fmt_count(c, sizeof(c), json_number_value(json_object_get(st, "rows_per_second"))));
	if (json_is_number(json_object_get(st, "eta_seconds")))
		printf(", about %s left", fmt_seconds(a, sizeof(a), json_number_value(json_object_get(st, "eta_seconds"))));
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
print_settings(const pg2md_setting_info *settings, int n)
{
	int keyw = 0, valw = 0;
	printf("settings (%d, secrets shown as ********):\n", n);
	for (int k = 0; k < n; k++) {
		int kl = (int)strlen(settings[k].key), vl = (int)strlen(settings[k].value);
		if (kl > keyw)
			keyw = kl;
		if (vl > valw && vl <= 40)
			valw = vl;
	}
	for (int k = 0; k < n; k++) {
		char *where = where_text(&settings[k]);
		const char *v = settings[k].value;
		printf("  %-*s = %-*s  %s\n", keyw, settings[k].key, valw, *v ? v : "(unset)", where);
		free(where);
	}
}

static void
print_packages(const pg2md_packages_info *pk)
{
	char a[32], b[32];
	printf("\npending load packages:");
	if (pk->npending == 0)
		printf(" none\n");
	else
		putchar('\n');
	for (int i = 0; i < pk->npending; i++) {
		const pg2md_package *p = &pk->pending[i];
		printf("  %-10s %s", p->state, p->load_id);
		if (p->has_manifest) {
			printf("  %d table%s, %s rows:", p->ntables, p->ntables == 1 ? "" : "s",
			       fmt_count(a, sizeof(a), (double)p->rows));
			for (int k = 0; k < p->ntables; k++)
				printf("%s %s (%s)", k ? "," : "", p->tables[k].name,
				       fmt_count(b, sizeof(b), (double)p->tables[k].rows));
			putchar('\n');
		} else if (strcmp(p->state, "extracting") == 0) {
			printf("  (interrupted while extracting; the next run discards it)\n");
		} else {
			printf("  (no manifest)\n");
		}
	}
	if (pk->npending > 0)
		printf("  pg2md run finishes them (or pg2md drop --yes discards everything)\n");
	printf("loaded packages kept: %d\n", pk->nloaded);
}

static void
print_loads(const pg2md_pipeline_info *pi, const pg2md_loads_info *li)
{
	if (!li->available) {
		printf("\nlast loads: %s\n", li->note ? li->note : "not available");
		return;
	}
	printf("\nlast loads in DuckDB file \"%s\", dataset \"%s\" (newest first):\n", pi->duckdb_path, pi->dataset);
	if (li->nloads == 0)
		printf("  none\n");
	else
		printf("  %-20s %-14s %6s  %-20s  %s\n", "load_id", "schema_name", "status", "inserted_at",
		       "schema_version_hash");
	for (int i = 0; i < li->nloads; i++) {
		const pg2md_load *l = &li->loads[i];
		printf("  %-20s %-14s %6lld  %-20s  %s\n", l->load_id, l->schema_name, (long long)l->status, l->inserted_at,
		       l->schema_version_hash);
	}
}

static void
print_last(json_t *last)
{
	char a[32], b[32];
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
	       fmt_count(a, sizeof(a), (double)json_integer_value(json_object_get(last, "rows"))),
	       fmt_seconds(b, sizeof(b), json_number_value(json_object_get(last, "seconds"))));
	if (code == 0)
		printf("%s\n", json_is_true(json_object_get(last, "finished_pending")) ? "finished a pending package"
										       : "succeeded");
	else
		printf("failed (exit code %d): %s\n", code,
		       json_string_value(json_object_get(last, "error")) ? json_string_value(json_object_get(last, "error"))
									 : "unknown error");
}

static void
print_watermarks(const pg2md_watermarks_info *wi)
{
	for (int i = 0; i < wi->nslots; i++) {
		const pg2md_watermark *w = &wi->slots[i];
		if (i == 0)
			printf("\nreplication (pg2md follow; the slot's lag: docs/cdc.md, \"Monitoring\"):\n");
		printf("  slot \"%s\": applied up to %s at %s (%lld s ago)\n", w->slot, w->applied_lsn, w->applied_at,
		       (long long)w->seconds_ago);
	}
}

static int64_t
lag_warning_mb(const pg2md_pipeline *p)
{
	const char *v = pg2md_setting(p, "sources.pg_replication.lag_warning_mb", NULL);
	return v ? strtoll(v, NULL, 10) : 0;
}

/* pg2md follow's slot on the source: asked only when follow has run (a watermark exists). */
typedef struct slot_view {
	int asked;
	const pg2md_slot_info *si;     /* NULL when the source could not be asked */
	pg2md_err err;
} slot_view;

static void
print_slot(const slot_view *sv)
{
	if (!sv->asked)
		return;
	if (!sv->si) {
		printf("  on the source: could not ask (%s)\n", sv->err.message);
		return;
	}
	const pg2md_slot_info *s = sv->si;
	if (!s->exists) {
		printf("  on the source: no replication slot \"%s\" (dropped? the next pg2md follow says what to do)\n",
		       s->slot);
		return;
	}
	printf("  on the source: slot \"%s\" %s, confirmed %s, holds %.1f MB of WAL (%lld bytes), wal_status %s, ",
	       s->slot, s->active ? "active (a pg2md follow streams from it)" : "not read now", s->confirmed_lsn,
	       (double)s->lag_bytes / (1024.0 * 1024.0), (long long)s->lag_bytes, *s->wal_status ? s->wal_status : "-");
	if (s->safe_wal_size < 0)
		printf("safe_wal_size unlimited\n");
	else
		printf("safe_wal_size %lld bytes\n", (long long)s->safe_wal_size);
}

/* On stderr, in text and JSON mode alike: a slot past lag_warning_mb, or losing its WAL. */
static void
warn_slot(const slot_view *sv, int64_t warn_mb)
{
	if (!sv->asked || !sv->si || !sv->si->exists)
		return;
	const pg2md_slot_info *s = sv->si;
	if (!s->warning)
		return;
	if (strcmp(s->wal_status, "unreserved") == 0 || strcmp(s->wal_status, "lost") == 0)
		fprintf(stderr, "pg2md: warning: replication slot \"%s\" is %s: the server %s WAL it needs\n", s->slot,
			s->wal_status, strcmp(s->wal_status, "lost") == 0 ? "removed" : "is about to remove");
	else
		fprintf(stderr, "pg2md: warning: replication slot \"%s\" holds %lld MB of WAL, more than lag_warning_mb "
				"(%lld)\n", s->slot, (long long)(s->lag_bytes / (1024 * 1024)), (long long)warn_mb);
	fprintf(stderr, "HINT:  run pg2md follow to catch up, or pg2md drop --replication to retire the slot "
			"(docs/cdc.md, \"Monitoring\")\n");
}

static json_t *
slot_json(const slot_view *sv)
{
	if (!sv->asked)
		return json_null();
	if (!sv->si)
		return json_pack("{s:s}", "error", sv->err.message);
	const pg2md_slot_info *s = sv->si;
	return json_pack("{s:s, s:b, s:b, s:s, s:I, s:s, s:I, s:b}", "slot", s->slot, "exists", s->exists, "active",
			 s->active, "wal_status", s->wal_status, "safe_wal_size", (json_int_t)s->safe_wal_size,
			 "confirmed_lsn", s->confirmed_lsn, "lag_bytes", (json_int_t)s->lag_bytes, "warning", s->warning);
}

static void
print_json(const pg2md_pipeline_info *pi, json_t *running, json_t *settings, const pg2md_packages_info *pk,
	   const pg2md_loads_info *li, json_t *last, const pg2md_watermarks_info *wi, const slot_view *sv)
{
	json_t *doc = json_object(), *loads = loads_json(li), *repl = watermarks_json(wi);
	json_object_set_new(doc, "pipeline_name", json_string(pi->pipeline_name));
	json_object_set_new(doc, "project_dir", json_string(pi->project_dir));
	json_object_set_new(doc, "pipeline_dir", json_string(pi->pipeline_dir));
	json_object_set(doc, "running", running ? running : json_null());
	json_object_set(doc, "settings", settings);
	json_object_set_new(doc, "pending_packages", pending_json(pk));
	json_object_set_new(doc, "loaded_packages", json_integer(pk->nloaded));
	json_t *dest = json_pack("{s:s, s:s}", "destination", pi->destination, "dataset_name", pi->dataset);
	if (pi->duckdb_path)
		json_object_set_new(dest, "path", json_string(pi->duckdb_path));
	json_object_set(dest, "loads", loads ? loads : json_null());
	if (li->note)
		json_object_set_new(dest, "note", json_string(li->note));
	json_object_set_new(doc, "destination", dest);
	json_object_set(doc, "last_run", last ? last : json_null());
	json_object_set(doc, "replication", repl ? repl : json_null());
	json_object_set_new(doc, "replication_slot", slot_json(sv));
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(text);
	free(text);
	json_decref(loads);
	json_decref(repl);
	json_decref(doc);
}

int
cmd_info(cli_opts *opts)
{
	int code, nsettings;
	pg2md_pipeline *p;
	const pg2md_packages_info *pk;
	const pg2md_loads_info *li;
	const pg2md_watermarks_info *wi;
	pg2md_err err;

	if ((code = cli_no_args(opts, "info")) != 0)
		return code;
	p = cli_open(opts, &code);
	if (!p)
		return code;
	const pg2md_pipeline_info *pi = pg2md_describe(p);
	const pg2md_setting_info *settings = pg2md_settings(p, &nsettings);
	if (pg2md_packages(p, &pk, &err) != PG2MD_SUCCESS || pg2md_loads(p, MAX_LOADS, &li, &err) != PG2MD_SUCCESS ||
	    pg2md_watermarks(p, &wi, &err) != PG2MD_SUCCESS) {
		cli_print_error(&err);
		pg2md_close(p);
		return cli_exit_code(err.status);
	}
	pg2md_err lerr, rerr;
	json_t *last = last_run_json(p, &lerr), *running = running_json(p, &rerr);
	slot_view sv = {0};
	if (wi->nslots > 0) {
		sv.asked = 1;
		if (pg2md_slot(p, &sv.si, &sv.err) != PG2MD_SUCCESS)
			sv.si = NULL;
	}
	/* out of memory is an error of its own, not "no last run" or "the source could not be asked" */
	const pg2md_err *nomem = lerr.status == PG2MD_NOMEM ? &lerr : rerr.status == PG2MD_NOMEM ? &rerr
			       : sv.asked && sv.err.status == PG2MD_NOMEM ? &sv.err : NULL;
	if (nomem) {
		cli_print_error(nomem);
		json_decref(last);
		json_decref(running);
		pg2md_close(p);
		return cli_exit_code(PG2MD_NOMEM);
	}

	if (opts->json) {
		json_t *sj = settings_json(settings, nsettings);
		print_json(pi, running, sj, pk, li, last, wi, &sv);
		json_decref(sj);
	} else {
		printf("pipeline \"%s\", project \"%s\"\n", pi->pipeline_name, pi->project_dir);
		printf("pipeline folder \"%s\"\n\n", pi->pipeline_dir);
		if (running)
			print_running(running);
		print_settings(settings, nsettings);
		print_packages(pk);
		print_loads(pi, li);
		print_last(last);
		print_watermarks(wi);
		print_slot(&sv);
	}
	warn_slot(&sv, lag_warning_mb(p));
	json_decref(last);
	json_decref(running);
	pg2md_close(p);
	return EXIT_OK;
}

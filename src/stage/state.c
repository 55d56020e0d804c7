/* state.c — the pipeline state file and its copy in the destination (see state.h). */
#include "stage/state.h"

#include <duckdb.h>
#include <stdlib.h>
#include <unistd.h>

#include "dest/duck.h"
#include "dest/load.h"
#include "dest/motherduck.h"
#include "stage/package.h"
#include "util/buf.h"
#include "util/log.h"

static char *
state_path(const pg2md_config *cfg)
{
	return xasprintf("%s/%s/state.json", cfg->pipelines_dir, cfg->pipeline_name);
}

static json_t *
state_new(const pg2md_config *cfg)
{
	return json_pack("{s:i, s:s, s:s, s:{s:{s:{}}}}", "_state_version", 0, "pipeline_name", cfg->pipeline_name,
			 "dataset_name", cfg->dataset_name, "sources", "sql_database", "resources");
}

json_t *
state_load_local(const pg2md_config *cfg, pg2md_error *err)
{
	char *path = state_path(cfg);
	json_t *st = NULL;
	if (!path)
		st = NULL;
	else if (access(path, F_OK) == 0)
		st = json_read_file(path, err);
	else
		st = state_new(cfg);
	free(path);
	if (!st && !pg2md_failed(err))
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	return st;
}

pg2md_code
state_save_local(const pg2md_config *cfg, json_t *state, pg2md_error *err)
{
	char *dir = xasprintf("%s/%s", cfg->pipelines_dir, cfg->pipeline_name);
	char *path = state_path(cfg);
	pg2md_code result = dir && path ? mkdir_p(dir, 0700, err) : pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	if (result == PG2MD_OK)
		result = json_write_atomic(path, state, err);
	free(dir);
	free(path);
	return result;
}

static json_t *
cursor_obj(json_t *state, const char *table, const char *cursor, bool create)
{
	json_t *res = json_object_get(json_object_get(json_object_get(state, "sources"), "sql_database"), "resources");
	if (!res) {
		if (!create)
			return NULL;
		json_t *src = json_object_get(state, "sources");
		if (!src) {
			src = json_object();
			json_object_set_new(state, "sources", src);
		}
		json_t *sd = json_object_get(src, "sql_database");
		if (!sd) {
			sd = json_object();
			json_object_set_new(src, "sql_database", sd);
		}
		res = json_object();
		json_object_set_new(sd, "resources", res);
	}
	json_t *t = json_object_get(res, table);
	if (!t) {
		if (!create)
			return NULL;
		t = json_object();
		json_object_set_new(res, table, t);
	}
	json_t *inc = json_object_get(t, "incremental");
	if (!inc) {
		if (!create)
			return NULL;
		inc = json_object();
		json_object_set_new(t, "incremental", inc);
	}
	json_t *c = json_object_get(inc, cursor);
	if (!c && create) {
		c = json_object();
		json_object_set_new(inc, cursor, c);
	}
	return c;
}

const char *
state_last_value(json_t *state, const char *table, const char *cursor)
{
	return json_string_value(json_object_get(cursor_obj(state, table, cursor, false), "last_value"));
}

bool
state_set_last_value(json_t *state, const char *table, const char *cursor, const char *initial, const char *last)
{
	json_t *c = cursor_obj(state, table, cursor, true);
	/* jansson fails a set whose object or value it could not allocate */
	if (initial && json_object_set_new(c, "initial_value", json_string(initial)))
		return false;
	return json_object_set_new(c, "last_value", last ? json_string(last) : json_null()) == 0;
}

/* The newest state of the pipeline in _dlt_pipeline_state on con, or NULL (err set when memory
 * ran out: not the same as none stored). */
static json_t *
state_query(duckdb_connection con, const pg2md_config *cfg, pg2md_error *err)
{
	json_t *st = NULL;
	pg2md_error ignore;

	pg2md_error_init(&ignore);
	dlt_newest_json(con, cfg->dataset_name, "_dlt_pipeline_state", "state", cfg->pipeline_name, &st, &ignore);
	if (ignore.code == PG2MD_ERR_NOMEM) {
		json_decref(st);
		st = NULL;
		pg2md_error_merge(err, &ignore);
	}
	return st;
}

json_t *
state_load_destination(const pg2md_config *cfg, pg2md_error *nomem)
{
	duckdb_database db;
	duckdb_connection con;
	json_t *st = NULL;
	char *open_err = NULL;

	if (pg2md_config_motherduck(cfg) || (md_rules_forced() && dest_exists(cfg))) {
		/* MotherDuck: read back as from a local file (a new machine, a lost pipelines folder);
		 * under the test-only switch an existing local file stands in for it, so that this
		 * path runs in the tests */
		pg2md_dest d;
		pg2md_error err;
		pg2md_error_init(&err);
		if (dest_open(&d, cfg, 1, &err)) {
			if (err.code == PG2MD_ERR_NOMEM)
				pg2md_error_merge(nomem, &err);
			pg2md_debug("cannot read the state stored in the destination: %s", err.msg);
			return NULL;
		}
		pg2md_debug("reading the pipeline state stored in %s", d.where);
		st = state_query(d.con, cfg, nomem);
		dest_close(&d);
		return st;
	}
	if (!dest_exists(cfg))
		return NULL;
	if (!duck_open_readonly(cfg->duckdb_path, &db, &con, &open_err)) {
		pg2md_debug("cannot read the state stored in the destination: %s", open_err ? open_err : "");
		duckdb_free(open_err);
		return NULL;
	}
	st = state_query(con, cfg, nomem);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return st;
}

/*
 * config.c — loads and resolves pg2md's configuration (see config.h).
 *
 * DESIGN
 *
 * Every key pg2md reads is declared once, in config_keys.c: its
 * canonical dotted name, the other names dlt or the guide use for it, its
 * type, its default, where it lands in pg2md_config, and whether it is a
 * secret.  Everything else works from that table: the TOML keys that are
 * accepted, the environment variables (a name upper-cased, "." -> "__"), the
 * type checks, the provenance list and the "did you mean" suggestions.
 *
 * Values are applied in layers, each one overwriting what the ones before it
 * set:
 *
 *     defaults < .dlt/config.toml < .dlt/secrets.toml < environment < flags
 *
 * (MOTHERDUCK_TOKEN / motherduck_token are a fallback below the files, as in
 * dlt.)  Within one layer, a connection string is applied before the single
 * fields, so `credentials = "postgresql://…"` in config.toml and a password in
 * the same or a later layer combine; and a name with fewer sections
 * ([sources.credentials]) before a more specific one
 * ([sources.sql_database.credentials]).  A connection string replaces every
 * source credential field set by the layers below it.
 *
 * Tables under [sources.sql_database] whose name is not a known key are
 * per-table sections ([sources.sql_database.customer] write_disposition = …);
 * their keys are declared in config_keys.c too.
 *
 * The TOML itself is parsed by toml++ behind toml_bridge.h, which hands us a
 * flat list of (key path, kind, rendered value, line) entries.
 *
 * Secrets (passwords, tokens, connection strings) are never printed: not in
 * errors, not in warnings, not in the provenance list (rendered "********").
 *
 * FILES (each one job; what they share is in config_int.h, prefixed cfg_)
 *
 *     config.c          this: pg2md_config_load(), the layers in order, the
 *                       public accessors, freeing
 *     config_keys.c     the key tables
 *     config_util.c     small helpers: allocation, string lists, message phrases
 *     config_prov.c     provenance: where each key came from, values for info
 *     config_value.c    value conversion: text, numbers, booleans, lists
 *     config_conn.c     connection strings: PostgreSQL and md: URLs
 *     config_apply.c    one value applied to one key
 *     config_table.c    per-table sections and column hints
 *     config_unknown.c  unknown keys, "did you mean", ignored dlt keys
 *     config_file.c     the .dlt file layers
 *     config_env.c      the environment and flag layers
 *     config_finish.c   defaults, derived values, checks across keys
 *     toml_bridge.cpp   toml++ behind a C interface
 */
#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_int.h"
#include "util/log.h"

extern char **environ;

/* ----------------------------------------------------------------------
 * Public API
 * ---------------------------------------------------------------------- */

static pg2md_code
resolve_project_dir(loader *L, const pg2md_config_flags *flags)
{
	const char *dir = flags ? flags->project_dir : NULL;
	const char *where = "--project-dir";
	pg2md_origin origin = PG2MD_ORIGIN_FLAG;
	char cwd[PATH_MAX];
	char *real;
	struct stat st;

	if (dir == NULL && (dir = cfg_env_get(L->envp, "DLT_PROJECT_DIR")) != NULL && *dir) {
		where = "DLT_PROJECT_DIR";
		origin = PG2MD_ORIGIN_ENV;
	}
	if (dir == NULL || *dir == '\0') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return pg2md_fail(L->err, PG2MD_ERR_USAGE, "could not find the current folder: %s", strerror(errno));
		dir = cwd;
		where = "default";
		origin = PG2MD_ORIGIN_DEFAULT;
	}
	if (stat(dir, &st) != 0) {
		pg2md_fail(L->err, PG2MD_ERR_USAGE, "project folder \"%s\" does not exist", dir);
		if (origin != PG2MD_ORIGIN_DEFAULT)
			pg2md_detail(L->err, "it was given by %s", where);
		return PG2MD_ERR_USAGE;
	}
	if (!S_ISDIR(st.st_mode))
		return pg2md_fail(L->err, PG2MD_ERR_USAGE, "project folder \"%s\" is not a folder", dir);
	real = realpath(dir, NULL);
	if (real == NULL)
		return pg2md_fail(L->err, PG2MD_ERR_USAGE, "could not resolve project folder \"%s\": %s", dir,
				  strerror(errno));
	L->cfg->project_dir = real;
	L->cfg->config_path = cfg_xprintf(L, "%s/.dlt/config.toml", real);
	L->cfg->secrets_path = cfg_xprintf(L, "%s/.dlt/secrets.toml", real);
	cfg_set_prov(L, "project_dir", real, false, origin, where);
	return L->oom ? pg2md_fail(L->err, PG2MD_ERR_NOMEM, "out of memory") : PG2MD_OK;
}

static void
loader_release(loader *L)
{
	for (int i = 0; i < pg2md_n_config_keys; i++) {
		free(L->state[i].name);
		free(L->state[i].where);
	}
	free(L->state);
	if (L->table_where)
		for (int i = 0; i < L->cfg->n_table_cfg; i++)
			free(L->table_where[i]);
	free(L->table_where);
	for (int i = 0; i < L->n_env_tables; i++)
		free(L->env_tables[i].table);
	free(L->env_tables);
}

pg2md_code
pg2md_config_load(pg2md_config **out, const pg2md_config_flags *flags, char *const *envp, pg2md_error *err)
{
	loader L;
	pg2md_code result;

	memset(&L, 0, sizeof(L));
	L.err = err;
	L.envp = envp ? envp : environ;
	L.cfg = calloc(1, sizeof(*L.cfg));
	L.state = calloc((size_t)pg2md_n_config_keys, sizeof(*L.state));
	if (L.cfg == NULL || L.state == NULL) {
		free(L.cfg);
		free(L.state);
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}

	if ((result = resolve_project_dir(&L, flags)) == PG2MD_OK &&
	    (result = cfg_apply_defaults(&L)) == PG2MD_OK &&
	    (result = cfg_apply_env_token_fallback(&L)) == PG2MD_OK &&
	    (result = cfg_load_file(&L, L.cfg->config_path, PG2MD_ORIGIN_CONFIG)) == PG2MD_OK &&
	    (result = cfg_load_file(&L, L.cfg->secrets_path, PG2MD_ORIGIN_SECRETS)) == PG2MD_OK &&
	    (result = cfg_apply_env(&L)) == PG2MD_OK &&
	    (result = cfg_apply_flags(&L, flags)) == PG2MD_OK &&
	    (result = cfg_apply_env_tables(&L)) == PG2MD_OK)
		result = cfg_finish(&L);
	if (result == PG2MD_OK && L.oom)
		result = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	if (result != PG2MD_OK && !pg2md_failed(err))
		pg2md_fail(err, result, "could not load the configuration");

	loader_release(&L);
	if (result != PG2MD_OK) {
		pg2md_config_free(L.cfg);
		return err->code;
	}
	*out = L.cfg;
	return PG2MD_OK;
}

static void
table_config_release(pg2md_table_config *t)
{
	free(t->name);
	cfg_strlist_clear(&t->primary_key);
	cfg_strlist_clear(&t->merge_key);
	cfg_strlist_clear(&t->included_columns);
	cfg_strlist_clear(&t->excluded_columns);
	free(t->cursor_path);
	free(t->initial_value);
	free(t->end_value);
	free(t->row_order);
	free(t->lag);
	free(t->range_start);
	free(t->range_end);
	free(t->on_cursor_value_missing);
	free(t->hard_delete);
	free(t->dedup_sort);
	free(t->dedup_sort_order);
	free(t->where);
	free(t->query);
	free(t->transform);
	free(t->transform_stage);
	free(t->numeric_fallback);
	free(t->char_padding);
	free(t->merge_strategy);
	cfg_strlist_clear(&t->validity_column_names);
	free(t->active_record_timestamp);
	free(t->boundary_timestamp);
	free(t->row_version_column_name);
	for (int i = 0; i < t->n_col_hints; i++) {
		free(t->col_hints[i].column);
		free(t->col_hints[i].name);
		free(t->col_hints[i].data_type);
		free(t->col_hints[i].where);
	}
	free(t->col_hints);
}

void
pg2md_config_free(pg2md_config *cfg)
{
	if (cfg == NULL)
		return;
	for (int ki = 0; ki < pg2md_n_config_keys; ki++) {
		const config_key *k = &pg2md_config_keys[ki];
		void *field = (char *)cfg + k->offset;
		switch (k->type) {
		case KT_INT:
		case KT_INT64:
		case KT_PORT:
		case KT_BOOL:
		case KT_DISP:
			break;
		case KT_LIST:
			cfg_strlist_clear((pg2md_strlist *)field);
			break;
		default:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		}
	}
	free(cfg->project_dir);
	free(cfg->config_path);
	free(cfg->secrets_path);
	cfg_strlist_clear(&cfg->pg_query_keys);
	cfg_strlist_clear(&cfg->pg_query_values);
	for (int i = 0; i < cfg->n_table_cfg; i++)
		table_config_release(&cfg->table_cfg[i]);
	free(cfg->table_cfg);
	for (int i = 0; i < cfg->n_prov; i++) {
		free(cfg->prov[i].key);
		free(cfg->prov[i].value);
		free(cfg->prov[i].where);
	}
	free(cfg->prov);
	free(cfg);
}

const pg2md_table_config *
pg2md_config_table(const pg2md_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_table_cfg; i++)
		if (strcmp(cfg->table_cfg[i].name, name) == 0)
			return &cfg->table_cfg[i];
	for (int i = 0; i < cfg->n_table_cfg; i++)
		if (strcasecmp(cfg->table_cfg[i].name, name) == 0)
			return &cfg->table_cfg[i];
	return NULL;
}

const pg2md_column_hint *
pg2md_config_column_hint(const pg2md_table_config *tc, const char *column)
{
	for (int i = 0; tc && i < tc->n_col_hints; i++)
		if (strcmp(tc->col_hints[i].column, column) == 0)
			return &tc->col_hints[i];
	return NULL;
}

const char *
pg2md_config_numeric_fallback(const pg2md_config *cfg, const char *table)
{
	const pg2md_table_config *t = table ? pg2md_config_table(cfg, table) : NULL;
	if (t && t->numeric_fallback)
		return t->numeric_fallback;
	return cfg->numeric_fallback ? cfg->numeric_fallback : "varchar";
}

bool
pg2md_config_char_keep(const pg2md_config *cfg, const char *table)
{
	const pg2md_table_config *t = table ? pg2md_config_table(cfg, table) : NULL;
	const char *v = t && t->char_padding ? t->char_padding : cfg->char_padding;
	return v && strcmp(v, "keep") == 0;
}

pg2md_disposition
pg2md_config_disposition(const pg2md_config *cfg, const char *table)
{
	const pg2md_table_config *t = pg2md_config_table(cfg, table);
	const pg2md_provenance *flag = pg2md_config_provenance(cfg, "sources.sql_database.write_disposition");
	/* --write-disposition is for every table of the run, as dlt's run-level write_disposition */
	if (flag && flag->origin == PG2MD_ORIGIN_FLAG && cfg->write_disposition != PG2MD_DISP_DEFAULT)
		return cfg->write_disposition;
	if (t && t->write_disposition != PG2MD_DISP_DEFAULT)
		return t->write_disposition;
	if (cfg->write_disposition != PG2MD_DISP_DEFAULT)
		return cfg->write_disposition;
	return PG2MD_DISP_REPLACE;
}

bool
pg2md_config_scd2(const pg2md_config *cfg, const char *table)
{
	const pg2md_table_config *t = pg2md_config_table(cfg, table);
	return pg2md_config_disposition(cfg, table) == PG2MD_DISP_MERGE && t && t->merge_strategy &&
	       strcmp(t->merge_strategy, "scd2") == 0;
}

const char *
pg2md_config_validity_column(const pg2md_config *cfg, const char *table, int k)
{
	const pg2md_table_config *t = pg2md_config_table(cfg, table);
	if (t && t->validity_column_names.n == 2)
		return t->validity_column_names.items[k];
	return k == 0 ? "_dlt_valid_from" : "_dlt_valid_to";
}

const char *
pg2md_disposition_name(pg2md_disposition d)
{
	switch (d) {
	case PG2MD_DISP_REPLACE: return "replace";
	case PG2MD_DISP_APPEND: return "append";
	case PG2MD_DISP_MERGE: return "merge";
	default: return "default";
	}
}

int
pg2md_disposition_parse(const char *s)
{
	char buf[32];
	if (s == NULL)
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	cfg_trim(buf);
	if (strcasecmp(buf, "replace") == 0)
		return PG2MD_DISP_REPLACE;
	if (strcasecmp(buf, "append") == 0)
		return PG2MD_DISP_APPEND;
	if (strcasecmp(buf, "merge") == 0)
		return PG2MD_DISP_MERGE;
	return -1;
}

bool
pg2md_config_motherduck(const pg2md_config *cfg)
{
	return cfg->destination && strcmp(cfg->destination, "motherduck") == 0;
}

const char *
pg2md_origin_name(pg2md_origin origin)
{
	switch (origin) {
	case PG2MD_ORIGIN_CONFIG: return "config.toml";
	case PG2MD_ORIGIN_SECRETS: return "secrets.toml";
	case PG2MD_ORIGIN_ENV: return "environment";
	case PG2MD_ORIGIN_FLAG: return "flag";
	default: return "default";
	}
}

const pg2md_provenance *
pg2md_config_provenance(const pg2md_config *cfg, const char *key)
{
	for (int i = 0; i < cfg->n_prov; i++)
		if (strcmp(cfg->prov[i].key, key) == 0)
			return &cfg->prov[i];
	return NULL;
}

int
pg2md_config_pg_params(const pg2md_config *cfg, const char **keys, const char **values, int max)
{
	int n = 0;

#define PARAM(k, v)                                 \
	do {                                        \
		if ((v) && *(v) && n < max - 1) {   \
			keys[n] = (k);              \
			values[n] = (v);            \
			n++;                        \
		}                                   \
	} while (0)

	if (max <= 0)
		return 0;
	PARAM("host", cfg->pg_host);
	PARAM("port", cfg->pg_port_text);
	PARAM("dbname", cfg->pg_database);
	PARAM("user", cfg->pg_username);
	PARAM("password", cfg->pg_password);
	for (int i = 0; i < cfg->pg_query_keys.n; i++)
		PARAM(cfg->pg_query_keys.items[i], cfg->pg_query_values.items[i]);
	PARAM("fallback_application_name", "pg2md");
#undef PARAM
	keys[n] = NULL;
	values[n] = NULL;
	return n;
}

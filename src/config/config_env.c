/*
 * config_env.c — the environment and command-line layers: dlt's variable names
 * (SOURCES__SQL_DATABASE__CREDENTIALS__PASSWORD, …), MOTHERDUCK_TOKEN as a
 * fallback below the files, per-table variables, and the flags.
 */
#include "config/config_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/toml_bridge.h"

/* MOTHERDUCK_TOKEN / motherduck_token: dlt's fallback, below the files. */
pg2md_code
cfg_apply_env_token_fallback(loader *L)
{
	static const char *const vars[] = {"MOTHERDUCK_TOKEN", "motherduck_token", NULL};
	for (int i = 0; vars[i]; i++) {
		const char *v = cfg_env_get(L->envp, vars[i]);
		if (v && *v) {
			raw_value rv = {.kind = TB_STRING, .text = v, .from_text = true, .origin = PG2MD_ORIGIN_ENV,
					.name = vars[i]};
			return cfg_apply_key(L, cfg_key_index("destination.motherduck.credentials.token"), &rv);
		}
	}
	return PG2MD_OK;
}

/* The per-table suffix an environment variable ends with, e.g. "__INCREMENTAL__CURSOR_PATH". */
static int
env_table_suffix(const char *name, size_t *table_len)
{
	size_t len = strlen(name);
	int best = -1;
	size_t best_len = 0;
	for (int i = 0; i < pg2md_n_table_keys; i++) {
		char suffix[128] = "__";
		cfg_env_name(pg2md_table_keys[i].name, suffix + 2, sizeof(suffix) - 2);
		size_t sl = strlen(suffix);
		if (len > sl && strcmp(name + len - sl, suffix) == 0 && sl > best_len) {
			best = i;
			best_len = sl;
		}
	}
	*table_len = len - best_len;
	return best;
}

pg2md_code
cfg_apply_env(loader *L)
{
	assignment *as = NULL;
	int n = 0, cap = 0;
	pg2md_code result;

	for (int ki = 0; ki < pg2md_n_config_keys; ki++) {
		const config_key *k = &pg2md_config_keys[ki];
		for (int a = -1; a < MAX_ALIASES; a++) {
			const char *name = a < 0 ? k->name : k->aliases[a];
			char var[256];
			const char *value;
			if (name == NULL)
				break;
			cfg_env_name(name, var, sizeof(var));
			value = cfg_env_get(L->envp, var);
			if (value == NULL)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				assignment *bigger = realloc(as, (size_t)cap * sizeof(*as));
				if (bigger == NULL) {
					free(as);
					return pg2md_fail(L->err, PG2MD_ERR_NOMEM, "out of memory");
				}
				as = bigger;
			}
			as[n] = (assignment){.prio = cfg_assignment_prio(ki, name), .seq = n, .ki = ki, .tk = -1,
					     .rv = {.kind = TB_STRING, .text = value, .from_text = true,
						    .origin = PG2MD_ORIGIN_ENV, .name = cfg_xstrdup(L, var)}};
			n++;
		}
	}
	result = cfg_apply_assignments(L, as, n);
	for (int i = 0; i < n; i++)
		free((char *)as[i].rv.name);
	free(as);
	if (result != PG2MD_OK)
		return result;

	/* query parameters and per-table settings: scan the whole environment */
	for (char *const *e = L->envp; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char var[512];
		if (eq == NULL || (size_t)(eq - *e) >= sizeof(var))
			continue;
		memcpy(var, *e, (size_t)(eq - *e));
		var[eq - *e] = '\0';

		static const char *const qprefixes[] = {"SOURCES__CREDENTIALS__QUERY__",
							 "SOURCES__SQL_DATABASE__CREDENTIALS__QUERY__", NULL};
		bool done = false;
		for (int p = 0; qprefixes[p] && !done; p++)
			if (cfg_starts_with(var, qprefixes[p]) && var[strlen(qprefixes[p])]) {
				char key[256];
				snprintf(key, sizeof(key), "%s", var + strlen(qprefixes[p]));
				for (char *c = key; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				cfg_query_set(L, key, eq + 1, PG2MD_ORIGIN_ENV, var);
				done = true;
			}
		if (done || !cfg_starts_with(var, "SOURCES__SQL_DATABASE__"))
			continue;

		size_t table_len;
		int tk = env_table_suffix(var, &table_len);
		size_t pre = strlen("SOURCES__SQL_DATABASE__");
		if (tk < 0 || table_len <= pre)
			continue;
		char table[256];
		snprintf(table, sizeof(table), "%.*s", (int)(table_len - pre), var + pre);
		char lower[256];
		snprintf(lower, sizeof(lower), "%s", table);
		for (char *c = lower; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (cfg_source_known_name(lower))
			continue;
		struct env_table *bigger = realloc(L->env_tables, (size_t)(L->n_env_tables + 1) * sizeof(*bigger));
		if (bigger == NULL)
			return pg2md_fail(L->err, PG2MD_ERR_NOMEM, "out of memory");
		L->env_tables = bigger;
		L->env_tables[L->n_env_tables].var = *e;
		L->env_tables[L->n_env_tables].table = cfg_xstrdup(L, table);
		L->env_tables[L->n_env_tables].tk = tk;
		L->env_tables[L->n_env_tables].value = eq + 1;
		L->n_env_tables++;
	}
	return L->oom ? pg2md_fail(L->err, PG2MD_ERR_NOMEM, "out of memory") : PG2MD_OK;
}

/*
 * SOURCES__SQL_DATABASE__<TABLE>__<KEY>: the table part is upper case, so it
 * names the configured table it matches case-insensitively, else an existing
 * section, else the table in lower case.
 */
pg2md_code
cfg_apply_env_tables(loader *L)
{
	pg2md_config *cfg = L->cfg;
	for (int i = 0; i < L->n_env_tables; i++) {
		struct env_table *et = &L->env_tables[i];
		const char *table = NULL;
		char lower[256], var[512];

		for (int j = 0; j < cfg->tables.n && !table; j++)
			if (strcasecmp(cfg->tables.items[j], et->table) == 0)
				table = cfg->tables.items[j];
		for (int j = 0; j < cfg->n_table_cfg && !table; j++)
			if (strcasecmp(cfg->table_cfg[j].name, et->table) == 0)
				table = cfg->table_cfg[j].name;
		if (table == NULL) {
			snprintf(lower, sizeof(lower), "%s", et->table);
			for (char *c = lower; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			table = lower;
		}
		snprintf(var, sizeof(var), "%.*s", (int)(strchr(et->var, '=') - et->var), et->var);
		raw_value rv = {.kind = TB_STRING, .text = et->value, .from_text = true, .origin = PG2MD_ORIGIN_ENV,
				.name = var};
		/* table may point into table_cfg, which apply_table_key can move */
		char name[256];
		snprintf(name, sizeof(name), "%s", table);
		if (cfg_apply_table_key(L, name, et->tk, &rv) != PG2MD_OK)
			return L->err->code;
	}
	return PG2MD_OK;
}

pg2md_code
cfg_apply_flags(loader *L, const pg2md_config_flags *flags)
{
	static const struct {
		size_t offset;
		const char *key;
	} map[] = {
		{offsetof(pg2md_config_flags, tables), "sources.sql_database.tables"},
		{offsetof(pg2md_config_flags, write_disposition), "sources.sql_database.write_disposition"},
		{offsetof(pg2md_config_flags, destination), "pipeline.destination"},
		{offsetof(pg2md_config_flags, dataset_name), "pipeline.dataset_name"},
		{offsetof(pg2md_config_flags, pipeline_name), "pipeline.pipeline_name"},
		{offsetof(pg2md_config_flags, log_level), "runtime.log_level"},
		{offsetof(pg2md_config_flags, metrics_file), "runtime.metrics_file"},
	};

	if (flags == NULL)
		return PG2MD_OK;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		const char *value = *(const char *const *)((const char *)flags + map[i].offset);
		int ki = cfg_key_index(map[i].key);
		if (value == NULL)
			continue;
		raw_value rv = {.kind = TB_STRING, .text = value, .from_text = true, .origin = PG2MD_ORIGIN_FLAG,
				.name = pg2md_config_keys[ki].flag};
		if (cfg_apply_key(L, ki, &rv) != PG2MD_OK)
			return L->err->code;
	}
	if (flags->direct == 0 || flags->direct == 1) {
		raw_value rv = {.kind = TB_STRING, .text = flags->direct ? "true" : "false", .from_text = true,
				.origin = PG2MD_ORIGIN_FLAG, .name = flags->direct ? "--direct" : "--staged"};
		if (cfg_apply_key(L, cfg_key_index("sources.sql_database.direct"), &rv) != PG2MD_OK)
			return L->err->code;
	}
	return PG2MD_OK;
}

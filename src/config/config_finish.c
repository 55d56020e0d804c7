/*
 * config_finish.c — after the layers: defaults, values derived from other keys,
 * and checks across keys.
 */
#include "config/config_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml_bridge.h"
#include "util/strdist.h"

pg2md_code
cfg_apply_defaults(loader *L)
{
	for (int ki = 0; ki < pg2md_n_config_keys; ki++) {
		const config_key *k = &pg2md_config_keys[ki];
		if (k->def) {
			raw_value rv = {.kind = TB_STRING, .text = k->def, .from_text = true,
					.origin = PG2MD_ORIGIN_DEFAULT, .name = "default"};
			if (cfg_apply_key(L, ki, &rv) != PG2MD_OK)
				return L->err->code;
		} else {
			cfg_record_key(L, ki, PG2MD_ORIGIN_DEFAULT, "default");
		}
	}
	return PG2MD_OK;
}

static void
derive_default(loader *L, const char *key)
{
	cfg_record_key(L, cfg_key_index(key), PG2MD_ORIGIN_DEFAULT, "default");
}

/*
 * pg2md follow's slot and publication when none is named: the pipeline's name folded to what
 * PostgreSQL accepts (lower case letters, digits and "_", at most 63 bytes) plus the suffix.
 */
static char *
derive_repl_name(loader *L, const char *suffix)
{
	char out[64];
	size_t o = 0, max = sizeof(out) - 1 - strlen(suffix);
	for (const char *c = L->cfg->pipeline_name ? L->cfg->pipeline_name : "pg2md"; *c && o < max; c++)
		out[o++] = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '_';
	snprintf(out + o, sizeof(out) - o, "%s", suffix);
	return cfg_xstrdup(L, out);
}

pg2md_code
cfg_finish(loader *L)
{
	pg2md_config *cfg = L->cfg;

	if (cfg->pool_size == 0) {
		cfg->pool_size = cfg->source_workers;
		derive_default(L, "postgres.pool_size");
	}
	if (cfg->destination == NULL) {
		cfg_set_string(L, &cfg->destination, cfg->md_token && cfg->md_token[0] ? "motherduck" : "duckdb");
		derive_default(L, "pipeline.destination");
	}
	if (cfg->duckdb_path == NULL) {
		cfg->duckdb_path = cfg_xprintf(L, "%s/%s.duckdb", cfg->project_dir, cfg->pipeline_name);
		derive_default(L, "destination.duckdb.credentials");
	}
	if (cfg->repl_slot_name == NULL || cfg->repl_slot_name[0] == '\0') {
		free(cfg->repl_slot_name);
		cfg->repl_slot_name = derive_repl_name(L, "_slot");
		derive_default(L, "sources.pg_replication.slot_name");
	}
	if (cfg->repl_pub_name == NULL || cfg->repl_pub_name[0] == '\0') {
		free(cfg->repl_pub_name);
		cfg->repl_pub_name = derive_repl_name(L, "_pub");
		derive_default(L, "sources.pg_replication.pub_name");
	}
	if (cfg->pipelines_dir == NULL) {
		cfg->pipelines_dir = cfg_xprintf(L, "%s/.pg2md/pipelines", cfg->project_dir);
		derive_default(L, "runtime.pipelines_dir");
	}
	if (cfg->pg_port > 0)
		snprintf(cfg->pg_port_text, sizeof(cfg->pg_port_text), "%d", cfg->pg_port);
	else
		cfg->pg_port_text[0] = '\0';
	if (L->oom)
		return pg2md_fail(L->err, PG2MD_ERR_NOMEM, "out of memory");

	/* the table list; none (or an empty one) means every table of the schema, found when the
	 * source is reflected (catalog_table_names), as dlt's sql_database does */
	for (int i = 0; i < cfg->tables.n; i++) {
		const pg2md_provenance *p = pg2md_config_provenance(cfg, "sources.sql_database.tables");
		if (cfg->tables.items[i][0] == '\0') {
			pg2md_fail(L->err, PG2MD_ERR_USAGE, "empty table name in the table list (%s)", p ? p->where : "");
			return PG2MD_ERR_USAGE;
		}
		for (int j = 0; j < i; j++)
			if (strcmp(cfg->tables.items[i], cfg->tables.items[j]) == 0) {
				pg2md_warn("table \"%s\" is listed twice (%s): copying it once", cfg->tables.items[i],
					   p ? p->where : "");
				free(cfg->tables.items[i]);
				memmove(&cfg->tables.items[i], &cfg->tables.items[i + 1],
					(size_t)(cfg->tables.n - i - 1) * sizeof(char *));
				cfg->tables.n--;
				i--;
				break;
			}
	}

	/* sections for tables that are not copied are probably typos (with no list, any table may be) */
	for (int i = 0; cfg->tables.n > 0 && i < cfg->n_table_cfg; i++) {
		if (cfg_strlist_find(&cfg->tables, cfg->table_cfg[i].name) >= 0)
			continue;
		int j;
		const char *close = strdist_suggest(cfg->table_cfg[i].name, (const char *const *)cfg->tables.items,
						    cfg->tables.n, true, 1, &j) == 1 ? cfg->tables.items[j] : NULL;
		if (close)
			pg2md_warn("settings for table \"%s\" (%s), which is not in the table list\nHINT:  did you mean \"%s\"?",
				   cfg->table_cfg[i].name, L->table_where[i], close);
		else
			pg2md_warn("settings for table \"%s\" (%s), which is not in the table list", cfg->table_cfg[i].name,
				   L->table_where[i]);
	}

	if (cfg_check_merge_options(L) != PG2MD_OK)
		return PG2MD_ERR_USAGE;

	if (pg2md_config_motherduck(cfg) && (cfg->md_token == NULL || cfg->md_token[0] == '\0')) {
		const pg2md_provenance *p = pg2md_config_provenance(cfg, "pipeline.destination");
		pg2md_fail(L->err, PG2MD_ERR_USAGE, "destination \"motherduck\" (%s) needs a MotherDuck token",
			   p ? p->where : "");
		pg2md_hint(L->err, "set token under [destination.motherduck.credentials] in \"%s\", or MOTHERDUCK_TOKEN",
			   cfg->secrets_path);
		return PG2MD_ERR_USAGE;
	}
	return PG2MD_OK;
}

/*
 * config_apply.c — applies one value to one key of the key table: type check,
 * conversion, the field in pg2md_config, and its provenance.
 */
#include "config/config_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/toml_bridge.h"

/* The keys whose value is text: checked, and stored as text or a path. */
static pg2md_code
set_text_key(loader *L, const config_key *k, const char *key, const raw_value *rv, void *field)
{
	bool secret = (k->flags & KEY_SECRET) != 0;
	const char *text = NULL;
	char expected[256];

	switch (k->type) {
	case KT_CHOICE: {
		const char *match = NULL;
		cfg_choices_phrase(k->choices, expected, sizeof(expected));
		if (cfg_value_text(L, key, secret, rv, expected, &text) != PG2MD_OK)
			return L->err->code;
		for (int i = 0; k->choices[i]; i++)
			if (strcasecmp(text, k->choices[i]) == 0)
				match = k->choices[i];
		if (match == NULL)
			return cfg_bad_value(L, key, secret, rv, expected);
		cfg_set_string(L, (char **)field, match);
		break;
	}
	case KT_LOGLEVEL: {
		const char *exp = "one of \"DEBUG\", \"INFO\", \"WARNING\", \"ERROR\" or \"CRITICAL\"";
		int level;
		if (cfg_value_text(L, key, secret, rv, exp, &text) != PG2MD_OK)
			return L->err->code;
		level = pg2md_log_level_parse(text);
		if (level < 0)
			return cfg_bad_value(L, key, secret, rv, exp);
		cfg_set_string(L, (char **)field, pg2md_log_level_name((pg2md_log_level)level));
		break;
	}
	case KT_LOGFORMAT:
		if (cfg_value_text(L, key, secret, rv, "\"TEXT\" or \"JSON\"", &text) != PG2MD_OK)
			return L->err->code;
		if (strcasecmp(text, "JSON") == 0) {
			cfg_set_string(L, (char **)field, "JSON");
		} else {
			if (strcasecmp(text, "TEXT") != 0)
				pg2md_debug("log format of \"%s\" is a dlt format string: pg2md writes its TEXT format", key);
			cfg_set_string(L, (char **)field, "TEXT");
		}
		break;
	case KT_DRIVER:
		if (cfg_value_text(L, key, secret, rv, "\"postgresql\"", &text) != PG2MD_OK)
			return L->err->code;
		if (strcmp(text, "postgresql") != 0 && strcmp(text, "postgres") != 0 &&
		    !cfg_starts_with(text, "postgresql+") && !cfg_starts_with(text, "postgres+"))
			return cfg_bad_value(L, key, secret, rv, "\"postgresql\" (pg2md reads from PostgreSQL only)");
		cfg_set_string(L, (char **)field, text);
		break;
	case KT_NAME:
		if (cfg_value_text(L, key, secret, rv, "a name", &text) != PG2MD_OK)
			return L->err->code;
		if (text[0] == '\0' || strchr(text, '/') || strcmp(text, ".") == 0 || strcmp(text, "..") == 0)
			return cfg_bad_value(L, key, secret, rv, "a name that can be a folder name (no \"/\")");
		cfg_set_string(L, (char **)field, text);
		break;
	case KT_PATH:
	case KT_DUCKDB: {
		char *path;
		if (cfg_value_text(L, key, secret, rv, "a path", &text) != PG2MD_OK)
			return L->err->code;
		if (k->type == KT_DUCKDB && cfg_starts_with(text, "duckdb:///"))
			text += strlen("duckdb:///");
		if (text[0] == '\0')
			return cfg_bad_value(L, key, secret, rv, "a path");
		if (k->type == KT_DUCKDB && (cfg_starts_with(text, "md:") || cfg_starts_with(text, "motherduck:")))
			return cfg_bad_value(L, key, secret, rv,
					 "a local file; MotherDuck goes under [destination.motherduck.credentials]");
		path = cfg_project_path(L, text);
		if (path == NULL)
			return PG2MD_ERR_USAGE;
		free(*(char **)field);
		*(char **)field = path;
		break;
	}
	case KT_STRING:
	default:
		if (cfg_value_text(L, key, secret, rv, "a string", &text) != PG2MD_OK)
			return L->err->code;
		if (text[0] == '\0' && !(k->flags & KEY_EMPTY_OK))
			return cfg_bad_value(L, key, secret, rv, "a value that is not empty");
		cfg_set_string(L, (char **)field, text);
		break;
	}
	return PG2MD_OK;
}

pg2md_code
cfg_apply_key(loader *L, int ki, const raw_value *rv)
{
	const config_key *k = &pg2md_config_keys[ki];
	pg2md_config *cfg = L->cfg;
	void *field = (char *)cfg + k->offset;
	const char *key = cfg_shown_key(rv, k->name);
	bool secret = (k->flags & KEY_SECRET) != 0;
	const char *text = NULL;
	char *where;
	char expected[256];

	/* "" in the environment or a file means "unset" for credentials */
	if ((k->flags & KEY_EMPTY_OK) && rv->kind == TB_STRING && rv->text && rv->text[0] == '\0') {
		if (k->type == KT_PORT)
			*(int *)field = 0;
		else
			cfg_set_string(L, (char **)field, NULL);
		where = cfg_where_of(L, rv);
		cfg_record_key(L, ki, rv->origin, where);
		free(where);
		return PG2MD_OK;
	}

	switch (k->type) {
	case KT_PG_URL:
		return cfg_apply_pg_url(L, ki, rv);
	case KT_MD_URL:
		return cfg_apply_md_url(L, ki, rv);
	case KT_INT:
	case KT_INT64:
	case KT_PORT: {
		int64_t v = 0;
		int64_t max = k->type == KT_INT ? INT_MAX : k->type == KT_PORT ? 65535 : INT64_MAX;
		if (cfg_value_int(L, key, secret, rv, k->type == KT_PORT ? 1 : k->min, max, &v) != PG2MD_OK)
			return L->err->code;
		if (k->type == KT_INT64)
			*(int64_t *)field = v;
		else
			*(int *)field = (int)v;
		break;
	}
	case KT_BOOL:
		if (cfg_value_bool(L, key, rv, (bool *)field) != PG2MD_OK)
			return L->err->code;
		break;
	case KT_LIST: {
		pg2md_strlist l;
		if (cfg_value_list(L, key, rv, &l) != PG2MD_OK)
			return L->err->code;
		cfg_strlist_clear((pg2md_strlist *)field);
		*(pg2md_strlist *)field = l;
		break;
	}
	case KT_DISP: {
		int d;
		cfg_choices_phrase(pg2md_disposition_choices, expected, sizeof(expected));
		if (cfg_value_text(L, key, secret, rv, expected, &text) != PG2MD_OK)
			return L->err->code;
		d = pg2md_disposition_parse(text);
		if (d < 0 || d == PG2MD_DISP_DEFAULT)
			return cfg_bad_value(L, key, secret, rv, expected);
		*(pg2md_disposition *)field = (pg2md_disposition)d;
		break;
	}
	default: {
		pg2md_code result = set_text_key(L, k, key, rv, field);
		if (result != PG2MD_OK)
			return result;
		break;
	}
	}

	where = cfg_where_of(L, rv);
	cfg_record_key(L, ki, rv->origin, where);
	free(where);
	return PG2MD_OK;
}

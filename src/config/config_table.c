/*
 * config_table.c — per-table sections ([sources.sql_database.<table>]): the
 * table's settings and its column hints.
 */
#include "config/config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/toml_bridge.h"

pg2md_table_config *
cfg_table_section(loader *L, const char *name, const char *where)
{
	pg2md_config *cfg = L->cfg;
	pg2md_table_config *t;
	char **tw;

	for (int i = 0; i < cfg->n_table_cfg; i++)
		if (strcmp(cfg->table_cfg[i].name, name) == 0)
			return &cfg->table_cfg[i];
	t = realloc(cfg->table_cfg, (size_t)(cfg->n_table_cfg + 1) * sizeof(*t));
	if (t == NULL) {
		L->oom = true;
		return NULL;
	}
	cfg->table_cfg = t;
	tw = realloc(L->table_where, (size_t)(cfg->n_table_cfg + 1) * sizeof(*tw));
	if (tw == NULL) {
		L->oom = true;
		return NULL;
	}
	L->table_where = tw;
	t = &cfg->table_cfg[cfg->n_table_cfg];
	memset(t, 0, sizeof(*t));
	t->name = cfg_xstrdup(L, name);
	L->table_where[cfg->n_table_cfg] = cfg_xstrdup(L, where);
	if (t->name == NULL) {
		/* L->oom; no table without a name (the next lookup compares names) */
		free(L->table_where[cfg->n_table_cfg]);
		return NULL;
	}
	cfg->n_table_cfg++;
	return t;
}

const char *const pg2md_dlt_types[] = {"text", "double", "bool", "timestamp", "date", "time", "bigint", "binary",
					"json", "complex", "decimal", "wei", NULL};

bool
cfg_is_column_hint(const char *hint)
{
	static const char *const hints[] = {"hard_delete", "dedup_sort", "name", "data_type", "precision", "scale",
					    "nullable", NULL};
	for (int i = 0; hints[i]; i++)
		if (strcmp(hints[i], hint) == 0)
			return true;
	return false;
}

/* The hint entry of column in t, added when missing (NULL when out of memory). */
static pg2md_column_hint *
column_hint_entry(loader *L, pg2md_table_config *t, const char *column, const char *where)
{
	pg2md_column_hint *h;
	for (int i = 0; i < t->n_col_hints; i++)
		if (strcmp(t->col_hints[i].column, column) == 0)
			return &t->col_hints[i];
	h = realloc(t->col_hints, (size_t)(t->n_col_hints + 1) * sizeof(*h));
	if (h == NULL) {
		L->oom = true;
		return NULL;
	}
	t->col_hints = h;
	h = &t->col_hints[t->n_col_hints];
	memset(h, 0, sizeof(*h));
	h->scale = -1;
	h->nullable = -1;
	h->column = cfg_xstrdup(L, column);
	if (h->column == NULL)
		return NULL; /* L->oom; no hint without its column (the next lookup compares them) */
	h->where = cfg_xstrdup(L, where);
	t->n_col_hints++;
	return h;
}

/*
 * name = "…" (the destination name), data_type = "…" (dlt's type names),
 * precision and scale (decimal; precision also for bigint, in bits, as dlt),
 * nullable = true/false.  Whether the column exists is checked when the table
 * is reflected (source/colhints.c), with the place recorded here.
 */
static pg2md_code
column_hint_change(loader *L, pg2md_table_config *t, const char *key, const char *column, const char *hint,
		   const raw_value *rv)
{
	char *where = cfg_where_of(L, rv);
	pg2md_column_hint *h = column_hint_entry(L, t, column, where ? where : "");
	char rendered[256];
	const char *text = NULL;
	int64_t v;
	bool b;

	if (h == NULL) {
		free(where);
		return pg2md_fail(L->err, PG2MD_ERR_NOMEM, "out of memory");
	}
	if (strcmp(hint, "name") == 0) {
		if (cfg_value_text(L, key, false, rv, "a column name", &text) != PG2MD_OK)
			goto fail;
		if (*text == '\0') {
			cfg_bad_value(L, key, false, rv, "a column name");
			goto fail;
		}
		cfg_set_string(L, &h->name, text);
		snprintf(rendered, sizeof(rendered), "%s", text);
	} else if (strcmp(hint, "data_type") == 0) {
		char expected[256];
		bool known = false;
		cfg_choices_phrase(pg2md_dlt_types, expected, sizeof(expected));
		if (cfg_value_text(L, key, false, rv, expected, &text) != PG2MD_OK)
			goto fail;
		for (int i = 0; pg2md_dlt_types[i] && !known; i++)
			known = strcmp(pg2md_dlt_types[i], text) == 0;
		if (!known) {
			cfg_bad_value(L, key, false, rv, expected);
			goto fail;
		}
		cfg_set_string(L, &h->data_type, text);
		snprintf(rendered, sizeof(rendered), "%s", text);
	} else if (strcmp(hint, "precision") == 0) {
		if (cfg_value_int(L, key, false, rv, 1, 64, &v) != PG2MD_OK)
			goto fail;
		h->precision = (int)v;
		snprintf(rendered, sizeof(rendered), "%d", h->precision);
	} else if (strcmp(hint, "scale") == 0) {
		if (cfg_value_int(L, key, false, rv, 0, 38, &v) != PG2MD_OK)
			goto fail;
		h->scale = (int)v;
		snprintf(rendered, sizeof(rendered), "%d", h->scale);
	} else {
		if (cfg_value_bool(L, key, rv, &b) != PG2MD_OK)
			goto fail;
		h->nullable = b;
		snprintf(rendered, sizeof(rendered), "%s", b ? "true" : "false");
	}
	cfg_set_prov(L, key, rendered, false, rv->origin, where ? where : "");
	free(where);
	return PG2MD_OK;
fail:
	free(where);
	return L->err->code ? L->err->code : PG2MD_ERR_USAGE;
}

/*
 * A column hint of a table: hard_delete = true (a row whose column is true, or
 * not NULL for a non-boolean column, is deleted by merge) or dedup_sort =
 * "asc"|"desc" (which duplicate of a key merge keeps); or one that changes the
 * column (column_hint_change): name, data_type, precision, scale, nullable.
 */
pg2md_code
cfg_apply_column_hint(loader *L, const char *table, const char *column, const char *hint, const raw_value *rv)
{
	char key[1024];
	char *where = cfg_where_of(L, rv);
	pg2md_table_config *t = cfg_table_section(L, table, where ? where : "");
	free(where);
	if (t == NULL)
		return PG2MD_ERR_USAGE;
	snprintf(key, sizeof(key), "sources.sql_database.%s.columns.%s.%s", table, column, hint);
	if (strcmp(hint, "hard_delete") == 0) {
		bool on = false;
		if (cfg_value_bool(L, key, rv, &on) != PG2MD_OK)
			return L->err->code;
		cfg_set_string(L, &t->hard_delete, on ? column : NULL);
		return PG2MD_OK;
	}
	if (strcmp(hint, "dedup_sort") != 0)
		return column_hint_change(L, t, key, column, hint, rv);
	const char *text = NULL;
	if (cfg_value_text(L, key, false, rv, "\"asc\" or \"desc\"", &text) != PG2MD_OK)
		return L->err->code;
	if (strcasecmp(text, "asc") != 0 && strcasecmp(text, "desc") != 0)
		return cfg_bad_value(L, key, false, rv, "\"asc\" or \"desc\"");
	cfg_set_string(L, &t->dedup_sort, column);
	cfg_set_string(L, &t->dedup_sort_order, strcasecmp(text, "asc") == 0 ? "asc" : "desc");
	return PG2MD_OK;
}

int
cfg_table_key_index(const char *name)
{
	for (int i = 0; i < pg2md_n_table_keys; i++)
		if (strcmp(pg2md_table_keys[i].name, name) == 0)
			return i;
	return -1;
}

pg2md_code
cfg_apply_table_key(loader *L, const char *table, int tk, const raw_value *rv)
{
	const table_key *k = &pg2md_table_keys[tk];
	char canonical[1024], rendered[4096];
	const char *key;
	char *where = cfg_where_of(L, rv);
	pg2md_table_config *t;
	void *field;

	snprintf(canonical, sizeof(canonical), "sources.sql_database.%s.%s", table,
		 k->canonical ? k->canonical : k->name);
	key = cfg_shown_key(rv, canonical);
	t = cfg_table_section(L, table, where ? where : "");
	if (t == NULL) {
		free(where);
		return PG2MD_ERR_USAGE;
	}
	field = (char *)t + k->offset;
	rendered[0] = '\0';

	switch (k->type) {
	case TK_TEXT: {
		const char *text = NULL;
		if (cfg_value_text(L, key, false, rv, "a value", &text) != PG2MD_OK)
			goto fail;
		cfg_set_string(L, (char **)field, text);
		snprintf(rendered, sizeof(rendered), "%s", text);
		break;
	}
	case TK_ORDER: {
		const char *text = NULL;
		if (cfg_value_text(L, key, false, rv, "\"asc\" or \"desc\"", &text) != PG2MD_OK)
			goto fail;
		if (strcasecmp(text, "asc") != 0 && strcasecmp(text, "desc") != 0) {
			cfg_bad_value(L, key, false, rv, "\"asc\" or \"desc\"");
			goto fail;
		}
		cfg_set_string(L, (char **)field, strcasecmp(text, "asc") == 0 ? "asc" : "desc");
		snprintf(rendered, sizeof(rendered), "%s", *(char **)field);
		break;
	}
	case TK_CHOICE: {
		const char *const *choices = k->choices;
		char expected[128];
		const char *text = NULL, *match = NULL;
		cfg_choices_phrase(choices, expected, sizeof(expected));
		if (cfg_value_text(L, key, false, rv, expected, &text) != PG2MD_OK)
			goto fail;
		for (int i = 0; choices[i]; i++)
			if (strcasecmp(text, choices[i]) == 0)
				match = choices[i];
		if (match == NULL) {
			cfg_bad_value(L, key, false, rv, expected);
			goto fail;
		}
		cfg_set_string(L, (char **)field, match);
		snprintf(rendered, sizeof(rendered), "%s", match);
		break;
	}
	case TK_LIST: {
		pg2md_strlist l;
		if (rv->kind == TB_STRING && !rv->from_text) {
			/* primary_key = "id": one column, even with a comma in its name */
			memset(&l, 0, sizeof(l));
			cfg_strlist_add(L, &l, rv->text);
		} else if (cfg_value_list(L, key, rv, &l) != PG2MD_OK) {
			goto fail;
		}
		cfg_strlist_clear((pg2md_strlist *)field);
		*(pg2md_strlist *)field = l;
		cfg_render_list(&l, rendered, sizeof(rendered));
		break;
	}
	case TK_DISP: {
		char expected[128];
		const char *text = NULL;
		int d;
		cfg_choices_phrase(pg2md_disposition_choices, expected, sizeof(expected));
		if (cfg_value_text(L, key, false, rv, expected, &text) != PG2MD_OK)
			goto fail;
		d = pg2md_disposition_parse(text);
		if (d <= PG2MD_DISP_DEFAULT) {
			cfg_bad_value(L, key, false, rv, expected);
			goto fail;
		}
		*(pg2md_disposition *)field = (pg2md_disposition)d;
		snprintf(rendered, sizeof(rendered), "%s", pg2md_disposition_name((pg2md_disposition)d));
		break;
	}
	}
	cfg_set_prov(L, canonical, rendered, false, rv->origin, where);
	free(where);
	return PG2MD_OK;
fail:
	free(where);
	return L->err->code ? L->err->code : PG2MD_ERR_USAGE;
}

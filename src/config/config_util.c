/*
 * config_util.c — small helpers the configuration loader shares: allocation that
 * remembers running out of memory, string lists, environment names, and the
 * phrases its messages are made of (where a value came from, what was expected).
 */
#include "config/config_int.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml_bridge.h"

char *
cfg_xstrdup(loader *L, const char *s)
{
	char *p;
	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		L->oom = true;
	return p;
}

char *
cfg_xprintf(loader *L, const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0) {
		p = NULL;
		L->oom = true;
	}
	va_end(ap);
	return p;
}

void
cfg_set_string(loader *L, char **field, const char *value)
{
	char *copy = cfg_xstrdup(L, value);
	free(*field);
	*field = copy;
}

void
cfg_strlist_clear(pg2md_strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

bool
cfg_strlist_add(loader *L, pg2md_strlist *l, const char *s)
{
	char **items = realloc(l->items, (size_t)(l->n + 1) * sizeof(char *));
	char *copy;
	if (items == NULL) {
		L->oom = true;
		return false;
	}
	l->items = items;
	copy = cfg_xstrdup(L, s);
	if (copy == NULL)
		return false;
	l->items[l->n++] = copy;
	return true;
}

int
cfg_strlist_find(const pg2md_strlist *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return i;
	return -1;
}

bool
cfg_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
cfg_count_dots(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '.';
	return n;
}

/* "sources.sql_database.workers" -> "SOURCES__SQL_DATABASE__WORKERS" */
void
cfg_env_name(const char *key, char *out, size_t n)
{
	size_t j = 0;
	for (const char *p = key; *p && j + 2 < n; p++) {
		if (*p == '.') {
			out[j++] = '_';
			out[j++] = '_';
		} else {
			out[j++] = (char)toupper((unsigned char)*p);
		}
	}
	out[j] = '\0';
}

const char *
cfg_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

void
cfg_trim(char *s)
{
	size_t n = strlen(s), i = 0;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		i++;
	if (i > 0)
		memmove(s, s + i, n - i + 1);
}

/* "where" for provenance: "/p/.dlt/config.toml:12", "LOAD__WORKERS", "--tables". */
char *
cfg_where_of(loader *L, const raw_value *rv)
{
	switch (rv->origin) {
	case PG2MD_ORIGIN_CONFIG:
	case PG2MD_ORIGIN_SECRETS:
		return cfg_xprintf(L, "%s:%d", rv->file, rv->line);
	case PG2MD_ORIGIN_ENV:
	case PG2MD_ORIGIN_FLAG:
		return cfg_xstrdup(L, rv->name);
	default:
		return cfg_xstrdup(L, "default");
	}
}

/* The place for messages: `in "/p/.dlt/config.toml" line 12`. */
void
cfg_loc_phrase(const raw_value *rv, char *out, size_t n)
{
	switch (rv->origin) {
	case PG2MD_ORIGIN_CONFIG:
	case PG2MD_ORIGIN_SECRETS:
		snprintf(out, n, "in \"%s\" line %d", rv->file, rv->line);
		break;
	case PG2MD_ORIGIN_ENV:
		snprintf(out, n, "in environment variable \"%s\"", rv->name);
		break;
	case PG2MD_ORIGIN_FLAG:
		snprintf(out, n, "in option \"%s\"", rv->name);
		break;
	default:
		snprintf(out, n, "in the defaults");
		break;
	}
}

/* The key to name in messages: as written in a file, else the canonical one. */
const char *
cfg_shown_key(const raw_value *rv, const char *canonical)
{
	if (rv->origin == PG2MD_ORIGIN_CONFIG || rv->origin == PG2MD_ORIGIN_SECRETS)
		return rv->name;
	return canonical;
}

static const char *
kind_phrase(tb_kind kind)
{
	switch (kind) {
	case TB_ARRAY: return "an array";
	case TB_TABLE: return "a table";
	case TB_INTEGER: return "an integer";
	case TB_FLOAT: return "a float";
	case TB_BOOLEAN: return "a boolean";
	case TB_DATE: case TB_TIME: case TB_DATETIME: return "a date or time";
	default: return "a string";
	}
}

/* The error for a value that has the wrong type or is out of range. */
pg2md_code
cfg_bad_value(loader *L, const char *key, bool secret, const raw_value *rv, const char *expected)
{
	char loc[PATH_MAX + 64];
	bool scalar = rv->kind != TB_ARRAY && rv->kind != TB_TABLE;

	cfg_loc_phrase(rv, loc, sizeof(loc));
	if (secret || !scalar || rv->text == NULL)
		pg2md_fail(L->err, PG2MD_ERR_USAGE, "invalid value for \"%s\" %s", key, loc);
	else
		pg2md_fail(L->err, PG2MD_ERR_USAGE, "invalid value for \"%s\" %s: \"%.80s%s\"", key, loc, rv->text,
			   strlen(rv->text) > 80 ? "…" : "");
	if (!scalar)
		pg2md_detail(L->err, "expected %s, got %s", expected, kind_phrase(rv->kind));
	else
		pg2md_detail(L->err, "expected %s", expected);
	return PG2MD_ERR_USAGE;
}

void
cfg_choices_phrase(const char *const *choices, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; choices[i]; i++) {
		const char *sep = i == 0 ? "" : choices[i + 1] ? ", " : " or ";
		int w = snprintf(out + len, n - len, "%s\"%s\"", sep, choices[i]);
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
}

/* A path relative to the project folder becomes absolute. */
char *
cfg_project_path(loader *L, const char *path)
{
	if (path[0] == '/' || strcmp(path, ":memory:") == 0)
		return cfg_xstrdup(L, path);
	if (path[0] == '~' && path[1] == '/') {
		const char *home = cfg_env_get(L->envp, "HOME");
		if (home)
			return cfg_xprintf(L, "%s%s", home, path + 1);
	}
	return cfg_xprintf(L, "%s/%s", L->cfg->project_dir, path);
}

/*
 * config_unknown.c — keys pg2md does not know: a warning with a "did you mean"
 * suggestion, or a note for dlt settings pg2md accepts and does not use.
 */
#include "config/config_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/toml_bridge.h"
#include "util/strdist.h"

typedef struct suggestion {
	const char *key;
	char best[512];
	int dist;
	bool suffix;
} suggestion;

static void
consider(suggestion *s, const char *candidate)
{
	size_t lk = strlen(s->key), lc = strlen(candidate);
	int d;

	/* [sql_database] tables -> sources.sql_database.tables */
	if (!s->suffix && lc > lk && candidate[lc - lk - 1] == '.' && strcasecmp(candidate + lc - lk, s->key) == 0) {
		snprintf(s->best, sizeof(s->best), "%s", candidate);
		s->suffix = true;
		s->dist = 0;
		return;
	}
	if (s->suffix)
		return;
	d = edit_distance_nocase(s->key, candidate);
	/* credentials.user -> credentials.username: same section, one name starts the other */
	const char *dk = strrchr(s->key, '.'), *dc = strrchr(candidate, '.');
	if (d > 1 && dk && dc && dk - s->key == dc - candidate && strncasecmp(s->key, candidate, (size_t)(dk - s->key)) == 0 &&
	    dk[1] && dc[1] && (strncasecmp(dk + 1, dc + 1, strlen(dk + 1)) == 0 || strncasecmp(dk + 1, dc + 1, strlen(dc + 1)) == 0))
		d = 1;
	if (d < s->dist) {
		s->dist = d;
		snprintf(s->best, sizeof(s->best), "%s", candidate);
	}
}

/* The closest known key to an unknown one, or NULL. */
static const char *
suggest(suggestion *s, const char *key, const tb_entry *e)
{
	s->key = key;
	s->best[0] = '\0';
	s->dist = 1000;
	s->suffix = false;

	for (int i = 0; i < pg2md_n_config_keys; i++) {
		consider(s, pg2md_config_keys[i].name);
		for (int a = 0; a < MAX_ALIASES && pg2md_config_keys[i].aliases[a]; a++)
			consider(s, pg2md_config_keys[i].aliases[a]);
	}
	for (size_t i = 0; i < (size_t)pg2md_n_ignored_keys; i++)
		if (!strstr(pg2md_ignored_keys[i].name, ".*"))
			consider(s, pg2md_ignored_keys[i].name);
	/* per-table keys, under this entry's table name */
	if (e && e->n_parts >= 4 && strcmp(e->parts[0], "sources") == 0 && strcmp(e->parts[1], "sql_database") == 0) {
		for (int i = 0; i < pg2md_n_table_keys; i++) {
			char cand[512];
			snprintf(cand, sizeof(cand), "sources.sql_database.%s.%s", e->parts[2], pg2md_table_keys[i].name);
			consider(s, cand);
		}
	}
	if (s->suffix)
		return s->best;
	size_t len = strlen(key);
	if (s->dist <= 2 || (s->dist <= 3 && len >= 24))
		return s->best;
	return NULL;
}

void
cfg_warn_unknown(const tb_entry *e, const char *file)
{
	suggestion s;
	const char *best = suggest(&s, e->key, e);
	const char *what = e->kind == TB_TABLE ? "section" : "key";

	/* settings of another dlt source or destination sharing the project */
	if (best == NULL && e->n_parts >= 2 &&
	    (strcmp(e->parts[0], "sources") == 0 || strcmp(e->parts[0], "destination") == 0) &&
	    strcmp(e->parts[1], "sql_database") != 0 && strcmp(e->parts[1], "motherduck") != 0 &&
	    strcmp(e->parts[1], "duckdb") != 0) {
		pg2md_debug("ignoring %s \"%s\" in \"%s\" line %d: it is not for pg2md", what, e->key, file, e->line);
		return;
	}
	if (best)
		pg2md_warn("unknown %s \"%s\" in \"%s\" line %d\nHINT:  did you mean \"%s\"?", what, e->key, file, e->line,
			   best);
	else
		pg2md_warn("unknown %s \"%s\" in \"%s\" line %d", what, e->key, file, e->line);
}

const ignored_key *
cfg_find_ignored(const ignored_key *list, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = list[i].name;
		size_t len = strlen(name);
		if (len > 2 && strcmp(name + len - 2, ".*") == 0) {
			if (strncmp(key, name, len - 1) == 0 || (strncmp(key, name, len - 2) == 0 && key[len - 2] == '\0'))
				return &list[i];
		} else if (strcmp(key, name) == 0) {
			return &list[i];
		}
	}
	return NULL;
}

void
cfg_note_ignored(const ignored_key *ig, const char *key, const char *file, int line)
{
	if (ig->why)
		pg2md_log(ig->level, "\"%s\" in \"%s\" line %d is a dlt setting pg2md does not use: %s", key, file, line,
			  ig->why);
	else
		pg2md_log(ig->level, "\"%s\" in \"%s\" line %d is a dlt setting pg2md does not use", key, file, line);
}

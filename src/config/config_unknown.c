/*
 * config_unknown.c — keys pg2md does not know: a warning with a "did you mean"
 * suggestion, or a note for dlt settings pg2md accepts and does not use.
 */
#include "config/config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/toml_bridge.h"
#include "util/strdist.h"

#define TABLE_KEY_MAX 512

/* [sql_database] tables -> sources.sql_database.tables: the key is the end of a candidate */
static bool
ends_key(const char *candidate, const char *key)
{
	size_t lk = strlen(key), lc = strlen(candidate);
	return lc > lk && candidate[lc - lk - 1] == '.' && strcasecmp(candidate + lc - lk, key) == 0;
}

/* credentials.user -> credentials.username: the same section, one last name starts the other */
static bool
same_section_prefix(const char *candidate, const char *key)
{
	const char *dk = strrchr(key, '.'), *dc = strrchr(candidate, '.');
	return dk && dc && dk - key == dc - candidate && strncasecmp(key, candidate, (size_t)(dk - key)) == 0 &&
	       dk[1] && dc[1] &&
	       (strncasecmp(dk + 1, dc + 1, strlen(dk + 1)) == 0 || strncasecmp(dk + 1, dc + 1, strlen(dc + 1)) == 0);
}

/* Every key pg2md knows, in the order suggestions prefer them; the per-table keys of e's table
 * are written into names (cands points into it). */
static int
known_keys(const tb_entry *e, const char **cands, int max, char (*names)[TABLE_KEY_MAX])
{
	int n = 0;
	for (int i = 0; i < pg2md_n_config_keys && n < max; i++) {
		cands[n++] = pg2md_config_keys[i].name;
		for (int a = 0; a < MAX_ALIASES && pg2md_config_keys[i].aliases[a] && n < max; a++)
			cands[n++] = pg2md_config_keys[i].aliases[a];
	}
	for (size_t i = 0; i < (size_t)pg2md_n_ignored_keys && n < max; i++)
		if (!strstr(pg2md_ignored_keys[i].name, ".*"))
			cands[n++] = pg2md_ignored_keys[i].name;
	if (e && e->n_parts >= 4 && strcmp(e->parts[0], "sources") == 0 && strcmp(e->parts[1], "sql_database") == 0)
		for (int i = 0; i < pg2md_n_table_keys && n < max; i++) {
			snprintf(names[i], sizeof(names[i]), "sources.sql_database.%s.%s", e->parts[2], pg2md_table_keys[i].name);
			cands[n++] = names[i];
		}
	return n;
}

/* The known key closest to an unknown one, or NULL: one that ends in it, else one of the same
 * section that one of them starts, else the closest by strdist's rule.  NULL too when out of
 * memory: the warning goes without its hint. */
static const char *
suggest(const char *key, const tb_entry *e, char *best, size_t size)
{
	int max = pg2md_n_config_keys * (MAX_ALIASES + 1) + pg2md_n_ignored_keys + pg2md_n_table_keys, n, found;
	const char **cands = calloc((size_t)max, sizeof(*cands));
	char (*names)[TABLE_KEY_MAX] = calloc((size_t)pg2md_n_table_keys + 1, sizeof(*names));
	const char *pick = NULL;

	if (cands && names) {
		n = known_keys(e, cands, max, names);
		for (int i = 0; i < n && !pick; i++)
			if (ends_key(cands[i], key))
				pick = cands[i];
		for (int i = 0; i < n && !pick; i++)
			if (same_section_prefix(cands[i], key))
				pick = cands[i];
		if (!pick && strdist_suggest(key, cands, n, true, 1, &found) == 1)
			pick = cands[found];
		if (pick)
			snprintf(best, size, "%s", pick);
	}
	free(cands);
	free(names);
	return pick ? best : NULL;
}

void
cfg_warn_unknown(const tb_entry *e, const char *file)
{
	char buf[512];
	const char *best = suggest(e->key, e, buf, sizeof(buf));
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

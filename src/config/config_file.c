/*
 * config_file.c — the file layers: reads .dlt/config.toml and .dlt/secrets.toml
 * through toml_bridge.h and applies their entries in order (connection strings
 * first, less specific names before more specific ones).
 */
#include "config/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/toml_bridge.h"

/* Find the key and alias a dotted name spells; -1 when none. */
static int
lookup_key(const char *name, int *alias)
{
	for (int i = 0; i < pg2md_n_config_keys; i++) {
		if (strcmp(pg2md_config_keys[i].name, name) == 0) {
			*alias = -1;
			return i;
		}
		for (int a = 0; a < MAX_ALIASES && pg2md_config_keys[i].aliases[a]; a++)
			if (strcmp(pg2md_config_keys[i].aliases[a], name) == 0) {
				*alias = a;
				return i;
			}
	}
	return -1;
}

/*
 * Order within a layer: connection strings first, then the fields they can
 * be refined by; and a less specific name (fewer sections) before a more
 * specific one, which then wins.
 */
int
cfg_assignment_prio(int ki, const char *name)
{
	const config_key *k = &pg2md_config_keys[ki];
	int base = (k->type == KT_PG_URL || k->type == KT_MD_URL) ? 0 : 3;
	int dn = cfg_count_dots(name), dc = cfg_count_dots(k->name);
	return base + (dn < dc ? 0 : dn == dc ? 1 : 2);
}

static int
assignment_cmp(const void *a, const void *b)
{
	const assignment *x = a, *y = b;
	if (x->prio != y->prio)
		return x->prio - y->prio;
	return x->seq - y->seq;
}

static pg2md_code
apply_assignment(loader *L, const assignment *as)
{
	if (as->ki >= 0) {
		struct key_state *st = &L->state[as->ki];
		char *where = cfg_where_of(L, &as->rv);
		/* two names for one key in the same layer: say which one wins */
		if (st->name && st->origin == as->rv.origin && st->prio == as->prio && strcmp(st->name, as->rv.name) != 0 &&
		    (as->rv.origin == PG2MD_ORIGIN_CONFIG || as->rv.origin == PG2MD_ORIGIN_SECRETS ||
		     as->rv.origin == PG2MD_ORIGIN_ENV))
			pg2md_warn("\"%s\" (%s) overrides \"%s\" (%s)", as->rv.name, where ? where : "", st->name,
				   st->where ? st->where : "");
		free(st->name);
		free(st->where);
		st->name = cfg_xstrdup(L, as->rv.name);
		st->where = where;
		st->origin = as->rv.origin;
		st->prio = as->prio;
		return cfg_apply_key(L, as->ki, &as->rv);
	}
	if (as->tk >= 0)
		return cfg_apply_table_key(L, as->table, as->tk, &as->rv);
	if (as->rv.kind == TB_ARRAY || as->rv.kind == TB_TABLE || as->rv.text == NULL)
		return cfg_bad_value(L, as->rv.name, false, &as->rv, "a string");
	char *where = cfg_where_of(L, &as->rv);
	cfg_query_set(L, as->qkey, as->rv.text, as->rv.origin, where ? where : "");
	free(where);
	return PG2MD_OK;
}

pg2md_code
cfg_apply_assignments(loader *L, assignment *as, int n)
{
	if (n > 1)
		qsort(as, (size_t)n, sizeof(*as), assignment_cmp);
	for (int i = 0; i < n; i++)
		if (apply_assignment(L, &as[i]) != PG2MD_OK)
			return L->err->code;
	return L->oom ? pg2md_fail(L->err, PG2MD_ERR_NOMEM, "out of memory") : PG2MD_OK;
}

/* The key path parts[from..] joined with '.' (no quoting: for matching). */
static void
join_parts(const tb_entry *e, int from, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = from; i < e->n_parts; i++) {
		int w = snprintf(out + len, n - len, "%s%s", i > from ? "." : "", e->parts[i]);
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
}

static bool
in_list(const char *const *list, const char *s)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Is name (a part under [sources.sql_database]) a key or known sub-table there? */
bool
cfg_source_known_name(const char *name)
{
	char full[512];
	int alias;
	if (in_list(pg2md_source_sections, name))
		return true;
	snprintf(full, sizeof(full), "sources.sql_database.%s", name);
	return lookup_key(full, &alias) >= 0 ||
	       cfg_find_ignored(pg2md_ignored_keys, (size_t)pg2md_n_ignored_keys, full) != NULL;
}

/* A section nested under a key that takes a plain value: `[sources.sql_database.tables]`. */
static int
leaf_prefix(const tb_entry *e)
{
	char prefix[1024];
	int alias;
	for (int n = e->n_parts - 1; n >= 1; n--) {
		size_t len = 0;
		prefix[0] = '\0';
		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(prefix + len, sizeof(prefix) - len, "%s%s", i ? "." : "", e->parts[i]);
		int ki = lookup_key(prefix, &alias);
		if (ki >= 0) {
			key_type t = pg2md_config_keys[ki].type;
			/* these also have sub-keys: credentials.host, credentials.database */
			if (t == KT_PG_URL || t == KT_MD_URL || t == KT_DUCKDB)
				return -1;
			return ki;
		}
	}
	return -1;
}

/* Is prefix a section of per-table keys ("incremental")? */
static bool
table_key_section(const char *prefix)
{
	size_t len = strlen(prefix);
	for (int i = 0; i < pg2md_n_table_keys; i++)
		if (strncmp(pg2md_table_keys[i].name, prefix, len) == 0 && pg2md_table_keys[i].name[len] == '.')
			return true;
	return false;
}

/* Is name a section that holds known keys ("extract", "destination.motherduck")? */
static bool
known_section(const char *name)
{
	size_t len = strlen(name);
	for (int i = 0; i < pg2md_n_config_keys; i++) {
		const config_key *k = &pg2md_config_keys[i];
		if (strncmp(k->name, name, len) == 0 && k->name[len] == '.')
			return true;
		for (int a = 0; a < MAX_ALIASES && k->aliases[a]; a++)
			if (strncmp(k->aliases[a], name, len) == 0 && k->aliases[a][len] == '.')
				return true;
	}
	for (int i = 0; i < pg2md_n_ignored_keys; i++)
		if (strncmp(pg2md_ignored_keys[i].name, name, len) == 0 && pg2md_ignored_keys[i].name[len] == '.')
			return true;
	return false;
}

/* Classify and queue (or report) each entry of one file. */
static pg2md_code
apply_document(loader *L, const tb_doc *doc, const char *file, pg2md_origin origin)
{
	assignment *as = calloc((size_t)(doc->n ? doc->n : 1), sizeof(*as));
	int n = 0;
	pg2md_code result;

	if (as == NULL)
		return pg2md_fail(L->err, PG2MD_ERR_NOMEM, "out of memory");

	for (int i = 0; i < doc->n; i++) {
		const tb_entry *e = &doc->entries[i];
		char dotted[1024];
		int alias, ki;
		raw_value rv = {
			.kind = e->kind, .text = e->text, .items = e->items, .n_items = e->n_items,
			.nested = e->nested, .origin = origin, .name = e->key, .file = file, .line = e->line,
		};

		join_parts(e, 0, dotted, sizeof(dotted));

		/* an empty section that holds known keys: `[extract]` with all lines commented out */
		if (e->kind == TB_TABLE && known_section(dotted))
			continue;

		/* 1. a known key or alias */
		ki = lookup_key(dotted, &alias);
		if (ki >= 0) {
			if (e->kind == TB_TABLE)
				continue; /* `[destination.duckdb.credentials]` with nothing in it */
			as[n] = (assignment){.prio = cfg_assignment_prio(ki, dotted), .seq = i, .ki = ki, .tk = -1, .rv = rv};
			n++;
			continue;
		}

		/* 2. [sources.sql_database.credentials.query] sslmode = "require" */
		if (e->n_parts >= 4 && strcmp(e->parts[0], "sources") == 0) {
			int q = strcmp(e->parts[1], "sql_database") == 0 ? 2 : 1;
			if (e->n_parts == q + 3 && strcmp(e->parts[q], "credentials") == 0 &&
			    strcmp(e->parts[q + 1], "query") == 0 && (q == 2 || strcmp(e->parts[1], "credentials") == 0)) {
				/* applied after the connection strings of this layer */
				as[n] = (assignment){.prio = 6, .seq = i, .ki = -1, .tk = -1, .qkey = e->parts[q + 2], .rv = rv};
				n++;
				continue;
			}
		}

		/* 3. a table under a key that takes a plain value */
		ki = leaf_prefix(e);
		if (ki >= 0) {
			const config_key *k = &pg2md_config_keys[ki];
			pg2md_fail(L->err, PG2MD_ERR_USAGE, "\"%s\" in \"%s\" line %d is a section, but \"%s\" takes a value",
				   e->key, file, e->line, k->name);
			pg2md_hint(L->err, "write %s = … under [%.*s]", strrchr(k->name, '.') + 1,
				   (int)(strrchr(k->name, '.') - k->name), k->name);
			free(as);
			return PG2MD_ERR_USAGE;
		}

		/* 4. dlt keys pg2md does not use */
		const ignored_key *ig = cfg_find_ignored(pg2md_ignored_keys, (size_t)pg2md_n_ignored_keys, dotted);
		if (ig) {
			cfg_note_ignored(ig, e->key, file, e->line);
			continue;
		}

		/* 5. [sources.sql_database.<table>] sections */
		if (e->n_parts >= 3 && strcmp(e->parts[0], "sources") == 0 && strcmp(e->parts[1], "sql_database") == 0 &&
		    !cfg_source_known_name(e->parts[2]) && (e->n_parts >= 4 || e->kind == TB_TABLE)) {
			char rest[1024];
			if (e->kind == TB_TABLE && e->n_parts == 3) {
				char *where = cfg_where_of(L, &rv);
				cfg_table_section(L, e->parts[2], where ? where : "");
				free(where);
				continue;
			}
			join_parts(e, 3, rest, sizeof(rest));
			/* dlt's column hints: [sources.sql_database.<t>.columns.<c>] hard_delete, dedup_sort, name,
			 * data_type, precision, scale, nullable */
			if (e->n_parts >= 4 && strcmp(e->parts[3], "columns") == 0) {
				if (e->kind == TB_TABLE && e->n_parts <= 5) {
					char *where = cfg_where_of(L, &rv);
					cfg_table_section(L, e->parts[2], where ? where : "");
					free(where);
					continue;
				}
				if (e->n_parts == 6 && e->kind != TB_TABLE && cfg_is_column_hint(e->parts[5])) {
					if (cfg_apply_column_hint(L, e->parts[2], e->parts[4], e->parts[5], &rv) != PG2MD_OK) {
						free(as);
						return L->err->code;
					}
					continue;
				}
			}
			int tk = cfg_table_key_index(rest);
			if (tk >= 0 && e->kind != TB_TABLE) {
				as[n] = (assignment){.prio = 6, .seq = i, .ki = -1, .tk = tk, .table = e->parts[2], .rv = rv};
				n++;
				continue;
			}
			if (e->kind == TB_TABLE && table_key_section(rest)) {
				char *where = cfg_where_of(L, &rv);
				cfg_table_section(L, e->parts[2], where ? where : ""); /* `[sources.sql_database.t.incremental]` */
				free(where);
				continue;
			}
			ig = cfg_find_ignored(pg2md_ignored_table_keys, (size_t)pg2md_n_ignored_table_keys, rest);
			if (ig) {
				cfg_note_ignored(ig, e->key, file, e->line);
				continue;
			}
		}

		/* 6. unknown */
		cfg_warn_unknown(e, file);
	}

	result = cfg_apply_assignments(L, as, n);
	free(as);
	return result;
}

/* Read, check and apply one of the .dlt files; a missing file is fine. */
pg2md_code
cfg_load_file(loader *L, const char *path, pg2md_origin origin)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *text = NULL;
	size_t len = 0, cap;
	char desc[512];
	int line = 0, column = 0;
	tb_doc doc = {0};
	tb_result r;
	pg2md_code result;

	if (fd < 0) {
		if (errno == ENOENT) {
			pg2md_debug("no \"%s\"", path);
			return PG2MD_OK;
		}
		return pg2md_fail(L->err, PG2MD_ERR_USAGE, "could not open \"%s\": %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pg2md_fail(L->err, PG2MD_ERR_USAGE, "\"%s\" is not a file", path);
	}
	if (origin == PG2MD_ORIGIN_SECRETS && (st.st_mode & 077))
		pg2md_warn("\"%s\" is readable by other users\nHINT:  chmod 600 \"%s\"", path, path);

	cap = (size_t)st.st_size + 1;
	text = malloc(cap);
	if (text == NULL) {
		close(fd);
		return pg2md_fail(L->err, PG2MD_ERR_NOMEM, "out of memory");
	}
	for (;;) {
		ssize_t got;
		if (len + 1 >= cap) {
			char *bigger = realloc(text, cap * 2);
			if (bigger == NULL) {
				free(text);
				close(fd);
				return pg2md_fail(L->err, PG2MD_ERR_NOMEM, "out of memory");
			}
			text = bigger;
			cap *= 2;
		}
		got = read(fd, text + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			free(text);
			close(fd);
			return pg2md_fail(L->err, PG2MD_ERR_USAGE, "could not read \"%s\": %s", path, strerror(e));
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	text[len] = '\0';

	r = tb_parse(text, len, path, &doc, desc, sizeof(desc), &line, &column);
	free(text);
	if (r == TB_SYNTAX) {
		char *saw = strstr(desc, ", saw '");
		bool unquoted = strstr(desc, "could not determine value type") != NULL ||
				strstr(desc, "parsing boolean") != NULL;
		/* toml++ quotes a few characters of the value: not from secrets.toml */
		if (saw && origin == PG2MD_ORIGIN_SECRETS)
			*saw = '\0';
		if (desc[0])
			desc[0] = (char)tolower((unsigned char)desc[0]);
		pg2md_fail(L->err, PG2MD_ERR_USAGE, "syntax error in \"%s\" at line %d, column %d: %s", path, line, column,
			   desc);
		if (unquoted)
			pg2md_hint(L->err, "text values are written in double quotes: key = \"value\"");
		return PG2MD_ERR_USAGE;
	}
	if (r != TB_OK)
		return pg2md_fail(L->err, strcmp(desc, "out of memory") == 0 ? PG2MD_ERR_NOMEM : PG2MD_ERR_USAGE,
				  "could not parse \"%s\": %s", path, desc);

	result = apply_document(L, &doc, path, origin);
	tb_doc_release(&doc);
	return result;
}

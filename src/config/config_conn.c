/*
 * config_conn.c — connection strings: a PostgreSQL URL or key/value string fills
 * the source credential fields and query parameters; "md:db?motherduck_token=…"
 * fills MotherDuck's token and database.
 */
#include "config/config_int.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static void
query_clear(loader *L)
{
	pg2md_config *cfg = L->cfg;
	/* forget the provenance of the removed parameters */
	for (int i = 0; i < cfg->pg_query_keys.n; i++) {
		char key[512];
		snprintf(key, sizeof(key), "sources.sql_database.credentials.query.%s", cfg->pg_query_keys.items[i]);
		for (int j = 0; j < cfg->n_prov; j++)
			if (strcmp(cfg->prov[j].key, key) == 0) {
				free(cfg->prov[j].key);
				free(cfg->prov[j].value);
				free(cfg->prov[j].where);
				memmove(&cfg->prov[j], &cfg->prov[j + 1], (size_t)(cfg->n_prov - j - 1) * sizeof(cfg->prov[0]));
				cfg->n_prov--;
				break;
			}
	}
	cfg_strlist_clear(&cfg->pg_query_keys);
	cfg_strlist_clear(&cfg->pg_query_values);
}

static bool
secret_param(const char *key)
{
	return strstr(key, "password") != NULL || strstr(key, "token") != NULL;
}

void
cfg_query_set(loader *L, const char *key, const char *value, pg2md_origin origin, const char *where)
{
	pg2md_config *cfg = L->cfg;
	char pkey[512];
	int i = cfg_strlist_find(&cfg->pg_query_keys, key);

	if (i >= 0) {
		cfg_set_string(L, &cfg->pg_query_values.items[i], value);
	} else if (cfg_strlist_add(L, &cfg->pg_query_keys, key)) {
		if (!cfg_strlist_add(L, &cfg->pg_query_values, value)) {
			free(cfg->pg_query_keys.items[--cfg->pg_query_keys.n]);
			return;
		}
	}
	snprintf(pkey, sizeof(pkey), "sources.sql_database.credentials.query.%s", key);
	cfg_set_prov(L, pkey, value, secret_param(key), origin, where);
}

int
cfg_key_index(const char *name)
{
	for (int i = 0; i < pg2md_n_config_keys; i++)
		if (strcmp(pg2md_config_keys[i].name, name) == 0)
			return i;
	return -1;
}

/* Set a credential field (by canonical key) from a connection string. */
static void
set_cred_field(loader *L, const char *key, const char *value, pg2md_origin origin, const char *where)
{
	int ki = cfg_key_index(key);
	const config_key *k = &pg2md_config_keys[ki];
	void *field = (char *)L->cfg + k->offset;

	if (k->type == KT_PORT) {
		*(int *)field = value ? atoi(value) : 0;
	} else {
		cfg_set_string(L, (char **)field, value && *value ? value : NULL);
		if (k->type == KT_DRIVER && value == NULL)
			cfg_set_string(L, (char **)field, "postgresql");
	}
	cfg_record_key(L, ki, origin, where);
}

/* Does this connection string carry a password (so its parse errors are not shown)? */
static bool
conn_string_has_password(const char *s)
{
	const char *scheme = strstr(s, "://");
	if (scheme == NULL)
		return strstr(s, "password") != NULL;
	const char *auth = scheme + 3;
	size_t len = strcspn(auth, "/?");
	const char *at = memrchr(auth, '@', len);
	return (at && memchr(auth, ':', (size_t)(at - auth)) != NULL) || strstr(s, "password") != NULL;
}

/*
 * credentials = "postgresql://user:pass@host:port/db?sslmode=require" (or
 * libpq's "host=… dbname=…"), parsed by libpq itself so pg2md understands
 * exactly what libpq would.  dlt's "postgresql+psycopg2://" is accepted.
 * Replaces every credential field set by lower layers.
 */
pg2md_code
cfg_apply_pg_url(loader *L, int ki, const raw_value *rv)
{
	const config_key *k = &pg2md_config_keys[ki];
	const char *key = cfg_shown_key(rv, k->name);
	const char *expected = "a connection string such as \"postgresql://user:password@host:5432/database\"";
	const char *text = NULL;
	char *driver = NULL, *conninfo = NULL, *errmsg = NULL;
	char *where;
	PQconninfoOption *opts;

	if (cfg_value_text(L, key, true, rv, expected, &text) != PG2MD_OK)
		return L->err->code;

	const char *sep = strstr(text, "://");
	if (sep != NULL && sep > text && strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-_") ==
					       (size_t)(sep - text)) {
		driver = strndup(text, (size_t)(sep - text));
		if (driver == NULL) {
			L->oom = true;
			return PG2MD_ERR_USAGE;
		}
		if (strcmp(driver, "postgresql") != 0 && strcmp(driver, "postgres") != 0 &&
		    !cfg_starts_with(driver, "postgresql+") && !cfg_starts_with(driver, "postgres+")) {
			char loc[PATH_MAX + 64];
			cfg_loc_phrase(rv, loc, sizeof(loc));
			pg2md_fail(L->err, PG2MD_ERR_USAGE, "connection string for \"%s\" %s is not for PostgreSQL", key, loc);
			pg2md_detail(L->err, "it starts with \"%.40s://\"; pg2md reads from PostgreSQL only", driver);
			free(driver);
			return PG2MD_ERR_USAGE;
		}
		conninfo = cfg_xprintf(L, "postgresql%s", sep);
	} else {
		conninfo = cfg_xstrdup(L, text);
	}
	if (conninfo == NULL) {
		free(driver);
		return PG2MD_ERR_USAGE;
	}

	opts = PQconninfoParse(conninfo, &errmsg);
	free(conninfo);
	if (opts == NULL) {
		char loc[PATH_MAX + 64];
		cfg_loc_phrase(rv, loc, sizeof(loc));
		pg2md_fail(L->err, PG2MD_ERR_USAGE, "invalid connection string for \"%s\" %s", key, loc);
		if (errmsg == NULL)
			L->oom = true;
		else if (!conn_string_has_password(text)) {
			pg2md_chomp(errmsg);
			pg2md_detail(L->err, "%s", errmsg);
		}
		pg2md_hint(L->err, "the form is \"postgresql://user:password@host:5432/database?sslmode=require\", with "
			   "special characters percent-encoded");
		PQfreemem(errmsg);
		free(driver);
		return PG2MD_ERR_USAGE;
	}

	where = cfg_where_of(L, rv);
	/* kept in a form libpq itself accepts: "postgresql+psycopg2://" -> "postgresql://" */
	if (driver) {
		free(L->cfg->pg_conn_string);
		L->cfg->pg_conn_string = cfg_xprintf(L, "postgresql%s", sep);
	} else {
		cfg_set_string(L, &L->cfg->pg_conn_string, text);
	}
	cfg_record_key(L, ki, rv->origin, where);

	/* a connection string replaces what lower layers said about the source */
	set_cred_field(L, "sources.sql_database.credentials.drivername", driver, rv->origin, where);
	set_cred_field(L, "sources.sql_database.credentials.host", NULL, rv->origin, where);
	set_cred_field(L, "sources.sql_database.credentials.port", NULL, rv->origin, where);
	set_cred_field(L, "sources.sql_database.credentials.database", NULL, rv->origin, where);
	set_cred_field(L, "sources.sql_database.credentials.username", NULL, rv->origin, where);
	set_cred_field(L, "sources.sql_database.credentials.password", NULL, rv->origin, where);
	query_clear(L);

	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			set_cred_field(L, "sources.sql_database.credentials.host", o->val, rv->origin, where);
		else if (strcmp(o->keyword, "dbname") == 0)
			set_cred_field(L, "sources.sql_database.credentials.database", o->val, rv->origin, where);
		else if (strcmp(o->keyword, "user") == 0)
			set_cred_field(L, "sources.sql_database.credentials.username", o->val, rv->origin, where);
		else if (strcmp(o->keyword, "password") == 0)
			set_cred_field(L, "sources.sql_database.credentials.password", o->val, rv->origin, where);
		else if (strcmp(o->keyword, "port") == 0 && o->val[0] && strspn(o->val, "0123456789") == strlen(o->val) &&
			 atoi(o->val) > 0 && atoi(o->val) <= 65535)
			set_cred_field(L, "sources.sql_database.credentials.port", o->val, rv->origin, where);
		else if (o->val[0])
			cfg_query_set(L, o->keyword, o->val, rv->origin, where); /* port lists of several hosts too */
	}
	PQconninfoFree(opts);
	free(driver);
	free(where);
	return PG2MD_OK;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode %XX in place; false on a bad sequence. */
static bool
percent_decode(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '%') {
			int hi = hexval((unsigned char)r[1]), lo = hi < 0 ? -1 : hexval((unsigned char)r[2]);
			if (hi < 0 || lo < 0)
				return false;
			*w++ = (char)(hi * 16 + lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return true;
}

/*
 * [destination.motherduck] credentials = "md:my_db?motherduck_token=…" (also
 * "md:", "md:///my_db", "motherduck:my_db", token= instead of
 * motherduck_token=).  Sets the database, and the token when one is given.
 */
pg2md_code
cfg_apply_md_url(loader *L, int ki, const raw_value *rv)
{
	const config_key *k = &pg2md_config_keys[ki];
	const char *key = cfg_shown_key(rv, k->name);
	const char *expected = "\"md:DATABASE\" or \"md:DATABASE?motherduck_token=TOKEN\"";
	const char *text = NULL, *rest;
	char *copy, *query, *where;
	bool bad = false;

	if (cfg_value_text(L, key, true, rv, expected, &text) != PG2MD_OK)
		return L->err->code;
	if (cfg_starts_with(text, "md:"))
		rest = text + 3;
	else if (cfg_starts_with(text, "motherduck:"))
		rest = text + 11;
	else
		return cfg_bad_value(L, key, true, rv, expected);
	while (*rest == '/')
		rest++;
	copy = cfg_xstrdup(L, rest);
	if (copy == NULL)
		return PG2MD_ERR_USAGE;
	query = strchr(copy, '?');
	if (query)
		*query++ = '\0';
	if (!percent_decode(copy))
		bad = true;

	where = cfg_where_of(L, rv);
	if (!bad && query) {
		char *save = NULL;
		for (char *kv = strtok_r(query, "&", &save); kv && !bad; kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');
			char *val = kv + strlen(kv);	/* no '=': an empty value, in the copy */
			if (eq) {
				*eq = '\0';
				val = eq + 1;
			}
			if (!percent_decode(kv) || !percent_decode(val)) {
				bad = true;
				break;
			}
			if (strcmp(kv, "motherduck_token") == 0 || strcmp(kv, "token") == 0) {
				int ti = cfg_key_index("destination.motherduck.credentials.token");
				cfg_set_string(L, &L->cfg->md_token, *val ? val : NULL);
				cfg_record_key(L, ti, rv->origin, where);
			} else if (*kv) {
				pg2md_debug("ignoring parameter \"%s\" of the MotherDuck connection string", kv);
			}
		}
	}
	if (bad) {
		free(copy);
		free(where);
		return cfg_bad_value(L, key, true, rv, "a connection string with valid percent-encoding");
	}
	if (copy[0]) {
		int di = cfg_key_index("destination.motherduck.credentials.database");
		cfg_set_string(L, &L->cfg->md_database, copy);
		cfg_record_key(L, di, rv->origin, where);
	}
	cfg_set_string(L, &L->cfg->md_conn_string, text);
	cfg_record_key(L, ki, rv->origin, where);
	free(copy);
	free(where);
	return PG2MD_OK;
}

/*
 * config_value.c — value conversion: a raw value (TOML entry, environment
 * variable or flag) checked and turned into text, a number, a boolean or a list.
 */
#include "config/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/toml_bridge.h"

/* A scalar as text; arrays and tables are an error. */
pg2md_code
cfg_value_text(loader *L, const char *key, bool secret, const raw_value *rv, const char *expected, const char **out)
{
	if (rv->kind == TB_ARRAY || rv->kind == TB_TABLE || rv->text == NULL)
		return cfg_bad_value(L, key, secret, rv, expected);
	*out = rv->text;
	return PG2MD_OK;
}

pg2md_code
cfg_value_int(loader *L, const char *key, bool secret, const raw_value *rv, int64_t min, int64_t max, int64_t *out)
{
	char expected[96];
	const char *text = NULL;
	char *end;
	long long v;

	if (min == 1)
		snprintf(expected, sizeof(expected), "a positive integer");
	else if (min == 0)
		snprintf(expected, sizeof(expected), "an integer of 0 or more");
	else
		snprintf(expected, sizeof(expected), "an integer");
	if (max < INT64_MAX)
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected), " up to %lld", (long long)max);

	if (rv->kind != TB_INTEGER && rv->kind != TB_STRING)
		return cfg_bad_value(L, key, secret, rv, expected);
	if (cfg_value_text(L, key, secret, rv, expected, &text) != PG2MD_OK)
		return L->err->code;
	while (isspace((unsigned char)*text))
		text++;
	errno = 0;
	v = strtoll(text, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (end == text || *end != '\0' || errno == ERANGE || v < min || v > max)
		return cfg_bad_value(L, key, secret, rv, expected);
	*out = v;
	return PG2MD_OK;
}

static int
parse_bool(const char *s)
{
	static const char *const yes[] = {"true", "yes", "on", "1", "y", "t", NULL};
	static const char *const no[] = {"false", "no", "off", "0", "n", "f", NULL};
	for (int i = 0; yes[i]; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (int i = 0; no[i]; i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -1;
}

pg2md_code
cfg_value_bool(loader *L, const char *key, const raw_value *rv, bool *out)
{
	const char *text = NULL;
	char buf[32];
	int b;

	if (rv->kind != TB_BOOLEAN && rv->kind != TB_STRING)
		return cfg_bad_value(L, key, false, rv, "true or false");
	if (cfg_value_text(L, key, false, rv, "true or false", &text) != PG2MD_OK)
		return L->err->code;
	snprintf(buf, sizeof(buf), "%s", text);
	cfg_trim(buf);
	b = parse_bool(buf);
	if (b < 0)
		return cfg_bad_value(L, key, false, rv, "true or false");
	*out = b == 1;
	return PG2MD_OK;
}

/*
 * A list from an array, or from text: '["a", "b"]' (TOML or JSON) or
 * "a, b".  Elements of any scalar type become text; empty elements are an
 * error in an array and skipped in comma-separated text.
 */
pg2md_code
cfg_value_list(loader *L, const char *key, const raw_value *rv, pg2md_strlist *out)
{
	const char *expected = "a string or an array of strings";

	memset(out, 0, sizeof(*out));
	if (rv->kind == TB_ARRAY) {
		if (rv->nested)
			return cfg_bad_value(L, key, false, rv, expected);
		for (int i = 0; i < rv->n_items; i++)
			if (!cfg_strlist_add(L, out, rv->items[i]))
				break;
		return PG2MD_OK;
	}
	if (rv->kind != TB_STRING || rv->text == NULL)
		return cfg_bad_value(L, key, false, rv, expected);

	const char *p = rv->text;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '[') {
		/* parse it as the value of a TOML key: JSON string arrays are TOML too */
		char *doc_text = cfg_xprintf(L, "v = %s\n", p);
		char desc[256];
		int line = 0, column = 0;
		tb_doc doc = {0};
		tb_result r;

		if (doc_text == NULL)
			return PG2MD_ERR_USAGE;
		r = tb_parse(doc_text, strlen(doc_text), rv->name, &doc, desc, sizeof(desc), &line, &column);
		free(doc_text);
		if (r == TB_NOMEM) {
			L->oom = true;
			return PG2MD_ERR_USAGE;
		}
		if (r != TB_OK || doc.n != 1 || doc.entries[0].kind != TB_ARRAY || doc.entries[0].nested) {
			tb_doc_release(&doc);
			return cfg_bad_value(L, key, false, rv, "an array of strings such as [\"a\", \"b\"], or \"a, b\"");
		}
		for (int i = 0; i < doc.entries[0].n_items; i++)
			if (!cfg_strlist_add(L, out, doc.entries[0].items[i]))
				break;
		tb_doc_release(&doc);
		return PG2MD_OK;
	}

	char *copy = cfg_xstrdup(L, p);
	char *save = NULL;
	if (copy == NULL)
		return PG2MD_ERR_USAGE;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		cfg_trim(tok);
		/* tolerate quotes around items: "a", "b" */
		size_t n = strlen(tok);
		if (n >= 2 && (tok[0] == '"' || tok[0] == '\'') && tok[n - 1] == tok[0]) {
			tok[n - 1] = '\0';
			tok++;
		}
		if (*tok && !cfg_strlist_add(L, out, tok))
			break;
	}
	free(copy);
	return PG2MD_OK;
}

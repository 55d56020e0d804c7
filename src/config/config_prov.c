/*
 * config_prov.c — provenance: records where each resolved key came from, and
 * renders its value for `pg2md info` (secrets as "********").
 */
#include "config/config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MASK "********"

void
cfg_set_prov(loader *L, const char *key, const char *value, bool secret, pg2md_origin origin, const char *where)
{
	pg2md_config *cfg = L->cfg;
	pg2md_provenance *p = NULL;
	const char *shown = value ? value : "";

	for (int i = 0; i < cfg->n_prov; i++)
		if (strcmp(cfg->prov[i].key, key) == 0) {
			p = &cfg->prov[i];
			break;
		}
	if (p == NULL) {
		pg2md_provenance *np = realloc(cfg->prov, (size_t)(cfg->n_prov + 1) * sizeof(*np));
		if (np == NULL) {
			L->oom = true;
			return;
		}
		cfg->prov = np;
		p = &cfg->prov[cfg->n_prov];
		memset(p, 0, sizeof(*p));
		p->key = cfg_xstrdup(L, key);
		if (p->key == NULL)
			return; /* L->oom; no entry without a key (the next lookup compares keys) */
		cfg->n_prov++;
	}
	if (secret && shown[0])
		shown = SECRET_MASK;
	cfg_set_string(L, &p->value, shown);
	cfg_set_string(L, &p->where, where);
	p->origin = origin;
	p->secret = secret;
}

void
cfg_render_list(const pg2md_strlist *l, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < l->n; i++) {
		int w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", l->items[i]);
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
}

/* Render the current value of key k into out (secrets are masked by set_prov). */
static void
render_key(const pg2md_config *cfg, const config_key *k, char *out, size_t n)
{
	const char *base = (const char *)cfg + k->offset;
	out[0] = '\0';
	switch (k->type) {
	case KT_INT:
	case KT_PORT:
		if (k->type == KT_PORT && *(const int *)base == 0)
			break;
		snprintf(out, n, "%d", *(const int *)base);
		break;
	case KT_INT64:
		snprintf(out, n, "%lld", (long long)*(const int64_t *)base);
		break;
	case KT_BOOL:
		snprintf(out, n, "%s", *(const bool *)base ? "true" : "false");
		break;
	case KT_LIST:
		cfg_render_list((const pg2md_strlist *)base, out, n);
		break;
	case KT_DISP:
		snprintf(out, n, "%s", pg2md_disposition_name(*(const pg2md_disposition *)base));
		break;
	default: {
		const char *s = *(char *const *)base;
		snprintf(out, n, "%s", s ? s : "");
		break;
	}
	}
}

void
cfg_record_key(loader *L, int ki, pg2md_origin origin, const char *where)
{
	char buf[4096];
	const config_key *k = &pg2md_config_keys[ki];
	render_key(L->cfg, k, buf, sizeof(buf));
	cfg_set_prov(L, k->name, buf, (k->flags & KEY_SECRET) != 0, origin, where);
}

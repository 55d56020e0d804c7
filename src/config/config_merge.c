/*
 * config_merge.c — a table's merge options checked across keys, before anything connects:
 * the strategy's own options (dlt's write_disposition table), their values, and which strategy
 * each applies to.  `pg2md check` and `pg2md run` stop on the same messages.
 */
#include "config/config_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The provenance ("file:line") of a per-table key, or "". */
static const char *
table_where(const pg2md_config *cfg, const char *table, const char *key)
{
	char full[1024];
	const pg2md_provenance *p;
	snprintf(full, sizeof(full), "sources.sql_database.%s.%s", table, key);
	p = pg2md_config_provenance(cfg, full);
	return p && p->where ? p->where : "";
}

static bool
digits(const char **s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return true;
}

/*
 * An ISO 8601 date or timestamp, as dlt's scd2 timestamps take them ("2024-04-01",
 * "2024-04-01T12:00:00", "2024-04-01 12:00:00.25+02:00", "…Z"), written to out as a
 * TIMESTAMPTZ literal's text: "YYYY-MM-DD HH:MM:SS.ffffff+HH:MM".  A timestamp without an offset
 * is UTC, as dlt reads it.  false when in is not one.
 */
bool
cfg_parse_timestamp(const char *in, char *out, size_t outsz)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *s = in;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 1;
	long frac = 0;

	if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' || !digits(&s, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))))
		return false;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
			return false;
		if (*s == ':') {
			s++;
			if (!digits(&s, 2, &sec))
				return false;
			if (*s == '.') {
				int n = 0;
				s++;
				if (!isdigit((unsigned char)*s))
					return false;
				for (; isdigit((unsigned char)*s); s++, n++)
					if (n < 6)
						frac = frac * 10 + (*s - '0');
				for (; n < 6; n++)
					frac *= 10;
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return false;
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			sign = *s++ == '-' ? -1 : 1;
			if (!digits(&s, 2, &oh))
				return false;
			if (*s == ':')
				s++;
			if (isdigit((unsigned char)*s) && !digits(&s, 2, &om))
				return false;
			if (oh > 15 || om > 59)
				return false;
		}
	}
	if (*s != '\0')
		return false;
	snprintf(out, outsz, "%04d-%02d-%02d %02d:%02d:%02d.%06ld%c%02d:%02d", y, mo, d, h, mi, sec, frac,
		 sign < 0 ? '-' : '+', oh, om);
	return true;
}

/* A timestamp option of table t: parsed and stored normalized, or a usage error. */
static pg2md_code
check_timestamp(loader *L, pg2md_table_config *t, const char *key, char **value)
{
	char norm[64];
	if (*value == NULL)
		return PG2MD_OK;
	if (!cfg_parse_timestamp(*value, norm, sizeof(norm))) {
		pg2md_fail(L->err, PG2MD_ERR_USAGE, "table \"%s\": %s = \"%s\" (%s) is not a date or timestamp", t->name,
			   key, *value, table_where(L->cfg, t->name, key));
		pg2md_hint(L->err, "write an ISO 8601 date or timestamp, as \"2024-04-01\" or "
				   "\"2024-04-01T12:00:00+00:00\" (no offset: UTC)");
		return PG2MD_ERR_USAGE;
	}
	cfg_set_string(L, value, norm);
	return PG2MD_OK;
}

static pg2md_code
check_table(loader *L, pg2md_table_config *t)
{
	const char *strategy = t->merge_strategy ? t->merge_strategy : "delete-insert";
	bool scd2 = strcmp(strategy, "scd2") == 0;
	const char *scd2_only[] = {"write_disposition.validity_column_names", "write_disposition.active_record_timestamp",
				   "write_disposition.boundary_timestamp"};
	bool set[] = {t->validity_column_names.n > 0, t->active_record_timestamp != NULL, t->boundary_timestamp != NULL};

	for (int i = 0; i < 3 && !scd2; i++) {
		if (!set[i])
			continue;
		pg2md_fail(L->err, PG2MD_ERR_USAGE, "table \"%s\": %s (%s) applies to the \"scd2\" merge strategy only",
			   t->name, scd2_only[i], table_where(L->cfg, t->name, scd2_only[i]));
		pg2md_hint(L->err, "set write_disposition = { disposition = \"merge\", strategy = \"scd2\", … } for "
				   "the table, or remove %s",
			   scd2_only[i] + strlen("write_disposition."));
		return PG2MD_ERR_USAGE;
	}
	if (t->row_version_column_name && !scd2) {
		/* dlt compares it only with skip_unchanged_rows, which pg2md does not have */
		pg2md_warn("table \"%s\": write_disposition.row_version_column_name (%s) is used by the \"scd2\" "
			   "strategy only; ignored",
			   t->name, table_where(L->cfg, t->name, "write_disposition.row_version_column_name"));
		free(t->row_version_column_name);
		t->row_version_column_name = NULL;
	}
	if (t->merge_key.n > 0 && (strcmp(strategy, "upsert") == 0 || strcmp(strategy, "insert-only") == 0)) {
		pg2md_fail(L->err, PG2MD_ERR_USAGE, "table \"%s\": merge_key (%s) does not apply to the \"%s\" strategy",
			   t->name, table_where(L->cfg, t->name, "merge_key"), strategy);
		pg2md_hint(L->err, "%s matches rows on primary_key alone; remove merge_key, or use the delete-insert "
				   "strategy (the default) or scd2",
			   strategy);
		return PG2MD_ERR_USAGE;
	}
	if (t->validity_column_names.n > 0) {
		const pg2md_strlist *v = &t->validity_column_names;
		if (v->n != 2 || v->items[0][0] == '\0' || v->items[1][0] == '\0' || strcmp(v->items[0], v->items[1]) == 0) {
			pg2md_fail(L->err, PG2MD_ERR_USAGE,
				   "table \"%s\": write_disposition.validity_column_names (%s) must name two different "
				   "columns",
				   t->name, table_where(L->cfg, t->name, "write_disposition.validity_column_names"));
			pg2md_hint(L->err, "write validity_column_names = [\"valid_from\", \"valid_to\"]: the column where "
					   "a version starts, then the one where it ends");
			return PG2MD_ERR_USAGE;
		}
	}
	if (t->row_version_column_name && t->row_version_column_name[0] == '\0') {
		pg2md_fail(L->err, PG2MD_ERR_USAGE, "table \"%s\": write_disposition.row_version_column_name (%s) is empty",
			   t->name, table_where(L->cfg, t->name, "write_disposition.row_version_column_name"));
		pg2md_hint(L->err, "name the column that changes whenever a row changes, or remove the key (pg2md "
				   "then hashes each row into _dlt_id)");
		return PG2MD_ERR_USAGE;
	}
	if (scd2 && t->cursor_path && t->merge_key.n == 0)
		pg2md_warn("table \"%s\": scd2 with an incremental cursor but no merge_key: each load retires every "
			   "current row it did not read\nHINT:  set merge_key = \"<key column>\" so that only the rows read "
			   "can be retired (incremental scd2)", t->name);
	if (check_timestamp(L, t, "write_disposition.active_record_timestamp", &t->active_record_timestamp) ||
	    check_timestamp(L, t, "write_disposition.boundary_timestamp", &t->boundary_timestamp))
		return PG2MD_ERR_USAGE;
	return PG2MD_OK;
}

pg2md_code
cfg_check_merge_options(loader *L)
{
	for (int i = 0; i < L->cfg->n_table_cfg; i++)
		if (check_table(L, &L->cfg->table_cfg[i]) != PG2MD_OK)
			return L->err->code ? L->err->code : PG2MD_ERR_USAGE;
	return PG2MD_OK;
}

/*
 * table.c — the table model's own functions (see table.h): freeing it, looking into it, and
 * dlt's columns that no source has.
 */
#include "schema/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/types.h"
#include "util/buf.h"

void
schema_type_free(pg2md_type *t)
{
	if (!t)
		return;
	if (t->elem) {
		schema_type_free(t->elem);
		free(t->elem);
	}
	for (int i = 0; i < t->nfields; i++) {
		schema_type_free(&t->fields[i]);
		free(t->field_names[i]);
	}
	free(t->fields);
	free(t->field_names);
	for (int i = 0; i < t->nlabels; i++)
		free(t->labels[i]);
	free(t->labels);
	memset(t, 0, sizeof(*t));
}

bool
schema_type_has(const pg2md_type *t, pg2md_dec dec)
{
	if (!t)
		return false;
	if (t->dec == dec || (t->elem && schema_type_has(t->elem, dec)))
		return true;
	for (int i = 0; i < t->nfields; i++)
		if (schema_type_has(&t->fields[i], dec))
			return true;
	return false;
}

pg2md_dec
schema_effective_dec(pg2md_dec dec, bool staged, bool nested)
{
	if (staged && nested && dec == DEC_INTERVAL)
		return DEC_INTERVAL_TEXT;
	if (staged && nested && dec == DEC_TIMETZ)
		return DEC_TIMETZ_TEXT;
	if (staged && !nested && dec == DEC_INTERVAL)
		return DEC_INTERVAL_STRUCT;
	return dec;
}

const char *
schema_scan_type(const pg2md_column *col, char *out, size_t n)
{
	switch (col->dec) {
	case DEC_NUMERIC_DECIMAL:
		snprintf(out, n, "DECIMAL(%d,%d)", col->precision, col->scale);
		return out;
	case DEC_NUMERIC_DOUBLE:
		return "DOUBLE";
	case DEC_TEXT: case DEC_BPCHAR: case DEC_JSONB: case DEC_CHAR: case DEC_NUMERIC_TEXT:
		return "VARCHAR";
	default:
		return col->duck_type;
	}
}

bool
schema_column_kept(const pg2md_table_config *tc, const char *name)
{
	bool keep = true;
	if (tc && tc->included_columns.n > 0) {
		keep = false;
		for (int k = 0; k < tc->included_columns.n; k++)
			if (strcmp(tc->included_columns.items[k], name) == 0)
				keep = true;
	}
	for (int k = 0; tc && k < tc->excluded_columns.n; k++)
		if (strcmp(tc->excluded_columns.items[k], name) == 0)
			keep = false;
	return keep;
}

int
schema_find_column(const pg2md_table *t, const char *name)
{
	int found = -1, n = 0;
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return i;
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].dest_name, name) == 0) {
			found = i;
			n++;
		}
	return n == 1 ? found : -1;
}

bool
schema_add_dlt_column(pg2md_table *t, schema_dlt_column which, bool lineage)
{
	static const char *const names[2] = {"_dlt_load_id", "_dlt_id"};
	pg2md_column *cols = xrealloc(t->cols, sizeof(pg2md_column) * (size_t)(t->ncols + 1));
	if (!cols)
		return false;
	t->cols = cols;
	pg2md_column *c = &t->cols[t->ncols++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(names[which]);
	c->dest_name = xstrdup(names[which]);
	c->pg_type = xstrdup(which == SCHEMA_DLT_LOAD_ID ? "(load id)" : "(row id)");
	c->text_out = xstrdup("textout");
	c->type_oid = c->src_oid = TEXTOID;
	c->typmod = -1;
	c->dec = DEC_TEXT;
	c->duck_type = xstrdup("VARCHAR");
	c->load_id = which == SCHEMA_DLT_LOAD_ID;
	c->dlt_id = which == SCHEMA_DLT_ID;
	c->lineage = lineage;
	/* a column half made is freed with the table */
	return c->name && c->dest_name && c->pg_type && c->text_out && c->duck_type;
}

pg2md_code
schema_add_lineage(pg2md_table *t, bool load_id, bool dlt_id, pg2md_error *err)
{
	static const char *const names[2] = {"_dlt_load_id", "_dlt_id"};
	static const char *const keys[2] = {"add_dlt_load_id", "add_dlt_id"};
	bool on[2] = {load_id, dlt_id};

	for (int k = 0; k < 2; k++) {
		bool have = false;
		if (!on[k])
			continue;
		for (int i = 0; i < t->ncols; i++) {
			if (strcmp(t->cols[i].dest_name, names[k]) != 0)
				continue;
			if (k == 0 && t->cols[i].load_id) {
				have = true; /* a table without columns */
				continue;
			}
			pg2md_fail(err, PG2MD_ERR_USAGE, "column \"%s\" of table \"%s\" is named \"%s\", which %s adds",
				   t->cols[i].name, t->name, names[k], keys[k]);
			pg2md_hint(err, "rename it with [sources.sql_database.%s.columns.%s] name = \"...\", leave it out "
					"with excluded_columns, or set [normalize.parquet_normalizer] %s = false",
				   t->name, t->cols[i].name, keys[k]);
			return err->code;
		}
		if (!have && !schema_add_dlt_column(t, k == 0 ? SCHEMA_DLT_LOAD_ID : SCHEMA_DLT_ID, true))
			return pg2md_nomem(err);
	}
	return PG2MD_OK;
}

void
schema_tables_free(pg2md_table *tables, int ntables)
{
	if (!tables)
		return;
	for (int i = 0; i < ntables; i++) {
		pg2md_table *t = &tables[i];
		for (int j = 0; j < t->ncols; j++) {
			free(t->cols[j].name);
			free(t->cols[j].dest_name);
			free(t->cols[j].pg_type);
			free(t->cols[j].duck_type);
			free(t->cols[j].text_out);
			free(t->cols[j].src_expr);
			schema_type_free(t->cols[j].type);
			free(t->cols[j].type);
		}
		free(t->cols);
		free(t->pk);
		for (int j = 0; j < t->nleaves; j++)
			free(t->leaf_names[j]);
		free(t->leaf_names);
		free(t->leaf_oids);
		free(t->leaf_pages);
		free(t->name);
		free(t->dest_name);
		free(t->query);
		free(t->order_by);
	}
	free(tables);
}

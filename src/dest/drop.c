/*
 * drop.c — dropping from the destination (see drop.h): tables with their stored schema and
 * state, whole datasets.  Every change is one DuckDB transaction: all of it or nothing.
 */
#include "dest/drop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dest/load.h"
#include "util/buf.h"
#include "util/hash.h"

/* Does the count(*) query sql find anything? (sql is consumed) */
static bool
duck_any(pg2md_dest *d, pg2md_buf *sql)
{
	pg2md_error err;
	char *n = NULL;
	bool found;

	pg2md_error_init(&err);
	found = duck_scalar(d->con, sql->data, &n, &err) == PG2MD_OK && n && strcmp(n, "0") != 0;
	free(n);
	buf_release(sql);
	return found;
}

bool
dest_has_table(pg2md_dest *d, const char *schema, const char *name)
{
	return duck_has_table(d->con, schema, name);
}

bool
dest_has_schema(pg2md_dest *d, const char *schema)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	buf_puts(&sql, "SELECT count(*) FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&sql, schema);
	return duck_any(d, &sql);
}

char *
dest_data_tables(pg2md_dest *d, const char *dataset)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_error err;
	char *list = NULL;

	pg2md_error_init(&err);
	buf_puts(&sql, "SELECT string_agg('\"' || table_name || '\"', ', ' ORDER BY table_name) FROM duckdb_tables() "
		       "WHERE database_name = current_database() AND table_name NOT LIKE '\\_dlt\\_%' ESCAPE '\\' "
		       "AND schema_name = ");
	buf_literal(&sql, dataset);
	duck_scalar(d->con, sql.data, &list, &err);
	buf_release(&sql);
	return list;
}

/* The newest row's column of a dlt table as JSON (NULL: no table, no row, or not JSON). */
static pg2md_code
newest_json(pg2md_dest *d, const char *dataset, const char *table, const char *column, const char *pipeline_name,
	    json_t **out, pg2md_error *err)
{
	*out = NULL;
	if (!dest_has_table(d, dataset, table))
		return PG2MD_OK;
	return dlt_newest_json(d->con, dataset, table, column, pipeline_name, out, err);
}

/*
 * Remove the dropped tables from the newest stored schema: a new _dlt_version row when
 * anything changed.  Appends SQL to sql; *removed (OUT) counts.
 */
static pg2md_code
forget_in_schema(pg2md_dest *d, const char *dataset, char **names, int n, pg2md_buf *sql, int *removed,
		 pg2md_error *err)
{
	json_t *schema, *tables, *jt;
	size_t i;

	*removed = 0;
	if (newest_json(d, dataset, "_dlt_version", "schema", NULL, &schema, err))
		return err->code;
	if (!schema)
		return PG2MD_OK; /* none, or not ours to rewrite */
	tables = json_object_get(schema, "tables");
	for (i = 0; json_is_array(tables) && i < json_array_size(tables);) {
		jt = json_array_get(tables, i);
		const char *dn = json_string_value(json_object_get(jt, "dest_name"));
		int hit = 0;
		for (int k = 0; k < n && dn; k++)
			if (strcmp(dn, names[k]) == 0)
				hit = 1;
		if (hit) {
			json_array_remove(tables, i);
			(*removed)++;
		} else {
			i++;
		}
	}
	if (*removed) {
		char *s = json_dumps(schema, JSON_SORT_KEYS | JSON_COMPACT);
		char hash[32];
		snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)hash_fnv1a(s));
		dlt_version_insert(sql, dataset, hash, s, d->md_rules);
		buf_puts(sql, ";\n");
		free(s);
	}
	json_decref(schema);
	return PG2MD_OK;
}

/*
 * Remove sources.sql_database.resources.<table> from the newest pipeline state: a new
 * _dlt_pipeline_state row when anything changed.
 */
static pg2md_code
forget_in_state(pg2md_dest *d, const char *dataset, const char *pipeline_name, char **src_names, char **names,
		int n, const char *load_id, pg2md_buf *sql, int *removed, pg2md_error *err)
{
	json_t *state, *resources;

	*removed = 0;
	if (newest_json(d, dataset, "_dlt_pipeline_state", "state", pipeline_name, &state, err))
		return err->code;
	if (!state)
		return PG2MD_OK;
	resources = json_object_get(json_object_get(json_object_get(state, "sources"), "sql_database"), "resources");
	for (int k = 0; k < n && json_is_object(resources); k++) {
		if (json_object_del(resources, src_names[k]) == 0)
			(*removed)++;
		else if (json_object_del(resources, names[k]) == 0)
			(*removed)++;
	}
	if (*removed) {
		json_t *sv = json_object_get(state, "_state_version");
		if (json_is_integer(sv))
			json_integer_set(sv, json_integer_value(sv) + 1);
		char *s = json_dumps(state, JSON_SORT_KEYS | JSON_COMPACT);
		char hash[32];
		snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)hash_fnv1a(s));
		dlt_state_insert(sql, dataset, -1, pipeline_name, s, hash, load_id, d->md_rules);
		buf_puts(sql, ";\n");
		free(s);
	}
	json_decref(state);
	return PG2MD_OK;
}

/* Run a transaction's SQL (each statement checked under MotherDuck's rules); on failure roll
 * back and say nothing was dropped. */
static pg2md_code
exec_all_or_nothing(pg2md_dest *d, const char *sql, const char *what, pg2md_error *err)
{
	if (d->md_rules && md_statements_check(sql, what, err))
		return err->code; /* nothing was sent */
	if (duck_exec(d->con, sql, what, err)) {
		pg2md_error ignore;
		pg2md_error_init(&ignore);
		duck_exec(d->con, "ROLLBACK", "rolling back", &ignore);
		pg2md_detail(err, "nothing was dropped");
	}
	return err->code;
}

pg2md_code
dest_drop_tables(pg2md_dest *d, const char *dataset, const char *staging, const char *pipeline_name,
		 char **src_names, char **names, int n, const char *load_id, dest_drop_counts *out, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;

	memset(out, 0, sizeof(*out));
	buf_puts(&sql, "BEGIN;\n");
	for (int k = 0; k < n; k++) {
		buf_puts(&sql, "DROP TABLE ");
		duck_qualified(&sql, dataset, names[k]);
		buf_puts(&sql, ";\n");
		if (dest_has_table(d, staging, names[k])) {
			buf_puts(&sql, "DROP TABLE ");
			duck_qualified(&sql, staging, names[k]);
			buf_puts(&sql, ";\n");
			out->staging++;
		}
	}
	if (forget_in_schema(d, dataset, names, n, &sql, &out->schema, err) == PG2MD_OK &&
	    forget_in_state(d, dataset, pipeline_name, src_names, names, n, load_id, &sql, &out->state, err) ==
		    PG2MD_OK) {
		buf_puts(&sql, "COMMIT");
		exec_all_or_nothing(d, sql.data, "dropping the tables", err);
	}
	buf_release(&sql);
	return err->code;
}

pg2md_code
dest_drop_datasets(pg2md_dest *d, const char *dataset, const char *staging, bool drop_dataset, bool drop_staging,
		   pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;

	buf_puts(&sql, "BEGIN;\n");
	if (drop_dataset) {
		buf_puts(&sql, "DROP SCHEMA ");
		buf_ident(&sql, dataset);
		buf_puts(&sql, " CASCADE;\n");
	}
	if (drop_staging) {
		buf_puts(&sql, "DROP SCHEMA ");
		buf_ident(&sql, staging);
		buf_puts(&sql, " CASCADE;\n");
	}
	buf_puts(&sql, "COMMIT");
	exec_all_or_nothing(d, sql.data, "dropping the dataset", err);
	buf_release(&sql);
	return err->code;
}

/*
 * dlt_tables.c — the rows a load writes into dlt's system tables.
 *
 * _dlt_loads holds a row per loaded package, written in the same transaction as the package's
 * rows: a load_id found there means the package is in, so a rerun never loads it twice.
 * _dlt_pipeline_state holds the pipeline state (the incremental cursors) as of each load, and
 * _dlt_version the stored schema, a new row only when it changes.  The columns are dlt's
 * (dest_prepare_dataset creates them), so dlt and its users read them as their own.
 */
#include "dest/load.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/hash.h"

pg2md_code
dlt_load_recorded(duckdb_connection con, const char *dataset, const char *load_id, bool *found, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	char *v = NULL;

	buf_puts(&sql, "SELECT load_id FROM ");
	duck_qualified(&sql, dataset, "_dlt_loads");
	buf_puts(&sql, " WHERE load_id = ");
	buf_literal(&sql, load_id);
	*found = false;
	if (duck_scalar(con, sql.data, &v, err) == PG2MD_OK)
		*found = v != NULL;
	free(v);
	buf_release(&sql);
	return err->code;
}

pg2md_code
dlt_state_version(duckdb_connection con, const char *dataset, long long *version, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	char *v = NULL;

	buf_puts(&sql, "SELECT max(version) FROM ");
	duck_qualified(&sql, dataset, "_dlt_pipeline_state");
	if (duck_scalar(con, sql.data, &v, err) == PG2MD_OK)
		*version = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	buf_release(&sql);
	return err->code;
}

pg2md_code
dlt_newest_json(duckdb_connection con, const char *dataset, const char *table, const char *column,
		const char *pipeline_name, json_t **out, pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	char *text = NULL;
	pg2md_code result;

	*out = NULL;
	buf_printf(&q, "SELECT %s FROM ", column);
	duck_qualified(&q, dataset, table);
	if (pipeline_name) {
		buf_puts(&q, " WHERE pipeline_name = ");
		buf_literal(&q, pipeline_name);
	}
	buf_puts(&q, " ORDER BY version DESC LIMIT 1");
	result = duck_scalar(con, q.data, &text, err);
	if (result == PG2MD_OK && text)
		*out = json_loads(text, 0, NULL);
	free(text);
	buf_release(&q);
	return result;
}

/*
 * The stored schema, as dlt keeps it in _dlt_version: a new row only when it changes, so its
 * hash covers what describes the tables, not this run's figures (rows, files, seconds).  The
 * rows' window measured by the load that first stored it rides along, outside the hash
 * (pg2md verify sizes DuckDB's budget with it).  Returns the schema's text; hash gets its hash.
 */
static char *
stored_schema(const manifest_table *tables, int ntables, char hash[32])
{
	static const char *const schema_keys[] = {"name", "dest_name", "write_disposition", "primary_key",
						  "merge_key", "hard_delete", "merge_strategy", "dedup_sort",
						  "dedup_sort_order", "columns", NULL};
	json_t *schema = json_object(), *stables = json_array();

	json_object_set_new(schema, "name", json_string("sql_database"));
	for (int i = 0; i < ntables; i++) {
		/* the keys as the manifest's file has them (schema/manifest.c writes both) */
		json_t *st = json_object(), *jt = manifest_table_to_json(&tables[i]);
		for (int k = 0; schema_keys[k]; k++)
			if (json_object_get(jt, schema_keys[k]))
				json_object_set(st, schema_keys[k], json_object_get(jt, schema_keys[k]));
		json_array_append_new(stables, st);
		json_decref(jt);
	}
	json_object_set_new(schema, "tables", stables);
	char *hashed_text = json_dumps(schema, JSON_SORT_KEYS | JSON_COMPACT);
	snprintf(hash, 32, "%016llx", (unsigned long long)hash_fnv1a(hashed_text));
	free(hashed_text);
	for (int i = 0; i < ntables; i++) {
		json_t *w = json_object();
		if (tables[i].has_window) { /* a package of an older pg2md has none */
			json_object_set_new(w, "bytes", json_integer(tables[i].window_bytes));
			json_object_set_new(w, "rows", json_integer(tables[i].window_rows));
		}
		json_object_set_new(json_array_get(stables, (size_t)i), "x-pg2md-row-window", w);
	}
	char *schema_text = json_dumps(schema, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(schema);
	return schema_text;
}

void
dlt_version_insert(pg2md_buf *sql, const char *dataset, const char *hash, const char *schema_text, bool md_rules)
{
	pg2md_buf value = PG2MD_BUF_INIT;

	md_text_value(sql, &value, md_rules, "schema", schema_text);
	buf_puts(sql, "INSERT INTO ");
	duck_qualified(sql, dataset, "_dlt_version");
	buf_puts(sql, " SELECT coalesce((SELECT max(version) FROM ");
	duck_qualified(sql, dataset, "_dlt_version");
	buf_puts(sql, "), 0) + 1, 9, now(), 'sql_database', ");
	buf_literal(sql, hash);
	buf_puts(sql, ", ");
	buf_append(sql, value.data, value.len);
	buf_release(&value);
}

void
dlt_state_insert(pg2md_buf *sql, const char *dataset, long long version, const char *pipeline_name,
		 const char *state_text, const char *hash, const char *load_id, bool md_rules)
{
	pg2md_buf value = PG2MD_BUF_INIT;

	md_text_value(sql, &value, md_rules, "state", state_text);
	buf_puts(sql, "INSERT INTO ");
	duck_qualified(sql, dataset, "_dlt_pipeline_state");
	if (version >= 0) {
		buf_printf(sql, " SELECT %lld, 4, ", version);
	} else {
		buf_puts(sql, " SELECT coalesce((SELECT max(version) FROM ");
		duck_qualified(sql, dataset, "_dlt_pipeline_state");
		buf_puts(sql, "), 0) + 1, 4, ");
	}
	buf_literal(sql, pipeline_name);
	buf_puts(sql, ", ");
	buf_append(sql, value.data, value.len);
	buf_puts(sql, ", now(), ");
	buf_literal(sql, hash);
	buf_puts(sql, ", ");
	buf_literal(sql, load_id);
	buf_puts(sql, ", gen_random_uuid()::VARCHAR");
	buf_release(&value);
}

/*
 * Under MotherDuck's rules the stored schema (about 110 bytes a column: a package of thousands
 * of columns passes 512 KB) and the state go in pieces (md_text_value), and every statement is
 * checked before it is sent.
 */
pg2md_code
dlt_record_load(pg2md_dest *d, const char *dataset, const char *pipeline_name, const char *load_id,
		const manifest_table *tables, int ntables, json_t *state, long long state_version, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	char hash[32];
	char *schema_text = stored_schema(tables, ntables, hash);
	char *state_text = json_dumps(state, JSON_SORT_KEYS | JSON_COMPACT);

	if (!schema_text || !state_text) {
		free(schema_text);
		free(state_text);
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	dlt_version_insert(&sql, dataset, hash, schema_text, d->md_rules);
	buf_puts(&sql, " WHERE NOT EXISTS (SELECT 1 FROM ");
	duck_qualified(&sql, dataset, "_dlt_version");
	buf_puts(&sql, " WHERE version_hash = ");
	buf_literal(&sql, hash);
	buf_puts(&sql, ");\n");
	dlt_state_insert(&sql, dataset, state_version, pipeline_name, state_text, hash, load_id, d->md_rules);
	buf_puts(&sql, ";\nINSERT INTO ");
	duck_qualified(&sql, dataset, "_dlt_loads");
	buf_puts(&sql, " VALUES (");
	buf_literal(&sql, load_id);
	buf_puts(&sql, ", 'sql_database', 0, now(), ");
	buf_literal(&sql, hash);
	buf_puts(&sql, ")");
	free(schema_text);
	free(state_text);
	if (!d->md_rules || md_statements_check(sql.data, "recording the load", err) == PG2MD_OK)
		duck_exec(d->con, sql.data, "recording the load", err);
	buf_release(&sql);
	return err->code;
}

/* loads.c — the loads a destination has recorded, and pg2md follow's watermarks (see loads.h). */
#include "dest/loads.h"

#include <string.h>

#include <duckdb.h>

#include "dest/duck.h"
#include "util/buf.h"

json_t *
dest_loads_json(const pg2md_config *cfg, int max, char **note)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	char *open_err = NULL;
	pg2md_buf sql = PG2MD_BUF_INIT;
	json_t *arr = NULL;

	*note = NULL;
	if (pg2md_config_motherduck(cfg)) {
		*note = xasprintf("MotherDuck is not queried by pg2md info; pg2md sql \"SELECT * FROM %s._dlt_loads\" "
				  "shows the loads",
				  cfg->dataset_name);
		return NULL;
	}
	if (!dest_exists(cfg)) {
		*note = xasprintf("DuckDB file \"%s\" does not exist yet", cfg->duckdb_path);
		return NULL;
	}
	if (!duck_open_readonly(cfg->duckdb_path, &db, &con, &open_err)) {
		*note = xasprintf("could not open DuckDB file \"%s\" read-only: %s", cfg->duckdb_path,
				  open_err ? open_err : "unknown error");
		duckdb_free(open_err);
		return NULL;
	}
	if (!duck_has_table(con, cfg->dataset_name, "_dlt_loads")) {
		*note = xasprintf("dataset \"%s\" has no loads yet", cfg->dataset_name);
		goto done;
	}
	buf_puts(&sql, "SELECT load_id, schema_name, status, strftime(inserted_at AT TIME ZONE 'UTC', "
		       "'%Y-%m-%dT%H:%M:%SZ'), schema_version_hash FROM ");
	duck_qualified(&sql, cfg->dataset_name, "_dlt_loads");
	buf_printf(&sql, " ORDER BY inserted_at DESC, load_id DESC LIMIT %d", max);
	if (buf_broken(&sql))
		goto done; /* out of memory: no note (see loads.h) */
	if (duckdb_query(con, sql.data, &res) == DuckDBError) {
		*note = xasprintf("could not read _dlt_loads: %s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		goto done;
	}
	arr = json_array();
	for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
		char *v[5];
		for (idx_t c = 0; c < 5; c++)
			v[c] = duckdb_value_varchar(&res, c, r);
		json_array_append_new(arr, json_pack("{s:s?, s:s?, s:I, s:s?, s:s?}", "load_id", v[0], "schema_name", v[1],
						     "status", (json_int_t)duckdb_value_int64(&res, 2, r), "inserted_at",
						     v[3], "schema_version_hash", v[4]));
		for (int c = 0; c < 5; c++)
			duckdb_free(v[c]);
	}
	duckdb_destroy_result(&res);
done:
	buf_release(&sql);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return arr;
}

json_t *
dest_watermarks_json(const pg2md_config *cfg)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	char *open_err = NULL;
	json_t *arr = NULL;

	if (pg2md_config_motherduck(cfg) || !dest_exists(cfg))
		return NULL;
	if (!duck_open_readonly(cfg->duckdb_path, &db, &con, &open_err)) {
		duckdb_free(open_err);
		return NULL;
	}
	pg2md_buf sql = PG2MD_BUF_INIT;
	if (!duck_has_table(con, cfg->dataset_name, "_pg2md_cdc"))
		goto done;
	buf_puts(&sql, "SELECT slot_name, applied_lsn_text, strftime(applied_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), "
		       "CAST(epoch(now()) - epoch(applied_at) AS BIGINT) FROM ");
	duck_qualified(&sql, cfg->dataset_name, "_pg2md_cdc");
	buf_puts(&sql, " ORDER BY slot_name");
	if (buf_broken(&sql))
		goto done;
	if (duckdb_query(con, sql.data, &res) == DuckDBError) {
		duckdb_destroy_result(&res);
		goto done;
	}
	arr = json_array();
	for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
		char *v[3];
		for (idx_t c = 0; c < 3; c++)
			v[c] = duckdb_value_varchar(&res, c, r);
		json_array_append_new(arr, json_pack("{s:s?, s:s?, s:s?, s:I}", "slot", v[0], "applied_lsn", v[1],
						     "applied_at", v[2], "seconds_ago",
						     (json_int_t)duckdb_value_int64(&res, 3, r)));
		for (int c = 0; c < 3; c++)
			duckdb_free(v[c]);
	}
	duckdb_destroy_result(&res);
done:
	buf_release(&sql);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return arr;
}

/* transform.c — binding and applying per-table SQL transforms (see transform.h). */
#include "stage/transform.h"

#include <duckdb.h>
#include <stdlib.h>
#include <string.h>

#include "dest/duck.h"

/*
 * SELECT list giving data's columns their destination types.  Staged, the scan gives an
 * interval as its three fields (copydec's DEC_INTERVAL_STRUCT): added back together, exactly.
 */
static void
typed_columns(pg2md_buf *b, const pg2md_table *t, bool staged, const char *load_id)
{
	int n = 0;
	if (t->ncols == 0) {
		buf_puts(b, "*");
		return;
	}
	for (int i = 0; i < t->ncols; i++) {
		if (t->cols[i].lineage)
			continue; /* added after the transform's output */
		if (n++)
			buf_puts(b, ", ");
		if (t->cols[i].load_id) {
			/* a table without columns: its _dlt_load_id holds the load id in "data" too */
			transform_lineage_value(b, TRANSFORM_LOAD_ID, load_id);
			buf_puts(b, " AS ");
		} else if (staged && t->cols[i].dec == DEC_INTERVAL) {
			pg2md_buf f = PG2MD_BUF_INIT;
			buf_ident(&f, t->cols[i].dest_name);
			buf_printf(b, "to_months(%s.months) + to_days(%s.days) + to_microseconds(%s.micros) AS ", f.data,
				   f.data, f.data);
			buf_release(&f);
		} else {
			buf_puts(b, "CAST(");
			buf_ident(b, t->cols[i].dest_name);
			buf_printf(b, " AS %s) AS ", t->cols[i].duck_type);
		}
		buf_ident(b, t->cols[i].dest_name);
	}
}

void
transform_lineage_value(pg2md_buf *b, int lineage, const char *load_id)
{
	if (lineage == TRANSFORM_LOAD_ID)
		buf_literal(b, load_id ? load_id : "");
	else
		buf_puts(b, "CAST(uuid() AS VARCHAR)");
}

void
transform_source(pg2md_buf *b, const pg2md_table *t, const char *transform, int task_id, bool staged,
		 const char *load_id)
{
	buf_puts(b, "(WITH data AS (SELECT ");
	typed_columns(b, t, staged, load_id);
	buf_printf(b, " FROM pg2md_scan(%d)) %s)", task_id, transform);
}

pg2md_code
transform_bind(const pg2md_table *t, const char *transform, transform_out *out, pg2md_error *err)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	pg2md_buf sql = PG2MD_BUF_INIT;

	memset(out, 0, sizeof(*out));
	if (duck_open_scratch(&db, &con, 1, NULL, "to check a transform", err))
		goto done;
	buf_puts(&sql, "CREATE TABLE data (");
	for (int i = 0, n = 0; i < t->ncols; i++) {
		if (t->cols[i].lineage)
			continue;
		if (n++)
			buf_puts(&sql, ", ");
		buf_ident(&sql, t->cols[i].dest_name);
		buf_printf(&sql, " %s", t->cols[i].duck_type);
	}
	buf_puts(&sql, ")");
	if (duckdb_query(con, sql.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not check the transform of table \"%s\": %s", t->name,
			   duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		goto done;
	}
	duckdb_destroy_result(&res);
	buf_reset(&sql);
	buf_printf(&sql, "DESCRIBE SELECT * FROM (%s)", transform);
	if (duckdb_query(con, sql.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" does not bind", t->name);
		pg2md_detail(err, "%s", duckdb_result_error(&res));
		pg2md_hint(err, "the transform reads the table as \"data\" with its destination columns; check "
				"[sources.sql_database.%s] transform", t->name);
		duckdb_destroy_result(&res);
		goto done;
	}
	int nrows = (int)duckdb_row_count(&res);
	bool oom = !(out->cols = xcalloc((size_t)nrows + 3, sizeof(transform_col)));
	for (int r = 0; !oom && r < nrows; r++) {
		char *name = duckdb_value_varchar(&res, 0, (idx_t)r);
		char *type = duckdb_value_varchar(&res, 1, (idx_t)r);
		transform_col *c = &out->cols[out->ncols++];
		c->name = xstrdup(name ? name : "");
		c->duck_type = xstrdup(type ? type : "VARCHAR");
		duckdb_free(name);
		duckdb_free(type);
		oom = !c->name || !c->duck_type; /* out->ncols counts it: transform_out_release frees it */
	}
	duckdb_destroy_result(&res);
	if (oom) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int i = 0; i < t->ncols; i++) {
		if (!t->cols[i].lineage)
			continue;
		for (int r = 0; r < out->ncols; r++)
			if (strcmp(out->cols[r].name, t->cols[i].dest_name) == 0) {
				pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" outputs a column \"%s\", which %s adds",
					   t->name, t->cols[i].dest_name, t->cols[i].load_id ? "add_dlt_load_id" : "add_dlt_id");
				pg2md_hint(err, "rename that column in the transform, or set [normalize.parquet_normalizer] %s = false",
					   t->cols[i].load_id ? "add_dlt_load_id" : "add_dlt_id");
				goto done;
			}
		transform_col *c = &out->cols[out->ncols++];
		c->name = xstrdup(t->cols[i].dest_name);
		c->duck_type = xstrdup("VARCHAR");
		c->lineage = t->cols[i].load_id ? TRANSFORM_LOAD_ID : TRANSFORM_DLT_ID;
		if (!c->name || !c->duck_type) {
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			goto done;
		}
	}
done:
	buf_release(&sql);
	if (con)
		duckdb_disconnect(&con);
	if (db)
		duckdb_close(&db);
	return err->code;
}

pg2md_code
transform_stage_parse(const pg2md_table_config *tc, bool direct, bool *later, pg2md_error *err)
{
	const char *v = tc->transform_stage;
	*later = false;
	if (!v || strcmp(v, "extract") == 0)
		return PG2MD_OK;
	if (strcmp(v, "normalize") != 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "transform_stage \"%s\" of table \"%s\" is not valid", v, tc->name);
		pg2md_hint(err, "use \"extract\" (the default: as rows stream, nothing untransformed is written) or "
				"\"normalize\" (over the staged files of the whole table)");
		return err->code;
	}
	if (direct) {
		pg2md_fail(err, PG2MD_ERR_USAGE,
			   "the transform of table \"%s\" is set to run at normalize, which the direct mode does not have",
			   tc->name);
		pg2md_hint(err, "run staged (without --direct), or set transform_stage = \"extract\" under "
				"[sources.sql_database.%s]", tc->name);
		return err->code;
	}
	*later = true;
	return PG2MD_OK;
}

bool
transform_column_manifest(const transform_col *c, manifest_column *out)
{
	memset(out, 0, sizeof(*out));
	out->name = xstrdup(c->name);
	out->dest_name = xstrdup(c->name);
	out->pg_type = xstrdup("(transform)");
	out->duck_type = xstrdup(c->duck_type);
	out->nullable = !c->lineage;
	if (c->lineage)
		out->lineage = xstrdup(c->lineage == TRANSFORM_LOAD_ID ? "load_id" : "dlt_id");
	return out->name && out->dest_name && out->pg_type && out->duck_type && (!c->lineage || out->lineage);
}

void
transform_out_release(transform_out *out)
{
	for (int i = 0; i < out->ncols; i++) {
		free(out->cols[i].name);
		free(out->cols[i].duck_type);
	}
	free(out->cols);
	memset(out, 0, sizeof(*out));
}

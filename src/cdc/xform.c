/*
 * xform.c — transforms and lineage columns in pg2md follow (see xform.h).
 *
 * Row-wise is decided on DuckDB's physical plan of the transform over an empty table of the
 * table's columns: only operators that turn each row into rows of its own may appear
 * (projections, filters, UNNEST, ORDER BY, the scan).  An aggregate, GROUP BY or DISTINCT
 * (HASH_GROUP_BY, UNGROUPED_AGGREGATE), a window function, LIMIT, a join (of data with itself
 * or with another table), UNION: each makes a row's output depend on other rows, which a batch
 * of changes does not hold.
 */
#include "cdc/xform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cdc/evolve.h"
#include "dest/duck.h"
#include "source/catalog.h"
#include "stage/transform.h"
#include "util/log.h"

const char *
cdc_transform_of(const pg2md_config *cfg, const pg2md_table *t)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);
	return tc && tc->transform && *tc->transform ? tc->transform : NULL;
}

static const char *const row_wise_ops[] = {"PROJECTION", "FILTER", "SEQ_SCAN", "TABLE_SCAN", "EMPTY_RESULT",
					   "DUMMY_SCAN", "UNNEST", "ORDER_BY", NULL};

/* The first operator of plan node n (and its children) that is not row-wise, or NULL. */
static const char *
not_row_wise(json_t *n)
{
	if (json_is_array(n)) {
		size_t i;
		json_t *v;
		json_array_foreach (n, i, v) {
			const char *bad = not_row_wise(v);
			if (bad)
				return bad;
		}
		return NULL;
	}
	const char *name = json_string_value(json_object_get(n, "name"));
	if (name) {
		bool ok = false;
		for (int i = 0; row_wise_ops[i] && !ok; i++)
			ok = strncmp(name, row_wise_ops[i], strlen(row_wise_ops[i])) == 0;
		if (!ok)
			return name;
	}
	return not_row_wise(json_object_get(n, "children"));
}

/* The plan's first operator that is not row-wise into *bad ("" when all are). */
static pg2md_code
plan_check(const pg2md_table *t, const char *transform, char *bad, size_t n, pg2md_error *err)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	pg2md_buf sql = PG2MD_BUF_INIT;
	bad[0] = 0;
	if (duck_open_scratch(&db, &con, 1, NULL, "to check a transform", err))
		goto done;
	buf_puts(&sql, "CREATE TABLE pg2md_rows (");
	buf_puts(&sql, "pg2md_none INTEGER");
	for (int i = 0; i < t->ncols; i++) {
		if (t->cols[i].lineage)
			continue;
		buf_puts(&sql, ", ");
		buf_ident(&sql, t->cols[i].dest_name);
		buf_printf(&sql, " %s", t->cols[i].duck_type);
	}
	buf_puts(&sql, "); SET explain_output = 'physical_only'");
	if (duck_exec(con, sql.data, "checking a transform", err))
		goto done;
	buf_reset(&sql);
	buf_puts(&sql, "EXPLAIN (FORMAT JSON) WITH data AS (SELECT * EXCLUDE (pg2md_none) FROM pg2md_rows) ");
	buf_puts(&sql, transform);
	if (buf_broken(&sql)) {
		pg2md_nomem(err);
		goto done;
	}
	if (duckdb_query(con, sql.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" does not bind", t->name);
		pg2md_detail(err, "%s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		goto done;
	}
	char *plan = duckdb_row_count(&res) > 0 ? duckdb_value_varchar(&res, 1, 0) : NULL;
	duckdb_destroy_result(&res);
	json_t *doc = plan ? json_loads(plan, 0, NULL) : NULL;
	duckdb_free(plan);
	if (!doc) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read DuckDB's plan of the transform of table \"%s\"", t->name);
		goto done;
	}
	const char *b = not_row_wise(doc);
	snprintf(bad, n, "%s", b ? b : "");
	json_decref(doc);
done:
	buf_release(&sql);
	if (con)
		duckdb_disconnect(&con);
	if (db)
		duckdb_close(&db);
	return err->code;
}

/* Every key column in the transform's output, with its type. */
static pg2md_code
keys_kept(const pg2md_table *t, const transform_out *out, pg2md_error *err)
{
	for (int k = 0; k < t->npk; k++) {
		const pg2md_column *c = &t->cols[t->pk[k]];
		const transform_col *o = NULL;
		for (int r = 0; r < out->ncols && !o; r++)
			if (strcmp(out->cols[r].name, c->dest_name) == 0)
				o = &out->cols[r];
		if (o && strcmp(o->duck_type, c->duck_type) == 0)
			continue;
		pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" %s key column \"%s\"%s%s", t->name,
			   o ? "changes the type of" : "leaves out", c->dest_name, o ? " to " : "", o ? o->duck_type : "");
		pg2md_detail(err, "pg2md follow deletes and inserts the rows of a transformed table by their key: the "
				  "transform's output must hold the key columns as they are");
		pg2md_hint(err, "keep the key in the transform (SELECT * EXCLUDE (…) keeps it), or leave the table out of "
				"tables");
		return PG2MD_ERR_USAGE;
	}
	return PG2MD_OK;
}

pg2md_code
cdc_transform_check(const pg2md_config *cfg, const pg2md_table *t, pg2md_error *err)
{
	const char *transform = cdc_transform_of(cfg, t);
	if (!transform)
		return PG2MD_OK;
	bool later = false;
	if (transform_stage_parse(pg2md_config_table(cfg, t->name), false, &later, err))
		return err->code;
	if (later) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" runs at normalize, over the whole table, "
			   "which pg2md follow cannot do", t->name);
		pg2md_detail(err, "follow applies a transform to each batch of changed rows: only a row-wise transform "
				  "(transform_stage = \"extract\", the default) gives the same mirror as a run");
		pg2md_hint(err, "use a row-wise transform at extract, or leave the table out of tables");
		return PG2MD_ERR_USAGE;
	}
	transform_out out;
	if (transform_bind(t, transform, &out, err))
		return err->code;
	pg2md_code rc = keys_kept(t, &out, err);
	transform_out_release(&out);
	char bad[64];
	if (rc || plan_check(t, transform, bad, sizeof(bad), err))
		return err->code;
	if (bad[0]) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" is not row-wise (DuckDB plans it with %s), "
			   "which pg2md follow cannot apply", t->name, bad);
		pg2md_detail(err, "follow applies a transform to each batch of changed rows, so a row's output may depend "
				  "on that row only: aggregates, GROUP BY, DISTINCT, window functions, LIMIT, joins and UNION "
				  "depend on other rows");
		pg2md_hint(err, "keep the transform to projections, expressions and WHERE (aggregate in a view over the "
				"mirror instead), or leave the table out of tables");
		return PG2MD_ERR_USAGE;
	}
	return PG2MD_OK;
}

pg2md_code
cdc_transform_relation(PGconn *conn, const pg2md_config *cfg, const pg2md_table *t, pg2md_error *err)
{
	pg2md_table *all = NULL;
	int nall = 0;
	if (catalog_reflect(conn, cfg, &all, &nall, err))
		return err->code;
	const pg2md_table *nt = NULL;
	for (int i = 0; i < nall && !nt; i++)
		if (all[i].oid == t->oid)
			nt = &all[i];
	bool same = nt && nt->ncols == t->ncols;
	for (int j = 0; same && j < t->ncols; j++)
		same = strcmp(nt->cols[j].name, t->cols[j].name) == 0 && strcmp(nt->cols[j].dest_name, t->cols[j].dest_name) == 0 &&
		       strcmp(nt->cols[j].duck_type, t->cols[j].duck_type) == 0;
	if (all)
		schema_tables_free(all, nall);
	if (same)
		return PG2MD_OK;
	pg2md_fail(err, PG2MD_ERR_RUN, "the columns of table \"%s\" changed at the source, and it has a transform", t->name);
	pg2md_detail(err, "its mirror holds the transform's output, which pg2md follow does not evolve");
	cdc_resync_hint(err, cfg, t->name);
	return PG2MD_ERR_RUN;
}

#define LOAD_ID_SQL "printf('%d.%06d', epoch_us(now()) // 1000000, epoch_us(now()) % 1000000)"

void
cdc_lineage_value(pg2md_buf *b, const pg2md_column *c)
{
	if (c->load_id)
		buf_puts(b, LOAD_ID_SQL);
	else
		buf_puts(b, "CAST(uuid() AS VARCHAR)");
}

void
cdc_lineage_load_sql(pg2md_buf *b, const pg2md_config *cfg)
{
	if (!cfg->add_dlt_load_id)
		return;
	/* the schema of the latest load: follow does not change the stored schema */
	buf_puts(b, "INSERT INTO ");
	buf_ident(b, cfg->dataset_name);
	buf_puts(b, "._dlt_loads SELECT " LOAD_ID_SQL ", schema_name, 0, now(), schema_version_hash FROM ");
	buf_ident(b, cfg->dataset_name);
	buf_puts(b, "._dlt_loads ORDER BY inserted_at DESC LIMIT 1; ");
}

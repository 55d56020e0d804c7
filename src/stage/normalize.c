/*
 * normalize.c — the normalize stage: an extracted package made ready to load.
 *
 * It writes the package's schema.json and moves it to normalized/.  A table whose transform
 * runs at normalize (transform_stage = "normalize") is transformed here over all of its staged
 * files at once, so aggregates, DISTINCT and window functions see the whole table; the
 * transformed Parquet files replace the extracted ones in the manifest.
 */
#include "stage/pipeline_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/load.h"
#include "stage/package.h"
#include "util/fault.h"
#include "util/humanize.h"
#include "util/log.h"

/* The DuckDB that applies transforms at normalize: [normalize] workers threads, the usual budget. */
static pg2md_code
normalize_duck_open(const pg2md_config *cfg, duckdb_database *db, duckdb_connection *con, pg2md_error *err)
{
	char *tmpdir = xasprintf("%s/%s/tmp", cfg->pipelines_dir, cfg->pipeline_name);
	duck_open_scratch(db, con, duck_threads(cfg->normalize_workers), tmpdir, "to normalize", err);
	free(tmpdir);
	return err->code;
}

/* The transform over "data": the staged rows with their destination types, as a subquery. */
static void
transform_input(pg2md_buf *src, json_t *cols, json_t *files, const char *pkg_path, const char *tx)
{
	json_t *c;
	size_t i;

	buf_puts(src, "(WITH data AS (SELECT ");
	if (json_array_size(files) > 0) {
		select_list(src, cols, NULL);
		buf_puts(src, " FROM ");
		read_parquet_files(src, pkg_path, files);
	} else {
		/* nothing was staged (no rows, rotating): the transform still runs, on no rows */
		json_array_foreach(cols, i, c) {
			if (i)
				buf_puts(src, ", ");
			buf_printf(src, "CAST(NULL AS %s) AS ", json_string_value(json_object_get(c, "duck_type")));
			buf_ident(src, json_string_value(json_object_get(c, "dest_name")));
		}
		buf_puts(src, " WHERE false");
	}
	buf_printf(src, ") %s)", tx);
}

/* The transform's output columns, which the destination follows, then the lineage columns. */
static pg2md_code
transform_columns(duckdb_connection con, const char *src, json_t *lineage, const char *name, json_t *tcols,
		  pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	duckdb_result res;
	json_t *c;
	size_t i;

	buf_printf(&sql, "DESCRIBE SELECT * FROM %s", src);
	if (duckdb_query(con, sql.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" does not bind", name);
		pg2md_detail(err, "%s", duckdb_result_error(&res));
		pg2md_hint(err, "the extracted package is kept: fix [sources.sql_database.%s] transform and run "
				"pg2md run again, or drop the package with pg2md drop --pending", name);
		duckdb_destroy_result(&res);
		buf_release(&sql);
		return err->code;
	}
	buf_release(&sql);
	for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
		char *cn = duckdb_value_varchar(&res, 0, r), *ct = duckdb_value_varchar(&res, 1, r);
		transform_col tcol = {cn ? cn : (char *)"", ct ? ct : (char *)"VARCHAR", 0};
		json_array_append_new(tcols, transform_column_json(&tcol));
		duckdb_free(cn);
		duckdb_free(ct);
	}
	duckdb_destroy_result(&res);
	json_array_foreach(lineage, i, c) {
		const char *ln = json_string_value(json_object_get(c, "dest_name"));
		transform_col tcol = {(char *)ln, (char *)"VARCHAR",
				      strcmp(json_string_value(json_object_get(c, "lineage")), "load_id") == 0
					      ? TRANSFORM_LOAD_ID
					      : TRANSFORM_DLT_ID};
		size_t k;
		json_t *tc2;
		json_array_foreach(tcols, k, tc2)
			if (strcmp(json_string_value(json_object_get(tc2, "dest_name")), ln) == 0) {
				pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" outputs a column \"%s\", which %s adds",
					   name, ln, tcol.lineage == TRANSFORM_LOAD_ID ? "add_dlt_load_id" : "add_dlt_id");
				return err->code;
			}
		json_array_append_new(tcols, transform_column_json(&tcol));
	}
	return PG2MD_OK;
}

/* jt now lists the transformed files rel (count rows) and columns tcols; the old files go to old_files. */
static void
transformed_files(const pg2md_config *cfg, duckdb_connection con, json_t *jt, const char *pkg_path, const char *rel,
		  const char *count, json_t *tcols, json_t *old_files)
{
	json_t *nfiles = json_array(), *nrows = json_array();
	char **parts = NULL;
	int64_t *part_rows = NULL, bytes = 0;
	int nparts = 0;

	collect_output(pkg_path, rel, con, &parts, &part_rows, &nparts, &bytes);
	if (!rotating(cfg)) {
		json_array_append_new(nfiles, json_string(rel));
		json_array_append_new(nrows, json_integer(count ? strtoll(count, NULL, 10) : 0));
	}
	for (int p = 0; p < nparts; p++) {
		json_array_append_new(nfiles, json_string(parts[p]));
		json_array_append_new(nrows, json_integer(part_rows[p]));
		free(parts[p]);
	}
	free(parts);
	free(part_rows);
	json_array_extend(old_files, json_object_get(jt, "files"));
	json_object_set(jt, "columns", tcols);
	json_object_set_new(jt, "files", nfiles);
	json_object_set_new(jt, "file_rows", nrows);
	json_object_set_new(jt, "file_bytes", json_integer(bytes));
	json_object_set_new(jt, "transformed_rows", json_integer(count ? strtoll(count, NULL, 10) : 0));
	json_object_set_new(jt, "transformed_at", json_string("normalize"));
	json_object_del(jt, "transform");
	json_object_del(jt, "transform_columns");
}

/*
 * transform_stage = "normalize": apply one table's transform over all of its staged files at
 * once (so aggregates, DISTINCT and window functions see the whole table), into
 * <dest>.transformed.parquet (a folder of files when rotating).  jt is updated to list those
 * files and the transform's output columns; the extracted files it replaces are appended to
 * old_files.
 */
static pg2md_code
normalize_table(const pg2md_config *cfg, duckdb_connection con, json_t *jt, const char *pkg_path, json_t *old_files,
		const char *load_id, pg2md_error *err)
{
	const char *name = json_string_value(json_object_get(jt, "name"));
	const char *dn = json_string_value(json_object_get(jt, "dest_name"));
	const pg2md_table_config *tc = pg2md_config_table(cfg, name);
	/* the configured transform, so a fixed one applies to a kept package; else the one recorded */
	const char *tx = tc && tc->transform && tc->transform_stage && strcmp(tc->transform_stage, "normalize") == 0
				 ? tc->transform
				 : json_string_value(json_object_get(jt, "transform"));
	json_t *all = json_object_get(jt, "columns"), *files = json_object_get(jt, "files");
	json_t *tcols = json_array(), *cols = json_array(), *lineage = json_array(), *c;
	char *rel = rotating(cfg) ? xasprintf("%s.transformed", dn) : xasprintf("%s.transformed.parquet", dn);
	char *target = xasprintf("%s/%s", pkg_path, rel), *count = NULL;
	pg2md_buf src = PG2MD_BUF_INIT, sql = PG2MD_BUF_INIT;
	pg2md_error derr;
	size_t i;

	/* lineage columns (staged at extract) are not in "data": they follow the transform's output */
	json_array_foreach(all, i, c)
		json_array_append(json_object_get(c, "lineage") ? lineage : cols, c);
	transform_input(&src, cols, files, pkg_path, tx);
	if (transform_columns(con, src.data, lineage, name, tcols, err))
		goto done;

	buf_puts(&sql, "COPY (SELECT ");
	json_array_foreach(tcols, i, c) {
		const char *lk = json_string_value(json_object_get(c, "lineage"));
		if (lk) {
			buf_puts(&sql, i ? ", " : "");
			transform_lineage_value(&sql, strcmp(lk, "load_id") == 0 ? TRANSFORM_LOAD_ID : TRANSFORM_DLT_ID,
						load_id);
			buf_puts(&sql, " AS ");
			buf_ident(&sql, json_string_value(json_object_get(c, "dest_name")));
			continue;
		}
		staged_column(&sql, (int)i, json_string_value(json_object_get(c, "dest_name")),
			      json_string_value(json_object_get(c, "duck_type")));
	}
	buf_printf(&sql, " FROM %s) TO ", src.data);
	buf_literal(&sql, target);
	parquet_options(&sql, cfg, false);
	pg2md_error_init(&derr);
	if (duck_scalar(con, sql.data, &count, &derr) != PG2MD_OK) {
		pg2md_fail(err, PG2MD_ERR_RUN, "the transform of table \"%s\" failed at normalize", name);
		pg2md_detail(err, "%s", derr.msg);
		pg2md_hint(err, "the extracted package is kept: fix [sources.sql_database.%s] transform and run "
				"pg2md run again, or drop the package with pg2md drop --pending", name);
	} else {
		transformed_files(cfg, con, jt, pkg_path, rel, count, tcols, old_files);
	}
done:
	json_decref(tcols);
	json_decref(cols);
	json_decref(lineage);
	free(count);
	free(rel);
	free(target);
	buf_release(&src);
	buf_release(&sql);
	return err->code;
}

/*
 * Apply the transforms left for normalize.  Rerunnable: the manifest names the extracted files
 * until every transform has been written, so a crash before the manifest is rewritten leaves
 * a package that the next normalize transforms again; the extracted files go after.
 */
static pg2md_code
normalize_transforms(const pg2md_config *cfg, json_t *man, const char *pkg_path, const char *manpath,
		     pg2md_error *err)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	json_t *old_files = json_array(), *jt, *f;
	size_t i;
	int done = 0;

	json_array_foreach(json_object_get(man, "tables"), i, jt) {
		if (!json_string_value(json_object_get(jt, "transform")))
			continue;
		if (!db && normalize_duck_open(cfg, &db, &con, err))
			break;
		pg2md_info("transforming table \"%s\"", json_string_value(json_object_get(jt, "name")));
		if (normalize_table(cfg, con, jt, pkg_path, old_files, json_string_value(json_object_get(man, "load_id")),
				    err))
			break;
		done++;
	}
	if (con)
		duckdb_disconnect(&con);
	if (db)
		duckdb_close(&db);
	if (done && !pg2md_failed(err)) {
		fault_point("normalize:transformed");
		if (json_write_atomic(manpath, man, err) == PG2MD_OK)
			json_array_foreach(old_files, i, f)
				remove_staged_file(pkg_path, json_string_value(f));
	}
	json_decref(old_files);
	return err->code;
}

/* Normalize: fix the schema of an extracted package (schema.json) and move it on. */
pg2md_code
normalize_package(const pg2md_config *cfg, const char *load_id, pg2md_trace *trace, pg2md_error *err)
{
	double t0 = now_seconds();
	char *path = pkg_dir(cfg, PKG_EXTRACTED, load_id);
	char *manpath = pkg_manifest_path(path);
	char *schemapath = xasprintf("%s/schema.json", path);
	json_t *man = pkg_manifest_read(path, err);
	if (man) {
		json_t *schema = json_object();
		json_object_set_new(schema, "name", json_string("sql_database"));
		fault_point("normalize:start");
		normalize_transforms(cfg, man, path, manpath, err);
		json_object_set(schema, "tables", json_object_get(man, "tables"));
		if (!pg2md_failed(err) && json_write_atomic(schemapath, schema, err) == PG2MD_OK) {
			fault_point("normalize:before_move");
			pkg_move(cfg, load_id, PKG_EXTRACTED, PKG_NORMALIZED, err);
		}
		json_decref(schema);
		if (!trace->tables)
			trace_from_manifest(trace, man);
		json_decref(man);
	}
	free(path);
	free(manpath);
	free(schemapath);
	trace_span_add(trace->timeline, &(trace_span){TRACE_MAIN, "normalize", NULL, NULL, -1, -1, -1, t0,
						       now_seconds(), 0, 0, 0, !pg2md_failed(err)});
	trace->t_normalize += now_seconds() - t0;
	return err->code;
}

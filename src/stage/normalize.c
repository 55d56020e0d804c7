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
	if (!tmpdir)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	duck_open_scratch(db, con, duck_threads(cfg->normalize_workers), tmpdir, "to normalize", err);
	free(tmpdir);
	return err->code;
}

/* The transform over "data": the staged rows (cols of table t) with their destination types, as a subquery. */
static void
transform_input(pg2md_buf *src, const manifest_column *cols, int ncols, const manifest_table *t, const char *pkg_path,
		const char *tx)
{
	buf_puts(src, "(WITH data AS (SELECT ");
	if (t->nfiles > 0) {
		select_list(src, cols, ncols, NULL);
		buf_puts(src, " FROM ");
		read_parquet_files(src, pkg_path, t->files, t->nfiles);
	} else {
		/* nothing was staged (no rows, rotating): the transform still runs, on no rows */
		for (int i = 0; i < ncols; i++) {
			if (i)
				buf_puts(src, ", ");
			buf_printf(src, "CAST(NULL AS %s) AS ", cols[i].duck_type);
			buf_ident(src, cols[i].dest_name);
		}
		buf_puts(src, " WHERE false");
	}
	buf_printf(src, ") %s)", tx);
}

/* The transform's output columns, which the destination follows, then the lineage columns
 * (*tcols, *ntcols: new, released by the caller also after a failure). */
static pg2md_code
transform_columns(duckdb_connection con, const char *src, const manifest_column *lineage, int nlineage,
		  const char *name, manifest_column **tcols, int *ntcols, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	duckdb_result res;

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
	bool oom = !(*tcols = xcalloc((size_t)duckdb_row_count(&res) + (size_t)nlineage + 1, sizeof(manifest_column)));
	for (idx_t r = 0; !oom && r < duckdb_row_count(&res); r++) {
		char *cn = duckdb_value_varchar(&res, 0, r), *ct = duckdb_value_varchar(&res, 1, r);
		transform_col tcol = {cn ? cn : (char *)"", ct ? ct : (char *)"VARCHAR", 0};
		oom = !transform_column_manifest(&tcol, &(*tcols)[(*ntcols)++]);
		duckdb_free(cn);
		duckdb_free(ct);
	}
	duckdb_destroy_result(&res);
	if (oom)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	for (int i = 0; i < nlineage; i++) {
		const char *ln = lineage[i].dest_name;
		transform_col tcol = {(char *)ln, (char *)"VARCHAR",
				      strcmp(lineage[i].lineage, "load_id") == 0 ? TRANSFORM_LOAD_ID : TRANSFORM_DLT_ID};
		for (int k = 0; k < *ntcols; k++)
			if (strcmp((*tcols)[k].dest_name, ln) == 0) {
				pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" outputs a column \"%s\", which %s adds",
					   name, ln, tcol.lineage == TRANSFORM_LOAD_ID ? "add_dlt_load_id" : "add_dlt_id");
				return err->code;
			}
		if (!transform_column_manifest(&tcol, &(*tcols)[(*ntcols)++]))
			return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	return PG2MD_OK;
}

/* t now lists the transformed files rel (count rows) and columns tcols (taken over); the old
 * files go to old_files.  false when memory ran out: t is as it was (tcols still the caller's). */
static bool
transformed_files(const pg2md_config *cfg, duckdb_connection con, manifest_table *t, const char *pkg_path,
		  const char *rel, const char *count, manifest_column *tcols, int ntcols, json_t *old_files)
{
	char **parts = NULL, **files = NULL, *at = NULL, *relcopy = NULL;
	int64_t *part_rows = NULL, *file_rows = NULL, bytes = 0;
	int nparts = 0, n = 0;
	int64_t rows = count ? strtoll(count, NULL, 10) : 0;
	bool ok = collect_output(pkg_path, rel, con, &parts, &part_rows, &nparts, &bytes);

	/* all that can fail first, so that t changes whole or not at all */
	ok = ok && (files = xcalloc((size_t)nparts + 2, sizeof(char *))) &&
	     (file_rows = xcalloc((size_t)nparts + 2, sizeof(int64_t))) && (at = xstrdup("normalize")) &&
	     (rotating(cfg) || (relcopy = xstrdup(rel)));
	for (int k = 0; ok && k < t->nfiles; k++)
		ok = json_array_append_new(old_files, json_string(t->files[k])) == 0;
	if (!ok) {
		for (int p = 0; p < nparts; p++)
			free(parts[p]);
		free(parts);
		free(part_rows);
		free(files);
		free(file_rows);
		free(at);
		free(relcopy);
		return false;
	}
	for (int k = 0; k < t->nfiles; k++)
		free(t->files[k]);
	free(t->files);
	free(t->file_rows);
	t->files = files;
	t->file_rows = file_rows;
	if (relcopy) {
		t->files[n] = relcopy;
		t->file_rows[n++] = rows;
	}
	for (int p = 0; p < nparts; p++) {
		t->files[n] = parts[p];
		t->file_rows[n++] = part_rows[p];
	}
	t->nfiles = n;
	free(parts);
	free(part_rows);
	manifest_columns_free(t->cols, t->ncols); /* tcols take their place */
	t->cols = tcols;
	t->ncols = ntcols;
	t->file_bytes = bytes;
	t->transformed = true;
	t->transformed_rows = rows;
	free(t->transformed_at);
	t->transformed_at = at;
	free(t->transform);
	t->transform = NULL;
	manifest_columns_free(t->transform_cols, t->ntransform_cols);
	t->transform_cols = NULL;
	t->ntransform_cols = 0;
	return true;
}

/* The statement that writes table t's transformed rows (output columns tcols) to target. */
static void
transform_copy_sql(pg2md_buf *sql, const pg2md_config *cfg, const char *src, const manifest_column *tcols,
		   int ntcols, const char *target, const char *load_id)
{
	buf_puts(sql, "COPY (SELECT ");
	for (int i = 0; i < ntcols; i++) {
		const char *lk = tcols[i].lineage;
		if (lk) {
			buf_puts(sql, i ? ", " : "");
			transform_lineage_value(sql, strcmp(lk, "load_id") == 0 ? TRANSFORM_LOAD_ID : TRANSFORM_DLT_ID,
						load_id);
			buf_puts(sql, " AS ");
			buf_ident(sql, tcols[i].dest_name);
			continue;
		}
		staged_column(sql, i, tcols[i].dest_name, tcols[i].duck_type);
	}
	buf_printf(sql, " FROM %s) TO ", src);
	buf_literal(sql, target);
	parquet_options(sql, cfg, false);
}

/*
 * transform_stage = "normalize": apply one table's transform over all of its staged files at
 * once (so aggregates, DISTINCT and window functions see the whole table), into
 * <dest>.transformed.parquet (a folder of files when rotating).  t is updated to list those
 * files and the transform's output columns; the extracted files it replaces are appended to
 * old_files.
 */
static pg2md_code
normalize_table(const pg2md_config *cfg, duckdb_connection con, manifest_table *t, const char *pkg_path,
		json_t *old_files, const char *load_id, pg2md_error *err)
{
	const char *name = t->name;
	const pg2md_table_config *tc = pg2md_config_table(cfg, name);
	/* the configured transform, so a fixed one applies to a kept package; else the one recorded */
	const char *tx = tc && tc->transform && tc->transform_stage && strcmp(tc->transform_stage, "normalize") == 0
				 ? tc->transform
				 : t->transform;
	manifest_column *cols = xcalloc((size_t)t->ncols + 1, sizeof(manifest_column));
	manifest_column *lineage = xcalloc((size_t)t->ncols + 1, sizeof(manifest_column));
	manifest_column *tcols = NULL;
	int ncols = 0, nlineage = 0, ntcols = 0;
	char *rel = rotating(cfg) ? xasprintf("%s.transformed", t->dest_name)
				  : xasprintf("%s.transformed.parquet", t->dest_name);
	char *target = xasprintf("%s/%s", pkg_path, rel), *count = NULL;
	pg2md_buf src = PG2MD_BUF_INIT, sql = PG2MD_BUF_INIT;
	pg2md_error derr;

	if (!cols || !lineage || !rel || !target) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto done;
	}
	/* lineage columns (staged at extract) are not in "data": they follow the transform's output
	 * (shallow copies: the strings stay t's) */
	for (int i = 0; i < t->ncols; i++) {
		if (t->cols[i].lineage)
			lineage[nlineage++] = t->cols[i];
		else
			cols[ncols++] = t->cols[i];
	}
	transform_input(&src, cols, ncols, t, pkg_path, tx);
	if (transform_columns(con, src.data, lineage, nlineage, name, &tcols, &ntcols, err))
		goto done;
	transform_copy_sql(&sql, cfg, src.data, tcols, ntcols, target, load_id);
	pg2md_error_init(&derr);
	if (buf_broken(&src)) {
		/* sql holds a broken src as "" (not a transform that failed) */
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	} else if (duck_scalar(con, sql.data, &count, &derr) != PG2MD_OK) {
		pg2md_fail(err, PG2MD_ERR_RUN, "the transform of table \"%s\" failed at normalize", name);
		pg2md_detail(err, "%s", derr.msg);
		pg2md_hint(err, "the extracted package is kept: fix [sources.sql_database.%s] transform and run "
				"pg2md run again, or drop the package with pg2md drop --pending", name);
	} else if (!transformed_files(cfg, con, t, pkg_path, rel, count, tcols, ntcols, old_files)) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	} else {
		tcols = NULL; /* t's now */
	}
done:
	if (tcols)
		manifest_columns_free(tcols, ntcols);
	free(cols);
	free(lineage);
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
normalize_transforms(const pg2md_config *cfg, pg2md_manifest *man, const char *pkg_path, const char *manpath,
		     pg2md_error *err)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	json_t *old_files = json_array(), *f;
	size_t i;
	int done = 0;

	if (!old_files)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	for (int ti = 0; ti < man->ntables; ti++) {
		manifest_table *t = &man->tables[ti];
		if (!t->transform)
			continue;
		if (!db && normalize_duck_open(cfg, &db, &con, err))
			break;
		pg2md_info("transforming table \"%s\"", t->name);
		if (normalize_table(cfg, con, t, pkg_path, old_files, man->load_id, err))
			break;
		done++;
	}
	if (con)
		duckdb_disconnect(&con);
	if (db)
		duckdb_close(&db);
	if (done && !pg2md_failed(err)) {
		json_t *doc = manifest_to_json(man);
		fault_point("normalize:transformed");
		if (!doc)
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		else if (json_write_atomic(manpath, doc, err) == PG2MD_OK)
			json_array_foreach(old_files, i, f)
				remove_staged_file(pkg_path, json_string_value(f));
		json_decref(doc);
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
	char *schemapath = path ? xasprintf("%s/schema.json", path) : NULL;
	pg2md_manifest man;
	memset(&man, 0, sizeof(man));
	if (!path || !manpath || !schemapath) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	} else if (manifest_load(path, &man, err) == PG2MD_OK) {
		json_t *schema = json_object(), *doc;
		fault_point("normalize:start");
		normalize_transforms(cfg, &man, path, manpath, err);
		doc = manifest_to_json(&man);
		if (!pg2md_failed(err) && (!schema || !doc ||
					   json_object_set_new(schema, "name", json_string("sql_database")) ||
					   json_object_set(schema, "tables", json_object_get(doc, "tables"))))
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		json_decref(doc);
		if (!pg2md_failed(err) && json_write_atomic(schemapath, schema, err) == PG2MD_OK) {
			fault_point("normalize:before_move");
			pkg_move(cfg, load_id, PKG_EXTRACTED, PKG_NORMALIZED, err);
		}
		json_decref(schema);
		if (!trace->tables && !trace_from_manifest(trace, &man))
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	manifest_free(&man);
	free(path);
	free(manpath);
	free(schemapath);
	trace_span_add(trace->timeline, &(trace_span){TRACE_MAIN, "normalize", NULL, NULL, -1, -1, -1, t0,
						       now_seconds(), 0, 0, 0, !pg2md_failed(err)});
	trace->t_normalize += now_seconds() - t0;
	return err->code;
}

/*
 * extract_sql.c — what one extraction task runs in DuckDB, and the Parquet files it leaves.
 *
 * A task is one SQL statement reading the pg2md_scan table function (the COPY data of its page
 * range): staged, a COPY (SELECT …) TO a Parquet file of the package (a folder of files when
 * [data_writer] rotates them); direct, an INSERT into the destination table's work table.  A
 * transform applied at extract wraps the scan, so nothing untransformed is written.
 */
#include "stage/pipeline_int.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dest/load.h"

/*
 * Where a staged task writes: one Parquet file, or with [data_writer] file_max_items /
 * file_max_bytes a folder of files rotated at those limits (DuckDB's ROW_GROUPS_PER_FILE and
 * FILE_SIZE_BYTES; a file closes at a row group boundary, so it can pass file_max_bytes by
 * up to one row group).
 */
bool
rotating(const pg2md_config *cfg)
{
	return cfg->file_max_items > 0 || cfg->file_max_bytes > 0;
}

/* byte_row_groups: close row groups by size, which DuckDB allows only without insertion order
 * (the extract's staging instance; not the normalize stage's transform, whose order may count) */
void
parquet_options(pg2md_buf *b, const pg2md_config *cfg, bool byte_row_groups)
{
	/* no dictionary pages: they cost the writer about a third of its CPU (hash tables per
	 * column chunk) for files about a sixth smaller, and reading is as fast either way
	 * (docs/internals/performance.md) */
	buf_puts(b, " (FORMAT parquet, COMPRESSION snappy, DICTIONARY_SIZE_LIMIT 1");
	if (rotating(cfg)) {
		if (cfg->file_max_items > 0) {
			/* DuckDB fills row groups in whole 2048-row vectors: round down so no file passes the
			 * limit (below 2048 rows a file holds 2048) */
			int64_t rg = cfg->file_max_items / 2048 * 2048;
			if (rg < 2048)
				rg = 2048;
			if (rg > 122880)
				rg = 122880;
			int64_t groups = cfg->file_max_items / rg > 0 ? cfg->file_max_items / rg : 1;
			buf_printf(b, ", ROW_GROUP_SIZE %lld, ROW_GROUPS_PER_FILE %lld", (long long)rg, (long long)groups);
		}
		if (cfg->file_max_bytes > 0) {
			/* row groups of about a quarter of the limit, so a file closes near it */
			int64_t rgb = cfg->file_max_bytes / 4 > 65536 ? cfg->file_max_bytes / 4 : 65536;
			buf_printf(b, ", FILE_SIZE_BYTES %lld, ROW_GROUP_SIZE_BYTES %lld", (long long)cfg->file_max_bytes,
				   (long long)rgb);
		}
		buf_puts(b, ", FILENAME_PATTERN 'part_{i}', OVERWRITE true");
	} else if (byte_row_groups) {
		/* DuckDB's Parquet writer holds a row group (122,880 rows) in memory: rows of several MB
		 * would make that the whole table.  Close row groups at 8 MB instead: the reader at load
		 * holds a row group's values at once too (docs/reliability.md, "Values of several MB") */
		buf_puts(b, ", ROW_GROUP_SIZE_BYTES 8388608");
	}
	buf_puts(b, ")");
}

/* false: memory ran out (the statement is not to run) */
static bool
parquet_target(pg2md_buf *b, run_ctx *rc, pg2md_task *task)
{
	char *path = xasprintf("%s/%s", rc->pkg_path, task->file);
	if (!path)
		return false;
	buf_literal(b, path);
	free(path);
	parquet_options(b, rc->cfg, true);
	return true;
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of folder path (their paths as rel/<name>, in *parts, unsorted; their total size
 * added to *bytes); false when memory ran out (*nparts counts what is in *parts). */
static bool
collect_folder(const char *path, const char *rel, char ***parts, int64_t **part_rows, int *nparts, int64_t *bytes)
{
	DIR *d = opendir(path);
	struct dirent *e;
	struct stat st;
	int cap = 0;
	bool ok = true;
	while (ok && d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *fp = xasprintf("%s/%s", path, e->d_name);
		if (fp && stat(fp, &st) == 0)
			*bytes += st.st_size;
		free(fp);
		if (*nparts == cap) {
			int more = cap ? cap * 2 : 8;
			char **p = xrealloc(*parts, (size_t)more * sizeof(char *));
			int64_t *r = p ? xrealloc(*part_rows, (size_t)more * sizeof(int64_t)) : NULL;
			if (p)
				*parts = p;
			if (r)
				*part_rows = r;
			if (!p || !r)
				break;
			cap = more;
		}
		(*parts)[*nparts] = xasprintf("%s/%s", rel, e->d_name);
		(*part_rows)[*nparts] = -1;
		ok = fp && (*parts)[*nparts];
		(*nparts)++;
	}
	if (d)
		closedir(d);
	return ok && (!d || e == NULL);
}

/*
 * What a COPY … TO <pkg_path>/<rel> wrote: <rel> itself, or when rotating a folder of files
 * (their paths relative to the package, sorted, each with its row count from the Parquet
 * footer, for [destination.motherduck] batch_size); *bytes gets their total size.  false when
 * memory ran out (*parts and *part_rows, *nparts of them, are the caller's to free all the same).
 */
bool
collect_output(const char *pkg_path, const char *rel, duckdb_connection con, char ***parts, int64_t **part_rows,
	       int *nparts, int64_t *bytes)
{
	char *path = xasprintf("%s/%s", pkg_path, rel);
	struct stat st;
	*nparts = 0;
	*bytes = 0;
	if (!path)
		return false;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (!collect_folder(path, rel, parts, part_rows, nparts, bytes)) {
			free(path);
			return false;
		}
		if (*nparts > 1)
			qsort(*parts, (size_t)*nparts, sizeof(char *), cmp_cstr);
		for (int i = 0; i < *nparts; i++) {
			pg2md_buf q = PG2MD_BUF_INIT;
			pg2md_error ignore;
			char *v = NULL, *fp = xasprintf("%s/%s", pkg_path, (*parts)[i]);
			if (!fp) {
				free(path);
				return false;
			}
			pg2md_error_init(&ignore);
			buf_puts(&q, "SELECT num_rows FROM parquet_file_metadata(");
			buf_literal(&q, fp);
			buf_puts(&q, ")");
			if (duck_scalar(con, q.data, &v, &ignore) == PG2MD_OK && v)
				(*part_rows)[i] = strtoll(v, NULL, 10);
			free(v);
			free(fp);
			buf_release(&q);
			if (ignore.code == PG2MD_ERR_NOMEM) {
				free(path);
				return false; /* not a file without its row count */
			}
		}
	} else if (stat(path, &st) == 0) {
		*bytes = st.st_size;
	}
	free(path);
	return true;
}

/* After a staged task: the files it wrote, their bytes and rows. */
bool
task_collect_files(run_ctx *rc, pg2md_task *task, duckdb_connection con)
{
	return collect_output(rc->pkg_path, task->file, con, &task->parts, &task->part_rows, &task->nparts,
			      &task->file_bytes);
}

/*
 * One column of a transform's output as staged: INTERVAL and TIME WITH TIME ZONE as their
 * text (Parquet has no exact form for them); the load casts back to the manifest's type.
 */
void
staged_column(pg2md_buf *b, int i, const char *name, const char *type)
{
	bool as_text = strcmp(type, "INTERVAL") == 0 || strcmp(type, "TIME WITH TIME ZONE") == 0;
	if (i)
		buf_puts(b, ", ");
	if (as_text)
		buf_puts(b, "CAST(");
	buf_ident(b, name);
	if (as_text) {
		buf_puts(b, " AS VARCHAR) AS ");
		buf_ident(b, name);
	}
}

char *
task_statement(run_ctx *rc, pg2md_task *task)
{
	pg2md_buf b = PG2MD_BUF_INIT;
	const pg2md_table *t = task->table;

	const char *tx = rc->tx_sql ? rc->tx_sql[task->table_idx] : NULL;
	if (tx) {
		/* the transform runs on the rows as they stream: nothing untransformed is written */
		const transform_out *out = &rc->tx[task->table_idx];
		char *nt = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);
		bool ok = nt != NULL;
		if (!ok) {
			/* nothing to write */
		} else if (rc->direct) {
			buf_puts(&b, "INSERT INTO ");
			duck_qualified(&b, rc->dataset, nt);
			buf_puts(&b, " SELECT *");
			for (int i = 0; i < out->ncols; i++) {
				if (!out->cols[i].lineage)
					continue; /* the lineage columns follow the transform's output */
				buf_puts(&b, ", ");
				transform_lineage_value(&b, out->cols[i].lineage, rc->load_id);
			}
			buf_puts(&b, " FROM ");
			transform_source(&b, t, tx, task->id, !rc->direct, rc->load_id);
		} else {
			buf_puts(&b, "COPY (SELECT ");
			for (int i = 0; i < out->ncols; i++) {
				if (out->cols[i].lineage) {
					buf_puts(&b, i ? ", " : "");
					transform_lineage_value(&b, out->cols[i].lineage, rc->load_id);
					buf_puts(&b, " AS ");
					buf_ident(&b, out->cols[i].name);
					continue;
				}
				staged_column(&b, i, out->cols[i].name, out->cols[i].duck_type);
			}
			buf_puts(&b, " FROM ");
			transform_source(&b, t, tx, task->id, !rc->direct, rc->load_id);
			buf_puts(&b, ") TO ");
			ok = parquet_target(&b, rc, task);
		}
		free(nt);
		if (!ok) {
			buf_release(&b);
			return NULL;
		}
		return buf_detach(&b);
	}
	if (rc->direct) {
		char *nt = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);
		if (!nt) {
			buf_release(&b);
			return NULL;
		}
		buf_puts(&b, "INSERT INTO ");
		duck_qualified(&b, rc->dataset, nt);
		free(nt);
		buf_puts(&b, " SELECT ");
		for (int i = 0; i < t->ncols; i++) {
			if (i)
				buf_puts(&b, ", ");
			if (schema_column_synthetic(&t->cols[i])) {
				transform_lineage_value(&b, t->cols[i].load_id ? TRANSFORM_LOAD_ID : TRANSFORM_DLT_ID,
							rc->load_id);
				continue;
			}
			buf_puts(&b, "CAST(");
			buf_ident(&b, t->cols[i].dest_name);
			buf_printf(&b, " AS %s)", t->cols[i].duck_type);
		}
		if (t->ncols == 0)
			buf_puts(&b, "*");
		buf_printf(&b, " FROM pg2md_scan(%d)", task->id);
	} else {
		buf_puts(&b, "COPY (SELECT ");
		for (int i = 0; i < t->ncols; i++) {
			if (i)
				buf_puts(&b, ", ");
			if (schema_column_synthetic(&t->cols[i])) {
				transform_lineage_value(&b, t->cols[i].load_id ? TRANSFORM_LOAD_ID : TRANSFORM_DLT_ID,
							rc->load_id);
				buf_puts(&b, " AS ");
			} else if (t->cols[i].stage_as_text) {
				buf_puts(&b, "CAST(");
				buf_ident(&b, t->cols[i].dest_name);
				buf_puts(&b, " AS VARCHAR) AS ");
			}
			buf_ident(&b, t->cols[i].dest_name);
		}
		if (t->ncols == 0)
			buf_puts(&b, "*");
		buf_printf(&b, " FROM pg2md_scan(%d)) TO ", task->id);
		if (!parquet_target(&b, rc, task)) {
			buf_release(&b);
			return NULL;
		}
	}
	return buf_detach(&b);
}

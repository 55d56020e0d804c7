/*
 * load_sql.c — the SQL that loads one table of a package, per write disposition.
 *
 * replace drops and recreates the table (staged) or renames the direct run's work table over it;
 * append inserts the new rows, skipping those an incremental closed range start reads again;
 * merge deduplicates the new rows into a table of the dataset, then either deletes the matched
 * rows and inserts (delete-insert, dlt's default), runs one MERGE (upsert), or inserts the new
 * keys only (insert-only).  The statements
 * run inside the load's transaction (stage/load.c), so readers never see a half-loaded table.
 */
#include "dest/load.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/*
 * merge's deduplicated new rows: a table of the dataset, created and dropped inside the load's
 * transaction (never seen outside it).  Not a TEMP table: those live in DuckDB's in-memory
 * catalog, and merging the 24 TPC-DS tables (scale 0.5) in one transaction ran out of the
 * 128 MB budget with them (696 MB peak RSS at 256 MB); a table of the file writes full row
 * groups out as it goes.
 */
#define MERGE_TABLE_PREFIX "_pg2md_merge__"
/*
 * The aliases of the load statements: names no table of the dataset has (a table named "m"
 * once made "DELETE FROM pg2md_data.m USING (…) m" an ambiguous reference).  AS_S: the incoming
 * rows; AS_T: the destination table; AS_M: the merge table or its keys; AS_K: kept keys.
 */
#define AS_S "_pg2md_s"
#define AS_T "_pg2md_t"
#define AS_M "_pg2md_m"
#define AS_K "_pg2md_k"

static void
column_defs(pg2md_buf *b, const manifest_column *cols, int ncols)
{
	buf_putc(b, '(');
	for (int i = 0; i < ncols; i++) {
		if (i)
			buf_puts(b, ", ");
		buf_ident(b, cols[i].dest_name);
		buf_printf(b, " %s", cols[i].duck_type);
		if (!cols[i].nullable)
			buf_puts(b, " NOT NULL");
	}
	buf_putc(b, ')');
}

/* "fn([<pkg_path>/<file>, …])" for a package's files (paths relative to it). */
void
parquet_files_call(pg2md_buf *b, const char *fn, const char *pkg_path, char *const *files, int nfiles)
{
	buf_printf(b, "%s([", fn);
	for (int i = 0; i < nfiles; i++) {
		char *p = xasprintf("%s/%s", pkg_path, files[i]);
		if (!p) {
			load_buf_break(b);
			return;
		}
		if (i)
			buf_puts(b, ", ");
		buf_literal(b, p);
		free(p);
	}
	buf_puts(b, "])");
}

/* "read_parquet([<pkg_path>/<file>, …])" */
void
read_parquet_files(pg2md_buf *b, const char *pkg_path, char *const *files, int nfiles)
{
	parquet_files_call(b, "read_parquet", pkg_path, files, nfiles);
}

/* The SELECT list that casts staged columns to their destination types (alias: their table's, or NULL). */
void
select_list(pg2md_buf *b, const manifest_column *cols, int ncols, const char *alias)
{
	if (ncols == 0) {
		buf_puts(b, alias ? alias : "");
		buf_puts(b, alias ? ".*" : "*");
		return;
	}
	for (int i = 0; i < ncols; i++) {
		const char *dn = cols[i].dest_name;
		pg2md_buf f = PG2MD_BUF_INIT;
		if (i)
			buf_puts(b, ", ");
		if (alias)
			buf_printf(&f, "%s.", alias);
		buf_ident(&f, dn);
		if (cols[i].staged_as) {
			/* interval_struct: the three fields added back together, exactly */
			buf_printf(b, "to_months(%s.months) + to_days(%s.days) + to_microseconds(%s.micros) AS ", f.data,
				   f.data, f.data);
		} else {
			buf_printf(b, "CAST(%s AS %s) AS ", f.data, cols[i].duck_type);
		}
		load_buf_taint(b, &f);
		buf_release(&f);
		buf_ident(b, dn);
	}
}

/* The type of column name of table t (the last that has the name), or NULL. */
static const char *
column_type(const manifest_table *t, const char *name)
{
	const manifest_column *c = manifest_find_column(t, name);
	return c ? c->duck_type : NULL;
}

/*
 * Incremental append with a closed range start reads the rows at the last
 * value again; those the destination already holds are skipped (matched on
 * the primary key, or on every column when there is none), as dlt does with
 * its boundary-row hashes.
 */
static void
append_boundary_filter(pg2md_buf *sql, const manifest_table *t, const char *target)
{
	const manifest_incremental *inc = &t->incremental;
	const char *cursor, *prev, *ctype;
	bool keys = t->npk > 0;

	if (!inc->present || !inc->start_closed)
		return;
	prev = inc->previous_last_value;
	cursor = inc->cursor;
	if (!prev || !cursor)
		return;
	ctype = column_type(t, cursor);
	if (!ctype)
		return;
	buf_puts(sql, " WHERE NOT EXISTS (SELECT 1 FROM ");
	buf_printf(sql, "%s " AS_T " WHERE CAST(" AS_S ".", target);
	buf_ident(sql, cursor);
	buf_printf(sql, " AS %s) = CAST(", ctype);
	buf_literal(sql, prev);
	buf_printf(sql, " AS %s) AND " AS_T ".", ctype);
	buf_ident(sql, cursor);
	buf_printf(sql, " = CAST(" AS_S ".");
	buf_ident(sql, cursor);
	buf_printf(sql, " AS %s)", ctype);
	for (int i = 0; i < (keys ? t->npk : t->ncols); i++) {
		const char *name = keys ? t->primary_key[i] : t->cols[i].dest_name;
		const char *type;
		if (!keys && t->cols[i].lineage)
			continue; /* differs per load (and per row): the rows are matched on their data */
		type = column_type(t, name);
		buf_puts(sql, " AND " AS_T ".");
		buf_ident(sql, name);
		buf_puts(sql, " IS NOT DISTINCT FROM CAST(" AS_S ".");
		buf_ident(sql, name);
		buf_printf(sql, " AS %s)", type ? type : "VARCHAR");
	}
	buf_puts(sql, ")");
}

/*
 * The package's files as read_parquet([...]) sources of at most batch_size rows each (a file is
 * never split; a larger file is a batch of its own): [destination.motherduck] batch_size bounds
 * the rows of one INSERT.  Returns the number of batches; each entry is a new string; -1 when
 * memory ran out (nothing to free).
 */
static int
parquet_batches(const manifest_table *t, const char *pkg_path, int64_t batch_size, char ***out)
{
	size_t n = (size_t)t->nfiles;
	char **batches = xcalloc(n + 1, sizeof(char *));
	int nb = 0;
	pg2md_buf cur = PG2MD_BUF_INIT;
	int64_t in_cur = 0;
	int files_in_cur = 0;
	bool oom = !batches;

	*out = NULL;
	for (size_t i = 0; i < n && !oom; i++) {
		int64_t r = t->file_rows[i];
		if (files_in_cur > 0 && batch_size > 0 && r >= 0 && in_cur + r > batch_size) {
			buf_puts(&cur, "])");
			oom = !(batches[nb++] = buf_detach(&cur));
			in_cur = 0;
			files_in_cur = 0;
		}
		buf_puts(&cur, files_in_cur ? ", " : "read_parquet([");
		char *p = xasprintf("%s/%s", pkg_path, t->files[i]);
		if (!p)
			oom = true;
		else
			buf_literal(&cur, p);
		free(p);
		in_cur += r > 0 ? r : 0;
		files_in_cur++;
	}
	if (files_in_cur > 0 && !oom) {
		buf_puts(&cur, "])");
		oom = !(batches[nb++] = buf_detach(&cur));
	}
	buf_release(&cur);
	if (oom) {
		for (int b = 0; batches && b < nb; b++)
			free(batches[b]);
		free(batches);
		return -1;
	}
	*out = batches;
	return nb;
}

/*
 * For key columns keys (destination names): list gets "k1, k2", cond gets
 * "<target>.k1 IS NOT DISTINCT FROM <alias>.k1 AND …" (a NULL key matches a NULL key).
 */
static void
key_match(char *const *keys, int nkeys, const char *target, const char *alias, pg2md_buf *list, pg2md_buf *cond)
{
	for (int i = 0; i < nkeys; i++) {
		if (i) {
			buf_puts(list, ", ");
			buf_puts(cond, " AND ");
		}
		buf_ident(list, keys[i]);
		buf_printf(cond, "%s.", target);
		buf_ident(cond, keys[i]);
		buf_printf(cond, " IS NOT DISTINCT FROM %s.", alias);
		buf_ident(cond, keys[i]);
	}
}

/* One table's load: where its rows go and where they come from. */
typedef struct table_load {
	const manifest_table *t;
	const char *dest;
	const char *target;   /* "dataset"."dest" */
	const char *src;      /* direct: the work table; staged: read_parquet of every file */
	const char *mt;       /* merge: the table of deduplicated new rows */
	char **batches;       /* staged: read_parquet sources of at most batch_size rows each */
	int nbatches;
	bool direct;
	bool has_rows;
} table_load;

/* replace: the table dropped and made again (staged), or the work table renamed (direct). */
static void
replace_sql(pg2md_buf *sql, const table_load *tl)
{
	buf_printf(sql, "DROP TABLE IF EXISTS %s;\n", tl->target);
	if (tl->direct) {
		buf_printf(sql, "ALTER TABLE %s RENAME TO ", tl->src);
		buf_ident(sql, tl->dest);
		buf_puts(sql, ";\n");
	} else {
		buf_printf(sql, "CREATE TABLE %s ", tl->target);
		column_defs(sql, tl->t->cols, tl->t->ncols);
		buf_puts(sql, ";\n");
		for (int b = 0; b < tl->nbatches; b++) {
			buf_printf(sql, "INSERT INTO %s SELECT ", tl->target);
			select_list(sql, tl->t->cols, tl->t->ncols, NULL);
			buf_printf(sql, " FROM %s;\n", tl->batches[b]);
		}
	}
}

/*
 * Whether a merge table's rows are large (4 kB or more on average, as read): one row per key is
 * then chosen in two steps (merge_new_rows_sql), and the load's budget counts one more window
 * instead of all the new rows (budget.c).
 */
bool
merge_rows_large(const manifest_table *t)
{
	return t->rows > 0 && t->bytes / t->rows >= MERGE_LARGE_ROW;
}

/*
 * merge: the new rows, one per key (part: the key columns), into the merge table.  When the rows
 * need deduplicating, one window function over them picks one per key, which holds them all:
 * fine for rows of a few hundred bytes (DuckDB spills what passes its budget), not for large ones
 * (6,000 rows of ~95 kB ran out at 295 MB, and needed 1.1-1.3 GB).  Large rows are done in two
 * steps: which row to keep, decided over the keys alone (and the dedup_sort column), then the
 * kept rows read whole through a semi-join that streams (749-897 MB for the same rows, and the
 * same for twice as many; docs/reliability.md).  For narrow rows the window is cheaper: 3 M rows
 * of 40 bytes took 1.9 s of CPU that way against 2.9 s in two steps.
 */
static void
merge_new_rows_sql(pg2md_buf *sql, const table_load *tl, const char *part)
{
	/* one row per key: the first by dedup_sort when set (dlt's dedup_sort hint) */
	const char *dsort = tl->t->dedup_sort;
	const char *dorder = tl->t->dedup_sort_order;
	bool dedup = tl->has_rows && !tl->t->key_unique && tl->t->npk > 0;

	if (dedup && !merge_rows_large(tl->t)) {
		buf_printf(sql, "CREATE OR REPLACE TABLE %s AS SELECT ", tl->mt);
		select_list(sql, tl->t->cols, tl->t->ncols, NULL);
		buf_printf(sql, " FROM %s QUALIFY row_number() OVER (PARTITION BY %s", tl->src, part);
		if (dsort) {
			buf_puts(sql, " ORDER BY ");
			buf_ident(sql, dsort);
			buf_puts(sql, dorder && strcmp(dorder, "asc") == 0 ? " ASC" : " DESC");
		}
		buf_puts(sql, ") = 1;\n");
		return;
	}
	if (dedup) {
		/* the keep table, "ds"."_pg2md_merge__t_keep": the kept rows' positions */
		char *kt = xasprintf("%.*s_keep\"", (int)strlen(tl->mt) - 1, tl->mt);
		if (!kt) {
			load_buf_break(sql);
			return;
		}
		pg2md_buf from = PG2MD_BUF_INIT;
		if (tl->direct) /* the work table's rows by rowid */
			buf_puts(&from, tl->src);
		else /* the files' rows by file (its index in the list) and position */
			buf_printf(&from, "%.*s, file_row_number = true)", (int)strlen(tl->src) - 1, tl->src);
		buf_printf(sql, "CREATE OR REPLACE TABLE %s AS SELECT %s FROM %s QUALIFY row_number() OVER (PARTITION BY %s",
			   kt, tl->direct ? "rowid AS pg2md_r" : "file_index AS pg2md_f, file_row_number AS pg2md_r", from.data, part);
		if (dsort) {
			buf_puts(sql, " ORDER BY ");
			buf_ident(sql, dsort);
			buf_puts(sql, dorder && strcmp(dorder, "asc") == 0 ? " ASC" : " DESC");
		}
		buf_puts(sql, ") = 1;\n");
		buf_printf(sql, "CREATE OR REPLACE TABLE %s AS SELECT ", tl->mt);
		select_list(sql, tl->t->cols, tl->t->ncols, AS_S);
		buf_printf(sql, " FROM %s " AS_S " SEMI JOIN %s " AS_K " ON %s;\nDROP TABLE %s;\n", from.data, kt,
			   tl->direct ? AS_S ".rowid = " AS_K ".pg2md_r" : AS_S ".file_index = " AS_K ".pg2md_f AND " AS_S ".file_row_number = " AS_K ".pg2md_r",
			   kt);
		load_buf_taint(sql, &from);
		buf_release(&from);
		free(kt);
		return;
	}
	buf_printf(sql, "CREATE OR REPLACE TABLE %s AS SELECT ", tl->mt);
	select_list(sql, tl->t->cols, tl->t->ncols, NULL);
	/* the source's own primary key: one row per key already (one snapshot); or no key
	 * (merge_key alone): every row is kept */
	if (tl->has_rows)
		buf_printf(sql, " FROM %s;\n", tl->src);
	else
		buf_puts(sql, " FROM (SELECT 1) WHERE false;\n");
}

/*
 * dlt's hard_delete: a row is flagged when its column hard is true (a boolean) or holds any value
 * (another type).  Appends that test of alias.hard (alias NULL: the bare column), or with
 * negate its opposite: the row is kept.
 */
static void
hard_delete_test(pg2md_buf *b, const manifest_table *t, const char *hard, const char *alias, bool negate)
{
	const char *htype = column_type(t, hard);
	bool boolean = htype && strcmp(htype, "BOOLEAN") == 0;
	if (boolean)
		buf_puts(b, negate ? "NOT coalesce(" : "coalesce(");
	if (alias)
		buf_printf(b, "%s.", alias);
	buf_ident(b, hard);
	if (boolean)
		buf_puts(b, ", false)");
	else
		buf_puts(b, negate ? " IS NULL" : " IS NOT NULL");
}

/* dlt's upsert strategy, as DuckDB's MERGE: update matched keys, insert new ones, delete flagged ones */
static void
merge_upsert_sql(pg2md_buf *sql, const table_load *tl, const char *cond, const char *hard)
{
	pg2md_buf flagged = PG2MD_BUF_INIT;
	const manifest_column *cols = tl->t->cols;
	int ncols = tl->t->ncols;

	if (hard)
		hard_delete_test(&flagged, tl->t, hard, AS_S, false);
	buf_printf(sql, "MERGE INTO %s USING %s AS " AS_S " ON (%s)", tl->target, tl->mt, cond);
	if (hard)
		buf_printf(sql, " WHEN MATCHED AND %s THEN DELETE", flagged.data);
	buf_puts(sql, " WHEN MATCHED THEN UPDATE SET ");
	for (int k = 0; k < ncols; k++) {
		if (k)
			buf_puts(sql, ", ");
		buf_ident(sql, cols[k].dest_name);
		buf_puts(sql, " = " AS_S ".");
		buf_ident(sql, cols[k].dest_name);
	}
	buf_puts(sql, " WHEN NOT MATCHED");
	if (hard)
		buf_printf(sql, " AND NOT %s", flagged.data);
	buf_puts(sql, " THEN INSERT (");
	for (int k = 0; k < ncols; k++) {
		if (k)
			buf_puts(sql, ", ");
		buf_ident(sql, cols[k].dest_name);
	}
	buf_puts(sql, ") VALUES (");
	for (int k = 0; k < ncols; k++) {
		if (k)
			buf_puts(sql, ", ");
		buf_puts(sql, AS_S ".");
		buf_ident(sql, cols[k].dest_name);
	}
	buf_printf(sql, ");\nDROP TABLE %s;\n", tl->mt);
	load_buf_taint(sql, &flagged);
	buf_release(&flagged);
}

/* merge's delete-insert strategy (the default): the matched rows go, the new rows come in. */
static void
merge_delete_insert_sql(pg2md_buf *sql, const table_load *tl, const char *cond, const char *hard)
{
	if (tl->t->npk > 0)
		buf_printf(sql, "DELETE FROM %s USING %s " AS_S " WHERE %s;\n", tl->target, tl->mt, cond);
	if (tl->t->nmerge_key > 0) {
		/* dlt's merge_key: every row of the table whose merge key an incoming row has
		 * goes (a day, a tenant, a partition reloaded whole) */
		pg2md_buf mlist = PG2MD_BUF_INIT, mcond = PG2MD_BUF_INIT;
		key_match(tl->t->merge_key, tl->t->nmerge_key, tl->target, AS_M, &mlist, &mcond);
		buf_printf(sql, "DELETE FROM %s USING (SELECT DISTINCT %s FROM %s) " AS_M " WHERE %s;\n", tl->target,
			   mlist.data, tl->mt, mcond.data);
		load_buf_taint(sql, &mlist);
		load_buf_taint(sql, &mcond);
		buf_release(&mlist);
		buf_release(&mcond);
	}
	buf_printf(sql, "INSERT INTO %s BY NAME SELECT * FROM %s", tl->target, tl->mt);
	if (hard) {
		/* a flagged row is removed (its key deleted above), not inserted */
		buf_puts(sql, " WHERE ");
		hard_delete_test(sql, tl->t, hard, NULL, true);
	}
	buf_printf(sql, ";\nDROP TABLE %s;\n", tl->mt);
}

/*
 * dlt's insert-only strategy: a row whose key the destination already holds is skipped, a new
 * key inserted (a flagged hard_delete row never is); nothing is updated or deleted.
 */
static void
merge_insert_only_sql(pg2md_buf *sql, const table_load *tl, const char *cond, const char *hard)
{
	buf_printf(sql, "INSERT INTO %s BY NAME SELECT * FROM %s " AS_S " WHERE NOT EXISTS (SELECT 1 FROM %s WHERE %s)",
		   tl->target, tl->mt, tl->target, cond);
	if (hard) {
		buf_puts(sql, " AND ");
		hard_delete_test(sql, tl->t, hard, AS_S, true);
	}
	buf_printf(sql, ";\nDROP TABLE %s;\n", tl->mt);
}

/*
 * scd2's row hash: md5 over the row's non-NULL columns in the order of their names, each as
 * <name length>:<name><value length>:<value> (a prefix-free encoding: no two rows collide by
 * concatenation).  A NULL column adds nothing, so a column added to the table leaves the hash
 * of every row that has no value in it unchanged.  Values are their DuckDB text, with two
 * exceptions so that a value read differently does not make a new version: a decimal (or a
 * numeric kept as text) without trailing fractional zeros, so widening DECIMAL(18,2) to
 * DECIMAL(38,4) changes no hash; and time zones are UTC (scd2_sql sets it), so the text of a
 * timestamptz does not depend on the machine.
 */
static void
scd2_row_hash(pg2md_buf *b, const manifest_column *cols, int ncols)
{
	size_t k = 0;
	const manifest_column **sorted = xcalloc((size_t)ncols + 1, sizeof(manifest_column *));

	if (!sorted) {
		load_buf_break(b);
		return;
	}
	for (int i = 0; i < ncols; i++)
		if (!cols[i].lineage) /* differs per load: not the row's data */
			sorted[k++] = &cols[i];
	for (size_t x = 1; x < k; x++) /* insertion sort by destination name: few columns */
		for (size_t y = x; y > 0 && strcmp(sorted[y - 1]->dest_name, sorted[y]->dest_name) > 0; y--) {
			const manifest_column *t = sorted[y];
			sorted[y] = sorted[y - 1];
			sorted[y - 1] = t;
		}
	buf_puts(b, "md5(");
	for (size_t x = 0; x < k; x++) {
		const char *dn = sorted[x]->dest_name;
		const char *type = sorted[x]->duck_type;
		const char *pgt = sorted[x]->pg_type;
		bool numeric = strncmp(type, "DECIMAL", 7) == 0 ||
			       (strcmp(type, "VARCHAR") == 0 && pgt && strcmp(pgt, "numeric") == 0);
		pg2md_buf v = PG2MD_BUF_INIT, tag = PG2MD_BUF_INIT;

		buf_puts(&v, "CAST(");
		buf_ident(&v, dn);
		buf_puts(&v, " AS VARCHAR)");
		if (numeric) {
			char *plain = buf_detach(&v);
			if (!plain)
				load_buf_break(&v); /* b is tainted below */
			else
				buf_printf(&v, "(CASE WHEN contains(%s, '.') THEN rtrim(rtrim(%s, '0'), '.') ELSE %s END)", plain,
				   plain, plain);
			free(plain);
		}
		buf_printf(&tag, "%zu:%s", strlen(dn), dn);
		if (x)
			buf_puts(b, " || ");
		buf_puts(b, "CASE WHEN ");
		buf_ident(b, dn);
		buf_puts(b, " IS NULL THEN '' ELSE ");
		buf_literal(b, tag.data);
		buf_printf(b, " || CAST(strlen(%s) AS VARCHAR) || ':' || %s END", v.data, v.data);
		load_buf_taint(b, &v);
		load_buf_taint(b, &tag);
		buf_release(&v);
		buf_release(&tag);
	}
	if (k == 0)
		buf_puts(b, "''");
	buf_putc(b, ')');
	free((void *)sorted);
}

/*
 * dlt's scd2 strategy: the table keeps every version of every row, each valid from the load
 * that brought it (valid-from) until the load that no longer saw it (valid-to; NULL, or
 * active_record_timestamp, while it is current).  A version is identified by the row hash in
 * _dlt_id (or by the user's row_version_column_name): active versions absent from the new rows
 * are retired (only those whose merge_key values the new rows have, when one is set: how
 * incremental scd2 works), and new rows whose version is not active are inserted.  A row
 * flagged by hard_delete retires its version and is not inserted.
 */
static void
scd2_sql(pg2md_buf *sql, const table_load *tl, const char *hard)
{
	const manifest_scd2 *o = tl->t->scd2;
	const char *from = o->valid_from;
	const char *to = o->valid_to;
	const char *rv = o->row_version;
	const char *hashc = o->hash_column;
	const char *version = rv ? rv : hashc;
	pg2md_buf boundary = PG2MD_BUF_INIT, active = PG2MD_BUF_INIT, is_active = PG2MD_BUF_INIT;
	pg2md_buf ver = PG2MD_BUF_INIT, keep = PG2MD_BUF_INIT;
	const char *kept;
	manifest_column *data = xcalloc((size_t)tl->t->ncols + 1, sizeof(manifest_column));
	int ndata = 0;

	if (!data) {
		load_buf_break(sql);
		return;
	}

	buf_puts(&boundary, "CAST(");
	buf_literal(&boundary, o->boundary);
	buf_puts(&boundary, " AS TIMESTAMPTZ)");
	buf_ident(&is_active, to);
	if (o->active) {
		buf_puts(&active, "CAST(");
		buf_literal(&active, o->active);
		buf_puts(&active, " AS TIMESTAMPTZ)");
		buf_printf(&is_active, " = %s", active.data);
	} else {
		buf_puts(&active, "CAST(NULL AS TIMESTAMPTZ)");
		buf_puts(&is_active, " IS NULL");
	}
	buf_ident(&ver, version);
	/* the new rows' columns: without the random _dlt_id when the hash takes its place */
	for (int i = 0; i < tl->t->ncols; i++) {
		const char *lk = tl->t->cols[i].lineage;
		if (!rv && lk && strcmp(lk, "dlt_id") == 0)
			continue;
		data[ndata++] = tl->t->cols[i]; /* a shallow copy: the strings stay the manifest's */
	}

	buf_puts(sql, "SET TimeZone = 'UTC';\n");
	buf_printf(sql, "CREATE OR REPLACE TABLE %s AS SELECT *", tl->mt);
	if (!rv) {
		buf_puts(sql, ", ");
		scd2_row_hash(sql, data, ndata);
		buf_puts(sql, " AS ");
		buf_ident(sql, hashc);
	}
	buf_puts(sql, " FROM (SELECT ");
	select_list(sql, data, ndata, NULL);
	if (tl->has_rows)
		buf_printf(sql, " FROM %s) " AS_S ";\n", tl->src);
	else
		buf_puts(sql, " FROM (SELECT 1) WHERE false) " AS_S ";\n");

	if (hard) {
		buf_puts(&keep, " AND ");
		hard_delete_test(&keep, tl->t, hard, AS_M, true);
	}
	kept = keep.len ? keep.data : "";
	/* retire the active versions the new rows no longer have */
	buf_printf(sql, "UPDATE %s SET ", tl->target);
	buf_ident(sql, to);
	buf_printf(sql, " = %s WHERE %s AND NOT EXISTS (SELECT 1 FROM %s " AS_M " WHERE " AS_M ".%s IS NOT DISTINCT FROM %s.%s%s)",
		   boundary.data, is_active.data, tl->mt, ver.data, tl->target, ver.data, kept);
	if (tl->t->nmerge_key > 0) {
		pg2md_buf mlist = PG2MD_BUF_INIT, mcond = PG2MD_BUF_INIT;
		key_match(tl->t->merge_key, tl->t->nmerge_key, tl->target, AS_M, &mlist, &mcond);
		buf_printf(sql, " AND EXISTS (SELECT 1 FROM %s " AS_M " WHERE %s)", tl->mt, mcond.data);
		load_buf_taint(sql, &mcond);
		buf_release(&mlist);
		buf_release(&mcond);
	}
	buf_puts(sql, ";\n");
	/* open the new versions */
	buf_printf(sql, "INSERT INTO %s BY NAME SELECT " AS_M ".*, %s AS ", tl->target, boundary.data);
	buf_ident(sql, from);
	buf_printf(sql, ", %s AS ", active.data);
	buf_ident(sql, to);
	buf_printf(sql, " FROM %s " AS_M " WHERE NOT EXISTS (SELECT 1 FROM %s " AS_T " WHERE " AS_T ".%s IS NOT DISTINCT FROM " AS_M ".%s AND " AS_T ".",
		   tl->mt, tl->target, ver.data, ver.data);
	buf_puts(sql, is_active.data);
	buf_printf(sql, ")%s;\nDROP TABLE %s;\nRESET TimeZone;\n", kept, tl->mt);

	free(data);
	load_buf_taint(sql, &boundary);
	load_buf_taint(sql, &active);
	load_buf_taint(sql, &is_active);
	load_buf_taint(sql, &ver);
	load_buf_taint(sql, &keep);
	buf_release(&boundary);
	buf_release(&active);
	buf_release(&is_active);
	buf_release(&ver);
	buf_release(&keep);
}

/* scd2's table: the new rows' columns, the hash column (unless a row version column is named)
 * and the two validity columns. */
static void
scd2_column_defs(pg2md_buf *b, const manifest_table *t)
{
	const manifest_scd2 *o = t->scd2;
	manifest_column *defs = xcalloc((size_t)t->ncols + 4, sizeof(manifest_column));
	int n = 0;

	if (!defs) {
		load_buf_break(b);
		return;
	}

	for (int i = 0; i < t->ncols; i++) {
		const char *lk = t->cols[i].lineage;
		if (!o->row_version && lk && strcmp(lk, "dlt_id") == 0)
			continue;
		defs[n++] = t->cols[i]; /* shallow: the strings stay the manifest's */
	}
	if (!o->row_version)
		defs[n++] = (manifest_column){.dest_name = o->hash_column, .duck_type = (char *)"VARCHAR"};
	defs[n++] = (manifest_column){.dest_name = o->valid_from, .duck_type = (char *)"TIMESTAMPTZ", .nullable = true};
	defs[n++] = (manifest_column){.dest_name = o->valid_to, .duck_type = (char *)"TIMESTAMPTZ", .nullable = true};
	column_defs(b, defs, n);
	free(defs);
}

/* merge: deduplicate the new rows, then upsert, insert-only or delete-insert them. */
static pg2md_code
merge_sql(pg2md_buf *sql, const table_load *tl, pg2md_error *err)
{
	const char *hard = tl->t->hard_delete;
	const char *strategy = tl->t->merge_strategy;
	pg2md_buf part = PG2MD_BUF_INIT, cond = PG2MD_BUF_INIT;

	if (tl->t->scd2) {
		scd2_sql(sql, tl, hard);
		return PG2MD_OK;
	}
	if (tl->t->npk == 0 && tl->t->nmerge_key == 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has write_disposition \"merge\" but no primary key",
			   tl->t->name);
		pg2md_hint(err, "add a primary key at the source, or set primary_key under "
				"[sources.sql_database.%s]", tl->t->name);
		return err->code;
	}
	key_match(tl->t->primary_key, tl->t->npk, tl->target, AS_S, &part, &cond);
	merge_new_rows_sql(sql, tl, part.data);
	if (strategy && strcmp(strategy, "upsert") == 0)
		merge_upsert_sql(sql, tl, cond.data, hard);
	else if (strategy && strcmp(strategy, "insert-only") == 0)
		merge_insert_only_sql(sql, tl, cond.data, hard);
	else
		merge_delete_insert_sql(sql, tl, cond.data, hard);
	load_buf_taint(sql, &part);
	load_buf_taint(sql, &cond);
	buf_release(&part);
	buf_release(&cond);
	return PG2MD_OK;
}

/* append: the new rows added, past the rows an incremental range start reads again. */
static void
append_sql(pg2md_buf *sql, const table_load *tl)
{
	if (!tl->has_rows)
		return;
	/* direct: one statement from the work table; staged: one per batch of files */
	for (int b = 0; b < (tl->direct ? 1 : tl->nbatches); b++) {
		buf_printf(sql, "INSERT INTO %s BY NAME SELECT ", tl->target);
		select_list(sql, tl->t->cols, tl->t->ncols, NULL);
		buf_printf(sql, " FROM %s " AS_S, tl->direct ? tl->src : tl->batches[b]);
		append_boundary_filter(sql, tl->t, tl->target);
		buf_puts(sql, ";\n");
	}
}

pg2md_code
load_table_sql(pg2md_buf *sql, const manifest_table *t, const char *dataset, const char *pkg_path, bool direct,
	       int64_t batch_size, pg2md_error *err)
{
	const char *dest = t->dest_name;
	const char *disp = t->disposition;
	pg2md_buf src = PG2MD_BUF_INIT, target = PG2MD_BUF_INIT, mt = PG2MD_BUF_INIT;
	char *newt = xasprintf(NEW_TABLE_PREFIX "%s", dest);
	char *merget = xasprintf(MERGE_TABLE_PREFIX "%s", dest);
	table_load tl = {t, dest, NULL, NULL, NULL, NULL, 0, direct, direct || t->nfiles > 0};

	if (!newt || !merget) {
		pg2md_nomem(err);
		goto out;
	}
	tl.nbatches = direct ? 0 : parquet_batches(t, pkg_path, batch_size, &tl.batches);
	if (tl.nbatches < 0) {
		tl.nbatches = 0;
		pg2md_nomem(err);
		goto out;
	}
	duck_qualified(&target, dataset, dest);
	duck_qualified(&mt, dataset, merget);
	if (direct) {
		duck_qualified(&src, dataset, newt);
	} else {
		read_parquet_files(&src, pkg_path, t->files, t->nfiles);
	}
	if (buf_broken(&target) || buf_broken(&src) || buf_broken(&mt)) {
		pg2md_nomem(err);
		goto out;
	}
	tl.target = target.data;
	tl.src = src.data;
	tl.mt = mt.data;

	if (strcmp(disp, "replace") == 0) {
		replace_sql(sql, &tl);
	} else if (strcmp(disp, "append") == 0 || strcmp(disp, "merge") == 0) {
		buf_printf(sql, "CREATE TABLE IF NOT EXISTS %s ", target.data);
		if (strcmp(disp, "merge") == 0 && t->scd2)
			scd2_column_defs(sql, t);
		else
			column_defs(sql, t->cols, t->ncols);
		buf_puts(sql, ";\n");
		if (strcmp(disp, "merge") == 0) {
			if (merge_sql(sql, &tl, err))
				goto out;
		} else {
			append_sql(sql, &tl);
		}
		if (direct)
			buf_printf(sql, "DROP TABLE IF EXISTS %s;\n", src.data);
	} else {
		pg2md_fail(err, PG2MD_ERR_USAGE, "unknown write disposition \"%s\"", disp);
	}
	if (buf_broken(sql))
		pg2md_nomem(err);
out:
	for (int b = 0; b < tl.nbatches; b++)
		free(tl.batches[b]);
	free(tl.batches);
	buf_release(&src);
	buf_release(&target);
	buf_release(&mt);
	free(newt);
	free(merget);
	return err->code;
}

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

static void
column_defs(pg2md_buf *b, json_t *cols)
{
	size_t i;
	json_t *c;
	buf_putc(b, '(');
	json_array_foreach(cols, i, c) {
		if (i)
			buf_puts(b, ", ");
		buf_ident(b, json_string_value(json_object_get(c, "dest_name")));
		buf_printf(b, " %s", json_string_value(json_object_get(c, "duck_type")));
		if (!json_is_true(json_object_get(c, "nullable")))
			buf_puts(b, " NOT NULL");
	}
	buf_putc(b, ')');
}

/* "fn([<pkg_path>/<file>, …])" for a package's files (paths relative to it). */
void
parquet_files_call(pg2md_buf *b, const char *fn, const char *pkg_path, json_t *files)
{
	size_t i;
	json_t *f;
	buf_printf(b, "%s([", fn);
	json_array_foreach(files, i, f) {
		char *p = xasprintf("%s/%s", pkg_path, json_string_value(f));
		if (i)
			buf_puts(b, ", ");
		buf_literal(b, p);
		free(p);
	}
	buf_puts(b, "])");
}

/* "read_parquet([<pkg_path>/<file>, …])" */
void
read_parquet_files(pg2md_buf *b, const char *pkg_path, json_t *files)
{
	parquet_files_call(b, "read_parquet", pkg_path, files);
}

/* The SELECT list that casts staged columns to their destination types (alias: their table's, or NULL). */
void
select_list(pg2md_buf *b, json_t *cols, const char *alias)
{
	size_t i;
	json_t *c;
	if (json_array_size(cols) == 0) {
		buf_puts(b, alias ? alias : "");
		buf_puts(b, alias ? ".*" : "*");
		return;
	}
	json_array_foreach(cols, i, c) {
		const char *dn = json_string_value(json_object_get(c, "dest_name"));
		pg2md_buf f = PG2MD_BUF_INIT;
		if (i)
			buf_puts(b, ", ");
		if (alias)
			buf_printf(&f, "%s.", alias);
		buf_ident(&f, dn);
		if (json_string_value(json_object_get(c, "staged_as"))) {
			/* interval_struct: the three fields added back together, exactly */
			buf_printf(b, "to_months(%s.months) + to_days(%s.days) + to_microseconds(%s.micros) AS ", f.data,
				   f.data, f.data);
		} else {
			buf_printf(b, "CAST(%s AS %s) AS ", f.data, json_string_value(json_object_get(c, "duck_type")));
		}
		buf_release(&f);
		buf_ident(b, dn);
	}
}

/* The type of column name among cols (the last that has the name), or NULL. */
static const char *
column_type(json_t *cols, const char *name)
{
	const char *type = NULL;
	json_t *c;
	size_t i;
	json_array_foreach(cols, i, c)
		if (strcmp(json_string_value(json_object_get(c, "dest_name")), name) == 0)
			type = json_string_value(json_object_get(c, "duck_type"));
	return type;
}

/*
 * Incremental append with a closed range start reads the rows at the last
 * value again; those the destination already holds are skipped (matched on
 * the primary key, or on every column when there is none), as dlt does with
 * its boundary-row hashes.
 */
static void
append_boundary_filter(pg2md_buf *sql, json_t *jt, const char *target)
{
	json_t *inc = json_object_get(jt, "incremental");
	json_t *pk = json_object_get(jt, "primary_key");
	json_t *cols = json_object_get(jt, "columns");
	const char *cursor, *prev, *ctype;
	json_t *c, *keys;
	size_t i;

	if (!json_is_object(inc) || !json_is_true(json_object_get(inc, "start_closed")))
		return;
	prev = json_string_value(json_object_get(inc, "previous_last_value"));
	cursor = json_string_value(json_object_get(inc, "cursor"));
	if (!prev || !cursor)
		return;
	ctype = column_type(cols, cursor);
	if (!ctype)
		return;
	keys = json_array_size(pk) ? pk : NULL;
	buf_puts(sql, " WHERE NOT EXISTS (SELECT 1 FROM ");
	buf_printf(sql, "%s t WHERE CAST(s.", target);
	buf_ident(sql, cursor);
	buf_printf(sql, " AS %s) = CAST(", ctype);
	buf_literal(sql, prev);
	buf_printf(sql, " AS %s) AND t.", ctype);
	buf_ident(sql, cursor);
	buf_printf(sql, " = CAST(s.");
	buf_ident(sql, cursor);
	buf_printf(sql, " AS %s)", ctype);
	json_array_foreach(keys ? keys : cols, i, c) {
		const char *name = keys ? json_string_value(c) : json_string_value(json_object_get(c, "dest_name"));
		const char *type;
		if (!keys && json_object_get(c, "lineage"))
			continue; /* differs per load (and per row): the rows are matched on their data */
		type = column_type(cols, name);
		buf_puts(sql, " AND t.");
		buf_ident(sql, name);
		buf_puts(sql, " IS NOT DISTINCT FROM CAST(s.");
		buf_ident(sql, name);
		buf_printf(sql, " AS %s)", type ? type : "VARCHAR");
	}
	buf_puts(sql, ")");
}

/*
 * The package's files as read_parquet([...]) sources of at most batch_size rows each (a file is
 * never split; a larger file is a batch of its own): [destination.motherduck] batch_size bounds
 * the rows of one INSERT.  Returns the number of batches; each entry is a new string.
 */
static int
parquet_batches(json_t *jt, const char *pkg_path, int64_t batch_size, char ***out)
{
	json_t *files = json_object_get(jt, "files"), *rows = json_object_get(jt, "file_rows");
	size_t n = json_array_size(files);
	char **batches = xcalloc(n + 1, sizeof(char *));
	int nb = 0;
	pg2md_buf cur = PG2MD_BUF_INIT;
	int64_t in_cur = 0;
	int files_in_cur = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t r = json_integer_value(json_array_get(rows, i));
		if (files_in_cur > 0 && batch_size > 0 && r >= 0 && in_cur + r > batch_size) {
			buf_puts(&cur, "])");
			batches[nb++] = buf_detach(&cur);
			in_cur = 0;
			files_in_cur = 0;
		}
		buf_puts(&cur, files_in_cur ? ", " : "read_parquet([");
		char *p = xasprintf("%s/%s", pkg_path, json_string_value(json_array_get(files, i)));
		buf_literal(&cur, p);
		free(p);
		in_cur += r > 0 ? r : 0;
		files_in_cur++;
	}
	if (files_in_cur > 0) {
		buf_puts(&cur, "])");
		batches[nb++] = buf_detach(&cur);
	}
	buf_release(&cur);
	*out = batches;
	return nb;
}

/*
 * For key columns keys (destination names): list gets "k1, k2", cond gets
 * "<target>.k1 IS NOT DISTINCT FROM <alias>.k1 AND …" (a NULL key matches a NULL key).
 */
static void
key_match(json_t *keys, const char *target, const char *alias, pg2md_buf *list, pg2md_buf *cond)
{
	size_t i;
	json_t *f;

	json_array_foreach(keys, i, f) {
		if (i) {
			buf_puts(list, ", ");
			buf_puts(cond, " AND ");
		}
		buf_ident(list, json_string_value(f));
		buf_printf(cond, "%s.", target);
		buf_ident(cond, json_string_value(f));
		buf_printf(cond, " IS NOT DISTINCT FROM %s.", alias);
		buf_ident(cond, json_string_value(f));
	}
}

/* One table's load: where its rows go and where they come from. */
typedef struct table_load {
	json_t *jt;
	json_t *cols;
	json_t *pk;
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
		column_defs(sql, tl->cols);
		buf_puts(sql, ";\n");
		for (int b = 0; b < tl->nbatches; b++) {
			buf_printf(sql, "INSERT INTO %s SELECT ", tl->target);
			select_list(sql, tl->cols, NULL);
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
merge_rows_large(json_t *jt)
{
	int64_t rows = json_integer_value(json_object_get(jt, "rows"));
	int64_t bytes = json_integer_value(json_object_get(jt, "bytes"));
	return rows > 0 && bytes / rows >= MERGE_LARGE_ROW;
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
	const char *dsort = json_string_value(json_object_get(tl->jt, "dedup_sort"));
	const char *dorder = json_string_value(json_object_get(tl->jt, "dedup_sort_order"));
	bool dedup = tl->has_rows && !json_is_true(json_object_get(tl->jt, "key_unique")) && json_array_size(tl->pk) > 0;

	if (dedup && !merge_rows_large(tl->jt)) {
		buf_printf(sql, "CREATE OR REPLACE TABLE %s AS SELECT ", tl->mt);
		select_list(sql, tl->cols, NULL);
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
		select_list(sql, tl->cols, "s");
		buf_printf(sql, " FROM %s s SEMI JOIN %s k ON %s;\nDROP TABLE %s;\n", from.data, kt,
			   tl->direct ? "s.rowid = k.pg2md_r" : "s.file_index = k.pg2md_f AND s.file_row_number = k.pg2md_r",
			   kt);
		buf_release(&from);
		free(kt);
		return;
	}
	buf_printf(sql, "CREATE OR REPLACE TABLE %s AS SELECT ", tl->mt);
	select_list(sql, tl->cols, NULL);
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
hard_delete_test(pg2md_buf *b, json_t *cols, const char *hard, const char *alias, bool negate)
{
	const char *htype = column_type(cols, hard);
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
	json_t *cc;
	size_t k;

	if (hard)
		hard_delete_test(&flagged, tl->cols, hard, "s", false);
	buf_printf(sql, "MERGE INTO %s USING %s AS s ON (%s)", tl->target, tl->mt, cond);
	if (hard)
		buf_printf(sql, " WHEN MATCHED AND %s THEN DELETE", flagged.data);
	buf_puts(sql, " WHEN MATCHED THEN UPDATE SET ");
	json_array_foreach(tl->cols, k, cc) {
		if (k)
			buf_puts(sql, ", ");
		buf_ident(sql, json_string_value(json_object_get(cc, "dest_name")));
		buf_puts(sql, " = s.");
		buf_ident(sql, json_string_value(json_object_get(cc, "dest_name")));
	}
	buf_puts(sql, " WHEN NOT MATCHED");
	if (hard)
		buf_printf(sql, " AND NOT %s", flagged.data);
	buf_puts(sql, " THEN INSERT (");
	json_array_foreach(tl->cols, k, cc) {
		if (k)
			buf_puts(sql, ", ");
		buf_ident(sql, json_string_value(json_object_get(cc, "dest_name")));
	}
	buf_puts(sql, ") VALUES (");
	json_array_foreach(tl->cols, k, cc) {
		if (k)
			buf_puts(sql, ", ");
		buf_puts(sql, "s.");
		buf_ident(sql, json_string_value(json_object_get(cc, "dest_name")));
	}
	buf_printf(sql, ");\nDROP TABLE %s;\n", tl->mt);
	buf_release(&flagged);
}

/* merge's delete-insert strategy (the default): the matched rows go, the new rows come in. */
static void
merge_delete_insert_sql(pg2md_buf *sql, const table_load *tl, json_t *mk, const char *cond, const char *hard)
{
	if (json_array_size(tl->pk) > 0)
		buf_printf(sql, "DELETE FROM %s USING %s s WHERE %s;\n", tl->target, tl->mt, cond);
	if (json_array_size(mk) > 0) {
		/* dlt's merge_key: every row of the table whose merge key an incoming row has
		 * goes (a day, a tenant, a partition reloaded whole) */
		pg2md_buf mlist = PG2MD_BUF_INIT, mcond = PG2MD_BUF_INIT;
		key_match(mk, tl->target, "m", &mlist, &mcond);
		buf_printf(sql, "DELETE FROM %s USING (SELECT DISTINCT %s FROM %s) m WHERE %s;\n", tl->target,
			   mlist.data, tl->mt, mcond.data);
		buf_release(&mlist);
		buf_release(&mcond);
	}
	buf_printf(sql, "INSERT INTO %s BY NAME SELECT * FROM %s", tl->target, tl->mt);
	if (hard) {
		/* a flagged row is removed (its key deleted above), not inserted */
		buf_puts(sql, " WHERE ");
		hard_delete_test(sql, tl->cols, hard, NULL, true);
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
	buf_printf(sql, "INSERT INTO %s BY NAME SELECT * FROM %s s WHERE NOT EXISTS (SELECT 1 FROM %s WHERE %s)",
		   tl->target, tl->mt, tl->target, cond);
	if (hard) {
		buf_puts(sql, " AND ");
		hard_delete_test(sql, tl->cols, hard, "s", true);
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
scd2_row_hash(pg2md_buf *b, json_t *cols)
{
	size_t n = json_array_size(cols), k = 0;
	json_t **sorted = xcalloc(n + 1, sizeof(json_t *));
	json_t *c;
	size_t i;

	json_array_foreach(cols, i, c)
		sorted[k++] = c;
	for (size_t x = 1; x < k; x++) /* insertion sort by destination name: few columns */
		for (size_t y = x; y > 0 && strcmp(json_string_value(json_object_get(sorted[y - 1], "dest_name")),
						 json_string_value(json_object_get(sorted[y], "dest_name"))) > 0; y--) {
			json_t *t = sorted[y];
			sorted[y] = sorted[y - 1];
			sorted[y - 1] = t;
		}
	buf_puts(b, "md5(");
	for (size_t x = 0; x < k; x++) {
		const char *dn = json_string_value(json_object_get(sorted[x], "dest_name"));
		const char *type = json_string_value(json_object_get(sorted[x], "duck_type"));
		const char *pgt = json_string_value(json_object_get(sorted[x], "pg_type"));
		bool numeric = strncmp(type, "DECIMAL", 7) == 0 ||
			       (strcmp(type, "VARCHAR") == 0 && pgt && strcmp(pgt, "numeric") == 0);
		pg2md_buf v = PG2MD_BUF_INIT, tag = PG2MD_BUF_INIT;

		buf_puts(&v, "CAST(");
		buf_ident(&v, dn);
		buf_puts(&v, " AS VARCHAR)");
		if (numeric) {
			char *plain = buf_detach(&v);
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
		buf_release(&v);
		buf_release(&tag);
	}
	if (k == 0)
		buf_puts(b, "''");
	buf_putc(b, ')');
	free(sorted);
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
scd2_sql(pg2md_buf *sql, const table_load *tl, json_t *mk, const char *hard)
{
	json_t *o = json_object_get(tl->jt, "scd2");
	const char *from = json_string_value(json_object_get(o, "valid_from"));
	const char *to = json_string_value(json_object_get(o, "valid_to"));
	const char *rv = json_string_value(json_object_get(o, "row_version"));
	const char *hashc = json_string_value(json_object_get(o, "hash_column"));
	const char *version = rv ? rv : hashc;
	pg2md_buf boundary = PG2MD_BUF_INIT, active = PG2MD_BUF_INIT, is_active = PG2MD_BUF_INIT;
	pg2md_buf ver = PG2MD_BUF_INIT, keep = PG2MD_BUF_INIT;
	const char *kept;
	json_t *data = json_array(), *c;
	size_t i;

	buf_puts(&boundary, "CAST(");
	buf_literal(&boundary, json_string_value(json_object_get(o, "boundary")));
	buf_puts(&boundary, " AS TIMESTAMPTZ)");
	buf_ident(&is_active, to);
	if (json_is_string(json_object_get(o, "active"))) {
		buf_puts(&active, "CAST(");
		buf_literal(&active, json_string_value(json_object_get(o, "active")));
		buf_puts(&active, " AS TIMESTAMPTZ)");
		buf_printf(&is_active, " = %s", active.data);
	} else {
		buf_puts(&active, "CAST(NULL AS TIMESTAMPTZ)");
		buf_puts(&is_active, " IS NULL");
	}
	buf_ident(&ver, version);
	/* the new rows' columns: without the random _dlt_id when the hash takes its place */
	json_array_foreach(tl->cols, i, c) {
		const char *lk = json_string_value(json_object_get(c, "lineage"));
		if (!rv && lk && strcmp(lk, "dlt_id") == 0)
			continue;
		json_array_append(data, c);
	}

	buf_puts(sql, "SET TimeZone = 'UTC';\n");
	buf_printf(sql, "CREATE OR REPLACE TABLE %s AS SELECT *", tl->mt);
	if (!rv) {
		json_t *user = json_array();
		json_array_foreach(data, i, c)
			if (!json_object_get(c, "lineage"))
				json_array_append(user, c);
		buf_puts(sql, ", ");
		scd2_row_hash(sql, user);
		buf_puts(sql, " AS ");
		buf_ident(sql, hashc);
		json_decref(user);
	}
	buf_puts(sql, " FROM (SELECT ");
	select_list(sql, data, NULL);
	if (tl->has_rows)
		buf_printf(sql, " FROM %s) s;\n", tl->src);
	else
		buf_puts(sql, " FROM (SELECT 1) WHERE false) s;\n");

	if (hard) {
		buf_puts(&keep, " AND ");
		hard_delete_test(&keep, tl->cols, hard, "m", true);
	}
	kept = keep.len ? keep.data : "";
	/* retire the active versions the new rows no longer have */
	buf_printf(sql, "UPDATE %s SET ", tl->target);
	buf_ident(sql, to);
	buf_printf(sql, " = %s WHERE %s AND NOT EXISTS (SELECT 1 FROM %s m WHERE m.%s IS NOT DISTINCT FROM %s.%s%s)",
		   boundary.data, is_active.data, tl->mt, ver.data, tl->target, ver.data, kept);
	if (json_array_size(mk) > 0) {
		pg2md_buf mlist = PG2MD_BUF_INIT, mcond = PG2MD_BUF_INIT;
		key_match(mk, tl->target, "m", &mlist, &mcond);
		buf_printf(sql, " AND EXISTS (SELECT 1 FROM %s m WHERE %s)", tl->mt, mcond.data);
		buf_release(&mlist);
		buf_release(&mcond);
	}
	buf_puts(sql, ";\n");
	/* open the new versions */
	buf_printf(sql, "INSERT INTO %s BY NAME SELECT m.*, %s AS ", tl->target, boundary.data);
	buf_ident(sql, from);
	buf_printf(sql, ", %s AS ", active.data);
	buf_ident(sql, to);
	buf_printf(sql, " FROM %s m WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE t.%s IS NOT DISTINCT FROM m.%s AND t.",
		   tl->mt, tl->target, ver.data, ver.data);
	buf_puts(sql, is_active.data);
	buf_printf(sql, ")%s;\nDROP TABLE %s;\nRESET TimeZone;\n", kept, tl->mt);

	json_decref(data);
	buf_release(&boundary);
	buf_release(&active);
	buf_release(&is_active);
	buf_release(&ver);
	buf_release(&keep);
}

/* scd2's table: the new rows' columns, the hash column (unless a row version column is named)
 * and the two validity columns. */
static void
scd2_column_defs(pg2md_buf *b, json_t *cols, json_t *o)
{
	json_t *defs = json_array(), *c;
	const char *rv = json_string_value(json_object_get(o, "row_version"));
	const char *hashc = json_string_value(json_object_get(o, "hash_column"));
	size_t i;

	json_array_foreach(cols, i, c) {
		const char *lk = json_string_value(json_object_get(c, "lineage"));
		if (!rv && lk && strcmp(lk, "dlt_id") == 0)
			continue;
		json_array_append(defs, c);
	}
	if (!rv)
		json_array_append_new(defs, json_pack("{s:s, s:s, s:b}", "dest_name", hashc, "duck_type", "VARCHAR",
						      "nullable", 0));
	for (int k = 0; k < 2; k++)
		json_array_append_new(defs, json_pack("{s:s, s:s, s:b}", "dest_name",
						      json_string_value(json_object_get(o, k ? "valid_to" : "valid_from")),
						      "duck_type", "TIMESTAMPTZ", "nullable", 1));
	column_defs(b, defs);
	json_decref(defs);
}

/* merge: deduplicate the new rows, then upsert, insert-only or delete-insert them. */
static pg2md_code
merge_sql(pg2md_buf *sql, const table_load *tl, pg2md_error *err)
{
	json_t *mk = json_object_get(tl->jt, "merge_key");
	const char *hard = json_string_value(json_object_get(tl->jt, "hard_delete"));
	const char *strategy = json_string_value(json_object_get(tl->jt, "merge_strategy"));
	pg2md_buf part = PG2MD_BUF_INIT, cond = PG2MD_BUF_INIT;

	if (json_object_get(tl->jt, "scd2")) {
		scd2_sql(sql, tl, mk, hard);
		return PG2MD_OK;
	}
	if (json_array_size(tl->pk) == 0 && json_array_size(mk) == 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has write_disposition \"merge\" but no primary key",
			   json_string_value(json_object_get(tl->jt, "name")));
		pg2md_hint(err, "add a primary key at the source, or set primary_key under "
				"[sources.sql_database.%s]", json_string_value(json_object_get(tl->jt, "name")));
		return err->code;
	}
	key_match(tl->pk, tl->target, "s", &part, &cond);
	merge_new_rows_sql(sql, tl, part.data);
	if (strategy && strcmp(strategy, "upsert") == 0)
		merge_upsert_sql(sql, tl, cond.data, hard);
	else if (strategy && strcmp(strategy, "insert-only") == 0)
		merge_insert_only_sql(sql, tl, cond.data, hard);
	else
		merge_delete_insert_sql(sql, tl, mk, cond.data, hard);
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
		select_list(sql, tl->cols, NULL);
		buf_printf(sql, " FROM %s s", tl->direct ? tl->src : tl->batches[b]);
		append_boundary_filter(sql, tl->jt, tl->target);
		buf_puts(sql, ";\n");
	}
}

pg2md_code
load_table_sql(pg2md_buf *sql, json_t *jt, const char *dataset, const char *pkg_path, bool direct,
	       int64_t batch_size, pg2md_error *err)
{
	const char *dest = json_string_value(json_object_get(jt, "dest_name"));
	const char *disp = json_string_value(json_object_get(jt, "write_disposition"));
	json_t *files = json_object_get(jt, "files");
	pg2md_buf src = PG2MD_BUF_INIT, target = PG2MD_BUF_INIT, mt = PG2MD_BUF_INIT;
	char *newt = xasprintf(NEW_TABLE_PREFIX "%s", dest);
	char *merget = xasprintf(MERGE_TABLE_PREFIX "%s", dest);
	table_load tl = {jt, json_object_get(jt, "columns"), json_object_get(jt, "primary_key"), dest, NULL, NULL,
			 NULL, NULL, 0, direct, direct || json_array_size(files) > 0};

	tl.nbatches = direct ? 0 : parquet_batches(jt, pkg_path, batch_size, &tl.batches);
	duck_qualified(&target, dataset, dest);
	duck_qualified(&mt, dataset, merget);
	if (direct) {
		duck_qualified(&src, dataset, newt);
	} else {
		read_parquet_files(&src, pkg_path, files);
	}
	tl.target = target.data;
	tl.src = src.data;
	tl.mt = mt.data;

	if (strcmp(disp, "replace") == 0) {
		replace_sql(sql, &tl);
	} else if (strcmp(disp, "append") == 0 || strcmp(disp, "merge") == 0) {
		buf_printf(sql, "CREATE TABLE IF NOT EXISTS %s ", target.data);
		if (strcmp(disp, "merge") == 0 && json_object_get(jt, "scd2"))
			scd2_column_defs(sql, tl.cols, json_object_get(jt, "scd2"));
		else
			column_defs(sql, tl.cols);
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

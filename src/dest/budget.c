/*
 * budget.c — DuckDB's memory budget while loading tables of large rows.
 *
 * DuckDB writes and scans a table 2048 rows at a time, holding all their values: rows of several
 * MB need more than the default budget (docs/reliability.md, "Values of several MB").  Before a
 * table is loaded its need is estimated from the scan's measure in the manifest, or from the
 * Parquet footers, and the budget raised for the rest of the load when it falls short.
 */
#include "dest/load.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

/*
 * The DuckDB budget loading table jt needs (duck_window_need): the bytes of its largest 2048
 * consecutive rows (the scan's measure, in the manifest; for rows a transform made at
 * normalize, or a package without it, from the Parquet footers, nothing else is read: a row
 * group of more rows counts for its share), with, when the rows
 * are added to an existing table, that table's last rows, which DuckDB writes out again.
 * Direct appends read the new rows from the work table while they are written (a second
 * window), and so does a merge (its merge table); one that keeps one row per key holds all the
 * new rows in its window function, unless they are large (merge_rows_large): then it decides over
 * the keys alone and streams the rows (load_sql.c, merge_new_rows_sql).  Plus the columns
 * (DUCK_COLUMN_BYTES each; twice when an existing table's last row group is written again:
 * 1,500 columns appended onto 5,000 rows fail at 1 GB and load at 1.5 GB).  0 when nothing is
 * loaded.
 */
static pg2md_code
table_load_need(duckdb_connection con, const manifest_table *t, const char *dataset, const char *pkg_path, bool direct,
		int64_t *need, pg2md_error *err)
{
	const char *disp = t->disposition;
	pg2md_buf sql = PG2MD_BUF_INIT;
	char *v = NULL;
	long long wb = 0, wr = 0;
	int64_t fresh = t->rows;
	int64_t there = 0;

	*need = 0;
	if (direct && strcmp(disp, "replace") == 0)
		return PG2MD_OK; /* the work table is renamed; the workers' commits were sized as they went */
	if (direct || (t->has_window && !t->transformed)) {
		/* the scan's measure (a package of an older pg2md has none; a transform at normalize
		 * made other rows: the footers then) */
		wb = t->window_bytes;
		wr = t->window_rows;
	} else if (t->nfiles > 0) {
		buf_puts(&sql, "WITH g AS (SELECT file_name, row_group_id, sum(total_uncompressed_size) AS b, "
			       "any_value(row_group_num_rows) AS n FROM ");
		parquet_files_call(&sql, "parquet_metadata", pkg_path, t->files, t->nfiles);
		buf_puts(&sql, " GROUP BY ALL), "
			       "o AS (SELECT b * least(n, 2048) / greatest(n, 1) AS b, least(n, 2048) AS n, "
			       "sum(n) OVER (ORDER BY file_name, row_group_id ROWS UNBOUNDED PRECEDING) - n AS s FROM g), "
			       "w AS (SELECT sum(b) OVER f AS wb, sum(n) OVER f AS wr FROM o "
			       "WINDOW f AS (ORDER BY s RANGE BETWEEN CURRENT ROW AND 2047 FOLLOWING)) "
			       "SELECT coalesce(max(wb), 0)::BIGINT || ' ' || coalesce(arg_max(wr, wb), 0)::BIGINT FROM w");
		if (duck_scalar(con, sql.data, &v, err))
			goto out;
		if (!v || sscanf(v, "%lld %lld", &wb, &wr) != 2)
			wb = wr = 0;
	}
	if (wb <= 0 || wr <= 0)
		goto out;
	if (strcmp(disp, "replace") != 0 &&
	    duck_table_rows(con, dataset, t->dest_name, &there, err))
		goto out;
	*need = duck_window_need(duck_window_with(wb, wr, there)) +
		(int64_t)t->ncols * DUCK_COLUMN_BYTES * (there > 0 ? 2 : 1);
	if (direct || strcmp(disp, "merge") == 0) /* a second window: the work table or merge table read */
		*need += (int64_t)((double)wb * 1.25);
	if (strcmp(disp, "merge") == 0 && !merge_rows_large(t) && duck_budget_short(*need) && fresh > wr)
		/* a window function over narrow rows that still pass the budget: all the new rows */
		*need += (int64_t)((double)wb / (double)wr * (double)(fresh - wr) * 1.25);
out:
	free(v);
	buf_release(&sql);
	return err->code;
}

/*
 * Before loading table t: when its rows are so large that DuckDB's 2048-row window passes the
 * budget, raise the budget (it stays until the commit, which writes the rows out) and run the
 * table's statement on one thread (two threads hold two windows: measured 678 MB against 405
 * MB at one budget).  An estimate that fails (a package whose files a crash removed after it was
 * loaded) changes nothing.  Returns whether the table's rows are large.
 */
bool
load_budget_table(pg2md_dest *dest, const manifest_table *t, const char *dataset, const char *pkg_path, bool direct,
		  const char *what, load_budget *lb)
{
	pg2md_error e;
	int64_t need = 0;
	bool raised = false;

	pg2md_error_init(&e);
	if (dest->motherduck || table_load_need(dest->con, t, dataset, pkg_path, direct, &need, &e) ||
	    !duck_budget_short(need))
		return false;
	if (need > lb->need) {
		if (duck_budget_raise(dest->con, need, what, true, &raised, &e))
			pg2md_warn("%s", e.msg); /* loads anyway: DuckDB says if it runs short */
		lb->need = need;
		lb->raised = lb->raised || raised;
	}
	lb->big = true;
	duck_set_threads(dest->con, 1);
	return true;
}

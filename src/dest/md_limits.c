/*
 * md_limits.c — the SQL of a load under MotherDuck's rules (docs/motherduck.md, "Limits").
 *
 * MotherDuck reads local Parquet files on the client and uploads them: a statement must stay
 * under 512 KB (dlt's cap, so a read_parquet list of thousands of files is split), an INSERT
 * should carry about batch_size rows, and a transaction should stay short.  So a staged table
 * is first uploaded into its work table (the direct mode's, NEW_TABLE_PREFIX) in steps, each
 * one INSERT committed with its step's record; the load's own transaction then reads the work
 * table on the server, as a direct load does: replace renames it over the table (one short
 * transaction, still atomic), append and merge read it.  stage/load_steps.c drives this.
 */
#include "dest/load.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* "INSERT INTO <work> SELECT <casts> FROM " — the fixed part of every step's statement. */
static void
step_prefix(pg2md_buf *b, const manifest_table *t, const char *dataset)
{
	char *work = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);
	if (!work) {
		load_buf_break(b);
		return;
	}
	buf_puts(b, "INSERT INTO ");
	duck_qualified(b, dataset, work);
	buf_puts(b, " SELECT ");
	select_list(b, t->cols, t->ncols, NULL);
	buf_puts(b, " FROM read_parquet([");
	free(work);
}

json_t *
md_load_steps(const manifest_table *t, const char *dataset, const char *pkg_path, int64_t batch_size)
{
	json_t *steps = json_array();
	pg2md_buf cur = PG2MD_BUF_INIT, lit = PG2MD_BUF_INIT;
	size_t n = (size_t)t->nfiles;
	int64_t in_cur = 0;
	int files_in_cur = 0;

	step_prefix(&cur, t, dataset);
	for (size_t i = 0; i <= n && steps; i++) {
		int64_t r = i < n ? t->file_rows[i] : 0;
		buf_reset(&lit);
		if (i < n) {
			char *p = xasprintf("%s/%s", pkg_path, t->files[i]);
			if (!p)
				load_buf_break(&lit);
			else
				buf_literal(&lit, p);
			free(p);
		}
		if (buf_broken(&cur) || buf_broken(&lit))
			break; /* out of memory: NULL below */
		/* the step so far is full: the last file, or batch_size rows, or the statement cap
		 * (with room for ", ", "])" and the final ";") */
		if (files_in_cur > 0 &&
		    (i == n || (batch_size > 0 && r >= 0 && in_cur + r > batch_size) ||
		     cur.len + lit.len + 8 > MD_STATEMENT_MAX)) {
			buf_puts(&cur, "])");
			if (buf_broken(&cur))
				break;
			json_array_append_new(steps, json_pack("{s:s, s:I}", "sql", cur.data, "rows", (json_int_t)in_cur));
			buf_reset(&cur);
			step_prefix(&cur, t, dataset);
			in_cur = 0;
			files_in_cur = 0;
		}
		if (i == n)
			break;
		if (batch_size > 0 && r > batch_size) {
			/* a file of more than batch_size rows: read in ranges of its rows */
			for (int64_t lo = 0; lo < r; lo += batch_size) {
				int64_t hi = lo + batch_size < r ? lo + batch_size : r;
				buf_reset(&cur);
				step_prefix(&cur, t, dataset);
				buf_append(&cur, lit.data, lit.len);
				buf_printf(&cur, "], file_row_number = true) WHERE file_row_number >= %lld AND file_row_number < %lld",
					   (long long)lo, (long long)hi);
				if (buf_broken(&cur))
					break;
				json_array_append_new(steps, json_pack("{s:s, s:I}", "sql", cur.data, "rows", (json_int_t)(hi - lo)));
			}
			buf_reset(&cur);
			step_prefix(&cur, t, dataset);
			continue;
		}
		if (files_in_cur)
			buf_puts(&cur, ", ");
		buf_append(&cur, lit.data, lit.len);
		in_cur += r > 0 ? r : 0;
		files_in_cur++;
	}
	if (buf_broken(&cur) || buf_broken(&lit)) {
		json_decref(steps);
		steps = NULL;
	}
	buf_release(&cur);
	buf_release(&lit);
	return steps;
}

void
md_work_table_sql(pg2md_buf *sql, const manifest_table *t, const char *dataset)
{
	char *work = xasprintf(NEW_TABLE_PREFIX "%s", t->dest_name);

	if (!work) {
		load_buf_break(sql);
		return;
	}
	buf_puts(sql, "CREATE OR REPLACE TABLE ");
	duck_qualified(sql, dataset, work);
	buf_puts(sql, " (");
	for (int i = 0; i < t->ncols; i++) {
		if (i)
			buf_puts(sql, ", ");
		buf_ident(sql, t->cols[i].dest_name);
		buf_printf(sql, " %s", t->cols[i].duck_type);
		if (!t->cols[i].nullable)
			buf_puts(sql, " NOT NULL");
	}
	buf_puts(sql, ")");
	free(work);
}

void
md_table_from_work(manifest_table *out, const manifest_table *t)
{
	/* the work table holds the destination types: nothing is staged as something else there */
	manifest_table_copy(out, t);
	for (int i = 0; i < out->ncols; i++) {
		free(out->cols[i].staged_as);
		out->cols[i].staged_as = NULL;
	}
}

/*
 * A long text value (a stored schema of thousands of columns): its literal alone could carry a
 * statement past the cap, so it is written in pieces of at most MD_TEXT_PIECE bytes (a literal
 * of twice that at worst, its quotes doubled), each one INSERT into a temporary table, and the
 * statement reads them back joined in order.  The temporary table is the client's (MotherDuck
 * keeps temporary tables on the client; DuckDB lets a transaction write it beside the database
 * it writes), so the pieces commit or roll back with the caller's transaction and the stored
 * text is the same bytes.  A piece never ends inside a UTF-8 character: each is a valid VARCHAR.
 * The temporary table stays until the connection closes (the next long value replaces it).
 */
void
md_text_value(pg2md_buf *pre, pg2md_buf *value, bool md_rules, const char *part, const char *text)
{
	size_t len = strlen(text);

	if (!md_rules || len <= MD_TEXT_PIECE) {
		buf_literal(value, text);
		return;
	}
	buf_printf(pre, "CREATE OR REPLACE TEMP TABLE temp.main._pg2md_text_%s (n INTEGER, piece VARCHAR);\n", part);
	for (size_t off = 0, n = 0; off < len; n++) {
		size_t k = len - off > MD_TEXT_PIECE ? MD_TEXT_PIECE : len - off;
		while (off + k < len && k > 4 && ((unsigned char)text[off + k] & 0xC0) == 0x80)
			k--;
		buf_printf(pre, "INSERT INTO temp.main._pg2md_text_%s VALUES (%zu, '", part, n);
		for (size_t i = off; i < off + k; i++) {
			if (text[i] == '\'')
				buf_putc(pre, '\'');
			buf_putc(pre, text[i]);
		}
		buf_puts(pre, "');\n");
		off += k;
	}
	buf_printf(value, "(SELECT string_agg(piece, '' ORDER BY n) FROM temp.main._pg2md_text_%s)", part);
}

pg2md_code
md_statements_check(const char *sql, const char *what, pg2md_error *err)
{
	/* pg2md's statements end with ";\n" and hold none inside a literal of their own */
	if (buf_is_oom(sql))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory while %s", what);
	const char *p = sql;
	while (p && *p) {
		const char *end = strstr(p, ";\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > MD_STATEMENT_MAX) {
			pg2md_fail(err, PG2MD_ERR_RUN, "%s: a statement of %zu bytes, over MotherDuck's limit of %d", what,
				   len, MD_STATEMENT_MAX);
			pg2md_hint(err, "this is a bug in pg2md: please report it with the table's definition");
			return err->code;
		}
		p = end ? end + 2 : NULL;
	}
	return PG2MD_OK;
}

pg2md_code
md_table_statement_check(const char *sql, const char *table, const char *what, pg2md_error *err)
{
	size_t len = strlen(sql);

	if (len <= MD_STATEMENT_MAX)
		return PG2MD_OK;
	pg2md_fail(err, PG2MD_ERR_RUN, "table \"%s\": %s is a statement of %zu bytes, over MotherDuck's limit of %d bytes",
		   table, what, len, MD_STATEMENT_MAX);
	pg2md_detail(err, "a --direct copy names each of the table's columns with its type (and holds its transform's "
			  "text): the statement grows with the columns and their names, not with the rows");
	pg2md_hint(err, "leave columns out with excluded_columns, or shorten the transform; a staged run "
			"(without --direct) runs a transform on this machine");
	return err->code;
}

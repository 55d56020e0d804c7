/*
 * evolve.c — schema evolution: a table the destination already holds meets the manifest's
 * columns.
 *
 * New columns are added, types the new rows need are widened (only where every old value still
 * fits), columns gone from the source become nullable, and character(n) pad blanks are aligned
 * with what earlier loads wrote (the stored schema in _dlt_version says how they were written).
 * Anything else stops the load: it runs inside the load's transaction, so nothing is
 * half-applied.
 */
#include "dest/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* DuckDB's information_schema spelling of a type. */
static const char *
canonical_type(const char *t)
{
	if (strcmp(t, "TIMESTAMPTZ") == 0)
		return "TIMESTAMP WITH TIME ZONE";
	if (strcmp(t, "TIMETZ") == 0)
		return "TIME WITH TIME ZONE";
	return t;
}

static int
int_rank(const char *t)
{
	static const char *const ranks[] = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", NULL};
	for (int i = 0; ranks[i]; i++)
		if (strcmp(t, ranks[i]) == 0)
			return i + 1;
	return 0;
}

/* Can a column of type from hold every value of type to? (a safe widening) */
static bool
widens(const char *from, const char *to)
{
	int pf, sf, pt, st;
	if (int_rank(from) && int_rank(to))
		return int_rank(to) > int_rank(from);
	if (int_rank(from) && sscanf(to, "DECIMAL(%d,%d)", &pt, &st) == 2)
		return pt - st >= (int_rank(from) == 2 ? 5 : int_rank(from) == 3 ? 10 : 19);
	if (strcmp(from, "FLOAT") == 0 && strcmp(to, "DOUBLE") == 0)
		return true;
	if (sscanf(from, "DECIMAL(%d,%d)", &pf, &sf) == 2 && sscanf(to, "DECIMAL(%d,%d)", &pt, &st) == 2)
		return st >= sf && pt - st >= pf - sf;
	/* Anything else (int to text, text to int, narrowing) changes what the column means downstream. */
	return false;
}

/*
 * Each table as the newest schema holding it describes it (a JSON array, owned by the caller):
 * _dlt_version keeps a schema per change, and a run of some tables stores only those.  NULL when
 * there is none (a first load, or a dataset dlt wrote).
 */
json_t *
stored_schema_tables(duckdb_connection con, const char *dataset)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	duckdb_result res;
	json_t *tables = NULL;

	buf_puts(&q, "SELECT schema FROM ");
	duck_qualified(&q, dataset, "_dlt_version");
	buf_puts(&q, " WHERE schema_name = 'sql_database' ORDER BY version DESC");
	if (duckdb_query(con, q.data, &res) == DuckDBSuccess) {
		tables = json_array();
		for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
			char *v = duckdb_value_varchar(&res, 0, r);
			json_t *doc = v ? json_loads(v, 0, NULL) : NULL, *st;
			size_t i, j;
			json_array_foreach(json_object_get(doc, "tables"), i, st) {
				const char *name = json_string_value(json_object_get(st, "dest_name"));
				bool seen = !name;
				json_t *have;
				json_array_foreach(tables, j, have)
					if (name && strcmp(json_string_value(json_object_get(have, "dest_name")), name) == 0)
						seen = true;
				if (!seen)
					json_array_append(tables, st);
			}
			json_decref(doc);
			duckdb_free(v);
		}
	}
	duckdb_destroy_result(&res);
	buf_release(&q);
	return tables;
}

/* The column dest_name of table dest_name in a stored schema's tables, or NULL. */
static json_t *
stored_column(json_t *stored, const char *table, const char *column)
{
	json_t *st, *c;
	size_t i, j;
	json_array_foreach(stored, i, st) {
		if (!json_is_string(json_object_get(st, "dest_name")) ||
		    strcmp(json_string_value(json_object_get(st, "dest_name")), table) != 0)
			continue;
		json_array_foreach(json_object_get(st, "columns"), j, c)
			if (json_is_string(json_object_get(c, "dest_name")) &&
			    strcmp(json_string_value(json_object_get(c, "dest_name")), column) == 0)
				return c;
	}
	return NULL;
}

/*
 * A character(n) column that an earlier load (pg2md before char_padding, or char_padding =
 * "keep") wrote with its pad blanks, now appended to or merged into trimmed: the rows already
 * there are trimmed in place, in the load's transaction, so a table never holds both forms.
 * Going back from trimmed to padded cannot restore the blanks: that stops the load.
 */
static pg2md_code
char_padding_align(duckdb_connection con, const char *target, const char *dest, const manifest_column *c, const char *have,
		   json_t *stored, pg2md_error *err)
{
	const char *name = c->dest_name;
	json_t *sc = stored_column(stored, dest, name);
	bool trim_now = c->char_padding != NULL;
	bool trimmed_before = sc && json_is_string(json_object_get(sc, "char_padding"));
	pg2md_buf q = PG2MD_BUF_INIT, col = PG2MD_BUF_INIT;

	if (trim_now == trimmed_before || !sc)
		return PG2MD_OK; /* as before, or never described by pg2md: nothing known to align */
	if (!trim_now) {
		/* keep now, trimmed before: only for the same character column */
		const char *pt = c->pg_type;
		const char *ps = json_string_value(json_object_get(sc, "pg_type"));
		if (!pt || !ps || strcmp(pt, ps) != 0)
			return PG2MD_OK;
		pg2md_fail(err, PG2MD_ERR_USAGE,
			   "column \"%s\" of table \"%s\" was loaded without its pad blanks; char_padding = \"keep\" "
			   "would add padded values to trimmed ones", name, dest);
		pg2md_detail(err, "nothing of this load was applied; the load package stays pending");
		pg2md_hint(err, "set char_padding back to \"trim\", or reload the table with the blanks: pg2md drop "
				"--pending --yes, then pg2md run --tables %s --write-disposition replace", dest);
		return err->code;
	}
	buf_ident(&col, name);
	if (strcmp(have, "VARCHAR") == 0)
		buf_printf(&q, "UPDATE %1$s SET %2$s = rtrim(%2$s, ' ') WHERE %2$s LIKE '%% '", target, col.data);
	else if (strcmp(have, "VARCHAR[]") == 0)
		buf_printf(&q, "UPDATE %1$s SET %2$s = list_transform(%2$s, lambda x: rtrim(x, ' '))"
			       " WHERE len(list_filter(%2$s, lambda x: x LIKE '%% ')) > 0", target, col.data);
	if (q.len == 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE,
			   "column \"%s\" of table \"%s\" (%s) holds character(n) values loaded with their pad blanks, "
			   "which pg2md cannot trim in place", name, dest, have);
		pg2md_detail(err, "nothing of this load was applied; the load package stays pending");
		pg2md_hint(err, "reload the table: pg2md drop --pending --yes, then pg2md run --tables %s "
				"--write-disposition replace (or set char_padding = \"keep\")", dest);
	} else {
		pg2md_info("trimming the pad blanks of column \"%s\" of \"%s\", loaded padded by an earlier run", name, dest);
		duck_exec(con, q.data, "trimming the pad blanks of loaded rows", err);
	}
	buf_release(&q);
	buf_release(&col);
	return err->code;
}

/* DECIMAL(p,s) of a text DuckDB prints, or false. */
static bool
decimal_of(const char *t, int *p, int *s)
{
	return t && sscanf(t, "DECIMAL(%d,%d)", p, s) == 2;
}

/* ALTER TABLE target ALTER COLUMN name TYPE type. */
static pg2md_code
alter_column_type(duckdb_connection con, const char *target, const char *name, const char *type, pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_printf(&q, "ALTER TABLE %s ALTER COLUMN ", target);
	buf_ident(&q, name);
	buf_printf(&q, " TYPE %s", type);
	duck_exec(con, q.data, "widening a column", err);
	buf_release(&q);
	return err->code;
}

/*
 * A column c of the manifest that the destination table target already has, of type have (NULL
 * when DuckDB gave none): aligned, widened, or the load stopped.
 */
static pg2md_code
evolve_column(duckdb_connection con, const char *target, const char *dest, const manifest_column *c, const char *have,
	      json_t *stored, pg2md_error *err)
{
	const char *name = c->dest_name;
	const char *want = canonical_type(c->duck_type);
	bool measured = c->measured;
	int ph, sh, pw, sw;
	char *to = NULL;
	bool settled = true; /* nothing more to decide for this column */

	if (have && char_padding_align(con, target, dest, c, have, stored, err)) {
		/* stopped: err says why */
	} else if (have && strcmp(have, want) != 0 && widens(want, have)) {
		/* narrower at the source than in the destination: the values fit as they are */
	} else if (have && measured && !decimal_of(have, &ph, &sh)) {
		/* a plain numeric the destination holds as text (NaN once, or an older pg2md):
		 * it stays text, the new values cast to it (docs/types.md) */
	} else if (have && decimal_of(have, &ph, &sh) && decimal_of(want, &pw, &sw) && !widens(have, want)) {
		/* both DECIMALs, neither holds the other: one that holds both */
		int s2 = sh > sw ? sh : sw, i2 = ph - sh > pw - sw ? ph - sh : pw - sw;
		if (i2 + s2 <= 38)
			to = xasprintf("DECIMAL(%d,%d)", !measured ? i2 + s2 : i2 + s2 <= 18 ? 18 : 38, s2);
		else if (measured)
			to = xstrdup("VARCHAR");
		if ((i2 + s2 <= 38 || measured) && !to)
			pg2md_nomem(err);
		else if (!to)
		{
			pg2md_fail(err, PG2MD_ERR_RUN,
				   "column \"%s\" of table \"%s\" changed type from %s to %s, and no DECIMAL "
				   "holds both", name, dest, have, want);
			pg2md_detail(err, "nothing of this load was applied; the load package stays pending");
		}
	} else if (have && measured && strcmp(have, want) != 0 && decimal_of(have, &ph, &sh)) {
		/* a measured DECIMAL column meets values no DECIMAL holds: the fallback type */
		to = xstrdup(want);
		if (!to)
			pg2md_nomem(err);
	} else {
		settled = false;
	}
	if (to) {
		if (strcmp(to, "VARCHAR") == 0 || strcmp(to, "DOUBLE") == 0)
			pg2md_warn("column \"%s\" of \"%s\" changes from %s to %s: new values need it",
				   name, dest, have, to);
		else
			pg2md_info("widening column \"%s\" of \"%s\" from %s to %s", name, dest, have, to);
		alter_column_type(con, target, name, to, err);
		free(to);
	} else if (!settled && have && strcmp(have, want) != 0) {
		if (!widens(have, want)) {
			pg2md_fail(err, PG2MD_ERR_RUN,
				   "column \"%s\" of table \"%s\" changed type from %s to %s, which cannot be applied safely",
				   name, dest, have, want);
			pg2md_detail(err, "nothing of this load was applied; the load package stays pending");
			pg2md_hint(err, "to rebuild the table from the source: pg2md drop --pending --yes, "
					"pg2md drop --tables %s --yes, then run again", dest);
		} else {
			pg2md_info("widening column \"%s\" of \"%s\" from %s to %s", name, dest, have, want);
			alter_column_type(con, target, name, c->duck_type, err);
		}
	}
	return err->code;
}

/* Columns the source no longer has (res: the destination's columns): kept, NULL allowed in new rows. */
static pg2md_code
relax_dropped_columns(duckdb_connection con, const char *target, const manifest_table *t, duckdb_result *res,
		      pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;

	for (idx_t r = 0; r < duckdb_row_count(res); r++) {
		char *cn = duckdb_value_varchar(res, 0, r);
		char *nullable = duckdb_value_varchar(res, 2, r);
		bool present = false;
		for (int i = 0; i < t->ncols; i++)
			if (cn && strcmp(cn, t->cols[i].dest_name) == 0)
				present = true;
		if (!present && nullable && strcmp(nullable, "NO") == 0) {
			buf_reset(&q);
			buf_printf(&q, "ALTER TABLE %s ALTER COLUMN ", target);
			buf_ident(&q, cn);
			buf_puts(&q, " DROP NOT NULL");
			duck_exec(con, q.data, "relaxing a column", err);
		}
		duckdb_free(cn);
		duckdb_free(nullable);
		if (pg2md_failed(err))
			break;
	}
	buf_release(&q);
	return err->code;
}

/*
 * Schema evolution for append and merge: columns new at the source are
 * added, widened types are widened, columns gone from the source become
 * nullable.  A change that cannot be applied safely stops the load; it runs
 * inside the load's transaction, so nothing is half-applied.
 */
pg2md_code
evolve_table(duckdb_connection con, const char *dataset, const manifest_table *t, json_t *stored, pg2md_error *err)
{
	const char *dest = t->dest_name;
	pg2md_buf q = PG2MD_BUF_INIT, target = PG2MD_BUF_INIT;
	duckdb_result res;
	idx_t n;

	buf_puts(&q, "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = ");
	buf_literal(&q, dataset);
	buf_puts(&q, " AND table_name = ");
	buf_literal(&q, dest);
	if (buf_broken(&q))
		return pg2md_nomem(err);
	if (duckdb_query(con, q.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "reading the columns of \"%s\" failed: %s", dest, duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		buf_release(&q);
		return err->code;
	}
	n = duckdb_row_count(&res);
	duck_qualified(&target, dataset, dest);
	if (n == 0)
		goto done; /* a new table: created from the manifest */
	if (buf_broken(&target)) {
		pg2md_nomem(err);
		goto done;
	}
	for (int i = 0; i < t->ncols; i++) {
		const manifest_column *c = &t->cols[i];
		const char *name = c->dest_name;
		bool found = false;
		for (idx_t r = 0; r < n && !found; r++) {
			char *cn = duckdb_value_varchar(&res, 0, r);
			if (cn && strcmp(cn, name) == 0) {
				char *have = duckdb_value_varchar(&res, 1, r);
				found = true;
				evolve_column(con, target.data, dest, c, have, stored, err);
				duckdb_free(have);
			}
			duckdb_free(cn);
		}
		if (!found && !pg2md_failed(err)) {
			buf_reset(&q);
			buf_printf(&q, "ALTER TABLE %s ADD COLUMN ", target.data);
			buf_ident(&q, name);
			buf_printf(&q, " %s", c->duck_type);
			pg2md_info("adding column \"%s\" to \"%s\"", name, dest);
			duck_exec(con, q.data, "adding a column", err);
		}
		if (pg2md_failed(err))
			goto done;
	}
	relax_dropped_columns(con, target.data, t, &res, err);
done:
	duckdb_destroy_result(&res);
	buf_release(&q);
	buf_release(&target);
	return err->code;
}

/* incremental.c — cursor-based incremental reads (see incremental.h). */
#include "stage/incremental.h"

#include <stdlib.h>
#include <string.h>

#include "schema/types.h"
#include "source/pgconn.h"
#include "stage/state.h"
#include "util/log.h"

static void
append_table(pg2md_buf *b, const char *schema, const pg2md_table *t)
{
	catalog_source_rel(b, schema, t); /* a query table: its query as a subquery */
}

pg2md_code
incr_plan_table(const pg2md_config *cfg, json_t *state, const pg2md_table *t, incr_plan *p, pg2md_buf *filter,
		pg2md_error *err)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);
	const pg2md_column *c;
	bool end_closed;

	memset(p, 0, sizeof(*p));
	if (!tc || !tc->cursor_path)
		return PG2MD_OK;
	/* the source column, or its destination name when it was renamed (columns.<c>.name) */
	p->col = schema_find_column(t, tc->cursor_path);
	if (p->col < 0)
		return pg2md_fail(err, PG2MD_ERR_USAGE, "cursor column \"%s\" of table \"%s\" does not exist%s",
				  tc->cursor_path, t->name,
				  tc->excluded_columns.n || tc->included_columns.n ? " or is not among the copied columns" : "");
	c = &t->cols[p->col];
	if (tc->range_start && strcmp(tc->range_start, "closed") && strcmp(tc->range_start, "open"))
		return pg2md_fail(err, PG2MD_ERR_USAGE, "incremental.range_start of table \"%s\" must be \"closed\" or \"open\"",
				  t->name);
	if (tc->range_end && strcmp(tc->range_end, "closed") && strcmp(tc->range_end, "open"))
		return pg2md_fail(err, PG2MD_ERR_USAGE, "incremental.range_end of table \"%s\" must be \"closed\" or \"open\"",
				  t->name);
	p->missing = tc->on_cursor_value_missing ? tc->on_cursor_value_missing : "raise";
	if (strcmp(p->missing, "raise") && strcmp(p->missing, "include") && strcmp(p->missing, "exclude"))
		return pg2md_fail(err, PG2MD_ERR_USAGE,
				  "incremental.on_cursor_value_missing of table \"%s\" must be \"raise\", \"include\" or \"exclude\"",
				  t->name);
	p->active = true;
	p->start_closed = !tc->range_start || strcmp(tc->range_start, "closed") == 0;
	end_closed = tc->range_end && strcmp(tc->range_end, "closed") == 0;
	p->initial = xstrdup(tc->initial_value);
	if (tc->initial_value && !p->initial)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	if (tc->end_value) {
		/* A closed range [initial_value, end_value): read whole on every run; the state is
		 * neither read nor written (dlt: "end value uses mock state"). */
		if (!tc->initial_value)
			return pg2md_fail(err, PG2MD_ERR_USAGE,
					  "incremental.end_value of table \"%s\" needs incremental.initial_value", t->name);
		p->fixed_range = true;
		if (!(p->end = xstrdup(tc->end_value)))
			return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	} else {
		/* the state keeps the source column's name, whichever name the config uses */
		const char *last = state_last_value(state, t->name, t->cols[p->col].name);
		p->prev_last = xstrdup(last);
		if (last && !p->prev_last)
			return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	}
	p->start = xstrdup(p->prev_last ? p->prev_last : tc->initial_value);
	if ((p->prev_last || tc->initial_value) && !p->start)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");

	pg2md_buf cond = PG2MD_BUF_INIT;
	if (p->start) {
		buf_ident(&cond, c->name);
		buf_puts(&cond, p->start_closed ? " >= " : " > ");
		if (tc->lag && p->prev_last) {
			/* look back from the last value: seconds for timestamps, days for dates */
			buf_puts(&cond, "(CAST(");
			buf_literal(&cond, p->start);
			buf_printf(&cond, " AS %s) - ", c->pg_type);
			if (c->src_oid == TIMESTAMPOID || c->src_oid == TIMESTAMPTZOID) {
				buf_puts(&cond, "CAST(");
				buf_literal(&cond, tc->lag);
				buf_puts(&cond, " AS float8) * interval '1 second')");
			} else if (c->src_oid == DATEOID) {
				buf_puts(&cond, "CAST(");
				buf_literal(&cond, tc->lag);
				buf_puts(&cond, " AS float8)::int)");
			} else {
				buf_puts(&cond, "CAST(");
				buf_literal(&cond, tc->lag);
				buf_printf(&cond, " AS %s))", c->pg_type);
			}
		} else {
			buf_puts(&cond, "CAST(");
			buf_literal(&cond, p->start);
			buf_printf(&cond, " AS %s)", c->pg_type);
		}
	}
	if (tc->end_value) {
		if (cond.len)
			buf_puts(&cond, " AND ");
		buf_ident(&cond, c->name);
		buf_puts(&cond, end_closed ? " <= " : " < ");
		buf_puts(&cond, "CAST(");
		buf_literal(&cond, tc->end_value);
		buf_printf(&cond, " AS %s)", c->pg_type);
	}
	if (buf_broken(&cond)) {
		/* not copied into the filter as "()": the run stops for what it is */
		buf_release(&cond);
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	} else if (cond.len) {
		if (strcmp(p->missing, "include") == 0) {
			buf_puts(&cond, " OR ");
			buf_ident(&cond, c->name);
			buf_puts(&cond, " IS NULL");
		}
		if (filter->len)
			buf_puts(filter, " AND ");
		buf_printf(filter, "(%s)", cond.data);
	} else if (strcmp(p->missing, "exclude") == 0) {
		if (filter->len)
			buf_puts(filter, " AND ");
		buf_ident(filter, c->name);
		buf_puts(filter, " IS NOT NULL");
	}
	buf_release(&cond);
	pg2md_debug("table \"%s\": incremental on \"%s\" from %s", t->name, c->name, p->start ? p->start : "the beginning");
	return PG2MD_OK;
}

pg2md_code
incr_check_missing(PGconn *leader, const char *schema, const pg2md_table *t, const char *filter, incr_plan *p,
		   pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	PGresult *res;
	if (p->active && p->fixed_range) {
		/* the server compares in the cursor's own type */
		const pg2md_column *c = &t->cols[p->col];
		buf_puts(&q, "SELECT CAST(");
		buf_literal(&q, p->end);
		buf_printf(&q, " AS %s) < CAST(", c->pg_type);
		buf_literal(&q, p->initial);
		buf_printf(&q, " AS %s)", c->pg_type);
		res = pg_query(leader, q.data, 0, NULL, err);
		buf_reset(&q);
		if (!res) {
			buf_release(&q);
			return err->code;
		}
		bool below = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (below) {
			buf_release(&q);
			return pg2md_fail(err, PG2MD_ERR_USAGE,
					  "incremental.end_value of table \"%s\" is below its initial_value", t->name);
		}
	}
	if (!p->active || strcmp(p->missing, "raise") != 0) {
		buf_release(&q);
		return PG2MD_OK;
	}
	buf_puts(&q, "SELECT EXISTS (SELECT 1 FROM ");
	append_table(&q, schema, t);
	buf_puts(&q, " WHERE ");
	buf_ident(&q, t->cols[p->col].name);
	buf_puts(&q, " IS NULL");
	if (filter && *filter)
		buf_printf(&q, " AND (%s)", filter);
	buf_puts(&q, ")");
	res = pg_query(leader, q.data, 0, NULL, err);
	buf_release(&q);
	if (!res)
		return err->code;
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "table \"%s\" has rows whose cursor column \"%s\" is NULL", t->name,
			   t->cols[p->col].name);
		pg2md_hint(err, "set incremental.on_cursor_value_missing = \"include\" or \"exclude\" under "
				"[sources.sql_database.%s]", t->name);
	}
	PQclear(res);
	return err->code;
}

pg2md_code
incr_finish(PGconn *leader, const char *schema, const pg2md_table *t, const char *filter, incr_plan *p,
	    pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	PGresult *res;
	if (!p->active || p->fixed_range)
		return PG2MD_OK;
	buf_puts(&q, "SELECT max(");
	buf_ident(&q, t->cols[p->col].name);
	buf_puts(&q, ")::text FROM ");
	append_table(&q, schema, t);
	if (filter && *filter)
		buf_printf(&q, " WHERE %s", filter);
	res = pg_query(leader, q.data, 0, NULL, err);
	buf_release(&q);
	if (!res)
		return err->code;
	if (!PQgetisnull(res, 0, 0))
		p->new_last = xstrdup(PQgetvalue(res, 0, 0));
	else
		p->new_last = xstrdup(p->prev_last); /* nothing new: the last value stays */
	bool oom = !p->new_last && (!PQgetisnull(res, 0, 0) || p->prev_last);
	PQclear(res);
	return oom ? pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory") : PG2MD_OK;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

bool
incr_to_manifest(const pg2md_table *t, const incr_plan *p, manifest_incremental *out)
{
	memset(out, 0, sizeof(*out));
	if (!p->active || p->fixed_range)
		return true; /* nothing to record, nothing to de-duplicate against */
	out->present = true;
	out->cursor_path = xstrdup(t->cols[p->col].name);
	out->cursor = xstrdup(t->cols[p->col].dest_name);
	out->initial_value = dup_or_null(p->initial);
	out->start_value = p->start ? dup_or_null(p->prev_last) : NULL;
	out->last_value = dup_or_null(p->new_last);
	out->start_closed = p->start_closed;
	out->previous_last_value = dup_or_null(p->prev_last);
	/* on false the caller frees what was copied (manifest_table_free) */
	return out->cursor_path && out->cursor && (!p->initial || out->initial_value) &&
	       (!(p->start && p->prev_last) || out->start_value) && (!p->new_last || out->last_value) &&
	       (!p->prev_last || out->previous_last_value);
}

void
incr_release(incr_plan *p)
{
	free(p->initial);
	free(p->prev_last);
	free(p->start);
	free(p->new_last);
	free(p->end);
	memset(p, 0, sizeof(*p));
}

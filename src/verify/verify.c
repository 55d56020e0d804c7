/*
 * verify.c — `pg2md verify`'s comparison (see verify.h): the checksum of every table at the
 * source and at the destination, with the DuckDB budget raised for tables of large rows.
 */
#include "verify/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <duckdb.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "dest/duck.h"
#include "dest/load.h"
#include "schema/naming.h"
#include "source/catalog.h"
#include "source/pgconn.h"
#include "stage/incremental.h"
#include "util/buf.h"
#include "util/log.h"
#include "verify/checksum.h"

/* Destination columns of dataset.table: names and types, NULL when the table does not exist. */
static duckdb_result *
dest_columns(pg2md_dest *d, const char *dataset, const char *table, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	duckdb_result *res = xcalloc(1, sizeof(duckdb_result));

	if (!res) {
		pg2md_nomem(err);
		return NULL;
	}
	buf_puts(&sql, "SELECT column_name, data_type FROM duckdb_columns() "
		       "WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&sql, dataset);
	buf_puts(&sql, " AND table_name = ");
	buf_literal(&sql, table);
	buf_puts(&sql, " ORDER BY column_index");
	if (buf_broken(&sql)) {
		pg2md_nomem(err); /* not "no such table" */
		free(res);
		return NULL;
	}
	if (duckdb_query(d->con, sql.data, res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read the columns of table \"%s\" in %s", table, d->where);
		pg2md_detail(err, "%s", duckdb_result_error(res));
		duckdb_destroy_result(res);
		free(res);
		res = NULL;
	}
	buf_release(&sql);
	return res;
}

/* Checksum one table at the source; PG2MD_ERR_RUN on failure. */
static pg2md_code
source_checksum(PGconn *conn, const pg2md_config *cfg, const pg2md_table *t, verify_result *r, const checksum_kind *kinds,
		bool to_utf8, pg2md_error *err)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, t->name);
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_error qerr;
	PGresult *res;

	pg2md_error_init(&qerr);
	checksum_pg_sql(&sql, cfg->schema, t, kinds, r->filter, to_utf8);
	pg2md_debug("verify source: %s", sql.data);
	res = pg_query(conn, sql.data, 0, NULL, &qerr);
	buf_release(&sql);
	if (!res && qerr.code == PG2MD_ERR_NOMEM)
		return pg2md_nomem(err);
	if (!res) {
		pg2md_chomp(qerr.msg);
		pg2md_fail(err, qerr.code, "could not checksum table \"%s\" at the source", t->name);
		pg2md_detail(err, "%s", qerr.msg);
		if (tc && tc->where)
			pg2md_hint(err, "check the where filter under [sources.sql_database.%s] in .dlt/config.toml",
				   t->name);
		return err->code;
	}
	r->src_rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	r->src_sum = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	return r->src_sum ? PG2MD_OK : pg2md_nomem(err);
}

/* Checksum one table at the destination; a missing table or column is a difference, not an error. */
static pg2md_code
dest_checksum(pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *tbl, verify_result *r, checksum_kind *kinds,
	      pg2md_error *err)
{
	const pg2md_table *t = tbl;
	duckdb_result *cols = dest_columns(d, cfg->dataset_name, t->dest_name, err);
	const char **names = xcalloc((size_t)t->ncols + 1, sizeof(char *));
	pg2md_buf missing = PG2MD_BUF_INIT, sql = PG2MD_BUF_INIT, active = PG2MD_BUF_INIT;
	duckdb_result res;
	idx_t n;

	if (!cols || !names) {
		free(names);
		if (cols) {
			duckdb_destroy_result(cols);
			free(cols);
		}
		return cols ? pg2md_nomem(err) : err->code;
	}
	n = duckdb_row_count(cols);
	if (pg2md_config_scd2(cfg, t->name)) {
		/* scd2 keeps every version: the source compares with the active ones */
		const char *act = pg2md_config_table(cfg, t->name)->active_record_timestamp;
		char *to = naming_normalize(cfg->naming, pg2md_config_validity_column(cfg, t->name, 1));
		if (!to) {
			pg2md_nomem(err);
			goto done;
		}
		buf_ident(&active, to);
		if (act) {
			buf_puts(&active, " = CAST(");
			buf_literal(&active, act);
			buf_puts(&active, " AS TIMESTAMPTZ)");
		} else {
			buf_puts(&active, " IS NULL");
		}
		free(to);
	}
	for (int i = 0; i < t->ncols; i++)
		kinds[i] = checksum_kind_of(&t->cols[i], NULL);
	if (n == 0) {
		r->dst_rows = -1;
		r->problem = xasprintf("table \"%s\" does not exist in dataset \"%s\"", t->dest_name, cfg->dataset_name);
		if (!r->problem)
			pg2md_nomem(err);
		goto done;
	}
	for (int i = 0; i < t->ncols && !r->count_only; i++) {
		const char *want = t->cols[i].dest_name;
		idx_t found = n;
		if (t->cols[i].lineage)
			continue; /* not compared (checksum.c); rows loaded before the option was set have none */
		for (idx_t r2 = 0; r2 < n && found == n; r2++) {
			char *name = duckdb_value_varchar(cols, 0, r2);
			if (name && strcmp(name, want) == 0)
				found = r2;
			duckdb_free(name);
		}
		for (idx_t r2 = 0; r2 < n && found == n; r2++) {
			char *name = duckdb_value_varchar(cols, 0, r2);
			if (name && strcasecmp(name, want) == 0)
				found = r2;
			duckdb_free(name);
		}
		if (found == n) {
			buf_printf(&missing, "%s\"%s\"", missing.len ? ", " : "", want);
			continue;
		}
		char *name = duckdb_value_varchar(cols, 0, found);
		char *type = duckdb_value_varchar(cols, 1, found);
		names[i] = xstrdup(name ? name : want);
		if (!names[i]) {
			duckdb_free(name);
			duckdb_free(type);
			pg2md_nomem(err);
			goto done;
		}
		kinds[i] = checksum_kind_of(&t->cols[i], type);
		pg2md_debug("verify: column \"%s\" (%s) as \"%s\" (%s): %s", t->cols[i].name, t->cols[i].pg_type,
			    names[i], type ? type : "?", checksum_kind_name(kinds[i]));
		duckdb_free(name);
		duckdb_free(type);
	}

	if (buf_broken(&missing) || buf_broken(&active)) {
		pg2md_nomem(err); /* not "every column is there" */
		goto done;
	}
	if (r->count_only || missing.len) {
		if (r->count_only)
			buf_reset(&missing);
		else if (!(r->problem = xasprintf("destination table \"%s\" has no column%s %s", t->dest_name,
						  strchr(missing.data, ',') ? "s" : "", missing.data))) {
			pg2md_nomem(err);
			goto done;
		}
		buf_puts(&sql, "SELECT count(*) FROM ");
		duck_qualified(&sql, cfg->dataset_name, t->dest_name);
		if (active.len)
			buf_printf(&sql, " WHERE %s", active.data);
	} else {
		checksum_duck_sql(&sql, cfg->dataset_name, t->dest_name, t, names, kinds, active.len ? active.data : NULL);
	}
	if (buf_broken(&sql)) {
		pg2md_nomem(err);
		goto done;
	}
	pg2md_debug("verify destination: %s", sql.data);
	if (duckdb_query(d->con, sql.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not checksum table \"%s\" in %s", t->dest_name, d->where);
		pg2md_detail(err, "%s", duckdb_result_error(&res));
	} else {
		r->dst_rows = duckdb_value_int64(&res, 0, 0);
		if (!missing.len) {
			char *v = duckdb_value_varchar(&res, 1, 0);
			r->dst_sum = xstrdup(v ? v : "");
			duckdb_free(v);
			if (!r->dst_sum)
				pg2md_nomem(err);
		}
	}
	duckdb_destroy_result(&res);

done:
	for (int i = 0; i < t->ncols; i++)
		free((char *)names[i]);
	free(names);
	buf_release(&missing);
	buf_release(&active);
	buf_release(&sql);
	duckdb_destroy_result(cols);
	free(cols);
	return err->code;
}

/*
 * The window measured for source table name: the most COPY bytes in 2048 consecutive rows, and
 * their rows (the scan's measure, which the load that first stored the newest schema keeps in
 * _dlt_version beside it, "x-pg2md-row-window").  *schema caches that schema ("null" when there
 * is none).  false when that schema does not hold the table.
 */
static bool
loaded_window(pg2md_dest *d, const char *dataset, json_t **schema, const char *name, int64_t *wb, int64_t *wr)
{
	json_t *jt;
	size_t i;

	if (!*schema) {
		pg2md_error e;
		pg2md_error_init(&e);
		dlt_newest_json(d->con, dataset, "_dlt_version", "schema", NULL, schema, &e);
		if (!*schema)
			*schema = json_null();
	}
	json_array_foreach(json_object_get(*schema, "tables"), i, jt) {
		if (!json_is_string(json_object_get(jt, "name")) ||
		    strcmp(json_string_value(json_object_get(jt, "name")), name) != 0)
			continue;
		json_t *w = json_object_get(jt, "x-pg2md-row-window");
		*wb = json_integer_value(json_object_get(w, "bytes"));
		*wr = json_integer_value(json_object_get(w, "rows"));
		return *wb > 0 && *wr > 0;
	}
	return false;
}

pg2md_code
verify_run(const pg2md_config *cfg, verify_report *out, pg2md_error *err)
{
	PGconn *conn = NULL;
	pg2md_table *tables = NULL;
	int ntables = 0;
	verify_result *rs = NULL;
	pg2md_dest d;
	bool dest_opened = false, dest_exists = true, md;
	json_t *schema = NULL; /* the last load's, for the rows' size (loaded_window) */

	memset(out, 0, sizeof(*out));
	md = pg2md_config_motherduck(cfg);

	conn = pg_connect(cfg, err);
	if (!conn)
		goto out;
	if (pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err))
		goto out;
	if (catalog_reflect(conn, cfg, &tables, &ntables, err))
		goto out;

	/* A local file that does not exist holds no table: every table differs, nothing is created. */
	if (!md) {
		struct stat st;
		dest_exists = stat(cfg->duckdb_path, &st) == 0;
	}
	if (dest_exists) {
		if (dest_open(&d, cfg, 64, err))
			goto out;
		dest_opened = true;
		out->destination = xstrdup(d.where);
		if (!out->destination) {
			pg2md_nomem(err);
			goto out;
		}
		if (duck_exec(d.con, checksum_duck_prelude, "defining the checksum macros", err))
			goto out;
	} else {
		out->destination = xasprintf("DuckDB file \"%s\", which does not exist", cfg->duckdb_path);
		if (!out->destination) {
			pg2md_nomem(err);
			goto out;
		}
	}

	const char *enc = PQparameterStatus(conn, "server_encoding");
	bool to_utf8 = enc && strcmp(enc, "UTF8") != 0;
	out->dest_exists = dest_exists;
	out->tables = rs = xcalloc((size_t)ntables + 1, sizeof(verify_result));
	if (!rs) {
		pg2md_nomem(err);
		goto out;
	}
	out->ntables = ntables;
	for (int i = 0; i < ntables; i++) {
		verify_result *r = &rs[i];
		const pg2md_table_config *tc = pg2md_config_table(cfg, tables[i].name);
		checksum_kind *kinds = xcalloc((size_t)tables[i].ncols + 1, sizeof(checksum_kind));

		r->name = xstrdup(tables[i].name);
		r->dest_name = xstrdup(tables[i].dest_name);
		if (!kinds || !r->name || !r->dest_name) {
			free(kinds);
			pg2md_nomem(err);
			goto out;
		}
		r->filtered = tc && tc->where && *tc->where;
		r->count_only = tc && tc->transform;
		{
			/* the rows a first run reads: where, then the incremental window with no state */
			pg2md_buf f = PG2MD_BUF_INIT;
			incr_plan p;
			json_t *none = json_object();
			if (r->filtered)
				buf_printf(&f, "(%s)", tc->where);
			size_t before = f.len;
			pg2md_code result = incr_plan_table(cfg, none, &tables[i], &p, &f, err);
			json_decref(none);
			incr_release(&p);
			r->windowed = f.len > before;
			r->filter = buf_detach(&f);
			if (!result && !r->filter)
				result = pg2md_nomem(err); /* not "no filter" */
			if (result) {
				free(kinds);
				goto out;
			}
		}
		r->incremental = tc && tc->cursor_path;
		r->disposition = pg2md_disposition_name(pg2md_config_disposition(cfg, tables[i].name));
		if (dest_opened) {
			/* rows of several MB: DuckDB scans 2048 at a time (dest_budget_raise); their size
			 * as the source's statistics tell it */
			const pg2md_table *t = &tables[i];
			bool raised = false, big = false;
			int64_t need = 0;
			int64_t wb = 0, wr = 0, there = 0;
			pg2md_error e;
			pg2md_error_init(&e);
			if (!d.motherduck)
				duck_table_rows(d.con, cfg->dataset_name, t->dest_name, &there, &e);
			/* the larger of two estimates: the rows as a load measured them (values PostgreSQL
			 * compressed look smaller in its statistics), over the rows the table holds now;
			 * the source's statistics (rows larger than when that schema was stored) */
			if (!d.motherduck && loaded_window(&d, cfg->dataset_name, &schema, t->name, &wb, &wr))
				need = duck_window_need(2 * duck_window_with(wb, wr, there - wr));
			if (t->leaf_rows >= 1 && !d.motherduck) {
				double rows = there > t->leaf_rows ? (double)there : t->leaf_rows;
				if (rows > DUCK_WINDOW_ROWS)
					rows = DUCK_WINDOW_ROWS;
				int64_t stats = duck_window_need((int64_t)(2 * rows * (double)t->est_bytes / t->leaf_rows));
				if (stats > need)
					need = stats;
			}
			/* twice the window: the checksum's expressions hold each value's canonical text
			 * beside it (measured: a 195 MB window of 95 kB rows ran out at 310 MB) */
			if (duck_budget_short(need)) {
				pg2md_error e;
				char *what = xasprintf("verifying table \"%s\"", t->name);
				pg2md_error_init(&e);
				if (!what) {
					free(kinds);
					pg2md_nomem(err);
					goto out;
				}
				if (duck_budget_raise(d.con, need, what, true, &raised, &e))
					pg2md_warn("%s", e.msg);
				free(what);
				duck_set_threads(d.con, 1);
				big = true;
			}
			dest_checksum(&d, cfg, &tables[i], r, kinds, err);
			if (raised)
				duck_budget_restore(d.con);
			if (big)
				duck_set_threads(d.con, d.threads);
			if (pg2md_failed(err)) {
				free(kinds);
				goto out;
			}
		} else {
			r->dst_rows = -1;
			for (int c = 0; c < tables[i].ncols; c++)
				kinds[c] = checksum_kind_of(&tables[i].cols[c], NULL);
		}
		/* The source side uses the forms the destination's types decided. */
		if (source_checksum(conn, cfg, &tables[i], r, kinds, to_utf8, err)) {
			free(kinds);
			goto out;
		}
		free(kinds);
		if (r->count_only)
			r->equal = r->dst_rows >= 0 && r->dst_rows == r->src_rows;
		else
			r->equal = r->dst_sum && r->dst_rows == r->src_rows && strcmp(r->dst_sum, r->src_sum) == 0;
		if (!r->equal)
			out->ndiff++;
	}

out:
	if (dest_opened)
		dest_close(&d);
	json_decref(schema);
	schema_tables_free(tables, ntables);
	if (conn)
		PQfinish(conn);
	return err->code;
}

void
verify_report_release(verify_report *r)
{
	for (int i = 0; i < r->ntables; i++) {
		free(r->tables[i].name);
		free(r->tables[i].dest_name);
		free(r->tables[i].src_sum);
		free(r->tables[i].dst_sum);
		free(r->tables[i].problem);
		free(r->tables[i].filter);
	}
	free(r->tables);
	free(r->destination);
	memset(r, 0, sizeof(*r));
}

/*
 * cmd_verify.c — `pg2md verify`: does the destination hold what the source
 * holds?  For each configured table, a row count and an order-independent
 * checksum of every value, computed inside PostgreSQL and inside DuckDB (no
 * row leaves either database), then compared.  dest/checksum.h defines the
 * canonical text of each type and the checksum.
 *
 * The source is read in one repeatable-read, read-only transaction, so all
 * tables are compared at the same moment of the source; a table's `where`
 * filter applies as in a run, and so does the incremental window of a first
 * run (initial_value, end_value, on_cursor_value_missing = "exclude"): later
 * runs read from the last value on, so an append or merge table holds every
 * row of that window.  A table defined by a query is compared with the
 * query's rows.  A transformed table's values differ from the source's by
 * design: only its rows are counted.
 *
 * Exit codes: 0 every table equal; 1 a table differs (or is missing in the
 * destination) or a checksum query failed; 2 usage or configuration;
 * 3 a connection could not be made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <duckdb.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "cli/cli.h"
#include "dest/checksum.h"
#include "dest/duck.h"
#include "source/catalog.h"
#include "source/pgconn.h"
#include "stage/incremental.h"
#include "util/buf.h"
#include "util/log.h"

/* The outcome of one table. */
typedef struct verify_result {
	const pg2md_table *t;
	long long src_rows;
	char *src_sum;
	long long dst_rows;   /* -1: the table is not in the destination */
	char *dst_sum;        /* NULL: not computed (table or columns missing) */
	char *problem;        /* why the destination could not be checksummed, or NULL */
	bool filtered;        /* the source side has a `where` filter */
	bool windowed;        /* the source side is limited to the incremental window */
	bool count_only;      /* a transform reshapes the rows: counts compared, values not */
	char *filter;         /* the source filter: where and the incremental window, or "" */
	const char *disposition;
	bool incremental;
	bool equal;
} verify_result;

/* Destination columns of dataset.table: names and types, NULL when the table does not exist. */
static duckdb_result *
dest_columns(pg2md_dest *d, const char *dataset, const char *table, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	duckdb_result *res = xcalloc(1, sizeof(duckdb_result));

	buf_puts(&sql, "SELECT column_name, data_type FROM duckdb_columns() "
		       "WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&sql, dataset);
	buf_puts(&sql, " AND table_name = ");
	buf_literal(&sql, table);
	buf_puts(&sql, " ORDER BY column_index");
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
source_checksum(PGconn *conn, const pg2md_config *cfg, verify_result *r, const checksum_kind *kinds, bool to_utf8,
		pg2md_error *err)
{
	const pg2md_table_config *tc = pg2md_config_table(cfg, r->t->name);
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_error qerr;
	PGresult *res;

	pg2md_error_init(&qerr);
	checksum_pg_sql(&sql, cfg->schema, r->t, kinds, r->filter, to_utf8);
	pg2md_debug("verify source: %s", sql.data);
	res = pg_query(conn, sql.data, 0, NULL, &qerr);
	buf_release(&sql);
	if (!res) {
		pg2md_chomp(qerr.msg);
		pg2md_fail(err, qerr.code, "could not checksum table \"%s\" at the source", r->t->name);
		pg2md_detail(err, "%s", qerr.msg);
		if (tc && tc->where)
			pg2md_hint(err, "check the where filter under [sources.sql_database.%s] in .dlt/config.toml",
				   r->t->name);
		return err->code;
	}
	r->src_rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	r->src_sum = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	return PG2MD_OK;
}

/* Checksum one table at the destination; a missing table or column is a difference, not an error. */
static pg2md_code
dest_checksum(pg2md_dest *d, const pg2md_config *cfg, verify_result *r, checksum_kind *kinds, pg2md_error *err)
{
	const pg2md_table *t = r->t;
	duckdb_result *cols = dest_columns(d, cfg->dataset_name, t->dest_name, err);
	const char **names = xcalloc((size_t)t->ncols + 1, sizeof(char *));
	pg2md_buf missing = PG2MD_BUF_INIT, sql = PG2MD_BUF_INIT;
	duckdb_result res;
	idx_t n;

	if (!cols) {
		free(names);
		return err->code;
	}
	n = duckdb_row_count(cols);
	for (int i = 0; i < t->ncols; i++)
		kinds[i] = checksum_kind_of(&t->cols[i], NULL);
	if (n == 0) {
		r->dst_rows = -1;
		r->problem = xasprintf("table \"%s\" does not exist in dataset \"%s\"", t->dest_name, cfg->dataset_name);
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
		kinds[i] = checksum_kind_of(&t->cols[i], type);
		pg2md_debug("verify: column \"%s\" (%s) as \"%s\" (%s): %s", t->cols[i].name, t->cols[i].pg_type,
			    names[i], type ? type : "?", checksum_kind_name(kinds[i]));
		duckdb_free(name);
		duckdb_free(type);
	}

	if (r->count_only) {
		buf_reset(&missing);
		buf_puts(&sql, "SELECT count(*) FROM ");
		duck_qualified(&sql, cfg->dataset_name, t->dest_name);
	} else if (missing.len) {
		r->problem = xasprintf("destination table \"%s\" has no column%s %s", t->dest_name,
				       strchr(missing.data, ',') ? "s" : "", missing.data);
		buf_puts(&sql, "SELECT count(*) FROM ");
		duck_qualified(&sql, cfg->dataset_name, t->dest_name);
	} else {
		checksum_duck_sql(&sql, cfg->dataset_name, t->dest_name, t, names, kinds);
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
		}
	}
	duckdb_destroy_result(&res);

done:
	for (int i = 0; i < t->ncols; i++)
		free((char *)names[i]);
	free(names);
	buf_release(&missing);
	buf_release(&sql);
	duckdb_destroy_result(cols);
	free(cols);
	return err->code;
}

static const char *
filter_note(const verify_result *r)
{
	if (r->filtered && r->windowed)
		return " (source filtered by where and the incremental window)";
	if (r->filtered)
		return " (source filtered by where)";
	if (r->windowed)
		return " (source filtered by the incremental window)";
	return "";
}

static void
print_text(const pg2md_config *cfg, const char *dest_where, verify_result *rs, int n)
{
	int namew = 5, ok = 0;
	long long src_total = 0, dst_total = 0;

	printf("pg2md verify: schema \"%s\" (PostgreSQL) against dataset \"%s\" (%s)\n\n", cfg->schema,
	       cfg->dataset_name, dest_where);
	for (int i = 0; i < n; i++)
		if ((int)strlen(rs[i].t->name) + 2 > namew)
			namew = (int)strlen(rs[i].t->name) + 2;
	for (int i = 0; i < n; i++) {
		verify_result *r = &rs[i];
		char *quoted = xasprintf("\"%s\"", r->t->name);
		src_total += r->src_rows;
		if (r->dst_rows > 0)
			dst_total += r->dst_rows;
		if (r->equal) {
			ok++;
			if (r->count_only)
				printf("  %-10s %-*s %lld rows (transformed: rows counted, values not compared)%s\n", "ok", namew,
				       quoted, r->src_rows, filter_note(r));
			else
				printf("  %-10s %-*s %lld rows, checksum %s%s\n", "ok", namew, quoted, r->src_rows, r->src_sum,
				       filter_note(r));
		} else {
			printf("  %-10s %-*s source %lld rows, checksum %s; destination ", "DIFFERENT", namew, quoted,
			       r->src_rows, r->src_sum);
			if (r->dst_rows < 0)
				printf("missing\n");
			else
				printf("%lld rows, checksum %s\n", r->dst_rows, r->dst_sum ? r->dst_sum : "not computed");
			if (r->problem)
				printf("  %-10s %-*s DETAIL:  %s\n", "", namew, "", r->problem);
			if (strcmp(r->disposition, "append") == 0)
				printf("  %-10s %-*s NOTE:  write_disposition is \"append\": repeated runs add rows, so the "
				       "destination can legitimately hold more\n", "", namew, "");
			else if (r->incremental)
				printf("  %-10s %-*s NOTE:  the table is incremental: verify compares the source rows from the "
				       "cursor's initial value on; a replace table holds only the last run's rows\n", "", namew, "");
			if (r->count_only)
				printf("  %-10s %-*s NOTE:  a transform reshapes the rows: only the row counts are compared, "
				       "and a transform that filters rows makes them differ\n", "", namew, "");
		}
		free(quoted);
	}
	printf("\ntotal: %d table%s, %d ok, %d different; %lld rows at the source, %lld in the destination\n", n,
	       n == 1 ? "" : "s", ok, n - ok, src_total, dst_total);
}

static void
print_json(const pg2md_config *cfg, const char *dest_where, verify_result *rs, int n)
{
	json_t *root = json_object(), *tables = json_array();
	int ok = 0;
	long long src_total = 0, dst_total = 0;

	json_object_set_new(root, "schema", json_string(cfg->schema));
	json_object_set_new(root, "dataset", json_string(cfg->dataset_name));
	json_object_set_new(root, "destination", json_string(dest_where));
	for (int i = 0; i < n; i++) {
		verify_result *r = &rs[i];
		json_t *o = json_object(), *src = json_object(), *dst = json_object();
		json_object_set_new(o, "table", json_string(r->t->name));
		json_object_set_new(o, "destination_table", json_string(r->t->dest_name));
		json_object_set_new(o, "status", json_string(r->equal ? "ok" : "different"));
		json_object_set_new(o, "write_disposition", json_string(r->disposition));
		json_object_set_new(o, "filtered", json_boolean(r->filtered));
		json_object_set_new(o, "incremental_window", json_boolean(r->windowed));
		json_object_set_new(o, "compared", json_string(r->count_only ? "rows" : "rows and values"));
		json_object_set_new(src, "rows", json_integer(r->src_rows));
		json_object_set_new(src, "checksum", json_string(r->src_sum));
		json_object_set_new(dst, "exists", json_boolean(r->dst_rows >= 0));
		json_object_set_new(dst, "rows", r->dst_rows >= 0 ? json_integer(r->dst_rows) : json_null());
		json_object_set_new(dst, "checksum", r->dst_sum ? json_string(r->dst_sum) : json_null());
		json_object_set_new(o, "source", src);
		json_object_set_new(o, "destination", dst);
		if (r->problem)
			json_object_set_new(o, "detail", json_string(r->problem));
		json_array_append_new(tables, o);
		ok += r->equal;
		src_total += r->src_rows;
		if (r->dst_rows > 0)
			dst_total += r->dst_rows;
	}
	json_object_set_new(root, "tables", tables);
	json_t *total = json_object();
	json_object_set_new(total, "tables", json_integer(n));
	json_object_set_new(total, "ok", json_integer(ok));
	json_object_set_new(total, "different", json_integer(n - ok));
	json_object_set_new(total, "source_rows", json_integer(src_total));
	json_object_set_new(total, "destination_rows", json_integer(dst_total));
	json_object_set_new(root, "total", total);
	json_object_set_new(root, "equal", json_boolean(ok == n));
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
	json_decref(root);
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
		pg2md_buf sql = PG2MD_BUF_INIT;
		pg2md_error e;
		char *text = NULL;
		pg2md_error_init(&e);
		buf_puts(&sql, "SELECT schema FROM ");
		duck_qualified(&sql, dataset, "_dlt_version");
		buf_puts(&sql, " ORDER BY version DESC LIMIT 1");
		duck_scalar(d->con, sql.data, &text, &e);
		*schema = text ? json_loads(text, 0, NULL) : NULL;
		if (!*schema)
			*schema = json_null();
		free(text);
		buf_release(&sql);
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

int
cmd_verify(cli_opts *opts)
{
	pg2md_config *cfg;
	pg2md_error err;
	PGconn *conn = NULL;
	pg2md_table *tables = NULL;
	int ntables = 0, code, ndiff = 0;
	verify_result *rs = NULL;
	pg2md_dest d;
	bool dest_opened = false, dest_exists = true, md;
	json_t *schema = NULL; /* the last load's, for the rows' size (loaded_window) */
	char *dest_where = NULL;

	if (opts->nargs > 0) {
		fprintf(stderr, "pg2md verify: unexpected argument \"%s\"\n"
				"Try \"pg2md verify --help\" for more information.\n", opts->args[0]);
		return PG2MD_ERR_USAGE;
	}
	if (opts->flags.write_disposition || opts->flags.direct != -1) {
		fprintf(stderr, "pg2md verify: options --write-disposition, --direct and --staged apply to runs only\n"
				"Try \"pg2md verify --help\" for more information.\n");
		return PG2MD_ERR_USAGE;
	}
	cfg = cli_load_config(opts, &code);
	if (!cfg)
		return code;
	pg2md_error_init(&err);
	md = cfg->destination && strcmp(cfg->destination, "motherduck") == 0;

	conn = pg_connect(cfg, &err);
	if (!conn)
		goto out;
	if (pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &err))
		goto out;
	if (catalog_reflect(conn, cfg, &tables, &ntables, &err))
		goto out;

	/* A local file that does not exist holds no table: every table differs, nothing is created. */
	if (!md) {
		struct stat st;
		dest_exists = stat(cfg->duckdb_path, &st) == 0;
	}
	if (dest_exists) {
		if (dest_open(&d, cfg, 64, &err))
			goto out;
		dest_opened = true;
		dest_where = xstrdup(d.where);
		if (duck_exec(d.con, checksum_duck_prelude, "defining the checksum macros", &err))
			goto out;
	} else {
		dest_where = xasprintf("DuckDB file \"%s\", which does not exist", cfg->duckdb_path);
	}

	const char *enc = PQparameterStatus(conn, "server_encoding");
	bool to_utf8 = enc && strcmp(enc, "UTF8") != 0;
	rs = xcalloc((size_t)ntables + 1, sizeof(verify_result));
	for (int i = 0; i < ntables; i++) {
		verify_result *r = &rs[i];
		const pg2md_table_config *tc = pg2md_config_table(cfg, tables[i].name);
		checksum_kind *kinds = xcalloc((size_t)tables[i].ncols + 1, sizeof(checksum_kind));

		r->t = &tables[i];
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
			pg2md_code result = incr_plan_table(cfg, none, &tables[i], &p, &f, &err);
			json_decref(none);
			incr_release(&p);
			r->windowed = f.len > before;
			r->filter = buf_detach(&f);
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
				if (duck_budget_raise(d.con, need, what, true, &raised, &e))
					pg2md_warn("%s", e.msg);
				free(what);
				duck_set_threads(d.con, 1);
				big = true;
			}
			dest_checksum(&d, cfg, r, kinds, &err);
			if (raised)
				duck_budget_restore(d.con);
			if (big)
				duck_set_threads(d.con, d.threads);
			if (pg2md_failed(&err)) {
				free(kinds);
				goto out;
			}
		} else {
			r->dst_rows = -1;
			for (int c = 0; c < tables[i].ncols; c++)
				kinds[c] = checksum_kind_of(&tables[i].cols[c], NULL);
		}
		/* The source side uses the forms the destination's types decided. */
		if (source_checksum(conn, cfg, r, kinds, to_utf8, &err)) {
			free(kinds);
			goto out;
		}
		free(kinds);
		if (r->count_only)
			r->equal = r->dst_rows >= 0 && r->dst_rows == r->src_rows;
		else
			r->equal = r->dst_sum && r->dst_rows == r->src_rows && strcmp(r->dst_sum, r->src_sum) == 0;
		if (!r->equal)
			ndiff++;
	}

	if (opts->json)
		print_json(cfg, dest_where, rs, ntables);
	else
		print_text(cfg, dest_where, rs, ntables);
	fflush(stdout);
	if (ndiff) {
		pg2md_fail(&err, PG2MD_ERR_RUN, "%d of %d table%s differ%s between source and destination", ndiff, ntables,
			   ntables == 1 ? "" : "s", ndiff == 1 ? "s" : "");
		if (!dest_exists)
			pg2md_hint(&err, "the DuckDB file does not exist yet: run \"pg2md run\" first");
	}

out:
	code = err.code;
	if (pg2md_failed(&err))
		cli_print_error(&err);
	if (rs)
		for (int i = 0; i < ntables; i++) {
			free(rs[i].src_sum);
			free(rs[i].dst_sum);
			free(rs[i].problem);
			free(rs[i].filter);
		}
	free(rs);
	free(dest_where);
	if (dest_opened)
		dest_close(&d);
	json_decref(schema);
	catalog_free(tables, ntables);
	if (conn)
		PQfinish(conn);
	pg2md_config_free(cfg);
	return code;
}

/*
 * tableset.c — which tables a slot's stream applies, and from which position on (see
 * tableset.h): the rows of "<dataset>"."_pg2md_cdc_tables", the copy of a table added to
 * `tables` in a temporary slot's snapshot, and a removed table's leaving the publication.
 *
 * Why a temporary slot for an added table: its exported snapshot and its consistent point
 * are one exact position in the WAL (every transaction committed before the point is in the
 * snapshot, every later one is not), which the position of an ordinary snapshot is not.  The
 * slot the stream reads sends the table's changes from the moment the table joined the
 * publication, which is before that point; the ones before it are in the copy and are skipped
 * by the table's copy_lsn, the later ones applied.  No change of the table escapes both: a new
 * slot is consistent only once every transaction running at its creation has ended, so every
 * transaction committing after its consistent point began after the table joined the
 * publication, and the slot the stream reads sends all of its changes of the table (streamed
 * ones too).  The temporary slot goes with its connection, also when the process dies, so a copy
 * cut by a crash leaves nothing on the source to clean.
 */
#include "cdc/tableset.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdc/admin.h"
#include "dest/load.h"
#include "source/pgconn.h"
#include "stage/pipeline.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/log.h"

#define MAX_PARAMS 64

static void
ts_table(pg2md_buf *b, const pg2md_config *cfg)
{
	buf_ident(b, cfg->dataset_name);
	buf_puts(b, "._pg2md_cdc_tables");
}

void
cdc_tableset_release(cdc_tableset *ts)
{
	for (int i = 0; i < ts->n; i++)
		free(ts->items[i].name);
	free(ts->items);
	ts->items = NULL;
	ts->n = 0;
}

static pg2md_code
ts_query(pg2md_dest *d, const char *sql, duckdb_result *res, pg2md_error *err)
{
	if (buf_is_oom(sql))
		return pg2md_nomem(err);
	if (duckdb_query(d->con, sql, res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read the followed tables in %s", d->where);
		pg2md_detail(err, "%s", duckdb_result_error(res));
		duckdb_destroy_result(res);
		return PG2MD_ERR_RUN;
	}
	return PG2MD_OK;
}

pg2md_code
cdc_tableset_read(pg2md_dest *d, const pg2md_config *cfg, const char *slot, cdc_tableset *out, pg2md_error *err)
{
	memset(out, 0, sizeof(*out));
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "SELECT count(*) FROM information_schema.tables WHERE table_schema = ");
	buf_literal(&q, cfg->dataset_name);
	buf_puts(&q, " AND table_name = '_pg2md_cdc_tables'");
	duckdb_result res;
	if (ts_query(d, q.data, &res, err)) {
		buf_release(&q);
		return err->code;
	}
	bool exists = duckdb_value_int64(&res, 0, 0) > 0;
	duckdb_destroy_result(&res);
	if (!exists) {
		buf_release(&q);
		return PG2MD_OK;
	}
	buf_reset(&q);
	buf_puts(&q, "SELECT table_name, copy_lsn FROM ");
	ts_table(&q, cfg);
	buf_puts(&q, " WHERE slot_name = ");
	buf_literal(&q, slot);
	buf_puts(&q, " ORDER BY table_name");
	pg2md_code rc = ts_query(d, q.data, &res, err);
	buf_release(&q);
	if (rc)
		return rc;
	idx_t n = duckdb_row_count(&res);
	out->items = xcalloc((size_t)n + 1, sizeof(cdc_joined));
	bool oom = !out->items;
	for (idx_t r = 0; r < n && !oom; r++) {
		char *name = duckdb_value_varchar(&res, 0, r);
		oom = !(out->items[out->n].name = xstrdup(name ? name : ""));
		if (!oom)
			out->items[out->n++].copy_lsn = (pgo_lsn)duckdb_value_int64(&res, 1, r);
		duckdb_free(name);
	}
	duckdb_destroy_result(&res);
	if (oom) {
		cdc_tableset_release(out);
		return pg2md_nomem(err);
	}
	return PG2MD_OK;
}

/* DELETE of the slot's rows, or of one table's row when name is not NULL (no transaction). */
static void
ts_delete(pg2md_buf *q, const pg2md_config *cfg, const char *slot, const char *name)
{
	buf_puts(q, "DELETE FROM ");
	ts_table(q, cfg);
	buf_puts(q, " WHERE slot_name = ");
	buf_literal(q, slot);
	if (name) {
		buf_puts(q, " AND table_name = ");
		buf_literal(q, name);
	}
}

pg2md_code
cdc_tableset_record(pg2md_dest *d, const pg2md_config *cfg, const char *slot, const pg2md_table *tables, int n,
		    pgo_lsn lsn, bool replace_all, pg2md_error *err)
{
	char text[PGO_LSN_TEXT];
	pgo_lsn_format(lsn, text);
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "BEGIN; CREATE SCHEMA IF NOT EXISTS ");
	buf_ident(&q, cfg->dataset_name);
	buf_puts(&q, "; CREATE TABLE IF NOT EXISTS ");
	ts_table(&q, cfg);
	buf_puts(&q, " (slot_name VARCHAR, table_name VARCHAR, copy_lsn BIGINT, copy_lsn_text VARCHAR, "
		     "copied_at TIMESTAMPTZ); ");
	if (replace_all) {
		ts_delete(&q, cfg, slot, NULL);
		buf_puts(&q, "; ");
	}
	for (int i = 0; i < n; i++) {
		if (!replace_all) {
			ts_delete(&q, cfg, slot, tables[i].name);
			buf_puts(&q, "; ");
		}
		buf_puts(&q, "INSERT INTO ");
		ts_table(&q, cfg);
		buf_puts(&q, " VALUES (");
		buf_literal(&q, slot);
		buf_puts(&q, ", ");
		buf_literal(&q, tables[i].name);
		buf_printf(&q, ", %" PRId64 ", '%s', now()); ", (int64_t)lsn, text);
	}
	buf_puts(&q, "COMMIT");
	/* a long list of tables makes a long statement: MotherDuck's cap (dest/load.h) */
	pg2md_code rc = d->md_rules ? md_statements_check(q.data, "recording the followed tables", err) : PG2MD_OK;
	if (rc == PG2MD_OK)
		rc = duck_exec(d->con, q.data, "recording the followed tables", err);
	if (rc)
		duck_exec(d->con, "ROLLBACK", "rolling back", &(pg2md_error){0});
	buf_release(&q);
	return rc;
}

static pg2md_code
ts_forget(pg2md_dest *d, const pg2md_config *cfg, const char *slot, const char *name, pg2md_error *err)
{
	cdc_tableset ts;
	if (cdc_tableset_read(d, cfg, slot, &ts, err))
		return err->code;
	bool any = ts.n > 0;
	cdc_tableset_release(&ts);
	if (!any)
		return PG2MD_OK;
	pg2md_buf q = PG2MD_BUF_INIT;
	ts_delete(&q, cfg, slot, name);
	pg2md_code rc = duck_exec(d->con, q.data, "forgetting a followed table", err);
	buf_release(&q);
	return rc;
}

pg2md_code
cdc_tableset_clear(pg2md_dest *d, const pg2md_config *cfg, const char *slot, pg2md_error *err)
{
	return ts_forget(d, cfg, slot, NULL, err);
}

cdc_stream *
cdc_open_stream(const pg2md_config *cfg, pg2md_error *err)
{
	const char *keys[MAX_PARAMS + 1], *vals[MAX_PARAMS + 1];
	pg2md_config_pg_params(cfg, keys, vals, MAX_PARAMS);
	return cdc_stream_open(keys, vals, err);
}

pg2md_code
cdc_copy_tables(pg2md_config *cfg, const char *snapshot, const pg2md_table *tables, int n, pg2md_error *err)
{
	pg2md_strlist saved = cfg->tables;
	char **names = NULL;
	if (tables) {
		names = xcalloc((size_t)n + 1, sizeof(char *));
		if (!names)
			return pg2md_nomem(err);
		for (int i = 0; i < n; i++)
			names[i] = tables[i].name;
		cfg->tables = (pg2md_strlist){names, n};
	}
	cfg->import_snapshot = snapshot;
	for (int attempt = 0; attempt < 2; attempt++) {
		pg2md_trace trace;
		pipeline_run(cfg, STAGE_ALL, &trace, err);
		bool pending = trace.finished_pending;
		pipeline_trace_release(&trace);
		if (pg2md_failed(err) || !pending)
			break;
		/* a package an earlier crash left was finished first: now the copy itself */
		pg2md_info("finished a load package an earlier run left; now the copy");
	}
	cfg->import_snapshot = NULL;
	cfg->tables = saved;
	free(names);
	return err->code;
}

static bool
in_tables(const pg2md_table *tables, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(tables[i].name, name) == 0)
			return true;
	return false;
}

/* Whether pg2md follow created the publication for this pipeline (its comment says so): a
 * publication of another pipeline, or of someone else, may need the table still. */
static pg2md_code
pub_is_ours(PGconn *conn, const pg2md_config *cfg, const char *pub, bool *ours, pg2md_error *err)
{
	const char *p[] = {pub};
	PGresult *res = pg_query(conn, "SELECT coalesce(obj_description(oid, 'pg_publication'), ''), puballtables "
				       "FROM pg_catalog.pg_publication WHERE pubname = $1", 1, p, err);
	if (!res)
		return err->code;
	char *mine = xasprintf(CDC_PUB_COMMENT_PREFIX " for pipeline %s;", cfg->pipeline_name ? cfg->pipeline_name : "pg2md");
	if (!mine) {
		PQclear(res);
		return pg2md_nomem(err);
	}
	*ours = PQntuples(res) == 1 && PQgetvalue(res, 0, 1)[0] != 't' &&
		strncmp(PQgetvalue(res, 0, 0), mine, strlen(mine)) == 0;
	free(mine);
	PQclear(res);
	return PG2MD_OK;
}

/* A table no longer in `tables`: out of pg2md's publication, then its row.  The mirror stays. */
static pg2md_code
remove_table(cdc_sync *s, const char *name, pg2md_error *err)
{
	const pg2md_config *cfg = s->cfg;
	bool ours = false;
	if (pub_is_ours(s->conn, cfg, s->pub, &ours, err))
		return err->code;
	const char *p[] = {s->pub, cfg->schema, name};
	PGresult *res = pg_query(s->conn, "SELECT 1 FROM pg_catalog.pg_publication_tables WHERE pubname = $1 AND "
					  "schemaname = $2 AND tablename = $3", 3, p, err);
	if (!res)
		return err->code;
	bool in = PQntuples(res) > 0;
	PQclear(res);
	pg2md_buf sql = PG2MD_BUF_INIT;
	buf_puts(&sql, "ALTER PUBLICATION ");
	buf_ident(&sql, s->pub);
	buf_puts(&sql, " DROP TABLE ");
	buf_ident(&sql, cfg->schema);
	buf_putc(&sql, '.');
	buf_ident(&sql, name);
	if (buf_broken(&sql))
		return pg2md_nomem(err);
	if (in && ours) {
		pg2md_error e;
		pg2md_error_init(&e);
		if (pg_exec(s->conn, sql.data, &e))
			pg2md_warn("could not take table \"%s\" out of publication \"%s\" (the server goes on sending its "
				   "changes; pg2md ignores them): %s", name, s->pub, e.msg);
	} else if (in) {
		pg2md_info("publication \"%s\" is not pg2md's: it keeps table \"%s\" (to stop the server sending its "
			   "changes: %s;)", s->pub, name, sql.data);
	}
	buf_release(&sql);
	fault_point("cdc:table_removed_from_publication");
	if (ts_forget(s->dest, cfg, s->slot, name, err))
		return err->code;
	pg2md_info("table \"%s\" is no longer in tables: its changes are not applied from now on; its mirror table "
		   "stays as it is", name);
	return PG2MD_OK;
}

/* The tables of s not in ts: copied in a temporary slot's snapshot, then recorded at its point. */
static pg2md_code
add_tables(cdc_sync *s, const pg2md_table *add, int nadd, pg2md_error *err)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%.40s_add_%ld", s->slot, (long)getpid());
	char *snapshot = NULL;
	pgo_lsn at = 0;
	cdc_stream *st = cdc_open_stream(s->cfg, err);
	if (!st)
		return err->code;
	/* the tables are in the publication already (follow.c): from here the slot sends their changes */
	fault_point("cdc:add_before_slot");
	if (cdc_stream_create_slot(st, tmp, true, &snapshot, &at, err))
		goto out;
	char l[PGO_LSN_TEXT];
	pg2md_info("copying %d table%s added to tables (%s%s) in the snapshot of temporary slot \"%s\" at %s", nadd,
		   nadd == 1 ? "" : "s", add[0].name, nadd > 1 ? ", …" : "", tmp, pgo_lsn_format(at, l));
	/* the run opens the destination itself */
	dest_close(s->dest);
	*s->dest_open = false;
	fault_point("cdc:add_after_slot");
	if (cdc_copy_tables(s->cfg, snapshot, add, nadd, err))
		goto out;
	fault_point("cdc:add_before_record");
	if (dest_open(s->dest, s->cfg, 2, err))
		goto out;
	*s->dest_open = true;
	if (cdc_tableset_record(s->dest, s->cfg, s->slot, add, nadd, at, false, err))
		goto out;
	for (int i = 0; i < nadd; i++)
		for (int j = 0; j < s->ntables; j++)
			if (strcmp(s->tables[j].name, add[i].name) == 0)
				s->copy_lsn[j] = at;
	s->added = nadd;
	pg2md_info("the added tables join the stream at %s: their changes committed from there on are applied", l);
out:
	cdc_stream_close(st); /* the temporary slot goes with its connection */
	free(snapshot);
	return err->code;
}

pg2md_code
cdc_tableset_sync(cdc_sync *s, pg2md_error *err)
{
	cdc_tableset ts;
	if (cdc_tableset_read(s->dest, s->cfg, s->slot, &ts, err))
		return err->code;
	if (ts.n == 0) {
		/* a destination from before the rows: every configured table followed from the slot's start */
		cdc_tableset_release(&ts);
		return cdc_tableset_record(s->dest, s->cfg, s->slot, s->tables, s->ntables, 0, true, err);
	}
	for (int i = 0; i < ts.n && !pg2md_failed(err); i++) {
		if (!in_tables(s->tables, s->ntables, ts.items[i].name) && remove_table(s, ts.items[i].name, err) == PG2MD_OK)
			s->removed++;
	}
	pg2md_table *add = xcalloc((size_t)s->ntables + 1, sizeof(pg2md_table));
	if (!add) {
		cdc_tableset_release(&ts);
		return pg2md_nomem(err);
	}
	int nadd = 0;
	for (int j = 0; j < s->ntables && !pg2md_failed(err); j++) {
		bool known = false;
		for (int i = 0; i < ts.n && !known; i++)
			if (strcmp(ts.items[i].name, s->tables[j].name) == 0) {
				known = true;
				s->copy_lsn[j] = ts.items[i].copy_lsn;
			}
		if (!known)
			add[nadd++] = s->tables[j]; /* a shallow copy: only read */
	}
	if (nadd && !pg2md_failed(err))
		add_tables(s, add, nadd, err);
	free(add);
	cdc_tableset_release(&ts);
	return err->code;
}

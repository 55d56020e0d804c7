/*
 * admin.c — pg2md drop --replication (see admin.h).
 *
 * The slot goes first: it is what costs the source (it holds WAL, and catalog rows from
 * vacuum, for as long as it exists).  A watermark left without its slot makes the next follow
 * stop with the command that copies again; a slot left without its watermark is dropped and
 * recreated by the next follow: either order recovers, this one protects the source first.
 */
#include "cdc/admin.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cdc/apply.h"
#include "cdc/follow.h"
#include "cdc/tableset.h"
#include "dest/duck.h"
#include "source/pgconn.h"
#include "util/buf.h"
#include "util/log.h"

typedef struct repl_found {
	bool slot, slot_active, publication, ours, watermark;
	char pid[16];
	char comment[128];
} repl_found;

static pg2md_code
look_up_source(PGconn *conn, const drop_result *r, repl_found *f, pg2md_error *err)
{
	const char *ps[] = {r->slot};
	PGresult *res = pg_query(conn, "SELECT active, coalesce(active_pid::text, '') FROM pg_catalog.pg_replication_slots "
				       "WHERE slot_name = $1", 1, ps, err);
	if (!res)
		return err->code;
	if (PQntuples(res) == 1) {
		f->slot = true;
		f->slot_active = PQgetvalue(res, 0, 0)[0] == 't';
		snprintf(f->pid, sizeof(f->pid), "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	const char *pp[] = {r->publication};
	res = pg_query(conn, "SELECT coalesce(obj_description(oid, 'pg_publication'), '') FROM pg_catalog.pg_publication "
			     "WHERE pubname = $1", 1, pp, err);
	if (!res)
		return err->code;
	if (PQntuples(res) == 1) {
		f->publication = true;
		snprintf(f->comment, sizeof(f->comment), "%s", PQgetvalue(res, 0, 0));
		f->ours = strncmp(f->comment, CDC_PUB_COMMENT_PREFIX, strlen(CDC_PUB_COMMENT_PREFIX)) == 0;
	}
	PQclear(res);
	return PG2MD_OK;
}

pg2md_code
cdc_drop_replication(const pg2md_config *cfg, drop_confirm_fn confirm, void *arg, drop_result *r, pg2md_error *err)
{
	char slot[64], pub[64];
	repl_found f = {0};
	pg2md_dest d;
	bool opened = false;
	pg2md_buf what = PG2MD_BUF_INIT, sql = PG2MD_BUF_INIT;

	drop_result_init(r, cfg);
	cdc_follow_names(cfg, slot, pub, sizeof(slot));
	r->slot = xstrdup(slot);
	r->publication = xstrdup(pub);
	PGconn *conn = NULL;
	if (!r->slot || !r->publication) {
		pg2md_nomem(err);
		goto done;
	}

	conn = pg_connect(cfg, err);
	if (!conn)
		goto done;
	if (look_up_source(conn, r, &f, err))
		goto done;
	/* before the destination: the follow that streams holds its file too */
	if (f.slot_active) {
		pg2md_fail(err, PG2MD_ERR_RUN, "replication slot \"%s\" is in use (by the server process %s)", slot, f.pid);
		pg2md_hint(err, "stop the pg2md follow that reads it first, then run pg2md drop --replication again");
		goto done;
	}
	if (dest_exists(cfg)) {
		if (dest_open(&d, cfg, 1, err))
			goto done;
		opened = true;
		r->where = xstrdup(d.where);
		if (!r->where) {
			pg2md_nomem(err);
			goto done;
		}
		pgo_lsn lsn;
		if (cdc_watermark_read(&d, cfg, slot, &f.watermark, &lsn, err))
			goto done;
	}
	if (f.publication && !f.ours)
		r->publication_kept = true;
	if (!f.slot && !(f.publication && f.ours) && !f.watermark) {
		r->nothing = true;
		goto done;
	}
	buf_puts(&what, "drop ");
	const char *sep = "";
	if (f.slot) {
		buf_printf(&what, "replication slot \"%s\"", slot);
		sep = f.publication && f.ours ? " and " : "";
	}
	if (f.publication && f.ours) {
		buf_printf(&what, "%spublication \"%s\"", sep, pub);
	}
	if (f.slot || (f.publication && f.ours))
		buf_printf(&what, " on the source%s", f.watermark ? ", and " : "");
	if (f.watermark)
		buf_printf(&what, "the watermark of slot \"%s\" in %s", slot, r->where);
	if (buf_broken(&what)) {
		pg2md_nomem(err);
		goto done;
	}
	if (drop_confirmed(confirm, arg, what.data, r, err))
		goto done;

	if (f.slot) {
		const char *ps[] = {slot};
		PGresult *res = pg_query(conn, "SELECT pg_catalog.pg_drop_replication_slot($1)", 1, ps, err);
		if (!res) {
			pg2md_hint(err, "a superuser, or a role with the REPLICATION attribute, can run: SELECT "
					"pg_drop_replication_slot('%s');", slot);
			goto done;
		}
		PQclear(res);
		r->dropped_slot = true;
	}
	if (f.publication && f.ours) {
		buf_puts(&sql, "DROP PUBLICATION ");
		buf_ident(&sql, pub);
		pg2md_error e;
		pg2md_error_init(&e);
		if (pg_exec(conn, sql.data, &e)) {
			pg2md_fail(err, PG2MD_ERR_RUN, "could not drop publication \"%s\"", pub);
			pg2md_detail(err, "%s", e.msg);
			pg2md_hint(err, "have its owner or a superuser run: %s;", sql.data);
			goto done;
		}
		r->dropped_publication = true;
	}
	if (f.watermark) {
		if (cdc_watermark_clear(&d, cfg, slot, err) || cdc_tableset_clear(&d, cfg, slot, err))
			goto done;
		r->cleared_watermark = true;
	}

done:
	if (opened)
		dest_close(&d);
	if (conn)
		PQfinish(conn);
	buf_release(&what);
	buf_release(&sql);
	return err->code;
}

pg2md_code
cdc_slot_status_query(PGconn *conn, const pg2md_config *cfg, cdc_slot_status *out, pg2md_error *err)
{
	char pub[64];
	memset(out, 0, sizeof(*out));
	out->safe_wal_size = -1;
	out->lag_bytes = -1;
	cdc_follow_names(cfg, out->slot, pub, sizeof(out->slot));
	const char *ps[] = {out->slot};
	PGresult *res = pg_query(conn, "SELECT active, coalesce(wal_status, ''), coalesce(safe_wal_size, -1), "
				       "coalesce(confirmed_flush_lsn::text, ''), coalesce(pg_catalog.pg_wal_lsn_diff("
				       "pg_catalog.pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, -1) "
				       "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, ps, err);
	if (res && PQntuples(res) == 1) {
		out->found = true;
		out->active = PQgetvalue(res, 0, 0)[0] == 't';
		snprintf(out->wal_status, sizeof(out->wal_status), "%s", PQgetvalue(res, 0, 1));
		out->safe_wal_size = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		snprintf(out->confirmed_flush, sizeof(out->confirmed_flush), "%s", PQgetvalue(res, 0, 3));
		out->lag_bytes = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
		out->warn = strcmp(out->wal_status, "unreserved") == 0 || strcmp(out->wal_status, "lost") == 0 ||
			    (cfg->repl_lag_warning_mb > 0 && out->lag_bytes > cfg->repl_lag_warning_mb * 1024 * 1024);
	}
	if (res)
		PQclear(res);
	return err->code;
}

pg2md_code
cdc_slot_status_read(const pg2md_config *cfg, cdc_slot_status *out, pg2md_error *err)
{
	PGconn *conn = pg_connect(cfg, err);
	if (!conn) {
		char pub[64];
		memset(out, 0, sizeof(*out));
		out->safe_wal_size = -1;
		out->lag_bytes = -1;
		cdc_follow_names(cfg, out->slot, pub, sizeof(out->slot));
		return err->code;
	}
	cdc_slot_status_query(conn, cfg, out, err);
	PQfinish(conn);
	return err->code;
}

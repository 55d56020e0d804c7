/*
 * follow.c — pg2md follow (see follow.h, docs/cdc.md).
 *
 * First start (no watermark in the destination):
 *   1. the publication for the configured tables (created when missing, if the role may);
 *   2. CREATE_REPLICATION_SLOT exporting a snapshot, and the ordinary run (extract, normalize,
 *      load; write disposition replace) with every connection inside that snapshot;
 *   3. the watermark set to the slot's consistent point: the snapshot holds every transaction
 *      that committed before it, the stream every one after.
 *   A crash before 3 leaves no watermark: the next start drops the slot and copies again.
 * Every start then streams from the watermark and applies whole transactions in batches:
 *   - a batch is applied only at a transaction boundary (after a Commit, or when the stream is
 *     idle between transactions), in one DuckDB transaction with the new watermark (apply.c);
 *   - the slot's flush position is confirmed only after that commit (stream.c);
 *   - a transaction whose commit starts before the watermark is skipped (it was applied), so a
 *     crash anywhere re-streams exactly what was not committed.
 * --once stops at the server's WAL position when it started, --endpos at a given one: the
 * transactions whose commit record starts before it are applied, the next one waits.
 * Streamed large transactions (streaming 'on') go to disk segment by segment (spill.c) and are
 * applied at their Stream Commit, a bounded fold at a time, in one DuckDB transaction with the
 * watermark; a Stream Abort discards the transaction or the subtransaction it names.
 */
#include "cdc/follow.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "cdc/admin.h"
#include "cdc/apply.h"
#include "cdc/evolve.h"
#include "cdc/filter.h"
#include "cdc/fold.h"
#include "cdc/freshness.h"
#include "cdc/monitor.h"
#include "cdc/reconnect.h"
#include "cdc/server_values.h"
#include "cdc/spill.h"
#include "cdc/stream.h"
#include "cdc/tableset.h"
#include "cdc/xform.h"
#include "dest/duck.h"
#include "source/catalog.h"
#include "source/pgconn.h"
#include "stage/package.h"
#include "stage/pipeline.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/interrupt.h"
#include "util/log.h"

#define MAX_PARAMS 64
/* a streamed transaction is applied a fold of at most this much at a time (see apply_streamed) */
#define STREAM_FOLD_BYTES (8 * 1024 * 1024)

static void
derive(const char *base, const char *suffix, char *out, size_t n)
{
	size_t o = 0, max = n - 1 - strlen(suffix);
	if (max > 63 - strlen(suffix))
		max = 63 - strlen(suffix);
	for (const char *c = base; *c && o < max; c++)
		out[o++] = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '_';
	out[o] = 0;
	strcat(out, suffix);
}

void
cdc_follow_names(const pg2md_config *cfg, char *slot, char *pub, size_t n)
{
	if (cfg->repl_slot_name && *cfg->repl_slot_name)
		snprintf(slot, n, "%s", cfg->repl_slot_name);
	else
		derive(cfg->pipeline_name ? cfg->pipeline_name : "pg2md", "_slot", slot, n);
	if (cfg->repl_pub_name && *cfg->repl_pub_name)
		snprintf(pub, n, "%s", cfg->repl_pub_name);
	else
		derive(cfg->pipeline_name ? cfg->pipeline_name : "pg2md", "_pub", pub, n);
}

/* Every table has a key the stream can name rows by, and a disposition follow can keep. */
static pg2md_code
check_tables(PGconn *conn, const pg2md_config *cfg, const pg2md_table *tables, int n, pg2md_error *err)
{
	for (int i = 0; i < n; i++) {
		const pg2md_table *t = &tables[i];
		if (cdc_check_table(cfg, t, err))
			return err->code;
		if (pg2md_config_disposition(cfg, t->name) != PG2MD_DISP_REPLACE) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has write_disposition \"%s\": pg2md follow mirrors tables",
				   t->name, pg2md_disposition_name(pg2md_config_disposition(cfg, t->name)));
			pg2md_hint(err, "use write_disposition = \"replace\" for the tables pg2md follow keeps (docs/cdc.md)");
			return PG2MD_ERR_USAGE;
		}
		char oid[16];
		snprintf(oid, sizeof(oid), "%u", t->oid);
		const char *params[] = {oid};
		PGresult *res = pg_query(conn, "SELECT relreplident FROM pg_catalog.pg_class WHERE oid = $1::oid", 1, params, err);
		if (!res)
			return err->code;
		char ident = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0)[0] : 'd';
		PQclear(res);
		if (ident == 'n' || (ident == 'd' && t->npk == 0)) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has no key pg2md follow can apply its changes by", t->name);
			pg2md_detail(err, "its replica identity is %s: PostgreSQL sends no old row for its updates and deletes",
				     ident == 'n' ? "NOTHING" : "DEFAULT, and it has no primary key");
			pg2md_hint(err, "add a primary key (ALTER TABLE \"%s\".\"%s\" ADD PRIMARY KEY (…);), or ALTER TABLE "
					"\"%s\".\"%s\" REPLICA IDENTITY FULL; (rows are then matched by all their values), or "
					"REPLICA IDENTITY USING INDEX a_unique_index_on_not_null_columns;",
				   cfg->schema, t->name, cfg->schema, t->name);
			return PG2MD_ERR_USAGE;
		}
	}
	return PG2MD_OK;
}

/* The publication: every table in it, or created / extended when the role may. */
static pg2md_code
ensure_publication(PGconn *conn, const pg2md_config *cfg, const char *pub, const pg2md_table *tables, int n,
		   bool *created, pg2md_error *err)
{
	const char *p1[] = {pub};
	PGresult *res = pg_query(conn, "SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = $1", 1, p1, err);
	if (!res)
		return err->code;
	bool exists = PQntuples(res) == 1, all = exists && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (all)
		return PG2MD_OK;
	pg2md_buf missing = PG2MD_BUF_INIT;
	int nmissing = 0;
	for (int i = 0; i < n; i++) {
		bool in = false;
		if (exists) {
			const char *p3[] = {pub, cfg->schema, tables[i].name};
			res = pg_query(conn, "SELECT 1 FROM pg_catalog.pg_publication_tables WHERE pubname = $1 AND "
					     "schemaname = $2 AND tablename = $3", 3, p3, err);
			if (!res) {
				buf_release(&missing);
				return err->code;
			}
			in = PQntuples(res) > 0;
			PQclear(res);
		}
		if (in)
			continue;
		if (nmissing++)
			buf_puts(&missing, ", ");
		buf_ident(&missing, cfg->schema);
		buf_putc(&missing, '.');
		buf_ident(&missing, tables[i].name);
		cdc_pub_table_clause(&missing, cfg, &tables[i]);
	}
	if (nmissing == 0) {
		buf_release(&missing);
		return PG2MD_OK;
	}
	pg2md_buf sql = PG2MD_BUF_INIT;
	if (exists) {
		buf_puts(&sql, "ALTER PUBLICATION ");
		buf_ident(&sql, pub);
		buf_printf(&sql, " ADD TABLE %s", missing.data);
	} else {
		buf_puts(&sql, "CREATE PUBLICATION ");
		buf_ident(&sql, pub);
		buf_printf(&sql, " FOR TABLE %s", missing.data);
		if (PQserverVersion(conn) >= 130000)
			buf_puts(&sql, " WITH (publish_via_partition_root = true)");
	}
	pg2md_error e;
	pg2md_error_init(&e);
	pg2md_code rc = pg_exec(conn, sql.data, &e);
	if (rc) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "could not %s publication \"%s\"", exists ? "extend" : "create", pub);
		pg2md_detail(err, "%s", e.msg);
		pg2md_hint(err, "have its owner or a superuser run: %s;", sql.data);
	} else {
		*created = !exists;
		pg2md_info("%s publication \"%s\" for %s", exists ? "extended" : "created", pub, missing.data);
		if (!exists) {
			/* how pg2md drop --replication knows the publication is ours to drop */
			buf_reset(&sql);
			buf_puts(&sql, "COMMENT ON PUBLICATION ");
			buf_ident(&sql, pub);
			buf_puts(&sql, " IS ");
			char *c = xasprintf(CDC_PUB_COMMENT_PREFIX " for pipeline %s; pg2md drop --replication removes it",
					    cfg->pipeline_name ? cfg->pipeline_name : "pg2md");
			buf_literal(&sql, c);
			free(c);
			if (pg_exec(conn, sql.data, &e))
				pg2md_warn("could not comment publication \"%s\" (pg2md drop --replication will keep it): %s",
					   pub, e.msg);
			pg2md_error_init(&e);
		}
	}
	buf_release(&sql);
	buf_release(&missing);
	return rc;
}

typedef struct follow_state {
	pg2md_config *cfg;
	const cdc_follow_opts *opts;
	cdc_follow_report *rep;
	pg2md_dest dest;
	pg2md_table *tables;
	int ntables;
	cdc_stream *s;
	cdc_spill *spill;      /* streamed transactions until they commit (NULL: not asked for) */
	PGconn *pg;            /* a plain connection for the catalog (column changes), opened when needed */
	bool *check;           /* per table: compare its next Relation message with the destination */
	pgo_lsn *copy_lsn;     /* per table: its changes apply from transactions committing here on (tableset.h) */
	pgo_lsn txn_lsn;       /* the commit LSN of the transaction being read */
	int64_t txn_changes;   /* changes folded from the transaction being read */
	bool replaying;        /* applying a streamed transaction: a DuckDB transaction is open */
	bool text;             /* the stream sends text values (protocol 1) */
	uint32_t *touched;     /* while replaying: tables the open DuckDB transaction wrote */
	int ntouched, touchcap;
	cdc_relcache rc;
	cdc_fold fold;
	pgo_lsn watermark;     /* applied and committed */
	pgo_lsn folded_end;    /* end of the last transaction in the fold */
	int64_t folded_txns;
	int64_t last_advance;  /* monotonic ms of the last idle advance */
	int64_t batch_started; /* monotonic ms when the fold's first transaction was folded */
	cdc_freshness fresh;   /* commit-to-visible latency per applied transaction */
	cdc_monitor mon;       /* heartbeat, slot status, metrics file (monitor.h) */
	uint32_t stream_xid;   /* the transaction of the stream segment being read */
	/* a streamed transaction applied as it arrives (eager_begin): its DuckDB transaction is open */
	bool eager;
	bool eager_rel;        /* it evolved a table, or compared one with the destination */
	uint32_t eager_xid;
	int64_t eager_rows;
	int64_t eager_changes0;/* rep->changes when it began */
	uint64_t eager_msgs;
} follow_state;

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
table_index(const follow_state *st, uint32_t relid)
{
	for (int i = 0; i < st->ntables; i++)
		if (st->tables[i].oid == relid)
			return i;
	return -1;
}

static bool
followed(const follow_state *st, uint32_t relid)
{
	return table_index(st, relid) >= 0;
}

/* A change of table ti in a transaction its copy already holds (an added table, tableset.h)? */
static bool
before_copy(const follow_state *st, int ti)
{
	return st->txn_lsn < st->copy_lsn[ti];
}

/* The values of the batch only the source can render (cdc/server_values.h), on the plain connection. */
static pg2md_code
server_values(follow_state *st, pg2md_error *err)
{
	if (st->text || !cdc_server_needed(st->tables, st->ntables))
		return PG2MD_OK;
	if (!st->pg && !(st->pg = pg_connect(st->cfg, err)))
		return err->code;
	return cdc_server_values(st->pg, st->tables, st->ntables, &st->rc, &st->fold, err);
}

/* Apply the fold (whole transactions only) with its watermark, then confirm to the server. */
static pg2md_code
flush_batch(follow_state *st, pg2md_error *err)
{
	if (st->folded_end <= st->watermark)
		return PG2MD_OK;
	int64_t rows = 0;
	if (server_values(st, err))
		return err->code;
	fault_point("cdc:before_commit");
	if (cdc_apply_batch(&st->dest, st->cfg, st->tables, st->ntables, &st->rc, &st->fold, st->rep->slot,
			    st->folded_end, &rows, err))
		return err->code;
	fault_point("cdc:after_commit");
	st->watermark = st->folded_end;
	st->rep->rows_written += rows;
	st->rep->transactions += st->folded_txns;
	st->rep->batches++;
	st->folded_txns = 0;
	cdc_fold_reset(&st->fold);
	if (!cdc_fresh_committed(&st->fresh, cdc_fresh_now()))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory counting the batch's freshness");
	char l[PGO_LSN_TEXT];
	pg2md_debug("applied a batch up to %s (%lld rows written)", pgo_lsn_format(st->watermark, l), (long long)rows);
	return cdc_stream_confirm(st->s, st->watermark, true, err);
}

/*
 * Idle between transactions with nothing folded: every transaction whose commit comes before the
 * server's sent position has arrived and been applied (a keepalive follows the data it covers),
 * so the watermark may move there, capped at the target.  Without this a slot whose tables do
 * not change would hold the WAL of every other table's changes (pgoutput sends nothing for
 * them).  At most every 10 s (or every heartbeat_interval when shorter: the heartbeat is there to
 * move the slot) unless forced (at the end of --once / --endpos).
 */
static pg2md_code
advance_idle(follow_state *st, pgo_lsn target, bool force, pg2md_error *err)
{
	pgo_lsn to = cdc_stream_server_end(st->s);
	if (target && to > target)
		to = target;
	if (to <= st->watermark || st->folded_end > st->watermark || st->fold.changes || st->eager)
		return PG2MD_OK;
	int64_t now = mono_ms(), every = 10000;
	if (st->cfg->repl_heartbeat_interval > 0 && st->cfg->repl_heartbeat_interval < 10)
		every = (int64_t)st->cfg->repl_heartbeat_interval * 1000;
	if (!force && now - st->last_advance < every)
		return PG2MD_OK;
	st->last_advance = now;
	if (cdc_watermark_set(&st->dest, st->cfg, st->rep->slot, to, err))
		return err->code;
	st->watermark = to;
	return cdc_stream_confirm(st->s, to, true, err);
}

static bool
was_touched(const follow_state *st, uint32_t relid)
{
	for (int i = 0; i < st->ntouched; i++)
		if (st->touched[i] == relid)
			return true;
	return false;
}

/* While replaying: the fold into the open DuckDB transaction, noting the tables it writes. */
static pg2md_code
replay_apply(follow_state *st, int64_t *rows, pg2md_error *err)
{
	for (int i = 0; i < st->fold.n; i++) {
		const cdc_fold_table *ft = &st->fold.tables[i];
		if ((ft->nrows || ft->truncated) && !was_touched(st, ft->relid)) {
			if (st->ntouched == st->touchcap) {
				st->touchcap = st->touchcap ? st->touchcap * 2 : 8;
				st->touched = xrealloc(st->touched, (size_t)st->touchcap * sizeof(uint32_t));
			}
			st->touched[st->ntouched++] = ft->relid;
		}
	}
	if (server_values(st, err) ||
	    cdc_apply_fold(&st->dest, st->cfg, st->tables, st->ntables, &st->rc, &st->fold, rows, err))
		return err->code;
	cdc_fold_reset(&st->fold);
	return PG2MD_OK;
}

static pg2md_code
mixed_ddl(follow_state *st, const pg2md_table *t, const char *what, pg2md_error *err)
{
	pg2md_fail(err, PG2MD_ERR_RUN, "the columns of table \"%s\" changed at the source (%s) after rows of it that "
		   "pg2md follow must apply in the same DuckDB transaction", t->name, what);
	pg2md_detail(err, "DuckDB cannot commit a transaction that changes a table's rows and then its columns");
	cdc_resync_hint(err, st->cfg, t->name);
	return err->code;
}

/*
 * A Relation message of followed table ti whose shape is new to this run or changed: the
 * destination table evolved to it (evolve.h), after the rows folded with the earlier shape.
 * Outside a streamed transaction the column changes commit on their own, after a batch of the
 * transactions before (a transaction boundary); inside one, in its DuckDB transaction, before
 * it writes the table.
 */
static pg2md_code
evolve_table(follow_state *st, int ti, const pgo_msg *m, int64_t *rows, pg2md_error *err)
{
	if (!st->pg && !(st->pg = pg_connect(st->cfg, err)))
		return err->code;
	pg2md_table *t = &st->tables[ti];
	if (cdc_transform_of(st->cfg, t)) {
		/* the mirror holds the transform's output: the source's columns checked, nothing evolved */
		if (cdc_transform_relation(st->pg, st->cfg, t, err))
			return err->code;
		st->check[ti] = false;
		return PG2MD_OK;
	}
	cdc_evolve_plan plan;
	if (cdc_evolve_plan_make(st->pg, &st->dest, st->cfg, t, m, &plan, err))
		return err->code;
	pg2md_code rc = PG2MD_OK;
	if (cdc_check_table(st->cfg, &plan.all[plan.idx], err) ||
	    (st->text && cdc_check_text_table(&plan.all[plan.idx], err))) {
		rc = err->code;
		goto out;
	}
	/* statements built while memory ran short may lack what a broken buffer held (util/mem.h) */
	if (plan.ddl && interrupt_reason() == PG2MD_ERR_NOMEM) {
		rc = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory while changing the columns of table \"%s\"", t->name);
		goto out;
	}
	const cdc_fold_table *ft = cdc_fold_table_get(&st->fold, m->relid);
	bool has = ft && (ft->nrows > 0 || ft->truncated);
	if (st->replaying) {
		if (has && (rc = replay_apply(st, rows, err)))
			goto out;
		if (plan.ddl && was_touched(st, m->relid)) {
			rc = mixed_ddl(st, t, plan.what, err);
			goto out;
		}
		if (plan.ddl && (rc = duck_exec(st->dest.con, plan.ddl, "changing the columns of a mirror table", err)))
			goto out;
	} else if (plan.ddl) {
		if (has) {
			if (st->txn_changes > 0) {
				rc = mixed_ddl(st, t, plan.what, err);
				goto out;
			}
			if ((rc = flush_batch(st, err)))
				goto out;
		}
		pg2md_buf q = PG2MD_BUF_INIT;
		buf_printf(&q, "BEGIN; %s COMMIT", plan.ddl);
		rc = duck_exec(st->dest.con, q.data, "changing the columns of a mirror table", err);
		buf_release(&q);
		if (rc) {
			cdc_apply_rollback(&st->dest);
			goto out;
		}
	}
	if (plan.ddl)
		pg2md_info("table \"%s\" follows its source's columns: %s", t->name, plan.what);
	/* the definition the rows are decoded with from here: the catalog's, which matches the message */
	pg2md_table tmp = *t;
	*t = plan.all[plan.idx];
	plan.all[plan.idx] = tmp;
	st->check[ti] = false;
out:
	cdc_evolve_plan_release(&plan);
	return rc;
}

/*
 * A Relation message: the cache refreshed.  For a followed table whose shape is new to this run
 * or changed, the destination is evolved to it first (not inside a transaction being skipped:
 * that is done at its first change that is applied).
 */
static pg2md_code
handle_relation(follow_state *st, const pgo_msg *m, bool skip, int64_t *rows, pg2md_error *err)
{
	int ti = table_index(st, m->relid);
	if (ti >= 0) {
		const cdc_rel *prev = cdc_relcache_get(&st->rc, m->relid);
		bool same = prev && cdc_rel_matches(prev, m);
		if (!same)
			st->check[ti] = true;
		if (st->check[ti] && !skip && !before_copy(st, ti) && evolve_table(st, ti, m, rows, err))
			return err->code;
	}
	cdc_rel_change ch;
	return cdc_relcache_update(&st->rc, m, &ch, err);
}

/* The Relation message of rel, rebuilt from the cache (for a table checked at its first change). */
static pg2md_code
evolve_cached(follow_state *st, int ti, const cdc_rel *rel, int64_t *rows, pg2md_error *err)
{
	pgo_column *cols = xcalloc((size_t)rel->ncols + 1, sizeof(*cols));
	for (int i = 0; i < rel->ncols; i++)
		cols[i] = (pgo_column){.flags = rel->cols[i].key, .name = rel->cols[i].name, .type_oid = rel->cols[i].type_oid,
				       .typmod = rel->cols[i].typmod};
	pgo_msg m = {.kind = PGO_RELATION, .relid = rel->relid, .nspname = rel->nspname, .name = rel->name,
		     .replident = rel->replident, .ncolumns = rel->ncols, .columns = cols};
	pg2md_code rc = evolve_table(st, ti, &m, rows, err);
	free(cols);
	return rc;
}

/* An Insert, Update, Delete or Truncate into the fold (changes of tables not followed skipped). */
static pg2md_code
fold_msg(follow_state *st, const pgo_msg *m, int64_t *rows, pg2md_error *err)
{
	if (m->kind == PGO_TRUNCATE) {
		for (int i = 0; i < m->nrelids; i++) {
			const cdc_rel *rel = cdc_relcache_get(&st->rc, m->relids[i]);
			int ti = table_index(st, m->relids[i]);
			if (rel && ti >= 0 && !before_copy(st, ti)) {
				if (st->check[ti] && evolve_cached(st, ti, rel, rows, err))
					return err->code;
				if (cdc_fold_truncate(&st->fold, rel, m->flags, err))
					return err->code;
				st->rep->changes++;
				st->txn_changes++;
			}
		}
		return PG2MD_OK;
	}
	int ti = table_index(st, m->relid);
	if (ti < 0 || before_copy(st, ti))
		return PG2MD_OK;
	const cdc_rel *rel = cdc_relcache_get(&st->rc, m->relid);
	if (!rel)
		return pg2md_fail(err, PG2MD_ERR_RUN, "a change of relation %u came before its Relation message", m->relid);
	if (st->check[ti] && evolve_cached(st, ti, rel, rows, err))
		return err->code;
	st->rep->changes++;
	st->txn_changes++;
	return cdc_fold_change(&st->fold, rel, m, err);
}

/*
 * The end of a streamed transaction whose changes are all applied in the open DuckDB transaction:
 * its watermark, the commit, then the confirmation to the server.
 */
static pg2md_code
streamed_commit(follow_state *st, uint32_t xid, pgo_lsn end_lsn, int64_t ts, int64_t rows, uint64_t nmsg,
		pg2md_error *err)
{
	fault_point("cdc:stream_before_commit");
	if (cdc_apply_commit(&st->dest, st->cfg, st->rep->slot, end_lsn, err))
		return err->code;
	fault_point("cdc:stream_after_commit");
	cdc_spill_discard(st->spill, xid);
	st->watermark = st->folded_end = end_lsn;
	st->rep->rows_written += rows;
	st->rep->transactions++;
	st->rep->streamed++;
	st->rep->batches++;
	if (!cdc_fresh_add(&st->fresh, ts) || !cdc_fresh_committed(&st->fresh, cdc_fresh_now()))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory counting the batch's freshness");
	char l[PGO_LSN_TEXT];
	pg2md_debug("applied streamed transaction %u up to %s (%lld rows written, %llu messages)", xid,
		    pgo_lsn_format(end_lsn, l), (long long)rows, (unsigned long long)nmsg);
	return cdc_stream_confirm(st->s, st->watermark, true, err);
}

/*
 * Stream Commit of xid: the transactions folded before it (they committed first) as a batch of
 * their own, then in one DuckDB transaction its changes read back from disk, folded and applied a
 * bounded fold at a time (each fold applied in order, so a later one sees what an earlier one
 * wrote), then the watermark: its end.  The server is kept content between folds.
 */
static pg2md_code
apply_streamed(follow_state *st, uint32_t xid, pgo_lsn end_lsn, int64_t ts, int proto, int64_t limit, pg2md_error *err)
{
	int64_t rows = 0;
	cdc_spill_reader rd;
	bool empty;
	pgo_parser p;
	pgo_parser_init(&p, proto);
	p.in_stream = true; /* the messages were written inside stream segments: each has its xid */
	memset(&rd, 0, sizeof(rd));
	if (flush_batch(st, err))
		goto fail0;
	if (cdc_spill_read_open(st->spill, xid, &rd, &empty, err))
		goto fail0;
	if (cdc_apply_begin(&st->dest, err))
		goto fail0;
	st->replaying = true;
	st->ntouched = 0;
	uint64_t nmsg = 0;
	for (;;) {
		const uint8_t *msg;
		size_t len;
		if (cdc_spill_read_next(&rd, &msg, &len, err))
			goto fail;
		if (!msg)
			break;
		pgo_msg m;
		if (pgo_parse(&p, msg, len, &m, err))
			goto fail;
		nmsg++;
		if (m.kind == PGO_RELATION) {
			if (handle_relation(st, &m, false, &rows, err))
				goto fail;
		} else if (m.kind == PGO_INSERT || m.kind == PGO_UPDATE || m.kind == PGO_DELETE || m.kind == PGO_TRUNCATE) {
			if (fold_msg(st, &m, &rows, err))
				goto fail;
		}
		if ((int64_t)cdc_fold_bytes(&st->fold) >= limit && replay_apply(st, &rows, err))
			goto fail;
		if ((nmsg & 4095) == 0 && cdc_stream_tick(st->s, err))
			goto fail;
	}
	if (replay_apply(st, &rows, err))
		goto fail;
	st->replaying = false;
	cdc_spill_read_close(&rd);
	pgo_parser_release(&p);
	return streamed_commit(st, xid, end_lsn, ts, rows, nmsg, err);
fail:
	cdc_apply_rollback(&st->dest);
fail0:
	st->replaying = false;
	cdc_spill_read_close(&rd);
	pgo_parser_release(&p);
	return err->code;
}

/*
 * Applying a streamed transaction as it arrives.  Reading it back from disk at its Stream Commit
 * and applying it then (apply_streamed) adds the whole apply to the time the server took to
 * decode and send it: a bulk UPDATE of 2 M rows took twice as long as pg_recvlogical reading it.
 * So a streamed transaction that starts while nothing else is pending is also folded and applied,
 * a bounded fold at a time, into a DuckDB transaction opened at its first segment, while it is
 * still being written to disk; at its Stream Commit only the last fold and the watermark remain.
 * The DuckDB transaction is one connection's, so anything that would need another one first
 * gives the eager apply up (rolled back; the transaction is applied from disk at its commit, as
 * before): another transaction committing meanwhile (a Begin, or another streamed transaction's
 * commit), a Stream Abort of it or of one of its subtransactions, a commit the run must not
 * apply (already applied before a restart, or at or after --endpos), the end of the run.
 */
static bool
eager_eligible(const follow_state *st)
{
	if (!st->spill || st->text || st->eager || cdc_spill_count(st->spill) > 1)
		return false;
	/* its commit is not known yet: every table must take it whatever it is (before_copy) */
	for (int i = 0; i < st->ntables; i++)
		if (st->copy_lsn[i] > st->watermark)
			return false;
	return true;
}

static pg2md_code
eager_begin(follow_state *st, uint32_t xid, pg2md_error *err)
{
	/* the transactions that committed before it first, as a batch of their own */
	if (flush_batch(st, err))
		return err->code;
	if (st->fold.changes)
		return PG2MD_OK;
	if (cdc_apply_begin(&st->dest, err))
		return err->code;
	st->eager = st->replaying = true;
	st->eager_rel = false;
	st->eager_xid = xid;
	st->eager_rows = 0;
	st->eager_msgs = 0;
	st->eager_changes0 = st->rep->changes;
	st->ntouched = 0;
	st->txn_lsn = UINT64_MAX; /* after every table's copy (eager_eligible) */
	pg2md_debug("streamed transaction %u: applied as it arrives", xid);
	return PG2MD_OK;
}

static void
eager_abandon(follow_state *st, const char *why)
{
	if (!st->eager)
		return;
	cdc_apply_rollback(&st->dest);
	cdc_fold_reset(&st->fold);
	st->eager = st->replaying = false;
	st->rep->changes = st->eager_changes0;
	/* a column change it made is rolled back: compare every table with the destination again at
	 * its next message (the relation cache holds the shapes it read) */
	if (st->eager_rel)
		for (int i = 0; i < st->ntables; i++)
			st->check[i] = true;
	pg2md_debug("streamed transaction %u: applied from disk at its commit (%s)", st->eager_xid, why);
}

/* Does a transaction hold relid's ACCESS EXCLUSIVE lock (an ALTER TABLE not committed yet)? */
static pg2md_code
relation_locked(follow_state *st, uint32_t relid, bool *locked, pg2md_error *err)
{
	if (!st->pg && !(st->pg = pg_connect(st->cfg, err)))
		return err->code;
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", relid);
	const char *params[] = {oid};
	PGresult *res = pg_query(st->pg, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'relation' "
				 "AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
				 "AND relation = $1::oid AND mode = 'AccessExclusiveLock' AND granted)", 1, params, err);
	if (!res)
		return err->code;
	*locked = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return PG2MD_OK;
}

/* A message of the streamed transaction being applied eagerly (already on disk). */
static pg2md_code
eager_msg(follow_state *st, const pgo_msg *m, int64_t limit, pg2md_error *err)
{
	st->eager_msgs++;
	if (m->kind == PGO_RELATION) {
		int ti = table_index(st, m->relid);
		const cdc_rel *prev = cdc_relcache_get(&st->rc, m->relid);
		if (ti >= 0 && (st->check[ti] || !prev || !cdc_rel_matches(prev, m))) {
			/* the table is compared with the catalog, which waits for a column change the
			 * transaction itself made (its lock) until it commits: left to its commit */
			bool locked = false;
			if (relation_locked(st, m->relid, &locked, err))
				return err->code;
			if (locked) {
				eager_abandon(st, "a column change of it holds its table's lock");
				return PG2MD_OK;
			}
			st->eager_rel = true;
		}
		if (handle_relation(st, m, false, &st->eager_rows, err))
			return err->code;
	} else {
		for (int i = 0; i < st->ntables && !st->eager_rel; i++)
			st->eager_rel = st->check[i];
		if (fold_msg(st, m, &st->eager_rows, err))
			return err->code;
	}
	if ((int64_t)cdc_fold_bytes(&st->fold) >= limit)
		return replay_apply(st, &st->eager_rows, err);
	return PG2MD_OK;
}

/* Stream Commit of the transaction applied eagerly: the last fold, the watermark, the commit. */
static pg2md_code
eager_commit(follow_state *st, uint32_t xid, pgo_lsn end_lsn, int64_t ts, pg2md_error *err)
{
	st->eager = false;
	if (replay_apply(st, &st->eager_rows, err)) {
		st->replaying = false;
		cdc_apply_rollback(&st->dest);
		return err->code;
	}
	st->replaying = false;
	st->rep->streamed_eager++;
	return streamed_commit(st, xid, end_lsn, ts, st->eager_rows, st->eager_msgs, err);
}

static pg2md_code
stream_changes(follow_state *st, pgo_lsn target, int proto, pg2md_error *err)
{
	int64_t limit = st->opts->batch_bytes > 0 ? st->opts->batch_bytes : 64 * 1024 * 1024;
	int64_t max_ms = st->opts->batch_ms > 0 ? st->opts->batch_ms : 1000;
	pgo_parser p;
	pgo_parser_init(&p, proto);
	bool in_txn = false, skip = false, done = false;
	st->last_advance = mono_ms(); /* the first idle advance after 10 s, or at the end */
	pg2md_code rc = PG2MD_OK;
	while (!done && rc == PG2MD_OK) {
		if (interrupt_reason() == PG2MD_ERR_NOMEM) {
			/* as a run stops on it: the batch not applied, the watermark where it was */
			rc = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory while following slot \"%s\"; the "
					"changes after %s are applied by the next start", st->rep->slot,
					pgo_lsn_format(st->rep->applied_lsn, (char[PGO_LSN_TEXT]){0}));
			break;
		}
		if (interrupt_requested()) {
			st->rep->interrupted = true;
			break;
		}
		cdc_data d;
		cdc_next_result r = cdc_stream_next(st->s, 200, &d, err);
		if (r == CDC_NEXT_ERROR) {
			rc = err->code;
			break;
		}
		if (r == CDC_NEXT_END) {
			rc = pg2md_fail(err, PG2MD_ERR_RUN, "the server ended the replication stream");
			break;
		}
		if (r == CDC_NEXT_TIMEOUT) {
			if (in_txn)
				continue;
			if ((rc = flush_batch(st, err)))
				break;
			if (target && cdc_stream_server_end(st->s) >= target)
				done = true;
			if ((rc = advance_idle(st, target, done, err)))
				break;
			cdc_monitor_tick(&st->mon, st->rep, &st->fresh, st->watermark, true, false);
			continue;
		}
		pgo_msg m;
		if ((rc = pgo_parse(&p, d.data, d.len, &m, err)))
			break;
		if (m.streamed) {
			/* a segment of a streamed transaction: to disk until it commits or aborts */
			bool keep = m.kind == PGO_RELATION || m.kind == PGO_TRUNCATE ||
				    ((m.kind == PGO_INSERT || m.kind == PGO_UPDATE || m.kind == PGO_DELETE) && followed(st, m.relid));
			if (keep)
				rc = cdc_spill_write(st->spill, m.xid, d.data, d.len, err);
			if (keep && rc == PG2MD_OK && st->eager && st->stream_xid == st->eager_xid)
				rc = eager_msg(st, &m, limit < STREAM_FOLD_BYTES ? limit : STREAM_FOLD_BYTES, err);
			continue;
		}
		switch (m.kind) {
		case PGO_BEGIN:
			eager_abandon(st, "another transaction committed while it streamed");
			if (target && m.final_lsn >= target) {
				done = true; /* this transaction waits for the next run */
				break;
			}
			in_txn = true;
			skip = m.final_lsn < st->watermark;
			st->txn_lsn = m.final_lsn;
			st->txn_changes = 0;
			break;
		case PGO_COMMIT:
			in_txn = false;
			if (!skip) {
				if (st->folded_txns == 0)
					st->batch_started = mono_ms();
				st->folded_end = m.end_lsn;
				st->folded_txns++;
				if (!cdc_fresh_add(&st->fresh, m.ts)) {
					rc = pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory noting a transaction's commit time");
					break;
				}
			}
			/* a batch is bounded in size and in time: under a steady stream the connection is
			 * never idle, and a change must not wait for 64 MB of others */
			if ((int64_t)cdc_fold_bytes(&st->fold) >= limit ||
			    (st->folded_txns > 0 && mono_ms() - st->batch_started >= max_ms))
				rc = flush_batch(st, err);
			cdc_monitor_tick(&st->mon, st->rep, &st->fresh, st->watermark, false, false);
			break;
		case PGO_RELATION: {
			int64_t rows = 0; /* (nothing is applied outside a streamed transaction) */
			rc = handle_relation(st, &m, skip, &rows, err);
			break;
		}
		case PGO_INSERT:
		case PGO_UPDATE:
		case PGO_DELETE:
		case PGO_TRUNCATE:
			if (!skip)
				rc = fold_msg(st, &m, NULL, err);
			break;
		case PGO_STREAM_START:
			if (!st->spill) {
				rc = pg2md_fail(err, PG2MD_ERR_RUN, "a streamed transaction came, which pg2md follow did not ask for");
				break;
			}
			rc = cdc_spill_start(st->spill, m.xid, m.first_segment, err);
			st->stream_xid = m.xid;
			if (rc == PG2MD_OK && m.first_segment && eager_eligible(st))
				rc = eager_begin(st, m.xid, err);
			break;
		case PGO_STREAM_STOP:
			rc = cdc_spill_stop(st->spill, err);
			fault_point("cdc:stream_stop");
			break;
		case PGO_STREAM_ABORT:
			if (st->eager && m.xid == st->eager_xid)
				eager_abandon(st, m.subxid == m.xid ? "it aborted" : "a subtransaction of it aborted");
			rc = cdc_spill_abort(st->spill, m.xid, m.subxid, err);
			st->rep->stream_aborts++;
			break;
		case PGO_STREAM_COMMIT:
			if (st->eager && (m.xid != st->eager_xid || (target && m.commit_lsn >= target) ||
					  m.commit_lsn < st->watermark))
				eager_abandon(st, m.xid != st->eager_xid ? "another streamed transaction committed first"
									: "its commit is not applied now");
			if (st->eager) {
				rc = eager_commit(st, m.xid, m.end_lsn, m.ts, err);
				break;
			}
			if (target && m.commit_lsn >= target) {
				done = true; /* waits for the next run, as a Begin at or after the target */
				break;
			}
			if (m.commit_lsn < st->watermark) {
				cdc_spill_discard(st->spill, m.xid); /* applied before a restart */
				break;
			}
			st->txn_lsn = m.commit_lsn;
			rc = apply_streamed(st, m.xid, m.end_lsn, m.ts, proto, limit < STREAM_FOLD_BYTES ? limit : STREAM_FOLD_BYTES, err);
			break;
		default: /* Origin, Type, Message */
			break;
		}
	}
	eager_abandon(st, "the run stops before its commit");
	/* a clean stop: whole transactions only (a transaction cut by an interrupt is not in the fold's end) */
	if (rc == PG2MD_OK && !in_txn)
		rc = flush_batch(st, err);
	if (rc == PG2MD_OK && !in_txn && done)
		rc = advance_idle(st, target, true, err);
	pgo_parser_release(&p);
	return rc;
}

/* A slot to resume from, for a destination that has a watermark: still there, pgoutput's, not lost. */
static pg2md_code
usable_slot(follow_state *st, const cdc_slot_info *slot, pg2md_error *err)
{
	if (!slot->found) {
		char l[PGO_LSN_TEXT];
		pg2md_fail(err, PG2MD_ERR_RUN, "replication slot \"%s\" is gone: the changes after %s cannot be read",
			   st->rep->slot, pgo_lsn_format(st->watermark, l));
		pg2md_hint(err, "copy the tables again: pg2md sql \"DELETE FROM %s._pg2md_cdc\", then pg2md follow",
			   st->cfg->dataset_name);
		return err->code;
	}
	if (strcmp(slot->plugin, "pgoutput") != 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "replication slot \"%s\" uses plugin \"%s\", not pgoutput", st->rep->slot,
			   slot->plugin);
		return err->code;
	}
	if (slot->wal_status[0] && strcmp(slot->wal_status, "lost") == 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "replication slot \"%s\" was invalidated (wal_status lost): the server "
			   "removed WAL it still needed", st->rep->slot);
		pg2md_hint(err, "drop it (SELECT pg_drop_replication_slot('%s');), then copy the tables again: pg2md sql "
				"\"DELETE FROM %s._pg2md_cdc\" and pg2md follow", st->rep->slot, st->cfg->dataset_name);
		return err->code;
	}
	return PG2MD_OK;
}

/* START_REPLICATION from the watermark with the protocol, value format and streaming the server
 * allows (or the configuration forces); the spill folder when transactions may be streamed. */
static pg2md_code
start_streaming(follow_state *st, const cdc_system *sys, cdc_start_opts *chosen, pg2md_error *err)
{
	/* protocol 2 with binary values and streaming from PostgreSQL 14, else protocol 1 and text;
	 * proto_version forces one (1: text values, no streaming) */
	int proto = st->cfg->repl_proto_version;
	cdc_start_opts want = {.proto_version = proto, .binary = proto == 1 ? 0 : -1,
			       .streaming = st->cfg->repl_streaming && proto != 1 ? -1 : 0, .messages = false};
	if (want.streaming && sys->server_version < 140000)
		want.streaming = 0;
	if (want.streaming) {
		/* <pipelines_dir>/<pipeline_name>/cdc: a streamed transaction's changes until it commits */
		char *pdir = pkg_pipeline_dir(st->cfg);
		size_t n = strlen(pdir) + 8;
		char *dir = xmalloc(n);
		snprintf(dir, n, "%s/cdc", pdir);
		st->spill = cdc_spill_open(dir, err);
		free(dir);
		free(pdir);
		if (!st->spill)
			return err->code;
	}
	if (cdc_stream_start(st->s, st->rep->slot, st->rep->publication, st->watermark, &want, chosen, err))
		return err->code;
	if (!chosen->streaming) {
		cdc_spill_close(st->spill);
		st->spill = NULL;
	}
	st->text = !chosen->binary;
	if (st->text) {
		pg2md_info("pgoutput protocol %d with text values", chosen->proto_version);
		for (int i = 0; i < st->ntables; i++)
			if (cdc_check_text_table(&st->tables[i], err))
				return err->code;
	}
	return PG2MD_OK;
}

/*
 * First start, or an initial copy that did not finish (no watermark): a new slot, the tables
 * copied in its snapshot, then the followed tables and the watermark at its consistent point.
 */
static pg2md_code
first_copy(follow_state *st, const cdc_slot_info *slot, bool *dest_open_ok, pg2md_error *err)
{
	cdc_follow_report *rep = st->rep;
	char *snapshot = NULL;
	if (slot->found) {
		pg2md_info("replication slot \"%s\" exists but the destination has no watermark: an earlier initial "
			   "copy did not finish; dropping the slot and copying again", rep->slot);
		if (cdc_stream_drop_slot(st->s, rep->slot, err))
			return err->code;
	}
	pgo_lsn consistent;
	if (cdc_stream_create_slot(st->s, rep->slot, false, &snapshot, &consistent, err))
		return err->code;
	rep->initial_copy = true;
	/* the run opens the destination itself */
	dest_close(&st->dest);
	*dest_open_ok = false;
	fault_point("cdc:after_slot");
	if (cdc_copy_tables(st->cfg, snapshot, NULL, 0, err))
		goto out;
	fault_point("cdc:before_watermark");
	if (dest_open(&st->dest, st->cfg, 2, err))
		goto out;
	*dest_open_ok = true;
	/* the tables first: without the watermark they are not read, and the next start copies again */
	if (cdc_tableset_record(&st->dest, st->cfg, rep->slot, st->tables, st->ntables, consistent, true, err) ||
	    cdc_watermark_set(&st->dest, st->cfg, rep->slot, consistent, err))
		goto out;
	st->watermark = consistent;
out:
	free(snapshot);
	return err->code;
}

/*
 * After a lost connection: a new replication connection streaming from the watermark, as a
 * restart would.  What was folded and not applied is dropped, and the streamed transactions on
 * disk: the server sends every transaction that commits after the slot's confirmed position
 * again, from its start, and those before the watermark are skipped.  The slot must still be
 * there and usable (else the clear message of usable_slot, not another attempt).
 */
static pg2md_code
resume(follow_state *st, const cdc_system *sys, cdc_start_opts *chosen, pg2md_error *err)
{
	cdc_stream_close(st->s);
	st->s = NULL;
	cdc_spill_close(st->spill);
	st->spill = NULL;
	if (st->pg)
		PQfinish(st->pg);
	st->pg = NULL;
	cdc_monitor_disconnect(&st->mon);
	cdc_fold_reset(&st->fold);
	cdc_fresh_discard(&st->fresh);
	st->folded_end = st->watermark;
	st->folded_txns = st->txn_changes = 0;
	cdc_slot_info slot;
	if (!(st->s = cdc_open_stream(st->cfg, err)) || cdc_stream_slot_info(st->s, st->rep->slot, &slot, err) ||
	    usable_slot(st, &slot, err))
		return err->code;
	return start_streaming(st, sys, chosen, err);
}

/* Stream until done; a connection lost mid-stream is opened again with backoff (reconnect.h). */
static pg2md_code
follow_stream(follow_state *st, const cdc_system *sys, pgo_lsn target, cdc_start_opts *chosen, pg2md_error *err)
{
	int attempt = 0;
	int64_t started = mono_ms();
	char l[PGO_LSN_TEXT];
	while (stream_changes(st, target, chosen->proto_version, err)) {
		if (!cdc_retryable(err, cdc_stream_lost(st->s), false))
			return err->code;
		if (mono_ms() - started >= CDC_RECONNECT_STABLE_MS)
			attempt = 0;
		do {
			if (++attempt > CDC_RECONNECT_ATTEMPTS) {
				pg2md_warn("gave up after %d attempts to reconnect; pg2md follow resumes at the watermark %s when "
					   "started again", CDC_RECONNECT_ATTEMPTS, pgo_lsn_format(st->watermark, l));
				return err->code;
			}
			pg2md_warn("lost the replication connection (%s%s%s); reconnecting in %d s (attempt %d of %d), to resume "
				   "at %s", err->msg, err->detail[0] ? ": " : "", err->detail, cdc_backoff_seconds(attempt), attempt,
				   CDC_RECONNECT_ATTEMPTS, pgo_lsn_format(st->watermark, l));
			if (!cdc_backoff_wait(attempt)) {
				st->rep->interrupted = true;
				pg2md_error_init(err);
				return PG2MD_OK;
			}
			pg2md_error_init(err);
			if (resume(st, sys, chosen, err) == PG2MD_OK)
				break;
			if (!cdc_retryable(err, cdc_stream_lost(st->s), true))
				return err->code;
		} while (true);
		st->mon.reconnects++;
		pg2md_info("reconnected to slot \"%s\": streaming again from %s", st->rep->slot, pgo_lsn_format(st->watermark, l));
		started = mono_ms();
	}
	return PG2MD_OK;
}

pg2md_code
cdc_follow(pg2md_config *cfg, const cdc_follow_opts *opts, cdc_follow_report *rep, pg2md_error *err)
{
	follow_state st = {.cfg = cfg, .opts = opts, .rep = rep};
	memset(rep, 0, sizeof(*rep));
	cdc_follow_names(cfg, rep->slot, rep->publication, sizeof(rep->slot));
	cdc_relcache_init(&st.rc);
	cdc_fold_init(&st.fold);
	bool dest_open_ok = false;
	PGconn *conn = NULL;

	/* the destination first: a MotherDuck that cannot be reached fails before the source changes */
	if (dest_open(&st.dest, cfg, 2, err))
		goto out;
	dest_open_ok = true;
	conn = pg_connect(cfg, err);
	if (!conn)
		goto out;
	if (catalog_reflect(conn, cfg, &st.tables, &st.ntables, err) ||
	    cdc_filter_check(conn, cfg, rep->publication, st.tables, st.ntables, err) ||
	    check_tables(conn, cfg, st.tables, st.ntables, err) ||
	    ensure_publication(conn, cfg, rep->publication, st.tables, st.ntables, &rep->created_publication, err))
		goto out;
	/* every table's first Relation message is compared with the destination's columns */
	st.check = xcalloc((size_t)st.ntables + 1, sizeof(bool));
	st.copy_lsn = xcalloc((size_t)st.ntables + 1, sizeof(pgo_lsn));
	for (int i = 0; i < st.ntables; i++)
		st.check[i] = true;

	st.s = cdc_open_stream(cfg, err);
	if (!st.s)
		goto out;
	cdc_system sys;
	if (cdc_stream_identify(st.s, &sys, err))
		goto out;
	if (cfg->repl_proto_version < 0 || cfg->repl_proto_version > 4) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "[sources.pg_replication] proto_version is %d: pgoutput's protocols are 1 to 4 "
			   "(0: chosen from the server's version)", cfg->repl_proto_version);
		goto out;
	}
	bool found;
	if (cdc_watermark_read(&st.dest, cfg, rep->slot, &found, &st.watermark, err))
		goto out;
	cdc_slot_info slot;
	if (cdc_stream_slot_info(st.s, rep->slot, &slot, err))
		goto out;
	if (found && usable_slot(&st, &slot, err))
		goto out;
	if (found) {
		/* tables added to or removed from `tables` since the last start (tableset.h) */
		cdc_sync sy = {.cfg = cfg, .dest = &st.dest, .dest_open = &dest_open_ok, .conn = conn, .slot = rep->slot,
			       .pub = rep->publication, .tables = st.tables, .ntables = st.ntables, .copy_lsn = st.copy_lsn};
		if (cdc_tableset_sync(&sy, err))
			goto out;
	} else if (first_copy(&st, &slot, &dest_open_ok, err)) {
		goto out;
	}
	PQfinish(conn);
	conn = NULL;
	rep->start_lsn = st.watermark;
	/* the target: the server's WAL position now (--once), or --endpos */
	pgo_lsn target = 0;
	if (opts->has_endpos) {
		target = opts->endpos;
	} else if (opts->once) {
		/* after the initial copy: the snapshot is no longer needed, a command may end it.  The
		 * insert position, not the flushed one: an asynchronous commit made just before is in */
		if (cdc_stream_current_lsn(st.s, &target, err))
			goto out;
	}
	rep->target_lsn = target;
	cdc_start_opts chosen;
	if (start_streaming(&st, &sys, &chosen, err))
		goto out;
	cdc_monitor_init(&st.mon, cfg, target == 0); /* a heartbeat only when following without an end */
	if (target && target <= st.watermark) {
		/* nothing to do: stop at once */
	} else if (follow_stream(&st, &sys, target, &chosen, err)) {
		goto out;
	}
	rep->applied_lsn = st.watermark;
	if (!cdc_stream_lost(st.s)) /* (not after giving up reconnecting on a stop signal) */
		cdc_stream_stop(st.s, err);
	rep->fresh_transactions = st.fresh.count;
	if (st.fresh.count) {
		rep->fresh_p50_ms = cdc_fresh_percentile(&st.fresh, 0.50);
		rep->fresh_p99_ms = cdc_fresh_percentile(&st.fresh, 0.99);
		rep->fresh_max_ms = st.fresh.max_ms;
		pg2md_info("freshness (PostgreSQL commit to DuckDB commit) of %lld transaction%s: p50 %lld ms, p99 %lld ms, "
			   "max %lld ms", (long long)st.fresh.count, st.fresh.count == 1 ? "" : "s",
			   (long long)rep->fresh_p50_ms, (long long)rep->fresh_p99_ms, (long long)rep->fresh_max_ms);
	}

out:
	rep->applied_lsn = st.watermark;
	if (st.mon.cfg) /* the metrics file's last state, failed or not */
		cdc_monitor_tick(&st.mon, rep, &st.fresh, st.watermark, false, true);
	cdc_monitor_release(&st.mon);
	if (conn)
		PQfinish(conn);
	if (dest_open_ok)
		dest_close(&st.dest);
	cdc_stream_close(st.s);
	cdc_spill_close(st.spill);
	if (st.pg)
		PQfinish(st.pg);
	free(st.check);
	free(st.copy_lsn);
	free(st.touched);
	if (st.tables)
		schema_tables_free(st.tables, st.ntables);
	cdc_fold_release(&st.fold);
	cdc_fresh_release(&st.fresh);
	cdc_relcache_release(&st.rc);
	cfg->import_snapshot = NULL;
	if (rep->interrupted && !pg2md_failed(err))
		return PG2MD_OK;
	return err->code;
}

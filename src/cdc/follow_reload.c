/*
 * follow_reload.c — pg2md follow reading its configuration again while it runs (SIGHUP,
 * pg2md_follow_reload; docs/cdc.md, "Adding and removing tables").
 *
 * What a reload may change at once is the set of followed tables and their settings
 * ([sources.sql_database] tables and the [sources.sql_database.<table>] sections).  They are
 * taken in between transactions: the batch in hand is applied and confirmed as usual, the stream
 * stops, the same add / remove step a start runs (cdc_tableset_sync) copies an added table in the
 * snapshot of a temporary slot and records its join point, and streaming resumes at the
 * watermark, as after a lost connection.  So the exactly-once argument is a start's: nothing is
 * applied past the watermark before the stop, and everything after it is sent again.
 *
 * The new settings are checked before the stream stops, with the same checks a start runs (the
 * tables exist, have a key, their filters and transforms can be followed): a configuration
 * that fails them, or cannot be read at all, is logged as an error and follow goes on with the
 * one it had.  Any other setting that changed (credentials, slot, destination, …) is kept as it
 * was, with a warning that it takes effect at the next start.
 */
#include "cdc/follow_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/filter.h"
#include "cdc/tableset.h"
#include "source/catalog.h"
#include "source/pgconn.h"
#include "util/log.h"

#define TABLES_KEY "sources.sql_database.tables"
#define TABLE_PREFIX "sources.sql_database."

static bool
same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Is key one of the settings a reload takes: the table list, or a key of a table's section
 * (sources.sql_database.<table>.<key>: every dotted key under sources.sql_database but the
 * credentials' and the extraction's)? */
static bool
table_key(const char *key)
{
	if (strcmp(key, TABLES_KEY) == 0)
		return true;
	if (strncmp(key, TABLE_PREFIX, strlen(TABLE_PREFIX)) != 0)
		return false;
	const char *rest = key + strlen(TABLE_PREFIX);
	return strchr(rest, '.') != NULL && strncmp(rest, "credentials.", 12) != 0 && strncmp(rest, "extract.", 8) != 0;
}

static const pg2md_provenance *
prov_of(const pg2md_config *cfg, const char *key)
{
	for (int i = 0; i < cfg->n_prov; i++)
		if (strcmp(cfg->prov[i].key, key) == 0)
			return &cfg->prov[i];
	return NULL;
}

/* Has key a different value in the other configuration (or none there)? */
static bool
prov_differs(const pg2md_provenance *pv, const pg2md_config *other)
{
	const pg2md_provenance *o = prov_of(other, pv->key);
	return !o || !same_str(o->value, pv->value);
}

/* Has a key of one side a different value (or none) on the other, among the keys wanted? */
static void
compare_keys(const pg2md_config *a, const pg2md_config *b, bool want_table_keys, bool *tables)
{
	const pg2md_config *side[] = {a, b};
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < side[c]->n_prov; i++) {
			const pg2md_provenance *pv = &side[c]->prov[i];
			/* a key both have is looked at from the first side only */
			if ((c == 1 && prov_of(a, pv->key)) || !prov_differs(pv, side[1 - c]))
				continue;
			bool tk = table_key(pv->key);
			if (tk != want_table_keys)
				continue;
			if (tk) {
				pg2md_info("configuration read again: %s changed", pv->key);
				*tables = true;
			} else {
				pg2md_warn("configuration read again: %s changed; pg2md follow keeps the value it started "
					   "with until its next start", pv->key);
			}
		}
}

/*
 * Compare the configuration read again (nc) with the running one: *tables whether the tables or
 * their settings differ from the last ones taken (seen: the last read whose tables were taken,
 * or the start's), every other difference from the start logged as waiting for the next start
 * (by key, never by value: a secret shows as its key alone).
 */
static void
compare_settings(const pg2md_config *start, const pg2md_config *seen, const pg2md_config *nc, bool *tables)
{
	*tables = false;
	compare_keys(seen, nc, true, tables);
	compare_keys(start, nc, false, tables);
	/* secrets are shown masked: compared here */
	if (!same_str(start->pg_password, nc->pg_password) || !same_str(start->pg_conn_string, nc->pg_conn_string) ||
	    !same_str(start->md_token, nc->md_token) || !same_str(start->md_conn_string, nc->md_conn_string))
		pg2md_warn("configuration read again: the credentials changed; pg2md follow uses the ones it started with "
			   "until its next start");
}

/* The settings a reload takes, exchanged between the two configurations. */
static void
swap_table_settings(pg2md_config *a, pg2md_config *b)
{
	pg2md_strlist t = a->tables;
	a->tables = b->tables;
	b->tables = t;
	pg2md_table_config *tc = a->table_cfg;
	a->table_cfg = b->table_cfg;
	b->table_cfg = tc;
	int n = a->n_table_cfg;
	a->n_table_cfg = b->n_table_cfg;
	b->n_table_cfg = n;
}

static bool
same_names(const pg2md_table *a, int na, const pg2md_table *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++) {
		bool found = false;
		for (int j = 0; j < nb && !found; j++)
			found = strcmp(a[i].name, b[j].name) == 0;
		if (!found)
			return false;
	}
	return true;
}

static void
log_refused(const char *what, const pg2md_error *e)
{
	pg2md_log(PG2MD_LOG_ERROR, "%s: %s%s%s%s; pg2md follow goes on with the configuration it had%s%s%s", what,
		  e->msg, e->detail[0] ? " (" : "", e->detail, e->detail[0] ? ")" : "", e->hint[0] ? " (hint: " : "",
		  e->hint, e->hint[0] ? ")" : "");
}

void
follow_reload_read(follow_state *st, bool *restart)
{
	*restart = false;
	if (!st->opts->reload) {
		pg2md_warn("a configuration reload was asked for, but this caller of pg2md follow cannot read it again");
		return;
	}
	pg2md_error e;
	pg2md_error_init(&e);
	pg2md_config *nc = NULL;
	if (st->opts->reload(st->opts->reload_arg, &nc, &e)) {
		log_refused("could not read the configuration again", &e);
		return;
	}
	bool changed;
	compare_settings(st->cfg, st->seen_cfg ? st->seen_cfg : st->cfg, nc, &changed);
	/* the new tables and settings checked as a start checks them, with the rest as it runs */
	swap_table_settings(st->cfg, nc);
	pg2md_table *tables = NULL;
	int n = 0;
	PGconn *conn = pg_connect(st->cfg, &e);
	if (!conn || catalog_reflect(conn, st->cfg, &tables, &n, &e) ||
	    cdc_filter_check(conn, st->cfg, st->rep->publication, tables, n, &e) ||
	    follow_check_tables(conn, st->cfg, tables, n, &e)) {
		log_refused("the tables of the configuration read again cannot be followed", &e);
		swap_table_settings(st->cfg, nc);
		changed = false;
	} else if (!changed && same_names(st->tables, st->ntables, tables, n)) {
		pg2md_info("configuration read again: the followed tables and their settings are unchanged");
	} else {
		changed = true;
	}
	if (conn)
		PQfinish(conn);
	if (!changed) {
		if (tables)
			schema_tables_free(tables, n);
		pg2md_config_free(nc); /* the old settings (unchanged), or the refused new ones */
		return;
	}
	/* the batch in hand is applied with the settings it was read under: the new ones wait in
	 * st->next_cfg for follow_reload_apply */
	swap_table_settings(st->cfg, nc);
	if (st->next_tables)
		schema_tables_free(st->next_tables, st->next_ntables);
	pg2md_config_free(st->next_cfg);
	st->next_cfg = nc;
	st->next_tables = tables;
	st->next_ntables = n;
	*restart = true;
}

pg2md_code
follow_reload_apply(follow_state *st, const cdc_system *sys, cdc_start_opts *chosen, pg2md_error *err)
{
	char l[PGO_LSN_TEXT];
	pg2md_info("configuration read again: the followed tables changed; the stream stops at %s for the change",
		   pgo_lsn_format(st->watermark, l));
	/* a clean stop (the batch in hand is applied and confirmed); one that fails is a lost
	 * connection, and the stream is opened anew below either way */
	pg2md_error e;
	pg2md_error_init(&e);
	if (!cdc_stream_lost(st->s) && cdc_stream_stop(st->s, &e))
		pg2md_debug("stopping the replication stream for the reload: %s", e.msg);

	/* the read's table settings taken; what it holds now (the settings they replace) is never
	 * read again, its provenance is what the next reload compares the tables with */
	swap_table_settings(st->cfg, st->next_cfg);
	pg2md_config_free(st->seen_cfg);
	st->seen_cfg = st->next_cfg;
	st->next_cfg = NULL;
	schema_tables_free(st->tables, st->ntables);
	st->tables = st->next_tables;
	st->ntables = st->next_ntables;
	st->next_tables = NULL;
	st->next_ntables = 0;
	free(st->check);
	free(st->copy_lsn);
	st->check = calloc((size_t)st->ntables + 1, sizeof(bool));
	st->copy_lsn = calloc((size_t)st->ntables + 1, sizeof(pgo_lsn));
	if (!st->check || !st->copy_lsn)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	/* every table's next Relation message compared with the destination, as at a start */
	for (int i = 0; i < st->ntables; i++)
		st->check[i] = true;

	PGconn *conn = pg_connect(st->cfg, err);
	if (!conn)
		return err->code;
	bool created = false;
	cdc_sync sy = {.cfg = st->cfg, .dest = &st->dest, .dest_open = st->dest_open, .conn = conn,
		       .slot = st->rep->slot, .pub = st->rep->publication, .tables = st->tables,
		       .ntables = st->ntables, .copy_lsn = st->copy_lsn};
	if (follow_ensure_publication(conn, st->cfg, st->rep->publication, st->tables, st->ntables, &created, err) ||
	    cdc_tableset_sync(&sy, err)) {
		PQfinish(conn);
		return err->code;
	}
	PQfinish(conn);
	if (!*st->dest_open) /* (sync reopens it after a copy; not reached otherwise) */
		return pg2md_fail(err, PG2MD_ERR_RUN, "the destination is not open after the reload");
	if (follow_budget(st, err))
		return err->code;
	st->rep->reloads++;
	pg2md_info("configuration read again: %d table%s added, %d removed; streaming again from %s", sy.added,
		   sy.added == 1 ? "" : "s", sy.removed, pgo_lsn_format(st->watermark, l));
	return follow_resume(st, sys, chosen, err);
}

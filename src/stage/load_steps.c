/*
 * load_steps.c — a staged package loaded under MotherDuck's rules, in recorded steps.
 *
 * MotherDuck uploads local Parquet files from the client, and wants statements under 512 KB and
 * short transactions (docs/motherduck.md, "Limits"); one transaction for a whole package would
 * hold a large upload open.  So each table's files go first into its work table in steps
 * (md_load_steps: batch_size rows and under 512 KB each), several steps to a transaction while
 * it stays within [destination.motherduck] transaction_rows and transaction_seconds; every
 * transaction commits its steps' records in _pg2md_load_steps with their rows, so a run killed
 * or cut off at any point (a commit whose answer never came included) continues after the last
 * committed step, each row uploaded exactly once.  Then the load's own short transaction
 * (load.c, as for a direct load) swaps or reads the work tables on the server and records the
 * load in _dlt_loads: replace stays atomic.  A retry first looks for the load in _dlt_loads.
 */
#include "stage/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

#include "dest/load.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/humanize.h"
#include "util/interrupt.h"
#include "util/log.h"

static void
steps_table(pg2md_buf *b, const char *dataset)
{
	duck_qualified(b, dataset, MD_STEPS_TABLE);
}

/* The steps of table name that committed for load_id: the next step to run. */
static pg2md_code
steps_done(pg2md_dest *dest, const char *dataset, const char *load_id, const char *name, long long *done,
	   pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	char *v = NULL;

	buf_puts(&sql, "SELECT coalesce(max(step) + 1, 0) FROM ");
	steps_table(&sql, dataset);
	buf_puts(&sql, " WHERE load_id = ");
	buf_literal(&sql, load_id);
	buf_puts(&sql, " AND table_name = ");
	buf_literal(&sql, name);
	duck_scalar(dest->con, sql.data, &v, err);
	*done = v ? atoll(v) : 0;
	free(v);
	buf_release(&sql);
	return err->code;
}

/*
 * Inside a step transaction: steps *i, *i + 1, … each with its record, while the transaction
 * stays within transaction_rows and transaction_seconds (at least one step); *rows counts them.
 */
static pg2md_code
tx_steps(const pg2md_config *cfg, pg2md_dest *dest, json_t *steps, const char *dataset, const char *load_id,
	 const char *name, double t0, size_t *i, int64_t *rows, pg2md_error *err)
{
	size_t n = json_array_size(steps);
	pg2md_buf sql = PG2MD_BUF_INIT;

	while (*i < n) {
		json_t *st = json_array_get(steps, *i);
		buf_reset(&sql);
		buf_printf(&sql, "%s;\nINSERT INTO ", json_string_value(json_object_get(st, "sql")));
		steps_table(&sql, dataset);
		buf_puts(&sql, " VALUES (");
		buf_literal(&sql, load_id);
		buf_puts(&sql, ", ");
		buf_literal(&sql, name);
		buf_printf(&sql, ", %zu, %lld)", *i, (long long)json_integer_value(json_object_get(st, "rows")));
		char *what = xasprintf("loading table \"%s\" (step %zu of %zu)", name, *i + 1, n);
		pg2md_code r = what ? md_statements_check(sql.data, what, err) : pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		if (r == PG2MD_OK)
			r = duck_exec(dest->con, sql.data, what, err);
		free(what);
		if (r)
			break;
		*rows += json_integer_value(json_object_get(st, "rows"));
		(*i)++;
		if (*i >= n ||
		    *rows + json_integer_value(json_object_get(json_array_get(steps, *i), "rows")) > cfg->md_transaction_rows ||
		    now_seconds() - t0 >= cfg->md_transaction_seconds)
			break;
	}
	buf_release(&sql);
	return err->code;
}

/* Upload table t's files into its work table, from the first step not yet committed. */
static pg2md_code
upload_table(const pg2md_config *cfg, pg2md_dest *dest, const manifest_table *t, const char *dataset,
	     const char *load_id, const char *pkg_path, pg2md_error *err)
{
	const char *name = t->dest_name;
	json_t *steps = md_load_steps(t, dataset, pkg_path, cfg->batch_size);
	pg2md_buf sql = PG2MD_BUF_INIT;
	long long done = 0;
	size_t i = 0, n = json_array_size(steps);

	if (!steps) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory"); /* not a table without steps */
		goto out;
	}
	if (steps_done(dest, dataset, load_id, name, &done, err))
		goto out;
	if (done > 0)
		pg2md_info("table \"%s\": continuing load %s at step %lld of %zu", name, load_id, done + 1, n);
	i = (size_t)done;
	if (n > 0 && i >= n)
		goto out; /* every step committed; the load's own transaction had not */
	do {
		/* one transaction: steps while it stays within the bounds (at least one) */
		int64_t rows = 0;
		double t0 = now_seconds();
		if (interrupt_requested()) {
			pg2md_fail(err, interrupt_reason(), "%s while loading table \"%s\"; its steps so far "
				   "are kept", interrupt_what(), name);
			pg2md_hint(err, "run pg2md run (or pg2md load) again: it continues after the last step");
			break;
		}
		buf_reset(&sql);
		buf_puts(&sql, "BEGIN TRANSACTION;\n");
		if (i == 0) {
			/* the first step makes the work table (a leftover of an earlier attempt goes) */
			md_work_table_sql(&sql, t, dataset);
			buf_puts(&sql, ";\n");
		}
		/* on failure the rollback below ends what BEGIN started */
		if (duck_exec(dest->con, sql.data, "starting a load step", err) == PG2MD_OK)
			tx_steps(cfg, dest, steps, dataset, load_id, name, t0, &i, &rows, err);
		/* a step built while memory ran short may lack what a broken buffer held (util/mem.h) */
		if (!pg2md_failed(err) && interrupt_reason() == PG2MD_ERR_NOMEM)
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory while loading table \"%s\"; its steps so far are "
				   "kept", name);
		if (pg2md_failed(err) || duck_exec(dest->con, "COMMIT", "committing a load step", err)) {
			pg2md_error ignore;
			pg2md_error_init(&ignore);
			duck_exec(dest->con, "ROLLBACK", "rolling back", &ignore);
			break;
		}
		pg2md_debug("table \"%s\": steps up to %zu of %zu committed (%lld rows, %.1f s)", name, i, n,
			    (long long)rows, now_seconds() - t0);
		fault_point("load:step_committed");
	} while (i < n);
out:
	json_decref(steps);
	buf_release(&sql);
	return err->code;
}

pg2md_code
load_steps_create(pg2md_dest *dest, const char *dataset, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;

	buf_puts(&sql, "CREATE TABLE IF NOT EXISTS ");
	steps_table(&sql, dataset);
	buf_puts(&sql, " (load_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, step BIGINT NOT NULL, "
		       "rows BIGINT NOT NULL)");
	duck_exec(dest->con, sql.data, "creating the table of load steps", err);
	buf_release(&sql);
	return err->code;
}

pg2md_code
load_upload_steps(const pg2md_config *cfg, pg2md_dest *dest, const pg2md_manifest *man, const char *pkg_path,
		  pg2md_manifest *work_man, bool *already, pg2md_error *err)
{
	const char *load_id = man->load_id;
	const char *dataset = man->dataset_name;

	memset(work_man, 0, sizeof(*work_man));
	*already = false;
	if (dest_prepare_dataset(dest, dataset, err))
		return err->code;
	/* a retry after a failure whose outcome was unknown: the load may have committed */
	if (dlt_load_recorded(dest->con, dataset, load_id, already, err) || *already)
		return err->code;
	if (load_steps_create(dest, dataset, err))
		return err->code;
	for (int i = 0; i < man->ntables; i++)
		if (upload_table(cfg, dest, &man->tables[i], dataset, load_id, pkg_path, err))
			return err->code;
	/* the load's manifest: the same, each table read from its work table */
	work_man->load_id = xstrdup(man->load_id);
	work_man->dataset_name = xstrdup(man->dataset_name);
	work_man->tables = xcalloc((size_t)man->ntables + 1, sizeof(manifest_table));
	if (!work_man->load_id || !work_man->dataset_name || !work_man->tables)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	for (int i = 0; i < man->ntables; i++)
		md_table_from_work(&work_man->tables[i], &man->tables[i]);
	work_man->ntables = man->ntables;
	return PG2MD_OK;
}

void
load_steps_forget(pg2md_dest *dest, const char *dataset, const char *load_id)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_error err;

	pg2md_error_init(&err);
	/* this load's records, those of loads _dlt_loads holds (a run that died after its load), and
	 * those of older loads: packages load oldest first, so an older one not loaded was a package
	 * discarded half-extracted (a run killed while it loaded tables early: overlap.c) */
	buf_puts(&sql, "DELETE FROM ");
	steps_table(&sql, dataset);
	buf_puts(&sql, " WHERE load_id <= ");
	buf_literal(&sql, load_id);
	buf_puts(&sql, " OR load_id IN (SELECT load_id FROM ");
	duck_qualified(&sql, dataset, "_dlt_loads");
	buf_puts(&sql, ")");
	if (duck_exec(dest->con, sql.data, "removing the records of load steps", &err) == PG2MD_OK) {
		/* none left: the table goes too, so the dataset holds dlt's tables and the user's only */
		char *left = NULL;
		buf_reset(&sql);
		buf_puts(&sql, "SELECT count(*) FROM ");
		steps_table(&sql, dataset);
		if (duck_scalar(dest->con, sql.data, &left, &err) == PG2MD_OK && left && strcmp(left, "0") == 0) {
			buf_reset(&sql);
			buf_puts(&sql, "DROP TABLE IF EXISTS ");
			steps_table(&sql, dataset);
			duck_exec(dest->con, sql.data, "dropping the table of load steps", &err);
		}
		free(left);
	}
	if (pg2md_failed(&err))
		pg2md_warn("%s", err.msg);
	buf_release(&sql);
}

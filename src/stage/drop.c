/*
 * drop.c — `pg2md drop` (see drop.h): what to drop is looked up first and confirmed, then
 * dropped; the destination's part is dest/drop.c, the package folders' stage/package.c.
 *
 *   tables   drops them from the dataset (and from the staging dataset), removes them from the
 *            stored schema (a new _dlt_version row) and their state (a new
 *            _dlt_pipeline_state row without sources.sql_database.resources.<table>), all in
 *            one DuckDB transaction.  The next run copies them in full.  Refused while load
 *            packages are pending (dlt refuses too): loading them later would bring the
 *            tables back.
 *   all      DROP SCHEMA <dataset> CASCADE (and <dataset>_staging), and removes the local
 *            pipeline folder: pending packages, loaded manifests, trace.  The DuckDB file stays.
 *   pending  discards the packages extracted or normalized but not loaded, e.g. one the
 *            destination refuses (an unsafe schema change) that would block every later run.
 *
 * A local DuckDB file that does not exist is never created.
 */
#include "stage/drop.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dest/drop.h"
#include "dest/duck.h"
#include "schema/naming.h"
#include "stage/package.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

bool
drop_result_init(drop_result *r, const pg2md_config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->dataset = xstrdup(cfg->dataset_name);
	r->staging = xasprintf("%s_staging", cfg->dataset_name);
	r->pipeline_dir = pkg_pipeline_dir(cfg);
	return (r->dataset || !cfg->dataset_name) && r->staging && r->pipeline_dir;
}

void
drop_result_release(drop_result *r)
{
	free(r->where);
	free(r->dataset);
	free(r->staging);
	free(r->pipeline_dir);
	for (int k = 0; k < r->ntables; k++)
		free(r->tables[k]);
	free(r->tables);
	for (int k = 0; k < r->npackages; k++)
		free(r->packages[k]);
	free(r->packages);
	free(r->package_states);
	free(r->slot);
	free(r->publication);
	memset(r, 0, sizeof(*r));
}

/* Ask; a refusal drops nothing. */
pg2md_code
drop_confirmed(drop_confirm_fn confirm, void *arg, const char *question, drop_result *r, pg2md_error *err)
{
	if (confirm && confirm(arg, question) != 0) {
		r->refused = true;
		return pg2md_fail(err, PG2MD_ERR_USAGE, "nothing was dropped: not confirmed");
	}
	return PG2MD_OK;
}

/*
 * A package waiting in extracted or normalized: its id (caller frees) and state.  One left in
 * extracting is discarded by the next run, so it cannot bring a table back.
 */
static char *
pending_package(const pg2md_config *cfg, pkg_state *state, pg2md_error *err)
{
	static const pkg_state pending[] = {PKG_EXTRACTED, PKG_NORMALIZED};
	for (size_t k = 0; k < sizeof(pending) / sizeof(pending[0]); k++) {
		char *id = pkg_find(cfg, pending[k], err);
		if (pg2md_failed(err))
			return NULL;
		if (id) {
			*state = pending[k];
			return id;
		}
	}
	return NULL;
}

/* T1,T2 → source names as given (*src), destination names as the naming convention makes them;
 * -1 when memory ran out (the arrays hold what was made, to free). */
static int
split_tables(const pg2md_config *cfg, const char *list, char ***src, char ***names)
{
	char *copy = xstrdup(list), *save = NULL;
	int n = 0;
	*src = *names = NULL;
	if (!copy)
		return -1;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t l = strlen(t);
		while (l > 0 && (t[l - 1] == ' ' || t[l - 1] == '\t'))
			t[--l] = '\0';
		if (!*t)
			continue;
		char **more = xrealloc(*src, (size_t)(n + 1) * sizeof(char *));
		if (more)
			*src = more;
		if (!more || !(more = xrealloc(*names, (size_t)(n + 1) * sizeof(char *)))) {
			n = -n - 1; /* -1 - the tables to free */
			break;
		}
		*names = more;
		(*src)[n] = xstrdup(t);
		(*names)[n] = naming_normalize(cfg->naming, t);
		n++;
		if (!(*src)[n - 1] || !(*names)[n - 1]) {
			n = -n - 1;
			break;
		}
	}
	free(copy);
	return n;
}

/* What drop_tables checks before it opens the destination: a table list, no system table,
 * no pending package, a DuckDB file that exists. */
static pg2md_code
tables_droppable(const pg2md_config *cfg, char **names, int n, pg2md_error *err)
{
	pkg_state pstate;
	char *pending;

	if (n == 0) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "--tables names no table");
		pg2md_hint(err, "give the tables to drop as --tables T1,T2");
		return err->code;
	}
	for (int k = 0; k < n; k++)
		if (strncmp(names[k], "_dlt_", 5) == 0) {
			pg2md_fail(err, PG2MD_ERR_USAGE, "\"%s\" is one of dlt's system tables and cannot be dropped alone",
				   names[k]);
			pg2md_hint(err, "pg2md drop without --tables drops the whole dataset");
			return err->code;
		}
	pending = pending_package(cfg, &pstate, err);
	if (pg2md_failed(err))
		return err->code;
	if (pending) {
		pg2md_fail(err, PG2MD_ERR_RUN, "pipeline \"%s\" has a pending load package", cfg->pipeline_name);
		pg2md_detail(err, "package %s is %s; loading it later would bring the dropped tables back", pending,
			     pkg_state_name(pstate));
		pg2md_hint(err, "run pg2md load (or pg2md run) to finish it first, pg2md drop --pending --yes to discard "
				"it, or pg2md drop --yes to drop the whole pipeline with its packages");
		free(pending);
		return err->code;
	}
	if (!dest_exists(cfg))
		return pg2md_fail(err, PG2MD_ERR_USAGE, "DuckDB file \"%s\" does not exist; there are no tables to drop",
				  cfg->duckdb_path);
	return PG2MD_OK;
}

/* Every table must exist: drop all of them or none. */
static pg2md_code
tables_exist(pg2md_dest *d, const char *dataset, char **names, int n, pg2md_error *err)
{
	pg2md_buf missing = PG2MD_BUF_INIT;
	int nmissing = 0;
	for (int k = 0; k < n; k++)
		if (!dest_has_table(d, dataset, names[k])) {
			buf_printf(&missing, "%s\"%s\"", nmissing ? ", " : "", names[k]);
			nmissing++;
		}
	if (buf_broken(&missing)) {
		/* memory ran out (a lookup that failed for it said "not found" too): not "not found" */
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	} else if (nmissing) {
		char *have = dest_data_tables(d, dataset);
		pg2md_fail(err, PG2MD_ERR_USAGE, "%s %s not found in dataset \"%s\" of %s", nmissing > 1 ? "tables" : "table",
			   missing.data, dataset, d->where);
		pg2md_detail(err, "nothing was dropped");
		if (have)
			pg2md_hint(err, "the dataset holds %s", have);
		else
			pg2md_hint(err, "the dataset holds no data tables");
		free(have);
	}
	buf_release(&missing);
	return err->code;
}

pg2md_code
drop_tables(const pg2md_config *cfg, const char *list, drop_confirm_fn confirm, void *arg, drop_result *r,
	    pg2md_error *err)
{
	char **src = NULL, **names = NULL;
	pg2md_dest d;
	pg2md_buf what = PG2MD_BUF_INIT;
	bool opened = false;
	int n = split_tables(cfg, list, &src, &names);

	if (!drop_result_init(r, cfg) || n < 0) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		if (n < 0)
			n = -n - 1; /* what split_tables made, freed below */
		goto done;
	}
	if (tables_droppable(cfg, names, n, err) || dest_open(&d, cfg, 1, err))
		goto done;
	opened = true;
	if (!(r->where = xstrdup(d.where)) && d.where) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (tables_exist(&d, cfg->dataset_name, names, n, err))
		goto done;

	buf_puts(&what, "drop ");
	buf_puts(&what, n > 1 ? "tables " : "table ");
	for (int k = 0; k < n; k++)
		buf_printf(&what, "%s\"%s\"", k ? ", " : "", names[k]);
	buf_printf(&what, " from dataset \"%s\" of %s", cfg->dataset_name, d.where);
	if (buf_broken(&what)) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (drop_confirmed(confirm, arg, what.data, r, err))
		goto done;

	char *load_id = pkg_new_load_id();
	if (!load_id) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto done;
	}
	dest_drop_counts counts;
	dest_drop_tables(&d, cfg->dataset_name, r->staging, cfg->pipeline_name, src, names, n, load_id, &counts, err);
	free(load_id);
	if (pg2md_failed(err))
		goto done;
	r->tables = names;
	r->ntables = n;
	names = NULL;
	r->staging_tables = counts.staging;
	r->schema_tables = counts.schema;
	r->state_tables = counts.state;

done:
	if (opened)
		dest_close(&d);
	for (int k = 0; k < n; k++) {
		free(src[k]);
		if (names)
			free(names[k]);
	}
	free(src);
	free(names);
	buf_release(&what);
	return err->code;
}

pg2md_code
drop_all(const pg2md_config *cfg, drop_confirm_fn confirm, void *arg, drop_result *r, pg2md_error *err)
{
	pg2md_dest d;
	pg2md_buf what = PG2MD_BUF_INIT;
	bool opened = false, has_dataset = false, has_staging = false, has_folder;
	struct stat st;

	if (!drop_result_init(r, cfg)) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto done;
	}
	has_folder = stat(r->pipeline_dir, &st) == 0;
	if (dest_exists(cfg)) {
		if (dest_open(&d, cfg, 1, err))
			goto done;
		opened = true;
		if (!(r->where = xstrdup(d.where)) && d.where) {
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			goto done;
		}
		has_dataset = dest_has_schema(&d, cfg->dataset_name);
		has_staging = dest_has_schema(&d, r->staging);
	}
	if (!has_dataset && !has_staging && !has_folder) {
		r->nothing = true;
		goto done;
	}
	buf_puts(&what, "drop ");
	if (has_dataset || has_staging)
		buf_printf(&what, "dataset \"%s\"%s of %s%s", has_dataset ? cfg->dataset_name : r->staging,
			   has_dataset && has_staging ? " (and its staging dataset)" : "", d.where,
			   has_folder ? " and " : "");
	if (has_folder)
		buf_printf(&what, "the pipeline folder \"%s\"", r->pipeline_dir);
	if (buf_broken(&what)) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (drop_confirmed(confirm, arg, what.data, r, err))
		goto done;
	if (has_dataset || has_staging) {
		/* pg2md follow's slot lives on the source: dropping its watermark does not free it */
		bool followed = has_dataset && dest_has_table(&d, cfg->dataset_name, "_pg2md_cdc");
		if (dest_drop_datasets(&d, cfg->dataset_name, r->staging, has_dataset, has_staging, err))
			goto done;
		if (followed)
			pg2md_warn("the dataset held pg2md follow's watermark: its replication slot on the source still holds "
				   "WAL; pg2md drop --replication drops the slot and the publication follow created");
		r->dropped_dataset = has_dataset;
		r->dropped_staging = has_staging;
	}
	if (has_folder) {
		pkg_remove_tree(r->pipeline_dir);
		if (stat(r->pipeline_dir, &st) == 0) {
			if (mem_short()) /* pkg_remove_tree stopped for it */
				pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			pg2md_fail(err, PG2MD_ERR_RUN, "could not remove the pipeline folder \"%s\" entirely", r->pipeline_dir);
			pg2md_hint(err, "check the permissions of the files left in it");
			goto done;
		}
		r->removed_folder = true;
	}

done:
	if (opened)
		dest_close(&d);
	buf_release(&what);
	return err->code;
}

/* Remove the packages ids[k] of states[k] (n in all), each recorded in r. */
static pg2md_code
drop_packages(const pg2md_config *cfg, const pkg_state *states, int nstates, char ***ids, const int *nids, int n,
	      drop_result *r, pg2md_error *err)
{
	r->packages = xcalloc((size_t)n, sizeof(char *));
	r->package_states = xcalloc((size_t)n, sizeof(char *));
	if (!r->packages || !r->package_states)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	for (int k = 0; k < nstates; k++)
		for (int i = 0; i < nids[k]; i++) {
			char *p = pkg_dir(cfg, states[k], ids[k][i]);
			char *id = xstrdup(ids[k][i]);
			if (!p || !id) {
				free(p);
				free(id);
				return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			}
			pkg_remove_tree(p);
			free(p);
			r->packages[r->npackages] = id;
			r->package_states[r->npackages++] = pkg_state_name(states[k]);
		}
	return PG2MD_OK;
}

pg2md_code
drop_pending(const pg2md_config *cfg, drop_confirm_fn confirm, void *arg, drop_result *r, pg2md_error *err)
{
	static const pkg_state states[] = {PKG_EXTRACTED, PKG_NORMALIZED};
	enum { NSTATES = sizeof(states) / sizeof(states[0]) };
	pg2md_buf what = PG2MD_BUF_INIT;
	char **ids[NSTATES];
	int nids[NSTATES], n = 0;
	bool oom = !drop_result_init(r, cfg);

	for (int k = 0; k < NSTATES; k++) {
		ids[k] = pkg_list(cfg, states[k], &nids[k]);
		oom = oom || !ids[k];
		for (int i = 0; i < nids[k]; i++, n++)
			buf_printf(&what, "%s%s (%s)", n ? ", " : "", ids[k][i], pkg_state_name(states[k]));
	}
	if (oom || buf_broken(&what)) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	} else if (n == 0) {
		r->nothing = true;
	} else {
		char *question = xasprintf("discard %d pending load package%s: %s", n, n == 1 ? "" : "s", what.data);
		if (!question)
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		else if (drop_confirmed(confirm, arg, question, r, err) == PG2MD_OK)
			drop_packages(cfg, states, NSTATES, ids, nids, n, r, err);
		free(question);
	}
	for (int k = 0; k < NSTATES; k++)
		pkg_list_free(ids[k]);
	buf_release(&what);
	return err->code;
}

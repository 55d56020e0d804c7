/*
 * cmd_drop.c — `pg2md drop`: forget tables, or the whole pipeline, as dlt's
 * `dlt pipeline drop` does.
 *
 *   --tables T1,T2  drops those tables from the dataset (and from the staging
 *                   dataset), removes them from the stored schema (a new
 *                   _dlt_version row) and their state (a new
 *                   _dlt_pipeline_state row without
 *                   sources.sql_database.resources.<table>), all in one
 *                   DuckDB transaction.  The next run copies them in full.
 *                   Refused while load packages are pending (dlt refuses too):
 *                   loading them later would bring the tables back.
 *   (no --tables)   DROP SCHEMA <dataset> CASCADE (and <dataset>_staging), and
 *                   removes the local pipeline folder: pending packages,
 *                   loaded manifests, trace.  The DuckDB file itself stays.
 *
 * Everything to drop is looked up first, then confirmed: on a terminal pg2md
 * asks; otherwise --yes is required.  A local DuckDB file that does not exist
 * is never created.
 */
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <duckdb.h>
#include <jansson.h>

#include "cli/cli.h"
#include "dest/duck.h"
#include "dest/naming.h"
#include "stage/package.h"
#include "util/buf.h"
#include "util/hash.h"


/* Does the count(*) query sql find anything? (sql is consumed) */
static int
duck_any(pg2md_dest *d, pg2md_buf *sql)
{
	pg2md_error err;
	char *n = NULL;
	int found;

	pg2md_error_init(&err);
	found = duck_scalar(d->con, sql->data, &n, &err) == PG2MD_OK && n && strcmp(n, "0") != 0;
	free(n);
	buf_release(sql);
	return found;
}

/* Does relation name exist in schema (of the current database)? */
static int
duck_has_table(pg2md_dest *d, const char *schema, const char *name)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	buf_puts(&sql, "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&sql, schema);
	buf_puts(&sql, " AND table_name = ");
	buf_literal(&sql, name);
	return duck_any(d, &sql);
}

static int
duck_has_schema(pg2md_dest *d, const char *schema)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	buf_puts(&sql, "SELECT count(*) FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&sql, schema);
	return duck_any(d, &sql);
}

/* The data tables of the dataset, comma separated (for hints; caller frees). */
static char *
dataset_tables(pg2md_dest *d, const char *dataset)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_error err;
	char *list = NULL;

	pg2md_error_init(&err);
	buf_puts(&sql, "SELECT string_agg('\"' || table_name || '\"', ', ' ORDER BY table_name) FROM duckdb_tables() "
		       "WHERE database_name = current_database() AND table_name NOT LIKE '\\_dlt\\_%' ESCAPE '\\' "
		       "AND schema_name = ");
	buf_literal(&sql, dataset);
	duck_scalar(d->con, sql.data, &list, &err);
	buf_release(&sql);
	return list;
}

/* Ask on the terminal; without one, --yes is required.  Returns 0 when confirmed. */
static int
confirm(const cli_opts *opts, const char *what)
{
	char answer[16];

	if (opts->yes)
		return 0;
	if (!isatty(0)) {
		fprintf(stderr, "pg2md: error: refusing to %s without confirmation\n", what);
		fprintf(stderr, "HINT:  pass --yes, or run pg2md drop on a terminal to be asked\n");
		return PG2MD_ERR_USAGE;
	}
	fprintf(stderr, "pg2md: %s? [y/N] ", what);
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin) || (strcmp(answer, "y\n") != 0 && strcmp(answer, "yes\n") != 0 &&
						      strcmp(answer, "Y\n") != 0 && strcmp(answer, "YES\n") != 0)) {
		fprintf(stderr, "pg2md: nothing dropped\n");
		return PG2MD_ERR_USAGE;
	}
	return 0;
}

/* A load id for the state row this drop writes: seconds.microseconds, as the loader's. */
static char *
drop_load_id(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return xasprintf("%lld.%06ld", (long long)tv.tv_sec, (long)tv.tv_usec);
}

/*
 * Remove the dropped tables from the newest stored schema: a new _dlt_version
 * row when anything changed.  Appends SQL to sql; *removed (OUT) counts.
 */
static pg2md_code
forget_in_schema(pg2md_dest *d, const char *dataset, char **names, int n, pg2md_buf *sql, int *removed,
		 pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	char *text = NULL;
	json_t *schema, *tables, *jt;
	size_t i;

	*removed = 0;
	if (!duck_has_table(d, dataset, "_dlt_version"))
		return PG2MD_OK;
	buf_puts(&q, "SELECT schema FROM ");
	duck_qualified(&q, dataset, "_dlt_version");
	buf_puts(&q, " ORDER BY version DESC LIMIT 1");
	if (duck_scalar(d->con, q.data, &text, err)) {
		buf_release(&q);
		return err->code;
	}
	buf_release(&q);
	if (!text)
		return PG2MD_OK;
	schema = json_loads(text, 0, NULL);
	free(text);
	if (!schema)
		return PG2MD_OK; /* not ours to rewrite */
	tables = json_object_get(schema, "tables");
	for (i = 0; json_is_array(tables) && i < json_array_size(tables);) {
		jt = json_array_get(tables, i);
		const char *dn = json_string_value(json_object_get(jt, "dest_name"));
		int hit = 0;
		for (int k = 0; k < n && dn; k++)
			if (strcmp(dn, names[k]) == 0)
				hit = 1;
		if (hit) {
			json_array_remove(tables, i);
			(*removed)++;
		} else {
			i++;
		}
	}
	if (*removed) {
		char *s = json_dumps(schema, JSON_SORT_KEYS | JSON_COMPACT);
		char hash[32];
		snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)hash_fnv1a(s));
		buf_puts(sql, "INSERT INTO ");
		duck_qualified(sql, dataset, "_dlt_version");
		buf_puts(sql, " SELECT coalesce((SELECT max(version) FROM ");
		duck_qualified(sql, dataset, "_dlt_version");
		buf_puts(sql, "), 0) + 1, 9, now(), 'sql_database', ");
		buf_literal(sql, hash);
		buf_puts(sql, ", ");
		buf_literal(sql, s);
		buf_puts(sql, ";\n");
		free(s);
	}
	json_decref(schema);
	return PG2MD_OK;
}

/*
 * Remove sources.sql_database.resources.<table> from the newest pipeline
 * state: a new _dlt_pipeline_state row when anything changed.
 */
static pg2md_code
forget_in_state(pg2md_dest *d, const pg2md_config *cfg, char **src_names, char **names, int n, pg2md_buf *sql,
		int *removed, pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	char *text = NULL;
	json_t *state, *resources;

	*removed = 0;
	if (!duck_has_table(d, cfg->dataset_name, "_dlt_pipeline_state"))
		return PG2MD_OK;
	buf_puts(&q, "SELECT state FROM ");
	duck_qualified(&q, cfg->dataset_name, "_dlt_pipeline_state");
	buf_puts(&q, " WHERE pipeline_name = ");
	buf_literal(&q, cfg->pipeline_name);
	buf_puts(&q, " ORDER BY version DESC LIMIT 1");
	if (duck_scalar(d->con, q.data, &text, err)) {
		buf_release(&q);
		return err->code;
	}
	buf_release(&q);
	if (!text)
		return PG2MD_OK;
	state = json_loads(text, 0, NULL);
	free(text);
	if (!state)
		return PG2MD_OK;
	resources = json_object_get(json_object_get(json_object_get(state, "sources"), "sql_database"), "resources");
	for (int k = 0; k < n && json_is_object(resources); k++) {
		if (json_object_del(resources, src_names[k]) == 0)
			(*removed)++;
		else if (json_object_del(resources, names[k]) == 0)
			(*removed)++;
	}
	if (*removed) {
		json_t *sv = json_object_get(state, "_state_version");
		if (json_is_integer(sv))
			json_integer_set(sv, json_integer_value(sv) + 1);
		char *s = json_dumps(state, JSON_SORT_KEYS | JSON_COMPACT);
		char hash[32], *load_id = drop_load_id();
		snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)hash_fnv1a(s));
		buf_puts(sql, "INSERT INTO ");
		duck_qualified(sql, cfg->dataset_name, "_dlt_pipeline_state");
		buf_puts(sql, " SELECT coalesce((SELECT max(version) FROM ");
		duck_qualified(sql, cfg->dataset_name, "_dlt_pipeline_state");
		buf_puts(sql, "), 0) + 1, 4, ");
		buf_literal(sql, cfg->pipeline_name);
		buf_puts(sql, ", ");
		buf_literal(sql, s);
		buf_puts(sql, ", now(), ");
		buf_literal(sql, hash);
		buf_puts(sql, ", ");
		buf_literal(sql, load_id);
		buf_puts(sql, ", gen_random_uuid()::VARCHAR;\n");
		free(s);
		free(load_id);
	}
	json_decref(state);
	return PG2MD_OK;
}

/*
 * A package waiting in extracted or normalized: its id (caller frees) and state.  One left in
 * extracting is discarded by the next run, so it cannot bring a table back.
 */
static char *
pending_package(const pg2md_config *cfg, pkg_state *state)
{
	static const pkg_state pending[] = {PKG_EXTRACTED, PKG_NORMALIZED};
	for (size_t k = 0; k < sizeof(pending) / sizeof(pending[0]); k++) {
		char *id = pkg_find(cfg, pending[k]);
		if (id) {
			*state = pending[k];
			return id;
		}
	}
	return NULL;
}

static int
drop_tables(cli_opts *opts, const pg2md_config *cfg, const char *list)
{
	char **src = NULL, **names = NULL;
	int n = 0;
	pg2md_error err;
	pg2md_dest d;
	pg2md_buf sql = PG2MD_BUF_INIT, what = PG2MD_BUF_INIT;
	char *staging = xasprintf("%s_staging", cfg->dataset_name);
	int opened = 0, in_staging = 0, schema_removed = 0, state_removed = 0;
	pkg_state pstate;
	char *pending;
	struct stat st;

	pg2md_error_init(&err);
	/* T1,T2 → source names as given, destination names as the naming convention makes them. */
	{
		char *copy = xstrdup(list), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ' || *t == '\t')
				t++;
			size_t l = strlen(t);
			while (l > 0 && (t[l - 1] == ' ' || t[l - 1] == '\t'))
				t[--l] = '\0';
			if (!*t)
				continue;
			src = xrealloc(src, (size_t)(n + 1) * sizeof(char *));
			names = xrealloc(names, (size_t)(n + 1) * sizeof(char *));
			src[n] = xstrdup(t);
			names[n] = naming_normalize(cfg->naming, t);
			n++;
		}
		free(copy);
	}
	if (n == 0) {
		pg2md_fail(&err, PG2MD_ERR_USAGE, "--tables names no table");
		pg2md_hint(&err, "give the tables to drop as --tables T1,T2");
		goto done;
	}
	for (int k = 0; k < n; k++)
		if (strncmp(names[k], "_dlt_", 5) == 0) {
			pg2md_fail(&err, PG2MD_ERR_USAGE, "\"%s\" is one of dlt's system tables and cannot be dropped alone",
				   names[k]);
			pg2md_hint(&err, "pg2md drop without --tables drops the whole dataset");
			goto done;
		}
	pending = pending_package(cfg, &pstate);
	if (pending) {
		pg2md_fail(&err, PG2MD_ERR_RUN, "pipeline \"%s\" has a pending load package", cfg->pipeline_name);
		pg2md_detail(&err, "package %s is %s; loading it later would bring the dropped tables back", pending,
			     pkg_state_name(pstate));
		pg2md_hint(&err, "run pg2md load (or pg2md run) to finish it first, pg2md drop --pending --yes to discard "
				 "it, or pg2md drop --yes to drop the whole pipeline with its packages");
		free(pending);
		goto done;
	}
	if (!(cfg->destination && strcmp(cfg->destination, "motherduck") == 0) && stat(cfg->duckdb_path, &st) != 0) {
		pg2md_fail(&err, PG2MD_ERR_USAGE, "DuckDB file \"%s\" does not exist; there are no tables to drop",
			   cfg->duckdb_path);
		goto done;
	}
	if (dest_open(&d, cfg, 1, &err))
		goto done;
	opened = 1;
	/* Every table must exist: drop all of them or none. */
	{
		pg2md_buf missing = PG2MD_BUF_INIT;
		int nmissing = 0;
		for (int k = 0; k < n; k++)
			if (!duck_has_table(&d, cfg->dataset_name, names[k])) {
				buf_printf(&missing, "%s\"%s\"", nmissing ? ", " : "", names[k]);
				nmissing++;
			}
		if (nmissing) {
			char *have = dataset_tables(&d, cfg->dataset_name);
			pg2md_fail(&err, PG2MD_ERR_USAGE, "%s %s not found in dataset \"%s\" of %s", nmissing > 1 ? "tables" : "table",
				   missing.data, cfg->dataset_name, d.where);
			pg2md_detail(&err, "nothing was dropped");
			if (have)
				pg2md_hint(&err, "the dataset holds %s", have);
			else
				pg2md_hint(&err, "the dataset holds no data tables");
			free(have);
			buf_release(&missing);
			goto done;
		}
		buf_release(&missing);
	}

	buf_puts(&what, "drop ");
	buf_puts(&what, n > 1 ? "tables " : "table ");
	for (int k = 0; k < n; k++)
		buf_printf(&what, "%s\"%s\"", k ? ", " : "", names[k]);
	buf_printf(&what, " from dataset \"%s\" of %s", cfg->dataset_name, d.where);
	if (confirm(opts, what.data)) {
		err.code = PG2MD_ERR_USAGE;
		goto done;
	}

	buf_puts(&sql, "BEGIN;\n");
	for (int k = 0; k < n; k++) {
		buf_puts(&sql, "DROP TABLE ");
		duck_qualified(&sql, cfg->dataset_name, names[k]);
		buf_puts(&sql, ";\n");
		if (duck_has_table(&d, staging, names[k])) {
			buf_puts(&sql, "DROP TABLE ");
			duck_qualified(&sql, staging, names[k]);
			buf_puts(&sql, ";\n");
			in_staging++;
		}
	}
	if (forget_in_schema(&d, cfg->dataset_name, names, n, &sql, &schema_removed, &err) ||
	    forget_in_state(&d, cfg, src, names, n, &sql, &state_removed, &err))
		goto done;
	buf_puts(&sql, "COMMIT");
	if (duck_exec(d.con, sql.data, "dropping the tables", &err)) {
		pg2md_error ignore;
		pg2md_error_init(&ignore);
		duck_exec(d.con, "ROLLBACK", "rolling back", &ignore);
		pg2md_detail(&err, "nothing was dropped");
		goto done;
	}
	for (int k = 0; k < n; k++)
		printf("pg2md: dropped table \"%s\".\"%s\" from %s\n", cfg->dataset_name, names[k], d.where);
	if (in_staging)
		printf("pg2md: dropped %d table%s from the staging dataset \"%s\"\n", in_staging, in_staging == 1 ? "" : "s",
		       staging);
	if (schema_removed)
		printf("pg2md: removed %d table%s from the stored schema (a new _dlt_version row)\n", schema_removed,
		       schema_removed == 1 ? "" : "s");
	if (state_removed)
		printf("pg2md: reset the state of %d table%s (a new _dlt_pipeline_state row)\n", state_removed,
		       state_removed == 1 ? "" : "s");
	printf("pg2md: the next run copies %s in full\n", n > 1 ? "them" : "it");

done:
	if (opened)
		dest_close(&d);
	if (pg2md_failed(&err) && err.msg[0])
		cli_print_error(&err);
	for (int k = 0; k < n; k++) {
		free(src[k]);
		free(names[k]);
	}
	free(src);
	free(names);
	free(staging);
	buf_release(&sql);
	buf_release(&what);
	return err.code;
}

static int
drop_all(cli_opts *opts, const pg2md_config *cfg)
{
	pg2md_error err;
	pg2md_dest d;
	pg2md_buf sql = PG2MD_BUF_INIT, what = PG2MD_BUF_INIT;
	char *staging = xasprintf("%s_staging", cfg->dataset_name);
	char *pipeline_dir = pkg_pipeline_dir(cfg);
	int opened = 0, has_dataset = 0, has_staging = 0, has_folder;
	struct stat st;

	pg2md_error_init(&err);
	has_folder = stat(pipeline_dir, &st) == 0;
	if ((cfg->destination && strcmp(cfg->destination, "motherduck") == 0) || stat(cfg->duckdb_path, &st) == 0) {
		if (dest_open(&d, cfg, 1, &err))
			goto done;
		opened = 1;
		has_dataset = duck_has_schema(&d, cfg->dataset_name);
		has_staging = duck_has_schema(&d, staging);
	}
	if (!has_dataset && !has_staging && !has_folder) {
		printf("pg2md: nothing to drop: no dataset \"%s\" in %s, no pipeline folder \"%s\"\n", cfg->dataset_name,
		       opened ? d.where : "the destination", pipeline_dir);
		goto done;
	}
	buf_puts(&what, "drop ");
	if (has_dataset || has_staging)
		buf_printf(&what, "dataset \"%s\"%s of %s%s", has_dataset ? cfg->dataset_name : staging,
			   has_dataset && has_staging ? " (and its staging dataset)" : "", d.where,
			   has_folder ? " and " : "");
	if (has_folder)
		buf_printf(&what, "the pipeline folder \"%s\"", pipeline_dir);
	if (confirm(opts, what.data)) {
		err.code = PG2MD_ERR_USAGE;
		goto done;
	}
	if (has_dataset || has_staging) {
		buf_puts(&sql, "BEGIN;\n");
		if (has_dataset) {
			buf_puts(&sql, "DROP SCHEMA ");
			buf_ident(&sql, cfg->dataset_name);
			buf_puts(&sql, " CASCADE;\n");
		}
		if (has_staging) {
			buf_puts(&sql, "DROP SCHEMA ");
			buf_ident(&sql, staging);
			buf_puts(&sql, " CASCADE;\n");
		}
		buf_puts(&sql, "COMMIT");
		if (duck_exec(d.con, sql.data, "dropping the dataset", &err)) {
			pg2md_error ignore;
			pg2md_error_init(&ignore);
			duck_exec(d.con, "ROLLBACK", "rolling back", &ignore);
			pg2md_detail(&err, "nothing was dropped");
			goto done;
		}
		if (has_dataset)
			printf("pg2md: dropped dataset \"%s\" from %s\n", cfg->dataset_name, d.where);
		if (has_staging)
			printf("pg2md: dropped staging dataset \"%s\" from %s\n", staging, d.where);
	}
	if (has_folder) {
		pkg_remove_tree(pipeline_dir);
		if (stat(pipeline_dir, &st) == 0) {
			pg2md_fail(&err, PG2MD_ERR_RUN, "could not remove the pipeline folder \"%s\" entirely", pipeline_dir);
			pg2md_hint(&err, "check the permissions of the files left in it");
			goto done;
		}
		printf("pg2md: removed the pipeline folder \"%s\"\n", pipeline_dir);
	}

done:
	if (opened)
		dest_close(&d);
	if (pg2md_failed(&err) && err.msg[0])
		cli_print_error(&err);
	free(staging);
	free(pipeline_dir);
	buf_release(&sql);
	buf_release(&what);
	return err.code;
}

/*
 * drop --pending: discard the load packages extracted or normalized but not loaded, as dlt's
 * `pipeline drop-pending-packages` does: a package the destination refuses (an unsafe schema
 * change) would otherwise block every later run.  Their rows were never loaded and their
 * cursors never stored, so the next run reads them again from the source.
 */
static int
drop_pending(cli_opts *opts, const pg2md_config *cfg)
{
	static const pkg_state states[] = {PKG_EXTRACTED, PKG_NORMALIZED};
	pg2md_buf what = PG2MD_BUF_INIT;
	int n = 0, code = 0;
	char *id;

	for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		char *dir = xasprintf("%s/%s/load/%s", cfg->pipelines_dir, cfg->pipeline_name, pkg_state_name(states[k]));
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL)
			if (e->d_name[0] != '.') {
				buf_printf(&what, "%s%s (%s)", n ? ", " : "", e->d_name, pkg_state_name(states[k]));
				n++;
			}
		if (d)
			closedir(d);
		free(dir);
	}
	if (n == 0) {
		printf("pg2md: no pending load package\n");
		buf_release(&what);
		return 0;
	}
	char *question = xasprintf("discard %d pending load package%s: %s", n, n == 1 ? "" : "s", what.data);
	code = confirm(opts, question);
	free(question);
	if (code == 0) {
		for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++)
			while ((id = pkg_find(cfg, states[k])) != NULL) {
				char *p = pkg_dir(cfg, states[k], id);
				pkg_remove_tree(p);
				printf("pg2md: discarded load package %s (%s)\n", id, pkg_state_name(states[k]));
				free(p);
				free(id);
			}
	}
	buf_release(&what);
	return code;
}

int
cmd_drop(cli_opts *opts)
{
	int code;
	pg2md_config *cfg;
	const char *tables = opts->flags.tables;

	if (opts->nargs > 0) {
		fprintf(stderr, "pg2md drop: unexpected argument \"%s\"\n"
				"Try \"pg2md drop --help\" for more information.\n", opts->args[0]);
		return PG2MD_ERR_USAGE;
	}
	/* --tables names what to drop, not what to copy: the configuration keeps its own list. */
	opts->flags.tables = NULL;
	cfg = cli_load_config(opts, &code);
	if (!cfg)
		return code;
	code = opts->pending ? drop_pending(opts, cfg) : tables ? drop_tables(opts, cfg, tables) : drop_all(opts, cfg);
	pg2md_config_free(cfg);
	return code;
}

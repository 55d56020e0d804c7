/*
 * check.c — `pg2md check`'s destination section (see check.h).  Each finding is an item of
 * the checklist; nothing is printed here.
 *
 * What is checked of every destination is in dest_check; a check that only one kind of
 * destination needs (MotherDuck's limits, say) goes in a function of its own called from
 * there, adding its items to the same section.
 */
#include "dest/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <duckdb.h>

#include "dest/duck.h"
#include "dest/motherduck.h"
#include "util/buf.h"
#include "util/humanize.h"

/* The dataset's tables with their estimated rows, one line each under an ok item. */
static void
list_dataset(checklist *cl, pg2md_dest *d, const char *dataset)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	duckdb_result res;

	buf_puts(&sql, "SELECT table_name, estimated_size, column_count FROM duckdb_tables() "
		       "WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&sql, dataset);
	buf_puts(&sql, " ORDER BY table_name LIKE '\\_dlt\\_%' ESCAPE '\\', table_name");
	if (buf_broken(&sql)) {
		check_failed(cl, PG2MD_ERR_NOMEM, "out of memory listing the tables of dataset \"%s\"", dataset);
		return;
	}
	if (duckdb_query(d->con, sql.data, &res) == DuckDBError) {
		check_failed(cl, PG2MD_ERR_RUN, "could not list the tables of dataset \"%s\"", dataset);
		check_detail(cl, "%s", duckdb_result_error(&res));
	} else {
		idx_t n = duckdb_row_count(&res);
		if (n == 0) {
			check_ok(cl, "dataset \"%s\" does not exist yet (the first run creates it)", dataset);
		} else {
			check_ok(cl, "dataset \"%s\": %llu table%s", dataset, (unsigned long long)n, n == 1 ? "" : "s");
			for (idx_t r = 0; r < n; r++) {
				char *name = duckdb_value_varchar(&res, 0, r);
				char rows[32];
				check_note(cl, "%-30s %10s rows %4lld columns", name ? name : "?",
					   human_count(rows, sizeof(rows), (double)duckdb_value_int64(&res, 1, r)),
					   (long long)duckdb_value_int64(&res, 2, r));
				duckdb_free(name);
			}
		}
	}
	duckdb_destroy_result(&res);
	buf_release(&sql);
}

/*
 * MotherDuck's client side, learnt without connecting: whether this DuckDB is a version
 * MotherDuck supports, and whether the motherduck extension is installed (or configured as a
 * file) and loads.
 */
static void
check_motherduck_client(checklist *cl, const pg2md_config *cfg)
{
	md_facts f;
	md_client_facts(cfg, &f);
	if (f.version_supported)
		check_ok(cl, "DuckDB %s: a version MotherDuck supports (%s to 1.5.x)", f.duckdb_version, MD_DUCKDB_MIN);
	else
		check_failed(cl, PG2MD_ERR_RUN, "DuckDB %s: not a version MotherDuck supports (%s to 1.5.x)",
			     f.duckdb_version, MD_DUCKDB_MIN);
	const char *what = f.from_file || f.installed ? f.where : "not installed";
	const char *how = f.loadable ? ": loads" : f.from_file || f.installed ? ": does not load" : " (downloaded on first use)";
	/* a configured file that does not load is the configuration's fault (exit 2, as `run`
	 * says of it); an installed extension that does not load is the installation's */
	if (f.loadable || (!f.from_file && !f.installed))
		check_ok(cl, "motherduck extension %s%s%s", f.from_file ? "file " : "", what, how);
	else
		check_failed(cl, f.from_file ? PG2MD_ERR_USAGE : PG2MD_ERR_RUN, "motherduck extension %s%s%s",
			     f.from_file ? "file " : "", what, how);
	if (!f.loadable && f.why[0])
		check_detail(cl, "%s", f.why);
	if (!f.loadable && f.from_file)
		check_hint(cl, "set [destination.motherduck] extension_path to the motherduck.duckdb_extension built for "
			       "DuckDB %s (docs/motherduck.md, \"Offline install\")", f.duckdb_version);
}

/*
 * Writable: a scratch schema and table created and filled in one committed transaction, then
 * dropped (DuckDB cannot commit an insert into a table the same transaction drops).
 */
static void
check_writable(checklist *cl, pg2md_dest *d)
{
	pg2md_buf sql = PG2MD_BUF_INIT, drop = PG2MD_BUF_INIT;
	pg2md_error err;
	char name[64];

	pg2md_error_init(&err);
	snprintf(name, sizeof(name), "_pg2md_check_%ld", (long)getpid());
	buf_puts(&sql, "BEGIN;\nCREATE SCHEMA ");
	buf_ident(&sql, name);
	buf_puts(&sql, ";\nCREATE TABLE ");
	duck_qualified(&sql, name, "scratch");
	buf_puts(&sql, " (x INTEGER);\nINSERT INTO ");
	duck_qualified(&sql, name, "scratch");
	buf_puts(&sql, " VALUES (1);\nCOMMIT");
	buf_puts(&drop, "DROP SCHEMA ");
	buf_ident(&drop, name);
	buf_puts(&drop, " CASCADE");
	if (duck_exec(d->con, sql.data, "writing", &err) == PG2MD_OK &&
	    duck_exec(d->con, drop.data, "dropping the scratch schema", &err) == PG2MD_OK) {
		check_ok(cl, "writable (created, filled and dropped a scratch table)");
	} else {
		pg2md_error ignore;
		pg2md_error_init(&ignore);
		duck_exec(d->con, "ROLLBACK", "rolling back", &ignore);
		if (err.code == PG2MD_ERR_NOMEM)
			check_failed(cl, PG2MD_ERR_NOMEM, "out of memory checking that %s is writable", d->where);
		else
			check_failed(cl, PG2MD_ERR_RUN, "%s is not writable", d->where);
		check_detail(cl, "%s", err.msg);
		check_hint(cl, "%s", d->motherduck ? "check that the token may write to the database (not a read-only share)"
						   : "check the file's and folder's permissions and free space");
	}
	buf_release(&sql);
	buf_release(&drop);
}

void
dest_check(checklist *cl, const pg2md_config *cfg)
{
	bool md = pg2md_config_motherduck(cfg);
	bool existed = true;
	pg2md_dest d;
	pg2md_error err;
	struct stat st;
	char *version = NULL;

	pg2md_error_init(&err);
	if (!md)
		existed = stat(cfg->duckdb_path, &st) == 0;
	checklist_section(cl, "destination", md ? "MotherDuck" : "DuckDB");
	if (md)
		check_motherduck_client(cl, cfg);
	if (dest_open(&d, cfg, 1, &err) != PG2MD_OK) {
		/* a connection that failed, or a setting dest_open refused (the extension file) */
		check_failed(cl, err.code == PG2MD_ERR_USAGE || err.code == PG2MD_ERR_NOMEM ? err.code : PG2MD_ERR_CONNECT,
			     "%s", err.msg);
		check_error(cl, &err);
		return;
	}
	duck_scalar(d.con, "SELECT version()", &version, &err);
	check_ok(cl, "opened %s (DuckDB %s)%s", d.where, version ? version : "?",
		 existed ? "" : "; a new file, removed again after the check");
	free(version);
	check_writable(cl, &d);
	list_dataset(cl, &d, cfg->dataset_name);
	dest_close(&d);

	if (!existed) {
		char *wal = xasprintf("%s.wal", cfg->duckdb_path);
		unlink(cfg->duckdb_path);
		if (wal)
			unlink(wal);
		else
			check_failed(cl, PG2MD_ERR_NOMEM, "out of memory removing the new file's \"%s.wal\"", cfg->duckdb_path);
		free(wal);
	}
}

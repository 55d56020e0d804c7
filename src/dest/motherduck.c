/* motherduck.c — the MotherDuck client's pieces: user agent, offline extension, facts (motherduck.h). */
#include "dest/motherduck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dest/duck.h"
#include "pg2md.h"
#include "util/buf.h"

const char *
md_user_agent(void)
{
	/* MotherDuck's format: integration/version, no spaces */
	return "pg2md/" PG2MD_VERSION;
}

/* "v1.4.4" or "1.4.4" as one comparable number (1004004), -1 if not a version. */
static long
version_number(const char *v)
{
	int major, minor, patch;
	if (!v)
		return -1;
	if (*v == 'v')
		v++;
	if (sscanf(v, "%d.%d.%d", &major, &minor, &patch) != 3)
		return -1;
	return (long)major * 1000000L + (long)minor * 1000L + patch;
}

bool
md_duckdb_supported(const char *version)
{
	long v = version_number(version);
	return v >= 0 && v >= version_number(MD_DUCKDB_MIN) && v < version_number(MD_DUCKDB_BELOW);
}

bool
md_rules_forced(void)
{
	const char *v = getenv("PG2MD_TEST_MOTHERDUCK_RULES");
	return v && strcmp(v, "1") == 0;
}

/* Run sql on con; DuckDB's message into why (why_size) on failure. */
static bool
try_sql(duckdb_connection con, const char *sql, char *why, size_t why_size)
{
	duckdb_result res;
	if (buf_is_oom(sql)) {
		if (why)
			snprintf(why, why_size, "out of memory");
		return false;
	}
	bool ok = duckdb_query(con, sql, &res) != DuckDBError;
	if (!ok && why)
		snprintf(why, why_size, "%s", duckdb_result_error(&res) ? duckdb_result_error(&res) : "unknown error");
	duckdb_destroy_result(&res);
	return ok;
}

/* A file that can be read, or the reason it cannot (a static string or strerror). */
static const char *
file_problem(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return strerror(errno);
	if (!S_ISREG(st.st_mode))
		return "not a file";
	if (access(path, R_OK) != 0)
		return strerror(errno);
	return NULL;
}

/* LOAD path (NULL: the installed extension) in a scratch DuckDB with downloads off, then with
 * install FORCE INSTALL it; why gets DuckDB's message if it fails, *installing whether the
 * install was what failed. */
static bool
extension_loads(const char *path, bool install, bool *installing, char *why, size_t why_size)
{
	duckdb_database db;
	duckdb_connection con;
	pg2md_error err;
	pg2md_buf sql = PG2MD_BUF_INIT;
	bool ok;

	pg2md_error_init(&err);
	if (duck_open_scratch(&db, &con, 1, NULL, "to check the motherduck extension", &err)) {
		snprintf(why, why_size, "%.400s", err.msg);
		return false;
	}
	try_sql(con, "SET autoinstall_known_extensions = false", NULL, 0);
	buf_puts(&sql, path ? "LOAD " : "LOAD motherduck");
	if (path)
		buf_literal(&sql, path);
	ok = try_sql(con, sql.data, why, why_size);
	*installing = false;
	if (ok && install && path) {
		*installing = true;
		/* into DuckDB's extension folder, where opening "md:" looks for it (FORCE: a newer file
		 * replaces the one installed before) */
		buf_reset(&sql);
		buf_puts(&sql, "FORCE INSTALL ");
		buf_literal(&sql, path);
		ok = try_sql(con, sql.data, why, why_size);
	}
	buf_release(&sql);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return ok;
}

pg2md_code
md_extension_install(const char *path, pg2md_error *err)
{
	const char *problem = file_problem(path);
	const char *base = strrchr(path, '/');
	char why[512] = "";
	bool installing = false;

	base = base ? base + 1 : path;
	if (problem) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "could not read the motherduck extension \"%s\": %s", path, problem);
		pg2md_hint(err, "set [destination.motherduck] extension_path (or DESTINATION__MOTHERDUCK__EXTENSION_PATH) "
				"to the motherduck.duckdb_extension file downloaded for DuckDB %s on this platform, or "
				"remove it to let DuckDB download the extension (docs/motherduck.md, \"Offline install\")",
			   duckdb_library_version());
		return err->code;
	}
	if (strcmp(base, "motherduck.duckdb_extension") != 0) {
		/* DuckDB names an extension after its file */
		pg2md_fail(err, PG2MD_ERR_USAGE, "the motherduck extension \"%s\" must be named motherduck.duckdb_extension",
			   path);
		pg2md_hint(err, "rename the file (gunzip it first if it ends in .gz)");
		return err->code;
	}
	bool ok = extension_loads(path, true, &installing, why, sizeof(why));
	if (!ok && installing) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "could not install the motherduck extension \"%s\" into DuckDB's "
			   "extension folder", path);
		pg2md_detail(err, "%s", why);
		pg2md_hint(err, "DuckDB installs extensions under ~/.duckdb/extensions: make it writable for this user");
		return err->code;
	} else if (!ok) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "the motherduck extension \"%s\" cannot be used by this DuckDB (%s)", path,
			   duckdb_library_version());
		pg2md_detail(err, "%s", why);
		pg2md_hint(err, "download the motherduck extension built for DuckDB %s on this platform "
				"(docs/motherduck.md, \"Offline install\")",
			   duckdb_library_version());
		return err->code;
	}
	return PG2MD_OK;
}

void
md_client_facts(const pg2md_config *cfg, md_facts *out)
{
	duckdb_database db;
	duckdb_connection con;
	duckdb_result res;
	pg2md_error err;
	bool installing;

	memset(out, 0, sizeof(*out));
	snprintf(out->duckdb_version, sizeof(out->duckdb_version), "%s", duckdb_library_version());
	out->version_supported = md_duckdb_supported(out->duckdb_version);
	out->from_file = cfg->md_extension_path != NULL;
	pg2md_error_init(&err);
	if (duck_open_scratch(&db, &con, 1, NULL, "to check the motherduck extension", &err) == PG2MD_OK) {
		if (duckdb_query(con, "SELECT installed, install_path FROM duckdb_extensions() "
				      "WHERE extension_name = 'motherduck'", &res) != DuckDBError &&
		    duckdb_row_count(&res) > 0) {
			char *p = duckdb_value_varchar(&res, 1, 0);
			out->installed = duckdb_value_boolean(&res, 0, 0);
			if (out->installed && p)
				snprintf(out->where, sizeof(out->where), "%s", p);
			duckdb_free(p);
		}
		duckdb_destroy_result(&res);
		duckdb_disconnect(&con);
		duckdb_close(&db);
	}
	if (out->from_file) {
		const char *problem = file_problem(cfg->md_extension_path);
		snprintf(out->where, sizeof(out->where), "%s", cfg->md_extension_path);
		if (problem)
			snprintf(out->why, sizeof(out->why), "%s", problem);
		else
			out->loadable = extension_loads(cfg->md_extension_path, false, &installing, out->why,
							sizeof(out->why));
	} else if (out->installed) {
		out->loadable = extension_loads(NULL, false, &installing, out->why, sizeof(out->why));
	}
}

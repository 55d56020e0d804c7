/* duck.c — opening the destination and the dataset's system tables (see duck.h). */
#include "dest/duck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dest/motherduck.h"
#include "util/humanize.h"
#include "util/log.h"

pg2md_code
duck_exec(duckdb_connection con, const char *sql, const char *what, pg2md_error *err)
{
	duckdb_result res;
	if (buf_is_oom(sql))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory while %s", what);
	if (duckdb_query(con, sql, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "%s failed: %s", what, duckdb_result_error(&res));
		duck_error_hint(duckdb_result_error(&res), err);
		duckdb_destroy_result(&res);
		return err->code;
	}
	duckdb_destroy_result(&res);
	return PG2MD_OK;
}

pg2md_code
duck_query_rows(duckdb_connection con, const char *sql, duck_row_fn row, void *arg, pg2md_error *err)
{
	duckdb_result res;
	if (buf_is_oom(sql))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	char *wrapped = xasprintf("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (%s)", sql);
	if (!wrapped)
		return pg2md_nomem(err);
	duckdb_state st = duckdb_query(con, wrapped, &res);
	free(wrapped);
	if (st == DuckDBError) {
		duckdb_destroy_result(&res);
		st = duckdb_query(con, sql, &res);
	}
	if (st == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "%s", duckdb_result_error(&res));
	} else if (row) {
		idx_t nc = duckdb_column_count(&res), nr = duckdb_row_count(&res);
		char **vals = xcalloc((size_t)nc + 1, sizeof(char *));
		int stop = 0;
		if (!vals)
			pg2md_nomem(err);
		for (idx_t r = 0; vals && r < nr && !stop; r++) {
			for (idx_t c = 0; c < nc; c++)
				vals[c] = duckdb_value_varchar(&res, c, r); /* NULL for SQL NULL */
			stop = row(arg, (int)nc, (const char *const *)vals);
			for (idx_t c = 0; c < nc; c++)
				duckdb_free(vals[c]);
		}
		free(vals);
	}
	duckdb_destroy_result(&res);
	return err->code;
}

pg2md_code
duck_scalar(duckdb_connection con, const char *sql, char **out, pg2md_error *err)
{
	duckdb_result res;
	*out = NULL;
	if (buf_is_oom(sql))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	if (duckdb_query(con, sql, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "query failed: %s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		return err->code;
	}
	if (duckdb_row_count(&res) > 0 && duckdb_column_count(&res) > 0) {
		char *v = duckdb_value_varchar(&res, 0, 0);
		*out = v ? xstrdup(v) : NULL;
		duckdb_free(v);
		if (v && !*out) {
			duckdb_destroy_result(&res);
			return pg2md_nomem(err);
		}
	}
	duckdb_destroy_result(&res);
	return PG2MD_OK;
}

void
duck_qualified(pg2md_buf *b, const char *dataset, const char *name)
{
	buf_ident(b, dataset);
	buf_putc(b, '.');
	buf_ident(b, name);
}

bool
duck_has_table(duckdb_connection con, const char *schema, const char *name)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_error ignore;
	char *n = NULL;
	bool found;

	pg2md_error_init(&ignore);
	buf_puts(&sql, "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ");
	buf_literal(&sql, schema);
	buf_puts(&sql, " AND table_name = ");
	buf_literal(&sql, name);
	found = duck_scalar(con, sql.data, &n, &ignore) == PG2MD_OK && n && strcmp(n, "0") != 0;
	free(n);
	buf_release(&sql);
	return found;
}

static bool memory_unbounded;

void
duck_memory_unbounded(void)
{
	memory_unbounded = true;
}

const char *
duck_memory_limit(void)
{
	/*
	 * DuckDB's default is 80% of the machine; its buffer pool then grows with the data loaded
	 * (measured: 700 MB peak RSS at TPC-DS scale 1).  A fixed budget (128 MB: no slower than 256 MB at TPC-DS scale 0.5, 100 MB less RSS) keeps pg2md's memory flat
	 * whatever the table size; DuckDB spills past it.  PG2MD_DUCKDB_MEMORY_LIMIT overrides.
	 */
	static bool warned;
	const char *v = getenv("PG2MD_DUCKDB_MEMORY_LIMIT");
	if (v && *v && duck_parse_bytes(v) < 0) {
		/* DuckDB would refuse it and silently keep its own default, 80% of the machine */
		if (!warned)
			pg2md_warn("PG2MD_DUCKDB_MEMORY_LIMIT=\"%s\" is not a size (such as 512MB or 2GB): using 128MB", v);
		warned = true;
		return "128MB";
	}
	return v && *v ? v : "128MB";
}

static bool
memory_limit_chosen(void)
{
	const char *v = getenv("PG2MD_DUCKDB_MEMORY_LIMIT");
	return v && *v && duck_parse_bytes(v) >= 0;
}

int64_t
duck_parse_bytes(const char *s)
{
	static const struct {
		const char *unit;
		double factor;
	} units[] = {
		{"", 1},	  {"b", 1},	 {"bytes", 1},     {"k", 1e3},	 {"kb", 1e3},	{"m", 1e6},
		{"mb", 1e6},	  {"g", 1e9},	 {"gb", 1e9},	   {"t", 1e12},	 {"tb", 1e12},	{"kib", 1024.0},
		{"mib", 1048576.0}, {"gib", 1073741824.0}, {"tib", 1099511627776.0},
	};
	char *end;
	double v;

	if (!s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !(v >= 0) || v > 1e18)
		return -1;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].unit) == 0 && v * units[i].factor <= 9e18)
			return (int64_t)(v * units[i].factor);
	return -1;
}

int64_t
duck_window_with(int64_t window_bytes, int64_t window_rows, int64_t more_rows)
{
	/* more rows of the window's average size, as long as the window holds fewer than 2048 */
	if (window_rows <= 0 || window_bytes <= 0 || more_rows <= 0 || window_rows >= DUCK_WINDOW_ROWS)
		return window_bytes > 0 ? window_bytes : 0;
	if (more_rows > DUCK_WINDOW_ROWS - window_rows)
		more_rows = DUCK_WINDOW_ROWS - window_rows;
	return window_bytes + (int64_t)((double)window_bytes / (double)window_rows * (double)more_rows);
}

int64_t
duck_window_need(int64_t window_bytes)
{
	/*
	 * The window's bytes plus a quarter (the strings' block headers, the reader's buffers) plus
	 * 64 MB for everything else: measured on 42 rows of 5–10 MB (332 MB): 384 MB loads them,
	 * 256 MB does not.
	 */
	if (window_bytes <= 0)
		return 0;
	return (int64_t)((double)window_bytes * 1.25) + 64 * 1000 * 1000;
}

/* A number from the first line of path; -1 if none ("max", missing file). */
static int64_t
read_limit_file(const char *path)
{
	FILE *f = fopen(path, "r");
	long long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * The memory limit of this process's control group (a container's), or -1: cgroup v2's
 * memory.max, else v1's memory.limit_in_bytes, under the group /proc/self/cgroup names.
 */
static int64_t
cgroup_memory_limit(void)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[512], path[700];
	int64_t limit = -1;

	if (!f)
		return -1;
	while (limit < 0 && fgets(line, sizeof(line), f)) {
		char *nl = strchr(line, '\n'), *group;
		if (nl)
			*nl = '\0';
		if (strncmp(line, "0::", 3) == 0) {
			group = line + 3;
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.max", group);
		} else if ((group = strstr(line, ":memory:")) != NULL) {
			group += strlen(":memory:");
			snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", group);
		} else {
			continue;
		}
		limit = read_limit_file(path);
	}
	fclose(f);
	/* "no limit" reads as "max" (v2) or a number near 2^63 (v1) */
	return limit > 0 && limit < ((int64_t)1 << 60) ? limit : -1;
}

bool
duck_budget_short(int64_t need)
{
	int64_t budget = duck_parse_bytes(duck_memory_limit());
	return !memory_unbounded && budget >= 0 && need > budget;
}

pg2md_code
duck_budget_raise(duckdb_connection con, int64_t need, const char *what, bool announce, bool *raised,
		  pg2md_error *err)
{
	int64_t budget = duck_parse_bytes(duck_memory_limit());
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	int64_t machine = pages > 0 && psize > 0 ? (int64_t)pages * psize : INT64_MAX;
	int64_t group = cgroup_memory_limit();
	int64_t cap = (group > 0 && group < machine ? group : machine) / 4 * 3;
	char nb[32], bb[32], cb[32], sql[64];

	*raised = false;
	if (!duck_budget_short(need))
		return PG2MD_OK;
	human_bytes(nb, sizeof(nb), (double)need);
	human_bytes(bb, sizeof(bb), (double)budget);
	if (memory_limit_chosen()) {
		/* the user chose the budget: keep it, say what is likely to happen */
		if (announce)
			pg2md_warn("%s: DuckDB needs about %s to write these rows (it holds 2048 rows at a time, and they "
				   "are large or many columns wide), more than PG2MD_DUCKDB_MEMORY_LIMIT=%s; unset it to let pg2md size the "
				   "budget, or raise it",
				   what, nb, duck_memory_limit());
		return PG2MD_OK;
	}
	if (need > cap) {
		human_bytes(cb, sizeof(cb), (double)cap);
		if (announce)
			pg2md_warn("%s: DuckDB needs about %s to write these rows (it holds 2048 rows at a time, and they "
				   "are large or many columns wide); this machine allows %s (3/4 of its memory, or of its container's): trying with that",
				   what, nb, cb);
		if (cap <= budget)
			return PG2MD_OK; /* a container smaller than the default budget: nothing to raise */
		need = cap;
		human_bytes(nb, sizeof(nb), (double)need);
	}
	if (announce)
		pg2md_info("%s: DuckDB's memory budget raised from %s to %s: the rows are large or many columns wide, "
			   "and DuckDB holds 2048 of them at a time",
			   what, bb, nb);
	else
		pg2md_debug("%s: DuckDB's memory budget raised to %s", what, nb);
	snprintf(sql, sizeof(sql), "SET memory_limit = '%lldb'", (long long)need);
	if (duck_exec(con, sql, "raising DuckDB's memory budget", err))
		return err->code;
	*raised = true;
	return PG2MD_OK;
}

void
duck_set_threads(duckdb_connection con, int threads)
{
	pg2md_error err;
	char sql[48];

	pg2md_error_init(&err);
	snprintf(sql, sizeof(sql), "SET threads = %d", threads > 0 ? threads : 1);
	if (duck_exec(con, sql, "setting DuckDB's threads", &err))
		pg2md_warn("%s", err.msg);
}

void
duck_budget_restore(duckdb_connection con)
{
	pg2md_error err;
	char sql[96];

	pg2md_error_init(&err);
	snprintf(sql, sizeof(sql), "SET memory_limit = '%s'", duck_memory_limit());
	if (duck_exec(con, sql, "restoring DuckDB's memory budget", &err))
		pg2md_warn("%s", err.msg);
}

/* The rows of dataset.table in the destination (DuckDB's count, kept with the table), 0 if none. */
pg2md_code
duck_table_rows(duckdb_connection con, const char *dataset, const char *table, int64_t *rows, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	char *v = NULL;

	buf_puts(&sql, "SELECT estimated_size FROM duckdb_tables() WHERE schema_name = ");
	buf_literal(&sql, dataset);
	buf_puts(&sql, " AND table_name = ");
	buf_literal(&sql, table);
	duck_scalar(con, sql.data, &v, err);
	*rows = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	buf_release(&sql);
	return err->code;
}

void
dest_checkpoint_on_commit(pg2md_dest *d)
{
	/*
	 * A commit writes its rows straight into the database file (a checkpoint) instead of first
	 * into the write-ahead log.  DuckDB decides between the two by the transaction's estimated
	 * size, which counts a string as its 16-byte header: a load of a few hundred MB of long
	 * text went to the WAL whole, serialised in memory (about twice the data, outside
	 * memory_limit), and was written a second time at the next checkpoint.  Measured on 42
	 * rows of 5–10 MB: load peak RSS 1.48 GB -> 0.83 GB staged, 1.14 GB -> 0.43 GB direct
	 * (docs/reliability.md, "Values of several MB").  Not while another connection has a
	 * transaction open: DuckDB then writes the WAL.  Only for the pipeline's loads: it makes
	 * many small commits slower (pg2md sql).
	 */
	pg2md_error err;

	pg2md_error_init(&err);
	if (!d->motherduck && duck_exec(d->con, "SET checkpoint_threshold = '0b'", "setting checkpoints at commit", &err))
		pg2md_warn("%s", err.msg);
}

bool
duck_out_of_memory(duckdb_result *res)
{
	return duckdb_result_error_type(res) == DUCKDB_ERROR_OUT_OF_MEMORY;
}

bool
duck_commit_out_of_memory(duckdb_result *res)
{
	/*
	 * DuckDB wraps what failed in a COMMIT (its checkpoint, its write-ahead log) in a
	 * TransactionContext error, "Failed to commit: …", and the buffer manager's message loses its
	 * "Out of Memory Error" prefix there (measured with 1.4.4: "Failed to commit: Failed to create
	 * checkpoint because of error: failed to pin block of size 6.1 MiB (55.2 MiB/61.0 MiB
	 * used)").  A COMMIT carries no value of the user's into its message.
	 */
	static const char *const alloc[] = {"failed to pin block of size", "failed to allocate data of size",
					    "could not allocate block of size", "Out of Memory Error"};
	const char *msg = duckdb_result_error(res);

	if (duck_out_of_memory(res))
		return true;
	if (!msg || duckdb_result_error_type(res) != DUCKDB_ERROR_TRANSACTION || !strstr(msg, "Failed to commit"))
		return false;
	for (size_t i = 0; i < sizeof(alloc) / sizeof(alloc[0]); i++)
		if (strstr(msg, alloc[i]))
			return true;
	return false;
}

void
duck_error_hint(const char *duck_error, pg2md_error *err)
{
	if (!duck_error)
		return;
	if (strstr(duck_error, "Out of Memory Error") || strstr(duck_error, "failed to pin block of size") ||
	    strstr(duck_error, "failed to allocate data of size"))
		pg2md_hint(err, "DuckDB used up its memory budget (%s, unless raised for large rows): it holds 2048 rows "
				"at a time, so rows of several MB need about 2048 times their size. A run sizes the budget "
				"from the rows it read, unless PG2MD_DUCKDB_MEMORY_LIMIT is set; verify from the source's "
				"statistics (run ANALYZE on the table). Set PG2MD_DUCKDB_MEMORY_LIMIT (e.g. 2GB) to choose "
				"it; with --direct and several workers, staged mode (the default) needs less",
			   duck_memory_limit());
	else if (strstr(duck_error, "No space left on device") || strstr(duck_error, "Disk quota exceeded"))
		pg2md_hint(err, "the file system of the file named above is full: free space there, or move the staging "
				"files ([runtime] pipelines_dir) or the DuckDB file ([destination.duckdb] credentials) to "
				"one with more room; what this run did not load, the next run loads");
}

int
duck_threads(int wanted)
{
	/* More DuckDB threads than cores only adds spinning in its scheduler (measured: docs/internals/performance.md). */
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (wanted < 1)
		wanted = 1;
	if (cores > 0 && wanted > cores)
		wanted = (int)cores;
	return wanted;
}

pg2md_code
dest_check_writable(const pg2md_config *cfg, pg2md_error *err)
{
	const char *path = cfg->duckdb_path;
	char *dir;
	const char *slash;
	struct stat st;

	if (pg2md_config_motherduck(cfg) || !path || strcmp(path, ":memory:") == 0)
		return PG2MD_OK;
	slash = strrchr(path, '/');
	dir = xstrdup(slash == path ? "/" : slash ? path : ".");
	if (!dir)
		return pg2md_nomem(err);
	if (slash && slash != path)
		dir[slash - path] = '\0';
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		pg2md_fail(err, PG2MD_ERR_CONNECT, "could not create DuckDB file \"%s\": folder \"%s\" %s", path, dir,
			   stat(dir, &st) != 0 ? "does not exist" : "is not a folder");
		pg2md_hint(err, "create the folder, or set [destination.duckdb] credentials to a path in a folder that exists");
	} else if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
		pg2md_fail(err, PG2MD_ERR_CONNECT, "could not write DuckDB file \"%s\": folder \"%s\" is not writable", path,
			   dir);
		pg2md_detail(err, "%s; DuckDB writes the file and its write-ahead log (.wal) in that folder", strerror(errno));
		pg2md_hint(err, "make the folder writable for this user, or set [destination.duckdb] credentials to a path in a "
				"writable folder");
	} else if (access(path, F_OK) == 0 && faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) != 0) {
		pg2md_fail(err, PG2MD_ERR_CONNECT, "could not write DuckDB file \"%s\"", path);
		pg2md_detail(err, "%s", strerror(errno));
		pg2md_hint(err, "make the file writable for this user, or set [destination.duckdb] credentials to another "
				"path");
	}
	free(dir);
	return err->code;
}

pg2md_code
duck_open_scratch(duckdb_database *db, duckdb_connection *con, int threads, const char *tmpdir, const char *what,
		  pg2md_error *err)
{
	duckdb_config dc;
	char tbuf[16], *open_err = NULL;

	*db = NULL;
	*con = NULL;
	if (duckdb_create_config(&dc) == DuckDBError)
		return pg2md_fail(err, PG2MD_ERR_RUN, "could not create a DuckDB configuration");
	snprintf(tbuf, sizeof(tbuf), "%d", threads);
	duckdb_set_config(dc, "threads", tbuf);
	duckdb_set_config(dc, "preserve_insertion_order", "false");
	duckdb_set_config(dc, "memory_limit", duck_memory_limit());
	if (tmpdir)
		duckdb_set_config(dc, "temp_directory", tmpdir);
	if (duckdb_open_ext(":memory:", db, dc, &open_err) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not start DuckDB %s: %s", what, open_err ? open_err : "");
		duckdb_free(open_err);
		*db = NULL;
	} else if (duckdb_connect(*db, con) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not connect to the DuckDB %s", what);
		*con = NULL;
	}
	duckdb_destroy_config(&dc);
	return err->code;
}

bool
duck_open_readonly(const char *path, duckdb_database *db, duckdb_connection *con, char **why)
{
	duckdb_config dc;
	*db = NULL;
	*con = NULL;
	*why = NULL;
	if (duckdb_create_config(&dc) == DuckDBError)
		return false;
	duckdb_set_config(dc, "access_mode", "READ_ONLY");
	duckdb_set_config(dc, "threads", "1");
	duckdb_set_config(dc, "memory_limit", duck_memory_limit());
	if (duckdb_open_ext(path, db, dc, why) == DuckDBError) {
		*db = NULL;
		duckdb_destroy_config(&dc);
		return false;
	}
	duckdb_destroy_config(&dc);
	if (duckdb_connect(*db, con) == DuckDBError) {
		duckdb_close(db);
		*db = NULL;
		return false;
	}
	return true;
}

/*
 * MotherDuck (docs/motherduck.md): never without a token (MotherDuck would start an interactive
 * browser login, and a scheduled run would wait for it); the token as the motherduck_token
 * setting, never in the path, so no message can show it; pg2md's user agent; "md:" itself
 * (opening "md:<db>" may not create a missing database: md_use_database does) with
 * connection_timeout, so a slow open fails instead of hanging; the extension from
 * [destination.motherduck] extension_path with downloads off, when set.  saas_mode is never set:
 * it would stop DuckDB reading the staged Parquet files.  On failure d->db is NULL.
 */
static pg2md_code
dest_open_motherduck(pg2md_dest *d, const pg2md_config *cfg, duckdb_config dc, pg2md_error *err)
{
	const char *db = cfg->md_database && *cfg->md_database ? cfg->md_database : "my_db";
	char *open_err = NULL, *path;

	d->where = xasprintf("MotherDuck database \"%s\"", db);
	d->catalog = xstrdup(db);
	if (!d->where || !d->catalog)
		return pg2md_nomem(err);
	if (!cfg->md_token || !*cfg->md_token) {
		pg2md_fail(err, PG2MD_ERR_USAGE, "%s needs a MotherDuck token", d->where);
		pg2md_hint(err, "set token under [destination.motherduck.credentials] in .dlt/secrets.toml, or "
				"MOTHERDUCK_TOKEN; without one MotherDuck would wait for a login in a browser");
		return err->code;
	}
	if (cfg->md_extension_path) {
		if (md_extension_install(cfg->md_extension_path, err))
			return err->code;
		duckdb_set_config(dc, "autoinstall_known_extensions", "false");
	}
	duckdb_set_config(dc, "motherduck_token", cfg->md_token);
	duckdb_set_config(dc, "custom_user_agent", md_user_agent());
	path = cfg->md_connection_timeout > 0 ? xasprintf("md:?connection_timeout=%ds", cfg->md_connection_timeout)
					      : xstrdup("md:");
	if (!path)
		return pg2md_nomem(err);
	if (duckdb_open_ext(path, &d->db, dc, &open_err) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_CONNECT, "could not connect to %s", d->where);
		/* DuckDB's message names the extension download or the server; it never holds the token. */
		pg2md_detail(err, "%s", open_err ? open_err : "unknown error");
		if (open_err && strstr(open_err, "motherduck") && strstr(open_err, "not found"))
			pg2md_hint(err, "the motherduck extension is not installed and downloads are off: set "
					"[destination.motherduck] extension_path to the motherduck.duckdb_extension file "
					"(docs/motherduck.md, \"Offline install\")");
		else if (open_err && strstr(open_err, "Failed to download extension"))
			pg2md_hint(err, "this machine could not download the motherduck extension: install it from a file "
					"with [destination.motherduck] extension_path (docs/motherduck.md, \"Offline "
					"install\"), or allow access to extensions.duckdb.org; then check the token under "
					"[destination.motherduck.credentials] (or MOTHERDUCK_TOKEN) and that this machine "
					"can reach MotherDuck");
		else
			pg2md_hint(err, "check the token under [destination.motherduck.credentials] in .dlt/secrets.toml "
					"(or MOTHERDUCK_TOKEN), that this machine can reach MotherDuck (the motherduck "
					"extension is downloaded on first use, unless [destination.motherduck] extension_path "
					"is set), and the database name");
		duckdb_free(open_err);
		d->db = NULL; /* a failed open leaves nothing to close */
	}
	free(path);
	return err->code;
}

/* MotherDuck: the database created if missing, then made the default (inline literals only:
 * MotherDuck refuses prepared parameters in such statements). */
static pg2md_code
md_use_database(pg2md_dest *d, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_error why;

	pg2md_error_init(&why);
	buf_puts(&sql, "CREATE DATABASE IF NOT EXISTS ");
	buf_ident(&sql, d->catalog);
	buf_puts(&sql, "; USE ");
	buf_ident(&sql, d->catalog);
	if (duck_exec(d->con, sql.data, "creating or using the database", &why) == PG2MD_ERR_NOMEM) {
		pg2md_error_merge(err, &why);
	} else if (why.code) {
		pg2md_fail(err, PG2MD_ERR_CONNECT, "could not use %s", d->where);
		pg2md_detail(err, "%s", why.msg);
		pg2md_hint(err, "check that the token may create and write databases (a read-scaling token cannot "
				"write; a database migrated from an old version may be read-only)");
	}
	buf_release(&sql);
	return err->code;
}

bool
dest_exists(const pg2md_config *cfg)
{
	struct stat st;
	return pg2md_config_motherduck(cfg) || (cfg->duckdb_path && stat(cfg->duckdb_path, &st) == 0);
}

pg2md_code
dest_open(pg2md_dest *d, const pg2md_config *cfg, int threads, pg2md_error *err)
{
	duckdb_config dc;
	char *open_err = NULL;
	char tbuf[16];
	const char *path;
	bool md = pg2md_config_motherduck(cfg);

	memset(d, 0, sizeof(*d));
	d->motherduck = md;
	d->md_rules = md || md_rules_forced();
	if (duckdb_create_config(&dc) == DuckDBError)
		return pg2md_fail(err, PG2MD_ERR_RUN, "could not create a DuckDB configuration");
	d->threads = duck_threads(threads);
	snprintf(tbuf, sizeof(tbuf), "%d", d->threads);
	duckdb_set_config(dc, "threads", tbuf);
	duckdb_set_config(dc, "preserve_insertion_order", "false");
	if (!memory_unbounded)
		duckdb_set_config(dc, "memory_limit", duck_memory_limit());
	if (md) {
		if (dest_open_motherduck(d, cfg, dc, err)) {
			duckdb_destroy_config(&dc);
			dest_close(d);
			return err->code;
		}
	} else {
		path = cfg->duckdb_path;
		d->where = xasprintf("DuckDB file \"%s\"", path);
		if (!d->where) {
			duckdb_destroy_config(&dc);
			return pg2md_nomem(err);
		}
		struct stat before;
		bool created = stat(path, &before) != 0 && errno == ENOENT;
		if (duckdb_open_ext(path, &d->db, dc, &open_err) == DuckDBError) {
			pg2md_error why;
			pg2md_error_init(&why);
			if (!(open_err && strstr(open_err, "lock")) && dest_check_writable(cfg, &why))
				pg2md_error_merge(err, &why); /* the folder or file is not writable: say that */
			pg2md_fail(err, PG2MD_ERR_CONNECT, "could not open %s", d->where);
			pg2md_detail(err, "%s", open_err ? open_err : "unknown error");
			if (open_err && strstr(open_err, "lock"))
				pg2md_hint(err, "another process has the file open; DuckDB allows one writer process: "
						"close it (or wait for it) and run again");
			else
				pg2md_hint(err, "check that the folder exists and is writable, or set [destination.duckdb] "
						"credentials to another path");
			duckdb_free(open_err);
			duckdb_destroy_config(&dc);
			d->db = NULL; /* a failed open leaves nothing to close */
			dest_close(d);
			return err->code;
		}
		/* A new file is its owner's alone whatever the caller's umask (the command line's is
		 * 077; a program using the library may have another): it holds the source's data. */
		if (created)
			(void)chmod(path, 0600);
		/* The catalog of a file is its base name without extension. */
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		char *cat = xstrdup(base);
		if (!cat) {
			duckdb_destroy_config(&dc);
			dest_close(d);
			return pg2md_nomem(err);
		}
		char *dot = strrchr(cat, '.');
		if (dot && dot != cat)
			*dot = '\0';
		d->catalog = cat;
	}
	duckdb_destroy_config(&dc);
	if (duckdb_connect(d->db, &d->con) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_CONNECT, "could not connect to %s", d->where);
		dest_close(d);
		return err->code;
	}
	if (md && md_use_database(d, err)) {
		dest_close(d);
		return err->code;
	}
	return PG2MD_OK;
}

void
dest_close(pg2md_dest *d)
{
	if (d->con)
		duckdb_disconnect(&d->con);
	if (d->db)
		duckdb_close(&d->db);
	free(d->where);
	free(d->catalog);
	memset(d, 0, sizeof(*d));
}

pg2md_code
dest_prepare_dataset(pg2md_dest *d, const char *dataset, pg2md_error *err)
{
	pg2md_buf sql = PG2MD_BUF_INIT;
	pg2md_code result;

	buf_puts(&sql, "CREATE SCHEMA IF NOT EXISTS ");
	buf_ident(&sql, dataset);
	buf_puts(&sql, ";\nCREATE TABLE IF NOT EXISTS ");
	duck_qualified(&sql, dataset, "_dlt_loads");
	buf_puts(&sql, " (load_id VARCHAR NOT NULL, schema_name VARCHAR, status BIGINT NOT NULL, "
		       "inserted_at TIMESTAMP WITH TIME ZONE NOT NULL, schema_version_hash VARCHAR);\n"
		       "CREATE TABLE IF NOT EXISTS ");
	duck_qualified(&sql, dataset, "_dlt_pipeline_state");
	buf_puts(&sql, " (version BIGINT NOT NULL, engine_version BIGINT NOT NULL, pipeline_name VARCHAR NOT NULL, "
		       "state VARCHAR NOT NULL, created_at TIMESTAMP WITH TIME ZONE NOT NULL, version_hash VARCHAR, "
		       "_dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL);\nCREATE TABLE IF NOT EXISTS ");
	duck_qualified(&sql, dataset, "_dlt_version");
	buf_puts(&sql, " (version BIGINT NOT NULL, engine_version BIGINT NOT NULL, "
		       "inserted_at TIMESTAMP WITH TIME ZONE NOT NULL, schema_name VARCHAR NOT NULL, "
		       "version_hash VARCHAR NOT NULL, schema VARCHAR NOT NULL);");
	result = duck_exec(d->con, sql.data, "creating the dataset", err);
	buf_release(&sql);
	return result;
}

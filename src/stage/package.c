/* package.c — load package folders and their atomic state changes (see package.h). */
#include "stage/package.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "schema/manifest.h"
#include "util/buf.h"
#include "util/mem.h"

static const char *const state_dirs[] = {"extracting", "extracted", "normalized", "loaded"};

const char *
pkg_state_name(pkg_state s)
{
	return state_dirs[s];
}

char *
pkg_pipeline_dir(const pg2md_config *cfg)
{
	return xasprintf("%s/%s", cfg->pipelines_dir, cfg->pipeline_name);
}

char *
pkg_dir(const pg2md_config *cfg, pkg_state s, const char *load_id)
{
	return xasprintf("%s/%s/load/%s/%s", cfg->pipelines_dir, cfg->pipeline_name, state_dirs[s], load_id);
}

pg2md_code
mkdir_p(const char *path, int mode, pg2md_error *err)
{
	char *p = xstrdup(path);
	if (!p)
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
			pg2md_fail(err, PG2MD_ERR_RUN, "could not create folder \"%s\": %s", p, strerror(errno));
			free(p);
			return err->code;
		}
		*s = '/';
	}
	if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not create folder \"%s\": %s", p, strerror(errno));
		free(p);
		return err->code;
	}
	free(p);
	return PG2MD_OK;
}

pg2md_code
pkg_init_dirs(const pg2md_config *cfg, pg2md_error *err)
{
	for (int s = 0; s < 4; s++) {
		char *d = xasprintf("%s/%s/load/%s", cfg->pipelines_dir, cfg->pipeline_name, state_dirs[s]);
		pg2md_code result = d ? mkdir_p(d, 0700, err) : pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		free(d);
		if (result)
			return result;
	}
	return PG2MD_OK;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
pkg_list(const pg2md_config *cfg, pkg_state s, int *n)
{
	char *d = xasprintf("%s/%s/load/%s", cfg->pipelines_dir, cfg->pipeline_name, state_dirs[s]);
	DIR *dir = d ? opendir(d) : NULL;
	char **ids = xcalloc(1, sizeof(char *));
	int cap = 0;
	struct dirent *e;

	*n = 0;
	if (!d || !ids) {
		if (dir)
			closedir(dir);
		free(d);
		free(ids);
		return NULL;
	}
	free(d);
	if (!dir)
		return ids;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (*n + 1 >= cap) {
			char **more = xrealloc(ids, (size_t)(cap ? cap * 2 : 8) * sizeof(char *));
			if (!more)
				break;
			ids = more;
			cap = cap ? cap * 2 : 8;
		}
		if (!(ids[*n] = xstrdup(e->d_name)))
			break;
		ids[++(*n)] = NULL;
	}
	closedir(dir);
	if (e) {
		/* stopped early: memory ran out */
		pkg_list_free(ids);
		*n = 0;
		return NULL;
	}
	/* load ids are fixed-width timestamps: in name order, the oldest first */
	if (*n > 1)
		qsort(ids, (size_t)*n, sizeof(char *), id_cmp);
	return ids;
}

void
pkg_list_free(char **ids)
{
	for (int i = 0; ids && ids[i]; i++)
		free(ids[i]);
	free(ids);
}

char *
pkg_find(const pg2md_config *cfg, pkg_state s, pg2md_error *err)
{
	int n;
	char **ids = pkg_list(cfg, s, &n);
	char *oldest = n > 0 ? xstrdup(ids[0]) : NULL;
	if (!ids || (n > 0 && !oldest))
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	pkg_list_free(ids);
	return oldest;
}

char *
pkg_new_load_id(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return xasprintf("%lld.%06ld", (long long)tv.tv_sec, (long)tv.tv_usec);
}

pg2md_code
fsync_dir(const char *dir, pg2md_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return pg2md_fail(err, PG2MD_ERR_RUN, "could not open folder \"%s\": %s", dir, strerror(errno));
	if (fsync(fd) != 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not fsync folder \"%s\": %s", dir, strerror(errno));
		close(fd);
		return err->code;
	}
	close(fd);
	return PG2MD_OK;
}

pg2md_code
fsync_tree(const char *path, pg2md_error *err)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	if (!dir)
		return pg2md_fail(err, PG2MD_ERR_RUN, "could not open folder \"%s\": %s", path, strerror(errno));
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *f = xasprintf("%s/%s", path, e->d_name);
		struct stat st;
		if (!f) {
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			break;
		}
		if (stat(f, &st) == 0 && S_ISDIR(st.st_mode)) {
			fsync_tree(f, err);
		} else {
			int fd = open(f, O_RDONLY);
			if (fd < 0 || fsync(fd) != 0)
				pg2md_fail(err, PG2MD_ERR_RUN, "could not fsync \"%s\": %s", f, strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		free(f);
	}
	closedir(dir);
	if (pg2md_failed(err))
		return err->code;
	return fsync_dir(path, err);
}

pg2md_code
pkg_move(const pg2md_config *cfg, const char *load_id, pkg_state from, pkg_state to, pg2md_error *err)
{
	char *src = pkg_dir(cfg, from, load_id);
	char *dst = pkg_dir(cfg, to, load_id);
	char *parent = xasprintf("%s/%s/load/%s", cfg->pipelines_dir, cfg->pipeline_name, state_dirs[to]);
	char *oldparent = xasprintf("%s/%s/load/%s", cfg->pipelines_dir, cfg->pipeline_name, state_dirs[from]);
	pg2md_code result = PG2MD_OK;

	/* what was written while memory ran short may lack what a broken buffer held: never pass
	 * it on to the next stage (util/mem.h) */
	if (!src || !dst || !parent || !oldparent)
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
	else if (to != PKG_LOADED && mem_short())
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory: load package %s stays %s", load_id, state_dirs[from]);
	else if (fsync_tree(src, err) == PG2MD_OK) {
		if (rename(src, dst) != 0)
			pg2md_fail(err, PG2MD_ERR_RUN, "could not move package \"%s\" to \"%s\": %s", load_id,
				   state_dirs[to], strerror(errno));
		else if (fsync_dir(parent, err) == PG2MD_OK)
			fsync_dir(oldparent, err);
	}
	result = err->code;
	free(src);
	free(dst);
	free(parent);
	free(oldparent);
	return result;
}

void
pkg_remove_tree(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	if (!dir) {
		unlink(path);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *f = xasprintf("%s/%s", path, e->d_name);
		struct stat st;
		if (!f)
			break; /* memory ran out: what is left stays for the next removal */
		if (lstat(f, &st) == 0 && S_ISDIR(st.st_mode))
			pkg_remove_tree(f);
		else
			unlink(f);
		free(f);
	}
	closedir(dir);
	rmdir(path);
}

pg2md_code
json_write_atomic(const char *path, json_t *doc, pg2md_error *err)
{
	char *tmp = xasprintf("%s.tmp", path);
	char *dir = xstrdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	int fd;

	if (!tmp || !dir) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (slash)
		*slash = '\0';
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not write \"%s\": %s", tmp, strerror(errno));
		goto done;
	}
	if (json_dumpfd(doc, fd, JSON_INDENT(1) | JSON_SORT_KEYS) != 0 || fsync(fd) != 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not write \"%s\": %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto done;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not rename \"%s\": %s", tmp, strerror(errno));
		unlink(tmp);
		goto done;
	}
	if (slash)
		fsync_dir(dir, err);
done:
	free(tmp);
	free(dir);
	return err->code;
}

json_t *
json_read_file(const char *path, pg2md_error *err)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	if (!doc)
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read \"%s\": %s (line %d)", path, jerr.text, jerr.line);
	return doc;
}

char *
pkg_manifest_path(const char *dir)
{
	return xasprintf("%s/manifest.json", dir);
}

/* One package: {state, load_id, path, tables: [{name, rows}], rows}; manifest missing: tables and rows null. */
static json_t *
package_json(const pg2md_config *cfg, pkg_state s, const char *id)
{
	char *dir = pkg_dir(cfg, s, id);
	pg2md_error ignore;
	pg2md_manifest man;
	json_t *out = dir ? json_pack("{s:s, s:s, s:s}", "state", pkg_state_name(s), "load_id", id, "path", dir) : NULL;
	bool oom = !out;

	pg2md_error_init(&ignore);
	memset(&man, 0, sizeof(man));
	if (oom) {
		/* nothing to read it into */
	} else if (manifest_load(dir, &man, &ignore) == PG2MD_OK) {
		json_t *tables = json_array();
		json_int_t rows = 0;
		for (int i = 0; i < man.ntables; i++) {
			if (json_array_append_new(tables, json_pack("{s:s, s:I}", "name", man.tables[i].name, "rows",
								    (json_int_t)man.tables[i].rows)))
				oom = true;
			rows += man.tables[i].rows;
		}
		if (json_object_set_new(out, "tables", tables) || json_object_set_new(out, "rows", json_integer(rows)))
			oom = true;
	} else if (ignore.code == PG2MD_ERR_NOMEM) {
		oom = true; /* not a package without a manifest */
	} else if (json_object_set_new(out, "tables", json_null()) || json_object_set_new(out, "rows", json_null())) {
		oom = true;
	}
	manifest_free(&man);
	free(dir);
	if (oom) {
		json_decref(out);
		return NULL;
	}
	return out;
}

json_t *
pkg_pending_json(const pg2md_config *cfg, int *loaded)
{
	static const pkg_state pending[] = {PKG_EXTRACTING, PKG_EXTRACTED, PKG_NORMALIZED};
	json_t *arr = json_array();
	bool oom = !arr;
	int n;
	char **ids;

	for (size_t k = 0; !oom && k < sizeof(pending) / sizeof(pending[0]); k++) {
		ids = pkg_list(cfg, pending[k], &n);
		oom = !ids;
		for (int i = 0; !oom && i < n; i++)
			oom = json_array_append_new(arr, package_json(cfg, pending[k], ids[i])) != 0;
		pkg_list_free(ids);
	}
	if (!oom && !(ids = pkg_list(cfg, PKG_LOADED, loaded)))
		oom = true;
	else if (!oom)
		pkg_list_free(ids);
	if (oom) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/*
 * package.h — load packages on disk, as dlt lays them out.
 *
 *   <pipelines_dir>/<pipeline_name>/load/extracting/<load_id>/   being written (discarded after a crash)
 *                                      /extracted/<load_id>/    all Parquet files and the manifest written
 *                                      /normalized/<load_id>/   schema and load plan fixed
 *                                      /loaded/<load_id>/       in the destination (manifest kept, files removed)
 *
 * A package moves forward only when a stage has finished it: its files are
 * fsynced, then the folder is renamed and the parent folder fsynced, so after
 * a crash a package is wholly in one state.
 */
#ifndef PG2MD_PACKAGE_H
#define PG2MD_PACKAGE_H

#include <jansson.h>

#include "config/config.h"
#include "util/error.h"

typedef enum pkg_state {
	PKG_EXTRACTING,
	PKG_EXTRACTED,
	PKG_NORMALIZED,
	PKG_LOADED
} pkg_state;

const char *pkg_state_name(pkg_state s);

/* The paths and ids below are new strings (caller frees), NULL when memory ran out. */

/* <pipelines_dir>/<pipeline_name> (caller frees). */
char *pkg_pipeline_dir(const pg2md_config *cfg);
/* The folder of a package in a state (caller frees). */
char *pkg_dir(const pg2md_config *cfg, pkg_state s, const char *load_id);

/* Create the pipeline's folders (mode 0700). */
pg2md_code pkg_init_dirs(const pg2md_config *cfg, pg2md_error *err);

/* Oldest package id in a state, or NULL: none, or memory ran out (err set) (caller frees). */
char *pkg_find(const pg2md_config *cfg, pkg_state s, pg2md_error *err);

/* The package ids in a state, oldest first, NULL-terminated (free with pkg_list_free); *n counts
 * them.  The one place that reads a state's folder.  NULL when memory ran out (*n 0). */
char **pkg_list(const pg2md_config *cfg, pkg_state s, int *n);
void pkg_list_free(char **ids);

/*
 * The packages not loaded yet (extracting, extracted, normalized; oldest first in each), for
 * `pg2md info`: [{state, load_id, path, tables: [{name, rows}], rows}] from their manifests
 * (tables and rows null when a package has none).  *loaded: the loaded packages kept.  NULL
 * when memory ran out.
 */
json_t *pkg_pending_json(const pg2md_config *cfg, int *loaded);

/* A new load id: the time as seconds.microseconds, as dlt's (caller frees). */
char *pkg_new_load_id(void);

/* Move a package from one state to the next (fsync files, rename, fsync parent).  Never to
 * extracted or normalized while memory is short (util/mem.h): PG2MD_ERR_NOMEM. */
pg2md_code pkg_move(const pg2md_config *cfg, const char *load_id, pkg_state from, pkg_state to, pg2md_error *err);

/* Remove a folder and everything in it (as far as memory allows: what is left stays for the
 * next removal). */
void pkg_remove_tree(const char *path);

/* The manifest of the package in folder dir: its path, <dir>/manifest.json (caller frees).  It is
 * read, once and checked, by manifest_load (schema/manifest.h). */
char *pkg_manifest_path(const char *dir);

/* Write JSON atomically: temp file, fsync, rename, fsync the folder. mode 0600. */
pg2md_code json_write_atomic(const char *path, json_t *doc, pg2md_error *err);
json_t *json_read_file(const char *path, pg2md_error *err);

/* fsync every regular file in a folder, then the folder. */
pg2md_code fsync_tree(const char *dir, pg2md_error *err);
pg2md_code fsync_dir(const char *dir, pg2md_error *err);

/* mkdir -p with mode. */
pg2md_code mkdir_p(const char *path, int mode, pg2md_error *err);

#endif

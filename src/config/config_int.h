/*
 * config_int.h — private to src/config: the shapes of the key tables that
 * config_keys.c fills, the loader state one pg2md_config_load() call works
 * on, and the functions the loader's files share (cfg_*).  Nothing outside
 * src/config includes this; the public interface is config.h.
 */
#ifndef PG2MD_CONFIG_INT_H
#define PG2MD_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/toml_bridge.h"
#include "util/log.h"

typedef enum key_type {
	KT_STRING,    /* text */
	KT_NAME,      /* text usable in a file name: no '/', not "." or ".." */
	KT_CHOICE,    /* one of choices[], stored as written in choices[] */
	KT_INT,       /* int, at least min */
	KT_INT64,     /* int64_t, at least min */
	KT_PORT,      /* int 1..65535 */
	KT_BOOL,
	KT_LIST,      /* pg2md_strlist: array, '["a","b"]' or "a, b" */
	KT_DISP,      /* pg2md_disposition */
	KT_PATH,      /* a folder; relative to project_dir */
	KT_LOGLEVEL,  /* DEBUG … CRITICAL, stored upper case */
	KT_LOGFORMAT, /* "TEXT" or "JSON"; dlt's format strings count as TEXT */
	KT_DRIVER,    /* drivername: postgresql[+driver] */
	KT_PG_URL,    /* source connection string; fills the credential fields */
	KT_MD_URL,    /* "md:db?motherduck_token=…"; fills token and database */
	KT_DUCKDB     /* local DuckDB file; relative to project_dir */
} key_type;

#define KEY_SECRET   0x01 /* never shown */
#define KEY_EMPTY_OK 0x02 /* "" means unset rather than an error */

#define MAX_ALIASES 5

typedef struct config_key {
	const char *name;                   /* canonical dotted key */
	const char *aliases[MAX_ALIASES];   /* other names, NULL-terminated */
	key_type type;
	const char *def;                    /* default as text; NULL: unset or derived */
	size_t offset;                      /* field in pg2md_config */
	unsigned flags;
	int64_t min;                        /* KT_INT / KT_INT64 */
	const char *const *choices;         /* KT_CHOICE */
	const char *flag;                   /* command-line flag, for messages */
} config_key;

/* Per-table keys: [sources.sql_database.<table>] <name> = … */
typedef enum table_key_type {
	TK_TEXT,  /* any scalar, as text */
	TK_LIST,  /* a string or an array of them */
	TK_DISP,
	TK_ORDER, /* "asc" or "desc" */
	TK_CHOICE /* one of the key's choices */
} table_key_type;

typedef struct table_key {
	const char *name;
	table_key_type type;
	size_t offset;
	const char *canonical; /* for aliases: the name provenance uses */
	const char *const *choices; /* TK_CHOICE */
} table_key;

/*
 * Keys dlt knows and pg2md does not use: accepted, with a note at DEBUG (or
 * WARNING when ignoring them changes what the user gets).  A name ending in
 * ".*" covers everything below it.
 */
typedef struct ignored_key {
	const char *name;
	pg2md_log_level level;
	const char *why;
} ignored_key;

extern const config_key pg2md_config_keys[];
extern const int pg2md_n_config_keys;

extern const table_key pg2md_table_keys[];
extern const int pg2md_n_table_keys;

extern const ignored_key pg2md_ignored_keys[];
extern const int pg2md_n_ignored_keys;

/* Per-table keys dlt knows and pg2md does not use (relative to the table). */
extern const ignored_key pg2md_ignored_table_keys[];
extern const int pg2md_n_ignored_table_keys;

/* Sub-tables of [sources.sql_database] that are not per-table sections. */
extern const char *const pg2md_source_sections[];

extern const char *const pg2md_disposition_choices[];
extern const char *const pg2md_numeric_fallback_choices[];
extern const char *const pg2md_char_padding_choices[];
extern const char *const pg2md_merge_strategy_choices[];

/* ----------------------------------------------------------------------
 * The loader
 * ---------------------------------------------------------------------- */

/* A value as it arrived: from a TOML entry, an environment variable or a flag. */
typedef struct raw_value {
	tb_kind kind;        /* TB_STRING for environment and flags */
	const char *text;    /* scalars */
	char *const *items;  /* TB_ARRAY */
	int n_items;
	bool nested;
	bool from_text;      /* environment or flag: may spell a list, number, … */
	pg2md_origin origin;
	const char *name;    /* key as written, environment variable or flag */
	const char *file;    /* files only */
	int line;
} raw_value;

/* Loader state for one pg2md_config_load() call. */
typedef struct loader {
	pg2md_config *cfg;
	pg2md_error *err;
	char *const *envp;
	/* for the "set twice in one layer" warning */
	struct key_state {
		pg2md_origin origin;
		int prio;
		char *name;
		char *where;
	} *state;                 /* one per pg2md_config_keys[] */
	/* per table section: where it was first seen (parallel to cfg->table_cfg) */
	char **table_where;
	/* SOURCES__SQL_DATABASE__<T>__<KEY> variables, applied once tables are known */
	struct env_table {
		const char *var;
		char *table;
		int tk;
		const char *value;
	} *env_tables;
	int n_env_tables;
	bool oom;
} loader;

/* One pending assignment of a layer. */
typedef struct assignment {
	int prio;
	int seq;
	int ki;          /* config key, or -1 */
	int tk;          /* table key, or -1 */
	const char *table;
	const char *qkey; /* credentials query parameter, when ki and tk are -1 */
	raw_value rv;
} assignment;

/*
 * What the loader's files share, by the file that defines it (each one is
 * described there).
 */

/* config_util.c */
char *cfg_xstrdup(loader *L, const char *s);
char *cfg_xprintf(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cfg_set_string(loader *L, char **field, const char *value);
void cfg_strlist_clear(pg2md_strlist *l);
bool cfg_strlist_add(loader *L, pg2md_strlist *l, const char *s);
int cfg_strlist_find(const pg2md_strlist *l, const char *s);
bool cfg_starts_with(const char *s, const char *prefix);
int cfg_count_dots(const char *s);
void cfg_env_name(const char *key, char *out, size_t n);
const char *cfg_env_get(char *const *envp, const char *name);
void cfg_trim(char *s);
char *cfg_where_of(loader *L, const raw_value *rv);
void cfg_loc_phrase(const raw_value *rv, char *out, size_t n);
const char *cfg_shown_key(const raw_value *rv, const char *canonical);
pg2md_code cfg_bad_value(loader *L, const char *key, bool secret, const raw_value *rv, const char *expected);
void cfg_choices_phrase(const char *const *choices, char *out, size_t n);
char *cfg_project_path(loader *L, const char *path);

/* config_prov.c */
void cfg_set_prov(loader *L, const char *key, const char *value, bool secret, pg2md_origin origin, const char *where);
void cfg_render_list(const pg2md_strlist *l, char *out, size_t n);
void cfg_record_key(loader *L, int ki, pg2md_origin origin, const char *where);

/* config_value.c */
pg2md_code cfg_value_text(loader *L, const char *key, bool secret, const raw_value *rv, const char *expected,
			  const char **out);
pg2md_code cfg_value_int(loader *L, const char *key, bool secret, const raw_value *rv, int64_t min, int64_t max,
			 int64_t *out);
pg2md_code cfg_value_bool(loader *L, const char *key, const raw_value *rv, bool *out);
pg2md_code cfg_value_list(loader *L, const char *key, const raw_value *rv, pg2md_strlist *out);

/* config_conn.c */
void cfg_query_set(loader *L, const char *key, const char *value, pg2md_origin origin, const char *where);
int cfg_key_index(const char *name);
pg2md_code cfg_apply_pg_url(loader *L, int ki, const raw_value *rv);
pg2md_code cfg_apply_md_url(loader *L, int ki, const raw_value *rv);

/* config_apply.c */
pg2md_code cfg_apply_key(loader *L, int ki, const raw_value *rv);

/* config_table.c */
pg2md_table_config *cfg_table_section(loader *L, const char *name, const char *where);
bool cfg_is_column_hint(const char *hint);
pg2md_code cfg_apply_column_hint(loader *L, const char *table, const char *column, const char *hint,
				 const raw_value *rv);
int cfg_table_key_index(const char *name);
pg2md_code cfg_apply_table_key(loader *L, const char *table, int tk, const raw_value *rv);

/* config_unknown.c */
void cfg_warn_unknown(const tb_entry *e, const char *file);
const ignored_key *cfg_find_ignored(const ignored_key *list, size_t n, const char *key);
void cfg_note_ignored(const ignored_key *ig, const char *key, const char *file, int line);

/* config_file.c */
int cfg_assignment_prio(int ki, const char *name);
pg2md_code cfg_apply_assignments(loader *L, assignment *as, int n);
bool cfg_source_known_name(const char *name);
pg2md_code cfg_load_file(loader *L, const char *path, pg2md_origin origin);

/* config_env.c */
pg2md_code cfg_apply_env_token_fallback(loader *L);
pg2md_code cfg_apply_env(loader *L);
pg2md_code cfg_apply_env_tables(loader *L);
pg2md_code cfg_apply_flags(loader *L, const pg2md_config_flags *flags);

/* config_merge.c */
bool cfg_parse_timestamp(const char *in, char *out, size_t outsz);
pg2md_code cfg_check_merge_options(loader *L);

/* config_finish.c */
pg2md_code cfg_apply_defaults(loader *L);
pg2md_code cfg_finish(loader *L);

#endif

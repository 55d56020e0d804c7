/*
 * config_int.h — private to src/config: the shapes of the key tables that
 * config_keys.c fills and config.c works from.  Nothing outside src/config
 * includes this; the public interface is config.h.
 */
#ifndef PG2MD_CONFIG_INT_H
#define PG2MD_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
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

#endif

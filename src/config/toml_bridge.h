/*
 * toml_bridge.h — the C face of pg2md's one C++ file: parse a TOML document
 * with toml++ and flatten it into a list of leaf entries.
 *
 * Every value in the document becomes one entry: its key path (each part as
 * written, so a quoted part holding a dot stays one part), its kind, the value
 * rendered as text (arrays: each element rendered), and where it was written.
 * Empty tables are entries too (kind TB_TABLE), so a section with no keys is
 * still seen.  Entries come in the order they appear in the file.
 *
 * All key resolution happens in C (config.c); this file only knows TOML.
 * Everything returned is allocated with malloc() and released by
 * tb_doc_release().
 */
#ifndef PG2MD_TOML_BRIDGE_H
#define PG2MD_TOML_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tb_kind {
	TB_STRING,
	TB_INTEGER,
	TB_FLOAT,
	TB_BOOLEAN,
	TB_DATE,
	TB_TIME,
	TB_DATETIME,
	TB_ARRAY,
	TB_TABLE /* an empty table: [section] with no keys */
} tb_kind;

typedef struct tb_entry {
	char **parts;   /* key path, e.g. {"sources", "sql_database", "workers"} */
	int n_parts;
	char *key;      /* the parts joined with '.', a part quoted when it needs it */
	tb_kind kind;
	char *text;     /* scalar rendered as text; NULL for arrays and tables */
	char **items;   /* TB_ARRAY: each element rendered; NULL for nested ones */
	int n_items;
	bool nested;    /* TB_ARRAY: holds an array or a table */
	int line;       /* 1-based, of the key */
	int column;
} tb_entry;

typedef struct tb_doc {
	tb_entry *entries;
	int n;
} tb_doc;

typedef enum tb_result {
	TB_OK = 0,
	TB_SYNTAX = 1, /* *line, *column and desc describe the error */
	TB_NOMEM = 2
} tb_result;

/*
 * Parse text (len bytes; need not be NUL-terminated) named source in error
 * positions.  On TB_SYNTAX, desc (desc_len bytes) receives toml++'s
 * description and *line / *column the place.  doc is filled only on TB_OK.
 */
tb_result tb_parse(const char *text, size_t len, const char *source, tb_doc *doc,
		   char *desc, size_t desc_len, int *line, int *column);

void tb_doc_release(tb_doc *doc);

#ifdef __cplusplus
}
#endif

#endif

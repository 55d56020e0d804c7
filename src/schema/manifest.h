/*
 * manifest.h — a load package's manifest.json as a typed struct: what the package holds and
 * how to load it.
 *
 * The extract stage builds it (stage/manifest.c), normalize may rewrite a table's files and
 * columns, the load reads it (stage/load.c and the destination's SQL, dest/load.h).  The file
 * is parsed and checked once, by manifest_parse(); every reader then takes the struct, so a
 * damaged package fails with one clear message naming the field instead of a NULL deep in the
 * load.  manifest_to_json() is the one writer: the file's format is defined in this module
 * (keys in the order the previous releases wrote them, so a package written by one release is
 * read, and rewritten, by the next).  Here because both the stage and the destination read it
 * (docs/internals/architecture.md).
 */
#ifndef PG2MD_SCHEMA_MANIFEST_H
#define PG2MD_SCHEMA_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* One column as it is staged and loaded. */
typedef struct manifest_column {
	char *name;          /* at the source (a transform's output: its own name) */
	char *dest_name;     /* in the destination */
	char *pg_type;       /* format_type(), "(transform)" for a transform's column; may be NULL */
	char *duck_type;     /* the destination type */
	bool nullable;
	char *staged_as;     /* NULL, or how the Parquet file holds it ("interval_struct") */
	bool measured;       /* its type was widened from the values read */
	char *char_padding;  /* NULL, or "trim": character(n) without its pad blanks */
	char *lineage;       /* NULL, or "load_id" / "dlt_id": a column dlt's lineage adds */
} manifest_column;

/* scd2's settings as the load applies them (stage/manifest.c, scd2_json). */
typedef struct manifest_scd2 {
	char *valid_from;
	char *valid_to;
	char *hash_column;
	char *active;        /* valid-to of active rows; NULL: SQL NULL */
	char *boundary;      /* the instant versions are retired and opened at */
	char *row_version;   /* the user's row version column, or NULL (the hash) */
} manifest_scd2;

/* The incremental cursor of a table read incrementally (present: false otherwise). */
typedef struct manifest_incremental {
	bool present;
	char *cursor_path;   /* the cursor column at the source */
	char *cursor;        /* and in the destination */
	char *initial_value; /* each of these may be NULL */
	char *start_value;
	char *last_value;
	bool start_closed;
	char *previous_last_value;
} manifest_incremental;

/* One table of the package. */
typedef struct manifest_table {
	char *name;            /* at the source */
	char *dest_name;
	char *disposition;     /* "replace", "append" or "merge" */
	bool key_unique;       /* the rows hold no two of a primary key (one snapshot of the source's key) */
	char **primary_key;    /* destination names */
	int npk;
	bool has_merge_key;
	char **merge_key;
	int nmerge_key;
	char *hard_delete;     /* each NULL when not set */
	char *merge_strategy;
	char *dedup_sort;
	char *dedup_sort_order;
	manifest_scd2 *scd2;   /* NULL: not scd2 */
	manifest_column *cols;
	int ncols;
	char *transform;       /* the transform left for normalize, or NULL */
	manifest_column *transform_cols;
	int ntransform_cols;
	char **files;          /* the staged Parquet files, relative to the package */
	int64_t *file_rows;    /* the rows of each */
	int nfiles;
	int64_t rows, bytes, file_bytes, lossy;
	bool has_window;       /* window_bytes/window_rows were measured (a package of an older pg2md: no) */
	int64_t window_bytes;  /* the most COPY bytes in 2048 consecutive rows of one task */
	int64_t window_rows;   /* and their rows */
	int tasks, retries;
	manifest_incremental incremental;
	double seconds;
	bool transformed;      /* normalize applied the transform: */
	int64_t transformed_rows;
	char *transformed_at;
} manifest_table;

typedef struct pg2md_manifest {
	char *load_id;
	char *pipeline_name;   /* NULL when absent */
	char *dataset_name;
	char *mode;            /* "staged" or "direct"; NULL when absent */
	char *source_schema;   /* NULL when absent */
	manifest_table *tables;
	int ntables;
} pg2md_manifest;

/*
 * Check doc, a manifest, and fill out (zeroed first; release it with manifest_free, also after
 * a failure).  A field that is missing or of the wrong type fails err with a message naming
 * the package (where: its folder, or any words saying what was read) and the field.
 */
pg2md_code manifest_parse(const json_t *doc, const char *where, pg2md_manifest *out, pg2md_error *err);
/* manifest_parse of <dir>/manifest.json (a file that is not JSON fails the same way). */
pg2md_code manifest_load(const char *dir, pg2md_manifest *out, pg2md_error *err);
void manifest_free(pg2md_manifest *m);

/* The manifest as its file holds it (a new reference), and one table of it. */
json_t *manifest_to_json(const pg2md_manifest *m);
json_t *manifest_table_to_json(const manifest_table *t);
json_t *manifest_column_to_json(const manifest_column *c);

/* A deep copy of table src into dst (release it with manifest_table_free).  false: out of
 * memory, dst is left empty (zeroed, nothing to release; the caller fails with PG2MD_ERR_NOMEM). */
bool manifest_table_copy(manifest_table *dst, const manifest_table *src);
void manifest_table_free(manifest_table *t);
/* Release n columns and the array that holds them. */
void manifest_columns_free(manifest_column *cols, int n);
/* The column of t named dest_name in the destination (the last that has it), or NULL. */
const manifest_column *manifest_find_column(const manifest_table *t, const char *dest_name);

#endif

/*
 * load.h — what loading a package asks of the destination: the SQL of each write disposition
 * (load_sql.c), schema evolution (evolve.c), DuckDB's memory budget for tables of large rows
 * (budget.c) and dlt's system tables (dlt_tables.c).
 *
 * Everything here speaks DuckDB and the manifest only (a table as the package's manifest
 * describes it: schema/manifest.h); the stage that drives a load (stage/load.c) owns the
 * transaction around it.
 */
#ifndef PG2MD_DEST_LOAD_H
#define PG2MD_DEST_LOAD_H

#include <duckdb.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "dest/duck.h"
#include "schema/manifest.h"
#include "util/buf.h"
#include "util/error.h"

/* A direct run's work table for a destination table: the workers insert into it, the load
 * renames it (replace) or reads it (append, merge). */
#define NEW_TABLE_PREFIX "_pg2md_new__"

/* ---- load_sql.c: SQL per write disposition ---------------------------------------------- */

/*
 * Out of memory while building a statement: b is made broken as util/buf.c makes a buffer whose
 * growth failed, so whoever runs it fails with PG2MD_ERR_NOMEM (buf_is_oom) instead of running a
 * statement with a piece missing.  load_buf_taint: b broken when a piece built apart (part) is.
 */
static inline void
load_buf_break(pg2md_buf *b)
{
	buf_release(b);
	b->data = (char *)buf_oom_text;
}

static inline void
load_buf_taint(pg2md_buf *b, const pg2md_buf *part)
{
	if (buf_broken(part))
		load_buf_break(b);
}

/* "fn([<pkg_path>/<file>, …])" for a package's files (paths relative to it). */
void parquet_files_call(pg2md_buf *b, const char *fn, const char *pkg_path, char *const *files, int nfiles);
/* "read_parquet([<pkg_path>/<file>, …])" */
void read_parquet_files(pg2md_buf *b, const char *pkg_path, char *const *files, int nfiles);
/* Rows of at least this many bytes on average (as read) are "large" for a merge. */
#define MERGE_LARGE_ROW 4096
bool merge_rows_large(const manifest_table *t);
/* The SELECT list that casts staged columns to their destination types (alias: their table's, or NULL). */
void select_list(pg2md_buf *b, const manifest_column *cols, int ncols, const char *alias);
/*
 * Append to sql the statements that load table t (of a package's manifest) into dataset: from its
 * staged files under pkg_path, or (direct) from its work table.  batch_size bounds the rows of
 * one INSERT ([destination.motherduck] batch_size; 0: no bound).
 */
pg2md_code load_table_sql(pg2md_buf *sql, const manifest_table *t, const char *dataset, const char *pkg_path, bool direct,
			  int64_t batch_size, pg2md_error *err);

/* ---- md_limits.c: loading under MotherDuck's rules (docs/motherduck.md, "Limits") ------- */

/* MotherDuck's cap on one statement's text (dlt's: 512 KB). */
#define MD_STATEMENT_MAX (512 * 1024)
/* Where a package's load steps are recorded (load_id, table, step) until it is loaded. */
#define MD_STEPS_TABLE "_pg2md_load_steps"

/*
 * Table t's staged files in steps: each a read_parquet([...]) of at most batch_size rows (a
 * larger file is read in ranges of its rows, by file_row_number) whose INSERT into the work table
 * stays under MD_STATEMENT_MAX.  Returns a JSON array of {"sql": the INSERT, "rows": n}; NULL
 * when memory ran out (PG2MD_ERR_NOMEM).
 */
json_t *md_load_steps(const manifest_table *t, const char *dataset, const char *pkg_path, int64_t batch_size);
/* CREATE OR REPLACE of table t's work table (NEW_TABLE_PREFIX), in its destination types. */
void md_work_table_sql(pg2md_buf *sql, const manifest_table *t, const char *dataset);
/* Under MotherDuck's rules: fail (what: what was being done) if a statement of sql is over
 * MD_STATEMENT_MAX, before it is sent (MotherDuck would refuse it; a local file enforces it
 * under PG2MD_TEST_MOTHERDUCK_RULES). */
pg2md_code md_statements_check(const char *sql, const char *what, pg2md_error *err);
/* Under MotherDuck's rules, --direct: fail if sql, one statement the writer sends for table (what:
 * "its copy", "its work table"), is over MD_STATEMENT_MAX, naming the table and the fix. */
pg2md_code md_table_statement_check(const char *sql, const char *table, const char *what, pg2md_error *err);
/* Pieces of a long text value are at most this many bytes (MD_TEXT_PIECE). */
#define MD_TEXT_PIECE (128 * 1024)
/*
 * Append text (no newline in it: JSON text) as an SQL value to value: its literal; or under
 * MotherDuck's rules, when its literal could carry a statement past MD_STATEMENT_MAX, the
 * statements that write it in pieces into the temporary table _pg2md_text_<part> are appended
 * to pre (each ending ";\n", each under the cap), and value gets the subquery that joins them
 * in order.  pre's statements must run before value's, in the same transaction.
 */
void md_text_value(pg2md_buf *pre, pg2md_buf *value, bool md_rules, const char *part, const char *text);
/* The manifest table t as the load reads it from the work table, into out (manifest_table_free). */
void md_table_from_work(manifest_table *out, const manifest_table *t);

/* ---- evolve.c: schema evolution --------------------------------------------------------- */

/*
 * Each table as the newest schema holding it describes it (a JSON array, owned by the caller):
 * _dlt_version keeps a schema per change, and a run of some tables stores only those.  NULL when
 * there is none (a first load, or a dataset dlt wrote).
 */
json_t *stored_schema_tables(duckdb_connection con, const char *dataset);
/*
 * Schema evolution for append and merge: columns new at the source are added, widened types are
 * widened, columns gone from the source become nullable.  stored: stored_schema_tables().
 */
pg2md_code evolve_table(duckdb_connection con, const char *dataset, const manifest_table *t, json_t *stored,
			pg2md_error *err);

/* ---- budget.c: DuckDB's memory budget for rows of several MB ------------------------------ */

/* DuckDB's budget during a load: the largest raised so far, whether one was raised, whether a
 * table of large rows was loaded (its statement and the commit run on one thread). */
typedef struct load_budget {
	int64_t need;
	bool raised;
	bool big;
} load_budget;

/*
 * Before loading table t: raise the budget and go to one thread when its rows need it (what
 * names the table for the message).  Returns whether the table's rows are large.
 */
bool load_budget_table(pg2md_dest *dest, const manifest_table *t, const char *dataset, const char *pkg_path, bool direct,
		       const char *what, load_budget *lb);

/* ---- dlt_tables.c: _dlt_loads, _dlt_pipeline_state, _dlt_version ------------------------- */

/* *found: whether _dlt_loads of dataset already holds load_id (a package loaded before). */
pg2md_code dlt_load_recorded(duckdb_connection con, const char *dataset, const char *load_id, bool *found,
			     pg2md_error *err);
/*
 * The newest row's column of dlt table table (_dlt_version, _dlt_pipeline_state) in dataset, as
 * JSON: SELECT column … [WHERE pipeline_name = …] ORDER BY version DESC LIMIT 1.  *out is NULL
 * when there is no row or its text is not JSON; a failed query (a missing table) fails err.
 */
pg2md_code dlt_newest_json(duckdb_connection con, const char *dataset, const char *table, const char *column,
			   const char *pipeline_name, json_t **out, pg2md_error *err);
/* The newest version in _dlt_pipeline_state of dataset, 0 if none. */
pg2md_code dlt_state_version(duckdb_connection con, const char *dataset, long long *version, pg2md_error *err);
/*
 * Record a load: the stored schema of the manifest's tables (ntables of them) in _dlt_version (a new row only when
 * it changed), state as version state_version in _dlt_pipeline_state, and load_id in _dlt_loads.
 * Under MotherDuck's rules (d->md_rules) every statement stays under MD_STATEMENT_MAX, checked.
 */
pg2md_code dlt_record_load(pg2md_dest *d, const char *dataset, const char *pipeline_name,
			   const char *load_id, const manifest_table *tables, int ntables, json_t *state,
			   long long state_version,
			   pg2md_error *err);
/*
 * Append "INSERT INTO <dataset>._dlt_version SELECT …" of a new version (the newest + 1) of the
 * stored schema schema_text with its hash, without a terminator (a caller may add a WHERE).
 * md_rules: a long schema_text is written in pieces first (md_text_value).
 */
void dlt_version_insert(pg2md_buf *sql, const char *dataset, const char *hash, const char *schema_text,
			bool md_rules);
/*
 * Append "INSERT INTO <dataset>._dlt_pipeline_state SELECT …" of state_text as version (< 0:
 * the newest + 1), with hash and load_id, without a terminator (md_rules: as dlt_version_insert).
 */
void dlt_state_insert(pg2md_buf *sql, const char *dataset, long long version, const char *pipeline_name,
		      const char *state_text, const char *hash, const char *load_id, bool md_rules);

#endif

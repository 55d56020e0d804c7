/*
 * config.h — pg2md's resolved configuration.
 *
 * pg2md reads dlt's project files unchanged: <project>/.dlt/config.toml and
 * <project>/.dlt/secrets.toml, with the guide's key names and dlt's real
 * names as aliases, then environment variables with dlt's names
 * (SOURCES__SQL_DATABASE__CREDENTIALS__PASSWORD, LOAD__WORKERS, …), then
 * command-line flags.  Every resolved value remembers where it came from so
 * `pg2md info` can show it (file:line, environment variable, flag, default).
 *
 * All strings are owned by the config and freed by pg2md_config_free().
 */
#ifndef PG2MD_CONFIG_H
#define PG2MD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* Where a value came from. */
typedef enum pg2md_origin {
	PG2MD_ORIGIN_DEFAULT = 0,
	PG2MD_ORIGIN_CONFIG,  /* .dlt/config.toml */
	PG2MD_ORIGIN_SECRETS, /* .dlt/secrets.toml */
	PG2MD_ORIGIN_ENV,     /* environment variable */
	PG2MD_ORIGIN_FLAG     /* command line */
} pg2md_origin;

typedef struct pg2md_provenance {
	char *key;          /* canonical dotted key, e.g. "sources.sql_database.workers" */
	char *value;        /* rendered value; secrets rendered as "********" */
	pg2md_origin origin;
	char *where;        /* "/p/.dlt/config.toml:12", "LOAD__WORKERS", "--tables", "default" */
	bool secret;
} pg2md_provenance;

typedef enum pg2md_disposition {
	PG2MD_DISP_DEFAULT = 0, /* inherit: per table -> global -> replace */
	PG2MD_DISP_REPLACE,
	PG2MD_DISP_APPEND,
	PG2MD_DISP_MERGE
} pg2md_disposition;

typedef struct pg2md_strlist {
	char **items;
	int n;
} pg2md_strlist;

/*
 * [sources.sql_database.<table>.columns.<column>] — dlt's column hints that
 * change a column: its destination name, its type, its nullability.
 */
typedef struct pg2md_column_hint {
	char *column;                  /* the source column (a query table: an output column of the query) */
	char *name;                    /* name = "…": the destination name (the naming convention applies), or NULL */
	char *data_type;               /* data_type = "…": one of dlt's type names (pg2md_dlt_types), or NULL */
	int precision;                 /* precision = N (decimal, bigint), 0: unset */
	int scale;                     /* scale = N (decimal), -1: unset */
	int nullable;                  /* nullable = true/false, -1: unset */
	char *where;                   /* where the first of these keys was set ("/p/.dlt/config.toml:12") */
} pg2md_column_hint;

/* dlt's data type names a data_type hint accepts, NULL-terminated. */
extern const char *const pg2md_dlt_types[];

/* [sources.sql_database.<table>] — per-table settings. */
typedef struct pg2md_table_config {
	char *name;                    /* the table, as written in config */
	pg2md_disposition write_disposition;
	pg2md_strlist primary_key;     /* primary_key = "id" or ["a","b"] */
	pg2md_strlist merge_key;       /* merge_key = "day" or [...]: merge replaces whole groups */
	pg2md_strlist included_columns;
	pg2md_strlist excluded_columns;
	char *cursor_path;             /* incremental.cursor_path */
	char *initial_value;           /* incremental.initial_value, as text */
	char *end_value;               /* incremental.end_value */
	char *row_order;               /* incremental.row_order: "asc"|"desc"|NULL */
	char *lag;                     /* incremental.lag: how far to look back from the last value */
	char *range_start;             /* incremental.range_start: "closed" (default) or "open" */
	char *range_end;               /* incremental.range_end: "open" (default) or "closed" */
	char *on_cursor_value_missing; /* incremental.on_cursor_value_missing: "raise" (default), "include", "exclude" */
	char *hard_delete;             /* columns.<c>.hard_delete = true: merge deletes rows flagged in <c> */
	char *dedup_sort;              /* columns.<c>.dedup_sort: merge keeps the duplicate of a key ordered first by <c> */
	char *dedup_sort_order;        /* "asc" or "desc" */
	char *where;                   /* row filter (SQL) */
	char *query;                   /* full replacement query */
	char *merge_strategy;          /* write_disposition.strategy: "delete-insert" (default), "upsert",
	                                * "insert-only" or "scd2" */
	/* scd2 (write_disposition = { disposition = "merge", strategy = "scd2", … }), dlt's names */
	pg2md_strlist validity_column_names; /* [valid-from, valid-to]; default _dlt_valid_from, _dlt_valid_to */
	char *active_record_timestamp; /* valid-to of active rows; NULL: SQL NULL (dlt's default) */
	char *boundary_timestamp;      /* the load's boundary; NULL: the load package's creation time */
	char *row_version_column_name; /* the column that identifies a row version; NULL: a row hash in _dlt_id */
	char *transform;               /* DuckDB SQL over "data" (stage/transform.h) */
	char *transform_stage;         /* where the transform runs: "extract" (default, as rows stream) or
	                                * "normalize" (over the package's staged Parquet files) */
	pg2md_column_hint *col_hints;  /* columns.<c>.name / data_type / precision / scale / nullable */
	int n_col_hints;
	char *numeric_fallback;        /* "varchar" or "double": overrides [sources.sql_database] numeric_fallback */
	char *char_padding;            /* "trim" or "keep": overrides [sources.sql_database] char_padding */
} pg2md_table_config;

typedef struct pg2md_config {
	/* project */
	char *project_dir;             /* folder holding .dlt/ (absolute) */
	char *config_path;             /* <project_dir>/.dlt/config.toml (may not exist) */
	char *secrets_path;            /* <project_dir>/.dlt/secrets.toml (may not exist) */
	char *pipelines_dir;           /* default <project_dir>/.pg2md/pipelines; [runtime] pipelines_dir / PIPELINES_DIR */
	char *pipeline_name;           /* [pipeline] pipeline_name, default "pg2md" */
	char *dataset_name;            /* [pipeline] dataset_name, default "pg2md_data" */
	char *destination;             /* "duckdb" or "motherduck": [pipeline] destination, else motherduck iff a token is set */

	/* [sources.sql_database] */
	char *schema;                  /* default "public" */
	pg2md_strlist tables;          /* tables / table_names; empty: every table of the schema
	                                * (source/catalog.h, catalog_table_names) */
	int source_workers;            /* workers / [sources.sql_database.extract] workers; default 4 */
	int pool_size;                 /* [postgres] pool_size; default = source_workers */
	bool direct;                   /* [sources.sql_database] direct / PG2MD direct mode; default false */
	bool overlap_load;             /* [sources.sql_database] overlap_load: staged, load finished tables during the extraction */
	char *numeric_fallback;        /* numerics DECIMAL cannot hold: "varchar" (default, exact text) or "double" */
	char *char_padding;            /* character(n) values: "trim" (default: as value::text, compared as
	                                * PostgreSQL compares them) or "keep" (the stored pad blanks) */
	bool include_views;            /* no table list: views and materialized views are copied too */
	char *repl_slot_name;          /* [sources.pg_replication] slot_name (pg2md follow); NULL: derived */
	char *repl_pub_name;           /* [sources.pg_replication] pub_name; NULL: derived */
	int64_t repl_lag_warning_mb;   /* [sources.pg_replication] lag_warning_mb: warn when the slot holds more
	                                * WAL than this (pg2md follow, pg2md info); 0 = never; default 5120 */
	bool repl_streaming;           /* [sources.pg_replication] streaming: ask for large transactions in
	                                * segments before they commit (protocol 2+, PostgreSQL 14+); default true */
	int repl_heartbeat_interval;   /* [sources.pg_replication] heartbeat_interval: seconds between the
	                                * pg_logical_emit_message pg2md follow writes while idle; 0 = none; default 60 */
	int repl_proto_version;        /* [sources.pg_replication] proto_version: pgoutput's protocol, 1 to 4;
	                                * 0 (default): 2 from PostgreSQL 14 (binary values), else 1 (text) */
	const char *import_snapshot;   /* not a key: set by pg2md follow, the run reads inside this exported
				        * snapshot (the replication slot's) instead of exporting its own */
	int lock_timeout;              /* [sources.sql_database] lock_timeout: seconds a statement waits for a table
	                                * lock (PostgreSQL's lock_timeout) before the run fails; 0 = forever; default 60 */

	/* credentials: fields, or a connection string; libpq PG* variables fill the rest */
	char *pg_conn_string;          /* credentials = "postgresql://…" (secret), as libpq accepts it
	                                * (dlt's "postgresql+psycopg2://" becomes "postgresql://"); already
	                                * parsed into the fields below, which agree with it and are what
	                                * to connect with (pg2md_config_pg_params) */
	char *pg_host, *pg_database, *pg_username, *pg_password, *pg_drivername;
	int pg_port;                   /* 0 = libpq's default */
	char pg_port_text[12];         /* pg_port as text, "" when 0 (for libpq) */
	pg2md_strlist pg_query_keys;   /* [...credentials.query] sslmode = "require", … passed to libpq */
	pg2md_strlist pg_query_values;

	/* [data_writer] */
	char *file_format;             /* format / loader_file_format: "parquet" (default) */
	int64_t file_max_items;        /* 0 = no limit */
	int64_t file_max_bytes;        /* 0 = no limit */
	int64_t buffer_max_items;      /* default 5000 as dlt */

	/* destinations */
	char *duckdb_path;             /* [destination.duckdb] credentials; default <project>/<pipeline>.duckdb */
	char *md_conn_string;          /* [destination.motherduck] credentials = "md:db?motherduck_token=…" (secret), as written */
	char *md_token;                /* secret */
	char *md_database;             /* default "my_db" */
	int64_t batch_size;            /* [destination.motherduck] batch_size; default 1000000 */
	char *md_extension_path;       /* [destination.motherduck] extension_path: the motherduck extension file (offline install) */
	int md_connection_timeout;     /* [destination.motherduck] connection_timeout, seconds; 0 = none; default 60 */
	int64_t md_transaction_rows;   /* [destination.motherduck] transaction_rows: rows per load transaction; default 10000000 */
	int md_transaction_seconds;    /* [destination.motherduck] transaction_seconds: a step commits past this; default 50 */

	/* stages */
	int extract_workers;           /* [extract] workers, default 5 (dlt) */
	int normalize_workers;         /* [normalize] workers, default 1 */
	int load_workers;              /* [load] workers, default 20 (dlt) */

	/* [runtime] */
	char *log_level;               /* default "WARNING" */
	char *log_format;              /* "TEXT" (default) or "JSON" */
	bool dlthub_telemetry;         /* accepted, never acted on */
	char *metrics_file;            /* [runtime] metrics_file / --metrics-file: Prometheus text file written after each run */
	char *on_failure;              /* [runtime] on_failure: shell command run when a run fails */

	/* [schema] / [normalize.parquet_normalizer] */
	char *naming;                  /* "snake_case" (default) or "direct" */
	bool add_dlt_load_id;
	bool add_dlt_id;

	pg2md_disposition write_disposition; /* global default: replace (as the guide) */

	pg2md_table_config *table_cfg; /* per-table sections found */
	int n_table_cfg;

	pg2md_provenance *prov;        /* every resolved key, for `pg2md info` */
	int n_prov;
} pg2md_config;

/* Command-line overrides; NULL / 0 means "not given". */
typedef struct pg2md_config_flags {
	const char *project_dir;
	const char *tables;            /* comma separated */
	const char *write_disposition;
	const char *destination;
	const char *dataset_name;
	const char *pipeline_name;
	const char *log_level;
	const char *metrics_file;
	int direct;                    /* -1 not given, 0/1 */
} pg2md_config_flags;

/* Flags with nothing given: pg2md_config_flags f = PG2MD_CONFIG_FLAGS_INIT; */
#define PG2MD_CONFIG_FLAGS_INIT { .direct = -1 }

/*
 * Load and resolve the configuration: files, then environment, then flags.
 * envp is the environment to read (NULL: the process environment), so tests
 * can pass their own.  Warnings (unknown keys, with file and line) go to the
 * log.  On failure returns non-OK with err filled (code PG2MD_ERR_USAGE, or
 * PG2MD_ERR_NOMEM when memory ran out) and *out untouched.  A missing
 * .dlt/config.toml or secrets.toml is not an error by itself (values may come
 * from the environment), nor is a missing table list (every table of the
 * schema is copied, as dlt does).
 */
pg2md_code pg2md_config_load(pg2md_config **out, const pg2md_config_flags *flags,
			     char *const *envp, pg2md_error *err);

void pg2md_config_free(pg2md_config *cfg);

/* The per-table section for name, or NULL. */
const pg2md_table_config *pg2md_config_table(const pg2md_config *cfg, const char *name);

/* The hint of column (source name) of a table's section, or NULL. */
const pg2md_column_hint *pg2md_config_column_hint(const pg2md_table_config *tc, const char *column);

/* Effective numeric_fallback of a table ("varchar" or "double"): table section, else global. */
const char *pg2md_config_numeric_fallback(const pg2md_config *cfg, const char *table);

/* Does a table keep the pad blanks of its character(n) values? (char_padding = "keep") */
bool pg2md_config_char_keep(const pg2md_config *cfg, const char *table);

/* Does the pipeline load into MotherDuck (rather than a local DuckDB file)? */
bool pg2md_config_motherduck(const pg2md_config *cfg);

/* Effective disposition of a table: table section, else global, else replace. */
pg2md_disposition pg2md_config_disposition(const pg2md_config *cfg, const char *table);
/* Whether table is loaded with merge's scd2 strategy (history of every row version). */
bool pg2md_config_scd2(const pg2md_config *cfg, const char *table);
/* scd2's validity column k (0: valid from, 1: valid to) of table, as configured (dlt's
 * validity_column_names) or dlt's default (_dlt_valid_from, _dlt_valid_to); not yet normalized. */
const char *pg2md_config_validity_column(const pg2md_config *cfg, const char *table, int k);

const char *pg2md_disposition_name(pg2md_disposition d);
int pg2md_disposition_parse(const char *s); /* -1 when unknown */

/* "default", "config.toml", "secrets.toml", "environment", "flag". */
const char *pg2md_origin_name(pg2md_origin origin);

/* The provenance entry of a canonical dotted key, or NULL. */
const pg2md_provenance *pg2md_config_provenance(const pg2md_config *cfg, const char *key);

/*
 * Fill keys[] / values[] for PQconnectdbParams(keys, values, 0) from the
 * source credentials: host, port, dbname, user, password (only those set;
 * libpq's PG* variables and defaults fill the rest), then the query
 * parameters (sslmode, …), then fallback_application_name.  At most max - 1
 * pairs; the arrays are NULL-terminated.  The strings point into cfg.
 * Returns the number of pairs.
 */
int pg2md_config_pg_params(const pg2md_config *cfg, const char **keys, const char **values, int max);

#endif

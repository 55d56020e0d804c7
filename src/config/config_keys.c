/*
 * config_keys.c — every configuration key pg2md reads, declared once.
 *
 * config_keys[]: canonical dotted name, the other names dlt or the guide use
 * for it, type, default, field in pg2md_config, flags (secret, "" = unset),
 * lower bound, choices, command-line flag.  The environment variable of each
 * name follows from it (upper case, "." -> "__"), so adding a key here is all
 * it takes to read it from both files and the environment and to show it in
 * `pg2md info`.  table_keys[] does the same for [sources.sql_database.<table>]
 * sections; ignored_keys[] lists what dlt knows and pg2md accepts without
 * using.  docs/configuration.md describes each one for users: keep it in step.
 */
#include "config/config_int.h"

static const char *const destination_choices[] = {"duckdb", "motherduck", NULL};
static const char *const format_choices[] = {"parquet", "csv", NULL};
static const char *const naming_choices[] = {"snake_case", "direct", NULL};
const char *const pg2md_numeric_fallback_choices[] = {"varchar", "double", NULL};
const char *const pg2md_char_padding_choices[] = {"trim", "keep", NULL};
const char *const pg2md_merge_strategy_choices[] = {"delete-insert", "upsert", "insert-only", "scd2", NULL};
const char *const pg2md_disposition_choices[] = {"replace", "append", "merge", NULL};

#define OFF(field) offsetof(pg2md_config, field)

const config_key pg2md_config_keys[] = {
	/* [pipeline] */
	{"pipeline.pipeline_name", {"pipeline_name"}, KT_NAME, "pg2md", OFF(pipeline_name), 0, 0, NULL, "--pipeline-name"},
	{"pipeline.dataset_name", {"dataset_name"}, KT_STRING, "pg2md_data", OFF(dataset_name), 0, 0, NULL, "--dataset-name"},
	{"pipeline.destination", {NULL}, KT_CHOICE, NULL, OFF(destination), 0, 0, destination_choices, "--destination"},
	{"runtime.pipelines_dir", {"pipelines_dir", "pipeline.pipelines_dir"}, KT_PATH, NULL, OFF(pipelines_dir), 0, 0, NULL, NULL},

	/* [sources.sql_database] */
	{"sources.sql_database.schema", {"sources.schema"}, KT_STRING, "public", OFF(schema), 0, 0, NULL, NULL},
	{"sources.sql_database.tables", {"sources.sql_database.table_names", "sources.tables", "sources.table_names"},
	 KT_LIST, NULL, OFF(tables), 0, 0, NULL, "--tables"},
	{"sources.sql_database.workers", {"sources.sql_database.extract.workers"}, KT_INT, "4", OFF(source_workers), 0, 1, NULL, NULL},
	{"sources.sql_database.direct", {NULL}, KT_BOOL, "false", OFF(direct), 0, 0, NULL, "--direct"},
	{"sources.sql_database.overlap_load", {NULL}, KT_BOOL, "false", OFF(overlap_load), 0, 0, NULL, NULL},
	{"sources.sql_database.lock_timeout", {NULL}, KT_INT, "60", OFF(lock_timeout), 0, 0, NULL, NULL},
	{"sources.sql_database.write_disposition", {"sources.write_disposition"}, KT_DISP, "replace",
	 OFF(write_disposition), 0, 0, NULL, "--write-disposition"},
	{"sources.sql_database.numeric_fallback", {NULL}, KT_CHOICE, "varchar", OFF(numeric_fallback), 0, 0,
	 pg2md_numeric_fallback_choices, NULL},
	{"sources.sql_database.char_padding", {NULL}, KT_CHOICE, "trim", OFF(char_padding), 0, 0,
	 pg2md_char_padding_choices, NULL},
	{"sources.sql_database.include_views", {NULL}, KT_BOOL, "false", OFF(include_views), 0, 0, NULL, NULL},

	/* [sources.pg_replication]: pg2md follow (docs/cdc.md), dlt's pg_replication names */
	{"sources.pg_replication.slot_name", {NULL}, KT_STRING, NULL, OFF(repl_slot_name), 0, 0, NULL, NULL},
	{"sources.pg_replication.pub_name", {NULL}, KT_STRING, NULL, OFF(repl_pub_name), 0, 0, NULL, NULL},
	{"sources.pg_replication.lag_warning_mb", {NULL}, KT_INT64, "5120", OFF(repl_lag_warning_mb), 0, 0, NULL, NULL},
	{"sources.pg_replication.streaming", {NULL}, KT_BOOL, "true", OFF(repl_streaming), 0, 0, NULL, NULL},
	{"sources.pg_replication.heartbeat_interval", {NULL}, KT_INT, "60", OFF(repl_heartbeat_interval), 0, 0, NULL, NULL},
	{"sources.pg_replication.proto_version", {NULL}, KT_INT, "0", OFF(repl_proto_version), 0, 0, NULL, NULL},

	/* [sources.sql_database.credentials] */
	{"sources.sql_database.credentials", {"sources.credentials"}, KT_PG_URL, NULL, OFF(pg_conn_string),
	 KEY_SECRET | KEY_EMPTY_OK, 0, NULL, NULL},
	{"sources.sql_database.credentials.drivername", {"sources.credentials.drivername"}, KT_DRIVER, "postgresql",
	 OFF(pg_drivername), 0, 0, NULL, NULL},
	{"sources.sql_database.credentials.database", {"sources.credentials.database"}, KT_STRING, NULL,
	 OFF(pg_database), KEY_EMPTY_OK, 0, NULL, NULL},
	{"sources.sql_database.credentials.host", {"sources.credentials.host"}, KT_STRING, NULL, OFF(pg_host),
	 KEY_EMPTY_OK, 0, NULL, NULL},
	{"sources.sql_database.credentials.port", {"sources.credentials.port"}, KT_PORT, NULL, OFF(pg_port),
	 KEY_EMPTY_OK, 0, NULL, NULL},
	{"sources.sql_database.credentials.username", {"sources.credentials.username"}, KT_STRING, NULL,
	 OFF(pg_username), KEY_EMPTY_OK, 0, NULL, NULL},
	{"sources.sql_database.credentials.password", {"sources.credentials.password"}, KT_STRING, NULL,
	 OFF(pg_password), KEY_SECRET | KEY_EMPTY_OK, 0, NULL, NULL},

	/* [postgres] (the guide's) */
	{"postgres.pool_size", {NULL}, KT_INT, NULL, OFF(pool_size), 0, 1, NULL, NULL},

	/* [data_writer] */
	{"data_writer.format", {"data_writer.loader_file_format", "pipeline.loader_file_format", "normalize.loader_file_format"},
	 KT_CHOICE, "parquet", OFF(file_format), 0, 0, format_choices, NULL},
	{"data_writer.file_max_items", {"normalize.data_writer.file_max_items", "extract.data_writer.file_max_items"},
	 KT_INT64, "0", OFF(file_max_items), 0, 0, NULL, NULL},
	{"data_writer.file_max_bytes", {"normalize.data_writer.file_max_bytes", "extract.data_writer.file_max_bytes"},
	 KT_INT64, "0", OFF(file_max_bytes), 0, 0, NULL, NULL},
	{"data_writer.buffer_max_items", {"normalize.data_writer.buffer_max_items", "extract.data_writer.buffer_max_items"},
	 KT_INT64, "5000", OFF(buffer_max_items), 0, 1, NULL, NULL},

	/* destinations */
	{"destination.duckdb.credentials", {"destination.duckdb.credentials.database"}, KT_DUCKDB, NULL, OFF(duckdb_path),
	 0, 0, NULL, NULL},
	{"destination.motherduck.credentials", {NULL}, KT_MD_URL, NULL, OFF(md_conn_string), KEY_SECRET | KEY_EMPTY_OK,
	 0, NULL, NULL},
	{"destination.motherduck.credentials.token", {"destination.motherduck.credentials.password"}, KT_STRING, NULL,
	 OFF(md_token), KEY_SECRET | KEY_EMPTY_OK, 0, NULL, NULL},
	{"destination.motherduck.credentials.database", {NULL}, KT_STRING, "my_db", OFF(md_database), 0, 0, NULL, NULL},
	{"destination.motherduck.batch_size", {NULL}, KT_INT64, "1000000", OFF(batch_size), 0, 1, NULL, NULL},
	{"destination.motherduck.extension_path", {NULL}, KT_PATH, NULL, OFF(md_extension_path), 0, 0, NULL, NULL},
	{"destination.motherduck.connection_timeout", {NULL}, KT_INT, "60", OFF(md_connection_timeout), 0, 0, NULL, NULL},
	{"destination.motherduck.transaction_rows", {NULL}, KT_INT64, "10000000", OFF(md_transaction_rows), 0, 1, NULL, NULL},
	{"destination.motherduck.transaction_seconds", {NULL}, KT_INT, "50", OFF(md_transaction_seconds), 0, 1, NULL, NULL},

	/* stages */
	{"extract.workers", {NULL}, KT_INT, "5", OFF(extract_workers), 0, 1, NULL, NULL},
	{"normalize.workers", {NULL}, KT_INT, "1", OFF(normalize_workers), 0, 1, NULL, NULL},
	{"load.workers", {NULL}, KT_INT, "20", OFF(load_workers), 0, 1, NULL, NULL},

	/* [runtime] */
	{"runtime.log_level", {NULL}, KT_LOGLEVEL, "WARNING", OFF(log_level), 0, 0, NULL, "--log-level"},
	{"runtime.log_format", {NULL}, KT_LOGFORMAT, "TEXT", OFF(log_format), 0, 0, NULL, NULL},
	{"runtime.dlthub_telemetry", {NULL}, KT_BOOL, "false", OFF(dlthub_telemetry), 0, 0, NULL, NULL},
	{"runtime.metrics_file", {NULL}, KT_PATH, NULL, OFF(metrics_file), 0, 0, NULL, "--metrics-file"},
	{"runtime.on_failure", {NULL}, KT_STRING, NULL, OFF(on_failure), KEY_EMPTY_OK, 0, NULL, NULL},

	/* [schema], [normalize.parquet_normalizer] */
	{"schema.naming", {NULL}, KT_CHOICE, "snake_case", OFF(naming), 0, 0, naming_choices, NULL},
	{"normalize.parquet_normalizer.add_dlt_load_id", {NULL}, KT_BOOL, "false", OFF(add_dlt_load_id), 0, 0, NULL, NULL},
	{"normalize.parquet_normalizer.add_dlt_id", {NULL}, KT_BOOL, "false", OFF(add_dlt_id), 0, 0, NULL, NULL},
};

const int pg2md_n_config_keys = (int)(sizeof(pg2md_config_keys) / sizeof(pg2md_config_keys[0]));

#define TOFF(field) offsetof(pg2md_table_config, field)

const table_key pg2md_table_keys[] = {
	{"write_disposition", TK_DISP, TOFF(write_disposition), NULL, NULL},
	{"write_disposition.disposition", TK_DISP, TOFF(write_disposition), "write_disposition", NULL},
	{"write_disposition.strategy", TK_CHOICE, TOFF(merge_strategy), NULL, pg2md_merge_strategy_choices},
	{"write_disposition.validity_column_names", TK_LIST, TOFF(validity_column_names), NULL, NULL},
	{"write_disposition.active_record_timestamp", TK_TEXT, TOFF(active_record_timestamp), NULL, NULL},
	{"write_disposition.boundary_timestamp", TK_TEXT, TOFF(boundary_timestamp), NULL, NULL},
	{"write_disposition.row_version_column_name", TK_TEXT, TOFF(row_version_column_name), NULL, NULL},
	{"primary_key", TK_LIST, TOFF(primary_key), NULL, NULL},
	{"merge_key", TK_LIST, TOFF(merge_key), NULL, NULL},
	{"included_columns", TK_LIST, TOFF(included_columns), NULL, NULL},
	{"excluded_columns", TK_LIST, TOFF(excluded_columns), NULL, NULL},
	{"incremental.cursor_path", TK_TEXT, TOFF(cursor_path), NULL, NULL},
	{"incremental.initial_value", TK_TEXT, TOFF(initial_value), NULL, NULL},
	{"incremental.end_value", TK_TEXT, TOFF(end_value), NULL, NULL},
	{"incremental.row_order", TK_ORDER, TOFF(row_order), NULL, NULL},
	{"incremental.lag", TK_TEXT, TOFF(lag), NULL, NULL},
	{"incremental.range_start", TK_TEXT, TOFF(range_start), NULL, NULL},
	{"incremental.range_end", TK_TEXT, TOFF(range_end), NULL, NULL},
	{"incremental.on_cursor_value_missing", TK_TEXT, TOFF(on_cursor_value_missing), NULL, NULL},
	{"where", TK_TEXT, TOFF(where), NULL, NULL},
	{"query", TK_TEXT, TOFF(query), NULL, NULL},
	{"transform", TK_TEXT, TOFF(transform), NULL, NULL},
	{"transform_stage", TK_TEXT, TOFF(transform_stage), NULL, NULL},
	{"numeric_fallback", TK_CHOICE, TOFF(numeric_fallback), NULL, pg2md_numeric_fallback_choices},
	{"char_padding", TK_CHOICE, TOFF(char_padding), NULL, pg2md_char_padding_choices},
};

const int pg2md_n_table_keys = (int)(sizeof(pg2md_table_keys) / sizeof(pg2md_table_keys[0]));

#define DBG PG2MD_LOG_DEBUG
#define WRN PG2MD_LOG_WARNING

const ignored_key pg2md_ignored_keys[] = {
	{"runtime.sentry_dsn", DBG, NULL},
	{"runtime.slack_incoming_hook", DBG, NULL},
	{"runtime.dlthub_telemetry_endpoint", DBG, "pg2md sends no telemetry"},
	{"runtime.dlthub_telemetry_segment_write_key", DBG, "pg2md sends no telemetry"},
	{"runtime.dlthub_dsn", DBG, NULL},
	{"runtime.request_timeout", DBG, NULL},
	{"runtime.request_max_attempts", DBG, NULL},
	{"runtime.request_backoff_factor", DBG, NULL},
	{"runtime.request_max_retry_delay", DBG, NULL},
	{"runtime.config_files_storage_path", DBG, NULL},
	{"runtime.http_show_error_body", DBG, NULL},
	{"runtime.http_max_error_body_length", DBG, NULL},
	{"runtime.pipeline_name", DBG, "use [pipeline] pipeline_name"},

	{"sources.sql_database.backend", DBG, "pg2md always reads with binary COPY"},
	{"sources.sql_database.chunk_size", DBG, NULL},
	{"sources.sql_database.reflection_level", DBG, "pg2md always reflects full column types"},
	{"sources.sql_database.defer_table_reflect", DBG, NULL},
	{"sources.sql_database.detect_precision_hints", DBG, NULL},
	{"sources.sql_database.table_adapter_callback", DBG, NULL},
	{"sources.sql_database.type_adapter_callback", DBG, NULL},
	{"sources.sql_database.query_adapter_callback", DBG, NULL},
	{"sources.sql_database.engine_adapter_callback", DBG, NULL},
	{"sources.sql_database.resolve_foreign_keys", DBG, NULL},
	{"sources.sql_database.metadata", DBG, NULL},
	{"sources.sql_database.backend_kwargs.*", DBG, NULL},
	{"sources.sql_database.engine_kwargs.*", DBG, NULL},
	{"sources.sql_database.extract.max_parallel_items", DBG, NULL},
	{"sources.backend", DBG, NULL},
	{"sources.chunk_size", DBG, NULL},

	{"extract.max_parallel_items", DBG, NULL},
	{"extract.next_item_mode", DBG, NULL},
	{"extract.data_writer.*", DBG, NULL},
	{"normalize.pool_type", DBG, NULL},
	{"normalize.start_method", DBG, NULL},
	{"normalize.max_parallel_items", DBG, NULL},
	{"normalize.json_normalizer.*", DBG, NULL},
	{"normalize.parquet_normalizer.*", DBG, NULL},
	{"normalize.data_writer.*", DBG, NULL},
	{"load.pool_type", DBG, NULL},
	{"load.start_method", DBG, NULL},
	{"load.raise_on_failed_jobs", DBG, "pg2md always stops on a failed load"},
	{"load.raise_on_max_retries", DBG, NULL},
	{"load.delete_completed_jobs", DBG, NULL},
	{"load.truncate_staging_dataset", DBG, NULL},

	{"data_writer.disable_compression", DBG, NULL},
	{"data_writer.timestamp_timezone", DBG, NULL},
	{"data_writer.flavor", DBG, NULL},
	{"data_writer.version", DBG, NULL},
	{"data_writer.data_page_size", DBG, NULL},
	{"data_writer.row_group_size", DBG, NULL},
	{"data_writer.coerce_timestamps", DBG, NULL},
	{"data_writer.allow_truncated_timestamps", DBG, NULL},
	{"data_writer.use_compliant_nested_type", DBG, NULL},
	{"data_writer.delimiter", DBG, NULL},
	{"data_writer.include_header", DBG, NULL},
	{"data_writer.quoting", DBG, NULL},

	{"destination.motherduck.create_indexes", DBG, NULL},
	{"destination.motherduck.destination_name", DBG, NULL},
	{"destination.motherduck.environment", DBG, NULL},
	{"destination.motherduck.replace_strategy", DBG, "pg2md replaces tables inside one transaction"},
	{"destination.motherduck.staging_dataset_name_layout", DBG, NULL},
	{"destination.motherduck.enable_dataset_name_normalization", DBG, NULL},
	{"destination.motherduck.info_tables_query_threshold", DBG, NULL},
	{"destination.motherduck.loader_file_format", DBG, NULL},
	{"destination.motherduck.credentials.drivername", DBG, NULL},
	{"destination.motherduck.credentials.username", DBG, NULL},
	{"destination.motherduck.credentials.host", DBG, NULL},
	{"destination.motherduck.credentials.port", DBG, NULL},
	{"destination.motherduck.credentials.query.*", DBG, NULL},
	{"destination.motherduck.credentials.custom_user_agent", DBG, NULL},
	{"destination.motherduck.credentials.read_only", DBG, NULL},
	{"destination.motherduck.credentials.extensions", DBG, NULL},
	{"destination.motherduck.credentials.pragmas", DBG, NULL},
	{"destination.motherduck.credentials.global_config.*", DBG, NULL},
	{"destination.motherduck.credentials.local_config.*", DBG, NULL},
	{"destination.duckdb.create_indexes", DBG, NULL},
	{"destination.duckdb.destination_name", DBG, NULL},
	{"destination.duckdb.environment", DBG, NULL},
	{"destination.duckdb.replace_strategy", DBG, "pg2md replaces tables inside one transaction"},
	{"destination.duckdb.staging_dataset_name_layout", DBG, NULL},
	{"destination.duckdb.enable_dataset_name_normalization", DBG, NULL},
	{"destination.duckdb.loader_file_format", DBG, NULL},
	{"destination.duckdb.credentials.read_only", DBG, NULL},
	{"destination.duckdb.credentials.extensions", DBG, NULL},
	{"destination.duckdb.credentials.pragmas", DBG, NULL},
	{"destination.duckdb.credentials.global_config.*", DBG, NULL},
	{"destination.duckdb.credentials.local_config.*", DBG, NULL},

	{"pipeline.dev_mode", WRN, "pg2md has no dev mode: the dataset name is used as it is"},
	{"pipeline.full_refresh", WRN, "pg2md has no dev mode: the dataset name is used as it is"},
	{"pipeline.restore_from_destination", DBG, NULL},
	{"pipeline.enable_runtime_trace", DBG, "pg2md always keeps the last run's trace"},
	{"pipeline.import_schema_path", DBG, NULL},
	{"pipeline.export_schema_path", DBG, NULL},
	{"pipeline.progress", DBG, "use --progress"},
	{"pipeline.staging", DBG, NULL},
	{"pipeline.pipeline_salt", DBG, NULL},

	{"schema.allow_identifier_change_on_table_with_data", DBG, NULL},
	{"schema.use_break_path_on_normalize", DBG, NULL},
	{"schema.json_normalizer.*", DBG, NULL},
};

const int pg2md_n_ignored_keys = (int)(sizeof(pg2md_ignored_keys) / sizeof(pg2md_ignored_keys[0]));

/* Per-table keys dlt knows and pg2md does not use (relative to the table). */
const ignored_key pg2md_ignored_table_keys[] = {
	{"write_disposition.deduplicated", DBG, "merge keeps one row per primary key (dedup_sort picks which)"},
	{"write_disposition.skip_unchanged_rows", WRN, "upsert updates every matched row"},
	{"write_disposition.source_filter", WRN, "a where filter selects the rows a run reads"},
	{"write_disposition.destination_scope", WRN, "merge_key limits the rows a merge can delete or retire"},
	{"incremental.last_value_func", WRN, "incremental loading always takes rows above the last maximum"},
	{"incremental.allow_external_schedulers", DBG, NULL},
	{"incremental.on_cursor_value_missing", DBG, NULL},
	{"incremental.lag", WRN, NULL},
	{"incremental.range_start", DBG, NULL},
	{"incremental.range_end", DBG, NULL},
	{"incremental.primary_key", DBG, NULL},
	{"backend", DBG, "pg2md always reads with binary COPY"},
	{"chunk_size", DBG, NULL},
	{"reflection_level", DBG, NULL},
	{"defer_table_reflect", DBG, NULL},
	{"detect_precision_hints", DBG, NULL},
	{"table_adapter_callback", DBG, NULL},
	{"type_adapter_callback", DBG, NULL},
	{"query_adapter_callback", DBG, NULL},
	{"resolve_foreign_keys", DBG, NULL},
	{"backend_kwargs.*", DBG, NULL},
	{"columns.*", DBG, NULL},
	{"table_format", DBG, NULL},
	{"file_format", DBG, NULL},
	{"max_table_nesting", DBG, NULL},
	{"schema_contract.*", DBG, NULL},
};

const int pg2md_n_ignored_table_keys = (int)(sizeof(pg2md_ignored_table_keys) / sizeof(pg2md_ignored_table_keys[0]));

/* Sub-tables of [sources.sql_database] that are not per-table sections. */
const char *const pg2md_source_sections[] = {"credentials", "extract", NULL};

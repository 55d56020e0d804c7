/*
 * state.h — the pipeline state: incremental cursors, as dlt keeps them.
 *
 *   {"_state_version": N, "pipeline_name": …, "dataset_name": …,
 *    "sources": {"sql_database": {"resources": {"<table>": {"incremental":
 *        {"<cursor column>": {"initial_value": …, "last_value": …}}}}}}}
 *
 * It lives in <pipelines_dir>/<pipeline_name>/state.json and, with every
 * load, in the destination's _dlt_pipeline_state in the same transaction as
 * the data.  When the local file is gone (a new machine) or older than the
 * destination's copy, the destination's copy is used.
 */
#ifndef PG2MD_STATE_H
#define PG2MD_STATE_H

#include <jansson.h>
#include <stdbool.h>

#include "config/config.h"
#include "util/error.h"

/* Local state, or a new empty one. Never NULL unless err is set. */
json_t *state_load_local(const pg2md_config *cfg, pg2md_error *err);
pg2md_code state_save_local(const pg2md_config *cfg, json_t *state, pg2md_error *err);

/* The cursor's last value for a table, or NULL. */
const char *state_last_value(json_t *state, const char *table, const char *cursor);
/* false: memory ran out (the state may lack the value) */
bool state_set_last_value(json_t *state, const char *table, const char *cursor, const char *initial,
			  const char *last);

/* Newest state stored in the destination (a local DuckDB file, or MotherDuck), or NULL: none
 * could be read, or memory ran out (then nomem holds PG2MD_ERR_NOMEM; other failures are not
 * reported: the local state is used). */
json_t *state_load_destination(const pg2md_config *cfg, pg2md_error *nomem);

#endif

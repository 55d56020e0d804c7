/*
 * loads.h — the loads a destination has recorded (dlt's _dlt_loads) and pg2md follow's
 * watermarks, read for `pg2md info` without disturbing a run: a local DuckDB file is opened
 * read-only, and only if it exists.
 */
#ifndef PG2MD_DEST_LOADS_H
#define PG2MD_DEST_LOADS_H

#include <jansson.h>

#include "config/config.h"

/*
 * The last max rows of <dataset>._dlt_loads, newest first: [{load_id, schema_name, status,
 * inserted_at, schema_version_hash}] (a new reference), or NULL with *note saying why not
 * (caller frees the note): MotherDuck, no file, no loads yet, a file that cannot be opened.
 * NULL with *note NULL: memory ran out (util/mem.h: mem_short() tells).
 */
json_t *dest_loads_json(const pg2md_config *cfg, int max, char **note);

/*
 * pg2md follow's watermarks from <dataset>._pg2md_cdc, by slot: [{slot, applied_lsn, applied_at,
 * seconds_ago}] (a new reference), or NULL when there is nothing to read: MotherDuck, no file, a
 * file that cannot be opened read-only, no _pg2md_cdc table.
 */
json_t *dest_watermarks_json(const pg2md_config *cfg);

#endif

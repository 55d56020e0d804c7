/*
 * plan.h — the partition planner: cuts the tables to copy into tasks.
 *
 * Each leaf (a plain table, or each partition of a partitioned table) larger
 * than one and a half tasks is split into ranges of pages_per_task heap pages
 * read with `WHERE ctid >= '(lo,0)' AND ctid < '(hi,0)'` (a TID range scan);
 * the last range is open-ended, so rows in pages added after the size was
 * measured are still read (the snapshot decides which rows count).  Page
 * numbers are 64-bit all the way.  Smaller leaves, views and foreign tables
 * are one task.  Tasks are ordered largest first so the long ones start early.
 */
#ifndef PG2MD_PLAN_H
#define PG2MD_PLAN_H

#include <stdint.h>

#include "schema/table.h"
#include "stage/task.h"
#include "util/buf.h"

#define PAGES_PER_TASK_DEFAULT 4096 /* 32 MB of heap with 8 kB pages */

/*
 * Plan the tasks of tables; filters[i] is table i's row filter (SQL, or NULL
 * or "").  Returns the number of tasks; *tasks is allocated (free with
 * plan_free).  -1 when memory ran out (*tasks NULL, nothing to free).
 */
int plan_tasks(pg2md_table *tables, int ntables, const char *const *filters, int64_t pages_per_task,
	       pg2md_task **tasks);
void plan_free(pg2md_task *tasks, int ntasks);

/*
 * What the COPY of a run selects for column c, as SQL over its source name: the column, the
 * expression of a data_type override, or its type's output function for a type read as text.
 * pg2md follow asks the server for the same (cdc/server_values.h).
 */
void plan_column(pg2md_buf *b, const pg2md_column *c);

/* The COPY statement of one task (exposed for tests); NULL when memory ran out. */
char *plan_copy_sql(const pg2md_table *t, int leaf, int64_t lo, int64_t hi, const char *filter);

#endif

/*
 * check.h — `pg2md check`'s source section: what a run needs of PostgreSQL, tested before
 * any data moves (util/checklist.h holds the results).
 */
#ifndef PG2MD_SOURCE_CHECK_H
#define PG2MD_SOURCE_CHECK_H

#include "config/config.h"
#include "util/checklist.h"

/*
 * The connection (server version, host:port, database, user — never the password), the
 * schema, and for each configured table that it exists (else the closest names), that the
 * user may SELECT it (for a partitioned table: every leaf, since the rows are read from the
 * leaves), its estimated rows and size; a table defined by a query is described, never run;
 * column hints are applied as a run applies them.  A failed connection is a PG2MD_ERR_CONNECT
 * item (PG2MD_ERR_USAGE when there is nothing to connect with).
 */
void source_check(checklist *cl, const pg2md_config *cfg);

#endif

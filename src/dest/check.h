/*
 * check.h — `pg2md check`'s destination section: what a run needs of the DuckDB file or
 * MotherDuck, tested before any data moves (util/checklist.h holds the results).
 */
#ifndef PG2MD_DEST_CHECK_H
#define PG2MD_DEST_CHECK_H

#include "config/config.h"
#include "util/checklist.h"

/*
 * For MotherDuck first what this machine's client is (the DuckDB version, the motherduck
 * extension installed or configured and loadable), learnt without connecting.  Then: the
 * destination opens (a PG2MD_ERR_CONNECT item when not), the DuckDB version, it is
 * writable (a scratch schema and table created, filled and dropped), the dataset's tables.  A
 * local DuckDB file that did not exist before is removed again: checking leaves nothing behind.
 */
void dest_check(checklist *cl, const pg2md_config *cfg);

#endif

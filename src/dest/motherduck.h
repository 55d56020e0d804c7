/*
 * motherduck.h — what MotherDuck asks of a client, in one place (docs/motherduck.md).
 *
 * The open itself is duck.c's (dest_open): these are the pieces it and `pg2md check` use.  The
 * user agent pg2md announces; the offline install of the motherduck extension from a local file
 * ([destination.motherduck] extension_path); the facts `pg2md check` prints (is the extension
 * installed and loadable, is this DuckDB one MotherDuck supports); and whether a destination
 * loads under MotherDuck's rules (a MotherDuck database, or a local file with the test-only
 * switch PG2MD_TEST_MOTHERDUCK_RULES=1).
 */
#ifndef PG2MD_DEST_MOTHERDUCK_H
#define PG2MD_DEST_MOTHERDUCK_H

#include <stdbool.h>

#include "config/config.h"
#include "util/error.h"

/* The DuckDB versions MotherDuck supports as clients: 1.4.0 up to 1.5.x. */
#define MD_DUCKDB_MIN "1.4.0"
#define MD_DUCKDB_BELOW "1.6.0"

/* What MotherDuck's query history shows for pg2md's sessions: "pg2md/<version>". */
const char *md_user_agent(void);

/* Whether version (DuckDB's "v1.4.4" or "1.4.4") is one MotherDuck supports. */
bool md_duckdb_supported(const char *version);

/*
 * The offline install: check that path is a motherduck extension this DuckDB can load (in a
 * scratch DuckDB of its own), then install it into DuckDB's extension folder, so that opening
 * "md:" loads it without a download.  A missing, unreadable or wrong file fails with
 * PG2MD_ERR_USAGE, naming the file, the reason and what to do.
 */
pg2md_code md_extension_install(const char *path, pg2md_error *err);

/* What `pg2md check` reports about the MotherDuck client (md_client_facts). */
typedef struct md_facts {
	char duckdb_version[32];     /* "v1.4.4" */
	bool version_supported;      /* within MD_DUCKDB_MIN .. MD_DUCKDB_BELOW */
	bool installed;              /* the extension is in DuckDB's extension folder */
	bool from_file;              /* [destination.motherduck] extension_path is set */
	char where[512];             /* the installed file, or the configured one */
	bool loadable;               /* LOAD succeeded in a scratch DuckDB */
	char why[512];               /* DuckDB's message when not loadable */
} md_facts;

/*
 * The facts about the MotherDuck client on this machine, without connecting to MotherDuck:
 * the configured extension file (or the installed extension) loaded in a scratch DuckDB with
 * downloads off.  Never fails; what could not be learnt is in the facts.
 */
void md_client_facts(const pg2md_config *cfg, md_facts *out);

/* Whether the test-only switch PG2MD_TEST_MOTHERDUCK_RULES=1 makes a local file load under
 * MotherDuck's rules (docs/motherduck.md, "Testing without MotherDuck"). */
bool md_rules_forced(void);

#endif

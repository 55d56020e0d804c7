/*
 * naming.h — identifiers as dlt names them (its schema's naming convention, not DuckDB's): the
 * destination names of tables and columns, whichever side asks.
 *
 * "snake_case" (dlt's default): camelCase split with underscores, lower case,
 * characters other than letters, digits and underscores become "_", a leading
 * digit gets a "_" prefix.  "direct": names are kept exactly.
 */
#ifndef PG2MD_NAMING_H
#define PG2MD_NAMING_H

/* Returns a new string (caller frees).  convention NULL means snake_case. */
char *naming_normalize(const char *convention, const char *name); /* NULL: out of memory */

#endif

/*
 * strdist.h — how far apart two names are, for "did you mean" hints: the
 * configuration's unknown keys and table sections, the catalog's and
 * `pg2md check`'s missing tables and schemas.
 */
#ifndef PG2MD_STRDIST_H
#define PG2MD_STRDIST_H

/* What the distances below return when they cannot measure: too far to suggest. */
#define STRDIST_FAR 1000

/* Levenshtein distance (insert, delete or replace one byte), case-sensitive. */
int edit_distance(const char *a, const char *b);

/*
 * Optimal string alignment distance (Levenshtein with transpositions of two
 * adjacent bytes), ignoring ASCII case.  A string over 200 bytes is
 * STRDIST_FAR from everything, so untrusted input costs little.
 */
int edit_distance_nocase(const char *a, const char *b);

#endif

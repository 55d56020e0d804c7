/*
 * strdist.h — "did you mean": how far apart two names are, and which names are close enough
 * to suggest, by one rule for every hint (the configuration's unknown keys and table sections,
 * the catalog's and `pg2md check`'s missing tables and schemas).
 */
#ifndef PG2MD_STRDIST_H
#define PG2MD_STRDIST_H

#include <stdbool.h>

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

/*
 * How far a name may be from what was meant and still be suggested: 1 edit for a name under 3
 * bytes, 3 for one of 24 bytes or more (a dotted configuration key), else 2.
 */
int strdist_limit(const char *want);

/*
 * The candidates close enough to want (strdist_limit), closest first (equal ones in their
 * order), at most max: their indexes into *found; returns how many.  nocase: distances by
 * edit_distance_nocase (names typed by hand, as keys), else by edit_distance.  A NULL
 * candidate is skipped.
 */
int strdist_suggest(const char *want, const char *const *cands, int n, bool nocase, int max, int *found);

#endif

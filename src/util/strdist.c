/* strdist.c — edit distances between names, for "did you mean" hints (see strdist.h). */
#include "util/strdist.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int
fold(char c, bool nocase)
{
	return nocase ? tolower((unsigned char)c) : (unsigned char)c;
}

/*
 * The distance, three rows at a time: the row before the previous one is what
 * a transposition looks back to.  STRDIST_FAR when out of memory.
 */
static int
distance(const char *a, const char *b, bool nocase, bool transpose)
{
	size_t la = strlen(a), lb = strlen(b);
	int *rows = malloc(3 * (lb + 1) * sizeof(int));
	int *before = rows, *prev, *cur, d;

	if (rows == NULL)
		return STRDIST_FAR;
	prev = rows + (lb + 1);
	cur = rows + 2 * (lb + 1);
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int ai = fold(a[i - 1], nocase);
		cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int bj = fold(b[j - 1], nocase);
			int v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + (ai != bj) < v)
				v = prev[j - 1] + (ai != bj);
			if (transpose && i > 1 && j > 1 && ai == fold(b[j - 2], nocase) && fold(a[i - 2], nocase) == bj &&
			    before[j - 2] + 1 < v)
				v = before[j - 2] + 1;
			cur[j] = v;
		}
		int *spare = before;
		before = prev;
		prev = cur;
		cur = spare;
	}
	d = prev[lb];
	free(rows);
	return d;
}

int
edit_distance(const char *a, const char *b)
{
	return distance(a, b, false, false);
}

int
edit_distance_nocase(const char *a, const char *b)
{
	if (strlen(a) > 200 || strlen(b) > 200)
		return STRDIST_FAR;
	return distance(a, b, true, true);
}

int
strdist_limit(const char *want)
{
	size_t len = strlen(want);
	return len < 3 ? 1 : len >= 24 ? 3 : 2;
}

int
strdist_suggest(const char *want, const char *const *cands, int n, bool nocase, int max, int *found)
{
	int limit = strdist_limit(want), nfound = 0;
	int *dist = n > 0 ? malloc((size_t)n * sizeof(int)) : NULL;

	if (n > 0 && !dist)
		return 0; /* out of memory: no hint */
	for (int i = 0; i < n; i++)
		dist[i] = !cands[i] ? STRDIST_FAR : nocase ? edit_distance_nocase(want, cands[i]) : edit_distance(want, cands[i]);
	/* closest first, equal ones in their order */
	for (int d = 0; d <= limit && nfound < max; d++)
		for (int i = 0; i < n && nfound < max; i++)
			if (dist[i] == d)
				found[nfound++] = i;
	free(dist);
	return nfound;
}

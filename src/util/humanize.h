/*
 * humanize.h — numbers a person reads at a glance ("2.9 M rows", "404 MB", "3.2 s"),
 * like the guide's `humanize` dependency.  Each writes into the caller's buffer and
 * returns it.
 */
#ifndef PG2MD_HUMANIZE_H
#define PG2MD_HUMANIZE_H

#include <stddef.h>
#include <stdint.h>

char *human_count(char *out, size_t n, double v);   /* 950, 12.3 k, 2.9 M, 1.2 G */
char *human_bytes(char *out, size_t n, double v);   /* 512 B, 4.0 kB, 404 MB (SI, as humanize) */
char *human_seconds(char *out, size_t n, double s); /* 850 ms, 3.2 s, 2 min 05 s, 1 h 02 min */

double now_seconds(void); /* monotonic clock */
int64_t peak_rss_bytes(void);

#endif

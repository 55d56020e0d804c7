/* humanize.c — human-readable numbers, a monotonic clock, peak RSS (see humanize.h). */
#include "util/humanize.h"

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

static char *
scaled(char *out, size_t n, double v, const char *const *units, int nunits, double step, const char *sep)
{
	int u = 0;
	while (v >= step * 0.9995 && u < nunits - 1) {
		v /= step;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%.0f%s%s", v, *units[0] ? sep : "", units[0]);
	else
		snprintf(out, n, v < 9.95 ? "%.1f%s%s" : "%.0f%s%s", v, sep, units[u]);
	return out;
}

char *
human_count(char *out, size_t n, double v)
{
	static const char *const units[] = {"", "k", "M", "G", "T"};
	return scaled(out, n, v, units, 5, 1000.0, " ");
}

char *
human_bytes(char *out, size_t n, double v)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	if (v < 1000) {
		snprintf(out, n, "%.0f B", v);
		return out;
	}
	return scaled(out, n, v, units, 5, 1000.0, " ");
}

char *
human_seconds(char *out, size_t n, double s)
{
	if (s < 1.0)
		snprintf(out, n, "%.0f ms", s * 1000.0);
	else if (s < 60.0)
		snprintf(out, n, "%.1f s", s);
	else if (s < 3600.0)
		snprintf(out, n, "%d min %02d s", (int)(s / 60), (int)s % 60);
	else
		snprintf(out, n, "%d h %02d min", (int)(s / 3600), ((int)s % 3600) / 60);
	return out;
}

double
now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t
peak_rss_bytes(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (int64_t)ru.ru_maxrss * 1024;
}

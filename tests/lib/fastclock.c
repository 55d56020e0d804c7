/*
 * fastclock.c — an LD_PRELOAD shim for the end-to-end tests: CLOCK_MONOTONIC runs
 * FASTCLOCK_FACTOR times (default 10000) faster than real time, from the moment the process
 * starts; every other clock is untouched.  A bound in seconds measured on the monotonic clock
 * (MotherDuck's transaction_seconds, whose minimum is 1) is then passed by anything that takes
 * more than 1/FACTOR s of real time: a test can see what pg2md does past the bound without
 * waiting for it, and without depending on how fast the machine is.
 *
 *   cc -shared -fPIC -o fastclock.so tests/lib/fastclock.c -ldl
 *   LD_PRELOAD=$PWD/fastclock.so FASTCLOCK_FACTOR=10000 pg2md load …
 *
 * (Under ASan, add verify_asan_link_order=0 to ASAN_OPTIONS: the shim comes first.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static int64_t base_ns;
static int64_t factor = 10000;

static int64_t
ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* before any thread exists: the real function, the start and the factor */
__attribute__((constructor)) static void
fastclock_init(void)
{
	struct timespec ts;
	const char *f = getenv("FASTCLOCK_FACTOR");

	real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
	if (f && atoll(f) >= 1)
		factor = atoll(f);
	if (real_clock_gettime && real_clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
		base_ns = ns(&ts);
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	if (!real_clock_gettime)
		fastclock_init();
	int rc = real_clock_gettime(id, ts);
	if (rc != 0 || id != CLOCK_MONOTONIC)
		return rc;
	int64_t t = base_ns + (ns(ts) - base_ns) * factor;
	ts->tv_sec = t / 1000000000;
	ts->tv_nsec = t % 1000000000;
	return 0;
}

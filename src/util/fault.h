/*
 * fault.h — named crash points for the resume tests.
 *
 * When the environment variable PG2MD_FAULT names a point (for example
 * "load:after_commit"), the process kills itself with SIGKILL when it gets
 * there, as a power cut would.  PG2MD_FAULT_SKIP=N lets the point pass N
 * times first.  Unset, a point costs one pointer comparison.
 *
 * PG2MD_PAUSE=<point> with PG2MD_PAUSE_FILE=<path> pauses there instead: the
 * process writes <path>.paused and waits (up to a minute) until <path>
 * exists, so a test can change the source in the middle of a run.
 *
 * PG2MD_FAULT_FAIL=<point> makes fault_fail(<point>) return true, the first
 * PG2MD_FAULT_FAIL_TIMES times (default 1) it is reached after letting it pass
 * PG2MD_FAULT_FAIL_SKIP times (default 0): the caller then fails as it would on
 * the error that point stands for, and a test sees the run recover (or fail
 * cleanly).  The point "alloc" is every allocation of util/mem.c: memory runs
 * out there.
 *
 * What happens is logged (an ERROR before a crash, a WARNING before a failure):
 * the library writes to no stream itself.
 */
#ifndef PG2MD_FAULT_H
#define PG2MD_FAULT_H

#include <stdbool.h>

void fault_point(const char *name);
bool fault_fail(const char *name);

#endif

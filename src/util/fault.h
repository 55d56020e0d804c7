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
 */
#ifndef PG2MD_FAULT_H
#define PG2MD_FAULT_H

void fault_point(const char *name);

#endif

/*
 * lock.h — one run of a pipeline at a time.
 *
 * An exclusive flock() on <pipelines_dir>/<pipeline_name>/run.lock, held for
 * the whole run; the file names the holder (pid, host, start time) so the
 * refusal can say who has it.  The kernel drops the lock when the holder
 * dies, so a crashed run never blocks the next one.
 */
#ifndef PG2MD_LOCK_H
#define PG2MD_LOCK_H

#include "config/config.h"
#include "util/error.h"

/* Returns a file descriptor holding the lock (>= 0), or -1 with err set. */
int pipeline_lock(const pg2md_config *cfg, pg2md_error *err);
void pipeline_unlock(int fd);

#endif

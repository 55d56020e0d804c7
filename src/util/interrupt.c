/*
 * interrupt.c — the cancel flag (see interrupt.h).
 *
 * Set by the signal handler, read by every worker thread while it waits for PostgreSQL: an
 * atomic int (lock-free, so the store is async-signal-safe), not a plain volatile, which is a
 * data race between the threads (ThreadSanitizer saw it once t59 sent SIGTERM to a waiting run).
 */
#include "util/interrupt.h"

static int requested;

void
interrupt_request(void)
{
	__atomic_store_n(&requested, 1, __ATOMIC_SEQ_CST);
}

bool
interrupt_requested(void)
{
	return __atomic_load_n(&requested, __ATOMIC_SEQ_CST) != 0;
}

/*
 * interrupt.c — the cancel flag and the reload flag (see interrupt.h).
 *
 * Set by the signal handler, read by every worker thread while it waits for PostgreSQL: an
 * atomic int (lock-free, so the store is async-signal-safe), not a plain volatile, which is a
 * data race between the threads (ThreadSanitizer saw it once t59 sent SIGTERM to a waiting run).
 */
#include "util/interrupt.h"

#include "util/mem.h"

static int requested;
static int reload; /* a configuration reload asked for (pg2md follow) */

void
interrupt_request(void)
{
	__atomic_store_n(&requested, 1, __ATOMIC_SEQ_CST);
}

pg2md_code
interrupt_reason(void)
{
	if (__atomic_load_n(&requested, __ATOMIC_SEQ_CST) != 0)
		return PG2MD_ERR_INTERRUPTED;
	return mem_short() ? PG2MD_ERR_NOMEM : PG2MD_OK;
}

bool
interrupt_requested(void)
{
	return interrupt_reason() != PG2MD_OK;
}

const char *
interrupt_what(void)
{
	return interrupt_reason() == PG2MD_ERR_NOMEM ? "out of memory" : "interrupted";
}

void
reload_request(void)
{
	__atomic_store_n(&reload, 1, __ATOMIC_SEQ_CST);
}

bool
reload_take(void)
{
	return __atomic_exchange_n(&reload, 0, __ATOMIC_SEQ_CST) != 0;
}

/* interrupt.c — the cancel flag (see interrupt.h). */
#include "util/interrupt.h"

#include <signal.h>

static volatile sig_atomic_t requested;

void
interrupt_request(void)
{
	requested = 1;
}

bool
interrupt_requested(void)
{
	return requested != 0;
}

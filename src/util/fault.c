/* fault.c — named crash points for the resume tests (see fault.h). */
#include "util/fault.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *armed;
static int skip;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void
fault_init(void)
{
	const char *s = getenv("PG2MD_FAULT_SKIP");
	armed = getenv("PG2MD_FAULT");
	if (armed && !*armed)
		armed = NULL;
	skip = s ? atoi(s) : 0;
}

void
fault_point(const char *name)
{
	pthread_once(&once, fault_init);
	if (!armed || strcmp(armed, name) != 0)
		return;
	pthread_mutex_lock(&lock);
	if (skip-- > 0) {
		pthread_mutex_unlock(&lock);
		return;
	}
	fprintf(stderr, "pg2md: fault injected at \"%s\"\n", name);
	fflush(stderr);
	kill(getpid(), SIGKILL);
	pthread_mutex_unlock(&lock);
}

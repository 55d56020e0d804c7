/* fault.c — named crash and failure points for the resume and retry tests (see fault.h). */
#include "util/fault.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *armed;
static const char *pause_point;
static const char *pause_file;
static int skip;
static const char *fail_point;
static int fail_times;
static int fail_skip;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void
fault_init(void)
{
	const char *s = getenv("PG2MD_FAULT_SKIP");
	armed = getenv("PG2MD_FAULT");
	if (armed && !*armed)
		armed = NULL;
	skip = s ? atoi(s) : 0;
	fail_point = getenv("PG2MD_FAULT_FAIL");
	if (fail_point && !*fail_point)
		fail_point = NULL;
	s = getenv("PG2MD_FAULT_FAIL_TIMES");
	fail_times = s ? atoi(s) : 1;
	s = getenv("PG2MD_FAULT_FAIL_SKIP");
	fail_skip = s ? atoi(s) : 0;
	pause_point = getenv("PG2MD_PAUSE");
	pause_file = getenv("PG2MD_PAUSE_FILE");
	if (!pause_point || !*pause_point || !pause_file || !*pause_file)
		pause_point = NULL;
}

/* Announce the pause (FILE.paused), then wait until FILE exists: the test acts in between. */
static void
pause_here(const char *name)
{
	char marker[4096];
	FILE *f;
	snprintf(marker, sizeof(marker), "%s.paused", pause_file);
	f = fopen(marker, "w");
	if (f) {
		fprintf(f, "%s\n", name);
		fclose(f);
	}
	for (int i = 0; i < 6000 && access(pause_file, F_OK) != 0; i++)
		usleep(10000);
}

void
fault_point(const char *name)
{
	pthread_once(&once, fault_init);
	if (pause_point && strcmp(pause_point, name) == 0) {
		pthread_mutex_lock(&lock);
		pause_here(name);
		pthread_mutex_unlock(&lock);
	}
	if (!armed || strcmp(armed, name) != 0)
		return;
	pthread_mutex_lock(&lock);
	if (skip-- > 0) {
		pthread_mutex_unlock(&lock);
		return;
	}
	pg2md_log(PG2MD_LOG_ERROR, "fault injected at \"%s\"", name);
	kill(getpid(), SIGKILL);
	pthread_mutex_unlock(&lock);
}

bool
fault_fail(const char *name)
{
	bool fail = false;

	pthread_once(&once, fault_init);
	if (!fail_point || strcmp(fail_point, name) != 0)
		return false;
	pthread_mutex_lock(&lock);
	if (fail_skip > 0) {
		fail_skip--;
	} else if (fail_times > 0) {
		fail_times--;
		fail = true;
	}
	pthread_mutex_unlock(&lock);
	if (fail)
		pg2md_warn("fault injected at \"%s\" (an error, not a crash)", name);
	return fail;
}

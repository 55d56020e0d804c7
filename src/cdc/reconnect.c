/*
 * reconnect.c — which failures pg2md follow retries, and the backoff between attempts (see
 * reconnect.h).
 */
#include "cdc/reconnect.h"

#include <string.h>
#include <time.h>

#include "util/interrupt.h"

bool
cdc_retryable(const pg2md_error *err, bool lost, bool reconnecting)
{
	const char *st = err->sqlstate;
	if (err->code == PG2MD_ERR_USAGE || err->code == PG2MD_ERR_NOMEM || err->code == PG2MD_ERR_INTERRUPTED)
		return false;
	if (st[0]) {
		if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
		    strcmp(st, "57P03") == 0)
			return true;
		return reconnecting && (strcmp(st, "55006") == 0 || strcmp(st, "53300") == 0);
	}
	if (reconnecting && err->code == PG2MD_ERR_CONNECT)
		return true;
	return lost;
}

int
cdc_backoff_seconds(int attempt)
{
	int s = 1;
	for (int i = 1; i < attempt && s < CDC_RECONNECT_MAX_S; i++)
		s *= 2;
	return s < CDC_RECONNECT_MAX_S ? s : CDC_RECONNECT_MAX_S;
}

bool
cdc_backoff_wait(int attempt)
{
	int steps = cdc_backoff_seconds(attempt) * 10;
	struct timespec ts = {0, 100 * 1000 * 1000};
	for (int i = 0; i < steps; i++) {
		if (interrupt_requested())
			return false;
		nanosleep(&ts, NULL);
	}
	return !interrupt_requested();
}

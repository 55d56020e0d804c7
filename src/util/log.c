/* log.c — leveled, thread-safe logging into the registered sink (see log.h). */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

static pg2md_log_level log_level = PG2MD_LOG_WARNING;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pg2md_log_sink log_sink;
static void *log_sink_arg;

void
pg2md_log_set_sink(pg2md_log_sink fn, void *arg)
{
	pthread_mutex_lock(&log_lock);
	log_sink = fn;
	log_sink_arg = arg;
	pthread_mutex_unlock(&log_lock);
}

static const struct {
	const char *name;
	pg2md_log_level level;
} levels[] = {
	{"DEBUG", PG2MD_LOG_DEBUG},     {"INFO", PG2MD_LOG_INFO},   {"WARNING", PG2MD_LOG_WARNING},
	{"WARN", PG2MD_LOG_WARNING},    {"ERROR", PG2MD_LOG_ERROR}, {"CRITICAL", PG2MD_LOG_CRITICAL},
};

int
pg2md_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(name, levels[i].name) == 0)
			return (int)levels[i].level;
	return -1;
}

const char *
pg2md_log_level_name(pg2md_log_level level)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "LOG";
}

void
pg2md_log_set_level(pg2md_log_level level)
{
	log_level = level;
}

int
pg2md_log_enabled(pg2md_log_level level)
{
	return level >= log_level;
}

void
pg2md_log(pg2md_log_level level, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	if (level < log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&log_lock);
	if (log_sink)
		log_sink(log_sink_arg, (int)level, buf);
	pthread_mutex_unlock(&log_lock);
}

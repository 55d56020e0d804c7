/* log.c — leveled, thread-safe logging to stderr (see log.h). */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pg2md_log_level log_level = PG2MD_LOG_WARNING;
static int log_json;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pg2md_log_sink log_sink;
static void *log_sink_arg;
static int log_stderr = 1;

void
pg2md_log_set_sink(pg2md_log_sink fn, void *arg, int use_stderr)
{
	pthread_mutex_lock(&log_lock);
	log_sink = fn;
	log_sink_arg = arg;
	log_stderr = use_stderr;
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

void
pg2md_log_set_json(int json)
{
	log_json = json;
}

int
pg2md_log_enabled(pg2md_log_level level)
{
	return level >= log_level;
}

/* Write s as a JSON string body (no quotes). */
static void
json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
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
	if (!log_stderr) {
		/* a library user's process: nothing on its stderr */
	} else if (log_json) {
		char ts[64];
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"logger\":\"pg2md\",\"msg\":\"", ts,
			now.tv_nsec / 1000000, pg2md_log_level_name(level));
		json_escape(stderr, buf);
		fputs("\"}\n", stderr);
	} else {
		const char *tag = level >= PG2MD_LOG_ERROR ? "error" : level >= PG2MD_LOG_WARNING ? "warning"
			: level >= PG2MD_LOG_INFO ? "info" : "debug";
		fprintf(stderr, "pg2md: %s: %s\n", tag, buf);
	}
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

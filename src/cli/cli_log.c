/*
 * cli_log.c — log lines on stderr: the library's (its sink, pg2md_set_log) and the command
 * line's own, as "pg2md: warning: …" text or, with [runtime] log_format = "JSON", one JSON
 * object a line ({"time", "level", "logger": "pg2md", "msg"}).  Each line is written with one
 * call, so lines from the library's worker threads never mix.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int log_json;
static int log_level = CLI_LOG_WARNING;

static const struct {
	const char *name;
	int level;
} levels[] = {
	{"DEBUG", 10}, {"INFO", 20}, {"WARNING", 30}, {"WARN", 30}, {"ERROR", 40}, {"CRITICAL", 50},
};

int
cli_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(name, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

static const char *
level_name(int level)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "LOG";
}

static void
json_escape(strbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			sb_printf(b, "\\%c", c);
		else if (c == '\n')
			sb_puts(b, "\\n");
		else if (c < 0x20)
			sb_printf(b, "\\u%04x", c);
		else
			sb_putc(b, (char)c);
	}
}

static void
write_line(int level, const char *message)
{
	strbuf line = STRBUF_INIT;
	if (log_json) {
		char ts[64];
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		sb_printf(&line, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"logger\":\"pg2md\",\"msg\":\"", ts,
			  now.tv_nsec / 1000000, level_name(level));
		json_escape(&line, message);
		sb_puts(&line, "\"}\n");
	} else {
		const char *tag = level >= CLI_LOG_ERROR ? "error" : level >= CLI_LOG_WARNING ? "warning"
				: level >= CLI_LOG_INFO ? "info" : "debug";
		sb_printf(&line, "pg2md: %s: %s\n", tag, message);
	}
	fputs(line.data, stderr);
	fflush(stderr);
	sb_release(&line);
}

/* The library's lines: it has already dropped those below the level. */
static void
sink(void *arg, int level, const char *message)
{
	(void)arg;
	write_line(level, message);
}

void
cli_log_start(void)
{
	pg2md_set_log(sink, NULL);
}

void
cli_log_setup(const pg2md_pipeline *p)
{
	const pg2md_pipeline_info *info = pg2md_describe(p);
	int lvl = cli_log_level_parse(info->log_level);
	log_level = lvl >= 0 ? lvl : CLI_LOG_WARNING;
	log_json = info->log_json;
}

void
cli_log(int level, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	if (level < log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	write_line(level, buf);
}

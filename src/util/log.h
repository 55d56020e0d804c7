/*
 * log.h — leveled logging into the sink the library's user registered.
 *
 * Levels are dlt's ([runtime] log_level): DEBUG, INFO, WARNING, ERROR,
 * CRITICAL.  Callers never pass secrets; connection strings are logged only
 * through pg2md_redact().  Thread-safe: the sink gets one line at a time.
 * The library itself writes nowhere: the command line's sink writes the
 * lines to stderr, as text or JSON (src/cli/cli_log.c).
 */
#ifndef PG2MD_LOG_H
#define PG2MD_LOG_H

typedef enum pg2md_log_level {
	PG2MD_LOG_DEBUG = 10,
	PG2MD_LOG_INFO = 20,
	PG2MD_LOG_WARNING = 30,
	PG2MD_LOG_ERROR = 40,
	PG2MD_LOG_CRITICAL = 50
} pg2md_log_level;

/* Parse "DEBUG", "info", … ; returns -1 when the name is unknown. */
int pg2md_log_level_parse(const char *name);
const char *pg2md_log_level_name(pg2md_log_level level);

void pg2md_log_set_level(pg2md_log_level level);
int pg2md_log_enabled(pg2md_log_level level);

void pg2md_log(pg2md_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Where log lines go: the sink registered (pg2md_set_log in pg2md.h), or nowhere.  fn gets the
 * level and the message without a prefix, one call per line, never two at once.
 */
typedef void (*pg2md_log_sink)(void *arg, int level, const char *message);
void pg2md_log_set_sink(pg2md_log_sink fn, void *arg);

#define pg2md_debug(...) pg2md_log(PG2MD_LOG_DEBUG, __VA_ARGS__)
#define pg2md_info(...) pg2md_log(PG2MD_LOG_INFO, __VA_ARGS__)
#define pg2md_warn(...) pg2md_log(PG2MD_LOG_WARNING, __VA_ARGS__)

#endif

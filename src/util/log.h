/*
 * log.h — leveled logging to stderr, as text or JSON lines.
 *
 * Levels are dlt's ([runtime] log_level): DEBUG, INFO, WARNING, ERROR,
 * CRITICAL.  Callers never pass secrets; connection strings are logged only
 * through pg2md_redact().  Thread-safe: one line is written atomically.
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
void pg2md_log_set_json(int json);
int pg2md_log_enabled(pg2md_log_level level);

void pg2md_log(pg2md_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Where log lines go: by default stderr (the command-line tool's choice); a library user
 * registers its own sink (pg2md_set_log in pg2md.h), or none to drop them.  fn gets the level
 * and the message without the "pg2md: warning: " prefix, one call per line, never two at once.
 */
typedef void (*pg2md_log_sink)(void *arg, int level, const char *message);
void pg2md_log_set_sink(pg2md_log_sink fn, void *arg, int use_stderr);

#define pg2md_debug(...) pg2md_log(PG2MD_LOG_DEBUG, __VA_ARGS__)
#define pg2md_info(...) pg2md_log(PG2MD_LOG_INFO, __VA_ARGS__)
#define pg2md_warn(...) pg2md_log(PG2MD_LOG_WARNING, __VA_ARGS__)

#endif

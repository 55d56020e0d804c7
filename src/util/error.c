/* error.c — first-failure-wins error buffer (see error.h). */
#include "util/error.h"

#include <stdio.h>
#include <string.h>

void
pg2md_error_init(pg2md_error *err)
{
	memset(err, 0, sizeof(*err));
}

pg2md_code
pg2md_vfail(pg2md_error *err, pg2md_code code, const char *fmt, va_list ap)
{
	if (err->code != PG2MD_OK)
		return err->code;
	err->code = code;
	err->sqlstate[0] = '\0';
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	pg2md_chomp(err->msg);
	err->detail[0] = '\0';
	err->hint[0] = '\0';
	return code;
}

pg2md_code
pg2md_fail(pg2md_error *err, pg2md_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pg2md_vfail(err, code, fmt, ap);
	va_end(ap);
	return err->code;
}

pg2md_code
pg2md_nomem(pg2md_error *err)
{
	return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
}

void
pg2md_sqlstate(pg2md_error *err, const char *state)
{
	if (err->code != PG2MD_OK && !err->sqlstate[0] && state && strlen(state) == 5)
		memcpy(err->sqlstate, state, 6);
}

void
pg2md_detail(pg2md_error *err, const char *fmt, ...)
{
	va_list ap;
	if (err->detail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	pg2md_chomp(err->detail);
}

void
pg2md_hint(pg2md_error *err, const char *fmt, ...)
{
	va_list ap;
	if (err->hint[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
	pg2md_chomp(err->hint);
}

void
pg2md_error_merge(pg2md_error *dst, const pg2md_error *src)
{
	if (dst->code != PG2MD_OK || src->code == PG2MD_OK)
		return;
	*dst = *src;
}

void
pg2md_chomp(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* naming.c — dlt's snake_case naming convention, and "direct" (see naming.h). */
#include "schema/naming.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "util/buf.h"

char *
naming_normalize(const char *convention, const char *name)
{
	pg2md_buf out = PG2MD_BUF_INIT;
	size_t n = strlen(name);

	if (convention && strcmp(convention, "direct") == 0)
		return xstrdup(name);
	if (n > 0 && isdigit((unsigned char)name[0]))
		buf_putc(&out, '_');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x80) {
			/* Non-ASCII (UTF-8) letters are kept as they are, as dlt does. */
			buf_putc(&out, (char)c);
		} else if (isupper(c)) {
			/* aB -> a_b ; ABc -> a_bc (an acronym followed by a word) */
			bool prev_lower = i > 0 && (islower((unsigned char)name[i - 1]) || isdigit((unsigned char)name[i - 1]));
			bool acronym_end = i > 0 && isupper((unsigned char)name[i - 1]) && i + 1 < n &&
					   islower((unsigned char)name[i + 1]);
			if ((prev_lower || acronym_end) && out.len > 0 && out.data[out.len - 1] != '_')
				buf_putc(&out, '_');
			buf_putc(&out, (char)tolower(c));
		} else if (isalnum(c) || c == '_') {
			buf_putc(&out, (char)c);
		} else {
			buf_putc(&out, '_');
		}
	}
	if (out.len == 0)
		buf_putc(&out, '_');
	return buf_detach(&out);
}

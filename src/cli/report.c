/*
 * report.c — `pg2md trace --html FILE`: one self-contained HTML page drawn
 * from the stored trace (trace.json), so it works after the run, from the
 * pipeline folder alone.
 *
 * The page is src/cli/report.html, compiled in (scripts/embed.cmake): inline
 * CSS, an inline script that draws the timeline and the throughput chart as
 * SVG, no URL of any kind and a Content-Security-Policy forbidding every
 * request, so it opens anywhere without a network.  The trace goes into the
 * page's <script type="application/json"> element at the marker, as JSON in
 * which nothing can end the element or start markup: every non-ASCII
 * character is a \u escape, and so are <, >, & (and / is \/), which JSON
 * allows inside strings, the only place they occur.  The script reads it
 * with JSON.parse and puts every value on the page as text (textContent,
 * setAttribute), never as markup: a table named </script> or "<b>" is shown
 * as exactly that.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


extern const char pg2md_report_template[];
extern const size_t pg2md_report_template_len;

#define MARKER "/*PG2MD_TRACE_JSON*/"

/* The trace as JSON that is safe inside a <script> element (see the comment at the top). */
static char *
embeddable_json(json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH);
	strbuf b = STRBUF_INIT;
	if (!text)
		return NULL;
	for (const char *s = text; *s; s++) {
		switch (*s) {
		case '<': sb_puts(&b, "\\u003c"); break;
		case '>': sb_puts(&b, "\\u003e"); break;
		case '&': sb_puts(&b, "\\u0026"); break;
		default: sb_putc(&b, *s); break;
		}
	}
	free(text);
	return sb_detach(&b);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

char *
report_html_render(json_t *trace)
{
	const char *tpl = pg2md_report_template;
	const char *at = strstr(tpl, MARKER);
	char *data;
	strbuf b = STRBUF_INIT;

	if (!at)
		return NULL; /* the build embedded a page without the marker */
	data = embeddable_json(trace);
	if (!data)
		return NULL;
	sb_append(&b, tpl, (size_t)(at - tpl));
	sb_puts(&b, data);
	sb_puts(&b, at + strlen(MARKER));
	free(data);
	return sb_detach(&b);
}

int
report_html_write(const char *path, json_t *trace, pg2md_err *err)
{
	char *page = report_html_render(trace);
	char *tmp = NULL;
	int fd = -1;
	size_t len;

	if (!page) {
		cli_fail(err, PG2MD_FAILED, "could not render the HTML report");
		return -1;
	}
	len = strlen(page);
	if (strcmp(path, "-") == 0) {
		if (write_all(STDOUT_FILENO, page, len) != 0)
			cli_fail(err, PG2MD_FAILED, "could not write the HTML report to stdout: %s", strerror(errno));
		free(page);
		return err->status != PG2MD_SUCCESS ? -1 : 0;
	}
	/*
	 * A temporary file next to FILE, then rename: a reader never sees half a page.  mkstemp
	 * makes it new (never through a planted link) and readable by the user only, like
	 * trace.json: the report can quote source values in an error message.
	 */
	tmp = cli_asprintf("%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0 || write_all(fd, page, len) != 0 || fsync(fd) != 0) {
		cli_fail(err, PG2MD_CONFIG, "could not write the HTML report \"%s\": %s", path, strerror(errno));
		cli_hint(err, "choose a FILE in a folder you can write, e.g. pg2md trace --html report.html");
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
	} else if (close(fd) != 0 || rename(tmp, path) != 0) {
		cli_fail(err, PG2MD_CONFIG, "could not write the HTML report \"%s\": %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(page);
	return err->status != PG2MD_SUCCESS ? -1 : 0;
}

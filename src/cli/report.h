/*
 * report.h — the HTML report of a run (`pg2md trace --html FILE`), drawn from
 * its stored trace.json; see report.c.
 */
#ifndef PG2MD_CLI_REPORT_H
#define PG2MD_CLI_REPORT_H

#include <jansson.h>

#include "cli.h"

/* The page for a trace document (caller frees); NULL when it cannot be rendered. */
char *report_html_render(json_t *trace);

/* Write the page to path ("-": stdout), atomically (temporary name, fsync, rename); 0, or -1 with err filled. */
int report_html_write(const char *path, json_t *trace, pg2md_err *err);

#endif

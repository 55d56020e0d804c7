/*
 * cmd_check.c — `pg2md check`: everything a run needs, tested before any data moves
 * (pg2md_check), printed as a checklist of "ok" / "FAILED" lines as the results come.
 *
 * Exit codes: 0 all passed; 3 a connection failed (either side); 1 a table is missing or
 * unreadable, or the destination is not writable; 2 configuration (no credentials at all,
 * which wins over 3 and 1).  Both sides are always checked, so one run of `check` reports
 * everything.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define INDENT "          "

typedef struct printer {
	const char *section;    /* of the last item printed */
} printer;

/* "DETAIL:  text" under a checklist line; the text's own lines stay under its first. */
static void
item_note(const char *label, const char *text)
{
	int lw = (int)strlen(label) + 3;
	printf(INDENT "%s:  ", label);
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			while (p[1] == '\n')
				p++;
			if (!p[1])
				break;
			printf("\n" INDENT "%*s", lw, "");
		} else {
			putchar(*p);
		}
	}
	putchar('\n');
}

/* One item: "  ok      what" or "  FAILED  what", its detail and hint, its further lines. */
static void
print_item(void *arg, const pg2md_check_item *it)
{
	printer *pr = arg;
	if (!pr->section || strcmp(pr->section, it->section) != 0) {
		printf("%s%s: %s\n", pr->section ? "\n" : "", it->section, it->system);
		pr->section = it->section;
	}
	printf("  %-8s%s\n", it->ok ? "ok" : "FAILED", it->text);
	if (it->detail)
		item_note("DETAIL", it->detail);
	if (it->hint)
		item_note("HINT", it->hint);
	for (int i = 0; i < it->nnotes; i++)
		printf(INDENT "%s\n", it->notes[i]);
	fflush(stdout);
}

int
cmd_check(cli_opts *opts)
{
	int code;
	pg2md_pipeline *p;
	const pg2md_check_info *info;
	pg2md_err err;
	printer pr = {NULL};

	if ((code = cli_no_args(opts, "check")) != 0)
		return code;
	p = cli_open(opts, &code);
	if (!p)
		return code;
	printf("pg2md check: project \"%s\", pipeline \"%s\"\n\n", pg2md_describe(p)->project_dir,
	       pg2md_describe(p)->pipeline_name);
	fflush(stdout);
	if (pg2md_check(p, print_item, &pr, &info, &err) != PG2MD_SUCCESS) {
		cli_print_error(&err);
		pg2md_close(p);
		return cli_exit_code(err.status);
	}
	putchar('\n');
	if (info->nfailed == 0) {
		printf("all %d checks passed\n", info->npassed);
		code = EXIT_OK;
	} else {
		printf("%d of %d checks FAILED\n", info->nfailed, info->nitems);
		fflush(stdout);
		code = cli_exit_code(info->status);
		fprintf(stderr, "pg2md: error: %d check%s failed\n", info->nfailed, info->nfailed == 1 ? "" : "s");
		if (info->status == PG2MD_CONNECT || info->status == PG2MD_CONFIG)
			for (int i = 0; i < info->nitems; i++)
				if (info->items[i].status == PG2MD_CONNECT) {
					fprintf(stderr, "HINT:  see the FAILED lines above; a connection could not be made\n");
					break;
				}
	}
	pg2md_close(p);
	return code;
}

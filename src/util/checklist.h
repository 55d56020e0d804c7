/*
 * checklist.h — the results of `pg2md check`, as they are found: one "ok" or "FAILED" item
 * per thing tested, in sections (the source, then the destination), each item with an optional
 * detail, hint and further lines (a dataset's tables).  source/check.c and dest/check.c fill
 * it; src/api/ hands it to the caller (pg2md.h, pg2md_check), which prints it.
 *
 * The detail, hint and note calls apply to the item added last.  A finished item (one followed
 * by another, or by a new section, or by checklist_flush) is handed to the callback, so a
 * caller can print each line as soon as it is known.
 *
 * When memory runs out the list is "broken" (cl->oom, as a pg2md_buf): what could not be kept is
 * dropped, later calls do nothing, and its user reports PG2MD_ERR_NOMEM instead of the list.
 */
#ifndef PG2MD_CHECKLIST_H
#define PG2MD_CHECKLIST_H

#include <stdbool.h>

#include "util/error.h"

typedef struct check_item {
	int section;        /* index into the checklist's sections */
	bool ok;
	pg2md_code code;    /* PG2MD_OK, or what kind of failure: PG2MD_ERR_CONNECT, PG2MD_ERR_USAGE, PG2MD_ERR_RUN */
	char *text;
	char *detail;       /* NULL when none */
	char *hint;         /* NULL when none */
	char **notes;       /* further lines under the item */
	int nnotes;
} check_item;

typedef struct check_section {
	char *role;         /* "source" or "destination" */
	char *system;       /* "PostgreSQL", "DuckDB", "MotherDuck" */
} check_section;

struct checklist;
/* A finished item: cl->items[index]. */
typedef void (*checklist_fn)(void *arg, const struct checklist *cl, int index);

typedef struct checklist {
	check_section *sections;
	int nsections;
	check_item *items;
	int nitems;
	int emitted;        /* items handed to fn so far */
	checklist_fn fn;    /* may be NULL */
	void *arg;
	bool oom;           /* memory ran out: something was not kept; nothing more is added or handed on */
} checklist;

#define CHECKLIST_INIT {NULL, 0, NULL, 0, 0, NULL, NULL, false}

/* Start a section; the items added from now on belong to it. */
void checklist_section(checklist *cl, const char *role, const char *system);

/* Add an item: ok, or a failure of kind code (PG2MD_ERR_RUN unless said otherwise). */
void check_ok(checklist *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_failed(checklist *cl, pg2md_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The detail, hint or a further line of the item added last (the first detail and hint stay). */
void check_detail(checklist *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_hint(checklist *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_note(checklist *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failure's detail and hint, as a pg2md_error holds them. */
void check_error(checklist *cl, const pg2md_error *err);

/* Hand the items not handed yet to the callback. */
void checklist_flush(checklist *cl);

/* Counts: passed and failed items; *worst: PG2MD_OK when none failed, else the first of
 * PG2MD_ERR_USAGE, PG2MD_ERR_CONNECT, PG2MD_ERR_RUN that a failed item has. */
void checklist_counts(const checklist *cl, int *passed, int *failed, pg2md_code *worst);

void checklist_release(checklist *cl);

#endif

/* checklist.c — the results of `pg2md check` (see checklist.h). */
#include "util/checklist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static char *
vformat(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL; /* out of memory */
	return s;
}

/* Hand the items before upto to the callback. */
static void
emit_upto(checklist *cl, int upto)
{
	while (cl->emitted < upto && !cl->oom) {
		int i = cl->emitted++;
		if (cl->fn)
			cl->fn(cl->arg, cl, i);
	}
}

void
checklist_section(checklist *cl, const char *role, const char *system)
{
	emit_upto(cl, cl->nitems);
	if (cl->oom)
		return;
	check_section *sections = xrealloc(cl->sections, (size_t)(cl->nsections + 1) * sizeof(check_section));
	if (!sections) {
		cl->oom = true;
		return;
	}
	cl->sections = sections;
	sections[cl->nsections].role = xstrdup(role);
	sections[cl->nsections].system = xstrdup(system);
	cl->nsections++;
	if (!sections[cl->nsections - 1].role || !sections[cl->nsections - 1].system)
		cl->oom = true; /* released with the others */
}

static void
add(checklist *cl, bool ok, pg2md_code code, const char *fmt, va_list ap)
{
	emit_upto(cl, cl->nitems);
	if (cl->oom)
		return;
	char *text = vformat(fmt, ap);
	check_item *items = text ? xrealloc(cl->items, (size_t)(cl->nitems + 1) * sizeof(check_item)) : NULL;
	if (!items) {
		free(text);
		cl->oom = true;
		return;
	}
	cl->items = items;
	check_item *it = &cl->items[cl->nitems++];
	memset(it, 0, sizeof(*it));
	it->section = cl->nsections - 1;
	it->ok = ok;
	it->code = ok ? PG2MD_OK : code;
	it->text = text;
}

void
check_ok(checklist *cl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add(cl, true, PG2MD_OK, fmt, ap);
	va_end(ap);
}

void
check_failed(checklist *cl, pg2md_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add(cl, false, code, fmt, ap);
	va_end(ap);
}

static check_item *
last(checklist *cl)
{
	return cl->nitems > 0 ? &cl->items[cl->nitems - 1] : NULL;
}

void
check_detail(checklist *cl, const char *fmt, ...)
{
	check_item *it = last(cl);
	va_list ap;
	if (!it || it->detail || cl->oom)
		return;
	va_start(ap, fmt);
	it->detail = vformat(fmt, ap);
	va_end(ap);
	cl->oom = !it->detail;
}

void
check_hint(checklist *cl, const char *fmt, ...)
{
	check_item *it = last(cl);
	va_list ap;
	if (!it || it->hint || cl->oom)
		return;
	va_start(ap, fmt);
	it->hint = vformat(fmt, ap);
	va_end(ap);
	cl->oom = !it->hint;
}

void
check_note(checklist *cl, const char *fmt, ...)
{
	check_item *it = last(cl);
	va_list ap;
	if (!it || cl->oom)
		return;
	char **notes = xrealloc(it->notes, (size_t)(it->nnotes + 1) * sizeof(char *));
	if (!notes) {
		cl->oom = true;
		return;
	}
	it->notes = notes;
	va_start(ap, fmt);
	notes[it->nnotes] = vformat(fmt, ap);
	va_end(ap);
	if (notes[it->nnotes])
		it->nnotes++;
	else
		cl->oom = true;
}

void
check_error(checklist *cl, const pg2md_error *err)
{
	if (err->detail[0])
		check_detail(cl, "%s", err->detail);
	if (err->hint[0])
		check_hint(cl, "%s", err->hint);
}

void
checklist_flush(checklist *cl)
{
	emit_upto(cl, cl->nitems);
}

void
checklist_counts(const checklist *cl, int *passed, int *failed, pg2md_code *worst)
{
	bool usage = false, connect = false;
	*passed = *failed = 0;
	for (int i = 0; i < cl->nitems; i++) {
		const check_item *it = &cl->items[i];
		if (it->ok) {
			(*passed)++;
			continue;
		}
		(*failed)++;
		usage |= it->code == PG2MD_ERR_USAGE;
		connect |= it->code == PG2MD_ERR_CONNECT;
	}
	*worst = *failed == 0 ? PG2MD_OK : usage ? PG2MD_ERR_USAGE : connect ? PG2MD_ERR_CONNECT : PG2MD_ERR_RUN;
}

void
checklist_release(checklist *cl)
{
	for (int i = 0; i < cl->nitems; i++) {
		check_item *it = &cl->items[i];
		free(it->text);
		free(it->detail);
		free(it->hint);
		for (int k = 0; k < it->nnotes; k++)
			free(it->notes[k]);
		free(it->notes);
	}
	for (int i = 0; i < cl->nsections; i++) {
		free(cl->sections[i].role);
		free(cl->sections[i].system);
	}
	free(cl->items);
	free(cl->sections);
	memset(cl, 0, sizeof(*cl));
}

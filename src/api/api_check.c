/*
 * api_check.c — pg2md_check: the source's checks (source/check.c), then the destination's
 * (dest/check.c), into one checklist; each item reaches the caller's callback as soon as it is
 * known.
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "dest/check.h"
#include "source/check.h"
#include "util/buf.h"
#include "util/mem.h"

void
api_check_release(pg2md_pipeline *p)
{
	checklist_release(&p->check);
	free(p->check_items);
	p->check_items = NULL;
}

/* The public view of item i (strings point into the checklist). */
static void
view(const checklist *cl, int i, pg2md_check_item *out)
{
	const check_item *it = &cl->items[i];
	const check_section *sec = &cl->sections[it->section];
	*out = (pg2md_check_item){sec->role, sec->system, it->ok, (pg2md_status)it->code, it->text, it->detail,
				  it->hint, it->nnotes, (const char *const *)it->notes};
}

static void
forward(void *arg, const checklist *cl, int i)
{
	pg2md_pipeline *p = arg;
	pg2md_check_item item;
	view(cl, i, &item);
	p->check_fn(p->check_arg, &item);
}

pg2md_status
pg2md_check(pg2md_pipeline *p, pg2md_check_fn fn, void *arg, const pg2md_check_info **out, pg2md_err *err)
{
	pg2md_error e;
	pg2md_code worst;
	checklist *cl = &p->check;

	pg2md_error_init(&e);
	api_begin();
	api_check_release(p);
	p->check_fn = fn;
	p->check_arg = arg;
	cl->fn = fn ? forward : NULL;
	cl->arg = p;
	/* both sides, always: one check reports everything */
	source_check(cl, p->cfg);
	dest_check(cl, p->cfg);
	/* a check that failed while memory ran out failed for that (as api_error says of errors) */
	checklist_counts(cl, &p->check_info.npassed, &p->check_info.nfailed, &worst);
	if (p->check_info.nfailed > 0 && mem_short())
		cl->oom = true;
	checklist_flush(cl);
	cl->fn = NULL;

	p->check_items = cl->oom ? NULL : xcalloc((size_t)cl->nitems + 1, sizeof(pg2md_check_item));
	if (!p->check_items) {
		/* an item or a line of one could not be kept: no partial answer */
		api_check_release(p);
		*out = NULL;
		return api_nomem(err);
	}
	for (int i = 0; i < cl->nitems; i++)
		view(cl, i, &p->check_items[i]);
	p->check_info.nitems = cl->nitems;
	p->check_info.items = p->check_items;
	checklist_counts(cl, &p->check_info.npassed, &p->check_info.nfailed, &worst);
	p->check_info.status = (pg2md_status)worst;
	*out = &p->check_info;
	return api_error(err, &e);
}

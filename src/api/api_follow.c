/*
 * api_follow.c — pg2md follow for any caller (cdc/follow.c does the work), LSNs as text, and
 * the watermarks `pg2md info` shows (dest/loads.c reads them).
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "cdc/pgoutput.h"
#include "dest/loads.h"
#include "util/buf.h"
#include "util/mem.h"

_Static_assert(PG2MD_LSN_TEXT >= PGO_LSN_TEXT, "PG2MD_LSN_TEXT holds an LSN as pgoutput.h writes it");

void
api_follow_release(pg2md_pipeline *p)
{
	json_decref(p->watermarks_doc);
	free(p->watermarks);
	p->watermarks_doc = NULL;
	p->watermarks = NULL;
}

const char *
pg2md_lsn_format(pg2md_lsn lsn, char *out)
{
	return pgo_lsn_format(lsn, out);
}

int
pg2md_lsn_parse(const char *text, pg2md_lsn *out)
{
	pgo_lsn lsn;
	if (!text || !pgo_lsn_parse(text, &lsn))
		return 0;
	*out = lsn;
	return 1;
}

pg2md_status
pg2md_follow(pg2md_pipeline *p, const pg2md_follow_options *opts, const pg2md_follow_info **out, pg2md_err *err)
{
	pg2md_error e;
	cdc_follow_opts fo = {0};
	cdc_follow_report *r = &p->follow;

	api_begin();
	pg2md_error_init(&e);
	if (opts) {
		fo.once = opts->once != 0;
		fo.has_endpos = opts->has_endpos != 0;
		fo.endpos = opts->endpos;
	}
	fo.reload = api_config_reload;
	fo.reload_arg = p;
	cdc_follow(p->cfg, &fo, r, &e);
	p->follow_info = (pg2md_follow_info){r->slot, r->publication, r->created_publication, r->initial_copy,
					     r->start_lsn, r->target_lsn, r->applied_lsn, r->transactions, r->changes,
					     r->rows_written, r->batches, r->interrupted, r->fresh_transactions,
					     r->fresh_p50_ms, r->fresh_p99_ms, r->fresh_max_ms, r->streamed,
					     r->stream_aborts, r->streamed_eager};
	if (out)
		*out = &p->follow_info;
	return api_error(err, &e);
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

pg2md_status
pg2md_watermarks(pg2md_pipeline *p, const pg2md_watermarks_info **out, pg2md_err *err)
{
	pg2md_error e;
	size_t i;
	json_t *w;

	api_begin();
	pg2md_error_init(&e);
	api_follow_release(p);
	p->watermarks_doc = dest_watermarks_json(p->cfg);
	p->watermarks = xcalloc(json_array_size(p->watermarks_doc) + 1, sizeof(pg2md_watermark));
	if (!p->watermarks || (!p->watermarks_doc && mem_short())) {
		api_follow_release(p);
		*out = NULL;
		return api_nomem(err);
	}
	json_array_foreach(p->watermarks_doc, i, w)
		p->watermarks[i] = (pg2md_watermark){str(w, "slot"), str(w, "applied_lsn"), str(w, "applied_at"),
						     json_integer_value(json_object_get(w, "seconds_ago"))};
	p->watermarks_info = (pg2md_watermarks_info){p->watermarks_doc != NULL, (int)json_array_size(p->watermarks_doc),
						     p->watermarks};
	*out = &p->watermarks_info;
	return api_error(err, &e);
}

pg2md_status
pg2md_slot(pg2md_pipeline *p, const pg2md_slot_info **out, pg2md_err *err)
{
	pg2md_error e;

	api_begin();
	pg2md_error_init(&e);
	cdc_slot_status_read(p->cfg, &p->slot, &e);
	const cdc_slot_status *s = &p->slot;
	p->slot_info = (pg2md_slot_info){
		.slot = s->slot,
		.exists = s->found,
		.active = s->active,
		.wal_status = s->wal_status,
		.safe_wal_size = s->safe_wal_size,
		.confirmed_lsn = s->confirmed_flush,
		.lag_bytes = s->lag_bytes,
		.warning = s->warn,
	};
	*out = &p->slot_info;
	return api_error(err, &e);
}

/*
 * api_drop.c — pg2md_drop_tables, pg2md_drop_all, pg2md_drop_pending on top of stage/drop.c,
 * whose result the caller reads as pg2md_drop_info.
 */
#include "api/api_int.h"

#include "cdc/admin.h"

#include <string.h>

void
api_drop_release(pg2md_pipeline *p)
{
	drop_result_release(&p->drop);
}

static pg2md_status
done(pg2md_pipeline *p, const pg2md_drop_info **out, pg2md_err *err, const pg2md_error *e)
{
	const drop_result *r = &p->drop;
	p->drop_info = (pg2md_drop_info){
		.refused = r->refused,
		.nothing = r->nothing,
		.destination = r->where,
		.dataset = r->dataset,
		.staging_dataset = r->staging,
		.pipeline_dir = r->pipeline_dir,
		.ntables = r->ntables,
		.tables = (const char *const *)r->tables,
		.staging_tables = r->staging_tables,
		.schema_tables = r->schema_tables,
		.state_tables = r->state_tables,
		.dropped_dataset = r->dropped_dataset,
		.dropped_staging = r->dropped_staging,
		.removed_folder = r->removed_folder,
		.npackages = r->npackages,
		.packages = (const char *const *)r->packages,
		.package_states = r->package_states,
		.slot = r->slot,
		.publication = r->publication,
		.dropped_slot = r->dropped_slot,
		.dropped_publication = r->dropped_publication,
		.publication_kept = r->publication_kept,
		.cleared_watermark = r->cleared_watermark,
	};
	*out = &p->drop_info;
	return api_error(err, e);
}

pg2md_status
pg2md_drop_tables(pg2md_pipeline *p, const char *tables, pg2md_confirm_fn confirm, void *arg,
		  const pg2md_drop_info **out, pg2md_err *err)
{
	pg2md_error e;
	pg2md_error_init(&e);
	api_begin();
	api_drop_release(p);
	drop_tables(p->cfg, tables ? tables : "", confirm, arg, &p->drop, &e);
	return done(p, out, err, &e);
}

pg2md_status
pg2md_drop_all(pg2md_pipeline *p, pg2md_confirm_fn confirm, void *arg, const pg2md_drop_info **out, pg2md_err *err)
{
	pg2md_error e;
	pg2md_error_init(&e);
	api_begin();
	api_drop_release(p);
	drop_all(p->cfg, confirm, arg, &p->drop, &e);
	return done(p, out, err, &e);
}

pg2md_status
pg2md_drop_pending(pg2md_pipeline *p, pg2md_confirm_fn confirm, void *arg, const pg2md_drop_info **out,
		   pg2md_err *err)
{
	pg2md_error e;
	pg2md_error_init(&e);
	api_begin();
	api_drop_release(p);
	drop_pending(p->cfg, confirm, arg, &p->drop, &e);
	return done(p, out, err, &e);
}

pg2md_status
pg2md_drop_replication(pg2md_pipeline *p, pg2md_confirm_fn confirm, void *arg, const pg2md_drop_info **out,
		       pg2md_err *err)
{
	pg2md_error e;
	pg2md_error_init(&e);
	api_begin();
	api_drop_release(p);
	cdc_drop_replication(p->cfg, confirm, arg, &p->drop, &e);
	return done(p, out, err, &e);
}

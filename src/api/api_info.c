/*
 * api_info.c — what `pg2md info` shows, for any caller: the load packages waiting in the
 * pipeline folder, the loads the destination recorded, a run going on in another process.
 * Nothing here connects to PostgreSQL or writes anything.
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "dest/loads.h"
#include "stage/package.h"
#include "stage/progress.h"
#include "util/buf.h"
#include "util/mem.h"

void
api_info_release(pg2md_pipeline *p)
{
	json_decref(p->packages_doc);
	free(p->packages);
	free(p->package_tables);
	json_decref(p->loads_doc);
	free(p->loads_note);
	free(p->loads);
	p->packages_doc = p->loads_doc = NULL;
	p->packages = NULL;
	p->package_tables = NULL;
	p->loads_note = NULL;
	p->loads = NULL;
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

pg2md_status
pg2md_packages(pg2md_pipeline *p, const pg2md_packages_info **out, pg2md_err *err)
{
	pg2md_error e;
	int loaded = 0;
	size_t i, k, ntables = 0;
	json_t *pk, *jt;

	pg2md_error_init(&e);
	api_begin();
	json_decref(p->packages_doc);
	free(p->packages);
	free(p->package_tables);
	p->packages = NULL;
	p->package_tables = NULL;
	p->packages_doc = pkg_pending_json(p->cfg, &loaded);
	if (!p->packages_doc && mem_short()) {
		*out = NULL;
		return api_nomem(err);
	} /* not "nothing pending": it could not be read */
	json_array_foreach(p->packages_doc, i, pk)
		ntables += json_array_size(json_object_get(pk, "tables"));
	p->packages = xcalloc(json_array_size(p->packages_doc) + 1, sizeof(pg2md_package));
	p->package_tables = xcalloc(ntables + 1, sizeof(pg2md_package_table));
	if (!p->packages || !p->package_tables) {
		api_info_release(p);
		*out = NULL;
		return api_nomem(err);
	}
	ntables = 0;
	json_array_foreach(p->packages_doc, i, pk) {
		json_t *tables = json_object_get(pk, "tables");
		pg2md_package *d = &p->packages[i];
		*d = (pg2md_package){str(pk, "load_id"), str(pk, "state"), str(pk, "path"), json_is_array(tables),
				     json_integer_value(json_object_get(pk, "rows")), (int)json_array_size(tables),
				     &p->package_tables[ntables]};
		json_array_foreach(tables, k, jt)
			p->package_tables[ntables++] =
				(pg2md_package_table){str(jt, "name"), json_integer_value(json_object_get(jt, "rows"))};
	}
	p->packages_info = (pg2md_packages_info){(int)json_array_size(p->packages_doc), p->packages, loaded};
	*out = &p->packages_info;
	return api_error(err, &e);
}

pg2md_status
pg2md_loads(pg2md_pipeline *p, int max, const pg2md_loads_info **out, pg2md_err *err)
{
	pg2md_error e;
	size_t i;
	json_t *jl;

	pg2md_error_init(&e);
	api_begin();
	json_decref(p->loads_doc);
	free(p->loads_note);
	free(p->loads);
	p->loads = NULL;
	p->loads_note = NULL;
	p->loads_doc = dest_loads_json(p->cfg, max > 0 ? max : 10, &p->loads_note);
	p->loads = xcalloc(json_array_size(p->loads_doc) + 1, sizeof(pg2md_load));
	if (!p->loads || (!p->loads_doc && mem_short())) {
		api_info_release(p);
		*out = NULL;
		return api_nomem(err);
	}
	json_array_foreach(p->loads_doc, i, jl)
		p->loads[i] = (pg2md_load){str(jl, "load_id"), str(jl, "schema_name"),
					   json_integer_value(json_object_get(jl, "status")), str(jl, "inserted_at"),
					   str(jl, "schema_version_hash")};
	p->loads_info = (pg2md_loads_info){p->loads_doc != NULL, p->loads_note, (int)json_array_size(p->loads_doc),
					   p->loads};
	*out = &p->loads_info;
	return api_error(err, &e);
}

pg2md_status
pg2md_running_json(pg2md_pipeline *p, char **json, pg2md_err *err)
{
	pg2md_error e;
	pg2md_error_init(&e);
	api_begin();
	json_t *st = progress_status_running(p->cfg);
	*json = NULL;
	if (st) {
		*json = json_dumps(st, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(st);
		if (!*json)
			return api_nomem(err);
	}
	return api_error(err, &e);
}

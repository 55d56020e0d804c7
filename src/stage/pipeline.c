/*
 * pipeline.c — a run: which stages to do and on which package (see pipeline.h).
 *
 * DESIGN.  A leader connection opens a repeatable-read transaction, exports
 * its snapshot and reflects the tables inside it.  The planner cuts each
 * table's leaves into page ranges (tasks); N workers, each owning one
 * PostgreSQL connection that imported the snapshot and one DuckDB connection,
 * take tasks from a shared counter.  A task is one SQL statement in DuckDB
 * reading the pg2md_scan table function: it writes a Parquet file (staged)
 * or inserts into a new destination table (direct).  A failed task records
 * its error on itself and stops the hand-out; the first failure is the one
 * reported.  Loading is one destination transaction per package: every
 * table's rows and the _dlt_loads row commit together or not at all.
 *
 * The stages live in their own files (pipeline_int.h lists them); this one takes the run's
 * lock, discards a half-extracted package, finishes a package an earlier run left pending
 * (and stops there, as dlt does), or runs the stages the command asked for.
 */
#include "stage/pipeline.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage/lock.h"
#include "stage/package.h"
#include "stage/pipeline_int.h"
#include "util/humanize.h"
#include "util/log.h"

pg2md_code
pipeline_run(const pg2md_config *cfg, int stages, pg2md_trace *trace, pg2md_error *err)
{
	double t0 = now_seconds();
	char *id;
	int lock = -1;

	memset(trace, 0, sizeof(*trace));
	trace->dataset = xstrdup(cfg->dataset_name);
	trace->timeline = trace_timeline_new(t0);
	if ((cfg->dataset_name && !trace->dataset) || !trace->timeline) {
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		goto out;
	}
	lock = pipeline_lock(cfg, err);
	if (lock < 0)
		goto out;
	if (pkg_init_dirs(cfg, err))
		goto out;

	/* A package that a crash left half-extracted is discarded. */
	while ((id = pkg_find(cfg, PKG_EXTRACTING, err)) != NULL) {
		char *p = pkg_dir(cfg, PKG_EXTRACTING, id);
		if (!p) {
			free(id);
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			goto out;
		}
		pg2md_warn("discarding package %s that an earlier run did not finish extracting", id);
		pkg_remove_tree(p);
		free(p);
		free(id);
	}
	if (pg2md_failed(err))
		goto out;
	/* A local DuckDB file that cannot be written fails now, before anything is read. */
	if (((stages & STAGE_LOAD) || ((stages & STAGE_EXTRACT) && cfg->direct)) && dest_check_writable(cfg, err))
		goto out;
	/* A package already extracted or normalized is finished first, and the run stops there. */
	if (stages == STAGE_ALL) {
		if ((id = pkg_find(cfg, PKG_NORMALIZED, err)) != NULL || (id = pkg_find(cfg, PKG_EXTRACTED, err)) != NULL) {
			char *np = pkg_dir(cfg, PKG_NORMALIZED, id);
			bool normalized = np && access(np, F_OK) == 0;
			trace->finished_pending = true;
			trace->pending_state = xstrdup(normalized ? "normalized" : "extracted");
			trace->load_id = xstrdup(id);
			if (!np || !trace->pending_state || !trace->load_id)
				pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			free(np);
			if (!normalized && !pg2md_failed(err))
				normalize_package(cfg, id, trace, err);
			if (!pg2md_failed(err))
				finish_package(cfg, id, trace, err);
			free(id);
			goto out;
		}
		if (pg2md_failed(err))
			goto out;
	} else if (stages == STAGE_NORMALIZE) {
		/* normalize takes the oldest extracted package */
		if ((id = pkg_find(cfg, PKG_EXTRACTED, err)) == NULL) {
			if (!pg2md_failed(err) &&
			    !(trace->note = xstrdup("nothing to normalize: no extracted load package is pending")))
				pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (!(trace->load_id = xstrdup(id)))
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		else
			normalize_package(cfg, id, trace, err);
		free(id);
		goto out;
	} else if (stages == STAGE_LOAD) {
		/* load takes the oldest normalized package */
		if ((id = pkg_find(cfg, PKG_NORMALIZED, err)) == NULL) {
			if (!pg2md_failed(err))
				id = pkg_find(cfg, PKG_EXTRACTED, err);
			if (!pg2md_failed(err))
				trace->note = id ? xasprintf("nothing to load: load package %s is extracted but not normalized "
							     "yet; run pg2md normalize first", id)
						 : xstrdup("nothing to load: no normalized load package is pending");
			if (!pg2md_failed(err) && !trace->note)
				pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			free(id);
			goto out;
		}
		if (!(trace->load_id = xstrdup(id)))
			pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		else
			finish_package(cfg, id, trace, err);
		free(id);
		goto out;
	}
	/* A remote destination is tried before any data moves, so a wrong token or no network
	 * costs seconds, not a whole extraction. */
	if ((stages & STAGE_LOAD) && pg2md_config_motherduck(cfg)) {
		pg2md_dest probe;
		if (dest_open(&probe, cfg, 1, err))
			goto out;
		dest_close(&probe);
	}
	if (stages & STAGE_EXTRACT)
		extract_run(cfg, cfg->direct, stages, trace, err);

out:
	pipeline_unlock(lock);
	trace->t_total = now_seconds() - t0;
	trace->peak_rss = peak_rss_bytes();
	trace->result = err->code;
	return err->code;
}

void
pipeline_trace_release(pg2md_trace *trace)
{
	for (int i = 0; i < trace->ntables; i++) {
		free(trace->tables[i].name);
		free(trace->tables[i].dest_name);
		free(trace->tables[i].disposition);
	}
	free(trace->tables);
	free(trace->load_id);
	free(trace->pending_state);
	free(trace->note);
	free(trace->destination);
	free(trace->dataset);
	free(trace->found_in);
	trace_timeline_free(trace->timeline);
	memset(trace, 0, sizeof(*trace));
}

/*
 * apply.h — applying a folded batch of changes (fold.h) to the mirror tables in DuckDB, with
 * the applied LSN watermark in the same transaction.
 *
 * The watermark lives in "<dataset>"."_pg2md_cdc" (one row per slot: slot_name, applied_lsn as a
 * number and as PostgreSQL writes it, applied_at).  Every batch is one DuckDB transaction: the
 * rows of every table it touches and the new watermark commit together or not at all, so a
 * crash at any point leaves the destination at a transaction boundary it names itself.
 *
 * Values: binary tuples only, decoded by the same per-type decoders as COPY (xfer/copydec.h),
 * into a stage table per table and batch; then set-based statements: the 'u' (unchanged TOAST)
 * columns filled from the destination rows they belong to, the keys' rows deleted, the new
 * images inserted (a transform's output over them, xform.h; lineage columns get the batch's
 * values).  Tables whose columns pg2md reads as text (ranges, inet, money, …) or that have
 * data_type overrides are refused for now (cdc_check_table).
 */
#ifndef PG2MD_CDC_APPLY_H
#define PG2MD_CDC_APPLY_H

#include "cdc/fold.h"
#include "cdc/pgoutput.h"
#include "config/config.h"
#include "dest/duck.h"
#include "schema/table.h"
#include "util/error.h"

/* Run sql (DuckDB statements) on d; under MotherDuck's rules only when no statement is over
 * MotherDuck's 512 KB cap (PG2MD_ERR_RUN with a hint otherwise; dest/load.h MD_STATEMENT_MAX). */
pg2md_code cdc_exec(pg2md_dest *d, const char *sql, const char *what, pg2md_error *err);

/* The slot's watermark; *found false when the destination has none (no table or no row). */
pg2md_code cdc_watermark_read(pg2md_dest *d, const pg2md_config *cfg, const char *slot, bool *found, pgo_lsn *lsn,
			      pg2md_error *err);
/* Set the slot's watermark in its own transaction (after the initial copy). */
pg2md_code cdc_watermark_set(pg2md_dest *d, const pg2md_config *cfg, const char *slot, pgo_lsn lsn, pg2md_error *err);
/* Remove the slot's watermark (a new initial copy will start). */
pg2md_code cdc_watermark_clear(pg2md_dest *d, const pg2md_config *cfg, const char *slot, pg2md_error *err);

/* Can table t be followed? PG2MD_ERR_USAGE naming the column and why when it cannot. */
pg2md_code cdc_check_table(const pg2md_config *cfg, const pg2md_table *t, pg2md_error *err);

/*
 * Apply batch f in one transaction with watermark lsn.  tables/ntables: the followed tables
 * (catalog), matched to relations by OID; changes of other relations are skipped.  rows counts
 * the rows written (inserted or deleted) into *applied when not NULL.
 */
pg2md_code cdc_apply_batch(pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *tables, int ntables,
			   const cdc_relcache *rc, const cdc_fold *f, const char *slot, pgo_lsn lsn, int64_t *applied,
			   pg2md_error *err);

/*
 * The same in steps, for a transaction applied in several folds (a streamed transaction read
 * back from disk): begin, apply each fold (rows counted into *applied), then commit with the
 * watermark, or roll back.  cdc_apply_commit rolls back itself when it fails.
 */
pg2md_code cdc_apply_begin(pg2md_dest *d, pg2md_error *err);
pg2md_code cdc_apply_fold(pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *tables, int ntables,
			  const cdc_relcache *rc, const cdc_fold *f, int64_t *applied, pg2md_error *err);
pg2md_code cdc_apply_commit(pg2md_dest *d, const pg2md_config *cfg, const char *slot, pgo_lsn lsn, pg2md_error *err);
void cdc_apply_rollback(pg2md_dest *d);

#endif

/*
 * follow_int.h — what the three parts of pg2md follow share; not an interface of the library.
 *
 * follow.c starts (publication, slot, initial copy) and resumes after a lost connection;
 * follow_apply.c turns the messages of whole transactions into applied batches (the fold, column
 * changes, the batch and its watermark); follow_stream.c reads the replication stream, with the
 * streamed large transactions.
 */
#ifndef PG2MD_CDC_FOLLOW_INT_H
#define PG2MD_CDC_FOLLOW_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "cdc/fold.h"
#include "cdc/follow.h"
#include "cdc/freshness.h"
#include "cdc/monitor.h"
#include "cdc/pgoutput.h"
#include "cdc/spill.h"
#include "cdc/stream.h"
#include "dest/duck.h"
#include "schema/table.h"
#include "util/error.h"

/* a streamed transaction is applied a fold of at most this much at a time (see apply_streamed) */
#define STREAM_FOLD_BYTES (8 * 1024 * 1024)
/* The work table a transaction applied in steps (follow_steps.c) writes: not the load's
 * NEW_TABLE_PREFIX, so a run's and follow's never meet. */
#define STEPS_TABLE_PREFIX "_pg2md_cdcw__"

typedef struct follow_state {
	pg2md_config *cfg;
	const cdc_follow_opts *opts;
	cdc_follow_report *rep;
	pg2md_dest dest;
	pg2md_table *tables;
	int ntables;
	cdc_stream *s;
	cdc_spill *spill;      /* streamed transactions until they commit (NULL: not asked for) */
	PGconn *pg;            /* a plain connection for the catalog (column changes), opened when needed */
	bool *check;           /* per table: compare its next Relation message with the destination */
	pgo_lsn *copy_lsn;     /* per table: its changes apply from transactions committing here on (tableset.h) */
	pgo_lsn txn_lsn;       /* the commit LSN of the transaction being read */
	int64_t txn_changes;   /* changes folded from the transaction being read */
	bool replaying;        /* applying a streamed transaction: a DuckDB transaction is open */
	bool text;             /* the stream sends text values (protocol 1) */
	uint32_t *touched;     /* while replaying: tables the open DuckDB transaction wrote */
	int ntouched, touchcap;
	cdc_relcache rc;
	cdc_fold fold;
	pgo_lsn watermark;     /* applied and committed */
	pgo_lsn folded_end;    /* end of the last transaction in the fold */
	int64_t folded_txns;
	int64_t last_advance;  /* monotonic ms of the last idle advance */
	int64_t batch_started; /* monotonic ms when the fold's first transaction was folded */
	cdc_freshness fresh;   /* commit-to-visible latency per applied transaction */
	cdc_monitor mon;       /* heartbeat, slot status, metrics file (monitor.h) */
	uint32_t stream_xid;   /* the transaction of the stream segment being read */
	/* a streamed transaction applied as it arrives (eager_begin): its DuckDB transaction is open */
	bool eager;
	bool eager_rel;        /* it evolved a table, or compared one with the destination */
	uint32_t eager_xid;
	int64_t eager_rows;
	int64_t eager_changes0;/* rep->changes when it began */
	uint64_t eager_msgs;
	/* a transaction applied in steps into work tables (follow_steps.c: past MotherDuck's
	 * bounds, or a column change after rows of its table): a step's DuckDB transaction is open */
	bool steps;
	char **work;           /* per table: its work table once made (the mirror and the steps so far), else NULL */
	int64_t step_rows;     /* rows written in the open step */
	int64_t step_started;  /* monotonic ms when the open step began */
	int nsteps;            /* steps committed */
	bool want_steps;       /* one streamed transaction met a column change only steps can apply */
	/* a transaction sent whole at its commit (not streamed) applied in steps as it is read, with
	 * the batch folded before it (follow_steps_begin_txn): a step's DuckDB transaction is open */
	bool txn_steps;
	int64_t txn_rows;      /* rows its steps wrote */
	/* a configuration reload (follow_reload.c) */
	bool *dest_open;       /* whether dest is open (a copy closes it) */
	bool reload_wanted;    /* the followed tables changed: the stream stops for follow_reload_apply */
	pg2md_config *next_cfg;   /* the configuration read again, holding the table settings to take */
	pg2md_config *seen_cfg;   /* the last read whose tables were taken (its provenance; NULL: the start's) */
	pg2md_table *next_tables; /* the tables to follow from then on, reflected with the new settings */
	int next_ntables;
} follow_state;

/* Monotonic milliseconds. */
int64_t follow_mono_ms(void);
/* The index of relid among the followed tables, -1 when it is not one. */
int follow_table_index(const follow_state *st, uint32_t relid);
/* Is relid a followed table? */
bool follow_followed(const follow_state *st, uint32_t relid);
/* Apply the fold (whole transactions only) with its watermark, then confirm it to the server. */
pg2md_code follow_flush_batch(follow_state *st, pg2md_error *err);
/* Idle with nothing folded: move the watermark to the server's sent position (at most every 10 s unless forced). */
pg2md_code follow_advance_idle(follow_state *st, pgo_lsn target, bool force, pg2md_error *err);
/* While a DuckDB transaction is open (a streamed transaction): the fold into it. */
pg2md_code follow_replay_apply(follow_state *st, int64_t *rows, pg2md_error *err);
/* A Relation message: the cache refreshed, a followed table's mirror evolved first when its shape changed. */
pg2md_code follow_handle_relation(follow_state *st, const pgo_msg *m, bool skip, int64_t *rows, pg2md_error *err);
/* An Insert, Update, Delete or Truncate into the fold (changes of tables not followed skipped). */
pg2md_code follow_fold_msg(follow_state *st, const pgo_msg *m, int64_t *rows, pg2md_error *err);
/* ---- follow_steps.c: a streamed transaction in bounded steps, under MotherDuck's rules ---- */

/* Drop the work tables a run stopped before its swap left behind (none: nothing done). */
pg2md_code follow_steps_cleanup(follow_state *st, pg2md_error *err);
/* Begin applying a streamed transaction in steps: the first step's DuckDB transaction. */
pg2md_code follow_steps_begin(follow_state *st, pg2md_error *err);
/* The fold into the work tables (each made at the first change of its table), then the step
 * committed and the next begun when it passed transaction_rows or transaction_seconds. */
pg2md_code follow_steps_apply(follow_state *st, int64_t *rows, pg2md_error *err);
/* Under MotherDuck's rules, whether the fold should be applied now (it holds a step's worth of
 * changes: the bounds are checked between folds). */
bool follow_steps_fold_full(const follow_state *st);
/* Before a column change of table ti: the open step committed (DuckDB cannot change a table's
 * rows and then its columns in one transaction), the work table made; *t: the table as the
 * column change must see it (its dest_name the work table's, owned by st until the next call). */
pg2md_code follow_steps_for_ddl(follow_state *st, int ti, pg2md_table *t, pg2md_error *err);
/* At the Stream Commit: the last step committed, then one short transaction swaps the work
 * tables in with the watermark lsn. */
pg2md_code follow_steps_commit(follow_state *st, const char *slot, pgo_lsn lsn, pg2md_error *err);
/* A failure: the open step rolled back, the work tables dropped (best effort). */
void follow_steps_abandon(follow_state *st);
/* A transaction not streamed, being read: the batch folded so far (the transactions before it
 * and its changes so far) applied in steps from here on, why said in the debug log. */
pg2md_code follow_steps_begin_txn(follow_state *st, const char *why, pg2md_error *err);
/* Its Commit: the last fold, the last step, the swap with the watermark end_lsn, the confirmation. */
pg2md_code follow_steps_commit_txn(follow_state *st, pgo_lsn end_lsn, int64_t ts, pg2md_error *err);
/* The run stops inside it: the steps abandoned, the fold dropped (the server sends it again). */
void follow_steps_abandon_txn(follow_state *st);

/* ---- follow.c, for a reload ---- */

/* Every table has a key the stream can name rows by, and a disposition follow can keep. */
pg2md_code follow_check_tables(PGconn *conn, const pg2md_config *cfg, const pg2md_table *tables, int n,
			       pg2md_error *err);
/* The publication: every table in it, or created / extended when the role may. */
pg2md_code follow_ensure_publication(PGconn *conn, const pg2md_config *cfg, const char *pub, const pg2md_table *tables,
				     int n, bool *created, pg2md_error *err);
/* DuckDB's budget raised for the widest followed table. */
pg2md_code follow_budget(follow_state *st, pg2md_error *err);
/* A new replication connection streaming from the watermark, as a restart would. */
pg2md_code follow_resume(follow_state *st, const cdc_system *sys, cdc_start_opts *chosen, pg2md_error *err);

/* ---- follow_reload.c: the configuration read again while following ---- */

/* Between transactions, after a reload request: the configuration read again.  Never fails
 * follow: a configuration that cannot be read, or whose tables cannot be followed, is logged and
 * the old one kept.  *restart: the followed tables or their settings changed (st->next_tables
 * and st->next_cfg set): the stream must stop for follow_reload_apply. */
void follow_reload_read(follow_state *st, bool *restart);
/* The stream stopped (the batch applied): the tables added copied in their own snapshot, the
 * removed ones no longer applied (tableset.c, as at a start), then streaming again from the
 * watermark. */
pg2md_code follow_reload_apply(follow_state *st, const cdc_system *sys, cdc_start_opts *chosen, pg2md_error *err);

/* Read the stream and apply it until done (target reached, stopped) or failed. */
pg2md_code follow_stream_changes(follow_state *st, pgo_lsn target, int proto, pg2md_error *err);

#endif

/*
 * spill.h — the changes of streamed transactions, kept on disk until their Stream Commit.
 *
 * With streaming 'on' (pgoutput protocol 2+, PostgreSQL 14+) the server sends a transaction
 * larger than its logical_decoding_work_mem in segments (Stream Start … Stream Stop) before it
 * commits, interleaved with other transactions, and ends it with Stream Commit or Stream
 * Abort.  pg2md keeps each one's messages, as the server sent them, in one file per top-level
 * transaction in a folder of the pipeline's working folder, so memory stays bounded whatever
 * the transaction's size; at Stream Commit the caller reads them back in order and applies
 * them; at Stream Abort the file goes.
 *
 * Subtransactions: every data message of a streamed transaction carries the xid of the
 * (sub)transaction that made the change.  The file position where each subtransaction's
 * first change went is remembered; a Stream Abort naming a subtransaction (ROLLBACK TO
 * SAVEPOINT) cuts the file there.  Everything after that point belongs to the aborted
 * subtransaction or to subtransactions nested in it (a subtransaction's changes come after
 * its start, and its parent makes none until it ends), which aborted with it.  This is what
 * PostgreSQL's own apply worker does (worker.c, subxact_info_add / stream_abort).
 *
 * Files of a process that died are removed when the store is opened: the server sends every
 * transaction not committed before the slot's confirmed position again, from its start.
 *
 * Record format: a 4-byte length (host order) then the pgoutput message.
 */
#ifndef PG2MD_CDC_SPILL_H
#define PG2MD_CDC_SPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct cdc_spill cdc_spill;

/* The store in folder dir (created; leftover *.spill files removed).  NULL with err set. */
cdc_spill *cdc_spill_open(const char *dir, pg2md_error *err);
/* Close it, removing every file it still holds. */
void cdc_spill_close(cdc_spill *s);

/* Stream Start of top-level xid: later writes go to its file (reset when first is true). */
pg2md_code cdc_spill_start(cdc_spill *s, uint32_t xid, bool first, pg2md_error *err);
/* One data message of the current stream, made by (sub)transaction subxid. */
pg2md_code cdc_spill_write(cdc_spill *s, uint32_t subxid, const uint8_t *msg, size_t len, pg2md_error *err);
/* Stream Stop: the file is flushed and closed until the transaction's next segment. */
pg2md_code cdc_spill_stop(cdc_spill *s, pg2md_error *err);
/* Stream Abort: subxid == xid drops the transaction, else the subtransaction's changes
 * (nothing when it made none that reached the file). */
pg2md_code cdc_spill_abort(cdc_spill *s, uint32_t xid, uint32_t subxid, pg2md_error *err);
/* Forget xid's file (after it was applied, or skipped). */
void cdc_spill_discard(cdc_spill *s, uint32_t xid);

/* Bytes held for xid (0 when none); transactions held; bytes held by all. */
uint64_t cdc_spill_size(const cdc_spill *s, uint32_t xid);
int cdc_spill_count(const cdc_spill *s);

/* Reading a transaction back at its Stream Commit. */
typedef struct cdc_spill_reader {
	void *fp;
	uint8_t *buf;
	size_t cap;
	uint64_t left;         /* bytes of the file not yet read */
	const char *path;
} cdc_spill_reader;

/* Open xid's file for reading; *empty true (and nothing opened) when xid has none. */
pg2md_code cdc_spill_read_open(cdc_spill *s, uint32_t xid, cdc_spill_reader *r, bool *empty, pg2md_error *err);
/* The next message (valid until the next call); *msg NULL at the end. */
pg2md_code cdc_spill_read_next(cdc_spill_reader *r, const uint8_t **msg, size_t *len, pg2md_error *err);
void cdc_spill_read_close(cdc_spill_reader *r);

#endif

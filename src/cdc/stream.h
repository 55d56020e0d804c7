/*
 * stream.h — the logical replication connection (libpq, replication=database): identify the
 * system, create or look up the slot, START_REPLICATION with pgoutput's options, then the
 * CopyBoth loop that hands out pgoutput messages and keeps the server content.
 *
 * The server is kept content by this file alone: a keepalive that asks for a reply is answered
 * at once, and a standby status update goes out on a timer well inside wal_sender_timeout
 * (half of it, at most every 10 s) even while the caller is busy elsewhere, as long as it calls
 * cdc_stream_next or cdc_stream_tick.  The positions it reports:
 *   write  the end of the last WAL record received (what the server may stop resending),
 *   flush  what the caller confirmed with cdc_stream_confirm: only after the destination
 *          committed it, and never backwards (a smaller value is ignored),
 *   apply  the same as flush.
 * The slot's confirmed_flush_lsn follows flush; the server keeps every WAL record after it.
 */
#ifndef PG2MD_CDC_STREAM_H
#define PG2MD_CDC_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "cdc/pgoutput.h"
#include "util/error.h"

typedef struct cdc_stream cdc_stream;

/* IDENTIFY_SYSTEM's answer. */
typedef struct cdc_system {
	char systemid[32];
	int timeline;
	pgo_lsn xlogpos;       /* the server's flushed end of WAL now */
	char dbname[128];
	int server_version;    /* PQserverVersion: 150004 for 15.4 */
} cdc_system;

/*
 * Open a replication connection (replication=database added to keys/values, which are libpq's
 * connection keywords, NULL-terminated; PG* variables fill what they leave out).  Checks that
 * the server can decode logically (wal_level = logical).  On failure returns NULL with err set
 * (PG2MD_ERR_CONNECT), saying what to change when the role lacks REPLICATION, pg_hba.conf has no
 * replication line, or wal_level is not logical.
 */
cdc_stream *cdc_stream_open(const char *const *keys, const char *const *values, pg2md_error *err);
void cdc_stream_close(cdc_stream *s);

pg2md_code cdc_stream_identify(cdc_stream *s, cdc_system *out, pg2md_error *err);

/*
 * CREATE_REPLICATION_SLOT slot LOGICAL pgoutput, exporting its snapshot.  *snapshot (caller
 * frees) is usable with SET TRANSACTION SNAPSHOT from other connections until the next command
 * on this one (cdc_stream_start ends it).  *consistent is the LSN from which changes stream: the
 * snapshot sees every transaction that committed before it, the stream every one after.
 * temporary: the slot goes away with the connection (tests).
 */
pg2md_code cdc_stream_create_slot(cdc_stream *s, const char *slot, bool temporary, char **snapshot,
				  pgo_lsn *consistent, pg2md_error *err);

/* The slot as pg_replication_slots shows it; *found false when there is none by that name. */
typedef struct cdc_slot_info {
	bool found;
	char plugin[64];
	char database[128];
	pgo_lsn confirmed_flush;
	pgo_lsn restart_lsn;
	char wal_status[16];   /* reserved, extended, unreserved, lost; "" before PostgreSQL 13 */
	bool active;
} cdc_slot_info;
pg2md_code cdc_stream_slot_info(cdc_stream *s, const char *slot, cdc_slot_info *out, pg2md_error *err);
/* pg_current_wal_insert_lsn(): past every transaction committed so far, asynchronous commits
 * (synchronous_commit = off) included, which IDENTIFY_SYSTEM's flushed position may not be yet. */
pg2md_code cdc_stream_current_lsn(cdc_stream *s, pgo_lsn *out, pg2md_error *err);
pg2md_code cdc_stream_drop_slot(cdc_stream *s, const char *slot, pg2md_error *err);

/* What START_REPLICATION asks pgoutput for; 0 and -1 mean "from the server version". */
typedef struct cdc_start_opts {
	int proto_version;     /* 0: 2 on PostgreSQL 14+, else 1 */
	int binary;            /* -1: on from PostgreSQL 14 */
	int streaming;         /* -1: on from PostgreSQL 14 (needs protocol 2) */
	bool messages;         /* pg_logical_emit_message's messages too */
} cdc_start_opts;

/* START_REPLICATION SLOT slot LOGICAL start (publication_names, …); the options chosen are in
 * *chosen when it is not NULL.  Once per connection: after cdc_stream_stop the connection takes
 * commands (cdc_stream_slot_info, …), but streaming again needs a new one.  The server starts
 * after the slot's confirmed_flush_lsn whatever start says (0 means "where the slot is"). */
pg2md_code cdc_stream_start(cdc_stream *s, const char *slot, const char *publication, pgo_lsn start,
			    const cdc_start_opts *opts, cdc_start_opts *chosen, pg2md_error *err);

typedef enum cdc_next_result {
	CDC_NEXT_DATA,         /* *out holds one pgoutput message (valid until the next call) */
	CDC_NEXT_TIMEOUT,      /* nothing within timeout_ms */
	CDC_NEXT_END,          /* the server ended the stream */
	CDC_NEXT_ERROR         /* err says why */
} cdc_next_result;

typedef struct cdc_data {
	pgo_lsn lsn;           /* XLogData's start: the WAL position of the message */
	pgo_lsn wal_end;       /* the server's end of WAL when it sent it */
	const uint8_t *data;
	size_t len;
} cdc_data;

/* The next pgoutput message, waiting at most timeout_ms (0: do not wait). */
cdc_next_result cdc_stream_next(cdc_stream *s, int timeout_ms, cdc_data *out, pg2md_error *err);

/* Confirm that everything up to lsn is durable at the destination (monotonic); the next status
 * update reports it, sent at once when now is true. */
pg2md_code cdc_stream_confirm(cdc_stream *s, pgo_lsn lsn, bool now, pg2md_error *err);

/* Send the status update when it is due (call while busy elsewhere for long). */
pg2md_code cdc_stream_tick(cdc_stream *s, pg2md_error *err);

/* Send a last status update (the final flush position), end the copy (CopyDone), drain what
 * the server still sends, and leave the connection ready for commands again. */
pg2md_code cdc_stream_stop(cdc_stream *s, pg2md_error *err);

/* The positions: last received (write), last confirmed (flush), the server's end of WAL as last
 * reported in a keepalive or XLogData, the status interval in milliseconds. */
pgo_lsn cdc_stream_written(const cdc_stream *s);
pgo_lsn cdc_stream_flushed(const cdc_stream *s);
pgo_lsn cdc_stream_server_end(const cdc_stream *s);
int cdc_stream_status_interval_ms(const cdc_stream *s);

/* The connection is gone (libpq says CONNECTION_BAD) or the server ended the stream on its own
 * (a walsender that shuts down sends CopyDone): follow may reconnect (reconnect.h). */
bool cdc_stream_lost(const cdc_stream *s);

#endif

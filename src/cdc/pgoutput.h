/*
 * pgoutput.h — a pure parser of PostgreSQL's logical replication messages (the "pgoutput"
 * output plugin, protocol versions 1 to 4) and of the replication stream's CopyData framing
 * (XLogData 'w', primary keepalive 'k').
 *
 * Pure: no libpq, no DuckDB, no I/O.  Every byte is bounds-checked: a malformed, truncated or
 * over-long message is an error (PG2MD_ERR_RUN with what and where), never a read out of bounds.
 *
 * Zero copy: strings and column values in a parsed message point into the caller's buffer, which
 * must outlive the message.  Strings are checked to be NUL-terminated inside the message, so they
 * can be used as C strings.  Tuple columns live in arrays the parser owns and reuses: a parsed
 * message is valid until the next pgo_parse on the same parser or pgo_parser_release.
 *
 * The parser keeps the one piece of state the format needs: whether it is between a Stream Start
 * and a Stream Stop, where messages carry the transaction id of the streamed transaction.
 * (PostgreSQL's own description: "Logical Replication Message Formats" in the protocol chapter;
 * its writer is src/backend/replication/logical/proto.c.)
 */
#ifndef PG2MD_CDC_PGOUTPUT_H
#define PG2MD_CDC_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef uint64_t pgo_lsn;

/* "16/B374D848": PostgreSQL's way of writing an LSN (buffer of at least PGO_LSN_TEXT bytes). */
#define PGO_LSN_TEXT 20
const char *pgo_lsn_format(pgo_lsn lsn, char *out);
/* Parse "X/Y" (hex halves, as pg_lsn prints); false when s is not one. */
bool pgo_lsn_parse(const char *s, pgo_lsn *out);

/* Message types, by the byte that starts each one. */
typedef enum pgo_kind {
	PGO_BEGIN = 'B',
	PGO_COMMIT = 'C',
	PGO_ORIGIN = 'O',
	PGO_RELATION = 'R',
	PGO_TYPE = 'Y',
	PGO_INSERT = 'I',
	PGO_UPDATE = 'U',
	PGO_DELETE = 'D',
	PGO_TRUNCATE = 'T',
	PGO_MESSAGE = 'M',
	PGO_STREAM_START = 'S',
	PGO_STREAM_STOP = 'E',
	PGO_STREAM_COMMIT = 'c',
	PGO_STREAM_ABORT = 'A'
} pgo_kind;

/* One column of a tuple: 'n' NULL, 'u' unchanged TOAST value (not sent), 't' text, 'b' binary. */
typedef struct pgo_value {
	char kind;
	uint32_t len;          /* 't' and 'b': bytes at data */
	const uint8_t *data;   /* 't' and 'b': points into the message (text is NOT NUL-terminated) */
} pgo_value;

typedef struct pgo_tuple {
	int ncols;
	pgo_value *cols;       /* owned by the parser */
} pgo_tuple;

typedef struct pgo_column {
	uint8_t flags;         /* 1: part of the replica identity (the key) */
	const char *name;
	uint32_t type_oid;
	int32_t typmod;
} pgo_column;

/* The parsed message; which members are set depends on kind. */
typedef struct pgo_msg {
	pgo_kind kind;
	uint32_t xid;          /* Begin; streamed messages (in_stream); Stream Start/Commit/Abort */
	bool streamed;         /* the message came between Stream Start and Stream Stop */

	/* Begin: final_lsn, ts, xid.  Commit / Stream Commit: flags, commit_lsn, end_lsn, ts.
	 * Origin: origin_lsn, name. */
	pgo_lsn final_lsn, commit_lsn, end_lsn, origin_lsn;
	int64_t ts;            /* microseconds since 2000-01-01 UTC, PostgreSQL's epoch */
	uint8_t flags;         /* Commit, Stream Commit, Message (1: transactional), Truncate options */

	/* Relation, Insert, Update, Delete: the relation's OID. */
	uint32_t relid;
	/* Relation: namespace ("" for pg_catalog), relname, replica identity ('d','n','f','i'),
	 * columns (owned by the parser).  Type: type_oid, nspname, name. */
	const char *nspname, *name;
	char replident;
	int ncolumns;
	pgo_column *columns;
	uint32_t type_oid;

	/* Update: old_kind 'K' (old key), 'O' (old tuple, REPLICA IDENTITY FULL) or 0 (none sent);
	 * Delete: old_kind 'K' or 'O'.  Insert/Update: newtup. */
	char old_kind;
	pgo_tuple oldtup, newtup;

	/* Truncate: nrelids relation OIDs (owned by the parser), flags 1 CASCADE, 2 RESTART IDENTITY. */
	int nrelids;
	uint32_t *relids;

	/* Message: flags (1 transactional), lsn (message_lsn), prefix (name), content. */
	pgo_lsn message_lsn;
	const char *prefix;
	uint32_t content_len;
	const uint8_t *content;

	/* Stream Start: first segment of the transaction.  Stream Abort: subxid (== xid when the
	 * whole transaction aborted); abort_lsn and ts with protocol 4's parallel streaming. */
	bool first_segment;
	uint32_t subxid;
	pgo_lsn abort_lsn;
} pgo_msg;

typedef struct pgo_parser {
	int proto_version;     /* what START_REPLICATION asked for: 1..4 */
	bool in_stream;        /* between Stream Start and Stream Stop */
	/* reused arrays */
	pgo_value *oldcols, *newcols;
	int oldcap, newcap;
	pgo_column *columns;
	int colcap;
	uint32_t *relids;
	int relcap;
} pgo_parser;

void pgo_parser_init(pgo_parser *p, int proto_version);
void pgo_parser_release(pgo_parser *p);

/*
 * Parse one pgoutput message (the payload of one XLogData).  On success fills *msg and updates
 * the parser's stream state (Stream Start / Stop).  On error returns PG2MD_ERR_RUN with err saying
 * which message, which field and at which byte; the parser's state is unchanged.
 */
pg2md_code pgo_parse(pgo_parser *p, const uint8_t *buf, size_t len, pgo_msg *msg, pg2md_error *err);

/* The replication stream's CopyData messages (the streaming replication protocol). */
typedef enum pgo_wal_kind { PGO_WAL_XLOGDATA = 'w', PGO_WAL_KEEPALIVE = 'k' } pgo_wal_kind;

typedef struct pgo_walmsg {
	pgo_wal_kind kind;
	pgo_lsn start;         /* 'w': WAL position of the data */
	pgo_lsn wal_end;       /* 'w' and 'k': the server's current end of WAL */
	int64_t send_time;     /* 'w' and 'k': server clock, PostgreSQL epoch microseconds */
	bool reply_requested;  /* 'k': answer at once or the server disconnects */
	const uint8_t *data;   /* 'w': the pgoutput message */
	size_t len;
} pgo_walmsg;

pg2md_code pgo_parse_wal(const uint8_t *buf, size_t len, pgo_walmsg *out, pg2md_error *err);

/*
 * Build a standby status update ('r'): write, flush and apply positions, the client clock
 * (PostgreSQL epoch microseconds), and whether the server should reply at once.  Writes
 * PGO_STATUS_LEN bytes to out.
 */
#define PGO_STATUS_LEN 34
void pgo_build_status(uint8_t *out, pgo_lsn write, pgo_lsn flush, pgo_lsn apply, int64_t now, bool reply);

/* Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define PGO_EPOCH_OFFSET_US INT64_C(946684800000000)

#endif

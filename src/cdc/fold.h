/*
 * fold.h — the relation cache and the per-key folding of a batch of changes, before anything
 * touches the destination (DESIGN §7, decision 6).
 *
 * The relation cache holds what the last Relation message said about each relation (pgoutput
 * sends one before the first change of a relation in a session and again after every change of
 * its shape): every Relation message replaces the entry, and the caller learns whether the shape
 * changed, since a batch must be applied before rows of a new shape are folded (a barrier).
 *
 * Folding: within one batch, the changes of one table are reduced to one row per key, the last
 * image winning, in the order keys were first touched:
 *   INSERT k            UPSERT k (the full image)
 *   UPDATE k            the image merged over k's row in the batch: a 'u' (unchanged TOAST)
 *                       column takes the value an earlier image of k in the batch had; one that
 *                       no image had stays 'u' and the row is an UPDATE (the destination keeps
 *                       that column's value), else an UPSERT
 *   UPDATE k -> k'      DELETE k, and k' as above merged over k's row; a 'u' column left over is
 *                       read from the destination's row of the first key of the chain (from)
 *   DELETE k            DELETE k (its values kept for a later key change's 'u' columns)
 *   TRUNCATE            the table's rows in the batch dropped and truncated set: apply empties
 *                       the table first, then the rows
 * so a delete then an insert of a key is one UPSERT, and several changes at one LSN (COPY,
 * multi-row INSERT) are folded by key, never by LSN.
 *
 * Keys are the replica identity's columns as the Relation message flags them, compared byte for
 * byte in the form the stream sends (binary or text, one form per stream).
 *
 * REPLICA IDENTITY FULL (a table without a key: rows may repeat) folds by the whole row instead,
 * as a multiset: each distinct row image gets a net count, +1 per insert, -1 per delete (the old
 * row pgoutput sends whole), -1 for the old and +1 for the new image of an update (an unchanged
 * TOAST column of the new image takes the old row's value).  Applying inserts that many copies,
 * or deletes that many of the matching rows, so a delete or update of one of several equal rows
 * affects one.  NOTHING, and DEFAULT without a primary key, are refused (PG2MD_ERR_USAGE with the
 * ALTER TABLE to run).
 *
 * Values are copied into the fold's memory, so messages can be freed as they are folded;
 * cdc_fold_bytes() says how much it holds, to bound a batch.
 */
#ifndef PG2MD_CDC_FOLD_H
#define PG2MD_CDC_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdc/pgoutput.h"
#include "util/error.h"

typedef struct cdc_relcol {
	char *name;
	uint32_t type_oid;
	int32_t typmod;
	bool key;
} cdc_relcol;

typedef struct cdc_rel {
	uint32_t relid;
	char *nspname, *name;
	char replident;        /* 'd' default, 'n' nothing, 'f' full, 'i' index */
	int ncols, nkeys;
	cdc_relcol *cols;
} cdc_rel;

typedef struct cdc_relcache {
	cdc_rel *rels;
	int n, cap;
} cdc_relcache;

typedef enum cdc_rel_change {
	CDC_REL_NEW,           /* first Relation message for this relid */
	CDC_REL_SAME,          /* same names, types, typmods, key and replica identity */
	CDC_REL_CHANGED        /* anything of the above differs: a batch barrier */
} cdc_rel_change;

void cdc_relcache_init(cdc_relcache *rc);
void cdc_relcache_release(cdc_relcache *rc);
/* Store a Relation message (deep copy); *change says how it compares with the entry before. */
pg2md_code cdc_relcache_update(cdc_relcache *rc, const pgo_msg *m, cdc_rel_change *change, pg2md_error *err);
const cdc_rel *cdc_relcache_get(const cdc_relcache *rc, uint32_t relid);
/* Does Relation message m describe rel as it is (names, types, typmods, key, replica identity)? */
bool cdc_rel_matches(const cdc_rel *rel, const pgo_msg *m);

typedef enum cdc_op {
	CDC_OP_UPSERT = 'U',   /* the full image: insert, or replace the row of the key */
	CDC_OP_UPDATE = 'P',   /* an image with 'u' columns: update the row, keeping those columns */
	CDC_OP_DELETE = 'D',   /* delete the row of the key */
	CDC_OP_COUNT = 'F'     /* REPLICA IDENTITY FULL: count copies of the whole row to insert (> 0)
			        * or to delete (< 0) */
} cdc_op;

typedef struct cdc_row {
	cdc_op op;
	int from;              /* UPDATE: index of the row whose key names the destination row its 'u'
			        * columns come from (itself, or after a key change the DELETE of the
			        * chain's first key: read it before deleting); -1 for UPSERT and DELETE */
	bool image;            /* cols hold an image of the row (a 'u' column aside), not only its key */
	int64_t count;         /* CDC_OP_COUNT: net copies of the row inserted (negative: deleted) */
	uint64_t hash;
	pgo_value *cols;       /* ncols of the relation, in the fold's memory; a DELETE made from an
			        * old key ('K') has its key columns only (the others 'n', image false) */
} cdc_row;

typedef struct cdc_fold_table {
	uint32_t relid;
	int ncols;
	bool truncated;        /* a TRUNCATE came: empty the table, then apply rows */
	uint8_t truncate_flags;/* its options: 1 CASCADE, 2 RESTART IDENTITY */
	cdc_row *rows;         /* in the order their keys were first touched */
	int nrows, rowcap;
	int *index;            /* open addressing over rows by key: -1 empty */
	int indexcap;
} cdc_fold_table;

typedef struct cdc_fold_block cdc_fold_block;

typedef struct cdc_fold {
	cdc_fold_table *tables;
	int n, cap;
	cdc_fold_block *blocks;/* the copied values */
	size_t bytes;
	uint64_t changes;      /* changes folded since the last reset */
} cdc_fold;

void cdc_fold_init(cdc_fold *f);
/* Forget the batch (after it was applied), keeping the allocations' capacity for tables. */
void cdc_fold_reset(cdc_fold *f);
void cdc_fold_release(cdc_fold *f);

/* Fold one Insert, Update or Delete message of relation rel (its entry in the cache). */
pg2md_code cdc_fold_change(cdc_fold *f, const cdc_rel *rel, const pgo_msg *m, pg2md_error *err);
/* Fold a TRUNCATE of relid (one of the relations a Truncate message names). */
pg2md_code cdc_fold_truncate(cdc_fold *f, const cdc_rel *rel, uint8_t flags, pg2md_error *err);
/* The table of relid in the batch, NULL when the batch has none. */
const cdc_fold_table *cdc_fold_table_get(const cdc_fold *f, uint32_t relid);
size_t cdc_fold_bytes(const cdc_fold *f);
/* n bytes in the fold's memory, kept until it is reset (NULL when memory ran out). */
void *cdc_fold_alloc(cdc_fold *f, size_t n);

#endif

/*
 * fold.c — the relation cache and per-key folding of a batch (see fold.h).
 *
 * Memory: each table's rows are an array in first-touch order with an open-addressing index
 * (linear probing, at most half full) from the key's hash to the row.  Values are copied into
 * blocks owned by the fold (a bump allocator freed at reset): an image replaced by a later one
 * stays in its block until the batch is applied, which bounds nothing but is what a batch
 * bounded by cdc_fold_bytes() needs.
 */
#include "cdc/fold.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

struct cdc_fold_block {
	cdc_fold_block *next;
	size_t used, cap;
	uint8_t data[];
};

#define BLOCK_MIN (64 * 1024)

static pg2md_code
nomem(pg2md_error *err)
{
	return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory folding a batch of changes");
}

/* strdup through util/mem.h (the reserve, then NULL). */
static char *
dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = mem_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* ---- relation cache ---------------------------------------------------------------------- */

void
cdc_relcache_init(cdc_relcache *rc)
{
	memset(rc, 0, sizeof(*rc));
}

static void
rel_free(cdc_rel *r)
{
	free(r->nspname);
	free(r->name);
	for (int i = 0; r->cols && i < r->ncols; i++) /* no cols: their allocation failed */
		free(r->cols[i].name);
	free(r->cols);
	memset(r, 0, sizeof(*r));
}

void
cdc_relcache_release(cdc_relcache *rc)
{
	for (int i = 0; i < rc->n; i++)
		rel_free(&rc->rels[i]);
	free(rc->rels);
	memset(rc, 0, sizeof(*rc));
}

const cdc_rel *
cdc_relcache_get(const cdc_relcache *rc, uint32_t relid)
{
	for (int i = 0; i < rc->n; i++)
		if (rc->rels[i].relid == relid)
			return &rc->rels[i];
	return NULL;
}

static bool
rel_same(const cdc_rel *a, const cdc_rel *b)
{
	if (a->ncols != b->ncols || a->replident != b->replident || strcmp(a->nspname, b->nspname) != 0 ||
	    strcmp(a->name, b->name) != 0)
		return false;
	for (int i = 0; i < a->ncols; i++)
		if (strcmp(a->cols[i].name, b->cols[i].name) != 0 || a->cols[i].type_oid != b->cols[i].type_oid ||
		    a->cols[i].typmod != b->cols[i].typmod || a->cols[i].key != b->cols[i].key)
			return false;
	return true;
}

bool
cdc_rel_matches(const cdc_rel *a, const pgo_msg *m)
{
	if (a->ncols != m->ncolumns || a->replident != m->replident || strcmp(a->nspname, m->nspname) != 0 ||
	    strcmp(a->name, m->name) != 0)
		return false;
	for (int i = 0; i < a->ncols; i++)
		if (strcmp(a->cols[i].name, m->columns[i].name) != 0 || a->cols[i].type_oid != m->columns[i].type_oid ||
		    a->cols[i].typmod != m->columns[i].typmod || a->cols[i].key != ((m->columns[i].flags & 1) != 0))
			return false;
	return true;
}

pg2md_code
cdc_relcache_update(cdc_relcache *rc, const pgo_msg *m, cdc_rel_change *change, pg2md_error *err)
{
	cdc_rel r = {.relid = m->relid, .replident = m->replident, .ncols = m->ncolumns};
	r.nspname = dup(m->nspname);
	r.name = dup(m->name);
	r.cols = mem_calloc(m->ncolumns ? (size_t)m->ncolumns : 1, sizeof(cdc_relcol));
	if (!r.nspname || !r.name || !r.cols) {
		rel_free(&r);
		return nomem(err);
	}
	for (int i = 0; i < m->ncolumns; i++) {
		r.cols[i].name = dup(m->columns[i].name);
		if (!r.cols[i].name) {
			rel_free(&r);
			return nomem(err);
		}
		r.cols[i].type_oid = m->columns[i].type_oid;
		r.cols[i].typmod = m->columns[i].typmod;
		r.cols[i].key = (m->columns[i].flags & 1) != 0;
		r.nkeys += r.cols[i].key;
	}
	for (int i = 0; i < rc->n; i++) {
		if (rc->rels[i].relid == m->relid) {
			*change = rel_same(&rc->rels[i], &r) ? CDC_REL_SAME : CDC_REL_CHANGED;
			rel_free(&rc->rels[i]);
			rc->rels[i] = r;
			return PG2MD_OK;
		}
	}
	if (rc->n == rc->cap) {
		int cap = rc->cap ? rc->cap * 2 : 8;
		cdc_rel *a = mem_realloc(rc->rels, (size_t)cap * sizeof(*a));
		if (!a) {
			rel_free(&r);
			return nomem(err);
		}
		rc->rels = a;
		rc->cap = cap;
	}
	rc->rels[rc->n++] = r;
	*change = CDC_REL_NEW;
	return PG2MD_OK;
}

/* ---- fold ---------------------------------------------------------------------------------- */

void
cdc_fold_init(cdc_fold *f)
{
	memset(f, 0, sizeof(*f));
}

static void
free_blocks(cdc_fold *f)
{
	cdc_fold_block *b = f->blocks;
	while (b) {
		cdc_fold_block *next = b->next;
		free(b);
		b = next;
	}
	f->blocks = NULL;
	f->bytes = 0;
}

void
cdc_fold_reset(cdc_fold *f)
{
	for (int i = 0; i < f->n; i++) {
		free(f->tables[i].rows);
		free(f->tables[i].index);
	}
	f->n = 0;
	f->changes = 0;
	free_blocks(f);
}

void
cdc_fold_release(cdc_fold *f)
{
	cdc_fold_reset(f);
	free(f->tables);
	memset(f, 0, sizeof(*f));
}

void *
cdc_fold_alloc(cdc_fold *f, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	cdc_fold_block *b = f->blocks;
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > BLOCK_MIN ? n : BLOCK_MIN;
		b = mem_malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = f->blocks;
		f->blocks = b;
		f->bytes += sizeof(*b) + cap;
	}
	void *p = b->data + b->used;
	b->used += n;
	return p;
}

/* A copy of tuple t (ncols values and their bytes) in the fold's memory. */
static pgo_value *
copy_tuple(cdc_fold *f, const pgo_tuple *t)
{
	size_t total = (size_t)t->ncols * sizeof(pgo_value);
	for (int i = 0; i < t->ncols; i++)
		total += t->cols[i].len;
	pgo_value *cols = cdc_fold_alloc(f, total ? total : 1);
	if (cols == NULL)
		return NULL;
	uint8_t *data = (uint8_t *)(cols + t->ncols);
	for (int i = 0; i < t->ncols; i++) {
		cols[i] = t->cols[i];
		if (t->cols[i].len) {
			memcpy(data, t->cols[i].data, t->cols[i].len);
			cols[i].data = data;
			data += t->cols[i].len;
		}
	}
	return cols;
}

static uint64_t
key_hash(const cdc_rel *rel, const pgo_value *cols)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (int i = 0; i < rel->ncols; i++) {
		if (!rel->cols[i].key)
			continue;
		h = (h ^ (uint8_t)cols[i].kind) * UINT64_C(1099511628211);
		for (uint32_t j = 0; j < cols[i].len; j++)
			h = (h ^ cols[i].data[j]) * UINT64_C(1099511628211);
		h = (h ^ 0xff) * UINT64_C(1099511628211);
	}
	return h;
}

static bool
key_equal(const cdc_rel *rel, const pgo_value *a, const pgo_value *b)
{
	for (int i = 0; i < rel->ncols; i++) {
		if (!rel->cols[i].key)
			continue;
		if (a[i].kind != b[i].kind || a[i].len != b[i].len ||
		    (a[i].len && memcmp(a[i].data, b[i].data, a[i].len) != 0))
			return false;
	}
	return true;
}

static cdc_fold_table *
table_for(cdc_fold *f, const cdc_rel *rel)
{
	for (int i = 0; i < f->n; i++)
		if (f->tables[i].relid == rel->relid)
			return &f->tables[i];
	if (f->n == f->cap) {
		int cap = f->cap ? f->cap * 2 : 8;
		cdc_fold_table *a = mem_realloc(f->tables, (size_t)cap * sizeof(*a));
		if (!a)
			return NULL;
		f->tables = a;
		f->cap = cap;
	}
	cdc_fold_table *t = &f->tables[f->n++];
	memset(t, 0, sizeof(*t));
	t->relid = rel->relid;
	t->ncols = rel->ncols;
	return t;
}

const cdc_fold_table *
cdc_fold_table_get(const cdc_fold *f, uint32_t relid)
{
	for (int i = 0; i < f->n; i++)
		if (f->tables[i].relid == relid)
			return &f->tables[i];
	return NULL;
}

size_t
cdc_fold_bytes(const cdc_fold *f)
{
	size_t n = f->bytes;
	for (int i = 0; i < f->n; i++)
		n += (size_t)f->tables[i].rowcap * sizeof(cdc_row) + (size_t)f->tables[i].indexcap * sizeof(int);
	return n;
}

static bool
index_grow(cdc_fold_table *t)
{
	int cap = t->indexcap ? t->indexcap * 2 : 64;
	int *idx = mem_malloc((size_t)cap * sizeof(int));
	if (!idx)
		return false;
	for (int i = 0; i < cap; i++)
		idx[i] = -1;
	for (int r = 0; r < t->nrows; r++) {
		size_t s = t->rows[r].hash & (size_t)(cap - 1);
		while (idx[s] >= 0)
			s = (s + 1) & (size_t)(cap - 1);
		idx[s] = r;
	}
	free(t->index);
	t->index = idx;
	t->indexcap = cap;
	return true;
}

/* The row of key (cols' key columns) in t: its index, or -1 with *slot where it would go. */
static int
find(const cdc_fold_table *t, const cdc_rel *rel, const pgo_value *cols, uint64_t h, size_t *slot)
{
	size_t mask = (size_t)t->indexcap - 1, s = h & mask;
	while (t->index[s] >= 0) {
		const cdc_row *r = &t->rows[t->index[s]];
		if (r->hash == h && key_equal(rel, r->cols, cols))
			return t->index[s];
		s = (s + 1) & mask;
	}
	*slot = s;
	return -1;
}

/* The row of cols' key, created (op DELETE, no values) when the batch has none. */
static int
row_for(cdc_fold_table *t, const cdc_rel *rel, const pgo_value *cols, bool *created)
{
	if ((t->nrows + 1) * 2 > t->indexcap && !index_grow(t))
		return -2;
	uint64_t h = key_hash(rel, cols);
	size_t slot = 0;
	int r = find(t, rel, cols, h, &slot);
	*created = r < 0;
	if (r >= 0)
		return r;
	if (t->nrows == t->rowcap) {
		int cap = t->rowcap ? t->rowcap * 2 : 64;
		cdc_row *a = mem_realloc(t->rows, (size_t)cap * sizeof(*a));
		if (!a)
			return -2;
		t->rows = a;
		t->rowcap = cap;
	}
	r = t->nrows++;
	t->rows[r] = (cdc_row){.op = CDC_OP_DELETE, .from = -1, .image = false, .hash = h, .cols = NULL};
	if (rel->replident == 'f')
		t->rows[r].op = CDC_OP_COUNT;
	t->index[slot] = r;
	return r;
}

static pg2md_code
refuse_keyless(const cdc_rel *rel, pg2md_error *err)
{
	pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s.%s\" has no replica identity: its updates and deletes cannot "
		   "be followed", rel->nspname, rel->name);
	pg2md_hint(err, "add a primary key (ALTER TABLE \"%s\".\"%s\" ADD PRIMARY KEY (…);), or ALTER TABLE \"%s\".\"%s\" "
			"REPLICA IDENTITY FULL; (rows matched by all their values)", rel->nspname, rel->name, rel->nspname,
		   rel->name);
	return PG2MD_ERR_USAGE;
}

static pg2md_code
bad_change(const cdc_rel *rel, pg2md_error *err, const char *what)
{
	pg2md_fail(err, PG2MD_ERR_RUN, "unexpected change of table \"%s.%s\": %s", rel->nspname, rel->name, what);
	return PG2MD_ERR_RUN;
}

/*
 * An INSERT without a value of column i: a row filter (a table's where) turned an UPDATE that
 * brought the row into the filter into an INSERT, and the update left a large (TOAST) value
 * unchanged, which PostgreSQL sends only when the old row carries it (REPLICA IDENTITY FULL).
 * The mirror does not hold the row (it was outside the filter): the value is nowhere.
 */
static pg2md_code
unchanged_insert(const cdc_rel *rel, int i, pg2md_error *err)
{
	pg2md_fail(err, PG2MD_ERR_RUN, "a row of table \"%s.%s\" entered its where filter without the value of column "
		   "\"%s\"", rel->nspname, rel->name, rel->cols[i].name);
	pg2md_detail(err, "an UPDATE brought the row into the filter and left that large (TOAST) value unchanged: "
			  "PostgreSQL does not send it, and the mirror has no copy of the row");
	pg2md_hint(err, "ALTER TABLE \"%s\".\"%s\" REPLICA IDENTITY FULL; (the old row then carries the value), then "
			"resync this one table (docs/cdc.md, \"Resyncing one table\")", rel->nspname, rel->name);
	return PG2MD_ERR_RUN;
}

/* Merge image nw (ncols) over the batch's earlier row prev (may be NULL) into row *r. */
static pg2md_code
put_image(cdc_fold *f, cdc_row *r, const cdc_row *prev, const pgo_tuple *nw, pg2md_error *err)
{
	pgo_value *cols = copy_tuple(f, nw);
	if (!cols)
		return nomem(err);
	bool unchanged = false;
	for (int i = 0; i < nw->ncols; i++) {
		if (cols[i].kind != 'u')
			continue;
		if (prev && prev->image && prev->cols[i].kind != 'u')
			cols[i] = prev->cols[i]; /* the earlier image's bytes stay in the fold's memory */
		else
			unchanged = true;
	}
	int from = -1;
	if (unchanged && prev)
		from = prev->from;
	r->cols = cols;
	r->image = true;
	r->op = unchanged ? CDC_OP_UPDATE : CDC_OP_UPSERT;
	r->from = unchanged ? from : -1;
	return PG2MD_OK;
}

/* The whole-row hash and equality of REPLICA IDENTITY FULL tables: a relation copy whose every
 * column is key (the Relation message flags them all; do not rely on it). */
static const cdc_rel *
full_rel(const cdc_rel *rel, cdc_rel *tmp, cdc_relcol *cols)
{
	*tmp = *rel;
	for (int i = 0; i < rel->ncols; i++) {
		cols[i] = rel->cols[i];
		cols[i].key = true;
	}
	tmp->cols = cols;
	tmp->nkeys = rel->ncols;
	return tmp;
}

/* count copies of image cols (ncols values, in the message) into t. */
static pg2md_code
full_count(cdc_fold *f, cdc_fold_table *t, const cdc_rel *all, const pgo_tuple *img, int64_t count, pg2md_error *err)
{
	bool created;
	int r = row_for(t, all, img->cols, &created);
	if (r == -2)
		return nomem(err);
	cdc_row *row = &t->rows[r];
	if (created) {
		row->op = CDC_OP_COUNT;
		row->image = true;
		row->cols = copy_tuple(f, img);
		if (!row->cols)
			return nomem(err);
	}
	row->count += count;
	return PG2MD_OK;
}

static pg2md_code
fold_full(cdc_fold *f, const cdc_rel *rel, const pgo_msg *m, pg2md_error *err)
{
	const pgo_tuple *nw = &m->newtup, *old = m->old_kind == 'O' ? &m->oldtup : NULL;
	if ((m->kind != PGO_DELETE && nw->ncols != rel->ncols) || (old && old->ncols != rel->ncols)) {
		pg2md_fail(err, PG2MD_ERR_RUN, "a change of table \"%s.%s\" has %d columns, its Relation message %d",
			   rel->nspname, rel->name, old && m->kind == PGO_DELETE ? old->ncols : nw->ncols, rel->ncols);
		return PG2MD_ERR_RUN;
	}
	if (m->kind != PGO_INSERT && !old)
		return bad_change(rel, err, "an update or delete of a REPLICA IDENTITY FULL table without its old row");
	if (old)
		for (int i = 0; i < old->ncols; i++)
			if (old->cols[i].kind == 'u')
				return bad_change(rel, err, "an old row with an unchanged-TOAST column");
	cdc_relcol *cols = malloc(((size_t)rel->ncols + 1) * sizeof(*cols));
	if (!cols)
		return nomem(err);
	cdc_rel tmp;
	const cdc_rel *all = full_rel(rel, &tmp, cols);
	cdc_fold_table *t = table_for(f, rel);
	pg2md_code rc = PG2MD_OK;
	if (!t) {
		rc = nomem(err);
		goto out;
	}
	f->changes++;
	switch (m->kind) {
	case PGO_INSERT:
		for (int i = 0; i < nw->ncols; i++)
			if (nw->cols[i].kind == 'u') {
				rc = bad_change(rel, err, "an insert with an unchanged-TOAST column");
				goto out;
			}
		rc = full_count(f, t, all, nw, 1, err);
		break;
	case PGO_DELETE:
		rc = full_count(f, t, all, old, -1, err);
		break;
	case PGO_UPDATE: {
		/* the new image's unchanged TOAST values are the old row's */
		pgo_value *vals = malloc(((size_t)nw->ncols + 1) * sizeof(*vals));
		if (!vals) {
			rc = nomem(err);
			break;
		}
		for (int i = 0; i < nw->ncols; i++)
			vals[i] = nw->cols[i].kind == 'u' ? old->cols[i] : nw->cols[i];
		pgo_tuple img = {.ncols = nw->ncols, .cols = vals};
		rc = full_count(f, t, all, old, -1, err);
		if (rc == PG2MD_OK)
			rc = full_count(f, t, all, &img, 1, err);
		free(vals);
		break;
	}
	default:
		rc = bad_change(rel, err, "not an insert, update or delete");
	}
out:
	free(cols);
	return rc;
}

pg2md_code
cdc_fold_change(cdc_fold *f, const cdc_rel *rel, const pgo_msg *m, pg2md_error *err)
{
	if (rel->replident == 'f')
		return fold_full(f, rel, m, err);
	if (rel->replident == 'n' || rel->nkeys == 0)
		return refuse_keyless(rel, err);
	const pgo_tuple *nw = &m->newtup, *old = m->old_kind ? &m->oldtup : NULL;
	if ((m->kind != PGO_DELETE && nw->ncols != rel->ncols) || (old && old->ncols != rel->ncols)) {
		pg2md_fail(err, PG2MD_ERR_RUN, "a change of table \"%s.%s\" has %d columns, its Relation message %d",
			   rel->nspname, rel->name, old && m->kind == PGO_DELETE ? old->ncols : nw->ncols, rel->ncols);
		return PG2MD_ERR_RUN;
	}
	const pgo_tuple *keytup = m->kind == PGO_DELETE || old ? old : nw;
	if (keytup == NULL)
		return bad_change(rel, err, "a delete without its key");
	for (int i = 0; i < rel->ncols; i++)
		if (rel->cols[i].key && (keytup->cols[i].kind == 'n' || keytup->cols[i].kind == 'u'))
			return bad_change(rel, err, "a key column is NULL or not sent");

	cdc_fold_table *t = table_for(f, rel);
	if (!t)
		return nomem(err);
	bool created;
	int r = row_for(t, rel, keytup->cols, &created);
	if (r == -2)
		return nomem(err);
	f->changes++;

	switch (m->kind) {
	case PGO_INSERT:
		for (int i = 0; i < nw->ncols; i++)
			if (nw->cols[i].kind == 'u')
				return unchanged_insert(rel, i, err);
		return put_image(f, &t->rows[r], NULL, nw, err);
	case PGO_DELETE: {
		cdc_row *row = &t->rows[r];
		if (created || row->cols == NULL) {
			row->cols = copy_tuple(f, keytup);
			if (!row->cols)
				return nomem(err);
		}
		/* an earlier image keeps its values (and its from) for a later key change */
		if (row->op == CDC_OP_UPSERT)
			row->from = -1;
		row->op = CDC_OP_DELETE;
		return PG2MD_OK;
	}
	case PGO_UPDATE: {
		if (old == NULL || key_equal(rel, old->cols, nw->cols)) {
			cdc_row prev = t->rows[r];
			bool had = !created && prev.cols != NULL;
			if (had && prev.op == CDC_OP_DELETE && prev.from < 0) {
				for (int i = 0; i < nw->ncols; i++)
					if (nw->cols[i].kind == 'u')
						return bad_change(rel, err, "an update of a row deleted earlier in the batch");
			}
			if (created)
				prev.from = r; /* the destination's row of this very key */
			return put_image(f, &t->rows[r], had || created ? &prev : NULL, nw, err);
		}
		/* key change: k's row becomes a DELETE, k' gets the image merged over k's */
		cdc_row *krow = &t->rows[r];
		if (created || krow->cols == NULL) {
			krow->cols = copy_tuple(f, old);
			if (!krow->cols)
				return nomem(err);
			krow->from = r;
		} else if (krow->op == CDC_OP_UPSERT) {
			krow->from = -1;
		}
		krow->op = CDC_OP_DELETE;
		cdc_row prev = *krow;
		bool created2;
		int r2 = row_for(t, rel, nw->cols, &created2);
		if (r2 == -2)
			return nomem(err);
		return put_image(f, &t->rows[r2], &prev, nw, err);
	}
	default:
		return bad_change(rel, err, "not an insert, update or delete");
	}
}

pg2md_code
cdc_fold_truncate(cdc_fold *f, const cdc_rel *rel, uint8_t flags, pg2md_error *err)
{
	cdc_fold_table *t = table_for(f, rel);
	if (!t)
		return nomem(err);
	t->nrows = 0;
	for (int i = 0; i < t->indexcap; i++)
		t->index[i] = -1;
	t->truncated = true;
	t->truncate_flags = flags;
	f->changes++;
	return PG2MD_OK;
}

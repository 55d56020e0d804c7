/*
 * spill.c — streamed transactions on disk until their commit (see spill.h).
 *
 * One file per open top-level transaction, <dir>/<xid>.spill, written through one stdio stream
 * at a time (the current segment's; a segment belongs to one transaction).  Per transaction
 * the store keeps its size and the list of its subtransactions with the offset of each one's
 * first change, in the order they appeared: a few bytes per subtransaction, nothing per change.
 */
#include "cdc/spill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct spill_sub {
	uint32_t xid;
	uint64_t offset;
} spill_sub;

typedef struct spill_txn {
	uint32_t xid;
	uint64_t size;
	spill_sub *subs;
	int nsubs, subcap;
} spill_txn;

struct cdc_spill {
	char *dir;
	spill_txn *txns;
	int n, cap;
	spill_txn *cur;        /* the transaction of the open segment, NULL between segments */
	FILE *fp;              /* its file, open for appending */
	char path[4096];       /* scratch */
};

static const char *
txn_path(cdc_spill *s, uint32_t xid)
{
	snprintf(s->path, sizeof(s->path), "%s/%u.spill", s->dir, xid);
	return s->path;
}

static pg2md_code
io_fail(pg2md_error *err, const char *what, const char *path)
{
	int e = errno;
	pg2md_fail(err, PG2MD_ERR_RUN, "could not %s %s, where pg2md follow keeps a streamed transaction until it commits",
		   what, path);
	pg2md_detail(err, "%s", strerror(e));
	if (e == ENOSPC)
		pg2md_hint(err, "free space on that disk, or point [runtime] pipelines_dir elsewhere (a streamed transaction "
				"needs about as much space as its changes take in the WAL)");
	return PG2MD_ERR_RUN;
}

static pg2md_code
mkdir_p(char *path, pg2md_error *err)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != 0)
			continue;
		char c = *p;
		*p = 0;
		int r = mkdir(path, 0700);
		int e = errno;
		*p = c;
		if (r != 0 && e != EEXIST) {
			errno = e;
			return io_fail(err, "create the folder", path);
		}
		if (c == 0)
			return PG2MD_OK;
	}
}

cdc_spill *
cdc_spill_open(const char *dir, pg2md_error *err)
{
	cdc_spill *s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (mkdir_p(s->dir, err)) {
		cdc_spill_close(s);
		return NULL;
	}
	DIR *d = opendir(s->dir);
	if (!d) {
		io_fail(err, "read the folder", s->dir);
		cdc_spill_close(s);
		return NULL;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > 6 && strcmp(e->d_name + l - 6, ".spill") == 0) {
			snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, e->d_name);
			unlink(s->path); /* a dead process's: the server sends those transactions again */
		}
	}
	closedir(d);
	return s;
}

static spill_txn *
find_txn(const cdc_spill *s, uint32_t xid)
{
	for (int i = 0; i < s->n; i++)
		if (s->txns[i].xid == xid)
			return &s->txns[i];
	return NULL;
}

static void
drop_txn(cdc_spill *s, spill_txn *t)
{
	if (s->cur == t) {
		if (s->fp)
			fclose(s->fp);
		s->fp = NULL;
		s->cur = NULL;
	}
	unlink(txn_path(s, t->xid));
	free(t->subs);
	int i = (int)(t - s->txns);
	s->txns[i] = s->txns[--s->n];
	if (s->cur == &s->txns[s->n])
		s->cur = &s->txns[i];
}

void
cdc_spill_close(cdc_spill *s)
{
	if (!s)
		return;
	while (s->n > 0)
		drop_txn(s, &s->txns[s->n - 1]);
	if (s->fp)
		fclose(s->fp);
	free(s->txns);
	free(s->dir);
	free(s);
}

pg2md_code
cdc_spill_start(cdc_spill *s, uint32_t xid, bool first, pg2md_error *err)
{
	if (s->fp) {
		fclose(s->fp);
		s->fp = NULL;
	}
	s->cur = NULL;
	spill_txn *t = find_txn(s, xid);
	if (t && first) {
		/* sent from its start again (cannot happen on one connection; harmless if it does) */
		t->size = 0;
		t->nsubs = 0;
	}
	if (!t) {
		if (s->n == s->cap) {
			int cap = s->cap ? s->cap * 2 : 8;
			spill_txn *a = realloc(s->txns, (size_t)cap * sizeof(*a));
			if (!a)
				return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
			s->txns = a;
			s->cap = cap;
		}
		t = &s->txns[s->n++];
		memset(t, 0, sizeof(*t));
		t->xid = xid;
		first = true;
	}
	const char *path = txn_path(s, xid);
	/* 0600 whatever the caller's umask: the changes are the source's data */
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (first ? O_TRUNC : O_APPEND), 0600);
	s->fp = fd >= 0 ? fdopen(fd, first ? "wb" : "ab") : NULL;
	if (!s->fp) {
		if (fd >= 0)
			close(fd);
		return io_fail(err, "create", path);
	}
	s->cur = t;
	return PG2MD_OK;
}

pg2md_code
cdc_spill_write(cdc_spill *s, uint32_t subxid, const uint8_t *msg, size_t len, pg2md_error *err)
{
	spill_txn *t = s->cur;
	if (!t || !s->fp)
		return pg2md_fail(err, PG2MD_ERR_RUN, "a streamed change came outside a stream segment");
	if (len > UINT32_MAX)
		return pg2md_fail(err, PG2MD_ERR_RUN, "a streamed message of %zu bytes is too large", len);
	/* the offset of each subtransaction's first change (not the top-level transaction's own) */
	if (subxid != t->xid && (t->nsubs == 0 || t->subs[t->nsubs - 1].xid != subxid)) {
		bool known = false;
		for (int i = 0; i < t->nsubs && !known; i++)
			known = t->subs[i].xid == subxid;
		if (!known) {
			if (t->nsubs == t->subcap) {
				int cap = t->subcap ? t->subcap * 2 : 8;
				spill_sub *a = realloc(t->subs, (size_t)cap * sizeof(*a));
				if (!a)
					return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
				t->subs = a;
				t->subcap = cap;
			}
			t->subs[t->nsubs++] = (spill_sub){.xid = subxid, .offset = t->size};
		}
	}
	uint32_t l = (uint32_t)len;
	if (fwrite(&l, sizeof(l), 1, s->fp) != 1 || (len && fwrite(msg, len, 1, s->fp) != 1))
		return io_fail(err, "write", txn_path(s, t->xid));
	t->size += sizeof(l) + len;
	return PG2MD_OK;
}

pg2md_code
cdc_spill_stop(cdc_spill *s, pg2md_error *err)
{
	pg2md_code rc = PG2MD_OK;
	if (s->fp && fclose(s->fp) != 0 && s->cur)
		rc = io_fail(err, "write", txn_path(s, s->cur->xid));
	s->fp = NULL;
	s->cur = NULL;
	return rc;
}

pg2md_code
cdc_spill_abort(cdc_spill *s, uint32_t xid, uint32_t subxid, pg2md_error *err)
{
	spill_txn *t = find_txn(s, xid);
	if (!t)
		return PG2MD_OK; /* nothing of it reached the file */
	if (subxid == xid) {
		drop_txn(s, t);
		return PG2MD_OK;
	}
	int i = 0;
	while (i < t->nsubs && t->subs[i].xid != subxid)
		i++;
	if (i == t->nsubs)
		return PG2MD_OK; /* the subtransaction made no change we kept */
	uint64_t off = t->subs[i].offset;
	t->nsubs = i; /* it and every subtransaction after it (nested in it) */
	if (s->cur == t && s->fp && fflush(s->fp) != 0)
		return io_fail(err, "write", txn_path(s, xid));
	const char *path = txn_path(s, xid);
	if (truncate(path, (off_t)off) != 0)
		return io_fail(err, "truncate", path);
	if (s->cur == t && s->fp)
		fseeko(s->fp, 0, SEEK_END);
	t->size = off;
	return PG2MD_OK;
}

void
cdc_spill_discard(cdc_spill *s, uint32_t xid)
{
	spill_txn *t = find_txn(s, xid);
	if (t)
		drop_txn(s, t);
}

uint64_t
cdc_spill_size(const cdc_spill *s, uint32_t xid)
{
	const spill_txn *t = find_txn(s, xid);
	return t ? t->size : 0;
}

int
cdc_spill_count(const cdc_spill *s)
{
	return s->n;
}

pg2md_code
cdc_spill_read_open(cdc_spill *s, uint32_t xid, cdc_spill_reader *r, bool *empty, pg2md_error *err)
{
	memset(r, 0, sizeof(*r));
	spill_txn *t = find_txn(s, xid);
	*empty = t == NULL || t->size == 0;
	if (*empty)
		return PG2MD_OK;
	if (s->cur == t && cdc_spill_stop(s, err))
		return err->code;
	const char *path = txn_path(s, xid);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return io_fail(err, "open", path);
	setvbuf(fp, NULL, _IOFBF, 1 << 20);
	r->fp = fp;
	r->left = t->size; /* what is there after any cut */
	r->path = s->dir;
	return PG2MD_OK;
}

pg2md_code
cdc_spill_read_next(cdc_spill_reader *r, const uint8_t **msg, size_t *len, pg2md_error *err)
{
	*msg = NULL;
	*len = 0;
	if (!r->fp || r->left == 0)
		return PG2MD_OK;
	uint32_t l;
	if (r->left < sizeof(l) || fread(&l, sizeof(l), 1, r->fp) != 1 || r->left - sizeof(l) < l)
		return pg2md_fail(err, PG2MD_ERR_RUN, "a streamed transaction's file in %s is shorter than written", r->path);
	if (l > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < l)
			cap *= 2;
		uint8_t *b = realloc(r->buf, cap);
		if (!b)
			return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory");
		r->buf = b;
		r->cap = cap;
	}
	if (l && fread(r->buf, l, 1, r->fp) != 1)
		return pg2md_fail(err, PG2MD_ERR_RUN, "a streamed transaction's file in %s is shorter than written", r->path);
	r->left -= sizeof(l) + l;
	*msg = r->buf;
	*len = l;
	return PG2MD_OK;
}

void
cdc_spill_read_close(cdc_spill_reader *r)
{
	if (r->fp)
		fclose(r->fp);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

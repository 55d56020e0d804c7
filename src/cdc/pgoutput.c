/*
 * pgoutput.c — parse pgoutput's logical replication messages and the replication stream's
 * framing (see pgoutput.h).
 *
 * Every read goes through a small cursor (rd_*) that checks the bytes are there first; the
 * first short read records an error naming the message, the field and the byte offset, and
 * every later read on that cursor fails too, so a parse function can read all its fields and
 * check once at the end.  Counts that size arrays (columns, relations) are checked against the
 * bytes left before anything is allocated: a 4-byte count can never ask for gigabytes.
 */
#include "cdc/pgoutput.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

typedef struct rd {
	const uint8_t *buf;
	size_t len, pos;
	const char *msg;       /* message name, for errors */
	const char *bad;       /* first field that did not fit, NULL while fine */
	size_t badpos;
} rd;

static bool
rd_need(rd *r, size_t n, const char *field)
{
	if (r->bad)
		return false;
	if (r->len - r->pos < n) {
		r->bad = field;
		r->badpos = r->pos;
		return false;
	}
	return true;
}

static uint8_t
rd_u8(rd *r, const char *field)
{
	if (!rd_need(r, 1, field))
		return 0;
	return r->buf[r->pos++];
}

static uint16_t
rd_u16(rd *r, const char *field)
{
	if (!rd_need(r, 2, field))
		return 0;
	const uint8_t *b = r->buf + r->pos;
	r->pos += 2;
	return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

static uint32_t
rd_u32(rd *r, const char *field)
{
	if (!rd_need(r, 4, field))
		return 0;
	const uint8_t *b = r->buf + r->pos;
	r->pos += 4;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t
rd_u64(rd *r, const char *field)
{
	uint64_t hi = rd_u32(r, field);
	uint64_t lo = rd_u32(r, field);
	return hi << 32 | lo;
}

/* A NUL-terminated string inside the message; "" after an error. */
static const char *
rd_str(rd *r, const char *field)
{
	if (r->bad)
		return "";
	const uint8_t *start = r->buf + r->pos;
	const uint8_t *nul = memchr(start, 0, r->len - r->pos);
	if (nul == NULL) {
		r->bad = field;
		r->badpos = r->pos;
		return "";
	}
	r->pos += (size_t)(nul - start) + 1;
	return (const char *)start;
}

static const uint8_t *
rd_bytes(rd *r, size_t n, const char *field)
{
	if (!rd_need(r, n, field))
		return NULL;
	const uint8_t *b = r->buf + r->pos;
	r->pos += n;
	return b;
}

/* Record the cursor's failure (or a trailing-bytes error) into err. */
static pg2md_code
rd_finish(rd *r, pg2md_error *err)
{
	if (r->bad) {
		pg2md_fail(err, PG2MD_ERR_RUN, "malformed pgoutput %s message: %s does not fit", r->msg, r->bad);
		pg2md_detail(err, "at byte %zu of a %zu-byte message", r->badpos, r->len);
		return PG2MD_ERR_RUN;
	}
	if (r->pos != r->len) {
		pg2md_fail(err, PG2MD_ERR_RUN, "malformed pgoutput %s message: %zu unexpected bytes at its end", r->msg,
			   r->len - r->pos);
		pg2md_detail(err, "the message's fields end at byte %zu of %zu", r->pos, r->len);
		return PG2MD_ERR_RUN;
	}
	return PG2MD_OK;
}

static pg2md_code
rd_invalid(rd *r, pg2md_error *err, const char *what, unsigned value)
{
	pg2md_fail(err, PG2MD_ERR_RUN, "malformed pgoutput %s message: %s %u is not valid", r->msg, what, value);
	pg2md_detail(err, "at byte %zu of a %zu-byte message", r->pos, r->len);
	return PG2MD_ERR_RUN;
}

static bool
grow(void **arr, int *cap, int need, size_t elem)
{
	if (need <= *cap)
		return true;
	int n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *a = mem_realloc(*arr, (size_t)n * elem);
	if (a == NULL)
		return false;
	*arr = a;
	*cap = n;
	return true;
}

static pg2md_code
nomem(pg2md_error *err, const char *what)
{
	return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory parsing a pgoutput %s message", what);
}

const char *
pgo_lsn_format(pgo_lsn lsn, char *out)
{
	snprintf(out, PGO_LSN_TEXT, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
	return out;
}

bool
pgo_lsn_parse(const char *s, pgo_lsn *out)
{
	uint64_t half[2] = {0, 0};
	for (int h = 0; h < 2; h++) {
		int digits = 0;
		for (; *s && *s != '/'; s++, digits++) {
			int d;
			if (*s >= '0' && *s <= '9')
				d = *s - '0';
			else if (*s >= 'a' && *s <= 'f')
				d = *s - 'a' + 10;
			else if (*s >= 'A' && *s <= 'F')
				d = *s - 'A' + 10;
			else
				return false;
			if (digits >= 8)
				return false;
			half[h] = half[h] << 4 | (uint64_t)d;
		}
		if (digits == 0 || (h == 0 && *s++ != '/') || (h == 1 && *s))
			return false;
	}
	*out = half[0] << 32 | half[1];
	return true;
}

void
pgo_parser_init(pgo_parser *p, int proto_version)
{
	memset(p, 0, sizeof(*p));
	p->proto_version = proto_version;
}

void
pgo_parser_release(pgo_parser *p)
{
	free(p->oldcols);
	free(p->newcols);
	free(p->columns);
	free(p->relids);
	memset(p, 0, sizeof(*p));
}

/* TupleData: Int16 ncols, then per column a kind byte and, for 't' and 'b', Int32 len + bytes. */
static pg2md_code
read_tuple(rd *r, pgo_value **arr, int *cap, pgo_tuple *t, pg2md_error *err)
{
	int n = rd_u16(r, "the tuple's column count");
	if (r->bad)
		return rd_finish(r, err);
	if ((size_t)n > r->len - r->pos) /* every column takes at least its kind byte */
		return rd_invalid(r, err, "tuple column count", (unsigned)n);
	if (!grow((void **)arr, cap, n ? n : 1, sizeof(pgo_value)))
		return nomem(err, r->msg);
	pgo_value *cols = *arr;
	for (int i = 0; i < n; i++) {
		pgo_value *v = &cols[i];
		v->kind = (char)rd_u8(r, "a tuple column's kind");
		v->len = 0;
		v->data = NULL;
		if (r->bad)
			return rd_finish(r, err);
		switch (v->kind) {
		case 'n':
		case 'u':
			break;
		case 't':
		case 'b':
			v->len = rd_u32(r, "a tuple value's length");
			v->data = rd_bytes(r, v->len, "a tuple value");
			if (r->bad)
				return rd_finish(r, err);
			break;
		default:
			r->pos--;
			return rd_invalid(r, err, "tuple column kind byte", (uint8_t)v->kind);
		}
	}
	t->ncols = n;
	t->cols = cols;
	return PG2MD_OK;
}

static pg2md_code
parse_relation(pgo_parser *p, rd *r, pgo_msg *m, pg2md_error *err)
{
	m->relid = rd_u32(r, "the relation OID");
	m->nspname = rd_str(r, "the namespace");
	m->name = rd_str(r, "the relation name");
	m->replident = (char)rd_u8(r, "the replica identity");
	int n = rd_u16(r, "the column count");
	if (r->bad)
		return rd_finish(r, err);
	if (!strchr("dnfi", m->replident) || m->replident == 0)
		return rd_invalid(r, err, "replica identity", (uint8_t)m->replident);
	if ((size_t)n * 10 > r->len - r->pos) /* flags, name NUL, type OID, typmod: 10 bytes at least */
		return rd_invalid(r, err, "column count", (unsigned)n);
	if (!grow((void **)&p->columns, &p->colcap, n ? n : 1, sizeof(pgo_column)))
		return nomem(err, r->msg);
	for (int i = 0; i < n; i++) {
		pgo_column *c = &p->columns[i];
		c->flags = rd_u8(r, "a column's flags");
		c->name = rd_str(r, "a column's name");
		c->type_oid = rd_u32(r, "a column's type OID");
		c->typmod = (int32_t)rd_u32(r, "a column's type modifier");
	}
	m->ncolumns = n;
	m->columns = p->columns;
	return rd_finish(r, err);
}

static pg2md_code
parse_change(pgo_parser *p, rd *r, pgo_msg *m, pg2md_error *err)
{
	m->relid = rd_u32(r, "the relation OID");
	uint8_t tag = rd_u8(r, "the tuple tag");
	if (r->bad)
		return rd_finish(r, err);
	if (m->kind != PGO_INSERT && (tag == 'K' || tag == 'O')) {
		m->old_kind = (char)tag;
		if (read_tuple(r, &p->oldcols, &p->oldcap, &m->oldtup, err))
			return PG2MD_ERR_RUN;
		if (m->kind == PGO_DELETE)
			return rd_finish(r, err);
		tag = rd_u8(r, "the new tuple tag");
		if (r->bad)
			return rd_finish(r, err);
	}
	if (m->kind == PGO_DELETE) {
		r->pos--;
		return rd_invalid(r, err, "old tuple tag (K or O expected)", tag);
	}
	if (tag != 'N') {
		r->pos--;
		return rd_invalid(r, err, "new tuple tag (N expected)", tag);
	}
	if (read_tuple(r, &p->newcols, &p->newcap, &m->newtup, err))
		return PG2MD_ERR_RUN;
	return rd_finish(r, err);
}

static pg2md_code
parse_truncate(pgo_parser *p, rd *r, pgo_msg *m, pg2md_error *err)
{
	uint32_t n = rd_u32(r, "the relation count");
	m->flags = rd_u8(r, "the options");
	if (r->bad)
		return rd_finish(r, err);
	if ((size_t)n > (r->len - r->pos) / 4 || n > INT32_MAX)
		return rd_invalid(r, err, "relation count", n);
	if (!grow((void **)&p->relids, &p->relcap, n ? (int)n : 1, sizeof(uint32_t)))
		return nomem(err, r->msg);
	for (uint32_t i = 0; i < n; i++)
		p->relids[i] = rd_u32(r, "a relation OID");
	m->nrelids = (int)n;
	m->relids = p->relids;
	return rd_finish(r, err);
}

static const char *
kind_name(uint8_t k)
{
	switch (k) {
	case PGO_BEGIN: return "Begin";
	case PGO_COMMIT: return "Commit";
	case PGO_ORIGIN: return "Origin";
	case PGO_RELATION: return "Relation";
	case PGO_TYPE: return "Type";
	case PGO_INSERT: return "Insert";
	case PGO_UPDATE: return "Update";
	case PGO_DELETE: return "Delete";
	case PGO_TRUNCATE: return "Truncate";
	case PGO_MESSAGE: return "Message";
	case PGO_STREAM_START: return "Stream Start";
	case PGO_STREAM_STOP: return "Stream Stop";
	case PGO_STREAM_COMMIT: return "Stream Commit";
	case PGO_STREAM_ABORT: return "Stream Abort";
	default: return NULL;
	}
}

pg2md_code
pgo_parse(pgo_parser *p, const uint8_t *buf, size_t len, pgo_msg *m, pg2md_error *err)
{
	memset(m, 0, sizeof(*m));
	if (len == 0)
		return pg2md_fail(err, PG2MD_ERR_RUN, "malformed pgoutput message: it is empty");
	uint8_t k = buf[0];
	const char *name = kind_name(k);
	if (name == NULL) {
		pg2md_fail(err, PG2MD_ERR_RUN, "unexpected pgoutput message type 0x%02x", k);
		if (k == 'b' || k == 'P' || k == 'K' || k == 'r' || k == 'p')
			pg2md_detail(err, "two-phase commit messages come only with the two_phase option, which pg2md does not ask for");
		return PG2MD_ERR_RUN;
	}
	rd r = {.buf = buf, .len = len, .pos = 1, .msg = name};
	m->kind = (pgo_kind)k;

	/* Inside a streamed transaction, data messages carry its xid first (protocol 2+). */
	bool in_stream = p->in_stream;
	if (k == PGO_BEGIN || k == PGO_COMMIT || k == PGO_ORIGIN || k == PGO_STREAM_COMMIT ||
	    k == PGO_STREAM_ABORT || k == PGO_STREAM_START) {
		if (in_stream && k != PGO_ORIGIN)
			return pg2md_fail(err, PG2MD_ERR_RUN, "unexpected pgoutput %s message inside a streamed transaction "
					  "(no Stream Stop came before it)", name);
	} else if (k == PGO_STREAM_STOP) {
		if (!in_stream)
			return pg2md_fail(err, PG2MD_ERR_RUN, "unexpected pgoutput Stream Stop message outside a streamed transaction");
	} else if (in_stream) {
		m->streamed = true;
		m->xid = rd_u32(&r, "the streamed transaction's xid");
	}

	switch (k) {
	case PGO_BEGIN:
		m->final_lsn = rd_u64(&r, "the final LSN");
		m->ts = (int64_t)rd_u64(&r, "the commit timestamp");
		m->xid = rd_u32(&r, "the xid");
		return rd_finish(&r, err);
	case PGO_COMMIT:
		m->flags = rd_u8(&r, "the flags");
		m->commit_lsn = rd_u64(&r, "the commit LSN");
		m->end_lsn = rd_u64(&r, "the end LSN");
		m->ts = (int64_t)rd_u64(&r, "the commit timestamp");
		return rd_finish(&r, err);
	case PGO_ORIGIN:
		m->origin_lsn = rd_u64(&r, "the origin's commit LSN");
		m->name = rd_str(&r, "the origin name");
		return rd_finish(&r, err);
	case PGO_RELATION:
		return parse_relation(p, &r, m, err);
	case PGO_TYPE:
		m->type_oid = rd_u32(&r, "the type OID");
		m->nspname = rd_str(&r, "the namespace");
		m->name = rd_str(&r, "the type name");
		return rd_finish(&r, err);
	case PGO_INSERT:
	case PGO_UPDATE:
	case PGO_DELETE:
		return parse_change(p, &r, m, err);
	case PGO_TRUNCATE:
		return parse_truncate(p, &r, m, err);
	case PGO_MESSAGE:
		m->flags = rd_u8(&r, "the flags");
		m->message_lsn = rd_u64(&r, "the message LSN");
		m->prefix = rd_str(&r, "the prefix");
		m->content_len = rd_u32(&r, "the content length");
		m->content = rd_bytes(&r, m->content_len, "the content");
		return rd_finish(&r, err);
	case PGO_STREAM_START: {
		m->xid = rd_u32(&r, "the xid");
		uint8_t first = rd_u8(&r, "the first-segment flag");
		if (rd_finish(&r, err))
			return PG2MD_ERR_RUN;
		if (first > 1)
			return rd_invalid(&r, err, "first-segment flag", first);
		m->first_segment = first == 1;
		p->in_stream = true;
		return PG2MD_OK;
	}
	case PGO_STREAM_STOP:
		if (rd_finish(&r, err))
			return PG2MD_ERR_RUN;
		p->in_stream = false;
		return PG2MD_OK;
	case PGO_STREAM_COMMIT:
		m->xid = rd_u32(&r, "the xid");
		m->flags = rd_u8(&r, "the flags");
		m->commit_lsn = rd_u64(&r, "the commit LSN");
		m->end_lsn = rd_u64(&r, "the end LSN");
		m->ts = (int64_t)rd_u64(&r, "the commit timestamp");
		return rd_finish(&r, err);
	case PGO_STREAM_ABORT:
		m->xid = rd_u32(&r, "the xid");
		m->subxid = rd_u32(&r, "the subtransaction xid");
		/* protocol 4 with streaming = parallel adds the abort LSN and time */
		if (p->proto_version >= 4 && r.len - r.pos == 16) {
			m->abort_lsn = rd_u64(&r, "the abort LSN");
			m->ts = (int64_t)rd_u64(&r, "the abort timestamp");
		}
		return rd_finish(&r, err);
	}
	return PG2MD_ERR_RUN; /* not reached: kind_name() knows every case above */
}

pg2md_code
pgo_parse_wal(const uint8_t *buf, size_t len, pgo_walmsg *out, pg2md_error *err)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return pg2md_fail(err, PG2MD_ERR_RUN, "malformed replication message: it is empty");
	rd r = {.buf = buf, .len = len, .pos = 1};
	switch (buf[0]) {
	case 'w':
		r.msg = "XLogData";
		out->kind = PGO_WAL_XLOGDATA;
		out->start = rd_u64(&r, "the start LSN");
		out->wal_end = rd_u64(&r, "the end of WAL");
		out->send_time = (int64_t)rd_u64(&r, "the send time");
		if (r.bad)
			break;
		out->data = buf + r.pos;
		out->len = len - r.pos;
		r.pos = len;
		break;
	case 'k': {
		r.msg = "keepalive";
		out->kind = PGO_WAL_KEEPALIVE;
		out->wal_end = rd_u64(&r, "the end of WAL");
		out->send_time = (int64_t)rd_u64(&r, "the send time");
		uint8_t reply = rd_u8(&r, "the reply flag");
		if (!r.bad && reply > 1)
			return rd_invalid(&r, err, "reply flag", reply);
		out->reply_requested = reply == 1;
		break;
	}
	default:
		return pg2md_fail(err, PG2MD_ERR_RUN, "unexpected replication message type 0x%02x", buf[0]);
	}
	/* pgoutput's name in errors would be wrong here: the framing is the walsender's */
	if (r.bad) {
		pg2md_fail(err, PG2MD_ERR_RUN, "malformed replication %s message: %s does not fit", r.msg, r.bad);
		pg2md_detail(err, "at byte %zu of a %zu-byte message", r.badpos, r.len);
		return PG2MD_ERR_RUN;
	}
	if (r.pos != len) {
		pg2md_fail(err, PG2MD_ERR_RUN, "malformed replication %s message: %zu unexpected bytes at its end", r.msg,
			   len - r.pos);
		return PG2MD_ERR_RUN;
	}
	return PG2MD_OK;
}

static void
put64(uint8_t *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

void
pgo_build_status(uint8_t *out, pgo_lsn write, pgo_lsn flush, pgo_lsn apply, int64_t now, bool reply)
{
	out[0] = 'r';
	put64(out + 1, write);
	put64(out + 9, flush);
	put64(out + 17, apply);
	put64(out + 25, (uint64_t)now);
	out[33] = reply ? 1 : 0;
}

/*
 * test_pgoutput.c — the pgoutput parser (src/cdc/pgoutput.c) over messages PostgreSQL 15 wrote
 * (fixtures/pgoutput/NAME.hex, from capture.sh: protocol 2 binary with a streamed and an aborted
 * streamed transaction, protocol 1 text) and over hand-built edge cases: every message the
 * server sent parses to the values the workload wrote; every strict prefix of each of them, and
 * each of them with a byte added, is an error; counts that would size arrays past the message,
 * unknown kinds and stream-state violations are errors, never reads out of bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cdc/pgoutput.h"

typedef struct fixture {
	int n;
	uint8_t **msg;
	size_t *len;
} fixture;

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static fixture
load(const char *path)
{
	fixture f = {0};
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	while ((got = getline(&line, &cap, fp)) > 0) {
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = 0;
		if (got == 0)
			continue;
		assert_int_equal(got % 2, 0);
		f.msg = realloc(f.msg, sizeof(*f.msg) * (f.n + 1));
		f.len = realloc(f.len, sizeof(*f.len) * (f.n + 1));
		uint8_t *b = malloc(got / 2 + 1);
		for (ssize_t i = 0; i < got / 2; i++) {
			int hi = hexval(line[2 * i]), lo = hexval(line[2 * i + 1]);
			assert_true(hi >= 0 && lo >= 0);
			b[i] = (uint8_t)(hi << 4 | lo);
		}
		f.msg[f.n] = b;
		f.len[f.n] = got / 2;
		f.n++;
	}
	free(line);
	fclose(fp);
	assert_true(f.n > 0);
	return f;
}

static void
unload(fixture *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->msg[i]);
	free(f->msg);
	free(f->len);
}

static uint32_t
be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A binary int4 or a text value, as an integer. */
static long
intval(const pgo_value *v)
{
	if (v->kind == 'b') {
		assert_int_equal(v->len, 4);
		return (int32_t)be32(v->data);
	}
	assert_int_equal(v->kind, 't');
	char buf[32];
	assert_true(v->len < sizeof(buf));
	memcpy(buf, v->data, v->len);
	buf[v->len] = 0;
	return strtol(buf, NULL, 10);
}

static void
assert_text(const pgo_value *v, const char *s)
{
	assert_true(v->kind == 't' || v->kind == 'b'); /* text, varchar and enums: the same bytes in both */
	assert_int_equal(v->len, strlen(s));
	assert_memory_equal(v->data, s, v->len);
}

/* What the workload of capture.sh must come back as, in either protocol. */
static void
check_workload(const char *path, int proto, char valkind)
{
	fixture f = load(path);
	pgo_parser p;
	pgo_parser_init(&p, proto);
	pgo_msg m;
	pg2md_error err;
	uint32_t rel_t = 0, rel_full = 0, stream_xid = 0;
	int inserts = 0, streamed_inserts = 0, updates = 0, deletes = 0, truncates = 0, messages = 0;
	int begins = 0, commits = 0, stream_starts = 0, stream_commits = 0, aborts = 0, origins = 0, types = 0;
	bool in_txn = false;

	for (int i = 0; i < f.n; i++) {
		pg2md_error_init(&err);
		pg2md_code rc = pgo_parse(&p, f.msg[i], f.len[i], &m, &err);
		if (rc != PG2MD_OK)
			fail_msg("message %d (%c): %s (%s)", i, f.msg[i][0], err.msg, err.detail);
		switch (m.kind) {
		case PGO_BEGIN:
			assert_false(in_txn);
			in_txn = true;
			begins++;
			assert_true(m.final_lsn > 0 && m.xid > 0);
			break;
		case PGO_COMMIT:
			assert_true(in_txn);
			in_txn = false;
			commits++;
			assert_true(m.end_lsn > m.commit_lsn);
			break;
		case PGO_RELATION:
			if (strcmp(m.name, "fx_t") == 0) {
				rel_t = m.relid;
				assert_string_equal(m.nspname, "public");
				assert_int_equal(m.replident, 'd');
				assert_int_equal(m.ncolumns, 5);
				assert_string_equal(m.columns[0].name, "id");
				assert_int_equal(m.columns[0].flags, 1);
				assert_int_equal(m.columns[0].type_oid, 23);
				assert_int_equal(m.columns[1].flags, 0);
				assert_int_equal(m.columns[3].type_oid, 1700);
				assert_int_equal(m.columns[3].typmod, (10 << 16 | 2) + 4);
				assert_string_equal(m.columns[4].name, "mood");
			} else {
				assert_string_equal(m.name, "fx_full");
				rel_full = m.relid;
				assert_int_equal(m.replident, 'f');
				assert_int_equal(m.columns[0].flags, 1); /* FULL: every column is the key */
				assert_int_equal(m.columns[1].flags, 1);
			}
			break;
		case PGO_TYPE:
			types++;
			assert_string_equal(m.name, "fx_mood");
			assert_string_equal(m.nspname, "public");
			break;
		case PGO_INSERT:
			assert_int_equal(m.newtup.ncols, m.relid == rel_t ? 5 : 2);
			if (m.streamed) {
				assert_int_equal(m.xid, stream_xid);
				streamed_inserts++;
				long id = intval(&m.newtup.cols[0]);
				assert_true(id >= 100 && id <= 699); /* never a row of the aborted one */
				char name[32];
				snprintf(name, sizeof(name), "row %ld", id);
				assert_text(&m.newtup.cols[1], name);
				assert_int_equal(m.newtup.cols[2].kind, 'n');
				assert_text(&m.newtup.cols[4], "happy");
			} else if (inserts == 0) {
				assert_int_equal(m.relid, rel_t);
				assert_int_equal(intval(&m.newtup.cols[0]), 1);
				assert_int_equal(m.newtup.cols[0].kind, valkind);
				assert_text(&m.newtup.cols[1], "one");
				assert_int_equal(m.newtup.cols[2].len, 3000);
				assert_text(&m.newtup.cols[4], "ok");
			} else if (inserts == 1) {
				assert_int_equal(intval(&m.newtup.cols[0]), 2);
				for (int c = 1; c < 5; c++)
					assert_int_equal(m.newtup.cols[c].kind, 'n');
			}
			inserts += !m.streamed;
			break;
		case PGO_UPDATE:
			updates++;
			if (updates == 1) { /* name changed, big untouched: not sent */
				assert_int_equal(m.old_kind, 0);
				assert_int_equal(intval(&m.newtup.cols[0]), 1);
				assert_text(&m.newtup.cols[1], "uno");
				assert_int_equal(m.newtup.cols[2].kind, 'u');
			} else if (updates == 2) { /* key change: the old key comes first */
				assert_int_equal(m.old_kind, 'K');
				assert_int_equal(m.oldtup.ncols, 5);
				assert_int_equal(intval(&m.oldtup.cols[0]), 1);
				assert_int_equal(m.oldtup.cols[1].kind, 'n');
				assert_int_equal(intval(&m.newtup.cols[0]), 10);
			} else { /* REPLICA IDENTITY FULL: the whole old row */
				assert_int_equal(m.relid, rel_full);
				assert_int_equal(m.old_kind, 'O');
				assert_text(&m.oldtup.cols[1], "seven");
				assert_text(&m.newtup.cols[1], "SEVEN");
			}
			break;
		case PGO_DELETE:
			deletes++;
			if (m.relid == rel_t) {
				assert_int_equal(m.old_kind, 'K');
				assert_int_equal(intval(&m.oldtup.cols[0]), 2);
			} else {
				assert_int_equal(m.old_kind, 'O');
				assert_int_equal(intval(&m.oldtup.cols[0]), 7);
				assert_text(&m.oldtup.cols[1], "SEVEN");
			}
			break;
		case PGO_TRUNCATE:
			truncates++;
			assert_int_equal(m.nrelids, 2);
			assert_int_equal(m.relids[0] == rel_t ? m.relids[1] : m.relids[0], rel_full);
			assert_true(m.relids[0] == rel_t || m.relids[1] == rel_t);
			assert_int_equal(m.flags, 0);
			break;
		case PGO_MESSAGE:
			messages++;
			assert_string_equal(m.prefix, "pg2md");
			if (m.flags & 1) {
				assert_true(in_txn);
				assert_int_equal(m.content_len, strlen("in a transaction"));
				assert_memory_equal(m.content, "in a transaction", m.content_len);
			} else {
				assert_false(in_txn);
				assert_int_equal(m.content_len, strlen("outside"));
			}
			break;
		case PGO_ORIGIN:
			origins++;
			assert_string_equal(m.name, "fx_origin");
			assert_int_equal(m.origin_lsn, 0xABCDEF);
			break;
		case PGO_STREAM_START:
			assert_int_equal(proto, 2);
			assert_true(p.in_stream);
			if (m.first_segment)
				stream_starts++;
			stream_xid = m.xid;
			break;
		case PGO_STREAM_STOP:
			assert_false(p.in_stream);
			break;
		case PGO_STREAM_COMMIT:
			stream_commits++;
			assert_int_equal(m.xid, stream_xid);
			assert_true(m.end_lsn > m.commit_lsn);
			break;
		case PGO_STREAM_ABORT:
			aborts++;
			assert_int_equal(m.xid, m.subxid);
			assert_int_equal(m.xid, stream_xid);
			break;
		}
	}
	assert_false(p.in_stream);
	assert_int_equal(updates, 3);
	assert_int_equal(deletes, 2);
	assert_int_equal(truncates, 1);
	assert_int_equal(messages, 2);
	assert_int_equal(origins, 1);
	assert_true(types >= 1);
	if (proto >= 2) {
		assert_int_equal(stream_starts, 2); /* the committed and the aborted large transaction */
		assert_int_equal(stream_commits, 1);
		assert_int_equal(aborts, 1);
		assert_int_equal(streamed_inserts, 600);
		assert_int_equal(inserts, 4); /* 2 + fx_full's + the origin's */
		assert_int_equal(begins, 10); /* 11 transactions, the large one streamed */
	} else {
		assert_int_equal(inserts, 604); /* the large one arrives whole at its commit */
		assert_int_equal(begins, 11);
	}
	assert_int_equal(commits, begins);
	pgo_parser_release(&p);
	unload(&f);
}

static void
binary_v2_fixture_parses_to_the_workload(void **state)
{
	(void)state;
	check_workload("fixtures/pgoutput/v2_binary.hex", 2, 'b');
}

static void
text_v1_fixture_parses_to_the_workload(void **state)
{
	(void)state;
	check_workload("fixtures/pgoutput/v1_text.hex", 1, 't');
}

/* Every strict prefix of a real message, and the message with a byte added, is an error; the
 * stream state moves only on success.  Each copy is allocated at its exact length, so ASan
 * catches a read past it. */
static void
every_truncation_and_extension_fails(void **state)
{
	(void)state;
	const char *files[] = {"fixtures/pgoutput/v2_binary.hex", "fixtures/pgoutput/v1_text.hex"};
	for (int fi = 0; fi < 2; fi++) {
		fixture f = load(files[fi]);
		pgo_parser p, probe;
		pgo_parser_init(&p, 2);
		pgo_parser_init(&probe, 2);
		pgo_msg m;
		pg2md_error err;
		for (int i = 0; i < f.n; i++) {
			size_t len = f.len[i];
			for (size_t cut = 0; cut < len; cut += (len > 600 ? 37 : 1) /* the 3000-byte rows: every 37th cut */) {
				uint8_t *b = malloc(cut ? cut : 1);
				memcpy(b, f.msg[i], cut);
				probe.in_stream = p.in_stream;
				pg2md_error_init(&err);
				if (pgo_parse(&probe, b, cut, &m, &err) == PG2MD_OK)
					fail_msg("message %d (%c) cut to %zu of %zu bytes parsed", i, f.msg[i][0], cut, len);
				assert_true(err.msg[0] != 0);
				assert_int_equal(probe.in_stream, p.in_stream);
				free(b);
			}
			uint8_t *b = malloc(len + 1);
			memcpy(b, f.msg[i], len);
			b[len] = 0;
			pg2md_error_init(&err);
			probe.in_stream = p.in_stream;
			assert_int_not_equal(pgo_parse(&probe, b, len + 1, &m, &err), PG2MD_OK);
			free(b);
			pg2md_error_init(&err);
			assert_int_equal(pgo_parse(&p, f.msg[i], f.len[i], &m, &err), PG2MD_OK);
		}
		pgo_parser_release(&p);
		pgo_parser_release(&probe);
		unload(&f);
	}
}

/* Parse a copy of exactly len bytes (ASan sees a read past it); the copy lives until the next
 * call, since the message points into it. */
static uint8_t *held;

static pg2md_code
parse_bytes(pgo_parser *p, const void *bytes, size_t len, pgo_msg *m, pg2md_error *err)
{
	free(held);
	held = malloc(len ? len : 1);
	memcpy(held, bytes, len);
	pg2md_error_init(err);
	return pgo_parse(p, held, len, m, err);
}

#define PARSE(p, lit, m, err) parse_bytes((p), (lit), sizeof(lit) - 1, (m), (err))

static void
hand_built_edge_cases(void **state)
{
	(void)state;
	pgo_parser p;
	pgo_parser_init(&p, 2);
	pgo_msg m;
	pg2md_error err;

	/* empty, unknown, two-phase */
	assert_int_equal(parse_bytes(&p, "", 0, &m, &err), PG2MD_ERR_RUN);
	assert_int_equal(PARSE(&p, "Z", &m, &err), PG2MD_ERR_RUN);
	assert_non_null(strstr(err.msg, "0x5a"));
	assert_int_equal(PARSE(&p, "b\0\0\0\0", &m, &err), PG2MD_ERR_RUN);
	assert_non_null(strstr(err.detail, "two_phase"));

	/* a tuple of each kind: NULL, unchanged, text, binary (and an empty text value) */
	static const char ins[] = "I\0\0\0\x2a" "N\0\x05" "n" "u" "t\0\0\0\x02hi" "b\0\0\0\x01\x07" "t\0\0\0\0";
	assert_int_equal(PARSE(&p, ins, &m, &err), PG2MD_OK);
	assert_int_equal(m.relid, 42);
	assert_int_equal(m.newtup.ncols, 5);
	assert_int_equal(m.newtup.cols[0].kind, 'n');
	assert_int_equal(m.newtup.cols[1].kind, 'u');
	assert_int_equal(m.newtup.cols[2].len, 2);
	assert_memory_equal(m.newtup.cols[2].data, "hi", 2);
	assert_int_equal(m.newtup.cols[3].kind, 'b');
	assert_int_equal(m.newtup.cols[3].data[0], 7);
	assert_int_equal(m.newtup.cols[4].len, 0);
	/* zero columns is a valid tuple */
	assert_int_equal(PARSE(&p, "I\0\0\0\x2a" "N\0\0", &m, &err), PG2MD_OK);
	assert_int_equal(m.newtup.ncols, 0);

	/* a bad kind byte, a value longer than the message, a column count past the bytes */
	assert_int_equal(PARSE(&p, "I\0\0\0\x2a" "N\0\x01" "x", &m, &err), PG2MD_ERR_RUN);
	assert_non_null(strstr(err.msg, "kind"));
	assert_int_equal(PARSE(&p, "I\0\0\0\x2a" "N\0\x01" "t\xff\xff\xff\xff" "abc", &m, &err), PG2MD_ERR_RUN);
	assert_non_null(strstr(err.msg, "does not fit"));
	assert_int_equal(PARSE(&p, "I\0\0\0\x2a" "N\xff\xff" "n", &m, &err), PG2MD_ERR_RUN);
	/* Insert with an old tuple, Delete without one, Update with a bad tag */
	assert_int_equal(PARSE(&p, "I\0\0\0\x2a" "K\0\x01n", &m, &err), PG2MD_ERR_RUN);
	assert_int_equal(PARSE(&p, "D\0\0\0\x2a" "N\0\x01n", &m, &err), PG2MD_ERR_RUN);
	assert_int_equal(PARSE(&p, "U\0\0\0\x2a" "K\0\x01n" "K\0\x01n", &m, &err), PG2MD_ERR_RUN);
	assert_int_equal(PARSE(&p, "U\0\0\0\x2a" "O\0\x01n" "N\0\x01u", &m, &err), PG2MD_OK);
	assert_int_equal(m.old_kind, 'O');
	assert_int_equal(m.newtup.cols[0].kind, 'u');

	/* Relation: a string without its NUL, a bad replica identity, a column count past the bytes */
	assert_int_equal(PARSE(&p, "R\0\0\0\x01" "public", &m, &err), PG2MD_ERR_RUN);
	assert_int_equal(PARSE(&p, "R\0\0\0\x01" "s\0t\0z\0\0", &m, &err), PG2MD_ERR_RUN);
	assert_int_equal(PARSE(&p, "R\0\0\0\x01" "s\0t\0d\x7f\xff", &m, &err), PG2MD_ERR_RUN);
	assert_int_equal(PARSE(&p, "R\0\0\0\x01" "\0t\0n\0\x01" "\0c\0\0\0\0\x17\xff\xff\xff\xff", &m, &err), PG2MD_OK);
	assert_string_equal(m.nspname, "");
	assert_int_equal(m.columns[0].typmod, -1);

	/* Truncate: a relation count past the bytes, then a good one */
	assert_int_equal(PARSE(&p, "T\x7f\xff\xff\xff\0\0\0\0\x01", &m, &err), PG2MD_ERR_RUN);
	assert_int_equal(PARSE(&p, "T\0\0\0\x02\x03\0\0\0\x01\0\0\0\x02", &m, &err), PG2MD_OK);
	assert_int_equal(m.nrelids, 2);
	assert_int_equal(m.relids[1], 2);
	assert_int_equal(m.flags, 3);

	/* Message: content length past the bytes */
	assert_int_equal(PARSE(&p, "M\x01\0\0\0\0\0\0\0\x10p\0\0\0\x01\0ab", &m, &err), PG2MD_ERR_RUN);

	/* stream state: Stop outside, a bad first-segment flag leaves it outside, Begin inside */
	assert_int_equal(PARSE(&p, "E", &m, &err), PG2MD_ERR_RUN);
	assert_int_equal(PARSE(&p, "S\0\0\0\x09\x02", &m, &err), PG2MD_ERR_RUN);
	assert_false(p.in_stream);
	assert_int_equal(PARSE(&p, "S\0\0\0\x09\x01", &m, &err), PG2MD_OK);
	assert_true(p.in_stream);
	assert_int_equal(PARSE(&p, "B\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x01\0\0\0\x05", &m, &err), PG2MD_ERR_RUN);
	assert_int_equal(PARSE(&p, "S\0\0\0\x09\x00", &m, &err), PG2MD_ERR_RUN);
	/* inside: the xid comes first */
	assert_int_equal(PARSE(&p, "I\0\0\0\x09\0\0\0\x2a" "N\0\x01n", &m, &err), PG2MD_OK);
	assert_true(m.streamed);
	assert_int_equal(m.xid, 9);
	assert_int_equal(m.relid, 42);
	assert_int_equal(PARSE(&p, "I\0\0\0\x2a" "N\0\x01n", &m, &err), PG2MD_ERR_RUN); /* no xid: short */
	assert_int_equal(PARSE(&p, "E", &m, &err), PG2MD_OK);
	assert_false(p.in_stream);
	assert_int_equal(PARSE(&p, "A\0\0\0\x09\0\0\0\x0a", &m, &err), PG2MD_OK);
	assert_int_equal(m.subxid, 10);
	/* protocol 4: the abort LSN and time may follow */
	p.proto_version = 4;
	assert_int_equal(PARSE(&p, "A\0\0\0\x09\0\0\0\x09\0\0\0\x01\0\0\0\x02\0\0\0\0\0\0\0\x03", &m, &err), PG2MD_OK);
	assert_int_equal(m.abort_lsn, (UINT64_C(1) << 32) | 2);
	assert_int_equal(m.ts, 3);
	pgo_parser_release(&p);
	free(held);
	held = NULL;
}

static void
wal_framing_and_status(void **state)
{
	(void)state;
	pgo_walmsg w;
	pg2md_error err;
	pg2md_error_init(&err);
	static const uint8_t xlog[] = {'w', 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 'E'};
	assert_int_equal(pgo_parse_wal(xlog, sizeof(xlog), &w, &err), PG2MD_OK);
	assert_int_equal(w.kind, PGO_WAL_XLOGDATA);
	assert_int_equal(w.start, (UINT64_C(1) << 32) | 2);
	assert_int_equal(w.wal_end, (UINT64_C(1) << 32) | 3);
	assert_int_equal(w.send_time, 4);
	assert_int_equal(w.len, 1);
	assert_int_equal(w.data[0], 'E');
	assert_int_equal(pgo_parse_wal(xlog, 24, &w, &err), PG2MD_ERR_RUN);
	static const uint8_t ka[] = {'k', 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 5, 1};
	pg2md_error_init(&err);
	assert_int_equal(pgo_parse_wal(ka, sizeof(ka), &w, &err), PG2MD_OK);
	assert_true(w.reply_requested);
	assert_int_equal(w.wal_end, 9);
	for (size_t cut = 0; cut < sizeof(ka); cut++) {
		pg2md_error_init(&err);
		assert_int_equal(pgo_parse_wal(ka, cut, &w, &err), PG2MD_ERR_RUN);
	}
	uint8_t st[PGO_STATUS_LEN];
	pgo_build_status(st, 0x100000002, 0x100000001, 0, 77, true);
	assert_int_equal(st[0], 'r');
	assert_int_equal(be32(st + 1), 1);
	assert_int_equal(be32(st + 5), 2);
	assert_int_equal(be32(st + 13), 1);
	assert_int_equal(be32(st + 29), 77);
	assert_int_equal(st[33], 1);

	char buf[PGO_LSN_TEXT];
	pgo_lsn l;
	assert_string_equal(pgo_lsn_format(0x16B374D848, buf), "16/B374D848");
	assert_true(pgo_lsn_parse("16/B374D848", &l));
	assert_int_equal(l, 0x16B374D848);
	assert_true(pgo_lsn_parse("0/0", &l) && l == 0);
	assert_true(pgo_lsn_parse("FFFFFFFF/ffffffff", &l) && l == UINT64_MAX);
	assert_false(pgo_lsn_parse("", &l));
	assert_false(pgo_lsn_parse("16", &l));
	assert_false(pgo_lsn_parse("/1", &l));
	assert_false(pgo_lsn_parse("1/", &l));
	assert_false(pgo_lsn_parse("1/2/3", &l));
	assert_false(pgo_lsn_parse("100000000/0", &l));
	assert_false(pgo_lsn_parse("1/g", &l));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(binary_v2_fixture_parses_to_the_workload),
		cmocka_unit_test(text_v1_fixture_parses_to_the_workload),
		cmocka_unit_test(every_truncation_and_extension_fails),
		cmocka_unit_test(hand_built_edge_cases),
		cmocka_unit_test(wal_framing_and_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

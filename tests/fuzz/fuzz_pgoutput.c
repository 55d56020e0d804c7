/*
 * fuzz_pgoutput.c — libFuzzer target for the pgoutput parser and the replication stream's
 * framing (src/cdc/pgoutput.c).
 *
 * The input is a sequence of messages parsed in order by one parser, so the stream state
 * (Stream Start ... Stream Stop) carries from one to the next as it does on a real stream:
 *
 *   byte 0     bits 0-1: protocol version - 1 (1..4)
 *   the rest   messages, each a 2-byte big-endian length then that many bytes (a length past
 *              the input's end takes what is left)
 *
 * Each message is copied into a buffer of exactly its length (ASan sees any read past it),
 * parsed as pgoutput and as a CopyData message ('w' / 'k'); what a successful parse returns is
 * walked in full (every string read to its NUL, every value's bytes touched), so a pointer or
 * length that escapes the message is caught where it is made.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/pgoutput.h"

static volatile unsigned sink;

static void
touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		sink += b[i];
}

static void
touch_str(const char *s)
{
	if (s)
		touch(s, strlen(s) + 1);
}

static void
touch_tuple(const pgo_tuple *t)
{
	for (int i = 0; i < t->ncols; i++) {
		const pgo_value *v = &t->cols[i];
		if (v->kind == 't' || v->kind == 'b')
			touch(v->data, v->len);
		else if (v->kind != 'n' && v->kind != 'u')
			abort(); /* the parser let an unknown kind through */
	}
}

static void
walk(const pgo_msg *m)
{
	touch_str(m->nspname);
	touch_str(m->name);
	touch_str(m->prefix);
	for (int i = 0; i < m->ncolumns; i++)
		touch_str(m->columns[i].name);
	touch_tuple(&m->oldtup);
	touch_tuple(&m->newtup);
	touch(m->relids, (size_t)m->nrelids * sizeof(uint32_t));
	if (m->content)
		touch(m->content, m->content_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	pgo_parser p;
	pgo_parser_init(&p, 1 + (data[0] & 3));
	size_t pos = 1;
	while (pos < size) {
		size_t len;
		if (size - pos < 2) {
			len = size - pos;
			pos = size - len;
		} else {
			len = (size_t)data[pos] << 8 | data[pos + 1];
			pos += 2;
			if (len > size - pos)
				len = size - pos;
		}
		uint8_t *msg = malloc(len ? len : 1);
		memcpy(msg, data + pos, len);
		pos += len;

		pgo_msg m;
		pg2md_error err;
		pg2md_error_init(&err);
		bool was = p.in_stream;
		if (pgo_parse(&p, msg, len, &m, &err) == PG2MD_OK) {
			walk(&m);
		} else {
			if (err.msg[0] == 0 || p.in_stream != was)
				abort(); /* an error without a message, or one that moved the stream state */
		}
		pgo_walmsg w;
		pg2md_error_init(&err);
		if (pgo_parse_wal(msg, len, &w, &err) == PG2MD_OK) {
			if (w.kind == PGO_WAL_XLOGDATA)
				touch(w.data, w.len);
		} else if (err.msg[0] == 0) {
			abort();
		}
		free(msg);
	}
	pgo_parser_release(&p);
	return 0;
}

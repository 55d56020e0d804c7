/*
 * test_fold.c — the relation cache and the per-key folding of a batch (src/cdc/fold.c):
 * the last image of a key wins; a delete then an insert is one UPSERT; an unchanged-TOAST
 * column ('u') takes an earlier image's value in the batch or stays 'u' with the destination row
 * to read it from, through key changes and chains of them; TRUNCATE empties the batch's rows of
 * the table and marks it; changes sharing one LSN are kept apart by key; tables without a key
 * are refused with the ALTER TABLE to run; malformed changes are errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cdc/fold.h"

/* A relation t(id key, v, big) as a Relation message. */
static pgo_msg
relation(uint32_t relid, char replident, int keyflag, const char *vname, uint32_t vtype)
{
	static pgo_column cols[3];
	cols[0] = (pgo_column){.flags = (uint8_t)keyflag, .name = "id", .type_oid = 23, .typmod = -1};
	cols[1] = (pgo_column){.flags = replident == 'f', .name = vname, .type_oid = vtype, .typmod = -1};
	cols[2] = (pgo_column){.flags = replident == 'f', .name = "big", .type_oid = 25, .typmod = -1};
	return (pgo_msg){.kind = PGO_RELATION, .relid = relid, .nspname = "public", .name = "t",
			 .replident = replident, .ncolumns = 3, .columns = cols};
}

/* Values as text: "n" NULL, "u" unchanged, else the text. Strings must outlive the fold call. */
static pgo_value
val(const char *s)
{
	if (strcmp(s, "n") == 0 || strcmp(s, "u") == 0)
		return (pgo_value){.kind = s[0]};
	return (pgo_value){.kind = 't', .len = (uint32_t)strlen(s), .data = (const uint8_t *)s};
}

static pgo_value newv[3], oldv[3];

static pgo_msg
change(pgo_kind kind, const char *old_id, const char *id, const char *v, const char *big)
{
	pgo_msg m = {.kind = kind, .relid = 1};
	if (old_id) {
		m.old_kind = 'K';
		oldv[0] = val(old_id);
		oldv[1] = val("n");
		oldv[2] = val("n");
		m.oldtup = (pgo_tuple){3, oldv};
	}
	if (kind != PGO_DELETE) {
		newv[0] = val(id);
		newv[1] = val(v);
		newv[2] = val(big);
		m.newtup = (pgo_tuple){3, newv};
	}
	return m;
}

static void
fold_ok(cdc_fold *f, const cdc_rel *rel, pgo_msg m)
{
	pg2md_error err;
	pg2md_error_init(&err);
	if (cdc_fold_change(f, rel, &m, &err))
		fail_msg("fold: %s", err.msg);
}

static void
assert_col(const cdc_row *r, int c, const char *s)
{
	pgo_value v = val(s);
	assert_int_equal(r->cols[c].kind, v.kind);
	assert_int_equal(r->cols[c].len, v.len);
	if (v.len)
		assert_memory_equal(r->cols[c].data, s, v.len);
}

/* The row of key id in the batch (the key is column 0). */
static const cdc_row *
row_of(const cdc_fold_table *t, const char *id)
{
	for (int i = 0; i < t->nrows; i++)
		if (t->rows[i].cols[0].len == strlen(id) && memcmp(t->rows[i].cols[0].data, id, strlen(id)) == 0)
			return &t->rows[i];
	fail_msg("no row for key %s", id);
	return NULL;
}

static int
index_of(const cdc_fold_table *t, const cdc_row *r)
{
	return (int)(r - t->rows);
}

static void
relcache_tracks_every_relation_message(void **state)
{
	(void)state;
	cdc_relcache rc;
	cdc_relcache_init(&rc);
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_rel_change ch;
	pgo_msg m = relation(1, 'd', 1, "v", 25);
	assert_int_equal(cdc_relcache_update(&rc, &m, &ch, &err), PG2MD_OK);
	assert_int_equal(ch, CDC_REL_NEW);
	m = relation(1, 'd', 1, "v", 25);
	assert_int_equal(cdc_relcache_update(&rc, &m, &ch, &err), PG2MD_OK);
	assert_int_equal(ch, CDC_REL_SAME);
	m = relation(1, 'd', 1, "renamed", 25); /* a rename: same position and type, new name */
	assert_int_equal(cdc_relcache_update(&rc, &m, &ch, &err), PG2MD_OK);
	assert_int_equal(ch, CDC_REL_CHANGED);
	assert_string_equal(cdc_relcache_get(&rc, 1)->cols[1].name, "renamed");
	m = relation(1, 'd', 1, "renamed", 20); /* a type change */
	assert_int_equal(cdc_relcache_update(&rc, &m, &ch, &err), PG2MD_OK);
	assert_int_equal(ch, CDC_REL_CHANGED);
	m = relation(2, 'f', 0, "v", 25);
	assert_int_equal(cdc_relcache_update(&rc, &m, &ch, &err), PG2MD_OK);
	assert_int_equal(ch, CDC_REL_NEW);
	const cdc_rel *r1 = cdc_relcache_get(&rc, 1), *r2 = cdc_relcache_get(&rc, 2);
	assert_int_equal(r1->nkeys, 1);
	assert_true(r1->cols[0].key);
	assert_int_equal(r1->cols[1].type_oid, 20);
	assert_int_equal(r2->nkeys, 2);
	assert_int_equal(r2->replident, 'f');
	assert_null(cdc_relcache_get(&rc, 3));
	cdc_relcache_release(&rc);
}

static void
last_image_wins_and_delete_insert_is_one_row(void **state)
{
	(void)state;
	cdc_relcache rc;
	cdc_relcache_init(&rc);
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_rel_change ch;
	pgo_msg rm = relation(1, 'd', 1, "v", 25);
	cdc_relcache_update(&rc, &rm, &ch, &err);
	const cdc_rel *rel = cdc_relcache_get(&rc, 1);
	cdc_fold f;
	cdc_fold_init(&f);

	fold_ok(&f, rel, change(PGO_INSERT, NULL, "1", "a", "big1"));
	fold_ok(&f, rel, change(PGO_UPDATE, NULL, "1", "b", "big1"));
	fold_ok(&f, rel, change(PGO_INSERT, NULL, "2", "x", "n")); /* one LSN in the source or not: */
	fold_ok(&f, rel, change(PGO_INSERT, NULL, "3", "y", "n")); /* keys keep them apart */
	fold_ok(&f, rel, change(PGO_DELETE, "2", NULL, NULL, NULL));
	fold_ok(&f, rel, change(PGO_DELETE, "4", NULL, NULL, NULL));
	fold_ok(&f, rel, change(PGO_INSERT, NULL, "4", "again", "n"));
	assert_int_equal(f.changes, 7);

	const cdc_fold_table *t = cdc_fold_table_get(&f, 1);
	assert_non_null(t);
	assert_false(t->truncated);
	assert_int_equal(t->nrows, 4);
	/* first-touch order: 1, 2, 3, 4 */
	assert_int_equal(index_of(t, row_of(t, "1")), 0);
	assert_int_equal(index_of(t, row_of(t, "4")), 3);
	const cdc_row *r = row_of(t, "1");
	assert_int_equal(r->op, CDC_OP_UPSERT);
	assert_col(r, 1, "b");
	assert_col(r, 2, "big1");
	assert_int_equal(row_of(t, "2")->op, CDC_OP_DELETE);
	assert_int_equal(row_of(t, "3")->op, CDC_OP_UPSERT);
	r = row_of(t, "4");
	assert_int_equal(r->op, CDC_OP_UPSERT);
	assert_col(r, 1, "again");
	assert_col(r, 2, "n");
	assert_true(cdc_fold_bytes(&f) > 0);
	assert_null(cdc_fold_table_get(&f, 99));

	cdc_fold_reset(&f);
	assert_null(cdc_fold_table_get(&f, 1));
	assert_int_equal(f.changes, 0);
	cdc_fold_release(&f);
	cdc_relcache_release(&rc);
}

static void
unchanged_toast_values(void **state)
{
	(void)state;
	cdc_relcache rc;
	cdc_relcache_init(&rc);
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_rel_change ch;
	pgo_msg rm = relation(1, 'd', 1, "v", 25);
	cdc_relcache_update(&rc, &rm, &ch, &err);
	const cdc_rel *rel = cdc_relcache_get(&rc, 1);
	cdc_fold f;
	cdc_fold_init(&f);

	/* key 1 not in the batch: the destination keeps big */
	fold_ok(&f, rel, change(PGO_UPDATE, NULL, "1", "a", "u"));
	fold_ok(&f, rel, change(PGO_UPDATE, NULL, "1", "b", "u"));
	const cdc_fold_table *t = cdc_fold_table_get(&f, 1);
	const cdc_row *r = row_of(t, "1");
	assert_int_equal(r->op, CDC_OP_UPDATE);
	assert_int_equal(r->from, index_of(t, r)); /* its own destination row */
	assert_col(r, 1, "b");
	assert_col(r, 2, "u");
	/* a later image with big: the row becomes a full image */
	fold_ok(&f, rel, change(PGO_UPDATE, NULL, "1", "c", "BIG"));
	r = row_of(t, "1");
	assert_int_equal(r->op, CDC_OP_UPSERT);
	assert_int_equal(r->from, -1);
	/* then 'u' again: the batch's value fills it */
	fold_ok(&f, rel, change(PGO_UPDATE, NULL, "1", "d", "u"));
	r = row_of(t, "1");
	assert_int_equal(r->op, CDC_OP_UPSERT);
	assert_col(r, 1, "d");
	assert_col(r, 2, "BIG");

	/* inserted in the batch, then updated with 'u': the inserted value */
	fold_ok(&f, rel, change(PGO_INSERT, NULL, "5", "e", "big5"));
	fold_ok(&f, rel, change(PGO_UPDATE, NULL, "5", "f", "u"));
	r = row_of(t, "5");
	assert_int_equal(r->op, CDC_OP_UPSERT);
	assert_col(r, 2, "big5");
	cdc_fold_release(&f);
	cdc_relcache_release(&rc);
}

static void
key_changes_and_their_chains(void **state)
{
	(void)state;
	cdc_relcache rc;
	cdc_relcache_init(&rc);
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_rel_change ch;
	pgo_msg rm = relation(1, 'd', 1, "v", 25);
	cdc_relcache_update(&rc, &rm, &ch, &err);
	const cdc_rel *rel = cdc_relcache_get(&rc, 1);
	cdc_fold f;
	cdc_fold_init(&f);

	/* 1 -> 10 -> 20, big never sent: 1 and 10 deleted, 20 reads big from 1's destination row */
	fold_ok(&f, rel, change(PGO_UPDATE, "1", "10", "a", "u"));
	fold_ok(&f, rel, change(PGO_UPDATE, "10", "20", "b", "u"));
	const cdc_fold_table *t = cdc_fold_table_get(&f, 1);
	assert_int_equal(t->nrows, 3);
	const cdc_row *one = row_of(t, "1"), *ten = row_of(t, "10"), *twenty = row_of(t, "20");
	assert_int_equal(one->op, CDC_OP_DELETE);
	assert_false(one->image); /* an old key: its other columns are not values */
	assert_int_equal(ten->op, CDC_OP_DELETE);
	assert_int_equal(twenty->op, CDC_OP_UPDATE);
	assert_int_equal(twenty->from, index_of(t, one));
	assert_col(twenty, 1, "b");
	assert_col(twenty, 2, "u");

	/* inserted, then its key changed with big unchanged: the inserted big moves along */
	fold_ok(&f, rel, change(PGO_INSERT, NULL, "5", "e", "big5"));
	fold_ok(&f, rel, change(PGO_UPDATE, "5", "6", "g", "u"));
	assert_int_equal(row_of(t, "5")->op, CDC_OP_DELETE);
	const cdc_row *six = row_of(t, "6");
	assert_int_equal(six->op, CDC_OP_UPSERT);
	assert_int_equal(six->from, -1);
	assert_col(six, 1, "g");
	assert_col(six, 2, "big5");

	/* a key moved onto one deleted earlier in the batch: the new image wins */
	fold_ok(&f, rel, change(PGO_DELETE, "7", NULL, NULL, NULL));
	fold_ok(&f, rel, change(PGO_UPDATE, "8", "7", "h", "big8"));
	assert_int_equal(row_of(t, "7")->op, CDC_OP_UPSERT);
	assert_int_equal(row_of(t, "8")->op, CDC_OP_DELETE);

	/* and back: 20 -> 1 re-creates 1 as an UPDATE still reading 1's destination row */
	fold_ok(&f, rel, change(PGO_UPDATE, "20", "1", "c", "u"));
	one = row_of(t, "1");
	assert_int_equal(one->op, CDC_OP_UPDATE);
	assert_int_equal(one->from, index_of(t, one));
	assert_int_equal(row_of(t, "20")->op, CDC_OP_DELETE);
	cdc_fold_release(&f);
	cdc_relcache_release(&rc);
}

static void
truncate_empties_the_batch_rows_of_its_table(void **state)
{
	(void)state;
	cdc_relcache rc;
	cdc_relcache_init(&rc);
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_rel_change ch;
	pgo_msg rm = relation(1, 'd', 1, "v", 25);
	cdc_relcache_update(&rc, &rm, &ch, &err);
	rm = relation(2, 'd', 1, "v", 25);
	cdc_relcache_update(&rc, &rm, &ch, &err);
	const cdc_rel *rel = cdc_relcache_get(&rc, 1), *rel2 = cdc_relcache_get(&rc, 2);
	cdc_fold f;
	cdc_fold_init(&f);
	fold_ok(&f, rel, change(PGO_INSERT, NULL, "1", "a", "n"));
	pgo_msg other = change(PGO_INSERT, NULL, "1", "z", "n");
	other.relid = 2;
	fold_ok(&f, rel2, other);
	assert_int_equal(cdc_fold_truncate(&f, rel, 2, &err), PG2MD_OK);
	const cdc_fold_table *t = cdc_fold_table_get(&f, 1);
	assert_true(t->truncated);
	assert_int_equal(t->truncate_flags, 2);
	assert_int_equal(t->nrows, 0);
	assert_int_equal(cdc_fold_table_get(&f, 2)->nrows, 1); /* the other table keeps its rows */
	fold_ok(&f, rel, change(PGO_INSERT, NULL, "1", "after", "n"));
	t = cdc_fold_table_get(&f, 1);
	assert_int_equal(t->nrows, 1);
	assert_col(row_of(t, "1"), 1, "after");
	cdc_fold_release(&f);
	cdc_relcache_release(&rc);
}

static void
keyless_tables_and_bad_changes_are_refused(void **state)
{
	(void)state;
	cdc_relcache rc;
	cdc_relcache_init(&rc);
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_rel_change ch;
	pgo_msg rm = relation(1, 'f', 0, "v", 25);
	cdc_relcache_update(&rc, &rm, &ch, &err);
	rm = relation(2, 'd', 0, "v", 25);
	cdc_relcache_update(&rc, &rm, &ch, &err);
	rm = relation(3, 'd', 1, "v", 25);
	cdc_relcache_update(&rc, &rm, &ch, &err);
	cdc_fold f;
	cdc_fold_init(&f);

	/* REPLICA IDENTITY FULL: an update or delete without the old row is malformed */
	assert_int_equal(cdc_fold_change(&f, cdc_relcache_get(&rc, 1), &(pgo_msg){.kind = PGO_DELETE}, &err), PG2MD_ERR_RUN);
	pg2md_error_init(&err);
	assert_int_equal(cdc_fold_change(&f, cdc_relcache_get(&rc, 2), &(pgo_msg){0}, &err), PG2MD_ERR_USAGE);
	assert_non_null(strstr(err.hint, "ADD PRIMARY KEY"));
	assert_non_null(strstr(err.hint, "REPLICA IDENTITY FULL"));
	assert_non_null(strstr(err.hint, "ALTER TABLE \"public\".\"t\""));

	const cdc_rel *rel = cdc_relcache_get(&rc, 3);
	pgo_msg m = change(PGO_INSERT, NULL, "1", "u", "n"); /* an insert with 'u' */
	pg2md_error_init(&err);
	assert_int_equal(cdc_fold_change(&f, rel, &m, &err), PG2MD_ERR_RUN);
	m = change(PGO_INSERT, NULL, "n", "a", "n"); /* a NULL key */
	pg2md_error_init(&err);
	assert_int_equal(cdc_fold_change(&f, rel, &m, &err), PG2MD_ERR_RUN);
	m = change(PGO_INSERT, NULL, "1", "a", "n");
	m.newtup.ncols = 2; /* fewer columns than the Relation message */
	pg2md_error_init(&err);
	assert_int_equal(cdc_fold_change(&f, rel, &m, &err), PG2MD_ERR_RUN);
	assert_non_null(strstr(err.msg, "2 columns"));
	m = change(PGO_DELETE, NULL, NULL, NULL, NULL); /* a delete without its key */
	pg2md_error_init(&err);
	assert_int_equal(cdc_fold_change(&f, rel, &m, &err), PG2MD_ERR_RUN);
	/* an update with 'u' of a row inserted then deleted in the batch */
	fold_ok(&f, rel, change(PGO_INSERT, NULL, "9", "a", "b"));
	fold_ok(&f, rel, change(PGO_DELETE, "9", NULL, NULL, NULL));
	m = change(PGO_UPDATE, NULL, "9", "a", "u");
	pg2md_error_init(&err);
	assert_int_equal(cdc_fold_change(&f, rel, &m, &err), PG2MD_ERR_RUN);
	cdc_fold_release(&f);
	cdc_relcache_release(&rc);
}

/* Many keys: the index finds every one (growth and probing), each updated once. */
/* A change of a REPLICA IDENTITY FULL table: old row (whole) and/or new row. */
static pgo_msg
full_change(pgo_kind kind, const char *o0, const char *o1, const char *o2, const char *n0, const char *n1,
	    const char *n2)
{
	pgo_msg m = {.kind = kind, .relid = 1};
	if (o0) {
		m.old_kind = 'O';
		oldv[0] = val(o0);
		oldv[1] = val(o1);
		oldv[2] = val(o2);
		m.oldtup = (pgo_tuple){3, oldv};
	}
	if (n0) {
		newv[0] = val(n0);
		newv[1] = val(n1);
		newv[2] = val(n2);
		m.newtup = (pgo_tuple){3, newv};
	}
	return m;
}

/* The net count of row image (a, b, c) in the batch; 0 when absent. */
static int64_t
count_of(const cdc_fold_table *t, const char *a, const char *b, const char *c)
{
	const char *want[3] = {a, b, c};
	for (int i = 0; i < t->nrows; i++) {
		bool eq = true;
		for (int k = 0; k < 3 && eq; k++) {
			pgo_value v = val(want[k]);
			eq = t->rows[i].cols[k].kind == v.kind && t->rows[i].cols[k].len == v.len &&
			     (!v.len || memcmp(t->rows[i].cols[k].data, want[k], v.len) == 0);
		}
		if (eq) {
			assert_int_equal(t->rows[i].op, CDC_OP_COUNT);
			return t->rows[i].count;
		}
	}
	return 0;
}

static void
replica_identity_full_folds_a_multiset(void **state)
{
	(void)state;
	cdc_relcache rc;
	cdc_relcache_init(&rc);
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_rel_change ch;
	pgo_msg rm = relation(1, 'f', 1, "v", 25);
	cdc_relcache_update(&rc, &rm, &ch, &err);
	const cdc_rel *rel = cdc_relcache_get(&rc, 1);
	cdc_fold f;
	cdc_fold_init(&f);
	/* three equal rows inserted, one deleted */
	for (int i = 0; i < 3; i++)
		fold_ok(&f, rel, full_change(PGO_INSERT, NULL, NULL, NULL, "1", "a", "x"));
	fold_ok(&f, rel, full_change(PGO_DELETE, "1", "a", "x", NULL, NULL, NULL));
	const cdc_fold_table *t = cdc_fold_table_get(&f, 1);
	assert_int_equal(count_of(t, "1", "a", "x"), 2);
	/* one of them updated, its unchanged TOAST column from the old row */
	fold_ok(&f, rel, full_change(PGO_UPDATE, "1", "a", "x", "1", "b", "u"));
	assert_int_equal(count_of(t, "1", "a", "x"), 1);
	assert_int_equal(count_of(t, "1", "b", "x"), 1);
	/* a row that existed before the batch deleted, one updated to an image of the batch */
	fold_ok(&f, rel, full_change(PGO_DELETE, "2", "n", "n", NULL, NULL, NULL));
	fold_ok(&f, rel, full_change(PGO_UPDATE, "3", "c", "y", "1", "b", "x"));
	assert_int_equal(count_of(t, "2", "n", "n"), -1);
	assert_int_equal(count_of(t, "3", "c", "y"), -1);
	assert_int_equal(count_of(t, "1", "b", "x"), 2);
	/* malformed: an old row with 'u', an insert with 'u' */
	pgo_msg bad = full_change(PGO_UPDATE, "1", "a", "u", "1", "b", "x");
	assert_int_equal(cdc_fold_change(&f, rel, &bad, &err), PG2MD_ERR_RUN);
	pg2md_error_init(&err);
	bad = full_change(PGO_INSERT, NULL, NULL, NULL, "1", "b", "u");
	assert_int_equal(cdc_fold_change(&f, rel, &bad, &err), PG2MD_ERR_RUN);
	cdc_fold_release(&f);
	cdc_relcache_release(&rc);
}

static void
many_keys(void **state)
{
	(void)state;
	cdc_relcache rc;
	cdc_relcache_init(&rc);
	pg2md_error err;
	pg2md_error_init(&err);
	cdc_rel_change ch;
	pgo_msg rm = relation(1, 'd', 1, "v", 25);
	cdc_relcache_update(&rc, &rm, &ch, &err);
	const cdc_rel *rel = cdc_relcache_get(&rc, 1);
	cdc_fold f;
	cdc_fold_init(&f);
	enum { N = 50000 };
	static char ids[N][12];
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%d", i);
		fold_ok(&f, rel, change(PGO_INSERT, NULL, ids[i], "v0", "n"));
	}
	for (int i = N - 1; i >= 0; i--)
		fold_ok(&f, rel, change(PGO_UPDATE, NULL, ids[i], i % 2 ? "odd" : "even", "n"));
	const cdc_fold_table *t = cdc_fold_table_get(&f, 1);
	assert_int_equal(t->nrows, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t->rows[i].cols[0].len, strlen(ids[i])); /* first-touch order */
		assert_memory_equal(t->rows[i].cols[0].data, ids[i], strlen(ids[i]));
		assert_col(&t->rows[i], 1, i % 2 ? "odd" : "even");
	}
	cdc_fold_release(&f);
	cdc_relcache_release(&rc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(relcache_tracks_every_relation_message),
		cmocka_unit_test(last_image_wins_and_delete_insert_is_one_row),
		cmocka_unit_test(unchanged_toast_values),
		cmocka_unit_test(key_changes_and_their_chains),
		cmocka_unit_test(truncate_empties_the_batch_rows_of_its_table),
		cmocka_unit_test(keyless_tables_and_bad_changes_are_refused),
		cmocka_unit_test(replica_identity_full_folds_a_multiset),
		cmocka_unit_test(many_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

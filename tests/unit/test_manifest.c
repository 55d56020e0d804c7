/*
 * test_manifest.c — a load package's manifest read into its struct and written back: a good
 * manifest round-trips byte for byte (the file format is kept), an older one without the
 * newer figures still reads, and a truncated file or a field of the wrong type fails with a
 * message naming the package and the field, and a hint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "schema/manifest.h"

/* Two tables as stage/manifest.c writes them: merge with every key and scd2, and an
 * incremental append whose transform runs at normalize. */
static const char good[] =
	"{\"load_id\": \"1765000000.123456\", \"pipeline_name\": \"p\", \"dataset_name\": \"d\", \"mode\": \"staged\", "
	"\"source_schema\": \"public\", \"tables\": ["
	"{\"key_unique\": false, \"name\": \"Orders\", \"dest_name\": \"orders\", \"write_disposition\": \"merge\", "
	"\"primary_key\": [\"id\"], \"merge_key\": [\"day\", \"shop\"], \"hard_delete\": \"deleted\", "
	"\"merge_strategy\": \"upsert\", \"dedup_sort\": \"ts\", \"dedup_sort_order\": \"asc\", "
	"\"scd2\": {\"valid_from\": \"_dlt_valid_from\", \"valid_to\": \"_dlt_valid_to\", \"hash_column\": \"_dlt_id\", "
	"\"active\": null, \"boundary\": \"2025-12-06 05:46:40.123456+00:00\", \"row_version\": \"rv\"}, "
	"\"columns\": [{\"name\": \"id\", \"dest_name\": \"id\", \"pg_type\": \"integer\", \"duck_type\": \"INTEGER\", "
	"\"nullable\": false}, {\"name\": \"span\", \"dest_name\": \"span\", \"pg_type\": \"interval\", "
	"\"duck_type\": \"INTERVAL\", \"nullable\": true, \"staged_as\": \"interval_struct\"}, {\"name\": \"code\", "
	"\"dest_name\": \"code\", \"pg_type\": \"character(4)\", \"duck_type\": \"VARCHAR\", \"nullable\": true, "
	"\"measured\": true, \"char_padding\": \"trim\"}, {\"name\": \"_dlt_load_id\", \"dest_name\": \"_dlt_load_id\", "
	"\"pg_type\": \"text\", \"duck_type\": \"VARCHAR\", \"nullable\": false, \"lineage\": \"load_id\"}], "
	"\"files\": [\"orders.0.parquet\", \"orders.1.parquet\"], \"file_rows\": [10, 5], \"rows\": 15, \"bytes\": 900, "
	"\"file_bytes\": 1200, \"lossy\": 0, \"window_bytes\": 900, \"window_rows\": 15, \"tasks\": 2, \"retries\": 1, "
	"\"incremental\": null, \"seconds\": 0.25}, "
	"{\"key_unique\": true, \"name\": \"ev\", \"dest_name\": \"ev\", \"write_disposition\": \"append\", "
	"\"primary_key\": [], \"columns\": [{\"name\": \"n\", \"dest_name\": \"n\", \"pg_type\": \"bigint\", "
	"\"duck_type\": \"BIGINT\", \"nullable\": true}], \"transform\": \"SELECT n * 2 AS m FROM data\", "
	"\"transform_columns\": [{\"name\": \"m\", \"dest_name\": \"m\", \"pg_type\": \"(transform)\", "
	"\"duck_type\": \"BIGINT\", \"nullable\": true}], \"files\": [], \"file_rows\": [], \"rows\": 0, \"bytes\": 0, "
	"\"file_bytes\": 0, \"lossy\": 0, \"window_bytes\": 0, \"window_rows\": 0, \"tasks\": 1, \"retries\": 0, "
	"\"incremental\": {\"cursor_path\": \"n\", \"cursor\": \"n\", \"initial_value\": null, \"start_value\": \"7\", "
	"\"last_value\": \"9\", \"start_closed\": true, \"previous_last_value\": \"7\"}, \"seconds\": 0.0}]}";

/* The text jansson writes for doc, as the package files hold it (keys in their order). */
static char *
dump(const json_t *doc)
{
	return json_dumps(doc, JSON_COMPACT);
}

static void
good_manifest_round_trips(void **state)
{
	(void)state;
	json_t *doc = json_loads(good, 0, NULL);
	pg2md_manifest m;
	pg2md_error err;

	assert_non_null(doc);
	pg2md_error_init(&err);
	assert_int_equal(manifest_parse(doc, "/p/extracted/1", &m, &err), PG2MD_OK);
	assert_int_equal(m.ntables, 2);
	assert_string_equal(m.load_id, "1765000000.123456");
	assert_string_equal(m.dataset_name, "d");
	const manifest_table *o = &m.tables[0], *e = &m.tables[1];
	assert_string_equal(o->disposition, "merge");
	assert_int_equal(o->npk, 1);
	assert_true(o->has_merge_key);
	assert_int_equal(o->nmerge_key, 2);
	assert_string_equal(o->merge_key[1], "shop");
	assert_non_null(o->scd2);
	assert_null(o->scd2->active);
	assert_string_equal(o->scd2->row_version, "rv");
	assert_int_equal(o->ncols, 4);
	assert_string_equal(o->cols[1].staged_as, "interval_struct");
	assert_true(o->cols[2].measured);
	assert_string_equal(o->cols[3].lineage, "load_id");
	assert_false(o->cols[3].nullable);
	assert_int_equal(o->nfiles, 2);
	assert_int_equal(o->file_rows[1], 5);
	assert_true(o->has_window);
	assert_int_equal(o->retries, 1);
	assert_false(o->incremental.present);
	assert_true(e->key_unique);
	assert_string_equal(e->transform, "SELECT n * 2 AS m FROM data");
	assert_int_equal(e->ntransform_cols, 1);
	assert_true(e->incremental.present);
	assert_true(e->incremental.start_closed);
	assert_null(e->incremental.initial_value);
	assert_string_equal(e->incremental.last_value, "9");
	assert_ptr_equal(manifest_find_column(o, "code"), &o->cols[2]);
	assert_null(manifest_find_column(o, "nope"));

	/* written back: the same text */
	json_t *back = manifest_to_json(&m);
	char *a = dump(doc), *b = dump(back);
	assert_string_equal(a, b);
	free(a);
	free(b);
	json_decref(back);

	/* a copy of a table writes the same table, and is released on its own */
	manifest_table copy;
	manifest_table_copy(&copy, o);
	json_t *t1 = manifest_table_to_json(o), *t2 = manifest_table_to_json(&copy);
	a = dump(t1);
	b = dump(t2);
	assert_string_equal(a, b);
	free(a);
	free(b);
	json_decref(t1);
	json_decref(t2);
	manifest_table_free(&copy);

	manifest_free(&m);
	json_decref(doc);
}

/* A package of an older pg2md: no window, no key_unique, no figures; read with defaults. */
static void
older_manifest_reads(void **state)
{
	(void)state;
	json_t *doc = json_loads("{\"load_id\": \"1\", \"dataset_name\": \"d\", \"tables\": [{\"name\": \"t\", "
				 "\"dest_name\": \"t\", \"write_disposition\": \"replace\", \"columns\": [], "
				 "\"files\": [\"t.parquet\"]}]}",
				 0, NULL);
	pg2md_manifest m;
	pg2md_error err;

	pg2md_error_init(&err);
	assert_int_equal(manifest_parse(doc, "old", &m, &err), PG2MD_OK);
	assert_false(m.tables[0].has_window);
	assert_false(m.tables[0].key_unique);
	assert_int_equal(m.tables[0].file_rows[0], 0);
	assert_null(m.mode);
	json_t *back = manifest_to_json(&m);
	assert_null(json_object_get(json_array_get(json_object_get(back, "tables"), 0), "window_bytes"));
	json_decref(back);
	manifest_free(&m);
	json_decref(doc);
}

/* doc (text) fails to parse with a message holding each of want (NULL-terminated). */
static void
parse_fails(const char *text, const char *const *want)
{
	json_t *doc = json_loads(text, 0, NULL);
	pg2md_manifest m;
	pg2md_error err;

	assert_non_null(doc);
	pg2md_error_init(&err);
	assert_int_equal(manifest_parse(doc, "/pipes/p/extracted/42", &m, &err), PG2MD_ERR_RUN);
	for (int i = 0; want[i]; i++) {
		if (!strstr(err.msg, want[i]))
			fail_msg("\"%s\" not in \"%s\"", want[i], err.msg);
	}
	assert_non_null(strstr(err.hint, "pg2md drop --pending"));
	manifest_free(&m); /* what was read before the failure is released */
	json_decref(doc);
}

static void
wrong_types_are_named(void **state)
{
	(void)state;
	char *text = strdup(good);
	char *p = strstr(text, "\"duck_type\": \"INTERVAL\"");
	memcpy(p, "\"duck_type\": 1234567890", strlen("\"duck_type\": \"INTERVAL\""));
	parse_fails(text, (const char *const[]){"/pipes/p/extracted/42", "tables[0].columns[1].duck_type",
						 "an integer, not a string", NULL});
	free(text);

	text = strdup(good);
	p = strstr(text, "\"merge_key\": [\"day\", \"shop\"]");
	memcpy(p, "\"merge_key\": [\"day\", 123456]", strlen("\"merge_key\": [\"day\", \"shop\"]"));
	parse_fails(text, (const char *const[]){"tables[0].merge_key[1]", "not a string", NULL});
	free(text);

	parse_fails("{\"load_id\": \"1\", \"dataset_name\": \"d\", \"tables\": [{\"name\": \"t\", "
		    "\"write_disposition\": \"replace\", \"columns\": [], \"files\": []}]}",
		    (const char *const[]){"tables[0].dest_name is missing", NULL});
	parse_fails("{\"load_id\": \"1\", \"dataset_name\": \"d\", \"tables\": {}}",
		    (const char *const[]){"tables is an object, not an array", NULL});
	parse_fails("{\"load_id\": \"1\", \"tables\": []}", (const char *const[]){"dataset_name is missing", NULL});
	parse_fails("[1]", (const char *const[]){"damaged", NULL});
}

static void
truncated_file_fails(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_manifest_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = NULL;
	assert_true(asprintf(&path, "%s/manifest.json", dir) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fwrite(good, 1, sizeof(good) / 2, f);
	fclose(f);

	pg2md_manifest m;
	pg2md_error err;
	pg2md_error_init(&err);
	assert_int_equal(manifest_load(dir, &m, &err), PG2MD_ERR_RUN);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.hint, "pg2md drop --pending"));
	manifest_free(&m);

	/* the whole file reads */
	f = fopen(path, "w");
	fputs(good, f);
	fclose(f);
	pg2md_error_init(&err);
	assert_int_equal(manifest_load(dir, &m, &err), PG2MD_OK);
	assert_int_equal(m.ntables, 2);
	manifest_free(&m);

	unlink(path);
	rmdir(dir);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_manifest_round_trips),
		cmocka_unit_test(older_manifest_reads),
		cmocka_unit_test(wrong_types_are_named),
		cmocka_unit_test(truncated_file_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * manifest.c — a load package's manifest.json read into its struct once, checked field by
 * field, and written back from it (schema/manifest.h).
 *
 * The writer puts the keys in the order the manifest has always had (stage/manifest.c built it
 * as JSON before there was a struct), and leaves out what was absent, so a package rewritten by
 * normalize keeps the shape its extract gave it.  The reader takes what the writer writes and
 * what older packages lack: the figures default to 0, the optional settings to none.
 */
#include "schema/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* Where the parser is: the package (for the message) and the field's path in the file. */
typedef struct mparse {
	const char *where;
	pg2md_error *err;
	char path[160];
} mparse;

static const char *
json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Fail: field key (under the current path) is missing (v NULL) or is not what: the package is damaged. */
static pg2md_code
bad_field(mparse *p, const char *key, const json_t *v, const char *what)
{
	const char *dot = p->path[0] && key && key[0] != '[' ? "." : "";
	if (!v)
		pg2md_fail(p->err, PG2MD_ERR_RUN, "the manifest of load package %s is damaged: %s%s%s is missing", p->where,
			   p->path, dot, key ? key : "");
	else
		pg2md_fail(p->err, PG2MD_ERR_RUN, "the manifest of load package %s is damaged: %s%s%s is %s, not %s",
			   p->where, p->path, dot, key ? key : "", json_kind(v), what);
	pg2md_hint(p->err, "the package cannot be loaded: discard it with pg2md drop --pending --yes and run pg2md run "
			   "again");
	return p->err->code;
}

/* String key of o into *out (a copy); absent or null: NULL, or a failure when required. */
static pg2md_code
get_str(mparse *p, const json_t *o, const char *key, bool required, char **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return required ? bad_field(p, key, NULL, "a string") : PG2MD_OK;
	if (!json_is_string(v))
		return bad_field(p, key, v, "a string");
	*out = xstrdup(json_string_value(v));
	return *out ? PG2MD_OK : pg2md_nomem(p->err);
}

/* Boolean key of o; absent: false. */
static pg2md_code
get_bool(mparse *p, const json_t *o, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);
	*out = false;
	if (!v)
		return PG2MD_OK;
	if (!json_is_boolean(v))
		return bad_field(p, key, v, "a boolean");
	*out = json_is_true(v);
	return PG2MD_OK;
}

/* Integer key of o; absent: 0 (*present says which). */
static pg2md_code
get_int(mparse *p, const json_t *o, const char *key, int64_t *out, bool *present)
{
	json_t *v = json_object_get(o, key);
	*out = 0;
	if (present)
		*present = v != NULL;
	if (!v)
		return PG2MD_OK;
	if (!json_is_integer(v))
		return bad_field(p, key, v, "an integer");
	*out = (int64_t)json_integer_value(v);
	return PG2MD_OK;
}

/* An array of strings (key of o) into *out, *n; absent: none, or a failure when required. */
static pg2md_code
get_str_array(mparse *p, const json_t *o, const char *key, bool required, char ***out, int *n)
{
	json_t *v = json_object_get(o, key), *s;
	size_t i;
	*out = NULL;
	*n = 0;
	if (!v)
		return required ? bad_field(p, key, NULL, "an array") : PG2MD_OK;
	if (!json_is_array(v))
		return bad_field(p, key, v, "an array");
	*out = xcalloc(json_array_size(v) + 1, sizeof(char *));
	if (!*out)
		return pg2md_nomem(p->err);
	json_array_foreach(v, i, s) {
		char idx[48];
		if (!json_is_string(s)) {
			snprintf(idx, sizeof(idx), "%s[%zu]", key, i);
			return bad_field(p, idx, s, "a string");
		}
		if (!((*out)[(*n)++] = xstrdup(json_string_value(s))))
			return pg2md_nomem(p->err); /* freed with the manifest */
	}
	return PG2MD_OK;
}

/* Descend into field key[i] (i < 0: key) of the path; returns the old length to restore. */
static size_t
path_push(mparse *p, const char *key, long i)
{
	size_t len = strlen(p->path);
	const char *dot = len ? "." : "";
	if (i >= 0)
		snprintf(p->path + len, sizeof(p->path) - len, "%s%s[%ld]", dot, key, i);
	else
		snprintf(p->path + len, sizeof(p->path) - len, "%s%s", dot, key);
	return len;
}

static pg2md_code
parse_column(mparse *p, const json_t *jc, manifest_column *c)
{
	if (!json_is_object(jc))
		return bad_field(p, NULL, jc, "an object");
	if (get_str(p, jc, "name", true, &c->name) || get_str(p, jc, "dest_name", true, &c->dest_name) ||
	    get_str(p, jc, "pg_type", false, &c->pg_type) || get_str(p, jc, "duck_type", true, &c->duck_type) ||
	    get_bool(p, jc, "nullable", &c->nullable) || get_str(p, jc, "staged_as", false, &c->staged_as) ||
	    get_bool(p, jc, "measured", &c->measured) || get_str(p, jc, "char_padding", false, &c->char_padding) ||
	    get_str(p, jc, "lineage", false, &c->lineage))
		return p->err->code;
	return PG2MD_OK;
}

/* Array key of jt as columns (*cols, *n); absent: a failure when required. */
static pg2md_code
parse_columns(mparse *p, const json_t *jt, const char *key, bool required, manifest_column **cols, int *n)
{
	json_t *v = json_object_get(jt, key), *jc;
	size_t i;
	*cols = NULL;
	*n = 0;
	if (!v)
		return required ? bad_field(p, key, NULL, "an array") : PG2MD_OK;
	if (!json_is_array(v))
		return bad_field(p, key, v, "an array");
	*cols = xcalloc(json_array_size(v) + 1, sizeof(manifest_column));
	if (!*cols)
		return pg2md_nomem(p->err);
	json_array_foreach(v, i, jc) {
		size_t len = path_push(p, key, (long)i);
		(*n)++;
		if (parse_column(p, jc, &(*cols)[i]))
			return p->err->code;
		p->path[len] = '\0';
	}
	return PG2MD_OK;
}

static pg2md_code
parse_scd2(mparse *p, const json_t *o, manifest_table *t)
{
	size_t len;
	if (!o || json_is_null(o))
		return PG2MD_OK;
	if (!json_is_object(o))
		return bad_field(p, "scd2", o, "an object");
	t->scd2 = xcalloc(1, sizeof(manifest_scd2));
	if (!t->scd2)
		return pg2md_nomem(p->err);
	len = path_push(p, "scd2", -1);
	if (get_str(p, o, "valid_from", true, &t->scd2->valid_from) ||
	    get_str(p, o, "valid_to", true, &t->scd2->valid_to) ||
	    get_str(p, o, "hash_column", true, &t->scd2->hash_column) ||
	    get_str(p, o, "active", false, &t->scd2->active) || get_str(p, o, "boundary", true, &t->scd2->boundary) ||
	    get_str(p, o, "row_version", false, &t->scd2->row_version))
		return p->err->code;
	p->path[len] = '\0';
	return PG2MD_OK;
}

static pg2md_code
parse_incremental(mparse *p, const json_t *o, manifest_incremental *inc)
{
	size_t len;
	if (!o || json_is_null(o))
		return PG2MD_OK;
	if (!json_is_object(o))
		return bad_field(p, "incremental", o, "an object");
	inc->present = true;
	len = path_push(p, "incremental", -1);
	if (get_str(p, o, "cursor_path", false, &inc->cursor_path) || get_str(p, o, "cursor", false, &inc->cursor) ||
	    get_str(p, o, "initial_value", false, &inc->initial_value) ||
	    get_str(p, o, "start_value", false, &inc->start_value) ||
	    get_str(p, o, "last_value", false, &inc->last_value) ||
	    get_bool(p, o, "start_closed", &inc->start_closed) ||
	    get_str(p, o, "previous_last_value", false, &inc->previous_last_value))
		return p->err->code;
	p->path[len] = '\0';
	return PG2MD_OK;
}

/* The staged files and their rows (a file without a count: 0). */
static pg2md_code
parse_files(mparse *p, const json_t *jt, manifest_table *t)
{
	json_t *rows = json_object_get(jt, "file_rows"), *r;
	size_t i;
	if (get_str_array(p, jt, "files", true, &t->files, &t->nfiles))
		return p->err->code;
	t->file_rows = xcalloc((size_t)t->nfiles + 1, sizeof(int64_t));
	if (!t->file_rows)
		return pg2md_nomem(p->err);
	if (rows && !json_is_array(rows))
		return bad_field(p, "file_rows", rows, "an array");
	for (int k = 0; k < t->nfiles; k++)
		t->file_rows[k] = 0;
	json_array_foreach(rows, i, r) {
		char idx[48];
		if (!json_is_integer(r)) {
			snprintf(idx, sizeof(idx), "file_rows[%zu]", i);
			return bad_field(p, idx, r, "an integer");
		}
		if ((int)i < t->nfiles)
			t->file_rows[i] = (int64_t)json_integer_value(r);
	}
	return PG2MD_OK;
}

/* The figures of the extraction (all optional: 0 when absent). */
static pg2md_code
parse_figures(mparse *p, const json_t *jt, manifest_table *t)
{
	int64_t tasks = 0, retries = 0;
	bool has_wr = false;
	json_t *sec = json_object_get(jt, "seconds");
	if (get_int(p, jt, "rows", &t->rows, NULL) || get_int(p, jt, "bytes", &t->bytes, NULL) ||
	    get_int(p, jt, "file_bytes", &t->file_bytes, NULL) || get_int(p, jt, "lossy", &t->lossy, NULL) ||
	    get_int(p, jt, "window_bytes", &t->window_bytes, &t->has_window) ||
	    get_int(p, jt, "window_rows", &t->window_rows, &has_wr) || get_int(p, jt, "tasks", &tasks, NULL) ||
	    get_int(p, jt, "retries", &retries, NULL) ||
	    get_int(p, jt, "transformed_rows", &t->transformed_rows, &t->transformed) ||
	    get_str(p, jt, "transformed_at", false, &t->transformed_at))
		return p->err->code;
	t->tasks = (int)tasks;
	t->retries = (int)retries;
	if (sec && !json_is_number(sec))
		return bad_field(p, "seconds", sec, "a number");
	t->seconds = json_number_value(sec);
	return PG2MD_OK;
}

static pg2md_code
parse_table(mparse *p, const json_t *jt, manifest_table *t)
{
	if (!json_is_object(jt))
		return bad_field(p, NULL, jt, "an object");
	if (get_str(p, jt, "name", true, &t->name) || get_str(p, jt, "dest_name", true, &t->dest_name) ||
	    get_str(p, jt, "write_disposition", true, &t->disposition) ||
	    get_bool(p, jt, "key_unique", &t->key_unique) ||
	    get_str_array(p, jt, "primary_key", false, &t->primary_key, &t->npk) ||
	    get_str_array(p, jt, "merge_key", false, &t->merge_key, &t->nmerge_key) ||
	    get_str(p, jt, "hard_delete", false, &t->hard_delete) ||
	    get_str(p, jt, "merge_strategy", false, &t->merge_strategy) ||
	    get_str(p, jt, "dedup_sort", false, &t->dedup_sort) ||
	    get_str(p, jt, "dedup_sort_order", false, &t->dedup_sort_order) ||
	    parse_scd2(p, json_object_get(jt, "scd2"), t) || parse_columns(p, jt, "columns", true, &t->cols, &t->ncols) ||
	    get_str(p, jt, "transform", false, &t->transform) ||
	    parse_columns(p, jt, "transform_columns", false, &t->transform_cols, &t->ntransform_cols) ||
	    parse_files(p, jt, t) || parse_figures(p, jt, t) ||
	    parse_incremental(p, json_object_get(jt, "incremental"), &t->incremental))
		return p->err->code;
	t->has_merge_key = json_object_get(jt, "merge_key") != NULL;
	return PG2MD_OK;
}

pg2md_code
manifest_parse(const json_t *doc, const char *where, pg2md_manifest *out, pg2md_error *err)
{
	mparse p = {where ? where : "(unnamed)", err, ""};
	json_t *tables, *jt;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc))
		return bad_field(&p, "(the document)", doc ? doc : json_null(), "an object");
	if (get_str(&p, doc, "load_id", true, &out->load_id) ||
	    get_str(&p, doc, "pipeline_name", false, &out->pipeline_name) ||
	    get_str(&p, doc, "dataset_name", true, &out->dataset_name) || get_str(&p, doc, "mode", false, &out->mode) ||
	    get_str(&p, doc, "source_schema", false, &out->source_schema))
		return err->code;
	tables = json_object_get(doc, "tables");
	if (!json_is_array(tables))
		return bad_field(&p, "tables", tables, "an array");
	out->tables = xcalloc(json_array_size(tables) + 1, sizeof(manifest_table));
	if (!out->tables)
		return pg2md_nomem(err);
	json_array_foreach(tables, i, jt) {
		path_push(&p, "tables", (long)i);
		out->ntables++;
		if (parse_table(&p, jt, &out->tables[i]))
			return err->code;
		p.path[0] = '\0';
	}
	return PG2MD_OK;
}

pg2md_code
manifest_load(const char *dir, pg2md_manifest *out, pg2md_error *err)
{
	char *path = xasprintf("%s/manifest.json", dir);
	json_error_t jerr;
	json_t *doc;

	memset(out, 0, sizeof(*out));
	if (!path)
		return pg2md_nomem(err);
	doc = json_load_file(path, 0, &jerr);
	if (!doc) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read \"%s\": %s (line %d)", path, jerr.text, jerr.line);
		pg2md_hint(err, "a package whose manifest is damaged cannot be loaded: discard it with pg2md drop "
				"--pending --yes and run pg2md run again");
	} else {
		manifest_parse(doc, dir, out, err);
		json_decref(doc);
	}
	free(path);
	return err->code;
}

/* ---- writing ------------------------------------------------------------------------------ */

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
str_array(char **items, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

json_t *
manifest_column_to_json(const manifest_column *c)
{
	json_t *jc = json_object();
	json_object_set_new(jc, "name", json_string(c->name));
	json_object_set_new(jc, "dest_name", json_string(c->dest_name));
	if (c->pg_type)
		json_object_set_new(jc, "pg_type", json_string(c->pg_type));
	json_object_set_new(jc, "duck_type", json_string(c->duck_type));
	json_object_set_new(jc, "nullable", json_boolean(c->nullable));
	if (c->staged_as)
		json_object_set_new(jc, "staged_as", json_string(c->staged_as));
	if (c->measured)
		json_object_set_new(jc, "measured", json_true());
	if (c->char_padding)
		json_object_set_new(jc, "char_padding", json_string(c->char_padding));
	if (c->lineage)
		json_object_set_new(jc, "lineage", json_string(c->lineage));
	return jc;
}

static json_t *
columns_to_json(const manifest_column *cols, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, manifest_column_to_json(&cols[i]));
	return a;
}

static json_t *
scd2_to_json(const manifest_scd2 *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "valid_from", json_string(s->valid_from));
	json_object_set_new(o, "valid_to", json_string(s->valid_to));
	json_object_set_new(o, "hash_column", json_string(s->hash_column));
	json_object_set_new(o, "active", str_or_null(s->active));
	json_object_set_new(o, "boundary", json_string(s->boundary));
	if (s->row_version)
		json_object_set_new(o, "row_version", json_string(s->row_version));
	return o;
}

static json_t *
incremental_to_json(const manifest_incremental *inc)
{
	if (!inc->present)
		return json_null();
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:o}", "cursor_path", str_or_null(inc->cursor_path), "cursor",
			 str_or_null(inc->cursor), "initial_value", str_or_null(inc->initial_value), "start_value",
			 str_or_null(inc->start_value), "last_value", str_or_null(inc->last_value), "start_closed",
			 inc->start_closed, "previous_last_value", str_or_null(inc->previous_last_value));
}

/* The keys of a table that say how it is loaded, in the file's order. */
static void
table_settings_to_json(json_t *jt, const manifest_table *t)
{
	json_object_set_new(jt, "key_unique", json_boolean(t->key_unique));
	json_object_set_new(jt, "name", json_string(t->name));
	json_object_set_new(jt, "dest_name", json_string(t->dest_name));
	json_object_set_new(jt, "write_disposition", json_string(t->disposition));
	json_object_set_new(jt, "primary_key", str_array(t->primary_key, t->npk));
	if (t->has_merge_key)
		json_object_set_new(jt, "merge_key", str_array(t->merge_key, t->nmerge_key));
	if (t->hard_delete)
		json_object_set_new(jt, "hard_delete", json_string(t->hard_delete));
	if (t->merge_strategy)
		json_object_set_new(jt, "merge_strategy", json_string(t->merge_strategy));
	if (t->dedup_sort)
		json_object_set_new(jt, "dedup_sort", json_string(t->dedup_sort));
	if (t->dedup_sort_order)
		json_object_set_new(jt, "dedup_sort_order", json_string(t->dedup_sort_order));
	if (t->scd2)
		json_object_set_new(jt, "scd2", scd2_to_json(t->scd2));
	json_object_set_new(jt, "columns", columns_to_json(t->cols, t->ncols));
	if (t->transform) {
		json_object_set_new(jt, "transform", json_string(t->transform));
		json_object_set_new(jt, "transform_columns", columns_to_json(t->transform_cols, t->ntransform_cols));
	}
}

json_t *
manifest_table_to_json(const manifest_table *t)
{
	json_t *jt = json_object(), *files = json_array(), *rows = json_array();
	table_settings_to_json(jt, t);
	for (int i = 0; i < t->nfiles; i++) {
		json_array_append_new(files, json_string(t->files[i]));
		json_array_append_new(rows, json_integer(t->file_rows[i]));
	}
	json_object_set_new(jt, "files", files);
	json_object_set_new(jt, "file_rows", rows);
	json_object_set_new(jt, "rows", json_integer(t->rows));
	json_object_set_new(jt, "bytes", json_integer(t->bytes));
	json_object_set_new(jt, "file_bytes", json_integer(t->file_bytes));
	json_object_set_new(jt, "lossy", json_integer(t->lossy));
	if (t->has_window) {
		json_object_set_new(jt, "window_bytes", json_integer(t->window_bytes));
		json_object_set_new(jt, "window_rows", json_integer(t->window_rows));
	}
	json_object_set_new(jt, "tasks", json_integer(t->tasks));
	json_object_set_new(jt, "retries", json_integer(t->retries));
	json_object_set_new(jt, "incremental", incremental_to_json(&t->incremental));
	json_object_set_new(jt, "seconds", json_real(t->seconds));
	if (t->transformed) {
		json_object_set_new(jt, "transformed_rows", json_integer(t->transformed_rows));
		json_object_set_new(jt, "transformed_at", str_or_null(t->transformed_at));
	}
	return jt;
}

json_t *
manifest_to_json(const pg2md_manifest *m)
{
	json_t *doc = json_object(), *tables = json_array();
	json_object_set_new(doc, "load_id", json_string(m->load_id));
	if (m->pipeline_name)
		json_object_set_new(doc, "pipeline_name", json_string(m->pipeline_name));
	json_object_set_new(doc, "dataset_name", json_string(m->dataset_name));
	if (m->mode)
		json_object_set_new(doc, "mode", json_string(m->mode));
	if (m->source_schema)
		json_object_set_new(doc, "source_schema", json_string(m->source_schema));
	for (int i = 0; i < m->ntables; i++)
		json_array_append_new(tables, manifest_table_to_json(&m->tables[i]));
	json_object_set_new(doc, "tables", tables);
	return doc;
}

/* ---- copying and releasing ---------------------------------------------------------------- */

/*
 * The copies below count what could not be copied in *lost (out of memory): the copy is then
 * incomplete, but every pointer in it is NULL or its own, so it is freed as any other.
 */
static char *
dup_or_null(const char *s, int *lost)
{
	char *d = xstrdup(s);
	*lost += s && !d;
	return d;
}

static void
free_array(char **items, int n)
{
	for (int i = 0; items && i < n; i++)
		free(items[i]);
	free(items);
}

static char **
dup_array(char **items, int n, int *lost)
{
	char **out = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; out && i < n; i++)
		out[i] = dup_or_null(items[i], lost);
	*lost += !out;
	return out;
}

/* NULL (and *lost counted) when some part could not be copied. */
static manifest_column *
dup_columns(const manifest_column *cols, int n, int *lost)
{
	int was = *lost;
	manifest_column *out = xcalloc((size_t)n + 1, sizeof(manifest_column));
	if (!out) {
		(*lost)++;
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		out[i] = cols[i];
		out[i].name = dup_or_null(cols[i].name, lost);
		out[i].dest_name = dup_or_null(cols[i].dest_name, lost);
		out[i].pg_type = dup_or_null(cols[i].pg_type, lost);
		out[i].duck_type = dup_or_null(cols[i].duck_type, lost);
		out[i].staged_as = dup_or_null(cols[i].staged_as, lost);
		out[i].char_padding = dup_or_null(cols[i].char_padding, lost);
		out[i].lineage = dup_or_null(cols[i].lineage, lost);
	}
	if (*lost > was) {
		manifest_columns_free(out, n);
		return NULL;
	}
	return out;
}

void
manifest_columns_free(manifest_column *cols, int n)
{
	for (int i = 0; cols && i < n; i++) {
		free(cols[i].name);
		free(cols[i].dest_name);
		free(cols[i].pg_type);
		free(cols[i].duck_type);
		free(cols[i].staged_as);
		free(cols[i].char_padding);
		free(cols[i].lineage);
	}
	free(cols);
}

bool
manifest_table_copy(manifest_table *dst, const manifest_table *src)
{
	const manifest_incremental *si = &src->incremental;
	int lost = 0;
	*dst = *src;
	dst->name = dup_or_null(src->name, &lost);
	dst->dest_name = dup_or_null(src->dest_name, &lost);
	dst->disposition = dup_or_null(src->disposition, &lost);
	dst->primary_key = dup_array(src->primary_key, src->npk, &lost);
	dst->merge_key = dup_array(src->merge_key, src->nmerge_key, &lost);
	dst->hard_delete = dup_or_null(src->hard_delete, &lost);
	dst->merge_strategy = dup_or_null(src->merge_strategy, &lost);
	dst->dedup_sort = dup_or_null(src->dedup_sort, &lost);
	dst->dedup_sort_order = dup_or_null(src->dedup_sort_order, &lost);
	dst->scd2 = NULL;
	if (src->scd2 && !(dst->scd2 = xcalloc(1, sizeof(manifest_scd2))))
		lost++; /* no early return: every pointer below must be dst's own before dst is freed */
	if (dst->scd2) {
		dst->scd2->valid_from = dup_or_null(src->scd2->valid_from, &lost);
		dst->scd2->valid_to = dup_or_null(src->scd2->valid_to, &lost);
		dst->scd2->hash_column = dup_or_null(src->scd2->hash_column, &lost);
		dst->scd2->active = dup_or_null(src->scd2->active, &lost);
		dst->scd2->boundary = dup_or_null(src->scd2->boundary, &lost);
		dst->scd2->row_version = dup_or_null(src->scd2->row_version, &lost);
	}
	dst->cols = dup_columns(src->cols, src->ncols, &lost);
	dst->transform = dup_or_null(src->transform, &lost);
	dst->transform_cols = dup_columns(src->transform_cols, src->ntransform_cols, &lost);
	dst->files = dup_array(src->files, src->nfiles, &lost);
	dst->file_rows = xcalloc((size_t)src->nfiles + 1, sizeof(int64_t));
	lost += !dst->file_rows;
	if (src->nfiles && dst->file_rows)
		memcpy(dst->file_rows, src->file_rows, (size_t)src->nfiles * sizeof(int64_t));
	dst->incremental.cursor_path = dup_or_null(si->cursor_path, &lost);
	dst->incremental.cursor = dup_or_null(si->cursor, &lost);
	dst->incremental.initial_value = dup_or_null(si->initial_value, &lost);
	dst->incremental.start_value = dup_or_null(si->start_value, &lost);
	dst->incremental.last_value = dup_or_null(si->last_value, &lost);
	dst->incremental.previous_last_value = dup_or_null(si->previous_last_value, &lost);
	dst->transformed_at = dup_or_null(src->transformed_at, &lost);
	if (lost)
		manifest_table_free(dst); /* every pointer is dst's own or NULL: nothing half made is kept */
	return lost == 0;
}

void
manifest_table_free(manifest_table *t)
{
	manifest_incremental *inc = &t->incremental;
	free(t->name);
	free(t->dest_name);
	free(t->disposition);
	free_array(t->primary_key, t->npk);
	free_array(t->merge_key, t->nmerge_key);
	free(t->hard_delete);
	free(t->merge_strategy);
	free(t->dedup_sort);
	free(t->dedup_sort_order);
	if (t->scd2) {
		free(t->scd2->valid_from);
		free(t->scd2->valid_to);
		free(t->scd2->hash_column);
		free(t->scd2->active);
		free(t->scd2->boundary);
		free(t->scd2->row_version);
		free(t->scd2);
	}
	manifest_columns_free(t->cols, t->ncols);
	free(t->transform);
	manifest_columns_free(t->transform_cols, t->ntransform_cols);
	free_array(t->files, t->nfiles);
	free(t->file_rows);
	free(inc->cursor_path);
	free(inc->cursor);
	free(inc->initial_value);
	free(inc->start_value);
	free(inc->last_value);
	free(inc->previous_last_value);
	free(t->transformed_at);
	memset(t, 0, sizeof(*t));
}

void
manifest_free(pg2md_manifest *m)
{
	free(m->load_id);
	free(m->pipeline_name);
	free(m->dataset_name);
	free(m->mode);
	free(m->source_schema);
	for (int i = 0; m->tables && i < m->ntables; i++)
		manifest_table_free(&m->tables[i]);
	free(m->tables);
	memset(m, 0, sizeof(*m));
}

const manifest_column *
manifest_find_column(const manifest_table *t, const char *dest_name)
{
	const manifest_column *found = NULL;
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].dest_name, dest_name) == 0)
			found = &t->cols[i];
	return found;
}

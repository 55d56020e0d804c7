/*
 * apply.c — a folded batch into the mirror tables, with the watermark, in one DuckDB
 * transaction (see apply.h).
 *
 * Per table of the batch:
 *   1. TRUNCATE seen: DELETE every row (inside the transaction: readers never see it half done).
 *   2. The batch's rows go into a temporary stage table shaped like the mirror table plus
 *      _pg2md_ord (first-touch order), _pg2md_op ('U' upsert, 'P' update keeping the 'u'
 *      columns, 'D' delete), _pg2md_from (for 'P': the stage row whose key names the destination
 *      row the 'u' columns come from) and _pg2md_u (one character per column, 'u' = unchanged).
 *      Values are decoded by the COPY decoders straight into the appender's chunks.
 *   3. UPDATE the stage's 'P' rows from the destination (before anything is deleted),
 *      DELETE the destination rows of every key in the stage, INSERT the images in order.
 * Three or four set-based statements per table whatever the number of rows.
 */
#include "cdc/apply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/evolve.h"
#include "cdc/xform.h"
#include "dest/load.h"
#include "xfer/copydec.h"
#include "util/buf.h"
#include "util/interrupt.h"
#include "util/log.h"

#define STAGE "_pg2md_cdc_stage"
#define XOUT "_pg2md_cdc_xout" /* a transform's output over a batch */

/*
 * Under MotherDuck's rules every apply statement is checked against MotherDuck's cap before it
 * is sent (dest/load.h, MD_STATEMENT_MAX): its size grows with the table's columns (and a
 * transform's text), never with the batch's rows, which go through the appender.
 */
static pg2md_code
statement_fits(const pg2md_dest *d, const char *sql, const char *what, pg2md_error *err)
{
	if (buf_is_oom(sql))
		return pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory while %s", what);
	size_t len = strlen(sql);
	if (!d->md_rules || len <= MD_STATEMENT_MAX)
		return PG2MD_OK;
	pg2md_fail(err, PG2MD_ERR_RUN, "%s: a statement of %zu bytes, over MotherDuck's limit of %d bytes", what, len,
		   MD_STATEMENT_MAX);
	pg2md_detail(err, "pg2md follow's statements name each of a table's columns: their size grows with the "
			  "columns and their names (and a transform's text), not with the rows");
	pg2md_hint(err, "leave columns out with excluded_columns, or shorten the transform");
	return err->code;
}

pg2md_code
cdc_exec(pg2md_dest *d, const char *sql, const char *what, pg2md_error *err)
{
	if (statement_fits(d, sql, what, err))
		return err->code;
	return duck_exec(d->con, sql, what, err);
}

static void
wm_table(pg2md_buf *b, const pg2md_config *cfg)
{
	buf_ident(b, cfg->dataset_name);
	buf_puts(b, "._pg2md_cdc");
}

pg2md_code
cdc_watermark_read(pg2md_dest *d, const pg2md_config *cfg, const char *slot, bool *found, pgo_lsn *lsn,
		   pg2md_error *err)
{
	*found = false;
	*lsn = 0;
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "SELECT count(*) FROM information_schema.tables WHERE table_schema = ");
	buf_literal(&q, cfg->dataset_name);
	buf_puts(&q, " AND table_name = '_pg2md_cdc'");
	duckdb_result res;
	if (buf_broken(&q))
		return pg2md_nomem(err);
	if (duckdb_query(d->con, q.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read the replication watermark in %s", d->where);
		pg2md_detail(err, "%s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		buf_release(&q);
		return PG2MD_ERR_RUN;
	}
	bool exists = duckdb_value_int64(&res, 0, 0) > 0;
	duckdb_destroy_result(&res);
	if (!exists) {
		buf_release(&q);
		return PG2MD_OK;
	}
	buf_reset(&q);
	buf_puts(&q, "SELECT applied_lsn FROM ");
	wm_table(&q, cfg);
	buf_puts(&q, " WHERE slot_name = ");
	buf_literal(&q, slot);
	pg2md_code rc = PG2MD_OK;
	if (buf_broken(&q))
		return pg2md_nomem(err);
	if (duckdb_query(d->con, q.data, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read the replication watermark in %s", d->where);
		pg2md_detail(err, "%s", duckdb_result_error(&res));
		rc = PG2MD_ERR_RUN;
	} else if (duckdb_row_count(&res) == 1) {
		*found = true;
		*lsn = (pgo_lsn)duckdb_value_int64(&res, 0, 0);
	}
	duckdb_destroy_result(&res);
	buf_release(&q);
	return rc;
}

/* The statements that set the watermark (no transaction of their own). */
static void
wm_sql(pg2md_buf *q, const pg2md_config *cfg, const char *slot, pgo_lsn lsn)
{
	char text[PGO_LSN_TEXT];
	buf_puts(q, "CREATE TABLE IF NOT EXISTS ");
	wm_table(q, cfg);
	buf_puts(q, " (slot_name VARCHAR, applied_lsn BIGINT, applied_lsn_text VARCHAR, applied_at TIMESTAMPTZ); "
		    "DELETE FROM ");
	wm_table(q, cfg);
	buf_puts(q, " WHERE slot_name = ");
	buf_literal(q, slot);
	buf_puts(q, "; INSERT INTO ");
	wm_table(q, cfg);
	buf_puts(q, " VALUES (");
	buf_literal(q, slot);
	buf_printf(q, ", %" PRId64 ", '%s', now())", (int64_t)lsn, pgo_lsn_format(lsn, text));
}

pg2md_code
cdc_watermark_set(pg2md_dest *d, const pg2md_config *cfg, const char *slot, pgo_lsn lsn, pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "BEGIN; CREATE SCHEMA IF NOT EXISTS ");
	buf_ident(&q, cfg->dataset_name);
	buf_puts(&q, "; ");
	wm_sql(&q, cfg, slot, lsn);
	buf_puts(&q, "; COMMIT");
	pg2md_code rc = cdc_exec(d, q.data, "setting the replication watermark", err);
	if (rc)
		duck_exec(d->con, "ROLLBACK", "rolling back", &(pg2md_error){0});
	buf_release(&q);
	return rc;
}

pg2md_code
cdc_watermark_clear(pg2md_dest *d, const pg2md_config *cfg, const char *slot, pg2md_error *err)
{
	bool found;
	pgo_lsn lsn;
	if (cdc_watermark_read(d, cfg, slot, &found, &lsn, err))
		return err->code;
	if (!found)
		return PG2MD_OK;
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "DELETE FROM ");
	wm_table(&q, cfg);
	buf_puts(&q, " WHERE slot_name = ");
	buf_literal(&q, slot);
	pg2md_code rc = cdc_exec(d, q.data, "clearing the replication watermark", err);
	buf_release(&q);
	return rc;
}

pg2md_code
cdc_check_table(const pg2md_config *cfg, const pg2md_table *t, pg2md_error *err)
{
	if (t->relkind == 'q')
		return pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" is a query: query tables cannot be followed", t->name);
	/* the columns a run reads as text or through a data_type override: the source renders their
	 * values (cdc/server_values.h) */
	return cdc_transform_check(cfg, t, err);
}

/* Column j of t: its index in the relation (by source name), -1 when the stream lacks it. */
static int
rel_col(const cdc_rel *rel, const char *name)
{
	for (int i = 0; i < rel->ncols; i++)
		if (strcmp(rel->cols[i].name, name) == 0)
			return i;
	return -1;
}

static void
dest_table(pg2md_buf *b, const pg2md_config *cfg, const pg2md_table *t)
{
	buf_ident(b, cfg->dataset_name);
	buf_putc(b, '.');
	buf_ident(b, t->dest_name);
}

/* The decoders for t, numerics following the mirror table's own types (a run measured them);
 * false when memory ran out (dec is then empty, copydec_release is safe). */
static bool
decoders_for(copydec *dec, const pg2md_table *t, duckdb_logical_type *types)
{
	pg2md_table tt = *t;
	memset(dec, 0, sizeof(*dec));
	pg2md_column *cols = xcalloc((size_t)t->ncols + 1, sizeof(*cols));
	if (!cols)
		return false;
	memcpy(cols, t->cols, (size_t)t->ncols * sizeof(*cols));
	for (int i = 0; i < t->ncols; i++) {
		pg2md_dec dd = cols[i].dec;
		if (dd != DEC_NUMERIC_DECIMAL && dd != DEC_NUMERIC_TEXT && dd != DEC_NUMERIC_DOUBLE)
			continue;
		duckdb_type id = duckdb_get_type_id(types[i]);
		if (id == DUCKDB_TYPE_DECIMAL) {
			cols[i].dec = DEC_NUMERIC_DECIMAL;
			cols[i].precision = duckdb_decimal_width(types[i]);
			cols[i].scale = duckdb_decimal_scale(types[i]);
		} else if (id == DUCKDB_TYPE_DOUBLE) {
			cols[i].dec = DEC_NUMERIC_DOUBLE;
		} else {
			cols[i].dec = DEC_NUMERIC_TEXT;
		}
	}
	tt.cols = cols;
	copydec_init(dec, &tt, false);
	free(cols);
	if (!dec->cols)
		dec->ncols = 0; /* nothing to release */
	return dec->cols != NULL;
}

/* Fill the stage table of t with the batch's rows ft. */
static pg2md_code
stage_rows(pg2md_dest *d, const pg2md_table *t, const cdc_rel *rel, const int *map, const cdc_fold_table *ft,
	   pg2md_error *err)
{
	duckdb_result res;
	if (duckdb_query(d->con, "SELECT * FROM temp.main." STAGE " LIMIT 0", &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not read the stage table: %s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		return PG2MD_ERR_RUN;
	}
	idx_t n = duckdb_column_count(&res);
	duckdb_logical_type *types = xcalloc(n + 1, sizeof(*types));
	if (!types) {
		duckdb_destroy_result(&res);
		return pg2md_nomem(err);
	}
	for (idx_t i = 0; i < n; i++)
		types[i] = duckdb_column_logical_type(&res, i);
	duckdb_destroy_result(&res);

	copydec dec;
	bool dec_ok = decoders_for(&dec, t, types);
	duckdb_appender app = NULL;
	duckdb_data_chunk chunk = duckdb_create_data_chunk(types, n);
	pg2md_code rc = PG2MD_OK;
	int nc = t->ncols;
	char *umask = xmalloc((size_t)nc + 1);
	if (!dec_ok || !umask || !chunk) {
		rc = pg2md_nomem(err);
		goto out;
	}
	if (duckdb_appender_create_ext(d->con, "temp", "main", STAGE, &app) == DuckDBError) {
		rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not append to the stage table of \"%s\"", t->name);
		goto out;
	}
	idx_t cap = duckdb_vector_size();
	for (int base = 0; base < ft->nrows && rc == PG2MD_OK; base += (int)cap) {
		duckdb_data_chunk_reset(chunk);
		copydec_bind_chunk(&dec, chunk);
		int64_t *ord = duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, (idx_t)nc));
		duckdb_vector opv = duckdb_data_chunk_get_vector(chunk, (idx_t)nc + 1);
		int64_t *from = duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, (idx_t)nc + 2));
		duckdb_vector uv = duckdb_data_chunk_get_vector(chunk, (idx_t)nc + 3);
		idx_t rows = 0;
		for (int r = base; r < ft->nrows && rows < cap; r++, rows++) {
			const cdc_row *row = &ft->rows[r];
			for (int j = 0; j < nc; j++) {
				copydec_col *c = &dec.cols[j];
				/* a lineage column (map -1) is not in the stream: its value comes with the insert */
				static const pgo_value none = {.kind = 'n'};
				const pgo_value *v = map[j] >= 0 ? &row->cols[map[j]] : &none;
				umask[j] = v->kind == 'u' ? 'u' : '.';
				if (v->kind == 'n' || v->kind == 'u' || (row->op == CDC_OP_DELETE && !rel->cols[map[j]].key)) {
					c->null_fn(c, rows);
				} else if (v->kind != 'b') {
					rc = pg2md_fail(err, PG2MD_ERR_RUN, "a text value came for column \"%s\" of table \"%s\"",
							t->cols[j].name, t->name);
					pg2md_detail(err, "pg2md follow asks for binary values and decodes only those");
					break;
				} else if (!c->fn(c, rows, v->data, (int32_t)v->len)) {
					rc = pg2md_fail(err, PG2MD_ERR_RUN, "cannot decode column \"%s\" (%s) of table \"%s\": %s",
							t->cols[j].name, t->cols[j].pg_type, t->name, c->why ? c->why : "bad value");
					break;
				}
			}
			if (rc)
				break;
			umask[nc] = 0;
			ord[rows] = r;
			from[rows] = row->op == CDC_OP_COUNT ? row->count : row->from;
			char op = (char)row->op;
			duckdb_vector_assign_string_element_len(opv, rows, &op, 1);
			duckdb_vector_assign_string_element_len(uv, rows, umask, (idx_t)nc);
		}
		if (rc)
			break;
		duckdb_data_chunk_set_size(chunk, rows);
		if (duckdb_append_data_chunk(app, chunk) == DuckDBError) {
			rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not append to the stage table of \"%s\": %s", t->name,
					duckdb_appender_error(app));
			break;
		}
	}
	if (rc == PG2MD_OK && duckdb_appender_close(app) == DuckDBError)
		rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not append to the stage table of \"%s\": %s", t->name,
				duckdb_appender_error(app));
out:
	if (app)
		duckdb_appender_destroy(&app);
	if (chunk)
		duckdb_destroy_data_chunk(&chunk);
	copydec_release(&dec);
	for (idx_t i = 0; i < n; i++)
		duckdb_destroy_logical_type(&types[i]);
	free(types);
	free(umask);
	return rc;
}

#define TSTAGE "_pg2md_cdc_tstage"

/*
 * Fill the stage table of t from text values (protocol 1): the texts go into a stage of VARCHARs,
 * then into the typed stage through DuckDB's casts (PostgreSQL's text of these types is one
 * DuckDB reads back exactly; bytea's hex and character(n)'s pad blanks are converted first).
 */
static pg2md_code
stage_rows_text(pg2md_dest *d, const pg2md_table *t, const cdc_rel *rel, const int *map, const cdc_fold_table *ft,
		pg2md_error *err)
{
	int nc = t->ncols;
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "CREATE OR REPLACE TEMP TABLE " TSTAGE " (");
	for (int j = 0; j < nc; j++) {
		buf_ident(&q, t->cols[j].dest_name);
		buf_puts(&q, " VARCHAR, ");
	}
	buf_puts(&q, "_pg2md_ord BIGINT, _pg2md_op VARCHAR, _pg2md_from BIGINT, _pg2md_u VARCHAR)");
	pg2md_code rc = cdc_exec(d, q.data, "creating the text stage of a batch", err);
	if (rc) {
		buf_release(&q);
		return rc;
	}
	duckdb_appender app = NULL;
	duckdb_logical_type vt = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	duckdb_logical_type bt = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
	duckdb_logical_type *types = xcalloc((size_t)nc + 4, sizeof(*types));
	duckdb_data_chunk chunk = NULL;
	char *umask = xmalloc((size_t)nc + 1);
	int *scale = NULL;
	if (!types || !umask) {
		rc = pg2md_nomem(err);
		goto out;
	}
	for (int j = 0; j < nc + 4; j++)
		types[j] = j == nc || j == nc + 2 ? bt : vt;
	chunk = duckdb_create_data_chunk(types, (idx_t)nc + 4);
	if (duckdb_appender_create_ext(d->con, "temp", "main", TSTAGE, &app) == DuckDBError) {
		rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not append to the stage table of \"%s\"", t->name);
		goto out;
	}
	idx_t cap = duckdb_vector_size();
	for (int base = 0; base < ft->nrows && rc == PG2MD_OK; base += (int)cap) {
		duckdb_data_chunk_reset(chunk);
		idx_t rows = 0;
		for (int r = base; r < ft->nrows && rows < cap; r++, rows++) {
			const cdc_row *row = &ft->rows[r];
			for (int j = 0; j < nc; j++) {
				duckdb_vector v = duckdb_data_chunk_get_vector(chunk, (idx_t)j);
				static const pgo_value none = {.kind = 'n'};
				const pgo_value *pv = map[j] >= 0 ? &row->cols[map[j]] : &none;
				umask[j] = pv->kind == 'u' ? 'u' : '.';
				if (pv->kind == 'n' || pv->kind == 'u' || (row->op == CDC_OP_DELETE && !rel->cols[map[j]].key)) {
					duckdb_vector_ensure_validity_writable(v);
					duckdb_validity_set_row_invalid(duckdb_vector_get_validity(v), rows);
				} else if (pv->kind != 't') {
					rc = pg2md_fail(err, PG2MD_ERR_RUN, "a binary value came for column \"%s\" of table \"%s\" in a "
							"stream of text values", t->cols[j].name, t->name);
					break;
				} else {
					duckdb_vector_assign_string_element_len(v, rows, (const char *)pv->data, pv->len);
				}
			}
			if (rc)
				break;
			umask[nc] = 0;
			((int64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, (idx_t)nc)))[rows] = r;
			char op = (char)row->op;
			duckdb_vector_assign_string_element_len(duckdb_data_chunk_get_vector(chunk, (idx_t)nc + 1), rows, &op, 1);
			((int64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, (idx_t)nc + 2)))[rows] =
				row->op == CDC_OP_COUNT ? row->count : row->from;
			duckdb_vector_assign_string_element_len(duckdb_data_chunk_get_vector(chunk, (idx_t)nc + 3), rows, umask,
								(idx_t)nc);
		}
		if (rc)
			break;
		duckdb_data_chunk_set_size(chunk, rows);
		if (duckdb_append_data_chunk(app, chunk) == DuckDBError)
			rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not append to the stage table of \"%s\": %s", t->name,
					duckdb_appender_error(app));
	}
	if (rc == PG2MD_OK && duckdb_appender_close(app) == DuckDBError)
		rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not append to the stage table of \"%s\": %s", t->name,
				duckdb_appender_error(app));
	/* the stage's DECIMAL scales: a numeric text with more fraction digits is an error, never rounded */
	scale = xcalloc((size_t)nc + 1, sizeof(int));
	if (rc == PG2MD_OK && !scale)
		rc = pg2md_nomem(err);
	if (rc == PG2MD_OK) {
		duckdb_result res;
		if (duckdb_query(d->con, "SELECT * FROM temp.main." STAGE " LIMIT 0", &res) == DuckDBError) {
			rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not read the stage table: %s", duckdb_result_error(&res));
		} else {
			for (int j = 0; j < nc; j++) {
				duckdb_logical_type lt = duckdb_column_logical_type(&res, (idx_t)j);
				scale[j] = duckdb_get_type_id(lt) == DUCKDB_TYPE_DECIMAL ? duckdb_decimal_scale(lt) : -1;
				duckdb_destroy_logical_type(&lt);
			}
		}
		duckdb_destroy_result(&res);
	}
	if (rc == PG2MD_OK) {
		buf_reset(&q);
		buf_puts(&q, "INSERT INTO temp.main." STAGE " SELECT ");
		for (int j = 0; j < nc; j++) {
			const pg2md_column *c = &t->cols[j];
			if (scale[j] >= 0) {
				buf_puts(&q, "CASE WHEN length(rtrim(regexp_extract(");
				buf_ident(&q, c->dest_name);
				buf_printf(&q, ", '\\.([0-9]*)$', 1), '0')) > %d THEN error(", scale[j]);
				pg2md_buf m = PG2MD_BUF_INIT;
				buf_printf(&m, "a value of column \"%s\" of table \"%s\" has more fraction digits than its DECIMAL "
					       "in the destination (scale %d): ", c->name, t->name, scale[j]);
				if (buf_broken(&m)) {
					buf_release(&m);
					rc = pg2md_nomem(err);
					goto out;
				}
				buf_literal(&q, m.data);
				buf_release(&m);
				buf_puts(&q, " || ");
				buf_ident(&q, c->dest_name);
				buf_puts(&q, ") ELSE ");
				buf_ident(&q, c->dest_name);
				buf_puts(&q, " END, ");
				continue;
			}
			if (c->dec == DEC_BYTEA)
				buf_puts(&q, "from_hex(substr(");
			else if (c->dec == DEC_BPCHAR)
				buf_puts(&q, "rtrim(");
			buf_ident(&q, c->dest_name);
			if (c->dec == DEC_BYTEA)
				buf_puts(&q, ", 3))");
			else if (c->dec == DEC_BPCHAR)
				buf_puts(&q, ", ' ')");
			buf_puts(&q, ", ");
		}
		buf_puts(&q, "_pg2md_ord, _pg2md_op, _pg2md_from, _pg2md_u FROM temp.main." TSTAGE "; DROP TABLE temp.main." TSTAGE);
		duckdb_result res;
		if (statement_fits(d, q.data, "reading the text values of a batch", err)) {
			rc = err->code;
			goto out;
		}
		if (duckdb_query(d->con, q.data, &res) == DuckDBError) {
			rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not read the text values of table \"%s\"", t->name);
			pg2md_detail(err, "%s", duckdb_result_error(&res));
		}
		duckdb_destroy_result(&res);
	}
out:
	if (app)
		duckdb_appender_destroy(&app);
	if (chunk)
		duckdb_destroy_data_chunk(&chunk);
	duckdb_destroy_logical_type(&vt);
	duckdb_destroy_logical_type(&bt);
	free(types);
	free(umask);
	free(scale);
	buf_release(&q);
	return rc;
}

/* Does the batch of t hold text values (protocol 1)? */
static bool
text_batch(const cdc_fold_table *ft)
{
	for (int r = 0; r < ft->nrows; r++)
		for (int j = 0; j < ft->ncols; j++) {
			char k = ft->rows[r].cols[j].kind;
			if (k == 't' || k == 'b')
				return k == 't';
		}
	return false;
}

/* The key join "a.k1 = b.k1 AND …" over the relation's key columns. */
static void
key_join(pg2md_buf *b, const pg2md_table *t, const cdc_rel *rel, const int *map, const char *a, const char *c)
{
	int n = 0;
	for (int j = 0; j < t->ncols; j++) {
		if (map[j] < 0 || !rel->cols[map[j]].key)
			continue;
		buf_printf(b, "%s%s.", n++ ? " AND " : "", a);
		buf_ident(b, t->cols[j].dest_name);
		buf_printf(b, " = %s.", c);
		buf_ident(b, t->cols[j].dest_name);
	}
}

/* Run one statement of the apply ("deletes" or "rows" say which in a failure); the rows it
 * changed are added to *applied. */
static pg2md_code
apply_exec(pg2md_dest *d, const char *sql, const char *what, const pg2md_table *t, int64_t *applied,
	   pg2md_error *err)
{
	duckdb_result res;
	if (statement_fits(d, sql, "applying a batch", err))
		return err->code;
	if (duckdb_query(d->con, sql, &res) == DuckDBError) {
		pg2md_fail(err, PG2MD_ERR_RUN, "could not apply the %s of table \"%s\"", what, t->name);
		pg2md_detail(err, "%s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		return err->code;
	}
	*applied += duckdb_rows_changed(&res);
	duckdb_destroy_result(&res);
	return PG2MD_OK;
}

/* INSERT INTO <the table> (<its columns>) SELECT <its columns> FROM <from> */
static void
insert_sql(pg2md_buf *q, const pg2md_config *cfg, const pg2md_table *t, const char *from)
{
	buf_puts(q, "INSERT INTO ");
	dest_table(q, cfg, t);
	for (int pass = 0; pass < 2; pass++) {
		buf_puts(q, pass ? ") SELECT " : " (");
		for (int j = 0; j < t->ncols; j++) {
			if (j)
				buf_puts(q, ", ");
			if (pass && t->cols[j].lineage)
				cdc_lineage_value(q, &t->cols[j]);
			else
				buf_ident(q, t->cols[j].dest_name);
		}
	}
	buf_puts(q, from);
}

/*
 * A REPLICA IDENTITY FULL table: the stage holds each distinct row image once with its net count
 * (in _pg2md_from).  Negative: that many of the destination's equal rows are deleted (one per
 * delete at the source, whatever the duplicates); positive: that many copies inserted.
 */
static pg2md_code
apply_full(pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *t, const cdc_fold_table *ft, int64_t *applied,
	   pg2md_error *err)
{
	(void)ft;
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "DELETE FROM ");
	dest_table(&q, cfg, t);
	buf_puts(&q, " WHERE rowid IN (SELECT rid FROM (SELECT d.rowid AS rid, s._pg2md_from AS cnt, "
		     "row_number() OVER (PARTITION BY s._pg2md_ord) AS rn FROM ");
	dest_table(&q, cfg, t);
	buf_puts(&q, " AS d JOIN temp.main." STAGE " AS s ON ");
	for (int j = 0, n = 0; j < t->ncols; j++) {
		if (t->cols[j].lineage)
			continue; /* written by follow, not the source's: rows match by the source's values */
		if (n++)
			buf_puts(&q, " AND ");
		buf_puts(&q, "d.");
		buf_ident(&q, t->cols[j].dest_name);
		buf_puts(&q, " IS NOT DISTINCT FROM s.");
		buf_ident(&q, t->cols[j].dest_name);
	}
	buf_puts(&q, " WHERE s._pg2md_from < 0) WHERE rn <= -cnt)");
	pg2md_code rc = apply_exec(d, q.data, "deletes", t, applied, err);
	if (rc == PG2MD_OK) {
		buf_reset(&q);
		insert_sql(&q, cfg, t, " FROM (SELECT *, unnest(range(_pg2md_from)) AS _pg2md_copy FROM temp.main." STAGE
				       " WHERE _pg2md_from > 0) ORDER BY _pg2md_ord");
		rc = apply_exec(d, q.data, "rows", t, applied, err);
	}
	buf_release(&q);
	return rc;
}

/*
 * The stage table of t: shaped like the mirror table plus the batch's columns; with a transform
 * (the mirror holds its output) like the source's columns with their destination types.
 */
static pg2md_code
stage_create(pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *t, bool transformed, pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	duckdb_result mirror;
	bool have_mirror = false;
	if (transformed) {
		/* a plain numeric the transform passes on keeps the mirror's DECIMAL (the copy measured
		 * it): decoded into it, a value with more fraction digits fails, as without a transform,
		 * instead of being rounded by a cast on insert */
		buf_puts(&q, "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
			     "AND schema_name = ");
		buf_literal(&q, cfg->dataset_name);
		buf_puts(&q, " AND table_name = ");
		buf_literal(&q, t->dest_name);
		have_mirror = duckdb_query(d->con, q.data, &mirror) != DuckDBError;
		if (!have_mirror)
			duckdb_destroy_result(&mirror);
		buf_reset(&q);
	}
	buf_puts(&q, "CREATE OR REPLACE TEMP TABLE " STAGE);
	if (transformed) {
		buf_puts(&q, " (");
		for (int j = 0; j < t->ncols; j++) {
			const pg2md_column *c = &t->cols[j];
			char *type = NULL;
			bool plain = (c->dec == DEC_NUMERIC_TEXT || c->dec == DEC_NUMERIC_DOUBLE || c->dec == DEC_NUMERIC_DECIMAL) &&
				     c->typmod < 0;
			for (idx_t r = 0; plain && have_mirror && !type && r < duckdb_row_count(&mirror); r++) {
				char *name = duckdb_value_varchar(&mirror, 0, r);
				if (name && strcmp(name, c->dest_name) == 0) {
					type = duckdb_value_varchar(&mirror, 1, r);
					if (type && strncmp(type, "DECIMAL", 7) != 0 && strcmp(type, "DOUBLE") != 0) {
						duckdb_free(type);
						type = NULL;
					}
				}
				duckdb_free(name);
			}
			buf_ident(&q, c->dest_name);
			buf_printf(&q, " %s, ", type ? type : c->duck_type);
			duckdb_free(type);
		}
		buf_puts(&q, "_pg2md_ord BIGINT, _pg2md_op VARCHAR, _pg2md_from BIGINT, _pg2md_u VARCHAR)");
	} else {
		buf_puts(&q, " AS SELECT ");
		for (int j = 0; j < t->ncols; j++) {
			buf_ident(&q, t->cols[j].dest_name);
			buf_puts(&q, ", ");
		}
		buf_puts(&q, "0::BIGINT AS _pg2md_ord, ''::VARCHAR AS _pg2md_op, 0::BIGINT AS _pg2md_from, "
			     "''::VARCHAR AS _pg2md_u FROM ");
		dest_table(&q, cfg, t);
		buf_puts(&q, " LIMIT 0");
	}
	pg2md_code rc = cdc_exec(d, q.data, "creating the stage table of a batch", err);
	buf_release(&q);
	if (have_mirror)
		duckdb_destroy_result(&mirror);
	return rc;
}

/*
 * A batch of a transformed table can be applied: the table has a key (rows are matched by their
 * transformed values otherwise, which the old rows of the stream do not give), and no update
 * left a large value unchanged: pgoutput does not send it ('u'), and the mirror holds the
 * transform's output, not the value the transform needs.
 */
static pg2md_code
transformable(const pg2md_config *cfg, const pg2md_table *t, const cdc_rel *rel, const cdc_fold_table *ft,
	      pg2md_error *err)
{
	if (rel->replident == 'f') {
		pg2md_fail(err, PG2MD_ERR_USAGE, "table \"%s\" has a transform and REPLICA IDENTITY FULL, which pg2md follow "
			   "cannot apply", t->name);
		pg2md_detail(err, "without a key, the mirror's rows are matched by all their values, and those are the "
				  "transform's output");
		pg2md_hint(err, "give the table a primary key (or REPLICA IDENTITY USING INDEX), or leave the transform out");
		return PG2MD_ERR_USAGE;
	}
	for (int r = 0; r < ft->nrows; r++) {
		const cdc_row *row = &ft->rows[r];
		if (row->op == CDC_OP_DELETE || !row->cols)
			continue;
		for (int i = 0; i < ft->ncols; i++)
			if (row->cols[i].kind == 'u') {
				pg2md_fail(err, PG2MD_ERR_RUN, "an UPDATE of table \"%s\" left the large value of column \"%s\" "
					   "unchanged, which pg2md follow cannot transform", t->name, rel->cols[i].name);
				pg2md_detail(err, "PostgreSQL does not send an unchanged TOAST value, and the mirror holds the "
						  "transform's output, not the value");
				cdc_resync_hint(err, cfg, t->name);
				return PG2MD_ERR_RUN;
			}
	}
	return PG2MD_OK;
}

/*
 * A transformed table's batch (stage filled): the keys of the batch deleted, the transform's
 * output over the new images inserted (by name; lineage columns after it).  The output must
 * hold the batch's keys only: a transform that changes key values would leave rows no later
 * change can find.
 */
static pg2md_code
apply_transformed(pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *t, const cdc_rel *rel, const int *map,
		  const char *xf, int64_t *applied, pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	buf_puts(&q, "DELETE FROM ");
	dest_table(&q, cfg, t);
	buf_puts(&q, " AS d USING temp.main." STAGE " AS s WHERE ");
	key_join(&q, t, rel, map, "d", "s");
	pg2md_code rc = apply_exec(d, q.data, "deletes", t, applied, err);
	if (rc == PG2MD_OK) {
		buf_reset(&q);
		buf_puts(&q, "CREATE OR REPLACE TEMP TABLE " XOUT " AS WITH data AS (SELECT ");
		for (int j = 0, n = 0; j < t->ncols; j++)
			if (!t->cols[j].lineage) {
				if (n++)
					buf_puts(&q, ", ");
				buf_ident(&q, t->cols[j].dest_name);
			}
		buf_printf(&q, " FROM temp.main." STAGE " WHERE _pg2md_op <> 'D' ORDER BY _pg2md_ord) %s", xf);
		rc = cdc_exec(d, q.data, "applying the transform to a batch", err);
	}
	if (rc == PG2MD_OK) {
		buf_reset(&q);
		buf_puts(&q, "SELECT count(*) FROM temp.main." XOUT " AS o WHERE NOT EXISTS (SELECT 1 FROM temp.main." STAGE
			     " AS s WHERE s._pg2md_op <> 'D' AND ");
		key_join(&q, t, rel, map, "o", "s");
		buf_puts(&q, ")");
		duckdb_result res;
		if (statement_fits(d, q.data, "checking a transform's keys", err)) {
			buf_release(&q);
			return err->code;
		}
		if (duckdb_query(d->con, q.data, &res) == DuckDBError) {
			rc = pg2md_fail(err, PG2MD_ERR_RUN, "could not check the transform's keys of table \"%s\": %s", t->name,
					duckdb_result_error(&res));
		} else if (duckdb_value_int64(&res, 0, 0) > 0) {
			rc = pg2md_fail(err, PG2MD_ERR_USAGE, "the transform of table \"%s\" changes key values, which pg2md "
					"follow cannot apply", t->name);
			pg2md_detail(err, "follow deletes and inserts a transformed table's rows by their key: the transform "
					  "must output each row's key as it is");
		}
		duckdb_destroy_result(&res);
	}
	if (rc == PG2MD_OK) {
		buf_reset(&q);
		buf_puts(&q, "INSERT INTO ");
		dest_table(&q, cfg, t);
		buf_puts(&q, " BY NAME SELECT *");
		for (int j = 0; j < t->ncols; j++)
			if (t->cols[j].lineage) {
				buf_puts(&q, ", ");
				cdc_lineage_value(&q, &t->cols[j]);
				buf_puts(&q, " AS ");
				buf_ident(&q, t->cols[j].dest_name);
			}
		buf_puts(&q, " FROM temp.main." XOUT);
		rc = apply_exec(d, q.data, "rows", t, applied, err);
	}
	buf_release(&q);
	return rc;
}

static pg2md_code
apply_table(pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *t, const cdc_rel *rel,
	    const cdc_fold_table *ft, int64_t *applied, pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	pg2md_code rc = PG2MD_OK;
	int *map = xcalloc((size_t)t->ncols + 1, sizeof(int));
	if (!map)
		return pg2md_nomem(err);
	for (int j = 0; j < t->ncols; j++) {
		map[j] = t->cols[j].lineage ? -1 : rel_col(rel, t->cols[j].name);
		if (map[j] < 0 && !t->cols[j].lineage) {
			rc = pg2md_fail(err, PG2MD_ERR_RUN, "column \"%s\" of table \"%s\" is not in the replication stream",
					t->cols[j].name, t->name);
			pg2md_detail(err, "the table's columns at the source differ from the ones pg2md follow decodes with");
			cdc_resync_hint(err, cfg, t->name);
			goto out;
		}
	}
	int keys = 0;
	for (int j = 0; j < t->ncols; j++)
		keys += map[j] >= 0 && rel->cols[map[j]].key;
	if (keys != rel->nkeys) {
		rc = pg2md_fail(err, PG2MD_ERR_USAGE, "a key column of table \"%s\" is not copied", t->name);
		pg2md_hint(err, "keep the replica identity's columns in included_columns / out of excluded_columns");
		goto out;
	}
	if (ft->truncated) {
		buf_puts(&q, "DELETE FROM ");
		dest_table(&q, cfg, t);
		if ((rc = cdc_exec(d, q.data, "applying a TRUNCATE", err)))
			goto out;
	}
	if (ft->nrows == 0)
		goto out;

	const char *xf = cdc_transform_of(cfg, t);
	if (xf && (rc = transformable(cfg, t, rel, ft, err)))
		goto out;
	if ((rc = stage_create(d, cfg, t, xf != NULL, err)))
		goto out;
	if ((rc = text_batch(ft) ? stage_rows_text(d, t, rel, map, ft, err) : stage_rows(d, t, rel, map, ft, err)))
		goto out;
	if (xf) {
		rc = apply_transformed(d, cfg, t, rel, map, xf, applied, err);
		goto out;
	}
	if (rel->replident == 'f') {
		rc = apply_full(d, cfg, t, ft, applied, err);
		goto out;
	}
	bool any_update = false;
	for (int r = 0; r < ft->nrows && !any_update; r++)
		any_update = ft->rows[r].op == CDC_OP_UPDATE;
	if (any_update) {
		/* the unchanged columns from the destination row they belong to, before any delete */
		buf_reset(&q);
		buf_puts(&q, "UPDATE temp.main." STAGE " AS s SET ");
		int n = 0;
		for (int j = 0; j < t->ncols; j++) {
			if (map[j] < 0 || rel->cols[map[j]].key)
				continue;
			if (n++)
				buf_puts(&q, ", ");
			buf_ident(&q, t->cols[j].dest_name);
			buf_printf(&q, " = CASE WHEN substr(s._pg2md_u, %d, 1) = 'u' THEN d.", j + 1);
			buf_ident(&q, t->cols[j].dest_name);
			buf_puts(&q, " ELSE s.");
			buf_ident(&q, t->cols[j].dest_name);
			buf_puts(&q, " END");
		}
		if (n) {
			buf_puts(&q, " FROM temp.main." STAGE " AS f, ");
			dest_table(&q, cfg, t);
			buf_puts(&q, " AS d WHERE s._pg2md_op = 'P' AND f._pg2md_ord = s._pg2md_from AND ");
			key_join(&q, t, rel, map, "d", "f");
			if ((rc = cdc_exec(d, q.data, "reading unchanged TOAST values from the destination", err)))
				goto out;
		}
	}
	buf_reset(&q);
	buf_puts(&q, "DELETE FROM ");
	dest_table(&q, cfg, t);
	buf_puts(&q, " AS d USING temp.main." STAGE " AS s WHERE ");
	key_join(&q, t, rel, map, "d", "s");
	if ((rc = apply_exec(d, q.data, "deletes", t, applied, err)))
		goto out;
	buf_reset(&q);
	insert_sql(&q, cfg, t, " FROM temp.main." STAGE " WHERE _pg2md_op <> 'D' ORDER BY _pg2md_ord");
	rc = apply_exec(d, q.data, "rows", t, applied, err);
out:
	buf_release(&q);
	free(map);
	return rc;
}

pg2md_code
cdc_apply_begin(pg2md_dest *d, pg2md_error *err)
{
	return duck_exec(d->con, "BEGIN", "starting the batch's transaction", err);
}

pg2md_code
cdc_apply_fold(pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *tables, int ntables,
	       const cdc_relcache *rc, const cdc_fold *f, int64_t *applied, pg2md_error *err)
{
	for (int i = 0; i < f->n; i++) {
		const cdc_fold_table *ft = &f->tables[i];
		const pg2md_table *t = NULL;
		for (int k = 0; k < ntables && !t; k++)
			if (tables[k].oid == ft->relid)
				t = &tables[k];
		const cdc_rel *rel = cdc_relcache_get(rc, ft->relid);
		if (t == NULL || rel == NULL) {
			pg2md_debug("skipping changes of relation %u: not a followed table", ft->relid);
			continue;
		}
		if (apply_table(d, cfg, t, rel, ft, applied, err))
			return err->code;
	}
	return PG2MD_OK;
}

pg2md_code
cdc_apply_commit(pg2md_dest *d, const pg2md_config *cfg, const char *slot, pgo_lsn lsn, pg2md_error *err)
{
	pg2md_buf q = PG2MD_BUF_INIT;
	cdc_lineage_load_sql(&q, cfg); /* the batch's load, when rows carry its id */
	wm_sql(&q, cfg, slot, lsn);
	pg2md_code r = cdc_exec(d, q.data, "setting the replication watermark", err);
	buf_release(&q);
	if (r == PG2MD_OK)
		duck_exec(d->con, "DROP TABLE IF EXISTS temp.main." STAGE "; DROP TABLE IF EXISTS temp.main." XOUT,
			  "dropping the stage table", err);
	/* a statement built while memory ran short may lack what a broken buffer held (util/mem.h) */
	if (!pg2md_failed(err) && interrupt_reason() == PG2MD_ERR_NOMEM)
		pg2md_fail(err, PG2MD_ERR_NOMEM, "out of memory while applying a batch; it was not committed");
	if (pg2md_failed(err) || duck_exec(d->con, "COMMIT", "committing the batch", err)) {
		cdc_apply_rollback(d);
		return err->code;
	}
	return PG2MD_OK;
}

void
cdc_apply_rollback(pg2md_dest *d)
{
	duck_exec(d->con, "ROLLBACK", "rolling back the batch", &(pg2md_error){0});
}

pg2md_code
cdc_apply_batch(pg2md_dest *d, const pg2md_config *cfg, const pg2md_table *tables, int ntables,
		const cdc_relcache *rc, const cdc_fold *f, const char *slot, pgo_lsn lsn, int64_t *applied,
		pg2md_error *err)
{
	int64_t n = 0;
	if (cdc_apply_begin(d, err))
		return err->code;
	if (cdc_apply_fold(d, cfg, tables, ntables, rc, f, &n, err)) {
		cdc_apply_rollback(d);
		return err->code;
	}
	if (cdc_apply_commit(d, cfg, slot, lsn, err))
		return err->code;
	if (applied)
		*applied = n;
	return PG2MD_OK;
}

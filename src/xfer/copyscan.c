/*
 * copyscan.c — the pg2md_scan table function (see copyscan.h).
 *
 * bind:  declares the job's columns with the types their decoders write;
 * init:  starts the COPY on the job's connection (one thread per scan:
 *        a COPY stream is sequential; parallelism comes from running many
 *        jobs at once on their own connections);
 * scan:  decodes CopyData messages into the output chunk until it is full;
 * end:   checks the COPY's final status.  A failure fills the job's error
 *        (the root cause) and fails the DuckDB statement.
 * The decoding (scan_fill) fills any chunk of the job's columns: a reader outside any statement
 * uses it too (copyscan_reader_*), and a scan in hand-off mode hands such chunks on (scan_take).
 */
#include "xfer/copyscan.h"

#include <stdlib.h>
#include <string.h>

#include "xfer/copydec.h"
#include "source/pgconn.h"
#include "util/fault.h"
#include "util/humanize.h"
#include "util/interrupt.h"

/*
 * The last chunks whose rows add up to DuckDB's vector size (2048): the rows DuckDB holds at
 * once when it writes them out.  A ring, since a chunk holds 1 to 2048 rows.
 */
#define WINDOW_ROWS 2048
typedef struct row_window {
	int32_t rows[WINDOW_ROWS + 1];
	int64_t bytes[WINDOW_ROWS + 1];
	int head, count;
	int64_t sum_rows, sum_bytes;
} row_window;

typedef struct scan_state {
	copyscan_job *job;
	copydec dec;
	char *msg;      /* current CopyData message (libpq's buffer) */
	int32_t len;
	int32_t off;
	bool copying;   /* COPY started and not yet finished */
	bool done;
	int chunks;     /* chunks produced so far */
	row_window win;
	bool dec_ready; /* dec was initialized */
	bool hand;      /* hand-off mode: chunks come from the registry's take() */
	int id;         /* the job's id */
} scan_state;

/* A chunk of rows rows and bytes bytes was produced: slide the window, keep the job's largest. */
static void
window_add(row_window *w, copyscan_job *job, int32_t rows, int64_t bytes)
{
	int tail = (w->head + w->count) % (WINDOW_ROWS + 1);

	w->rows[tail] = rows;
	w->bytes[tail] = bytes;
	w->count++;
	w->sum_rows += rows;
	w->sum_bytes += bytes;
	while (w->count > 1 && w->sum_rows > WINDOW_ROWS) {
		w->sum_rows -= w->rows[w->head];
		w->sum_bytes -= w->bytes[w->head];
		w->head = (w->head + 1) % (WINDOW_ROWS + 1);
		w->count--;
	}
	if (w->sum_bytes > job->window_bytes) {
		job->window_bytes = w->sum_bytes;
		job->window_rows = w->sum_rows;
	}
}

/* The DuckDB type a decoder writes (see schema_effective_dec); also used by the decoder's fuzzer. */
duckdb_logical_type
copyscan_logical_type(pg2md_dec dec, int precision, int scale, const pg2md_type *ty, bool staged, bool nested)
{
	switch (schema_effective_dec(dec, staged, nested)) {
	case DEC_INTERVAL_STRUCT: {
		duckdb_logical_type m[3] = {duckdb_create_logical_type(DUCKDB_TYPE_INTEGER),
					    duckdb_create_logical_type(DUCKDB_TYPE_INTEGER),
					    duckdb_create_logical_type(DUCKDB_TYPE_BIGINT)};
		const char *names[3] = {"months", "days", "micros"};
		duckdb_logical_type st = duckdb_create_struct_type(m, names, 3);
		for (int i = 0; i < 3; i++)
			duckdb_destroy_logical_type(&m[i]);
		return st;
	}
	case DEC_LIST: {
		const pg2md_type *e = ty->elem;
		duckdb_logical_type lt = copyscan_logical_type(e->dec, e->precision, e->scale, e, staged, true);
		for (int k = 0; lt && k < ty->ndim; k++) {
			duckdb_logical_type outer = duckdb_create_list_type(lt);
			duckdb_destroy_logical_type(&lt);
			lt = outer;
		}
		return lt;
	}
	case DEC_STRUCT: {
		duckdb_logical_type *m = xcalloc((size_t)ty->nfields + 1, sizeof(duckdb_logical_type));
		bool whole = true;
		if (!m)
			return NULL; /* out of memory */
		for (int k = 0; k < ty->nfields; k++) {
			const pg2md_type *f = &ty->fields[k];
			m[k] = copyscan_logical_type(f->dec, f->precision, f->scale, f, staged, true);
			whole = whole && m[k];
		}
		duckdb_logical_type st =
			whole ? duckdb_create_struct_type(m, (const char **)ty->field_names, (idx_t)ty->nfields) : NULL;
		for (int k = 0; k < ty->nfields; k++)
			if (m[k])
				duckdb_destroy_logical_type(&m[k]);
		free(m);
		return st;
	}
	case DEC_ENUM: return duckdb_create_enum_type((const char **)ty->labels, (idx_t)ty->nlabels);
	case DEC_BOOL: return duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
	case DEC_INT2: return duckdb_create_logical_type(DUCKDB_TYPE_SMALLINT);
	case DEC_INT4: return duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
	case DEC_INT8: return duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
	case DEC_OID: return duckdb_create_logical_type(DUCKDB_TYPE_UINTEGER);
	case DEC_FLOAT4: return duckdb_create_logical_type(DUCKDB_TYPE_FLOAT);
	case DEC_FLOAT8: case DEC_NUMERIC_DOUBLE: return duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
	case DEC_NUMERIC_DECIMAL: return duckdb_create_decimal_type((uint8_t)precision, (uint8_t)scale);
	case DEC_BYTEA: return duckdb_create_logical_type(DUCKDB_TYPE_BLOB);
	case DEC_DATE: return duckdb_create_logical_type(DUCKDB_TYPE_DATE);
	case DEC_TIME: return duckdb_create_logical_type(DUCKDB_TYPE_TIME);
	case DEC_TIMETZ: return duckdb_create_logical_type(DUCKDB_TYPE_TIME_TZ);
	case DEC_TIMESTAMP: return duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP);
	case DEC_TIMESTAMPTZ: return duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP_TZ);
	case DEC_INTERVAL: return duckdb_create_logical_type(DUCKDB_TYPE_INTERVAL);
	case DEC_UUID: return duckdb_create_logical_type(DUCKDB_TYPE_UUID);
	default: return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	}
}

/* What bind found: the job, and its id (hand-off mode asks the caller for its chunks by id). */
typedef struct scan_bound {
	copyscan_job *job;
	int id;
} scan_bound;

static duckdb_logical_type
scan_logical_type(const pg2md_column *c, bool staged)
{
	return copyscan_logical_type(c->dec, c->precision, c->scale, c->type, staged, false);
}

static void
scan_bind(duckdb_bind_info info)
{
	copyscan_registry *reg = duckdb_bind_get_extra_info(info);
	duckdb_value v = duckdb_bind_get_parameter(info, 0);
	int64_t id = duckdb_get_int64(v);
	duckdb_destroy_value(&v);
	if (id < 0 || id >= reg->njobs) {
		duckdb_bind_set_error(info, "pg2md_scan: no such job");
		return;
	}
	copyscan_job *job = reg->jobs[id];
	for (int i = 0; i < job->table->ncols; i++) {
		duckdb_logical_type lt = scan_logical_type(&job->table->cols[i], reg->staged);
		if (!lt) {
			pg2md_nomem(&job->err);
			duckdb_bind_set_error(info, job->err.msg);
			return;
		}
		duckdb_bind_add_result_column(info, job->table->cols[i].dest_name, lt);
		duckdb_destroy_logical_type(&lt);
	}
	duckdb_bind_set_cardinality(info, (idx_t)(job->table->est_rows > 0 ? job->table->est_rows : 0), false);
	scan_bound *b = xcalloc(1, sizeof(scan_bound));
	if (!b) {
		pg2md_nomem(&job->err);
		duckdb_bind_set_error(info, job->err.msg);
		return;
	}
	b->job = job;
	b->id = (int)id;
	duckdb_bind_set_bind_data(info, b, free);
	job->staged = reg->staged;
}

void
copyscan_abort(PGconn *conn)
{
	char errbuf[256];
	char *buf;
	PGresult *res;

	if (!conn || PQtransactionStatus(conn) != PQTRANS_ACTIVE)
		return;
	PGcancel *cancel = PQgetCancel(conn);
	if (cancel) {
		PQcancel(cancel, errbuf, sizeof(errbuf));
		PQfreeCancel(cancel);
	}
	while (PQgetCopyData(conn, &buf, 0) > 0)
		PQfreemem(buf);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
}

static void
scan_state_free(void *p)
{
	scan_state *s = p;
	if (s->msg)
		PQfreemem(s->msg);
	if (s->copying)
		copyscan_abort(s->job->conn);
	if (s->dec_ready)
		copydec_release(&s->dec);
	free(s);
}

/* The server's SQLSTATE of a failed COPY, so a caller can tell a bad value (class 22) from the rest. */
static void
keep_sqlstate(copyscan_job *job, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(job->sqlstate, sizeof(job->sqlstate), "%s", state ? state : "");
}

/* Start the job's COPY on its connection; false with job->err set when it did not start. */
static bool
scan_start(scan_state *s)
{
	copyscan_job *job = s->job;
	PGresult *res;

	/* interruptible: the COPY may wait for a lock (a TRUNCATE queued behind the run's own
	 * ACCESS SHARE) or for its first row; SIGINT/SIGTERM must not wait with it */
	res = pg_exec_wait(job->conn, job->copy_sql, 0, NULL);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		if (interrupt_requested())
			pg2md_fail(&job->err, interrupt_reason(), "%s while reading table \"%s\"", interrupt_what(),
				   job->table->name);
		else
			pg2md_fail(&job->err, PG2MD_ERR_RUN, "could not read table \"%s\": %s", job->table->name,
				   PQerrorMessage(job->conn));
		keep_sqlstate(job, res);
		PQclear(res);
		if (strcmp(job->sqlstate, "55P03") == 0) {
			/* name the session in the way, as the leader's statements do */
			pg2md_error_init(&job->err);
			pg_fail_lock_timeout(job->conn, &job->err);
		}
		return false;
	}
	PQclear(res);
	s->copying = true;
	return true;
}

static void
scan_init(duckdb_init_info info)
{
	copyscan_registry *reg = duckdb_init_get_extra_info(info);
	scan_bound *b = duckdb_init_get_bind_data(info);
	scan_state *s = xcalloc(1, sizeof(scan_state));

	if (!s) {
		pg2md_nomem(&b->job->err);
		duckdb_init_set_error(info, b->job->err.msg);
		return;
	}
	s->job = b->job;
	s->id = b->id;
	duckdb_init_set_max_threads(info, 1);
	duckdb_init_set_init_data(info, s, scan_state_free);
	if (reg->take) {
		s->hand = true; /* the rows come decoded from the caller's readers */
		return;
	}
	s->dec_ready = true; /* copydec_release is safe whatever copydec_init did */
	if (!copydec_init(&s->dec, s->job->table, s->job->staged)) {
		pg2md_nomem(&s->job->err);
		duckdb_init_set_error(info, s->job->err.msg);
		return;
	}
	if (!scan_start(s))
		duckdb_init_set_error(info, s->job->err.msg);
}

/* Read the COPY's final result once the data is done. */
static bool
scan_finish(scan_state *s)
{
	PGresult *res;
	bool ok = true;
	s->copying = false;
	while ((res = PQgetResult(s->job->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && ok) {
			pg2md_fail(&s->job->err, PG2MD_ERR_RUN, "reading table \"%s\" failed: %s", s->job->table->name,
				   PQerrorMessage(s->job->conn));
			keep_sqlstate(s->job, res);
			ok = false;
		}
		PQclear(res);
	}
	return ok;
}

/*
 * A chunk is DuckDB's vector size (2048 rows), or fewer when the rows decoded into it pass this
 * many bytes of COPY data: 2048 rows of several-MB values would be gigabytes in one chunk, far
 * past DuckDB's memory_limit (dest/duck.c).  Checked after each CopyData message (PostgreSQL
 * sends one per row), so a chunk holds at most this plus one row.  4 MB, not more: the staged
 * Parquet file's row groups are built of whole chunks (8 MB, stage/extract_sql.c), and a row of several
 * MB should sit in a chunk, and a row group, of its own; 2048 rows of up to 2 kB still fit
 * (docs/reliability.md, "Values of several MB").
 */
#define CHUNK_BYTES_MAX (4 * 1024 * 1024)

/*
 * Decode the job's next rows into chunk (any chunk of the job's columns: the statement's output,
 * or a reader's own in hand-off mode); *bytes: their COPY bytes, *done: the data ended.  Fails
 * with job->err set.
 */
static pg2md_code
scan_fill(scan_state *s, duckdb_data_chunk chunk, int64_t *bytes, bool *done)
{
	copyscan_job *job = s->job;
	idx_t capacity = duckdb_vector_size();
	idx_t row = 0;
	int64_t chunk_bytes = 0;

	*bytes = 0;
	duckdb_data_chunk_set_size(chunk, 0);
	if (s->done) {
		*done = true;
		return PG2MD_OK;
	}
	fault_point("extract:chunk");
	/* a first attempt's second chunk fails as if DuckDB ran out of memory there (tests only) */
	if (s->chunks++ == 1 && job->retries == 0 && fault_fail("extract:oom")) {
		job->oom = true;
		s->done = true;
		return pg2md_fail(&job->err, PG2MD_ERR_RUN,
				  "Out of Memory Error: injected at \"extract:oom\" (PG2MD_FAULT_FAIL)");
	}
	if (interrupt_requested()) {
		s->done = true;
		return pg2md_fail(&job->err, interrupt_reason(), "%s while reading table \"%s\"", interrupt_what(),
				  job->table->name);
	}
	copydec_bind_chunk(&s->dec, chunk);
	while (row < capacity && chunk_bytes < CHUNK_BYTES_MAX) {
		if (s->msg == NULL) {
			int n = PQgetCopyData(job->conn, &s->msg, 0);
			if (n == -1) {
				s->done = true;
				if (!scan_finish(s))
					return job->err.code;
				break;
			}
			if (n < 0) {
				s->done = true;
				return pg2md_fail(&job->err, PG2MD_ERR_RUN, "reading table \"%s\" failed: %s",
						  job->table->name, PQerrorMessage(job->conn));
			}
			s->len = n;
			s->off = 0;
			__atomic_fetch_add(&job->bytes, (int64_t)n, __ATOMIC_RELAXED); /* read by the progress thread */
		}
		int32_t off0 = s->off;
		if (copydec_feed(&s->dec, job->table, (const uint8_t *)s->msg, s->len, &s->off, &row, capacity,
				 &job->err)) {
			s->done = true;
			return job->err.code;
		}
		chunk_bytes += s->off - off0;
		if (s->off >= s->len) {
			PQfreemem(s->msg);
			s->msg = NULL;
		}
	}
	__atomic_fetch_add(&job->rows, (int64_t)row, __ATOMIC_RELAXED);
	if (row > 0)
		window_add(&s->win, job, (int32_t)row, chunk_bytes);
	for (int i = 0; i < s->dec.ncols; i++) {
		job->lossy += s->dec.cols[i].lossy;
		s->dec.cols[i].lossy = 0;
	}
	duckdb_data_chunk_set_size(chunk, row);
	*bytes = chunk_bytes;
	*done = s->done;
	return PG2MD_OK;
}

/*
 * Hand-off mode: the next chunk a reader decoded becomes the output without a copy (its vectors
 * are referenced: DuckDB shares their buffers, which live on after the reader's chunk is
 * destroyed here, as long as the output needs them).
 */
static pg2md_code
scan_take(copyscan_registry *reg, scan_state *s, duckdb_data_chunk output)
{
	duckdb_data_chunk in = NULL;
	int got = reg->take(reg->take_arg, s->id, &in);

	duckdb_data_chunk_set_size(output, 0);
	if (got < 0)
		return s->job->err.code ? s->job->err.code : PG2MD_ERR_RUN;
	if (got == 0) {
		s->done = true;
		return PG2MD_OK;
	}
	idx_t n = duckdb_data_chunk_get_column_count(in);
	for (idx_t i = 0; i < n; i++)
		duckdb_vector_reference_vector(duckdb_data_chunk_get_vector(output, i), duckdb_data_chunk_get_vector(in, i));
	duckdb_data_chunk_set_size(output, duckdb_data_chunk_get_size(in));
	duckdb_destroy_data_chunk(&in);
	return PG2MD_OK;
}

static void
scan_func(duckdb_function_info info, duckdb_data_chunk output)
{
	scan_state *s = duckdb_function_get_init_data(info);
	int64_t bytes;
	bool done;
	pg2md_code r;

	if (s->hand)
		r = s->done ? PG2MD_OK : scan_take(duckdb_function_get_extra_info(info), s, output);
	else
		r = scan_fill(s, output, &bytes, &done);
	if (r != PG2MD_OK) {
		duckdb_data_chunk_set_size(output, 0);
		duckdb_function_set_error(info, pg2md_failed(&s->job->err) ? s->job->err.msg : "pg2md_scan: the reader failed");
	} else if (s->hand && s->done) {
		duckdb_data_chunk_set_size(output, 0);
	}
}

copyscan_reader *
copyscan_reader_start(copyscan_job *job, bool staged)
{
	scan_state *s = xcalloc(1, sizeof(scan_state));
	if (!s) {
		pg2md_nomem(&job->err);
		return NULL;
	}
	s->job = job;
	job->staged = staged;
	s->dec_ready = true; /* copydec_release is safe whatever copydec_init did */
	if (!copydec_init(&s->dec, job->table, staged)) {
		pg2md_nomem(&job->err);
		scan_state_free(s);
		return NULL;
	}
	if (!scan_start(s)) {
		scan_state_free(s);
		return NULL;
	}
	return (copyscan_reader *)s;
}

duckdb_data_chunk
copyscan_new_chunk(const copyscan_job *job, bool staged)
{
	int n = job->table->ncols;
	duckdb_logical_type *types = xcalloc((size_t)(n > 0 ? n : 1), sizeof(duckdb_logical_type));
	bool whole = types != NULL;
	if (!types)
		return NULL;
	for (int i = 0; i < n; i++)
		whole = (types[i] = scan_logical_type(&job->table->cols[i], staged)) != NULL && whole;
	duckdb_data_chunk chunk = whole ? duckdb_create_data_chunk(types, (idx_t)n) : NULL;
	for (int i = 0; i < n; i++)
		if (types[i])
			duckdb_destroy_logical_type(&types[i]);
	free(types);
	return chunk;
}

pg2md_code
copyscan_reader_fill(copyscan_reader *r, duckdb_data_chunk chunk, int64_t *bytes, bool *done)
{
	scan_state *s = (scan_state *)r;
	if (!chunk) {
		/* copyscan_new_chunk ran out of memory */
		*bytes = 0;
		*done = s->done = true;
		return pg2md_nomem(&s->job->err);
	}
	return scan_fill(s, chunk, bytes, done);
}

void
copyscan_reader_end(copyscan_reader *r)
{
	if (r)
		scan_state_free((scan_state *)r);
}

pg2md_code
copyscan_register(duckdb_connection con, copyscan_registry *reg, pg2md_error *err)
{
	duckdb_table_function tf = duckdb_create_table_function();
	duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
	duckdb_table_function_set_name(tf, "pg2md_scan");
	duckdb_table_function_add_parameter(tf, bigint);
	duckdb_destroy_logical_type(&bigint);
	duckdb_table_function_set_extra_info(tf, reg, NULL);
	duckdb_table_function_set_bind(tf, scan_bind);
	duckdb_table_function_set_init(tf, scan_init);
	duckdb_table_function_set_function(tf, scan_func);
	duckdb_state st = duckdb_register_table_function(con, tf);
	duckdb_destroy_table_function(&tf);
	if (st != DuckDBSuccess)
		return pg2md_fail(err, PG2MD_ERR_RUN, "could not register the COPY scan with DuckDB");
	return PG2MD_OK;
}

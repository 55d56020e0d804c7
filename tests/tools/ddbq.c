/*
 * ddbq.c — a tiny DuckDB query tool for tests, the demo and the benchmark (there is no duckdb
 * CLI on the build machines).
 *
 *   ddbq [--rw] FILE.duckdb SQL [SQL ...]
 *
 * Opens FILE (read-only unless --rw comes first; ":memory:" is always read-write), runs every
 * statement of every SQL argument in order ("-" reads the SQL text from standard input), and
 * prints the rows of each statement that returns rows as tab-separated lines in PostgreSQL's
 * COPY text format: NULL is \N, and backslash, tab, newline, carriage return, backspace, form
 * feed and vertical tab inside values are written \\ \t \n \r \b \f \v.  So a query run
 * through `psql -c "COPY (…) TO STDOUT"` and the same query run through ddbq print the same
 * bytes for the same values.
 *
 * Values are DuckDB's own text form: a SELECT whose columns are not all VARCHAR is run as
 * SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (<the statement>), and rows are streamed chunk by
 * chunk (exact bytes, bounded memory).  Other statements that return rows (PRAGMA, CALL,
 * INSERT … RETURNING) may only return booleans, numbers and strings; wrap anything else in a
 * SELECT (e.g. FROM pragma_table_info('t')).
 *
 * Exit status: 0 success, 1 a statement failed (DuckDB's message on stderr), 2 usage error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duckdb.h"

static void
usage(void)
{
	fprintf(stderr, "usage: ddbq [--rw] FILE.duckdb|:memory: SQL [SQL ...]   (SQL \"-\" reads stdin)\n");
	exit(2);
}

/* Writes one value in COPY text format. */
static void
put_escaped(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char oct[5];
		switch (c) {
		case '\\': esc = "\\\\"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\v': esc = "\\v"; break;
		case '\0': snprintf(oct, sizeof oct, "\\%03o", c); esc = oct; break;
		default: continue;
		}
		if (i > start)
			fwrite(s + start, 1, i - start, stdout);
		fputs(esc, stdout);
		start = i + 1;
	}
	if (n > start)
		fwrite(s + start, 1, n - start, stdout);
}

static char *
read_stdin(void)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fprintf(stderr, "ddbq: out of memory\n");
		exit(1);
	}
	for (;;) {
		if (cap - len < 4096) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				fprintf(stderr, "ddbq: out of memory\n");
				exit(1);
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, stdin);
		len += got;
		if (got == 0)
			break;
	}
	buf[len] = '\0';
	return buf;
}

/* Streams an all-VARCHAR result chunk by chunk. */
static void
print_varchar_chunks(duckdb_result *res)
{
	idx_t ncol = duckdb_column_count(res);
	duckdb_data_chunk chunk;
	while ((chunk = duckdb_fetch_chunk(*res)) != NULL) {
		idx_t nrow = duckdb_data_chunk_get_size(chunk);
		duckdb_string_t *data[ncol ? ncol : 1];
		uint64_t *valid[ncol ? ncol : 1];
		for (idx_t c = 0; c < ncol; c++) {
			duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
			data[c] = (duckdb_string_t *)duckdb_vector_get_data(v);
			valid[c] = duckdb_vector_get_validity(v);
		}
		for (idx_t r = 0; r < nrow; r++) {
			for (idx_t c = 0; c < ncol; c++) {
				if (c)
					fputc('\t', stdout);
				if (!duckdb_validity_row_is_valid(valid[c], r)) {
					fputs("\\N", stdout);
					continue;
				}
				duckdb_string_t *s = &data[c][r];
				put_escaped(duckdb_string_t_data(s), duckdb_string_t_length(*s));
			}
			fputc('\n', stdout);
		}
		duckdb_destroy_data_chunk(&chunk);
	}
}

/* Shortest "%.Ng" text that reads back as the same double. */
static void
put_double(double d)
{
	char buf[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, d);
		if (strtod(buf, NULL) == d || d != d)
			break;
	}
	fputs(buf, stdout);
}

/*
 * Prints a result of primitive column types chunk by chunk.  Used only for statements that
 * cannot be wrapped in a SELECT (PRAGMA, CALL, INSERT … RETURNING, …): every SELECT is
 * converted to VARCHAR by DuckDB itself.  Returns false (error printed) on a type it cannot
 * print.
 */
static bool
print_primitive_chunks(duckdb_result *res)
{
	idx_t ncol = duckdb_column_count(res);
	for (idx_t c = 0; c < ncol; c++) {
		switch (duckdb_column_type(res, c)) {
		case DUCKDB_TYPE_BOOLEAN: case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT:
		case DUCKDB_TYPE_INTEGER: case DUCKDB_TYPE_BIGINT: case DUCKDB_TYPE_UTINYINT:
		case DUCKDB_TYPE_USMALLINT: case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT:
		case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_DOUBLE: case DUCKDB_TYPE_VARCHAR:
			break;
		default:
			fprintf(stderr, "ddbq: cannot print column \"%s\" of this statement: its type is not "
					"primitive; select it through a SELECT statement instead\n",
				duckdb_column_name(res, c));
			return false;
		}
	}
	duckdb_data_chunk chunk;
	while ((chunk = duckdb_fetch_chunk(*res)) != NULL) {
		idx_t nrow = duckdb_data_chunk_get_size(chunk);
		for (idx_t r = 0; r < nrow; r++) {
			for (idx_t c = 0; c < ncol; c++) {
				duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
				void *d = duckdb_vector_get_data(v);
				if (c)
					fputc('\t', stdout);
				if (!duckdb_validity_row_is_valid(duckdb_vector_get_validity(v), r)) {
					fputs("\\N", stdout);
					continue;
				}
				switch (duckdb_column_type(res, c)) {
				case DUCKDB_TYPE_BOOLEAN: fputs(((bool *)d)[r] ? "true" : "false", stdout); break;
				case DUCKDB_TYPE_TINYINT: printf("%d", ((int8_t *)d)[r]); break;
				case DUCKDB_TYPE_SMALLINT: printf("%d", ((int16_t *)d)[r]); break;
				case DUCKDB_TYPE_INTEGER: printf("%d", ((int32_t *)d)[r]); break;
				case DUCKDB_TYPE_BIGINT: printf("%lld", (long long)((int64_t *)d)[r]); break;
				case DUCKDB_TYPE_UTINYINT: printf("%u", ((uint8_t *)d)[r]); break;
				case DUCKDB_TYPE_USMALLINT: printf("%u", ((uint16_t *)d)[r]); break;
				case DUCKDB_TYPE_UINTEGER: printf("%u", ((uint32_t *)d)[r]); break;
				case DUCKDB_TYPE_UBIGINT: printf("%llu", (unsigned long long)((uint64_t *)d)[r]); break;
				case DUCKDB_TYPE_FLOAT: put_double(((float *)d)[r]); break;
				case DUCKDB_TYPE_DOUBLE: put_double(((double *)d)[r]); break;
				default: {
					duckdb_string_t *s = &((duckdb_string_t *)d)[r];
					put_escaped(duckdb_string_t_data(s), duckdb_string_t_length(*s));
				}
				}
			}
			fputc('\n', stdout);
		}
		duckdb_destroy_data_chunk(&chunk);
	}
	return true;
}

/*
 * Splits SQL text at top-level semicolons (outside quotes, dollar quotes and comments).
 * Returns the number of pieces stored in out[] (each malloc'ed, trimmed, non-empty); at most
 * max pieces, -1 if there are more.
 */
static int
split_sql(const char *sql, char **out, int max)
{
	int n = 0;
	size_t len = strlen(sql), start = 0, i = 0;
	while (i <= len) {
		char c = sql[i];
		if (c == '\'' || c == '"') {
			bool bs = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
			for (i++; i < len; i++) {
				if (bs && sql[i] == '\\') { i++; continue; }
				if (sql[i] == c) {
					if (sql[i + 1] == c) { i++; continue; }
					break;
				}
			}
			i++;
			continue;
		}
		if (c == '-' && sql[i + 1] == '-') {
			while (i < len && sql[i] != '\n')
				i++;
			continue;
		}
		if (c == '/' && sql[i + 1] == '*') {
			int depth = 1;
			for (i += 2; i < len && depth > 0; i++) {
				if (sql[i] == '/' && sql[i + 1] == '*') { depth++; i++; }
				else if (sql[i] == '*' && sql[i + 1] == '/') { depth--; i++; }
			}
			continue;
		}
		if (c == '$') {
			size_t j = i + 1;
			while (j < len && (sql[j] == '_' || (sql[j] >= 'a' && sql[j] <= 'z') ||
					   (sql[j] >= 'A' && sql[j] <= 'Z') || (j > i + 1 && sql[j] >= '0' && sql[j] <= '9')))
				j++;
			if (j < len && sql[j] == '$' && (i == 0 || !(sql[i - 1] == '_' || (sql[i - 1] >= '0' && sql[i - 1] <= '9') ||
								   (sql[i - 1] >= 'a' && sql[i - 1] <= 'z') || (sql[i - 1] >= 'A' && sql[i - 1] <= 'Z')))) {
				size_t taglen = j - i + 1;
				const char *end = NULL;
				for (size_t k = j + 1; k + taglen <= len; k++)
					if (memcmp(sql + k, sql + i, taglen) == 0) { end = sql + k; break; }
				i = end ? (size_t)(end - sql) + taglen : len;
				continue;
			}
		}
		if (c == ';' || c == '\0') {
			size_t a = start, b = i;
			while (a < b && strchr(" \t\r\n\f\v", sql[a]))
				a++;
			while (b > a && strchr(" \t\r\n\f\v", sql[b - 1]))
				b--;
			if (b > a) {
				if (n == max)
					return -1;
				out[n] = malloc(b - a + 1);
				if (!out[n]) {
					fprintf(stderr, "ddbq: out of memory\n");
					exit(1);
				}
				memcpy(out[n], sql + a, b - a);
				out[n][b - a] = '\0';
				n++;
			}
			start = i + 1;
		}
		i++;
	}
	return n;
}

/* Prepares `SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (text)`, or returns NULL. */
static duckdb_prepared_statement
prepare_as_varchar(duckdb_connection con, const char *text)
{
	static const char head[] = "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (\n";
	static const char tail[] = "\n)";
	size_t n = strlen(text);
	char *sql = malloc(sizeof head + n + sizeof tail);
	if (!sql)
		return NULL;
	memcpy(sql, head, sizeof head - 1);
	memcpy(sql + sizeof head - 1, text, n);
	memcpy(sql + sizeof head - 1 + n, tail, sizeof tail);
	duckdb_prepared_statement ps = NULL;
	if (duckdb_prepare(con, sql, &ps) == DuckDBError) {
		duckdb_destroy_prepare(&ps);
		ps = NULL;
	}
	free(sql);
	return ps;
}

static bool
all_varchar(duckdb_prepared_statement ps)
{
	idx_t ncol = duckdb_prepared_statement_column_count(ps);
	for (idx_t c = 0; c < ncol; c++)
		if (duckdb_prepared_statement_column_type(ps, c) != DUCKDB_TYPE_VARCHAR)
			return false;
	return true;
}

/* Executes one prepared statement and prints its rows; false (error printed) on failure. */
static bool
execute(duckdb_connection con, duckdb_prepared_statement ps, const char *text)
{
	duckdb_prepared_statement wrapped = NULL;
	if (!all_varchar(ps) && text && duckdb_prepared_statement_type(ps) == DUCKDB_STATEMENT_TYPE_SELECT)
		wrapped = prepare_as_varchar(con, text);
	if (wrapped)
		ps = wrapped;
	bool streaming = all_varchar(ps);

	duckdb_pending_result pending = NULL;
	duckdb_state st = streaming ? duckdb_pending_prepared_streaming(ps, &pending)
				    : duckdb_pending_prepared(ps, &pending);
	bool ok = true;
	if (st == DuckDBError) {
		fprintf(stderr, "ddbq: %s\n", pending ? duckdb_pending_error(pending) : "cannot execute statement");
		ok = false;
	} else {
		duckdb_result res;
		if (duckdb_execute_pending(pending, &res) == DuckDBError) {
			fprintf(stderr, "ddbq: %s\n", duckdb_result_error(&res));
			ok = false;
		} else if (duckdb_result_return_type(res) == DUCKDB_RESULT_TYPE_QUERY_RESULT) {
			bool varchar = true;
			for (idx_t c = 0; c < duckdb_column_count(&res); c++)
				if (duckdb_column_type(&res, c) != DUCKDB_TYPE_VARCHAR)
					varchar = false;
			if (varchar)
				print_varchar_chunks(&res);
			else
				ok = print_primitive_chunks(&res);
			/* a streaming result reports errors raised while fetching here */
			const char *err = duckdb_result_error(&res);
			if (ok && err && *err) {
				fprintf(stderr, "ddbq: %s\n", err);
				ok = false;
			}
		}
		duckdb_destroy_result(&res);
	}
	duckdb_destroy_pending(&pending);
	duckdb_destroy_prepare(&wrapped);
	return ok;
}

#define MAX_STATEMENTS 4096

/* Runs every statement of one SQL text; returns false (error printed) on failure. */
static bool
run_sql(duckdb_connection con, const char *sql)
{
	duckdb_extracted_statements stmts = NULL;
	idx_t n = duckdb_extract_statements(con, sql, &stmts);
	if (n == 0) {
		/* the message belongs to stmts: print it before they are destroyed */
		const char *err = duckdb_extract_statements_error(stmts);
		bool failed = err != NULL;
		if (failed)
			fprintf(stderr, "ddbq: %s\n", err);
		duckdb_destroy_extracted(&stmts);
		return !failed; /* no error: empty input */
	}
	/* our own split gives each statement's text, used to wrap SELECTs; trusted only when it
	 * agrees with DuckDB's parser on the number of statements */
	static char *texts[MAX_STATEMENTS];
	int ntext = split_sql(sql, texts, MAX_STATEMENTS);
	bool have_text = ntext >= 0 && (idx_t)ntext == n;

	bool ok = true;
	for (idx_t i = 0; i < n && ok; i++) {
		duckdb_prepared_statement ps = NULL;
		if (duckdb_prepare_extracted_statement(con, stmts, i, &ps) == DuckDBError) {
			fprintf(stderr, "ddbq: %s\n", duckdb_prepare_error(ps));
			ok = false;
		} else {
			ok = execute(con, ps, have_text ? texts[i] : NULL);
		}
		duckdb_destroy_prepare(&ps);
	}
	for (int i = 0; i < ntext; i++)
		free(texts[i]);
	duckdb_destroy_extracted(&stmts);
	return ok;
}

int
main(int argc, char **argv)
{
	int argi = 1;
	bool rw = false;
	if (argi < argc && strcmp(argv[argi], "--rw") == 0) {
		rw = true;
		argi++;
	}
	if (argc - argi < 2)
		usage();
	const char *path = argv[argi++];
	if (strcmp(path, ":memory:") == 0 || path[0] == '\0')
		rw = true;

	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

	duckdb_config cfg = NULL;
	if (duckdb_create_config(&cfg) == DuckDBError) {
		fprintf(stderr, "ddbq: cannot create configuration\n");
		return 1;
	}
	if (!rw)
		duckdb_set_config(cfg, "access_mode", "READ_ONLY");
	duckdb_database db = NULL;
	char *err = NULL;
	if (duckdb_open_ext(strcmp(path, ":memory:") == 0 ? NULL : path, &db, cfg, &err) == DuckDBError) {
		fprintf(stderr, "ddbq: cannot open \"%s\": %s\n", path, err ? err : "unknown error");
		duckdb_free(err);
		duckdb_destroy_config(&cfg);
		return 1;
	}
	duckdb_destroy_config(&cfg);
	duckdb_connection con = NULL;
	if (duckdb_connect(db, &con) == DuckDBError) {
		fprintf(stderr, "ddbq: cannot connect to \"%s\"\n", path);
		duckdb_close(&db);
		return 1;
	}

	int rc = 0;
	for (; argi < argc; argi++) {
		char *text = NULL;
		const char *sql = argv[argi];
		if (strcmp(sql, "-") == 0)
			sql = text = read_stdin();
		bool ok = run_sql(con, sql);
		free(text);
		if (!ok) {
			rc = 1;
			break;
		}
	}
	if (fflush(stdout) != 0) {
		perror("ddbq: stdout");
		rc = 1;
	}
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return rc;
}

/*
 * cmd_verify.c — `pg2md verify`: compares every table, source against destination
 * (pg2md_verify), and prints the outcome as text or JSON.
 *
 * Exit codes: 0 every table equal; 1 a table differs (or is missing in the
 * destination) or a checksum query failed; 2 usage or configuration;
 * 3 a connection could not be made.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *
filter_note(const pg2md_verify_table *r)
{
	if (r->filtered && r->windowed)
		return " (source filtered by where and the incremental window)";
	if (r->filtered)
		return " (source filtered by where)";
	if (r->windowed)
		return " (source filtered by the incremental window)";
	return "";
}

static void
print_text(const pg2md_pipeline_info *pi, const pg2md_verify_info *rep)
{
	int namew = 5, ok = 0, n = rep->ntables;
	long long src_total = 0, dst_total = 0;
	const char *dest_where = rep->destination;
	const pg2md_verify_table *rs = rep->tables;

	printf("pg2md verify: schema \"%s\" (PostgreSQL) against dataset \"%s\" (%s)\n\n", pi->schema,
	       pi->dataset, dest_where);
	for (int i = 0; i < n; i++)
		if ((int)strlen(rs[i].name) + 2 > namew)
			namew = (int)strlen(rs[i].name) + 2;
	for (int i = 0; i < n; i++) {
		const pg2md_verify_table *r = &rs[i];
		char *quoted = cli_asprintf("\"%s\"", r->name);
		src_total += r->source_rows;
		if (r->dest_rows > 0)
			dst_total += r->dest_rows;
		if (r->equal) {
			ok++;
			if (!r->values_compared)
				printf("  %-10s %-*s %lld rows (transformed: rows counted, values not compared)%s\n", "ok", namew,
				       quoted, r->source_rows, filter_note(r));
			else
				printf("  %-10s %-*s %lld rows, checksum %s%s\n", "ok", namew, quoted, r->source_rows, r->source_checksum,
				       filter_note(r));
		} else {
			printf("  %-10s %-*s source %lld rows, checksum %s; destination ", "DIFFERENT", namew, quoted,
			       r->source_rows, r->source_checksum);
			if (r->dest_rows < 0)
				printf("missing\n");
			else
				printf("%lld rows, checksum %s\n", r->dest_rows, r->dest_checksum ? r->dest_checksum : "not computed");
			if (r->detail)
				printf("  %-10s %-*s DETAIL:  %s\n", "", namew, "", r->detail);
			if (strcmp(r->write_disposition, "append") == 0)
				printf("  %-10s %-*s NOTE:  write_disposition is \"append\": repeated runs add rows, so the "
				       "destination can legitimately hold more\n", "", namew, "");
			else if (r->incremental)
				printf("  %-10s %-*s NOTE:  the table is incremental: verify compares the source rows from the "
				       "cursor's initial value on; a replace table holds only the last run's rows\n", "", namew, "");
			if (!r->values_compared)
				printf("  %-10s %-*s NOTE:  a transform reshapes the rows: only the row counts are compared, "
				       "and a transform that filters rows makes them differ\n", "", namew, "");
		}
		free(quoted);
	}
	printf("\ntotal: %d table%s, %d ok, %d different; %lld rows at the source, %lld in the destination\n", n,
	       n == 1 ? "" : "s", ok, n - ok, src_total, dst_total);
}

static void
print_json(const pg2md_pipeline_info *pi, const pg2md_verify_info *rep)
{
	json_t *root = json_object(), *tables = json_array();
	int ok = 0, n = rep->ntables;
	long long src_total = 0, dst_total = 0;
	const char *dest_where = rep->destination;
	const pg2md_verify_table *rs = rep->tables;

	json_object_set_new(root, "schema", json_string(pi->schema));
	json_object_set_new(root, "dataset", json_string(pi->dataset));
	json_object_set_new(root, "destination", json_string(dest_where));
	for (int i = 0; i < n; i++) {
		const pg2md_verify_table *r = &rs[i];
		json_t *o = json_object(), *src = json_object(), *dst = json_object();
		json_object_set_new(o, "table", json_string(r->name));
		json_object_set_new(o, "destination_table", json_string(r->dest_name));
		json_object_set_new(o, "status", json_string(r->equal ? "ok" : "different"));
		json_object_set_new(o, "write_disposition", json_string(r->write_disposition));
		json_object_set_new(o, "filtered", json_boolean(r->filtered));
		json_object_set_new(o, "incremental_window", json_boolean(r->windowed));
		json_object_set_new(o, "compared", json_string(!r->values_compared ? "rows" : "rows and values"));
		json_object_set_new(src, "rows", json_integer(r->source_rows));
		json_object_set_new(src, "checksum", json_string(r->source_checksum));
		json_object_set_new(dst, "exists", json_boolean(r->dest_rows >= 0));
		json_object_set_new(dst, "rows", r->dest_rows >= 0 ? json_integer(r->dest_rows) : json_null());
		json_object_set_new(dst, "checksum", r->dest_checksum ? json_string(r->dest_checksum) : json_null());
		json_object_set_new(o, "source", src);
		json_object_set_new(o, "destination", dst);
		if (r->detail)
			json_object_set_new(o, "detail", json_string(r->detail));
		json_array_append_new(tables, o);
		ok += r->equal;
		src_total += r->source_rows;
		if (r->dest_rows > 0)
			dst_total += r->dest_rows;
	}
	json_object_set_new(root, "tables", tables);
	json_t *total = json_object();
	json_object_set_new(total, "tables", json_integer(n));
	json_object_set_new(total, "ok", json_integer(ok));
	json_object_set_new(total, "different", json_integer(n - ok));
	json_object_set_new(total, "source_rows", json_integer(src_total));
	json_object_set_new(total, "destination_rows", json_integer(dst_total));
	json_object_set_new(root, "total", total);
	json_object_set_new(root, "equal", json_boolean(ok == n));
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
	json_decref(root);
}

int
cmd_verify(cli_opts *opts)
{
	pg2md_pipeline *p;
	pg2md_err err;
	const pg2md_verify_info *rep;
	int code;

	if ((code = cli_no_args(opts, "verify")) != 0)
		return code;
	if (opts->lib.write_disposition || opts->lib.direct != -1) {
		fprintf(stderr, "pg2md verify: options --write-disposition, --direct and --staged apply to runs only\n"
				"Try \"pg2md verify --help\" for more information.\n");
		return EXIT_USAGE;
	}
	p = cli_open(opts, &code);
	if (!p)
		return code;
	if (pg2md_verify(p, &rep, &err) == PG2MD_SUCCESS) {
		if (opts->json)
			print_json(pg2md_describe(p), rep);
		else
			print_text(pg2md_describe(p), rep);
		fflush(stdout);
		if (rep->ndifferent) {
			cli_fail(&err, PG2MD_FAILED, "%d of %d table%s differ%s between source and destination",
				 rep->ndifferent, rep->ntables, rep->ntables == 1 ? "" : "s", rep->ndifferent == 1 ? "s" : "");
			if (!rep->dest_exists)
				cli_hint(&err, "the DuckDB file does not exist yet: run \"pg2md run\" first");
		}
	}
	if (err.status != PG2MD_SUCCESS)
		cli_print_error(&err);
	pg2md_close(p);
	return cli_exit_code(err.status);
}

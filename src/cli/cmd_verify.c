/*
 * cmd_verify.c — `pg2md verify`: compares every table, source against destination
 * (verify/verify.h), and prints the outcome as text or JSON.
 *
 * Exit codes: 0 every table equal; 1 a table differs (or is missing in the
 * destination) or a checksum query failed; 2 usage or configuration;
 * 3 a connection could not be made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "verify/verify.h"

static const char *
filter_note(const verify_result *r)
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
print_text(const pg2md_config *cfg, const verify_report *rep)
{
	int namew = 5, ok = 0, n = rep->ntables;
	long long src_total = 0, dst_total = 0;
	const char *dest_where = rep->destination;
	const verify_result *rs = rep->tables;

	printf("pg2md verify: schema \"%s\" (PostgreSQL) against dataset \"%s\" (%s)\n\n", cfg->schema,
	       cfg->dataset_name, dest_where);
	for (int i = 0; i < n; i++)
		if ((int)strlen(rs[i].name) + 2 > namew)
			namew = (int)strlen(rs[i].name) + 2;
	for (int i = 0; i < n; i++) {
		const verify_result *r = &rs[i];
		char *quoted = xasprintf("\"%s\"", r->name);
		src_total += r->src_rows;
		if (r->dst_rows > 0)
			dst_total += r->dst_rows;
		if (r->equal) {
			ok++;
			if (r->count_only)
				printf("  %-10s %-*s %lld rows (transformed: rows counted, values not compared)%s\n", "ok", namew,
				       quoted, r->src_rows, filter_note(r));
			else
				printf("  %-10s %-*s %lld rows, checksum %s%s\n", "ok", namew, quoted, r->src_rows, r->src_sum,
				       filter_note(r));
		} else {
			printf("  %-10s %-*s source %lld rows, checksum %s; destination ", "DIFFERENT", namew, quoted,
			       r->src_rows, r->src_sum);
			if (r->dst_rows < 0)
				printf("missing\n");
			else
				printf("%lld rows, checksum %s\n", r->dst_rows, r->dst_sum ? r->dst_sum : "not computed");
			if (r->problem)
				printf("  %-10s %-*s DETAIL:  %s\n", "", namew, "", r->problem);
			if (strcmp(r->disposition, "append") == 0)
				printf("  %-10s %-*s NOTE:  write_disposition is \"append\": repeated runs add rows, so the "
				       "destination can legitimately hold more\n", "", namew, "");
			else if (r->incremental)
				printf("  %-10s %-*s NOTE:  the table is incremental: verify compares the source rows from the "
				       "cursor's initial value on; a replace table holds only the last run's rows\n", "", namew, "");
			if (r->count_only)
				printf("  %-10s %-*s NOTE:  a transform reshapes the rows: only the row counts are compared, "
				       "and a transform that filters rows makes them differ\n", "", namew, "");
		}
		free(quoted);
	}
	printf("\ntotal: %d table%s, %d ok, %d different; %lld rows at the source, %lld in the destination\n", n,
	       n == 1 ? "" : "s", ok, n - ok, src_total, dst_total);
}

static void
print_json(const pg2md_config *cfg, const verify_report *rep)
{
	json_t *root = json_object(), *tables = json_array();
	int ok = 0, n = rep->ntables;
	long long src_total = 0, dst_total = 0;
	const char *dest_where = rep->destination;
	const verify_result *rs = rep->tables;

	json_object_set_new(root, "schema", json_string(cfg->schema));
	json_object_set_new(root, "dataset", json_string(cfg->dataset_name));
	json_object_set_new(root, "destination", json_string(dest_where));
	for (int i = 0; i < n; i++) {
		const verify_result *r = &rs[i];
		json_t *o = json_object(), *src = json_object(), *dst = json_object();
		json_object_set_new(o, "table", json_string(r->name));
		json_object_set_new(o, "destination_table", json_string(r->dest_name));
		json_object_set_new(o, "status", json_string(r->equal ? "ok" : "different"));
		json_object_set_new(o, "write_disposition", json_string(r->disposition));
		json_object_set_new(o, "filtered", json_boolean(r->filtered));
		json_object_set_new(o, "incremental_window", json_boolean(r->windowed));
		json_object_set_new(o, "compared", json_string(r->count_only ? "rows" : "rows and values"));
		json_object_set_new(src, "rows", json_integer(r->src_rows));
		json_object_set_new(src, "checksum", json_string(r->src_sum));
		json_object_set_new(dst, "exists", json_boolean(r->dst_rows >= 0));
		json_object_set_new(dst, "rows", r->dst_rows >= 0 ? json_integer(r->dst_rows) : json_null());
		json_object_set_new(dst, "checksum", r->dst_sum ? json_string(r->dst_sum) : json_null());
		json_object_set_new(o, "source", src);
		json_object_set_new(o, "destination", dst);
		if (r->problem)
			json_object_set_new(o, "detail", json_string(r->problem));
		json_array_append_new(tables, o);
		ok += r->equal;
		src_total += r->src_rows;
		if (r->dst_rows > 0)
			dst_total += r->dst_rows;
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
	pg2md_config *cfg;
	pg2md_error err;
	verify_report rep;
	int code;

	if (opts->nargs > 0) {
		fprintf(stderr, "pg2md verify: unexpected argument \"%s\"\n"
				"Try \"pg2md verify --help\" for more information.\n", opts->args[0]);
		return PG2MD_ERR_USAGE;
	}
	if (opts->flags.write_disposition || opts->flags.direct != -1) {
		fprintf(stderr, "pg2md verify: options --write-disposition, --direct and --staged apply to runs only\n"
				"Try \"pg2md verify --help\" for more information.\n");
		return PG2MD_ERR_USAGE;
	}
	cfg = cli_load_config(opts, &code);
	if (!cfg)
		return code;
	pg2md_error_init(&err);
	if (verify_run(cfg, &rep, &err) == PG2MD_OK) {
		if (opts->json)
			print_json(cfg, &rep);
		else
			print_text(cfg, &rep);
		fflush(stdout);
		if (rep.ndiff) {
			pg2md_fail(&err, PG2MD_ERR_RUN, "%d of %d table%s differ%s between source and destination", rep.ndiff,
				   rep.ntables, rep.ntables == 1 ? "" : "s", rep.ndiff == 1 ? "s" : "");
			if (!rep.dest_exists)
				pg2md_hint(&err, "the DuckDB file does not exist yet: run \"pg2md run\" first");
		}
	}
	code = err.code;
	if (pg2md_failed(&err))
		cli_print_error(&err);
	verify_report_release(&rep);
	pg2md_config_free(cfg);
	return code;
}

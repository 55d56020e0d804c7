/* types.c — PostgreSQL's types as decoders and DuckDB types (see types.h). */
#include "schema/types.h"

#include <stdlib.h>
#include <string.h>

bool
schema_scalar_dec(uint32_t oid, int32_t typmod, unsigned opts, pg2md_dec *dec, int *precision, int *scale)
{
	bool num_double = opts & SCHEMA_NUM_DOUBLE;
	switch (oid) {
	case BOOLOID: *dec = DEC_BOOL; return true;
	case INT2OID: *dec = DEC_INT2; return true;
	case INT4OID: *dec = DEC_INT4; return true;
	case INT8OID: *dec = DEC_INT8; return true;
	case OIDOID: *dec = DEC_OID; return true;
	case FLOAT4OID: *dec = DEC_FLOAT4; return true;
	case FLOAT8OID: *dec = DEC_FLOAT8; return true;
	case NUMERICOID:
		if (typmod >= 4) {
			int32_t tm = typmod - 4;
			int p = (tm >> 16) & 0xffff;
			int s = ((tm & 0x7ff) ^ 1024) - 1024; /* 11-bit signed scale (PostgreSQL 15) */
			if (p >= 1 && p <= 38 && s >= 0 && s <= p) {
				*dec = DEC_NUMERIC_DECIMAL;
				*precision = p;
				*scale = s;
				return true;
			}
		}
		/* Unconstrained or wider than DECIMAL(38): exact text, or the nearest double on request. */
		*dec = num_double ? DEC_NUMERIC_DOUBLE : DEC_NUMERIC_TEXT;
		return true;
	case TEXTOID: case VARCHAROID: case NAMEOID: case JSONOID: *dec = DEC_TEXT; return true;
	case BPCHAROID: *dec = opts & SCHEMA_CHAR_KEEP ? DEC_TEXT : DEC_BPCHAR; return true;
	case CHAROID: *dec = DEC_CHAR; return true;
	case JSONBOID: *dec = DEC_JSONB; return true;
	case BYTEAOID: *dec = DEC_BYTEA; return true;
	case DATEOID: *dec = DEC_DATE; return true;
	case TIMEOID: *dec = DEC_TIME; return true;
	case TIMETZOID: *dec = DEC_TIMETZ; return true;
	case TIMESTAMPOID: *dec = DEC_TIMESTAMP; return true;
	case TIMESTAMPTZOID: *dec = DEC_TIMESTAMPTZ; return true;
	case INTERVALOID: *dec = DEC_INTERVAL; return true;
	case UUIDOID: *dec = DEC_UUID; return true;
	default: return false;
	}
}

void
schema_scalar_duck(pg2md_buf *b, pg2md_dec dec, uint32_t oid, int precision, int scale, bool nested)
{
	switch (dec) {
	case DEC_BOOL: buf_puts(b, "BOOLEAN"); break;
	case DEC_INT2: buf_puts(b, "SMALLINT"); break;
	case DEC_INT4: buf_puts(b, "INTEGER"); break;
	case DEC_INT8: buf_puts(b, "BIGINT"); break;
	case DEC_OID: buf_puts(b, "UINTEGER"); break;
	case DEC_FLOAT4: buf_puts(b, "FLOAT"); break;
	case DEC_FLOAT8: case DEC_NUMERIC_DOUBLE: buf_puts(b, "DOUBLE"); break;
	case DEC_NUMERIC_DECIMAL: buf_printf(b, "DECIMAL(%d,%d)", precision, scale); break;
	case DEC_TEXT: buf_puts(b, oid == JSONOID ? "JSON" : "VARCHAR"); break;
	case DEC_JSONB: buf_puts(b, "JSON"); break;
	case DEC_BYTEA: buf_puts(b, "BLOB"); break;
	case DEC_DATE: buf_puts(b, "DATE"); break;
	case DEC_TIME: buf_puts(b, "TIME"); break;
	case DEC_TIMETZ: buf_puts(b, nested ? "TIME WITH TIME ZONE" : "TIMETZ"); break;
	case DEC_TIMESTAMP: buf_puts(b, "TIMESTAMP"); break;
	case DEC_TIMESTAMPTZ: buf_puts(b, nested ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMPTZ"); break;
	case DEC_INTERVAL: buf_puts(b, "INTERVAL"); break;
	case DEC_UUID: buf_puts(b, "UUID"); break;
	default: buf_puts(b, "VARCHAR"); break; /* DEC_BPCHAR, DEC_CHAR, DEC_NUMERIC_TEXT */
	}
}

/* DuckDB 1.4's keywords (SELECT keyword_name FROM duckdb_keywords(), byte order): DuckDB
 * quotes a STRUCT field name that is one of them when it prints a type. */
static const char *const duck_keywords[] = {
	"abort", "absolute", "access", "action", "add", "admin", "after", "aggregate", "all", "also", 
	"alter", "always", "analyse", "analyze", "and", "anti", "any", "array", "as", "asc", "asof", 
	"assertion", "assignment", "asymmetric", "at", "attach", "attribute", "authorization", "backward", 
	"before", "begin", "between", "bigint", "binary", "bit", "boolean", "both", "by", "cache", "call", 
	"called", "cascade", "cascaded", "case", "cast", "catalog", "centuries", "century", "chain", 
	"char", "character", "characteristics", "check", "checkpoint", "class", "close", "cluster", 
	"coalesce", "collate", "collation", "column", "columns", "comment", "comments", "commit", 
	"committed", "compression", "concurrently", "configuration", "conflict", "connection", 
	"constraint", "constraints", "content", "continue", "conversion", "copy", "cost", "create", 
	"cross", "csv", "cube", "current", "cursor", "cycle", "data", "database", "day", "days", 
	"deallocate", "dec", "decade", "decades", "decimal", "declare", "default", "defaults", 
	"deferrable", "deferred", "definer", "delete", "delimiter", "delimiters", "depends", "desc", 
	"describe", "detach", "dictionary", "disable", "discard", "distinct", "do", "document", "domain", 
	"double", "drop", "each", "else", "enable", "encoding", "encrypted", "end", "enum", "error", 
	"escape", "event", "except", "exclude", "excluding", "exclusive", "execute", "exists", "explain", 
	"export", "export_state", "extension", "extensions", "external", "extract", "false", "family", 
	"fetch", "filter", "first", "float", "following", "for", "force", "foreign", "forward", "freeze", 
	"from", "full", "function", "functions", "generated", "glob", "global", "grant", "granted", 
	"group", "grouping", "grouping_id", "groups", "handler", "having", "header", "hold", "hour", 
	"hours", "identity", "if", "ignore", "ilike", "immediate", "immutable", "implicit", "import", "in", 
	"include", "including", "increment", "index", "indexes", "inherit", "inherits", "initially", 
	"inline", "inner", "inout", "input", "insensitive", "insert", "install", "instead", "int", 
	"integer", "intersect", "interval", "into", "invoker", "is", "isnull", "isolation", "join", "json", 
	"key", "label", "lambda", "language", "large", "last", "lateral", "leading", "leakproof", "left", 
	"level", "like", "limit", "listen", "load", "local", "location", "lock", "locked", "logged", 
	"macro", "map", "mapping", "match", "matched", "materialized", "maxvalue", "merge", "method", 
	"microsecond", "microseconds", "millennia", "millennium", "millisecond", "milliseconds", "minute", 
	"minutes", "minvalue", "mode", "month", "months", "move", "name", "names", "national", "natural", 
	"nchar", "new", "next", "no", "none", "not", "nothing", "notify", "notnull", "nowait", "null", 
	"nullif", "nulls", "numeric", "object", "of", "off", "offset", "oids", "old", "on", "only", 
	"operator", "option", "options", "or", "order", "ordinality", "others", "out", "outer", "over", 
	"overlaps", "overlay", "overriding", "owned", "owner", "parallel", "parser", "partial", 
	"partition", "partitioned", "passing", "password", "percent", "persistent", "pivot", 
	"pivot_longer", "pivot_wider", "placing", "plans", "policy", "position", "positional", "pragma", 
	"preceding", "precision", "prepare", "prepared", "preserve", "primary", "prior", "privileges", 
	"procedural", "procedure", "program", "publication", "qualify", "quarter", "quarters", "quote", 
	"range", "read", "real", "reassign", "recheck", "recursive", "ref", "references", "referencing", 
	"refresh", "reindex", "relative", "release", "rename", "repeatable", "replace", "replica", "reset", 
	"respect", "restart", "restrict", "returning", "returns", "revoke", "right", "role", "rollback", 
	"rollup", "row", "rows", "rule", "sample", "savepoint", "schema", "schemas", "scope", "scroll", 
	"search", "second", "seconds", "secret", "security", "select", "semi", "sequence", "sequences", 
	"serializable", "server", "session", "set", "setof", "sets", "share", "show", "similar", "simple", 
	"skip", "smallint", "snapshot", "some", "sorted", "source", "sql", "stable", "standalone", "start", 
	"statement", "statistics", "stdin", "stdout", "storage", "stored", "strict", "strip", "struct", 
	"subscription", "substring", "summarize", "symmetric", "sysid", "system", "table", "tables", 
	"tablesample", "tablespace", "target", "temp", "template", "temporary", "text", "then", "ties", 
	"time", "timestamp", "to", "trailing", "transaction", "transform", "treat", "trigger", "trim", 
	"true", "truncate", "trusted", "try_cast", "type", "types", "unbounded", "uncommitted", 
	"unencrypted", "union", "unique", "unknown", "unlisten", "unlogged", "unpack", "unpivot", "until", 
	"update", "use", "user", "using", "vacuum", "valid", "validate", "validator", "value", "values", 
	"varchar", "variable", "variadic", "varying", "verbose", "version", "view", "views", "virtual", 
	"volatile", "week", "weeks", "when", "where", "whitespace", "window", "with", "within", "without", 
	"work", "wrapper", "write", "xml", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", 
	"xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable", "year", 
	"years", "yes", "zone"
};

static int
kw_cmp(const void *a, const void *b)
{
	return strcmp(a, *(const char *const *)b);
}

/* A STRUCT field name as DuckDB prints it: bare when it is a plain identifier, else quoted. */
static void
duck_field_name(pg2md_buf *b, const char *name)
{
	bool plain = name[0] != '\0' && !(name[0] >= '0' && name[0] <= '9');
	char low[64];
	size_t n = strlen(name);
	for (size_t i = 0; i < n && plain; i++) {
		char ch = name[i];
		plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
	}
	if (plain && n < sizeof(low)) {
		for (size_t i = 0; i <= n; i++)
			low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
		if (bsearch(low, duck_keywords, sizeof(duck_keywords) / sizeof(duck_keywords[0]), sizeof(char *), kw_cmp))
			plain = false;
	}
	if (plain)
		buf_puts(b, name);
	else
		buf_ident(b, name);
}

void
schema_type_string(pg2md_buf *b, const pg2md_type *t, bool nested)
{
	switch (t->dec) {
	case DEC_LIST:
		schema_type_string(b, t->elem, true);
		for (int i = 0; i < t->ndim; i++)
			buf_puts(b, "[]");
		break;
	case DEC_STRUCT:
		buf_puts(b, "STRUCT(");
		for (int i = 0; i < t->nfields; i++) {
			if (i)
				buf_puts(b, ", ");
			duck_field_name(b, t->field_names[i]);
			buf_putc(b, ' ');
			schema_type_string(b, &t->fields[i], true);
		}
		buf_putc(b, ')');
		break;
	case DEC_ENUM:
		buf_puts(b, "ENUM(");
		for (int i = 0; i < t->nlabels; i++) {
			if (i)
				buf_puts(b, ", ");
			buf_literal(b, t->labels[i]);
		}
		buf_putc(b, ')');
		break;
	default:
		schema_scalar_duck(b, t->dec, t->oid, t->precision, t->scale, nested);
		break;
	}
}

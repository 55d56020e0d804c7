#!/usr/bin/env bash
# layers.sh [SRC] — the layering rules of docs/internals/architecture.md, checked on the
# #include lines of the source tree (SRC: the repository, default the one this script is in).
# Cheap and blunt: direct includes only, one line per violation, exit 1 if there is any.
#
#   include/  pg2md.h includes C headers only (no libpq, no DuckDB types cross the interface)
#   cli/      pg2md.h and its own headers; no libpq, no DuckDB
#   util/     util/ only                      config/  config/, util/ (and libpq's parser)
#   schema/   schema/, config/, util/; no libpq, no DuckDB
#   source/   (the reader) source/, schema/, config/, util/; no DuckDB
#   xfer/     xfer/, schema/, source/pgconn.h, util/ (not the stage, not the configuration)
#   dest/     (the writer) dest/, schema/, config/, util/, pg2md.h; no libpq
#   api/      everything below, nothing of cli/
#   stage/, verify/, cdc/  nothing of api/ or cli/ (verify/ and stage/ nothing of cdc/ either)
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2
bad=0

# violation FILE:LINE TEXT RULE
violation() {
	echo "$1: $2  -- $3"
	bad=1
}

# check DIR RULE ALLOWED_QUOTED_REGEX FORBIDDEN_ANGLE_REGEX
#   every #include "x" in DIR must match ALLOWED_QUOTED_REGEX (an ERE on x), and no #include <x>
#   may match FORBIDDEN_ANGLE_REGEX ("" : none forbidden)
check() {
	local dir=$1 rule=$2 allowed=$3 forbidden=$4 f line n text target
	[ -d "$dir" ] || { echo "layers.sh: no folder $root/$dir" >&2; bad=1; return; }
	while IFS= read -r f; do
		while IFS=: read -r n text; do
			if [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
				target=${BASH_REMATCH[1]}
				[[ $target =~ $allowed ]] || violation "$f:$n" "$text" "$rule"
			elif [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
				target=${BASH_REMATCH[1]}
				if [ -n "$forbidden" ] && [[ $target =~ $forbidden ]]; then
					violation "$f:$n" "$text" "$rule"
				fi
			fi
		done < <(grep -nE '^[[:space:]]*#[[:space:]]*include' "$f")
	done < <(find "$dir" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) | sort)
}

pq='^(libpq-fe\.h|libpq/|postgres)'
duck='^duckdb'
both="$pq|$duck"
# cli/: its own headers are the files next to it
cli_own=$(cd src/cli && ls -- *.h 2>/dev/null | sed 's/\./\\./g' | paste -sd'|')
check include "include/ is the public interface: C headers only" '^$' "$both|^jansson|^toml"
check src/cli "cli/ includes nothing but pg2md.h and its own headers" "^(pg2md\.h|cli/.*|${cli_own:-NONE})$" "$both|^toml"
check src/util "util/ includes nothing above it" '^util/' "$both|^jansson|^toml"
check src/config "config/ includes nothing above it (libpq for its connection-string parser only)" '^(config|util)/' "$duck|^jansson"
check src/schema "schema/ (the table model) includes neither side" '^(schema|config|util)/' "$both"
check src/source "source/ (the reader) includes no DuckDB, nothing of xfer/, dest/ or above" '^(source|schema|config|util)/' "$duck"
check src/xfer "xfer/ depends on neither the stage nor the configuration" '^(xfer/|schema/|util/|source/pgconn\.h$)' ''
check src/dest "dest/ (the writer) includes no libpq, nothing of source/, xfer/ or above" '^(dest/|schema/|config/|util/|pg2md\.h$)' "$pq"
check src/stage "stage/ reaches into neither the interface nor follow" '^(stage|source|xfer|dest|schema|config|util)/|^pg2md\.h$' ''
check src/verify "verify/ reaches into neither the interface nor follow" '^(verify|stage|source|xfer|dest|schema|config|util)/' ''
check src/api "api/ is below the command line" '^(api|cdc|verify|stage|source|xfer|dest|schema|config|util)/|^pg2md\.h$' ''
check src/cdc "cdc/ reaches into neither the interface nor the command line" '^(cdc|stage|source|xfer|dest|schema|config|util)/' ''

if [ "$bad" != 0 ]; then
	echo "layers.sh: include rules broken (docs/internals/architecture.md, \"The rule of each folder\")"
	exit 1
fi
echo "layers.sh: every folder keeps its include rules"

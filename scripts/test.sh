#!/usr/bin/env bash
# test.sh BUILD — run every test: unit tests, then end-to-end tests against one throwaway
# PostgreSQL cluster started here and stopped whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
src=$(pwd)

cluster=$(mktemp -d /tmp/pg2md-test.XXXXXX)
trap '"$src/tests/lib/cluster.sh" stop "$cluster"' EXIT
trap 'exit 130' INT TERM
"$src/tests/lib/cluster.sh" start "$cluster" >/dev/null
# shellcheck disable=SC1091
. "$cluster/env"
export PG2MD_SRC=$src
cd "$build"
ctest --output-on-failure -j "${PG2MD_TEST_JOBS:-2}" ${CTEST_ARGS:-}

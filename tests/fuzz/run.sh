#!/usr/bin/env bash
# run.sh NAME SECONDS ARTIFACT_DIR [BUILD_DIR] — run the libFuzzer target NAME (fuzz_copydec, fuzz_pgoutput,
# fuzz_config) for SECONDS on a copy of tests/fuzz/corpus/<name> (new inputs it finds stay out of
# the repository; keep the interesting ones by hand), with its dictionary if there is one.  A
# crash, hang, leak or sanitizer report stops it with a non-zero status and writes the input to
# ARTIFACT_DIR/NAME-crash-… (or -leak-, -timeout-).  BUILD_DIR defaults to build-fuzz.
# PG2MD_FUZZ_SEED=N fixes libFuzzer's seed and PG2MD_FUZZ_RUNS=N the number of inputs (the test
# suite sets both).
# Used by `make fuzz` and by scripts/test.sh's sanitizer stage.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
f=${1:?usage: run.sh NAME SECONDS ARTIFACT_DIR [BUILD_DIR]}
seconds=${2:?usage: run.sh NAME SECONDS ARTIFACT_DIR [BUILD_DIR]}
artifacts=${3:?usage: run.sh NAME SECONDS ARTIFACT_DIR [BUILD_DIR]}
bin=${4:-$src/build-fuzz}/$f
[ -x "$bin" ] || { echo "run.sh: $bin not built (make fuzz builds it)" >&2; exit 2; }
mkdir -p "$artifacts"

w=$(mktemp -d "${TMPDIR:-/tmp}/pg2md-$f.XXXXXX")
trap 'rm -rf "$w"' EXIT
cp -r "$src/tests/fuzz/corpus/${f#fuzz_}" "$w/corpus"
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	-artifact_prefix="$artifacts/$f-")
[ -f "$src/tests/fuzz/$f.dict" ] && args+=(-dict="$src/tests/fuzz/$f.dict")
# PG2MD_FUZZ_SEED and PG2MD_FUZZ_RUNS: the same mutations, and as many, every time (the test
# suite's stage, so that its result depends on the code, not on luck or on the machine's speed:
# SECONDS only caps it, and a capped run is a prefix of the full one); unset, a new seed each run
# for SECONDS (`make fuzz`, to explore)
[ -n "${PG2MD_FUZZ_SEED:-}" ] && args+=(-seed="$PG2MD_FUZZ_SEED")
[ -n "${PG2MD_FUZZ_RUNS:-}" ] && args+=(-runs="$PG2MD_FUZZ_RUNS")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# known leaks, each a reported bug (see the file)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/tests/fuzz/lsan.supp:print_suppressions=0}
echo "run.sh: $f for $seconds s on $(find "$w/corpus" -type f | wc -l) corpus inputs"
# progress lines left out: the final stats and any report remain
set +e
"$bin" "${args[@]}" "$w/corpus" 2>&1 | grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|^INFO: '
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || echo "run.sh: $f failed (status $rc); the input is in $artifacts/$f-*"
exit "$rc"

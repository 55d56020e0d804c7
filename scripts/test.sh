#!/usr/bin/env bash
# test.sh BUILD — run every test: unit tests, then end-to-end tests against one throwaway
# PostgreSQL cluster started here and stopped whatever happens (the plain suite, ctest in BUILD);
# then the sanitizer stage, against the same cluster (DESIGN §5, docs/reliability.md):
#
#   asan   build-asan/ (ASan+UBSan, any report aborts): the unit tests and every end-to-end
#          test but the t9x scale tests (PG2MD_ASAN_TESTS="t10_types t20_errors" for a subset)
#   fuzz   build-fuzz/ (clang, libFuzzer, ASan+UBSan): each tests/fuzz target on a copy of its
#          corpus, with a fixed seed and number of inputs (capped at 3 x PG2MD_FUZZ_SECONDS,
#          default 30); skipped without clang
#   tsan   build-tsan/ (ThreadSanitizer): the threaded end-to-end tests (PG2MD_TSAN_TESTS,
#          workers = 4), with tests/tsan.supp for reports inside the prebuilt libduckdb.so
#   valgrind  BUILD's pg2md under memcheck (tests/tools/valgrind-pg2md): tests/valgrind/run.sh,
#          staged, direct, merge, incremental, a failing run, verify/trace/info/check/sql; any
#          memory error or definite/indirect leak fails it; skipped without valgrind
#          (PG2MD_VALGRIND=0 skips it too)
#
# The sanitizer stage is itself a ctest run (a generated CTestTestfile in build-sanitize/), so
# the output ends with ctest's summary line of each stage, plain suite first.  Exit status: 0
# only when every stage passed.
#
#   PG2MD_TEST_SANITIZE=0   the plain suite only (also when BUILD is itself a sanitizer build,
#                           as `make sanitize` / `make tsan` run it)
#   PG2MD_TEST_JOBS=N       ctest -j (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
src=$(pwd)
jobs=${PG2MD_TEST_JOBS:-2}

cluster=$(mktemp -d /tmp/pg2md-test.XXXXXX)
plain_log=$(mktemp /tmp/pg2md-test-plain.XXXXXX)
trap '"$src/tests/lib/cluster.sh" stop "$cluster"; rm -f "$plain_log"' EXIT
trap 'exit 130' INT TERM
"$src/tests/lib/cluster.sh" start "$cluster" >/dev/null
# shellcheck disable=SC1091
. "$cluster/env"
export PG2MD_SRC=$src

# --- plain suite ---------------------------------------------------------------------------
plain_rc=0
(cd "$build" && ctest --output-on-failure -j "$jobs" ${CTEST_ARGS:-}) 2>&1 | tee "$plain_log" || plain_rc=$?

sanitize=${PG2MD_TEST_SANITIZE:-1}
if grep -Eq '^PG2MD_SANITIZE:STRING=.+' "$build/CMakeCache.txt" 2>/dev/null; then
	sanitize=0 # BUILD is already a sanitizer build: `make sanitize` / `make tsan`
fi
if [ "$sanitize" = 0 ]; then
	exit $plain_rc
fi

# --- sanitizer stage -----------------------------------------------------------------------
started=$(date +%s)
# every end-to-end test but the scale tests (t9x: under ASan their memory figures mean nothing
# and 50 M rows take long), as the issue asks: "the whole suite runs clean under ASan and UBSan"
# (and t86_dlt_layout, t68_scd2_dlt: they compare with dlt, and mostly run dlt from PyPI, not our code);
# t92_md_direct is not a scale test: threaded hand-off code, it runs under both sanitizers
all_e2e=$(cd "$src/tests/e2e" && for f in t[0-9]*.sh; do case $f in t92_md_direct.sh) echo "${f%.sh}" ;; t9[0-9]_* | t86_dlt_layout.sh | t68_scd2_dlt.sh) ;; *) echo "${f%.sh}" ;; esac; done)
asan_tests=${PG2MD_ASAN_TESTS:-$all_e2e}
tsan_tests=${PG2MD_TSAN_TESTS:-t54_snapshot t59_long_tx t32_report t55_faults t61_commit_oom t92_md_direct}
fuzz_seconds=${PG2MD_FUZZ_SECONDS:-30}
# A fixed seed: the suite's verdict depends on the code, not on which mutations a run drew (CI
# once failed on a crash a 30-s run happened to find; `make fuzz` explores with new seeds, and
# what it finds becomes a corpus file and a fix)
fuzz_seed=${PG2MD_FUZZ_SEED:-1}
# ... and a fixed number of inputs per target (about 30 s each here; the time only caps it, at
# three times PG2MD_FUZZ_SECONDS, so a slower machine runs a prefix of the same inputs)
fuzz_runs() {
	case $1 in
	fuzz_config) echo "${PG2MD_FUZZ_RUNS_CONFIG:-2000}" ;;
	fuzz_copydec) echo "${PG2MD_FUZZ_RUNS_COPYDEC:-150000}" ;;
	*) echo "${PG2MD_FUZZ_RUNS_PGOUTPUT:-250000}" ;;
	esac
}
ncpu=$(nproc)

echo
echo "== sanitizer stage: building build-asan (ASan+UBSan), build-tsan (TSan), build-fuzz (libFuzzer)"
configure() { # DIR cmake-args…
	local dir=$1
	shift
	cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Debug "$@" >"$dir.configure.log" 2>&1 ||
		{ cat "$dir.configure.log"; return 1; }
	rm -f "$dir.configure.log"
}
build_dir() { # DIR TARGET…
	local dir=$1
	shift
	local t args=()
	for t in "$@"; do args+=(--target "$t"); done
	cmake --build "$dir" -j "$ncpu" "${args[@]}" >"$dir.build.log" 2>&1 || { tail -n 60 "$dir.build.log"; return 1; }
	rm -f "$dir.build.log"
}
mkdir -p build-asan build-tsan
configure build-asan -DPG2MD_SANITIZE=address,undefined
build_dir build-asan
configure build-tsan -DPG2MD_SANITIZE=thread
build_dir build-tsan pg2md ddbq
command -v valgrind >/dev/null 2>&1 || echo "sanitizer stage: valgrind not found, its test is skipped (apt-get install valgrind)"
have_fuzz=0
if command -v clang >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1; then
	mkdir -p build-fuzz
	if CC=clang CXX=clang++ configure build-fuzz -DPG2MD_FUZZ=ON -DPG2MD_SANITIZE=address,undefined &&
		build_dir build-fuzz fuzz_copydec fuzz_config fuzz_pgoutput; then
		have_fuzz=1
	fi
else
	echo "sanitizer stage: clang not found, the fuzz targets are skipped (apt-get install clang)"
fi
echo "== sanitizer stage: built in $(($(date +%s) - started)) s"

# The stage's tests, as a ctest file: each runs with its sanitizer's options and its own binary.
san=$src/build-sanitize
rm -rf "$san"
mkdir -p "$san"
# Known UBSan reports, each reported with its fix, as lines "check:function" (e.g.
# "nonnull-attribute:state_apply_pending", fixed in 8f03957); delete a line with its fix.
# None at the moment.
: >"$san/ubsan.supp"
asan_env="ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
asan_env+=";UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$san/ubsan.supp"
asan_env+=";LSAN_OPTIONS=suppressions=$src/tests/fuzz/lsan.supp:print_suppressions=0"
tsan_env="TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$src/tests/tsan.supp"
{
	echo "# generated by scripts/test.sh: the sanitizer stage"
	for t in "$src"/build-asan/test_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		echo "add_test(asan.unit.$n \"$t\")"
		echo "set_tests_properties(asan.unit.$n PROPERTIES WORKING_DIRECTORY \"$src/tests/unit\" ENVIRONMENT \"$asan_env\" TIMEOUT 300)"
	done
	for n in $asan_tests; do
		[ -f "$src/tests/e2e/$n.sh" ] || continue
		echo "add_test(asan.e2e.$n bash \"$src/tests/e2e/$n.sh\")"
		echo "set_tests_properties(asan.e2e.$n PROPERTIES ENVIRONMENT \"PG2MD_BIN=$src/build-asan/pg2md;DDBQ=$src/build-asan/ddbq;PG2MD_SRC=$src;$asan_env\" TIMEOUT 900)"
	done
	if [ $have_fuzz = 1 ]; then
		for f in fuzz_copydec fuzz_config fuzz_pgoutput; do
			echo "add_test(fuzz.$f bash \"$src/tests/fuzz/run.sh\" $f $((fuzz_seconds * 3)) \"$san\")"
			echo "set_tests_properties(fuzz.$f PROPERTIES ENVIRONMENT \"$asan_env;PG2MD_FUZZ_SEED=$fuzz_seed;PG2MD_FUZZ_RUNS=$(fuzz_runs "$f")\" TIMEOUT $((fuzz_seconds * 3 + 120)))"
		done
	fi
	if [ "${PG2MD_VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
		echo "add_test(valgrind.e2e bash \"$src/tests/valgrind/run.sh\")"
		echo "set_tests_properties(valgrind.e2e PROPERTIES ENVIRONMENT \"PG2MD_BIN=$(cd "$build" && pwd)/pg2md;PG2MD_SRC=$src\" TIMEOUT 1800)"
	fi
	for n in $tsan_tests; do
		[ -f "$src/tests/e2e/$n.sh" ] || continue
		echo "add_test(tsan.e2e.$n bash \"$src/tests/e2e/$n.sh\")"
		# alone: TSan slows pg2md ~5x, and t54 counts the sessions of its database, where a
		# backend whose client has gone can linger for a moment on a loaded machine
		echo "set_tests_properties(tsan.e2e.$n PROPERTIES ENVIRONMENT \"PG2MD_BIN=$src/build-tsan/pg2md;DDBQ=$src/build-tsan/ddbq;PG2MD_SRC=$src;$tsan_env\" TIMEOUT 900 RUN_SERIAL TRUE)"
	done
} >"$san/CTestTestfile.cmake"

echo "== sanitizer stage: running"
san_rc=0
(cd "$san" && ctest --output-on-failure -j "$jobs") 2>&1 | tee "$san/ctest.log" || san_rc=$?
echo "== sanitizer stage: $(($(date +%s) - started)) s"

# CI reads the last lines: each stage's own ctest summary, the plain suite's first.
echo
echo "== plain suite ($build)"
grep -E 'tests passed|Total Test time' "$plain_log" || echo "plain suite: no ctest summary"
echo "== sanitizer stage (build-asan, build-fuzz, build-tsan, valgrind)"
grep -E 'tests passed|Total Test time' "$san/ctest.log" || echo "sanitizer stage: no ctest summary"
[ $plain_rc -eq 0 ] && [ $san_rc -eq 0 ]

# pg2md — top-level entry points.  Each target installs what is missing first.
#   make          build build/pg2md
#   make test     unit + end-to-end tests against a throwaway PostgreSQL
#   make demo     the guide's pipeline end to end on sample data, into a local DuckDB file
#   make bench    the benchmark (SCALE=…), results in bench/RESULTS.md, then the CDC part
#   make bench-cdc  the CDC part alone (pg2md follow; CDC_SCALE=…), results in bench/RESULTS-cdc.md
#   make sanitize the suite under ASan+UBSan (build-asan/)
#   make fuzz     the libFuzzer targets (clang), FUZZ_SECONDS each (default 60), build-fuzz/

BUILD ?= build
JOBS ?= $(shell nproc)
SCALE ?= 1
CDC_SCALE ?= 20
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 60

.PHONY: all deps test-deps build test demo bench bench-cdc sanitize tsan fuzz clean install

all: build

deps:
	@scripts/deps.sh

# what only the tests need on top (headless Chromium for the HTML report test)
test-deps:
	@scripts/deps.sh --test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build test-deps
	@scripts/test.sh $(BUILD)

sanitize: deps test-deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPG2MD_SANITIZE=address,undefined >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		scripts/test.sh build-asan

tsan: deps test-deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DPG2MD_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@TSAN_OPTIONS=halt_on_error=1 scripts/test.sh build-tsan

fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DPG2MD_FUZZ=ON \
		-DPG2MD_SANITIZE=address,undefined >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_copydec fuzz_config fuzz_pgoutput
	@tests/fuzz/run.sh fuzz_copydec $(FUZZ_SECONDS) build-fuzz/artifacts
	@tests/fuzz/run.sh fuzz_config $(FUZZ_SECONDS) build-fuzz/artifacts
	@tests/fuzz/run.sh fuzz_pgoutput $(FUZZ_SECONDS) build-fuzz/artifacts

demo: build
	@scripts/demo.sh $(BUILD)

bench: build
	@scripts/bench.sh $(BUILD) $(SCALE)
	@scripts/bench_cdc.sh $(BUILD) $(CDC_SCALE)

bench-cdc: build
	@scripts/bench_cdc.sh $(BUILD) $(CDC_SCALE)

# make install [PREFIX=/usr/local] [DESTDIR=/staging]: the binary, libpg2md.so, pg2md.h, pg2md.pc,
# the man page, and the libduckdb.so they run with (<libdir>/pg2md)
install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

clean:
	rm -rf $(BUILD) build-asan build-tsan

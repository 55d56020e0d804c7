#!/usr/bin/env bash
# Install what pg2md needs to build and test, on Debian 12, only what is missing:
# Debian packages (DESIGN §3) and DuckDB 1.4.4 from the npm registry, pinned by sha256
# and unpacked into third_party/duckdb/ (ignored by git).
# DUCKDB_DIR=/path (holding libduckdb.so and duckdb.h) skips the DuckDB download.
# scripts/deps.sh --test also installs what only the tests need (chromium, time, valgrind, clang).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config libpq-dev libtomlplusplus-dev libjansson-dev
      libcmocka-dev postgresql postgresql-contrib postgresql-15-postgis-3 ca-certificates)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
# --test (make test): headless Chromium too, which tests/e2e/t32_report.sh opens the HTML report in;
# time (t90_scale's peak RSS), valgrind (the valgrind stage of scripts/test.sh) and clang (its
# libFuzzer targets; without it they were skipped)
if [ "${1:-}" = --test ]; then PKGS+=(chromium time valgrind clang); fi
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -n "${DUCKDB_DIR:-}" ]; then
	[ -f "$DUCKDB_DIR/libduckdb.so" ] && [ -f "$DUCKDB_DIR/duckdb.h" ] || {
		echo "deps: DUCKDB_DIR=$DUCKDB_DIR must hold libduckdb.so and duckdb.h" >&2; exit 2; }
	exit 0
fi

DDB_VERSION=1.4.4
LIB_PKG="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
LIB_TGZ=duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz
LIB_SHA=732fac4dc6b8f198870b9c4bb6ddf13544466daca00ad28ba2f1d80de5d7aa4b
HDR_PKG="duckdb@1.4.4"
HDR_TGZ=duckdb-1.4.4.tgz
HDR_SHA=5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed
DEST=third_party/duckdb

if [ -f "$DEST/libduckdb.so" ] && [ -f "$DEST/duckdb.h" ] && [ "$(cat "$DEST/VERSION" 2>/dev/null)" = "$DDB_VERSION" ]; then
	exit 0
fi
echo "deps: fetching DuckDB $DDB_VERSION from the npm registry"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$LIB_PKG" "$HDR_PKG" >/dev/null)
echo "$LIB_SHA  $tmp/$LIB_TGZ" | sha256sum -c --quiet - || { echo "deps: checksum mismatch for $LIB_TGZ" >&2; exit 1; }
echo "$HDR_SHA  $tmp/$HDR_TGZ" | sha256sum -c --quiet - || { echo "deps: checksum mismatch for $HDR_TGZ" >&2; exit 1; }
mkdir -p "$DEST"
tar xzf "$tmp/$LIB_TGZ" -C "$tmp" package/libduckdb.so package/LICENSE
tar xzf "$tmp/$HDR_TGZ" -C "$tmp" package/src/duckdb/src/include/duckdb.h
install -m 0644 "$tmp/package/libduckdb.so" "$DEST/libduckdb.so"
install -m 0644 "$tmp/package/src/duckdb/src/include/duckdb.h" "$DEST/duckdb.h"
install -m 0644 "$tmp/package/LICENSE" "$DEST/LICENSE"
echo "$DDB_VERSION" > "$DEST/VERSION"

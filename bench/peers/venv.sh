#!/usr/bin/env bash
# venv.sh NAME — make sure the Python virtual environment bench/.venv/NAME holds exactly
# bench/peers/requirements-NAME.txt (the peers of the benchmark: dlt, ConnectorX, DuckDB and its
# postgres extension), and print its python's path on stdout.
#
#   guide        the guide's pins: dlt 1.31.0, connectorx 0.4.1 (<0.4.2), duckdb 1.4.4, …
#   cx-current   the same with the current connectorx 0.4.6
#
# bench/.venv/ is ignored by git; nothing of it enters pg2md's build.  A venv whose stamp
# (bench/.venv/NAME/.pg2md-stamp) matches the requirements file is reused without any network
# access; otherwise it is created from scratch with `python3 -m venv` and ONE `pip install -r`.
# Progress and the install time go to stderr.
# Exit status: 0 ready; 75 PyPI cannot be reached (callers skip: a test prints SKIP); other
# non-zero: the install failed for another reason (its log is named).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:?usage: venv.sh guide|cx-current}
req=$here/requirements-$name.txt
[ -f "$req" ] || { echo "venv.sh: no $req" >&2; exit 2; }
root=$(cd "$here/../.." && pwd)
venv=$root/bench/.venv/$name
stamp=$venv/.pg2md-stamp
want=$(sha256sum "$req" | cut -d' ' -f1)
python=${PG2MD_PYTHON:-python3}

# one installer at a time (the bench and the test suite may start together)
mkdir -p "$root/bench/.venv"
exec 9>"$root/bench/.venv/.lock"
flock 9
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
	echo "venv.sh: bench/.venv/$name is ready (reused, 0 s install)" >&2
	echo "$venv/bin/python"
	exit 0
fi

# PyPI reachable?  pip itself retries for minutes when it is not; ask once, briefly.
if ! "$python" - <<'PY' >/dev/null 2>&1; then
import urllib.request, sys
try:
    urllib.request.urlopen("https://pypi.org/simple/dlt/", timeout=10).read(1)
except Exception:
    sys.exit(1)
PY
	echo "venv.sh: PyPI (https://pypi.org) cannot be reached; bench/.venv/$name not installed" >&2
	exit 75
fi

t0=$(date +%s.%N)
rm -rf "$venv"
mkdir -p "$root/bench/.venv"
"$python" -m venv "$venv"
log=$root/bench/.venv/$name.install.log
echo "venv.sh: installing $(grep -c '^[^#]' "$req") pinned packages into bench/.venv/$name (log: bench/.venv/$name.install.log)" >&2
if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --timeout 30 --retries 2 \
	-r "$req" >"$log" 2>&1; then
	echo "venv.sh: pip install failed; last lines of $log:" >&2
	tail -n 5 "$log" | sed 's/^/  /' >&2
	if grep -qiE 'ConnectionError|NewConnectionError|Temporary failure in name resolution|Read timed out' "$log"; then exit 75; fi
	exit 1
fi
echo "$want" >"$stamp"
echo "venv.sh: bench/.venv/$name installed in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2
echo "$venv/bin/python"

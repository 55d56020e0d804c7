#!/usr/bin/env bash
# t32_report.sh — `pg2md trace --html`: a real run (5 tables, 3 workers, tables cut into page-range
# tasks) stores its timeline in trace.json (one extract span per task on workers 0..2, one load
# span per table, normalize and commit on the main thread, times inside the run, throughput
# samples); the report written from the stored trace is one self-contained page (no URL, no "//",
# no password, the embedded names cannot close the script element), and headless Chromium
# (Debian's chromium) runs its script: the page says it rendered, it has one bar per span, one
# lane per worker plus the main thread, the throughput paths, and every table name (one is
# `</script><b>x</b> "q" ü€`) as text; Chromium's net log shows no request from the page (and
# does show a control page's two).  A failed run's report says it failed.  Errors: --json with
# --html, an unwritable FILE, no trace yet.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
t_init report
require_pg2md

unset MOTHERDUCK_TOKEN motherduck_token DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN
CHROMIUM=${PG2MD_CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] && [ -x "$CHROMIUM" ] ||
	t_bail "chromium not found" "make test installs it (scripts/deps.sh --test: apt-get install chromium)"

WEIRD='we</script><b>x</b> "q" ü€'
WEIRD_SQL='"we</script><b>x</b> ""q"" ü€"'
pg >/dev/null <<SQL || t_bail "cannot build the source tables"
CREATE TABLE big (id int PRIMARY KEY, pad text);
INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 60000) g;
CREATE TABLE mid (id int, v numeric(12,2), d date);
INSERT INTO mid SELECT g, g * 1.5, date '2024-01-01' + g % 365 FROM generate_series(1, 40000) g;
CREATE TABLE small (id int, s text);
INSERT INTO small SELECT g, 'row ' || g FROM generate_series(1, 500) g;
CREATE TABLE empty_one (id int);
CREATE TABLE $WEIRD_SQL (id int, "ü" text);
INSERT INTO $WEIRD_SQL SELECT g, 'ü' || g FROM generate_series(1, 300) g;
ANALYZE;
SQL

P=$T_TMP/p
make_project "$P"
cat >"$P/.dlt/config.toml" <<'TOML'
[runtime]
log_level = "WARNING"

[sources.sql_database]
schema = "public"
tables = ["big", "mid", "small", "empty_one", "we</script><b>x</b> \"q\" ü€"]
workers = 3
TOML

TRACE=$P/.pg2md/pipelines/pg2md/trace.json
REPORT=$T_TMP/report.html

# --- errors before any run ----------------------------------------------------------------
assert_exit 2 "$PG2MD_BIN" trace --html "$REPORT" --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "has no trace yet" "no trace yet: says so"
assert_eq no "$(test -e "$REPORT" && echo yes || echo no)" "no trace yet: no report file is written"
assert_exit 2 "$PG2MD_BIN" trace --json --html "$REPORT" --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "cannot be used together" "--json with --html: a usage error"
assert_contains "$(cat "$T_ERR")" "pg2md trace --help" "--json with --html: points at the help"

# --- a run with 3 workers and page-range tasks --------------------------------------------------
PG2MD_PAGES_PER_TASK=100 assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress none
assert_eq 1 "$(test -s "$TRACE" && echo 1)" "the run stores trace.json"

q() { ddbq :memory: "$1" 2>&1; }
J="read_json('$TRACE', maximum_object_size = 100000000)"
SPANS="(SELECT unnest(timeline.spans, recursive := true) FROM $J)"
TASKS=$(q "SELECT tasks FROM $J")
WORKERS=$(q "SELECT workers FROM $J")
NSPANS=$(q "SELECT len(timeline.spans) FROM $J")
assert_eq 3 "$WORKERS" "trace: 3 workers"
assert_match "$TASKS" '^([6-9]|[1-9][0-9]+)$' "trace: the tables were cut into several tasks ($TASKS)"
assert_eq "$TASKS" "$(q "SELECT count(*) FROM $SPANS WHERE stage = 'extract'")" "trace: one extract span per task"
assert_eq "$TASKS" "$(q "SELECT count(DISTINCT task) FROM $SPANS WHERE stage = 'extract'")" "trace: every task id once"
assert_eq "0 1 2" "$(q "SELECT string_agg(DISTINCT worker::VARCHAR, ' ' ORDER BY worker::VARCHAR) FROM $SPANS WHERE stage = 'extract'" | sed 's/\\N//')" \
	"trace: extract spans ran on workers 0, 1 and 2" || t_diag "workers seen: $(q "SELECT list(DISTINCT worker) FROM $SPANS")"
assert_eq 5 "$(q "SELECT count(*) FROM $SPANS WHERE stage = 'load' AND \"table\" IS NOT NULL AND what IS DISTINCT FROM 'early'")" "trace: one load span per table"
assert_eq 1 "$(q "SELECT count(*) FROM $SPANS WHERE stage = 'load' AND what = 'commit'")" "trace: one commit span"
assert_eq 1 "$(q "SELECT count(*) FROM $SPANS WHERE stage = 'normalize'")" "trace: one normalize span"
assert_eq 0 "$(q "SELECT count(*) FROM $SPANS WHERE stage <> 'extract' AND worker <> -1")" "trace: normalize and load on the main thread (-1)"
assert_eq 0 "$(q "SELECT count(*) FROM $SPANS, $J j WHERE NOT (start >= 0 AND \"end\" >= start AND \"end\" <= j.seconds.total + 0.001)")" \
	"trace: every span starts at or after 0 and ends after it starts, within the run"
assert_eq "$(q "SELECT sum(rows) FROM (SELECT unnest(tables, recursive := true) FROM $J)")" \
	"$(q "SELECT sum(rows) FROM $SPANS WHERE stage = 'extract'")" "trace: the extract spans' rows add up to the tables' rows"
assert_eq "$(pgq 'SELECT count(*) FROM big')" "$(q "SELECT sum(rows) FROM $SPANS WHERE stage = 'extract' AND \"table\" = 'big'")" \
	"trace: the spans of table big hold its rows"
assert_eq 0 "$(q "SELECT count(*) FROM $SPANS WHERE stage = 'extract' AND \"table\" = 'big' AND page_lo IS NULL")" \
	"trace: the page-range tasks carry their pages"
NSAMPLES=$(q "SELECT len(timeline.samples) FROM $J")
assert_match "$NSAMPLES" '^([2-9]|[1-9][0-9]+)$' "trace: at least 2 throughput samples ($NSAMPLES)"
assert_eq "$(q "SELECT sum(rows) FROM (SELECT unnest(tables, recursive := true) FROM $J)")" \
	"$(q "SELECT timeline.samples[-1][2]::BIGINT FROM $J")" "trace: the last sample holds every row read"
assert_eq 0 "$(q "SELECT count(*) FROM (SELECT unnest(timeline.samples) s FROM $J) WHERE s[1] < 0")" "trace: sample times are not negative"
assert_exit 0 "$PG2MD_BIN" trace --project-dir "$P"
assert_match "$(cat "$T_OUT")" '^  table +write +rows +read +staged +time +rows/s +files +tasks +retries$' "trace: per-table files, tasks and retries columns"
assert_match "$(cat "$T_OUT")" "^  big +replace +60 k .* [0-9]+ +[0-9]+ +0\$" "trace: the row of table big"
assert_contains "$(cat "$T_OUT")" "timeline: $NSPANS spans, $NSAMPLES throughput samples; pg2md trace --html FILE draws them" "trace: points at --html"
assert_exit 0 "$PG2MD_BIN" trace --json --project-dir "$P"
assert_contains "$(cat "$T_OUT")" '"spans"' "trace --json shows the spans"
assert_contains "$(cat "$T_OUT")" '"samples"' "trace --json shows the samples"

# --- the report ------------------------------------------------------------------------------
assert_exit 0 "$PG2MD_BIN" trace --html "$REPORT" --project-dir "$P"
assert_contains "$(cat "$T_ERR")" "wrote the HTML report" "trace --html: says where it wrote"
assert_eq 1 "$(test -s "$REPORT" && echo 1)" "trace --html writes the file"
assert_eq 600 "$(stat -c %a "$REPORT")" "trace --html: the report is readable by the user only (it can quote source values)"
assert_eq "" "$(ls "$REPORT".* 2>/dev/null)" "trace --html: no temporary file left beside it"
t_diag "trace.json $(stat -c %s "$TRACE") bytes, report $(stat -c %s "$REPORT") bytes, $NSPANS spans, $NSAMPLES samples"
assert_eq 0 "$(grep -c -E 'https?:' "$REPORT")" "report: no http: or https: anywhere"
assert_eq 0 "$(grep -c '//' "$REPORT")" "report: no // anywhere (no URL, protocol-relative or not)"
assert_eq 0 "$(grep -c -i -E '(src|href) *=' "$REPORT")" "report: no src= or href= (nothing loaded)"
assert_eq 0 "$(grep -c -F "$PG2MD_TEST_PASSWORD" "$REPORT")" "report: the password appears nowhere"
assert_eq 2 "$(grep -o -i '</script' "$REPORT" | wc -l)" "report: the only </script are its own two (the table name is escaped)"
assert_eq 0 "$(grep -c -F 'ü' "$REPORT")" "report: non-ASCII names are escaped in the embedded JSON"
assert_exit 0 "$PG2MD_BIN" trace --html - --project-dir "$P"
assert_eq "$(cat "$REPORT")" "$(cat "$T_OUT")" "trace --html - writes the same page to stdout"

# headless Chromium, no network (the page's Content-Security-Policy forbids requests as well)
chrome() { # chrome OUT ARGS… — run headless Chromium with its own profile
	local out=$1
	shift
	local prof
	prof=$(mktemp -d "$T_TMP/chrome.XXXXXX")
	HOME=$T_TMP timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync --disable-extensions \
		--user-data-dir="$prof" "$@" >"$out" 2>"$T_TMP/chrome.err"
}
# page_requests NETLOG — the requests the page itself started (initiator: its file origin, "null"),
# other than file: URLs, from Chromium's net log; Chromium's own background requests (update
# checks, "not an origin") are not the page's
page_requests() {
	python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = {v: k for k, v in d["constants"]["logEventTypes"].items()}
for e in d["events"]:
    p = e.get("params") or {}
    if names.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in p and not p["url"].startswith("file:") \
            and p.get("initiator") != "not an origin":
        print(p["url"])
PY
}
chrome "$T_TMP/dom.html" --log-net-log="$T_TMP/net.json" --dump-dom "file://$REPORT"
CRC=$?
assert_eq 0 "$CRC" "chromium --dump-dom exits 0" || t_diag "$(tail -n 20 "$T_TMP/chrome.err")"
DOM=$(cat "$T_TMP/dom.html")
assert_contains "$DOM" 'data-rendered="ok"' "chromium: the report's script ran to the end"
assert_eq "$NSPANS" "$(grep -o 'class="bar"' <<<"$DOM" | wc -l)" "chromium: one task bar per span of trace.json ($NSPANS)"
assert_eq "$TASKS" "$(grep -o 'class="bar" data-span="[0-9]*" data-stage="extract"' <<<"$DOM" | wc -l)" "chromium: one extract bar per task"
for w in 0 1 2 -1; do
	assert_contains "$DOM" "class=\"lane\" data-worker=\"$w\"" "chromium: lane of worker $w drawn"
done
assert_eq 4 "$(grep -o 'class="lane"' <<<"$DOM" | wc -l)" "chromium: 4 lanes (3 workers and the main thread)"
assert_match "$DOM" 'class="rate-rows" d="M[0-9.]+,[0-9.]+L' "chromium: the rows/s throughput path is drawn"
assert_match "$DOM" 'class="rate-bytes" d="M[0-9.]+,[0-9.]+L' "chromium: the bytes/s throughput path is drawn"
assert_contains "$DOM" 'we&lt;/script&gt;&lt;b&gt;x&lt;/b&gt; "q" ü€' "chromium: the odd table name is shown as text, unicode intact"
assert_eq 5 "$(grep -o 'class="table-row"' <<<"$DOM" | wc -l)" "chromium: a row per table in the tables section"
assert_contains "$DOM" 'succeeded' "chromium: the summary says the run succeeded"
assert_contains "$DOM" '<title>' "chromium: bars carry a tooltip title"
assert_contains "$DOM" '<div id="error"></div>' "chromium: no error shown in the summary"
assert_eq "" "$(page_requests "$T_TMP/net.json" 2>&1)" "chromium: the page made no network request (net log)"
# the check can fail: a page that loads an image and fetches is caught
printf '<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><script>fetch("https://example.invalid/y").catch(function () {});</script>\n' >"$T_TMP/control.html"
chrome /dev/null --log-net-log="$T_TMP/net-control.json" --dump-dom "file://$T_TMP/control.html"
assert_eq 2 "$(page_requests "$T_TMP/net-control.json" | grep -c -E '^(http://127\.0\.0\.1:9/x\.png|https://example\.invalid/y)$')" \
	"chromium: the net-log check sees a control page's two requests"
chrome /dev/null --hide-scrollbars --window-size=1280,1400 --screenshot="$T_TMP/report.png" "file://$REPORT"
assert_eq PNG "$(head -c 4 "$T_TMP/report.png" 2>/dev/null | tail -c 3)" "chromium: a screenshot of the report is a PNG"

# --- a failed run's report ---------------------------------------------------------------------
assert_exit 2 "$PG2MD_BIN" run --project-dir "$P" --tables big,no_such_table --progress none
assert_exit 0 "$PG2MD_BIN" trace --html "$REPORT" --project-dir "$P"
chrome "$T_TMP/dom2.html" --dump-dom "file://$REPORT"
DOM=$(cat "$T_TMP/dom2.html")
assert_contains "$DOM" 'data-rendered="ok"' "failed run: the report renders"
assert_contains "$DOM" 'failed, exit code 2' "failed run: the summary says it failed, with the exit code"
assert_contains "$DOM" 'no_such_table' "failed run: the error message is shown"
assert_contains "$DOM" 'no task ran: the run failed before extracting or loading anything' "failed run: the timeline says no task ran"

# --- an unwritable FILE ---------------------------------------------------------------------------
assert_exit 2 "$PG2MD_BIN" trace --html "$T_TMP/no/such/folder/r.html" --project-dir "$P"
assert_contains "$(cat "$T_ERR")" 'could not write the HTML report' "unwritable FILE: a clear message"
assert_contains "$(cat "$T_ERR")" 'HINT:' "unwritable FILE: a hint"

t_done

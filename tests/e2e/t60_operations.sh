#!/usr/bin/env bash
# t60_operations.sh — running pg2md unattended (docs/operations.md): --progress=log prints
# progress lines on stderr during a long extraction and --progress=none prints none (a tty run
# redraws with ANSI escapes); status.json exists while a run extracts, `pg2md info` shows it as
# "running:" and it is gone afterwards; --metrics-file / [runtime] metrics_file write a file
# that a strict parser of the Prometheus text format accepts, whose values match the run (rows
# per table = source counts) and, after a failed run, say which stage failed and keep the last
# success; [runtime] on_failure runs on a failed run (wrong password) with PG2MD_* variables set
# and no secret anywhere in its environment, is not run on success and is stopped when it takes
# too long; the documented crontab line (flock -n -E 0) run twice at once: the second skips and
# both end well; the flock -w variant: the second waits, then runs.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
t_init operations
require_pg2md
command -v python3 >/dev/null || t_bail "python3 not found"

unset MOTHERDUCK_TOKEN motherduck_token DESTINATION__MOTHERDUCK__CREDENTIALS__TOKEN

assert_true() {
	local msg=$1
	shift
	if "$@"; then t_pass "$msg"; else t_fail "$msg" "failed: $*"; fi
}

pg >/dev/null <<'SQL' || t_bail "cannot build the source tables"
CREATE TABLE big (id bigint PRIMARY KEY, a text, b numeric(12,2));
INSERT INTO big SELECT g, md5(g::text), g * 1.5 FROM generate_series(1, 2000000) g;
CREATE TABLE small (id int, note text);
INSERT INTO small SELECT g, 'n' || g FROM generate_series(1, 321) g;
CREATE TABLE "odd""q\b" (id int);
INSERT INTO "odd""q\b" VALUES (1), (2), (3);
ANALYZE;
SQL

P=$T_TMP/p
make_project "$P" --tables "big small" --config $'[postgres]\npool_size = 2\n[sources.sql_database.extract]\nworkers = 2'
PIPE=$P/.pg2md/pipelines/pg2md
STATUS=$PIPE/status.json

# add_runtime DIR LINE — add a key line to the [runtime] table of DIR/.dlt/config.toml
add_runtime() {
	python3 - "$1/.dlt/config.toml" "$2" <<'PY'
import sys
p, line = sys.argv[1], sys.argv[2]
lines = open(p).read().split('\n')
i = lines.index('[runtime]')
open(p, 'w').write('\n'.join(lines[:i + 1] + [line] + lines[i + 1:]))
PY
}

# start_paused NAME ARGS… — start pg2md in the background, held after its first task
# (PG2MD_PAUSE=extract:task_done) until $T_TMP/NAME.go exists; its pid in BG_PID
start_paused() {
	local name=$1
	shift
	rm -f "$T_TMP/$name.go" "$T_TMP/$name.go.paused"
	PG2MD_PAUSE=extract:task_done PG2MD_PAUSE_FILE=$T_TMP/$name.go "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" &
	BG_PID=$!
}
# wait_file FILE [SECONDS] — until FILE exists
wait_file() {
	local i
	for ((i = 0; i < ${2:-60} * 10; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# finish NAME PID — release the paused run and wait for it; its exit status in BG_RC
finish() {
	touch "$T_TMP/$1.go"
	BG_RC=0
	wait "$2" || BG_RC=$?
}

# --- progress --------------------------------------------------------------------------------

start_paused log "$PG2MD_BIN" run --project-dir "$P" --progress=log
assert_true "progress: the run reaches its first finished task" wait_file "$T_TMP/log.go.paused"
assert_true "status.json exists while the run extracts" wait_file "$STATUS" 5
ST=$(cat "$STATUS" 2>/dev/null)
assert_contains "$ST" "\"pid\": $BG_PID" "status.json: the pid of the run"
assert_contains "$ST" '"stage": "extract"' "status.json: stage extract"
assert_contains "$ST" '"tables_total": 2' "status.json: tables total"
assert_match "$ST" '"started_at": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"' "status.json: started_at in ISO 8601"
assert_match "$ST" '"rows": [0-9]+' "status.json: rows so far"
assert_match "$ST" '"rows_per_second": [0-9.e+-]+' "status.json: current rate"
assert_exit 0 "$PG2MD_BIN" info --project-dir "$P"
assert_match "$(cat "$T_OUT")" "^running: pid $BG_PID since " "info: shows the running run"
assert_match "$(cat "$T_OUT")" '^  extracting: [0-9]+/2 tables extracted, .* rows/s' "info: shows its progress"
assert_exit 0 "$PG2MD_BIN" info --project-dir "$P" --json
assert_eq "$BG_PID" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["running"]["pid"])' "$T_OUT" 2>&1)" \
	"info --json: running.pid"
sleep 6 # the run stays held: at least one 5-second progress line
finish log $BG_PID
assert_eq 0 "$BG_RC" "progress: the --progress=log run succeeds"
ERR=$(cat "$T_TMP/log.err")
assert_match "$ERR" '^pg2md: progress: [0-9]+/2 tables done, [0-9.]+ [kMG]? ?rows, [0-9.]+ [kMG]?B, [0-9.]+ [kMG]? ?rows/s, ' \
	"--progress=log: progress lines on stderr"
assert_contains "$ERR" 'running "big"' "--progress=log: the line names the table being copied"
assert_not_contains "$ERR" $'\033[' "--progress=log: no terminal escapes"
assert_true "status.json is removed when the run ends" test ! -e "$STATUS"
assert_exit 0 "$PG2MD_BIN" info --project-dir "$P"
assert_not_contains "$(cat "$T_OUT")" "running:" "info after the run: no running section"

start_paused none "$PG2MD_BIN" run --project-dir "$P" --progress=none
wait_file "$T_TMP/none.go.paused"
sleep 6
finish none $BG_PID
assert_eq 0 "$BG_RC" "the --progress=none run succeeds"
assert_not_contains "$(cat "$T_TMP/none.err")" "progress" "--progress=none: no progress line"
assert_eq "" "$(cat "$T_TMP/none.err")" "--progress=none: stderr is empty"

# default off a terminal: log
start_paused dflt "$PG2MD_BIN" run --project-dir "$P"
wait_file "$T_TMP/dflt.go.paused"
sleep 6
finish dflt $BG_PID
assert_contains "$(cat "$T_TMP/dflt.err")" "pg2md: progress: " "no --progress, stderr not a terminal: log lines"

# on a terminal (script(1) gives one): the live display redraws in place and is cleared at the end
if command -v script >/dev/null; then
	rm -f "$T_TMP/tty.go"
	(sleep 3 && touch "$T_TMP/tty.go") &
	PG2MD_PAUSE=extract:task_done PG2MD_PAUSE_FILE=$T_TMP/tty.go \
		script -qec "'$PG2MD_BIN' run --project-dir '$P'" /dev/null >"$T_TMP/tty.out" 2>&1
	wait
	TTY=$(cat "$T_TMP/tty.out")
	assert_contains "$TTY" "pg2md: extracting 2 tables:" "tty: the display's header"
	assert_match "$TTY" '^  big +[0-9.]+ [kM]? ?/ ~2\.0 M +rows' "tty: the table's rows against the catalog's estimate"
	assert_contains "$TTY" $'\033[3A\033[J' "tty: redrawn in place (cursor up, clear)"
	assert_contains "$TTY" "pg2md: loaded 2 tables" "tty: the summary follows"
fi

# --- metrics ---------------------------------------------------------------------------------

# a strict parser of the Prometheus text exposition format 0.0.4; prints the samples as JSON
cat >"$T_TMP/promcheck.py" <<'PY'
import json, math, re, sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}

def fail(n, msg):
    sys.exit('line %d: %s' % (n, msg))

def value(n, s):
    if s in ('NaN', '+Inf', '-Inf', 'Inf'):
        return float(s.replace('Inf', 'inf').replace('NaN', 'nan'))
    if not re.fullmatch(r'[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)', s):
        fail(n, 'bad value %r' % s)
    return float(s)

def family_of(name, types):
    for suffix in ('_bucket', '_count', '_sum'):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ('histogram', 'summary'):
            return base
    return name

text = open(sys.argv[1], encoding='utf-8').read()
if not text.endswith('\n'):
    sys.exit('the file does not end with a newline')
helps, types, done, seen, out = {}, {}, set(), set(), []
current = None
for n, line in enumerate(text.split('\n')[:-1], 1):
    if line == '':
        continue
    if line.startswith('#'):
        m = re.fullmatch(r'# (HELP|TYPE) (\S+) ?(.*)', line)
        if not m:
            continue  # a plain comment
        kind, name, rest = m.groups()
        if not NAME.fullmatch(name):
            fail(n, 'bad metric name %r' % name)
        if name in done or (name in seen and name != current):
            fail(n, '%s for %s after its samples' % (kind, name))
        if kind == 'HELP':
            if name in helps:
                fail(n, 'second HELP for %s' % name)
            j = 0
            while j < len(rest):
                if rest[j] == '\\':
                    if rest[j + 1:j + 2] not in ('\\', 'n'):
                        fail(n, 'bad escape in HELP')
                    j += 1
                j += 1
            helps[name] = rest
        else:
            if name in types:
                fail(n, 'second TYPE for %s' % name)
            if rest not in TYPES:
                fail(n, 'bad type %r' % rest)
            types[name] = rest
        if current is not None and current != name:
            done.add(current)
        current = name
        continue
    m = NAME.match(line)
    if not m:
        fail(n, 'bad sample line %r' % line)
    name, i, labels = m.group(0), m.end(), {}
    if i < len(line) and line[i] == '{':
        i += 1
        while True:
            if line[i] == '}':
                i += 1
                break
            lm = LABEL.match(line, i)
            if not lm or lm.group(0).startswith('__'):
                fail(n, 'bad label name at %d' % i)
            lname = lm.group(0)
            i = lm.end()
            if line[i:i + 2] != '="':
                fail(n, 'expected =" after label %s' % lname)
            i += 2
            v = ''
            while True:
                if i >= len(line):
                    fail(n, 'unterminated label value')
                c = line[i]
                if c == '"':
                    i += 1
                    break
                if c == '\\':
                    e = line[i + 1:i + 2]
                    if e not in ('\\', '"', 'n'):
                        fail(n, 'bad escape \\%s in a label value' % e)
                    v += '\n' if e == 'n' else e
                    i += 2
                    continue
                v += c
                i += 1
            if lname in labels:
                fail(n, 'label %s twice' % lname)
            labels[lname] = v
            if line[i] == ',':
                i += 1
            elif line[i] != '}':
                fail(n, 'expected , or } after a label')
    if line[i:i + 1] != ' ':
        fail(n, 'expected a space before the value')
    parts = line[i + 1:].split(' ')
    if len(parts) not in (1, 2) or '' in parts:
        fail(n, 'expected a value and an optional timestamp')
    v = value(n, parts[0])
    if len(parts) == 2 and not re.fullmatch(r'-?\d+', parts[1]):
        fail(n, 'bad timestamp')
    fam = family_of(name, types)
    if fam not in types:
        fail(n, 'sample of %s before its TYPE line' % fam)
    if fam not in helps:
        fail(n, 'sample of %s without a HELP line' % fam)
    if fam in done or (current != fam):
        fail(n, 'samples of %s are not grouped after its HELP/TYPE' % fam)
    key = (name, tuple(sorted(labels.items())))
    if key in seen:
        fail(n, 'duplicate sample %s %s' % key)
    seen.add(key)
    seen.add(name)
    out.append({'name': name, 'labels': labels, 'value': None if math.isnan(v) else v, 'type': types[fam]})
if sys.argv[2:] != ['-q']:
    print(json.dumps(out))
PY
# promq FILE NAME [LABEL=VALUE…] — the value of one sample (checks the whole file first)
promq() {
	local f=$1 name=$2
	shift 2
	python3 - "$T_TMP/promcheck.py" "$f" "$name" "$@" <<'PY'
import json, subprocess, sys
check, f, name, want = sys.argv[1], sys.argv[2], sys.argv[3], dict(a.split('=', 1) for a in sys.argv[4:])
r = subprocess.run([sys.executable, check, f], capture_output=True, text=True)
if r.returncode:
    sys.exit('invalid: ' + (r.stderr or r.stdout).strip())
hits = [s for s in json.loads(r.stdout) if s['name'] == name and all(s['labels'].get(k) == v for k, v in want.items())]
if len(hits) != 1:
    sys.exit('%d samples of %s %s' % (len(hits), name, want))
v = hits[0]['value']
print(int(v) if v == int(v) else repr(v))
PY
}

# the validator rejects what it must
printf '# HELP x a\n# TYPE x gauge\nx{a="b\\q"} 1\n' >"$T_TMP/bad1.prom"
printf 'x 1\n' >"$T_TMP/bad2.prom"
printf '# HELP x a\n# TYPE x gauge\n# TYPE x gauge\nx 1\n' >"$T_TMP/bad3.prom"
printf '# HELP x a\n# TYPE x gauge\nx 1\n# HELP y b\n# TYPE y gauge\ny 2\nx{l="1"} 3\n' >"$T_TMP/bad4.prom"
printf '# HELP x a\n# TYPE x gauge\nx{l="1",l="2"} 1\n' >"$T_TMP/bad5.prom"
printf '# HELP x a\n# TYPE x gauge\nx 1' >"$T_TMP/bad6.prom"
for b in 1 2 3 4 5 6; do
	assert_true "the format validator rejects bad$b.prom" bash -c "! python3 '$T_TMP/promcheck.py' '$T_TMP/bad$b.prom' >/dev/null 2>&1"
done
printf '# HELP x a \\\\ b\n# TYPE x gauge\nx{l="q\\"\\\\\\n"} 1.5e3\nx{l="r"} NaN\n' >"$T_TMP/good.prom"
assert_true "the format validator accepts escapes, exponents and NaN" python3 "$T_TMP/promcheck.py" "$T_TMP/good.prom" -q

M=$T_TMP/metrics/pg2md.prom
mkdir -p "$T_TMP/metrics"
make_project "$P" --tables 'big small odd"q\b' \
	--config $'[postgres]\npool_size = 2\n[sources.sql_database.extract]\nworkers = 2'
# the table name needs TOML escaping
sed -i 's/"odd"q\\b"/'"'"'odd"q\\b'"'"'/' "$P/.dlt/config.toml"
T0=$(date +%s)
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P" --progress=none --metrics-file "$M"
assert_true "--metrics-file: the file is written" test -f "$M"
assert_true "metrics: the file parses as the Prometheus text format" python3 "$T_TMP/promcheck.py" "$M" -q
if ! python3 "$T_TMP/promcheck.py" "$M" >/dev/null; then t_diag "$(cat "$M")"; fi
assert_eq 644 "$(stat -c %a "$M")" "metrics: mode 644, for node_exporter (runs use umask 077)"
assert_eq "" "$(ls "$T_TMP/metrics" | grep -v '^pg2md\.prom$')" "metrics: no temp file left next to it"
for t in big small; do
	assert_eq "$(pgq "SELECT count(*) FROM $t")" "$(promq "$M" pg2md_rows_total pipeline=pg2md table=$t 2>&1)" \
		"metrics: pg2md_rows_total{table=\"$t\"} = the source count"
done
assert_eq 3 "$(promq "$M" pg2md_rows_total 'table=odd"q\b' 2>&1)" "metrics: a table name with a quote and a backslash, escaped"
assert_match "$(grep '^pg2md_rows_total.*odd' "$M")" 'table="odd\\"q\\\\b"' "metrics: the label value is escaped as the format says"
assert_eq 1 "$(promq "$M" pg2md_bytes_total table=big 2>&1 | awk '{ print ($1 > 60000000) }')" "metrics: bytes read for big"
for s in extract normalize load; do
	assert_eq 0 "$(promq "$M" pg2md_run_failed stage=$s 2>&1)" "metrics: pg2md_run_failed{stage=\"$s\"} 0 after a success"
done
for s in extract normalize load total; do
	assert_match "$(promq "$M" pg2md_run_duration_seconds stage=$s 2>&1)" '^[0-9.]+$' "metrics: duration of stage $s"
done
assert_eq 0 "$(promq "$M" pg2md_pending_packages 2>&1)" "metrics: no pending package"
assert_eq 0 "$(promq "$M" pg2md_last_exit_code 2>&1)" "metrics: exit code 0"
assert_eq 1 "$(promq "$M" pg2md_peak_rss_bytes 2>&1 | awk '{ print ($1 > 1000000) }')" "metrics: peak RSS"
LAST_OK=$(promq "$M" pg2md_last_success_timestamp_seconds)
assert_eq "$(promq "$M" pg2md_last_run_timestamp_seconds)" "$LAST_OK" "metrics: after a success, last success = last run"
assert_eq 1 "$(awk -v t="$LAST_OK" -v t0="$T0" -v now="$(date +%s)" 'BEGIN { print (t >= t0 && t <= now + 1) }')" \
	"metrics: the timestamps are the run's time"
assert_match "$(promq "$M" pg2md_load_lag_seconds 2>&1)" '^0(\.[0-9]+)?$' "metrics: load lag 0 right after a load"
assert_eq 1 "$(grep -c '^# TYPE pg2md_rows_total gauge$' "$M")" "metrics: one TYPE line per family"

# a failed run (wrong password): the stage is flagged, the last success is kept
sleep 1.1
assert_exit 3 env SOURCES__SQL_DATABASE__CREDENTIALS__PASSWORD=wrong-t60-pass "$PG2MD_BIN" run --project-dir "$P" --metrics-file "$M"
assert_true "metrics after a failed run: the file still parses" python3 "$T_TMP/promcheck.py" "$M" -q
assert_eq 1 "$(promq "$M" pg2md_run_failed stage=extract 2>&1)" "metrics after a failed run: pg2md_run_failed{stage=\"extract\"} 1"
assert_eq 0 "$(promq "$M" pg2md_run_failed stage=load 2>&1)" "metrics after a failed run: the other stages 0"
assert_eq 3 "$(promq "$M" pg2md_last_exit_code 2>&1)" "metrics after a failed run: exit code 3"
assert_eq "$LAST_OK" "$(promq "$M" pg2md_last_success_timestamp_seconds 2>&1)" "metrics after a failed run: the last success is kept"
assert_eq 1 "$(awk -v a="$(promq "$M" pg2md_last_run_timestamp_seconds)" -v b="$LAST_OK" 'BEGIN { print (a > b) }')" \
	"metrics after a failed run: the last run time moves on"
assert_eq 1 "$(promq "$M" pg2md_load_lag_seconds 2>&1 | awk '{ print ($1 >= 1) }')" "metrics after a failed run: the load lag grows"

# [runtime] metrics_file, relative to the project folder
make_project "$P" --tables "small"
add_runtime "$P" 'metrics_file = "m/run.prom"'
mkdir -p "$P/m"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_eq 321 "$(promq "$P/m/run.prom" pg2md_rows_total table=small 2>&1)" "[runtime] metrics_file: written, relative to the project"
assert_exit 0 "$PG2MD_BIN" info --project-dir "$P"
assert_match "$(cat "$T_OUT")" "^  runtime\.metrics_file += $P/m/run\.prom " "info shows runtime.metrics_file"
assert_exit 0 "$PG2MD_BIN" extract --project-dir "$P"
assert_eq 1 "$(promq "$P/m/run.prom" pg2md_pending_packages 2>&1)" "metrics after extract: one pending package"
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"

# --- on_failure ------------------------------------------------------------------------------

H=$T_TMP/h
WRONG="Wr0ng-t60-$$-pw"
TOK="tok-t60-$$-secret"
make_project "$H" --tables "small" --password "$WRONG"
add_runtime "$H" "on_failure = \"env > '$T_TMP/hook.env'; echo hook-ran >&2; exit 7\""
rm -f "$T_TMP/hook.env"
assert_exit 3 env PGPASSWORD="$WRONG" SOURCES__SQL_DATABASE__CREDENTIALS__PASSWORD="$WRONG" \
	MY_DB_URL="postgresql://pg2md:$WRONG@127.0.0.1/x" MY_API_TOKEN="$TOK" OTHER_SETTING="keep-me" \
	"$PG2MD_BIN" run --project-dir "$H"
assert_true "on_failure: the command ran" test -f "$T_TMP/hook.env"
HENV=$(cat "$T_TMP/hook.env" 2>/dev/null)
assert_contains "$HENV" "PG2MD_ERROR=could not connect to PostgreSQL" "on_failure: PG2MD_ERROR holds the error"
assert_contains "$HENV" "PG2MD_EXIT_CODE=3" "on_failure: PG2MD_EXIT_CODE"
assert_contains "$HENV" "PG2MD_PIPELINE=pg2md" "on_failure: PG2MD_PIPELINE"
assert_contains "$HENV" "PG2MD_STAGE=extract" "on_failure: PG2MD_STAGE"
assert_match "$HENV" "^PG2MD_LOAD_ID=" "on_failure: PG2MD_LOAD_ID"
assert_contains "$HENV" "OTHER_SETTING=keep-me" "on_failure: the rest of the environment is passed on"
assert_not_contains "$HENV" "$WRONG" "on_failure: the password appears nowhere in the hook's environment"
assert_not_contains "$HENV" "$PG2MD_TEST_PASSWORD" "on_failure: nor does the cluster's real password"
assert_not_contains "$HENV" "$TOK" "on_failure: nor a *TOKEN* variable"
assert_not_contains "$HENV" "PGPASSWORD" "on_failure: PGPASSWORD is not passed"
assert_not_contains "$HENV" "SOURCES__SQL_DATABASE__CREDENTIALS" "on_failure: no credentials variable is passed"
assert_contains "$(cat "$T_ERR")" "hook-ran" "on_failure: its output goes to pg2md's stderr"
assert_contains "$(cat "$T_ERR")" "on_failure command exited with status 7" "on_failure: a failing hook is a warning"
assert_not_contains "$(cat "$T_OUT" "$T_ERR")" "$WRONG" "on_failure: the password is not printed either"

# not run when the run succeeds
make_project "$P" --tables "small"
add_runtime "$P" "on_failure = \"touch '$T_TMP/hook-on-success'\""
assert_exit 0 "$PG2MD_BIN" run --project-dir "$P"
assert_true "on_failure: not run after a successful run" test ! -e "$T_TMP/hook-on-success"

# time-bound: a hook that hangs is stopped
sed -i "s|^on_failure = .*|on_failure = \"sleep 60; touch '$T_TMP/hook-late'\"|" "$H/.dlt/config.toml"
S0=$(date +%s)
assert_exit 3 env PG2MD_ON_FAILURE_TIMEOUT=2 "$PG2MD_BIN" run --project-dir "$H"
S1=$(date +%s)
assert_eq 1 "$(((S1 - S0) < 20))" "on_failure: a hanging hook is stopped after its timeout ($((S1 - S0)) s)"
assert_contains "$(cat "$T_ERR")" "did not finish within 2 s" "on_failure: the timeout is reported"
sleep 1
assert_true "on_failure: the stopped hook did not go on" test ! -e "$T_TMP/hook-late"

# --- cron with flock (docs/operations.md) ----------------------------------------------------

CRON=$(grep -m1 -E '^ *30 2 \* \* \*' "$PG2MD_SRC/docs/operations.md" | sed -E 's/^ *30 2 \* \* \* +//')
assert_contains "$CRON" "flock" "docs: the crontab line uses flock"
make_project "$P" --tables "big small" --config $'[postgres]\npool_size = 2\n[sources.sql_database.extract]\nworkers = 2'
mkdir -p "$T_TMP/cronlog" "$T_TMP/textfile"
# the documented command with this test's paths
CMD=${CRON//\/srv\/pg2md/$P}
CMD=${CMD//\/var\/lib\/prometheus\/node-exporter\/pg2md.prom/$T_TMP/textfile/pg2md.prom}
CMD=${CMD//\/var\/log\/pg2md\/run.log/$T_TMP/cronlog/run.log}
CMD=${CMD// pg2md run / $PG2MD_BIN run }
t_diag "cron command: $CMD"
start_paused cron1 bash -c "$CMD"
assert_true "cron: the first run is going" wait_file "$T_TMP/cron1.go.paused"
t_run bash -c "$CMD"
assert_eq 0 "$T_RC" "cron: the second, concurrent run ends well (exit 0)"
assert_true "cron: the second run did not start pg2md while the first runs" kill -0 $BG_PID
finish cron1 $BG_PID
assert_eq 0 "$BG_RC" "cron: the first run ends well"
assert_eq 1 "$(grep -c '^pg2md: loaded 2 tables' "$T_TMP/cronlog/run.log")" "cron: exactly one run loaded (the log has one summary)"
assert_eq 2000000 "$(promq "$T_TMP/textfile/pg2md.prom" pg2md_rows_total table=big 2>&1)" "cron: the run's metrics are in the textfile folder"

# the waiting variant: flock -w
CMDW=${CMD/-n -E 0/-w 120}
assert_contains "$CMDW" "flock -w 120" "cron: the flock -w variant"
start_paused cronw1 bash -c "$CMDW"
wait_file "$T_TMP/cronw1.go.paused"
bash -c "$CMDW" >"$T_TMP/cronw2.out" 2>&1 &
W2=$!
sleep 2
assert_true "cron -w: the second run waits for the first" kill -0 $W2
finish cronw1 $BG_PID
W2RC=0
wait $W2 || W2RC=$?
assert_eq 0 "$BG_RC" "cron -w: the first run ends well"
assert_eq 0 "$W2RC" "cron -w: the second run ends well, after the first"
assert_eq 3 "$(grep -c '^pg2md: loaded 2 tables' "$T_TMP/cronlog/run.log")" "cron -w: both runs loaded"
assert_table_equal public big "$P/pg2md.duckdb" pg2md_data big "cron: the destination equals the source"

# --- the systemd service (docs/operations.md) ------------------------------------------------
# Its ExecStart runs in its WorkingDirectory against this cluster, as the service would; where the
# machine runs systemd, the unit is also checked by systemd-analyze and run by systemd-run.
UNIT=$(awk '/^ *\[Service\]/{s=1} s&&/^ *$/{exit} s' "$PG2MD_SRC/docs/operations.md")
WD=$(sed -n 's/^ *WorkingDirectory=//p' <<<"$UNIT")
EXEC=$(sed -n 's/^ *ExecStart=//p' <<<"$UNIT")
assert_eq "/srv/pg2md" "$WD" "systemd: the documented service has a WorkingDirectory"
assert_match "$EXEC" 'pg2md run' "systemd: the documented ExecStart runs pg2md run"
SCMD=${EXEC//\/usr\/local\/bin\/pg2md/$PG2MD_BIN}
SCMD=${SCMD//\/var\/lib\/prometheus\/node-exporter\/pg2md.prom/$T_TMP/textfile/systemd.prom}
t_diag "systemd ExecStart here: (cd $P && $SCMD)"
t_run bash -c "cd '$P' && $SCMD"
assert_eq 0 "$T_RC" "systemd: the ExecStart command, run in the WorkingDirectory, succeeds"
assert_eq 2000000 "$(promq "$T_TMP/textfile/systemd.prom" pg2md_rows_total table=big 2>&1)" "systemd: its metrics file is written"
if [ "$(ps -o comm= -p 1 2>/dev/null)" = systemd ] && command -v systemd-run >/dev/null; then
	t_run systemd-run --wait --pipe --quiet -p WorkingDirectory="$P" $SCMD
	assert_eq 0 "$T_RC" "systemd: systemd-run runs the service command"
else
	t_diag "systemd: not running on this machine (PID 1 is $(ps -o comm= -p 1 2>/dev/null)); the unit itself was not started"
fi

t_done

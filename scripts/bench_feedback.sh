#!/usr/bin/env bash
# Feedback reports at scale: GET /reports/feedback?metric=nps by month over two years of
# N NPS answers (default 1,000,000) — whole range, whole range grouped by agent, one
# month — p50/p99 with wrk at 2 connections, on PostgreSQL and SQLite; against the bare
# aggregate the report needs (answers, promoters, detractors, sums per month, the same
# statement `persistence::feedback_reports::cells` builds) over the same rows in the
# same run: by pgbench with 2 clients on PostgreSQL, in-process with Python's sqlite3
# on SQLite; prints the ratio API p50 / bare latency.
#   scripts/bench_feedback.sh [answers=1000000] [seconds=15]
# Env: BENCH_BACKENDS ("postgres sqlite"), BENCH_SQLITE_ANSWERS (answers on SQLite;
# default the same N), BENCH_KEEP_DB=1 keeps the PostgreSQL database, BENCH_SKIP_BUILD=1
# uses the release binary already built.
#
# The data is written by SQL, not through the API (a million survey answers through
# survey links would take hours): 10,000 customers with `peyvand demo-data`, through the
# API a support team of 10 agents, an NPS survey and the feedback policy's action `none`
# (so that detractors are marked but make no follow-up tasks), then the answers by
# scripts/bench/feedback_data.py (INSERT … SELECT over generate_series on PostgreSQL,
# executemany on SQLite, the table's secondary indexes dropped before and rebuilt after)
# as the application stores a survey answer: source `survey`, metric `nps`, scores 0–10
# with a fixed distribution (25 % detractors, 30 % passives, 45 % promoters), three in
# four naming one of the agents, `negative` = score <= 6, UUIDv7 ids, created over the
# last 730 days. Before measuring, the script checks through the API that answers given
# through a survey link are stored in the same shape, and that the report's totals
# (answers, promoters 9–10, detractors 0–6), every period and every agent group equal
# what SQL counts over the same bounds; it stops if not.
set -euo pipefail
cd "$(dirname "$0")/.."
ANSWERS=${1:-1000000}
DURATION=${2:-15}
SQLITE_ANSWERS=${BENCH_SQLITE_ANSWERS:-$ANSWERS}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
BACKENDS=${BENCH_BACKENDS:-postgres sqlite}
PORT=8093
URL=http://127.0.0.1:$PORT
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
CUSTOMERS=10000

[[ ${BENCH_SKIP_BUILD:-} == 1 ]] || cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
DB=
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    if [[ -n $DB && ${BENCH_KEEP_DB:-} != 1 ]]; then psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
SUMMARY=$WORK/summary.txt
: >"$SUMMARY"
# The range: from 740 days ago to tomorrow, so that it holds every answer whatever the
# business time zone; the report cuts it into months of the business calendar.
FROM=$(date -u -d '740 days ago' +%F)
TO=$(date -u -d 'tomorrow' +%F)

wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

login() {
    curl -fs -X POST "$URL/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# wrk with a fresh token; prints the house-style lines and adds one to the summary. The
# timeout is 10 s instead of wrk's 2 s, so that a slow report counts in the latency
# rather than as an error.
wrk_run() {
    local label=$1 from=$2 to=$3 group=$4
    echo "### $label"
    BENCH_FROM=$from BENCH_TO=$to BENCH_GROUP=$group \
        wrk -t2 -c2 -d"${DURATION}s" --timeout 10s --latency -H "authorization: Bearer $(login)" \
        -s scripts/bench/feedback_report.lua "$URL" >"$WORK/wrk.out"
    grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors" "$WORK/wrk.out" || true
    python3 - "$label" "$WORK/wrk.out" >>"$SUMMARY" <<'PY'
import re, sys
label, text = sys.argv[1], open(sys.argv[2]).read()
def find(pattern):
    m = re.search(pattern, text)
    return m.group(1) if m else "?"
bad = find(r"Non-2xx or 3xx responses: (\d+)")
errors = re.search(r"Socket errors: (.*)", text)
p50, p99, rate = find(r"\n\s+50%\s+(\S+)"), find(r"\n\s+99%\s+(\S+)"), find(r"Requests/sec:\s+(\S+)")
print(f"{label:<62} p50 {p50:>9}  p99 {p99:>9}  {rate:>9} req/s"
      + (f"  NON-2XX {bad}" if bad != "?" else "") + (f"  SOCKET ERRORS {errors.group(1)}" if errors else ""))
PY
}

analyze() {
    if [[ $1 == postgres* ]]; then psql "$1" -qc ANALYZE
    else python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('ANALYZE'); c.commit()" "$1"; fi
}

# The ratio of the API's p50 (from the summary line `label`) to the bare latency in ms.
ratio() {
    python3 - "$SUMMARY" "$1" "$2" "$3" <<'PY'
import re, sys
summary, label, bare, what = open(sys.argv[1]).read(), sys.argv[2], float(sys.argv[3]), sys.argv[4]
line = [l for l in summary.splitlines() if l.startswith(label)][-1]
value, unit = re.search(r"p50\s+([\d.]+)(us|ms|s)\b", line).groups()
p50 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
print(f"{what}: API p50 / bare = {p50:.1f} / {bare:.1f} ms = {p50 / bare:.2f}")
PY
}

run_backend() {
    local name=$1 url=$2 answers=$3
    echo "## $name: $answers NPS answers, $CUSTOMERS customers, range $FROM..$TO"
    "$BIN" migrate --database-url "$url" --data-dir "$WORK/$name" >/dev/null
    local started=$SECONDS
    "$BIN" demo-data --database-url "$url" --data-dir "$WORK/$name" --customers "$CUSTOMERS" --seed 7 >"$WORK/$name-demo.log"
    echo "customers: $CUSTOMERS with peyvand demo-data in $((SECONDS - started)) s"
    "$BIN" create-admin --database-url "$url" --data-dir "$WORK/$name" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
    "$BIN" serve --database-url "$url" --data-dir "$WORK/$name" --bind "127.0.0.1:$PORT" \
        --rate-limit-per-minute 100000000 --job-workers 0 --log-format json >"$WORK/$name.out" 2>"$WORK/$name.log" &
    local server=$!
    wait_ready "$URL/api/v1/ready"
    python3 scripts/bench/feedback_data.py setup "$URL" "$url" "$WORK"
    started=$SECONDS
    python3 scripts/bench/feedback_data.py load "$url" "$WORK" "$answers"
    analyze "$url"
    local load_s=$((SECONDS - started))
    echo "load + ANALYZE: $load_s s"
    echo "$name: loaded $answers NPS answers by SQL in $load_s s (with ANALYZE)" >>"$SUMMARY"
    python3 scripts/bench/feedback_data.py verify "$URL" "$url" "$WORK" "$FROM" "$TO"
    # shellcheck disable=SC1091
    source "$WORK/month.env"
    wrk_run "$name: whole range by month ($PERIODS), $answers answers" "$FROM" "$TO" ""
    wrk_run "$name: whole range by month, group_by=agent" "$FROM" "$TO" agent
    wrk_run "$name: one month ($MONTH_FROM..$MONTH_TO)" "$MONTH_FROM" "$MONTH_TO" ""
    if [[ $url == postgres* ]]; then
        local file bare_ms label
        for file in bare_feedback bare_feedback_agent; do
            echo "### $name: bare statement $file (pgbench, 2 clients)"
            "$PGBENCH" -n -c 2 -j 2 -T "$DURATION" -f "$WORK/$file.sql" "$url" >"$WORK/pgbench.out"
            grep -E "tps|latency average|failed" "$WORK/pgbench.out"
            # The plan the database picks for it, for when the report is slow.
            psql "$url" -X -c "EXPLAIN (ANALYZE, BUFFERS) $(cat "$WORK/$file.sql")" | sed 's/^/    /'
            bare_ms=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$WORK/pgbench.out")
            label="$name: bare aggregate per month, pgbench"
            [[ $file != *agent ]] || label="$name: bare aggregate per month and agent, pgbench"
            printf '%-62s latency %8.1f ms  %9s tps\n' "$label" "$bare_ms" \
                "$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench.out" | head -1)" >>"$SUMMARY"
            if [[ $file == *agent ]]; then
                ratio "$name: whole range by month, group_by=agent" "$bare_ms" "$name: grouped by agent" >>"$SUMMARY"
            else
                ratio "$name: whole range by month (" "$bare_ms" "$name: whole range" >>"$SUMMARY"
            fi
        done
    else
        echo "### $name: bare statements (Python sqlite3, one connection)"
        python3 scripts/bench/feedback_data.py bare "$url" "$WORK" "$DURATION" | tee "$WORK/bare.out"
        local bare_ms
        bare_ms=$(sed -n 's/^bare_feedback: .*median \([0-9.]*\) ms.*/\1/p' "$WORK/bare.out")
        printf '%-62s median %8.1f ms\n' "$name: bare aggregate per month, sqlite3" "$bare_ms" >>"$SUMMARY"
        ratio "$name: whole range by month (" "$bare_ms" "$name: whole range" >>"$SUMMARY"
        bare_ms=$(sed -n 's/^bare_feedback_agent: .*median \([0-9.]*\) ms.*/\1/p' "$WORK/bare.out")
        printf '%-62s median %8.1f ms\n' "$name: bare aggregate per month and agent, sqlite3" "$bare_ms" >>"$SUMMARY"
        ratio "$name: whole range by month, group_by=agent" "$bare_ms" "$name: grouped by agent" >>"$SUMMARY"
    fi
    kill "$server"; wait "$server" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
for backend in $BACKENDS; do
    if [[ $backend == sqlite ]]; then
        run_backend sqlite "$WORK/sqlite/peyvand.db" "$SQLITE_ANSWERS"
    else
        DB="peyvand_bench_feedback_$$"
        psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
        run_backend postgres "$PG_SERVER/$DB" "$ANSWERS"
        [[ ${BENCH_KEEP_DB:-} == 1 ]] || psql "$PG_SERVER/postgres" -qc "DROP DATABASE $DB WITH (FORCE)"
        DB=
    fi
done
echo
echo "## summary (goal: feedback report p99 < 1 s at 1M NPS answers)"
cat "$SUMMARY"

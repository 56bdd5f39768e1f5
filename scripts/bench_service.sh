#!/usr/bin/env bash
# The service desk at scale: an agent's queue and the service KPI report for a quarter
# (p50/p99 with wrk at 2 connections) over N tickets with M messages, and passes of the
# SLA scan with 0, 100 and 1,000 of the open tickets (a tenth of N) due, on PostgreSQL and
# SQLite.
#   scripts/bench_service.sh [tickets=1000000] [messages=10000000] [seconds=15]
# Env: BENCH_BACKENDS ("postgres sqlite"), BENCH_SQLITE_TICKETS and BENCH_SQLITE_MESSAGES
# (default the same N and M), BENCH_KEEP_DB=1 keeps the PostgreSQL database (and says
# its URL), BENCH_DB=URL measures again on a PostgreSQL database kept so (its passes of
# the scan make more tickets due each time).
#
# Customers come from `peyvand demo-data` (one per ten tickets), the admin from
# `peyvand create-admin`, the teams, 50 support agents, their managers, the categories
# and the SLA policy through the API; the tickets, their conversations, status histories
# and breaches by SQL with scripts/bench/service_data.py (INSERT … SELECT over
# generate_series on PostgreSQL, executemany on SQLite). Before measuring, the script
# checks through the API that it reads the tickets back, that twins created through
# the API store the same derived columns, that an agent's queue is what is stored and
# that the report counts what is stored.
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS=${1:-1000000}
MESSAGES=${2:-10000000}
DURATION=${3:-15}
SQLITE_TICKETS=${BENCH_SQLITE_TICKETS:-$TICKETS}
SQLITE_MESSAGES=${BENCH_SQLITE_MESSAGES:-$MESSAGES}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
BACKENDS=${BENCH_BACKENDS:-postgres sqlite}
PORT=8093
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
URL=http://127.0.0.1:$PORT

cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
export BENCH_DIR=$WORK
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
SUMMARY=$WORK/summary.txt
: >"$SUMMARY"

wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

login() {
    curl -fs -X POST "$URL/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# wrk with a fresh admin token (queue.lua sends each agent's own); prints the house-style
# lines and adds one to the summary.
wrk_run() {
    local label=$1 script=$2 connections=$3
    echo "### $label"
    wrk -t2 -c"$connections" -d"${DURATION}s" --timeout 10s --latency -H "authorization: Bearer $(login)" \
        -s "scripts/bench/$script.lua" "$URL" >"$WORK/wrk.out"
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
print(f"{label:<58} p50 {p50:>9}  p99 {p99:>9}  {rate:>9} req/s"
      + (f"  NON-2XX {bad}" if bad != "?" else "") + (f"  SOCKET ERRORS {errors.group(1)}" if errors else ""))
PY
}

analyze() {
    if [[ $1 == postgres* ]]; then psql "$1" -qc 'VACUUM ANALYZE'
    else python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('ANALYZE'); c.commit()" "$1"; fi
}

serve() {
    "$BIN" serve --database-url "$1" --data-dir "$WORK/$2" --bind "127.0.0.1:$PORT" \
        --rate-limit-per-minute 100000000 --job-workers "$3" --log-format json >>"$WORK/$2.out" 2>>"$WORK/$2.log" &
    SERVER=$!
    wait_ready "$URL/api/v1/ready"
}

# The baselines, with the server stopped: the queue's query and the report's read of
# the range's tickets run bare against the database (pgbench with 2 clients on
# PostgreSQL; Python's sqlite3 in a loop on SQLite), latency per query.
baselines() {
    local name=$1 url=$2
    if [[ $url == postgres* ]]; then
        for bare in bare_queue bare_service_read; do
            "$PGBENCH" -n -c 2 -j 2 -T "$DURATION" -f "scripts/bench/$bare.sql" "$url" >"$WORK/pgbench.out"
            printf '%-58s latency average %s ms, %s tps\n' "$name: baseline $bare (pgbench, 2 clients)" \
                "$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$WORK/pgbench.out")" \
                "$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench.out")" | tee -a "$SUMMARY"
        done
    else
        python3 - "$url" "$name" "$DURATION" <<'PY' | tee -a "$SUMMARY"
import re, sqlite3, sys, time
from datetime import datetime, timedelta, timezone
db, name, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
con = sqlite3.connect(db)
agents = [r[0] for r in con.execute("SELECT id FROM users WHERE email LIKE 'agent%.bench@example.com' ORDER BY email")]
queue = ("SELECT t.* FROM tickets t WHERE t.owner_id = ? AND t.status IN ('new', 'open', 'pending_customer', "
         "'on_hold', 'reopened') ORDER BY t.resolution_due_at IS NOT NULL, t.resolution_due_at, t.id LIMIT 51")
# The report's range: local midnight 89 days ago in Tehran (UTC+03:30), as stored.
today = (datetime.now(timezone.utc) + timedelta(hours=3, minutes=30)).date()
since = (datetime.combine(today - timedelta(days=89), datetime.min.time()) - timedelta(hours=3, minutes=30))
read = ("SELECT created_at, first_responded_at, resolved_at, message_count, sla_policy_id IS NOT NULL, sla_breached, "
        "reassignments FROM tickets WHERE created_at >= ?")
for label, sql, args in (("bare_queue", queue, lambda i: (agents[i % len(agents)],)),
                         ("bare_service_read", read, lambda i: (since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),))):
    done, started = 0, time.time()
    while time.time() - started < seconds:
        con.execute(sql, args(done)).fetchall()
        done += 1
    took = (time.time() - started) / done
    print(f"{name + ': baseline ' + label + ' (sqlite3, 1 client)':<58} latency average {took * 1000:.3f} ms, {1 / took:.1f} qps")
PY
    fi
}

run_backend() {
    local name=$1 url=$2 tickets=$3 messages=$4
    local customers=$((tickets / 10 > 1000 ? tickets / 10 : 1000))
    echo "## $name: $tickets tickets, $messages messages"
    local started=$SECONDS load_s=0
    if [[ -n ${BENCH_DB:-} ]]; then
        serve "$url" "$name" 0
        python3 scripts/bench/service_data.py describe "$url" "$WORK"
    else
        "$BIN" migrate --database-url "$url" --data-dir "$WORK/$name" >/dev/null
        "$BIN" demo-data --database-url "$url" --data-dir "$WORK/$name" --customers "$customers" --seed 7 >"$WORK/$name-demo.log"
        echo "customers: $customers with peyvand demo-data in $((SECONDS - started)) s"
        "$BIN" create-admin --database-url "$url" --data-dir "$WORK/$name" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
        serve "$url" "$name" 0
        python3 scripts/bench/service_data.py setup "$URL" "$url" "$WORK"
        started=$SECONDS
        python3 scripts/bench/service_data.py load "$url" "$WORK" "$tickets" "$messages"
        analyze "$url"
        load_s=$((SECONDS - started))
    fi
    local counts
    counts=$(python3 -c "import sys; sys.path.insert(0, 'scripts/bench'); from sales_data import query
print(' / '.join(query(sys.argv[1], \"SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM tickets WHERE status IN ('new', 'open', 'pending_customer', 'on_hold', 'reopened')), (SELECT count(*) FROM ticket_messages), (SELECT count(*) FROM ticket_status_changes)\")[0]))" "$url")
    local how="loaded by SQL in $load_s s (with ANALYZE)"
    [[ -z ${BENCH_DB:-} ]] || how="loaded earlier"
    echo "$name: $how: tickets / open / messages / status moves = $counts" | tee -a "$SUMMARY"
    python3 scripts/bench/service_data.py verify "$URL" "$url" "$WORK"
    python3 scripts/bench/service_data.py tokens "$URL" "$WORK"
    wrk_run "$name: an agent's queue (POST /tickets/search)" queue 2
    BENCH_FROM=$(date -d '-89 days' +%F) BENCH_TO=$(date +%F) \
        wrk_run "$name: service report, the last 90 days by Jalali month" service_report 2
    BENCH_FROM=$(date -d '-454 days' +%F) BENCH_TO=$(date -d '-365 days' +%F) \
        wrk_run "$name: service report, 90 days a year ago" service_report 2
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
    baselines "$name" "$url"
    # The scan runs as a job: a process with one worker runs the passes.
    serve "$url" "$name" 1
    for due in 0 100 1000; do
        python3 scripts/bench/service_data.py scan "$url" "$due" "$name: SLA scan pass" "$WORK/$name.log" \
            | tee -a "$SUMMARY"
    done
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
for backend in $BACKENDS; do
    if [[ $backend == sqlite ]]; then
        run_backend sqlite "$WORK/sqlite/peyvand.db" "$SQLITE_TICKETS" "$SQLITE_MESSAGES"
    elif [[ -n ${BENCH_DB:-} ]]; then
        run_backend postgres "$BENCH_DB" "$TICKETS" "$MESSAGES"
    else
        DB="peyvand_bench_service_$$"
        psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
        run_backend postgres "$PG_SERVER/$DB" "$TICKETS" "$MESSAGES"
        if [[ ${BENCH_KEEP_DB:-} == 1 ]]; then echo "kept: BENCH_DB=$PG_SERVER/$DB"
        else psql "$PG_SERVER/postgres" -qc "DROP DATABASE $DB WITH (FORCE)"; fi
    fi
done
echo
echo "## summary (goals: queue p99 < 50 ms, quarter report p99 < 1 s on PostgreSQL, scan pass < 1 s at 100k open)"
cat "$SUMMARY"

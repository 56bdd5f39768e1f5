#!/usr/bin/env bash
# Behavioural event ingestion on PostgreSQL: POST /events/batch (1,000 events of five
# names about random customers of 100,000) and POST /events (one), by wrk, against a
# bare insert of the same rows (the events and the per-customer facts, without identity
# lookup, definitions or audit) by pgbench in the same run; events per second for each
# and the ratio. Afterwards the stored counts are checked against what was accepted.
#   scripts/bench_events.sh [seconds=20]
# Env: BENCH_CONNECTIONS (wrk connections for batches, default 4), BENCH_SKIP_BUILD=1
# uses the release binary already built.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
PORT=8094
URL=http://127.0.0.1:$PORT
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
CUSTOMERS=100000

[[ ${BENCH_SKIP_BUILD:-} == 1 ]] || cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
export BENCH_DIR=$WORK
DB="peyvand_bench_events_$$"
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
    rm -rf "$WORK"
}
trap cleanup EXIT
url="$PG_SERVER/$DB"
wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
count() { psql "$url" -XAtc "SELECT count(*) FROM behavioural_events"; }

# wrk's requests per second and p50/p99, and the events per second they stand for.
wrk_run() {
    local label=$1 script=$2 connections=$3 per_request=$4
    echo "### $label"
    wrk -t2 -c"$connections" -d"${DURATION}s" --timeout 10s --latency -H "authorization: Bearer $TOKEN" \
        -s "scripts/bench/$script.lua" "$URL" >"$WORK/wrk.out"
    grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors" "$WORK/wrk.out" || true
    python3 - "$label" "$WORK/wrk.out" "$per_request" <<'PY' | tee -a "$WORK/summary.txt"
import re, sys
label, text, per = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3])
rate = float(re.search(r"Requests/sec:\s+(\S+)", text).group(1))
p50, p99 = re.search(r"\n\s+50%\s+(\S+)", text).group(1), re.search(r"\n\s+99%\s+(\S+)", text).group(1)
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{label:<52} {rate * per:>9.0f} events/s  p50 {p50:>8}  p99 {p99:>8}" + (f"  NON-2XX {bad.group(1)}" if bad else ""))
PY
}

bare_run() {
    local label=$1 file=$2 clients=$3 per_tx=$4
    echo "### $label"
    "$PGBENCH" -n -c "$clients" -j 2 -T "$DURATION" -f "scripts/bench/$file.sql" -D customers=$CUSTOMERS "$url" >"$WORK/pgbench.out"
    grep -E "tps|latency average|failed" "$WORK/pgbench.out"
    local tps
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench.out" | head -1)
    printf '%-52s %9.0f events/s  latency %s ms\n' "$label" "$(python3 -c "print($tps * $per_tx)")" \
        "$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$WORK/pgbench.out")" | tee -a "$WORK/summary.txt"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
"$BIN" migrate --database-url "$url" --data-dir "$WORK/data" >/dev/null
started=$SECONDS
"$BIN" demo-data --database-url "$url" --data-dir "$WORK/data" --customers "$CUSTOMERS" --seed 7 >"$WORK/demo.log"
echo "customers: $CUSTOMERS with peyvand demo-data in $((SECONDS - started)) s"
"$BIN" create-admin --database-url "$url" --data-dir "$WORK/data" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
psql "$url" -XAtc "SELECT id FROM customers" >"$WORK/customers.txt"
psql "$url" -q <<SQL
CREATE TABLE bench_customers AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM customers;
CREATE UNIQUE INDEX ON bench_customers (n);
ANALYZE;
SQL
"$BIN" serve --database-url "$url" --data-dir "$WORK/data" --bind "127.0.0.1:$PORT" \
    --rate-limit-per-minute 100000000 --job-workers 0 --log-format json >"$WORK/server.out" 2>"$WORK/server.log" &
wait_ready "$URL/api/v1/ready"
TOKEN=$(curl -fs -X POST "$URL/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
: >"$WORK/summary.txt"

before=$(count)
wrk_run "API: POST /events/batch of 1,000, $CONNECTIONS connections" events_batch "$CONNECTIONS" 1000
batch_stored=$(( $(count) - before ))
bare_run "bare: the same 1,000 rows per transaction, 2 clients" bare_events_batch 2 1000
before=$(count)
wrk_run "API: POST /events, one event, 16 connections" events_single 16 1
single_stored=$(( $(count) - before ))
bare_run "bare: one event per transaction, 16 clients" bare_event 16 1

# What was answered was stored: the facts add up to the events.
python3 - "$url" <<'PY'
import subprocess, sys
q = lambda sql: subprocess.check_output(["psql", sys.argv[1], "-XAtc", sql], text=True).strip()
events, facts = int(q("SELECT count(*) FROM behavioural_events")), int(q("SELECT coalesce(sum(event_count), 0) FROM customer_event_stats"))
assert events == facts, (events, facts)
print(f"check: {events} events stored, facts count {facts}: equal")
PY
echo "stored by the API: $batch_stored in batches, $single_stored singly"
echo
echo "## summary (goal: >= 20,000 events/s in batches of 1,000 on PostgreSQL)"
cat "$WORK/summary.txt"
python3 - "$WORK/summary.txt" <<'PY'
import re, sys
rates = [float(m) for m in re.findall(r"\s(\d+) events/s", open(sys.argv[1]).read())]
batch, bare_batch, single, bare_single = rates
print(f"batch: API / bare = {batch:.0f} / {bare_batch:.0f} = {batch / bare_batch:.2f}")
print(f"single: API / bare = {single:.0f} / {bare_single:.0f} = {single / bare_single:.2f}")
PY

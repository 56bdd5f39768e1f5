#!/usr/bin/env bash
# Model runs at scale: loads N customers with their purchase history (`peyvand
# demo-data`), then on each backend
#   - times an `rfm` and then a `clv` run through the API, from the POST to the run's
#     success (the job reads the per-customer aggregates from the database, fits, and
#     stores a score row per buyer);
#   - times `peyvand analyze clv` on the same purchases written to a CSV file (one row
#     per purchase: customer, local day, net amount), the baseline of the same run;
#   - measures customer search on scores (p50/p99 with wrk at 2 connections);
#   - measures reports over three years by Jalali month (sales; by product; by province;
#     KPIs) with wrk at 2 connections, against the same sales sum by local day done by
#     the database alone (the baseline: what any report of the orders must read).
#   scripts/bench_model_runs.sh [customers=100000] [seconds=15]
# Env: BENCH_BACKENDS ("sqlite postgres").
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS=${1:-100000}
DURATION=${2:-15}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
ZONE=Asia/Tehran

cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

query() {
    local url=$1 sql=$2
    if [[ $url == postgres* ]]; then psql "$url" -Atc "$sql"
    else python3 -c 'import sqlite3,sys; [print("|".join(map(str, r))) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]' "$url" "$sql"; fi
}

# POSTs a run and polls it until it is final; prints the wall time and the run.
timed_run() {
    local token=$1 body=$2 started location
    started=$(date +%s.%N)
    location=$(curl -fsS -D - -o /dev/null -X POST http://127.0.0.1:8090/api/v1/analytics/runs \
        -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$body" \
        | tr -d '\r' | sed -n 's/^location: //Ip')
    while :; do
        local run
        run=$(curl -fsS "http://127.0.0.1:8090$location" -H "authorization: Bearer $token")
        local status
        status=$(echo "$run" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
        if [[ $status == succeeded || $status == failed || $status == cancelled ]]; then
            python3 - "$started" "$(date +%s.%N)" "$run" <<'PY'
import json, sys
start, end, run = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
assert run["status"] == "succeeded", run
result = run["result"]
print(f"### {run['kind']} run: {end - start:.1f} s for {result['input']['orders']} purchases of "
      f"{result['input']['customers']} buyers, {result['scored']} scores stored")
if run["kind"] == "clv":
    bg = result["bgnbd"]["parameters"]
    print(f"    BG/NBD r={bg['r']:.4f} alpha={bg['alpha']:.4f} a={bg['a']:.4f} b={bg['b']:.4f}")
PY
            return
        fi
        sleep 0.5
    done
}

# The purchases as the CLI reads them: customer, local day, net amount.
purchases_csv() {
    local url=$1 out=$2
    if [[ $url == postgres* ]]; then
        psql "$url" -qc "\\copy (SELECT customer_id, to_char(placed_at AT TIME ZONE '$ZONE', 'YYYY-MM-DD') AS date, total - refunded_total AS amount FROM orders WHERE status IN ('paid', 'fulfilled', 'partially_returned') ORDER BY customer_id, placed_at) TO '$out' CSV HEADER"
    else
        python3 - "$url" "$out" "$ZONE" <<'PY'
import csv, sqlite3, sys
from datetime import datetime
from zoneinfo import ZoneInfo
db, out, zone = sys.argv[1], sys.argv[2], ZoneInfo(sys.argv[3])
rows = sqlite3.connect(db).execute(
    "SELECT customer_id, placed_at, total - refunded_total FROM orders "
    "WHERE status IN ('paid', 'fulfilled', 'partially_returned') ORDER BY customer_id, placed_at")
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "date", "amount"])
    for customer, at, amount in rows:
        day = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(zone).date()
        w.writerow([customer, day.isoformat(), amount])
PY
    fi
}

run_backend() {
    local name=$1 url=$2
    echo "## $name, $CUSTOMERS customers"
    "$BIN" migrate --database-url "$url" --data-dir "$WORK/$name" >/dev/null
    local started=$SECONDS
    "$BIN" demo-data --database-url "$url" --data-dir "$WORK/$name" --customers "$CUSTOMERS" --seed 7 >"$WORK/$name-load.log"
    echo "loaded in $((SECONDS - started)) s: $(query "$url" "SELECT count(*) FROM orders") orders, $(query "$url" "SELECT count(*) FROM order_lines") lines"
    if [[ $url == postgres* ]]; then psql "$url" -qc ANALYZE; else query "$url" "ANALYZE" >/dev/null; fi
    "$BIN" create-admin --database-url "$url" --data-dir "$WORK/$name" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
    "$BIN" serve --database-url "$url" --data-dir "$WORK/$name" --bind 127.0.0.1:8090 \
        --rate-limit-per-minute 100000000 --log-format json >"$WORK/$name.out" 2>"$WORK/$name.log" &
    local server=$!
    wait_ready http://127.0.0.1:8090/api/v1/ready
    local token
    token=$(curl -fs -X POST http://127.0.0.1:8090/api/v1/auth/login -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    local today
    today=$(TZ=$ZONE date +%F)
    timed_run "$token" "{\"kind\": \"rfm\", \"parameters\": {\"as_of\": \"$today\"}}"
    timed_run "$token" "{\"kind\": \"clv\", \"parameters\": {\"calibration_end\": \"$today\", \"time_unit\": \"week\"}}"

    started=$(date +%s.%N)
    purchases_csv "$url" "$WORK/purchases.csv"
    local exported
    exported=$(date +%s.%N)
    "$BIN" analyze clv --transactions "$WORK/purchases.csv" --calibration-end "$today" --unit week \
        --out "$WORK/scores.csv" >"$WORK/analyze.out"
    python3 - "$started" "$exported" "$(date +%s.%N)" "$WORK/analyze.out" <<'PY'
import sys
start, exported, end = map(float, sys.argv[1:4])
fit = dict(line.split(" = ") for line in open(sys.argv[4]).read().splitlines() if " = " in line)
print(f"### baseline: writing the purchases to CSV {exported - start:.1f} s, "
      f"peyvand analyze clv {end - exported:.1f} s ({fit['transactions_used']} purchases, {fit['customers']} buyers; "
      f"r={float(fit['bgnbd.r']):.4f} alpha={float(fit['bgnbd.alpha']):.4f})")
PY
    if [[ $url == postgres* ]]; then psql "$url" -qc ANALYZE; else query "$url" "ANALYZE" >/dev/null; fi
    export BENCH_CLV
    BENCH_CLV=$(query "$url" "SELECT clv FROM customers WHERE clv IS NOT NULL ORDER BY clv LIMIT 1 OFFSET (SELECT count(*) / 2 FROM customers WHERE clv IS NOT NULL)")
    echo "### $name: customer search on scores (median CLV $BENCH_CLV)"
    wrk -t2 -c2 -d"${DURATION}s" --latency -H "authorization: Bearer $token" \
        -s scripts/bench/score_search.lua http://127.0.0.1:8090 | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true
    local from
    from=$(TZ=$ZONE date -d '3 years ago' +%F)
    export BENCH_FROM=$from BENCH_TO=$today
    for report in 1 2 3 4; do
        echo "### $name: report $(sed -n "$((report + 5))p" scripts/bench/sales_report.lua | tr -d ' ",')"
        BENCH_REPORT=$report wrk -t2 -c2 -d"${DURATION}s" --latency -H "authorization: Bearer $token" \
            -s scripts/bench/sales_report.lua http://127.0.0.1:8090 | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true
    done
    local bare started_bare
    if [[ $url == postgres* ]]; then
        bare="SELECT to_char(placed_at AT TIME ZONE '$ZONE', 'YYYY-MM-DD') AS day, count(*), sum(total), sum(refunded_total) FROM orders WHERE placed_at >= '$from' AND status IN ('paid', 'fulfilled', 'partially_returned', 'returned') GROUP BY day"
    else
        bare="SELECT substr(placed_at, 1, 10) AS day, count(*), sum(total), sum(refunded_total) FROM orders WHERE placed_at >= '$from' AND status IN ('paid', 'fulfilled', 'partially_returned', 'returned') GROUP BY day"
    fi
    started_bare=$(date +%s.%N)
    for _ in 1 2 3 4 5; do query "$url" "$bare" >/dev/null; done
    python3 -c "import sys; print(f'### {sys.argv[1]}: baseline, the same orders summed per day by the database alone: {(float(sys.argv[3]) - float(sys.argv[2])) / 5 * 1000:.0f} ms per query')" "$name" "$started_bare" "$(date +%s.%N)"
    kill "$server"; wait "$server" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
for backend in $BACKENDS; do
    if [[ $backend == sqlite ]]; then
        run_backend sqlite "$WORK/sqlite/peyvand.db"
    else
        DB="peyvand_bench_$$"
        psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
        run_backend postgres "$PG_SERVER/$DB"
        psql "$PG_SERVER/postgres" -qc "DROP DATABASE $DB WITH (FORCE)"
    fi
done

#!/usr/bin/env bash
# Commerce at scale: loads N customers with their purchase history (`peyvand demo-data`),
# then measures order search by customer and period and customer search on purchase
# facts (p50/p99 with wrk at 2 connections) on SQLite and PostgreSQL; on PostgreSQL
# also POST /orders (three lines) at 64 connections against a bare insert of the same
# rows with pgbench in the same run, and the purchase-history import (`peyvand import
# orders`, lines per second) of a generated file.
#   scripts/bench_orders.sh [customers=100000] [seconds=15] [import_lines=100000 (at most 250000)]
# Env: BENCH_BACKENDS ("sqlite postgres").
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS=${1:-100000}
DURATION=${2:-15}
IMPORT_LINES=${3:-100000}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}

cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
export BENCH_DIR=$WORK
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

query() {
    local url=$1 sql=$2
    if [[ $url == postgres* ]]; then psql "$url" -Atc "$sql"
    else python3 -c 'import sqlite3,sys; [print("|".join(map(str, r))) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]' "$url" "$sql"; fi
}

wrk_run() {
    local label=$1 script=$2 connections=$3 token=$4
    echo "### $label"
    wrk -t2 -c"$connections" -d"${DURATION}s" --latency -H "authorization: Bearer $token" \
        -s "scripts/bench/$script.lua" http://127.0.0.1:8090 | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true
}

# A purchase-history file of IMPORT_LINES lines, three per order, for stored customers
# and catalogue SKUs, with Jalali dates and Persian digits.
import_file() {
    local url=$1
    query "$url" "SELECT code FROM customers WHERE code IS NOT NULL ORDER BY id LIMIT 20000" >"$WORK/codes.txt"
    query "$url" "SELECT sku FROM products" >"$WORK/skus.txt"
    python3 - "$WORK" "$IMPORT_LINES" <<'PY'
import random, sys
work, lines = sys.argv[1], int(sys.argv[2])
codes = open(f"{work}/codes.txt").read().split()
skus = open(f"{work}/skus.txt").read().split()
digits = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
rng = random.Random(7)
with open(f"{work}/orders.csv", "w") as out:
    out.write("order_reference,customer,placed_at,sku,quantity\n")
    for n in range(lines):
        order = n // 3
        if n % 3 == 0:
            code = rng.choice(codes)
            day = f"{rng.randint(1398, 1403)}/{rng.randint(1, 12):02d}/{rng.randint(1, 29):02d}"
        out.write(f"BENCH-{order},{code},{day.translate(digits)},{rng.choice(skus)},{rng.randint(1, 3)}\n")
PY
}

run_backend() {
    local name=$1 url=$2
    echo "## $name, $CUSTOMERS customers"
    "$BIN" migrate --database-url "$url" --data-dir "$WORK/$name" >/dev/null
    local started=$SECONDS
    "$BIN" demo-data --database-url "$url" --data-dir "$WORK/$name" --customers "$CUSTOMERS" --seed 7 >"$WORK/$name-load.log"
    echo "loaded in $((SECONDS - started)) s: $(query "$url" "SELECT count(*) FROM orders") orders, $(query "$url" "SELECT count(*) FROM order_lines") lines"
    if [[ $url == postgres* ]]; then psql "$url" -qc ANALYZE; else query "$url" "ANALYZE" >/dev/null; fi
    if [[ $url == postgres* ]]; then
        import_file "$url"
        started=$(date +%s.%N)
        "$BIN" import orders "$WORK/orders.csv" --database-url "$url" --data-dir "$WORK/$name" \
            --options <(echo '{"source": "bench"}') >"$WORK/import.json"
        python3 - "$started" "$(date +%s.%N)" "$IMPORT_LINES" "$WORK/import.json" <<'PY'
import json, sys
start, end, lines, report = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), json.load(open(sys.argv[4]))
assert report["outcome"] == "imported", report
print(f"### import: {lines} lines, {report['orders']} orders in {end - start:.1f} s = {lines / (end - start):.0f} lines/s")
PY
        psql "$url" -qc ANALYZE
    fi
    "$BIN" create-admin --database-url "$url" --data-dir "$WORK/$name" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
    query "$url" "SELECT id FROM customers WHERE order_count > 0 ORDER BY random() LIMIT 2000" >"$WORK/buyers.txt"
    query "$url" "SELECT id FROM products" >"$WORK/products.txt"
    "$BIN" serve --database-url "$url" --data-dir "$WORK/$name" --bind 127.0.0.1:8090 \
        --rate-limit-per-minute 100000000 --job-workers 0 --log-format json >"$WORK/$name.out" 2>"$WORK/$name.log" &
    local server=$!
    wait_ready http://127.0.0.1:8090/api/v1/ready
    local token
    token=$(curl -fs -X POST http://127.0.0.1:8090/api/v1/auth/login -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    wrk_run "$name: order search by customer and period" order_search 2 "$token"
    wrk_run "$name: customer search on purchase facts" facts_search 2 "$token"
    if [[ $url == postgres* ]]; then
        wrk_run "$name: POST /orders, 3 lines, 64 connections" create_order 64 "$token"
        psql "$url" -q <<SQL
CREATE TABLE bench_buyers AS SELECT row_number() OVER () AS n, id FROM customers WHERE order_count > 0 LIMIT 2000;
CREATE UNIQUE INDEX ON bench_buyers (n);
CREATE TABLE bench_products AS SELECT row_number() OVER () AS n, id FROM products;
CREATE UNIQUE INDEX ON bench_products (n);
SQL
        echo "### $name: bare insert of the same rows (pgbench, 64 clients)"
        pgbench -n -c 64 -j 2 -T "$DURATION" -f scripts/bench/bare_order.sql \
            -D buyers="$(wc -l <"$WORK/buyers.txt")" -D products="$(wc -l <"$WORK/products.txt")" "$url" \
            | grep -E "tps|latency average"
    fi
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

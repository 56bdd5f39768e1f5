#!/usr/bin/env bash
# Customer 360 at scale: loads N customers with `peyvand demo-data`, then measures with
# wrk the latency of get-by-id, a filtered search and a Persian quick search on SQLite
# and PostgreSQL. Run it for 100k and 1M to see how cost grows.
#   scripts/bench_customers.sh [customers=1000000] [seconds=20] [connections=2]
# Env: BENCH_BACKENDS ("sqlite postgres"), BENCH_KEEP_DB=1 keeps the PostgreSQL database.
# Two connections on two cores measure latency without queueing; more connections
# measure throughput, with latency that is mostly time spent waiting in line.
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS=${1:-1000000}
DURATION=${2:-20}
CONNECTIONS=${3:-2}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}

cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
export BENCH_DIR=$WORK
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

# Samples the benchmark draws from: ids, cities and last names (with Arabic letter forms).
sample() {
    local url=$1
    python3 - "$url" "$WORK" <<'PY'
import sys, random, subprocess, sqlite3
url, work = sys.argv[1], sys.argv[2]
queries = {
    "ids": "SELECT id FROM customers WHERE merged_into_id IS NULL ORDER BY random() LIMIT 2000",
    "cities": "SELECT DISTINCT city FROM customers WHERE city IS NOT NULL LIMIT 200",
    "names": "SELECT last_name FROM customers WHERE last_name IS NOT NULL ORDER BY random() LIMIT 500",
}
for name, sql in queries.items():
    if url.startswith("postgres"):
        rows = subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True, text=True).stdout.splitlines()
    else:
        rows = [str(r[0]) for r in sqlite3.connect(url).execute(sql)]
    if name == "names":
        rows = [r.replace("ی", "ي").replace("ک", "ك") for r in rows]
    open(f"{work}/{name}.txt", "w").write("\n".join(rows) + "\n")
PY
}

run_backend() {
    local name=$1 url=$2
    echo "## $name, $CUSTOMERS customers"
    "$BIN" migrate --database-url "$url" --data-dir "$WORK/$name" >/dev/null
    local started=$SECONDS
    "$BIN" demo-data --database-url "$url" --data-dir "$WORK/$name" --customers "$CUSTOMERS" --seed 7 >"$WORK/$name-load.log"
    echo "loaded in $((SECONDS - started)) s"
    # Fresh planner statistics, as autovacuum (PostgreSQL) or a periodic
    # `PRAGMA optimize` (SQLite) would have them on a live database.
    if [[ $url == postgres* ]]; then psql "$url" -qc ANALYZE; else python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('ANALYZE'); c.commit()" "$url"; fi
    "$BIN" create-admin --database-url "$url" --data-dir "$WORK/$name" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
    sample "$url"
    "$BIN" serve --database-url "$url" --data-dir "$WORK/$name" --bind 127.0.0.1:8090 \
        --rate-limit-per-minute 100000000 --job-workers 0 --log-format json >"$WORK/$name.out" 2>"$WORK/$name.log" &
    local server=$!
    wait_ready http://127.0.0.1:8090/api/v1/ready
    local token
    token=$(curl -fs -X POST http://127.0.0.1:8090/api/v1/auth/login -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    for scenario in get_customer search_filter search_q; do
        echo "### $name: $scenario"
        wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "authorization: Bearer $token" \
            -s "scripts/bench/$scenario.lua" http://127.0.0.1:8090 | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true
    done
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
        # BENCH_KEEP_DB=1 leaves the database for EXPLAIN and re-runs.
        if [[ ${BENCH_KEEP_DB:-0} == 1 ]]; then echo "kept database $DB"; else
            psql "$PG_SERVER/postgres" -qc "DROP DATABASE $DB WITH (FORCE)"
        fi
    fi
done

#!/usr/bin/env bash
# Load benchmark of `GET /api/v1/users/{id}` (authenticated, full middleware stack)
# against a bare actix handler running the same query through the same pool, on SQLite
# and PostgreSQL, measured in the same run. Results go to docs/benchmarks.md by hand.
#   scripts/bench_http.sh [seconds=20] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20}
CONNECTIONS=${2:-64}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}

cargo build --release --bin peyvand --example bare_user_lookup
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$TARGET_DIR/release/peyvand
BARE=$TARGET_DIR/release/examples/bare_user_lookup
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

wait_ready() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

run_backend() {
    local name=$1 url=$2
    PEYVAND_ADMIN_EMAIL=bench@example.com PEYVAND_ADMIN_PASSWORD=quiet-harbor-lantern-42 \
        "$BIN" serve --database-url "$url" --data-dir "$WORK/$name" --bind 127.0.0.1:8090 \
        --rate-limit-per-minute 100000000 --log-format json >"$WORK/$name.out" 2>"$WORK/$name.log" &
    local server=$!
    wait_ready http://127.0.0.1:8090/api/v1/ready
    local token user_id
    token=$(curl -fs -X POST http://127.0.0.1:8090/api/v1/auth/login -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    user_id=$(curl -fs http://127.0.0.1:8090/api/v1/users/me -H "authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    "$BARE" "$url" 127.0.0.1:8091 >/dev/null 2>&1 &
    local bare=$!
    wait_ready "http://127.0.0.1:8091/users/$user_id"

    echo "### $name: bare handler"
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:8091/users/$user_id"
    echo "### $name: GET /api/v1/users/{id}"
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "authorization: Bearer $token" \
        "http://127.0.0.1:8090/api/v1/users/$user_id"
    kill "$server" "$bare"; wait "$server" "$bare" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
run_backend sqlite "$WORK/sqlite/peyvand.db"
DB="peyvand_bench_$$"
psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
run_backend postgres "$PG_SERVER/$DB"
psql "$PG_SERVER/postgres" -qc "DROP DATABASE $DB WITH (FORCE)"

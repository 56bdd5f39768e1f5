#!/usr/bin/env bash
# A soak on PostgreSQL: N customers with their purchase histories (`peyvand demo-data`),
# two server processes on the one database (each with a job worker, as behind a load
# balancer), and `scripts/soak_load.py` sending a mixed load to both for a while:
# reads, searches, customer writes, an import every 30 s, webhook deliveries to a local
# receiver, sales reports and a segment refresh every minute, beside the recurring jobs.
# Prints per endpoint family the requests, 5xx answers and p50/p99, and each server's
# resident memory over the run; fails on any 5xx.
#   scripts/soak.sh [customers=1000000] [seconds=600]
# Env: BENCH_SKIP_BUILD=1 uses the release binary already built; BENCH_DATABASE=<name>
# loads the customers into that database once and keeps it for later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS=${1:-1000000}
SECONDS_TO_RUN=${2:-600}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}

[[ ${BENCH_SKIP_BUILD:-} == 1 ]] || cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
DB=${BENCH_DATABASE:-peyvand_soak_$$}
# A kept database keeps its data directory too: the credential key there seals the
# webhook subscriptions' secrets, which a later run must still open.
DATA=$WORK/data
[[ -z ${BENCH_DATABASE:-} ]] || DATA=${XDG_CACHE_HOME:-$HOME/.cache}/peyvand-soak/$DB-data
mkdir -p "$DATA"
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    [[ -n ${BENCH_DATABASE:-} ]] || psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
    rm -rf "$WORK"
}
trap cleanup EXIT
url="$PG_SERVER/$DB"
wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
if [[ -z $(psql "$PG_SERVER/postgres" -XAtc "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
    psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
    "$BIN" migrate --database-url "$url" --data-dir "$DATA" >/dev/null
    started=$SECONDS
    "$BIN" demo-data --database-url "$url" --data-dir "$DATA" --customers "$CUSTOMERS" --seed 23 >"$WORK/demo.log"
    echo "loaded $CUSTOMERS customers in $((SECONDS - started)) s"
    "$BIN" create-admin --database-url "$url" --data-dir "$DATA" --email bench@example.com \
        --password quiet-harbor-lantern-42 >/dev/null
    psql "$url" -qc 'VACUUM ANALYZE'
fi
"$BIN" migrate --database-url "$url" --data-dir "$DATA" >/dev/null
echo "customers: $(psql "$url" -XAtc 'SELECT count(*) FROM customers'), orders: $(psql "$url" -XAtc 'SELECT count(*) FROM orders')"

pids=()
for port in 8101 8102; do
    "$BIN" serve --database-url "$url" --data-dir "$DATA" --bind "127.0.0.1:$port" \
        --rate-limit-per-minute 100000000 --job-workers 1 --webhooks-allow-private-targets \
        --log-format json >/dev/null 2>"$WORK/server-$port.log" &
    pids+=($!)
    wait_ready "http://127.0.0.1:$port/api/v1/ready"
done
TOKEN=$(curl -fs -X POST http://127.0.0.1:8101/api/v1/auth/login -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# The access token must outlive the run: for a soak longer than its 15 minutes, start the
# script with a longer one (e.g. PEYVAND_ACCESS_TOKEN_TTL=3600, which the servers read).
SOAK_PIDS="${pids[*]}" python3 scripts/soak_load.py "$SECONDS_TO_RUN" "$TOKEN" \
    http://127.0.0.1:8101 http://127.0.0.1:8102
echo "jobs: $(psql "$url" -XAtc "SELECT string_agg(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM jobs GROUP BY status) s")"

#!/usr/bin/env bash
# Report latency read from a PostgreSQL streaming replica beside the same reports read
# from the primary. Sets up its own pair of PostgreSQL clusters under a temporary
# directory (a primary on port 5441 and a hot standby made by pg_basebackup on 5442,
# run as the `postgres` user), loads N customers with their purchase histories
# (`peyvand demo-data`), and starts two servers on the primary: one reading reports
# from it, one with `--replica-database-url` on the standby. Each report is asked
# REQUESTS times in turn of each server, one request at a time.
#   scripts/bench_replica.sh [customers=100000] [requests=50]
# Env: BENCH_SKIP_BUILD=1 uses the release binary already built.
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS=${1:-100000}
REQUESTS=${2:-50}
PG_BIN=/usr/lib/postgresql/$(ls /etc/postgresql | head -n 1)/bin

[[ ${BENCH_SKIP_BUILD:-} == 1 ]] || cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
chown postgres "$WORK"
as_postgres() { runuser -u postgres -- "$@"; }
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    for cluster in standby primary; do
        [[ -d $WORK/$cluster ]] && as_postgres "$PG_BIN/pg_ctl" -D "$WORK/$cluster" -m immediate stop >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
as_postgres "$PG_BIN/initdb" -D "$WORK/primary" -A trust -U postgres >/dev/null
echo "host replication all 127.0.0.1/32 trust" >>"$WORK/primary/pg_hba.conf"
as_postgres "$PG_BIN/pg_ctl" -D "$WORK/primary" -l "$WORK/primary.log" -w \
    -o "-p 5441 -k $WORK -c wal_level=replica -c max_wal_senders=4" start >/dev/null
primary=postgres://postgres@127.0.0.1:5441/peyvand
standby=postgres://postgres@127.0.0.1:5442/peyvand
psql "postgres://postgres@127.0.0.1:5441/postgres" -qc "CREATE DATABASE peyvand"
"$BIN" migrate --database-url "$primary" --data-dir "$WORK/data" >/dev/null
started=$SECONDS
"$BIN" demo-data --database-url "$primary" --data-dir "$WORK/data" --customers "$CUSTOMERS" --seed 17 >"$WORK/demo.log"
echo "loaded $CUSTOMERS customers in $((SECONDS - started)) s"
"$BIN" create-admin --database-url "$primary" --data-dir "$WORK/data" --email bench@example.com \
    --password quiet-harbor-lantern-42 >/dev/null
psql "$primary" -qc 'VACUUM ANALYZE'

as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p 5441 -U postgres -D "$WORK/standby" -R -X stream -c fast
as_postgres "$PG_BIN/pg_ctl" -D "$WORK/standby" -l "$WORK/standby.log" -w -o "-p 5442 -k $WORK" start >/dev/null
echo "standby in recovery: $(psql "$standby" -XAtc 'SELECT pg_is_in_recovery()'), orders there: $(psql "$standby" -XAtc 'SELECT count(*) FROM orders')"

serve() {
    "$BIN" serve --database-url "$primary" --data-dir "$WORK/data" --bind "127.0.0.1:$1" \
        --rate-limit-per-minute 100000000 --job-workers 0 "${@:2}" >/dev/null 2>"$WORK/server-$1.log" &
    wait_ready "http://127.0.0.1:$1/api/v1/ready"
}
serve 8097
serve 8098 --replica-database-url "$standby"
TOKEN=$(curl -fs -X POST http://127.0.0.1:8097/api/v1/auth/login -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# Prints the latencies (ms) of $REQUESTS sequential requests of path $2 on port $1.
timings() {
    for _ in $(seq 1 "$REQUESTS"); do
        curl -fsS -o /dev/null -w '%{time_total}\n' -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$1$2"
    done
}
summary() {
    python3 -c '
import statistics, sys
ms = sorted(float(line) * 1000 for line in sys.stdin if line.strip())
print(f"p50 {statistics.median(ms):7.1f} ms  p95 {ms[int(0.95 * (len(ms) - 1))]:7.1f} ms")'
}

printf '%-34s %-32s %-32s %s\n' report primary replica "ratio (p50)"
for report in "sales?from=2024-03-20&to=2026-03-20&bucket=month" \
    "kpis?from=2025-03-21&to=2026-03-20&bucket=quarter" \
    "cohorts?from=2024-03-20&to=2026-03-20&bucket=quarter"; do
    path="/api/v1/reports/$report"
    timings 8097 "$path" >/dev/null # warm both
    timings 8098 "$path" >/dev/null
    on_primary=$(timings 8097 "$path" | summary)
    on_replica=$(timings 8098 "$path" | summary)
    ratio=$(python3 -c "print(f'{float(\"$(echo "$on_replica" | awk '{print $2}')\") / float(\"$(echo "$on_primary" | awk '{print $2}')\"):.2f}')")
    printf '%-34s %-32s %-32s %s\n' "${report%%\?*}" "$on_primary" "$on_replica" "$ratio"
done

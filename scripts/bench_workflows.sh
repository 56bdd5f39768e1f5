#!/usr/bin/env bash
# Workflow throughput on PostgreSQL: a three-step workflow (give loyalty points, tag,
# change a field) triggered by a behavioural event; RUNS events about distinct customers
# of 20,000 are sent in batches of 1,000 and the clock runs until every run has
# completed, taken by the server's job workers (--job-workers, default 2). Baseline in
# the same run: the same three writes per customer, bare, by pgbench (one transaction
# each, 2 clients). Afterwards every run's log and effects are checked.
#   scripts/bench_workflows.sh [runs=5000]
# Env: BENCH_JOB_WORKERS (default 2), BENCH_SKIP_BUILD=1 uses the release binary
# already built.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5000}
JOB_WORKERS=${BENCH_JOB_WORKERS:-2}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
PORT=8095
URL=http://127.0.0.1:$PORT
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
CUSTOMERS=20000

[[ ${BENCH_SKIP_BUILD:-} == 1 ]] || cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
DB="peyvand_bench_workflows_$$"
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
    rm -rf "$WORK"
}
trap cleanup EXIT
url="$PG_SERVER/$DB"
q() { psql "$url" -XAtc "$1"; }
wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
api() {
    curl -fsS -X "$1" "$URL$2" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$3"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
"$BIN" migrate --database-url "$url" --data-dir "$WORK/data" >/dev/null
"$BIN" demo-data --database-url "$url" --data-dir "$WORK/data" --customers "$CUSTOMERS" --seed 11 >"$WORK/demo.log"
"$BIN" create-admin --database-url "$url" --data-dir "$WORK/data" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
"$BIN" serve --database-url "$url" --data-dir "$WORK/data" --bind "127.0.0.1:$PORT" \
    --rate-limit-per-minute 100000000 --job-workers "$JOB_WORKERS" --log-format json >"$WORK/server.out" 2>"$WORK/server.log" &
wait_ready "$URL/api/v1/ready"
TOKEN=$(curl -fs -X POST "$URL/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
TAG=$(api POST /api/v1/tags '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api POST /api/v1/workflows "{\"name\":\"bench\",\"trigger\":{\"kind\":\"behaviour\",\"name\":\"bench.tick\"},
  \"steps\":[{\"kind\":\"add_loyalty_points\",\"points\":10,\"reason\":\"bench\"},
             {\"kind\":\"tag\",\"tag_id\":\"$TAG\"},
             {\"kind\":\"update_field\",\"field\":\"acquisition_campaign\",\"value\":\"bench\"}]}" >/dev/null
# The events, 1,000 per batch, each about another customer.
q "SELECT id FROM customers ORDER BY random() LIMIT $RUNS" >"$WORK/customers.txt"
python3 - "$WORK" <<'PY'
import json, sys
ids = open(f"{sys.argv[1]}/customers.txt").read().split()
for n in range(0, len(ids), 1000):
    batch = [{"name": "bench.tick", "customer": {"id": i}} for i in ids[n:n + 1000]]
    open(f"{sys.argv[1]}/batch{n // 1000:04d}.json", "w").write(json.dumps({"events": batch}))
PY

started=$(date +%s.%N)
for batch in "$WORK"/batch*.json; do
    api POST /api/v1/events/batch "@$batch" >/dev/null
done
sent=$(date +%s.%N)
while [[ $(q "SELECT count(*) FROM workflow_runs WHERE status IN ('pending', 'running')") != 0 ]]; do sleep 0.2; done
finished=$(date +%s.%N)
completed=$(q "SELECT count(*) FROM workflow_runs WHERE status = 'completed'")

# Baseline: the same writes, bare.
psql "$url" -q <<SQL
CREATE TABLE bench_customers AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM customers;
CREATE UNIQUE INDEX ON bench_customers (n);
CREATE TABLE bench_tag AS SELECT id FROM labels WHERE id = '$TAG';
ANALYZE;
SQL
"$PGBENCH" -n -c 2 -j 2 -t $((RUNS / 2)) -f scripts/bench/bare_workflow_run.sql -D customers=$CUSTOMERS "$url" >"$WORK/pgbench.out"
bare_tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench.out" | head -1)

# What ran did what it says: three steps logged per run, the points and the tag there.
steps=$(q "SELECT count(*) FROM workflow_run_steps s JOIN workflow_runs r ON r.id = s.run_id WHERE r.status = 'completed' AND s.outcome = 'done'")
python3 - "$RUNS" "$completed" "$steps" "$started" "$sent" "$finished" "$bare_tps" <<'PY'
import sys
runs, completed, steps = (int(v) for v in sys.argv[1:4])
started, sent, finished, bare = (float(v) for v in sys.argv[4:8])
assert completed == runs, (completed, runs)
assert steps == 3 * runs, (steps, runs)
rate = runs / (finished - started)
print(f"events sent in {sent - started:.1f} s; {runs} runs completed in {finished - started:.1f} s")
print(f"check: {completed} runs completed, {steps} steps done (3 each)")
print()
print("## summary")
print(f"workflow runs (3 steps each), end to end   {rate:8.0f} runs/s")
print(f"bare: the same writes per transaction      {bare:8.0f} runs/s")
print(f"ratio workflow / bare = {rate / bare:.2f}")
PY

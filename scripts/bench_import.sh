#!/usr/bin/env bash
# Import throughput: a generated CSV of N customers (name, mobile, e-mail, national code,
# city, postal code) imported through `POST /api/v1/imports` by a release build, on
# PostgreSQL and SQLite. Prints the job's own run time (from the server log) and the
# wall time from upload to finished job, with rows per second for each.
#   scripts/bench_import.sh [rows=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
PORT=8092
BASE=http://127.0.0.1:$PORT

cargo build --release --bin peyvand
BIN=${CARGO_TARGET_DIR:-target}/release/peyvand
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

python3 - "$ROWS" "$WORK/customers.csv" <<'EOF'
import sys

rows, path = int(sys.argv[1]), sys.argv[2]

def national_code(seed):
    digits = [int(d) for d in f"{seed:09d}"]
    remainder = sum(d * (10 - i) for i, d in enumerate(digits)) % 11
    check = remainder if remainder < 2 else 11 - remainder
    return "".join(map(str, digits)) + str(check)

cities = ["تهران", "تبریز", "شیراز", "اصفهان", "مشهد"]
with open(path, "w", encoding="utf-8") as out:
    out.write("code,first_name,last_name,mobile,email,national_code,city,postal_code,birth_date\n")
    for i in range(rows):
        out.write(
            f"B-{i},علی{i},کریمی{i},0912{i:07d},user{i}@example.ir,{national_code(100_000 + i)},"
            f"{cities[i % len(cities)]},1966936541,1369/01/{1 + i % 28:02d}\n"
        )
EOF
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p'); file: $ROWS rows, $(du -h "$WORK/customers.csv" | cut -f1)"

wait_ready() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

run_backend() {
    local name=$1 url=$2
    PEYVAND_ADMIN_EMAIL=bench@example.com PEYVAND_ADMIN_PASSWORD=quiet-harbor-lantern-42 \
        "$BIN" serve --database-url "$url" --data-dir "$WORK/$name" --bind "127.0.0.1:$PORT" \
        --job-workers 1 --log-format json >"$WORK/$name.out" 2>"$WORK/$name.log" &
    local server=$!
    wait_ready "$BASE/api/v1/ready"
    local token job status started finished elapsed_ms
    token=$(curl -fs -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' | json '["access_token"]')
    started=$(date +%s.%N)
    job=$(curl -fs -X POST "$BASE/api/v1/imports" -H "authorization: Bearer $token" \
        -F "file=@$WORK/customers.csv;type=text/csv" -F 'options={};type=application/json' | json '["id"]')
    while :; do
        status=$(curl -fs "$BASE/api/v1/jobs/$job" -H "authorization: Bearer $token" | json '["status"]')
        case $status in succeeded|failed|cancelled) break ;; esac
        sleep 0.2
    done
    finished=$(date +%s.%N)
    curl -fs "$BASE/api/v1/jobs/$job" -H "authorization: Bearer $token" | python3 -c '
import json, sys
job = json.load(sys.stdin)
result = job["result"] or {}
print(job["status"], {key: result.get(key) for key in ("outcome", "created", "rejected")}, job["errors"])'
    elapsed_ms=$(grep '"job succeeded"' "$WORK/$name.log" | grep -o '"elapsed_ms":[0-9]*' | tail -1 | cut -d: -f2)
    python3 - "$name" "$ROWS" "$elapsed_ms" "$started" "$finished" <<'EOF'
import sys
name, rows, job_ms, started, finished = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
wall = finished - started
line = f"{name}: wall {wall:.1f} s ({rows / wall:,.0f} rows/s)"
if job_ms:
    seconds = int(job_ms) / 1000
    line += f"; job {seconds:.1f} s ({rows / seconds:,.0f} rows/s)"
print(line)
EOF
    kill "$server"; wait "$server" 2>/dev/null || true
}

DB="peyvand_bench_$$"
psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
run_backend postgres "$PG_SERVER/$DB"
psql "$PG_SERVER/postgres" -qc "DROP DATABASE $DB WITH (FORCE)"
run_backend sqlite "$WORK/sqlite/peyvand.db"

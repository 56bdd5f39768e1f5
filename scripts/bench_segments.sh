#!/usr/bin/env bash
# Segment materialisation at scale on PostgreSQL: loads N customers with their purchase
# histories (`peyvand demo-data`), defines a dynamic segment over purchase facts and
# times the `segments.refresh` job that materialises it, three times: the first refresh
# (every match enters), one after the condition changes (some leave, others enter) and
# one with nothing to change. Baseline in the same run: the same writes done bare by
# psql, set-based — the open spells of the first refresh and an outbox event for each,
# with no difference walk, no history and no fan-out.
#   scripts/bench_segments.sh [customers=1000000]
# Env: BENCH_SKIP_BUILD=1 uses the release binary already built; BENCH_DATABASE=<name>
# loads the customers into that database once and keeps it for later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS=${1:-1000000}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
PORT=8096
URL=http://127.0.0.1:$PORT

[[ ${BENCH_SKIP_BUILD:-} == 1 ]] || cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
DB=${BENCH_DATABASE:-peyvand_bench_segments_$$}
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    [[ -n ${BENCH_DATABASE:-} ]] || psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
    rm -rf "$WORK"
}
trap cleanup EXIT
url="$PG_SERVER/$DB"
q() { psql "$url" -XAtc "$1"; }
wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
api() {
    curl -sS --fail-with-body -X "$1" "$URL$2" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$3"
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
if [[ -z $(psql "$PG_SERVER/postgres" -XAtc "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
    psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
    "$BIN" migrate --database-url "$url" --data-dir "$WORK/data" >/dev/null
    started=$SECONDS
    "$BIN" demo-data --database-url "$url" --data-dir "$WORK/data" --customers "$CUSTOMERS" --seed 13 >"$WORK/demo.log"
    echo "loaded $CUSTOMERS customers in $((SECONDS - started)) s"
    "$BIN" create-admin --database-url "$url" --data-dir "$WORK/data" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
fi
"$BIN" migrate --database-url "$url" --data-dir "$WORK/data" >/dev/null
# Earlier runs' segments go, so every run starts from no members.
q "DELETE FROM segments; DELETE FROM events; DELETE FROM jobs WHERE kind = 'segments.refresh'" >/dev/null
psql "$url" -qc 'VACUUM ANALYZE'
echo "customers: $(q 'SELECT count(*) FROM customers WHERE merged_into_id IS NULL'), orders: $(q 'SELECT count(*) FROM orders')"

"$BIN" serve --database-url "$url" --data-dir "$WORK/data" --bind "127.0.0.1:$PORT" \
    --rate-limit-per-minute 100000000 --job-workers 1 --log-format json >"$WORK/server.out" 2>"$WORK/server.log" &
wait_ready "$URL/api/v1/ready"
TOKEN=$(curl -fs -X POST "$URL/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' | json '["access_token"]')

# The run time the server logged for job `$1`, in seconds.
elapsed() {
    python3 - "$WORK/server.log" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    fields = {**entry, **entry.get("fields", {}), **entry.get("span", {})}
    if fields.get("job_id") == sys.argv[2] and "elapsed_ms" in fields:
        print(f"{fields['elapsed_ms'] / 1000:.1f}")
PY
}

# Waits for the refresh job keyed `$1` and prints its own run time and the members.
timed_refresh() {
    local key=$1 label=$2 started=$3 id status
    while :; do
        status=$(q "SELECT status FROM jobs WHERE kind = 'segments.refresh' AND occurrence_key = '$key'")
        [[ $status == succeeded || $status == failed || $status == cancelled ]] && break
        sleep 0.2
    done
    local wall
    wall=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
    id=$(q "SELECT id FROM jobs WHERE kind = 'segments.refresh' AND occurrence_key = '$key'")
    echo "$label: job $status in $(elapsed "$id") s (wall $wall s); result $(q "SELECT result FROM jobs WHERE id = '$id'")"
}

FIRST='{"field": "order_count", "op": "gte", "value": 2}'
# A merge patch merges objects: the first condition's members are removed by name.
SECOND_PATCH='{"field": null, "op": null, "value": null, "or": [{"field": "order_count", "op": "gte", "value": 3}, {"field": "city", "op": "eq", "value": "تهران"}]}'
started=$(date +%s.%N)
SEGMENT=$(api POST /api/v1/segments "{\"name\": \"bench\", \"kind\": \"dynamic\", \"condition\": $FIRST}" | json '["id"]')
timed_refresh "segments.refresh:$SEGMENT:version:1" "first refresh (enter)" "$started"
started=$(date +%s.%N)
VERSION=$(api GET "/api/v1/segments/$SEGMENT" '' | json '["version"]')
ETAG=$(curl -fsS -o /dev/null -D - "$URL/api/v1/segments/$SEGMENT" -H "authorization: Bearer $TOKEN" | sed -n 's/^etag: *//Ip' | tr -d '\r')
curl -sS --fail-with-body -X PATCH "$URL/api/v1/segments/$SEGMENT" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/merge-patch+json' -H "if-match: $ETAG" -d "{\"condition\": $SECOND_PATCH}" >"$WORK/patch.json" || { cat "$WORK/patch.json"; exit 1; }
timed_refresh "segments.refresh:$SEGMENT:version:$((VERSION + 1))" "changed condition (leave and enter)" "$started"
started=$(date +%s.%N)
JOB=$(api POST "/api/v1/segments/$SEGMENT/refresh" '' | json '["id"]')
while [[ $(q "SELECT status FROM jobs WHERE id = '$JOB'") == @(queued|running) ]]; do sleep 0.2; done
echo "nothing to change: job in $(elapsed "$JOB") s; result $(q "SELECT result FROM jobs WHERE id = '$JOB'")"
echo "spells: $(q "SELECT count(*) FROM segment_memberships WHERE segment_id = '$SEGMENT'"), events: $(q "SELECT count(*) FROM events")"

# Baseline: the first refresh's writes, bare and set-based, into copies of the tables.
psql "$url" -Xq <<SQL
-- Ordinary (logged) tables with the same indexes, as the refresh writes to.
DROP TABLE IF EXISTS bare_spells, bare_events;
CREATE TABLE bare_spells (LIKE segment_memberships INCLUDING ALL);
CREATE TABLE bare_events (LIKE events INCLUDING ALL);
\timing on
\echo bare: the open spells and an outbox event for each, in one transaction
BEGIN;
WITH spells AS (
    INSERT INTO bare_spells (id, segment_id, customer_id, entered_at)
    SELECT gen_random_uuid(), '$SEGMENT', id, now() FROM customers
    WHERE merged_into_id IS NULL AND order_count >= 2
    RETURNING id, customer_id
)
INSERT INTO bare_events (id, event_type, subject_kind, subject_id, payload, occurred_at)
SELECT gen_random_uuid(), 'segment.entered', 'customer', customer_id,
       jsonb_build_object('segment_id', '$SEGMENT', 'customer_id', customer_id,
                          'membership_id', id, 'cause', 'refresh'),
       now()
FROM spells;
COMMIT;
SQL
q "DROP TABLE bare_spells, bare_events" >/dev/null

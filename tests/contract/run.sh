#!/usr/bin/env bash
# Contract tests against a running server built from this tree:
#   1. openapi-spec-validator accepts openapi/v1.json;
#   2. schemathesis drives every operation with an authenticated admin and fails on any
#      server error, schema-breaking response or undocumented status code;
#   3. a Python client generated from openapi/v1.json runs a real scenario.
# Every request comes from one address, so the per-address login throttle is lifted:
# schemathesis sends many failing logins, and the client scenario must still log in.
# Env: PEYVAND_BIN (server binary), PYTHON (with requirements.txt installed),
#      CONTRACT_DATABASE_URL (optional; default a fresh SQLite file).
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3}
PEYVAND_BIN=${PEYVAND_BIN:-target/debug/peyvand}
BIN_DIR=$(dirname "$PYTHON")
WORK=$(mktemp -d)
PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
ADMIN_EMAIL="contract-admin@example.com"
ADMIN_PASSWORD="contract-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

cleanup() {
    [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "-- openapi-spec-validator"
"$BIN_DIR/openapi-spec-validator" openapi/v1.json

echo "-- starting $PEYVAND_BIN on $BASE"
PEYVAND_ADMIN_EMAIL="$ADMIN_EMAIL" PEYVAND_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
DATABASE_URL="${CONTRACT_DATABASE_URL:-}" \
    "$PEYVAND_BIN" serve --bind "127.0.0.1:$PORT" --data-dir "$WORK/data" \
    --rate-limit-per-minute 1000000 --login-max-failures-per-address 1000000 \
    --job-workers 1 >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "$BASE/api/v1/ready" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "$BASE/api/v1/ready" >/dev/null || { cat "$WORK/server.log"; exit 1; }

TOKEN=$(curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" \
    | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

echo "-- schemathesis"
"$BIN_DIR/schemathesis" run openapi/v1.json --url "$BASE" \
    -H "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
    --workers 1 \
    --suppress-health-check all \
    --report junit --report-dir "$WORK/report" || { tail -n 50 "$WORK/server.log"; exit 1; }

echo "-- generated Python client"
"$BIN_DIR/openapi-python-client" generate --path openapi/v1.json --output-path "$WORK/client" \
    --meta none --overwrite >/dev/null
PYTHONPATH="$WORK/client/.." PEYVAND_BASE_URL="$BASE" PEYVAND_ADMIN_EMAIL="$ADMIN_EMAIL" \
PEYVAND_ADMIN_PASSWORD="$ADMIN_PASSWORD" CLIENT_PACKAGE="$(basename "$WORK/client")" \
    "$PYTHON" tests/contract/sdk_scenario.py
echo "contract: 3 passed, 0 failed"

#!/usr/bin/env bash
# Contract tests against a running server built from this tree:
#   1. openapi-spec-validator accepts openapi/v1.json;
#   2. schemathesis drives every operation (examples, coverage, fuzzing, then stateful
#      sequences that follow the document's links from created records) and fails on any
#      server error, schema-breaking response or undocumented status code. It acts with an
#      admin API key made for the run, and the auth operations as a throwaway user; the
#      hooks in hooks.py keep it from revoking or changing these credentials. Afterwards
#      coverage.py prints which operations never answered a 2xx;
#   3. a Python client generated from openapi/v1.json runs a real scenario (first, on
#      the fresh database);
#   4. a TypeScript client generated from it (openapi-typescript types, openapi-fetch
#      requests; sdks/typescript) type-checks under `tsc --strict` and runs a scenario:
#      a customer, an order, a deal, a ticket and a webhook subscription.
# Every request comes from one address, so the per-address login throttle is lifted:
# schemathesis sends many failing logins, and the client scenario must still log in.
# Env: PEYVAND_BIN (server binary), PYTHON (with requirements.txt installed),
#      CONTRACT_DATABASE_URL (optional; default a fresh SQLite file),
#      SCHEMATHESIS_MAX_TIME (seconds for schemathesis, default 150),
#      SCHEMATHESIS_MAX_EXAMPLES (per operation and phase, default 25).
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

# Before the fuzzing, which leaves the database in any state its schema allows (a
# required custom field, say, that the scenario's customers would lack).
echo "-- generated Python client"
"$BIN_DIR/openapi-python-client" generate --path openapi/v1.json --output-path "$WORK/client" \
    --meta none --overwrite >/dev/null
PYTHONPATH="$WORK/client/.." PEYVAND_BASE_URL="$BASE" PEYVAND_ADMIN_EMAIL="$ADMIN_EMAIL" \
PEYVAND_ADMIN_PASSWORD="$ADMIN_PASSWORD" CLIENT_PACKAGE="$(basename "$WORK/client")" \
    "$PYTHON" tests/contract/sdk_scenario.py

echo "-- generated TypeScript client"
(
    cd sdks/typescript
    npm ci --no-audit --no-fund --loglevel=error
    npm run --silent generate >/dev/null
    npm run --silent build
)
PEYVAND_BASE_URL="$BASE" PEYVAND_ADMIN_EMAIL="$ADMIN_EMAIL" PEYVAND_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    node sdks/typescript/dist/scenario.js

# post PATH BODY [TOKEN] FIELD: POST a JSON body and print one member of the answer.
post() {
    curl -fsS -X POST "$BASE$1" -H 'Content-Type: application/json' \
        ${3:+-H "Authorization: Bearer $3"} -d "$2" \
        | "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$4"
}
secret() { echo "contract-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }
login() { post /api/v1/auth/login "{\"email\":\"$1\",\"password\":\"$2\"}" "" access_token; }

# The run's own admin and its API key with every scope, and a throwaway user for the
# auth operations; the bootstrap admin stays untouched for the client scenario.
TOKEN=$(login "$ADMIN_EMAIL" "$ADMIN_PASSWORD")
BOOTSTRAP_ID=$(curl -fsS "$BASE/api/v1/users/me" -H "Authorization: Bearer $TOKEN" \
    | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
FUZZER_EMAIL="contract-fuzzer@example.com"
FUZZER_PASSWORD=$(secret)
FUZZER_ID=$(post /api/v1/users "{\"email\":\"$FUZZER_EMAIL\",\"display_name\":\"Contract fuzzer\",\
\"password\":\"$FUZZER_PASSWORD\",\"role\":\"admin\"}" "$TOKEN" id)
THROWAWAY_EMAIL="contract-throwaway@example.com"
THROWAWAY_PASSWORD=$(secret)
THROWAWAY_ID=$(post /api/v1/users "{\"email\":\"$THROWAWAY_EMAIL\",\"display_name\":\"Contract throwaway\",\
\"password\":\"$THROWAWAY_PASSWORD\",\"role\":\"sales\"}" "$TOKEN" id)
FUZZER_TOKEN=$(login "$FUZZER_EMAIL" "$FUZZER_PASSWORD")
SCOPES='["users:read","users:manage","teams:read","api_keys:own","jobs:read","audit:read",
"records:read","records:write","records:delete","records:import","crm:configure","privacy:manage",
"analytics:run"]'
KEY_JSON=$(curl -fsS -X POST "$BASE/api/v1/api-keys" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $FUZZER_TOKEN" -d "{\"name\":\"contract run\",\"scopes\":$SCOPES}")
API_KEY=$(echo "$KEY_JSON" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["key"])')
API_KEY_ID=$(echo "$KEY_JSON" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["id"])')

echo "-- schemathesis"
CONTRACT_BASE_URL="$BASE" CONTRACT_API_KEY="$API_KEY" \
CONTRACT_PROTECTED_IDS="$BOOTSTRAP_ID,$FUZZER_ID,$THROWAWAY_ID,$API_KEY_ID" \
CONTRACT_THROWAWAY_EMAIL="$THROWAWAY_EMAIL" CONTRACT_THROWAWAY_PASSWORD="$THROWAWAY_PASSWORD" \
CONTRACT_STATUS_LOG="$WORK/statuses.tsv" \
PYTHONPATH="tests/contract${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=hooks \
"$BIN_DIR/schemathesis" run openapi/v1.json --url "$BASE" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing,stateful \
    --max-time "${SCHEMATHESIS_MAX_TIME:-150}" \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
    --workers 1 \
    --suppress-health-check all \
    --report junit --report-dir "$WORK/report" || {
        # The server's own account of what failed; its request lines would bury it.
        grep -E '"level":"(ERROR|WARN)"' "$WORK/server.log" | tail -n 40
        exit 1
    }
"$PYTHON" tests/contract/coverage.py openapi/v1.json "$WORK/statuses.tsv"

echo "contract: 4 passed, 0 failed"

#!/usr/bin/env bash
# Outgoing webhook delivery throughput on PostgreSQL: one subscription to
# `customer.created` at a local receiver; EVENTS customers are created through
# `POST /customers/batch` (100 per request) by a server without job workers, each event
# written to the outbox with its delivery in the create's transaction; then a server
# with job workers (--job-workers, default 2) starts and the clock runs until every
# delivery has `succeeded`, signed per Standard Webhooks. (Delivering while creating
# keeps pace with the creates, which would be what is measured.) The receiver checks every signature with the `standardwebhooks`
# library. Baseline in the same run: the same number of POSTs of a delivery's body to
# the same receiver, bare (a Python client on 2 keep-alive connections, no signing, no
# database).
#   scripts/bench_webhooks.sh [events=5000]
# Env: BENCH_JOB_WORKERS (default 2), BENCH_SKIP_BUILD=1 uses the release binary
# already built, PYTHON (a Python with `standardwebhooks`; default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-5000}
JOB_WORKERS=${BENCH_JOB_WORKERS:-2}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
PYTHON=${PYTHON:-.venv/bin/python}
PORT=8096
RECEIVER_PORT=8097
URL=http://127.0.0.1:$PORT

[[ ${BENCH_SKIP_BUILD:-} == 1 ]] || cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
DB="peyvand_bench_webhooks_$$"
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

# The receiver: answers 204 at once; checks each signed delivery with the official
# library (once the secret is known) and counts what it verified and what failed.
cat >"$WORK/receiver.py" <<'PY'
import http.server, json, sys, threading
from standardwebhooks.webhooks import Webhook
state = {"hook": None, "verified": 0, "failed": 0, "bare": 0}
lock = threading.Lock()
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/secret":
            state["hook"] = Webhook(body.decode())
        elif self.path == "/bare":
            with lock:
                state["bare"] += 1
        else:
            try:
                state["hook"].verify(body, dict(self.headers))
                key = "verified"
            except Exception:
                key = "failed"
            with lock:
                state[key] += 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()
    def do_GET(self):
        answer = json.dumps({k: v for k, v in state.items() if k != "hook"}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
"$PYTHON" "$WORK/receiver.py" "$RECEIVER_PORT" &
wait_ready "http://127.0.0.1:$RECEIVER_PORT/"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
"$BIN" migrate --database-url "$url" --data-dir "$WORK/data" >/dev/null
"$BIN" create-admin --database-url "$url" --data-dir "$WORK/data" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
serve() {
    "$BIN" serve --database-url "$url" --data-dir "$WORK/data" --bind "127.0.0.1:$PORT" \
        --rate-limit-per-minute 100000000 --job-workers "$1" --webhooks-allow-private-targets \
        --log-format json >>"$WORK/server.out" 2>>"$WORK/server.log" &
    SERVER=$!
    wait_ready "$URL/api/v1/ready"
}
serve 0
TOKEN=$(curl -fs -X POST "$URL/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
SECRET=$(api POST /api/v1/webhook-subscriptions \
    "{\"url\":\"http://127.0.0.1:$RECEIVER_PORT/hook\",\"event_types\":[\"customer.created\"]}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
curl -fs -X POST "http://127.0.0.1:$RECEIVER_PORT/secret" -d "$SECRET"

python3 - "$WORK" "$EVENTS" <<'PY'
import json, sys
work, events = sys.argv[1], int(sys.argv[2])
for n in range(0, events, 100):
    items = [{"kind": "person", "first_name": "وب‌هوک", "last_name": f"مشتری {i}"}
             for i in range(n, min(n + 100, events))]
    open(f"{work}/batch{n // 100:05d}.json", "w").write(json.dumps({"items": items}))
PY

creating=$(date +%s.%N)
for batch in "$WORK"/batch*.json; do
    api POST /api/v1/customers/batch "@$batch" >/dev/null
done
created=$(date +%s.%N)
kill "$SERVER"
wait "$SERVER" || true
serve "$JOB_WORKERS"
started=$(date +%s.%N)
deadline=$((SECONDS + ${BENCH_DEADLINE:-600}))
while [[ $(q "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'") -lt $EVENTS ]]; do
    if ((SECONDS > deadline)); then
        q "SELECT status, count(*), max(error) FROM webhook_deliveries GROUP BY status" >&2
        tail -5 "$WORK/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
finished=$(date +%s.%N)
attempts=$(q "SELECT sum(attempts) FROM webhook_deliveries")

# Baseline: the same number of POSTs of a delivery's body, bare.
q "SELECT body FROM webhook_deliveries LIMIT 1" >"$WORK/body.json"
bare=$(python3 - "$RECEIVER_PORT" "$EVENTS" "$WORK/body.json" <<'PY'
import http.client, sys, threading, time
port, events, body = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], "rb").read()
def worker(count):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(count):
        conn.request("POST", "/bare", body, {"content-type": "application/json"})
        conn.getresponse().read()
start = time.time()
threads = [threading.Thread(target=worker, args=(events // 2,)) for _ in range(2)]
[t.start() for t in threads]
[t.join() for t in threads]
print(f"{events / (time.time() - start):.0f}")
PY
)
receiver=$(curl -fs "http://127.0.0.1:$RECEIVER_PORT/")
python3 - "$creating" "$created" "$started" "$finished" "$EVENTS" "$bare" "$attempts" "$receiver" "$JOB_WORKERS" <<'PY'
import json, sys
creating, created, started, finished = map(float, sys.argv[1:5])
events, bare, attempts = int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
receiver, workers = json.loads(sys.argv[8]), sys.argv[9]
rate = events / (finished - started)
print(f"job workers {workers}: {events} deliveries in {finished - started:.1f} s, "
      f"{rate:.0f} deliveries/s, {attempts} attempts (creating the customers and "
      f"queueing the deliveries took {created - creating:.1f} s); bare {bare:.0f} POSTs/s; "
      f"ratio {rate / bare:.2f}")
print(f"receiver: {receiver}")
assert receiver["verified"] == events and receiver["failed"] == 0, receiver
PY

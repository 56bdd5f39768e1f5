#!/usr/bin/env bash
# Omnichannel at scale, on PostgreSQL, each figure beside a baseline measured in the same run:
#  1. inbound Telegram webhooks with identity resolution at 64 connections (wrk), against a
#     bare INSERT of the same message rows by pgbench with 64 clients; afterwards every
#     acknowledged message is checked to be stored once and every sender resolved as
#     expected (a customer by Telegram id, a customer by a shared phone, a new lead);
#  2. outbound e-mail to a local SMTP server (aiosmtpd) through the messages.send job:
#     N conversations started through the API, then the time from the job workers' start
#     until all are sent, against smtplib sending N comparable e-mails to the same server;
#  3. GET /customers/{id}/timeline, first page and deep pages (by cursor), p50/p99 with wrk
#     at 2 connections, for a customer with TARGET entries among TOTAL timeline entries,
#     against the same statements run bare by pgbench at 2 clients (EXPLAIN ANALYZE kept).
#   scripts/bench_omnichannel.sh [seconds=15] [timeline_entries=10000000] [target_entries=10000] [emails=2000]
# Env: BENCH_PARTS ("webhook email timeline sqlite"; sqlite: the timeline again on SQLite with
# BENCH_SQLITE_ENTRIES entries, 1000000, its baseline the same statements through sqlite3), BENCH_CUSTOMERS (demo customers, 20000),
# BENCH_HANDLES / BENCH_PHONES (customers known by Telegram id / phones shared, 5000 each),
# BENCH_POOL_SIZE (server pool, 64), BENCH_JOB_WORKERS (e-mail job workers, 2),
# BENCH_VENV (a virtualenv with aiosmtpd; else one is made in the work directory),
# BENCH_KEEP_DB=1 keeps the database.
#
# Timeline rows are written by SQL (scripts/bench/omni_data.py: INSERT … SELECT over
# generate_series, every column as the application writes it); the target's orders and
# tickets go through the API, and the API must walk exactly TARGET entries, newest first,
# each once, before anything is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
ENTRIES=${2:-10000000}
TARGET=${3:-10000}
EMAILS=${4:-2000}
PARTS=${BENCH_PARTS:-webhook email timeline sqlite}
SQLITE_ENTRIES=${BENCH_SQLITE_ENTRIES:-1000000}
CUSTOMERS=${BENCH_CUSTOMERS:-20000}
HANDLES=${BENCH_HANDLES:-5000}
PHONES=${BENCH_PHONES:-5000}
POOL=${BENCH_POOL_SIZE:-64}
JOB_WORKERS=${BENCH_JOB_WORKERS:-2}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
PORT=8094
URL=http://127.0.0.1:$PORT
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)

cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
export BENCH_DIR=$WORK
DB="bench_omni_$$"
DB_URL=$PG_SERVER/$DB
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    [[ ${BENCH_KEEP_DB:-} == 1 ]] || psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
    rm -rf "$WORK"
}
trap cleanup EXIT
SUMMARY=$WORK/summary.txt
: >"$SUMMARY"
DATA="python3 scripts/bench/omni_data.py"

wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

login() {
    curl -fs -X POST "$URL/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

SERVER=
serve() {
    "$BIN" serve --database-url "${SERVE_URL:-$DB_URL}" --data-dir "$WORK/data" --bind "127.0.0.1:$PORT" --db-pool-size "$POOL" \
        --rate-limit-per-minute 100000000 --job-workers "$1" --log-format json \
        --public-url "$URL" >>"$WORK/server.out" 2>>"$WORK/server.log" &
    SERVER=$!
    wait_ready "$URL/api/v1/ready"
}
stop() { [[ -z $SERVER ]] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }; SERVER=; }

# wrk with the house-style lines; one summary line. $4: extra wrk arguments.
wrk_run() {
    local label=$1 script=$2 connections=$3
    shift 3
    echo "### $label"
    wrk -t2 -c"$connections" -d"${DURATION}s" --timeout 10s --latency "$@" \
        -s "scripts/bench/$script.lua" "$URL" >"$WORK/wrk.out"
    grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors|acknowledged" "$WORK/wrk.out" || true
    python3 - "$label" "$WORK/wrk.out" >>"$SUMMARY" <<'PY'
import re, sys
label, text = sys.argv[1], open(sys.argv[2]).read()
def find(pattern):
    m = re.search(pattern, text)
    return m.group(1) if m else "?"
bad = find(r"Non-2xx or 3xx responses: (\d+)")
errors = re.search(r"Socket errors: (.*)", text)
p50, p99, rate = find(r"\n\s+50%\s+(\S+)"), find(r"\n\s+99%\s+(\S+)"), find(r"Requests/sec:\s+(\S+)")
print(f"{label:<62} p50 {p50:>9}  p99 {p99:>9}  {rate:>9} req/s"
      + (f"  NON-2XX {bad}" if bad != "?" else "") + (f"  SOCKET ERRORS {errors.group(1)}" if errors else ""))
PY
}

# pgbench; prints tps and adds a summary line. $1 label, $2 clients, rest: pgbench arguments.
pgbench_run() {
    local label=$1 clients=$2
    shift 2
    echo "### $label"
    "$PGBENCH" -n -c "$clients" -j 2 -T "$DURATION" "$@" "$DB_URL" >"$WORK/pgbench.out"
    grep -E "^tps|latency average|failed" "$WORK/pgbench.out" || true
    python3 - "$label" "$WORK/pgbench.out" >>"$SUMMARY" <<'PY'
import re, sys
label, text = sys.argv[1], open(sys.argv[2]).read()
tps = float(re.search(r"tps = ([\d.]+)", text).group(1))
lat = re.search(r"latency average = ([\d.]+) ms", text)
print(f"{label:<62} avg {lat.group(1) if lat else '?':>6} ms {tps:>21.0f} tps")
PY
}

# User + system CPU seconds of the processes $@, summed.
cpu_seconds() {
    local ticks=0 pid
    for pid in "$@"; do
        [[ -r /proc/$pid/stat ]] && ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    python3 -c "import os,sys; print(int(sys.argv[1]) / os.sysconf('SC_CLK_TCK'))" "$ticks"
}

# The last rate of a summary line matching $1 (req/s or tps).
rate_of() { grep -F "$1" "$SUMMARY" | tail -1 | grep -oE '[0-9.]+ (req/s|tps)' | tail -1 | cut -d' ' -f1; }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a:.0f} / {b:.0f} = {100 * a / b:.0f} %')" "$1" "$2"; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) cores, load at start $(cut -d' ' -f1-3 /proc/loadavg)" >>"$SUMMARY"

# The SMTP server: aiosmtpd with AUTH (tests/support/smtp_server.py), writing each message to a file.
VENV=${BENCH_VENV:-$WORK/venv}
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q aiosmtpd
fi
mkdir -p "$WORK/mail"
mkfifo "$WORK/smtp.in"
"$VENV/bin/python" tests/support/smtp_server.py "$WORK/mail" bench bench-smtp-password <"$WORK/smtp.in" >"$WORK/smtp.port" 2>"$WORK/smtp.log" &
exec 7>"$WORK/smtp.in"
for _ in $(seq 1 100); do [[ -s $WORK/smtp.port ]] && break; sleep 0.1; done
SMTP_PORT=$(head -1 "$WORK/smtp.port")

psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
"$BIN" migrate --database-url "$DB_URL" --data-dir "$WORK/data" >/dev/null
started=$SECONDS
"$BIN" demo-data --database-url "$DB_URL" --data-dir "$WORK/data" --customers "$CUSTOMERS" --seed 7 >"$WORK/demo.log"
"$BIN" create-admin --database-url "$DB_URL" --data-dir "$WORK/data" --email bench@example.com \
    --password quiet-harbor-lantern-42 >/dev/null
psql "$DB_URL" -qc ANALYZE
echo "customers: $CUSTOMERS with peyvand demo-data in $((SECONDS - started)) s"
serve 0
$DATA setup "$URL" "$DB_URL" "$WORK" "$SMTP_PORT" "$HANDLES" "$PHONES"
SETUP=$WORK/setup.json
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

if [[ $PARTS == *webhook* ]]; then
    echo "## 1. inbound webhooks: Telegram, identity resolution, 64 connections"
    # CPU seconds of the server and of its database backends over the run (where the two
    # cores go: the server, PostgreSQL, and what is left for wrk and everything else).
    BACKENDS=$(psql "$DB_URL" -Atc "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity
                                      WHERE datname = current_database() AND pid <> pg_backend_pid()")
    cpu_before=$(cpu_seconds "$SERVER"; cpu_seconds $BACKENDS)
    wall_before=$(date +%s.%N)
    BENCH_WEBHOOK_PATH=$(field "$SETUP" webhook_path) BENCH_SECRET=$(field "$SETUP" secret) BENCH_HANDLES=$(field "$SETUP" handles) \
        wrk_run "POST /webhooks/telegram/{key}, 64 conn., pool $POOL" telegram_webhook 64
    cpu_after=$(cpu_seconds "$SERVER"; cpu_seconds $BACKENDS)
    ACKED=$(sed -n 's/^acknowledged stored: \([0-9]*\).*/\1/p' "$WORK/wrk.out")
    python3 - "$ACKED" "$wall_before" "$(date +%s.%N)" $cpu_before $cpu_after <<'PY' | tee -a "$SUMMARY"
import sys
acked, t0, t1, s0, d0, s1, d1 = int(sys.argv[1]), *map(float, sys.argv[2:])
wall = t1 - t0
print(f"CPU over {wall:.1f} s: server {s1 - s0:.1f} s ({1000 * (s1 - s0) / acked:.2f} ms a message), "
      f"its PostgreSQL backends {d1 - d0:.1f} s ({1000 * (d1 - d0) / acked:.2f} ms a message), "
      f"of {2 * wall:.0f} core-seconds")
PY
    $DATA verify-webhook "$DB_URL" "$WORK" "$ACKED" 64 | tee -a "$SUMMARY"
    psql "$DB_URL" -q <<SQL
CREATE TABLE bench_conversations AS
SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id, channel_account_id, customer_id
FROM conversations WHERE channel_account_id = '$(field "$SETUP" telegram)';
CREATE UNIQUE INDEX ON bench_conversations (n);
SQL
    stop    # the server's pool and the 64 clients would pass max_connections together
    pgbench_run "bare INSERT of the message row (pgbench), 64 clients" 64 -f scripts/bench/bare_message.sql \
        -D conversations="$(psql "$DB_URL" -Atc 'SELECT count(*) FROM bench_conversations')"
    echo "webhook messages / bare INSERT = $(ratio "$(rate_of 'POST /webhooks')" "$(rate_of 'bare INSERT of the message')")" \
        "(goal: >= 1,000 messages/s)" | tee -a "$SUMMARY"
    psql "$DB_URL" -q -c "DELETE FROM messages WHERE provider_message_id LIKE 'pg:%'" -c "DROP TABLE bench_conversations"
    serve 0
fi

if [[ $PARTS == *email* ]]; then
    echo "## 2. outbound e-mail: $EMAILS messages through messages.send, $JOB_WORKERS job workers"
    $DATA email-queue "$URL" "$DB_URL" "$WORK" "$EMAILS" | tee -a "$SUMMARY"
    stop
    STARTED=$(date +%s.%N)
    serve "$JOB_WORKERS"
    $DATA email-wait "$DB_URL" "$WORK" "$EMAILS" "$STARTED" | tee -a "$SUMMARY"
    stop
    sleep 0.5
    FILES=$(ls "$WORK/mail" | grep -c '\.eml$' || true)
    echo "the SMTP server holds $FILES messages" | tee -a "$SUMMARY"
    [[ $FILES == "$EMAILS" ]] || { echo "expected $EMAILS messages at the SMTP server"; exit 1; }
    "$VENV/bin/python" scripts/bench/omni_data.py smtp-baseline "$SMTP_PORT" "$EMAILS" "$JOB_WORKERS" | tee -a "$SUMMARY"
    sent=$(sed -n 's/^sent: .* = \([0-9.]*\)\/s$/\1/p' "$SUMMARY" | tail -1)
    base=$(sed -n 's/^smtplib: .* = \([0-9.]*\)\/s$/\1/p' "$SUMMARY" | tail -1)
    echo "messages.send / smtplib = $(ratio "$sent" "$base")" | tee -a "$SUMMARY"
    serve 0
fi

if [[ $PARTS == *timeline* ]]; then
    echo "## 3. timeline: $TARGET entries of one customer among $ENTRIES"
    df -h / | tail -1
    $DATA timeline-load "$URL" "$DB_URL" "$WORK" "$ENTRIES" "$TARGET" | tee -a "$SUMMARY"
    $DATA timeline-cursors "$URL" "$DB_URL" "$WORK" | tee -a "$SUMMARY"
    TL=$WORK/timeline.json
    export BENCH_CUSTOMER
    BENCH_CUSTOMER=$(field "$TL" customer)
    TOKEN=$(login)
    wrk_run "GET /customers/{id}/timeline, first page" timeline_first 2 -H "authorization: Bearer $TOKEN"
    wrk_run "GET /customers/{id}/timeline, deep page (cursor)" timeline_deep 2 -H "authorization: Bearer $TOKEN"
    pgbench_run "bare statements of the first page (pgbench), 2 clients" 2 -M extended \
        -f scripts/bench/bare_timeline_first.sql -D customer="$BENCH_CUSTOMER"
    pgbench_run "bare statements of a deep page (pgbench), 2 clients" 2 -M extended \
        -f scripts/bench/bare_timeline_deep.sql -D customer="$BENCH_CUSTOMER" \
        -D at="$(field "$TL" deep_at)" -D id="$(field "$TL" deep_id)"
    echo "first page / bare = $(ratio "$(rate_of 'timeline, first page')" "$(rate_of 'statements of the first page')")" | tee -a "$SUMMARY"
    echo "deep page / bare = $(ratio "$(rate_of 'timeline, deep page')" "$(rate_of 'statements of a deep page')")" | tee -a "$SUMMARY"
    # EXPLAIN ANALYZE of each statement of a deep page, the customer and position filled in.
    python3 - "$BENCH_CUSTOMER" "$(field "$TL" deep_at)" "$(field "$TL" deep_id)" >"$WORK/explain.sql" <<'PY'
import sys
customer, at, id_ = sys.argv[1:]
for line in open("scripts/bench/bare_timeline_deep.sql"):
    if line.startswith("SELECT"):
        sql = line.replace(":customer", f"'{customer}'").replace(":at", f"'{at}'").replace(":id", f"'{id_}'")
        print(f"\\echo {sql.split(' FROM ')[1].split(' WHERE ')[0]}")
        print("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql.strip())
PY
    psql "$DB_URL" -q -f "$WORK/explain.sql" >"$WORK/explain.txt"
    echo "### EXPLAIN ANALYZE, deep page: indexes and times per statement"
    grep -E "^[a-z_]+( [a-z]+)?( JOIN .*)?$|Index|Execution Time|Seq Scan|Sort Method" "$WORK/explain.txt" | sed 's/^ */  /'
    sed -n '/^messages$/,/Execution Time/p' "$WORK/explain.txt"
fi

stop
if [[ $PARTS == *sqlite* ]]; then
    echo "## 4. timeline on SQLite: $TARGET entries of one customer among $SQLITE_ENTRIES"
    export BENCH_DIR=$WORK/sqlite SERVE_URL=$WORK/sqlite/peyvand.db
    mkdir -p "$BENCH_DIR"
    "$BIN" migrate --database-url "$SERVE_URL" --data-dir "$WORK/data" >/dev/null
    "$BIN" demo-data --database-url "$SERVE_URL" --data-dir "$WORK/data" --customers "$CUSTOMERS" --seed 7 >"$WORK/demo-sqlite.log"
    "$BIN" create-admin --database-url "$SERVE_URL" --data-dir "$WORK/data" --email bench@example.com \
        --password quiet-harbor-lantern-42 >/dev/null
    serve 0
    $DATA setup-accounts "$URL" "$SERVE_URL" "$BENCH_DIR"
    $DATA timeline-load "$URL" "$SERVE_URL" "$BENCH_DIR" "$SQLITE_ENTRIES" "$TARGET" | sed 's/^/sqlite: /' | tee -a "$SUMMARY"
    $DATA timeline-cursors "$URL" "$SERVE_URL" "$BENCH_DIR" | sed 's/^/sqlite: /' | tee -a "$SUMMARY"
    BENCH_CUSTOMER=$(field "$BENCH_DIR/timeline.json" customer)
    TOKEN=$(login)
    wrk_run "sqlite: GET /customers/{id}/timeline, first page" timeline_first 2 -H "authorization: Bearer $TOKEN"
    wrk_run "sqlite: GET /customers/{id}/timeline, deep page (cursor)" timeline_deep 2 -H "authorization: Bearer $TOKEN"
    stop
    $DATA sqlite-bare "$SERVE_URL" "$BENCH_DIR" "$DURATION" | sed 's/^/sqlite: /' | tee -a "$SUMMARY"
fi
stop
echo
echo "## summary (goals: webhooks >= 1,000 messages/s at 64 connections; timeline p99 < 50 ms;"
echo "##          e-mail through messages.send vs smtplib to the same server)"
cat "$SUMMARY"

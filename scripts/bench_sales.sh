#!/usr/bin/env bash
# Sales at scale: the pipeline board over N open deals and the lead search (a filter
# tree, and a Persian quick search) over M leads, p50/p99 with wrk at 2 connections, on
# PostgreSQL and SQLite; on PostgreSQL also POST /leads with an active assignment rule
# (round robin over a team of 10) and a scoring rule at 64 connections, against a bare
# INSERT of the same lead rows by pgbench with 64 clients in the same run.
#   scripts/bench_sales.sh [open_deals=100000] [leads=1000000] [seconds=15]
# Env: BENCH_BACKENDS ("postgres sqlite"), BENCH_SQLITE_LEADS (leads on SQLite; default
# the same M), BENCH_KEEP_DB=1 keeps the PostgreSQL database.
#
# The data is written by SQL, not through the API (a million leads through POST /leads
# would take hours): customers with `peyvand demo-data` (one per ten deals), users,
# teams and rules through the API, then deals and leads by scripts/bench/sales_data.py
# (INSERT … SELECT over generate_series on PostgreSQL, executemany on SQLite) with
# every derived column as the application writes it. Before measuring, the script
# checks through the API that it reads the data back, that twins of sampled leads and
# deals created through the API are stored identically, that quick and filtered search
# find what they should and that the board counts what is stored.
set -euo pipefail
cd "$(dirname "$0")/.."
DEALS=${1:-100000}
LEADS=${2:-1000000}
DURATION=${3:-15}
SQLITE_LEADS=${BENCH_SQLITE_LEADS:-$LEADS}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
BACKENDS=${BENCH_BACKENDS:-postgres sqlite}
PORT=8092
URL=http://127.0.0.1:$PORT
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
CUSTOMERS=$((DEALS / 10 > 1000 ? DEALS / 10 : 1000))

cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
export BENCH_DIR=$WORK
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
SUMMARY=$WORK/summary.txt
: >"$SUMMARY"

wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

login() {
    curl -fs -X POST "$URL/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# wrk with a fresh token; prints the house-style lines and adds one to the summary. At
# 64 connections requests queue, so the timeout is 10 s instead of wrk's 2 s (a
# timed-out request would count as an error and not in the latency).
wrk_run() {
    local label=$1 script=$2 connections=$3
    echo "### $label"
    wrk -t2 -c"$connections" -d"${DURATION}s" --timeout 10s --latency -H "authorization: Bearer $(login)" \
        -s "scripts/bench/$script.lua" "$URL" >"$WORK/wrk.out"
    grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors" "$WORK/wrk.out" || true
    python3 - "$label" "$WORK/wrk.out" >>"$SUMMARY" <<'PY'
import re, sys
label, text = sys.argv[1], open(sys.argv[2]).read()
def find(pattern):
    m = re.search(pattern, text)
    return m.group(1) if m else "?"
bad = find(r"Non-2xx or 3xx responses: (\d+)")
errors = re.search(r"Socket errors: (.*)", text)
p50, p99, rate = find(r"\n\s+50%\s+(\S+)"), find(r"\n\s+99%\s+(\S+)"), find(r"Requests/sec:\s+(\S+)")
print(f"{label:<58} p50 {p50:>9}  p99 {p99:>9}  {rate:>9} req/s"
      + (f"  NON-2XX {bad}" if bad != "?" else "") + (f"  SOCKET ERRORS {errors.group(1)}" if errors else ""))
PY
}

# PostgreSQL's autovacuum keeps a database in use vacuumed; a freshly loaded one is
# vacuumed here, so that index-only scans (the board's totals) see it as they would then.
analyze() {
    if [[ $1 == postgres* ]]; then psql "$1" -qc 'VACUUM ANALYZE'
    else python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('ANALYZE'); c.commit()" "$1"; fi
}

run_backend() {
    local name=$1 url=$2 leads=$3
    echo "## $name: $DEALS open deals, $leads leads"
    "$BIN" migrate --database-url "$url" --data-dir "$WORK/$name" >/dev/null
    local started=$SECONDS
    "$BIN" demo-data --database-url "$url" --data-dir "$WORK/$name" --customers "$CUSTOMERS" --seed 7 >"$WORK/$name-demo.log"
    echo "customers: $CUSTOMERS with peyvand demo-data in $((SECONDS - started)) s"
    "$BIN" create-admin --database-url "$url" --data-dir "$WORK/$name" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
    "$BIN" serve --database-url "$url" --data-dir "$WORK/$name" --bind "127.0.0.1:$PORT" \
        --rate-limit-per-minute 100000000 --job-workers 0 --log-format json >"$WORK/$name.out" 2>"$WORK/$name.log" &
    local server=$!
    wait_ready "$URL/api/v1/ready"
    python3 scripts/bench/sales_data.py setup "$URL" "$url" "$WORK"
    started=$SECONDS
    python3 scripts/bench/sales_data.py load "$url" "$WORK" "$DEALS" "$leads"
    analyze "$url"
    local load_s=$((SECONDS - started))
    echo "load + ANALYZE: $load_s s"
    echo "$name: loaded $DEALS open deals and $leads leads by SQL in $load_s s (with ANALYZE)" >>"$SUMMARY"
    python3 scripts/bench/sales_data.py verify "$URL" "$url" "$WORK" "$DEALS"
    python3 scripts/bench/sales_data.py sample "$url" "$WORK"
    wrk_run "$name: GET /pipelines/{id}/board, $DEALS open deals" board 2
    wrk_run "$name: POST /leads/search, filter tree, $leads leads" lead_search_filter 2
    wrk_run "$name: POST /leads/search, Persian q, $leads leads" lead_search_q 2
    if [[ $url == postgres* ]]; then
        wrk_run "$name: POST /leads, assignment + scoring, 64 conn." create_lead 64
        # The leads wrk created (their e-mails are bench.N@example.ir): owners by the rule.
        psql "$url" -At -F ' ' -c "SELECT 'leads created: ' || count(*) || ', assigned by round robin: '
              || count(*) FILTER (WHERE a.method = 'round_robin') || ' over ' || count(DISTINCT l.owner_id)
              || ' owners, scored: ' || count(*) FILTER (WHERE l.score_points > 0)
            FROM leads l LEFT JOIN assignments a ON a.record_id = l.id
            WHERE l.emails::text LIKE '%\"bench.%@example.ir\"%'"
        psql "$url" -q <<SQL
CREATE TABLE bench_members AS
SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id AS owner_id, team_id, id AS created_by
FROM users WHERE team_id = (SELECT team_id FROM assignment_rules WHERE active LIMIT 1);
CREATE UNIQUE INDEX ON bench_members (n);
SQL
        echo "### $name: bare INSERT of the same lead rows (pgbench, 64 clients)"
        "$PGBENCH" -n -c 64 -j 2 -T "$DURATION" -f scripts/bench/bare_lead.sql \
            -D members="$(psql "$url" -Atc 'SELECT count(*) FROM bench_members')" "$url" >"$WORK/pgbench.out"
        grep -E "tps|latency average|failed" "$WORK/pgbench.out"
        python3 - "$WORK/pgbench.out" "$SUMMARY" <<'PY' >>"$SUMMARY"
import re, sys
text, summary = open(sys.argv[1]).read(), open(sys.argv[2]).read()
tps = float(re.search(r"tps = ([\d.]+)", text).group(1))
api = float(re.findall(r"POST /leads, .*?([\d.]+) req/s", summary)[-1])
print(f"{'postgres: bare INSERT of the lead row (pgbench), 64 clients':<58} {tps:>42.0f} tps")
print(f"postgres: POST /leads / bare INSERT = {api:.0f} / {tps:.0f} = {100 * api / tps:.0f} % (goal >= 50 %)")
PY
        psql "$url" -qc "DROP TABLE bench_members"
    fi
    kill "$server"; wait "$server" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:\s*//p')"
for backend in $BACKENDS; do
    if [[ $backend == sqlite ]]; then
        run_backend sqlite "$WORK/sqlite/peyvand.db" "$SQLITE_LEADS"
    else
        DB="peyvand_bench_sales_$$"
        psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $DB"
        run_backend postgres "$PG_SERVER/$DB" "$LEADS"
        [[ ${BENCH_KEEP_DB:-} == 1 ]] || psql "$PG_SERVER/postgres" -qc "DROP DATABASE $DB WITH (FORCE)"
    fi
done
echo
echo "## summary (goals: board p99 < 50 ms at 100k open deals, lead search p99 < 50 ms at 1M leads,"
echo "##          POST /leads >= 50 % of the bare INSERT)"
cat "$SUMMARY"

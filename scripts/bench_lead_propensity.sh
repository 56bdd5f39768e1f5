#!/usr/bin/env bash
# A `lead_propensity` run at scale on SQLite: writes N leads straight into a migrated
# database (three quarters with an outcome, created over the past two years: referrals
# convert 75 % of the time, other sources 20 %; province and campaign are noise; the
# rest open), then times the run through the API from the POST to its success
# (reading the leads with an outcome a page at a time, fitting, scoring the open leads
# a page per transaction).
#   scripts/bench_lead_propensity.sh [leads=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
LEADS=${1:-100000}

cargo build --release --bin peyvand >/dev/null
BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/peyvand
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
DB="$WORK/peyvand.db"

"$BIN" migrate --database-url "$DB" --data-dir "$WORK" >/dev/null
python3 - "$DB" "$LEADS" <<'PY'
import json, random, sqlite3, sys, uuid
from datetime import datetime, timedelta, timezone
db, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
now = datetime.now(timezone.utc)
def stamp(at): return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
rows = []
for i in range(count):
    source = "referral" if rng.random() < 0.25 else rng.choice(["web", "ads", "exhibition", "instagram"])
    closed = i < count * 3 // 4
    status = ("converted" if rng.random() < (0.75 if source == "referral" else 0.2) else "disqualified") if closed \
        else rng.choice(["new", "contacted", "qualified"])
    created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
    phones = json.dumps([{"number": "+98912%07d" % i, "type": "mobile", "primary": True}] if rng.random() < 0.7 else [])
    emails = json.dumps([{"address": "lead%d@example.ir" % i, "primary": True}] if rng.random() < 0.5 else [])
    name = "سرنخ %d" % i
    rows.append((str(uuid.uuid4()), name, rng.choice(["آوا", None]), rng.choice(["مدیر خرید", None]), phones, emails,
                 rng.choice(["تهران", "اصفهان", "فارس", "گیلان", "خراسان رضوی", "آذربایجان شرقی"]),
                 source, rng.choice(["بهار", "پاییز", "نمایشگاه", None]), status,
                 "بودجه ندارد" if status == "disqualified" else None, name, name, stamp(created), stamp(created)))
con = sqlite3.connect(db)
con.executemany(
    "INSERT INTO leads (id, last_name, company, job_title, phones, emails, province, source, campaign, status, "
    "disqualified_reason, display_name, search_text, created_at, updated_at, version) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)", rows)
con.commit()
con.execute("ANALYZE")
PY
"$BIN" create-admin --database-url "$DB" --data-dir "$WORK" --email bench@example.com --password quiet-harbor-lantern-42 >/dev/null
"$BIN" serve --database-url "$DB" --data-dir "$WORK" --bind 127.0.0.1:8091 \
    --rate-limit-per-minute 100000000 --log-format json >"$WORK/out" 2>"$WORK/log" &
for _ in $(seq 1 300); do curl -fs http://127.0.0.1:8091/api/v1/ready >/dev/null 2>&1 && break; sleep 0.2; done
TOKEN=$(curl -fs -X POST http://127.0.0.1:8091/api/v1/auth/login -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"quiet-harbor-lantern-42"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
STARTED=$(date +%s.%N)
LOCATION=$(curl -fsS -D - -o /dev/null -X POST http://127.0.0.1:8091/api/v1/analytics/runs \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"kind": "lead_propensity"}' \
    | tr -d '\r' | sed -n 's/^location: //Ip')
while :; do
    RUN=$(curl -fsS "http://127.0.0.1:8091$LOCATION" -H "authorization: Bearer $TOKEN")
    STATUS=$(echo "$RUN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [[ $STATUS == succeeded || $STATUS == failed || $STATUS == cancelled ]] && break
    sleep 0.2
done
python3 - "$STARTED" "$(date +%s.%N)" "$RUN" <<'PY'
import json, sys
start, end, run = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
assert run["status"] == "succeeded", run
r = run["result"]
print(f"machine-independent figures: {r['input']['leads']} leads with an outcome "
      f"({r['input']['converted']} converted), {len(r['features'])} features, "
      f"holdout AUC {r['holdout']['auc']:.3f}, {r['scored']} open leads scored")
print(f"lead_propensity run on SQLite: {end - start:.1f} s")
PY

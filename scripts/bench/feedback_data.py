#!/usr/bin/env python3
"""Data of the feedback-report benchmark (scripts/bench_feedback.sh), standard library only.

    feedback_data.py setup  URL DB WORK               agents, the survey, the policy through the API
    feedback_data.py load   DB WORK ANSWERS           NPS answers written by SQL
    feedback_data.py verify URL DB WORK FROM TO       the report counts what is stored
    feedback_data.py bare   DB WORK SECONDS           (SQLite) the bare aggregate, timed in-process

DB is a PostgreSQL URL or a SQLite file. The answers are written as the application
writes a survey answer (`application::feedback::surveys::answer` → `entries::record`):
source `survey`, metric `nps`, the score, no text (so no sentiment), the survey, a
UUIDv7 invitation of the answer's time and the question's key, the agent the
invitation named (three answers in four; none for the rest), no team, product,
channel (a link), ticket or creator (the system answers), `negative` = score <= 6 (the
default `nps_negative_at_most`), no follow-up (the business's policy is set to `none`:
with the default `task`, every detractor would also be a follow-up task), UUIDv7 ids of
the creation time, `created_at` spread evenly over the last 730 days, written in
creation order (as the application appends them, so the table's physical order follows
`created_at` as in a live database). On SQLite uuids
are lower-case hyphenated text, instants RFC 3339 with microseconds and `Z`, booleans
0/1 (`persistence::sql_types`). Not written: the survey invitations themselves (the
report does not read them), the audit entries and `feedback.*` events each answer
would also leave. `verify` checks the row shape against a twin answered through the
survey link, then the report's totals, every period and every agent against SQL.
"""

import json
import random
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

PASSWORD = "quiet-harbor-lantern-42"
AGENTS = 10
# Share (per cent) of the answers that name an agent; the rest were sent without one.
WITH_AGENT = 75
# The score distribution (per cent of answers for 0..10): 25 % detractors (0–6),
# 30 % passives (7–8), 45 % promoters (9–10), so NPS 20.
SCORES = [2, 1, 2, 3, 4, 6, 7, 13, 17, 21, 24]
QUESTION = "recommend"
NEGATIVE_AT_MOST = 6  # FeedbackPolicy::default().nps_negative_at_most
PROMOTER_FROM = 9
COLUMNS = ("id, customer_id, source, metric, score, body, sentiment_score, sentiment_label, sentiment_confidence, "
           "product_id, agent_id, team_id, channel, ticket_id, message_id, note_id, ticket_message_id, "
           "ticket_survey_id, survey_id, invitation_id, question_key, negative, follow_up, task_id, created_by, "
           "created_at")
assert sum(SCORES) == 100


def uuid7(at, rng):
    """A UUIDv7 of moment `at` (Uuid::now_v7 at creation)."""
    ms = int(at.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def stamp(at):
    """persistence::sql_types::sqlite_timestamp: RFC 3339, microseconds, Z."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_pg(db):
    return db.startswith("postgres")


def psql(db, sql):
    out = subprocess.run(["psql", db, "-v", "ON_ERROR_STOP=1", "-qAt"], input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr}")
    return out.stdout


def query(db, sql):
    """Rows as lists of text (None for null)."""
    if is_pg(db):
        out = subprocess.run(["psql", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-F", "\x1f", "-R", "\x1e",
                              "-P", "null=\x01", "-c", sql], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"psql failed: {out.stderr}")
        return [[None if v == "\x01" else v for v in row.split("\x1f")]
                for row in out.stdout.rstrip("\n").split("\x1e") if row]
    con = sqlite3.connect(db)
    return [[None if v is None else str(v) for v in row] for row in con.execute(sql)]


def execute(db, sql):
    if is_pg(db):
        psql(db, sql)
    else:
        con = sqlite3.connect(db)
        con.executescript(sql)
        con.commit()


class Api:
    def __init__(self, url):
        self.url = url
        self.token = None
        self.token = self.call("POST", "/api/v1/auth/login",
                               {"email": "bench@example.com", "password": PASSWORD})[1]["access_token"]

    def call(self, method, path, body=None, expect=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("content-type", content_type)
        if self.token:
            req.add_header("authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        if expect is not None and status != expect:
            sys.exit(f"{method} {path}: {status} (expected {expect}): {raw[:800]!r}")
        return status, (json.loads(raw) if raw else None)


# --- Setup through the API ---------------------------------------------------------------
def setup(url, db, work):
    """A support team of AGENTS agents, an NPS survey, and the policy's action `none`."""
    api = Api(url)
    team = api.call("POST", "/api/v1/teams", {"name": "پشتیبانی مشتریان"}, 201)[1]["id"]
    users = []
    for n in range(1, AGENTS + 1):
        user = api.call("POST", "/api/v1/users", {
            "email": f"agent{n:02d}.bench@example.com", "display_name": f"کارشناس پشتیبانی {n}",
            "password": PASSWORD, "role": "support", "team_id": team}, 201)[1]
        users.append(user["id"])
    survey = api.call("POST", "/api/v1/feedback-surveys", {
        "name": "NPS پس از خرید", "valid_days": 14,
        "questions": [{"key": QUESTION, "kind": "nps", "required": True,
                       "text_fa": "چقدر احتمال دارد ما را به دوستانتان پیشنهاد کنید؟",
                       "text_en": "How likely are you to recommend us to a friend?"}]}, 201)[1]["id"]
    settings = api.call("PATCH", "/api/v1/settings/business", {"feedback": {"action": "none"}}, 200,
                        content_type="application/merge-patch+json")[1]
    json.dump({"agents": users, "team": team, "survey": survey, "time_zone": settings["time_zone"]},
              open(f"{work}/setup.json", "w"))
    print(f"setup: {len(users)} support agents, survey {survey} (one nps question), negative feedback action none, "
          f"business time zone {settings['time_zone']}")


# --- Loading ------------------------------------------------------------------------------
def load(db, work, answers):
    s = json.load(open(f"{work}/setup.json"))
    started = time.time()
    if is_pg(db):
        load_pg(db, s, answers)
    else:
        load_sqlite(db, s, answers)
    print(f"loaded {answers} NPS answers in {time.time() - started:.1f} s")


def load_pg(db, s, answers):
    score_of = [score for score, weight in enumerate(SCORES) for _ in range(weight)]
    agent_of = [s["agents"][n % AGENTS] if n < WITH_AGENT else None for n in range(100)]
    values = lambda rows: ", ".join(f"({n}, {v})" for n, v in enumerate(rows))  # noqa: E731
    indexes = query(db, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'feedback' "
                        "AND indexname <> 'feedback_pkey'")
    psql(db, f"""
\\timing off
SET maintenance_work_mem = '256MB';
BEGIN;
CREATE TEMP TABLE b_score (n int PRIMARY KEY, score int);
INSERT INTO b_score VALUES {values(score_of)};
CREATE TEMP TABLE b_agent (n int PRIMARY KEY, agent uuid);
INSERT INTO b_agent VALUES {values("NULL" if a is None else f"'{a}'" for a in agent_of)};
CREATE TEMP TABLE b_customer AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id FROM customers;
CREATE UNIQUE INDEX ON b_customer (n);
-- uuid v7 from a moment: 48 bits of milliseconds, version 7, variant 10.
CREATE FUNCTION pg_temp.uuid7(at timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
          || substr(h, 1, 3) || to_hex(8 + floor(random() * 4)::int) || substr(h, 4, 15))::uuid
  FROM (SELECT md5(random()::text || clock_timestamp()::text) AS h) x $$;
{"".join(f"DROP INDEX {name};" for name, _ in indexes)}
INSERT INTO feedback ({COLUMNS})
SELECT pg_temp.uuid7(r.at), c.id, 'survey', 'nps', s.score, NULL, NULL, NULL, NULL,
       NULL, a.agent, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, '{s["survey"]}', pg_temp.uuid7(r.at), '{QUESTION}', s.score <= {NEGATIVE_AT_MOST}, NULL, NULL, NULL,
       r.at
FROM (SELECT g, now() - random() * interval '730 days' AS at,
             floor(random() * (SELECT count(*) FROM b_customer))::int AS ci,
             floor(random() * 100)::int AS si, floor(random() * 100)::int AS ai
      FROM generate_series(1, {answers}) g) r
JOIN b_customer c ON c.n = r.ci JOIN b_score s ON s.n = r.si JOIN b_agent a ON a.n = r.ai
ORDER BY r.at;
{"".join(f"{definition};" for _, definition in indexes)}
COMMIT;
""")


def load_sqlite(db, s, answers):
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -1000000")
    customers = [r[0] for r in con.execute("SELECT id FROM customers ORDER BY id")]
    score_of = [score for score, weight in enumerate(SCORES) for _ in range(weight)]
    agent_of = [s["agents"][n % AGENTS] if n < WITH_AGENT else None for n in range(100)]
    survey = s["survey"]

    def rows():
        for _ in range(answers):
            at = now - timedelta(seconds=rng.random() * 730 * 86400)
            score = score_of[rng.randrange(100)]
            yield (uuid7(at, rng), rng.choice(customers), score, agent_of[rng.randrange(100)], survey,
                   uuid7(at, rng), QUESTION, int(score <= NEGATIVE_AT_MOST), stamp(at))
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'feedback' "
                          "AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    # In creation order, as the application appends them.
    ordered = sorted(rows(), key=lambda row: row[-1])
    con.executemany(
        f"INSERT INTO feedback ({COLUMNS}) VALUES (?, ?, 'survey', 'nps', ?, NULL, NULL, NULL, NULL, NULL, ?, NULL, "
        "NULL, NULL, NULL, NULL, NULL, NULL, ?, ?, ?, ?, NULL, NULL, NULL, ?)", ordered)
    for _, index in indexes:
        con.execute(index)
    con.commit()


# --- Verification -------------------------------------------------------------------------
SHAPE = ("source, metric, score, body, sentiment_score, sentiment_label, sentiment_confidence, product_id, "
         "agent_id, team_id, channel, ticket_id, message_id, note_id, ticket_message_id, ticket_survey_id, "
         "survey_id, question_key, negative, follow_up, task_id, created_by")


def bounds(tz, first, last):
    """[start, end) in UTC of local days `first` to `last`, as the report cuts them."""
    zone = ZoneInfo(tz)
    start = datetime.combine(first, datetime.min.time(), zone).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).astimezone(timezone.utc)
    return start, end


def literal(db, at):
    return f"'{at.isoformat()}'::timestamptz" if is_pg(db) else f"'{stamp(at)}'"


def counts(db, start, end, group=False):
    where = f"metric = 'nps' AND created_at >= {literal(db, start)} AND created_at < {literal(db, end)}"
    cols = (f"count(*), sum(CASE WHEN score >= {PROMOTER_FROM} THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN score <= {NEGATIVE_AT_MOST} THEN 1 ELSE 0 END)")
    if group:
        agent = "CAST(agent_id AS TEXT)"
        return {r[0]: tuple(int(v or 0) for v in r[1:])
                for r in query(db, f"SELECT {agent}, {cols} FROM feedback WHERE {where} GROUP BY {agent}")}
    return tuple(int(v or 0) for v in query(db, f"SELECT {cols} FROM feedback WHERE {where}")[0])


def figures(f):
    return (f["answers"], f["top"], f["bottom"])


def report_path(first, last, group=False):
    return (f"/api/v1/reports/feedback?metric=nps&from={first}&to={last}&bucket=month"
            + ("&group_by=agent" if group else ""))


def verify(url, db, work, first, last):
    s = json.load(open(f"{work}/setup.json"))
    api = Api(url)
    fail = []
    bool_sql = "negative::int" if is_pg(db) else "negative"
    shape = SHAPE.replace("negative", bool_sql)
    # 1. A twin answered through the survey link is stored in the loaded rows' shape.
    twins = 0
    for score in (3, 7, 10):
        agent = s["agents"][score % AGENTS]
        customer = query(db, "SELECT id FROM customers ORDER BY random() LIMIT 1")[0][0]
        invited = api.call("POST", f"/api/v1/feedback-surveys/{s['survey']}/invitations",
                           {"customer_ids": [customer], "agent_id": agent}, 200)[1]["data"][0]
        if invited["status"] != "sent":
            sys.exit(f"invitation of {customer}: {invited}")
        made = api.call("POST", invited["link"], {"answers": {QUESTION: score}}, 201)[1]["feedback"]
        if len(made) != 1:
            fail.append(f"survey answer stored {len(made)} feedback rows")
            continue
        twin = made[0]["id"]
        stored = query(db, f"SELECT {shape} FROM feedback WHERE id = '{twin}'")
        loaded = query(db, f"SELECT {shape} FROM feedback WHERE id <> '{twin}' AND score = {score} "
                           f"AND agent_id = '{agent}' LIMIT 1")
        if not loaded or stored != loaded:
            fail.append(f"score {score}: loaded {loaded} but the API stores {stored}")
        # The id and invitation are UUIDv7 of the answer's time, like the loaded ones.
        for column in ("id", "invitation_id"):
            value = query(db, f"SELECT {column} FROM feedback WHERE id = '{twin}'")[0][0]
            if uuid.UUID(value).version != 7:
                fail.append(f"the API's {column} {value} is not a UUIDv7")
        # Taken out again so that the data is exactly the loaded answers.
        execute(db, f"DELETE FROM feedback WHERE id = '{twin}'; "
                    f"DELETE FROM survey_invitations WHERE id = '{invited['invitation_id']}';")
        twins += 1
    for column in ("id", "invitation_id"):
        value = query(db, f"SELECT {column} FROM feedback ORDER BY random() LIMIT 1")[0][0]
        if uuid.UUID(value).version != 7 or value != value.lower():
            fail.append(f"loaded {column} {value} is not a lower-case UUIDv7")
    # 2. The report's totals over the whole range, each period and each agent equal what
    # SQL counts over the same UTC bounds.
    first_day, last_day = date.fromisoformat(first), date.fromisoformat(last)
    start, end = bounds(s["time_zone"], first_day, last_day)
    expected = counts(db, start, end)
    stored = tuple(int(v) for v in query(db, "SELECT count(*) FROM feedback WHERE metric = 'nps'")[0])
    if expected[0] != stored[0]:
        fail.append(f"the range {first}..{last} holds {expected[0]} of the {stored[0]} answers")
    started = time.time()
    report = api.call("GET", report_path(first, last), expect=200)[1]
    took = time.time() - started
    if figures(report["totals"]) != expected:
        fail.append(f"report totals (answers, promoters, detractors) {figures(report['totals'])} "
                    f"vs SQL {expected}")
    periods = report["periods"]
    for period in periods:
        p_start, p_end = bounds(s["time_zone"], date.fromisoformat(period["start"]), date.fromisoformat(period["end"]))
        got, want = figures(period["totals"]), counts(db, p_start, p_end)
        if got != want:
            fail.append(f"period {period['label']} ({period['start']}..{period['end']}): {got} vs SQL {want}")
    value = report["totals"]["value"]
    nps = 100 * (expected[1] - expected[2]) / expected[0]
    if value is None or abs(value - nps) > 0.01:
        fail.append(f"report NPS {value} vs {nps:.2f} from the SQL counts")
    grouped = api.call("GET", report_path(first, last, True), expect=200)[1]
    per_agent = {}
    for period in grouped["periods"]:
        for g in period["groups"]:
            a, t, b = per_agent.get(g["key"], (0, 0, 0))
            per_agent[g["key"]] = (a + g["figures"]["answers"], t + g["figures"]["top"], b + g["figures"]["bottom"])
    want_agents = counts(db, start, end, True)
    if per_agent != want_agents:
        fail.append(f"per agent {per_agent} vs SQL {want_agents}")
    named = {g["key"]: g["name"] for p in grouped["periods"] for g in p["groups"]}
    if any(named.get(a) is None for a in s["agents"]):
        fail.append(f"agents without a name in the grouped report: {named}")
    if figures(grouped["totals"]) != expected:
        fail.append(f"grouped report totals {figures(grouped['totals'])} vs SQL {expected}")
    if fail:
        sys.exit("verification FAILED:\n  " + "\n  ".join(fail))
    shares = [int(r[1]) for r in query(db, "SELECT score, count(*) FROM feedback WHERE metric = 'nps' "
                                           "GROUP BY score ORDER BY score")]
    print(f"verified: {twins} answers through the survey link stored as loaded; report totals = SQL: "
          f"{expected[0]} answers, {expected[1]} promoters, {expected[2]} detractors, NPS {value} "
          f"(first request {took * 1000:.0f} ms); all {len(periods)} periods and all "
          f"{len(per_agent)} agent groups (with no agent) equal SQL")
    print("scores 0..10 (% of answers): " + " ".join(f"{100 * n / expected[0]:.1f}" for n in shares))
    # What the measurement uses: the last full period, and the bare statements of the
    # report (the same SQL `persistence::feedback_reports::cells` builds, the periods'
    # bounds written in).
    month = periods[-2]
    with open(f"{work}/month.env", "w") as out:
        out.write(f"MONTH_FROM={month['start']}\nMONTH_TO={month['end']}\nMONTH_LABEL='{month['label']}'\n"
                  f"PERIODS={len(periods)}\n")
    rows = []
    for index, period in enumerate(periods):
        p_start, p_end = bounds(s["time_zone"], date.fromisoformat(period["start"]), date.fromisoformat(period["end"]))
        rows.append(f"({index}, {literal(db, p_start)}, {literal(db, p_end)})")
    for name, grouped_sql in (("bare_feedback", False), ("bare_feedback_agent", True)):
        open(f"{work}/{name}.sql", "w").write(bare_sql(db, rows, grouped_sql) + ";\n")


def bare_sql(db, rows, group):
    key = "CAST(f.agent_id AS TEXT)" if group else "CAST(NULL AS TEXT)"
    return (f"WITH periods(idx, starts, ends) AS (VALUES {', '.join(rows)}) "
            f"SELECT periods.idx AS period, {key} AS group_key, CAST(COUNT(*) AS BIGINT) AS answers, "
            f"CAST(SUM(CASE WHEN f.score >= {PROMOTER_FROM} THEN 1 ELSE 0 END) AS BIGINT) AS top, "
            f"CAST(SUM(CASE WHEN f.score <= {NEGATIVE_AT_MOST} THEN 1 ELSE 0 END) AS BIGINT) AS bottom, "
            "CAST(SUM(CAST(f.score AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS sum, "
            "CAST(SUM(CAST(f.score AS DOUBLE PRECISION) * CAST(f.score AS DOUBLE PRECISION)) AS DOUBLE PRECISION) "
            "AS sum_of_squares "
            "FROM periods JOIN feedback f ON f.created_at >= periods.starts AND f.created_at < periods.ends "
            "WHERE f.metric = 'nps' "
            f"GROUP BY periods.idx{', ' + key if group else ''} ORDER BY periods.idx")


def bare(db, work, seconds):
    """SQLite: each bare statement run repeatedly for `seconds` in one connection."""
    con = sqlite3.connect(db)
    for name in ("bare_feedback", "bare_feedback_agent"):
        sql = open(f"{work}/{name}.sql").read().rstrip().rstrip(";")
        times = []
        until = time.time() + seconds
        while time.time() < until or len(times) < 3:
            started = time.perf_counter()
            con.execute(sql).fetchall()
            times.append((time.perf_counter() - started) * 1000)
        print(f"{name}: {len(times)} runs, median {statistics.median(times):.1f} ms, "
              f"max {max(times):.1f} ms")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "setup":
        setup(*args)
    elif command == "load":
        load(args[0], args[1], int(args[2]))
    elif command == "verify":
        verify(*args)
    elif command == "bare":
        bare(args[0], args[1], float(args[2]))
    else:
        sys.exit(f"unknown command {command}")

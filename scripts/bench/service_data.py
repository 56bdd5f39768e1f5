#!/usr/bin/env python3
"""Data of the service benchmark (scripts/bench_service.sh), standard library only.

    service_data.py setup  URL DB WORK                teams, agents, categories, SLA policy (API)
    service_data.py describe DB WORK                  the setup of a database loaded earlier
    service_data.py load   DB WORK TICKETS MESSAGES   tickets with their conversation and history (SQL)
    service_data.py verify URL DB WORK                the API answers with the loaded data
    service_data.py tokens URL WORK                   a fresh access token per agent (queue.lua)
    service_data.py scan   DB COUNT LABEL LOG         one SLA scan pass with COUNT tickets due

DB is a PostgreSQL URL or a SQLite file. A tenth of the tickets are open, created in the
last 14 days; the rest were resolved or closed over the three years before. Each ticket
has its conversation (1 to 19 messages: the customer's, the agents' replies, now and
then an internal note), its status history from creation, and the breaches of its SLA
targets. The first response is the first agent reply; the message count counts the
customer's and the agents' messages, as the application counts them; the quick-search
text is the application's (`domain::service::tickets::search_text`: number, subject key,
customer name key). The SLA due times are drawn (an hour for the first response, sixteen
for the resolution, from creation) rather than counted on the business calendar, and
the open tickets' next due times lie three hours ahead or more, so that nothing is due
until `scan` makes it so. `verify` checks the derived columns by creating twins of sampled tickets through the
API.
"""

import json
import random
import sqlite3
import sys
import time
from datetime import datetime, timedelta, timezone

from sales_data import Api, is_pg, key, psql, query, sql_text, stamp, uuid7

# Teams of the support agents: name, agents. Each team also has one manager, whom
# breaches and escalations are told to.
TEAMS = [("پشتیبانی فنی", 12), ("پیگیری سفارش", 12), ("مالی و بازپرداخت", 8), ("پشتیبانی سازمانی", 10),
         ("پشتیبانی شبانه", 8)]
PASSWORD = "quiet-harbor-lantern-42"
CATEGORIES = [("ارسال و تحویل", "Delivery"), ("بازپرداخت", "Refunds"), ("مشکل فنی", "Technical"),
              ("صورتحساب", "Billing"), ("حساب کاربری", "Account"), ("گارانتی", "Warranty")]
SUBJECTS = ["سفارش هنوز نرسیده است", "درخواست بازگشت وجه", "خطا در پرداخت اینترنتی", "کالای آسیب‌دیده",
            "تغییر آدرس تحویل", "فاکتور رسمی لازم دارم", "رمز عبور را فراموش کرده‌ام", "گارانتی دستگاه",
            "کد تخفیف اعمال نشد", "لغو سفارش", "Order not delivered", "Refund request", "Invoice needed",
            "Cannot log in", "Wrong item received", "تأخیر در ارسال مرسوله", "شارژ اشتباه کارت"]
CUSTOMER_LINES = ["سلام، سفارش من هنوز نرسیده. لطفاً پیگیری کنید.", "مبلغ از حسابم کم شده ولی سفارش ثبت نشده.",
                  "کالا آسیب دیده به دستم رسید، چطور مرجوع کنم؟", "ممنون، ولی مشکل هنوز حل نشده است.",
                  "کد رهگیری کار نمی‌کند.", "لطفاً فاکتور رسمی با کد اقتصادی بفرستید.",
                  "Hello, my order has not arrived yet.", "Thanks, it works now."]
AGENT_LINES = ["سلام، وقت بخیر. سفارش شما در حال پیگیری است.", "مبلغ ظرف ۷۲ ساعت کاری به حسابتان برمی‌گردد.",
               "لطفاً تصویر کالا را ارسال کنید تا مرجوعی ثبت شود.", "کد رهگیری جدید برایتان پیامک شد.",
               "فاکتور رسمی به ایمیل شما ارسال شد.", "Hello, we are looking into it and will update you shortly."]
NOTES = ["با انبار تماس گرفتم، فردا ارسال می‌شود.", "موضوع به واحد مالی ارجاع شد.", "مشتری ویژه است؛ پیگیری شود."]
CHANNELS = [("email", 25), ("phone", 20), ("chat", 15), ("web", 20), ("telegram", 10), ("whatsapp", 5),
            ("instagram", 5)]
PRIORITIES = [("low", 20), ("normal", 55), ("high", 20), ("urgent", 5)]
OPEN_STATUSES = [("new", 15), ("open", 50), ("pending_customer", 20), ("on_hold", 5), ("reopened", 10)]
DONE_STATUSES = [("closed", 80), ("resolved", 20)]
OPEN_SHARE = 0.1
FIRST_RESPONSE_MINUTES, RESOLUTION_MINUTES, PICKUP_MINUTES = 60, 960, 30


def weighted(pairs):
    return [value for value, weight in pairs for _ in range(weight)]


# --- Setup --------------------------------------------------------------------------------
def setup(url, db, work):
    api = Api(url)
    teams, agents, managers = [], [], []
    n = 0
    for name, members in TEAMS:
        team = api.call("POST", "/api/v1/teams", {"name": name}, 201)[1]["id"]
        teams.append(team)
        manager = api.call("POST", "/api/v1/users", {
            "email": f"lead{len(teams):02d}.bench@example.com", "display_name": f"سرپرست {name}",
            "password": PASSWORD, "role": "manager", "team_id": team}, 201)[1]
        managers.append(manager["id"])
        for _ in range(members):
            n += 1
            user = api.call("POST", "/api/v1/users", {
                "email": f"agent{n:02d}.bench@example.com", "display_name": f"کارشناس پشتیبانی {n}",
                "password": PASSWORD, "role": "support", "team_id": team}, 201)[1]
            agents.append({"id": user["id"], "team_id": team, "email": f"agent{n:02d}.bench@example.com"})
    categories = [api.call("POST", "/api/v1/ticket-categories", {"name": fa, "name_en": en}, 201)[1]["id"]
                  for fa, en in CATEGORIES]
    policy = api.call("POST", "/api/v1/sla-policies", {
        "name": "پیش‌فرض", "position": 10, "first_response_minutes": FIRST_RESPONSE_MINUTES,
        "resolution_minutes": RESOLUTION_MINUTES, "pickup_minutes": PICKUP_MINUTES, "max_reassignments": 2,
        "raise_priority_on_breach": True, "active": True}, 201)[1]["id"]
    json.dump({"teams": teams, "agents": agents, "managers": managers, "categories": categories,
               "policy": policy}, open(f"{work}/setup.json", "w"))
    print(f"setup: {len(teams)} teams, {len(agents)} support agents, {len(managers)} managers, "
          f"{len(categories)} categories, one SLA policy")


def describe(db, work):
    """setup.json of a database loaded by an earlier run (BENCH_DB of bench_service.sh)."""
    agents = [{"id": i, "team_id": t, "email": e} for i, t, e in query(
        db, "SELECT id, team_id, email FROM users WHERE email LIKE 'agent%.bench@example.com' ORDER BY email")]
    json.dump({"teams": sorted({a["team_id"] for a in agents}), "agents": agents,
               "managers": [r[0] for r in query(db, "SELECT id FROM users WHERE email LIKE 'lead%.bench@example.com'")],
               "categories": [r[0] for r in query(db, "SELECT id FROM ticket_categories ORDER BY created_at")],
               "policy": query(db, "SELECT id FROM sla_policies LIMIT 1")[0][0]}, open(f"{work}/setup.json", "w"))


# --- Loading ------------------------------------------------------------------------------
def customers(db):
    """(id, key of the display name) of every customer, as the search text uses it."""
    return [(cid, key(name)) for cid, name in query(db, "SELECT id, display_name FROM customers ORDER BY id")]


def load(db, work, tickets, messages):
    s = json.load(open(f"{work}/setup.json"))
    started = time.time()
    if is_pg(db):
        load_pg(db, s, tickets, messages)
    else:
        load_sqlite(db, s, tickets, messages)
    print(f"loaded {tickets} tickets with about {messages} messages in {time.time() - started:.1f} s")


def load_pg(db, s, tickets, messages):
    per_ticket = max(1, round(2 * messages / tickets - 1))  # 1 .. per_ticket messages, evenly drawn

    def table(name, columns, rows):
        values = ",\n".join("(" + ", ".join([str(i)] + [sql_text(v) for v in row]) + ")"
                            for i, row in enumerate(rows))
        return f"CREATE TEMP TABLE {name} (n int PRIMARY KEY, {columns});\nINSERT INTO {name} VALUES\n{values};\n"
    sql = [
        "\\timing off\nSET maintenance_work_mem = '512MB';\nSET work_mem = '256MB';\nBEGIN;",
        table("b_customer", "id uuid, k text", customers(db)),
        table("b_agent", "owner uuid, team uuid", [(a["id"], a["team_id"]) for a in s["agents"]]),
        table("b_category", "id uuid", [(c,) for c in s["categories"]]),
        table("b_subject", "subject text, k text", [(x, key(x)) for x in SUBJECTS]),
        table("b_channel", "channel text", [(c,) for c in weighted(CHANNELS)]),
        table("b_priority", "priority text", [(p,) for p in weighted(PRIORITIES)]),
        table("b_open", "status text", [(x,) for x in weighted(OPEN_STATUSES)]),
        table("b_done", "status text", [(x,) for x in weighted(DONE_STATUSES)]),
        table("b_customer_line", "body text", [(x,) for x in CUSTOMER_LINES]),
        table("b_agent_line", "body text", [(x,) for x in AGENT_LINES]),
        table("b_note", "body text", [(x,) for x in NOTES]),
        """CREATE FUNCTION pg_temp.uuid7(at timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
             SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
                     || substr(h, 1, 3) || to_hex(8 + floor(random() * 4)::int) || substr(h, 4, 15))::uuid
             FROM (SELECT md5(random()::text || clock_timestamp()::text) AS h) x $$;""",
    ]
    # The secondary indexes of the three big tables are built once after the insert.
    big = "('tickets', 'ticket_messages', 'ticket_status_changes')"
    indexes = query(db, f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN {big} "
                        "AND indexname NOT LIKE '%pkey' AND indexname <> 'tickets_number_key'")
    sql.append("".join(f"DROP INDEX {name};\n" for name, _ in indexes))
    # Draws, then the instants: a done ticket took `span` from creation to resolution
    # and its messages are spread over it; an open one's over its life until now. The
    # first agent reply is the second message.
    sql.append(f"""
CREATE TEMP TABLE b_tickets AS
SELECT *,
       CASE WHEN status <> 'new' THEN created + (ends - created) / n END AS first_responded,
       CASE WHEN status IN ('resolved', 'closed') THEN ends END AS resolved,
       CASE WHEN status = 'closed' THEN ends + (1 + random() * 6) * interval '1 day' END AS closed,
       CASE WHEN status IN ('pending_customer', 'on_hold', 'reopened')
            THEN created + (ends - created) * (0.5 + random() * 0.4) END AS moved
FROM (
  SELECT g, at AS created, o.owner, o.team, st.status, c.id AS customer_id, c.k AS ckey, su.subject, su.k AS skey,
         ch.channel, pr.priority, ca.id AS category_id,
         CASE WHEN st.status = 'new' THEN 1 + floor(random() * 3)::int
              ELSE 2 + floor(random() * {per_ticket - 1})::int END AS n,
         CASE WHEN d.open THEN now() - interval '1 minute'
              ELSE at + (60 + random() * 7140) * interval '1 minute' END AS ends, random() AS due_u
  FROM (SELECT g, random() < {OPEN_SHARE} AS open,
               floor(random() * (SELECT count(*) FROM b_agent))::int AS oi,
               floor(random() * (SELECT count(*) FROM b_customer))::int AS ci,
               floor(random() * {len(SUBJECTS)})::int AS si,
               floor(random() * 100)::int AS chi, floor(random() * 100)::int AS pi,
               floor(random() * 100)::int AS sti,
               floor(random() * {len(s['categories'])})::int AS cai, random() AS u
        FROM generate_series(1, {tickets}) g) d
  CROSS JOIN LATERAL (SELECT CASE WHEN d.open THEN now() - (60 + d.u * 20000) * interval '1 minute'
                                  ELSE now() - interval '14 days' - d.u * interval '1081 days' END AS at) a
  JOIN b_agent o ON o.n = d.oi JOIN b_customer c ON c.n = d.ci JOIN b_subject su ON su.n = d.si
  JOIN b_channel ch ON ch.n = d.chi JOIN b_priority pr ON pr.n = d.pi JOIN b_category ca ON ca.n = d.cai
  JOIN (SELECT n, status, true AS open FROM b_open UNION ALL SELECT n, status, false FROM b_done) st
    ON st.open = d.open AND st.n = d.sti
) x;
ALTER TABLE b_tickets ADD COLUMN id uuid;
UPDATE b_tickets SET id = pg_temp.uuid7(created);
""")
    # Done tickets keep the due times they had; an open one's next due time lies ahead.
    sql.append(f"""
INSERT INTO tickets (id, number, subject, description, customer_id, contact_id, channel, category_id, priority,
  status, owner_id, team_id, order_id, product_id, tags, custom_fields, search_text, sla_policy_id,
  first_response_due_at, next_response_due_at, resolution_due_at, pickup_due_at, first_response_breached,
  next_response_breached, resolution_breached, sla_breached, sla_paused_at, sla_paused_minutes, sla_check_at,
  first_responded_at, resolved_at, closed_at, reassignments, escalated_at, reopen_count, message_count,
  last_message_at, created_by, created_at, updated_at, version, merged_into_id, time_spent_minutes)
SELECT id, g, subject, NULL, customer_id, NULL, channel, category_id, priority, status, owner, team, NULL, NULL,
  '[]', '{{}}', concat_ws(' ', g::text, skey, CASE WHEN ckey <> skey AND ckey <> '' THEN ckey END),
  '{s['policy']}', fr_due, NULL, res_due, pickup_due,
  coalesce(first_responded > fr_due, false), false, coalesce(resolved > res_due, false),
  coalesce(first_responded > fr_due, false) OR coalesce(resolved > res_due, false),
  CASE WHEN status = 'pending_customer' THEN moved END, 0,
  CASE WHEN status = 'new' THEN pickup_due WHEN status IN ('open', 'on_hold', 'reopened') THEN res_due END,
  first_responded, resolved, closed, 0, NULL, (status = 'reopened')::int, counted, last_at, NULL, created,
  coalesce(closed, resolved, moved, last_at), 1, NULL, 0
FROM (
  SELECT t.*,
         CASE WHEN status = 'new' THEN now() + interval '{PICKUP_MINUTES + 180} minutes' + due_u * interval '7 hours'
              ELSE created + interval '{FIRST_RESPONSE_MINUTES} minutes' END AS fr_due,
         CASE WHEN status IN ('resolved', 'closed') THEN created + interval '{RESOLUTION_MINUTES} minutes'
              WHEN status = 'pending_customer' THEN now() + interval '3 hours' + random() * interval '5 days'
              ELSE now() + interval '3 hours' + random() * interval '5 days' END AS res_due,
         CASE WHEN status = 'new' THEN now() + interval '3 hours' + due_u * interval '7 hours' END AS pickup_due,
         n - n / 7 AS counted,
         created + (ends - created) * (CASE WHEN n % 7 = 0 THEN n - 2 ELSE n - 1 END) / n AS last_at
  FROM b_tickets t
) y;
UPDATE ticket_counters SET last_number = {tickets} WHERE scope = 'tickets';
INSERT INTO ticket_counters (scope, last_number) SELECT 'tickets', {tickets}
  WHERE NOT EXISTS (SELECT 1 FROM ticket_counters WHERE scope = 'tickets');
""")
    # The conversation: the customer opens, agent and customer take turns (all the
    # customer's while nobody answered), every seventh an internal note.
    sql.append("""
INSERT INTO ticket_messages (id, ticket_id, kind, author_id, body, mentions, created_at)
SELECT pg_temp.uuid7(at), id, kind, CASE WHEN kind IN ('agent', 'note') THEN owner END,
       CASE kind WHEN 'customer' THEN (SELECT body FROM b_customer_line WHERE n = (g + i) % 8)
                 WHEN 'agent' THEN (SELECT body FROM b_agent_line WHERE n = (g + i) % 6)
                 ELSE (SELECT body FROM b_note WHERE n = (g + i) % 3) END,
       '[]', at
FROM (SELECT t.id, t.g, t.owner, i, t.created + (t.ends - t.created) * (i - 1) / t.n AS at,
             CASE WHEN i % 7 = 0 THEN 'note' WHEN t.status = 'new' OR i % 2 = 1 THEN 'customer' ELSE 'agent' END AS kind
      FROM b_tickets t CROSS JOIN LATERAL generate_series(1, t.n) i) m;
""")
    # The status history from creation, as the application records it.
    sql.append("""
INSERT INTO ticket_status_changes (id, ticket_id, from_status, to_status, changed_by, changed_at, reason)
SELECT pg_temp.uuid7(at), id, from_status, to_status, by, at, NULL
FROM (
  SELECT id, NULL AS from_status, 'new' AS to_status, NULL::uuid AS by, created AS at FROM b_tickets
  UNION ALL SELECT id, 'new', 'open', owner, first_responded FROM b_tickets WHERE status <> 'new'
  UNION ALL SELECT id, 'open', status, owner, moved FROM b_tickets WHERE status IN ('pending_customer', 'on_hold')
  UNION ALL SELECT id, 'open', 'resolved', owner, coalesce(resolved, first_responded + (moved - first_responded) / 2)
    FROM b_tickets WHERE status IN ('resolved', 'closed', 'reopened')
  UNION ALL SELECT id, 'resolved', 'closed', owner, closed FROM b_tickets WHERE status = 'closed'
  UNION ALL SELECT id, 'resolved', 'reopened', NULL, moved FROM b_tickets WHERE status = 'reopened'
) c;
INSERT INTO ticket_sla_breaches (id, ticket_id, target, due_at, breached_at, owner_id, team_id)
SELECT pg_temp.uuid7(due_at), id, target, due_at, due_at + interval '1 minute', owner_id, team_id
FROM (SELECT id, 'first_response' AS target, first_response_due_at AS due_at, owner_id, team_id FROM tickets
      WHERE first_response_breached
      UNION ALL SELECT id, 'resolution', resolution_due_at, owner_id, team_id FROM tickets WHERE resolution_breached) b;
""")
    sql.append("".join(f"{index};\n" for _, index in indexes) + "COMMIT;\n")
    psql(db, "\n".join(sql))


def load_sqlite(db, s, tickets, messages):
    per_ticket = max(1, round(2 * messages / tickets - 1))
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -1000000")
    buyers = customers(db)
    channels, priorities = weighted(CHANNELS), weighted(PRIORITIES)
    opens, dones = weighted(OPEN_STATUSES), weighted(DONE_STATUSES)
    big = "('tickets', 'ticket_messages', 'ticket_status_changes')"
    indexes = con.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN {big} "
                          "AND sql IS NOT NULL AND name <> 'tickets_number_key'").fetchall()
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    ticket_rows, message_rows, change_rows, breach_rows = [], [], [], []

    def flush():
        con.executemany(f"INSERT INTO tickets (id, number, subject, description, customer_id, contact_id, channel, "
                        "category_id, priority, status, owner_id, team_id, order_id, product_id, tags, custom_fields, "
                        "search_text, sla_policy_id, first_response_due_at, next_response_due_at, resolution_due_at, "
                        "pickup_due_at, first_response_breached, next_response_breached, resolution_breached, "
                        "sla_breached, sla_paused_at, sla_paused_minutes, sla_check_at, first_responded_at, "
                        "resolved_at, closed_at, reassignments, escalated_at, reopen_count, message_count, "
                        "last_message_at, created_by, created_at, updated_at, version, merged_into_id, "
                        "time_spent_minutes) VALUES (" + ", ".join(["?"] * 43) + ")", ticket_rows)
        con.executemany("INSERT INTO ticket_messages (id, ticket_id, kind, author_id, body, mentions, created_at) "
                        "VALUES (?, ?, ?, ?, ?, '[]', ?)", message_rows)
        con.executemany("INSERT INTO ticket_status_changes (id, ticket_id, from_status, to_status, changed_by, "
                        "changed_at, reason) VALUES (?, ?, ?, ?, ?, ?, NULL)", change_rows)
        con.executemany("INSERT INTO ticket_sla_breaches (id, ticket_id, target, due_at, breached_at, owner_id, "
                        "team_id) VALUES (?, ?, ?, ?, ?, ?, ?)", breach_rows)
        for rows in (ticket_rows, message_rows, change_rows, breach_rows):
            rows.clear()

    minute = timedelta(minutes=1)
    for g in range(1, tickets + 1):
        is_open = rng.random() < OPEN_SHARE
        agent = rng.choice(s["agents"])
        customer, ckey = rng.choice(buyers)
        subject = rng.choice(SUBJECTS)
        skey = key(subject)
        status = rng.choice(opens if is_open else dones)
        u = rng.random()
        if is_open:
            created = now - (60 + u * 20000) * minute
            ends = now - minute
        else:
            created = now - timedelta(days=14) - u * timedelta(days=1081)
            ends = created + (60 + rng.random() * 7140) * minute
        n = 1 + rng.randrange(3) if status == "new" else 2 + rng.randrange(per_ticket - 1)
        first = created + (ends - created) / n if status != "new" else None
        resolved = ends if status in ("resolved", "closed") else None
        closed = ends + timedelta(days=1 + rng.random() * 6) if status == "closed" else None
        moved = created + (ends - created) * (0.5 + rng.random() * 0.4) \
            if status in ("pending_customer", "on_hold", "reopened") else None
        due_u = rng.random()
        pickup = now + timedelta(hours=3) + due_u * timedelta(hours=7) if status == "new" else None
        fr_due = pickup + PICKUP_MINUTES * minute if status == "new" else created + FIRST_RESPONSE_MINUTES * minute
        if status in ("resolved", "closed"):
            res_due = created + RESOLUTION_MINUTES * minute
        elif status == "pending_customer":
            res_due = now + timedelta(hours=3) + rng.random() * timedelta(days=5)
        else:
            res_due = now + timedelta(hours=3) + rng.random() * timedelta(days=5)
        check = pickup if status == "new" else res_due if status in ("open", "on_hold", "reopened") else None
        fr_breached = first is not None and first > fr_due
        res_breached = resolved is not None and resolved > res_due
        kinds = ["note" if i % 7 == 0 else "customer" if status == "new" or i % 2 == 1 else "agent"
                 for i in range(1, n + 1)]
        last_at = created + (ends - created) * ((n - 2) if n % 7 == 0 else (n - 1)) / n
        tid = uuid7(created, rng)
        text = " ".join([str(g), skey] + ([ckey] if ckey and ckey != skey else []))
        ts = lambda at: stamp(at) if at else None  # noqa: E731
        ticket_rows.append((
            tid, g, subject, None, customer, None, rng.choice(channels), rng.choice(s["categories"]),
            rng.choice(priorities), status, agent["id"], agent["team_id"], None, None, "[]", "{}", text, s["policy"],
            ts(fr_due), None, ts(res_due), ts(pickup), fr_breached, False, res_breached, fr_breached or res_breached,
            ts(moved) if status == "pending_customer" else None, 0, ts(check), ts(first), ts(resolved), ts(closed),
            0, None, int(status == "reopened"), sum(k != "note" for k in kinds), ts(last_at), None, ts(created),
            ts(closed or resolved or moved or last_at), 1, None, 0))
        for i, kind in enumerate(kinds, start=1):
            at = created + (ends - created) * (i - 1) / n
            body = CUSTOMER_LINES[(g + i) % 8] if kind == "customer" else AGENT_LINES[(g + i) % 6] \
                if kind == "agent" else NOTES[(g + i) % 3]
            message_rows.append((uuid7(at, rng), tid, kind, agent["id"] if kind != "customer" else None, body,
                                 stamp(at)))
        changes = [(None, "new", None, created)]
        if status != "new":
            changes.append(("new", "open", agent["id"], first))
        if status in ("pending_customer", "on_hold"):
            changes.append(("open", status, agent["id"], moved))
        if status in ("resolved", "closed", "reopened"):
            changes.append(("open", "resolved", agent["id"], resolved or first + (moved - first) / 2))
        if status == "closed":
            changes.append(("resolved", "closed", agent["id"], closed))
        if status == "reopened":
            changes.append(("resolved", "reopened", None, moved))
        for frm, to, by, at in changes:
            change_rows.append((uuid7(at, rng), tid, frm, to, by, stamp(at)))
        for breached, target, due in ((fr_breached, "first_response", fr_due),
                                      (res_breached, "resolution", res_due)):
            if breached:
                breach_rows.append((uuid7(due, rng), tid, target, stamp(due), stamp(due + minute), agent["id"],
                                    agent["team_id"]))
        if len(message_rows) > 200_000:
            flush()
    flush()
    con.execute("INSERT INTO ticket_counters (scope, last_number) VALUES ('tickets', ?) "
                "ON CONFLICT (scope) DO UPDATE SET last_number = excluded.last_number", (tickets,))
    for _, index in indexes:
        con.execute(index)
    con.commit()


# --- Verification -------------------------------------------------------------------------
TWIN_FIELDS = ["subject", "customer_id", "channel", "category_id", "priority", "owner_id", "team_id"]


def verify(url, db, work):
    api = Api(url)
    fail = []
    s = json.load(open(f"{work}/setup.json"))
    # 1. Sampled tickets read back through the API; a twin created through the API
    # stores the same derived columns (its number differs, so the search text is
    # compared without it).
    sample = query(db, "SELECT id FROM tickets ORDER BY random() LIMIT 20")
    for (ticket,) in sample:
        got = api.call("GET", f"/api/v1/tickets/{ticket}", expect=200)[1]
        messages = api.call("GET", f"/api/v1/tickets/{ticket}/messages?limit=100", expect=200)[1]["data"]
        stored = query(db, f"SELECT count(*) FROM ticket_messages WHERE ticket_id = '{ticket}'")[0][0]
        if len(messages) != int(stored):
            fail.append(f"ticket {ticket}: {len(messages)} messages through the API, {stored} stored")
        counted = sum(m["kind"] in ("customer", "agent") for m in messages)
        if got["message_count"] != counted:
            fail.append(f"ticket {ticket}: message_count {got['message_count']} but {counted} messages count")
        twin = api.call("POST", "/api/v1/tickets", {f: got[f] for f in TWIN_FIELDS}, 201)[1]
        cols = "sla_policy_id, priority, status, version, team_id, owner_id"
        a = query(db, f"SELECT {cols}, substr(search_text, length(number || '') + 1) FROM tickets "
                      f"WHERE id = '{ticket}'")
        b = query(db, f"SELECT {cols}, substr(search_text, length(number || '') + 1) FROM tickets "
                      f"WHERE id = '{twin['id']}'")
        a[0][2], a[0][3] = b[0][2], b[0][3]  # status and version: the twin is new and unchanged
        if a != b:
            fail.append(f"ticket {ticket}: loaded {a} but the API stores {b}")
        api.call("DELETE", f"/api/v1/tickets/{twin['id']}", expect=204)
    # 2. An agent's queue through the API is the agent's open tickets soonest due first.
    agent = s["agents"][0]
    body = {"filter": {"and": [{"field": "owner_id", "op": "eq", "value": agent["id"]},
                               {"field": "status", "op": "in",
                                "value": ["new", "open", "pending_customer", "on_hold", "reopened"]}]},
            "sort": [{"field": "resolution_due_at", "direction": "asc"}], "limit": 50}
    got = [t["id"] for t in api.call("POST", "/api/v1/tickets/search", body, 200)[1]["data"]]
    want = [r[0] for r in query(db, f"SELECT id FROM tickets WHERE owner_id = '{agent['id']}' AND status IN "
                                    "('new', 'open', 'pending_customer', 'on_hold', 'reopened') "
                                    "ORDER BY resolution_due_at, id LIMIT 50")]
    if got != want:
        fail.append(f"queue of {agent['id']}: {got[:3]}… through the API, {want[:3]}… stored")
    # 3. The service report counts what is stored.
    today = datetime.now(timezone.utc).date()
    frm = today - timedelta(days=89)
    report = api.call("GET", f"/api/v1/reports/service?from={frm}&to={today}&bucket=month&calendar=gregorian",
                      expect=200)[1]
    stored = int(query(db, "SELECT count(*) FROM tickets WHERE created_at >= "
                           + ("'" + frm.isoformat() + "'::timestamp AT TIME ZONE 'Asia/Tehran'" if is_pg(db)
                              else "'" + (datetime.combine(frm, datetime.min.time()) - timedelta(hours=3, minutes=30))
                              .strftime("%Y-%m-%dT%H:%M:%S") + "'"))[0][0])
    if report["tickets"] != stored:
        fail.append(f"service report: {report['tickets']} tickets created since {frm}, {stored} stored")
    backlog = report["periods"][-1]["backlog"]
    open_now = int(query(db, "SELECT count(*) FROM tickets WHERE status IN "
                             "('new', 'open', 'pending_customer', 'on_hold', 'reopened')")[0][0])
    if backlog != open_now:
        fail.append(f"service report: backlog {backlog} at the end of today, {open_now} open tickets stored")
    if fail:
        sys.exit("verification failed:\n  " + "\n  ".join(fail))
    print(f"verified: {len(sample)} tickets and their conversations read through the API, twins stored alike, "
          f"an agent's queue, the report's {stored} tickets since {frm} and backlog of {open_now}")


def tokens(url, work):
    """A fresh access token per agent, one a line, for queue.lua; and their ids."""
    s = json.load(open(f"{work}/setup.json"))
    lines = []
    for agent in s["agents"]:
        api = Api.__new__(Api)
        api.url, api.token = url, None
        token = api.call("POST", "/api/v1/auth/login", {"email": agent["email"], "password": PASSWORD},
                         200)[1]["access_token"]
        lines.append(f"{agent['id']} {token}")
    open(f"{work}/agents.txt", "w").write("\n".join(lines) + "\n")


def due(db, count):
    """`count` open tickets (new ones with their pick-up and first response, others with
    their resolution) whose due time was a minute ago, as the scan finds them when their
    time comes; returns nothing, the next pass handles them."""
    at = datetime.now(timezone.utc) - timedelta(minutes=1)
    if is_pg(db):
        psql(db, f"""
WITH picked AS (SELECT id FROM tickets WHERE status IN ('new', 'open', 'on_hold', 'reopened')
                AND sla_check_at > now() ORDER BY random() LIMIT {count})
UPDATE tickets t SET
  pickup_due_at = CASE WHEN t.status = 'new' THEN '{at.isoformat()}'::timestamptz END,
  first_response_due_at = CASE WHEN t.status = 'new' THEN '{at.isoformat()}'::timestamptz
                               ELSE t.first_response_due_at END,
  resolution_due_at = CASE WHEN t.status = 'new' THEN t.resolution_due_at ELSE '{at.isoformat()}'::timestamptz END,
  sla_check_at = '{at.isoformat()}'::timestamptz
FROM picked WHERE t.id = picked.id;
""")
    else:
        con = sqlite3.connect(db)
        when = stamp(at)
        con.execute(f"""
UPDATE tickets SET
  pickup_due_at = CASE WHEN status = 'new' THEN ?1 END,
  first_response_due_at = CASE WHEN status = 'new' THEN ?1 ELSE first_response_due_at END,
  resolution_due_at = CASE WHEN status = 'new' THEN resolution_due_at ELSE ?1 END,
  sla_check_at = ?1
WHERE id IN (SELECT id FROM tickets WHERE status IN ('new', 'open', 'on_hold', 'reopened')
             AND sla_check_at > ?2 ORDER BY random() LIMIT {count})""", (when, stamp(datetime.now(timezone.utc))))
        con.commit()


def scan(db, count, label, log):
    """Makes `count` tickets due, queues a pass of the SLA scan for now (as its schedule
    does for the minute tickets come due) and waits for it; prints the pass's outcome
    and how long it ran (the worker's `elapsed_ms` in the server's JSON log `log`)."""
    due(db, count)
    job = str(uuid7(datetime.now(timezone.utc), random.Random()))
    when = datetime.now(timezone.utc)
    if is_pg(db):
        psql(db, "INSERT INTO jobs (id, kind, payload, status, progress, attempts, max_attempts, run_at, created_at, "
                 f"updated_at, occurrence_key) VALUES ('{job}', 'tickets.sla_scan', '{{}}', 'queued', 0, 0, 5, now(), "
                 f"now(), now(), 'tickets.sla_scan:bench-{job}')")
    else:
        con = sqlite3.connect(db)
        con.execute("INSERT INTO jobs (id, kind, payload, status, progress, attempts, max_attempts, run_at, "
                    "created_at, updated_at, occurrence_key) VALUES (?1, 'tickets.sla_scan', '{}', 'queued', 0, 0, 5, "
                    "?2, ?2, ?2, ?3)", (job, stamp(when), f"tickets.sla_scan:bench-{job}"))
        con.commit()
    for _ in range(1200):
        row = query(db, f"SELECT status, result FROM jobs WHERE id = '{job}'")[0]
        if row[0] in ("succeeded", "failed"):
            break
        time.sleep(0.25)
    else:
        sys.exit(f"the scan pass {job} did not end")
    if row[0] != "succeeded":
        sys.exit(f"the scan pass failed: {row}")
    result = json.loads(row[1])
    for _ in range(100):
        lines = [json.loads(line) for line in open(log) if job in line and "job succeeded" in line]
        if lines:
            break
        time.sleep(0.1)
    else:
        sys.exit(f"no log line of the pass {job} in {log}")
    elapsed = lines[0].get("elapsed_ms", lines[0].get("fields", {}).get("elapsed_ms"))
    print(f"{label:<58} {count:>6} due: {elapsed:>6} ms  checked {result['checked']}, "
          f"breaches {result['breaches']}, re-assigned {result['reassigned']}, escalated {result['escalated']}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "setup":
        setup(*args)
    elif command == "load":
        load(args[0], args[1], int(args[2]), int(args[3]))
    elif command == "describe":
        describe(*args)
    elif command == "verify":
        verify(*args)
    elif command == "tokens":
        tokens(*args)
    elif command == "scan":
        scan(args[0], int(args[1]), args[2], args[3])
    else:
        sys.exit(f"unknown command {command}")

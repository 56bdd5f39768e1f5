#!/usr/bin/env python3
"""Data and checks of the omnichannel benchmark (scripts/bench_omnichannel.sh), standard
library only (the SMTP baseline needs nothing more: smtplib).

    omni_data.py setup URL DB WORK SMTP_PORT HANDLES PHONES
        through the API: a Telegram account (unknown senders become leads) and an e-mail
        account on the local SMTP server; by SQL: HANDLES customers who wrote through
        Telegram before (their Telegram id remembered, as identity resolution stores
        it) and PHONES customer phones held by one customer each, for the wrk script
    omni_data.py verify-webhook DB WORK ACKED
        every acknowledged message stored once, each sender resolved as expected
    omni_data.py email-queue URL DB WORK N
        N conversations started by e-mail through POST /conversations (queued)
    omni_data.py email-wait DB WORK N STARTED
        waits until the N queued e-mails are sent; prints the time from STARTED
    omni_data.py smtp-baseline PORT N WORKERS
        the same number of comparable e-mails sent with smtplib, one connection each
    omni_data.py timeline-load URL DB WORK TOTAL TARGET
        about TOTAL timeline entries over the customers by SQL, TARGET of them for one
        customer (its orders and tickets through the API)
    omni_data.py timeline-cursors URL DB WORK
        walks the target's timeline through the API: counts its entries, keeps cursors

DB is a PostgreSQL URL. Rows written by SQL carry every column as the application writes
it (UUIDv7 ids of their creation time, version 1, the JSON defaults); texts, note
kinds, lifecycle and consent values are drawn from rows `peyvand demo-data` wrote through
the application.
"""

import concurrent.futures
import json
import os
import random
import smtplib
import sqlite3
import sys
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage
from datetime import datetime, timedelta, timezone
from email.utils import formatdate, make_msgid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sales_data import Api, is_pg, psql, query, stamp, uuid7  # noqa: E402

SECRET = "bench-secret-token-7f3a"
SMTP_USER, SMTP_PASSWORD = "bench", "bench-smtp-password"
# Telegram user ids of the senders (scripts/bench/telegram_webhook.lua): customers
# known by their Telegram id, customers sharing their phone, unknown senders.
HANDLE_BASE, PHONE_BASE, UNKNOWN_BASE = 1_000_000_000, 5_000_000_000, 9_000_000_000
# Telegram ids of the timeline's conversations.
TIMELINE_BASE = 800_000_000


def setup(url, db, work, smtp_port, handles, phones):
    api = Api(url)
    telegram = api.call("POST", "/api/v1/channel-accounts", {
        "kind": "telegram", "name": "ربات پشتیبانی",
        "settings": {"unknown_sender": "create_lead", "ticket_rule": "none"},
        "credentials": {"bot_token": "123456:bench-bot-token", "secret_token": SECRET}}, 201)[1]
    email = api.call("POST", "/api/v1/channel-accounts", {
        "kind": "email", "name": "پشتیبانی ایمیل",
        "settings": {"email": {"address": "support@bench.example.ir", "display_name": "پشتیبانی",
                               "smtp": {"host": "127.0.0.1", "port": int(smtp_port), "security": "none",
                                        "username": SMTP_USER}}},
        "credentials": {"smtp_password": SMTP_PASSWORD}}, 201)[1]
    admin = query(db, "SELECT id FROM users WHERE email = 'bench@example.com'")[0][0]
    psql(db, f"""
CREATE TABLE bench_handles AS
SELECT (row_number() OVER (ORDER BY id) - 1)::bigint AS n, id AS customer_id
FROM (SELECT id FROM customers WHERE erased_at IS NULL AND merged_into_id IS NULL ORDER BY id LIMIT {int(handles)}) c;
INSERT INTO customer_contact_points (customer_id, kind, value, created_at)
SELECT customer_id, 'telegram', ({HANDLE_BASE} + n)::text, now() FROM bench_handles;
CREATE TABLE bench_phones AS
SELECT (row_number() OVER (ORDER BY number) - 1)::bigint AS n, number, customer_id
FROM (SELECT p.number, min(p.customer_id::text)::uuid AS customer_id
      FROM customer_phones p JOIN customers c ON c.id = p.customer_id
      WHERE c.erased_at IS NULL AND c.merged_into_id IS NULL
        AND p.customer_id NOT IN (SELECT customer_id FROM bench_handles)
      GROUP BY p.number HAVING count(*) = 1 ORDER BY p.number LIMIT {int(phones)}) x;
""")
    numbers = [r[0] for r in query(db, "SELECT number FROM bench_phones ORDER BY n")]
    handles = int(query(db, "SELECT count(*) FROM bench_handles")[0][0])
    open(f"{work}/phones.txt", "w").write("\n".join(numbers) + "\n")
    json.dump({"telegram": telegram["id"], "webhook_path": telegram["webhook_path"], "secret": SECRET,
               "email": email["id"], "admin": admin, "handles": int(handles), "phones": len(numbers)},
              open(f"{work}/setup.json", "w"))
    print(f"setup: Telegram account {telegram['webhook_path']}, e-mail account on 127.0.0.1:{smtp_port}, "
          f"{handles} customers known by Telegram id, {len(numbers)} customer phones to share")


def verify_webhook(db, work, acked, in_flight):
    """ACKED responses said "stored"; up to IN_FLIGHT more requests (one a connection) were
    still being answered when wrk stopped, and the server stores those too."""
    s = json.load(open(f"{work}/setup.json"))
    acked, in_flight = int(acked), int(in_flight)
    tg = s["telegram"]
    fail = []
    (stored, distinct, convs, dup_conv, wrong_customer_msg) = [int(x) for x in query(db, f"""
SELECT count(*), count(DISTINCT provider_message_id),
       (SELECT count(*) FROM conversations WHERE channel_account_id = '{tg}'
          AND length(contact_value) >= 10),
       (SELECT count(*) FROM (SELECT contact_value FROM conversations WHERE channel_account_id = '{tg}'
          GROUP BY contact_value HAVING count(*) > 1) d),
       (SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.channel_account_id = '{tg}' AND m.customer_id IS DISTINCT FROM c.customer_id)
FROM messages WHERE channel_account_id = '{tg}' AND direction = 'inbound'
  AND provider_message_id NOT LIKE 'pg:%'""")[0]]
    if not acked <= stored <= acked + in_flight:
        fail.append(f"{acked} messages acknowledged as stored (and {in_flight} in flight), {stored} stored")
    if distinct != stored:
        fail.append(f"{stored} stored, {distinct} distinct provider ids")
    if dup_conv or wrong_customer_msg:
        fail.append(f"{dup_conv} addresses with two conversations, {wrong_customer_msg} messages "
                    "whose customer is not their conversation's")
    by_kind = query(db, f"""
WITH c AS (SELECT id, CASE WHEN contact_value ~ '^[0-9]{{10,}}$' THEN contact_value::bigint END AS uid,
                  customer_id, lead_id FROM conversations WHERE channel_account_id = '{tg}'),
m AS (SELECT conversation_id, count(*) AS k FROM messages WHERE channel_account_id = '{tg}'
        AND direction = 'inbound' GROUP BY conversation_id)
SELECT kind, count(*), sum(m.k), count(*) FILTER (WHERE ok) FROM (
  SELECT c.id, 'handle' AS kind, (c.customer_id = h.customer_id AND c.lead_id IS NULL) AS ok
  FROM c JOIN bench_handles h ON h.n = c.uid - {HANDLE_BASE} WHERE c.uid >= {HANDLE_BASE} AND c.uid < {PHONE_BASE}
  UNION ALL
  SELECT c.id, 'phone', (c.customer_id = p.customer_id AND c.lead_id IS NULL AND EXISTS (
      SELECT 1 FROM customer_contact_points cp WHERE cp.customer_id = p.customer_id
        AND cp.kind = 'telegram' AND cp.value = c.uid::text))
  FROM c JOIN bench_phones p ON p.n = (c.uid - {PHONE_BASE}) % {s['phones']}
  WHERE c.uid >= {PHONE_BASE} AND c.uid < {UNKNOWN_BASE}
  UNION ALL
  SELECT c.id, 'unknown', (c.customer_id IS NULL AND l.source = 'telegram' AND l.converted_customer_id IS NULL
      AND EXISTS (SELECT 1 FROM lead_contact_points lp WHERE lp.lead_id = l.id AND lp.kind = 'telegram'
                  AND lp.value = c.uid::text))
  FROM c LEFT JOIN leads l ON l.id = c.lead_id WHERE c.uid >= {UNKNOWN_BASE}
) x JOIN m ON m.conversation_id = x.id GROUP BY kind ORDER BY kind""")
    seen = 0
    report = []
    for kind, conversations, messages, ok in by_kind:
        seen += int(conversations)
        report.append(f"{kind}: {messages} messages in {conversations} conversations, {ok} resolved as expected")
        if ok != conversations:
            fail.append(f"{kind}: {int(conversations) - int(ok)} conversations resolved wrongly")
    if seen != convs:
        fail.append(f"{convs} conversations of bench senders, {seen} accounted for")
    leads = int(query(db, f"SELECT count(*) FROM leads WHERE source = 'telegram' AND id IN "
                          f"(SELECT lead_id FROM conversations WHERE channel_account_id = '{tg}')")[0][0])
    if fail:
        sys.exit("webhook verification failed:\n  " + "\n  ".join(fail))
    print(f"verified: {acked} acknowledged, {stored} stored ({stored - acked} answered after wrk stopped), "
          f"each once; " + "; ".join(report)
          + f"; {leads} new leads")


def email_queue(url, db, work, n):
    s = json.load(open(f"{work}/setup.json"))
    n = int(n)
    customers = [r[0] for r in query(db, f"""
SELECT c.id FROM customers c WHERE c.erased_at IS NULL AND c.merged_into_id IS NULL
  AND EXISTS (SELECT 1 FROM customer_emails e WHERE e.customer_id = c.id)
ORDER BY c.id DESC LIMIT {n}""")]
    if len(customers) < n:
        sys.exit(f"only {len(customers)} customers with an e-mail address")
    api = Api(url)
    body = ("سلام،\n\nسفارش شما ثبت شد و تا دو روز کاری دیگر ارسال می‌شود. "
            "برای پیگیری به همین نامه پاسخ دهید.\n\nبا سپاس، پشتیبانی")

    def start(customer):
        return api.call("POST", "/api/v1/conversations", {
            "customer_id": customer, "channel_account_id": s["email"],
            "subject": "پیگیری سفارش", "body": body}, 201)[1]["message"]["status"]
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(start, customers))
    took = time.time() - started
    queued = statuses.count("queued")
    if queued != n:
        sys.exit(f"{queued} of {n} e-mails queued: {set(statuses)}")
    print(f"queued: {n} e-mails (POST /conversations, 4 at a time) in {took:.1f} s = {n / took:.0f}/s")


def email_wait(db, work, n, started):
    s = json.load(open(f"{work}/setup.json"))
    n, started = int(n), float(started)
    acct = s["email"]
    while True:
        sent, failed, left = [int(x) for x in query(db, f"""
SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'queued')
FROM messages WHERE channel_account_id = '{acct}' AND direction = 'outbound'""")[0]]
        if left == 0 or time.time() - started > 600:
            break
        time.sleep(0.05)
    took = time.time() - started
    last = float(query(db, f"SELECT extract(epoch FROM max(updated_at)) FROM messages "
                           f"WHERE channel_account_id = '{acct}' AND status = 'sent'")[0][0])
    took_db = last - started
    if sent != n:
        sys.exit(f"{sent} of {n} e-mails sent, {failed} failed, {left} still queued after {took:.0f} s")
    print(f"sent: {n} e-mails in {took_db:.2f} s from the worker's start to the last marked sent "
          f"= {n / took_db:.1f}/s")
    return n / took_db


def smtp_baseline(port, n, workers):
    n, workers, port = int(n), int(workers), int(port)
    body = ("سلام،\n\nسفارش شما ثبت شد و تا دو روز کاری دیگر ارسال می‌شود. "
            "برای پیگیری به همین نامه پاسخ دهید.\n\nبا سپاس، پشتیبانی")

    def send(i):
        msg = EmailMessage()
        msg["From"] = "پشتیبانی <support@bench.example.ir>"
        msg["To"] = f"customer{i}@example.ir"
        msg["Subject"] = "پیگیری سفارش"
        msg["Date"] = formatdate()
        msg["Message-ID"] = make_msgid(domain="bench.example.ir")
        msg["List-Unsubscribe"] = "<http://127.0.0.1/api/v1/unsubscribe/" + "x" * 120 + ">"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(body)
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.login(SMTP_USER, SMTP_PASSWORD)
            smtp.send_message(msg)
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(send, range(n)))
    took = time.time() - started
    print(f"smtplib: {n} e-mails, {workers} at a time, a connection and AUTH each, in {took:.2f} s "
          f"= {n / took:.1f}/s")


# --- Timeline -----------------------------------------------------------------------------
BODIES = ["سلام، سفارشم کی می‌رسد؟", "ممنون از پیگیری شما", "کد رهگیری را لطفاً بفرستید",
          "بسته امروز تحویل پست شد. کد رهگیری: ۱۲۳۴۵۶۷۸۹", "آیا این کالا موجود است؟",
          "قیمت نسخه سازمانی چقدر است؟", "فاکتور رسمی لازم دارم", "درخواست شما ثبت شد",
          "Hello, is the order shipped?", "لطفاً شماره تماس کارشناس را بدهید"]
OUTCOMES = ["پیگیری شد", "مشتری علاقه‌مند است", "جلسه بعدی هفته آینده", "پیش‌فاکتور ارسال شد",
            "پاسخ نداد", "قرار ملاقات گذاشته شد"]
TASK_TITLES = ["تماس پیگیری", "ارسال پیش‌فاکتور", "جلسه معرفی محصول", "پیگیری پرداخت",
               "Follow up on the quote", "ارسال کاتالوگ"]
TASK_KINDS = ["call", "meeting", "email", "follow_up", "todo"]
ACTIVITY_KINDS = [("call", "outbound", 12), ("call", "inbound", 6), ("meeting", None, 45),
                  ("email", "outbound", None), ("email", "inbound", None), ("visit", None, 60)]


def sql_list(values):
    return "ARRAY[" + ", ".join("NULL" if v is None else "'" + str(v).replace("'", "''") + "'" for v in values) + "]"


def patch(api, path, body):
    req = urllib.request.Request(api.url + path, data=json.dumps(body).encode(), method="PATCH")
    req.add_header("content-type", "application/merge-patch+json")
    req.add_header("authorization", "Bearer " + api.token)
    with urllib.request.urlopen(req) as resp:
        if resp.status != 200:
            sys.exit(f"PATCH {path}: {resp.status}")


def timeline_load(url, db, work, total, target):
    """About TOTAL entries: messages 44 %, activities 22 %, notes 16 %, tasks 10 % (60 % of
    them done: a second entry), lifecycle and consent changes 1 % each; TARGET entries of
    one customer in the same proportions, plus orders and tickets through the API, topped
    up with messages to exactly TARGET."""
    s = json.load(open(f"{work}/setup.json"))
    total, target = int(total), int(target)
    api = Api(url)
    customer = query(db, "SELECT id FROM customers WHERE erased_at IS NULL AND merged_into_id IS NULL "
                         "AND order_count > 0 ORDER BY id LIMIT 1 OFFSET 77")[0][0]
    started = time.time()
    # Through the API: orders and tickets (with a customer message, an answer and a
    # status move each) of the target customer.
    products = [r[0] for r in query(db, "SELECT id FROM products ORDER BY id LIMIT 50")]
    n_orders, n_tickets = target // 50, target // 200
    for i in range(n_orders):
        api.call("POST", "/api/v1/orders", {
            "customer_id": customer, "status": "paid", "channel": ["online", "store", "phone"][i % 3],
            "lines": [{"product_id": products[i % len(products)], "quantity": 1 + i % 3}]}, 201)
    for i in range(n_tickets):
        ticket = api.call("POST", "/api/v1/tickets", {
            "subject": BODIES[i % len(BODIES)], "customer_id": customer,
            "channel": ["telegram", "email", "phone"][i % 3], "priority": "normal", "status": "new"}, 201)[1]
        api.call("POST", f"/api/v1/tickets/{ticket['id']}/messages",
                 {"kind": "customer", "body": BODIES[(i + 1) % len(BODIES)]}, 201)
        api.call("POST", f"/api/v1/tickets/{ticket['id']}/messages",
                 {"kind": "agent", "body": BODIES[(i + 7) % len(BODIES)]}, 201)
        patch(api, f"/api/v1/tickets/{ticket['id']}", {"status": "resolved"})
    print(f"target customer {customer}: {n_orders} orders and {n_tickets} tickets through the API "
          f"in {time.time() - started:.1f} s")

    def share(fraction):
        # The target's rows by SQL stay under TARGET (its orders, tickets and demo rows
        # come on top); messages fill the rest below.
        return int(total * fraction), int(target * fraction * 0.9)
    (msgs, t_msgs), (acts, t_acts), (notes, t_notes), (tasks, t_tasks), (lifes, t_lifes), (cons, t_cons) = (
        share(0.44), share(0.22), share(0.16), share(0.10), share(0.01), share(0.01))
    if is_pg(db):
        load_pg(db, s, customer, target, (msgs, t_msgs), (acts, t_acts), (notes, t_notes), (tasks, t_tasks),
                (lifes, t_lifes), (cons, t_cons))
    else:
        load_sqlite(db, s, customer, target, (msgs, t_msgs), (acts, t_acts), (notes, t_notes), (tasks, t_tasks),
                    (lifes, t_lifes), (cons, t_cons))
    have = target_entries(db, customer)
    analyze(db)
    entries = int(query(db, f"""SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM activities)
        + (SELECT count(*) FROM notes) + (SELECT count(*) FROM tasks)
        + (SELECT count(*) FROM tasks WHERE status = 'done' AND completed_at IS NOT NULL)
        + (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_returns) + (SELECT count(*) FROM tickets)
        + (SELECT count(*) FROM ticket_messages)
        + (SELECT count(*) FROM ticket_status_changes WHERE from_status IS NOT NULL)
        + (SELECT count(*) FROM lifecycle_transitions) + (SELECT count(*) FROM consent_events)
        + (SELECT count(*) FROM owner_changes)""")[0][0])
    customers = int(query(db, "SELECT count(*) FROM customers")[0][0])
    open(f"{work}/timeline.json", "w").write(json.dumps({"customer": customer, "entries": entries,
                                                         "target": have, "customers": customers}))
    print(f"timeline: {entries} entries over {customers} customers; customer {customer} has {have} "
          f"(loaded in {time.time() - started:.0f} s with ANALYZE)")


def load_pg(db, s, customer, target, m, a, n, k, li, co):
    (msgs, t_msgs), (acts, t_acts), (notes, t_notes), (tasks, t_tasks), (lifes, t_lifes), (cons, t_cons) = \
        m, a, n, k, li, co
    admin = s["admin"]
    tg = s["telegram"]
    sql = [f"""\\timing off
SET maintenance_work_mem = '512MB';
SET synchronous_commit = off;
CREATE FUNCTION pg_temp.uuid7(at timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
          || substr(h, 1, 3) || to_hex(8 + floor(random() * 4)::int) || substr(h, 4, 15))::uuid
  FROM (SELECT md5(random()::text || clock_timestamp()::text) AS h) x $$;
CREATE TEMP TABLE b_customer AS
SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id, display_name FROM customers
WHERE id <> '{customer}' AND erased_at IS NULL AND merged_into_id IS NULL;
CREATE UNIQUE INDEX ON b_customer (n);
CREATE TEMP TABLE b_note AS
SELECT (row_number() OVER () - 1)::int AS n, kind, body FROM (SELECT DISTINCT kind, body FROM notes LIMIT 400) x;
CREATE TEMP TABLE b_life AS
SELECT (row_number() OVER () - 1)::int AS n, from_stage, to_stage, reason
FROM (SELECT DISTINCT from_stage, to_stage, reason FROM lifecycle_transitions) x;
CREATE TEMP TABLE b_consent AS
SELECT (row_number() OVER () - 1)::int AS n, channel, purpose, granted, source, evidence
FROM (SELECT DISTINCT channel, purpose, granted, source, evidence FROM consent_events LIMIT 200) x;
"""]
    # Secondary indexes of the big tables are dropped and built again after the insert.
    tables = ["messages", "activities", "notes", "tasks", "conversations", "lifecycle_transitions",
              "consent_events"]
    indexes = query(db, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ("
                        + ", ".join(f"'{t}'" for t in tables) + ") AND indexname NOT LIKE '%pkey'")
    sql.append("".join(f"DROP INDEX {name};\n" for name, _ in indexes))
    # Pick the customer: the first `t` rows are the target's, the rest spread.
    cust = ("CASE WHEN g <= {t} THEN '" + customer + "'::uuid ELSE "
            "(SELECT id FROM b_customer WHERE n = (hashint4(g) & 2147483647) % (SELECT count(*) FROM b_customer)) END")
    at = "now() - random() * interval '730 days'"
    # Conversations: one per customer (and the target) on the Telegram account, by a
    # Telegram id remembered on the customer, as a customer writing in leaves it.
    sql.append(f"""
CREATE TEMP TABLE b_conv AS
SELECT n, id AS customer_id, display_name, pg_temp.uuid7(now() - interval '731 days') AS conv,
       ({TIMELINE_BASE} + n)::text AS uid
FROM (SELECT n, id, display_name FROM b_customer
      UNION ALL SELECT 99999999, id, display_name FROM customers WHERE id = '{customer}') x;
CREATE UNIQUE INDEX ON b_conv (customer_id);
INSERT INTO customer_contact_points (customer_id, kind, value, created_at)
SELECT customer_id, 'telegram', uid, now() - interval '731 days' FROM b_conv;
INSERT INTO conversations (id, channel_account_id, channel, contact_kind, contact_value, contact_name, customer_id,
                           lead_id, status, ticket_id, last_message_at, created_at, updated_at, auto_replied_until)
SELECT conv, '{tg}', 'telegram', 'telegram', uid, display_name, customer_id, NULL, 'open', NULL,
       now() - interval '731 days', now() - interval '731 days', now() - interval '731 days', NULL
FROM b_conv;
""")
    sql.append(f"""
INSERT INTO messages (id, conversation_id, channel_account_id, customer_id, channel, direction, provider_message_id,
                      body, status, automatic, sent_by, error, occurred_at, created_at, updated_at, subject)
SELECT pg_temp.uuid7(at), c.conv, '{tg}', c.customer_id, 'telegram', dir,
       c.uid || ':' || CASE WHEN dir = 'inbound' THEN g::text ELSE 'o' || g END,
       ({sql_list(BODIES)})[1 + g % {len(BODIES)}], CASE WHEN dir = 'inbound' THEN 'received' ELSE 'sent' END,
       false, CASE WHEN dir = 'outbound' THEN '{admin}'::uuid END, NULL, at, at,
       at + CASE WHEN dir = 'outbound' THEN interval '2 seconds' ELSE interval '0' END, NULL
FROM (SELECT g, {cust.format(t=t_msgs)} AS cid, {at} AS at,
             CASE WHEN g % 5 < 3 THEN 'inbound' ELSE 'outbound' END AS dir
      FROM generate_series(1, {msgs}) g) r
JOIN b_conv c ON c.customer_id = r.cid;
INSERT INTO activities (id, kind, customer_id, lead_id, deal_id, occurred_at, duration_minutes, direction, outcome,
                        notes, performed_by, team_id, created_at, updated_at, version)
SELECT pg_temp.uuid7(at + interval '5 minutes'), ({sql_list([k for k, _, _ in ACTIVITY_KINDS])})[i], cid, NULL, NULL,
       at, ({sql_list([m for _, _, m in ACTIVITY_KINDS])}::int[])[i], ({sql_list([d for _, d, _ in ACTIVITY_KINDS])})[i],
       ({sql_list(OUTCOMES)})[1 + g % {len(OUTCOMES)}], NULL, '{admin}', NULL,
       at + interval '5 minutes', at + interval '5 minutes', 1
FROM (SELECT g, 1 + g % {len(ACTIVITY_KINDS)} AS i, {cust.format(t=t_acts)} AS cid, {at} AS at
      FROM generate_series(1, {acts}) g) r;
""")
    sql.append(f"""
INSERT INTO notes (id, customer_id, kind, body, author_id, created_at, updated_at, version)
SELECT pg_temp.uuid7(at), cid, b.kind, b.body, '{admin}', at, at, 1
FROM (SELECT g, {cust.format(t=t_notes)} AS cid, {at} AS at FROM generate_series(1, {notes}) g) r
JOIN b_note b ON b.n = g % (SELECT count(*) FROM b_note);
INSERT INTO tasks (id, kind, title, description, customer_id, lead_id, deal_id, assignee_id, team_id, due_at,
                   priority, reminders, status, outcome, completed_at, created_by, created_at, updated_at, version)
SELECT pg_temp.uuid7(at), ({sql_list(TASK_KINDS)})[1 + g % {len(TASK_KINDS)}],
       ({sql_list(TASK_TITLES)})[1 + g % {len(TASK_TITLES)}], NULL, cid, NULL, NULL, '{admin}', NULL,
       at + interval '2 days', (ARRAY['normal', 'normal', 'high', 'low', 'urgent'])[1 + g % 5], '[]'::jsonb, st,
       CASE WHEN st = 'done' THEN ({sql_list(OUTCOMES)})[1 + g % {len(OUTCOMES)}] END,
       CASE WHEN st <> 'open' THEN done_at END, '{admin}', at,
       CASE WHEN st <> 'open' THEN done_at ELSE at END, CASE WHEN st <> 'open' THEN 2 ELSE 1 END
FROM (SELECT g, {cust.format(t=t_tasks)} AS cid, at, at + random() * interval '3 days' AS done_at,
             CASE WHEN g % 10 < 6 THEN 'done' WHEN g % 10 < 9 THEN 'open' ELSE 'cancelled' END AS st
      FROM (SELECT g, {at} AS at FROM generate_series(1, {tasks}) g) x) r;
INSERT INTO lifecycle_transitions (id, customer_id, from_stage, to_stage, reason, changed_by, changed_at)
SELECT pg_temp.uuid7(at), cid, b.from_stage, b.to_stage, b.reason, '{admin}', at
FROM (SELECT g, {cust.format(t=t_lifes)} AS cid, {at} AS at FROM generate_series(1, {lifes}) g) r
JOIN b_life b ON b.n = g % (SELECT count(*) FROM b_life);
INSERT INTO consent_events (id, customer_id, channel, purpose, granted, source, evidence, recorded_by, recorded_at)
SELECT pg_temp.uuid7(at), cid, b.channel, b.purpose, b.granted, b.source, b.evidence, '{admin}', at
FROM (SELECT g, {cust.format(t=t_cons)} AS cid, {at} AS at FROM generate_series(1, {cons}) g) r
JOIN b_consent b ON b.n = g % (SELECT count(*) FROM b_consent);
""")
    sql.append("".join(f"{index};\n" for _, index in indexes))
    sql.append("""
UPDATE conversations c SET last_message_at = m.last, created_at = m.first, updated_at = m.last
FROM (SELECT conversation_id, min(occurred_at) AS first, max(occurred_at) AS last FROM messages
      GROUP BY conversation_id) m
WHERE m.conversation_id = c.id AND c.id IN (SELECT conv FROM b_conv);
""")
    t0 = time.time()
    psql(db, "\n".join(sql))
    print(f"loaded by SQL in {time.time() - t0:.0f} s: {msgs} messages, {acts} activities, {notes} notes, "
          f"{tasks} tasks, {lifes} lifecycle and {cons} consent changes")
    # Top up the target with messages to exactly TARGET entries (what the timeline counts).
    have = target_entries(db, customer)
    if have < target:
        psql(db, f"""
CREATE FUNCTION pg_temp.uuid7(at timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
          || substr(h, 1, 3) || to_hex(8 + floor(random() * 4)::int) || substr(h, 4, 15))::uuid
  FROM (SELECT md5(random()::text || clock_timestamp()::text) AS h) x $$;
INSERT INTO messages (id, conversation_id, channel_account_id, customer_id, channel, direction, provider_message_id,
                      body, status, automatic, sent_by, error, occurred_at, created_at, updated_at, subject)
SELECT pg_temp.uuid7(at), c.id, '{tg}', c.customer_id, 'telegram', 'inbound', c.contact_value || ':t' || g,
       ({sql_list(BODIES)})[1 + g % {len(BODIES)}], 'received', false, NULL, NULL, at, at, at, NULL
FROM (SELECT g, now() - random() * interval '730 days' AS at FROM generate_series(1, {target - have}) g) r,
     conversations c WHERE c.customer_id = '{customer}' AND c.channel_account_id = '{tg}'
       AND c.contact_value LIKE '8%' AND length(c.contact_value) = 9;""")


def analyze(db):
    if is_pg(db):
        psql(db, "ANALYZE;")
    else:
        con = sqlite3.connect(db)
        con.execute("ANALYZE")
        con.commit()


def load_sqlite(db, s, customer, target, m, a, n, k, li, co):
    """The rows of load_pg, made in Python and written with executemany (timestamps and
    JSON as the SQLite backend stores them), secondary indexes dropped and rebuilt."""
    (msgs, t_msgs), (acts, t_acts), (notes, t_notes), (tasks, t_tasks), (lifes, t_lifes), (cons, t_cons) = \
        m, a, n, k, li, co
    rng = random.Random(7)
    admin, tg = s["admin"], s["telegram"]
    now = datetime.now(timezone.utc)
    t0 = time.time()
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -1000000")
    others = [r[0] for r in con.execute(
        "SELECT id FROM customers WHERE id <> ? AND erased_at IS NULL AND merged_into_id IS NULL ORDER BY id",
        (customer,))]
    names = dict(con.execute("SELECT id, display_name FROM customers"))
    note_pool = con.execute("SELECT DISTINCT kind, body FROM notes LIMIT 400").fetchall()
    life_pool = con.execute("SELECT DISTINCT from_stage, to_stage, reason FROM lifecycle_transitions").fetchall()
    consent_pool = con.execute("SELECT DISTINCT channel, purpose, granted, source, evidence FROM consent_events "
                               "LIMIT 200").fetchall()
    tables = ["messages", "activities", "notes", "tasks", "conversations", "lifecycle_transitions",
              "consent_events"]
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ("
                          + ", ".join("?" * len(tables)) + ")", tables).fetchall()
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")

    def at():
        return now - timedelta(seconds=rng.random() * 730 * 86400)

    def cust(g, t):
        return customer if g <= t else others[(g * 2654435761) % len(others)]
    old = now - timedelta(days=731)
    conv = {}
    for i, c in enumerate(others + [customer]):
        uid = str(TIMELINE_BASE + (99999999 if c == customer else i))
        conv[c] = (uuid7(old, rng), uid)
    con.executemany("INSERT INTO customer_contact_points (customer_id, kind, value, created_at) VALUES (?, 'telegram', ?, ?)",
                    [(c, uid, stamp(old)) for c, (_, uid) in conv.items()])
    con.executemany(
        "INSERT INTO conversations (id, channel_account_id, channel, contact_kind, contact_value, contact_name, "
        "customer_id, lead_id, status, ticket_id, last_message_at, created_at, updated_at, auto_replied_until) "
        "VALUES (?, ?, 'telegram', 'telegram', ?, ?, ?, NULL, 'open', NULL, ?, ?, ?, NULL)",
        [(cid, tg, uid, names[c], c, stamp(old), stamp(old), stamp(old)) for c, (cid, uid) in conv.items()])

    def message_rows():
        for g in range(1, msgs + 1):
            c, when = cust(g, t_msgs), at()
            cid, uid = conv[c]
            inbound = g % 5 < 3
            yield (uuid7(when, rng), cid, tg, c, "inbound" if inbound else "outbound",
                   f"{uid}:{g}" if inbound else f"{uid}:o{g}", BODIES[g % len(BODIES)],
                   "received" if inbound else "sent", None if inbound else admin, stamp(when), stamp(when),
                   stamp(when + timedelta(seconds=0 if inbound else 2)))
    con.executemany(
        "INSERT INTO messages (id, conversation_id, channel_account_id, customer_id, channel, direction, "
        "provider_message_id, body, status, automatic, sent_by, error, occurred_at, created_at, updated_at, subject) "
        "VALUES (?, ?, ?, ?, 'telegram', ?, ?, ?, ?, 0, ?, NULL, ?, ?, ?, NULL)", message_rows())

    def activity_rows():
        for g in range(1, acts + 1):
            kind, direction, minutes = ACTIVITY_KINDS[g % len(ACTIVITY_KINDS)]
            when = at()
            made = stamp(when + timedelta(minutes=5))
            yield (uuid7(when + timedelta(minutes=5), rng), kind, cust(g, t_acts), stamp(when), minutes, direction,
                   OUTCOMES[g % len(OUTCOMES)], admin, made, made)
    con.executemany(
        "INSERT INTO activities (id, kind, customer_id, lead_id, deal_id, occurred_at, duration_minutes, direction, "
        "outcome, notes, performed_by, team_id, created_at, updated_at, version) "
        "VALUES (?, ?, ?, NULL, NULL, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, 1)", activity_rows())

    def note_rows():
        for g in range(1, notes + 1):
            when = at()
            kind, body = note_pool[g % len(note_pool)]
            yield (uuid7(when, rng), cust(g, t_notes), kind, body, admin, stamp(when), stamp(when))
    con.executemany("INSERT INTO notes (id, customer_id, kind, body, author_id, created_at, updated_at, version) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 1)", note_rows())

    def task_rows():
        for g in range(1, tasks + 1):
            when = at()
            done_at = when + timedelta(seconds=rng.random() * 3 * 86400)
            status = "done" if g % 10 < 6 else "open" if g % 10 < 9 else "cancelled"
            closed = status != "open"
            yield (uuid7(when, rng), TASK_KINDS[g % len(TASK_KINDS)], TASK_TITLES[g % len(TASK_TITLES)],
                   cust(g, t_tasks), admin, stamp(when + timedelta(days=2)),
                   ["normal", "normal", "high", "low", "urgent"][g % 5], status,
                   OUTCOMES[g % len(OUTCOMES)] if status == "done" else None, stamp(done_at) if closed else None,
                   admin, stamp(when), stamp(done_at if closed else when), 2 if closed else 1)
    con.executemany(
        "INSERT INTO tasks (id, kind, title, description, customer_id, lead_id, deal_id, assignee_id, team_id, due_at, "
        "priority, reminders, status, outcome, completed_at, created_by, created_at, updated_at, version) "
        "VALUES (?, ?, ?, NULL, ?, NULL, NULL, ?, NULL, ?, ?, '[]', ?, ?, ?, ?, ?, ?, ?)", task_rows())

    def life_rows():
        for g in range(1, lifes + 1):
            when = at()
            yield (uuid7(when, rng), cust(g, t_lifes), *life_pool[g % len(life_pool)], admin, stamp(when))
    if life_pool:
        con.executemany("INSERT INTO lifecycle_transitions (id, customer_id, from_stage, to_stage, reason, "
                        "changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)", life_rows())

    def consent_rows():
        for g in range(1, cons + 1):
            when = at()
            yield (uuid7(when, rng), cust(g, t_cons), *consent_pool[g % len(consent_pool)], admin, stamp(when))
    # demo-data writes no consent events: with nothing to draw from, none are made (as on
    # PostgreSQL, where the join with the empty pool gives no rows).
    if consent_pool:
        con.executemany("INSERT INTO consent_events (id, customer_id, channel, purpose, granted, source, evidence, "
                        "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", consent_rows())
    for _, index in indexes:
        con.execute(index)
    con.execute("""UPDATE conversations SET
        last_message_at = (SELECT max(occurred_at) FROM messages m WHERE m.conversation_id = conversations.id),
        created_at = (SELECT min(occurred_at) FROM messages m WHERE m.conversation_id = conversations.id),
        updated_at = (SELECT max(occurred_at) FROM messages m WHERE m.conversation_id = conversations.id)
        WHERE contact_value LIKE '8%' AND length(contact_value) = 9
          AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id)""")
    con.commit()
    print(f"loaded by executemany in {time.time() - t0:.0f} s: {msgs} messages, {acts} activities, {notes} notes, "
          f"{tasks} tasks, {lifes} lifecycle and {cons} consent changes")
    have = target_entries(db, customer)
    cid, uid = conv[customer]
    rows = []
    for g in range(1, target - have + 1):
        when = at()
        rows.append((uuid7(when, rng), cid, tg, customer, f"{uid}:t{g}", BODIES[g % len(BODIES)], stamp(when),
                     stamp(when), stamp(when)))
    con.executemany(
        "INSERT INTO messages (id, conversation_id, channel_account_id, customer_id, channel, direction, "
        "provider_message_id, body, status, automatic, sent_by, error, occurred_at, created_at, updated_at, subject) "
        "VALUES (?, ?, ?, ?, 'telegram', 'inbound', ?, ?, 'received', 0, NULL, NULL, ?, ?, ?, NULL)", rows)
    con.commit()


def setup_accounts(url, db, work):
    """The Telegram account alone (the timeline's conversations), for a SQLite run."""
    api = Api(url)
    telegram = api.call("POST", "/api/v1/channel-accounts", {
        "kind": "telegram", "name": "ربات پشتیبانی", "settings": {"unknown_sender": "create_lead"},
        "credentials": {"bot_token": "123456:bench-bot-token", "secret_token": SECRET}}, 201)[1]
    admin = query(db, "SELECT id FROM users WHERE email = 'bench@example.com'")[0][0]
    json.dump({"telegram": telegram["id"], "admin": admin}, open(f"{work}/setup.json", "w"))


def _bare_loop(args):
    db, statements, params, seconds = args
    con = sqlite3.connect(db)
    times = []
    end = time.time() + seconds
    while time.time() < end:
        t0 = time.perf_counter()
        for sql in statements:
            con.execute(sql, params).fetchall()
        times.append(time.perf_counter() - t0)
    return times


def sqlite_bare(db, work, seconds):
    """The statements of a first page and of a deep page (bare_timeline_*.sql) through
    Python's sqlite3, two processes with a connection each for SECONDS: pages per
    second, p50 and p99 of a page."""
    import multiprocessing
    t = json.load(open(f"{work}/timeline.json"))
    here = os.path.dirname(os.path.abspath(__file__))
    deep_at = stamp(datetime.fromisoformat(t["deep_at"].replace("Z", "+00:00")))
    for page in ("first", "deep"):
        statements = [line.strip() for line in open(f"{here}/bare_timeline_{page}.sql") if line.startswith("SELECT")]
        params = {"customer": t["customer"], "at": deep_at, "id": t["deep_id"]}
        with multiprocessing.Pool(2) as pool:
            runs = pool.map(_bare_loop, [(db, statements, params, float(seconds))] * 2)
        times = sorted(x for run in runs for x in run)
        p50, p99 = times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000
        label = f"bare statements of the {'first' if page == 'first' else 'a deep'} page (sqlite3), 2 processes"
        print(f"{label:<62} p50 {p50:>7.2f}ms  p99 {p99:>7.2f}ms  {len(times) / float(seconds):>9.1f} pages/s")

def target_entries(db, customer):
    """The target's entries as the timeline counts them (it has no leads or deals)."""
    c = f"'{customer}'"
    return int(query(db, f"""SELECT
        (SELECT count(*) FROM messages WHERE customer_id = {c})
      + (SELECT count(*) FROM activities WHERE customer_id = {c})
      + (SELECT count(*) FROM notes WHERE customer_id = {c})
      + (SELECT count(*) FROM tasks WHERE customer_id = {c})
      + (SELECT count(*) FROM tasks WHERE customer_id = {c} AND status = 'done' AND completed_at IS NOT NULL)
      + (SELECT count(*) FROM orders WHERE customer_id = {c})
      + (SELECT count(*) FROM order_returns r JOIN orders o ON o.id = r.order_id WHERE o.customer_id = {c})
      + (SELECT count(*) FROM tickets WHERE customer_id = {c})
      + (SELECT count(*) FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.customer_id = {c})
      + (SELECT count(*) FROM ticket_status_changes s JOIN tickets t ON t.id = s.ticket_id
         WHERE t.customer_id = {c} AND s.from_status IS NOT NULL)
      + (SELECT count(*) FROM lifecycle_transitions WHERE customer_id = {c})
      + (SELECT count(*) FROM consent_events WHERE customer_id = {c})
      + (SELECT count(*) FROM owner_changes WHERE customer_id = {c})""")[0][0])


def timeline_cursors(url, db, work):
    """Walks the whole timeline of the target, 200 a page, checking the order and that no
    entry comes twice; keeps the cursor after every 50th entry (the deep pages of the wrk
    script are those past the middle) and the position of the middle for the baseline."""
    t = json.load(open(f"{work}/timeline.json"))
    api = Api(url)
    cursor, seen, order, cursors, kinds, positions = None, set(), [], [], {}, []
    while True:
        path = f"/api/v1/customers/{t['customer']}/timeline?limit=50"
        if cursor:
            path += "&cursor=" + urllib.parse.quote(cursor)
        page = api.call("GET", path, expect=200)[1]
        for e in page["data"]:
            key = (e["kind"], e["id"])
            if key in seen:
                sys.exit(f"timeline: {key} twice")
            seen.add(key)
            order.append(e["occurred_at"])
            positions.append((e["occurred_at"], e["id"]))
            kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
        cursor = page.get("next_cursor")
        if not page["has_more"]:
            break
        cursors.append((len(order), cursor))
    if order != sorted(order, reverse=True):
        sys.exit("timeline: entries not newest first")
    if len(order) != t["target"]:
        sys.exit(f"timeline: {len(order)} entries through the API, {t['target']} stored")
    deep = [c for n, c in cursors if n >= len(order) // 2]
    t["deep_at"], t["deep_id"] = positions[3 * len(order) // 4]
    open(f"{work}/timeline.json", "w").write(json.dumps(t))
    open(f"{work}/cursors.txt", "w").write("\n".join(urllib.parse.quote(c) for c in deep) + "\n")
    print(f"verified: the API walks {len(order)} entries of customer {t['customer']}, newest first, each once "
          f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}); {len(deep)} deep cursors "
          f"(entries {len(order) // 2}–{len(order)})")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    commands = {"setup": setup, "verify-webhook": verify_webhook, "email-queue": email_queue,
                "email-wait": email_wait, "smtp-baseline": smtp_baseline, "timeline-load": timeline_load,
                "timeline-cursors": timeline_cursors, "setup-accounts": setup_accounts, "sqlite-bare": sqlite_bare}
    if command not in commands:
        sys.exit(f"unknown command {command}")
    commands[command](*args)

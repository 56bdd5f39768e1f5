#!/usr/bin/env python3
"""Data of the sales benchmark (scripts/bench_sales.sh), standard library only.

    sales_data.py setup  URL DB WORK            users, teams and rules through the API
    sales_data.py load   DB WORK DEALS LEADS    open deals and leads written by SQL
    sales_data.py verify URL DB WORK DEALS      the API answers with the loaded data
    sales_data.py sample DB WORK                what the wrk scripts draw from

DB is a PostgreSQL URL or a SQLite file. Every column the application derives is
written as the application writes it: display name, quick-search text (the Rust
`domain::persian::search_key` of each part, ported below for the word lists used
here), contact lists in their normalised JSON form, score points of the active scoring
rule, version 1, UUIDv7 ids from the creation time. `verify` checks that by creating a
twin of sampled leads and deals through the API and comparing the stored rows.
"""

import json
import random
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

PIPELINE = "0193e0a0-0000-7000-8000-000000000001"
# The default pipeline's open stages (migration 2026-12-08-000001_deals) and the
# share of the open deals each holds.
STAGES = [("0193e0a0-0000-7000-8000-000000000011", 5),
          ("0193e0a0-0000-7000-8000-000000000012", 3),
          ("0193e0a0-0000-7000-8000-000000000013", 2)]
PASSWORD = "quiet-harbor-lantern-42"
# Teams of the sales users: name, members. The first is the round-robin team.
TEAMS = [("تیم سرنخ‌ها", 10), ("فروش سازمانی", 6), ("فروش آنلاین", 4)]
SCORED_SOURCE, SCORE_POINTS = "referral", 20

# --- Word lists (as in peyvand demo-data's pools) ---------------------------------
MALE = [("علی", "ali"), ("محمد", "mohammad"), ("حسین", "hossein"), ("رضا", "reza"), ("مهدی", "mahdi"),
        ("امیر", "amir"), ("حمید", "hamid"), ("سعید", "saeed"), ("مجید", "majid"), ("مسعود", "masoud"),
        ("احمد", "ahmad"), ("جواد", "javad"), ("امید", "omid"), ("بهرام", "bahram"), ("فرهاد", "farhad"),
        ("کامران", "kamran"), ("پویا", "pouya"), ("آرش", "arash"), ("سیاوش", "siavash"), ("بابک", "babak"),
        ("کیوان", "keyvan"), ("نیما", "nima"), ("میلاد", "milad"), ("مرتضی", "morteza"), ("مصطفی", "mostafa"),
        ("ابوالفضل", "abolfazl"), ("محمدرضا", "mohammadreza"), ("علیرضا", "alireza"), ("امیرحسین", "amirhossein")]
FEMALE = [("فاطمه", "fatemeh"), ("زهرا", "zahra"), ("مریم", "maryam"), ("سارا", "sara"), ("نرگس", "narges"),
          ("لیلا", "leila"), ("مینا", "mina"), ("شیرین", "shirin"), ("نازنین", "nazanin"), ("الهام", "elham"),
          ("سمیرا", "samira"), ("پریسا", "parisa"), ("مهسا", "mahsa"), ("نیلوفر", "niloufar"), ("آزاده", "azadeh"),
          ("فرشته", "fereshteh"), ("هانیه", "hanieh"), ("کیمیا", "kimia"), ("ریحانه", "reyhaneh"), ("سپیده", "sepideh"),
          ("یاسمن", "yasaman"), ("ستاره", "setareh"), ("رویا", "roya"), ("معصومه", "masoumeh")]
LAST = [("محمدی", "mohammadi"), ("حسینی", "hosseini"), ("احمدی", "ahmadi"), ("رضایی", "rezaei"), ("کریمی", "karimi"),
        ("موسوی", "mousavi"), ("جعفری", "jafari"), ("صادقی", "sadeghi"), ("رحیمی", "rahimi"), ("قاسمی", "ghasemi"),
        ("حیدری", "heidari"), ("نوری", "nouri"), ("کاظمی", "kazemi"), ("سلطانی", "soltani"), ("عباسی", "abbasi"),
        ("یزدانی", "yazdani"), ("شریفی", "sharifi"), ("مرادی", "moradi"), ("اکبری", "akbari"), ("تهرانی", "tehrani"),
        ("اصفهانی", "esfahani"), ("شیرازی", "shirazi"), ("کرمانی", "kermani"), ("نجفی", "najafi"), ("طاهری", "taheri"),
        ("هاشمی", "hashemi"), ("فرهادی", "farhadi"), ("زمانی", "zamani"), ("قربانی", "ghorbani"), ("بهرامی", "bahrami"),
        ("ملکی", "maleki"), ("افشار", "afshar"), ("پارسا", "parsa"), ("نیک‌نام", "niknam"), ("امینی", "amini"),
        ("باقری", "bagheri"), ("خسروی", "khosravi"), ("رستمی", "rostami"), ("ایزدی", "izadi"), ("کیانی", "kiani")]
LATIN = [("Ali", "Rezaei"), ("Sara", "Mohammadi"), ("Dariush", "Kamali"), ("Neda", "Farahani"), ("John", "Miller"),
         ("Emma", "Schmidt"), ("Daniel", "Novak"), ("Lena", "Fischer"), ("Omar", "Haddad"), ("Maria", "Rossi"),
         ("Mehmet", "Yilmaz"), ("Anna", "Kowalska")]
PROVINCES = [("تهران", ["تهران", "شهریار", "اسلامشهر", "ری"], 34), ("اصفهان", ["اصفهان", "کاشان", "نجف‌آباد"], 8),
             ("خراسان رضوی", ["مشهد", "نیشابور", "سبزوار"], 8), ("فارس", ["شیراز", "مرودشت", "کازرون"], 6),
             ("آذربایجان شرقی", ["تبریز", "مراغه", "مرند"], 6), ("خوزستان", ["اهواز", "آبادان", "دزفول"], 5),
             ("البرز", ["کرج", "نظرآباد"], 6), ("قم", ["قم"], 3), ("کرمان", ["کرمان", "رفسنجان", "سیرجان"], 3),
             ("یزد", ["یزد", "میبد"], 3), ("گیلان", ["رشت", "بندر انزلی", "لاهیجان"], 4),
             ("مازندران", ["ساری", "بابل", "آمل"], 4), ("گلستان", ["گرگان", "گنبد کاووس"], 2),
             ("همدان", ["همدان", "ملایر"], 2), ("کرمانشاه", ["کرمانشاه"], 2), ("آذربایجان غربی", ["ارومیه", "خوی"], 2),
             ("هرمزگان", ["بندرعباس", "قشم"], 2)]
MOBILE_PREFIXES = ["912", "913", "915", "919", "935", "936", "937", "901", "902", "990", "921", "930"]
LANDLINE_AREAS = ["21", "31", "51", "71", "41", "61", "26", "25"]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "chmail.ir", "mail.ir"]
FORMS = ["شرکت", "گروه صنعتی", "بازرگانی", "هلدینگ"]
CORES = [("پارس", "Pars"), ("آریا", "Arya"), ("سپهر", "Sepehr"), ("نوین", "Novin"), ("کیان", "Kian"),
         ("ارغوان", "Arghavan"), ("دماوند", "Damavand"), ("زاگرس", "Zagros"), ("خزر", "Khazar"),
         ("سپاهان", "Sepahan"), ("مهر", "Mehr"), ("پیشگامان", "Pishgaman"), ("آسیا", "Asia")]
INDUSTRIES = [("سامانه", "Systems"), ("فولاد", "Steel"), ("غذا", "Foods"), ("پخش", "Distribution"),
              ("سازه", "Construction"), ("دارو", "Pharma"), ("تجارت", "Trading"), ("نساج", "Textiles")]
JOBS = ["مدیرعامل", "مدیر خرید", "کارشناس فروش", "مدیر مالی", "مدیر فنی", "کارشناس تدارکات",
        "Purchasing Manager", "CTO", "Operations Lead"]
# Source weights; referral is what the scoring rule gives points for.
SOURCES = [("website", 25), ("instagram", 18), ("exhibition", 12), ("referral", 12), ("google_ads", 12),
           ("telegram", 8), ("cold_call", 6), ("linkedin", 5), (None, 2)]
CAMPAIGNS = [(None, 60), ("نمایشگاه الکامپ ۱۴۰۳", 10), ("کمپین نوروز ۱۴۰۴", 12), ("جشنواره یلدا", 10),
             ("وبینار معرفی محصول", 8)]
STATUSES = [("new", 35), ("contacted", 25), ("qualified", 15), ("disqualified", 25)]
REASONS = ["بودجه ندارد", "نیازی ندارد", "خرید از رقیب", "پاسخ نمی‌دهد"]
DEAL_TITLES = ["تمدید قرارداد پشتیبانی", "خرید نرم‌افزار حسابداری", "راه‌اندازی سامانه انبار", "تجهیز شعبه جدید",
               "قرارداد سالانه نگهداری", "خرید ۵۰ دستگاه کارتخوان", "ارتقای زیرساخت شبکه", "پروژه دیجیتال مارکتینگ",
               "Annual licence renewal", "ERP rollout", "Fleet tracking pilot", "Cloud migration"]


# --- domain::persian::search_key, for the characters of the lists above and of
# anything that reaches it in the verification (Arabic letter forms, Persian digits).
def _map(c):
    if c in "يىئ":
        return "ی"
    if c in "كڪ":
        return "ک"
    if c in "ةۀۃھە":
        return "ه"
    if c in "أإٱ":
        return "ا"
    if c == "ؤ":
        return "و"
    o = ord(c)
    if (0x610 <= o <= 0x61A or 0x64B <= o <= 0x65F or o == 0x670 or 0x6D6 <= o <= 0x6DC or 0x6DF <= o <= 0x6E8
            or 0x6EA <= o <= 0x6ED or o in (0x640, 0x200D, 0xFEFF, 0xAD, 0x200E, 0x200F)
            or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069):
        return ""
    if o in (0x200B, 0x200C) or c.isspace():
        return " "
    if 0x6F0 <= o <= 0x6F9:
        return chr(o - 0x6F0 + 48)
    if 0x660 <= o <= 0x669:
        return chr(o - 0x660 + 48)
    return c


def key(text):
    return "".join(c for c in "".join(_map(c) for c in text).lower() if c.isalnum())


_KEYS = {}


def pool_key(text):
    """`key` of a word-list text, remembered (the lists are small, the rows many)."""
    found = _KEYS.get(text)
    if found is None:
        found = _KEYS[text] = key(text)
    return found


_NOT_ASCII_ALNUM = re.compile("[^0-9a-z]")


def ascii_key(text):
    """`key` of ASCII text (E.164 numbers, e-mail addresses): lower case, letters and digits."""
    assert text.isascii()
    return _NOT_ASCII_ALNUM.sub("", text.lower())


def weighted(pairs):
    return [value for value, weight in pairs for _ in range(weight)]


def uuid7(at, rng):
    """A UUIDv7 of moment `at` (Uuid::now_v7 at creation)."""
    ms = int(at.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def stamp(at):
    """persistence::sql_types::sqlite_timestamp: RFC 3339, microseconds, Z."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- Pools: the draws of both loaders, with the keys of each part --------------------
def pools():
    persons = [(f, l, lf, ll, "fa") for f, lf in MALE + FEMALE for l, ll in LAST]
    latin = [(f, l, f.lower(), l.lower(), "en") for f, l in LATIN]
    persons += latin * max(1, len(persons) // (9 * len(latin)))  # about a tenth in Latin script
    companies = [f"{form} {core} {ind}" for form in FORMS for core, _ in CORES for ind, _ in INDUSTRIES]
    companies += [f"{core} {ind}" for _, core in CORES for _, ind in INDUSTRIES]
    places = []
    for province, cities, weight in PROVINCES:
        for city in cities:
            places += [(province, city)] * max(1, weight * 3 // len(cities))
    p = {
        "person": persons, "company": companies, "job": JOBS, "place": places,
        "source": weighted(SOURCES), "campaign": weighted(CAMPAIGNS), "status": weighted(STATUSES),
        "reason": REASONS, "title": DEAL_TITLES,
    }
    # The search text drops a part equal to an earlier one; only a city and its
    # province may be equal here, which both loaders handle. Checked, not assumed.
    name_keys = {key(f) + key(l) for f, l, *_ in persons} | {key(l) for _, l, *_ in persons}
    groups = [name_keys, {key(c) for c in companies}, {key(j) for j in JOBS},
              {key(c) for _, c in places} | {key(pr) for pr, _ in places}]
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            assert not a & b, a & b
    return p


def lead_search_text(first, last, company, job, city, province, phones, emails):
    """LeadInput::search_text."""
    parts = []

    def push(k):
        if k and k not in parts:
            parts.append(k)
    display = " ".join(x for x in (first, last) if x) or company
    push(pool_key(display))
    for text in (company, job, city, province):
        if text:
            push(pool_key(text))
    for number in phones:
        push(ascii_key(number))
        push(ascii_key("0" + number[3:]))
    for address in emails:
        push(ascii_key(address))
    return display, " ".join(parts)


# --- Database access -------------------------------------------------------------------
def is_pg(db):
    return db.startswith("postgres")


def psql(db, sql, rows=False):
    out = subprocess.run(["psql", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-F", "\t"], input=sql,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr}")
    if rows:
        return [line.split("\t") for line in out.stdout.splitlines() if line]
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


def sql_text(value):
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


# --- API --------------------------------------------------------------------------------
class Api:
    def __init__(self, url):
        self.url = url
        self.token = None
        self.token = self.call("POST", "/api/v1/auth/login",
                               {"email": "bench@example.com", "password": PASSWORD})[1]["access_token"]

    def call(self, method, path, body=None, expect=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        if self.token:
            req.add_header("authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        if expect is not None and status != expect:
            sys.exit(f"{method} {path}: {status} (expected {expect}): {raw[:800]!r}")
        return status, (json.loads(raw) if raw else None)


def setup(url, db, work):
    """Teams, sales users and the rules, through the API as an admin would."""
    api = Api(url)
    users = []
    n = 0
    teams = []
    for name, members in TEAMS:
        team = api.call("POST", "/api/v1/teams", {"name": name}, 201)[1]["id"]
        teams.append(team)
        for _ in range(members):
            n += 1
            user = api.call("POST", "/api/v1/users", {
                "email": f"sales{n:02d}.bench@example.com", "display_name": f"کارشناس فروش {n}",
                "password": PASSWORD, "role": "sales", "team_id": team}, 201)[1]
            users.append({"id": user["id"], "team_id": team})
    rule = api.call("POST", "/api/v1/assignment-rules", {
        "name": "سرنخ‌های جدید", "record_kind": "lead", "position": 10,
        "condition": {"field": "status", "op": "eq", "value": "new"},
        "target": {"kind": "team", "team_id": teams[0], "strategy": "round_robin"}}, 201)[1]
    scoring = api.call("POST", "/api/v1/lead-scoring-rules", {
        "name": "معرفی‌شده", "condition": {"field": "source", "op": "eq", "value": SCORED_SOURCE},
        "points": SCORE_POINTS}, 201)[1]
    admin = query(db, "SELECT id FROM users WHERE email = 'bench@example.com'")[0][0]
    json.dump({"users": users, "teams": teams, "admin": admin, "assignment_rule": rule["id"],
               "scoring_rule": scoring["id"]}, open(f"{work}/setup.json", "w"))
    print(f"setup: {len(teams)} teams, {len(users)} sales users, round robin over {TEAMS[0][1]} users, "
          f"scoring rule {SCORED_SOURCE} = {SCORE_POINTS} points")


# --- Loading ----------------------------------------------------------------------------
def load(db, work, deals, leads):
    p = pools()
    users = json.load(open(f"{work}/setup.json"))["users"]
    started = time.time()
    if is_pg(db):
        load_pg(db, p, users, deals, leads)
    else:
        load_sqlite(db, p, users, deals, leads)
    print(f"loaded {deals} open deals and {leads} leads in {time.time() - started:.1f} s")


def load_pg(db, p, users, deals, leads):
    def table(name, columns, rows):
        values = ",\n".join("(" + ", ".join([str(i)] + [sql_text(v) for v in row]) + ")" for i, row in enumerate(rows))
        return f"CREATE TEMP TABLE {name} (n int PRIMARY KEY, {columns});\nINSERT INTO {name} VALUES\n{values};\n"
    persons = [(f, l, lf, ll, lang, key(f) + key(l), key(l)) for f, l, lf, ll, lang in p["person"]]
    sql = [
        "\\timing off\nSET maintenance_work_mem = '256MB';\nBEGIN;",
        table("b_person", "first text, last text, lfirst text, llast text, lang text, kfull text, klast text", persons),
        table("b_company", "company text, k text", [(c, key(c)) for c in p["company"]]),
        table("b_job", "job text, k text", [(j, key(j)) for j in p["job"]]),
        table("b_place", "province text, city text, kp text, kc text",
              [(pr, c, key(pr), key(c)) for pr, c in p["place"]]),
        table("b_source", "source text", [(s,) for s in p["source"]]),
        table("b_campaign", "campaign text", [(c,) for c in p["campaign"]]),
        table("b_status", "status text", [(s,) for s in p["status"]]),
        table("b_reason", "reason text", [(r,) for r in p["reason"]]),
        table("b_owner", "owner uuid, team uuid", [(u["id"], u["team_id"]) for u in users]),
        table("b_title", "title text, k text", [(t, key(t)) for t in p["title"]]),
        table("b_stage", "stage uuid", [(s,) for s, w in STAGES for _ in range(w)]),
        table("b_mobile", "prefix text", [(m,) for m in MOBILE_PREFIXES]),
        table("b_area", "area text", [(a,) for a in LANDLINE_AREAS]),
        table("b_domain", "domain text, k text", [(d, key(d)) for d in EMAIL_DOMAINS]),
        "CREATE TEMP TABLE b_customer AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id FROM customers;",
        # uuid v7 from a moment: 48 bits of milliseconds, version 7, variant 10.
        """CREATE FUNCTION pg_temp.uuid7(at timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
             SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
                     || substr(h, 1, 3) || to_hex(8 + floor(random() * 4)::int) || substr(h, 4, 15))::uuid
             FROM (SELECT md5(random()::text || clock_timestamp()::text) AS h) x $$;""",
    ]
    # Deals: one history row each (entered its stage on creation), as POST /deals.
    sql.append(f"""
CREATE TEMP TABLE b_deals AS
SELECT pg_temp.uuid7(at) AS id, t.title, t.k, c.id AS customer_id, o.owner, o.team, s.stage, at,
       (10 + floor(random() * 4990))::bigint * 1000000 AS amount,
       (at + (30 + floor(random() * 90)) * interval '1 day')::date AS close_date, src.source
FROM (SELECT g, now() - random() * interval '180 days' AS at,
             floor(random() * {len(p['title'])})::int AS ti, floor(random() * {len(users)})::int AS oi,
             floor(random() * {sum(w for _, w in STAGES)})::int AS si,
             floor(random() * (SELECT count(*) FROM b_customer))::int AS ci,
             floor(random() * {len(p['source'])})::int AS sri
      FROM generate_series(1, {deals}) g) r
JOIN b_title t ON t.n = r.ti JOIN b_owner o ON o.n = r.oi JOIN b_stage s ON s.n = r.si
JOIN b_customer c ON c.n = r.ci JOIN b_source src ON src.n = r.sri;
INSERT INTO deals (id, title, search_text, customer_id, owner_id, team_id, pipeline_id, stage_id, status, amount,
                   currency, expected_close_date, source, campaign, lead_id, lost_reason_id, description, closed_at,
                   last_activity_at, created_by, created_at, updated_at, version, custom_fields)
SELECT id, title, k, customer_id, owner, team, '{PIPELINE}', stage, 'open', amount, 'IRR', close_date, source,
       NULL, NULL, NULL, NULL, NULL, at, owner, at, at, 1, '{{}}'
FROM b_deals;
INSERT INTO deal_stage_history (id, deal_id, from_stage_id, to_stage_id, changed_at, changed_by)
SELECT pg_temp.uuid7(at), id, NULL, stage, at, owner FROM b_deals;
""")
    # Leads. Draws first, then the parts, then what the application derives from them.
    # The leads' secondary indexes (the trigram index among them) are built once after
    # the insert, which is much faster than updating them row by row; same definitions.
    indexes = [r[0] for r in query(db, "SELECT indexdef FROM pg_indexes WHERE tablename = 'leads' "
                                       "AND indexname <> 'leads_pkey'")]
    names = [r[0] for r in query(db, "SELECT indexname FROM pg_indexes WHERE tablename = 'leads' "
                                     "AND indexname <> 'leads_pkey'")]
    sql.append("".join(f"DROP INDEX {name};\n" for name in names))
    sql.append(f"""
INSERT INTO leads (id, first_name, last_name, company, job_title, phones, emails, province, city, source, campaign,
                   status, disqualified_reason, owner_id, team_id, description, display_name, search_text,
                   converted_customer_id, converted_organization_id, converted_at, created_by, created_at,
                   updated_at, version, language, product_id, score_points, propensity, propensity_factors,
                   propensity_run_id, custom_fields)
SELECT pg_temp.uuid7(at), first, last, company, job, phones, emails, province, city, source, campaign,
       status, reason, owner, team, NULL, display,
       concat_ws(' ', kdisplay,
                 CASE WHEN kcompany <> kdisplay THEN kcompany END, kjob, kc,
                 CASE WHEN kp <> kc THEN kp END,
                 substr(mobile, 2), '0' || substr(mobile, 4), substr(landline, 2), '0' || substr(landline, 4),
                 kemail),
       NULL, NULL, NULL, owner, at, at, 1, lang, NULL,
       CASE WHEN source = '{SCORED_SOURCE}' THEN {SCORE_POINTS} ELSE 0 END, NULL, NULL, NULL, '{{}}'
FROM (
  SELECT *, coalesce(first || ' ' || last, last, company) AS display,
         coalesce(kfirst || klast, klast, kcompany) AS kdisplay,
         (CASE WHEN mobile IS NULL THEN '[]' ELSE '[{{"number": "' || mobile || '", "type": "mobile", "label": null, "primary": true}}]' END
          )::jsonb || (CASE WHEN landline IS NULL THEN '[]' ELSE '[{{"number": "' || landline
                            || '", "type": "landline", "label": null, "primary": ' || (mobile IS NULL)::text || '}}]' END)::jsonb
          AS phones,
         (CASE WHEN email IS NULL THEN '[]' ELSE '[{{"address": "' || email || '", "label": null, "primary": true}}]' END)::jsonb
          AS emails,
         CASE WHEN email IS NOT NULL THEN replace(replace(replace(email, '.', ''), '@', ''), '_', '') END AS kemail
  FROM (
    SELECT r.at, o.owner, o.team, st.status,
           CASE WHEN st.status = 'disqualified' THEN rs.reason END AS reason,
           CASE WHEN NOT r.conly AND r.hfirst THEN pe.first END AS first,
           CASE WHEN NOT r.conly AND r.hfirst THEN key_first END AS kfirst,
           CASE WHEN NOT r.conly THEN pe.last END AS last,
           CASE WHEN NOT r.conly THEN pe.klast END AS klast,
           CASE WHEN NOT r.conly THEN pe.lang END AS lang,
           CASE WHEN r.conly OR r.hcompany THEN co.company END AS company,
           CASE WHEN r.conly OR r.hcompany THEN co.k END AS kcompany,
           CASE WHEN NOT r.conly AND r.hjob THEN j.job END AS job,
           CASE WHEN NOT r.conly AND r.hjob THEN j.k END AS kjob,
           pl.province, pl.city, pl.kp, pl.kc, so.source, ca.campaign,
           CASE WHEN NOT r.conly AND r.hmobile THEN '+98' || m.prefix || lpad((r.g % 10000000)::text, 7, '0') END AS mobile,
           CASE WHEN r.conly OR r.hlandline OR NOT r.hmobile
                THEN '+98' || a.area || lpad((20000000 + r.g % 80000000)::text, 8, '0') END AS landline,
           CASE WHEN NOT r.conly AND r.hemail
                THEN pe.lfirst || '.' || pe.llast || r.g || '@' || d.domain END AS email
    FROM (SELECT g, now() - random() * interval '730 days' AS at,
                 random() < 0.04 AS conly, random() < 0.9 AS hfirst, random() < 0.5 AS hcompany,
                 random() < 0.4 AS hjob, random() < 0.88 AS hmobile, random() < 0.15 AS hlandline,
                 random() < 0.55 AS hemail,
                 floor(random() * {len(persons)})::int AS pi, floor(random() * {len(p['company'])})::int AS ci,
                 floor(random() * {len(p['job'])})::int AS ji, floor(random() * {len(p['place'])})::int AS li,
                 floor(random() * {len(p['source'])})::int AS si, floor(random() * {len(p['campaign'])})::int AS cai,
                 floor(random() * {len(p['status'])})::int AS sti, floor(random() * {len(p['reason'])})::int AS ri,
                 floor(random() * {len(users)})::int AS oi, floor(random() * {len(MOBILE_PREFIXES)})::int AS mi,
                 floor(random() * {len(LANDLINE_AREAS)})::int AS ai, floor(random() * {len(EMAIL_DOMAINS)})::int AS di
          FROM generate_series(1, {leads}) g) r
    JOIN (SELECT *, substr(kfull, 1, length(kfull) - length(klast)) AS key_first FROM b_person) pe
      ON pe.n = r.pi
    JOIN b_company co ON co.n = r.ci JOIN b_job j ON j.n = r.ji JOIN b_place pl ON pl.n = r.li
    JOIN b_source so ON so.n = r.si JOIN b_campaign ca ON ca.n = r.cai JOIN b_status st ON st.n = r.sti
    JOIN b_reason rs ON rs.n = r.ri JOIN b_owner o ON o.n = r.oi JOIN b_mobile m ON m.n = r.mi
    JOIN b_area a ON a.n = r.ai JOIN b_domain d ON d.n = r.di
  ) x
) y;
""")
    sql.append("".join(f"{index};\n" for index in indexes) + "COMMIT;\n")
    psql(db, "\n".join(sql))


def load_sqlite(db, p, users, deals, leads):
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -1000000")
    customers = [r[0] for r in con.execute("SELECT id FROM customers ORDER BY id")]
    stages = [s for s, w in STAGES for _ in range(w)]

    def deal_rows():
        for _ in range(deals):
            at = now - timedelta(seconds=rng.random() * 180 * 86400)
            title = rng.choice(p["title"])
            owner = rng.choice(users)
            stage = rng.choice(stages)
            deal = uuid7(at, rng)
            close = (at + timedelta(days=30 + rng.randrange(90))).date().isoformat()
            yield (deal, title, key(title), rng.choice(customers), owner["id"], owner["team_id"], PIPELINE, stage,
                   "open", (10 + rng.randrange(4990)) * 1000000, "IRR", close, rng.choice(p["source"]),
                   stamp(at), owner["id"], stamp(at), stamp(at), uuid7(at, rng))
    rows = list(deal_rows())
    con.executemany(
        "INSERT INTO deals (id, title, search_text, customer_id, owner_id, team_id, pipeline_id, stage_id, status, "
        "amount, currency, expected_close_date, source, campaign, lead_id, lost_reason_id, description, closed_at, "
        "last_activity_at, created_by, created_at, updated_at, version, custom_fields) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL, ?, ?, ?, ?, 1, '{}')",
        [r[:-1] for r in rows])
    con.executemany(
        "INSERT INTO deal_stage_history (id, deal_id, from_stage_id, to_stage_id, changed_at, changed_by) "
        "VALUES (?, ?, NULL, ?, ?, ?)", [(r[-1], r[0], r[7], r[13], r[14]) for r in rows])
    del rows

    def lead_rows():
        for g in range(1, leads + 1):
            at = now - timedelta(seconds=rng.random() * 730 * 86400)
            conly, hfirst, hcompany, hjob = rng.random() < 0.04, rng.random() < 0.9, rng.random() < 0.5, rng.random() < 0.4
            hmobile, hlandline, hemail = rng.random() < 0.88, rng.random() < 0.15, rng.random() < 0.55
            first, last, lfirst, llast, lang = rng.choice(p["person"])
            company, job = rng.choice(p["company"]), rng.choice(p["job"])
            province, city = rng.choice(p["place"])
            source, campaign, status = rng.choice(p["source"]), rng.choice(p["campaign"]), rng.choice(p["status"])
            reason = rng.choice(p["reason"]) if status == "disqualified" else None
            owner = rng.choice(users)
            mobile_prefix, area, domain = rng.choice(MOBILE_PREFIXES), rng.choice(LANDLINE_AREAS), rng.choice(EMAIL_DOMAINS)
            if conly:
                first = last = lang = job = None
                hmobile = hemail = False
            else:
                first = first if hfirst else None
                company = company if hcompany else None
                job = job if hjob else None
            mobile = f"+98{mobile_prefix}{g % 10000000:07d}" if hmobile else None
            landline = f"+98{area}{20000000 + g % 80000000:08d}" if conly or hlandline or not hmobile else None
            email = f"{lfirst}.{llast}{g}@{domain}" if hemail else None
            phones = ([{"number": mobile, "type": "mobile", "label": None, "primary": True}] if mobile else []) + \
                     ([{"number": landline, "type": "landline", "label": None, "primary": mobile is None}] if landline else [])
            emails = [{"address": email, "label": None, "primary": True}] if email else []
            display, text = lead_search_text(first, last, company, job, city, province,
                                             [x["number"] for x in phones], [x["address"] for x in emails])
            # serde_json's compact form of a `Value` (keys sorted), as the application
            # stores a JSON column on SQLite.
            compact = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"), sort_keys=True)  # noqa: E731
            yield (uuid7(at, rng), first, last, company, job, compact(phones), compact(emails), province, city, source,
                   campaign, status, reason, owner["id"], owner["team_id"], display, text, owner["id"], stamp(at),
                   stamp(at), lang, SCORE_POINTS if source == SCORED_SOURCE else 0)
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'leads' "
                          "AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    con.executemany(
        "INSERT INTO leads (id, first_name, last_name, company, job_title, phones, emails, province, city, source, "
        "campaign, status, disqualified_reason, owner_id, team_id, description, display_name, search_text, "
        "converted_customer_id, converted_organization_id, converted_at, created_by, created_at, updated_at, version, "
        "language, product_id, score_points, propensity, propensity_factors, propensity_run_id, custom_fields) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL, NULL, NULL, ?, ?, ?, 1, ?, NULL, ?, "
        "NULL, NULL, NULL, '{}')", lead_rows())
    for _, index in indexes:
        con.execute(index)
    con.commit()


# --- Verification ------------------------------------------------------------------------
INPUT_FIELDS = ["first_name", "last_name", "company", "job_title", "phones", "emails", "province", "city", "source",
                "campaign", "language", "status", "disqualified_reason", "owner_id", "team_id"]
DERIVED = "display_name, search_text, phones, emails, score_points, version, custom_fields, team_id, owner_id, status"


def verify(url, db, work, deals):
    api = Api(url)
    fail = []
    pg = is_pg(db)
    j = "::text" if pg else ""
    # 1. Leads read back through the API, and twins written through it store the same.
    derived = ", ".join(c + j if c in ("phones", "emails", "custom_fields") else c for c in DERIVED.split(", "))
    sample = query(db, "SELECT id FROM leads ORDER BY random() LIMIT 40")
    twins = 0
    for (lead,) in sample:
        got = api.call("GET", f"/api/v1/leads/{lead}", expect=200)[1]
        row = query(db, f"SELECT first_name, last_name, display_name, created_at FROM leads WHERE id = '{lead}'")[0]
        if [got["first_name"], got["last_name"], got["display_name"]] != row[:3]:
            fail.append(f"lead {lead}: API {got['display_name']!r} vs stored {row[2]!r}")
        twin = api.call("POST", "/api/v1/leads", {f: got[f] for f in INPUT_FIELDS}, 201)[1]
        stored = query(db, f"SELECT {derived} FROM leads WHERE id = '{lead}'")[0]
        made = query(db, f"SELECT {derived} FROM leads WHERE id = '{twin['id']}'")[0]
        if stored != made:
            fail.append(f"lead {lead}: loaded {stored} but the API stores {made}")
        api.call("DELETE", f"/api/v1/leads/{twin['id']}", expect=204)
        twins += 1
    # 2. Quick search: a lead's national mobile finds exactly it; a Persian surname in
    # Arabic letters finds leads holding it.
    lead = query(db, "SELECT id FROM leads WHERE phones" + j + " LIKE '%mobile%' LIMIT 1")[0][0]
    phone = json.loads(query(db, f"SELECT phones{j} FROM leads WHERE id = '{lead}'")[0][0])[0]["number"]
    found = api.call("POST", "/api/v1/leads/search", {"q": "0" + phone[3:], "limit": 50}, 200)[1]["data"]
    if [x["id"] for x in found] != [lead]:
        fail.append(f"q {'0' + phone[3:]}: {[x['id'] for x in found]} instead of [{lead}]")
    found = api.call("POST", "/api/v1/leads/search", {"q": "كريمي", "limit": 50}, 200)[1]["data"]
    if not found or any("کریمی" not in (x["last_name"] or "") for x in found):
        fail.append(f"q كريمي: {[x['display_name'] for x in found]}")
    # 3. The filtered search of the benchmark returns what it asks for.
    body = {"filter": {"and": [{"field": "status", "op": "eq", "value": "new"},
                               {"field": "province", "op": "eq", "value": "تهران"},
                               {"field": "created_at", "op": "gte", "value": {"relative": "last_n_days", "n": 90}}]},
            "sort": [{"field": "created_at", "direction": "desc"}], "limit": 50}
    found = api.call("POST", "/api/v1/leads/search", body, 200)[1]["data"]
    since = datetime.now(timezone.utc) - timedelta(days=92)
    at = lambda x: datetime.fromisoformat(x["created_at"].replace("Z", "+00:00"))  # noqa: E731
    if not found or any(x["status"] != "new" or x["province"] != "تهران" or at(x) < since for x in found) \
            or [x["created_at"] for x in found] != sorted((x["created_at"] for x in found), reverse=True):
        fail.append(f"filtered search: {len(found)} leads, not all new in Tehran, recent, newest first")
    # 4. The board counts what is stored.
    board = api.call("GET", f"/api/v1/pipelines/{PIPELINE}/board", expect=200)[1]
    counts = dict(query(db, f"SELECT stage_id, count(*) FROM deals WHERE pipeline_id = '{PIPELINE}' "
                            "AND status = 'open' GROUP BY stage_id"))
    shown = {c["stage"]["id"]: c["deals"] for c in board["columns"]}
    if {k: int(v) for k, v in counts.items()} != shown or sum(shown.values()) != deals:
        fail.append(f"board {shown} vs stored {counts} ({deals} loaded)")
    if any(len(c["page"]["data"]) == 0 for c in board["columns"]):
        fail.append("a board column without its first page")
    # 5. Deal twins.
    for (deal,) in query(db, "SELECT id FROM deals ORDER BY random() LIMIT 5"):
        got = api.call("GET", f"/api/v1/deals/{deal}", expect=200)[1]
        body = {f: got[f] for f in ["title", "customer_id", "owner_id", "team_id", "stage_id", "amount",
                                     "expected_close_date", "source"]}
        twin = api.call("POST", "/api/v1/deals", body, 201)[1]
        cols = "title, search_text, status, amount, currency, pipeline_id, version, custom_fields" + j + \
               ", (SELECT count(*) FROM deal_stage_history h WHERE h.deal_id = deals.id AND h.from_stage_id IS NULL)"
        a = query(db, f"SELECT {cols} FROM deals WHERE id = '{deal}'")
        b = query(db, f"SELECT {cols} FROM deals WHERE id = '{twin['id']}'")
        if a != b:
            fail.append(f"deal {deal}: loaded {a} but the API stores {b}")
        api.call("DELETE", f"/api/v1/deals/{twin['id']}", expect=204)
    if fail:
        sys.exit("verification failed:\n  " + "\n  ".join(fail))
    print(f"verified: {len(sample)} leads read through the API, {twins} lead twins and 5 deal twins stored "
          f"identically, quick and filtered search, board counts = stored ({sum(shown.values())} open deals)")


def sample(db, work):
    """What the wrk scripts draw from: provinces and surnames (in Arabic letter forms)."""
    provinces = [r[0] for r in query(db, "SELECT DISTINCT province FROM leads WHERE province IS NOT NULL")]
    names = [r[0] for r in query(db, "SELECT last_name FROM leads WHERE last_name IS NOT NULL AND language = 'fa' "
                                     "ORDER BY random() LIMIT 500")]
    names = [n.replace("ی", "ي").replace("ک", "ك") for n in names]
    open(f"{work}/provinces.txt", "w").write("\n".join(provinces) + "\n")
    open(f"{work}/names.txt", "w").write("\n".join(names) + "\n")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "setup":
        setup(*args)
    elif command == "load":
        load(args[0], args[1], int(args[2]), int(args[3]))
    elif command == "verify":
        verify(args[0], args[1], args[2], int(args[3]))
    elif command == "sample":
        sample(*args)
    else:
        sys.exit(f"unknown command {command}")

"""Mixed load for the soak (scripts/soak.sh): reads, searches, writes, imports, webhook
deliveries, reports and segment refreshes against several servers sharing one
database, for a fixed time. Prints, per endpoint family, the requests, the 5xx answers
and the p50/p99 latency, and the resident memory of each server every interval.

Standard library only, so that it runs wherever the servers do.
    python3 scripts/soak_load.py SECONDS TOKEN BASE_URL [BASE_URL ...]
Env: SOAK_THREADS (8), SOAK_PIDS (server process ids, for memory), SOAK_HOOK_PORT.
"""

import http.server
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

SECONDS = int(sys.argv[1])
TOKEN = sys.argv[2]
BASES = sys.argv[3:]
THREADS = int(os.environ.get("SOAK_THREADS", "8"))
PIDS = [pid for pid in os.environ.get("SOAK_PIDS", "").split() if pid]
HOOK_PORT = int(os.environ.get("SOAK_HOOK_PORT", "8199"))

lock = threading.Lock()
latencies = {}  # family -> [seconds]
statuses = {}  # family -> {status: count}
known_customers = []
received_hooks = [0]


def call(family, method, path, body=None, content_type="application/json", raw=None):
    base = random.choice(BASES)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("authorization", "Bearer " + TOKEN)
    if data is not None:
        request.add_header("content-type", content_type)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    except OSError:
        status, payload = 599, b""
    elapsed = time.perf_counter() - started
    with lock:
        latencies.setdefault(family, []).append(elapsed)
        statuses.setdefault(family, {}).setdefault(status, 0)
        statuses[family][status] += 1
    try:
        return status, json.loads(payload) if payload else None
    except ValueError:
        return status, None


def person():
    n = random.randrange(10**9)
    return {
        "kind": "person",
        "first_name": random.choice(["سارا", "علی", "مریم", "رضا", "Nima"]),
        "last_name": f"آزمون {n}",
        "emails": [{"address": f"soak{n}-{uuid.uuid4().hex[:6]}@example.ir"}],
    }


def read():
    if known_customers:
        call("read", "GET", f"/api/v1/customers/{random.choice(known_customers)}")
    call("read", "GET", "/api/v1/customers?limit=50")


def search():
    filters = [
        {"field": "lifecycle_stage", "op": "in", "value": ["purchase", "retention"]},
        {"field": "province", "op": "eq", "value": random.choice(["تهران", "اصفهان", "فارس"])},
        {"field": "order_count", "op": "gte", "value": random.randint(1, 5)},
    ]
    call("search", "POST", "/api/v1/customers/search",
         {"filter": random.choice(filters), "limit": 50})
    call("search", "GET", "/api/v1/customers?q=" + urllib.request.quote(random.choice(["سارا", "رضا", "09"])))


def write():
    status, created = call("write", "POST", "/api/v1/customers", person())
    if status == 201 and created:
        with lock:
            known_customers.append(created["id"])
        call("write", "PATCH", f"/api/v1/customers/{created['id']}",
             raw=json.dumps({"first_name": "ویرایش‌شده"}).encode(), content_type="application/merge-patch+json")


def report():
    call("report", "GET", "/api/v1/reports/sales?from=2025-03-21&to=2026-03-20&bucket=month")


def importing():
    boundary = "soak" + uuid.uuid4().hex
    rows = "".join(f"SOAK-{uuid.uuid4().hex[:12]},مشتری,انبوه {i}\n" for i in range(100))
    parts = [
        (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n'
         "Content-Type: text/csv\r\n\r\n" + "code,first_name,last_name\n" + rows + "\r\n"),
        (f'--{boundary}\r\nContent-Disposition: form-data; name="options"\r\n'
         "Content-Type: application/json\r\n\r\n"
         + json.dumps({"mapping": {"code": "code", "first_name": "first_name", "last_name": "last_name"}})
         + "\r\n"),
        f"--{boundary}--\r\n",
    ]
    call("import", "POST", "/api/v1/imports", raw="".join(parts).encode(),
         content_type=f"multipart/form-data; boundary={boundary}")


def worker(deadline):
    mix = [read] * 5 + [search] * 2 + [write] * 2 + [report]
    while time.time() < deadline:
        random.choice(mix)()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            received_hooks[0] += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def main():
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    call("setup", "POST", "/api/v1/webhook-subscriptions",
         {"url": f"http://127.0.0.1:{HOOK_PORT}/hook", "event_types": ["customer.created", "customer.updated"]})
    _, segment = call("setup", "POST", "/api/v1/segments",
                      {"name": "soak " + uuid.uuid4().hex[:6], "kind": "dynamic",
                       "condition": {"field": "order_count", "op": "gte", "value": 3}})
    _, page = call("setup", "GET", "/api/v1/customers?limit=200")
    known_customers.extend(c["id"] for c in (page or {}).get("data", []))

    deadline = time.time() + SECONDS
    threads = [threading.Thread(target=worker, args=(deadline,)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    memory = []
    last_import = last_refresh = 0.0
    while time.time() < deadline:
        now = time.time()
        if now - last_import >= 30:
            importing()
            last_import = now
        if segment and now - last_refresh >= 60:
            call("segment", "POST", f"/api/v1/segments/{segment['id']}/refresh")
            last_refresh = now
        memory.append([rss_mib(pid) for pid in PIDS])
        time.sleep(10)
    for thread in threads:
        thread.join()

    print(f"{'family':8} {'requests':>9} {'5xx':>5} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    total_5xx = 0
    for family in sorted(latencies):
        ms = sorted(x * 1000 for x in latencies[family])
        errors = sum(n for status, n in statuses[family].items() if status >= 500)
        total_5xx += errors
        p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
        print(f"{family:8} {len(ms):9} {errors:5} {statistics.median(ms):8.1f} {p99:8.1f}  {statuses[family]}")
    print(f"webhook deliveries received: {received_hooks[0]}")
    for index, pid in enumerate(PIDS):
        series = [sample[index] for sample in memory if sample[index] is not None]
        if series:
            print(f"server {pid} RSS MiB: first {series[0]}, max {max(series)}, last {series[-1]}, "
                  f"samples {len(series)}")
            # The run in tenths: whether memory levels off or keeps climbing.
            tenths = [series[min(len(series) - 1, len(series) * k // 10)] for k in range(10)]
            print(f"server {pid} RSS MiB by tenth of the run: {tenths + [series[-1]]}")
    print(f"5xx in all: {total_5xx}")
    sys.exit(1 if total_5xx else 0)


main()

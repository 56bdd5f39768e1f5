"""A webhook receiver for the outgoing-webhook tests: an HTTP server on a free loopback
port that checks every POST with the official Standard Webhooks library and appends
what it got, one JSON line per request, to <directory>/received.jsonl.

Its answer depends on the path: `/ok` answers 204; `/flaky` answers 500 to the first
attempt of each webhook-id and 204 to the next; `/down` always answers 503.

The secret is read from <directory>/secret at each request, so that the receiver can
start before the subscription whose secret it checks with exists.

Usage: webhook_receiver.py <directory>
Prints the port on the first line of stdout, then serves until stdin closes.
"""

import json
import pathlib
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

directory = pathlib.Path(sys.argv[1])
lock = threading.Lock()
seen = set()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            webhook = Webhook((directory / "secret").read_text().strip())
            payload = webhook.verify(body, headers)
            verified, error = True, None
        except Exception as failure:  # the library's own error types
            payload, verified, error = None, False, repr(failure)
        webhook_id = headers.get("webhook-id")
        with lock:
            first = webhook_id not in seen
            seen.add(webhook_id)
            with open(directory / "received.jsonl", "a", encoding="utf-8") as out:
                out.write(json.dumps({
                    "path": self.path,
                    "webhook_id": webhook_id,
                    "verified": verified,
                    "error": error,
                    "payload": payload,
                }) + "\n")
        if self.path == "/down" or (self.path == "/flaky" and first):
            self.send_response(503 if self.path == "/down" else 500)
        else:
            self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()

#!/usr/bin/env python3
"""A Stripe Secret Store that misbehaves in one chosen way, for the tests.

Usage: hostile_stripe.py MODE. Listens on 127.0.0.1 (a free port), prints
"listening on http://127.0.0.1:PORT", and answers every POST /v1/apps/secrets as MODE says:

  empty-id     200 with {"id": "", "object": "apps.secret", ...}
  other-name   200, but for another secret's name
  other-mode   200, but a live-mode object for a test key
  trickle      200 headers, then the body one byte every 2 seconds
  bidi-error   400 whose message carries a bidi override, an escape sequence and a line break

GET /_stats answers {"requests": N}. Stops after 120 s whatever happens.
"""
import http.server
import json
import signal
import sys
import threading
import time

# A parent that spawned us from a thread blocking signals would leave SIGTERM blocked here.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
MODE = sys.argv[1]
REQUESTS = 0


def secret(name, livemode=False, id="appsecret_Hostile1"):
    return {"id": id, "object": "apps.secret", "created": 1800000000, "expires_at": None,
            "livemode": livemode, "name": name, "scope": {"type": "account", "user": None}}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_hostile")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_stats":
            self.answer(200, {"requests": REQUESTS})
        else:
            self.answer(404, {"error": {"type": "invalid_request_error", "message": "no"}})

    def do_POST(self):
        global REQUESTS
        REQUESTS += 1
        length = int(self.headers.get("Content-Length", 0))
        form = dict(pair.split("=", 1) for pair in self.rfile.read(length).decode().split("&") if "=" in pair)
        name = form.get("name", "")
        if MODE == "empty-id":
            self.answer(200, secret(name, id=""))
        elif MODE == "other-name":
            self.answer(200, secret("someone_elses_secret"))
        elif MODE == "other-mode":
            self.answer(200, secret(name, livemode=True))
        elif MODE == "trickle":
            data = json.dumps(secret(name)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(2)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif MODE == "bidi-error":
            self.answer(400, {"error": {"type": "invalid_request_error",
                                        "message": "bad \u202egnirts\u202c \x1b[2J\nPlan: 0 to delete"}})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Timer(120, server.shutdown).start()
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()

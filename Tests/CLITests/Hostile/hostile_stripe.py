#!/usr/bin/env python3
"""A Stripe Secret Store that misbehaves in one chosen way, for the tests.

Usage: hostile_stripe.py MODE. Listens on 127.0.0.1 (a free port), prints
"listening on http://127.0.0.1:PORT", and answers as MODE says. Modes for POST /v1/apps/secrets:

  empty-id     200 with {"id": "", "object": "apps.secret", ...}
  other-name   200, but for another secret's name
  other-mode   200, but a live-mode object for a test key
  trickle      200 headers, then the body one byte every 2 seconds
  bidi-error   400 whose message carries a bidi override, an escape sequence and a line break

Modes for GET /v1/apps/secrets (a listing) and GET /v1/apps/secrets/find. Unless the mode says
otherwise, a listing holds one secret, `one`, in the scope asked for, and a find answers for the
name and scope asked with the payload "canary-held-in-stripe":

  list-forever       every page says more follow, with a new secret each time, after half a second
  list-repeat        every page says more follow, with the same secret
  list-empty-more    an empty page that says more follow
  list-other-scope   a user-scope secret in a listing of the account scope
  list-other-mode    a live-mode secret for a test key
  list-bidi-name     a name with a bidi override, an escape sequence and a line break
  list-long-name     a name of 5001 characters
  list-expiry-range  an expires_at past the year 9999
  list-expiry-string an expires_at that is a string
  list-duplicate-key a secret whose "name" appears twice (the first one another name)
  list-payload       a listing whose secret carries a payload, not asked for
  list-big-page      one page of 150 secrets, more than the limit of 100 asked for
  list-huge          a 9 MiB answer
  list-403           403 on every listing
  list-error-lines   400 whose message fakes a line of the plan's output
  find-echo          400 on a find, its message and param quoting the payload
  find-other-name    a find answered for another name
  find-wrong-type    a find whose payload is a number
  find-403           403 on every find

GET /_stats answers {"requests": N, "posts": P}: the requests to /v1 so far, and how many of
them were POSTs. Stops after 120 s whatever happens.
"""
import http.server
import json
import signal
import sys
import threading
import time
import urllib.parse

# A parent that spawned us from a thread blocking signals would leave SIGTERM blocked here.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
MODE = sys.argv[1]
REQUESTS = 0
POSTS = 0
PAYLOAD = "canary-held-in-stripe"
LOCK = threading.Lock()


def secret(name, livemode=False, id="appsecret_Hostile1", scope=None):
    return {"id": id, "object": "apps.secret", "created": 1800000000, "expires_at": None,
            "livemode": livemode, "name": name, "scope": scope or {"type": "account", "user": None}}


def listing(data, has_more=False):
    return {"object": "list", "data": data, "has_more": has_more, "url": "/v1/apps/secrets"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        self.raw(status, json.dumps(body).encode())

    def raw(self, status, data):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_hostile")
        self.end_headers()
        self.wfile.write(data)

    def count(self, post):
        global REQUESTS, POSTS
        with LOCK:
            REQUESTS += 1
            POSTS += 1 if post else 0

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_stats":
            return self.answer(200, {"requests": REQUESTS, "posts": POSTS})
        self.count(post=False)
        query = dict(urllib.parse.parse_qsl(url.query))
        scope = {"type": query.get("scope[type]", "account"), "user": query.get("scope[user]")}
        if url.path == "/v1/apps/secrets":
            self.list(query, scope)
        elif url.path == "/v1/apps/secrets/find":
            self.find(query, scope)
        else:
            self.answer(404, {"error": {"type": "invalid_request_error", "message": "no"}})

    def list(self, query, scope):
        after = query.get("starting_after")
        page = int(after[len("appsecret_Page"):]) + 1 if after and after.startswith("appsecret_Page") else 1
        one = secret("one", scope=scope)
        if MODE == "list-forever":
            time.sleep(0.5)
            self.answer(200, listing([secret(f"n{page}", id=f"appsecret_Page{page}", scope=scope)], True))
        elif MODE == "list-repeat":
            self.answer(200, listing([one], True))
        elif MODE == "list-empty-more":
            self.answer(200, listing([], True))
        elif MODE == "list-other-scope":
            self.answer(200, listing([secret("one", scope={"type": "user", "user": "usr_Someone"})]))
        elif MODE == "list-other-mode":
            self.answer(200, listing([secret("one", livemode=True, scope=scope)]))
        elif MODE == "list-bidi-name":
            self.answer(200, listing([secret("evil\u202egnirts\x1b[2J\nPlan: 0 to delete", scope=scope)]))
        elif MODE == "list-long-name":
            self.answer(200, listing([secret("x" * 5001, scope=scope)]))
        elif MODE == "list-expiry-range":
            self.answer(200, listing([dict(one, expires_at=10 ** 15)]))
        elif MODE == "list-expiry-string":
            self.answer(200, listing([dict(one, expires_at="2099-01-01")]))
        elif MODE == "list-duplicate-key":
            text = json.dumps(listing([one]))
            self.raw(200, text.replace('"name": "one"', '"name": "someone_else", "name": "one"').encode())
        elif MODE == "list-payload":
            self.answer(200, listing([dict(one, payload=PAYLOAD)]))
        elif MODE == "list-big-page":
            self.answer(200, listing([secret(f"n{i}", id=f"appsecret_Big{i}", scope=scope) for i in range(150)]))
        elif MODE == "list-huge":
            self.answer(200, listing([dict(one, padding="x" * (9 << 20))]))
        elif MODE == "list-403":
            self.answer(403, {"error": {"type": "invalid_request_error", "message": "This key may not list."}})
        elif MODE == "list-error-lines":
            self.answer(400, {"error": {"type": "invalid_request_error", "message":
                                        "bad\n\nNo changes. 1 secret matches secrets.state.json.",
                                        "param": "scope\nPlan: 0 to create"}})
        else:
            self.answer(200, listing([one]))

    def find(self, query, scope):
        name = query.get("name", "")
        found = dict(secret(name, scope=scope), payload=PAYLOAD)
        if MODE == "find-echo":
            self.answer(400, {"error": {"type": "invalid_request_error", "code": "parameter_invalid_string",
                                        "message": f"Invalid payload {PAYLOAD}: too long",
                                        "param": f"payload[{PAYLOAD}]"}})
        elif MODE == "find-other-name":
            self.answer(200, dict(found, name="someone_elses_secret"))
        elif MODE == "find-wrong-type":
            self.answer(200, dict(found, payload=1234567))
        elif MODE == "find-403":
            self.answer(403, {"error": {"type": "invalid_request_error", "message": "This key may not read values."}})
        else:
            self.answer(200, found)

    def do_POST(self):
        self.count(post=True)
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
        else:
            self.answer(400, {"error": {"type": "invalid_request_error", "message": "this server only reads"}})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Timer(120, server.shutdown).start()
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()

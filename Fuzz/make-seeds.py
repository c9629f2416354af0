#!/usr/bin/env python3
"""Writes the seeds that no test fixture provides: state documents (a stored key, a kept-apart
key), a plan whose texts hold every character its writer escapes, journals whose codes verify with the seed key (bytes 0x01..0x20, as Fuzz/Targets/Support.swift
says), and emulator request runs. Run once; the output is committed under Fuzz/Seeds."""
import base64, hashlib, hmac, json, os, struct

KEY = bytes(range(1, 33))
HERE = os.path.dirname(os.path.abspath(__file__))


def code(parts):
    mac = hmac.new(KEY, digestmod=hashlib.sha256)
    for part in parts:
        data = part.encode()
        mac.update(struct.pack(">Q", len(data)) + data)
    return mac.hexdigest()


def write(target, name, data):
    folder = os.path.join(HERE, "Seeds", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def document(value):
    return json.dumps(value, indent=2, sort_keys=True, separators=(",", " : ")) + "\n"


secrets = [
    {"address": "account/openai_api_key", "applied_at": "2026-01-02T03:04:05Z", "id": "appsecret_61Sx1", "fingerprint": "ab" * 32},
    {"address": "acct_A1/user:usr_B2/nested/name", "applied_at": "2026-01-02T03:04:05Z", "id": "appsecret_61Sx2",
     "expires_at": 4102444800, "protected_since": 2},
    {"address": "account/imported", "applied_at": "2026-01-02T03:04:05Z", "id": "appsecret_61Sx3"},
]
state = {"format": "stripe-secrets-state", "format_version": 1, "lineage": "0f8fad5b-d9cb-469f-a165-70867728950e",
         "serial": 3, "mode": "test", "secrets": secrets}
write("state", "stored-key.json", document(dict(state, fingerprint_key=base64.b64encode(KEY).decode())))
write("state", "kept-apart.json", document(dict(state, fingerprint_key_id=code(["stripe-secrets fingerprint key identifier", "1"]))))
write("state", "empty.json", document({"format": "stripe-secrets-state", "format_version": 1, "lineage": "a", "serial": 0,
                                       "fingerprint_key": base64.b64encode(KEY).decode(), "secrets": []}))

# The golden plan with its placeholders filled and every C0 control, DEL, quote, backslash and a
# few invisible characters added to its sources and details: what the plan writer must escape
# exactly as JSONEncoder does.
with open(os.path.join(HERE, "..", "Tests", "CLITests", "Golden", "plan.json")) as golden:
    plan = json.loads(golden.read().replace('"(now)"', '"2026-12-01T00:00:00Z"'))
escaped = "".join(map(chr, range(0x20))) + "\x7f\"\\/\u0085\u2028\u2029\ufeff\u200b\U0010ffff"


def add_escapes(node):
    for key, value in node.items() if isinstance(node, dict) else enumerate(node):
        if key in ("env", "file", "detail") and isinstance(value, str):
            node[key] = value + escaped
        elif isinstance(value, (dict, list)):
            add_escapes(value)


add_escapes(plan)
write("plan", "escapes.plan.json", json.dumps(plan, indent=2, sort_keys=True, separators=(",", " : "), ensure_ascii=False) + "\n")

lineage, serial, run = "0f8fad5b-d9cb-469f-a165-70867728950e", 3, "00112233445566778899aabbccddeeff"
calls = [("create", "account/new_key", "cd" * 32, 4102444800), ("replace", "account/openai_api_key", "ef" * 32, None),
         ("delete", "account/old_key", None, None)]
header_parts = ["stripe-secrets journal header", lineage, str(serial), "test", run]
header_calls = []
for action, address, fingerprint, expires in calls:
    header_parts += [action, address, fingerprint or "", "" if expires is None else str(expires)]
    call = {"action": action, "address": address}
    if fingerprint: call["fingerprint"] = fingerprint
    if expires is not None: call["expires_at"] = expires
    header_calls.append(call)
header = {"lineage": lineage, "serial": serial, "mode": "test", "run": run, "calls": header_calls, "code": code(header_parts)}
entries = []
for i, (action, address, fingerprint, expires) in enumerate(calls):
    ident = None if action == "delete" else f"appsecret_J{i}"
    entry = {"action": action, "address": address, "applied_at": 1767323045 + i}
    if ident: entry["id"] = ident
    if fingerprint: entry["fingerprint"] = fingerprint
    if expires is not None: entry["expires_at"] = expires
    entry["code"] = code(["stripe-secrets journal entry", run, action, address, ident or "", fingerprint or "",
                          "" if expires is None else str(expires), str(entry["applied_at"])])
    entries.append(entry)
line = lambda value: json.dumps(value, sort_keys=True, separators=(",", ":"))
write("journal", "pending", "\n".join([line(header)] + [line(e) for e in entries]) + "\n")
write("journal", "header-only", line(header) + "\n")

auth = "Authorization: Bearer sk_test_fake0123456789abcdef"
requests = [
    f"POST /v1/apps/secrets\n{auth}\nIdempotency-Key: k1\n\nname=openai_api_key&payload=fake%20value&scope[type]=account",
    f"GET /v1/apps/secrets/find?name=openai_api_key&scope%5Btype%5D=account&expand[]=payload\n{auth}\n\n",
    f"GET /v1/apps/secrets?scope[type]=account&limit=2&expand[0]=data.payload\n{auth}\n\n",
    f"POST /v1/apps/secrets/delete\n{auth}\nStripe-Account: acct_A1\n\nname=x&scope[type]=user&scope[user]=usr_B2",
    "POST /v1/apps/secrets\nAuthorization: Basic c2tfdGVzdF9mYWtlMTIzOg==\n\nname=n&payload=p&scope[type]=account&expires_at=4102444800",
]
write("emulator", "one-of-each", "\0".join(requests))
write("emulator", "idempotent-replay", "\0".join([requests[0], requests[0], requests[0].replace("fake%20value", "other")]))

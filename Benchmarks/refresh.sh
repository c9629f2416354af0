#!/usr/bin/env bash
# What a refresh costs: `plan` offline, `plan --refresh` and `plan --refresh-values` against the
# emulator, over a manifest of SECRETS secrets, 10 in each connected account (so SECRETS / 10
# scopes), all applied and unchanged. Requests are counted at the emulator; times by hyperfine.
# Usage: Benchmarks/refresh.sh [SECRETS]   (default 1000; results go in docs/performance.md)
# The emulator and the client run at --rate-limit 1000: Stripe's own limit (25/s test, 100/s live)
# makes a refresh of N requests take at least N/25 or N/100 seconds, whatever the tool does.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
work=$(mktemp -d /tmp/stripe-secrets-bench-XXXXXX)
trap 'kill "${emulator:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

swift build -c release --product stripe-secrets >/dev/null 2>&1
tool=$PWD/.build/release/stripe-secrets
python3 - "$count" > "$work/secrets.yaml" <<'PY'
import sys
count = int(sys.argv[1])
print("version: 1\nsecrets:")
for index in range(count):
    print(f"  - name: secret_{index % 10}\n    account: acct_1Bench{index // 10}\n    value: {{env: VALUE}}")
PY
"$tool" emulator --port 0 --rate-limit 1000 > "$work/emulator.log" 2>&1 &
emulator=$!
for _ in $(seq 100); do grep -q '^listening on ' "$work/emulator.log" && break; sleep 0.1; done
export STRIPE_API_BASE STRIPE_API_KEY=sk_test_benchmark000000 VALUE=benchmark-value
STRIPE_API_BASE=$(sed -n 's/^listening on //p' "$work/emulator.log")
cd "$work"
"$tool" apply --auto-approve --rate-limit 1000 > /dev/null
requests() { curl -s "$STRIPE_API_BASE/_emulator/stats" | sed 's/.*"requests":\([0-9]*\).*/\1/'; }
for flags in "" "--refresh" "--refresh-values"; do
    before=$(requests)
    # shellcheck disable=SC2086 # flags is one word or none
    "$tool" plan $flags --rate-limit 1000 > /dev/null
    echo "plan $flags: $(( $(requests) - before )) requests for $count secrets in $((count / 10)) scopes"
done
hyperfine -N --warmup 1 --runs 5 \
    "$tool plan --rate-limit 1000" "$tool plan --refresh --rate-limit 1000" \
    "$tool plan --refresh-values --rate-limit 1000"

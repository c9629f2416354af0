#!/usr/bin/env bash
# The main job end to end, with no Stripe account: build, start the bundled Secret Store
# emulator on a free port, validate, plan, apply, plan again (no changes), change a value,
# plan (one replace), apply it, and stop the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
swift build --product stripe-secrets >/dev/null
bin=$(swift build --show-bin-path)/stripe-secrets
step() { printf '\n$ stripe-secrets %s\n' "$*"; }

# Work on a copy, so the example folder stays clean.
work=$(mktemp -d)
emulator_pid=""
cleanup() {
    [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cp -R examples/basic/. "$work"

# The emulator prints `listening on http://HOST:PORT` first; that is where the API is.
"$bin" emulator --port 0 > "$work/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do grep -q '^listening on ' "$work/emulator.log" && break; sleep 0.1; done
export STRIPE_API_BASE
STRIPE_API_BASE=$(sed -n 's/^listening on //p' "$work/emulator.log")
export STRIPE_API_KEY=sk_test_quickstart0000000000   # any well-formed test key; no account needed
echo "emulator: $STRIPE_API_BASE"

cd "$work"
step validate
"$bin" validate
step plan --out plan.json
"$bin" plan --out plan.json
step apply plan.json
"$bin" apply plan.json
step plan "   # again: nothing to do"
"$bin" plan
step apply --auto-approve "   # makes no request at all"
before=$(curl -s "$STRIPE_API_BASE/_emulator/stats")
"$bin" apply --auto-approve
after=$(curl -s "$STRIPE_API_BASE/_emulator/stats")
echo "emulator requests before and after: $before $after"
[ "$before" = "$after" ] || { echo "error: a no-change apply sent requests" >&2; exit 1; }

printf 'a-rotated-demo-key\n' > values/openai_api_key.txt
step plan --out plan.json "   # after rotating one value"
"$bin" plan --out plan.json
step apply plan.json
"$bin" apply plan.json
step state list
"$bin" state list
echo
echo "quickstart finished"

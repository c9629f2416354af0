#!/usr/bin/env bash
# The main job end to end, with no Stripe account: build, start the bundled Secret Store
# emulator on a free port, validate, plan, apply, plan again (no changes), change a value,
# plan (one replace), apply it, and stop the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
# The first build compiles the dependencies too: several minutes on a small machine. Every 25th of
# SwiftPM's progress lines ("[312/1024] Compiling …") shows that it is moving, and every error.
if [ -x "$(swift build --show-bin-path)/stripe-secrets" ]; then
    echo "building stripe-secrets (when nothing changed, this takes seconds)"
else
    echo "building stripe-secrets: the first build also compiles its dependencies and takes several minutes"
fi
progress() {
    local count=0 line
    while IFS= read -r line; do
        case "$line" in
            "["[0-9]*"/"[0-9]*"]"*) count=$((count + 1)); [ $((count % 25)) -eq 1 ] && echo "  $line" ;;
            *error:*) echo "$line" ;;
        esac
    done
    return 0
}
start=$SECONDS
set +e
swift build --product stripe-secrets 2>&1 | progress
built=${PIPESTATUS[0]}
set -e
[ "$built" -eq 0 ] || { echo "error: the build failed (exit $built); run swift build to see every line" >&2; exit 1; }
echo "built in $((SECONDS - start))s"
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

#!/usr/bin/env bash
# Checks a packed release as a pipeline would use it: verifies its SHA-256, unpacks it into an
# empty folder, and runs the quickstart's flow with that binary alone, under an environment with
# nothing but PATH=/usr/bin:/bin (no Swift, no HOME): the bundled emulator, validate, plan, apply,
# a second apply that makes no request, a rotated value planned and applied; and that the binary
# exports no Swift symbols.
# Usage: scripts/check-release.sh dist/stripe-secrets-VERSION-linux-ARCH.tar.gz
set -euo pipefail
archive=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
repository=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
emulator=""
trap '[ -z "$emulator" ] || kill "$emulator" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$(dirname "$archive")" && sha256sum --check --quiet "$(basename "$archive").sha256")
mkdir "$work/unpacked" "$work/project"
tar -C "$work/unpacked" -xzf "$archive"
bin=$(ls -d "$work"/unpacked/stripe-secrets-*/stripe-secrets)
cp -R "$repository/examples/basic/." "$work/project"
run() { (cd "$work/project" && env -i PATH=/usr/bin:/bin "$@"); }

run "$bin" --version
# Release builds export no Swift symbols (Package.swift): 40,000 cost every start 1.4 ms.
exported=$(readelf --dyn-syms --wide "$bin" | grep -c ' \$s' || true)
[ "$exported" -eq 0 ] || { echo "error: the binary exports $exported Swift symbols (--no-export-dynamic lost?)" >&2; exit 1; }
# exec, so that $! is the emulator itself (killing a subshell would leave it running).
(cd "$work/project" && exec env -i PATH=/usr/bin:/bin "$bin" emulator --port 0) > "$work/emulator.log" 2>&1 &
emulator=$!
for _ in $(seq 100); do grep -q '^listening on ' "$work/emulator.log" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/emulator.log")
[ -n "$base" ] || { echo "error: the release's emulator did not start" >&2; cat "$work/emulator.log" >&2; exit 1; }
api=(STRIPE_API_BASE="$base" STRIPE_API_KEY=sk_test_release0000000000)
run "$bin" validate
run "$bin" plan --out plan.json > /dev/null
run "${api[@]}" "$bin" apply plan.json | tail -1
before=$(curl -s "$base/_emulator/stats" | sed 's/"secrets".*//')
run "${api[@]}" "$bin" apply --auto-approve
after=$(curl -s "$base/_emulator/stats" | sed 's/"secrets".*//')
[ "$before" = "$after" ] || { echo "error: a no-change apply sent requests ($before, then $after)" >&2; exit 1; }
printf 'a-rotated-demo-key\n' > "$work/project/values/openai_api_key.txt"
run "$bin" plan --out plan.json | grep -q '1 to replace' \
    || { echo "error: the rotated value is not planned as one replace" >&2; exit 1; }
run "${api[@]}" "$bin" apply plan.json | tail -1
echo "release check passed: $(basename "$archive") runs the quickstart flow with only PATH=/usr/bin:/bin"

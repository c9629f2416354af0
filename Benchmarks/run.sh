#!/usr/bin/env bash
# Manifest loading against its floor: a plain C program that only scans libyaml's events.
# Usage: Benchmarks/run.sh [SECRETS]   (default 10000; results go in docs/performance.md)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$count" > "$work/manifest.yaml" <<'PY'
import sys
count = int(sys.argv[1])
print("version: 1\nsecrets:")
for i in range(count):
    print(f"  - name: secret_{i:06d}")
    print(f"    account: acct_{i // 10:05d}Bench")       # 10 per scope: Stripe's cap
    print(f"    value: {{env: KEY_{i % 7}}}")
    if i % 3 == 0:
        print("    expires_at: 2099-06-30T00:00:00Z")
PY

cc -O2 Benchmarks/libyaml-event-scan.c $(pkg-config --cflags --libs yaml-0.1) -o "$work/scan"
swift build -c release --product manifest-load-benchmark >/dev/null
echo "$(wc -c < "$work/manifest.yaml") bytes, $count secrets"
"$work/scan" "$work/manifest.yaml"
.build/release/manifest-load-benchmark "$work/manifest.yaml"

#!/usr/bin/env bash
# What a refresh costs: `plan` offline, `plan --refresh` and `plan --refresh-values` against the
# emulator, over a manifest of SECRETS secrets (Benchmarks/generate.py), all applied and
# unchanged. Requests are counted at the emulator; times by hyperfine.
# Usage: Benchmarks/refresh.sh [SECRETS]   (default 1000; results go in docs/performance.md)
# The emulator and the client run at --rate-limit 1000: Stripe's own limit (25/s test, 100/s live)
# makes a refresh of N requests take at least N/25 or N/100 seconds, whatever the tool does.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
# shellcheck source=Benchmarks/common.sh
source Benchmarks/common.sh

python3 Benchmarks/generate.py "$count" "$work"
start_emulator emulator --rate-limit 1000
cd "$work"
"$tool" apply --auto-approve --rate-limit 1000 > /dev/null
for flags in "" "--refresh" "--refresh-values"; do
    before=$(emulator_stat requests)
    # shellcheck disable=SC2086 # flags is one word or none
    "$tool" plan $flags --rate-limit 1000 > /dev/null
    echo "plan $flags: $(( $(emulator_stat requests) - before )) requests for $count secrets"
done
hyperfine -N --warmup 1 --runs 5 \
    "$tool plan --rate-limit 1000" "$tool plan --refresh --rate-limit 1000" \
    "$tool plan --refresh-values --rate-limit 1000"

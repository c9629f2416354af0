#!/usr/bin/env bash
# `plan` against a PostgreSQL state against the same plan against a file state.
# Usage: Benchmarks/state-backends.sh [SECRETS]   (default 10000; results go in docs/performance.md)
#
# Builds the release binary, generates a manifest (Benchmarks/generate.py), applies it to the
# emulator with a file state, pushes that state into a private PostgreSQL cluster started here,
# then times `plan` against each with hyperfine. Both plans find every secret unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10000}
# shellcheck source=Benchmarks/common.sh
source Benchmarks/common.sh

swift build -c release --static-swift-stdlib --product stripe-secrets >/dev/null 2>&1
tool=$(swift build -c release --show-bin-path)/stripe-secrets
python3 Benchmarks/generate.py "$count" "$work"
export BENCH_VALUE_0=v0 BENCH_VALUE_1=v1 BENCH_VALUE_2=v2 BENCH_VALUE_3=v3 BENCH_VALUE_4=v4 \
    BENCH_VALUE_5=v5 BENCH_VALUE_6=v6 STRIPE_API_KEY=sk_test_bench
start_emulator emulator --rate-limit 1000
(cd "$work" && "$tool" apply --auto-approve --rate-limit 1000 --parallelism 32 > /dev/null)
stop_emulator
start_postgres
(cd "$work" && STRIPE_SECRETS_STATE=$postgres_url "$tool" state push secrets.state.json > /dev/null)

echo "$count secrets; state document $(wc -c < "$work/secrets.state.json") bytes"
cd "$work"
hyperfine -N --warmup 2 -r 15 \
    -n "plan, file state" "$tool plan --state secrets.state.json --detailed-exitcode" \
    -n "plan, PostgreSQL state" "$tool plan --state $postgres_url --detailed-exitcode"

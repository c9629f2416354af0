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

python3 Benchmarks/generate.py "$count" "$work"
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

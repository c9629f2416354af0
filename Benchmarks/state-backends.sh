#!/usr/bin/env bash
# `plan` against a PostgreSQL state against the same plan against a file state.
# Usage: Benchmarks/state-backends.sh [SECRETS]   (default 10000; results go in docs/performance.md)
#
# Builds the release binary, generates a manifest (10 secrets per connected account), applies it
# to the emulator with a file state, pushes that state into a private PostgreSQL cluster started
# here (Debian's postgresql package; as the postgres user when run as root), then times `plan`
# against each with hyperfine. Both plans find every secret unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10000}
work=$(mktemp -d /tmp/stripe-secrets-bench-XXXXXX)
chmod 755 "$work"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_server=()
[ "$(id -u)" -eq 0 ] && as_server=(runuser -u postgres --)
cleanup() {
    [ -f "$work/pg/data/postmaster.pid" ] && "${as_server[@]}" "$bin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1
    kill "${emulator:-0}" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

swift build -c release --product stripe-secrets >/dev/null 2>&1
tool=$PWD/.build/release/stripe-secrets

python3 - "$count" > "$work/secrets.yaml" <<'PY'
import sys
count = int(sys.argv[1])
print("version: 1\nsecrets:")
for i in range(count):
    print(f"  - name: secret_{i:06d}")
    print(f"    account: acct_{i // 10:05d}Bench")
    print("    value: {env: BENCH_VALUE}")
PY

# The file state: applied for real, so that every secret is unchanged afterwards.
"$tool" emulator --port 0 > "$work/emulator.out" &
emulator=$!
until grep -q listening "$work/emulator.out" 2>/dev/null; do sleep 0.1; done
export STRIPE_API_BASE=$(sed -n 's/^listening on //p' "$work/emulator.out")
export STRIPE_API_KEY=sk_test_bench BENCH_VALUE=bench-value
(cd "$work" && "$tool" apply --auto-approve --rate-limit 1000 --parallelism 32 > /dev/null)

# A private PostgreSQL cluster on a free loopback port.
mkdir -p "$work/pg" && [ ${#as_server[@]} -eq 0 ] || chown postgres "$work/pg"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_server[@]}" "$bin/initdb" -D "$work/pg/data" --auth=trust --username=postgres --no-sync >/dev/null
"${as_server[@]}" "$bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $work/pg" >/dev/null
export STRIPE_SECRETS_STATE="postgres://postgres@127.0.0.1:$port/postgres"
(cd "$work" && "$tool" state push secrets.state.json > /dev/null)

echo "$count secrets; state document $(wc -c < "$work/secrets.state.json") bytes"
cd "$work"
hyperfine -N --warmup 2 -r 15 \
    -n "plan, file state" "$tool plan --state secrets.state.json --detailed-exitcode" \
    -n "plan, PostgreSQL state" "$tool plan --detailed-exitcode"

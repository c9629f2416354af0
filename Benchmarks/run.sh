#!/usr/bin/env bash
# Every speed goal in one run, one table: whole processes of the release binary (built as
# scripts/release.sh and the README build it, --static-swift-stdlib) against a C program that only
# scans the same manifest's libyaml events, or against a `swiftc -O` hello world, run alternately.
# Usage: Benchmarks/run.sh [RUNS]   (default 7; about four minutes on 2 cores; docs/performance.md)
#
# Rows: in-process manifest load; `validate --skip-values` at 10,000; `plan` with a full state at
# 1,000, 10,000 (text, JSON, PostgreSQL state, and a no-op `apply`) and 100,000; `plan` at 100,000
# with no state (and its peak memory); `--version`; 1,000 creates at a 100/s emulator limit
# against the 10 s floor.
# Manifests come from Benchmarks/generate.py (user scopes, fan-outs, expiries, files, variables).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
root=$PWD
echo "building (release, static Swift runtime)..." >&2
# shellcheck source=Benchmarks/common.sh
source Benchmarks/common.sh

swift build -c release --static-swift-stdlib --product manifest-load-benchmark >/dev/null 2>&1
loader=$(swift build -c release --show-bin-path)/manifest-load-benchmark
# shellcheck disable=SC2046 # pkg-config prints several flags
cc -O2 Benchmarks/libyaml-event-scan.c $(pkg-config --cflags --libs yaml-0.1) -o "$work/scan"
echo 'print("hello, world")' > "$work/hello.swift"
swiftc -O "$work/hello.swift" -o "$work/hello"

# Manifests with the full state an apply would leave (generate.py --state writes it, and the
# plans below check it: they must find nothing to change), and one without, for the creates.
for count in 1000 10000 100000; do
    python3 Benchmarks/generate.py "$count" "$work/m$count" --state
done
python3 Benchmarks/generate.py 1000 "$work/creates"
unset STRIPE_SECRETS_STATE
for count in 1000 10000 100000; do
    (cd "$work/m$count" && "$tool" plan --detailed-exitcode >/dev/null) \
        || { echo "error: the generated $count-secret state does not match its manifest" >&2; exit 1; }
done

echo "a no-op apply of 10,000 secrets against the emulator..." >&2
start_emulator fast --rate-limit 1000
(cd "$work/m10000" && "$tool" apply --auto-approve --rate-limit 1000 >/dev/null)
noop_requests=$(emulator_stat requests)
stop_emulator
start_postgres
(cd "$work/m10000" && STRIPE_SECRETS_STATE=$postgres_url "$tool" state push secrets.state.json >/dev/null)

echo "1,000 creates at the emulator's --latency 50ms --rate-limit 100..." >&2
start_emulator paced --latency 50ms --rate-limit 100
apply_start=$(date +%s.%N)
(cd "$work/creates" && "$tool" apply --auto-approve --rate-limit 100 >/dev/null)
apply_seconds=$(python3 -c "print(round($(date +%s.%N) - $apply_start, 2))")
paced_requests=$(emulator_stat requests)
paced_limited=$(emulator_stat rate_limited)
stop_emulator
paced_ratio=$(python3 -c "print(round($apply_seconds / 10, 3))")
paced_verdict=$(python3 -c "print('pass' if $paced_ratio <= 1.15 and $paced_limited == 0 else 'fail')")
noop_verdict=$([ "$noop_requests" -eq 0 ] && echo pass || echo fail)

echo "machine: $(nproc) cores, $(uname -sr), $(swift --version 2>&1 | head -1)"
echo "manifests: $(for c in 1000 10000 100000; do printf '%s secrets %s bytes; ' "$c" "$(wc -c < "$work/m$c/secrets.yaml")"; done)"
echo "full states: $(for c in 1000 10000 100000; do printf '%s secrets %s bytes; ' "$c" "$(wc -c < "$work/m$c/secrets.state.json")"; done)"
"$loader" "$work/m10000/secrets.yaml"
"$work/scan" --best-of 15 "$work/m10000/secrets.yaml"
echo
cd "$work/m10000"
status=0
python3 "$root/Benchmarks/measure.py" --runs "$runs" \
    --row "validate --skip-values, 10,000|2.0|$tool validate --skip-values|$work/scan secrets.yaml" \
    --row "plan, 1,000, full state, text|3.0|$tool plan -f ../m1000/secrets.yaml --detailed-exitcode|$work/scan ../m1000/secrets.yaml" \
    --row "plan, 10,000, full state, text|3.0|$tool plan --detailed-exitcode|$work/scan secrets.yaml" \
    --row "plan --format json, same|3.5|$tool plan --format json --detailed-exitcode|$work/scan secrets.yaml" \
    --row "plan, PostgreSQL state vs file state|1.5|$tool plan --state $postgres_url|$tool plan" \
    --row "no-op apply vs plan, 10,000 unchanged|1.1|$tool apply --auto-approve|$tool plan" \
    --row "plan, 100,000, full state, text|3.0|$tool plan -f ../m100000/secrets.yaml --detailed-exitcode|$work/scan ../m100000/secrets.yaml|-" \
    --row "plan, 100,000, no state|3.0|$tool plan -f ../m100000/secrets.yaml --state ../none.json --detailed-exitcode|$work/scan ../m100000/secrets.yaml|100" \
    --row "--version vs hello world|2.0|$tool --version|$work/hello" \
    --fixed "no-op apply requests|$noop_requests|0|-|0 requests|$noop_verdict" \
    --fixed "1,000 creates, --rate-limit 100|${apply_seconds} s, $paced_requests requests, $paced_limited 429s|10 s floor|${paced_ratio}x|≤ 1.15x, no 429|$paced_verdict" \
    || status=$?
exit "$status"

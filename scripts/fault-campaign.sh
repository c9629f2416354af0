#!/usr/bin/env bash
# Fault campaign: applies of CHANGES changes against an emulator that fails and drops requests,
# then check convergence, idempotency and that the state records exactly what Stripe holds.
# Results go in docs/reliability.md.
#
# Usage: scripts/fault-campaign.sh [CHANGES] [SEED] [--backend file|postgres|both] [--release]
#          [--fail-rate F] [--drop-rate D]
#   CHANGES (default 240) secrets are created, then about as many changes are made again (60 %
#   replaced, 20 % deleted, as many new ones created), each round applied until it succeeds
#   (at most 8 applies), against `emulator --fail-rate 0.2 --drop-rate 0.05 --latency 5ms`.
#   SEED (default: random) picks the second round's changes and is printed.
#
# After each apply: no POST without an Idempotency-Key, no key reused with other parameters
# (the emulator counts both), and the state and the emulator disagree on at most the changes the
# apply reported failed (a call carried out whose every answer was lost). After each round: the
# emulator holds exactly the manifest, with the ids the state records and the values its
# fingerprints say (`plan --refresh-values`). Exits 1 on any violation.
set -euo pipefail
changes=240 seed=$((RANDOM * 32768 + RANDOM)) backends="file postgres" release=0 positional=0
fail_rate=0.2 drop_rate=0.05
while [ $# -gt 0 ]; do
    case $1 in
        --backend) [ "$2" = both ] && backends="file postgres" || backends=$2; shift ;;
        --release) release=1 ;;
        --fail-rate) fail_rate=$2; shift ;;
        --drop-rate) drop_rate=$2; shift ;;
        *) if [ $positional = 0 ]; then changes=$1; else seed=$1; fi; positional=$((positional + 1)) ;;
    esac
    shift
done
source "$(dirname "$0")/campaign-lib.sh"
campaign_init
echo "fault campaign: $changes changes per round, --fail-rate $fail_rate --drop-rate $drop_rate, seed $seed ($backends), binary $tool"

fail() {
    echo "VIOLATION ($backend, round $round, apply $attempt; replay: $0 $changes $seed --backend $backend): $*" >&2
    keep_work=1
    exit 1
}

started=$SECONDS
summary=()
for backend in $backends; do
    [ "$backend" = postgres ] && start_postgres
    start_emulator --fail-rate "$fail_rate" --drop-rate "$drop_rate" --latency 5ms
    folder=$work/$backend
    mkdir -p "$folder"
    use_backend "$backend" "$folder"
    seq 0 $((changes - 1)) | sed 's/$/ 1/' > "$folder/present"
    applies=0 planned=0 round_started=$SECONDS
    for round in 1 2; do
        if [ $round = 2 ]; then
            python3 - "$seed" "$changes" "$folder/present" <<'PY'
import random, sys
seed, changes, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
with open(path, "w") as out:
    for index in range(changes):
        draw = rng.random()
        if draw < 0.2: continue                      # deleted
        out.write(f"{index} {2 if draw < 0.8 else 1}\n")  # replaced, or left alone
    for index in range(changes, changes + changes // 5):
        out.write(f"{index} 1\n")                     # created
PY
        fi
        write_manifest "$folder" "$folder/present"
        count=$( (cd "$folder" && "$tool" plan) |
            sed -n 's/^Plan: \([0-9]*\) to create, \([0-9]*\) to replace, \([0-9]*\) to delete.*/\1 \2 \3/p' |
            awk '{print $1 + $2 + $3}')
        planned=$((planned + count))
        attempt=0
        while true; do
            attempt=$((attempt + 1))
            applies=$((applies + 1))
            [ $attempt -le 8 ] || fail "not converged after 8 applies"
            status=0
            (cd "$folder" && "$tool" apply --auto-approve > "$folder/apply.out" 2>&1) || status=$?
            failed=$(sed -n 's/^Apply finished: .* \([0-9]*\) failed\..*/\1/p' "$folder/apply.out" | head -1)
            failed=${failed:-0}
            [ $status = 0 ] || [ "$failed" -gt 0 ] || fail "apply failed (status $status): $(tail -3 "$folder/apply.out")"
            stats=$(emulator_stats)
            [ "$(echo "$stats" | jq '.idempotency.violations')" = 0 ] || fail "an idempotency key was reused with other parameters"
            [ "$(echo "$stats" | jq '.idempotency.keyless_posts')" = 0 ] || fail "a POST carried no Idempotency-Key"
            read -r disagreements _ < <(compare_state "$folder")
            [ "$disagreements" -le "$failed" ] ||
                fail "$disagreements addresses differ between the state and the emulator, but only $failed changes failed"
            [ $status = 0 ] && break
        done
        converged "$folder" || fail "round $round: not converged"
    done
    stats=$(emulator_stats)
    line="$backend: $planned changes in 2 rounds, $applies applies; $(echo "$stats" | jq -r '"\(.requests) requests, \(.faults.failed) answered 500/429 and \(.faults.dropped) dropped after running (injected), \(.idempotency.keyed_posts) keyed POSTs, \(.idempotency.replays) replayed, \(.idempotency.violations) keys reused with other parameters, \(.idempotency.keyless_posts) POSTs without a key"'); $(( SECONDS - round_started )) s; converged, nothing lost"
    echo "$line"
    summary+=("$line")
    stop_emulator
    [ "$backend" = postgres ] && stop_postgres
done
echo "fault campaign passed (seed $seed, $((SECONDS - started)) s): ${summary[*]}"

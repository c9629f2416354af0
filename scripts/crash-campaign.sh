#!/usr/bin/env bash
# Crash campaign: kill -9 an apply at random moments and at named points of the state write,
# then check that nothing was lost. Results go in docs/reliability.md.
#
# Usage: scripts/crash-campaign.sh [TRIALS] [SEED] [--backend file|postgres|both] [--release]
#   TRIALS per backend (default 100): even trials are killed at a random moment of the run (the
#   emulator answers after 50 ms, so most kills land mid-run), odd ones at a crash point of the
#   debug build's test hook (STRIPE_SECRETS_TEST_CRASH_AT): after a journal entry, before the
#   fold, and for a file state before and after the rename and before the journal's removal,
#   for a database state inside the fold's transaction. SEED (default: random) is printed; the
#   same seed replays the same manifests, kill delays and crash points.
#
# After each kill: the state reads (`state list`, journal folded), no lock is held, the state
# and the emulator disagree on at most the calls in flight (--parallelism), the next apply
# (--lock-timeout 0s) succeeds, and then the emulator holds exactly the manifest, every id as
# the state records it and every value as its fingerprint says (`plan --refresh-values`).
# Exits 1 on the first violation, with the trial and seed to replay it.
set -euo pipefail
trials=100 seed=$((RANDOM * 32768 + RANDOM)) backends="file postgres" release=0 positional=0
while [ $# -gt 0 ]; do
    case $1 in
        --backend) [ "$2" = both ] && backends="file postgres" || backends=$2; shift ;;
        --release) release=1 ;;
        *) if [ $positional = 0 ]; then trials=$1; else seed=$1; fi; positional=$((positional + 1)) ;;
    esac
    shift
done
source "$(dirname "$0")/campaign-lib.sh"
campaign_init
parallelism=8
universe=60
echo "crash campaign: $trials trials per backend ($backends), seed $seed, binary $tool"

fail() {
    echo "VIOLATION ($backend, trial $trial, $how; replay: $0 $trials $seed --backend $backend): $*" >&2
    keep_work=1
    exit 1
}

started=$SECONDS
summary=()
for backend in $backends; do
    RANDOM=$seed
    [ "$backend" = postgres ] && start_postgres
    start_emulator --latency 50ms
    folder=$work/$backend
    mkdir -p "$folder"
    use_backend "$backend" "$folder"
    if [ "$backend" = postgres ]; then
        points=(journal-appended before-fold fold-uncommitted)
    else
        points=(journal-appended before-fold before-rename after-rename folded)
    fi
    : > "$folder/present"
    midrun=0 completed=0 hooked=0 changes=0 resumed_changes=0
    for trial in $(seq 1 "$trials"); do
        # The next manifest: each secret present with probability 0.8, its value changed with 0.3.
        python3 - "$seed" "$trial" "$universe" "$folder/present" <<'PY'
import random, sys
seed, trial, universe, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(seed * 100003 + trial)
old = dict(line.split() for line in open(path).read().splitlines())
with open(path, "w") as out:
    for index in range(universe):
        if rng.random() < 0.8:
            version = int(old.get(str(index), 0)) + (1 if rng.random() < 0.3 or str(index) not in old else 0)
            out.write(f"{index} {version}\n")
PY
        write_manifest "$folder" "$folder/present"
        planned=$( (cd "$folder" && "$tool" plan) | sed -n 's/^Plan: \([0-9]*\) to create, \([0-9]*\) to replace, \([0-9]*\) to delete.*/\1 \2 \3/p')
        count=$(echo "$planned" | awk '{print $1 + $2 + $3}')
        changes=$((changes + count))
        crash_env=()
        if [ $((trial % 2)) = 0 ]; then
            delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.02 + (r / 32767) * 1.2 }')
            how="kill -9 after ${delay}s"
        else
            point=${points[$((RANDOM % ${#points[@]}))]}
            [ "$point" = journal-appended ] && point="$point:$((RANDOM % (count > 0 ? count : 1) + 1))"
            how="crash at $point"
            crash_env=(env "STRIPE_SECRETS_TEST_CRASH_AT=$point")
        fi
        (cd "$folder" && exec "${crash_env[@]}" "$tool" apply --auto-approve --parallelism $parallelism) \
            > "$folder/apply.out" 2>&1 &
        pid=$!
        if [ ${#crash_env[@]} -eq 0 ]; then
            sleep "$delay"
            kill -9 "$pid" 2>/dev/null || true
        fi
        status=0
        { wait "$pid"; } 2>/dev/null || status=$?
        case $status in
            137) if [ ${#crash_env[@]} -eq 0 ]; then midrun=$((midrun + 1)); else hooked=$((hooked + 1)); fi ;;
            0) completed=$((completed + 1)) ;;
            *) fail "the apply failed (status $status) before any kill: $(tail -3 "$folder/apply.out")" ;;
        esac

        # Right after the kill: readable, unlocked, and behind Stripe by at most the calls in flight.
        (cd "$folder" && "$tool" state list > /dev/null 2> "$folder/list.err") ||
            fail "the state does not read: $(cat "$folder/list.err")"
        lock_is_free || fail "a lock is still held"
        read -r disagreements _ < <(compare_state "$folder")
        [ "$disagreements" -le $parallelism ] ||
            fail "$disagreements addresses differ between the state and the emulator (more than the $parallelism in flight)"

        # The next apply finishes the rest, and then everything agrees.
        (cd "$folder" && "$tool" apply --auto-approve --lock-timeout 0s > "$folder/resume.out" 2>&1) ||
            fail "the next apply failed: $(tail -5 "$folder/resume.out")"
        resumed_changes=$((resumed_changes + $(sed -n 's/^Apply finished: \([0-9]*\) of.*/\1/p' "$folder/resume.out" | head -1 | grep . || echo 0)))
        converged "$folder" || fail "not converged after the next apply"
        if [ "$backend" = file ]; then
            litter=$(find "$folder" -maxdepth 1 -name '.secrets.state.json*.tmp-*' | wc -l)
            [ "$litter" = 0 ] || fail "$litter temporary copies of the state left behind"
        fi
    done
    stats=$(emulator_stats)
    violations=$(echo "$stats" | jq '.idempotency.violations')
    keyless=$(echo "$stats" | jq '.idempotency.keyless_posts')
    [ "$violations" = 0 ] && [ "$keyless" = 0 ] ||
        fail "idempotency: $violations keys reused with other parameters, $keyless POSTs without a key"
    line="$backend: $trials trials, $changes changes planned, $midrun killed mid-run at random, $hooked at crash points, $completed finished before the kill; $resumed_changes changes finished by the next apply; 0 violations"
    echo "$line"
    summary+=("$line")
    stop_emulator
    [ "$backend" = postgres ] && stop_postgres
done
echo "crash campaign passed (seed $seed, $((SECONDS - started)) s): ${summary[*]}"

#!/usr/bin/env bash
# Outage campaign: the API goes away mid-apply; measure how long the apply takes to give up.
# Results go in docs/reliability.md.
#
# Usage: scripts/outage-campaign.sh [--backend file|postgres|both] [--release] [CHANGES...]
#   For each CHANGES (default 40 200) and each way of going away, an apply of CHANGES creates
#   runs against `emulator --latency 100ms`, which is killed (kill -9: connections refused) or
#   stopped (kill -STOP: connections accepted, never answered) once 20 calls were sent.
#   Checks: exit 1 within 60 s, the message says Stripe stopped answering and that a rerun
#   finishes the job, the state reads, no lock is held; then the emulator comes back (a new one
#   after a kill, which keeps nothing; the same one continued after a stop) and the rerun
#   succeeds, after a stop with Stripe holding exactly the manifest. Exits 1 on any violation.
set -euo pipefail
backends=file release=0 sizes=()
while [ $# -gt 0 ]; do
    case $1 in
        --backend) [ "$2" = both ] && backends="file postgres" || backends=$2; shift ;;
        --release) release=1 ;;
        *) sizes+=("$1") ;;
    esac
    shift
done
[ ${#sizes[@]} -gt 0 ] || sizes=(40 200)
source "$(dirname "$0")/campaign-lib.sh"
campaign_init
echo "outage campaign: ${sizes[*]} pending changes ($backends), binary $tool"

fail() {
    echo "VIOLATION ($backend, $count changes, $how): $*" >&2
    keep_work=1
    exit 1
}

summary=()
for backend in $backends; do
    [ "$backend" = postgres ] && start_postgres
    for count in "${sizes[@]}"; do
        for how in kill stop; do
            start_emulator --latency 100ms
            folder=$work/$backend-$count-$how
            mkdir -p "$folder"
            use_backend "$backend" "$folder"
            seq 0 $((count - 1)) | sed 's/$/ 1/' > "$folder/present"
            write_manifest "$folder" "$folder/present"
            (cd "$folder" && "$tool" plan > /dev/null)
            before=$(emulator_stats | jq .requests)
            start=$(date +%s.%N)
            (cd "$folder" && exec "$tool" apply --auto-approve > "$folder/apply.out" 2> "$folder/apply.err") &
            pid=$!
            # 20 calls sent (about 12 answered, 8 in flight), the rest pending.
            until [ "$(( $(emulator_stats | jq .requests) - before ))" -ge 20 ]; do sleep 0.02; done
            if [ $how = kill ]; then
                kill -9 "$emulator_pid"
                { wait "$emulator_pid"; } 2>/dev/null || true
            else
                kill -STOP "$emulator_pid"
            fi
            status=0
            wait "$pid" || status=$?
            seconds=$(echo "$(date +%s.%N) - $start" | bc)
            [ $status = 1 ] || fail "exit status $status, not 1"
            awk -v s="$seconds" 'BEGIN { exit !(s < 60) }' || fail "took $seconds s"
            grep -q "Stripe stopped answering mid-apply" "$folder/apply.err" || fail "no outage message"
            grep -q "run stripe-secrets apply again to finish the job" "$folder/apply.err" || fail "no rerun advice"
            applied=$(sed -n 's/^Apply finished: \([0-9]*\) of.*/\1/p' "$folder/apply.out")
            skipped=$(grep -c "not attempted: " "$folder/apply.err" || true)
            (cd "$folder" && "$tool" state list > /dev/null) || fail "the state does not read"
            lock_is_free || fail "a lock is still held"
            if [ $how = kill ]; then
                start_emulator --latency 100ms
            else
                kill -CONT "$emulator_pid"
            fi
            (cd "$folder" && "$tool" apply --auto-approve > "$folder/rerun.out" 2>&1) ||
                fail "the rerun failed: $(tail -3 "$folder/rerun.out")"
            if [ $how = stop ]; then converged "$folder" || fail "not converged after the rerun"; fi
            line="$backend, $count changes, emulator $([ $how = kill ] && echo killed || echo stopped): exit 1 after $(printf '%.1f' "$seconds") s, $applied applied, $skipped not attempted; rerun ok"
            echo "$line"
            summary+=("$line")
            stop_emulator
        done
    done
    [ "$backend" = postgres ] && stop_postgres
done
echo "outage campaign passed: $(printf '%s; ' "${summary[@]}")"

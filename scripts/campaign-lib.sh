# Shared by scripts/crash-campaign.sh and scripts/fault-campaign.sh (sourced, not run).
#
# The binary: the debug build by default (`swift build`; the crash hook exists only there),
# `--release` for .build/release, or STRIPE_SECRETS_BIN. The emulator and any PostgreSQL cluster
# are private to the run, on loopback, and stopped on exit.

campaign_init() {
    root=$(cd "$(dirname "$0")/.." && pwd)
    work=$(mktemp -d /tmp/stripe-secrets-campaign-XXXXXX)
    chmod 755 "$work"
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    as_server=()
    [ "$(id -u)" -eq 0 ] && as_server=(runuser -u postgres --)
    emulator_pid=""
    pg_data=""
    trap campaign_cleanup EXIT
    if [ -z "${STRIPE_SECRETS_BIN:-}" ]; then
        if [ "${release:-0}" = 1 ]; then
            (cd "$root" && swift build -c release --product stripe-secrets >/dev/null 2>&1)
            STRIPE_SECRETS_BIN=$root/.build/release/stripe-secrets
        else
            (cd "$root" && swift build --product stripe-secrets >/dev/null 2>&1)
            STRIPE_SECRETS_BIN=$root/.build/debug/stripe-secrets
        fi
    fi
    tool=$STRIPE_SECRETS_BIN
    export STRIPE_API_KEY=sk_test_fakeCampaign
}

campaign_cleanup() {
    stop_emulator
    stop_postgres
    [ "${keep_work:-0}" = 1 ] && echo "work folder kept: $work" || rm -rf "$work"
}

# start_emulator OPTIONS...: a fresh emulator on a free port; sets STRIPE_API_BASE.
start_emulator() {
    stop_emulator
    local out
    out=$(mktemp "$work/emulator-XXXXXX")
    "$tool" emulator --port 0 "$@" > "$out" 2>&1 &
    emulator_pid=$!
    until grep -q listening "$out"; do sleep 0.05; done
    export STRIPE_API_BASE=$(sed -n 's/^listening on //p' "$out")
}

stop_emulator() {
    if [ -n "$emulator_pid" ]; then
        kill -CONT "$emulator_pid" 2>/dev/null || true
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
        emulator_pid=""
    fi
}

emulator_stats() {
    curl -sf "$STRIPE_API_BASE/_emulator/stats"
}

# start_postgres: a private cluster (initdb, pg_ctl) on a free loopback port, trust auth;
# points STRIPE_SECRETS_STATE at a fresh database of it.
start_postgres() {
    [ -n "$pg_bin" ] || { echo "PostgreSQL binaries not found in /usr/lib/postgresql/*/bin" >&2; exit 2; }
    local folder
    folder=$(mktemp -d /tmp/stripe-secrets-pg-campaign-XXXXXX)
    chmod 700 "$folder"
    [ ${#as_server[@]} -eq 0 ] || chown postgres "$folder"
    pg_data=$folder/data
    pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_server[@]}" "$pg_bin/initdb" -D "$pg_data" --auth=trust --username=postgres --no-sync >/dev/null
    "${as_server[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$folder/log" -w start \
        -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $folder -c fsync=off" >/dev/null
}

stop_postgres() {
    if [ -n "$pg_data" ]; then
        "${as_server[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$(dirname "$pg_data")"
        pg_data=""
    fi
}

# use_backend file|postgres FOLDER: where the state of FOLDER/secrets.yaml lives.
use_backend() {
    backend=$1
    if [ "$backend" = postgres ]; then
        local database
        database=c$(python3 -c 'import secrets; print(secrets.token_hex(4))')
        "${as_server[@]}" "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -c "CREATE DATABASE $database"
        export STRIPE_SECRETS_STATE="postgres://postgres@127.0.0.1:$pg_port/$database?sslmode=disable"
        pg_database=$database
    else
        export STRIPE_SECRETS_STATE="$2/secrets.state.json"
    fi
}

# lock_is_free: nobody holds the state's lock now.
lock_is_free() {
    if [ "$backend" = postgres ]; then
        [ "$("${as_server[@]}" "$pg_bin/psql" -X -A -t -h 127.0.0.1 -p "$pg_port" -U postgres -d "$pg_database" \
            -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 0 ]
    else
        [ ! -e "$STRIPE_SECRETS_STATE.lock" ] || flock -n "$STRIPE_SECRETS_STATE.lock" true
    fi
}

# compare_state FOLDER: prints how many addresses the state (journal folded, via `state list`)
# and the emulator disagree on (held by one only, or with other ids), then the manifest's
# addresses that the emulator does not hold exactly (missing or extra), as `D M`.
compare_state() {
    (cd "$1" && "$tool" state list) > "$work/list.txt" || return 1
    emulator_stats > "$work/stats.json"
    python3 - "$work/list.txt" "$work/stats.json" "$1/secrets.yaml" <<'PY'
import json, re, sys
state = {}
for line in open(sys.argv[1]).read().splitlines()[1:]:
    parts = line.split()
    if len(parts) >= 2 and parts[1].startswith("appsecret_"): state[parts[0]] = parts[1]
remote = json.load(open(sys.argv[2]))["ids"]
wanted = set()
account = None
for line in open(sys.argv[3]):
    m = re.match(r"\s*- name: (\S+)", line)
    if m: name = m.group(1)
    m = re.match(r"\s*account: (\S+)", line)
    if m: wanted.add(f"{m.group(1)}/account/{name}")
disagree = sum(1 for a in set(state) | set(remote) if state.get(a) != remote.get(a))
print(disagree, len(wanted ^ set(remote)))
PY
}

# write_manifest FOLDER PRESENT_FILE: one secret per line of PRESENT_FILE (`INDEX VERSION`),
# 10 per connected account, each value read from FOLDER/values/sINDEX.
write_manifest() {
    mkdir -p "$1/values"
    {
        echo "version: 1"
        echo "secrets:"
        while read -r index version; do
            printf 'campaign-value-%s-%s\n' "$index" "$version" > "$1/values/s$index"
            printf '  - name: s%s\n    account: acct_%sCampaign\n    value: {file: values/s%s}\n' \
                "$index" $((index / 10)) "$index"
        done < "$2"
    } > "$1/secrets.yaml"
}

# converged FOLDER: the state, the manifest and the emulator agree, values included. Against a
# faulty emulator a read may fail all its retries (exit 1), so the refreshed plan is tried up to
# 8 times; only its finding changes (exit 2) or never getting through counts against convergence.
converged() {
    local counts status attempt
    counts=$(compare_state "$1") || return 1
    [ "$counts" = "0 0" ] || { echo "state/emulator disagreements, manifest/emulator differences: $counts" >&2; return 1; }
    for attempt in 1 2 3 4 5 6 7 8; do
        status=0
        (cd "$1" && "$tool" plan --refresh-values --detailed-exitcode > "$work/refresh.txt" 2>&1) || status=$?
        [ $status = 1 ] || break
    done
    [ $status = 0 ] || { echo "plan --refresh-values is not empty (exit $status):" >&2; tail -5 "$work/refresh.txt" >&2; return 1; }
}

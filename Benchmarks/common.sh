# shellcheck shell=bash
# Shared by the benchmark scripts: a scratch folder removed on exit (`$work`), the release binary
# (`$tool`), the emulator and a private PostgreSQL cluster started on free loopback ports and
# always stopped. Source it from the repository's root.
work=$(mktemp -d /tmp/stripe-secrets-bench-XXXXXX)
chmod 755 "$work"
emulator=0
postgres_bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -1)
as_postgres=()
[ "$(id -u)" -eq 0 ] && as_postgres=(runuser -u postgres --)

benchmark_cleanup() {
    stop_emulator
    if [ -f "$work/pg/data/postmaster.pid" ]; then
        "${as_postgres[@]}" "$postgres_bin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap benchmark_cleanup EXIT

# The release binary as scripts/release.sh builds it, in $tool; the variables the manifests of
# Benchmarks/generate.py read, and a test-mode key.
swift build -c release --static-swift-stdlib --product stripe-secrets >/dev/null 2>&1
tool=$(swift build -c release --show-bin-path)/stripe-secrets
export BENCH_VALUE_0=v0 BENCH_VALUE_1=v1 BENCH_VALUE_2=v2 BENCH_VALUE_3=v3 BENCH_VALUE_4=v4 \
    BENCH_VALUE_5=v5 BENCH_VALUE_6=v6 STRIPE_API_KEY=sk_test_benchmark

# start_emulator NAME [FLAG...]: the release binary's emulator ($tool) on a free port; exports
# STRIPE_API_BASE. Its log is $work/NAME.log.
start_emulator() {
    local name=$1
    shift
    : > "$work/$name.log"
    "$tool" emulator --port 0 "$@" > "$work/$name.log" 2>&1 &
    emulator=$!
    for _ in $(seq 100); do grep -q '^listening on ' "$work/$name.log" && break; sleep 0.1; done
    STRIPE_API_BASE=$(sed -n 's/^listening on //p' "$work/$name.log")
    export STRIPE_API_BASE
}

# Returns 0 even with no emulator running: under `set -e`, a failing call would cut the EXIT
# trap short and leave the PostgreSQL cluster running.
stop_emulator() {
    if [ "$emulator" -ne 0 ]; then
        kill "$emulator" 2>/dev/null || true
        wait "$emulator" 2>/dev/null || true
        emulator=0
    fi
}

# emulator_stat FIELD: a number from the running emulator's GET /_emulator/stats.
emulator_stat() {
    curl -s "$STRIPE_API_BASE/_emulator/stats" | python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"
}

# start_postgres: a private cluster (Debian's postgresql package; as the postgres user when run
# as root); sets postgres_url to it.
start_postgres() {
    mkdir -p "$work/pg"
    [ ${#as_postgres[@]} -eq 0 ] || chown postgres "$work/pg"
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_postgres[@]}" "$postgres_bin/initdb" -D "$work/pg/data" --auth=trust --username=postgres --no-sync >/dev/null
    "${as_postgres[@]}" "$postgres_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $work/pg" >/dev/null
    # shellcheck disable=SC2034 # read by the script that sources this
    postgres_url="postgres://postgres@127.0.0.1:$port/postgres"
}

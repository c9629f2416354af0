#!/usr/bin/env bash
# Builds the fuzz targets (Fuzz/build.sh) and runs each for SECONDS (default 60) with libFuzzer,
# seeded from the test fixtures and Fuzz/Seeds, the corpus kept in .build-fuzz/corpus. Exits
# non-zero when any target crashes, breaks an invariant, leaks, takes over 10 s on one input or
# over 2 GiB of memory; what this run found is in .build-fuzz/artifacts/TARGET/, each target's log
# in .build-fuzz/logs/. Ends with one summary line.
# Usage: Fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "usage: Fuzz/run.sh [SECONDS]" >&2; exit 2; }

# libFuzzer, lld and llvm-symbolizer come with the Swift toolchain for Linux; nothing to install.
toolchain=$(dirname "$(readlink -f "$(command -v swiftc)")")/..
symbolizer=$toolchain/bin/llvm-symbolizer
if ! compgen -G "$toolchain/lib/clang/*/lib/linux/libclang_rt.fuzzer-$(uname -m).a" >/dev/null || [ ! -x "$symbolizer" ]
then
    echo "error: this Swift toolchain has no libFuzzer runtime or llvm-symbolizer" >&2
    exit 1
fi
echo "building the fuzz targets" >&2
bin=$(bash Fuzz/build.sh)
out=.build-fuzz
rm -rf "$out/artifacts"
# The suppressions are matched against symbolized frames; Swift's backtracer would hold a
# crashing target for up to 30 s.
export ASAN_SYMBOLIZER_PATH=$symbolizer
export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan.supp:print_suppressions=0"
export SWIFT_BACKTRACE=enable=no

# TARGET DICTIONARY MAX_LEN SEED_FOLDER...
targets=(
    "yaml yaml 16384 Tests/SecretsCoreTests/Fixtures/valid Tests/SecretsCoreTests/Fixtures/invalid examples"
    "manifest yaml 16384 Tests/SecretsCoreTests/Fixtures/valid Tests/SecretsCoreTests/Fixtures/invalid examples"
    "state json 16384 Fuzz/Seeds/state"
    "plan json 16384 Tests/CLITests/Golden Fuzz/Seeds/plan"
    "journal json 8192 Fuzz/Seeds/journal"
    "emulator form 4096 Fuzz/Seeds/emulator"
)

failed=() total=0 corpus_total=0
for spec in "${targets[@]}"; do
    read -r name dict max_len seeds <<<"$spec"
    corpus=$out/corpus/$name artifacts=$out/artifacts/$name/ log=$out/logs/$name.log
    mkdir -p "$corpus" "$artifacts" "$out/logs"
    # Seeds of the target's kind only: YAML for the YAML readers, JSON for the JSON ones.
    for folder in $seeds; do
        case $dict in
            yaml) find "$folder" -name '*.yaml' -exec cp {} "$corpus/" \; ;;
            json) find "$folder" -type f ! -name '*.md' ! -name '*.txt' -exec cp {} "$corpus/" \; ;;
            *) cp "$folder"/* "$corpus/" ;;
        esac
    done
    echo "fuzzing $name for ${seconds}s" >&2
    status=0
    "$bin/$name" "$corpus" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -dict="Fuzz/Dictionaries/$dict.dict" -artifact_prefix="$artifacts" -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    # The inputs libFuzzer keeps for their coverage (the folder also holds every seed copied in).
    units=$(grep -ao 'corp: [0-9]*' "$log" | tail -1 | tr -dc 0-9)
    units=${units:-0}
    total=$((total + ${runs:-0})) corpus_total=$((corpus_total + units))
    echo "$name: ${runs:-0} executions, corpus $units inputs, exit $status" >&2
    if [ "$status" -ne 0 ]; then
        failed+=("$name")
        grep -E '^(==[0-9]+==ERROR|SUMMARY|Fatal error|.*invariant failed|artifact_prefix)' "$log" | head -5 >&2 || true
    fi
done

findings=$(find "$out/artifacts" -type f | wc -l)
echo "fuzz: ${#targets[@]} targets, $total executions, corpus $corpus_total inputs, ${#failed[@]} failed" \
    "(${failed[*]:-none}), $findings findings in $out/artifacts, ${seconds}s each"
[ "${#failed[@]}" -eq 0 ]

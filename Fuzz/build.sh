#!/usr/bin/env bash
# Builds the fuzz targets into .build-fuzz/ with libFuzzer and AddressSanitizer, compiling only
# the dependency-free modules they reach with swiftc (no SwiftPM, no checkouts): SecretsModel,
# StrictYAML (over the system libyaml), SecretsCore, StripeAPI's pure files, and two shims in
# Fuzz/Shims for swift-crypto's HMAC-SHA256 and swift-nio's NIOLockedValueBox.
# Usage: Fuzz/build.sh  (prints the folder holding the targets)
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build-fuzz
mkdir -p "$out/modules" "$out/bin"
# shellcheck disable=SC2054 # -sanitize takes a comma-separated list
flags=(-O -parse-as-library -use-ld=lld -sanitize=fuzzer,address -I "$out/modules" -I Sources/CYAML -swift-version 6)

# module NAME FILE... : one object and one .swiftmodule per module.
module() {
    local name=$1
    shift
    swiftc "${flags[@]}" -module-name "$name" -wmo -emit-module -emit-module-path "$out/modules/$name.swiftmodule" \
        -c -o "$out/modules/$name.o" "$@"
}

# target NAME FILE... : Fuzz/Targets/NAME.swift and Support.swift, plus FILE..., linked with every module.
target() {
    local name=$1
    shift
    swiftc "${flags[@]}" -module-name "Fuzz_${name//-/_}" -o "$out/bin/$name" \
        "Fuzz/Targets/$name.swift" Fuzz/Targets/Support.swift "$@" "$out"/modules/*.o -lyaml
}

module SecretsModel Sources/SecretsModel/*.swift
module StrictYAML Sources/StrictYAML/*.swift
module Crypto Fuzz/Shims/Crypto.swift
module NIOConcurrencyHelpers Fuzz/Shims/NIOConcurrencyHelpers.swift
mapfile -t core < <(find Sources/SecretsCore -name '*.swift' | sort)
# Testable, so that the targets can compare each fast path with the reader or writer it stands in for.
module SecretsCore -enable-testing "${core[@]}"
mapfile -t api < <(find Sources/StripeAPI -name '*.swift' ! -name SecretStoreClient.swift | sort)
module StripeAPI "${api[@]}"

target yaml
target manifest
target state
target plan
target journal Sources/StateStorage/{Journal,StateBackend,LockHolder}.swift Sources/StateStorage/File/FileJournal.swift
target emulator Sources/Emulator/SecretStore.swift Sources/Emulator/SecretStoreAPI.swift
echo "$out/bin"

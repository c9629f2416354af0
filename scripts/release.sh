#!/usr/bin/env bash
# Builds the release binary with the Swift standard library and Foundation linked in
# (--static-swift-stdlib), so a pipeline can fetch it instead of compiling for minutes, and packs
# dist/stripe-secrets-VERSION-linux-ARCH.tar.gz (the binary, LICENSE and README.md in one folder)
# with its SHA-256 in dist/stripe-secrets-VERSION-linux-ARCH.tar.gz.sha256.
# At run time the binary needs only glibc and libyaml (Debian: libyaml-0-2).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/.*static let current = "\(.*\)"/\1/p' Sources/SecretsCore/Plan/SavedPlan.swift)
[ -n "$version" ] || { echo "error: no version found in SavedPlan.swift (ToolVersion.current)" >&2; exit 1; }
arch=$(uname -m)
name="stripe-secrets-$version-linux-$arch"

echo "building $name (release, static Swift standard library; several minutes the first time)"
swift build -c release --product stripe-secrets --static-swift-stdlib 2>&1 \
    | grep -E '^\[[0-9]+/[0-9]+\] (Compiling|Linking) stripe-secrets|error:|Build complete' || true
bin="$(swift build -c release --show-bin-path)/stripe-secrets"
[ -x "$bin" ] || { echo "error: the release build failed; run swift build -c release to see why" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$bin" "$stage/$name/stripe-secrets"
strip "$stage/$name/stripe-secrets"
cp LICENSE README.md "$stage/$name/"
mkdir -p dist
# Sorted names, fixed owner and times: the same build gives the same archive.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2026-01-01 00:00Z' \
    -C "$stage" -czf "dist/$name.tar.gz" "$name"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
size=$(stat -c %s "$stage/$name/stripe-secrets")
echo "dist/$name.tar.gz: $(stat -c %s "dist/$name.tar.gz") bytes; the binary is $size bytes"
echo "it links: $(ldd "$stage/$name/stripe-secrets" | awk '{ print $1 }' | tr '\n' ' ')"

#!/usr/bin/env bash
# The main job end to end, with no Stripe account: build, then check the example manifests.
# (Later steps, plan and apply against the bundled emulator, join as they are built.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
swift build --product stripe-secrets >/dev/null
bin=$(swift build --show-bin-path)/stripe-secrets

for example in basic multi-account; do
    echo "\$ stripe-secrets validate -f examples/$example/secrets.yaml"
    "$bin" validate -f "examples/$example/secrets.yaml"
done

# A manifest with problems: every one is reported, with file:line:col, and the run fails.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/secrets.yaml" <<'YAML'
version: 1
secrets:
  - name: openai_api_key
    value: {env: OPENAI_API_KEY}
  - name: webhook_key
    paylod: {file: keys/webhook.pem}
YAML
echo "\$ stripe-secrets validate -f secrets.yaml    # a broken manifest, OPENAI_API_KEY unset"
if (cd "$work" && env -u OPENAI_API_KEY "$bin" validate 2>&1); then
    echo "error: validate accepted a broken manifest" >&2
    exit 1
fi
echo "\$ stripe-secrets validate --skip-values      # structure only, as in a pull request"
(cd examples/basic && "$bin" validate --skip-values)
echo "quickstart finished"

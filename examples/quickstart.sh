#!/usr/bin/env bash
# The main job end to end, with no Stripe account: build, check the example manifests, plan
# against a fresh state, save and show the plan, and see a changed value planned as a replace.
# (apply, against the bundled emulator, joins when it is built.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
swift build --product stripe-secrets >/dev/null
bin=$(swift build --show-bin-path)/stripe-secrets
step() { printf '\n$ stripe-secrets %s\n' "$*"; }

for example in basic multi-account; do
    step validate -f "examples/$example/secrets.yaml"
    "$bin" validate -f "examples/$example/secrets.yaml"
done

# Work on a copy, so the example folder stays clean.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R examples/basic/. "$work"
cd "$work"

step plan --out plan.json
"$bin" plan --out plan.json
step show plan.json --format markdown
"$bin" show plan.json --format markdown

step state list
"$bin" state list

# A manifest with problems: every one is reported, with file:line:col, and the run fails.
cat > broken.yaml <<'YAML'
version: 1
secrets:
  - name: openai_api_key
    value: {env: OPENAI_API_KEY}
  - name: webhook_key
    paylod: {file: keys/webhook.pem}
YAML
step validate -f broken.yaml "   # OPENAI_API_KEY unset"
if env -u OPENAI_API_KEY "$bin" validate -f broken.yaml 2>&1; then
    echo "error: validate accepted a broken manifest" >&2
    exit 1
fi
echo
echo "quickstart finished"

#!/usr/bin/env bash
# The main job end to end, with no Stripe account: build, then check the example manifest.
# (Later steps, plan and apply against the bundled emulator, join as they are built.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
swift build --product stripe-secrets >/dev/null
bin=$(swift build --show-bin-path)/stripe-secrets

cd examples/basic
# Demo values only: real ones come from your CI's secret store.
export OPENAI_API_KEY="sk-demo-not-a-real-key"
export OAUTH_TOKEN="demo-oauth-token"

echo "\$ stripe-secrets validate"
"$bin" validate
echo "\$ stripe-secrets validate --skip-values   # what a pull request without the values can check"
env -u OPENAI_API_KEY -u OAUTH_TOKEN "$bin" validate --skip-values
echo "\$ stripe-secrets validate   # with OAUTH_TOKEN unset: every problem, with file:line:col"
if env -u OAUTH_TOKEN "$bin" validate; then
    echo "error: validate accepted a manifest whose value is missing" >&2
    exit 1
fi
echo "quickstart finished"

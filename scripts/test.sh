#!/usr/bin/env bash
# Every check CI runs, in one command: the Python env for the local AWS and
# the harness self-checks, Terraform checks (offline) and Terraform applied to
# the local AWS end to end, rustfmt, clippy, and all Rust tests (unit, mocked
# waits, the real binary against the local AWS, reliability under faults).
set -euo pipefail
cd "$(dirname "$0")/.."
# Outside the clone so CI and later runs reuse the (slow, cold) AWS SDK build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meetctl/target}"

phase() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

phase "coturn (Debian package) for the TURN allocation tests (tests/check_turn.rs)"
if ! command -v turnserver >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq coturn
fi
# The package's own service is not wanted: the tests start turnserver themselves.
turnserver --version 2>/dev/null | head -n1 || { echo "turnserver missing after install" >&2; exit 1; }

phase "headless Chromium (Debian packages) for the wake-on-visit browser test (tests/front_door.rs)"
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi
chromium --version 2>/dev/null | head -n1 || { echo "chromium missing after install" >&2; exit 1; }

phase "python env (moto[server] pinned, for the local AWS)"
MEETCTL_TEST_PYTHON="$(bash scripts/python-env.sh | tail -n1)"
export MEETCTL_TEST_PYTHON

phase "local AWS harness and fault proxy self-checks"
"$MEETCTL_TEST_PYTHON" harness/test_local_aws.py
"$MEETCTL_TEST_PYTHON" harness/test_fault_proxy.py

phase "terraform: fmt, init (offline mirror), validate, checkov"
bash scripts/tf-check.sh

phase "terraform applied to the local AWS: infra/ → meetctl up/status/down (ingress nlb and terraform) → destroy"
bash scripts/tf-e2e.sh

phase "cargo fmt --check"
cargo fmt --check

phase "cargo clippy --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings

phase "cargo test (unit, mocked waits, integration against the local AWS)"
cargo test --locked

printf '\n==> all checks passed in %ss\n' "$((SECONDS - started))"

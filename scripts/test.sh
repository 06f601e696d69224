#!/usr/bin/env bash
# Every check CI runs, in one command: the Python env for the local AWS,
# Terraform checks (offline), rustfmt, clippy, and all Rust tests (unit,
# mocked waits, and the real binary against the local AWS).
set -euo pipefail
cd "$(dirname "$0")/.."
# Outside the clone so CI and later runs reuse the (slow, cold) AWS SDK build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meetctl/target}"

phase() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

phase "python env (moto[server] pinned, for the local AWS)"
MEETCTL_TEST_PYTHON="$(bash scripts/python-env.sh | tail -n1)"
export MEETCTL_TEST_PYTHON

phase "local AWS harness self-check"
"$MEETCTL_TEST_PYTHON" harness/test_local_aws.py

phase "terraform: fmt, init (offline mirror), validate, checkov"
bash scripts/tf-check.sh

phase "cargo fmt --check"
cargo fmt --check

phase "cargo clippy --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings

phase "cargo test (unit, mocked waits, integration against the local AWS)"
cargo test --locked

printf '\n==> all checks passed in %ss\n' "$((SECONDS - started))"

#!/usr/bin/env bash
# The up/down benchmark: meetctl against the local AWS behind the fault
# proxy's timing model (real AWS waits scaled down 20x). Prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meetctl/target}"
MEETCTL_TEST_PYTHON="$(bash scripts/python-env.sh | tail -n1)"
export MEETCTL_TEST_PYTHON
cargo build --locked --quiet --bin meetctl --example bench_lifecycle
export MEETCTL_BIN="$CARGO_TARGET_DIR/debug/meetctl"
"$CARGO_TARGET_DIR/debug/examples/bench_lifecycle" 2>/dev/null

#!/usr/bin/env bash
# The control plane's benchmark (issue 12): its monthly cost at 0, 10 and
# 200 hours up, and the time from the last participant leaving to nothing
# billable under the fault proxy's timing model. Prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meetctl/target}"
MEETCTL_TEST_PYTHON="$(bash scripts/python-env.sh | tail -n1)"
export MEETCTL_TEST_PYTHON
# Built as `cargo test` builds it (examples included): a plain `cargo build`
# has another feature set and would compile the whole AWS SDK a second time.
cargo test --locked --quiet --no-run
export MEETCTL_BIN="$CARGO_TARGET_DIR/debug/meetctl"
export CARGO_MANIFEST_DIR="$PWD"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$CARGO_TARGET_DIR/debug/examples/bench_control_plane" 2>"$log"; then
  echo "bench-control-plane: failed; its stderr:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi

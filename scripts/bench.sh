#!/usr/bin/env bash
# The up/down benchmark: meetctl against the local AWS behind the fault
# proxy's timing model (real AWS waits scaled down 20x). Prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meetctl/target}"
MEETCTL_TEST_PYTHON="$(bash scripts/python-env.sh | tail -n1)"
export MEETCTL_TEST_PYTHON
# meetctl as users run it (release; the first build takes ~13 min on 2
# cores). The example, which also runs the sequential baseline in process,
# stays a debug build: that baseline is all waits, not CPU.
cargo build --locked --quiet --release --bin meetctl
cargo build --locked --quiet --example bench_lifecycle
export MEETCTL_BIN="$CARGO_TARGET_DIR/release/meetctl"
# The fixture finds harness/ through this, not through the path the example
# was compiled in (the target dir may hold a build made in another clone).
export CARGO_MANIFEST_DIR="$PWD"
# stderr carries the sequential run's progress lines; shown only on failure.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$CARGO_TARGET_DIR/debug/examples/bench_lifecycle" 2>"$log"; then
  echo "bench: failed; its stderr:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi

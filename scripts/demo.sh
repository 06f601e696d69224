#!/usr/bin/env bash
# The full lifecycle against a local AWS: installs what it needs (a venv with
# moto[server] pinned), builds meetctl, starts the local AWS (moto + the
# control-plane shim, seeded with the base infrastructure Terraform would
# create), runs config show → up --dry-run → up → status → down → status,
# and stops the emulator. Nothing here talks to real AWS.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meetctl/target}"

echo "==> preparing: python env with moto, cargo build (as cargo test builds it)"
PY="$(bash scripts/python-env.sh | tail -n1)"
# The same build the tests use (features unified with the dev-dependencies):
# a plain `cargo build` would compile the whole AWS SDK a second time.
cargo test --locked --quiet --no-run
MEETCTL="$CARGO_TARGET_DIR/debug/meetctl"

work="$(mktemp -d)"
"$PY" harness/local_aws.py serve --ready-file "$work/ready.json" >/dev/null 2>"$work/local-aws.log" &
harness_pid=$!
cleanup() {
    kill "$harness_pid" 2>/dev/null || true
    wait "$harness_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 300); do
    [ -f "$work/ready.json" ] && break
    kill -0 "$harness_pid" 2>/dev/null || { cat "$work/local-aws.log" >&2; echo "local AWS failed to start" >&2; exit 1; }
    sleep 0.2
done
[ -f "$work/ready.json" ] || { echo "local AWS not ready after 60s" >&2; exit 1; }
field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/ready.json" "$1"; }

# What a user writes once; here pointed at the local AWS.
cat >"$work/meetctl.toml" <<TOML
domain = "$(field domain)"
endpoint_url = "$(field endpoint)"
hosted_zone_id = "$(field hosted_zone_id)"
certificate_arn = "$(field certificate_arn)"
poll_interval_ms = 200
TOML
export AWS_ACCESS_KEY_ID=local-demo AWS_SECRET_ACCESS_KEY=local-demo
echo "==> local AWS at $(field endpoint); config:"
sed 's/^/    /' "$work/meetctl.toml"

run() {
    printf '\n$ meetctl %s\n' "$*"
    "$MEETCTL" --config "$work/meetctl.toml" "$@"
}
run config show
run up --dry-run
run up
run status
run down
run status
echo
echo "==> demo finished: up, status and down against the local AWS; nothing billable remains"

#!/usr/bin/env bash
# Builds the control plane's AWS Lambda package: a release build of the
# `meetctl-control` binary, renamed `bootstrap` (what the provided.al2023
# runtime executes) and zipped.
#
#   bash scripts/build-lambda.sh      # -> target/lambda/meetctl-control.zip
#
# provided.al2023 is Amazon Linux 2023 with glibc 2.34 on x86_64: a binary
# that needs any newer glibc symbol does not start there. The build links
# against this machine's glibc, so every dynamic symbol is checked with
# `objdump -T`; a newer one fails the build (exit 1) with its name.
#
# Environment:
#   CARGO_TARGET_DIR   cargo's target dir (default ./target)
#   LAMBDA_OUT_DIR     where the zip goes (default ./target/lambda)
#   MAX_GLIBC          newest glibc version allowed (default 2.34)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT_DIR="${LAMBDA_OUT_DIR:-$ROOT/target/lambda}"
MAX_GLIBC="${MAX_GLIBC:-2.34}"
TRIPLE="x86_64-unknown-linux-gnu"

host="$(rustc -vV | sed -n 's/^host: //p')"
if [ "$host" != "$TRIPLE" ]; then
  echo "build-lambda: this builds for $TRIPLE (the function's architecture) on a $TRIPLE host; this host is $host" >&2
  exit 2
fi
command -v objdump >/dev/null || { echo "build-lambda: objdump not found (apt-get install binutils)" >&2; exit 2; }

echo "==> cargo build --release --locked --bin meetctl-control"
start=$(date +%s)
(cd "$ROOT" && cargo build --release --locked --bin meetctl-control)
echo "    built in $(( $(date +%s) - start ))s"
BIN="$TARGET_DIR/release/meetctl-control"

echo "==> glibc symbols (objdump -T): none newer than $MAX_GLIBC"
newer="$(objdump -T "$BIN" | awk -v max="$MAX_GLIBC" '
  function newer_than(v, m,   a, b, i, n) {
    n = split(v, a, "."); split(m, b, ".")
    for (i = 1; i <= 3; i++) { if ((a[i] + 0) != (b[i] + 0)) return (a[i] + 0) > (b[i] + 0) }
    return 0
  }
  match($0, /GLIBC_[0-9]+(\.[0-9]+)*/) {
    v = substr($0, RSTART + 6, RLENGTH - 6)
    if (newer_than(v, max)) print "GLIBC_" v "  " $NF
  }')"
newest="$(objdump -T "$BIN" | grep -o 'GLIBC_[0-9.]*' | sort -t_ -k2 -V | tail -n1)"
if [ -n "$newer" ]; then
  echo "build-lambda: $BIN needs glibc symbols newer than $MAX_GLIBC (provided.al2023 has $MAX_GLIBC):" >&2
  echo "$newer" | sed 's/^/    /' >&2
  echo "  fix: build on a system with glibc <= $MAX_GLIBC (e.g. an Amazon Linux 2023 container), or for x86_64-unknown-linux-musl" >&2
  exit 1
fi
echo "    ok: the newest needed is ${newest:-none}"

mkdir -p "$OUT_DIR"
ZIP="$OUT_DIR/meetctl-control.zip"
python3 - "$BIN" "$ZIP" <<'PY'
import sys, zipfile
binary, out = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16  # a regular, executable file
info.compress_type = zipfile.ZIP_DEFLATED
with open(binary, "rb") as f, zipfile.ZipFile(out, "w") as z:
    z.writestr(info, f.read())
PY
echo "==> $ZIP ($(du -h "$ZIP" | cut -f1); binary $(du -h "$BIN" | cut -f1))"
echo "    deploy: terraform -chdir=infra apply -var control_plane_enabled=true -var control_plane_zip=$ZIP"

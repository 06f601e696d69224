#!/usr/bin/env bash
# Offline static checks of the Terraform half of meetctl (infra/).
#
#   1. terraform fmt -check -recursive infra
#   2. terraform init (from the filesystem mirror only) + validate, for infra/
#   3. the same for infra/modules/jvb-nlb on its own; then `terraform test`
#      of infra/ (infra/tests/*.tftest.hcl, mocked provider, offline)
#   4. checkov (pinned) on infra/: no failed check allowed; skips must be
#      inline (#checkov:skip=ID:reason) next to the resource they concern
#
# Runs from any working directory. Needs no network except PyPI, and only the
# first time, to install the pinned checkov into its virtualenv. Does not
# plan or apply anything and needs no AWS credentials.
#
# Environment:
#   MEETCTL_VENV   base virtualenv path (default ~/.cache/meetctl/venv). The
#                  venv there may hold moto[server]; checkov pins an old
#                  boto3/botocore that would silently downgrade moto's, so
#                  checkov gets its own venv: "${MEETCTL_VENV}-checkov".
#   TERRAFORM      terraform binary (default: terraform on PATH)
#   PYTHON         python used to create the venv (default: python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="$ROOT/infra"
MODULE="$INFRA/modules/jvb-nlb"

TERRAFORM="${TERRAFORM:-terraform}"
PYTHON="${PYTHON:-python3}"
CHECKOV_VERSION="3.3.30"
BASE_VENV="${MEETCTL_VENV:-$HOME/.cache/meetctl/venv}"
CHECKOV_VENV="${BASE_VENV}-checkov"

# Providers only from /opt/tf-plugins (see scripts/tf-cli.tfrc); no prompts,
# no update checks.
export TF_CLI_CONFIG_FILE="$ROOT/scripts/tf-cli.tfrc"
export TF_IN_AUTOMATION=1
export TF_INPUT=0
export CHECKPOINT_DISABLE=1
# checkov: no version check against PyPI, no download of policies/mappings.
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true
export BC_SKIP_MAPPING=TRUE

LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tf-check.XXXXXX")"
trap 'rm -rf "$LOG_DIR"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

TOTAL_START="$(now)"
SUMMARY=()

# phase NAME DETAIL CMD...: run CMD with its output in a log; print one line
# with the outcome and the time; on failure show the log and stop.
phase() {
  local name="$1" detail="$2"
  shift 2
  local log="$LOG_DIR/${name//[^a-zA-Z0-9_-]/_}.log"
  local start
  start="$(now)"
  if "$@" >"$log" 2>&1; then
    local line
    line="$(printf 'tf-check: %-24s ok      %7s  %s' "$name" "$(elapsed "$start")" "$detail")"
    echo "$line"
    SUMMARY+=("$line")
  else
    local rc=$?
    printf 'tf-check: %-24s FAILED  %7s  %s (exit %d)\n' "$name" "$(elapsed "$start")" "$detail" "$rc"
    sed 's/^/    /' "$log"
    exit "$rc"
  fi
}

command -v "$TERRAFORM" >/dev/null 2>&1 || { echo "tf-check: terraform not found (set TERRAFORM=...)" >&2; exit 2; }
[ -d /opt/tf-plugins ] || echo "tf-check: warning: /opt/tf-plugins (provider mirror) not found; init will fail" >&2

# --------------------------------------------------------------- terraform ---

phase "fmt" "terraform fmt -check -recursive infra" \
  "$TERRAFORM" -chdir="$ROOT" fmt -check -recursive -diff infra

# -lockfile=readonly: the shipped .terraform.lock.hcl must already match the
# mirror; init fails instead of silently rewriting it.
for dir in "$INFRA" "$MODULE"; do
  rel="${dir#"$ROOT"/}"
  phase "init:${rel#infra/}" "terraform init -backend=false ($rel)" \
    "$TERRAFORM" -chdir="$dir" init -backend=false -input=false -lockfile=readonly -no-color
  phase "validate:${rel#infra/}" "terraform validate ($rel)" \
    "$TERRAFORM" -chdir="$dir" validate -no-color
done

# Offline unit tests of infra/ (infra/tests/*.tftest.hcl): plans against a
# mocked AWS provider, nothing is created.
phase "test:infra" "terraform test (infra/tests, mocked provider)" \
  "$TERRAFORM" -chdir="$INFRA" test -no-color

# ----------------------------------------------------------------- checkov ---

checkov_installed_version() {
  "$CHECKOV_VENV/bin/python" - <<'EOF' 2>/dev/null || true
from importlib.metadata import version, PackageNotFoundError
try:
    print(version("checkov"))
except PackageNotFoundError:
    pass
EOF
}

# Create the venv if missing; install checkov only if it is not already at
# the pinned version (an up-to-date venv costs no network at all).
ensure_checkov() {
  if ! "$CHECKOV_VENV/bin/python" -c "import sys" >/dev/null 2>&1; then
    rm -rf "$CHECKOV_VENV"
    mkdir -p "$(dirname "$CHECKOV_VENV")" || return
    if ! "$PYTHON" -m venv "$CHECKOV_VENV"; then
      # Debian-style pythons may lack ensurepip (python3-venv): fall back to
      # virtualenv from PyPI, kept out of the system site with --target.
      rm -rf "$CHECKOV_VENV" "$CHECKOV_VENV.bootstrap"
      "$PYTHON" -m pip install --disable-pip-version-check --quiet \
        --target "$CHECKOV_VENV.bootstrap" virtualenv || return
      PYTHONPATH="$CHECKOV_VENV.bootstrap" "$PYTHON" -m virtualenv --quiet "$CHECKOV_VENV" || return
      rm -rf "$CHECKOV_VENV.bootstrap"
    fi
  fi
  local have
  have="$(checkov_installed_version)"
  if [ "$have" != "$CHECKOV_VERSION" ]; then
    echo "installing checkov==$CHECKOV_VERSION (found: ${have:-none})"
    "$CHECKOV_VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
      "checkov==$CHECKOV_VERSION" || return
  fi
  have="$(checkov_installed_version)"
  [ "$have" = "$CHECKOV_VERSION" ] || { echo "checkov is ${have:-missing}, expected $CHECKOV_VERSION"; return 1; }
}

phase "checkov:install" "checkov==$CHECKOV_VERSION in $CHECKOV_VENV" ensure_checkov

run_checkov() {
  # --skip-download: no Prisma/Bridgecrew guidelines or external checks.
  # External modules are not downloaded (default); jvb-nlb is local.
  (cd "$ROOT" && "$CHECKOV_VENV/bin/checkov" \
    --directory infra \
    --framework terraform \
    --compact --quiet \
    --skip-download)
}

CHECKOV_LOG="$LOG_DIR/checkov-report.log"
checkov_phase() {
  local rc=0
  run_checkov >"$CHECKOV_LOG" 2>&1 || rc=$?
  cat "$CHECKOV_LOG"
  return "$rc"
}
phase "checkov" "checkov --directory infra --framework terraform" checkov_phase
# The summary line (passed/failed/skipped), also printed on success.
grep -E '^(Passed checks|terraform scan results)' "$CHECKOV_LOG" | sed 's/^/    /' || true

echo "tf-check: all phases passed in $(elapsed "$TOTAL_START")"

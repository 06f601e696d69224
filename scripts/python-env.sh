#!/usr/bin/env bash
# Prepare the Python environment of the local AWS harness (moto + boto3) and
# print the path of its python as the last line of stdout.
#
# Idempotent and fast on re-run: pip runs only when the venv is missing or
# harness/requirements.txt changed since the last successful install (a hash of
# it is kept inside the venv). Everything but the final path goes to stderr.
#
#   PY="$(bash scripts/python-env.sh | tail -n1)"
#
# MEETCTL_VENV overrides the venv location (default ~/.cache/meetctl/venv).
# Safe to run concurrently (parallel tests): the work is serialised by flock.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$repo_root/harness/requirements.txt"
venv="${MEETCTL_VENV:-$HOME/.cache/meetctl/venv}"
venv_python="$venv/bin/python"
stamp="$venv/.meetctl-requirements.sha256"

log() { echo "python-env: $*" >&2; }

pick_base_python() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    log "no python3 found on PATH"
    return 1
}

requirements_hash() {
    sha256sum "$requirements" | cut -d' ' -f1
}

create_venv_with_virtualenv() {
    # Debian-style pythons may lack ensurepip (package python3-venv), so
    # `python3 -m venv` fails there. virtualenv comes from PyPI and carries
    # its own pip; --target keeps it out of the system site (PEP 668).
    local base="$1" bootstrap="$venv.bootstrap"
    log "python -m venv failed; creating the venv with virtualenv from PyPI"
    rm -rf "$venv" "$bootstrap"
    "$base" -m pip install --disable-pip-version-check --quiet --target "$bootstrap" virtualenv >&2
    PYTHONPATH="$bootstrap" "$base" -m virtualenv --quiet "$venv" >&2
    rm -rf "$bootstrap"
}

ensure_venv() {
    # A venv whose python no longer runs (base interpreter removed or moved)
    # is rebuilt rather than patched.
    if [[ -x "$venv_python" && -e "$venv/bin/pip" ]] && "$venv_python" -c "import sys" >/dev/null 2>&1; then
        return 0
    fi
    local base
    base="$(pick_base_python)"
    log "creating venv at $venv with $base"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    if ! "$base" -m venv "$venv" >&2; then
        create_venv_with_virtualenv "$base"
    fi
    rm -f "$stamp"
}

take_lock() {
    mkdir -p "$(dirname "$venv")"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$venv.lock"
        flock 9
    fi
}

ensure_requirements() {
    local wanted
    wanted="$(requirements_hash)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        return 0
    fi
    log "installing $(basename "$requirements") into $venv"
    "$venv_python" -m pip install --disable-pip-version-check --quiet \
        -r "$requirements" >&2
    # Written only after pip succeeded, so a failed install is retried next time.
    echo "$wanted" >"$stamp"
}

take_lock
ensure_venv
ensure_requirements
echo "$venv_python"

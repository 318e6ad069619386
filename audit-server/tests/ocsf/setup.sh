#!/usr/bin/env bash
# Installs the OCSF validation test's pinned Python tools into target/ocsf-venv (idempotent),
# as examples/generated-client/run.sh installs its own. .ci/run calls it before `cargo test`;
# the test calls it too when the venv is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="$root/target/ocsf-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
touch "$venv/.installed"

#!/usr/bin/env bash
# Regenerates the checked-in compiled schema from a checkout of github.com/ocsf/ocsf-schema
# (the one checked in is commit a5cfc68e, version 1.9.0-dev, which has the record_integrity
# profile): ocsf-lib compiles it, normalize_schema.py turns the result into the shape of the
# OCSF server's schema export that ocsf-json-schema reads.
#
# Usage: audit-server/tests/ocsf/regenerate-schema.sh /path/to/ocsf-schema
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
repo="$(cd "$1" && pwd)"
bash "$here/setup.sh"
venv="$root/target/ocsf-venv"
compiled="$(mktemp)"
(cd "$repo" && "$venv/bin/python" -m ocsf.compile . > "$compiled")
"$venv/bin/python" "$here/normalize_schema.py" "$compiled" "$repo" "$here/schema.json"
gzip -9 -n -f "$here/schema.json"
rm -f "$compiled"

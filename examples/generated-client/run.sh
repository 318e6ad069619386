#!/usr/bin/env bash
# Generated clients and fuzzing against a live server, as CI runs them:
#
#   1. installs the pinned generators and fuzzer (a venv under target/, npm ci here),
#   2. starts audit-server on a fresh SQLite file, a free port and a random admin token,
#   3. generates a Python client and TypeScript types from the checked-in openapi/openapi.json,
#   4. runs the Python and the TypeScript scenario against the server,
#   5. fuzzes every operation with schemathesis (authenticated; zero failures allowed),
#   6. stops the server.
#
# Usage: examples/generated-client/run.sh (from anywhere). Environment:
#   AUDIT_SERVER_BIN       the server binary (default target/debug/audit-server, built if missing)
#   SCHEMATHESIS_EXAMPLES  test cases per operation and phase (default 100)
#   SCHEMATHESIS_SEED      the fuzzing seed (default fixed, so CI runs are reproducible)
#   SCHEMATHESIS_ARGS      more schemathesis arguments (e.g. "--phases coverage")
#   SKIP_SCHEMATHESIS=1    run the scenarios only
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

started_at=$SECONDS
step() { printf '\n== generated-client: %s (%ss)\n' "$*" "$((SECONDS - started_at))"; }

work="$root/target/generated-client"
venv="$root/target/generated-client-venv"
document="$root/openapi/openapi.json"
mkdir -p "$work"

# --- 1. Tools -------------------------------------------------------------------------------
step "installing openapi-python-client and schemathesis (pinned in python/requirements.txt)"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
"$venv/bin/openapi-python-client" --version
"$venv/bin/schemathesis" --version
# openapi-python-client formats what it generates with ruff, which the venv holds.
export PATH="$venv/bin:$PATH"

step "installing openapi-typescript and typescript (pinned in typescript/package-lock.json)"
(cd "$here/typescript" && npm ci --no-audit --no-fund --loglevel=error)
node --version

# --- 2. The server --------------------------------------------------------------------------
server_bin="${AUDIT_SERVER_BIN:-$root/target/debug/audit-server}"
if [ ! -x "$server_bin" ]; then
    step "building audit-server"
    cargo build -p audit-server
fi

run_dir="$(mktemp -d "$work/run.XXXXXX")"
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
admin_token="admin-$("$venv/bin/python" -c 'import secrets; print(secrets.token_hex(16))')"
base_url="http://127.0.0.1:$port"
server_pid=""

stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
on_exit() {
    status=$?
    stop_server
    if [ "$status" -ne 0 ] && [ -f "$run_dir/server.log" ]; then
        echo "---- last lines of the server's log ($run_dir/server.log) ----" >&2
        tail -n 40 "$run_dir/server.log" >&2 || true
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

step "starting $server_bin on $base_url (SQLite at $run_dir/audit.db)"
AUDIT_DATABASE_URL="sqlite://$run_dir/audit.db?mode=rwc" \
    AUDIT_BIND="127.0.0.1:$port" \
    AUDIT_ADMIN_TOKEN="$admin_token" \
    AUDIT_PUBLIC_URL="$base_url" \
    AUDIT_CHECKPOINT_INTERVAL_SECS=1 \
    RUST_LOG="${RUST_LOG:-warn}" \
    "$server_bin" serve >"$run_dir/server.log" 2>&1 </dev/null &
server_pid=$!

ready=""
for _ in $(seq 1 300); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "FAIL: audit-server exited before it was ready" >&2
        exit 1
    fi
    if curl -fsS --max-time 2 "$base_url/ready" >/dev/null 2>&1; then
        ready=yes
        break
    fi
    sleep 0.1
done
if [ -z "$ready" ]; then
    echo "FAIL: audit-server did not answer /ready within 30 s" >&2
    exit 1
fi
echo "ready: $(curl -fsS "$base_url/ready")"

# The clients are generated from the checked-in document; it must be what the server serves.
curl -fsS "$base_url/openapi.json" >"$run_dir/served-openapi.json"
"$venv/bin/python" - "$document" "$run_dir/served-openapi.json" <<'EOF'
import json, sys
checked_in, served = (json.load(open(path)) for path in sys.argv[1:3])
if checked_in != served:
    sys.exit("FAIL: openapi/openapi.json differs from the served /openapi.json; regenerate it with "
             "`cargo run -p audit-server -- openapi > openapi/openapi.json`")
print(f"openapi/openapi.json is the served document: {len(served['paths'])} paths")
EOF

# --- 3 and 4. Generated clients and their scenarios -----------------------------------------
step "generating the Python client (openapi-python-client)"
rm -rf "$work/python"
mkdir -p "$work/python"
"$venv/bin/openapi-python-client" generate \
    --path "$document" \
    --config "$here/python/generator.yaml" \
    --output-path "$work/python/audit_log_client" \
    --meta none \
    --fail-on-warning

step "running the Python scenario"
PYTHONPATH="$work/python" AUDIT_URL="$base_url" AUDIT_ADMIN_TOKEN="$admin_token" \
    "$venv/bin/python" "$here/python/scenario.py"

step "generating TypeScript types (openapi-typescript) and compiling the scenario (tsc --strict)"
(
    cd "$here/typescript"
    rm -rf generated dist
    npx --no-install openapi-typescript "$document" --output generated/api.d.ts
    npx --no-install tsc --strict -p tsconfig.json
)

step "running the TypeScript scenario (node)"
AUDIT_URL="$base_url" AUDIT_ADMIN_TOKEN="$admin_token" node "$here/typescript/dist/src/scenario.js"

# --- 5. Fuzzing -----------------------------------------------------------------------------
if [ "${SKIP_SCHEMATHESIS:-}" = "1" ]; then
    step "schemathesis skipped (SKIP_SCHEMATHESIS=1)"
else
    step "fuzzing every operation with schemathesis"
    # Organization A's key holds every scope and is the bearer of most operations; organization B
    # is where key management is fuzzed with the admin token (see schemathesis.toml).
    fuzz_env="$("$venv/bin/python" - "$base_url" "$admin_token" <<'EOF'
import json, sys, time, urllib.error, urllib.request

base_url, admin = sys.argv[1:3]

def call(path, body=None, token=admin):
    request = urllib.request.Request(
        base_url + path, data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)

org_a = call("/api/v1/organizations", {"name": "Fuzz A"})
key = call(f"/api/v1/organizations/{org_a['id']}/api-keys",
           {"name": "fuzz", "scopes": ["auditLogs:write", "auditLogs:read", "apiKeys:manage"]})
org_b = call("/api/v1/organizations", {"name": "Fuzz B"})
# One record and its signed checkpoint (the server signs one a second here), so that the
# latest-checkpoint operation is fuzzed against an existing checkpoint, not only its 404.
call("/api/v1/audit-logs", {"type": "USER", "userId": "u_fuzz", "resourceType": "prompt",
                            "resourceId": "pr_fuzz", "action": "create"}, token=key["secret"])
for _ in range(100):
    try:
        call("/api/v1/checkpoints/latest", token=key["secret"])
        break
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        time.sleep(0.2)
else:
    sys.exit("no checkpoint was signed within 20 s")
print(f"FUZZ_KEY={key['secret']}")
print(f"FUZZ_ORG_A={org_a['id']}")
print(f"FUZZ_ORG_B={org_b['id']}")
EOF
)"
    while IFS='=' read -r name value; do
        export "$name=$value"
    done <<<"$fuzz_env"
    export FUZZ_ADMIN_TOKEN="$admin_token"

    mkdir -p "$run_dir/schemathesis"
    read -ra extra_args <<<"${SCHEMATHESIS_ARGS:-}"
    fuzz_status=0
    # Run from the run directory: schemathesis and hypothesis keep their state in the working
    # directory, and nothing of it should carry over to the next run. One worker: the runs are
    # reproducible from the seed, and hypothesis' source inspection is not thread-safe on
    # Python 3.11 (it fails with "AST constructor recursion depth mismatch" under several).
    (
        cd "$run_dir/schemathesis"
        timeout 900 "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$document" \
            --url "$base_url" \
            --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
            --max-examples "${SCHEMATHESIS_EXAMPLES:-100}" \
            --seed "${SCHEMATHESIS_SEED:-20261125}" \
            --request-timeout 10 \
            --workers 1 \
            --no-color \
            --output-truncate false \
            --report junit --report-dir "$run_dir/schemathesis" \
            "${extra_args[@]}"
    ) 2>&1 | tee "$run_dir/schemathesis.log" || fuzz_status=$?
    cases="$(grep -E '^ *[0-9]+ generated' "$run_dir/schemathesis.log" | tail -n 1 | sed -E 's/^ *//' || true)"
    if [ "$fuzz_status" -ne 0 ]; then
        echo "FAIL: schemathesis reported failures or did not finish (exit $fuzz_status): ${cases:-no count}" >&2
        exit 1
    fi
    if [ -z "$cases" ]; then
        echo "FAIL: schemathesis printed no test-case count" >&2
        exit 1
    fi
    operations="$("$venv/bin/python" -c 'import json, sys; print(sum(len(item) for item in json.load(open(sys.argv[1]))["paths"].values()))' "$document")"
    tested="$(grep -E '^ *Tested: [0-9]+' "$run_dir/schemathesis.log" | tail -n 1 | grep -oE '[0-9]+' || true)"
    if [ "$tested" != "$operations" ]; then
        echo "FAIL: schemathesis tested ${tested:-no} operations of the document's $operations" >&2
        exit 1
    fi
    echo "schemathesis: ${cases} (test cases executed over all $operations operations)"
fi

# --- 6. Done ----------------------------------------------------------------------------------
stop_server
rm -rf "$run_dir"
step "done: the server is stopped"

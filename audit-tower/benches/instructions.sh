#!/usr/bin/env bash
# Instructions per in-process request of each overhead-bench variant, counted by valgrind's
# callgrind: unlike times, counts do not move with what else the machine is doing, so they
# show what a change to the layer saves even on a busy shared VM.
#
#   audit-tower/benches/instructions.sh [requests per variant, default 2000] [Patch|Get]
#
# Only the request itself is counted (callgrind collects inside the `block_on` that runs it),
# not building the request, the server or the runtime. The figures still move by about ±1,000
# from run to run: glibc malloc's work depends on the heap's state.
set -euo pipefail
cd "$(dirname "$0")/../.."
requests=${1:-2000}
load=${2:-Patch}
command -v valgrind >/dev/null || { echo "valgrind is needed (Debian package valgrind)" >&2; exit 1; }
binary=$(cargo bench -p audit-tower --bench overhead --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*overhead[^"]*"' | tail -1 | cut -d'"' -f4)
[ -x "$binary" ] || { echo "could not build the overhead bench" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Total instructions of the variants whose name contains $1.
count() {
    BENCH_ROUNDS=0 BENCH_LOAD=$load BENCH_REQUESTS=$requests BENCH_ONLY=$1 \
        valgrind --tool=callgrind --toggle-collect='futures_executor::local_pool::block_on*' \
        --callgrind-out-file="$out" "$binary" >/dev/null 2>&1
    grep -E '^(summary|totals):' "$out" | head -1 | awk '{ print $2 }'
}

plain=$(count "=no layer")
by_hand=$(count "=no layer, PATCH audited by hand")
echo "$load, in process, $requests requests per variant: instructions per request"
echo "| variant | instructions | vs no layer |"
echo "| --- | ---: | ---: |"
row() { echo "| $1 | $(($2 / requests)) | $3 |"; }
row "no layer" "$plain" ""
row "no layer, PATCH audited by hand" "$by_hand" "+$(((by_hand - plain) / requests))"
for variant in "a layer that does nothing" "layer, discarding sink" "layer, discarding, no loader, no body copy"; do
    total=$(count "=$variant")
    row "$variant" "$total" "$(printf '%+d' $(((total - plain) / requests)))"
done

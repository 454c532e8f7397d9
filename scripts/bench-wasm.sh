#!/usr/bin/env bash
# Benchmarks the WebAssembly build (pkg/) in Node, then in headless Chromium, with the same harness
# (bench/wasm/): leadscore's evaluate and session paths next to the B2B model written by hand in JS and the
# same model in JsonLogic (json-logic-js), after checking that all three agree on every lead; plus start-up,
# and a CPU profile of evaluate(object) in Node. Prints Markdown tables. Builds pkg/ first when it is missing (or with --build).
#
#   bash scripts/bench-wasm.sh [--build] [--quick]
#
# --quick: short rounds and 5 page loads, to try the harness out (numbers not meant to be quoted).
set -euo pipefail
cd "$(dirname "$0")/.."

build=0
pass=()
for arg in "$@"; do
  case "$arg" in
    --build) build=1 ;;
    --quick) pass+=(--quick) ;;
    *) echo "bench-wasm: unknown option $arg (use --build, --quick)" >&2; exit 2 ;;
  esac
done

if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/json-logic-js ]; then
  echo "bench-wasm: npm ci" >&2
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2
fi

complete() { [ -f pkg/leadscore_bg.wasm ] && [ -f pkg/leadscore.js ] && [ -f pkg/node.js ]; }
if [ "$build" = 1 ] || ! complete; then
  echo "bench-wasm: building pkg/" >&2
  # The build ends with a size-budget check whose failure does not affect what it built.
  bash scripts/build-wasm.sh >&2 || true
  complete || { echo "bench-wasm: pkg/ is incomplete after the build" >&2; exit 1; }
fi

# The B2B program compiled ahead of time, which the runtime's start-up page fetches.
cargo run --quiet --release -- build examples/b2b-saas.json -o target/bench/b2b-saas.lsp >&2

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "# leadscore Wasm benchmark"
echo
echo "pkg/leadscore_bg.wasm: $(wc -c < pkg/leadscore_bg.wasm) bytes, built $(date -u -r pkg/leadscore_bg.wasm +%Y-%m-%dT%H:%MZ);" \
  "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run."
echo
node bench/wasm/node.mjs --json "$out/node.json" "${pass[@]}"
node bench/wasm/chromium.mjs --json "$out/chromium.json" "${pass[@]}"
node bench/wasm/summary.mjs "$out/node.json" "$out/chromium.json"
echo
node bench/wasm/profile.mjs $([ ${#pass[@]} -gt 0 ] && echo --seconds 1)

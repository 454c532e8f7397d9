#!/usr/bin/env bash
# The main job: builds everything the demo needs on a fresh machine (Rust's Wasm target, wasm-bindgen, npm
# packages, the WebAssembly package, the example model compiled ahead of time) and serves the Larkspur
# landing pages on http://127.0.0.1:8080/ (English) and /it/ (Italian). PORT=N picks another port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-www.sh
exec node www/serve.mjs --port "${PORT:-8080}"

#!/usr/bin/env bash
# The main job: builds everything the demo needs on a fresh machine (Rust's Wasm target, wasm-bindgen, npm
# packages, the WebAssembly package, the example model compiled ahead of time, the receiver) and runs the lead
# receiver (`leadscore serve`, examples/receiver/demo.toml): the Larkspur landing pages on
# http://127.0.0.1:8080/ (English) and /it/ (Italian), the playground on /playground/, the sales inbox on
# /inbox (user sales, password larkspur), leads kept in target/demo/leads.db. PORT=N picks another port.
# The receiver is the shipped build: the dist profile (fat LTO), in target/dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
LEADSCORE_PROFILE=dist bash scripts/build-www.sh
mkdir -p target/demo
exec target/dist/leadscore serve --config examples/receiver/demo.toml --listen "127.0.0.1:${PORT:-8080}" --log text

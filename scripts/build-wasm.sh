#!/usr/bin/env bash
# Builds the npm package in pkg/: the engine compiled to WebAssembly (release profile, no CLI features),
# JS glue and TypeScript types from wasm-bindgen (ES module), the Node entry point, and wasm-opt -Oz.
# (scripts/size.sh checks the size budget.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-wasm.sh

export CARGO_TERM_COLOR=never
cargo build --quiet --release --lib --target wasm32-unknown-unknown --no-default-features
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name leadscore \
  target/wasm32-unknown-unknown/release/leadscore.wasm
node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers pkg/leadscore_bg.wasm -o pkg/leadscore_bg.wasm
cp npm/node.js npm/README.md pkg/
version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
cat > pkg/package.json <<JSON
{
  "name": "leadscore",
  "version": "$version",
  "description": "Lead scoring and qualification rules compiled to WebAssembly: score visitors in the browser, re-check on the server.",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./node.js",
  "module": "./leadscore.js",
  "types": "./leadscore.d.ts",
  "exports": {
    ".": {
      "types": "./leadscore.d.ts",
      "node": "./node.js",
      "default": "./leadscore.js"
    },
    "./leadscore_bg.wasm": "./leadscore_bg.wasm",
    "./package.json": "./package.json"
  },
  "files": ["leadscore.js", "leadscore.d.ts", "leadscore_bg.wasm", "leadscore_bg.wasm.d.ts", "node.js", "README.md"],
  "sideEffects": ["./node.js"],
  "engines": { "node": ">=20" },
  "keywords": ["lead scoring", "mql", "sql", "forms", "webassembly"]
}
JSON


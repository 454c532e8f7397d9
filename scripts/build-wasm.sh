#!/usr/bin/env bash
# Builds the npm package in pkg/ with three WebAssembly modules of the engine (the `wasm` profile, optimised for
# size; LEADSCORE_WASM_PROFILE=NAME builds with another, e.g. `dist` for speed; no CLI):
#   leadscore  the full build: compiles rules documents (diagnostics, warnings, hints) and evaluates them,
#              and drives forms;
#   runtime    evaluates programs compiled ahead of time (`toBytes()`, `leadscore build`), no compiler;
#   form       the runtime and the form controller: what a landing page loads (with auto.js, which attaches
#              it to every `<form data-leadscore>`).
# Each gets JS glue and TypeScript types from wasm-bindgen (ES module), a Node entry point, and wasm-opt -Oz.
# Beside them, from npm/: auto.js, the `npx leadscore build` command (cli.js), the React and Vue components
# (react.js, vue.js, sharing component.js), leadscore.css, schema.json.
# (scripts/size.sh checks the runtime's size budget.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-wasm.sh

export CARGO_TERM_COLOR=never
profile=${LEADSCORE_WASM_PROFILE:-wasm}
out=target/wasm32-unknown-unknown/$profile
rm -rf pkg
# build NAME CARGO-FEATURE-ARGS...
build() {
  local name=$1
  shift
  cargo build --quiet --profile "$profile" --lib --target wasm32-unknown-unknown --no-default-features "$@"
  # Kept with its function names for bench/wasm/profile.mjs.
  cp "$out/leadscore.wasm" "target/wasm32-unknown-unknown/build-$name.wasm"
  wasm-bindgen --target web --out-dir pkg --out-name "$name" "$out/leadscore.wasm"
  # wasm-opt (binaryen compiled to JS) runs on one core, as does the end of a cargo build with fat LTO and one
  # codegen unit: each module is optimised in the background while the next one builds.
  finish "$name" &
  pending+=($!)
}
# finish NAME: optimises and minifies what wasm-bindgen wrote for NAME.
finish() {
  local name=$1
  # For size, except the runtime: there -O4 (more inlining) makes a session's change and read 8 to 10% faster
  # for about 70 bytes gzipped. (On the form build it costs 730 bytes, more than its budget has left.)
  local opt=(-Oz --converge)
  [ "$name" = runtime ] && opt=(-O4 --inlining-optimizing)
  node_modules/.bin/wasm-opt "${opt[@]}" --strip-debug --strip-producers "pkg/${name}_bg.wasm" \
    -o "pkg/${name}_bg.wasm"
  # The glue is shipped minified, as a page loads it; its documentation lives in the .d.ts.
  node_modules/.bin/terser "pkg/$name.js" --module --compress --mangle -o "pkg/$name.js"
  sed "s#\./leadscore#./$name#g" npm/node.js > "pkg/$name-node.js"
}
pending=()
build leadscore --features compiler,form,leads
build runtime
build form --features form
for pid in "${pending[@]}"; do wait "$pid"; done
rm pkg/form-node.js
cp npm/auto.js npm/cli.js npm/component.d.ts npm/react.d.ts npm/vue.d.ts npm/leadscore.css npm/schema.json pkg/
# The components are minified as the glue is (their documentation is in their .d.ts).
for f in component react vue; do
  node_modules/.bin/terser "npm/$f.js" --module --compress --mangle -o "pkg/$f.js"
done
mv pkg/leadscore-node.js pkg/node.js
cp npm/README.md pkg/
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
  "bin": { "leadscore": "./cli.js" },
  "exports": {
    ".": {
      "types": "./leadscore.d.ts",
      "node": "./node.js",
      "default": "./leadscore.js"
    },
    "./runtime": {
      "types": "./runtime.d.ts",
      "node": "./runtime-node.js",
      "default": "./runtime.js"
    },
    "./form": {
      "types": "./form.d.ts",
      "default": "./form.js"
    },
    "./auto": "./auto.js",
    "./react": {
      "types": "./react.d.ts",
      "default": "./react.js"
    },
    "./vue": {
      "types": "./vue.d.ts",
      "default": "./vue.js"
    },
    "./leadscore.css": "./leadscore.css",
    "./schema.json": "./schema.json",
    "./form_bg.wasm": "./form_bg.wasm",
    "./leadscore_bg.wasm": "./leadscore_bg.wasm",
    "./runtime_bg.wasm": "./runtime_bg.wasm",
    "./package.json": "./package.json"
  },
  "files": [
    "leadscore.js", "leadscore.d.ts", "leadscore_bg.wasm", "leadscore_bg.wasm.d.ts", "node.js",
    "runtime.js", "runtime.d.ts", "runtime_bg.wasm", "runtime_bg.wasm.d.ts", "runtime-node.js",
    "form.js", "form.d.ts", "form_bg.wasm", "form_bg.wasm.d.ts", "auto.js", "cli.js", "component.js",
    "component.d.ts", "react.js", "react.d.ts", "vue.js", "vue.d.ts", "leadscore.css", "schema.json", "README.md"
  ],
  "peerDependencies": { "react": ">=18", "vue": ">=3.3" },
  "peerDependenciesMeta": { "react": { "optional": true }, "vue": { "optional": true } },
  "sideEffects": ["./node.js", "./runtime-node.js", "./auto.js", "*.css"],
  "engines": { "node": ">=20" },
  "keywords": ["lead scoring", "mql", "sql", "forms", "webassembly"]
}
JSON


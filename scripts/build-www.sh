#!/usr/bin/env bash
# Builds the demo pages' generated files into www/dist/: the form build of the WebAssembly package
# (form.js, form_bg.wasm, auto.js, from pkg/) and the B2B example model compiled ahead of time
# (b2b-saas.lsp, by the command-line tool) for the landing pages; the full build (leadscore.js,
# leadscore_bg.wasm), the example models (examples/*.json) and the sample history of past leads
# (examples/history/*.csv) for the playground. Builds pkg/ first when it is missing or older than the sources.
# The command-line tool is built with the profile LEADSCORE_PROFILE (default `release`, as the tests build it;
# scripts/run.sh ships the receiver built with `dist`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
if [ ! -f pkg/form_bg.wasm ] || [ -n "$(find src npm Cargo.toml Cargo.lock scripts/build-wasm.sh -newer pkg/form_bg.wasm -print -quit)" ]; then
  bash scripts/build-wasm.sh
fi
profile=${LEADSCORE_PROFILE:-release}
# (scripts/cli-check.sh says why scripts/test.sh sets LEADSCORE_CLI_BUILT.)
if [ -z "${LEADSCORE_CLI_BUILT:-}" ] || [ "$profile" != release ]; then
  cargo build --profile "$profile" --quiet
fi
mkdir -p www/dist
"target/$profile/leadscore" build examples/b2b-saas.json -o www/dist/b2b-saas.lsp
cp pkg/form.js pkg/form_bg.wasm pkg/auto.js pkg/leadscore.css pkg/leadscore.js pkg/leadscore_bg.wasm www/dist/
mkdir -p www/dist/examples/history
cp examples/*.json www/dist/examples/
if compgen -G "examples/history/*.csv" > /dev/null; then cp examples/history/*.csv www/dist/examples/history/; fi
echo "www/dist: $(cd www/dist && ls | tr '\n' ' ')"

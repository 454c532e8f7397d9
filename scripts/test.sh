#!/usr/bin/env bash
# The project's tests, in two tiers:
#
#   scripts/test.sh          every test (what CI runs): formatting, lints of the native crate and the three Wasm
#                            builds, the native unit, data-case, property, receiver (SQLite and PostgreSQL) and
#                            doc tests, the benchmark and fuzz targets built, the command-line tool on every
#                            example, then the WebAssembly package: built, size-checked, tested in headless
#                            Chromium and in Node, packed and installed into scratch projects (Node, a plain page,
#                            Vite, webpack), the demo landing pages and the playground driven end to end in
#                            Chromium, and 100,000 generated leads scored natively and in Wasm and compared.
#                            Installs what it needs (scripts/setup-wasm.sh, scripts/postgres.sh).
#   scripts/test.sh quick    the inner loop: the format check, clippy on the native crate, and the native unit,
#                            data-case and property tests, the property tests with a tenth of their cases
#                            (LEADSCORE_QUICK=1). Needs nothing but the Rust toolchain.
#
# Both print each phase's wall time and the total at the end, also when a phase fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

tier=${1:-full}
case "$tier" in
  full | quick) ;;
  *) echo "usage: scripts/test.sh [quick]" >&2; exit 2 ;;
esac

now() { date +%s.%N; }
started=$(now)
phase_names=()
phase_times=()
current=
current_start=
# phase NAME: ends the phase running (recording its time) and starts NAME.
phase() {
  local t
  t=$(now)
  if [ -n "$current" ]; then
    phase_names+=("$current")
    phase_times+=("$(awk -v s="$current_start" -v e="$t" 'BEGIN { printf "%.0f", e - s }')")
  fi
  current=$1
  current_start=$t
  [ -z "$current" ] || echo "== $current"
}
report() {
  local status=$? failed=$current i
  phase ""
  echo
  echo "== phase times ($tier tier)"
  for i in "${!phase_names[@]}"; do
    printf '%6s s  %s\n' "${phase_times[$i]}" "${phase_names[$i]}"
  done
  printf '%6s s  total\n' "$(awk -v s="$started" -v e="$(now)" 'BEGIN { printf "%.0f", e - s }')"
  if [ "$status" -ne 0 ]; then
    echo "== FAILED in: $failed (exit status $status)"
  fi
  exit "$status"
}
trap report EXIT

# Native code is built with the release profile throughout (opt-level 3, thin local LTO, parallel codegen), so
# that clippy, the tests, the command-line tool and the receiver share their build scripts and proc macros
# instead of building them once more in debug; the shipped binaries use the dist profile (fat LTO).
phase "format"
cargo fmt --all -- --check

phase "lints (native)"
cargo clippy --quiet --release --all-targets -- -D warnings

if [ "$tier" = quick ]; then
  phase "tests (native: unit, data cases, properties at a tenth of their cases)"
  LEADSCORE_QUICK=1 cargo test --quiet --release --lib --test cases --test properties --test alloc
  exit 0
fi

# The runtime natively: what a server that only loads programs builds.
cargo clippy --quiet --release --lib --no-default-features -- -D warnings

phase "set-up (scripts/setup-wasm.sh)"
bash scripts/setup-wasm.sh

phase "lints (the three Wasm builds)"
# The runtime (no features), the form build (`form`) and the full build (`compiler,form,leads`, with its tests).
cargo clippy --quiet --release --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings
cargo clippy --quiet --release --lib --target wasm32-unknown-unknown --no-default-features --features form \
  -- -D warnings
cargo clippy --quiet --release --lib --test web --target wasm32-unknown-unknown --no-default-features \
  --features compiler,form,leads -- -D warnings

phase "PostgreSQL for the receiver's tests (scripts/postgres.sh)"
LEADSCORE_TEST_POSTGRES=$(bash scripts/postgres.sh)
export LEADSCORE_TEST_POSTGRES

# The evaluation benchmark runs each of its benchmarks once as a test. The receiver's benchmark would skip itself
# under `cargo test`, so it is not built here: clippy has checked it above.
phase "tests (native)"
cargo test --release --lib --bins --tests --bench evaluate
cargo test --release --doc
# target/release/leadscore is now built: the scripts below use it as it is (scripts/cli-check.sh says why).
export LEADSCORE_CLI_BUILT=1

if [ -f fuzz/Cargo.toml ]; then
  # Type-checked: building them for fuzzing takes cargo-fuzz and a nightly compiler flag (fuzz/README.md).
  phase "fuzz targets (check)"
  cargo check --quiet --manifest-path fuzz/Cargo.toml
fi

phase "command-line tool on the examples"
bash scripts/cli-check.sh

phase "WebAssembly package (build) and the size budgets"
bash scripts/build-wasm.sh
bash scripts/size.sh

# A debug build: it compiles in less time than an optimised one and checks arithmetic overflow too. The optimised
# builds of pkg/ are what the Node, end-to-end and parity tests below run.
phase "WebAssembly tests in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --no-default-features \
  --features compiler,form,leads --test web

phase "npm package tests in Node (API, types, schema, packaging in Node, a plain page, Vite, webpack, npx)"
node --test --test-concurrency=4 tests/node/

phase "demo landing pages and playground end to end in Chromium (screenshots in target/e2e/)"
bash scripts/build-www.sh
# The playground's test asserts that the page stays responsive during a long backtest: it runs alone. The others
# run side by side (each starts its own servers on free ports).
alone=tests/e2e/playground.test.mjs
side=()
for f in tests/e2e/*.test.mjs; do [ "$f" = "$alone" ] || side+=("$f"); done
node --test --test-concurrency=3 "${side[@]}"
node --test "$alone"

phase "client == server: 100,000 generated leads scored natively and in Wasm under Node, compared"
bash scripts/parity.sh 100000

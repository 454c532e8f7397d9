#!/usr/bin/env bash
# Every test of the project: formatting, lints, unit and data-driven tests, property tests, doc tests, the
# benchmark and fuzz targets built, the command-line tool run on every example, then the WebAssembly package:
# built, tested in headless Chromium and in Node, packed and installed into
# scratch projects (Node, a plain page, Vite, webpack), and the demo landing pages driven end to end in
# Chromium. Installs what it needs (scripts/setup-wasm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== format"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --quiet --all-targets -- -D warnings
bash scripts/setup-wasm.sh
# The three Wasm builds: the runtime (no features), the form build (`form`) and the full build (`compiler,form,leads`),
# and the runtime natively.
cargo clippy --quiet --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings
cargo clippy --quiet --lib --target wasm32-unknown-unknown --no-default-features --features form -- -D warnings
cargo clippy --quiet --lib --test web --target wasm32-unknown-unknown --no-default-features \
  --features compiler,form,leads -- -D warnings
cargo clippy --quiet --lib --no-default-features -- -D warnings

echo "== PostgreSQL for the receiver's tests (scripts/postgres.sh)"
LEADSCORE_TEST_POSTGRES=$(bash scripts/postgres.sh)
export LEADSCORE_TEST_POSTGRES

echo "== tests (native)"
cargo test --release --all-targets
cargo test --release --doc

echo "== benchmark builds"
cargo bench --no-run --quiet

if [ -f fuzz/Cargo.toml ]; then
  echo "== fuzz targets build"
  cargo build --quiet --manifest-path fuzz/Cargo.toml
fi

echo "== command-line tool on the examples"
bash scripts/cli-check.sh

echo "== WebAssembly package (build) and the runtime's size budget"
bash scripts/build-wasm.sh
bash scripts/size.sh

echo "== WebAssembly tests in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver cargo test --release --target wasm32-unknown-unknown --no-default-features \
  --features compiler,form,leads --test web

echo "== npm package tests in Node (API, types, packaging in Node, a plain page, Vite, webpack)"
node --test tests/node/

echo "== the demo landing pages and the playground end to end in Chromium (screenshots in target/e2e/)"
bash scripts/build-www.sh
node --test tests/e2e/

echo "== client == server: 100,000 generated leads scored natively and in Wasm under Node, compared"
bash scripts/parity.sh 100000

#!/usr/bin/env bash
# Every test of the project: formatting, lints, unit and data-driven tests, property tests, doc tests, the
# benchmark and fuzz targets built, and the command-line tool run on every example.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== format"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --quiet --all-targets -- -D warnings

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

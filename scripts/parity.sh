#!/usr/bin/env bash
# Client == server, bit for bit: generates N varied leads (default 100000) over every example model, scores
# each one natively (the command-line tool, `score --full`, submitted and with --partial) and with the Wasm
# build under Node (`Scorer.evaluate`, complete: true and false), and compares the canonical JSON of every
# result. Before that, checks that every entry point reads numbers as JavaScript does (tests/parity/numbers.mjs).
# Builds the command-line tool and pkg/ first when they are missing or older than the sources.
#
#   scripts/parity.sh [N] [--seed S] [--jobs J] [--plain-numbers] [--keep] [--rebuild]
#
# --plain-numbers: every number in the leads written as JSON.stringify writes it (by default some are in
# other spellings, such as 2.50, 2.5e2 or 25 significant digits). --keep: keep the leads in target/parity.
#
# Exit status: 0 when every result is the same, 1 on any difference, 2 when something could not run.
set -euo pipefail
cd "$(dirname "$0")/.."

count=100000
seed=parity-1
jobs=
keep=
rebuild=
plain=
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --plain-numbers) plain=--plain-numbers; shift ;;
    --rebuild) rebuild=1; shift ;;
    [0-9]*) count=$1; shift ;;
    *) echo "usage: scripts/parity.sh [N] [--seed S] [--jobs J] [--plain-numbers] [--keep] [--rebuild]" >&2; exit 2 ;;
  esac
done

start=$(date +%s.%N)
elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

# Newer than every source of the engine?
fresh() {
  [ -z "$rebuild" ] && [ -f "$1" ] && [ -z "$(find src Cargo.toml Cargo.lock npm -newer "$1" -print -quit)" ]
}

export CARGO_TERM_COLOR=never
# (Under scripts/test.sh the tool is the one the tests built: scripts/cli-check.sh says why.)
if ! fresh target/release/leadscore && { [ -z "${LEADSCORE_CLI_BUILT:-}" ] || [ -n "$rebuild" ]; }; then
  echo "== building the command-line tool"
  cargo build --release --quiet
fi
if ! fresh pkg/leadscore_bg.wasm || [ ! -f pkg/node.js ]; then
  echo "== building pkg/"
  [ -d node_modules ] || npm ci --silent
  # The size budget check at the end of the build may fail; the package is complete by then.
  bash scripts/build-wasm.sh || [ -f pkg/node.js ]
fi
echo "== built in $(elapsed) s"

status=0
echo "== number reading (every JSON spelling, natively and in Wasm)"
node tests/parity/numbers.mjs || status=$?

out=target/parity
rm -rf "$out"
mkdir -p "$out"
echo "== generating $count leads (seed $seed)"
node tests/parity/generate.mjs --out "$out" --count "$count" --seed "$seed" $plain
echo "== scoring natively and in Wasm, comparing"
compared=0
node tests/parity/compare.mjs --dir "$out" ${jobs:+--jobs "$jobs"} || compared=$?
if [ "$compared" -gt "$status" ]; then status=$compared; fi
if [ -z "$keep" ] && [ "$status" -eq 0 ]; then
  rm -f "$out"/*.ndjson
fi
echo "== total $(elapsed) s"
exit "$status"

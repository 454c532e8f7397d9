#!/usr/bin/env bash
# The main job: build the command-line tool, check every example model, and score each model's sample leads.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/leadscore
now=2026-11-23T00:00:00Z
for model in examples/*.json; do
  name=$(basename "$model" .json)
  echo "== $name"
  "$bin" check "$model" | tail -n 3
  for leads in examples/leads/"$name".csv examples/leads/"$name".ndjson; do
    [ -f "$leads" ] || continue
    echo "-- $leads"
    "$bin" score "$model" "$leads" --output table --now "$now"
  done
  echo
done

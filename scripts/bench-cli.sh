#!/usr/bin/env bash
# Times the command-line tool as a whole process, built as `dist`, on a million leads (the README's "Native
# speed" table): `score` from NDJSON and from CSV on both B2B examples, and `backtest` on the B2B history. The
# inputs are written once into target/bench-cli/ (the shipped history repeated, examples/leads/repeat-history.mjs;
# the second example's generator, seed 3). Prints a Markdown table of the median of the runs.
#
#   bash scripts/bench-cli.sh [--rows N] [--runs R]
set -euo pipefail
cd "$(dirname "$0")/.."

rows=1000000
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "bench-cli: unknown option $1 (use --rows N, --runs R)" >&2; exit 2 ;;
  esac
done

cargo build --quiet --profile dist --features cli,serve --bin leadscore
bin=target/dist/leadscore
dir=target/bench-cli
mkdir -p "$dir"

history=examples/history/b2b-saas.csv
per=$(($(wc -l < "$history") - 1))
times=$(((rows + per - 1) / per))
b2b="$dir/b2b-$((times * per))"
cyber="$dir/cybersecurity-$rows"
for as in csv ndjson history; do
  if [ ! -s "$b2b.$as" ]; then
    echo "bench-cli: writing $b2b.$as" >&2
    node examples/leads/repeat-history.mjs --model examples/b2b-saas.json --history "$history" \
      --times "$times" --as "$as" > "$b2b.$as.tmp"
    mv "$b2b.$as.tmp" "$b2b.$as"
  fi
done
for as in csv ndjson; do
  if [ ! -s "$cyber.$as" ]; then
    echo "bench-cli: writing $cyber.$as" >&2
    flag=()
    [ "$as" = ndjson ] && flag=(--ndjson)
    node examples/leads/generate-cybersecurity.mjs --rows "$rows" --seed 3 "${flag[@]}" > "$cyber.$as.tmp"
    mv "$cyber.$as.tmp" "$cyber.$as"
  fi
done

# The median of $runs runs of a command, in seconds; the command's output is checked to be there.
median() {
  local t=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" > "$dir/out" 2> "$dir/err"
    end=$(date +%s%N)
    [ -s "$dir/out" ] || { echo "bench-cli: no output from: $*" >&2; cat "$dir/err" >&2; exit 1; }
    t+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

row() {
  local name="$1" leads="$2"
  shift 2
  local ms
  ms=$(median "$@")
  printf '| %s | %d.%02d s | %d leads/s |\n' "$name" $((ms / 1000)) $((ms % 1000 / 10)) $((leads * 1000 / (ms > 0 ? ms : 1)))
}

echo "| command ($(nproc) cores, median of $runs runs) | time | leads/s |"
echo "|---|--:|--:|"
row "score, NDJSON, B2B" $((times * per)) "$bin" score examples/b2b-saas.json "$b2b.ndjson" --now 2025-07-01T00:00:00Z
row "score, NDJSON, cybersecurity" "$rows" "$bin" score examples/cybersecurity.json "$cyber.ndjson" --now 2026-11-23T00:00:00Z
row "score, CSV, B2B" $((times * per)) "$bin" score examples/b2b-saas.json "$b2b.csv" --now 2025-07-01T00:00:00Z
row "score, CSV, cybersecurity" "$rows" "$bin" score examples/cybersecurity.json "$cyber.csv" --now 2026-11-23T00:00:00Z
row "backtest, B2B history" $((times * per)) "$bin" backtest examples/b2b-saas.json "$b2b.history"

#!/usr/bin/env bash
# The size budget of the npm package: the .wasm and its JS glue, each gzipped (-9), at most 64 KB together.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=$((64 * 1024))
wasm=$(gzip -9 -c pkg/leadscore_bg.wasm | wc -c)
glue=$(gzip -9 -c pkg/leadscore.js | wc -c)
total=$((wasm + glue))
printf 'size: leadscore_bg.wasm %d bytes (%d gzipped), leadscore.js %d bytes (%d gzipped)\n' \
  "$(wc -c < pkg/leadscore_bg.wasm)" "$wasm" "$(wc -c < pkg/leadscore.js)" "$glue"
printf 'size: %d bytes gzipped of a %d byte budget (%d%%)\n' "$total" "$budget" $((total * 100 / budget))
if [ "$total" -gt "$budget" ]; then
  echo "size: over budget by $((total - budget)) bytes" >&2
  exit 1
fi

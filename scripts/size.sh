#!/usr/bin/env bash
# The size budget of what a landing page loads: the runtime module (pkg/runtime_bg.wasm) and its JS glue, each
# gzipped (-9), at most 64 KB together. The full build (compiler included) is printed for information.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=$((64 * 1024))
gz() { gzip -9 -c "$1" | wc -c; }
for name in leadscore runtime; do
  printf 'size: %-9s %s_bg.wasm %d bytes (%d gzipped), %s.js %d bytes (%d gzipped)\n' "$name" \
    "$name" "$(wc -c < "pkg/${name}_bg.wasm")" "$(gz "pkg/${name}_bg.wasm")" "$name" "$(wc -c < "pkg/$name.js")" \
    "$(gz "pkg/$name.js")"
done
total=$(($(gz pkg/runtime_bg.wasm) + $(gz pkg/runtime.js)))
printf 'size: runtime %d bytes gzipped of a %d byte budget (%d%%)\n' "$total" "$budget" $((total * 100 / budget))
if [ "$total" -gt "$budget" ]; then
  echo "size: over budget by $((total - budget)) bytes" >&2
  exit 1
fi

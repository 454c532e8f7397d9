#!/usr/bin/env bash
# Size budgets of what pages load, each file gzipped (-9):
#   runtime  pkg/runtime_bg.wasm + runtime.js, at most 64 KB: scoring a compiled program;
#   form     pkg/form_bg.wasm + form.js + auto.js, at most 108 KB: the landing page's whole module (the runtime
#            and the form controller).
# The full build (compiler included) is printed for information.
set -euo pipefail
cd "$(dirname "$0")/.."
gz() { gzip -9 -c "$1" | wc -c; }
for name in leadscore runtime form; do
  printf 'size: %-9s %s_bg.wasm %d bytes (%d gzipped), %s.js %d bytes (%d gzipped)\n' "$name" \
    "$name" "$(wc -c < "pkg/${name}_bg.wasm")" "$(gz "pkg/${name}_bg.wasm")" "$name" "$(wc -c < "pkg/$name.js")" \
    "$(gz "pkg/$name.js")"
done
status=0
check() {
  local name=$1 budget=$2
  shift 2
  local total=0 f
  for f in "$@"; do total=$((total + $(gz "$f"))); done
  printf 'size: %s %d bytes gzipped of a %d byte budget (%d%%)\n' "$name" "$total" "$budget" $((total * 100 / budget))
  if [ "$total" -gt "$budget" ]; then
    echo "size: $name over budget by $((total - budget)) bytes" >&2
    status=1
  fi
}
check runtime $((64 * 1024)) pkg/runtime_bg.wasm pkg/runtime.js
check form $((108 * 1024)) pkg/form_bg.wasm pkg/form.js pkg/auto.js
exit $status

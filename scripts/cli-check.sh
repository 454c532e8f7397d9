#!/usr/bin/env bash
# End-to-end checks of the command-line tool on the shipped examples: real files, real process, exit codes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/leadscore
now=2026-11-23T00:00:00Z
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

for model in examples/*.json; do
  if "$bin" check "$model" > "$tmp/check.txt"; then ok; else bad "check $model"; cat "$tmp/check.txt"; fi
  grep -q "0 error(s), 0 warning(s)" "$tmp/check.txt" && ok || bad "$model has diagnostics"
  name=$(basename "$model" .json)
  for leads in examples/leads/"$name".csv examples/leads/"$name".ndjson; do
    [ -f "$leads" ] || continue
    rows=$(grep -c . "$leads")
    [ "${leads##*.}" = csv ] && rows=$((rows - 1))
    "$bin" score "$model" "$leads" --now "$now" > "$tmp/out.ndjson" 2> "$tmp/err.txt" || bad "score $leads"
    got=$(grep -c . "$tmp/out.ndjson" || true)
    [ "$got" = "$rows" ] && ok || bad "score $leads: $got results for $rows leads"
    grep -q "0 bad row(s)" "$tmp/err.txt" && ok || bad "score $leads reported bad rows: $(cat "$tmp/err.txt")"
    "$bin" score "$model" "$leads" --now "$now" --output csv > "$tmp/out.csv" || bad "score csv $leads"
    [ "$(grep -c . "$tmp/out.csv")" = "$((rows + 1))" ] && ok || bad "csv output of $leads"
    # The program compiled ahead of time scores exactly as its document.
    "$bin" build "$model" -o "$tmp/$name.lsp" 2> /dev/null || bad "build $model"
    "$bin" score "$tmp/$name.lsp" "$leads" --now "$now" --full > "$tmp/lsp.ndjson" 2> /dev/null || bad "score with $name.lsp"
    "$bin" score "$model" "$leads" --now "$now" --full > "$tmp/doc.ndjson" 2> /dev/null || bad "score --full $leads"
    cmp -s "$tmp/lsp.ndjson" "$tmp/doc.ndjson" && ok || bad "$name.lsp scores differently from $model"
    "$bin" explain "$model" "$leads" --now "$now" > "$tmp/explain.txt" || bad "explain $leads"
    grep -q "^lead .*: score" "$tmp/explain.txt" && ok || bad "explain $leads output"
  done
done

# The static analysis: only with --analysis; bounds per group, reachability and threshold per stage.
"$bin" check examples/b2b-saas.json --analysis > "$tmp/analysis.txt" || bad "check --analysis"
grep -Eq "^  sql +reachable +score >= 80$" "$tmp/analysis.txt" && ok || bad "sql threshold: $(cat "$tmp/analysis.txt")"
grep -Eq "^  mql +reachable +score >= 45$" "$tmp/analysis.txt" && ok || bad "mql threshold"
grep -Eq "^  lead +reachable +no score threshold$" "$tmp/analysis.txt" && ok || bad "lead without threshold"
grep -Eq "^  fit +-?[0-9]+\.\.[0-9]+$" "$tmp/analysis.txt" && ok || bad "fit bounds"
grep -q "0 error(s), 0 warning(s)" "$tmp/analysis.txt" && ok || bad "check --analysis summary"
"$bin" check examples/b2b-saas.json > "$tmp/plain.txt"
grep -q "^stages" "$tmp/plain.txt" && bad "check prints the analysis without --analysis" || ok
"$bin" check tests/diagnostics/warnings.json --analysis --format json > "$tmp/analysis.json" || bad "check --analysis --format json"
python3 -c "
import json
a = json.load(open('$tmp/analysis.json'))
assert [(s['id'], s['reachable']) for s in a['stages']] == [('sql', False), ('mql', True), ('lead', True)], a['stages']
assert a['groups'][0]['max'] == 40 and len(a['warnings']) == 3, a
" && ok || bad "analysis JSON"

# A document with errors: exit 1, every error listed with its line.
if "$bin" check tests/diagnostics/expressions.json > "$tmp/bad.txt"; then bad "check of a bad document exited 0"; else ok; fi
[ "$(grep -c '^error\[' "$tmp/bad.txt")" -ge 10 ] && ok || bad "not every error reported"
grep -q "expressions.json:13:45" "$tmp/bad.txt" && ok || bad "line:column missing"

# A bad row does not stop the run and names its line.
printf '{"id":"a","answers":{}}\nnot json\n{"id":"c","answers":{}}\n' > "$tmp/leads.ndjson"
"$bin" score examples/b2b-saas.json "$tmp/leads.ndjson" --now "$now" > "$tmp/o.ndjson" 2> "$tmp/e.txt" || bad "score with a bad row failed"
[ "$(grep -c . "$tmp/o.ndjson")" = 2 ] && ok || bad "bad row: expected 2 results"
grep -q "line 2: not JSON" "$tmp/e.txt" && ok || bad "bad row line not reported: $(cat "$tmp/e.txt")"

# Damaged program bytes are an error that says so, not a crash.
"$bin" build examples/agency.json -o "$tmp/agency.lsp" 2> /dev/null
head -c 200 "$tmp/agency.lsp" > "$tmp/cut.lsp"
if "$bin" score "$tmp/cut.lsp" examples/leads/agency.csv --now "$now" > /dev/null 2> "$tmp/e.txt"; then bad "a cut program scored"; else ok; fi
grep -q "not a compiled program" "$tmp/e.txt" && ok || bad "cut program message: $(cat "$tmp/e.txt")"

# The schema is JSON and names the document's keys.
"$bin" schema > "$tmp/schema.json" || bad "schema"
python3 -c "import json,sys; s=json.load(open('$tmp/schema.json')); assert 'rules' in s['properties'], s" && ok || bad "schema content"

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/usr/bin/env bash
# End-to-end checks of the command-line tool on the shipped examples: real files, real process, exit codes.
set -euo pipefail
cd "$(dirname "$0")/.."
# Under scripts/test.sh the tool is the one `cargo test` built (LEADSCORE_CLI_BUILT=1): a plain `cargo build` would
# build the crate again, because the tests' dev-dependencies turn on other features of shared dependencies.
[ -n "${LEADSCORE_CLI_BUILT:-}" ] || cargo build --release --quiet
bin=target/release/leadscore
now=2026-11-23T00:00:00Z
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# same_records COMPACT FULL: each compact record holds what the whole evaluation on the same line says.
same_records() {
  python3 - "$1" "$2" <<'PY'
import json, sys
compact = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
full = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert len(compact) == len(full), (len(compact), len(full))
for c, e in zip(compact, full):
    want = {"id": e["id"], "score": e["score"], "groups": {g["id"]: g["score"] for g in e["groups"]},
            "stage": e["stage"]["id"], "fired": [l["rule"] for l in e["ledger"]]}
    if e.get("grade"):
        want["grade"] = e["grade"]["letter"]
        if "cell" in e["grade"]:
            want["cell"] = e["grade"]["cell"]
    if e.get("disqualified"):
        want["knockout"] = e["disqualified"]["reason"]
    if e.get("issues"):
        want["issues"] = e["issues"]
    got = {k: v for k, v in c.items() if k != "line"}
    assert got == want, f"{c['id']}: {got} != {want}"
PY
}

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
    # The compact records (scored by the scorer of submitted leads) say what the whole evaluations say.
    same_records "$tmp/out.ndjson" "$tmp/doc.ndjson" && ok || bad "score and score --full disagree on $leads"
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

# The backtest of the shipped history: every row scored, counts that add up, thresholds and suggestions.
history=examples/history/b2b-saas.csv
"$bin" backtest examples/b2b-saas.json "$history" --format json > "$tmp/backtest.json" || bad "backtest"
python3 -c "
import csv, json
r = json.load(open('$tmp/backtest.json'))
rows = list(csv.DictReader(open('$history')))
won = sum(1 for x in rows if x['outcome'] == 'won'); lost = sum(1 for x in rows if x['outcome'] == 'lost')
assert (r['rows'], r['scored'], r['errorCount']) == (len(rows), len(rows), 0), r['rows']
assert (r['won'], r['lost'], r['open']) == (won, lost, len(rows) - won - lost), (r['won'], r['lost'])
assert sum(s['count'] for s in r['stages']) == len(rows)
assert sum(b['won'] + b['lost'] + b['open'] for b in r['histogram']['bins']) == len(rows)
assert [(t['stage'], t['current']) for t in r['thresholds']] == [('mql', 45), ('sql', 80)], r['thresholds']
assert all(t['suggested'] is not None for t in r['thresholds'])
assert r['thresholds'][0]['suggested'] <= r['thresholds'][1]['suggested']
" && ok || bad "backtest JSON"
"$bin" backtest examples/b2b-saas.json "$history" > "$tmp/backtest.txt" || bad "backtest text"
# The 1000 leads of the history, scored both ways.
"$bin" score examples/b2b-saas.json "$history" --now "$now" > "$tmp/h.ndjson" 2> /dev/null || bad "score history"
"$bin" score examples/b2b-saas.json "$history" --now "$now" --full > "$tmp/hf.ndjson" 2> /dev/null || bad "score history --full"
same_records "$tmp/h.ndjson" "$tmp/hf.ndjson" && ok || bad "score and score --full disagree on the history"
grep -Eq "^Sales Qualified Lead \(score >= 80\)" "$tmp/backtest.txt" && ok || bad "backtest text: $(head -20 "$tmp/backtest.txt")"
if "$bin" backtest examples/b2b-saas.json "$history" --outcome result 2> "$tmp/err.txt"; then bad "backtest without its outcome column"; else ok; fi
grep -q "no \`result\` column" "$tmp/err.txt" && ok || bad "missing outcome column message: $(cat "$tmp/err.txt")"

# The funnel planner's worked example, and its inverse.
plan=(--deal-size 50000 --sql-to-won 25 --mql-to-sql 20 --lead-to-mql 10 --visitor-to-lead 2 --year 2027)
"$bin" plan --goal 10000000 "${plan[@]}" --format json > "$tmp/plan.json" || bad "plan"
python3 -c "
import json
p = json.load(open('$tmp/plan.json'))
assert (p['deals'], p['sqls'], p['mqls'], p['leads'], p['visitors']) == (200, 800, 4000, 40000, 2000000), p
assert p['workingDays'] == 261 and len(p['months']) == 12 and p['months'][0]['workingDays'] == 21
" && ok || bad "plan JSON"
"$bin" plan --mqls 4000 "${plan[@]}" > "$tmp/plan.txt" || bad "plan --mqls"
grep -Eq "^ +200 deals \(revenue 10,000,000\)" "$tmp/plan.txt" && ok || bad "inverse plan: $(cat "$tmp/plan.txt")"
if "$bin" plan --goal 10000000 "${plan[@]/25/125}" 2> "$tmp/err.txt"; then bad "plan with a rate above 100%"; else ok; fi
grep -q -- "--sql-to-won: is a percentage" "$tmp/err.txt" && ok || bad "plan error message: $(cat "$tmp/err.txt")"
# A count too large for a double is an error that names the input (it printed `inf` and exited 0).
if "$bin" plan --goal 1e308 "${plan[@]/50000/1}" > "$tmp/out.txt" 2> "$tmp/err.txt"; then bad "plan overflowing: $(cat "$tmp/out.txt")"; else ok; fi
grep -q -- "--sql-to-won: makes the SQLs too large" "$tmp/err.txt" && ok || bad "plan overflow message: $(cat "$tmp/err.txt")"

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

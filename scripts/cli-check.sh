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

# CRM exports as they come (tests/history/generate.mjs): the preset reads each without a mapping document, and
# every value left out is accounted for.
hubspot=tests/history/hubspot-contacts.csv
"$bin" backtest examples/b2b-saas.json "$hubspot" --now "$now" --format json > "$tmp/hs.json" 2> /dev/null || bad "backtest hubspot"
python3 -c "
import csv, json
r = json.load(open('$tmp/hs.json'))
rows = list(csv.DictReader(open('$hubspot', newline='')))
i = r['input']
assert i['mapping'] == 'HubSpot contacts export', i['mapping']
assert i['outcomeColumn'] == 'Lifecycle Stage'
cols = dict(map(tuple, i['columns']))
assert cols['Country/Region'] == 'country' and cols['Number of Employees'] == 'employees' and cols['Industry'] == 'industry', cols
assert i['ignoredColumns'] == ['Record ID', 'Last Name', 'Contact owner'], i['ignoredColumns']
assert (r['rows'], r['scored'], r['errorCount']) == (200, 200, 0)
kind = {'Customer': 'won', 'Evangelist': 'won', 'Other': 'lost', 'Unqualified': 'lost'}
want = {'won': 0, 'lost': 0, 'open': 0}
for x in rows:
    want[kind.get(x['Lifecycle Stage'], 'open')] += 1
assert (r['won'], r['lost'], r['open']) == (want['won'], want['lost'], want['open']), (r['won'], r['lost'], r['open'], want)
assert all(o['kind'] == kind.get(o['value'], 'open') for o in r['outcomes']), r['outcomes']
rules = {c['rule'] for c in i['converted']}
assert 'ranges (51-200) as their midpoint' in rules and 'country names as ISO 3166 codes' in rules, rules
# Every value left out, counted from the file itself: the industries the model has no option for, the unknown country.
refused = {('industry', v) for v in ['Computer Software', 'Financial Services']} | {('country', 'Atlantis')}
counted = {}
for x in rows:
    for field, column in [('industry', 'Industry'), ('country', 'Country/Region')]:
        if (field, x[column]) in refused:
            counted[(field, x[column])] = counted.get((field, x[column]), 0) + 1
assert {(l['field'], l['value']): l['count'] for l in i['leftOut']} == counted, (i['leftOut'], counted)
assert r['rowsWithIssues'] == sum(1 for x in rows if ('industry', x['Industry']) in refused or ('country', x['Country/Region']) in refused)
# Every company size is read: as written (plain digits), or by a rule.
plain = sum(1 for x in rows if x['Number of Employees'].isdigit())
assert sum(c['count'] for c in i['converted'] if c['field'] == 'employees') + plain == len(rows)
" && ok || bad "backtest of a HubSpot export"
# The same export with a mapping document for the industries the model labels otherwise: nothing left out but the
# unknown country; the mapping's name and values are used.
cat > "$tmp/map.json" <<'JSON'
{
  "name": "HubSpot, industries mapped",
  "outcome": {"column": "Lifecycle Stage", "won": ["Customer", "Evangelist"], "lost": ["Other", "Unqualified"]},
  "scored_at": "Create Date",
  "columns": {"Number of Employees": "employees", "Country/Region": "country", "Industry": "industry"},
  "ranges": "lower",
  "values": {"industry": {"Computer Software": "saas", "Financial Services": "fintech"}}
}
JSON
"$bin" backtest examples/b2b-saas.json "$hubspot" --now "$now" --map "$tmp/map.json" --format json > "$tmp/hsm.json" 2> /dev/null || bad "backtest --map"
python3 -c "
import json
r = json.load(open('$tmp/hsm.json'))
i = r['input']
assert i['mapping'] == 'HubSpot, industries mapped'
assert [(l['field'], l['value']) for l in i['leftOut']] == [('country', 'Atlantis')], i['leftOut']
assert 'ranges (51-200) as their lower bound' in {c['rule'] for c in i['converted']}
assert any(c['rule'] == \"the mapping's values\" and c['count'] == 66 for c in i['converted']), i['converted']
assert 'Email' in i['ignoredColumns'], 'only the mapping and same-named columns are read'
" && ok || bad "backtest --map"
# A mapping with a mistake says where.
echo '{"columns": {"Industry": 3}}' > "$tmp/bad-map.json"
if "$bin" backtest examples/b2b-saas.json "$hubspot" --map "$tmp/bad-map.json" 2> "$tmp/err.txt"; then bad "a bad mapping was accepted"; else ok; fi
grep -q "bad-map.json: /columns/Industry: invalid type: integer \`3\`, expected a string at line 1 column 26" "$tmp/err.txt" && ok || bad "bad mapping message: $(cat "$tmp/err.txt")"
"$bin" map examples/b2b-saas.json "$hubspot" > "$tmp/proposed.json" || bad "map"
"$bin" backtest examples/b2b-saas.json "$hubspot" --now "$now" --map "$tmp/proposed.json" --format json > "$tmp/hsp.json" 2> /dev/null || bad "backtest --map (proposed)"
python3 -c "
import json
a, b = json.load(open('$tmp/hs.json')), json.load(open('$tmp/hsp.json'))
assert a == b, 'the proposed mapping reads the file as the automatic one does'
" && ok || bad "map proposes what backtest uses"
"$bin" schema mapping > "$tmp/mapping.schema.json" || bad "schema mapping"
python3 -c "
import json
s = json.load(open('$tmp/mapping.schema.json'))
assert set(s['properties']) == {'name', 'columns', 'outcome', 'scored_at', 'ranges', 'values'}, s['properties'].keys()
" && ok || bad "mapping schema"
salesforce=tests/history/salesforce-leads.csv
"$bin" backtest examples/b2b-saas.json "$salesforce" --now "$now" --format json > "$tmp/sf.json" 2> /dev/null || bad "backtest salesforce"
python3 -c "
import csv, json
r = json.load(open('$tmp/sf.json'))
rows = list(csv.DictReader(open('$salesforce', newline='')))
assert r['input']['mapping'] == 'Salesforce leads report'
n = lambda v: sum(1 for x in rows if x['Lead Status'] == v)
assert (r['won'], r['lost']) == (n('Closed - Converted'), n('Closed - Not Converted'))
assert r['open'] == n('Open - Not Contacted') + n('Working - Contacted'), 'open leads are not lost'
assert dict(map(tuple, r['input']['columns']))['No. of Employees'] == 'employees'
" && ok || bad "backtest of a Salesforce report"
# Honest results: no suggestion when no column is a field, or from too few leads; the notes say why.
printf 'Name,Deal Stage\nAnn,won\nBo,lost\n' > "$tmp/nothing.csv"
"$bin" backtest examples/b2b-saas.json "$tmp/nothing.csv" --outcome "Deal Stage" --format json > "$tmp/nothing.json" 2> /dev/null || bad "backtest nothing"
python3 -c "
import json
r = json.load(open('$tmp/nothing.json'))
assert all(t['suggested'] is None for t in r['thresholds'])
assert any(n.startswith('No column of the file is a field of the model') for n in r['notes']), r['notes']
" && ok || bad "no suggestion without a field column"
head -11 "$history" > "$tmp/few.csv"
"$bin" backtest examples/b2b-saas.json "$tmp/few.csv" --format json > "$tmp/few.json" 2> /dev/null || bad "backtest few"
python3 -c "
import json
r = json.load(open('$tmp/few.json'))
assert all(t['suggested'] is None for t in r['thresholds'])
assert any('at least 30 leads with an outcome, 5 of them won' in n for n in r['notes']), r['notes']
" && ok || bad "no suggestion from too few leads"
"$bin" template examples/b2b-saas.json > "$tmp/template.csv" || bad "template"
head -c 40 "$tmp/template.csv" | grep -q '^id,scored_at,utm_source,' && ok || bad "template: $(head -c 80 "$tmp/template.csv")"

# Champion and challenger on the shipped history: the challenger lowers the SQL threshold and drops a rule. The
# changes are what scoring the history with each model separately gives.
python3 -c "
import json
m = json.load(open('examples/b2b-saas.json'))
for s in m['stages']:
    if s['id'] == 'sql': s['when'] = s['when'].replace('score >= 80', 'score >= 70')
m['rules'] = [r for r in m['rules'] if r['id'] != 'timeline_now']
json.dump(m, open('$tmp/challenger.json', 'w'))
# Without its scored_at column, so that score (which scores every lead at --now) sees what compare sees.
import csv
rows = list(csv.DictReader(open('$history', newline='')))
w = csv.DictWriter(open('$tmp/at-now.csv', 'w', newline=''), [k for k in rows[0] if k != 'scored_at'], extrasaction='ignore')
w.writeheader(); w.writerows(rows)
"
"$bin" compare examples/b2b-saas.json "$tmp/challenger.json" "$tmp/at-now.csv" --now "$now" --format json > "$tmp/cmp.json" || bad "compare"
"$bin" score examples/b2b-saas.json "$tmp/at-now.csv" --now "$now" > "$tmp/a.ndjson" 2> /dev/null || bad "score A"
"$bin" score "$tmp/challenger.json" "$tmp/at-now.csv" --now "$now" > "$tmp/b.ndjson" 2> /dev/null || bad "score B"
python3 -c "
import json
c = json.load(open('$tmp/cmp.json'))
a = [json.loads(l) for l in open('$tmp/a.ndjson')]
b = [json.loads(l) for l in open('$tmp/b.ndjson')]
assert c['leads'] == len(a) == len(b) == 1000
moved = [(x, y) for x, y in zip(a, b) if x['stage'] != y['stage']]
assert c['changed'] == len(moved) > 0, (c['changed'], len(moved))
assert sum(t['count'] for t in c['transitions']) == c['changed']
assert [(m['id'], m['from'], m['to']) for m in c['moved']] == [(x['id'], x['stage'], y['stage']) for x, y in moved]
for m, (x, y) in zip(c['moved'], moved):
    assert m['gained'] == [r for r in y['fired'] if r not in x['fired']] and m['dropped'] == [r for r in x['fired'] if r not in y['fired']], m
assert any(m['dropped'] == ['timeline_now'] for m in c['moved'])
assert [t['current'] for t in c['b']['thresholds']] == [45, 70] and c['a']['rows'] == c['b']['rows'] == 1000
" && ok || bad "compare JSON"
"$bin" compare examples/b2b-saas.json "$tmp/challenger.json" "$history" --now "$now" > "$tmp/cmp.txt" || bad "compare text"
grep -q "^  mql -> sql: " "$tmp/cmp.txt" && ok || bad "compare text: $(head -20 "$tmp/cmp.txt")"

# The funnel planner's worked example, and its inverse.
plan=(--deal-size 50000 --sql-to-won 25 --mql-to-sql 20 --lead-to-mql 10 --visitor-to-lead 2 --year 2027)
"$bin" plan --goal 10000000 "${plan[@]}" --format json > "$tmp/plan.json" || bad "plan"
python3 -c "
import json
p = json.load(open('$tmp/plan.json'))
assert (p['deals'], p['sqls'], p['mqls'], p['leads'], p['visitors']) == (200, 800, 4000, 40000, 2000000), p
assert p['workingDays'] == 261 and len(p['months']) == 12 and p['months'][0]['workingDays'] == 21
assert p['steps'][:3] == ['10,000,000 ÷ 50,000 = 200 deals', '200 ÷ 25 % = 800 SQLs', '800 ÷ 20 % = 4,000 MQLs'], p['steps']
for k in ['deals', 'sqls', 'mqls', 'leads', 'visitors']:
    assert sum(m[k] for m in p['months']) == p[k], k
" && ok || bad "plan JSON"
# Only deals, SQLs and MQLs: the rates of leads and visitors are optional.
"$bin" plan --goal 10000000 --deal-size 50000 --sql-to-won 25 --mql-to-sql 20 --year 2027 --format json > "$tmp/plan3.json" || bad "plan without lead rates"
python3 -c "
import json
p = json.load(open('$tmp/plan3.json'))
assert (p['deals'], p['sqls'], p['mqls'], p['leads'], p['visitors']) == (200, 800, 4000, None, None), p
assert sum(m['mqls'] for m in p['months']) == 4000
" && ok || bad "plan without lead rates JSON"
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

# Many leads are scored on several threads and written in input order, CSV and NDJSON alike, bad rows named in
# order: 20 copies of the sample leads, numbered, with a bad line every 997.
python3 - "$tmp" <<'PY'
import csv, json, sys
tmp = sys.argv[1]
leads = [json.loads(l) for l in open("examples/leads/b2b-saas.ndjson") if l.strip()]
with open(f"{tmp}/many.ndjson", "w") as out:
    for i in range(20 * 1000):
        lead = dict(leads[i % len(leads)], id=f"L{i}")
        out.write("not json\n" if i % 997 == 5 else json.dumps(lead) + "\n")
rows = list(csv.reader(open("examples/leads/b2b-saas.csv")))
with open(f"{tmp}/many.csv", "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(rows[0])
    for i in range(20 * 1000):
        row = rows[1 + i % (len(rows) - 1)]
        w.writerow([f"L{i}" if h == "id" else v for h, v in zip(rows[0], row)])
PY
for f in many.ndjson many.csv; do
  "$bin" score examples/b2b-saas.json "$tmp/$f" --now "$now" > "$tmp/o.ndjson" 2> "$tmp/e.txt" || bad "score $f"
  python3 - "$tmp/o.ndjson" "$tmp/e.txt" "$f" <<'PY' && ok || bad "$f: not in input order"
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
skipped = [] if sys.argv[3].endswith(".csv") else [i for i in range(20000) if i % 997 == 5]
assert ids == [f"L{i}" for i in range(20000) if i not in skipped], "ids out of order"
errors = [l.split(":")[0] for l in open(sys.argv[2]) if l.startswith("line ")]
assert errors == [f"line {i + 1}" for i in skipped], errors
PY
done

# Output that cannot be written stops the run with an error, threads and all (it once waited forever).
if timeout 60 "$bin" score examples/b2b-saas.json "$tmp/many.ndjson" --now "$now" > /dev/full 2> "$tmp/e.txt"; then
  bad "score into a full disk exited 0"
else
  grep -q "cannot write: No space left" "$tmp/e.txt" && ok || bad "full disk: $(tail -1 "$tmp/e.txt")"
fi
timeout 60 bash -c "'$bin' score examples/b2b-saas.json '$tmp/many.ndjson' --now '$now' 2> /dev/null | head -1 > /dev/null" \
  && ok || bad "score into a pipe closed early did not stop"

# Damaged program bytes are an error that says so, not a crash.
"$bin" build examples/agency.json -o "$tmp/agency.lsp" 2> /dev/null
head -c 200 "$tmp/agency.lsp" > "$tmp/cut.lsp"
if "$bin" score "$tmp/cut.lsp" examples/leads/agency.csv --now "$now" > /dev/null 2> "$tmp/e.txt"; then bad "a cut program scored"; else ok; fi
grep -q "not a compiled program" "$tmp/e.txt" && ok || bad "cut program message: $(cat "$tmp/e.txt")"

# The schema is JSON and names the document's keys; the npm package ships it as it is (npm/schema.json, which
# the examples name in their `$schema`).
"$bin" schema > "$tmp/schema.json" || bad "schema"
python3 -c "import json,sys; s=json.load(open('$tmp/schema.json')); assert 'rules' in s['properties'], s" && ok || bad "schema content"
cmp -s "$tmp/schema.json" npm/schema.json && ok \
  || bad "npm/schema.json is not what \`leadscore schema\` prints: run \`target/release/leadscore schema > npm/schema.json\`"

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]

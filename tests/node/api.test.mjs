// The npm package's API in Node, as a server uses it: compile, evaluate, sessions, verification, errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import init, { Scorer, check, version } from "../../pkg/node.js";
import { root, NOW } from "./support.mjs";

const b2b = readFileSync(join(root, "examples/b2b-saas.json"), "utf8");
const leads = readFileSync(join(root, "examples/leads/b2b-saas.ndjson"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l));
const events = (lead) => (lead.events ?? []).map((e) => ({ type: e.type, at: Date.parse(e.at) }));

test("the module is ready on import in Node; init() resolves at once", async () => {
  await init();
  assert.match(version(), /^\d+\.\d+\.\d+$/);
});

test("a scorer compiles the example models and says their rules hash", () => {
  for (const name of ["b2b-saas", "b2c-fitness", "agency", "it-software"]) {
    const s = new Scorer(readFileSync(join(root, `examples/${name}.json`), "utf8"));
    assert.match(s.hash, /^[0-9a-f]{16}$/);
    assert.deepEqual(s.warnings, []);
    s.free();
  }
});

test("a plain object compiles like its JSON text", () => {
  assert.equal(new Scorer(JSON.parse(b2b)).hash, new Scorer(b2b).hash);
});

test("compile errors throw a LeadscoreError with every diagnostic", () => {
  const doc = { leadscore: 1, id: "x", fields: [{ id: "a", type: "integer" }], rules: [{ id: "r", group: "fit", when: "a >", points: 1 }, { id: "s", group: "fit", when: "b > 1", points: 1 }], stages: [{ id: "lead" }] };
  assert.throws(
    () => new Scorer(doc),
    (e) => {
      assert.ok(e instanceof Error);
      assert.equal(e.name, "LeadscoreError");
      assert.deepEqual(e.diagnostics.map((d) => [d.code, d.pointer]), [
        ["expr_syntax", "/rules/0/when"],
        ["unknown_name", "/rules/1/when"],
      ]);
      for (const d of e.diagnostics) assert.ok(d.line >= 1 && d.column >= 1 && d.end >= d.start, JSON.stringify(d));
      return true;
    },
  );
});

test("check reports without throwing, also for text that is not JSON", () => {
  const d = check('{"leadscore": 1,\n  "id": }');
  assert.equal(d.length, 1);
  assert.equal(d[0].code, "json_syntax");
  assert.equal(d[0].line, 2);
  assert.deepEqual(check(b2b).filter((d) => d.severity === "error"), []);
});

test("analysis gives the reachable ranges, each stage's score threshold and the warnings", () => {
  const a = new Scorer(b2b).analysis("it");
  assert.deepEqual(a.total, { min: -52, max: 125 });
  assert.deepEqual(a.groups[0], { id: "fit", label: a.groups[0].label, min: -42, max: 60 });
  assert.deepEqual(
    a.stages.map((s) => [s.id, s.reachable, s.threshold]),
    [["sql", true, 80], ["mql", true, 45], ["lead", true, null], ["subscriber", true, null]],
  );
  assert.equal(a.stages[0].label, "Lead qualificato per le vendite");
  assert.deepEqual(a.warnings, []);
  const doc = {
    leadscore: 1, id: "k", fields: [{ id: "country", type: "country" }],
    knockouts: [{ id: "embargo", when: "country in ['XX', 'YY']", reason: "embargo" }, { id: "sanctioned", when: "country == 'XX'", reason: "embargo" }],
    stages: [{ id: "lead", when: "score > 10" }, { id: "rest" }],
  };
  const s = new Scorer(doc);
  assert.deepEqual(s.analysis().warnings, s.warnings);
  // In document order.
  assert.deepEqual(s.warnings.map((w) => [w.code, w.pointer]), [
    ["overlapping_knockouts", "/knockouts/1/when"],
    ["unreachable_stage", "/stages/0/when"],
  ]);
  // A program from bytes has no text: the same warnings, without positions.
  const b = new Scorer(s.toBytes()).analysis();
  const sorted = (ws) => ws.map((w) => `${w.code} ${w.pointer} ${w.message} ${w.line}`).sort();
  assert.deepEqual(sorted(b.warnings), sorted(s.warnings.map((w) => ({ ...w, line: undefined }))));
  assert.deepEqual(b.stages.map((st) => [st.id, st.reachable, st.threshold]), [["lead", false, 10], ["rest", true, null]]);
});

test("evaluate scores the sample leads the same as the CLI's reference numbers", () => {
  const s = new Scorer(b2b);
  const expected = JSON.parse(readFileSync(new URL("./b2b-expected.json", import.meta.url), "utf8"));
  for (const lead of leads) {
    const e = s.evaluate(lead.answers, events(lead), NOW, { complete: true, hints: false });
    assert.deepEqual({ score: e.score, stage: e.stage.id }, expected[lead.id], lead.id);
    assert.equal(e.hints, undefined);
    assert.equal(Object.getPrototypeOf(e.ledger[0]?.inputs ?? {}), Object.prototype);
  }
});

test("score gives the bare numbers of evaluate, for scoring many leads", () => {
  const s = new Scorer(b2b);
  for (const lead of leads) {
    const e = s.evaluate(lead.answers, events(lead), NOW, { complete: true, hints: false });
    const r = s.score(lead.answers, events(lead), NOW);
    assert.equal(r.score, e.score, lead.id);
    assert.equal(r.stage, e.stage.id, lead.id);
    assert.equal(r.knockout, e.disqualified?.knockout, lead.id);
    assert.deepEqual(r.groups, Object.fromEntries(e.groups.map((g) => [g.id, g.score])), lead.id);
    assert.deepEqual(r.fired, e.ledger.map((l) => l.rule), lead.id);
  }
  assert.deepEqual(s.score({ employees: "x" }, [], NOW).issues.map((i) => i.field), ["employees"]);
});

test("score on a minimal model: no rule fired is an empty list, no knockout is absent", () => {
  const s = new Scorer({
    leadscore: 1,
    id: "minimal",
    fields: [{ id: "n", type: "number" }],
    rules: [{ id: "big", group: "fit", when: "n > 10", points: 5 }],
    stages: [{ id: "lead" }],
  });
  assert.deepEqual(s.score({ n: 1 }, [], NOW), {
    score: 0,
    groups: { fit: 0, engagement: 0 },
    stage: "lead",
    fired: [],
    issues: [],
  });
  assert.deepEqual(s.score({ n: 50 }, undefined, NOW), {
    score: 5,
    groups: { fit: 5, engagement: 0 },
    stage: "lead",
    fired: ["big"],
    issues: [],
  });
  // The same scorer, one lead after another: nothing of the last lead is left.
  assert.deepEqual(s.score({}, [], NOW).fired, []);
});

test("bad answers are left out and reported by field; nothing throws", () => {
  const s = new Scorer(b2b);
  const e = s.evaluate({ employees: "many", industry: "fintech", nope: 1, country: "Italy" }, [{ type: "teleport", at: NOW }], NOW);
  assert.deepEqual(e.issues.map((i) => [i.field, i.code]).sort(), [
    ["country", "format"],
    ["employees", "type"],
    ["nope", "unknown_field"],
    ["teleport", "unknown_event"],
  ]);
  assert.ok(e.hints && typeof e.hints.stage === "string");
});

test("a session gives the same score as evaluate after every change", () => {
  const s = new Scorer(b2b);
  const lead = leads[0];
  const session = s.session(NOW);
  const given = {};
  for (const [field, value] of Object.entries(lead.answers)) {
    assert.equal(session.set(field, value), undefined, field);
    given[field] = value;
    const e = s.evaluate(given, [], NOW, { complete: true, hints: false });
    assert.equal(session.total, e.score, `after ${field}`);
    assert.equal(session.stage, e.stage.id, `after ${field}`);
  }
  for (const ev of events(lead)) assert.equal(session.record(ev.type, ev.at), undefined);
  const full = session.evaluate({ complete: true, hints: false });
  assert.equal(full.score, session.total);
  assert.deepEqual(Array.from(session.groups()), full.groups.map((g) => g.score));
  // Multi answers come back in the order of the field's options.
  const sorted = (a) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort() : v]));
  assert.deepEqual(sorted(session.answers()), sorted(lead.answers));
});

test("the session's number fast path and text input", () => {
  const s = new Scorer(b2b);
  const session = s.session(NOW);
  const i = session.fieldIndex("employees");
  assert.ok(i >= 0);
  assert.equal(session.fieldIndex("nope"), -1);
  assert.equal(session.setNumber(i, 420), true);
  const t = session.total;
  assert.equal(session.setNumber(i, -5), false, "below the field's minimum");
  assert.equal(session.input("employees", " 420 "), undefined);
  assert.equal(session.total, t);
  assert.equal(session.input("employees", "lots").code, "type");
  assert.equal(session.set("employees", null), undefined);
  assert.equal(session.total, 0);
  session.now = NOW + 86_400_000;
  assert.equal(session.now, NOW + 86_400_000);
});

test("a server re-checks a claim and names what was tampered with", () => {
  const s = new Scorer(b2b);
  const lead = leads[0];
  const e = s.evaluate(lead.answers, events(lead), NOW, { complete: true, hints: false });
  const claim = {
    rules_hash: s.hash,
    at: NOW,
    answers: lead.answers,
    events: events(lead),
    score: e.score,
    stage: e.stage.id,
    groups: Object.fromEntries(e.groups.map((g) => [g.id, g.score])),
    rules: e.ledger.map((l) => l.rule).reverse(),
  };
  const ok = s.verify(claim);
  assert.equal(ok.ok, true, JSON.stringify(ok.mismatches));
  assert.equal(ok.evaluation.score, e.score);
  const forged = s.verify({ ...claim, score: e.score + 40, stage: "sql", rules_hash: "0000000000000000" });
  assert.equal(forged.ok, false);
  assert.deepEqual(forged.mismatches.map((m) => m.what).sort(), ["rules_hash", "score", ...(e.stage.id === "sql" ? [] : ["stage"])].sort());
  const late = s.verify(claim, { now: NOW + 3_600_000, maxSkewMs: 60_000 });
  assert.deepEqual(late.mismatches.map((m) => m.what), ["at"]);
  // The grade as the controller's `leadscore_grade` carries it: the cell or letter, "" for no grade.
  const grade = e.grade.cell ?? e.grade.letter;
  assert.equal(s.verify({ ...claim, grade }).ok, true);
  assert.deepEqual(s.verify({ ...claim, grade: "" }).mismatches, [{ what: "grade", claimed: "", actual: grade }]);
});

test("a model without a grade: the empty grade the controller sends is verified, any other is not", () => {
  const s = new Scorer(readFileSync(join(root, "examples/b2c-fitness.json"), "utf8"));
  const answers = { goals: ["lose_weight"], age: 38, country: "GB", email: "hannah.price@outlook.com" };
  const e = s.evaluate(answers, [], NOW, { complete: true, hints: false });
  assert.equal(e.grade, null, "no grade: null, not left out");
  const claim = { rules_hash: s.hash, at: NOW, answers, events: [], score: e.score, stage: e.stage.id, grade: "" };
  const ok = s.verify(claim);
  assert.equal(ok.ok, true, JSON.stringify(ok.mismatches));
  assert.deepEqual(s.verify({ ...claim, grade: "A" }).mismatches, [{ what: "grade", claimed: "A", actual: null }]);
});

test("answersFromForm reads a submitted form as the browser's controller does: FormData, URLSearchParams, pairs", () => {
  const s = new Scorer(b2b);
  const body =
    "employees=250&decision_maker=on&data_sources=bigquery&data_sources=hubspot&company=&budget_monthly=lots" +
    "&country=it&leadscore_score=12&nope=1";
  const params = new URLSearchParams(body);
  const form = new FormData();
  for (const [k, v] of params) form.append(k, v);
  const expected = {
    answers: { employees: 250, decision_maker: true, data_sources: ["bigquery", "hubspot"], country: "IT" },
    issues: [{ field: "budget_monthly", code: "type", message: '`budget_monthly` takes a number, not "lots"' }],
  };
  const generator = (function* () {
    yield* params;
  })();
  for (const entries of [params, form, [...params], generator]) assert.deepEqual(s.answersFromForm(entries), expected);
  // What evaluate() and verify() take: no issue left for them.
  assert.deepEqual(s.evaluate(expected.answers, [], NOW, { hints: false }).issues, []);
  for (const [bad, message] of [
    [undefined, /`entries` must be a FormData/],
    [{ employees: "250" }, /`entries` must be a FormData/],
    [[["employees", 250]], /entry #0 \(`employees`\) is not a string/],
    [[["employees"]], /not a \[name, value\] pair/],
    ["employees=250", /`entries` must be a FormData/],
  ]) {
    assert.throws(() => s.answersFromForm(bad), (e) => e instanceof Error && message.test(e.message) && e.message.startsWith("leadscore: "));
  }
  const withFile = new FormData();
  withFile.append("cv", new Blob(["x"]), "cv.pdf");
  assert.throws(() => s.answersFromForm(withFile), /a file\?/);
});

test("formatHint: every hint of the sample leads as a sentence with the model's labels, in English and Italian", () => {
  const s = new Scorer(b2b);
  const model = s.model("en");
  const labelOf = (list, id) => list.find((x) => x.id === id)?.label ?? id;
  let n = 0;
  const kinds = new Set();
  for (const lead of leads) {
    const e = s.evaluate(lead.answers, events(lead), NOW, { complete: false });
    for (const hint of [...e.hints.reach, ...e.hints.closer]) {
      kinds.add(hint.kind);
      const en = s.formatHint(hint);
      const it = s.formatHint(hint, "it");
      if (hint.kind === "event") {
        const gain = new Intl.NumberFormat("en", { maximumFractionDigits: 2 }).format(hint.gain);
        assert.equal(en, `record a ${labelOf(model.events, hint.name).toLowerCase()} (+${gain})`);
        assert.match(it, /^registra .+ \(\+[\d.,]+\)$/);
      } else {
        const label = labelOf(model.fields, hint.name);
        assert.ok(en.startsWith(`${hint.kind === "change" ? "change" : "answer"} “${label}” `), en);
        assert.match(en, /\(\+[\d,.]+\)$/);
        assert.match(it, /^(rispondi a|cambia) “.+” (con|in) .+ \(\+[\d.,]+\)$/);
      }
      n++;
    }
  }
  assert.ok(n >= 10 && kinds.size === 3, `${n} hints of kinds ${[...kinds]}`);
  // Values read with the model's option labels.
  const field = model.fields.find((f) => f.options?.some((o) => o.label !== o.value));
  const option = field.options.find((o) => o.label !== o.value);
  assert.equal(s.formatHint({ kind: "answer", name: field.id, value: option.value, gain: 2 }), `answer “${field.label}” with ${option.label} (+2)`);
  // Bad hints: a TypeError naming the part.
  for (const [hint, param] of [
    [null, "hint"], ["answer", "hint"], [{ kind: "guess", name: "x", gain: 1 }, "hint.kind"],
    [{ kind: "answer", gain: 1 }, "hint.name"], [{ kind: "event", name: "demo_request", gain: "2" }, "hint.gain"],
  ]) {
    assert.throws(() => s.formatHint(hint), (err) => err instanceof TypeError && err.message.includes(`\`${param}\``), JSON.stringify(hint));
  }
  assert.throws(() => s.formatHint({ kind: "event", name: "demo_request", gain: 1 }, 5), /`locale`/);
});

// `scoreBatch`: many leads as columns, checked lead by lead against `score()` on every example model's sample
// leads and on the minimal model, with each optional part absent, empty and present; and its errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Scorer } from "../../pkg/node.js";
import { root, NOW, MINIMAL } from "./support.mjs";
import { leadsFromCsv, leadsFromNdjson } from "../../bench/wasm/leads.js";
import { utf8Column } from "../../bench/wasm/suite.js";

const read = (path) => readFileSync(join(root, path), "utf8");

/** Each example model with its sample leads (CSV, and NDJSON where there is one). */
const examples = readdirSync(join(root, "examples"))
  .filter((f) => f.endsWith(".json"))
  .map((file) => {
    const name = file.replace(/\.json$/, "");
    const model = JSON.parse(read(`examples/${file}`));
    const leads = leadsFromCsv(model, read(`examples/leads/${name}.csv`));
    if (name === "b2b-saas") leads.push(...leadsFromNdjson(read("examples/leads/b2b-saas.ndjson")));
    return { name, model, leads };
  });

/** An option's value: options are strings or `{ value, label }`. */
const optionValue = (o) => (typeof o === "string" ? o : o.value);

/**
 * Leads as columns: every field and event of the model. When `typed`, numbers as a Float64Array, choices as an
 * Int32Array of option numbers (where every value of the column is an option or none), texts as one UTF-8
 * buffer (where every value is a non-empty string or none).
 */
function columns(model, leads, typed) {
  const answers = {};
  for (const f of model.fields) {
    const values = leads.map((l) => l.answers[f.id] ?? null);
    const numeric = f.type === "number" || f.type === "integer";
    const options = f.type === "choice" ? f.options.map(optionValue) : [];
    const numbers = values.map((v) => (v === null ? -1 : options.indexOf(v)));
    const text = ["string", "email", "country"].includes(f.type);
    if (typed && numeric) answers[f.id] = Float64Array.from(values, (v) => v ?? NaN);
    else if (typed && text && values.every((v) => v === null || (typeof v === "string" && v !== ""))) {
      answers[f.id] = utf8Column(values);
    }
    else if (typed && f.type === "choice" && values.every((v, i) => v === null || numbers[i] >= 0)) {
      answers[f.id] = Int32Array.from(numbers);
    } else answers[f.id] = values;
  }
  // Events as lists per lead, or typed (offsets into one Float64Array of times).
  const events = {};
  for (const e of model.events ?? []) {
    const lists = leads.map((l) => l.events.filter((x) => x.type === e.id).map((x) => x.at));
    const offsets = Uint32Array.from([0, ...lists.map((_, i) => lists.slice(0, i + 1).flat().length)]);
    events[e.id] = typed ? { offsets, at: Float64Array.from(lists.flat()) } : lists.map((t) => (t.length ? t : null));
  }
  return { count: leads.length, answers, events };
}

/** Lead `i` of a batch result, in the shape `score()` gives. */
function lead(scorer, r, i) {
  const ids = scorer.ids();
  const groups = Object.fromEntries(ids.groups.map((g, k) => [g, r.groups[i * ids.groups.length + k]]));
  const fired = ids.rules.filter((_, k) => (r.fired[i * r.words + (k >> 5)] >>> (k & 31)) & 1);
  const out = { score: r.total[i], groups, stage: r.stage[i] < 0 ? "disqualified" : ids.stages[r.stage[i]], fired };
  if (r.knockout[i] >= 0) out.knockout = ids.knockouts[r.knockout[i]];
  out.issues = r.issues.filter((x) => x.lead === i).map(({ lead: _, ...issue }) => issue);
  return out;
}

function sameAsScore(scorer, leads, r, where) {
  assert.equal(r.total.length, leads.length, where);
  assert.equal(r.words, Math.ceil(scorer.ids().rules.length / 32), where);
  leads.forEach((l, i) => {
    const want = scorer.score(l.answers, l.events, NOW);
    assert.deepEqual(lead(scorer, r, i), { ...want, issues: want.issues.map(({ field, code, message }) => ({ field, code, message })) }, `${where}: lead ${i} (${l.id})`);
  });
}

test("scoreBatch gives score()'s numbers, stages, knockouts and fired rules for every example's sample leads", () => {
  let compared = 0;
  let choiceColumns = 0;
  let textColumns = 0;
  for (const { name, model, leads } of examples) {
    const scorer = new Scorer(model);
    for (const typed of [false, true]) {
      const batch = columns(model, leads, typed);
      choiceColumns += Object.values(batch.answers).filter((c) => c instanceof Int32Array).length;
      textColumns += Object.values(batch.answers).filter((c) => c.utf8 instanceof Uint8Array).length;
      const r = scorer.scoreBatch(batch, NOW);
      assert.ok(r.total instanceof Float64Array && r.fired instanceof Uint32Array, name);
      assert.ok(r.stage instanceof Int32Array && r.knockout instanceof Int32Array, name);
      sameAsScore(scorer, leads, r, `${name}${typed ? " (Float64Array)" : ""}`);
      compared += leads.length;
    }
    // Fired rules are set: some lead of every example fires some rule.
    assert.ok(scorer.scoreBatch(columns(model, leads, false), NOW).fired.some((w) => w !== 0), name);
  }
  assert.ok(compared > 100, `${compared} leads compared`);
  assert.ok(choiceColumns >= 5, `${choiceColumns} choice columns given as option numbers`);
  assert.ok(textColumns >= 10, `${textColumns} text columns given as UTF-8`);
});

test("scoreBatch on the minimal model: no events, no knockouts, no steps, no grade", () => {
  const scorer = new Scorer(MINIMAL);
  const leads = [
    { id: "big", answers: { email: "a@b.co", employees: 120 }, events: [] },
    { id: "small", answers: { email: "a@b.co", employees: 5 }, events: [] },
    { id: "empty", answers: {}, events: [] },
  ];
  const r = scorer.scoreBatch(columns(MINIMAL, leads, true), NOW);
  sameAsScore(scorer, leads, r, "minimal");
  assert.deepEqual([...r.total], [10, 0, 0]);
  assert.deepEqual([...r.stage], [0, 1, 1]);
  assert.deepEqual([...r.knockout], [-1, -1, -1]);
  assert.deepEqual([...r.fired], [1, 0, 0]);
});

test("scoreBatch with its optional parts absent, empty and present", () => {
  const scorer = new Scorer(MINIMAL);
  const none = { score: 0, fit: 0 };
  for (const batch of [
    { count: 2 },
    { count: 2, answers: {} },
    { count: 2, answers: {}, events: {} },
    { count: 2, answers: null, events: undefined },
    { count: 2, answers: { employees: undefined } },
    { count: 2, answers: { employees: [null, undefined] } },
    { count: 2, answers: { employees: new Float64Array([NaN, NaN]) } },
  ]) {
    const r = scorer.scoreBatch(batch, NOW);
    assert.deepEqual([...r.total], [none.score, none.score], JSON.stringify(batch));
    assert.deepEqual([...r.stage], [1, 1]);
    assert.deepEqual(r.issues, []);
  }
  const empty = scorer.scoreBatch({ count: 0, answers: { employees: [] } }, NOW);
  assert.equal(empty.total.length, 0);
  assert.equal(empty.fired.length, 0);
  // Present, on a model with events: a lead with occurrences, one with an empty list, one with none.
  const b2b = examples.find((e) => e.name === "b2b-saas");
  const s = new Scorer(b2b.model);
  const leads = [
    { id: "views", answers: { email: "ada@zahlwerk.de" }, events: [{ type: "page_view", at: NOW - 86_400_000 }] },
    { id: "no views", answers: { email: "ada@zahlwerk.de" }, events: [] },
    { id: "nothing", answers: {}, events: [] },
  ];
  const batch = columns(b2b.model, leads, true);
  batch.events.page_view[1] = [];
  sameAsScore(s, leads, s.scoreBatch(batch, NOW), "events");
});

test("scoreBatch reports refused values by lead and unknown columns for the batch, as score() does", () => {
  const scorer = new Scorer(MINIMAL);
  const r = scorer.scoreBatch(
    {
      count: 3,
      answers: { employees: [120, "many", NaN], email: ["a@b.co", "not an address", null], shoe_size: [1, 2, 3] },
      events: { visit: [[NOW], null, null] },
    },
    NOW,
  );
  const byLead = r.issues.map((i) => [i.lead, i.field, i.code]);
  assert.deepEqual(
    byLead.filter(([lead]) => lead < 0),
    [
      [-1, "shoe_size", "unknown_field"],
      [-1, "visit", "unknown_field"],
    ],
  );
  // The same issues as score() gives each lead.
  const leads = [
    { employees: 120, email: "a@b.co" },
    { employees: "many", email: "not an address" },
    { employees: NaN },
  ];
  leads.forEach((answers, i) => {
    const want = scorer.score(answers, [], NOW).issues.map((x) => [i, x.field, x.code]);
    assert.deepEqual(byLead.filter(([lead]) => lead === i), want, `lead ${i}`);
  });
  assert.equal(r.total[0], 10);
  // Event times that are not numbers are an issue of their lead.
  const b2b = new Scorer(examples.find((e) => e.name === "b2b-saas").model);
  // Each time that is not one is an issue of its lead, and the other times count, as score() reads events.
  const day = 86_400_000;
  const bad = b2b.scoreBatch({ count: 2, events: { page_view: [["yesterday", NOW - day, null], 5] } }, NOW);
  assert.deepEqual(bad.issues.map((i) => [i.lead, i.field, i.code]), [
    [0, "page_view", "type"],
    [0, "page_view", "type"],
    [1, "page_view", "type"],
  ]);
  const one = b2b.score({}, [{ type: "page_view", at: "yesterday" }, { type: "page_view", at: NOW - day }], NOW);
  assert.equal(one.issues.length, 1);
  assert.equal(bad.total[0], one.score);
  assert.ok(one.score > 0);
  // Typed: a time that is not finite is the `time` issue a session gives it, and the other times count.
  const typed = b2b.scoreBatch(
    { count: 2, events: { page_view: { offsets: new Uint32Array([0, 2, 3]), at: new Float64Array([Infinity, NOW - day, NaN]) } } },
    NOW,
  );
  const session = b2b.session(NOW);
  const inf = [session.record("page_view", Infinity), session.record("page_view", NaN)].map((i) => [i.field, i.code]);
  session.free();
  assert.deepEqual(typed.issues.map((i) => [i.lead, i.field, i.code]), [
    [0, ...inf[0]],
    [1, ...inf[1]],
  ]);
  assert.equal(typed.total[0], one.score);
  assert.equal(typed.total[1], 0);
});

test("scoreBatch takes a choice as its option number; one out of range is an issue, a negative one no answer", () => {
  const b2b = examples.find((e) => e.name === "b2b-saas");
  const scorer = new Scorer(b2b.model);
  const options = b2b.model.fields.find((f) => f.id === "seniority").options.map(optionValue);
  const vp = options.indexOf("vp");
  const r = scorer.scoreBatch({ count: 4, answers: { seniority: new Int32Array([vp, -1, options.length, -7]) } }, NOW);
  assert.equal(r.total[0], scorer.score({ seniority: "vp" }, [], NOW).score);
  assert.ok(r.total[0] > 0);
  assert.deepEqual([r.total[1], r.total[2], r.total[3]], [0, 0, 0]);
  assert.deepEqual(r.issues.map((i) => [i.lead, i.field, i.code]), [[2, "seniority", "option"]]);
});

test("scoreBatch takes texts as one UTF-8 buffer: empty is no answer, bytes that are not UTF-8 an issue", () => {
  const b2b = examples.find((e) => e.name === "b2b-saas");
  const scorer = new Scorer(b2b.model);
  const titles = ["VP Data & Analytics", null, "Größe Analyst", ""];
  const column = utf8Column(titles);
  const r = scorer.scoreBatch({ count: 4, answers: { job_title: column, email: utf8Column(["a@zahlwerk.de", "x", null, null]) } }, NOW);
  titles.forEach((t, i) => {
    const answers = { job_title: t || null, email: ["a@zahlwerk.de", "x", null, null][i] };
    const want = scorer.score(answers, [], NOW);
    assert.equal(r.total[i], want.score, `lead ${i}`);
    assert.deepEqual(
      r.issues.filter((x) => x.lead === i).map((x) => [x.field, x.code]),
      want.issues.map((x) => [x.field, x.code]),
      `lead ${i}`,
    );
  });
  // A lead's bytes cut inside a character.
  const bad = { offsets: new Uint32Array([0, 1, 2]), utf8: new TextEncoder().encode("é") };
  const cut = scorer.scoreBatch({ count: 2, answers: { job_title: bad } }, NOW);
  assert.deepEqual(cut.issues.map((i) => [i.lead, i.field, i.code]), [
    [0, "job_title", "type"],
    [1, "job_title", "type"],
  ]);
  // A choice may be given as text too.
  const sen = scorer.scoreBatch({ count: 2, answers: { seniority: utf8Column(["vp", "nope"]) } }, NOW);
  assert.equal(sen.total[0], scorer.score({ seniority: "vp" }, [], NOW).score);
  assert.deepEqual(sen.issues.map((i) => [i.lead, i.code]), [[1, "option"]]);
});

test("scoreBatch throws a TypeError or RangeError naming the parameter when the batch is not columns", () => {
  const scorer = new Scorer(MINIMAL);
  const b2b = new Scorer(examples.find((e) => e.name === "b2b-saas").model);
  const throwsNaming = (batch, Type, param, on = batch?.events ? b2b : scorer) =>
    assert.throws(
      () => on.scoreBatch(batch, NOW),
      (e) => e instanceof Type && e.message.includes(`\`${param}\``),
      `${Type.name} naming ${param}`,
    );
  throwsNaming(undefined, TypeError, "batch");
  throwsNaming([1, 2], TypeError, "batch");
  throwsNaming({}, TypeError, "batch.count");
  throwsNaming({ count: "2" }, TypeError, "batch.count");
  throwsNaming({ count: -1 }, RangeError, "batch.count");
  throwsNaming({ count: 1.5 }, RangeError, "batch.count");
  throwsNaming({ count: 2, answers: [] }, TypeError, "batch.answers");
  throwsNaming({ count: 2, answers: { employees: [1] } }, RangeError, "batch.answers.employees");
  throwsNaming({ count: 2, answers: { employees: 5 } }, TypeError, "batch.answers.employees");
  throwsNaming({ count: 2, answers: { email: new Float64Array(2) } }, TypeError, "batch.answers.email");
  throwsNaming({ count: 2, answers: { employees: new Int32Array(2) } }, TypeError, "batch.answers.employees");
  throwsNaming({ count: 2, answers: { employees: utf8Column(["1", "2"]) } }, TypeError, "batch.answers.employees");
  throwsNaming({ count: 2, answers: { email: { offsets: [0, 0, 0], utf8: new Uint8Array() } } }, TypeError, "batch.answers.email");
  throwsNaming({ count: 2, answers: { email: utf8Column(["a"]) } }, RangeError, "batch.answers.email.offsets");
  throwsNaming({ count: 1, answers: { email: { offsets: new Uint32Array([0, 5]), utf8: new Uint8Array(2) } } }, RangeError, "batch.answers.email.offsets");
  const at = new Float64Array([NOW, NOW]);
  throwsNaming({ count: 2, events: { page_view: {} } }, TypeError, "batch.events.page_view");
  throwsNaming({ count: 2, events: { page_view: { offsets: [0, 1, 2], at } } }, TypeError, "batch.events.page_view");
  throwsNaming({ count: 2, events: { page_view: { offsets: new Uint32Array([0, 2]), at } } }, RangeError, "batch.events.page_view.offsets");
  throwsNaming({ count: 2, events: { page_view: { offsets: new Uint32Array([0, 2, 1]), at } } }, RangeError, "batch.events.page_view.offsets");
  throwsNaming({ count: 2, events: { page_view: { offsets: new Uint32Array([1, 1, 2]), at } } }, RangeError, "batch.events.page_view.offsets");
  throwsNaming({ count: 2, events: { page_view: { offsets: new Uint32Array([0, 1, 3]), at } } }, RangeError, "batch.events.page_view.offsets");
  throwsNaming({ count: 1, answers: { employees: [10n] } }, TypeError, "batch.answers.employees");
  assert.throws(() => scorer.scoreBatch({ count: 1 }, "now"), (e) => e instanceof TypeError && e.message.includes("`now`"));
});

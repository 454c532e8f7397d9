// The benchmark itself, the same module in Node and in the browser: checks that the hand-written JS model and
// the JsonLogic one agree with leadscore on every lead, then times each leadscore path next to them.
//
// Every function here takes what differs between runtimes as arguments (the Scorer class, json-logic-js,
// the example files' text), so the runners only load those and print the result.

import { NOW, leadsFromCsv, leadsFromNdjson, generateLeads } from "./leads.js";
import { scoreLead } from "./yardstick.js";
import { scorePlain } from "./plain.js";
import { jsonLogicScorer } from "./jsonlogic-model.js";
import { measureTogether } from "./timing.js";

const SUBMITTED = { complete: true, hints: false };
const IN_PROGRESS = { complete: false, hints: false };

/** Leads with these ids get hints (default options): an SQL, an MQL, a lead, a sparse lead. */
const HINT_LEADS = ["N-002", "N-004", "N-006", "N-013"];

/** One answer changed per call, on a copy of N-001 (an SQL with every question answered). */
const SESSION_BASE = "N-001";
const SESSION_CASES = [
  {
    path: "session: `setNumber(employees)` + `total` + `stageIndex`",
    field: "employees",
    kind: "number",
    values: [420, 8, 45, 120, 1200, 6000, 15, 250, 60, 3000],
  },
  {
    path: "session: `setNumber(budget_monthly)` + `total` + `stageIndex`",
    field: "budget_monthly",
    kind: "number",
    values: [2500, 50, 100, 250, 900, 1999, 5000, 0, 750, 1250],
  },
  {
    path: "session: `set(seniority, choice)` + `total` + `stageIndex`",
    field: "seniority",
    kind: "value",
    values: ["vp", "manager", "c_level", "individual_contributor", "director", "student"],
  },
  {
    path: "session: `set(job_title, text)` + `total` + `stageIndex`",
    field: "job_title",
    kind: "value",
    values: ["VP Data & Analytics", "Junior Analyst", "Head of Growth", "CTO", "Marketing Assistant", "Data"],
  },
];

/** The session cases, then the same on the runtime build when there is one. */
const withRuntime = (cases, runtime) => (runtime ? [...cases, ...cases.map((c) => ({ ...c, runtime: true }))] : cases);

const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

function close(a, b) {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** leadscore's evaluation reduced to what the two other scorers compute. */
function outcome(e) {
  return {
    total: e.score,
    groups: Object.fromEntries(e.groups.map((g) => [g.id, g.score])),
    stage: e.stage.id,
    knockout: e.disqualified?.knockout ?? null,
    grade: e.grade?.cell ?? null,
  };
}

function differences(expected, got) {
  const out = [];
  if (!close(expected.total, got.total)) out.push(`total ${got.total} instead of ${expected.total}`);
  for (const [g, score] of Object.entries(expected.groups)) {
    if (!close(score, got.groups[g])) out.push(`${g} ${got.groups[g]} instead of ${score}`);
  }
  for (const k of ["stage", "knockout", "grade"]) {
    if (expected[k] !== got[k]) out.push(`${k} ${got[k]} instead of ${expected[k]}`);
  }
  return out;
}

function openSession(scorer, lead) {
  const session = scorer.session(NOW);
  for (const [field, value] of Object.entries(lead.answers)) {
    const issue = session.set(field, value);
    if (issue) throw new Error(`${lead.id}: ${issue.message}`);
  }
  for (const { type, at } of lead.events) session.record(type, at);
  return session;
}

/** Texts in one UTF-8 buffer, as `TextEncoder.encodeInto` writes them, lead `i`'s from `offsets[i]`; null empty. */
export function utf8Column(values, encoder = new TextEncoder()) {
  const offsets = new Uint32Array(values.length + 1);
  let utf8 = new Uint8Array(values.reduce((n, v) => n + (v?.length ?? 0), 0) * 3);
  let at = 0;
  values.forEach((v, i) => {
    if (v) at += encoder.encodeInto(v, utf8.subarray(at)).written;
    offsets[i + 1] = at;
  });
  return { offsets, utf8: utf8.subarray(0, at) };
}

/**
 * Leads as the columns `scoreBatch` takes: numbers as Float64Arrays (NaN: no answer), choices as Int32Arrays of
 * option numbers (-1: no answer), texts in one UTF-8 buffer each, other fields as arrays of values.
 */
export function toColumns(model, leads) {
  const answers = {};
  const encoder = new TextEncoder();
  for (const f of model.fields) {
    const values = leads.map((l) => l.answers[f.id] ?? null);
    if (f.type === "number" || f.type === "integer") answers[f.id] = Float64Array.from(values, (v) => v ?? NaN);
    else if (["string", "email", "country"].includes(f.type)) answers[f.id] = utf8Column(values, encoder);
    else if (f.type === "choice") {
      const number = new Map(f.options.map((o, i) => [typeof o === "string" ? o : o.value, i]));
      answers[f.id] = Int32Array.from(values, (v) => (v === null ? -1 : number.get(v)));
    } else answers[f.id] = values;
  }
  // Events typed: each event's times in one Float64Array, lead i's from offsets[i] to offsets[i + 1].
  const events = {};
  for (const e of model.events ?? []) {
    const offsets = new Uint32Array(leads.length + 1);
    const at = [];
    leads.forEach((l, i) => {
      for (const x of l.events) if (x.type === e.id) at.push(x.at);
      offsets[i + 1] = at.length;
    });
    events[e.id] = { offsets, at: Float64Array.from(at) };
  }
  return { count: leads.length, answers, events };
}

/** Checks `scoreBatch` against `score()` on every lead of the batch: totals, stages, knockouts, fired rules. */
function checkBatch(scorer, leads, batch) {
  const r = scorer.scoreBatch(batch, NOW);
  const ids = scorer.ids();
  leads.forEach((lead, i) => {
    const want = scorer.score(lead.answers, lead.events, NOW);
    const fired = ids.rules.filter((_, k) => (r.fired[i * r.words + (k >> 5)] >>> (k & 31)) & 1);
    const stage = r.stage[i] < 0 ? "disqualified" : ids.stages[r.stage[i]];
    if (r.total[i] !== want.score || stage !== want.stage || JSON.stringify(fired) !== JSON.stringify(want.fired)) {
      throw new Error(`${lead.id}: scoreBatch differs from score()`);
    }
  });
}

const copy = (lead) => ({ id: lead.id, answers: { ...lead.answers }, events: lead.events });

/**
 * Checks every lead and every session step against leadscore; throws on the first batch of disagreements.
 * Returns counts for the report.
 */
export function check({ scorer, runtime, scoreJsonLogic, leads, generated, base }) {
  const problems = [];
  let exact = 0;
  let compared = 0;
  let maxDiff = 0;
  let plainCompared = 0;
  let plainExact = 0;
  // The lean yardstick returns what score() returns, fired rules included.
  const checkPlain = (where, lead, b) => {
    const p = scorePlain(lead, NOW);
    const want = { total: b.score, groups: b.groups, stage: b.stage, knockout: b.knockout ?? null, grade: null };
    const diff = differences(want, { ...p, grade: null });
    if (Object.keys(p.groups).length !== Object.keys(b.groups).length) diff.push("other groups");
    if (JSON.stringify(p.fired) !== JSON.stringify(b.fired)) diff.push(`fired ${p.fired} instead of ${b.fired}`);
    if (diff.length) problems.push(`${where}: lean plain JS: ${diff.join(", ")}`);
    plainCompared++;
    if (p.total === b.score) plainExact++;
  };
  const compare = (where, expected, lead) => {
    for (const [name, score] of [["plain JS", scoreLead], ["json-logic-js", scoreJsonLogic]]) {
      const got = score(lead, NOW);
      const diff = differences(expected, got);
      if (diff.length) problems.push(`${where} ${lead.id}: ${name}: ${diff.join(", ")}`);
      compared++;
      if (got.total === expected.total) exact++;
      maxDiff = Math.max(maxDiff, Math.abs(got.total - expected.total));
    }
  };
  for (const lead of [...leads, ...generated]) {
    const e = scorer.evaluate(lead.answers, lead.events, NOW, SUBMITTED);
    if (e.issues.length) {
      problems.push(`${lead.id}: leadscore rejects an input (${e.issues.map((i) => i.message).join("; ")})`);
      continue;
    }
    compare("evaluate", outcome(e), lead);
    // `score()` gives evaluate's numbers and its ledger's rules.
    const b = scorer.score(lead.answers, lead.events, NOW);
    const want = outcome(e);
    const same =
      b.score === want.total &&
      b.stage === want.stage &&
      (b.knockout ?? null) === want.knockout &&
      Object.keys(b.groups).length === Object.keys(want.groups).length &&
      Object.entries(want.groups).every(([g, v]) => b.groups[g] === v) &&
      JSON.stringify(b.fired) === JSON.stringify(e.ledger.map((l) => l.rule));
    if (!same) problems.push(`${lead.id}: score() differs from evaluate`);
    checkPlain(lead.id, lead, b);
  }
  // The session's score, after each change, is the score of the lead with that answer.
  const stages = scorer.model().stages.map((s) => s.id);
  for (const c of withRuntime(SESSION_CASES, runtime)) {
    const session = openSession(c.runtime ? runtime : scorer, base);
    const index = session.fieldIndex(c.field);
    const lead = copy(base);
    for (const value of [...c.values, ...c.values]) {
      if (c.kind === "number" ? !session.setNumber(index, value) : session.set(index, value)) {
        problems.push(`${c.field} = ${value}: leadscore rejects it`);
      }
      lead.answers[c.field] = value;
      const full = outcome(scorer.evaluate(lead.answers, lead.events, NOW, SUBMITTED));
      const stageIndex = session.stageIndex;
      const fromSession = { ...full, total: session.total, stage: stageIndex < 0 ? "disqualified" : stages[stageIndex] };
      const diff = differences(full, fromSession);
      if (diff.length) problems.push(`${c.runtime ? "runtime " : ""}session ${c.field} = ${value}: ${diff.join(", ")}`);
      compare(`${c.field} = ${JSON.stringify(value)}`, full, lead);
      checkPlain(`${c.field} = ${JSON.stringify(value)}`, lead, scorer.score(lead.answers, lead.events, NOW));
    }
    session.free();
  }
  if (problems.length) {
    const more = problems.length > 20 ? `\n... and ${problems.length - 20} more` : "";
    throw new Error(`the scorers disagree:\n${problems.slice(0, 20).join("\n")}${more}`);
  }
  return { leads: leads.length, generated: generated.length, compared, exact, maxDiff, plainCompared, plainExact };
}

/** What wasm-bindgen's glue does to hand a JS string to Wasm (`passStringToWasm0`), into a fixed buffer. */
function copyIn(text, memory, encoder) {
  let offset = 0;
  for (; offset < text.length; offset++) {
    const code = text.charCodeAt(offset);
    if (code > 0x7f) break;
    memory[offset] = code;
  }
  if (offset !== text.length) offset += encoder.encodeInto(text.slice(offset), memory.subarray(offset)).written;
  return offset;
}

/**
 * Runs the checks and the timings. `Scorer` is leadscore's class (instantiated module), `jsonLogic` the
 * json-logic-js object, the texts those of examples/b2b-saas.json and examples/leads/b2b-saas.{csv,ndjson}.
 */
export async function runSuite({ Scorer, Runtime, jsonLogic, modelText, csvText, ndjsonText, log = () => {}, quick = false }) {
  const timing = quick ? { warmupMs: 50, roundMs: 15, rounds: 3 } : { warmupMs: 250, roundMs: 60, rounds: 9 };
  const model = JSON.parse(modelText);
  const scorer = new Scorer(modelText);
  // The runtime build (what a landing page loads) on the same program, compiled ahead of time.
  const runtime = Runtime ? new Runtime(scorer.toBytes()) : null;
  const scoreJsonLogic = jsonLogicScorer(jsonLogic);
  const leads = [...leadsFromNdjson(ndjsonText), ...leadsFromCsv(model, csvText)];
  const generated = generateLeads(model, 300);
  const base = leads.find((l) => l.id === SESSION_BASE);

  log(`checking ${leads.length} sample leads and ${generated.length} generated ones...`);
  const checked = check({ scorer, runtime, scoreJsonLogic, leads, generated, base });
  log(`  all agree (${checked.exact} of ${checked.compared} totals bit-identical, largest difference ${checked.maxDiff})`);

  const together = async (label, cases) => {
    await pause();
    const r = measureTogether(cases, timing);
    log(`  ${label}: ${Object.entries(r).map(([k, m]) => `${k} ${m.ns.toFixed(0)} ns`).join(", ")}`);
    return r;
  };
  const overLeads = (list, score) => ({
    opsPerRep: list.length,
    body: (reps) => {
      let s = 0;
      for (let r = 0; r < reps; r++) for (const lead of list) s += score(lead);
      return s;
    },
  });
  const rows = [];

  // 1. Whole leads as plain objects, and the JS-side work of the bindings around the Wasm call.
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const memory = new Uint8Array(1 << 20);
  const inputTexts = leads.map((l) => [JSON.stringify(l.answers), JSON.stringify(l.events), JSON.stringify(SUBMITTED)]);
  const resultBytes = leads.map((l) => encoder.encode(JSON.stringify(scorer.evaluate(l.answers, l.events, NOW, SUBMITTED))));
  const sessions = leads.map((l) => openSession(scorer, l));
  const eachLead = (fn) => overLeads(leads.map((_, i) => i), fn);
  const a = await together("sample leads", {
    submitted: overLeads(leads, (l) => scorer.evaluate(l.answers, l.events, NOW, SUBMITTED).score),
    bare: overLeads(leads, (l) => scorer.score(l.answers, l.events, NOW).score),
    inProgress: overLeads(leads, (l) => scorer.evaluate(l.answers, l.events, NOW, IN_PROGRESS).score),
    plain: overLeads(leads, (l) => scorePlain(l, NOW).total),
    js: overLeads(leads, (l) => scoreLead(l, NOW).total),
    jl: overLeads(leads, (l) => scoreJsonLogic(l, NOW).total),
    stringify: overLeads(leads, (l) => JSON.stringify(l.answers).length + JSON.stringify(l.events).length + JSON.stringify(SUBMITTED).length),
    copyIn: eachLead((i) => inputTexts[i].reduce((n, t) => n + copyIn(t, memory, encoder), 0)),
    decode: eachLead((i) => decoder.decode(resultBytes[i]).length),
    decodeParse: eachLead((i) => JSON.parse(decoder.decode(resultBytes[i])).score),
    sessionEvaluate: eachLead((i) => sessions[i].evaluate(SUBMITTED).score),
  });
  for (const s of sessions) s.free();
  const workload = `${leads.length} sample leads`;
  rows.push({ path: "`evaluate(object)`, submitted `{complete: true, hints: false}`", workload, ls: a.submitted, plain: a.plain, js: a.js, jl: a.jl, note: "" });
  rows.push({ path: "`score(object)`: total, groups, stage, knockout and fired rule ids (the scorer)", workload, ls: a.bare, plain: a.plain, js: a.js, jl: a.jl, note: "" });
  rows.push({ path: "`evaluate(object)`, in progress `{complete: false, hints: false}`", workload, ls: a.inProgress, plain: a.plain, js: a.js, jl: a.jl, note: "range" });

  const hintLeads = HINT_LEADS.map((id) => leads.find((l) => l.id === id));
  // Many leads per call, as columns: the sample and generated leads in one batch.
  const batchLeads = [...leads, ...generated];
  const batch = toColumns(model, batchLeads);
  checkBatch(scorer, batchLeads, batch);
  const b = await together("batch", {
    batch: {
      opsPerRep: batchLeads.length,
      body: (reps) => {
        let s = 0;
        for (let r = 0; r < reps; r++) {
          const out = scorer.scoreBatch(batch, NOW);
          for (let i = 0; i < out.total.length; i++) s += out.total[i] + out.stage[i] + out.fired[i * out.words];
        }
        return s;
      },
    },
    columns: { opsPerRep: batchLeads.length, body: (reps) => { let s = 0; for (let r = 0; r < reps; r++) s += toColumns(model, batchLeads).count; return s; } },
    plain: overLeads(batchLeads, (l) => scorePlain(l, NOW).total),
    js: overLeads(batchLeads, (l) => scoreLead(l, NOW).total),
    jl: overLeads(batchLeads, (l) => scoreJsonLogic(l, NOW).total),
  });
  rows.push({
    path: "`scoreBatch(columns)`: typed results, fired rules as bit sets (the scorer), per lead",
    workload: `${batchLeads.length} sample and generated leads in one batch`,
    ls: b.batch,
    plain: b.plain,
    js: b.js,
    jl: b.jl,
    note: "",
  });
  rows.push({
    path: "the same with the leads turned into columns first (`toColumns`, in JS), per lead",
    workload: `${batchLeads.length} sample and generated leads in one batch`,
    ls: { ns: b.batch.ns + b.columns.ns, min: b.batch.min + b.columns.min, max: b.batch.max + b.columns.max },
    plain: b.plain,
    js: b.js,
    jl: b.jl,
    note: "",
  });

  const h = await together("hint leads", {
    hints: overLeads(hintLeads, (l) => scorer.evaluate(l.answers, l.events, NOW).score),
    plain: overLeads(hintLeads, (l) => scorePlain(l, NOW).total),
    js: overLeads(hintLeads, (l) => scoreLead(l, NOW).total),
    jl: overLeads(hintLeads, (l) => scoreJsonLogic(l, NOW).total),
  });
  rows.push({
    path: "`evaluate(object)`, default options (in progress, with hints)",
    workload: `${hintLeads.length} leads (${HINT_LEADS.join(", ")})`,
    ls: h.hints,
    plain: h.plain,
    js: h.js,
    jl: h.jl,
    note: "hints",
  });

  // 2. A form in progress: one answer changed per call; the plain scorers re-score a plain object.
  // The full build's sessions, then the runtime's (the build a landing page loads).
  for (const c of withRuntime(SESSION_CASES, runtime)) {
    const session = openSession(c.runtime ? runtime : scorer, base);
    const index = session.fieldIndex(c.field);
    const values = c.values;
    const set =
      c.kind === "number" ? (v) => session.setNumber(index, v) : (v) => session.set(index, v);
    const changing = (score) => {
      const lead = copy(base);
      return {
        opsPerRep: values.length,
        body: (reps) => {
          let s = 0;
          for (let r = 0; r < reps; r++) {
            for (const v of values) {
              lead.answers[c.field] = v;
              s += score(lead, NOW).total;
            }
          }
          return s;
        },
      };
    };
    const m = await together(c.field, {
      ls: {
        opsPerRep: values.length,
        body: (reps) => {
          let s = 0;
          for (let r = 0; r < reps; r++) {
            for (const v of values) {
              set(v);
              s += session.total + session.stageIndex;
            }
          }
          return s;
        },
      },
      plain: changing(scorePlain),
      js: changing(scoreLead),
      jl: changing(scoreJsonLogic),
    });
    session.free();
    rows.push({
      path: c.runtime ? `runtime ${c.path}` : c.path,
      workload: `${SESSION_BASE}, ${c.field} cycling through ${values.length} values`,
      ls: m.ls,
      plain: m.plain,
      js: m.js,
      jl: m.jl,
      note: "",
    });
  }

  const total = a.submitted.ns;
  const outside = a.stringify.ns + a.copyIn.ns + a.decodeParse.ns;
  const breakdown = {
    total,
    inputBytes: mean(inputTexts.map((t) => t.join("").length)),
    resultBytes: mean(resultBytes.map((b) => b.length)),
    steps: [
      { step: "`JSON.stringify` of answers, events, options", ns: a.stringify.ns },
      { step: "copy of those texts into Wasm memory (as the glue's `passStringToWasm0`)", ns: a.copyIn.ns },
      { step: "in Wasm: parse the input, check answers, evaluate, write the result as JSON text (the rest)", ns: total - outside },
      { step: "UTF-8 decode of the result text (`TextDecoder.decode`)", ns: a.decode.ns },
      { step: "`JSON.parse` of the result text", ns: a.decodeParse.ns - a.decode.ns },
    ],
    sessionEvaluate: a.sessionEvaluate.ns,
  };

  scorer.free();
  runtime?.free();
  return { checked, rows, breakdown, timing, now: NOW };
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

// Scores the leads written by generate.mjs twice, natively (`leadscore score MODEL LEADS --full --now T`,
// with `--partial` for forms in progress) and with the Wasm build under Node (`Scorer.evaluate(answers,
// events, nowMs, {complete, hints: false})`), and compares the canonical JSON of every result. Submitted
// leads are scored a third time by the runtime build, fed to a session one answer at a time as a landing
// page does; its score, stage, group scores and fired rules must equal the native ones.
//
//   node tests/parity/compare.mjs --dir DIR [--cli target/release/leadscore] [--pkg pkg/node.js]
//                                 [--jobs N] [--show 10] [--modes complete,partial] [--tamper]
//
// One job per model and mode, run in worker threads; each streams the command-line tool's output and the
// Wasm inputs side by side, so no result is held longer than its comparison. Exit status: 0 when every
// result is the same, 1 on any difference, 2 when something could not run.
//
// --tamper changes the Wasm result of the first lead of every job by one unit in the last place of its
// score, and the runtime's score of the second lead, `score()`'s of the third and `scoreBatch()`'s of the
// fourth of every complete job, to show that a difference that small is caught (the run must then report one
// per job, and three more per complete job).

import { spawn } from "node:child_process";
import { createReadStream, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

import { canonical, differences, pathShape } from "./canonical.mjs";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

/** Lines of a text stream, without their "\n". */
async function* lines(stream) {
  stream.setEncoding("utf8");
  let rest = "";
  for await (const chunk of stream) {
    const text = rest + chunk;
    let start = 0;
    let i;
    while ((i = text.indexOf("\n", start)) >= 0) {
      yield text.slice(start, i);
      start = i + 1;
    }
    rest = text.slice(start);
  }
  if (rest) yield rest;
}

// ---- one job, in a worker ---------------------------------------------------------------------------------

const MAX_KEPT = 20; // differences kept in full per job

function nextUp(x) {
  const f = new Float64Array([x]);
  const u = new BigInt64Array(f.buffer);
  if (x === 0) return Number.MIN_VALUE;
  u[0] += x > 0 ? 1n : -1n;
  return f[0];
}

class Coverage {
  constructor() {
    this.stages = {};
    this.issues = {};
    this.knockouts = 0;
    this.withIssues = 0;
    this.undecided = 0;
    this.unbounded = 0;
    this.decayed = 0;
    this.fractional = 0;
    this.ledger = 0;
    this.scores = new Set();
  }

  add(e) {
    this.stages[e.stage?.id] = (this.stages[e.stage?.id] ?? 0) + 1;
    if (e.disqualified) this.knockouts++;
    if (e.issues?.length) this.withIssues++;
    for (const i of e.issues ?? []) this.issues[i.code] = (this.issues[i.code] ?? 0) + 1;
    if (!e.decided) this.undecided++;
    if (e.range && (e.range.min === null || e.range.max === null)) this.unbounded++;
    if (!Number.isInteger(e.score)) this.fractional++;
    this.ledger += e.ledger?.length ?? 0;
    if (e.ledger?.some((l) => l.decayed !== 0)) this.decayed++;
    if (this.scores.size < 1e6) this.scores.add(e.score);
  }

  toJSON() {
    return { ...this, scores: this.scores.size };
  }
}

/** Submitted leads scored in batches of this many by `scoreBatch`. */
const BATCH = 500;

/**
 * `scoreBatch` of leads `[{ lead, want, ... }]`, each lead's result next to `want` (the native one, canonical):
 * the leads as columns of the model's fields and events, as a caller with columns would give them.
 */
function batchScores(scorer, pending, nowMs, tamper) {
  const ids = scorer.ids();
  const answers = Object.create(null);
  for (const f of ids.fields) {
    answers[f] = pending.map(({ lead: { answers: a } }) =>
      a && typeof a === "object" && !Array.isArray(a) && Object.hasOwn(a, f) ? a[f] : null,
    );
  }
  const events = Object.create(null);
  for (const e of ids.events) {
    events[e] = pending.map(({ lead: { events: list } }) =>
      Array.isArray(list) ? list.filter((x) => x && x.type === e && typeof x.at === "number").map((x) => x.at) : null,
    );
  }
  const r = scorer.scoreBatch({ count: pending.length, answers, events }, nowMs);
  return pending.map((p, i) => {
    const groups = Object.fromEntries(ids.groups.map((g, k) => [g, r.groups[i * ids.groups.length + k]]));
    const fired = ids.rules.filter((_, k) => (r.fired[i * r.words + (k >> 5)] >>> (k & 31)) & 1);
    const score = tamper && p.tampered ? nextUp(r.total[i]) : r.total[i];
    const knockout = r.knockout[i] < 0 ? undefined : ids.knockouts[r.knockout[i]];
    const stage = r.stage[i] < 0 ? "disqualified" : ids.stages[r.stage[i]];
    return { ...p, got: canonical({ score, stage, groups, knockout, fired }) };
  });
}

/** A lead fed to a session of the runtime build one answer and one event at a time, read as if submitted. */
function sessionScore(runtime, lead, nowMs) {
  const s = runtime.session(nowMs);
  const { answers, events } = lead;
  if (answers && typeof answers === "object" && !Array.isArray(answers)) {
    for (const [field, value] of Object.entries(answers)) s.set(field, value);
  }
  if (Array.isArray(events)) {
    for (const e of events) if (e && typeof e.type === "string" && typeof e.at === "number") s.record(e.type, e.at);
  }
  const out = { score: s.total, stage: s.stage, groups: Array.from(s.groups()), fired: s.fired() };
  s.free();
  return out;
}

async function runJob(job) {
  const { Scorer } = await import(pathToFileURL(job.pkg).href);
  const scorer = new Scorer(readFileSync(job.model, "utf8"));
  const complete = job.mode === "complete";
  // Submitted leads are also scored by the runtime build, as a landing page does: the program compiled ahead
  // of time, each answer and event fed to a session.
  const runtime = complete
    ? new (await import(pathToFileURL(join(dirname(job.pkg), "runtime-node.js")).href)).Scorer(scorer.toBytes())
    : null;
  const opts = { complete, hints: false };
  const args = ["score", job.model, job.cli, "--full", "--now", job.now];
  if (!complete) args.push("--partial");
  const started = performance.now();
  const child = spawn(job.bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((res) => child.on("close", (code, signal) => res({ code, signal })));

  const wasmLines = lines(createReadStream(job.wasm));
  // Submitted leads waiting for `scoreBatch`.
  let pending = [];
  const flush = () => {
    if (!pending.length) return;
    let scored;
    try {
      scored = batchScores(scorer, pending, job.nowMs, job.tamper);
    } catch (e) {
      for (const p of pending) record({ kind: "scoreBatch() threw", id: p.id, line: p.line, error: String(e?.message ?? e) });
      pending = [];
      return;
    }
    for (const p of scored) {
      if (p.want !== p.got) record({ kind: "scoreBatch()", id: p.id, line: p.line, native: p.want, wasm: p.got });
    }
    pending = [];
  };
  let wasmLine = 0;
  const result = { ...job, compared: 0, same: 0, differ: 0, kept: [], shapes: {}, coverage: new Coverage(), errors: [] };
  const record = (d) => {
    result.differ++;
    const shape = d.kind === "result" ? d.paths.map((p) => pathShape(p.path)).join(" ") : d.kind;
    result.shapes[shape] = (result.shapes[shape] ?? 0) + 1;
    if (result.kept.length < MAX_KEPT) result.kept.push(d);
  };
  const wasmInput = async () => {
    const { value, done } = await wasmLines.next();
    if (done) return null;
    wasmLine++;
    return { line: wasmLine, text: value, lead: JSON.parse(value) };
  };

  for await (const text of lines(child.stdout)) {
    if (!text) continue;
    const native = JSON.parse(text);
    const id = native.id;
    delete native.id;
    // Leads the command-line tool could not read are missing from its output.
    let input = await wasmInput();
    while (input && input.lead.id !== id) {
      record({ kind: "not scored natively", id: input.lead.id, line: input.line });
      input = await wasmInput();
    }
    if (!input) {
      result.errors.push(`the command-line tool printed a lead that is not in the inputs: ${JSON.stringify(id)}`);
      break;
    }
    result.compared++;
    result.coverage.add(native);
    const { lead } = input;
    let wasm;
    try {
      wasm = scorer.evaluate(lead.answers, lead.events, job.nowMs, opts);
    } catch (e) {
      record({ kind: "Wasm threw", id, line: input.line, error: String(e?.message ?? e) });
      continue;
    }
    if (job.tamper && result.compared === 1) wasm.score = nextUp(wasm.score);
    if (runtime) {
      const page = sessionScore(runtime, lead, job.nowMs);
      if (job.tamper && result.compared === 2) page.score = nextUp(page.score);
      const want = canonical({
        score: native.score,
        stage: native.stage.id,
        groups: native.groups.map((g) => g.score),
        fired: native.ledger.map((l) => l.rule),
      });
      const got = canonical(page);
      if (want !== got) {
        record({ kind: "runtime session", id, line: input.line, native: want, wasm: got });
        continue;
      }
      // The full build's bare score of a submitted lead (its scorer), fired rules included.
      let bare;
      try {
        bare = scorer.score(lead.answers, lead.events, job.nowMs);
      } catch (e) {
        record({ kind: "score() threw", id, line: input.line, error: String(e?.message ?? e) });
        continue;
      }
      if (job.tamper && result.compared === 3) bare.score = nextUp(bare.score);
      const wantBare = canonical({
        score: native.score,
        stage: native.stage.id,
        groups: Object.fromEntries(native.groups.map((g) => [g.id, g.score])),
        knockout: native.disqualified?.knockout,
        fired: native.ledger.map((l) => l.rule),
      });
      const { score, stage, groups, knockout, fired } = bare;
      const gotBare = canonical({ score, stage, groups, knockout, fired });
      if (wantBare !== gotBare) {
        record({ kind: "score()", id, line: input.line, native: wantBare, wasm: gotBare });
        continue;
      }
      // And in a batch, as columns: the same numbers once more.
      pending.push({ id, line: input.line, lead, want: wantBare, tampered: result.compared === 4 });
      if (pending.length === BATCH) flush();
    }
    const a = canonical(native);
    const b = canonical(wasm);
    if (a === b) {
      result.same++;
      continue;
    }
    record({ kind: "result", id, line: input.line, paths: differences(native, wasm, 5), native: a, wasm: b });
  }
  flush();
  for (let input = await wasmInput(); input; input = await wasmInput()) {
    record({ kind: "not scored natively", id: input.lead.id, line: input.line });
  }
  const { code, signal } = await exited;
  if (code !== 0) result.errors.push(`leadscore exited with ${signal ?? code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
  // Why the command-line tool skipped a lead: its stderr names the line.
  const reasons = new Map();
  for (const l of stderr.split("\n")) {
    const m = /^line (\d+): (.*)$/.exec(l);
    if (m) reasons.set(Number(m[1]), m[2]);
  }
  for (const d of result.kept) if (d.kind === "not scored natively") d.error = reasons.get(d.line) ?? "(no message)";
  result.seconds = (performance.now() - started) / 1000;
  result.coverage = result.coverage.toJSON();
  return result;
}

if (!isMainThread) {
  runJob(workerData).then(
    (r) => parentPort.postMessage(r),
    (e) => parentPort.postMessage({ ...workerData, fatal: String(e?.stack ?? e) }),
  );
}

// ---- the main thread: jobs, report ------------------------------------------------------------------------

function parseArgs(argv) {
  const o = {
    dir: null,
    bin: join(ROOT, "target/release/leadscore"),
    pkg: join(ROOT, "pkg/node.js"),
    jobs: availableParallelism(),
    show: 10,
    modes: ["complete", "partial"],
    tamper: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--dir") o.dir = argv[++i];
    else if (a === "--cli") o.bin = resolve(argv[++i]);
    else if (a === "--pkg") o.pkg = resolve(argv[++i]);
    else if (a === "--jobs") o.jobs = Math.max(1, Number(argv[++i]));
    else if (a === "--show") o.show = Number(argv[++i]);
    else if (a === "--modes") o.modes = argv[++i].split(",");
    else if (a === "--tamper") o.tamper = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.dir) throw new Error("--dir DIR (written by generate.mjs) is required");
  for (const m of o.modes) if (m !== "complete" && m !== "partial") throw new Error(`unknown mode ${m}`);
  return o;
}

function runWorker(job) {
  return new Promise((res) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: job });
    w.once("message", res);
    w.once("error", (e) => res({ ...job, fatal: String(e?.stack ?? e) }));
  });
}

function pct(n, d) {
  return d ? `${((100 * n) / d).toFixed(1)}%` : "-";
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const manifest = JSON.parse(readFileSync(join(o.dir, "manifest.json"), "utf8"));
  const jobs = [];
  for (const m of manifest.models) {
    for (const mode of o.modes) {
      jobs.push({ name: m.name, mode, model: m.model, cli: m.cli, wasm: m.wasm, now: m.now, nowMs: m.nowMs, leads: m.leads, bin: o.bin, pkg: o.pkg, tamper: o.tamper });
    }
  }
  // Bigger jobs first, so that the last one to finish is a small one.
  const queue = [...jobs].sort((a, b) => b.leads - a.leads);
  const results = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(o.jobs, queue.length) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const r = await runWorker(job);
        results.push(r);
        const status = r.fatal ? "FAILED" : `${r.compared} compared, ${r.differ} different`;
        console.log(`  ${r.name.padEnd(14)} ${r.mode.padEnd(9)} ${status} (${(r.seconds ?? 0).toFixed(1)} s)`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  results.sort((a, b) => jobs.findIndex((j) => j.name === a.name && j.mode === a.mode) - jobs.findIndex((j) => j.name === b.name && j.mode === b.mode));

  let failed = false;
  let compared = 0;
  let differ = 0;
  console.log("");
  console.log(`${"model".padEnd(14)} ${"mode".padEnd(9)} ${"leads".padStart(7)} ${"compared".padStart(8)} ${"differ".padStart(6)}  coverage`);
  for (const r of results) {
    if (r.fatal) {
      failed = true;
      console.log(`${r.name.padEnd(14)} ${r.mode.padEnd(9)} error: ${r.fatal}`);
      continue;
    }
    compared += r.compared;
    differ += r.differ;
    const c = r.coverage;
    const stages = Object.entries(c.stages)
      .sort((x, y) => y[1] - x[1])
      .map(([s, n]) => `${s} ${pct(n, r.compared)}`)
      .join(", ");
    console.log(
      `${r.name.padEnd(14)} ${r.mode.padEnd(9)} ${String(r.leads).padStart(7)} ${String(r.compared).padStart(8)} ${String(r.differ).padStart(6)}  ` +
        `${c.scores} distinct scores (${pct(c.fractional, r.compared)} fractional), decay in ${pct(c.decayed, r.compared)}, ` +
        `issues in ${pct(c.withIssues, r.compared)}, undecided ${pct(c.undecided, r.compared)}, unbounded range ${pct(c.unbounded, r.compared)}; ${stages}`,
    );
    for (const e of r.errors) {
      failed = true;
      console.log(`  error: ${e}`);
    }
  }
  const issueCodes = {};
  for (const r of results) for (const [k, n] of Object.entries(r.coverage?.issues ?? {})) issueCodes[k] = (issueCodes[k] ?? 0) + n;
  console.log(`input issues reported, by code: ${Object.entries(issueCodes).map(([k, n]) => `${k} ${n}`).join(", ") || "none"}`);
  console.log("");
  console.log(`${compared} results compared (${manifest.count} leads x ${o.modes.length} mode(s)), ${differ} different, in ${seconds.toFixed(1)} s`);

  if (differ) {
    const shapes = {};
    for (const r of results) for (const [k, n] of Object.entries(r.shapes ?? {})) shapes[`${r.name} ${r.mode}: ${k}`] = n;
    console.log("\ndifferences by where they are:");
    for (const [k, n] of Object.entries(shapes).sort((x, y) => y[1] - x[1]).slice(0, 30)) console.log(`  ${String(n).padStart(7)}  ${k}`);
    console.log(`\nfirst differences (native first, then Wasm):`);
    let shown = 0;
    for (const r of results) {
      for (const d of r.kept ?? []) {
        if (shown++ >= o.show) break;
        console.log(`- ${r.name} ${r.mode} lead ${d.id} (line ${d.line} of ${r.wasm}): ${d.kind}`);
        if (d.error) console.log(`    ${d.error}`);
        for (const p of d.paths ?? []) console.log(`    ${p.path}: ${p.a ?? "(missing)"}  vs  ${p.b ?? "(missing)"}`);
      }
    }
    const file = join(o.dir, "differences.json");
    writeFileSync(file, JSON.stringify(results.map((r) => ({ model: r.name, mode: r.mode, now: r.now, differ: r.differ, kept: r.kept })), null, 1));
    console.log(`\nthe first ${MAX_KEPT} differences of each model and mode, with both results: ${file}`);
  }
  if (failed) process.exit(2);
  process.exit(differ ? 1 : 0);
}

if (isMainThread) {
  main().catch((e) => {
    console.error(`error: ${e.stack ?? e}`);
    process.exit(2);
  });
}

// Numbers are read as the nearest double, as JavaScript reads them, by every entry point: the command-line
// tool reading NDJSON (any JSON spelling: `2.50`, `2.5e2`, 25 significant digits, the exact decimal
// expansion), and the Wasm build's `Scorer.evaluate` and `Session.set`, given JavaScript numbers. Answers
// come back in the ledger's `inputs`, event times as `days_since`.
//
//   node tests/parity/numbers.mjs [--cli target/release/leadscore] [--pkg pkg/node.js] [--count 4000]
//
// Exit status 0 when every number is read exactly, 1 otherwise.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { Rng } from "./rng.mjs";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const DAY = 86_400_000;

const MODEL = {
  leadscore: 1,
  id: "numbers",
  fields: [{ id: "x", type: "number" }],
  events: [{ id: "e" }],
  groups: [{ id: "g" }],
  rules: [
    { id: "echo", group: "g", when: "answered(x)", points: 1 },
    { id: "seen", group: "g", per: "e", points: 1 },
  ],
  stages: [{ id: "any" }],
};

const o = { cli: join(ROOT, "target/release/leadscore"), pkg: join(ROOT, "pkg/node.js"), count: 4000 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--cli") o.cli = resolve(process.argv[++i]);
  else if (a === "--pkg") o.pkg = resolve(process.argv[++i]);
  else if (a === "--count") o.count = Number(process.argv[++i]);
  else {
    console.error(`unknown option ${a}`);
    process.exit(2);
  }
}

// ---- numbers and their spellings --------------------------------------------------------------------------

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

function exactDecimal(x) {
  f64[0] = x;
  const bits = u64[0];
  const neg = bits >> 63n ? "-" : "";
  const exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e = -1074;
  if (exp) {
    mant |= 1n << 52n;
    e = exp - 1075;
  }
  if (e >= 0) return neg + (mant << BigInt(e)).toString();
  const digits = (mant * 5n ** BigInt(-e)).toString().padStart(-e + 1, "0");
  const frac = digits.slice(digits.length + e).replace(/0+$/, "");
  return neg + digits.slice(0, digits.length + e) + (frac ? "." + frac : "");
}

const rng = new Rng("numbers-1");
function randomDouble() {
  return rng.weighted([
    // Any bit pattern that is a finite number: every magnitude, subnormals included.
    [3, () => {
      for (;;) {
        u64[0] = (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
        if (Number.isFinite(f64[0])) return f64[0];
      }
    }],
    // Form-sized values with 17 significant digits.
    [4, () => (rng.float() - 0.2) * 10 ** rng.int(0, 7)],
    // Sums and products of short decimals: 0.1 + 0.2 and the like.
    [2, () => rng.int(1, 999) / 10 ** rng.int(1, 3) + rng.int(1, 999) / 10 ** rng.int(1, 3)],
    [1, () => rng.int(-1e6, 1e6) / 100],
  ]);
}

function spellings(x) {
  const s = JSON.stringify(x);
  const out = [s, x.toExponential(), x.toExponential(20), x.toPrecision(21), exactDecimal(x)];
  if (!s.includes("e") && !Number.isInteger(x)) out.push(s + "0000000000000000000000001", s + "00");
  return out
    .map((t) => t.replace("e+", "e"))
    .filter((t) => /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(t) && Number.isFinite(Number(t)));
}

// ---- the checks ---------------------------------------------------------------------------------------------

const failures = [];
function fail(what, text, expected, got) {
  failures.push({ what, text, expected, got });
}

const cases = [];
for (let i = 0; i < o.count; i++) {
  const x = randomDouble();
  // -0 answers as 0.
  for (const text of spellings(x)) cases.push({ text, value: Number(text) || 0 });
}
// Event times: milliseconds before a `now` of 0, so that days_since is -t / DAY.
const times = [];
for (let i = 0; i < o.count / 4; i++) {
  const t = -rng.float() * 10 ** rng.int(0, 14);
  for (const text of spellings(t)) times.push({ text, value: Number(text) });
}

// The command-line tool, reading JSON text.
const dir = mkdtempSync(join(tmpdir(), "leadscore-numbers-"));
try {
  writeFileSync(join(dir, "model.json"), JSON.stringify(MODEL));
  const lines = cases.map((c, i) => `{"id":"a${i}","answers":{"x":${c.text}}}`);
  lines.push(...times.map((c, i) => `{"id":"e${i}","answers":{},"events":[{"type":"e","at":${c.text}}]}`));
  writeFileSync(join(dir, "leads.ndjson"), lines.join("\n") + "\n");
  const run = spawnSync(o.cli, ["score", join(dir, "model.json"), join(dir, "leads.ndjson"), "--full", "--now", "1970-01-01T00:00:00Z"], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  if (run.status !== 0) {
    console.error(`leadscore failed: ${run.stderr}`);
    process.exit(2);
  }
  const byId = new Map();
  for (const l of run.stdout.split("\n")) {
    if (!l) continue;
    const r = JSON.parse(l);
    byId.set(r.id, r);
  }
  cases.forEach((c, i) => {
    const r = byId.get(`a${i}`);
    const got = r?.ledger.find((l) => l.rule === "echo")?.inputs.x;
    if (!Object.is(got, c.value)) fail("command-line answer", c.text, c.value, r ? got : "(lead rejected)");
  });
  times.forEach((c, i) => {
    const r = byId.get(`e${i}`);
    const got = r?.ledger.find((l) => l.rule === "seen")?.events.e.days_since;
    const want = Math.max((0 - c.value) / DAY, 0);
    if (!Object.is(got, want)) fail("command-line event time", c.text, want, r ? got : "(lead rejected)");
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// The Wasm build, given JavaScript numbers.
const { Scorer } = await import(pathToFileURL(o.pkg).href);
const scorer = new Scorer(JSON.stringify(MODEL));
const values = [...new Set(cases.map((c) => c.value))];
for (const x of values) {
  const viaEvaluate = scorer.evaluate({ x }, [], 0, { complete: true, hints: false }).ledger.find((l) => l.rule === "echo")?.inputs.x;
  if (!Object.is(viaEvaluate, x)) fail("Scorer.evaluate answer", JSON.stringify(x), x, viaEvaluate);
  const session = scorer.session(0);
  session.set("x", x);
  const viaSession = session.evaluate({ complete: true, hints: false }).ledger.find((l) => l.rule === "echo")?.inputs.x;
  if (!Object.is(viaSession, x)) fail("Session.set answer", JSON.stringify(x), x, viaSession);
}
for (const t of [...new Set(times.map((c) => c.value))]) {
  const want = Math.max((0 - t) / DAY, 0);
  const got = scorer.evaluate({}, [{ type: "e", at: t }], 0, { complete: true, hints: false }).ledger.find((l) => l.rule === "seen")?.events.e.days_since;
  if (!Object.is(got, want)) fail("Scorer.evaluate event time", JSON.stringify(t), want, got);
}

const checked = cases.length + times.length + values.length * 2;
if (failures.length) {
  const byWhat = {};
  for (const f of failures) byWhat[f.what] = (byWhat[f.what] ?? 0) + 1;
  console.log(`numbers: ${failures.length} of ${checked} read differently from JavaScript: ${Object.entries(byWhat).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  for (const f of failures.slice(0, 8)) console.log(`  ${f.what}: ${f.text} -> ${f.got}, JavaScript reads ${f.expected}`);
  process.exit(1);
}
console.log(`numbers: all ${checked} read as JavaScript reads them (${cases.length} answer spellings, ${times.length} event time spellings, ${values.length} values through Scorer.evaluate and Session.set)`);

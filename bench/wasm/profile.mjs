// Where the time of `evaluate(object)` goes, inside Wasm too: a V8 CPU profile of the sample leads evaluated
// in a loop, on a copy of the package whose .wasm keeps its function names, each sample counted in the
// innermost step it belongs to.
//
//   node bench/wasm/profile.mjs [--seconds 3]
//
// pkg/ has its names stripped, so this makes the copy from the Rust build's output
// (target/wasm32-unknown-unknown/build-leadscore.wasm, the full build, which scripts/build-wasm.sh leaves) with
// `wasm-bindgen --keep-debug`, without the `wasm-opt -Oz` pass: the shares are those of that copy.

import { readFileSync, copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Session } from "node:inspector/promises";
import { NOW, leadsFromCsv, leadsFromNdjson } from "./leads.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const args = process.argv.slice(2);
const seconds = Number(args.includes("--seconds") ? args[args.indexOf("--seconds") + 1] : 3);
const built = join(root, "target/wasm32-unknown-unknown/build-leadscore.wasm");

if (!existsSync(built)) {
  console.log(`(profile skipped: ${built} is missing; run scripts/build-wasm.sh)`);
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), "leadscore-profile-"));
try {
  execFileSync("wasm-bindgen", ["--target", "web", "--keep-debug", "--out-dir", dir, "--out-name", "leadscore", built]);
} catch (e) {
  console.log(`(profile skipped: wasm-bindgen failed: ${e.message.split("\n")[0]})`);
  process.exit(0);
}
copyFileSync(join(root, "npm/node.js"), join(dir, "node.js"));

const { Scorer } = await import(pathToFileURL(join(dir, "node.js")).href);
const read = (path) => readFileSync(join(root, path), "utf8");
const modelText = read("examples/b2b-saas.json");
const model = JSON.parse(modelText);
const leads = [...leadsFromNdjson(read("examples/leads/b2b-saas.ndjson")), ...leadsFromCsv(model, read("examples/leads/b2b-saas.csv"))];
const scorer = new Scorer(modelText);
const options = { complete: true, hints: false };
const run = (ms) => {
  let n = 0;
  let s = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (const l of leads) s += scorer.evaluate(l.answers, l.events, NOW, options).score;
    n += leads.length;
  }
  return { n, s };
};
run(500); // warm-up
const plain = run(1000); // the time per evaluation without the profiler
const perEval = 1e9 / plain.n;

const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 200 });
await session.post("Profiler.start");
const t = performance.now();
const { n } = run(seconds * 1000);
const elapsed = performance.now() - t;
const { profile } = await session.post("Profiler.stop");
session.disconnect();
rmSync(dir, { recursive: true, force: true });

// Innermost match wins: a sample in serde_json's parser under `from_js` counts as parsing.
const STEPS = [
  ["`JSON.stringify` of answers, events, options (JS, called from Wasm)", /__wbg_stringify_/],
  ["copy of those texts into Wasm memory", /__wbindgen_string_get/],
  ["parse of that JSON text into a `serde_json::Value`", /serde_json::de::from_str/],
  ["check answers and events against the model", /Answers::from_json|Events::from_json/],
  ["scoring: layout, knockouts, rules, groups, stages", /leadscore::eval::(pass|layout)::/],
  ["the rest of `Program::evaluate`: flow, ids, labels, ledger maps, ending", /Program>::evaluate::/],
  ["write the result as JSON text (serde_json)", /Serialize for leadscore::web::Full/],
  ["`JSON.parse` of the result text (JS, called from Wasm)", /__wbg_parse_/],
  ["free the Rust values", /drop_in_place/],
];
const OTHER = "the rest (bindings, options, allocator outside the steps above)";
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
const stepOf = new Map();
const classify = (id) => {
  if (stepOf.has(id)) return stepOf.get(id);
  const node = byId.get(id);
  const name = node.callFrame.functionName;
  let step;
  if (name === "evaluate" && node.callFrame.url.endsWith("leadscore.js")) step = OTHER;
  else {
    const hit = STEPS.find(([, re]) => re.test(name));
    step = hit ? hit[0] : parent.has(id) ? classify(parent.get(id)) : null;
  }
  stepOf.set(id, step);
  return step;
};
const time = new Map();
let inEvaluate = 0;
profile.samples.forEach((id, i) => {
  const step = classify(id);
  if (step === null) return;
  const dt = profile.timeDeltas[i] ?? 0;
  time.set(step, (time.get(step) ?? 0) + dt);
  inEvaluate += dt;
});

console.log("## Where `evaluate(object)` spends its time (Node, CPU profile)\n");
console.log("| step of `evaluate(object)`, submitted, per sample lead | share | ≈ ns |");
console.log("|---|---:|---:|");
for (const [step] of [...STEPS, [OTHER]]) {
  const share = (time.get(step) ?? 0) / inEvaluate;
  console.log(`| ${step} | ${(share * 100).toFixed(1)}% | ${Math.round(share * perEval).toLocaleString("en-US")} |`);
}
console.log(
  `\nShares of the profile's samples in \`evaluate\` (${n.toLocaleString("en-US")} evaluations in ${(elapsed / 1000).toFixed(1)} s ` +
    `under the profiler); ns: the share of ${Math.round(perEval).toLocaleString("en-US")} ns, the time per evaluation ` +
    "without the profiler. Measured on a copy of the build with function names and without the `wasm-opt -Oz` pass.",
);

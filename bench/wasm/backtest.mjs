// The backtest of a large history in the full build under Node, as the playground's worker runs it: a
// generated file of N past leads (default 100,000) read, scored in steps of 5,000 and reported, next to the
// command-line tool on the same file. `node bench/wasm/backtest.mjs [--rows N]`; needs pkg/ and
// target/release/leadscore.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Backtest, Scorer } from "../../pkg/node.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const i = process.argv.indexOf("--rows");
const rows = i > 0 ? Number(process.argv[i + 1]) : 100_000;
const dir = mkdtempSync(join(tmpdir(), "leadscore-backtest-"));
const file = join(dir, "history.csv");
const model = join(root, "examples/b2b-saas.json");
writeFileSync(file, execFileSync("node", [join(root, "examples/history/generate.mjs"), "--rows", String(rows), "--seed", "11"], { maxBuffer: 1 << 30 }));
const text = readFileSync(file, "utf8");
const scorer = new Scorer(readFileSync(model, "utf8"));

const runs = [];
let report;
for (let k = 0; k < 3; k++) {
  const t0 = performance.now();
  const bt = new Backtest(scorer, text);
  let steps = 0;
  let longest = 0;
  for (;;) {
    const s0 = performance.now();
    const done = bt.step(5000);
    longest = Math.max(longest, performance.now() - s0);
    steps++;
    if (done) break;
  }
  const t1 = performance.now();
  report = bt.report();
  const t2 = performance.now();
  runs.push({ total: t2 - t0, score: t1 - t0, report: t2 - t1, longest, steps });
  bt.free();
}
const cli = [];
for (let k = 0; k < 3; k++) {
  const t0 = performance.now();
  execFileSync(join(root, "target/release/leadscore"), ["backtest", model, file, "--format", "json"], { maxBuffer: 1 << 28 });
  cli.push(performance.now() - t0);
}
rmSync(dir, { recursive: true, force: true });
const best = runs.reduce((a, b) => (a.total < b.total ? a : b));
const mb = (text.length / 1e6).toFixed(1);
console.log(`backtest of ${rows.toLocaleString("en")} leads (${mb} MB of CSV), best of 3:`);
console.log(`  Wasm in Node: ${best.total.toFixed(0)} ms (${((rows / best.score) * 1000).toFixed(0)} leads/s scoring, report ${best.report.toFixed(1)} ms), ${best.steps} steps of 5,000, the longest ${best.longest.toFixed(0)} ms`);
console.log(`  CLI (native, process and JSON output included): ${Math.min(...cli).toFixed(0)} ms`);
console.log(`  ${report.scored} scored, ${report.won} won, ${report.lost} lost, ${report.open} open`);

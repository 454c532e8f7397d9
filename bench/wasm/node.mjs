// The benchmark in Node: start-up of the Wasm module, then the suite (suite.js), printed as Markdown.
//
//   node bench/wasm/node.mjs [--json results.json] [--quick]
//
// Environment: LEADSCORE_PKG, another build of the package to measure instead of pkg/.

import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { median } from "./timing.js";
import { ms, resultsTable, breakdownTable, checkLine } from "./report.js";

const root = new URL("../../", import.meta.url);
const pkg = process.env.LEADSCORE_PKG ? pathToFileURL(resolve(process.env.LEADSCORE_PKG) + "/") : new URL("pkg/", root);
const args = process.argv.slice(2);
const jsonOut = args.includes("--json") ? args[args.indexOf("--json") + 1] : null;
const quick = args.includes("--quick") || process.env.BENCH_QUICK === "1";
const read = (path) => readFileSync(new URL(path, root), "utf8");
const log = (s) => console.error(s);

const modelText = read("examples/b2b-saas.json");

// Start-up, before anything else loads the module. The first import of pkg/node.js reads the .wasm file,
// compiles and instantiates it; later compiles and instantiations are timed on fresh copies of the glue.
const startup = {};
{
  let t = performance.now();
  const leadscore = await import(new URL("node.js", pkg).href);
  startup.importFirst = performance.now() - t;
  t = performance.now();
  const first = new leadscore.Scorer(modelText);
  startup.scorerFirst = performance.now() - t;
  first.free();
  const later = [];
  for (let i = 0; i < 20; i++) {
    t = performance.now();
    new leadscore.Scorer(modelText).free();
    later.push(performance.now() - t);
  }
  startup.scorerLater = median(later);

  const wasmUrl = new URL("leadscore_bg.wasm", pkg);
  t = performance.now();
  const bytes = readFileSync(wasmUrl);
  startup.readFile = performance.now() - t;
  startup.wasmBytes = bytes.length;
  const compiles = [];
  const instantiations = [];
  const freshScorers = [];
  for (let i = 0; i < 20; i++) {
    t = performance.now();
    const module = new WebAssembly.Module(bytes);
    compiles.push(performance.now() - t);
    // A separate copy of the glue (a different module URL) with an instance of its own.
    const glue = await import(new URL(`leadscore.js?instance=${i}`, pkg).href);
    t = performance.now();
    glue.initSync({ module });
    instantiations.push(performance.now() - t);
    t = performance.now();
    new glue.Scorer(modelText).free();
    freshScorers.push(performance.now() - t);
  }
  startup.compileLater = median(compiles);
  startup.instantiateLater = median(instantiations);
  startup.scorerFreshInstance = median(freshScorers);
  startup.scorerFreshInstanceFirstCopy = freshScorers[0];
}

function startupTable(s) {
  return [
    "| Node start-up (`examples/b2b-saas.json`) | ms |",
    "|---|---:|",
    `| first \`import "pkg/node.js"\`: read ${(s.wasmBytes / 1024).toFixed(0)} KiB .wasm, compile, instantiate | ${ms(s.importFirst)} |`,
    `| first \`new Scorer(b2bJsonText)\` after it (compile the rules) | ${ms(s.scorerFirst)} |`,
    `| later \`new Scorer(b2bJsonText)\`, median of 20 | ${ms(s.scorerLater)} |`,
    `| read the .wasm file again | ${ms(s.readFile)} |`,
    `| later Wasm compiles, \`new WebAssembly.Module(bytes)\`, median of 20 | ${ms(s.compileLater)} |`,
    `| later instantiations, \`initSync({module})\` on a fresh glue copy, median of 20 | ${ms(s.instantiateLater)} |`,
    `| first \`new Scorer\` on such a fresh instance, median of 20 | ${ms(s.scorerFreshInstance)} |`,
  ].join("\n");
}

const { Scorer } = await import(new URL("node.js", pkg).href);
const { Scorer: Runtime } = await import(new URL("runtime-node.js", pkg).href);
const jsonLogic = (await import("json-logic-js")).default;
const { runSuite } = await import("./suite.js");

const result = await runSuite({
  Scorer,
  Runtime,
  jsonLogic,
  modelText,
  csvText: read("examples/leads/b2b-saas.csv"),
  ndjsonText: read("examples/leads/b2b-saas.ndjson"),
  log,
  quick,
});
result.env = `Node ${process.version} (V8 ${process.versions.v8}), ${process.arch}`;
result.startup = startup;
if (process.env.LEADSCORE_PKG) result.env += `, package ${process.env.LEADSCORE_PKG}`;

console.log(`## Node: ${result.env}\n`);
console.log(checkLine(result) + "\n");
console.log(resultsTable(result) + "\n");
console.log(breakdownTable(result) + "\n");
console.log(startupTable(startup) + "\n");

if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2));

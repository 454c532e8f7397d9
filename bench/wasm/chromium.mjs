// The benchmark in headless Chromium: start-up over fresh page loads, then the suite (suite.js, the same module
// as in Node) in one page, printed as Markdown.
//
//   node bench/wasm/chromium.mjs [--json results.json] [--quick] [--loads 20] [--startup-only]
//
// Environment: CHROMIUM (default /usr/bin/chromium); LEADSCORE_PKG, another build of the package to measure
// instead of pkg/.

import { writeFileSync } from "node:fs";
import { browser as launchChromium } from "../../tests/node/support.mjs";
import { serve } from "./server.mjs";
import { median } from "./timing.js";
import { ms, resultsTable, breakdownTable, checkLine } from "./report.js";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const jsonOut = option("--json", null);
const quick = args.includes("--quick") || process.env.BENCH_QUICK === "1";
const loads = Number(option("--loads", quick ? 5 : 20));
const startupOnly = args.includes("--startup-only");
const log = (s) => console.error(s);

const server = await serve(process.env.LEADSCORE_PKG ? { pkg: process.env.LEADSCORE_PKG } : {});
const browser = await launchChromium();
const version = browser.version();

async function startupOnce(context, build) {
  const page = await context.newPage();
  try {
    const query = build === "runtime-split" ? "build=runtime&split" : `build=${build}`;
    await page.goto(`${server.origin}/bench/wasm/startup.html?${query}`);
    await page.waitForFunction(() => window.startupResult, null, { timeout: 30_000 });
    return await page.evaluate(() => window.startupResult);
  } finally {
    await page.close();
  }
}

let result;
const startup = {};
try {
  for (const build of ["runtime", "runtime-split", "full"]) {
    const s = (startup[build] = { cold: [], warm: [] });
    // Cold: every load in a new browser context (an empty profile: no HTTP cache, no code cache).
    log(`start-up (${build}): ${loads} loads, each in a new context...`);
    for (let i = 0; i < loads; i++) {
      const context = await browser.newContext();
      s.cold.push(await startupOnce(context, build));
      await context.close();
    }
    // Warm: every load a new page in one context, after a first visit (a returning visitor).
    log(`start-up (${build}): ${loads} loads in one context, after a first one...`);
    const context = await browser.newContext();
    await startupOnce(context, build);
    for (let i = 0; i < loads; i++) s.warm.push(await startupOnce(context, build));
    await context.close();
  }

  if (startupOnly) {
    result = { rows: [] };
  } else {
    log("suite: one page...");
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("console", (m) => log(m.text()));
    page.on("pageerror", (e) => log(`page error: ${e.message}`));
    await page.goto(`${server.origin}/bench/wasm/page.html${quick ? "?quick" : ""}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 600_000, polling: 250 });
    const out = await page.evaluate(() => window.benchResult);
    await context.close();
    if (out.error) throw new Error(`the benchmark failed in Chromium:\n${out.error}`);
    result = out.result;
  }
} finally {
  await browser.close();
  await server.close();
}

result.env = `Chromium ${version} headless (${result.env})`;
result.startup = startup;
if (process.env.LEADSCORE_PKG) result.env += `, package ${process.env.LEADSCORE_PKG}`;

function startupTable({ runtime, "runtime-split": split, full }) {
  const med = (list, key) => median(list.map((r) => r[key]).filter((x) => x !== null));
  const row = (label, key, { cold, warm }) => `| ${label} | ${ms(med(cold, key))} | ${ms(med(warm, key))} |`;
  const sum = (r) => r.importGlue + r.init + r.scorerFirst;
  const total = (label, { cold, warm }) =>
    `| ${label} | ${ms(median(cold.map(sum)))} | ${ms(median(warm.map(sum)))} |`;
  // One block of rows per build: what differs is the glue, the scorer's source and what loading it does.
  const section = (short, title, name, loads, source, loading, extra = []) => [
    `| ${title} | | |`,
    ...extra,
    row(`\`import("/pkg/${name}.js")\` (the JS glue)`, "importGlue", loads),
    row("`await init()`: instantiate the module from its URL (fetch, compile, instantiate)", "init", loads),
    row("&nbsp;&nbsp;of which the .wasm response, request start to last byte", "wasmFetch", loads),
    row(`first \`new Scorer(${source})\`: ${loading}`, "scorerFirst", loads),
    row(`later \`new Scorer(${source})\` in the same page (median of 10)`, "scorerLater", loads),
    total(`${short}: glue + \`init()\` + first \`new Scorer\``, loads),
  ];
  const { cold, warm } = full;
  const cached = [...runtime.warm, ...warm].filter((r) => r.wasmFromCache).length;
  return [
    `| Chromium start-up (the B2B example), median of ${cold.length} page loads | cold, ms | returning, ms |`,
    "|---|---:|---:|",
    ...section("runtime", "**runtime** (what a landing page loads)", "runtime", runtime, "bytes", "load the program", [
      row("fetch `b2b-saas.lsp` (the program built ahead of time)", "fetchModel", runtime),
    ]),
    `| **runtime, step by step** (the same, with the .wasm fetched, compiled and instantiated apart) | | |`,
    row("fetch `b2b-saas.lsp`", "fetchModel", split),
    row("`import(\"/pkg/runtime.js\")` (the JS glue)", "importGlue", split),
    row("fetch `runtime_bg.wasm` (`arrayBuffer()`)", "fetchWasm", split),
    row("`WebAssembly.compile(bytes)` (validate; functions compile lazily on their first call)", "compile", split),
    row("`init({module_or_path: module})`: instantiate, glue start", "instantiate", split),
    row("first `new Scorer(bytes)`: decode and check the program, first calls compiled", "scorerFirst", split),
    row("later `new Scorer(bytes)`: decode and check alone (median of 10)", "scorerLater", split),
    ...section("full", "**full build** (compiler included)", "leadscore", full, "b2bJsonText", "compile the rules"),
    "",
    "Cold: each load in a new browser context (empty profile: nothing cached). Returning: each load a new page in",
    `one context after a first visit (HTTP cache; the .wasm came from the cache in ${cached} of ${runtime.warm.length + warm.length} loads).`,
    `Pages cross-origin isolated: ${cold.every((r) => r.crossOriginIsolated) ? "yes (fine-grained `performance.now()`)" : "no (100 µs timer resolution)"}.`,
  ].join("\n");
}

console.log(`## Chromium: ${result.env}\n`);
if (!startupOnly) {
  console.log(checkLine(result) + "\n");
  console.log(resultsTable(result) + "\n");
  console.log(breakdownTable(result) + "\n");
}
console.log(startupTable(startup) + "\n");

if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2));

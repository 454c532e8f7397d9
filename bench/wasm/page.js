// The benchmark in the browser: the same suite as in Node, on the module instantiated with `init()`.
// The result is left in `window.benchResult` ({ result } or { error }) for the runner to collect.

import init, { Scorer } from "/pkg/leadscore.js";
import initRuntime, { Scorer as Runtime } from "/pkg/runtime.js";
import { runSuite } from "./suite.js";

const text = async (path) => {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.text();
};

const logEl = document.getElementById("log");
const log = (line) => {
  console.log(line);
  logEl.textContent += line + "\n";
};

try {
  await init();
  await initRuntime();
  const quick = new URLSearchParams(location.search).has("quick");
  const result = await runSuite({
    Scorer,
    Runtime,
    jsonLogic: globalThis.jsonLogic,
    modelText: await text("/examples/b2b-saas.json"),
    csvText: await text("/examples/leads/b2b-saas.csv"),
    ndjsonText: await text("/examples/leads/b2b-saas.ndjson"),
    log,
    quick,
  });
  result.env = navigator.userAgent.match(/(HeadlessChrome|Chrome|Chromium)\/[\d.]+/)?.[0] ?? navigator.userAgent;
  result.crossOriginIsolated = globalThis.crossOriginIsolated;
  window.benchResult = { result };
} catch (e) {
  log(String(e.stack ?? e));
  window.benchResult = { error: String(e.stack ?? e) };
}

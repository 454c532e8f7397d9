// Start-up on one fresh page load (`?split`: with fetch, compile and instantiation timed apart). With `?build=full` (the default): import the glue, `init()` (fetch,
// compile and instantiate the .wasm from its URL), then `new Scorer(b2bJsonText)` (compile the rules
// document), first and again. With `?build=runtime`: the same with the runtime module and the B2B program
// compiled ahead of time (`leadscore build`), fetched as a page would fetch it. The times are left in
// `window.startupResult` for the runner.

const params = new URLSearchParams(location.search);
const runtime = params.get("build") === "runtime";
// `?split`: the module fetched, compiled and instantiated in separate steps, each timed (no streaming).
const split = params.has("split");

let t = performance.now();
const source = runtime
  ? new Uint8Array(await (await fetch("/target/bench/b2b-saas.lsp")).arrayBuffer())
  : await (await fetch("/examples/b2b-saas.json")).text();
const fetchModel = performance.now() - t;

t = performance.now();
const leadscore = await import(runtime ? "/pkg/runtime.js" : "/pkg/leadscore.js");
const importGlue = performance.now() - t;

const steps = {};
t = performance.now();
if (split) {
  const bytes = await (await fetch(runtime ? "/pkg/runtime_bg.wasm" : "/pkg/leadscore_bg.wasm")).arrayBuffer();
  steps.fetchWasm = performance.now() - t;
  let u = performance.now();
  const module = await WebAssembly.compile(bytes);
  steps.compile = performance.now() - u;
  u = performance.now();
  await leadscore.default({ module_or_path: module });
  steps.instantiate = performance.now() - u;
} else {
  await leadscore.default();
}
const init = performance.now() - t;

t = performance.now();
const first = new leadscore.Scorer(source);
const scorerFirst = performance.now() - t;
first.free();

const later = [];
for (let i = 0; i < 10; i++) {
  t = performance.now();
  new leadscore.Scorer(source).free();
  later.push(performance.now() - t);
}
later.sort((a, b) => a - b);

const wasm = performance.getEntriesByType("resource").find((e) => e.name.endsWith(".wasm"));
window.startupResult = {
  fetchModel,
  importGlue,
  ...steps,
  init,
  scorerFirst,
  scorerLater: (later[4] + later[5]) / 2,
  // Time to the last byte of the .wasm response, from the request's start; and whether it came from a cache.
  wasmFetch: wasm ? wasm.responseEnd - wasm.startTime : null,
  wasmFromCache: wasm ? wasm.transferSize === 0 : null,
  crossOriginIsolated: globalThis.crossOriginIsolated,
};

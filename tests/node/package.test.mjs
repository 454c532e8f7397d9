// The npm package as users get it: `npm pack` of pkg/, installed from the tarball into scratch projects, then
// imported and used in the settings it promises: Node (a server), a page with no bundler
// (<script type="module">), bundled apps (Vite and webpack), React and Vue apps and their server rendering, and
// `npx leadscore build`; the pages run in headless Chromium. The scratch projects are inside the repository, so
// React and Vue resolve to its dev dependencies, as a project's own would.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { root, pkg, NOW, serve, browser, pageResult } from "./support.mjs";
import { Scorer as FullScorer } from "../../pkg/node.js";

const scratch = join(root, "target", "npm-test");
const b2b = readFileSync(join(root, "examples/b2b-saas.json"), "utf8");
const lead = JSON.parse(readFileSync(join(root, "examples/leads/b2b-saas.ndjson"), "utf8").split("\n")[0]);
const events = lead.events.map((e) => ({ type: e.type, at: Date.parse(e.at) }));
const expected = JSON.parse(readFileSync(new URL("./b2b-expected.json", import.meta.url), "utf8"))[lead.id];
let tarball;
let chromium;

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** A scratch project with the tarball installed. */
function project(name, files) {
  const dir = join(scratch, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], dir);
  return dir;
}

/** The code every setting runs: compile the B2B model and score one lead. */
const scoring = (importLine, initLine) => `${importLine}
const doc = ${JSON.stringify(b2b)};
async function main() {
  ${initLine}
  const s = new Scorer(doc);
  const e = s.evaluate(${JSON.stringify(lead.answers)}, ${JSON.stringify(events)}, ${NOW}, { complete: true, hints: false });
  return { score: e.score, stage: e.stage.id };
}
`;
const pageMain = (importLine) =>
  scoring(importLine, "await init();") +
  "main().then((r) => { window.result = r; }, (e) => { window.failure = String(e && e.stack || e); });\n";
const html = (script) =>
  `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>t</title></head><body>${script}</body></html>`;

/** Serves `dir`, opens it in Chromium and returns what the page scored. */
async function scoreInChromium(dir) {
  chromium ??= await browser();
  const server = await serve(dir);
  try {
    return await pageResult(chromium, server.url + "/");
  } finally {
    await server.close();
  }
}

before(() => {
  mkdirSync(scratch, { recursive: true });
  const out = run("npm", ["pack", "--json", "--pack-destination", scratch, pkg], root);
  const [info] = JSON.parse(out);
  tarball = join(scratch, info.filename);
  const files = info.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "README.md", "auto.js", "cli.js", "component.d.ts", "component.js", "form.d.ts", "form.js", "form_bg.wasm",
    "form_bg.wasm.d.ts", "leadscore.css", "leadscore.d.ts", "leadscore.js", "leadscore_bg.wasm",
    "leadscore_bg.wasm.d.ts", "node.js", "package.json", "react.d.ts", "react.js", "runtime-node.js", "runtime.d.ts",
    "runtime.js", "runtime_bg.wasm", "runtime_bg.wasm.d.ts", "schema.json", "vue.d.ts", "vue.js",
  ]);
});

after(async () => {
  await chromium?.close();
});

test("the README's table of imports gives the package's sizes (gzipped, within 5% or 1 KB)", () => {
  const readme = readFileSync(join(pkg, "README.md"), "utf8");
  const parts = {
    leadscore: ["leadscore_bg.wasm", "leadscore.js"],
    "leadscore/runtime": ["runtime_bg.wasm", "runtime.js"],
    "leadscore/form": ["form_bg.wasm", "form.js"],
    "leadscore/leadscore.css": ["leadscore.css"],
    "leadscore/schema.json": ["schema.json"],
  };
  const kb = (files) => files.reduce((n, f) => n + gzipSync(readFileSync(join(pkg, f)), { level: 9 }).length, 0) / 1024;
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  // A row may name two imports (`leadscore/react`, `leadscore/vue`).
  const rows = [...readme.matchAll(/^\| (`leadscore[^|]*) \|.*\| ([^|]*) \|$/gm)].flatMap((r) =>
    [...r[1].matchAll(/`([^`]+)`/g)].map((n) => [r[0], n[1], r[2]]));
  assert.deepEqual(rows.map((r) => r[1]).sort(), Object.keys(manifest.exports).filter((e) => !/wasm|package/.test(e))
    .map((e) => (e === "." ? "leadscore" : `leadscore/${e.slice(2)}`)).sort(), "every entry point is in the table");
  for (const [, name, size] of rows) {
    const small = { "leadscore/auto": ["auto.js"], "leadscore/react": ["react.js", "component.js"], "leadscore/vue": ["vue.js", "component.js"] };
    if (small[name]) {
      assert.match(size, /under 1 KB/);
      assert.ok(kb(small[name]) < 1, `${name}: ${kb(small[name])} KB`);
      continue;
    }
    const said = Number(/about (\d+) KB/.exec(size)?.[1]);
    const actual = kb(parts[name]);
    assert.ok(Math.abs(actual - said) <= Math.max(1, said * 0.05), `${name}: the README says ${size}, it is ${actual.toFixed(1)} KB`);
  }
});

test("npx leadscore build: the program and the command-line tool's output, from the packed tarball", () => {
  const cli = join(root, "target/release/leadscore");
  assert.ok(existsSync(cli), "the command-line tool is built (cargo build --release)");
  // Two misspelled fields, in the rules of lines 417 and 420.
  const broken = b2b.replace('"when": "employees >= 100"', '"when": "employes >= 100"').replace('"when": "annual_revenue >= 10"', '"when": "anual_revenue >= 10"');
  assert.notEqual(broken, b2b);
  const dir = project("npx-build", { "model.json": b2b, "models/broken.json": broken });
  const npx = (...args) => spawnSync("npx", ["--no", "--", "leadscore", ...args], { cwd: dir, encoding: "utf8" });
  const native = (...args) => spawnSync(cli, args, { cwd: dir, encoding: "utf8" });

  let r = npx("build", "model.json");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^wrote model\.lsp: \d+ bytes \(the document: \d+ bytes\); rules hash [0-9a-f]{16}\n$/);
  const built = readFileSync(join(dir, "model.lsp"));
  assert.deepEqual(built, Buffer.from(new FullScorer(b2b).toBytes()), "the full build's program");
  const n = native("build", "model.json", "-o", "native.lsp");
  assert.equal(n.status, 0, n.stderr);
  assert.deepEqual(built, readFileSync(join(dir, "native.lsp")), "the command-line tool's program, byte for byte");
  assert.equal(r.stderr, n.stderr.replace("native.lsp", "model.lsp"), "the same report");

  r = npx("build", "model.json", "--output", "models/model-2.lsp");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(join(dir, "models/model-2.lsp")), built);

  // Errors: the same located diagnostics and last line as the command-line tool, and nothing written.
  r = npx("build", "models/broken.json");
  assert.equal(r.status, 2);
  assert.equal(r.stderr, native("build", "models/broken.json").stderr);
  assert.match(r.stderr, /error\[unknown_name\]: `employes` is not a field[^\n]*\n  --> models\/broken\.json:417:\d+ \(\/rules\/\d+\/when\)/);
  assert.match(r.stderr, /error\[unknown_name\]: `anual_revenue` is not a field[^\n]*\n  --> models\/broken\.json:420:\d+ \(\/rules\/\d+\/when\)/);
  assert.match(r.stderr, /\nerror: models\/broken\.json has 2 error\(s\); run `leadscore check models\/broken\.json`\n$/);
  assert.equal(existsSync(join(dir, "models/broken.lsp")), false);

  // Bad command lines: exit 2 with the usage; --help on stdout.
  for (const args of [[], ["build"], ["check", "model.json"], ["build", "a.json", "b.json"], ["build", "--frobnicate", "model.json"]]) {
    r = npx(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^error: .*\n[\s\S]*Usage: leadscore build <MODEL>/, args.join(" "));
  }
  r = npx("build", "missing.json");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: cannot read missing\.json: /);
  r = npx("--help");
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^Usage: leadscore build <MODEL> \[-o <OUTPUT>\]/);
});

test("Node >= 20: import the installed package and score on a server", () => {
  const dir = project("node-app", {
    "app.mjs": scoring('import { Scorer } from "leadscore";', "") + "main().then((r) => console.log(JSON.stringify(r)));\n",
    "app.cjs": 'import("leadscore").then(({ Scorer }) => console.log(typeof Scorer));\n',
  });
  assert.deepEqual(JSON.parse(run("node", ["app.mjs"], dir)), expected);
  assert.equal(run("node", ["app.cjs"], dir).trim(), "function", "CommonJS code can load it with import()");
});

test("a page with no bundler: <script type=module> straight from node_modules", async () => {
  const dir = project("page", {
    "index.html": html('<script type="module" src="main.js"></script>'),
    "main.js": pageMain('import init, { Scorer } from "./node_modules/leadscore/leadscore.js";'),
  });
  assert.deepEqual(await scoreInChromium(dir), expected);
});

test("a Vite app: vite build, then the built page in Chromium", async () => {
  const dir = project("vite-app", {
    "index.html": html('<script type="module" src="/main.js"></script>'),
    "main.js": pageMain('import init, { Scorer } from "leadscore";'),
  });
  run("node", [join(root, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "error"], dir);
  const assets = readdirSync(join(dir, "dist", "assets"));
  assert.ok(assets.some((f) => f.endsWith(".wasm")), `the .wasm is emitted as an asset: ${assets}`);
  assert.deepEqual(await scoreInChromium(join(dir, "dist")), expected);
});

test("a webpack 5 app: webpack --mode production, then the built page in Chromium", async () => {
  const dir = project("webpack-app", {
    "src/index.js": pageMain('import init, { Scorer } from "leadscore";'),
  });
  run("node", [join(root, "node_modules/webpack-cli/bin/cli.js"), "--mode", "production", "--entry", "./src/index.js", "--output-path", "dist", "--no-stats"], dir);
  writeFileSync(join(dir, "dist", "index.html"), html('<script src="main.js"></script>'));
  assert.ok(readdirSync(join(dir, "dist")).some((f) => f.endsWith(".wasm")), "the .wasm is emitted");
  assert.deepEqual(await scoreInChromium(join(dir, "dist")), expected);
});

/** A landing page with the runtime build: it fetches the program compiled ahead of time (`model.lsp`), feeds the
 * lead to a session one answer and one event at a time, and reads the score as if submitted. */
const runtimePage = (importLine) => `${importLine}
async function main() {
  await init();
  const bytes = new Uint8Array(await (await fetch("model.lsp")).arrayBuffer());
  const session = new Scorer(bytes).session(${NOW});
  for (const [field, value] of Object.entries(${JSON.stringify(lead.answers)})) session.set(field, value);
  for (const e of ${JSON.stringify(events)}) session.record(e.type, e.at);
  return { score: session.total, stage: session.stage };
}
main().then((r) => { window.result = r; }, (e) => { window.failure = String(e && e.stack || e); });
`;

test("a landing page with the runtime: Vite build of leadscore/runtime, the program loaded as bytes", async () => {
  const dir = project("vite-runtime", {
    "index.html": html('<script type="module" src="/main.js"></script>'),
    "main.js": runtimePage('import init, { Scorer } from "leadscore/runtime";'),
  });
  run("node", [join(root, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "error"], dir);
  writeFileSync(join(dir, "dist", "model.lsp"), new FullScorer(b2b).toBytes());
  const assets = readdirSync(join(dir, "dist", "assets"));
  assert.deepEqual(assets.filter((f) => f.endsWith(".wasm")).length, 1, `only the runtime's .wasm: ${assets}`);
  assert.ok(assets.some((f) => f.startsWith("runtime_bg")), `the runtime's .wasm is emitted: ${assets}`);
  assert.deepEqual(await scoreInChromium(join(dir, "dist")), expected);
});

// The React and Vue components, as a form builder uses them: built by Vite into an app, driven in Chromium as a
// visitor would; and rendered on a server (as Next.js or Nuxt do), where they must not touch the browser.

/** The knockout fixture's form as data: [tag, attributes, ...children], strings for text. */
const KNOCKOUT_MARKUP = [
  ["fieldset", { "data-step": "who" },
    ["label", { "data-field": "email" }, "Email ", ["input", { type: "email", name: "email" }]],
    ["fieldset", { "data-field": "role" }, ["legend", {}, "You are"],
      ["label", {}, ["input", { type: "radio", name: "role", value: "buyer" }], " buying for a company"],
      ["label", {}, ["input", { type: "radio", name: "role", value: "student" }], " a student"]]],
  ["fieldset", { "data-step": "org" }, ["label", { "data-field": "company" }, "Company ", ["input", { name: "company" }]]],
  ["button", { type: "submit" }, "Send"],
];
const knockoutModel = readFileSync(join(root, "tests/e2e/fixtures/knockout.json"), "utf8");

/** An app's main.js: `el` builds the markup with the framework's element function; window.mount() and
 * window.unmount() mount it with the props the test passes (and records what the callbacks receive). */
const componentApp = (framework) => `
${framework === "react"
  ? `import { createElement, StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { LeadscoreForm } from "leadscore/react";
const el = ([tag, attrs, ...kids]) => createElement(tag, { ...attrs, key: Math.random() }, ...kids.map((k) => (typeof k === "string" ? k : el(k))));`
  : `import { createApp, h } from "vue";
import { LeadscoreForm } from "leadscore/vue";
const el = ([tag, attrs, ...kids]) => h(tag, attrs, kids.map((k) => (typeof k === "string" ? k : el(k))));`}
const markup = ${JSON.stringify(KNOCKOUT_MARKUP)};
window.log = { ready: 0, endings: [], submits: [], errors: [] };
const props = (withSubmit) => ({
  id: "lead", action: "/collect", method: "post", program: "/model.lsp", options: { persist: false },
  onReady: (handle) => { window.log.ready++; window.handle = handle; },
  onEnding: (outcome) => window.log.endings.push(outcome.ending.key),
  onError: (e) => window.log.errors.push(String(e.message)),
  ...(withSubmit ? { onSubmit: (outcome) => { window.log.submits.push(outcome.stage); return Promise.resolve(); } } : {}),
});
let unmount;
window.mount = (withSubmit, program) => {
  const host = document.getElementById("app");
  const p = { ...props(withSubmit), ...(program ? { program } : {}) };
${framework === "react"
  ? `  const root = createRoot(host);
  root.render(createElement(StrictMode, null, createElement(LeadscoreForm, p, ...markup.map(el))));
  unmount = () => root.unmount();`
  : `  const app = createApp({ render: () => h(LeadscoreForm, p, () => markup.map(el)) });
  app.mount(host);
  unmount = () => app.unmount();`}
};
window.unmount = () => unmount();
window.loaded = true;
`;

/** Builds the app with Vite and serves it with the knockout fixture's program at /model.lsp. */
function componentProject(framework) {
  const dir = project(`${framework}-app`, {
    "index.html": html('<div id="app"></div><script type="module" src="/main.js"></script>'),
    "main.js": componentApp(framework),
  });
  run("node", [join(root, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "error"], dir);
  writeFileSync(join(dir, "dist", "model.lsp"), new FullScorer(knockoutModel).toBytes());
  return join(dir, "dist");
}

for (const framework of ["react", "vue"]) {
  test(`<LeadscoreForm> in a ${framework === "react" ? "React (StrictMode)" : "Vue"} app built by Vite, in Chromium`, async () => {
    const dist = componentProject(framework);
    const assets = readdirSync(join(dist, "assets"));
    assert.deepEqual(assets.filter((f) => f.endsWith(".wasm")), assets.filter((f) => f.startsWith("form_bg")), `only the form build: ${assets}`);
    chromium ??= await browser();
    const server = await serve(dist);
    const page = await chromium.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    const log = () => page.evaluate(() => window.log);
    try {
      await page.goto(server.url + "/");
      await page.waitForFunction(() => window.loaded);

      // Mounted: attached once (StrictMode mounts, unmounts and mounts again), the props on the <form>.
      await page.evaluate(() => window.mount(false));
      await page.waitForFunction(() => window.log.ready >= 1);
      await page.waitForTimeout(100);
      assert.equal((await log()).ready, 1, "attached once");
      assert.equal(await page.$$eval(".leadscore-next", (l) => l.length), 1, "one controller");
      assert.deepEqual(await page.$eval("form", (f) => [f.id, f.getAttribute("action"), f.classList.contains("leadscore-active")]), ["lead", "/collect", true]);
      // A student: the knockout's ending, through onEnding, and nothing sent.
      await page.fill("input[name=email]", "ann@uni.example");
      await page.check("input[value=student]");
      await page.click(".leadscore-next");
      await page.waitForSelector(".leadscore-ending:not([hidden])");
      assert.deepEqual((await log()).endings, ["knockout:education"]);
      assert.equal(await page.evaluate(() => window.handle.outcome().knockout), "student", "the handle is passed through");
      // Unmounted: detached, everything it added removed.
      await page.evaluate(() => window.unmount());
      assert.equal(await page.$$eval("form, .leadscore-ending, .leadscore-live", (l) => l.length), 0);

      // With onSubmit: a buyer is qualified and sent through it, then the stage's ending.
      await page.evaluate(() => window.mount(true));
      await page.waitForFunction(() => window.log.ready >= 2);
      await page.fill("input[name=email]", "bob@acme.example");
      await page.check("input[value=buyer]");
      await page.click(".leadscore-next");
      await page.fill("input[name=company]", "Acme");
      await page.click("button[type=submit]");
      await page.waitForFunction(() => window.log.submits.length > 0);
      await page.waitForSelector(".leadscore-ending:not([hidden])");
      assert.deepEqual((await log()).submits, ["mql"]);
      assert.deepEqual((await log()).endings, ["knockout:education", "stage:mql"]);
      await page.evaluate(() => window.unmount());

      // A program that does not load: onError, and the form stays a plain form.
      await page.evaluate(() => window.mount(false, "/missing.lsp"));
      await page.waitForFunction(() => window.log.errors.length > 0);
      assert.match((await log()).errors[0], /missing\.lsp: HTTP 404/);
      assert.equal(await page.$eval("form", (f) => f.classList.contains("leadscore-active")), false);
      await page.evaluate(() => window.unmount());
      assert.deepEqual(problems.filter((p) => !/404/.test(p)), []);
    } finally {
      await page.close();
      await server.close();
    }
  });
}

test("<LeadscoreForm> rendered on a server (React and Vue): a plain <form>, and window and document never read", () => {
  const dir = project("ssr", {
    "render.mjs": `
// Each read of a browser global by the package's code is recorded (React and Vue themselves ask
// \`typeof window\` to tell a server from a browser: reads from their files are theirs).
const touched = [];
const reads = { ours: 0, theirs: 0 };
for (const name of ["window", "document", "navigator", "localStorage", "sessionStorage", "fetch"]) {
  Object.defineProperty(globalThis, name, {
    configurable: true,
    get() {
      const stack = new Error().stack.split("\\n").slice(2).join("\\n");
      if (/node_modules\\/leadscore\\//.test(stack.split("\\n")[0])) touched.push(name + "\\n" + stack);
      else reads.theirs++;
      return undefined;
    },
  });
}
const markup = ${JSON.stringify(KNOCKOUT_MARKUP)};
const React = await import("react");
const { renderToString } = await import("react-dom/server");
const { LeadscoreForm: ReactForm } = await import("leadscore/react");
const rel = ([tag, attrs, ...kids]) => React.createElement(tag, attrs, ...kids.map((k) => (typeof k === "string" ? k : rel(k))));
const react = renderToString(React.createElement(ReactForm, { id: "lead", action: "/collect", program: "/model.lsp", onEnding() {} }, ...markup.map(rel)));
const { createSSRApp, h } = await import("vue");
const { renderToString: vueRender } = await import("vue/server-renderer");
const { LeadscoreForm: VueForm } = await import("leadscore/vue");
const vel = ([tag, attrs, ...kids]) => h(tag, attrs, kids.map((k) => (typeof k === "string" ? k : vel(k))));
const vue = await vueRender(createSSRApp({ render: () => h(VueForm, { id: "lead", action: "/collect", program: "/model.lsp" }, () => markup.map(vel)) }));
console.log(JSON.stringify({ react, vue, touched, reads }));
`,
  });
  const out = JSON.parse(run("node", ["render.mjs"], dir));
  assert.deepEqual(out.touched, [], "the package's code read none of the browser's globals");
  assert.ok(out.reads.theirs > 0, "the trap works: the frameworks' own checks were seen");
  for (const framework of ["react", "vue"]) {
    const html = out[framework];
    assert.match(html, /^<form id="lead" action="\/collect"[^>]*>/, `${framework}: ${html}`);
    assert.match(html, /<input type="radio" name="role" value="student"\/?>/, framework);
    assert.doesNotMatch(html, /leadscore-|program=|model\.lsp/, `${framework}: nothing of the controller, no props as attributes`);
  }
});

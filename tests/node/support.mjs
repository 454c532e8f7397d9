// Shared by the Node tests: paths, a static file server on 127.0.0.1, and Debian's Chromium through
// playwright-core.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const pkg = join(root, "pkg");
/** 2026-11-23T00:00:00Z */
export const NOW = 1_795_392_000_000;

/** The smallest model a user may write: no grade, no events, no knockouts, no steps. 120 employees: an MQL. */
export const MINIMAL = {
  leadscore: 1,
  id: "minimal",
  fields: [
    { id: "email", type: "email", required: true },
    { id: "employees", type: "integer" },
  ],
  rules: [{ id: "size", group: "fit", when: "employees >= 50", points: 10 }],
  stages: [{ id: "mql", when: "score >= 10" }, { id: "lead" }],
};

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".css": "text/css",
};

/** Serves `dir` on 127.0.0.1 at a free port. Returns { url, close }. */
export async function serve(dir) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    let file = join(dir, path);
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Launches Debian's Chromium. */
export async function browser() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: chromiumArgs });
}

/**
 * Opens `url`, waits until the page sets `window.result` (or `window.failure`), and returns it. Page errors
 * and console errors fail the test.
 */
export async function pageResult(b, url) {
  const page = await b.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(url);
  await page.waitForFunction(() => "result" in window || "failure" in window, null, { timeout: 20000 });
  const out = await page.evaluate(() => ({ result: window.result, failure: window.failure }));
  await page.close();
  if (out.failure) throw new Error(`page failed: ${out.failure}`);
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  return out.result;
}

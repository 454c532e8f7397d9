// A tiny static file server for the browser benchmark, on 127.0.0.1 only. It serves the repository's
// files (pkg/, examples/, bench/wasm/, json-logic-js) with the right types, `.wasm` as application/wasm so
// that streaming compilation applies. Pages are cross-origin isolated (COOP + COEP), which gives
// `performance.now()` its finer resolution.

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".ndjson": "application/x-ndjson; charset=utf-8",
  ".lsp": "application/octet-stream",
};

/** Files that may be served, by path prefix. */
const ALLOWED = ["/pkg/", "/examples/", "/bench/wasm/", "/node_modules/json-logic-js/", "/target/bench/"];

/**
 * Starts the server on a free port of 127.0.0.1; resolves to `{ origin, close }`. `/pkg/` is served from
 * `pkg` (default: the repository's pkg/).
 */
export function serve({ root = fileURLToPath(new URL("../../", import.meta.url)), pkg = resolve(root, "pkg") } = {}) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://127.0.0.1").pathname);
    const inPkg = path.startsWith("/pkg/");
    const base = inPkg ? resolve(pkg) : resolve(root);
    const file = resolve(base, "." + (inPkg ? path.slice("/pkg".length) : path));
    if (!ALLOWED.some((p) => path.startsWith(p)) || path.includes("..") || !file.startsWith(base + sep)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
        "Content-Length": body.length,
        // Cacheable, so that a repeat visit in the same browser profile can use the HTTP and code caches.
        "Cache-Control": "max-age=600",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Embedder-Policy": "require-corp",
        "Cross-Origin-Resource-Policy": "same-origin",
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ origin: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

// Starts the Rust lead receiver (`target/release/leadscore serve`) for an end-to-end test: the demo's
// configuration (examples/receiver/demo.toml) on a free port, with its own SQLite file in a scratch directory
// and the settings a test changes. Resolves to { origin, db, dir, logs, close }.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { root } from "../node/support.mjs";

export const bin = join(root, "target/release/leadscore");

// `model` and `site`: another model file and another directory of pages than the demo's; `allowedOrigins`:
// pages on other origins that send leads; `extra`: TOML appended to the configuration (a table of its own).
export async function receiver({ minFillMs = 0, model, site, allowedOrigins = [], extra = "" } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "leadscore-receiver-"));
  const db = `sqlite:${join(dir, "leads.db")}`;
  const demo = await readFile(join(root, "examples/receiver/demo.toml"), "utf8");
  const config = demo
    .replace(/^listen = .*$/m, 'listen = "127.0.0.1:0"')
    .replace(/^root = .*$/m, `root = ${JSON.stringify(site ?? join(root, "www"))}`)
    .replace(/^database = .*$/m, `database = ${JSON.stringify(db)}`)
    .replace(/^path = "examples\/.*$/m, (line) => (model ? `path = ${JSON.stringify(model)}` : line.replace('"examples/', `"${root}/examples/`)))
    .replace(/^min_fill_ms = .*$/m, `min_fill_ms = ${minFillMs}`)
    .replace(/^allowed_origins = .*$/m, `allowed_origins = ${JSON.stringify(allowedOrigins)}`);
  const file = join(dir, "receiver.toml");
  await writeFile(file, `${config}\n${extra}\n`);
  const child = spawn(bin, ["serve", "--config", file, "--log", "json"], { stdio: ["ignore", "pipe", "pipe"] });
  const logs = [];
  createInterface({ input: child.stderr }).on("line", (l) => logs.push(l));
  const origin = await new Promise((ok, fail) => {
    child.once("exit", (code) => fail(new Error(`leadscore serve exited with ${code}:\n${logs.join("\n")}`)));
    createInterface({ input: child.stdout }).once("line", (l) => ok(l.trim().replace(/\/$/, "")));
  });
  const close = () =>
    new Promise((ok) => {
      if (child.exitCode !== null) return ok();
      child.once("exit", ok);
      child.kill("SIGTERM");
    });
  return { origin, db, dir, logs, close };
}

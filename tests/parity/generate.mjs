// Writes a deterministic set of leads for every model: for each, <name>.cli.ndjson (as the command-line
// tool reads them) and <name>.wasm.ndjson (the same leads as a JavaScript client passes them to the Wasm
// build), plus manifest.json naming the model files, the scoring time and the counts.
//
//   node tests/parity/generate.mjs --out DIR [--count 100000] [--seed parity-1] [--plain-numbers] [MODEL.json ...]
//
// The count is the total over all models, shared out evenly. Default models: examples/*.json. Numbers are
// sometimes written in other JSON spellings than JSON.stringify's (`2.50`, `2.5e2`, 25 digits);
// --plain-numbers writes them all as JSON.stringify does.

import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { once } from "node:events";
import { createHash } from "node:crypto";

import { Rng } from "./rng.mjs";
import { profile } from "./profile.mjs";
import { LeadWriter } from "./leads.mjs";

// The time each model is scored at, one per model in turn: a time with milliseconds, midnight, the last
// millisecond of a day, a leap day.
const NOWS = ["2026-11-23T13:47:21.337Z", "2026-11-23T00:00:00.000Z", "2027-02-28T23:59:59.999Z", "2028-02-29T06:05:04.003Z"];

function parseArgs(argv) {
  const opts = { count: 100000, seed: "parity-1", out: null, models: [], plainNumbers: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--count") opts.count = Number(argv[++i]);
    else if (a === "--seed") opts.seed = argv[++i];
    else if (a === "--out") opts.out = argv[++i];
    else if (a === "--plain-numbers") opts.plainNumbers = true;
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
    else opts.models.push(a);
  }
  if (!opts.out) throw new Error("--out DIR is required");
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error("--count takes a positive whole number");
  return opts;
}

async function write(stream, text) {
  if (!stream.write(text)) await once(stream, "drain");
}

async function close(stream) {
  stream.end();
  await once(stream, "finish");
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const root = resolve(fileURLToPath(import.meta.url), "../../..");
  let models = opts.models;
  if (!models.length) {
    const dir = join(root, "examples");
    models = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => join(dir, f));
  }
  mkdirSync(opts.out, { recursive: true });
  const manifest = { seed: opts.seed, count: opts.count, plainNumbers: opts.plainNumbers, models: [] };
  const started = performance.now();
  for (const [m, path] of models.entries()) {
    const name = basename(path, ".json");
    const doc = JSON.parse(readFileSync(path, "utf8"));
    const prof = profile(doc);
    const now = NOWS[m % NOWS.length];
    const nowMs = Date.parse(now);
    const rng = new Rng(`${opts.seed}/${name}`);
    const writer = new LeadWriter(prof, rng, nowMs, { plainNumbers: opts.plainNumbers });
    const leads = Math.floor(opts.count / models.length) + (m < opts.count % models.length ? 1 : 0);
    const cliPath = join(opts.out, `${name}.cli.ndjson`);
    const wasmPath = join(opts.out, `${name}.wasm.ndjson`);
    const cli = createWriteStream(cliPath);
    const wasm = createWriteStream(wasmPath);
    const hash = createHash("sha256");
    let cliBuf = "";
    let wasmBuf = "";
    for (let i = 1; i <= leads; i++) {
      const lead = writer.lead(`${name}-${String(i).padStart(6, "0")}`);
      cliBuf += lead.cli + "\n";
      wasmBuf += lead.wasm + "\n";
      if (cliBuf.length > 1 << 20 || i === leads) {
        hash.update(cliBuf);
        hash.update(wasmBuf);
        await write(cli, cliBuf);
        await write(wasm, wasmBuf);
        cliBuf = "";
        wasmBuf = "";
      }
    }
    await close(cli);
    await close(wasm);
    manifest.models.push({
      name,
      model: resolve(path),
      now,
      nowMs,
      leads,
      cli: resolve(cliPath),
      wasm: resolve(wasmPath),
      sha256: hash.digest("hex").slice(0, 16),
    });
  }
  writeFileSync(join(opts.out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  for (const m of manifest.models) console.log(`generated ${m.leads} leads for ${m.name} (now ${m.now}, sha256 ${m.sha256})`);
  console.log(`generated ${opts.count} leads in ${secs} s (seed ${opts.seed})`);
}

main().catch((e) => {
  console.error(`error: ${e.message}`);
  process.exit(2);
});

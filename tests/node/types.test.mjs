// The TypeScript declarations: real types for everything that crosses the boundary (no `any`), and a typed
// use of the package that `tsc --strict` accepts, with deliberate misuses that it must reject.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { root, pkg } from "./support.mjs";

test("the declarations never say any", () => {
  for (const file of ["leadscore.d.ts", "runtime.d.ts", "form.d.ts"]) {
    const full = readFileSync(join(pkg, file), "utf8");
    // The API, up to the loader's declarations (`InitOutput` describes the raw module exports, which take handles).
    const cut = full.indexOf("export type InitInput");
    assert.ok(cut > 0, `${file}: the loader's declarations follow the API`);
    const dts = full.slice(0, cut);
    assert.match(dts, /export class Scorer/);
    const anys = dts.split("\n").filter((l) => /\bany\b/.test(l) && !l.trim().startsWith("*") && !l.trim().startsWith("/"));
    assert.deepEqual(anys, [], file);
  }
});

test("tsc --strict accepts a typed use of the package and rejects misuses", () => {
  const dir = join(root, "target", "ts-test");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  cpSync(pkg, join(dir, "node_modules", "leadscore"), { recursive: true });
  cpSync(new URL("./typed.ts", import.meta.url), join(dir, "typed.ts"));
  cpSync(new URL("./typed-form.ts", import.meta.url), join(dir, "typed-form.ts"));
  cpSync(new URL("./typed-components.ts", import.meta.url), join(dir, "typed-components.ts"));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", lib: ["es2022", "dom"], skipLibCheck: false },
      files: ["typed.ts", "typed-form.ts", "typed-components.ts"],
    }),
  );
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  try {
    execFileSync("node", [join(root, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    assert.fail(`tsc: ${e.stdout}${e.stderr}`);
  }
});

// The declarations are written by hand beside the Rust types they describe; this holds them to what the engine
// really returns. Values of every kind the full and runtime builds give (for every example, the minimal model,
// disqualified leads, forms in progress, with and without hints, bad answers, a verification, a backtest, a
// plan...) are written as object literals typed with the declared types, and `tsc --strict` with
// `exactOptionalPropertyTypes` must accept them: a key the declarations lack is an excess property, a
// declared key that is never there is a missing one, and a `null` where `?:` was declared does not type.
test("the declarations describe what the engine returns: real values type-check as literals", async () => {
  const full = await import("../../pkg/node.js");
  const runtime = await import("../../pkg/runtime-node.js");
  const { MINIMAL, NOW } = await import("./support.mjs");
  const values = []; // [type, value]
  const add = (type, value) => values.push([type, value]);
  const docs = ["b2b-saas", "b2c-fitness", "agency", "it-software", "cybersecurity"].map((n) => readFileSync(join(root, `examples/${n}.json`), "utf8"));
  docs.push(JSON.stringify(MINIMAL));
  const leads = readFileSync(join(root, "examples/leads/b2b-saas.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  for (const text of docs) {
    const s = new full.Scorer(text);
    add("ModelInfo", s.model());
    add("ModelIds", s.ids());
    add("Analysis", s.analysis());
    for (const complete of [true, false]) {
      add("Evaluation", s.evaluate({}, [], NOW, { complete }));
    }
    const r = new runtime.Scorer(s.toBytes());
    add("ModelIds", r.ids());
  }
  const b2b = new full.Scorer(docs[0]);
  for (const lead of leads) {
    const events = (lead.events ?? []).map((e) => ({ type: e.type, at: Date.parse(e.at) }));
    for (const complete of [true, false]) add("Evaluation", b2b.evaluate(lead.answers, events, NOW, { complete }));
    add("ScoreResult", b2b.score(lead.answers, events, NOW));
    const e = b2b.evaluate(lead.answers, events, NOW, { complete: true, hints: false });
    const claim = { rules_hash: b2b.hash, at: NOW, answers: lead.answers, events, score: e.score + 1, stage: e.stage.id, grade: "" };
    add("Claim", claim);
    add("Verification", b2b.verify(claim, { now: NOW }));
  }
  add("Evaluation", b2b.evaluate({ employees: "many", nope: 1, country: "Italy" }, [{ type: "teleport", at: NOW }], NOW));
  add("Diagnostic[]", full.check('{"leadscore": 1, "id": "x", "fields": [{"id": "a", "type": "integer"}], "rules": [{"id": "r", "group": "g", "when": "b > 1", "points": 1}], "stages": [{"id": "s"}]}'));
  add("FormAnswers", b2b.answersFromForm([["employees", "12"], ["industry", "nope"]]));
  const bt = new full.Backtest(b2b, readFileSync(join(root, "examples/history/b2b-saas.csv"), "utf8"));
  while (!bt.step(1000));
  add("BacktestReport", bt.report());
  add("Plan", full.plan({ goal: 10_000_000, dealSize: 50_000, sqlToWon: 25, mqlToSql: 20, leadToMql: 10, visitorToLead: 2, year: 2027 }));

  const kinds = new Set(values.map(([t]) => t));
  assert.ok(values.length > 40 && kinds.size >= 11, `${values.length} values of ${kinds.size} types`);
  const dir = join(root, "target", "ts-values");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  cpSync(pkg, join(dir, "node_modules", "leadscore"), { recursive: true });
  const types = [...kinds].map((t) => t.replace("[]", ""));
  const lines = [`import type { ${[...new Set(types)].join(", ")} } from "leadscore";`];
  values.forEach(([type, value], i) => lines.push(`export const v${i}: ${type} = ${JSON.stringify(value)};`));
  writeFileSync(join(dir, "values.ts"), lines.join("\n") + "\n");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, exactOptionalPropertyTypes: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", lib: ["es2022", "dom"] },
      files: ["values.ts"],
    }),
  );
  try {
    execFileSync("node", [join(root, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    const errors = String(e.stdout).split("\n").filter((l) => /error TS/.test(l));
    assert.fail(`the declarations disagree with the values (${errors.length} errors):\n${errors.slice(0, 25).join("\n")}`);
  }
});

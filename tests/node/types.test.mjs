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

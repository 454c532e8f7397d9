// The signing recipes of docs/form.md ("Consent, and behaviour events the site vouches for"), run as written:
// the Node and the Python one sign the body of a token the command-line tool minted, and must give the same
// signature, byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./support.mjs";

const cli = join(root, "target/release/leadscore");
const doc = readFileSync(join(root, "docs/form.md"), "utf8");
const block = (lang, marker) => {
  const blocks = [...doc.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
  const found = blocks.find((b) => b.includes(marker));
  assert.ok(found, `docs/form.md has the ${lang} recipe`);
  return found;
};

test("the Node and Python recipes sign event tokens exactly as the receiver does", async () => {
  const secret = "recipe-test-secret-0123456789";
  const env = { ...process.env, LEADSCORE_SECRET: secret };
  const token = execFileSync(cli, ["token", "--event", "webinar_attended", "--at", "2026-11-23T10:00:00Z"], { env, encoding: "utf8" }).trim();
  const body = token.slice(0, token.lastIndexOf("."));
  const dir = mkdtempSync(join(tmpdir(), "leadscore-recipes-"));

  // Node: the module as written, imported with the secret in the environment.
  writeFileSync(join(dir, "sign.mjs"), block("js", "leadscore event token v1"));
  const previous = process.env.LEADSCORE_SECRET;
  process.env.LEADSCORE_SECRET = secret;
  const node = await import(pathToFileURL(join(dir, "sign.mjs")).href);
  process.env.LEADSCORE_SECRET = previous;
  assert.equal(node.sign(body), token);
  assert.match(node.eventToken("webinar_attended"), /^v1\.webinar_attended\.\d+\.[0-9a-f]{24}\.[A-Za-z0-9_-]{43}$/);

  // Python: the recipe, then one line that signs the body.
  const py = `${block("python", "leadscore event token v1")}\nprint(sign(${JSON.stringify(body)}))\nprint(event_token("demo_request"))\n`;
  writeFileSync(join(dir, "sign.py"), py);
  const [signed, fresh] = execFileSync("python3", [join(dir, "sign.py")], { env, encoding: "utf8" }).trim().split("\n");
  assert.equal(signed, token);
  assert.match(fresh, /^v1\.demo_request\.\d+\.[0-9a-f]{24}\.[A-Za-z0-9_-]{43}$/);
});

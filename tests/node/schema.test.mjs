// The JSON Schema of the rules document as the package ships it (`leadscore/schema.json`, from npm/schema.json,
// which scripts/cli-check.sh holds to what `leadscore schema` prints): every document the engine compiles
// validates against it, with a standard validator (Ajv, draft 2020-12), and the mistakes an editor should flag
// do not. Each example names it in its `$schema`, by a path that resolves to it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { root, pkg, MINIMAL } from "./support.mjs";
import { Scorer } from "../../pkg/node.js";

const shipped = readFileSync(join(pkg, "schema.json"), "utf8");
const schema = JSON.parse(shipped);
// schemars names the numbers' formats (`double`, `uint32`), which the type and bounds beside them already say.
const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, formats: { double: true, uint32: true } });
const validate = ajv.compile(schema);

/** Every rules document of the repository the engine compiles: examples, end-to-end fixtures, the minimal model. */
function documents() {
  const docs = [["minimal", MINIMAL]];
  for (const dir of ["examples", "tests/e2e/fixtures"]) {
    for (const f of readdirSync(join(root, dir)).filter((f) => f.endsWith(".json"))) {
      docs.push([`${dir}/${f}`, JSON.parse(readFileSync(join(root, dir, f), "utf8"))]);
    }
  }
  return docs;
}

test("the package ships npm/schema.json as it is, at leadscore/schema.json", () => {
  assert.equal(shipped, readFileSync(join(root, "npm/schema.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  assert.equal(manifest.exports["./schema.json"], "./schema.json");
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
});

test("every document the engine compiles validates against the schema", () => {
  const docs = documents();
  assert.ok(docs.length >= 15, `${docs.length} documents`);
  for (const [name, doc] of docs) {
    new Scorer(doc); // throws when the engine refuses it
    assert.ok(validate(doc), `${name}: ${ajv.errorsText(validate.errors)}`);
  }
});

test("each example names the schema by a path that resolves to it", () => {
  for (const f of readdirSync(join(root, "examples")).filter((f) => f.endsWith(".json"))) {
    const path = join(root, "examples", f);
    const ref = JSON.parse(readFileSync(path, "utf8")).$schema;
    assert.equal(typeof ref, "string", `${f} has a $schema`);
    const target = resolve(dirname(path), ref);
    assert.ok(existsSync(target), `${f}: ${ref}`);
    assert.equal(readFileSync(target, "utf8"), shipped, `${f}: ${ref} is the schema`);
  }
});

test("the schema flags what an editor should: a misspelled key, a wrong type, a missing id, with where", () => {
  const cases = [
    [{ ...MINIMAL, feilds: [] }, "", "additionalProperties"],
    [{ ...MINIMAL, fields: [{ id: "size", type: "integer", visble_if: "true" }] }, "/fields/0", "additionalProperties"],
    [{ ...MINIMAL, fields: [{ id: "email", type: "e-mail" }] }, "/fields/0/type", null],
    [{ ...MINIMAL, fields: [MINIMAL.fields[0], { id: "employees", type: "integer", max: "ten" }] }, "/fields/1/max", "type"],
    [{ ...MINIMAL, stages: [{ when: "score >= 1" }] }, "/stages/0", "required"],
  ];
  for (const [doc, where, keyword] of cases) {
    assert.equal(validate(doc), false, JSON.stringify(doc));
    const errors = validate.errors.filter((e) => e.instancePath === where);
    assert.ok(errors.length > 0, `an error at ${where || "the top"}: ${ajv.errorsText(validate.errors)}`);
    if (keyword) assert.ok(errors.some((e) => e.keyword === keyword), `${keyword}: ${ajv.errorsText(errors)}`);
    assert.throws(() => new Scorer(doc), { name: "LeadscoreError" }, "the engine refuses it too");
  }
});

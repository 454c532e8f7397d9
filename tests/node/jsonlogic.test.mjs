// JsonLogic against json-logic-js 2.0.5: the generated cases (tests/jsonlogic/generate.mjs) are what the
// generator and json-logic-js give now, and the full Wasm build agrees with json-logic-js on every one of
// them, as a condition (truthiness) and as points (`0 + parseFloat(value)`, what is not finite counting 0).
// The native unit test in src/compile/jsonlogic.rs compares the whole value of each case.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Scorer } from "../../pkg/node.js";
import { join } from "node:path";
import { NOW, root } from "./support.mjs";
import { generate, path, text } from "../jsonlogic/generate.mjs";

const jsonLogic = createRequire(import.meta.url)("json-logic-js");

test("the committed JsonLogic cases are what the generator and json-logic-js give", () => {
  assert.equal(readFileSync(path, "utf8"), text(generate()), "run node tests/jsonlogic/generate.mjs");
});

test("the Wasm build scores every generated JsonLogic case as json-logic-js evaluates it", () => {
  const file = JSON.parse(readFileSync(path, "utf8"));
  let compared = 0;
  let throws = 0;
  const differences = [];
  for (const [g, group] of file.groups.entries()) {
    const rules = group.cases.flatMap((c, k) => [
      { id: `when${k}`, group: "fit", points: 1, when: c.logic },
      { id: `points${k}`, group: "fit", points: c.logic },
    ]);
    const doc = { leadscore: 1, id: "conformance", fields: file.fields, rules, stages: [{ id: "lead" }] };
    const scorer = new Scorer(doc);
    const e = scorer.evaluate(group.answers, [], NOW, { complete: true, hints: false });
    scorer.free();
    assert.deepEqual(e.issues, [], `group ${g}`);
    const given = new Map(e.ledger.map((l) => [l.rule, l.points]));
    for (const [k, c] of group.cases.entries()) {
      if (c.result && c.result.throws) {
        // missing_some of a computed null: json-logic-js throws, leadscore goes on (docs/rules.md).
        throws++;
        continue;
      }
      const fires = jsonLogic.truthy(jsonLogic.apply(c.logic, group.answers));
      const sum = jsonLogic.apply({ "+": [c.logic] }, group.answers);
      const points = Number.isFinite(sum) ? sum : 0;
      if (given.has(`when${k}`) !== fires || (given.get(`points${k}`) ?? 0) !== points) {
        differences.push(
          `group ${g} case ${k}: ${JSON.stringify(c.logic)}: fires ${given.has(`when${k}`)}, points ` +
            `${given.get(`points${k}`) ?? 0}; json-logic-js: ${fires}, ${points}`,
        );
      }
      compared++;
    }
  }
  assert.ok(compared >= 5900, `${compared} cases compared`);
  assert.deepEqual(differences, [], `${differences.length} of ${compared} differ (${throws} throwing skipped)`);
});

test("the Wasm build fires every rule of tests/cases/jsonlogic_js.json, as natively", () => {
  // One rule per behaviour where leadscore once differed from json-logic-js: string to number conversions
  // (0x10, inf, the byte order mark, U+0085) are the JS engine's own here.
  const file = JSON.parse(readFileSync(join(root, "tests/cases/jsonlogic_js.json"), "utf8"));
  const scorer = new Scorer(file.model);
  for (const c of file.cases) {
    const e = scorer.evaluate(c.answers, [], NOW, { complete: true, hints: false });
    assert.deepEqual(
      e.ledger.map((l) => l.rule),
      file.model.rules.map((r) => r.id),
      c.name,
    );
  }
  scorer.free();
});

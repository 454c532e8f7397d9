// Every export of every build checks its arguments: a value of the wrong type throws a TypeError that names the
// parameter (before, a number where a string was expected read memory out of bounds, an object with a
// `length` of 10^7 made the module allocate 10 MB, and "5" passed for a number); the module works afterwards.
// Values of an accepted type may still be refused for what they hold, with another error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as full from "../../pkg/node.js";
import * as runtime from "../../pkg/runtime-node.js";
import * as form from "../../pkg/form.js";
import { root, NOW } from "./support.mjs";

const values = {
  undefined: undefined,
  null: null,
  number: 42,
  string: "x",
  boolean: true,
  object: {},
  array: [],
  huge: { length: 1e7 },
};
// What each kind of parameter takes, by the names above.
const STR = ["string"];
const OPT_STR = ["string", "undefined", "null"];
const NUM = ["number"];
const OPT_NUM = ["number", "undefined", "null"];
const FIELD = ["string", "number"];
const OBJ = ["object", "huge"];
const OPT_OBJ = ["object", "huge", "undefined", "null"];
const RULES = ["string", "object", "huge", "array"];

const doc = readFileSync(join(root, "examples/b2b-saas.json"), "utf8");
const history = readFileSync(join(root, "examples/history/b2b-saas.csv"), "utf8");

/** Calls `call` with every value: refused kinds throw a TypeError naming `param`, accepted ones never do. */
function checks(label, param, accepts, call) {
  for (const [kind, v] of Object.entries(values)) {
    let thrown = null;
    try {
      call(v);
    } catch (e) {
      thrown = e;
    }
    const what = `${label} with ${kind} as \`${param}\``;
    assert.ok(!(thrown instanceof WebAssembly.RuntimeError), `${what}: ${thrown}`);
    if (accepts.includes(kind)) {
      assert.ok(!(thrown instanceof TypeError), `${what}: ${thrown}`);
    } else {
      assert.ok(thrown instanceof TypeError, `${what} did not throw a TypeError: ${thrown ?? "no error"}`);
      assert.match(thrown.message, new RegExp(`\`${param}\``), what);
    }
  }
}

/** The Session methods every build has. */
function sessionChecks(name, scorer) {
  checks(`${name} scorer.session`, "now", OPT_NUM, (v) => scorer.session(v));
  const s = scorer.session(NOW);
  checks(`${name} session.set`, "field", FIELD, (v) => s.set(v, 1));
  checks(`${name} session.input`, "field", FIELD, (v) => s.input(v, "x"));
  checks(`${name} session.input`, "text", STR, (v) => s.input("email", v));
  checks(`${name} session.fieldIndex`, "id", STR, (v) => s.fieldIndex(v));
  checks(`${name} session.setNumber`, "field", NUM, (v) => s.setNumber(v, 5));
  checks(`${name} session.setNumber`, "value", NUM, (v) => s.setNumber(s.fieldIndex("employees"), v));
  checks(`${name} session.clear`, "field", FIELD, (v) => s.clear(v));
  checks(`${name} session.record`, "event", STR, (v) => s.record(v));
  checks(`${name} session.record`, "at", OPT_NUM, (v) => s.record("page_view", v));
  checks(`${name} session.now`, "now", NUM, (v) => {
    s.now = v;
  });
  // The session still works, and agrees with a fresh one.
  const fresh = scorer.session(NOW);
  const t = scorer.session(NOW);
  for (const x of [fresh, t]) {
    x.set("employees", 400);
    x.set("seniority", "vp");
  }
  assert.equal(t.total, fresh.total);
  assert.ok(t.total > 0);
}

test("the full build: every export refuses a wrong type with a TypeError naming the parameter", () => {
  checks("new Scorer", "source", RULES, (v) => new full.Scorer(v));
  checks("check", "rules", RULES, (v) => full.check(v));
  checks("plan", "input", OBJ, (v) => full.plan(v));
  const s = new full.Scorer(doc);
  checks("scorer.model", "locale", OPT_STR, (v) => s.model(v));
  checks("scorer.analysis", "locale", OPT_STR, (v) => s.analysis(v));
  // Answers and events are a lead's data: any shape is read as natively, a wrong one reported as an issue.
  for (const [kind, v] of Object.entries(values)) {
    for (const [answers, events, fine] of [
      [v, [], ["object", "undefined", "null"]],
      [{}, v, ["array", "undefined", "null"]],
    ]) {
      const e = s.evaluate(answers, events, NOW);
      const what = `evaluate with ${kind} as ${answers === v ? "answers" : "events"}`;
      assert.equal(e.issues.length > 0, !fine.includes(kind), `${what}: ${JSON.stringify(e.issues)}`);
      assert.deepEqual(s.score(answers, events, NOW).issues, e.issues);
    }
  }
  checks("scorer.evaluate", "now", OPT_NUM, (v) => s.evaluate({}, [], v));
  checks("scorer.evaluate", "options", OPT_OBJ, (v) => s.evaluate({}, [], NOW, v));
  checks("scorer.score", "now", OPT_NUM, (v) => s.score({}, [], v));
  checks("scorer.verify", "claim", OBJ, (v) => s.verify(v));
  checks("scorer.verify", "options", OPT_OBJ, (v) => s.verify({}, v));
  checks("scorer.answersFromForm", "entries", ["array"], (v) => s.answersFromForm(v));
  checks("scorer.attach", "form", [], (v) => s.attach(v));
  checks("attach", "form", [], (v) => full.attach(v, s.toBytes()));
  checks("new Backtest", "data", STR, (v) => new full.Backtest(s, v));
  checks("new Backtest", "options", OPT_OBJ, (v) => new full.Backtest(s, history, v));
  const bt = new full.Backtest(s, history);
  checks("backtest.step", "rows", NUM, (v) => bt.step(v));
  checks("backtest.report", "locale", OPT_STR, (v) => bt.report(v));
  checks("backtest.at", "threshold", NUM, (v) => bt.at(v));
  assert.throws(() => bt.step(-1), RangeError);
  // A Backtest of something that is not a Scorer: wasm-bindgen's own check (an Error naming the class).
  assert.throws(() => new full.Backtest({}, history), /expected instance of Scorer/);
  sessionChecks("full", s);
  // Everything still works: the same score as before any of this.
  const lead = { employees: 400, seniority: "vp", country: "IT" };
  assert.equal(new full.Scorer(doc).score(lead, [], NOW).score, s.score(lead, [], NOW).score);
});

test("the runtime build: every export refuses a wrong type with a TypeError naming the parameter", () => {
  const bytes = new full.Scorer(doc).toBytes();
  checks("new Scorer", "source", [], (v) => new runtime.Scorer(v));
  sessionChecks("runtime", new runtime.Scorer(bytes));
});

test("the form build: every export it runs without a page refuses a wrong type with a TypeError", () => {
  form.initSync({ module: readFileSync(join(root, "pkg/form_bg.wasm")) });
  const bytes = new full.Scorer(doc).toBytes();
  checks("new Scorer", "source", [], (v) => new form.Scorer(v));
  const s = new form.Scorer(bytes);
  checks("attach", "form", [], (v) => form.attach(v, bytes));
  checks("scorer.attach", "form", [], (v) => s.attach(v));
  sessionChecks("form", s);
});

test("answers that are not finite numbers are issues naming the field, in evaluate, score and verify", () => {
  const s = new full.Scorer(doc);
  for (const n of [NaN, Infinity, -Infinity]) {
    const answers = { employees: n, seniority: "vp" };
    const e = s.evaluate(answers, [], NOW, { complete: true, hints: false });
    assert.deepEqual(
      e.issues.map((i) => [i.field, i.code]),
      [["employees", "range"]],
      `evaluate ${n}`,
    );
    assert.match(e.issues[0].message, new RegExp(`not ${String(n).replace("+", "")}`));
    assert.deepEqual(s.score(answers, [], NOW).issues.map((i) => i.field), ["employees"], `score ${n}`);
    const claim = { rules_hash: s.hash, at: NOW, answers, events: [], score: e.score };
    const v = s.verify(claim, { now: NOW });
    assert.equal(v.ok, false, `verify ${n}`);
    assert.deepEqual(
      v.mismatches.filter((m) => m.what === "input").map((m) => m.claimed),
      ["employees"],
    );
    // A session says the same.
    const session = s.session(NOW);
    assert.equal(session.set("employees", n)?.code, "range");
  }
  // null is still "unanswered", without an issue.
  assert.deepEqual(s.evaluate({ employees: null }, [], NOW).issues, []);
});

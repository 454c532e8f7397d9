// The runtime build (`leadscore/runtime`), what a landing page loads: it takes programs compiled ahead of
// time, by the full build's `toBytes()` or by `leadscore build`, and must score them exactly as the full
// build does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as full from "../../pkg/node.js";
import * as runtime from "../../pkg/runtime-node.js";
import { root, NOW, MINIMAL } from "./support.mjs";

const models = ["b2b-saas", "b2c-fitness", "agency", "it-software"];
const doc = (name) => readFileSync(join(root, `examples/${name}.json`), "utf8");
// NDJSON samples exist for the B2B model.
const leadsOf = (name) =>
  readFileSync(join(root, `examples/leads/${name}.ndjson`), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
const events = (lead) => (lead.events ?? []).map((e) => ({ type: e.type, at: Date.parse(e.at) }));

/** Feeds a lead to a session one answer and one event at a time. */
function fill(session, lead) {
  for (const [field, value] of Object.entries(lead.answers)) session.set(field, value);
  for (const ev of events(lead)) session.record(ev.type, ev.at);
  return session;
}

test("the runtime loads what the full build compiled and scores the sample leads the same", () => {
  for (const name of models) {
    const compiled = new full.Scorer(doc(name));
    const bytes = compiled.toBytes();
    assert.ok(bytes instanceof Uint8Array && bytes.length > 0);
    const small = new runtime.Scorer(bytes);
    assert.equal(small.hash, compiled.hash, name);
    assert.deepEqual(small.ids().rules, compiled.model().rules.map((r) => r.id), name);
    // (Every model's generated leads go through runtime sessions in the parity test.)
    for (const lead of name === "b2b-saas" ? leadsOf(name) : []) {
      const want = compiled.evaluate(lead.answers, events(lead), NOW, { complete: true, hints: false });
      const s = fill(small.session(NOW), lead);
      assert.equal(s.total, want.score, `${name} ${lead.id}`);
      assert.equal(s.stage, want.stage.id, `${name} ${lead.id}`);
      assert.deepEqual(Array.from(s.groups()), want.groups.map((g) => g.score), `${name} ${lead.id}`);
      assert.deepEqual(s.fired(), want.ledger.map((l) => l.rule), `${name} ${lead.id}: fired rules`);
      assert.equal(s.knockout, want.disqualified?.knockout, `${name} ${lead.id}: knockout`);
      s.free();
    }
  }
});

test("the runtime loads a program written by `leadscore build`", () => {
  const dir = mkdtempSync(join(tmpdir(), "leadscore-build-"));
  const out = join(dir, "b2b.lsp");
  const cli = join(root, "target/release/leadscore");
  execFileSync(cli, ["build", join(root, "examples/b2b-saas.json"), "-o", out], { stdio: "pipe" });
  const bytes = new Uint8Array(readFileSync(out));
  const small = new runtime.Scorer(bytes);
  assert.equal(small.hash, new full.Scorer(doc("b2b-saas")).hash);
  const ids = small.ids();
  assert.ok(ids.fields.includes("employees"));
  assert.deepEqual(ids.stages.at(-1), "subscriber");
  assert.equal(small.session(NOW).fieldIndex("employees"), ids.fields.indexOf("employees"));
});

test("the runtime refuses a rules document with a clear error, and bad bytes without crashing", () => {
  assert.throws(() => new runtime.Scorer(doc("b2b-saas")), /runtime build loads compiled programs/);
  const bytes = new full.Scorer(doc("b2b-saas")).toBytes();
  assert.throws(() => new runtime.Scorer(bytes.subarray(0, bytes.length >> 1)), /not a compiled program/);
  assert.throws(() => new runtime.Scorer(new Uint8Array([1, 2, 3])), /not a compiled program/);
  const flipped = bytes.slice();
  for (let i = 4; i < flipped.length; i += 97) flipped[i] ^= 0x5a;
  try {
    const s = new runtime.Scorer(flipped).session(NOW);
    s.set("employees", 50);
    assert.equal(typeof s.total, "number");
  } catch (e) {
    assert.match(String(e), /not a compiled program/);
  }
  // The module still works after refusing.
  assert.equal(new runtime.Scorer(bytes).session(NOW).total, 0);
});

test("the runtime leaves out the compiler and the full evaluation", () => {
  assert.equal(runtime.check, undefined);
  assert.equal(runtime.Scorer.prototype.toBytes, undefined);
  const s = new runtime.Scorer(new full.Scorer(doc("agency")).toBytes());
  assert.equal(s.evaluate, undefined);
  assert.equal(s.model, undefined);
  assert.equal(s.session(NOW).evaluate, undefined);
});

/** The rules hash the format defines: FNV-1a 64 of what follows the 4 magic bytes, up to the hash itself. */
function rehash(bytes) {
  const content = bytes.subarray(0, bytes.length - 17);
  let h = 0xcbf29ce484222325n;
  for (const b of content.subarray(4)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return new Uint8Array([...content, 16, ...new TextEncoder().encode(h.toString(16).padStart(16, "0"))]);
}

/** `bytes` with `from` replaced by `to`, padded with `a` to the same length. */
function replaced(bytes, from, to) {
  to = to.padEnd(from.length, "a");
  assert.equal(from.length, to.length);
  const text = Buffer.from(bytes).toString("latin1");
  const at = text.indexOf(from);
  assert.ok(at > 0, `${from} is in the program`);
  return new Uint8Array(Buffer.from(text.slice(0, at) + to + text.slice(at + from.length), "latin1"));
}

test("a program changed after compiling does not load, in every build, and says why", () => {
  const bytes = new full.Scorer(doc("b2b-saas")).toBytes();
  assert.deepEqual(rehash(bytes), bytes, "the hash is the format's");
  const link = "https://cal.example.com/larkspur/discovery-call";
  const cases = [
    // The link replaced in place: the hash no longer matches.
    [replaced(bytes, link, "javascript:alert(document.cookie)//"), /changed after it was compiled/],
    // The same, its hash written again: the loader checks links as the compiler does.
    [rehash(replaced(bytes, link, "javascript:alert(document.cookie)//")), /ending's link is not allowed/],
    [rehash(replaced(bytes, link, "/\\evil.example/")), /ending's link is not allowed/],
    [rehash(replaced(bytes, link, "//evil.example/")), /ending's link is not allowed/],
    // A stage id no compiler accepts.
    [rehash(replaced(bytes, "\x03sql", "\x03<b>")), /a name or id is not valid/],
  ];
  for (const [changed, message] of cases) {
    assert.throws(() => new runtime.Scorer(changed), message);
    assert.throws(() => new full.Scorer(changed), message);
  }
  // Still a working module afterwards.
  assert.equal(new runtime.Scorer(bytes).hash, new full.Scorer(doc("b2b-saas")).hash);
});

test("an ending's link takes the answers percent-encoded as natively (src/valid.rs): only letters, digits and -._~ stay", () => {
  const m = JSON.parse(doc("b2b-saas"));
  m.endings.default = { title: "Thanks", action: { label: "Go", url: "https://cal.example/x?c={company}" } };
  for (const stage of m.stages) delete m.endings.stages?.[stage.id];
  m.endings.stages = {};
  m.endings.knockouts = {};
  const scorer = new full.Scorer(JSON.stringify(m));
  const answers = { company: "A!'()* é/&#+~-._Z" };
  const e = scorer.evaluate(answers, [], NOW, { complete: true, hints: false });
  assert.deepEqual(e.ending.action, { label: "Go", url: "https://cal.example/x?c=A%21%27%28%29%2A%20%C3%A9%2F%26%23%2B~-._Z" });
});

test("links are resolved as browsers resolve them when the full build compiles (as natively: src/valid.rs)", () => {
  const base = JSON.parse(doc("b2b-saas"));
  for (const [url, ok] of [
    ["/\\evil.example/x", false],
    ["/\t/evil.example", false],
    ["//evil.example", false],
    ["javascript:alert(1)", false],
    ["thanks.html", true],
    ["?plan=pro", true],
    ["mailto:sales@example.com", true],
    ["HTTPS://cal.example.com/x", true],
  ]) {
    const m = structuredClone(base);
    m.endings.default = { title: "Thanks", action: { label: "Go", url } };
    const text = JSON.stringify(m);
    if (ok) assert.doesNotThrow(() => new full.Scorer(text), url);
    else assert.throws(() => new full.Scorer(text), /not an allowed link/, url);
  }
});

test("a session's range and undecidedFields are evaluate()'s for a form in progress, answer after answer", () => {
  const cases = [...models.map((name) => [name, doc(name)]), ["minimal", JSON.stringify(MINIMAL)]];
  let seen = 0;
  let undecided = 0;
  for (const [name, text] of cases) {
    const compiled = new full.Scorer(text);
    for (const build of [runtime, full]) {
      const scorer = build === full ? compiled : new runtime.Scorer(compiled.toBytes());
      const leads = name === "b2b-saas" ? leadsOf(name).slice(0, 20) : [{ answers: {}, events: [] }];
      for (const lead of leads) {
        const session = scorer.session(NOW);
        const given = {};
        const check = () => {
          const e = compiled.evaluate(given, events(lead), NOW, { complete: false, hints: false });
          assert.deepEqual(session.range, { min: e.range.min, max: e.range.max }, `${name}: ${JSON.stringify(given)}`);
          assert.deepEqual(session.undecidedFields, e.undecided_fields, `${name}: ${JSON.stringify(given)}`);
          seen++;
          if (e.undecided_fields.length > 0) undecided++;
        };
        for (const ev of events(lead)) session.record(ev.type, ev.at);
        check();
        for (const [field, value] of Object.entries(lead.answers)) {
          session.set(field, value);
          given[field] = value;
          check();
        }
      }
    }
  }
  assert.ok(seen > 200 && undecided > 20, `${seen} states, ${undecided} of them undecided`);
});

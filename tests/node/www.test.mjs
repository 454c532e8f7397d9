// The demo landing pages and their server (www/): the pages' markup against the example model and the page
// security policy, and the server as a browser and a plain form use it: static files, headers, and the lead
// scored on the server, with the browser's claim re-checked.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { Scorer } from "../../pkg/node.js";
import { serve, answersFrom, pickLanguage, escapeHtml, CSP, BODY_LIMIT } from "../../www/serve.mjs";
import { MINIMAL, root } from "./support.mjs";

const docText = readFileSync(join(root, "examples/b2b-saas.json"), "utf8");
const doc = JSON.parse(docText);
const scorer = new Scorer(docText);
const pages = { en: "www/index.html", it: "www/it/index.html" };

/** N-001's answers: a VP at a fintech; an SQL even with no recorded behaviour. */
const sqlLead = JSON.parse(readFileSync(join(root, "tests/cases/b2b.json"), "utf8")).cases[0].answers;

let server;
const logs = [];
before(async () => {
  server = await serve({ port: 0, log: (line) => logs.push(line) });
});
after(() => server?.close());

/** A raw GET, so that the path reaches the server exactly as written (fetch would normalise `..`). */
function rawGet(origin, path) {
  const { hostname, port } = new URL(origin);
  return new Promise((ok, fail) => {
    const req = request({ hostname, port, path, method: "GET" }, (res) => {
      res.resume();
      res.on("end", () => ok(res.statusCode));
    });
    req.on("error", fail);
    req.end();
  });
}

/** The answers as a form body: a multi field repeats its name; booleans are `true`/`false`. */
function formOf(answers, extra = {}) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(answers)) for (const one of [v].flat()) body.append(k, String(one));
  for (const [k, v] of Object.entries(extra)) body.append(k, v);
  return body;
}

function post(body, headers = {}) {
  return fetch(`${server.origin}/submit`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
}

/** The claim a page's controller adds to the form, computed here with the full build (of `by`'s model). */
function claimOf(answers, events, at, by = scorer) {
  const e = by.evaluate(answers, events, at, { complete: true, hints: false });
  return {
    leadscore_score: String(e.score),
    leadscore_groups: JSON.stringify(Object.fromEntries(e.groups.map((g) => [g.id, g.score]))),
    leadscore_stage: e.stage.id,
    leadscore_grade: e.grade ? (e.grade.cell ?? e.grade.letter) : "",
    leadscore_rules: e.ledger.map((l) => l.rule).join(","),
    leadscore_hash: e.rules_hash,
    leadscore_at: String(at),
    leadscore_events: JSON.stringify(events),
  };
}

// The server

test("the server binds 127.0.0.1 only", async () => {
  assert.match(server.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
  const port = Number(new URL(server.origin).port);
  const refused = (host) =>
    new Promise((ok) => {
      const s = connect({ host, port }, () => {
        s.destroy();
        ok(false);
      });
      s.on("error", () => ok(true));
    });
  assert.ok(await refused("::1"), "reachable on ::1");
  const others = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal && i.family === "IPv4");
  for (const i of others) assert.ok(await refused(i.address), `reachable on ${i.address}`);
});

test("the pages are served with the security policy and headers", async () => {
  for (const [path, lang] of [["/", "en"], ["/index.html", "en"], ["/it/", "it"]]) {
    const res = await fetch(server.origin + path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(res.headers.get("content-security-policy"), CSP);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("referrer-policy"), "no-referrer");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.match(await res.text(), new RegExp(`<html lang="${lang}">`));
  }
  const css = await fetch(`${server.origin}/style.css`);
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  assert.equal(css.headers.get("content-security-policy"), CSP);
  const redirect = await fetch(`${server.origin}/it?utm_source=g2`, { redirect: "manual" });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get("location"), "/it/?utm_source=g2");
  const missing = await fetch(`${server.origin}/nope.html`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get("content-security-policy"), CSP, "errors carry the policy too");
  assert.equal((await fetch(`${server.origin}/`, { method: "DELETE" })).status, 405);
});

test("files get their type by extension; other files, and links out of the root, are not served", async () => {
  const dir = mkdtempSync(join(tmpdir(), "leadscore-www-"));
  const outside = mkdtempSync(join(tmpdir(), "leadscore-outside-"));
  const files = {
    "index.html": "<!doctype html>",
    "dist/form_bg.wasm": "\0asm",
    "dist/b2b-saas.lsp": "LSP",
    "dist/auto.js": "export {};",
    "a.css": "p{}",
    "notes.md": "#",
  };
  mkdirSync(join(dir, "dist"));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  writeFileSync(join(outside, "secret.js"), "secret");
  symlinkSync(join(outside, "secret.js"), join(dir, "dist/linked.js"));
  const s = await serve({ port: 0, root: dir, log: () => {} });
  try {
    const types = {
      "/": "text/html; charset=utf-8",
      "/dist/form_bg.wasm": "application/wasm",
      "/dist/b2b-saas.lsp": "application/octet-stream",
      "/dist/auto.js": "text/javascript; charset=utf-8",
      "/a.css": "text/css; charset=utf-8",
    };
    for (const [path, type] of Object.entries(types)) {
      const res = await fetch(s.origin + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), type, path);
      assert.equal(res.headers.get("content-security-policy"), CSP, path);
    }
    assert.equal(await (await fetch(`${s.origin}/dist/b2b-saas.lsp`)).text(), "LSP");
    assert.equal((await fetch(`${s.origin}/notes.md`)).status, 404, "unknown extension");
    assert.equal((await fetch(`${s.origin}/dist/linked.js`)).status, 404, "a link out of the root");
  } finally {
    await s.close();
    rmSync(dir, { recursive: true });
    rmSync(outside, { recursive: true });
  }
});

test("paths out of www/ are 404, however they are written", async () => {
  const tries = [
    "/../package.json",
    "/../../etc/passwd",
    "/%2e%2e/package.json",
    "/%2E%2E%2Fpackage.json",
    "/it/..%2f..%2fCargo.toml",
    "/dist/%2e%2e/%2e%2e/README.md",
    "/..%5c..%5cpackage.json",
    "/%00index.html",
    "/.git/HEAD",
    "/serve.mjs",
    "/%",
    "//etc/passwd",
    "//127.0.0.1/../package.json",
  ];
  for (const path of tries) assert.equal(await rawGet(server.origin, path), 404, path);
});

test("a plain form (no JavaScript) is scored by the server: an SQL lead gets a page that says so", async () => {
  const own = scorer.evaluate(sqlLead, [], Date.now(), { complete: true, hints: false });
  assert.equal(own.stage.id, "sql", "the lead is an SQL without any recorded behaviour");
  const res = await post(formOf(sqlLead));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(res.headers.get("content-security-policy"), CSP);
  const html = await res.text();
  assert.match(html, /<html lang="en">/);
  assert.match(html, /data-stage="sql">Sales Qualified Lead</);
  assert.match(html, /Let&#39;s find a time to talk/);
  assert.match(html, /did not score the form/);
  assert.match(html, /Zahlwerk Payments GmbH/);
  assert.doesNotMatch(html, /<script/i);

  const it = await (await post(formOf(sqlLead), { "accept-language": "de-DE, it;q=0.8, en;q=0.5" })).text();
  assert.match(it, /<html lang="it">/);
  assert.match(it, /data-stage="sql">Lead qualificato per le vendite</);

  const json = await (await post(formOf(sqlLead), { accept: "application/json" })).json();
  assert.deepEqual(json, { received: true, verified: null, stage: "sql", score: own.score, mismatches: [], issues: [] });
});

test("the browser's claim is checked: a correct one is verified, a tampered score is not", async () => {
  const at = Date.now();
  const events = [
    { type: "page_view", at: at - 86_400_000 },
    { type: "pricing_view", at: at - 3_600_000 },
    { type: "demo_request", at: at - 60_000 },
  ];
  const claim = claimOf(sqlLead, events, at);
  const accept = { accept: "application/json" };

  const good = await (await post(formOf(sqlLead, claim), accept)).json();
  assert.deepEqual(good.mismatches, []);
  assert.equal(good.verified, true);
  assert.equal(good.stage, "sql");
  assert.equal(good.score, Number(claim.leadscore_score));

  const tampered = await (await post(formOf(sqlLead, { ...claim, leadscore_score: "125" }), accept)).json();
  assert.equal(tampered.verified, false);
  assert.deepEqual(tampered.mismatches.map((m) => m.what), ["score"]);
  assert.equal(tampered.score, Number(claim.leadscore_score), "the server's own score");

  // Answers changed after scoring, another rules version, no rules hash, a claim that does not parse.
  const changed = await (await post(formOf({ ...sqlLead, employees: 5 }, claim), accept)).json();
  assert.equal(changed.verified, false);
  const other = await (await post(formOf(sqlLead, { ...claim, leadscore_hash: "0000000000000000" }), accept)).json();
  assert.deepEqual(other.mismatches.map((m) => m.what), ["rules_hash"]);
  const { leadscore_hash, ...noHash } = claim;
  assert.equal((await (await post(formOf(sqlLead, noHash), accept)).json()).verified, false);
  const garbled = await (await post(formOf(sqlLead, { ...claim, leadscore_groups: "{fit" }), accept)).json();
  assert.equal(garbled.verified, false);
  assert.deepEqual(garbled.mismatches.map((m) => m.what), ["groups"]);
  const huge = await (await post(formOf({ ...sqlLead, employees: "1e400" }, { ...claim, leadscore_score: "1e400" }), accept)).json();
  assert.equal(huge.verified, false);
  assert.deepEqual(huge.issues.map((i) => i.field), ["employees"]);
  const strange = { ...claim, leadscore_events: JSON.stringify([{ type: "teleport", at: "soon" }, 7, null]) };
  assert.equal((await (await post(formOf(sqlLead, strange), accept)).json()).verified, false);

  const html = await (await post(formOf(sqlLead, { ...claim, leadscore_score: "125" }))).text();
  assert.match(html, /Not confirmed/);
  assert.match(await (await post(formOf(sqlLead, claim))).text(), /Confirmed: the server computed/);
});

test("every example and a minimal model: the claim the controller sends is verified, in JSON and on the page", async () => {
  const dir = mkdtempSync(join(tmpdir(), "leadscore-www-models-"));
  const models = [];
  for (const file of ["b2b", "agency", "b2c_fitness", "it_software", "cybersecurity"]) {
    const cases = JSON.parse(readFileSync(join(root, "tests/cases", `${file}.json`), "utf8"));
    models.push({ name: cases.model_file, path: join(root, cases.model_file), answers: cases.cases[0].answers });
  }
  writeFileSync(join(dir, "minimal.json"), JSON.stringify(MINIMAL));
  models.push({ name: "minimal", path: join(dir, "minimal.json"), answers: { email: "ada@zahlwerk.de", employees: 120 } });
  assert.deepEqual(
    models.slice(0, 5).map((m) => m.name).sort(),
    readdirSync(join(root, "examples")).filter((f) => f.endsWith(".json")).map((f) => `examples/${f}`).sort(),
    "every shipped example is here",
  );
  try {
    for (const { name, path, answers } of models) {
      const own = new Scorer(readFileSync(path, "utf8"));
      const hasGrade = "grade" in JSON.parse(readFileSync(path, "utf8"));
      const other = await serve({ port: 0, model: path, log: () => {} });
      try {
        const claim = claimOf(answers, [], Date.now(), own);
        assert.equal(claim.leadscore_grade === "", !hasGrade, `${name}: a grade is claimed exactly when the model has one`);
        const reply = await (
          await fetch(`${other.origin}/submit`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
            body: formOf(answers, claim),
          })
        ).json();
        assert.deepEqual(reply.mismatches, [], name);
        assert.deepEqual(reply.issues, [], name);
        assert.equal(reply.verified, true, name);
        assert.equal(reply.stage, claim.leadscore_stage, name);
        assert.equal(String(reply.score), claim.leadscore_score, name);
        const html = await (
          await fetch(`${other.origin}/submit`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: formOf(answers, claim),
          })
        ).text();
        assert.match(html, /Confirmed: the server computed/, name);
      } finally {
        await other.close();
        own.free();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a boolean checkbox posted as on is true, as in the browser: the claim is verified", async () => {
  const at = Date.now();
  const claim = claimOf(sqlLead, [], at);
  const { sso_required, decision_maker, ...rest } = sqlLead;
  assert.deepEqual([sso_required, decision_maker], [true, true]);
  const body = formOf(rest, claim);
  body.append("decision_maker", "on");
  body.append("sso_required", "on");
  const reply = await (await post(body, { accept: "application/json" })).json();
  assert.deepEqual(reply.issues, []);
  assert.deepEqual(reply.mismatches, []);
  assert.equal(reply.verified, true);
  // A refused value is reported by the server, which scores without it as the browser did.
  const refused = formOf({ ...sqlLead, budget_monthly: "lots" }, claimOf({ ...sqlLead, budget_monthly: undefined }, [], at));
  const r = await (await post(refused, { accept: "application/json" })).json();
  assert.deepEqual(r.issues.map((i) => [i.field, i.code]), [["budget_monthly", "type"]]);
  assert.equal(r.verified, true, JSON.stringify(r.mismatches));
  assert.match(await (await post(refused)).text(), /<code>budget_monthly<\/code>: `budget_monthly` takes a number/);
});

test("every submitted value is escaped in the thank-you page", async () => {
  const evil = "<script>alert(1)</script>";
  const body = formOf({ ...sqlLead, company: evil, job_title: `"><img src=x onerror=alert(2)>` }, { [`<b>${evil}`]: evil });
  const html = await (await post(body)).text();
  assert.doesNotMatch(html, /<script|<img|<b>/i);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /&quot;&gt;&lt;img src=x onerror=alert\(2\)&gt;/);
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
});

test("the server refuses other bodies: too large, another type, another method", async () => {
  const big = new URLSearchParams({ email: "a@b.co", job_title: "x".repeat(BODY_LIMIT) });
  assert.equal((await post(big)).status, 413);
  const json = await post(JSON.stringify(sqlLead), { "content-type": "application/json" });
  assert.equal(json.status, 415);
  assert.equal((await fetch(`${server.origin}/submit`)).status, 405);
  // Still serving after them.
  assert.equal((await post(formOf(sqlLead))).status, 200);
});

test("answers are read by the engine as the browser reads them; the log says the outcome, never the answers", () => {
  const form = new URLSearchParams(
    "employees=250&annual_revenue=2.5&decision_maker=on&sso_required=true&data_sources=bigquery" +
      "&data_sources=hubspot&company=&budget_monthly=lots&country=it&nope=1&leadscore_score=3",
  );
  const { answers, issues } = answersFrom(form, scorer);
  assert.deepEqual(answers, {
    employees: 250,
    annual_revenue: 2.5,
    decision_maker: true,
    sso_required: true,
    data_sources: ["bigquery", "hubspot"],
    country: "IT",
  });
  assert.deepEqual(issues.map((i) => [i.field, i.code]), [["budget_monthly", "type"]]);
  assert.equal(pickLanguage("it-IT,it;q=0.9,en;q=0.8"), "it");
  assert.equal(pickLanguage("en-GB, it;q=0.5"), "en");
  assert.equal(pickLanguage("fr-FR"), "en");
  assert.equal(pickLanguage(undefined), "en");
  assert.ok(logs.length >= 5);
  for (const line of logs) {
    assert.match(line, /^\d{4}-\d\d-\d\dT\S+ lead stage=\w+ verified=(true|false|null)$/);
    assert.doesNotMatch(line, /Zahlwerk|keller/i);
  }
});

// The pages

/** The start tags of an HTML text, with their attributes; enough for the project's own pages. */
function tags(html) {
  const out = [];
  for (const m of html.matchAll(/<([a-zA-Z][\w-]*)((?:\s+[^\s=>]+(?:="[^"]*")?)*)\s*\/?>/g)) {
    const attrs = {};
    for (const a of m[2].matchAll(/([^\s=>]+)(?:="([^"]*)")?/g)) attrs[a[1]] = a[2] ?? "";
    out.push({ name: m[1].toLowerCase(), attrs, index: m.index, end: m.index + m[0].length });
  }
  return out;
}

const decode = (s) =>
  s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]);
/** The text of the element that starts at tag `t`, up to its closing tag. */
const textAfter = (html, t) => decode(html.slice(t.end, html.indexOf(`</${t.name}>`, t.end)).replace(/<[^>]*>/g, "")).trim();

for (const [lang, file] of Object.entries(pages)) {
  const html = readFileSync(join(root, file), "utf8");
  const model = scorer.model(lang);
  const all = tags(html);

  test(`${file}: static markup only, one module script, allowed by the security policy`, () => {
    assert.match(html, new RegExp(`^<!doctype html>\\n<html lang="${lang}">`));
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.deepEqual(scripts.map((s) => s[0]), ['<script type="module" src="/dist/auto.js"></script>']);
    assert.doesNotMatch(html, /<style\b/i, "a style element");
    // The package's stylesheet for the controller's elements, then the site's, nothing else.
    const sheets = [...html.matchAll(/<link rel="stylesheet" href="([^"]*)">/g)].map((m) => m[1]);
    assert.deepEqual(sheets, ["/dist/leadscore.css", "/style.css"], "the style sheets");
    assert.match(html, /<link rel="icon" href="data:,">/);
    for (const t of all) {
      for (const a of Object.keys(t.attrs)) {
        assert.ok(!/^on/i.test(a), `${t.name} has ${a}`);
        assert.notEqual(a.toLowerCase(), "style", `${t.name} has a style attribute`);
      }
      for (const a of ["href", "src", "action"]) {
        const v = t.attrs[a];
        if (v !== undefined) assert.match(v, /^(\/|#|data:,$)/, `${t.name} ${a}="${v}" leaves the site`);
      }
    }
    const ids = all.filter((t) => t.attrs.id).map((t) => t.attrs.id);
    assert.equal(new Set(ids).size, ids.length, "duplicate ids");
    for (const t of all) {
      for (const ref of (t.attrs["aria-describedby"] ?? t.attrs["aria-labelledby"] ?? "").split(" ").filter(Boolean)) {
        assert.ok(ids.includes(ref), `${ref} is not an id`);
      }
      if (t.attrs.href?.startsWith("#")) assert.ok(ids.includes(t.attrs.href.slice(1)), `${t.attrs.href} is not an id`);
      if (t.attrs.for) assert.ok(ids.includes(t.attrs.for), `label for ${t.attrs.for}`);
    }
  });

  test(`${file}: the form follows the model: steps in order, every field once, its type and constraints`, () => {
    const form = all.find((t) => t.name === "form");
    assert.deepEqual(form.attrs, {
      id: "lead-form",
      class: "leadscore-form",
      action: "/submit",
      method: "post",
      "data-leadscore": "/dist/b2b-saas.lsp",
      "data-leadscore-submit": "fetch",
      "data-leadscore-attribution": "",
      "data-leadscore-view": "page_view",
    });
    const formEnd = html.indexOf("</form>");
    const inForm = all.filter((t) => t.index > form.index && t.index < formEnd);

    // Steps: one fieldset each, in model order, none hidden or disabled.
    const steps = inForm.filter((t) => t.attrs["data-step"] !== undefined);
    assert.deepEqual(steps.map((t) => t.name), doc.steps.map(() => "fieldset"));
    assert.deepEqual(steps.map((t) => t.attrs["data-step"]), doc.steps.map((s) => s.id));
    for (const s of steps) assert.ok(!("hidden" in s.attrs) && !("disabled" in s.attrs));
    for (const [i, s] of doc.steps.entries()) {
      const inStep = inForm.filter((t) => t.index > steps[i].index && (i + 1 === steps.length || t.index < steps[i + 1].index));
      assert.deepEqual(inStep.filter((t) => t.attrs["data-field"]).map((t) => t.attrs["data-field"]), s.fields, s.id);
      assert.equal(textAfter(html, inStep.find((t) => t.name === "legend")), model.steps[i].title, `${s.id} title`);
    }

    // The honeypot: one text input that people never see or reach (the receiver refuses a form that fills it).
    const honeypot = inForm.filter((t) => t.attrs.name === "leadscore_website");
    assert.deepEqual(honeypot.map((t) => t.attrs), [
      { id: "f-website", type: "text", name: "leadscore_website", tabindex: "-1", autocomplete: "off" },
    ]);
    assert.ok(!doc.fields.some((f) => f.id === "leadscore_website"), "the honeypot is not a model field");

    // Controls: every model field, and nothing else, by name; but the attribution fields (on no step), whose
    // hidden inputs the controller creates (data-leadscore-attribution).
    const ATTRIBUTION = ["utm_medium", "utm_campaign", "gclid", "referrer", "landing_page", "first_utm_source"];
    const controls = inForm.filter(
      (t) => ["input", "select", "textarea"].includes(t.name) && t.attrs.name !== undefined && t.attrs.name !== "leadscore_website",
    );
    const names = new Set(controls.map((t) => t.attrs.name));
    const attribution = doc.fields.filter((f) => ATTRIBUTION.includes(f.id));
    assert.deepEqual(attribution.map((f) => f.id), ATTRIBUTION, "the model's attribution fields");
    for (const f of attribution) assert.ok(!doc.steps.some((s) => s.fields.includes(f.id)), `${f.id} is on a step`);
    assert.deepEqual([...names].sort(), doc.fields.map((f) => f.id).filter((id) => !ATTRIBUTION.includes(id)).sort());
    for (const f of doc.fields.filter((f) => !ATTRIBUTION.includes(f.id))) {
      const info = model.fields.find((m) => m.id === f.id);
      const mine = controls.filter((t) => t.attrs.name === f.id);
      const required = f.required === true;
      for (const c of mine) assert.equal("required" in c.attrs, required, `${f.id}: required`);
      if (f.id === "utm_source") {
        assert.deepEqual(mine.map((c) => c.attrs), [{ type: "hidden", name: "utm_source", "data-leadscore-param": "utm_source" }]);
        continue;
      }
      const wrapper = inForm.find((t) => t.attrs["data-field"] === f.id);
      const help = info.help === undefined ? undefined : all.find((t) => t.attrs.id === `f-${f.id}-help`);
      if (info.help !== undefined) {
        assert.equal(help?.name, "p", `${f.id} help`);
        assert.equal(help.attrs.class, "help");
        assert.equal(textAfter(html, help), info.help, `${f.id} help text`);
      }
      const group = f.type === "multi" || f.type === "boolean" || (f.type === "choice" && mine[0].name === "input");
      if (group) {
        // A fieldset of radios or checkboxes, one per option, with the model's labels.
        assert.equal(wrapper.name, "fieldset", f.id);
        assert.equal(wrapper.attrs.class.split(" ")[0], "choices");
        assert.equal(textAfter(html, inForm.find((t) => t.name === "legend" && t.index > wrapper.index)), info.label, `${f.id} legend`);
        const type = f.type === "multi" ? "checkbox" : "radio";
        const options = f.type === "boolean" ? [["true"], ["false"]] : info.options.map((o) => [o.value, o.label]);
        assert.deepEqual(mine.map((c) => c.attrs.type), options.map(() => type), f.id);
        assert.deepEqual(mine.map((c) => c.attrs.value), options.map((o) => o[0]), f.id);
        for (const [i, c] of mine.entries()) {
          if (options[i][1] === undefined) continue;
          const label = all.filter((t) => t.name === "label" && t.index < c.index).at(-1);
          assert.equal(textAfter(html, label), options[i][1], `${f.id} option ${options[i][0]}`);
        }
        if (info.help !== undefined) assert.equal(wrapper.attrs["aria-describedby"], `f-${f.id}-help`);
        continue;
      }
      assert.equal(mine.length, 1, `${f.id} appears once`);
      const [c] = mine;
      assert.deepEqual([wrapper.name, wrapper.attrs.class], ["div", "field"], f.id);
      assert.equal(c.attrs.id, `f-${f.id}`);
      assert.equal(textAfter(html, all.find((t) => t.name === "label" && t.attrs.for === `f-${f.id}`)), info.label, `${f.id} label`);
      assert.equal(c.attrs["aria-describedby"], info.help === undefined ? undefined : `f-${f.id}-help`, f.id);
      assert.equal(c.attrs.placeholder === undefined ? undefined : decode(c.attrs.placeholder), info.placeholder, `${f.id} placeholder`);
      if (f.type === "choice" || f.type === "country") {
        assert.equal(c.name, "select", f.id);
        const end = html.indexOf("</select>", c.index);
        const opts = all.filter((t) => t.name === "option" && t.index > c.index && t.index < end);
        assert.equal(opts[0].attrs.value, "", `${f.id}: an empty first option`);
        const values = opts.slice(1).map((o) => o.attrs.value);
        if (f.type === "choice") {
          assert.deepEqual(values, info.options.map((o) => o.value), f.id);
          assert.deepEqual(opts.slice(1).map((o) => textAfter(html, o)), info.options.map((o) => o.label), f.id);
        } else {
          for (const code of doc.lists.served_countries) assert.ok(values.includes(code), `${code} missing`);
          assert.ok(values.length >= doc.lists.served_countries.length + 12);
          const shown = opts.slice(1).map((o) => textAfter(html, o));
          assert.deepEqual(shown, [...shown].sort((a, b) => a.localeCompare(b, lang)), "countries in alphabetical order");
        }
        continue;
      }
      const type = { email: "email", integer: "number", number: "number" }[f.type] ?? (f.id === "phone" ? "tel" : "text");
      assert.equal(c.name, "input");
      assert.equal(c.attrs.type, type, f.id);
      assert.equal(c.attrs.step, { integer: "1", number: "any" }[f.type], `${f.id} step`);
      assert.equal(c.attrs.min, f.min === undefined ? undefined : String(f.min), `${f.id} min`);
      assert.equal(c.attrs.max, f.max === undefined ? undefined : String(f.max), `${f.id} max`);
      assert.equal(c.attrs.maxlength, f.max_length === undefined ? undefined : String(f.max_length), `${f.id} maxlength`);
    }
    const submit = inForm.filter((t) => t.name === "button");
    assert.deepEqual(submit.map((b) => b.attrs.type), ["submit"]);
    assert.ok(inForm.some((t) => "data-leadscore-progress" in t.attrs));
    assert.ok(inForm.some((t) => "data-leadscore-nav" in t.attrs && t.attrs.class === "form-actions"));
  });

  test(`${file}: the behaviour hooks, the consent banner, the score panel and the ending`, () => {
    const events = new Set(doc.events.map((e) => e.id));
    const hooks = all.filter((t) => t.attrs["data-leadscore-event"] !== undefined);
    for (const t of hooks) {
      assert.ok(events.has(t.attrs["data-leadscore-event"]), t.attrs["data-leadscore-event"]);
      assert.match(t.attrs.href ?? "", /^#/, "an event link stays on the page");
    }
    const used = new Set(hooks.map((t) => t.attrs["data-leadscore-event"]));
    for (const e of ["pricing_view", "case_study_download", "whitepaper_download", "webinar_attended", "demo_request"]) {
      assert.ok(used.has(e), `no link records ${e}`);
    }
    assert.ok(hooks.some((t) => t.attrs["data-leadscore-event"] === "demo_request" && t.attrs.href === "#lead-form"));
    assert.ok(hooks.some((t) => t.attrs["data-leadscore-event"] === "pricing_view" && t.attrs.href === "#pricing"));

    const consent = all.find((t) => t.attrs["data-leadscore-consent"] === "");
    assert.equal(consent.attrs.class, "consent");
    assert.ok("hidden" in consent.attrs);
    const answers = all.filter((t) => t.name === "button" && t.attrs["data-leadscore-consent"]);
    assert.deepEqual(answers.map((b) => [b.attrs.type, b.attrs["data-leadscore-consent"]]), [["button", "yes"], ["button", "no"]]);

    const panel = all.find((t) => "data-leadscore-show" in t.attrs);
    assert.ok("hidden" in panel.attrs, "the score panel is hidden without JavaScript");
    const outputs = all.filter((t) => t.name === "output").map((t) => t.attrs["data-leadscore-output"]);
    assert.deepEqual(outputs, ["score", "fit", "engagement", "intent", "stage", "grade"]);

    const ending = all.find((t) => t.attrs["data-leadscore-ending"] !== undefined);
    assert.deepEqual(ending.attrs, { class: "ending", "data-leadscore-ending": "lead-form", hidden: "", tabindex: "-1" });

    const other = lang === "en" ? "/it/" : "/";
    assert.ok(all.some((t) => t.name === "a" && t.attrs.href === other && t.attrs.hreflang), "a link to the other language");
  });
}

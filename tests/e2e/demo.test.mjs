// The demo landing pages end to end, in Debian's Chromium through playwright-core, against the demo server
// (www/serve.mjs) and the generated www/dist/ (scripts/build-www.sh). At every step axe-core checks the page
// (WCAG 2.1 AA and best practices: tests/e2e/axe.mjs) and a screenshot goes to target/e2e/ as an artifact.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

import { browser, root } from "../node/support.mjs";
import { serve } from "../../www/serve.mjs";
import { fillSqlLead } from "./lead.mjs";
import { assertAccessible } from "./axe.mjs";

const shots = join(root, "target/e2e");
let server;
let chromium;
const logs = [];

before(async () => {
  await mkdir(shots, { recursive: true });
  server = await serve({ port: 0, log: (line) => logs.push(line) });
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await server?.close();
});

/**
 * A fresh page (own storage) that records every request and fails on page errors, console errors and CSP
 * violations. `js: false` turns JavaScript off.
 */
async function open(path = "/", { js = true } = {}) {
  const context = await chromium.newContext({ javaScriptEnabled: js, locale: "en-US" });
  const page = await context.newPage();
  const requests = [];
  const problems = [];
  page.on("request", (r) => requests.push({ method: r.method(), url: r.url(), body: r.postData() ?? "" }));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  await page.goto(server.origin + path);
  if (js) await page.waitForSelector("form.leadscore-active", { timeout: 10_000 });
  return {
    page,
    requests,
    problems,
    async close() {
      await context.close();
      assert.deepEqual(problems, [], "no page errors, console errors or CSP violations");
    },
  };
}

/** Checks the page with axe-core as it is now, then saves its screenshot as target/e2e/NAME.png. */
async function look(page, name) {
  await assertAccessible(page, name);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

const progress = (page) => page.textContent("[data-leadscore-progress] .leadscore-progress-text");
const output = (page, what) => page.textContent(`[data-leadscore-output="${what}"]`);
const visibleStep = (page) =>
  page.evaluate(() => [...document.querySelectorAll("fieldset[data-step]")].filter((f) => !f.hidden).map((f) => f.dataset.step));

describe("the English landing page", () => {
  test("an SQL goes through every step and is sent with its score; the server confirms it", async () => {
    const t = await open("/?utm_source=g2");
    const { page } = t;
    const shot = (name) => look(page, `en-${name}`);
    assert.equal(await progress(page), "Step 1 of 4");
    assert.deepEqual(await visibleStep(page), ["about_you"]);
    assert.equal(await page.isVisible(".leadscore-back"), false, "no Back on the first step");
    assert.equal(await page.isVisible("button[type=submit]"), false, "Send only on the last step");
    await fillSqlLead(page, shot);
    // 400 employees: the enterprise step joined the path.
    assert.equal(await progress(page), "Step 5 of 5");
    assert.equal(await output(page, "stage"), "Sales Qualified Lead");
    assert.equal(await page.isVisible("button[type=submit]"), true);
    const response = page.waitForResponse((r) => r.url().endsWith("/submit"));
    await page.click("button[type=submit]");
    const reply = await (await response).json();
    assert.equal(reply.verified, true, `the server confirms the browser's claim: ${JSON.stringify(reply.mismatches)}`);
    assert.equal(reply.stage, "sql");

    const post = t.requests.find((r) => r.method === "POST");
    const sent = new URLSearchParams(post.body);
    assert.equal(sent.get("leadscore_stage"), "sql");
    assert.equal(sent.get("leadscore_hash").length, 16);
    assert.equal(Number(sent.get("leadscore_score")), reply.score);
    assert.match(sent.get("leadscore_grade"), /^A[123]$/);
    assert.ok(sent.get("leadscore_rules").split(",").includes("timeline_now"));
    assert.ok(sent.get("leadscore_rules").split(",").includes("review_site"), "utm_source from the URL counted");
    assert.deepEqual(Object.keys(JSON.parse(sent.get("leadscore_groups"))), ["fit", "engagement", "intent"]);
    assert.equal(sent.get("utm_source"), "g2");
    assert.deepEqual(sent.getAll("data_sources"), ["snowflake", "hubspot"]);

    await page.waitForSelector("[data-leadscore-ending]:not([hidden]) .leadscore-action");
    assert.equal(await page.textContent(".leadscore-ending-title"), "Let's find a time to talk");
    // The booking link, prefilled with the email and the first name.
    assert.equal(await page.getAttribute(".leadscore-action", "href"), "https://cal.example.com/larkspur/discovery-call?email=ana.rossi%40shop.example&name=Ana");
    assert.equal(await page.isVisible("#lead-form"), false);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.leadscoreEnding), "lead-form");
    await shot("6-ending-sql");
    // Sent: nothing is kept for a reload.
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.ok(logs.some((l) => l.includes("stage=sql verified=true")));
    // The page's only requests: itself, its style sheets, the module, the program, and the lead.
    const paths = [...new Set(t.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`))].sort();
    assert.deepEqual(paths, [
      "GET /", "GET /dist/auto.js", "GET /dist/b2b-saas.lsp", "GET /dist/form.js", "GET /dist/form_bg.wasm",
      "GET /dist/leadscore.css", "GET /style.css", "POST /submit",
    ]);
    await t.close();
  });

  test("a utm_source longer than the model takes never blocks an SQL: it is cut to 100 characters and the issue is sent", async () => {
    // 300 characters as the engine counts them (code points; the emoji are two UTF-16 units each).
    const long = `newsletter-${"é🙂x".repeat(100)}`.slice(0, 300 + 100);
    const chars = [...long].slice(0, 300);
    assert.equal(chars.length, 300);
    const t = await open(`/?utm_source=${encodeURIComponent(chars.join(""))}`);
    const { page } = t;
    await fillSqlLead(page);
    assert.equal(await output(page, "stage"), "Sales Qualified Lead");
    const response = page.waitForResponse((r) => r.url().endsWith("/submit"));
    await page.click("button[type=submit]");
    const reply = await (await response).json();
    assert.equal(reply.verified, true, JSON.stringify(reply.mismatches));
    assert.equal(reply.stage, "sql");
    const sent = new URLSearchParams(t.requests.find((r) => r.method === "POST").body);
    assert.equal(sent.get("utm_source"), chars.slice(0, 100).join(""), "the first 100 characters");
    const issues = JSON.parse(sent.get("leadscore_issues"));
    // The first touch's source (attribution) is the same campaign, cut as well.
    assert.equal(sent.get("first_utm_source"), chars.slice(0, 100).join(""));
    assert.deepEqual(issues.map((i) => [i.field, i.code]), [["utm_source", "truncated"], ["first_utm_source", "truncated"]]);
    assert.match(issues[0].message, /at most 100 characters; the URL gave 300/);
    assert.match(issues[1].message, /at most 100 characters; the visit gave 300/);
    await page.waitForSelector("[data-leadscore-ending]:not([hidden])");
    // The developer is told, once for each field.
    for (const field of ["utm_source", "first_utm_source"]) {
      const warned = t.problems.filter((p) => p.startsWith(`console warning: leadscore: \`${field}\``));
      assert.equal(warned.length, 1, t.problems.join("\n"));
      t.problems.splice(t.problems.indexOf(warned[0]), 1);
    }
    await t.close();
  });

  test("a student is stopped after the first step and nothing carrying an answer leaves the browser", async () => {
    const t = await open();
    const { page } = t;
    const loaded = t.requests.length;
    await page.fill("#f-email", "luca.bianchi@studenti.example");
    await page.fill("#f-first_name", "Luca");
    await page.check("input[name=seniority][value=student]");
    await page.check("input[name=use_case][value=coursework]");
    // Coursework ends the form after this step (the model jumps to the end): Send replaces Next.
    assert.equal(await page.isVisible(".leadscore-next"), false);
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-leadscore-ending]:not([hidden])");
    assert.equal(await page.getAttribute("[data-leadscore-ending]", "data-ending"), "knockout:student");
    assert.equal(await page.textContent(".leadscore-ending-title"), "Larkspur is free for education");
    assert.equal(await page.getAttribute(".leadscore-action", "href"), "/newsletter?list=education");
    await look(page, "en-knockout-student");
    // Pressing Enter or waiting sends nothing either.
    await page.keyboard.press("Enter");
    await page.waitForTimeout(300);
    const later = t.requests.slice(loaded);
    assert.deepEqual(later, [], "no request at all after the page loaded");
    for (const r of t.requests) {
      assert.equal(r.method, "GET", `${r.method} ${r.url}`);
      assert.ok(!/studenti|Luca|coursework/.test(r.url + r.body), `no answer in ${r.url}`);
    }
    // The visitor can go back and change an answer by mistake.
    await page.click(".leadscore-edit");
    assert.equal(await page.isVisible("#lead-form"), true);
    assert.equal(await page.inputValue("#f-email"), "luca.bianchi@studenti.example");
    await t.close();
  });

  test("Back and reload keep every answer", async () => {
    const t = await open();
    const { page } = t;
    await page.fill("#f-email", "ana.rossi@shop.example");
    await page.fill("#f-first_name", "Ana");
    await page.check("input[name=seniority][value=director]");
    await page.check("input[name=use_case][value=client_work]");
    await page.click(".leadscore-next");
    await page.fill("#f-company", "Agenzia Blu");
    await page.selectOption("#f-industry", "media");
    await page.fill("#f-employees", "35");
    await page.click(".leadscore-back");
    assert.equal(await progress(page), "Step 1 of 4");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "f-email", "focus on the step's first field");
    assert.equal(await page.inputValue("#f-first_name"), "Ana");
    assert.equal(await page.isChecked("input[name=seniority][value=director]"), true);
    await page.click(".leadscore-next");
    await page.reload();
    await page.waitForSelector("form.leadscore-active");
    assert.equal(await progress(page), "Step 2 of 4", "the step survives a reload");
    assert.equal(await page.inputValue("#f-company"), "Agenzia Blu");
    assert.equal(await page.inputValue("#f-industry"), "media");
    assert.equal(await page.inputValue("#f-employees"), "35");
    assert.equal(await page.isVisible("#f-annual_revenue"), true, "revenue is asked from 20 employees");
    await page.click(".leadscore-back");
    assert.equal(await page.inputValue("#f-email"), "ana.rossi@shop.example");
    assert.equal(await page.isChecked("input[name=use_case][value=client_work]"), true);
    await t.close();
  });

  test("a field hidden by an earlier answer is neither counted nor sent", async () => {
    const t = await open();
    const { page } = t;
    await fillSqlLead(page);
    assert.equal(await progress(page), "Step 5 of 5");
    const scoreWithRevenue = Number(await output(page, "fit"));
    // Back to the company step: 15 employees hides the revenue question (and drops the enterprise step).
    await page.click(".leadscore-back");
    await page.click(".leadscore-back");
    await page.click(".leadscore-back");
    assert.deepEqual(await visibleStep(page), ["company"]);
    await page.fill("#f-employees", "15");
    assert.equal(await page.isVisible("#f-annual_revenue"), false);
    assert.equal(await page.inputValue("#f-annual_revenue"), "30", "the typed value is kept, in case it comes back");
    assert.equal(await page.isDisabled("#f-annual_revenue"), true);
    assert.ok(Number(await output(page, "fit")) < scoreWithRevenue);
    await page.click(".leadscore-next");
    await page.click(".leadscore-next");
    assert.equal(await progress(page), "Step 4 of 4", "the enterprise step left the path");
    const response = page.waitForResponse((r) => r.url().endsWith("/submit"));
    await page.click("button[type=submit]");
    const reply = await (await response).json();
    assert.equal(reply.verified, true, JSON.stringify(reply.mismatches));
    const sent = new URLSearchParams(t.requests.find((r) => r.method === "POST").body);
    assert.equal(sent.has("annual_revenue"), false, "hidden field not sent");
    assert.equal(sent.has("sso_required"), false, "field of a step off the path not sent");
    assert.ok(!sent.get("leadscore_rules").split(",").includes("revenue_10m"));
    assert.equal(sent.get("employees"), "15");
    await t.close();
  });

  test("required fields, required-if and locked fields", async () => {
    const t = await open();
    const { page } = t;
    await page.click(".leadscore-next");
    assert.equal(await progress(page), "Step 1 of 4", "an empty step does not move on");
    assert.equal(await page.getAttribute("#f-email", "aria-invalid"), "true");
    assert.equal((await page.textContent("#leadscore-error-email")).trim(), "Please answer this question.");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "f-email");
    assert.match(await page.textContent(".leadscore-live"), /Please check the highlighted answers \(\d+\)/);
    await page.fill("#f-email", "not an email");
    await page.click(".leadscore-next");
    assert.notEqual((await page.textContent("#leadscore-error-email")).trim(), "Please answer this question.");
    await page.fill("#f-email", "ana.rossi@shop.example");
    assert.equal(await page.getAttribute("#f-email", "aria-invalid"), null, "the error goes once fixed");
    await page.fill("#f-first_name", "Ana");
    await page.check("input[name=seniority][value=manager]");
    await page.check("input[name=use_case][value=own_company]");
    await page.click(".leadscore-next");
    // The company is required for company use only.
    await page.selectOption("#f-country", "DE");
    await page.selectOption("#f-industry", "saas");
    await page.fill("#f-employees", "80");
    await page.click(".leadscore-next");
    assert.equal(await progress(page), "Step 2 of 4");
    assert.equal((await page.textContent("#leadscore-error-company")).trim(), "Please answer this question.");
    await page.fill("#f-company", "Datenwerk GmbH");
    await page.click(".leadscore-next");
    await page.check("input[name=timeline][value=this_half]");
    await page.click(".leadscore-next");
    // Contact: the phone is optional for a later start; the callback time is locked until there is a phone.
    assert.equal(await page.isDisabled("input[name=callback_time][value=morning]"), true);
    await page.fill("#f-phone", "+49 30 1234");
    assert.equal(await page.isDisabled("input[name=callback_time][value=morning]"), false);
    await t.close();
  });

  test("the whole form with the keyboard alone", async () => {
    const t = await open("/#lead-form");
    const { page } = t;
    const kb = page.keyboard;
    /** Tab until the focused element matches `selector` (at most 60 presses). */
    async function tabTo(selector) {
      for (let i = 0; i < 60; i++) {
        if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
        await kb.press("Tab");
      }
      assert.fail(`Tab never reached ${selector}`);
    }
    await tabTo("#f-email");
    await kb.type("ana.rossi@shop.example");
    await kb.press("Tab");
    await kb.type("Ana");
    await tabTo("input[name=seniority]");
    await kb.press("Space"); // c_level, the first option
    await tabTo("input[name=use_case]");
    await kb.press("Space"); // own_company
    await kb.press("Enter"); // submitting from a field of an earlier step moves on
    assert.equal(await progress(page), "Step 2 of 4");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "f-company");
    await kb.type("Shop Srl");
    await kb.press("Tab");
    await kb.type("Italy");
    await kb.press("Tab");
    await kb.type("Software");
    await kb.press("Tab");
    await kb.type("120");
    await tabTo(".leadscore-next");
    await kb.press("Enter");
    assert.equal(await progress(page), "Step 3 of 4");
    await tabTo("input[name=timeline]");
    await kb.press("Space"); // now
    await tabTo("input[name=decision_maker]");
    await kb.press("Space"); // yes
    await tabTo(".leadscore-next");
    await kb.press("Space");
    assert.equal(await progress(page), "Step 4 of 4");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "f-phone");
    await kb.type("+39 02 1234");
    await tabTo("button[type=submit]");
    const response = page.waitForResponse((r) => r.url().endsWith("/submit"));
    await kb.press("Enter");
    const reply = await (await response).json();
    assert.equal(reply.verified, true, JSON.stringify(reply.mismatches));
    const sent = new URLSearchParams(t.requests.find((r) => r.method === "POST").body);
    assert.equal(sent.get("country"), "IT");
    assert.equal(sent.get("industry"), "saas");
    assert.equal(sent.get("seniority"), "c_level");
    await page.waitForSelector("[data-leadscore-ending]:not([hidden])");
    await t.close();
  });

  test("behaviour is counted and stored only after consent", async () => {
    const t = await open();
    const { page } = t;
    assert.equal(await page.isVisible("[data-leadscore-consent]"), true, "the consent banner asks first");
    await page.click("a[data-leadscore-event=pricing_view] >> nth=0");
    assert.equal(await output(page, "engagement"), "0", "not counted before consent");
    assert.deepEqual(await page.evaluate(() => Object.keys(localStorage)), []);
    await page.click("[data-leadscore-consent=yes]");
    assert.equal(await page.isVisible("[data-leadscore-consent]"), false);
    // The page view and the pricing view recorded before the answer now count: 1 + 3 points, and 3 for a
    // visit in the last 7 days.
    assert.equal(await output(page, "engagement"), "7");
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem("leadscore:events:b2b-saas")));
    assert.deepEqual(stored.map((e) => e.type).sort(), ["page_view", "pricing_view"]);
    await page.click("a[data-leadscore-event=case_study_download] >> nth=0");
    assert.equal(await output(page, "engagement"), "12");
    // A later visit counts the stored behaviour at once.
    await page.reload();
    await page.waitForSelector("form.leadscore-active");
    assert.equal(await page.isVisible("[data-leadscore-consent]"), false, "the answer is remembered");
    assert.equal(await output(page, "engagement"), "13", "a second page view");
    await t.close();
  });
});

describe("with the keyboard", () => {
  test("the consent banner comes right after the skip link; answered, focus goes to the main content", async () => {
    const t = await open();
    const { page } = t;
    const focused = () =>
      page.evaluate(() => {
        const e = document.activeElement;
        return e.dataset.leadscoreConsent ?? e.getAttribute("href") ?? e.id ?? e.tagName;
      });
    await page.keyboard.press("Tab");
    assert.equal(await focused(), "#main", "the skip link first");
    await page.keyboard.press("Tab");
    assert.equal(await focused(), "yes", "then the banner's first answer");
    await page.keyboard.press("Tab");
    assert.equal(await focused(), "no");
    await page.keyboard.press("Enter");
    assert.equal(await page.isVisible("[data-leadscore-consent]"), false);
    assert.equal(await focused(), "main", "focus is on the main content, not lost on <body>");
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.querySelector("main").contains(document.activeElement)), true);
    await t.close();
  });

  test("Next with errors focuses the first field in error; the page passes axe-core with its messages shown", async () => {
    const t = await open();
    const { page } = t;
    await page.click("[data-leadscore-consent=no]");
    await page.fill("#f-email", "not an address");
    await page.click(".leadscore-next");
    assert.equal(await page.evaluate(() => document.activeElement.id), "f-email");
    // The form's words, and the control's validity message says the same.
    assert.equal(await page.textContent("#leadscore-error-email"), "Please check this answer.");
    assert.equal(await page.$eval("#f-email", (e) => e.validationMessage), "Please check this answer.");
    assert.equal(await page.textContent("#leadscore-error-first_name"), "Please answer this question.");
    await look(page, "en-errors");
    await t.close();
  });
});

describe("the Italian landing page", () => {
  test("texts in Italian, and the same qualification", async () => {
    const t = await open("/it/");
    const { page } = t;
    assert.equal(await page.textContent(".leadscore-next"), "Avanti");
    assert.equal(await progress(page), "Passo 1 di 4");
    await look(page, "it-1");
    // The browser speaks English here (the context's locale); the form's messages are the page's Italian,
    // also as the control's own validity message.
    await page.fill("#f-email", "non è un indirizzo");
    await page.click(".leadscore-next");
    assert.equal(await page.textContent("#leadscore-error-email"), "Controlla questa risposta.");
    assert.equal(await page.$eval("#f-email", (e) => e.validationMessage), "Controlla questa risposta.");
    assert.equal(await page.textContent("#leadscore-error-first_name"), "Rispondi a questa domanda.");
    await page.fill("#f-email", "giulia@negozio.example");
    await page.fill("#f-first_name", "Giulia");
    await page.check("input[name=seniority][value=student]");
    await page.check("input[name=use_case][value=coursework]");
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-leadscore-ending]:not([hidden])");
    assert.equal(await page.textContent(".leadscore-edit"), "Modifica le risposte");
    const title = await page.textContent(".leadscore-ending-title");
    assert.notEqual(title, "Larkspur is free for education", "the ending comes in Italian from the model");
    await look(page, "it-knockout-student");
    await t.close();
  });
});

describe("when the module cannot load", () => {
  test("the form stays a plain form with every field, and says why in the console", async () => {
    const context = await chromium.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));
    await page.route("**/form_bg.wasm", (route) => route.abort());
    await page.goto(server.origin + "/");
    await page.waitForFunction(() => false, null, { timeout: 1500 }).catch(() => {});
    assert.equal(await page.evaluate(() => document.querySelector("#lead-form").classList.contains("leadscore-active")), false);
    const hidden = await page.evaluate(() => [...document.querySelectorAll("fieldset[data-step]")].filter((f) => f.hidden).length);
    assert.equal(hidden, 0, "every step is shown");
    assert.equal(await page.isVisible("button[type=submit]"), true);
    assert.equal(await page.isVisible(".score-panel"), false, "the score panel stays hidden");
    assert.ok(errors.some((e) => e.includes("the form stays a plain form")), errors.join("\n"));
    await look(page, "plain-form");
    await context.close();
  });
});

describe("without JavaScript", () => {
  test("the page is a plain form with every field, and the server scores what it receives", async () => {
    const t = await open("/", { js: false });
    const { page } = t;
    assert.equal(await page.isVisible("fieldset[data-step=enterprise]"), true, "every step is shown");
    assert.equal(await page.isVisible("#f-annual_revenue"), true);
    await page.fill("#f-email", "ana.rossi@shop.example");
    await page.fill("#f-first_name", "Ana");
    await page.check("input[name=seniority][value=vp]");
    await page.check("input[name=use_case][value=own_company]");
    await page.fill("#f-company", "Shop Srl");
    await page.selectOption("#f-country", "IT");
    await page.selectOption("#f-industry", "ecommerce");
    await page.fill("#f-employees", "400");
    await page.check("input[name=data_sources][value=snowflake]");
    await page.selectOption("#f-current_tool", "in_house");
    await page.fill("#f-budget_monthly", "3000");
    await page.check("input[name=timeline][value=now]");
    await page.check("input[name=decision_maker][value=true]");
    await page.fill("#f-phone", "+39 02 1234");
    // (axe-core needs JavaScript: the same plain form is checked when the module cannot load, above.)
    await page.screenshot({ path: join(shots, "nojs-form.png"), fullPage: true });
    await Promise.all([page.waitForURL("**/submit"), page.click("button[type=submit]")]);
    const text = await page.textContent("body");
    assert.match(text, /Sales Qualified Lead/);
    await page.screenshot({ path: join(shots, "nojs-received.png"), fullPage: true });
    const post = t.requests.find((r) => r.method === "POST");
    assert.equal(new URLSearchParams(post.body).has("leadscore_score"), false, "no claim without the controller");
    await t.close();
  });
});

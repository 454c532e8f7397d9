// The form build's programmatic API end to end, in Debian's Chromium: attach() and Scorer.attach() on a
// real page, driven the way a visitor does (typing, clicking Next, Back and Send) and through the handle.
// Each test serves a temporary directory holding the form build (pkg/form.js, pkg/form_bg.wasm), the page
// and module of fixtures/ and small purpose-made models compiled here with the full Node build. Needs pkg/
// (scripts/build-wasm.sh). Every test fails on an uncaught error or a console error in the page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Scorer } from "../../pkg/node.js";
import { browser, pkg, serve } from "../node/support.mjs";
import { assertAccessible } from "./axe.mjs";

const fixtures = new URL("./fixtures/", import.meta.url);
const MODELS = ["basic", "knockout", "early", "conditions", "markup", "single", "background", "attribution", "booking"];

/** Node's scorers of the fixture models, to check what the page computes. */
const scorers = {};
let dir;
let site;
let chromium;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "leadscore-api-"));
  for (const f of ["form.js", "form_bg.wasm"]) await copyFile(join(pkg, f), join(dir, f));
  for (const f of ["api.html", "api.js"]) await copyFile(new URL(f, fixtures), join(dir, f));
  for (const name of MODELS) {
    scorers[name] = new Scorer(await readFile(new URL(`${name}.json`, fixtures), "utf8"));
    await writeFile(join(dir, `${name}.lsp`), scorers[name].toBytes());
  }
  site = await serve(dir);
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await site?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Opens the fixture page in a fresh browser context (its own localStorage and sessionStorage), attaches
 * with `config` (see fixtures/api.js; none: the page is only loaded), and runs `body({ page, requests })`,
 * `requests` being every request the page makes after attaching. Uncaught errors and console errors of the
 * page fail the test, as does a failing body.
 */
async function run(config, body) {
  const context = await chromium.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`uncaught in the page: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console.error in the page: ${m.text()}`));
  try {
    await page.goto(`${site.url}/api.html${config?.query ?? ""}`);
    await page.waitForFunction(() => window.ready === true || "failure" in window, null, { timeout: 20000 });
    const failure = await page.evaluate(() => window.failure);
    assert.equal(failure, undefined, `the form build did not load: ${failure}`);
    if (config) await page.evaluate((c) => window.start(c), config);
    const requests = [];
    page.on("request", (r) => requests.push(`${r.method()} ${r.url()}`));
    await body({ page, requests });
    // Errors of listeners and promises settled after the last step surface here.
    await page.evaluate(() => new Promise((ok) => setTimeout(ok, 50)));
    // What the controller made of the page, where the test left it, passes axe-core (unless the test's markup
    // is wrong on purpose, `axe: false`, or the test ended on another page, a native submission's).
    if (config && config.axe !== false && new URL(page.url()).pathname === "/api.html") {
      await assertAccessible(page, "the end of the test");
    }
  } catch (e) {
    if (problems.length) e.message += `\n(the page also reported: ${problems.join("; ")})`;
    throw e;
  } finally {
    await context.close();
  }
  assert.deepEqual(problems, [], `the page reported errors:\n${problems.join("\n")}`);
}

// Page helpers.
const outcome = (page) => page.evaluate(() => window.handle.outcome());
/** Details of the leadscore:<type> events dispatched on the form so far. */
const formEvents = (page, type) =>
  page.evaluate((t) => window.formEvents.filter((e) => e.type === t).map((e) => e.detail), type);
const isHidden = (page, selector) => page.$eval(selector, (e) => e.hidden);
const text = (page, selector) => page.$eval(selector, (e) => e.textContent.trim());
const submits = (page) => page.evaluate(() => window.submits);
const waitSubmits = (page, n) =>
  page.waitForFunction((k) => window.submits.length >= k, n, { timeout: 5000 }).catch(() => {
    throw new Error(`onSubmit was not called ${n} time(s)`);
  });
/** Waits for the ending, then checks the page with axe-core as it shows it. */
const waitEnding = async (page) => {
  await page.waitForSelector(".leadscore-ending:not([hidden])", { state: "attached", timeout: 5000 }).catch(() => {
    throw new Error("the ending was not shown");
  });
  await assertAccessible(page, "the ending");
};

// The forms of the fixture models.
const BASIC_FORM = `
<form id="lead" action="/collect" method="post">
  <fieldset data-step="about"><legend>About you</legend>
    <label data-field="email">Work email <input type="email" name="email"></label>
    <label data-field="note">Anything else? <textarea name="note"></textarea></label>
  </fieldset>
  <fieldset data-step="company"><legend>Your company</legend>
    <label data-field="employees">Company size <input type="number" name="employees"></label>
  </fieldset>
  <button type="submit">Send</button>
</form>
<p>Score: <output data-leadscore-output="score"></output></p>`;

const KNOCKOUT_FORM = `
<form id="lead" action="/collect" method="post">
  <fieldset data-step="who">
    <label data-field="email">Email <input type="email" name="email"></label>
    <fieldset data-field="role"><legend>You are</legend>
      <label><input type="radio" name="role" value="buyer"> buying for a company</label>
      <label><input type="radio" name="role" value="student"> a student</label>
    </fieldset>
  </fieldset>
  <fieldset data-step="org">
    <label data-field="company">Company <input name="company"></label>
  </fieldset>
  <button type="submit">Send</button>
</form>`;

const EARLY_FORM = `
<form id="lead" action="/collect" method="post">
  <fieldset data-step="s1">
    <label><input type="radio" name="plan" value="free"> Free</label>
    <label><input type="radio" name="plan" value="enterprise"> Enterprise</label>
  </fieldset>
  <fieldset data-step="s2"><label data-field="nickname">Nickname <input name="nickname"></label></fieldset>
  <fieldset data-step="s3"><label data-field="budget">Budget <input type="number" name="budget"></label></fieldset>
  <button type="submit">Send</button>
</form>`;

const CONDITIONS_FORM = `
<form id="lead" action="/collect" method="post">
  <fieldset data-step="s1">
    <fieldset data-field="contact">
      <label><input type="radio" name="contact" value="email"> By email</label>
      <label><input type="radio" name="contact" value="phone"> By phone</label>
    </fieldset>
    <label data-field="phone">Phone <input type="tel" name="phone"></label>
  </fieldset>
  <fieldset data-step="s2">
    <fieldset data-field="team">
      <label><input type="radio" name="team" value="solo"> Alone</label>
      <label><input type="radio" name="team" value="team"> In a team</label>
    </fieldset>
    <label data-field="team_size">Team size <input type="number" name="team_size"></label>
  </fieldset>
  <button type="submit">Send</button>
</form>`;

const MARKUP_FORM = `
<form id="lead" action="/collect" method="post">
  <label data-field="name">Name <input name="name"></label>
  <button type="submit">Send</button>
</form>
<p>Stage: <output data-leadscore-output="stage"></output></p>`;

const SINGLE_FORM = `
<form id="lead" action="/collect" method="post">
  <label data-field="email">Work email <input type="email" name="email"></label>
  <label data-field="employees">Company size <input type="number" name="employees"></label>
  <label data-field="budget">Budget <input type="number" name="budget"></label>
  <button type="submit">Send</button>
</form>`;

const BACKGROUND_FORM = `
<form id="lead" action="/collect" method="post">
  <fieldset data-step="about"><label data-field="email">Work email <input type="email" name="email"></label></fieldset>
  <input type="hidden" name="source" data-leadscore-param="utm_source">
  <input type="hidden" name="campaign" data-leadscore-param="utm_campaign">
  <button type="submit">Send</button>
</form>`;

const ATTRIBUTION_FORM = `
<form id="lead" action="/collect" method="post" data-leadscore-attribution>
  <fieldset data-step="about"><label data-field="email">Work email <input type="email" name="email"></label></fieldset>
  <button type="submit">Send</button>
</form>`;

const BOOKING_FORM = `
<form id="lead" action="/collect" method="post">
  <fieldset data-step="about">
    <label data-field="email">Work email <input type="email" name="email"></label>
    <label data-field="first_name">First name <input name="first_name"></label>
    <label data-field="role">Role <select name="role"><option value=""></option><option value="student">Student</option><option value="buyer">Buyer</option></select></label>
  </fieldset>
  <button type="submit">Send</button>
</form>`;

/** Answers the basic model's two steps so that the lead is an SQL (50 points), up to the Send button. */
async function answerBasic(page) {
  await page.fill("[name=email]", "ann@acme.example");
  await page.click(".leadscore-next");
  await page.fill("[name=employees]", "120");
}

test("onSubmit receives the outcome and the form data with the hidden score inputs; no request; then the stage's ending", async () => {
  await run({ markup: BASIC_FORM, program: "basic.lsp", onSubmit: "hold" }, async ({ page, requests }) => {
    await answerBasic(page);
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    const [call, ...more] = await submits(page);
    assert.equal(more.length, 0, "onSubmit was called more than once");
    const o = call.outcome;
    const expected = scorers.basic.score({ email: "ann@acme.example", employees: 120 }, [], o.at);
    assert.equal(o.score, 50);
    assert.equal(o.score, expected.score, "the page and Node score the lead differently");
    assert.equal(o.stage, "sql");
    assert.deepEqual(o.groups, { fit: 50, engagement: 0 });
    assert.deepEqual([...o.fired].sort(), ["big_company", "work_email"]);
    assert.equal(o.rulesHash, scorers.basic.hash);
    assert.ok(Math.abs(o.at - Date.now()) < 60_000, `outcome.at is not now: ${o.at}`);
    // The grade has Evaluation.grade's shape.
    const evaluation = scorers.basic.evaluate({ email: "ann@acme.example", employees: 120 }, [], o.at, { complete: true, hints: false });
    assert.deepEqual(o.grade, { letter: "A" });
    assert.deepEqual(o.grade, evaluation.grade);

    const names = call.data.map(([k]) => k);
    for (const k of ["score", "stage", "rules", "hash", "at", "groups", "grade", "events"]) {
      assert.ok(names.includes(`leadscore_${k}`), `the FormData has no leadscore_${k}: ${names.join(", ")}`);
    }
    const data = Object.fromEntries(call.data);
    assert.equal(data.leadscore_score, "50");
    assert.equal(data.leadscore_stage, "sql");
    assert.deepEqual(data.leadscore_rules.split(",").sort(), ["big_company", "work_email"]);
    assert.equal(data.leadscore_hash, scorers.basic.hash);
    assert.equal(data.leadscore_at, String(o.at));
    assert.deepEqual(JSON.parse(data.leadscore_groups), { fit: 50, engagement: 0 });
    assert.equal(data.leadscore_grade, "A");
    assert.deepEqual(JSON.parse(data.leadscore_events), []);
    assert.equal(data.email, "ann@acme.example");
    assert.equal(data.employees, "120");

    // While the promise is pending, the form stays and no ending is shown.
    assert.equal(await page.$eval("form", (f) => f.hidden), false, "the form was hidden before onSubmit settled");
    assert.equal(await isHidden(page, ".leadscore-ending"), true, "the ending was shown before onSubmit settled");
    assert.equal((await formEvents(page, "sent")).length, 0);

    await page.evaluate(() => window.settle(true));
    await waitEnding(page);
    assert.equal(await page.$eval("form", (f) => f.hidden), true, "the form is still shown after sending");
    assert.equal(await page.$eval(".leadscore-ending", (e) => e.dataset.ending), "stage:sql");
    assert.equal(await text(page, ".leadscore-ending-title"), "Let's talk");
    assert.equal(await text(page, ".leadscore-ending-message"), "A specialist will call you today.");
    assert.equal(await text(page, "a.leadscore-action"), "Book a call");
    assert.equal(await page.$eval("a.leadscore-action", (a) => a.getAttribute("href")), "https://cal.example.com/book");
    assert.equal(await page.locator(".leadscore-ending .leadscore-edit").count(), 0, "a sent lead cannot edit");
    const sent = await formEvents(page, "sent");
    assert.equal(sent.length, 1, "leadscore:sent was not dispatched once");
    assert.equal(sent[0].ended, true);
    assert.equal((await submits(page)).length, 1);
    assert.deepEqual(requests, [], "the page made requests while onSubmit sends the lead");
  });
});

test("onSubmit rejecting keeps the form and its answers, shows an alert, and sending again works", async () => {
  await run({ markup: BASIC_FORM, program: "basic.lsp", onSubmit: "reject-once" }, async ({ page, requests }) => {
    await answerBasic(page);
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    await page.waitForSelector(".leadscore-failed", { timeout: 5000 }).catch(() => {
      throw new Error("no failure message after onSubmit rejected");
    });
    const alert = page.locator("[role=alert]");
    assert.equal(await alert.count(), 1, "not exactly one role=alert element");
    assert.ok(await alert.isVisible(), "the alert is not visible");
    assert.match(await alert.textContent(), /could not be sent/);
    assert.equal(await page.$eval("form", (f) => f.hidden), false, "the form was hidden after a failure");
    assert.equal(await isHidden(page, ".leadscore-ending"), true, "an ending was shown after a failure");
    assert.equal(await page.inputValue("[name=employees]"), "120");
    assert.equal(await page.inputValue("[name=email]"), "ann@acme.example");
    assert.ok(await page.isVisible("button[type=submit]"), "the Send button is gone");
    assert.equal((await outcome(page)).ended, false);
    assert.equal((await formEvents(page, "sent")).length, 0, "leadscore:sent after a failure");

    await page.click("button[type=submit]");
    await waitSubmits(page, 2);
    await waitEnding(page);
    const calls = await submits(page);
    assert.equal(calls.length, 2);
    assert.equal(calls[1].outcome.score, 50);
    assert.equal(Object.fromEntries(calls[1].data).leadscore_score, "50");
    assert.equal(await page.$eval(".leadscore-ending", (e) => e.dataset.ending), "stage:sql");
    assert.equal((await formEvents(page, "sent")).length, 1);
    assert.deepEqual(requests, []);
  });
});

test("on('step') and on('score') give the step and the score, unsubscribe stops them, score fires only on a change", async () => {
  await run({ markup: BASIC_FORM, program: "basic.lsp" }, async ({ page }) => {
    // What attach() itself announced, on the form.
    const [firstStep] = await formEvents(page, "step");
    assert.equal(firstStep.step, "about");
    assert.equal(firstStep.stepNumber, 1);
    assert.deepEqual(firstStep.steps, ["about", "company"]);
    const firstScores = await formEvents(page, "score");
    assert.equal(firstScores.length, 1);
    assert.equal(firstScores[0].score, 0);
    assert.equal(firstScores[0].stage, "lead");

    await page.evaluate(() => {
      window.seen = { step: [], score: [] };
      window.stop = {
        step: window.handle.on("step", (d) => window.seen.step.push(d)),
        score: window.handle.on("score", (d) => window.seen.score.push(d)),
      };
    });
    const seen = () => page.evaluate(() => window.seen);

    // A free-mail address gives no points: the score does not change, no event.
    await page.fill("[name=email]", "ann@gmail.com");
    // A field that no rule reads.
    await page.fill("[name=note]", "Please call after 5pm");
    assert.deepEqual((await seen()).score, [], "score fired without a change of score or stage");
    assert.equal((await formEvents(page, "score")).length, 1, "leadscore:score fired without a change");

    await page.fill("[name=email]", "ann@acme.example");
    let s = await seen();
    assert.equal(s.score.length, 1, "score did not fire once when the score changed");
    assert.equal(s.score[0].score, 10);
    assert.equal(s.score[0].stage, "lead");
    assert.equal(s.score[0].step, "about");
    assert.deepEqual(s.score[0].fired, ["work_email"]);
    assert.deepEqual(s.score[0].groups, { fit: 10, engagement: 0 });
    const same = await page.evaluate(
      () => window.formEvents.filter((e) => e.type === "score").at(-1).detail === window.seen.score.at(-1),
    );
    assert.ok(same, "the leadscore:score event does not carry the handle's detail");
    assert.deepEqual((await formEvents(page, "score")).at(-1), s.score[0]);

    await page.fill("[name=note]", "Or tomorrow morning");
    assert.equal((await seen()).score.length, 1, "typing a note fired score");

    assert.equal(await page.evaluate(() => window.handle.next()), true, "next() did not move");
    s = await seen();
    assert.equal(s.step.length, 1);
    assert.equal(s.step[0].step, "company");
    assert.equal(s.step[0].stepNumber, 2);
    assert.equal(s.score.length, 1, "moving to another step fired score");
    assert.equal(await isHidden(page, "[data-step=company]"), false);
    assert.equal(await isHidden(page, "[data-step=about]"), true);

    assert.equal(await page.evaluate(() => window.handle.back()), true, "back() did not move");
    s = await seen();
    assert.equal(s.step.length, 2);
    assert.equal(s.step[1].step, "about");
    assert.equal(s.step[1].stepNumber, 1);

    await page.evaluate(() => {
      window.stop.step();
      window.stop.score();
      window.handle.next();
    });
    await page.fill("[name=employees]", "100");
    s = await seen();
    assert.equal(s.step.length, 2, "step fired after unsubscribing");
    assert.equal(s.score.length, 1, "score fired after unsubscribing");
    // The form's events go on.
    assert.equal((await formEvents(page, "step")).at(-1).step, "company");
    const last = (await formEvents(page, "score")).at(-1);
    assert.equal(last.score, 50);
    assert.equal(last.stage, "sql");
    assert.equal(await text(page, "[data-leadscore-output=score]"), "50");
  });
});

test("cancelling leadscore:qualified sends nothing: onSubmit is not called, no native submission", async () => {
  const cancel = (page) =>
    page.evaluate(() => window.form.addEventListener("leadscore:qualified", (e) => e.preventDefault()));
  await run({ markup: BASIC_FORM, program: "basic.lsp", onSubmit: "resolve" }, async ({ page, requests }) => {
    await cancel(page);
    await answerBasic(page);
    await page.click("button[type=submit]");
    await page.waitForFunction(() => window.formEvents.some((e) => e.type === "qualified"), null, { timeout: 5000 });
    const [q] = await formEvents(page, "qualified");
    assert.equal(q.score, 50);
    assert.equal(q.stage, "sql");
    await page.evaluate(() => new Promise((ok) => setTimeout(ok, 200)));
    assert.deepEqual(await submits(page), [], "onSubmit was called although leadscore:qualified was cancelled");
    assert.equal((await formEvents(page, "sent")).length, 0);
    assert.equal(await page.$eval("form", (f) => f.hidden), false);
    assert.equal(await isHidden(page, ".leadscore-ending"), true);
    // The page sends it itself: the score inputs are there.
    assert.equal(await page.inputValue("input[type=hidden][name=leadscore_score]"), "50");
    assert.deepEqual(requests, []);
  });

  // The default, native submission: cancelled, no request; not cancelled, the form is posted.
  for (const cancelled of [true, false]) {
    await run({ markup: BASIC_FORM, program: "basic.lsp" }, async ({ page, requests }) => {
      const posted = [];
      await page.route("**/collect", (route) => {
        posted.push(route.request().postData());
        return route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>ok</title>" });
      });
      if (cancelled) await cancel(page);
      await answerBasic(page);
      await page.click("button[type=submit]");
      if (cancelled) {
        await page.evaluate(() => new Promise((ok) => setTimeout(ok, 300)));
        assert.deepEqual(requests, [], "the form was submitted although leadscore:qualified was cancelled");
        assert.equal((await formEvents(page, "qualified")).length, 1);
      } else {
        await page.waitForURL("**/collect", { timeout: 5000 });
        assert.equal(posted.length, 1, "the form was not posted once");
        const body = new URLSearchParams(posted[0]);
        assert.equal(body.get("leadscore_score"), "50");
        assert.equal(body.get("leadscore_stage"), "sql");
        assert.equal(body.get("employees"), "120");
      }
    });
  }
});

test("earlyFinish sends once the outcome is decided, skips steps that cannot change it, and is off by default", async () => {
  const stepsShown = async (page) => (await formEvents(page, "step")).map((d) => d.step);

  // Free plan: nothing after s1 can change the outcome.
  await run(
    { markup: EARLY_FORM, program: "early.lsp", onSubmit: "resolve", options: { earlyFinish: true } },
    async ({ page }) => {
      await page.check("[name=plan][value=free]");
      await page.click(".leadscore-next");
      await waitSubmits(page, 1);
      // The nickname is required, but its step was skipped: not asked, so not demanded.
      assert.deepEqual(await stepsShown(page), ["s1"], "later steps were shown");
      const [call] = await submits(page);
      assert.equal(call.outcome.stage, "lead");
      assert.equal(call.outcome.score, 0);
      assert.equal(Object.fromEntries(call.data).plan, "free");
      await waitEnding(page);
      // This model has no endings: the built-in thanks.
      assert.equal(await page.textContent(".leadscore-ending-title"), "Thank you: your request has been sent.");
    },
  );

  // The same answers without earlyFinish: every step.
  await run({ markup: EARLY_FORM, program: "early.lsp", onSubmit: "resolve" }, async ({ page }) => {
    await page.check("[name=plan][value=free]");
    await page.click(".leadscore-next");
    assert.equal(await isHidden(page, "[data-step=s2]"), false, "s2 is not shown without earlyFinish");
    assert.deepEqual(await submits(page), []);
    await page.click(".leadscore-next");
    assert.equal(await isHidden(page, "[data-step=s2]"), false, "the required nickname is asked without earlyFinish");
    await page.fill("[name=nickname]", "Kim");
    await page.click(".leadscore-next");
    assert.equal(await isHidden(page, "[data-step=s3]"), false, "s3 is not shown without earlyFinish");
    assert.deepEqual(await submits(page), []);
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    assert.deepEqual(await stepsShown(page), ["s1", "s2", "s3"]);
  });

  // Enterprise plan: the budget can still make an SQL, the nickname cannot change anything.
  await run(
    { markup: EARLY_FORM, program: "early.lsp", onSubmit: "resolve", options: { earlyFinish: true } },
    async ({ page }) => {
      await page.check("[name=plan][value=enterprise]");
      await page.click(".leadscore-next");
      const o = await outcome(page);
      assert.equal(o.step, "s3", "the step after s1 is not s3");
      assert.equal(o.stepNumber, 3);
      assert.equal(await isHidden(page, "[data-step=s2]"), true);
      assert.equal(await isHidden(page, "[data-step=s3]"), false);
      assert.deepEqual(await submits(page), [], "sent before the budget was asked");
      await page.fill("[name=budget]", "5000");
      await page.click("button[type=submit]");
      await waitSubmits(page, 1);
      assert.deepEqual(await stepsShown(page), ["s1", "s3"]);
      const [call] = await submits(page);
      assert.equal(call.outcome.score, 80);
      assert.equal(call.outcome.stage, "sql");
    },
  );
});

test("a knockout shows its reason's ending and sends nothing; Change my answers brings the form back", async () => {
  await run({ markup: KNOCKOUT_FORM, program: "knockout.lsp", onSubmit: "resolve" }, async ({ page, requests }) => {
    await page.evaluate(() => {
      window.dq = [];
      window.handle.on("disqualified", (d) => window.dq.push(d));
    });
    await page.fill("[name=email]", "kim@uni.example");
    await page.check("[name=role][value=student]");
    await page.click(".leadscore-next");
    await waitEnding(page);

    const dq = await page.evaluate(() => window.dq);
    assert.equal(dq.length, 1, "disqualified did not fire once");
    assert.equal(dq[0].grade, null, "a model without a grade: null");
    assert.equal(dq[0].stage, "disqualified");
    assert.equal(dq[0].knockout, "student");
    assert.equal(dq[0].reason, "education");
    assert.equal(dq[0].ended, true);
    assert.equal((await formEvents(page, "disqualified")).length, 1);
    assert.equal(await page.$eval("form", (f) => f.hidden), true, "the form is shown with the knockout's ending");
    assert.equal(await page.$eval(".leadscore-ending", (e) => e.dataset.ending), "knockout:education");
    assert.equal(await text(page, ".leadscore-ending-title"), "Free for education");
    assert.equal(await text(page, ".leadscore-ending-message"), "Apply for the education licence instead.");
    assert.equal(await page.$eval("a.leadscore-action", (a) => a.getAttribute("href")), "/education");
    assert.equal(await text(page, ".leadscore-edit"), "Change my answers");
    assert.deepEqual(await submits(page), [], "onSubmit was called for a disqualified lead");
    assert.equal((await formEvents(page, "qualified")).length, 0);
    assert.equal((await formEvents(page, "sent")).length, 0);

    // Only the controller's own button reopens the form, not any element of the page with its class.
    await page.evaluate(() => {
      const b = Object.assign(document.createElement("button"), { type: "button", className: "leadscore-edit", id: "impostor" });
      b.textContent = "Edit";
      document.body.append(b);
    });
    await page.click("#impostor");
    assert.equal(await page.$eval("form", (f) => f.hidden), true, "an element with the edit button's class reopened the form");
    await page.evaluate(() => document.getElementById("impostor").remove());

    await page.click(".leadscore-edit");
    assert.equal(await page.$eval("form", (f) => f.hidden), false, "the form did not come back");
    assert.equal(await isHidden(page, ".leadscore-ending"), true, "the ending stayed");
    assert.equal(await isHidden(page, "[data-step=who]"), false);
    assert.equal(await page.inputValue("[name=email]"), "kim@uni.example", "the email was lost");
    assert.ok(await page.isChecked("[name=role][value=student]"), "the role was lost");
    assert.equal((await outcome(page)).ended, false);

    await page.check("[name=role][value=buyer]");
    await page.click(".leadscore-next");
    assert.equal((await outcome(page)).step, "org");
    await page.fill("[name=company]", "Acme");
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    await waitEnding(page);
    const [call] = await submits(page);
    assert.equal(call.outcome.stage, "mql");
    assert.equal(call.outcome.score, 20);
    assert.equal(call.outcome.knockout, null);
    assert.equal(await page.$eval(".leadscore-ending", (e) => e.dataset.ending), "stage:mql");
    assert.equal(await text(page, ".leadscore-ending-title"), "Thanks, we will be in touch");
    assert.deepEqual(requests, []);
  });
});

test("consent: events are neither counted nor stored without it, pending until given, deleted when withdrawn", async () => {
  const KEY = "leadscore:events:api-basic";
  const storage = (page) => page.evaluate(() => ({ ...window.localStorage }));

  await run({ markup: BASIC_FORM, program: "basic.lsp", options: { consent: false } }, async ({ page }) => {
    assert.equal(await page.evaluate(() => window.handle.record("pricing_view")), true);
    assert.equal((await outcome(page)).score, 0, "an event counted without consent");
    assert.deepEqual(await storage(page), {}, "localStorage was written without consent");
    assert.equal(await page.evaluate(() => window.handle.record("no_such_event")), false);
  });

  await run({ markup: BASIC_FORM, program: "basic.lsp" }, async ({ page }) => {
    await page.evaluate(() => {
      window.handle.record("pricing_view");
      window.handle.record("pricing_view");
    });
    assert.equal((await outcome(page)).score, 0, "an event counted before consent was given");
    assert.equal((await storage(page))[KEY], undefined, "events stored before consent was given");

    await page.evaluate(() => window.handle.consent(true));
    let o = await outcome(page);
    assert.equal(o.score, 10, "the events recorded before consent were not counted once it was given");
    assert.deepEqual(o.groups, { fit: 0, engagement: 10 });
    let stored = JSON.parse((await storage(page))[KEY] ?? "null");
    assert.ok(Array.isArray(stored), `no events under ${KEY}`);
    assert.deepEqual(stored.map((e) => e.type), ["pricing_view", "pricing_view"]);
    assert.ok(stored.every((e) => Math.abs(e.at - Date.now()) < 60_000), "stored times are not now");
    assert.equal((await storage(page))["leadscore:consent"], "yes");

    await page.evaluate(() => window.handle.record("pricing_view"));
    assert.equal((await outcome(page)).score, 15);
    stored = JSON.parse((await storage(page))[KEY]);
    assert.equal(stored.length, 3);
    assert.equal((await formEvents(page, "score")).at(-1).score, 15);

    await page.evaluate(() => window.handle.consent(false));
    o = await outcome(page);
    assert.equal(o.score, 0, "the events still count after consent was withdrawn");
    assert.equal((await storage(page))[KEY], undefined, "the events stay stored after consent was withdrawn");
    assert.equal((await storage(page))["leadscore:consent"], "no");
    assert.equal((await formEvents(page, "score")).at(-1).score, 0);
  });

  // Stored events count on the next visit, with the consent remembered.
  await run(null, async ({ page }) => {
    await page.evaluate(
      ([key]) => {
        localStorage.setItem("leadscore:consent", "yes");
        localStorage.setItem(key, JSON.stringify([{ type: "pricing_view", at: Date.now() - 1000 }]));
      },
      [KEY],
    );
    await page.evaluate((c) => window.start(c), { markup: BASIC_FORM, program: "basic.lsp", onSubmit: "resolve" });
    assert.equal((await outcome(page)).score, 5, "the stored event of an earlier visit is not counted");
    // The counted events go with the lead.
    await answerBasic(page);
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    const [call] = await submits(page);
    assert.equal(call.outcome.score, 55);
    const events = JSON.parse(Object.fromEntries(call.data).leadscore_events);
    assert.deepEqual(events.map((e) => e.type), ["pricing_view"]);
  });
});

test("locale and texts: Italian buttons and messages, overrides by key", async () => {
  await run(
    { markup: BASIC_FORM, program: "basic.lsp", onSubmit: "resolve", options: { locale: "it" } },
    async ({ page }) => {
      assert.equal(await text(page, ".leadscore-next"), "Avanti");
      assert.equal(await text(page, ".leadscore-back"), "Indietro");
      await page.click(".leadscore-next");
      assert.equal(await text(page, "#leadscore-error-email"), "Rispondi a questa domanda.");
      await answerBasic(page);
      assert.ok(await page.isVisible(".leadscore-back"), "Indietro is not shown on the second step");
      await page.click("button[type=submit]");
      await waitEnding(page);
      // The model's texts follow the locale too.
      assert.equal(await text(page, ".leadscore-ending-title"), "Parliamone");
      assert.equal(await text(page, "a.leadscore-action"), "Prenota una chiamata");
      assert.equal((await submits(page))[0].outcome.stageLabel, "Qualificato");
    },
  );

  await run(
    { markup: BASIC_FORM, program: "basic.lsp", options: { texts: { next: "Continue", required: "We need this." } } },
    async ({ page }) => {
      assert.equal(await text(page, ".leadscore-next"), "Continue");
      assert.equal(await text(page, ".leadscore-back"), "Back");
      await page.click(".leadscore-next");
      assert.equal(await text(page, "#leadscore-error-email"), "We need this.");
    },
  );

  await run(
    { markup: BASIC_FORM, program: "basic.lsp", options: { locale: "it", texts: { next: "Prosegui" } } },
    async ({ page }) => {
      assert.equal(await text(page, ".leadscore-next"), "Prosegui");
      assert.equal(await text(page, ".leadscore-back"), "Indietro");
    },
  );
});

test("bad input: bytes that are not a program throw; markup in the model's texts is shown as text", async () => {
  await run(null, async ({ page }) => {
    const r = await page.evaluate(() => {
      const host = document.getElementById("host");
      host.innerHTML = '<form id="f"><input name="email"><button type="submit">Send</button></form>';
      const form = host.querySelector("form");
      const tryIt = (f) => {
        try {
          f();
          return null;
        } catch (e) {
          return { isError: e instanceof Error, message: String(e && e.message) };
        }
      };
      const bytes = new Uint8Array([1, 2, 3]);
      return {
        attach: tryIt(() => window.leadscore.attach(form, bytes)),
        scorer: tryIt(() => new window.leadscore.Scorer(bytes)),
        untouched: form.outerHTML === '<form id="f"><input name="email"><button type="submit">Send</button></form>',
      };
    });
    assert.ok(r.attach, "attach() accepted three random bytes");
    assert.ok(r.attach.isError, "attach() threw something that is not an Error");
    assert.match(r.attach.message, /compiled program/);
    assert.ok(r.scorer?.isError, "new Scorer() accepted three random bytes");
    assert.match(r.scorer.message, /compiled program/);
    assert.ok(r.untouched, "a failed attach() changed the form");
  });

  await run({ markup: MARKUP_FORM, program: "markup.lsp", onSubmit: "resolve" }, async ({ page }) => {
    assert.equal(await text(page, "[data-leadscore-output=stage]"), "<b>Lead</b>");
    assert.equal(await page.locator("output b").count(), 0, "the stage label was parsed as HTML");
    await page.fill("[name=name]", "Robin");
    await page.click("button[type=submit]");
    await waitEnding(page);
    await page.evaluate(() => new Promise((ok) => setTimeout(ok, 200)));
    const e = await page.$eval(".leadscore-ending", (el) => ({
      html: el.innerHTML,
      title: el.querySelector(".leadscore-ending-title")?.textContent,
      message: el.querySelector(".leadscore-ending-message")?.textContent,
      elements: [...el.querySelectorAll("img, script")].length,
      images: document.images.length,
      pwned: window.pwned ?? null,
    }));
    assert.equal(e.title, `<img src=x onerror="window.pwned = 'title'">`);
    assert.equal(e.message, `<script>window.pwned = 'script'</script><img src=x onerror="window.pwned = 'message'">`);
    assert.equal(e.elements, 0, "the ending's texts created elements");
    assert.equal(e.images, 0);
    assert.ok(e.html.includes("&lt;img"), `the ending's markup is not escaped: ${e.html}`);
    assert.equal(e.pwned, null, "script from the model ran");
  });
});

test("detach() shows every step and field again, removes the controller's elements and listeners", async () => {
  await run({ markup: CONDITIONS_FORM, program: "conditions.lsp", scorer: true }, async ({ page }) => {
    // Attached through Scorer.attach(): driving the form.
    assert.equal(await isHidden(page, "[data-step=s2]"), true);
    assert.equal(await page.isDisabled("[name=team_size]"), true);
    assert.equal(await page.locator(".leadscore-next").count(), 1);
    assert.equal(await isHidden(page, "button[type=submit]"), true);
    await page.evaluate(() => {
      window.seen = [];
      for (const t of ["step", "score"]) window.handle.on(t, (d) => window.seen.push(t));
    });
    const before = await page.evaluate(() => window.formEvents.length);

    await page.evaluate(() => window.handle.detach());
    assert.equal(await isHidden(page, "[data-step=s1]"), false);
    assert.equal(await isHidden(page, "[data-step=s2]"), false, "a step stayed hidden");
    assert.equal(await page.isDisabled("[name=team_size]"), false, "a field stayed disabled");
    assert.equal(await isHidden(page, "button[type=submit]"), false, "the Send button stayed hidden");
    const added = [".leadscore-next", ".leadscore-back", ".leadscore-nav", ".leadscore-live", ".leadscore-ending"];
    for (const sel of added) {
      assert.equal(await page.locator(sel).count(), 0, `${sel} is still in the page`);
    }
    const form = await page.$eval("form", (f) => ({
      noValidate: f.noValidate,
      active: f.classList.contains("leadscore-active"),
    }));
    assert.deepEqual(form, { noValidate: false, active: false });
    assert.equal(await page.evaluate(() => window.handle.outcome()), null);
    assert.equal(await page.evaluate(() => window.handle.next()), false);

    // Answers that would change the score and the path: nobody listens any more.
    await page.check("[name=contact][value=email]");
    await page.check("[name=team][value=team]");
    await page.fill("[name=team_size]", "40");
    assert.deepEqual(await page.evaluate(() => window.seen), [], "the handle's listeners still fire");
    assert.equal(await page.evaluate(() => window.formEvents.length), before, "leadscore:* events after detach");
    assert.equal(await page.isDisabled("[name=team_size]"), false);
  });
});

test("a conditional required blocks Next only while it holds; a field off by enabled_if is disabled, not sent, not counted", async () => {
  await run({ markup: CONDITIONS_FORM, program: "conditions.lsp", onSubmit: "resolve" }, async ({ page }) => {
    const phone = () =>
      page.$eval("[name=phone]", (i) => ({
        required: i.required,
        invalid: i.getAttribute("aria-invalid"),
        describedBy: i.getAttribute("aria-describedby"),
      }));
    const errorShown = () =>
      page.evaluate(() => {
        const e = document.querySelector("[data-field=phone] .leadscore-error");
        return e && !e.hidden ? e.textContent : null;
      });

    // By email: the phone is optional.
    await page.check("[name=contact][value=email]");
    assert.equal((await phone()).required, false);
    await page.click(".leadscore-next");
    assert.equal((await outcome(page)).step, "s2", "Next was blocked although the phone is not required");
    assert.equal(await errorShown(), null);

    // By phone: required, Next stays.
    await page.click(".leadscore-back");
    await page.check("[name=contact][value=phone]");
    assert.equal((await phone()).required, true, "the phone is not required when contact is phone");
    await page.click(".leadscore-next");
    assert.equal((await outcome(page)).step, "s1", "Next moved on without the required phone");
    assert.equal(await errorShown(), "Please answer this question.");
    let p = await phone();
    assert.equal(p.invalid, "true");
    assert.ok(p.describedBy?.split(" ").includes("leadscore-error-phone"), `aria-describedby: ${p.describedBy}`);

    await page.fill("[name=phone]", "+39 02 1234 5678");
    assert.equal(await errorShown(), null, "the error stayed once the phone was given");
    p = await phone();
    assert.equal(p.invalid, null);
    await page.click(".leadscore-next");
    assert.equal((await outcome(page)).step, "s2");

    // team_size counts only while enabled.
    assert.equal(await page.isDisabled("[name=team_size]"), true, "team_size is enabled before team is answered");
    await page.check("[name=team][value=team]");
    assert.equal(await page.isDisabled("[name=team_size]"), false);
    await page.fill("[name=team_size]", "25");
    assert.equal((await outcome(page)).score, 20);
    await page.check("[name=team][value=solo]");
    assert.equal(await page.isDisabled("[name=team_size]"), true, "team_size is enabled for a solo worker");
    assert.equal(await page.inputValue("[name=team_size]"), "25", "the disabled field lost its value");
    const o = await outcome(page);
    assert.equal(o.score, 0, "a disabled field still counts");
    assert.deepEqual(o.fired, []);

    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    const [call] = await submits(page);
    const names = call.data.map(([k]) => k);
    assert.ok(!names.includes("team_size"), `the disabled field was sent: ${JSON.stringify(call.data)}`);
    const data = Object.fromEntries(call.data);
    assert.equal(data.contact, "phone");
    assert.equal(data.phone, "+39 02 1234 5678");
    assert.equal(data.team, "solo");
    assert.equal(data.leadscore_score, "0");
    assert.equal(call.outcome.score, 0);
    assert.equal(call.outcome.stage, "lead");
  });
});

test("fieldPrefix names the hidden inputs; persist keeps the answers and the step across a reload unless false", async () => {
  await run(
    { markup: BASIC_FORM, program: "basic.lsp", onSubmit: "resolve", options: { fieldPrefix: "lead_" } },
    async ({ page }) => {
      await answerBasic(page);
      await page.click("button[type=submit]");
      await waitSubmits(page, 1);
      const [call] = await submits(page);
      const names = call.data.map(([k]) => k);
      for (const k of ["score", "stage", "rules", "hash", "at", "groups", "grade", "events"]) {
        assert.ok(names.includes(`lead_${k}`), `no lead_${k} in ${names.join(", ")}`);
      }
      assert.deepEqual(names.filter((n) => n.startsWith("leadscore_")), [], "the default prefix was used");
      assert.equal(Object.fromEntries(call.data).lead_score, "50");
    },
  );

  for (const persist of [true, false]) {
    const config = { markup: BASIC_FORM, program: "basic.lsp", options: persist ? {} : { persist: false } };
    await run(config, async ({ page }) => {
      await page.fill("[name=email]", "ann@acme.example");
      await page.fill("[name=note]", "Mornings are best");
      await page.click(".leadscore-next");
      await page.reload();
      await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
      await page.evaluate((c) => window.start(c), config);
      const o = await outcome(page);
      if (persist) {
        assert.equal(await page.inputValue("[name=email]"), "ann@acme.example", "the email was not kept");
        assert.equal(await page.inputValue("[name=note]"), "Mornings are best");
        assert.equal(o.step, "company", "the step was not kept");
        assert.equal(o.score, 10);
      } else {
        assert.equal(await page.inputValue("[name=email]"), "", "persist: false kept the email");
        assert.equal(o.step, "about");
        assert.equal(o.score, 0);
        assert.equal(await page.evaluate(() => sessionStorage.length), 0, "persist: false wrote sessionStorage");
      }
    });
  }
});

test("background values from the URL never block the lead: a text too long is cut, a refused value dropped, both sent as issues", async () => {
  const config = { markup: BACKGROUND_FORM, program: "background.lsp", onSubmit: "resolve", query: "?utm_source=tv&utm_campaign=spring2027-🙂🙂" };
  await run(config, async ({ page }) => {
    assert.equal(await page.inputValue("[name=campaign]"), "spring2027", "cut to 10 characters");
    await page.fill("[name=email]", "ann@acme.example");
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    const [call] = await submits(page);
    const data = Object.fromEntries(call.data);
    assert.equal(call.outcome.stage, "sql");
    assert.equal(call.outcome.score, 55, "the cut campaign counts; the refused source does not");
    assert.equal(data.source, "", "the refused value is not sent");
    assert.equal(data.campaign, "spring2027");
    const issues = JSON.parse(data.leadscore_issues);
    assert.deepEqual(issues.map((i) => [i.field, i.code]), [["campaign", "truncated"], ["source", "option"]]);
    assert.match(issues[0].message, /at most 10 characters; the URL gave 13/);
    assert.equal(await page.$$eval(".leadscore-error:not([hidden])", (e) => e.length), 0, "no error shown");
  });
  // Without a problem, the issues are an empty list.
  await run({ ...config, query: "?utm_source=partner" }, async ({ page }) => {
    await page.fill("[name=email]", "ann@acme.example");
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    const data = Object.fromEntries((await submits(page))[0].data);
    assert.equal(data.source, "partner");
    assert.equal(data.leadscore_issues, "[]");
  });
});

test("handle.set fills background fields the page knows, checked as a typed answer; a field the visitor answers is refused", async () => {
  // `campaign` has a hidden input in the page; `source` too, but is set here without the URL.
  await run({ markup: BACKGROUND_FORM, program: "background.lsp", onSubmit: "resolve" }, async ({ page }) => {
    const results = await page.evaluate(() => {
      const h = window.handle;
      const out = { partner: h.set("source", "partner"), campaign: h.set("campaign", "spring2027") };
      out.refused = h.set("source", "tv");
      out.again = h.set("source", "partner");
      for (const [name, call] of [
        ["email", () => h.set("email", "a@b.example")],
        ["unknown", () => h.set("nope", "x")],
        ["type", () => h.set("source", { x: 1 })],
      ]) {
        try {
          call();
          out[name] = "no error";
        } catch (e) {
          out[name] = `${e.name}: ${e.message}`;
        }
      }
      return out;
    });
    assert.equal(results.partner, undefined);
    assert.equal(results.campaign, undefined);
    assert.equal(results.refused.code, "option", JSON.stringify(results.refused));
    assert.equal(results.refused.field, "source");
    assert.equal(results.again, undefined);
    assert.match(results.email, /^Error: leadscore: set: `email` is answered in the form/);
    assert.match(results.unknown, /^Error: leadscore: set: `nope` is not a field/);
    assert.match(results.type, /^TypeError: leadscore: `value` must be/);
    assert.equal((await outcome(page)).score, 15, "partner and spring2027 count before the email is typed");
    await page.fill("[name=email]", "ann@acme.example");
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    const [call] = await submits(page);
    const data = Object.fromEntries(call.data);
    assert.equal(call.outcome.score, 65);
    assert.equal(data.source, "partner");
    assert.equal(data.campaign, "spring2027");
  });
});

test("attribution: first and last touch kept across pages in localStorage, written into the fields of their names and sent", async () => {
  const config = { markup: ATTRIBUTION_FORM, program: "attribution.lsp", onSubmit: "resolve" };
  const KEY = "leadscore:attribution";
  // Opens `query` as a new page of the visit (from `referer`, if given) and attaches again.
  const open = async (page, query, referer) => {
    await page.goto(`${site.url}/api.html${query}`, referer ? { referer } : {});
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
    await page.evaluate((c) => window.start(c), config);
  };
  // The form's values by name, as it would send them.
  const answers = (page) => page.evaluate(() => Object.fromEntries(new FormData(window.form)));
  await run({ ...config, query: "?utm_source=partner&utm_medium=email&utm_campaign=spring-2027-launch&gclid=G-1#pricing" }, async ({ page }) => {
    const landing = `${site.url}/api.html?utm_source=partner&utm_medium=email&utm_campaign=spring-2027-launch&gclid=G-1`;
    let a = await answers(page);
    assert.equal(a.utm_source, "partner");
    assert.equal(a.utm_medium, "email");
    assert.equal(a.utm_campaign, "spring-202", "cut to the field's 10 characters");
    assert.equal(a.gclid, "G-1");
    assert.equal(a.landing_page, landing, "the landing page, without its fragment");
    assert.equal(a.referrer, "", "a page typed in has no referrer");
    assert.equal(a.first_utm_source, "partner");
    assert.equal(a.first_landing_page, landing);
    assert.equal((await outcome(page)).score, 10, "a rule reads the first touch");
    const kept = JSON.parse(await page.evaluate((k) => localStorage.getItem(k), KEY));
    assert.equal(kept.length, 2, "first and last touch kept (the page asks no consent)");
    assert.equal(kept[0][0], "partner");

    // Another page of the site, from a link of the site: the same touches.
    await open(page, "", `${site.url}/pricing.html`);
    a = await answers(page);
    assert.equal(a.utm_source, "partner", "the last touch was lost on a page of the site");
    assert.equal(a.gclid, "G-1");
    assert.equal(a.landing_page, landing);

    // A new campaign: a new last touch (all of it: no medium now); the first stays.
    await open(page, "?utm_source=ads&msclkid=M-2");
    a = await answers(page);
    assert.equal(a.utm_source, "ads");
    assert.equal(a.msclkid, "M-2");
    assert.equal(a.utm_medium, "", "a value of the earlier touch was mixed into the new one");
    assert.equal(a.gclid, "");
    assert.equal(a.first_utm_source, "partner");
    assert.equal(a.first_landing_page, landing);

    // Another site's page is a new touch too, with its referrer.
    await open(page, "", "https://search.example/results?q=analytics");
    a = await answers(page);
    assert.match(a.referrer, /^https:\/\/search\.example\//);
    assert.equal(a.utm_source, "");
    assert.equal(a.landing_page, `${site.url}/api.html`);
    assert.equal(a.first_referrer, "");
    assert.equal(a.first_utm_source, "partner");

    // Sent with the lead, and by name in the form data.
    await page.fill("[name=email]", "ann@acme.example");
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    const data = Object.fromEntries((await submits(page))[0].data);
    assert.equal(data.first_utm_source, "partner");
    assert.equal(data.first_landing_page, landing);
    assert.match(data.referrer, /^https:\/\/search\.example\//);
    assert.equal(data.leadscore_score, "60");
  });
});

test("attribution with a consent banner: the visit's values are sent, but kept only once the visitor agrees, and deleted when they refuse", async () => {
  const banner = `<div data-leadscore-consent hidden><button data-leadscore-consent="yes">Yes</button><button data-leadscore-consent="no">No</button></div>`;
  const config = { markup: ATTRIBUTION_FORM + banner, program: "attribution.lsp", onSubmit: "resolve", query: "?utm_source=partner" };
  const kept = (page) => page.evaluate(() => localStorage.getItem("leadscore:attribution"));
  await run(config, async ({ page }) => {
    assert.equal((await page.evaluate(() => Object.fromEntries(new FormData(window.form)))).utm_source, "partner");
    assert.equal(await kept(page), null, "kept before the visitor agreed");
    await page.click("[data-leadscore-consent=yes]");
    assert.equal(JSON.parse(await kept(page))[0][0], "partner", "not kept once the visitor agreed");
    // The banner is gone once answered: the page's own settings withdraw consent through the handle.
    await page.evaluate(() => window.handle.consent(false));
    assert.equal(await kept(page), null, "still kept after the visitor refused");
  });
  // Without the attribute, nothing is read or kept.
  await run({ ...config, markup: ATTRIBUTION_FORM.replace(" data-leadscore-attribution", "") }, async ({ page }) => {
    assert.equal((await page.evaluate(() => Object.fromEntries(new FormData(window.form)))).utm_source, undefined);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
  });
});

test("booking: the ending's link takes the answers, URL-encoded; onEnding, on('ending') and leadscore:ending get it for an inline embed", async () => {
  const config = { markup: BOOKING_FORM, program: "booking.lsp", onSubmit: "resolve", onEnding: true };
  const url = "https://cal.example.com/team/demo?email=ann%2Bdemo%40acme.example&name=Ann%20%26%20Bo%2F%23";
  await run(config, async ({ page }) => {
    await page.evaluate(() => {
      window.onEndingEvents = [];
      window.handle.on("ending", (o) => window.onEndingEvents.push(o.ending.key));
    });
    await page.fill("[name=email]", "ann+demo@acme.example");
    await page.fill("[name=first_name]", "Ann & Bo/#");
    await page.selectOption("[name=role]", "buyer");
    assert.equal((await outcome(page)).ending, null, "an ending before the form ended");
    await page.click("button[type=submit]");
    await page.waitForSelector(".leadscore-action");
    assert.equal(await page.getAttribute(".leadscore-action", "href"), url);
    assert.equal(await text(page, ".leadscore-action"), "Pick a time");
    const endings = await page.evaluate(() => window.endings);
    assert.equal(endings.length, 1, "onEnding was not called once");
    assert.deepEqual(endings[0].ending, { key: "stage:sql", title: "Book your demo", message: null, action: { label: "Pick a time", url } });
    assert.equal(endings[0].stage, "sql");
    assert.deepEqual(await page.evaluate(() => window.onEndingEvents), ["stage:sql"]);
    const events = await formEvents(page, "ending");
    assert.equal(events.length, 1);
    assert.equal(events[0].ending.action.url, url);
    assert.equal((await outcome(page)).ending.key, "stage:sql");
  });
  // A knockout's ending: the same, with a link on the page's own site; back to the form, no ending.
  await run(config, async ({ page }) => {
    await page.fill("[name=email]", "sam@uni.example");
    await page.fill("[name=first_name]", "Sam");
    await page.selectOption("[name=role]", "student");
    await page.click("button[type=submit]");
    await page.waitForSelector(".leadscore-action");
    assert.equal(await page.getAttribute(".leadscore-action", "href"), "/students?who=Sam");
    const endings = await page.evaluate(() => window.endings);
    assert.deepEqual(endings.map((o) => [o.stage, o.ending.key, o.ending.action.url]), [["disqualified", "knockout:student", "/students?who=Sam"]]);
    await page.click(".leadscore-edit");
    assert.equal((await outcome(page)).ending, null, "the ending stayed after Change my answers");
  });
});

test("analytics: with a data layer, GA4-style events with an event_id go to it, never an answer", async () => {
  const layer = (page, name = "dataLayer") => page.evaluate((n) => JSON.parse(JSON.stringify(window[n] ?? null)), name);
  const config = { markup: BASIC_FORM, program: "basic.lsp", onSubmit: "resolve", options: { dataLayer: true, currency: "EUR" } };
  await run(config, async ({ page }) => {
    await page.fill("[name=note]", "Call me, Ann Smith, on +39 333 1234567");
    await answerBasic(page);
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    await waitEnding(page);
    const pushed = await layer(page);
    const [call] = await submits(page);
    const key = Object.fromEntries(call.data).leadscore_key;
    assert.deepEqual(
      pushed.map((e) => e.event),
      ["leadscore_step", "leadscore_step", "generate_lead", "leadscore_sent"],
    );
    assert.deepEqual(pushed[0], { event: "leadscore_step", event_id: `${key}:step:about`, step: "about", step_number: 1, leadscore_form: "api-basic" });
    assert.deepEqual(pushed[1], { event: "leadscore_step", event_id: `${key}:step:company`, step: "company", step_number: 2, leadscore_form: "api-basic" });
    assert.deepEqual(pushed[2], { event: "generate_lead", event_id: `${key}:lead`, value: 50, currency: "EUR", stage: "sql", leadscore_form: "api-basic" });
    assert.deepEqual(pushed[3], { event: "leadscore_sent", event_id: `${key}:sent`, stage: "sql", leadscore_form: "api-basic" });
    const text = JSON.stringify(pushed);
    for (const answer of ["ann@acme.example", "acme", "Ann Smith", "333", "120"]) {
      assert.ok(!text.includes(answer), `an answer was pushed: ${answer} in ${text}`);
    }
  });
  // The attribute, a layer of another name that a tag manager already set up, and a knockout.
  const markup = KNOCKOUT_FORM.replace('<form id="lead"', '<form id="lead" data-leadscore-datalayer="tags"');
  await run({ markup, program: "knockout.lsp", onSubmit: "resolve" }, async ({ page }) => {
    await page.fill("[name=email]", "kim@uni.example");
    await page.check("[name=role][value=student]");
    await page.click(".leadscore-next");
    await waitEnding(page);
    const pushed = await layer(page, "tags");
    assert.deepEqual(pushed.map((e) => [e.event, e.reason ?? e.step]), [["leadscore_step", "who"], ["leadscore_disqualified", "student"]]);
    assert.equal(await layer(page), null, "window.dataLayer was created although another layer was named");
  });
  // Without the option, nothing is pushed.
  await run({ markup: BASIC_FORM, program: "basic.lsp", onSubmit: "resolve" }, async ({ page }) => {
    await answerBasic(page);
    assert.equal(await layer(page), null);
  });
});

test("an event recorded while consent is unknown is not lost silently: the console says so, once", async () => {
  await run({ markup: BASIC_FORM, program: "basic.lsp" }, async ({ page }) => {
    const warnings = [];
    page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
    await page.evaluate(() => {
      window.handle.record("pricing_view");
      window.handle.record("pricing_view");
    });
    await page.evaluate(() => new Promise((ok) => setTimeout(ok, 50)));
    const about = warnings.filter((w) => w.includes("wait for the visitor's consent"));
    assert.equal(about.length, 1, warnings.join("\n"));
    assert.match(about[0], /data-leadscore-consent/);
    assert.equal((await outcome(page)).score, 0, "counted without consent");
  });
});

test("markup mistakes that would fail silently are console warnings naming the element", async () => {
  const warnings = async (markup, program) => {
    let out = [];
    // The markup is wrong on purpose (a control outside its label, for one): axe-core would say so too.
    await run({ markup, program, axe: false }, async ({ page }) => {
      out = await page.evaluate(() => window.warnings ?? []);
    });
    return out;
  };
  // A step the model lacks, a field of a step without a control, a control outside its field's wrapper.
  const basic = `
<form id="lead" action="/collect" method="post">
  <fieldset data-step="about">
    <label data-field="email">Work email <input type="email" name="email"></label>
    <label data-field="note">Anything else?</label> <textarea name="note"></textarea>
  </fieldset>
  <fieldset data-step="extra"><p>More</p></fieldset>
  <button type="submit">Send</button>
</form>`;
  const got = await warnings(basic, "basic.lsp");
  const has = (re, element) => got.some((w) => re.test(w.message) && w.element === element);
  assert.ok(has(/the model has no step `extra`/, "FIELDSET"), JSON.stringify(got));
  assert.ok(has(/no control is named `employees`/, "FORM"), JSON.stringify(got));
  assert.ok(has(/a control of `note` is outside its \[data-field\] element/, "TEXTAREA"), JSON.stringify(got));
  // An option the model does not have.
  const wrong = KNOCKOUT_FORM.replace('value="student"', 'value="teacher"');
  const options = await warnings(wrong, "knockout.lsp");
  assert.ok(options.some((w) => /`teacher` is not an option of `role`/.test(w.message) && w.element === "INPUT"), JSON.stringify(options));
  // The fixtures' own forms are clean.
  assert.deepEqual((await warnings(BASIC_FORM, "basic.lsp")).map((w) => w.message), []);
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("the idempotency key and the start time: the same across a reload and a retry, a new key once sent", async () => {
  const config = { markup: BASIC_FORM, program: "basic.lsp", onSubmit: "reject-once" };
  const reload = async (page) => {
    await page.reload();
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
    await page.evaluate((c) => window.start(c), config);
  };
  const began = Date.now();
  await run(config, async ({ page }) => {
    await page.fill("[name=email]", "ann@acme.example");
    await page.click(".leadscore-next");
    const saved = await page.evaluate(() => JSON.parse(sessionStorage.getItem(sessionStorage.key(0))));
    assert.match(saved.key, UUID);
    assert.ok(saved.started >= began && saved.started <= Date.now(), `started ${saved.started}`);
    // A reload, then Send: refused by the server (offline), sent again.
    await reload(page);
    await page.fill("[name=employees]", "120");
    await page.click("button[type=submit]");
    await page.waitForSelector(".leadscore-failed");
    await page.click("button[type=submit]");
    await waitSubmits(page, 2);
    await waitEnding(page);
    const sent = (await submits(page)).map((c) => Object.fromEntries(c.data));
    assert.deepEqual(sent.map((d) => [d.leadscore_key, d.leadscore_started]), [
      [saved.key, String(saved.started)],
      [saved.key, String(saved.started)],
    ]);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "nothing kept once sent");
    // The next lead from the same tab has a key of its own.
    await reload(page);
    await answerBasic(page);
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    const next = Object.fromEntries((await submits(page))[0].data);
    assert.match(next.leadscore_key, UUID);
    assert.notEqual(next.leadscore_key, saved.key);
    assert.ok(Number(next.leadscore_started) >= saved.started);
  });
});

test("an event token in the page is recorded once, at its own time, only with consent, and sent with its token", async () => {
  const at = Date.now() - 3_600_000;
  const token = `v1.pricing_view.${at}.n0nce.c2lnbmF0dXJl`;
  const later = `v1.pricing_view.${at + 1000}.other.c2ln`;
  const markup = `${BASIC_FORM}<p data-leadscore-event-token="${token}">Thank you for joining the webinar</p>`;
  const config = { markup, program: "basic.lsp", onSubmit: "resolve", options: { consent: true } };
  await run(config, async ({ page }) => {
    assert.equal((await outcome(page)).score, 5);
    const stored = () => page.evaluate(() => JSON.parse(localStorage.getItem("leadscore:events:api-basic")));
    assert.deepEqual(await stored(), [{ type: "pricing_view", at, token }]);
    await page.reload();
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
    await page.evaluate((c) => window.start(c), config);
    assert.equal((await outcome(page)).score, 5, "the same token counted twice after a reload");
    assert.equal((await stored()).length, 1);
    const recorded = await page.evaluate(
      ([t, at, later]) => [
        window.handle.record("pricing_view", t),
        window.handle.record("pricing_view", `v1.webinar_attended.${at}.n.s`),
        window.handle.record("pricing_view", "not-a-token"),
        window.handle.record("pricing_view", later),
      ],
      [token, at, later],
    );
    assert.deepEqual(recorded, [true, false, false, true]);
    assert.equal((await outcome(page)).score, 10);
    await answerBasic(page);
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    const events = JSON.parse(Object.fromEntries((await submits(page))[0].data).leadscore_events);
    assert.deepEqual(events, [
      { type: "pricing_view", at: at + 1000, token: later },
      { type: "pricing_view", at, token },
    ]);
  });
  await run({ ...config, options: { consent: false } }, async ({ page }) => {
    assert.equal((await outcome(page)).score, 0, "counted without consent");
    assert.equal(await page.evaluate(() => localStorage.getItem("leadscore:events:api-basic")), null);
  });
});

// Bugs found while writing these tests, fixed since.

test(
  "an unsubscribe function stops only the listener it was returned for",
  async () => {
    await run({ markup: BASIC_FORM, program: "basic.lsp" }, async ({ page }) => {
      const got = await page.evaluate(() => {
        const got = [];
        const log = (d) => got.push(d.score);
        const offStep = window.handle.on("step", log);
        window.handle.on("score", log);
        offStep();
        const email = window.form.querySelector("[name=email]");
        email.value = "ann@acme.example";
        email.dispatchEvent(new Event("input", { bubbles: true }));
        return got;
      });
      assert.deepEqual(got, [10], "stopping the step listener also stopped the score listener of the same function");
    });
  },
);

test(
  "calling an unsubscribe function twice is harmless",
  async () => {
    await run({ markup: BASIC_FORM, program: "basic.lsp" }, async ({ page }) => {
      const r = await page.evaluate(() => {
        const off = window.handle.on("step", () => {});
        off();
        try {
          off();
          return "ok";
        } catch (e) {
          return `threw: ${e.message}`;
        }
      });
      assert.equal(r, "ok");
    });
  },
);

test(
  "detach() gives the controls back as the page wrote them",
  async () => {
    await run({ markup: CONDITIONS_FORM, program: "conditions.lsp" }, async ({ page }) => {
      await page.check("[name=contact][value=phone]");
      await page.click(".leadscore-next"); // blocked: the phone is required, an error is shown
      await page.evaluate(() => window.handle.detach());
      await page.check("[name=contact][value=email]");
      const left = await page.evaluate(() =>
        [...window.form.querySelectorAll("input")]
          .flatMap((i) =>
            ["required", "aria-required", "aria-invalid", "aria-describedby"]
              .filter((a) => i.hasAttribute(a))
              .map((a) => `${i.name}[${a}=${i.getAttribute(a)}]`),
          )
          .concat([...window.form.querySelectorAll(".leadscore-invalid, .leadscore-locked")].map((e) => e.className)),
      );
      assert.deepEqual(left, [], "attributes and classes of the controller are left on the plain form");
      // The plain form can be sent again: nothing the page asked for is missing.
      assert.equal(await page.evaluate(() => window.form.checkValidity()), true, "the plain form is invalid");
    });
  },
);

test("a model without steps checks every field on Send: required, the browser's own checks, conditional required", async () => {
  await run({ markup: SINGLE_FORM, program: "single.lsp", onSubmit: "resolve" }, async ({ page }) => {
    const errors = () =>
      page.$$eval(".leadscore-error:not([hidden])", (es) => es.map((e) => e.textContent.trim()).filter(Boolean));
    await page.click("button[type=submit]");
    await page.evaluate(() => new Promise((ok) => setTimeout(ok, 100)));
    assert.deepEqual(await submits(page), [], "an empty required email was sent");
    assert.equal((await errors()).length, 1, "the missing email has no message");
    assert.equal(await page.evaluate(() => document.activeElement?.name), "email", "focus is not on the bad field");

    await page.fill("[name=email]", "not an address");
    await page.click("button[type=submit]");
    await page.evaluate(() => new Promise((ok) => setTimeout(ok, 100)));
    assert.deepEqual(await submits(page), [], "a malformed email was sent");
    assert.equal((await errors()).length, 1);

    // A big company makes the budget required.
    await page.fill("[name=email]", "ann@acme.example");
    await page.fill("[name=employees]", "120");
    await page.click("button[type=submit]");
    await page.evaluate(() => new Promise((ok) => setTimeout(ok, 100)));
    assert.deepEqual(await submits(page), [], "the budget, required for a big company, was not asked for");
    assert.equal(await page.evaluate(() => document.activeElement?.name), "budget");

    await page.fill("[name=budget]", "20000");
    await page.click("button[type=submit]");
    await waitSubmits(page, 1);
    assert.deepEqual(await errors(), []);
    const [sent] = await submits(page);
    assert.equal(sent.outcome.stage, "mql");
  });
});

test("errors in the page fail the test that caused them", async () => {
  await assert.rejects(
    run(null, (s) => s.page.evaluate(() => setTimeout(() => {
      throw new Error("thrown by a listener");
    }))),
    /uncaught in the page: thrown by a listener/,
  );
  await assert.rejects(
    run(null, (s) => s.page.evaluate(() => console.error("a lead was lost"))),
    /console\.error in the page: a lead was lost/,
  );
});

test("the form handle refuses arguments of the wrong type with a TypeError naming the parameter, and keeps working", async () => {
  await run({ markup: BASIC_FORM, program: "basic.lsp", options: { consent: true } }, async ({ page }) => {
    const refused = await page.evaluate(() => {
      const h = window.handle;
      const bad = [undefined, null, 42, "x", true, {}, [], { length: 1e7 }];
      const calls = {
        type: [(v) => h.on(v, () => {}), ["string"]],
        listener: [(v) => h.on("score", v), []],
        event: [(v) => h.record(v), ["string"]],
        token: [(v) => h.record("pricing_view", v), ["string", "undefined", "null"]],
        granted: [(v) => h.consent(v), ["boolean"]],
      };
      const out = [];
      for (const [param, [call, accepts]] of Object.entries(calls)) {
        for (const v of bad) {
          const kind = v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
          try {
            call(v);
            if (!accepts.includes(kind)) out.push(`${param} took ${kind}`);
          } catch (e) {
            const ok = e instanceof TypeError && e.message.includes(`\`${param}\``);
            if (accepts.includes(kind) || !ok) out.push(`${param} with ${kind}: ${e}`);
          }
        }
      }
      return out;
    });
    assert.deepEqual(refused, []);
    // The handle still works.
    await page.evaluate(() => window.handle.consent(true));
    assert.equal(await page.evaluate(() => window.handle.record("pricing_view")), true);
    assert.equal((await outcome(page)).score > 0, true);
  });
});

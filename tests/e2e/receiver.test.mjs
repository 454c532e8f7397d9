// The demo landing page against the Rust lead receiver (`leadscore serve`), in Debian's Chromium: a visitor
// qualifies as an SQL and sends the form; sales find the lead in the inbox and mark it won; the inbox's export
// is a history that `leadscore backtest` reads, as is the receiver's database itself. Screenshots in
// target/e2e/receiver/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { browser, MINIMAL, root, serve } from "../node/support.mjs";
import { fillSqlLead } from "./lead.mjs";
import { assertAccessible, checkedScreenshot } from "./axe.mjs";
import { fillAnswers, pageOf } from "./model-page.mjs";
import { bin, receiver } from "./receiver.mjs";

const shots = join(root, "target/e2e/receiver");
let server;
let chromium;

before(async () => {
  await mkdir(shots, { recursive: true });
  server = await receiver();
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await server?.close();
});

function watch(page) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  return problems;
}

const backtest = (...args) =>
  JSON.parse(execFileSync(bin, ["backtest", join(root, "examples/b2b-saas.json"), ...args, "--format", "json"], { encoding: "utf8" }));

describe("the receiver", () => {
  test("an SQL sent from the page is in the inbox with its attribution, marked won, and exported as a history the backtest reads", async () => {
    const visitor = await chromium.newContext({ locale: "en-US" });
    const page = await visitor.newPage();
    const problems = watch(page);
    // From a campaign link (the page has data-leadscore-attribution).
    const landing = `${server.origin}/?utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch&gclid=G-42`;
    await page.goto(landing, { referer: "https://mail.example/inbox" });
    await page.waitForSelector("form.leadscore-active", { timeout: 10_000 });
    await fillSqlLead(page, (name) => checkedScreenshot(page, { path: join(shots, `visitor-${name}.png`) }));
    const response = page.waitForResponse((r) => r.url().endsWith("/submit"));
    await page.click("button[type=submit]");
    const reply = await (await response).json();
    assert.equal(reply.received, true);
    assert.equal(reply.stage, "sql", JSON.stringify(reply));
    assert.equal(reply.claim, "verified", `the receiver confirms the browser's claim: ${JSON.stringify(reply.mismatches)}`);
    assert.equal(reply.verified, true);
    await page.waitForSelector("[data-leadscore-ending='lead-form']:not([hidden])");
    assert.deepEqual(problems, []);
    await visitor.close();

    // Without credentials: 401, and no lead data.
    const anonymous = await chromium.newContext();
    const denied = await anonymous.request.get(server.origin + "/inbox");
    assert.equal(denied.status(), 401);
    assert.match(denied.headers()["www-authenticate"], /^Basic /);
    assert.doesNotMatch(await denied.text(), /ana\.rossi/);
    assert.equal((await anonymous.request.get(server.origin + "/inbox/export.csv")).status(), 401);
    await anonymous.close();

    const sales = await chromium.newContext({ httpCredentials: { username: "sales", password: "larkspur" } });
    const inbox = await sales.newPage();
    const inboxProblems = watch(inbox);
    await inbox.goto(server.origin + "/inbox?stage=sql");
    const row = inbox.locator("tr[data-lead]", { hasText: "ana.rossi@shop.example" });
    assert.equal(await row.count(), 1);
    // Who, in words: the name, the company and the role the form asked, the stage by its label.
    assert.equal(await row.locator("[data-stage]").getAttribute("data-stage"), "sql");
    assert.equal(await row.locator("[data-stage]").textContent(), "Sales Qualified Lead");
    assert.match(await row.locator("[data-who] a").textContent(), /^Ana\b/);
    assert.notEqual(await row.locator("[data-company]").textContent(), "");
    assert.equal(await row.getAttribute("data-claim"), "verified");
    assert.equal(await row.locator(".badge").count(), 0, "a verified lead carries no warning");
    // Times in the viewer's time zone, UTC in the title.
    assert.match(await row.locator("time").getAttribute("title"), / UTC$/);
    await checkedScreenshot(inbox, { path: join(shots, "inbox.png"), fullPage: true });
    // On a phone: nothing wider than the screen.
    const phone = await sales.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(server.origin + "/inbox");
    const wide = await phone.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > 391)
        .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
        .slice(0, 8),
    );
    assert.deepEqual(wide, [], "wider than a phone");
    await checkedScreenshot(phone, { path: join(shots, "inbox-phone.png"), fullPage: true });
    await phone.close();
    await Promise.all([inbox.waitForURL(/\/inbox\?/), row.getByRole("button", { name: "Won" }).click()]);
    assert.equal(await row.locator("[data-status]").getAttribute("data-status"), "won");
    assert.match(await inbox.locator("p.saved[role=status]").textContent(), /^Saved: Ana\b.* is now Won\.$/);
    await row.locator("[data-who] a").click();
    await inbox.waitForSelector("h1 >> text=Ana");
    assert.equal(await inbox.locator("dd[data-status]").getAttribute("data-status"), "won");
    assert.equal(await inbox.locator("dd[data-owner]").textContent(), "sales", "the demo's rule gives every lead to sales");
    // Why SQL: the stage's condition and the values that met it.
    assert.match(await inbox.locator("ul.why li").first().textContent(), /^Sales Qualified Lead because .*score >= 80.*, with score \d/);
    // The answers by their labels, the attribution among them.
    const answer = (label) => inbox.locator(`table.answers tr:has(th:text-is("${label}")) td`).textContent();
    assert.equal(await answer("Campaign source"), "newsletter");
    assert.equal(await answer("Campaign medium"), "email");
    assert.equal(await answer("Campaign"), "spring-launch");
    assert.equal(await answer("Google Ads click id"), "G-42");
    assert.equal(await answer("Landing page"), landing);
    assert.match(await answer("Referring page"), /^https:\/\/mail\.example\//);
    assert.equal(await answer("First campaign source"), "newsletter");
    assert.equal(await answer("Which best describes your role?"), "Vice president or head of department");
    // The verdict's details one click away, closed when nothing is wrong.
    assert.equal(await inbox.locator("details#technical").getAttribute("open"), null);
    assert.equal(await inbox.locator("details#technical [data-claim]").getAttribute("data-claim"), "verified");
    assert.ok((await inbox.locator("h2 + table tbody tr").count()) > 0, "the ledger is shown");
    await checkedScreenshot(inbox, { path: join(shots, "lead.png"), fullPage: true });
    assert.deepEqual(inboxProblems, []);

    const csv = await (await sales.request.get(server.origin + "/inbox/export.csv")).text();
    await sales.close();
    assert.match(csv.split("\n")[0], /^id,scored_at,utm_source,utm_medium,utm_campaign,gclid,referrer,landing_page,first_utm_source,email,/);
    assert.match(csv, /,newsletter,email,spring-launch,G-42,https:\/\/mail\.example\/[^,]*,/, "the attribution is in the export");
    const file = join(server.dir, "history.csv");
    await writeFile(file, csv);
    const fromFile = backtest(file);
    assert.equal(fromFile.scored, 1);
    assert.equal(fromFile.won, 1);
    assert.deepEqual(fromFile.errors, []);
    assert.equal(fromFile.stages.find((s) => s.id === "sql")?.won, 1, JSON.stringify(fromFile.stages));
    const fromDb = backtest("--db", server.db);
    assert.deepEqual(fromDb, fromFile, "backtest --db reads the same history as the export");
  });

  test("a utm_source longer than the model takes still posts the SQL, cut to fit, with the issue stored", async () => {
    const visitor = await chromium.newContext({ locale: "en-US" });
    const page = await visitor.newPage();
    const long = "campaign-".repeat(40);
    await page.goto(`${server.origin}/?utm_source=${long}`);
    await page.waitForSelector("form.leadscore-active", { timeout: 10_000 });
    await fillSqlLead(page);
    const response = page.waitForResponse((r) => r.url().endsWith("/submit"));
    await page.click("button[type=submit]");
    const reply = await (await response).json();
    assert.equal(reply.stage, "sql", JSON.stringify(reply));
    assert.equal(reply.claim, "verified");
    assert.ok(reply.issues.some((i) => i.field === "utm_source" && i.code === "truncated"), JSON.stringify(reply.issues));
    await visitor.close();
    const sales = await chromium.newContext({ httpCredentials: { username: "sales", password: "larkspur" } });
    const api = await (await sales.request.get(`${server.origin}/inbox/api/leads`)).json();
    await sales.close();
    const lead = api.leads.find((l) => l.id === reply.id);
    assert.equal(lead.record.answers.utm_source, long.slice(0, 100));
    assert.equal(lead.consent, null, "the visitor did not answer the consent banner");
    assert.equal(typeof lead.record.started, "number", "the controller stamps when the form started");
  });

  test("without JavaScript the form posts to the receiver, which scores it and shows the thank-you page", async () => {
    const visitor = await chromium.newContext({ javaScriptEnabled: false, locale: "it-IT" });
    const page = await visitor.newPage();
    await page.goto(server.origin + "/it/");
    await page.fill("#f-email", "luca.bianchi@shop.example");
    await page.fill("#f-first_name", "Luca");
    await page.check("input[name=seniority][value=director]");
    await page.check("input[name=use_case][value=own_company]");
    await page.selectOption("#f-country", "IT");
    await page.selectOption("#f-industry", "ecommerce");
    await page.fill("#f-employees", "80");
    await page.check("input[name=timeline][value=researching]");
    await Promise.all([page.waitForURL("**/submit"), page.click("button[type=submit]")]);
    assert.match(await page.textContent("p.verdict"), /JavaScript/);
    assert.notEqual(await page.getAttribute("dd[data-stage]", "data-stage"), "disqualified");
    assert.equal(await page.getAttribute("html", "lang"), "it");
    await page.screenshot({ path: join(shots, "no-js-thank-you.png"), fullPage: true });
    // axe-core needs JavaScript: the page as received is checked in a page of the same origin that runs it.
    const html = await page.content();
    const checker = await chromium.newContext({ locale: "it-IT" });
    const copy = await checker.newPage();
    await copy.goto(server.origin + "/no-such-page");
    await copy.setContent(html);
    await assertAccessible(copy, "the thank-you page without JavaScript");
    await checker.close();
    await visitor.close();
  });

  test("sales find leads by search and filters kept in the URL, and work one: status, lost reason, owner, note", async () => {
    const sales = await chromium.newContext({ httpCredentials: { username: "sales", password: "larkspur" } });
    // Leads sent as forms are: two from the same company, one of them twice under two addresses.
    const lead = (email, name, company, country, employees) => ({
      email, first_name: name, company, job_title: "Head of Data", seniority: "vp", use_case: "own_company",
      country, industry: "saas", employees, timeline: "researching", utm_source: country === "IT" ? "google" : "newsletter",
    });
    const sent = [
      lead("giulia@ferrovia-dati.example", "Giulia", "Ferrovia Dati", "IT", "400"),
      lead("paolo@ferrovia-dati.example", "Paolo", "Ferrovia Dati", "IT", "12"),
      lead("giulia.verdi@ferrovia-dati.example", "Giulia", "Ferrovia Dati", "IT", "400"),
      lead("jonas@kontor.example", "Jonas", "Kontor Zürich", "CH", "60"),
    ];
    for (const form of sent) {
      const r = await sales.request.post(`${server.origin}/submit`, { form, headers: { accept: "application/json" } });
      assert.equal(r.status(), 200, await r.text());
    }
    const inbox = await sales.newPage();
    const problems = watch(inbox);
    await inbox.goto(server.origin + "/inbox");
    // Search and a filter from the form: both in the URL, both marked, the count following them.
    await inbox.fill("form.filters input[name=q]", "ferrovia");
    // The other filters are folded until one is used.
    assert.equal(await inbox.locator("form.filters details").getAttribute("open"), null);
    await inbox.click("form.filters summary");
    await inbox.selectOption("form.filters select[name=country]", "IT");
    await Promise.all([inbox.waitForURL(/q=ferrovia/), inbox.click("form.filters details button[type=submit]")]);
    assert.notEqual(await inbox.locator("form.filters details").getAttribute("open"), null, "open while a filter is in use");
    const url = new URL(inbox.url());
    assert.equal(url.searchParams.get("q"), "ferrovia");
    assert.equal(url.searchParams.get("country"), "IT");
    assert.equal(await inbox.locator("tr[data-lead]").count(), 3);
    assert.equal(await inbox.locator("[data-count]").getAttribute("data-count"), "3");
    assert.deepEqual(await inbox.locator("ul.active li").evaluateAll((l) => l.map((e) => e.dataset.filter)), ["q", "country"]);
    // Possible duplicates: the same company domain on every one of them.
    assert.equal(await inbox.locator("tr[data-lead] a.twin[data-twin=domain]").count(), 3);
    await checkedScreenshot(inbox, { path: join(shots, "inbox-filtered.png"), fullPage: true });
    // Sorted by score: the large company first; the search kept.
    await inbox.selectOption("form.filters select[name=sort]", "score");
    await Promise.all([inbox.waitForURL(/sort=score/), inbox.click("form.filters details button[type=submit]")]);
    const scores = await inbox.locator("tr[data-lead] [data-score]").allTextContents();
    assert.deepEqual(scores.map(Number), [...scores.map(Number)].sort((a, b) => b - a));
    assert.equal(new URL(inbox.url()).searchParams.get("q"), "ferrovia");
    // A part of the filter removed from its mark; the rest stays.
    await Promise.all([inbox.waitForURL((u) => !u.searchParams.has("country")), inbox.click("ul.active li[data-filter=country] a")]);
    assert.equal(await inbox.locator("[data-count]").getAttribute("data-count"), "3");
    // The export link carries the filter, and the CSV has those leads with their labels.
    const href = await inbox.locator("a[data-export]").getAttribute("href");
    assert.match(href, /^\/inbox\/leads\.csv\?q=ferrovia/);
    const csv = await (await sales.request.get(server.origin + href)).text();
    assert.equal(csv.trim().split("\n").length, 1 + 3);
    assert.match(csv.split("\n")[0], /^id,received_at,name,email,company,role,country,stage,stage_id,score,grade,owner,status,/);

    // Working Paolo's lead: only the changes that apply; each confirmed.
    await inbox.locator("tr[data-lead]", { hasText: "paolo@" }).locator("[data-who] a:not(.twin)").click();
    await inbox.waitForSelector("h1 >> text=Paolo");
    const buttons = () => inbox.locator("#work .actions button").allTextContents();
    assert.deepEqual(await buttons(), ["Contacted", "Meeting booked", "Won"]);
    await Promise.all([inbox.waitForURL(/saved=status/), inbox.click("#work .actions button:text-is('Contacted')")]);
    assert.match(await inbox.locator("#work p.saved[role=status]").textContent(), /^Saved: status set to Contacted by sales at /);
    assert.deepEqual(await buttons(), ["Meeting booked", "Won"]);
    // Lost asks why: the browser will not send it without a reason.
    await inbox.click("form.lost button");
    assert.equal(await inbox.locator("#work dd[data-status]").getAttribute("data-status"), "contacted");
    await inbox.selectOption("form.lost select[name=reason]", "Chose a competitor");
    await Promise.all([inbox.waitForURL(/saved=status/), inbox.click("form.lost button")]);
    assert.equal(await inbox.locator("#work dd[data-status]").getAttribute("data-status"), "lost");
    assert.match(await inbox.locator("#work dd[data-status]").textContent(), /^Lost \(Chose a competitor\) since /);
    assert.deepEqual(await buttons(), ["Reopen", "Won"]);
    // The demo gives every lead to sales: given back to nobody, then taken again.
    assert.equal(await inbox.locator("#work dd[data-owner]").textContent(), "sales");
    assert.equal(await inbox.locator("#work button:text-is('Assign to me')").count(), 0, "a lead of mine is not offered to me");
    await inbox.selectOption("form.owner select[name=owner]", "");
    await Promise.all([inbox.waitForURL(/saved=owner/), inbox.click("form.owner button")]);
    assert.match(await inbox.locator("#work p.saved").textContent(), /^Saved: owner removed by sales/);
    assert.equal(await inbox.locator("#work dd[data-owner]").textContent(), "nobody");
    await Promise.all([inbox.waitForURL(/saved=owner/), inbox.click("#work button:text-is('Assign to me')")]);
    assert.equal(await inbox.locator("#work dd[data-owner]").textContent(), "sales");
    await inbox.fill("form.note textarea", "Went with a spreadsheet; ask again in spring.");
    await Promise.all([inbox.waitForURL(/saved=note/), inbox.click("form.note button")]);
    assert.match(await inbox.locator("#work p.saved").textContent(), /^Saved: note added by sales/);
    assert.deepEqual(
      (await inbox.locator("ul.history li").allTextContents()).map((t) => t.split(" · ").slice(1).join(" · ")),
      [
        "sales · Note: Went with a spreadsheet; ask again in spring.",
        "sales · Owner: sales",
        "sales · Owner: nobody",
        "sales · Status: Lost (Chose a competitor)",
        "sales · Status: Contacted",
      ],
    );
    await checkedScreenshot(inbox, { path: join(shots, "lead-work.png"), fullPage: true });
    // The list's status filter finds it.
    await inbox.goto(server.origin + "/inbox?status=lost&q=paolo");
    assert.equal(await inbox.locator("tr[data-lead]").count(), 1);
    // On a phone: the filters and the lead's work fit the screen.
    const phone = await sales.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    for (const path of ["/inbox?q=ferrovia&sort=score", await inbox.locator("tr[data-lead] [data-who] a:not(.twin)").getAttribute("href")]) {
      await phone.goto(server.origin + path);
      const wide = await phone.evaluate(() =>
        [...document.querySelectorAll("body *")]
          .filter((e) => e.getBoundingClientRect().right > 391)
          .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
          .slice(0, 8),
      );
      assert.deepEqual(wide, [], `${path} is wider than a phone`);
    }
    await checkedScreenshot(phone, { path: join(shots, "lead-work-phone.png"), fullPage: true });
    await phone.goto(server.origin + "/inbox?q=ferrovia&sort=score");
    await checkedScreenshot(phone, { path: join(shots, "inbox-filtered-phone.png"), fullPage: true });
    assert.deepEqual(problems, []);
    await sales.close();
  });

  // Every other example and a minimal model, each on a page of its own written from the model, with the program
  // compiled ahead of time: the lead of each example's first hand-computed case, its events vouched for by
  // tokens at the case's times, comes out verified with the hand-computed score and stage, and is in the inbox.
  const secret = readFileSync(join(root, "examples/receiver/demo.toml"), "utf8").match(/^secret = "(.*)"$/m)[1];
  // Answers the form requires that the case leaves out (no rule reads them: the score checks it).
  const required = { it_software: { telefono: "+39 02 1234 5678" } };
  const models = ["agency", "b2c_fitness", "it_software"].map((file) => {
    const cases = JSON.parse(readFileSync(join(root, "tests/cases", `${file}.json`), "utf8"));
    const { answers, events = [], expect } = cases.cases[0];
    const doc = JSON.parse(readFileSync(join(root, cases.model_file), "utf8"));
    return { name: cases.model_file, doc, answers: { ...answers, ...required[file] }, events, expect };
  });
  models.push({
    name: "a minimal model (no grade, events, knockouts or steps)",
    doc: MINIMAL,
    answers: { email: "ada@zahlwerk.de", employees: 120 },
    events: [],
    expect: { score: 10, stage: { id: "mql" } },
  });
  for (const { name, doc, answers, events, expect } of models) {
    test(`${name}: a lead from its own page is verified, scored as computed by hand, and in the inbox`, async () => {
      const site = await mkdtemp(join(tmpdir(), "leadscore-site-"));
      await mkdir(join(site, "dist"));
      const model = join(site, "model.json");
      await writeFile(model, JSON.stringify(doc));
      execFileSync(bin, ["build", model, "-o", join(site, "dist/model.lsp")], { stdio: "pipe" });
      for (const f of ["form.js", "form_bg.wasm", "auto.js"]) await copyFile(join(root, "www/dist", f), join(site, "dist", f));
      const now = Date.now();
      const tokens = events.map(({ type, days_ago }) => {
        const at = new Date(now - days_ago * 86_400_000).toISOString();
        const token = execFileSync(bin, ["token", "--event", type, "--at", at], { encoding: "utf8", env: { ...process.env, LEADSCORE_SECRET: secret } });
        return `<p data-leadscore-event-token="${token.trim()}">Thanks for your visit</p>`;
      });
      await writeFile(join(site, "index.html"), pageOf(doc, "/dist/model.lsp", tokens.join("\n")));
      const own = await receiver({ model, site });
      try {
        const visitor = await chromium.newContext({ locale: "en-US" });
        const page = await visitor.newPage();
        const problems = watch(page);
        await page.goto(own.origin + "/");
        await page.waitForSelector("form.leadscore-active", { timeout: 10_000 });
        if (events.length) await page.click("[data-leadscore-consent=yes]");
        await fillAnswers(page, doc, answers);
        const response = page.waitForResponse((r) => r.url().endsWith("/submit"));
        await page.click("button[type=submit]");
        const reply = await (await response).json();
        assert.equal(reply.received, true, JSON.stringify(reply));
        assert.equal(reply.claim, "verified", `the receiver confirms the browser's claim: ${JSON.stringify(reply)}`);
        assert.equal(reply.verified, true);
        assert.equal(reply.score, expect.score, JSON.stringify(reply));
        assert.equal(reply.stage, expect.stage.id, JSON.stringify(reply));
        await page.waitForSelector("[data-leadscore-ending='lead-form']:not([hidden])");
        assert.deepEqual(problems, []);
        await visitor.close();

        const sales = await chromium.newContext({ httpCredentials: { username: "sales", password: "larkspur" } });
        const inbox = await sales.newPage();
        await inbox.goto(own.origin + "/inbox");
        const row = inbox.locator("tr[data-lead]", { hasText: answers.email });
        assert.equal(await row.count(), 1);
        assert.equal(await row.getAttribute("data-claim"), "verified");
        assert.equal(await row.locator("[data-stage]").getAttribute("data-stage"), expect.stage.id);
        await sales.close();
      } finally {
        await own.close();
      }
    });
  }

  test("a page on another origin sends its lead with fetch: the receiver allows its origin, and refuses others", async () => {
    // The landing page on a site of its own (another port: another origin), the receiver elsewhere.
    const site = await mkdtemp(join(tmpdir(), "leadscore-other-site-"));
    await mkdir(join(site, "dist"));
    const doc = MINIMAL;
    const model = join(site, "model.json");
    await writeFile(model, JSON.stringify(doc));
    execFileSync(bin, ["build", model, "-o", join(site, "dist/model.lsp")], { stdio: "pipe" });
    for (const f of ["form.js", "form_bg.wasm", "auto.js"]) await copyFile(join(root, "www/dist", f), join(site, "dist", f));
    const pages = await serve(site);
    const stranger = await serve(site);
    const own = await receiver({ model, site, allowedOrigins: [pages.url] });
    const page = (action) =>
      pageOf(doc, "/dist/model.lsp").replace('action="/submit"', `action="${action}/submit"`);
    await writeFile(join(site, "index.html"), page(own.origin));
    try {
      const visitor = await chromium.newContext({ locale: "en-US" });
      const tab = await visitor.newPage();
      const problems = watch(tab);
      await tab.goto(pages.url + "/");
      await tab.waitForSelector("form.leadscore-active", { timeout: 10_000 });
      await fillAnswers(tab, doc, { email: "ada@cross.example", employees: 80 });
      const response = tab.waitForResponse((r) => r.url().endsWith("/submit"));
      await tab.click("button[type=submit]");
      const reply = await (await response).json();
      assert.equal(reply.claim, "verified", JSON.stringify(reply));
      await tab.waitForSelector("[data-leadscore-ending='lead-form']:not([hidden])");
      assert.equal(await tab.locator(".leadscore-failed").count(), 0, "the page said the lead could not be sent");
      assert.deepEqual(problems, []);

      // The same page from an origin the receiver does not list: refused, and the page says it was not sent.
      const other = await visitor.newPage();
      await other.goto(stranger.url + "/");
      await other.waitForSelector("form.leadscore-active", { timeout: 10_000 });
      await fillAnswers(other, doc, { email: "eve@stranger.example", employees: 80 });
      await other.click("button[type=submit]");
      await other.waitForSelector(".leadscore-failed", { timeout: 10_000 });
      await visitor.close();

      const sales = await chromium.newContext({ httpCredentials: { username: "sales", password: "larkspur" } });
      const api = await (await sales.request.get(`${own.origin}/inbox/api/leads`)).json();
      await sales.close();
      const emails = api.leads.map((l) => l.record.answers.email);
      assert.deepEqual(emails, ["ada@cross.example"]);
    } finally {
      await own.close();
      await pages.close();
      await stranger.close();
    }
  });

  test("a tag manager on another origin loads under the site's policy, once its source is listed; the inbox stays strict", async () => {
    // A stand-in for Google Tag Manager: a script on another origin that loads a second one and reads the layer.
    const tags = await mkdtemp(join(tmpdir(), "leadscore-tags-"));
    const cdn = await serve(tags);
    await writeFile(join(tags, "gtm.js"), `window.dataLayer = window.dataLayer || []; window.dataLayer.push({ event: "gtm.js" }); window.tagManager = "loaded";`);
    const site = await mkdtemp(join(tmpdir(), "leadscore-gtm-site-"));
    await writeFile(
      join(site, "index.html"),
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>GTM</title><link rel="icon" href="data:,">` +
        `<script src="${cdn.url}/gtm.js"></script></head><body><p>Landing page</p></body></html>`,
    );
    const load = async (own) => {
      const visitor = await chromium.newContext();
      const tab = await visitor.newPage();
      const blocked = [];
      tab.on("console", (m) => m.type() === "error" && blocked.push(m.text()));
      await tab.goto(own.origin + "/");
      const loaded = await tab.evaluate(() => window.tagManager ?? null);
      await visitor.close();
      return { loaded, blocked };
    };
    const strict = await receiver({ site });
    try {
      const r = await load(strict);
      assert.equal(r.loaded, null, "the strict policy let another origin's script run");
      assert.ok(r.blocked.some((m) => /Content Security Policy/.test(m)), r.blocked.join("\n"));
    } finally {
      await strict.close();
    }
    const open = await receiver({ site, extra: `[csp]\nscript_src = ["${cdn.url}"]\nconnect_src = ["${cdn.url}"]` });
    try {
      const r = await load(open);
      assert.equal(r.loaded, "loaded", r.blocked.join("\n"));
      assert.deepEqual(r.blocked, []);
      const page = await fetch(open.origin + "/");
      assert.match(page.headers.get("content-security-policy"), new RegExp(`script-src 'self' 'wasm-unsafe-eval' ${cdn.url};`));
      const inbox = await fetch(open.origin + "/inbox");
      assert.doesNotMatch(inbox.headers.get("content-security-policy"), new RegExp(cdn.url), "the inbox took the site's sources");
    } finally {
      await open.close();
      await cdn.close();
    }
  });

  test("the page and the inbox are served with the strict policy", async () => {
    const r = await fetch(server.origin + "/");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-security-policy"), /script-src 'self' 'wasm-unsafe-eval'/);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.equal((await fetch(server.origin + "/.git/config")).status, 404);
    assert.equal((await fetch(server.origin + "/%2e%2e/Cargo.toml")).status, 404);
    const health = await (await fetch(server.origin + "/healthz")).json();
    assert.equal(health.ok, true);
  });
});

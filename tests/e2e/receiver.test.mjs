// The demo landing page against the Rust lead receiver (`leadscore serve`), in Debian's Chromium: a visitor
// qualifies as an SQL and sends the form; sales find the lead in the inbox and mark it won; the inbox's export
// is a history that `leadscore backtest` reads, as is the receiver's database itself. Screenshots in
// target/e2e/receiver/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { browser, root } from "../node/support.mjs";
import { fillSqlLead } from "./lead.mjs";
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
  test("an SQL sent from the page is in the inbox, marked won, and exported as a history the backtest reads", async () => {
    const visitor = await chromium.newContext({ locale: "en-US" });
    const page = await visitor.newPage();
    const problems = watch(page);
    await page.goto(server.origin + "/");
    await page.waitForSelector("form.leadscore-active", { timeout: 10_000 });
    await fillSqlLead(page, (name) => page.screenshot({ path: join(shots, `visitor-${name}.png`) }));
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
    assert.equal(await row.locator("[data-stage]").textContent(), "sql");
    assert.equal(await row.locator("[data-claim]").textContent(), "verified");
    await inbox.screenshot({ path: join(shots, "inbox.png"), fullPage: true });
    await Promise.all([inbox.waitForURL(/\/inbox\?/), row.getByRole("button", { name: "Won" }).click()]);
    assert.equal(await inbox.locator("tr[data-lead] [data-outcome]").first().getAttribute("data-outcome"), "won");
    await row.locator("a").click();
    await inbox.waitForSelector("h1 >> text=Lead");
    assert.equal(await inbox.locator("dd[data-outcome]").getAttribute("data-outcome"), "won");
    assert.ok((await inbox.locator("h2 + table tbody tr").count()) > 0, "the ledger is shown");
    await inbox.screenshot({ path: join(shots, "lead.png"), fullPage: true });
    assert.deepEqual(inboxProblems, []);

    const csv = await (await sales.request.get(server.origin + "/inbox/export.csv")).text();
    await sales.close();
    assert.match(csv.split("\n")[0], /^id,scored_at,utm_source,email,/);
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
    await visitor.close();
  });

  test("a minimal model (no grade, events, knockouts or steps): its page's lead is verified and in the inbox", async () => {
    // The smallest model a user may write, compiled ahead of time, on a page of its own.
    const site = await mkdtemp(join(tmpdir(), "leadscore-minimal-site-"));
    await mkdir(join(site, "dist"));
    const model = join(site, "minimal.json");
    await writeFile(
      model,
      JSON.stringify({
        leadscore: 1,
        id: "minimal",
        fields: [
          { id: "email", type: "email", required: true },
          { id: "employees", type: "integer" },
        ],
        rules: [{ id: "size", group: "fit", when: "employees >= 50", points: 10 }],
        stages: [{ id: "mql", when: "score >= 10" }, { id: "lead" }],
      }),
    );
    execFileSync(bin, ["build", model, "-o", join(site, "dist/minimal.lsp")], { stdio: "pipe" });
    for (const f of ["form.js", "form_bg.wasm", "auto.js"]) await copyFile(join(root, "www/dist", f), join(site, "dist", f));
    await writeFile(
      join(site, "index.html"),
      `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Minimal</title>
    <link rel="icon" href="data:,">
    <script type="module" src="/dist/auto.js"></script>
  </head>
  <body>
    <form id="minimal-form" action="/submit" method="post" data-leadscore="/dist/minimal.lsp" data-leadscore-submit="fetch">
      <div data-field="email"><label for="f-email">Email</label><input id="f-email" name="email" type="email" required></div>
      <div data-field="employees"><label for="f-employees">Employees</label><input id="f-employees" name="employees" type="number"></div>
      <div data-leadscore-nav><button type="submit">Send</button></div>
    </form>
    <section data-leadscore-ending="minimal-form" hidden tabindex="-1"></section>
  </body>
</html>
`,
    );
    const own = await receiver({ model, site });
    try {
      const visitor = await chromium.newContext({ locale: "en-US" });
      const page = await visitor.newPage();
      const problems = watch(page);
      await page.goto(own.origin + "/");
      await page.waitForSelector("form.leadscore-active", { timeout: 10_000 });
      await page.fill("#f-email", "ada@zahlwerk.de");
      await page.fill("#f-employees", "120");
      const response = page.waitForResponse((r) => r.url().endsWith("/submit"));
      await page.click("button[type=submit]");
      const reply = await (await response).json();
      assert.equal(reply.received, true, JSON.stringify(reply));
      assert.equal(reply.stage, "mql", JSON.stringify(reply));
      assert.equal(reply.score, 10);
      assert.equal(reply.claim, "verified", `the receiver confirms the browser's claim: ${JSON.stringify(reply.mismatches)}`);
      assert.equal(reply.verified, true);
      assert.deepEqual(problems, []);
      await visitor.close();

      const sales = await chromium.newContext({ httpCredentials: { username: "sales", password: "larkspur" } });
      const inbox = await sales.newPage();
      await inbox.goto(own.origin + "/inbox");
      const row = inbox.locator("tr[data-lead]", { hasText: "ada@zahlwerk.de" });
      assert.equal(await row.count(), 1);
      assert.equal(await row.locator("[data-claim]").textContent(), "verified");
      await sales.close();
    } finally {
      await own.close();
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

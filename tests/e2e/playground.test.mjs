// The scoring playground (www/playground/) in Debian's Chromium through playwright-core, served by the demo
// server (www/serve.mjs) with the generated www/dist/ (scripts/build-www.sh). axe-core checks the page at every
// screenshot (tests/e2e/axe.mjs); the screenshots of every panel go to target/e2e/playground-*.png.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { browser, MINIMAL, root } from "../node/support.mjs";
import { serve } from "../../www/serve.mjs";
import { assertAccessible } from "./axe.mjs";

const shots = join(root, "target/e2e");
let server;
let chromium;

before(async () => {
  await mkdir(shots, { recursive: true });
  server = await serve({ port: 0, log: () => {} });
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await server?.close();
});

/** A fresh playground (own storage) that records every request and fails on page and console errors. */
async function open(path = "/playground/") {
  const context = await chromium.newContext({ locale: "en-US", viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const requests = [];
  const problems = [];
  // The context's requests include the worker's.
  context.on("request", (r) => requests.push({ method: r.method(), url: r.url() }));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  await page.goto(server.origin + path);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
  await page.waitForSelector("#preview-form");
  return {
    page,
    requests,
    problems,
    async shot(panel, name = panel) {
      // The sticky header would cover part of a long panel's picture.
      await page.evaluate(() => {
        document.querySelector(".site-header").style.position = "static";
      });
      await assertAccessible(page, `the playground's ${name}`);
      await page.locator(`#${panel}`).screenshot({ path: join(shots, `playground-${name}.png`) });
    },
    async close() {
      await context.close();
      assert.deepEqual(problems, [], "no page errors or console errors");
    },
  };
}

const text = (page, selector) => page.textContent(selector).then((s) => s.trim());
const score = async (page) => Number((await text(page, "#out-score")).replace(/,/g, ""));
const ledgerRules = (page) => page.$$eval("#ledger tbody tr[data-rule]", (rows) => rows.map((r) => r.dataset.rule));
const ledgerPoints = (page, rule) =>
  page.$eval(`#ledger tr[data-rule="${rule}"] td:nth-child(3)`, (td) => Number(td.textContent.replace(/[+,]/g, "")));

/** Types into the preview form like a visitor, step by step (the controller's Next between steps). */
async function fillSql(page) {
  const form = "#preview-form";
  await page.fill(`${form} #f-email`, "ana.rossi@shop.example");
  await page.fill(`${form} #f-first_name`, "Ana");
  await page.fill(`${form} #f-job_title`, "Head of Data");
  await page.check(`${form} input[name=seniority][value=vp]`);
  await page.check(`${form} input[name=use_case][value=own_company]`);
  await page.click(`${form} .leadscore-next`);
  await page.fill(`${form} #f-company`, "Shop Srl");
  // A country field without options in the model is a text input.
  if ((await page.$eval(`${form} #f-country`, (c) => c.tagName)) === "SELECT") await page.selectOption(`${form} #f-country`, "IT");
  else await page.fill(`${form} #f-country`, "IT");
  await page.check(`${form} input[name=industry][value=ecommerce]`);
  await page.fill(`${form} #f-employees`, "400");
  await page.fill(`${form} #f-annual_revenue`, "30");
  await page.click(`${form} .leadscore-next`);
}

describe("the scoring playground", () => {
  test("a typo in a rule shows its error on the right line; the preview waits; fixing it clears the error", async () => {
    const t = await open();
    const { page } = t;
    await t.shot("editor");
    const good = await page.inputValue("#doc");
    const at = good.indexOf("employees >= 100");
    assert.ok(at > 0, "the example has the rule");
    const line = good.slice(0, at).split("\n").length;
    const column = at - good.lastIndexOf("\n", at - 1);
    const bad = good.replace("employees >= 100", "employes >= 100");

    await page.fill("#doc", bad);
    const item = page.locator('#diagnostics .pg-error[data-code="unknown_name"]');
    await item.waitFor();
    assert.equal(await item.getAttribute("data-line"), String(line));
    const shown = await item.textContent();
    assert.ok(shown.startsWith(`${line}:${column} `), `"${shown}" starts with its line and column ${line}:${column}`);
    assert.match(shown, /employes/);
    assert.match(shown, /\(\/rules\/\d+\/when\)/, "the pointer is shown");
    assert.match(await text(page, "#preview-state"), /does not compile/);
    assert.equal(await page.$eval("#preview", (s) => s.classList.contains("pg-stale")), true);
    // The bad span is marked in the editor, its line number too.
    assert.equal(await text(page, "#mirror mark.pg-error"), "employes");
    assert.equal(await text(page, "#gutter .pg-bad-line"), String(line));
    // Clicking the problem puts the caret on it.
    await item.click();
    const caret = await page.$eval("#doc", (d) => [d.selectionStart, d.selectionEnd, document.activeElement === d]);
    assert.deepEqual(caret, [at, at + "employes".length, true]);
    // The preview no longer follows the document: answering scores with the last model that compiled.
    await page.fill("#preview-form #f-email", "ana@shop.example");
    await page.waitForFunction(() => document.querySelector("#out-stage").textContent === "Lead");
    await assertAccessible(page, "the playground with a document that does not compile");
    await page.locator("#editor").screenshot({ path: join(shots, "playground-editor-error.png") });

    await page.fill("#doc", good);
    await page.waitForFunction(() => !document.querySelector("#diagnostics .pg-error"));
    assert.equal(await text(page, "#preview-state"), "");
    assert.equal(await page.$eval("#preview", (s) => s.classList.contains("pg-stale")), false);
    // Fixed and rebuilt: the answer given is kept, and the fixed rule scores.
    assert.equal(await page.inputValue("#preview-form #f-email"), "ana@shop.example");
    await page.fill("#preview-form #f-first_name", "Ana");
    await page.check("#preview-form input[name=seniority][value=vp]");
    await page.check("#preview-form input[name=use_case][value=own_company]");
    await page.click("#preview-form .leadscore-next");
    await page.fill("#preview-form #f-employees", "400");
    await page.waitForFunction(() => document.querySelector('#ledger tr[data-rule="size_scale"]'));
    assert.equal(await ledgerPoints(page, "size_scale"), 4);
    await t.close();
  });

  test("filling the preview moves the stage, and the ledger lists the rules that fired", async () => {
    const t = await open();
    const { page } = t;
    assert.equal(await text(page, "#out-stage"), "Subscriber");
    assert.match(await text(page, "#out-range"), /between/);
    await page.fill("#preview-form #f-email", "ana.rossi@shop.example");
    await page.waitForFunction(() => document.querySelector("#out-stage").textContent === "Lead");
    await fillSql(page);
    await page.waitForFunction(() => document.querySelector("#out-stage").dataset.stage === "mql");
    assert.equal(await text(page, "#out-stage"), "Marketing Qualified Lead");
    const rules = await ledgerRules(page);
    for (const r of ["role_executive", "title_data", "industry_target", "size_core", "size_scale", "business_email"]) {
      assert.ok(rules.includes(r), `${r} in the ledger (${rules})`);
    }
    assert.match(await text(page, "#out-hints"), /to Sales Qualified Lead/);
    // The engine's sentences, with the model's labels (Scorer.formatHint).
    assert.match(await text(page, "#out-hints"), /(answer|change) “[^”]+” (with|to) [^(]+ \(\+[\d.,]+\)|record a [a-z ]+ \(\+[\d.,]+\)/);
    await page.check("#preview-form input[name=data_sources][value=snowflake]");
    await page.fill("#preview-form #f-budget_monthly", "3000");
    await page.check("#preview-form input[name=timeline][value=now]");
    await page.check("#preview-form input[name=decision_maker][value=true]");
    await page.waitForFunction(() => document.querySelector("#out-stage").dataset.stage === "sql");
    assert.equal(await text(page, "#out-stage"), "Sales Qualified Lead");
    assert.ok((await ledgerRules(page)).includes("timeline_now"));
    assert.ok((await score(page)) >= 80);
    await t.shot("preview");
    await t.close();
  });

  test("the preview reads the form as the controller does: an answer of spaces only is no answer", async () => {
    const t = await open();
    const { page } = t;
    const doc = {
      leadscore: 1,
      id: "pg-blank",
      fields: [{ id: "nickname", type: "string", label: "Nickname" }],
      rules: [{ id: "has_nickname", group: "fit", when: "answered(nickname)", points: 10 }],
      stages: [{ id: "lead" }],
    };
    await page.fill("#doc", JSON.stringify(doc, null, 2));
    await page.waitForSelector("#preview-form #f-nickname");
    await page.fill("#preview-form #f-nickname", "Ann");
    await page.waitForFunction(() => document.querySelector("#out-score").textContent.trim() === "10");
    await page.fill("#preview-form #f-nickname", "   ");
    await page.waitForFunction(() => document.querySelector("#out-score").textContent.trim() === "0", null, { timeout: 5000 });
    assert.deepEqual(await ledgerRules(page), []);
    await t.close();
  });

  test("what-if: a demo request changes the score; an older one gives fewer points where decay applies", async () => {
    const t = await open();
    const { page } = t;
    await page.fill("#preview-form #f-email", "ana.rossi@shop.example");
    await page.waitForFunction(() => document.querySelector("#out-stage").textContent === "Lead");
    const before = await score(page);
    await page.fill("#w-demo_request-count", "1");
    await page.waitForFunction(() => document.querySelector('#ledger tr[data-rule="demo"]'));
    assert.equal(await score(page), before + 15);
    assert.match(await text(page, '#whatif tr[data-event="demo_request"] .pg-reads'), /1 demo request, 0 days ago/);

    await page.fill("#w-pricing_view-count", "3");
    await page.waitForFunction(() => document.querySelector('#ledger tr[data-rule="pricing_views"]'));
    const fresh = await ledgerPoints(page, "pricing_views");
    assert.equal(fresh, 9);
    await page.fill("#w-pricing_view-age", "10");
    await page.waitForFunction(
      (p) => Number(document.querySelector('#ledger tr[data-rule="pricing_views"] td:nth-child(3)').textContent.replace(/[+,]/g, "")) < p,
      fresh,
    );
    const older = await ledgerPoints(page, "pricing_views");
    assert.ok(Math.abs(older - 4.5) < 0.01, `half the points after one half-life: ${older}`);
    assert.match(await text(page, '#ledger tr[data-rule="pricing_views"]'), /−4\.5/);
    await page.locator("#whatif").screenshot({ path: join(shots, "playground-whatif.png") });
    await t.close();
  });

  test("the checks list a rule that can never fire, with its pointer; the bounds of every group", async () => {
    const t = await open();
    const { page } = t;
    assert.match(await text(page, "#warnings"), /No warnings/);
    const rows = await page.$$eval("#bounds tbody tr", (r) => r.map((x) => x.cells[0].textContent));
    assert.deepEqual(rows.slice(0, 3), ["Fit", "Engagement", "Buying intent"]);
    const good = await page.inputValue("#doc");
    const rule = JSON.parse(good).rules.findIndex((r) => r.when === "employees >= 100");
    await page.fill("#doc", good.replace('"when": "employees >= 100"', '"when": "employees > 2000000"'));
    const group = page.locator('#warnings [data-code="dead_rule"]');
    await group.waitFor();
    assert.match(await group.textContent(), new RegExp(`/rules/${rule}/when`));
    assert.match(await text(page, "#diag-summary"), /0 errors, 1 warning/);
    assert.equal(await page.$eval("#diagnostics .pg-warning", (b) => b.dataset.code), "dead_rule");
    await t.shot("analysis");
    await t.close();
  });

  test("the backtest of the sample draws the histogram; its numbers are the command line's", async () => {
    const p = await open();
    const { page } = p;
    await page.click("#bt-sample");
    await page.waitForSelector("#bt-report:not([hidden])", { timeout: 60_000 });
    assert.match(await text(page, "#bt-state"), /^Done/);
    const bars = await page.$$eval("#bt-histogram svg .pg-bin rect", (r) => r.length);
    assert.ok(bars > 0, "bars drawn");
    const lines = await page.$$eval("#bt-histogram svg line.pg-threshold:not(.pg-suggested)", (l) => l.length);
    assert.ok(lines > 0, "threshold lines drawn");
    assert.ok((await page.$$eval("#bt-histogram svg text", (x) => x.map((e) => e.textContent))).some((s) => /≥/.test(s)));
    const report = await page.evaluate(() => window.leadscorePlayground?.report ?? null);
    const stages = await page.$$eval("#bt-stages tbody tr", (rows) =>
      rows.map((r) => ({ id: r.dataset.stage, cells: [...r.cells].map((c) => c.textContent) })),
    );
    assert.ok(stages.length > 0);
    // A slider asks the worker for the threshold's numbers.
    const slider = page.locator("#bt-sliders input[type=range]").first();
    assert.equal(await page.locator("#bt-sliders input[type=range]").count(), 2, "one slider per stage threshold (MQL, SQL)");
    const stats = page.locator("#bt-sliders .pg-slider-stats").first();
    const was = await stats.textContent();
    await slider.focus();
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
    await page.waitForFunction((w) => document.querySelector("#bt-sliders .pg-slider-stats").textContent !== w, was);
    assert.match(await stats.textContent(), /precision .* recall .* F1/);
    await p.shot("backtest");

    const cli = join(root, "target/release/leadscore");
    const { stdout } = await promisify(execFile)(
      cli,
      ["backtest", "examples/b2b-saas.json", "examples/history/b2b-saas.csv", "--format", "json"],
      { cwd: root, maxBuffer: 64 * 1024 * 1024 },
    );
    const expected = JSON.parse(stdout);
    assert.ok(report, "the page keeps the last report");
    assert.equal(report.rows, expected.rows);
    assert.equal(report.scored, expected.scored);
    assert.equal(report.won, expected.won);
    assert.equal(report.lost, expected.lost);
    const cliStages = expected.stages.map((s) => ({ id: s.id, count: s.count, won: s.won, closeRate: s.closeRate }));
    assert.deepEqual(report.stages.map((s) => ({ id: s.id, count: s.count, won: s.won, closeRate: s.closeRate })), cliStages);
    const cliThresholds = expected.thresholds.map((x) => ({ stage: x.stage, current: x.current, suggested: x.suggested }));
    assert.deepEqual(report.thresholds.map((x) => ({ stage: x.stage, current: x.current, suggested: x.suggested })), cliThresholds);
    // And the page shows them.
    for (const s of report.stages) {
      const shown = stages.find((r) => r.id === s.id);
      assert.equal(Number(shown.cells[1].replace(/,/g, "")), s.count, `count of ${s.id}`);
    }
    for (const x of report.thresholds) {
      if (x.suggested === null || x.suggested === undefined) continue;
      assert.match(await text(page, `#bt-suggest li[data-stage="${x.stage}"]`), new RegExp(`≥ ${x.suggested.toLocaleString("en", { maximumFractionDigits: 2 })}`));
    }
    await p.close();
  });

  test("a HubSpot export is read by its preset: the same report as the command line's, every value left out listed, the matches editable", async () => {
    const p = await open();
    const { page } = p;
    const file = join(root, "tests/history/hubspot-contacts.csv");
    await page.setInputFiles("#bt-file", file);
    await page.waitForSelector("#bt-report:not([hidden])", { timeout: 60_000 });
    assert.match(await text(page, "#bt-read-as"), /^Read as a HubSpot contacts export\. Outcome column “Lifecycle Stage”\. Columns not read: Record ID, Last Name, Contact owner\./);
    assert.match(await text(page, "#bt-summary"), /^200 rows, 200 scored, 0 that could not be read, 84 with values left out\./);
    const report = await page.evaluate(() => window.leadscorePlayground.report);
    const { stdout } = await promisify(execFile)(
      join(root, "target/release/leadscore"),
      ["backtest", "examples/b2b-saas.json", "tests/history/hubspot-contacts.csv", "--format", "json"],
      { cwd: root, maxBuffer: 64 * 1024 * 1024 },
    );
    const cli = JSON.parse(stdout);
    // The same report as the command line's, to the last figure.
    assert.deepEqual(report, cli);
    // Every value left out is listed, with its count.
    const leftOut = await page.$$eval("#bt-left-out li", (l) => l.map((x) => x.textContent));
    assert.equal(leftOut.length, cli.input.leftOut.length);
    assert.ok(leftOut.some((x) => /^Country: “Atlantis” × 26: /.test(x)), leftOut.join("\n"));
    assert.ok((await page.$$eval("#bt-converted li", (l) => l.map((x) => x.textContent))).some((x) => /ranges \(51-200\) as their midpoint/.test(x)));
    assert.deepEqual(
      await page.$$eval("#bt-outcomes li[data-kind=open]", (l) => l.map((x) => x.textContent.split("”")[0].slice(1)).sort()),
      ["Lead", "Marketing Qualified Lead", "Opportunity", "Sales Qualified Lead", "Subscriber"],
      "open opportunities are not lost",
    );
    assert.equal(await page.$eval('#bt-columns select[data-header="Country/Region"]', (s) => s.value), "country");
    // A match changed by hand, and the file run again with it.
    await page.selectOption('#bt-columns select[data-header="Industry"]', "");
    await page.click("#bt-again");
    await page.waitForFunction(() => /Industry/.test(document.querySelector("#bt-read-as").textContent), null, { timeout: 60_000 });
    assert.equal(await page.$$eval("#bt-left-out li[data-field=industry]", (l) => l.length), 0, "industries are no longer read");
    // Choosing the same file again runs it again.
    await page.evaluate(() => (document.querySelector("#bt-state").textContent = ""));
    await page.setInputFiles("#bt-file", file);
    await page.waitForFunction(() => /^Done/.test(document.querySelector("#bt-state").textContent), null, { timeout: 60_000 });
    // The template of a history for this model.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#bt-template")]);
    const template = await readFile(await download.path(), "utf8");
    assert.match(template, /^id,scored_at,utm_source,.*,outcome\r\n$/);
    await p.shot("backtest", "backtest-hubspot");
    await p.close();
  });

  test("a suggested threshold is applied to the rules with one click, and the backtest runs again with them", async () => {
    const p = await open();
    const { page } = p;
    await page.click("#bt-sample");
    await page.waitForSelector("#bt-report:not([hidden])", { timeout: 60_000 });
    const report = await page.evaluate(() => window.leadscorePlayground.report);
    const sql = report.thresholds.find((t) => t.stage === "sql");
    assert.notEqual(sql.suggested, sql.current);
    // The rules as they are become the champion; the edited ones are the challenger.
    const champion = await page.inputValue("#doc");
    await page.click("#bt-champion");
    assert.match(await text(page, "#bt-champion-state"), /^Champion kept/);
    await page.click('#bt-suggest li[data-stage="sql"] .pg-apply');
    assert.match(await page.inputValue("#doc"), new RegExp(`score >= ${sql.suggested} and fit >= 30`));
    // The backtest follows the rules: the current SQL threshold is now the suggested one.
    await page.waitForFunction(
      (t) => window.leadscorePlayground.report?.thresholds.find((x) => x.stage === "sql")?.current === t,
      sql.suggested,
      { timeout: 60_000 },
    );
    // Champion and challenger: what the command line's compare says, shown.
    const comparison = await page.evaluate(() => window.leadscorePlayground.comparison);
    const dir = await mkdtemp(join(tmpdir(), "leadscore-compare-"));
    await writeFile(join(dir, "champion.json"), champion);
    await writeFile(join(dir, "challenger.json"), await page.inputValue("#doc"));
    const { stdout } = await promisify(execFile)(
      join(root, "target/release/leadscore"),
      ["compare", join(dir, "champion.json"), join(dir, "challenger.json"), "examples/history/b2b-saas.csv", "--format", "json"],
      { cwd: root, maxBuffer: 64 * 1024 * 1024 },
    );
    await rm(dir, { recursive: true });
    const cli = JSON.parse(stdout);
    assert.ok(comparison.changed > 0);
    assert.deepEqual({ changed: comparison.changed, transitions: comparison.transitions, moved: comparison.moved }, { changed: cli.changed, transitions: cli.transitions, moved: cli.moved });
    assert.match(await text(page, "#bt-compare-summary"), new RegExp(`^${comparison.changed} of 1,000 leads change stage`));
    assert.equal(await page.$$eval("#bt-moved tbody tr", (r) => r.length), Math.min(100, comparison.moved.length));
    const sqlRow = await page.$$eval('#bt-compare-stages tr[data-stage="sql"] td', (c) => c.map((x) => x.textContent));
    assert.equal(sqlRow[0], String(comparison.a.stages.find((x) => x.id === "sql").count));
    assert.equal(sqlRow[2], String(comparison.b.stages.find((x) => x.id === "sql").count));
    await p.shot("backtest", "backtest-compare");
    // Too few leads: no suggestion, and the notes say why.
    const few = (await readFile(join(root, "examples/history/b2b-saas.csv"), "utf8")).split("\n").slice(0, 11).join("\n");
    await page.setInputFiles("#bt-file", { name: "few.csv", mimeType: "text/csv", buffer: Buffer.from(few) });
    await page.waitForFunction(() => window.leadscorePlayground.report?.rows === 10, null, { timeout: 60_000 });
    assert.match(await text(page, "#bt-notes"), /at least 30 leads with an outcome, 5 of them won/);
    assert.match(await text(page, '#bt-suggest li[data-stage="sql"]'), /no threshold is suggested/);
    await p.close();
  });

  test("a backtest of 100,000 rows runs in the worker: progress shows, the page answers, Cancel stops it", async () => {
    const sample = join(root, "examples/history/b2b-saas.csv");
    const [header, ...lines] = (await readFile(sample, "utf8")).trim().split("\n");
    const rows = [];
    for (let i = 0; rows.length < 100_000; i++) rows.push(lines[i % lines.length]);
    const p = await open();
    const { page } = p;
    const file = { name: "big.csv", mimeType: "text/csv", buffer: Buffer.from([header, ...rows].join("\n")) };
    // Every progress text the page shows.
    await page.evaluate(() => {
      window.progressSeen = [];
      new MutationObserver(() => window.progressSeen.push(document.querySelector("#bt-progress-text").textContent)).observe(
        document.querySelector("#bt-progress-text"),
        { childList: true, characterData: true, subtree: true },
      );
    });
    await page.setInputFiles("#bt-file", file);
    // While the worker scores, the page's own thread answers at once.
    let slowest = 0;
    for (;;) {
      const started = Date.now();
      const state = await page.evaluate(() => document.querySelector("#bt-state").textContent);
      slowest = Math.max(slowest, Date.now() - started);
      if (!state.startsWith("Scoring")) break;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    assert.equal(await text(page, "#bt-state"), "Done: 100,000 rows.");
    assert.ok(slowest < 500, `the page answered within ${slowest} ms`);
    const seen = await page.evaluate(() => window.progressSeen);
    assert.ok(
      seen.some((s) => /^[1-9][\d,]* rows, [1-9]\d? %$/.test(s)),
      `progress between 1 and 99 % was shown: ${seen.join(" / ")}`,
    );
    assert.equal(await page.isVisible("#bt-report"), true);
    // Cancel stops a run at once.
    await page.setInputFiles("#bt-file", []);
    await page.setInputFiles("#bt-file", file);
    await page.click("#bt-cancel", { timeout: 5000 });
    assert.equal(await text(page, "#bt-state"), "Cancelled.");
    assert.equal(await page.isVisible("#bt-progress"), false);
    assert.equal(await page.isVisible("#bt-report"), false);
    await p.close();
  });

  test("the planner's worked example: 10,000,000 at 50,000 a deal is 200 deals, 800 SQLs, 4,000 MQLs", async () => {
    const p = await open();
    const { page } = p;
    await page.fill("#plan-form [name=goal]", "10000000");
    await page.fill("#plan-form [name=dealSize]", "50000");
    await page.fill("#plan-form [name=sqlToWon]", "25");
    await page.fill("#plan-form [name=mqlToSql]", "20");
    await page.fill("#plan-form [name=leadToMql]", "10");
    await page.fill("#plan-form [name=visitorToLead]", "2");
    assert.equal(await text(page, "[data-total=deals]"), "200");
    assert.equal(await text(page, "[data-total=sqls]"), "800");
    assert.equal(await text(page, "[data-total=mqls]"), "4,000");
    assert.equal(await text(page, "[data-total=leads]"), "40,000");
    assert.equal(await text(page, "[data-total=visitors]"), "2,000,000");
    assert.equal(await page.$$eval("#plan-table tbody tr", (r) => r.length), 12);
    assert.ok((await page.$$eval("#plan-chart svg rect", (r) => r.length)) === 5);
    // The inverse: what 4,000 MQLs give.
    await page.check("#plan-form input[name=mode][value=mqls]");
    await page.fill("#plan-form [name=mqls]", "4000");
    assert.equal(await text(page, "[data-total=deals]"), "200");
    await page.check("#plan-form input[name=mode][value=goal]");
    // Numbers as people type them, each echoed as read.
    await page.fill("#plan-form [name=goal]", "10.000.000");
    assert.equal(await text(page, '[data-read="goal"]'), "read as 10,000,000");
    assert.equal(await text(page, "[data-total=deals]"), "200");
    // The arithmetic, step by step, and the months adding up to the year.
    assert.deepEqual((await page.$$eval("#plan-steps li", (l) => l.map((x) => x.textContent))).slice(0, 3), [
      "10,000,000 ÷ 50,000 = 200 deals",
      "200 ÷ 25 % = 800 SQLs",
      "800 ÷ 20 % = 4,000 MQLs",
    ]);
    assert.match(await text(page, "#plan-rounding"), /add up to the year/);
    for (const column of [2, 3, 4, 5, 6]) {
      const cells = await page.$$eval(`#plan-table tbody tr td:nth-child(${column + 1})`, (c) => c.map((x) => Number(x.textContent.replace(/,/g, ""))));
      const year = await page.$eval(`#plan-table tfoot tr:last-child td:nth-child(${column + 1})`, (c) => Number(c.textContent.replace(/,/g, "")));
      assert.equal(cells.reduce((a, b) => a + b, 0), year, `column ${column}`);
    }
    // A bad input clears the figures and says which, in the form's words.
    await page.fill("#plan-form [name=sqlToWon]", "abc");
    assert.equal(await text(page, "#plan-state"), "SQL → won (%): “abc” is not a number.");
    assert.equal(await page.$$eval("#plan-totals dd", (d) => d.length), 0, "stale figures stay beside the error");
    assert.equal(await page.$$eval("#plan-table tbody tr", (r) => r.length), 0);
    await page.fill("#plan-form [name=sqlToWon]", "125");
    assert.match(await text(page, "#plan-state"), /^SQL → won \(%\): is a percentage: at most 100/);
    assert.doesNotMatch(await text(page, "#plan-state"), /sqlToWon/);
    // Only deals, SQLs and MQLs.
    await page.fill("#plan-form [name=sqlToWon]", "25");
    await page.fill("#plan-form [name=leadToMql]", "");
    await page.fill("#plan-form [name=visitorToLead]", "");
    assert.equal(await text(page, "[data-total=mqls]"), "4,000");
    assert.equal(await page.$$eval("[data-total=leads], [data-total=visitors]", (d) => d.length), 0);
    await p.shot("planner");
    await p.close();
  });

  test("every example and a minimal model (no grade, events, knockouts or steps) load, compile and preview their form", async () => {
    const t = await open();
    const { page } = t;
    const offered = await page.$$eval("#example option", (os) => os.map((o) => o.value));
    const shipped = (await readdir(join(root, "examples"))).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
    assert.deepEqual([...offered].sort(), shipped.sort(), "the picker offers every example");
    const minimal = MINIMAL;
    for (const name of [...offered, "minimal"]) {
      let model = minimal;
      if (name === "minimal") {
        await page.fill("#doc", JSON.stringify(minimal, null, 2));
      } else {
        model = JSON.parse(await readFile(join(root, "examples", `${name}.json`), "utf8"));
        await page.selectOption("#example", name);
        await page.click("#load-example");
        await page.waitForFunction((n) => document.querySelector("#status").textContent.includes(`“${n}”`), name);
      }
      // The preview is this model's form: a control for each of its fields, and no other model's.
      const ids = model.fields.map((f) => f.id);
      await page.waitForFunction(
        (ids) => ids.every((id) => document.querySelector(`#preview-form #f-${id}`)) && document.querySelectorAll("#preview-form [data-field]").length === ids.length,
        ids,
      );
      assert.equal(await page.$$eval("#diagnostics .pg-error", (e) => e.length), 0, `${name} compiles`);
      assert.notEqual(await text(page, "#out-stage"), "–", `${name}: a stage is shown`);
    }
    // The minimal model scores as its one rule says.
    await page.fill("#preview-form #f-employees", "120");
    await page.waitForFunction(() => document.querySelector('#ledger tr[data-rule="size"]'));
    assert.equal(await ledgerPoints(page, "size"), 10);
    assert.equal(await score(page), 10);
    assert.equal(await text(page, "#out-stage"), "mql");
    await t.close();
  });

  test("a shared link carries the model; the page requests nothing but its own static files", async () => {
    const t = await open();
    const { page } = t;
    const edited = (await page.inputValue("#doc")).replace('"en": "Larkspur Analytics: talk to our team"', '"en": "Shared: talk to our team"');
    assert.ok(edited.includes("Shared: talk"));
    await page.fill("#doc", edited);
    await page.click("#share");
    await page.waitForFunction(() => location.hash.startsWith("#model="));
    const url = await page.evaluate(() => location.href);
    await page.fill("#preview-form #f-email", "ana.rossi@shop.example");
    await page.click("#download");
    await t.close();

    const other = await open(new URL(url).pathname + new URL(url).hash);
    assert.equal(await other.page.inputValue("#doc"), edited);
    assert.match(await text(other.page, "#status"), /from the link/);
    await other.close();

    // Everything at once, then the requests: only GETs of the page's own files.
    const all = await open();
    await all.page.fill("#preview-form #f-email", "ana.rossi@shop.example");
    await all.page.fill("#w-demo_request-count", "1");
    await all.page.click("#bt-sample");
    await all.page.waitForSelector("#bt-report:not([hidden])", { timeout: 60_000 });
    await all.page.fill("#plan-form [name=goal]", "5000000");
    await all.page.reload();
    await all.page.waitForSelector("body[data-ready=true]");
    assert.match(await text(all.page, "#status"), /Restored/);
    const seen = [...new Set([...t.requests, ...other.requests, ...all.requests].map((r) => `${r.method} ${r.url}`))];
    const allowed = new Set([
      "/playground/",
      "/style.css",
      "/playground/playground.css",
      "/playground/playground.js",
      "/playground/svg.js",
      "/playground/worker.js",
      "/dist/leadscore.js",
      "/dist/leadscore_bg.wasm",
      "/dist/examples/b2b-saas.json",
      "/dist/examples/history/b2b-saas.csv",
    ]);
    for (const r of seen) {
      const [method, address] = r.split(" ");
      if (address.startsWith("blob:") || address.startsWith("data:")) continue;
      const u = new URL(address);
      assert.equal(method, "GET", r);
      assert.equal(u.origin, server.origin, r);
      assert.ok(allowed.has(u.pathname), `${u.pathname} is one of the page's files`);
    }
    await all.close();
  });
});

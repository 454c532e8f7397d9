// The backtest and the funnel planner of the full build in Node, against the command-line tool: the same
// file gives the same report, number for number (the page's worker runs this very code).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Backtest, Scorer, plan } from "../../pkg/node.js";
import { root } from "./support.mjs";

const cli = join(root, "target/release/leadscore");
const model = join(root, "examples/b2b-saas.json");
const history = join(root, "examples/history/b2b-saas.csv");
const scorer = new Scorer(readFileSync(model, "utf8"));

function backtest(text, options) {
  const bt = new Backtest(scorer, text, options);
  const seen = [];
  while (!bt.step(250)) seen.push(bt.progress);
  return { report: bt.report(), seen, bt };
}

test("the backtest of the shipped history equals the command line's, number for number", () => {
  const { report, seen } = backtest(readFileSync(history, "utf8"));
  const expected = JSON.parse(execFileSync(cli, ["backtest", model, history, "--format", "json"], { encoding: "utf8" }));
  assert.deepEqual(report, expected);
  assert.equal(report.scored, 1000);
  // Progress rises step by step, below 1 until the end.
  assert.equal(seen.length, 4, "1000 rows in steps of 250: four steps, the end found by the fifth");
  assert.ok(seen.every((p, i) => p > 0 && p < 1 && (i === 0 || p > seen[i - 1])), `progress: ${seen}`);
});

test("chosen outcome values and column names are read the same way as the command line's options", () => {
  const text = readFileSync(history, "utf8").replace(/^(.*),outcome\n/, "$1,result\n").replaceAll(",won\n", ",closed won\n");
  const { report } = backtest(text, { outcome: "result", won: ["Closed Won"], now: Date.UTC(2026, 10, 23) });
  const expected = JSON.parse(
    execFileSync(cli, ["backtest", model, "-", "--outcome", "result", "--won", "Closed Won", "--format", "json"], {
      input: text,
      encoding: "utf8",
    }),
  );
  assert.deepEqual(report, expected);
  assert.equal(report.won, 117);
  // Kept as written; compared ignoring case, accents, spaces and punctuation.
  assert.deepEqual(report.wonValues, ["Closed Won"]);
});

test("a slider's threshold gives precision and recall consistent with the report", () => {
  const { report, bt } = backtest(readFileSync(history, "utf8"));
  for (const t of report.thresholds) {
    assert.deepEqual(bt.at(t.current), t.currentAt);
    assert.deepEqual(bt.at(t.suggested), t.suggestedAt);
  }
  const everyone = bt.at(-1e9);
  assert.equal(everyone.count, report.won + report.lost);
  assert.equal(everyone.recall, 1);
  assert.equal(everyone.precision, report.baseRate);
});

test("the planner: the worked example, its inverse, and the command line's numbers", () => {
  const input = { goal: 10_000_000, dealSize: 50_000, sqlToWon: 25, mqlToSql: 20, leadToMql: 10, visitorToLead: 2, year: 2027 };
  const p = plan(input);
  assert.deepEqual([p.deals, p.sqls, p.mqls], [200, 800, 4000]);
  const back = plan({ ...input, goal: undefined, mqls: 4000 });
  assert.deepEqual([back.sqls, back.deals, back.revenue], [800, 200, 10_000_000]);
  const args = ["--deal-size", "50000", "--sql-to-won", "25", "--mql-to-sql", "20", "--lead-to-mql", "10", "--visitor-to-lead", "2", "--year", "2027"];
  const expected = JSON.parse(execFileSync(cli, ["plan", "--goal", "10000000", ...args, "--format", "json"], { encoding: "utf8" }));
  assert.deepEqual(p, expected);
  assert.throws(() => plan({ ...input, visitorToLead: 0 }), (e) => e.problems[0].field === "visitorToLead");
  // A count too large for a double is an error naming the input (the result had nulls where JSON has no
  // infinity).
  assert.throws(
    () => plan({ ...input, goal: 1e308, dealSize: 1 }),
    (e) => e.problems.length === 1 && e.problems[0].field === "sqlToWon" && /too large/.test(e.message),
  );
});

// The playground's backtest, off the page's thread: scores a CSV of past leads with the current rules document
// (the full build's Backtest), reports progress, then answers "how would threshold t do" for the sliders.
//
// Messages in:  {run: {id, rules, csv: string | File, outcome, won?, now?}}   {at: {id, threshold}}
// Messages out: {id, progress, rows}   {id, report}   {id, at: stats}   {id, error}
import init, * as leadscore from "/dist/leadscore.js";

const ready = init();
let backtest = null;
let scorer = null;

/** How many rows one step scores: small enough to report progress often, large enough to cost little. */
const STEP = 5000;

self.onmessage = async ({ data }) => {
  const id = data.run?.id ?? data.at?.id;
  try {
    await ready;
    if (data.run) run(data.run, typeof data.run.csv === "string" ? data.run.csv : await data.run.csv.text());
    else if (data.at) {
      if (!backtest) throw new Error("no backtest has run yet");
      self.postMessage({ id, at: backtest.at(data.at.threshold) });
    }
  } catch (e) {
    self.postMessage({ id, error: e?.diagnostics?.length ? e.diagnostics.map((d) => d.message).join("; ") : String(e?.message ?? e) });
  }
};

function run({ id, rules, outcome, won, now }, csv) {
  backtest?.free?.();
  scorer?.free?.();
  backtest = null;
  scorer = new leadscore.Scorer(rules);
  const options = { outcome: outcome || "outcome" };
  if (won?.length) options.won = won;
  if (now !== undefined) options.now = now;
  backtest = new leadscore.Backtest(scorer, csv, options);
  while (!backtest.step(STEP)) self.postMessage({ id, progress: backtest.progress, rows: backtest.rows });
  self.postMessage({ id, progress: 1, rows: backtest.rows });
  self.postMessage({ id, report: backtest.report() });
}

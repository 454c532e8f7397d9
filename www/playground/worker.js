// The playground's backtest, off the page's thread: scores a CSV of past leads with the current rules document
// (the full build's Backtest), reports progress, then answers "how would threshold t do" for the sliders.
//
// Messages in:  {run: {id, rules, champion?, csv: string | File, outcome?, won?, lost?, open?, map?, now?}}   {at: {id, threshold}}
// Messages out: {id, progress, rows}   {id, report, mapping, headers, comparison?}   {id, at: stats}   {id, error}
// With `champion` (another rules document), the same file is also compared: champion against `rules`.
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

function run({ id, rules, champion, outcome, won, lost, open, map, now }, csv) {
  backtest?.free?.();
  scorer?.free?.();
  backtest = null;
  scorer = new leadscore.Scorer(rules);
  const options = {};
  if (outcome) options.outcome = outcome;
  if (map) options.map = map;
  for (const [key, list] of [["won", won], ["lost", lost], ["open", open]]) if (list?.length) options[key] = list;
  if (now !== undefined) options.now = now;
  backtest = new leadscore.Backtest(scorer, csv, options);
  while (!backtest.step(STEP)) self.postMessage({ id, progress: backtest.progress, rows: backtest.rows });
  self.postMessage({ id, progress: 1, rows: backtest.rows });
  let comparison;
  if (champion) {
    const kept = new leadscore.Scorer(champion);
    const c = new leadscore.Compare(kept, scorer, csv, options);
    while (!c.step(STEP)) self.postMessage({ id, progress: c.progress, rows: backtest.rows });
    comparison = c.report();
    c.free();
    kept.free();
  }
  self.postMessage({ id, report: backtest.report(), mapping: backtest.mapping, headers: backtest.headers, comparison });
}

// Markdown tables of the results.

const sig = (x, digits = 3) => {
  if (!Number.isFinite(x)) return "—";
  if (x === 0) return "0";
  const magnitude = Math.floor(Math.log10(Math.abs(x)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  const rounded = decimals > 0 ? x : Math.round(x / 10 ** (magnitude + 1 - digits)) * 10 ** (magnitude + 1 - digits);
  return rounded.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
};

export const ns = (x) => sig(x, 3);
export const perSecond = (nsPerOp) => sig(1e9 / nsPerOp, 3);
export const ms = (x) => (x === undefined || x === null ? "—" : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));
const ratio = (a, b) => `${sig(a / b, 3)}×`;

function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map((h, i) => (i === 0 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

/** The main table: leadscore's paths next to the plain JS model and the JsonLogic one. */
export function resultsTable(result) {
  const rows = result.rows.map((r) => [
    r.path + (r.note === "hints" ? " ¹" : r.note === "range" ? " ²" : ""),
    ns(r.ls.ns),
    perSecond(r.ls.ns),
    ns(r.plain.ns),
    ns(r.js.ns),
    ns(r.jl.ns),
    ratio(r.ls.ns, r.plain.ns),
    ratio(r.ls.ns, r.js.ns),
    ratio(r.ls.ns, r.jl.ns),
  ]);
  const spread = Math.max(...result.rows.flatMap((r) => [r.ls, r.plain, r.js, r.jl].map((m) => (m.max - m.min) / m.ns)));
  return [
    table(
      [
        "leadscore path",
        "leadscore ns/eval",
        "leadscore evals/s",
        "lean JS ns/eval",
        "table JS ns/eval",
        "json-logic-js ns/eval",
        "leadscore ÷ lean JS (time)",
        "leadscore ÷ table JS (time)",
        "leadscore ÷ json-logic-js (time)",
      ],
      rows,
    ),
    "",
    "Workloads: " + [...new Set(result.rows.map((r) => r.workload))].join("; ") + ".",
    "The three others score the same leads, or the same lead with the same answer changed, from scratch. Lean JS",
    "(plain.js) returns what `score()` returns: total, groups with caps, knockout, stage, fired rule ids. Table JS",
    "(yardstick.js) and json-logic-js also compute the grade. A ratio above 1× means leadscore takes longer per",
    "evaluation. Session rows: the full build's session, then the runtime build's (what a landing page loads).",
    "¹ also computes hints: single changes that reach the next stage, each one re-scored.",
    "² also computes the score range over every completion of the form, and the flow.",
    `Median of ${result.timing.rounds} rounds of about ${result.timing.roundMs} ms after ${result.timing.warmupMs} ms`,
    `of warm-up; largest round spread (max − min) / median: ${(spread * 100).toFixed(1)}%.`,
  ].join("\n");
}

export function breakdownTable(result) {
  const b = result.breakdown;
  const rows = b.steps.map((s) => [s.step, ns(s.ns), `${((100 * s.ns) / b.total).toFixed(0)}%`]);
  rows.push(["**`evaluate(object)`, submitted, whole call**", `**${ns(b.total)}**`, "100%"]);
  return [
    table(["`evaluate(object)` per sample lead", "ns", "share"], rows),
    "",
    `Input text ${Math.round(b.inputBytes)} bytes, result text ${Math.round(b.resultBytes)} bytes, on average.`,
    `\`session.evaluate({complete: true, hints: false})\` on the same leads (no input crossing, same result`,
    `object): ${ns(b.sessionEvaluate)} ns.`,
  ].join("\n");
}

export function checkLine(result) {
  const c = result.checked;
  return (
    `Checked before timing: ${c.leads} sample leads, ${c.generated} generated leads and every session step give the ` +
    `same total, group scores, knockout, stage and grade in leadscore, plain JS and json-logic-js ` +
    `(${c.exact} of ${c.compared} totals bit-identical; largest difference ${c.maxDiff.toExponential(1)}). The lean ` +
    `JS scorer gives what \`score()\` gives, fired rules included, on the same leads and steps (${c.plainExact} of ` +
    `${c.plainCompared} totals bit-identical).`
  );
}

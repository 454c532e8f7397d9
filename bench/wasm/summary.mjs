// Node and Chromium side by side, from the JSON files the two runners wrote.
//
//   node bench/wasm/summary.mjs node.json chromium.json

import { readFileSync } from "node:fs";
import { ns, perSecond } from "./report.js";

const [nodeFile, chromiumFile] = process.argv.slice(2);
const node = JSON.parse(readFileSync(nodeFile, "utf8"));
const chromium = JSON.parse(readFileSync(chromiumFile, "utf8"));

const x = (a, b) => `${(a / b).toPrecision(3)}×`;
const line = (cells) => `| ${cells.join(" | ")} |`;

console.log("## Node and Chromium side by side\n");
console.log(`Node: ${node.env}. Chromium: ${chromium.env}.\n`);
console.log(
  line([
    "path",
    "Node: leadscore ns (evals/s)",
    "Node: lean JS ns",
    "Node: ÷ lean JS",
    "Node: table JS ns",
    "Node: json-logic-js ns",
    "Node: ÷ table JS",
    "Node: ÷ json-logic-js",
    "Chromium: leadscore ns (evals/s)",
    "Chromium: lean JS ns",
    "Chromium: ÷ lean JS",
    "Chromium: table JS ns",
    "Chromium: json-logic-js ns",
    "Chromium: ÷ table JS",
    "Chromium: ÷ json-logic-js",
  ]),
);
console.log(line(["---", ...Array(14).fill("---:")]));
node.rows.forEach((n, i) => {
  const c = chromium.rows[i];
  const side = (r) => [
    `${ns(r.ls.ns)} (${perSecond(r.ls.ns)})`,
    ns(r.plain.ns),
    x(r.ls.ns, r.plain.ns),
    ns(r.js.ns),
    ns(r.jl.ns),
    x(r.ls.ns, r.js.ns),
    x(r.ls.ns, r.jl.ns),
  ];
  console.log(line([n.path, ...side(n), ...side(c)]));
});
console.log(
  "\nRatios are leadscore's time per evaluation divided by the other's: above 1× leadscore is slower, below 1× faster.",
);

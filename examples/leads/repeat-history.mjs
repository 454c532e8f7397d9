// Writes a large input for `leadscore score` and `leadscore backtest` from a model's shipped history: its rows
// `--times N` times over, each copy's ids suffixed `-k`, to standard output.
//
//   node examples/leads/repeat-history.mjs --model examples/b2b-saas.json --history examples/history/b2b-saas.csv \
//     --times 1000 --as history|csv|ndjson > leads
//
// history: the rows as they are (with `outcome` and `scored_at`), for `backtest`; csv: without those two
// columns, for `score`; ndjson: one `{"id", "answers", "events"}` object a line, answers typed by the model
// (numbers, booleans, a multiple choice as an array), each event `{"type", "at"}` with its RFC 3339 time.
// The history must have no quoted values (the shipped ones have none): this script checks, and stops otherwise.
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const arg = (name, d) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0 && d === undefined) {
    console.error(`repeat-history: --${name} is required`);
    process.exit(2);
  }
  return i >= 0 ? args[i + 1] : d;
};
const model = JSON.parse(readFileSync(arg("model"), "utf8"));
const text = readFileSync(arg("history"), "utf8");
const times = Number(arg("times", 1000));
const as = arg("as", "csv");
if (!["history", "csv", "ndjson"].includes(as) || !(times >= 1)) {
  console.error("repeat-history: --as history|csv|ndjson, --times N (N >= 1)");
  process.exit(2);
}
if (text.includes('"')) {
  console.error("repeat-history: the history has quoted values, which this script does not read");
  process.exit(1);
}

const lines = text.split(/\r?\n/).filter((l) => l !== "");
const header = lines[0].split(",");
const rows = lines.slice(1).map((l) => l.split(","));
const kind = new Map(model.fields.map((f) => [f.id, f.type]));
const events = new Set((model.events ?? []).map((e) => e.id));
const dropped = new Set(["outcome", "scored_at"]);
const kept = header.map((h, i) => i).filter((i) => as === "history" || !dropped.has(header[i]));

const value = (id, v) => {
  switch (kind.get(id)) {
    case "number":
    case "integer":
      return Number(v);
    case "boolean":
      return v === "true";
    case "multi":
      return v.split(";");
    default:
      return v;
  }
};

const out = [];
const flush = (force) => {
  if (force || out.length >= 4096) {
    process.stdout.write(out.join(""));
    out.length = 0;
  }
};
if (as !== "ndjson") out.push(kept.map((i) => header[i]).join(",") + "\n");
for (let k = 0; k < times; k++) {
  for (const r of rows) {
    const id = `${r[0]}-${k}`;
    if (as === "ndjson") {
      const answers = {};
      const evs = [];
      header.forEach((h, i) => {
        if (i === 0 || r[i] === "" || r[i] === undefined || dropped.has(h)) return;
        if (events.has(h)) {
          for (const at of r[i].split(";")) if (at) evs.push({ type: h, at });
        } else if (kind.has(h)) {
          answers[h] = value(h, r[i]);
        }
      });
      out.push(JSON.stringify({ id, answers, events: evs }) + "\n");
    } else {
      out.push(kept.map((i) => (i === 0 ? id : r[i])).join(",") + "\n");
    }
    flush(false);
  }
}
flush(true);

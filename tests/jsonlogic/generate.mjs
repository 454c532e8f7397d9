// Generated JsonLogic conformance cases: random expressions over a few typed fields and random answers,
// each with the result json-logic-js 2.0.5 gives. Seeded, so the same cases every time.
//
//   node tests/jsonlogic/generate.mjs            writes tests/jsonlogic/cases.json
//   node tests/jsonlogic/generate.mjs --seed 7 --groups 2000 --out /tmp/more.json
//                                                 more cases elsewhere; JSONLOGIC_CASES=/tmp/more.json
//                                                 cargo test --lib jsonlogic evaluates those instead
//
// `src/compile/jsonlogic.rs` (a unit test) evaluates every case natively and compares the whole value;
// `tests/node/jsonlogic.test.mjs` checks that this file is what the generator and json-logic-js give now, and
// evaluates every case in the Wasm build, as a condition and as points.
//
// A result is encoded so that JSON can hold it: a number as {"n": String(n)} ("-0" for negative zero, "NaN",
// "Infinity"), an array item by item, anything else as it is; {"throws": message} when json-logic-js throws.
// What the generator leaves out, leadscore rejects with a diagnostic (docs/rules.md, "JsonLogic"): dotted
// names, `and` and `or` with no operands, `*` with none, `missing_some` with a literal null, arity other than
// the operation's.
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const jsonLogic = createRequire(import.meta.url)("json-logic-js");

export const SEED = 20261204;
export const GROUPS = 250;
export const PER_GROUP = 24;

export const FIELDS = [
  { id: "n", type: "number" },
  { id: "i", type: "integer" },
  { id: "s", type: "string" },
  { id: "t", type: "string" },
  { id: "b", type: "boolean" },
  { id: "c", type: "choice", options: ["p", "q", "5"] },
  { id: "m", type: "multi", options: ["x", "y", "5"] },
];

/** mulberry32: a small seeded generator of floats in [0, 1). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMBERS = [0, 1, -1, 2, 5, 10, 2.5, -0.5, 0.1, 100, 1e21, 1.5e-7, -3, 3];
const STRINGS = [
  "", " ", "0", "-0", "5", " 5 ", "5.", ".5", "1e3", "-2.5", "0x10", "0b11", "0o7", "Infinity", "-Infinity",
  "inf", "NaN", "abc", "hello world", "x", "y", "p", "q", "n", "s", "m", "null", "true", "false", "1,2", "x,y",
  "\ufeff3", "\u00853", "\u20283", "\u00a04", "12abc", "1_000", "ß", "é", "zz",
];
const NAMES = ["n", "i", "s", "t", "b", "c", "m", "zz", "", "x"];

export function generate({ seed = SEED, groups: count = GROUPS } = {}) {
  const r = rng(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const chance = (p) => r() < p;
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));

  function answer(f) {
    switch (f.type) {
      case "number":
        return pick([0, 1, -1, 2.5, 5, 10, 1e21, -0.5, 100, 0.1]);
      case "integer":
        return pick([0, 1, 5, -3, 42, 10]);
      case "string":
        return pick(STRINGS);
      case "boolean":
        return chance(0.5);
      case "choice":
        return pick(f.options);
      case "multi":
        // In the options' order, without repeats: leadscore holds a multi answer as a set of options.
        return f.options.filter(() => chance(0.5));
    }
  }

  function answers() {
    const a = {};
    for (const f of FIELDS) if (chance(0.75)) a[f.id] = answer(f);
    return a;
  }

  function constant() {
    switch (int(0, 5)) {
      case 0:
      case 1:
        return pick(NUMBERS);
      case 2:
      case 3:
        return pick(STRINGS);
      case 4:
        return pick([true, false, null]);
      default:
        return Array.from({ length: int(0, 3) }, () =>
          chance(0.2) ? [pick(STRINGS)] : pick([...NUMBERS, ...STRINGS, null, true]),
        );
    }
  }

  function variable(d) {
    const name = pick(FIELDS).id;
    if (chance(0.3)) return { var: [name, expr(d + 1)] };
    return chance(0.5) ? { var: name } : { var: [name] };
  }

  // A key of `missing`: a name, a computed value, or [name, default].
  function key(d) {
    if (chance(0.15)) return [pick(NAMES), constant()];
    if (chance(0.15)) return expr(d + 1);
    return chance(0.1) ? pick([null, 0, 1, true]) : pick(NAMES);
  }

  function keys(d) {
    const list = Array.from({ length: int(0, 3) }, () => key(d));
    // Sometimes the keys come as the first argument, an array (and later arguments are then ignored).
    return chance(0.3) ? [list, ...(chance(0.5) ? [key(d)] : [])] : list;
  }

  const args = (d, lo, hi) => Array.from({ length: int(lo, hi) }, () => expr(d + 1));

  function operation(d) {
    const op = pick([
      "==", "===", "!=", "!==", "<", "<=", ">", ">=", "!", "!!", "and", "or", "if", "?:", "+", "-", "*", "/", "%",
      "min", "max", "in", "cat", "substr", "merge", "missing", "missing_some", "var", "var", "var",
    ]);
    switch (op) {
      case "var":
        return variable(d);
      case "!":
      case "!!": {
        const a = expr(d + 1);
        return { [op]: Array.isArray(a) || chance(0.5) ? [a] : a };
      }
      case "<":
      case "<=":
        return { [op]: args(d, 2, 3) };
      case "==":
      case "===":
      case "!=":
      case "!==":
      case ">":
      case ">=":
      case "/":
      case "%":
      case "in":
        return { [op]: args(d, 2, 2) };
      case "and":
      case "or":
      case "*":
        return { [op]: args(d, 1, 3) };
      case "-":
        return { [op]: args(d, 1, 2) };
      case "substr":
        return { [op]: args(d, 2, 3) };
      case "if":
      case "?:":
        return { [op]: args(d, 0, 5) };
      case "missing":
        return { missing: keys(d) };
      case "missing_some": {
        const options = chance(0.8) ? keys(d) : expr(d + 1);
        return { missing_some: [chance(0.7) ? int(0, 3) : expr(d + 1), options === null ? [] : options] };
      }
      default:
        return { [op]: args(d, 0, 3) };
    }
  }

  function expr(d) {
    if (d >= 4 || chance(0.25 + d * 0.15)) return chance(0.5) ? variable(d + 1) : constant();
    return operation(d);
  }

  const groups = [];
  for (let g = 0; g < count; g++) {
    const data = answers();
    const cases = [];
    for (let k = 0; k < PER_GROUP; k++) {
      const logic = operation(0);
      let result;
      try {
        result = encode(jsonLogic.apply(logic, data));
      } catch (e) {
        result = { throws: String(e.message) };
      }
      cases.push({ logic, result });
    }
    groups.push({ answers: data, cases });
  }
  return { generator: "tests/jsonlogic/generate.mjs", seed, fields: FIELDS, groups };
}

export function encode(v) {
  if (typeof v === "number") return { n: Object.is(v, -0) ? "-0" : String(v) };
  if (Array.isArray(v)) return v.map(encode);
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  throw new Error(`json-logic-js gave a value leadscore has no counterpart of: ${typeof v}`);
}

/** The case file's text: one group per line, so that a change shows where it is. */
export function text(cases) {
  const { groups, ...head } = cases;
  const lines = groups.map((g) => "    " + JSON.stringify(g));
  const top = JSON.stringify(head).slice(0, -1);
  return `${top},\n  "groups": [\n${lines.join(",\n")}\n  ]\n}\n`;
}

export const path = fileURLToPath(new URL("cases.json", import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const cases = generate({ seed: Number(arg("seed") ?? SEED), groups: Number(arg("groups") ?? GROUPS) });
  const out = arg("out") ?? path;
  writeFileSync(out, text(cases));
  const all = cases.groups.flatMap((g) => g.cases);
  const throws = all.filter((c) => c.result && c.result.throws).length;
  console.log(`${all.length} cases (${throws} on which json-logic-js throws) written to ${out}`);
}

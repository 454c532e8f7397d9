// What a lead generator needs to know about a model: its fields (types, options, bounds), steps, events,
// lists, and the string and number literals its expressions compare against, so that generated answers hit
// the rules, the thresholds and the boundaries between them.

const EXPRESSION_KEYS = new Set(["when", "points", "required", "visible_if", "enabled_if", "if"]);

/** Every expression of the document: strings under expression keys, JsonLogic objects as they are. */
function expressions(doc) {
  const out = [];
  const walk = (v, key) => {
    if (typeof v === "string") {
      if (EXPRESSION_KEYS.has(key)) out.push(v);
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x, key);
    } else if (v && typeof v === "object") {
      if (EXPRESSION_KEYS.has(key)) out.push(v);
      for (const [k, x] of Object.entries(v)) walk(x, EXPRESSION_KEYS.has(key) ? key : k);
    }
  };
  walk(doc, "");
  return out;
}

/** String literals ('...' or "...") and number literals in expressions; string and number leaves of
 * JsonLogic objects. */
function literals(exprs) {
  const strings = new Set();
  const numbers = new Set();
  const leaves = (v, parentOp) => {
    if (typeof v === "string") {
      if (parentOp !== "var") strings.add(v);
    } else if (typeof v === "number") {
      numbers.add(v);
    } else if (Array.isArray(v)) {
      for (const x of v) leaves(x, parentOp);
    } else if (v && typeof v === "object") {
      for (const [op, x] of Object.entries(v)) leaves(x, op);
    }
  };
  for (const e of exprs) {
    if (typeof e !== "string") {
      leaves(e, "");
      continue;
    }
    const text = e.replace(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g, (_, a, b) => {
      strings.add((a ?? b).replace(/\\(.)/g, "$1"));
      return " ";
    });
    for (const m of text.matchAll(/(?<![A-Za-z_0-9.])\d+(?:\.\d+)?(?![A-Za-z_0-9])/g)) numbers.add(Number(m[0]));
  }
  return { strings: [...strings], numbers: [...numbers].sort((a, b) => a - b) };
}

export function profile(doc) {
  const exprs = expressions(doc);
  const lit = literals(exprs);
  const lists = doc.lists ?? {};
  const listValues = Object.values(lists).flat();
  const domains = listValues.filter((v) => typeof v === "string" && /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(v));
  const countries = listValues.filter((v) => typeof v === "string" && /^[A-Z]{2}$/.test(v));
  const fields = doc.fields.map((f) => ({
    id: f.id,
    type: f.type,
    options: (f.options ?? []).map((o) => (typeof o === "string" ? o : o.value)),
    min: f.min,
    max: f.max,
    maxLength: f.max_length,
  }));
  // Numbers the expressions compare with or divide by, and the field bounds.
  const numbers = new Set(lit.numbers);
  for (const f of fields) {
    if (f.min !== undefined) numbers.add(f.min);
    if (f.max !== undefined) numbers.add(f.max);
  }
  // Day counts that matter to events: windows, half-lives, and literals (count(x, 14), days_since(x) > 60).
  const days = new Set(lit.numbers.filter((n) => n > 0 && n <= 400));
  for (const r of doc.rules ?? []) {
    if (r.within_days !== undefined) days.add(r.within_days);
    if (r.decay?.half_life_days !== undefined) {
      days.add(r.decay.half_life_days);
      days.add(2 * r.decay.half_life_days);
    }
  }
  const steps = (doc.steps ?? []).map((s) => s.fields ?? []);
  const inSteps = new Set(steps.flat());
  return {
    id: doc.id,
    fields,
    byId: new Map(fields.map((f) => [f.id, f])),
    steps,
    outsideSteps: fields.map((f) => f.id).filter((id) => !inSteps.has(id)),
    events: (doc.events ?? []).map((e) => (typeof e === "string" ? e : e.id)),
    strings: lit.strings,
    numbers: [...numbers].sort((a, b) => a - b),
    days: [...days].sort((a, b) => a - b),
    domains: [...new Set(domains)],
    countries: [...new Set(countries)],
    listWords: [...new Set(listValues.filter((v) => typeof v === "string"))],
  };
}

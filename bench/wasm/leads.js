// Leads for the benchmark: the sample leads of examples/leads/ (CSV and NDJSON), read into the shape the Wasm
// API takes ({ answers, events: [{ type, at }] } with `at` in milliseconds), and generated leads that sweep
// the model's thresholds. Every generated value passes the model's field checks (types, options, min/max,
// e-mail format), so a difference between two scorers is a difference in scoring, not in input checking.

/** 2026-11-23T00:00:00Z, the day the sample leads were collected: the "now" of every evaluation. */
export const NOW = Date.UTC(2026, 10, 23);

const DAY_MS = 86_400_000;

/** Splits CSV text into rows of cells (RFC 4180: quoted cells, doubled quotes, CRLF or LF). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else {
      cell += c;
    }
  }
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => r.length > 1 || r[0] !== "");
}

function cellValue(type, cell) {
  switch (type) {
    case "number":
    case "integer":
      return Number(cell);
    case "boolean":
      return ["true", "yes", "1", "on"].includes(cell.trim().toLowerCase());
    case "multi":
      return cell.split(";").map((s) => s.trim()).filter(Boolean);
    default:
      return cell;
  }
}

/** Leads of a CSV file in the format of docs/rules.md: an `id` column, field columns, event columns. */
export function leadsFromCsv(model, text) {
  const types = new Map(model.fields.map((f) => [f.id, f.type]));
  const eventIds = new Set(model.events.map((e) => e.id));
  const [header, ...rows] = parseCsv(text);
  return rows.map((cells) => {
    const lead = { id: "", answers: {}, events: [] };
    header.forEach((column, i) => {
      const cell = cells[i] ?? "";
      if (column === "id") {
        lead.id = cell;
      } else if (cell.trim() === "") {
        // unanswered, or an event that never occurred
      } else if (eventIds.has(column)) {
        for (const at of cell.split(";")) lead.events.push({ type: column, at: Date.parse(at.trim()) });
      } else if (types.has(column)) {
        lead.answers[column] = cellValue(types.get(column), cell);
      } else {
        throw new Error(`CSV column \`${column}\` is neither a field nor an event of the model`);
      }
    });
    lead.events.sort((a, b) => a.at - b.at);
    return lead;
  });
}

/** Leads of an NDJSON file: `at` as RFC 3339 text there, in milliseconds here. */
export function leadsFromNdjson(text) {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const { id, answers = {}, events = [] } = JSON.parse(line);
      return { id, answers, events: events.map((e) => ({ type: e.type, at: Date.parse(e.at) })) };
    });
}

/** A small seeded generator (mulberry32), so that every run and both runtimes see the same leads. */
export function random(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (list) => list[Math.floor(next() * list.length)];
  const chance = (p) => next() < p;
  return { next, pick, chance };
}

const FIRST_NAMES = ["Ada", "Björn", "Chiara", "Deepa", "Émile", "Farah", "Gus", "Hana", "Iker", "Jun"];
const TITLES = [
  "VP Data & Analytics", "Head of Growth", "Junior Analyst", "Marketing Assistant", "CTO", "Data Engineer",
  "Research Intern", "ANALYTICS Lead", "Trainee Developer", "Product Manager", "Sales Director", "Founder",
  "Growth Hacker", "Office Manager", "Senior Data Scientist", "Directrice Marketing",
];
const BUSINESS_DOMAINS = ["zahlwerk.de", "casabella-shop.it", "Stroomlijn.NL", "voyagio.fr", "ledgerly.com", "tinyloop.io"];
const OTHER_COUNTRIES = ["BR", "IN", "JP", "ZA", "MX", "CN"];
const UTM = ["g2", "G2", "Partner", "capterra", "CAPTERRA", "google", "newsletter", "linkedin", "partners"];
const EMPLOYEES = [1, 5, 9, 10, 19, 20, 49, 50, 99, 100, 101, 249, 250, 420, 999, 1000, 4999, 5000, 5001, 12000, 1000000];
const REVENUE = [0, 2.5, 9.99, 10, 65, 300];
const BUDGETS = [0, 50, 99, 99.5, 100, 249, 250, 251, 999, 1000, 1999, 2000, 2250, 5000, 100000];
const EVENT_AGES = [0, 0.2, 1, 6.99, 7, 7.01, 13.5, 14, 20, 29.9, 30, 30.1, 45, 59, 60, 61, 89, 90, 91, 119, 121, 200];

/**
 * `n` leads with a random subset of answers (including answers to fields the form would hide, which must not
 * count) and random events (including a few stamped slightly after `now`, as clock skew gives).
 */
export function generateLeads(model, n, seed = 42) {
  const r = random(seed);
  const lists = model.lists;
  const options = (id) => model.fields.find((f) => f.id === id).options.map((o) => (typeof o === "string" ? o : o.value));
  const leads = [];
  for (let i = 0; i < n; i++) {
    const full = r.chance(0.6); // most leads answer most questions
    const p = (q) => r.chance(full ? q : q / 3);
    const a = {};
    if (p(0.6)) a.utm_source = r.pick(UTM);
    if (p(0.95)) {
      const domain = r.pick([
        ...BUSINESS_DOMAINS, ...BUSINESS_DOMAINS, r.pick(lists.free_mail), r.pick(lists.competitor_domains), "Gmail.com",
      ]);
      a.email = `${r.pick(FIRST_NAMES).toLowerCase()}.${i}@${domain}`;
    }
    if (p(0.9)) a.first_name = r.pick(FIRST_NAMES);
    if (p(0.8)) a.job_title = r.pick(TITLES);
    if (p(0.9)) a.seniority = r.chance(0.1) ? "student" : r.pick(options("seniority"));
    if (p(0.9)) a.use_case = r.chance(0.75) ? "own_company" : r.pick(options("use_case"));
    if (p(0.8)) a.company = `Company ${i}`;
    if (p(0.85)) a.country = r.chance(0.85) ? r.pick(lists.served_countries) : r.pick(OTHER_COUNTRIES);
    if (p(0.85)) a.industry = r.pick(options("industry"));
    if (p(0.85)) a.employees = r.chance(0.7) ? r.pick(EMPLOYEES) : 1 + Math.floor(r.next() ** 3 * 20000);
    if (p(0.6)) a.annual_revenue = r.pick(REVENUE);
    if (p(0.7)) a.data_sources = options("data_sources").filter(() => r.chance(0.3));
    if (p(0.7)) a.current_tool = r.pick(options("current_tool"));
    if (p(0.7)) a.budget_monthly = r.chance(0.7) ? r.pick(BUDGETS) : Math.round(r.next() * 600000) / 100;
    if (p(0.8)) a.timeline = r.pick(options("timeline"));
    if (p(0.7)) a.decision_maker = r.chance(0.7);
    if (p(0.4)) a.sso_required = r.chance(0.5);
    if (p(0.4)) a.security_review = r.chance(0.5);
    if (p(0.5)) a.phone = `+39 02 555 ${1000 + i}`;
    if (p(0.4)) a.callback_time = r.pick(options("callback_time"));
    const events = [];
    for (const { id } of model.events) {
      const times = r.chance(0.5) ? 0 : Math.floor(r.next() * 7);
      for (let k = 0; k < times; k++) {
        const age = r.chance(0.5) ? r.pick(EVENT_AGES) : r.next() * 150;
        const skew = r.chance(0.03) ? -r.next() * 0.5 : 0; // up to half a day in the future
        events.push({ type: id, at: NOW - Math.round((age + skew) * DAY_MS) });
      }
    }
    events.sort((x, y) => x.at - y.at);
    leads.push({ id: `G-${String(i + 1).padStart(3, "0")}`, answers: a, events });
  }
  return leads;
}

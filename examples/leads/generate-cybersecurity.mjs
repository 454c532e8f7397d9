// Generates submitted leads for examples/cybersecurity.json, with their events, for the scorer's benchmarks and
// for `leadscore score`: `node examples/leads/generate-cybersecurity.mjs [--rows N] [--seed S] [--ndjson]
// [--now RFC3339] > leads.csv`. The shipped sample (cybersecurity.csv) is `--rows 40 --seed 11`. Deterministic:
// the same arguments give the same file. Event times fall in the 200 days before `--now` (default
// 2026-11-23T00:00:00Z, the day the other samples were collected), so that decay and windows matter.
import { xorshift32 } from "../random.mjs";

const args = process.argv.slice(2);
const arg = (name, d) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : d;
};
const ROWS = Number(arg("rows", 40));
const NDJSON = args.includes("--ndjson");
const NOW = Date.parse(arg("now", "2026-11-23T00:00:00Z"));
const rand = xorshift32(Number(arg("seed", 11)));

const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const chance = (p) => rand() < p;
const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const FIRST = ["Anna", "Marco", "Julia", "Luca", "Sofia", "Jonas", "Elena", "Pieter", "Clara", "Tomás", "Ines", "Karl", "Chiara", "Noah", "Lea", "Mateo", "Aoife", "Sven"];
const LAST = ["rossi", "muller", "dubois", "garcia", "jansen", "bianchi", "schmidt", "martin", "lopez", "devries", "ferrari", "weber", "byrne", "nilsson"];
const COMPANY = ["Northwind", "Brightpath", "Kestrel", "Lumen", "Orbital", "Quarry", "Solstice", "Verdant", "Zephyr", "Altura", "Copperleaf", "Harbor"];
const SUFFIX = ["GmbH", "S.r.l.", "SAS", "B.V.", "Ltd", "S.L.", "AG", "SpA", "Inc."];
const TITLES = [
  "CISO", "Chief Information Security Officer", "Head of IT Security", "Security Engineer", "SOC Analyst", "Cyber Defence Lead",
  "CTO", "CIO", "VP Engineering", "IT Director", "Head of Infrastructure", "IT Manager", "System Administrator",
  "DevOps Engineer", "Network Engineer", "Founder", "Owner", "Office Manager", "Junior IT Support", "IT Intern",
  "Student", "Procurement Specialist", "Finance Director", "Operations Manager",
];
const FREE = ["gmail.com", "outlook.com", "yahoo.com", "gmx.de", "libero.it"];
const COMPETITORS = ["sentrylane.io", "watchpost.com"];
const COUNTRIES = ["DE", "DE", "IT", "FR", "NL", "GB", "ES", "AT", "SE", "US", "IE", "PL", "CH", "BR", "IN"];
const INDUSTRIES = ["finance", "healthcare", "energy", "manufacturing", "retail", "technology", "public_sector", "education", "other"];
const ROLES = ["decision_maker", "decision_maker", "decision_maker", "influencer", "influencer", "evaluator", "evaluator", "student", "other"];
const CLOUDS = ["aws", "azure", "gcp", "hybrid", "on_premises", ""];
const COMPLIANCE = ["iso27001", "soc2", "nis2", "gdpr", "pci_dss", "hipaa"];
const SOLUTIONS = ["none", "antivirus", "antivirus", "edr", "mdr_other", "in_house_soc"];
const TIMELINES = ["now", "this_quarter", "this_year", "researching"];
const EVENTS = [
  ["page_view", 12], ["pricing_view", 3], ["whitepaper_download", 2], ["threat_report_download", 2],
  ["webinar_attended", 1], ["email_click", 4], ["trial_signup", 0.2], ["demo_request", 0.3],
];
/** Minutes in a day: event times fall on whole minutes. */
const MINUTES = 1440;

const FIELDS = [
  "email", "first_name", "job_title", "purchase_role", "company", "country", "industry", "employees", "it_staff",
  "annual_revenue", "cloud", "endpoints", "compliance", "current_solution", "recent_incident", "security_budget",
  "timeline", "phone",
];

function lead(i) {
  const first = pick(FIRST);
  const last = pick(LAST);
  const company = `${pick(COMPANY)} ${pick(SUFFIX)}`;
  const domain = chance(0.12)
    ? pick(FREE)
    : chance(0.03)
      ? pick(COMPETITORS)
      : `${company.split(" ")[0].toLowerCase()}${between(1, 99)}.example`;
  const employees = Math.round(Math.exp(rand() * Math.log(20000)));
  const timeline = pick(TIMELINES);
  const answers = {
    email: `${first.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()}.${last}@${domain}`,
    first_name: first,
    job_title: pick(TITLES),
    purchase_role: pick(ROLES),
    company,
    country: pick(COUNTRIES),
    industry: pick(INDUSTRIES),
    employees,
    it_staff: chance(0.8) ? Math.max(0, Math.round(employees * (0.01 + rand() * 0.05))) : null,
    annual_revenue: chance(0.6) ? Math.round(employees * (0.05 + rand() * 0.3) * 10) / 10 : null,
    cloud: pick(CLOUDS) || null,
    endpoints: Math.round(employees * (0.8 + rand() * 1.5)),
    compliance: COMPLIANCE.filter(() => chance(0.3)),
    current_solution: pick(SOLUTIONS),
    recent_incident: chance(0.6) ? chance(0.3) : null,
    security_budget: chance(0.7) ? Math.round(employees * (20 + rand() * 200) / 100) * 100 : null,
    timeline,
    phone: ["now", "this_quarter"].includes(timeline) && chance(0.7) ? `+49 30 ${between(1000000, 9999999)}` : null,
  };
  const events = [];
  const engaged = rand();
  for (const [type, mean] of EVENTS) {
    const n = Math.floor(rand() * 2 * mean * engaged + (rand() < (mean * engaged) % 1 ? 1 : 0));
    for (let k = 0; k < n; k++) events.push({ type, at: new Date(NOW - Math.floor(rand() * 200 * MINUTES) * 60000).toISOString().replace(":00.000Z", ":00Z") });
  }
  return { id: `C-${String(i + 1).padStart(6, "0")}`, answers, events };
}

const csvCell = (v) => {
  const s = v == null ? "" : Array.isArray(v) ? v.join(";") : String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};
const out = [];
const flush = () => {
  process.stdout.write(out.join(""));
  out.length = 0;
};
if (!NDJSON) out.push(["id", ...FIELDS, ...EVENTS.map(([e]) => e)].join(",") + "\n");
for (let i = 0; i < ROWS; i++) {
  const l = lead(i);
  if (NDJSON) {
    const answers = Object.fromEntries(Object.entries(l.answers).filter(([, v]) => v != null && !(Array.isArray(v) && !v.length)));
    out.push(JSON.stringify({ id: l.id, answers, events: l.events }) + "\n");
  } else {
    const times = (e) => l.events.filter((x) => x.type === e).map((x) => x.at).join(";");
    out.push([l.id, ...FIELDS.map((f) => l.answers[f]), ...EVENTS.map(([e]) => times(e))].map(csvCell).join(",") + "\n");
  }
  if (out.length >= 4096) flush();
}
flush();

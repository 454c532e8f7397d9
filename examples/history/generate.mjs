// Generates a history of past leads for examples/b2b-saas.json, with what became of each one, for the
// backtest: `node examples/history/generate.mjs [--rows N] [--seed S] > history.csv`. The shipped sample
// (b2b-saas.csv) is `--rows 1000 --seed 7`. Deterministic: the same arguments give the same file.
//
// Outcomes are drawn from a hidden propensity that follows the buyer's real situation (seniority, size,
// urgency, a demo or a trial, a modern data stack), not from the model's score, so the backtest has
// something to find: some rules matter more than the model says, some less.
import { xorshift32 } from "../random.mjs";

const args = process.argv.slice(2);
const arg = (name, d) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const ROWS = arg("rows", 1000);
const rand = xorshift32(arg("seed", 7));

const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const weighted = (pairs) => {
  const total = pairs.reduce((s, [, w]) => s + w, 0);
  let r = rand() * total;
  for (const [v, w] of pairs) if ((r -= w) < 0) return v;
  return pairs[pairs.length - 1][0];
};
const chance = (p) => rand() < p;

const FIRST = ["Anna", "Marco", "Julia", "Luca", "Sofia", "Jonas", "Elena", "Pieter", "Clara", "Tomás", "Ines", "Karl", "Chiara", "Noah", "Lea", "Mateo"];
const LAST = ["rossi", "muller", "dubois", "garcia", "jansen", "bianchi", "schmidt", "martin", "lopez", "devries", "ferrari", "weber"];
const COMPANY = ["Northwind", "Brightpath", "Kestrel", "Lumen", "Orbital", "Quarry", "Solstice", "Tidewater", "Verdant", "Zephyr", "Altura", "Copperleaf"];
const SUFFIX = ["GmbH", "S.r.l.", "SAS", "B.V.", "Ltd", "S.L.", "AG", "SpA"];
const TITLES = {
  c_level: ["CEO", "CTO", "Chief Data Officer", "Founder", "COO"],
  vp: ["VP Marketing", "VP Data & Analytics", "Head of Growth", "VP Product"],
  director: ["Director of Analytics", "E-commerce Director", "Marketing Director", "Director of Product"],
  manager: ["Growth Manager", "Data Team Lead", "Product Manager", "Marketing Manager"],
  individual_contributor: ["Data Analyst", "Analytics Engineer", "Marketing Specialist", "Junior Analyst", "Marketing Assistant"],
  student: ["Student", "Marketing Intern", "Research Assistant"],
};
const COUNTRIES = [["IT", 18], ["DE", 18], ["FR", 12], ["ES", 8], ["NL", 8], ["GB", 8], ["AT", 4], ["BE", 4], ["DK", 3], ["FI", 2], ["US", 6], ["BR", 3], ["IN", 3]];
const INDUSTRIES = [["ecommerce", 16], ["saas", 18], ["fintech", 10], ["media", 8], ["marketplace", 7], ["travel", 6], ["healthcare", 6], ["manufacturing", 8], ["education", 6], ["public_sector", 5], ["other", 10]];
const SOURCES = ["google_analytics", "segment", "snowflake", "bigquery", "postgres", "salesforce", "hubspot", "shopify", "spreadsheets"];
const UTM = [["google", 30], ["linkedin", 20], ["newsletter", 15], ["g2", 8], ["partner", 6], ["capterra", 4], ["", 17]];
const FREE = ["gmail.com", "outlook.com", "yahoo.it", "hotmail.com"];
const COMPETITOR = ["metricbay.io", "funnelforge.com"];

const DAY = 86400000;
const START = Date.UTC(2025, 0, 6);
const SPAN = 600 * DAY;
const iso = (ms) => new Date(Math.round(ms / 60000) * 60000).toISOString().replace(".000Z", "Z");
const csv = (v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

const EVENTS = ["page_view", "pricing_view", "case_study_download", "whitepaper_download", "webinar_attended", "demo_request", "email_click", "trial_signup"];
const header = ["id", "scored_at", "utm_source", "email", "first_name", "job_title", "seniority", "use_case", "company", "country", "industry", "employees", "annual_revenue", "data_sources", "current_tool", "budget_monthly", "timeline", "decision_maker", "sso_required", "security_review", ...EVENTS, "outcome"];
const out = [header.join(",")];

for (let i = 1; i <= ROWS; i++) {
  const scoredAt = START + Math.floor(rand() * SPAN);
  const seniority = weighted([["c_level", 8], ["vp", 10], ["director", 14], ["manager", 24], ["individual_contributor", 34], ["student", 6]]);
  const useCase = seniority === "student" ? weighted([["coursework", 8], ["personal_project", 2]]) : weighted([["own_company", 72], ["client_work", 14], ["personal_project", 7], ["coursework", 3]]);
  const first = pick(FIRST);
  const last = pick(LAST);
  const companyName = `${pick(COMPANY)} ${pick(["Labs", "Retail", "Media", "Pay", "Travel", "Systems", "Group"])} ${pick(SUFFIX)}`;
  const employees = Math.max(1, Math.round(Math.exp(1.2 + rand() * 7.5)));
  const domain = chance(0.015) ? pick(COMPETITOR) : chance(employees < 15 ? 0.45 : 0.08) ? pick(FREE) : `${companyName.split(" ")[0].toLowerCase()}${i}.example`;
  const timeline = weighted([["now", 10], ["this_quarter", 18], ["this_half", 20], ["next_year", 12], ["researching", 40]]);
  const sources = SOURCES.filter(() => chance(0.22));
  const budget = chance(0.6) ? Math.round((employees >= 50 ? 300 : 80) * Math.exp(rand() * 2.5) / 10) * 10 : "";
  const decision = chance(0.75) ? String(["c_level", "vp", "director"].includes(seniority) ? chance(0.85) : chance(0.3)) : "";
  const industry = weighted(INDUSTRIES);
  const country = weighted(COUNTRIES);
  const revenue = employees >= 20 && chance(0.5) ? Math.round(employees * (0.05 + rand() * 0.3)) : "";

  // Hidden truth: how likely this buyer is to sign.
  const urgent = timeline === "now" ? 1.3 : timeline === "this_quarter" ? 0.8 : timeline === "this_half" ? 0.3 : -0.4;
  const senior = { c_level: 1.0, vp: 0.9, director: 0.6, manager: 0.2, individual_contributor: -0.5, student: -4 }[seniority];
  const size = employees >= 200 ? 0.9 : employees >= 50 ? 0.6 : employees >= 10 ? 0 : -1.2;
  const stack = sources.some((s) => ["snowflake", "bigquery", "segment"].includes(s)) ? 0.7 : 0;
  const engaged = rand();
  const demo = chance(0.08 + 0.25 * engaged * (urgent > 0 ? 1 : 0.4));
  const trial = chance(0.1 + 0.2 * engaged);
  const inTerritory = !["US", "BR", "IN"].includes(country);
  const knockout = ["coursework", "personal_project"].includes(useCase) || COMPETITOR.includes(domain) || !inTerritory;
  const z = -3.1 + urgent + senior + size + stack + (demo ? 1.4 : 0) + (trial ? 0.6 : 0) + (FREE.includes(domain) ? -0.8 : 0) + (rand() - 0.5);
  const p = knockout ? 0.005 : 1 / (1 + Math.exp(-z));
  const age = scoredAt - START;
  const open = age > SPAN - 60 * DAY ? chance(0.6) : chance(0.04);
  const outcome = open ? "" : chance(p) ? "won" : "lost";

  // Behaviour in the 90 days before the hand-over; busier for engaged buyers.
  const times = (n, spread = 90) =>
    Array.from({ length: n }, () => scoredAt - Math.floor(rand() * spread * DAY))
      .sort((a, b) => a - b)
      .map(iso)
      .join(";");
  const count = (mean) => Math.floor(-Math.log(1 - rand() * 0.999) * mean);
  const events = {
    page_view: times(count(1 + 8 * engaged)),
    pricing_view: times(count(0.3 + 3 * engaged), 30),
    case_study_download: times(count(0.2 + engaged)),
    whitepaper_download: times(count(0.3 + 0.8 * engaged)),
    webinar_attended: times(chance(0.1 + 0.2 * engaged) ? 1 : 0),
    demo_request: times(demo ? 1 : 0, 20),
    email_click: times(count(0.5 + 2 * engaged)),
    trial_signup: times(trial ? 1 : 0, 30),
  };

  const row = [
    `H-${String(i).padStart(6, "0")}`,
    iso(scoredAt),
    weighted(UTM),
    `${first.toLowerCase()}.${last}@${domain}`,
    first,
    pick(TITLES[seniority]),
    seniority,
    useCase,
    useCase === "own_company" || useCase === "client_work" ? companyName : "",
    country,
    industry,
    String(employees),
    String(revenue),
    sources.join(";"),
    pick(["none", "spreadsheet", "web_analytics", "product_analytics", "in_house"]),
    String(budget),
    timeline,
    decision,
    chance(0.2) ? "true" : "",
    chance(0.15) ? "true" : "",
    ...EVENTS.map((e) => events[e]),
    outcome,
  ];
  out.push(row.map(csv).join(","));
}
process.stdout.write(out.join("\n") + "\n");

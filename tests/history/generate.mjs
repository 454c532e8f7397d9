// Writes the CRM exports the backtest's mapping is tested on, as each CRM writes them (header names, quoting,
// dates, ranges, country names, lifecycle or status labels), for examples/b2b-saas.json:
//   hubspot-contacts.csv    200 contacts exported from HubSpot (Contacts > Export), outcome "Lifecycle Stage";
//   salesforce-leads.csv    120 leads of a Salesforce leads report, outcome "Lead Status".
// Deterministic (a fixed seed); run `node tests/history/generate.mjs` after changing it, and commit the files.
import { writeFileSync } from "node:fs";

let seed = 20261207;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = (list) => list[Math.floor(rand() * list.length)];
const csv = (rows) =>
  rows.map((r) => r.map((v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v))).join(",")).join("\r\n") + "\r\n";

const FIRST = ["Anna", "Luca", "Sofia", "Jonas", "Marie", "Pedro", "Emma", "Noah", "Giulia", "Lars", "Chloé", "José", "Zoë", "Björn"];
const LAST = ["Keller", "Rossi", "Dubois", "Smith", "García", "Jansen", "Novák", "O'Brien", "Müller", "Bianchi"];
const TITLES = ["VP Data & Analytics", "Head of Growth", "Marketing Manager", "CTO", "Data Analyst", "Founder & CEO", "Product Manager, Web"];
// Company sizes as HubSpot's "Number of Employees" often holds them: ranges, open ranges, grouped digits.
const SIZES = [["1-10", 0], ["11-50", 1], ["51-200", 2], ["201-500", 3], ["1,001-5,000", 4], ["10,001+", 5], ["120", 2], ["2,500", 4]];
// Industries as CRMs label them: some match the model's labels (in another case), some do not.
const INDUSTRIES = ["E-commerce and retail", "SOFTWARE AND SAAS", "Financial Services", "healthcare", "Media and Publishing", "Computer Software"];
// Country names, one the model cannot know.
const COUNTRIES = ["Germany", "Italy", "United States", "France", "United Kingdom", "Netherlands", "Spain", "Atlantis"];

function stage(size, country) {
  // Bigger companies in served countries become customers more often.
  const served = !["Atlantis"].includes(country);
  const p = served ? 0.08 + size * 0.09 : 0.02;
  const r = rand();
  if (r < p) return pick(["Customer", "Customer", "Evangelist"]);
  if (r < p + 0.25) return pick(["Other", "Unqualified"]);
  return pick(["Subscriber", "Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Opportunity"]);
}

const two = (n) => String(n).padStart(2, "0");
const hubspot = [[
  "Record ID", "First Name", "Last Name", "Email", "Job Title", "Company Name", "Number of Employees",
  "Country/Region", "Industry", "Phone Number", "Lifecycle Stage", "Create Date", "Original Source", "Contact owner",
]];
for (let i = 0; i < 200; i++) {
  const [size, rank] = pick(SIZES);
  const country = pick(COUNTRIES);
  const first = pick(FIRST);
  const last = pick(LAST);
  const company = `${pick(["Zahl", "Nord", "Blue", "Vento", "Acme", "Kite"])}${pick(["werk", "data", "labs", " & Co", ", Inc."])}`;
  const created = `2025-${two(1 + (i % 12))}-${two(1 + (i % 28))} ${two(8 + (i % 10))}:${two((i * 7) % 60)}`;
  hubspot.push([
    String(51000 + i * 13), first, last, `${first}.${last}${i}@example.com`.toLowerCase().replace(/[^a-z0-9@.]/g, ""),
    pick(TITLES), company, size, country, pick(INDUSTRIES), `+49 30 ${1000 + i}`, stage(rank, country), created,
    pick(["Organic Search", "Paid Search", "Direct Traffic", "Referrals"]), pick(["Dana Lee", "Sam Ortiz", ""]),
  ]);
}
writeFileSync(new URL("./hubspot-contacts.csv", import.meta.url), csv(hubspot));

const salesforce = [[
  "First Name", "Last Name", "Title", "Company / Account", "Email", "Country", "Industry", "No. of Employees",
  "Lead Source", "Lead Status", "Create Date", "Lead Owner",
]];
const STATUS = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"];
for (let i = 0; i < 120; i++) {
  const [size, rank] = pick(SIZES);
  const country = pick(COUNTRIES.slice(0, 7));
  const r = rand();
  const status = r < 0.1 + rank * 0.08 ? STATUS[2] : r < 0.55 ? STATUS[3] : pick(STATUS.slice(0, 2));
  salesforce.push([
    pick(FIRST), pick(LAST), pick(TITLES), `Account ${i}`, `lead${i}@example.org`, country, pick(INDUSTRIES), size,
    pick(["Web", "Partner Referral", "Trade Show"]), status, `2025-${two(1 + (i % 12))}-${two(1 + (i % 28))}`,
    pick(["Dana Lee", "Sam Ortiz"]),
  ]);
}
writeFileSync(new URL("./salesforce-leads.csv", import.meta.url), csv(salesforce));

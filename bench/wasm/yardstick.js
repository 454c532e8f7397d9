// The B2B model of examples/b2b-saas.json, written by hand as plain JavaScript: the yardstick leadscore is
// measured against. It scores a submitted lead the way the model says (docs/rules.md):
//
// - only answers to questions the form actually shows count (steps, jumps, `visible_if`);
// - knockouts in order, the first that holds disqualifies (scores are still computed);
// - each rule that holds adds its points to its group, in rule order; per-event rules count the most recent
//   occurrences within `withinDays`, at most `maxTimes`, each worth points * 2^(-age / halfLifeDays);
// - groups are clamped to their caps, the total is their sum, the stage is the first that holds;
// - a missing answer makes a condition that reads it not hold (`x != 'a'` and `x < 10` included).
//
// Inputs are taken as already valid (the form checks them), as a JS service fed by its own form would.

// The model's lists, shared with the lean yardstick (plain.js).
export const DAY_MS = 86_400_000;

export const FREE_MAIL = new Set([
  "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.it", "hotmail.com", "hotmail.co.uk",
  "hotmail.it", "outlook.com", "live.com", "msn.com", "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com",
  "gmx.de", "gmx.net", "web.de", "t-online.de", "orange.fr", "free.fr", "libero.it", "virgilio.it", "mail.com",
  "zoho.com", "yandex.com",
]);
export const COMPETITOR_DOMAINS = new Set(["metricbay.io", "funnelforge.com", "insightloop.io", "chartwise.io", "cohortly.com"]);
export const SERVED_COUNTRIES = new Set([
  "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
  "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "GB", "CH", "NO", "IS", "US", "CA", "AU", "NZ",
]);
export const TARGET_INDUSTRIES = new Set(["ecommerce", "saas", "fintech", "media", "marketplace", "travel"]);
export const CORE_MARKETS = new Set(["IT", "DE", "FR", "ES", "NL", "GB"]);

const GROUPS = [
  { id: "fit", min: -50, max: 60 },
  { id: "engagement", min: -Infinity, max: 40 },
  { id: "intent", min: 0, max: 25 },
];

const isSet = (v) => v !== undefined && v !== null;

/** The answers that count: those to questions the form shows on this lead's path. */
function shownAnswers(answers) {
  const shown = {};
  const take = (...ids) => {
    for (const id of ids) if (isSet(answers[id])) shown[id] = answers[id];
  };
  take("utm_source");
  // About you
  take("email", "first_name", "job_title", "seniority", "use_case");
  if (["personal_project", "coursework"].includes(shown.use_case) || shown.seniority === "student") return shown;
  // Your company
  take("company", "country", "industry", "employees");
  if (shown.employees >= 20) take("annual_revenue");
  if (isSet(shown.country) && !SERVED_COUNTRIES.has(shown.country)) return shown;
  // Your project
  take("data_sources", "current_tool", "budget_monthly", "timeline", "decision_maker");
  const skipToContact = ["next_year", "researching"].includes(shown.timeline);
  // Security and compliance
  if (!skipToContact && shown.employees >= 250) take("sso_required", "security_review");
  // How can we reach you?
  take("phone", "callback_time");
  return shown;
}

/** Ages in days of each event's occurrences, newest first (an occurrence after `now` is 0 days old). */
function eventAges(events, now) {
  const ages = {};
  for (const { type, at } of events) (ages[type] ??= []).push(Math.max(0, (now - at) / DAY_MS));
  for (const list of Object.values(ages)) list.sort((x, y) => x - y);
  return ages;
}

/** What the rules read: the answers that count, the e-mail domain, the job title in lower case, the events. */
function facts(lead, now) {
  const a = shownAnswers(lead.answers);
  const ages = eventAges(lead.events ?? [], now);
  return {
    a,
    domain: isSet(a.email) ? a.email.slice(a.email.lastIndexOf("@") + 1).trim().toLowerCase() : undefined,
    title: a.job_title?.toLowerCase(),
    ages,
    count: (event, days = Infinity) => (ages[event] ?? []).filter((age) => age <= days).length,
    daysSince: (event) => ages[event]?.[0] ?? Infinity,
  };
}

const titleHas = (f, ...words) => isSet(f.title) && words.some((w) => f.title.includes(w));

const RULES = [
  // Fit
  { id: "role_executive", group: "fit", when: (f) => ["c_level", "vp"].includes(f.a.seniority), points: 15 },
  { id: "role_director", group: "fit", when: (f) => f.a.seniority === "director", points: 12 },
  { id: "role_manager", group: "fit", when: (f) => f.a.seniority === "manager", points: 7 },
  { id: "title_data", group: "fit", when: (f) => titleHas(f, "data", "analytics", "growth"), points: 5 },
  { id: "title_junior", group: "fit", when: (f) => titleHas(f, "intern", "junior", "trainee", "assistant"), points: -10 },
  { id: "industry_target", group: "fit", when: (f) => TARGET_INDUSTRIES.has(f.a.industry), points: 10 },
  { id: "industry_slow", group: "fit", when: (f) => ["public_sector", "education"].includes(f.a.industry), points: -5 },
  { id: "size_micro", group: "fit", when: (f) => f.a.employees < 10, points: -8 },
  { id: "size_small", group: "fit", when: (f) => f.a.employees >= 10 && f.a.employees <= 49, points: 4 },
  { id: "size_core", group: "fit", when: (f) => f.a.employees >= 50 && f.a.employees <= 5000, points: 8 },
  {
    id: "size_scale",
    group: "fit",
    when: (f) => f.a.employees >= 100,
    points: (f) => Math.min(Math.floor(f.a.employees / 100), 10),
  },
  { id: "revenue_10m", group: "fit", when: (f) => f.a.annual_revenue >= 10, points: 6 },
  { id: "core_market", group: "fit", when: (f) => f.a.employees >= 50 && CORE_MARKETS.has(f.a.country), points: 5 },
  { id: "business_email", group: "fit", when: (f) => isSet(f.domain) && !FREE_MAIL.has(f.domain), points: 5 },
  { id: "free_email", group: "fit", when: (f) => FREE_MAIL.has(f.domain), points: -15 },
  {
    id: "modern_stack",
    group: "fit",
    when: (f) => f.a.data_sources?.some((s) => ["snowflake", "bigquery", "segment"].includes(s)) ?? false,
    points: 8,
  },
  { id: "many_sources", group: "fit", when: (f) => f.a.data_sources?.length >= 3, points: 4 },
  { id: "decision_involved", group: "fit", when: (f) => f.a.decision_maker === true, points: 6 },
  { id: "decision_not_involved", group: "fit", when: (f) => f.a.decision_maker === false, points: -4 },
  { id: "enterprise_requirements", group: "fit", when: (f) => f.a.sso_required || f.a.security_review, points: 4 },
  // Buying intent
  { id: "timeline_now", group: "intent", when: (f) => f.a.timeline === "now", points: 12 },
  { id: "timeline_quarter", group: "intent", when: (f) => f.a.timeline === "this_quarter", points: 8 },
  { id: "timeline_half", group: "intent", when: (f) => f.a.timeline === "this_half", points: 4 },
  {
    id: "budget",
    group: "intent",
    when: (f) => f.a.budget_monthly >= 250,
    points: (f) => Math.min(Math.floor(f.a.budget_monthly / 250), 8),
  },
  { id: "replacing_tool", group: "intent", when: (f) => ["product_analytics", "in_house"].includes(f.a.current_tool), points: 6 },
  { id: "pricing_research", group: "intent", when: (f) => f.count("pricing_view", 14) >= 3, points: 5 },
  // Engagement: points per occurrence
  { id: "page_views", group: "engagement", per: "page_view", points: 1, maxTimes: 10, withinDays: 30, halfLifeDays: 14 },
  { id: "pricing_views", group: "engagement", per: "pricing_view", points: 3, maxTimes: 3, withinDays: 30, halfLifeDays: 10 },
  { id: "case_studies", group: "engagement", per: "case_study_download", points: 5, maxTimes: 3, withinDays: 90, halfLifeDays: 30 },
  { id: "whitepapers", group: "engagement", per: "whitepaper_download", points: 4, maxTimes: 3, withinDays: 90, halfLifeDays: 30 },
  { id: "webinars", group: "engagement", per: "webinar_attended", points: 8, maxTimes: 2, withinDays: 120, halfLifeDays: 45 },
  { id: "email_clicks", group: "engagement", per: "email_click", points: 2, maxTimes: 5, withinDays: 60, halfLifeDays: 14 },
  { id: "trial", group: "engagement", per: "trial_signup", points: 10, maxTimes: 1, withinDays: 60 },
  { id: "demo", group: "engagement", per: "demo_request", points: 15, maxTimes: 1, withinDays: 90 },
  // Engagement: conditions on behaviour
  { id: "active_this_week", group: "engagement", when: (f) => f.daysSince("page_view") <= 7, points: 3 },
  {
    id: "content_depth",
    group: "engagement",
    when: (f) => f.count("case_study_download") + f.count("whitepaper_download") >= 3,
    points: 4,
  },
  {
    id: "gone_quiet",
    group: "engagement",
    when: (f) => f.count("page_view") >= 1 && f.daysSince("page_view") > 60,
    points: -10,
  },
  {
    id: "review_site",
    group: "engagement",
    when: (f) => ["partner", "g2", "capterra"].includes(f.a.utm_source?.toLowerCase()),
    points: 3,
  },
];

const KNOCKOUTS = [
  { id: "student", reason: "student", when: (f) => f.a.use_case === "coursework" || f.a.seniority === "student" },
  { id: "competitor", reason: "competitor", when: (f) => COMPETITOR_DOMAINS.has(f.domain) },
  {
    id: "out_of_territory",
    reason: "out_of_territory",
    when: (f) => isSet(f.a.country) && !SERVED_COUNTRIES.has(f.a.country),
  },
  { id: "personal_project", reason: "b2c", when: (f) => f.a.use_case === "personal_project" },
  { id: "budget_too_small", reason: "budget_too_small", when: (f) => f.a.budget_monthly < 100 && f.a.employees < 20 },
];

const STAGES = [
  {
    id: "sql",
    when: (f, s) =>
      (s.total >= 80 && s.fit >= 30 && f.a.decision_maker !== false) || (s.fit >= 40 && f.count("demo_request", 30) >= 1),
  },
  { id: "mql", when: (f, s) => s.total >= 45 || (s.fit >= 25 && s.engagement >= 20) },
  { id: "lead", when: (f) => isSet(f.a.email) },
  { id: "subscriber", when: () => true },
];

const band = (score, bands) => bands.find(([, min]) => score >= min)[0];
const FIT_BANDS = [["A", 40], ["B", 25], ["C", 10], ["D", -Infinity]];
const ENGAGEMENT_BANDS = [["1", 25], ["2", 10], ["3", -Infinity]];

/** Points of a per-event rule: the most recent occurrences first, decayed by their age. */
function eventPoints(ages = [], { points, maxTimes, withinDays, halfLifeDays }) {
  let weight = 0;
  for (const age of ages.slice(0, maxTimes)) {
    if (age > withinDays) break;
    weight += halfLifeDays ? 2 ** (-age / halfLifeDays) : 1;
  }
  return points * weight;
}

/**
 * Scores a submitted lead `{ answers, events: [{ type, at }] }` at `now` (milliseconds since 1970).
 * Returns `{ total, groups: { fit, engagement, intent }, stage, knockout, grade }`.
 */
export function scoreLead(lead, now) {
  const f = facts(lead, now);
  const knockout = KNOCKOUTS.find((k) => k.when(f));

  const raw = { fit: 0, engagement: 0, intent: 0 };
  for (const rule of RULES) {
    if (rule.per) {
      raw[rule.group] += eventPoints(f.ages[rule.per], rule);
    } else if (rule.when(f)) {
      raw[rule.group] += typeof rule.points === "function" ? rule.points(f) : rule.points;
    }
  }
  const groups = {};
  let total = 0;
  for (const { id, min, max } of GROUPS) {
    groups[id] = Math.min(Math.max(raw[id], min), max);
    total += groups[id];
  }

  const scores = { total, ...groups };
  const stage = knockout ? "disqualified" : STAGES.find((s) => s.when(f, scores)).id;
  const letter = band(groups.fit, FIT_BANDS);
  return {
    total,
    groups,
    stage,
    knockout: knockout?.id ?? null,
    grade: letter + band(groups.engagement, ENGAGEMENT_BANDS),
  };
}

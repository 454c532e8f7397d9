// The B2B model of examples/b2b-saas.json expressed as JsonLogic rules, evaluated with json-logic-js: the
// form's visibility and jumps, the knockouts, every rule's condition and points, and the stages, each one a
// `jsonLogic.apply` on the lead's data. Sums, caps and the choice of the first knockout or stage are the
// few lines of JS around them, as an application built on json-logic-js has.
//
// JsonLogic has no lower-casing, no e-mail domain, no rounding and no exponential, so those are operations
// added with `jsonLogic.add_operation` (as JsonLogic users do); `per_event` does a per-event rule's sum
// (most recent first, within a window, at most N, with decay). Counting events and "days since" are plain
// JsonLogic (`reduce`, `some`, `all`) over each event's ages in days, which the data carries.
//
// A missing answer is `null` for `var`; as `null < 10` is true in JavaScript, conditions that would hold on
// a missing answer test for it first (`answered`).

const DAY_MS = 86_400_000;

const FREE_MAIL = [
  "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.it", "hotmail.com", "hotmail.co.uk",
  "hotmail.it", "outlook.com", "live.com", "msn.com", "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com",
  "gmx.de", "gmx.net", "web.de", "t-online.de", "orange.fr", "free.fr", "libero.it", "virgilio.it", "mail.com",
  "zoho.com", "yandex.com",
];
const COMPETITOR_DOMAINS = ["metricbay.io", "funnelforge.com", "insightloop.io", "chartwise.io", "cohortly.com"];
const SERVED_COUNTRIES = [
  "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
  "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "GB", "CH", "NO", "IS", "US", "CA", "AU", "NZ",
];
const TARGET_INDUSTRIES = ["ecommerce", "saas", "fintech", "media", "marketplace", "travel"];

const v = (name) => ({ var: name });
const answered = (name) => ({ "!==": [v(name), null] });
const eq = (name, value) => ({ "==": [v(name), value] });
/** `count(event)` and `count(event, days)`. */
const count = (event, days) => ({
  reduce: [
    v(`ages.${event}`),
    { "+": [v("accumulator"), days === undefined ? 1 : { if: [{ "<=": [v("current"), days] }, 1, 0] }] },
    0,
  ],
});
const titleHas = (words) => ({ or: words.map((w) => ({ in: [w, { lower: v("job_title") }] })) });

/** The form: background fields, then steps with their visibility and jumps. */
const FORM = {
  background: ["utm_source"],
  steps: [
    {
      id: "about_you",
      fields: ["email", "first_name", "job_title", "seniority", "use_case"],
      next: [{ if: { or: [{ in: [v("use_case"), ["personal_project", "coursework"]] }, eq("seniority", "student")] }, goto: "end" }],
    },
    {
      id: "company",
      fields: ["company", "country", "industry", "employees", { id: "annual_revenue", visible_if: { ">=": [v("employees"), 20] } }],
      next: [{ if: { and: [answered("country"), { "!": { in: [v("country"), SERVED_COUNTRIES] } }] }, goto: "end" }],
    },
    {
      id: "project",
      fields: ["data_sources", "current_tool", "budget_monthly", "timeline", "decision_maker"],
      next: [{ if: { in: [v("timeline"), ["next_year", "researching"]] }, goto: "contact" }],
    },
    { id: "enterprise", visible_if: { ">=": [v("employees"), 250] }, fields: ["sso_required", "security_review"] },
    { id: "contact", fields: ["phone", "callback_time"], next: [{ goto: "end" }] },
  ],
};

const GROUPS = [
  { id: "fit", min: -50, max: 60 },
  { id: "engagement", max: 40 },
  { id: "intent", min: 0, max: 25 },
];

const KNOCKOUTS = [
  { id: "student", if: { or: [eq("use_case", "coursework"), eq("seniority", "student")] } },
  { id: "competitor", if: { in: [{ domain: v("email") }, COMPETITOR_DOMAINS] } },
  { id: "out_of_territory", if: { and: [answered("country"), { "!": { in: [v("country"), SERVED_COUNTRIES] } }] } },
  { id: "personal_project", if: eq("use_case", "personal_project") },
  {
    id: "budget_too_small",
    if: {
      and: [answered("budget_monthly"), answered("employees"), { "<": [v("budget_monthly"), 100] }, { "<": [v("employees"), 20] }],
    },
  },
];

const RULES = [
  // Fit
  { id: "role_executive", group: "fit", if: { in: [v("seniority"), ["c_level", "vp"]] }, points: 15 },
  { id: "role_director", group: "fit", if: eq("seniority", "director"), points: 12 },
  { id: "role_manager", group: "fit", if: eq("seniority", "manager"), points: 7 },
  { id: "title_data", group: "fit", if: titleHas(["data", "analytics", "growth"]), points: 5 },
  { id: "title_junior", group: "fit", if: titleHas(["intern", "junior", "trainee", "assistant"]), points: -10 },
  { id: "industry_target", group: "fit", if: { in: [v("industry"), TARGET_INDUSTRIES] }, points: 10 },
  { id: "industry_slow", group: "fit", if: { in: [v("industry"), ["public_sector", "education"]] }, points: -5 },
  { id: "size_micro", group: "fit", if: { and: [answered("employees"), { "<": [v("employees"), 10] }] }, points: -8 },
  { id: "size_small", group: "fit", if: { "<=": [10, v("employees"), 49] }, points: 4 },
  { id: "size_core", group: "fit", if: { "<=": [50, v("employees"), 5000] }, points: 8 },
  {
    id: "size_scale",
    group: "fit",
    if: { ">=": [v("employees"), 100] },
    points: { min: [{ floor: { "/": [v("employees"), 100] } }, 10] },
  },
  { id: "revenue_10m", group: "fit", if: { ">=": [v("annual_revenue"), 10] }, points: 6 },
  {
    // JsonLogic in the model itself, copied unchanged.
    id: "core_market",
    group: "fit",
    if: { and: [{ ">=": [{ var: "employees" }, 50] }, { in: [{ var: "country" }, ["IT", "DE", "FR", "ES", "NL", "GB"]] }] },
    points: 5,
  },
  {
    id: "business_email",
    group: "fit",
    if: { and: [answered("email"), { "!": { in: [{ domain: v("email") }, FREE_MAIL] } }] },
    points: 5,
  },
  { id: "free_email", group: "fit", if: { in: [{ domain: v("email") }, FREE_MAIL] }, points: -15 },
  {
    id: "modern_stack",
    group: "fit",
    if: { some: [v("data_sources"), { in: [v(""), ["snowflake", "bigquery", "segment"]] }] },
    points: 8,
  },
  {
    id: "many_sources",
    group: "fit",
    if: { ">=": [{ reduce: [v("data_sources"), { "+": [v("accumulator"), 1] }, 0] }, 3] },
    points: 4,
  },
  { id: "decision_involved", group: "fit", if: { "===": [v("decision_maker"), true] }, points: 6 },
  { id: "decision_not_involved", group: "fit", if: { "===": [v("decision_maker"), false] }, points: -4 },
  { id: "enterprise_requirements", group: "fit", if: { or: [v("sso_required"), v("security_review")] }, points: 4 },
  // Buying intent
  { id: "timeline_now", group: "intent", if: eq("timeline", "now"), points: 12 },
  { id: "timeline_quarter", group: "intent", if: eq("timeline", "this_quarter"), points: 8 },
  { id: "timeline_half", group: "intent", if: eq("timeline", "this_half"), points: 4 },
  {
    id: "budget",
    group: "intent",
    if: { ">=": [v("budget_monthly"), 250] },
    points: { min: [{ floor: { "/": [v("budget_monthly"), 250] } }, 8] },
  },
  { id: "replacing_tool", group: "intent", if: { in: [v("current_tool"), ["product_analytics", "in_house"]] }, points: 6 },
  { id: "pricing_research", group: "intent", if: { ">=": [count("pricing_view", 14), 3] }, points: 5 },
  // Engagement: [event ages, points, max times, within days, half-life in days]
  { id: "page_views", group: "engagement", points: { per_event: [v("ages.page_view"), 1, 10, 30, 14] } },
  { id: "pricing_views", group: "engagement", points: { per_event: [v("ages.pricing_view"), 3, 3, 30, 10] } },
  { id: "case_studies", group: "engagement", points: { per_event: [v("ages.case_study_download"), 5, 3, 90, 30] } },
  { id: "whitepapers", group: "engagement", points: { per_event: [v("ages.whitepaper_download"), 4, 3, 90, 30] } },
  { id: "webinars", group: "engagement", points: { per_event: [v("ages.webinar_attended"), 8, 2, 120, 45] } },
  { id: "email_clicks", group: "engagement", points: { per_event: [v("ages.email_click"), 2, 5, 60, 14] } },
  { id: "trial", group: "engagement", points: { per_event: [v("ages.trial_signup"), 10, 1, 60, null] } },
  { id: "demo", group: "engagement", points: { per_event: [v("ages.demo_request"), 15, 1, 90, null] } },
  { id: "active_this_week", group: "engagement", if: { some: [v("ages.page_view"), { "<=": [v(""), 7] }] }, points: 3 },
  {
    id: "content_depth",
    group: "engagement",
    if: { ">=": [{ "+": [count("case_study_download"), count("whitepaper_download")] }, 3] },
    points: 4,
  },
  // Seen at least once, and every visit more than 60 days ago (`all` of nothing is false).
  { id: "gone_quiet", group: "engagement", if: { all: [v("ages.page_view"), { ">": [v(""), 60] }] }, points: -10 },
  { id: "review_site", group: "engagement", if: { in: [{ lower: v("utm_source") }, ["partner", "g2", "capterra"]] }, points: 3 },
];

const STAGES = [
  {
    id: "sql",
    if: {
      or: [
        { and: [{ ">=": [v("score"), 80] }, { ">=": [v("fit"), 30] }, { "!==": [v("decision_maker"), false] }] },
        { and: [{ ">=": [v("fit"), 40] }, { some: [v("ages.demo_request"), { "<=": [v(""), 30] }] }] },
      ],
    },
  },
  { id: "mql", if: { or: [{ ">=": [v("score"), 45] }, { and: [{ ">=": [v("fit"), 25] }, { ">=": [v("engagement"), 20] }] }] } },
  { id: "lead", if: answered("email") },
  { id: "subscriber", if: true },
];

const GRADE = {
  letter: { if: [{ ">=": [v("fit"), 40] }, "A", { ">=": [v("fit"), 25] }, "B", { ">=": [v("fit"), 10] }, "C", "D"] },
  column: { if: [{ ">=": [v("engagement"), 25] }, "1", { ">=": [v("engagement"), 10] }, "2", "3"] },
};

/** The operations JsonLogic lacks. */
function addOperations(jsonLogic) {
  jsonLogic.add_operation("lower", (s) => (typeof s === "string" ? s.toLowerCase() : null));
  jsonLogic.add_operation("domain", (email) =>
    typeof email === "string" ? email.slice(email.lastIndexOf("@") + 1).trim().toLowerCase() : null,
  );
  jsonLogic.add_operation("floor", Math.floor);
  jsonLogic.add_operation("per_event", (ages, points, maxTimes, withinDays, halfLifeDays) => {
    let weight = 0;
    for (const age of (ages ?? []).slice(0, maxTimes)) {
      if (age > withinDays) break;
      weight += halfLifeDays ? 2 ** (-age / halfLifeDays) : 1;
    }
    return points * weight;
  });
}

/**
 * A scorer for the B2B model on the given json-logic-js instance: `(lead, now) => { total, groups, stage,
 * knockout, grade }`, the same shape as the hand-written one.
 */
export function jsonLogicScorer(jsonLogic) {
  addOperations(jsonLogic);
  const holds = (logic, data) => jsonLogic.truthy(jsonLogic.apply(logic, data));
  const stepIndex = new Map(FORM.steps.map((s, i) => [s.id, i]));

  /** The answers to questions the form shows, walking the steps as the visitor would. */
  function shownAnswers(answers) {
    const data = {};
    const take = (field) => {
      const id = typeof field === "string" ? field : field.id;
      if (typeof field !== "string" && !holds(field.visible_if, data)) return;
      if (answers[id] !== undefined && answers[id] !== null) data[id] = answers[id];
    };
    FORM.background.forEach(take);
    let i = 0;
    while (i < FORM.steps.length) {
      const step = FORM.steps[i];
      if (step.visible_if !== undefined && !holds(step.visible_if, data)) {
        i++;
        continue;
      }
      step.fields.forEach(take);
      const jump = (step.next ?? []).find((j) => j.if === undefined || holds(j.if, data));
      i = jump === undefined ? i + 1 : jump.goto === "end" ? FORM.steps.length : stepIndex.get(jump.goto);
    }
    return data;
  }

  return function scoreLeadJsonLogic(lead, now) {
    const data = shownAnswers(lead.answers);
    const ages = {};
    for (const { type, at } of lead.events ?? []) (ages[type] ??= []).push(Math.max(0, (now - at) / DAY_MS));
    for (const list of Object.values(ages)) list.sort((x, y) => x - y);
    data.ages = ages;

    const knockout = KNOCKOUTS.find((k) => holds(k.if, data));
    const raw = { fit: 0, engagement: 0, intent: 0 };
    for (const rule of RULES) {
      if (rule.if === undefined || holds(rule.if, data)) raw[rule.group] += jsonLogic.apply(rule.points, data);
    }
    const groups = {};
    let total = 0;
    for (const { id, min = -Infinity, max = Infinity } of GROUPS) {
      groups[id] = Math.min(Math.max(raw[id], min), max);
      total += groups[id];
    }
    Object.assign(data, groups, { score: total });
    const stage = knockout ? "disqualified" : STAGES.find((s) => holds(s.if, data)).id;
    const grade = jsonLogic.apply(GRADE.letter, data) + jsonLogic.apply(GRADE.column, data);
    return { total, groups, stage, knockout: knockout?.id ?? null, grade };
  };
}

// The B2B model of examples/b2b-saas.json written by hand as lean JavaScript: the first yardstick. It returns
// exactly what `scorer.score()` returns (total, group scores after caps, stage, knockout, the ids of the rules
// that gave points, in model order) and nothing more, written for speed as a JS developer who cares would:
// straight-line code, no closure per rule, one pass over the events into buffers kept between calls, sets for
// the lists. It honours the form's path as the engine does (an answer to a question the form does not show
// does not count), because without it its results would differ from the engine's on some leads.
//
// yardstick.js, the second yardstick, computes the same from a table of rules and also the grade.

import { DAY_MS, FREE_MAIL, COMPETITOR_DOMAINS, SERVED_COUNTRIES, TARGET_INDUSTRIES, CORE_MARKETS } from "./yardstick.js";

const MODERN_SOURCES = new Set(["snowflake", "bigquery", "segment"]);
const REVIEW_SITES = new Set(["partner", "g2", "capterra"]);

/** The model's events, in model order; a lead's occurrences are sorted into these slots, newest first. */
const EVENTS = [
  "page_view", "pricing_view", "case_study_download", "whitepaper_download", "webinar_attended", "email_click",
  "trial_signup", "demo_request",
];
const EVENT_SLOT = new Map(EVENTS.map((e, i) => [e, i]));
const [PAGE_VIEW, PRICING_VIEW, CASE_STUDY, WHITEPAPER, WEBINAR, EMAIL_CLICK, TRIAL, DEMO] = EVENTS.keys();
/** Kept between calls: the ages in days of each event's occurrences (the first `counts[e]` of `ages[e]`). */
const ages = EVENTS.map(() => []);
const counts = new Int32Array(EVENTS.length);

const set = (v) => v !== undefined && v !== null;

/** Points of a per-event rule: the `maxTimes` most recent occurrences within `withinDays`, each decayed. */
function perEvent(e, points, maxTimes, withinDays, halfLifeDays) {
  const list = ages[e];
  let weight = 0;
  const n = Math.min(counts[e], maxTimes);
  for (let i = 0; i < n && list[i] <= withinDays; i++) weight += halfLifeDays ? 2 ** (-list[i] / halfLifeDays) : 1;
  return points * weight;
}

function countWithin(e, days) {
  const list = ages[e];
  let n = 0;
  while (n < counts[e] && list[n] <= days) n++;
  return n;
}

/**
 * Scores a submitted lead `{ answers, events: [{ type, at }] }` at `now` (milliseconds since 1970).
 * Returns `{ total, groups: { fit, engagement, intent }, stage, knockout, fired }`, as `scorer.score()` does.
 */
export function scorePlain(lead, now) {
  const a = lead.answers;
  counts.fill(0);
  const events = lead.events ?? [];
  for (let i = 0; i < events.length; i++) {
    const slot = EVENT_SLOT.get(events[i].type);
    if (slot === undefined) continue;
    // Insertion into a short list, youngest first: an event sent oldest first goes to the front at once.
    const list = ages[slot];
    const age = Math.max(0, (now - events[i].at) / DAY_MS);
    let j = counts[slot]++;
    while (j > 0 && list[j - 1] > age) {
      list[j] = list[j - 1];
      j--;
    }
    list[j] = age;
  }

  // The answers the form shows on this lead's path (undefined for the others).
  const email = a.email ?? undefined;
  const jobTitle = a.job_title ?? undefined;
  const seniority = a.seniority ?? undefined;
  const useCase = a.use_case ?? undefined;
  let country, industry, employees, revenue, sources, currentTool, budget, timeline, decisionMaker, sso, review;
  if (!(useCase === "personal_project" || useCase === "coursework" || seniority === "student")) {
    country = a.country ?? undefined;
    industry = a.industry ?? undefined;
    employees = a.employees ?? undefined;
    if (employees >= 20) revenue = a.annual_revenue ?? undefined;
    if (!set(country) || SERVED_COUNTRIES.has(country)) {
      sources = a.data_sources ?? undefined;
      currentTool = a.current_tool ?? undefined;
      budget = a.budget_monthly ?? undefined;
      timeline = a.timeline ?? undefined;
      decisionMaker = a.decision_maker ?? undefined;
      if (!(timeline === "next_year" || timeline === "researching") && employees >= 250) {
        sso = a.sso_required ?? undefined;
        review = a.security_review ?? undefined;
      }
    }
  }
  const domain = set(email) ? email.slice(email.lastIndexOf("@") + 1).trim().toLowerCase() : undefined;
  const title = set(jobTitle) ? jobTitle.toLowerCase() : undefined;
  const utm = a.utm_source;

  const fired = [];
  let fit = 0;
  let engagement = 0;
  let intent = 0;
  // Fit
  if (seniority === "c_level" || seniority === "vp") (fit += 15), fired.push("role_executive");
  if (seniority === "director") (fit += 12), fired.push("role_director");
  if (seniority === "manager") (fit += 7), fired.push("role_manager");
  if (set(title) && (title.includes("data") || title.includes("analytics") || title.includes("growth"))) {
    (fit += 5), fired.push("title_data");
  }
  if (
    set(title) &&
    (title.includes("intern") || title.includes("junior") || title.includes("trainee") || title.includes("assistant"))
  ) {
    (fit -= 10), fired.push("title_junior");
  }
  if (TARGET_INDUSTRIES.has(industry)) (fit += 10), fired.push("industry_target");
  if (industry === "public_sector" || industry === "education") (fit -= 5), fired.push("industry_slow");
  if (employees < 10) (fit -= 8), fired.push("size_micro");
  if (employees >= 10 && employees <= 49) (fit += 4), fired.push("size_small");
  if (employees >= 50 && employees <= 5000) (fit += 8), fired.push("size_core");
  if (employees >= 100) (fit += Math.min(Math.floor(employees / 100), 10)), fired.push("size_scale");
  if (revenue >= 10) (fit += 6), fired.push("revenue_10m");
  if (employees >= 50 && CORE_MARKETS.has(country)) (fit += 5), fired.push("core_market");
  if (set(domain) && !FREE_MAIL.has(domain)) (fit += 5), fired.push("business_email");
  if (FREE_MAIL.has(domain)) (fit -= 15), fired.push("free_email");
  if (set(sources) && sources.some((s) => MODERN_SOURCES.has(s))) (fit += 8), fired.push("modern_stack");
  if (set(sources) && sources.length >= 3) (fit += 4), fired.push("many_sources");
  if (decisionMaker === true) (fit += 6), fired.push("decision_involved");
  if (decisionMaker === false) (fit -= 4), fired.push("decision_not_involved");
  if (sso || review) (fit += 4), fired.push("enterprise_requirements");
  // Buying intent
  if (timeline === "now") (intent += 12), fired.push("timeline_now");
  if (timeline === "this_quarter") (intent += 8), fired.push("timeline_quarter");
  if (timeline === "this_half") (intent += 4), fired.push("timeline_half");
  if (budget >= 250) (intent += Math.min(Math.floor(budget / 250), 8)), fired.push("budget");
  if (currentTool === "product_analytics" || currentTool === "in_house") (intent += 6), fired.push("replacing_tool");
  if (countWithin(PRICING_VIEW, 14) >= 3) (intent += 5), fired.push("pricing_research");
  // Engagement: points per occurrence
  let p;
  if ((p = perEvent(PAGE_VIEW, 1, 10, 30, 14)) !== 0) (engagement += p), fired.push("page_views");
  if ((p = perEvent(PRICING_VIEW, 3, 3, 30, 10)) !== 0) (engagement += p), fired.push("pricing_views");
  if ((p = perEvent(CASE_STUDY, 5, 3, 90, 30)) !== 0) (engagement += p), fired.push("case_studies");
  if ((p = perEvent(WHITEPAPER, 4, 3, 90, 30)) !== 0) (engagement += p), fired.push("whitepapers");
  if ((p = perEvent(WEBINAR, 8, 2, 120, 45)) !== 0) (engagement += p), fired.push("webinars");
  if ((p = perEvent(EMAIL_CLICK, 2, 5, 60, 14)) !== 0) (engagement += p), fired.push("email_clicks");
  if ((p = perEvent(TRIAL, 10, 1, 60, 0)) !== 0) (engagement += p), fired.push("trial");
  if ((p = perEvent(DEMO, 15, 1, 90, 0)) !== 0) (engagement += p), fired.push("demo");
  // Engagement: conditions on behaviour
  const pageViews = counts[PAGE_VIEW];
  const sincePageView = pageViews ? ages[PAGE_VIEW][0] : Infinity;
  if (sincePageView <= 7) (engagement += 3), fired.push("active_this_week");
  if (counts[CASE_STUDY] + counts[WHITEPAPER] >= 3) (engagement += 4), fired.push("content_depth");
  if (pageViews >= 1 && sincePageView > 60) (engagement -= 10), fired.push("gone_quiet");
  if (set(utm) && REVIEW_SITES.has(utm.toLowerCase())) (engagement += 3), fired.push("review_site");

  // Caps, then the total in group order.
  fit = Math.min(Math.max(fit, -50), 60);
  engagement = Math.min(engagement, 40);
  intent = Math.min(Math.max(intent, 0), 25);
  const total = fit + engagement + intent;

  let knockout = null;
  if (useCase === "coursework" || seniority === "student") knockout = "student";
  else if (COMPETITOR_DOMAINS.has(domain)) knockout = "competitor";
  else if (set(country) && !SERVED_COUNTRIES.has(country)) knockout = "out_of_territory";
  else if (useCase === "personal_project") knockout = "personal_project";
  else if (budget < 100 && employees < 20) knockout = "budget_too_small";

  let stage;
  if (knockout !== null) stage = "disqualified";
  else if (
    (total >= 80 && fit >= 30 && decisionMaker !== false) ||
    (fit >= 40 && countWithin(DEMO, 30) >= 1)
  ) {
    stage = "sql";
  } else if (total >= 45 || (fit >= 25 && engagement >= 20)) stage = "mql";
  else if (set(email)) stage = "lead";
  else stage = "subscriber";

  return { total, groups: { fit, engagement, intent }, stage, knockout, fired };
}

//! The B2B example (`examples/b2b-saas.json`) written by hand in Rust, over the same prebuilt `Answers` and
//! `Events` the scorer reads: the yardstick of `Scorer::score`. It returns what the scorer returns (the total,
//! the group totals, the knockout, the stage and the fired rules) and the benchmark checks that it does, lead
//! by lead, before timing either. It knows the model: field and option indexes are looked up once, lists are
//! sorted arrays, each string is read once, and nothing is general.

use leadscore::{Answer, Answers, Events, Program};

/// What one lead scores: as `leadscore::Score` says it, with the fired rules as a bit set (rule order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hand {
    pub total: f64,
    pub groups: [f64; 3],
    pub knockout: Option<usize>,
    pub stage: usize,
    pub fired: u64,
}

/// Field, option and event indexes of the model, looked up by id once.
pub struct Model {
    f: Fields,
    o: Options,
    e: [usize; 8],
    free_mail: Vec<&'static str>,
    competitors: Vec<&'static str>,
    served: Vec<&'static str>,
}

struct Fields {
    utm_source: usize,
    email: usize,
    job_title: usize,
    seniority: usize,
    use_case: usize,
    country: usize,
    industry: usize,
    employees: usize,
    annual_revenue: usize,
    data_sources: usize,
    current_tool: usize,
    budget_monthly: usize,
    timeline: usize,
    decision_maker: usize,
    sso_required: usize,
    security_review: usize,
}

struct Options {
    c_level: u32,
    vp: u32,
    director: u32,
    manager: u32,
    student: u32,
    coursework: u32,
    personal_project: u32,
    /// Bit per industry option: in `target_industries`.
    target_industry: u64,
    public_sector: u32,
    education: u32,
    now: u32,
    this_quarter: u32,
    this_half: u32,
    next_year: u32,
    researching: u32,
    product_analytics: u32,
    in_house: u32,
    /// Bits of snowflake, bigquery and segment.
    modern: u64,
}

const FREE_MAIL: [&str; 28] = [
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "yahoo.it",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.it",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "orange.fr",
    "free.fr",
    "libero.it",
    "virgilio.it",
    "mail.com",
    "zoho.com",
    "yandex.com",
];
const COMPETITORS: [&str; 5] = ["metricbay.io", "funnelforge.com", "insightloop.io", "chartwise.io", "cohortly.com"];
const SERVED: [&str; 35] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "GB", "CH", "NO", "IS", "US", "CA", "AU", "NZ",
];
const CORE_MARKETS: [&str; 6] = ["IT", "DE", "FR", "ES", "NL", "GB"];
const TARGET_INDUSTRIES: [&str; 6] = ["ecommerce", "saas", "fintech", "media", "marketplace", "travel"];
const DAY_MS: f64 = 86_400_000.0;

impl Model {
    pub fn new(p: &Program) -> Model {
        let f = |id: &str| p.field_index(id).unwrap_or_else(|| panic!("field {id}"));
        let o =
            |field: &str, v: &str| p.fields[f(field)].option_index(v).unwrap_or_else(|| panic!("{field}: {v}")) as u32;
        let bits = |field: &str, vs: &[&str]| vs.iter().fold(0u64, |m, v| m | 1 << o(field, v));
        let e = |id: &str| p.events.iter().position(|(e, _)| e == id).unwrap_or_else(|| panic!("event {id}"));
        let sorted = |items: &[&'static str]| {
            let mut v = items.to_vec();
            v.sort_unstable();
            v
        };
        Model {
            f: Fields {
                utm_source: f("utm_source"),
                email: f("email"),
                job_title: f("job_title"),
                seniority: f("seniority"),
                use_case: f("use_case"),
                country: f("country"),
                industry: f("industry"),
                employees: f("employees"),
                annual_revenue: f("annual_revenue"),
                data_sources: f("data_sources"),
                current_tool: f("current_tool"),
                budget_monthly: f("budget_monthly"),
                timeline: f("timeline"),
                decision_maker: f("decision_maker"),
                sso_required: f("sso_required"),
                security_review: f("security_review"),
            },
            o: Options {
                c_level: o("seniority", "c_level"),
                vp: o("seniority", "vp"),
                director: o("seniority", "director"),
                manager: o("seniority", "manager"),
                student: o("seniority", "student"),
                coursework: o("use_case", "coursework"),
                personal_project: o("use_case", "personal_project"),
                target_industry: bits("industry", &TARGET_INDUSTRIES),
                public_sector: o("industry", "public_sector"),
                education: o("industry", "education"),
                now: o("timeline", "now"),
                this_quarter: o("timeline", "this_quarter"),
                this_half: o("timeline", "this_half"),
                next_year: o("timeline", "next_year"),
                researching: o("timeline", "researching"),
                product_analytics: o("current_tool", "product_analytics"),
                in_house: o("current_tool", "in_house"),
                modern: bits("data_sources", &["snowflake", "bigquery", "segment"]),
            },
            e: [
                "page_view",
                "pricing_view",
                "case_study_download",
                "whitepaper_download",
                "webinar_attended",
                "email_click",
                "trial_signup",
                "demo_request",
            ]
            .map(e),
            free_mail: sorted(&FREE_MAIL),
            competitors: sorted(&COMPETITORS),
            served: sorted(&SERVED),
        }
    }

    /// Scores a submitted lead at `now`.
    pub fn score(&self, a: &Answers, ev: &Events, now: f64) -> Hand {
        let (f, o) = (&self.f, &self.o);
        // The path through the form: which steps a submitted lead saw.
        let choice = |i: usize| match a.get(i) {
            Some(Answer::Choice(c)) => Some(*c),
            _ => None,
        };
        let seniority = choice(f.seniority);
        let use_case = choice(f.use_case);
        let stop_about =
            use_case == Some(o.personal_project) || use_case == Some(o.coursework) || seniority == Some(o.student);
        let company = !stop_about;
        let on = |shown: bool, i: usize| if shown { a.get(i) } else { None };
        let num = |shown: bool, i: usize| match on(shown, i) {
            Some(Answer::Num(n)) => Some(*n),
            _ => None,
        };
        let country = match on(company, f.country) {
            Some(Answer::Text(s, _)) => Some(&**s),
            _ => None,
        };
        let served = country.map(|c| self.served.binary_search(&c).is_ok());
        let project = company && served != Some(false);
        let employees = num(company, f.employees);
        let timeline = if project { choice(f.timeline) } else { None };
        let skip = timeline == Some(o.next_year) || timeline == Some(o.researching);
        let enterprise = project && !skip && employees.is_some_and(|n| n >= 250.0);
        let industry = if company { choice(f.industry) } else { None };
        let revenue = num(company && employees.is_some_and(|n| n >= 20.0), f.annual_revenue);
        let budget = num(project, f.budget_monthly);
        let tool = if project { choice(f.current_tool) } else { None };
        let sources = match on(project, f.data_sources) {
            Some(Answer::Multi(bits)) => Some(*bits),
            _ => None,
        };
        let boolean = |shown: bool, i: usize| match on(shown, i) {
            Some(Answer::Bool(b)) => Some(*b),
            _ => None,
        };
        let decision = boolean(project, f.decision_maker);
        let (sso, security) = (boolean(enterprise, f.sso_required), boolean(enterprise, f.security_review));
        let domain = match a.get(f.email) {
            Some(Answer::Text(s, _)) => Some(s.rfind('@').map_or("", |at| &s[at + 1..]).trim()),
            _ => None,
        };
        let title = match a.get(f.job_title) {
            Some(Answer::Text(s, lower)) => Some(lower.as_deref().unwrap_or(s)),
            _ => None,
        };
        let source = match a.get(f.utm_source) {
            Some(Answer::Text(s, lower)) => Some(lower.as_deref().unwrap_or(s)),
            _ => None,
        };
        let free = domain.map(|d| self.free_mail.binary_search(&d).is_ok());
        let ages = |e: usize| ev.times(self.e[e]).iter().map(move |t| ((now - t) / DAY_MS).max(0.0));

        let knockout = [
            use_case == Some(o.coursework) || seniority == Some(o.student),
            domain.is_some_and(|d| self.competitors.binary_search(&d).is_ok()),
            served == Some(false),
            use_case == Some(o.personal_project),
            budget.is_some_and(|b| b < 100.0) && employees.is_some_and(|n| n < 20.0),
        ]
        .iter()
        .position(|&k| k);

        let has = |t: Option<&str>, words: &[&str]| t.is_some_and(|t| words.iter().any(|w| t.contains(w)));
        let emp = |test: fn(f64) -> bool| employees.is_some_and(test);
        let count_page = ev.times(self.e[0]).len() as f64;
        let days_page = ages(0).next().unwrap_or(f64::INFINITY);
        let decayed = |e: usize, points: f64, max: usize, within: f64, half: Option<f64>| {
            let mut sum = 0.0;
            for age in ages(e).take(max) {
                if age > within {
                    break;
                }
                sum += half.map_or(1.0, |h| libm::exp2(-age / h));
            }
            if sum == 0.0 {
                0.0
            } else {
                points * sum
            }
        };
        // (group: 0 fit, 1 engagement, 2 intent; points, 0 when the rule does not fire), in rule order.
        let when = |c: bool, p: f64| if c { p } else { 0.0 };
        let rules: [(usize, f64); 38] = [
            (0, when(seniority == Some(o.c_level) || seniority == Some(o.vp), 15.0)),
            (0, when(seniority == Some(o.director), 12.0)),
            (0, when(seniority == Some(o.manager), 7.0)),
            (0, when(has(title, &["data", "analytics", "growth"]), 5.0)),
            (0, when(has(title, &["intern", "junior", "trainee", "assistant"]), -10.0)),
            (0, when(industry.is_some_and(|i| o.target_industry & 1 << i != 0), 10.0)),
            (0, when(industry == Some(o.public_sector) || industry == Some(o.education), -5.0)),
            (0, when(emp(|n| n < 10.0), -8.0)),
            (0, when(emp(|n| (10.0..=49.0).contains(&n)), 4.0)),
            (0, when(emp(|n| (50.0..=5000.0).contains(&n)), 8.0)),
            (0, employees.filter(|&n| n >= 100.0).map_or(0.0, |n| (n / 100.0).floor().min(10.0))),
            (0, when(revenue.is_some_and(|r| r >= 10.0), 6.0)),
            (0, when(emp(|n| n >= 50.0) && country.is_some_and(|c| CORE_MARKETS.contains(&c)), 5.0)),
            (0, when(free == Some(false), 5.0)),
            (0, when(free == Some(true), -15.0)),
            (0, when(sources.is_some_and(|s| s & o.modern != 0), 8.0)),
            (0, when(sources.is_some_and(|s| s.count_ones() >= 3), 4.0)),
            (0, when(decision == Some(true), 6.0)),
            (0, when(decision == Some(false), -4.0)),
            (0, when(sso == Some(true) || security == Some(true), 4.0)),
            (2, when(timeline == Some(o.now), 12.0)),
            (2, when(timeline == Some(o.this_quarter), 8.0)),
            (2, when(timeline == Some(o.this_half), 4.0)),
            (2, budget.filter(|&b| b >= 250.0).map_or(0.0, |b| (b / 250.0).floor().min(8.0))),
            (2, when(tool == Some(o.product_analytics) || tool == Some(o.in_house), 6.0)),
            (2, when(ages(1).take_while(|&a| a <= 14.0).count() >= 3, 5.0)),
            (1, decayed(0, 1.0, 10, 30.0, Some(14.0))),
            (1, decayed(1, 3.0, 3, 30.0, Some(10.0))),
            (1, decayed(2, 5.0, 3, 90.0, Some(30.0))),
            (1, decayed(3, 4.0, 3, 90.0, Some(30.0))),
            (1, decayed(4, 8.0, 2, 120.0, Some(45.0))),
            (1, decayed(5, 2.0, 5, 60.0, Some(14.0))),
            (1, decayed(6, 10.0, 1, 60.0, None)),
            (1, decayed(7, 15.0, 1, 90.0, None)),
            (1, when(days_page <= 7.0, 3.0)),
            (1, when((ev.times(self.e[2]).len() + ev.times(self.e[3]).len()) as f64 >= 3.0, 4.0)),
            (1, when(count_page >= 1.0 && days_page > 60.0, -10.0)),
            (1, when(source.is_some_and(|s| ["partner", "g2", "capterra"].contains(&s)), 3.0)),
        ];
        let (mut raw, mut fired) = ([0.0f64; 3], 0u64);
        for (i, &(g, p)) in rules.iter().enumerate() {
            if p != 0.0 {
                raw[g] += p;
                fired |= 1 << i;
            }
        }
        let groups = [raw[0].clamp(-50.0, 60.0), raw[1].min(40.0), raw[2].clamp(0.0, 25.0)];
        let total = 0.0 + groups[0] + groups[1] + groups[2];
        let [fit, engagement, _] = groups;
        let demo = ages(7).take_while(|&a| a <= 30.0).count();
        let stage = if (total >= 80.0 && fit >= 30.0 && decision != Some(false)) || (fit >= 40.0 && demo >= 1) {
            0
        } else if total >= 45.0 || (fit >= 25.0 && engagement >= 20.0) {
            1
        } else if a.get(f.email).is_some() {
            2
        } else {
            3
        };
        Hand { total, groups, knockout, stage, fired }
    }
}

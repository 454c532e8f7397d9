//! The funnel planner: from a revenue goal and the conversion rates a marketing team tracks, how many deals,
//! SQLs, MQLs, leads and visitors a year needs, per month (months differ in working days) and per working
//! day; or the other way round, what a number of MQLs yields. Counts of people are whole: what is needed is
//! rounded up, what a volume yields is rounded down. The months share the year's counts by their working days
//! and add up to them exactly. The plan shows its arithmetic, step by step.

use serde::{Deserialize, Serialize};

/// What the planner is given. Rates are percentages (25 means 25 %).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanInput {
    /// The revenue goal of the year. Give this or `mqls`.
    #[serde(default)]
    pub goal: Option<f64>,
    /// The MQLs of the year, for "what does this volume yield". Give this or `goal`.
    #[serde(default)]
    pub mqls: Option<f64>,
    /// The average revenue of a won deal.
    pub deal_size: f64,
    /// SQL to won deal, in %.
    pub sql_to_won: f64,
    /// MQL to SQL, in %.
    pub mql_to_sql: f64,
    /// Lead to MQL, in %; without it the plan stops at MQLs.
    #[serde(default)]
    pub lead_to_mql: Option<f64>,
    /// Visitor to lead, in %; without it the plan stops at leads.
    #[serde(default)]
    pub visitor_to_lead: Option<f64>,
    /// The calendar year whose working days (Monday to Friday) spread the plan over its months.
    pub year: i32,
}

/// Counts at each step of the funnel; leads and visitors only when their rates are given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Funnel {
    pub visitors: Option<f64>,
    pub leads: Option<f64>,
    pub mqls: f64,
    pub sqls: f64,
    pub deals: f64,
}

/// One month of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    pub working_days: u32,
    /// The year's counts shared by working days, whole, adding up to the year's (see `Plan::rounding`).
    #[serde(flatten)]
    pub funnel: Funnel,
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The year's counts.
    #[serde(flatten)]
    pub funnel: Funnel,
    /// deals × deal size.
    pub revenue: f64,
    /// Working days in the year (Monday to Friday).
    pub working_days: u32,
    pub months: Vec<Month>,
    /// The year's counts over its working days (not rounded).
    pub per_working_day: Funnel,
    /// The arithmetic, a step a line: "10,000,000 ÷ 50,000 = 200 deals".
    pub steps: Vec<String>,
    /// How the counts were rounded, in words.
    pub rounding: String,
}

/// A bad input value: which, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanError {
    /// The input's name, as in [`PlanInput`] (camelCase).
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Rounds up, forgiving the last bits of floating-point error (800 / 0.2 is a hair above 4000).
fn up(x: f64) -> f64 {
    let r = x.round();
    if (x - r).abs() <= 1e-9 * x.abs().max(1.0) {
        r
    } else {
        x.ceil()
    }
}

/// Rounds down, forgiving the last bits of floating-point error.
fn down(x: f64) -> f64 {
    let r = x.round();
    if (x - r).abs() <= 1e-9 * x.abs().max(1.0) {
        r
    } else {
        x.floor()
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Monday to Friday in month `m` (1-12) of year `y`.
pub fn working_days(y: i32, m: u32) -> u32 {
    let first = days_from_civil(y, m, 1);
    (0..days_in_month(y, m))
        .filter(|d| {
            // 1970-01-01 was a Thursday: 0 = Thursday, 2 = Saturday, 3 = Sunday.
            let wd = (first + i64::from(*d)).rem_euclid(7);
            wd != 2 && wd != 3
        })
        .count() as u32
}

/// Checks `input` and plans; every bad value is reported, not only the first.
pub fn plan(input: &PlanInput) -> Result<Plan, Vec<PlanError>> {
    let mut errors = vec![];
    let positive = |errors: &mut Vec<PlanError>, field: &'static str, v: f64| {
        if !(v.is_finite() && v > 0.0) {
            errors.push(PlanError { field, message: format!("must be a number above 0, not {v}") });
        }
    };
    positive(&mut errors, "dealSize", input.deal_size);
    let rates = [
        ("sqlToWon", Some(input.sql_to_won)),
        ("mqlToSql", Some(input.mql_to_sql)),
        ("leadToMql", input.lead_to_mql),
        ("visitorToLead", input.visitor_to_lead),
    ];
    for (field, v) in rates {
        let Some(v) = v else { continue };
        positive(&mut errors, field, v);
        if v > 100.0 {
            errors.push(PlanError { field, message: format!("is a percentage: at most 100, not {v}") });
        }
    }
    if input.lead_to_mql.is_none() && input.visitor_to_lead.is_some() {
        errors.push(PlanError {
            field: "leadToMql",
            message: "is needed to count visitors: visitors are counted from leads".into(),
        });
    }
    match (input.goal, input.mqls) {
        (Some(g), None) => positive(&mut errors, "goal", g),
        (None, Some(m)) => positive(&mut errors, "mqls", m),
        (Some(_), Some(_)) => errors
            .push(PlanError { field: "mqls", message: "give a revenue goal or a number of MQLs, not both".into() }),
        (None, None) => {
            errors.push(PlanError { field: "goal", message: "give a revenue goal (or a number of MQLs)".into() })
        }
    }
    if !(1900..=9999).contains(&input.year) {
        errors.push(PlanError { field: "year", message: format!("must be between 1900 and 9999, not {}", input.year) });
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    /// `a op b = result what`: `exact` rounded by `round`, written down with what was rounded.
    fn step(
        steps: &mut Vec<String>,
        a: f64,
        op: &str,
        b: String,
        exact: f64,
        round: fn(f64) -> f64,
        what: &str,
    ) -> f64 {
        let result = round(exact);
        let note = if result != exact {
            format!(" ({} rounded {})", grouped(exact, 6), if result > exact { "up" } else { "down" })
        } else {
            String::new()
        };
        steps.push(format!("{} {op} {b} = {} {what}{note}", count(a), count(result)));
        result
    }
    /// What `a` needs at a rate of `r` % (rounded up).
    fn need(steps: &mut Vec<String>, a: f64, r: f64, what: &str) -> f64 {
        step(steps, a, "÷", format!("{} %", count(r)), a * 100.0 / r, up, what)
    }
    /// What `a` yields at a rate of `r` % (rounded down).
    fn get(steps: &mut Vec<String>, a: f64, r: f64, what: &str) -> f64 {
        step(steps, a, "×", format!("{} %", count(r)), a * (r / 100.0), down, what)
    }
    let mut steps = vec![];
    let s = &mut steps;
    let funnel = match (input.goal, input.mqls) {
        (Some(goal), _) => {
            let deals = step(s, goal, "÷", count(input.deal_size), goal / input.deal_size, up, "deals");
            let sqls = need(s, deals, input.sql_to_won, "SQLs");
            let mqls = need(s, sqls, input.mql_to_sql, "MQLs");
            let leads = input.lead_to_mql.map(|r| need(s, mqls, r, "leads"));
            let visitors = leads.zip(input.visitor_to_lead).map(|(l, r)| need(s, l, r, "visitors"));
            Funnel { visitors, leads, mqls, sqls, deals }
        }
        (None, Some(mqls)) => {
            let mqls = down(mqls);
            let sqls = get(s, mqls, input.mql_to_sql, "SQLs");
            let deals = get(s, sqls, input.sql_to_won, "deals");
            let leads = input.lead_to_mql.map(|r| need(s, mqls, r, "leads"));
            let visitors = leads.zip(input.visitor_to_lead).map(|(l, r)| need(s, l, r, "visitors"));
            Funnel { visitors, leads, mqls, sqls, deals }
        }
        (None, None) => unreachable!("checked above"),
    };
    // Each count, in the order the funnel computes it, and the input that made it too large for a double.
    let revenue = funnel.deals * input.deal_size;
    steps.push(format!("{} deals × {} = {} revenue", count(funnel.deals), count(input.deal_size), count(revenue)));
    let counts = if input.goal.is_some() {
        [
            ("deals", funnel.deals, "goal"),
            ("SQLs", funnel.sqls, "sqlToWon"),
            ("MQLs", funnel.mqls, "mqlToSql"),
            ("leads", funnel.leads.unwrap_or(0.0), "leadToMql"),
            ("visitors", funnel.visitors.unwrap_or(0.0), "visitorToLead"),
            ("revenue", revenue, "dealSize"),
        ]
    } else {
        [
            ("MQLs", funnel.mqls, "mqls"),
            ("SQLs", funnel.sqls, "mqlToSql"),
            ("deals", funnel.deals, "sqlToWon"),
            ("leads", funnel.leads.unwrap_or(0.0), "leadToMql"),
            ("visitors", funnel.visitors.unwrap_or(0.0), "visitorToLead"),
            ("revenue", revenue, "dealSize"),
        ]
    };
    if let Some(&(what, _, field)) = counts.iter().find(|(_, v, _)| !v.is_finite()) {
        return Err(vec![PlanError {
            field,
            message: format!(
                "makes the {what} too large to count (over 1.8e308): give a smaller number or a larger rate"
            ),
        }]);
    }
    let days: Vec<u32> = (1..=12).map(|m| working_days(input.year, m)).collect();
    let year_days: u32 = days.iter().sum();
    // Each count shared by working days: the whole part of each month's share, and the units left given one each
    // to the months with the largest remainders (the earlier month first on a tie), so the months add up to the
    // year.
    let spread = |total: f64| -> Vec<f64> {
        let exact: Vec<f64> = days.iter().map(|&d| total * f64::from(d) / f64::from(year_days)).collect();
        let mut whole: Vec<f64> = exact.iter().map(|x| down(*x)).collect();
        let left = (total - whole.iter().sum::<f64>()).round().max(0.0) as usize;
        let mut order: Vec<usize> = (0..12).collect();
        order.sort_by(|&i, &j| (exact[j] - whole[j]).total_cmp(&(exact[i] - whole[i])).then(i.cmp(&j)));
        for &i in order.iter().take(left) {
            whole[i] += 1.0;
        }
        whole
    };
    let (visitors, leads) = (funnel.visitors.map(spread), funnel.leads.map(spread));
    let (mqls, sqls, deals) = (spread(funnel.mqls), spread(funnel.sqls), spread(funnel.deals));
    let months = days
        .iter()
        .enumerate()
        .map(|(i, &d)| Month {
            month: format!("{:04}-{:02}", input.year, i + 1),
            working_days: d,
            funnel: Funnel {
                visitors: visitors.as_ref().map(|v| v[i]),
                leads: leads.as_ref().map(|v| v[i]),
                mqls: mqls[i],
                sqls: sqls[i],
                deals: deals[i],
            },
        })
        .collect();
    let per_day = |x: f64| x / f64::from(year_days);
    let rounding = format!(
        "{} The months share the year's counts by their working days ({year_days} in {}): each month gets the whole \
         part of its share, and the units left over go one each to the months with the largest remainders, so that \
         the months add up to the year.",
        if input.goal.is_some() {
            "What the goal needs is rounded up to whole people and deals."
        } else {
            "What the MQLs yield (SQLs, deals) is rounded down, what they need (leads, visitors) up."
        },
        input.year
    );
    Ok(Plan {
        revenue,
        funnel,
        working_days: year_days,
        months,
        per_working_day: Funnel {
            visitors: funnel.visitors.map(per_day),
            leads: funnel.leads.map(per_day),
            mqls: per_day(funnel.mqls),
            sqls: per_day(funnel.sqls),
            deals: per_day(funnel.deals),
        },
        steps,
        rounding,
    })
}

/// `x` with thousands separated by commas and at most two decimals: "10,000,000", "12.5".
pub fn count(x: f64) -> String {
    grouped(x, 2)
}

/// `x` with thousands separated by commas and at most `places` decimals, trailing zeros dropped.
fn grouped(x: f64, places: usize) -> String {
    let text = format!("{:.*}", places, x.abs());
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    if x < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('-');
    }
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PlanInput {
        PlanInput {
            goal: Some(10_000_000.0),
            mqls: None,
            deal_size: 50_000.0,
            sql_to_won: 25.0,
            mql_to_sql: 20.0,
            lead_to_mql: Some(10.0),
            visitor_to_lead: Some(2.0),
            year: 2027,
        }
    }

    #[test]
    fn the_worked_example() {
        let p = plan(&input()).unwrap();
        assert_eq!(p.funnel.deals, 200.0);
        assert_eq!(p.funnel.sqls, 800.0);
        assert_eq!(p.funnel.mqls, 4000.0);
        assert_eq!(p.funnel.leads, Some(40_000.0));
        assert_eq!(p.funnel.visitors, Some(2_000_000.0));
        assert_eq!(p.revenue, 10_000_000.0);
        assert_eq!(
            p.steps,
            [
                "10,000,000 ÷ 50,000 = 200 deals",
                "200 ÷ 25 % = 800 SQLs",
                "800 ÷ 20 % = 4,000 MQLs",
                "4,000 ÷ 10 % = 40,000 leads",
                "40,000 ÷ 2 % = 2,000,000 visitors",
                "200 deals × 50,000 = 10,000,000 revenue",
            ]
        );
    }

    #[test]
    fn the_rates_of_leads_and_visitors_are_optional() {
        let p = plan(&PlanInput { lead_to_mql: None, visitor_to_lead: None, ..input() }).unwrap();
        assert_eq!((p.funnel.deals, p.funnel.sqls, p.funnel.mqls), (200.0, 800.0, 4000.0));
        assert_eq!((p.funnel.leads, p.funnel.visitors), (None, None));
        assert!(p.months.iter().all(|m| m.funnel.leads.is_none()));
        let p = plan(&PlanInput { visitor_to_lead: None, ..input() }).unwrap();
        assert_eq!((p.funnel.leads, p.funnel.visitors), (Some(40_000.0), None));
        let e = plan(&PlanInput { lead_to_mql: None, ..input() }).unwrap_err();
        assert_eq!(e[0].field, "leadToMql");
    }

    #[test]
    fn working_days_of_a_year() {
        // 2027: January has 21 weekdays, February 20, and the year 261.
        assert_eq!(working_days(2027, 1), 21);
        assert_eq!(working_days(2027, 2), 20);
        // 2024 is a leap year: February has 29 days, 21 of them weekdays.
        assert_eq!(working_days(2024, 2), 21);
        let p = plan(&input()).unwrap();
        assert_eq!(p.working_days, 261);
        assert_eq!(p.months.len(), 12);
        assert_eq!(p.months[0].month, "2027-01");
        // January's share of 4,000 MQLs: 4000 × 21 / 261 = 321.8, whole part 321, and one of the units left.
        assert_eq!(p.months[0].funnel.mqls, 322.0);
        assert_eq!(p.per_working_day.mqls, 4000.0 / 261.0);
        // Every count of the months adds up to the year's.
        for (what, get) in [
            ("deals", (|f: &Funnel| f.deals) as fn(&Funnel) -> f64),
            ("sqls", |f| f.sqls),
            ("mqls", |f| f.mqls),
            ("leads", |f| f.leads.unwrap()),
            ("visitors", |f| f.visitors.unwrap()),
        ] {
            let sum: f64 = p.months.iter().map(|m| get(&m.funnel)).sum();
            assert_eq!(sum, get(&p.funnel), "{what}");
            for m in &p.months {
                let exact = get(&p.funnel) * f64::from(m.working_days) / 261.0;
                assert!((get(&m.funnel) - exact).abs() < 1.0, "{what} {}: {} for {exact}", m.month, get(&m.funnel));
            }
        }
    }

    #[test]
    fn needed_counts_round_up() {
        let p = plan(&PlanInput { goal: Some(1_000_001.0), ..input() }).unwrap();
        assert_eq!(p.funnel.deals, 21.0);
        assert_eq!(p.funnel.sqls, 84.0);
        // 84 / 0.2 = 420 exactly, and 420 / 0.1 = 4200: no spurious +1 from floating point.
        assert_eq!(p.funnel.mqls, 420.0);
        assert_eq!(p.funnel.leads, Some(4200.0));
        assert_eq!(
            (count(1234567.891), count(-0.001), count(12.5)),
            ("1,234,567.89".into(), "0".into(), "12.5".into())
        );
        assert_eq!(p.steps[0], "1,000,001 ÷ 50,000 = 21 deals (20.00002 rounded up)");
    }

    #[test]
    fn the_inverse_yields_rounded_down() {
        let p = plan(&PlanInput { goal: None, mqls: Some(4000.0), ..input() }).unwrap();
        assert_eq!((p.funnel.sqls, p.funnel.deals, p.revenue), (800.0, 200.0, 10_000_000.0));
        let q = plan(&PlanInput { goal: None, mqls: Some(4019.0), ..input() }).unwrap();
        assert_eq!((q.funnel.sqls, q.funnel.deals), (803.0, 200.0));
        // The months share the year's yield exactly: 200 deals, January's 200 × 21 / 261 = 16.1 is 16.
        assert_eq!(p.months[0].funnel.deals, 16.0);
        assert_eq!(p.months.iter().map(|m| m.funnel.deals).sum::<f64>(), 200.0);
        assert_eq!(p.steps[0], "4,000 × 20 % = 800 SQLs");
        assert_eq!(q.steps[1], "803 × 25 % = 200 deals (200.75 rounded down)");
    }

    #[test]
    fn every_bad_value_is_named() {
        let bad = PlanInput {
            goal: Some(-1.0),
            deal_size: 0.0,
            sql_to_won: 120.0,
            mql_to_sql: f64::NAN,
            year: 12,
            ..input()
        };
        let fields: Vec<&str> = plan(&bad).unwrap_err().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["dealSize", "sqlToWon", "mqlToSql", "goal", "year"]);
        let both = PlanInput { mqls: Some(10.0), ..input() };
        assert_eq!(plan(&both).unwrap_err()[0].field, "mqls");
    }

    #[test]
    fn a_count_too_large_for_a_double_is_an_error_that_names_the_input() {
        let huge = PlanInput { goal: Some(1e308), deal_size: 1.0, ..input() };
        let e = plan(&huge).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "sqlToWon", "{}", e[0]);
        assert!(e[0].message.contains("SQLs"), "{}", e[0]);
        let tiny = PlanInput { goal: Some(1e308), deal_size: 1e-10, ..input() };
        assert_eq!(plan(&tiny).unwrap_err()[0].field, "goal");
        let visitors = PlanInput { goal: Some(1e300), deal_size: 1.0, visitor_to_lead: Some(1e-10), ..input() };
        assert_eq!(plan(&visitors).unwrap_err()[0].field, "visitorToLead");
        let inverse = PlanInput { goal: None, mqls: Some(1e308), lead_to_mql: Some(1.0), ..input() };
        assert_eq!(plan(&inverse).unwrap_err()[0].field, "leadToMql");
        let revenue = PlanInput {
            goal: None,
            mqls: Some(1e306),
            lead_to_mql: Some(100.0),
            visitor_to_lead: Some(100.0),
            deal_size: 1e300,
            ..input()
        };
        assert_eq!(plan(&revenue).unwrap_err()[0].field, "dealSize");
    }

    #[test]
    fn days_from_civil_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 12, 2), 20_789);
    }
}

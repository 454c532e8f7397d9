//! The funnel planner: from a revenue goal and the conversion rates a marketing team tracks, how many deals,
//! SQLs, MQLs, leads and visitors a year needs, per month (months differ in working days) and per working
//! day; or the other way round, what a number of MQLs yields. Counts of people are whole: what is needed is
//! rounded up, what a volume yields is rounded down.

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
    /// Lead to MQL, in %.
    pub lead_to_mql: f64,
    /// Visitor to lead, in %.
    pub visitor_to_lead: f64,
    /// The calendar year whose working days (Monday to Friday) spread the plan over its months.
    pub year: i32,
}

/// Counts at each step of the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Funnel {
    pub visitors: f64,
    pub leads: f64,
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
    /// The year's counts in proportion to the month's working days: what is needed rounded up, what MQLs
    /// yield (the inverse plan's SQLs and deals) rounded down.
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

/// A way of rounding a count.
type Round = fn(f64) -> f64;

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
    for (field, v) in [
        ("sqlToWon", input.sql_to_won),
        ("mqlToSql", input.mql_to_sql),
        ("leadToMql", input.lead_to_mql),
        ("visitorToLead", input.visitor_to_lead),
    ] {
        positive(&mut errors, field, v);
        if v > 100.0 {
            errors.push(PlanError { field, message: format!("is a percentage: at most 100, not {v}") });
        }
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

    let rate = |pct: f64| pct / 100.0;
    let funnel = match (input.goal, input.mqls) {
        (Some(goal), _) => {
            let deals = up(goal / input.deal_size);
            let sqls = up(deals * 100.0 / input.sql_to_won);
            let mqls = up(sqls * 100.0 / input.mql_to_sql);
            let leads = up(mqls * 100.0 / input.lead_to_mql);
            let visitors = up(leads * 100.0 / input.visitor_to_lead);
            Funnel { visitors, leads, mqls, sqls, deals }
        }
        (None, Some(mqls)) => {
            let mqls = down(mqls);
            let sqls = down(mqls * rate(input.mql_to_sql));
            let deals = down(sqls * rate(input.sql_to_won));
            let leads = up(mqls * 100.0 / input.lead_to_mql);
            let visitors = up(leads * 100.0 / input.visitor_to_lead);
            Funnel { visitors, leads, mqls, sqls, deals }
        }
        (None, None) => unreachable!("checked above"),
    };
    // Each count, in the order the funnel computes it, and the input that made it too large for a double.
    let revenue = funnel.deals * input.deal_size;
    let counts = if input.goal.is_some() {
        [
            ("deals", funnel.deals, "goal"),
            ("SQLs", funnel.sqls, "sqlToWon"),
            ("MQLs", funnel.mqls, "mqlToSql"),
            ("leads", funnel.leads, "leadToMql"),
            ("visitors", funnel.visitors, "visitorToLead"),
            ("revenue", revenue, "dealSize"),
        ]
    } else {
        [
            ("MQLs", funnel.mqls, "mqls"),
            ("SQLs", funnel.sqls, "mqlToSql"),
            ("deals", funnel.deals, "sqlToWon"),
            ("leads", funnel.leads, "leadToMql"),
            ("visitors", funnel.visitors, "visitorToLead"),
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
    // A month's share of what is needed is rounded up; of what MQLs yield (the inverse plan's SQLs and
    // deals), down.
    let yields: Round = if input.goal.is_some() { up } else { down };
    let share = |f: &Funnel, k: f64, round: bool| {
        let (need, get): (Round, Round) = if round { (up, yields) } else { (|x| x, |x| x) };
        Funnel {
            visitors: need(f.visitors * k),
            leads: need(f.leads * k),
            mqls: need(f.mqls * k),
            sqls: get(f.sqls * k),
            deals: get(f.deals * k),
        }
    };
    let months = days
        .iter()
        .enumerate()
        .map(|(i, &d)| Month {
            month: format!("{:04}-{:02}", input.year, i + 1),
            working_days: d,
            funnel: share(&funnel, f64::from(d) / f64::from(year_days), true),
        })
        .collect();
    Ok(Plan {
        revenue,
        funnel,
        working_days: year_days,
        months,
        per_working_day: share(&funnel, 1.0 / f64::from(year_days), false),
    })
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
            lead_to_mql: 10.0,
            visitor_to_lead: 2.0,
            year: 2027,
        }
    }

    #[test]
    fn the_worked_example() {
        let p = plan(&input()).unwrap();
        assert_eq!(p.funnel.deals, 200.0);
        assert_eq!(p.funnel.sqls, 800.0);
        assert_eq!(p.funnel.mqls, 4000.0);
        assert_eq!(p.funnel.leads, 40_000.0);
        assert_eq!(p.funnel.visitors, 2_000_000.0);
        assert_eq!(p.revenue, 10_000_000.0);
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
        // January's share of 4,000 MQLs: 4000 × 21 / 261 = 321.8 → 322.
        assert_eq!(p.months[0].funnel.mqls, 322.0);
        assert_eq!(p.per_working_day.mqls, 4000.0 / 261.0);
        let sum: f64 = p.months.iter().map(|m| m.funnel.mqls).sum();
        assert!((4000.0..4012.0).contains(&sum), "months add up to {sum}");
    }

    #[test]
    fn needed_counts_round_up() {
        let p = plan(&PlanInput { goal: Some(1_000_001.0), ..input() }).unwrap();
        assert_eq!(p.funnel.deals, 21.0);
        assert_eq!(p.funnel.sqls, 84.0);
        // 84 / 0.2 = 420 exactly, and 420 / 0.1 = 4200: no spurious +1 from floating point.
        assert_eq!(p.funnel.mqls, 420.0);
        assert_eq!(p.funnel.leads, 4200.0);
    }

    #[test]
    fn the_inverse_yields_rounded_down() {
        let p = plan(&PlanInput { goal: None, mqls: Some(4000.0), ..input() }).unwrap();
        assert_eq!((p.funnel.sqls, p.funnel.deals, p.revenue), (800.0, 200.0, 10_000_000.0));
        let q = plan(&PlanInput { goal: None, mqls: Some(4019.0), ..input() }).unwrap();
        assert_eq!((q.funnel.sqls, q.funnel.deals), (803.0, 200.0));
        // A month's yield is rounded down too: January's 200 × 21 / 261 = 16.1 deals count as 16, and the
        // months never promise more than the year.
        assert_eq!(p.months[0].funnel.deals, 16.0);
        assert_eq!(p.months[0].funnel.mqls, 322.0, "the MQLs a month needs are still rounded up");
        assert!(p.months.iter().map(|m| m.funnel.deals).sum::<f64>() <= 200.0);
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
        let visitors = PlanInput { goal: Some(1e300), deal_size: 1.0, visitor_to_lead: 1e-10, ..input() };
        assert_eq!(plan(&visitors).unwrap_err()[0].field, "visitorToLead");
        let inverse = PlanInput { goal: None, mqls: Some(1e308), lead_to_mql: 1.0, ..input() };
        assert_eq!(plan(&inverse).unwrap_err()[0].field, "leadToMql");
        let revenue = PlanInput {
            goal: None,
            mqls: Some(1e306),
            lead_to_mql: 100.0,
            visitor_to_lead: 100.0,
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

//! Text reports of `backtest` and `plan`, for people; `--format json` prints the same data as JSON.

use std::io::{self, Write};

use leadscore::backtest::{Report, Stats};
use leadscore::compare::Comparison;
use leadscore::plan::{Funnel, Plan, PlanInput};

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn num(x: f64) -> String {
    // Thousands separated by commas, for counts and money.
    let neg = x < 0.0;
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// A score with at most one decimal.
fn short(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

fn stats(s: &Stats) -> String {
    format!(
        "{} leads, {} won: precision {} (of these leads, the share won), recall {} (of all won leads, the share \
         caught), F1 {}",
        s.count,
        s.won,
        pct(s.precision),
        pct(s.recall),
        s.f1.map_or("-".into(), |f| format!("{f:.3}"))
    )
}

pub fn backtest(w: &mut impl Write, r: &Report) -> io::Result<()> {
    if let Some(i) = &r.input {
        if let Some(m) = &i.mapping {
            writeln!(w, "read as: {m}")?;
        }
        let columns: Vec<String> =
            i.columns.iter().map(|(h, id)| if h == id { h.clone() } else { format!("{h} -> {id}") }).collect();
        writeln!(w, "columns read: {}", if columns.is_empty() { "none".into() } else { columns.join(", ") })?;
        if !i.ignored_columns.is_empty() {
            writeln!(w, "columns ignored (no field or event of the model): {}", i.ignored_columns.join(", "))?;
        }
        writeln!(w, "outcome column: {}", i.outcome_column)?;
        for c in &i.converted {
            writeln!(
                w,
                "  {}: {} value(s) read by {} (e.g. {:?} -> {})",
                c.field, c.count, c.rule, c.example.0, c.example.1
            )?;
        }
        if !i.left_out.is_empty() {
            writeln!(w, "values left out (the rest of each row is scored):")?;
            for l in &i.left_out {
                writeln!(w, "  {}: {:?} x{}: {}", l.field, l.value, l.count, l.reason)?;
            }
        }
        writeln!(w)?;
    }
    writeln!(
        w,
        "{} row(s): {} scored, {} bad{}",
        r.rows,
        r.scored,
        r.error_count,
        if r.rows_with_issues > 0 { format!(", {} with values left out", r.rows_with_issues) } else { String::new() }
    )?;
    for e in &r.errors {
        writeln!(w, "  line {}: {}", e.line, e.message)?;
    }
    writeln!(w, "outcomes: {} won, {} lost, {} open; close rate {}", r.won, r.lost, r.open, pct(r.base_rate))?;
    let values: Vec<String> = r
        .outcomes
        .iter()
        .map(|o| format!("{} {} ({}{})", o.value, o.count, o.kind, if o.unlisted { ", in no list" } else { "" }))
        .collect();
    writeln!(w, "  values: {}", values.join(", "))?;
    writeln!(w)?;
    writeln!(w, "{:<24} {:>8} {:>8} {:>8} {:>10}", "stage", "leads", "won", "lost", "close rate")?;
    for s in &r.stages {
        writeln!(w, "{:<24} {:>8} {:>8} {:>8} {:>10}", s.label, s.count, s.won, s.lost, pct(s.close_rate))?;
    }
    writeln!(w)?;
    for t in &r.thresholds {
        writeln!(w, "{} (score >= {}): {}", t.label, t.current, stats(&t.current_at))?;
        match (t.suggested, &t.suggested_at) {
            (Some(s), Some(at)) => writeln!(
                w,
                "  suggested: score >= {s}: {}\n  (maximises {}; from {} leads with an outcome)",
                stats(at),
                t.goal,
                r.won + r.lost
            )?,
            _ => writeln!(w, "  no suggestion (see the notes)")?,
        }
    }
    if !r.thresholds.is_empty() {
        writeln!(w)?;
    }
    writeln!(w, "score distribution (bins of {}; # won, . lost, o open):", r.histogram.width)?;
    let top = r.histogram.bins.iter().map(|b| b.won + b.lost + b.open).max().unwrap_or(0).max(1);
    for b in &r.histogram.bins {
        let n = b.won + b.lost + b.open;
        let scale = |k: u64| ((k as f64) * 50.0 / top as f64).round() as usize;
        writeln!(
            w,
            "{:>7} {:>7} {}{}{}",
            b.from,
            n,
            "#".repeat(scale(b.won)),
            ".".repeat(scale(b.lost)),
            "o".repeat(scale(b.open))
        )?;
    }
    writeln!(w)?;
    writeln!(w, "lift: how much more often the leads a rule fired on closed than the average lead (1: no better)")?;
    writeln!(w, "{:<28} {:>7} {:>12} {:>12} {:>6}", "rule", "fired", "close fired", "close not", "lift")?;
    for x in &r.rules {
        writeln!(
            w,
            "{:<28} {:>7} {:>12} {:>12} {:>6}",
            x.id,
            x.fired,
            pct(x.close_rate_fired),
            pct(x.close_rate_not_fired),
            x.lift.map_or("-".into(), |l| format!("{l:.2}"))
        )?;
    }
    if !r.notes.is_empty() {
        writeln!(w)?;
        writeln!(w, "notes:")?;
        for n in &r.notes {
            writeln!(w, "- {n}")?;
        }
    }
    Ok(())
}

pub fn plan(w: &mut impl Write, input: &PlanInput, p: &Plan) -> io::Result<()> {
    let f = &p.funnel;
    match input.goal {
        Some(goal) => writeln!(
            w,
            "A revenue goal of {} at {} a deal, in {} ({} working days), needs:",
            num(goal),
            num(input.deal_size),
            input.year,
            p.working_days
        )?,
        None => writeln!(
            w,
            "{} MQLs in {} ({} working days), at {} a deal, yield:",
            num(f.mqls),
            input.year,
            p.working_days,
            num(input.deal_size)
        )?,
    }
    writeln!(w, "  {:>12} deals (revenue {})", num(f.deals), num(p.revenue))?;
    writeln!(w, "  {:>12} SQLs      at {}% SQL to won", num(f.sqls), input.sql_to_won)?;
    writeln!(w, "  {:>12} MQLs      at {}% MQL to SQL", num(f.mqls), input.mql_to_sql)?;
    if let (Some(leads), Some(r)) = (f.leads, input.lead_to_mql) {
        writeln!(w, "  {:>12} leads     at {r}% lead to MQL", num(leads))?;
    }
    if let (Some(visitors), Some(r)) = (f.visitors, input.visitor_to_lead) {
        writeln!(w, "  {:>12} visitors  at {r}% visitor to lead", num(visitors))?;
    }
    writeln!(w)?;
    writeln!(w, "the arithmetic:")?;
    for s in &p.steps {
        writeln!(w, "  {s}")?;
    }
    writeln!(w)?;
    let opt = |x: Option<f64>, dec: usize| x.map_or("-".to_string(), |x| format!("{x:.dec$}"));
    let row = |w: &mut dyn Write, name: &str, days: String, x: &Funnel, dec: usize| {
        writeln!(
            w,
            "{name:<9} {days:>5} {:>12} {:>10} {:>9.dec$} {:>8.dec$} {:>7.dec$}",
            opt(x.visitors, dec),
            opt(x.leads, dec),
            x.mqls,
            x.sqls,
            x.deals
        )
    };
    writeln!(
        w,
        "{:<9} {:>5} {:>12} {:>10} {:>9} {:>8} {:>7}",
        "month", "days", "visitors", "leads", "MQLs", "SQLs", "deals"
    )?;
    for m in &p.months {
        row(w, &m.month, m.working_days.to_string(), &m.funnel, 0)?;
    }
    row(w, "year", p.working_days.to_string(), f, 0)?;
    row(w, "per day", String::new(), &p.per_working_day, 2)?;
    writeln!(w, "({})", p.rounding)?;
    Ok(())
}

/// Champion (A) and challenger (B) side by side: close rate per stage, each threshold's precision and recall,
/// the leads that change stage, and the first `show` of them with the rules that moved them.
pub fn compare(w: &mut impl Write, c: &Comparison, show: usize) -> io::Result<()> {
    writeln!(w, "{} lead(s) scored by both models; {} change stage.", c.leads, c.changed)?;
    writeln!(w)?;
    writeln!(w, "{:<24} {:>9} {:>11} {:>9} {:>11}", "stage", "A leads", "A close", "B leads", "B close")?;
    let mut ids: Vec<&str> = c.a.stages.iter().map(|s| s.id.as_str()).collect();
    for s in &c.b.stages {
        if !ids.contains(&s.id.as_str()) {
            ids.push(&s.id);
        }
    }
    for id in ids {
        let (a, b) = (c.a.stages.iter().find(|s| s.id == id), c.b.stages.iter().find(|s| s.id == id));
        let label = a.or(b).map_or(id, |s| s.label.as_str());
        let count = |s: Option<&leadscore::backtest::StageRow>| s.map_or("-".into(), |s| s.count.to_string());
        writeln!(
            w,
            "{:<24} {:>9} {:>11} {:>9} {:>11}",
            label,
            count(a),
            pct(a.and_then(|s| s.close_rate)),
            count(b),
            pct(b.and_then(|s| s.close_rate))
        )?;
    }
    writeln!(w)?;
    for (name, r) in [("A", &c.a), ("B", &c.b)] {
        for t in &r.thresholds {
            writeln!(w, "{name}: {} (score >= {}): {}", t.label, t.current, stats(&t.current_at))?;
        }
    }
    if !c.transitions.is_empty() {
        writeln!(w)?;
        writeln!(w, "leads that change stage, from A to B:")?;
        for t in &c.transitions {
            writeln!(w, "  {} -> {}: {} ({} won, {} lost)", t.from, t.to, t.count, t.won, t.lost)?;
        }
    }
    for m in c.moved.iter().take(show) {
        let mut why: Vec<String> = m.gained.iter().map(|r| format!("+{r}")).collect();
        why.extend(m.dropped.iter().map(|r| format!("-{r}")));
        writeln!(
            w,
            "  {} (line {}, {}): {} -> {}, score {} -> {}{}",
            m.id,
            m.line,
            m.outcome,
            m.from,
            m.to,
            short(m.score_a),
            short(m.score_b),
            if why.is_empty() { String::new() } else { format!(": {}", why.join(" ")) }
        )?;
    }
    Ok(())
}

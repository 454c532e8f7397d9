//! Writing results: NDJSON, CSV, an aligned table, and the explanation of one lead.

use std::io::{self, Write};

use leadscore::{Evaluation, GradeResult, Issue, Program, Score};
use serde_json::{json, Value as Json};

use crate::OutputFormat;

pub struct Writer<W: Write> {
    out: W,
    format: OutputFormat,
    full: bool,
    groups: Vec<String>,
    /// The groups' indexes in the order of their ids (a compact record's `groups` object has its keys sorted).
    sorted_groups: Vec<usize>,
    wrote_header: bool,
}

/// The compact record of a decided lead, written as [`record`] writes it (the keys in order) without building a
/// JSON value first.
#[derive(serde::Serialize)]
struct Compact<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cell: Option<&'a str>,
    fired: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    grade: Option<&'a str>,
    groups: Groups<'a>,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    issues: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    knockout: Option<&'a str>,
    line: u64,
    score: f64,
    stage: &'a str,
}

/// Group scores by id, the ids in order.
struct Groups<'a> {
    ids: &'a [String],
    order: &'a [usize],
    scores: &'a [f64],
}

impl serde::Serialize for Groups<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.order.len()))?;
        for &g in self.order {
            if let (Some(id), Some(score)) = (self.ids.get(g), self.scores.get(g)) {
                m.serialize_entry(id, &json!(score))?;
            }
        }
        m.end()
    }
}

fn num(x: f64) -> String {
    // Shortest representation that reads back to the same number; integers without ".0".
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The analysis for people: each group's reachable bounds, each stage's reachability and threshold.
pub fn analysis(a: &leadscore::analyze::Analysis) -> String {
    use std::fmt::Write as _;
    let bound = |x: Option<f64>, none: &str| x.map_or(none.to_string(), num);
    let width = a.groups.iter().map(|g| g.id.len()).chain(a.stages.iter().map(|s| s.stage.id.len())).max().unwrap_or(0);
    let mut out = String::from("groups (reachable scores):\n");
    for g in &a.groups {
        let _ = writeln!(out, "  {:width$}  {}..{}", g.id, bound(g.min, "-inf"), bound(g.max, "inf"));
    }
    out.push_str("stages (best first):\n");
    let last = a.stages.len().saturating_sub(1);
    for (i, s) in a.stages.iter().enumerate() {
        let s = &s.stage;
        let reach = if s.reachable { "reachable" } else { "unreachable" };
        let threshold = match s.threshold {
            Some(t) => format!("score >= {}", num(t)),
            None if i == last => "default".to_string(),
            None => "no score threshold".to_string(),
        };
        let _ = writeln!(out, "  {:width$}  {reach:11}  {threshold}", s.id);
    }
    out
}

/// What the compact record, the CSV row and the table line say about one lead.
pub struct Row<'a> {
    pub id: &'a str,
    pub line: u64,
    pub score: f64,
    /// Group scores, in model order.
    pub groups: Vec<f64>,
    /// The stage's id, or `disqualified`.
    pub stage: &'a str,
    pub grade: Option<GradeResult>,
    /// The knockout's reason.
    pub knockout: Option<&'a str>,
    /// Ids of the rules that gave points, in rule order.
    pub fired: Vec<&'a str>,
    pub issues: &'a [Issue],
    /// A form in progress that is not decided, or whose score may still change: its range and what is open.
    pub open: Option<&'a Evaluation>,
}

impl<'a> Row<'a> {
    /// The row of an evaluation.
    pub fn of_evaluation(id: &'a str, line: u64, e: &'a Evaluation) -> Row<'a> {
        let open = !e.decided || e.range.min != e.range.max || e.range.min != Some(e.score);
        Row {
            id,
            line,
            score: e.score,
            groups: e.groups.iter().map(|g| g.score).collect(),
            stage: &e.stage.id,
            grade: e.grade.clone(),
            knockout: e.disqualified.as_ref().map(|d| d.reason.as_str()),
            fired: e.ledger.iter().map(|l| l.rule.as_str()).collect(),
            issues: &e.issues,
            open: open.then_some(e),
        }
    }

    /// The row of a submitted lead's score (what [`Row::of_evaluation`] gives for its complete evaluation).
    pub fn of_score(
        p: &'a Program,
        id: &'a str,
        line: u64,
        s: &Score,
        fired: impl Iterator<Item = usize>,
        issues: &'a [Issue],
    ) -> Row<'a> {
        let knockout = s.knockout.and_then(|k| p.knockouts.get(k));
        Row {
            id,
            line,
            score: s.total,
            groups: s.groups.clone(),
            stage: match knockout {
                Some(_) => "disqualified",
                None => p.stages.get(s.stage).map_or("", |st| st.id.as_str()),
            },
            grade: p.grade_result(&s.groups),
            knockout: knockout.map(|k| k.reason.as_str()),
            fired: fired.filter_map(|r| p.rules.get(r)).map(|r| r.id.as_str()).collect(),
            issues,
            open: None,
        }
    }
}

/// The compact record of one lead.
pub fn record(groups: &[String], row: &Row) -> Json {
    let by_id: serde_json::Map<String, Json> =
        groups.iter().zip(&row.groups).map(|(id, score)| (id.clone(), json!(score))).collect();
    let mut r = json!({
        "id": row.id,
        "line": row.line,
        "score": row.score,
        "groups": by_id,
        "stage": row.stage,
        "fired": row.fired,
    });
    if let Some(g) = &row.grade {
        r["grade"] = json!(g.letter);
        if let Some(c) = &g.cell {
            r["cell"] = json!(c);
        }
    }
    if let Some(k) = row.knockout {
        r["knockout"] = json!(k);
    }
    if let Some(e) = row.open {
        r["range"] = json!(e.range);
        r["decided"] = json!(e.decided);
        r["undecided_fields"] = json!(e.undecided_fields);
    }
    if !row.issues.is_empty() {
        r["issues"] = json!(row.issues);
    }
    r
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, format: OutputFormat, full: bool, program: &Program) -> Self {
        let groups: Vec<String> = program.groups.iter().map(|g| g.id.clone()).collect();
        let mut sorted_groups: Vec<usize> = (0..groups.len()).collect();
        sorted_groups.sort_by(|&a, &b| groups[a].cmp(&groups[b]));
        Writer { out, format, full, groups, sorted_groups, wrote_header: false }
    }

    /// Writes one lead: its whole evaluation with `full` (NDJSON), else its row.
    pub fn write(&mut self, id: &str, line: u64, e: &Evaluation) -> io::Result<()> {
        if self.full && matches!(self.format, OutputFormat::Ndjson) {
            let mut v = serde_json::to_value(e).map_err(io::Error::other)?;
            v["id"] = json!(id);
            serde_json::to_writer(&mut self.out, &v).map_err(io::Error::other)?;
            return self.out.write_all(b"\n");
        }
        self.write_row(&Row::of_evaluation(id, line, e))
    }

    /// Writes the CSV header or the table's, once, before the first row.
    pub fn header(&mut self) -> io::Result<()> {
        if std::mem::replace(&mut self.wrote_header, true) {
            return Ok(());
        }
        match self.format {
            OutputFormat::Ndjson => Ok(()),
            OutputFormat::Csv => {
                let mut h = vec!["id".to_string(), "score".into()];
                h.extend(self.groups.iter().cloned());
                h.extend(["stage", "grade", "cell", "knockout", "fired", "issues"].map(String::from));
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(&h)?;
                let buf = w.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
                self.out.write_all(&buf)
            }
            OutputFormat::Table => {
                write!(self.out, "{:<14} {:>7}", "id", "score")?;
                for g in &self.groups {
                    write!(self.out, " {:>11}", clip(g, 11))?;
                }
                writeln!(self.out, "  {:<14} {:<5} knockout / rules fired", "stage", "grade")
            }
        }
    }

    /// The format it writes.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// A writer of rows only: the header is another writer's ([`Writer::header`]).
    pub fn rows_only(mut self) -> Self {
        self.wrote_header = true;
        self
    }

    /// Writes bytes another writer wrote.
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    /// The writer's output.
    pub fn into_inner(self) -> W {
        self.out
    }

    pub fn write_row(&mut self, row: &Row) -> io::Result<()> {
        match self.format {
            OutputFormat::Ndjson if row.open.is_none() => {
                let compact = Compact {
                    cell: row.grade.as_ref().and_then(|g| g.cell.as_deref()),
                    fired: &row.fired,
                    grade: row.grade.as_ref().map(|g| g.letter.as_str()),
                    groups: Groups { ids: &self.groups, order: &self.sorted_groups, scores: &row.groups },
                    id: row.id,
                    issues: (!row.issues.is_empty()).then(|| json!(row.issues)),
                    knockout: row.knockout,
                    line: row.line,
                    score: row.score,
                    stage: row.stage,
                };
                serde_json::to_writer(&mut self.out, &compact).map_err(io::Error::other)?;
                self.out.write_all(b"\n")
            }
            OutputFormat::Ndjson => {
                serde_json::to_writer(&mut self.out, &record(&self.groups, row)).map_err(io::Error::other)?;
                self.out.write_all(b"\n")
            }
            OutputFormat::Csv => {
                self.header()?;
                let mut w = csv::Writer::from_writer(Vec::new());
                let mut cells = vec![row.id.to_string(), num(row.score)];
                cells.extend(row.groups.iter().map(|&g| num(g)));
                cells.push(row.stage.to_string());
                cells.push(row.grade.as_ref().map(|g| g.letter.clone()).unwrap_or_default());
                cells.push(row.grade.as_ref().and_then(|g| g.cell.clone()).unwrap_or_default());
                cells.push(row.knockout.unwrap_or_default().to_string());
                cells.push(row.fired.join(";"));
                cells.push(
                    row.issues.iter().map(|i| format!("{}: {}", i.field, i.message)).collect::<Vec<_>>().join("; "),
                );
                w.write_record(&cells)?;
                let buf = w.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
                self.out.write_all(&buf)
            }
            OutputFormat::Table => {
                self.header()?;
                write!(self.out, "{:<14} {:>7}", clip(row.id, 14), num(round2(row.score)))?;
                for &g in &row.groups {
                    write!(self.out, " {:>11}", num(round2(g)))?;
                }
                let grade =
                    row.grade.as_ref().map(|g| g.cell.clone().unwrap_or_else(|| g.letter.clone())).unwrap_or_default();
                let tail = match row.knockout {
                    Some(reason) => format!("knockout: {reason}"),
                    None => format!("{} rule(s)", row.fired.len()),
                };
                writeln!(self.out, "  {:<14} {:<5} {}", row.stage, grade, tail)
            }
        }
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

fn show(v: &Json) -> String {
    match v {
        Json::String(s) => format!("\"{s}\""),
        Json::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// The explanation of one lead, as a table for people.
pub fn explain(out: &mut impl Write, id: &str, e: &Evaluation, hints: &leadscore::Hints) -> io::Result<()> {
    let groups: Vec<String> = e.groups.iter().map(|g| format!("{} {}", g.id, num(round2(g.score)))).collect();
    write!(out, "lead {id}: score {} ({})", num(round2(e.score)), groups.join(", "))?;
    write!(out, " -> stage {}", e.stage.id)?;
    if let Some(g) = &e.grade {
        write!(out, ", grade {}", g.cell.as_ref().unwrap_or(&g.letter))?;
    }
    writeln!(out)?;
    if let Some(d) = &e.disqualified {
        writeln!(
            out,
            "disqualified by knockout `{}` (reason {}): {}",
            d.knockout,
            d.reason,
            d.message.as_deref().unwrap_or("")
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{:<24} {:<12} {:>9}  why", "rule", "group", "points")?;
    for l in &e.ledger {
        let mut why: Vec<String> = l.inputs.iter().map(|(k, v)| format!("{k} = {}", show(v))).collect();
        for (ev, info) in &l.events {
            let count = info.get("count").and_then(Json::as_u64).unwrap_or(0);
            match info.get("days_since").and_then(Json::as_f64) {
                Some(d) => why.push(format!("{ev}: {count}, latest {} days ago", num(round2(d)))),
                None => why.push(format!("{ev}: none")),
            }
        }
        if l.times != 1 || l.decayed != 0.0 {
            why.push(format!("{} x {}", l.times, num(round2(l.base))));
        }
        if l.decayed.abs() > 0.005 {
            why.push(format!("decay -{}", num(round2(l.decayed))));
        }
        let label = l.label.as_deref().map(|s| format!("  ({s})")).unwrap_or_default();
        writeln!(
            out,
            "{:<24} {:<12} {:>+9.2}  {}{label}",
            clip(&l.rule, 24),
            clip(&l.group, 12),
            l.points,
            why.join(", ")
        )?;
    }
    for g in &e.groups {
        if g.clipped.abs() > 1e-9 {
            writeln!(
                out,
                "cap on {}: {} before caps -> {} (clipped {})",
                g.id,
                num(round2(g.raw)),
                num(round2(g.score)),
                num(round2(g.clipped))
            )?;
        }
    }
    if !e.decided || e.range.min != e.range.max {
        let r = |x: Option<f64>, inf: &str| x.map_or(inf.to_string(), |v| num(round2(v)));
        writeln!(out, "range over unanswered fields: {}..{}", r(e.range.min, "-inf"), r(e.range.max, "inf"))?;
        if !e.undecided_fields.is_empty() {
            writeln!(out, "still deciding the outcome: {}", e.undecided_fields.join(", "))?;
        }
    }
    if !e.ignored.is_empty() {
        writeln!(out, "ignored (hidden fields): {}", e.ignored.join(", "))?;
    }
    for i in &e.issues {
        writeln!(out, "input issue: {}: {}", i.field, i.message)?;
    }
    if let Some(target) = &hints.target {
        let describe = |h: &leadscore::Hint| {
            let what = match (h.kind, &h.value) {
                (leadscore::HintKind::Event, _) => format!("record {}", h.name),
                (_, Some(v)) => format!("{} = {}", h.name, show(v)),
                _ => h.name.clone(),
            };
            format!("{what} ({:+} -> {}, {})", round2(h.gain), num(round2(h.score)), h.stage)
        };
        if hints.reach.is_empty() {
            writeln!(out, "no single change reaches {target}; closest:")?;
            for h in &hints.closer {
                writeln!(out, "  {}", describe(h))?;
            }
        } else {
            writeln!(out, "to reach {target}, any one of:")?;
            for h in hints.reach.iter().take(8) {
                writeln!(out, "  {}", describe(h))?;
            }
        }
    }
    if let Some(end) = &e.ending {
        writeln!(out, "ending ({}): {}", end.key, end.title.as_deref().or(end.message.as_deref()).unwrap_or(""))?;
    }
    Ok(())
}

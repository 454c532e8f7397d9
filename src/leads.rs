//! Reading leads from files: CSV (a header row; field columns, event columns of `;`-separated times) or NDJSON
//! (`{"id", "answers", "events"}`, or a flat object of fields). The same reader serves the command-line tool
//! and the browser's backtest, so both read a file the same way. A bad row is an error naming its line;
//! reading goes on. No I/O of its own: it reads any [`Read`].

use std::io::{self, BufRead, BufReader, Read};

use serde_json::Value as Json;

use crate::{Answers, Events, Issue, Program};

/// The two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl Format {
    /// The format a file name suggests: NDJSON for `.ndjson`, `.jsonl` and `.json`, CSV otherwise.
    pub fn guess(name: &str) -> Format {
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e).to_ascii_lowercase();
        match ext.as_str() {
            "ndjson" | "jsonl" | "json" => Format::Ndjson,
            _ => Format::Csv,
        }
    }
}

/// One lead read from the input.
#[derive(Debug)]
pub struct Lead {
    /// The `id` column or key; by default the lead's number, from 1.
    pub id: String,
    /// 1-based line of the input where the lead starts.
    pub line: u64,
    /// Byte offset after the lead, for progress.
    pub offset: u64,
    pub answers: Answers,
    pub events: Events,
    /// Values the model could not take (the rest of the lead is read).
    pub issues: Vec<Issue>,
    /// The values of the extra columns asked for when opening, in that order (`None`: absent or empty).
    pub extra: Vec<Option<String>>,
}

/// A bad row: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses an RFC 3339 time, or a date (midnight UTC), into milliseconds since 1970.
pub fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond() as f64);
    }
    let date = s.parse::<jiff::civil::Date>().ok()?;
    let ts = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(ts.as_millisecond() as f64)
}

#[derive(Clone, Copy)]
enum Column {
    Field(usize),
    Event(usize),
    Extra(usize),
    Id,
    Ignored,
}

enum Source<R: Read> {
    Csv { rows: csv::StringRecordsIntoIter<R>, columns: Vec<Column> },
    Ndjson { lines: io::Lines<BufReader<R>>, line: u64, offset: u64 },
}

/// Leads from a CSV or NDJSON input. Iterate with [`Reader::next_lead`], or [`Reader::leads`] for an iterator.
pub struct Reader<R: Read> {
    source: Source<R>,
    extra: Vec<String>,
    ignored: Vec<String>,
    count: u64,
}

impl<R: Read> Reader<R> {
    /// Opens `input` for `program`. `extra` names columns (NDJSON: top-level keys) to hand back with each lead,
    /// such as an outcome column; they are not read as fields. Fails only when a CSV header cannot be read.
    pub fn new(input: R, format: Format, program: &Program, extra: &[&str]) -> Result<Self, String> {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut ignored = vec![];
        let source = match format {
            Format::Csv => {
                let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(input);
                let headers = rdr.headers().map_err(|e| format!("cannot read the header row: {e}"))?.clone();
                let columns = headers
                    .iter()
                    .map(|h| {
                        let h = h.trim();
                        if let Some(x) = extra.iter().position(|x| x == h) {
                            Column::Extra(x)
                        } else if h == "id" {
                            Column::Id
                        } else if let Some(f) = program.field_index(h) {
                            Column::Field(f)
                        } else if let Some(e) = program.event_index(h) {
                            Column::Event(e)
                        } else {
                            ignored.push(h.to_string());
                            Column::Ignored
                        }
                    })
                    .collect();
                Source::Csv { rows: rdr.into_records(), columns }
            }
            Format::Ndjson => Source::Ndjson { lines: BufReader::new(input).lines(), line: 0, offset: 0 },
        };
        Ok(Reader { source, extra, ignored, count: 0 })
    }

    /// CSV columns that are neither fields, events, `id` nor extra columns: they are not read.
    pub fn ignored_columns(&self) -> &[String] {
        &self.ignored
    }

    /// Whether the CSV header has the extra column `i` (always true for NDJSON, whose keys vary by line).
    pub fn has_extra(&self, i: usize) -> bool {
        match &self.source {
            Source::Csv { columns, .. } => columns.iter().any(|c| matches!(c, Column::Extra(x) if *x == i)),
            Source::Ndjson { .. } => true,
        }
    }

    /// The leads, one by one, as an iterator.
    pub fn leads<'a>(&'a mut self, program: &'a Program) -> impl Iterator<Item = Result<Lead, RowError>> + 'a {
        std::iter::from_fn(move || self.next_lead(program))
    }

    /// The next lead, a bad row, or `None` at the end.
    pub fn next_lead(&mut self, program: &Program) -> Option<Result<Lead, RowError>> {
        let n_extra = self.extra.len();
        match &mut self.source {
            Source::Csv { rows, columns } => {
                let rec = rows.next()?;
                self.count += 1;
                let rec = match rec {
                    Ok(r) => r,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        return Some(Err(RowError { line, message: e.to_string() }));
                    }
                };
                let pos = rec.position();
                let line = pos.map_or(0, |p| p.line());
                let offset = pos.map_or(0, |p| p.byte()) + rec.as_byte_record().as_slice().len() as u64;
                let mut answers = Answers::new(program);
                let mut events = Events::new(program);
                let mut issues = vec![];
                let mut extra = vec![None; n_extra];
                let mut id = None;
                for (i, cell) in rec.iter().enumerate() {
                    match columns.get(i).copied().unwrap_or(Column::Ignored) {
                        Column::Field(f) => {
                            if let Err(e) = answers.set_text(program, f, cell) {
                                issues.push(e);
                            }
                        }
                        Column::Event(e) => {
                            for t in cell.split(';').map(str::trim).filter(|t| !t.is_empty()) {
                                match parse_time(t) {
                                    Some(ms) => {
                                        let _ = events.push(e, ms);
                                    }
                                    None => issues.push(bad_time(&program.events[e].0, t)),
                                }
                            }
                        }
                        Column::Extra(x) => {
                            let v = cell.trim();
                            extra[x] = (!v.is_empty()).then(|| v.to_string());
                        }
                        Column::Id => id = Some(cell.to_string()),
                        Column::Ignored => {}
                    }
                }
                events.sort();
                let id = id.unwrap_or_else(|| self.count.to_string());
                Some(Ok(Lead { id, line, offset, answers, events, issues, extra }))
            }
            Source::Ndjson { lines, line, offset } => loop {
                let text = match lines.next()? {
                    Ok(t) => t,
                    Err(e) => return Some(Err(RowError { line: *line + 1, message: format!("cannot read: {e}") })),
                };
                *line += 1;
                *offset += text.len() as u64 + 1;
                if text.trim().is_empty() {
                    continue;
                }
                self.count += 1;
                let value: Json = match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => return Some(Err(RowError { line: *line, message: format!("not JSON: {e}") })),
                };
                if !value.is_object() {
                    return Some(Err(RowError { line: *line, message: "a lead is a JSON object".into() }));
                }
                let extra: Vec<Option<String>> = self
                    .extra
                    .iter()
                    .map(|k| match value.get(k) {
                        Some(Json::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                        Some(v @ (Json::Number(_) | Json::Bool(_))) => Some(v.to_string()),
                        _ => None,
                    })
                    .collect();
                let (answers_json, events_json) = match value.get("answers") {
                    Some(a) => (a.clone(), value.get("events").cloned().unwrap_or(Json::Null)),
                    None => {
                        let mut flat = value.clone();
                        if let Some(m) = flat.as_object_mut() {
                            m.remove("id");
                            for k in &self.extra {
                                m.remove(k);
                            }
                        }
                        (flat, Json::Null)
                    }
                };
                let (answers, mut issues) = Answers::from_json(program, &answers_json);
                let events_json = with_ms_times(&events_json, &mut issues);
                let (events, more) = Events::from_json(program, &events_json);
                issues.extend(more);
                let id = match value.get("id") {
                    Some(Json::String(s)) => s.clone(),
                    Some(Json::Number(n)) => n.to_string(),
                    _ => self.count.to_string(),
                };
                return Some(Ok(Lead { id, line: *line, offset: *offset, answers, events, issues, extra }));
            },
        }
    }
}

fn bad_time(field: &str, t: &str) -> Issue {
    Issue { field: field.to_string(), code: "time", message: format!("`{t}` is not an RFC 3339 time or a date") }
}

/// Events with `at` as an RFC 3339 string are turned into milliseconds.
fn with_ms_times(events: &Json, issues: &mut Vec<Issue>) -> Json {
    let Json::Array(items) = events else { return events.clone() };
    Json::Array(
        items
            .iter()
            .map(|e| {
                let mut e = e.clone();
                if let Some(Json::String(s)) = e.get("at").cloned() {
                    match parse_time(&s) {
                        Some(ms) => e["at"] = Json::from(ms),
                        None => issues.push(bad_time(e.get("type").and_then(Json::as_str).unwrap_or(""), &s)),
                    }
                }
                e
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program() -> Program {
        let doc = r#"{"leadscore": 1, "id": "t",
            "fields": [{"id": "employees", "type": "integer"}, {"id": "email", "type": "email"}],
            "events": [{"id": "demo_request"}],
            "rules": [{"id": "big", "group": "fit", "when": "employees >= 50", "points": 10}],
            "stages": [{"id": "lead"}]}"#;
        crate::compile_str(doc).program.expect("compiles")
    }

    #[test]
    fn csv_fields_events_extra_columns_and_bad_rows() {
        let p = program();
        let csv = "id,employees,demo_request,outcome,notes\n\
                   a,120,2026-01-02;2026-01-05T10:00:00Z,won,x\n\
                   b,many,,lost,y\n\
                   c,3,yesterday,,z\n\
                   d,4\n";
        let mut r = Reader::new(csv.as_bytes(), Format::Csv, &p, &["outcome"]).unwrap();
        assert_eq!(r.ignored_columns(), ["notes"]);
        assert!(r.has_extra(0));
        let got: Vec<_> = r.leads(&p).collect();
        assert_eq!(got.len(), 4);
        let a = got[0].as_ref().unwrap();
        assert_eq!((a.id.as_str(), a.line), ("a", 2));
        assert_eq!(a.extra, [Some("won".to_string())]);
        assert_eq!(p.score(&a.answers, &a.events, 0.0).total, 10.0);
        assert_eq!(a.events.times(0).len(), 2);
        let b = got[1].as_ref().unwrap();
        assert_eq!(b.issues.len(), 1, "{:?}", b.issues);
        assert_eq!(b.issues[0].field, "employees");
        let c = got[2].as_ref().unwrap();
        assert_eq!(c.extra, [None]);
        assert_eq!(c.issues[0].code, "time");
        let d = got[3].as_ref().unwrap_err();
        assert_eq!(d.line, 5);
    }

    #[test]
    fn ndjson_nested_or_flat_with_extra_keys() {
        let p = program();
        let text = "{\"id\": 7, \"answers\": {\"employees\": 60}, \"events\": [{\"type\": \"demo_request\", \"at\": \"2026-01-01\"}], \"outcome\": \"won\"}\n\
                    \n\
                    {\"employees\": 5, \"outcome\": \"lost\"}\n\
                    [1]\n";
        let mut r = Reader::new(text.as_bytes(), Format::Ndjson, &p, &["outcome"]).unwrap();
        let got: Vec<_> = r.leads(&p).collect();
        let first = got[0].as_ref().unwrap();
        assert_eq!((first.id.as_str(), first.extra[0].as_deref()), ("7", Some("won")));
        assert_eq!(first.events.times(0).len(), 1);
        let second = got[1].as_ref().unwrap();
        assert_eq!((second.line, second.extra[0].as_deref()), (3, Some("lost")));
        assert!(second.issues.is_empty(), "the extra key was read as a field: {:?}", second.issues);
        assert_eq!(got[2].as_ref().unwrap_err().line, 4);
    }

    #[test]
    fn format_from_the_name() {
        assert_eq!(Format::guess("leads.NDJSON"), Format::Ndjson);
        assert_eq!(Format::guess("leads.csv"), Format::Csv);
        assert_eq!(Format::guess("-"), Format::Csv);
    }
}

//! Reading leads: CSV (field columns, event columns of `;`-separated times) or NDJSON
//! (`{"id", "answers", "events"}`, or a flat object of fields). A bad row is an error that names its line;
//! reading goes on.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use leadscore::{Answers, Events, Issue, Program};
use serde_json::Value as Json;

use crate::InputFormat;

/// One lead read from the input.
pub struct Lead {
    pub id: String,
    /// 1-based line of the input where the lead starts.
    pub line: u64,
    /// Byte offset after the lead, for progress.
    pub offset: u64,
    pub answers: Answers,
    pub events: Events,
    pub issues: Vec<Issue>,
}

pub fn guess(path: &Path) -> InputFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some("ndjson" | "jsonl" | "json") => InputFormat::Ndjson,
        _ => InputFormat::Csv,
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

enum Source {
    Csv { rows: csv::StringRecordsIntoIter<Box<dyn Read>>, columns: Vec<Column>, id_col: Option<usize> },
    Ndjson { lines: io::Lines<BufReader<Box<dyn Read>>>, line: u64, offset: u64 },
}

#[derive(Clone, Copy)]
enum Column {
    Field(usize),
    Event(usize),
    Ignored,
}

pub struct Reader<'p> {
    program: &'p Program,
    source: Source,
    size: Option<u64>,
    count: u64,
}

impl<'p> Reader<'p> {
    pub fn open(path: &Path, format: InputFormat, program: &'p Program) -> Result<Self, String> {
        let (inner, size): (Box<dyn Read>, Option<u64>) = if path.as_os_str() == "-" {
            (Box::new(io::stdin()), None)
        } else {
            let f = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let size = f.metadata().ok().map(|m| m.len());
            (Box::new(f), size)
        };
        let source = match format {
            InputFormat::Csv => {
                let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(inner);
                let headers =
                    rdr.headers().map_err(|e| format!("{}: cannot read the header row: {e}", path.display()))?.clone();
                let mut id_col = None;
                let mut ignored = vec![];
                let columns = headers
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        let h = h.trim();
                        if h == "id" {
                            id_col = Some(i);
                            return Column::Ignored;
                        }
                        if let Some(f) = program.field_index(h) {
                            Column::Field(f)
                        } else if let Some(e) = program.event_index(h) {
                            Column::Event(e)
                        } else {
                            ignored.push(h.to_string());
                            Column::Ignored
                        }
                    })
                    .collect();
                if !ignored.is_empty() {
                    eprintln!(
                        "note: columns that are not fields or events of the model are ignored: {}",
                        ignored.join(", ")
                    );
                }
                Source::Csv { rows: rdr.into_records(), columns, id_col }
            }
            InputFormat::Ndjson => Source::Ndjson { lines: BufReader::new(inner).lines(), line: 0, offset: 0 },
        };
        Ok(Reader { program, source, size, count: 0 })
    }

    pub fn size(&self) -> Option<u64> {
        self.size
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Lead, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let program = self.program;
        match &mut self.source {
            Source::Csv { rows, columns, id_col } => {
                let rec = rows.next()?;
                self.count += 1;
                let rec = match rec {
                    Ok(r) => r,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        return Some(Err(format!("line {line}: {e}")));
                    }
                };
                let pos = rec.position();
                let line = pos.map_or(0, |p| p.line());
                let offset = pos.map_or(0, |p| p.byte()) + rec.as_byte_record().as_slice().len() as u64;
                let mut answers = Answers::new(program);
                let mut events = Events::new(program);
                let mut issues = vec![];
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
                                        let _ = events.record(e, ms);
                                    }
                                    None => issues.push(Issue {
                                        field: program.events[e].0.clone(),
                                        code: "time",
                                        message: format!("`{t}` is not an RFC 3339 time or a date"),
                                    }),
                                }
                            }
                        }
                        Column::Ignored => {}
                    }
                }
                let id = id_col.and_then(|c| rec.get(c)).map_or_else(|| self.count.to_string(), str::to_string);
                Some(Ok(Lead { id, line, offset, answers, events, issues }))
            }
            Source::Ndjson { lines, line, offset } => loop {
                let text = match lines.next()? {
                    Ok(t) => t,
                    Err(e) => return Some(Err(format!("line {}: cannot read: {e}", *line + 1))),
                };
                *line += 1;
                *offset += text.len() as u64 + 1;
                if text.trim().is_empty() {
                    continue;
                }
                self.count += 1;
                let value: Json = match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => return Some(Err(format!("line {}: not JSON: {e}", *line))),
                };
                if !value.is_object() {
                    return Some(Err(format!("line {}: a lead is a JSON object", *line)));
                }
                let (answers_json, events_json) = match value.get("answers") {
                    Some(a) => (a.clone(), value.get("events").cloned().unwrap_or(Json::Null)),
                    None => {
                        let mut flat = value.clone();
                        if let Some(m) = flat.as_object_mut() {
                            m.remove("id");
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
                return Some(Ok(Lead { id, line: *line, offset: *offset, answers, events, issues }));
            },
        }
    }
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
                        None => issues.push(Issue {
                            field: e.get("type").and_then(Json::as_str).unwrap_or("").to_string(),
                            code: "time",
                            message: format!("`{s}` is not an RFC 3339 time or a date"),
                        }),
                    }
                }
                e
            })
            .collect(),
    )
}

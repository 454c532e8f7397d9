//! Reading leads from files: CSV (a header row; field columns, event columns of `;`-separated times) or NDJSON
//! (`{"id", "answers", "events"}`, or a flat object of fields). The same reader serves the command-line tool
//! and the browser's backtest, so both read a file the same way. A bad row is an error naming its line;
//! reading goes on. No I/O of its own: it reads any [`Read`].

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read};

use serde_json::Value as Json;

use std::collections::BTreeMap;

use crate::mapping::{Mapping, Values};
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
#[derive(Debug, Clone, PartialEq)]
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

impl Lead {
    /// A lead with no answers, no events and `extra` empty values, to read into ([`Maker::lead_into`]).
    pub fn empty(program: &Program, extra: usize) -> Lead {
        Lead {
            id: String::new(),
            line: 0,
            offset: 0,
            answers: Answers::new(program),
            events: Events::new(program),
            issues: vec![],
            extra: vec![None; extra],
        }
    }
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

#[derive(Debug, Clone, Copy)]
enum Column {
    Field(usize),
    Event(usize),
    Extra(usize),
    Id,
    Ignored,
}

enum Source<R: Read> {
    Csv { rows: Box<CsvRows<R>> },
    Ndjson { lines: io::Lines<BufReader<R>>, line: u64, offset: u64 },
}

/// A lead as read ([`Reader::next_raw`]), not yet made into answers and events ([`Maker::lead`]): leads can be
/// read in order on one thread and made on several.
#[derive(Debug)]
pub struct Raw {
    kind: RawKind,
    line: u64,
    offset: u64,
    /// The lead's number, from 1: its id when it has none.
    count: u64,
}

#[derive(Debug)]
enum RawKind {
    Line(String),
    Record(Rec),
}

impl Raw {
    /// 1-based line of the input where the lead starts.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Byte offset after the lead.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// What makes leads of [`Raw`] ones: the CSV columns, the extra columns, the mapping's value rules. A clone
/// makes the same leads; the values it converts or leaves out are counted in its own [`Values`].
#[derive(Debug, Clone)]
pub struct Maker {
    /// The CSV columns (empty for NDJSON), how many the header has, and a parser of the rows that come unparsed.
    columns: Vec<Column>,
    width: usize,
    parser: RecordParser,
    extra: Vec<String>,
    values: Values,
    /// Scratch space of the NDJSON fast path (`crate::ndjson`), and whether it is taken.
    #[cfg(not(target_arch = "wasm32"))]
    seen: Vec<bool>,
    #[cfg(not(target_arch = "wasm32"))]
    fast: bool,
}

/// Leads from a CSV or NDJSON input. Iterate with [`Reader::next_lead`], or [`Reader::leads`] for an iterator.
pub struct Reader<R: Read> {
    source: Source<R>,
    maker: Maker,
    /// The CSV header row, trimmed.
    headers: Vec<String>,
    ignored: Vec<String>,
    /// Columns read, as (header, field or event id).
    matched: Vec<(String, String)>,
    count: u64,
}

/// Each header's column: an extra column, `id`, the field or event `renames` (a mapping's columns) or its own
/// name gives, or ignored; with the ignored headers and the (header, id) pairs read.
fn resolve(
    headers: &[String],
    program: &Program,
    extra: &[String],
    renames: &BTreeMap<String, String>,
) -> (Vec<Column>, Vec<String>, Vec<(String, String)>) {
    let (mut ignored, mut matched) = (vec![], vec![]);
    let columns = headers
        .iter()
        .map(|h| {
            let id = renames.get(h).map_or(h.as_str(), String::as_str);
            let column = if let Some(x) = extra.iter().position(|x| x == h) {
                Column::Extra(x)
            } else if h == "id" {
                Column::Id
            } else if let Some(f) = program.field_index(id) {
                Column::Field(f)
            } else if let Some(e) = program.event_index(id) {
                Column::Event(e)
            } else {
                ignored.push(h.clone());
                Column::Ignored
            };
            if matches!(column, Column::Field(_) | Column::Event(_)) {
                matched.push((h.clone(), id.to_string()));
            }
            column
        })
        .collect();
    (columns, ignored, matched)
}

impl<R: Read> Reader<R> {
    /// Opens `input` for `program`. `extra` names columns (NDJSON: top-level keys) to hand back with each lead,
    /// such as an outcome column; they are not read as fields. Fails only when a CSV header cannot be read.
    pub fn new(input: R, format: Format, program: &Program, extra: &[&str]) -> Result<Self, String> {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (mut ignored, mut matched, mut headers_read, mut columns) = (vec![], vec![], vec![], vec![]);
        let source = match format {
            Format::Csv => {
                let mut rows = Box::new(CsvRows::new(input));
                let headers = match rows.next_record(None, false) {
                    Some(Ok((_, _, rec))) => match rec.parsed(&mut rows.parser) {
                        Ok(h) => h,
                        Err(e) => return Err(format!("cannot read the header row: {e}")),
                    },
                    Some(Err(e)) => return Err(format!("cannot read the header row: {}", e.message)),
                    None => return Err("cannot read the header row: the input is empty".into()),
                };
                rows.width = headers.len();
                let names: Vec<&str> = headers.iter().map(str::trim).collect();
                for (j, name) in names.iter().enumerate() {
                    if let Some(i) = names[..j].iter().position(|n| n == name) {
                        return Err(format!(
                            "the header row names two columns `{name}` (columns {} and {}): which one counts is \
                             unclear; rename or remove one",
                            i + 1,
                            j + 1
                        ));
                    }
                }
                headers_read = names.iter().map(|n| n.to_string()).collect();
                let (c, ig, m) = resolve(&headers_read, program, &extra, &BTreeMap::new());
                (columns, ignored, matched) = (c, ig, m);
                Source::Csv { rows }
            }
            Format::Ndjson => Source::Ndjson { lines: BufReader::new(input).lines(), line: 0, offset: 0 },
        };
        let width = match &source {
            Source::Csv { rows } => rows.width,
            Source::Ndjson { .. } => 0,
        };
        let maker = Maker {
            columns,
            width,
            parser: RecordParser::new(),
            extra,
            values: Values::default(),
            #[cfg(not(target_arch = "wasm32"))]
            seen: vec![],
            #[cfg(not(target_arch = "wasm32"))]
            fast: true,
        };
        Ok(Reader { source, maker, headers: headers_read, ignored, matched, count: 0 })
    }

    /// Reads the file as `mapping` says: its columns renamed to fields and events, its outcome and `scored_at`
    /// columns as the extra columns 0 and 1, its values converted by its rules. Call before the first lead.
    pub fn apply(&mut self, program: &Program, mapping: &Mapping) {
        let m = &mut self.maker;
        m.extra = vec![mapping.outcome.column.clone(), mapping.scored_at.clone()];
        m.values = Values::new(mapping);
        if let Source::Csv { .. } = &self.source {
            let (c, ignored, matched) = resolve(&self.headers, program, &m.extra, &mapping.columns);
            (m.columns, self.ignored, self.matched) = (c, ignored, matched);
        }
    }

    /// How the file was read, for a backtest's report.
    pub fn input_summary(&self, mapping: &Mapping) -> crate::backtest::Input {
        crate::backtest::Input {
            mapping: mapping.name.clone(),
            outcome_column: mapping.outcome.column.clone(),
            columns: self.matched.clone(),
            ignored_columns: self.ignored.clone(),
            converted: self.maker.values.conversions().to_vec(),
            left_out: self.maker.values.values_left_out(),
        }
    }

    /// The CSV header row (empty for NDJSON).
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The CSV columns read as fields and events: (header, id).
    pub fn matched_columns(&self) -> &[(String, String)] {
        &self.matched
    }

    /// What the mapping's rules did to values the model refused as written, and the values left out.
    pub fn values(&self) -> &Values {
        &self.maker.values
    }

    /// CSV columns that are neither fields, events, `id` nor extra columns: they are not read.
    pub fn ignored_columns(&self) -> &[String] {
        &self.ignored
    }

    /// Whether the CSV header has the extra column `i` (always true for NDJSON, whose keys vary by line).
    pub fn has_extra(&self, i: usize) -> bool {
        match &self.source {
            Source::Csv { .. } => self.maker.columns.iter().any(|c| matches!(c, Column::Extra(x) if *x == i)),
            Source::Ndjson { .. } => true,
        }
    }

    /// The leads, one by one, as an iterator.
    pub fn leads<'a>(&'a mut self, program: &'a Program) -> impl Iterator<Item = Result<Lead, RowError>> + 'a {
        std::iter::from_fn(move || self.next_lead(program))
    }

    /// Reads every NDJSON line as a `serde_json::Value`, as the Wasm builds do: the reference the fast path
    /// (native builds) is tested against.
    #[doc(hidden)]
    pub fn read_values_only(&mut self) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.maker.fast = false;
        }
    }

    /// The next lead, a bad row, or `None` at the end.
    pub fn next_lead(&mut self, program: &Program) -> Option<Result<Lead, RowError>> {
        Some(match self.next_raw()? {
            Ok(raw) => self.maker.lead(program, raw),
            Err(e) => Err(e),
        })
    }

    /// The next lead as read, not yet made ([`Maker::lead`]), a bad row, or `None` at the end.
    pub fn next_raw(&mut self) -> Option<Result<Raw, RowError>> {
        match &mut self.source {
            Source::Csv { rows } => {
                let rec = rows.next_record(Some(rows.width), true)?;
                self.count += 1;
                Some(rec.map(|(line, offset, rec)| Raw { kind: RawKind::Record(rec), line, offset, count: self.count }))
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
                return Some(Ok(Raw { kind: RawKind::Line(text), line: *line, offset: *offset, count: self.count }));
            },
        }
    }

    /// What makes the leads of this input's [`Raw`] ones, on another thread.
    pub fn maker(&self) -> Maker {
        let mut m = self.maker.clone();
        m.values = self.maker.values.part();
        m
    }

    /// Adds the counts of values converted and left out by a [`Reader::maker`] ([`Maker::take_values`]) to
    /// this reader's, which [`Reader::values`] and [`Reader::input_summary`] give: in input order, the result is
    /// the one this reader would have counted.
    pub fn merge_values(&mut self, later: &Values) {
        self.maker.values.merge(later);
    }
}

impl Maker {
    /// What this maker counted of values converted and left out since the last call, for
    /// [`Reader::merge_values`].
    pub fn take_values(&mut self) -> Values {
        let part = self.values.part();
        std::mem::replace(&mut self.values, part)
    }

    /// The lead of `raw`, or a bad row.
    pub fn lead(&mut self, program: &Program, raw: Raw) -> Result<Lead, RowError> {
        let mut lead = Lead::empty(program, self.extra.len());
        self.lead_into(program, raw, &mut lead)?;
        Ok(lead)
    }

    /// [`Maker::lead`] into a lead read before, whose buffers are kept (its answers, events, extra values and
    /// id are replaced): the way to read many leads one after another without allocating each one anew. On an
    /// error the lead holds nothing of use.
    pub fn lead_into(&mut self, program: &Program, raw: Raw, lead: &mut Lead) -> Result<(), RowError> {
        let Raw { kind, line, offset, count } = raw;
        let n_extra = self.extra.len();
        lead.line = line;
        lead.offset = offset;
        lead.answers.reset(program);
        lead.events.reset(program);
        lead.issues.clear();
        lead.extra.resize(n_extra, None);
        for s in lead.extra.iter_mut().flatten() {
            s.clear();
        }
        match kind {
            RawKind::Record(rec) => {
                // A row left unparsed by the reading thread: parsed here, with the checks it would have made.
                let Maker { columns, parser, values, width, .. } = self;
                let cells: &mut dyn Iterator<Item = &str> = match &rec {
                    Rec::Parsed(r) => &mut r.iter(),
                    Rec::Line(text) => match parser.cells(text) {
                        Ok(c) if c.len() != *width => {
                            let message = format!("this row has {} values, the header row {width}", c.len());
                            return Err(RowError { line, message });
                        }
                        Ok(c) => &mut { c },
                        Err(message) => return Err(RowError { line, message }),
                    },
                };
                let Lead { answers, events, issues, extra, id: lead_id, .. } = lead;
                let mut id = None;
                for (i, cell) in cells.enumerate() {
                    match columns.get(i).copied().unwrap_or(Column::Ignored) {
                        Column::Field(f) => {
                            if let Err(e) = answers.set_text(program, f, cell) {
                                let id = &program.fields[f].id;
                                match values.convert(program, f, cell) {
                                    Some((v, rule)) if answers.set_text(program, f, &v).is_ok() => {
                                        values.converted(id, &rule, cell, &v);
                                    }
                                    _ => {
                                        values.left_out(id, cell, &e.message);
                                        issues.push(e);
                                    }
                                }
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
                            if let Some(slot) = extra.get_mut(x) {
                                match slot {
                                    Some(s) => {
                                        s.clear();
                                        s.push_str(v);
                                    }
                                    None => *slot = Some(v.to_string()),
                                }
                            }
                        }
                        Column::Id => id = Some(cell),
                        Column::Ignored => {}
                    }
                }
                events.sort();
                // An extra value left empty (its cell, or a cell it did not have) is none.
                for e in extra.iter_mut() {
                    if e.as_ref().is_some_and(|s| s.is_empty()) {
                        *e = None;
                    }
                }
                lead_id.clear();
                match id {
                    Some(cell) => lead_id.push_str(cell),
                    None => write!(lead_id, "{count}").expect("a String takes any text"),
                }
                Ok(())
            }
            RawKind::Line(text) => {
                #[cfg(not(target_arch = "wasm32"))]
                if self.fast {
                    let fast = crate::ndjson::read(
                        program,
                        &text,
                        &self.extra,
                        &mut lead.answers,
                        &mut lead.events,
                        &mut self.seen,
                    );
                    if let Some(l) = fast {
                        lead.id = l.id.unwrap_or_else(|| count.to_string());
                        lead.extra = l.extra;
                        return Ok(());
                    }
                }
                // Read again as a `Value`, into a new lead (a rare line: one that has something to say).
                let value: Json = match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => return Err(RowError { line, message: format!("not JSON: {e}") }),
                };
                if !value.is_object() {
                    return Err(RowError { line, message: "a lead is a JSON object".into() });
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
                    _ => count.to_string(),
                };
                *lead = Lead { id, line, offset, answers, events, issues, extra };
                Ok(())
            }
        }
    }
}

/// The records of a CSV input, one at a time. The lines of a record are found first (a quoted value may hold
/// line breaks), then parsed by the `csv` crate. A quote that is never closed would make the rest of the input
/// one value, and a stray quote closed by another one many lines later would make the rows between one value:
/// such a record is reported on its first line, and the lines after it are read again as rows of their own.
struct CsvRows<R: Read> {
    input: BufReader<R>,
    parser: RecordParser,
    /// Lines to read again (after a broken quote), before the input's next.
    again: VecDeque<Vec<u8>>,
    /// Lines read so far.
    line: u64,
    /// Bytes read so far.
    offset: u64,
    /// The header's number of columns (0 while reading the header).
    width: usize,
}

/// Where a CSV scan is inside a record: quotes open only at the start of a value, as the `csv` crate reads them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    ValueStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted value: closing, or the first of an escaped `""`.
    QuoteInQuoted,
}

impl Scan {
    fn over(self, bytes: &[u8]) -> Scan {
        // Most lines have no quote at all: found with a fast search, they end unquoted or between values.
        if self != Scan::Quoted && self != Scan::QuoteInQuoted && !bytes.contains(&b'"') {
            return match bytes.last() {
                None => self,
                Some(b',' | b'\n') => Scan::ValueStart,
                Some(_) => Scan::Unquoted,
            };
        }
        bytes.iter().fold(self, |s, &b| s.step(b))
    }

    fn step(self, b: u8) -> Scan {
        match (self, b) {
            (Scan::Quoted, b'"') => Scan::QuoteInQuoted,
            (Scan::Quoted, _) => Scan::Quoted,
            (Scan::QuoteInQuoted, b'"') | (Scan::ValueStart, b'"') => Scan::Quoted,
            (_, b',' | b'\n') => Scan::ValueStart,
            (Scan::ValueStart | Scan::Unquoted | Scan::QuoteInQuoted, _) => Scan::Unquoted,
        }
    }
}

/// A record's first line, where it ends (bytes read after it), and its values.
type CsvRecord = (u64, u64, Rec);

/// A CSV record as [`CsvRows`] gives it: parsed, or, for a row on one line whose quotes all close on it, its text,
/// which whoever makes the lead parses (`Maker::lead`), with the same outcome: such a row is never broken, only of
/// the wrong width or not UTF-8.
#[derive(Debug)]
enum Rec {
    Parsed(csv::StringRecord),
    Line(Vec<u8>),
}

impl Rec {
    fn parsed(self, parser: &mut RecordParser) -> Result<csv::StringRecord, String> {
        match self {
            Rec::Parsed(r) => Ok(r),
            Rec::Line(text) => parser.parse(&text),
        }
    }
}

impl<R: Read> CsvRows<R> {
    fn new(input: R) -> Self {
        CsvRows {
            input: BufReader::new(input),
            parser: RecordParser::new(),
            again: VecDeque::new(),
            line: 0,
            offset: 0,
            width: 0,
        }
    }

    fn next_line(&mut self) -> Option<Result<Vec<u8>, RowError>> {
        let l = match self.again.pop_front() {
            Some(l) => l,
            None => {
                let mut l = Vec::new();
                match self.input.read_until(b'\n', &mut l) {
                    Ok(0) => return None,
                    Ok(_) => l,
                    Err(e) => return Some(Err(RowError { line: self.line + 1, message: format!("cannot read: {e}") })),
                }
            }
        };
        self.line += 1;
        self.offset += l.len() as u64;
        Some(Ok(l))
    }

    /// The next record (with `width` values, when given), a bad row, or `None` at the end. Empty lines are
    /// skipped. With `defer`, a row on one line is given unparsed ([`Rec::Line`]).
    fn next_record(&mut self, width: Option<usize>, defer: bool) -> Option<Result<CsvRecord, RowError>> {
        let mut text = loop {
            let l = match self.next_line()? {
                Ok(l) => l,
                Err(e) => return Some(Err(e)),
            };
            if !l.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                break l;
            }
        };
        let first = self.line;
        let mut state = Scan::ValueStart.over(&text);
        let mut more: Vec<Vec<u8>> = Vec::new();
        while state == Scan::Quoted {
            match self.next_line() {
                Some(Ok(l)) => {
                    state = state.over(&l);
                    text.extend_from_slice(&l);
                    more.push(l);
                }
                Some(Err(e)) => return Some(Err(e)),
                None => break,
            }
        }
        if defer && more.is_empty() && state != Scan::Quoted {
            return Some(Ok((first, self.offset, Rec::Line(text))));
        }
        let parsed = self.parser.parse(&text);
        let wrong_width = |r: &csv::StringRecord| width.is_some_and(|w| r.len() != w);
        // The lines a quoted value took in, but the one that closes it, each a whole row on its own: rows
        // swallowed by a stray quote (a value with line breaks rarely has the header's number of commas on
        // each line).
        let rows_inside = width.is_some_and(|w| {
            w >= 3
                && more.len() >= 2
                && more[..more.len() - 1].iter().all(|l| {
                    Scan::ValueStart.over(l) != Scan::Quoted && self.parser.parse(l).is_ok_and(|r| r.len() == w)
                })
        });
        let broken =
            state == Scan::Quoted || (!more.is_empty() && (rows_inside || parsed.as_ref().is_ok_and(wrong_width)));
        if broken {
            let (n, last) = (more.len(), self.line);
            let message = if state == Scan::Quoted {
                format!(
                    "a quote opened on this line is never closed, so the {n} line(s) after it would be one value: this \
                     row is skipped, and those lines are read as rows"
                )
            } else {
                format!(
                    "a quoted value opened on this line runs to line {last}, taking in lines that look like rows \
                     of their own: the quote is probably stray; this row is skipped, and lines {} to {last} are \
                     read as rows",
                    first + 1
                )
            };
            self.line = first;
            for l in more.into_iter().rev() {
                self.offset -= l.len() as u64;
                self.again.push_front(l);
            }
            return Some(Err(RowError { line: first, message }));
        }
        Some(match parsed {
            Ok(r) if wrong_width(&r) => Err(RowError {
                line: first,
                message: format!("this row has {} values, the header row {}", r.len(), width.unwrap_or(0)),
            }),
            Ok(r) => Ok((first, self.offset, Rec::Parsed(r))),
            Err(message) => Err(RowError { line: first, message }),
        })
    }
}

/// Parses one record's text with `csv-core` (the `csv` crate's parser): one parser for the whole input, whose
/// tables are built once (a `csv::Reader` for each record tripled the time of reading a file).
#[derive(Debug)]
struct RecordParser {
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

/// A clone is a new parser: a parser keeps nothing from one record to the next, and a clone of `csv_core`'s reader
/// reads every record as one empty value.
impl Clone for RecordParser {
    fn clone(&self) -> Self {
        RecordParser::new()
    }
}

impl RecordParser {
    fn new() -> Self {
        RecordParser { core: csv_core::Reader::new(), out: Vec::new(), ends: Vec::new() }
    }

    /// The first record of `text` (an empty one for no text).
    fn parse(&mut self, text: &[u8]) -> Result<csv::StringRecord, String> {
        let n = self.split(text)?;
        record(&self.out, &self.ends[..n])
    }

    /// The values of the first record of `text`, borrowed from this parser, or the error [`RecordParser::parse`]
    /// gives: without a record to allocate, for rows read on the hot path.
    fn cells<'a>(&'a mut self, text: &'a [u8]) -> Result<Cells<'a>, String> {
        self.room(text.len());
        // Most rows: the values are read in place, between the commas.
        let plain = match self.split_plain(text) {
            Some(n) => std::str::from_utf8(&text[..self.ends[n - 1]]).ok().map(|all| (n, all)),
            None => None,
        };
        if let Some((n, all)) = plain {
            return Ok(Cells { all, ends: &self.ends[..n], start: 0, gap: 1 });
        }
        let n = self.split(text)?;
        let end = self.ends[..n].last().copied().unwrap_or(0);
        let (out, ends) = (&self.out, &self.ends[..n]);
        match std::str::from_utf8(&out[..end]) {
            Ok(all) if ends.iter().all(|&e| all.is_char_boundary(e)) => Ok(Cells { all, ends, start: 0, gap: 0 }),
            // A value that is not UTF-8 text: the record says which and where.
            _ => Err(record(out, ends).err().unwrap_or_else(|| "not UTF-8 text".into())),
        }
    }

    /// Splits the first record of `text` into `out` (its values, one after another) and `ends` (where each
    /// ends); returns how many values it has.
    fn split(&mut self, text: &[u8]) -> Result<usize, String> {
        self.room(text.len());
        self.split_quoted(text)
    }

    /// Room in `out` and `ends` for a text of `len` bytes: grown, never shrunk, so no bytes are cleared for each
    /// record.
    fn room(&mut self, len: usize) {
        if self.out.len() < len + 1 {
            self.out.resize(len + 1, 0);
            self.ends.resize(len + 2, 0);
        }
    }

    /// A record on one line with no quote (most rows): its values are the text between commas, as csv_core
    /// reads them. Writes where each value ends in `text` (before a comma, or at the end of the line) into
    /// `ends` and returns how many values there are; `None` for any other text.
    fn split_plain(&mut self, text: &[u8]) -> Option<usize> {
        let line = match text.strip_suffix(b"\n") {
            Some(t) => t.strip_suffix(b"\r").unwrap_or(t),
            None => text,
        };
        // csv_core drops a byte order mark at the start of a record.
        if line.is_empty() || line.starts_with(b"\xEF\xBB\xBF") || memchr::memchr3(b'"', b'\n', b'\r', line).is_some() {
            return None;
        }
        let mut e = 0;
        for end in memchr::memchr_iter(b',', line).chain(std::iter::once(line.len())) {
            self.ends[e] = end;
            e += 1;
        }
        Some(e)
    }

    /// [`RecordParser::split`]: the record's values by csv_core, one after another in `out`.
    fn split_quoted(&mut self, text: &[u8]) -> Result<usize, String> {
        self.core.reset();
        let (mut input, mut o, mut e) = (text, 0, 0);
        loop {
            let (res, nin, nout, nend) = self.core.read_record(input, &mut self.out[o..], &mut self.ends[e..]);
            input = &input[nin..];
            o += nout;
            e += nend;
            match res {
                // The end of the text is the end of the record.
                csv_core::ReadRecordResult::InputEmpty if !input.is_empty() => {}
                csv_core::ReadRecordResult::InputEmpty => {
                    let (_, _, nout, nend) = self.core.read_record(&[], &mut self.out[o..], &mut self.ends[e..]);
                    o += nout;
                    e += nend;
                    break;
                }
                // Unquoting never makes a text longer, and a record has at most one value per byte and one more.
                csv_core::ReadRecordResult::OutputFull | csv_core::ReadRecordResult::OutputEndsFull => {
                    return Err("a record larger than its text".into())
                }
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        for end in &mut self.ends[..e] {
            *end = (*end).min(o);
        }
        Ok(e)
    }
}

/// The record of the values `out` holds, each ending where `ends` says.
fn record(out: &[u8], ends: &[usize]) -> Result<csv::StringRecord, String> {
    let mut record = csv::ByteRecord::new();
    let mut start = 0;
    for &end in ends {
        record.push_field(&out[start..end]);
        start = end;
    }
    csv::StringRecord::from_byte_record(record).map_err(|e| format!("not UTF-8 text: {e}"))
}

/// The values of a record, as [`RecordParser::cells`] splits it: each ends where `ends` says, and the next
/// starts `gap` bytes after (after a comma, in a row's text; right after, in csv_core's output).
struct Cells<'a> {
    all: &'a str,
    ends: &'a [usize],
    start: usize,
    gap: usize,
}

impl Cells<'_> {
    fn len(&self) -> usize {
        self.ends.len()
    }
}

impl<'a> Iterator for Cells<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (&end, rest) = self.ends.split_first()?;
        let v = self.all.get(self.start..end)?;
        (self.start, self.ends) = (end + self.gap, rest);
        Some(v)
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

    /// Every lead of `text`, read fresh and read into one kept lead.
    fn read_both_ways(p: &Program, text: &str, format: Format, extra: &[&str]) {
        let mut fresh = Reader::new(text.as_bytes(), format, p, extra).unwrap();
        let mut kept = Reader::new(text.as_bytes(), format, p, extra).unwrap();
        let (mut maker, mut lead, mut n) = (kept.maker(), Lead::empty(p, 0), 0);
        while let Some(want) = fresh.next_lead(p) {
            let got = kept.next_raw().expect("as many leads").and_then(|raw| maker.lead_into(p, raw, &mut lead));
            match want {
                Ok(want) => assert_eq!((got, &lead), (Ok(()), &want), "lead {n} of {text}"),
                Err(e) => assert_eq!(got, Err(e), "lead {n} of {text}"),
            }
            n += 1;
        }
        assert!(kept.next_raw().is_none());
        assert!(n >= 6, "{n} leads");
    }

    #[test]
    fn a_lead_read_into_a_kept_one_is_the_lead_read_fresh() {
        let p = program();
        // Values, events, ids and extra values present, then absent, then empty; bad rows between.
        let csv = "id,employees,email,demo_request,outcome,scored_at\n\
                   a,120,Ann@Example.com,2026-01-02;2026-01-05T10:00:00Z,won,2026-02-01\n\
                   ,,,,,\n\
                   c,many,x,yesterday,lost,\n\
                   d,4\n\
                   \"e\",\"7\",\"b@c.it\",2026-01-01,\"open\",2026-03-01\n\
                   f,8,,,, \n\
                   ,9,z@z.it,2026-01-03,won,2026-01-04\n";
        read_both_ways(&p, csv, Format::Csv, &["outcome", "scored_at"]);
        let mut r = Reader::new(csv.as_bytes(), Format::Csv, &p, &["outcome", "scored_at"]).unwrap();
        let extra: Vec<_> = r.leads(&p).map(|l| l.map(|l| l.extra)).collect();
        let (some, none) = (|s: &str| Some(s.to_string()), None);
        assert_eq!(extra[1], Ok(vec![none.clone(), none.clone()]));
        assert_eq!(extra[2], Ok(vec![some("lost"), none.clone()]));
        assert_eq!(extra[5], Ok(vec![none.clone(), none]));
        read_both_ways(&p, csv, Format::Csv, &[]);
        // NDJSON: the fast path, the flat form, a key given twice, bad lines.
        let ndjson = [
            r#"{"id": "a", "answers": {"employees": 120, "email": "Ann@Example.com"}, "events": {"demo_request": ["2026-01-02T00:00:00Z"]}, "outcome": "won"}"#,
            r#"{"answers": {}}"#,
            r#"{"id": 7, "employees": 3, "outcome": "lost"}"#,
            r#"not json"#,
            r#"{"answers": {"employees": 1, "employees": 2}}"#,
            r#"[1]"#,
            r#"{"id": "g", "answers": {"employees": "many"}, "events": {"demo_request": ["soon"]}}"#,
            r#"{"id": "h", "answers": {"email": "h@h.it"}, "events": {"demo_request": ["2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"]}}"#,
        ]
        .join("\n");
        read_both_ways(&p, &ndjson, Format::Ndjson, &["outcome"]);
        read_both_ways(&p, &ndjson, Format::Ndjson, &[]);
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
    fn a_broken_quote_costs_one_row_and_says_so() {
        let p = program();
        let rows = |broken: usize, cell: &str| {
            let mut csv = String::from("id,employees,outcome,notes\n");
            for i in 1..=50 {
                let notes = if i == broken { cell.to_string() } else { format!("note {i}") };
                csv.push_str(&format!("r{i},{},won,{notes}\n", 10 * i));
            }
            csv
        };
        // A quote that is never closed: it took the 48 rows after it as one value.
        let csv = rows(2, "\"Acme, the best shop");
        let mut r = Reader::new(csv.as_bytes(), Format::Csv, &p, &["outcome"]).unwrap();
        let got: Vec<_> = r.leads(&p).collect();
        let (ok, bad): (Vec<_>, Vec<_>) = got.iter().partition(|g| g.is_ok());
        assert_eq!((ok.len(), bad.len()), (49, 1));
        let e = bad[0].as_ref().unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("never closed"), "{e}");
        let ids: Vec<&str> = ok.iter().map(|g| g.as_ref().unwrap().id.as_str()).collect();
        assert_eq!(ids[..3], ["r1", "r3", "r4"]);
        assert_eq!(ok.last().unwrap().as_ref().unwrap().line, 51);
        // A stray quote closed by another one further down: the rows between were one value.
        let mut csv = rows(10, "\"stray");
        csv = csv.replace("r20,200,won,note 20", "r20,200,won,note\" 20");
        let mut r = Reader::new(csv.as_bytes(), Format::Csv, &p, &["outcome"]).unwrap();
        let got: Vec<_> = r.leads(&p).collect();
        let bad: Vec<_> = got.iter().filter_map(|g| g.as_ref().err()).collect();
        assert_eq!(bad.iter().map(|e| e.line).collect::<Vec<_>>(), [11], "{bad:?}");
        assert!(bad[0].message.contains("runs to line 21"), "{}", bad[0]);
        assert_eq!(got.iter().filter(|g| g.is_ok()).count(), 49);
        // A valid quoted value with line breaks is one value.
        let csv = "id,employees,notes\nq1,5,\"two\nlines, and \"\"quotes\"\"\"\nq2,7,x\n";
        let mut r = Reader::new(csv.as_bytes(), Format::Csv, &p, &[]).unwrap();
        let got: Vec<_> = r.leads(&p).map(|g| g.unwrap()).collect();
        assert_eq!(got.iter().map(|g| (g.id.as_str(), g.line)).collect::<Vec<_>>(), [("q1", 2), ("q2", 4)]);
        // A quote inside an unquoted value is a character, as the csv crate reads it.
        let csv = "id,employees,notes\ntv,5,a 55\" screen\nx,6,y\n";
        let mut r = Reader::new(csv.as_bytes(), Format::Csv, &p, &[]).unwrap();
        assert!(r.leads(&p).all(|g| g.is_ok()));
    }

    #[test]
    fn valid_files_read_as_the_csv_crate_reads_them() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts: Vec<Vec<u8>> =
            ["examples/history/b2b-saas.csv", "examples/leads/agency.csv", "examples/leads/it-software.csv"]
                .iter()
                .map(|f| std::fs::read(root.join(f)).unwrap())
                .collect();
        texts.push(b"a,b,c\r\n1,\"x\r\ny\",\"\"\r\n\r\n\"q\"\"\",,\"\"\"\"\n".to_vec());
        texts.push("\u{feff}a,b\n\"1\" 2,3 \"4\"\nlast,row".as_bytes().to_vec());
        for text in texts {
            let expected: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(&text[..])
                .records()
                .map(Result::unwrap)
                .collect();
            let mut rows = CsvRows::new(&text[..]);
            let mut got = vec![];
            while let Some(r) = rows.next_record(None, false) {
                let rec = r.unwrap().2;
                got.push(rec.parsed(&mut rows.parser).unwrap());
            }
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_maker_cloned_on_another_thread_reads_rows_as_the_reader_does() {
        let p = program();
        let csv = "id,employees,demo_request,outcome,notes\na,120,2026-01-02,won,x\nb,3,,lost\n\"c\",\"4\",,,\"two\nlines\"\n";
        let read = |cloned: bool| {
            let mut r = Reader::new(csv.as_bytes(), Format::Csv, &p, &["outcome"]).unwrap();
            let maker = r.maker();
            let mut out = vec![];
            while let Some(raw) = r.next_raw() {
                let lead = match raw {
                    Err(e) => Err(e),
                    Ok(raw) if cloned => {
                        let mut m = maker.clone();
                        std::thread::scope(|s| s.spawn(|| m.lead(&p, raw)).join().unwrap())
                    }
                    Ok(raw) => r.maker.lead(&p, raw),
                };
                out.push(lead.map(|l| (l.id, l.line, l.answers, l.extra)));
            }
            out
        };
        let own = read(false);
        assert_eq!(read(true), own);
        assert_eq!(own.len(), 3);
        assert!(own[0].is_ok() && own[2].is_ok(), "{own:?}");
        assert_eq!(own[1].as_ref().unwrap_err().message, "this row has 4 values, the header row 5");
    }

    #[test]
    fn a_column_named_twice_is_an_error_naming_both() {
        let p = program();
        let csv = "id,employees,notes, employees\na,1,x,2\n";
        let e = Reader::new(csv.as_bytes(), Format::Csv, &p, &[]).err().expect("refused");
        assert!(e.contains("two columns `employees` (columns 2 and 4)"), "{e}");
        assert!(Reader::new(&b""[..], Format::Csv, &p, &[]).err().unwrap().contains("empty"));
    }

    #[test]
    fn format_from_the_name() {
        assert_eq!(Format::guess("leads.NDJSON"), Format::Ndjson);
        assert_eq!(Format::guess("leads.csv"), Format::Csv);
        assert_eq!(Format::guess("-"), Format::Csv);
    }

    #[test]
    fn the_quote_scan_of_a_line_without_quotes_ends_where_the_byte_by_byte_scan_ends() {
        let starts = [Scan::ValueStart, Scan::Unquoted, Scan::Quoted, Scan::QuoteInQuoted];
        let bytes = [b'a', b',', b'\n', b'"', b'\r', b' '];
        // Every text of up to four of those bytes, from every state.
        let mut texts: Vec<Vec<u8>> = vec![vec![]];
        for len in 1..=4 {
            let n = bytes.len().pow(len);
            for mut k in 0..n {
                let mut t = vec![];
                for _ in 0..len {
                    t.push(bytes[k % bytes.len()]);
                    k /= bytes.len();
                }
                texts.push(t);
            }
        }
        for s in starts {
            for t in &texts {
                let slow = t.iter().fold(s, |s, &b| s.step(b));
                assert!(s.over(t) == slow, "{:?} from state {}", String::from_utf8_lossy(t), s as u8);
            }
        }
    }

    #[test]
    fn the_values_of_a_row_read_without_a_record_are_those_of_its_record() {
        let lines: [&[u8]; 11] = [
            b"a,b,c\n",
            b"\"x \"\"y\"\"\",,z\r\n",
            b"\"two\nlines\",1\n",
            "é,ü,ß\n".as_bytes(),
            b"\xC3,\xA9\n",
            b"\xff,a\n",
            b"ok,\"\xC3\xA9\",\xC3\n",
            b"",
            b"\n",
            b"a,\"b\n",
            b",,,\n",
        ];
        let mut parser = RecordParser::new();
        for line in lines {
            let record = parser.parse(line).map(|r| r.iter().map(String::from).collect::<Vec<_>>());
            let cells = parser.cells(line).map(|c| c.map(String::from).collect::<Vec<_>>());
            assert_eq!(cells, record, "{:?}", String::from_utf8_lossy(line));
        }
        assert!(parser.cells(b"\xC3,\xA9\n").is_err(), "a character cut in two by a comma is not text");
    }

    #[test]
    fn a_row_with_no_quote_is_split_as_csv_core_splits_it() {
        let lines: [&[u8]; 18] = [
            b"a,b,c\n",
            b"\xEF\xBB\xBFa,b\n",
            b"a,\xEF\xBB\xBF\n",
            b"a,b,c\r\n",
            b"a,b,c",
            b",,,\n",
            b",",
            b"x\n",
            "é,ü,ß\n".as_bytes(),
            b"\xC3,\xA9\n",
            b" spaced , values \n",
            b"a,b\r",
            b"a\rb,c\n",
            b"a,b\nc,d\n",
            b"",
            b"\n",
            b"\r\n",
            b"a,\"b\",c\n",
        ];
        let (mut plain, mut core) = (RecordParser::new(), RecordParser::new());
        let mut taken = 0;
        for line in lines {
            let want = core.split(line).map(|n| {
                let mut start = 0;
                core.ends[..n]
                    .iter()
                    .map(|&e| std::mem::replace(&mut start, e))
                    .zip(&core.ends[..n])
                    .map(|(s, &e)| core.out[s..e].to_vec())
                    .collect::<Vec<_>>()
            });
            plain.room(line.len());
            if let Some(n) = plain.split_plain(line) {
                taken += 1;
                let mut start = 0;
                let got: Vec<Vec<u8>> =
                    plain.ends[..n].iter().map(|&e| line[std::mem::replace(&mut start, e + 1)..e].to_vec()).collect();
                assert_eq!(Ok(got), want, "{:?}", String::from_utf8_lossy(line));
            }
        }
        assert_eq!(taken, 10, "the rows on one line with no quote and no byte order mark");
    }
}

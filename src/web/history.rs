//! The playground's exports in the full build: the backtest of a model on past leads (a CSV or NDJSON text
//! read by the same reader as the command line, scored in steps so that a worker can report progress) and
//! the funnel planner.

use std::io::Cursor;

use js_sys::Error;
use serde_json::Value as Json;
use wasm_bindgen::prelude::*;

use super::*;
use crate::backtest::Backtest as Core;
use crate::leads::{Format, Reader};
use crate::mapping::Mapping;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** How a history's columns and values become the model's answers and outcomes (`leadscore schema mapping`). */
export interface HistoryMapping {
  /** What the file is ("HubSpot contacts export"). */
  name?: string | null;
  /** A column's header → the field or event id it holds (a column named after its field needs no entry). */
  columns?: { [header: string]: string };
  /** The outcome column, and its values of won, lost and open leads (with lost values named, a value in no
   * list is open). */
  outcome?: { column?: string; won?: string[]; lost?: string[]; open?: string[] };
  /** The column with the time each lead was handed over. Default `scored_at`. */
  scored_at?: string;
  /** A range ("51-200") as its `midpoint` (default) or its `lower` bound; an open one ("1,000+") as its lower bound. */
  ranges?: "midpoint" | "lower";
  /** Per field: a value as written → the answer, for what the rules do not read. */
  values?: { [field: string]: { [value: string]: string } };
}

/** How `new Backtest()` reads past leads. */
export interface BacktestOptions {
  /** The mapping; default: the one the header suggests (`Backtest.mapping` shows it). */
  map?: HistoryMapping;
  /** The column (NDJSON: key) with what became of each lead; default: the mapping's, else `outcome`. Empty cells are open leads. */
  outcome?: string;
  /** Outcome values that count as won (any case, accents, spaces and punctuation ignored). Default: the mapping's, else won, closed won, customer, yes, true, 1. */
  won?: string[];
  /** Outcome values that count as lost; with any, a value in no list is open. */
  lost?: string[];
  /** Outcome values of leads still open (not counted as lost). */
  open?: string[];
  /** The column with the time each lead was handed over (RFC 3339 or a date), to score it as it was then. Default `scored_at`. */
  scoredAt?: string;
  /** When a lead has no `scoredAt` time: score it at this time (ms since 1970). Default: now. */
  now?: number;
  /** Default: `csv`, or `ndjson` when the text starts with `{`. */
  format?: "csv" | "ndjson";
}

/** Precision and recall of "score >= threshold" as a prediction of won (leads with an outcome only). */
export interface ThresholdStats {
  threshold: number;
  count: number;
  won: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

/** What a backtest found. Rates are fractions (0.25 = 25 %); `null` where there is nothing to divide by. */
export interface BacktestReport {
  rows: number;
  scored: number;
  /** The first 100 rows that could not be read. */
  errors: { line: number; message: string }[];
  errorCount: number;
  /** Rows scored without some of their values, which the model could not take. */
  rowsWithIssues: number;
  wonValues: string[];
  lostValues: string[];
  openValues: string[];
  /** Each outcome value found, its count and what it counts as (`unlisted`: open because no list names it). */
  outcomes: { value: string; count: number; won: boolean; kind: "won" | "lost" | "open"; unlisted: boolean }[];
  won: number;
  lost: number;
  open: number;
  baseRate: number | null;
  minScore: number | null;
  maxScore: number | null;
  histogram: { width: number; bins: { from: number; to: number; won: number; lost: number; open: number }[] };
  /** By the stage the model gives each lead today; `disqualified` for knockouts. */
  stages: { id: string; label: string; count: number; won: number; lost: number; closeRate: number | null }[];
  /** Stages whose condition tests the total score, lowest threshold first. */
  thresholds: {
    stage: string;
    label: string;
    current: number;
    currentAt: ThresholdStats;
    suggested: number | null;
    suggestedAt: ThresholdStats | null;
    goal: string;
  }[];
  /** Every rule, highest lift first. */
  rules: {
    id: string;
    fired: number;
    wonFired: number;
    closeRateFired: number | null;
    closeRateNotFired: number | null;
    lift: number | null;
  }[];
  /** How the file was read: the mapping's name, columns read ([header, id]) and ignored, values read by a
   * rule, values left out (with their count and reason). */
  input: {
    mapping: string | null;
    outcomeColumn: string;
    columns: [string, string][];
    ignoredColumns: string[];
    converted: { field: string; rule: string; count: number; example: [string, string] }[];
    leftOut: { field: string; value: string; count: number; reason: string }[];
  } | null;
  /** What the figures cannot tell, in words: why no threshold is suggested, why stage and threshold counts
   * differ, rules whose points contradict their lift. */
  notes: string[];
}

/** Champion (`a`) and challenger (`b`) on the same history: both reports, and the leads whose stage changes. */
export interface CompareReport {
  a: BacktestReport;
  b: BacktestReport;
  /** Leads scored by both; of those, leads whose stage differs. */
  leads: number;
  changed: number;
  /** By (from, to), most leads first. */
  transitions: { from: string; to: string; count: number; won: number; lost: number }[];
  /** The leads that moved, in file order (at most 500), with the rules that fired for one model only. */
  moved: {
    id: string;
    line: number;
    from: string;
    to: string;
    outcome: "won" | "lost" | "open";
    scoreA: number;
    scoreB: number;
    gained: string[];
    dropped: string[];
  }[];
}

/** The funnel planner's input. Rates in percent. Give `goal` (revenue) or `mqls` (the inverse). */
export interface PlanInput {
  goal?: number;
  mqls?: number;
  dealSize: number;
  sqlToWon: number;
  mqlToSql: number;
  /** Without it, the plan stops at MQLs (`leads` and `visitors` are null). */
  leadToMql?: number;
  /** Without it, the plan stops at leads. */
  visitorToLead?: number;
  /** The year whose working days (Monday to Friday) spread the plan over its months. */
  year: number;
}

export interface Funnel {
  /** Null without the rates that count them. */
  visitors: number | null;
  leads: number | null;
  mqls: number;
  sqls: number;
  deals: number;
}

/** The plan: the year's counts (needed: rounded up; yielded: rounded down). */
export interface Plan extends Funnel {
  revenue: number;
  workingDays: number;
  /** The year's counts shared by each month's working days, whole, adding up to the year's (`rounding` says how). */
  months: (Funnel & { month: string; workingDays: number })[];
  perWorkingDay: Funnel;
  /** The arithmetic, a step a line: "10,000,000 ÷ 50,000 = 200 deals". */
  steps: string[];
  /** How the counts were rounded, in words. */
  rounding: string;
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "BacktestOptions")]
    pub type JsBacktestOptions;
    #[wasm_bindgen(typescript_type = "BacktestReport")]
    pub type JsBacktestReport;
    #[wasm_bindgen(typescript_type = "ThresholdStats")]
    pub type JsThresholdStats;
    #[wasm_bindgen(typescript_type = "HistoryMapping")]
    pub type JsMapping;
    #[wasm_bindgen(typescript_type = "CompareReport")]
    pub type JsCompareReport;
    #[wasm_bindgen(typescript_type = "PlanInput")]
    pub type JsPlanInput;
    #[wasm_bindgen(typescript_type = "Plan")]
    pub type JsPlan;
}

/// The `rows` argument of a `step`: a whole number, 0 or more; at least one row is read.
fn step_rows(rows: &JsNum) -> Result<u32, JsValue> {
    let rows = args::number(rows, "rows")?;
    if !(rows >= 0.0 && rows.fract() == 0.0) {
        return Err(js_sys::RangeError::new("leadscore: `rows` must be a whole number, 0 or more").into());
    }
    Ok((rows.min(u32::MAX as f64) as u32).max(1))
}

/// The share of an input of `size` bytes read up to `offset`: 1 only once done (the last row may be read to the
/// end of the input before `step` finds no next).
fn progress(done: bool, offset: u64, size: u64) -> f64 {
    if done || size == 0 {
        1.0
    } else {
        (offset as f64 / size as f64).min(1.0 - f64::EPSILON)
    }
}

/// A history held in memory, read lead by lead.
type History = Reader<Cursor<Vec<u8>>>;

fn error(message: String) -> JsValue {
    Error::new(&format!("leadscore: {message}")).into()
}

/// Past leads scored against a model, in steps: `while (!bt.step(5000)) report(bt.progress)`, then
/// `bt.report()`.
#[wasm_bindgen]
pub struct Backtest {
    program: Rc<Program>,
    reader: History,
    core: Core,
    mapping: Mapping,
    now: f64,
    size: u64,
    offset: u64,
    done: bool,
}

#[wasm_bindgen]
impl Backtest {
    /// Reads the header of `data` (CSV with a header row, or NDJSON) for `scorer`'s model. Throws when the
    /// outcome column is missing or the header cannot be read.
    #[wasm_bindgen(constructor)]
    pub fn new(scorer: &Scorer, data: JsStr, options: Option<JsBacktestOptions>) -> Result<Backtest, JsValue> {
        let data = args::string(&data, "data")?;
        args::opt_object(options.as_deref(), "options")?;
        let o = match options {
            Some(o) => from_js(&o, "options")?,
            None => Json::Null,
        };
        let now = now_or_clock(o.get("now").and_then(Json::as_f64));
        let program = scorer.program.clone();
        let size = data.len() as u64;
        let (reader, mapping) = open_history(&program, data, &o)?;
        let core = Core::with_outcome(&program, &mapping.outcome);
        Ok(Backtest { program, reader, core, mapping, now, size, offset: 0, done: false })
    }

    /// Scores up to `rows` more leads; true once every lead is scored.
    pub fn step(&mut self, rows: JsNum) -> Result<bool, JsValue> {
        let rows = step_rows(&rows)?;
        let p = &*self.program;
        for _ in 0..rows {
            match self.reader.next_lead(p) {
                None => {
                    self.done = true;
                    self.offset = self.size;
                    break;
                }
                Some(item) => {
                    if let Ok(lead) = &item {
                        self.offset = lead.offset;
                    }
                    self.core.add_read(p, item, self.now);
                }
            }
        }
        Ok(self.done)
    }

    /// The share of the input read, from 0 to 1.
    #[wasm_bindgen(getter)]
    pub fn progress(&self) -> f64 {
        progress(self.done, self.offset, self.size)
    }

    /// Leads scored so far.
    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> u32 {
        self.core.len() as u32
    }

    /// The report of the leads scored so far; stage names in `locale` (default: the model's).
    pub fn report(&mut self, locale: Option<JsStr>) -> Result<JsBacktestReport, JsValue> {
        let locale = args::opt_string(locale, "locale")?;
        self.core.set_input(self.reader.input_summary(&self.mapping));
        Ok(to_js(&self.core.report(&self.program, locale.as_deref())).unchecked_into())
    }

    /// The mapping that reads the file: the one given in `options.map`, else the one its header suggests
    /// (a CRM's preset, columns matched to fields by name and label), with the options' outcome values.
    #[wasm_bindgen(getter)]
    pub fn mapping(&self) -> JsMapping {
        to_js(&self.mapping).unchecked_into()
    }

    /// The file's header row (CSV; empty for NDJSON).
    #[wasm_bindgen(getter)]
    pub fn headers(&self) -> Vec<String> {
        self.reader.headers().to_vec()
    }

    /// Precision and recall of "score >= threshold".
    pub fn at(&self, threshold: JsNum) -> Result<JsThresholdStats, JsValue> {
        let threshold = args::number(&threshold, "threshold")?;
        Ok(to_js(&self.core.at(threshold)).unchecked_into())
    }
}

/// The history `data` opened for `program` as `o` (the options of `Backtest` and `Compare`) says: the mapping
/// given in `o.map`, else the one the header suggests, with `o`'s outcome options over it.
fn open_history(program: &Program, data: String, o: &Json) -> Result<(History, Mapping), JsValue> {
    let strings = |key: &str| -> Vec<String> {
        o.get(key)
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let format = match o.get("format").and_then(Json::as_str) {
        Some("ndjson") => Format::Ndjson,
        Some("csv") => Format::Csv,
        Some(other) => return Err(error(format!("options.format: `{other}` is not csv or ndjson"))),
        None if data.trim_start().starts_with('{') => Format::Ndjson,
        None => Format::Csv,
    };
    let mut reader = Reader::new(Cursor::new(data.into_bytes()), format, program, &[]).map_err(error)?;
    // The mapping given, else the one the header suggests (a CRM's preset, columns matched by name).
    let mut mapping = match o.get("map").filter(|m| !m.is_null()) {
        Some(m) => serde_path_to_error::deserialize::<_, Mapping>(m.clone())
            .map_err(|e| error(format!("options.map: {}: {}", e.path(), e.inner())))?,
        None => {
            let headers: Vec<&str> = reader.headers().iter().map(String::as_str).collect();
            Mapping::propose(&headers, program)
        }
    };
    if let Some(c) = o.get("outcome").and_then(Json::as_str) {
        mapping.outcome.column = c.to_string();
    }
    if let Some(c) = o.get("scoredAt").and_then(Json::as_str) {
        mapping.scored_at = c.to_string();
    }
    for (key, list) in
        [("won", &mut mapping.outcome.won), ("lost", &mut mapping.outcome.lost), ("open", &mut mapping.outcome.open)]
    {
        let given = strings(key);
        if !given.is_empty() {
            *list = given;
        }
    }
    reader.apply(program, &mapping);
    if !reader.has_extra(0) {
        return Err(error(format!(
            "the leads have no `{}` column: name the outcome column in options.outcome",
            mapping.outcome.column
        )));
    }
    Ok((reader, mapping))
}

/// Champion and challenger in steps, as `Backtest`: `while (!c.step(5000)) report(c.progress)`, then `c.report()`.
#[wasm_bindgen]
pub struct Compare {
    a: Rc<Program>,
    b: Rc<Program>,
    ra: History,
    rb: History,
    ma: Mapping,
    mb: Mapping,
    core: (crate::backtest::Backtest, crate::backtest::Backtest),
    changes: crate::compare::Changes,
    now: f64,
    size: u64,
    offset: u64,
    done: bool,
}

#[wasm_bindgen]
impl Compare {
    /// Reads `data` for the champion's model and for the challenger's (each with its own mapping, unless
    /// `options.map` gives one), as `new Backtest()` does.
    #[wasm_bindgen(constructor)]
    pub fn new(
        champion: &Scorer,
        challenger: &Scorer,
        data: JsStr,
        options: Option<JsBacktestOptions>,
    ) -> Result<Compare, JsValue> {
        let data = args::string(&data, "data")?;
        args::opt_object(options.as_deref(), "options")?;
        let o = match options {
            Some(o) => from_js(&o, "options")?,
            None => Json::Null,
        };
        let now = now_or_clock(o.get("now").and_then(Json::as_f64));
        let (a, b) = (champion.program.clone(), challenger.program.clone());
        let size = data.len() as u64;
        let (ra, ma) = open_history(&a, data.clone(), &o)?;
        let (rb, mb) = open_history(&b, data, &o)?;
        let core = (Core::with_outcome(&a, &ma.outcome), Core::with_outcome(&b, &mb.outcome));
        Ok(Compare { a, b, ra, rb, ma, mb, core, changes: Default::default(), now, size, offset: 0, done: false })
    }

    /// Scores up to `rows` more leads with both models; true once every lead is scored.
    pub fn step(&mut self, rows: JsNum) -> Result<bool, JsValue> {
        let rows = step_rows(&rows)?;
        for _ in 0..rows {
            match (self.ra.next_lead(&self.a), self.rb.next_lead(&self.b)) {
                (Some(x), Some(y)) => {
                    if let Ok(lead) = &x {
                        self.offset = lead.offset;
                    }
                    self.changes.add(&self.a, &mut self.core.0, x, &self.b, &mut self.core.1, y, self.now);
                }
                _ => {
                    self.done = true;
                    self.offset = self.size;
                    break;
                }
            }
        }
        Ok(self.done)
    }

    /// The share of the input read, from 0 to 1.
    #[wasm_bindgen(getter)]
    pub fn progress(&self) -> f64 {
        progress(self.done, self.offset, self.size)
    }

    /// Both reports and the leads that change stage (as `leadscore compare --format json`).
    pub fn report(&mut self, locale: Option<JsStr>) -> Result<JsCompareReport, JsValue> {
        let locale = args::opt_string(locale, "locale")?;
        self.core.0.set_input(self.ra.input_summary(&self.ma));
        self.core.1.set_input(self.rb.input_summary(&self.mb));
        let r = self.changes.report(&self.a, &self.core.0, &self.b, &self.core.1, locale.as_deref());
        Ok(to_js(&r).unchecked_into())
    }
}

/// The funnel planner: what a revenue goal needs, or what a number of MQLs yields. Throws an error naming
/// every bad input (`error.problems`: `[{ field, message }]`).
#[wasm_bindgen]
pub fn plan(input: JsPlanInput) -> Result<JsPlan, JsValue> {
    args::object(&input, "input")?;
    let j = from_js(&input, "input")?;
    // A value of the wrong type, a missing or an unknown input: named by its path (`year`), or by the
    // message when it concerns the whole object (`missing field `dealSize``).
    let input: crate::plan::PlanInput = serde_path_to_error::deserialize(j).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        plan_error(&[(field, e.inner().to_string())])
    })?;
    crate::plan::plan(&input).map(|p| to_js(&p).unchecked_into()).map_err(|problems| {
        plan_error(&problems.iter().map(|p| (p.field.to_string(), p.message.clone())).collect::<Vec<_>>())
    })
}

/// An `Error` listing every problem, with `problems: [{ field, message }]`.
fn plan_error(problems: &[(String, String)]) -> JsValue {
    let text: Vec<String> =
        problems.iter().map(|(f, m)| if f.is_empty() { m.clone() } else { format!("{f}: {m}") }).collect();
    let err = Error::new(&format!("leadscore: plan: {}", text.join("; ")));
    let list: Vec<Json> = problems.iter().map(|(f, m)| serde_json::json!({ "field": f, "message": m })).collect();
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("problems"), &to_js(&list));
    err.into()
}

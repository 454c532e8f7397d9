//! The JavaScript wing: the only module that knows about JS. Every export has one shape: JS value in ->
//! core -> JS value out. Values cross as JSON text (`JSON.stringify` / `JSON.parse` on the JS side and
//! serde_json, already part of the core, on this side), except on the session's hot path, where numbers
//! and indexes cross as plain arguments. Nothing here panics: every failure becomes a thrown `Error` or an
//! `Issue` value.

mod types;

use std::rc::Rc;

use js_sys::{Error, JSON};
use serde::Serialize;
use serde_json::Value as Json;
use wasm_bindgen::prelude::*;

use crate::diagnostic::{Diagnostic, Severity};
use crate::{compile_str, Answers, Claim, Evaluation, Events, Hints, Issue, Options, Program, VerifyOptions};

pub use types::*;

/// JSON text -> JS value. serde_json output is always valid JSON; a failure would give `null`.
fn to_js<T: Serialize + ?Sized>(v: &T) -> JsValue {
    match serde_json::to_string(v) {
        Ok(s) => JSON::parse(&s).unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    }
}

/// JS value -> JSON. `undefined` and `null` are `null`; values JSON cannot hold (a cycle, a BigInt) are an error.
fn from_js(v: &JsValue, what: &str) -> Result<Json, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(Json::Null);
    }
    let text = match JSON::stringify(v) {
        Ok(s) => s.as_string().unwrap_or_default(),
        Err(_) => return Err(Error::new(&format!("leadscore: {what} cannot be written as JSON")).into()),
    };
    serde_json::from_str(&text).map_err(|e| Error::new(&format!("leadscore: {what}: {e}")).into())
}

/// A rules document given as a string, or as a plain object (written out with two-space indents, so line
/// and column numbers refer to that text).
fn rules_text(rules: &JsValue) -> Result<String, JsValue> {
    if let Some(s) = rules.as_string() {
        return Ok(s);
    }
    if rules.is_object() {
        if let Ok(s) = JSON::stringify_with_replacer_and_space(rules, &JsValue::NULL, &JsValue::from_f64(2.0)) {
            if let Some(s) = s.as_string() {
                return Ok(s);
            }
        }
    }
    Err(Error::new("leadscore: a rules document is a JSON string or a plain object").into())
}

/// A diagnostic as JS sees it: positions in UTF-16 code units, as JS strings count them.
#[derive(Serialize)]
struct JsDiagnostic<'a> {
    severity: Severity,
    code: &'static str,
    message: &'a str,
    pointer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

/// Byte offsets -> UTF-16 offsets, in one walk over the text.
fn utf16_offsets(text: &str, bytes: &mut [(usize, usize)]) {
    bytes.sort_unstable();
    let mut units = 0;
    let mut chars = text.char_indices().peekable();
    for (b, u) in bytes.iter_mut() {
        while let Some(&(i, c)) = chars.peek() {
            if i >= *b {
                break;
            }
            units += c.len_utf16();
            chars.next();
        }
        *u = units;
    }
}

/// The byte offset of the start of the line holding `offset`.
fn line_start(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].rfind('\n').map_or(0, |i| i + 1)
}

fn js_diagnostics(text: &str, diags: &[Diagnostic]) -> JsValue {
    let mut offsets: Vec<(usize, usize)> = diags
        .iter()
        .filter_map(|d| d.span)
        .flat_map(|s| [(s.start.offset, 0), (s.end.offset, 0), (line_start(text, s.start.offset), 0)])
        .collect();
    utf16_offsets(text, &mut offsets);
    let find = |b: usize| offsets.binary_search_by_key(&b, |&(k, _)| k).ok().map(|i| offsets[i].1);
    let out: Vec<JsDiagnostic> = diags
        .iter()
        .map(|d| {
            let (mut line, mut column, mut start, mut end) = (None, None, None, None);
            if let Some(s) = d.span {
                line = Some(s.start.line);
                start = find(s.start.offset);
                end = find(s.end.offset);
                column = match (start, find(line_start(text, s.start.offset))) {
                    (Some(a), Some(b)) => Some((a - b) as u32 + 1),
                    _ => None,
                };
            }
            JsDiagnostic {
                severity: d.severity,
                code: d.code.as_str(),
                message: &d.message,
                pointer: &d.pointer,
                line,
                column,
                start,
                end,
                note: d.note.as_deref(),
            }
        })
        .collect();
    to_js(&out)
}

/// The `Error` thrown when a rules document does not compile: `name` is `LeadscoreError` and
/// `diagnostics` holds every problem found.
fn compile_error(text: &str, diags: &[Diagnostic]) -> JsValue {
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.severity == Severity::Error).collect();
    let first = errors.first().map_or("", |d| d.message.as_str());
    let at = errors.first().map_or(String::new(), |d| {
        let pointer = if d.pointer.is_empty() { "the document" } else { d.pointer.as_str() };
        match d.span {
            Some(s) => format!(" at {pointer} (line {}, column {})", s.start.line, s.start.column),
            None => format!(" at {pointer}"),
        }
    });
    let more = match errors.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    let err = Error::new(&format!("the rules document does not compile: {first}{at}{more}"));
    err.set_name("LeadscoreError");
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("diagnostics"), &js_diagnostics(text, diags));
    err.into()
}

/// Every problem in a rules document, errors and warnings, without throwing. Cheap enough to call on every
/// keystroke of an editor.
#[wasm_bindgen]
pub fn check(rules: JsRules) -> Result<JsDiagnostics, JsValue> {
    let text = rules_text(&rules)?;
    let compiled = compile_str(&text);
    Ok(js_diagnostics(&text, &compiled.diagnostics).unchecked_into())
}

/// The engine's version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Installs a panic hook that prints Rust panics to the console. Only in debugging builds (the `panic-hook`
/// feature); a no-op otherwise. The engine does not panic on any input; this is for developing it.
#[wasm_bindgen(js_name = debugPanics)]
pub fn debug_panics() {
    #[cfg(feature = "panic-hook")]
    console_error_panic_hook::set_once();
}

fn eval_options(v: &JsValue) -> Result<(Options, bool), JsValue> {
    let j = from_js(v, "options")?;
    let complete = j.get("complete").and_then(Json::as_bool).unwrap_or(false);
    let locale = j.get("locale").and_then(Json::as_str).map(str::to_string);
    let hints = j.get("hints").and_then(Json::as_bool).unwrap_or(true);
    Ok((Options { complete, locale }, hints))
}

fn now_or_clock(now: Option<f64>) -> f64 {
    now.filter(|n| n.is_finite()).unwrap_or_else(js_sys::Date::now)
}

/// An evaluation with its hints, as one object.
#[derive(Serialize)]
struct Full<'a> {
    #[serde(flatten)]
    evaluation: &'a Evaluation,
    #[serde(skip_serializing_if = "Option::is_none")]
    hints: Option<Hints>,
}

/// `Scorer.score`'s result.
#[derive(Serialize)]
struct ScoreOut<'a> {
    score: f64,
    groups: std::collections::BTreeMap<&'a str, f64>,
    stage: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    knockout: Option<&'a str>,
    issues: Vec<Issue>,
}

/// A compiled rules document: compile once, evaluate many times.
#[wasm_bindgen]
pub struct Scorer {
    program: Rc<Program>,
    text: String,
    warnings: Vec<Diagnostic>,
}

impl Scorer {
    /// Answers and events from JS, checked against the program; bad values become issues.
    fn inputs(&self, answers: &JsValue, events: Option<&JsValue>) -> Result<(Answers, Events, Vec<Issue>), JsValue> {
        let answers = from_js(answers, "answers")?;
        let events = events.map_or(Ok(Json::Null), |e| from_js(e, "events"))?;
        let (a, mut issues) = Answers::from_json(&self.program, &answers);
        let (e, more) = Events::from_json(&self.program, &events);
        issues.extend(more);
        Ok((a, e, issues))
    }
}

/// The stage id of a bare score: `disqualified` when a knockout holds.
fn stage_id(p: &Program, stage: usize, knockout: Option<usize>) -> &str {
    match knockout {
        Some(_) => "disqualified",
        None => p.stages.get(stage).map_or("", |st| st.id.as_str()),
    }
}

#[wasm_bindgen]
impl Scorer {
    /// Compiles a rules document (JSON text or a plain object). Throws a `LeadscoreError` carrying every
    /// diagnostic when it does not compile.
    #[wasm_bindgen(constructor)]
    pub fn new(rules: JsRules) -> Result<Scorer, JsValue> {
        let text = rules_text(&rules)?;
        let compiled = compile_str(&text);
        match compiled.program {
            Some(program) => {
                // The text is kept only to place warnings.
                let text = if compiled.diagnostics.is_empty() { String::new() } else { text };
                Ok(Scorer { program: Rc::new(program), text, warnings: compiled.diagnostics })
            }
            None => Err(compile_error(&text, &compiled.diagnostics)),
        }
    }

    /// The rules hash: 16 hex digits that change when the document's meaning changes, not its formatting.
    #[wasm_bindgen(getter)]
    pub fn hash(&self) -> String {
        self.program.hash().to_string()
    }

    /// Warnings found while compiling.
    #[wasm_bindgen(getter)]
    pub fn warnings(&self) -> JsDiagnostics {
        js_diagnostics(&self.text, &self.warnings).unchecked_into()
    }

    /// What the model asks and scores: fields (with their types and options), steps, events, groups, rules,
    /// knockouts, stages; texts in `locale` (default: the model's).
    pub fn model(&self, locale: Option<String>) -> JsModel {
        to_js(&types::model_info(&self.program, locale.as_deref())).unchecked_into()
    }

    /// Evaluates answers and events at `now` (milliseconds since 1970; default: the clock). The result is a
    /// plain object; bad answers are left out and listed in `issues`, by field.
    pub fn evaluate(
        &self,
        answers: JsAnswers,
        events: Option<JsEvents>,
        now: Option<f64>,
        options: Option<JsEvaluateOptions>,
    ) -> Result<JsEvaluation, JsValue> {
        let (a, e, issues) = self.inputs(&answers, events.as_deref())?;
        let (opts, hints) = options.map_or(Ok((Options::default(), true)), |o| eval_options(&o))?;
        let now = now_or_clock(now);
        let p = &self.program;
        let mut evaluation = p.evaluate(&a, &e, now, &opts);
        evaluation.issues = issues;
        let hints = hints.then(|| p.hints(&a, &e, now));
        Ok(to_js(&Full { evaluation: &evaluation, hints }).unchecked_into())
    }

    /// The bare outcome of a submitted lead, for scoring many: total, group scores, stage and knockout; no
    /// ledger, flow or texts. The same numbers as `evaluate(..., { complete: true })`.
    pub fn score(&self, answers: JsAnswers, events: Option<JsEvents>, now: Option<f64>) -> Result<JsScore, JsValue> {
        let (a, e, issues) = self.inputs(&answers, events.as_deref())?;
        let p = &self.program;
        let s = p.score(&a, &e, now_or_clock(now));
        let out = ScoreOut {
            score: s.total,
            groups: p.groups.iter().zip(&s.groups).map(|(g, v)| (g.id.as_str(), *v)).collect(),
            stage: stage_id(p, s.stage, s.knockout),
            knockout: s.knockout.and_then(|k| p.knockouts.get(k)).map(|k| k.id.as_str()),
            issues,
        };
        Ok(to_js(&out).unchecked_into())
    }

    /// Re-scores a submission as the server sees it and compares it with the client's claim.
    pub fn verify(&self, claim: JsClaim, options: Option<JsVerifyOptions>) -> Result<JsVerification, JsValue> {
        let claim: Claim = serde_json::from_value(from_js(&claim, "claim")?)
            .map_err(|e| JsValue::from(Error::new(&format!("leadscore: claim: {e}"))))?;
        let o = options.map_or(Ok(Json::Null), |o| from_js(&o, "options"))?;
        let opts = VerifyOptions {
            now: o.get("now").and_then(Json::as_f64),
            max_skew_ms: o.get("maxSkewMs").and_then(Json::as_f64),
        };
        Ok(to_js(&self.program.verify(&claim, &opts)).unchecked_into())
    }

    /// A form in progress, scored incrementally, at `now` (default: the clock).
    pub fn session(&self, now: Option<f64>) -> Session {
        Session { inner: crate::Session::new(self.program.clone(), now_or_clock(now)) }
    }

    /// The compiled program as text, one line per rule, for debugging a model.
    pub fn disassemble(&self) -> String {
        self.program.to_string()
    }
}

/// A form in progress. Set one answer or record one event at a time; the score re-computes only what depends
/// on the change. Fields and events are named by id, or by index (`fieldIndex`) on hot paths.
#[wasm_bindgen]
pub struct Session {
    inner: crate::Session<Rc<Program>>,
}

fn issue_js(r: Result<(), Issue>) -> JsIssueOrUndefined {
    match r {
        Ok(()) => JsValue::UNDEFINED.unchecked_into(),
        Err(i) => to_js(&i).unchecked_into(),
    }
}

fn unknown_field(field: &JsValue) -> Issue {
    let name = field.as_string().unwrap_or_else(|| field.as_f64().map_or(String::new(), |f| format!("#{f}")));
    Issue { message: format!("`{name}` is not a field of this model"), field: name, code: "unknown_field" }
}

#[wasm_bindgen]
impl Session {
    fn field(&self, field: &JsValue) -> Option<usize> {
        if let Some(i) = field.as_f64() {
            return (i >= 0.0 && i.fract() == 0.0 && (i as usize) < self.inner.program().fields.len())
                .then_some(i as usize);
        }
        field.as_string().and_then(|s| self.inner.program().field_index(&s))
    }

    /// The index of a field, for the `setNumber` fast path; -1 when there is no such field.
    #[wasm_bindgen(js_name = fieldIndex)]
    pub fn field_index(&self, id: &str) -> i32 {
        self.inner.program().field_index(id).map_or(-1, |i| i as i32)
    }

    /// Sets an answer (`null` or `undefined` clears it). Returns the problem when the value does not fit the
    /// field; the field is then unanswered.
    pub fn set(&mut self, field: JsFieldRef, value: JsAnswerValue) -> Result<JsIssueOrUndefined, JsValue> {
        let Some(i) = self.field(&field) else { return Ok(issue_js(Err(unknown_field(&field)))) };
        let r = if let Some(n) = value.as_f64() {
            self.inner.set_number(i, n)
        } else if let Some(s) = value.as_string() {
            self.inner.set_json(i, &Json::String(s))
        } else if let Some(b) = value.as_bool() {
            self.inner.set_json(i, &Json::Bool(b))
        } else {
            let v = from_js(&value, "value")?;
            self.inner.set_json(i, &v)
        };
        Ok(issue_js(r))
    }

    /// Sets an answer from the text of a form input: numbers in decimal, booleans as yes/no/true/false/on/off,
    /// several options separated by `;`; empty text clears it.
    pub fn input(&mut self, field: JsFieldRef, text: &str) -> JsIssueOrUndefined {
        match self.field(&field) {
            Some(i) => issue_js(self.inner.set_text(i, text)),
            None => issue_js(Err(unknown_field(&field))),
        }
    }

    /// The fast path: sets a number field by index. Returns false when the value does not fit (the field is
    /// then unanswered); `set` tells why.
    #[wasm_bindgen(js_name = setNumber)]
    pub fn set_number(&mut self, field: u32, value: f64) -> bool {
        self.inner.set_number(field as usize, value).is_ok()
    }

    /// Removes an answer.
    pub fn clear(&mut self, field: JsFieldRef) {
        if let Some(i) = self.field(&field) {
            self.inner.clear(i);
        }
    }

    /// Records one occurrence of an event at `at` (milliseconds since 1970; default: the session's clock).
    pub fn record(&mut self, event: &str, at: Option<f64>) -> JsIssueOrUndefined {
        let Some(e) = self.inner.program().event_index(event) else {
            return issue_js(Err(Issue {
                field: event.to_string(),
                code: "unknown_event",
                message: format!("`{event}` is not an event of this model"),
            }));
        };
        let at = at.unwrap_or(self.inner.now());
        issue_js(self.inner.record(e, at))
    }

    /// The session's clock, in milliseconds since 1970. Setting it re-scores rules that decay or count days.
    #[wasm_bindgen(getter)]
    pub fn now(&self) -> f64 {
        self.inner.now()
    }

    /// Sets the clock.
    #[wasm_bindgen(setter)]
    pub fn set_now(&mut self, now: f64) {
        self.inner.set_now(now);
    }

    /// The total score as if the form were submitted now.
    #[wasm_bindgen(getter)]
    pub fn total(&mut self) -> f64 {
        self.inner.score().total
    }

    /// The stage id as if the form were submitted now (`disqualified` on a knockout).
    #[wasm_bindgen(getter)]
    pub fn stage(&mut self) -> String {
        let (stage, knockout) = {
            let s = self.inner.score();
            (s.stage, s.knockout)
        };
        stage_id(self.inner.program(), stage, knockout).to_string()
    }

    /// The stage by index in `model.stages`; -1 when a knockout holds.
    #[wasm_bindgen(getter, js_name = stageIndex)]
    pub fn stage_index(&mut self) -> i32 {
        let s = self.inner.score();
        if s.knockout.is_some() {
            -1
        } else {
            s.stage as i32
        }
    }

    /// The knockout that holds, by index in `model.knockouts`; -1 when none.
    #[wasm_bindgen(getter, js_name = knockoutIndex)]
    pub fn knockout_index(&mut self) -> i32 {
        self.inner.score().knockout.map_or(-1, |k| k as i32)
    }

    /// Group scores after caps, in `model.groups` order.
    pub fn groups(&mut self) -> Vec<f64> {
        self.inner.score().groups.clone()
    }

    /// The full evaluation of the form as it stands (ranges, flow, ledger). Costs more than `total`: call it
    /// when the whole picture is needed, not on every keystroke.
    pub fn evaluate(&self, options: Option<JsEvaluateOptions>) -> Result<JsEvaluation, JsValue> {
        let (opts, hints) = options.map_or(Ok((Options::default(), true)), |o| eval_options(&o))?;
        let evaluation = self.inner.evaluate(&opts);
        let p = self.inner.program();
        let hints = hints.then(|| p.hints(self.inner.answers(), self.inner.events(), self.inner.now()));
        Ok(to_js(&Full { evaluation: &evaluation, hints }).unchecked_into())
    }

    /// The answers so far, `{field: value}`.
    pub fn answers(&self) -> JsAnswers {
        let p = self.inner.program();
        let a = self.inner.answers();
        let map: serde_json::Map<String, Json> = (0..p.fields.len())
            .filter(|&i| a.get(i).is_some())
            .map(|i| (p.fields[i].id.clone(), a.to_json(p, i)))
            .collect();
        to_js(&map).unchecked_into()
    }
}

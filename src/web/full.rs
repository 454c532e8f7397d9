//! What only the full build exports: compiling rules documents (every diagnostic placed in the text), the
//! model description, full evaluations with hints, bulk scoring and verification. The runtime build leaves
//! all of it out to stay small.

use std::collections::BTreeMap;

use js_sys::{Error, JSON};
use serde::Serialize;
use serde_json::Value as Json;
use wasm_bindgen::prelude::*;

use super::*;
use crate::compile_str;
use crate::diagnostic::{self, Diagnostic, Severity};
use crate::{Answers, Claim, Evaluation, Events, Hints, Issue, Options, VerifyOptions};

/// A rules document given as a string, or as a plain object (written out with two-space indents, so line
/// and column numbers refer to that text).
pub(super) fn rules_text(rules: &JsValue, param: &str) -> Result<String, JsValue> {
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
    Err(super::args::type_error(param, "a rules document: a JSON string or a plain object", rules))
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

pub(super) fn js_diagnostics(text: &str, diags: &[Diagnostic]) -> JsValue {
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
pub(super) fn compile_error(text: &str, diags: &[Diagnostic]) -> JsValue {
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
    let text = rules_text(&rules, "rules")?;
    let compiled = compile_str(&text);
    Ok(js_diagnostics(&text, &compiled.diagnostics).unchecked_into())
}

/// The diagnostics of a rules document as the command-line tool prints them (`leadscore check`, `leadscore
/// build`): each with `fileName`, its line, column and JSON pointer, and the source line with carets under the
/// span; the first [`diagnostic::SHOWN`] of them, then how many more. `""` when there are none.
#[wasm_bindgen(js_name = formatDiagnostics)]
pub fn format_diagnostics(rules: JsRules, file_name: JsStr) -> Result<String, JsValue> {
    let text = rules_text(&rules, "rules")?;
    let name = super::args::string(&file_name, "fileName")?;
    let compiled = compile_str(&text);
    Ok(diagnostic::render_at_most(&compiled.diagnostics, &text, &name, diagnostic::SHOWN))
}

/// `o[key]`, or undefined.
fn get(o: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn eval_options(v: &JsValue) -> Result<(Options, bool), JsValue> {
    let j = from_js(v, "options")?;
    let complete = j.get("complete").and_then(Json::as_bool).unwrap_or(false);
    let locale = j.get("locale").and_then(Json::as_str).map(str::to_string);
    let hints = j.get("hints").and_then(Json::as_bool).unwrap_or(true);
    Ok((Options { complete, locale }, hints))
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
    groups: BTreeMap<&'a str, f64>,
    stage: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    knockout: Option<&'a str>,
    /// Ids of the rules that gave points, in rule order.
    fired: Vec<&'a str>,
    issues: Vec<Issue>,
}

/// What `Scorer.score` keeps from one call to the next: the program lowered for submitted leads and its
/// buffers, made on the first call.
pub(super) type Fast = std::cell::RefCell<Option<(crate::kernel::Kernel, crate::kernel::Buffers)>>;

/// `Scorer.answersFromForm`'s result.
#[derive(Serialize)]
struct FormAnswers {
    answers: serde_json::Map<String, Json>,
    issues: Vec<Issue>,
}

impl Scorer {
    /// Answers and events from JS, checked against the program; bad values become issues.
    fn inputs(&self, answers: &JsValue, events: Option<&JsValue>) -> Result<(Answers, Events, Vec<Issue>), JsValue> {
        // Answers and events are a lead's data, not arguments: whatever their shape, they are read as the
        // command-line tool reads a lead (`Answers::from_json`), and a wrong shape is an issue, as natively.
        // Fast: the JSON text of each read straight into answers and events, with no JSON value between.
        let text = |v: &JsValue| if v.is_bigint() { None } else { JSON::stringify(v).ok().and_then(|s| s.as_string()) };
        let events_text = events.map_or(Some(String::from("null")), text);
        if let (Some(a), Some(e)) = (text(answers), events_text) {
            let p = &self.program;
            if let (Ok((a, mut issues, nulls)), Ok((e, more))) =
                (Answers::from_json_text(p, &a), Events::from_json_text(p, &e))
            {
                issues.extend(nulls.iter().filter_map(|&i| self.not_finite_field(answers, i)));
                issues.extend(more);
                return Ok((a, e, issues));
            }
        }
        let answers_js = answers;
        let answers = from_js(answers, "answers")?;
        let events = events.map_or(Ok(Json::Null), |e| from_js(e, "events"))?;
        let (a, mut issues) = Answers::from_json(&self.program, &answers);
        issues.extend(self.not_finite(answers_js, &answers));
        let (e, more) = Events::from_json(&self.program, &events);
        issues.extend(more);
        Ok((a, e, issues))
    }
}

impl Scorer {
    /// The issue of field `i` when `js` answers it with a number that is not finite (which JSON writes `null`).
    fn not_finite_field(&self, js: &JsValue, i: usize) -> Option<Issue> {
        let id = &self.program.fields.get(i)?.id;
        let n = js_sys::Reflect::get(js, &JsValue::from_str(id)).ok()?.as_f64()?;
        (!n.is_finite()).then(|| crate::answers::not_finite(id, n))
    }

    /// The fields answered with a number that is not finite (`NaN`, `Infinity`): JSON has none, so they are
    /// `null` in `json`, and only the JS value tells them from an answer left out on purpose.
    fn not_finite(&self, js: &JsValue, json: &Json) -> Vec<Issue> {
        let Some(map) = json.as_object() else { return vec![] };
        map.iter()
            .filter(|(_, v)| v.is_null())
            .filter_map(|(k, _)| self.program.field_index(k))
            .filter_map(|i| self.not_finite_field(js, i))
            .collect()
    }
}

#[wasm_bindgen]
impl Scorer {
    /// Warnings found while compiling .
    #[wasm_bindgen(getter)]
    pub fn warnings(&self) -> JsDiagnostics {
        js_diagnostics(&self.text, &self.warnings).unchecked_into()
    }

    /// What holds for every possible lead: the reachable range of the total and of each group, per stage
    /// whether it can be reached and its total-score threshold, and the warnings (as `warnings` gives them;
    /// for a program loaded from bytes, found again, with pointers but no positions). Labels in `locale`
    /// (default: the model's).
    pub fn analysis(&self, locale: Option<JsStr>) -> Result<JsAnalysis, JsValue> {
        let locale = args::opt_string(locale, "locale")?;
        let p = &self.program;
        // A compiled document keeps its warnings; a program from bytes has none kept (and a document without
        // warnings finds none again).
        let found;
        let warnings = if self.warnings.is_empty() {
            found = crate::analyze::analysis_warnings(p);
            &found
        } else {
            &self.warnings
        };
        let a = crate::analyze::analysis(p, vec![], locale.as_deref());
        let out = to_js(&a);
        let _ = js_sys::Reflect::set(&out, &JsValue::from_str("warnings"), &js_diagnostics(&self.text, warnings));
        Ok(out.unchecked_into())
    }

    /// A hint (from `evaluate()`'s `hints`) as a sentence with the model's labels, in `locale` (Italian for
    /// `it`, else English; default: the model's): `answer “Company size” with 250 (+20)`. Reads the hint's
    /// `kind`, `name`, `value` and `gain`.
    #[wasm_bindgen(js_name = formatHint)]
    pub fn format_hint(&self, hint: JsHint, locale: Option<JsStr>) -> Result<String, JsValue> {
        let locale = args::opt_string(locale, "locale")?;
        args::object(&hint, "hint")?;
        let j = from_js(&hint, "hint")?;
        let kind = j.get("kind").and_then(Json::as_str).and_then(crate::HintKind::from_name);
        let expected = "\"answer\", \"change\" or \"event\"";
        let kind = kind.ok_or_else(|| args::type_error("hint.kind", expected, &get(&hint, "kind")))?;
        let name = j.get("name").and_then(Json::as_str);
        let name = name.ok_or_else(|| args::type_error("hint.name", "a string", &get(&hint, "name")))?.to_string();
        let gain = j.get("gain").and_then(Json::as_f64);
        let gain = gain.ok_or_else(|| args::type_error("hint.gain", "a number", &get(&hint, "gain")))?;
        let value = j.get("value").filter(|v| !v.is_null()).cloned();
        let h = crate::Hint { kind, name, value, score: 0.0, gain, stage: String::new() };
        Ok(self.program.describe_hint(&h, locale.as_deref()))
    }

    /// What the model asks and scores: fields (with their types and options), steps, events, groups, rules,
    /// knockouts, stages; texts in `locale` (default: the model's).
    pub fn model(&self, locale: Option<JsStr>) -> Result<JsModel, JsValue> {
        let locale = args::opt_string(locale, "locale")?;
        Ok(to_js(&types::model_info(&self.program, locale.as_deref())).unchecked_into())
    }

    /// Evaluates answers and events at `now` (milliseconds since 1970; default: the clock). The result is a
    /// plain object; bad answers are left out and listed in `issues`, by field.
    pub fn evaluate(
        &self,
        answers: JsAnswers,
        events: Option<JsEvents>,
        now: Option<JsNum>,
        options: Option<JsEvaluateOptions>,
    ) -> Result<JsEvaluation, JsValue> {
        let (a, e, issues) = self.inputs(&answers, events.as_deref())?;
        let now = args::opt_number(now, "now")?;
        args::opt_object(options.as_deref(), "options")?;
        let (opts, hints) = options.map_or(Ok((Options::default(), true)), |o| eval_options(&o))?;
        let now = now_or_clock(now);
        let p = &self.program;
        let mut evaluation = p.evaluate(&a, &e, now, &opts);
        evaluation.issues = issues;
        let hints = hints.then(|| p.hints(&a, &e, now));
        Ok(to_js(&Full { evaluation: &evaluation, hints }).unchecked_into())
    }

    /// The bare outcome of a submitted lead, for scoring many: total, group scores, stage, knockout and the
    /// rules that fired; no ledger, flow or texts. The same numbers as `evaluate(..., { complete: true })`, by
    /// the scorer of submitted leads (kept from one call to the next).
    pub fn score(&self, answers: JsAnswers, events: Option<JsEvents>, now: Option<JsNum>) -> Result<JsScore, JsValue> {
        let (a, e, issues) = self.inputs(&answers, events.as_deref())?;
        let now = args::opt_number(now, "now")?;
        let p = &self.program;
        let mut fast = self.fast.try_borrow_mut().map_err(|_| Error::new("leadscore: score: already scoring"))?;
        let (kernel, buffers) = fast.get_or_insert_with(|| (crate::kernel::Kernel::new(p), Default::default()));
        kernel.run(p, &a, &e, now_or_clock(now), buffers);
        let s = &buffers.score;
        let mut groups = BTreeMap::new();
        for (g, v) in p.groups.iter().zip(&s.groups) {
            groups.insert(g.id.as_str(), *v);
        }
        let out = ScoreOut {
            score: s.total,
            groups,
            stage: stage_id(p, s.stage, s.knockout),
            knockout: s.knockout.and_then(|k| p.knockouts.get(k)).map(|k| k.id.as_str()),
            fired: buffers.fired().filter_map(|r| p.rules.get(r)).map(|r| r.id.as_str()).collect(),
            issues,
        };
        Ok(to_js(&out).unchecked_into())
    }

    /// Scores many submitted leads in one call, given as columns (see `Batch`), by the scorer `score` uses: the
    /// same numbers, as typed arrays, with the fired rules as bit sets. Throws a `TypeError` or `RangeError`
    /// naming the parameter when the batch is not made of columns of `count` items; a value a field refuses is
    /// an issue of its lead, and a column that names no field or event an issue of the whole batch (`lead` -1).
    #[wasm_bindgen(js_name = scoreBatch)]
    pub fn score_batch(&self, batch: JsBatch, now: Option<JsNum>) -> Result<JsBatchResult, JsValue> {
        let now = args::opt_number(now, "now")?;
        self.score_batch_impl(&batch, now).map(JsCast::unchecked_into)
    }

    /// Reads a submitted form's entries (a `FormData`, a `URLSearchParams`, or any iterable of `[name, value]`
    /// string pairs) into the answers `evaluate` and `verify` take, as the form controller and a browser read
    /// them: every value of a multi field, the first non-empty value of any other, entries that name no field
    /// skipped; a value a field refuses is left out and listed in `issues`. Throws an `Error` when the entries
    /// are not iterable, or an entry is not a pair of strings (a `File` of a `FormData`). The JS name of
    /// `Answers::from_form_entries`, camelCase like `toBytes` and `fieldIndex`.
    #[wasm_bindgen(js_name = answersFromForm)]
    pub fn answers_from_form(&self, entries: JsFormEntries) -> Result<JsFormAnswers, JsValue> {
        let fail = |m: String| JsValue::from(Error::new(&format!("leadscore: answersFromForm: {m}")));
        let not_iterable = || {
            args::type_error("entries", "a FormData, a URLSearchParams or an iterable of [name, value] pairs", &entries)
        };
        let iterable = entries.is_object() && !entries.is_null();
        let iter = js_sys::try_iter(&entries).ok().flatten().filter(|_| iterable).ok_or_else(not_iterable)?;
        let mut pairs: Vec<(String, String)> = vec![];
        for (n, entry) in iter.enumerate() {
            let entry = entry.map_err(|_| fail(format!("reading entry #{n} threw")))?;
            let pair = entry.dyn_ref::<js_sys::Array>().filter(|a| a.length() == 2);
            let Some(pair) = pair else {
                return Err(fail(format!("entry #{n} is not a [name, value] pair")));
            };
            let Some(name) = pair.get(0).as_string() else {
                return Err(fail(format!("entry #{n} has a name that is not a string")));
            };
            let Some(value) = pair.get(1).as_string() else {
                return Err(fail(format!(
                    "the value of entry #{n} (`{name}`) is not a string (a file?); form answers are text"
                )));
            };
            pairs.push((name, value));
        }
        let p = &self.program;
        let (answers, issues) = Answers::from_form_entries(p, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let map: serde_json::Map<String, Json> = (0..p.fields.len())
            .filter(|&i| answers.get(i).is_some())
            .map(|i| (p.fields[i].id.clone(), answers.to_json(p, i)))
            .collect();
        Ok(to_js(&FormAnswers { answers: map, issues }).unchecked_into())
    }

    /// Re-scores a submission as the server sees it and compares it with the client's claim.
    pub fn verify(&self, claim: JsClaim, options: Option<JsVerifyOptions>) -> Result<JsVerification, JsValue> {
        let claim_js = claim;
        args::object(&claim_js, "claim")?;
        args::opt_object(options.as_deref(), "options")?;
        let claim: Claim = serde_json::from_value(from_js(&claim_js, "claim")?)
            .map_err(|e| JsValue::from(Error::new(&format!("leadscore: claim: {e}"))))?;
        let answers_js = js_sys::Reflect::get(&claim_js, &JsValue::from_str("answers")).unwrap_or(JsValue::UNDEFINED);
        let issues = self.not_finite(&answers_js, &claim.answers);
        let o = options.map_or(Ok(Json::Null), |o| from_js(&o, "options"))?;
        let opts = VerifyOptions {
            now: o.get("now").and_then(Json::as_f64),
            max_skew_ms: o.get("maxSkewMs").and_then(Json::as_f64),
        };
        Ok(to_js(&self.program.verify_with(&claim, &opts, issues)).unchecked_into())
    }
}

#[wasm_bindgen]
impl Session {
    /// The full evaluation of the form as it stands (ranges, flow, ledger). Costs more than `total`: call it
    /// when the whole picture is needed, not on every keystroke.
    pub fn evaluate(&self, options: Option<JsEvaluateOptions>) -> Result<JsEvaluation, JsValue> {
        args::opt_object(options.as_deref(), "options")?;
        let (opts, hints) = options.map_or(Ok((Options::default(), true)), |o| eval_options(&o))?;
        let evaluation = self.inner.evaluate(&opts);
        let p = self.inner.program();
        let hints = hints.then(|| p.hints(self.inner.answers(), self.inner.events(), self.inner.now()));
        Ok(to_js(&Full { evaluation: &evaluation, hints }).unchecked_into())
    }
}

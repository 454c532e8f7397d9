//! Property tests of the public API.
//!
//! - Compilation never panics (arbitrary text, arbitrary JSON, mutated example documents), every diagnostic
//!   of a document given as JSON text has a line and column, and a program comes out exactly when there is
//!   no error.
//! - Evaluation never panics on any input (answers of the wrong type, huge numbers, long strings, unknown
//!   fields and events, times far in the past or future), and its scores are finite and within the caps.
//! - Evaluation is deterministic.
//! - The binary form of a program (`to_bytes`, `from_bytes`) gives back the same program: every compiled
//!   example, mutated example and generated model evaluates alike after the round trip. Decoding never
//!   panics on any bytes (mutated encodings, random bytes), and a program it accepts evaluates, scores,
//!   hints, verifies, runs a session and prints without panicking, with sane scores.
//! - The ranges of a partly filled form contain the score of every way of completing it, and a decided
//!   stage is the stage of every completion: checked on every `examples/*.json` model and on small
//!   generated models.
//! - A backtest of any history (the shipped one with random edits) never panics, and its counts add up.
//! - The scorer of submitted leads (`Program::scorer`) gives the general evaluator's score and fired rules, bit
//!   for bit, on the examples and on generated models, with one scorer reused from lead to lead.
//!
//! Each property sets its own number of cases. `LEADSCORE_QUICK=1` (`scripts/test.sh quick`) runs a tenth of each
//! (at least 8); `PROPTEST_CASES=n` sets them all to `n`.

use std::path::PathBuf;
use std::sync::OnceLock;

use leadscore::model::FieldType;
use leadscore::program::{FieldDef, Program};
use leadscore::{compile_str, compile_value, Answers, Compiled, Evaluation, Events, Options, Range, DAY_MS};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::strategy::Union;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::{json, Value as Json};

/// 2026-11-23T00:00:00Z
const NOW: f64 = 1_795_392_000_000.0;

/// Tolerance of range checks, relative to the bound's size (at least 1e-9).
const TOLERANCE: f64 = 1e-9;

fn config(cases: u32) -> Config {
    let quick = std::env::var("LEADSCORE_QUICK").is_ok_and(|v| v == "1");
    let cases = match std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()) {
        Some(n) => n,
        None if quick => (cases / 10).max(8.min(cases)),
        None => cases,
    };
    Config { cases, failure_persistence: None, max_shrink_iters: 4096, ..Config::default() }
}

/// Runs `test` on `cases` values of `strategy`; on failure, panics with the shrunk input.
fn check<S: Strategy>(what: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new(config(cases));
    match runner.run(&strategy, test) {
        Ok(()) => {}
        Err(TestError::Fail(reason, value)) => panic!("{what}: {reason}\nminimal input: {value:?}"),
        Err(TestError::Abort(reason)) => panic!("{what}: aborted: {reason}"),
    }
}

// -------------------------------------------------------------------------------------------------------
// The example models.

struct Model {
    name: String,
    text: String,
    doc: Json,
    program: Option<Program>,
    vocab: Vocab,
}

/// What answers to a model are made of.
#[derive(Debug, Clone, Default)]
struct Vocab {
    /// Email domains: a few common ones and every domain-like item of the model's lists.
    domains: Vec<String>,
    /// Words for free text: string literals of the model's expressions, list items, and a few more.
    words: Vec<String>,
    /// Numbers the model mentions (thresholds), to answer at and around them.
    numbers: Vec<f64>,
    /// Identifiers the model's expressions use.
    idents: Vec<String>,
}

fn models() -> &'static [Model] {
    static MODELS: OnceLock<Vec<Model>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("examples/ is readable")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let models: Vec<Model> = paths
            .into_iter()
            .map(|path| {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
                let doc: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
                let compiled = compile_str(&text);
                if compiled.program.is_none() {
                    eprintln!("note: examples/{name} does not compile; only its mutations are tested");
                }
                Model { name, vocab: vocab_of(&doc), text, doc, program: compiled.program }
            })
            .collect();
        assert!(!models.is_empty(), "no examples/*.json");
        models
    })
}

/// The example models that compile.
fn programs() -> Vec<(&'static Model, &'static Program)> {
    let v: Vec<_> = models().iter().filter_map(|m| m.program.as_ref().map(|p| (m, p))).collect();
    assert!(!v.is_empty(), "no example model compiles");
    v
}

const EXPR_KEYS: &[&str] = &["when", "points", "visible_if", "enabled_if", "required", "if"];

fn vocab_of(doc: &Json) -> Vocab {
    let mut v = Vocab {
        domains: ["gmail.com", "example.com", "acme.io", "mail.example.org"].map(String::from).to_vec(),
        words: [
            "",
            "Data Analyst",
            "Head of Growth",
            "Junior Intern",
            "CEO",
            "partner",
            "G2",
            "  padded  ",
            "Ünïcödé ✓",
            "O'Brien \"q\"",
        ]
        .map(String::from)
        .to_vec(),
        numbers: vec![0.0, 1.0],
        idents: vec![],
    };
    if let Some(Json::Object(lists)) = doc.get("lists") {
        for (name, items) in lists {
            v.idents.push(name.clone());
            for it in items.as_array().into_iter().flatten() {
                if let Some(s) = it.as_str() {
                    v.words.push(s.to_string());
                    if s.contains('.') && !s.contains('@') && !s.contains(char::is_whitespace) {
                        v.domains.push(s.to_string());
                    }
                }
                if let Some(n) = it.as_f64() {
                    v.numbers.push(n);
                }
            }
        }
    }
    for key in ["fields", "events", "groups"] {
        for it in doc.get(key).and_then(Json::as_array).into_iter().flatten() {
            if let Some(id) = it.get("id").and_then(Json::as_str) {
                v.idents.push(id.to_string());
            }
        }
    }
    scan_exprs(doc, false, &mut v);
    v.words.sort();
    v.words.dedup();
    v.domains.sort();
    v.domains.dedup();
    v.idents.sort();
    v.idents.dedup();
    v.numbers.sort_by(f64::total_cmp);
    v.numbers.dedup();
    v
}

/// Collects literals from expressions: strings and numbers of expression text and of JsonLogic.
fn scan_exprs(j: &Json, in_expr: bool, v: &mut Vocab) {
    match j {
        Json::String(s) if in_expr => scan_expr_text(s, v),
        Json::Number(n) if in_expr => v.numbers.extend(n.as_f64()),
        Json::Array(items) => items.iter().for_each(|x| scan_exprs(x, in_expr, v)),
        Json::Object(map) => {
            for (k, x) in map {
                scan_exprs(x, in_expr || EXPR_KEYS.contains(&k.as_str()), v);
            }
        }
        _ => {}
    }
}

fn scan_expr_text(s: &str, v: &mut Vocab) {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            let end = chars[i + 1..].iter().position(|&x| x == c).map_or(chars.len(), |p| i + 1 + p);
            let lit: String = chars[(i + 1).min(end)..end].iter().collect();
            v.words.push(lit);
            i = end + 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let t: String = chars[start..i].iter().collect();
            v.numbers.extend(t.parse::<f64>().ok());
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            v.idents.push(chars[start..i].iter().collect());
        } else {
            i += 1;
        }
    }
}

// -------------------------------------------------------------------------------------------------------
// Valid answers.

/// What a valid answer to a field is.
#[derive(Debug, Clone)]
struct FieldSpec {
    kind: FieldType,
    min: Option<f64>,
    max: Option<f64>,
    max_length: u32,
    options: Vec<String>,
}

impl From<&FieldDef> for FieldSpec {
    fn from(f: &FieldDef) -> Self {
        FieldSpec {
            kind: f.kind,
            min: f.min,
            max: f.max,
            max_length: f.max_length,
            options: f.options.iter().map(|o| o.value().to_string()).collect(),
        }
    }
}

fn num_json(x: f64) -> Json {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        json!(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
    }
}

fn truncate(s: &str, max: u32) -> String {
    s.chars().take(max as usize).collect()
}

/// Valid values of a field; `None` when it has none (an integer field with `min` 0.2 and `max` 0.8).
fn valid_value(f: &FieldSpec, v: &Vocab) -> Option<BoxedStrategy<Json>> {
    Some(match f.kind {
        FieldType::Number | FieldType::Integer => {
            let integer = f.kind == FieldType::Integer;
            let lo = f.min.unwrap_or_else(|| f.max.map_or(-1e4, |hi| hi.min(0.0) - 1e4));
            let hi = f.max.unwrap_or_else(|| lo.max(0.0) + 1e6);
            let (lo, hi) = if integer { (lo.ceil(), hi.floor()) } else { (lo, hi) };
            // NaN bounds cannot occur (min/max are finite); `lo > hi` is an empty range.
            if lo.partial_cmp(&hi) == Some(std::cmp::Ordering::Greater) {
                return None;
            }
            let ok = move |x: f64| x.is_finite() && lo <= x && x <= hi && (!integer || x.fract() == 0.0);
            let mut special = vec![lo, hi, 0.0, 1.0, -1.0, 0.5];
            for &n in &v.numbers {
                special.extend([n - 1.0, n - 0.5, n, n + 0.5, n + 1.0]);
            }
            special.retain(|&x| ok(x));
            special.sort_by(f64::total_cmp);
            special.dedup();
            let (ulo, uhi) = (lo.max(-1e12), hi.min(1e12));
            let uniform: BoxedStrategy<f64> = if ulo < uhi {
                (ulo..=uhi).prop_map(move |x| if integer { x.round().clamp(lo, hi) } else { x }).boxed()
            } else {
                Just(lo).boxed()
            };
            let small = (-100i32..=1000).prop_map(move |x| f64::from(x).clamp(lo, hi));
            prop_oneof![3 => select(special), 2 => uniform, 1 => small].prop_map(num_json).boxed()
        }
        FieldType::Boolean => any::<bool>().prop_map(Json::Bool).boxed(),
        FieldType::Choice => {
            if f.options.is_empty() {
                return None;
            }
            select(f.options.clone()).prop_map(Json::String).boxed()
        }
        FieldType::Multi => {
            let opts = f.options.clone();
            proptest::collection::vec(any::<bool>(), opts.len())
                .prop_map(move |bits| {
                    Json::Array(
                        opts.iter().zip(bits).filter(|(_, b)| *b).map(|(o, _)| Json::String(o.clone())).collect(),
                    )
                })
                .boxed()
        }
        FieldType::Country => {
            select(vec!["IT", "US", "DE", "FR", "GB", "CN", "ES", "NL", "JP", "BR", "it", "us", " de "])
                .prop_map(|c| json!(c))
                .boxed()
        }
        FieldType::Email => {
            let max = f.max_length;
            if max < 6 {
                return None;
            }
            let locals = vec!["ann", "bob.smith", "x", "first.last+tag", "o'neil", "Data"];
            (select(locals), select(v.domains.clone()), any::<bool>())
                .prop_map(move |(l, d, upper)| {
                    let d = if upper { d.to_uppercase() } else { d };
                    let e = format!("{l}@{d}");
                    Json::String(if e.chars().count() <= max as usize { e } else { "a@b.co".to_string() })
                })
                .boxed()
        }
        FieldType::String => {
            let max = f.max_length;
            prop_oneof![
                4 => proptest::collection::vec(select(v.words.clone()), 1..3).prop_map(|w| w.join(" ")),
                1 => "\\PC{0,24}",
            ]
            .prop_map(move |s| Json::String(truncate(&s, max)))
            .boxed()
        }
    })
}

/// One valid answer or none, per field.
fn valid_answers(fields: &[FieldSpec], v: &Vocab) -> BoxedStrategy<Vec<Option<Json>>> {
    let per: Vec<BoxedStrategy<Option<Json>>> = fields
        .iter()
        .map(|f| match valid_value(f, v) {
            Some(s) => prop_oneof![1 => Just(None), 6 => s.prop_map(Some)].boxed(),
            None => Just(None).boxed(),
        })
        .collect();
    per.boxed()
}

/// Occurrences: (event index, age in days; negative is in the future).
fn event_list(n_events: usize) -> BoxedStrategy<Vec<(usize, f64)>> {
    if n_events == 0 {
        return Just(vec![]).boxed();
    }
    let age = prop_oneof![
        1 => -5.0..0.0f64,
        3 => 0.0..20.0f64,
        2 => 0.0..150.0f64,
        1 => select(vec![0.0, 7.0, 14.0, 30.0, 60.0, 90.0, 120.0]),
    ];
    proptest::collection::vec((0..n_events, age), 0..16).boxed()
}

fn answers_of(p: &Program, values: &[Option<Json>]) -> Result<Answers, TestCaseError> {
    let mut a = Answers::new(p);
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            if let Err(e) = a.set_json(p, i, v) {
                return Err(TestCaseError::fail(format!(
                    "a valid answer was refused: {v} for `{}`: {}",
                    p.fields[i].id, e.message
                )));
            }
        }
    }
    Ok(a)
}

fn answers_json(p: &Program, values: &[Option<Json>]) -> Json {
    Json::Object(values.iter().enumerate().filter_map(|(i, v)| Some((p.fields[i].id.clone(), v.clone()?))).collect())
}

fn events_of(p: &Program, list: &[(usize, f64)]) -> Events {
    let mut e = Events::new(p);
    for &(i, age) in list {
        e.record(i, NOW - age * DAY_MS).expect("a finite time of a known event");
    }
    e
}

fn events_json(p: &Program, list: &[(usize, f64)]) -> Json {
    Json::Array(list.iter().map(|&(i, age)| json!({"type": p.events[i].0, "days_ago": age})).collect())
}

fn opts(complete: bool) -> Options {
    Options { complete, locale: None }
}

// -------------------------------------------------------------------------------------------------------
// Checks.

fn slack(b: f64) -> f64 {
    TOLERANCE * b.abs().max(1.0)
}

fn within(x: f64, r: &Range) -> bool {
    r.min.is_none_or(|m| x >= m - slack(m)) && r.max.is_none_or(|m| x <= m + slack(m))
}

fn show_range(r: &Range) -> String {
    let b = |x: Option<f64>, inf: &str| x.map_or(inf.to_string(), |x| x.to_string());
    format!("[{}, {}]", b(r.min, "-inf"), b(r.max, "+inf"))
}

fn dq(e: &Evaluation) -> Option<&str> {
    e.disqualified.as_ref().map(|d| d.knockout.as_str())
}

/// `done` (a completion of the form, evaluated as submitted) agrees with `partial` (the form before).
fn agrees(partial: &Evaluation, done: &Evaluation) -> Result<(), String> {
    let mut errors = vec![];
    if !within(done.score, &partial.range) {
        errors.push(format!("score {} is outside the partial range {}", done.score, show_range(&partial.range)));
    }
    for (g, pg) in done.groups.iter().zip(&partial.groups) {
        if !within(g.score, &pg.range) {
            errors.push(format!(
                "group `{}`: score {} is outside the partial range {}",
                g.id,
                g.score,
                show_range(&pg.range)
            ));
        }
    }
    if partial.decided {
        if done.stage.id != partial.stage.id {
            errors.push(format!("decided stage `{}`, but this completion is `{}`", partial.stage.id, done.stage.id));
        }
        if dq(done) != dq(partial) {
            errors.push(format!("decided disqualification {:?}, but this completion has {:?}", dq(partial), dq(done)));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Scores are numbers, and within the caps.
fn sane(p: &Program, e: &Evaluation) -> Result<(), String> {
    if !e.score.is_finite() {
        return Err(format!("score is {}", e.score));
    }
    if let (Some(lo), Some(hi)) = (e.range.min, e.range.max) {
        if lo > hi {
            return Err(format!("range {}", show_range(&e.range)));
        }
    }
    if e.groups.len() != p.groups.len() {
        return Err(format!("{} groups, the program has {}", e.groups.len(), p.groups.len()));
    }
    let mut sum = 0.0;
    for (g, def) in e.groups.iter().zip(&p.groups) {
        if !g.score.is_finite() || g.raw.is_nan() || g.clipped.is_nan() {
            return Err(format!("group `{}`: score {}, raw {}, clipped {}", g.id, g.score, g.raw, g.clipped));
        }
        let lo = def.min.unwrap_or(f64::NEG_INFINITY);
        let hi = def.max.unwrap_or(f64::INFINITY);
        if g.score < lo || g.score > hi {
            return Err(format!("group `{}`: score {} is outside its caps [{lo}, {hi}]", g.id, g.score));
        }
        if g.range.min.is_some_and(|m| m < lo || m > hi) || g.range.max.is_some_and(|m| m < lo || m > hi) {
            return Err(format!("group `{}`: range {} is outside its caps [{lo}, {hi}]", g.id, show_range(&g.range)));
        }
        if let (Some(a), Some(b)) = (g.range.min, g.range.max) {
            if a > b {
                return Err(format!("group `{}`: range {}", g.id, show_range(&g.range)));
            }
        }
        sum += g.score;
    }
    // A sum that overflows stops at the largest double (ARCHITECTURE.md, "Same program, same bits").
    let sum = if sum.is_infinite() { f64::MAX.copysign(sum) } else { sum };
    if (sum - e.score).abs() > slack(e.score) {
        return Err(format!("score {} is not the sum of the group scores {sum}", e.score));
    }
    Ok(())
}

fn fail(context: impl std::fmt::Display, msg: String) -> TestCaseError {
    TestCaseError::fail(format!("{msg}\n  {context}"))
}

// -------------------------------------------------------------------------------------------------------
// Partial forms and their completions.

#[derive(Debug, Clone)]
struct RangeCase {
    /// A valid answer or none per field: the completed form.
    full: Vec<Option<Json>>,
    events: Vec<(usize, f64)>,
    /// Which answers of `full` the partial form has.
    keep: Vec<bool>,
    /// Forms in between: which of the other answers each adds.
    mids: Vec<Vec<bool>>,
}

fn range_case(fields: Vec<FieldSpec>, vocab: &Vocab, n_events: usize) -> BoxedStrategy<RangeCase> {
    let n = fields.len();
    let keep = prop_oneof![
        proptest::collection::vec(any::<bool>(), n),
        proptest::collection::vec(proptest::bool::weighted(0.85), n),
        proptest::collection::vec(proptest::bool::weighted(0.15), n),
    ];
    (
        valid_answers(&fields, vocab),
        event_list(n_events),
        keep,
        proptest::collection::vec(proptest::collection::vec(any::<bool>(), n), 1..4),
    )
        .prop_map(|(full, events, keep, mids)| RangeCase { full, events, keep, mids })
        .boxed()
}

/// Every completion of the partial form scores within its ranges, and has its stage when decided.
fn check_completions(p: &Program, case: &RangeCase) -> Result<(), TestCaseError> {
    let n = p.fields.len();
    let partial_values: Vec<Option<Json>> = (0..n).map(|i| case.full[i].clone().filter(|_| case.keep[i])).collect();
    let added = |mask: &[bool]| -> Vec<Option<Json>> {
        (0..n).map(|i| if case.keep[i] || mask[i] { case.full[i].clone() } else { None }).collect()
    };
    let events = events_of(p, &case.events);
    let context = || {
        let rest: Vec<Option<Json>> = (0..n).map(|i| case.full[i].clone().filter(|_| !case.keep[i])).collect();
        format!(
            "given: {}\n  completed with: {}\n  events: {}",
            answers_json(p, &partial_values),
            answers_json(p, &rest),
            events_json(p, &case.events)
        )
    };
    let partial_answers = answers_of(p, &partial_values)?;
    let (from_json, issues) = Answers::from_json(p, &answers_json(p, &partial_values));
    if from_json != partial_answers || !issues.is_empty() {
        return Err(fail(context(), format!("from_json differs from set_json: {issues:?}")));
    }
    let partial = p.evaluate(&partial_answers, &events, NOW, &opts(false));
    sane(p, &partial).map_err(|m| fail(context(), format!("partial: {m}")))?;
    // The outlook alone (what a session's `range` and `undecidedFields` read) is the evaluation's.
    let outlook = p.outlook(&partial_answers, &events, NOW);
    let expected = (partial.range, partial.decided, &partial.undecided_fields);
    if (outlook.range, outlook.decided, &outlook.undecided_fields) != expected {
        return Err(fail(context(), format!("outlook {outlook:?}, the evaluation's {expected:?}")));
    }

    let full_values = added(&vec![true; n]);
    let full = p.evaluate(&answers_of(p, &full_values)?, &events, NOW, &opts(true));
    sane(p, &full).map_err(|m| fail(context(), format!("complete: {m}")))?;
    agrees(&partial, &full).map_err(|m| fail(context(), format!("the completion with every answer: {m}")))?;

    let none = p.evaluate(&partial_answers, &events, NOW, &opts(true));
    agrees(&partial, &none).map_err(|m| fail(context(), format!("the completion with no further answer: {m}")))?;
    if none.score != partial.score {
        return Err(fail(
            context(),
            format!("score {} of the partial form, {} when submitted as is", partial.score, none.score),
        ));
    }

    for mask in &case.mids {
        let mid_values = added(mask);
        let mid_answers = answers_of(p, &mid_values)?;
        let what = format!(
            "the completion adding {}",
            answers_json(p, &(0..n).map(|i| mid_values[i].clone().filter(|_| !case.keep[i])).collect::<Vec<_>>())
        );
        let mid = p.evaluate(&mid_answers, &events, NOW, &opts(true));
        agrees(&partial, &mid).map_err(|m| fail(context(), format!("{what}: {m}")))?;
        // The full form completes this one too.
        let mid_partial = p.evaluate(&mid_answers, &events, NOW, &opts(false));
        sane(p, &mid_partial).map_err(|m| fail(context(), format!("partial: {m}")))?;
        agrees(&mid_partial, &full)
            .map_err(|m| fail(context(), format!("from the form {what}, the completion with every answer: {m}")))?;
    }
    Ok(())
}

#[test]
fn partial_ranges_contain_every_completion_of_the_examples() {
    for (m, p) in programs() {
        let fields: Vec<FieldSpec> = p.fields.iter().map(FieldSpec::from).collect();
        let strategy = range_case(fields, &m.vocab, p.events.len());
        check(&format!("examples/{}", m.name), 8000, strategy, |case| check_completions(p, &case));
    }
}

// -------------------------------------------------------------------------------------------------------
// Arbitrary JSON.

fn arb_key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(vec![
            "leadscore", "id", "title", "locale", "fields", "steps", "lists", "events", "groups", "rules", "knockouts", "stages",
            "grade", "endings", "type", "when", "points", "group", "per", "min", "max", "options", "value", "label", "var", "if",
            "goto", "next", "visible_if", "required", "max_times", "within_days", "decay", "half_life_days", "bands", "matrix",
            "reason", "==", "and", "in", "+", "missing", "at",
        ])
        .prop_map(String::from),
        1 => "\\PC{0,8}",
    ]
    .boxed()
}

fn arb_number() -> BoxedStrategy<Json> {
    prop_oneof![
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        (-1000i32..1000).prop_map(Json::from),
        any::<f64>().prop_filter_map("finite", serde_json::Number::from_f64).prop_map(Json::Number),
        select(vec![
            1e308,
            -1e308,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            -0.0,
            0.5,
            1e21,
            9007199254740993.0,
            1.5e300
        ])
        .prop_map(|x| Json::Number(serde_json::Number::from_f64(x).unwrap())),
    ]
    .boxed()
}

fn arb_json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        1 => Just(Json::Null),
        1 => any::<bool>().prop_map(Json::Bool),
        2 => arb_number(),
        2 => "\\PC{0,16}".prop_map(Json::String),
        1 => arb_key().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            proptest::collection::btree_map(arb_key(), inner, 0..6).prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

// -------------------------------------------------------------------------------------------------------
// Compilation never panics.

fn check_compiled(c: &Compiled, text: Option<&str>) -> Result<(), String> {
    if c.program.is_some() == c.has_errors() {
        return Err(format!("program {}, errors {}: {:?}", c.program.is_some(), c.has_errors(), c.diagnostics));
    }
    let Some(text) = text else { return Ok(()) };
    for d in &c.diagnostics {
        if let Some(s) = d.span {
            let ok = s.start.offset <= s.end.offset
                && s.end.offset <= text.len()
                && s.start.line >= 1
                && s.start.column >= 1
                && (s.start.line, s.start.column) <= (s.end.line, s.end.column);
            if !ok {
                return Err(format!("bad span {s:?} in a text of {} bytes: {d:?}", text.len()));
            }
        }
    }
    let parses = text.len() <= leadscore::source::MAX_DOCUMENT_BYTES && serde_json::from_str::<Json>(text).is_ok();
    if parses {
        if let Some(d) = c.diagnostics.iter().find(|d| d.span.is_none()) {
            return Err(format!("a diagnostic of a JSON text has no line and column: {d:?}"));
        }
    }
    Ok(())
}

/// `p` goes through its binary form and comes back the same: hash, disassembly, and the evaluation of no
/// answers and of `answers`, complete and in progress.
fn round_trips(p: &Program, answers: &Json) -> Result<(), String> {
    let q = Program::from_bytes(&p.to_bytes()).map_err(|e| format!("the encoded program does not decode: {e}"))?;
    if q.hash() != p.hash() || q.to_string() != p.to_string() {
        return Err(format!("the decoded program differs:\n{q}\nexpected:\n{p}"));
    }
    let (e, _) = Events::from_json(p, &json!([{"type": "page_view", "at": NOW}]));
    for answers in [Answers::new(p), Answers::from_json(p, answers).0] {
        for complete in [true, false] {
            let a = serde_json::to_string(&p.evaluate(&answers, &e, NOW, &opts(complete))).unwrap();
            let b = serde_json::to_string(&q.evaluate(&answers, &e, NOW, &opts(complete))).unwrap();
            if a != b {
                return Err(format!("the decoded program evaluates differently:\n{b}\nexpected:\n{a}"));
            }
        }
    }
    Ok(())
}

/// Evaluates a compiled program on no answers and on `answers`: no panic, sane scores.
fn evaluate_some(p: &Program, answers: &Json) -> Result<(), String> {
    let (a, _) = Answers::from_json(p, answers);
    let (e, _) = Events::from_json(p, &json!([{"type": "page_view", "at": NOW}]));
    for answers in [Answers::new(p), a] {
        for complete in [true, false] {
            let ev = p.evaluate(&answers, &e, NOW, &opts(complete));
            sane(p, &ev)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(20_000))]

    #[test]
    fn compile_never_panics_on_text(text in prop_oneof![
        2 => any::<String>(),
        3 => "[\\[\\]{}:,\" a-z0-9.eE+\\-\\\\ntu]{0,60}",
        2 => arb_json().prop_map(|j| j.to_string()),
        1 => (arb_json(), 0..64usize).prop_map(|(j, cut)| { let s = j.to_string(); s.chars().take(cut).collect() }),
    ]) {
        let c = compile_str(&text);
        if let Err(m) = check_compiled(&c, Some(&text)) {
            return Err(TestCaseError::fail(format!("{m}\n  text: {text:?}")));
        }
    }
}

proptest! {
    #![proptest_config(config(5000))]

    #[test]
    fn compile_never_panics_on_json(value in prop_oneof![
        1 => arb_json(),
        2 => (arb_json(), arb_json(), arb_json(), arb_json()).prop_map(|(f, r, s, x)| json!({
            "leadscore": 1, "id": "x", "fields": f, "rules": r, "stages": s, "knockouts": x,
        })),
    ]) {
        let text = serde_json::to_string_pretty(&value).unwrap();
        let c = compile_value(value.clone());
        prop_assert!(check_compiled(&c, None).is_ok(), "{:?}", check_compiled(&c, None));
        let c = compile_str(&text);
        if let Err(m) = check_compiled(&c, Some(&text)) {
            return Err(TestCaseError::fail(format!("{m}\n  text: {text}")));
        }
    }
}

// Mutations of the example documents.

#[derive(Debug, Clone)]
enum Mutation {
    /// Removes a key of an object or an item of an array.
    Delete(Index),
    /// Replaces a value with another.
    Replace(Index, Json),
    /// Replaces an expression string with other text.
    Expr(Index, String),
    /// Replaces a value with a name the model uses.
    Ident(Index, Index),
    /// Replaces a number with another.
    Number(Index, Json),
}

/// Pointers of every value below the root, in document order.
fn pointers(j: &Json) -> Vec<String> {
    fn walk(j: &Json, at: &str, out: &mut Vec<String>) {
        match j {
            Json::Object(m) => {
                for (k, v) in m {
                    let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.push(p.clone());
                    walk(v, &p, out);
                }
            }
            Json::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    let p = format!("{at}/{i}");
                    out.push(p.clone());
                    walk(v, &p, out);
                }
            }
            _ => {}
        }
    }
    let mut out = vec![];
    walk(j, "", &mut out);
    out
}

fn is_expr_pointer(p: &str) -> bool {
    p.rsplit('/').next().is_some_and(|k| EXPR_KEYS.contains(&k))
}

fn split_pointer(p: &str) -> (&str, String) {
    let (parent, last) = p.rsplit_once('/').unwrap_or(("", p));
    (parent, last.replace("~1", "/").replace("~0", "~"))
}

fn apply(doc: &mut Json, m: &Mutation, idents: &[String]) {
    let all = pointers(doc);
    if all.is_empty() {
        return;
    }
    match m {
        Mutation::Delete(i) => {
            let p = i.get(&all).clone();
            let (parent, key) = split_pointer(&p);
            match doc.pointer_mut(parent) {
                Some(Json::Object(o)) => {
                    o.remove(&key);
                }
                Some(Json::Array(a)) => {
                    if let Ok(k) = key.parse::<usize>() {
                        if k < a.len() {
                            a.remove(k);
                        }
                    }
                }
                _ => {}
            }
        }
        Mutation::Replace(i, v) => {
            if let Some(x) = doc.pointer_mut(i.get(&all).as_str()) {
                *x = v.clone();
            }
        }
        Mutation::Expr(i, text) => {
            let exprs: Vec<&String> = all.iter().filter(|p| is_expr_pointer(p)).collect();
            if exprs.is_empty() {
                return;
            }
            if let Some(x) = doc.pointer_mut(i.get(&exprs).as_str()) {
                *x = Json::String(text.clone());
            }
        }
        Mutation::Ident(i, w) => {
            if idents.is_empty() {
                return;
            }
            if let Some(x) = doc.pointer_mut(i.get(&all).as_str()) {
                *x = Json::String(w.get(idents).clone());
            }
        }
        Mutation::Number(i, v) => {
            let nums: Vec<&String> = all.iter().filter(|p| doc.pointer(p).is_some_and(Json::is_number)).collect();
            if nums.is_empty() {
                return;
            }
            let p = i.get(&nums).to_string();
            if let Some(x) = doc.pointer_mut(&p) {
                *x = v.clone();
            }
        }
    }
}

/// Random expression text from the tokens of the language and the model's names.
fn expr_text(idents: Vec<String>) -> BoxedStrategy<String> {
    let mut words: Vec<String> = [
        "and",
        "or",
        "not",
        "in",
        "between",
        "if",
        "then",
        "else",
        "true",
        "false",
        "score",
        "count",
        "days_since",
        "answered",
        "lower",
        "upper",
        "trim",
        "contains",
        "contains_any",
        "any_in",
        "starts_with",
        "ends_with",
        "domain",
        "len",
        "min",
        "max",
        "abs",
        "round",
        "floor",
        "ceil",
        "==",
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "+",
        "-",
        "*",
        "/",
        "%",
        "!",
        "&&",
        "||",
        "(",
        ")",
        "(",
        ")",
        "[",
        "]",
        ",",
        "'",
        "\"",
        "\\",
        "'a'",
        "\"b\"",
        "'\\n'",
        "'é'",
        "'\\é'",
        "'",
        "0",
        "1",
        "50",
        "-3.5",
        "1e309",
        "1_000",
        ".5",
        "1.2.3",
        "99999999999999999999",
        "1e-400",
        "é",
        "✓",
        "\u{0}",
        "\t",
        "\n",
    ]
    .map(String::from)
    .to_vec();
    words.extend(idents);
    (proptest::collection::vec(select(words), 0..24), any::<bool>())
        .prop_map(|(ws, spaced)| ws.join(if spaced { " " } else { "" }))
        .boxed()
}

fn mutation(idents: Vec<String>) -> BoxedStrategy<Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Delete),
        2 => (any::<Index>(), arb_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        4 => (any::<Index>(), expr_text(idents)).prop_map(|(i, t)| Mutation::Expr(i, t)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(i, w)| Mutation::Ident(i, w)),
        1 => (any::<Index>(), arb_number()).prop_map(|(i, v)| Mutation::Number(i, v)),
    ]
    .boxed()
}

#[test]
fn compile_never_panics_on_mutated_examples() {
    for m in models() {
        if m.doc.is_null() {
            continue;
        }
        let mut idents = m.vocab.idents.clone();
        idents.extend(m.vocab.words.iter().take(40).map(|w| w.to_string()));
        let strategy = (proptest::collection::vec(mutation(m.vocab.idents.clone()), 1..4), any::<bool>(), arb_json());
        check(&format!("examples/{}", m.name), 1000, strategy, |(mutations, pretty, answers)| {
            let mut doc = m.doc.clone();
            for mu in &mutations {
                apply(&mut doc, mu, &idents);
            }
            let text = if pretty { serde_json::to_string_pretty(&doc).unwrap() } else { doc.to_string() };
            let from_text = compile_str(&text);
            check_compiled(&from_text, Some(&text)).map_err(|e| fail(&text, e))?;
            let from_value = compile_value(doc.clone());
            check_compiled(&from_value, None).map_err(|e| fail(&text, e))?;
            let codes = |c: &Compiled| {
                let mut v: Vec<String> =
                    c.diagnostics.iter().map(|d| format!("{:?} {:?} {}", d.severity, d.code, d.pointer)).collect();
                v.sort();
                v
            };
            if codes(&from_text) != codes(&from_value) {
                return Err(fail(
                    &text,
                    format!(
                        "compile_str and compile_value disagree: {:?} / {:?}",
                        codes(&from_text),
                        codes(&from_value)
                    ),
                ));
            }
            if let Some(p) = &from_text.program {
                evaluate_some(p, &answers).map_err(|e| fail(&text, e))?;
                round_trips(p, &answers).map_err(|e| fail(&text, e))?;
            }
            Ok(())
        });
    }
}

// -------------------------------------------------------------------------------------------------------
// Evaluation never panics; scores are finite and capped; evaluation is deterministic.

/// Anything a client could send as answers: valid answers mixed with values of the wrong type, huge numbers,
/// long strings, unknown fields, lists where one value goes.
fn wild_answers(p: &Program, v: &Vocab) -> BoxedStrategy<Json> {
    let fields: Vec<FieldSpec> = p.fields.iter().map(FieldSpec::from).collect();
    let mut keys: Vec<String> = p.fields.iter().map(|f| f.id.clone()).collect();
    keys.extend(["unknown", "", "Email", "__proto__"].map(String::from));
    let mut strings: Vec<String> =
        p.fields.iter().flat_map(|f| f.options.iter().map(|o| o.value().to_string())).collect();
    strings.extend(v.words.iter().cloned());
    strings.extend(["", " ", "a;b", "12", "1e999", "NaN", "yes", "IT", "x@y.z", "@", "a@.b"].map(String::from));
    let value = prop_oneof![
        3 => arb_json(),
        1 => select(vec![1e308, -1e308, f64::MAX, f64::MIN, 1e-308, 5e-324, -0.0, 1e21, 9007199254740993.0, 0.1])
            .prop_map(|x| Json::Number(serde_json::Number::from_f64(x).unwrap())),
        1 => (0usize..20_000, select(vec!["x", "é", "✓", " "])).prop_map(|(n, c)| Json::String(c.repeat(n))),
        2 => proptest::collection::vec(select(strings.clone()).prop_map(Json::String), 0..70).prop_map(Json::Array),
        2 => select(strings).prop_map(Json::String),
    ];
    let overlay = proptest::collection::btree_map(prop_oneof![4 => select(keys), 1 => "\\PC{0,10}"], value, 0..10);
    prop_oneof![
        12 => (valid_answers(&fields, v), overlay).prop_map({
            let ids: Vec<String> = p.fields.iter().map(|f| f.id.clone()).collect();
            move |(valid, wild)| {
                let mut m: serde_json::Map<String, Json> =
                    valid.into_iter().enumerate().filter_map(|(i, x)| Some((ids[i].clone(), x?))).collect();
                m.extend(wild);
                Json::Object(m)
            }
        }),
        1 => arb_json(),
    ]
    .boxed()
}

fn wild_events(p: &Program) -> BoxedStrategy<Json> {
    let mut types: Vec<String> = p.events.iter().map(|e| e.0.clone()).collect();
    types.extend(["unknown", "", "PAGE_VIEW"].map(String::from));
    let at = prop_oneof![
        4 => (-400.0..400.0f64).prop_map(|d| json!(NOW - d * DAY_MS)),
        2 => select(vec![0.0, -1.0, -1e300, 1e300, f64::MAX, f64::MIN, 8.64e15, -8.64e15, NOW, NOW + 1.0, 5e-324])
            .prop_map(|x| Json::Number(serde_json::Number::from_f64(x).unwrap())),
        1 => arb_number(),
        1 => arb_json(),
    ];
    let one = prop_oneof![
        8 => (select(types), at).prop_map(|(t, at)| json!({"type": t, "at": at})),
        1 => arb_json(),
    ];
    prop_oneof![
        10 => proptest::collection::vec(one, 0..40).prop_map(Json::Array),
        1 => arb_json(),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
struct WildCase {
    answers: Json,
    events: Json,
    /// Texts set with `set_text`, by field.
    texts: Vec<(Index, String)>,
    /// Occurrences recorded directly (event index possibly out of range, time possibly not finite).
    records: Vec<(usize, f64)>,
    now: f64,
    locale: Option<String>,
}

fn wild_case(p: &Program, v: &Vocab) -> BoxedStrategy<WildCase> {
    let texts = proptest::collection::vec(
        (
            any::<Index>(),
            prop_oneof![
                "\\PC{0,20}",
                select(vec!["", " 12 ", "1e400", "NaN", "inf", "-0", "yes", "OFF", "a;b;;c", ";", "it", "x@y.z"])
                    .prop_map(String::from),
            ],
        ),
        0..4,
    );
    let time = prop_oneof![
        3 => (-400.0..400.0f64).prop_map(|d| NOW - d * DAY_MS),
        1 => select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, -1e300, 0.0]),
    ];
    let records = proptest::collection::vec((0..p.events.len() + 2, time), 0..6);
    let now = prop_oneof![
        6 => Just(NOW),
        2 => (-1000.0..1000.0f64).prop_map(|d| NOW + d * DAY_MS),
        1 => select(vec![0.0, -1e300, 1e300, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN]),
    ];
    let locale = proptest::option::of(select(vec!["en", "it", "xx", ""]).prop_map(String::from));
    (wild_answers(p, v), wild_events(p), texts, records, now, locale)
        .prop_map(|(answers, events, texts, records, now, locale)| WildCase {
            answers,
            events,
            texts,
            records,
            now,
            locale,
        })
        .boxed()
}

fn wild_input(p: &Program, c: &WildCase) -> (Answers, Events) {
    let (mut answers, _) = Answers::from_json(p, &c.answers);
    let n = p.fields.len();
    for (i, t) in &c.texts {
        if n > 0 {
            let _ = answers.set_text(p, i.index(n), t);
        }
    }
    assert!(answers.set_json(p, n, &json!(1)).is_err());
    assert!(answers.set_text(p, n + 3, "1").is_err());
    assert!(answers.get(n).is_none());
    answers.clear(n + 1);
    let (mut events, _) = Events::from_json(p, &c.events);
    for &(e, at) in &c.records {
        let r = events.record(e, at);
        assert_eq!(r.is_ok(), e < p.events.len() && at.is_finite(), "record({e}, {at}) gave {r:?}");
    }
    (answers, events)
}

#[test]
fn evaluate_never_panics_and_stays_finite() {
    for (m, p) in programs() {
        check(&format!("examples/{}", m.name), 2500, wild_case(p, &m.vocab), |c| {
            let (answers, events) = wild_input(p, &c);
            for complete in [true, false] {
                let e = p.evaluate(&answers, &events, c.now, &Options { complete, locale: c.locale.clone() });
                sane(p, &e).map_err(|e| fail(format!("complete: {complete}"), e))?;
                serde_json::to_string(&e).map_err(|e| fail("", e.to_string()))?;
            }
            let _ = p.hints(&answers, &events, c.now);
            Ok(())
        });
    }
}

#[test]
fn group_scores_stay_within_their_caps() {
    for (m, p) in programs() {
        let fields: Vec<FieldSpec> = p.fields.iter().map(FieldSpec::from).collect();
        let strategy =
            (valid_answers(&fields, &m.vocab), event_list(p.events.len()), any::<bool>(), wild_answers(p, &m.vocab));
        check(&format!("examples/{}", m.name), 1500, strategy, |(valid, events, complete, wild)| {
            let events = events_of(p, &events);
            for answers in [answers_of(p, &valid)?, Answers::from_json(p, &wild).0] {
                let e = p.evaluate(&answers, &events, NOW, &opts(complete));
                sane(p, &e).map_err(|e| fail(format!("answers: {}", answers_json(p, &valid)), e))?;
            }
            Ok(())
        });
    }
}

#[test]
fn evaluation_is_deterministic() {
    for (m, p) in programs() {
        let again = compile_str(&m.text).program.expect("compiles twice");
        if again.hash() != p.hash() {
            panic!("examples/{}: the rules hash changes between compilations: {} / {}", m.name, p.hash(), again.hash());
        }
        check(&format!("examples/{}", m.name), 800, wild_case(p, &m.vocab), |c| {
            let (answers, events) = wild_input(p, &c);
            for complete in [true, false] {
                let o = Options { complete, locale: c.locale.clone() };
                let first = serde_json::to_string(&p.evaluate(&answers, &events, c.now, &o)).unwrap();
                let second = serde_json::to_string(&p.evaluate(&answers, &events, c.now, &o)).unwrap();
                let (answers2, events2) = wild_input(&again, &c);
                let third = serde_json::to_string(&again.evaluate(&answers2, &events2, c.now, &o)).unwrap();
                if first != second || first != third {
                    return Err(fail(
                        format!("complete: {complete}"),
                        format!("different results:\n{first}\n{second}\n{third}"),
                    ));
                }
            }
            Ok(())
        });
    }
}

// -------------------------------------------------------------------------------------------------------
// Small generated models: every kind of field, steps with conditions and jumps, events, caps, knockouts,
// stages on scores, and both expression languages.

#[derive(Debug, Clone)]
struct GenField {
    id: String,
    spec: FieldSpec,
}

#[derive(Debug, Clone)]
struct Skeleton {
    fields: Vec<GenField>,
    /// Step of each field (`None`: a background field); background fields come first, steps in order.
    step_of: Vec<Option<usize>>,
    n_steps: usize,
    n_events: usize,
    /// Caps of `fit` and `engagement`; `None`: the default groups.
    caps: Option<[(Option<f64>, Option<f64>); 2]>,
}

const OPTIONS: [&str; 3] = ["a", "b", "c"];
const WORDS: [&str; 5] = ["x", "data", "Data Lead", "intern", ""];
const CONSTS: [&str; 10] = ["0", "1", "5", "10", "50", "100", "2.5", "-1", "1000", "0.1"];

fn gen_field(i: usize) -> BoxedStrategy<GenField> {
    let kind = select(vec![
        FieldType::Number,
        FieldType::Integer,
        FieldType::Integer,
        FieldType::Boolean,
        FieldType::Choice,
        FieldType::Multi,
        FieldType::String,
        FieldType::Email,
        FieldType::Country,
    ]);
    let min = proptest::option::of(select(vec![0.0, 1.0, -10.0, 5.0]));
    let max = proptest::option::of(select(vec![10.0, 100.0, 1000.0, 50.0]));
    (kind, min, max)
        .prop_map(move |(kind, min, max)| {
            let numeric = matches!(kind, FieldType::Number | FieldType::Integer);
            let choice = matches!(kind, FieldType::Choice | FieldType::Multi);
            GenField {
                id: format!("f{i}"),
                spec: FieldSpec {
                    kind,
                    min: min.filter(|_| numeric),
                    max: max.filter(|_| numeric),
                    max_length: 500,
                    options: if choice { OPTIONS.map(String::from).to_vec() } else { vec![] },
                },
            }
        })
        .boxed()
}

fn skeleton() -> BoxedStrategy<Skeleton> {
    (1usize..=5)
        .prop_flat_map(|n| {
            let fields: Vec<BoxedStrategy<GenField>> = (0..n).map(gen_field).collect();
            let cap = (proptest::option::of(select(vec![-10.0, 0.0])), proptest::option::of(select(vec![10.0, 30.0])));
            (
                fields,
                0..=n,
                proptest::collection::vec(proptest::bool::weighted(0.4), n),
                0usize..=2,
                proptest::option::of([cap.clone(), cap]),
            )
        })
        .prop_map(|(fields, background, cuts, n_events, caps)| {
            let n = fields.len();
            let mut step_of = vec![None; n];
            let mut step = 0;
            for i in background..n {
                if i > background && cuts[i] {
                    step += 1;
                }
                step_of[i] = Some(step);
            }
            let n_steps = if background < n { step + 1 } else { 0 };
            Skeleton { fields, step_of, n_steps, n_events, caps }
        })
        .boxed()
}

/// Names an expression may use.
#[derive(Clone)]
struct Names {
    fields: Vec<GenField>,
    events: usize,
    scores: bool,
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

fn bool_leaves(s: &Names) -> BoxedStrategy<String> {
    let mut leaves: Vec<BoxedStrategy<String>> = vec![select(vec!["true".to_string(), "false".to_string()]).boxed()];
    for f in &s.fields {
        let id = f.id.clone();
        let id2 = id.clone();
        let s = match f.spec.kind {
            FieldType::Number | FieldType::Integer => {
                let a = (select(vec!["<", "<=", ">", ">=", "==", "!="]), select(CONSTS.to_vec()))
                    .prop_map(move |(o, c)| format!("{id} {o} {c}"));
                let b = (select(CONSTS.to_vec()), select(CONSTS.to_vec()))
                    .prop_map(move |(l, h)| format!("{id2} between {l} and {h}"));
                prop_oneof![3 => a, 1 => b].boxed()
            }
            FieldType::Boolean => {
                select(vec![id.clone(), format!("{id} == true"), format!("not {id}"), format!("{id} != false")]).boxed()
            }
            FieldType::Choice => (select(OPTIONS.to_vec()), 0..4usize)
                .prop_map(move |(o, k)| match k {
                    0 => format!("{id} == '{o}'"),
                    1 => format!("{id} != '{o}'"),
                    2 => format!("{id} in ['{o}', 'c']"),
                    _ => format!("{id} not in ['{o}']"),
                })
                .boxed(),
            FieldType::Multi => (select(OPTIONS.to_vec()), 0..4usize)
                .prop_map(move |(o, k)| match k {
                    0 => format!("'{o}' in {id}"),
                    1 => format!("contains({id}, '{o}')"),
                    2 => format!("any_in({id}, ['{o}', 'c'])"),
                    _ => format!("len({id}) >= 2"),
                })
                .boxed(),
            FieldType::String => (select(WORDS.to_vec()), 0..5usize)
                .prop_map(move |(w, k)| match k {
                    0 => format!("contains(lower({id}), {})", quoted(&w.to_lowercase())),
                    1 => format!("{id} == {}", quoted(w)),
                    2 => format!("starts_with({id}, {})", quoted(w)),
                    3 => format!("contains_any(trim({id}), [{}, 'data'])", quoted(w)),
                    _ => format!("len(trim({id})) > 3"),
                })
                .boxed(),
            FieldType::Email => select(vec![
                format!("domain({id}) in ['gmail.com', 'rival.io']"),
                format!("ends_with({id}, '.io')"),
                format!("domain({id}) == 'acme.com'"),
            ])
            .boxed(),
            FieldType::Country => {
                select(vec![format!("{id} in ['IT', 'US']"), format!("{id} not in ['CN']"), format!("{id} == 'DE'")])
                    .boxed()
            }
        };
        leaves.push(s);
        leaves.push(select(vec![format!("answered({})", f.id), format!("not answered({})", f.id)]).boxed());
    }
    for e in 0..s.events {
        leaves.push(
            (select(vec!["0", "1", "2", "3"]), select(vec!["1", "7", "30"]), 0..3usize)
                .prop_map(move |(k, d, w)| match w {
                    0 => format!("count(e{e}) >= {k}"),
                    1 => format!("count(e{e}, {d}) >= {k}"),
                    _ => format!("days_since(e{e}) <= {d}"),
                })
                .boxed(),
        );
    }
    if s.scores {
        leaves.push(
            (
                select(vec!["score", "fit", "engagement"]),
                select(vec![">=", "<", ">"]),
                select(vec!["0", "5", "10", "20", "-5"]),
            )
                .prop_map(|(x, o, c)| format!("{x} {o} {c}"))
                .boxed(),
        );
    }
    Union::new(leaves).boxed()
}

fn num_leaves(s: &Names) -> BoxedStrategy<String> {
    let mut leaves: Vec<BoxedStrategy<String>> = vec![select(CONSTS.to_vec()).prop_map(String::from).boxed()];
    let nums: Vec<String> = s
        .fields
        .iter()
        .filter(|f| matches!(f.spec.kind, FieldType::Number | FieldType::Integer))
        .map(|f| f.id.clone())
        .collect();
    if !nums.is_empty() {
        leaves.push(select(nums).boxed());
    }
    let lens: Vec<String> = s
        .fields
        .iter()
        .filter(|f| matches!(f.spec.kind, FieldType::String | FieldType::Multi))
        .map(|f| format!("len({})", f.id))
        .collect();
    if !lens.is_empty() {
        leaves.push(select(lens).boxed());
    }
    if s.events > 0 {
        let ev: Vec<String> =
            (0..s.events).flat_map(|e| [format!("count(e{e})"), format!("days_since(e{e})")]).collect();
        leaves.push(select(ev).boxed());
    }
    if s.scores {
        leaves.push(select(vec!["score".to_string(), "fit".to_string(), "engagement".to_string()]).boxed());
    }
    Union::new(leaves).boxed()
}

/// Conditions and numbers over `s`, nested at most `depth` levels.
fn exprs(s: &Names, depth: u32) -> (BoxedStrategy<String>, BoxedStrategy<String>) {
    let (mut b, mut n) = (bool_leaves(s), num_leaves(s));
    for _ in 0..depth {
        let (pb, pn) = (b.clone(), n.clone());
        let nb = prop_oneof![
            4 => pb.clone(),
            1 => pb.clone().prop_map(|x| format!("not ({x})")),
            1 => (pb.clone(), pb.clone()).prop_map(|(x, y)| format!("({x}) and ({y})")),
            1 => (pb.clone(), pb.clone()).prop_map(|(x, y)| format!("({x}) or ({y})")),
            2 => (pn.clone(), select(vec!["<", "<=", ">", ">=", "==", "!="]), pn.clone()).prop_map(|(x, o, y)| format!("({x}) {o} ({y})")),
            1 => (pn.clone(), pn.clone(), pn.clone()).prop_map(|(x, l, h)| format!("({x}) between ({l}) and ({h})")),
            1 => (pb.clone(), pb.clone(), pb.clone()).prop_map(|(c, x, y)| format!("(if {c} then {x} else {y})")),
        ]
        .boxed();
        let nn = prop_oneof![
            4 => pn.clone(),
            2 => (pn.clone(), select(vec!["+", "-", "*", "/", "%"]), pn.clone()).prop_map(|(x, o, y)| format!("({x}) {o} ({y})")),
            1 => pn.clone().prop_map(|x| format!("-({x})")),
            1 => (select(vec!["floor", "ceil", "round", "abs"]), pn.clone()).prop_map(|(f, x)| format!("{f}({x})")),
            1 => (select(vec!["min", "max"]), pn.clone(), pn.clone()).prop_map(|(f, x, y)| format!("{f}({x}, {y})")),
            1 => (pb.clone(), pn.clone(), pn.clone()).prop_map(|(c, x, y)| format!("(if {c} then {x} else {y})")),
        ]
        .boxed();
        b = nb;
        n = nn;
    }
    (b, n)
}

/// A JsonLogic condition over `s`.
fn jsonlogic_cond(s: &Names) -> BoxedStrategy<Json> {
    let ids: Vec<String> = s.fields.iter().map(|f| f.id.clone()).collect();
    let leaf =
        (select(ids.clone()), select(ids), 0..20usize, select(CONSTS.to_vec()), select(vec!["a", "IT", "x", ""]))
            .prop_map(|(f, g, k, c, w)| {
                let c: f64 = c.parse().unwrap();
                match k {
                    0 => json!({"==": [{"var": f}, w]}),
                    1 => json!({">=": [{"var": f}, c]}),
                    2 => json!({"!": {"var": f}}),
                    3 => json!({"missing": [f]}),
                    4 => json!({"in": [{"var": f}, ["IT", "US", "a"]]}),
                    5 => json!({"<": [c, {"var": [f, 3]}, 100]}),
                    6 => json!({"!=": [{"var": f}, c]}),
                    7 => json!({"===": [{"var": f}, w]}),
                    8 => json!({"!==": [{"var": f}, {"var": g}]}),
                    9 => json!({"<=": [{"var": f}, {"var": g}]}),
                    10 => json!({">": [{"var": f}, w]}),
                    11 => json!({"in": [w, {"var": f}]}),
                    12 => json!({"in": [{"var": f}, {"var": g}]}),
                    13 => json!({"==": [{"var": f}, {"var": g}]}),
                    14 => json!({"in": [{"var": f}, [c, w, null, true, {"var": g}]]}),
                    15 => json!({"if": [{"var": f}, {"var": g}, {">": [{"var": g}, c]}, w, null]}),
                    16 => json!({"<": [{"var": f}, {"-": [{"var": g}, c]}]}),
                    17 => json!({"==": [{"%": [{"var": f}, 3]}, {"/": [c, {"var": [g, 2]}]}]}),
                    18 => json!({">=": [{"min": [{"var": f}, c, {"var": g}]}, {"max": [{"-": {"var": g}}, w]}]}),
                    _ => json!({"!!": [{"var": f}]}),
                }
            });
    (leaf.clone(), leaf, 0..4usize)
        .prop_map(|(a, b, k)| match k {
            0 => a,
            1 => json!({"and": [a, b]}),
            2 => json!({"or": [a, b, 0]}),
            _ => json!({"or": [{"and": [a, b]}, {"!": [b]}]}),
        })
        .boxed()
}

/// A JsonLogic number over `s`.
fn jsonlogic_num(s: &Names) -> BoxedStrategy<Json> {
    let ids: Vec<String> = s.fields.iter().map(|f| f.id.clone()).collect();
    (select(ids.clone()), select(ids), 0..8usize, select(CONSTS.to_vec()))
        .prop_map(|(f, g, k, c)| {
            let c: f64 = c.parse().unwrap();
            match k {
                0 => json!({"+": [{"var": f}, c]}),
                1 => json!({"*": [c, {"var": f}]}),
                2 => json!({"if": [{"var": f}, c, 1]}),
                3 => json!({"*": [{"var": f}, {"var": g}, c]}),
                4 => json!({"-": [{"var": f}, {"var": [g, 1]}]}),
                5 => json!({"and": [{"var": f}, {"var": g}]}),
                6 => json!({"*": [{"var": f}]}),
                _ => json!({"max": [{"var": f}, c]}),
            }
        })
        .boxed()
}

fn cond_json(s: &Names) -> BoxedStrategy<Json> {
    if s.fields.is_empty() {
        return exprs(s, 2).0.prop_map(Json::String).boxed();
    }
    prop_oneof![6 => exprs(s, 2).0.prop_map(Json::String), 1 => jsonlogic_cond(s)].boxed()
}

fn num_json_expr(s: &Names) -> BoxedStrategy<Json> {
    let constant = select(vec![-5.0, 1.0, 3.0, 10.0, 0.5]).prop_map(num_json);
    if s.fields.is_empty() {
        return prop_oneof![2 => constant, 1 => exprs(s, 2).1.prop_map(Json::String)].boxed();
    }
    prop_oneof![4 => constant, 3 => exprs(s, 2).1.prop_map(Json::String), 1 => jsonlogic_num(s)].boxed()
}

fn field_json(f: &GenField) -> Json {
    let kind = match f.spec.kind {
        FieldType::Number => "number",
        FieldType::Integer => "integer",
        FieldType::String => "string",
        FieldType::Email => "email",
        FieldType::Choice => "choice",
        FieldType::Multi => "multi",
        FieldType::Boolean => "boolean",
        FieldType::Country => "country",
    };
    let mut o = json!({"id": f.id, "type": kind});
    if let Some(m) = f.spec.min {
        o["min"] = num_json(m);
    }
    if let Some(m) = f.spec.max {
        o["max"] = num_json(m);
    }
    if !f.spec.options.is_empty() {
        o["options"] = json!(f.spec.options);
    }
    o
}

#[derive(Clone)]
struct GenModel {
    skeleton: Skeleton,
    doc: Json,
}

impl std::fmt::Debug for GenModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.doc)
    }
}

/// Generated models; `step_conditions`: steps may have a `visible_if`.
/// A step's `visible_if` and its jumps (condition, target).
type StepConds = (Option<Json>, Vec<(Option<Json>, Index)>);

fn gen_model(step_conditions: bool) -> BoxedStrategy<GenModel> {
    skeleton()
        .prop_flat_map(move |sk| {
            let n = sk.fields.len();
            let all = Names { fields: sk.fields.clone(), events: sk.n_events, scores: false };
            let before = |k: usize| Names { fields: sk.fields[..k].to_vec(), events: sk.n_events, scores: false };
            // Per field: visible_if over the fields before it; required.
            let field_conds: Vec<BoxedStrategy<(Option<Json>, Json)>> = (0..n)
                .map(|i| {
                    let vis = if i == 0 {
                        Just(None).boxed()
                    } else {
                        proptest::option::weighted(0.3, cond_json(&before(i))).boxed()
                    };
                    let req = if i == 0 {
                        any::<bool>().prop_map(Json::Bool).boxed()
                    } else {
                        prop_oneof![3 => any::<bool>().prop_map(Json::Bool), 1 => cond_json(&before(i))].boxed()
                    };
                    (vis, req).boxed()
                })
                .collect();
            // Per step: visible_if over the fields before it; jumps over its fields and the ones before.
            let step_conds: Vec<BoxedStrategy<StepConds>> = (0..sk.n_steps)
                .map(|s| {
                    let first = sk.step_of.iter().position(|&x| x == Some(s)).unwrap();
                    let last = sk.step_of.iter().rposition(|&x| x == Some(s)).unwrap();
                    let vis = if first == 0 {
                        Just(None).boxed()
                    } else {
                        proptest::option::weighted(0.5, cond_json(&before(first))).boxed()
                    };
                    let vis = if step_conditions { vis } else { Just(None).boxed() };
                    let jump = (proptest::option::weighted(0.8, cond_json(&before(last + 1))), any::<Index>());
                    (vis, proptest::collection::vec(jump, 0..3)).boxed()
                })
                .collect();
            let rule = (
                select(vec!["fit", "engagement"]),
                proptest::option::weighted(0.8, cond_json(&all)),
                num_json_expr(&all),
                if sk.n_events == 0 {
                    Just(None).boxed()
                } else {
                    let per = (
                        0..sk.n_events,
                        proptest::option::of(1u32..4),
                        proptest::option::of(select(vec![0.0, 7.0, 30.0])),
                        proptest::option::of(select(vec![1.0, 10.0])),
                    );
                    proptest::option::weighted(0.3, per).boxed()
                },
            );
            let rules = proptest::collection::vec(rule, 1..6);
            let knockouts = proptest::collection::vec(cond_json(&all), 0..3);
            let stages = proptest::collection::vec(cond_json(&Names { scores: true, ..all.clone() }), 0..3);
            (Just(sk.clone()), field_conds, step_conds, rules, knockouts, stages)
        })
        .prop_map(|(sk, field_conds, step_conds, rules, knockouts, stages)| {
            let mut fields: Vec<Json> = sk.fields.iter().map(field_json).collect();
            for (f, (vis, req)) in fields.iter_mut().zip(field_conds) {
                if let Some(v) = vis {
                    f["visible_if"] = v;
                }
                f["required"] = req;
            }
            let steps: Vec<Json> = step_conds
                .into_iter()
                .enumerate()
                .map(|(s, (vis, jumps))| {
                    let ids: Vec<&str> = sk
                        .fields
                        .iter()
                        .zip(&sk.step_of)
                        .filter(|(_, x)| **x == Some(s))
                        .map(|(f, _)| f.id.as_str())
                        .collect();
                    let mut o = json!({"id": format!("s{s}"), "fields": ids});
                    if let Some(v) = vis {
                        o["visible_if"] = v;
                    }
                    let targets: Vec<String> =
                        (s + 1..sk.n_steps).map(|t| format!("s{t}")).chain(["end".to_string()]).collect();
                    let next: Vec<Json> = jumps
                        .into_iter()
                        .map(|(c, t)| {
                            let mut j = json!({"goto": t.get(&targets)});
                            if let Some(c) = c {
                                j["if"] = c;
                            }
                            j
                        })
                        .collect();
                    if !next.is_empty() {
                        o["next"] = Json::Array(next);
                    }
                    o
                })
                .collect();
            let rules: Vec<Json> = rules
                .into_iter()
                .enumerate()
                .map(|(i, (group, when, points, per))| {
                    let mut r = json!({"id": format!("r{i}"), "group": group, "points": points});
                    if let Some(w) = when {
                        r["when"] = w;
                    }
                    if let Some((e, max_times, within, half)) = per {
                        r["per"] = json!(format!("e{e}"));
                        if let Some(m) = max_times {
                            r["max_times"] = json!(m);
                        }
                        if let Some(w) = within {
                            r["within_days"] = num_json(w);
                        }
                        if let Some(h) = half {
                            r["decay"] = json!({"half_life_days": num_json(h)});
                        }
                    }
                    r
                })
                .collect();
            let knockouts: Vec<Json> = knockouts
                .into_iter()
                .enumerate()
                .map(|(i, w)| json!({"id": format!("k{i}"), "when": w, "reason": format!("reason{i}")}))
                .collect();
            let mut stage_list: Vec<Json> =
                stages.into_iter().enumerate().map(|(i, w)| json!({"id": format!("st{i}"), "when": w})).collect();
            stage_list.push(json!({"id": "default"}));
            let mut doc = json!({
                "leadscore": 1,
                "id": "generated",
                "fields": fields,
                "events": (0..sk.n_events).map(|e| json!({"id": format!("e{e}")})).collect::<Vec<_>>(),
                "rules": rules,
                "knockouts": knockouts,
                "stages": stage_list,
            });
            if !steps.is_empty() {
                doc["steps"] = Json::Array(steps);
            }
            if let Some(caps) = sk.caps {
                let group = |id: &str, (lo, hi): (Option<f64>, Option<f64>)| {
                    let mut g = json!({"id": id});
                    if let Some(lo) = lo {
                        g["min"] = num_json(lo);
                    }
                    if let Some(hi) = hi {
                        g["max"] = num_json(hi);
                    }
                    g
                };
                doc["groups"] = json!([group("fit", caps[0]), group("engagement", caps[1])]);
            }
            GenModel { skeleton: sk, doc }
        })
        .boxed()
}

fn gen_vocab() -> Vocab {
    Vocab {
        domains: ["gmail.com", "rival.io", "acme.com"].map(String::from).to_vec(),
        words: WORDS.map(String::from).to_vec(),
        numbers: CONSTS.iter().map(|c| c.parse().unwrap()).collect(),
        idents: vec![],
    }
}

fn gen_case(step_conditions: bool) -> BoxedStrategy<(GenModel, RangeCase)> {
    gen_model(step_conditions)
        .prop_flat_map(|m| {
            let specs: Vec<FieldSpec> = m.skeleton.fields.iter().map(|f| f.spec.clone()).collect();
            let n_events = m.skeleton.n_events;
            (Just(m), range_case(specs, &gen_vocab(), n_events))
        })
        .boxed()
}

fn check_generated(m: &GenModel, case: &RangeCase) -> Result<(), TestCaseError> {
    let text = serde_json::to_string_pretty(&m.doc).unwrap();
    let compiled = compile_str(&text);
    check_compiled(&compiled, Some(&text)).map_err(|e| fail(&m.doc, e))?;
    let Some(p) = compiled.program else {
        return Ok(());
    };
    check_completions(&p, case).map_err(|e| fail(format!("model: {}", m.doc), e.to_string()))
}

#[test]
fn generated_models_compile() {
    // Most generated models are valid: otherwise the next property would test little.
    let mut runner = TestRunner::new(config(300));
    let strategy = gen_model(true);
    let (mut ok, mut total) = (0, 0);
    let mut first_error = None;
    for _ in 0..300 {
        let m = strategy.new_tree(&mut runner).unwrap().current();
        let c = compile_value(m.doc.clone());
        total += 1;
        if c.program.is_some() {
            ok += 1;
        } else if first_error.is_none() {
            first_error = Some((m.doc.to_string(), c.diagnostics));
        }
    }
    assert!(ok * 10 >= total * 9, "only {ok} of {total} generated models compile; first error: {first_error:?}");
}

#[test]
fn partial_ranges_contain_every_completion_of_generated_models() {
    check("generated models", 20_000, gen_case(true), |(m, case)| check_generated(&m, &case));
}

/// The property above on models whose steps are always shown.
#[test]
fn partial_ranges_contain_every_completion_of_generated_models_with_steps_always_shown() {
    check("generated models", 10_000, gen_case(false), |(m, case)| check_generated(&m, &case));
}

/// The smallest failing input of the property above: the step `s0` may be shown (`b` is unanswered), so `c`
/// may be answered, so `m` may be shown and answered, and the rule may give 10 points.
#[test]
fn undecided_step_keeps_later_fields_open() {
    let doc = json!({
        "leadscore": 1, "id": "m",
        "fields": [{"id": "b", "type": "boolean"}, {"id": "c", "type": "boolean"}, {"id": "m", "type": "boolean", "visible_if": "answered(c)"}],
        "steps": [{"id": "s0", "fields": ["c"], "visible_if": "b"}, {"id": "s1", "fields": ["m"]}],
        "rules": [{"id": "r", "group": "fit", "when": "m", "points": 10}],
        "stages": [{"id": "default"}],
    });
    let p = compile_value(doc).program.expect("compiles");
    let case = RangeCase {
        full: vec![Some(json!(true)), Some(json!(true)), Some(json!(true))],
        events: vec![],
        keep: vec![false; 3],
        mids: vec![vec![false; 3]],
    };
    if let Err(e) = check_completions(&p, &case) {
        panic!("{e}");
    }
}

#[test]
fn evaluate_never_panics_on_generated_models() {
    let strategy = gen_model(true).prop_flat_map(|m| {
        let p = compile_value(m.doc.clone()).program;
        let wild = match &p {
            Some(p) => wild_case(p, &gen_vocab()).prop_map(Some).boxed(),
            None => Just(None).boxed(),
        };
        (Just(m), wild)
    });
    check("generated models", 2000, strategy, |(m, c)| {
        let Some(c) = c else { return Ok(()) };
        let p = compile_value(m.doc.clone()).program.expect("compiles");
        let (answers, events) = wild_input(&p, &c);
        for complete in [true, false] {
            let o = Options { complete, locale: c.locale.clone() };
            let e = p.evaluate(&answers, &events, c.now, &o);
            sane(&p, &e).map_err(|e| fail(&m.doc, e))?;
            let again = p.evaluate(&answers, &events, c.now, &o);
            if serde_json::to_string(&e).unwrap() != serde_json::to_string(&again).unwrap() {
                return Err(fail(&m.doc, "two evaluations differ".into()));
            }
        }
        let _ = p.hints(&answers, &events, c.now);
        round_trips(&p, &c.answers).map_err(|e| fail(&m.doc, e))?;
        Ok(())
    });
}

/// One change to a form in progress.
#[derive(Debug, Clone)]
enum Op {
    Set(usize, Json),
    Text(usize, String),
    Clear(usize),
    Record(usize, f64),
    Now(f64),
}

fn ops(p: &Program, v: &Vocab) -> BoxedStrategy<Vec<Op>> {
    let fields: Vec<FieldSpec> = p.fields.iter().map(FieldSpec::from).collect();
    let n = p.fields.len().max(1);
    let n_events = p.events.len();
    let valid = valid_answers(&fields, v);
    let op = prop_oneof![
        6 => (valid, any::<Index>()).prop_map(move |(vals, i)| {
            let i = i.index(n);
            match vals.get(i).cloned().flatten() {
                Some(v) => Op::Set(i, v),
                None => Op::Clear(i),
            }
        }),
        2 => (any::<Index>(), prop_oneof!["\\PC{0,12}", select(vec!["", "12", "-3", "yes", "it", "x@y.z"]).prop_map(String::from)])
            .prop_map(move |(i, t)| Op::Text(i.index(n), t)),
        1 => any::<Index>().prop_map(move |i| Op::Clear(i.index(n))),
        2 => (0..n_events + 1, -5.0..200.0f64).prop_map(|(e, d)| Op::Record(e, NOW - d * DAY_MS)),
        1 => (-30.0..30.0f64).prop_map(|d| Op::Now(NOW + d * DAY_MS)),
    ];
    proptest::collection::vec(op, 1..40).boxed()
}

#[test]
fn a_session_scores_like_a_fresh_evaluation_after_every_change() {
    for (m, p) in programs() {
        check(&format!("examples/{}", m.name), 1500, ops(p, &m.vocab), |ops| {
            let mut s = leadscore::Session::new(p, NOW);
            for (k, op) in ops.iter().enumerate() {
                match op {
                    Op::Set(i, v) => drop(s.set_json(*i, v)),
                    Op::Text(i, t) => drop(s.set_text(*i, t)),
                    Op::Clear(i) => s.clear(*i),
                    Op::Record(e, at) => drop(s.record(*e, *at)),
                    Op::Now(t) => s.set_now(*t),
                }
                let fresh = p.score(s.answers(), s.events(), s.now());
                let got = s.score().clone();
                let same = got.total.to_bits() == fresh.total.to_bits()
                    && got.stage == fresh.stage
                    && got.knockout == fresh.knockout
                    && got.groups.iter().map(|g| g.to_bits()).eq(fresh.groups.iter().map(|g| g.to_bits()));
                if !same {
                    return Err(fail(
                        format!("after change {k} ({op:?})"),
                        format!("session {got:?}, fresh {fresh:?}"),
                    ));
                }
                // The fired rules are the ledger of a complete evaluation (checked on every 4th change: the
                // evaluation costs more than the score).
                if k % 4 == 0 {
                    let opts = leadscore::Options { complete: true, ..Default::default() };
                    let ledger: Vec<String> = p
                        .evaluate(s.answers(), s.events(), s.now(), &opts)
                        .ledger
                        .into_iter()
                        .map(|l| l.rule)
                        .collect();
                    let fired: Vec<String> = s.fired().map(|i| p.rules[i].id.clone()).collect::<Vec<_>>();
                    if fired != ledger {
                        return Err(fail(
                            format!("after change {k} ({op:?})"),
                            format!("fired {fired:?}, ledger {ledger:?}"),
                        ));
                    }
                }
            }
            Ok(())
        });
    }
}

// -------------------------------------------------------------------------------------------------------
// The binary form.

/// The decoded examples evaluate exactly like the compiled ones, on valid answers and events.
#[test]
fn decoded_examples_evaluate_like_the_originals() {
    for (m, p) in programs() {
        let q = Program::from_bytes(&p.to_bytes()).expect("decodes");
        let fields: Vec<FieldSpec> = p.fields.iter().map(FieldSpec::from).collect();
        let strategy = (valid_answers(&fields, &m.vocab), event_list(p.events.len()), any::<bool>());
        check(&format!("examples/{}", m.name), 300, strategy, |(valid, events, complete)| {
            let (answers, events) = (answers_of(p, &valid)?, events_of(p, &events));
            let a = serde_json::to_string(&p.evaluate(&answers, &events, NOW, &opts(complete))).unwrap();
            let b = serde_json::to_string(&q.evaluate(&answers, &events, NOW, &opts(complete))).unwrap();
            if a != b || p.score(&answers, &events, NOW) != q.score(&answers, &events, NOW) {
                return Err(fail(answers_json(p, &valid), format!("decoded: {b}\n  compiled: {a}")));
            }
            Ok(())
        });
    }
}

/// One edit of an encoded program.
#[derive(Debug, Clone)]
enum ByteEdit {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
}

fn edit_bytes(bytes: &mut Vec<u8>, e: &ByteEdit) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *e {
        ByteEdit::Flip(i, bit) => bytes[i.index(n)] ^= 1 << (bit % 8),
        ByteEdit::Set(i, b) => bytes[i.index(n)] = b,
        ByteEdit::Insert(i, b) => bytes.insert(i.index(n + 1), b),
        ByteEdit::Delete(i) => drop(bytes.remove(i.index(n))),
        ByteEdit::Truncate(i) => bytes.truncate(i.index(n)),
    }
}

fn byte_edit() -> BoxedStrategy<ByteEdit> {
    let byte = prop_oneof![any::<u8>(), select(vec![0u8, 1, 2, 0x7f, 0x80, 0xff])];
    prop_oneof![
        4 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Flip(i, b)),
        3 => (any::<Index>(), byte.clone()).prop_map(|(i, b)| ByteEdit::Set(i, b)),
        2 => (any::<Index>(), byte).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        2 => any::<Index>().prop_map(ByteEdit::Delete),
        1 => any::<Index>().prop_map(ByteEdit::Truncate),
    ]
    .boxed()
}

/// A program that decoded from any bytes: everything that takes a program works, without panicking, and keeps
/// its promises (sane scores; a session scores like a fresh evaluation).
fn use_decoded(p: &Program, answers: &Json) -> Result<(), String> {
    let _ = p.to_string();
    if Program::from_bytes(&p.to_bytes()).is_err() {
        return Err("the decoded program does not encode and decode again".into());
    }
    evaluate_some(p, answers)?;
    let (a, _) = Answers::from_json(p, answers);
    let (e, _) = Events::from_json(p, &json!([{"type": "page_view", "at": NOW}]));
    let _ = p.hints(&a, &e, NOW);
    let claim = leadscore::Claim { answers: answers.clone(), score: Some(1.0), ..Default::default() };
    let _ = p.verify(&claim, &leadscore::VerifyOptions::default());
    let _ = leadscore::analyze::bounds(p);
    let mut s = leadscore::Session::new(p, NOW);
    for (i, f) in p.fields.iter().enumerate() {
        let _ = s.set_json(i, answers.get(&f.id).unwrap_or(&Json::Null));
        if i == 0 {
            let _ = s.record(0, NOW - DAY_MS);
        }
        let fresh = p.score(s.answers(), s.events(), s.now());
        if *s.score() != fresh {
            return Err(format!(
                "after setting `{}`, the session scores {:?}, a fresh score {fresh:?}",
                f.id,
                s.score()
            ));
        }
    }
    let _ = s.evaluate(&opts(false));
    let (a, _) = Answers::from_json(p, answers);
    scores_alike(p, &mut p.scorer(), &a, &e, NOW)?;
    Ok(())
}

/// An encoded program's content (without its rules hash) with the rules hash the format defines appended: FNV-1a
/// 64 of everything after the four magic bytes, as a string of 16 hex digits. Edits then reach the checks after
/// the hash's (which refuses any edited program whose hash was not written again).
fn with_hash(content: &[u8]) -> Vec<u8> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in content.get(4..).unwrap_or_default() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    [content, &[16], format!("{h:016x}").as_bytes()].concat()
}

/// Edited encodings of the examples, their hash written again: decoding never panics, and what it accepts is
/// safe to use.
#[test]
fn decode_never_panics_on_edited_encodings() {
    for (m, p) in programs() {
        let encoded = p.to_bytes();
        assert_eq!(with_hash(&encoded[..encoded.len() - 17]), encoded, "the hash is the format's");
        let bytes = encoded[..encoded.len() - 17].to_vec();
        let fields: Vec<FieldSpec> = p.fields.iter().map(FieldSpec::from).collect();
        let strategy = (proptest::collection::vec(byte_edit(), 1..4), valid_answers(&fields, &m.vocab));
        check(&format!("examples/{}", m.name), 3000, strategy, |(edits, valid)| {
            let mut b = bytes.clone();
            for e in &edits {
                edit_bytes(&mut b, e);
            }
            if let Ok(q) = Program::from_bytes(&with_hash(&b)) {
                use_decoded(&q, &answers_json(p, &valid)).map_err(|e| fail(format!("{edits:?}"), e))?;
            }
            Ok(())
        });
    }
}

proptest! {
    #![proptest_config(config(20_000))]

    /// Random bytes, bare or after the magic bytes: decoding never panics.
    #[test]
    fn decode_never_panics_on_random_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        magic in any::<bool>(),
    ) {
        let b = if magic { [&b"LSP\x02"[..], &bytes].concat() } else { bytes };
        if let Ok(p) = Program::from_bytes(&b) {
            use_decoded(&p, &json!({})).map_err(TestCaseError::fail)?;
        }
    }
}

// -------------------------------------------------------------------------------------------------------
// The scorer of submitted leads (typed code, with the general evaluator where it bails out) gives the general
// evaluator's score, bit for bit.

/// `scorer` (which may have scored other leads before) and [`Program::score_with_rules`] agree on one lead.
fn scores_alike(p: &Program, scorer: &mut leadscore::Scorer, a: &Answers, e: &Events, now: f64) -> Result<(), String> {
    let mut flags = vec![];
    let want = p.score_with_rules(a, e, now, &mut flags);
    let got = scorer.score(a, e, now).clone();
    let bits = |s: &leadscore::Score| (s.total.to_bits(), s.groups.iter().map(|g| g.to_bits()).collect::<Vec<_>>());
    if bits(&got) != bits(&want) || got.stage != want.stage || got.knockout != want.knockout {
        return Err(format!("the scorer gives {got:?}, the general evaluator {want:?}"));
    }
    let fired: Vec<usize> = scorer.fired().collect();
    let want_fired: Vec<usize> = flags.iter().enumerate().filter(|(_, &f)| f).map(|(i, _)| i).collect();
    if fired != want_fired {
        return Err(format!("the scorer says rules {fired:?} fired, the general evaluator {want_fired:?}"));
    }
    let general = scorer.score_general(a, e, now).clone();
    if bits(&general) != bits(&want) || general != want {
        return Err(format!("the scorer's reference gives {general:?}, the general evaluator {want:?}"));
    }
    Ok(())
}

#[test]
fn the_scorer_scores_like_the_general_evaluator() {
    for (m, p) in programs() {
        let fields: Vec<FieldSpec> = p.fields.iter().map(FieldSpec::from).collect();
        // One scorer for all the cases: nothing of one lead may leak into the next.
        let scorer = std::cell::RefCell::new(p.scorer());
        let strategy = (wild_case(p, &m.vocab), valid_answers(&fields, &m.vocab), event_list(p.events.len()));
        check(&format!("examples/{}", m.name), 3000, strategy, |(c, valid, events)| {
            let (answers, wild_events) = wild_input(p, &c);
            let mut scorer = scorer.borrow_mut();
            scores_alike(p, &mut scorer, &answers, &wild_events, c.now).map_err(|e| fail(&c.answers, e))?;
            let (answers, events) = (answers_of(p, &valid)?, events_of(p, &events));
            scores_alike(p, &mut scorer, &answers, &events, NOW).map_err(|e| fail(answers_json(p, &valid), e))
        });
    }
    let strategy = gen_model(true).prop_flat_map(|m| {
        let p = compile_value(m.doc.clone()).program;
        let wild = match &p {
            Some(p) => {
                let fields: Vec<FieldSpec> = p.fields.iter().map(FieldSpec::from).collect();
                (wild_case(p, &gen_vocab()), valid_answers(&fields, &gen_vocab()), event_list(p.events.len()))
                    .prop_map(Some)
                    .boxed()
            }
            None => Just(None).boxed(),
        };
        (Just(m), wild)
    });
    check("generated models", 6000, strategy, |(m, c)| {
        let Some((c, valid, events)) = c else { return Ok(()) };
        let p = compile_value(m.doc.clone()).program.expect("compiles");
        let mut scorer = p.scorer();
        let (answers, wild_events) = wild_input(&p, &c);
        scores_alike(&p, &mut scorer, &answers, &wild_events, c.now).map_err(|e| fail(&m.doc, e))?;
        let (answers, events) = (answers_of(&p, &valid)?, events_of(&p, &events));
        scores_alike(&p, &mut scorer, &answers, &events, NOW).map_err(|e| fail(&m.doc, e))
    });
}

/// A backtest of any history never panics, and its report adds up: the shipped history's first rows with
/// random edits (bytes replaced, cells emptied, lines cut), read as CSV.
#[test]
fn a_backtest_of_any_history_adds_up() {
    let text = include_str!("../examples/history/b2b-saas.csv");
    let head: String = text.lines().take(40).collect::<Vec<_>>().join("\n");
    let p = compile_str(include_str!("../examples/b2b-saas.json")).program.expect("compiles");
    let edits = proptest::collection::vec((any::<Index>(), any::<u8>()), 0..40);
    check("backtest of an edited history", 64, edits, |edits| {
        let mut bytes = head.clone().into_bytes();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            match b % 4 {
                0 => bytes[i] = b',',
                1 => bytes[i] = b'\n',
                2 => bytes[i] = b,
                _ => {
                    bytes.remove(i);
                }
            }
        }
        let Ok(mut reader) =
            leadscore::leads::Reader::new(&bytes[..], leadscore::leads::Format::Csv, &p, &["outcome", "scored_at"])
        else {
            return Ok(());
        };
        let mut bt = leadscore::backtest::Backtest::new(&p, &[]);
        let mut rows = 0;
        while let Some(item) = reader.next_lead(&p) {
            rows += 1;
            bt.add_read(&p, item, NOW);
        }
        let r = bt.report(&p, None);
        prop_assert_eq!(r.rows, rows);
        prop_assert_eq!(r.won + r.lost + r.open, r.scored);
        prop_assert_eq!(r.stages.iter().map(|s| s.count).sum::<u64>(), r.scored);
        prop_assert_eq!(r.histogram.bins.iter().map(|b| b.won + b.lost + b.open).sum::<u64>(), r.scored);
        for t in &r.thresholds {
            let s = t.current_at;
            prop_assert!(s.precision.is_none_or(|x| (0.0..=1.0).contains(&x)));
            prop_assert!(s.recall.is_none_or(|x| (0.0..=1.0).contains(&x)));
            prop_assert!(s.won <= s.count);
        }
        Ok(())
    });
}

// -------------------------------------------------------------------------------------------------------
// Reading NDJSON: the native fast path (straight into answers and events) gives what reading each line as a
// `serde_json::Value` gives, on every example model, for lines of any shape.

/// One NDJSON line: an id, answers (nested, or flat at the top level), events with times as numbers or as RFC 3339
/// text, an extra key, and sometimes a key given twice, an escape, or bytes after the object.
fn ndjson_line(p: &Program, v: &Vocab) -> BoxedStrategy<String> {
    let id = prop_oneof![
        Just(None),
        Just(Some(Json::Null)),
        "\\PC{0,8}".prop_map(|s| Some(Json::String(s))),
        arb_number().prop_map(Some),
        any::<bool>().prop_map(|b| Some(Json::Bool(b))),
    ];
    let text_times = prop_oneof![
        3 => Just(false),
        1 => Just(true),
    ];
    let outcome = prop_oneof![
        Just(None),
        arb_json().prop_map(Some),
        select(vec![json!(" won "), json!("lost"), json!(""), json!(" "), json!(1.5), json!(true)]).prop_map(Some),
    ];
    (id, wild_answers(p, v), wild_events(p), text_times, outcome, 0..8usize)
        .prop_map(|(id, answers, events, text_times, outcome, shape)| {
            let events = match events {
                // Some times as RFC 3339 text, as an export writes them.
                Json::Array(items) if text_times => Json::Array(
                    items
                        .into_iter()
                        .map(|mut e| {
                            if let Some(ms) = e.get("at").and_then(Json::as_f64) {
                                if let Ok(t) = jiff::Timestamp::from_millisecond(ms as i64) {
                                    e["at"] = json!(t.to_string());
                                }
                            }
                            e
                        })
                        .collect(),
                ),
                e => e,
            };
            let mut line = serde_json::Map::new();
            if let Some(id) = id {
                line.insert("id".into(), id);
            }
            if let Some(o) = outcome {
                line.insert("outcome".into(), o);
            }
            if shape == 1 {
                // The flat form.
                if let Json::Object(a) = answers {
                    line.extend(a);
                }
            } else {
                line.insert("answers".into(), answers);
                line.insert("events".into(), events);
            }
            let text = Json::Object(line).to_string();
            match shape {
                // A key given twice.
                2 => text.replacen('{', r#"{"answers": {}, "#, 1),
                // Bytes after the object.
                3 => format!("{text} x"),
                // A string with an escape.
                4 => text.replacen(":\"", ":\"\\u0041", 1),
                _ => text,
            }
        })
        .boxed()
}

#[test]
fn ndjson_read_fast_gives_what_reading_values_gives() {
    for (m, p) in programs() {
        let lines = proptest::collection::vec(ndjson_line(p, &m.vocab), 1..6);
        check(&format!("NDJSON leads of examples/{}", m.name), 1500, lines, |lines| {
            let text = lines.join("\n");
            let read = |fast: bool| {
                let mut r =
                    leadscore::leads::Reader::new(text.as_bytes(), leadscore::leads::Format::Ndjson, p, &["outcome"])
                        .expect("opens");
                if !fast {
                    r.read_values_only();
                }
                let mut out = vec![];
                while let Some(item) = r.next_lead(p) {
                    out.push(item.map(|l| (l.id, l.line, l.offset, l.answers, l.events, l.issues, l.extra)));
                }
                out
            };
            let (fast, values) = (read(true), read(false));
            if fast != values {
                return Err(fail(&text, format!("fast: {fast:?}\nvalues: {values:?}")));
            }
            Ok(())
        });
    }
}

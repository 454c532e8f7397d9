//! Data-driven tests: every `tests/cases/*.json` file is a model (inline or an example file) and a list of
//! cases, each with answers, events and the expected part of the evaluation. One function runs them all.
//!
//! A case file:
//! ```json
//! { "model": { ... } | "model_file": "examples/b2b-saas.json",
//!   "now": 1795392000000,
//!   "diagnostics": [ {"code": "type", "pointer": "/rules/0/when", "severity": "error"} ],
//!   "cases": [ { "name": "...", "answers": {...} | "form": [["name", "value"], ...], "events": [{"type": "page_view", "days_ago": 3}],
//!                "complete": true, "expect": { ...subset of the evaluation... },
//!                "hints": { ...subset of the hints... },
//!                "leave": { "step": "about", "early_finish": false,
//!                           "expect": {"go": "company", "skipped": []} | {"knockout": "student"} | {"finish": true, "skipped": []} } } ] }
//! ```
//! `leave` is the form controller's decision on leaving a step (`Program::leave_step`), compared exactly.
//! `expect` matches when every key it names has the same value in the result (objects recursively; arrays
//! element by element and of the same length; numbers within 1e-9).
//!
//! Every program that compiles also goes through its binary form (`Program::to_bytes`, `from_bytes`): the
//! decoded program must have the same hash and disassembly, and evaluate, score and hint exactly alike.

use std::path::{Path, PathBuf};

use leadscore::program::Program;
use leadscore::{Answers, Events, Leave, Options, DAY_MS};
use serde_json::Value as Json;

/// 2026-11-23T00:00:00Z
const NOW: f64 = 1_795_392_000_000.0;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn subset(actual: &Json, expected: &Json, path: &str, errors: &mut Vec<String>) {
    match (actual, expected) {
        (Json::Object(a), Json::Object(e)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => subset(av, ev, &format!("{path}/{k}"), errors),
                    None if ev.is_null() => {}
                    None => errors.push(format!("{path}/{k}: missing, expected {ev}")),
                }
            }
        }
        (Json::Array(a), Json::Array(e)) => {
            if a.len() != e.len() {
                errors.push(format!("{path}: {} items, expected {}: got {actual}", a.len(), e.len()));
                return;
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                subset(av, ev, &format!("{path}/{i}"), errors);
            }
        }
        (Json::Number(a), Json::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap_or(f64::NAN), e.as_f64().unwrap_or(f64::NAN));
            if (a - e).abs() > 1e-9 * e.abs().max(1.0) {
                errors.push(format!("{path}: {a}, expected {e}"));
            }
        }
        (a, e) if a == e => {}
        (a, e) => errors.push(format!("{path}: {a}, expected {e}")),
    }
}

fn run_file(path: &Path) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    let file: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let compiled = match (file.get("model"), file.get("model_file")) {
        (Some(m), _) => leadscore::compile_str(&serde_json::to_string_pretty(m).unwrap()),
        (None, Some(Json::String(f))) => leadscore::compile_str(&std::fs::read_to_string(root().join(f)).unwrap()),
        _ => panic!("{name}: needs `model` or `model_file`"),
    };
    let mut errors = vec![];
    let diags: Vec<Json> = compiled
        .diagnostics
        .iter()
        .map(
            |d| serde_json::json!({"code": d.code, "pointer": d.pointer, "severity": d.severity, "message": d.message}),
        )
        .collect();
    let expected_diags = file.get("diagnostics").cloned().unwrap_or(Json::Array(vec![]));
    subset(&Json::Array(diags.clone()), &expected_diags, &format!("{name} diagnostics"), &mut errors);
    let Some(program) = compiled.program else {
        if file.get("cases").is_some_and(|c| c.as_array().is_some_and(|a| !a.is_empty())) {
            errors.push(format!("{name}: the model has errors: {diags:?}"));
        }
        return errors;
    };
    let decoded = round_trip(&program, &name, &mut errors);
    let now = file.get("now").and_then(Json::as_f64).unwrap_or(NOW);
    for case in file.get("cases").and_then(Json::as_array).into_iter().flatten() {
        let cname = case.get("name").and_then(Json::as_str).unwrap_or("?");
        let label = format!("{name} [{cname}]");
        // Answers as JSON, or as a submitted form's entries `[[name, value], ...]`.
        let (answers, mut issues) = match case.get("form").and_then(Json::as_array) {
            Some(entries) => {
                let pairs: Vec<(&str, &str)> =
                    entries.iter().filter_map(|e| Some((e.get(0)?.as_str()?, e.get(1)?.as_str()?))).collect();
                assert_eq!(pairs.len(), entries.len(), "{label}: a form entry is a [name, value] pair of strings");
                Answers::from_form_entries(&program, pairs)
            }
            None => Answers::from_json(&program, case.get("answers").unwrap_or(&Json::Null)),
        };
        let events_json: Vec<Json> = case
            .get("events")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let mut e = e.clone();
                if let Some(d) = e.get("days_ago").and_then(Json::as_f64) {
                    e["at"] = Json::from(now - d * DAY_MS);
                }
                e
            })
            .collect();
        let (events, more) = Events::from_json(&program, &Json::Array(events_json));
        issues.extend(more);
        let complete = case.get("complete").and_then(Json::as_bool).unwrap_or(true);
        let locale = case.get("locale").and_then(Json::as_str).map(String::from);
        let opts = Options { complete, locale };
        let mut eval = program.evaluate(&answers, &events, now, &opts);
        if let Some(q) = &decoded {
            same_evaluations(&program, q, &answers, &events, now, &opts, &label, &mut errors);
        }
        eval.issues = issues;
        let actual = serde_json::to_value(&eval).unwrap();
        if let Some(exp) = case.get("expect") {
            subset(&actual, exp, &label, &mut errors);
        }
        if let Some(exp) = case.get("hints") {
            let hints = serde_json::to_value(program.hints(&answers, &events, now)).unwrap();
            if let Some(q) = &decoded {
                if serde_json::to_value(q.hints(&answers, &events, now)).unwrap() != hints {
                    errors.push(format!("{label}: the decoded program gives other hints"));
                }
            }
            subset(&hints, exp, &format!("{label} hints"), &mut errors);
        }
        if let Some(leave) = case.get("leave") {
            let id = leave.get("step").and_then(Json::as_str).unwrap_or_default();
            let early = leave.get("early_finish").and_then(Json::as_bool).unwrap_or(false);
            let cur = program.steps.iter().position(|s| s.id == id).unwrap_or_else(|| panic!("{label}: no step {id}"));
            let state = program.form_state(&answers, &events, now);
            let ids = |v: &[usize]| v.iter().map(|&s| program.steps[s].id.clone()).collect::<Vec<_>>();
            let got = match program.leave_step(&answers, &events, now, &state, cur, early) {
                Leave::Go { step, skipped } => {
                    serde_json::json!({"go": program.steps[step].id, "skipped": ids(&skipped)})
                }
                Leave::Knockout(k) => serde_json::json!({"knockout": program.knockouts[k].id}),
                Leave::Finish { skipped } => serde_json::json!({"finish": true, "skipped": ids(&skipped)}),
            };
            if Some(&got) != leave.get("expect") {
                errors.push(format!("{label}: leaving `{id}` gives {got}, expected {:?}", leave.get("expect")));
            }
        }
        // Invariants that hold for every case.
        let lo = eval.range.min.unwrap_or(f64::NEG_INFINITY);
        let hi = eval.range.max.unwrap_or(f64::INFINITY);
        if !(lo - 1e-9 <= eval.score && eval.score <= hi + 1e-9) {
            errors.push(format!("{label}: score {} outside its range {lo}..{hi}", eval.score));
        }
    }
    errors
}

/// The program through its binary form: the same hash and disassembly, and the same bytes again.
fn round_trip(p: &Program, name: &str, errors: &mut Vec<String>) -> Option<Program> {
    let bytes = p.to_bytes();
    let q = match Program::from_bytes(&bytes) {
        Ok(q) => q,
        Err(e) => {
            errors.push(format!("{name}: the encoded program does not decode: {e}"));
            return None;
        }
    };
    if q.hash() != p.hash() || q.to_string() != p.to_string() || q.to_bytes() != bytes {
        errors.push(format!("{name}: the decoded program differs:\n{q}\nexpected:\n{p}"));
    }
    Some(q)
}

/// The decoded program `q` evaluates like `p`, complete and in progress, and scores alike.
#[allow(clippy::too_many_arguments)]
fn same_evaluations(
    p: &Program,
    q: &Program,
    answers: &Answers,
    events: &Events,
    now: f64,
    opts: &Options,
    label: &str,
    errors: &mut Vec<String>,
) {
    for complete in [opts.complete, !opts.complete] {
        let opts = Options { complete, ..opts.clone() };
        let a = serde_json::to_string(&p.evaluate(answers, events, now, &opts)).unwrap();
        let b = serde_json::to_string(&q.evaluate(answers, events, now, &opts)).unwrap();
        if a != b {
            errors.push(format!(
                "{label}: the decoded program evaluates differently (complete: {complete})\n{b}\nexpected:\n{a}"
            ));
        }
    }
    if p.score(answers, events, now) != q.score(answers, events, now) {
        errors.push(format!("{label}: the decoded program scores differently"));
    }
}

#[test]
fn cases() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = vec![];
    let mut count = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let v: Json = serde_json::from_str(&text).unwrap();
        count += v.get("cases").and_then(Json::as_array).map_or(0, Vec::len);
        failures.extend(run_file(f));
    }
    assert!(
        failures.is_empty(),
        "{} failure(s) in {} files / {count} cases:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    eprintln!("{} case files, {count} cases", files.len());
}

/// Every rules document in `tests/diagnostics/` renders its diagnostics as the snapshot says.
#[test]
fn diagnostics() {
    insta::glob!("diagnostics/*.json", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let compiled = leadscore::compile_str(&text);
        let name = path.file_name().unwrap().to_string_lossy();
        let rendered = leadscore::diagnostic::render(&compiled.diagnostics, &text, &name);
        insta::assert_snapshot!(rendered);
    });
}

/// Every shipped example compiles without errors or warnings.
#[test]
fn examples_compile_cleanly() {
    for e in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let compiled = leadscore::compile_str(&text);
            let rendered = leadscore::diagnostic::render(&compiled.diagnostics, &text, &path.display().to_string());
            assert!(compiled.diagnostics.is_empty(), "{rendered}");
        }
    }
}

/// Every shipped example goes through its binary form and comes back the same program: hash, disassembly,
/// and evaluation of an empty form (generated leads: `tests/properties.rs`).
#[test]
fn examples_round_trip_through_bytes() {
    for e in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let p = leadscore::compile_str(&std::fs::read_to_string(&path).unwrap()).program.unwrap();
            let name = path.display().to_string();
            let mut errors = vec![];
            if let Some(q) = round_trip(&p, &name, &mut errors) {
                let (answers, events) = (Answers::new(&p), Events::new(&p));
                same_evaluations(&p, &q, &answers, &events, NOW, &Options::default(), &name, &mut errors);
            }
            assert!(errors.is_empty(), "{}", errors.join("\n"));
        }
    }
}

/// The rules hash depends on the content, not on formatting or key order.
#[test]
fn rules_hash_ignores_formatting_but_not_content() {
    let text = std::fs::read_to_string(root().join("examples/b2b-saas.json")).unwrap();
    let hash = |t: &str| leadscore::compile_str(t).program.unwrap().hash().to_string();
    let original = hash(&text);
    assert_eq!(original.len(), 16);
    let value: Json = serde_json::from_str(&text).unwrap();
    // Compact, and with every object's keys in reverse order.
    fn reverse(v: &Json) -> String {
        match v {
            Json::Object(m) => {
                let items: Vec<String> =
                    m.iter().rev().map(|(k, v)| format!("{}:{}", Json::from(k.as_str()), reverse(v))).collect();
                format!("{{{}}}", items.join(","))
            }
            Json::Array(a) => format!("[{}]", a.iter().map(reverse).collect::<Vec<_>>().join(",")),
            other => other.to_string(),
        }
    }
    assert_eq!(hash(&reverse(&value)), original);
    assert_eq!(hash(&serde_json::to_string(&value).unwrap()), original);
    let changed = text.replacen("\"points\": 15", "\"points\": 16", 1);
    assert_ne!(changed, text);
    assert_ne!(hash(&changed), original);
}

/// `evaluate_json` reports bad input by field and scores the rest.
#[test]
fn evaluate_json_merges_input_issues() {
    let text = std::fs::read_to_string(root().join("examples/b2b-saas.json")).unwrap();
    let program = leadscore::compile_str(&text).program.unwrap();
    let answers = serde_json::json!({"employees": "many", "country": "IT", "nope": 1, "email": "x".repeat(100_000)});
    let events =
        serde_json::json!([{"type": "page_view", "at": NOW}, {"type": "teleport", "at": NOW}, {"at": "yesterday"}]);
    let e = program.evaluate_json(&answers, &events, NOW, &Options::default());
    let mut fields: Vec<(&str, &str)> = e.issues.iter().map(|i| (i.field.as_str(), i.code)).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("", "type"),
            ("email", "too_long"),
            ("employees", "type"),
            ("nope", "unknown_field"),
            ("teleport", "unknown_event")
        ]
    );
    assert!(e.score.is_finite());
}

/// Every limit is an error with code `limit` at the right place, not a crash or a slow compile.
#[test]
fn limits_are_errors_with_pointers() {
    let doc = |extra: serde_json::Value| {
        let mut d = serde_json::json!({
            "leadscore": 1, "id": "limits",
            "fields": [{"id": "n", "type": "number"}],
            "stages": [{"id": "lead"}]
        });
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        leadscore::compile_str(&serde_json::to_string(&d).unwrap())
    };
    let limit_at = |c: &leadscore::Compiled| -> Vec<String> {
        c.diagnostics
            .iter()
            .filter(|d| d.code == leadscore::diagnostic::Code::Limit)
            .map(|d| d.pointer.clone())
            .collect()
    };
    let rules: Vec<Json> =
        (0..2001).map(|i| serde_json::json!({"id": format!("r{i}"), "group": "fit", "points": 1})).collect();
    assert_eq!(limit_at(&doc(serde_json::json!({"rules": rules}))), ["/rules"]);
    let items: Vec<Json> = (0..10_001).map(|i| Json::from(format!("d{i}.com"))).collect();
    assert_eq!(limit_at(&doc(serde_json::json!({"lists": {"big": items}}))), ["/lists/big"]);
    let mut stages: Vec<Json> =
        (0..100).map(|i| serde_json::json!({"id": format!("s{i}"), "when": format!("score >= {}", 200 - i)})).collect();
    stages.push(serde_json::json!({"id": "lead"}));
    assert_eq!(limit_at(&doc(serde_json::json!({"stages": stages}))), ["/stages"]);
    assert_eq!(limit_at(&doc(serde_json::json!({"stages": stages[1..]}))), Vec::<String>::new(), "100 stages");
    let mut bands: Vec<Json> =
        (0..100).map(|i| serde_json::json!({"label": format!("b{i}"), "min": 200 - i})).collect();
    bands.push(serde_json::json!({"label": "last"}));
    assert_eq!(limit_at(&doc(serde_json::json!({"grade": {"group": "fit", "bands": bands}}))), ["/grade/bands"]);
    let long = "n + ".repeat(1200) + "n";
    let c = doc(serde_json::json!({"rules": [{"id": "r", "group": "fit", "points": long}]}));
    assert!(
        c.diagnostics.iter().any(|d| d.pointer == "/rules/0/points" && d.message.contains("the limit is 4000")),
        "{:?}",
        c.diagnostics
    );
    let deep = "(".repeat(70) + "n" + &")".repeat(70);
    let c = doc(serde_json::json!({"rules": [{"id": "r", "group": "fit", "points": deep}]}));
    assert!(c.diagnostics.iter().any(|d| d.pointer == "/rules/0/points" && d.message.contains("more than 64 levels")));
    let big = format!("{{\"leadscore\": 1, \"id\": \"{}\"}}", "x".repeat(1 << 20));
    assert_eq!(limit_at(&leadscore::compile_str(&big)), [""]);
    let options: Vec<Json> = (0..65).map(|i| Json::from(format!("o{i}"))).collect();
    let c = doc(serde_json::json!({"fields": [{"id": "m", "type": "multi", "options": options}]}));
    assert_eq!(limit_at(&c), ["/fields/0/options"]);
}

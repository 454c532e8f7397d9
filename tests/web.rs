//! The JS binding, tested in a real browser (headless Chromium through chromedriver):
//! `cargo test --target wasm32-unknown-unknown --no-default-features --test web`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Object, Reflect, JSON};
use leadscore::web::{check, Scorer};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const B2B: &str = include_str!("../examples/b2b-saas.json");
/// 2026-11-23T00:00:00Z
const NOW: f64 = 1_795_392_000_000.0;

/// A number and a string as the exports take them (JS values, checked inside).
fn num(x: f64) -> leadscore::web::JsNum {
    JsValue::from_f64(x).unchecked_into()
}

fn text(s: &str) -> leadscore::web::JsStr {
    JsValue::from_str(s).unchecked_into()
}

fn js(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON parses")
}

fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |v, k| match k.parse::<u32>() {
        Ok(i) => Reflect::get_u32(&v, i).unwrap_or(JsValue::UNDEFINED),
        Err(_) => Reflect::get(&v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED),
    })
}

fn is_plain_object(v: &JsValue) -> bool {
    v.is_object() && Object::get_prototype_of(v) == Object::get_prototype_of(&Object::new())
}

fn scorer() -> Scorer {
    Scorer::new(JsValue::from_str(B2B).unchecked_into()).expect("the B2B example compiles")
}

#[wasm_bindgen_test]
fn a_document_that_does_not_compile_throws_an_error_with_every_diagnostic() {
    let doc = r#"{"leadscore": 1, "id": "x",
 "fields": [{"id": "employees", "type": "integer"}],
 "rules": [{"id": "a", "group": "fit", "when": "employes > 5", "points": 1},
           {"id": "b", "group": "fit", "when": "employees >", "points": 1}],
 "stages": [{"id": "lead"}]}"#;
    let err = match Scorer::new(JsValue::from_str(doc).unchecked_into()) {
        Ok(_) => panic!("compiled a document with two errors"),
        Err(e) => e,
    };
    assert!(err.is_instance_of::<js_sys::Error>(), "thrown value is an Error");
    assert_eq!(get(&err, "name").as_string().as_deref(), Some("LeadscoreError"));
    let diags: Array = get(&err, "diagnostics").dyn_into().expect("diagnostics is an array");
    assert_eq!(diags.length(), 2);
    let first = diags.get(0);
    assert_eq!(get(&first, "code").as_string().as_deref(), Some("unknown_name"));
    assert_eq!(get(&first, "pointer").as_string().as_deref(), Some("/rules/0/when"));
    assert_eq!(get(&first, "line").as_f64(), Some(3.0));
    let line3 = doc.lines().nth(2).unwrap();
    assert_eq!(get(&first, "column").as_f64(), Some((line3.find("employes").unwrap() + 1) as f64));
    assert_eq!(get(&diags.get(1), "code").as_string().as_deref(), Some("expr_syntax"));
    let message = get(&err, "message").as_string().unwrap();
    assert!(message.contains("/rules/0/when") && message.contains("1 more"), "{message}");
}

#[wasm_bindgen_test]
fn positions_count_utf16_code_units_like_js_strings() {
    // "😀" is 2 UTF-16 code units and 4 UTF-8 bytes; "é" is 1 and 2.
    let doc = "{\"leadscore\": 1, \"id\": \"é😀\", \"title\": \"😀😀\", \"fields\": [{\"id\": \"a\", \"type\": \"integr\"}], \"stages\": [{\"id\": \"lead\"}]}";
    let diags: Array = check(JsValue::from_str(doc).unchecked_into()).unwrap().unchecked_into();
    assert_eq!(diags.length(), 1);
    let d = diags.get(0);
    assert_eq!(get(&d, "pointer").as_string().as_deref(), Some("/fields/0/type"));
    let at = doc.find("\"integr\"").unwrap();
    let units = doc[..at].encode_utf16().count() as f64;
    assert_eq!(get(&d, "start").as_f64(), Some(units));
    assert_eq!(get(&d, "column").as_f64(), Some(units + 1.0));
    assert_eq!(get(&d, "end").as_f64(), Some(units + "\"integr\"".len() as f64));
}

#[wasm_bindgen_test]
fn check_never_throws_on_garbage_and_accepts_objects() {
    for text in ["", "{", "[1,2", "null", "\u{0}", "{\"leadscore\": 1}"] {
        let d: Array = check(JsValue::from_str(text).unchecked_into()).expect("check does not throw").unchecked_into();
        assert!(d.length() > 0, "{text:?} has diagnostics");
    }
    let ok: Array = check(js(B2B).unchecked_into()).unwrap().unchecked_into();
    let errors = ok.iter().filter(|d| get(d, "severity").as_string().as_deref() == Some("error")).count();
    assert_eq!(errors, 0, "the B2B example as an object compiles");
    assert!(check(JsValue::from_f64(3.0).unchecked_into()).is_err(), "a number is not a rules document");
}

#[wasm_bindgen_test]
fn evaluate_returns_plain_objects_with_the_whole_evaluation() {
    let s = scorer();
    let answers = js(r#"{"job_title": "VP Marketing", "seniority": "vp", "employees": 420, "industry": "fintech",
        "country": "DE", "email": "m@zahlwerk.de", "budget_monthly": 2500, "timeline": "now", "decision_maker": true,
        "use_case": "own_company", "employees_typo": 3, "annual_revenue": "lots"}"#);
    let events = js(&format!(
        r#"[{{"type": "pricing_view", "at": {}}}, {{"type": "demo_request", "at": {NOW}}}]"#,
        NOW - 86_400_000.0
    ));
    let e = s.evaluate(answers.unchecked_into(), Some(events.unchecked_into()), Some(num(NOW)), None).unwrap();
    let e: JsValue = e.into();
    assert!(is_plain_object(&e), "the result is a plain object, not a Map");
    assert!(is_plain_object(&get(&e, "ledger.0.inputs")), "nested maps are plain objects");
    assert!(get(&e, "score").as_f64().unwrap() > 0.0);
    assert!(Array::is_array(&get(&e, "groups")));
    assert!(get(&e, "stage.id").is_string());
    assert!(get(&e, "flow.steps").is_object());
    assert!(get(&e, "hints.stage").is_string(), "hints are included by default");
    assert_eq!(get(&e, "rules_hash").as_string(), Some(s.hash()));
    let issues: Array = get(&e, "issues").unchecked_into();
    let fields: Vec<String> = issues.iter().filter_map(|i| get(&i, "field").as_string()).collect();
    assert_eq!(fields, ["annual_revenue", "employees_typo"], "bad answers are reported by field");
}

#[wasm_bindgen_test]
fn a_session_follows_one_answer_at_a_time() {
    let s = scorer();
    let mut session = s.session(Some(num(NOW))).unwrap();
    assert_eq!(session.total(), 0.0);
    let employees = session.field_index(text("employees")).unwrap();
    assert!(employees >= 0);
    assert!(session.set_number(num(employees.into()), num(420.0)).unwrap());
    let with_size = session.total();
    assert!(with_size > 0.0, "company size scores");
    assert!(!session.set_number(num(employees.into()), num(1.5)).unwrap(), "an integer field refuses 1.5");
    assert_eq!(session.total(), 0.0, "the refused answer leaves the field unanswered");
    let issue = session.set(JsValue::from_str("employees").unchecked_into(), JsValue::from_f64(420.0).unchecked_into());
    assert!(issue.unwrap().is_undefined());
    assert_eq!(session.total(), with_size);
    let issue: JsValue = session
        .set(JsValue::from_str("industry").unchecked_into(), JsValue::from_str("no such industry").unchecked_into())
        .unwrap()
        .into();
    assert_eq!(get(&issue, "code").as_string().as_deref(), Some("option"));
    assert_eq!(get(&issue, "field").as_string().as_deref(), Some("industry"));
    let unknown: JsValue = session.input(JsValue::from_str("nope").unchecked_into(), text("1")).unwrap().into();
    assert_eq!(get(&unknown, "code").as_string().as_deref(), Some("unknown_field"));
    assert!(session.record(text("pricing_view"), None).unwrap().is_undefined());
    assert!(session.total() > with_size, "an event adds engagement");
    // The session and a fresh evaluation of the same state agree.
    let answers = session.answers();
    let e: JsValue = s
        .evaluate(
            answers,
            Some(js(&format!(r#"[{{"type": "pricing_view", "at": {NOW}}}]"#)).unchecked_into()),
            Some(num(NOW)),
            None,
        )
        .unwrap()
        .into();
    assert_eq!(get(&e, "score").as_f64(), Some(session.total()));
    assert_eq!(get(&e, "stage.id").as_string(), Some(session.stage()));
}

#[wasm_bindgen_test]
fn a_server_finds_a_tampered_claim() {
    let s = scorer();
    let answers =
        js(r#"{"job_title": "CTO", "seniority": "c_level", "employees": 420, "industry": "fintech", "country": "DE"}"#);
    let e: JsValue = s
        .evaluate(
            answers.clone().unchecked_into(),
            None,
            Some(num(NOW)),
            Some(js(r#"{"complete": true, "hints": false}"#).unchecked_into()),
        )
        .unwrap()
        .into();
    let score = get(&e, "score").as_f64().unwrap();
    let claim = Object::new();
    Reflect::set(&claim, &"answers".into(), &answers).unwrap();
    Reflect::set(&claim, &"at".into(), &NOW.into()).unwrap();
    Reflect::set(&claim, &"rules_hash".into(), &s.hash().into()).unwrap();
    Reflect::set(&claim, &"score".into(), &score.into()).unwrap();
    Reflect::set(&claim, &"stage".into(), &get(&e, "stage.id")).unwrap();
    let v: JsValue = s.verify(claim.clone().unchecked_into(), None).unwrap().into();
    assert_eq!(get(&v, "ok").as_bool(), Some(true));
    Reflect::set(&claim, &"score".into(), &(score + 50.0).into()).unwrap();
    let v: JsValue = s.verify(claim.unchecked_into(), None).unwrap().into();
    assert_eq!(get(&v, "ok").as_bool(), Some(false));
    assert_eq!(get(&v, "mismatches.0.what").as_string().as_deref(), Some("score"));
}

#[wasm_bindgen_test]
fn values_json_cannot_hold_are_errors_not_panics() {
    let s = scorer();
    let cyclic = Object::new();
    Reflect::set(&cyclic, &"self".into(), &cyclic).unwrap();
    let err =
        s.evaluate(cyclic.unchecked_into(), None, Some(num(NOW)), None).err().expect("a cyclic object is refused");
    assert!(err.is_instance_of::<js_sys::Error>());
    // After the error, the scorer still works.
    let e: JsValue = s.evaluate(js("{}").unchecked_into(), None, None, None).unwrap().into();
    assert_eq!(get(&e, "score").as_f64(), Some(0.0));
}

#[wasm_bindgen_test]
fn the_model_description_lists_fields_and_options() {
    let m: JsValue = scorer().model(Some(text("it"))).unwrap().into();
    let fields: Array = get(&m, "fields").unchecked_into();
    assert_eq!(fields.length(), 26);
    let industry = fields.iter().find(|f| get(f, "id").as_string().as_deref() == Some("industry")).unwrap();
    assert_eq!(get(&industry, "type").as_string().as_deref(), Some("choice"));
    assert!(Array::from(&get(&industry, "options")).length() > 3);
    assert_eq!(Array::from(&get(&m, "rules")).length(), 38);
}

/// The shipped history of past leads (examples/history/b2b-saas.csv): 1000 rows with an outcome column.
#[cfg(feature = "leads")]
const HISTORY: &str = include_str!("../examples/history/b2b-saas.csv");

#[cfg(feature = "leads")]
#[wasm_bindgen_test]
fn a_backtest_runs_in_steps_and_reports_every_row() {
    use leadscore::web::Backtest;
    let s = scorer();
    let mut bt = Backtest::new(&s, text(HISTORY), None).expect("the history has an outcome column");
    assert_eq!(bt.progress(), 0.0);
    assert!(!bt.step(num(300.0)).unwrap(), "1000 rows are not done in 300");
    assert_eq!(bt.rows(), 300);
    let p = bt.progress();
    assert!(p > 0.2 && p < 0.45, "progress after 300 of 1000 rows: {p}");
    while !bt.step(num(300.0)).unwrap() {}
    assert_eq!((bt.rows(), bt.progress()), (1000, 1.0));
    let r: JsValue = bt.report(None).unwrap().into();
    assert!(is_plain_object(&r));
    assert_eq!(get(&r, "scored").as_f64(), Some(1000.0));
    assert_eq!(get(&r, "errorCount").as_f64(), Some(0.0));
    let won = get(&r, "won").as_f64().unwrap();
    let lost = get(&r, "lost").as_f64().unwrap();
    let open = get(&r, "open").as_f64().unwrap();
    assert_eq!(won + lost + open, 1000.0);
    assert_eq!(get(&r, "thresholds.0.stage").as_string().as_deref(), Some("mql"));
    assert_eq!(get(&r, "thresholds.1.current").as_f64(), Some(80.0));
    // The slider's numbers: the same as the report's at the current threshold.
    let at: JsValue = bt.at(num(80.0)).unwrap().into();
    assert_eq!(get(&at, "count").as_f64(), get(&r, "thresholds.1.currentAt.count").as_f64());
    assert_eq!(get(&at, "precision").as_f64(), get(&r, "thresholds.1.currentAt.precision").as_f64());
}

#[cfg(feature = "leads")]
#[wasm_bindgen_test]
fn a_backtest_without_its_outcome_column_throws_naming_it() {
    use leadscore::web::Backtest;
    let s = scorer();
    let options = js(r#"{"outcome": "result"}"#);
    let err = Backtest::new(&s, text(HISTORY), Some(options.unchecked_into())).err().expect("throws");
    let message = get(&err, "message").as_string().unwrap();
    assert!(message.contains("`result`"), "{message}");
    // Chosen won values, NDJSON and a bad row.
    let ndjson =
        "{\"employees\": 500, \"outcome\": \"Customer\"}\nnot json\n{\"employees\": 5, \"outcome\": \"churned\"}\n";
    let options = js(r#"{"won": ["customer"]}"#);
    let mut bt = Backtest::new(&s, text(ndjson), Some(options.unchecked_into())).expect("reads NDJSON");
    while !bt.step(num(10.0)).unwrap() {}
    let r: JsValue = bt.report(None).unwrap().into();
    assert_eq!((get(&r, "won").as_f64(), get(&r, "lost").as_f64()), (Some(1.0), Some(1.0)));
    assert_eq!(get(&r, "errorCount").as_f64(), Some(1.0));
    assert_eq!(get(&r, "errors.0.line").as_f64(), Some(2.0));
}

#[cfg(feature = "leads")]
#[wasm_bindgen_test]
fn the_planner_gives_the_worked_example_and_names_bad_inputs() {
    use leadscore::web::plan;
    let input = r#"{"goal": 10000000, "dealSize": 50000, "sqlToWon": 25, "mqlToSql": 20, "leadToMql": 10,
                    "visitorToLead": 2, "year": 2027}"#;
    let p: JsValue = plan(js(input).unchecked_into()).expect("plans").into();
    assert_eq!(get(&p, "deals").as_f64(), Some(200.0));
    assert_eq!(get(&p, "sqls").as_f64(), Some(800.0));
    assert_eq!(get(&p, "mqls").as_f64(), Some(4000.0));
    assert_eq!(get(&p, "months.0.month").as_string().as_deref(), Some("2027-01"));
    assert_eq!(get(&p, "months.0.workingDays").as_f64(), Some(21.0));
    let bad = r#"{"goal": 10000000, "dealSize": -5, "sqlToWon": 25, "mqlToSql": 200, "leadToMql": 10,
                  "visitorToLead": 2, "year": 2027}"#;
    let err = plan(js(bad).unchecked_into()).err().expect("throws");
    let fields: Vec<String> =
        Array::from(&get(&err, "problems")).iter().map(|p| get(&p, "field").as_string().unwrap_or_default()).collect();
    assert_eq!(fields, ["dealSize", "mqlToSql"]);
    let unknown = r#"{"goal": 1, "dealSize": 1, "sqlToWon": 1, "mqlToSql": 1, "leadToMql": 1, "visitorToLead": 1,
                      "year": 2027, "budget": 5}"#;
    let err = plan(js(unknown).unchecked_into()).err().expect("throws on an unknown input");
    assert!(get(&err, "message").as_string().unwrap().contains("budget"));
    // A value of the wrong type is named by its input.
    let fractional = r#"{"goal": 1, "dealSize": 1, "sqlToWon": 1, "mqlToSql": 1, "leadToMql": 1, "visitorToLead": 1,
                         "year": 2027.5}"#;
    let err = plan(js(fractional).unchecked_into()).err().expect("throws on a fractional year");
    assert_eq!(get(&err, "problems.0.field").as_string().as_deref(), Some("year"));
    assert!(get(&err, "message").as_string().unwrap().contains("year: invalid type"), "{:?}", get(&err, "message"));
}

#[wasm_bindgen_test]
fn the_analysis_gives_bounds_stage_thresholds_and_warnings() {
    let a: JsValue = scorer().analysis(Some(text("it"))).unwrap().into();
    assert!(is_plain_object(&a));
    assert_eq!(get(&a, "total.max").as_f64(), Some(125.0));
    assert_eq!(get(&a, "groups.0.id").as_string().as_deref(), Some("fit"));
    assert_eq!(get(&a, "groups.0.max").as_f64(), Some(60.0));
    let stages: Array = get(&a, "stages").dyn_into().expect("stages is an array");
    let got: Vec<(String, bool, Option<f64>)> = stages
        .iter()
        .map(|s| {
            (get(&s, "id").as_string().unwrap(), get(&s, "reachable").as_bool().unwrap(), get(&s, "threshold").as_f64())
        })
        .collect();
    let want = [("sql", Some(80.0)), ("mql", Some(45.0)), ("lead", None), ("subscriber", None)];
    assert_eq!(got, want.map(|(id, t)| (id.to_string(), true, t)));
    assert!(get(&stages.get(3), "threshold").is_null());
    assert_eq!(get(&a, "stages.0.label").as_string().as_deref(), Some("Lead qualificato per le vendite"));
    assert_eq!(Array::from(&get(&a, "warnings")).length(), 0);

    // Warnings as `warnings` gives them, placed in the text; found again for a program loaded from bytes.
    let doc = r#"{"leadscore": 1, "id": "k", "fields": [{"id": "country", "type": "country"}],
 "knockouts": [{"id": "embargo", "when": "country in ['XX', 'YY']", "reason": "embargo"},
               {"id": "sanctioned", "when": "country == 'XX'", "reason": "embargo"}],
 "stages": [{"id": "lead"}]}"#;
    let s = Scorer::new(JsValue::from_str(doc).unchecked_into()).expect("compiles");
    let a: JsValue = s.analysis(None).unwrap().into();
    let w = get(&a, "warnings.0");
    assert_eq!(get(&w, "code").as_string().as_deref(), Some("overlapping_knockouts"));
    assert_eq!(get(&w, "pointer").as_string().as_deref(), Some("/knockouts/1/when"));
    assert_eq!(get(&w, "line").as_f64(), Some(3.0));
    assert_eq!(JSON::stringify(&get(&a, "warnings")).unwrap(), JSON::stringify(&s.warnings().into()).unwrap());
    let from_bytes = Scorer::new(js_sys::Uint8Array::from(&s.to_bytes()[..]).unchecked_into()).expect("decodes");
    let w: JsValue = from_bytes.analysis(None).unwrap().into();
    assert_eq!(get(&w, "warnings.0.pointer").as_string().as_deref(), Some("/knockouts/1/when"));
    assert!(get(&w, "warnings.0.line").is_undefined());
}

#[wasm_bindgen_test]
fn answers_from_form_reads_form_data_url_search_params_and_pairs_alike() {
    let s = scorer();
    let make = js_sys::Function::new_no_args(
        "const f = new FormData();
         for (const [k, v] of [['employees', '250'], ['decision_maker', 'on'], ['data_sources', 'bigquery'],
           ['data_sources', 'hubspot'], ['company', ''], ['budget_monthly', 'lots'], ['leadscore_score', '12']])
           f.append(k, v);
         return [f, new URLSearchParams(f), [...f], (function* () { yield* f; })()];",
    );
    let inputs: Array = make.call0(&JsValue::NULL).expect("the inputs are built").dyn_into().expect("an array");
    let mut seen = vec![];
    for input in inputs.iter() {
        let out: JsValue = s.answers_from_form(input.unchecked_into()).expect("entries are read").into();
        let answers = get(&out, "answers");
        assert!(is_plain_object(&answers));
        assert_eq!(get(&answers, "decision_maker").as_bool(), Some(true), "a checkbox posted as on is true");
        assert_eq!(get(&answers, "employees").as_f64(), Some(250.0));
        assert_eq!(get(&answers, "data_sources.1").as_string().as_deref(), Some("hubspot"));
        assert!(get(&answers, "company").is_undefined() && get(&answers, "budget_monthly").is_undefined());
        let issues: Array = get(&out, "issues").dyn_into().expect("issues is an array");
        assert_eq!(issues.length(), 1);
        assert_eq!(get(&issues.get(0), "field").as_string().as_deref(), Some("budget_monthly"));
        assert_eq!(get(&issues.get(0), "code").as_string().as_deref(), Some("type"));
        seen.push(JSON::stringify(&out).unwrap().as_string().unwrap());
        // What evaluate() takes.
        let e: JsValue = s.evaluate(answers.unchecked_into(), None, Some(num(NOW)), None).unwrap().into();
        assert_eq!(get(&e, "issues.length").as_f64(), Some(0.0));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");

    let bad = js_sys::Function::new_no_args(
        "const f = new FormData(); f.append('cv', new File(['x'], 'cv.pdf'));
         return [5, null, {employees: '250'}, [['employees']], [['employees', 250]], [[1, 'x']], f];",
    );
    let bad: Array = bad.call0(&JsValue::NULL).unwrap().dyn_into().unwrap();
    let want = [
        "`entries` must be a FormData",
        "`entries` must be a FormData",
        "`entries` must be a FormData",
        "not a [name, value] pair",
        "not a string",
        "name",
        "file",
    ];
    for (input, want) in bad.iter().zip(want) {
        let err = match s.answers_from_form(input.clone().unchecked_into()) {
            Ok(_) => panic!("read {:?}", JSON::stringify(&input)),
            Err(e) => e,
        };
        assert!(err.is_instance_of::<js_sys::Error>());
        let message = get(&err, "message").as_string().unwrap_or_default();
        assert!(message.starts_with("leadscore: ") && message.contains(want), "{message}");
        assert_eq!(err.is_instance_of::<js_sys::TypeError>(), want.starts_with("`entries`"), "{message}");
    }
}

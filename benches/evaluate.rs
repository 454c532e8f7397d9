//! Benchmarks of the B2B example model: compiling the document, evaluating a submitted lead, evaluating a
//! form in progress (two passes: the score now and the range), and computing hints.

use criterion::{criterion_group, criterion_main, Criterion};
use leadscore::{Answers, Events, Options, DAY_MS};
use serde_json::json;
use std::hint::black_box;

const NOW: f64 = 1_795_392_000_000.0;

fn model() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/b2b-saas.json")).unwrap()
}

fn lead(program: &leadscore::Program) -> (Answers, Events) {
    // A realistic qualified visitor: every field the model asks, answered.
    let mut answers = Answers::new(program);
    for (i, f) in program.fields.iter().enumerate() {
        use leadscore::model::FieldType::*;
        let v = match f.kind {
            Number | Integer => json!(f.min.unwrap_or(0.0).max(250.0).min(f.max.unwrap_or(f64::MAX))),
            String => json!("Head of Marketing Operations"),
            Email => json!("dana.rossi@acme-industries.com"),
            Choice => json!(f.options[f.options.len() / 2].value()),
            Multi => json!([f.options[0].value()]),
            Boolean => json!(true),
            Country => json!("IT"),
        };
        let _ = answers.set_json(program, i, &v);
    }
    let mut events = Events::new(program);
    for e in 0..program.events.len() {
        for k in 0..3 {
            let _ = events.record(e, NOW - (k as f64 * 4.0 + e as f64) * DAY_MS);
        }
    }
    (answers, events)
}

fn bench(c: &mut Criterion) {
    let text = model();
    c.bench_function("compile b2b-saas", |b| b.iter(|| leadscore::compile_str(black_box(&text))));
    let program = leadscore::compile_str(&text).program.unwrap();
    let (answers, events) = lead(&program);
    let complete = Options { complete: true, locale: None };
    let partial = Options { complete: false, locale: None };
    c.bench_function("evaluate complete lead", |b| {
        b.iter(|| program.evaluate(black_box(&answers), &events, NOW, &complete))
    });
    c.bench_function("score complete lead", |b| b.iter(|| program.score(black_box(&answers), &events, NOW)));
    let mut half = answers.clone();
    for i in (0..program.fields.len()).step_by(2) {
        half.clear(i);
    }
    c.bench_function("evaluate form in progress", |b| {
        b.iter(|| program.evaluate(black_box(&half), &events, NOW, &partial))
    });
    c.bench_function("hints form in progress", |b| b.iter(|| program.hints(black_box(&half), &events, NOW)));
}

criterion_group!(benches, bench);
criterion_main!(benches);

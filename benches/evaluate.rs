//! Benchmarks on the shipped examples: compiling each document; on the B2B model, evaluating sample leads
//! from `examples/leads/b2b-saas.ndjson` submitted (full explanation, or the bare score) and in progress
//! (two passes: the score now and the range), and computing hints.

#[path = "hand/b2b.rs"]
mod hand;

use criterion::{criterion_group, criterion_main, Criterion};
use leadscore::{Answers, Events, Options, Program};
use serde_json::Value as Json;
use std::hint::black_box;

/// 2026-11-23T00:00:00Z, the day the sample leads were collected.
const NOW: f64 = 1_795_392_000_000.0;

fn root() -> String {
    env!("CARGO_MANIFEST_DIR").to_string()
}

/// An RFC 3339 time in milliseconds since 1970.
fn ms(t: &str) -> f64 {
    t.parse::<jiff::Timestamp>().unwrap().as_millisecond() as f64
}

fn lead(program: &Program, id: &str) -> (Answers, Events) {
    let text = std::fs::read_to_string(format!("{}/examples/leads/b2b-saas.ndjson", root())).unwrap();
    let line: Json = text.lines().map(|l| serde_json::from_str::<Json>(l).unwrap()).find(|l| l["id"] == id).unwrap();
    let (answers, issues) = Answers::from_json(program, &line["answers"]);
    assert!(issues.is_empty(), "{issues:?}");
    let mut events = Events::new(program);
    for e in line["events"].as_array().unwrap() {
        let idx = program.event_index(e["type"].as_str().unwrap()).unwrap();
        events.record(idx, ms(e["at"].as_str().unwrap())).unwrap();
    }
    (answers, events)
}

/// The leads of `examples/history/b2b-saas.csv`.
fn history_leads(program: &Program) -> Vec<(Answers, Events)> {
    let history = std::fs::read_to_string(format!("{}/examples/history/b2b-saas.csv", root())).expect("history");
    let mut r = leadscore::leads::Reader::new(
        history.as_bytes(),
        leadscore::leads::Format::Csv,
        program,
        &["outcome", "scored_at"],
    )
    .expect("header");
    let mut leads = vec![];
    while let Some(item) = r.next_lead(program) {
        let lead = item.expect("a good row");
        leads.push((lead.answers, lead.events));
    }
    leads
}

fn bench(c: &mut Criterion) {
    assert_eq!(ms("2026-11-23T00:00:00Z"), NOW);
    for name in ["b2b-saas", "b2c-fitness", "agency", "it-software"] {
        let text = std::fs::read_to_string(format!("{}/examples/{name}.json", root())).unwrap();
        c.bench_function(&format!("compile {name}"), |b| b.iter(|| leadscore::compile_str(black_box(&text))));
    }
    let text = std::fs::read_to_string(format!("{}/examples/b2b-saas.json", root())).unwrap();
    let program = leadscore::compile_str(&text).program.unwrap();
    let complete = Options { complete: true, locale: None };
    let partial = Options { complete: false, locale: None };
    // N-001: an SQL with 22 rules firing; N-004: an MQL one demo request away from SQL.
    let (sql, sql_events) = lead(&program, "N-001");
    let (mql, mql_events) = lead(&program, "N-004");
    c.bench_function("evaluate submitted lead", |b| {
        b.iter(|| program.evaluate(black_box(&sql), &sql_events, NOW, &complete))
    });
    c.bench_function("score submitted lead", |b| b.iter(|| program.score(black_box(&sql), &sql_events, NOW)));
    // Bulk scoring: every lead of the shipped history (1000 leads, read before timing), one `Scorer`, with the
    // general evaluator alone for comparison. One iteration scores all of them.
    let leads = history_leads(&program);
    let mut group = c.benchmark_group("bulk");
    group.throughput(criterion::Throughput::Elements(leads.len() as u64));
    let mut scorer = program.scorer();
    group.bench_function("scorer, 1000 history leads", |b| {
        b.iter(|| leads.iter().map(|(a, e)| scorer.score(black_box(a), e, NOW).total).sum::<f64>())
    });
    group.bench_function("general evaluator, 1000 history leads", |b| {
        b.iter(|| leads.iter().map(|(a, e)| scorer.score_general(black_box(a), e, NOW).total).sum::<f64>())
    });
    // The yardstick: the same model written by hand in Rust (benches/hand/b2b.rs), checked first to give what
    // the scorer gives on every lead, now and on a day when the history's events still count.
    let by_hand = hand::Model::new(&program);
    for now in [NOW, 1_751_328_000_000.0] {
        for (i, (a, e)) in leads.iter().enumerate() {
            let s = scorer.score(a, e, now).clone();
            let fired = scorer.fired().fold(0u64, |m, r| m | 1 << r);
            let want = hand::Hand {
                total: s.total,
                groups: [s.groups[0], s.groups[1], s.groups[2]],
                knockout: s.knockout,
                stage: s.stage,
                fired,
            };
            assert_eq!(by_hand.score(a, e, now), want, "history lead {i} at {now}");
        }
    }
    group.bench_function("written by hand in Rust, 1000 history leads", |b| {
        b.iter(|| leads.iter().map(|(a, e)| by_hand.score(black_box(a), e, NOW).total).sum::<f64>())
    });
    group.finish();
    // The second B2B example (34 rules, 5 knockouts, substring tests on job titles): its 40 sample leads, whose
    // events fall in the 200 days before NOW, 25 times over.
    let cyber = leadscore::compile_str(
        &std::fs::read_to_string(format!("{}/examples/cybersecurity.json", root())).expect("the second example"),
    )
    .program
    .unwrap();
    let cyber_leads: Vec<(Answers, Events)> = {
        let text = std::fs::read_to_string(format!("{}/examples/leads/cybersecurity.csv", root())).unwrap();
        let mut r = leadscore::leads::Reader::new(text.as_bytes(), leadscore::leads::Format::Csv, &cyber, &[]).unwrap();
        let sample: Vec<(Answers, Events)> =
            std::iter::from_fn(|| r.next_lead(&cyber)).map(|l| l.map(|l| (l.answers, l.events)).unwrap()).collect();
        sample.iter().cycle().take(25 * sample.len()).cloned().collect()
    };
    let mut group = c.benchmark_group("bulk, second example");
    group.throughput(criterion::Throughput::Elements(cyber_leads.len() as u64));
    let mut cyber_scorer = cyber.scorer();
    group.bench_function("scorer, 1000 leads", |b| {
        b.iter(|| cyber_leads.iter().map(|(a, e)| cyber_scorer.score(black_box(a), e, NOW).total).sum::<f64>())
    });
    group.bench_function("general evaluator, 1000 leads", |b| {
        b.iter(|| cyber_leads.iter().map(|(a, e)| cyber_scorer.score_general(black_box(a), e, NOW).total).sum::<f64>())
    });
    group.finish();
    c.bench_function("scorer, submitted lead", |b| b.iter(|| scorer.score(black_box(&sql), &sql_events, NOW).total));
    // The same lead after the first two steps.
    let mut half = sql.clone();
    for i in 0..program.fields.len() {
        if program.fields[i].step.is_some_and(|s| s >= 2) {
            half.clear(i);
        }
    }
    c.bench_function("evaluate form in progress", |b| {
        b.iter(|| program.evaluate(black_box(&half), &sql_events, NOW, &partial))
    });
    // A session holding N-001's answers and events: one number answer changes, then the score is read.
    let mut session = leadscore::Session::new(&program, NOW);
    for i in 0..program.fields.len() {
        let a = sql.to_json(&program, i);
        if !a.is_null() {
            let _ = session.set_json(i, &a);
        }
    }
    for e in 0..program.events.len() {
        for &t in sql_events.times(e) {
            let _ = session.record(e, t);
        }
    }
    let budget = program.field_index("budget_monthly").unwrap();
    let mut n = 0u32;
    c.bench_function("session: set one number, read the score", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let _ = session.set_number(budget, f64::from(500 + (n % 8) * 500));
            black_box(session.score().total)
        })
    });
    c.bench_function("hints for an mql", |b| b.iter(|| program.hints(black_box(&mql), &mql_events, NOW)));

    // The backtest of the shipped history (1000 leads): read the CSV, score every lead, report.
    let history = std::fs::read_to_string(format!("{}/examples/history/b2b-saas.csv", root())).expect("history");
    c.bench_function("backtest 1000 leads (read, score, report)", |b| {
        b.iter(|| {
            let mut r = leadscore::leads::Reader::new(
                history.as_bytes(),
                leadscore::leads::Format::Csv,
                &program,
                &["outcome", "scored_at"],
            )
            .expect("header");
            let mut bt = leadscore::backtest::Backtest::new(&program, &[]);
            while let Some(item) = r.next_lead(&program) {
                bt.add_read(&program, item, NOW);
            }
            bt.report(&program, None)
        })
    });
    let plan = leadscore::plan::PlanInput {
        goal: Some(10_000_000.0),
        mqls: None,
        deal_size: 50_000.0,
        sql_to_won: 25.0,
        mql_to_sql: 20.0,
        lead_to_mql: Some(10.0),
        visitor_to_lead: Some(2.0),
        year: 2027,
    };
    c.bench_function("plan a year", |b| b.iter(|| leadscore::plan::plan(black_box(&plan))));

    // Bounded work: reading 10^4, 10^5 and 10^6 events given oldest first (the worst order for insertion) should
    // take about 10 times longer for 10 times the events.
    let mut group = c.benchmark_group("events oldest first");
    group.sample_size(10);
    for n in [10_000usize, 100_000, 1_000_000] {
        let events = serde_json::Value::Array(
            (0..n).map(|i| serde_json::json!({"type": "page_view", "at": NOW - (n - i) as f64 * 1000.0})).collect(),
        );
        group.bench_function(format!("{n} events from JSON"), |b| {
            b.iter(|| leadscore::Events::from_json(&program, black_box(&events)))
        });
    }
    group.finish();

    // Hints on a wide model: fields of 100 options, 10 rules each. Both sizes have more changes to try than the
    // budget (1,000), so hints cost the budget times one evaluation: about 10 times longer for 10 times the rules.
    let mut group = c.benchmark_group("hints on a wide model");
    group.sample_size(10);
    for fields in [20usize, 200] {
        let options: Vec<String> = (0..100).map(|o| format!("o{o}")).collect();
        let fields_json: Vec<serde_json::Value> = (0..fields)
            .map(|f| serde_json::json!({"id": format!("f{f}"), "type": "choice", "options": options}))
            .collect();
        let rules: Vec<serde_json::Value> = (0..fields * 10)
            .map(|i| {
                let when = format!("f{} == 'o{}'", i / 10, i % 10);
                serde_json::json!({"id": format!("r{i}"), "group": "fit", "when": when, "points": 1})
            })
            .collect();
        let doc = serde_json::json!({
            "leadscore": 1, "id": "wide", "fields": fields_json, "rules": rules,
            "stages": [{"id": "sql", "when": "score >= 1000000"}, {"id": "lead"}]
        });
        let wide = leadscore::compile_value(doc).program.unwrap();
        let (none, no_events) = (leadscore::Answers::new(&wide), Events::new(&wide));
        assert!(wide.hints(&none, &no_events, NOW).partial);
        group.bench_function(format!("{} rules", fields * 10), |b| {
            b.iter(|| wide.hints(black_box(&none), &no_events, NOW))
        });
    }
    group.finish();

    // `check` on a large broken document, minified (one line), with an error in every rule: compiling and
    // rendering every diagnostic for 200 and 2000 rules should take about 10 times longer for 10 times the rules.
    let mut group = c.benchmark_group("check a broken model");
    group.sample_size(10);
    for n in [200usize, 2000] {
        let rules: Vec<String> =
            (0..n).map(|i| format!(r#"{{"id":"r{i}","group":"fit","when":"nope{i} > 1","points":1}}"#)).collect();
        let text = format!(
            r#"{{"leadscore":1,"id":"big","fields":[{{"id":"n","type":"number"}}],"rules":[{}],"stages":[{{"id":"lead"}}]}}"#,
            rules.join(",")
        );
        group.bench_function(format!("{n} rules, compile and render"), |b| {
            b.iter(|| {
                let c = leadscore::compile_str(black_box(&text));
                leadscore::diagnostic::render(&c.diagnostics, &text, "big.json").len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

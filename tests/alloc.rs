//! A `Scorer` allocates nothing per lead once it has scored a first one, on a model whose expressions it types
//! entirely: the B2B example without its JsonLogic rule, on its sample leads and on the 1000 leads of the shipped
//! history, and every other example model it types entirely, counted by a global allocator that counts this
//! thread's allocations. (A node left to the general evaluator, such as a JsonLogic rule, may allocate.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use leadscore::leads::{Format, Reader};
use leadscore::{compile_str, Answers, Events, Program};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread's storage may be gone while the thread ends.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is passed on to the system allocator unchanged; counting touches no allocator state.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// 2026-11-23T00:00:00Z
const NOW: f64 = 1_795_392_000_000.0;

fn leads(program: &Program, path: &str) -> Vec<(Answers, Events)> {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path);
    let format = if path.ends_with(".csv") { Format::Csv } else { Format::Ndjson };
    let mut r = Reader::new(text.as_bytes(), format, program, &["outcome", "scored_at"]).expect("header");
    let mut v = vec![];
    while let Some(item) = r.next_lead(program) {
        let lead = item.expect("a good row");
        v.push((lead.answers, lead.events));
    }
    assert!(!v.is_empty(), "{path} has leads");
    v
}

#[test]
fn scoring_a_lead_allocates_nothing_after_the_first() {
    let sets = [
        ("b2b-saas", "examples/leads/b2b-saas.ndjson"),
        ("b2b-saas", "examples/history/b2b-saas.csv"),
        ("agency", "examples/leads/agency.csv"),
        ("b2c-fitness", "examples/leads/b2c-fitness.csv"),
        ("it-software", "examples/leads/it-software.csv"),
    ];
    let mut checked = 0;
    for (model, path) in sets {
        let text = std::fs::read_to_string(format!("{}/examples/{model}.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        if model == "b2b-saas" {
            // Its one JsonLogic rule is left to the general evaluator.
            doc["rules"].as_array_mut().unwrap().retain(|r| r["id"] != "core_market");
        }
        let program = compile_str(&doc.to_string()).program.expect("compiles");
        if program.scorer().general_share().0 > 0 {
            assert_ne!(model, "b2b-saas", "the B2B example without JsonLogic is typed entirely");
            continue;
        }
        checked += 1;
        let leads = leads(&program, path);
        let mut scorer = program.scorer();
        let (a, e) = &leads[0];
        scorer.score(a, e, NOW);
        let (mut totals, mut fired_count) = (vec![], 0usize);
        totals.reserve(3 * leads.len());
        let before = allocations();
        for (a, e) in leads.iter().cycle().take(3 * leads.len()) {
            totals.push(scorer.score(a, e, NOW).total);
            fired_count += scorer.fired().count();
        }
        let allocated = allocations() - before;
        assert_eq!(allocated, 0, "{model} on {path}: {allocated} allocations in {} leads", 3 * leads.len());
        // The scores are real: the same as the general evaluator's.
        let want: Vec<f64> =
            leads.iter().cycle().take(3 * leads.len()).map(|(a, e)| program.score(a, e, NOW).total).collect();
        let fired: usize = leads
            .iter()
            .map(|(a, e)| {
                let mut f = vec![];
                program.score_with_rules(a, e, NOW, &mut f);
                f.iter().filter(|&&x| x).count()
            })
            .sum();
        assert_eq!(totals, want, "{model} on {path}");
        assert_eq!(fired_count, 3 * fired, "{model} on {path}");
    }
    assert!(checked >= 2, "only {checked} sets of leads were checked");
}

/// The string tests of the built-in table are typed by the scorer, against a string or a list, and score a lead
/// without allocating, as the general evaluator does.
#[test]
fn string_tests_are_typed_and_allocate_nothing() {
    let doc = r#"{"leadscore": 1, "id": "t",
      "fields": [{"id": "title", "type": "string"}, {"id": "email", "type": "email"}],
      "lists": {"senior": ["chief", "head of", "vp"]},
      "rules": [
        {"id": "senior", "group": "fit", "when": "contains_any(lower(title), senior)", "points": 10},
        {"id": "data", "group": "fit", "when": "contains_any(trim(title), ['Data', 'BI'])", "points": 5},
        {"id": "edu", "group": "fit", "when": "ends_with(domain(email), '.edu')", "points": -20},
        {"id": "ceo", "group": "fit", "when": "starts_with(title, 'CEO') or contains(title, 'Founder')", "points": 3}],
      "stages": [{"id": "lead"}]}"#;
    let program = compile_str(doc).program.expect("compiles");
    let mut scorer = program.scorer();
    assert_eq!(scorer.general_share(), (0, 8), "every condition and points typed");
    let lead = |title: &str, email: &str| {
        let (a, issues) = Answers::from_json(&program, &serde_json::json!({"title": title, "email": email}));
        assert!(issues.is_empty());
        a
    };
    let leads = [
        (lead("Head of Data", "ann@uni.edu"), 10.0 + 5.0 - 20.0),
        (lead(" BI analyst ", "bo@acme.com"), 5.0),
        (lead("CEO and Founder", "cy@acme.com"), 3.0),
        (lead("Vice President", "di@acme.com"), 0.0),
    ];
    let events = Events::new(&program);
    scorer.score(&leads[0].0, &events, NOW);
    let mut totals = Vec::with_capacity(leads.len());
    let before = allocations();
    for (a, _) in &leads {
        totals.push(scorer.score(a, &events, NOW).total);
    }
    assert_eq!(allocations() - before, 0);
    assert_eq!(totals, leads.iter().map(|l| l.1).collect::<Vec<_>>());
    for (a, want) in &leads {
        assert_eq!(program.score(a, &events, NOW).total, *want, "the general evaluator agrees");
    }
}

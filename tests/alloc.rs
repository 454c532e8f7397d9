//! A `Scorer` allocates nothing per lead once it has scored a first one: every example model (JsonLogic rules
//! and case changes of computed strings included, which it types too) on its sample leads, and the B2B one on the
//! 1000 leads of the shipped history as well, counted by a global allocator that counts this thread's
//! allocations.

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
        ("cybersecurity", "examples/leads/cybersecurity.csv"),
    ];
    let mut checked = 0;
    for (model, path) in sets {
        let text = std::fs::read_to_string(format!("{}/examples/{model}.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let program = compile_str(&text).program.expect("compiles");
        assert_eq!(program.scorer().general_share().0, 0, "{model}: every condition and points typed");
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
    let examples = std::fs::read_dir(format!("{}/examples", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
        .count();
    assert_eq!(checked, examples + 1, "every example model is checked, the B2B one on two sets of leads");
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
    scores_without_allocating(&program, &mut scorer, &leads);
}

/// JsonLogic conditions and points, and case changes of parts of an answer, are typed by the scorer and score a
/// lead without allocating, with the general evaluator's results (hand-computed here).
#[test]
fn jsonlogic_and_case_changes_are_typed_and_allocate_nothing() {
    let doc = r#"{"leadscore": 1, "id": "t",
      "fields": [{"id": "n", "type": "number"}, {"id": "country", "type": "country"},
                 {"id": "vat", "type": "string"}, {"id": "tags", "type": "multi",
                  "options": ["a", "b"]}],
      "rules": [
        {"id": "mid", "group": "fit", "when": {"and": [{">=": [{"var": "n"}, 50]}, {"in": [{"var": "country"}, ["IT", "DE"]]}]}, "points": 4},
        {"id": "range", "group": "fit", "when": {"<": [10, {"var": ["n", 0]}, 100]}, "points": {"*": [{"var": "n"}, 0.5]}},
        {"id": "either", "group": "fit", "when": {"or": [{"==": [{"var": "country"}, "FR"]}, {"in": ["b", {"var": "tags"}]}]}, "points": 2},
        {"id": "vat", "group": "fit", "when": "starts_with(upper(trim(vat)), 'IT')", "points": 1},
        {"id": "low", "group": "fit", "when": "lower(trim(vat)) == 'it123'", "points": 8}],
      "stages": [{"id": "lead"}]}"#;
    let compiled = compile_str(doc);
    let program = compiled.program.unwrap_or_else(|| panic!("{:?}", compiled.diagnostics));
    let mut scorer = program.scorer();
    assert_eq!(scorer.general_share(), (0, 10), "every condition and points typed");
    let lead = |answers: serde_json::Value| {
        let (a, issues) = Answers::from_json(&program, &answers);
        assert!(issues.is_empty(), "{issues:?}");
        a
    };
    let leads = [
        (lead(serde_json::json!({"n": 60, "country": "IT", "vat": " it123 "})), 4.0 + 30.0 + 1.0 + 8.0),
        (lead(serde_json::json!({"n": 20, "country": "FR", "vat": "DE9"})), 10.0 + 2.0),
        (lead(serde_json::json!({"n": 50, "country": "DE", "tags": ["b"], "vat": "iT 7"})), 4.0 + 25.0 + 2.0 + 1.0),
        (lead(serde_json::json!({"tags": ["a"]})), 0.0),
    ];
    scores_without_allocating(&program, &mut scorer, &leads);
}

/// Scores `leads` (answers, the total worked out by hand) after a first one: no allocation, the totals expected,
/// and the general evaluator's.
fn scores_without_allocating(program: &Program, scorer: &mut leadscore::Scorer, leads: &[(Answers, f64)]) {
    let events = Events::new(program);
    scorer.score(&leads[0].0, &events, NOW);
    let mut totals = Vec::with_capacity(leads.len());
    let before = allocations();
    for (a, _) in leads {
        totals.push(scorer.score(a, &events, NOW).total);
    }
    assert_eq!(allocations() - before, 0);
    assert_eq!(totals, leads.iter().map(|l| l.1).collect::<Vec<_>>());
    for (a, want) in leads {
        assert_eq!(program.score(a, &events, NOW).total, *want, "the general evaluator agrees");
    }
}

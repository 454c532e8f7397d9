//! A `Scorer` allocates nothing per lead once it has scored a first one: every example model, on its sample
//! leads and (the B2B model) on the 1000 leads of the shipped history, counted by a global allocator that
//! counts this thread's allocations.

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
    for (model, path) in sets {
        let text = std::fs::read_to_string(format!("{}/examples/{model}.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let program = compile_str(&text).program.expect("compiles");
        let leads = leads(&program, path);
        let mut scorer = program.scorer();
        let (a, e) = &leads[0];
        scorer.score(a, e, NOW);
        let before = allocations();
        let mut total = 0.0;
        for (a, e) in leads.iter().cycle().take(3 * leads.len()) {
            total += scorer.score(a, e, NOW).total;
            total += scorer.fired().count() as f64;
        }
        let allocated = allocations() - before;
        assert_eq!(allocated, 0, "{model} on {path}: {allocated} allocations in {} leads", 3 * leads.len());
        // The scores are real: the same as the general evaluator's.
        let want: f64 = leads.iter().map(|(a, e)| program.score(a, e, NOW).total).sum::<f64>() * 3.0;
        let fired: usize = leads
            .iter()
            .map(|(a, e)| {
                let mut f = vec![];
                program.score_with_rules(a, e, NOW, &mut f);
                f.iter().filter(|&&x| x).count()
            })
            .sum();
        assert_eq!(total, want + 3.0 * fired as f64, "{model} on {path}");
    }
}

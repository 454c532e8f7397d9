//! Any JSON as answers (and as events, under an `events` key) to the B2B example: evaluating never panics,
//! and scores are finite and within the groups' caps.
#![no_main]

use std::sync::OnceLock;

use leadscore::{Answers, Events, Options, Program};
use libfuzzer_sys::fuzz_target;

/// 2026-11-23T00:00:00Z
const NOW: f64 = 1_795_392_000_000.0;

fn program() -> &'static Program {
    static PROGRAM: OnceLock<Program> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let compiled = leadscore::compile_str(include_str!("../../examples/b2b-saas.json"));
        compiled.program.expect("the B2B example compiles")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let p = program();
    let (answers, _) = Answers::from_json(p, &value);
    let (events, _) = match value.get("events") {
        Some(e) => Events::from_json(p, e),
        None => (Events::new(p), vec![]),
    };
    let now = value.get("now").and_then(serde_json::Value::as_f64).unwrap_or(NOW);
    for complete in [true, false] {
        let e = p.evaluate(&answers, &events, now, &Options { complete, locale: None });
        assert!(e.score.is_finite(), "score {}", e.score);
        for (g, def) in e.groups.iter().zip(&p.groups) {
            assert!(g.score.is_finite(), "group {} score {}", g.id, g.score);
            assert!(def.min.is_none_or(|m| g.score >= m) && def.max.is_none_or(|m| g.score <= m), "group {} score {}", g.id, g.score);
        }
    }
});

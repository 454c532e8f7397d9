//! Any bytes as a history of past leads for the B2B example, read as CSV and as NDJSON: reading and the
//! backtest never panic, and the report's counts add up (every row is scored or a bad row; every scored
//! lead is in one stage and one histogram bin; rates are fractions).
#![no_main]

use std::sync::OnceLock;

use leadscore::backtest::Backtest;
use leadscore::leads::{Format, Reader};
use leadscore::Program;
use libfuzzer_sys::fuzz_target;

/// 2026-11-23T00:00:00Z
const NOW: f64 = 1_795_392_000_000.0;

fn program() -> &'static Program {
    static P: OnceLock<Program> = OnceLock::new();
    P.get_or_init(|| leadscore::compile_str(include_str!("../../examples/b2b-saas.json")).program.expect("compiles"))
}

fuzz_target!(|data: &[u8]| {
    let p = program();
    for format in [Format::Csv, Format::Ndjson] {
        let Ok(mut reader) = Reader::new(data, format, p, &["outcome", "scored_at"]) else { continue };
        let mut bt = Backtest::new(p, &[]);
        let mut rows = 0u64;
        while let Some(item) = reader.next_lead(p) {
            rows += 1;
            bt.add_read(p, item, NOW);
            if rows > 10_000 {
                break;
            }
        }
        let r = bt.report(p, None);
        assert_eq!(r.rows, rows);
        assert_eq!(r.stages.iter().map(|s| s.count).sum::<u64>(), r.scored);
        assert_eq!(r.histogram.bins.iter().map(|b| b.won + b.lost + b.open).sum::<u64>(), r.scored);
        assert_eq!(r.won + r.lost + r.open, r.scored);
        for t in &r.thresholds {
            for s in [Some(&t.current_at), t.suggested_at.as_ref()].into_iter().flatten() {
                assert!(s.precision.is_none_or(|x| (0.0..=1.0).contains(&x)));
                assert!(s.recall.is_none_or(|x| (0.0..=1.0).contains(&x)));
            }
        }
    }
});

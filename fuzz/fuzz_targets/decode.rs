//! Any bytes as an encoded program, and any edits of the examples' encodings: decoding never panics, and a
//! program it accepts encodes again, prints, evaluates (scores finite), scores in a session, and gives hints
//! without panicking.
#![no_main]

use std::sync::OnceLock;

use leadscore::{Answers, Events, Options, Program, Session};
use libfuzzer_sys::fuzz_target;

/// 2026-11-23T00:00:00Z
const NOW: f64 = 1_795_392_000_000.0;

/// The examples' encodings: edits of them reach far deeper than random bytes.
fn encodings() -> &'static [Vec<u8>] {
    static ENCODINGS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    ENCODINGS.get_or_init(|| {
        [
            include_str!("../../examples/b2b-saas.json"),
            include_str!("../../examples/agency.json"),
            include_str!("../../examples/b2c-fitness.json"),
            include_str!("../../examples/it-software.json"),
        ]
        .iter()
        .map(|text| leadscore::compile_str(text).program.expect("the examples compile").to_bytes())
        .collect()
    })
}

fn use_program(p: &Program) {
    assert!(Program::from_bytes(&p.to_bytes()).is_ok(), "a decoded program encodes to bytes that decode");
    let _ = p.to_string();
    let mut events = Events::new(p);
    let _ = events.record(0, NOW);
    let mut answers = Answers::new(p);
    for (i, f) in p.fields.iter().enumerate() {
        let _ = answers.set_text(p, i, f.options.first().map_or("1", |o| o.value()));
    }
    for a in [Answers::new(p), answers] {
        for complete in [true, false] {
            let e = p.evaluate(&a, &events, NOW, &Options { complete, locale: None });
            assert!(e.score.is_finite(), "score {}", e.score);
        }
        let _ = p.hints(&a, &events, NOW);
        let mut s = Session::new(p, NOW);
        let _ = s.record(0, NOW);
        for i in 0..p.fields.len() {
            let _ = s.set_json(i, &a.to_json(p, i));
            let fresh = p.score(s.answers(), s.events(), s.now());
            assert_eq!(*s.score(), fresh, "a session scores like a fresh evaluation");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Program::from_bytes(data) {
        use_program(&p);
    }
    // The first byte picks an example; every 3 bytes after it set one byte of its encoding.
    let Some((&pick, edits)) = data.split_first() else { return };
    // The edits are made to the content, and its rules hash (FNV-1a 64 of what follows the magic bytes, 16 hex
    // digits at the end) written again, so that they reach the checks after the hash's.
    let encoded = &encodings()[usize::from(pick) % encodings().len()];
    let mut bytes = encoded[..encoded.len() - 17].to_vec();
    for e in edits.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([e[0], e[1]])) % bytes.len();
        bytes[at] = e[2];
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in &bytes[4..] {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    bytes.push(16);
    bytes.extend(format!("{h:016x}").bytes());
    if let Ok(p) = Program::from_bytes(&bytes) {
        use_program(&p);
    }
});

//! Any text: compiling never panics, and a program comes out exactly when there is no error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let compiled = leadscore::compile_str(text);
        assert_eq!(compiled.program.is_some(), !compiled.has_errors());
    }
});

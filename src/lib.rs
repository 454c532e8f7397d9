//! leadscore: lead-qualification rules compiled once, evaluated many times, identically in the browser
//! (WebAssembly) and on a server.
//!
//! ```
//! let doc = r#"{
//!   "leadscore": 1, "id": "demo",
//!   "fields": [{"id": "employees", "type": "integer"}],
//!   "rules": [{"id": "size", "group": "fit", "when": "employees >= 50", "points": 20}],
//!   "stages": [{"id": "mql", "when": "score >= 20"}, {"id": "lead"}]
//! }"#;
//! let compiled = leadscore::compile_str(doc);
//! let program = compiled.program.expect("no errors");
//! let (answers, _issues) = leadscore::Answers::from_json(&program, &serde_json::json!({"employees": 120}));
//! let events = leadscore::Events::new(&program);
//! let result = program.evaluate(&answers, &events, 0.0, &leadscore::Options { complete: true, ..Default::default() });
//! assert_eq!(result.score, 20.0);
//! assert_eq!(result.stage.id, "mql");
//! ```
#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]

#[cfg(feature = "compiler")]
pub mod analyze;
mod answers;
#[cfg(feature = "leads")]
pub mod backtest;
pub mod builtins;
mod codec;
#[cfg(feature = "leads")]
pub mod compare;
#[cfg(feature = "compiler")]
mod compile;
#[cfg(feature = "compiler")]
pub mod diagnostic;
mod eval;
#[cfg(feature = "compiler")]
pub mod expr;
mod form;
mod hints;
mod host;
#[cfg(any(feature = "compiler", not(target_arch = "wasm32")))]
mod kernel;
#[cfg(feature = "leads")]
pub mod leads;
#[cfg(feature = "leads")]
pub mod mapping;
pub mod model;
#[cfg(all(feature = "leads", not(target_arch = "wasm32")))]
mod ndjson;
pub mod plan;
pub mod program;
#[cfg(all(feature = "serve", not(target_arch = "wasm32")))]
pub mod serve;
mod session;
#[cfg(feature = "compiler")]
pub mod source;
mod valid;
mod verify;
mod vm;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use answers::{Answer, Answers, Events, Issue, DAY_MS};
pub use codec::DecodeError;
#[cfg(feature = "compiler")]
pub use compile::{compile_document, compile_str, compile_value, Compiled};
#[cfg(feature = "compiler")]
pub use diagnostic::{Diagnostic, Severity};
pub use eval::*;
pub use form::{FormState, Leave, Outcome};
pub use hints::{Hint, HintKind, Hints};
#[cfg(any(feature = "compiler", not(target_arch = "wasm32")))]
pub use kernel::Scorer;
pub use program::Program;
pub use session::Session;
pub use verify::{Claim, Mismatch, Verification, VerifyOptions};

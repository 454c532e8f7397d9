//! The JavaScript wing: the only module that knows about JS. Every export has one shape: JS value in ->
//! core -> JS value out. Two builds come from it: the runtime (no `compiler` feature), which loads programs
//! compiled ahead of time and evaluates them, and the full build, which also compiles rules documents. Values cross as JSON text (`JSON.stringify` / `JSON.parse` on the JS side and
//! serde_json, already part of the core, on this side), except on the session's hot path, where numbers
//! and indexes cross as plain arguments. Nothing here panics: every failure becomes a thrown `Error` or an
//! `Issue` value.

mod args;
#[cfg(feature = "compiler")]
mod batch;
#[cfg(feature = "form")]
mod form;
#[cfg(feature = "compiler")]
mod full;
#[cfg(all(feature = "compiler", feature = "leads"))]
mod history;
mod types;

use std::rc::Rc;

use js_sys::{Array, Error, Object, Reflect, Uint8Array};
#[cfg(feature = "compiler")]
use serde::Serialize;
use serde_json::Value as Json;
use wasm_bindgen::prelude::*;

use crate::{Issue, Program};
#[cfg(feature = "compiler")]
pub use full::check;
#[cfg(all(feature = "compiler", feature = "leads"))]
pub use history::{plan, Backtest};

pub use args::{JsBool, JsNum, JsStr};
pub use types::*;

// The runtime uses talc, smaller than the default dlmalloc by about 2 KB gzipped and a little slower (a
// session change about 10% in Node); the full build, where speed matters more than size, keeps dlmalloc.
// SAFETY: `new_global` requires that nothing else manages the Wasm memory the allocator grows into, and a
// single thread; both hold for this module.
#[cfg(not(feature = "compiler"))]
#[global_allocator]
static ALLOCATOR: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };

/// A Rust value -> plain JS objects and arrays (never `Map`s).
#[cfg(feature = "compiler")]
pub(crate) fn to_js<T: Serialize + ?Sized>(v: &T) -> JsValue {
    match serde_json::to_string(v) {
        Ok(s) => js_sys::JSON::parse(&s).unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    }
}

/// A JSON value -> the JS value `JSON.parse` would give, built directly (the runtime's small results).
fn json_js(v: &Json) -> JsValue {
    match v {
        Json::Null => JsValue::NULL,
        Json::Bool(b) => JsValue::from_bool(*b),
        Json::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => JsValue::from_str(s),
        Json::Array(a) => a.iter().map(json_js).collect::<Array>().into(),
        Json::Object(m) => {
            let o = Object::new();
            for (k, x) in m {
                let _ = Reflect::set(&o, &JsValue::from_str(k), &json_js(x));
            }
            o.into()
        }
    }
}

/// JS value -> JSON, as `JSON.stringify` would see it (`toJSON` called, `undefined` and functions left out of
/// objects and `null` in arrays, non-finite numbers `null`), without writing text. A BigInt or a cycle is an
/// error.
fn from_js(v: &JsValue, what: &str) -> Result<Json, JsValue> {
    // The full build has a JSON parser anyway, and one `JSON.stringify` call costs less than a walk that
    // crosses the boundary for every key and value; the runtime walks, and needs no parser.
    #[cfg(feature = "compiler")]
    if !v.is_bigint() {
        if let Ok(Some(text)) = js_sys::JSON::stringify(v).map(|s| s.as_string()) {
            if let Ok(j) = serde_json::from_str(&text) {
                return Ok(j);
            }
        }
    }
    walk(v, 0).map_err(|m| Error::new(&format!("leadscore: {what}: {m}")).into())
}

fn walk(v: &JsValue, depth: u32) -> Result<Json, &'static str> {
    if let Some(n) = v.as_f64() {
        // Whole numbers as integers, as serde_json reads `5` from text.
        return Ok(if n.fract() == 0.0 && n.abs() < 9007199254740992.0 {
            Json::from(n as i64)
        } else {
            serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
        });
    }
    if let Some(s) = v.as_string() {
        return Ok(Json::String(s));
    }
    if let Some(b) = v.as_bool() {
        return Ok(Json::Bool(b));
    }
    if v.is_bigint() {
        return Err("a BigInt is not a JSON value");
    }
    if !v.is_object() {
        return Ok(Json::Null); // null, undefined, a function, a symbol
    }
    if depth >= 64 {
        return Err("nested too deeply (a cycle?)");
    }
    let to_json = Reflect::get(v, &JsValue::from_str("toJSON")).unwrap_or(JsValue::UNDEFINED);
    if let Some(f) = to_json.dyn_ref::<js_sys::Function>() {
        let r = f.call0(v).map_err(|_| "its toJSON() threw")?;
        return walk(&r, depth + 1);
    }
    if Array::is_array(v) {
        let a: &Array = v.unchecked_ref();
        return a.iter().map(|x| walk(&x, depth + 1)).collect::<Result<_, _>>().map(Json::Array);
    }
    let mut map = serde_json::Map::new();
    for key in Object::keys(v.unchecked_ref::<Object>()).iter() {
        let x = Reflect::get(v, &key).map_err(|_| "a property could not be read")?;
        if x.is_undefined() || x.is_function() || x.is_symbol() {
            continue;
        }
        map.insert(key.as_string().unwrap_or_default(), walk(&x, depth + 1)?);
    }
    Ok(Json::Object(map))
}

/// The engine's version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Installs a panic hook that prints Rust panics to the console. Only in debugging builds (the `panic-hook`
/// feature); a no-op otherwise. The engine does not panic on any input; this is for developing it.
#[wasm_bindgen(js_name = debugPanics)]
pub fn debug_panics() {
    #[cfg(feature = "panic-hook")]
    console_error_panic_hook::set_once();
}

fn now_or_clock(now: Option<f64>) -> f64 {
    now.filter(|n| n.is_finite()).unwrap_or_else(js_sys::Date::now)
}

/// A compiled rules document: compile once, evaluate many times.
#[wasm_bindgen]
pub struct Scorer {
    program: Rc<Program>,
    /// The document's text, kept only to place warnings.
    #[cfg(feature = "compiler")]
    text: String,
    #[cfg(feature = "compiler")]
    warnings: Vec<crate::Diagnostic>,
    /// `score`'s typed program and buffers (`crate::kernel`), made on its first call.
    #[cfg(feature = "compiler")]
    fast: full::Fast,
}

impl From<Program> for Scorer {
    fn from(program: Program) -> Scorer {
        Scorer {
            program: Rc::new(program),
            #[cfg(feature = "compiler")]
            text: String::new(),
            #[cfg(feature = "compiler")]
            warnings: vec![],
            #[cfg(feature = "compiler")]
            fast: Default::default(),
        }
    }
}

/// The stage id of a bare score: `disqualified` when a knockout holds.
fn stage_id(p: &Program, stage: usize, knockout: Option<usize>) -> &str {
    match knockout {
        Some(_) => "disqualified",
        None => p.stages.get(stage).map_or("", |st| st.id.as_str()),
    }
}

#[wasm_bindgen]
impl Scorer {
    /// Loads a program compiled ahead of time (a `Uint8Array` from `toBytes()` or `leadscore build`); the full
    /// build also compiles a rules document (JSON text or a plain object) and then throws a `LeadscoreError`
    /// carrying every diagnostic when it does not compile.
    #[wasm_bindgen(constructor)]
    pub fn new(source: JsScorerSource) -> Result<Scorer, JsValue> {
        if let Some(bytes) = source.dyn_ref::<Uint8Array>() {
            return match Program::from_bytes(&bytes.to_vec()) {
                Ok(program) => Ok(Scorer::from(program)),
                Err(e) => Err(Error::new(&format!("leadscore: not a compiled program of this version: {e}")).into()),
            };
        }
        #[cfg(feature = "compiler")]
        {
            let text = full::rules_text(&source, "source")?;
            let compiled = crate::compile_str(&text);
            match compiled.program {
                Some(program) => {
                    let text = if compiled.diagnostics.is_empty() { String::new() } else { text };
                    let (program, warnings) = (Rc::new(program), compiled.diagnostics);
                    Ok(Scorer { program, text, warnings, fast: Default::default() })
                }
                None => Err(full::compile_error(&text, &compiled.diagnostics)),
            }
        }
        #[cfg(not(feature = "compiler"))]
        Err(js_sys::TypeError::new(
            "leadscore: `source` must be a Uint8Array: the runtime build loads compiled programs; compile rules \
             documents with `leadscore build` or the full build's `toBytes()`",
        )
        .into())
    }

    /// The ids of what the model names, in model order: the indexes that sessions use (`fieldIndex`,
    /// `groups()`, `stageIndex`, `knockoutIndex`) point into these lists.
    pub fn ids(&self) -> JsIds {
        let p = &self.program;
        let list = |ids: &mut dyn Iterator<Item = &str>| ids.map(JsValue::from_str).collect::<Array>();
        let out = Object::new();
        let lists: [(&str, Array); 7] = [
            ("fields", list(&mut p.fields.iter().map(|x| x.id.as_str()))),
            ("steps", list(&mut p.steps.iter().map(|x| x.id.as_str()))),
            ("events", list(&mut p.events.iter().map(|x| x.0.as_str()))),
            ("groups", list(&mut p.groups.iter().map(|x| x.id.as_str()))),
            ("rules", list(&mut p.rules.iter().map(|x| x.id.as_str()))),
            ("knockouts", list(&mut p.knockouts.iter().map(|x| x.id.as_str()))),
            ("stages", list(&mut p.stages.iter().map(|x| x.id.as_str()))),
        ];
        for (k, v) in lists {
            let _ = Reflect::set(&out, &JsValue::from_str(k), &v);
        }
        out.unchecked_into()
    }

    /// The compiled program in the binary form that `new Scorer(bytes)` loads (full build only).
    #[cfg(feature = "compiler")]
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.program.to_bytes()
    }

    /// The rules hash: 16 hex digits that change when the document's meaning changes, not its formatting.
    #[wasm_bindgen(getter)]
    pub fn hash(&self) -> String {
        self.program.hash().to_string()
    }

    /// Drives `form` with this program (see `FormOptions`).
    #[cfg(feature = "form")]
    pub fn attach(
        &self,
        form: form::JsForm,
        options: Option<form::JsFormOptions>,
    ) -> Result<form::FormHandle, JsValue> {
        let form = form::form_arg(form)?;
        args::opt_object(options.as_deref(), "options")?;
        form::attach_program(form, self.program.clone(), options.map(Into::into).unwrap_or(JsValue::UNDEFINED))
    }

    /// A form in progress, scored incrementally, at `now` (default: the clock).
    pub fn session(&self, now: Option<JsNum>) -> Result<Session, JsValue> {
        let now = args::opt_number(now, "now")?;
        Ok(Session { inner: crate::Session::new(self.program.clone(), now_or_clock(now)) })
    }

    /// The compiled program as text, one line per rule, for debugging a model (full build only).
    #[cfg(feature = "compiler")]
    pub fn disassemble(&self) -> String {
        self.program.to_string()
    }
}

/// A form in progress. Set one answer or record one event at a time; the score re-computes only what depends
/// on the change. Fields and events are named by id, or by index (`fieldIndex`) on hot paths.
#[wasm_bindgen]
pub struct Session {
    inner: crate::Session<Rc<Program>>,
}

fn issue_js(r: Result<(), Issue>) -> JsIssueOrUndefined {
    match r {
        Ok(()) => JsValue::UNDEFINED.unchecked_into(),
        Err(i) => {
            let o = Object::new();
            for (k, v) in [("field", i.field.as_str()), ("code", i.code), ("message", i.message.as_str())] {
                let _ = Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
            }
            o.unchecked_into()
        }
    }
}

fn unknown_field(field: &JsValue) -> Issue {
    let name = field
        .as_string()
        .unwrap_or_else(|| field.as_f64().map_or(String::new(), |f| format!("#{}", crate::host::Js(f))));
    Issue { message: format!("`{name}` is not a field of this model"), field: name, code: "unknown_field" }
}

#[wasm_bindgen]
impl Session {
    /// The field `field` names (an id or an index), None when it names none; a `TypeError` when it is neither a
    /// string nor a number.
    fn field(&self, field: &JsValue) -> Result<Option<usize>, JsValue> {
        if let Some(i) = field.as_f64() {
            let n = self.inner.program().fields.len();
            return Ok((i >= 0.0 && i.fract() == 0.0 && (i as usize) < n).then_some(i as usize));
        }
        match field.as_string() {
            Some(s) => Ok(self.inner.program().field_index(&s)),
            None => Err(args::type_error("field", "a field id (string) or index (number)", field)),
        }
    }

    /// The index of a field, for the `setNumber` fast path; -1 when there is no such field.
    #[wasm_bindgen(js_name = fieldIndex)]
    pub fn field_index(&self, id: JsStr) -> Result<i32, JsValue> {
        let id = args::string(&id, "id")?;
        Ok(self.inner.program().field_index(&id).map_or(-1, |i| i as i32))
    }

    /// Sets an answer (`null` or `undefined` clears it). Returns the problem when the value does not fit the
    /// field; the field is then unanswered.
    pub fn set(&mut self, field: JsFieldRef, value: JsAnswerValue) -> Result<JsIssueOrUndefined, JsValue> {
        let Some(i) = self.field(&field)? else { return Ok(issue_js(Err(unknown_field(&field)))) };
        let r = if let Some(n) = value.as_f64() {
            self.inner.set_number(i, n)
        } else if let Some(s) = value.as_string() {
            self.inner.set_json(i, &Json::String(s))
        } else if let Some(b) = value.as_bool() {
            self.inner.set_json(i, &Json::Bool(b))
        } else {
            let v = from_js(&value, "value")?;
            self.inner.set_json(i, &v)
        };
        Ok(issue_js(r))
    }

    /// Sets an answer from the text of a form input: numbers in decimal, booleans as yes/no/true/false/on/off,
    /// several options separated by `;`; empty text clears it.
    pub fn input(&mut self, field: JsFieldRef, text: JsStr) -> Result<JsIssueOrUndefined, JsValue> {
        let i = self.field(&field)?;
        let text = args::string(&text, "text")?;
        Ok(match i {
            Some(i) => issue_js(self.inner.set_text(i, &text)),
            None => issue_js(Err(unknown_field(&field))),
        })
    }

    /// The fast path: sets a number field by index. Returns false when the value does not fit (the field is
    /// then unanswered); `set` tells why.
    #[wasm_bindgen(js_name = setNumber)]
    pub fn set_number(&mut self, field: JsNum, value: JsNum) -> Result<bool, JsValue> {
        let field = args::number(&field, "field")?;
        let value = args::number(&value, "value")?;
        let ok = field >= 0.0 && field.fract() == 0.0 && field < u32::MAX as f64;
        Ok(ok && self.inner.set_number(field as usize, value).is_ok())
    }

    /// Removes an answer.
    pub fn clear(&mut self, field: JsFieldRef) -> Result<(), JsValue> {
        if let Some(i) = self.field(&field)? {
            self.inner.clear(i);
        }
        Ok(())
    }

    /// Records one occurrence of an event at `at` (milliseconds since 1970; default: the session's clock).
    pub fn record(&mut self, event: JsStr, at: Option<JsNum>) -> Result<JsIssueOrUndefined, JsValue> {
        let event = args::string(&event, "event")?;
        let at = args::opt_number(at, "at")?;
        let Some(e) = self.inner.program().event_index(&event) else {
            return Ok(issue_js(Err(Issue {
                message: format!("`{event}` is not an event of this model"),
                field: event,
                code: "unknown_event",
            })));
        };
        let at = at.unwrap_or(self.inner.now());
        // The issue names the event, as `evaluate` names it.
        Ok(issue_js(self.inner.record(e, at).map_err(|i| Issue { field: event, ..i })))
    }

    /// The session's clock, in milliseconds since 1970. Setting it re-scores rules that decay or count days.
    #[wasm_bindgen(getter)]
    pub fn now(&self) -> f64 {
        self.inner.now()
    }

    /// Sets the clock.
    #[wasm_bindgen(setter)]
    pub fn set_now(&mut self, now: JsNum) -> Result<(), JsValue> {
        self.inner.set_now(args::number(&now, "now")?);
        Ok(())
    }

    /// The total score as if the form were submitted now.
    #[wasm_bindgen(getter)]
    pub fn total(&mut self) -> f64 {
        self.inner.score().total
    }

    /// The stage id as if the form were submitted now (`disqualified` on a knockout).
    #[wasm_bindgen(getter)]
    pub fn stage(&mut self) -> String {
        let (stage, knockout) = {
            let s = self.inner.score();
            (s.stage, s.knockout)
        };
        stage_id(self.inner.program(), stage, knockout).to_string()
    }

    /// The stage by index in `ids().stages`; -1 when a knockout holds.
    #[wasm_bindgen(getter, js_name = stageIndex)]
    pub fn stage_index(&mut self) -> i32 {
        let s = self.inner.score();
        if s.knockout.is_some() {
            -1
        } else {
            s.stage as i32
        }
    }

    /// The knockout that holds, by index in `ids().knockouts`; -1 when none.
    #[wasm_bindgen(getter, js_name = knockoutIndex)]
    pub fn knockout_index(&mut self) -> i32 {
        self.inner.score().knockout.map_or(-1, |k| k as i32)
    }

    /// The id of the knockout that holds, if any.
    #[wasm_bindgen(getter)]
    pub fn knockout(&mut self) -> Option<String> {
        let k = self.inner.score().knockout?;
        self.inner.program().knockouts.get(k).map(|k| k.id.clone())
    }

    /// The ids of the rules that fire with points as if the form were submitted now (the ledger's rules), in
    /// model order.
    pub fn fired(&mut self) -> JsStrings {
        let ids: Vec<usize> = self.inner.fired().collect();
        let rules = &self.inner.program().rules;
        let out: Array = ids.iter().filter_map(|&i| rules.get(i)).map(|r| JsValue::from_str(&r.id)).collect();
        out.unchecked_into()
    }

    /// The total's range over every way of completing the form from here, as `evaluate()`'s `range` for a form
    /// in progress: `{min, max}`, a null bound infinite. `total` is the score if the form were sent now.
    // (Not in the form build, which has no room left in its size budget: its controller shows the score.)
    #[cfg(any(feature = "compiler", not(feature = "form")))]
    #[wasm_bindgen(getter)]
    pub fn range(&self) -> JsBounds {
        let r = self.inner.outlook().range;
        let o = Object::new();
        let bound = |b: Option<f64>| b.map_or(JsValue::NULL, JsValue::from_f64);
        let _ = Reflect::set(&o, &"min".into(), &bound(r.min));
        let _ = Reflect::set(&o, &"max".into(), &bound(r.max));
        o.unchecked_into()
    }

    /// The unanswered fields whose answers may still change the stage or a knockout, in form order (ids; as
    /// `evaluate()`'s `undecided_fields`); empty once every completion of the form has the same outcome.
    #[cfg(any(feature = "compiler", not(feature = "form")))]
    #[wasm_bindgen(getter, js_name = undecidedFields)]
    pub fn undecided_fields(&self) -> JsStrings {
        let out: Array = self.inner.outlook().undecided_fields.iter().map(|f| JsValue::from_str(f)).collect();
        out.unchecked_into()
    }

    /// Group scores after caps, in model order (`ids().groups`).
    pub fn groups(&mut self) -> Vec<f64> {
        self.inner.score().groups.clone()
    }

    /// The answers so far, `{field: value}`.
    pub fn answers(&self) -> JsAnswers {
        let p = self.inner.program();
        let a = self.inner.answers();
        let mut map = serde_json::Map::new();
        for i in (0..p.fields.len()).filter(|&i| a.get(i).is_some()) {
            map.insert(p.fields[i].id.clone(), a.to_json(p, i));
        }
        json_js(&Json::Object(map)).unchecked_into()
    }
}

//! The controller's own words (buttons, progress, messages) in English and Italian; a page can replace any of
//! them with the `texts` option. Texts are only ever set as text content, never parsed as HTML.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// Every text the controller writes.
pub(super) struct Texts {
    pub next: String,
    pub back: String,
    /// `{n}`, `{total}`.
    pub progress: String,
    /// `{n}`, `{total}`, `{title}`.
    pub step: String,
    pub required: String,
    pub invalid: String,
    /// `{count}`.
    pub errors: String,
    pub sending: String,
    pub failed: String,
    pub edit: String,
    pub sent: String,
}

const KEYS: [&str; 10] =
    ["next", "back", "progress", "step", "required", "invalid", "errors", "sending", "failed", "edit"];

const EN: [&str; 11] = [
    "Next",
    "Back",
    "Step {n} of {total}",
    "Step {n} of {total}: {title}",
    "Please answer this question.",
    "Please check this answer.",
    "Please check the highlighted answers ({count}).",
    "Sending...",
    "Your request could not be sent. Your answers are still here: please try again.",
    "Change my answers",
    "Thank you: your request has been sent.",
];

const IT: [&str; 11] = [
    "Avanti",
    "Indietro",
    "Passo {n} di {total}",
    "Passo {n} di {total}: {title}",
    "Rispondi a questa domanda.",
    "Controlla questa risposta.",
    "Controlla le risposte evidenziate ({count}).",
    "Invio in corso...",
    "Non è stato possibile inviare la richiesta. Le tue risposte sono ancora qui: riprova.",
    "Modifica le risposte",
    "Grazie: la tua richiesta è stata inviata.",
];

impl Texts {
    /// The built-in texts of `locale` (Italian for `it`, English otherwise), with `overrides` (an object of
    /// strings by key) on top.
    pub fn new(locale: &str, overrides: &JsValue) -> Texts {
        let base = if locale == "it" { IT } else { EN };
        let mut t: [String; 11] = base.map(str::to_string);
        if overrides.is_object() {
            for (slot, key) in t.iter_mut().zip(KEYS) {
                if let Some(s) = Reflect::get(overrides, &JsValue::from_str(key)).ok().and_then(|v| v.as_string()) {
                    *slot = s;
                }
            }
        }
        let [next, back, progress, step, required, invalid, errors, sending, failed, edit, sent] = t;
        Texts { next, back, progress, step, required, invalid, errors, sending, failed, edit, sent }
    }
}

/// `template` with each `{key}` replaced by its value (in one pass: a value is never read as a template; and
/// without `str::replace`, whose slicing brings panic formatting into the module).
pub(super) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut parts = template.split('{');
    let mut out = String::from(parts.next().unwrap_or(""));
    for part in parts {
        let found =
            part.split_once('}').and_then(|(k, rest)| values.iter().find(|(n, _)| *n == k).map(|(_, v)| (v, rest)));
        match found {
            Some((v, rest)) => {
                out.push_str(v);
                out.push_str(rest);
            }
            None => {
                out.push('{');
                out.push_str(part);
            }
        }
    }
    out
}

//! Analytics events for the page's tag manager: with `data-leadscore-datalayer`, GA4-style events pushed to
//! `window.dataLayer` (or a layer of another name). They carry what the form did (a step, a qualified lead
//! with its score and stage, a knockout, a lead sent) and an `event_id` to deduplicate, never an answer: no
//! email, no name, nothing the visitor typed.

use super::*;

impl St {
    /// The data layer's name and the event of `name` (a form event) with `detail` (its `FormOutcome`), or None
    /// when the page asked for none, or the event has no analytics counterpart.
    pub(super) fn analytics(&self, name: &str, detail: &JsValue) -> Option<(String, Object)> {
        let layer = self.data_layer.clone()?;
        let get = |k: &str| Reflect::get(detail, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
        let o = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&o, &JsValue::from_str(k), &v);
        };
        let key = |what: &str| JsValue::from_str(&format!("{}:{what}", self.fill_key));
        match name {
            "step" => {
                let step = get("step").as_string()?;
                set("event", "leadscore_step".into());
                set("event_id", key(&format!("step:{step}")));
                set("step", step.into());
                set("step_number", get("stepNumber"));
            }
            "qualified" => {
                set("event", "generate_lead".into());
                set("event_id", key("lead"));
                set("value", get("score"));
                if let Some(c) = &self.currency {
                    set("currency", c.into());
                }
                set("stage", get("stage"));
            }
            "disqualified" => {
                set("event", "leadscore_disqualified".into());
                set("event_id", key("disqualified"));
                set("reason", get("knockout"));
            }
            "sent" => {
                let sent = self.sent_key.clone().unwrap_or_default();
                set("event", "leadscore_sent".into());
                set("event_id", JsValue::from_str(&format!("{sent}:sent")));
                set("stage", get("stage"));
            }
            _ => return None,
        }
        set("leadscore_form", JsValue::from_str(&self.p.id));
        Some((layer, o))
    }
}

/// `window[layer].push(event)`, creating the layer (an array) when the page has none yet: a tag manager that
/// loads later reads what was pushed before it.
pub(super) fn push(layer: &str, event: &Object) {
    let global = js_sys::global();
    let key = JsValue::from_str(layer);
    let mut target = Reflect::get(&global, &key).unwrap_or(JsValue::UNDEFINED);
    if target.is_undefined() || target.is_null() {
        target = Array::new().into();
        let _ = Reflect::set(&global, &key, &target);
    }
    // The layer's own `push` (a tag manager replaces it with its own), not Array.prototype.push.
    if let Ok(f) = Reflect::get(&target, &JsValue::from_str("push")).and_then(|f| f.dyn_into::<Function>()) {
        let _ = f.call1(&target, event);
    }
}

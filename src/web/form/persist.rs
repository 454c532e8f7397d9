//! What the form keeps across reloads: the answers and the step (sessionStorage), the behaviour events (localStorage,
//! with consent).

use super::*;

impl St {
    pub(super) fn restore(&mut self) {
        if !self.persist {
            return;
        }
        let Some(saved) = storage(false).and_then(|s| s.get_item(&self.key).ok().flatten()) else { return };
        let Ok(v) = js_sys::JSON::parse(&saved) else { return };
        let Ok(serde_json::Value::Object(saved)) = walk(&v, 0) else { return };
        if let Some(serde_json::Value::Object(values)) = saved.get("values") {
            for (i, f) in self.p.fields.iter().enumerate() {
                let Some(serde_json::Value::Array(list)) = values.get(&f.id) else { continue };
                let list: Vec<String> = list.iter().filter_map(|x| x.as_str().map(str::to_string)).collect();
                for c in &self.fields[i].controls {
                    c.restore(&list);
                }
            }
        }
        if let Some(step) = saved.get("step").and_then(|s| s.as_str()) {
            self.cur = self.p.steps.iter().position(|s| s.id == step);
        }
        if let (Some(key), Some(started)) = (saved.get("key").and_then(|k| k.as_str()), saved.get("started")) {
            if let Some(started) = started.as_f64().filter(|t| t.is_finite()) {
                self.fill_key = key.to_string();
                self.started = started;
            }
        }
    }

    pub(super) fn save(&self) {
        if !self.persist || self.ended() {
            return;
        }
        let Some(store) = storage(false) else { return };
        let values = Object::new();
        let mut buf = vec![];
        for (i, f) in self.p.fields.iter().enumerate() {
            buf.clear();
            for c in &self.fields[i].controls {
                c.values(&mut buf);
            }
            if !buf.is_empty() {
                let list: Array = buf.iter().map(|s| JsValue::from_str(s)).collect();
                let _ = Reflect::set(&values, &JsValue::from_str(&f.id), &list);
            }
        }
        let o = Object::new();
        let _ = Reflect::set(&o, &"values".into(), &values);
        let step = self.cur.and_then(|s| self.p.steps.get(s)).map_or(JsValue::NULL, |s| JsValue::from_str(&s.id));
        let _ = Reflect::set(&o, &"step".into(), &step);
        let _ = Reflect::set(&o, &"key".into(), &JsValue::from_str(&self.fill_key));
        let _ = Reflect::set(&o, &"started".into(), &JsValue::from_f64(self.started));
        if let Ok(text) = js_sys::JSON::stringify(&o) {
            let _ = store.set_item(&self.key, &String::from(text));
        }
    }

    pub(super) fn forget(&self) {
        if let Some(s) = storage(false) {
            let _ = s.remove_item(&self.key);
        }
    }

    pub(super) fn events_key(&self) -> String {
        format!("leadscore:events:{}", self.p.id)
    }

    /// Stored events, counted only with consent.
    pub(super) fn load_events(&mut self) {
        if self.consent != Some(true) {
            return;
        }
        let Some(text) = storage(true).and_then(|s| s.get_item(&self.events_key()).ok().flatten()) else { return };
        let Ok(v) = js_sys::JSON::parse(&text) else { return };
        let Ok(serde_json::Value::Array(list)) = walk(&v, 0) else { return };
        for e in list {
            let (Some(kind), Some(at)) = (e.get("type").and_then(|t| t.as_str()), e.get("at").and_then(|a| a.as_f64()))
            else {
                continue;
            };
            if let Some(i) = self.p.event_index(kind) {
                let _ = self.session.record(i, at);
                if let Some(t) = e.get("token").and_then(|t| t.as_str()) {
                    self.tokens.push((i, at, t.to_string()));
                }
            }
        }
    }

    pub(super) fn store_events(&self, new: &[(usize, f64, Option<String>)]) {
        let Some(store) = storage(true) else { return };
        let key = self.events_key();
        let mut list: Vec<serde_json::Value> = store
            .get_item(&key)
            .ok()
            .flatten()
            .and_then(|t| js_sys::JSON::parse(&t).ok())
            .and_then(|v| walk(&v, 0).ok())
            .and_then(|v| if let serde_json::Value::Array(a) = v { Some(a) } else { None })
            .unwrap_or_default();
        for (i, at, token) in new {
            let mut e = serde_json::Map::new();
            e.insert("type".into(), self.p.events[*i].0.as_str().into());
            e.insert("at".into(), (*at).into());
            if let Some(t) = token {
                e.insert("token".into(), t.as_str().into());
            }
            list.push(serde_json::Value::Object(e));
        }
        let now = js_sys::Date::now();
        list.retain(|e| e.get("at").and_then(|a| a.as_f64()).is_some_and(|at| now - at <= KEEP_MS));
        let cut = list.len().saturating_sub(KEEP_EVENTS);
        list.drain(..cut);
        if let Ok(text) = js_sys::JSON::stringify(&json_js(&serde_json::Value::Array(list))) {
            let _ = store.set_item(&key, &String::from(text));
        }
    }
}

//! Sending a qualified lead: the hidden inputs of the claim, and the native, fetch or callback submission.

use super::*;

impl St {
    /// Score, groups, stage, grade, fired rules, rules hash, time, counted events and the issues of background
    /// values, as hidden inputs.
    pub(super) fn add_hidden_inputs(&mut self) {
        let p = self.p.clone();
        let s = self.session.score().clone();
        // A loop, not `join`: its generic copy costs the form build 1 KB.
        let mut fired = String::new();
        for r in self.session.fired() {
            if !fired.is_empty() {
                fired.push(',');
            }
            fired.push_str(&p.rules[r].id);
        }
        let groups = Object::new();
        for (g, v) in p.groups.iter().zip(&s.groups) {
            let _ = Reflect::set(&groups, &JsValue::from_str(&g.id), &JsValue::from_f64(*v));
        }
        let events = Array::new();
        let mut used = vec![false; self.tokens.len()];
        for (e, (id, _)) in p.events.iter().enumerate() {
            for &at in self.session.events().times(e) {
                let o = Object::new();
                let _ = Reflect::set(&o, &"type".into(), &JsValue::from_str(id));
                let _ = Reflect::set(&o, &"at".into(), &JsValue::from_f64(at));
                let token = self.tokens.iter().enumerate().find(|(k, (te, ta, _))| !used[*k] && *te == e && *ta == at);
                if let Some((k, (_, _, t))) = token {
                    used[k] = true;
                    let _ = Reflect::set(&o, &"token".into(), &JsValue::from_str(t));
                }
                events.push(&o);
            }
        }
        let issues = Array::new();
        for i in &self.issues {
            let o = Object::new();
            for (k, v) in [("field", i.field.as_str()), ("code", i.code), ("message", i.message.as_str())] {
                let _ = Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
            }
            issues.push(&o);
        }
        let json = |v: &JsValue| js_sys::JSON::stringify(v).map(String::from).unwrap_or_default();
        // Consent to behaviour tracking, as the visitor answered the banner (empty: not asked).
        let consent = match self.consent {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        let values: [(&str, String); 12] = [
            ("score", crate::host::js_string(s.total)),
            ("groups", json(&groups)),
            ("stage", crate::web::stage_id(&p, s.stage, s.knockout).to_string()),
            ("grade", p.grade_of(&s.groups).unwrap_or_default()),
            ("rules", fired),
            ("hash", p.hash().to_string()),
            ("at", crate::host::js_string(self.session.now())),
            ("events", json(&events)),
            ("issues", json(&issues)),
            ("key", self.fill_key.clone()),
            ("started", crate::host::js_string(self.started)),
            ("consent", consent.to_string()),
        ];
        for (name, value) in values {
            let name = format!("{}{name}", self.prefix);
            let existing = self.form.query_selector(&format!("input[type=hidden][name=\"{name}\"]")).ok().flatten();
            let input = match existing {
                Some(e) => e.dyn_into::<web_sys::HtmlInputElement>().ok(),
                None => self.doc.create_element("input").ok().and_then(|e| e.dyn_into().ok()).inspect(
                    |i: &web_sys::HtmlInputElement| {
                        i.set_type("hidden");
                        i.set_name(&name);
                        let _ = self.form.append_child(i);
                        if let Ok(h) = i.clone().dyn_into::<HtmlElement>() {
                            self.created.push(h);
                        }
                    },
                ),
            };
            if let Some(i) = input {
                i.set_value(&value);
            }
        }
    }

    /// Sends the qualified lead, after the `qualified` event (`cancelled`: the page sends it itself).
    pub(super) fn send(&mut self, cancelled: bool) {
        if cancelled {
            return;
        }
        let data = web_sys::FormData::new_with_form(&self.form).ok();
        let promise: Option<JsValue> = if let Some(f) = self.on_submit.clone() {
            let detail = self.detail();
            // Settled later in any case (a plain value or a throw too), after this borrow ends.
            let r = f.call2(&JsValue::UNDEFINED, &detail, &data.map(JsValue::from).unwrap_or(JsValue::UNDEFINED));
            let settled = match r {
                Ok(v) => js_sys::Promise::resolve(&v),
                Err(e) => js_sys::Promise::reject(&e),
            };
            Some(settled.into())
        } else {
            match self.mode {
                SubmitMode::Native => {
                    self.forget();
                    self.phase = Phase::Sent;
                    let _ = self.form.submit();
                    return;
                }
                SubmitMode::Fetch => self.fetch(data),
            }
        };
        let Some(promise) = promise else { return };
        self.phase = Phase::Sending;
        self.announce(&self.texts.sending.clone());
        for b in self.submits.iter().chain(self.back.iter()) {
            let _ = b.set_attribute("aria-disabled", "true");
        }
        let (ok_me, err_me) = (self.me.clone(), self.me.clone());
        let ok = Closure::once_into_js(move |_: JsValue| {
            if let Some(c) = ok_me.upgrade() {
                c.run(|st| st.sent(true));
            }
        });
        let err = Closure::once_into_js(move |_: JsValue| {
            if let Some(c) = err_me.upgrade() {
                c.run(|st| st.sent(false));
            }
        });
        then(&promise, &ok, &err);
    }

    /// POSTs the form to its action, urlencoded like a plain form, asking for JSON; rejects on an HTTP error.
    pub(super) fn fetch(&self, data: Option<web_sys::FormData>) -> Option<JsValue> {
        let window = web_sys::window()?;
        let body = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data?.into()).ok()?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&body.into());
        let headers = web_sys::Headers::new().ok()?;
        let _ = headers.set("Accept", "application/json");
        init.set_headers(&headers.into());
        let action = self.form.action();
        let request: JsValue = window.fetch_with_str_and_init(&action, &init).into();
        let check = Closure::once_into_js(|r: JsValue| -> Result<JsValue, JsValue> {
            match r.dyn_ref::<web_sys::Response>() {
                Some(res) if res.ok() => Ok(r),
                _ => Err(js_sys::Error::new("leadscore: the server refused the lead").into()),
            }
        });
        Some(then(&request, &check, &JsValue::UNDEFINED))
    }

    pub(super) fn sent(&mut self, ok: bool) -> (bool, Vec<Emit>) {
        self.phase = Phase::Asking;
        for b in self.submits.iter().chain(self.back.iter()) {
            let _ = b.remove_attribute("aria-disabled");
        }
        if !ok {
            // Nothing is lost: the form stays as it is, to send again.
            self.announce(&self.texts.failed.clone());
            if let Some(e) = self.form.query_selector(".leadscore-failed").ok().flatten() {
                e.remove();
            }
            if let Some(p) = make(&self.doc, "p", "leadscore-failed", &self.texts.failed) {
                let _ = p.set_attribute("role", "alert");
                let _ = self.form.append_child(&p);
                self.created.push(p);
            }
            return (false, vec![]);
        }
        self.forget();
        // Sent: whatever is filled in next is another lead.
        self.sent_key = Some(std::mem::replace(&mut self.fill_key, random_key()));
        self.started = js_sys::Date::now();
        self.phase = Phase::Sent;
        let s = self.session.score().clone();
        self.show_ending(None, s.stage, false);
        (true, vec![Emit::Sent, Emit::Ending])
    }
}

/// `promise.then(ok, err)`.
pub(super) fn then(promise: &JsValue, ok: &JsValue, err: &JsValue) -> JsValue {
    Reflect::get(promise, &JsValue::from_str("then"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call2(promise, ok, err).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// A random UUID (version 4): `crypto.randomUUID()`, else from `crypto.getRandomValues`.
pub(super) fn random_key() -> String {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).unwrap_or(JsValue::UNDEFINED);
    let method =
        |name: &str| Reflect::get(&crypto, &JsValue::from_str(name)).ok().and_then(|f| f.dyn_into::<Function>().ok());
    if let Some(uuid) = method("randomUUID").and_then(|f| f.call0(&crypto).ok()).and_then(|v| v.as_string()) {
        return uuid;
    }
    let mut b = [0u8; 16];
    let bytes = js_sys::Uint8Array::new_with_length(16);
    match method("getRandomValues").and_then(|f| f.call1(&crypto, &bytes).ok()) {
        Some(_) => bytes.copy_to(&mut b),
        // No Web Crypto at all: a key need not be secret, only unique.
        None => b.iter_mut().for_each(|x| *x = (js_sys::Math::random() * 256.0) as u8),
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (k, x) in b.iter().enumerate() {
        if matches!(k, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        for d in [x >> 4, x & 15] {
            out.push(char::from_digit(d.into(), 16).unwrap_or('0'));
        }
    }
    out
}

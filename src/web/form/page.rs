//! The page: the controls and steps bound at start, the elements the controller adds, the background values from the
//! URL, the listeners, and putting the page back on detach.

use super::*;

impl St {
    /// Builds the controller's elements, restores saved answers, loads stored events, listens.
    pub(super) fn start(&mut self) -> Vec<Emit> {
        // Validation is the controller's, step by step; a hidden step's control must not block the browser.
        self.form.set_no_validate(true);
        let _ = self.form.class_list().add_1("leadscore-active");
        if let Ok(list) = self.doc.query_selector_all("[data-leadscore-show]") {
            for k in 0..list.length() {
                if let Some(e) = list.item(k).and_then(|n| n.dyn_into::<HtmlElement>().ok()) {
                    e.set_hidden(false);
                }
            }
        }
        self.lint();
        self.build();
        self.fill_params();
        self.restore();
        self.attribute();
        self.load_events();
        if let Some(view) = self.form.get_attribute("data-leadscore-view") {
            self.record(&view, None);
        }
        // Events the site vouches for (a webinar's thank-you page, say): recorded at their own time, once.
        if let Ok(list) = self.doc.query_selector_all("[data-leadscore-event-token]") {
            for k in 0..list.length() {
                let Some(e) = list.item(k).and_then(|n| n.dyn_into::<Element>().ok()) else { continue };
                let token = e.get_attribute("data-leadscore-event-token").unwrap_or_default();
                match parse_token(&token) {
                    Some((event, _)) => {
                        let event = event.to_string();
                        self.record(&event, Some(token));
                    }
                    None => web_sys::console::warn_1(&format!("leadscore: `{token}` is not an event token").into()),
                }
            }
        }
        self.show_consent_banner();
        self.listen();
        self.sync();
        if self.cur.is_none() {
            self.cur = self.state.path.first().copied();
        }
        self.render(false);
        vec![Emit::Step, Emit::Score]
    }

    pub(super) fn build(&mut self) {
        let doc = self.doc.clone();
        // Announcements for screen readers.
        if let Some(live) = make(&doc, "div", "leadscore-live", "") {
            let _ = live.set_attribute("aria-live", "polite");
            let _ = live.set_attribute("role", "status");
            visually_hidden(&live);
            let _ = self.form.insert_before(&live, self.form.first_child().as_ref());
            self.created.push(live.clone());
            self.live = Some(live);
        }
        if !self.p.steps.is_empty() {
            if let Some(box_) = self.form.query_selector("[data-leadscore-progress]").ok().flatten().and_then(html) {
                if let (Some(text), Some(bar)) = (
                    make(&doc, "p", "leadscore-progress-text", ""),
                    make(&doc, "progress", "leadscore-progress-bar", ""),
                ) {
                    let _ = bar.set_attribute("aria-hidden", "true");
                    let _ = box_.append_child(&text);
                    let _ = box_.append_child(&bar);
                    self.created.push(text.clone());
                    self.created.push(bar.clone());
                    self.progress = Some((text, bar));
                }
            }
            let nav = self.form.query_selector("[data-leadscore-nav]").ok().flatten().and_then(html);
            let nav = match nav {
                Some(n) => Some(n),
                None => make(&doc, "div", "leadscore-nav", "").inspect(|n| {
                    let _ = self.form.append_child(n);
                    self.created.push(n.clone());
                }),
            };
            if let Some(nav) = nav {
                let back = make(&doc, "button", "leadscore-back", &self.texts.back);
                let next = make(&doc, "button", "leadscore-next", &self.texts.next);
                for b in back.iter().chain(next.iter()) {
                    let _ = b.set_attribute("type", "button");
                }
                if let Some(b) = &back {
                    let _ = nav.insert_before(b, nav.first_child().as_ref());
                    self.created.push(b.clone());
                }
                if let Some(n) = &next {
                    let _ = nav.append_child(n);
                    self.created.push(n.clone());
                }
                self.back = back;
                self.next = next;
            }
        }
        // The ending: the page's `[data-leadscore-ending]` (for this form, or for any), else a new section.
        let id = self.form.id();
        let ending = self
            .doc
            .query_selector(&format!("[data-leadscore-ending=\"{id}\"]"))
            .ok()
            .flatten()
            .filter(|_| !id.is_empty())
            .or_else(|| self.doc.query_selector("[data-leadscore-ending=\"\"]").ok().flatten())
            .and_then(html);
        self.ending = ending.or_else(|| {
            let e = make(&doc, "section", "leadscore-ending", "")?;
            e.set_hidden(true);
            let _ = e.set_attribute("tabindex", "-1");
            let _ = self.form.after_with_node_1(&e);
            self.created.push(e.clone());
            Some(e)
        });
    }

    /// Background inputs filled from the page's URL (`data-leadscore-param="utm_source"`), when empty. A text
    /// longer than its field takes is cut to the field's length (in characters, as the engine counts them).
    pub(super) fn fill_params(&mut self) {
        let Some(search) = web_sys::window().and_then(|w| w.location().search().ok()) else { return };
        let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else { return };
        let Ok(list) = self.form.query_selector_all("input[data-leadscore-param]") else { return };
        for k in 0..list.length() {
            let Some(input) = list.item(k).and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
                continue;
            };
            let name = input.get_attribute("data-leadscore-param").unwrap_or_default();
            let (true, Some(v)) = (input.value().is_empty(), params.get(&name)) else { continue };
            let v = match self.p.field_index(&input.name()) {
                Some(i) => self.fit(i, v, "the URL"),
                None => v,
            };
            input.set_value(&v);
        }
    }

    /// `v` cut to text field `i`'s length (in characters, as the engine counts them), with an issue saying so.
    #[inline(never)]
    pub(super) fn fit(&mut self, i: usize, v: String, from: &str) -> String {
        let f = &self.p.fields[i];
        let (len, max) = (v.chars().count(), f.max_length as usize);
        if f.kind != FieldType::String || len <= max {
            return v;
        }
        let message = format!("`{}` takes at most {max} characters; {from} gave {len}, cut to {max}", f.id);
        self.note(crate::Issue { field: f.id.clone(), code: "truncated", message });
        v.chars().take(max).collect()
    }

    /// Whether the page has a consent banner (it asks the visitor's consent).
    pub(super) fn has_banner(&self) -> bool {
        self.doc.query_selector("[data-leadscore-consent]").ok().flatten().is_some()
    }

    /// Sets field `id`, which the visitor does not answer (its only controls are hidden inputs, or it has none in
    /// the page), to `values` as the page itself would: hidden inputs, created as needed. The engine checks them
    /// as a typed answer: a refused value is left out (the field unanswered) and its issue returned. `Err`: the
    /// field is not the model's, or the visitor answers it in the form.
    #[inline(never)]
    pub(super) fn set_field(&mut self, id: &str, values: &[String]) -> Result<Result<(), crate::Issue>, String> {
        let Some(i) = self.p.field_index(id) else { return Err(format!("`{id}` is not a field of this model")) };
        if !self.fields[i].controls.is_empty() && !self.fields[i].background {
            return Err(format!("`{id}` is answered in the form: only background fields are set"));
        }
        let mut trial = self.session.answers().clone();
        let checked = trial.set_form_values(&self.p, i, values);
        let values: &[String] = if checked.is_ok() { values } else { &[] };
        while self.fields[i].controls.len() < values.len().max(1) {
            let input = self.doc.create_element("input").ok().and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
            let Some(input) = input else { break };
            input.set_type("hidden");
            input.set_name(id);
            let _ = self.form.append_child(&input);
            self.created.push(input.clone().into());
            self.fields[i].controls.push(Control::Input(input));
            self.fields[i].background = true;
        }
        for (k, c) in self.fields[i].controls.iter().enumerate() {
            if let Control::Input(input) = c {
                input.set_value(values.get(k).map_or("", String::as_str));
            }
        }
        Ok(checked)
    }

    /// Warns the developer, in the console and naming the element, of markup that would fail without a word: a
    /// step the model lacks, a field of a step without a control, a control outside its field's wrapper (it
    /// would stay shown when its field is hidden), an option the model does not have.
    fn lint(&self) {
        let warn = |msg: String, e: &JsValue| web_sys::console::warn_2(&format!("leadscore: {msg}").into(), e);
        if let Ok(list) = self.form.query_selector_all("[data-step]") {
            for k in 0..list.length() {
                let Some(e) = list.item(k).and_then(|n| n.dyn_into::<Element>().ok()) else { continue };
                let id = e.get_attribute("data-step").unwrap_or_default();
                if !self.p.steps.iter().any(|s| s.id == id) {
                    warn(format!("the model has no step `{id}`"), &e);
                }
            }
        }
        for (f, dom) in self.p.fields.iter().zip(&self.fields) {
            if f.step.is_some() && dom.controls.is_empty() {
                warn(format!("no control is named `{}`", f.id), &self.form);
            }
            for c in &dom.controls {
                let e = c.element();
                if dom.wrapper.is_some() && e.closest("[data-field]").ok().flatten().is_none() {
                    warn(format!("a control of `{}` is outside its [data-field] element", f.id), e);
                }
                let mut values = vec![];
                match c {
                    Control::Select(s) => {
                        let opts = s.options();
                        for i in 0..opts.length() {
                            if let Some(o) = opts.item(i).and_then(|o| o.dyn_into::<web_sys::HtmlOptionElement>().ok())
                            {
                                values.push(o.value());
                            }
                        }
                    }
                    Control::Input(i) if matches!(i.type_().as_str(), "radio" | "checkbox") => values.push(i.value()),
                    _ => {}
                }
                let choice = matches!(f.kind, FieldType::Choice | FieldType::Multi);
                for v in values.iter().filter(|v| choice && !v.is_empty()) {
                    if !f.options.iter().any(|o| o.value() == v) {
                        warn(format!("`{v}` is not an option of `{}`", f.id), e);
                    }
                }
            }
        }
    }

    /// Records a problem with a background value, once, and tells the developer.
    pub(super) fn note(&mut self, issue: crate::Issue) {
        if self.issues.iter().any(|i| i.field == issue.field && i.code == issue.code) {
            return;
        }
        web_sys::console::warn_1(&format!("leadscore: `{}`: {}", issue.field, issue.message).into());
        self.issues.push(issue);
    }

    pub(super) fn listen(&mut self) {
        let me = self.me.clone();
        let on = |st: &mut St, target: EventTarget, kind: &'static str, f: Box<dyn FnMut(Event)>| {
            let c = Closure::wrap(f);
            let _ = target.add_event_listener_with_callback(kind, c.as_ref().unchecked_ref());
            st.listeners.push((target, kind, c));
        };
        let form: EventTarget = self.form.clone().into();
        for kind in ["input", "change"] {
            let me = me.clone();
            on(
                self,
                form.clone(),
                kind,
                Box::new(move |_| {
                    if let Some(c) = me.upgrade() {
                        c.run(|st| st.on_input());
                    }
                }),
            );
        }
        {
            let me = me.clone();
            on(
                self,
                form.clone(),
                "submit",
                Box::new(move |e: Event| {
                    e.prevent_default();
                    if let Some(c) = me.upgrade() {
                        c.run(|st| st.on_submit());
                    }
                }),
            );
        }
        for (button, forward) in [(self.next.clone(), true), (self.back.clone(), false)] {
            if let Some(b) = button {
                let me = me.clone();
                on(
                    self,
                    b.into(),
                    "click",
                    Box::new(move |_| {
                        if let Some(c) = me.upgrade() {
                            c.run(|st| if forward { st.next() } else { st.back() });
                        }
                    }),
                );
            }
        }
        let doc: EventTarget = self.doc.clone().into();
        on(
            self,
            doc,
            "click",
            Box::new(move |e: Event| {
                let Some(el) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
                let Some(c) = me.upgrade() else { return };
                if let Some(hit) = el.closest("[data-leadscore-event]").ok().flatten() {
                    let name = hit.get_attribute("data-leadscore-event").unwrap_or_default();
                    c.run(|st| st.record(&name, None));
                }
                if let Some(hit) = el.closest("[data-leadscore-consent]").ok().flatten() {
                    if let Some(v @ ("yes" | "no")) = hit.get_attribute("data-leadscore-consent").as_deref() {
                        c.run(|st| {
                            st.set_consent(v == "yes");
                            (true, vec![Emit::Score])
                        });
                        // The banner is hidden with the button that had focus: focus goes to the page's main
                        // content, where a keyboard user goes on, rather than back to the top of <body>.
                        let main = el.owner_document().and_then(|d| d.query_selector("main").ok().flatten());
                        if let Some(m) = main.and_then(html) {
                            if !m.has_attribute("tabindex") {
                                let _ = m.set_attribute("tabindex", "-1");
                            }
                            let _ = m.focus();
                        }
                    }
                }
                // The button the controller made, not any element with its class.
                c.run(|st| match &st.edit {
                    Some(b) if b.contains(Some(&el)) => st.reopen(),
                    _ => (false, vec![]),
                });
            }),
        );
    }

    pub(super) fn teardown(mut self) {
        for (t, kind, c) in self.listeners.drain(..) {
            let _ = t.remove_event_listener_with_callback(kind, c.as_ref().unchecked_ref());
        }
        for e in self.created.drain(..) {
            e.remove();
        }
        for f in &self.fields {
            for c in &f.controls {
                c.set_custom_validity("");
            }
        }
        for (e, name, value) in self.saved.drain(..) {
            let _ = match value {
                Some(v) => e.set_attribute(name, &v),
                None => e.remove_attribute(name),
            };
        }
    }
}

//! What the page shows: the current step, progress, live outputs, errors, the ending, and the outcome given to
//! listeners.

use super::*;

impl St {
    /// Shows the current step, the buttons, the progress and the score.
    pub(super) fn render(&mut self, announce: bool) {
        let path = &self.state.path;
        for (s, el) in self.steps.iter().enumerate() {
            if let Some(el) = el {
                el.set_hidden(self.ended() || Some(s) != self.cur);
            }
        }
        let pos = self.cur.and_then(|c| path.iter().position(|&s| s == c));
        let last = pos.is_none_or(|p| p + 1 >= path.len());
        if let Some(b) = &self.back {
            b.set_hidden(pos.is_none_or(|p| p == 0));
        }
        if let Some(b) = &self.next {
            b.set_hidden(last);
        }
        for s in &self.submits {
            s.set_hidden(!last && !self.p.steps.is_empty());
        }
        if let (Some((text, bar)), Some(p)) = (&self.progress, pos) {
            let (n, total) = ((p + 1).to_string(), path.len().to_string());
            text.set_text_content(Some(&fill(&self.texts.progress, &[("n", &n), ("total", &total)])));
            let _ = bar.set_attribute("max", &total);
            let _ = bar.set_attribute("value", &n);
        }
        if announce {
            if let (Some(p), Some(cur)) = (pos, self.cur) {
                let title = self.step_title(cur);
                let (n, total) = ((p + 1).to_string(), path.len().to_string());
                let msg = fill(&self.texts.step, &[("n", &n), ("total", &total), ("title", &title)]);
                self.announce(&msg);
            }
        }
        self.refresh_outputs();
    }

    /// A step's heading as the page shows it (its legend), else the model's title.
    pub(super) fn step_title(&self, s: usize) -> String {
        let legend = self.steps[s]
            .as_ref()
            .and_then(|el| el.query_selector("legend, h2, h3").ok().flatten())
            .and_then(|l| l.text_content())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        legend.or_else(|| self.text(&self.p.steps[s].title).map(str::to_string)).unwrap_or_default()
    }

    pub(super) fn announce(&self, msg: &str) {
        if let Some(live) = &self.live {
            // Emptied first, so that the same message twice is read twice.
            live.set_text_content(None);
            live.set_text_content(Some(msg));
        }
    }

    /// `[data-leadscore-output]` elements of the page: score, a group id, stage, grade.
    pub(super) fn refresh_outputs(&mut self) {
        let Ok(list) = self.doc.query_selector_all("[data-leadscore-output]") else { return };
        let s = self.session.score().clone();
        let grade = self.p.grade_of(&s.groups);
        let form_id = self.form.id();
        for k in 0..list.length() {
            let Some(e) = list.item(k).and_then(|n| n.dyn_into::<Element>().ok()) else { continue };
            if e.get_attribute("data-leadscore-for").is_some_and(|f| f != form_id) {
                continue;
            }
            let what = e.get_attribute("data-leadscore-output").unwrap_or_default();
            let text = match what.as_str() {
                "score" => show_number(s.total),
                "stage" => match s.knockout {
                    Some(_) => "-".to_string(),
                    None => self
                        .p
                        .stages
                        .get(s.stage)
                        .map(|st| self.text(&st.label).unwrap_or(&st.id).to_string())
                        .unwrap_or_default(),
                },
                "grade" => grade.clone().unwrap_or_default(),
                g => match self.p.groups.iter().position(|x| x.id == g) {
                    Some(i) => show_number(s.groups.get(i).copied().unwrap_or(0.0)),
                    None => continue,
                },
            };
            e.set_text_content(Some(&text));
        }
    }

    /// Shows (or with `""`, clears) the message under field `i`, tied to its controls for screen readers.
    pub(super) fn show_error(&mut self, i: usize, msg: &str) {
        let id = format!("leadscore-error-{}", self.p.fields[i].id);
        if self.fields[i].error.is_none() && !msg.is_empty() {
            let host = self.fields[i]
                .wrapper
                .clone()
                .or_else(|| self.fields[i].controls.last().and_then(|c| c.element().parent_element()).and_then(html));
            if let (Some(host), Some(e)) = (host, make(&self.doc, "p", "leadscore-error", "")) {
                e.set_id(&id);
                let _ = host.append_child(&e);
                self.created.push(e.clone());
                self.fields[i].error = Some(e);
            }
        }
        let f = &self.fields[i];
        if let Some(e) = &f.error {
            e.set_text_content(Some(msg));
            e.set_hidden(msg.is_empty());
        }
        for c in &f.controls {
            let el = c.element();
            if msg.is_empty() {
                let _ = el.remove_attribute("aria-invalid");
            } else {
                let _ = el.set_attribute("aria-invalid", "true");
                describe(el, &id);
            }
        }
        if let Some(w) = &f.wrapper {
            let _ = w.class_list().toggle_with_force("leadscore-invalid", !msg.is_empty());
        }
    }

    /// After an input: a field shown with an error loses it once its answer is acceptable.
    pub(super) fn clear_fixed_errors(&mut self) {
        for i in 0..self.p.fields.len() {
            let has = self.fields[i].error.as_ref().is_some_and(|e| !e.hidden());
            if !has {
                continue;
            }
            let missing = self.state.required[i] && self.applied[i].is_empty();
            let ok = !self.refused[i]
                && !missing
                && self.fields[i].controls.iter().all(|c| {
                    c.set_custom_validity("");
                    c.check_validity()
                });
            if ok || !self.state.shown[i] {
                self.show_error(i, "");
            }
        }
    }

    pub(super) fn show_ending(&mut self, knockout: Option<usize>, stage: usize, can_edit: bool) {
        self.form.set_hidden(true);
        let Some(box_) = self.ending.clone() else { return };
        while let Some(c) = box_.first_child() {
            let _ = box_.remove_child(&c);
        }
        let doc = self.doc.clone();
        let ending = self.p.ending_of(knockout, stage);
        let key = match knockout {
            Some(k) => format!("knockout:{}", self.p.knockouts[k].reason),
            None => format!("stage:{}", self.p.stages.get(stage).map_or("", |s| s.id.as_str())),
        };
        let _ = box_.set_attribute("data-ending", &key);
        // A lead sent to a model without an ending still gets a word of thanks.
        let thanks = (ending.is_none() && knockout.is_none() && !can_edit).then_some(self.texts.sent.as_str());
        let title = ending.and_then(|e| self.text(&e.title)).or(thanks);
        let message = ending
            .and_then(|e| self.text(&e.message))
            .or_else(|| knockout.and_then(|k| self.text(&self.p.knockouts[k].message)));
        if let Some(h) = title.and_then(|t| make(&doc, "h2", "leadscore-ending-title", t)) {
            let _ = box_.append_child(&h);
        }
        if let Some(p) = message.and_then(|t| make(&doc, "p", "leadscore-ending-message", t)) {
            let _ = box_.append_child(&p);
        }
        // The action's link, its placeholders filled with the answers.
        let action = ending.and_then(|e| e.action.as_ref()).and_then(|a| {
            let url = self.p.action_link(&a.url, self.session.answers())?;
            let label = a.label.get(&self.locale, &self.p.locale);
            if let Some(link) = make(&doc, "a", "leadscore-action", label) {
                let _ = link.set_attribute("href", &url);
                let _ = box_.append_child(&link);
            }
            let o = Object::new();
            let _ = Reflect::set(&o, &"label".into(), &label.into());
            let _ = Reflect::set(&o, &"url".into(), &url.into());
            Some(o)
        });
        let shown = Object::new();
        let str_or_null = |v: Option<&str>| v.map_or(JsValue::NULL, JsValue::from_str);
        for (k, v) in [
            ("key", JsValue::from_str(&key)),
            ("title", str_or_null(title)),
            ("message", str_or_null(message)),
            ("action", action.map_or(JsValue::NULL, JsValue::from)),
        ] {
            let _ = Reflect::set(&shown, &JsValue::from_str(k), &v);
        }
        let said = title.or(message).unwrap_or("").to_string();
        self.shown_ending = shown.into();
        let edit = can_edit.then(|| make(&doc, "button", "leadscore-edit", &self.texts.edit)).flatten();
        if let Some(b) = &edit {
            let _ = b.set_attribute("type", "button");
            let _ = box_.append_child(b);
        }
        box_.set_hidden(false);
        let _ = box_.set_attribute("tabindex", "-1");
        let _ = box_.focus();
        self.edit = edit;
        self.announce(&said);
    }

    /// The outcome so far, as the events' detail.
    pub(super) fn detail(&mut self) -> JsValue {
        let p = self.p.clone();
        let s = self.session.score().clone();
        let o = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&o, &JsValue::from_str(k), &v);
        };
        let str_or_null = |v: Option<&str>| v.map_or(JsValue::NULL, JsValue::from_str);
        let shown_step = if self.ended() { None } else { self.cur };
        set("step", str_or_null(shown_step.map(|c| p.steps[c].id.as_str())));
        set("steps", self.state.path.iter().map(|&c| JsValue::from_str(&p.steps[c].id)).collect::<Array>().into());
        let pos = self.cur.and_then(|c| self.state.path.iter().position(|&x| x == c)).map_or(0, |x| x + 1);
        set("stepNumber", JsValue::from_f64(pos as f64));
        set("score", JsValue::from_f64(s.total));
        let groups = Object::new();
        for (g, v) in p.groups.iter().zip(&s.groups) {
            let _ = Reflect::set(&groups, &JsValue::from_str(&g.id), &JsValue::from_f64(*v));
        }
        set("groups", groups.into());
        set("stage", JsValue::from_str(crate::web::stage_id(&p, s.stage, s.knockout)));
        let label = match s.knockout {
            Some(_) => None,
            None => p.stages.get(s.stage).and_then(|st| self.text(&st.label)),
        };
        set("stageLabel", str_or_null(label));
        // The shape of `Evaluation.grade`: `{letter, cell?}`, or null when the model has no grade.
        let grade = p.grade_result(&s.groups).map_or(JsValue::NULL, |g| {
            let o = Object::new();
            let _ = Reflect::set(&o, &"letter".into(), &g.letter.into());
            if let Some(c) = g.cell {
                let _ = Reflect::set(&o, &"cell".into(), &c.into());
            }
            o.into()
        });
        set("grade", grade);
        let fired: Array = self.session.fired().map(|r| JsValue::from_str(&p.rules[r].id)).collect();
        set("fired", fired.into());
        let ko = s.knockout.and_then(|k| p.knockouts.get(k));
        set("knockout", str_or_null(ko.map(|k| k.id.as_str())));
        set("reason", str_or_null(ko.map(|k| k.reason.as_str())));
        set("ended", JsValue::from_bool(self.ended()));
        set("ending", self.shown_ending.clone());
        set("rulesHash", JsValue::from_str(p.hash()));
        set("at", JsValue::from_f64(self.session.now()));
        o.into()
    }

    /// Whether score, groups, stage, knockout or grade changed since the page was last told.
    pub(super) fn score_changed(&mut self) -> bool {
        let s = self.session.score().clone();
        let now = (s.groups.iter().map(|g| g.to_bits()).collect(), s.total.to_bits(), s.stage, s.knockout);
        let changed = self.told.as_ref() != Some(&now);
        self.told = Some(now);
        changed
    }
}

/// A score as people read it: at most one decimal.
pub(super) fn show_number(x: f64) -> String {
    crate::host::js_string((x * 10.0).round() / 10.0)
}

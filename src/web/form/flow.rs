//! The flow: answers read from the page into the session, validation, and moving between steps (Next, Back, Send) as
//! the core decides (`Program::leave_step`).

use super::*;

impl St {
    pub(super) fn on_input(&mut self) -> (bool, Vec<Emit>) {
        if self.ended() {
            return (false, vec![]);
        }
        let before = self.state.path.clone();
        self.sync();
        self.clear_fixed_errors();
        self.render(false);
        self.save();
        let mut emits = vec![Emit::Score];
        if before != self.state.path {
            emits.push(Emit::Step);
        }
        (true, emits)
    }

    /// Reads every control into the session, then disables what the model hides or locks, until stable
    /// (conditions read only earlier fields, so this ends after at most one round per field).
    pub(super) fn sync(&mut self) {
        let now = js_sys::Date::now();
        self.session.set_now(now);
        let n = self.p.fields.len();
        let mut dom: Vec<Vec<String>> = Vec::with_capacity(n);
        for f in &self.fields {
            let mut v = vec![];
            for c in &f.controls {
                c.values(&mut v);
            }
            dom.push(v);
        }
        for _ in 0..=n {
            let mut changed = false;
            for (i, values) in dom.iter_mut().enumerate() {
                let locked = self.state.shown[i] && !self.state.enabled[i];
                let want: &[String] = if locked { &[] } else { values };
                if self.applied[i] == want {
                    continue;
                }
                changed = true;
                self.applied[i] = want.to_vec();
                self.refused[i] = match self.session.set_form_values(i, &self.applied[i]) {
                    Ok(()) => false,
                    // A value the visitor cannot see or correct must not block the lead: dropped, recorded.
                    Err(issue) if self.fields[i].background => {
                        for c in &self.fields[i].controls {
                            c.clear();
                        }
                        values.clear();
                        self.applied[i].clear();
                        self.note(issue);
                        false
                    }
                    Err(_) => true,
                };
            }
            self.state = self.p.form_state(self.session.answers(), self.session.events(), now);
            if !changed {
                break;
            }
        }
        // The DOM follows the state.
        for (i, f) in self.fields.iter().enumerate() {
            let (shown, enabled, required) = (self.state.shown[i], self.state.enabled[i], self.state.required[i]);
            if let Some(w) = &f.wrapper {
                w.set_hidden(!shown);
                let _ = w.class_list().toggle_with_force("leadscore-locked", shown && !enabled);
            }
            let multi = self.p.fields[i].kind == FieldType::Multi;
            for c in &f.controls {
                if c.element().get_attribute("type").as_deref() == Some("hidden") {
                    continue;
                }
                if c.disabled() == (shown && enabled) {
                    c.set_disabled(!(shown && enabled));
                }
                // Checkboxes of a multi field: `required` would require each box; checked in `validate`.
                c.set_required(required && !(multi && c.is_checkbox()));
                let _ = c.element().set_attribute("aria-required", if required { "true" } else { "false" });
            }
        }
        if let Some(cur) = self.cur {
            if !self.state.path.contains(&cur) {
                // The step left the path (an earlier answer changed): go to the last path step before it.
                self.cur = self.state.path.iter().copied().rfind(|&s| s < cur).or(self.state.path.first().copied());
            }
        }
    }

    /// Checks the shown, enabled fields of `step` (`None`: the fields that belong to no step); reports the first
    /// problem.
    pub(super) fn validate(&mut self, step: Option<usize>) -> bool {
        let mut bad: Vec<usize> = vec![];
        for i in 0..self.p.fields.len() {
            let f = &self.p.fields[i];
            if f.step.map(|s| s as usize) != step {
                continue;
            }
            if !(self.state.shown[i] && self.state.enabled[i]) || self.fields[i].controls.is_empty() {
                continue;
            }
            let required = self.state.required[i];
            let missing_multi = required && f.kind == FieldType::Multi && self.applied[i].is_empty();
            let mut msg = None;
            for c in &self.fields[i].controls {
                c.set_custom_validity("");
            }
            if missing_multi {
                msg = Some(self.texts.required.clone());
            } else if let Some(c) = self.fields[i].controls.iter().find(|c| !c.check_validity()) {
                // The form's words, not the browser's (which come in the browser's language, not the page's); the
                // control's own validity message says the same, for assistive technology and `reportValidity`.
                let m = if c.value_missing() { &self.texts.required } else { &self.texts.invalid };
                c.set_custom_validity(m);
                msg = Some(m.clone());
            } else if self.refused[i] {
                msg = Some(self.texts.invalid.clone());
            }
            if let Some(m) = msg {
                self.show_error(i, &m);
                bad.push(i);
            } else {
                self.show_error(i, "");
            }
        }
        if let Some(&first) = bad.first() {
            let count = bad.len().to_string();
            self.announce(&fill(&self.texts.errors, &[("count", &count)]));
            if let Some(c) = self.fields[first].controls.first() {
                let _ = c.element().focus();
            }
            return false;
        }
        true
    }

    pub(super) fn on_submit(&mut self) -> (bool, Vec<Emit>) {
        if self.phase != Phase::Asking {
            return (false, vec![]);
        }
        self.sync();
        let pos = self.cur.and_then(|c| self.state.path.iter().position(|&s| s == c));
        let last = pos.is_none_or(|p| p + 1 >= self.state.path.len());
        if !last {
            // Enter in a field of an earlier step: the same as Next.
            return self.next();
        }
        self.finish()
    }

    pub(super) fn go(&mut self, step: usize) -> (bool, Vec<Emit>) {
        self.cur = Some(step);
        self.skipped[step] = false;
        self.render(true);
        self.save();
        // Focus on the first field the visitor can answer.
        let first = self.p.steps[step]
            .fields
            .iter()
            .map(|&f| f as usize)
            .find(|&f| self.state.shown[f] && self.state.enabled[f])
            .and_then(|f| self.fields[f].controls.iter().find(|c| !c.disabled()).cloned());
        match first {
            Some(c) => {
                let _ = c.element().focus();
            }
            None => {
                if let Some(el) = &self.steps[step] {
                    let _ = el.set_attribute("tabindex", "-1");
                    let _ = el.focus();
                }
            }
        }
        (true, vec![Emit::Step, Emit::Score])
    }

    pub(super) fn next(&mut self) -> (bool, Vec<Emit>) {
        if self.phase != Phase::Asking {
            return (false, vec![]);
        }
        self.sync();
        let Some(cur) = self.cur else { return self.finish() };
        if !self.validate(Some(cur)) {
            return (false, vec![]);
        }
        let (answers, events, now) = (self.session.answers(), self.session.events(), self.session.now());
        // The decision is the core's (`Program::leave_step`, tested natively); the page follows it.
        match self.p.leave_step(answers, events, now, &self.state, cur, self.early_finish) {
            Leave::Knockout(_) => self.disqualify(),
            Leave::Go { step, skipped } => {
                for s in skipped {
                    self.skipped[s] = true;
                }
                self.go(step)
            }
            Leave::Finish { skipped } => {
                for s in skipped {
                    self.skipped[s] = true;
                }
                self.finish()
            }
        }
    }

    pub(super) fn back(&mut self) -> (bool, Vec<Emit>) {
        if self.phase != Phase::Asking {
            return (false, vec![]);
        }
        self.sync();
        let Some(cur) = self.cur else { return (false, vec![]) };
        match self.state.path.iter().copied().rfind(|&s| s < cur) {
            Some(s) => self.go(s),
            None => (false, vec![]),
        }
    }

    /// The end of the path (or an early finish): check everything, then stop or send.
    pub(super) fn finish(&mut self) -> (bool, Vec<Emit>) {
        // Every step on the path again: an earlier answer may have changed since it was checked.
        for s in self.state.path.clone() {
            if self.skipped[s] {
                continue;
            }
            if !self.validate(Some(s)) {
                if self.cur != Some(s) {
                    self.go(s);
                    self.validate(Some(s));
                }
                return (false, vec![Emit::Step]);
            }
        }
        // Fields outside every step (all of them in a model without steps) are always on the page.
        if !self.validate(None) {
            return (false, vec![]);
        }
        let all = vec![true; self.p.fields.len()];
        let o = self.p.outcome(self.session.answers(), self.session.events(), self.session.now(), &all);
        if o.knockout.is_some() || self.session.score().knockout.is_some() {
            return self.disqualify();
        }
        self.add_hidden_inputs();
        self.qualified = Some(self.detail());
        (true, vec![Emit::Score])
    }

    /// A knockout holds: show its ending, send nothing.
    pub(super) fn disqualify(&mut self) -> (bool, Vec<Emit>) {
        let s = self.session.score().clone();
        self.phase = Phase::Disqualified;
        self.show_ending(s.knockout, s.stage, true);
        (true, vec![Emit::Disqualified, Emit::Ending, Emit::Score])
    }

    /// From a knockout's ending back to the form, answers as they were.
    pub(super) fn reopen(&mut self) -> (bool, Vec<Emit>) {
        if self.phase != Phase::Disqualified {
            return (false, vec![]);
        }
        self.phase = Phase::Asking;
        self.edit = None;
        self.shown_ending = JsValue::NULL;
        self.form.set_hidden(false);
        if let Some(e) = &self.ending {
            e.set_hidden(true);
        }
        match self.cur {
            Some(s) => self.go(s),
            None => (true, vec![Emit::Step]),
        }
    }
}

/// Sets field `i` from the values its controls submit; `false` when the engine refuses them (the field is
/// then unanswered).
pub(super) fn set_values(session: &mut crate::Session<Rc<Program>>, i: usize, values: &[String]) -> bool {
    session.set_form_values(i, values).is_ok()
}

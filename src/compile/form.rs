//! The form: fields and steps, their conditions and jumps, the form order, and jumps that would loop.

use super::*;

impl Compiler<'_> {
    pub(super) fn fields_and_steps(&mut self, doc: &Document) {
        let n = doc.fields.len();
        // Steps: which step asks each field.
        let mut step_of: Vec<Option<u32>> = vec![None; n];
        let mut step_ids: HashMap<String, usize> = HashMap::new();
        let mut seen = HashMap::new();
        for (si, s) in doc.steps.iter().enumerate() {
            let pointer = format!("/steps/{si}");
            self.unique_id(&s.id, &format!("{pointer}/id"), &mut seen, "step");
            if s.id == "end" {
                self.err(
                    Code::Value,
                    format!("{pointer}/id"),
                    "`end` is reserved: it is the target that finishes the form",
                );
            }
            step_ids.entry(s.id.clone()).or_insert(si);
            let mut fields = vec![];
            for (j, fid) in s.fields.iter().enumerate() {
                match self.names.syms.get(fid) {
                    Some(Sym::Field(f)) => {
                        let f = *f as usize;
                        if let Some(prev) = step_of[f] {
                            self.err(
                                Code::Duplicate,
                                format!("{pointer}/fields/{j}"),
                                format!("the field `{fid}` is already asked in step `{}`", doc.steps[prev as usize].id),
                            );
                        } else {
                            step_of[f] = Some(si as u32);
                            fields.push(f as u32);
                        }
                    }
                    _ => {
                        let mut d = Diagnostic::error(
                            Code::UnknownName,
                            format!("{pointer}/fields/{j}"),
                            format!("`{fid}` is not a field"),
                        );
                        if let Some(s) = closest(fid, doc.fields.iter().map(|f| f.id.as_str())) {
                            d = d.with_note(format!("did you mean `{s}`?"));
                        }
                        self.b.diags.push(d);
                    }
                }
            }
            if s.fields.is_empty() {
                self.err(Code::Value, format!("{pointer}/fields"), "a step asks at least one field");
            }
            self.b.p.steps.push(StepDef {
                id: s.id.clone(),
                title: s.title.clone(),
                fields,
                visible: None,
                next: vec![],
            });
        }
        // Form order: background fields first (the page sets them up front), then step by step.
        let mut order: Vec<u32> = (0..n as u32).filter(|&f| step_of[f as usize].is_none()).collect();
        for s in &self.b.p.steps {
            order.extend(&s.fields);
        }
        let mut position = vec![0; n];
        for (pos, &f) in order.iter().enumerate() {
            position[f as usize] = pos;
        }
        self.names.position = position;
        self.b.p.order = order;

        // Fields.
        for (i, f) in doc.fields.iter().enumerate() {
            let pointer = format!("/fields/{i}");
            let choice = matches!(f.kind, FieldType::Choice | FieldType::Multi);
            let numeric = matches!(f.kind, FieldType::Number | FieldType::Integer);
            if choice {
                if f.options.is_empty() {
                    self.err(Code::Value, format!("{pointer}/options"), "a choice field needs `options`");
                }
                let max = if f.kind == FieldType::Multi { MAX_MULTI_OPTIONS } else { MAX_CHOICE_OPTIONS };
                self.limit(f.options.len(), max, &format!("{pointer}/options"), "options");
                let mut seen = HashMap::new();
                for (j, o) in f.options.iter().enumerate() {
                    // A multi answer in a CSV cell (a history, an export, a text input) is its values joined by
                    // `;`, each read trimmed.
                    let v = o.value();
                    if !is_option_value(v) {
                        let at = match o {
                            model::Choice::Value(_) => format!("{pointer}/options/{j}"),
                            model::Choice::Labeled { .. } => format!("{pointer}/options/{j}/value"),
                        };
                        self.err(
                            Code::Value,
                            at,
                            format!(
                                "the option value `{v}` cannot be used: an option value is not empty, has no `;` and \
                                 does not begin or end with a space (a list of answers is written `a;b`)"
                            ),
                        );
                    }
                    if let Some(prev) = seen.insert(o.value().to_string(), j) {
                        self.b.diags.push(
                            Diagnostic::error(
                                Code::Duplicate,
                                format!("{pointer}/options/{j}"),
                                format!("the option `{}` is listed twice", o.value()),
                            )
                            .with_note(format!("first at {pointer}/options/{prev}")),
                        );
                    }
                }
            } else if !f.options.is_empty() {
                self.err(
                    Code::Value,
                    format!("{pointer}/options"),
                    format!("`options` is only for choice and multi fields, not {:?}", f.kind).to_lowercase(),
                );
            }
            for (key, v) in [("min", f.min), ("max", f.max)] {
                if v.is_some() && !numeric {
                    self.err(
                        Code::Value,
                        format!("{pointer}/{key}"),
                        format!("`{key}` is only for number and integer fields"),
                    );
                }
            }
            if let (Some(lo), Some(hi)) = (f.min, f.max) {
                if lo > hi {
                    self.err(Code::Value, format!("{pointer}/min"), format!("min ({lo}) is above max ({hi})"));
                }
            }
            if f.max_length.is_some() && !matches!(f.kind, FieldType::String | FieldType::Email) {
                self.err(
                    Code::Value,
                    format!("{pointer}/max_length"),
                    "`max_length` is only for string and email fields",
                );
            }
            self.b.p.fields.push(FieldDef {
                id: f.id.clone(),
                kind: f.kind,
                label: f.label.clone(),
                help: f.help.clone(),
                placeholder: f.placeholder.clone(),
                required: None,
                visible: None,
                enabled: None,
                min: f.min,
                max: f.max,
                max_length: f.max_length.unwrap_or(500),
                options: f.options.clone(),
                step: step_of[i],
            });
        }
        // Field conditions, once every field's type and options are known.
        for (i, f) in doc.fields.iter().enumerate() {
            let pointer = format!("/fields/{i}");
            let before = Some(self.names.position.get(i).copied().unwrap_or(0));
            let scope = |key: &str| Scope {
                pointer: format!("{pointer}/{key}"),
                scores: false,
                before,
                before_what: "this field",
            };
            let required = f.required.as_ref().and_then(|r| match &r.0 {
                Json::Bool(false) => None,
                _ => Some(self.cond(r, &scope("required"))),
            });
            let visible = f.visible_if.as_ref().map(|v| self.cond(v, &scope("visible_if")));
            let enabled = f.enabled_if.as_ref().map(|v| self.cond(v, &scope("enabled_if")));
            let def = &mut self.b.p.fields[i];
            def.required = required;
            def.visible = visible;
            def.enabled = enabled;
        }

        // Step conditions and jumps.
        for (si, s) in doc.steps.iter().enumerate() {
            let pointer = format!("/steps/{si}");
            let first_pos = self.b.p.steps[si].fields.first().map(|&f| self.names.position[f as usize]);
            let end_pos = self.b.p.steps[si].fields.last().map(|&f| self.names.position[f as usize] + 1);
            if let Some(v) = &s.visible_if {
                let node = self.cond(
                    v,
                    &Scope {
                        pointer: format!("{pointer}/visible_if"),
                        scores: false,
                        before: first_pos,
                        before_what: "this step",
                    },
                );
                self.b.p.steps[si].visible = Some(node);
            }
            for (j, jump) in s.next.iter().enumerate() {
                let jp = format!("{pointer}/next/{j}");
                let cond = jump.when.as_ref().map(|w| {
                    self.cond(
                        w,
                        &Scope {
                            pointer: format!("{jp}/if"),
                            scores: false,
                            before: end_pos,
                            before_what: "the end of this step",
                        },
                    )
                });
                let target = if jump.goto == "end" {
                    None
                } else {
                    match step_ids.get(&jump.goto) {
                        Some(&t) => Some(t as u32),
                        None => {
                            self.err(
                                Code::UnknownName,
                                format!("{jp}/goto"),
                                format!("`{}` is not a step (use `end` to finish the form)", jump.goto),
                            );
                            continue;
                        }
                    }
                };
                self.b.p.steps[si].next.push((cond, target));
            }
        }
        self.jump_cycles();
    }

    /// Finds loops in the step graph: each step goes to its jump targets and, unless a jump without
    /// condition comes first, to the next step.
    pub(super) fn jump_cycles(&mut self) {
        let n = self.b.p.steps.len();
        let succ: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                let mut out = vec![];
                let mut falls = true;
                for (c, t) in &self.b.p.steps[i].next {
                    if let Some(t) = t {
                        out.push(*t as usize);
                    }
                    if c.is_none() {
                        falls = false;
                        break;
                    }
                }
                if falls && i + 1 < n {
                    out.push(i + 1);
                }
                out
            })
            .collect();
        // Iterative DFS with colours.
        let mut colour = vec![0u8; n];
        for root in 0..n {
            if colour[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            colour[root] = 1;
            while let Some(&mut (v, ref mut k)) = stack.last_mut() {
                if *k < succ[v].len() {
                    let w = succ[v][*k];
                    *k += 1;
                    match colour[w] {
                        0 => {
                            colour[w] = 1;
                            stack.push((w, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|&(s, _)| s == w).unwrap_or(0);
                            let mut path: Vec<&str> =
                                stack[from..].iter().map(|&(s, _)| self.b.p.steps[s].id.as_str()).collect();
                            path.push(&self.b.p.steps[w].id);
                            let msg = format!("the steps jump in a loop: {}", path.join(" -> "));
                            let j = self.b.p.steps[v].next.iter().position(|(_, t)| *t == Some(w as u32));
                            let pointer = match j {
                                Some(j) => format!("/steps/{v}/next/{j}/goto"),
                                None => format!("/steps/{v}"),
                            };
                            self.err(Code::JumpCycle, pointer, msg);
                            return;
                        }
                        _ => {}
                    }
                } else {
                    colour[v] = 2;
                    stack.pop();
                }
            }
        }
    }
}

//! What a multi-step form needs from the program, as indexes and flags: which fields are shown, enabled and
//! required, which steps are on the visitor's path, and, when the visitor leaves a step, whether a knockout
//! already holds for every way of finishing the form and which of the remaining steps can still change the
//! outcome. The web wing's form controller drives the page from these; they are pure functions of the
//! answers, the events and the clock, tested natively.

use crate::answers::{Answers, Events};
use crate::eval::{knockouts, layout, layout_with, pass, still_open};
use crate::program::Program;
use crate::vm::{Ctx, Slot};

/// The form's layout for the answers given so far, as if every unanswered field stayed unanswered: the path
/// then only depends on fields asked before each step, which is what the visitor has answered on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormState {
    /// Per field: on the path and visible (background fields: visible).
    pub shown: Vec<bool>,
    /// Per field: shown and editable (`enabled_if` holds or is absent).
    pub enabled: Vec<bool>,
    /// Per field: shown, enabled and required now (`required` is `true` or its condition holds).
    pub required: Vec<bool>,
    /// The steps on the path, by index, in order.
    pub path: Vec<usize>,
}

/// What the answers so far decide, when the fields flagged as asked will not be answered any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// A knockout that holds however the remaining fields are answered, by index (the first that holds now).
    pub knockout: Option<usize>,
    /// Every completion gives the same stage and the same disqualification.
    pub decided: bool,
    /// Per field: not asked yet, and its answer can still change the stage or the disqualification (including
    /// fields that decide whether such fields are shown).
    pub open: Vec<bool>,
}

impl Program {
    /// The form's layout for `answers` (see [`FormState`]).
    pub fn form_state(&self, answers: &Answers, events: &Events, now: f64) -> FormState {
        let now = if now.is_finite() { now } else { 0.0 };
        let l = layout(self, answers, Some(events), now, true);
        let ctx = Ctx { p: self, answers, slots: &l.slots, events: Some(events), now, scores: None, present: false };
        let n = self.fields.len();
        let mut enabled = vec![false; n];
        let mut required = vec![false; n];
        for (i, f) in self.fields.iter().enumerate() {
            if !l.shown[i] {
                continue;
            }
            enabled[i] = f.enabled.is_none() || ctx.cond(f.enabled).is_true();
            required[i] = enabled[i] && f.required.is_some() && ctx.cond(f.required).is_true();
        }
        let path = (0..self.steps.len()).filter(|&s| l.on_path[s]).collect();
        FormState { shown: l.shown, enabled, required, path }
    }

    /// What is decided once the fields with `asked[field] == true` are final (answered or left empty for
    /// good) and the others may still be answered. A missing entry in `asked` counts as not asked.
    pub fn outcome(&self, answers: &Answers, events: &Events, now: f64, asked: &[bool]) -> Outcome {
        let now = if now.is_finite() { now } else { 0.0 };
        let is_asked = |f: usize| asked.get(f).copied().unwrap_or(false);
        let cur = layout(self, answers, Some(events), now, true);
        let cur_ctx =
            Ctx { p: self, answers, slots: &cur.slots, events: Some(events), now, scores: None, present: false };
        let (now_knockout, _) = knockouts(&cur_ctx);
        let l = layout_with(self, answers, Some(events), now, &is_asked);
        let r = pass(self, answers, &l.slots, Some(events), now);
        // A knockout that holds in the range pass holds for every completion; the one shown is the first that
        // holds now (an earlier, still open one cannot hold now, so they agree when the range pass is certain).
        let knockout = if r.knockout.is_some() { now_knockout.or(r.knockout) } else { None };
        let decided = r.knockouts_open.is_empty() && (r.knockout.is_some() || r.stage.is_some());
        let mut fields: Vec<u32> = vec![];
        if !decided {
            let ctx =
                Ctx { p: self, answers, slots: &l.slots, events: Some(events), now, scores: None, present: false };
            fields = still_open(&r, &ctx);
        }
        let mut open = vec![false; self.fields.len()];
        for f in fields {
            let f = f as usize;
            if matches!(l.slots.get(f), Some(Slot::Pending)) {
                open[f] = true;
            }
        }
        Outcome { knockout, decided, open }
    }
}

/// Where the visitor goes on leaving a step (Next, or Enter in one of its fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leave {
    /// To this step; `skipped` are the steps between, which an early finish does not ask.
    Go { step: usize, skipped: Vec<usize> },
    /// A knockout holds however the rest is answered (by index): the form ends, nothing is sent.
    Knockout(usize),
    /// No step is left to ask: check everything, then send; `skipped` as for `Go`.
    Finish { skipped: Vec<usize> },
}

impl FormState {
    /// The fields asked once the visitor has left step `upto` (`None`: none left yet): the background fields
    /// and those of the path's steps up to and including it.
    pub fn asked(&self, p: &Program, upto: Option<usize>) -> Vec<bool> {
        let mut asked: Vec<bool> = p.fields.iter().map(|f| f.step.is_none()).collect();
        for &s in &self.path {
            for &f in &p.steps[s].fields {
                asked[f as usize] = true;
            }
            if Some(s) == upto {
                break;
            }
        }
        asked
    }
}

impl Program {
    /// The decision on leaving step `cur` of the path in `state` (valid answers assumed: the controller checks
    /// them first): a knockout that holds for every way of finishing ends the form; otherwise the next step of
    /// the path, or with `early_finish` the next one where a field can still change the outcome (the steps
    /// before it are skipped); none left: finish.
    pub fn leave_step(
        &self,
        answers: &Answers,
        events: &Events,
        now: f64,
        state: &FormState,
        cur: usize,
        early_finish: bool,
    ) -> Leave {
        let o = self.outcome(answers, events, now, &state.asked(self, Some(cur)));
        if let Some(k) = o.knockout {
            return Leave::Knockout(k);
        }
        let rest: &[usize] = match state.path.iter().position(|&s| s == cur) {
            Some(p) => &state.path[p + 1..],
            None => &[],
        };
        let next = if early_finish {
            rest.iter().copied().find(|&s| !o.decided && self.steps[s].fields.iter().any(|&f| o.open[f as usize]))
        } else {
            rest.first().copied()
        };
        let skipped: Vec<usize> = rest.iter().copied().take_while(|&s| Some(s) != next).collect();
        match next {
            Some(step) => Leave::Go { step, skipped },
            None => Leave::Finish { skipped },
        }
    }
}

impl Program {
    /// The grade of these group scores (in model order): the matrix cell, such as `A1`, when the model has a
    /// matrix, else the letter; `None` when the model does not grade.
    pub fn grade_of(&self, groups: &[f64]) -> Option<String> {
        self.grade_result(groups).map(|g| g.cell.unwrap_or(g.letter))
    }

    /// The grade of these group scores (in model order), as [`crate::Evaluation::grade`] gives it.
    pub fn grade_result(&self, groups: &[f64]) -> Option<crate::GradeResult> {
        let g = self.grade.as_ref()?;
        let score = |i: u32| groups.get(i as usize).copied().unwrap_or(0.0);
        let letter = crate::eval::band(&g.bands, score(g.group));
        let cell = g.matrix.as_ref().map(|(mg, bands)| format!("{letter}{}", crate::eval::band(bands, score(*mg))));
        Some(crate::GradeResult { letter, cell })
    }

    /// The ending screen for an outcome: the knockout's reason's ending when a knockout holds, else the
    /// stage's, else the default one.
    pub fn ending_of(&self, knockout: Option<usize>, stage: usize) -> Option<&crate::model::Ending> {
        let specific = match knockout {
            Some(k) => self.knockouts.get(k).and_then(|k| self.endings.knockouts.get(&k.reason)),
            None => self.stages.get(stage).and_then(|s| self.endings.stages.get(&s.id)),
        };
        specific.or(self.endings.default.as_ref())
    }

    /// An ending's action link with its placeholders (`{email}`) filled with the answers, URL-encoded (an
    /// unanswered field: empty); None when the link is not an allowed one (see `valid::action_problem`).
    pub fn action_link(&self, url: &str, answers: &Answers) -> Option<String> {
        let filled = crate::valid::fill_link(url, |name| {
            self.field_index(name).map_or(String::new(), |i| crate::answers::answer_text(self, i, answers.get(i)))
        });
        crate::valid::link_problem(&filled).is_none().then_some(filled)
    }
}

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::compile_str;

    fn program() -> Program {
        let doc = r#"{
          "leadscore": 1, "id": "t",
          "fields": [
            {"id": "email", "type": "email", "required": true},
            {"id": "role", "type": "choice", "options": ["student", "manager"], "required": true},
            {"id": "employees", "type": "integer"},
            {"id": "revenue", "type": "number", "visible_if": "employees >= 20"},
            {"id": "phone", "type": "string", "required": "employees >= 100"},
            {"id": "callback", "type": "string", "enabled_if": "answered(phone)", "required": true},
            {"id": "sso", "type": "boolean"},
            {"id": "note", "type": "string"}
          ],
          "steps": [
            {"id": "a", "fields": ["email", "role"], "next": [{"if": "role == 'student'", "goto": "end"}]},
            {"id": "b", "fields": ["employees", "revenue"]},
            {"id": "c", "fields": ["phone", "callback"]},
            {"id": "d", "visible_if": "employees >= 250", "fields": ["sso"]},
            {"id": "e", "fields": ["note"]}
          ],
          "rules": [
            {"id": "big", "group": "fit", "when": "employees >= 50", "points": 30},
            {"id": "sso", "group": "fit", "when": "sso", "points": 30}
          ],
          "knockouts": [{"id": "student", "when": "role == 'student'", "reason": "student"}],
          "stages": [{"id": "mql", "when": "score >= 30"}, {"id": "lead"}]
        }"#;
        let c = compile_str(doc);
        c.program.unwrap_or_else(|| panic!("{:?}", c.diagnostics))
    }

    fn answers(p: &Program, v: serde_json::Value) -> Answers {
        let (a, issues) = Answers::from_json(p, &v);
        assert!(issues.is_empty(), "{issues:?}");
        a
    }

    fn ids(p: &Program, flags: &[bool]) -> Vec<String> {
        flags.iter().enumerate().filter(|(_, &b)| b).map(|(i, _)| p.fields[i].id.clone()).collect()
    }

    fn step_ids(p: &Program, path: &[usize]) -> Vec<String> {
        path.iter().map(|&s| p.steps[s].id.clone()).collect()
    }

    /// Fields of the steps up to and including `upto` on the path count as asked.
    fn asked(p: &Program, state: &FormState, upto: &str) -> Vec<bool> {
        let mut asked = vec![false; p.fields.len()];
        for &s in &state.path {
            for &f in &p.steps[s].fields {
                asked[f as usize] = true;
            }
            if p.steps[s].id == upto {
                break;
            }
        }
        asked
    }

    #[test]
    fn layout_follows_conditions() {
        let p = program();
        let ev = Events::new(&p);
        let s = p.form_state(&answers(&p, json!({})), &ev, 0.0);
        assert_eq!(step_ids(&p, &s.path), ["a", "b", "c", "e"]);
        assert_eq!(ids(&p, &s.shown), ["email", "role", "employees", "phone", "callback", "note"]);
        assert_eq!(ids(&p, &s.enabled), ["email", "role", "employees", "phone", "note"]);
        // `callback` is required, but not while it is disabled.
        assert_eq!(ids(&p, &s.required), ["email", "role"]);

        let s = p.form_state(&answers(&p, json!({"employees": 300, "phone": "+39 02 1234"})), &ev, 0.0);
        assert_eq!(step_ids(&p, &s.path), ["a", "b", "c", "d", "e"]);
        assert_eq!(ids(&p, &s.required), ["email", "role", "phone", "callback"]);
        assert!(s.shown[p.field_index("revenue").unwrap()]);

        // A jump to the end drops every later step: their answers are not shown, so they do not count.
        let s = p.form_state(&answers(&p, json!({"role": "student", "employees": 300})), &ev, 0.0);
        assert_eq!(step_ids(&p, &s.path), ["a"]);
        assert_eq!(ids(&p, &s.shown), ["email", "role"]);
    }

    #[test]
    fn knockout_ends_the_form_only_when_certain() {
        let p = program();
        let ev = Events::new(&p);
        let a = answers(&p, json!({"email": "a@b.co", "role": "student"}));
        let s = p.form_state(&a, &ev, 0.0);
        let o = p.outcome(&a, &ev, 0.0, &asked(&p, &s, "a"));
        assert_eq!(o.knockout, Some(0));
        assert!(o.decided);
        assert!(o.open.iter().all(|&x| !x));

        let a = answers(&p, json!({"email": "a@b.co", "role": "manager"}));
        let s = p.form_state(&a, &ev, 0.0);
        let o = p.outcome(&a, &ev, 0.0, &asked(&p, &s, "a"));
        assert_eq!(o.knockout, None);
        assert!(!o.decided);
        // employees decides `big`, the stage and whether `d` (and its sso) is shown; phone and note decide
        // nothing.
        assert_eq!(ids(&p, &o.open), ["employees", "sso"]);
    }

    #[test]
    fn remaining_steps_that_cannot_change_the_outcome() {
        let p = program();
        let ev = Events::new(&p);
        // 60 employees: 30 points, mql whatever comes next (d is off the path, sso cannot be asked).
        let a = answers(&p, json!({"email": "a@b.co", "role": "manager", "employees": 60}));
        let s = p.form_state(&a, &ev, 0.0);
        let o = p.outcome(&a, &ev, 0.0, &asked(&p, &s, "b"));
        assert!(o.decided);
        assert_eq!(o.knockout, None);
        assert!(o.open.iter().all(|&x| !x));

        // 10 employees, revenue hidden: lead whatever comes next.
        let a = answers(&p, json!({"email": "a@b.co", "role": "manager", "employees": 10}));
        let s = p.form_state(&a, &ev, 0.0);
        assert!(p.outcome(&a, &ev, 0.0, &asked(&p, &s, "b")).decided);

        // Before step b is answered, employees is still open.
        let a = answers(&p, json!({"email": "a@b.co", "role": "manager"}));
        let o = p.outcome(&a, &ev, 0.0, &asked(&p, &s, "a"));
        assert!(!o.decided);
        assert!(o.open[p.field_index("employees").unwrap()]);
    }

    #[test]
    fn asked_fields_left_empty_are_final() {
        let p = program();
        let ev = Events::new(&p);
        // employees left empty on step b: step d (sso, 30 points) cannot come any more.
        let a = answers(&p, json!({"email": "a@b.co", "role": "manager"}));
        let s = p.form_state(&a, &ev, 0.0);
        let o = p.outcome(&a, &ev, 0.0, &asked(&p, &s, "b"));
        assert!(o.decided, "{o:?}");
        // Nothing asked: everything can still happen.
        let o = p.outcome(&a, &ev, 0.0, &[]);
        assert!(!o.decided);
        assert!(!o.open[p.field_index("role").unwrap()], "answered fields are never open");
    }

    #[test]
    fn grade_and_ending_agree_with_evaluate() {
        let text = include_str!("../examples/b2b-saas.json");
        let p = compile_str(text).program.unwrap();
        let ev = Events::new(&p);
        let opts = crate::Options { complete: true, ..Default::default() };
        for lead in [
            json!({"email": "ana@shop.example", "seniority": "vp", "use_case": "own_company", "country": "IT",
                   "industry": "ecommerce", "employees": 400, "timeline": "now", "decision_maker": true,
                   "budget_monthly": 3000}),
            json!({"email": "kid@uni.example", "seniority": "student", "use_case": "coursework"}),
            json!({"email": "x@gmail.com", "seniority": "manager", "use_case": "own_company", "country": "FR",
                   "industry": "other", "employees": 12, "timeline": "researching", "budget_monthly": 500}),
            json!({}),
        ] {
            let a = answers(&p, lead);
            let e = p.evaluate(&a, &ev, 0.0, &opts);
            let s = p.score(&a, &ev, 0.0);
            let grade = e.grade.as_ref().map(|g| g.cell.clone().unwrap_or(g.letter.clone()));
            assert_eq!(p.grade_of(&s.groups), grade);
            let ending = p.ending_of(s.knockout, s.stage).and_then(|x| x.title.as_ref()).map(|t| t.get("en", "en"));
            assert_eq!(ending, e.ending.as_ref().and_then(|x| x.title.as_deref()));
        }
    }
}

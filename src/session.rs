//! A form in progress: answers and events change one at a time, and the score follows by re-scoring only what
//! depends on the change. The result is always the one [`Program::score`] gives for the same state.

use std::ops::Deref;

use serde_json::Value as Json;

use crate::answers::{Answers, Events, Issue};
use crate::eval::{layout_into, raw_sums_into, rule_outcome, stages, totals_into, Evaluation, Layout, Options, Score};
use crate::program::Program;
use crate::vm::{Ctx, Scores, Slot};

/// What a change can touch, worked out once per session from the program.
#[derive(Debug, Default)]
struct Deps {
    /// Per field: the rules that read it.
    field_rules: Vec<Vec<u32>>,
    /// Per event: the rules that read it or count it.
    event_rules: Vec<Vec<u32>>,
    /// Per field: whether a visibility or jump condition reads it.
    field_layout: Vec<bool>,
    /// Whether a visibility or jump condition reads an event (and so the clock).
    event_layout: bool,
    /// Rules that read any event, and so the clock.
    timed_rules: Vec<u32>,
    /// Per field: the knockouts that read it.
    field_kos: Vec<Vec<u32>>,
    /// Knockouts that read any event.
    timed_kos: Vec<u32>,
}

impl Deps {
    fn of(p: &Program) -> Deps {
        let mut d = Deps {
            field_rules: vec![vec![]; p.fields.len()],
            event_rules: vec![vec![]; p.events.len()],
            field_layout: vec![false; p.fields.len()],
            field_kos: vec![vec![]; p.fields.len()],
            ..Deps::default()
        };
        for (i, k) in p.knockouts.iter().enumerate() {
            let (mut fields, mut events) = (vec![], vec![]);
            p.reads(k.when, &mut fields, &mut events);
            crate::program::sort_dedup(&mut fields);
            for f in fields {
                d.field_kos[f as usize].push(i as u32);
            }
            if !events.is_empty() {
                d.timed_kos.push(i as u32);
            }
        }
        for (i, r) in p.rules.iter().enumerate() {
            for &f in &r.fields {
                d.field_rules[f as usize].push(i as u32);
            }
            for &e in &r.events {
                d.event_rules[e as usize].push(i as u32);
            }
            if !r.events.is_empty() {
                d.timed_rules.push(i as u32);
            }
        }
        let conds = p
            .fields
            .iter()
            .map(|f| f.visible)
            .chain(p.steps.iter().flat_map(|s| std::iter::once(s.visible).chain(s.next.iter().map(|n| n.0))));
        let (mut fields, mut events) = (vec![], vec![]);
        for c in conds.flatten() {
            p.reads(c, &mut fields, &mut events);
        }
        for f in fields {
            d.field_layout[f as usize] = true;
        }
        d.event_layout = !events.is_empty();
        d
    }
}

/// A form in progress, scored incrementally.
///
/// `P` is anything that derefs to a [`Program`]: `&Program`, `Rc<Program>`, `Arc<Program>`.
/// ```
/// # let doc = r#"{"leadscore": 1, "id": "d", "fields": [{"id": "employees", "type": "integer"}],
/// #   "rules": [{"id": "size", "group": "fit", "when": "employees >= 50", "points": 20}],
/// #   "stages": [{"id": "mql", "when": "score >= 20"}, {"id": "lead"}]}"#;
/// let program = leadscore::compile_str(doc).program.unwrap();
/// let mut session = leadscore::Session::new(&program, 0.0);
/// let employees = program.field_index("employees").unwrap();
/// session.set_number(employees, 120.0).unwrap();
/// assert_eq!(session.score().total, 20.0);
/// ```
pub struct Session<P: Deref<Target = Program>> {
    program: P,
    deps: Deps,
    answers: Answers,
    events: Events,
    now: f64,
    /// Per field: shown in the submitted-now layout.
    shown: Vec<bool>,
    /// Per rule: points in the submitted-now pass.
    points: Vec<(f64, f64)>,
    /// Per rule: it fired with points (what a ledger lists) in the submitted-now pass.
    fired: Vec<bool>,
    /// Per rule: to be re-scored.
    dirty: Vec<bool>,
    /// Per knockout: whether it holds in the submitted-now pass.
    holds: Vec<bool>,
    /// Knockouts to re-check.
    ko_dirty: Vec<bool>,
    /// Something changed since the last score: at least the stages are re-checked.
    stale: bool,
    layout_dirty: bool,
    score: Score,
    /// Buffers reused by every refresh.
    layout: Layout,
    slots: Vec<Slot>,
    raw: Vec<(f64, f64)>,
    scores: Scores,
}

impl<P: Deref<Target = Program>> Session<P> {
    /// An empty form at time `now` (milliseconds since 1970).
    pub fn new(program: P, now: f64) -> Self {
        let p: &Program = &program;
        let deps = Deps::of(p);
        let answers = Answers::new(p);
        let events = Events::new(p);
        let now = if now.is_finite() { now } else { 0.0 };
        let score = Score { total: 0.0, groups: vec![0.0; p.groups.len()], stage: 0, knockout: None };
        let (n_fields, n_rules, n_kos) = (p.fields.len(), p.rules.len(), p.knockouts.len());
        let mut s = Session {
            program,
            deps,
            answers,
            events,
            now,
            shown: vec![false; n_fields],
            points: vec![(0.0, 0.0); n_rules],
            fired: vec![false; n_rules],
            dirty: vec![true; n_rules],
            holds: vec![false; n_kos],
            ko_dirty: vec![true; n_kos],
            stale: true,
            layout_dirty: true,
            score,
            layout: Layout { slots: vec![], shown: vec![], on_path: vec![] },
            slots: vec![],
            raw: vec![],
            scores: Scores::default(),
        };
        s.refresh();
        s
    }

    /// The program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The answers so far.
    pub fn answers(&self) -> &Answers {
        &self.answers
    }

    /// The events so far.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The clock, in milliseconds since 1970.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// Sets field `index` from JSON. On error the field is left unanswered and the issue returned.
    pub fn set_json(&mut self, index: usize, v: &Json) -> Result<(), Issue> {
        let r = self.answers.set_json(&self.program, index, v);
        self.touch_field(index);
        r
    }

    /// Sets field `index` from the text a form input holds.
    pub fn set_text(&mut self, index: usize, text: &str) -> Result<(), Issue> {
        let r = self.answers.set_text(&self.program, index, text);
        self.touch_field(index);
        r
    }

    /// Sets field `index` from the values its form controls submit ([`Answers::set_form_values`]).
    pub fn set_form_values<S: AsRef<str>>(&mut self, index: usize, values: &[S]) -> Result<(), Issue> {
        let r = self.answers.set_form_values(&self.program, index, values);
        self.touch_field(index);
        r
    }

    /// Sets a number or integer field.
    pub fn set_number(&mut self, index: usize, n: f64) -> Result<(), Issue> {
        let r = self.answers.set_number(&self.program, index, n);
        self.touch_field(index);
        r
    }

    /// Removes the answer to field `index`.
    pub fn clear(&mut self, index: usize) {
        self.answers.clear(index);
        self.touch_field(index);
    }

    /// Records one occurrence of event `index` at `at` (milliseconds since 1970).
    pub fn record(&mut self, index: usize, at: f64) -> Result<(), Issue> {
        self.events.record(index, at)?;
        for &r in &self.deps.event_rules[index] {
            self.dirty[r as usize] = true;
        }
        self.touch_timed_conditions();
        Ok(())
    }

    /// Moves the clock: decay and day windows follow it.
    pub fn set_now(&mut self, now: f64) {
        let now = if now.is_finite() { now } else { 0.0 };
        if now.to_bits() == self.now.to_bits() {
            return;
        }
        self.now = now;
        for &r in &self.deps.timed_rules {
            self.dirty[r as usize] = true;
        }
        self.touch_timed_conditions();
    }

    /// After an event or the clock changed: knockouts and layout conditions that read events.
    fn touch_timed_conditions(&mut self) {
        for &k in &self.deps.timed_kos {
            self.ko_dirty[k as usize] = true;
        }
        self.layout_dirty |= self.deps.event_layout;
        self.stale = true;
    }

    /// After field `index` changed (or was shown or hidden): the rules and knockouts that read it.
    fn touch_readers(&mut self, index: usize) {
        for &r in &self.deps.field_rules[index] {
            self.dirty[r as usize] = true;
        }
        for &k in &self.deps.field_kos[index] {
            self.ko_dirty[k as usize] = true;
        }
    }

    fn touch_field(&mut self, index: usize) {
        if index >= self.shown.len() {
            return;
        }
        self.touch_readers(index);
        self.layout_dirty |= self.deps.field_layout[index];
        self.stale = true;
    }

    /// The score as if the form were submitted now: the same as [`Program::score`] of the same state.
    pub fn score(&mut self) -> &Score {
        self.refresh();
        &self.score
    }

    /// The rules that fire with points as if the form were submitted now (the rules of the ledger of
    /// `evaluate` with `complete`), by index in `Program::rules`.
    pub fn fired(&mut self) -> impl Iterator<Item = usize> + '_ {
        self.refresh();
        self.fired.iter().enumerate().filter(|(_, &f)| f).map(|(i, _)| i)
    }

    /// What the answers still to come can change: the same as [`Program::outlook`] of the same state.
    pub fn outlook(&self) -> crate::Outlook {
        self.program.outlook(&self.answers, &self.events, self.now)
    }

    /// The full evaluation of the form in progress (or submitted, with `opts.complete`).
    pub fn evaluate(&self, opts: &Options) -> Evaluation {
        self.program.evaluate(&self.answers, &self.events, self.now, opts)
    }

    fn refresh(&mut self) {
        if !self.stale {
            return;
        }
        if self.layout_dirty {
            layout_into(&self.program, &self.answers, Some(&self.events), self.now, &|_| true, &mut self.layout);
            std::mem::swap(&mut self.shown, &mut self.layout.shown);
            for f in 0..self.shown.len() {
                if self.shown[f] != self.layout.shown[f] {
                    self.touch_readers(f);
                }
            }
            self.layout_dirty = false;
        }
        let p: &Program = &self.program;
        // Submitted now: a field counts when it is shown and answered.
        self.slots.clear();
        self.slots.extend((0..p.fields.len()).map(|i| match self.answers.get(i) {
            Some(_) if self.shown[i] => Slot::Known,
            _ => Slot::Absent,
        }));
        let ctx = Ctx {
            p,
            answers: &self.answers,
            slots: &self.slots,
            events: Some(&self.events),
            now: self.now,
            scores: None,
            present: false,
        };
        for (i, r) in p.rules.iter().enumerate() {
            if self.dirty[i] {
                let o = rule_outcome(&ctx, r);
                self.points[i] = o.points;
                self.fired[i] = o.cond.is_true() && o.points.0 != 0.0;
                self.dirty[i] = false;
            }
        }
        for (i, k) in p.knockouts.iter().enumerate() {
            if self.ko_dirty[i] {
                self.holds[i] = ctx.cond(Some(k.when)).is_true();
                self.ko_dirty[i] = false;
            }
        }
        let knockout = self.holds.iter().position(|&h| h);
        raw_sums_into(p, self.points.iter().copied(), &mut self.raw);
        totals_into(p, &self.raw, &mut self.scores);
        let (stage, _) = stages(&ctx, &self.scores);
        self.score.total = self.scores.total.0;
        self.score.groups.clear();
        self.score.groups.extend(self.scores.groups.iter().map(|g| g.0));
        self.score.stage = stage.unwrap_or(p.stages.len().saturating_sub(1));
        self.score.knockout = knockout;
        self.stale = false;
    }
}

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use super::*;

    /// JsonLogic's `missing` and `missing_some` read the fields they name: a session scores their rules again
    /// when one of those changes, also when the name is computed from another answer. (Found: they were not
    /// recorded as reads, and a rule kept the value it had when it was first scored.)
    #[test]
    fn missing_is_scored_again_when_a_field_it_names_changes() {
        let p = crate::compile_str(
            r#"{"leadscore": 1, "id": "m",
              "fields": [{"id": "email", "type": "email"}, {"id": "phone", "type": "string"},
                         {"id": "pick", "type": "choice", "options": ["email", "phone"]}],
              "rules": [
                {"id": "both", "group": "fit", "when": {"!": {"missing": ["email", "phone"]}}, "points": 10},
                {"id": "either", "group": "fit", "when": {"!": {"missing_some": [1, ["email", "phone"]]}}, "points": 5},
                {"id": "picked", "group": "fit", "when": {"!": {"missing": [{"var": "pick"}]}}, "points": 1}
              ],
              "stages": [{"id": "lead"}]}"#,
        )
        .program
        .expect("compiles");
        let (email, phone, pick) = (0, 1, 2);
        let mut s = Session::new(&p, 0.0);
        let check = |s: &mut Session<&Program>, want: f64, step: &str| {
            let fresh = p.score(s.answers(), s.events(), 0.0).total;
            assert_eq!((s.score().total, fresh), (want, want), "{step}");
        };
        // `missing` of a null name (`pick` unanswered) finds nothing missing, as in json-logic-js.
        check(&mut s, 1.0, "empty");
        s.set_text(pick, "phone").unwrap();
        check(&mut s, 0.0, "phone picked, not given");
        s.set_text(email, "ada@zahlwerk.de").unwrap();
        check(&mut s, 5.0, "email");
        s.set_text(phone, "+39 02 1234").unwrap();
        check(&mut s, 16.0, "email and phone");
        s.clear(email);
        check(&mut s, 6.0, "phone only");
        s.clear(phone);
        check(&mut s, 0.0, "neither");
        s.set_text(email, "ada@zahlwerk.de").unwrap();
        s.set_text(pick, "email").unwrap();
        check(&mut s, 6.0, "email picked and given");
    }
}

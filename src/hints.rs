//! Counterfactual hints: the single changes (answer one field, record one event) that would move a lead to
//! the next better stage, found by re-scoring candidate changes with the same engine.
//!
//! Candidates are drawn from the program itself: every option of a choice, the thresholds a number field
//! is compared with (and one past them), the items of lists a field is tested against, both booleans, one
//! more occurrence of each event now. A hint is only given when re-scoring confirms it.

use serde::Serialize;
use serde_json::Value as Json;

use crate::answers::{answer_json, Answer, Answers, Events};
use crate::eval::layout;
use crate::model::FieldType;
use crate::program::{Cmp, Func, ListItems, Node, Program};

/// Hints towards the next stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hints {
    /// The stage now (`disqualified` when a knockout holds).
    pub stage: String,
    /// The next better stage, if there is one.
    pub target: Option<String>,
    /// Changes that reach `target` on their own, best first: unanswered fields, then events, then changed
    /// answers; within each, the largest score first.
    pub reach: Vec<Hint>,
    /// When no single change reaches the target: the changes that raise the score most (at most 5).
    pub closer: Vec<Hint>,
}

/// One change and its effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hint {
    /// `answer` (an unanswered field), `change` (a different answer) or `event`.
    pub kind: &'static str,
    /// The field id or event id.
    pub name: String,
    /// The answer to give (for `answer` and `change`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Json>,
    /// The score after the change.
    pub score: f64,
    /// Score after minus score now.
    pub gain: f64,
    /// The stage after the change.
    pub stage: String,
}

struct Outcome {
    score: f64,
    stage: Option<usize>,
    disqualified: bool,
}

fn outcome(p: &Program, answers: &Answers, events: &Events, now: f64) -> Outcome {
    let s = p.score(answers, events, now);
    Outcome { score: s.total, stage: Some(s.stage), disqualified: s.knockout.is_some() }
}

/// Values worth trying for a field.
fn candidates(p: &Program, f: usize, current: Option<&Answer>) -> Vec<Answer> {
    let def = &p.fields[f];
    let mut out = vec![];
    match def.kind {
        FieldType::Choice => out.extend((0..def.options.len() as u32).map(Answer::Choice)),
        FieldType::Multi => {
            let bits = match current {
                Some(Answer::Multi(b)) => *b,
                _ => 0,
            };
            out.extend(
                (0..def.options.len().min(64)).filter(|i| bits & (1 << i) == 0).map(|i| Answer::Multi(bits | (1 << i))),
            );
        }
        FieldType::Boolean => out.extend([Answer::Bool(true), Answer::Bool(false)]),
        FieldType::Number | FieldType::Integer => {
            let mut nums = vec![];
            for n in &p.nodes {
                let (a, b) = match n {
                    Node::Cmp(_, a, b) => (*a, *b),
                    Node::Between(x, lo, hi) => {
                        if matches!(p.nodes.get(*x as usize), Some(Node::Field(ff)) if *ff as usize == f) {
                            for b in [lo, hi] {
                                if let Some(Node::Num(t)) = p.nodes.get(*b as usize) {
                                    nums.extend([*t, *t + 1.0, *t - 1.0]);
                                }
                            }
                        }
                        continue;
                    }
                    _ => continue,
                };
                let (fa, fb) = (p.nodes.get(a as usize), p.nodes.get(b as usize));
                let t = match (fa, fb) {
                    (Some(Node::Field(ff)), Some(Node::Num(t))) | (Some(Node::Num(t)), Some(Node::Field(ff)))
                        if *ff as usize == f =>
                    {
                        *t
                    }
                    _ => continue,
                };
                nums.extend([t, t + 1.0, t - 1.0]);
            }
            nums.extend(def.min);
            nums.extend(def.max);
            nums.sort_by(f64::total_cmp);
            nums.dedup();
            for n in nums {
                let ok_int = def.kind == FieldType::Number || n.fract() == 0.0;
                let in_range = def.min.is_none_or(|m| n >= m) && def.max.is_none_or(|m| n <= m);
                if ok_int && in_range && n.is_finite() {
                    out.push(Answer::Num(n));
                }
            }
        }
        FieldType::Country | FieldType::String | FieldType::Email => {
            let mut strs: Vec<String> = vec![];
            // `f` itself, or `domain(f)` / `lower(f)` / `upper(f)` of it: how a list item becomes an answer.
            let reads = |x: u32| -> Option<fn(&str) -> String> {
                match p.nodes.get(x as usize)? {
                    Node::Field(ff) if *ff as usize == f => Some(|s| s.to_string()),
                    Node::Call(func, a, 1) => {
                        let arg = *p.call_args(*a, 1).first()?;
                        if !matches!(p.nodes.get(arg as usize), Some(Node::Field(ff)) if *ff as usize == f) {
                            return None;
                        }
                        match func {
                            Func::Domain => Some(|s| format!("name@{s}")),
                            Func::Lower | Func::Upper => Some(|s| s.to_string()),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            };
            for n in &p.nodes {
                match n {
                    Node::In(x, l) => {
                        if let (Some(make), Some(ListItems::Str(items))) =
                            (reads(*x), p.lists.get(*l as usize).map(|l| &l.items))
                        {
                            strs.extend(items.iter().take(5).map(|s| make(s)));
                        }
                    }
                    Node::Cmp(Cmp::Eq, a, b) => {
                        for (x, y) in [(a, b), (b, a)] {
                            if let (Some(Node::Field(ff)), Some(Node::Str(s))) =
                                (p.nodes.get(*x as usize), p.nodes.get(*y as usize))
                            {
                                if *ff as usize == f {
                                    strs.push(p.strings[*s as usize].to_string());
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            // An unanswered text or email no condition names a value of still counts once answered
            // (`answered(email)`): one neutral answer stands for any.
            if current.is_none() {
                match def.kind {
                    FieldType::Email => strs.push("name@example.com".into()),
                    FieldType::String => strs.push("example".into()),
                    _ => {}
                }
            }
            strs.sort_unstable();
            strs.dedup();
            out.extend(strs.iter().map(|s| Answer::text(s)));
        }
    }
    out.retain(|a| Some(a) != current);
    out
}

impl Program {
    /// The smallest single changes that move this lead to the next better stage.
    pub fn hints(&self, answers: &Answers, events: &Events, now: f64) -> Hints {
        let p = self;
        let now = if now.is_finite() { now } else { 0.0 };
        let base = outcome(p, answers, events, now);
        let stage_id = |o: &Outcome| {
            if o.disqualified {
                "disqualified".to_string()
            } else {
                o.stage.and_then(|s| p.stages.get(s)).map_or(String::new(), |s| s.id.clone())
            }
        };
        let current = stage_id(&base);
        let cur_idx = base.stage.unwrap_or(0);
        let target = if base.disqualified || cur_idx == 0 { None } else { Some(cur_idx - 1) };
        let mut hints =
            Hints { stage: current, target: target.map(|t| p.stages[t].id.clone()), reach: vec![], closer: vec![] };
        let Some(target) = target else { return hints };

        let mut all: Vec<(u8, Hint, bool)> = vec![];
        let shown = layout(p, answers, Some(events), now, false);
        let mut trial = answers.clone();
        for &f in &p.order {
            let f = f as usize;
            // Only fields the visitor can be asked now or later.
            if matches!(shown.slots[f], crate::vm::Slot::Absent) && answers.get(f).is_none() {
                continue;
            }
            let cur = answers.get(f).cloned();
            let mut best_for_field: Option<(u8, Hint, bool)> = None;
            for cand in candidates(p, f, cur.as_ref()) {
                trial.slots[f] = Some(cand.clone());
                let o = outcome(p, &trial, events, now);
                if o.disqualified {
                    continue;
                }
                let reaches = o.stage.is_some_and(|s| s <= target);
                let kind = if cur.is_none() { "answer" } else { "change" };
                let h = Hint {
                    kind,
                    name: p.fields[f].id.clone(),
                    value: Some(answer_json(p, f, Some(&cand))),
                    score: o.score,
                    gain: o.score - base.score,
                    stage: stage_id(&o),
                };
                let rank = if cur.is_none() { 0 } else { 2 };
                // Per field, keep one: a reaching value first, then the largest gain.
                let better = match &best_for_field {
                    None => true,
                    Some((_, b, br)) => (reaches && !br) || (reaches == *br && h.gain > b.gain),
                };
                if better {
                    best_for_field = Some((rank, h, reaches));
                }
            }
            trial.slots[f] = cur;
            if let Some(b) = best_for_field {
                if b.1.gain > 0.0 || b.2 {
                    all.push(b);
                }
            }
        }
        for (e, (id, _)) in p.events.iter().enumerate() {
            let mut ev = events.clone();
            let _ = ev.record(e, now);
            let o = outcome(p, answers, &ev, now);
            if o.disqualified {
                continue;
            }
            let reaches = o.stage.is_some_and(|s| s <= target);
            let h = Hint {
                kind: "event",
                name: id.clone(),
                value: None,
                score: o.score,
                gain: o.score - base.score,
                stage: stage_id(&o),
            };
            if h.gain > 0.0 || reaches {
                all.push((1, h, reaches));
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.gain.total_cmp(&a.1.gain)).then(a.1.name.cmp(&b.1.name)));
        hints.reach = all.iter().filter(|x| x.2).map(|x| x.1.clone()).collect();
        if hints.reach.is_empty() {
            let mut closer: Vec<Hint> = all.into_iter().map(|x| x.1).collect();
            closer.sort_by(|a, b| b.gain.total_cmp(&a.gain).then(a.name.cmp(&b.name)));
            closer.truncate(5);
            hints.closer = closer;
        }
        hints
    }
}

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
use crate::program::{Cmp, ListItems, Node, Program};

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
    /// True when the work budget ([`HINT_TRIALS`]) ran out before every change was tried: the hints are those
    /// found among the changes tried (every event, then fields in form order).
    pub partial: bool,
}

/// The most changes hints try for one lead. Each scores the whole model once, so hints cost at most this many
/// evaluations: their time grows with the model's size, never with its square (a model of 2,000 rules takes
/// about 2,000 changes). The shipped examples have 61 to 115 changes to try for an empty form.
pub const HINT_TRIALS: u64 = 1000;

/// What a hint changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HintKind {
    /// Answer an unanswered field.
    Answer,
    /// Give a field a different answer.
    Change,
    /// Record an event.
    Event,
}

impl HintKind {
    /// The kinds by their names in JSON (`answer`, `change`, `event`).
    pub const ALL: [(HintKind, &'static str); 3] =
        [(HintKind::Answer, "answer"), (HintKind::Change, "change"), (HintKind::Event, "event")];

    /// The kind a JSON name stands for.
    pub fn from_name(name: &str) -> Option<HintKind> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }
}

/// One change and its effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hint {
    /// What it changes.
    pub kind: HintKind,
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

/// How a string a condition compares with becomes an answer that meets it (`domain(email)`: `name@<item>`).
type ToAnswer = fn(&str) -> String;

/// What the program compares each field with, gathered in one pass over its nodes: the thresholds of number
/// fields (each, one above and one below), the strings of text fields (a list's first five items, `==`
/// constants; through `domain`, `lower`, `upper` too).
struct Compared {
    nums: Vec<Vec<f64>>,
    strs: Vec<Vec<String>>,
}

impl Compared {
    fn of(p: &Program) -> Compared {
        let mut c = Compared { nums: vec![vec![]; p.fields.len()], strs: vec![vec![]; p.fields.len()] };
        let field = |x: u32| match p.nodes.get(x as usize) {
            Some(Node::Field(f)) => Some(*f as usize),
            _ => None,
        };
        let num = |x: u32| match p.nodes.get(x as usize) {
            Some(Node::Num(t)) => Some(*t),
            _ => None,
        };
        // `f` itself, or a function of it whose entry says what answer gives a value (`domain(f)`: `name@value`).
        let reads = |x: u32| -> Option<(usize, ToAnswer)> {
            match p.nodes.get(x as usize)? {
                Node::Field(f) => Some((*f as usize, |s| s.to_string())),
                Node::Call(func, a, 1) => {
                    let f = field(*p.call_args(*a, 1).first()?)?;
                    Some((f, func.def().answer_for?))
                }
                _ => None,
            }
        };
        for n in &p.nodes {
            match *n {
                Node::Cmp(op, a, b) => {
                    for (x, y) in [(a, b), (b, a)] {
                        if let (Some(f), Some(t)) = (field(x), num(y)) {
                            c.nums[f].extend([t, t + 1.0, t - 1.0]);
                        }
                        if let (Cmp::Eq, Some(f), Some(Node::Str(s))) = (op, field(x), p.nodes.get(y as usize)) {
                            c.strs[f].push(p.strings[*s as usize].to_string());
                        }
                    }
                }
                Node::Between(x, lo, hi) => {
                    if let Some(f) = field(x) {
                        for t in [lo, hi].into_iter().filter_map(num) {
                            c.nums[f].extend([t, t + 1.0, t - 1.0]);
                        }
                    }
                }
                Node::In(x, l) => {
                    if let (Some((f, make)), Some(ListItems::Str(items))) =
                        (reads(x), p.lists.get(l as usize).map(|l| &l.items))
                    {
                        c.strs[f].extend(items.iter().take(5).map(|s| make(s)));
                    }
                }
                // No field compared with a constant.
                Node::Num(_)
                | Node::Str(_)
                | Node::Bool(_)
                | Node::Null
                | Node::List(_)
                | Node::Field(_)
                | Node::Var(..)
                | Node::Answered(_)
                | Node::Score
                | Node::Group(_)
                | Node::Count(..)
                | Node::DaysSince(_)
                | Node::Not(_)
                | Node::And(..)
                | Node::Or(..)
                | Node::If(..)
                | Node::Neg(_)
                | Node::Arith(..)
                | Node::Call(..)
                | Node::Js(..) => {}
            }
        }
        for v in &mut c.nums {
            v.sort_by(f64::total_cmp);
            v.dedup();
        }
        for v in &mut c.strs {
            v.sort_unstable();
            v.dedup();
        }
        c
    }
}

/// Values worth trying for a field.
fn candidates(p: &Program, compared: &Compared, f: usize, current: Option<&Answer>) -> Vec<Answer> {
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
            let mut nums = compared.nums[f].clone();
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
            let mut strs = compared.strs[f].clone();
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

/// The words of [`Program::describe_hint`] in a language: answer, change, record, yes, no, and the thousands and
/// decimal separators.
struct HintWords {
    answer: (&'static str, &'static str),
    change: (&'static str, &'static str),
    record: &'static str,
    yes: &'static str,
    no: &'static str,
    separators: (char, char),
}

const HINT_EN: HintWords = HintWords {
    answer: ("answer", "with"),
    change: ("change", "to"),
    record: "record a",
    yes: "yes",
    no: "no",
    separators: (',', '.'),
};

const HINT_IT: HintWords = HintWords {
    answer: ("rispondi a", "con"),
    change: ("cambia", "in"),
    record: "registra",
    yes: "sì",
    no: "no",
    separators: ('.', ','),
};

/// `x` rounded to two decimals, without trailing zeros, with `separators` (thousands, decimal).
fn show_number(x: f64, (thousands, decimal): (char, char)) -> String {
    let text = format!("{:.2}", (x * 100.0).round() / 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let (sign, text) = text.strip_prefix('-').map_or(("", text), |t| ("-", t));
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(thousands);
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(decimal);
        out.push_str(frac);
    }
    if out == "-0" {
        out.remove(0);
    }
    out
}

impl Program {
    /// A hint as a sentence in `locale` (Italian for `it`, else English), with the model's labels in that
    /// locale: `answer “Company size” with 250 (+20)`, `change “Timeline” to Now (+15)`, `record a pricing
    /// page view (+5)`. An id the model does not know is shown as it is.
    pub fn describe_hint(&self, h: &Hint, locale: Option<&str>) -> String {
        let locale = locale.unwrap_or(&self.locale);
        let fallback = self.locale.as_str();
        let w = if locale == "it" { &HINT_IT } else { &HINT_EN };
        let gain = show_number(h.gain, w.separators);
        let gain = if h.gain >= 0.0 { format!("+{gain}") } else { gain };
        let (verb, with) = match h.kind {
            HintKind::Answer => w.answer,
            HintKind::Change => w.change,
            HintKind::Event => {
                let label = self.events.iter().find(|e| e.0 == h.name).and_then(|e| e.1.as_ref());
                let label = label.map_or(h.name.clone(), |t| t.get(locale, fallback).to_lowercase());
                return format!("{} {label} ({gain})", w.record);
            }
        };
        let field = self.field_index(&h.name).map(|i| &self.fields[i]);
        let label = field.and_then(|f| f.label.as_ref()).map_or(h.name.as_str(), |t| t.get(locale, fallback));
        let option = |v: &str| -> String {
            let choice = field.and_then(|f| f.options.iter().find(|c| c.value() == v));
            choice.map_or(v, |c| c.label(locale, fallback)).to_string()
        };
        let value = match &h.value {
            Some(Json::Bool(b)) => (if *b { w.yes } else { w.no }).to_string(),
            Some(Json::Number(n)) => show_number(n.as_f64().unwrap_or(0.0), w.separators),
            Some(Json::String(s)) => option(s),
            Some(Json::Array(items)) => {
                items.iter().filter_map(Json::as_str).map(option).collect::<Vec<_>>().join(", ")
            }
            Some(other) => other.to_string(),
            None => String::new(),
        };
        format!("{verb} “{label}” {with} {value} ({gain})")
    }
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
        let mut hints = Hints {
            stage: current,
            target: target.map(|t| p.stages[t].id.clone()),
            reach: vec![],
            closer: vec![],
            partial: false,
        };
        let Some(target) = target else { return hints };
        // The work budget. Events (one trial each, and few) are always tried: the fields get the rest.
        let mut trials_left = HINT_TRIALS.saturating_sub(p.events.len() as u64);
        let compared = Compared::of(p);

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
            for cand in candidates(p, &compared, f, cur.as_ref()) {
                if trials_left == 0 {
                    hints.partial = true;
                    break;
                }
                trials_left -= 1;
                trial.slots[f] = Some(cand.clone());
                let o = outcome(p, &trial, events, now);
                if o.disqualified {
                    continue;
                }
                let reaches = o.stage.is_some_and(|s| s <= target);
                let kind = if cur.is_none() { HintKind::Answer } else { HintKind::Change };
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
                kind: HintKind::Event,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `rules` rules over choice fields of 10 options each (one field per 10 rules), one event, and an SQL
    /// stage no single answer reaches.
    pub(crate) fn wide_model(rules: usize) -> Program {
        let fields: Vec<Json> = (0..rules.div_ceil(10))
            .map(|f| serde_json::json!({"id": format!("f{f}"), "type": "choice", "options": (0..10).map(|o| format!("o{o}")).collect::<Vec<_>>()}))
            .collect();
        let rules: Vec<Json> = (0..rules)
            .map(|i| serde_json::json!({"id": format!("r{i}"), "group": "fit", "when": format!("f{} == 'o{}'", i / 10, i % 10), "points": 1}))
            .collect();
        let doc = serde_json::json!({
            "leadscore": 1, "id": "wide", "fields": fields, "rules": rules, "events": [{"id": "demo"}],
            "stages": [{"id": "sql", "when": "score >= 1000000"}, {"id": "lead"}]
        });
        crate::compile_value(doc).program.expect("compiles")
    }

    #[test]
    fn a_hint_reads_as_a_sentence_with_the_models_labels() {
        let doc = serde_json::json!({
            "leadscore": 1, "id": "words", "locale": "en",
            "fields": [
                {"id": "size", "type": "number", "label": {"en": "Company size", "it": "Dimensione"}},
                {"id": "when", "type": "choice", "label": "Timeline",
                 "options": [{"value": "now", "label": {"en": "Right now", "it": "Subito"}}, "later"]},
                {"id": "tools", "type": "multi", "options": ["crm", {"value": "bi", "label": "BI"}]},
                {"id": "sso", "type": "boolean", "label": "SSO"}
            ],
            "events": [{"id": "pricing_view", "label": {"en": "Pricing page view", "it": "Visita ai prezzi"}}],
            "rules": [{"id": "r", "group": "fit", "when": "size >= 1", "points": 1}],
            "stages": [{"id": "lead"}]
        });
        let p = crate::compile_value(doc).program.expect("compiles");
        let hint = |kind, name: &str, value: Option<Json>, gain| Hint {
            kind,
            name: name.into(),
            value,
            score: 0.0,
            gain,
            stage: "lead".into(),
        };
        let cases = [
            (
                hint(HintKind::Answer, "size", Some(serde_json::json!(1250.5)), 20.0),
                None,
                "answer “Company size” with 1,250.5 (+20)",
            ),
            (
                hint(HintKind::Answer, "size", Some(serde_json::json!(1250.5)), 20.0),
                Some("it"),
                "rispondi a “Dimensione” con 1.250,5 (+20)",
            ),
            (
                hint(HintKind::Change, "when", Some(serde_json::json!("now")), 7.25),
                None,
                "change “Timeline” to Right now (+7.25)",
            ),
            (
                hint(HintKind::Change, "when", Some(serde_json::json!("later")), -3.0),
                Some("it"),
                "cambia “Timeline” in later (-3)",
            ),
            (
                hint(HintKind::Answer, "tools", Some(serde_json::json!(["crm", "bi"])), 5.0),
                None,
                "answer “tools” with crm, BI (+5)",
            ),
            (
                hint(HintKind::Answer, "sso", Some(serde_json::json!(true)), 1.0),
                Some("it"),
                "rispondi a “SSO” con sì (+1)",
            ),
            (hint(HintKind::Event, "pricing_view", None, 0.333), None, "record a pricing page view (+0.33)"),
            (hint(HintKind::Event, "pricing_view", None, 1000.0), Some("it"), "registra visita ai prezzi (+1.000)"),
            (hint(HintKind::Event, "webinar", None, 1.0), None, "record a webinar (+1)"),
        ];
        for (h, locale, want) in cases {
            assert_eq!(p.describe_hint(&h, locale), want);
        }
    }

    #[test]
    fn every_example_is_far_below_the_budget() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        for name in ["b2b-saas", "agency", "b2c-fitness", "it-software"] {
            let text = std::fs::read_to_string(root.join(format!("{name}.json"))).unwrap();
            let p = crate::compile_str(&text).program.expect("compiles");
            let compared = Compared::of(&p);
            let trials: usize =
                (0..p.fields.len()).map(|f| candidates(&p, &compared, f, None).len()).sum::<usize>() + p.events.len();
            assert!(trials as u64 * 4 < HINT_TRIALS, "{name}: {trials}");
            assert!(!p.hints(&Answers::new(&p), &Events::new(&p), 0.0).partial);
        }
    }

    #[test]
    fn hints_stop_at_their_work_budget_and_say_so() {
        let small = wide_model(200);
        let h = small.hints(&Answers::new(&small), &Events::new(&small), 0.0);
        assert!(!h.partial, "200 rules: every change tried");
        assert_eq!(h.target.as_deref(), Some("sql"));
        assert_eq!(h.closer.len(), 5);
        // 2000 rules over 200 fields: 2000 changes, twice the budget.
        let big = wide_model(2000);
        let h = big.hints(&Answers::new(&big), &Events::new(&big), 0.0);
        assert!(h.partial, "2000 rules: the budget ran out");
        assert!(!h.closer.is_empty(), "the changes tried still give hints");
    }
}

//! Evaluation: program x answers x events x now -> [`Evaluation`]. It cannot fail and does not panic.
//!
//! Two passes over the same code: the *current* pass treats every unanswered field as never answered
//! (the result if the form were submitted now); the *range* pass treats unanswered fields that may still be
//! asked as unknown, which gives the score range over every completion and tells what is still undecided.

use serde::Serialize;
use serde_json::Value as Json;

use crate::answers::{answer_json, Answers, Events, Issue};
use crate::model::{Ending, Text};
use crate::program::Program;
use crate::vm::{points_interval, Ctx, Scores, Slot, Tri};

/// Options of one evaluation.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The form is submitted: unanswered fields will stay unanswered (no ranges, everything decided).
    pub complete: bool,
    /// Locale of texts in the output; default: the model's.
    pub locale: Option<String>,
}

/// The full result of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Total score: the sum of capped group scores, counting only what is known now.
    pub score: f64,
    /// The total's range over every way of completing the form.
    pub range: Range,
    /// Per group, in model order.
    pub groups: Vec<GroupScore>,
    /// The lifecycle stage now (`disqualified` when a knockout holds).
    pub stage: StageResult,
    /// Letter grade; `None` (`null` in JSON, never left out) when the model has no grade.
    pub grade: Option<GradeResult>,
    /// The knockout that holds, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disqualified: Option<Disqualification>,
    /// Whether every completion gives the same stage and the same disqualification.
    pub decided: bool,
    /// Unanswered fields that can still change the stage or the disqualification.
    pub undecided_fields: Vec<String>,
    /// Every rule that gave points.
    pub ledger: Vec<LedgerEntry>,
    /// Rules that may still give points, depending on unanswered fields.
    pub pending_rules: Vec<String>,
    /// The form: what is shown, what is required, where the visitor is.
    pub flow: Flow,
    /// What the form shows at the end for this outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ending: Option<EndingResult>,
    /// Answers given to fields that are hidden: they do not count.
    pub ignored: Vec<String>,
    /// Problems with the input (bad answers, unknown events), by field.
    pub issues: Vec<Issue>,
    /// The rules hash of the program.
    pub rules_hash: String,
}

/// A closed interval; `null` bounds are infinite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    /// Lowest possible value.
    pub min: Option<f64>,
    /// Highest possible value.
    pub max: Option<f64>,
}

impl Range {
    /// The interval `(lo, hi)` of the evaluator, whose infinite bounds are `None` here.
    pub(crate) fn of((lo, hi): (f64, f64)) -> Self {
        Range { min: lo.is_finite().then_some(lo), max: hi.is_finite().then_some(hi) }
    }
}

/// One group's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupScore {
    /// Group id.
    pub id: String,
    /// Label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The score after caps.
    pub score: f64,
    /// The sum of its rules before caps.
    pub raw: f64,
    /// `raw - score`: what the caps took away (negative when a floor added).
    pub clipped: f64,
    /// The range over completions, after caps.
    pub range: Range,
}

/// The stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageResult {
    /// Stage id, or `disqualified`.
    pub id: String,
    /// Label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The grade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeResult {
    /// Letter band, such as `A`.
    pub letter: String,
    /// Matrix cell, such as `A1`, when the model has a matrix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
}

/// Why a lead is disqualified.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disqualification {
    /// Knockout id.
    pub knockout: String,
    /// Reason code.
    pub reason: String,
    /// Message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One rule's contribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerEntry {
    /// Rule id.
    pub rule: String,
    /// Label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Group id.
    pub group: String,
    /// Points given (after decay, before caps).
    pub points: f64,
    /// Points per award.
    pub base: f64,
    /// Awards: 1, or the number of event occurrences counted.
    pub times: u32,
    /// `base * times - points`: what decay took away.
    pub decayed: f64,
    /// The answers the rule read.
    pub inputs: serde_json::Map<String, Json>,
    /// The events the rule read: occurrences recorded and days since the latest.
    pub events: serde_json::Map<String, Json>,
}

/// The state of the form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    /// Steps on the visitor's path, in order.
    pub steps: Vec<String>,
    /// Fields shown now (on the path, visible), in form order.
    pub visible: Vec<String>,
    /// Shown fields that are required now.
    pub required: Vec<String>,
    /// Shown fields that cannot be edited now.
    pub disabled: Vec<String>,
    /// Required fields shown and still unanswered.
    pub missing: Vec<String>,
    /// The first step on the path with a required field still unanswered: where a form resumes. `None` when
    /// none, or when a knockout ended the form.
    pub first_missing_step: Option<String>,
    /// The step after `first_missing_step` on the path; `None` when it is the last, or there is none.
    pub next_step: Option<String>,
    /// No required field shown is unanswered (`missing` is empty): the lead can be sent as it is. Optional
    /// questions may still be open, and a knockout may hold (see `Evaluation::disqualified`).
    pub all_required_answered: bool,
}

/// The ending screen chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndingResult {
    /// `stage:<id>`, `knockout:<reason>` or `default`.
    pub key: String,
    /// Heading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Call to action: its label and its URL, the placeholders filled with the answers. The same shape as an
    /// ending's `action` in the rules document, and as the form controller's `FormOutcome.ending.action`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<EndingAction>,
}

/// An ending's call to action, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndingAction {
    /// In the evaluation's locale.
    pub label: String,
    /// Placeholders (`{email}`) filled with the answers, URL-encoded.
    pub url: String,
}

/// What one pass found.
pub(crate) struct Pass {
    /// Per rule: condition and points interval given (0 when not firing).
    pub rules: Vec<RuleOutcome>,
    /// Per group (lo, hi) after caps, and raw sums.
    pub groups: Vec<(f64, f64)>,
    pub raw: Vec<(f64, f64)>,
    pub total: (f64, f64),
    /// First knockout that holds.
    pub knockout: Option<usize>,
    /// Knockouts still open before the first that holds (or all open ones when none holds).
    pub knockouts_open: Vec<usize>,
    /// Stage index if decided.
    pub stage: Option<usize>,
    /// Stage conditions still open, by index.
    pub stage_open: Vec<usize>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleOutcome {
    pub cond: Tri,
    pub points: (f64, f64),
    pub base: (f64, f64),
    pub times: u32,
}

fn text(t: &Option<Text>, locale: &str, fallback: &str) -> Option<String> {
    t.as_ref().map(|t| t.get(locale, fallback).to_string())
}

/// Field status and flow for one set of answers.
pub(crate) struct Layout {
    pub slots: Vec<Slot>,
    /// Fields shown now.
    pub shown: Vec<bool>,
    /// Steps on the path now.
    pub on_path: Vec<bool>,
}

/// Decides which fields are shown and fills `slots`: an answer counts only when its field is shown.
pub(crate) fn layout<'a>(
    p: &'a Program,
    answers: &'a Answers,
    events: Option<&'a Events>,
    now: f64,
    complete: bool,
) -> Layout {
    layout_with(p, answers, events, now, &|_| complete)
}

/// [`layout`] where `asked(field)` says, per field, whether an unanswered field stays unanswered for good
/// (`Absent`) or may still be answered (`Pending`).
pub(crate) fn layout_with<'a>(
    p: &'a Program,
    answers: &'a Answers,
    events: Option<&'a Events>,
    now: f64,
    asked: &dyn Fn(usize) -> bool,
) -> Layout {
    let mut out = Layout { slots: vec![], shown: vec![], on_path: vec![] };
    layout_into(p, answers, events, now, asked, &mut out);
    out
}

/// [`layout_with`] into the vectors of `out`, which keep their room: a session lays its form out again on many
/// changes.
pub(crate) fn layout_into<'a>(
    p: &'a Program,
    answers: &'a Answers,
    events: Option<&'a Events>,
    now: f64,
    asked: &dyn Fn(usize) -> bool,
    out: &mut Layout,
) {
    let n = p.fields.len();
    let unanswered_of = |f: usize| if asked(f) { Slot::Absent } else { Slot::Pending };
    let Layout { slots, shown, on_path } = out;
    slots.clear();
    slots.resize(n, Slot::Absent);
    shown.clear();
    shown.resize(n, false);
    on_path.clear();
    on_path.resize(p.steps.len(), false);
    let slots: &mut [Slot] = slots;
    // Background fields (set by the page), in form order: their `visible_if` reads only earlier ones.
    for &f in p.order.iter().take_while(|&&f| p.fields[f as usize].step.is_none()) {
        let i = f as usize;
        let ctx = Ctx { p, answers, slots, events, now, scores: None, present: false };
        match ctx.cond(p.fields[i].visible) {
            Tri::True => {
                slots[i] = answers.get(i).map_or(unanswered_of(i), |_| Slot::Known);
                shown[i] = true;
            }
            Tri::Unknown(true) => slots[i] = unanswered_of(i),
            _ => slots[i] = Slot::Absent,
        }
    }
    // `certain`: the path so far does not depend on an open unknown.
    let mut certain = true;
    let mut cur = if p.steps.is_empty() { None } else { Some(0usize) };
    let mut guard = 0;
    while let Some(si) = cur {
        guard += 1;
        if guard > p.steps.len() {
            break; // Cannot happen: the compiler rejects loops.
        }
        let step = &p.steps[si];
        let ctx = Ctx { p, answers, slots, events, now, scores: None, present: false };
        let vis = ctx.cond(step.visible);
        if vis.is_open() {
            certain = false;
        }
        if vis.is_true() {
            on_path[si] = true;
            for &f in &step.fields {
                let f = f as usize;
                let ctx = Ctx { p, answers, slots, events, now, scores: None, present: false };
                let fv = ctx.cond(p.fields[f].visible);
                if fv.is_true() {
                    shown[f] = true;
                    // Past an undecided jump or visibility, this step may still drop off the path: its answers
                    // may or may not count, so they are as good as pending.
                    slots[f] = if certain {
                        answers.get(f).map_or(unanswered_of(f), |_| Slot::Known)
                    } else {
                        unanswered_of(f)
                    };
                } else if fv.is_open() {
                    slots[f] = unanswered_of(f);
                } else {
                    slots[f] = Slot::Absent;
                }
            }
        } else if vis.is_open() {
            // The step may still be shown: its fields may still be answered. Marked at once, since later
            // conditions on the walk read them.
            for &f in &step.fields {
                slots[f as usize] = unanswered_of(f as usize);
            }
        }
        // Where next: the first jump whose condition holds; an open one makes the path uncertain.
        let mut next = Some(si + 1).filter(|&x| x < p.steps.len());
        if vis.is_true() {
            let ctx = Ctx { p, answers, slots, events, now, scores: None, present: false };
            for (c, t) in &step.next {
                let r = ctx.cond(*c);
                if r.is_true() {
                    next = t.map(|t| t as usize);
                    break;
                }
                if r.is_open() {
                    certain = false;
                }
            }
        }
        if !certain {
            // Steps the path may still reach: their fields may still be answered. A step visited later
            // overwrites this with what it shows.
            for (sj, later) in p.steps.iter().enumerate().skip(si + 1) {
                if !on_path[sj] {
                    for &f in &later.fields {
                        slots[f as usize] = unanswered_of(f as usize);
                    }
                }
            }
        }
        cur = next;
    }
}

/// The form's state for people: ids of what is shown, required, missing; where the visitor is.
pub(crate) fn flow(
    p: &Program,
    l: &Layout,
    answers: &Answers,
    events: Option<&Events>,
    now: f64,
) -> (Flow, Vec<String>) {
    let ctx = Ctx { p, answers, slots: &l.slots, events, now, scores: None, present: false };
    let mut flow = Flow {
        steps: vec![],
        visible: vec![],
        required: vec![],
        disabled: vec![],
        missing: vec![],
        first_missing_step: None,
        next_step: None,
        all_required_answered: false,
    };
    let path: Vec<usize> = (0..p.steps.len()).filter(|&s| l.on_path[s]).collect();
    let mut current: Option<usize> = None;
    for &f in &p.order {
        let fi = f as usize;
        if !l.shown[fi] || p.fields[fi].step.is_none() {
            continue;
        }
        let def = &p.fields[fi];
        flow.visible.push(def.id.clone());
        let enabled = def.enabled.is_none() || ctx.cond(def.enabled).is_true();
        if !enabled {
            flow.disabled.push(def.id.clone());
        }
        if enabled && def.required.is_some() && ctx.cond(def.required).is_true() {
            flow.required.push(def.id.clone());
            if answers.get(fi).is_none() {
                flow.missing.push(def.id.clone());
                if let Some(pos) = def.step.and_then(|s| path.iter().position(|&x| x == s as usize)) {
                    current = Some(current.map_or(pos, |c: usize| c.min(pos)));
                }
            }
        }
    }
    flow.steps = path.iter().map(|&s| p.steps[s].id.clone()).collect();
    flow.first_missing_step = current.map(|c| p.steps[path[c]].id.clone());
    flow.next_step = current.and_then(|c| path.get(c + 1)).map(|&s| p.steps[s].id.clone());
    flow.all_required_answered = flow.missing.is_empty();
    let ignored = (0..p.fields.len())
        .filter(|&i| answers.get(i).is_some() && !l.shown[i])
        .map(|i| p.fields[i].id.clone())
        .collect();
    (flow, ignored)
}

fn clamp(v: f64, lo: Option<f64>, hi: Option<f64>) -> f64 {
    let v = lo.map_or(v, |lo| v.max(lo));
    hi.map_or(v, |hi| v.min(hi))
}

/// Scores one rule: condition, points per award, occurrences and decay.
pub(crate) fn rule_outcome(ctx: &Ctx, r: &crate::program::RuleDef) -> RuleOutcome {
    let cond = ctx.cond(r.when);
    if matches!(cond, Tri::False | Tri::Unknown(false)) {
        return RuleOutcome { cond, points: (0.0, 0.0), base: (0.0, 0.0), times: 0 };
    }
    let base = points_interval(&ctx.eval(r.points));
    let (factor, times) = rule_outcome_factor(r, ctx.events, ctx.now);
    let scaled = scaled_points(base, factor);
    let points = match cond {
        Tri::True => scaled,
        // Open: the rule may or may not fire.
        _ => (scaled.0.min(0.0), scaled.1.max(0.0)),
    };
    RuleOutcome { cond, points, base, times }
}

/// What a rule's points are multiplied by, and how many occurrences count: 1 for a rule without `per`;
/// otherwise the occurrences of its event within `within_days`, newest first, at most `max_times`, each
/// decayed by its half-life (with events unknown, anything from 0 to `max_times`).
pub(crate) fn rule_outcome_factor(r: &crate::program::RuleDef, events: Option<&Events>, now: f64) -> ((f64, f64), u32) {
    let Some(e) = r.per else { return ((1.0, 1.0), 1) };
    let Some(events) = events else {
        let most = r.max_times.map_or(f64::INFINITY, f64::from);
        return ((0.0, most), 0);
    };
    let max = r.max_times.map_or(usize::MAX, |m| m as usize);
    let within = r.within_days.unwrap_or(f64::INFINITY);
    let mut sum = 0.0;
    let mut times = 0u32;
    for &t in events.times(e as usize).iter().take(max.min(1 << 20)) {
        let age = ((now - t) / crate::answers::DAY_MS).max(0.0);
        if age > within {
            break;
        }
        sum += match r.half_life_days {
            Some(h) => libm::exp2(-age / h),
            None => 1.0,
        };
        times += 1;
    }
    ((sum, sum), times)
}

/// Points per award times the factor. A decided number of points that overflows (a huge answer times several
/// events) counts 0, like any other non-finite points value. Unbounded ranges stay as they are.
pub(crate) fn scaled_points(base: (f64, f64), factor: (f64, f64)) -> (f64, f64) {
    let scaled = mul(base, factor);
    if scaled.0 == scaled.1 && !scaled.0.is_finite() {
        (0.0, 0.0)
    } else {
        scaled
    }
}

fn mul(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    if a == (0.0, 0.0) || b == (0.0, 0.0) {
        return (0.0, 0.0);
    }
    let c = [a.0 * b.0, a.0 * b.1, a.1 * b.0, a.1 * b.1];
    if c.iter().any(|x| x.is_nan()) {
        return (f64::NEG_INFINITY, f64::INFINITY);
    }
    (c.iter().copied().fold(f64::INFINITY, f64::min), c.iter().copied().fold(f64::NEG_INFINITY, f64::max))
}

/// One pass of scoring over `slots`. With `events = None`, events are unknown (static analysis).
/// The fields that can still change a result that `r` (a range pass) leaves open: those read by its open rules,
/// knockouts and stages, and by the visibilities and jumps still open in `ctx`, which can add or remove answers.
/// Unsorted, possibly repeated, answered or not.
pub(crate) fn still_open(r: &Pass, ctx: &Ctx) -> Vec<u32> {
    let p = ctx.p;
    let mut fields = vec![];
    for (d, o) in p.rules.iter().zip(&r.rules) {
        if o.cond.is_open() || o.points.0 != o.points.1 {
            fields.extend(&d.fields);
        }
    }
    for &k in &r.knockouts_open {
        fields.extend(&p.knockouts[k].fields);
    }
    for &s in &r.stage_open {
        fields.extend(&p.stages[s].fields);
    }
    let conds = p.fields.iter().map(|f| f.visible).chain(p.steps.iter().map(|s| s.visible));
    let jumps = p.steps.iter().flat_map(|s| s.next.iter().map(|j| j.0));
    for c in conds.chain(jumps).flatten() {
        if ctx.cond(Some(c)).is_open() {
            p.fields_read(c, &mut fields);
        }
    }
    fields
}

pub(crate) fn pass(p: &Program, answers: &Answers, slots: &[Slot], events: Option<&Events>, now: f64) -> Pass {
    let ctx = Ctx { p, answers, slots, events, now, scores: None, present: false };
    let (knockout, knockouts_open) = knockouts(&ctx);
    let mut rules = Vec::with_capacity(p.rules.len());
    for r in &p.rules {
        rules.push(rule_outcome(&ctx, r));
    }
    let raw = raw_sums(p, rules.iter().map(|o| o.points));
    let scores = totals(p, &raw);
    let (stage, stage_open) = stages(&ctx, &scores);
    Pass { rules, groups: scores.groups, raw, total: scores.total, knockout, knockouts_open, stage, stage_open }
}

/// Whether the range pass `r` has one outcome (one stage, no open knockout, or a knockout that holds already),
/// and, when not, the unanswered fields that may still be answered and change it, in form order.
fn undecided(
    p: &Program,
    answers: &Answers,
    events: &Events,
    now: f64,
    r: &Pass,
    slots: &[Slot],
) -> (bool, Vec<String>) {
    // From the range pass only: a knockout that holds there holds for every completion. (The current pass is not
    // enough: JsonLogic's `!var` holds for a missing answer and fails once it is given.) `knockout_open` counts
    // only knockouts before the first that holds: one of them may still take its place, with another reason and
    // ending.
    let decided = r.knockouts_open.is_empty() && (r.knockout.is_some() || r.stage.is_some());
    let mut fields: Vec<u32> = vec![];
    if !decided {
        let ctx = Ctx { p, answers, slots, events: Some(events), now, scores: None, present: false };
        fields = still_open(r, &ctx);
        // Unanswered fields that may still be answered.
        fields.retain(|f| answers.get(*f as usize).is_none() && matches!(slots.get(*f as usize), Some(Slot::Pending)));
    }
    crate::program::sort_dedup(&mut fields);
    let names =
        p.order.iter().filter(|f| fields.binary_search(f).is_ok()).map(|&f| p.fields[f as usize].id.clone()).collect();
    (decided, names)
}

/// What the answers still to come can change in a form in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Outlook {
    /// The total's range over every way of completing the form.
    pub range: Range,
    /// Every completion gives the same stage and disqualification.
    pub decided: bool,
    /// Unanswered fields whose answers may still change the stage or a knockout, in form order.
    pub undecided_fields: Vec<String>,
}

impl Program {
    /// The range, `decided` and `undecided_fields` of [`Program::evaluate`] for a form in progress (not
    /// `complete`), without the rest of the evaluation.
    pub fn outlook(&self, answers: &Answers, events: &Events, now: f64) -> Outlook {
        let now = if now.is_finite() { now } else { 0.0 };
        let l = layout(self, answers, Some(events), now, false);
        let r = pass(self, answers, &l.slots, Some(events), now);
        let (decided, undecided_fields) = undecided(self, answers, events, now, &r, &l.slots);
        Outlook { range: Range::of(r.total), decided, undecided_fields }
    }
}

/// The first knockout that holds, and the open ones before it (all open ones when none holds).
pub(crate) fn knockouts(ctx: &Ctx) -> (Option<usize>, Vec<usize>) {
    let mut open = vec![];
    for (i, k) in ctx.p.knockouts.iter().enumerate() {
        match ctx.cond(Some(k.when)) {
            Tri::True => return (Some(i), open),
            Tri::Unknown(true) => open.push(i),
            _ => {}
        }
    }
    (None, open)
}

/// Per group, the sum of its rules' points in rule order (the order fixes the floating-point result).
pub(crate) fn raw_sums(p: &Program, points: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut raw = vec![];
    raw_sums_into(p, points, &mut raw);
    raw
}

/// [`raw_sums`] into a buffer that is reused.
pub(crate) fn raw_sums_into(p: &Program, points: impl Iterator<Item = (f64, f64)>, raw: &mut Vec<(f64, f64)>) {
    raw.clear();
    raw.resize(p.groups.len(), (0.0, 0.0));
    for (r, pts) in p.rules.iter().zip(points) {
        if let Some(g) = raw.get_mut(r.group as usize) {
            g.0 += pts.0;
            g.1 += pts.1;
        }
    }
    for g in raw.iter_mut() {
        *g = saturate(*g);
    }
}

/// Group scores after caps, and the total.
pub(crate) fn totals(p: &Program, raw: &[(f64, f64)]) -> Scores {
    let mut scores = Scores::default();
    totals_into(p, raw, &mut scores);
    scores
}

/// [`totals`] into a value that is reused.
pub(crate) fn totals_into(p: &Program, raw: &[(f64, f64)], scores: &mut Scores) {
    // inf - inf cannot occur (lows only add non-positive infinities).
    scores.groups.clear();
    scores.groups.extend(raw.iter().zip(&p.groups).map(|(&(lo, hi), g)| {
        saturate((
            clamp(sanitize(lo, f64::NEG_INFINITY), g.min, g.max),
            clamp(sanitize(hi, f64::INFINITY), g.min, g.max),
        ))
    }));
    let total = scores.groups.iter().fold((0.0, 0.0), |acc, g| (acc.0 + g.0, acc.1 + g.1));
    scores.total = saturate((sanitize(total.0, f64::NEG_INFINITY), sanitize(total.1, f64::INFINITY)));
}

/// A decided score that overflowed (sums of huge finite points) stays at the largest finite number, so a score
/// is always finite. Unbounded ranges (`lo < hi`) stay as they are.
pub(crate) fn saturate((lo, hi): (f64, f64)) -> (f64, f64) {
    if lo == hi && lo.is_infinite() {
        let v = f64::MAX.copysign(lo);
        (v, v)
    } else {
        (lo, hi)
    }
}

/// The stage if decided, and the stage conditions still open.
pub(crate) fn stages(ctx: &Ctx, scores: &Scores) -> (Option<usize>, Vec<usize>) {
    let p = ctx.p;
    let sctx = Ctx { scores: Some(scores), ..*ctx };
    let mut stage = None;
    let mut open = vec![];
    for (i, s) in p.stages.iter().enumerate() {
        match sctx.cond(s.when) {
            Tri::True => {
                stage = Some(i);
                break;
            }
            Tri::Unknown(true) => open.push(i),
            _ => {}
        }
    }
    if !open.is_empty() {
        stage = None;
    }
    (stage, open)
}

fn sanitize(x: f64, nan_as: f64) -> f64 {
    if x.is_nan() {
        nan_as
    } else {
        x
    }
}

pub(crate) fn band(bands: &[crate::program::BandDef], score: f64) -> String {
    bands.iter().find(|b| b.min.is_none_or(|m| score >= m)).map(|b| b.label.clone()).unwrap_or_default()
}

/// The bare outcome of a submitted lead, for bulk scoring: no texts, no ledger, no form state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Score {
    /// Total score.
    pub total: f64,
    /// Group scores after caps, in model order.
    pub groups: Vec<f64>,
    /// Stage index in `Program::stages` (meaningless when disqualified).
    pub stage: usize,
    /// The knockout that holds, by index in `Program::knockouts`.
    pub knockout: Option<usize>,
}

impl Program {
    /// Scores a submitted lead (every unanswered field stays unanswered), without building an explanation. To
    /// score many leads, [`Program::scorer`] gives the same results faster, with buffers kept from lead to lead.
    pub fn score(&self, answers: &Answers, events: &Events, now: f64) -> Score {
        self.score_with_rules(answers, events, now, &mut Vec::new())
    }

    /// [`Program::score`], and in `fired` (one flag per rule) which rules gave points, as the hidden input of
    /// a submitted form lists them. To score many leads, [`Program::scorer`] is faster.
    pub fn score_with_rules(&self, answers: &Answers, events: &Events, now: f64, fired: &mut Vec<bool>) -> Score {
        let now = if now.is_finite() { now } else { 0.0 };
        let l = layout(self, answers, Some(events), now, true);
        let r = pass(self, answers, &l.slots, Some(events), now);
        fired.clear();
        fired.extend(r.rules.iter().map(|o| o.cond.is_true() && o.points.0 != 0.0));
        Score {
            total: r.total.0,
            groups: r.groups.iter().map(|g| g.0).collect(),
            stage: r.stage.unwrap_or(self.stages.len().saturating_sub(1)),
            knockout: r.knockout,
        }
    }

    /// Evaluates answers and events given as JSON (`{"field": value}` and `[{"type", "at"}]`, `at` in
    /// milliseconds): bad values are left out and reported in `issues`, by field.
    pub fn evaluate_json(&self, answers: &Json, events: &Json, now: f64, opts: &Options) -> Evaluation {
        let (answers, mut issues) = Answers::from_json(self, answers);
        let (events, more) = Events::from_json(self, events);
        issues.extend(more);
        let mut e = self.evaluate(&answers, &events, now, opts);
        e.issues = issues;
        e
    }

    /// Evaluates answers and events at `now` (milliseconds since 1970).
    pub fn evaluate(&self, answers: &Answers, events: &Events, now: f64, opts: &Options) -> Evaluation {
        let p = self;
        let now = if now.is_finite() { now } else { 0.0 };
        let locale = opts.locale.as_deref().unwrap_or(&p.locale);
        let fallback = p.locale.as_str();
        let cur_layout = layout(p, answers, Some(events), now, true);
        let cur = pass(p, answers, &cur_layout.slots, Some(events), now);
        let open_layout = if opts.complete { None } else { Some(layout(p, answers, Some(events), now, false)) };
        let range = open_layout.as_ref().map(|l| pass(p, answers, &l.slots, Some(events), now));
        let flow_layout = open_layout.as_ref().unwrap_or(&cur_layout);

        let groups: Vec<GroupScore> = p
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let score = cur.groups[i].0;
                let raw = cur.raw[i].0;
                let (lo, hi) = range.as_ref().map_or(cur.groups[i], |r| r.groups[i]);
                GroupScore {
                    id: g.id.clone(),
                    label: text(&g.label, locale, fallback),
                    score,
                    raw,
                    clipped: raw - score,
                    range: Range::of((lo, hi)),
                }
            })
            .collect();
        let score = cur.total.0;
        let total_range = range.as_ref().map_or(cur.total, |r| r.total);

        let disqualified = cur.knockout.map(|k| {
            let k = &p.knockouts[k];
            Disqualification {
                knockout: k.id.clone(),
                reason: k.reason.clone(),
                message: text(&k.message, locale, fallback),
            }
        });
        let stage_idx = cur.stage.unwrap_or(p.stages.len().saturating_sub(1));
        let stage = match &disqualified {
            Some(_) => StageResult { id: "disqualified".into(), label: None },
            None => p
                .stages
                .get(stage_idx)
                .map(|s| StageResult { id: s.id.clone(), label: text(&s.label, locale, fallback) })
                .unwrap_or(StageResult { id: String::new(), label: None }),
        };
        let grade = p.grade_result(&groups.iter().map(|g| g.score).collect::<Vec<_>>());

        // Decided: the range pass has one stage and no open knockout (or a knockout holds already).
        let (decided, undecided_fields, pending_rules) = match &range {
            None => (true, vec![], vec![]),
            Some(r) => {
                let slots = &open_layout.as_ref().map(|l| &l.slots).unwrap_or(&cur_layout.slots);
                let (decided, names) = undecided(p, answers, events, now, r, slots);
                let pending_rules: Vec<String> = p
                    .rules
                    .iter()
                    .zip(&r.rules)
                    .filter(|(_, o)| o.cond.is_open() || o.points.0 != o.points.1)
                    .map(|(d, _)| d.id.clone())
                    .collect();
                (decided, names, pending_rules)
            }
        };

        let ledger = p
            .rules
            .iter()
            .zip(&cur.rules)
            .filter(|(_, o)| o.cond.is_true() && o.points.0 != 0.0)
            .map(|(r, o)| {
                let mut inputs = serde_json::Map::new();
                for &f in &r.fields {
                    let slot = cur_layout.slots.get(f as usize).copied();
                    let v = match slot {
                        Some(Slot::Known) => answer_json(p, f as usize, answers.get(f as usize)),
                        _ => Json::Null,
                    };
                    inputs.insert(p.fields[f as usize].id.clone(), v);
                }
                let mut used_events = serde_json::Map::new();
                for &e in &r.events {
                    let times = events.times(e as usize);
                    let last = times.first().map(|t| ((now - t) / crate::answers::DAY_MS).max(0.0));
                    used_events.insert(
                        p.events[e as usize].0.clone(),
                        serde_json::json!({"count": times.len(), "days_since": last}),
                    );
                }
                let base = o.base.0;
                LedgerEntry {
                    rule: r.id.clone(),
                    label: text(&r.label, locale, fallback),
                    group: p.groups[r.group as usize].id.clone(),
                    points: o.points.0,
                    base,
                    times: o.times,
                    decayed: base * f64::from(o.times) - o.points.0,
                    inputs,
                    events: used_events,
                }
            })
            .collect();

        let (mut flow, ignored) = flow(p, flow_layout, answers, Some(events), now);
        if disqualified.is_some() {
            flow.first_missing_step = None;
            flow.next_step = None;
        }
        let ending = pick_ending(p, answers, &disqualified, &stage.id, locale, fallback);
        Evaluation {
            score,
            range: Range::of(total_range),
            groups,
            stage,
            grade,
            disqualified,
            decided,
            undecided_fields,
            ledger,
            pending_rules,
            flow,
            ending,
            ignored,
            issues: vec![],
            rules_hash: p.hash.clone(),
        }
    }

    /// Static bounds of each group and of the total over every possible input (events unknown).
    #[cfg(feature = "compiler")]
    pub(crate) fn static_pass(&self) -> Pass {
        let slots = vec![Slot::Pending; self.fields.len()];
        pass(self, &Answers::default(), &slots, None, 0.0)
    }

    /// Evaluates a node with every field pending (and certainly answered) and events unknown: `False` means the
    /// condition is never true for any input, since leaving a field unanswered only turns values unknown.
    #[cfg(feature = "compiler")]
    pub(crate) fn static_cond(&self, id: Option<crate::program::NodeId>, scores: Option<&Scores>) -> Tri {
        let slots = vec![Slot::Pending; self.fields.len()];
        let answers = Answers::default();
        Ctx { p: self, answers: &answers, slots: &slots, events: None, now: 0.0, scores, present: true }.cond(id)
    }
}

fn pick_ending(
    p: &Program,
    answers: &Answers,
    dq: &Option<Disqualification>,
    stage: &str,
    locale: &str,
    fallback: &str,
) -> Option<EndingResult> {
    let (key, e): (String, Option<&Ending>) = match dq {
        Some(d) => (format!("knockout:{}", d.reason), p.endings.knockouts.get(&d.reason)),
        None => (format!("stage:{stage}"), p.endings.stages.get(stage)),
    };
    let (key, e) = match e {
        Some(e) => (key, e),
        None => ("default".to_string(), p.endings.default.as_ref()?),
    };
    Some(EndingResult {
        key,
        title: text(&e.title, locale, fallback),
        message: text(&e.message, locale, fallback),
        action: e.action.as_ref().and_then(|a| {
            Some(EndingAction {
                label: a.label.get(locale, fallback).to_string(),
                url: p.action_link(&a.url, answers)?,
            })
        }),
    })
}

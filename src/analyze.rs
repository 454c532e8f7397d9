//! Static analysis of a compiled program: warnings about what cannot happen, the reachable bounds of each
//! score, and per stage whether it can be reached and from which total score. It evaluates with every field
//! unknown and events unknown, so what it proves holds for any input; what it cannot prove it does not claim.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic};
use crate::eval::{Pass, Range};
use crate::model::FieldType;
use crate::program::{Cmp, ListItems, Node, NodeId, Program, StageDef};
use crate::vm::{Scores, Tri};

/// Reachable bounds of the scores over every possible input (`null` = unbounded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bounds {
    /// The total.
    pub total: crate::eval::Range,
    /// Per group id.
    pub groups: Vec<(String, crate::eval::Range)>,
}

/// The bounds of every score.
pub fn bounds(p: &Program) -> Bounds {
    let pass = p.static_pass();
    Bounds {
        total: Range::of(pass.total),
        groups: p.groups.iter().zip(&pass.groups).map(|(g, r)| (g.id.clone(), Range::of(*r))).collect(),
    }
}

/// What the analysis knows of one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageInfo {
    /// Stage id.
    pub id: String,
    /// False when no lead can reach the stage (the `unreachable_stage` warning); true when that is not proven.
    pub reachable: bool,
    /// The smallest total score that can make the stage's condition true by itself: the least `c` of the
    /// atoms `score >= c` and `score > c` (or `c <= score`, `score between c and ...`) that stand under
    /// `and`s, `or`s and the branches of an `if`. Under an odd number of `not`s it is the atoms
    /// `score < c` and `score <= c` that count (`not (score < 80)` is `score >= 80`). `None` when the
    /// condition does not test the total that way, and for the default stage, which has no condition.
    pub threshold: Option<f64>,
}

/// Per stage, in model order (best first): whether it can be reached and its total-score threshold.
pub fn stages(p: &Program) -> Vec<StageInfo> {
    stages_of(p, &p.static_pass())
}

fn stages_of(p: &Program, pass: &Pass) -> Vec<StageInfo> {
    let scores = Scores { total: pass.total, groups: pass.groups.clone() };
    p.stages
        .iter()
        .map(|s| StageInfo {
            id: s.id.clone(),
            reachable: reachable(p, s, &scores),
            threshold: s.when.and_then(|w| threshold(p, w, true)),
        })
        .collect()
}

/// False when the stage's condition is false for every score the program can give.
fn reachable(p: &Program, s: &StageDef, scores: &Scores) -> bool {
    s.when.is_none() || p.static_cond(s.when, Some(scores)) != Tri::False
}

/// The least `c` of the total-score atoms that can make the condition at `id` true; `positive` is false
/// under an odd number of `not`s. Recursion is bounded by the depth limit of expressions.
fn threshold(p: &Program, id: NodeId, positive: bool) -> Option<f64> {
    let least = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    match p.nodes.get(id as usize)? {
        Node::And(a, b) | Node::Or(a, b) | Node::If(_, a, b) => {
            least(threshold(p, *a, positive), threshold(p, *b, positive))
        }
        Node::Not(a) => threshold(p, *a, !positive),
        Node::Cmp(op, x, y) => {
            let is_score = |n: &NodeId| matches!(p.nodes.get(*n as usize), Some(Node::Score));
            // As `score op c`.
            let (op, c) = if is_score(x) {
                (*op, constant(p, *y)?)
            } else if is_score(y) {
                (op.mirror(), constant(p, *x)?)
            } else {
                return None;
            };
            let lower = if positive { matches!(op, Cmp::Ge | Cmp::Gt) } else { matches!(op, Cmp::Lt | Cmp::Le) };
            lower.then_some(c)
        }
        Node::Between(x, lo, _) if positive && matches!(p.nodes.get(*x as usize), Some(Node::Score)) => {
            constant(p, *lo)
        }
        _ => None,
    }
}

/// A finite number constant: `80`, `-5`.
fn constant(p: &Program, id: NodeId) -> Option<f64> {
    let c = match p.nodes.get(id as usize)? {
        Node::Num(n) => *n,
        Node::Neg(a) => match p.nodes.get(*a as usize)? {
            Node::Num(n) => -*n,
            _ => return None,
        },
        _ => return None,
    };
    c.is_finite().then_some(c)
}

/// A group's reachable bounds, with its label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupBounds {
    /// Group id.
    pub id: String,
    /// Its name in the requested locale; the id when it has none.
    pub label: String,
    /// Lowest reachable score (`None`: unbounded).
    pub min: Option<f64>,
    /// Highest reachable score (`None`: unbounded).
    pub max: Option<f64>,
}

/// A stage as [`Analysis`] shows it: [`StageInfo`] and the stage's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageAnalysis {
    /// Id, reachability and threshold.
    #[serde(flatten)]
    pub stage: StageInfo,
    /// Its name in the requested locale; the id when it has none.
    pub label: String,
}

/// Everything the static analysis says about a program, in one value (what an editor shows next to a model).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    /// Reachable bounds of the total.
    pub total: Range,
    /// Reachable bounds of each group, in model order.
    pub groups: Vec<GroupBounds>,
    /// Each stage, in model order.
    pub stages: Vec<StageAnalysis>,
    /// The warnings of the program, as given.
    pub warnings: Vec<Diagnostic>,
}

/// The analysis of a program, with labels in `locale` (default: the model's). `warnings` are the program's
/// warnings as the compiler gave them (placed in the text); [`analysis_warnings`] computes them again from
/// the program alone.
pub fn analysis(p: &Program, warnings: Vec<Diagnostic>, locale: Option<&str>) -> Analysis {
    let pass = p.static_pass();
    let fallback = p.locale.as_str();
    let loc = locale.unwrap_or(fallback);
    let label = |t: &Option<crate::model::Text>, id: &str| {
        t.as_ref().map(|t| t.get(loc, fallback)).filter(|s| !s.is_empty()).unwrap_or(id).to_string()
    };
    Analysis {
        total: Range::of(pass.total),
        groups: p
            .groups
            .iter()
            .zip(&pass.groups)
            .map(|(g, r)| {
                let r = Range::of(*r);
                GroupBounds { id: g.id.clone(), label: label(&g.label, &g.id), min: r.min, max: r.max }
            })
            .collect(),
        stages: p
            .stages
            .iter()
            .zip(stages_of(p, &pass))
            .map(|(s, stage)| StageAnalysis { label: label(&s.label, &s.id), stage })
            .collect(),
        warnings,
    }
}

/// The warnings of a program, found from the program alone (pointers, but no positions in a text, and in the
/// order of the checks rather than of the document): for a program loaded from its binary form.
pub fn analysis_warnings(p: &Program) -> Vec<Diagnostic> {
    let mut diags = vec![];
    warnings(p, &mut diags);
    diags
}

fn fmt_bound(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else if x > 0.0 {
        "unbounded".into()
    } else {
        "-unbounded".into()
    }
}

pub(crate) fn warnings(p: &Program, diags: &mut Vec<Diagnostic>) {
    let pass = p.static_pass();
    let scores = Scores { total: pass.total, groups: pass.groups.clone() };
    for (i, s) in p.stages.iter().enumerate() {
        if !reachable(p, s, &scores) {
            let parts: Vec<String> =
                std::iter::once(format!("score {}..{}", fmt_bound(pass.total.0), fmt_bound(pass.total.1)))
                    .chain(
                        p.groups
                            .iter()
                            .zip(&pass.groups)
                            .map(|(g, r)| format!("{} {}..{}", g.id, fmt_bound(r.0), fmt_bound(r.1))),
                    )
                    .collect();
            diags.push(
                Diagnostic::warning(
                    Code::UnreachableStage,
                    format!("/stages/{i}/when"),
                    format!("no lead can reach the stage `{}`", s.id),
                )
                .with_note(format!("reachable: {}", parts.join(", "))),
            );
        }
    }
    for (i, r) in p.rules.iter().enumerate() {
        if r.when.is_some() && p.static_cond(r.when, None) == Tri::False {
            diags.push(Diagnostic::warning(
                Code::DeadRule,
                format!("/rules/{i}/when"),
                format!("the condition of rule `{}` can never be true, so it never gives points", r.id),
            ));
        }
    }
    for (i, k) in p.knockouts.iter().enumerate() {
        if p.static_cond(Some(k.when), None) == Tri::False {
            diags.push(Diagnostic::warning(
                Code::DeadRule,
                format!("/knockouts/{i}/when"),
                format!("the condition of knockout `{}` can never be true", k.id),
            ));
        }
    }
    overlapping_knockouts(p, diags);
    for (i, f) in p.fields.iter().enumerate() {
        let Some(req) = f.required else { continue };
        if !matches!(p.nodes.get(req as usize), Some(Node::Bool(true))) {
            continue;
        }
        let step = f.step.map(|s| s as usize);
        let why = if f.visible.is_some() {
            Some("its `visible_if` can hide it")
        } else if step.is_some_and(|s| p.steps[s].visible.is_some()) {
            Some("its step has a `visible_if`")
        } else {
            None
        };
        if let Some(why) = why {
            diags.push(
                Diagnostic::warning(
                    Code::HiddenRequired,
                    format!("/fields/{i}/required"),
                    format!("`{}` is required but can be hidden: {why}", f.id),
                )
                .with_note("a hidden field is not asked and its answer does not count; if that is meant, write `required` as a condition"),
            );
        }
    }
}

// Overlapping knockouts. The first knockout that holds is the reason a lead is disqualified, so a knockout
// that can only hold when an earlier one holds is never the reason (shadowed), and two knockouts that both
// hold for some answer leave the later one without effect for it (overlap).
//
// The proof reads conditions as facts about one field's answer at a time: the atoms `f == 'x'`, `f != 'x'`,
// `f in list` and `f not in list` on a field `f` of type choice, country or string, with constant strings
// and constant lists. Such an atom is true or false exactly when the field has an answer (unknown
// otherwise), so `not` complements its set, and `and`, `or` and `not` combine facts by the Kleene rules:
// - *necessary* facts: when the condition is true, the answer of `f` lies in the set (and exists);
// - *sufficient* facts: when the answer of `f` lies in the set, the condition is true.
// A knockout is shadowed when one of its necessary sets lies within the union of the earlier knockouts'
// sufficient sets on that field; two knockouts overlap when their sufficient sets on one field meet in an
// answer the field accepts (an option of a choice, a two-letter upper-case code for a country, a text within
// `max_length`; the field is assumed to be asked on some path). Not detected: numbers and intervals (`employees < 10` and `employees < 5`), booleans,
// email fields (whose answers are checked for a format), computed values (`lower(f)`, `domain(email)`,
// `contains`, `any_in` on multi fields), conditions relating two fields, JsonLogic conditions, and an overlap
// through conditions that are not sufficient on one field alone (`country == 'XX' and employees < 5`).

/// Answers of one field: these values, or any accepted value but these.
#[derive(Debug, Clone, PartialEq)]
enum Values<'p> {
    Only(BTreeSet<&'p str>),
    AllBut(BTreeSet<&'p str>),
}

/// Facts on fields, at most one per field, sorted by field.
type Facts<'p> = Vec<(u32, Values<'p>)>;

/// What answers a field accepts, as far as the proof needs.
#[derive(Clone, Copy)]
enum Domain<'p> {
    /// A choice: its options.
    Options(&'p crate::program::FieldDef),
    /// A country code: two upper-case ASCII letters (676 codes).
    Country,
    /// Text of at most this many characters.
    Text(u32),
}

const COUNTRY_CODES: usize = 26 * 26;

impl<'p> Domain<'p> {
    fn of(p: &'p Program, f: u32) -> Option<Self> {
        let def = p.fields.get(f as usize)?;
        match def.kind {
            FieldType::Choice => Some(Domain::Options(def)),
            FieldType::Country => Some(Domain::Country),
            FieldType::String => Some(Domain::Text(def.max_length)),
            _ => None,
        }
    }

    fn accepts(self, v: &str) -> bool {
        match self {
            Domain::Options(def) => def.option_index(v).is_some(),
            Domain::Country => v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()),
            Domain::Text(max) => v.chars().count() <= max as usize,
        }
    }

    /// Drops values the field never holds; a choice's sets are always `Only` its options.
    fn norm(self, v: Values<'p>) -> Values<'p> {
        match v {
            Values::Only(s) => Values::Only(s.into_iter().filter(|x| self.accepts(x)).collect()),
            Values::AllBut(s) => match self {
                Domain::Options(def) => {
                    Values::Only(def.options.iter().map(|o| o.value()).filter(|x| !s.contains(x)).collect())
                }
                _ => Values::AllBut(s.into_iter().filter(|x| self.accepts(x)).collect()),
            },
        }
    }

    fn not(self, v: Values<'p>) -> Values<'p> {
        self.norm(match v {
            Values::Only(s) => Values::AllBut(s),
            Values::AllBut(s) => Values::Only(s),
        })
    }

    fn meet(self, a: &Values<'p>, b: &Values<'p>) -> Values<'p> {
        use Values::*;
        self.norm(match (a, b) {
            (Only(x), Only(y)) => Only(x.intersection(y).copied().collect()),
            (Only(x), AllBut(y)) | (AllBut(y), Only(x)) => Only(x.difference(y).copied().collect()),
            (AllBut(x), AllBut(y)) => AllBut(x.union(y).copied().collect()),
        })
    }

    fn join(self, a: &Values<'p>, b: &Values<'p>) -> Values<'p> {
        use Values::*;
        self.norm(match (a, b) {
            (Only(x), Only(y)) => Only(x.union(y).copied().collect()),
            (Only(x), AllBut(y)) | (AllBut(y), Only(x)) => AllBut(y.difference(x).copied().collect()),
            (AllBut(x), AllBut(y)) => AllBut(x.intersection(y).copied().collect()),
        })
    }

    fn is_empty(self, v: &Values<'p>) -> bool {
        match v {
            Values::Only(s) => s.is_empty(),
            // A choice is never `AllBut`; a text field accepts endless values.
            Values::AllBut(s) => matches!(self, Domain::Country) && s.len() >= COUNTRY_CODES,
        }
    }

    /// Every accepted value of `a` is in `b`.
    fn within(self, a: &Values<'p>, b: &Values<'p>) -> bool {
        self.is_empty(&self.meet(a, &self.not(b.clone())))
    }
}

/// An atom on one field: the field and the answers that make it true.
fn atom<'p>(p: &'p Program, id: NodeId) -> Option<(u32, Domain<'p>, Values<'p>)> {
    let field = |n: NodeId| match p.nodes.get(n as usize) {
        Some(Node::Field(f)) => Domain::of(p, *f).map(|d| (*f, d)),
        _ => None,
    };
    let string = |n: NodeId| match p.nodes.get(n as usize) {
        Some(Node::Str(s)) => p.strings.get(*s as usize).map(|s| &**s),
        _ => None,
    };
    match p.nodes.get(id as usize)? {
        Node::Cmp(op @ (Cmp::Eq | Cmp::Ne), x, y) => {
            let ((f, d), s) = field(*x).zip(string(*y)).or_else(|| field(*y).zip(string(*x)))?;
            let v = Values::Only(BTreeSet::from([s]));
            Some((f, d, if *op == Cmp::Eq { d.norm(v) } else { d.not(v) }))
        }
        Node::In(x, l) => {
            let (f, d) = field(*x)?;
            let ListItems::Str(items) = &p.lists.get(*l as usize)?.items else { return None };
            Some((f, d, d.norm(Values::Only(items.iter().map(|s| &**s).collect()))))
        }
        _ => None,
    }
}

/// Facts of the condition at `id` (`positive` false under an odd number of `not`s). `necessary`: when the
/// condition is true, each fact holds; otherwise: when any one fact holds, the condition is true.
fn facts<'p>(p: &'p Program, id: NodeId, positive: bool, necessary: bool) -> Facts<'p> {
    if let Some((f, d, v)) = atom(p, id) {
        return vec![(f, if positive { v } else { d.not(v) })];
    }
    match p.nodes.get(id as usize) {
        Some(Node::Not(a)) => facts(p, *a, !positive, necessary),
        Some(Node::And(a, b) | Node::Or(a, b)) => {
            let both_true = matches!(p.nodes.get(id as usize), Some(Node::And(..))) == positive;
            let (x, y) = (facts(p, *a, positive, necessary), facts(p, *b, positive, necessary));
            // A conjunction needs both: its necessary facts are all of theirs, its sufficient ones those on a
            // field both sides have (met). A disjunction needs either: the facts on a field both have, joined.
            if both_true && necessary {
                merge(p, x, y, true)
            } else if both_true {
                common(p, &x, &y, true)
            } else if necessary {
                common(p, &x, &y, false)
            } else {
                merge(p, x, y, false)
            }
        }
        _ => vec![],
    }
}

fn domain(p: &Program, f: u32) -> Domain<'_> {
    Domain::of(p, f).unwrap_or(Domain::Text(0))
}

/// Every field of `x` and `y`, with met (`meet`) or joined sets where both have one.
fn merge<'p>(p: &'p Program, x: Facts<'p>, y: Facts<'p>, meet: bool) -> Facts<'p> {
    let mut out: Facts<'p> = x;
    for (f, v) in y {
        match out.iter_mut().find(|(g, _)| *g == f) {
            Some((_, w)) => {
                let d = domain(p, f);
                *w = if meet { d.meet(w, &v) } else { d.join(w, &v) };
            }
            None => out.push((f, v)),
        }
    }
    out.sort_by_key(|(f, _)| *f);
    out
}

/// The fields both `x` and `y` have, with met or joined sets.
fn common<'p>(p: &'p Program, x: &Facts<'p>, y: &Facts<'p>, meet: bool) -> Facts<'p> {
    x.iter()
        .filter_map(|(f, v)| {
            let (_, w) = y.iter().find(|(g, _)| g == f)?;
            let d = domain(p, *f);
            Some((*f, if meet { d.meet(v, w) } else { d.join(v, w) }))
        })
        .collect()
}

fn overlapping_knockouts(p: &Program, diags: &mut Vec<Diagnostic>) {
    let sufficient: Vec<Facts> = p.knockouts.iter().map(|k| facts(p, k.when, true, false)).collect();
    // A shadowed knockout is never the reason, so an overlap with it is not reported: the values of the
    // overlap are in a shadowing knockout's sufficient set, which overlaps too.
    let mut shadowed = vec![false; p.knockouts.len()];
    for (j, k) in p.knockouts.iter().enumerate() {
        let necessary = facts(p, k.when, true, true);
        // A knockout that can never hold is not shadowed (and not for this analysis to report).
        if necessary.iter().any(|(f, v)| domain(p, *f).is_empty(v)) {
            continue;
        }
        let shadow = necessary.iter().find_map(|(f, need)| {
            let d = domain(p, *f);
            let mut cover = Values::Only(BTreeSet::new());
            let mut by = vec![];
            for (i, facts) in sufficient[..j].iter().enumerate() {
                if let Some((_, s)) = facts.iter().find(|(g, _)| g == f) {
                    if !d.is_empty(&d.meet(s, need)) {
                        cover = d.join(&cover, s);
                        by.push(i);
                    }
                }
            }
            d.within(need, &cover).then_some((*f, need, by))
        });
        if let Some((f, need, by)) = shadow {
            shadowed[j] = true;
            let names: Vec<String> = by.iter().map(|&i| format!("`{}`", p.knockouts[i].id)).collect();
            let (one, which) = match names.as_slice() {
                [n] => (true, format!("the earlier knockout {n}")),
                _ => (false, format!("one of the earlier knockouts {}", names.join(", "))),
            };
            let field = &p.fields[f as usize].id;
            let holds: Vec<String> = by
                .iter()
                .filter_map(|&i| {
                    let (_, s) = sufficient[i].iter().find(|(g, _)| *g == f)?;
                    Some(format!("`{}` (/knockouts/{i}) holds when `{field}` is {}", p.knockouts[i].id, show(s)))
                })
                .collect();
            diags.push(
                Diagnostic::warning(
                    Code::OverlappingKnockouts,
                    format!("/knockouts/{j}/when"),
                    format!(
                        "knockout `{}` is never the reason: it holds only when {which} holds{}",
                        k.id,
                        if one { " too" } else { "" }
                    ),
                )
                .with_note(format!(
                    "`{}` needs `{field}` to be {}; {}",
                    k.id,
                    show(need),
                    holds.join("; ")
                )),
            );
            continue;
        }
        for (i, earlier) in sufficient[..j].iter().enumerate() {
            if shadowed[i] {
                continue;
            }
            let both = sufficient[j].iter().find_map(|(f, s)| {
                let (_, t) = earlier.iter().find(|(g, _)| g == f)?;
                let d = domain(p, *f);
                let m = d.meet(s, t);
                (!d.is_empty(&m)).then_some((*f, m))
            });
            if let Some((f, m)) = both {
                let other = &p.knockouts[i].id;
                diags.push(
                    Diagnostic::warning(
                        Code::OverlappingKnockouts,
                        format!("/knockouts/{j}/when"),
                        format!(
                            "knockouts `{other}` and `{}` overlap: when `{}` is {}, both hold and the later `{}` is not the reason",
                            k.id,
                            p.fields[f as usize].id,
                            show(&m),
                            k.id
                        ),
                    )
                    .with_note(format!("the other knockout is `{other}` (/knockouts/{i}); the first knockout that holds is the reason")),
                );
            }
        }
    }
}

/// A set of answers for people: `'XX'`, `'XX' or 'YY'`, `anything but 'XX'`; long lists cut.
fn show(v: &Values) -> String {
    const SHOWN: usize = 6;
    let list = |s: &BTreeSet<&str>, last: &str| {
        let mut items: Vec<String> = s.iter().take(SHOWN).map(|x| format!("'{x}'")).collect();
        if s.len() > SHOWN {
            items.push(format!("{} more", s.len() - SHOWN));
        }
        match items.pop() {
            Some(tail) if !items.is_empty() => format!("{} {last} {tail}", items.join(", ")),
            tail => tail.unwrap_or_default(),
        }
    };
    match v {
        Values::Only(s) if s.is_empty() => "nothing".into(),
        Values::Only(s) => list(s, "or"),
        Values::AllBut(s) if s.is_empty() => "anything".into(),
        Values::AllBut(s) => format!("anything but {}", list(s, "or")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn program(doc: serde_json::Value) -> Program {
        let c = crate::compile_value(doc);
        c.program.unwrap_or_else(|| panic!("compiles: {:?}", c.diagnostics))
    }

    /// A model with one rule per field and these stage conditions (the last stage has none).
    fn with_stages(conditions: &[&str]) -> Program {
        let mut stages: Vec<serde_json::Value> =
            conditions.iter().enumerate().map(|(i, w)| json!({"id": format!("s{i}"), "when": w})).collect();
        stages.push(json!({"id": "rest"}));
        program(json!({
            "leadscore": 1, "id": "t",
            "fields": [{"id": "n", "type": "integer", "min": 0, "max": 10}],
            "groups": [{"id": "fit"}],
            "rules": [{"id": "r", "group": "fit", "points": "n * 10"}],
            "stages": stages
        }))
    }

    fn thresholds(conditions: &[&str]) -> Vec<Option<f64>> {
        stages(&with_stages(conditions)).into_iter().map(|s| s.threshold).collect()
    }

    #[test]
    fn the_b2b_example_stages_have_their_score_thresholds() {
        let text = include_str!("../examples/b2b-saas.json");
        let p = crate::compile_str(text).program.expect("the example compiles");
        let got: Vec<(String, bool, Option<f64>)> =
            stages(&p).into_iter().map(|s| (s.id, s.reachable, s.threshold)).collect();
        let want = [("sql", Some(80.0)), ("mql", Some(45.0)), ("lead", None), ("subscriber", None)];
        assert_eq!(got, want.map(|(id, t)| (id.to_string(), true, t)));
    }

    #[test]
    fn a_threshold_is_the_least_score_atom_that_can_make_the_condition_true() {
        assert_eq!(
            thresholds(&[
                "score >= 50 or score > 30",
                "20 <= score and fit >= 10",
                "not (score < 40)",
                "score between 25 and 60",
                "fit >= 50",
                "not (score >= 50)",
                "score >= -5",
                "score < 90 and score >= 60",
            ]),
            [Some(30.0), Some(20.0), Some(40.0), Some(25.0), None, None, Some(-5.0), Some(60.0), None]
        );
        // `score == c` and upper bounds are not thresholds; neither is a computed bound.
        assert_eq!(thresholds(&["score == 50", "score <= 70", "score >= 10 + 20"]), [None, None, None, None]);
    }

    #[test]
    fn a_stage_above_the_reachable_scores_is_unreachable() {
        // The total is at most 100.
        let got: Vec<bool> = stages(&with_stages(&["score >= 150", "score >= 100", "score > 100 or fit >= 5"]))
            .iter()
            .map(|s| s.reachable)
            .collect();
        assert_eq!(got, [false, true, true, true]);
    }

    fn knockouts(conditions: &[&str]) -> Vec<(String, String, String)> {
        let ks: Vec<serde_json::Value> = conditions
            .iter()
            .enumerate()
            .map(|(i, w)| json!({"id": format!("k{i}"), "when": w, "reason": format!("r{i}")}))
            .collect();
        let c = crate::compile_value(json!({
            "leadscore": 1, "id": "t",
            "fields": [
                {"id": "country", "type": "country"},
                {"id": "kind", "type": "choice", "options": ["business", "personal", "school"]},
                {"id": "team", "type": "string", "max_length": 3},
                {"id": "employees", "type": "integer"}
            ],
            "lists": {"eu": ["DE", "FR", "IT"], "far": ["AU", "NZ"]},
            "knockouts": ks,
            "stages": [{"id": "lead"}]
        }));
        assert!(c.program.is_some(), "{:?}", c.diagnostics);
        c.diagnostics
            .iter()
            .filter(|d| d.code == Code::OverlappingKnockouts)
            .map(|d| (d.pointer.clone(), d.message.clone(), d.note.clone().unwrap_or_default()))
            .collect()
    }

    fn pointers(conditions: &[&str]) -> Vec<String> {
        knockouts(conditions)
            .into_iter()
            .map(|(p, m, _)| format!("{p} {}", m.split(':').next().unwrap_or("")))
            .collect()
    }

    #[test]
    fn a_knockout_that_holds_only_with_an_earlier_one_is_shadowed() {
        let w = knockouts(&["country in ['XX', 'YY']", "country == 'XX'"]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, "/knockouts/1/when");
        assert!(w[0].1.contains("`k1` is never the reason") && w[0].1.contains("`k0`"), "{w:?}");
        assert_eq!(w[0].2, "`k1` needs `country` to be 'XX'; `k0` (/knockouts/0) holds when `country` is 'XX' or 'YY'");
        // Covered by two earlier knockouts together, and through `and`, `or` and `not`.
        let w =
            knockouts(&["country in eu", "country in far", "country == 'IT' or (country == 'NZ' and employees > 5)"]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].1.contains("one of the earlier knockouts `k0`, `k1`"), "{w:?}");
        assert_eq!(pointers(&["not (country not in eu)", "country == 'FR' and employees < 10"]).len(), 1);
        // Every option of a choice but one, and that option: nothing is left for the later knockout.
        assert_eq!(pointers(&["kind != 'business'", "kind in ['personal', 'school']"]).len(), 1);
        assert_eq!(pointers(&["kind == 'school' or kind == 'personal'", "not (kind == 'business')"]).len(), 1);
        // Any text but "a", then "b".
        assert_eq!(pointers(&["team != 'a'", "team == 'b'"]).len(), 1);
        // A country that is not in the list, then one of a few that are not in it.
        assert_eq!(pointers(&["country not in eu", "country in far"]).len(), 1);
    }

    #[test]
    fn knockouts_with_common_values_overlap() {
        let w = knockouts(&["country == 'XX'", "country in ['XX', 'YY']"]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, "/knockouts/1/when");
        assert_eq!(
            w[0].1,
            "knockouts `k0` and `k1` overlap: when `country` is 'XX', both hold and the later `k1` is not the reason"
        );
        assert!(w[0].2.contains("`k0` (/knockouts/0)"), "{w:?}");
        assert_eq!(
            pointers(&["country not in eu", "country in ['IT', 'US']"]),
            ["/knockouts/1/when knockouts `k0` and `k1` overlap"]
        );
        // One warning per pair that overlaps.
        let w = pointers(&["kind == 'school'", "country == 'FR'", "kind != 'business' or country in eu"]);
        assert_eq!(w.len(), 2, "{w:?}");
        // Where the earlier ones cover it together, it is shadowed: one warning.
        assert_eq!(pointers(&["kind == 'school'", "kind == 'personal'", "kind != 'business'"]).len(), 1);
    }

    #[test]
    fn what_cannot_be_proven_is_not_reported() {
        for ks in [
            // Disjoint values.
            &["country in eu", "country in far"][..],
            &["kind == 'school'", "kind == 'personal'"],
            &["country == 'IT'", "country != 'IT'"],
            // The earlier one needs more than the field: it may not hold when the later one does.
            &["country == 'XX' and employees < 5", "country == 'XX'"],
            // Numbers, computed values, other fields, values no answer has.
            &["employees < 10", "employees < 5"],
            &["lower(team) == 'a'", "team == 'a'"],
            &["kind == 'school'", "country == 'IT'"],
            &["country == 'xx'", "country in ['xx', 'yy']"],
            &["team == 'long'", "team in ['long']"],
            // Never true: not shadowed, whatever comes before.
            &["country in eu", "country == 'IT' and country == 'FR'"],
        ] {
            assert_eq!(knockouts(ks), vec![], "{ks:?}");
        }
        for example in ["b2b-saas", "agency", "b2c-fitness", "it-software"] {
            let text = std::fs::read_to_string(format!("examples/{example}.json")).unwrap();
            let p = crate::compile_str(&text).program.unwrap();
            let mut diags = vec![];
            overlapping_knockouts(&p, &mut diags);
            assert_eq!(diags, vec![], "{example}");
        }
    }

    /// Every input of a small model, scored: a shadowed knockout is never the reason, and for every overlap
    /// some answer makes both knockouts hold.
    #[test]
    fn overlap_warnings_hold_on_every_answer() {
        let atoms = [
            "kind == 'school'",
            "kind != 'business'",
            "kind in ['personal', 'school']",
            "country in eu",
            "country not in eu",
            "country == 'XX'",
            "country in ['XX', 'IT']",
            "employees < 50",
        ];
        let mut seed = 7u64;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let mut formula = || {
            let (a, b) = (atoms[next(atoms.len())], atoms[next(atoms.len())]);
            match next(4) {
                0 => a.to_string(),
                1 => format!("({a}) and ({b})"),
                2 => format!("({a}) or ({b})"),
                _ => format!("not ({a})"),
            }
        };
        let model = |ks: &[String]| {
            let ks: Vec<serde_json::Value> =
                ks.iter().enumerate().map(|(i, w)| json!({"id": format!("k{i}"), "when": w, "reason": "r"})).collect();
            crate::compile_value(json!({
                "leadscore": 1, "id": "t",
                "fields": [
                    {"id": "country", "type": "country"},
                    {"id": "kind", "type": "choice", "options": ["business", "personal", "school"]},
                    {"id": "employees", "type": "integer"}
                ],
                "lists": {"eu": ["DE", "FR", "IT"]},
                "knockouts": ks,
                "stages": [{"id": "lead"}]
            }))
        };
        let mut inputs = vec![];
        for country in [json!(null), json!("XX"), json!("IT"), json!("FR"), json!("US")] {
            for kind in [json!(null), json!("business"), json!("personal"), json!("school")] {
                for employees in [json!(null), json!(10), json!(100)] {
                    inputs.push(json!({"country": country, "kind": kind, "employees": employees}));
                }
            }
        }
        let reasons = |p: &Program| -> Vec<Option<usize>> {
            let events = crate::Events::new(p);
            inputs.iter().map(|a| p.score(&crate::Answers::from_json(p, a).0, &events, 0.0).knockout).collect()
        };
        let (mut shadowed, mut overlaps) = (0, 0);
        for _ in 0..300 {
            let ks: Vec<String> = (0..3).map(|_| formula()).collect();
            let c = model(&ks);
            let p = c.program.as_ref().expect("compiles");
            let got = reasons(p);
            for d in c.diagnostics.iter().filter(|d| d.code == Code::OverlappingKnockouts) {
                let j: usize = d.pointer.split('/').nth(2).unwrap().parse().unwrap();
                if d.message.contains("is never the reason") {
                    shadowed += 1;
                    assert!(!got.contains(&Some(j)), "{ks:?}: {d:?}");
                } else {
                    overlaps += 1;
                    let i: usize =
                        d.note.as_deref().unwrap().split("(/knockouts/").nth(1).unwrap()[..1].parse().unwrap();
                    let alone = |k: usize| reasons(&model(&ks[k..=k]).program.unwrap());
                    let (a, b) = (alone(i), alone(j));
                    assert!(a.iter().zip(&b).any(|(x, y)| x.is_some() && y.is_some()), "{ks:?}: {d:?}");
                }
            }
        }
        assert!(shadowed > 20 && overlaps > 20, "{shadowed} shadowed, {overlaps} overlaps");
    }

    #[test]
    fn the_analysis_gathers_bounds_stages_and_warnings() {
        let p = program(json!({
            "leadscore": 1, "id": "t", "locale": "en",
            "fields": [{"id": "n", "type": "integer", "min": 0, "max": 10}],
            "groups": [{"id": "fit", "label": {"en": "Fit", "it": "Idoneità"}}, {"id": "engagement"}],
            "rules": [{"id": "r", "group": "fit", "points": "n * 10"}, {"id": "e", "group": "engagement", "points": "count(visit)"}],
            "events": [{"id": "visit"}],
            "stages": [{"id": "hot", "label": {"en": "Hot", "it": "Caldo"}, "when": "score >= 60"}, {"id": "cold"}]
        }));
        let a = analysis(&p, analysis_warnings(&p), Some("it"));
        assert_eq!(a.total, Range { min: Some(0.0), max: None });
        let groups: Vec<(&str, &str, Option<f64>, Option<f64>)> =
            a.groups.iter().map(|g| (g.id.as_str(), g.label.as_str(), g.min, g.max)).collect();
        assert_eq!(
            groups,
            [("fit", "Idoneità", Some(0.0), Some(100.0)), ("engagement", "engagement", Some(0.0), None)]
        );
        assert_eq!(a.stages[0].label, "Caldo");
        assert_eq!(a.stages[0].stage, StageInfo { id: "hot".into(), reachable: true, threshold: Some(60.0) });
        let j = serde_json::to_value(&a).unwrap();
        assert_eq!(j["stages"][1], json!({"id": "cold", "label": "cold", "reachable": true, "threshold": null}));
        assert_eq!(j["total"], json!({"min": 0.0, "max": null}));
        assert_eq!(j["warnings"], json!([]));
        assert_eq!(analysis(&p, vec![], None).groups[0].label, "Fit");
    }
}

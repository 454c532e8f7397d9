//! Expression evaluation over possibly partial input, with three-valued logic and number intervals.
//!
//! A value is known, or unknown. An unknown is *open* when some completion of the answers could still
//! decide it (it depends on a pending field), and *closed* when nothing can (it depends on a field that
//! will never be answered). An open unknown number carries the interval it lies in. Every operation is
//! total: it returns a value for any operands; none panics.

use std::borrow::Cow;

use crate::answers::{Answer, Answers, Events, DAY_MS};
use crate::builtins::Apply;
use crate::model::FieldType;
use crate::program::*;

/// A run-time value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    /// Not known. `open`: a later answer may decide it.
    Unk(bool),
    /// An open unknown number within [lo, hi] (bounds may be infinite): a score, which always exists.
    Range(f64, f64),
    /// An open unknown number within [lo, hi], or no value at all: a pending field may be answered or not.
    Maybe(f64, f64),
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    /// A multi field's answer: bits and the field.
    Set(u64, u32),
    /// A constant list.
    List(u32),
    /// A JsonLogic array.
    Arr(Vec<Val<'a>>),
}

impl Val<'_> {
    #[inline(always)]
    pub(crate) fn unknown(&self) -> Option<bool> {
        match self {
            Val::Unk(o) => Some(*o),
            Val::Range(..) | Val::Maybe(..) => Some(true),
            _ => None,
        }
    }
}

/// How far a field is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Answered, and the answer counts (in [`Ctx::answers`]).
    Known,
    /// May still be answered.
    Pending,
    /// Will not be answered (hidden, or the form is complete).
    Absent,
}

/// Scores as stage conditions see them: intervals (points when everything is known).
#[derive(Debug, Clone, Default)]
pub(crate) struct Scores {
    pub total: (f64, f64),
    pub groups: Vec<(f64, f64)>,
}

pub(crate) struct Ctx<'a> {
    pub p: &'a Program,
    /// The answers; only those of `Known` slots are read.
    pub answers: &'a Answers,
    pub slots: &'a [Slot],
    /// `None`: events are not known (static analysis).
    pub events: Option<&'a Events>,
    pub now: f64,
    pub scores: Option<&'a Scores>,
    /// Pending fields will certainly be answered (static "can never be true" checks only). Otherwise a pending
    /// field may also stay unanswered, which no value stands for.
    pub present: bool,
}

#[inline(always)]
fn num_or_range(lo: f64, hi: f64) -> Val<'static> {
    if lo == hi {
        Val::Num(lo)
    } else {
        Val::Range(lo, hi)
    }
}

/// JavaScript's ToNumber for the values JsonLogic sees. An array (a multi answer too) is first written as a
/// string, as JavaScript does: `[]` is 0, `["5"]` 5, `[true]` and `["x", "y"]` NaN.
fn js_number(p: &Program, v: &Val) -> f64 {
    match v {
        Val::Null => 0.0,
        Val::Bool(b) => f64::from(u8::from(*b)),
        Val::Num(n) => *n,
        Val::Str(s) => crate::host::js_to_number(s),
        Val::Arr(_) | Val::Set(..) | Val::List(_) => crate::host::js_to_number(&js_string(p, v)),
        Val::Unk(_) | Val::Range(..) | Val::Maybe(..) => f64::NAN,
    }
}

/// JavaScript's parseFloat, which reads its argument as a string: the longest numeric prefix.
fn js_parse_float(p: &Program, v: &Val) -> f64 {
    match v {
        // String(-0) is "0".
        Val::Num(n) if *n == 0.0 => 0.0,
        Val::Num(n) => *n,
        Val::Str(s) => crate::host::js_parse_float(s),
        Val::Arr(_) | Val::Set(..) | Val::List(_) => crate::host::js_parse_float(&js_string(p, v)),
        // "null", "true", "false"
        _ => f64::NAN,
    }
}

/// Strings joined by commas, as JavaScript's `Array.prototype.join` writes them. (A loop rather than `join`,
/// whose generic copy costs the runtime's Wasm module more.)
fn commas(items: impl Iterator<Item = String>) -> String {
    let mut out = String::new();
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&s);
    }
    out
}

/// JavaScript's ToString for the values JsonLogic sees.
fn js_string(p: &Program, v: &Val) -> String {
    match v {
        Val::Null => "null".into(),
        Val::Bool(b) => b.to_string(),
        Val::Num(n) => crate::host::js_string(*n),
        Val::Str(s) => s.to_string(),
        Val::Arr(a) => commas(a.iter().map(|x| if matches!(x, Val::Null) { String::new() } else { js_string(p, x) })),
        Val::Set(bits, f) => commas(set_values(p, *bits, *f).into_iter().map(str::to_string)),
        Val::List(l) => commas(list_vals(p, *l).iter().map(|x| js_string(p, x))),
        Val::Unk(_) | Val::Range(..) | Val::Maybe(..) => String::new(),
    }
}

fn set_values(p: &Program, bits: u64, f: u32) -> Vec<&str> {
    let Some(fd) = p.fields.get(f as usize) else { return vec![] };
    fd.options.iter().enumerate().filter(|(i, _)| *i < 64 && bits & (1 << i) != 0).map(|(_, o)| o.value()).collect()
}

fn list_vals(p: &Program, l: u32) -> Vec<Val<'_>> {
    match p.lists.get(l as usize).map(|l| &l.items) {
        Some(ListItems::Str(v)) => v.iter().map(|s| Val::Str(Cow::Borrowed(&**s))).collect(),
        Some(ListItems::Num(v)) => v.iter().map(|n| Val::Num(*n)).collect(),
        Some(ListItems::Json(v)) => v.iter().map(json_val).collect(),
        None => vec![],
    }
}

/// Whether a constant list holds `x`, by `===` (`Array.prototype.indexOf`), without making its items values.
fn list_has(p: &Program, l: u32, x: &Val) -> bool {
    match (p.lists.get(l as usize).map(|l| &l.items), x) {
        (Some(ListItems::Str(v)), Val::Str(s)) => v.iter().any(|i| **i == **s),
        (Some(ListItems::Num(v)), Val::Num(n)) => v.iter().any(|i| i == n),
        (Some(ListItems::Json(v)), _) => v.iter().any(|j| js_strict_eq(&json_val(j), x)),
        (Some(ListItems::Str(_) | ListItems::Num(_)) | None, _) => false,
    }
}

fn json_val(j: &serde_json::Value) -> Val<'_> {
    use serde_json::Value as J;
    match j {
        J::Null => Val::Null,
        J::Bool(b) => Val::Bool(*b),
        J::Number(n) => Val::Num(n.as_f64().unwrap_or(f64::NAN)),
        J::String(s) => Val::Str(Cow::Borrowed(s)),
        J::Array(a) => Val::Arr(a.iter().map(json_val).collect()),
        J::Object(_) => Val::Null,
    }
}

/// json-logic-js's truthiness: JavaScript's, except that an empty array is false.
#[inline(always)]
fn js_truthy(v: &Val) -> Option<bool> {
    Some(match v {
        Val::Unk(_) | Val::Range(..) | Val::Maybe(..) => return None,
        Val::Null => false,
        Val::Bool(b) => *b,
        Val::Num(n) => *n != 0.0 && !n.is_nan(),
        Val::Str(s) => !s.is_empty(),
        Val::Arr(a) => !a.is_empty(),
        Val::Set(bits, _) => *bits != 0,
        Val::List(_) => true,
    })
}

/// JavaScript's `===`. Arrays are equal only to themselves: a field's answer (the same array of the data) is,
/// a literal array or a `merge` (a new one each time) is not.
fn js_strict_eq(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Set(_, f), Val::Set(_, g)) => f == g,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Num(x), Val::Num(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        _ => false,
    }
}

fn js_loose_eq(p: &Program, a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Null, _) | (_, Val::Null) => false,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Set(_, f), Val::Set(_, g)) => f == g,
        (Val::Arr(_) | Val::Set(..) | Val::List(_), Val::Arr(_) | Val::Set(..) | Val::List(_)) => false,
        (Val::Arr(_) | Val::Set(..) | Val::List(_), Val::Str(s))
        | (Val::Str(s), Val::Arr(_) | Val::Set(..) | Val::List(_)) => {
            let other = if matches!(a, Val::Str(_)) { b } else { a };
            js_string(p, other) == **s
        }
        (Val::Arr(_) | Val::Set(..) | Val::List(_), _) => js_loose_eq(p, &Val::Str(Cow::Owned(js_string(p, a))), b),
        (_, Val::Arr(_) | Val::Set(..) | Val::List(_)) => js_loose_eq(p, a, &Val::Str(Cow::Owned(js_string(p, b)))),
        _ => js_number(p, a) == js_number(p, b),
    }
}

/// JavaScript's `a < b` (and friends) after ToPrimitive: strings compare by UTF-16 code units.
fn js_less(p: &Program, a: &Val, b: &Val, or_equal: bool) -> bool {
    let prim = |v: &Val| -> Option<String> {
        match v {
            Val::Str(s) => Some(s.to_string()),
            Val::Arr(_) | Val::Set(..) | Val::List(_) => Some(js_string(p, v)),
            _ => None,
        }
    };
    if let (Some(x), Some(y)) = (prim(a), prim(b)) {
        let ord = x.encode_utf16().cmp(y.encode_utf16());
        return if or_equal { ord.is_le() } else { ord.is_lt() };
    }
    let conv = |v: &Val| match prim(v) {
        Some(s) => crate::host::js_to_number(&s),
        None => js_number(p, v),
    };
    let (x, y) = (conv(a), conv(b));
    if or_equal {
        x <= y
    } else {
        x < y
    }
}

#[inline(always)]
fn bounds(v: &Val) -> Option<(f64, f64)> {
    match v {
        Val::Num(n) => Some((*n, *n)),
        Val::Range(lo, hi) => Some((*lo, *hi)),
        _ => None,
    }
}

/// Bounds of a number that may also be missing: (lo, hi, maybe missing).
fn loose_bounds(v: &Val) -> Option<(f64, f64, bool)> {
    match v {
        Val::Num(n) => Some((*n, *n, false)),
        Val::Range(lo, hi) => Some((*lo, *hi, false)),
        Val::Maybe(lo, hi) => Some((*lo, *hi, true)),
        _ => None,
    }
}

fn ranged(lo: f64, hi: f64, maybe: bool) -> Val<'static> {
    if maybe {
        Val::Maybe(lo, hi)
    } else {
        Val::Range(lo, hi)
    }
}

fn hull<'a>(a: Val<'a>, b: Val<'a>) -> Val<'a> {
    if a == b {
        return a;
    }
    match (loose_bounds(&a), loose_bounds(&b)) {
        (Some(x), Some(y)) => ranged(x.0.min(y.0), x.1.max(y.1), x.2 || y.2),
        _ => Val::Unk(true),
    }
}

impl<'a> Ctx<'a> {
    fn field(&self, f: u32) -> Val<'a> {
        let Some(def) = self.p.fields.get(f as usize) else { return Val::Unk(false) };
        match self.slots.get(f as usize).copied().unwrap_or(Slot::Absent) {
            Slot::Known => match self.answers.get(f as usize) {
                None => Val::Unk(false),
                Some(Answer::Num(n)) => Val::Num(*n),
                Some(Answer::Text(s, _)) => Val::Str(Cow::Borrowed(&**s)),
                Some(Answer::Bool(b)) => Val::Bool(*b),
                Some(Answer::Choice(i)) => {
                    def.options.get(*i as usize).map_or(Val::Unk(false), |o| Val::Str(Cow::Borrowed(o.value())))
                }
                Some(Answer::Multi(bits)) => Val::Set(*bits, f),
            },
            Slot::Pending => match def.kind {
                FieldType::Number | FieldType::Integer => {
                    ranged(def.min.unwrap_or(f64::NEG_INFINITY), def.max.unwrap_or(f64::INFINITY), !self.present)
                }
                _ => Val::Unk(true),
            },
            Slot::Absent => Val::Unk(false),
        }
    }

    /// Ages in days of event `e`'s occurrences, newest first (future times count as age 0).
    fn ages(&self, e: u32) -> impl Iterator<Item = f64> + 'a {
        let now = self.now;
        self.events.map_or(&[][..], |ev| ev.times(e as usize)).iter().map(move |t| ((now - t) / DAY_MS).max(0.0))
    }

    /// The condition's value: Some(b) when known; None with `open` when unknown.
    pub(crate) fn cond(&self, id: Option<NodeId>) -> Tri {
        let Some(id) = id else { return Tri::True };
        match self.eval(id) {
            Val::Bool(true) => Tri::True,
            Val::Bool(false) => Tri::False,
            Val::Unk(open) => Tri::Unknown(open),
            Val::Range(..) | Val::Maybe(..) => Tri::Unknown(true),
            v => match js_truthy(&v) {
                Some(true) => Tri::True,
                _ => Tri::False,
            },
        }
    }

    pub(crate) fn eval(&self, id: NodeId) -> Val<'a> {
        let p = self.p;
        let Some(node) = p.nodes.get(id as usize) else { return Val::Unk(false) };
        match node {
            Node::Num(n) => Val::Num(*n),
            Node::Str(s) => Val::Str(Cow::Borrowed(p.strings.get(*s as usize).map_or("", |b| &**b))),
            Node::Bool(b) => Val::Bool(*b),
            Node::Null => Val::Null,
            Node::List(l) => Val::List(*l),
            Node::Field(f) => self.field(*f),
            Node::Var(f, default) => match self.field(*f) {
                Val::Unk(false) => match default {
                    Some(d) => self.eval(*d),
                    None => Val::Null,
                },
                Val::Range(..) | Val::Maybe(..) => Val::Unk(true),
                v => v,
            },
            Node::Answered(f) => match self.slots.get(*f as usize).copied().unwrap_or(Slot::Absent) {
                Slot::Known => Val::Bool(true),
                Slot::Absent => Val::Bool(false),
                Slot::Pending => Val::Unk(true),
            },
            Node::Score => match self.scores {
                Some(s) => num_or_range(s.total.0, s.total.1),
                None => Val::Unk(false),
            },
            Node::Group(g) => match self.scores.and_then(|s| s.groups.get(*g as usize)) {
                Some(&(lo, hi)) => num_or_range(lo, hi),
                None => Val::Unk(false),
            },
            Node::Count(e, days) => {
                let within = match days.map(|d| self.eval(d)) {
                    None => f64::INFINITY,
                    Some(Val::Num(d)) => d,
                    Some(_) => return Val::Unk(false),
                };
                if self.events.is_none() {
                    return Val::Range(0.0, f64::INFINITY);
                }
                Val::Num(self.ages(*e).take_while(|&a| a <= within).count() as f64)
            }
            Node::DaysSince(e) => {
                if self.events.is_none() {
                    return Val::Range(0.0, f64::INFINITY);
                }
                Val::Num(self.ages(*e).next().unwrap_or(f64::INFINITY))
            }
            Node::Not(a) => match self.eval(*a) {
                Val::Bool(b) => Val::Bool(!b),
                Val::Range(..) | Val::Maybe(..) => Val::Unk(true),
                v => v,
            },
            Node::And(a, b) => self.kleene(*a, *b, false),
            Node::Or(a, b) => self.kleene(*a, *b, true),
            Node::If(c, a, b) => match self.eval(*c) {
                Val::Bool(true) => self.eval(*a),
                Val::Bool(false) => self.eval(*b),
                Val::Unk(false) => Val::Unk(false),
                // Open: the condition may become true, false, or stay unknown for good (its fields never
                // answered), when the `if` has no value: a number in the hull of both branches, or missing.
                _ => match hull(self.eval(*a), self.eval(*b)) {
                    Val::Num(n) => Val::Maybe(n, n),
                    Val::Range(lo, hi) | Val::Maybe(lo, hi) => Val::Maybe(lo, hi),
                    _ => Val::Unk(true),
                },
            },
            Node::Neg(a) => match self.eval(*a) {
                Val::Num(n) => Val::Num(-n),
                Val::Range(lo, hi) => Val::Range(-hi, -lo),
                Val::Maybe(lo, hi) => Val::Maybe(-hi, -lo),
                v => v,
            },
            Node::Arith(op, a, b) => {
                let x = self.eval(*a);
                let y = self.eval(*b);
                match (&x, &y) {
                    (Val::Num(x), Val::Num(y)) => Val::Num(op.at(*x, *y)),
                    _ => match (loose_bounds(&x), loose_bounds(&y)) {
                        (Some(bx), Some(by)) => {
                            let (lo, hi) = op.over((bx.0, bx.1), (by.0, by.1));
                            ranged(lo, hi, bx.2 || by.2)
                        }
                        _ => Val::Unk(x.unknown().unwrap_or(false) || y.unknown().unwrap_or(false)),
                    },
                }
            }
            Node::Cmp(op, a, b) => {
                let x = self.eval(*a);
                let y = self.eval(*b);
                if let (Some(bx), Some(by)) = (bounds(&x), bounds(&y)) {
                    return match op.over(bx, by) {
                        Some(r) => Val::Bool(r),
                        None => Val::Unk(true),
                    };
                }
                if let Some(open) = unknown2(&x, &y) {
                    return Val::Unk(open);
                }
                let eq = match (&x, &y) {
                    (Val::Str(s), Val::Str(t)) => s == t,
                    (Val::Bool(s), Val::Bool(t)) => s == t,
                    _ => false,
                };
                Val::Bool(if *op == Cmp::Ne { !eq } else { eq })
            }
            Node::In(a, l) => {
                let x = self.eval(*a);
                let list = p.lists.get(*l as usize).map(|l| &l.items);
                match (x, list) {
                    (Val::Str(s), Some(items)) => Val::Bool(items.has_str(&s)),
                    (Val::Num(n), Some(items)) => Val::Bool(items.has_num(n)),
                    (Val::Range(lo, hi), Some(ListItems::Num(v))) => {
                        if v.iter().any(|&n| n >= lo && n <= hi) {
                            Val::Unk(true)
                        } else {
                            Val::Bool(false)
                        }
                    }
                    (Val::Unk(o), _) => Val::Unk(o),
                    (Val::Range(..) | Val::Maybe(..), _) => Val::Unk(true),
                    _ => Val::Bool(false),
                }
            }
            Node::Between(a, lo, hi) => {
                let x = self.eval(*a);
                let l = self.eval(*lo);
                let h = self.eval(*hi);
                match (bounds(&x), bounds(&l), bounds(&h)) {
                    (Some(bx), Some(bl), Some(bh)) => {
                        let ge = Cmp::Ge.over(bx, bl);
                        let le = Cmp::Le.over(bx, bh);
                        match (ge, le) {
                            (Some(false), _) | (_, Some(false)) => Val::Bool(false),
                            (Some(true), Some(true)) => Val::Bool(true),
                            _ => Val::Unk(true),
                        }
                    }
                    _ => Val::Unk([x, l, h].iter().any(|v| v.unknown() == Some(true))),
                }
            }
            Node::Call(func, s, n) => self.call(*func, p.call_args(*s, *n)),
            Node::Js(op, s, n) => self.js(*op, p.call_args(*s, *n)),
        }
    }

    /// Kleene `and` (`absorbing` false) and `or` (`absorbing` true): the absorbing value decides, even
    /// beside an unknown; the other value leaves the result to the other operand.
    fn kleene(&self, a: NodeId, b: NodeId, absorbing: bool) -> Val<'a> {
        let x = self.eval(a);
        if x == Val::Bool(absorbing) {
            return x;
        }
        match (x, self.eval(b)) {
            (_, Val::Bool(y)) if y == absorbing => Val::Bool(absorbing),
            (Val::Bool(_), y) => y,
            (x, Val::Bool(_)) => x,
            (x, y) => Val::Unk(x.unknown().unwrap_or(false) || y.unknown().unwrap_or(false)),
        }
    }

    fn call(&self, func: Func, args: &[NodeId]) -> Val<'a> {
        // `lower(field)`: the answer's lower-case form was computed when it was set.
        if let (Func::Lower, [arg]) = (func, args) {
            if let Some(Node::Field(f)) = self.p.nodes.get(*arg as usize) {
                if let (Some(Slot::Known), Some(Answer::Text(s, lower))) =
                    (self.slots.get(*f as usize), self.answers.get(*f as usize))
                {
                    return Val::Str(Cow::Borrowed(lower.as_deref().unwrap_or(s)));
                }
            }
        }
        let apply = func.def().apply;
        // A fold reads its arguments below: evaluating one here too would make nested calls exponential.
        let vals: [Val<'a>; 2] = match apply {
            Apply::Fold(_) => [Val::Null, Val::Null],
            Apply::Text { .. } | Apply::Test(_) | Apply::Num { .. } | Apply::Len | Apply::Holds | Apply::HoldsAny => {
                [args.first().map_or(Val::Null, |&a| self.eval(a)), args.get(1).map_or(Val::Null, |&a| self.eval(a))]
            }
        };
        match apply {
            Apply::Fold(f) => {
                let mut acc: Option<(f64, f64)> = None;
                let mut unk: Option<bool> = None;
                let mut maybe = false;
                for &a in args {
                    let v = self.eval(a);
                    match loose_bounds(&v) {
                        Some((lo, hi, m)) => {
                            maybe |= m;
                            acc = Some(acc.map_or((lo, hi), |c| (f(c.0, lo), f(c.1, hi))));
                        }
                        None => unk = Some(unk.unwrap_or(false) || v.unknown().unwrap_or(false)),
                    }
                }
                match (unk, acc) {
                    (Some(o), _) => Val::Unk(o),
                    (None, Some((lo, hi))) if maybe => Val::Maybe(lo, hi),
                    (None, Some((lo, hi))) => num_or_range(lo, hi),
                    (None, None) => Val::Unk(false),
                }
            }
            Apply::Num { at, over } => match &vals[0] {
                Val::Num(x) => Val::Num(at(*x)),
                Val::Range(lo, hi) | Val::Maybe(lo, hi) => {
                    let (lo, hi) = match over {
                        Some(over) => over(*lo, *hi),
                        None => (at(*lo), at(*hi)),
                    };
                    ranged(lo, hi, matches!(vals[0], Val::Maybe(..)))
                }
                v => Val::Unk(v.unknown().unwrap_or(false)),
            },
            Apply::Len => match &vals[0] {
                Val::Str(s) => Val::Num(s.chars().count() as f64),
                Val::Set(bits, _) => Val::Num(f64::from(bits.count_ones())),
                v => match v.unknown() {
                    Some(true) => Val::Maybe(0.0, f64::INFINITY),
                    _ => Val::Unk(false),
                },
            },
            Apply::Holds => match (&vals[0], &vals[1]) {
                (Val::Set(bits, f), Val::Str(s)) => {
                    let idx = self.p.fields.get(*f as usize).and_then(|d| d.option_index(s));
                    Val::Bool(idx.is_some_and(|i| i < 64 && bits & (1 << i) != 0))
                }
                (x, y) => Val::Unk(unknown2(x, y).unwrap_or(false)),
            },
            Apply::HoldsAny => match (&vals[0], &vals[1]) {
                (Val::Set(bits, f), Val::List(l)) => {
                    let items = self.p.lists.get(*l as usize).map(|l| &l.items);
                    let hit = set_values(self.p, *bits, *f).iter().any(|v| items.is_some_and(|i| i.has_str(v)));
                    Val::Bool(hit)
                }
                (x, y) => Val::Unk(unknown2(x, y).unwrap_or(false)),
            },
            Apply::Text { part, case } => {
                let [x, _] = vals;
                match x {
                    Val::Str(Cow::Borrowed(s)) => Val::Str(case.apply(part(s))),
                    Val::Str(Cow::Owned(s)) => Val::Str(Cow::Owned(case.apply(part(&s)).into_owned())),
                    x => Val::Unk(x.unknown().unwrap_or(false)),
                }
            }
            Apply::Test(test) => {
                let [x, y] = vals;
                if let Some(open) = unknown2(&x, &y) {
                    return Val::Unk(open);
                }
                match (&x, &y) {
                    (Val::Str(s), Val::Str(t)) => Val::Bool(test(s, t)),
                    (Val::Str(s), Val::List(l)) => Val::Bool(match self.p.lists.get(*l as usize).map(|l| &l.items) {
                        Some(ListItems::Str(items)) => items.iter().any(|t| test(s, t)),
                        Some(ListItems::Num(_) | ListItems::Json(_)) | None => false,
                    }),
                    _ => Val::Unk(false),
                }
            }
        }
    }

    /// Whether `missing` counts `key` missing: json-logic-js reads it with `var` (an array key is a name and a
    /// default) and counts null and "" missing. `None` when a pending field decides it.
    fn is_missing(&self, key: &Val<'a>) -> Option<bool> {
        let (name, default) = match items(self.p, key) {
            Some(mut i) => {
                let default = if i.len() > 1 { i.swap_remove(1) } else { Val::Null };
                (i.into_iter().next(), default)
            }
            None => (Some(key.clone()), Val::Null),
        };
        let value = match name {
            // `var` of nothing, null or "" is the data itself, which is there.
            None | Some(Val::Null) => return Some(false),
            Some(Val::Str(s)) if s.is_empty() => return Some(false),
            Some(n) => {
                // The data is flat: a name that is not a field finds nothing, a dotted one too (a computed one;
                // the compiler rejects constant ones).
                match self.p.field_index(&js_string(self.p, &n)) {
                    Some(f) => match self.field(f as u32) {
                        Val::Unk(false) => default,
                        v if v.unknown().is_some() => return None,
                        v => v,
                    },
                    None => default,
                }
            }
        };
        Some(match value {
            Val::Null => true,
            Val::Str(s) => s.is_empty(),
            _ => false,
        })
    }

    fn js(&self, op: JsOp, args: &[NodeId]) -> Val<'a> {
        let p = self.p;
        match op {
            JsOp::And | JsOp::Or => {
                let mut last = Val::Null;
                let mut unknown: Option<bool> = None;
                for &a in args {
                    let v = self.eval(a);
                    match js_truthy(&v) {
                        None => unknown = Some(unknown.unwrap_or(false) || v.unknown().unwrap_or(false)),
                        Some(t) => {
                            if t != (op == JsOp::And) {
                                // This operand decides, unless an earlier one was unknown.
                                return match unknown {
                                    Some(o) => Val::Unk(o),
                                    None => v,
                                };
                            }
                        }
                    }
                    last = v;
                }
                match unknown {
                    Some(o) => Val::Unk(o),
                    None => last,
                }
            }
            JsOp::If => {
                let mut i = 0;
                while i + 1 < args.len() {
                    let c = self.eval(args[i]);
                    match js_truthy(&c) {
                        Some(true) => return self.eval(args[i + 1]),
                        Some(false) => i += 2,
                        None => return Val::Unk(c.unknown().unwrap_or(false)),
                    }
                }
                if i < args.len() {
                    self.eval(args[i])
                } else {
                    Val::Null
                }
            }
            JsOp::Missing | JsOp::MissingSome => {
                let vals: Vec<Val<'a>> = args.iter().map(|&a| self.eval(a)).collect();
                if let Some(open) = vals.iter().filter_map(Val::unknown).reduce(|a, b| a || b) {
                    return Val::Unk(open);
                }
                // `missing_some(need, options)` is `missing` applied to the items of `options` (to `options`
                // itself when it is not an array), and gives [] when `options.length` minus the number missing
                // reaches `need`.
                let need = vals.first().cloned().unwrap_or(Val::Null);
                let (keys, length) = if op == JsOp::MissingSome {
                    let options = vals.get(1).cloned().unwrap_or(Val::Null);
                    let length = match &options {
                        // json-logic-js throws reading `null.length`; evaluation cannot fail, so nothing is
                        // missing. The compiler rejects a literal null there.
                        Val::Null => return Val::Arr(vec![]),
                        Val::Str(s) => s.encode_utf16().count() as f64,
                        v => items(p, v).map_or(f64::NAN, |i| i.len() as f64),
                    };
                    let keys = match items(p, &options) {
                        Some(i) => missing_keys(p, i),
                        None => vec![options],
                    };
                    (keys, length)
                } else {
                    (missing_keys(p, vals), f64::NAN)
                };
                let mut missing = vec![];
                let mut pending = false;
                for key in keys {
                    match self.is_missing(&key) {
                        Some(false) => {}
                        Some(true) => missing.push(key),
                        None => {
                            pending = true;
                            missing.push(key);
                        }
                    }
                }
                // With every pending key counted missing, the fewest present.
                if op == JsOp::MissingSome && js_less(p, &need, &Val::Num(length - missing.len() as f64), true) {
                    return Val::Arr(vec![]);
                }
                if pending {
                    return Val::Unk(true);
                }
                Val::Arr(missing)
            }
            // An array with an unknown item is unknown: `in` must not find it unequal to everything.
            JsOp::Array => {
                let items: Vec<Val<'a>> = args.iter().map(|&a| self.eval(a)).collect();
                match items.iter().filter_map(Val::unknown).reduce(|a, b| a || b) {
                    Some(open) => Val::Unk(open),
                    None => Val::Arr(items),
                }
            }
            JsOp::Merge => {
                let mut out = vec![];
                for &a in args {
                    match self.eval(a) {
                        Val::Arr(v) => out.extend(v),
                        Val::List(l) => out.extend(list_vals(p, l)),
                        Val::Set(bits, f) => out.extend(set_values(p, bits, f).into_iter().map(|s| Val::Str(s.into()))),
                        v if v.unknown().is_some() => return Val::Unk(v.unknown().unwrap_or(false)),
                        v => out.push(v),
                    }
                }
                Val::Arr(out)
            }
            JsOp::LooseEq
            | JsOp::LooseNe
            | JsOp::StrictEq
            | JsOp::StrictNe
            | JsOp::Lt
            | JsOp::Le
            | JsOp::Gt
            | JsOp::Ge
            | JsOp::Not
            | JsOp::Truthy
            | JsOp::Add
            | JsOp::Sub
            | JsOp::Mul
            | JsOp::Div
            | JsOp::Rem
            | JsOp::Min
            | JsOp::Max
            | JsOp::In
            | JsOp::Cat
            | JsOp::Substr => {
                // Most operations take one to three operands: those are evaluated into an array on the stack.
                let mut small: [Val<'a>; 3] = [Val::Null, Val::Null, Val::Null];
                let big: Vec<Val<'a>>;
                let vals: &[Val<'a>] = if args.len() <= small.len() {
                    for (slot, &a) in small.iter_mut().zip(args) {
                        *slot = self.eval(a);
                    }
                    &small[..args.len()]
                } else {
                    big = args.iter().map(|&a| self.eval(a)).collect();
                    &big
                };
                if let Some(open) = vals.iter().filter_map(Val::unknown).reduce(|a, b| a || b) {
                    return Val::Unk(open);
                }
                let null = Val::Null;
                let v = |i: usize| vals.get(i).unwrap_or(&null);
                match op {
                    JsOp::LooseEq => Val::Bool(js_loose_eq(p, v(0), v(1))),
                    JsOp::LooseNe => Val::Bool(!js_loose_eq(p, v(0), v(1))),
                    JsOp::StrictEq => Val::Bool(js_strict_eq(v(0), v(1))),
                    JsOp::StrictNe => Val::Bool(!js_strict_eq(v(0), v(1))),
                    JsOp::Lt | JsOp::Le => {
                        let eq = op == JsOp::Le;
                        let r = js_less(p, v(0), v(1), eq) && (vals.len() < 3 || js_less(p, v(1), v(2), eq));
                        Val::Bool(r)
                    }
                    JsOp::Gt => Val::Bool(js_less(p, v(1), v(0), false)),
                    JsOp::Ge => Val::Bool(js_less(p, v(1), v(0), true)),
                    JsOp::Not => Val::Bool(!js_truthy(v(0)).unwrap_or(false)),
                    JsOp::Truthy => Val::Bool(js_truthy(v(0)).unwrap_or(false)),
                    JsOp::Add => Val::Num(vals.iter().map(|x| js_parse_float(p, x)).fold(0.0, |a, b| a + b)),
                    // A reduce without an initial value: one operand is returned as it is.
                    JsOp::Mul if vals.len() == 1 => v(0).clone(),
                    // `parseFloat(a) * parseFloat(b)` from the first two on: after the first step, the product
                    // so far is read with parseFloat too, which makes -0 0.
                    JsOp::Mul => {
                        let pf = |x: &Val| js_parse_float(p, x);
                        let first = vals.first().map_or(f64::NAN, pf);
                        let mut acc = vals.get(1).map_or(f64::NAN, |b| first * pf(b));
                        for b in vals.iter().skip(2) {
                            acc = pf(&Val::Num(acc)) * pf(b);
                        }
                        Val::Num(acc)
                    }
                    JsOp::Sub => {
                        if vals.len() == 1 {
                            Val::Num(-js_number(p, v(0)))
                        } else {
                            Val::Num(js_number(p, v(0)) - js_number(p, v(1)))
                        }
                    }
                    JsOp::Div => Val::Num(js_number(p, v(0)) / js_number(p, v(1))),
                    JsOp::Rem => Val::Num(crate::builtins::rem(js_number(p, v(0)), js_number(p, v(1)))),
                    JsOp::Min | JsOp::Max => {
                        if vals.is_empty() {
                            return Val::Num(if op == JsOp::Min { f64::INFINITY } else { f64::NEG_INFINITY });
                        }
                        let mut acc = if op == JsOp::Min { f64::INFINITY } else { f64::NEG_INFINITY };
                        for x in vals.iter().map(|x| js_number(p, x)) {
                            if x.is_nan() {
                                return Val::Num(f64::NAN);
                            }
                            // Math.min and Math.max order -0 below +0.
                            let take = if op == JsOp::Min {
                                x < acc || (x == acc && x.is_sign_negative())
                            } else {
                                x > acc || (x == acc && acc.is_sign_negative())
                            };
                            if take {
                                acc = x;
                            }
                        }
                        Val::Num(acc)
                    }
                    // json-logic-js: `if (!b || typeof b.indexOf === "undefined") return false`.
                    JsOp::In => match v(1) {
                        Val::Str(hay) if hay.is_empty() => Val::Bool(false),
                        Val::Str(hay) => Val::Bool(crate::builtins::contains(hay, &js_string(p, v(0)))),
                        Val::Arr(items) => Val::Bool(items.iter().any(|x| js_strict_eq(x, v(0)))),
                        Val::List(l) => Val::Bool(list_has(p, *l, v(0))),
                        Val::Set(bits, f) => {
                            Val::Bool(matches!(v(0), Val::Str(s) if set_values(p, *bits, *f).contains(&s.as_ref())))
                        }
                        _ => Val::Bool(false),
                    },
                    // Array.prototype.join: null is written as nothing.
                    JsOp::Cat => Val::Str(Cow::Owned(
                        vals.iter().filter(|x| !matches!(x, Val::Null)).map(|x| js_string(p, x)).collect(),
                    )),
                    JsOp::Substr => {
                        let s: Vec<u16> = js_string(p, v(0)).encode_utf16().collect();
                        let start = js_number(p, v(1));
                        let (from, to) = match vals.get(2) {
                            // json-logic-js: `temp = source.substr(start); temp.substr(0, temp.length + end)`,
                            // where `+` joins strings unless `end` is a number, and "5-1" is no number.
                            Some(end) if js_less(p, end, &Val::Num(0.0), false) => {
                                let (f, t) = substr_range(s.len(), start, None);
                                let len = if let Val::Num(e) = end { (t - f) as f64 + e } else { f64::NAN };
                                let (_, t2) = substr_range(t - f, 0.0, Some(len));
                                (f, f + t2)
                            }
                            Some(len) => substr_range(s.len(), start, Some(js_number(p, len))),
                            None => substr_range(s.len(), start, None),
                        };
                        Val::Str(Cow::Owned(String::from_utf16_lossy(&s[from..to])))
                    }
                    // Evaluated above, on their unevaluated operands.
                    JsOp::And | JsOp::Or | JsOp::If | JsOp::Missing | JsOp::MissingSome | JsOp::Array | JsOp::Merge => {
                        Val::Unk(false)
                    }
                }
            }
        }
    }
}

/// String.prototype.substr(start, length) on a string of `size` code units: the range it keeps.
fn substr_range(size: usize, start: f64, length: Option<f64>) -> (usize, usize) {
    // ToIntegerOrInfinity: NaN is 0, the rest truncated toward zero.
    let int = |x: f64| if x.is_nan() { 0.0 } else { x.trunc() };
    let n = size as f64;
    let start = int(start);
    let from = if start < 0.0 { (n + start).max(0.0) } else { start.min(n) };
    let to = (from + length.map_or(n, int)).min(n);
    if from >= to {
        (from as usize, from as usize)
    } else {
        (from as usize, to as usize)
    }
}

/// The items of an array value (a multi answer is an array of its option values); `None` for other values.
fn items<'a>(p: &'a Program, v: &Val<'a>) -> Option<Vec<Val<'a>>> {
    match v {
        Val::Arr(a) => Some(a.clone()),
        Val::Set(bits, f) => Some(set_values(p, *bits, *f).into_iter().map(|s| Val::Str(s.into())).collect()),
        Val::List(l) => Some(list_vals(p, *l)),
        _ => None,
    }
}

/// The keys `missing` checks: the items of its first argument when that is an array, else its arguments.
fn missing_keys<'a>(p: &'a Program, args: Vec<Val<'a>>) -> Vec<Val<'a>> {
    match args.first().and_then(|a| items(p, a)) {
        Some(keys) => keys,
        None => args,
    }
}

fn unknown2(x: &Val, y: &Val) -> Option<bool> {
    match (x.unknown(), y.unknown()) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(false) || b.unwrap_or(false)),
    }
}

/// A condition's truth value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    /// `open`: a later answer may decide it.
    Unknown(bool),
}

// `#[inline(always)]` on the small helpers every condition passes through: the Wasm builds are optimised for
// size (opt-level "z"), where LLVM calls them instead. Measured on the runtime's session path: 8% faster for
// 186 bytes gzipped; inlining `field`, `cond` and `kleene` too gave 17% for 1.1 KB, and was left out.
impl Tri {
    #[inline(always)]
    pub(crate) fn is_true(self) -> bool {
        matches!(self, Tri::True)
    }
    #[inline(always)]
    pub(crate) fn is_open(self) -> bool {
        matches!(self, Tri::Unknown(true))
    }
}

/// A number value as an interval of points, for rule contributions: a closed unknown counts 0, and so may a
/// value that may be missing.
pub(crate) fn points_interval(v: &Val) -> (f64, f64) {
    match v {
        Val::Num(n) if n.is_finite() => (*n, *n),
        Val::Range(lo, hi) => (*lo, *hi),
        Val::Maybe(lo, hi) => (lo.min(0.0), hi.max(0.0)),
        Val::Unk(true) => (f64::NEG_INFINITY, f64::INFINITY),
        _ => (0.0, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_coercions_follow_javascript() {
        use crate::host::{js_parse_float, js_to_number};
        assert_eq!(js_to_number(" 12 "), 12.0);
        assert!(js_to_number("12abc").is_nan());
        assert_eq!(js_parse_float("12abc"), 12.0);
        assert_eq!(js_parse_float("-1.5e2x"), -150.0);
        // What JavaScript's parseFloat gives for these.
        for (s, want) in [
            ("1e", 1.0),
            ("1.e5", 1e5),
            ("  +.5x", 0.5),
            ("1e5.5", 1e5),
            ("1.2.3", 1.2),
            ("-Infinityx", f64::NEG_INFINITY),
            ("0x10", 0.0),
            ("\u{FEFF}\u{2028}7", 7.0),
        ] {
            assert_eq!(js_parse_float(s), want, "{s}");
        }
        for s in [".e5", "e5", "+", "-", "", "x1", "inf", "\u{85}1"] {
            assert!(js_parse_float(s).is_nan(), "{s}");
        }
        // What JavaScript's Number gives for these.
        for (s, want) in [
            ("", 0.0),
            (" \n\t", 0.0),
            ("\u{FEFF}12\u{3000}", 12.0),
            ("5.", 5.0),
            (".5", 0.5),
            ("-0", -0.0),
            ("+1e3", 1000.0),
            ("0x10", 16.0),
            ("0XfF", 255.0),
            ("0o17", 15.0),
            ("0B101", 5.0),
            ("0x1fffffffffffff", 9007199254740991.0),
            // 2^53 + 1 rounds to even, 2^53 + 3 up; the digits past the 64th bit still count.
            ("0x20000000000001", 9007199254740992.0),
            ("0x20000000000003", 9007199254740996.0),
            ("0x20000000000001000000000000000000000", 2.0f64.powi(137)),
            ("0x20000000000001000000000000000000001", (2.0f64.powi(53) + 2.0) * 2.0f64.powi(84)),
            ("Infinity", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
        ] {
            let got = js_to_number(s);
            assert!(got == want && got.is_sign_negative() == want.is_sign_negative(), "{s:?}: {got}");
        }
        assert_eq!(js_to_number(&format!("0x{}", "f".repeat(300))), f64::INFINITY);
        for s in
            ["inf", "infinity", "INFINITY", "nan", "-0x10", "+0x1", "0x", "0x1g", "0b2", "1_000", ".", "1e", "\u{85}1"]
        {
            assert!(js_to_number(s).is_nan(), "{s:?}");
        }
        assert_eq!(crate::host::js_string(5.0), "5");
        assert_eq!(crate::host::js_string(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(js_truthy(&Val::Arr(vec![])), Some(false));
        assert_eq!(js_truthy(&Val::Str(Cow::Borrowed("0"))), Some(true));
    }

    #[test]
    fn substr_follows_string_prototype_substr() {
        // (size, start, length) -> the kept range, as "hello".substr(start, length) keeps it.
        assert_eq!(substr_range(5, -1.5, None), (4, 5));
        assert_eq!(substr_range(5, 1.9, Some(2.9)), (1, 3));
        assert_eq!(substr_range(5, f64::NEG_INFINITY, Some(f64::INFINITY)), (0, 5));
        assert_eq!(substr_range(5, f64::NAN, Some(-1.0)), (0, 0));
        assert_eq!(substr_range(5, 9.0, None), (5, 5));
    }

    #[test]
    fn nested_min_and_max_take_linear_time() {
        // Each level evaluated its first argument twice: 2^30 evaluations.
        let points = (0..30).fold("n".to_string(), |e, i| format!("{}({e}, 1)", ["min", "max"][i % 2]));
        let doc = serde_json::json!({
            "leadscore": 1, "id": "nested", "fields": [{"id": "n", "type": "number"}],
            "rules": [{"id": "r", "group": "fit", "points": points}], "stages": [{"id": "lead"}]
        });
        let p = crate::compile_value(doc).program.expect("compiles");
        let (answers, _) = crate::Answers::from_json(&p, &serde_json::json!({"n": 5}));
        let e = p.evaluate(&answers, &Events::new(&p), 0.0, &crate::Options::default());
        assert_eq!(e.score, 1.0);
    }
}

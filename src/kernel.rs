//! Scoring a submitted lead quickly: the program lowered a second time, for answers that are final.
//!
//! When a lead is submitted every unanswered field stays unanswered, so no value is an open unknown and no
//! number is an interval: a condition is true, false or unknown (closed), a number is known or unknown. The
//! general evaluator ([`crate::vm`]) still pays for intervals, `Val` and its strings on every node. Here each
//! expression whose types are known from its nodes is lowered to a typed tree ([`B`], [`N`], [`S`]) that
//! evaluates to plain `bool`s, `f64`s and borrowed `&str`s, and JsonLogic to [`Jv`] values that borrow theirs.
//! A case change of parts of an answer (`upper(trim(vat))`) is written once per lead into a kept buffer. The rest
//! (`cat`, `merge`, `missing`, a case change of other computed strings) stays a node of the program, evaluated by
//! the general evaluator on the same slots.
//!
//! **Same bits.** Each typed node computes what [`crate::vm::Ctx::eval`] computes for that node when nothing is
//! pending, using the same helpers (`arith`, `cmp_interval`, `mul`, `points_interval`...), and the sums go
//! through the same `raw_sums_into` and `totals_into`. Where the general evaluator would see something this
//! one does not model (an open unknown from a NaN comparison, an answer of another type than its field's, a
//! case change that needs the host), evaluation *bails out* and the lead is scored again by the general pass.
//! A property test compares both on generated models and leads.
//!
//! **No allocation per lead.** A [`Scorer`] keeps every buffer; after the first lead, scoring allocates only
//! when a lead bails out, a general node allocates, or a case change meets a text outside ASCII.

use std::cell::Cell;

use crate::answers::{Answer, Answers, Events, DAY_MS};
use crate::builtins::{Apply, Case};
use crate::eval::{layout, pass, rule_outcome_factor, saturate, scaled_points, totals_into, Score};
use crate::model::FieldType;
use crate::program::{Arith, Cmp, Func, JsOp, ListItems, Node, NodeId, Program, RuleDef, Type};
use crate::vm::{points_interval, Ctx, Scores, Slot, Tri};

/// A condition: typed, or a node left to the general evaluator.
#[derive(Debug, Clone)]
enum Cond {
    Typed(B),
    Node(NodeId),
}

/// A number: typed, or a node left to the general evaluator.
#[derive(Debug, Clone)]
enum Num {
    Typed(N),
    Node(NodeId),
}

/// A boolean expression. Evaluates to `Some(bool)`, or `None` when unknown.
#[derive(Debug, Clone)]
enum B {
    Const(bool),
    /// `answered(field)`.
    Answered(u32),
    /// A boolean field's answer.
    Field(u32),
    Not(Box<B>),
    /// `a and b and ...`, flattened: false at the first false operand, left to right.
    All(Box<[B]>),
    /// `a or b or ...`, flattened: true at the first true operand.
    Any(Box<[B]>),
    If(Box<B>, Box<B>, Box<B>),
    /// A comparison of numbers.
    Cmp(Cmp, Box<N>, Box<N>),
    /// `field op c`: a number field's answer against a constant that is a number (not NaN).
    FieldCmp(Cmp, u32, f64),
    Between(Box<N>, Box<N>, Box<N>),
    /// `field between lo and hi`, with constants that are numbers.
    FieldBetween(u32, f64, f64),
    /// `==` (or, with `ne`, `!=`) of two strings or two booleans; the general evaluator gives `==` for
    /// `<` and the other orderings of non-numbers, and so does this.
    StrEq(bool, Box<S>, Box<S>),
    BoolEq(bool, Box<B>, Box<B>),
    /// A choice field's answer tested against constants: `mask[option]` (`== 'x'`, `!= 'x'` with `ne`, `in`).
    Choice {
        field: u32,
        mask: Box<[bool]>,
        ne: bool,
    },
    /// `s in list`.
    StrIn(Box<S>, Box<StrSet>),
    /// `n in list`.
    NumIn(Box<N>, u32),
    /// `contains(multi, 'x')`, `any_in(multi, list)`: some bit of `mask` is set.
    Set {
        field: u32,
        mask: u64,
    },
    /// A test of two strings (`contains`, `starts_with`...: [`Apply::Test`]).
    Test(fn(&str, &str) -> bool, Box<S>, Box<S>),
    /// The same test of a text field's answer (with `lower`, of its lower-case form) against a constant.
    FieldTest {
        test: fn(&str, &str) -> bool,
        field: u32,
        lower: bool,
        needle: Box<str>,
    },
    /// The same test of a string against each string of a constant list, true when one passes.
    TestAny(fn(&str, &str) -> bool, Box<S>, u32),
    /// `contains(field, 'a') or contains(field, 'b') or ...` of one text field's answer (with `lower`, of its
    /// lower-case form): whether it contains one of the needles, found in one pass over the answer.
    FieldContainsAny {
        field: u32,
        lower: bool,
        needles: Box<Needles>,
    },
    /// A JsonLogic condition: its value's truthiness.
    Json(Box<J>),
}

/// A number expression. Evaluates to `Some(f64)`, or `None` when unknown.
#[derive(Debug, Clone)]
enum N {
    Const(f64),
    Field(u32),
    Score,
    Group(u32),
    Count(u32, Option<Box<N>>),
    DaysSince(u32),
    Neg(Box<N>),
    Arith(Arith, Box<N>, Box<N>),
    If(Box<B>, Box<N>, Box<N>),
    /// One or more numbers folded (`min`, `max`: [`Apply::Fold`]).
    Fold(fn(f64, f64) -> f64, Box<[N]>),
    /// A number from a number (`abs`, `round`...: [`Apply::Num`]).
    Num(fn(f64) -> f64, Box<N>),
    /// `len` of a string.
    Len(Box<S>),
    /// `len` of a multi field's answer.
    SetLen(u32),
    /// A JsonLogic number (the compiler makes a JsonLogic `points` one with `+`).
    Json(Box<J>),
}

/// A string expression. Evaluates to `Some(&str)`, or `None` when unknown.
#[derive(Debug, Clone)]
enum S {
    Const(u32),
    /// A text field's answer.
    Text(u32),
    /// A text field's answer in lower case (computed when it was set).
    TextLower(u32),
    /// A choice field's option value; with `lower`, in lower case (computed here, once).
    Choice(u32, Option<Box<[Box<str>]>>),
    If(Box<B>, Box<S>, Box<S>),
    /// A part of a string (`trim`: an [`Apply::Text`] that keeps the case).
    Part(fn(&str) -> &str, Box<S>),
    /// A case change of parts of a text field's answer (`upper(trim(field))`), [`Kernel::derived`]'s `k`th,
    /// written once per lead into a buffer that is kept.
    Derived(u32),
}

/// A part of a string ([`Apply::Text`]).
type Part = fn(&str) -> &str;

/// `case(part(...(field)))`, parts applied innermost first.
#[derive(Debug, Clone)]
struct Derived {
    field: u32,
    parts: Box<[Part]>,
    upper: bool,
}

impl Derived {
    /// Whether both write the same string. Two copies of one function may have two addresses: then they are
    /// written twice, which costs time, never a result.
    fn same(&self, other: &Derived) -> bool {
        self.field == other.field
            && self.upper == other.upper
            && self.parts.len() == other.parts.len()
            && self.parts.iter().zip(other.parts.iter()).all(|(&a, &b)| std::ptr::fn_addr_eq(a, b))
    }
}

/// A JsonLogic value (json-logic-js semantics: JavaScript's coercions), of the operations that make no new
/// string or array. On a submitted lead it is never unknown: `var` of a field without an answer gives the default
/// or null. An operation that would need a string made of a number, a multiple choice or a list bails out.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Num(f64),
    Str(u32),
    /// `var`: the field's answer, or the default, or null.
    Var(u32, Option<Box<J>>),
    Op(JsOp, Box<[J]>),
    /// `in` with a literal array: strictly equal to one of its items.
    InArray(Box<J>, Box<[J]>),
    /// `in` with a literal array of strings only: a string equal to one of them.
    InStrs(Box<J>, Box<[Box<str>]>),
}

/// What a [`J`] evaluates to.
#[derive(Debug, Clone, Copy)]
enum Jv<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(&'a str),
    /// A multiple choice's answer, of field `.1`.
    Set(u64, u32),
}

impl Jv<'_> {
    /// json-logic-js's truthiness (`vm::js_truthy`).
    fn truthy(self) -> bool {
        match self {
            Jv::Null => false,
            Jv::Bool(b) => b,
            Jv::Num(n) => n != 0.0 && !n.is_nan(),
            Jv::Str(s) => !s.is_empty(),
            Jv::Set(bits, _) => bits != 0,
        }
    }

    /// `===` (`vm::js_strict_eq`).
    fn strict_eq(self, other: Jv) -> bool {
        match (self, other) {
            (Jv::Null, Jv::Null) => true,
            (Jv::Set(_, f), Jv::Set(_, g)) => f == g,
            (Jv::Bool(x), Jv::Bool(y)) => x == y,
            (Jv::Num(x), Jv::Num(y)) => x == y,
            (Jv::Str(x), Jv::Str(y)) => x == y,
            _ => false,
        }
    }

    /// ToNumber (`vm::js_number`); `None` for a multiple choice, which is first written as a string.
    fn number(self) -> Option<f64> {
        Some(match self {
            Jv::Null => 0.0,
            Jv::Bool(b) => f64::from(u8::from(b)),
            Jv::Num(n) => n,
            Jv::Str(s) => crate::host::js_to_number(s),
            Jv::Set(..) => return None,
        })
    }

    /// parseFloat (`vm::js_parse_float`).
    fn parse_float(self) -> Option<f64> {
        Some(match self {
            // String(-0) is "0".
            Jv::Num(n) => {
                if n == 0.0 {
                    0.0
                } else {
                    n
                }
            }
            Jv::Str(s) => crate::host::js_parse_float(s),
            Jv::Set(..) => return None,
            Jv::Null | Jv::Bool(_) => f64::NAN,
        })
    }

    /// `==` (`vm::js_loose_eq`).
    fn loose_eq(self, other: Jv) -> Option<bool> {
        Some(match (self, other) {
            (Jv::Null, Jv::Null) => true,
            (Jv::Null, _) | (_, Jv::Null) => false,
            (Jv::Str(x), Jv::Str(y)) => x == y,
            (Jv::Set(_, f), Jv::Set(_, g)) => f == g,
            (Jv::Set(..), _) | (_, Jv::Set(..)) => return None,
            _ => self.number()? == other.number()?,
        })
    }

    /// `a < b`, or `a <= b` (`vm::js_less`): strings by UTF-16 code units, anything else as numbers.
    fn less(self, other: Jv, or_equal: bool) -> Option<bool> {
        let (x, y) = match (self, other) {
            (Jv::Set(..), _) | (_, Jv::Set(..)) => return None,
            (Jv::Str(x), Jv::Str(y)) => {
                let ord = x.encode_utf16().cmp(y.encode_utf16());
                return Some(if or_equal { ord.is_le() } else { ord.is_lt() });
            }
            (a, b) => (a.number()?, b.number()?),
        };
        Some(if or_equal { x <= y } else { x < y })
    }

    /// ToString, for the values written without making a string.
    fn as_str(self) -> Option<&'static str> {
        match self {
            Jv::Null => Some("null"),
            Jv::Bool(true) => Some("true"),
            Jv::Bool(false) => Some("false"),
            Jv::Num(_) | Jv::Str(_) | Jv::Set(..) => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    when: Option<Cond>,
    points: Points,
    group: u32,
}

/// What a rule gives when its condition holds.
#[derive(Debug, Clone)]
enum Points {
    /// A constant, for a rule without `per`: what `eval::scaled_points` makes of it, known when lowered.
    Fixed(f64),
    /// Anything else: its points, scaled by its events.
    Scaled(Num),
}

#[derive(Debug, Clone)]
struct Step {
    visible: Option<Cond>,
    fields: Box<[u32]>,
    next: Box<[(Option<Cond>, Option<u32>)]>,
}

/// A program lowered for submitted leads (built once per program, on first use).
#[derive(Debug, Clone)]
pub(crate) struct Kernel {
    /// Per field, its `visible_if`.
    visible: Box<[Option<Cond>]>,
    /// Background fields, in form order.
    background: Box<[u32]>,
    steps: Box<[Step]>,
    rules: Box<[Rule]>,
    knockouts: Box<[Cond]>,
    stages: Box<[Option<Cond>]>,
    /// Strings computed once per lead ([`S::Derived`]).
    derived: Box<[Derived]>,
    /// Conditions and points left to the general evaluator, of all of them.
    pub(crate) general: (usize, usize),
}

/// A program ready to score many submitted leads: [`Program::score`] with the program lowered once more (see the
/// module's documentation), and buffers kept from one lead to the next. After the first lead, scoring one
/// allocates nothing on a model whose expressions it types entirely (every example model); an expression left to
/// the general evaluator (JsonLogic's `cat` or `merge`) may allocate, and so may a case change of a text outside
/// ASCII.
///
/// ```
/// # let doc = r#"{"leadscore": 1, "id": "m", "fields": [{"id": "n", "type": "number"}],
/// #   "rules": [{"id": "big", "group": "fit", "when": "n > 10", "points": 5}], "stages": [{"id": "lead"}]}"#;
/// let program = leadscore::compile_str(doc).program.unwrap();
/// let mut scorer = program.scorer();
/// for n in [5, 50] {
///     let (answers, _) = leadscore::Answers::from_json(&program, &serde_json::json!({ "n": n }));
///     let score = scorer.score(&answers, &leadscore::Events::new(&program), 0.0);
///     assert_eq!(score.total, if n > 10 { 5.0 } else { 0.0 });
/// }
/// assert_eq!(scorer.fired().collect::<Vec<_>>(), [0]);
/// ```
#[derive(Debug, Clone)]
pub struct Scorer<'p> {
    program: &'p Program,
    kernel: Kernel,
    buffers: Buffers,
}

/// What a [`Scorer`] keeps between leads.
#[derive(Debug, Clone, Default)]
pub(crate) struct Buffers {
    slots: Vec<Slot>,
    raw: Vec<(f64, f64)>,
    scores: Scores,
    /// Per [`Kernel::derived`], whether it is known and its text.
    derived: Vec<(bool, String)>,
    fired: Vec<u64>,
    /// The last lead's score.
    pub(crate) score: Score,
}

impl Program {
    /// A [`Scorer`] of this program.
    pub fn scorer(&self) -> Scorer<'_> {
        Scorer { program: self, kernel: Kernel::new(self), buffers: Buffers::default() }
    }
}

impl<'p> Scorer<'p> {
    /// The program it scores.
    pub fn program(&self) -> &'p Program {
        self.program
    }

    /// Scores a submitted lead: the same [`Score`] as [`Program::score`], bit for bit.
    pub fn score(&mut self, answers: &Answers, events: &Events, now: f64) -> &Score {
        self.kernel.run(self.program, answers, events, now, &mut self.buffers);
        &self.buffers.score
    }

    /// The last lead's score.
    pub fn last(&self) -> &Score {
        &self.buffers.score
    }

    /// The rules that gave points to the last lead, by index in `Program::rules`, in order.
    pub fn fired(&self) -> impl Iterator<Item = usize> + '_ {
        self.buffers.fired()
    }

    /// The same as a bit set: rule `r` is bit `r % 64` of word `r / 64`.
    pub fn fired_bits(&self) -> &[u64] {
        self.buffers.fired_words()
    }

    /// How many of the program's conditions and points are left to the general evaluator, of how many.
    #[doc(hidden)]
    pub fn general_share(&self) -> (usize, usize) {
        self.kernel.general
    }

    /// [`Scorer::score`] by the general evaluator alone: the reference the typed code is tested against.
    #[doc(hidden)]
    pub fn score_general(&mut self, answers: &Answers, events: &Events, now: f64) -> &Score {
        let now = if now.is_finite() { now } else { 0.0 };
        general(self.program, answers, events, now, &mut self.buffers);
        &self.buffers.score
    }
}

impl Buffers {
    /// The last lead's fired rules as a bit set: rule `r` is bit `r % 64` of word `r / 64`.
    pub(crate) fn fired_words(&self) -> &[u64] {
        &self.fired
    }

    pub(crate) fn fired(&self) -> impl Iterator<Item = usize> + '_ {
        self.fired
            .iter()
            .enumerate()
            .flat_map(|(w, &bits)| (0..64).filter(move |b| bits & (1u64 << b) != 0).map(move |b| w * 64 + b))
    }
}

impl Kernel {
    /// Scores into `buffers`, by the typed code or, when a lead bails out, by the general pass.
    pub(crate) fn run(&self, p: &Program, answers: &Answers, events: &Events, now: f64, buffers: &mut Buffers) {
        let now = if now.is_finite() { now } else { 0.0 };
        if !self.score(p, answers, events, now, buffers) {
            general(p, answers, events, now, buffers);
        }
    }
}

/// The general pass, into the scratch's score and fired set.
fn general(p: &Program, answers: &Answers, events: &Events, now: f64, scratch: &mut Buffers) {
    let l = layout(p, answers, Some(events), now, true);
    let r = pass(p, answers, &l.slots, Some(events), now);
    scratch.fired.clear();
    scratch.fired.resize(p.rules.len().div_ceil(64), 0);
    for (i, o) in r.rules.iter().enumerate() {
        if o.cond.is_true() && o.points.0 != 0.0 {
            scratch.fired[i / 64] |= 1 << (i % 64);
        }
    }
    scratch.score.total = r.total.0;
    scratch.score.groups.clear();
    scratch.score.groups.extend(r.groups.iter().map(|g| g.0));
    scratch.score.stage = r.stage.unwrap_or(p.stages.len().saturating_sub(1));
    scratch.score.knockout = r.knockout;
}

/// Lowering, by the types the compiler recorded (`Program::types`): a boolean node to [`B`], a number to [`N`], a
/// string to [`S`]; `None` where a node has no typed form (a JsonLogic value, a case change of a computed string),
/// so that the expression above it is left to the general evaluator.
struct Lower<'p> {
    p: &'p Program,
    derived: std::cell::RefCell<Vec<Derived>>,
}

impl Lower<'_> {
    fn node(&self, id: NodeId) -> Option<&Node> {
        self.p.nodes.get(id as usize)
    }

    fn ty(&self, id: NodeId) -> Option<Type> {
        self.p.types.get(id as usize).copied()
    }

    fn args(&self, start: u32, len: u32) -> Option<&[NodeId]> {
        self.p.args.get(start as usize..(start as usize).checked_add(len as usize)?)
    }

    fn kind(&self, f: u32) -> Option<FieldType> {
        self.p.fields.get(f as usize).map(|d| d.kind)
    }

    fn cond(&self, id: NodeId) -> Cond {
        match self.ty(id) {
            Some(Type::Bool) => self.b(id).map_or(Cond::Node(id), Cond::Typed),
            Some(Type::Json) => self.j(id).map_or(Cond::Node(id), |j| Cond::Typed(B::Json(Box::new(j)))),
            _ => Cond::Node(id),
        }
    }

    fn num(&self, id: NodeId) -> Num {
        match self.ty(id) {
            Some(Type::Num) => self.n(id).map_or(Num::Node(id), Num::Typed),
            Some(Type::Json) => self.j(id).map_or(Num::Node(id), |j| Num::Typed(N::Json(Box::new(j)))),
            _ => Num::Node(id),
        }
    }

    /// A JsonLogic value, when it needs no new string or array (not `cat`, `substr`, `merge`, `missing`, nor an
    /// array other than the items of `in`).
    fn j(&self, id: NodeId) -> Option<J> {
        let j = match *self.node(id)? {
            Node::Null => J::Null,
            Node::Bool(b) => J::Bool(b),
            Node::Num(n) => J::Num(n),
            Node::Str(s) => J::Str(s),
            Node::Var(f, default) => J::Var(
                f,
                match default {
                    Some(d) => Some(Box::new(self.j(d)?)),
                    None => None,
                },
            ),
            Node::Js(op, start, len) => {
                let args = self.args(start, len)?;
                match (op, args) {
                    (JsOp::In, &[needle, hay]) => match *self.node(hay)? {
                        Node::Js(JsOp::Array, s, n) => {
                            let items: Box<[J]> = self.args(s, n)?.iter().map(|&x| self.j(x)).collect::<Option<_>>()?;
                            let strs = items
                                .iter()
                                .map(|x| match x {
                                    J::Str(i) => self.p.strings.get(*i as usize).cloned(),
                                    _ => None,
                                })
                                .collect::<Option<Box<[Box<str>]>>>();
                            match strs {
                                Some(strs) => J::InStrs(Box::new(self.j(needle)?), strs),
                                None => J::InArray(Box::new(self.j(needle)?), items),
                            }
                        }
                        _ => J::Op(op, Box::new([self.j(needle)?, self.j(hay)?])),
                    },
                    (JsOp::Cat | JsOp::Substr | JsOp::Missing | JsOp::MissingSome | JsOp::Merge | JsOp::Array, _) => {
                        return None
                    }
                    (
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
                        | JsOp::And
                        | JsOp::Or
                        | JsOp::If
                        | JsOp::Add
                        | JsOp::Sub
                        | JsOp::Mul
                        | JsOp::Div
                        | JsOp::Rem
                        | JsOp::Min
                        | JsOp::Max
                        | JsOp::In,
                        _,
                    ) => J::Op(op, args.iter().map(|&a| self.j(a)).collect::<Option<_>>()?),
                }
            }
            // Not JsonLogic values.
            Node::List(_)
            | Node::Field(_)
            | Node::Answered(_)
            | Node::Score
            | Node::Group(_)
            | Node::Count(..)
            | Node::DaysSince(_)
            | Node::Not(_)
            | Node::Neg(_)
            | Node::And(..)
            | Node::Or(..)
            | Node::If(..)
            | Node::Arith(..)
            | Node::Cmp(..)
            | Node::In(..)
            | Node::Between(..)
            | Node::Call(..) => return None,
        };
        Some(j)
    }

    /// A boolean node (its operands have the types the node takes: the decoder and the compiler see to it).
    fn b(&self, id: NodeId) -> Option<B> {
        let node = self.node(id)?.clone();
        let b = match node {
            Node::Bool(v) => B::Const(v),
            Node::Answered(f) => B::Answered(f),
            Node::Field(f) => B::Field(f),
            Node::Not(a) => B::Not(Box::new(self.b(a)?)),
            Node::And(a, b) => {
                let mut all = vec![];
                for x in [self.b(a)?, self.b(b)?] {
                    match x {
                        B::All(xs) => all.extend(xs),
                        x => all.push(x),
                    }
                }
                B::All(all.into())
            }
            Node::Or(a, b) => {
                let mut any = vec![];
                for x in [self.b(a)?, self.b(b)?] {
                    match x {
                        B::Any(xs) => any.extend(xs),
                        x => any.push(x),
                    }
                }
                Needles::of_any(&any).unwrap_or_else(|| B::Any(any.into()))
            }
            Node::If(c, a, b) => B::If(Box::new(self.b(c)?), Box::new(self.b(a)?), Box::new(self.b(b)?)),
            Node::Cmp(op, a, b) => match self.ty(a)? {
                Type::Num => match (self.n(a)?, self.n(b)?) {
                    (N::Field(f), N::Const(c)) if !c.is_nan() => B::FieldCmp(op, f, c),
                    (N::Const(c), N::Field(f)) if !c.is_nan() => B::FieldCmp(op.mirror(), f, c),
                    (x, y) => B::Cmp(op, Box::new(x), Box::new(y)),
                },
                // `==` and `!=` only: the others compare numbers.
                Type::Str => match self.choice_cmp(op, a, b) {
                    Some(c) => c,
                    None => B::StrEq(op == Cmp::Ne, Box::new(self.s(a)?), Box::new(self.s(b)?)),
                },
                Type::Bool => B::BoolEq(op == Cmp::Ne, Box::new(self.b(a)?), Box::new(self.b(b)?)),
                Type::Multi | Type::StrList | Type::NumList | Type::Json => return None,
            },
            Node::Between(x, lo, hi) => match (self.n(x)?, self.n(lo)?, self.n(hi)?) {
                (N::Field(f), N::Const(l), N::Const(h)) if !l.is_nan() && !h.is_nan() => B::FieldBetween(f, l, h),
                (x, l, h) => B::Between(Box::new(x), Box::new(l), Box::new(h)),
            },
            Node::In(a, l) => {
                let items = &self.p.lists.get(l as usize)?.items;
                match (self.ty(a)?, self.node(a)?) {
                    (Type::Str, &Node::Field(f)) if self.kind(f)? == FieldType::Choice => {
                        let mask = self.p.fields[f as usize].options.iter().map(|o| items.has_str(o.value())).collect();
                        B::Choice { field: f, mask, ne: false }
                    }
                    (Type::Str, _) => B::StrIn(Box::new(self.s(a)?), Box::new(StrSet::new(items))),
                    (Type::Num, _) => B::NumIn(Box::new(self.n(a)?), l),
                    (Type::Bool | Type::Multi | Type::StrList | Type::NumList | Type::Json, _) => return None,
                }
            }
            Node::Call(func, start, len) => {
                let args = self.args(start, len)?.to_vec();
                match (func.def().apply, &args[..]) {
                    (Apply::Test(test), &[a, b]) => match (self.ty(b)?, self.node(b)?) {
                        (Type::StrList, &Node::List(l)) => B::TestAny(test, Box::new(self.s(a)?), l),
                        _ => match (self.s(a)?, self.s(b)?) {
                            (S::Text(field), S::Const(i)) => B::FieldTest {
                                test,
                                field,
                                lower: false,
                                needle: self.p.strings.get(i as usize)?.clone(),
                            },
                            (S::TextLower(field), S::Const(i)) => B::FieldTest {
                                test,
                                field,
                                lower: true,
                                needle: self.p.strings.get(i as usize)?.clone(),
                            },
                            (x, y) => B::Test(test, Box::new(x), Box::new(y)),
                        },
                    },
                    (Apply::Holds, &[a, b]) => {
                        let (f, s) = (self.multi(a)?, self.str_const(b)?);
                        let bit = self.p.fields[f as usize].option_index(s).filter(|&i| i < 64).map_or(0, |i| 1 << i);
                        B::Set { field: f, mask: bit }
                    }
                    (Apply::HoldsAny, &[a, b]) => {
                        let f = self.multi(a)?;
                        let Node::List(l) = *self.node(b)? else { return None };
                        let items = &self.p.lists.get(l as usize)?.items;
                        let mut mask = 0u64;
                        for (i, o) in self.p.fields[f as usize].options.iter().enumerate().take(64) {
                            if items.has_str(o.value()) {
                                mask |= 1 << i;
                            }
                        }
                        B::Set { field: f, mask }
                    }
                    (Apply::Test(_) | Apply::Holds | Apply::HoldsAny, _)
                    | (Apply::Text { .. } | Apply::Num { .. } | Apply::Fold(_) | Apply::Len, _) => return None,
                }
            }
            // Not booleans.
            Node::Num(_)
            | Node::Str(_)
            | Node::Null
            | Node::List(_)
            | Node::Var(..)
            | Node::Score
            | Node::Group(_)
            | Node::Count(..)
            | Node::DaysSince(_)
            | Node::Neg(_)
            | Node::Arith(..)
            | Node::Js(..) => return None,
        };
        Some(b)
    }

    /// `choice == 'x'`, `'x' != choice`...
    fn choice_cmp(&self, op: Cmp, a: NodeId, b: NodeId) -> Option<B> {
        let (f, s) = match (self.node(a)?, self.node(b)?) {
            (&Node::Field(f), &Node::Str(s)) | (&Node::Str(s), &Node::Field(f)) => (f, s),
            _ => return None,
        };
        if self.kind(f)? != FieldType::Choice {
            return None;
        }
        let s = self.p.strings.get(s as usize)?;
        let mask = self.p.fields[f as usize].options.iter().map(|o| o.value() == &**s).collect();
        Some(B::Choice { field: f, mask, ne: op == Cmp::Ne })
    }

    /// The field of a multiple choice's answer (not of an `if` between two of them).
    fn multi(&self, id: NodeId) -> Option<u32> {
        match (self.ty(id)?, self.node(id)?) {
            (Type::Multi, &Node::Field(f)) => Some(f),
            _ => None,
        }
    }

    fn str_const(&self, id: NodeId) -> Option<&str> {
        let Node::Str(s) = *self.node(id)? else { return None };
        self.p.strings.get(s as usize).map(|s| &**s)
    }

    /// A number node.
    fn n(&self, id: NodeId) -> Option<N> {
        let node = self.node(id)?.clone();
        let n = match node {
            Node::Num(v) => N::Const(v),
            Node::Field(f) => N::Field(f),
            Node::Score => N::Score,
            Node::Group(g) => N::Group(g),
            Node::Count(e, days) => N::Count(
                e,
                match days {
                    Some(d) => Some(Box::new(self.n(d)?)),
                    None => None,
                },
            ),
            Node::DaysSince(e) => N::DaysSince(e),
            Node::Neg(a) => N::Neg(Box::new(self.n(a)?)),
            Node::Arith(op, a, b) => N::Arith(op, Box::new(self.n(a)?), Box::new(self.n(b)?)),
            Node::If(c, a, b) => N::If(Box::new(self.b(c)?), Box::new(self.n(a)?), Box::new(self.n(b)?)),
            Node::Call(func, start, len) => {
                let args = self.args(start, len)?.to_vec();
                match (func.def().apply, &args[..]) {
                    (Apply::Fold(fold), _) if !args.is_empty() => {
                        let ns = args.iter().map(|&a| self.n(a)).collect::<Option<Vec<_>>>()?;
                        N::Fold(fold, ns.into())
                    }
                    (Apply::Num { at, .. }, &[a]) => N::Num(at, Box::new(self.n(a)?)),
                    (Apply::Len, &[a]) => match self.ty(a)? {
                        Type::Multi => N::SetLen(self.multi(a)?),
                        _ => N::Len(Box::new(self.s(a)?)),
                    },
                    (Apply::Fold(_) | Apply::Num { .. } | Apply::Len, _)
                    | (Apply::Text { .. } | Apply::Test(_) | Apply::Holds | Apply::HoldsAny, _) => return None,
                }
            }
            // Not numbers.
            Node::Str(_)
            | Node::Bool(_)
            | Node::Null
            | Node::List(_)
            | Node::Var(..)
            | Node::Answered(_)
            | Node::Not(_)
            | Node::And(..)
            | Node::Or(..)
            | Node::Cmp(..)
            | Node::In(..)
            | Node::Between(..)
            | Node::Js(..) => return None,
        };
        Some(n)
    }

    /// A string node.
    fn s(&self, id: NodeId) -> Option<S> {
        let node = self.node(id)?.clone();
        let text = |k: FieldType| matches!(k, FieldType::String | FieldType::Email | FieldType::Country);
        let s = match node {
            Node::Str(s) => S::Const(s),
            // A choice's answer is an option's index; a text's, its text.
            Node::Field(f) if self.kind(f)? == FieldType::Choice => S::Choice(f, None),
            Node::Field(f) => S::Text(f),
            Node::If(c, a, b) => S::If(Box::new(self.b(c)?), Box::new(self.s(a)?), Box::new(self.s(b)?)),
            Node::Call(func, start, len) => {
                let args = self.args(start, len)?.to_vec();
                let &[a] = &args[..] else { return None };
                let field = match *self.node(a)? {
                    Node::Field(f) => Some((f, self.kind(f)?)),
                    _ => None,
                };
                // A field's answer in lower case is kept when it is set, and a choice's options are known: `lower`
                // of them is read rather than computed.
                if let Some((f, k)) = field {
                    if func == Func::Lower && text(k) {
                        return Some(S::TextLower(f));
                    }
                    if func == Func::Lower && k == FieldType::Choice {
                        let opts = &self.p.fields[f as usize].options;
                        let lower = opts
                            .iter()
                            .map(|o| {
                                crate::host::lower(o.value()).map_or_else(|| o.value().into(), String::into_boxed_str)
                            })
                            .collect();
                        return Some(S::Choice(f, Some(lower)));
                    }
                }
                match func.def().apply {
                    Apply::Text { part, case: Case::Keep } => S::Part(part, Box::new(self.s(a)?)),
                    Apply::Text { part, case: case @ (Case::Lower | Case::Upper) } => {
                        // The parts between the case change and a text field, outermost first.
                        let mut parts = vec![part];
                        let mut inner = self.s(a)?;
                        let field = loop {
                            match inner {
                                S::Part(p, x) => {
                                    parts.push(p);
                                    inner = *x;
                                }
                                S::Text(f) => break f,
                                // Another case change of a computed string: left to the general evaluator.
                                _ => return None,
                            }
                        };
                        parts.reverse();
                        // Written once per lead however many conditions read it (`domain(email)` in three rules).
                        let d = Derived { field, parts: parts.into(), upper: case == Case::Upper };
                        let mut derived = self.derived.borrow_mut();
                        let k = match derived.iter().position(|x| x.same(&d)) {
                            Some(k) => k,
                            None => {
                                derived.push(d);
                                derived.len() - 1
                            }
                        };
                        S::Derived(k as u32)
                    }
                    Apply::Test(_)
                    | Apply::Num { .. }
                    | Apply::Fold(_)
                    | Apply::Len
                    | Apply::Holds
                    | Apply::HoldsAny => return None,
                }
            }
            // Not strings.
            Node::Num(_)
            | Node::Bool(_)
            | Node::Null
            | Node::List(_)
            | Node::Var(..)
            | Node::Answered(_)
            | Node::Score
            | Node::Group(_)
            | Node::Count(..)
            | Node::DaysSince(_)
            | Node::Not(_)
            | Node::Neg(_)
            | Node::And(..)
            | Node::Or(..)
            | Node::Arith(..)
            | Node::Cmp(..)
            | Node::In(..)
            | Node::Between(..)
            | Node::Js(..) => return None,
        };
        Some(s)
    }
}

impl Kernel {
    pub(crate) fn new(p: &Program) -> Kernel {
        let l = Lower { p, derived: Default::default() };
        let cond = |c: Option<NodeId>| c.map(|c| l.cond(c));
        let visible: Box<[Option<Cond>]> = p.fields.iter().map(|f| cond(f.visible)).collect();
        let background = p.order.iter().copied().take_while(|&f| p.fields[f as usize].step.is_none()).collect();
        let steps: Box<[Step]> = p
            .steps
            .iter()
            .map(|s| Step {
                visible: cond(s.visible),
                fields: s.fields.clone().into(),
                next: s.next.iter().map(|(c, t)| (cond(*c), *t)).collect(),
            })
            .collect();
        let rules: Box<[Rule]> = p
            .rules
            .iter()
            .map(|r| {
                let points = match (l.num(r.points), r.per) {
                    // `scaled_points` by a factor of 1: the points when finite and not 0, otherwise 0 (and +0).
                    (Num::Typed(N::Const(v)), None) => Points::Fixed(if v.is_finite() && v != 0.0 { v } else { 0.0 }),
                    (n, _) => Points::Scaled(n),
                };
                Rule { when: cond(r.when), points, group: r.group }
            })
            .collect();
        let knockouts: Box<[Cond]> = p.knockouts.iter().map(|k| l.cond(k.when)).collect();
        let stages: Box<[Option<Cond>]> = p.stages.iter().map(|s| cond(s.when)).collect();
        // Counted from what was built: conditions and points, and of those the ones left as nodes.
        let conds = visible
            .iter()
            .chain(steps.iter().flat_map(|s| std::iter::once(&s.visible).chain(s.next.iter().map(|j| &j.0))))
            .chain(rules.iter().map(|r| &r.when))
            .chain(stages.iter())
            .flatten()
            .chain(knockouts.iter());
        let (mut all, mut general) = (0, 0);
        for c in conds {
            all += 1;
            general += usize::from(matches!(c, Cond::Node(_)));
        }
        all += rules.len();
        general += rules.iter().filter(|r| matches!(r.points, Points::Scaled(Num::Node(_)))).count();
        Kernel {
            visible,
            background,
            steps,
            rules,
            knockouts,
            stages,
            derived: l.derived.take().into(),
            general: (general, all),
        }
    }

    /// Scores into `scratch`; `false` when the lead must be scored by the general pass instead.
    fn score(&self, p: &Program, answers: &Answers, events: &Events, now: f64, scratch: &mut Buffers) -> bool {
        let n = p.fields.len();
        if answers.slots.len() != n || events.times.len() != p.events.len() {
            return false;
        }
        let Buffers { slots, raw, scores, derived, fired, score } = scratch;
        slots.clear();
        slots.resize(n, Slot::Absent);
        let bail = Cell::new(false);
        // The layout of a submitted form (`eval::layout_with` with every field final): nothing is open, so the
        // path is certain.
        for &f in self.background.iter() {
            let ev = Ev { p, answers, slots, events, now, scores: None, derived: &[], bail: &bail };
            if ev.cond(self.visible[f as usize].as_ref()) == Some(true) && answers.slots[f as usize].is_some() {
                slots[f as usize] = Slot::Known;
            }
        }
        let mut cur = if self.steps.is_empty() { None } else { Some(0usize) };
        let mut guard = 0;
        while let Some(si) = cur {
            guard += 1;
            if guard > self.steps.len() {
                break;
            }
            let step = &self.steps[si];
            let ev = Ev { p, answers, slots, events, now, scores: None, derived: &[], bail: &bail };
            if ev.cond(step.visible.as_ref()) != Some(true) {
                cur = Some(si + 1).filter(|&x| x < self.steps.len());
                continue;
            }
            for &f in step.fields.iter() {
                let ev = Ev { p, answers, slots, events, now, scores: None, derived: &[], bail: &bail };
                if ev.cond(self.visible[f as usize].as_ref()) == Some(true) && answers.slots[f as usize].is_some() {
                    slots[f as usize] = Slot::Known;
                }
            }
            let ev = Ev { p, answers, slots, events, now, scores: None, derived: &[], bail: &bail };
            let mut next = Some(si + 1).filter(|&x| x < self.steps.len());
            for (c, t) in step.next.iter() {
                if ev.cond(c.as_ref()) == Some(true) {
                    next = t.map(|t| t as usize);
                    break;
                }
            }
            cur = next;
        }
        if bail.get() {
            return false;
        }
        if derived.len() != self.derived.len() {
            // Room for the longest answer the field takes (an ASCII one: a longer one is not kept).
            derived.clear();
            derived.extend(self.derived.iter().map(|d| {
                let room = p.fields.get(d.field as usize).map_or(0, |f| f.max_length as usize);
                (false, String::with_capacity(room))
            }));
        }
        for (d, (known, text)) in self.derived.iter().zip(derived.iter_mut()) {
            let ev = Ev { p, answers, slots, events, now, scores: None, derived: &[], bail: &bail };
            *known = false;
            match ev.answer(d.field) {
                Some(Answer::Text(s, _)) => {
                    let s = d.parts.iter().fold(&**s, |s, part| part(s));
                    text.clear();
                    crate::host::case_into(s, d.upper, text);
                    *known = true;
                }
                Some(_) => return false,
                None => {}
            }
        }
        let derived = &derived[..];
        let ev = Ev { p, answers, slots, events, now, scores: None, derived, bail: &bail };
        score.knockout = self.knockouts.iter().position(|k| ev.cond(Some(k)) == Some(true));
        fired.clear();
        fired.resize(p.rules.len().div_ceil(64), 0);
        // `eval::raw_sums_into` of every rule's points, in rule order: a rule that does not fire gives +0, which
        // changes no sum (a sum that starts at +0 is never -0), so it is not added.
        raw.clear();
        raw.resize(p.groups.len(), (0.0, 0.0));
        for (i, (k, r)) in self.rules.iter().zip(&p.rules).enumerate() {
            if ev.cond(k.when.as_ref()) != Some(true) {
                continue;
            }
            let pts = match &k.points {
                Points::Fixed(v) => (*v, *v),
                Points::Scaled(n) => ev.points(n, r),
            };
            if pts.0 != 0.0 {
                fired[i / 64] |= 1 << (i % 64);
            }
            if let Some(g) = raw.get_mut(k.group as usize) {
                g.0 += pts.0;
                g.1 += pts.1;
            }
        }
        if bail.get() {
            return false;
        }
        for g in raw.iter_mut() {
            *g = saturate(*g);
        }
        totals_into(p, raw, scores);
        if scores.total.0 != scores.total.1 || scores.groups.iter().any(|g| g.0 != g.1) {
            return false;
        }
        let ev = Ev { p, answers, slots, events, now, scores: Some(scores), derived, bail: &bail };
        let stage = self.stages.iter().position(|s| ev.cond(s.as_ref()) == Some(true));
        if bail.get() {
            return false;
        }
        score.total = scores.total.0;
        score.groups.clear();
        score.groups.extend(scores.groups.iter().map(|g| g.0));
        score.stage = stage.unwrap_or(p.stages.len().saturating_sub(1));
        true
    }
}

/// What one evaluation reads.
struct Ev<'a> {
    p: &'a Program,
    answers: &'a Answers,
    slots: &'a [Slot],
    events: &'a Events,
    now: f64,
    scores: Option<&'a Scores>,
    /// The strings of [`Kernel::derived`], once written.
    derived: &'a [(bool, String)],
    /// Set when the general evaluator would see something this one does not model.
    bail: &'a Cell<bool>,
}

impl<'a> Ev<'a> {
    fn general(&self) -> Ctx<'a> {
        Ctx {
            p: self.p,
            answers: self.answers,
            slots: self.slots,
            events: Some(self.events),
            now: self.now,
            scores: self.scores,
            present: false,
        }
    }

    fn bail<T>(&self) -> Option<T> {
        self.bail.set(true);
        None
    }

    /// A condition as the general evaluator's `cond` reads it: `None` (no condition) is true.
    /// The most common conditions (a choice, a number against a constant) are tested here, inline, rather than by
    /// a call of [`Ev::b`].
    #[inline(always)]
    fn cond(&self, c: Option<&'a Cond>) -> Option<bool> {
        match c {
            None => Some(true),
            Some(Cond::Typed(B::Choice { field, mask, ne })) => self.choice(*field, mask, *ne),
            Some(Cond::Typed(B::FieldCmp(op, f, c))) => self.field_cmp(*op, *f, *c),
            Some(Cond::Typed(b)) => self.b(b),
            Some(Cond::Node(id)) => match self.general().cond(Some(*id)) {
                Tri::True => Some(true),
                Tri::False => Some(false),
                Tri::Unknown(false) => None,
                Tri::Unknown(true) => self.bail(),
            },
        }
    }

    /// [`B::Choice`].
    #[inline(always)]
    fn choice(&self, field: u32, mask: &[bool], ne: bool) -> Option<bool> {
        match self.answer(field)? {
            Answer::Choice(i) => mask.get(*i as usize).map(|&hit| hit != ne),
            _ => self.bail(),
        }
    }

    /// [`B::FieldCmp`]: `Cmp::over` on two numbers that are not NaN is the comparison itself.
    #[inline(always)]
    fn field_cmp(&self, op: Cmp, f: u32, c: f64) -> Option<bool> {
        match self.answer(f)? {
            Answer::Num(x) if !x.is_nan() => Some(holds(op, *x, c)),
            _ => self.bail(),
        }
    }

    /// A firing rule's points (`eval::rule_outcome` when the condition holds).
    fn points(&self, n: &'a Num, r: &RuleDef) -> (f64, f64) {
        let base = match n {
            Num::Typed(n) => match self.n(n) {
                Some(v) if v.is_finite() => (v, v),
                _ => (0.0, 0.0),
            },
            Num::Node(id) => points_interval(&self.general().eval(*id)),
        };
        let (factor, _) = rule_outcome_factor(r, Some(self.events), self.now);
        scaled_points(base, factor)
    }

    fn answer(&self, f: u32) -> Option<&'a Answer> {
        match self.slots.get(f as usize) {
            Some(Slot::Known) => self.answers.slots.get(f as usize)?.as_ref(),
            _ => None,
        }
    }

    /// Ages in days of event `e`'s occurrences, newest first.
    fn ages(&self, e: u32) -> impl Iterator<Item = f64> + 'a {
        let now = self.now;
        self.events.times.get(e as usize).map_or(&[][..], |t| &t[..]).iter().map(move |t| ((now - t) / DAY_MS).max(0.0))
    }

    fn b(&self, b: &'a B) -> Option<bool> {
        match b {
            B::Const(v) => Some(*v),
            B::Answered(f) => Some(self.slots.get(*f as usize) == Some(&Slot::Known)),
            B::Field(f) => match self.answer(*f)? {
                Answer::Bool(v) => Some(*v),
                _ => self.bail(),
            },
            B::Not(a) => self.b(a).map(|v| !v),
            B::All(xs) => {
                let mut known = true;
                for x in xs.iter() {
                    match self.b(x) {
                        Some(false) => return Some(false),
                        Some(true) => {}
                        None => known = false,
                    }
                }
                known.then_some(true)
            }
            B::Any(xs) => {
                let mut known = true;
                for x in xs.iter() {
                    match self.b(x) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => known = false,
                    }
                }
                known.then_some(false)
            }
            B::If(c, a, b) => match self.b(c)? {
                true => self.b(a),
                false => self.b(b),
            },
            B::Cmp(op, a, b) => {
                let (x, y) = (self.n(a), self.n(b));
                let (x, y) = (x?, y?);
                if !x.is_nan() && !y.is_nan() {
                    return Some(holds(*op, x, y));
                }
                match op.over((x, x), (y, y)) {
                    Some(r) => Some(r),
                    None => self.bail(),
                }
            }
            B::FieldCmp(op, f, c) => self.field_cmp(*op, *f, *c),
            B::Between(x, lo, hi) => {
                let (x, l, h) = (self.n(x), self.n(lo), self.n(hi));
                let (x, l, h) = (x?, l?, h?);
                match (Cmp::Ge.over((x, x), (l, l)), Cmp::Le.over((x, x), (h, h))) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => self.bail(),
                }
            }
            B::FieldBetween(f, l, h) => match self.answer(*f)? {
                Answer::Num(x) if !x.is_nan() => Some(*x >= *l && *x <= *h),
                _ => self.bail(),
            },
            B::StrEq(ne, a, b) => {
                let (x, y) = (self.s(a), self.s(b));
                Some((x? == y?) != *ne)
            }
            B::BoolEq(ne, a, b) => {
                let (x, y) = (self.b(a), self.b(b));
                Some((x? == y?) != *ne)
            }
            B::Choice { field, mask, ne } => self.choice(*field, mask, *ne),
            B::StrIn(s, set) => Some(set.has(self.s(s)?)),
            B::NumIn(n, l) => {
                let n = self.n(n)?;
                Some(self.p.lists.get(*l as usize).is_some_and(|l| l.items.has_num(n)))
            }
            B::Set { field, mask } => match self.answer(*field)? {
                Answer::Multi(bits) => Some(bits & mask != 0),
                _ => self.bail(),
            },
            B::Test(test, a, b) => {
                let (x, y) = (self.s(a), self.s(b));
                Some(test(x?, y?))
            }
            B::FieldTest { test, field, lower, needle } => match self.answer(*field)? {
                Answer::Text(s, low) => Some(test(if *lower { low.as_deref().unwrap_or(s) } else { s }, needle)),
                _ => self.bail(),
            },
            B::FieldContainsAny { field, lower, needles } => match self.answer(*field)? {
                Answer::Text(s, low) => Some(needles.any_in(if *lower { low.as_deref().unwrap_or(s) } else { s })),
                _ => self.bail(),
            },
            B::Json(j) => Some(self.j(j)?.truthy()),
            B::TestAny(test, a, l) => {
                let x = self.s(a)?;
                Some(match self.p.lists.get(*l as usize).map(|l| &l.items) {
                    Some(ListItems::Str(items)) => items.iter().any(|t| test(x, t)),
                    Some(ListItems::Num(_) | ListItems::Json(_)) | None => false,
                })
            }
        }
    }

    fn n(&self, n: &'a N) -> Option<f64> {
        match n {
            N::Const(v) => Some(*v),
            N::Field(f) => match self.answer(*f)? {
                Answer::Num(v) => Some(*v),
                _ => self.bail(),
            },
            N::Score => self.scores.map(|s| s.total.0),
            N::Group(g) => self.scores.and_then(|s| s.groups.get(*g as usize)).map(|g| g.0),
            // Every age is at most infinite (never NaN: `ages` takes the larger of it and 0).
            N::Count(e, None) => Some(self.events.times.get(*e as usize).map_or(0, |t| t.len()) as f64),
            N::Count(e, days) => {
                let within = match days {
                    None => f64::INFINITY,
                    Some(d) => self.n(d)?,
                };
                Some(self.ages(*e).take_while(|&a| a <= within).count() as f64)
            }
            N::DaysSince(e) => Some(self.ages(*e).next().unwrap_or(f64::INFINITY)),
            N::Neg(a) => self.n(a).map(|v| -v),
            N::Arith(op, a, b) => {
                let (x, y) = (self.n(a), self.n(b));
                Some(op.at(x?, y?))
            }
            N::If(c, a, b) => match self.b(c)? {
                true => self.n(a),
                false => self.n(b),
            },
            N::Fold(fold, args) => {
                let mut acc: Option<f64> = None;
                let mut unknown = false;
                for a in args.iter() {
                    match self.n(a) {
                        Some(v) => acc = Some(acc.map_or(v, |c| fold(c, v))),
                        None => unknown = true,
                    }
                }
                if unknown {
                    None
                } else {
                    acc
                }
            }
            N::Num(at, a) => self.n(a).map(at),
            N::Len(s) => Some(self.s(s)?.chars().count() as f64),
            N::SetLen(f) => match self.answer(*f)? {
                Answer::Multi(bits) => Some(f64::from(bits.count_ones())),
                _ => self.bail(),
            },
            // Points that are not a number count 0, as for the general evaluator (`points_interval`).
            N::Json(j) => match self.j(j)? {
                Jv::Num(v) => Some(v),
                Jv::Null | Jv::Bool(_) | Jv::Str(_) | Jv::Set(..) => None,
            },
        }
    }

    /// A JsonLogic value (`vm::Ctx::js` on a submitted lead); `None` when it bails out.
    fn j(&self, j: &'a J) -> Option<Jv<'a>> {
        Some(match j {
            J::Null => Jv::Null,
            J::Bool(b) => Jv::Bool(*b),
            J::Num(n) => Jv::Num(*n),
            J::Str(i) => Jv::Str(self.p.strings.get(*i as usize).map_or("", |s| &**s)),
            J::Var(f, default) => {
                let answer = match self.answer(*f) {
                    Some(Answer::Num(n)) => Some(Jv::Num(*n)),
                    Some(Answer::Text(s, _)) => Some(Jv::Str(s)),
                    Some(Answer::Bool(b)) => Some(Jv::Bool(*b)),
                    Some(Answer::Choice(i)) => self
                        .p
                        .fields
                        .get(*f as usize)
                        .and_then(|d| d.options.get(*i as usize))
                        .map(|o| Jv::Str(o.value())),
                    Some(Answer::Multi(bits)) => Some(Jv::Set(*bits, *f)),
                    None => None,
                };
                match (answer, default) {
                    (Some(v), _) => v,
                    (None, Some(d)) => self.j(d)?,
                    (None, None) => Jv::Null,
                }
            }
            J::InStrs(needle, items) => match self.j(needle)? {
                Jv::Str(s) => Jv::Bool(items.iter().any(|t| **t == *s)),
                Jv::Null | Jv::Bool(_) | Jv::Num(_) | Jv::Set(..) => Jv::Bool(false),
            },
            J::InArray(needle, items) => {
                let needle = self.j(needle)?;
                let mut found = false;
                for item in items.iter() {
                    found |= self.j(item)?.strict_eq(needle);
                }
                Jv::Bool(found)
            }
            J::Op(op, args) => return self.js(*op, args),
        })
    }

    fn js(&self, op: JsOp, args: &'a [J]) -> Option<Jv<'a>> {
        let arg = |i: usize| -> Option<Jv<'a>> { args.get(i).map_or(Some(Jv::Null), |a| self.j(a)) };
        let fail = || {
            self.bail.set(true);
            None
        };
        Some(match op {
            JsOp::And | JsOp::Or => {
                let mut last = Jv::Null;
                for a in args.iter() {
                    let v = self.j(a)?;
                    if v.truthy() != (op == JsOp::And) {
                        return Some(v);
                    }
                    last = v;
                }
                last
            }
            JsOp::If => {
                let mut i = 0;
                while i + 1 < args.len() {
                    if self.j(&args[i])?.truthy() {
                        return self.j(&args[i + 1]);
                    }
                    i += 2;
                }
                match args.get(i) {
                    Some(a) => self.j(a)?,
                    None => Jv::Null,
                }
            }
            JsOp::LooseEq | JsOp::LooseNe => match arg(0)?.loose_eq(arg(1)?) {
                Some(eq) => Jv::Bool(eq == (op == JsOp::LooseEq)),
                None => return fail(),
            },
            JsOp::StrictEq => Jv::Bool(arg(0)?.strict_eq(arg(1)?)),
            JsOp::StrictNe => Jv::Bool(!arg(0)?.strict_eq(arg(1)?)),
            JsOp::Lt | JsOp::Le => {
                let eq = op == JsOp::Le;
                let (a, b) = (arg(0)?, arg(1)?);
                let third = if args.len() < 3 { None } else { Some(arg(2)?) };
                match a.less(b, eq) {
                    Some(false) => Jv::Bool(false),
                    Some(true) => match third {
                        None => Jv::Bool(true),
                        Some(c) => match b.less(c, eq) {
                            Some(r) => Jv::Bool(r),
                            None => return fail(),
                        },
                    },
                    None => return fail(),
                }
            }
            JsOp::Gt | JsOp::Ge => match arg(1)?.less(arg(0)?, op == JsOp::Ge) {
                Some(r) => Jv::Bool(r),
                None => return fail(),
            },
            JsOp::Not => Jv::Bool(!arg(0)?.truthy()),
            JsOp::Truthy => Jv::Bool(arg(0)?.truthy()),
            JsOp::Add => {
                let mut sum = 0.0;
                for a in args.iter() {
                    match self.j(a)?.parse_float() {
                        Some(x) => sum += x,
                        None => return fail(),
                    }
                }
                Jv::Num(sum)
            }
            JsOp::Mul if args.len() == 1 => arg(0)?,
            JsOp::Mul => {
                let pf = |v: Jv| v.parse_float();
                let (Some(first), Some(second)) = (pf(arg(0)?), pf(arg(1)?)) else { return fail() };
                let mut acc = first * second;
                for a in args.iter().skip(2) {
                    let Some(b) = pf(self.j(a)?) else { return fail() };
                    acc = (if acc == 0.0 { 0.0 } else { acc }) * b;
                }
                Jv::Num(acc)
            }
            JsOp::Sub | JsOp::Div | JsOp::Rem => {
                let x = arg(0)?.number();
                let y = if op == JsOp::Sub && args.len() == 1 { Some(0.0) } else { arg(1)?.number() };
                let (Some(x), Some(y)) = (x, y) else { return fail() };
                Jv::Num(match op {
                    JsOp::Sub if args.len() == 1 => -x,
                    JsOp::Sub => x - y,
                    JsOp::Div => x / y,
                    _ => crate::builtins::rem(x, y),
                })
            }
            JsOp::Min | JsOp::Max => {
                let min = op == JsOp::Min;
                let mut acc = if min { f64::INFINITY } else { f64::NEG_INFINITY };
                for a in args.iter() {
                    let Some(x) = self.j(a)?.number() else { return fail() };
                    if x.is_nan() {
                        return Some(Jv::Num(f64::NAN));
                    }
                    // Math.min and Math.max order -0 below +0.
                    let take = if min {
                        x < acc || (x == acc && x.is_sign_negative())
                    } else {
                        x > acc || (x == acc && acc.is_sign_negative())
                    };
                    if take {
                        acc = x;
                    }
                }
                Jv::Num(acc)
            }
            // json-logic-js: `if (!b || typeof b.indexOf === "undefined") return false`.
            JsOp::In => match (arg(0)?, arg(1)?) {
                (_, Jv::Str("")) => Jv::Bool(false),
                (Jv::Str(needle), Jv::Str(hay)) => Jv::Bool(crate::builtins::contains(hay, needle)),
                (needle, Jv::Str(hay)) => match needle.as_str() {
                    Some(needle) => Jv::Bool(crate::builtins::contains(hay, needle)),
                    None => return fail(),
                },
                (needle, Jv::Set(bits, f)) => Jv::Bool(match needle {
                    Jv::Str(s) => self.p.fields.get(f as usize).is_some_and(|d| {
                        d.options.iter().enumerate().any(|(i, o)| i < 64 && bits & (1 << i) != 0 && o.value() == s)
                    }),
                    Jv::Null | Jv::Bool(_) | Jv::Num(_) | Jv::Set(..) => false,
                }),
                (_, Jv::Null | Jv::Bool(_) | Jv::Num(_)) => Jv::Bool(false),
            },
            // Not lowered (`Lower::j`).
            JsOp::Cat | JsOp::Substr | JsOp::Missing | JsOp::MissingSome | JsOp::Merge | JsOp::Array => return fail(),
        })
    }

    fn s(&self, s: &'a S) -> Option<&'a str> {
        match s {
            S::Const(i) => Some(self.p.strings.get(*i as usize).map_or("", |s| &**s)),
            S::Text(f) => match self.answer(*f)? {
                Answer::Text(s, _) => Some(s),
                _ => self.bail(),
            },
            S::TextLower(f) => match self.answer(*f)? {
                Answer::Text(s, lower) => Some(lower.as_deref().unwrap_or(s)),
                _ => self.bail(),
            },
            S::Choice(f, lower) => match self.answer(*f)? {
                Answer::Choice(i) => match lower {
                    Some(l) => l.get(*i as usize).map(|s| &**s),
                    None => self.p.fields.get(*f as usize)?.options.get(*i as usize).map(|o| o.value()),
                },
                _ => self.bail(),
            },
            S::If(c, a, b) => match self.b(c)? {
                true => self.s(a),
                false => self.s(b),
            },
            S::Part(part, a) => self.s(a).map(part),
            // Written after the layout: a condition of the layout that reads one bails out.
            S::Derived(k) => match self.derived.get(*k as usize) {
                Some((true, s)) => Some(s),
                Some((false, _)) => None,
                None => self.bail(),
            },
        }
    }
}

/// `x op y` of two numbers that are not NaN.
fn holds(op: Cmp, x: f64, y: f64) -> bool {
    match op {
        Cmp::Lt => x < y,
        Cmp::Le => x <= y,
        Cmp::Gt => x > y,
        Cmp::Ge => x >= y,
        Cmp::Eq => x == y,
        Cmp::Ne => x != y,
    }
}

/// A constant list's strings in an open-addressing hash table: membership as `ListItems::has_str` answers it
/// (a list of other items holds no string), in one hash and usually one comparison rather than a binary search.
#[derive(Debug, Clone)]
struct StrSet {
    /// Per slot, 1 + the index of the item there, or 0 when empty; a power of two, at most half full.
    slots: Box<[u32]>,
    items: Box<[Box<str>]>,
}

impl StrSet {
    fn new(items: &ListItems) -> StrSet {
        let items: Box<[Box<str>]> = match items {
            ListItems::Str(v) => v.clone().into(),
            _ => Box::new([]),
        };
        let mut slots = vec![0u32; (items.len() * 2).next_power_of_two().max(4)];
        let mask = slots.len() - 1;
        for (i, item) in items.iter().enumerate() {
            let mut at = hash(item) & mask;
            while slots[at] != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = i as u32 + 1;
        }
        StrSet { slots: slots.into(), items }
    }

    fn has(&self, s: &str) -> bool {
        let mask = self.slots.len() - 1;
        let mut at = hash(s) & mask;
        loop {
            match self.slots[at] {
                0 => return false,
                k => {
                    if self.items.get(k as usize - 1).is_some_and(|item| **item == *s) {
                        return true;
                    }
                }
            }
            at = (at + 1) & mask;
        }
    }
}

/// A fast hash of short strings, eight bytes at a time (not for untrusted keys of a growing table: this one
/// holds a constant list, and a probe ends at the first empty slot).
fn hash(s: &str) -> usize {
    let mut h: u64 = s.len() as u64;
    let mut chunks = s.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    (h ^ (h >> 29)) as usize
}

/// The needles of [`B::FieldContainsAny`], with the set of their first bytes: a position of the answer whose byte
/// starts no needle is passed over with one test.
#[derive(Debug, Clone)]
struct Needles {
    first: [u64; 4],
    needles: Box<[Box<str>]>,
    /// One needle is empty, and the empty string is in every string.
    always: bool,
}

impl Needles {
    /// `B::Any` of `contains` tests of one field's answer against constants, in the same case, as one test.
    fn of_any(any: &[B]) -> Option<B> {
        let contains: fn(&str, &str) -> bool = crate::builtins::contains;
        let (mut at, mut needles) = (None, vec![]);
        for b in any {
            let B::FieldTest { test, field, lower, needle } = b else { return None };
            if !std::ptr::fn_addr_eq(*test, contains) || at.is_some_and(|at| at != (*field, *lower)) {
                return None;
            }
            at = Some((*field, *lower));
            needles.push(needle.clone());
        }
        let (field, lower) = at?;
        if needles.len() < 2 {
            return None;
        }
        let mut first = [0u64; 4];
        for &b in needles.iter().filter_map(|n| n.as_bytes().first()) {
            first[usize::from(b / 64)] |= 1 << (b % 64);
        }
        let always = needles.iter().any(|n| n.is_empty());
        let needles = Box::new(Needles { first, needles: needles.into(), always });
        Some(B::FieldContainsAny { field, lower, needles })
    }

    /// Whether `hay` contains one of the needles: `contains(hay, n)` of some `n`.
    fn any_in(&self, hay: &str) -> bool {
        let hay = hay.as_bytes();
        self.always
            || hay.iter().enumerate().any(|(i, &b)| {
                self.first[usize::from(b / 64)] & (1 << (b % 64)) != 0
                    && self.needles.iter().any(|n| hay[i..].starts_with(n.as_bytes()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_sets_hold_exactly_their_items() {
        let words: Vec<Box<str>> = ["", "gmail.com", "g", "yahoo.co.uk", "é", "a-much-longer-item-than-eight-bytes"]
            .iter()
            .map(|&s| s.into())
            .collect();
        let mut sorted = words.clone();
        sorted.sort();
        let items = ListItems::Str(sorted);
        let set = StrSet::new(&items);
        for probe in
            ["", "gmail.com", "gmail.co", "g", "h", "yahoo.co.uk", "é", "e", "a-much-longer-item-than-eight-bytes", "x"]
        {
            assert_eq!(set.has(probe), items.has_str(probe), "{probe:?}");
        }
        assert!(!StrSet::new(&ListItems::Num(vec![1.0])).has("1"));
    }

    #[test]
    fn needles_found_in_one_pass_as_contains_finds_them() {
        let contains: fn(&str, &str) -> bool = crate::builtins::contains;
        let test = |needle: &str| B::FieldTest { test: contains, field: 3, lower: true, needle: needle.into() };
        let sets: [&[&str]; 5] = [
            &["data", "analytics", "growth"],
            &["intern", "junior", "trainee", "assistant"],
            &["aa", "aab", "b"],
            &["é", "über", "x"],
            &["zzz", ""],
        ];
        let hays =
            ["", "a", "aa", "aab", "baab", "vp data & analytics", "head of growth", "junio", "über-intern", "é", "zz"];
        for set in sets {
            let any: Vec<B> = set.iter().map(|n| test(n)).collect();
            let Some(B::FieldContainsAny { field: 3, lower: true, needles }) = Needles::of_any(&any) else {
                panic!("{set:?} is one test")
            };
            for hay in hays {
                assert_eq!(needles.any_in(hay), set.iter().any(|n| contains(hay, n)), "{set:?} in {hay:?}");
            }
        }
        // Tests of two fields, or of two cases of one, or another test than `contains`, stay apart.
        let starts: fn(&str, &str) -> bool = |s, p| s.starts_with(p);
        let other_field = B::FieldTest { test: contains, field: 4, lower: true, needle: "x".into() };
        let other_case = B::FieldTest { test: contains, field: 3, lower: false, needle: "x".into() };
        let other_test = B::FieldTest { test: starts, field: 3, lower: true, needle: "x".into() };
        for b in [other_field, other_case, other_test, B::Const(true)] {
            assert!(Needles::of_any(&[test("a"), b]).is_none());
        }
        assert!(Needles::of_any(&[test("a")]).is_none());
    }
}

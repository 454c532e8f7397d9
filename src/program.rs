//! The compiled program: every name resolved to an index, every expression a tree of flat nodes in one arena.
//! `Display` prints a disassembly, which tests snapshot.

use std::fmt;

use crate::model::{Choice, Endings, FieldType, Text};

/// Index of a node in [`Program::nodes`].
pub type NodeId = u32;

pub use crate::builtins::{Arith, Cmp, Func, Type};

/// JsonLogic operations, with json-logic-js semantics (JavaScript coercions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsOp {
    /// `==` (loose equality)
    LooseEq,
    /// `!=`
    LooseNe,
    /// `===`
    StrictEq,
    /// `!==`
    StrictNe,
    /// `<` (2 or 3 arguments)
    Lt,
    /// `<=` (2 or 3 arguments)
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `!`
    Not,
    /// `!!`
    Truthy,
    /// `and`: the first falsy argument, or the last
    And,
    /// `or`: the first truthy argument, or the last
    Or,
    /// `if` / `?:`: condition, value pairs and a final else
    If,
    /// `+` (parseFloat of each argument)
    Add,
    /// `-` (one argument: negation)
    Sub,
    /// `*` (parseFloat of each argument)
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `in`: substring or array membership
    In,
    /// `cat`: string concatenation
    Cat,
    /// `substr`
    Substr,
    /// `missing`: the listed fields without an answer
    Missing,
    /// `missing_some`: [need, fields]
    MissingSome,
    /// A literal array built from its arguments.
    Array,
    /// `merge`: flattens arrays one level
    Merge,
}

/// One node of an expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A number.
    Num(f64),
    /// A string, by index in [`Program::strings`].
    Str(u32),
    /// `true` / `false`.
    Bool(bool),
    /// JSON null (JsonLogic only).
    Null,
    /// A constant list, by index in [`Program::lists`].
    List(u32),
    /// A field's answer.
    Field(u32),
    /// A field's answer as JsonLogic `var` reads it (null when missing), with an optional default.
    Var(u32, Option<NodeId>),
    /// `answered(field)`.
    Answered(u32),
    /// The total score (stage and grade conditions only).
    Score,
    /// A group's score.
    Group(u32),
    /// `count(event)` or `count(event, days)`.
    Count(u32, Option<NodeId>),
    /// `days_since(event)`.
    DaysSince(u32),
    /// `not x`.
    Not(NodeId),
    /// `a and b` (Kleene).
    And(NodeId, NodeId),
    /// `a or b` (Kleene).
    Or(NodeId, NodeId),
    /// `if c then a else b`.
    If(NodeId, NodeId, NodeId),
    /// `-x`.
    Neg(NodeId),
    /// Arithmetic on numbers.
    Arith(Arith, NodeId, NodeId),
    /// Comparison of two values of one type.
    Cmp(Cmp, NodeId, NodeId),
    /// Membership in a constant list.
    In(NodeId, u32),
    /// `x between lo and hi`.
    Between(NodeId, NodeId, NodeId),
    /// A built-in function; arguments in [`Program::args`] from `.1`, `.2` of them.
    Call(Func, u32, u32),
    /// A JsonLogic operation; arguments in [`Program::args`] from `.1`, `.2` of them.
    Js(JsOp, u32, u32),
}

/// A constant list.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    /// Its name (`""` for a list literal inside an expression).
    pub name: String,
    /// The items, sorted.
    pub items: ListItems,
}

/// Items of a constant list.
#[derive(Debug, Clone, PartialEq)]
pub enum ListItems {
    /// Strings, sorted and deduplicated.
    Str(Vec<Box<str>>),
    /// Numbers, sorted and deduplicated.
    Num(Vec<f64>),
    /// Anything else (JsonLogic arrays of mixed values), in the order written.
    Json(Vec<serde_json::Value>),
}

impl ListItems {
    /// Whether the list holds `s`.
    pub fn has_str(&self, s: &str) -> bool {
        match self {
            ListItems::Str(v) => v.binary_search_by(|x| (**x).cmp(s)).is_ok(),
            _ => false,
        }
    }

    /// Whether the list holds `n`.
    pub fn has_num(&self, n: f64) -> bool {
        match self {
            ListItems::Num(v) => v.binary_search_by(|x| x.total_cmp(&n)).is_ok() || (n == 0.0 && v.contains(&0.0)),
            _ => false,
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            ListItems::Str(v) => v.len(),
            ListItems::Num(v) => v.len(),
            ListItems::Json(v) => v.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A compiled field.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Identifier.
    pub id: String,
    /// Answer type.
    pub kind: FieldType,
    /// Question.
    pub label: Option<Text>,
    /// Help text.
    pub help: Option<Text>,
    /// Placeholder.
    pub placeholder: Option<Text>,
    /// Required: `None` = never; a node (possibly constant `true`).
    pub required: Option<NodeId>,
    /// Shown only while this holds.
    pub visible: Option<NodeId>,
    /// Editable only while this holds.
    pub enabled: Option<NodeId>,
    /// Smallest accepted number.
    pub min: Option<f64>,
    /// Largest accepted number.
    pub max: Option<f64>,
    /// Longest accepted text in characters.
    pub max_length: u32,
    /// Options (choice, multi).
    pub options: Vec<Choice>,
    /// The step that asks it; `None` for a background field set by the page.
    pub step: Option<u32>,
}

impl FieldDef {
    /// Index of an option value.
    pub fn option_index(&self, value: &str) -> Option<usize> {
        self.options.iter().position(|c| c.value() == value)
    }
}

/// A compiled step.
#[derive(Debug, Clone)]
pub struct StepDef {
    /// Identifier.
    pub id: String,
    /// Heading.
    pub title: Option<Text>,
    /// Field indexes, in order.
    pub fields: Vec<u32>,
    /// Shown only while this holds.
    pub visible: Option<NodeId>,
    /// Jumps: condition (None = always) and target step index (`None` = end of the form).
    pub next: Vec<(Option<NodeId>, Option<u32>)>,
}

/// A compiled group.
#[derive(Debug, Clone)]
pub struct GroupDef {
    /// Identifier.
    pub id: String,
    /// Name.
    pub label: Option<Text>,
    /// Lower cap.
    pub min: Option<f64>,
    /// Upper cap.
    pub max: Option<f64>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// Identifier.
    pub id: String,
    /// Label.
    pub label: Option<Text>,
    /// Group index.
    pub group: u32,
    /// Condition; `None` = always.
    pub when: Option<NodeId>,
    /// Points per award.
    pub points: NodeId,
    /// Per occurrence of this event.
    pub per: Option<u32>,
    /// At most this many occurrences.
    pub max_times: Option<u32>,
    /// Only occurrences at most this many days old.
    pub within_days: Option<f64>,
    /// Half-life in days.
    pub half_life_days: Option<f64>,
    /// Fields the rule reads (for the ledger and for what is undecided).
    pub fields: Vec<u32>,
    /// Events the rule reads (for the ledger).
    pub events: Vec<u32>,
}

/// A compiled knockout.
#[derive(Debug, Clone)]
pub struct KnockoutDef {
    /// Identifier.
    pub id: String,
    /// Condition.
    pub when: NodeId,
    /// Reason code.
    pub reason: String,
    /// Message.
    pub message: Option<Text>,
    /// Fields read.
    pub fields: Vec<u32>,
}

/// A compiled stage.
#[derive(Debug, Clone)]
pub struct StageDef {
    /// Identifier.
    pub id: String,
    /// Name.
    pub label: Option<Text>,
    /// Condition; `None` on the default stage.
    pub when: Option<NodeId>,
    /// Fields read.
    pub fields: Vec<u32>,
}

/// A band of a grade axis.
#[derive(Debug, Clone)]
pub struct BandDef {
    /// Name.
    pub label: String,
    /// Smallest score; `None` on the last band.
    pub min: Option<f64>,
}

/// A compiled grade.
#[derive(Debug, Clone)]
pub struct GradeDef {
    /// Group graded.
    pub group: u32,
    /// Bands, best first.
    pub bands: Vec<BandDef>,
    /// Second axis.
    pub matrix: Option<(u32, Vec<BandDef>)>,
}

/// A compiled rules document, ready to evaluate many times.
#[derive(Debug, Clone)]
pub struct Program {
    /// Model id.
    pub id: String,
    /// Title.
    pub title: Option<Text>,
    /// Default locale.
    pub locale: String,
    /// Fields, in document order.
    pub fields: Vec<FieldDef>,
    /// Steps, in order.
    pub steps: Vec<StepDef>,
    /// Constant lists (named lists first, then list literals).
    pub lists: Vec<List>,
    /// Event ids and labels.
    pub events: Vec<(String, Option<Text>)>,
    /// Groups.
    pub groups: Vec<GroupDef>,
    /// Rules.
    pub rules: Vec<RuleDef>,
    /// Knockouts.
    pub knockouts: Vec<KnockoutDef>,
    /// Stages, best first; the last is the default.
    pub stages: Vec<StageDef>,
    /// Grade.
    pub grade: Option<GradeDef>,
    /// Endings.
    pub endings: Endings,
    /// Expression nodes.
    pub nodes: Vec<Node>,
    /// Arguments of calls.
    pub args: Vec<NodeId>,
    /// String constants.
    pub strings: Vec<Box<str>>,
    /// Form order of fields: background fields first, then by step.
    pub(crate) order: Vec<u32>,
    pub(crate) hash: String,
    /// Each node's type: recorded by the compiler as it builds the node, found again and so checked when a
    /// program is decoded ([`Program::node_type`]); not encoded. The landing page's Wasm builds (runtime and
    /// form), which score with the general evaluator only, neither keep nor check them: they pay for every byte.
    #[cfg(any(feature = "compiler", not(target_arch = "wasm32")))]
    pub(crate) types: Vec<Type>,
}

// Limits of a program, checked by the compiler on documents and by `Program::from_bytes` on compiled programs.
/// Most fields a document may declare.
pub const MAX_FIELDS: usize = 500;
/// Most steps.
pub const MAX_STEPS: usize = 100;
/// Most rules.
pub const MAX_RULES: usize = 2000;
/// Most knockouts.
pub const MAX_KNOCKOUTS: usize = 500;
/// Most stages (each is evaluated for every lead and every keystroke, until one holds).
pub const MAX_STAGES: usize = 100;
/// Most bands of a grade (and of its matrix).
pub const MAX_BANDS: usize = 100;
/// Most items in one list.
pub const MAX_LIST: usize = 10_000;
/// Most options of a choice field.
pub const MAX_CHOICE_OPTIONS: usize = 1000;
/// Most options of a multi field.
pub const MAX_MULTI_OPTIONS: usize = 64;
/// Deepest nesting of an expression (parentheses, operators, calls).
pub const MAX_DEPTH: usize = 64;

/// Sorts and deduplicates a list of field or event indexes, in linear time: a bitmap over the largest
/// (indexes are below a few thousand), which also keeps the standard library's sorts out of the Wasm module.
pub(crate) fn sort_dedup(v: &mut Vec<u32>) {
    let Some(&max) = v.iter().max() else { return };
    if max > 1 << 16 {
        // Not an index of any valid program (the codec rejects the program): left as it is.
        return;
    }
    let mut seen = vec![false; max as usize + 1];
    for &x in v.iter() {
        seen[x as usize] = true;
    }
    v.clear();
    v.extend(seen.iter().enumerate().filter(|(_, &s)| s).map(|(i, _)| i as u32));
}

impl Program {
    /// The rules hash: a digest of the compiled program's whole content (FNV-1a 64 of its binary form, 16 hex
    /// digits), computed again when a program is read from bytes. Equal documents (up to formatting and key
    /// order) give equal hashes, on every platform.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Index of a field by id.
    pub fn field_index(&self, id: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.id == id)
    }

    /// Index of an event by id.
    pub fn event_index(&self, id: &str) -> Option<usize> {
        self.events.iter().position(|e| e.0 == id)
    }

    /// Adds the fields that the expression at `id` reads to `out`.
    pub(crate) fn fields_read(&self, id: NodeId, out: &mut Vec<u32>) {
        self.reads(id, out, &mut vec![]);
    }

    /// Adds the fields and the events that the expression at `id` reads to `fields` and `events`.
    pub(crate) fn reads(&self, id: NodeId, fields: &mut Vec<u32>, events: &mut Vec<u32>) {
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            match self.nodes.get(n as usize) {
                Some(Node::Field(f) | Node::Answered(f)) => fields.push(*f),
                Some(Node::Var(f, d)) => {
                    fields.push(*f);
                    stack.extend(d);
                }
                Some(Node::Count(e, d)) => {
                    events.push(*e);
                    stack.extend(d);
                }
                Some(Node::DaysSince(e)) => events.push(*e),
                Some(Node::Not(a) | Node::Neg(a) | Node::In(a, _)) => stack.push(*a),
                Some(Node::And(a, b) | Node::Or(a, b) | Node::Arith(_, a, b) | Node::Cmp(_, a, b)) => {
                    stack.extend([*a, *b])
                }
                Some(Node::If(a, b, c) | Node::Between(a, b, c)) => stack.extend([*a, *b, *c]),
                Some(Node::Js(op @ (JsOp::Missing | JsOp::MissingSome), s, len)) => {
                    let args = self.call_args(*s, *len);
                    stack.extend_from_slice(args);
                    self.missing_reads(*op, args, fields);
                }
                Some(Node::Call(_, s, len) | Node::Js(_, s, len)) => stack.extend_from_slice(self.call_args(*s, *len)),
                _ => {}
            }
        }
    }

    /// The fields that JsonLogic's `missing` or `missing_some` with arguments `args` looks up by name: a read of
    /// each, as `var` is, so that a session scores the condition again when one of them changes. Its names are
    /// the items of its first argument when that is an array, else its arguments (for `missing_some`, the
    /// items of its second); a name may be given with a default (`["name", default]`). A name that is
    /// computed could be any field's, and reads them all.
    pub(crate) fn missing_reads(&self, op: JsOp, args: &[NodeId], fields: &mut Vec<u32>) {
        let array = |id: NodeId| match self.nodes.get(id as usize) {
            Some(&Node::Js(JsOp::Array, s, len)) => Some(self.call_args(s, len)),
            _ => None,
        };
        let keys = if op == JsOp::MissingSome { args.get(1..).unwrap_or_default() } else { args };
        let keys = keys.first().and_then(|&k| array(k)).unwrap_or(keys);
        for &key in keys {
            let name = array(key).and_then(|pair| pair.first().copied()).unwrap_or(key);
            let name = match self.nodes.get(name as usize) {
                Some(Node::Str(s)) => self.strings.get(*s as usize).map(|s| &**s),
                // JavaScript writes these as names no field can take (`1`, `true`, `null`).
                Some(Node::Num(_) | Node::Bool(_) | Node::Null) | None => continue,
                // Any other node computes the name, which could then be any field's: reading them all is never
                // wrong, so a node kind added later needs no arm here.
                Some(_) => None,
            };
            for (i, f) in self.fields.iter().enumerate() {
                if name.is_none_or(|n| *n == *f.id) {
                    fields.push(i as u32);
                }
            }
        }
    }

    /// Arguments of a call node.
    #[cfg(any(feature = "compiler", not(target_arch = "wasm32")))]
    /// The type of node `n` from the types of the nodes before it (`types`), by the language's rules: what the
    /// compiler gives such a node; `None` when its operands do not have the types it takes. JsonLogic values
    /// (`Node::Js`, `Node::Var`, `Node::Null`) take any operands and are [`Type::Json`].
    pub(crate) fn node_type(&self, n: &Node, types: &[Type]) -> Option<Type> {
        use Type::{Bool, Json, Multi, Num, NumList, Str, StrList};
        let t = |id: NodeId| types.get(id as usize).copied();
        let is = |id: NodeId, want: Type| t(id) == Some(want);
        let then = |ok: bool, ty: Type| ok.then_some(ty);
        match *n {
            Node::Num(_) | Node::Score | Node::Group(_) | Node::DaysSince(_) => Some(Num),
            Node::Str(_) => Some(Str),
            Node::Bool(_) | Node::Answered(_) => Some(Bool),
            Node::Null | Node::Var(..) | Node::Js(..) => Some(Json),
            Node::List(l) => Some(match self.lists.get(l as usize)?.items {
                ListItems::Str(_) => StrList,
                ListItems::Num(_) => NumList,
                ListItems::Json(_) => Json,
            }),
            Node::Field(f) => Some(match self.fields.get(f as usize)?.kind {
                FieldType::Number | FieldType::Integer => Num,
                FieldType::Boolean => Bool,
                FieldType::Multi => Multi,
                FieldType::String | FieldType::Email | FieldType::Choice | FieldType::Country => Str,
            }),
            Node::Count(_, days) => then(days.is_none_or(|d| is(d, Num)), Num),
            Node::Not(a) => then(is(a, Bool), Bool),
            Node::And(a, b) | Node::Or(a, b) => then(is(a, Bool) && is(b, Bool), Bool),
            Node::If(c, a, b) => then(is(c, Bool) && t(a) == t(b), t(a)?),
            Node::Neg(a) => then(is(a, Num), Num),
            Node::Arith(_, a, b) => then(is(a, Num) && is(b, Num), Num),
            Node::Cmp(op, a, b) => {
                let ok = match op.ordered() {
                    true => is(a, Num) && is(b, Num),
                    false => t(a) == t(b) && matches!(t(a), Some(Num | Str | Bool)),
                };
                then(ok, Bool)
            }
            Node::In(a, l) => then(
                match self.lists.get(l as usize)?.items {
                    ListItems::Str(_) => is(a, Str),
                    ListItems::Num(_) => is(a, Num),
                    ListItems::Json(_) => false,
                },
                Bool,
            ),
            Node::Between(a, lo, hi) => then(is(a, Num) && is(lo, Num) && is(hi, Num), Bool),
            Node::Call(f, start, len) => {
                let args = self.args.get(start as usize..(start as usize).checked_add(len as usize)?)?;
                let args: Vec<Type> = args.iter().map(|&a| t(a)).collect::<Option<_>>()?;
                f.def().sigs.iter().find(|s| s.runs == f && s.fits(&args)).map(|s| s.ret)
            }
        }
    }

    /// Every node's type ([`Program::node_type`]); `None` when a node's operands do not fit it.
    #[cfg(any(feature = "compiler", not(target_arch = "wasm32")))]
    pub(crate) fn node_types(&self) -> Option<Vec<Type>> {
        let mut types = Vec::with_capacity(self.nodes.len());
        for n in &self.nodes {
            let t = self.node_type(n, &types)?;
            types.push(t);
        }
        Some(types)
    }

    pub(crate) fn call_args(&self, start: u32, len: u32) -> &[NodeId] {
        &self.args[start as usize..(start + len) as usize]
    }

    fn write_node(&self, f: &mut fmt::Formatter<'_>, id: NodeId) -> fmt::Result {
        let Some(node) = self.nodes.get(id as usize) else { return write!(f, "?") };
        match node {
            Node::Num(n) => write!(f, "{n}"),
            Node::Str(s) => write!(f, "{:?}", &*self.strings[*s as usize]),
            Node::Bool(b) => write!(f, "{b}"),
            Node::Null => write!(f, "null"),
            Node::List(l) => {
                let list = &self.lists[*l as usize];
                if list.name.is_empty() {
                    write!(f, "list#{l}")
                } else {
                    write!(f, "list:{}", list.name)
                }
            }
            Node::Field(i) => write!(f, "${}", self.fields[*i as usize].id),
            Node::Var(i, d) => {
                write!(f, "(var ${}", self.fields[*i as usize].id)?;
                if let Some(d) = d {
                    write!(f, " ")?;
                    self.write_node(f, *d)?;
                }
                write!(f, ")")
            }
            Node::Answered(i) => write!(f, "(answered ${})", self.fields[*i as usize].id),
            Node::Score => write!(f, "@score"),
            Node::Group(g) => write!(f, "@{}", self.groups[*g as usize].id),
            Node::Count(e, d) => {
                write!(f, "(count !{}", self.events[*e as usize].0)?;
                if let Some(d) = d {
                    write!(f, " ")?;
                    self.write_node(f, *d)?;
                }
                write!(f, ")")
            }
            Node::DaysSince(e) => write!(f, "(days_since !{})", self.events[*e as usize].0),
            Node::Not(a) => self.write_call(f, "not", &[*a]),
            Node::And(a, b) => self.write_call(f, "and", &[*a, *b]),
            Node::Or(a, b) => self.write_call(f, "or", &[*a, *b]),
            Node::If(c, a, b) => self.write_call(f, "if", &[*c, *a, *b]),
            Node::Neg(a) => self.write_call(f, "neg", &[*a]),
            Node::Arith(op, a, b) => self.write_call(f, &format!("{op:?}").to_lowercase(), &[*a, *b]),
            Node::Cmp(op, a, b) => self.write_call(f, &format!("{op:?}").to_lowercase(), &[*a, *b]),
            Node::In(a, l) => {
                write!(f, "(in ")?;
                self.write_node(f, *a)?;
                let list = &self.lists[*l as usize];
                if list.name.is_empty() {
                    write!(f, " list#{l})")
                } else {
                    write!(f, " list:{})", list.name)
                }
            }
            Node::Between(a, b, c) => self.write_call(f, "between", &[*a, *b, *c]),
            Node::Call(func, s, n) => {
                let name = format!("{func:?}").to_lowercase();
                self.write_call(f, &name, self.call_args(*s, *n))
            }
            Node::Js(op, s, n) => {
                let name = format!("js.{op:?}").to_lowercase();
                self.write_call(f, &name, self.call_args(*s, *n))
            }
        }
    }

    fn write_call(&self, f: &mut fmt::Formatter<'_>, name: &str, args: &[NodeId]) -> fmt::Result {
        write!(f, "({name}")?;
        for a in args {
            write!(f, " ")?;
            self.write_node(f, *a)?;
        }
        write!(f, ")")
    }

    /// An expression as the expression language writes it, for people: `score >= 80 and fit >= 30`. Parentheses
    /// only where precedence needs them; JsonLogic-only operations as calls (`js.cat(...)`).
    pub fn expr_text(&self, id: NodeId) -> String {
        let mut out = String::new();
        self.write_expr(&mut out, id, 0);
        out
    }

    /// Writes node `id` into `out`, in parentheses when its precedence is below `min` (0 `if`, 1 `or`, 2 `and`,
    /// 3 `not`, 4 comparisons, 5 `+ -`, 6 `* / %`, 7 unary minus, 8 atoms and calls).
    fn write_expr(&self, out: &mut String, id: NodeId, min: u8) {
        use std::fmt::Write as _;
        let Some(node) = self.nodes.get(id as usize) else { return out.push('?') };
        let prec = match node {
            Node::If(..) => 0,
            Node::Or(..) => 1,
            Node::And(..) => 2,
            Node::Not(_) => 3,
            Node::Cmp(..) | Node::In(..) | Node::Between(..) => 4,
            Node::Arith(op, ..) => 4 + op.binds(),
            Node::Neg(_) => 7,
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
            | Node::Call(..)
            | Node::Js(..) => 8,
        };
        if prec < min {
            out.push('(');
        }
        // A named list by its name; a literal by its items.
        let list = |l: u32| {
            let list = &self.lists[l as usize];
            if !list.name.is_empty() {
                return list.name.clone();
            }
            let quote = |s: &str| format!("'{}'", s.replace('\'', "\\'"));
            let items: Vec<String> = match &list.items {
                ListItems::Str(v) => v.iter().map(|s| quote(s)).collect(),
                ListItems::Num(v) => v.iter().map(|n| crate::host::js_string(*n)).collect(),
                ListItems::Json(v) => v.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), quote)).collect(),
            };
            format!("[{}]", items.join(", "))
        };
        let call = |out: &mut String, name: &str, args: &[NodeId]| {
            out.push_str(name);
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                self.write_expr(out, *a, 0);
            }
            out.push(')');
        };
        match node {
            Node::Num(n) => out.push_str(&crate::host::js_string(*n)),
            Node::Str(s) => {
                let _ = write!(out, "'{}'", self.strings[*s as usize].replace('\'', "\\'"));
            }
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Null => out.push_str("null"),
            Node::List(l) => out.push_str(&list(*l)),
            Node::Field(i) => out.push_str(&self.fields[*i as usize].id),
            Node::Var(i, d) => {
                // JsonLogic's `var` with a default.
                let _ = write!(out, "var({}", self.fields[*i as usize].id);
                if let Some(d) = d {
                    out.push_str(", ");
                    self.write_expr(out, *d, 0);
                }
                out.push(')');
            }
            Node::Answered(i) => {
                let _ = write!(out, "answered({})", self.fields[*i as usize].id);
            }
            Node::Score => out.push_str("score"),
            Node::Group(g) => out.push_str(&self.groups[*g as usize].id),
            Node::Count(e, d) => {
                let _ = write!(out, "count({}", self.events[*e as usize].0);
                if let Some(d) = d {
                    out.push_str(", ");
                    self.write_expr(out, *d, 0);
                }
                out.push(')');
            }
            Node::DaysSince(e) => {
                let _ = write!(out, "days_since({})", self.events[*e as usize].0);
            }
            Node::Not(a) => {
                out.push_str("not ");
                self.write_expr(out, *a, 3);
            }
            Node::And(a, b) | Node::Or(a, b) => {
                let word = if matches!(node, Node::And(..)) { " and " } else { " or " };
                self.write_expr(out, *a, prec);
                out.push_str(word);
                self.write_expr(out, *b, prec + 1);
            }
            Node::If(c, a, b) => {
                out.push_str("if ");
                self.write_expr(out, *c, 1);
                out.push_str(" then ");
                self.write_expr(out, *a, 1);
                out.push_str(" else ");
                self.write_expr(out, *b, 0);
            }
            Node::Neg(a) => {
                out.push('-');
                self.write_expr(out, *a, 7);
            }
            Node::Arith(op, a, b) => {
                self.write_expr(out, *a, prec);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                self.write_expr(out, *b, prec + 1);
            }
            Node::Cmp(op, a, b) => {
                self.write_expr(out, *a, 5);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                self.write_expr(out, *b, 5);
            }
            Node::In(a, l) => {
                self.write_expr(out, *a, 5);
                let _ = write!(out, " in {}", list(*l));
            }
            Node::Between(a, lo, hi) => {
                self.write_expr(out, *a, 5);
                out.push_str(" between ");
                self.write_expr(out, *lo, 5);
                out.push_str(" and ");
                self.write_expr(out, *hi, 5);
            }
            Node::Call(func, s, n) => call(out, func.name(), self.call_args(*s, *n)),
            Node::Js(op, s, n) => call(out, &format!("js.{op:?}").to_lowercase(), self.call_args(*s, *n)),
        }
        if prec < min {
            out.push(')');
        }
    }

    /// The compiler's debugging form of one expression (S-expressions); [`Program::expr_text`] is for people.
    pub fn display_node(&self, id: NodeId) -> impl fmt::Display + '_ {
        NodeDisplay(self, id)
    }
}

struct NodeDisplay<'a>(&'a Program, NodeId);

impl fmt::Display for NodeDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_node(f, self.1)
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "program {} hash {}", self.id, self.hash)?;
        for (i, fd) in self.fields.iter().enumerate() {
            write!(f, "field {i} {} {:?}", fd.id, fd.kind)?;
            if let Some(s) = fd.step {
                write!(f, " step={}", self.steps[s as usize].id)?;
            }
            if let Some(r) = fd.required {
                write!(f, " required=")?;
                self.write_node(f, r)?;
            }
            if let Some(v) = fd.visible {
                write!(f, " visible=")?;
                self.write_node(f, v)?;
            }
            if let Some(v) = fd.enabled {
                write!(f, " enabled=")?;
                self.write_node(f, v)?;
            }
            writeln!(f)?;
        }
        for s in &self.steps {
            write!(f, "step {}", s.id)?;
            if let Some(v) = s.visible {
                write!(f, " visible=")?;
                self.write_node(f, v)?;
            }
            for (c, t) in &s.next {
                write!(f, " next[")?;
                if let Some(c) = c {
                    self.write_node(f, *c)?;
                    write!(f, " -> ")?;
                }
                match t {
                    Some(t) => write!(f, "{}]", self.steps[*t as usize].id)?,
                    None => write!(f, "end]")?,
                }
            }
            writeln!(f)?;
        }
        for k in &self.knockouts {
            write!(f, "knockout {} ({}) when ", k.id, k.reason)?;
            self.write_node(f, k.when)?;
            writeln!(f)?;
        }
        for r in &self.rules {
            write!(f, "rule {} -> {} points ", r.id, self.groups[r.group as usize].id)?;
            self.write_node(f, r.points)?;
            if let Some(w) = r.when {
                write!(f, " when ")?;
                self.write_node(f, w)?;
            }
            if let Some(e) = r.per {
                write!(f, " per {}", self.events[e as usize].0)?;
            }
            if let Some(m) = r.max_times {
                write!(f, " max_times {m}")?;
            }
            if let Some(d) = r.within_days {
                write!(f, " within {d}d")?;
            }
            if let Some(h) = r.half_life_days {
                write!(f, " half_life {h}d")?;
            }
            writeln!(f)?;
        }
        for s in &self.stages {
            write!(f, "stage {}", s.id)?;
            if let Some(w) = s.when {
                write!(f, " when ")?;
                self.write_node(f, w)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use serde_json::Value as Json;

    /// `expr_text` writes what the compiler reads back to the same expression: every stage, knockout and rule
    /// condition of every example, written out and compiled again in its place, gives the same nodes.
    #[test]
    fn expr_text_compiles_back_to_the_same_expression() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let p = crate::compile_str(&text).program.unwrap();
            let mut doc: Json = serde_json::from_str(&text).unwrap();
            let conditions: Vec<(&str, usize, crate::program::NodeId)> = p
                .stages
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some(("stages", i, s.when?)))
                .chain(p.knockouts.iter().enumerate().map(|(i, k)| ("knockouts", i, k.when)))
                .chain(p.rules.iter().enumerate().filter_map(|(i, r)| Some(("rules", i, r.when?))))
                .collect();
            // Conditions written in the expression language (JsonLogic's own operations have no syntax there).
            let conditions: Vec<_> =
                conditions.into_iter().filter(|&(table, i, _)| doc[table][i]["when"].is_string()).collect();
            for &(table, i, when) in &conditions {
                doc[table][i]["when"] = Json::String(p.expr_text(when));
            }
            let again = crate::compile_str(&doc.to_string());
            let q = again.program.unwrap_or_else(|| panic!("{}: {:?}", path.display(), again.diagnostics));
            let node = |p: &crate::Program, table: &str, i: usize| -> String {
                let id = match table {
                    "stages" => p.stages[i].when.unwrap(),
                    "knockouts" => p.knockouts[i].when,
                    _ => p.rules[i].when.unwrap(),
                };
                p.display_node(id).to_string()
            };
            for &(table, i, when) in &conditions {
                assert_eq!(
                    node(&q, table, i),
                    node(&p, table, i),
                    "{} {table}[{i}]: {}",
                    path.display(),
                    p.expr_text(when)
                );
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked} conditions");
    }
}

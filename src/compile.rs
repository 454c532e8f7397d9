//! Compilation: rules document -> diagnostics and, when there are no errors, a [`Program`].
//!
//! Every problem is collected; nothing stops at the first. Each diagnostic carries the JSON pointer of the
//! value at fault, and (for expressions) the byte range inside the expression.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::builtins::{Sig, Type};
use crate::diagnostic::{escape_pointer, Code, Diagnostic};
use crate::expr::{self, BinOp, Kind};
use crate::model::{self, Document, FieldType};
use crate::program::*;

/// The result of compiling: the program (absent when there are errors) and every diagnostic.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The program, when the document has no errors.
    pub program: Option<Program>,
    /// Errors and warnings, in document order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Compiles a document given as JSON text; diagnostics carry line and column.
pub fn compile_str(text: &str) -> Compiled {
    let mut diagnostics = Vec::new();
    let mut out = match crate::source::parse(text, &mut diagnostics) {
        Some(value) if diagnostics.is_empty() => compile_value(value),
        _ => Compiled { program: None, diagnostics },
    };
    crate::source::locate(text, &mut out.diagnostics);
    // Document order; diagnostics without a position keep their place at the start.
    out.diagnostics.sort_by_key(|d| d.span.map_or(0, |s| s.start.offset));
    out
}

/// Compiles a document given as a JSON value (no line and column in diagnostics).
pub fn compile_value(value: Json) -> Compiled {
    let mut diags = Vec::new();
    let doc = read_document(value, &mut diags);
    let program = match doc {
        Some(doc) if diags.iter().all(|d| !d.is_error()) => Compiler::new(&doc, &mut diags).run(&doc),
        _ => None,
    };
    let program = if diags.iter().any(Diagnostic::is_error) { None } else { program };
    Compiled { program, diagnostics: diags }
}

/// Compiles a typed document.
pub fn compile_document(doc: &Document) -> Compiled {
    match serde_json::to_value(doc) {
        Ok(v) => compile_value(v),
        Err(e) => Compiled { program: None, diagnostics: vec![Diagnostic::error(Code::Schema, "", e.to_string())] },
    }
}

// ---------------------------------------------------------------------------------------------------------
// Reading the document: one serde pass per element, so that every bad element is reported.

fn de<T: DeserializeOwned>(value: Json, pointer: &str, diags: &mut Vec<Diagnostic>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let mut p = pointer.to_string();
            for seg in e.path().iter() {
                use serde_path_to_error::Segment;
                match seg {
                    Segment::Seq { index } => p.push_str(&format!("/{index}")),
                    Segment::Map { key } | Segment::Enum { variant: key } => {
                        p.push('/');
                        p.push_str(&escape_pointer(key));
                    }
                    Segment::Unknown => {}
                }
            }
            let msg = e.into_inner().to_string();
            let msg = msg.replace(
                "data did not match any variant of untagged enum Text",
                "expected a text: a string, or an object of strings by locale",
            );
            let msg = msg.replace(
                "data did not match any variant of untagged enum Choice",
                "expected an option: a string, or {\"value\": ..., \"label\": ...}",
            );
            diags.push(Diagnostic::error(Code::Schema, p, msg));
            None
        }
    }
}

fn de_array<T: DeserializeOwned>(value: Json, pointer: &str, diags: &mut Vec<Diagnostic>) -> Vec<T> {
    match value {
        Json::Array(items) => {
            items.into_iter().enumerate().filter_map(|(i, v)| de(v, &format!("{pointer}/{i}"), diags)).collect()
        }
        other => {
            diags.push(Diagnostic::error(
                Code::Schema,
                pointer,
                format!("expected an array, found {}", kind_of(&other)),
            ));
            Vec::new()
        }
    }
}

fn kind_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

const TOP_KEYS: &[&str] = &[
    "$schema",
    "leadscore",
    "id",
    "title",
    "locale",
    "fields",
    "steps",
    "lists",
    "events",
    "groups",
    "rules",
    "knockouts",
    "stages",
    "grade",
    "endings",
];

fn read_document(value: Json, diags: &mut Vec<Diagnostic>) -> Option<Document> {
    let Json::Object(map) = value else {
        diags.push(Diagnostic::error(
            Code::Schema,
            "",
            format!("a rules document is a JSON object, found {}", kind_of(&value)),
        ));
        return None;
    };
    let mut doc = Document {
        schema: None,
        leadscore: 0,
        id: String::new(),
        title: None,
        locale: "en".into(),
        fields: vec![],
        steps: vec![],
        lists: BTreeMap::new(),
        events: vec![],
        groups: None,
        rules: vec![],
        knockouts: vec![],
        stages: vec![],
        grade: None,
        endings: None,
    };
    null_conditions(&map, diags);
    for required in ["leadscore", "id", "fields", "stages"] {
        if !map.contains_key(required) {
            diags.push(Diagnostic::error(Code::Schema, "", format!("missing key `{required}`")));
        }
    }
    let before = diags.len();
    for (key, v) in map {
        let p = format!("/{}", escape_pointer(&key));
        match key.as_str() {
            "$schema" => doc.schema = de(v, &p, diags),
            "leadscore" => {
                if let Some(n) = de::<u32>(v, &p, diags) {
                    if n != model::FORMAT_VERSION {
                        diags.push(Diagnostic::error(
                            Code::Version,
                            p,
                            format!(
                                "this engine reads format version {}; the document says {n}",
                                model::FORMAT_VERSION
                            ),
                        ));
                    }
                    doc.leadscore = n;
                }
            }
            "id" => doc.id = de(v, &p, diags).unwrap_or_default(),
            "title" => doc.title = de(v, &p, diags),
            "locale" => doc.locale = de(v, &p, diags).unwrap_or_else(|| "en".into()),
            "fields" => doc.fields = de_array(v, &p, diags),
            "steps" => doc.steps = de_array(v, &p, diags),
            "lists" => doc.lists = de(v, &p, diags).unwrap_or_default(),
            "events" => doc.events = de_array(v, &p, diags),
            "groups" => doc.groups = Some(de_array(v, &p, diags)),
            "rules" => doc.rules = de_array(v, &p, diags),
            "knockouts" => doc.knockouts = de_array(v, &p, diags),
            "stages" => doc.stages = de_array(v, &p, diags),
            "grade" => doc.grade = de(v, &p, diags),
            "endings" => doc.endings = de(v, &p, diags),
            other => {
                let mut d = Diagnostic::error(Code::Schema, p, format!("unknown key `{other}`"));
                if let Some(s) = closest(other, TOP_KEYS.iter().copied()) {
                    d = d.with_note(format!("did you mean `{s}`?"));
                }
                diags.push(d);
            }
        }
    }
    if diags.len() > before || diags.iter().any(Diagnostic::is_error) {
        return None;
    }
    Some(doc)
}

/// Every place a document holds a condition: the key of each item of a section. (A step's jumps, `next`, hold
/// theirs under `if`.)
const CONDITIONS: [(&str, &[&str]); 5] = [
    ("fields", &["required", "visible_if", "enabled_if"]),
    ("steps", &["visible_if"]),
    ("rules", &["when"]),
    ("knockouts", &["when"]),
    ("stages", &["when"]),
];

/// A condition written as JSON `null` is an error wherever it is: read as "no condition" it would make a rule
/// fire for every lead, and as JsonLogic's falsy null it would make a knockout never hold; neither is what a
/// null that an export left behind means.
fn null_conditions(map: &serde_json::Map<String, Json>, diags: &mut Vec<Diagnostic>) {
    let mut null = |pointer: String, key: &str, required: bool| {
        let hint = if required { "write the condition" } else { "leave it out for none, or write `false`" };
        diags.push(Diagnostic::error(
            Code::Type,
            pointer,
            format!("`{key}` is null, which is not a condition: {hint}"),
        ));
    };
    for (section, keys) in CONDITIONS {
        let Some(Json::Array(items)) = map.get(section) else { continue };
        for (i, item) in items.iter().enumerate() {
            for &key in keys {
                if item.get(key).is_some_and(Json::is_null) {
                    null(format!("/{section}/{i}/{key}"), key, section == "knockouts");
                }
            }
            if section != "steps" {
                continue;
            }
            let Some(Json::Array(jumps)) = item.get("next") else { continue };
            for (j, jump) in jumps.iter().enumerate() {
                if jump.get("if").is_some_and(Json::is_null) {
                    null(format!("/steps/{i}/next/{j}/if"), "if", false);
                }
            }
        }
    }
}

/// The closest candidate by edit distance, if close enough to be a likely typo.
pub(crate) fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(word, c);
        if d <= (word.len().max(c.len()) / 3).max(1) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|b| b.1)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------------------------------------
// Compiling.

/// What a name in the shared namespace is.
#[derive(Debug, Clone, Copy)]
enum Sym {
    Field(u32),
    List(u32),
    Event(u32),
    Group(u32),
}

/// Static type of an expression.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Num,
    Str,
    Bool,
    /// A multi field's answer.
    Set(u32),
    StrList,
    NumList,
    /// Already reported.
    Err,
}

impl Ty {
    /// The type as signatures name it; `None` for an invalid value (already reported).
    fn as_type(self) -> Option<Type> {
        match self {
            Ty::Num => Some(Type::Num),
            Ty::Str => Some(Type::Str),
            Ty::Bool => Some(Type::Bool),
            Ty::Set(_) => Some(Type::Multi),
            Ty::StrList => Some(Type::StrList),
            Ty::NumList => Some(Type::NumList),
            Ty::Err => None,
        }
    }

    /// What a function returns. (A function never returns a multiple choice: that is a field's answer.)
    fn of(t: Type) -> Ty {
        match t {
            Type::Num => Ty::Num,
            Type::Str => Ty::Str,
            Type::Bool => Ty::Bool,
            Type::Multi => Ty::Err,
            Type::StrList => Ty::StrList,
            Type::NumList => Ty::NumList,
        }
    }

    fn name(self) -> &'static str {
        self.as_type().map_or("an invalid value", Type::name)
    }
}

/// Where an expression stands, which decides what it may refer to.
#[derive(Clone)]
pub(crate) struct Scope {
    pub pointer: String,
    /// Scores (`score`, groups) may be read.
    pub scores: bool,
    /// Only fields whose form position is below this may be read.
    pub before: Option<usize>,
    /// What the limit is about, for messages.
    pub before_what: &'static str,
}

pub(crate) struct Compiler<'d> {
    pub(crate) p: Program,
    pub(crate) diags: &'d mut Vec<Diagnostic>,
    syms: HashMap<String, Sym>,
    /// Form position of each field.
    pub(crate) position: Vec<usize>,
    /// Fields read by the expression being compiled.
    pub(crate) reads: Vec<u32>,
    /// Events read by the expression being compiled.
    pub(crate) event_reads: Vec<u32>,
    strings: HashMap<Box<str>, u32>,
}

use crate::valid::{action_problem, is_id, is_ident, is_option_value, is_reserved, placeholders, HISTORY_COLUMNS};

impl<'d> Compiler<'d> {
    fn new(doc: &Document, diags: &'d mut Vec<Diagnostic>) -> Self {
        Compiler {
            p: Program {
                id: doc.id.clone(),
                title: doc.title.clone(),
                locale: doc.locale.clone(),
                fields: vec![],
                steps: vec![],
                lists: vec![],
                events: vec![],
                groups: vec![],
                rules: vec![],
                knockouts: vec![],
                stages: vec![],
                grade: None,
                endings: doc.endings.clone().unwrap_or_default(),
                nodes: vec![],
                args: vec![],
                strings: vec![],
                order: vec![],
                hash: String::new(),
            },
            diags,
            syms: HashMap::new(),
            position: vec![],
            reads: vec![],
            event_reads: vec![],
            strings: HashMap::new(),
        }
    }

    pub(crate) fn err(&mut self, code: Code, pointer: impl Into<String>, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, pointer, msg));
    }

    fn declare(&mut self, name: &str, sym: Sym, pointer: &str, first: &mut HashMap<String, String>) {
        if !is_ident(name) {
            self.err(
                Code::Value,
                pointer,
                format!("`{name}` cannot be used as a name: use letters, digits and `_`, starting with a letter"),
            );
            return;
        }
        if is_reserved(name) {
            self.err(Code::Value, pointer, format!("`{name}` is a reserved word and cannot be used as a name"));
            return;
        }
        // A history of past leads (the backtest's input, the receiver's export) has a column for each field and
        // event beside these.
        if matches!(sym, Sym::Field(_) | Sym::Event(_)) && HISTORY_COLUMNS.contains(&name) {
            self.err(
                Code::Value,
                pointer,
                format!("`{name}` cannot name a field or an event: a history of past leads has a column `{name}` of its own"),
            );
            return;
        }
        if let Some(prev) = first.get(name) {
            let d = Diagnostic::error(Code::Duplicate, pointer, format!("the name `{name}` is already used"))
                .with_note(format!("first defined at {prev}"));
            self.diags.push(d);
            return;
        }
        first.insert(name.to_string(), pointer.to_string());
        self.syms.insert(name.to_string(), sym);
    }

    fn limit(&mut self, n: usize, max: usize, pointer: &str, what: &str) -> bool {
        if n > max {
            self.err(Code::Limit, pointer, format!("{n} {what}; the limit is {max}"));
            return false;
        }
        true
    }

    fn run(mut self, doc: &Document) -> Option<Program> {
        let mut first = HashMap::new();
        self.limit(doc.fields.len(), MAX_FIELDS, "/fields", "fields");
        self.limit(doc.steps.len(), MAX_STEPS, "/steps", "steps");
        self.limit(doc.rules.len(), MAX_RULES, "/rules", "rules");
        self.limit(doc.knockouts.len(), MAX_KNOCKOUTS, "/knockouts", "knockouts");
        self.limit(doc.stages.len(), MAX_STAGES, "/stages", "stages");

        // Names: fields, lists, events, groups share one namespace.
        for (i, f) in doc.fields.iter().enumerate() {
            self.declare(&f.id, Sym::Field(i as u32), &format!("/fields/{i}/id"), &mut first);
        }
        for (name, items) in &doc.lists {
            let idx = self.p.lists.len() as u32;
            let pointer = format!("/lists/{}", escape_pointer(name));
            self.declare(name, Sym::List(idx), &pointer, &mut first);
            let items = self.list_items(items, &pointer);
            self.p.lists.push(List { name: name.clone(), items });
        }
        for (i, e) in doc.events.iter().enumerate() {
            self.declare(&e.id, Sym::Event(i as u32), &format!("/events/{i}/id"), &mut first);
            self.p.events.push((e.id.clone(), e.label.clone()));
        }
        let groups = doc.groups.clone().unwrap_or_else(|| {
            vec![
                model::Group { id: "fit".into(), label: None, min: None, max: None },
                model::Group { id: "engagement".into(), label: None, min: None, max: None },
            ]
        });
        for (i, g) in groups.iter().enumerate() {
            let pointer = format!("/groups/{i}");
            self.declare(&g.id, Sym::Group(i as u32), &format!("{pointer}/id"), &mut first);
            if let (Some(lo), Some(hi)) = (g.min, g.max) {
                if lo > hi {
                    self.err(Code::Value, format!("{pointer}/min"), format!("min ({lo}) is above max ({hi})"));
                }
            }
            self.p.groups.push(GroupDef { id: g.id.clone(), label: g.label.clone(), min: g.min, max: g.max });
        }

        self.fields_and_steps(doc);

        // Rules.
        let mut rule_ids = HashMap::new();
        for (i, r) in doc.rules.iter().enumerate() {
            let pointer = format!("/rules/{i}");
            self.unique_id(&r.id, &format!("{pointer}/id"), &mut rule_ids, "rule");
            let group = match self.syms.get(&r.group) {
                Some(Sym::Group(g)) => *g,
                _ => {
                    let known: Vec<_> = self.p.groups.iter().map(|g| g.id.clone()).collect();
                    self.err(
                        Code::UnknownName,
                        format!("{pointer}/group"),
                        format!("`{}` is not a group; the groups are: {}", r.group, known.join(", ")),
                    );
                    0
                }
            };
            let scope = Scope { pointer: String::new(), scores: false, before: None, before_what: "" };
            self.reads.clear();
            self.event_reads.clear();
            let when =
                r.when.as_ref().map(|w| self.cond(w, &Scope { pointer: format!("{pointer}/when"), ..scope.clone() }));
            let points = self.number(&r.points, &Scope { pointer: format!("{pointer}/points"), ..scope.clone() });
            let per = r.per.as_ref().and_then(|e| match self.syms.get(e) {
                Some(Sym::Event(ev)) => Some(*ev),
                _ => {
                    self.err(Code::UnknownName, format!("{pointer}/per"), format!("`{e}` is not an event"));
                    None
                }
            });
            if r.per.is_none() {
                for (key, present) in [
                    ("decay", r.decay.is_some()),
                    ("max_times", r.max_times.is_some()),
                    ("within_days", r.within_days.is_some()),
                ] {
                    if present {
                        self.err(
                            Code::Value,
                            format!("{pointer}/{key}"),
                            format!("`{key}` needs `per`: the event whose occurrences are counted"),
                        );
                    }
                }
            }
            let half_life = r.decay.as_ref().map(|d| d.half_life_days);
            if let Some(h) = half_life {
                if !(h > 0.0 && h.is_finite()) {
                    self.err(
                        Code::Value,
                        format!("{pointer}/decay/half_life_days"),
                        "the half-life must be a positive number of days",
                    );
                }
            }
            if let Some(w) = r.within_days {
                if !(w >= 0.0 && w.is_finite()) {
                    self.err(
                        Code::Value,
                        format!("{pointer}/within_days"),
                        "`within_days` must be zero or a positive number",
                    );
                }
            }
            let mut fields = std::mem::take(&mut self.reads);
            fields.sort_unstable();
            fields.dedup();
            let mut events = std::mem::take(&mut self.event_reads);
            events.extend(per);
            events.sort_unstable();
            events.dedup();
            self.p.rules.push(RuleDef {
                id: r.id.clone(),
                label: r.label.clone(),
                group,
                when,
                points,
                per,
                max_times: r.max_times,
                within_days: r.within_days,
                half_life_days: half_life,
                fields,
                events,
            });
        }

        // Knockouts.
        let mut ko_ids = HashMap::new();
        for (i, k) in doc.knockouts.iter().enumerate() {
            let pointer = format!("/knockouts/{i}");
            self.unique_id(&k.id, &format!("{pointer}/id"), &mut ko_ids, "knockout");
            if !is_id(&k.reason) {
                self.err(
                    Code::Value,
                    format!("{pointer}/reason"),
                    "a reason code uses letters, digits, `_`, `-` and `.`",
                );
            }
            self.reads.clear();
            let when = self.cond(
                &k.when,
                &Scope { pointer: format!("{pointer}/when"), scores: false, before: None, before_what: "" },
            );
            let mut fields = std::mem::take(&mut self.reads);
            fields.sort_unstable();
            fields.dedup();
            self.p.knockouts.push(KnockoutDef {
                id: k.id.clone(),
                when,
                reason: k.reason.clone(),
                message: k.message.clone(),
                fields,
            });
        }

        // Stages.
        let mut stage_ids = HashMap::new();
        if doc.stages.is_empty() {
            self.err(Code::Value, "/stages", "at least one stage is needed: the default, without `when`");
        }
        for (i, s) in doc.stages.iter().enumerate() {
            let pointer = format!("/stages/{i}");
            self.unique_id(&s.id, &format!("{pointer}/id"), &mut stage_ids, "stage");
            let last = i + 1 == doc.stages.len();
            if s.id == "disqualified" {
                self.err(
                    Code::Value,
                    format!("{pointer}/id"),
                    "`disqualified` is the outcome of knockouts, not a stage",
                );
            }
            match (&s.when, last) {
                (Some(_), true) => self.err(
                    Code::Value,
                    format!("{pointer}/when"),
                    "the last stage is the default and has no `when`: add a stage without a condition at the end",
                ),
                (None, false) => self.err(
                    Code::Value,
                    pointer.clone(),
                    "only the last stage may lack `when`: the stages after this one could never be reached",
                ),
                _ => {}
            }
            self.reads.clear();
            let when = s.when.as_ref().map(|w| {
                self.cond(w, &Scope { pointer: format!("{pointer}/when"), scores: true, before: None, before_what: "" })
            });
            let mut fields = std::mem::take(&mut self.reads);
            fields.sort_unstable();
            fields.dedup();
            self.p.stages.push(StageDef { id: s.id.clone(), label: s.label.clone(), when, fields });
        }

        self.grade(doc);
        self.endings(doc, &stage_ids);

        if self.diags.iter().any(Diagnostic::is_error) {
            return None;
        }
        self.p.hash = self.p.content_hash();
        let program = self.p;
        crate::analyze::warnings(&program, self.diags);
        Some(program)
    }

    fn unique_id(&mut self, id: &str, pointer: &str, seen: &mut HashMap<String, String>, what: &str) {
        if !is_id(id) {
            self.err(
                Code::Value,
                pointer,
                format!("a {what} id uses letters, digits, `_`, `-` and `.` (1 to 100 of them)"),
            );
        }
        if let Some(prev) = seen.get(id) {
            let d = Diagnostic::error(Code::Duplicate, pointer, format!("two {what}s have the id `{id}`"))
                .with_note(format!("first defined at {prev}"));
            self.diags.push(d);
        } else {
            seen.insert(id.to_string(), pointer.to_string());
        }
    }

    fn list_items(&mut self, items: &[Json], pointer: &str) -> ListItems {
        self.limit(items.len(), MAX_LIST, pointer, "items in this list");
        if items.iter().all(Json::is_string) {
            let mut v: Vec<Box<str>> = items.iter().filter_map(|x| x.as_str()).map(Box::from).collect();
            v.sort();
            v.dedup();
            ListItems::Str(v)
        } else if items.iter().all(Json::is_number) {
            let mut v: Vec<f64> = items.iter().filter_map(Json::as_f64).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            ListItems::Num(v)
        } else {
            let first = kind_of(&items[0]);
            let bad = items.iter().position(|x| kind_of(x) != first || !(x.is_string() || x.is_number())).unwrap_or(0);
            self.err(Code::Type, format!("{pointer}/{bad}"), "a list holds only strings or only numbers");
            ListItems::Str(vec![])
        }
    }

    fn fields_and_steps(&mut self, doc: &Document) {
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
                match self.syms.get(fid) {
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
                        self.diags.push(d);
                    }
                }
            }
            if s.fields.is_empty() {
                self.err(Code::Value, format!("{pointer}/fields"), "a step asks at least one field");
            }
            self.p.steps.push(StepDef {
                id: s.id.clone(),
                title: s.title.clone(),
                fields,
                visible: None,
                next: vec![],
            });
        }
        // Form order: background fields first (the page sets them up front), then step by step.
        let mut order: Vec<u32> = (0..n as u32).filter(|&f| step_of[f as usize].is_none()).collect();
        for s in &self.p.steps {
            order.extend(&s.fields);
        }
        let mut position = vec![0; n];
        for (pos, &f) in order.iter().enumerate() {
            position[f as usize] = pos;
        }
        self.position = position;
        self.p.order = order;

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
                        self.diags.push(
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
            self.p.fields.push(FieldDef {
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
            let before = Some(self.position.get(i).copied().unwrap_or(0));
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
            let def = &mut self.p.fields[i];
            def.required = required;
            def.visible = visible;
            def.enabled = enabled;
        }

        // Step conditions and jumps.
        for (si, s) in doc.steps.iter().enumerate() {
            let pointer = format!("/steps/{si}");
            let first_pos = self.p.steps[si].fields.first().map(|&f| self.position[f as usize]);
            let end_pos = self.p.steps[si].fields.last().map(|&f| self.position[f as usize] + 1);
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
                self.p.steps[si].visible = Some(node);
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
                self.p.steps[si].next.push((cond, target));
            }
        }
        self.jump_cycles();
    }

    /// Finds loops in the step graph: each step goes to its jump targets and, unless a jump without
    /// condition comes first, to the next step.
    fn jump_cycles(&mut self) {
        let n = self.p.steps.len();
        let succ: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                let mut out = vec![];
                let mut falls = true;
                for (c, t) in &self.p.steps[i].next {
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
                                stack[from..].iter().map(|&(s, _)| self.p.steps[s].id.as_str()).collect();
                            path.push(&self.p.steps[w].id);
                            let msg = format!("the steps jump in a loop: {}", path.join(" -> "));
                            let j = self.p.steps[v].next.iter().position(|(_, t)| *t == Some(w as u32));
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

    fn bands(&mut self, bands: &[model::Band], pointer: &str) -> Vec<BandDef> {
        self.limit(bands.len(), MAX_BANDS, pointer, "bands");
        if bands.is_empty() {
            self.err(Code::Value, pointer, "at least one band is needed");
        }
        let mut prev = f64::INFINITY;
        for (i, b) in bands.iter().enumerate() {
            let last = i + 1 == bands.len();
            match (b.min, last) {
                (Some(_), true) => self.err(
                    Code::Value,
                    format!("{pointer}/{i}/min"),
                    "the last band has no `min`: it takes every score below the others",
                ),
                (None, false) => self.err(Code::Value, format!("{pointer}/{i}"), "only the last band may lack `min`"),
                (Some(m), false) => {
                    if m >= prev {
                        self.err(
                            Code::Value,
                            format!("{pointer}/{i}/min"),
                            "bands go from the highest `min` to the lowest",
                        );
                    }
                    prev = m;
                }
                _ => {}
            }
        }
        for (i, b) in bands.iter().enumerate() {
            // The form controller sends an evaluation without a grade as an empty grade (`Claim::grade`).
            if b.label.is_empty() {
                self.err(Code::Value, format!("{pointer}/{i}/label"), "a band's label cannot be empty");
            }
        }
        bands.iter().map(|b| BandDef { label: b.label.clone(), min: b.min }).collect()
    }

    fn group_ref(&mut self, id: &str, pointer: &str) -> u32 {
        match self.syms.get(id) {
            Some(Sym::Group(g)) => *g,
            _ => {
                self.err(Code::UnknownName, pointer, format!("`{id}` is not a group"));
                0
            }
        }
    }

    fn grade(&mut self, doc: &Document) {
        let Some(g) = &doc.grade else { return };
        let group = self.group_ref(&g.group, "/grade/group");
        let bands = self.bands(&g.bands, "/grade/bands");
        let matrix = g.matrix.as_ref().map(|m| {
            let mg = self.group_ref(&m.group, "/grade/matrix/group");
            (mg, self.bands(&m.bands, "/grade/matrix/bands"))
        });
        self.p.grade = Some(GradeDef { group, bands, matrix });
    }

    fn endings(&mut self, doc: &Document, stage_ids: &HashMap<String, String>) {
        let Some(e) = &doc.endings else { return };
        let reasons: Vec<&str> = doc.knockouts.iter().map(|k| k.reason.as_str()).collect();
        for (stage, ending) in &e.stages {
            let p = format!("/endings/stages/{}", escape_pointer(stage));
            if !stage_ids.contains_key(stage) {
                self.err(Code::UnknownName, p.clone(), format!("`{stage}` is not a stage"));
            }
            self.ending(ending, &p);
        }
        for (reason, ending) in &e.knockouts {
            let p = format!("/endings/knockouts/{}", escape_pointer(reason));
            if !reasons.contains(&reason.as_str()) {
                self.err(Code::UnknownName, p.clone(), format!("no knockout has the reason `{reason}`"));
            }
            self.ending(ending, &p);
        }
        if let Some(d) = &e.default {
            self.ending(d, "/endings/default");
        }
    }

    fn ending(&mut self, e: &model::Ending, pointer: &str) {
        let Some(a) = &e.action else { return };
        let url = a.url.escape_debug();
        let pointer = format!("{pointer}/action/url");
        // A placeholder that names no field is named; any other problem is the link's.
        let is_field = |n: &str| matches!(self.syms.get(n), Some(Sym::Field(_)));
        let unknown: Vec<String> =
            placeholders(&a.url).unwrap_or_default().into_iter().filter(|n| !is_field(n)).map(String::from).collect();
        if !unknown.is_empty() {
            for n in unknown {
                self.err(Code::UnknownName, pointer.clone(), format!("`{{{n}}}` in `{url}` names no field: a placeholder is filled with the answer to the field it names"));
            }
        } else if let Some(problem) = action_problem(&a.url, is_field) {
            self.err(
                Code::Value,
                pointer,
                format!(
                    "`{url}` is not an allowed link: {problem}. Use an https:, http: or mailto: URL, or a path on \
                     the page's own site; placeholders such as `{{email}}` in its path, query or fragment"
                ),
            );
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // Expressions.

    pub(crate) fn push(&mut self, n: Node) -> NodeId {
        self.p.nodes.push(n);
        (self.p.nodes.len() - 1) as NodeId
    }

    pub(crate) fn push_args(&mut self, args: &[NodeId]) -> (u32, u32) {
        let start = self.p.args.len() as u32;
        self.p.args.extend_from_slice(args);
        (start, args.len() as u32)
    }

    pub(crate) fn string(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.p.strings.len() as u32;
        self.p.strings.push(Box::from(s));
        self.strings.insert(Box::from(s), i);
        i
    }

    /// Compiles a condition (expects a boolean).
    pub(crate) fn cond(&mut self, e: &model::Expr, scope: &Scope) -> NodeId {
        self.typed(e, scope, Ty::Bool)
    }

    /// Compiles a number expression.
    pub(crate) fn number(&mut self, e: &model::Expr, scope: &Scope) -> NodeId {
        self.typed(e, scope, Ty::Num)
    }

    fn typed(&mut self, e: &model::Expr, scope: &Scope, want: Ty) -> NodeId {
        match &e.0 {
            Json::String(src) => {
                let (ast, errors) = expr::parse(src);
                if !errors.is_empty() {
                    for err in errors {
                        let d = Diagnostic::error(Code::ExprSyntax, scope.pointer.clone(), err.message)
                            .with_expr_span(err.span.0, err.span.1);
                        self.diags.push(d);
                    }
                    return self.push(Node::Bool(false));
                }
                let (node, ty) = self.lower(&ast, scope, 0);
                if ty != want && ty != Ty::Err {
                    let d = Diagnostic::error(
                        Code::Type,
                        scope.pointer.clone(),
                        format!("expected {}, but this expression is {}", want.name(), ty.name()),
                    )
                    .with_expr_span(ast.span.0, ast.span.1);
                    self.diags.push(d);
                }
                node
            }
            Json::Bool(b) if want == Ty::Bool => self.push(Node::Bool(*b)),
            Json::Number(n) if want == Ty::Num => {
                let v = n.as_f64().unwrap_or(0.0);
                self.push(Node::Num(v))
            }
            other => crate::jsonlogic::compile(self, other, scope, want == Ty::Bool),
        }
    }

    fn type_error(&mut self, scope: &Scope, span: expr::Span, msg: String) -> (NodeId, Ty) {
        self.diags.push(Diagnostic::error(Code::Type, scope.pointer.clone(), msg).with_expr_span(span.0, span.1));
        (self.push(Node::Bool(false)), Ty::Err)
    }

    fn expect(&mut self, e: &expr::Expr, scope: &Scope, depth: usize, want: Ty, what: &str) -> NodeId {
        let (n, ty) = self.lower(e, scope, depth);
        if ty != want && ty != Ty::Err {
            self.diags.push(
                Diagnostic::error(
                    Code::Type,
                    scope.pointer.clone(),
                    format!("{what} must be {}, found {}", want.name(), ty.name()),
                )
                .with_expr_span(e.span.0, e.span.1),
            );
        }
        n
    }

    pub(crate) fn field_ref(&mut self, f: u32, scope: &Scope, span: expr::Span) -> bool {
        if let Some(limit) = scope.before {
            if self.position[f as usize] >= limit {
                let id = self.p.fields.get(f as usize).map_or_else(|| format!("#{f}"), |d| d.id.clone());
                self.diags.push(
                    Diagnostic::error(
                        Code::Reference,
                        scope.pointer.clone(),
                        format!(
                            "`{id}` is asked after {}: a condition here may only use answers given before it",
                            scope.before_what
                        ),
                    )
                    .with_expr_span(span.0, span.1),
                );
                return false;
            }
        }
        self.reads.push(f);
        true
    }

    pub(crate) fn field_kind(&self, f: u32) -> FieldType {
        // Fields are compiled in order; a field's own conditions only see earlier ones, which exist.
        self.p.fields.get(f as usize).map_or(FieldType::String, |d| d.kind)
    }

    pub(crate) fn lookup_field(&self, name: &str) -> Option<u32> {
        match self.syms.get(name) {
            Some(Sym::Field(f)) => Some(*f),
            _ => None,
        }
    }

    fn unknown_name(&mut self, name: &str, scope: &Scope, span: expr::Span, what: &str) -> (NodeId, Ty) {
        let mut d = Diagnostic::error(Code::UnknownName, scope.pointer.clone(), format!("`{name}` is not {what}"))
            .with_expr_span(span.0, span.1);
        let mut names: Vec<&str> = self.syms.keys().map(String::as_str).collect();
        names.sort_unstable();
        if let Some(s) = closest(name, names.into_iter()) {
            d = d.with_note(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
        (self.push(Node::Bool(false)), Ty::Err)
    }

    fn lower(&mut self, e: &expr::Expr, scope: &Scope, depth: usize) -> (NodeId, Ty) {
        if depth > expr::MAX_DEPTH {
            self.diags.push(
                Diagnostic::error(
                    Code::Limit,
                    scope.pointer.clone(),
                    format!("the expression nests more than {} levels deep", expr::MAX_DEPTH),
                )
                .with_expr_span(e.span.0, e.span.1),
            );
            return (self.push(Node::Bool(false)), Ty::Err);
        }
        let d = depth + 1;
        match &e.kind {
            Kind::Num(n) => (self.push(Node::Num(*n)), Ty::Num),
            Kind::Str(s) => {
                let i = self.string(s);
                (self.push(Node::Str(i)), Ty::Str)
            }
            Kind::Bool(b) => (self.push(Node::Bool(*b)), Ty::Bool),
            Kind::Error => (self.push(Node::Bool(false)), Ty::Err),
            Kind::List(_) => {
                let l = self.list_literal(e, scope);
                match l {
                    Some((l, ty)) => (self.push(Node::List(l)), ty),
                    None => (self.push(Node::Bool(false)), Ty::Err),
                }
            }
            Kind::Name(name) => match self.syms.get(name.as_str()).copied() {
                Some(Sym::Field(f)) => {
                    if !self.field_ref(f, scope, e.span) {
                        return (self.push(Node::Bool(false)), Ty::Err);
                    }
                    let ty = match self.field_kind(f) {
                        FieldType::Number | FieldType::Integer => Ty::Num,
                        FieldType::Boolean => Ty::Bool,
                        FieldType::Multi => Ty::Set(f),
                        _ => Ty::Str,
                    };
                    (self.push(Node::Field(f)), ty)
                }
                Some(Sym::List(l)) => {
                    let ty = match self.p.lists[l as usize].items {
                        ListItems::Num(_) => Ty::NumList,
                        _ => Ty::StrList,
                    };
                    (self.push(Node::List(l)), ty)
                }
                Some(Sym::Group(g)) => self.score_ref(Node::Group(g), scope, e.span),
                Some(Sym::Event(_)) => self.type_error(
                    scope,
                    e.span,
                    format!("`{name}` is an event, not a value: use count({name}) or days_since({name})"),
                ),
                None if name == "score" => self.score_ref(Node::Score, scope, e.span),
                None => self.unknown_name(name, scope, e.span, "a field, list or group"),
            },
            Kind::Not(a) => {
                let a = self.expect(a, scope, d, Ty::Bool, "the operand of `not`");
                (self.push(Node::Not(a)), Ty::Bool)
            }
            Kind::Neg(a) => {
                let a = self.expect(a, scope, d, Ty::Num, "the operand of `-`");
                (self.push(Node::Neg(a)), Ty::Num)
            }
            Kind::Binary(op, a, b) => self.binary(*op, a, b, e, scope, d),
            Kind::In(x, l, negated) => {
                let n = self.membership(x, l, scope, d);
                if *negated {
                    (self.push(Node::Not(n.0)), n.1)
                } else {
                    n
                }
            }
            Kind::Between(x, lo, hi) => {
                let x = self.expect(x, scope, d, Ty::Num, "the value tested by `between`");
                let lo = self.expect(lo, scope, d, Ty::Num, "the lower bound of `between`");
                let hi = self.expect(hi, scope, d, Ty::Num, "the upper bound of `between`");
                (self.push(Node::Between(x, lo, hi)), Ty::Bool)
            }
            Kind::If(c, a, b) => {
                let c = self.expect(c, scope, d, Ty::Bool, "the condition of `if`");
                let (an, at) = self.lower(a, scope, d);
                let (bn, bt) = self.lower(b, scope, d);
                let ty = if at == Ty::Err || bt == Ty::Err {
                    Ty::Err
                } else if at != bt {
                    return self.type_error(
                        scope,
                        e.span,
                        format!("the branches of `if` differ: `then` is {}, `else` is {}", at.name(), bt.name()),
                    );
                } else {
                    at
                };
                (self.push(Node::If(c, an, bn)), ty)
            }
            Kind::Call(name, name_span, args) => self.call(name, *name_span, args, e, scope, d),
        }
    }

    fn score_ref(&mut self, node: Node, scope: &Scope, span: expr::Span) -> (NodeId, Ty) {
        if !scope.scores {
            self.diags.push(
                Diagnostic::error(
                    Code::Reference,
                    scope.pointer.clone(),
                    "scores can only be read in stage conditions: rules, knockouts and the form are evaluated before scores exist",
                )
                .with_expr_span(span.0, span.1),
            );
            return (self.push(Node::Bool(false)), Ty::Err);
        }
        (self.push(node), Ty::Num)
    }

    fn list_literal(&mut self, e: &expr::Expr, scope: &Scope) -> Option<(u32, Ty)> {
        let Kind::List(items) = &e.kind else { return None };
        let mut strs = vec![];
        let mut nums = vec![];
        for it in items {
            match &it.kind {
                Kind::Str(s) => strs.push(Box::<str>::from(s.as_str())),
                Kind::Num(n) => nums.push(*n),
                _ => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::Type,
                            scope.pointer.clone(),
                            "a list literal holds only constant strings or numbers",
                        )
                        .with_expr_span(it.span.0, it.span.1),
                    );
                    return None;
                }
            }
        }
        if !strs.is_empty() && !nums.is_empty() {
            self.diags.push(
                Diagnostic::error(Code::Type, scope.pointer.clone(), "a list holds only strings or only numbers")
                    .with_expr_span(e.span.0, e.span.1),
            );
            return None;
        }
        let (items, ty) = if nums.is_empty() {
            strs.sort();
            strs.dedup();
            (ListItems::Str(strs), Ty::StrList)
        } else {
            nums.sort_by(f64::total_cmp);
            nums.dedup();
            (ListItems::Num(nums), Ty::NumList)
        };
        self.p.lists.push(List { name: String::new(), items });
        Some(((self.p.lists.len() - 1) as u32, ty))
    }

    /// Checks string literals compared with a choice field against its options.
    fn check_options(&mut self, field: Option<u32>, values: &[(&str, expr::Span)], scope: &Scope) {
        let Some(f) = field else { return };
        let Some(def) = self.p.fields.get(f as usize) else { return };
        if !matches!(def.kind, FieldType::Choice | FieldType::Multi) {
            return;
        }
        let mut bad = vec![];
        for (v, span) in values {
            if def.option_index(v).is_none() {
                let opts: Vec<&str> = def.options.iter().map(|o| o.value()).collect();
                let mut d = Diagnostic::error(
                    Code::Type,
                    scope.pointer.clone(),
                    format!("\"{v}\" is not an option of `{}`", def.id),
                )
                .with_expr_span(span.0, span.1);
                d = match closest(v, opts.iter().copied()) {
                    Some(s) => d.with_note(format!("did you mean \"{s}\"?")),
                    None => d.with_note(format!("the options are: {}", opts.join(", "))),
                };
                bad.push(d);
            }
        }
        self.diags.extend(bad);
    }

    fn field_of(e: &expr::Expr, c: &Compiler) -> Option<u32> {
        match &e.kind {
            Kind::Name(n) => c.lookup_field(n),
            _ => None,
        }
    }

    fn binary(
        &mut self,
        op: BinOp,
        a: &expr::Expr,
        b: &expr::Expr,
        e: &expr::Expr,
        scope: &Scope,
        d: usize,
    ) -> (NodeId, Ty) {
        match op {
            BinOp::And | BinOp::Or => {
                let what = if op == BinOp::And { "an operand of `and`" } else { "an operand of `or`" };
                let an = self.expect(a, scope, d, Ty::Bool, what);
                let bn = self.expect(b, scope, d, Ty::Bool, what);
                let n = if op == BinOp::And { Node::And(an, bn) } else { Node::Or(an, bn) };
                (self.push(n), Ty::Bool)
            }
            BinOp::Arith(ar) => {
                let (an, at) = self.lower(a, scope, d);
                let (bn, bt) = self.lower(b, scope, d);
                if at == Ty::Err || bt == Ty::Err {
                    return (self.push(Node::Bool(false)), Ty::Err);
                }
                if at != Ty::Num || bt != Ty::Num {
                    let hint = if ar == Arith::Add && (at == Ty::Str || bt == Ty::Str) {
                        " (strings are not added; there is no conversion)"
                    } else {
                        ""
                    };
                    return self.type_error(
                        scope,
                        e.span,
                        format!("`{}` works on numbers, not on {} and {}{hint}", op.as_str(), at.name(), bt.name()),
                    );
                }
                (self.push(Node::Arith(ar, an, bn)), Ty::Num)
            }
            BinOp::Cmp(cmp) => {
                let (an, at) = self.lower(a, scope, d);
                let (bn, bt) = self.lower(b, scope, d);
                if at == Ty::Err || bt == Ty::Err {
                    return (self.push(Node::Bool(false)), Ty::Err);
                }
                let ordered = cmp.ordered();
                if ordered && (at != Ty::Num || bt != Ty::Num) {
                    return self.type_error(
                        scope,
                        e.span,
                        format!("`{}` compares numbers, not {} and {}", op.as_str(), at.name(), bt.name()),
                    );
                }
                if !ordered && (at != bt || !matches!(at, Ty::Num | Ty::Str | Ty::Bool)) {
                    return self.type_error(
                        scope,
                        e.span,
                        format!(
                            "`{}` compares two values of one type, not {} and {}",
                            op.as_str(),
                            at.name(),
                            bt.name()
                        ),
                    );
                }
                if at == Ty::Str {
                    if let Kind::Str(s) = &b.kind {
                        let f = Self::field_of(a, self);
                        self.check_options(f, &[(s, b.span)], scope);
                    }
                    if let Kind::Str(s) = &a.kind {
                        let f = Self::field_of(b, self);
                        self.check_options(f, &[(s, a.span)], scope);
                    }
                }
                (self.push(Node::Cmp(cmp, an, bn)), Ty::Bool)
            }
        }
    }

    fn membership(&mut self, x: &expr::Expr, l: &expr::Expr, scope: &Scope, d: usize) -> (NodeId, Ty) {
        let (xn, xt) = self.lower(x, scope, d);
        let (ln, lt) = self.lower(l, scope, d);
        if xt == Ty::Err || lt == Ty::Err {
            return (self.push(Node::Bool(false)), Ty::Err);
        }
        let span = (x.span.0, l.span.1);
        match (xt, lt) {
            (Ty::Str, Ty::StrList) | (Ty::Num, Ty::NumList) => {
                if let (Kind::List(items), Some(f)) = (&l.kind, Self::field_of(x, self)) {
                    let vals: Vec<(&str, expr::Span)> = items
                        .iter()
                        .filter_map(|i| if let Kind::Str(s) = &i.kind { Some((s.as_str(), i.span)) } else { None })
                        .collect();
                    self.check_options(Some(f), &vals, scope);
                }
                let Node::List(li) = self.p.nodes[ln as usize] else {
                    return self.type_error(
                        scope,
                        span,
                        "`in` needs a list name or a list literal on its right".into(),
                    );
                };
                (self.push(Node::In(xn, li)), Ty::Bool)
            }
            (Ty::Str, Ty::Set(f)) => {
                if let Kind::Str(s) = &x.kind {
                    self.check_options(Some(f), &[(s, x.span)], scope);
                }
                let (s, n) = self.push_args(&[ln, xn]);
                (self.push(Node::Call(Func::Has, s, n)), Ty::Bool)
            }
            (Ty::Set(_), Ty::StrList) => self.type_error(
                scope,
                span,
                "a multiple choice is not `in` a list: use any_in(field, list) for \"any of them\"".into(),
            ),
            _ => self.type_error(
                scope,
                span,
                format!("`in` tests {} against {}: the types do not match", xt.name(), lt.name()),
            ),
        }
    }

    fn call(
        &mut self,
        name: &str,
        name_span: expr::Span,
        args: &[expr::Expr],
        e: &expr::Expr,
        scope: &Scope,
        d: usize,
    ) -> (NodeId, Ty) {
        let arity = |c: &mut Self, lo: usize, hi: usize| -> bool {
            if args.len() < lo || args.len() > hi {
                let want = if lo == hi {
                    format!("{lo}")
                } else if hi == usize::MAX {
                    format!("at least {lo}")
                } else {
                    format!("{lo} or {hi}")
                };
                c.diags.push(
                    Diagnostic::error(
                        Code::Type,
                        scope.pointer.clone(),
                        format!("`{name}` takes {want} argument(s), found {}", args.len()),
                    )
                    .with_expr_span(e.span.0, e.span.1),
                );
                return false;
            }
            true
        };
        let fail = |c: &mut Self| (c.push(Node::Bool(false)), Ty::Err);
        match name {
            "answered" => {
                if !arity(self, 1, 1) {
                    return fail(self);
                }
                match &args[0].kind {
                    Kind::Name(n) => match self.lookup_field(n) {
                        Some(f) => {
                            if !self.field_ref(f, scope, args[0].span) {
                                return fail(self);
                            }
                            (self.push(Node::Answered(f)), Ty::Bool)
                        }
                        None => self.unknown_name(n, scope, args[0].span, "a field"),
                    },
                    _ => self.type_error(scope, args[0].span, "`answered` takes a field name".into()),
                }
            }
            "count" | "days_since" => {
                let (lo, hi) = if name == "count" { (1, 2) } else { (1, 1) };
                if !arity(self, lo, hi) {
                    return fail(self);
                }
                let ev = match &args[0].kind {
                    Kind::Name(n) => match self.syms.get(n.as_str()) {
                        Some(Sym::Event(ev)) => *ev,
                        _ => return self.unknown_name(n, scope, args[0].span, "an event"),
                    },
                    _ => return self.type_error(scope, args[0].span, format!("`{name}` takes an event name")),
                };
                self.event_reads.push(ev);
                if name == "days_since" {
                    return (self.push(Node::DaysSince(ev)), Ty::Num);
                }
                let days = args.get(1).map(|a| self.expect(a, scope, d, Ty::Num, "the number of days"));
                (self.push(Node::Count(ev, days)), Ty::Num)
            }
            _ => {
                let Some(func) = Func::named(name) else {
                    // Each name once (`contains` has two entries).
                    let named = Func::ALL.iter().filter(|f| Func::named(f.name()) == Some(**f)).map(|f| f.name());
                    let all = named.chain(["answered", "count", "days_since"]);
                    let mut diag = Diagnostic::error(
                        Code::UnknownName,
                        scope.pointer.clone(),
                        format!("`{name}` is not a function"),
                    )
                    .with_expr_span(name_span.0, name_span.1);
                    diag = match closest(name, all.clone()) {
                        Some(s) => diag.with_note(format!("did you mean `{s}`?")),
                        None => diag.with_note(format!("the functions are: {}", all.collect::<Vec<_>>().join(", "))),
                    };
                    self.diags.push(diag);
                    return fail(self);
                };
                let def = func.def();
                let (lo, hi) = def.arity();
                if !arity(self, lo, hi) {
                    return fail(self);
                }
                let lowered: Vec<(NodeId, Ty)> = args.iter().map(|a| self.lower(a, scope, d)).collect();
                let Some(types) = lowered.iter().map(|(_, t)| t.as_type()).collect::<Option<Vec<Type>>>() else {
                    return fail(self);
                };
                let Some(sig) = def.sigs.iter().find(|s| s.fits(&types)) else {
                    let got: Vec<&str> = lowered.iter().map(|(_, t)| t.name()).collect();
                    let takes: Vec<String> = def.sigs.iter().map(Sig::text).collect();
                    return self.type_error(
                        scope,
                        e.span,
                        format!("`{name}` cannot take ({}): it takes {}", got.join(", "), takes.join(" or ")),
                    );
                };
                for (i, ((node, ty), arg)) in lowered.iter().zip(args).enumerate() {
                    match ty {
                        // A list argument is a constant list: its items are known when the program is built.
                        Ty::StrList | Ty::NumList if !matches!(self.p.nodes[*node as usize], Node::List(_)) => {
                            return self.type_error(
                                scope,
                                arg.span,
                                format!("argument {} of `{name}` is a list name or a list literal", i + 1),
                            );
                        }
                        // A string beside a multiple choice is one of its options.
                        Ty::Set(f) => {
                            for other in &args[i + 1..] {
                                if let Kind::Str(s) = &other.kind {
                                    self.check_options(Some(*f), &[(s, other.span)], scope);
                                }
                            }
                        }
                        Ty::Num | Ty::Str | Ty::Bool | Ty::StrList | Ty::NumList | Ty::Err => {}
                    }
                }
                let ids: Vec<NodeId> = lowered.iter().map(|x| x.0).collect();
                let (s, n) = self.push_args(&ids);
                (self.push(Node::Call(sig.runs, s, n)), Ty::of(sig.ret))
            }
        }
    }
}

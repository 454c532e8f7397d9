//! Compilation: rules document -> diagnostics and, when there are no errors, a [`Program`].
//!
//! Every problem is collected; nothing stops at the first. Each diagnostic carries the JSON pointer of the
//! value at fault, and (for expressions) the byte range inside the expression.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

mod build;
mod form;
mod jsonlogic;
mod lower;
mod names;
mod read;
mod scoring;

use build::{Build, Scope};
use names::{closest, Names, Sym};
use read::{kind_of, read_document};

use crate::diagnostic::{escape_pointer, Code, Diagnostic};
use crate::expr::{self, BinOp, Kind};
use crate::model::{self, Document, FieldType};
use crate::program::*;
use crate::valid::{action_problem, is_id, is_option_value, placeholders};

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
// Compiling.

pub(crate) struct Compiler<'d> {
    /// The program as it is built, and the diagnostics met.
    b: Build<'d>,
    /// What names refer to.
    names: Names,
}

impl<'d> Compiler<'d> {
    fn new(doc: &Document, diags: &'d mut Vec<Diagnostic>) -> Self {
        Compiler {
            b: Build::new(
                Program {
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
                    types: vec![],
                },
                diags,
            ),
            names: Names::default(),
        }
    }

    fn err(&mut self, code: Code, pointer: impl Into<String>, msg: impl Into<String>) {
        self.b.err(code, pointer, msg);
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
            let idx = self.b.p.lists.len() as u32;
            let pointer = format!("/lists/{}", escape_pointer(name));
            self.declare(name, Sym::List(idx), &pointer, &mut first);
            let items = self.list_items(items, &pointer);
            self.b.p.lists.push(List { name: name.clone(), items });
        }
        for (i, e) in doc.events.iter().enumerate() {
            self.declare(&e.id, Sym::Event(i as u32), &format!("/events/{i}/id"), &mut first);
            self.b.p.events.push((e.id.clone(), e.label.clone()));
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
            self.b.p.groups.push(GroupDef { id: g.id.clone(), label: g.label.clone(), min: g.min, max: g.max });
        }

        self.fields_and_steps(doc);

        // Rules.
        let mut rule_ids = HashMap::new();
        for (i, r) in doc.rules.iter().enumerate() {
            let pointer = format!("/rules/{i}");
            self.unique_id(&r.id, &format!("{pointer}/id"), &mut rule_ids, "rule");
            let group = match self.names.syms.get(&r.group) {
                Some(Sym::Group(g)) => *g,
                _ => {
                    let known: Vec<_> = self.b.p.groups.iter().map(|g| g.id.clone()).collect();
                    self.err(
                        Code::UnknownName,
                        format!("{pointer}/group"),
                        format!("`{}` is not a group; the groups are: {}", r.group, known.join(", ")),
                    );
                    0
                }
            };
            let scope = Scope { pointer: String::new(), scores: false, before: None, before_what: "" };
            self.b.reads.clear();
            self.b.event_reads.clear();
            let when =
                r.when.as_ref().map(|w| self.cond(w, &Scope { pointer: format!("{pointer}/when"), ..scope.clone() }));
            let points = self.number(&r.points, &Scope { pointer: format!("{pointer}/points"), ..scope.clone() });
            let per = r.per.as_ref().and_then(|e| match self.names.syms.get(e) {
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
            let mut fields = std::mem::take(&mut self.b.reads);
            fields.sort_unstable();
            fields.dedup();
            let mut events = std::mem::take(&mut self.b.event_reads);
            events.extend(per);
            events.sort_unstable();
            events.dedup();
            self.b.p.rules.push(RuleDef {
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
            self.b.reads.clear();
            let when = self.cond(
                &k.when,
                &Scope { pointer: format!("{pointer}/when"), scores: false, before: None, before_what: "" },
            );
            let mut fields = std::mem::take(&mut self.b.reads);
            fields.sort_unstable();
            fields.dedup();
            self.b.p.knockouts.push(KnockoutDef {
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
            self.b.reads.clear();
            let when = s.when.as_ref().map(|w| {
                self.cond(w, &Scope { pointer: format!("{pointer}/when"), scores: true, before: None, before_what: "" })
            });
            let mut fields = std::mem::take(&mut self.b.reads);
            fields.sort_unstable();
            fields.dedup();
            self.b.p.stages.push(StageDef { id: s.id.clone(), label: s.label.clone(), when, fields });
        }

        self.grade(doc);
        self.endings(doc, &stage_ids);

        if self.b.diags.iter().any(Diagnostic::is_error) {
            return None;
        }
        if self.b.untyped {
            // The decoder would refuse the program: a mistake of the compiler's, said as such.
            self.err(Code::Type, "", "internal error: an expression was built with operands of the wrong type");
            return None;
        }
        self.b.p.hash = self.b.p.content_hash();
        let program = self.b.p;
        crate::analyze::warnings(&program, self.b.diags);
        Some(program)
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
}

//! The program's expressions as they are built: the expression compiler and the JsonLogic one push nodes,
//! arguments and strings here, report here, and record here what the expression reads.

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::program::{Node, NodeId, Program, Type};

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

/// The program as it is built, and the diagnostics met.
pub(crate) struct Build<'d> {
    /// The program so far: its lists, fields... as far as compiled; its nodes grow.
    pub p: Program,
    pub diags: &'d mut Vec<Diagnostic>,
    /// Fields read by the expression being compiled.
    pub reads: Vec<u32>,
    /// Events read by the expression being compiled.
    pub event_reads: Vec<u32>,
    /// Each string's index in `p.strings`.
    strings: HashMap<Box<str>, u32>,
    /// A node was built whose operands do not fit it (after an error, or by a mistake of the compiler's own,
    /// which `Compiler::run` reports when nothing else is).
    pub untyped: bool,
}

impl<'d> Build<'d> {
    pub fn new(p: Program, diags: &'d mut Vec<Diagnostic>) -> Self {
        Build { p, diags, reads: vec![], event_reads: vec![], strings: HashMap::new(), untyped: false }
    }

    /// Adds a node, and records its type; its id.
    pub fn push(&mut self, n: Node) -> NodeId {
        // Operands are built before the nodes that take them, so their types are known. A node whose operands do
        // not fit it is built only on an error already reported (its placeholder operand): any type stands.
        let t = self.p.node_type(&n, &self.p.types);
        self.untyped |= t.is_none();
        self.p.types.push(t.unwrap_or(Type::Json));
        self.p.nodes.push(n);
        (self.p.nodes.len() - 1) as NodeId
    }

    /// Adds a call's arguments; where they start, and how many.
    pub fn push_args(&mut self, args: &[NodeId]) -> (u32, u32) {
        let start = self.p.args.len() as u32;
        self.p.args.extend_from_slice(args);
        (start, args.len() as u32)
    }

    /// A string's index, each string kept once.
    pub fn string(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.p.strings.len() as u32;
        self.p.strings.push(Box::from(s));
        self.strings.insert(Box::from(s), i);
        i
    }

    /// Reports an error.
    pub fn err(&mut self, code: Code, pointer: impl Into<String>, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, pointer, msg));
    }
}

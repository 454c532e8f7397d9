//! The condition language: text -> tokens -> syntax tree with spans.
//!
//! `parse` never fails: it returns a tree (possibly with `Error` nodes) and every syntax error it met.
//! Type checking and lowering to program nodes happen in [`crate::compile`].

mod lexer;
mod parser;

pub use parser::{is_keyword, parse};

use crate::builtins::{Arith, Cmp};

/// Byte range inside the expression text.
pub type Span = (usize, usize);

pub use crate::program::MAX_DEPTH;
/// Longest expression accepted, in bytes.
pub const MAX_LEN: usize = 4000;

/// A syntax tree node.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: Kind,
    /// Where it is.
    pub span: Span,
}

/// Binary operators of the expression language: the program's own, and the two logical ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `+`, `-`, `*`, `/`, `%`
    Arith(Arith),
    /// `==` (or `=`), `!=`, `<`, `<=`, `>`, `>=`
    Cmp(Cmp),
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Arith(a) => a.symbol(),
            BinOp::Cmp(c) => c.symbol(),
        }
    }
}

/// Node kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `12.5`
    Num(f64),
    /// `"text"`
    Str(String),
    /// `true`, `false`
    Bool(bool),
    /// `["a", "b"]`
    List(Vec<Expr>),
    /// A field, list, group or event name.
    Name(String),
    /// `not x`
    Not(Box<Expr>),
    /// `-x`
    Neg(Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x in list`, `x not in list` (negated)
    In(Box<Expr>, Box<Expr>, bool),
    /// `x between lo and hi`
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `f(a, b)`: name, name span, arguments.
    Call(String, Span, Vec<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// Stands where a syntax error was found.
    Error,
}

/// A syntax error.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// Where.
    pub span: Span,
    /// What.
    pub message: String,
}

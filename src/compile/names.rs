//! What names refer to: fields, lists, events and groups share one namespace; each field's form position; the
//! closest name to a typo.

use std::collections::HashMap;

use super::Compiler;
use crate::diagnostic::{Code, Diagnostic};
use crate::valid::{is_id, is_ident, is_reserved, HISTORY_COLUMNS};

/// What a name in the shared namespace is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sym {
    Field(u32),
    List(u32),
    Event(u32),
    Group(u32),
}

/// The names declared so far, and each field's form position.
#[derive(Default)]
pub(crate) struct Names {
    pub syms: HashMap<String, Sym>,
    /// Form position of each field.
    pub position: Vec<usize>,
}

impl Names {
    /// The field of this name.
    pub fn lookup_field(&self, name: &str) -> Option<u32> {
        match self.syms.get(name) {
            Some(Sym::Field(f)) => Some(*f),
            Some(Sym::List(_) | Sym::Event(_) | Sym::Group(_)) | None => None,
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

impl Compiler<'_> {
    pub(super) fn declare(&mut self, name: &str, sym: Sym, pointer: &str, first: &mut HashMap<String, String>) {
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
            self.b.diags.push(d);
            return;
        }
        first.insert(name.to_string(), pointer.to_string());
        self.names.syms.insert(name.to_string(), sym);
    }

    pub(super) fn unique_id(&mut self, id: &str, pointer: &str, seen: &mut HashMap<String, String>, what: &str) {
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
            self.b.diags.push(d);
        } else {
            seen.insert(id.to_string(), pointer.to_string());
        }
    }
}

//! A compact binary form of a compiled [`Program`], for pages that load a program compiled ahead of time (by
//! the CLI, a server or the full module) and carry no compiler: [`Program::to_bytes`], [`Program::from_bytes`].
//!
//! # Format, version 2
//!
//! `b"LSP"`, the version byte `2`, then every field of [`Program`] in declaration order, the rules hash last,
//! each part the same way:
//! unsigned integers as LEB128 varints; `f64` as 8 bytes little-endian; `bool` as a byte 0/1; strings as a
//! varint byte length and UTF-8; `Option` as a tag byte 0/1 and the value; `Vec` as a varint count and the items;
//! maps (`Entries`, JSON objects) as a count and key/value pairs; enums as a tag byte (the variant's position in
//! the tables below, which only grow at the end) and the variant's fields; JSON values as a tag (null, false,
//! true, unsigned, negative, float, string, array, object) and the payload. A node's operand is written as its
//! distance back from the node (`node - operand`, at least 1), so an operand is always an earlier node: the
//! format cannot express a cycle. Any other change of layout takes a new version byte.
//!
//! # What decoding checks, and why
//!
//! Decoding never panics and allocates only in proportion to the bytes read (a count larger than the bytes
//! left is an error, and reading stops at the first error). Truncation, unknown tags, invalid UTF-8, a number over `u32`, JSON nested deeper than 64,
//! duplicate map keys and trailing bytes are errors. The program read is then checked, so that everything that
//! takes a program (`evaluate`, `score`, `Session`, `verify`, `hints`, `Display`) keeps its promises: no
//! panic, no unbounded recursion, the same answers as for the compiled document. What is checked:
//!
//! - **Limits** of the compiler (fields, steps, rules, knockouts, list items, options): the work of an
//!   evaluation stays what it is for a document, and a multi field's answer is a 64-bit set (`1 << option`).
//! - **Every index in range**: node operands (fields, lists, strings, groups, events), call arguments (a range
//!   of `args`; `Display` and the evaluator slice it), each condition and points node, rule groups and `per`
//!   events, the fields and events rules, knockouts and stages list, step fields and jump targets, grade
//!   groups. `Display`, the ledger and sessions index with them.
//! - **Expressions are trees**: an operand is below its node (by the format), no node is the operand of two
//!   nodes or the root of two expressions (shared nodes would let a small program take exponential time), and
//!   no expression is deeper than the compiler makes (two node levels per level of its 64-level limit): the
//!   evaluator and `Display` recurse on it.
//! - **The form**: a field's `step` and the step's field list agree, `order` is exactly the compiler's order
//!   (background fields first, then step by step: a permutation of the fields, which the layout walks), and a
//!   field's or step's condition reads only fields asked before it (the layout decides what is shown in one
//!   pass in that order). Only stage conditions read scores (elsewhere no scores exist yet).
//! - **What each part reads**: the `fields` and `events` of rules, knockouts and stages are exactly those their
//!   expressions read (and `per`). Sessions re-score a rule only when something it lists changes, so a missing
//!   entry would make a session disagree with a fresh evaluation.
//! - **Numbers**: caps and field bounds finite with `min <= max`, a half-life positive and finite, a day
//!   window finite and not negative (a zero or NaN half-life would make a decided score infinite). Constant
//!   lists sorted without duplicates (they are searched by bisection).
//! - **Stages**: at least one; only the last, the default, has no condition.
//! - **The hash**: the rules hash is FNV-1a 64 of everything before it (the program's whole content), computed
//!   again on reading: a program changed after it was compiled fails to load and says so. (It detects changes;
//!   it is no signature: whoever changes a program can write its new hash. The checks below still hold then.)
//! - **Values, as the compiler checks them** (src/valid.rs): names valid, unique, and none a history column;
//!   ids valid and unique; option values valid and unique, options exactly on choice and multi fields, bounds
//!   only on numbers; steps not empty; grade bands in order; endings only for existing stages and knockout
//!   reasons, and their links allowed (`https:`, `http:`, `mailto:`, or a path on the page's own site, resolved
//!   as a browser resolves it): the form controller puts a program's links into the page.
//!
//! Not checked, because nothing depends on it for safety: that step jumps never loop (the layout stops after
//! as many steps as there are), the arity and operand types of calls (every operation returns a value for any
//! operands).

use std::fmt;

use serde_json::Value as Json;

use crate::model::{Action, Choice, Ending, Endings, Entries, FieldType, Text};
use crate::program::*;
use crate::valid::{action_problem, is_id, is_ident, is_option_value, is_reserved, HISTORY_COLUMNS};

/// The first bytes of an encoded program: `LSP` and the format version.
const MAGIC: &[u8; 4] = b"LSP\x02";

/// Deepest expression accepted: the compiler's 64 levels, each of which may lower to two nodes (`not in`).
const MAX_NODE_DEPTH: usize = 2 * (MAX_DEPTH + 1);

/// Why bytes are not a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Where reading stopped (for a program that reads well but fails its checks, the length of the input).
    pub offset: usize,
    /// What is wrong.
    pub message: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for DecodeError {}

type Res<T> = Result<T, &'static str>;

impl Program {
    /// The first bytes of every encoded program, whatever its format version.
    pub const MAGIC: &'static [u8] = b"LSP";

    /// The program in a compact binary format (`LSP`, a version byte, then every part: varints, 8-byte floats,
    /// length-prefixed strings), for a page that evaluates without compiling. [`Program::from_bytes`] reads it
    /// back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = MAGIC.to_vec();
        self.enc_content(&mut w);
        content_hash(&w[MAGIC.len()..]).enc(&mut w);
        w
    }

    /// Reads a program written by [`Program::to_bytes`], and checks that it is one the compiler could have
    /// written. Never panics, whatever the bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Program, DecodeError> {
        let err = |offset, message| DecodeError { offset, message };
        if !bytes.starts_with(&MAGIC[..3]) {
            return Err(err(0, "not a leadscore program"));
        }
        if bytes.get(3) != Some(&MAGIC[3]) {
            return Err(err(3, "unsupported format version: compile the program again with this version of leadscore"));
        }
        let mut r = Reader { b: bytes, pos: MAGIC.len(), depth: 0, err: None };
        let mut p = Program::dec_content(&mut r);
        let end = r.pos;
        p.hash = r.get();
        if r.pos < bytes.len() {
            r.fail("trailing bytes");
        }
        if let Some((offset, message)) = r.err {
            return Err(err(offset, message));
        }
        if p.hash != content_hash(&bytes[MAGIC.len()..end]) {
            return Err(err(
                end,
                "the program was changed after it was compiled: its content does not match its rules hash",
            ));
        }
        check(&p).map_err(|m| err(bytes.len(), m))?;
        #[cfg(any(feature = "compiler", not(target_arch = "wasm32")))]
        {
            p.types = p.node_types().ok_or(err(bytes.len(), "a node's operands do not have the types it takes"))?;
        }
        Ok(p)
    }
}

// -------------------------------------------------------------------------------------------------------
// Reading and writing.

/// Reads parts; the first error is kept, and every read after it fails too (nothing is left to read) and gives
/// an empty value. So decoding is straight-line code, with no early return to drop half-read values on: small.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    /// Nesting of the JSON value being read.
    depth: usize,
    /// The first error and where it happened.
    err: Option<(usize, &'static str)>,
}

impl<'a> Reader<'a> {
    fn get<T: Bin>(&mut self) -> T {
        T::dec(self)
    }

    fn fail(&mut self, message: &'static str) {
        self.err.get_or_insert((self.pos, message));
        self.pos = self.b.len();
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        match self.b.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(s) => {
                self.pos += n;
                s
            }
            None => {
                self.fail("unexpected end");
                &[]
            }
        }
    }

    fn byte(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    /// A byte below `n`.
    fn tag(&mut self, n: usize) -> usize {
        let t = usize::from(self.byte());
        if t >= n {
            self.pos -= 1;
            self.fail("unknown tag");
            return 0;
        }
        t
    }

    fn u64(&mut self) -> u64 {
        let mut v = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte();
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                break;
            }
            v |= part << shift;
            if b < 0x80 {
                return v;
            }
        }
        self.fail("number too large");
        0
    }

    fn u32(&mut self) -> u32 {
        let v = self.u64();
        u32::try_from(v).unwrap_or_else(|_| {
            self.fail("number too large");
            0
        })
    }

    /// A count of items, each at least one byte: never more than the bytes left.
    fn count(&mut self) -> usize {
        let n = self.u32() as usize;
        if n > self.b.len() - self.pos {
            self.fail("count larger than the bytes left");
            return 0;
        }
        n
    }

    fn str(&mut self) -> &'a str {
        let n = self.count();
        let s = self.take(n);
        std::str::from_utf8(s).unwrap_or_else(|_| {
            self.pos -= n;
            self.fail("invalid UTF-8");
            ""
        })
    }

    /// A node's operand: a distance back from node `id`.
    fn kid(&mut self, id: u32) -> NodeId {
        match self.u32() {
            d @ 1.. if d <= id => id - d,
            _ => {
                self.fail("an operand is not an earlier node");
                0
            }
        }
    }

    fn opt_kid(&mut self, id: u32) -> Option<NodeId> {
        (self.tag(2) == 1).then(|| self.kid(id))
    }
}

fn put(w: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        w.push(v as u8 | 0x80);
        v >>= 7;
    }
    w.push(v as u8);
}

fn put_len(w: &mut Vec<u8>, n: usize) {
    put(w, n as u64);
}

/// A node's operand, as its distance back from node `id` (a later operand, which no valid program has,
/// wraps to a distance that reading rejects).
fn put_kid(w: &mut Vec<u8>, id: u32, kid: NodeId) {
    put(w, u64::from(id.wrapping_sub(kid)));
}

/// A part of a program in the binary format.
trait Bin: Sized {
    fn enc(&self, w: &mut Vec<u8>);
    fn dec(r: &mut Reader) -> Self;
}

impl Bin for u32 {
    fn enc(&self, w: &mut Vec<u8>) {
        put(w, u64::from(*self));
    }
    fn dec(r: &mut Reader) -> Self {
        r.u32()
    }
}

impl Bin for f64 {
    fn enc(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.to_le_bytes());
    }
    fn dec(r: &mut Reader) -> Self {
        r.take(8).try_into().map_or(0.0, f64::from_le_bytes)
    }
}

impl Bin for bool {
    fn enc(&self, w: &mut Vec<u8>) {
        w.push(u8::from(*self));
    }
    fn dec(r: &mut Reader) -> Self {
        r.tag(2) == 1
    }
}

impl Bin for String {
    fn enc(&self, w: &mut Vec<u8>) {
        put_len(w, self.len());
        w.extend_from_slice(self.as_bytes());
    }
    fn dec(r: &mut Reader) -> Self {
        r.str().into()
    }
}

impl Bin for Box<str> {
    fn enc(&self, w: &mut Vec<u8>) {
        put_len(w, self.len());
        w.extend_from_slice(self.as_bytes());
    }
    fn dec(r: &mut Reader) -> Self {
        r.str().into()
    }
}

impl<T: Bin> Bin for Option<T> {
    fn enc(&self, w: &mut Vec<u8>) {
        match self {
            None => w.push(0),
            Some(v) => {
                w.push(1);
                v.enc(w);
            }
        }
    }
    fn dec(r: &mut Reader) -> Self {
        (r.tag(2) == 1).then(|| r.get())
    }
}

impl<T: Bin> Bin for Vec<T> {
    fn enc(&self, w: &mut Vec<u8>) {
        put_len(w, self.len());
        for v in self {
            v.enc(w);
        }
    }
    fn dec(r: &mut Reader) -> Self {
        let mut v = Vec::new();
        for _ in 0..r.count() {
            // After an error, stop: the items would all be empty values.
            if r.err.is_some() {
                break;
            }
            v.push(r.get());
        }
        v
    }
}

impl<A: Bin, B: Bin> Bin for (A, B) {
    fn enc(&self, w: &mut Vec<u8>) {
        self.0.enc(w);
        self.1.enc(w);
    }
    fn dec(r: &mut Reader) -> Self {
        (r.get(), r.get())
    }
}

impl<V: Bin> Bin for Entries<V> {
    fn enc(&self, w: &mut Vec<u8>) {
        put_len(w, self.0.len());
        for (k, v) in &self.0 {
            k.enc(w);
            v.enc(w);
        }
    }
    fn dec(r: &mut Reader) -> Self {
        // As a JSON object's keys: in order, each once.
        let mut entries: Vec<(String, V)> = vec![];
        for _ in 0..r.count() {
            let (k, v): (String, V) = r.get();
            if entries.last().is_some_and(|(last, _)| *last >= k) {
                r.fail("a list is not sorted");
            }
            entries.push((k, v));
        }
        Entries(entries)
    }
}

impl Bin for Json {
    fn enc(&self, w: &mut Vec<u8>) {
        match self {
            Json::Null => w.push(0),
            Json::Bool(b) => w.push(1 + u8::from(*b)),
            Json::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => {
                    w.push(3);
                    put(w, u);
                }
                (None, Some(i)) => {
                    w.push(4);
                    put(w, !(i as u64));
                }
                _ => {
                    w.push(5);
                    n.as_f64().unwrap_or(0.0).enc(w);
                }
            },
            Json::String(s) => {
                w.push(6);
                s.enc(w);
            }
            Json::Array(a) => {
                w.push(7);
                a.enc(w);
            }
            Json::Object(m) => {
                w.push(8);
                put_len(w, m.len());
                for (k, v) in m {
                    k.enc(w);
                    v.enc(w);
                }
            }
        }
    }
    fn dec(r: &mut Reader) -> Self {
        if r.depth >= MAX_DEPTH {
            r.fail("JSON nested too deep");
            return Json::Null;
        }
        r.depth += 1;
        let v = match r.tag(9) {
            0 => Json::Null,
            1 => Json::Bool(false),
            2 => Json::Bool(true),
            3 => Json::from(r.u64()),
            // A negative integer i as !i (so -1 is 0).
            4 => match !r.u64() as i64 {
                i @ ..0 => Json::from(i),
                _ => {
                    r.fail("not a negative integer");
                    Json::Null
                }
            },
            5 => {
                let x = r.get();
                serde_json::Number::from_f64(x).map_or_else(
                    || {
                        r.fail("not a finite number");
                        Json::Null
                    },
                    Json::Number,
                )
            }
            6 => Json::String(r.get()),
            7 => Json::Array(r.get()),
            _ => {
                let mut map = serde_json::Map::new();
                for _ in 0..r.count() {
                    let (k, v) = r.get();
                    if map.insert(k, v).is_some() {
                        r.fail("duplicate key");
                    }
                }
                Json::Object(map)
            }
        };
        r.depth -= 1;
        v
    }
}

/// Enums without fields: the tag is the position in the table (a new variant goes at the end; the `match`
/// does not compile until it is listed).
macro_rules! units {
    ($($t:ident: $($v:ident),*;)*) => {$(
        impl Bin for $t {
            fn enc(&self, w: &mut Vec<u8>) {
                const ALL: &[$t] = &[$($t::$v),*];
                match self {
                    $($t::$v)|* => {}
                }
                w.push(ALL.iter().position(|x| x == self).unwrap_or(0) as u8);
            }
            fn dec(r: &mut Reader) -> Self {
                const ALL: &[$t] = &[$($t::$v),*];
                let t = r.tag(ALL.len());
                ALL.get(t).copied().unwrap_or(ALL[0])
            }
        }
    )*};
}

/// The operators and built-in functions: the tag is the position in their own table (`builtins`), so a new one
/// needs nothing here.
macro_rules! tables {
    ($($t:ident),*) => {$(
        impl Bin for $t {
            fn enc(&self, w: &mut Vec<u8>) {
                w.push($t::ALL.iter().position(|x| x == self).unwrap_or(0) as u8);
            }
            fn dec(r: &mut Reader) -> Self {
                let t = r.tag($t::ALL.len());
                $t::ALL.get(t).copied().unwrap_or($t::ALL[0])
            }
        }
    )*};
}

tables!(Cmp, Arith, Func);

units! {
    FieldType: Number, Integer, String, Email, Choice, Multi, Boolean, Country;
    JsOp: LooseEq, LooseNe, StrictEq, StrictNe, Lt, Le, Gt, Ge, Not, Truthy, And, Or, If, Add, Sub, Mul, Div, Rem,
        Min, Max, In, Cat, Substr, Missing, MissingSome, Array, Merge;
}

/// A program's content: every field but the hash, which `to_bytes` writes after it (a new field must be added
/// here, or this does not compile).
impl Program {
    fn enc_content(&self, w: &mut Vec<u8>) {
        let Program {
            id,
            title,
            locale,
            fields,
            steps,
            lists,
            events,
            groups,
            rules,
            knockouts,
            stages,
            grade,
            endings,
            nodes,
            args,
            strings,
            order,
            hash: _,
            #[cfg(any(feature = "compiler", not(target_arch = "wasm32")))]
                types: _,
        } = self;
        id.enc(w);
        title.enc(w);
        locale.enc(w);
        fields.enc(w);
        steps.enc(w);
        lists.enc(w);
        events.enc(w);
        groups.enc(w);
        rules.enc(w);
        knockouts.enc(w);
        stages.enc(w);
        grade.enc(w);
        endings.enc(w);
        nodes.enc(w);
        args.enc(w);
        strings.enc(w);
        order.enc(w);
    }

    fn dec_content(r: &mut Reader) -> Program {
        Program {
            id: r.get(),
            title: r.get(),
            locale: r.get(),
            fields: r.get(),
            steps: r.get(),
            lists: r.get(),
            events: r.get(),
            groups: r.get(),
            rules: r.get(),
            knockouts: r.get(),
            stages: r.get(),
            grade: r.get(),
            endings: r.get(),
            nodes: r.get(),
            args: r.get(),
            strings: r.get(),
            order: r.get(),
            hash: String::new(),
            #[cfg(any(feature = "compiler", not(target_arch = "wasm32")))]
            types: vec![],
        }
    }

    /// The rules hash of this program's content (what `to_bytes` writes before the hash).
    #[cfg(any(feature = "compiler", test))]
    pub(crate) fn content_hash(&self) -> String {
        let mut w = Vec::new();
        self.enc_content(&mut w);
        content_hash(&w)
    }
}

/// FNV-1a 64.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The rules hash of a program's encoded content: FNV-1a 64, in 16 hex digits.
fn content_hash(bytes: &[u8]) -> String {
    let h = fnv(bytes);
    let mut out = String::with_capacity(16);
    for k in (0..16).rev() {
        out.push(char::from_digit(((h >> (4 * k)) & 15) as u32, 16).unwrap_or('0'));
    }
    out
}

/// Structs: every field, in the order written here (a new field must be added here, or this does not compile).
macro_rules! records {
    ($($t:ident { $($f:ident),* })*) => {$(
        impl Bin for $t {
            fn enc(&self, w: &mut Vec<u8>) {
                $(self.$f.enc(w);)*
            }
            fn dec(r: &mut Reader) -> Self {
                $t { $($f: r.get()),* }
            }
        }
    )*};
}

records! {
    FieldDef { id, kind, label, help, placeholder, required, visible, enabled, min, max, max_length, options, step }
    StepDef { id, title, fields, visible, next }
    List { name, items }
    GroupDef { id, label, min, max }
    RuleDef { id, label, group, when, points, per, max_times, within_days, half_life_days, fields, events }
    KnockoutDef { id, when, reason, message, fields }
    StageDef { id, label, when, fields }
    BandDef { label, min }
    GradeDef { group, bands, matrix }
    Endings { stages, knockouts, default }
    Ending { title, message, action }
    Action { label, url }
}

impl Bin for Text {
    fn enc(&self, w: &mut Vec<u8>) {
        match self {
            Text::Plain(s) => {
                w.push(0);
                s.enc(w);
            }
            Text::Localized(m) => {
                w.push(1);
                m.enc(w);
            }
        }
    }
    fn dec(r: &mut Reader) -> Self {
        if r.tag(2) == 0 {
            Text::Plain(r.get())
        } else {
            Text::Localized(r.get())
        }
    }
}

impl Bin for Choice {
    fn enc(&self, w: &mut Vec<u8>) {
        match self {
            Choice::Value(v) => {
                w.push(0);
                v.enc(w);
            }
            Choice::Labeled { value, label } => {
                w.push(1);
                value.enc(w);
                label.enc(w);
            }
        }
    }
    fn dec(r: &mut Reader) -> Self {
        if r.tag(2) == 0 {
            Choice::Value(r.get())
        } else {
            Choice::Labeled { value: r.get(), label: r.get() }
        }
    }
}

impl Bin for ListItems {
    fn enc(&self, w: &mut Vec<u8>) {
        match self {
            ListItems::Str(v) => {
                w.push(0);
                v.enc(w);
            }
            ListItems::Num(v) => {
                w.push(1);
                v.enc(w);
            }
            ListItems::Json(v) => {
                w.push(2);
                v.enc(w);
            }
        }
    }
    fn dec(r: &mut Reader) -> Self {
        match r.tag(3) {
            0 => ListItems::Str(r.get()),
            1 => ListItems::Num(r.get()),
            _ => ListItems::Json(r.get()),
        }
    }
}

/// The node arena: operands relative to their node. The tags of `enc` and `dec` go together.
impl Bin for Vec<Node> {
    fn enc(&self, w: &mut Vec<u8>) {
        put_len(w, self.len());
        for (id, n) in self.iter().enumerate() {
            let id = id as u32;
            let tag = match n {
                Node::Num(_) => 0,
                Node::Str(_) => 1,
                Node::Bool(_) => 2,
                Node::Null => 3,
                Node::List(_) => 4,
                Node::Field(_) => 5,
                Node::Var(..) => 6,
                Node::Answered(_) => 7,
                Node::Score => 8,
                Node::Group(_) => 9,
                Node::Count(..) => 10,
                Node::DaysSince(_) => 11,
                Node::Not(_) => 12,
                Node::And(..) => 13,
                Node::Or(..) => 14,
                Node::If(..) => 15,
                Node::Neg(_) => 16,
                Node::Arith(..) => 17,
                Node::Cmp(..) => 18,
                Node::In(..) => 19,
                Node::Between(..) => 20,
                Node::Call(..) => 21,
                Node::Js(..) => 22,
            };
            w.push(tag);
            match n {
                Node::Num(x) => x.enc(w),
                Node::Bool(b) => b.enc(w),
                Node::Null | Node::Score => {}
                Node::Str(i)
                | Node::List(i)
                | Node::Field(i)
                | Node::Answered(i)
                | Node::Group(i)
                | Node::DaysSince(i) => i.enc(w),
                Node::Var(i, d) | Node::Count(i, d) => {
                    i.enc(w);
                    d.is_some().enc(w);
                    if let Some(d) = d {
                        put_kid(w, id, *d);
                    }
                }
                Node::Not(a) | Node::Neg(a) => put_kid(w, id, *a),
                Node::In(a, l) => {
                    put_kid(w, id, *a);
                    l.enc(w);
                }
                Node::And(a, b) | Node::Or(a, b) => [a, b].iter().for_each(|k| put_kid(w, id, **k)),
                Node::If(a, b, c) | Node::Between(a, b, c) => [a, b, c].iter().for_each(|k| put_kid(w, id, **k)),
                Node::Arith(op, a, b) => {
                    op.enc(w);
                    [a, b].iter().for_each(|k| put_kid(w, id, **k));
                }
                Node::Cmp(op, a, b) => {
                    op.enc(w);
                    [a, b].iter().for_each(|k| put_kid(w, id, **k));
                }
                Node::Call(f, s, n) => {
                    f.enc(w);
                    s.enc(w);
                    n.enc(w);
                }
                Node::Js(op, s, n) => {
                    op.enc(w);
                    s.enc(w);
                    n.enc(w);
                }
            }
        }
    }

    fn dec(r: &mut Reader) -> Self {
        let n = r.count();
        let mut nodes = Vec::new();
        for id in 0..n as u32 {
            if r.err.is_some() {
                break;
            }
            nodes.push(match r.tag(23) {
                0 => Node::Num(r.get()),
                1 => Node::Str(r.get()),
                2 => Node::Bool(r.get()),
                3 => Node::Null,
                4 => Node::List(r.get()),
                5 => Node::Field(r.get()),
                6 => Node::Var(r.get(), r.opt_kid(id)),
                7 => Node::Answered(r.get()),
                8 => Node::Score,
                9 => Node::Group(r.get()),
                10 => Node::Count(r.get(), r.opt_kid(id)),
                11 => Node::DaysSince(r.get()),
                12 => Node::Not(r.kid(id)),
                13 => Node::And(r.kid(id), r.kid(id)),
                14 => Node::Or(r.kid(id), r.kid(id)),
                15 => Node::If(r.kid(id), r.kid(id), r.kid(id)),
                16 => Node::Neg(r.kid(id)),
                17 => Node::Arith(r.get(), r.kid(id), r.kid(id)),
                18 => Node::Cmp(r.get(), r.kid(id), r.kid(id)),
                19 => Node::In(r.kid(id), r.get()),
                20 => Node::Between(r.kid(id), r.kid(id), r.kid(id)),
                21 => Node::Call(r.get(), r.get(), r.get()),
                _ => Node::Js(r.get(), r.get(), r.get()),
            });
        }
        nodes
    }
}

// -------------------------------------------------------------------------------------------------------
// Checks (see the module documentation).

fn ensure(ok: bool, message: &'static str) -> Res<()> {
    if ok {
        Ok(())
    } else {
        Err(message)
    }
}

/// Finite bounds, `min <= max`.
fn bounds_ok(min: Option<f64>, max: Option<f64>) -> bool {
    min.is_none_or(f64::is_finite)
        && max.is_none_or(f64::is_finite)
        && !matches!((min, max), (Some(a), Some(b)) if a > b)
}

fn sorted_unique(mut v: Vec<u32>) -> Vec<u32> {
    sort_dedup(&mut v);
    v
}

fn check(p: &Program) -> Res<()> {
    let (nf, ns, ne, ng) = (p.fields.len(), p.steps.len(), p.events.len(), p.groups.len());
    ensure(
        nf <= MAX_FIELDS
            && ns <= MAX_STEPS
            && p.rules.len() <= MAX_RULES
            && p.knockouts.len() <= MAX_KNOCKOUTS
            && p.stages.len() <= MAX_STAGES
            && p.grade
                .as_ref()
                .is_none_or(|g| g.bands.len() <= MAX_BANDS && g.matrix.as_ref().is_none_or(|m| m.1.len() <= MAX_BANDS))
            && p.lists.iter().all(|l| l.items.len() <= MAX_LIST)
            && p.fields.iter().all(|f| {
                let max = if f.kind == FieldType::Multi { MAX_MULTI_OPTIONS } else { MAX_CHOICE_OPTIONS };
                f.options.len() <= max
            }),
        "over a limit of the compiler",
    )?;
    ensure(
        p.lists.iter().all(|l| match &l.items {
            ListItems::Str(v) => v.windows(2).all(|w| w[0] < w[1]),
            ListItems::Num(v) => v.windows(2).all(|w| w[0].total_cmp(&w[1]).is_lt()),
            ListItems::Json(_) => true,
        }),
        "a list is not sorted",
    )?;
    ensure(
        p.fields.iter().all(|f| bounds_ok(f.min, f.max)) && p.groups.iter().all(|g| bounds_ok(g.min, g.max)),
        "bad bounds",
    )?;

    // The form: the compiler's order, and each field's position in it.
    let mut order: Vec<u32> = (0..nf as u32).filter(|&i| p.fields[i as usize].step.is_none()).collect();
    for (si, s) in p.steps.iter().enumerate() {
        for &f in &s.fields {
            let step = p.fields.get(f as usize).ok_or("field index out of range")?.step;
            ensure(step == Some(si as u32), "a step lists a field of another step")?;
            order.push(f);
        }
        ensure(s.next.iter().all(|(_, t)| t.is_none_or(|t| (t as usize) < ns)), "step index out of range")?;
    }
    ensure(order == p.order && order.len() == nf, "not the form order")?;
    let mut position = vec![usize::MAX; nf];
    for (pos, &f) in order.iter().enumerate() {
        ensure(position[f as usize] == usize::MAX, "a field is asked twice")?;
        position[f as usize] = pos;
    }

    // Nodes: operands in range, below their node and used once; depth; whether a score is read.
    let n = p.nodes.len();
    let mut used = vec![false; n];
    let mut depth = vec![0usize; n];
    let mut scores = vec![false; n];
    for (i, node) in p.nodes.iter().enumerate() {
        let buf: [NodeId; 3];
        let (index, len, message) = match *node {
            Node::Str(s) => (s, p.strings.len(), "string index out of range"),
            Node::List(l) | Node::In(_, l) => (l, p.lists.len(), "list index out of range"),
            Node::Field(f) | Node::Answered(f) | Node::Var(f, _) => (f, nf, "field index out of range"),
            Node::Group(g) => (g, ng, "group index out of range"),
            Node::Count(e, _) | Node::DaysSince(e) => (e, ne, "event index out of range"),
            Node::Num(_)
            | Node::Bool(_)
            | Node::Null
            | Node::Score
            | Node::Not(_)
            | Node::And(..)
            | Node::Or(..)
            | Node::If(..)
            | Node::Neg(_)
            | Node::Arith(..)
            | Node::Cmp(..)
            | Node::Between(..)
            | Node::Call(..)
            | Node::Js(..) => (0, 1, ""),
        };
        ensure((index as usize) < len, message)?;
        let kids: &[NodeId] = match node {
            Node::Var(_, d) | Node::Count(_, d) => d.as_slice(),
            Node::Not(a) | Node::Neg(a) | Node::In(a, _) => std::slice::from_ref(a),
            Node::And(a, b) | Node::Or(a, b) | Node::Arith(_, a, b) | Node::Cmp(_, a, b) => {
                buf = [*a, *b, 0];
                &buf[..2]
            }
            Node::If(a, b, c) | Node::Between(a, b, c) => {
                buf = [*a, *b, *c];
                &buf
            }
            Node::Call(_, s, len) | Node::Js(_, s, len) => s
                .checked_add(*len)
                .and_then(|end| p.args.get(*s as usize..end as usize))
                .ok_or("call arguments out of range")?,
            Node::Num(_)
            | Node::Str(_)
            | Node::Bool(_)
            | Node::Null
            | Node::List(_)
            | Node::Field(_)
            | Node::Answered(_)
            | Node::Score
            | Node::Group(_)
            | Node::DaysSince(_) => &[],
        };
        let mut d = 1;
        let mut s = matches!(node, Node::Score | Node::Group(_));
        for &k in kids {
            let k = k as usize;
            ensure(k < i, "an operand is not an earlier node")?;
            ensure(!used[k], "a node is the operand of two nodes")?;
            used[k] = true;
            d = d.max(depth[k] + 1);
            s |= scores[k];
        }
        ensure(d <= MAX_NODE_DEPTH, "expression too deep")?;
        depth[i] = d;
        scores[i] = s;
    }

    // Expressions: each root used once; what it reads.
    let mut root = |id: Option<NodeId>, scores_ok: bool, before: usize| -> Res<(Vec<u32>, Vec<u32>)> {
        let (mut fields, mut events) = (vec![], vec![]);
        let Some(id) = id else { return Ok((fields, events)) };
        let i = id as usize;
        ensure(i < n, "node index out of range")?;
        ensure(!used[i], "a node is used twice")?;
        used[i] = true;
        ensure(scores_ok || !scores[i], "only stage conditions read scores")?;
        p.reads(id, &mut fields, &mut events);
        ensure(
            fields.iter().all(|&f| position.get(f as usize).is_some_and(|&pos| pos < before)),
            "a condition reads a field asked after it",
        )?;
        Ok((fields, events))
    };
    for (i, f) in p.fields.iter().enumerate() {
        for c in [f.required, f.visible, f.enabled] {
            root(c, false, position[i])?;
        }
    }
    for s in &p.steps {
        let at = |f: Option<&u32>| f.and_then(|&f| position.get(f as usize).copied());
        root(s.visible, false, at(s.fields.first()).unwrap_or(usize::MAX))?;
        let end = at(s.fields.last()).map_or(usize::MAX, |pos| pos + 1);
        for (c, _) in &s.next {
            root(*c, false, end)?;
        }
    }
    for r in &p.rules {
        ensure((r.group as usize) < ng, "group index out of range")?;
        ensure(r.per.is_none_or(|e| (e as usize) < ne), "event index out of range")?;
        ensure(
            r.half_life_days.is_none_or(|h| h > 0.0 && h.is_finite())
                && r.within_days.is_none_or(|d| d >= 0.0 && d.is_finite()),
            "bad decay or window",
        )?;
        let (mut fields, mut events) = root(r.when, false, usize::MAX)?;
        let (f2, e2) = root(Some(r.points), false, usize::MAX)?;
        fields.extend(f2);
        events.extend(e2.into_iter().chain(r.per));
        ensure(sorted_unique(fields) == r.fields && sorted_unique(events) == r.events, "a rule's reads differ")?;
    }
    for k in &p.knockouts {
        let (fields, _) = root(Some(k.when), false, usize::MAX)?;
        ensure(sorted_unique(fields) == k.fields, "a knockout's reads differ")?;
    }
    ensure(!p.stages.is_empty(), "no stage")?;
    for (i, s) in p.stages.iter().enumerate() {
        ensure(s.when.is_none() == (i + 1 == p.stages.len()), "only the last stage has no condition")?;
        let (fields, _) = root(s.when, true, usize::MAX)?;
        ensure(sorted_unique(fields) == s.fields, "a stage's reads differ")?;
    }
    if let Some(g) = &p.grade {
        let ok = |group: u32| (group as usize) < ng;
        ensure(ok(g.group) && g.matrix.as_ref().is_none_or(|m| ok(m.0)), "group index out of range")?;
        // An empty grade is how a form sends "no grade" (`Claim::grade`).
        let named =
            |bands: &[crate::program::BandDef]| bands_in_order(bands) && bands.iter().all(|b| !b.label.is_empty());
        ensure(
            named(&g.bands) && g.matrix.as_ref().is_none_or(|m| named(&m.1)),
            "a grade band has no label or is out of order",
        )?;
    }
    check_values(p)
}

/// Bands from the highest `min` down; only the last, and at least one, without.
fn bands_in_order(bands: &[crate::program::BandDef]) -> bool {
    let Some((last, rest)) = bands.split_last() else { return false };
    let mut prev = f64::INFINITY;
    last.min.is_none()
        && rest.iter().all(|b| {
            let ok = b.min.is_some_and(|m| m < prev);
            prev = b.min.unwrap_or(prev);
            ok
        })
}

/// What the compiler checks on names, ids, option values, field kinds, endings and links (src/valid.rs).
fn check_values(p: &Program) -> Res<()> {
    const NAMES: &str = "a name or id is not valid, or not unique";
    let columns = || p.fields.iter().map(|f| f.id.as_str()).chain(p.events.iter().map(|(id, _)| id.as_str()));
    let lists = p.lists.iter().map(|l| l.name.as_str()).filter(|n| !n.is_empty());
    let mut names = columns().chain(lists).chain(p.groups.iter().map(|g| g.id.as_str()));
    ensure(columns().all(|n| !HISTORY_COLUMNS.contains(&n)), "a field or event has the name of a history column")?;
    ensure(unique(&mut names, &|n| is_ident(n) && !is_reserved(n)), NAMES)?;
    ensure(
        unique(&mut p.rules.iter().map(|r| r.id.as_str()), &is_id)
            && unique(&mut p.knockouts.iter().map(|k| k.id.as_str()), &is_id)
            && unique(&mut p.stages.iter().map(|s| s.id.as_str()), &is_id)
            && unique(&mut p.steps.iter().map(|s| s.id.as_str()), &is_id)
            && p.knockouts.iter().all(|k| is_id(&k.reason)),
        NAMES,
    )?;
    ensure(p.steps.iter().all(|s| !s.fields.is_empty()), "a step asks no field")?;
    for f in &p.fields {
        let choice = matches!(f.kind, FieldType::Choice | FieldType::Multi);
        let numeric = matches!(f.kind, FieldType::Number | FieldType::Integer);
        ensure(
            choice != f.options.is_empty()
                && (numeric || (f.min.is_none() && f.max.is_none()))
                && unique(&mut f.options.iter().map(Choice::value), &is_option_value),
            "a field's options or bounds do not fit its type",
        )?;
    }
    let e = &p.endings;
    ensure(
        e.stages.keys().all(|s| p.stages.iter().any(|t| t.id == *s))
            && e.knockouts.keys().all(|r| p.knockouts.iter().any(|k| k.reason == *r)),
        "an ending is for no stage or knockout reason",
    )?;
    let all = e.stages.values().chain(e.knockouts.values()).chain(e.default.as_ref());
    ensure(
        all.filter_map(|e| e.action.as_ref()).all(|a| action_problem(&a.url, |n| p.field_index(n).is_some()).is_none()),
        "an ending's link is not allowed: only https:, http: and mailto: URLs, and paths on the page's own site",
    )
}

/// Whether every item is `valid` and none is there twice: a table of twice as many slots, probed linearly.
fn unique<'a>(items: &mut dyn Iterator<Item = &'a str>, valid: &dyn Fn(&str) -> bool) -> bool {
    let items: Vec<&str> = items.collect();
    let mut slots = vec![usize::MAX; (items.len() * 2).next_power_of_two()];
    let mask = slots.len() - 1;
    for (i, s) in items.iter().enumerate() {
        if !valid(s) {
            return false;
        }
        let mut at = fnv(s.as_bytes()) as usize & mask;
        while let Some(&j) = slots.get(at).filter(|&&j| j != usize::MAX) {
            if items[j] == *s {
                return false;
            }
            at = (at + 1) & mask;
        }
        slots[at] = i;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Program {
        crate::compile_str(include_str!("../examples/b2b-saas.json")).program.expect("compiles")
    }

    fn push(p: &mut Program, n: Node) -> NodeId {
        p.nodes.push(n);
        (p.nodes.len() - 1) as NodeId
    }

    /// The example, edited by `edit`, is rejected with `message`.
    fn rejects(message: &str, edit: fn(&mut Program)) {
        let mut p = example();
        edit(&mut p);
        match Program::from_bytes(&p.to_bytes()) {
            Ok(_) => panic!("accepted; expected `{message}`"),
            Err(e) => assert_eq!(e.message, message),
        }
    }

    #[test]
    fn programs_the_compiler_cannot_write_are_rejected() {
        type Edit = fn(&mut Program);
        let cases: &[(&str, Edit)] = &[
            ("field index out of range", |p| _ = push(p, Node::Field(500))),
            ("field index out of range", |p| p.steps[0].fields.push(500)),
            ("string index out of range", |p| _ = push(p, Node::Str(u32::MAX))),
            ("list index out of range", |p| _ = push(p, Node::In(0, 99))),
            ("event index out of range", |p| _ = push(p, Node::Count(99, None))),
            ("event index out of range", |p| p.rules[0].per = Some(99)),
            ("group index out of range", |p| p.rules[0].group = 99),
            ("group index out of range", |p| p.grade.as_mut().unwrap().matrix.as_mut().unwrap().0 = 99),
            ("a grade band has no label or is out of order", |p| p.grade.as_mut().unwrap().bands[0].label.clear()),
            ("a grade band has no label or is out of order", |p| {
                p.grade.as_mut().unwrap().matrix.as_mut().unwrap().1[1].label.clear()
            }),
            ("call arguments out of range", |p| _ = push(p, Node::Call(Func::Min, 0, 100_000))),
            ("call arguments out of range", |p| _ = push(p, Node::Js(JsOp::Cat, u32::MAX, 2))),
            ("an operand is not an earlier node", |p| {
                let id = p.nodes.len() as u32;
                push(p, Node::Not(id));
            }),
            ("an operand is not an earlier node", |p| {
                let id = p.nodes.len() as u32;
                let s = p.args.len() as u32;
                p.args.push(id);
                push(p, Node::Js(JsOp::Not, s, 1));
            }),
            ("a node is the operand of two nodes", |p| {
                let a = push(p, Node::Num(1.0));
                push(p, Node::Arith(Arith::Add, a, a));
            }),
            ("a node is used twice", |p| p.rules[1].when = p.rules[0].when),
            ("a node is used twice", |p| p.knockouts[1].when = p.knockouts[0].when),
            ("node index out of range", |p| p.rules[0].points = p.nodes.len() as u32),
            ("expression too deep", |p| {
                let mut n = push(p, Node::Bool(true));
                for _ in 0..MAX_NODE_DEPTH {
                    n = push(p, Node::Not(n));
                }
            }),
            ("over a limit of the compiler", |p| {
                let last = p.stages.pop().unwrap();
                while p.stages.len() < MAX_STAGES {
                    let mut s = p.stages[0].clone();
                    s.id = format!("s{}", p.stages.len());
                    s.when = Some(push(p, Node::Bool(false)));
                    s.fields.clear();
                    p.stages.push(s);
                }
                p.stages.push(last);
            }),
            ("over a limit of the compiler", |p| {
                let f = p.fields.iter_mut().find(|f| f.kind == FieldType::Multi).unwrap();
                f.options = (0..65).map(|i| Choice::Value(i.to_string())).collect();
            }),
            ("a list is not sorted", |p| match &mut p.lists[0].items {
                ListItems::Str(v) => v.reverse(),
                _ => unreachable!(),
            }),
            ("bad bounds", |p| p.groups[0].min = Some(f64::NAN)),
            ("bad bounds", |p| p.fields.iter_mut().find(|f| f.max.is_some()).unwrap().min = Some(1e300)),
            ("bad decay or window", |p| {
                p.rules.iter_mut().find(|r| r.per.is_some()).unwrap().half_life_days = Some(0.0)
            }),
            ("a step lists a field of another step", |p| {
                let f = p.steps[1].fields[0];
                p.steps[0].fields.push(f);
            }),
            ("not the form order", |p| p.order.swap(0, 1)),
            ("not the form order", |p| _ = p.steps[0].fields.pop()),
            ("a field is asked twice", |p| {
                let f = p.steps[0].fields[0];
                *p.steps[0].fields.last_mut().unwrap() = f;
                p.order = (0..p.fields.len() as u32).filter(|&i| p.fields[i as usize].step.is_none()).collect();
                p.order.extend(p.steps.iter().flat_map(|s| s.fields.iter().copied()).collect::<Vec<_>>());
            }),
            ("step index out of range", |p| p.steps[0].next.push((None, Some(99)))),
            ("a condition reads a field asked after it", |p| {
                let (first, last) = (p.order[0], *p.order.last().unwrap());
                p.fields[first as usize].visible = Some(push(p, Node::Field(last)));
            }),
            ("a condition reads a field asked after it", |p| {
                let s = p.steps.iter().position(|s| s.visible.is_some()).unwrap();
                p.steps[s].visible = Some(push(p, Node::Answered(p.steps[s].fields[0])));
            }),
            ("only stage conditions read scores", |p| p.rules[0].when = Some(push(p, Node::Score))),
            ("a rule's reads differ", |p| p.rules.iter_mut().find(|r| !r.fields.is_empty()).unwrap().fields.clear()),
            ("a rule's reads differ", |p| p.rules[0].events.push(0)),
            ("a knockout's reads differ", |p| p.knockouts[0].fields.push(0)),
            ("a stage's reads differ", |p| p.stages[0].fields.push(0)),
            ("no stage", |p| p.stages.clear()),
            ("only the last stage has no condition", |p| p.stages[0].when = None),
            // What the compiler checks on values (src/valid.rs).
            ("a name or id is not valid, or not unique", |p| p.fields[0].id = "1st".into()),
            ("a name or id is not valid, or not unique", |p| p.groups[0].id = "score".into()),
            ("a name or id is not valid, or not unique", |p| p.events[0].0 = p.fields[0].id.clone()),
            ("a name or id is not valid, or not unique", |p| p.lists[0].name = p.groups[0].id.clone()),
            ("a field or event has the name of a history column", |p| p.events[0].0 = "outcome".into()),
            ("a name or id is not valid, or not unique", |p| p.rules[1].id = p.rules[0].id.clone()),
            ("a name or id is not valid, or not unique", |p| p.stages[0].id = "<b>".into()),
            ("a name or id is not valid, or not unique", |p| p.knockouts[0].reason = "a b".into()),
            ("a field's options or bounds do not fit its type", |p| {
                let f = p.fields.iter_mut().find(|f| f.kind == FieldType::Choice).unwrap();
                f.options[0] = Choice::Value("a;b".into());
            }),
            ("a field's options or bounds do not fit its type", |p| {
                let f = p.fields.iter_mut().find(|f| f.kind == FieldType::Multi).unwrap();
                f.options[1] = f.options[0].clone();
            }),
            ("a field's options or bounds do not fit its type", |p| {
                p.fields.iter_mut().find(|f| f.kind == FieldType::Choice).unwrap().options.clear()
            }),
            ("a field's options or bounds do not fit its type", |p| {
                p.fields.iter_mut().find(|f| f.kind == FieldType::String).unwrap().min = Some(1.0)
            }),
            ("a grade band has no label or is out of order", |p| p.grade.as_mut().unwrap().bands.swap(0, 1)),
            ("a grade band has no label or is out of order", |p| {
                p.grade.as_mut().unwrap().bands.last_mut().unwrap().min = Some(-5.0)
            }),
            ("an ending is for no stage or knockout reason", |p| {
                let e = p.endings.stages.values().next().unwrap().clone();
                p.endings.stages.insert("nope".into(), e);
            }),
            (LINK, |p| p.endings.default.as_mut().unwrap().action.as_mut().unwrap().url = "javascript:alert(1)".into()),
            (LINK, |p| {
                p.endings.stages.values_mut().next().unwrap().action.as_mut().unwrap().url = "/\\evil.example/x".into()
            }),
            (LINK, |p| {
                p.endings.knockouts.values_mut().next().unwrap().action.as_mut().unwrap().url =
                    "/\t/evil.example".into()
            }),
            // A text's locales, as a JSON object's keys: in order, each once.
            ("a list is not sorted", |p| p.fields[0].label = Some(locales(&["it", "en"]))),
            ("a list is not sorted", |p| p.fields[0].label = Some(locales(&["en", "en"]))),
        ];
        for (message, edit) in cases {
            rejects(message, *edit);
        }
    }

    fn locales(keys: &[&str]) -> Text {
        Text::Localized(Entries(keys.iter().map(|k| (k.to_string(), "a label".to_string())).collect()))
    }

    const LINK: &str =
        "an ending's link is not allowed: only https:, http: and mailto: URLs, and paths on the page's own site";

    #[test]
    fn a_program_changed_after_compiling_does_not_load() {
        let good = example().to_bytes();
        // A label changed in place ("Sales Qualified Lead" to "Sales Qualified Leaf"): every byte still reads.
        let at = good.windows(20).position(|w| w == b"Sales Qualified Lead").expect("the label is in the program") + 19;
        let mut changed = good.clone();
        changed[at] = b'f';
        let e = Program::from_bytes(&changed).unwrap_err();
        assert_eq!(
            e.message,
            "the program was changed after it was compiled: its content does not match its rules hash"
        );
        assert_eq!(e.offset, good.len() - 17, "where the hash begins");
        // No byte of the content can change unnoticed.
        for at in MAGIC.len()..good.len() {
            let mut v = good.clone();
            v[at] ^= 0x20;
            assert!(Program::from_bytes(&v).is_err(), "byte {at} changed and the program loads");
        }
        // The hash covers every part: a change anywhere gives another hash.
        let base = example();
        let edits: &[fn(&mut Program)] = &[
            |p| p.id.push('x'),
            |p| p.fields[0].label = None,
            |p| p.rules[0].half_life_days = Some(3.0),
            |p| p.stages[0].label = None,
            |p| p.strings[0] = "other".into(),
            |p| p.endings.default = None,
            |p| p.order.reverse(),
        ];
        for edit in edits {
            let mut p = example();
            edit(&mut p);
            assert_ne!(p.content_hash(), base.content_hash());
        }
        assert_eq!(base.content_hash(), base.hash(), "the compiler's hash is the content's");
    }

    #[test]
    fn bad_bytes_are_errors_with_offsets() {
        let good = example().to_bytes();
        let edit = |at: usize, b: u8| {
            let mut v = good.clone();
            v[at] = b;
            v
        };
        let cases: &[(Vec<u8>, usize, &str)] = &[
            (vec![], 0, "not a leadscore program"),
            (b"LSQ\x01".to_vec(), 0, "not a leadscore program"),
            (
                b"LSP\x01".to_vec(),
                3,
                "unsupported format version: compile the program again with this version of leadscore",
            ),
            (b"LSP\x02".to_vec(), 4, "unexpected end"),
            (b"LSP\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01".to_vec(), 14, "number too large"),
            (b"LSP\x02\x80\x80\x80\x80\x10".to_vec(), 9, "number too large"),
            (b"LSP\x02\xff\x7f".to_vec(), 6, "count larger than the bytes left"),
            // The id's first byte, then the title's tag.
            (edit(5, 0xff), 5, "invalid UTF-8"),
            (edit(5 + usize::from(good[4]), 7), 5 + usize::from(good[4]), "unknown tag"),
            ([&good[..], &[0]].concat(), good.len(), "trailing bytes"),
        ];
        for (bytes, offset, message) in cases {
            let e = Program::from_bytes(bytes).expect_err(message);
            assert_eq!((e.offset, e.message), (*offset, *message), "{e}");
            assert_eq!(e.to_string(), format!("byte {offset}: {message}"));
        }
        for len in 0..good.len() {
            assert!(Program::from_bytes(&good[..len]).is_err(), "a prefix of {len} bytes decodes");
        }
    }

    /// A node whose operands are not of the types it takes is refused, as the compiler never builds one; the
    /// types of a program decoded are the compiler's.
    #[test]
    fn nodes_are_typed_as_the_compiler_types_them() {
        let message = "a node's operands do not have the types it takes";
        rejects(message, |p| {
            let a = push(p, Node::Str(0));
            push(p, Node::Not(a));
        });
        rejects(message, |p| {
            let (a, b) = (push(p, Node::Str(0)), push(p, Node::Num(1.0)));
            push(p, Node::Cmp(Cmp::Eq, a, b));
        });
        rejects(message, |p| {
            let (a, b) = (push(p, Node::Num(1.0)), push(p, Node::Str(0)));
            let s = p.args.len() as u32;
            p.args.extend([a, b]);
            push(p, Node::Call(Func::StartsWith, s, 2));
        });
        rejects(message, |p| {
            let (a, b) = (push(p, Node::Num(1.0)), push(p, Node::Num(2.0)));
            let s = p.args.len() as u32;
            p.args.extend([a, b]);
            push(p, Node::Call(Func::Ceil, s, 2));
        });
        for doc in [include_str!("../examples/b2b-saas.json"), include_str!("../examples/agency.json")] {
            let p = crate::compile_str(doc).program.expect("compiles");
            let q = Program::from_bytes(&p.to_bytes()).unwrap();
            assert_eq!(q.types, p.types);
            assert_eq!(p.types.len(), p.nodes.len());
        }
    }

    #[test]
    fn every_node_comes_back() {
        let mut p = example();
        let nodes = [
            Node::Str(0),
            Node::Bool(true),
            Node::Null,
            Node::List(0),
            Node::Field(1),
            Node::Answered(2),
            Node::Score,
            Node::Group(1),
            Node::DaysSince(0),
            Node::Var(0, None),
            Node::Count(0, None),
        ];
        for n in nodes {
            push(&mut p, n);
        }
        // Operands of the types each node takes (the decoder checks them).
        let num = |p: &mut Program| push(p, Node::Num(1.5));
        let yes = |p: &mut Program| push(p, Node::Bool(true));
        let l = num(&mut p);
        push(&mut p, Node::Var(0, Some(l)));
        let l = num(&mut p);
        push(&mut p, Node::Count(0, Some(l)));
        let l = yes(&mut p);
        push(&mut p, Node::Not(l));
        let l = num(&mut p);
        push(&mut p, Node::Neg(l));
        let l = push(&mut p, Node::Str(0));
        push(&mut p, Node::In(l, 0));
        let (a, b) = (yes(&mut p), yes(&mut p));
        push(&mut p, Node::And(a, b));
        let (a, b) = (yes(&mut p), yes(&mut p));
        push(&mut p, Node::Or(a, b));
        let (a, b) = (num(&mut p), num(&mut p));
        push(&mut p, Node::Arith(Arith::Rem, a, b));
        let (a, b) = (num(&mut p), num(&mut p));
        push(&mut p, Node::Cmp(Cmp::Ge, a, b));
        let (a, b, c) = (yes(&mut p), num(&mut p), num(&mut p));
        push(&mut p, Node::If(a, b, c));
        let (a, b, c) = (num(&mut p), num(&mut p), num(&mut p));
        push(&mut p, Node::Between(a, b, c));
        let (a, b) = (num(&mut p), yes(&mut p));
        let s = p.args.len() as u32;
        p.args.extend([a, b]);
        push(&mut p, Node::Js(JsOp::Merge, s, 2));
        let a = num(&mut p);
        let s = p.args.len() as u32;
        p.args.push(a);
        push(&mut p, Node::Call(Func::Ceil, s, 1));
        let q = Program::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(q.nodes, p.nodes);
        assert_eq!(q.args, p.args);
    }

    #[test]
    fn json_lists_keep_every_value() {
        let mut p = example();
        let items = serde_json::json!([
            null, true, false, 0, 1, -1, u64::MAX, i64::MIN, 0.5, -1e300, "", "é✓",
            [1, [2, [3]]], {"b": 1, "a": [null, {"c": "d"}]}
        ]);
        p.lists.push(List { name: String::new(), items: ListItems::Json(items.as_array().unwrap().clone()) });
        let q = Program::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(q.lists, p.lists);
        assert_eq!(q.to_bytes(), p.to_bytes());

        let mut deep = Json::Null;
        for _ in 0..MAX_DEPTH {
            deep = Json::Array(vec![deep]);
        }
        p.lists.push(List { name: String::new(), items: ListItems::Json(vec![deep]) });
        assert_eq!(Program::from_bytes(&p.to_bytes()).unwrap_err().message, "JSON nested too deep");
    }

    #[test]
    fn expressions_as_deep_as_the_compiler_allows_are_accepted() {
        // A left-leaning chain of sums nests as deep as the compiler lowers (64 levels below the comparison).
        let when = "n".to_string() + &" + n".repeat(MAX_DEPTH - 1) + " > 1";
        let doc = serde_json::json!({
            "leadscore": 1, "id": "deep", "fields": [{"id": "n", "type": "number"}],
            "rules": [{"id": "r", "group": "fit", "when": when, "points": 1}],
            "stages": [{"id": "lead"}]
        });
        let p = crate::compile_value(doc).program.expect("compiles");
        let q = Program::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(q.to_string(), p.to_string());
        assert!(p.nodes.len() > MAX_DEPTH);
    }
}

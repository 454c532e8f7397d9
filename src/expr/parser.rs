//! Recursive-descent parser. Precedence, lowest first: `if`, `or`, `and`, `not`, comparison / `in` /
//! `between`, `+ -`, `* / %`, unary `-`.

use super::lexer::{lex, Tok};
use super::{BinOp, Expr, Kind, Span, SyntaxError, MAX_DEPTH, MAX_LEN};
use crate::builtins::{Arith, Cmp};

/// True for words reserved by the language.
pub fn is_keyword(s: &str) -> bool {
    crate::valid::KEYWORDS.contains(&s)
}

/// Parses an expression. Always returns a tree; `errors` lists every syntax error found.
pub fn parse(src: &str) -> (Expr, Vec<SyntaxError>) {
    let mut errors = Vec::new();
    if src.len() > MAX_LEN {
        errors.push(SyntaxError {
            span: (0, src.len()),
            message: format!("the expression is {} bytes long; the limit is {MAX_LEN}", src.len()),
        });
        return (Expr { kind: Kind::Error, span: (0, src.len()) }, errors);
    }
    // Invalid characters were reported by the lexer; the parser reads on without them.
    let toks: Vec<_> = lex(src, &mut errors).into_iter().filter(|(t, _)| *t != Tok::Bad).collect();
    let mut p = Parser { toks, pos: 0, errors, depth: 0, end: src.len(), too_deep: false };
    let e = if p.toks.is_empty() {
        p.errors.push(SyntaxError { span: (0, src.len()), message: "the expression is empty".into() });
        Expr { kind: Kind::Error, span: (0, src.len()) }
    } else {
        p.expr()
    };
    if let Some((t, span)) = p.toks.get(p.pos).cloned() {
        let msg = match t {
            Tok::Punct(')') => "this `)` has no matching `(`".to_string(),
            _ => format!("expected an operator or the end of the expression, found {}", describe(&t)),
        };
        p.error(span, msg);
    }
    (e, p.errors)
}

struct Parser {
    toks: Vec<(Tok, Span)>,
    pos: usize,
    errors: Vec<SyntaxError>,
    depth: usize,
    end: usize,
    too_deep: bool,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("the number {n}"),
        Tok::Str(s) => format!("the string \"{s}\""),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Punct(c) => format!("`{c}`"),
        Tok::Op(o) => format!("`{o}`"),
        Tok::Bad => "an invalid character".into(),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn peek_span(&self) -> Span {
        self.toks.get(self.pos).map_or((self.end, self.end), |(_, s)| *s)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == w)
    }

    fn is_word_at(&self, pos: usize, w: &str) -> bool {
        matches!(self.toks.get(pos), Some((Tok::Ident(s), _)) if s == w)
    }

    fn is_op(&self, o: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(s)) if *s == o)
    }

    fn is_punct(&self, c: char) -> bool {
        matches!(self.peek(), Some(Tok::Punct(p)) if *p == c)
    }

    fn bump(&mut self) -> Span {
        let s = self.peek_span();
        self.pos += 1;
        s
    }

    fn error(&mut self, span: Span, message: impl Into<String>) {
        // One error per position is enough: later ones there are consequences of the first.
        if self.errors.last().is_some_and(|e| e.span.0 == span.0) {
            return;
        }
        self.errors.push(SyntaxError { span, message: message.into() });
    }

    fn expect_word(&mut self, w: &str, context: &str) -> bool {
        if self.is_word(w) {
            self.bump();
            true
        } else {
            let span = self.peek_span();
            let found = self.peek().map_or("the end of the expression".to_string(), describe);
            self.error(span, format!("expected `{w}` {context}, found {found}"));
            false
        }
    }

    fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            if !self.too_deep {
                let span = self.peek_span();
                self.error(span, format!("the expression nests more than {MAX_DEPTH} levels deep"));
                self.too_deep = true;
            }
            return false;
        }
        true
    }

    fn expr(&mut self) -> Expr {
        if !self.enter() {
            self.pos = self.toks.len();
            return Expr { kind: Kind::Error, span: (self.end, self.end) };
        }
        let e = if self.is_word("if") {
            let start = self.bump().0;
            let c = self.expr();
            self.expect_word("then", "after the condition of `if`");
            let a = self.expr();
            self.expect_word("else", "after the `then` branch (every `if` needs an `else`)");
            let b = self.expr();
            let end = b.span.1;
            Expr { kind: Kind::If(Box::new(c), Box::new(a), Box::new(b)), span: (start, end) }
        } else {
            self.or()
        };
        self.depth -= 1;
        e
    }

    fn binary(l: Expr, op: BinOp, r: Expr) -> Expr {
        let span = (l.span.0, r.span.1);
        Expr { kind: Kind::Binary(op, Box::new(l), Box::new(r)), span }
    }

    fn or(&mut self) -> Expr {
        let mut l = self.and();
        while self.is_word("or") || self.is_op("or") {
            self.bump();
            let r = self.and();
            l = Self::binary(l, BinOp::Or, r);
        }
        l
    }

    fn and(&mut self) -> Expr {
        let mut l = self.not();
        while self.is_word("and") || self.is_op("and") {
            self.bump();
            let r = self.not();
            l = Self::binary(l, BinOp::And, r);
        }
        l
    }

    fn not(&mut self) -> Expr {
        if self.is_word("not") {
            if !self.enter() {
                self.pos = self.toks.len();
                return Expr { kind: Kind::Error, span: (self.end, self.end) };
            }
            let start = self.bump().0;
            let e = self.not();
            self.depth -= 1;
            let span = (start, e.span.1);
            return Expr { kind: Kind::Not(Box::new(e)), span };
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Expr {
        let l = self.additive();
        let e = if let Some(op) = self.cmp() {
            self.bump();
            let r = self.additive();
            Self::binary(l, BinOp::Cmp(op), r)
        } else if self.is_word("in") || (self.is_word("not") && self.is_word_at(self.pos + 1, "in")) {
            let negated = self.is_word("not");
            self.bump();
            if negated {
                self.bump();
            }
            let r = self.additive();
            let span = (l.span.0, r.span.1);
            Expr { kind: Kind::In(Box::new(l), Box::new(r), negated), span }
        } else if self.is_word("between") {
            self.bump();
            let lo = self.additive();
            self.expect_word("and", "between the bounds of `between`");
            let hi = self.additive();
            let span = (l.span.0, hi.span.1);
            Expr { kind: Kind::Between(Box::new(l), Box::new(lo), Box::new(hi)), span }
        } else {
            return l;
        };
        if self.cmp().is_some() {
            let span = self.peek_span();
            self.error(span, "comparisons do not chain: write `a < b and b < c`, or use `between`");
        }
        e
    }

    /// The comparison operator at the current token.
    fn cmp(&self) -> Option<Cmp> {
        let Some(Tok::Op(t)) = self.peek() else { return None };
        Cmp::ALL.iter().copied().find(|c| c.symbol() == *t)
    }

    /// The arithmetic operator at the current token that binds this tightly.
    fn arith(&self, binds: u8) -> Option<Arith> {
        let Some(Tok::Op(t)) = self.peek() else { return None };
        Arith::ALL.iter().copied().find(|a| a.binds() == binds && a.symbol() == *t)
    }

    fn additive(&mut self) -> Expr {
        let mut l = self.multiplicative();
        while let Some(op) = self.arith(1) {
            self.bump();
            let r = self.multiplicative();
            l = Self::binary(l, BinOp::Arith(op), r);
        }
        l
    }

    fn multiplicative(&mut self) -> Expr {
        let mut l = self.unary();
        while let Some(op) = self.arith(2) {
            self.bump();
            let r = self.unary();
            l = Self::binary(l, BinOp::Arith(op), r);
        }
        l
    }

    fn unary(&mut self) -> Expr {
        if self.is_op("-") {
            if !self.enter() {
                self.pos = self.toks.len();
                return Expr { kind: Kind::Error, span: (self.end, self.end) };
            }
            let start = self.bump().0;
            let e = self.unary();
            self.depth -= 1;
            let span = (start, e.span.1);
            return match e.kind {
                Kind::Num(n) => Expr { kind: Kind::Num(-n), span },
                _ => Expr { kind: Kind::Neg(Box::new(e)), span },
            };
        }
        self.primary()
    }

    fn primary(&mut self) -> Expr {
        let span = self.peek_span();
        let Some(tok) = self.peek().cloned() else {
            self.error(span, "the expression ends too early: a value is missing here");
            return Expr { kind: Kind::Error, span };
        };
        match tok {
            Tok::Num(n) => {
                self.bump();
                Expr { kind: Kind::Num(n), span }
            }
            Tok::Str(s) => {
                self.bump();
                Expr { kind: Kind::Str(s), span }
            }
            Tok::Ident(w) if w == "true" || w == "false" => {
                self.bump();
                Expr { kind: Kind::Bool(w == "true"), span }
            }
            Tok::Ident(w) if is_keyword(&w) => {
                self.bump();
                self.error(span, format!("expected a value, found the keyword `{w}`"));
                Expr { kind: Kind::Error, span }
            }
            Tok::Ident(name) => {
                self.bump();
                if self.is_punct('(') {
                    self.bump();
                    let args = self.items(')', "arguments");
                    let end = self.close(')', span.0);
                    Expr { kind: Kind::Call(name, span, args), span: (span.0, end) }
                } else {
                    Expr { kind: Kind::Name(name), span }
                }
            }
            Tok::Punct('(') => {
                self.bump();
                if !self.enter() {
                    self.pos = self.toks.len();
                    return Expr { kind: Kind::Error, span };
                }
                let mut e = self.expr();
                self.depth -= 1;
                let end = self.close(')', span.0);
                e.span = (span.0, end);
                e
            }
            Tok::Punct('[') => {
                self.bump();
                let items = self.items(']', "list items");
                let end = self.close(']', span.0);
                Expr { kind: Kind::List(items), span: (span.0, end) }
            }
            other => {
                self.bump();
                self.error(span, format!("expected a value, found {}", describe(&other)));
                Expr { kind: Kind::Error, span }
            }
        }
    }

    fn items(&mut self, close: char, what: &str) -> Vec<Expr> {
        let mut items = Vec::new();
        if self.is_punct(close) {
            return items;
        }
        if !self.enter() {
            self.pos = self.toks.len();
            return items;
        }
        loop {
            items.push(self.expr());
            if self.is_punct(',') {
                self.bump();
                continue;
            }
            if self.is_punct(close) || self.peek().is_none() {
                break;
            }
            let span = self.peek_span();
            let found = self.peek().map_or(String::new(), describe);
            self.error(span, format!("expected `,` or `{close}` between {what}, found {found}"));
            // Skip to the closing bracket to resynchronise.
            while self.peek().is_some() && !self.is_punct(close) {
                self.bump();
            }
            break;
        }
        self.depth -= 1;
        items
    }

    fn close(&mut self, c: char, open_at: usize) -> usize {
        if self.is_punct(c) {
            return self.bump().1;
        }
        let span = self.peek_span();
        let opener = if c == ')' { '(' } else { '[' };
        self.error(span, format!("expected `{c}` to close the `{opener}` at offset {open_at}"));
        span.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sexpr(e: &Expr) -> String {
        match &e.kind {
            Kind::Num(n) => n.to_string(),
            Kind::Str(s) => format!("{s:?}"),
            Kind::Bool(b) => b.to_string(),
            Kind::List(v) => format!("[{}]", v.iter().map(sexpr).collect::<Vec<_>>().join(" ")),
            Kind::Name(n) => n.clone(),
            Kind::Not(a) => format!("(not {})", sexpr(a)),
            Kind::Neg(a) => format!("(- {})", sexpr(a)),
            Kind::Binary(op, a, b) => format!("({} {} {})", op.as_str(), sexpr(a), sexpr(b)),
            Kind::In(a, b, n) => format!("({} {} {})", if *n { "not-in" } else { "in" }, sexpr(a), sexpr(b)),
            Kind::Between(a, b, c) => format!("(between {} {} {})", sexpr(a), sexpr(b), sexpr(c)),
            Kind::Call(f, _, args) => format!("({f} {})", args.iter().map(sexpr).collect::<Vec<_>>().join(" ")),
            Kind::If(c, a, b) => format!("(if {} {} {})", sexpr(c), sexpr(a), sexpr(b)),
            Kind::Error => "ERR".into(),
        }
    }

    fn ok(src: &str, want: &str) {
        let (e, errs) = parse(src);
        assert!(errs.is_empty(), "{src}: {errs:?}");
        assert_eq!(sexpr(&e), want, "{src}");
    }

    fn fails(src: &str, want: &str) {
        let (_, errs) = parse(src);
        let got: Vec<_> = errs.iter().map(|e| format!("{}..{} {}", e.span.0, e.span.1, e.message)).collect();
        assert_eq!(got.join("\n"), want, "{src}");
    }

    #[test]
    fn precedence_and_forms() {
        ok("a or b and not c", "(or a (and b (not c)))");
        ok("x + 2 * 3 >= 10 - -y", "(>= (+ x (* 2 3)) (- 10 (- y)))");
        ok("employees between 50 and 1000 and fit > 3", "(and (between employees 50 1000) (> fit 3))");
        ok("domain(email) not in free_mail", "(not-in (domain email) free_mail)");
        ok("if a = 1 then 'x' else \"y\"", "(if (== a 1) \"x\" \"y\")");
        ok("country in ['IT', 'DE']", "(in country [\"IT\" \"DE\"])");
        ok("min(1, 2, max(3))", "(min 1 2 (max 3))");
        ok("not not a", "(not (not a))");
        ok("1_000 * .5e1", "(* 1000 5)");
    }

    #[test]
    fn errors_are_all_collected_with_spans() {
        fails("employees >=", "12..12 the expression ends too early: a value is missing here");
        fails("a && b", "2..4 write `and` instead of `&&`");
        fails("(a > 1", "6..6 expected `)` to close the `(` at offset 0");
        fails("a < b < c", "6..7 comparisons do not chain: write `a < b and b < c`, or use `between`");
        fails("x between 1", "11..11 expected `and` between the bounds of `between`, found the end of the expression");
        fails("'abc", "0..4 this string has no closing quote");
        fails(
            "a $ b",
            "2..3 unexpected character `$`\n4..5 expected an operator or the end of the expression, found `b`",
        );
        fails("", "0..0 the expression is empty");
        fails("'\\é'", "1..4 unknown escape `\\é`; use \\\\, \\\", \\', \\n or \\t");
    }

    #[test]
    fn depth_is_limited_without_overflow() {
        let deep = "(".repeat(1_500) + "1" + &")".repeat(1_500);
        let (_, errs) = parse(&deep);
        assert!(errs.iter().any(|e| e.message.contains("nests more than 64")));
        let deep = "not ".repeat(900) + "a";
        let (_, errs) = parse(&deep);
        assert!(errs.iter().any(|e| e.message.contains("nests more than 64")));
        let deep = "- ".repeat(1_500) + "a";
        let (_, errs) = parse(&deep);
        assert!(errs.iter().any(|e| e.message.contains("nests more than 64")));
        let (_, errs) = parse(&"1+".repeat(3_000));
        assert_eq!(errs[0].message, "the expression is 6000 bytes long; the limit is 4000");
    }
}

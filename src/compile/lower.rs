//! Lowering expressions: the syntax tree of an expression, checked (names, types, options, where it stands),
//! to the program's nodes. JsonLogic values go to `jsonlogic.rs`; both build through `build.rs`.

use super::*;
use crate::builtins::{Sig, Type};

/// Static type of an expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Ty {
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
    pub(super) fn as_type(self) -> Option<Type> {
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
    pub(super) fn of(t: Type) -> Ty {
        match t {
            Type::Num => Ty::Num,
            Type::Str => Ty::Str,
            Type::Bool => Ty::Bool,
            Type::Multi => Ty::Err,
            Type::StrList => Ty::StrList,
            Type::NumList => Ty::NumList,
            Type::Json => Ty::Err,
        }
    }

    pub(super) fn name(self) -> &'static str {
        self.as_type().map_or("an invalid value", Type::name)
    }
}

impl Compiler<'_> {
    /// Compiles a condition (expects a boolean).
    pub(super) fn cond(&mut self, e: &model::Expr, scope: &Scope) -> NodeId {
        self.typed(e, scope, Ty::Bool)
    }

    /// Compiles a number expression.
    pub(super) fn number(&mut self, e: &model::Expr, scope: &Scope) -> NodeId {
        self.typed(e, scope, Ty::Num)
    }

    pub(super) fn typed(&mut self, e: &model::Expr, scope: &Scope, want: Ty) -> NodeId {
        match &e.0 {
            Json::String(src) => {
                let (ast, errors) = expr::parse(src);
                if !errors.is_empty() {
                    for err in errors {
                        let d = Diagnostic::error(Code::ExprSyntax, scope.pointer.clone(), err.message)
                            .with_expr_span(err.span.0, err.span.1);
                        self.b.diags.push(d);
                    }
                    return self.b.push(Node::Bool(false));
                }
                let (node, ty) = self.lower(&ast, scope, 0);
                if ty != want && ty != Ty::Err {
                    let d = Diagnostic::error(
                        Code::Type,
                        scope.pointer.clone(),
                        format!("expected {}, but this expression is {}", want.name(), ty.name()),
                    )
                    .with_expr_span(ast.span.0, ast.span.1);
                    self.b.diags.push(d);
                }
                node
            }
            Json::Bool(b) if want == Ty::Bool => self.b.push(Node::Bool(*b)),
            Json::Number(n) if want == Ty::Num => {
                let v = n.as_f64().unwrap_or(0.0);
                self.b.push(Node::Num(v))
            }
            other => jsonlogic::compile(&mut self.b, &self.names, other, scope, want == Ty::Bool),
        }
    }

    pub(super) fn type_error(&mut self, scope: &Scope, span: expr::Span, msg: String) -> (NodeId, Ty) {
        self.b.diags.push(Diagnostic::error(Code::Type, scope.pointer.clone(), msg).with_expr_span(span.0, span.1));
        (self.b.push(Node::Bool(false)), Ty::Err)
    }

    pub(super) fn expect(&mut self, e: &expr::Expr, scope: &Scope, depth: usize, want: Ty, what: &str) -> NodeId {
        let (n, ty) = self.lower(e, scope, depth);
        if ty != want && ty != Ty::Err {
            self.b.diags.push(
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

    pub(super) fn field_ref(&mut self, f: u32, scope: &Scope, span: expr::Span) -> bool {
        if let Some(limit) = scope.before {
            if self.names.position[f as usize] >= limit {
                let id = self.b.p.fields.get(f as usize).map_or_else(|| format!("#{f}"), |d| d.id.clone());
                self.b.diags.push(
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
        self.b.reads.push(f);
        true
    }

    pub(super) fn field_kind(&self, f: u32) -> FieldType {
        // Fields are compiled in order; a field's own conditions only see earlier ones, which exist.
        self.b.p.fields.get(f as usize).map_or(FieldType::String, |d| d.kind)
    }

    pub(super) fn unknown_name(&mut self, name: &str, scope: &Scope, span: expr::Span, what: &str) -> (NodeId, Ty) {
        let mut d = Diagnostic::error(Code::UnknownName, scope.pointer.clone(), format!("`{name}` is not {what}"))
            .with_expr_span(span.0, span.1);
        let mut names: Vec<&str> = self.names.syms.keys().map(String::as_str).collect();
        names.sort_unstable();
        if let Some(s) = closest(name, names.into_iter()) {
            d = d.with_note(format!("did you mean `{s}`?"));
        }
        self.b.diags.push(d);
        (self.b.push(Node::Bool(false)), Ty::Err)
    }

    pub(super) fn lower(&mut self, e: &expr::Expr, scope: &Scope, depth: usize) -> (NodeId, Ty) {
        if depth > expr::MAX_DEPTH {
            self.b.diags.push(
                Diagnostic::error(
                    Code::Limit,
                    scope.pointer.clone(),
                    format!("the expression nests more than {} levels deep", expr::MAX_DEPTH),
                )
                .with_expr_span(e.span.0, e.span.1),
            );
            return (self.b.push(Node::Bool(false)), Ty::Err);
        }
        let d = depth + 1;
        match &e.kind {
            Kind::Num(n) => (self.b.push(Node::Num(*n)), Ty::Num),
            Kind::Str(s) => {
                let i = self.b.string(s);
                (self.b.push(Node::Str(i)), Ty::Str)
            }
            Kind::Bool(b) => (self.b.push(Node::Bool(*b)), Ty::Bool),
            Kind::Error => (self.b.push(Node::Bool(false)), Ty::Err),
            Kind::List(_) => {
                let l = self.list_literal(e, scope);
                match l {
                    Some((l, ty)) => (self.b.push(Node::List(l)), ty),
                    None => (self.b.push(Node::Bool(false)), Ty::Err),
                }
            }
            Kind::Name(name) => match self.names.syms.get(name.as_str()).copied() {
                Some(Sym::Field(f)) => {
                    if !self.field_ref(f, scope, e.span) {
                        return (self.b.push(Node::Bool(false)), Ty::Err);
                    }
                    let ty = match self.field_kind(f) {
                        FieldType::Number | FieldType::Integer => Ty::Num,
                        FieldType::Boolean => Ty::Bool,
                        FieldType::Multi => Ty::Set(f),
                        _ => Ty::Str,
                    };
                    (self.b.push(Node::Field(f)), ty)
                }
                Some(Sym::List(l)) => {
                    let ty = match self.b.p.lists[l as usize].items {
                        ListItems::Num(_) => Ty::NumList,
                        _ => Ty::StrList,
                    };
                    (self.b.push(Node::List(l)), ty)
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
                (self.b.push(Node::Not(a)), Ty::Bool)
            }
            Kind::Neg(a) => {
                let a = self.expect(a, scope, d, Ty::Num, "the operand of `-`");
                (self.b.push(Node::Neg(a)), Ty::Num)
            }
            Kind::Binary(op, a, b) => self.binary(*op, a, b, e, scope, d),
            Kind::In(x, l, negated) => {
                let n = self.membership(x, l, scope, d);
                if *negated {
                    (self.b.push(Node::Not(n.0)), n.1)
                } else {
                    n
                }
            }
            Kind::Between(x, lo, hi) => {
                let x = self.expect(x, scope, d, Ty::Num, "the value tested by `between`");
                let lo = self.expect(lo, scope, d, Ty::Num, "the lower bound of `between`");
                let hi = self.expect(hi, scope, d, Ty::Num, "the upper bound of `between`");
                (self.b.push(Node::Between(x, lo, hi)), Ty::Bool)
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
                (self.b.push(Node::If(c, an, bn)), ty)
            }
            Kind::Call(name, name_span, args) => self.call(name, *name_span, args, e, scope, d),
        }
    }

    pub(super) fn score_ref(&mut self, node: Node, scope: &Scope, span: expr::Span) -> (NodeId, Ty) {
        if !scope.scores {
            self.b.diags.push(
                Diagnostic::error(
                    Code::Reference,
                    scope.pointer.clone(),
                    "scores can only be read in stage conditions: rules, knockouts and the form are evaluated before scores exist",
                )
                .with_expr_span(span.0, span.1),
            );
            return (self.b.push(Node::Bool(false)), Ty::Err);
        }
        (self.b.push(node), Ty::Num)
    }

    pub(super) fn list_literal(&mut self, e: &expr::Expr, scope: &Scope) -> Option<(u32, Ty)> {
        let Kind::List(items) = &e.kind else { return None };
        let mut strs = vec![];
        let mut nums = vec![];
        for it in items {
            match &it.kind {
                Kind::Str(s) => strs.push(Box::<str>::from(s.as_str())),
                Kind::Num(n) => nums.push(*n),
                _ => {
                    self.b.diags.push(
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
            self.b.diags.push(
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
        self.b.p.lists.push(List { name: String::new(), items });
        Some(((self.b.p.lists.len() - 1) as u32, ty))
    }

    /// Checks string literals compared with a choice field against its options.
    pub(super) fn check_options(&mut self, field: Option<u32>, values: &[(&str, expr::Span)], scope: &Scope) {
        let Some(f) = field else { return };
        let Some(def) = self.b.p.fields.get(f as usize) else { return };
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
        self.b.diags.extend(bad);
    }

    pub(super) fn field_of(e: &expr::Expr, c: &Compiler) -> Option<u32> {
        match &e.kind {
            Kind::Name(n) => c.names.lookup_field(n),
            _ => None,
        }
    }

    pub(super) fn binary(
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
                (self.b.push(n), Ty::Bool)
            }
            BinOp::Arith(ar) => {
                let (an, at) = self.lower(a, scope, d);
                let (bn, bt) = self.lower(b, scope, d);
                if at == Ty::Err || bt == Ty::Err {
                    return (self.b.push(Node::Bool(false)), Ty::Err);
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
                (self.b.push(Node::Arith(ar, an, bn)), Ty::Num)
            }
            BinOp::Cmp(cmp) => {
                let (an, at) = self.lower(a, scope, d);
                let (bn, bt) = self.lower(b, scope, d);
                if at == Ty::Err || bt == Ty::Err {
                    return (self.b.push(Node::Bool(false)), Ty::Err);
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
                (self.b.push(Node::Cmp(cmp, an, bn)), Ty::Bool)
            }
        }
    }

    pub(super) fn membership(&mut self, x: &expr::Expr, l: &expr::Expr, scope: &Scope, d: usize) -> (NodeId, Ty) {
        let (xn, xt) = self.lower(x, scope, d);
        let (ln, lt) = self.lower(l, scope, d);
        if xt == Ty::Err || lt == Ty::Err {
            return (self.b.push(Node::Bool(false)), Ty::Err);
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
                let Node::List(li) = self.b.p.nodes[ln as usize] else {
                    return self.type_error(
                        scope,
                        span,
                        "`in` needs a list name or a list literal on its right".into(),
                    );
                };
                (self.b.push(Node::In(xn, li)), Ty::Bool)
            }
            (Ty::Str, Ty::Set(f)) => {
                if let Kind::Str(s) = &x.kind {
                    self.check_options(Some(f), &[(s, x.span)], scope);
                }
                let (s, n) = self.b.push_args(&[ln, xn]);
                (self.b.push(Node::Call(Func::Has, s, n)), Ty::Bool)
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

    pub(super) fn call(
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
                c.b.diags.push(
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
        let fail = |c: &mut Self| (c.b.push(Node::Bool(false)), Ty::Err);
        match name {
            "answered" => {
                if !arity(self, 1, 1) {
                    return fail(self);
                }
                match &args[0].kind {
                    Kind::Name(n) => match self.names.lookup_field(n) {
                        Some(f) => {
                            if !self.field_ref(f, scope, args[0].span) {
                                return fail(self);
                            }
                            (self.b.push(Node::Answered(f)), Ty::Bool)
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
                    Kind::Name(n) => match self.names.syms.get(n.as_str()) {
                        Some(Sym::Event(ev)) => *ev,
                        _ => return self.unknown_name(n, scope, args[0].span, "an event"),
                    },
                    _ => return self.type_error(scope, args[0].span, format!("`{name}` takes an event name")),
                };
                self.b.event_reads.push(ev);
                if name == "days_since" {
                    return (self.b.push(Node::DaysSince(ev)), Ty::Num);
                }
                let days = args.get(1).map(|a| self.expect(a, scope, d, Ty::Num, "the number of days"));
                (self.b.push(Node::Count(ev, days)), Ty::Num)
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
                    self.b.diags.push(diag);
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
                        Ty::StrList | Ty::NumList if !matches!(self.b.p.nodes[*node as usize], Node::List(_)) => {
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
                let (s, n) = self.b.push_args(&ids);
                (self.b.push(Node::Call(sig.runs, s, n)), Ty::of(sig.ret))
            }
        }
    }
}

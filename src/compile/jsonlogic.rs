//! JsonLogic -> program nodes, with json-logic-js semantics: JavaScript coercions, `and`/`or` returning
//! operands, json-logic-js truthiness (an empty array is false). `var` names must be fields of the model
//! (a typo is a compile error rather than a silent null). Unsupported: `map`, `filter`, `reduce`, `all`,
//! `some`, `none`, `log`, dotted `var` paths (and in `missing`, dotted names that start with a field). What
//! json-logic-js throws on or gives undefined for is an error; docs/rules.md lists every difference.

use serde_json::Value as Json;

use super::build::{Build, Scope};
use super::names::{closest, Names};
use crate::diagnostic::{escape_pointer, Code, Diagnostic};
use crate::program::{JsOp, Node, NodeId};

const OPS: &[&str] = &[
    "var",
    "missing",
    "missing_some",
    "if",
    "?:",
    "==",
    "===",
    "!=",
    "!==",
    "!",
    "!!",
    "or",
    "and",
    ">",
    ">=",
    "<",
    "<=",
    "max",
    "min",
    "+",
    "-",
    "*",
    "/",
    "%",
    "in",
    "cat",
    "substr",
    "merge",
];

/// Compiles a JsonLogic value. `cond`: used as a condition (truthiness); otherwise the result is made a
/// number the way json-logic-js's `+` does (parseFloat).
pub(crate) fn compile(c: &mut Build, names: &Names, v: &Json, scope: &Scope, cond: bool) -> NodeId {
    let mut depth = 0;
    let n = node(c, names, v, &scope.pointer, scope, &mut depth);
    if cond {
        n
    } else {
        let (s, len) = c.push_args(&[n]);
        c.push(Node::Js(JsOp::Add, s, len))
    }
}

fn error(c: &mut Build, code: Code, pointer: &str, msg: String) -> NodeId {
    c.diags.push(Diagnostic::error(code, pointer, msg));
    c.push(Node::Null)
}

fn node(c: &mut Build, names: &Names, v: &Json, pointer: &str, scope: &Scope, depth: &mut usize) -> NodeId {
    *depth += 1;
    if *depth > crate::expr::MAX_DEPTH {
        *depth -= 1;
        return error(
            c,
            Code::Limit,
            pointer,
            format!("the expression nests more than {} levels deep", crate::expr::MAX_DEPTH),
        );
    }
    let out = match v {
        Json::Null => c.push(Node::Null),
        Json::Bool(b) => c.push(Node::Bool(*b)),
        Json::Number(n) => c.push(Node::Num(n.as_f64().unwrap_or(0.0))),
        Json::String(s) => {
            let i = c.string(s);
            c.push(Node::Str(i))
        }
        Json::Array(items) => {
            let ids: Vec<NodeId> = items
                .iter()
                .enumerate()
                .map(|(i, x)| node(c, names, x, &format!("{pointer}/{i}"), scope, depth))
                .collect();
            let (s, n) = c.push_args(&ids);
            c.push(Node::Js(JsOp::Array, s, n))
        }
        Json::Object(map) => {
            if map.len() != 1 {
                *depth -= 1;
                return error(
                    c,
                    Code::ExprSyntax,
                    pointer,
                    format!("a JsonLogic operation is an object with exactly one key; this one has {}", map.len()),
                );
            }
            let (op, raw) = map.iter().next().map(|(k, v)| (k.as_str(), v)).unwrap_or(("", &Json::Null));
            let p = format!("{pointer}/{}", escape_pointer(op));
            operation(c, names, op, raw, &p, scope, depth)
        }
    };
    *depth -= 1;
    out
}

fn operation(c: &mut Build, names: &Names, op: &str, raw: &Json, p: &str, scope: &Scope, depth: &mut usize) -> NodeId {
    // Arguments: an array, or a single value standing for a one-element array.
    let args: Vec<(&Json, String)> = match raw {
        Json::Array(a) => a.iter().enumerate().map(|(i, x)| (x, format!("{p}/{i}"))).collect(),
        other => vec![(other, p.to_string())],
    };
    if op == "var" {
        return var(c, names, &args, p, scope, depth);
    }
    let js = match op {
        "==" => JsOp::LooseEq,
        "!=" => JsOp::LooseNe,
        "===" => JsOp::StrictEq,
        "!==" => JsOp::StrictNe,
        "<" => JsOp::Lt,
        "<=" => JsOp::Le,
        ">" => JsOp::Gt,
        ">=" => JsOp::Ge,
        "!" => JsOp::Not,
        "!!" => JsOp::Truthy,
        "and" => JsOp::And,
        "or" => JsOp::Or,
        "if" | "?:" => JsOp::If,
        "+" => JsOp::Add,
        "-" => JsOp::Sub,
        "*" => JsOp::Mul,
        "/" => JsOp::Div,
        "%" => JsOp::Rem,
        "min" => JsOp::Min,
        "max" => JsOp::Max,
        "in" => JsOp::In,
        "cat" => JsOp::Cat,
        "substr" => JsOp::Substr,
        "missing" => JsOp::Missing,
        "missing_some" => JsOp::MissingSome,
        "merge" => JsOp::Merge,
        "map" | "filter" | "reduce" | "all" | "some" | "none" | "log" | "method" => {
            return error(
                c,
                Code::ExprSyntax,
                p,
                format!("the JsonLogic operation `{op}` is not supported by leadscore"),
            );
        }
        other => {
            let mut d = Diagnostic::error(Code::UnknownName, p, format!("`{other}` is not a JsonLogic operation"));
            if let Some(s) = closest(other, OPS.iter().copied()) {
                d = d.with_note(format!("did you mean `{s}`?"));
            }
            c.diags.push(d);
            return c.push(Node::Null);
        }
    };
    let n = args.len();
    let arity_ok = match js {
        JsOp::Not | JsOp::Truthy => n == 1,
        JsOp::LooseEq
        | JsOp::LooseNe
        | JsOp::StrictEq
        | JsOp::StrictNe
        | JsOp::Gt
        | JsOp::Ge
        | JsOp::In
        | JsOp::Div
        | JsOp::Rem => n == 2,
        JsOp::Lt | JsOp::Le => n == 2 || n == 3,
        JsOp::Substr => n == 2 || n == 3,
        JsOp::MissingSome => n == 2,
        JsOp::Sub => n == 1 || n == 2,
        // json-logic-js's `*` is a reduce without an initial value, which throws on no operands; `and` and `or`
        // of nothing are undefined, which leadscore has no value for.
        JsOp::Mul | JsOp::And | JsOp::Or => n >= 1,
        _ => true,
    };
    if !arity_ok {
        return error(c, Code::Type, p, format!("`{op}` does not take {n} argument(s)"));
    }
    match js {
        JsOp::Missing => missing_names(c, names, op, &args),
        JsOp::MissingSome => {
            if let (Json::Null, ap) = &args[1] {
                // json-logic-js throws reading `null.length`.
                return error(c, Code::Type, ap, "`missing_some` takes a list of field names, not null".into());
            }
            if let (Json::Array(a), ap) = &args[1] {
                let keys: Vec<(&Json, String)> = a.iter().enumerate().map(|(i, x)| (x, format!("{ap}/{i}"))).collect();
                missing_names(c, names, op, &keys);
            }
        }
        _ => {}
    }
    let ids: Vec<NodeId> = args.iter().map(|(x, ap)| node(c, names, x, ap, scope, depth)).collect();
    let (s, len) = c.push_args(&ids);
    if matches!(js, JsOp::Missing | JsOp::MissingSome) {
        // The fields it names are read, as by `var` (and as the decoder finds them: `Program::missing_reads`).
        let mut fields = vec![];
        c.p.missing_reads(js, &ids, &mut fields);
        if let Some(limit) = scope.before {
            if let Some(&f) = fields.iter().find(|&&f| names.position[f as usize] >= limit) {
                // A computed name could be any field's.
                let name = c.p.fields[f as usize].id.clone();
                return error(
                    c,
                    Code::Reference,
                    p,
                    format!(
                        "`{op}` may look up `{name}`, which is asked after {}: a condition here may only use \
                         answers given before it",
                        scope.before_what
                    ),
                );
            }
        }
        c.reads.extend(fields);
    }
    c.push(Node::Js(js, s, len))
}

/// The constant names that `missing` is given (the items of its first argument when that is an array, else its
/// arguments; a key that is an array is a name and a default) may not be paths into a field, as in `var`
/// (json-logic-js would read `s.length` of a text answer). A dotted name that starts with no field finds
/// nothing there either, and is left alone.
fn missing_names(c: &mut Build, names: &Names, op: &str, args: &[(&Json, String)]) {
    let keys: Vec<(&Json, String)> = match args.first() {
        Some((Json::Array(a), p)) => a.iter().enumerate().map(|(i, x)| (x, format!("{p}/{i}"))).collect(),
        _ => args.to_vec(),
    };
    for (key, kp) in keys {
        let (name, np) = match key {
            Json::Array(a) => (a.first(), format!("{kp}/0")),
            k => (Some(k), kp),
        };
        if let Some(Json::String(name)) = name {
            if let Some((head, _)) = name.split_once('.').filter(|(head, _)| names.lookup_field(head).is_some()) {
                c.diags.push(Diagnostic::error(
                    Code::ExprSyntax,
                    &np,
                    format!("`{op}` \"{name}\": leadscore data is flat; `{head}` has no parts, name one field"),
                ));
            }
        }
    }
}

fn var(c: &mut Build, names: &Names, args: &[(&Json, String)], p: &str, scope: &Scope, depth: &mut usize) -> NodeId {
    let Some((name, np)) = args.first() else {
        return error(c, Code::ExprSyntax, p, "`var` needs a field name".into());
    };
    let name = match name {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        _ => return error(c, Code::ExprSyntax, np, "`var` takes a field name (a string)".into()),
    };
    if name.is_empty() || name.contains('.') {
        return error(c, Code::ExprSyntax, np, format!("`var` \"{name}\": leadscore data is flat; name one field"));
    }
    let Some(f) = names.lookup_field(&name) else {
        let mut d = Diagnostic::error(Code::UnknownName, np, format!("`{name}` is not a field"));
        let ids: Vec<String> = c.p.fields.iter().map(|f| f.id.clone()).collect();
        if let Some(s) = closest(&name, ids.iter().map(String::as_str)) {
            d = d.with_note(format!("did you mean `{s}`?"));
        }
        c.diags.push(d);
        return c.push(Node::Null);
    };
    if let Some(limit) = scope.before {
        if names.position[f as usize] >= limit {
            return error(
                c,
                Code::Reference,
                np,
                format!(
                    "`{name}` is asked after {}: a condition here may only use answers given before it",
                    scope.before_what
                ),
            );
        }
    }
    c.reads.push(f);
    let default = args.get(1).map(|(d, dp)| node(c, names, d, dp, scope, depth));
    c.push(Node::Var(f, default))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use crate::vm::{Ctx, Slot, Val};
    use crate::{Answers, Events, Severity};

    /// A value as `tests/jsonlogic/generate.mjs` encodes json-logic-js's results.
    fn encode(p: &crate::Program, v: &Val) -> Json {
        match v {
            Val::Null => Json::Null,
            Val::Bool(b) => Json::Bool(*b),
            Val::Num(n) if *n == 0.0 && n.is_sign_negative() => json!({"n": "-0"}),
            Val::Num(n) => json!({"n": crate::host::js_string(*n)}),
            Val::Str(s) => Json::String(s.to_string()),
            Val::Arr(a) => a.iter().map(|x| encode(p, x)).collect(),
            Val::Set(bits, f) => {
                let options = &p.fields[*f as usize].options;
                let on = options.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0);
                on.map(|(_, o)| Json::from(o.value())).collect()
            }
            other => json!({"leadscore": format!("{other:?}")}),
        }
    }

    /// Every generated case (random expressions over typed fields, random answers) evaluates to what
    /// json-logic-js 2.0.5 gives, value and type, on a complete form. Where json-logic-js throws (`missing_some`
    /// of a computed null), evaluation cannot fail: nothing is missing there (docs/rules.md), and the case is
    /// counted but not compared.
    #[test]
    fn generated_cases_evaluate_as_in_json_logic_js() {
        // JSONLOGIC_CASES: another file the generator wrote (`--out`), to look further.
        let path = std::env::var("JSONLOGIC_CASES")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jsonlogic/cases.json").into());
        let file: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let (mut total, mut throws, mut failures) = (0, 0, vec![]);
        for (g, group) in file["groups"].as_array().unwrap().iter().enumerate() {
            let cases = group["cases"].as_array().unwrap();
            let rules: Vec<Json> = cases
                .iter()
                .enumerate()
                .map(|(k, c)| json!({"id": format!("r{k}"), "group": "fit", "points": 1, "when": c["logic"]}))
                .collect();
            let doc = json!({"leadscore": 1, "id": "conformance", "fields": file["fields"], "rules": rules,
                "stages": [{"id": "lead"}]});
            let compiled = crate::compile_value(doc);
            let errors: Vec<_> = compiled.diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
            let Some(p) = compiled.program else { panic!("group {g} does not compile: {errors:?}") };
            let (answers, issues) = Answers::from_json(&p, &group["answers"]);
            assert!(issues.is_empty(), "group {g}: {issues:?}");
            let slots: Vec<Slot> =
                (0..p.fields.len()).map(|i| answers.get(i).map_or(Slot::Absent, |_| Slot::Known)).collect();
            let events = Events::new(&p);
            let ctx = Ctx {
                p: &p,
                answers: &answers,
                slots: &slots,
                events: Some(&events),
                now: 0.0,
                scores: None,
                present: false,
            };
            for (k, case) in cases.iter().enumerate() {
                total += 1;
                let got = encode(&p, &ctx.eval(p.rules[k].when.unwrap()));
                let want = &case["result"];
                if let Some(message) = want.get("throws") {
                    throws += 1;
                    // Whatever the expression makes of that [].
                    let documented = message.as_str().is_some_and(|m| m.contains("reading 'length'"))
                        && case["logic"].to_string().contains("\"missing_some\"");
                    if documented {
                        continue;
                    }
                }
                if got != *want {
                    failures.push(format!("group {g} case {k}: {} gives {got}, json-logic-js {want}", case["logic"]));
                }
            }
        }
        eprintln!(
            "{total} generated JsonLogic cases ({throws} on which json-logic-js throws), {} differ",
            failures.len()
        );
        assert!(failures.is_empty(), "{} of {total} differ:\n{}", failures.len(), failures.join("\n"));
    }
}

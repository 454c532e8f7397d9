//! The document as text: strict JSON parsing with positions, and JSON pointer -> line/column.
//!
//! Parsing keeps no positions on the success path. Only when there are diagnostics is the text parsed again
//! to find where each pointer lies ([`locate`]).

use std::str::FromStr;

use jsonc_parser::ast;
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};

use crate::diagnostic::{escape_pointer, Code, Diagnostic, Position, Span};

/// Largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

fn strict() -> ParseOptions {
    ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parses strict JSON into a value. Duplicate keys are errors (the last one would win silently otherwise).
pub(crate) fn parse(text: &str, diags: &mut Vec<Diagnostic>) -> Option<serde_json::Value> {
    if text.len() > MAX_DOCUMENT_BYTES {
        diags.push(Diagnostic::error(
            Code::Limit,
            "",
            format!("the document is {} bytes; the limit is {MAX_DOCUMENT_BYTES}", text.len()),
        ));
        return None;
    }
    let parsed = match jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &strict()) {
        Ok(p) => p,
        Err(e) => {
            let r = e.range();
            let mut d = Diagnostic::error(Code::JsonSyntax, "", format!("invalid JSON: {}", e.kind()));
            d.span = Some(span_of(r.start, r.end.max(r.start)));
            diags.push(d);
            return None;
        }
    };
    let Some(root) = parsed.value else {
        let mut d = Diagnostic::error(Code::JsonSyntax, "", "the document is empty");
        d.span = Some(span_of(0, 0));
        diags.push(d);
        return None;
    };
    let mut pointer = String::new();
    Some(convert(&root, &mut pointer, diags))
}

fn convert(v: &ast::Value, pointer: &mut String, diags: &mut Vec<Diagnostic>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        ast::Value::StringLit(s) => J::String(s.value.to_string()),
        ast::Value::NumberLit(n) => match serde_json::Number::from_str(n.value) {
            Ok(num) => J::Number(num),
            Err(_) => {
                let mut d =
                    Diagnostic::error(Code::JsonSyntax, pointer.clone(), format!("number out of range: {}", n.value))
                        .with_note(
                            "numbers are read as finite doubles (at most 1.7976931348623157e308); JavaScript would \
                             read this one as Infinity",
                        );
                d.span = Some(span_of(n.range.start, n.range.end));
                diags.push(d);
                J::Null
            }
        },
        ast::Value::BooleanLit(b) => J::Bool(b.value),
        ast::Value::NullKeyword(_) => J::Null,
        ast::Value::Array(a) => {
            let mut out = Vec::with_capacity(a.elements.len());
            for (i, e) in a.elements.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                out.push(convert(e, pointer, diags));
                pointer.truncate(len);
            }
            J::Array(out)
        }
        ast::Value::Object(o) => {
            let mut out = serde_json::Map::new();
            for p in &o.properties {
                let name = p.name.as_str();
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_pointer(name));
                if out.contains_key(name) {
                    let r = match &p.name {
                        ast::ObjectPropName::String(s) => s.range,
                        ast::ObjectPropName::Word(w) => w.range,
                    };
                    let mut d = Diagnostic::error(
                        Code::Duplicate,
                        pointer.clone(),
                        format!("the key \"{name}\" appears twice in this object"),
                    );
                    d.span = Some(span_of(r.start, r.end));
                    diags.push(d);
                } else {
                    let value = convert(&p.value, pointer, diags);
                    out.insert(name.to_string(), value);
                }
                pointer.truncate(len);
            }
            J::Object(out)
        }
    }
}

/// Fills in `span` of every diagnostic that has a pointer but no span, by finding the pointer in `text`, and the
/// line and column of every span. For a diagnostic inside an expression string (`expr_span`), the span is
/// narrowed to that part of the string when the string has no escapes (otherwise it covers the whole string).
pub fn locate(text: &str, diags: &mut [Diagnostic]) {
    pointers(text, diags);
    positions(text, diags);
}

/// The byte range of each diagnostic that has none, from its JSON pointer.
fn pointers(text: &str, diags: &mut [Diagnostic]) {
    if diags.iter().all(|d| d.span.is_some()) {
        return;
    }
    let Ok(parsed) = jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default()) else {
        return;
    };
    let Some(root) = parsed.value else { return };
    for d in diags.iter_mut().filter(|d| d.span.is_none()) {
        let (node, missing_key) = find(&root, &d.pointer);
        let Some(node) = node else { continue };
        let r = node.range();
        if missing_key {
            // The pointer names a key the object lacks: point at the object's opening brace.
            d.span = Some(span_of(r.start, r.start + 1));
            continue;
        }
        let mut start = r.start;
        let mut end = r.end;
        if let (Some((a, b)), ast::Value::StringLit(_)) = (d.expr_span, node) {
            let raw = &text[r.start..r.end];
            // raw includes the quotes; without escapes, decoded byte i is raw byte i + 1.
            if !raw.contains('\\') && b + 2 <= raw.len() {
                start = r.start + 1 + a;
                end = r.start + 1 + b.max(a);
            }
        }
        d.span = Some(span_of(start, end));
    }
}

/// The node at `pointer`, or the deepest existing ancestor and `true` when a segment is missing.
fn find<'a, 'b>(root: &'b ast::Value<'a>, pointer: &str) -> (Option<&'b ast::Value<'a>>, bool) {
    let mut node = root;
    if pointer.is_empty() {
        return (Some(node), false);
    }
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        let next = match node {
            ast::Value::Object(o) => o.properties.iter().rev().find(|p| p.name.as_str() == seg).map(|p| &p.value),
            ast::Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.elements.get(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return (Some(node), true),
        }
    }
    (Some(node), false)
}

/// The span of a byte range, its lines and columns still to be found (line 0): [`positions`] finds them for
/// every diagnostic at once.
fn span_of(start: usize, end: usize) -> Span {
    let at = |offset| Position { offset, line: 0, column: 0 };
    Span { start: at(start), end: at(end) }
}

/// Finds the line and column of every span [`span_of`] made, in one pass over the text after sorting the
/// offsets: the work grows with the text plus the diagnostics, not with their product (one pass per diagnostic
/// made a large broken document take minutes).
fn positions(text: &str, diags: &mut [Diagnostic]) {
    let mut wanted: Vec<(usize, usize, bool)> = Vec::new();
    for (i, d) in diags.iter().enumerate() {
        if let Some(s) = d.span.filter(|s| s.start.line == 0) {
            wanted.push((s.start.offset, i, false));
            wanted.push((s.end.offset, i, true));
        }
    }
    wanted.sort_unstable();
    let (mut at, mut line, mut column) = (0, 1, 1);
    for (offset, i, end) in wanted {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        for c in text[at..offset.max(at)].chars() {
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        at = at.max(offset);
        let p = Position { offset, line, column };
        if let Some(span) = diags[i].span.as_mut() {
            *(if end { &mut span.end } else { &mut span.start }) = p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_locates_nested_values_and_expression_parts() {
        let text = "{\n  \"rules\": [\n    {\"when\": \"a >= 5\"}\n  ]\n}";
        let mut d = vec![Diagnostic::error(Code::Type, "/rules/0/when", "x").with_expr_span(5, 6)];
        locate(text, &mut d);
        let span = d[0].span.unwrap();
        assert_eq!((span.start.line, span.start.column), (3, 20));
        assert_eq!(&text[span.start.offset..span.end.offset], "5");
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_are_reported_with_positions() {
        let mut diags = vec![];
        let text = "{\"a\": 1,\n \"a\": 2}";
        parse(text, &mut diags);
        locate(text, &mut diags);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::Duplicate);
        assert_eq!(diags[0].span.unwrap().start.line, 2);
        let mut diags = vec![];
        assert!(parse("{\"a\": 1,}", &mut diags).is_none());
        assert_eq!(diags[0].code, Code::JsonSyntax);
    }

    #[test]
    fn a_number_beyond_doubles_is_an_error_that_says_what_javascript_reads() {
        // JSON.parse (and so json-logic-js) reads 1e309 as Infinity; serde_json values cannot hold it.
        let mut diags = vec![];
        let text = "{\"rules\": [{\"points\": {\"*\": [1e309, 0]}}]}";
        parse(text, &mut diags);
        assert_eq!(diags.len(), 1);
        assert_eq!((diags[0].code, diags[0].pointer.as_str()), (Code::JsonSyntax, "/rules/0/points/*/0"));
        assert!(diags[0].note.as_deref().is_some_and(|n| n.contains("Infinity")), "{:?}", diags[0]);
        let span = diags[0].span.unwrap();
        assert_eq!(&text[span.start.offset..span.end.offset], "1e309");
    }
}

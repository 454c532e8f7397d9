//! Tokens of the condition language.

use super::{Span, SyntaxError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    /// `( ) [ ] ,`
    Punct(char),
    /// `== = != < <= > >= + - * / %`
    Op(&'static str),
    /// Something that is not a token; already reported.
    Bad,
}

/// Splits `src` into tokens with their spans; every lexical error is collected, none stops the scan.
pub(crate) fn lex(src: &str, errors: &mut Vec<SyntaxError>) -> Vec<(Tok, Span)> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'0'..=b'9' | b'.' if c != b'.' || bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b'_') {
                    i += 1;
                }
                if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                    let mut j = i + 1;
                    if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                        j += 1;
                    }
                    if j < bytes.len() && bytes[j].is_ascii_digit() {
                        i = j;
                        while i < bytes.len() && bytes[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                let text: String = src[start..i].chars().filter(|&c| c != '_').collect();
                match text.parse::<f64>() {
                    Ok(n) if n.is_finite() => out.push((Tok::Num(n), (start, i))),
                    _ => {
                        errors.push(SyntaxError {
                            span: (start, i),
                            message: format!("`{}` is not a number", &src[start..i]),
                        });
                        out.push((Tok::Bad, (start, i)));
                    }
                }
                continue;
            }
            b'"' | b'\'' => {
                let quote = c;
                i += 1;
                let mut s = String::new();
                let mut closed = false;
                while i < bytes.len() {
                    let b = bytes[i];
                    if b == quote {
                        closed = true;
                        i += 1;
                        break;
                    }
                    if b == b'\\' && i + 1 < bytes.len() {
                        // The escaped character may be several bytes long.
                        let e = src[i + 1..].chars().next().unwrap_or('\u{fffd}');
                        let end = i + 1 + e.len_utf8();
                        match e {
                            '\\' | '"' | '\'' => s.push(e),
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            _ => errors.push(SyntaxError {
                                span: (i, end),
                                message: format!("unknown escape `\\{e}`; use \\\\, \\\", \\', \\n or \\t"),
                            }),
                        }
                        i = end;
                        continue;
                    }
                    // Copy one whole UTF-8 character.
                    let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
                    s.push(ch);
                    i += ch.len_utf8();
                }
                if !closed {
                    errors.push(SyntaxError { span: (start, i), message: "this string has no closing quote".into() });
                }
                out.push((Tok::Str(s), (start, i)));
                continue;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push((Tok::Ident(src[start..i].to_string()), (start, i)));
                continue;
            }
            b'(' | b')' | b'[' | b']' | b',' => {
                out.push((Tok::Punct(c as char), (i, i + 1)));
                i += 1;
                continue;
            }
            _ => {}
        }
        let two = src.get(i..i + 2).unwrap_or("");
        let op: Option<&'static str> = match two {
            "==" => Some("=="),
            "!=" => Some("!="),
            "<=" => Some("<="),
            ">=" => Some(">="),
            "&&" | "||" => {
                errors.push(SyntaxError {
                    span: (i, i + 2),
                    message: format!("write `{}` instead of `{two}`", if two == "&&" { "and" } else { "or" }),
                });
                out.push((Tok::Op(if two == "&&" { "and" } else { "or" }), (i, i + 2)));
                i += 2;
                continue;
            }
            _ => None,
        };
        if let Some(op) = op {
            out.push((Tok::Op(op), (i, i + 2)));
            i += 2;
            continue;
        }
        let one: Option<&'static str> = match c {
            b'=' => Some("=="),
            b'<' => Some("<"),
            b'>' => Some(">"),
            b'+' => Some("+"),
            b'-' => Some("-"),
            b'*' => Some("*"),
            b'/' => Some("/"),
            b'%' => Some("%"),
            _ => None,
        };
        if let Some(op) = one {
            out.push((Tok::Op(op), (i, i + 1)));
            i += 1;
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
        let end = i + ch.len_utf8();
        let message =
            if ch == '!' { "write `not` instead of `!`".to_string() } else { format!("unexpected character `{ch}`") };
        errors.push(SyntaxError { span: (i, end), message });
        out.push((Tok::Bad, (i, end)));
        i = end;
    }
    out
}

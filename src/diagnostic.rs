//! Diagnostics: what is wrong with a rules document, where, and how to show it.

use std::fmt;

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document compiles, but probably does not do what its author meant.
    Warning,
    /// The document does not compile.
    Error,
}

/// A position in a text: byte offset, and 1-based line and column (column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Position {
    /// Byte offset from the start of the text.
    pub offset: usize,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in Unicode scalar values.
    pub column: u32,
}

/// A range of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Span {
    /// First position.
    pub start: Position,
    /// Position just past the end.
    pub end: Position,
}

/// What kind of problem a diagnostic reports. The code is stable; messages may improve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Code {
    /// The document is not JSON: `{"a": }`.
    JsonSyntax,
    /// A key has the wrong type or is unknown: `{"leadscore": "1"}`, `{"feilds": []}`.
    Schema,
    /// The document says a format version this engine does not read: `"leadscore": 2`.
    Version,
    /// An expression does not parse: `employees >=`.
    ExprSyntax,
    /// A name is not a field, list, event or group: `employes > 5`.
    UnknownName,
    /// Operands of the wrong type: `industry > 5`, `"a" + 1`.
    Type,
    /// Two things share one id: two rules `"id": "title"`.
    Duplicate,
    /// Steps jump to each other in a loop, or a jump goes backwards.
    JumpCycle,
    /// A limit was exceeded: too many rules, a too deep expression, a list too long, a document too big.
    Limit,
    /// A reference that is not allowed where it stands: `score` inside a rule, a field used before it is asked.
    Reference,
    /// A value that cannot be right: a negative half-life, `min` above `max`, a `javascript:` URL.
    Value,
    /// Warning: no answer can reach this stage.
    UnreachableStage,
    /// Warning: this rule's condition can never be true.
    DeadRule,
    /// Warning: a required field can be hidden.
    HiddenRequired,
    /// Warning: a knockout holds only when an earlier one does (it is never the reason), or two knockouts
    /// test one field with overlapping values: `country in ['XX', 'YY']`, then `country == 'XX'`.
    OverlappingKnockouts,
}

impl Code {
    /// The code as written in JSON (`unknown_name`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::JsonSyntax => "json_syntax",
            Code::Schema => "schema",
            Code::Version => "version",
            Code::ExprSyntax => "expr_syntax",
            Code::UnknownName => "unknown_name",
            Code::Type => "type",
            Code::Duplicate => "duplicate",
            Code::JumpCycle => "jump_cycle",
            Code::Limit => "limit",
            Code::Reference => "reference",
            Code::Value => "value",
            Code::UnreachableStage => "unreachable_stage",
            Code::DeadRule => "dead_rule",
            Code::HiddenRequired => "hidden_required",
            Code::OverlappingKnockouts => "overlapping_knockouts",
        }
    }
}

/// One problem in a rules document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub code: Code,
    /// A sentence for people.
    pub message: String,
    /// JSON pointer of the offending value (`/rules/3/when`); empty for the whole document.
    pub pointer: String,
    /// Where in the document text; `None` when the document was not given as text.
    pub span: Option<Span>,
    /// For an expression: byte range inside the expression string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expr_span: Option<(usize, usize)>,
    /// Further detail: "first defined here", a suggestion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Diagnostic {
    pub(crate) fn error(code: Code, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            pointer: pointer.into(),
            span: None,
            expr_span: None,
            note: None,
        }
    }

    pub(crate) fn warning(code: Code, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, pointer, message) }
    }

    pub(crate) fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    pub(crate) fn with_expr_span(mut self, start: usize, end: usize) -> Self {
        self.expr_span = Some((start, end));
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}]: {}", self.code.as_str(), self.message)?;
        if let Some(span) = self.span {
            write!(f, " (at {}:{}", span.start.line, span.start.column)?;
            if !self.pointer.is_empty() {
                write!(f, ", {}", self.pointer)?;
            }
            write!(f, ")")?;
        } else if !self.pointer.is_empty() {
            write!(f, " (at {})", self.pointer)?;
        }
        Ok(())
    }
}

/// How many diagnostics the command-line tool (and the npm package's `formatDiagnostics`) prints as text before
/// saying how many more there are (all of them in `--format json`).
pub const SHOWN: usize = 50;

/// Renders diagnostics for a terminal: message, location, the source line and carets under the span.
pub fn render(diagnostics: &[Diagnostic], source: &str, file_name: &str) -> String {
    render_at_most(diagnostics, source, file_name, usize::MAX)
}

/// [`render`] for the first `max` diagnostics, then a line that says how many more there are. Each takes time
/// and space in proportion to its message and at most [`EXCERPT`] characters of its source line, whatever the
/// length of the line (a minified document is one line).
pub fn render_at_most(diagnostics: &[Diagnostic], source: &str, file_name: &str, max: usize) -> String {
    let mut out = String::new();
    for d in diagnostics.iter().take(max) {
        render_one(&mut out, d, source, file_name);
    }
    if diagnostics.len() > max {
        let more = diagnostics.len() - max;
        let (errors, warnings) =
            diagnostics[max..].iter().fold((0, 0), |(e, w), d| if d.is_error() { (e + 1, w) } else { (e, w + 1) });
        use fmt::Write;
        let _ = writeln!(
            out,
            "... and {more} more ({errors} errors, {warnings} warnings, not shown; `--format json` lists them all)\n"
        );
    }
    out
}

/// The most characters of a source line shown under a diagnostic: a longer line is cut to this many, with at
/// most the first number before the span.
pub const EXCERPT: (usize, usize) = (60, 160);

/// The part of the line around `start..end` that [`render`] shows: the text, whether it was cut before and
/// after, the span's column in it and its length in characters (at least 1).
fn excerpt(source: &str, start: usize, end: usize) -> (&str, bool, bool, usize, usize) {
    let total = EXCERPT.1;
    let shown = excerpt_with(source, start, end, total);
    if shown.1 || shown.2 {
        excerpt_with(source, start, end, EXCERPT.0)
    } else {
        shown
    }
}

/// [`excerpt`] with at most `before` characters before the span.
fn excerpt_with(source: &str, start: usize, end: usize, before: usize) -> (&str, bool, bool, usize, usize) {
    let mut start = start.min(source.len());
    while !source.is_char_boundary(start) {
        start -= 1;
    }
    let total = EXCERPT.1;
    let mut from = start;
    let mut column = 0;
    for (i, c) in source[..start].char_indices().rev() {
        if c == '\n' || column == before {
            break;
        }
        from = i;
        column += 1;
    }
    let cut_before = from > 0 && !source[..from].ends_with('\n');
    let mut to = start;
    let mut caret = 0;
    for (shown, (i, c)) in (column..).zip(source[start..].char_indices()) {
        if c == '\n' || shown == total {
            break;
        }
        to = start + i + c.len_utf8();
        if start + i < end {
            caret += 1;
        }
    }
    let cut_after = to < source.len() && !source[to..].starts_with(['\n', '\r']);
    (&source[from..to], cut_before, cut_after, column, caret.max(1))
}

fn render_one(out: &mut String, d: &Diagnostic, source: &str, file_name: &str) {
    use fmt::Write;
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{sev}[{}]: {}", d.code.as_str(), d.message);
    match d.span {
        Some(span) => {
            let _ = write!(out, "  --> {file_name}:{}:{}", span.start.line, span.start.column);
            if !d.pointer.is_empty() {
                let _ = write!(out, " ({})", d.pointer);
            }
            out.push('\n');
            let line_no = span.start.line as usize;
            if span.start.offset <= source.len() {
                let (text, cut_before, cut_after, col, len) = excerpt(source, span.start.offset, span.end.offset);
                let text = text.strip_suffix('\r').unwrap_or(text);
                let (pre, post) = (if cut_before { "…" } else { "" }, if cut_after { "…" } else { "" });
                let col = col + usize::from(cut_before);
                let width = line_no.to_string().len();
                let _ = writeln!(out, "{:width$} |", "");
                let _ = writeln!(out, "{line_no} | {pre}{text}{post}");
                let _ = writeln!(out, "{:width$} | {}{}", "", " ".repeat(col), "^".repeat(len));
            }
        }
        None if !d.pointer.is_empty() => {
            let _ = writeln!(out, "  --> {file_name} ({})", d.pointer);
        }
        None => {
            let _ = writeln!(out, "  --> {file_name}");
        }
    }
    if let Some(note) = &d.note {
        let _ = writeln!(out, "  = note: {note}");
    }
    out.push('\n');
}

/// Escapes one JSON pointer segment (RFC 6901).
pub(crate) fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minified document (one line) with an error in each of many rules.
    fn broken(rules: usize) -> String {
        let rules: Vec<String> =
            (0..rules).map(|i| format!(r#"{{"id":"r{i}","group":"fit","when":"nope{i} > 1","points":1}}"#)).collect();
        format!(
            r#"{{"leadscore":1,"id":"big","fields":[{{"id":"n","type":"number"}}],"rules":[{}],"stages":[{{"id":"lead"}}]}}"#,
            rules.join(",")
        )
    }

    #[test]
    fn long_lines_are_cut_around_the_span_and_many_diagnostics_summed_up() {
        let text = broken(2000);
        let compiled = crate::compile_str(&text);
        assert_eq!(compiled.diagnostics.len(), 2000);
        let last = compiled.diagnostics.last().unwrap();
        let span = last.span.unwrap();
        assert_eq!((span.start.line, span.start.column as usize), (1, text.find("nope1999").unwrap() + 1));
        let out = render_at_most(&compiled.diagnostics, &text, "big.json", 50);
        assert_eq!(out.matches("error[unknown_name]").count(), 50);
        assert!(
            out.ends_with("... and 1950 more (1950 errors, 0 warnings, not shown; `--format json` lists them all)\n\n")
        );
        for line in out.lines() {
            assert!(line.chars().count() <= EXCERPT.1 + 10, "{line}");
        }
        // The caret is under the unknown name.
        let lines: Vec<&str> = out.lines().collect();
        let at = lines.iter().position(|l| l.starts_with("1 | ")).unwrap();
        let caret = lines[at + 1].find('^').unwrap();
        let under: String = lines[at].chars().skip(caret).take(5).collect();
        assert_eq!(under, "nope0", "{}\n{}", lines[at], lines[at + 1]);
        assert!(lines[at].ends_with('…'));
        let whole = render(&compiled.diagnostics, &text, "big.json");
        assert_eq!(whole.matches("error[unknown_name]").count(), 2000);
        assert!(whole.len() < 2000 * 600, "{} bytes", whole.len());
    }
}

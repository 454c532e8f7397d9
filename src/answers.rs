//! Typed input: answers and events, checked against a program. Building them never fails: a bad value is
//! left out and reported as an [`Issue`] naming the field.

use serde::Serialize;
use serde_json::Value as Json;

use crate::host::Js;
use crate::model::FieldType;
use crate::program::{FieldDef, Program};

// Read by the Wasm full build (`score`, `evaluate`, `scoreBatch`), and tested natively.
#[cfg(all(feature = "compiler", any(test, target_arch = "wasm32")))]
mod text;
#[cfg(all(feature = "compiler", target_arch = "wasm32"))]
pub(crate) use text::Item;

/// Milliseconds in a day.
pub const DAY_MS: f64 = 86_400_000.0;

/// One answer, already checked against its field.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// number, integer
    Num(f64),
    /// string, email, country (upper case); with its lower-case form when that differs, computed once here
    /// rather than on every evaluation.
    Text(Box<str>, Option<Box<str>>),
    /// boolean
    Bool(bool),
    /// choice: option index
    Choice(u32),
    /// multi: bit set of option indexes
    Multi(u64),
}

impl Answer {
    /// A text answer.
    pub fn text(s: &str) -> Answer {
        let lower = crate::host::lower(s).map(Into::into);
        Answer::Text(s.into(), lower)
    }
}

/// A problem with one input value. The value is left out; evaluation goes on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// The field id (or event type) the problem is about.
    pub field: String,
    /// Stable code: `unknown_field`, `type`, `range`, `option`, `format`, `too_long`, `unknown_event`, `time`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

fn issue(field: &str, code: &'static str, message: impl Into<String>) -> Issue {
    Issue { field: field.to_string(), code, message: message.into() }
}

fn not_an_object() -> Issue {
    issue("", "type", "answers are an object of field ids to values")
}

fn unknown_field(key: &str) -> Issue {
    issue(key, "unknown_field", format!("`{key}` is not a field of this model; ignored"))
}

const EVENTS_NOT_A_LIST: &str = "events are a list of {\"type\", \"at\"} objects";

/// Answers to a program's fields, by field index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    pub(crate) slots: Vec<Option<Answer>>,
}

impl Answers {
    /// No answers yet.
    pub fn new(program: &Program) -> Self {
        Answers { slots: vec![None; program.fields.len()] }
    }

    /// No answers again, for `program`, keeping the room (a reader reuses one `Answers` for many leads).
    pub fn reset(&mut self, program: &Program) {
        self.slots.clear();
        self.slots.resize(program.fields.len(), None);
    }

    /// The answer to field `index`.
    pub fn get(&self, index: usize) -> Option<&Answer> {
        self.slots.get(index).and_then(Option::as_ref)
    }

    /// Removes the answer to field `index`.
    pub fn clear(&mut self, index: usize) {
        if let Some(s) = self.slots.get_mut(index) {
            *s = None;
        }
    }

    /// Builds answers from a JSON object `{field: value}`. `null` means unanswered.
    pub fn from_json(program: &Program, value: &Json) -> (Answers, Vec<Issue>) {
        let mut answers = Answers::new(program);
        let mut issues = Vec::new();
        let Json::Object(map) = value else {
            if !value.is_null() {
                issues.push(not_an_object());
            }
            return (answers, issues);
        };
        for (key, v) in map {
            match program.field_index(key) {
                Some(i) => {
                    if let Err(e) = answers.set_json(program, i, v) {
                        issues.push(e);
                    }
                }
                None => issues.push(unknown_field(key)),
            }
        }
        (answers, issues)
    }

    /// Sets field `index` from a JSON value; on error the field is left unanswered.
    pub fn set_json(&mut self, program: &Program, index: usize, v: &Json) -> Result<(), Issue> {
        let Some(f) = program.fields.get(index) else {
            return Err(issue("", "unknown_field", format!("no field #{index}")));
        };
        self.slots[index] = None;
        let a = match (f.kind, v) {
            (_, Json::Null) => return Ok(()),
            (FieldType::Number | FieldType::Integer, Json::Number(n)) => number(f, n.as_f64().unwrap_or(f64::NAN))?,
            (FieldType::Boolean, Json::Bool(b)) => Answer::Bool(*b),
            (FieldType::Multi, Json::Array(items)) => {
                let mut bits = 0u64;
                for it in items {
                    let Json::String(s) = it else {
                        return Err(issue(&f.id, "type", format!("`{}` takes a list of option values", f.id)));
                    };
                    bits |= 1 << option(f, s)?;
                }
                Answer::Multi(bits)
            }
            (FieldType::String | FieldType::Email | FieldType::Choice | FieldType::Country, Json::String(s)) => {
                text(f, s)?
            }
            (_, other) => {
                let want = match f.kind {
                    FieldType::Number | FieldType::Integer => "a number",
                    FieldType::Boolean => "true or false",
                    FieldType::Multi => "a list of option values",
                    _ => "a string",
                };
                let got = match other {
                    Json::Bool(_) => "a boolean",
                    Json::Number(_) => "a number",
                    Json::String(_) => "a string",
                    Json::Array(_) => "a list",
                    _ => "an object",
                };
                return Err(issue(&f.id, "type", format!("`{}` takes {want}, not {got}", f.id)));
            }
        };
        self.slots[index] = Some(a);
        Ok(())
    }

    /// Sets number or integer field `index`; on error the field is left unanswered.
    pub fn set_number(&mut self, program: &Program, index: usize, n: f64) -> Result<(), Issue> {
        let Some(f) = program.fields.get(index) else {
            return Err(issue("", "unknown_field", format!("no field #{index}")));
        };
        self.slots[index] = None;
        if !matches!(f.kind, FieldType::Number | FieldType::Integer) {
            return Err(issue(&f.id, "type", format!("`{}` does not take a number", f.id)));
        }
        self.slots[index] = Some(number(f, n)?);
        Ok(())
    }

    /// Sets boolean field `index`, as [`Answers::set_json`] sets it from `true` or `false`.
    #[cfg(all(feature = "leads", not(target_arch = "wasm32")))]
    pub(crate) fn set_bool(&mut self, program: &Program, index: usize, b: bool) -> Result<(), Issue> {
        self.set_with(program, index, FieldType::Boolean, |_| Ok(Answer::Bool(b)))
    }

    /// Sets text, email, country or choice field `index`, as [`Answers::set_json`] sets it from a string.
    #[cfg(any(feature = "compiler", all(feature = "leads", not(target_arch = "wasm32"))))]
    pub(crate) fn set_str(&mut self, program: &Program, index: usize, s: &str) -> Result<(), Issue> {
        let kind = program
            .fields
            .get(index)
            .map(|f| f.kind)
            .filter(|k| matches!(k, FieldType::String | FieldType::Email | FieldType::Choice | FieldType::Country));
        self.set_with(program, index, kind.unwrap_or(FieldType::String), |f| text(f, s))
    }

    /// Sets multi field `index`, as [`Answers::set_json`] sets it from a list of strings.
    #[cfg(all(feature = "leads", not(target_arch = "wasm32")))]
    pub(crate) fn set_options<'s>(
        &mut self,
        program: &Program,
        index: usize,
        items: impl Iterator<Item = &'s str>,
    ) -> Result<(), Issue> {
        self.set_with(program, index, FieldType::Multi, |f| {
            let mut bits = 0u64;
            for s in items {
                bits |= 1 << option(f, s)?;
            }
            Ok(Answer::Multi(bits))
        })
    }

    /// Sets choice field `index` to its option number `option` (in the order of the field's options), as
    /// [`Answers::set_json`] sets it from that option's value: a batch of leads may give choices that way.
    #[cfg(all(feature = "compiler", target_arch = "wasm32"))]
    pub(crate) fn set_choice(&mut self, program: &Program, index: usize, option: usize) -> Result<(), Issue> {
        self.set_with(program, index, FieldType::Choice, |f| match f.options.get(option) {
            Some(_) => Ok(Answer::Choice(option as u32)),
            None => Err(issue(
                &f.id,
                "option",
                format!("`{}` has {} options, numbered from 0: there is no option {option}", f.id, f.options.len()),
            )),
        })
    }

    /// Sets field `index`, of kind `kind`, to what `answer` makes of its definition; on error it is unanswered.
    #[cfg(any(feature = "compiler", all(feature = "leads", not(target_arch = "wasm32"))))]
    fn set_with(
        &mut self,
        program: &Program,
        index: usize,
        kind: FieldType,
        answer: impl FnOnce(&FieldDef) -> Result<Answer, Issue>,
    ) -> Result<(), Issue> {
        let Some(f) = program.fields.get(index) else {
            return Err(issue("", "unknown_field", format!("no field #{index}")));
        };
        self.slots[index] = None;
        if f.kind != kind {
            return Err(issue(&f.id, "type", format!("`{}` does not take this value", f.id)));
        }
        self.slots[index] = Some(answer(f)?);
        Ok(())
    }

    /// Sets field `index` from text as a form or a CSV cell holds it: numbers in decimal, booleans as
    /// true/false/yes/no/1/0/on/off, multi values separated by `;`. Empty text means unanswered.
    pub fn set_text(&mut self, program: &Program, index: usize, raw: &str) -> Result<(), Issue> {
        let Some(f) = program.fields.get(index) else {
            return Err(issue("", "unknown_field", format!("no field #{index}")));
        };
        self.slots[index] = None;
        let s = raw.trim();
        if s.is_empty() {
            return Ok(());
        }
        let a = match f.kind {
            FieldType::Number | FieldType::Integer => match crate::host::parse_f64(s) {
                Some(n) => number(f, n)?,
                None => return Err(issue(&f.id, "type", format!("`{}` takes a number, not \"{}\"", f.id, clip(s)))),
            },
            // Compared ignoring ASCII case, without a lower-case copy.
            FieldType::Boolean => match ["true", "yes", "1", "on", "false", "no", "0", "off"]
                .iter()
                .position(|w| s.eq_ignore_ascii_case(w))
            {
                Some(i) => Answer::Bool(i < 4),
                None => {
                    return Err(issue(&f.id, "type", format!("`{}` takes true or false, not \"{}\"", f.id, clip(s))))
                }
            },
            FieldType::Multi => {
                let mut bits = 0u64;
                for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                    bits |= 1 << option(f, part)?;
                }
                Answer::Multi(bits)
            }
            _ => text(f, raw)?,
        };
        self.slots[index] = Some(a);
        Ok(())
    }

    /// Sets field `index` from the values its controls submit, in document order: every value of a multi
    /// field (each one option), the first non-empty value of any other field (as [`Answers::set_text`]
    /// reads it). No non-empty value means unanswered. This is how a browser's form, the form controller
    /// and a server receiving the form all read a field, so that they cannot disagree.
    pub fn set_form_values<S: AsRef<str>>(
        &mut self,
        program: &Program,
        index: usize,
        values: &[S],
    ) -> Result<(), Issue> {
        let Some(f) = program.fields.get(index) else {
            return Err(issue("", "unknown_field", format!("no field #{index}")));
        };
        self.slots[index] = None;
        let mut given = values.iter().map(AsRef::as_ref).filter(|v| !v.trim().is_empty());
        if f.kind == FieldType::Multi {
            let mut bits = 0u64;
            for v in given {
                bits |= 1 << option(f, v.trim())?;
            }
            if bits != 0 {
                self.slots[index] = Some(Answer::Multi(bits));
            }
            return Ok(());
        }
        match given.next() {
            Some(first) => self.set_text(program, index, first),
            None => Ok(()),
        }
    }

    /// Reads a submitted form: its entries `(name, value)` in order, as a browser's `FormData` or an
    /// urlencoded body holds them. Entries that name no field (the controller's hidden inputs, a honeypot,
    /// a CSRF token) are not answers and are skipped; a value that a field refuses is left out and reported.
    pub fn from_form_entries<'a, I>(program: &Program, entries: I) -> (Answers, Vec<Issue>)
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut values: Vec<Vec<&str>> = vec![vec![]; program.fields.len()];
        for (name, value) in entries {
            if let Some(i) = program.field_index(name) {
                values[i].push(value);
            }
        }
        let mut answers = Answers::new(program);
        let mut issues = vec![];
        for (i, v) in values.iter().enumerate() {
            if let Err(e) = answers.set_form_values(program, i, v) {
                issues.push(e);
            }
        }
        (answers, issues)
    }

    /// The answer as JSON (for ledgers and output).
    pub fn to_json(&self, program: &Program, index: usize) -> Json {
        answer_json(program, index, self.get(index))
    }
}

/// A number as JSON: whole numbers as integers (`14`, not `14.0`), the same on every platform; a non-finite
/// number as `null`.
pub(crate) fn num_json(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Json::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

pub(crate) fn answer_json(program: &Program, index: usize, a: Option<&Answer>) -> Json {
    let Some(f) = program.fields.get(index) else { return Json::Null };
    match a {
        None => Json::Null,
        Some(Answer::Num(n)) => num_json(*n),
        Some(Answer::Text(s, _)) => Json::String(s.to_string()),
        Some(Answer::Bool(b)) => Json::Bool(*b),
        Some(Answer::Choice(i)) => {
            f.options.get(*i as usize).map_or(Json::Null, |o| Json::String(o.value().to_string()))
        }
        Some(Answer::Multi(bits)) => Json::Array(
            f.options
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, o)| Json::String(o.value().to_string()))
                .collect(),
        ),
    }
}

/// An answer as a form sends it: a number as JavaScript writes it, `true` or `false`, a choice's value, a multi
/// answer's values joined by `,`; empty when unanswered.
pub(crate) fn answer_text(program: &Program, index: usize, a: Option<&Answer>) -> String {
    let option = |i: usize| program.fields.get(index).and_then(|f| f.options.get(i)).map_or("", |o| o.value());
    match a {
        None => String::new(),
        Some(Answer::Num(n)) => crate::host::js_string(*n),
        Some(Answer::Text(s, _)) => s.to_string(),
        Some(Answer::Bool(b)) => if *b { "true" } else { "false" }.to_string(),
        Some(Answer::Choice(i)) => option(*i as usize).to_string(),
        Some(Answer::Multi(bits)) => {
            let mut out = String::new();
            for i in 0..64 {
                if bits & (1 << i) == 0 {
                    continue;
                }
                if !out.is_empty() {
                    out.push(',');
                }
                out.push_str(option(i));
            }
            out
        }
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        s.chars().take(40).collect::<String>() + "…"
    } else {
        s.to_string()
    }
}

/// The issue of a number that is not finite (NaN, an infinity) given to `field`. JSON has no such numbers, so a
/// JS caller's `NaN` becomes `null` on the way in; the JS wing finds them and reports each with this.
pub(crate) fn not_finite(field: &str, n: f64) -> Issue {
    issue(field, "range", format!("`{field}` takes a finite number, not {}", Js(n)))
}

fn number(f: &FieldDef, n: f64) -> Result<Answer, Issue> {
    if !n.is_finite() {
        return Err(not_finite(&f.id, n));
    }
    if f.kind == FieldType::Integer && n.fract() != 0.0 {
        return Err(issue(&f.id, "type", format!("`{}` takes a whole number, not {}", f.id, Js(n))));
    }
    if let Some(lo) = f.min {
        if n < lo {
            return Err(issue(&f.id, "range", format!("`{}` is at least {}; {} is too small", f.id, Js(lo), Js(n))));
        }
    }
    if let Some(hi) = f.max {
        if n > hi {
            return Err(issue(&f.id, "range", format!("`{}` is at most {}; {} is too large", f.id, Js(hi), Js(n))));
        }
    }
    // -0 and 0 answer alike.
    Ok(Answer::Num(if n == 0.0 { 0.0 } else { n }))
}

fn option(f: &FieldDef, s: &str) -> Result<usize, Issue> {
    f.option_index(s).ok_or_else(|| {
        let mut opts = String::new();
        for (i, o) in f.options.iter().take(12).enumerate() {
            opts.push_str(if i == 0 { "" } else { ", " });
            opts.push_str(o.value());
        }
        issue(&f.id, "option", format!("\"{}\" is not an option of `{}` (options: {opts})", clip(s), f.id))
    })
}

fn text(f: &FieldDef, s: &str) -> Result<Answer, Issue> {
    match f.kind {
        FieldType::Choice => return Ok(Answer::Choice(option(f, s.trim())? as u32)),
        FieldType::Country => {
            let c = s.trim();
            if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Ok(Answer::text(&c.to_ascii_uppercase()));
            }
            return Err(issue(
                &f.id,
                "format",
                format!("`{}` takes a two-letter country code such as IT, not \"{}\"", f.id, clip(c)),
            ));
        }
        _ => {}
    }
    let len = s.chars().count();
    if len > f.max_length as usize {
        return Err(issue(
            &f.id,
            "too_long",
            format!("`{}` takes at most {} characters; this has {len}", f.id, f.max_length),
        ));
    }
    if f.kind == FieldType::Email {
        let e = s.trim();
        let ok = match e.rsplit_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !e.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !ok {
            return Err(issue(&f.id, "format", format!("\"{}\" is not an email address", clip(e))));
        }
        return Ok(Answer::text(e));
    }
    Ok(Answer::text(s))
}

/// Recorded behaviour: occurrences of each event, as timestamps in milliseconds since 1970, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Events {
    pub(crate) times: Vec<Vec<f64>>,
}

impl Events {
    /// No events.
    pub fn new(program: &Program) -> Self {
        Events { times: vec![vec![]; program.events.len()] }
    }

    /// No events again, for `program`, keeping the room of each event's list.
    pub fn reset(&mut self, program: &Program) {
        self.times.resize_with(program.events.len(), Vec::new);
        for t in &mut self.times {
            t.clear();
        }
    }

    /// Records one occurrence of event `index` at `at_ms`. Non-finite times are rejected. (One insertion, in
    /// time linear in the event's occurrences: many at once go through [`Events::from_json`], in n log n.)
    pub fn record(&mut self, index: usize, at_ms: f64) -> Result<(), Issue> {
        let list = self.list(index, at_ms)?;
        let pos = list.partition_point(|&t| t > at_ms);
        list.insert(pos, at_ms);
        Ok(())
    }

    /// The occurrences of event `index`, if `at_ms` may join them.
    fn list(&mut self, index: usize, at_ms: f64) -> Result<&mut Vec<f64>, Issue> {
        if !at_ms.is_finite() {
            return Err(issue("", "time", "an event time must be a finite number of milliseconds"));
        }
        self.times.get_mut(index).ok_or_else(|| issue("", "unknown_event", format!("no event #{index}")))
    }

    /// Adds an occurrence as [`Events::record`] does, but unordered: [`Events::sort`] must follow.
    pub(crate) fn push(&mut self, index: usize, at_ms: f64) -> Result<(), Issue> {
        self.list(index, at_ms)?.push(at_ms);
        Ok(())
    }

    /// Puts each event's occurrences newest first, after [`Events::push`]: n log n, whatever their order.
    pub(crate) fn sort(&mut self) {
        for list in &mut self.times {
            if !list.is_sorted_by(|a, b| a >= b) {
                list.sort_unstable_by(|a, b| b.total_cmp(a));
            }
        }
    }

    /// Builds events from `[{"type": "page_view", "at": 1763900000000}, ...]` (`at` in milliseconds).
    pub fn from_json(program: &Program, value: &Json) -> (Events, Vec<Issue>) {
        let mut events = Events::new(program);
        let mut issues = Vec::new();
        let Json::Array(items) = value else {
            if !value.is_null() {
                issues.push(issue("", "type", EVENTS_NOT_A_LIST));
            }
            return (events, issues);
        };
        for (i, it) in items.iter().enumerate() {
            let ty = it.get("type").and_then(Json::as_str);
            let at = it.get("at").and_then(Json::as_f64);
            events.add_item(program, i, ty, at, &mut issues);
        }
        events.sort();
        (events, issues)
    }

    /// Item `i` of a list of events, its `type` if a string and its `at` if a number: recorded unsorted, or an
    /// issue.
    fn add_item(&mut self, program: &Program, i: usize, ty: Option<&str>, at: Option<f64>, issues: &mut Vec<Issue>) {
        match (ty, at) {
            (Some(t), Some(at)) => match program.event_index(t) {
                Some(e) => {
                    if let Err(mut x) = self.push(e, at) {
                        x.field = t.to_string();
                        issues.push(x);
                    }
                }
                None => issues.push(issue(t, "unknown_event", format!("`{t}` is not an event of this model; ignored"))),
            },
            _ => issues.push(issue(
                "",
                "type",
                format!("event #{i} needs a string `type` and a number `at` (milliseconds)"),
            )),
        }
    }

    /// Occurrences of event `index`, newest first.
    pub fn times(&self, index: usize) -> &[f64] {
        self.times.get(index).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_boolean_in_text_is_read_in_any_case() {
        let doc = r#"{"leadscore": 1, "id": "b", "fields": [{"id": "ok", "type": "boolean"}],
            "rules": [], "stages": [{"id": "lead"}]}"#;
        let p = crate::compile_str(doc).program.expect("compiles");
        let mut a = Answers::new(&p);
        for (text, want) in [
            ("true", Some(true)),
            ("TRUE", Some(true)),
            (" Yes ", Some(true)),
            ("1", Some(true)),
            ("On", Some(true)),
            ("false", Some(false)),
            ("False", Some(false)),
            ("NO", Some(false)),
            ("0", Some(false)),
            ("oFF", Some(false)),
            ("tru", None),
            ("truee", None),
            ("yes!", None),
            ("01", None),
            ("ön", None),
        ] {
            let set = a.set_text(&p, 0, text);
            let got = match a.get(0) {
                Some(Answer::Bool(b)) => Some(*b),
                _ => None,
            };
            assert_eq!((got, set.is_ok()), (want, want.is_some()), "{text:?}");
        }
        assert_eq!(a.set_text(&p, 0, "maybe").unwrap_err().message, "`ok` takes true or false, not \"maybe\"");
    }

    #[test]
    fn events_in_any_order_are_kept_newest_first_as_one_by_one() {
        let doc = r#"{"leadscore": 1, "id": "e", "fields": [], "events": [{"id": "a"}, {"id": "b"}],
            "rules": [], "stages": [{"id": "lead"}]}"#;
        let p = crate::compile_str(doc).program.expect("compiles");
        let times = [5.0, 1.0, 9.0, 9.0, -3.0, 0.0, 7.5, 2.0, 1e12, 4.0];
        let json = Json::Array(
            times
                .iter()
                .enumerate()
                .map(|(i, t)| serde_json::json!({"type": if i % 2 == 0 { "a" } else { "b" }, "at": t}))
                .collect(),
        );
        let (bulk, issues) = Events::from_json(&p, &json);
        assert!(issues.is_empty());
        let mut one = Events::new(&p);
        for (i, &t) in times.iter().enumerate() {
            one.record(i % 2, t).unwrap();
        }
        assert_eq!(bulk, one);
        assert_eq!(bulk.times(0), [1e12, 9.0, 7.5, 5.0, -3.0]);
        // A million events oldest first: linear work for each (it took over a minute with one insertion each).
        let n = 1_000_000;
        let json = Json::Array((0..n).map(|i| serde_json::json!({"type": "a", "at": i})).collect());
        let (many, _) = Events::from_json(&p, &json);
        assert_eq!(many.times(0).len(), n);
        assert!(many.times(0).windows(2).all(|w| w[0] > w[1]));
    }
}

//! A line of NDJSON read straight into a lead's answers and events, without a `serde_json::Value` in between: the
//! common line, `{"id": ..., "answers": {...}, "events": [...]}` whose every value is accepted as it is.
//!
//! Anything else is not taken here: the flat form (answers at the top level), a key that is not a field or an
//! event, a value with an issue, a key given twice, a JSON error. [`read`] then gives `None` and the reader reads
//! the line again as a `Value` ([`crate::leads`]), whose reading says what is wrong; so both ways give the same
//! lead, and only a line that has something to say pays for the second reading. Native builds only: the Wasm
//! builds keep the one way, and their size.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::answers::{Answers, Events};
use crate::model::FieldType;
use crate::program::Program;

/// What a line gives besides its answers and events.
pub(crate) struct Line {
    /// The lead's `id` (a string, or a number written as JSON writes it); `None` when it has none.
    pub id: Option<String>,
    /// The values of the extra keys, as the `Value` reading gives them.
    pub extra: Vec<Option<String>>,
}

/// Reads `text` into `answers` and `events` (both new), or `None` when the line must be read as a `Value`.
/// `seen` is scratch space, kept from one line to the next.
pub(crate) fn read(
    program: &Program,
    text: &str,
    extra: &[String],
    answers: &mut Answers,
    events: &mut Events,
    seen: &mut Vec<bool>,
) -> Option<Line> {
    seen.clear();
    seen.resize(program.fields.len(), false);
    let mut line = Line { id: None, extra: vec![None; extra.len()] };
    let mut de = serde_json::Deserializer::from_str(text);
    let top = Top { program, extra, answers, events, seen, line: &mut line };
    de.deserialize_map(top).ok()?;
    de.end().ok()?;
    events.sort();
    Some(line)
}

/// Any error: the line is read again as a `Value`.
fn again<E: de::Error>() -> E {
    E::custom("read as a value")
}

/// A string, borrowed from the line when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

struct Top<'a> {
    program: &'a Program,
    extra: &'a [String],
    answers: &'a mut Answers,
    events: &'a mut Events,
    seen: &'a mut Vec<bool>,
    line: &'a mut Line,
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a lead")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut id, mut answers, mut events) = (false, false, false);
        while let Some(Text(key)) = map.next_key::<Text>()? {
            if let Some(x) = self.extra.iter().position(|k| *k == key) {
                // As the `Value` reading takes them: a string trimmed, a number or a boolean as JSON writes it.
                if self.line.extra[x].is_some() || key == "id" || key == "answers" || key == "events" {
                    return Err(again());
                }
                self.line.extra[x] = match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                    v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => Some(v.to_string()),
                    _ => None,
                };
                continue;
            }
            let first = match &*key {
                "id" => {
                    self.line.id = map.next_value_seed(Id)?;
                    !std::mem::replace(&mut id, true)
                }
                "answers" => {
                    map.next_value_seed(AnswersSeed { program: self.program, answers: self.answers, seen: self.seen })?;
                    !std::mem::replace(&mut answers, true)
                }
                "events" => {
                    map.next_value_seed(EventsSeed { program: self.program, events: self.events })?;
                    !std::mem::replace(&mut events, true)
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    true
                }
            };
            if !first {
                return Err(again());
            }
        }
        // Without `answers` the line is the flat form.
        if answers {
            Ok(())
        } else {
            Err(again())
        }
    }
}

/// `id`: a string, a number, or null.
struct Id;

impl<'de> DeserializeSeed<'de> for Id {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Id {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an id")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(s.to_string()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Some(serde_json::Number::from(n).to_string()))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Some(serde_json::Number::from(n).to_string()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        serde_json::Number::from_f64(n).map(|n| Some(n.to_string())).ok_or_else(again)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct AnswersSeed<'a> {
    program: &'a Program,
    answers: &'a mut Answers,
    seen: &'a mut Vec<bool>,
}

impl<'de> DeserializeSeed<'de> for AnswersSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AnswersSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("answers")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let p = self.program;
        while let Some(Text(key)) = map.next_key::<Text>()? {
            let i = p.field_index(&key).ok_or_else(again)?;
            if std::mem::replace(&mut self.seen[i], true) {
                return Err(again());
            }
            let set = match p.fields[i].kind {
                FieldType::Number | FieldType::Integer => match map.next_value::<Option<f64>>()? {
                    Some(n) => self.answers.set_number(p, i, n),
                    None => Ok(()),
                },
                FieldType::Boolean => match map.next_value::<Option<bool>>()? {
                    Some(b) => self.answers.set_bool(p, i, b),
                    None => Ok(()),
                },
                FieldType::String | FieldType::Email | FieldType::Choice | FieldType::Country => {
                    match map.next_value::<Option<Text>>()? {
                        Some(Text(s)) => self.answers.set_str(p, i, &s),
                        None => Ok(()),
                    }
                }
                FieldType::Multi => match map.next_value::<Option<Vec<Text>>>()? {
                    Some(items) => self.answers.set_options(p, i, items.iter().map(|t| &*t.0)),
                    None => Ok(()),
                },
            };
            set.map_err(|_| again())?;
        }
        Ok(())
    }
}

struct EventsSeed<'a> {
    program: &'a Program,
    events: &'a mut Events,
}

impl<'de> DeserializeSeed<'de> for EventsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("events")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some((e, at)) = seq.next_element_seed(Event { program: self.program })? {
            self.events.push(e, at).map_err(|_| again())?;
        }
        Ok(())
    }
}

/// `{"type": ..., "at": ...}`, `at` in milliseconds or as an RFC 3339 time: the event's index and its time.
struct Event<'a> {
    program: &'a Program,
}

impl<'de> DeserializeSeed<'de> for Event<'_> {
    type Value = (usize, f64);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Event<'_> {
    type Value = (usize, f64);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut ty, mut at) = (None, None);
        while let Some(Text(key)) = map.next_key::<Text>()? {
            match &*key {
                "type" if ty.is_none() => {
                    let Text(t) = map.next_value::<Text>()?;
                    ty = Some(self.program.event_index(&t).ok_or_else(again)?);
                }
                "at" if at.is_none() => at = Some(map.next_value_seed(At)?),
                "type" | "at" => return Err(again()),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match (ty, at) {
            (Some(e), Some(at)) => Ok((e, at)),
            _ => Err(again()),
        }
    }
}

/// An event's time: milliseconds, or an RFC 3339 time or a date.
struct At;

impl<'de> DeserializeSeed<'de> for At {
    type Value = f64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for At {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a time")
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<f64, E> {
        Ok(n as f64)
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<f64, E> {
        Ok(n as f64)
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<f64, E> {
        Ok(n)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<f64, E> {
        crate::leads::parse_time(s).ok_or_else(again)
    }
}

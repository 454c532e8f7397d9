//! Answers and events read straight from JSON text, without building a [`Json`] value first: strings are
//! borrowed from the text where they have no escape. [`Answers::from_json_text`] and [`Events::from_json_text`]
//! give exactly what [`Answers::from_json`] and [`Events::from_json`] give for the value the text holds, issues
//! in the same order (a tested promise): object keys in the order of a `serde_json` map, sorted, the last of a
//! repeated key kept.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value as Json;

use super::{issue, not_an_object, Answers, Events, Issue};
use crate::model::FieldType;
use crate::program::Program;

/// A JSON value, with a string borrowed from the text where it can be.
#[derive(Debug)]
pub(crate) enum Item<'a> {
    Null,
    Str(Cow<'a, str>),
    Other(Json),
}

impl<'de> Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Item<'de>, E> {
        Ok(Item::Null)
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Item<'de>, E> {
        Ok(Item::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Item<'de>, E> {
        Ok(Item::Str(Cow::Owned(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<Item<'de>, E> {
        Ok(Item::Str(Cow::Owned(s)))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Item<'de>, E> {
        Ok(Item::Other(Json::Bool(b)))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Item<'de>, E> {
        Ok(Item::Other(Json::from(n)))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Item<'de>, E> {
        Ok(Item::Other(Json::from(n)))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Item<'de>, E> {
        Ok(Item::Other(serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Item<'de>, A::Error> {
        Json::deserialize(SeqAccessDeserializer::new(seq)).map(Item::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Item<'de>, A::Error> {
        Json::deserialize(MapAccessDeserializer::new(map)).map(Item::Other)
    }
}

/// An object key, borrowed where it can be.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_str(ItemVisitor)? {
            Item::Str(s) => Ok(Key(s)),
            Item::Null | Item::Other(_) => Err(serde::de::Error::custom("an object key is a string")),
        }
    }
}

/// The top of a text: an object's entries sorted by key, the last of a repeated key kept (as a `serde_json`
/// map holds them), a list's items, null, or something else (read and dropped).
enum Top<'a, T> {
    Null,
    Object(Vec<(Cow<'a, str>, Item<'a>)>),
    List(Vec<T>),
    Other,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Top<'de, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Top<'de, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Top::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Top::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Top::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Top::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Top::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Top::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = vec![];
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Top::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(Cow<'de, str>, Item<'de>)> = vec![];
                while let Some((Key(k), v)) = map.next_entry()? {
                    entries.push((k, v));
                }
                // Stable: of equal keys, the last stays last, and is the one kept.
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let mut kept: Vec<(Cow<'de, str>, Item<'de>)> = Vec::with_capacity(entries.len());
                for e in entries {
                    match kept.last_mut() {
                        Some(last) if last.0 == e.0 => *last = e,
                        _ => kept.push(e),
                    }
                }
                Ok(Top::Object(kept))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// An event of a list: its `type` when that is a string, its `at` when that is a number.
struct EventItem<'a> {
    kind: Option<Cow<'a, str>>,
    at: Option<f64>,
}

impl<'de> Deserialize<'de> for EventItem<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EventItem<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(EventItem { kind: None, at: None })
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(EventItem { kind: None, at: None })
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(EventItem { kind: None, at: None })
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(EventItem { kind: None, at: None })
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(EventItem { kind: None, at: None })
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(EventItem { kind: None, at: None })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(EventItem { kind: None, at: None })
            }
            // The last of a repeated key counts, as in a `serde_json` map.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut kind, mut at) = (None, None);
                while let Some(Key(k)) = map.next_key()? {
                    match &*k {
                        "type" => {
                            kind = match map.next_value()? {
                                Item::Str(s) => Some(s),
                                Item::Null | Item::Other(_) => None,
                            }
                        }
                        "at" => {
                            at = match map.next_value()? {
                                Item::Other(Json::Number(n)) => n.as_f64(),
                                Item::Null | Item::Str(_) | Item::Other(_) => None,
                            }
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(EventItem { kind, at })
            }
        }
        d.deserialize_any(V)
    }
}

impl Answers {
    /// [`Answers::from_json`] of the value `text` holds, read straight from the text; also the fields answered
    /// `null` (JSON's word for a number that is not finite, too). An error when `text` is not JSON.
    pub(crate) fn from_json_text(
        program: &Program,
        text: &str,
    ) -> Result<(Answers, Vec<Issue>, Vec<usize>), serde_json::Error> {
        let mut answers = Answers::new(program);
        let mut issues = Vec::new();
        let mut nulls = Vec::new();
        let entries = match serde_json::from_str::<Top<IgnoredAny>>(text)? {
            Top::Object(entries) => entries,
            Top::Null => vec![],
            Top::List(_) | Top::Other => {
                issues.push(not_an_object());
                vec![]
            }
        };
        for (key, v) in entries {
            let Some(i) = program.field_index(&key) else {
                issues.push(super::unknown_field(&key));
                continue;
            };
            if matches!(v, Item::Null) {
                nulls.push(i);
            }
            if let Err(e) = answers.set_item(program, i, &v) {
                issues.push(e);
            }
        }
        Ok((answers, issues, nulls))
    }

    /// Sets field `index` from an item, as [`Answers::set_json`] sets it from the value the item is; the string of
    /// a text, email, choice or country field is not copied on the way.
    pub(crate) fn set_item(&mut self, program: &Program, index: usize, item: &Item) -> Result<(), Issue> {
        let text_field = program.fields.get(index).is_some_and(|f| {
            matches!(f.kind, FieldType::String | FieldType::Email | FieldType::Choice | FieldType::Country)
        });
        match item {
            Item::Null => self.set_json(program, index, &Json::Null),
            Item::Str(s) if text_field => self.set_str(program, index, s),
            // A string for another field: the issue `set_json` words for it.
            Item::Str(s) => self.set_json(program, index, &Json::String(s.to_string())),
            Item::Other(v) => self.set_json(program, index, v),
        }
    }
}

impl Events {
    /// [`Events::from_json`] of the value `text` holds, read straight from the text. An error when `text` is not
    /// JSON.
    pub(crate) fn from_json_text(program: &Program, text: &str) -> Result<(Events, Vec<Issue>), serde_json::Error> {
        let mut events = Events::new(program);
        let mut issues = Vec::new();
        match serde_json::from_str::<Top<EventItem>>(text)? {
            Top::List(items) => {
                for (i, it) in items.into_iter().enumerate() {
                    events.add_item(program, i, it.kind.as_deref(), it.at, &mut issues);
                }
            }
            Top::Null => {}
            Top::Object(_) | Top::Other => issues.push(issue("", "type", super::EVENTS_NOT_A_LIST)),
        }
        events.sort();
        Ok((events, issues))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both readers, on texts of every shape: the same answers, events and issues, in the same order.
    #[test]
    fn reading_text_gives_what_reading_its_value_gives() {
        let p = crate::compile_str(
            r#"{"leadscore": 1, "id": "t",
              "fields": [{"id": "n", "type": "number", "min": 0}, {"id": "k", "type": "integer"},
                         {"id": "s", "type": "string", "max_length": 5}, {"id": "e", "type": "email"},
                         {"id": "c", "type": "choice", "options": ["a", "b"]}, {"id": "m", "type": "multi", "options": ["x", "y"]},
                         {"id": "b", "type": "boolean"}, {"id": "co", "type": "country"}],
              "events": [{"id": "v"}, {"id": "w"}],
              "rules": [{"id": "r", "group": "fit", "when": "n > 1", "points": 1}],
              "stages": [{"id": "lead"}]}"#,
        )
        .program
        .expect("compiles");
        let answers = [
            r#"{}"#,
            r#"null"#,
            r#"[1, 2]"#,
            r#""text""#,
            r#"5"#,
            r#"true"#,
            r#"{"n": 5, "k": 2.5, "s": "hello", "e": "a@b.co", "c": "a", "m": ["x"], "b": true, "co": "it"}"#,
            r#"{"co": "ITA", "b": "yes", "m": ["z"], "c": "A", "e": "nope", "s": "too long", "k": "2", "n": -1}"#,
            r#"{"zz": 1, "n": null, "s": null, "": 3, "__proto__": {"a": 1}, "123": [1]}"#,
            r#"{"n": 1, "n": "x", "s": "a\"b", "e": "\u00e9@b.co", "c": "\u0061"}"#,
            r#"{"s": "Straße", "c": ["a"], "m": "x", "b": null, "n": 1e308, "k": 9007199254740993, "co": 12}"#,
            r#"{"s": {"deep": [1, {"x": null}]}, "n": {"a": 1}, "m": [1, "x"], "e": " A@B.CO "}"#,
        ];
        for text in answers {
            let json: Json = serde_json::from_str(text).unwrap();
            let (want, want_issues) = Answers::from_json(&p, &json);
            let (got, got_issues, _) = Answers::from_json_text(&p, text).unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got_issues, want_issues, "{text}");
        }
        let events = [
            r#"null"#,
            r#"{}"#,
            r#"5"#,
            r#"[]"#,
            r#"[{"type": "v", "at": 5}, {"type": "w", "at": 1.5}, {"type": "v", "at": -3}]"#,
            r#"[{"type": "x", "at": 5}, {"type": 1, "at": 5}, {"type": "v"}, {"at": 1}, null, [1], "v", {"type": "v", "at": "5"}]"#,
            r#"[{"type": "v", "at": 1, "type": "w"}, {"at": 9007199254740993, "type": "v", "extra": [1]}, {"type": "v", "at": 1e308}]"#,
            r#"[{"type": "v\u0000", "at": 0}, {"type": "\u0076", "at": 2}]"#,
            r#"[{"type": "v", "at": 1, "type": 5}, {"at": 1, "at": "x", "type": "v"}, {"at": 1, "type": null}]"#,
        ];
        for text in events {
            let json: Json = serde_json::from_str(text).unwrap();
            let (want, want_issues) = Events::from_json(&p, &json);
            let (got, got_issues) = Events::from_json_text(&p, text).unwrap();
            for e in 0..p.events.len() {
                assert_eq!(got.times(e), want.times(e), "{text}");
            }
            assert_eq!(got_issues, want_issues, "{text}");
        }
        assert!(Answers::from_json_text(&p, "{").is_err());
        assert!(Events::from_json_text(&p, "[1,").is_err());
    }
}

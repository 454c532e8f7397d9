//! `Scorer.scoreBatch`: many submitted leads in one call, as columns, scored by the kernel scorer. A column of
//! numbers crosses as one `Float64Array` copy; any other column as one JSON text (`JSON.stringify` of the whole
//! column, so its strings are encoded once per batch, not once per lead); results come back as typed arrays,
//! with the fired rules as bit sets. Full build only: the runtime has no kernel, and no room for one.

use js_sys::{Array, Float64Array, Int32Array, Object, Reflect, Uint32Array, Uint8Array, JSON};
use serde::Serialize;
use serde_json::Value as Json;
use wasm_bindgen::prelude::*;

use super::args::type_error;
use super::*;
use crate::answers::Item;
use crate::{Answers, Events, Issue};

/// The most leads one batch takes: its results stay well under the memory a page can have.
const MAX_LEADS: f64 = 1_048_576.0;

/// A column of values, one per lead.
enum Column {
    /// A `Float64Array`: `NaN` is no answer.
    Numbers(Vec<f64>),
    /// An `Int32Array` of a choice field's option numbers: -1 (any negative number) is no answer.
    Choices(Vec<i32>),
    /// An event's times as `{offsets, at}`: lead `i`'s are `at[offsets[i]..offsets[i + 1]]`.
    Times { offsets: Vec<u32>, at: Vec<f64> },
    /// A text field's answers as `{offsets, utf8}`: lead `i`'s is `utf8[offsets[i]..offsets[i + 1]]`, empty for
    /// no answer (as in a form or a CSV cell).
    Utf8 { offsets: Vec<u32>, utf8: Vec<u8> },
    /// A plain array as JSON text, read into [`Item`]s (strings borrowed from the text) once every column is in: `null` (and `undefined`) is no
    /// answer.
    Text(String),
}

/// A column of answers to one field, or of one event's times.
struct Input {
    index: usize,
    /// `batch.answers.<id>` or `batch.events.<id>`.
    param: String,
    column: Column,
    /// The JS array, to tell a non-finite number (which JSON writes as `null`) from no answer.
    js: JsValue,
}

/// An issue of one lead (`lead` -1: of the whole batch, such as a column that names no field).
#[derive(Serialize)]
struct BatchIssue<'a> {
    lead: i64,
    field: &'a str,
    code: &'a str,
    message: &'a str,
}

fn property(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// What typed array a field's column may be, besides a plain array.
#[derive(Clone, Copy, PartialEq)]
enum Typed {
    /// `Float64Array`: number fields.
    Numbers,
    /// `Int32Array`: choice fields.
    Choices,
    /// `{offsets: Uint32Array, at: Float64Array}`: events.
    Times,
    /// `{offsets: Uint32Array, utf8: Uint8Array}`: text, email, country and choice fields.
    Utf8,
    /// None: other fields.
    None,
}

/// Checks the `offsets` of a column given as offsets into one array of `len` items (`what`).
fn check_offsets(offsets: &[u32], count: usize, len: usize, what: &str, param: &str) -> Result<(), JsValue> {
    let ordered = offsets.first() == Some(&0) && offsets.windows(2).all(|w| w[0] <= w[1]);
    if offsets.len() != count + 1 || !ordered || offsets.last().map(|&n| n as usize) != Some(len) {
        return Err(js_sys::RangeError::new(&format!(
            "leadscore: `{param}.offsets` must be `batch.count` + 1 = {} ascending offsets into `{what}`, from 0 \
             to its length {len}",
            count + 1,
        ))
        .into());
    }
    Ok(())
}

/// An event's times given as `{offsets, at}` (see [`Column::Times`]).
fn times(v: &JsValue, count: usize, param: &str) -> Result<Column, JsValue> {
    let offsets = property(v, "offsets");
    let at = property(v, "at");
    let (Some(o), Some(a)) = (offsets.dyn_ref::<Uint32Array>(), at.dyn_ref::<Float64Array>()) else {
        return Err(type_error(
            param,
            "an array of `count` lists of times, or {offsets: Uint32Array, at: Float64Array}",
            v,
        ));
    };
    let (offsets, at) = (o.to_vec(), a.to_vec());
    check_offsets(&offsets, count, at.len(), "at", param)?;
    Ok(Column::Times { offsets, at })
}

/// A text field's answers given as `{offsets, utf8}` (see [`Column::Utf8`]).
fn utf8(v: &JsValue, count: usize, param: &str, expected: &str) -> Result<Column, JsValue> {
    let offsets = property(v, "offsets");
    let bytes = property(v, "utf8");
    let (Some(o), Some(b)) = (offsets.dyn_ref::<Uint32Array>(), bytes.dyn_ref::<Uint8Array>()) else {
        let expected = format!("{expected} of `count` values, or {{offsets: Uint32Array, utf8: Uint8Array}}");
        return Err(type_error(param, &expected, v));
    };
    let (offsets, utf8) = (o.to_vec(), b.to_vec());
    check_offsets(&offsets, count, utf8.len(), "utf8", param)?;
    Ok(Column::Utf8 { offsets, utf8 })
}

/// A column of `count` items: a typed array (as `typed` allows), or an array of JSON values.
fn column(v: &JsValue, count: usize, typed: Typed, param: &str) -> Result<Column, JsValue> {
    let expected = match typed {
        Typed::Numbers => "a Float64Array or an array",
        Typed::Choices => "an Int32Array or an array",
        Typed::Utf8 => "an array",
        Typed::Times | Typed::None => "an array",
    };
    let length = if let Some(a) = v.dyn_ref::<Float64Array>().filter(|_| typed == Typed::Numbers) {
        let values = a.to_vec();
        if values.len() == count {
            return Ok(Column::Numbers(values));
        }
        values.len()
    } else if let Some(a) = v.dyn_ref::<Int32Array>().filter(|_| typed == Typed::Choices) {
        let values = a.to_vec();
        if values.len() == count {
            return Ok(Column::Choices(values));
        }
        values.len()
    } else if typed == Typed::Times && v.is_object() && !Array::is_array(v) {
        return times(v, count, param);
    } else if matches!(typed, Typed::Utf8 | Typed::Choices) && v.is_object() && !Array::is_array(v) {
        return utf8(v, count, param, expected);
    } else if Array::is_array(v) {
        let a: &Array = v.unchecked_ref();
        if a.length() as usize == count {
            let text = JSON::stringify(v)
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| type_error(param, "an array of JSON values (no BigInt, no cycle)", v))?;
            return Ok(Column::Text(text));
        }
        a.length() as usize
    } else {
        return Err(type_error(param, &format!("{expected} of `count` items"), v));
    };
    Err(js_sys::RangeError::new(&format!("leadscore: `{param}` has {length} items; `batch.count` is {count}")).into())
}

/// The columns of an object of columns (`batch.answers` or `batch.events`), by the index `index_of` finds for
/// each key; a key that names nothing is an issue of the whole batch.
fn columns(
    object: &JsValue,
    param: &str,
    count: usize,
    index_of: &dyn Fn(&str) -> Option<(usize, Typed)>,
    what: &str,
    issues: &mut Vec<(i64, Issue)>,
) -> Result<Vec<Input>, JsValue> {
    if object.is_undefined() || object.is_null() {
        return Ok(vec![]);
    }
    args::object(object, param)?;
    // In the order of their ids, as `score()` reads an object's answers (and reports their issues).
    let mut keys: Vec<String> =
        Object::keys(object.unchecked_ref::<Object>()).iter().map(|k| k.as_string().unwrap_or_default()).collect();
    keys.sort_unstable();
    let mut out = vec![];
    for key in keys {
        let value = property(object, &key);
        if value.is_undefined() {
            continue;
        }
        let Some((index, typed)) = index_of(&key) else {
            let message = format!("`{key}` is not {what} of this model; ignored");
            issues.push((-1, Issue { field: key, code: "unknown_field", message }));
            continue;
        };
        let param = format!("{param}.{key}");
        let column = column(&value, count, typed, &param)?;
        out.push(Input { index, param, column, js: value });
    }
    Ok(out)
}

/// The items of a column given as a plain array; nothing for a typed one.
fn read(input: &Input) -> Result<Vec<Item<'_>>, JsValue> {
    match &input.column {
        Column::Text(text) => {
            serde_json::from_str(text).map_err(|e| Error::new(&format!("leadscore: `{}`: {e}", input.param)).into())
        }
        Column::Numbers(_) | Column::Choices(_) | Column::Times { .. } | Column::Utf8 { .. } => Ok(vec![]),
    }
}

impl Scorer {
    pub(super) fn score_batch_impl(&self, batch: &JsValue, now: Option<f64>) -> Result<JsValue, JsValue> {
        args::object(batch, "batch")?;
        let count_js = property(batch, "count");
        let count = args::number(&count_js, "batch.count")?;
        if !(count >= 0.0 && count.fract() == 0.0 && count <= MAX_LEADS) {
            return Err(js_sys::RangeError::new(&format!(
                "leadscore: `batch.count` must be a whole number from 0 to {MAX_LEADS}, not {count}"
            ))
            .into());
        }
        let count = count as usize;
        let p = &self.program;
        let mut issues: Vec<(i64, Issue)> = vec![];
        use crate::model::FieldType;
        let numeric = |i: usize| matches!(p.fields[i].kind, FieldType::Number | FieldType::Integer);
        let typed = |i: usize| match p.fields[i].kind {
            FieldType::Number | FieldType::Integer => Typed::Numbers,
            FieldType::Choice => Typed::Choices,
            FieldType::String | FieldType::Email | FieldType::Country => Typed::Utf8,
            FieldType::Boolean | FieldType::Multi => Typed::None,
        };
        let answers_in = columns(
            &property(batch, "answers"),
            "batch.answers",
            count,
            &|k| p.field_index(k).map(|i| (i, typed(i))),
            "a field",
            &mut issues,
        )?;
        let events_in = columns(
            &property(batch, "events"),
            "batch.events",
            count,
            &|k| p.event_index(k).map(|i| (i, Typed::Times)),
            "an event",
            &mut issues,
        )?;
        let now = now_or_clock(now);
        // The columns given as plain arrays, read.
        let answer_items = answers_in.iter().map(read).collect::<Result<Vec<_>, _>>()?;
        let event_items = events_in.iter().map(read).collect::<Result<Vec<_>, _>>()?;

        let mut fast = self.fast.try_borrow_mut().map_err(|_| Error::new("leadscore: scoreBatch: already scoring"))?;
        let (kernel, buffers) = fast.get_or_insert_with(|| (crate::kernel::Kernel::new(p), Default::default()));
        let (n_groups, words) = (p.groups.len(), p.rules.len().div_ceil(32));
        let mut total = vec![0.0; count];
        let mut groups = vec![0.0; count * n_groups];
        let mut stage = vec![0i32; count];
        let mut knockout = vec![0i32; count];
        let mut fired = vec![0u32; count * words];
        let mut answers = Answers::new(p);
        let mut events = Events::new(p);
        for lead in 0..count {
            answers.reset(p);
            events.reset(p);
            for (input, items) in answers_in.iter().zip(&answer_items) {
                let r = match &input.column {
                    Column::Numbers(v) if v[lead].is_nan() => Ok(()),
                    Column::Numbers(v) => answers.set_number(p, input.index, v[lead]),
                    Column::Choices(v) => match usize::try_from(v[lead]) {
                        Ok(option) => answers.set_choice(p, input.index, option),
                        Err(_) => Ok(()),
                    },
                    Column::Text(_) => match &items[lead] {
                        // JSON has no NaN or infinity: only the JS array tells them from no answer.
                        Item::Null if numeric(input.index) => {
                            match Reflect::get_u32(&input.js, lead as u32).ok().and_then(|x| x.as_f64()) {
                                Some(n) if !n.is_finite() => {
                                    Err(crate::answers::not_finite(&p.fields[input.index].id, n))
                                }
                                _ => Ok(()),
                            }
                        }
                        item => answers.set_item(p, input.index, item),
                    },
                    Column::Utf8 { offsets, utf8 } => {
                        match std::str::from_utf8(&utf8[offsets[lead] as usize..offsets[lead + 1] as usize]) {
                            Ok("") => Ok(()),
                            Ok(s) => answers.set_str(p, input.index, s),
                            Err(_) => Err(Issue {
                                field: p.fields[input.index].id.clone(),
                                code: "type",
                                message: format!(
                                    "`{}` takes text, and these bytes are not UTF-8",
                                    p.fields[input.index].id
                                ),
                            }),
                        }
                    }
                    Column::Times { .. } => Ok(()), // not made for fields
                };
                if let Err(e) = r {
                    issues.push((lead as i64, e));
                }
            }
            for (input, items) in events_in.iter().zip(&event_items) {
                let id = &p.events[input.index].0;
                // A time that is not one is an issue of its lead (the others count), as `score()` reads events.
                let mut add = |at: Option<f64>| {
                    let issue = match at.map(|at| events.push(input.index, at)) {
                        Some(Ok(())) => return,
                        Some(Err(e)) => Issue { field: id.clone(), ..e },
                        None => Issue {
                            field: id.clone(),
                            code: "type",
                            message: format!("`{id}` takes a list of times in milliseconds, or null"),
                        },
                    };
                    issues.push((lead as i64, issue));
                };
                let times = match &input.column {
                    Column::Text(_) => &items[lead],
                    Column::Times { offsets, at } => {
                        for &t in &at[offsets[lead] as usize..offsets[lead + 1] as usize] {
                            add(Some(t));
                        }
                        continue;
                    }
                    Column::Numbers(_) | Column::Choices(_) | Column::Utf8 { .. } => continue, // not made for events
                };
                match times {
                    Item::Null => {}
                    Item::Other(Json::Array(times)) => times.iter().for_each(|t| add(t.as_f64())),
                    Item::Str(_) | Item::Other(_) => add(None),
                }
            }
            events.sort();
            kernel.run(p, &answers, &events, now, buffers);
            let s = &buffers.score;
            total[lead] = s.total;
            groups[lead * n_groups..(lead + 1) * n_groups].copy_from_slice(&s.groups);
            stage[lead] = if s.knockout.is_some() { -1 } else { s.stage as i32 };
            knockout[lead] = s.knockout.map_or(-1, |k| k as i32);
            let bits = &mut fired[lead * words..(lead + 1) * words];
            for (w, word) in buffers.fired_words().iter().enumerate() {
                for (half, part) in [(0, *word as u32), (1, (*word >> 32) as u32)] {
                    if let Some(b) = bits.get_mut(2 * w + half) {
                        *b = part;
                    }
                }
            }
        }

        let out = Object::new();
        let issues: Vec<BatchIssue> = issues
            .iter()
            .map(|(lead, i)| BatchIssue { lead: *lead, field: &i.field, code: i.code, message: &i.message })
            .collect();
        let parts: [(&str, JsValue); 7] = [
            ("total", Float64Array::from(&total[..]).into()),
            ("groups", Float64Array::from(&groups[..]).into()),
            ("stage", Int32Array::from(&stage[..]).into()),
            ("knockout", Int32Array::from(&knockout[..]).into()),
            ("fired", Uint32Array::from(&fired[..]).into()),
            ("words", JsValue::from_f64(words as f64)),
            ("issues", if issues.is_empty() { Array::new().into() } else { to_js(&issues) }),
        ];
        for (k, v) in parts {
            let _ = Reflect::set(&out, &JsValue::from_str(k), &v);
        }
        Ok(out.into())
    }
}

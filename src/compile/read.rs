//! Reading the document: one serde pass per element, so that every bad element is reported.

use super::*;

pub(super) fn de<T: DeserializeOwned>(value: Json, pointer: &str, diags: &mut Vec<Diagnostic>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let mut p = pointer.to_string();
            for seg in e.path().iter() {
                use serde_path_to_error::Segment;
                match seg {
                    Segment::Seq { index } => p.push_str(&format!("/{index}")),
                    Segment::Map { key } | Segment::Enum { variant: key } => {
                        p.push('/');
                        p.push_str(&escape_pointer(key));
                    }
                    Segment::Unknown => {}
                }
            }
            let msg = e.into_inner().to_string();
            let msg = msg.replace(
                "data did not match any variant of untagged enum Text",
                "expected a text: a string, or an object of strings by locale",
            );
            let msg = msg.replace(
                "data did not match any variant of untagged enum Choice",
                "expected an option: a string, or {\"value\": ..., \"label\": ...}",
            );
            diags.push(Diagnostic::error(Code::Schema, p, msg));
            None
        }
    }
}

pub(super) fn de_array<T: DeserializeOwned>(value: Json, pointer: &str, diags: &mut Vec<Diagnostic>) -> Vec<T> {
    match value {
        Json::Array(items) => {
            items.into_iter().enumerate().filter_map(|(i, v)| de(v, &format!("{pointer}/{i}"), diags)).collect()
        }
        other => {
            diags.push(Diagnostic::error(
                Code::Schema,
                pointer,
                format!("expected an array, found {}", kind_of(&other)),
            ));
            Vec::new()
        }
    }
}

pub(super) fn kind_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

const TOP_KEYS: &[&str] = &[
    "$schema",
    "leadscore",
    "id",
    "title",
    "locale",
    "fields",
    "steps",
    "lists",
    "events",
    "groups",
    "rules",
    "knockouts",
    "stages",
    "grade",
    "endings",
];

pub(super) fn read_document(value: Json, diags: &mut Vec<Diagnostic>) -> Option<Document> {
    let Json::Object(map) = value else {
        diags.push(Diagnostic::error(
            Code::Schema,
            "",
            format!("a rules document is a JSON object, found {}", kind_of(&value)),
        ));
        return None;
    };
    let mut doc = Document {
        schema: None,
        leadscore: 0,
        id: String::new(),
        title: None,
        locale: "en".into(),
        fields: vec![],
        steps: vec![],
        lists: BTreeMap::new(),
        events: vec![],
        groups: None,
        rules: vec![],
        knockouts: vec![],
        stages: vec![],
        grade: None,
        endings: None,
    };
    null_conditions(&map, diags);
    for required in ["leadscore", "id", "fields", "stages"] {
        if !map.contains_key(required) {
            diags.push(Diagnostic::error(Code::Schema, "", format!("missing key `{required}`")));
        }
    }
    let before = diags.len();
    for (key, v) in map {
        let p = format!("/{}", escape_pointer(&key));
        match key.as_str() {
            "$schema" => doc.schema = de(v, &p, diags),
            "leadscore" => {
                if let Some(n) = de::<u32>(v, &p, diags) {
                    if n != model::FORMAT_VERSION {
                        diags.push(Diagnostic::error(
                            Code::Version,
                            p,
                            format!(
                                "this engine reads format version {}; the document says {n}",
                                model::FORMAT_VERSION
                            ),
                        ));
                    }
                    doc.leadscore = n;
                }
            }
            "id" => doc.id = de(v, &p, diags).unwrap_or_default(),
            "title" => doc.title = de(v, &p, diags),
            "locale" => doc.locale = de(v, &p, diags).unwrap_or_else(|| "en".into()),
            "fields" => doc.fields = de_array(v, &p, diags),
            "steps" => doc.steps = de_array(v, &p, diags),
            "lists" => doc.lists = de(v, &p, diags).unwrap_or_default(),
            "events" => doc.events = de_array(v, &p, diags),
            "groups" => doc.groups = Some(de_array(v, &p, diags)),
            "rules" => doc.rules = de_array(v, &p, diags),
            "knockouts" => doc.knockouts = de_array(v, &p, diags),
            "stages" => doc.stages = de_array(v, &p, diags),
            "grade" => doc.grade = de(v, &p, diags),
            "endings" => doc.endings = de(v, &p, diags),
            other => {
                let mut d = Diagnostic::error(Code::Schema, p, format!("unknown key `{other}`"));
                if let Some(s) = closest(other, TOP_KEYS.iter().copied()) {
                    d = d.with_note(format!("did you mean `{s}`?"));
                }
                diags.push(d);
            }
        }
    }
    if diags.len() > before || diags.iter().any(Diagnostic::is_error) {
        return None;
    }
    Some(doc)
}

/// Every place a document holds a condition: the key of each item of a section. (A step's jumps, `next`, hold
/// theirs under `if`.)
const CONDITIONS: [(&str, &[&str]); 5] = [
    ("fields", &["required", "visible_if", "enabled_if"]),
    ("steps", &["visible_if"]),
    ("rules", &["when"]),
    ("knockouts", &["when"]),
    ("stages", &["when"]),
];

/// A condition written as JSON `null` is an error wherever it is: read as "no condition" it would make a rule
/// fire for every lead, and as JsonLogic's falsy null it would make a knockout never hold; neither is what a
/// null that an export left behind means.
pub(super) fn null_conditions(map: &serde_json::Map<String, Json>, diags: &mut Vec<Diagnostic>) {
    let mut null = |pointer: String, key: &str, required: bool| {
        let hint = if required { "write the condition" } else { "leave it out for none, or write `false`" };
        diags.push(Diagnostic::error(
            Code::Type,
            pointer,
            format!("`{key}` is null, which is not a condition: {hint}"),
        ));
    };
    for (section, keys) in CONDITIONS {
        let Some(Json::Array(items)) = map.get(section) else { continue };
        for (i, item) in items.iter().enumerate() {
            for &key in keys {
                if item.get(key).is_some_and(Json::is_null) {
                    null(format!("/{section}/{i}/{key}"), key, section == "knockouts");
                }
            }
            if section != "steps" {
                continue;
            }
            let Some(Json::Array(jumps)) = item.get("next") else { continue };
            for (j, jump) in jumps.iter().enumerate() {
                if jump.get("if").is_some_and(Json::is_null) {
                    null(format!("/steps/{i}/next/{j}/if"), "if", false);
                }
            }
        }
    }
}

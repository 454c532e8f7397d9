//! The rules document: serde types only, no logic.
//!
//! A document is JSON. Names are `snake_case`. Conditions and point expressions are [`Expr`]s: a string is
//! the leadscore expression language, an object (or any other JSON value) is JsonLogic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The format version this crate reads.
pub const FORMAT_VERSION: u32 = 1;

/// A whole rules document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// A link to the JSON Schema of this format, for editors. Ignored.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Format version: must be 1.
    pub leadscore: u32,
    /// A short identifier of the model, such as `b2b-saas`.
    pub id: String,
    /// A title shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
    /// The default locale of the texts (BCP 47, such as `en` or `it`).
    #[serde(default = "default_locale")]
    pub locale: String,
    /// The questions, in the order they are asked.
    pub fields: Vec<Field>,
    /// Ordered groups of fields. A form without steps asks every field on one page.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Named constant sets, all strings or all numbers.
    #[serde(default)]
    pub lists: BTreeMap<String, Vec<serde_json::Value>>,
    /// The behaviour the page records.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Score groups with optional caps. When absent: `fit` and `engagement`, uncapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Group>>,
    /// Scoring rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Unwanted users: evaluated before points; the first that holds disqualifies.
    #[serde(default)]
    pub knockouts: Vec<Knockout>,
    /// Lifecycle stages, best first; the first that holds wins; the last has no condition.
    pub stages: Vec<Stage>,
    /// Letter grade from a group's score, and optionally a grade x engagement matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Grade>,
    /// What the form shows at the end, per stage and per knockout reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endings: Option<Endings>,
}

fn default_locale() -> String {
    "en".to_string()
}

/// A text shown to people: one string, or one string per locale (`{"en": "...", "it": "..."}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Text {
    /// The same text in every locale.
    Plain(String),
    /// Texts by locale.
    Localized(Entries<String>),
}

/// A JSON object's entries in key order, each key once: the texts of a [`Text`] by locale, the endings by stage
/// and by knockout reason. A list rather than a `BTreeMap`: these objects have a few keys, and a map's code for
/// each value type costs the Wasm builds 1 to 2 KB.
#[derive(Debug, Clone, PartialEq)]
pub struct Entries<V>(pub Vec<(String, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(vec![])
    }
}

impl<V> Entries<V> {
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    /// Sets `key` to `value`, in key order.
    pub fn insert(&mut self, key: String, value: V) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }
}

impl<'a, V> IntoIterator for &'a Entries<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (String, V)>, fn(&'a (String, V)) -> (&'a String, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<V: Serialize> Serialize for Entries<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<String, V>::deserialize(d).map(|m| Entries(m.into_iter().collect()))
    }
}

#[cfg(feature = "cli")]
impl<V: schemars::JsonSchema> schemars::JsonSchema for Entries<V> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        <BTreeMap<String, V>>::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<String, V>>::json_schema(generator)
    }
}

impl Text {
    /// The text in `locale`, else in `fallback`, else any.
    pub fn get<'a>(&'a self, locale: &str, fallback: &str) -> &'a str {
        match self {
            Text::Plain(s) => s,
            Text::Localized(m) => m.get(locale).or_else(|| m.get(fallback)).or(m.values().next()).map_or("", |v| v),
        }
    }
}

/// A condition or a number: a string in the expression language, or JsonLogic (any other JSON value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Expr(pub serde_json::Value);

#[cfg(feature = "cli")]
impl schemars::JsonSchema for Expr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Expr".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An expression: a string in the leadscore expression language (`employees >= 50 and industry in target_industries`), or JsonLogic (an object, or a boolean/number constant).",
            "type": ["string", "object", "boolean", "number", "array"]
        })
    }
}

/// The type of a field's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Any finite number.
    Number,
    /// A whole number.
    Integer,
    /// Free text.
    String,
    /// An email address (`local@domain.tld`).
    Email,
    /// One of `options`.
    Choice,
    /// Any subset of `options` (at most 64).
    Multi,
    /// Yes or no.
    Boolean,
    /// An ISO 3166-1 alpha-2 country code, such as `IT`.
    Country,
}

/// A question of the form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Identifier used in expressions and as the input's `name`.
    pub id: String,
    /// The answer's type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// The question shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    /// Help text shown under the question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
    /// Placeholder shown in an empty input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<Text>,
    /// `true`, `false`, or a condition (required-if). Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<Expr>,
    /// The field is asked only while this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<Expr>,
    /// The field can be edited only while this holds (it stays visible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_if: Option<Expr>,
    /// Smallest accepted number (number, integer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest accepted number (number, integer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Longest accepted text, in characters (string, email). Default 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// The answers offered (choice, multi).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
}

/// An option of a choice or multi field: a bare value, or a value with a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Choice {
    /// The value is also the label.
    Value(String),
    /// A value and the label shown for it.
    Labeled {
        /// What is stored and compared in expressions.
        value: String,
        /// What people see.
        label: Text,
    },
}

impl Choice {
    /// The stored value.
    pub fn value(&self) -> &str {
        match self {
            Choice::Value(v) => v,
            Choice::Labeled { value, .. } => value,
        }
    }

    /// The label shown in `locale` (else `fallback`); the value when the option has no label.
    pub fn label<'a>(&'a self, locale: &str, fallback: &str) -> &'a str {
        match self {
            Choice::Value(v) => v,
            Choice::Labeled { label, .. } => label.get(locale, fallback),
        }
    }
}

/// An ordered group of fields shown together.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Identifier, the target of jumps.
    pub id: String,
    /// Heading shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
    /// The field ids asked in this step, in order.
    pub fields: Vec<String>,
    /// The step is shown only while this holds; otherwise it is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<Expr>,
    /// Branches taken after this step: the first whose `if` holds (or has no `if`) wins. Without a match the
    /// next step in order follows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<Jump>,
}

/// A branch after a step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Jump {
    /// The condition; absent means always.
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Expr>,
    /// A later step's id, or `end` to finish the form.
    pub goto: String,
}

/// A kind of behaviour the page records.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Identifier used in expressions and in recorded events.
    pub id: String,
    /// Name shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
}

/// A score group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Identifier, usable in stage and grade conditions.
    pub id: String,
    /// Name shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    /// The group's score is never below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The group's score is never above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A scoring rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Identifier, unique among rules.
    pub id: String,
    /// What people see in the explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    /// The group the points go to.
    pub group: String,
    /// The condition; absent means always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Expr>,
    /// A number or a number expression; negative allowed.
    pub points: Expr,
    /// Award the points once per occurrence of this event (most recent first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// With `per`: count at most this many occurrences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_times: Option<u32>,
    /// With `per`: count only occurrences at most this many days old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_days: Option<f64>,
    /// With `per`: each occurrence's points halve every `half_life_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decay: Option<Decay>,
}

/// Exponential decay of engagement points.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Decay {
    /// Days after which an occurrence is worth half its points.
    pub half_life_days: f64,
}

/// An unwanted user: when the condition holds, the lead is disqualified and the form ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Knockout {
    /// Identifier, unique among knockouts.
    pub id: String,
    /// The condition.
    pub when: Expr,
    /// The reason code, such as `student` or `competitor` (several knockouts may share one).
    pub reason: String,
    /// The message shown to the visitor and to people reviewing the lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Text>,
}

/// A lifecycle stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Identifier, such as `sql`, `mql`, `lead`.
    pub id: String,
    /// Name shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    /// The condition over scores (`score`, group ids), fields and events; absent on the default (last) stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Expr>,
}

/// Letter grades.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Grade {
    /// The group graded. Default: `fit`.
    #[serde(default = "default_grade_group")]
    pub group: String,
    /// Bands, best first: the first whose `min` the score reaches wins; the last has no `min`.
    pub bands: Vec<Band>,
    /// An optional second axis: grade x band of another group gives a cell such as `A1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<Matrix>,
}

fn default_grade_group() -> String {
    "fit".to_string()
}

/// A band of a grade or matrix axis.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// The band's name, such as `A` or `1`.
    pub label: String,
    /// The smallest score in this band; absent on the last band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
}

/// The second axis of the grade matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    /// The group. Default: `engagement`.
    #[serde(default = "default_matrix_group")]
    pub group: String,
    /// Bands, best first.
    pub bands: Vec<Band>,
}

fn default_matrix_group() -> String {
    "engagement".to_string()
}

/// What the form shows when it ends.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Endings {
    /// By stage id.
    #[serde(default)]
    pub stages: Entries<Ending>,
    /// By knockout reason code.
    #[serde(default)]
    pub knockouts: Entries<Ending>,
    /// When nothing else matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Ending>,
}

/// An ending screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Ending {
    /// Heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
    /// Body text (plain text, never HTML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Text>,
    /// A call to action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// A link offered at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// The button's text.
    pub label: Text,
    /// An `https:`, `http:` or `mailto:` URL, or a relative one that stays on the page's site (resolved as
    /// browsers resolve links).
    pub url: String,
}

/// The background fields attribution writes (a touch's values, in the order a touch is kept): field `<name>`
/// takes the last touch's value, `first_<name>` the first touch's. The form controller fills them; the inbox's
/// sales export lists those a model does not have as fields.
pub const ATTRIBUTION_FIELDS: [&str; 10] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "fbclid",
    "msclkid",
    "referrer",
    "landing_page",
];

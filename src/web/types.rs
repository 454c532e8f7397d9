//! The TypeScript types of every value that crosses the boundary, and the model description.

#[cfg(feature = "compiler")]
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[cfg(feature = "compiler")]
use crate::model::{FieldType, Text};
#[cfg(feature = "compiler")]
use crate::program::Program;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** An answer: a number, a string (text, email, country, choice value), a boolean, or option values of a multi field. */
export type AnswerValue = number | string | boolean | string[];

/** Answers by field id. `null` means unanswered. */
export type Answers = { [field: string]: AnswerValue | null };

/** One occurrence of a behaviour event. */
export interface EventRecord {
  /** The event id, such as `pricing_view`. */
  type: string;
  /** When, in milliseconds since 1970. */
  at: number;
  /** The site's signed event token (`v1.<event>.<at_ms>.<nonce>.<signature>`), when the event came with one; a
   * form controller sends it for the site's server to verify. */
  token?: string;
}

/** A program compiled ahead of time: `scorer.toBytes()` of the full build, or `leadscore build` on the command line. */
export type CompiledProgram = Uint8Array;

/** The ids a model names, in model order; session indexes point into these lists. */
export interface ModelIds {
  fields: string[];
  steps: string[];
  events: string[];
  groups: string[];
  rules: string[];
  knockouts: string[];
  stages: string[];
}

/** A problem with one input value; the value is left out. */
export interface Issue {
  /** The field id (or event type). */
  field: string;
  code: "unknown_field" | "type" | "range" | "option" | "format" | "too_long" | "unknown_event" | "time";
  message: string;
}

"#;

#[cfg(feature = "compiler")]
#[wasm_bindgen(typescript_custom_section)]
const COMPILER_TYPES: &'static str = r#"
/** A closed interval; `null` bounds are unbounded. */
export interface Range {
  min: number | null;
  max: number | null;
}

export interface GroupScore {
  id: string;
  label?: string;
  /** After caps. */
  score: number;
  /** The sum of the group's rules before caps. */
  raw: number;
  /** `raw - score`. */
  clipped: number;
  range: Range;
}

export interface LedgerEntry {
  rule: string;
  label?: string;
  group: string;
  /** Points given, after decay and before caps. */
  points: number;
  /** Points per award. */
  base: number;
  /** Awards: 1, or the occurrences of the event counted. */
  times: number;
  /** What decay took away. */
  decayed: number;
  /** The answers the rule read. */
  inputs: { [field: string]: AnswerValue | null };
  /** The events the rule read. */
  events: { [event: string]: { count: number; days_since: number | null } };
}

export interface Flow {
  /** Steps on the visitor's path, in order. */
  steps: string[];
  visible: string[];
  required: string[];
  disabled: string[];
  /** Required, shown and unanswered. */
  missing: string[];
  /** The first step on the path with a required field still unanswered: where a form resumes. null when none,
   * or when a knockout ended the form. */
  first_missing_step: string | null;
  /** The step after `first_missing_step` on the path. */
  next_step: string | null;
  /** `missing` is empty: the lead can be sent as it is. Optional questions may still be open, and a knockout may
   * hold (see `disqualified`). */
  all_required_answered: boolean;
}

/** One change and what it would do. */
export interface Hint {
  kind: "answer" | "change" | "event";
  /** Field or event id. */
  name: string;
  /** The answer to give. */
  value?: AnswerValue;
  score: number;
  gain: number;
  stage: string;
}

/** Changes towards the next stage. */
export interface Hints {
  stage: string;
  target: string | null;
  /** Single changes that reach `target`, best first. */
  reach: Hint[];
  /** When none reaches it: the changes that raise the score most. */
  closer: Hint[];
  /** True when the work budget (1,000 changes tried) ran out first: hints among the changes tried. */
  partial: boolean;
}

/** The full result of an evaluation. */
export interface Evaluation {
  /** Total score, counting what is known now. */
  score: number;
  /** The total's range over every way of completing the form. */
  range: Range;
  groups: GroupScore[];
  /** `id` is `disqualified` when a knockout holds. */
  stage: { id: string; label?: string };
  /** The grade (`cell` when the model has a matrix), or null when the model has none: the same shape as
   * `FormOutcome.grade`. A claim (`Claim.grade`) carries it as one string, as the form sends it. */
  grade: { letter: string; cell?: string } | null;
  disqualified?: { knockout: string; reason: string; message?: string };
  /** Every completion of the form gives the same stage and disqualification. */
  decided: boolean;
  undecided_fields: string[];
  ledger: LedgerEntry[];
  pending_rules: string[];
  flow: Flow;
  /** `action.url` has the placeholders (`{email}`) filled with the answers, URL-encoded (as `FormOutcome.ending`). */
  ending?: { key: string; title?: string; message?: string; action?: { label: string; url: string } };
  /** Answers to hidden fields: they do not count. */
  ignored: string[];
  issues: Issue[];
  rules_hash: string;
  /** Present unless `hints: false` was asked. */
  hints?: Hints;
}

/** The bare outcome of a submitted lead (`Scorer.score`). */
export interface ScoreResult {
  score: number;
  /** After caps, by group id. */
  groups: { [group: string]: number };
  /** The stage id, or `disqualified`. */
  stage: string;
  /** The knockout that holds. */
  knockout?: string;
  /** Ids of the rules that gave points, in rule order. */
  fired: string[];
  issues: Issue[];
}

/**
 * Many submitted leads as columns (`Scorer.scoreBatch`). Each column has `count` items, item `i` being lead
 * `i`'s. A number field's column may be a `Float64Array` (`NaN`: no answer), a choice field's an `Int32Array`
 * of option numbers (in the order of the field's options; -1: no answer); a text, email, country or choice
 * field's may be `Utf8Column`; any column may be an array of values as `score()` takes them (`null` or
 * `undefined`: no answer), read in one `JSON.stringify`.
 */
export interface Batch {
  count: number;
  /** By field id. */
  answers?: { [field: string]: Float64Array | Int32Array | Utf8Column | (AnswerValue | null | undefined)[] };
  /**
   * By event id: per lead, the times of its occurrences in milliseconds since 1970 (or null); or, typed, all
   * leads' times in `at`, lead `i`'s from `offsets[i]` to `offsets[i + 1]` (`count + 1` offsets).
   */
  events?: { [event: string]: (number[] | null | undefined)[] | { offsets: Uint32Array; at: Float64Array } };
}

/**
 * Texts of many leads in one buffer (`TextEncoder.encodeInto` writes it): lead `i`'s is the UTF-8 of
 * `utf8.subarray(offsets[i], offsets[i + 1])`, empty for no answer (as in a form or a CSV cell).
 */
export interface Utf8Column {
  offsets: Uint32Array;
  utf8: Uint8Array;
}

/** What `Scorer.scoreBatch` gives: lead `i`'s results at index `i` (typed arrays, lead after lead). */
export interface BatchResult {
  /** Total scores. */
  total: Float64Array;
  /** Group scores after caps: lead `i`'s group `g` (in `ids().groups` order) at `i * groups + g`. */
  groups: Float64Array;
  /** The stage, by index in `ids().stages`; -1 when a knockout holds. */
  stage: Int32Array;
  /** The knockout that holds, by index in `ids().knockouts`; -1 when none. */
  knockout: Int32Array;
  /**
   * The rules that gave points, as bit sets of `words` words per lead: rule `r` (in `ids().rules` order) fired
   * for lead `i` when bit `r % 32` of `fired[i * words + (r >> 5)]` is set.
   */
  fired: Uint32Array;
  words: number;
  /** Values refused, by lead (`lead` -1: the whole batch, such as a column that names no field). */
  issues: (Issue & { lead: number })[];
}

export interface EvaluateOptions {
  /** The form is submitted: unanswered fields stay unanswered. Default false. */
  complete?: boolean;
  /** Locale of texts; default the model's. */
  locale?: string;
  /** Compute hints towards the next stage (costs up to about a millisecond). Default true. */
  hints?: boolean;
}

/** What a client sends to be re-checked by a server. */
export interface Claim {
  rules_hash?: string;
  /** When the client scored, in milliseconds since 1970. */
  at?: number;
  answers: Answers;
  events?: EventRecord[];
  score?: number;
  groups?: { [group: string]: number };
  stage?: string;
  /** The matrix cell when the model has one, else the letter; "" claims that there is no grade (as `leadscore_grade` carries it). */
  grade?: string;
  /** Ids of the rules that gave points. */
  rules?: string[];
}

export interface VerifyOptions {
  /** The server's clock; used when the claim has no time. */
  now?: number;
  /** With `now`: the largest accepted distance of the claim's time from it. */
  maxSkewMs?: number;
}

export interface Verification {
  ok: boolean;
  mismatches: { what: string; claimed: unknown; actual: unknown }[];
  /** The server's own evaluation, as submitted. */
  evaluation: Evaluation;
}

export type FieldType = "number" | "integer" | "string" | "email" | "choice" | "multi" | "boolean" | "country";

/** What a model asks and scores (labels in the requested locale). */
export interface ModelInfo {
  id: string;
  title?: string;
  locale: string;
  rules_hash: string;
  fields: {
    id: string;
    type: FieldType;
    label?: string;
    help?: string;
    placeholder?: string;
    /** The step that asks it; absent for background fields set by the page. */
    step?: string;
    min?: number;
    max?: number;
    max_length: number;
    options: { value: string; label: string }[];
  }[];
  steps: { id: string; title?: string; fields: string[] }[];
  events: { id: string; label?: string }[];
  groups: { id: string; label?: string; min?: number; max?: number }[];
  rules: { id: string; label?: string; group: string }[];
  knockouts: { id: string; reason: string }[];
  stages: { id: string; label?: string }[];
}
/** A rules document: JSON text, or the parsed object. */
export type RulesDocument = string | { [key: string]: unknown };

/** A problem in a rules document. Positions count UTF-16 code units, as JS strings do. */
export interface Diagnostic {
  severity: "error" | "warning";
  /** Stable code, such as `unknown_name` or `expr_syntax`. */
  code: string;
  message: string;
  /** JSON pointer of the offending value, such as `/rules/3/when`; empty for the whole document. */
  pointer: string;
  /** 1-based line of `start`. */
  line?: number;
  /** 1-based column of `start`, in UTF-16 code units. */
  column?: number;
  /** Offset of the problem in the document text (inside an expression string when it can be pinned there). */
  start?: number;
  end?: number;
  /** More detail, such as a suggestion. */
  note?: string;
}

/** What holds for every possible lead (`Scorer.analysis`). */
export interface Analysis {
  /** The reachable range of the total score. */
  total: Range;
  /** Each group's reachable range, in model order. */
  groups: { id: string; label: string; min: number | null; max: number | null }[];
  /**
   * Each stage, best first: `reachable` is false when no lead can reach it; `threshold` is the smallest total
   * score that can make its condition true (`score >= 80` gives 80), `null` when the condition does not test
   * the total and for the default stage.
   */
  stages: { id: string; label: string; reachable: boolean; threshold: number | null }[];
  /** The model's warnings, as `Scorer.warnings` gives them. */
  warnings: Diagnostic[];
}

/** Thrown by `new Scorer()` when the rules document does not compile. */
export interface LeadscoreError extends Error {
  name: "LeadscoreError";
  diagnostics: Diagnostic[];
}

/** A submitted form's entries, as `Scorer.answersFromForm` takes them: a `FormData` (text values only), a
 * `URLSearchParams` (an urlencoded body), or any iterable of `[name, value]` pairs of strings. */
export type FormEntries = FormData | URLSearchParams | Iterable<readonly [string, string]>;

/** `Scorer.answersFromForm`'s result. */
export interface FormAnswers {
  /** The answers, by field id, as `evaluate()` and `verify()` take them (only answered fields). */
  answers: Answers;
  /** Values a field refused; they are left out of `answers`. */
  issues: Issue[];
}

/** What `new Scorer()` takes: a rules document to compile, or a compiled program. */
export type ScorerSource = RulesDocument | CompiledProgram;
"#;

#[cfg(not(feature = "compiler"))]
#[wasm_bindgen(typescript_custom_section)]
const RUNTIME_TYPES: &'static str = r#"
/** What `new Scorer()` takes in the runtime build: a compiled program. */
export type ScorerSource = CompiledProgram;
"#;

#[cfg(feature = "compiler")]
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "RulesDocument")]
    pub type JsRules;
    #[wasm_bindgen(typescript_type = "Diagnostic[]")]
    pub type JsDiagnostics;
    #[wasm_bindgen(typescript_type = "EvaluateOptions")]
    pub type JsEvaluateOptions;
    #[wasm_bindgen(typescript_type = "Evaluation")]
    pub type JsEvaluation;
    #[wasm_bindgen(typescript_type = "ScoreResult")]
    pub type JsScore;
    #[wasm_bindgen(typescript_type = "Batch")]
    pub type JsBatch;
    #[wasm_bindgen(typescript_type = "BatchResult")]
    pub type JsBatchResult;
    #[wasm_bindgen(typescript_type = "Claim")]
    pub type JsClaim;
    #[wasm_bindgen(typescript_type = "VerifyOptions")]
    pub type JsVerifyOptions;
    #[wasm_bindgen(typescript_type = "Verification")]
    pub type JsVerification;
    #[wasm_bindgen(typescript_type = "ModelInfo")]
    pub type JsModel;
    #[wasm_bindgen(typescript_type = "Analysis")]
    pub type JsAnalysis;
    #[wasm_bindgen(typescript_type = "FormEntries")]
    pub type JsFormEntries;
    #[wasm_bindgen(typescript_type = "FormAnswers")]
    pub type JsFormAnswers;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "ScorerSource")]
    pub type JsScorerSource;
    #[wasm_bindgen(typescript_type = "ModelIds")]
    pub type JsIds;
    #[wasm_bindgen(typescript_type = "string[]")]
    pub type JsStrings;
    #[wasm_bindgen(typescript_type = "Hint")]
    pub type JsHint;
    #[wasm_bindgen(typescript_type = "{ min: number | null; max: number | null }")]
    pub type JsBounds;
    #[wasm_bindgen(typescript_type = "Answers")]
    pub type JsAnswers;
    #[wasm_bindgen(typescript_type = "EventRecord[]")]
    pub type JsEvents;
    #[wasm_bindgen(typescript_type = "Issue | undefined")]
    pub type JsIssueOrUndefined;
    #[wasm_bindgen(typescript_type = "string | number")]
    pub type JsFieldRef;
    #[wasm_bindgen(typescript_type = "AnswerValue | null | undefined")]
    pub type JsAnswerValue;
}

#[cfg(feature = "compiler")]
#[derive(Serialize)]
pub(crate) struct ModelInfo<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    locale: &'a str,
    rules_hash: &'a str,
    fields: Vec<FieldInfo<'a>>,
    steps: Vec<StepInfo<'a>>,
    events: Vec<Named<'a>>,
    groups: Vec<GroupInfo<'a>>,
    rules: Vec<RuleInfo<'a>>,
    knockouts: Vec<KnockoutInfo<'a>>,
    stages: Vec<Named<'a>>,
}

#[cfg(feature = "compiler")]
#[derive(Serialize)]
struct FieldInfo<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: FieldType,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    placeholder: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    max_length: u32,
    options: Vec<OptionInfo<'a>>,
}

#[cfg(feature = "compiler")]
#[derive(Serialize)]
struct OptionInfo<'a> {
    value: &'a str,
    label: &'a str,
}

#[cfg(feature = "compiler")]
#[derive(Serialize)]
struct StepInfo<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    fields: Vec<&'a str>,
}

#[cfg(feature = "compiler")]
#[derive(Serialize)]
struct Named<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
}

#[cfg(feature = "compiler")]
#[derive(Serialize)]
struct GroupInfo<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
}

#[cfg(feature = "compiler")]
#[derive(Serialize)]
struct RuleInfo<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    group: &'a str,
}

#[cfg(feature = "compiler")]
#[derive(Serialize)]
struct KnockoutInfo<'a> {
    id: &'a str,
    reason: &'a str,
}

/// The model description in `locale` (default: the model's).
#[cfg(feature = "compiler")]
pub(crate) fn model_info<'a>(p: &'a Program, locale: Option<&'a str>) -> ModelInfo<'a> {
    let fallback = p.locale.as_str();
    let loc = locale.unwrap_or(fallback);
    let t = |t: &'a Option<Text>| t.as_ref().map(|t| t.get(loc, fallback));
    let field_id = |f: &u32| p.fields.get(*f as usize).map_or("", |f| f.id.as_str());
    ModelInfo {
        id: &p.id,
        title: t(&p.title),
        locale: loc,
        rules_hash: p.hash(),
        fields: p
            .fields
            .iter()
            .map(|f| FieldInfo {
                id: &f.id,
                kind: f.kind,
                label: t(&f.label),
                help: t(&f.help),
                placeholder: t(&f.placeholder),
                step: f.step.and_then(|s| p.steps.get(s as usize)).map(|s| s.id.as_str()),
                min: f.min,
                max: f.max,
                max_length: f.max_length,
                options: f
                    .options
                    .iter()
                    .map(|o| OptionInfo { value: o.value(), label: o.label(loc, fallback) })
                    .collect(),
            })
            .collect(),
        steps: p
            .steps
            .iter()
            .map(|s| StepInfo { id: &s.id, title: t(&s.title), fields: s.fields.iter().map(field_id).collect() })
            .collect(),
        events: p.events.iter().map(|(id, label)| Named { id, label: t(label) }).collect(),
        groups: p.groups.iter().map(|g| GroupInfo { id: &g.id, label: t(&g.label), min: g.min, max: g.max }).collect(),
        rules: p
            .rules
            .iter()
            .map(|r| RuleInfo {
                id: &r.id,
                label: t(&r.label),
                group: p.groups.get(r.group as usize).map_or("", |g| g.id.as_str()),
            })
            .collect(),
        knockouts: p.knockouts.iter().map(|k| KnockoutInfo { id: &k.id, reason: &k.reason }).collect(),
        stages: p.stages.iter().map(|s| Named { id: &s.id, label: t(&s.label) }).collect(),
    }
}

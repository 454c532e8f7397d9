//! How a history exported from a CRM or a spreadsheet becomes a model's answers and outcomes: which column is
//! which field or event, which is the outcome and which of its values are won, lost or open, and how values
//! written for people ("51-200", "Germany", "Financial Services") become the values a model takes.
//!
//! A [`Mapping`] is a JSON document (its JSON Schema: `leadscore schema mapping`). [`Mapping::propose`] writes
//! one from a file's header row: a CRM's preset when the header is that CRM's export ([`PRESETS`]), columns
//! matched to fields by name and label. [`Values`] converts a cell the model refuses as written, and records
//! every conversion and every value it could not convert, for the report. Pure: no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Choice, FieldType};
use crate::Program;

/// How a file's columns and values become a model's answers and outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// What the file is, for the report ("HubSpot contacts export").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A column's header (as written in the file) → the id of the field or event it holds. A column named
    /// after a field or event needs no entry.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// The column with what became of each lead.
    #[serde(default)]
    pub outcome: OutcomeColumn,
    /// The column with the time each lead was handed over (a date or RFC 3339 time): a lead is scored as it
    /// was then.
    #[serde(default = "default_scored_at")]
    pub scored_at: String,
    /// How a range of numbers ("51-200") becomes a number: its `midpoint` (default) or its `lower` bound. An
    /// open range ("1,000+") is always its lower bound.
    #[serde(default)]
    pub ranges: RangeRule,
    /// Per field id: a value as written in the file → the answer (an option's value, a number...), for what
    /// the automatic rules do not read.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

/// The outcome column and the meaning of its values (compared ignoring case and accents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OutcomeColumn {
    /// Its header. Default `outcome`.
    #[serde(default = "default_outcome")]
    pub column: String,
    /// Values of won leads. Default: won, closed won, customer, yes, true, 1.
    #[serde(default)]
    pub won: Vec<String>,
    /// Values of lost leads. When none are given, every value neither won nor open is lost; when some are,
    /// a value in no list is open, and the report lists it.
    #[serde(default)]
    pub lost: Vec<String>,
    /// Values of leads still open (an opportunity in progress): neither won nor lost. An empty cell is open.
    #[serde(default)]
    pub open: Vec<String>,
}

impl Default for OutcomeColumn {
    fn default() -> Self {
        OutcomeColumn { column: default_outcome(), won: vec![], lost: vec![], open: vec![] }
    }
}

fn default_outcome() -> String {
    "outcome".into()
}

fn default_scored_at() -> String {
    "scored_at".into()
}

/// How a range of numbers becomes one number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RangeRule {
    /// "51-200" is 125.5 (an integer field: 125).
    #[default]
    Midpoint,
    /// "51-200" is 51.
    Lower,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            name: None,
            columns: BTreeMap::new(),
            outcome: OutcomeColumn::default(),
            scored_at: default_scored_at(),
            ranges: RangeRule::default(),
            values: BTreeMap::new(),
        }
    }
}

/// A CRM's export: recognised by its header, with its outcome column and the names it gives common fields.
pub struct Preset {
    pub name: &'static str,
    /// Headers that every export of this kind has.
    pub signature: &'static [&'static str],
    pub outcome: &'static str,
    pub won: &'static [&'static str],
    pub lost: &'static [&'static str],
    pub open: &'static [&'static str],
    pub scored_at: &'static str,
}

/// The presets, tried in order.
pub const PRESETS: [Preset; 2] = [
    Preset {
        name: "HubSpot contacts export",
        signature: &["Record ID", "Lifecycle Stage", "Create Date"],
        outcome: "Lifecycle Stage",
        won: &["Customer", "Evangelist"],
        lost: &["Other", "Unqualified", "Disqualified", "Closed Lost"],
        open: &["Subscriber", "Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Opportunity"],
        scored_at: "Create Date",
    },
    Preset {
        name: "Salesforce leads report",
        signature: &["Lead Status", "Lead Source", "Create Date"],
        outcome: "Lead Status",
        won: &["Closed - Converted", "Converted"],
        lost: &["Closed - Not Converted", "Unqualified"],
        open: &["Open - Not Contacted", "Working - Contacted", "Open", "Working", "Nurturing", "New"],
        scored_at: "Create Date",
    },
];

/// Other names CRMs and spreadsheets give a field, by the field ids a model commonly uses (folded: lower
/// case, letters and digits only). A header matches a field when it folds to the field's id, to one of its
/// labels, or to one of these names of its id.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("email", &["emailaddress", "workemail", "businessemail", "email"]),
    ("first_name", &["firstname", "givenname"]),
    ("last_name", &["lastname", "surname", "familyname"]),
    ("company", &["company", "companyname", "account", "accountname", "organization", "companyaccount"]),
    ("job_title", &["jobtitle", "title", "position"]),
    ("employees", &["numberofemployees", "noofemployees", "employees", "companysize", "employeecount", "headcount"]),
    ("company_size", &["numberofemployees", "noofemployees", "employees", "companysize", "employeecount"]),
    ("annual_revenue", &["annualrevenue", "revenue"]),
    ("country", &["country", "countryregion", "countryname"]),
    ("industry", &["industry", "sector"]),
    ("phone", &["phone", "phonenumber", "mobilephone", "mobile"]),
    ("seniority", &["seniority", "managementlevel", "joblevel"]),
    ("utm_source", &["originalsource", "leadsource", "source", "utmsource"]),
    ("website", &["website", "websiteurl", "companydomainname"]),
];

/// `s` for comparing names and labels: lower case, accents removed, letters and digits only.
pub fn fold(s: &str) -> String {
    let lower = crate::host::lower(s).unwrap_or_else(|| s.to_string());
    crate::host::strip_accents(&lower).chars().filter(|c| c.is_alphanumeric()).collect()
}

impl Mapping {
    /// Reads a mapping document; an error says where (JSON pointer, line and column) and what.
    pub fn from_json(text: &str) -> Result<Mapping, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        let result: Result<Mapping, _> = serde_path_to_error::deserialize(&mut de);
        let m = result.map_err(|e| {
            let pointer: String = e
                .path()
                .iter()
                .map(|seg| match seg {
                    serde_path_to_error::Segment::Seq { index } => format!("/{index}"),
                    serde_path_to_error::Segment::Map { key } => {
                        format!("/{}", key.replace('~', "~0").replace('/', "~1"))
                    }
                    serde_path_to_error::Segment::Enum { variant } => format!("/{variant}"),
                    serde_path_to_error::Segment::Unknown => "/?".to_string(),
                })
                .collect();
            let inner = e.inner();
            // serde_json's message ends with the line and column.
            if pointer.is_empty() {
                inner.to_string()
            } else {
                format!("{pointer}: {inner}")
            }
        })?;
        de.end().map_err(|e| e.to_string())?;
        Ok(m)
    }

    /// A mapping for a file with `headers`: the preset of the CRM whose export it is, if any, and each column
    /// the model has a field or event for, by id, label or a common other name. Columns matched by id exactly
    /// get no entry (the reader takes them as they are).
    pub fn propose(headers: &[&str], program: &Program) -> Mapping {
        let folded: Vec<String> = headers.iter().map(|h| fold(h)).collect();
        let has = |name: &str| folded.contains(&fold(name));
        let mut m = Mapping::default();
        if let Some(p) = PRESETS.iter().find(|p| p.signature.iter().all(|s| has(s))) {
            let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
            m.name = Some(p.name.to_string());
            m.outcome =
                OutcomeColumn { column: p.outcome.into(), won: list(p.won), lost: list(p.lost), open: list(p.open) };
            m.scored_at = p.scored_at.into();
        }
        let taken = |m: &Mapping, id: &str| m.columns.values().any(|v| v == id) || headers.contains(&id);
        for (h, f) in headers.iter().zip(&folded) {
            if program.field_index(h).is_some() || program.event_index(h).is_some() {
                continue;
            }
            if [&m.outcome.column, &m.scored_at].iter().any(|c| fold(c) == *f) || f == "id" {
                continue;
            }
            let by_name =
                program.fields.iter().map(|x| x.id.as_str()).chain(program.events.iter().map(|e| e.0.as_str())).find(
                    |id| {
                        fold(id) == *f
                            || program.field_index(id).and_then(|i| program.fields[i].label.as_ref()).is_some_and(|l| {
                                match l {
                                    crate::model::Text::Plain(s) => fold(s) == *f,
                                    crate::model::Text::Localized(e) => e.values().any(|s| fold(s) == *f),
                                }
                            })
                    },
                );
            let by_synonym = || {
                SYNONYMS
                    .iter()
                    .filter(|(_, names)| names.contains(&f.as_str()))
                    .map(|(id, _)| *id)
                    .find(|id| program.field_index(id).is_some())
            };
            if let Some(id) = by_name.or_else(by_synonym).filter(|id| !taken(&m, id)) {
                m.columns.insert(h.to_string(), id.to_string());
            }
        }
        m
    }
}

/// What became of a value of a field that the model did not take as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Converted {
    pub field: String,
    /// The rule, in words.
    pub rule: String,
    pub count: u64,
    /// One value as written, and what it became.
    pub example: (String, String),
}

/// A value left out: the field it was for, as written, how often, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftOut {
    pub field: String,
    pub value: String,
    pub count: u64,
    pub reason: String,
}

/// Converts the values a model refuses as written, by the mapping's rules, and counts what it did.
#[derive(Debug, Clone, Default)]
pub struct Values {
    explicit: BTreeMap<String, BTreeMap<String, String>>,
    ranges: RangeRule,
    converted: Vec<Converted>,
    left_out: Vec<LeftOut>,
    /// A [`Values::part`]: lists every value left out, for [`Values::merge`] to keep the first ones.
    part: bool,
}

/// How many distinct values left out a report lists (all are counted).
const MAX_LEFT_OUT: usize = 200;

impl Values {
    pub fn new(mapping: &Mapping) -> Values {
        let explicit = mapping
            .values
            .iter()
            .map(|(f, m)| (f.clone(), m.iter().map(|(k, v)| (fold(k), v.clone())).collect()))
            .collect();
        Values { explicit, ranges: mapping.ranges, ..Values::default() }
    }

    /// The same rules, nothing counted yet: for another thread, whose counts [`Values::merge`] adds to these.
    pub fn part(&self) -> Values {
        Values { explicit: self.explicit.clone(), ranges: self.ranges, converted: vec![], left_out: vec![], part: true }
    }

    /// Adds the counts of `later`, a [`Values::part`] of these rules, as if these had counted its values after
    /// their own (the first example of a conversion and the first values left out are kept).
    pub fn merge(&mut self, later: &Values) {
        for c in &later.converted {
            self.count_converted(&c.field, &c.rule, c.count, || c.example.clone());
        }
        for l in &later.left_out {
            self.count_left_out(&l.field, &l.value, &l.reason, l.count);
        }
    }

    /// The value of field `f` that `raw` stands for, with the rule that read it, or None. Only called for a
    /// value the model refused as written.
    pub fn convert(&self, program: &Program, f: usize, raw: &str) -> Option<(String, String)> {
        let field = &program.fields[f];
        let key = fold(raw);
        if let Some(v) = self.explicit.get(&field.id).and_then(|m| m.get(&key)) {
            return Some((v.clone(), "the mapping's values".into()));
        }
        match field.kind {
            FieldType::Number | FieldType::Integer => {
                let (n, rule) = number(raw, self.ranges)?;
                let n = if field.kind == FieldType::Integer { n.floor() } else { n };
                Some((crate::host::js_string(n), rule.into()))
            }
            FieldType::Country => country(raw).map(|c| (c, "country names as ISO 3166 codes".into())),
            FieldType::Choice => option(field.options.as_slice(), &key).map(|v| (v, LABELS.into())),
            FieldType::Multi => {
                let mut values = vec![];
                for part in raw.split([';', ',']).map(str::trim).filter(|p| !p.is_empty()) {
                    values.push(option(field.options.as_slice(), &fold(part))?);
                }
                Some((values.join(";"), LABELS.into()))
            }
            FieldType::Boolean => match key.as_str() {
                "y" | "x" | "checked" | "si" | "oui" | "ja" => Some(("true".into(), BOOLEANS.into())),
                "n" | "unchecked" | "non" | "nein" => Some(("false".into(), BOOLEANS.into())),
                _ => None,
            },
            FieldType::String | FieldType::Email => None,
        }
    }

    /// Counts a conversion of `raw` to `value` by `rule`.
    pub fn converted(&mut self, field: &str, rule: &str, raw: &str, value: &str) {
        self.count_converted(field, rule, 1, || (raw.trim().into(), value.into()));
    }

    /// Counts `n` conversions; the first of a field and rule gives the example.
    fn count_converted(&mut self, field: &str, rule: &str, n: u64, example: impl FnOnce() -> (String, String)) {
        match self.converted.iter_mut().find(|c| c.field == field && c.rule == rule) {
            Some(c) => c.count += n,
            None => {
                self.converted.push(Converted { field: field.into(), rule: rule.into(), count: n, example: example() })
            }
        }
    }

    /// Counts a value left out of field `field`, and why.
    pub fn left_out(&mut self, field: &str, raw: &str, reason: &str) {
        self.count_left_out(field, raw.trim(), reason, 1);
    }

    fn count_left_out(&mut self, field: &str, raw: &str, reason: &str, n: u64) {
        if let Some(l) = self.left_out.iter_mut().find(|l| l.field == field && l.value == raw) {
            l.count += n;
        } else if self.left_out.len() < MAX_LEFT_OUT || self.part {
            self.left_out.push(LeftOut { field: field.into(), value: raw.into(), count: n, reason: reason.into() });
        }
    }

    /// The conversions made, by field and rule.
    pub fn conversions(&self) -> &[Converted] {
        &self.converted
    }

    /// The values left out, most frequent first.
    pub fn values_left_out(&self) -> Vec<LeftOut> {
        let mut v = self.left_out.clone();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.field.cmp(&b.field)));
        v
    }
}

const LABELS: &str = "labels as the model's options (ignoring case and accents)";
const BOOLEANS: &str = "y, x, checked as true; n, unchecked as false";

/// A number written for people: grouped digits ("1,000", "1 000", "10.000.000"), a range ("51-200",
/// "201 to 500", "1,000+", "5000 or more"), with the rule that read it.
fn number(raw: &str, ranges: RangeRule) -> Option<(f64, &'static str)> {
    let s = raw.trim().trim_start_matches(['$', '€', '£']).trim();
    let lower = s.to_ascii_lowercase();
    for open in ["+", " or more", " and more", " and above"] {
        if let Some(n) = lower.strip_suffix(open) {
            return Some((grouped(n)?, "open ranges (1,000+) as their lower bound"));
        }
    }
    let parts: Option<(&str, &str)> = ["-", "–", "—", " to "].iter().find_map(|sep| lower.split_once(sep));
    if let Some((a, b)) = parts {
        let (a, b) = (grouped(a)?, grouped(b)?);
        if a > b {
            return None;
        }
        return Some(match ranges {
            RangeRule::Midpoint => ((a + b) / 2.0, "ranges (51-200) as their midpoint"),
            RangeRule::Lower => (a, "ranges (51-200) as their lower bound"),
        });
    }
    Some((grouped(&lower)?, "grouped digits (1,000 and 1.000) as numbers"))
}

/// Digits grouped in threes by `,`, `.`, a space or `'`, as one number: "10.000.000" and "10,000,000" are ten
/// million. A single separator followed by other than three digits is a decimal point ("12.5", "12,5").
fn grouped(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b',' | b'.' | b' ' | b'\'')) {
        return None;
    }
    let groups: Vec<&str> = s.split([',', '.', ' ', '\'']).collect();
    let is_grouping = groups.len() > 1
        && !groups[0].is_empty()
        && groups[0].len() <= 3
        && groups[1..].iter().all(|g| g.len() == 3)
        && {
            // One kind of separator only.
            let seps: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_digit()).collect();
            seps.iter().all(|&c| c == seps[0])
        };
    if is_grouping {
        return groups.concat().parse().ok();
    }
    match groups.as_slice() {
        [whole] => whole.parse().ok(),
        [whole, frac] if !whole.is_empty() && !frac.is_empty() => format!("{whole}.{frac}").parse().ok(),
        _ => None,
    }
}

/// The ISO 3166-1 alpha-2 code of a country's name, alias or code ("Germany", "United States", "DEU").
pub(crate) fn country(raw: &str) -> Option<String> {
    use celes::Country;
    let key = fold(raw);
    let c = Country::from_name(&key)
        .or_else(|_| Country::from_alias(&key))
        .or_else(|_| key.parse::<Country>())
        .or_else(|_| Country::from_name(format!("the{key}")))
        .ok()?;
    Some(c.alpha2.to_string())
}

/// The value of the option whose value or label (in any locale) folds to `key`.
fn option(options: &[Choice], key: &str) -> Option<String> {
    options
        .iter()
        .find(|o| {
            fold(o.value()) == key
                || match o {
                    Choice::Value(_) => false,
                    Choice::Labeled { label, .. } => match label {
                        crate::model::Text::Plain(s) => fold(s) == key,
                        crate::model::Text::Localized(e) => e.values().any(|s| fold(s) == key),
                    },
                }
        })
        .map(|o| o.value().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_written_for_people() {
        let mid = |s: &str| number(s, RangeRule::Midpoint).map(|(n, _)| n);
        assert_eq!(mid("51-200"), Some(125.5));
        assert_eq!(mid("201 to 500"), Some(350.5));
        assert_eq!(mid("1,001–5,000"), Some(3000.5));
        assert_eq!(mid("1,000+"), Some(1000.0));
        assert_eq!(mid("10,001+"), Some(10001.0));
        assert_eq!(mid("5000 or more"), Some(5000.0));
        assert_eq!(mid("10.000.000"), Some(10_000_000.0));
        assert_eq!(mid("10,000,000"), Some(10_000_000.0));
        assert_eq!(mid("$1,500"), Some(1500.0));
        assert_eq!(mid("12,5"), Some(12.5));
        assert_eq!(number("51-200", RangeRule::Lower).map(|(n, _)| n), Some(51.0));
        for bad in ["", "many", "200-51", "1,00,000", "1.000,5", "-5", "5-"] {
            assert_eq!(mid(bad), None, "{bad}");
        }
    }

    fn b2b() -> Program {
        crate::compile_str(include_str!("../examples/b2b-saas.json")).program.expect("compiles")
    }

    #[test]
    fn a_crm_export_is_recognised_and_its_columns_matched() {
        let p = b2b();
        let headers = [
            "Record ID",
            "Email",
            "Job Title",
            "Number of Employees",
            "Country/Region",
            "Lifecycle Stage",
            "Create Date",
            "Industry",
            "Favourite colour",
        ];
        let m = Mapping::propose(&headers, &p);
        assert_eq!(m.name.as_deref(), Some("HubSpot contacts export"));
        assert_eq!((m.outcome.column.as_str(), m.scored_at.as_str()), ("Lifecycle Stage", "Create Date"));
        let columns: Vec<(&str, &str)> = m.columns.iter().map(|(h, id)| (h.as_str(), id.as_str())).collect();
        assert_eq!(
            columns,
            [
                ("Country/Region", "country"),
                ("Email", "email"),
                ("Industry", "industry"),
                ("Job Title", "job_title"),
                ("Number of Employees", "employees")
            ]
        );
        // Without a CRM's signature: no preset, the default outcome column; a label matches too.
        let m = Mapping::propose(&["What will you use Larkspur for?", "outcome", "employees"], &p);
        assert_eq!(m.name, None);
        assert_eq!(m.outcome.column, "outcome");
        assert_eq!(m.columns.get("What will you use Larkspur for?").map(String::as_str), Some("use_case"));
        assert!(!m.columns.contains_key("employees"), "a column named after its field needs no entry");
    }

    #[test]
    fn outcomes_are_won_lost_or_open() {
        use crate::backtest::{Backtest, Outcome};
        let p = b2b();
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        let o = OutcomeColumn {
            column: "x".into(),
            won: list(&["Closed - Won"]),
            lost: list(&["Closed Lost"]),
            open: list(&["Negotiation"]),
        };
        let bt = Backtest::with_outcome(&p, &o);
        assert_eq!(bt.outcome_of(Some("closed won")), Outcome::Won, "case, spaces and punctuation do not count");
        assert_eq!(bt.outcome_of(Some("CLOSED-LOST")), Outcome::Lost);
        assert_eq!(bt.outcome_of(Some("Negotiation")), Outcome::Open);
        assert_eq!(bt.outcome_of(Some("Proposal")), Outcome::Open, "with lost values named, an unlisted value is open");
        assert_eq!(bt.outcome_of(None), Outcome::Open);
        let bt = Backtest::with_outcome(&p, &OutcomeColumn { lost: vec![], ..o });
        assert_eq!(bt.outcome_of(Some("Proposal")), Outcome::Lost, "without lost values, any other value is lost");
        assert_eq!(bt.outcome_of(Some("Négotiation")), Outcome::Open, "accents do not count");
    }

    #[test]
    fn country_names_and_labels() {
        for (name, code) in [
            ("Germany", "DE"),
            ("united states", "US"),
            ("United Kingdom", "GB"),
            ("DEU", "DE"),
            ("Italy", "IT"),
            ("South Korea", "KR"),
        ] {
            assert_eq!(country(name).as_deref(), Some(code), "{name}");
        }
        assert_eq!(country("Atlantis"), None);
        let options = vec![
            Choice::Labeled { value: "finance".into(), label: crate::model::Text::Plain("Financial services".into()) },
            Choice::Value("e-commerce".into()),
        ];
        assert_eq!(option(&options, &fold("FINANCIAL SERVICES")), Some("finance".into()));
        assert_eq!(option(&options, &fold("E-Commerce")), Some("e-commerce".into()));
        assert_eq!(option(&options, &fold("Retail")), None);
        assert_eq!(fold("Crédit Agricole / Société"), "creditagricolesociete");
    }
}

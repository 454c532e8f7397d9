//! A stored lead as sales read it: who the person is (name, company, role), the answers with the model's labels,
//! and why the lead has its stage (the stage's condition, the values it read, the caps that clipped a group).
//! Pure functions of the program and the lead's record, for the inbox's pages.

use serde_json::Value as Json;

use super::page::{show, value_text};
use super::store::Facts;
use crate::model::{Choice, FieldType, Text};
use crate::Program;

/// Field ids that commonly hold a person's name, company and role, in order of preference.
const FIRST_NAME: &[&str] = &["first_name", "firstname", "given_name"];
const LAST_NAME: &[&str] = &["last_name", "lastname", "surname", "family_name"];
const FULL_NAME: &[&str] = &["name", "full_name", "contact_name"];
const COMPANY: &[&str] = &["company", "company_name", "organization", "organisation", "account"];
const ROLE: &[&str] = &["job_title", "title", "role", "position", "seniority"];

/// Who a lead is, as far as its answers say.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Who {
    /// The person's name, else the email, else empty.
    pub name: String,
    pub email: String,
    pub company: String,
    pub role: String,
}

/// A label in `locale` (else the model's), or `None`.
fn label(t: &Option<Text>, p: &Program) -> Option<String> {
    t.as_ref().map(|t| t.get(&p.locale, &p.locale).to_string()).filter(|s| !s.is_empty())
}

/// An answer as people read it: a choice by its label, a boolean as yes or no, a number rounded.
pub fn answer_text(p: &Program, field: &str, v: &Json) -> String {
    let Some(f) = p.field_index(field).map(|i| &p.fields[i]) else { return value_text(v) };
    let option = |value: &str| {
        f.options.iter().find(|o| o.value() == value).map_or(value.to_string(), |o| match o {
            Choice::Value(v) => v.clone(),
            Choice::Labeled { label, .. } => label.get(&p.locale, &p.locale).to_string(),
        })
    };
    match (f.kind, v) {
        (FieldType::Choice, Json::String(s)) => option(s),
        (FieldType::Multi, Json::Array(items)) => {
            items.iter().map(|x| x.as_str().map_or_else(|| value_text(x), option)).collect::<Vec<_>>().join(", ")
        }
        (FieldType::Boolean, Json::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        (_, Json::Number(n)) => n.as_f64().map_or_else(|| n.to_string(), show),
        _ => value_text(v),
    }
}

/// A stage id as the model names it.
pub fn stage_label(p: &Program, id: &str) -> String {
    p.stages.iter().find(|s| s.id == id).and_then(|s| s.label.as_ref()).map_or_else(
        || if id == "disqualified" { "Disqualified".into() } else { id.to_string() },
        |l| l.get(&p.locale, &p.locale).to_string(),
    )
}

/// Who the lead is, from its answers.
pub fn who(p: &Program, answers: &Json) -> Who {
    let get = |ids: &[&str]| {
        ids.iter()
            .find_map(|id| answers.get(*id).filter(|v| !v.is_null()).map(|v| answer_text(p, id, v)))
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_default()
    };
    let email = get(&["email", "work_email"]);
    let full = [get(FIRST_NAME), get(LAST_NAME)].join(" ").trim().to_string();
    let name = [full, get(FULL_NAME), email.clone()].into_iter().find(|s| !s.is_empty()).unwrap_or_default();
    Who { name, email, company: get(COMPANY), role: get(ROLE) }
}

/// Mail providers whose domain says nothing of the company: a shared domain there is no sign of a duplicate.
const FREE_MAIL: &[&str] = &[
    "aol.com",
    "gmail.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hotmail.com",
    "hotmail.it",
    "icloud.com",
    "libero.it",
    "live.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "pm.me",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "tiscali.it",
    "virgilio.it",
    "web.de",
    "yahoo.com",
    "yahoo.it",
    "yandex.ru",
    "zoho.com",
];

const COUNTRY: &[&str] = &["country", "country_code", "countrycode", "nation"];
const SOURCE: &[&str] = &["utm_source", "source", "lead_source"];

/// What the inbox searches, filters and sorts by, from a lead's record: who (as [`who`] reads it), the email's
/// company domain, the country (ISO code) and the campaign source (an answer, else a background entry of the
/// form, else the referring site's host).
pub fn facts(p: &Program, record: &Json) -> Facts {
    let answers = record.get("answers").unwrap_or(&Json::Null);
    let w = who(p, answers);
    let some = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let email = some(w.email.to_lowercase());
    let domain = email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.trim_end_matches('.').to_string())
        .filter(|d| d.contains('.') && !FREE_MAIL.contains(&d.as_str()));
    // A value of the answers (raw, not labelled), else of the form's other entries.
    let raw = |ids: &[&str]| -> Option<String> {
        let answer = ids.iter().find_map(|id| answers.get(*id).and_then(Json::as_str).map(str::to_string));
        let entry = || {
            record.get("entries")?.as_array()?.iter().find_map(|e| {
                let (k, v) = (e.get(0)?.as_str()?, e.get(1)?.as_str()?);
                ids.contains(&k).then(|| v.to_string())
            })
        };
        answer.or_else(entry).and_then(some)
    };
    let country = raw(COUNTRY).and_then(|c| crate::mapping::country(&c));
    let referrer = || {
        let r = raw(&["referrer"])?;
        let host = url::Url::parse(&r).ok()?.host_str()?.trim_start_matches("www.").to_string();
        some(host)
    };
    let source = raw(SOURCE).map(|s| s.to_lowercase()).or_else(referrer);
    let name = some(w.name).filter(|n| Some(n.to_lowercase()) != email);
    Facts { name, email, company: some(w.company), domain, country, source }
}

/// The answers in the model's field order, each with its field's label.
pub fn answers(p: &Program, answers: &Json) -> Vec<(String, String)> {
    p.fields
        .iter()
        .filter_map(|f| {
            let v = answers.get(&f.id).filter(|v| !v.is_null())?;
            Some((label(&f.label, p).unwrap_or_else(|| f.id.clone()), answer_text(p, &f.id, v)))
        })
        .collect()
}

/// Why the lead has its stage, in sentences: the stage's condition and the values it read (the total, the
/// groups and the answers), or the knockout that holds; then each group whose cap clipped its rules' points.
pub fn why(p: &Program, stage: &str, knockout: Option<&str>, score: f64, record: &Json) -> Vec<String> {
    let mut out = vec![];
    let groups = record.get("groups");
    let group_score = |id: &str| groups.and_then(|g| g.get(id)).and_then(Json::as_f64);
    if let Some(k) = knockout.and_then(|k| p.knockouts.iter().find(|x| x.id == k || x.reason == k)) {
        out.push(format!("Disqualified by `{}` (reason: {}).", k.id, k.reason));
    } else if let Some(s) = p.stages.iter().find(|s| s.id == stage) {
        let name = label(&s.label, p).unwrap_or_else(|| s.id.clone());
        match s.when {
            None => out.push(format!("{name}: no other stage's condition holds.")),
            Some(when) => {
                let mut fields = vec![];
                let mut events = vec![];
                p.reads(when, &mut fields, &mut events);
                fields.sort_unstable();
                fields.dedup();
                let mut values = vec![];
                let text = p.expr_text(when);
                let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric() && c != '_').collect();
                if words.contains(&"score") {
                    values.push(format!("score {}", show(score)));
                }
                for g in &p.groups {
                    if let (true, Some(v)) = (words.contains(&g.id.as_str()), group_score(&g.id)) {
                        values.push(format!("{} {}", g.id, show(v)));
                    }
                }
                let answers = record.get("answers");
                for f in fields {
                    let f = &p.fields[f as usize];
                    let v = answers.and_then(|a| a.get(&f.id)).filter(|v| !v.is_null());
                    values.push(format!(
                        "{} {}",
                        f.id,
                        v.map_or("unanswered".to_string(), |v| answer_text(p, &f.id, v))
                    ));
                }
                out.push(format!("{name} because {text}, with {}.", values.join(", ")));
            }
        }
    }
    // Caps: a group's rules gave more (or less) than it counts.
    let ledger = record.get("ledger").and_then(Json::as_array);
    for g in &p.groups {
        let raw: f64 = ledger
            .into_iter()
            .flatten()
            .filter(|e| e.get("group").and_then(Json::as_str) == Some(&g.id))
            .filter_map(|e| e.get("points").and_then(Json::as_f64))
            .sum();
        let Some(score) = group_score(&g.id) else { continue };
        let name = label(&g.label, p).unwrap_or_else(|| g.id.clone());
        if let Some(max) = g.max.filter(|m| raw > *m + 1e-9 && (score - m).abs() < 1e-9) {
            let lost = raw - max;
            let phrase = if (lost - 1.0).abs() < 1e-9 {
                "1 point does".to_string()
            } else {
                format!("{} points do", show(lost))
            };
            out.push(format!(
                "{name} is capped at {}: its rules add up to {}, so {phrase} not count.",
                show(max),
                show(raw)
            ));
        }
        if let Some(min) = g.min.filter(|m| raw < *m - 1e-9 && (score - m).abs() < 1e-9) {
            out.push(format!("{name} has a floor of {}: its rules add up to {}.", show(min), show(raw)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b2b() -> Program {
        crate::compile_str(include_str!("../../examples/b2b-saas.json")).program.expect("compiles")
    }

    #[test]
    fn who_the_lead_is_and_the_answers_with_their_labels() {
        let p = b2b();
        let answers = json!({"email": "ana@shop.example", "first_name": "Ana", "company": "Shop", "seniority": "vp",
            "decision_maker": true, "employees": 120, "data_sources": ["snowflake", "hubspot"]});
        let w = who(&p, &answers);
        assert_eq!(
            w,
            Who {
                name: "Ana".into(),
                email: "ana@shop.example".into(),
                company: "Shop".into(),
                role: "Vice president or head of department".into()
            }
        );
        assert_eq!(who(&p, &json!({"email": "bo@x.example"})).name, "bo@x.example");
        let rows = super::answers(&p, &answers);
        assert!(
            rows.contains(&("Which best describes your role?".into(), "Vice president or head of department".into())),
            "{rows:?}"
        );
        assert!(rows.contains(&("Are you involved in choosing the tool?".into(), "yes".into())), "{rows:?}");
        assert!(rows.contains(&("Where does your data live today?".into(), "Snowflake, HubSpot".into())), "{rows:?}");
    }

    #[test]
    fn facts_for_the_search_and_the_filters() {
        let p = b2b();
        let record = json!({"answers": {"email": "Ana.Rossi@Shop.Example", "first_name": "Ana", "company": "Shop Srl",
            "country": "IT", "utm_source": "Google"}});
        let f = facts(&p, &record);
        assert_eq!(
            f,
            Facts {
                name: Some("Ana".into()),
                email: Some("ana.rossi@shop.example".into()),
                company: Some("Shop Srl".into()),
                domain: Some("shop.example".into()),
                country: Some("IT".into()),
                source: Some("google".into()),
            }
        );
        assert_eq!(f.search_text(), "ana ana rossi shop example shop srl shop example");
        // A free mail domain is nobody's company; a country by its name; the source from the referring site when
        // no campaign names one; an email alone is not a name.
        let record = json!({"answers": {"email": "bo@gmail.com", "country": "Germany"},
            "entries": [["referrer", "https://www.news.example/a?b=1"]]});
        let f = facts(&p, &record);
        assert_eq!((f.name, f.domain, f.country.as_deref()), (None, None, Some("DE")));
        assert_eq!(f.source.as_deref(), Some("news.example"));
        let f = facts(&p, &json!({"answers": {}, "entries": [["utm_source", "LinkedIn"]]}));
        assert_eq!(f.source.as_deref(), Some("linkedin"));
        assert_eq!(facts(&p, &json!(null)), Facts::default(), "a damaged record has no facts");
    }

    #[test]
    fn why_a_stage_and_the_caps_that_clipped() {
        let p = b2b();
        let record = json!({
            "groups": {"fit": 60, "engagement": 30, "intent": 22},
            "answers": {"decision_maker": true},
            "ledger": [{"rule": "a", "group": "fit", "points": 40}, {"rule": "b", "group": "fit", "points": 25}],
        });
        let lines = why(&p, "sql", None, 101.9999809442289, &record);
        assert_eq!(
            lines[0],
            "Sales Qualified Lead because score >= 80 and fit >= 30 and (decision_maker or not answered(decision_maker)) \
             or fit >= 40 and count(demo_request, 30) >= 1, with score 102, fit 60, decision_maker yes."
        );
        assert!(
            lines[0].contains("score 102") && lines[0].contains("fit 60") && lines[0].contains("decision_maker yes"),
            "{lines:?}"
        );
        // The model caps fit at 60: the ledger's 65 points lose 5.
        assert_eq!(lines[1], "Fit is capped at 60: its rules add up to 65, so 5 points do not count.");
        assert_eq!(
            why(&p, "disqualified", Some("student"), 0.0, &record)[0],
            "Disqualified by `student` (reason: student)."
        );
    }
}

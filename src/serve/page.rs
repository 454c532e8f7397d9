//! The thank-you page of a form sent without JavaScript (or asking for HTML): the receiver's own result, its
//! verdict on the browser's claim, and what was sent. English and Italian, by Accept-Language.

use super::trust::ClaimVerdict;
use crate::{Answers, Events, Options, Program};

/// Text for HTML: the one escape used for every value put into a page.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lang {
    En,
    It,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::It => "it",
        }
    }
}

/// The best of the page's languages for an Accept-Language header; English by default.
pub fn pick_language(header: Option<&str>) -> Lang {
    let mut best = (Lang::En, 0.0);
    for part in header.unwrap_or("").split(',') {
        let mut it = part.trim().split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it.find_map(|p| p.trim().strip_prefix("q=").map(|q| q.parse::<f64>().unwrap_or(-1.0))).unwrap_or(1.0);
        let lang = match tag.split('-').next() {
            Some("en") => Lang::En,
            Some("it") => Lang::It,
            _ => continue,
        };
        if q > best.1 {
            best = (lang, q);
        }
    }
    best.0
}

struct T {
    title: &'static str,
    received: &'static str,
    outcome: &'static str,
    stage: &'static str,
    score: &'static str,
    grade: &'static str,
    disqualified: &'static str,
    claim: &'static str,
    verified: &'static str,
    unvouched: &'static str,
    not_verified: &'static str,
    no_claim: &'static str,
    what: &'static str,
    claimed: &'static str,
    actual: &'static str,
    issues: &'static str,
    submitted: &'static str,
    field: &'static str,
    value: &'static str,
    yes: &'static str,
    no: &'static str,
    back: &'static str,
    home: &'static str,
}

const EN: T = T {
    title: "Thank you",
    received: "We have received your request.",
    outcome: "What the server computed",
    stage: "Stage",
    score: "Score",
    grade: "Grade",
    disqualified: "Not a match",
    claim: "Your browser's score",
    verified: "Confirmed: the server computed the same score, stage and grade as your browser.",
    unvouched: "Not confirmed: your browser counted activity that the server cannot confirm, so the server's result counts only your answers and confirmed activity.",
    not_verified: "Not confirmed: the server's result differs from what your browser sent.",
    no_claim: "Your browser did not score the form (JavaScript was off or not loaded), so the server scored it.",
    what: "Value",
    claimed: "Browser",
    actual: "Server",
    issues: "Answers that could not be used",
    submitted: "What you sent",
    field: "Field",
    value: "Value",
    yes: "Yes",
    no: "No",
    back: "Back to the page",
    home: "/",
};

const IT: T = T {
    title: "Grazie",
    received: "Abbiamo ricevuto la tua richiesta.",
    outcome: "Il risultato calcolato dal server",
    stage: "Fase",
    score: "Punteggio",
    grade: "Valutazione",
    disqualified: "Non idoneo",
    claim: "Il punteggio del tuo browser",
    verified: "Confermato: il server ha calcolato lo stesso punteggio, la stessa fase e la stessa valutazione del tuo browser.",
    unvouched: "Non confermato: il tuo browser ha contato attività che il server non può confermare, quindi il risultato del server conta solo le tue risposte e le attività confermate.",
    not_verified: "Non confermato: il risultato del server è diverso da quello inviato dal tuo browser.",
    no_claim: "Il tuo browser non ha calcolato il punteggio (JavaScript era disattivato o non caricato), quindi l'ha calcolato il server.",
    what: "Valore",
    claimed: "Browser",
    actual: "Server",
    issues: "Risposte che non è stato possibile usare",
    submitted: "Cosa hai inviato",
    field: "Campo",
    value: "Valore",
    yes: "Sì",
    no: "No",
    back: "Torna alla pagina",
    home: "/it/",
};

/// A number as people read it: at most two decimals, no trailing zeros.
pub fn show(x: f64) -> String {
    let s = format!("{:.2}", (x * 100.0).round() / 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A JSON value as people read it: text as it is, lists comma-separated, nothing as a dash.
pub fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        serde_json::Value::Null => "–".into(),
        v => v.to_string(),
    }
}

/// The page for one stored lead: the receiver's result (counting only vouched events) and its verdict.
#[allow(clippy::too_many_arguments)]
pub fn thank_you(
    page: &super::config::PageConfig,
    p: &Program,
    entries: &[(String, String)],
    answers: &Answers,
    events: &Events,
    at: f64,
    claim: &ClaimVerdict,
    lang: Lang,
) -> String {
    let e = p.evaluate(answers, events, at, &Options { complete: true, locale: Some(lang.code().into()) });
    let t = if lang == Lang::It { &IT } else { &EN };
    let title = e.ending.as_ref().and_then(|x| x.title.clone()).unwrap_or_else(|| t.title.into());
    let message = e.ending.as_ref().and_then(|x| x.message.clone()).unwrap_or_else(|| t.received.into());
    let stage_label = if e.stage.id == "disqualified" {
        t.disqualified.to_string()
    } else {
        e.stage.label.clone().unwrap_or_else(|| e.stage.id.clone())
    };
    let grade = e.grade.as_ref().map_or("–".to_string(), |g| g.cell.clone().unwrap_or_else(|| g.letter.clone()));
    let locale = lang.code();
    let shown = |name: &str, value: &str| -> String {
        let Some(f) = p.field_index(name).map(|i| &p.fields[i]) else {
            return format!("<tr><th scope=\"row\"><code>{}</code></th><td>{}</td></tr>", esc(name), esc(value));
        };
        let option =
            f.options.iter().find(|o| o.value() == value).map(|o| format!("{} ({value})", o.label(locale, &p.locale)));
        let yes_no = match (f.kind, value) {
            (crate::model::FieldType::Boolean, "true") => Some(t.yes.to_string()),
            (crate::model::FieldType::Boolean, "false") => Some(t.no.to_string()),
            _ => None,
        };
        let head = match &f.label {
            Some(l) => format!("{} <code>{}</code>", esc(l.get(locale, &p.locale)), esc(name)),
            None => format!("<code>{}</code>", esc(name)),
        };
        let v = option.or(yes_no).unwrap_or_else(|| value.to_string());
        format!("<tr><th scope=\"row\">{head}</th><td>{}</td></tr>", esc(&v))
    };
    let rows: Vec<String> = entries.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| shown(k, v)).collect();
    let verdict = match claim.status {
        "none" => format!("<p class=\"verdict\">{}</p>", esc(t.no_claim)),
        "verified" => format!("<p class=\"verdict ok\">{}</p>", esc(t.verified)),
        status => {
            let text = if status == "unvouched" { t.unvouched } else { t.not_verified };
            let head = [t.what, t.claimed, t.actual].map(|h| format!("<th scope=\"col\">{}</th>", esc(h))).join("");
            let list: Vec<String> = claim
                .mismatches
                .iter()
                .map(|m| {
                    format!(
                        "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td></tr>",
                        esc(&m.what),
                        esc(&value_text(&m.claimed)),
                        esc(&value_text(&m.actual))
                    )
                })
                .collect();
            format!(
                "<p class=\"verdict bad\" data-claim=\"{}\">{}</p>\n<table class=\"answers\"><thead><tr>{head}</tr></thead><tbody>\n{}\n</tbody></table>",
                esc(status),
                esc(text),
                list.join("\n")
            )
        }
    };
    let issues: Vec<String> =
        e.issues.iter().map(|i| format!("<li><code>{}</code>: {}</li>", esc(&i.field), esc(&i.message))).collect();
    let issues = if issues.is_empty() {
        String::new()
    } else {
        format!("<h2>{}</h2>\n<ul>{}</ul>", esc(t.issues), issues.join(""))
    };
    let why = match (&e.disqualified, e.ending.as_ref().and_then(|x| x.message.as_ref())) {
        (Some(d), None) => d.message.as_ref().map_or(String::new(), |m| format!("<p>{}</p>", esc(m))),
        _ => String::new(),
    };
    let action = e.ending.as_ref().and_then(|x| x.action.as_ref()).map_or(String::new(), |a| {
        format!("<p><a class=\"button\" href=\"{}\">{}</a></p>", esc(&a.url), esc(&a.label))
    });
    // The receiver's verdict and every value sent: for a demo (`page.details`), never by default.
    let details = if page.details {
        format!(
            r#"
        <h2>{outcome}</h2>
        <dl class="outcome">
          <div><dt>{stage_h}</dt><dd data-stage="{stage_id}">{stage_label}</dd></div>
          <div><dt>{score_h}</dt><dd>{score}</dd></div>
          <div><dt>{grade_h}</dt><dd>{grade}</dd></div>
        </dl>
        <h2>{claim_h}</h2>
        {verdict}
        {issues}
        <h2>{submitted}</h2>
        <table class="answers">
          <thead><tr><th scope="col">{field}</th><th scope="col">{value}</th></tr></thead>
          <tbody>
{rows}
          </tbody>
        </table>"#,
            outcome = esc(t.outcome),
            stage_h = esc(t.stage),
            stage_id = esc(&e.stage.id),
            stage_label = esc(&stage_label),
            score_h = esc(t.score),
            score = esc(&show(e.score)),
            grade_h = esc(t.grade),
            grade = esc(&grade),
            claim_h = esc(t.claim),
            submitted = esc(t.submitted),
            field = esc(t.field),
            value = esc(t.value),
            rows = rows.join("\n"),
        )
    } else {
        String::new()
    };
    format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}{brand_title}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{stylesheet}">
</head>
<body>
{header}
  <main class="receipt">
    <div class="wrap">
      <div class="card">
        <h1>{title}</h1>
        <p>{message}</p>
        {why}{action}{details}
        <p><a class="text-link" href="{home}">{back}</a></p>
      </div>
    </div>
  </main>
</body>
</html>
"#,
        lang = lang.code(),
        title = esc(&title),
        brand_title = page.brand.as_ref().map_or(String::new(), |b| format!(" · {}", esc(b))),
        stylesheet = esc(&page.stylesheet),
        header = page.brand.as_ref().map_or(String::new(), |b| format!(
            "  <header class=\"site-header\">\n    <div class=\"wrap header-row\">\n      <a class=\"brand\" href=\"{}\">{}</a>\n    </div>\n  </header>",
            t.home,
            esc(b)
        )),
        home = t.home,
        message = esc(&message),
        back = esc(t.back),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        assert_eq!(pick_language(None), Lang::En);
        assert_eq!(pick_language(Some("it-IT,it;q=0.9,en;q=0.8")), Lang::It);
        assert_eq!(pick_language(Some("de,en;q=0.5,it;q=0.7")), Lang::It);
        assert_eq!(pick_language(Some("fr")), Lang::En);
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(show(60.01), "60.01");
        assert_eq!(show(88.0), "88");
    }

    #[test]
    fn the_page_shows_what_was_sent_and_escapes_it() {
        let doc = r#"{"leadscore": 1, "id": "t", "fields": [{"id": "title", "type": "string", "label": {"en": "Job", "it": "Ruolo"}}],
            "rules": [{"id": "r", "group": "fit", "when": "answered(title)", "points": 5}], "stages": [{"id": "lead"}]}"#;
        let p = crate::compile_str(doc).program.unwrap();
        let entries = vec![("title".to_string(), "<b>CEO</b>".to_string()), ("gclid".to_string(), "x&y".to_string())];
        let (a, _) = Answers::from_form_entries(&p, entries.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let none = ClaimVerdict { status: "none", verified: false, mismatches: vec![] };
        let branded = super::super::config::PageConfig {
            brand: Some("Acme <Labs>".into()),
            stylesheet: "/site.css".into(),
            details: true,
            ..Default::default()
        };
        let html = thank_you(&branded, &p, &entries, &a, &Events::new(&p), 0.0, &none, Lang::It);
        assert!(html.contains("<html lang=\"it\">"));
        assert!(html.contains("<title>Grazie · Acme &lt;Labs&gt;</title>"));
        assert!(html.contains("href=\"/site.css\""));
        assert!(html.contains("Ruolo <code>title</code></th><td>&lt;b&gt;CEO&lt;/b&gt;</td>"));
        assert!(html.contains("<code>gclid</code></th><td>x&amp;y</td>"));
        assert!(html.contains("data-stage=\"lead\""));
        assert!(!html.contains("<b>CEO"));
        let plain = thank_you(&Default::default(), &p, &entries, &a, &Events::new(&p), 0.0, &none, Lang::En);
        assert!(!plain.contains("site-header") && plain.contains("<title>Thank you</title>"));
        // By default the visitor sees a thank-you, not the receiver's verdict or what was sent.
        for inner in ["CEO", "gclid", "data-stage", "verdict", "<table"] {
            assert!(!plain.contains(inner), "{inner} in the default page:\n{plain}");
        }
    }
}

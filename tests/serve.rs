//! The lead receiver end to end over HTTP on loopback: real SQLite files, the real PostgreSQL of
//! scripts/postgres.sh (`LEADSCORE_TEST_POSTGRES`; required under CI), real local HTTP stubs for the delivery
//! targets and the CAPTCHA check, and the real `leadscore` binary for kill -9 and start-up errors.
#![cfg(feature = "serve")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use leadscore::model::FieldType;
use leadscore::serve::{self, Config};
use leadscore::{Answers, Events, Options, Program};
use serde_json::{json, Value as Json};

const SECRET: &str = "test-secret-0123456789abcdef";
/// The webhook key (base64 of "leadscore webhook test key").
const WHSEC: &str = "whsec_bGVhZHNjb3JlIHdlYmhvb2sgdGVzdCBrZXk=";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let d = root().join("target/serve-tests").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The databases every storage-dependent test runs on.
fn databases(name: &str) -> Vec<String> {
    let mut v = vec![format!("sqlite:{}", scratch(name).join("leads.db").display())];
    match std::env::var("LEADSCORE_TEST_POSTGRES") {
        Ok(url) => v.push(url),
        Err(_) => assert!(std::env::var("CI").is_err(), "under CI, LEADSCORE_TEST_POSTGRES must be set"),
    }
    v
}

fn model_path() -> String {
    root().join("examples/b2b-saas.json").display().to_string()
}

/// A configuration: the example model, no rate limit and no fill time unless `extra` sets them.
fn config(database: &str, extra: &str) -> Config {
    let text = format!("listen = \"127.0.0.1:0\"\ndatabase = \"{database}\"\nsecret = \"{SECRET}\"\n{extra}\n",);
    let mut c = Config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    if !extra.contains("[model]") {
        c.model.path = model_path().into();
    }
    if !extra.contains("[receive]") {
        c.receive.rate_per_minute = 0;
        c.receive.min_fill_ms = 0;
    }
    c.delivery.poll_ms = 50;
    c.delivery.backoff_ms = 50;
    c
}

struct Receiver {
    base: String,
    app: Arc<serve::App>,
    running: Option<serve::Running>,
    http: reqwest::Client,
}

impl Receiver {
    async fn start(c: Config) -> Receiver {
        let app = serve::App::new(c).await.unwrap();
        let running = serve::start(app.clone()).await.unwrap();
        let base = format!("http://{}", running.addr);
        Receiver { base, app, running: Some(running), http: reqwest::Client::new() }
    }

    async fn stop(mut self) {
        self.running.take().unwrap().stop().await.unwrap();
    }

    /// POSTs form entries, urlencoded, asking for JSON.
    async fn submit(&self, entries: &[(String, String)]) -> (StatusCode, Json) {
        let r = self
            .http
            .post(format!("{}/submit", self.base))
            .header("accept", "application/json")
            .form(entries)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
        let body = r.text().await.unwrap();
        (status, serde_json::from_str(&body).unwrap_or_else(|_| json!({"text": body})))
    }

    async fn raw(&self, content_type: &str, body: Vec<u8>) -> (StatusCode, String) {
        let r = self
            .http
            .post(format!("{}/submit", self.base))
            .header("accept", "application/json")
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        (StatusCode::from_u16(r.status().as_u16()).unwrap(), r.text().await.unwrap())
    }

    async fn lead(&self, id: &str) -> serve::store::Lead {
        self.app.store.lead(id).await.unwrap().unwrap_or_else(|| panic!("no lead {id}"))
    }
}

fn e(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// A fit of 49 without engagement: an MQL at best on its answers alone.
fn good_fit(email: &str) -> Vec<(String, String)> {
    vec![
        e("email", email),
        e("first_name", "Ada"),
        e("job_title", "Head of Data"),
        e("seniority", "vp"),
        e("use_case", "own_company"),
        e("country", "DE"),
        e("industry", "saas"),
        e("employees", "120"),
        e("timeline", "researching"),
    ]
}

/// An SQL on its answers alone: fit, intent and a decision maker.
fn sql_answers(email: &str) -> Vec<(String, String)> {
    let mut a = good_fit(email);
    a.retain(|(k, _)| k != "timeline");
    a.extend([
        e("timeline", "now"),
        e("budget_monthly", "2500"),
        e("current_tool", "in_house"),
        e("decision_maker", "on"),
        e("annual_revenue", "40"),
        e("data_sources", "snowflake"),
        e("data_sources", "segment"),
        e("data_sources", "postgres"),
    ]);
    a
}

/// What the form controller adds to a qualified submission: the browser's own evaluation of the same entries
/// and events (events: `[{type, at, token?}]`).
fn browser_claim(p: &Program, entries: &[(String, String)], events: &Json, at: f64) -> Vec<(String, String)> {
    let (answers, issues) = Answers::from_form_entries(p, entries.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    assert!(issues.is_empty(), "{issues:?}");
    let (ev, issues) = Events::from_json(p, events);
    assert!(issues.is_empty(), "{issues:?}");
    let r = p.evaluate(&answers, &ev, at, &Options { complete: true, locale: None });
    let groups: serde_json::Map<String, Json> = r.groups.iter().map(|g| (g.id.clone(), json!(g.score))).collect();
    let rules: Vec<&str> = r.ledger.iter().map(|l| l.rule.as_str()).collect();
    let grade = r.grade.as_ref().map(|g| g.cell.clone().unwrap_or(g.letter.clone())).unwrap_or_default();
    let mut out = entries.to_vec();
    out.extend([
        e("leadscore_score", &r.score.to_string()),
        e("leadscore_groups", &Json::Object(groups).to_string()),
        e("leadscore_stage", &r.stage.id),
        e("leadscore_grade", &grade),
        e("leadscore_rules", &rules.join(",")),
        e("leadscore_hash", p.hash()),
        e("leadscore_at", &at.to_string()),
        e("leadscore_events", &events.to_string()),
    ]);
    out
}

fn now() -> f64 {
    serve::now_ms() as f64
}

/// The smallest model a user may write: no grade, no events, no knockouts, no steps.
const MINIMAL: &str = r#"{
  "leadscore": 1, "id": "minimal",
  "fields": [{"id": "email", "type": "email"}, {"id": "employees", "type": "integer"}],
  "rules": [{"id": "size", "group": "fit", "when": "employees >= 50", "points": 10}],
  "stages": [{"id": "mql", "when": "score >= 10"}, {"id": "lead"}]
}"#;

/// Every example model and the minimal one, each with leads as a browser sends them: `(model file, leads)`,
/// a lead being its id and form entries. The examples' leads are their sample leads (`examples/leads/`), their
/// answers only (the receiver trusts no unsigned event).
/// A lead as a browser sends it: its id and its form entries.
type Sent = (String, Vec<(String, String)>);

fn every_model(dir: &Path) -> Vec<(PathBuf, Vec<Sent>)> {
    let minimal = dir.join("minimal.json");
    std::fs::write(&minimal, MINIMAL).unwrap();
    let mut out = vec![(
        minimal,
        vec![
            ("big".to_string(), vec![e("email", "ada@zahlwerk.de"), e("employees", "120")]),
            ("small".to_string(), vec![e("email", "bo@zahlwerk.de"), e("employees", "4")]),
            ("unanswered".to_string(), vec![e("email", "cy@zahlwerk.de")]),
        ],
    )];
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|f| f.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for file in files {
        let p = leadscore::compile_str(&std::fs::read_to_string(&file).unwrap()).program.unwrap();
        let sample = root().join("examples/leads").join(file.with_extension("csv").file_name().unwrap());
        let mut csv = csv::Reader::from_path(&sample).unwrap_or_else(|e| panic!("{}: {e}", sample.display()));
        let headers = csv.headers().unwrap().clone();
        let mut leads = vec![];
        for row in csv.records() {
            let row = row.unwrap();
            let mut id = String::new();
            let mut entries = vec![];
            for (name, value) in headers.iter().zip(row.iter()) {
                let Some(i) = p.field_index(name) else {
                    if name == "id" {
                        id = value.to_string();
                    }
                    continue;
                };
                match p.fields[i].kind {
                    _ if value.is_empty() => {}
                    FieldType::Multi => entries.extend(value.split(';').map(|v| e(name, v))),
                    // A checkbox: checked, or not sent at all.
                    FieldType::Boolean if value == "true" => entries.push(e(name, "on")),
                    FieldType::Boolean => {}
                    FieldType::Number
                    | FieldType::Integer
                    | FieldType::String
                    | FieldType::Email
                    | FieldType::Choice
                    | FieldType::Country => entries.push(e(name, value)),
                }
            }
            leads.push((id, entries));
        }
        assert!(!leads.is_empty(), "{} has no sample leads", sample.display());
        out.push((file, leads));
    }
    out
}

/// On every example and on the minimal model, with the receiver's default bot checks: each lead as the form
/// controller sends it is stored, and the browser's claim is verified. (Found: with a model that has no grade,
/// the controller's empty grade was a mismatch; the agency model's own `website` field was the default honeypot,
/// so its leads were dropped as bots' while the page was told they were received.) Each lead is delivered to a
/// webhook with its answers, and the history export reads back, column for column, as the same leads with the
/// same scores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_model_verifies_what_the_browser_claims() {
    let dir = scratch("every-model");
    for (k, (file, leads)) in every_model(&dir).into_iter().enumerate() {
        let db = format!("sqlite:{}", dir.join(format!("leads-{k}.db")).display());
        let (wh, hs, sf) = (
            Stub::start(StubKind::Webhook).await,
            Stub::start(StubKind::Hubspot).await,
            Stub::start(StubKind::Salesforce).await,
        );
        let model = format!(
            "[model]\npath = {:?}\n\
             [[targets]]\nid = \"hook-{k}\"\nkind = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"{WHSEC}\"\n\
             [[targets]]\nid = \"hs-{k}\"\nkind = \"hubspot\"\nurl = \"{}\"\nportal_id = \"123456\"\n\
             form_guid = \"0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9\"\n\
             [[targets]]\nid = \"sf-{k}\"\nkind = \"salesforce\"\nurl = \"{}/servlet/servlet.WebToLead\"\noid = \"00D000000000001\"\n",
            file.display().to_string(),
            wh.base,
            hs.base,
            sf.base
        );
        let r = Receiver::start(config(&db, &model)).await;
        let p = r.app.programs.current.clone();
        for (id, entries) in &leads {
            let what = format!("{} lead {id}", p.id);
            let mut sent = browser_claim(&p, entries, &json!([]), now());
            sent.push(e("leadscore_key", &format!("key-{k}-{id}")));
            let (status, reply) = r.submit(&sent).await;
            assert_eq!(status, StatusCode::OK, "{what}: {reply}");
            assert_eq!(
                (reply["claim"].as_str(), reply["verified"].as_bool()),
                (Some("verified"), Some(true)),
                "{what}: {reply}"
            );
            let stored = r.lead(reply["id"].as_str().unwrap_or_else(|| panic!("{what}: {reply}"))).await;
            assert_eq!(stored.claim_status, "verified", "{what}");
        }
        assert!(r.app.store.rejections(100).await.unwrap().is_empty(), "{}: refused leads", p.id);

        // Delivered to each target, each with the answers it was stored with: as JSON to the webhook, as text to
        // the CRMs (lists joined with `;`).
        let all = |s: &Stub| s.seen().len() >= leads.len();
        until("every delivery", || async { all(&wh) && all(&hs) && all(&sf) }).await;
        let mut answers = vec![];
        for s in wh.seen() {
            assert!(s.problems.is_empty(), "{}: {:?}", p.id, s.problems);
            let data = &s.json["data"];
            let stored = r.lead(data["id"].as_str().unwrap()).await;
            assert_eq!(
                (data["stage"].as_str(), data["score"].as_f64()),
                (Some(stored.stage.as_str()), Some(stored.score))
            );
            for (field, value) in stored.record["answers"].as_object().unwrap() {
                assert_eq!(&data["fields"][field], value, "{} lead {}: `{field}` delivered", p.id, stored.id);
            }
            answers.push(stored.record["answers"].as_object().unwrap().clone());
        }
        let text = |v: &Json| match v {
            Json::String(s) => s.clone(),
            Json::Array(items) => items.iter().map(|i| i.as_str().unwrap_or_default()).collect::<Vec<_>>().join(";"),
            other => other.to_string(),
        };
        // Each CRM delivery carries, field for field, the answers of one stored lead (none of the model's other fields).
        let of_a_lead = |sent: &dyn Fn(&str) -> Option<String>| {
            answers
                .iter()
                .any(|a| p.fields.iter().all(|f| sent(&f.id) == a.get(&f.id).filter(|v| !v.is_null()).map(&text)))
        };
        for s in sf.seen() {
            assert!(s.problems.is_empty(), "{}: {:?}", p.id, s.problems);
            assert!(of_a_lead(&|f| s.form.get(f).cloned()), "{}: Salesforce got {:?}", p.id, s.form);
        }
        for h in hs.seen() {
            let fields = h.json["fields"].as_array().unwrap();
            // A lead without a single answer (the B2C sample has one, with events only) goes to HubSpot with no
            // fields, which its Forms API refuses; the stub says so. Left as it is: such a lead has no contact.
            if fields.is_empty() && answers.iter().any(|a| a.is_empty()) {
                continue;
            }
            assert!(h.problems.is_empty(), "{}: {:?}", p.id, h.problems);
            let sent =
                |f: &str| fields.iter().find(|x| x["name"] == f).map(|x| x["value"].as_str().unwrap().to_string());
            assert!(of_a_lead(&sent), "{}: HubSpot got {}", p.id, h.json);
        }

        // The history export reads back as the same leads: no column left over, no value refused, the same scores.
        let history = serve::history(&r.app.store, &p).await.unwrap();
        let mut reader = leadscore::leads::Reader::new(
            history.as_bytes(),
            leadscore::leads::Format::Csv,
            &p,
            &["outcome", "scored_at"],
        )
        .unwrap();
        assert!(reader.ignored_columns().is_empty(), "{}: {:?}", p.id, reader.ignored_columns());
        let read: Vec<_> = reader.leads(&p).collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len(), leads.len(), "{}", p.id);
        let mut bt = leadscore::backtest::Backtest::new(&p, &[]);
        for l in &read {
            assert!(l.issues.is_empty(), "{} lead {}: {:?}", p.id, l.id, l.issues);
            let stored = r.lead(&l.id).await;
            let again = p.evaluate(&l.answers, &l.events, now(), &Options { complete: true, locale: None });
            assert_eq!(
                (again.score, again.stage.id.as_str()),
                (stored.score, stored.stage.as_str()),
                "{} lead {}",
                p.id,
                l.id
            );
            bt.add(&p, &l.answers, &l.events, now(), l.extra[0].as_deref());
        }
        assert_eq!(bt.len(), leads.len());
        r.stop().await;
    }
}

const DAY: f64 = 86_400_000.0;

/// Pages on other sites: an allowed origin gets CORS headers and its preflight, any other is refused once a list
/// is configured; without a list, nothing changes (a page of another site may post, not read the answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_on_allowed_origins_send_leads_across_sites() {
    let db = format!("sqlite:{}", scratch("cors").join("leads.db").display());
    let allowed = "https://www.larkspur.example";
    let r = Receiver::start(config(
        &db,
        &format!("[receive]\nmin_fill_ms = 0\nrate_per_minute = 0\nallowed_origins = [{allowed:?}]"),
    ))
    .await;
    let post = |origin: Option<&'static str>, email: &str| {
        let mut req =
            r.http.post(format!("{}/submit", r.base)).header("accept", "application/json").form(&good_fit(email));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let res = post(Some("https://www.larkspur.example"), "ada@allowed.example").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], allowed);
    assert!(res.headers().get_all("vary").iter().any(|v| v == "Origin"));
    let body: Json = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body["received"], true, "{body}");

    let res = post(Some("https://evil.example"), "eve@other.example").await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert!(res.text().await.unwrap().contains("receive.allowed_origins"));

    // No Origin (a server, curl) and the receiver's own pages are as before.
    let res = post(None, "bob@own.example").await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let own = format!("http://{}", r.base.trim_start_matches("http://"));
    let res = r
        .http
        .post(format!("{}/submit", r.base))
        .header("origin", own)
        .form(&good_fit("cy@own.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The preflight of a JSON body.
    let pre = r
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/submit", r.base))
        .header("origin", allowed)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.headers()["access-control-allow-origin"], allowed);
    assert_eq!(pre.headers()["access-control-allow-methods"], "POST");
    assert!(pre.headers()["access-control-allow-headers"].to_str().unwrap().contains("Content-Type"));
    let other = r
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/submit", r.base))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
    let all = r.app.store.leads(&serve::store::Filter::page(100, 0)).await.unwrap();
    let emails: Vec<String> =
        all.iter().filter_map(|l| l.record["answers"]["email"].as_str().map(str::to_string)).collect();
    assert!(emails.iter().any(|e| e == "ada@allowed.example"), "{emails:?}");
    assert!(!emails.iter().any(|e| e == "eve@other.example"), "{emails:?}");
    r.stop().await;

    // A bad origin in the configuration is a clear error.
    let bad = Config::parse(
        "listen = \"127.0.0.1:0\"\ndatabase = \"sqlite:x.db\"\n[receive]\nallowed_origins = [\"https://a.example/\"]\n",
        "r.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(bad.contains("receive.allowed_origins[0]") && bad.contains("without a path"), "{bad}");
}

/// A form sent without JavaScript: a plain thank-you by default (no score, no verdict, no values), or the site's
/// own page of the lead's stage or knockout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visitor_gets_a_plain_thank_you_or_the_sites_own_page() {
    let db = format!("sqlite:{}", scratch("thanks").join("leads.db").display());
    let plain = Receiver::start(config(&db, "")).await;
    let res =
        plain.http.post(format!("{}/submit", plain.base)).form(&sql_answers("ada@plain.example")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>"), "{html}");
    for inner in ["ada@plain.example", "data-stage", "verdict", "Zahlwerk", "<table"] {
        assert!(!html.contains(inner), "{inner} shown to the visitor:\n{html}");
    }
    // The SQL ending's booking link, prefilled with the visitor's answers (URL-encoded, then HTML-escaped).
    let booking = "href=\"https://cal.example.com/larkspur/discovery-call?email=ada%40plain.example&amp;name=";
    assert!(html.contains(booking), "{html}");
    plain.stop().await;

    let redirects =
        "[page.redirects]\nstages = { sql = \"/thanks/book\" }\ndefault = \"https://www.example.com/thanks\"";
    let r = Receiver::start(config(&db, redirects)).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (entries, to) in [
        (sql_answers("bo@sql.example"), "/thanks/book"),
        (good_fit("cy@fit.example"), "https://www.example.com/thanks"),
    ] {
        let res = http.post(format!("{}/submit", r.base)).form(&entries).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], to);
    }
    // JSON answers are not redirected.
    let (status, body) = r.submit(&sql_answers("di@json.example")).await;
    assert_eq!((status.as_u16(), body["stage"].as_str()), (200, Some("sql")), "{body}");
    r.stop().await;

    // Checked at start: a page on another site, a stage the model lacks.
    let bad = Config::parse(
        "listen = \"127.0.0.1:0\"\ndatabase = \"sqlite:x.db\"\n[page.redirects]\ndefault = \"//evil.example\"\n",
        "r.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(bad.contains("page.redirects.default") && bad.contains("another site"), "{bad}");
    let unknown = serve::App::new(config(&db, "[page.redirects]\nstages = { opportunity = \"/x\" }"))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(unknown.contains("page.redirects.stages: `opportunity` is not a stage"), "{unknown}");
}

/// A directory's redirect is built from the normalised path: `//playground` is not sent to the host `playground`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_redirects_stay_on_the_site() {
    let db = format!("sqlite:{}", scratch("redirects").join("leads.db").display());
    let www = root().join("www").display().to_string();
    let r = Receiver::start(config(&db, &format!("root = {www:?}"))).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (path, to) in [
        ("/playground", "/playground/"),
        ("//playground", "/playground/"),
        ("///playground?x=1", "/playground/?x=1"),
        ("//it?utm_source=g2", "/it/?utm_source=g2"),
        ("/%2Fplayground", "/playground/"),
    ] {
        let res = http.get(format!("{}{path}", r.base)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 301, "{path}");
        assert_eq!(res.headers()["location"], to, "{path}");
    }
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_events_never_verify_an_sql() {
    let db = databases("forged").remove(0);
    let r = Receiver::start(config(&db, "")).await;
    let p = r.app.programs.current.clone();
    let t = now();
    let forged = json!([
        {"type": "demo_request", "at": t - DAY},
        {"type": "trial_signup", "at": t - 2.0 * DAY},
        {"type": "webinar_attended", "at": t - 3.0 * DAY},
    ]);
    // The finding: a self-consistent claim with invented events was an SQL, "verified".
    let (status, reply) = r.submit(&browser_claim(&p, &good_fit("ada@zahlwerk.de"), &forged, t)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["verified"], false);
    assert_eq!(reply["claim"], "unvouched");
    assert_ne!(reply["stage"], "sql", "{reply}");
    let lead = r.lead(reply["id"].as_str().unwrap()).await;
    assert_eq!(lead.stage, reply["stage"].as_str().unwrap());
    assert_eq!(lead.record["claimed"]["stage"], "sql", "the claim is kept beside the verdict");
    assert_eq!(lead.record["groups"]["engagement"], 0.0, "fit and engagement apart: no vouched engagement");
    assert!(lead.record["groups"]["fit"].as_f64().unwrap() >= 40.0);
    assert!(lead.record["events"].as_array().unwrap().iter().all(|e| e["trust"] == "unverified"));

    // The same events with tokens the site signed: vouched, verified, an SQL.
    let keys = serve::trust::Keys::new(SECRET.as_bytes());
    let day = (t - DAY) as i64;
    let nonce = |n: u32| format!("n{n}-{}-{t}", std::process::id());
    let signed = json!([{"type": "demo_request", "at": day, "token": keys.mint("demo_request", day, &nonce(1))}]);
    let mut first = browser_claim(&p, &good_fit("bo@zahlwerk.de"), &signed, t);
    first.push(e("leadscore_key", &nonce(100)));
    let (_, reply) = r.submit(&first).await;
    assert_eq!((reply["claim"].as_str(), reply["stage"].as_str()), (Some("verified"), Some("sql")), "{reply}");
    assert_eq!(reply["verified"], true);
    // Sent again (a retry with the same idempotency key): the same lead, still verified.
    let (_, again) = r.submit(&first).await;
    assert_eq!((again["id"].clone(), again["duplicate"].as_bool()), (reply["id"].clone(), Some(true)), "{again}");
    assert_eq!(again["verified"], true, "{again}");

    // The same token copied into other visitors' forms counts for the first lead only. (Found: one genuine
    // demo_request token made three unrelated leads verified SQLs.)
    for email in ["cy@zahlwerk.de", "di@zahlwerk.de"] {
        let (_, reply) = r.submit(&browser_claim(&p, &good_fit(email), &signed, t)).await;
        assert_eq!((reply["verified"].as_bool(), reply["claim"].as_str()), (Some(false), Some("mismatch")), "{reply}");
        assert_ne!(reply["stage"], "sql", "{reply}");
        assert_eq!(reply["events"][0]["trust"], "refused", "{reply}");
        assert_eq!(reply["events"][0]["note"], "the token was already counted for another lead");
        let stored = r.lead(reply["id"].as_str().unwrap()).await;
        assert_eq!(stored.record["groups"]["engagement"], 0.0, "nothing counted for the copied token");
    }

    // A token for another event, or signed with another secret, vouches for nothing.
    let other = serve::trust::Keys::new(b"someone else's secret!!");
    let bad = json!([
        {"type": "demo_request", "at": day, "token": keys.mint("webinar_attended", day, &nonce(2))},
        {"type": "demo_request", "at": day, "token": other.mint("demo_request", day, &nonce(3))},
    ]);
    let (_, reply) = r.submit(&browser_claim(&p, &good_fit("eve@zahlwerk.de"), &bad, t)).await;
    assert_eq!(reply["claim"], "unvouched");
    let notes: Vec<&str> = reply["events"].as_array().unwrap().iter().map(|e| e["note"].as_str().unwrap()).collect();
    assert_eq!(notes, ["the token is for `webinar_attended`", "token: bad signature"]);

    // Events dated in 2100 are clamped to the server's clock, not counted at full weight forever.
    let future =
        json!([{"type": "page_view", "at": 4_102_444_800_000.0}, {"type": "demo_request", "at": 4_102_444_800_000.0}]);
    let (_, reply) = r.submit(&browser_claim(&p, &good_fit("di@zahlwerk.de"), &future, t)).await;
    assert_eq!(reply["verified"], false);
    for ev in reply["events"].as_array().unwrap() {
        assert!(ev["note"].as_str().unwrap().starts_with("clamped"), "{ev}");
        assert!(ev["at"].as_f64().unwrap() <= now());
    }
    assert_ne!(reply["stage"], "sql");

    // A claim that holds only the rules hash is not verified.
    let mut only_hash = good_fit("ed@zahlwerk.de");
    only_hash.push(e("leadscore_hash", p.hash()));
    let (_, reply) = r.submit(&only_hash).await;
    assert_eq!((reply["claim"].as_str(), reply["verified"].as_bool()), (Some("incomplete"), Some(false)));
    // No claim at all: the server scored it, nothing to verify.
    let (_, reply) = r.submit(&sql_answers("fe@zahlwerk.de")).await;
    assert_eq!((reply["claim"].as_str(), reply["stage"].as_str()), (Some("none"), Some("sql")), "{reply}");
    // A tampered score is a mismatch.
    let mut tampered = browser_claim(&p, &good_fit("gi@zahlwerk.de"), &json!([]), t);
    tampered.iter_mut().find(|(k, _)| k == "leadscore_score").unwrap().1 = "95".into();
    let (_, reply) = r.submit(&tampered).await;
    assert_eq!(reply["claim"], "mismatch");
    assert_eq!(reply["mismatches"][0]["what"], "score");
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkbox_posted_as_on_verifies() {
    let db = databases("checkbox").remove(0);
    let r = Receiver::start(config(&db, "")).await;
    let p = r.app.programs.current.clone();
    let entries = sql_answers("ada@zahlwerk.de");
    assert!(entries.iter().any(|(k, v)| k == "decision_maker" && v == "on"));
    let (_, reply) = r.submit(&browser_claim(&p, &entries, &json!([]), now())).await;
    assert_eq!((reply["claim"].as_str(), reply["stage"].as_str()), (Some("verified"), Some("sql")), "{reply}");
    assert_eq!(reply["issues"], json!([]));
    let lead = r.lead(reply["id"].as_str().unwrap()).await;
    assert_eq!(lead.record["answers"]["decision_maker"], true);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earlier_published_programs_are_accepted() {
    let dir = scratch("programs");
    // The previous release: the same model with other points.
    let text = std::fs::read_to_string(model_path()).unwrap().replacen("\"points\": 15", "\"points\": 14", 1);
    let old_path = dir.join("previous.json");
    std::fs::write(&old_path, &text).unwrap();
    let old = leadscore::compile_str(&text).program.unwrap();
    let db = format!("sqlite:{}", dir.join("leads.db").display());
    let mut c = config(&db, "");
    c.model.accept = vec![old_path.clone()];
    let r = Receiver::start(c).await;
    assert_ne!(old.hash(), r.app.programs.current.hash());
    let (_, reply) = r.submit(&browser_claim(&old, &sql_answers("ada@zahlwerk.de"), &json!([]), now())).await;
    assert_eq!(reply["claim"], "verified", "{reply}");
    assert_eq!(reply["rulesHash"], old.hash());
    assert_eq!(
        r.lead(reply["id"].as_str().unwrap()).await.rules_hash,
        old.hash(),
        "the lead records which program scored it"
    );
    let mut unknown = browser_claim(&old, &sql_answers("bo@zahlwerk.de"), &json!([]), now());
    unknown.iter_mut().find(|(k, _)| k == "leadscore_hash").unwrap().1 = "0000000000000000".into();
    let (_, reply) = r.submit(&unknown).await;
    assert_eq!(reply["claim"], "unknown_program");
    r.stop().await;
    // Restarted without `accept`, the receiver still knows the program it published (model.keep).
    let r = Receiver::start(config(&db, "")).await;
    assert!(r.app.programs.get(old.hash()).is_some(), "{:?}", r.app.programs.hashes());
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_and_bad_bodies_are_refused_with_a_reason() {
    let db = databases("bots").remove(0);
    let stub = Stub::start(StubKind::Captcha).await;
    let extra = format!(
        "[receive]\nmin_fill_ms = 3000\nrate_per_minute = 60\nrate_burst = 12\nbody_limit = 4096\n\
         [captcha]\nprovider = \"turnstile\"\nsecret = \"captcha-secret\"\nverify_url = \"{}/siteverify\"\n",
        stub.base
    );
    let r = Receiver::start(config(&db, &extra)).await;
    let started = |ms_ago: f64| e("leadscore_started", &(now() - ms_ago).to_string());
    let mut ok = good_fit("ada@zahlwerk.de");
    ok.extend([started(10_000.0), e("cf-turnstile-response", "pass")]);
    let (status, reply) = r.submit(&ok).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(stub.seen().len(), 1, "the CAPTCHA answer was checked");
    assert_eq!(stub.seen()[0].form["secret"], "captcha-secret");

    let mut honeypot = ok.clone();
    honeypot.push(e("leadscore_website", "http://spam.example"));
    let (status, reply) = r.submit(&honeypot).await;
    assert_eq!((status, reply["received"].as_bool()), (StatusCode::OK, Some(true)), "a bot learns nothing");
    assert!(reply.get("id").is_none());

    let mut fast = good_fit("bo@zahlwerk.de");
    fast.extend([started(500.0), e("cf-turnstile-response", "pass")]);
    let (status, reply) = r.submit(&fast).await;
    assert_eq!((status, reply["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("too_fast")));

    let mut no_captcha = good_fit("cy@zahlwerk.de");
    no_captcha.push(started(10_000.0));
    let (status, reply) = r.submit(&no_captcha).await;
    assert_eq!((status, reply["error"].as_str()), (StatusCode::FORBIDDEN, Some("captcha")));
    let mut wrong = no_captcha.clone();
    wrong.push(e("cf-turnstile-response", "fail"));
    let (status, _) = r.submit(&wrong).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = r.raw("application/x-www-form-urlencoded", vec![b'a'; 5000]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, body) = r.raw("application/x-www-form-urlencoded", b"email=%FF%FE".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("not UTF-8"), "{body}");
    let (status, body) = r.raw("application/json", b"{\"email\": ".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("line 1, column 10"), "{body}");
    let (status, _) = r.raw("application/json", vec![0xff, 0xfe]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = r.raw("application/json", b"[1, 2]".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = r.raw("multipart/form-data; boundary=x", b"--x--".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Twelve at once from one address, then the limit.
    let mut limited = 0;
    for _ in 0..12 {
        if r.submit(&good_fit("dd@zahlwerk.de")).await.0 == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited > 0, "the rate limit held");

    let reasons: Vec<String> = r.app.store.rejections(100).await.unwrap().into_iter().map(|x| x.reason).collect();
    for want in [
        "honeypot",
        "too_fast",
        "captcha",
        "body_too_large",
        "not_utf8",
        "malformed",
        "unsupported_type",
        "rate_limited",
    ] {
        assert!(reasons.iter().any(|x| x == want), "{want} recorded: {reasons:?}");
    }
    let hp = r.app.store.rejections(100).await.unwrap().into_iter().find(|x| x.reason == "honeypot").unwrap();
    assert!(
        hp.body.unwrap().contains("email=ada%40zahlwerk.de"),
        "the body is kept, to contact a person taken for a bot"
    );
    // Still up.
    let health = reqwest::get(format!("{}/healthz", r.base)).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_and_resubmissions() {
    for db in databases("json") {
        let r = Receiver::start(config(&db, "")).await;
        let key = format!("key-{}", now());
        let body = json!({"email": "ada@zahlwerk.de", "employees": 120, "seniority": "vp", "country": "DE",
                          "data_sources": ["snowflake", "segment"], "decision_maker": true, "leadscore_key": key});
        let (s1, b1) = r.raw("application/json", body.to_string().into_bytes()).await;
        let (s2, b2) = r.raw("application/json", body.to_string().into_bytes()).await;
        assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{b1} {b2}");
        let (b1, b2): (Json, Json) = (serde_json::from_str(&b1).unwrap(), serde_json::from_str(&b2).unwrap());
        assert_eq!(b1["id"], b2["id"], "a resubmission is the same lead");
        assert_eq!((b1["duplicate"].as_bool(), b2["duplicate"].as_bool()), (Some(false), Some(true)));
        let lead = r.lead(b1["id"].as_str().unwrap()).await;
        assert_eq!(lead.record["answers"]["data_sources"], json!(["segment", "snowflake"]));
        assert_eq!(lead.idempotency_key.as_deref(), Some(key.as_str()));
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_submissions_are_stored_once_each() {
    for db in databases("concurrent") {
        let r = Arc::new(Receiver::start(config(&db, "")).await);
        let run = format!("{}", now());
        let before = r.app.store.count_leads().await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..1000 {
            let (r, run) = (r.clone(), run.clone());
            tasks.spawn(async move {
                let mut entries = good_fit(&format!("lead{i}@zahlwerk.de"));
                // Every tenth lead is sent twice at once (a double click).
                entries.push(e("leadscore_key", &format!("{run}-{}", if i % 10 == 0 { i } else { i + 10_000 })));
                let (s, body) = r.submit(&entries).await;
                assert_eq!(s, StatusCode::OK, "{body}");
                if i % 10 == 0 {
                    let (s, again) = r.submit(&entries).await;
                    assert_eq!(s, StatusCode::OK);
                    assert_eq!(again["id"], body["id"]);
                }
                body["id"].as_str().unwrap().to_string()
            });
        }
        let mut ids = std::collections::HashSet::new();
        while let Some(id) = tasks.join_next().await {
            assert!(ids.insert(id.unwrap()), "every submission has its own lead");
        }
        assert_eq!(ids.len(), 1000);
        // Counted by this run's keys: other tests store leads in the shared PostgreSQL database meanwhile.
        let all = r.app.store.leads(&serve::store::Filter::page(1_000_000, 0)).await.unwrap();
        let mine =
            all.iter().filter(|l| l.idempotency_key.as_deref().is_some_and(|k| k.starts_with(&format!("{run}-"))));
        assert_eq!(mine.count(), 1000, "{db}: stored exactly once each");
        assert!(r.app.store.count_leads().await.unwrap() - before >= 1000);
        Arc::try_unwrap(r).ok().unwrap().stop().await;
    }
}

// Stubs of the delivery targets and of the CAPTCHA check: real HTTP servers on loopback that check the shape
// of each request as the services document it, and record what they saw.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum StubKind {
    Webhook,
    Hubspot,
    Salesforce,
    Captcha,
    Slack,
}

#[derive(Clone, Debug)]
struct Seen {
    headers: HeaderMap,
    json: Json,
    form: std::collections::HashMap<String, String>,
    /// What the stub found wrong with the request's shape (empty: as documented).
    problems: Vec<String>,
}

struct Stub {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Requests to answer with HTTP 500 before succeeding.
    fail: Arc<Mutex<usize>>,
    delay: Arc<Mutex<Duration>>,
}

impl Stub {
    async fn start(kind: StubKind) -> Stub {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let fail: Arc<Mutex<usize>> = Arc::default();
        let delay: Arc<Mutex<Duration>> = Arc::default();
        let (s, f, d) = (seen.clone(), fail.clone(), delay.clone());
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: axum::body::Bytes| {
            let (s, f, d) = (s.clone(), f.clone(), d.clone());
            async move {
                let wait = *d.lock().unwrap();
                tokio::time::sleep(wait).await;
                let body = String::from_utf8_lossy(&body).into_owned();
                let seen = check(kind, uri.path(), &headers, &body);
                let bad = !seen.problems.is_empty();
                s.lock().unwrap().push(seen);
                let mut fails = f.lock().unwrap();
                if bad {
                    return (StatusCode::BAD_REQUEST, "bad shape".to_string());
                }
                if *fails > 0 {
                    *fails -= 1;
                    return (StatusCode::INTERNAL_SERVER_ERROR, "try later".to_string());
                }
                match kind {
                    StubKind::Captcha => {
                        let pass = body.contains("response=pass");
                        (StatusCode::OK, json!({"success": pass, "error-codes": if pass { json!([]) } else { json!(["invalid-input-response"]) }}).to_string())
                    }
                    _ => (StatusCode::OK, "{}".to_string()),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Stub { base: format!("http://{addr}"), seen, fail, delay }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn check(kind: StubKind, path: &str, headers: &HeaderMap, body: &str) -> Seen {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let mut problems = vec![];
    let json: Json = serde_json::from_str(body).unwrap_or(Json::Null);
    let form: std::collections::HashMap<String, String> = url_pairs(body).into_iter().collect();
    match kind {
        StubKind::Webhook => {
            // Standard Webhooks: id, timestamp (seconds), and v1,<base64 HMAC-SHA256 of id.timestamp.body>.
            let (id, ts, sig) = (h("webhook-id"), h("webhook-timestamp"), h("webhook-signature"));
            if id.is_empty() || ts.parse::<i64>().is_err() {
                problems.push("webhook-id and webhook-timestamp".into());
            }
            use base64::Engine as _;
            use hmac::Mac as _;
            let key = base64::engine::general_purpose::STANDARD.decode(WHSEC.trim_start_matches("whsec_")).unwrap();
            let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
            m.update(format!("{id}.{ts}.{body}").as_bytes());
            let want = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes()));
            if !sig.split(' ').any(|s| s == want) {
                problems.push(format!("signature {sig}, expected {want}"));
            }
            if h("content-type") != "application/json" || json["data"]["id"].as_str().is_none() {
                problems.push("a JSON body with data.id".into());
            }
        }
        StubKind::Hubspot => {
            if !path.starts_with("/submissions/v3/integration/submit/123456/") {
                problems.push(format!("path {path}"));
            }
            let fields_ok = json["fields"].as_array().is_some_and(|f| {
                !f.is_empty()
                    && f.iter().all(|x| x["name"].is_string() && x["value"].is_string() && x["objectTypeId"] == "0-1")
            });
            if !fields_ok || !json["context"].is_object() || json["submittedAt"].as_str().is_none() {
                problems.push(format!("body {body}"));
            }
        }
        StubKind::Salesforce => {
            if !h("content-type").starts_with("application/x-www-form-urlencoded")
                || form.get("oid").map(String::as_str) != Some("00D000000000001")
            {
                problems.push(format!("form {body}"));
            }
        }
        StubKind::Captcha => {
            if !form.contains_key("secret") || !form.contains_key("response") {
                problems.push(format!("form {body}"));
            }
        }
        StubKind::Slack => {
            // An incoming webhook's message: a JSON object with its text.
            if h("content-type") != "application/json" || json["text"].as_str().is_none_or(str::is_empty) {
                problems.push(format!("body {body}"));
            }
        }
    }
    Seen { headers: headers.clone(), json, form, problems }
}

fn url_pairs(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let d =
                |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
            Some((d(k), d(v)))
        })
        .collect()
}

/// Three targets, their ids ending in `tag`: a shared database may hold other runs' deliveries to targets with
/// the same names, which this run's worker would otherwise send to its stubs.
fn targets_toml(tag: &str, webhook: &Stub, hubspot: &Stub, salesforce: &Stub) -> String {
    format!(
        r#"
[[targets]]
id = "sales{tag}"
kind = "webhook"
url = "{}/hooks/sales"
secret = "{WHSEC}"
stages = ["sql"]
fields = {{ email = "Email", first_name = "FirstName" }}

[[targets]]
id = "nurture{tag}"
kind = "hubspot"
url = "{}"
portal_id = "123456"
form_guid = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
consent_text = "I agree to be contacted."
stages = ["mql", "lead"]
fields = {{ first_name = "firstname" }}

[[targets]]
id = "crm{tag}"
kind = "salesforce"
url = "{}/servlet/servlet.WebToLead?encoding=UTF-8"
oid = "00D000000000001"
knockouts = ["student"]
fields = {{ first_name = "first_name", company = "company", email = "email" }}
only_mapped = true
"#,
        webhook.base, hubspot.base, salesforce.base
    )
}

/// A target's `knockouts` are reasons, as endings and the command line name them: on the Italian model, whose
/// knockout ids differ from their reasons, a student goes to the target for `student`. (Found: routing compared
/// the knockout's id.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_knockout_is_routed_by_its_reason() {
    let dir = scratch("route-reason");
    let extra = format!(
        "[model]\npath = {:?}\n[[targets]]\nid = \"students\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\n\
         secret = \"{WHSEC}\"\nknockouts = [\"student\"]\n[[targets]]\nid = \"sales\"\nkind = \"webhook\"\n\
         url = \"http://127.0.0.1:9/h\"\nsecret = \"{WHSEC}\"\nstages = [\"sql\"]\n",
        root().join("examples/it-software.json").display().to_string()
    );
    let r = Receiver::start(config(&format!("sqlite:{}", dir.join("leads.db").display()), &extra)).await;
    let (status, reply) = r.submit(&[e("email", "giulia@studenti.unimi.it"), e("ruolo", "studente")]).await;
    assert_eq!((status, reply["stage"].as_str()), (StatusCode::OK, Some("disqualified")), "{reply}");
    let id = reply["id"].as_str().unwrap().to_string();
    let lead = r.lead(&id).await;
    assert_eq!(lead.knockout.as_deref(), Some("studente"), "the lead keeps its knockout's id");
    let targets: Vec<String> = r.app.store.deliveries(&[id]).await.unwrap().into_iter().map(|d| d.target).collect();
    assert_eq!(targets, ["students"]);
    r.stop().await;
}

async fn until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    for _ in 0..400 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_are_delivered_to_their_targets_with_retries() {
    for db in databases("deliver") {
        let (wh, hs, sf) = (
            Stub::start(StubKind::Webhook).await,
            Stub::start(StubKind::Hubspot).await,
            Stub::start(StubKind::Salesforce).await,
        );
        *wh.fail.lock().unwrap() = 2;
        let tag = format!("-{}", serve::now_ms());
        let r = Receiver::start(config(&db, &targets_toml(&tag, &wh, &hs, &sf))).await;
        let mut sql = sql_answers("ada@zahlwerk.de");
        sql.extend([e("hutk", "abc123"), e("leadscore_consent", "yes"), e("leadscore_key", &format!("k-{}", now()))]);
        let (_, sql_reply) = r.submit(&sql).await;
        let (_, mql_reply) = r.submit(&good_fit("bo@zahlwerk.de")).await;
        let mut student = good_fit("cy@uni.example");
        student.retain(|(k, _)| k != "seniority");
        student.push(e("seniority", "student"));
        let (_, ko_reply) = r.submit(&student).await;
        assert_eq!(
            (sql_reply["stage"].as_str(), mql_reply["stage"].as_str(), ko_reply["stage"].as_str()),
            (Some("sql"), Some("mql"), Some("disqualified"))
        );
        let store = r.app.store.clone();
        let ids: Vec<String> =
            [&sql_reply, &mql_reply, &ko_reply].iter().map(|x| x["id"].as_str().unwrap().to_string()).collect();
        until("every delivery", || {
            let (store, ids) = (store.clone(), ids.clone());
            async move { store.deliveries(&ids).await.unwrap().iter().all(|d| d.status == "delivered") }
        })
        .await;
        let ds = store.deliveries(&ids).await.unwrap();
        let routed: Vec<(String, String)> = ds.iter().map(|d| (d.lead_id.clone(), d.target.clone())).collect();
        assert_eq!(routed.len(), 3, "one target each: {routed:?}");
        assert!(routed.contains(&(ids[0].clone(), format!("sales{tag}"))));
        assert!(routed.contains(&(ids[1].clone(), format!("nurture{tag}"))));
        assert!(routed.contains(&(ids[2].clone(), format!("crm{tag}"))));
        let sales = ds.iter().find(|d| d.target == format!("sales{tag}")).unwrap();
        assert_eq!(sales.attempts, 3, "two failures, then delivered");

        let w = wh.seen();
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|s| s.problems.is_empty()), "{:?}", w.iter().map(|s| &s.problems).collect::<Vec<_>>());
        assert!(
            w.windows(2).all(|p| p[0].headers["webhook-id"] == p[1].headers["webhook-id"]),
            "a retry keeps its webhook-id"
        );
        let payload = &w[2].json["data"];
        assert_eq!(payload["fields"]["Email"], "ada@zahlwerk.de", "mapped field names");
        assert_eq!(payload["stage"], "sql");
        assert_eq!(w[2].headers["idempotency-key"], sql.iter().find(|(k, _)| k == "leadscore_key").unwrap().1.as_str());

        let h = hs.seen();
        assert_eq!(h.len(), 1);
        assert!(h[0].problems.is_empty(), "{:?}", h[0].problems);
        assert!(h[0].json["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "firstname" && f["value"] == "Ada"));
        assert!(h[0].json.get("legalConsentOptions").is_none(), "no consent was given with this lead");

        let s = sf.seen();
        assert_eq!(s.len(), 1);
        assert!(s[0].problems.is_empty(), "{:?}", s[0].problems);
        assert_eq!(s[0].form["email"], "cy@uni.example");
        assert!(!s[0].form.contains_key("seniority"), "only the mapped fields");
        r.stop().await;
    }
}

/// What a local SMTP server (mailin, in process) was sent: the envelope and the message.
#[derive(Clone, Debug, Default)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
}

#[derive(Clone)]
struct Mailbox {
    mails: Arc<Mutex<Vec<Mail>>>,
    current: Arc<Mutex<Mail>>,
    /// Messages to refuse (451, a temporary failure) before taking them.
    refuse: Arc<Mutex<usize>>,
    /// Messages to refuse once they are sent (451 after the data; lettre then waits for ever).
    refuse_sent: Arc<Mutex<usize>>,
}

impl mailin_embedded::Handler for Mailbox {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> mailin_embedded::Response {
        let mut refuse = self.refuse.lock().unwrap();
        if *refuse > 0 {
            *refuse -= 1;
            return mailin_embedded::response::INTERNAL_ERROR;
        }
        *self.current.lock().unwrap() = Mail { from: from.to_string(), to: to.to_vec(), data: String::new() };
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.lock().unwrap().data.push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let mut refuse = self.refuse_sent.lock().unwrap();
        if *refuse > 0 {
            *refuse -= 1;
            return mailin_embedded::response::INTERNAL_ERROR;
        }
        self.mails.lock().unwrap().push(self.current.lock().unwrap().clone());
        mailin_embedded::response::OK
    }
}

/// Starts an SMTP server on a free loopback port: its address and its mailbox.
fn smtp_server(refuse: usize, refuse_sent: usize) -> (SocketAddr, Mailbox) {
    let mailbox = Mailbox {
        mails: Arc::default(),
        current: Arc::default(),
        refuse: Arc::new(Mutex::new(refuse)),
        refuse_sent: Arc::new(Mutex::new(refuse_sent)),
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut server = mailin_embedded::Server::new(mailbox.clone());
    server.with_name("mail.test").with_ssl(mailin_embedded::SslConfig::None).unwrap().with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve().map_err(|e| eprintln!("smtp server: {e}"));
    });
    (addr, mailbox)
}

/// Notifications, on both stores: a Slack-compatible message and an email over SMTP, each written from its
/// template (answers by their labels, a link to the lead in the inbox), routed by stage and by owner, sent from
/// the outbox and retried after a temporary failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_leads_are_announced_on_slack_and_by_email() {
    for db in databases("notify") {
        let slack = Stub::start(StubKind::Slack).await;
        *slack.fail.lock().unwrap() = 1;
        let (smtp, mailbox) = smtp_server(1, 0);
        let tag = format!("-{}", serve::now_ms());
        let token = leadscore::serve::trust::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"t"));
        let extra = format!(
            r#"
[inbox]
url = "https://leads.example"

[[users]]
name = "ana"
token_sha256 = "{token}"
email = "ana@larkspur.example"

[[assign]]
stages = ["sql"]
owner = "ana"

[[targets]]
id = "slack{tag}"
kind = "slack"
url = "{slack}/services/T0/B0/x"
stages = ["sql"]
template = "New {{stage}}: <{{link}}|{{name}}> at {{company}}, {{seniority}}, score {{score}}"

[[targets]]
id = "mail{tag}"
kind = "email"
url = "smtp://{smtp}"
from = "Larkspur leads <leads@larkspur.example>"
to = ["team@larkspur.example"]
to_owner = true
owners = ["ana"]
subject = "SQL: {{name}} ({{company}})"
"#,
            slack = slack.base
        );
        let r = Receiver::start(config(&db, &extra)).await;
        let mut sql = sql_answers("ada@zahlwerk.de");
        sql.push(e("company", "Zahlwerk <GmbH> & Co"));
        let (_, sql_reply) = r.submit(&sql).await;
        let (_, mql_reply) = r.submit(&good_fit("bo@zahlwerk.de")).await;
        assert_eq!((sql_reply["stage"].as_str(), mql_reply["stage"].as_str()), (Some("sql"), Some("mql")));
        let id = sql_reply["id"].as_str().unwrap().to_string();
        let store = r.app.store.clone();
        let ids = vec![id.clone(), mql_reply["id"].as_str().unwrap().to_string()];
        until("both notifications", || {
            let (store, ids) = (store.clone(), ids.clone());
            async move {
                let ds = store.deliveries(&ids).await.unwrap();
                ds.len() == 2 && ds.iter().all(|d| d.status == "delivered")
            }
        })
        .await;
        let ds = store.deliveries(&ids).await.unwrap();
        assert!(ds.iter().all(|d| d.lead_id == id && d.attempts == 2), "the SQL only, each after one failure: {ds:?}");

        let seen = slack.seen();
        assert_eq!(seen.len(), 2, "one failure, then the message");
        assert!(seen.iter().all(|s| s.problems.is_empty()), "{:?}", seen[0].problems);
        let text = seen[1].json["text"].as_str().unwrap();
        let (head, score) = text.rsplit_once(", score ").unwrap();
        assert_eq!(
            head,
            format!(
                "New Sales Qualified Lead: <https://leads.example/inbox/lead/{id}|Ada> at Zahlwerk &lt;GmbH&gt; &amp; Co, \
                 Vice president or head of department"
            ),
            "answers by their labels, escaped as Slack asks"
        );
        assert_eq!(score.parse::<f64>().unwrap(), r.lead(&id).await.score);

        let mails = mailbox.mails.lock().unwrap().clone();
        assert_eq!(mails.len(), 1, "{mails:?}");
        let m = &mails[0];
        assert_eq!(m.from, "leads@larkspur.example");
        let mut to = m.to.clone();
        to.sort();
        assert_eq!(to, ["ana@larkspur.example", "team@larkspur.example"], "the team and the lead's owner");
        assert!(m.data.contains("Subject: SQL: Ada (Zahlwerk <GmbH> & Co)"), "{}", m.data);
        assert!(m.data.contains(&format!("Message-ID: <{id}.mail{tag}@leadscore>")), "{}", m.data);
        assert!(m.data.contains(&format!("https://leads.example/inbox/lead/{id}")), "{}", m.data);
        assert!(m.data.contains("Owner: ana"), "{}", m.data);
        r.stop().await;
    }
}

/// An attempt that gets no answer is cut off at `delivery.timeout_ms` and retried; the worker goes on meanwhile.
/// (Found: an SMTP server answering 451 after the message's data left the attempt, and the worker, waiting.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_without_an_answer_is_cut_off_and_retried() {
    let dir = scratch("hang");
    let (smtp, mailbox) = smtp_server(0, 1);
    let extra = format!(
        "[[targets]]\nid = \"mail\"\nkind = \"email\"\nurl = \"smtp://{smtp}\"\nfrom = \"leads@larkspur.example\"\n\
         to = [\"team@larkspur.example\"]\n"
    );
    let mut c = config(&format!("sqlite:{}", dir.join("leads.db").display()), &extra);
    c.delivery.timeout_ms = 1000;
    let r = Receiver::start(c).await;
    let (_, reply) = r.submit(&good_fit("bo@zahlwerk.de")).await;
    let ids = vec![reply["id"].as_str().unwrap().to_string()];
    let store = r.app.store.clone();
    until("the email", || {
        let (store, ids) = (store.clone(), ids.clone());
        async move { store.deliveries(&ids).await.unwrap().iter().all(|d| d.status == "delivered") }
    })
    .await;
    let d = &store.deliveries(&ids).await.unwrap()[0];
    assert_eq!(d.attempts, 2, "{d:?}");
    assert_eq!(mailbox.mails.lock().unwrap().len(), 1);
    r.stop().await;
}

/// The inbox as sales read it, on both stores: who the lead is (name, company, role), the stage by its label,
/// only the outcome buttons that apply, why the stage, the answers by their labels; a warning only for a lead
/// whose verdict is wrong, with the details one click away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_shows_who_and_why() {
    for db in databases("who") {
        let users = "[[users]]\nname = \"ci\"\ntoken_sha256 = \"".to_string()
            + &leadscore::serve::trust::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"t"))
            + "\"\n";
        let r = Receiver::start(config(&db, &users)).await;
        let p = r.app.programs.current.clone();
        let mut answers = sql_answers("ada@zahlwerk.de");
        answers.push(e("company", "Zahlwerk GmbH"));
        let (_, ok) = r.submit(&answers).await;
        let t = now() - 60_000.0;
        let mut tampered = browser_claim(&p, &good_fit("gi@zahlwerk.de"), &json!([]), t);
        tampered.iter_mut().find(|(k, _)| k == "leadscore_score").unwrap().1 = "95".into();
        let (_, bad) = r.submit(&tampered).await;
        assert_eq!(bad["claim"], "mismatch");
        let get = |path: String| r.http.get(format!("{}{path}", r.base)).bearer_auth("t").send();
        let list = get("/inbox".into()).await.unwrap().text().await.unwrap();
        let row = |id: &str| {
            let start = list.find(&format!("<tr data-lead=\"{id}\"")).unwrap_or_else(|| panic!("{id} listed: {list}"));
            list[start..start + list[start..].find("</tr>").unwrap()].to_string()
        };
        let good = row(ok["id"].as_str().unwrap());
        for want in [
            ">Ada</a>",
            "ada@zahlwerk.de",
            ">Zahlwerk GmbH<",
            ">Head of Data<",
            ">Sales Qualified Lead<",
            "<time datetime=",
        ] {
            assert!(good.contains(want), "{want} in {good}");
        }
        assert!(good.contains(">Won</button>") && good.contains("#work\">Lost…</a>"), "{good}");
        assert!(!good.contains("Reopen"), "an open lead is offered Reopen: {good}");
        assert!(!good.contains("class=\"badge\""), "a verified lead carries a warning: {good}");
        assert!(row(bad["id"].as_str().unwrap()).contains("data-badge=\"mismatch\""), "the mismatch is not marked");

        let page = get(format!("/inbox/lead/{}", ok["id"].as_str().unwrap())).await.unwrap().text().await.unwrap();
        for want in [
            "<h1>Ada</h1>",
            "<h2>Why this stage</h2>",
            "<li>Sales Qualified Lead because score &gt;= 80 and fit &gt;= 30",
            "<th scope=\"row\">Work email</th><td>ada@zahlwerk.de</td>",
            "<th scope=\"row\">Which best describes your role?</th><td>Vice president or head of department</td>",
            "<details id=\"technical\"><summary>",
        ] {
            assert!(page.contains(want), "{want} in {page}");
        }
        let page = get(format!("/inbox/lead/{}", bad["id"].as_str().unwrap())).await.unwrap().text().await.unwrap();
        assert!(page.contains("<details id=\"technical\" open>"), "the details of a wrong verdict are shown");
        assert!(page.contains("data-badge=\"mismatch\""));
        r.stop().await;
    }
}

/// Finding and working leads, on both stores: search, filters and sort in the URL, the count that follows them,
/// the active filter marked, round robin owners, statuses with a lost reason, notes, possible duplicates, each
/// change confirmed, and the sales export of the filtered list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_finds_and_works_leads() {
    for db in databases("work") {
        let token = |t: &str| leadscore::serve::trust::hex(&<sha2::Sha256 as sha2::Digest>::digest(t.as_bytes()));
        let extra = format!(
            "[[users]]\nname = \"ana\"\ntoken_sha256 = \"{}\"\n[[users]]\nname = \"bo\"\ntoken_sha256 = \"{}\"\n\
             [inbox]\nlost_reasons = [\"No budget\", \"Chose a competitor\"]\n\
             [[assign]]\nstages = [\"sql\"]\nround_robin = [\"ana\", \"bo\"]\n[[assign]]\ncountries = [\"IT\"]\nowner = \"ana\"\n",
            token("ta"),
            token("tb")
        );
        let r = Receiver::start(config(&db, &extra)).await;
        // A word of this run only: PostgreSQL is shared with other tests.
        let tag = format!("run{:x}", leadscore::serve::now_ms());
        let mut ids = vec![];
        for (i, (email, company, country, sql)) in [
            (format!("ada@{tag}.example"), "Zahlwerk GmbH", "DE", true),
            (format!("bea@{tag}.example"), "Zahlwerk GmbH", "DE", true),
            (format!("ada@{tag}.example"), "Zahlwerk", "DE", false),
            (format!("cy.{tag}@gmail.com"), "Negozio Srl", "IT", false),
        ]
        .into_iter()
        .enumerate()
        {
            let mut a = if sql { sql_answers(&email) } else { good_fit(&email) };
            a.retain(|(k, _)| k != "country");
            a.push(e("country", country));
            a.push(e("company", company));
            a.push(e("utm_source", if i % 2 == 0 { "google" } else { "newsletter" }));
            let (status, reply) = r.submit(&a).await;
            assert_eq!(status, StatusCode::OK, "{reply}");
            ids.push(reply["id"].as_str().unwrap().to_string());
            // The list puts the newest first, and leads received in one millisecond in no set order: these are
            // received a millisecond apart at least.
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        // Owners: SQLs in turn, Italy to ana, the rest to nobody.
        let owners: Vec<Option<String>> = {
            let mut v = vec![];
            for id in &ids {
                v.push(r.lead(id).await.work.owner);
            }
            v
        };
        let sql_owners: std::collections::BTreeSet<_> = owners[..2].iter().cloned().collect();
        assert_eq!(sql_owners, [Some("ana".to_string()), Some("bo".to_string())].into(), "round robin: {owners:?}");
        assert_eq!(owners[2..], [None, Some("ana".to_string())]);
        let lead = r.lead(&ids[0]).await;
        assert_eq!(
            (lead.facts.email.as_deref(), lead.facts.domain.as_deref(), lead.facts.country.as_deref()),
            (Some(format!("ada@{tag}.example").as_str()), Some(format!("{tag}.example").as_str()), Some("DE"))
        );
        assert_eq!(lead.facts.source.as_deref(), Some("google"));

        let get = |path: String| r.http.get(format!("{}{path}", r.base)).bearer_auth("ta").send();
        let page = |path: String| async move { get(path).await.unwrap().text().await.unwrap() };
        let listed = |html: &str| -> Vec<String> {
            html.split("<tr data-lead=\"").skip(1).map(|s| s.split('"').next().unwrap().to_string()).collect()
        };
        // Search by a domain: the count follows the filter, the filter is marked and kept in the stage tabs.
        let html = page(format!("/inbox?q={tag}")).await;
        assert_eq!(listed(&html), ids.iter().rev().cloned().collect::<Vec<_>>());
        assert!(html.contains("data-count=\"4\""), "{html}");
        assert!(html.contains(&format!("<li data-filter=\"q\">Search: <strong>{tag}</strong>")), "{html}");
        assert!(html.contains(&format!("href=\"/inbox?q={tag}&amp;stage=sql\">Sales Qualified Lead</a>")), "{html}");
        let html = page(format!("/inbox?q={tag}&stage=sql&sort=oldest")).await;
        assert_eq!(listed(&html), ids[..2]);
        assert!(html.contains("data-count=\"2\"") && html.contains("<li data-filter=\"stage\">"), "{html}");
        assert!(html.contains("aria-current=\"page\">Sales Qualified Lead</a>"), "the stage tab is marked");
        assert!(html.contains("<option value=\"oldest\" selected>"), "the sort is kept: {html}");
        // Every filter, combined.
        for (query, want) in [
            (format!("q=zahlwerk+{tag}"), vec![2, 1, 0]),
            (format!("q={tag}&country=it"), vec![3]),
            (format!("q={tag}&source=newsletter"), vec![3, 1]),
            (format!("q={tag}&owner=-"), vec![2]),
            (
                format!("q={tag}&owner=ana&status=open"),
                ids.iter()
                    .enumerate()
                    .filter(|(i, _)| owners[*i].as_deref() == Some("ana"))
                    .map(|(i, _)| i)
                    .rev()
                    .collect(),
            ),
            (format!("q={tag}&min=60&sort=score"), vec![]),
        ] {
            let html = page(format!("/inbox?{query}")).await;
            let found = listed(&html);
            if query.contains("min=60") {
                // By score, highest first.
                let mut leads = vec![];
                for id in &found {
                    leads.push(r.lead(id).await);
                }
                assert!(leads.iter().all(|l| l.score >= 60.0) && !leads.is_empty(), "{query}");
                assert!(leads.windows(2).all(|w| w[0].score >= w[1].score), "{query}");
                continue;
            }
            let want: Vec<String> = want.iter().map(|i| ids[*i].clone()).collect();
            assert_eq!(found, want, "{query}");
            assert!(html.contains(&format!("data-count=\"{}\"", want.len())), "{query}");
        }
        let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
        assert_eq!(listed(&page(format!("/inbox?q={tag}&from={today}&to={today}")).await).len(), 4);
        assert_eq!(listed(&page(format!("/inbox?q={tag}&to=2020-01-01")).await).len(), 0);
        // A wrong value is named, left out, and the rest of the filter holds.
        let html = page(format!("/inbox?q={tag}&min=lots&from=yesterday&status=maybe")).await;
        for want in [
            "min: `lots` is not a number",
            "from: `yesterday` is not a date (YYYY-MM-DD)",
            "status: `maybe` is not a status",
        ] {
            assert!(html.contains(want), "{want} in {html}");
        }
        assert_eq!(listed(&html).len(), 4);
        let api = get(format!("/inbox/api/leads?q={tag}&max=x")).await.unwrap();
        assert_eq!(api.status().as_u16(), 400);
        assert!(api.text().await.unwrap().contains("max: `x` is not a number"));
        let api: Json = serde_json::from_str(&page(format!("/inbox/api/leads?q={tag}&stage=sql")).await).unwrap();
        assert_eq!(api["matching"], 2);

        // Possible duplicates: the same email (ids 0 and 2), the same company domain (1).
        let html = page(format!("/inbox?q={tag}")).await;
        let row = |id: &str| {
            let start = html.find(&format!("<tr data-lead=\"{id}\"")).unwrap();
            html[start..start + html[start..].find("</tr>").unwrap()].to_string()
        };
        assert!(row(&ids[0]).contains("data-twin=\"email\""), "{}", row(&ids[0]));
        assert!(row(&ids[1]).contains("data-twin=\"domain\""), "{}", row(&ids[1]));
        assert!(!row(&ids[3]).contains("data-twin"), "a gmail address is nobody's company: {}", row(&ids[3]));
        let detail = page(format!("/inbox/lead/{}", ids[0])).await;
        assert!(
            detail.contains(&format!(
                "<p data-twins=\"email\">The same email: <a href=\"/inbox/lead/{}\">Ada</a>",
                ids[2]
            )),
            "{detail}"
        );

        // Working a lead: only the changes that apply, each confirmed as stored.
        let csrf = detail.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let post = |path: &str, form: Vec<(&str, &str)>| {
            let mut form: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            form.push(("csrf".into(), csrf.clone()));
            client.post(format!("{}/inbox/lead/{}/{path}", r.base, ids[0])).bearer_auth("ta").form(&form).send()
        };
        let buttons = |html: &str| -> Vec<String> {
            let work = &html[html.find("<section id=\"work\"").unwrap()..];
            let actions = &work[..work.find("</div>").unwrap()];
            actions
                .split("<button type=\"submit\">")
                .skip(1)
                .map(|b| b.split('<').next().unwrap().to_string())
                .collect()
        };
        assert_eq!(buttons(&detail), ["Contacted", "Meeting booked", "Won"]);
        assert!(detail.contains("<button type=\"submit\">Mark lost</button>"));
        let res =
            post("status", vec![("status", "contacted"), ("back", &format!("/inbox/lead/{}?saved=status", ids[0]))])
                .await
                .unwrap();
        assert_eq!(res.status().as_u16(), 303);
        let html = page(res.headers()["location"].to_str().unwrap().to_string()).await;
        assert!(html.contains("<p class=\"saved\" role=\"status\">Saved: status set to Contacted by ana at"), "{html}");
        assert_eq!(buttons(&html), ["Meeting booked", "Won"]);
        // Lost needs one of the reasons.
        let res = post("status", vec![("status", "lost")]).await.unwrap();
        assert_eq!(res.status().as_u16(), 400);
        assert!(res
            .text()
            .await
            .unwrap()
            .contains("reason: say why the lead was lost (No budget, Chose a competitor)"));
        let res = post("status", vec![("status", "lost"), ("reason", "Too pricey")]).await.unwrap();
        assert_eq!(res.status().as_u16(), 400);
        assert_eq!(post("status", vec![("status", "closed")]).await.unwrap().status().as_u16(), 400);
        assert_eq!(
            post("status", vec![("status", "lost"), ("reason", "No budget")]).await.unwrap().status().as_u16(),
            303
        );
        assert_eq!(post("owner", vec![("owner", "eve")]).await.unwrap().status().as_u16(), 400);
        assert_eq!(post("owner", vec![("owner", "bo")]).await.unwrap().status().as_u16(), 303);
        assert_eq!(post("note", vec![("text", "  ")]).await.unwrap().status().as_u16(), 400);
        assert_eq!(post("note", vec![("text", "Budget <frozen> until Q3")]).await.unwrap().status().as_u16(), 303);
        let lead = r.lead(&ids[0]).await;
        assert_eq!(
            (
                lead.work.status.as_str(),
                lead.work.lost_reason.as_deref(),
                lead.outcome.as_deref(),
                lead.work.owner.as_deref()
            ),
            ("lost", Some("No budget"), Some("lost"), Some("bo"))
        );
        let detail = page(format!("/inbox/lead/{}", ids[0])).await;
        assert_eq!(buttons(&detail), ["Reopen", "Won"]);
        assert!(!detail.contains("Mark lost"), "a lost lead is not offered Lost");
        for want in [
            "Note: <span class=\"note\">Budget &lt;frozen&gt; until Q3</span>",
            "Owner: <strong>bo</strong>",
            "Status: <strong>Lost</strong> (No budget)",
        ] {
            assert!(detail.contains(want), "{want} in {detail}");
        }
        // A change from another site, or without the token, changes nothing.
        let cross = client
            .post(format!("{}/inbox/lead/{}/note", r.base, ids[0]))
            .bearer_auth("ta")
            .header("origin", "http://evil.example")
            .form(&[("text", "x"), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(cross.status().as_u16(), 403);
        assert_eq!(r.app.store.changes(&ids[0]).await.unwrap().len(), 4);

        // The sales export: the filtered list, with labels, stage, score, owner, status and its dates.
        let csv = page(format!("/inbox/leads.csv?q={tag}&stage=sql")).await;
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        for col in [
            "name",
            "email",
            "company",
            "stage",
            "score",
            "grade",
            "owner",
            "status",
            "status_at",
            "lost_reason",
            "source",
            "Work email",
            "Campaign source",
        ] {
            assert!(header.contains(&col.to_string()), "{col} in {header:?}");
        }
        // Attribution entries, last touch then first, only those the model does not have as fields.
        assert!(
            ["utm_term", "msclkid", "first_gclid", "first_landing_page"]
                .iter()
                .all(|c| header.contains(&c.to_string())),
            "{header:?}"
        );
        assert!(
            !header.contains(&"utm_source".to_string()) && !header.contains(&"first_utm_source".to_string()),
            "{header:?}"
        );
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(rows.len(), 2, "{csv}");
        let col = |row: &csv::StringRecord, name: &str| row[header.iter().position(|h| h == name).unwrap()].to_string();
        let first = rows.iter().find(|row| col(row, "id") == ids[0]).unwrap();
        assert_eq!(
            [
                col(first, "stage"),
                col(first, "status"),
                col(first, "lost_reason"),
                col(first, "owner"),
                col(first, "company")
            ],
            ["Sales Qualified Lead", "Lost", "No budget", "bo", "Zahlwerk GmbH"]
        );
        assert!(col(first, "status_at").ends_with('Z'), "{}", col(first, "status_at"));
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_needs_a_user_and_marks_leads_won() {
    let db = databases("inbox").remove(0);
    let hash = {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        argon2::Argon2::default().hash_password(b"larkspur", &salt).unwrap().to_string()
    };
    let token_sha = leadscore::serve::trust::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"api-token"));
    let users = format!("[[users]]\nname = \"sam\"\npassword_hash = \"{hash}\"\n[[users]]\nname = \"ci\"\ntoken_sha256 = \"{token_sha}\"\n");
    let r = Receiver::start(config(&db, &users)).await;
    let (_, reply) = r.submit(&sql_answers("ada@zahlwerk.de")).await;
    let id = reply["id"].as_str().unwrap().to_string();
    let get = |path: &str, auth: Option<(&str, &str)>| {
        let mut req = r.http.get(format!("{}{path}", r.base));
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        req.send()
    };
    assert_eq!(get("/inbox", None).await.unwrap().status().as_u16(), 401);
    assert_eq!(get("/inbox", Some(("sam", "wrong"))).await.unwrap().status().as_u16(), 401);
    assert_eq!(get("/inbox/export.csv", None).await.unwrap().status().as_u16(), 401);
    let page = get("/inbox", Some(("sam", "larkspur"))).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("data-lead=\"{id}\"")) && html.contains("ada@zahlwerk.de"));
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let api =
        r.http.get(format!("{}/inbox/api/leads?stage=sql", r.base)).bearer_auth("api-token").send().await.unwrap();
    assert_eq!(api.status().as_u16(), 200);
    let api: Json = serde_json::from_str(&api.text().await.unwrap()).unwrap();
    assert_eq!(api["leads"][0]["id"], id.as_str());

    let post = |form: Vec<(&'static str, String)>, origin: Option<&'static str>| {
        let mut req =
            r.http.post(format!("{}/inbox/lead/{id}/outcome", r.base)).basic_auth("sam", Some("larkspur")).form(&form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let no_csrf = post(vec![("outcome", "won".into())], None).await.unwrap();
    assert_eq!(no_csrf.status().as_u16(), 403);
    let cross =
        post(vec![("outcome", "won".into()), ("csrf", csrf.clone())], Some("http://evil.example")).await.unwrap();
    assert_eq!(cross.status().as_u16(), 403);
    assert_eq!(r.lead(&id).await.outcome, None, "nothing changed");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let ok = client
        .post(format!("{}/inbox/lead/{id}/outcome", r.base))
        .basic_auth("sam", Some("larkspur"))
        .form(&[("outcome", "won"), ("csrf", &csrf), ("back", "https://evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 303);
    assert_eq!(ok.headers()["location"], "/inbox", "never redirected elsewhere");
    let lead = r.lead(&id).await;
    assert_eq!((lead.outcome.as_deref(), lead.outcome_by.as_deref()), (Some("won"), Some("sam")));

    // The export is a history `leadscore backtest` reads: the lead, with its outcome.
    let csv = get("/inbox/export.csv", Some(("sam", "larkspur"))).await.unwrap().text().await.unwrap();
    let p = r.app.programs.current.clone();
    let mut reader =
        leadscore::leads::Reader::new(csv.as_bytes(), leadscore::leads::Format::Csv, &p, &["outcome", "scored_at"])
            .unwrap();
    assert!(reader.ignored_columns().is_empty(), "every column is the model's: {:?}", reader.ignored_columns());
    let leads: Vec<_> = reader.leads(&p).collect::<Result<_, _>>().unwrap();
    let mine = leads.iter().find(|l| l.id == id).unwrap();
    assert_eq!(mine.extra[0].as_deref(), Some("won"));
    assert!(mine.issues.is_empty(), "{:?}", mine.issues);
    let mut bt = leadscore::backtest::Backtest::new(&p, &[]);
    for l in leads {
        bt.add(&p, &l.answers, &l.events, now(), l.extra[0].as_deref());
    }
    assert_eq!(bt.len(), 1);
    r.stop().await;
}

// The real binary: kill -9 during delivery, start-up errors.

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_leadscore")
}

struct Child(std::process::Child, String);

impl Child {
    fn start(config: &Path) -> Child {
        use std::io::BufRead;
        let mut c = std::process::Command::new(bin())
            .args(["serve", "--config"])
            .arg(config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(c.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("http://127.0.0.1:"), "{line}");
        Child(c, line.trim().trim_end_matches('/').to_string())
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_delivery_loses_nothing() {
    let dir = scratch("crash");
    let wh = Stub::start(StubKind::Webhook).await;
    *wh.delay.lock().unwrap() = Duration::from_millis(150);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = dir.join("leadscore.toml");
    std::fs::write(
        &cfg,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase = \"sqlite:{}\"\nsecret = \"{SECRET}\"\n[model]\npath = \"{}\"\n\
             [receive]\nmin_fill_ms = 0\nrate_per_minute = 0\n[delivery]\npoll_ms = 50\nbackoff_ms = 50\ntimeout_ms = 1000\n\
             [[targets]]\nid = \"all\"\nkind = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"{WHSEC}\"\n",
            dir.join("leads.db").display(),
            model_path(),
            wh.base
        ),
    )
    .unwrap();
    let child = Child::start(&cfg);
    let http = reqwest::Client::new();
    let mut ids = vec![];
    for i in 0..40 {
        let r = http
            .post(format!("{}/submit", child.1))
            .header("accept", "application/json")
            .form(&good_fit(&format!("l{i}@zahlwerk.de")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let body: Json = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    // Some delivered, most not yet: killed in the middle of an attempt.
    until("a first delivery", || async { !wh.seen().is_empty() }).await;
    let mut child = child;
    let pid = child.0.id();
    std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    let _ = child.0.wait();
    let delivered_before = wh.seen().len();
    assert!(delivered_before < 40, "killed before the end ({delivered_before} delivered)");
    drop(child);
    // Restarted: every lead is there, and every one is delivered (at least once).
    let child = Child::start(&cfg);
    let seen_ids = || -> std::collections::HashSet<String> {
        wh.seen().iter().filter_map(|s| s.json["data"]["id"].as_str().map(String::from)).collect()
    };
    until("every lead delivered after the restart", || async { seen_ids().len() == 40 }).await;
    let seen = seen_ids();
    assert!(ids.iter().all(|id| seen.contains(id)));
    drop(child);
    let store = serve::Store::open(&format!("sqlite:{}", dir.join("leads.db").display())).await.unwrap();
    assert_eq!(store.count_leads().await.unwrap(), 40);
}

#[test]
fn start_up_errors_are_clear_and_exit_non_zero() {
    let dir = scratch("startup");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "listen = \"127.0.0.1:0\"\n[receive]\nmin_fill_ms = \"soon\"\n").unwrap();
    let out = std::process::Command::new(bin()).args(["serve", "--config"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:3:15: `receive.min_fill_ms`: invalid type", bad.display())), "{err}");
    let out = std::process::Command::new(bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "postgres://nobody@127.0.0.1:1/none?connect_timeout=2",
            "--model",
        ])
        .arg(model_path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open the database postgres://nobody@127.0.0.1:1/none"), "{err}");

    // A honeypot that names a model's field would refuse every lead that answers it (the agency model has
    // `website`, the honeypot's old default).
    let clash = dir.join("clash.toml");
    let agency = root().join("examples/agency.json");
    std::fs::write(
        &clash,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase = \"sqlite:{}\"\n[model]\npath = {:?}\n[receive]\nhoneypot = \"website\"\n",
            dir.join("clash.db").display(),
            agency.display().to_string()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(bin()).args(["serve", "--config"]).arg(&clash).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("receive.honeypot: `website` is a field of the model `agency`"), "{err}");

    // Targets name the model's stages, knockout reasons and fields: one that names another is refused.
    let it = root().join("examples/it-software.json");
    for (key, value, message) in [
        ("stages", "[\"sqll\"]", "targets[0].stages: `sqll` is not a stage of the model `it-software`"),
        (
            "knockouts",
            "[\"studente\"]",
            "targets[0].knockouts: `studente` is not a knockout reason of the model `it-software` (its knockout \
             reasons: budget_too_small, competitor, out_of_territory, student)",
        ),
        ("fields", "{ emial = \"Email\" }", "targets[0].fields: `emial` is not a field of the model `it-software`"),
    ] {
        let file = dir.join(format!("target-{key}.toml"));
        std::fs::write(
            &file,
            format!(
                "listen = \"127.0.0.1:0\"\ndatabase = \"sqlite:{}\"\n[model]\npath = {:?}\n\
                 [[targets]]\nid = \"t\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\nsecret = \"{WHSEC}\"\n\
                 {key} = {value}\n",
                dir.join(format!("target-{key}.db")).display(),
                it.display().to_string()
            ),
        )
        .unwrap();
        let out = std::process::Command::new(bin()).args(["serve", "--config"]).arg(&file).output().unwrap();
        assert!(!out.status.success(), "{key}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }

    // A message's placeholders name the model's fields or the lead's values; a stray brace is named too. And an
    // assignment rule names the model's stages.
    for (target, message) in [
        (
            "kind = \"slack\"\nurl = \"http://127.0.0.1:9/s\"\ntemplate = \"New {stage}: {nmoe}\"",
            "targets[0].template: `{nmoe}` is neither a field of the model `it-software` nor one of id, name, email",
        ),
        (
            "kind = \"email\"\nurl = \"smtp://127.0.0.1:9\"\nfrom = \"a@b.example\"\nto = [\"c@d.example\"]\nsubject = \"New {stage\"",
            "targets[0].subject: a `{` or `}` is not part of a placeholder such as `{email}`",
        ),
        (
            "kind = \"slack\"\nurl = \"http://127.0.0.1:9/s\"\n[[users]]\nname = \"a\"\ntoken_sha256 = \"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"\n[[assign]]\nstages = [\"sqll\"]\nowner = \"a\"",
            "assign[0].stages: `sqll` is not a stage of the model",
        ),
    ] {
        let file = dir.join("message.toml");
        std::fs::write(
            &file,
            format!(
                "listen = \"127.0.0.1:0\"\ndatabase = \"sqlite:{}\"\n[model]\npath = {:?}\n[[targets]]\nid = \"t\"\n{target}\n",
                dir.join("message.db").display(),
                it.display().to_string()
            ),
        )
        .unwrap();
        let out = std::process::Command::new(bin()).args(["serve", "--config"]).arg(&file).output().unwrap();
        assert!(!out.status.success(), "{target}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }

    // A password hash that is not one names the command that makes one.
    let user = dir.join("user.toml");
    std::fs::write(&user, "listen = \"127.0.0.1:0\"\n[[users]]\nname = \"sales\"\npassword_hash = \"larkspur\"\n")
        .unwrap();
    let out = std::process::Command::new(bin()).args(["serve", "--config"]).arg(&user).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`leadscore hash-password` makes one"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_lets_requests_in_flight_finish() {
    let db = databases("graceful").remove(0);
    let stub = Stub::start(StubKind::Captcha).await;
    *stub.delay.lock().unwrap() = Duration::from_millis(400);
    let extra = format!("[captcha]\nprovider = \"recaptcha\"\nsecret = \"s\"\nverify_url = \"{}/v\"\n", stub.base);
    let r = Receiver::start(config(&db, &extra)).await;
    let mut entries = good_fit("ada@zahlwerk.de");
    entries.push(e("g-recaptcha-response", "pass"));
    let base = r.base.clone();
    let pending = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{base}/submit"))
            .header("accept", "application/json")
            .form(&entries)
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let store = r.app.store.clone();
    r.stop().await;
    let res = pending.await.unwrap().unwrap();
    assert_eq!(res.status().as_u16(), 200, "the request in flight was answered");
    let body: Json = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert!(store.lead(body["id"].as_str().unwrap()).await.unwrap().is_some());
}

#[test]
fn the_token_command_signs_what_the_receiver_checks() {
    let out = std::process::Command::new(bin())
        .args(["token", "--event", "webinar_attended", "--at", "2026-11-20T10:00:00Z"])
        .env("LEADSCORE_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let keys = serve::trust::Keys::new(SECRET.as_bytes());
    let (event, at, _) = keys.check(token.trim()).unwrap();
    assert_eq!((event.as_str(), at), ("webinar_attended", 1_795_168_800_000));
    let out = std::process::Command::new(bin())
        .args(["token", "--event", "x"])
        .env_remove("LEADSCORE_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("LEADSCORE_SECRET"));
}

//! The sales inbox at `/inbox`: leads newest first with their verdict and deliveries, won/lost, and the
//! history export that `leadscore backtest` reads. Behind HTTP authentication: Basic with a password checked
//! against its argon2 hash, or a Bearer token checked against its SHA-256. Plain HTML; one small script shows
//! times in the viewer's time zone (without it they read in UTC). Every state change is a POST carrying the
//! user's CSRF token, from the same origin. Leads are shown as sales read them (`people.rs`): who, the answers
//! with their labels, why the stage; the verdict's details only when something is wrong, else one click away.

// A refused request is answered with its response: handlers return it as their error.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

mod list;
mod work;

use super::config::UserConfig;
use super::page::{esc, show, value_text};
use super::people::stage_label;
use super::store::{Filter, Lead};
use super::{now_ms, App};
use crate::Program;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/inbox", get(list::list))
        .route("/inbox/", get(list::list))
        .route("/inbox/inbox.css", get(css))
        .route("/inbox/inbox.js", get(js))
        .route("/inbox/lead/{id}", get(detail))
        .route("/inbox/lead/{id}/outcome", post(work::set_outcome))
        .route("/inbox/lead/{id}/status", post(work::set_status))
        .route("/inbox/lead/{id}/owner", post(work::set_owner))
        .route("/inbox/lead/{id}/note", post(work::add_note))
        .route("/inbox/delivery/{id}/retry", post(retry))
        .route("/inbox/export.csv", get(export))
        .route("/inbox/leads.csv", get(list::export))
        .route("/inbox/rejections", get(rejections))
        .route("/inbox/api/leads", get(list::api_leads))
}

/// The configured users, with the passwords already checked (argon2 is slow on purpose: once per password).
pub struct Users {
    list: Vec<UserConfig>,
    checked: Mutex<HashMap<[u8; 32], String>>,
}

impl Users {
    pub fn new(list: &[UserConfig]) -> Users {
        Users { list: list.to_vec(), checked: Mutex::new(HashMap::new()) }
    }

    /// The user a request's `Authorization` names, when its password or token is right.
    async fn authenticate(&self, headers: &HeaderMap) -> Option<String> {
        let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        if let Some(token) = auth.strip_prefix("Bearer ") {
            let digest = super::trust::hex(&Sha256::digest(token.trim().as_bytes()));
            return self
                .list
                .iter()
                .find(|u| {
                    u.token_sha256
                        .as_deref()
                        .is_some_and(|t| constant_eq(t.to_ascii_lowercase().as_bytes(), digest.as_bytes()))
                })
                .map(|u| u.name.clone());
        }
        let basic = auth.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (name, password) = text.split_once(':')?;
        let user = self.list.iter().find(|u| u.name == name)?;
        let hash = user.password_hash.clone()?;
        let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        if let Some(n) = self.checked.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Some(n.clone());
        }
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false);
        if ok {
            let mut c = self.checked.lock().unwrap_or_else(|p| p.into_inner());
            if c.len() > 1000 {
                c.clear();
            }
            c.insert(key, user.name.clone());
            return Some(user.name.clone());
        }
        None
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized(app: &App) -> Response {
    let msg = if app.config.users.is_empty() {
        "401 the inbox has no users: add [[users]] to the receiver's configuration\n"
    } else {
        "401 sign in to see the inbox\n"
    };
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "Basic realm=\"leadscore inbox\", charset=\"UTF-8\""),
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        msg,
    )
        .into_response()
}

async fn user(app: &App, headers: &HeaderMap) -> Result<String, Response> {
    app.users.authenticate(headers).await.ok_or_else(|| unauthorized(app))
}

/// A state change must come from the inbox's own page: the user's CSRF token, and no other origin.
fn same_origin(app: &App, user: &str, headers: &HeaderMap, csrf: &str) -> Result<(), Response> {
    let forbidden = |m: &str| (StatusCode::FORBIDDEN, format!("403 {m}\n")).into_response();
    if !constant_eq(csrf.as_bytes(), app.keys.csrf(user).as_bytes()) {
        return Err(forbidden("the form's CSRF token is missing or wrong: reload the inbox and try again"));
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return Err(forbidden("a change to the inbox must come from the inbox"));
        }
    }
    // A `null` origin (a browser that hides it) passes here; Sec-Fetch-Site (above) then tells.
    if super::foreign_origin(headers).is_some() {
        return Err(forbidden("a change to the inbox must come from the inbox"));
    }
    Ok(())
}

/// The user making a change: signed in, from the inbox's own page.
async fn change_by(app: &App, headers: &HeaderMap, csrf: &str) -> Result<String, Response> {
    let user = user(app, headers).await?;
    same_origin(app, &user, headers, csrf)?;
    Ok(user)
}

fn html(body: String) -> Response {
    // Same-origin referrers, so that the browser sends the inbox's origin with its forms.
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        body,
    )
        .into_response()
}

fn store_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "inbox: store");
    (StatusCode::SERVICE_UNAVAILABLE, format!("503 the database did not answer: {e}\n")).into_response()
}

const CSS: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}\
header{background:#1d2433;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:baseline}\
header a{color:#fff}main{padding:1rem 1.2rem}table{border-collapse:collapse;width:100%;background:#fff}\
th,td{border-bottom:1px solid #dde1e7;padding:.35rem .5rem;text-align:left;vertical-align:top}\
td.num{text-align:right;font-variant-numeric:tabular-nums}nav.stages a{margin-right:.8rem}\
.bad{color:#9b1c1c}.ok{color:#1b6b35}form.inline{display:inline}button{font:inherit;padding:.1rem .5rem}\
code{font-size:.92em}h2{margin-top:1.6rem}dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}\
dt{font-weight:600}.badge{display:inline-block;background:#fde8e8;color:#9b1c1c;border-radius:.3rem;padding:0 .4rem;\
font-size:.85em;text-decoration:none}p.who{color:#4b5565;margin-top:-.6rem}.scroll{overflow-x:auto}\
form.filters{background:#fff;padding:.7rem;border:1px solid #dde1e7;border-radius:.4rem;margin-bottom:.8rem}\
form.filters .search{display:flex;gap:.5rem;align-items:flex-end}form.filters .search label{flex:1}\
form.filters .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(10.5rem,1fr));gap:.4rem .8rem;margin-top:.5rem}\
form.filters summary{margin-top:.5rem;cursor:pointer}form.filters label{display:flex;flex-direction:column;\
font-size:.85em;color:#4b5565}form.filters input,form.filters select,textarea{font:inherit;\
padding:.2rem .3rem;min-width:0}form.filters .actions{grid-column:1/-1;margin:0}ul.active{list-style:none;padding:0;display:flex;\
flex-wrap:wrap;gap:.3rem}ul.active li{background:#e6eefc;border-radius:1rem;padding:.05rem .6rem}ul.active a{font-weight:700;\
margin-left:.2rem}nav.stages a[aria-current]{font-weight:700}.saved{background:#e7f6ec}p.saved{padding:.4rem .6rem;border-radius:.3rem}\
.problems{background:#fde8e8;padding:.2rem .8rem;border-radius:.3rem}a.twin{display:inline-block;background:#fff4d6;color:#7a4d00;\
border-radius:.3rem;padding:0 .4rem;font-size:.85em;text-decoration:none}#work .actions{margin:.4rem 0}#work form{margin:.3rem 0}\
form.note label{display:flex;flex-direction:column}form.note textarea{width:100%;max-width:40rem;box-sizing:border-box}\
ul.history{padding-left:1.2rem}span.note{white-space:pre-wrap}\
@media (max-width:640px){table{table-layout:fixed}th,td{overflow-wrap:anywhere}header{flex-wrap:wrap;gap:.4rem .9rem}main{padding:.6rem}table.leads thead{display:none}\
table.leads,table.leads tbody,table.leads tr,table.leads td{display:block;width:auto}table.leads tr{border-bottom:2px solid #dde1e7;\
padding:.4rem 0}table.leads td{border:0;padding:.1rem .3rem}table.leads td.num{text-align:left}table.leads td[data-stage]::before{content:\"Stage: \";color:#4b5565}\
table.leads td[data-score]::before{content:\"Score: \";color:#4b5565}table.leads td[data-owner]::before{content:\"Owner: \";\
color:#4b5565}table.leads td[data-status]::before{content:\"Status: \";color:#4b5565}nav.stages{display:flex;\
flex-wrap:wrap;gap:.3rem .8rem}nav.stages a{margin:0}dl.facts{grid-template-columns:1fr}}";

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

/// The one enhancement: times in the viewer's time zone (the page says UTC without it).
const JS: &str = "for (const t of document.querySelectorAll('time[datetime]')) {\n  const d = new Date(t.dateTime);\n  \
if (!Number.isNaN(d.getTime())) { t.title = t.textContent; t.textContent = d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }); }\n}\n";

async fn js() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], JS).into_response()
}

fn shell(title: &str, user: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n<title>{} · leadscore inbox</title>\n<link rel=\"icon\" \
         href=\"data:,\">\n<link rel=\"stylesheet\" href=\"/inbox/inbox.css\">\n<script type=\"module\" src=\"/inbox/inbox.js\"></script>\n</head>\n<body>\n<header><strong>\
         <a href=\"/inbox\">Inbox</a></strong><a href=\"/inbox/rejections\">Rejected submissions</a><a \
         href=\"/inbox/export.csv\" title=\"Every lead with its answers, events and outcome, as leadscore backtest reads it\">History for backtests (CSV)</a><span>signed in as {}</span></header>\n<main>\n{body}\n\
         </main>\n</body>\n</html>\n",
        esc(title),
        esc(user)
    )
}

fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map_or_else(|_| ms.to_string(), |t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// A time as HTML: UTC, shown in the viewer's time zone by the page's script.
fn time_html(ms: i64) -> String {
    let iso = jiff::Timestamp::from_millisecond(ms).map_or_else(|_| String::new(), |t| t.to_string());
    format!("<time datetime=\"{}\">{}</time>", esc(&iso), esc(&time(ms)))
}

/// The program that scored a lead (any accepted one), else the current one.
fn program_of<'a>(app: &'a App, lead: &Lead) -> &'a Program {
    app.programs.get(&lead.rules_hash).unwrap_or(&app.programs.current)
}

/// A badge only when something is wrong with the lead's verdict: the page's score differs from the receiver's,
/// or no accepted program scored it. `anchor`: where the detail is.
fn verdict_badge(lead: &Lead, anchor: &str) -> String {
    let text = match lead.claim_status.as_str() {
        "mismatch" => "Check: the page's score differs",
        "unknown_program" => "Check: scored by an unknown model",
        _ => return String::new(),
    };
    format!("<a class=\"badge\" href=\"{anchor}\" data-badge=\"{}\">{text}</a>", esc(&lead.claim_status))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DetailQuery {
    /// The kind of change just made (`status`, `owner`, `note`), to confirm.
    saved: String,
}

async fn detail(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let user = match user(&app, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let lead = match app.store.lead(&id).await {
        Ok(Some(l)) => l,
        Ok(None) => return (StatusCode::NOT_FOUND, "404 no such lead\n").into_response(),
        Err(e) => return store_error(e),
    };
    let ids = std::slice::from_ref(&lead.id);
    let (deliveries, changes, twins) = match tokio::try_join!(
        app.store.deliveries(ids),
        app.store.changes(&lead.id),
        app.store.twins(std::slice::from_ref(&lead))
    ) {
        Ok(x) => x,
        Err(e) => return store_error(e),
    };
    let csrf = app.keys.csrf(&user);
    let r = &lead.record;
    let kv = |obj: Option<&Json>| -> String {
        let Some(Json::Object(m)) = obj else { return "<p>–</p>".into() };
        let rows: Vec<String> = m
            .iter()
            .map(|(k, v)| {
                format!("<tr><th scope=\"row\"><code>{}</code></th><td>{}</td></tr>", esc(k), esc(&value_text(v)))
            })
            .collect();
        format!("<table><tbody>{}</tbody></table>", rows.join(""))
    };
    let ledger: Vec<String> = r
        .get("ledger")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(e.get("rule").and_then(Json::as_str).unwrap_or("")),
                esc(e.get("label").and_then(Json::as_str).unwrap_or("")),
                esc(e.get("group").and_then(Json::as_str).unwrap_or("")),
                esc(&e.get("points").and_then(Json::as_f64).map_or(String::new(), show)),
            )
        })
        .collect();
    let events: Vec<String> = r
        .get("events")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let trust = e.get("trust").and_then(Json::as_str).unwrap_or("");
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                esc(e.get("type").and_then(Json::as_str).unwrap_or("")),
                esc(&e.get("at").and_then(Json::as_f64).map_or(String::new(), |t| time(t as i64))),
                if trust == "vouched" { "ok" } else { "bad" },
                esc(trust),
                esc(e.get("note").and_then(Json::as_str).unwrap_or("")),
            )
        })
        .collect();
    let mismatches: Vec<String> = r
        .pointer("/verdict/mismatches")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|m| {
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(m.get("what").and_then(Json::as_str).unwrap_or("")),
                esc(&m.get("claimed").map_or(String::new(), value_text)),
                esc(&m.get("actual").map_or(String::new(), value_text)),
            )
        })
        .collect();
    let deliveries: Vec<String> = deliveries
        .iter()
        .map(|d| {
            let retry = if d.status == "failed" {
                format!(
                    "<form class=\"inline\" method=\"post\" action=\"/inbox/delivery/{}/retry\"><input type=\"hidden\" name=\"csrf\" \
                     value=\"{}\"><input type=\"hidden\" name=\"back\" value=\"/inbox/lead/{}\"><button type=\"submit\">Retry</button></form>",
                    d.id,
                    esc(&csrf),
                    esc(&lead.id)
                )
            } else {
                String::new()
            };
            format!(
                "<tr><td>{}</td><td data-delivery=\"{}\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{retry}</td></tr>",
                esc(&d.target),
                esc(&d.status),
                esc(&d.status),
                d.attempts,
                esc(&d.delivered_at.map_or(String::new(), time)),
                esc(d.last_error.as_deref().unwrap_or("")),
            )
        })
        .collect();
    let issues: Vec<String> = r
        .get("issues")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|i| {
            format!(
                "<li><code>{}</code> ({}): {}</li>",
                esc(i.get("field").and_then(Json::as_str).unwrap_or("")),
                esc(i.get("code").and_then(Json::as_str).unwrap_or("")),
                esc(i.get("message").and_then(Json::as_str).unwrap_or(""))
            )
        })
        .collect();
    let entries: Vec<String> = r
        .get("entries")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let p = e.as_array()?;
            Some(format!(
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td></tr>",
                esc(p.first()?.as_str()?),
                esc(p.get(1)?.as_str()?)
            ))
        })
        .collect();
    let claimed = r.get("claimed").filter(|c| !c.is_null()).map_or(String::new(), |c| {
        format!(
            "<p>Counting the unverified events too, the score would be {} ({}).</p>",
            esc(&c.get("score").and_then(Json::as_f64).map_or(String::new(), show)),
            esc(c.get("stage").and_then(Json::as_str).unwrap_or(""))
        )
    });
    let lp = program_of(&app, &lead);
    let answers_json = r.get("answers").unwrap_or(&Json::Null);
    let who = super::people::who(lp, answers_json);
    let title = if who.name.is_empty() { format!("Lead {}", lead.id) } else { who.name.clone() };
    let subtitle: Vec<&str> = [who.role.as_str(), who.company.as_str(), who.email.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty() && *s != who.name)
        .collect();
    let answers: Vec<String> = super::people::answers(lp, answers_json)
        .iter()
        .map(|(label, value)| format!("<tr><th scope=\"row\">{}</th><td>{}</td></tr>", esc(label), esc(value)))
        .collect();
    let why: Vec<String> = super::people::why(lp, &lead.stage, lead.knockout.as_deref(), lead.score, r)
        .iter()
        .map(|line| format!("<li>{}</li>", esc(line)))
        .collect();
    let body = format!(
        "<h1>{title}</h1>\n<p class=\"who\">{subtitle}</p>\n{badge}\n<dl class=\"facts\"><dt>Received</dt><dd>{received}</dd><dt>Stage</dt><dd data-stage=\"{stage}\">{stage_label}</dd>\
         <dt>Score</dt><dd>{score}</dd><dt>Grade</dt><dd>{grade}</dd></dl>\n\
         {work}\n{twins}<h2>Why this stage</h2><ul class=\"why\">{why}</ul>\n<h2>Answers</h2><table class=\"answers\"><tbody>{answers}</tbody></table>\n\
         <h2>Groups</h2>{groups}\n<h2>Points</h2><table><thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">Label</th><th scope=\"col\">Group</th>\
         <th scope=\"col\">Points</th></tr></thead><tbody>{ledger}</tbody></table>\n<h2>Behaviour events</h2>\
         <table><thead><tr><th scope=\"col\">Event</th><th scope=\"col\">When</th><th scope=\"col\">Trust</th><th scope=\"col\">Note</th></tr></thead><tbody>{events}</tbody></table>\n\
         <h2>Deliveries</h2><table><thead><tr><th scope=\"col\">Target</th><th scope=\"col\">Status</th><th scope=\"col\">Attempts</th>\
         <th scope=\"col\">Delivered</th><th scope=\"col\">Last error</th><th scope=\"col\">Action</th></tr></thead><tbody>{deliveries}</tbody></table>\n\
         <h2>Background and attribution</h2><table><tbody>{entries}</tbody></table>\n<h2>Issues</h2><ul>{issues}</ul>\n\
         <details id=\"technical\"{open}><summary>Technical details</summary><dl class=\"facts\"><dt>Lead id</dt><dd><code>{id}</code></dd>\
         <dt>The page's claim</dt><dd data-claim=\"{claim}\">{claim_text}</dd><dt>Rules hash</dt><dd><code>{hash}</code></dd>\
         <dt>Consent to tracking</dt><dd>{consent}</dd></dl>\n{claimed}<h3>What differs from the page's claim</h3><table><thead><tr><th scope=\"col\">Value</th>\
         <th scope=\"col\">Page</th><th scope=\"col\">Receiver</th></tr></thead><tbody>{mismatches}</tbody></table>\n<h3>Answers as stored</h3>{raw_answers}</details>",
        title = esc(&title),
        subtitle = esc(&subtitle.join(" · ")),
        badge = verdict_badge(&lead, "#technical"),
        open = if verdict_badge(&lead, "").is_empty() { "" } else { " open" },
        id = esc(&lead.id),
        received = time_html(lead.received_at),
        stage = esc(&lead.stage),
        stage_label = esc(&stage_label(lp, &lead.stage)),
        score = esc(&show(lead.score)),
        grade = esc(lead.grade.as_deref().unwrap_or("–")),
        claim = esc(&lead.claim_status),
        claim_text = esc(match lead.claim_status.as_str() {
            "verified" => "the same as the receiver's score",
            "mismatch" => "differs from the receiver's score (below)",
            "unvouched" => "counted events the site did not vouch for (they do not count here)",
            "incomplete" => "incomplete",
            "unknown_program" => "scored by a model the receiver does not accept",
            "none" => "none (sent without the page's script)",
            other => other,
        }),
        hash = esc(&lead.rules_hash),
        consent = match lead.consent {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not asked",
        },
        work = work::section(&app, &csrf, &user, &lead, &changes, &q.saved),
        twins = twins_section(&twins),
        groups = groups_table(lp, r.get("groups")),
        raw_answers = kv(r.get("answers")),
        why = why.join(""),
        answers = answers.join(""),
        ledger = ledger.join(""),
        events = events.join(""),
        mismatches = mismatches.join(""),
        deliveries = deliveries.join(""),
        entries = entries.join(""),
        issues = issues.join(""),
    );
    html(shell(&title, &user, &body))
}

/// Where to go after a change: an inbox page, never elsewhere.
fn back_to(back: &str) -> String {
    if back.starts_with("/inbox") && !back.contains("//") && !back.contains('\\') {
        back.to_string()
    } else {
        "/inbox".to_string()
    }
}

/// Each group's score by its label, rounded as the page shows scores.
fn groups_table(p: &Program, groups: Option<&Json>) -> String {
    let Some(Json::Object(m)) = groups else { return "<p>–</p>".into() };
    let rows: Vec<String> = m
        .iter()
        .map(|(id, v)| {
            let label = p
                .groups
                .iter()
                .find(|g| g.id == *id)
                .and_then(|g| g.label.as_ref())
                .map_or_else(|| id.clone(), |l| l.get(&p.locale, &p.locale).to_string());
            let score = v.as_f64().map_or_else(|| value_text(v), show);
            format!(
                "<tr><th scope=\"row\">{}</th><td class=\"num\" data-group=\"{}\">{}</td></tr>",
                esc(&label),
                esc(id),
                esc(&score)
            )
        })
        .collect();
    format!("<table class=\"groups\"><tbody>{}</tbody></table>", rows.join(""))
}

/// The other leads that may be the same person (same email) or company (same domain).
fn twins_section(twins: &[super::store::Twin]) -> String {
    if twins.is_empty() {
        return String::new();
    }
    let list = |by: &str, title: &str| {
        let links: Vec<String> = twins
            .iter()
            .filter(|t| t.by == by)
            .map(|t| {
                format!(
                    "<a href=\"/inbox/lead/{}\">{}</a>",
                    esc(&t.lead_id),
                    esc(t.name.as_deref().unwrap_or(&t.lead_id))
                )
            })
            .collect();
        if links.is_empty() {
            String::new()
        } else {
            format!("<p data-twins=\"{by}\">{title}: {}</p>", links.join(", "))
        }
    };
    format!(
        "<section id=\"twins\" class=\"twins\"><h2>Possible duplicates</h2>{}{}</section>\n",
        list("email", "The same email"),
        list("domain", "The same company domain")
    )
}

#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
}

async fn retry(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<RetryForm>,
) -> Response {
    let user = match change_by(&app, &headers, &f.csrf).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match app.store.retry(id, now_ms()).await {
        Ok(true) => {
            tracing::info!(delivery = id, by = %user, "delivery retried");
            app.wake.notify_one();
            (StatusCode::SEE_OTHER, [(header::LOCATION, back_to(&f.back))]).into_response()
        }
        Ok(false) => (StatusCode::NOT_FOUND, "404 no failed delivery with this id\n").into_response(),
        Err(e) => store_error(e),
    }
}

async fn rejections(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let user = match user(&app, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let list = match app.store.rejections(200).await {
        Ok(l) => l,
        Err(e) => return store_error(e),
    };
    let total = app.store.count_rejections().await.unwrap_or(0);
    let rows: Vec<String> = list
        .iter()
        .map(|r| {
            let body: String = r.body.as_deref().unwrap_or("").chars().take(400).collect();
            format!(
                "<tr><td>{}</td><td data-reason=\"{reason}\"><code>{reason}</code></td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&time(r.at)),
                esc(&r.detail),
                esc(&body),
                reason = esc(&r.reason),
            )
        })
        .collect();
    let body = format!(
        "<h1>Rejected submissions</h1>\n<p>{total} in all; the newest 200. Bodies are kept so that a person taken for a bot can still be contacted.</p>\n\
         <table><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Reason</th><th scope=\"col\">Detail</th><th scope=\"col\">Body</th></tr></thead>\
         <tbody>{}</tbody></table>",
        rows.join("\n")
    );
    html(shell("Rejected submissions", &user, &body))
}

async fn export(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(r) = user(&app, &headers).await {
        return r;
    }
    match history(&app.store, &app.programs.current).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"leadscore-history.csv\""),
            ],
            csv,
        )
            .into_response(),
        Err(e) => store_error(e),
    }
}

/// Every stored lead as a history for `leadscore backtest`: `id`, `scored_at`, the program's fields, its
/// events (the vouched times, `;`-separated) and `outcome` (`won`, `lost`, or empty while open).
pub async fn history(store: &super::Store, p: &Program) -> Result<String, super::store::StoreError> {
    let mut all = vec![];
    let mut offset = 0;
    loop {
        let batch = store.leads(&Filter::page(1000, offset)).await?;
        let n = batch.len();
        all.extend(batch);
        if n < 1000 {
            break;
        }
        offset += 1000;
    }
    all.reverse();
    Ok(history_csv(p, &all))
}

fn rfc3339(ms: f64) -> String {
    jiff::Timestamp::from_millisecond(ms as i64).map(|t| t.to_string()).unwrap_or_default()
}

/// The history CSV of `leads`, oldest first as given.
pub fn history_csv(p: &Program, leads: &[Lead]) -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    let mut header = vec!["id".to_string(), "scored_at".to_string()];
    header.extend(p.fields.iter().map(|f| f.id.clone()));
    header.extend(p.events.iter().map(|(id, _)| id.clone()));
    header.push("outcome".into());
    let _ = w.write_record(&header);
    for l in leads {
        let mut row = vec![l.id.clone(), rfc3339(l.received_at as f64)];
        for f in &p.fields {
            let v = l.record.get("answers").and_then(|a| a.get(&f.id));
            row.push(match v {
                None | Some(Json::Null) => String::new(),
                Some(Json::Array(items)) => items.iter().map(value_text).collect::<Vec<_>>().join(";"),
                Some(v) => value_text(v),
            });
        }
        let events = l.record.get("events").and_then(Json::as_array);
        for (id, _) in &p.events {
            let times: Vec<String> = events
                .into_iter()
                .flatten()
                .filter(|e| {
                    e.get("type").and_then(Json::as_str) == Some(id)
                        && e.get("trust").and_then(Json::as_str) == Some("vouched")
                })
                .filter_map(|e| e.get("at").and_then(Json::as_f64))
                .map(rfc3339)
                .collect();
            row.push(times.join(";"));
        }
        row.push(l.outcome.clone().unwrap_or_default());
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

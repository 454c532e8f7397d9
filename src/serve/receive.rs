//! `POST /submit`: one submission, from bytes to a stored lead (or a recorded rejection).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value as Json};

use super::store::{Lead, Rejection, Stored};
use super::trust::{self, ClaimVerdict, EventRecord};
use super::{now_ms, page, App};
use crate::{Answers, Claim, Evaluation, Issue, Mismatch, Program, VerifyOptions};

/// A submission the receiver refuses, with the reason it records.
pub struct Refusal {
    pub status: StatusCode,
    /// Stable: `rate_limited`, `body_too_large`, `unsupported_type`, `malformed`, `not_utf8`, `honeypot`,
    /// `too_fast`, `no_started`, `captcha`.
    pub reason: &'static str,
    pub message: String,
}

fn refuse(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { status, reason, message: message.into() }
}

/// The client's address: the connection's, or behind a trusted proxy the last `X-Forwarded-For` hop.
fn client_ip(app: &App, addr: SocketAddr, headers: &HeaderMap) -> String {
    if app.config.receive.trust_forwarded {
        if let Some(last) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            return last.to_string();
        }
    }
    addr.ip().to_string()
}

/// Where a request to `/submit` comes from, for CORS.
enum Origin {
    /// No `Origin` header (not a browser's page), or the receiver's own site.
    Own,
    /// A page of a site in `receive.allowed_origins`: this origin.
    Allowed(String),
    /// Another site's page.
    Other(String),
}

fn origin(app: &App, headers: &HeaderMap) -> Origin {
    match super::foreign_origin(headers) {
        None => Origin::Own,
        Some(o) if app.config.receive.allowed_origins.iter().any(|a| a == o) => Origin::Allowed(o.to_string()),
        Some(o) => Origin::Other(o.to_string()),
    }
}

/// CORS for `/submit`: a page of an allowed origin may read the answer (`Access-Control-Allow-Origin`); with
/// allowed origins configured, a submission from any other site's page is refused before it is read.
pub async fn cors(
    State(app): State<Arc<App>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let from = origin(&app, request.headers());
    if let Origin::Other(o) = &from {
        if !app.config.receive.allowed_origins.is_empty() {
            let message = format!("leads are not accepted from pages of {o}: add it to receive.allowed_origins");
            return (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message)
                .into_response();
        }
    }
    let mut res = next.run(request).await;
    let h = res.headers_mut();
    h.append(header::VARY, header::HeaderValue::from_static("Origin"));
    if let Origin::Allowed(o) = from {
        if let Ok(v) = header::HeaderValue::from_str(&o) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
    }
    res
}

/// The preflight of a page on an allowed origin (a JSON body, or other headers than a plain form's).
pub async fn preflight(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let asked = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD).and_then(|v| v.to_str().ok());
    match (origin(&app, &headers), asked) {
        (Origin::Allowed(_), Some("POST")) => (
            StatusCode::NO_CONTENT,
            [
                (header::ACCESS_CONTROL_ALLOW_METHODS, "POST"),
                (header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type, Accept"),
                (header::ACCESS_CONTROL_MAX_AGE, "600"),
            ],
        )
            .into_response(),
        _ => (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")]).into_response(),
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"))
}

pub async fn submit(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let now = now_ms();
    let ip = client_ip(&app, addr, &headers);
    let ip_hash = app.keys.ip_hash(&ip);
    let json_reply = wants_json(&headers);
    let mut raw: Option<Bytes> = None;
    let result = async {
        if let Err(wait) = app.limiter.take(&ip, now) {
            let mut r = refuse(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many submissions from this address");
            r.message.push_str(&format!("; try again in {} s", (wait + 999) / 1000));
            return Err(r);
        }
        let limit = app.config.receive.body_limit;
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
            refuse(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", format!("the form is larger than {limit} bytes"))
        })?;
        raw = Some(bytes.clone());
        let entries = parse_body(&headers, &bytes)?;
        check_bots(&app, &entries, now, &ip).await?;
        Ok(entries)
    }
    .await;
    let entries = match result {
        Ok(e) => e,
        Err(r) => return rejected(&app, r, now, ip_hash, raw.as_deref(), json_reply).await,
    };
    // An event token counts for one lead only. The store says which of this lead's tokens another lead has
    // counted (in the same transaction that would store it); the lead is then scored again without them.
    let mut taken = HashSet::new();
    // The owner of the stage it was given (scored again, a lead keeps its round robin's turn for that stage).
    let mut owned: Option<(String, Option<String>)> = None;
    let (sub, mut reply, id, stored) = loop {
        let mut sub = assess(&app, &entries, &headers, now, ip_hash.clone(), &taken);
        sub.lead.work.owner = match owned.take().filter(|(stage, _)| *stage == sub.lead.stage) {
            Some((_, o)) => o,
            None => owner_of(&app, &sub.lead).await.unwrap_or_else(|e| {
                // The lead matters more than its owner: it is stored without one.
                tracing::error!(error = %e, "cannot take a round robin's turn");
                None
            }),
        };
        owned = Some((sub.lead.stage.clone(), sub.lead.work.owner.clone()));
        let reply = reply_json(&sub);
        let reason = sub.verdict.disqualified.as_ref().map(|d| d.reason.as_str());
        let targets =
            super::deliver::route(&app.config.targets, &sub.lead.stage, reason, sub.lead.work.owner.as_deref());
        // The store takes the lead; what the answer needs of it is in `reply`.
        let lead = std::mem::take(&mut sub.lead);
        let id = lead.id.clone();
        match app.store.insert_lead(lead, targets, std::mem::take(&mut sub.tokens)).await {
            Ok(Stored::TokensTaken(t)) if !t.is_empty() && t.iter().all(|n| !taken.contains(n)) => taken.extend(t),
            stored => break (sub, reply, id, stored),
        }
    };
    let (duplicate, id) = match stored {
        Ok(Stored::New) => {
            app.wake.notify_one();
            tracing::info!(lead = %id, stage = %sub.verdict.stage.id, score = sub.verdict.score, claim = sub.claim.status, "lead stored");
            (false, id)
        }
        Ok(Stored::Duplicate(old)) => {
            tracing::info!(lead = %old.id, "resubmission of a stored lead");
            (true, old.id)
        }
        failed => {
            match failed {
                Err(e) => tracing::error!(error = %e, "cannot store a lead"),
                // Only when other leads keep taking its tokens while it is scored again.
                Ok(_) => tracing::error!("cannot store a lead: its event tokens were taken meanwhile"),
            }
            let msg = "the lead could not be stored; nothing was kept, please send it again";
            return if json_reply {
                error_json(StatusCode::SERVICE_UNAVAILABLE, "store", msg)
            } else {
                super::files::text(StatusCode::SERVICE_UNAVAILABLE, format!("503 {msg}\n"))
            };
        }
    };
    if json_reply {
        reply["received"] = json!(true);
        reply["id"] = json!(id);
        reply["duplicate"] = json!(duplicate);
        return (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], reply.to_string()).into_response();
    }
    let reason = sub.verdict.disqualified.as_ref().map(|d| d.reason.as_str());
    if let Some(url) = app.config.page.redirects.target(&sub.verdict.stage.id, reason) {
        // The site's own page of this outcome (checked at start like an ending's link).
        if let Ok(location) = header::HeaderValue::from_str(url) {
            return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
        }
    }
    let lang = page::pick_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let html = page::thank_you(
        &app.config.page,
        &sub.program,
        &entries,
        &sub.answers,
        &sub.vouched_events,
        sub.at,
        &sub.claim,
        lang,
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn error_json(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"received": false, "error": reason, "message": message});
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Records a refused submission, then answers. A honeypot hit is answered like a success, so that a bot
/// learns nothing; its body is kept with the rejection, so that a person wrongly taken for a bot is not lost.
async fn rejected(app: &App, r: Refusal, now: i64, ip_hash: String, body: Option<&[u8]>, json_reply: bool) -> Response {
    let body = match r.reason {
        "rate_limited" | "body_too_large" => None,
        _ => body.map(|b| String::from_utf8_lossy(b).into_owned()),
    };
    let rec = Rejection { at: now, reason: r.reason.into(), detail: r.message.clone(), ip_hash: Some(ip_hash), body };
    if let Err(e) = app.store.reject(rec).await {
        tracing::error!(error = %e, reason = r.reason, "cannot record a rejection");
    }
    tracing::warn!(reason = r.reason, detail = %r.message, "submission refused");
    if r.reason == "honeypot" {
        return if json_reply {
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], json!({"received": true}).to_string())
                .into_response()
        } else {
            super::files::text(StatusCode::OK, "Thank you.\n")
        };
    }
    let mut res = if json_reply {
        error_json(r.status, r.reason, &r.message)
    } else {
        super::files::text(r.status, format!("{} {}\n", r.status.as_u16(), r.message))
    };
    if r.reason == "rate_limited" {
        res.headers_mut().insert(header::RETRY_AFTER, "60".parse().expect("a valid header"));
    }
    if r.reason == "body_too_large" {
        res.headers_mut().insert(header::CONNECTION, "close".parse().expect("a valid header"));
    }
    res
}

/// The form's entries, from an urlencoded body or a JSON object (`{name: value | [values]}`; numbers and
/// booleans as their text; a claim's JSON values as JSON text).
pub fn parse_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match kind.as_str() {
        "application/x-www-form-urlencoded" => parse_urlencoded(bytes),
        "application/json" => parse_json(bytes),
        "" => Err(refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type", "the form has no Content-Type")),
        other => Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            format!("the form must be sent as application/x-www-form-urlencoded or application/json, not {other}"),
        )),
    }
}

fn parse_urlencoded(bytes: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let mut out = vec![];
    for (n, part) in bytes.split(|&b| b == b'&').enumerate().filter(|(_, p)| !p.is_empty()) {
        let (k, v) = match part.iter().position(|&b| b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &[][..]),
        };
        let decode = |s: &[u8]| -> Result<String, Refusal> {
            let plus: Vec<u8> = s.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
            let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
            String::from_utf8(bytes).map_err(|_| {
                refuse(StatusCode::BAD_REQUEST, "not_utf8", format!("entry {} of the form is not UTF-8 text", n + 1))
            })
        };
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

fn parse_json(bytes: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        refuse(StatusCode::BAD_REQUEST, "not_utf8", format!("the body is not UTF-8 text (byte {})", e.valid_up_to()))
    })?;
    let value: Json = serde_json::from_str(text).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("the body is not JSON: line {}, column {}: {e}", e.line(), e.column()),
        )
    })?;
    let Json::Object(map) = value else {
        return Err(refuse(StatusCode::BAD_REQUEST, "malformed", "the body is a JSON object of form fields to values"));
    };
    let mut out = vec![];
    for (k, v) in map {
        let scalar = |v: &Json| -> Option<String> {
            match v {
                Json::String(s) => Some(s.clone()),
                Json::Number(n) => Some(n.to_string()),
                Json::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        };
        match &v {
            Json::Null => {}
            Json::Array(items) if items.iter().all(|i| scalar(i).is_some()) && !k.starts_with("leadscore_") => {
                out.extend(items.iter().filter_map(scalar).map(|s| (k.clone(), s)));
            }
            Json::Array(_) | Json::Object(_) => out.push((k.clone(), v.to_string())),
            _ => out.extend(scalar(&v).map(|s| (k.clone(), s))),
        }
    }
    Ok(out)
}

fn first<'a>(entries: &'a [(String, String)], name: &str) -> Option<&'a str> {
    entries.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn check_bots(app: &App, entries: &[(String, String)], now: i64, ip: &str) -> Result<(), Refusal> {
    let rc = &app.config.receive;
    if !rc.honeypot.is_empty() && first(entries, &rc.honeypot).is_some_and(|v| !v.is_empty()) {
        return Err(refuse(StatusCode::OK, "honeypot", format!("the hidden field `{}` was filled", rc.honeypot)));
    }
    let started = first(entries, &format!("{}started", rc.field_prefix));
    match started.map(|s| s.trim().parse::<f64>()) {
        Some(Ok(t)) if t.is_finite() => {
            let took = now as f64 - t;
            if took < rc.min_fill_ms as f64 {
                return Err(refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "too_fast",
                    format!(
                        "the form was sent {} ms after it started; people take at least {} ms: please send it again",
                        took.max(0.0) as i64,
                        rc.min_fill_ms
                    ),
                ));
            }
        }
        Some(_) => {
            return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "no_started", "the form's start time is not a number"))
        }
        None if rc.require_started => {
            return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "no_started", "the form does not say when it started"))
        }
        None => {}
    }
    if let Some(c) = &app.config.captcha {
        let token = first(entries, c.provider.field()).unwrap_or("");
        if token.is_empty() {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "captcha",
                format!("no CAPTCHA answer (`{}`)", c.provider.field()),
            ));
        }
        let url = c.verify_url.as_deref().unwrap_or(c.provider.default_url());
        let form = [("secret", c.secret.as_str()), ("response", token), ("remoteip", ip)];
        let reply = app.http.post(url).form(&form).send().await;
        let ok = match reply {
            Ok(r) if r.status().is_success() => match r.text().await.map(|t| serde_json::from_str::<Json>(&t)) {
                Ok(Err(e)) => Err(format!("the CAPTCHA check answered no JSON: {e}")),
                Ok(Ok(v)) if v.get("success").and_then(Json::as_bool) == Some(true) => Ok(()),
                Ok(Ok(v)) => {
                    Err(format!("the CAPTCHA answer was refused: {}", v.get("error-codes").unwrap_or(&Json::Null)))
                }
                Err(e) => Err(format!("the CAPTCHA check failed: {e}")),
            },
            Ok(r) => Err(format!("the CAPTCHA check answered HTTP {}", r.status().as_u16())),
            Err(e) => Err(format!("the CAPTCHA check failed: {e}")),
        };
        ok.map_err(|m| refuse(StatusCode::FORBIDDEN, "captcha", m))?;
    }
    Ok(())
}

/// What the receiver made of a submission.
pub struct Assessed {
    pub program: Arc<Program>,
    pub answers: Answers,
    pub vouched_events: crate::Events,
    /// The nonces of the event tokens counted: stored with the lead, so that no other lead counts them.
    pub tokens: Vec<String>,
    pub at: f64,
    pub verdict: Evaluation,
    pub claim: ClaimVerdict,
    pub lead: Lead,
}

/// The browser's claim in a submission (`None`: it has none), and claimed values that do not parse.
fn claim_of(entries: &[(String, String)], prefix: &str) -> (Option<Claim>, Json, Vec<Mismatch>) {
    let get = |k: &str| first(entries, &format!("{prefix}{k}"));
    const CLAIM: [&str; 8] = ["score", "groups", "stage", "grade", "rules", "hash", "at", "events"];
    if !CLAIM.iter().any(|k| get(k).is_some()) {
        return (None, Json::Null, vec![]);
    }
    let mut bad = vec![];
    let mut raw = Map::new();
    for k in CLAIM {
        if let Some(v) = get(k) {
            raw.insert(k.into(), json!(v));
        }
    }
    let mut num = |k: &str| -> Option<f64> {
        let v = get(k)?;
        match v.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                bad.push(Mismatch { what: k.into(), claimed: json!(v), actual: Json::Null });
                None
            }
        }
    };
    let score = num("score");
    let at = num("at");
    let groups = get("groups").and_then(|g| match serde_json::from_str::<Json>(g) {
        Ok(Json::Object(m)) => Some(m),
        _ => {
            bad.push(Mismatch { what: "groups".into(), claimed: json!(g), actual: Json::Null });
            None
        }
    });
    let events = match get("events").map(serde_json::from_str::<Json>) {
        None => Json::Array(vec![]),
        Some(Ok(v @ Json::Array(_))) => v,
        Some(_) => {
            bad.push(Mismatch { what: "events".into(), claimed: json!(get("events")), actual: Json::Null });
            Json::Array(vec![])
        }
    };
    let claim = Claim {
        rules_hash: get("hash").map(str::to_string),
        at,
        answers: Json::Null,
        events,
        score,
        groups,
        stage: get("stage").map(str::to_string),
        grade: get("grade").map(str::to_string),
        rules: get("rules").map(|r| r.split(',').filter(|r| !r.is_empty()).map(str::to_string).collect()),
    };
    (Some(claim), Json::Object(raw), bad)
}

fn new_id(now: i64) -> String {
    let mut r = [0u8; 10];
    if getrandom::fill(&mut r).is_err() {
        // Unique enough within one receiver: the clock and a counter.
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        r[..8].copy_from_slice(&N.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_le_bytes());
    }
    format!("{:012x}{}", now.max(0), trust::hex(&r))
}

/// Scores a submission: answers as declared, events as the receiver trusts them, and the verdict on the
/// browser's claim. Cannot fail: whatever is wrong with the input is recorded with the lead.
///
/// `taken`: the nonces of event tokens that another lead has counted; they are refused here.
pub fn assess(
    app: &App,
    entries: &[(String, String)],
    headers: &HeaderMap,
    now: i64,
    ip_hash: String,
    taken: &HashSet<String>,
) -> Assessed {
    let rc = &app.config.receive;
    let prefix = rc.field_prefix.as_str();
    let (claim, raw_claim, malformed) = claim_of(entries, prefix);
    let claimed_hash = claim.as_ref().and_then(|c| c.rules_hash.as_deref());
    let (program, known) = match claimed_hash.and_then(|h| app.programs.get(h)) {
        Some(p) => (p.clone(), true),
        None => (app.programs.current.clone(), false),
    };
    let p = &*program;
    let (answers, mut issues) = Answers::from_form_entries(p, entries.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let nowf = now as f64;
    let skew = rc.max_skew_ms as f64;
    // Scored at the browser's time when it is plausible, so that decay is what the browser saw.
    let at = claim.as_ref().and_then(|c| c.at).filter(|t| (t - nowf).abs() <= skew).unwrap_or(nowf);
    let events_json = claim.as_ref().map_or(Json::Null, |c| c.events.clone());
    let keys = app.vouches().then_some(&app.keys);
    let read = trust::read_events(p, keys, &events_json, nowf, app.config.events.token_max_age_days, taken);
    issues.extend(read.issues);
    let verdict = trust::evaluate(p, &answers, &read.vouched, at);
    let unverified = read.records.iter().any(|r| r.trust == "unverified");
    let as_claimed = if unverified { Some(trust::evaluate(p, &answers, &read.claimed, at)) } else { None };
    let opts = VerifyOptions { now: Some(nowf), max_skew_ms: Some(skew) };
    let mut judged = trust::judge(p, claim.as_ref(), known, &verdict, as_claimed.as_ref().unwrap_or(&verdict), &opts);
    if !malformed.is_empty() {
        judged.mismatches.extend(malformed);
        if matches!(judged.status, "verified" | "unvouched") {
            judged.status = "mismatch";
            judged.verified = false;
        }
    }
    // The controller's own notes (a background value cut to fit, say).
    if let Some(Ok(Json::Array(list))) = first(entries, &format!("{prefix}issues")).map(serde_json::from_str::<Json>) {
        for i in list.iter().take(50) {
            let field = i.get("field").and_then(Json::as_str).unwrap_or("").chars().take(100).collect();
            let message: String = i.get("message").and_then(Json::as_str).unwrap_or("").chars().take(300).collect();
            let code = match i.get("code").and_then(Json::as_str) {
                Some("truncated") => "truncated",
                _ => "browser",
            };
            issues.push(Issue { field, code, message });
        }
    }
    let lead = lead_record(
        app,
        p,
        entries,
        &answers,
        &verdict,
        as_claimed.as_ref(),
        &judged,
        &read.records,
        issues,
        raw_claim,
        headers,
        now,
        ip_hash,
    );
    Assessed {
        program: program.clone(),
        answers,
        vouched_events: read.vouched,
        tokens: read.nonces,
        at,
        verdict,
        claim: judged,
        lead,
    }
}

/// Entries that are neither answers nor the controller's claim: background and attribution fields the model
/// does not know (a click id, say), kept as they came. Bot checks' fields are left out.
fn other_entries(app: &App, p: &Program, entries: &[(String, String)]) -> Json {
    let rc = &app.config.receive;
    let captcha = app.config.captcha.as_ref().map(|c| c.provider.field());
    let list: Vec<Json> = entries
        .iter()
        .filter(|(k, _)| {
            p.field_index(k).is_none()
                && !k.starts_with(&rc.field_prefix)
                && *k != rc.honeypot
                && Some(k.as_str()) != captcha
        })
        .map(|(k, v)| json!([k, v]))
        .collect();
    Json::Array(list)
}

#[allow(clippy::too_many_arguments)]
fn lead_record(
    app: &App,
    p: &Program,
    entries: &[(String, String)],
    answers: &Answers,
    verdict: &Evaluation,
    as_claimed: Option<&Evaluation>,
    judged: &ClaimVerdict,
    events: &[EventRecord],
    issues: Vec<Issue>,
    raw_claim: Json,
    headers: &HeaderMap,
    now: i64,
    ip_hash: String,
) -> Lead {
    let prefix = &app.config.receive.field_prefix;
    let mut answers_json = Map::new();
    for (i, f) in p.fields.iter().enumerate() {
        if answers.get(i).is_some() {
            answers_json.insert(f.id.clone(), answers.to_json(p, i));
        }
    }
    let groups =
        |e: &Evaluation| -> Json { Json::Object(e.groups.iter().map(|g| (g.id.clone(), json!(g.score))).collect()) };
    let grade = verdict.grade.as_ref().map(|g| g.cell.clone().unwrap_or_else(|| g.letter.clone()));
    let fired: Vec<&str> = verdict.ledger.iter().map(|l| l.rule.as_str()).collect();
    let header = |h: header::HeaderName| {
        headers.get(h).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(500).collect::<String>())
    };
    let started = first(entries, &format!("{prefix}started")).and_then(|s| s.trim().parse::<f64>().ok());
    let consent = match first(entries, &format!("{prefix}consent")) {
        Some("yes" | "true") => Some(true),
        Some("no" | "false") => Some(false),
        _ => None,
    };
    let record = json!({
        "answers": answers_json,
        "groups": groups(verdict),
        "fired": fired,
        "ledger": verdict.ledger,
        "disqualified": verdict.disqualified,
        "claimed": as_claimed.map(|e| json!({"score": e.score, "groups": groups(e), "stage": e.stage.id})),
        "claim": raw_claim,
        "verdict": judged,
        "events": events,
        "entries": other_entries(app, p, entries),
        "issues": issues,
        "started": started,
        "fill_ms": started.map(|s| now as f64 - s),
        "user_agent": header(header::USER_AGENT),
        "page": header(header::REFERER),
        "language": header(header::ACCEPT_LANGUAGE),
    });
    let key = first(entries, &format!("{prefix}key"))
        .or_else(|| headers.get("idempotency-key").and_then(|v| v.to_str().ok()))
        .map(|k| k.trim().chars().take(200).collect::<String>())
        .filter(|k| !k.is_empty());
    Lead {
        id: new_id(now),
        idempotency_key: key,
        received_at: now,
        rules_hash: p.hash().to_string(),
        model_id: p.id.clone(),
        stage: verdict.stage.id.clone(),
        knockout: verdict.disqualified.as_ref().map(|d| d.knockout.clone()),
        score: verdict.score,
        grade,
        claim_status: judged.status.to_string(),
        consent,
        ip_hash: Some(ip_hash),
        outcome: None,
        outcome_at: None,
        outcome_by: None,
        facts: super::people::facts(p, &record),
        work: Default::default(),
        record,
    }
}

/// The owner the first matching `[[assign]]` rule gives a new lead.
async fn owner_of(app: &App, lead: &Lead) -> Result<Option<String>, super::store::StoreError> {
    let Some((i, rule)) =
        app.config.assign.iter().enumerate().find(|(_, r)| r.matches(&lead.stage, lead.facts.country.as_deref()))
    else {
        return Ok(None);
    };
    if let Some(o) = &rule.owner {
        return Ok(Some(o.clone()));
    }
    let turn = app.store.next_turn(&format!("assign[{i}]")).await?;
    Ok(rule.round_robin.get(turn.rem_euclid(rule.round_robin.len().max(1) as i64) as usize).cloned())
}

/// The JSON answer's verdict part.
fn reply_json(a: &Assessed) -> Json {
    json!({
        "verified": a.claim.verified,
        "claim": a.claim.status,
        "stage": a.verdict.stage.id,
        "score": a.verdict.score,
        "rulesHash": a.program.hash(),
        "mismatches": a.claim.mismatches,
        "issues": a.lead.record["issues"],
        "events": a.lead.record["events"],
    })
}

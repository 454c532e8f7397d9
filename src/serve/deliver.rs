//! The outbox worker: delivers stored leads to their targets, at least once, retrying with backoff. A lead's
//! deliveries were written with it, in one transaction; a delivery is leased while it is attempted, so a
//! worker that dies (kill -9) leaves it to be attempted again when the lease runs out.
//!
//! Targets: a generic webhook signed per the Standard Webhooks spec, HubSpot's Forms API v3, Salesforce
//! Web-to-Lead. Each gets the lead's answers under the target's own field names, and the lead's idempotency
//! key (or its id), so that a repeated delivery can be recognised. Notifications: a Slack incoming webhook and
//! an email over SMTP, each a message written from the target's template.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value as Json};
use sha2::Sha256;

use super::config::{TargetConfig, TargetKind};
use super::store::{Delivery, Lead};
use super::{now_ms, App};

/// The targets a lead goes to: those whose `stages` hold its stage, or whose `knockouts` hold the reason of its
/// knockout (the reason, as endings and the command line name it: several knockouts may share one, such as
/// `student`); a target with neither takes every lead.
/// A target with `owners` takes only the leads one of them owns.
pub fn route(targets: &[TargetConfig], stage: &str, reason: Option<&str>, owner: Option<&str>) -> Vec<String> {
    targets
        .iter()
        .filter(|t| {
            (t.stages.is_empty() && t.knockouts.is_empty())
                || t.stages.iter().any(|s| s == stage)
                || reason.is_some_and(|k| t.knockouts.iter().any(|x| x == k))
        })
        .filter(|t| t.owners.is_empty() || owner.is_some_and(|o| t.owners.iter().any(|x| x == o)))
        // An email only to the owner: not for a lead nobody owns.
        .filter(|t| {
            owner.is_some() || !matches!(&t.kind, TargetKind::Email { to, to_owner: true, .. } if to.is_empty())
        })
        .map(|t| t.id.clone())
        .collect()
}

/// The placeholders a message may have besides the model's field ids.
pub const MESSAGE_VALUES: [&str; 14] = [
    "id", "name", "email", "company", "role", "stage", "stage_id", "score", "grade", "owner", "status", "country",
    "source", "link",
];

/// A notification's text: `template` with each placeholder replaced by the lead's value (a field's by its label),
/// passed through `escape`.
pub fn message(app: &App, template: &str, lead: &Lead, escape: fn(&str) -> String) -> String {
    let p = app.programs.get(&lead.rules_hash).map_or(&*app.programs.current, |p| &**p);
    let answers = lead.record.get("answers").unwrap_or(&Json::Null);
    let who = super::people::who(p, answers);
    let or_dash = |v: Option<&String>| v.cloned().unwrap_or_else(|| "–".into());
    let value = |name: &str| -> String {
        match name {
            "id" => lead.id.clone(),
            "name" => who.name.clone(),
            "email" => who.email.clone(),
            "company" => who.company.clone(),
            "role" => who.role.clone(),
            "stage" => super::people::stage_label(p, &lead.stage),
            "stage_id" => lead.stage.clone(),
            "score" => super::page::show(lead.score),
            "grade" => or_dash(lead.grade.as_ref()),
            "owner" => lead.work.owner.clone().unwrap_or_else(|| "nobody".into()),
            "status" => super::store::Status::label_of(&lead.work.status).to_string(),
            "country" => or_dash(lead.facts.country.as_ref()),
            "source" => or_dash(lead.facts.source.as_ref()),
            "link" => {
                let base = app.config.inbox.url.as_deref().unwrap_or("").trim_end_matches('/');
                format!("{base}/inbox/lead/{}", lead.id)
            }
            field => answers
                .get(field)
                .filter(|v| !v.is_null())
                .map_or_else(String::new, |v| super::people::answer_text(p, field, v)),
        }
    };
    // The placeholders were checked at start (`check_targets`).
    crate::valid::fill(template, |name, out| out.push_str(&escape(&value(name))))
}

/// A value in a Slack message: its three control characters escaped, so that an answer never becomes a link or
/// a mention.
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A value in an email's subject: on one line.
fn one_line(s: &str) -> String {
    s.split(['\r', '\n']).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Deliveries attempted at once.
const PARALLEL: i64 = 8;

pub async fn worker(app: Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let poll = Duration::from_millis(app.config.delivery.poll_ms);
    // A lease outlives an attempt (the client's timeout) with room to record it.
    let lease = i64::try_from(app.config.delivery.timeout_ms).unwrap_or(i64::MAX / 4).saturating_mul(3) + 5_000;
    let targets: Vec<String> = app.config.targets.iter().map(|t| t.id.clone()).collect();
    loop {
        if *stop.borrow() {
            return;
        }
        let due = match app.store.lease_due(&targets, now_ms(), lease, PARALLEL).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "outbox: cannot read due deliveries");
                vec![]
            }
        };
        if due.is_empty() {
            tokio::select! {
                _ = app.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let mut set = tokio::task::JoinSet::new();
        for (d, lead) in due {
            let app = app.clone();
            set.spawn(async move { attempt(&app, d, lead).await });
        }
        // Attempts in flight finish even when stopping: their outcome is recorded.
        while set.join_next().await.is_some() {}
    }
}

async fn attempt(app: &App, d: Delivery, lead: Lead) {
    let Some(target) = app.config.targets.iter().find(|t| t.id == d.target) else {
        // Not leased (only configured targets are); kept, failed, to see in the inbox.
        let _ = app
            .store
            .attempted(d.id, now_ms(), Err(format!("no target `{}` in the configuration", d.target)), None)
            .await;
        return;
    };
    // No attempt holds the worker longer than its timeout, whatever the other side does (an SMTP server that
    // never answers a message it refused, seen with one).
    let limit = Duration::from_millis(app.config.delivery.timeout_ms);
    let result = match tokio::time::timeout(limit + Duration::from_millis(500), send(app, target, &d, &lead)).await {
        Ok(r) => r,
        Err(_) => Err(format!("{}: no answer within {} ms", target.id, app.config.delivery.timeout_ms)),
    };
    let now = now_ms();
    let attempts = d.attempts + 1;
    let next = match &result {
        Ok(()) => None,
        Err(_) if attempts >= i64::from(app.config.delivery.max_attempts) => None,
        Err(_) => Some(now + backoff(&app.config.delivery, attempts, d.id)),
    };
    match &result {
        Ok(()) => tracing::info!(lead = %lead.id, target = %d.target, attempt = attempts, "delivered"),
        Err(e) => {
            tracing::warn!(lead = %lead.id, target = %d.target, attempt = attempts, error = %e, retry = next.is_some(), "delivery failed")
        }
    }
    if let Err(e) = app.store.attempted(d.id, now, result, next).await {
        // The lease runs out and the delivery is attempted again: at least once.
        tracing::error!(error = %e, delivery = d.id, "outbox: cannot record an attempt");
    }
}

/// The wait before attempt `attempts + 1`: doubling from `backoff_ms`, at most `backoff_max_ms`, with up to a
/// tenth more (fixed per delivery) so that retries of many deliveries do not arrive together.
pub fn backoff(c: &super::config::DeliveryConfig, attempts: i64, id: i64) -> i64 {
    let base = c.backoff_ms as f64 * 2f64.powi((attempts - 1).clamp(0, 40) as i32);
    let wait = base.min(c.backoff_max_ms as f64);
    let jitter = (id.rem_euclid(97) as f64 / 970.0) * wait;
    (wait + jitter) as i64
}

/// A field's value as text: lists joined with `;` (HubSpot's and Salesforce's multi-select form).
fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(";"),
        Json::Null => String::new(),
        v => v.to_string(),
    }
}

/// The lead's answers under the target's names, in model order of the record.
fn mapped(target: &TargetConfig, lead: &Lead) -> Vec<(String, Json)> {
    let Some(Json::Object(answers)) = lead.record.get("answers") else { return vec![] };
    answers
        .iter()
        .filter_map(|(k, v)| match target.fields.get(k) {
            Some(name) => Some((name.clone(), v.clone())),
            None if target.only_mapped => None,
            None => Some((k.clone(), v.clone())),
        })
        .collect()
}

fn entry<'a>(lead: &'a Lead, name: &str) -> Option<&'a str> {
    lead.record.get("entries")?.as_array()?.iter().find_map(|e| {
        let pair = e.as_array()?;
        (pair.first()?.as_str()? == name).then(|| pair.get(1)?.as_str()).flatten()
    })
}

/// The key a target can use to recognise a repeated delivery.
fn idempotency(lead: &Lead) -> &str {
    lead.idempotency_key.as_deref().unwrap_or(&lead.id)
}

/// The webhook's JSON payload: the lead's verdict and its answers under the target's names.
pub fn webhook_payload(target: &TargetConfig, lead: &Lead, now: i64) -> Json {
    let fields: Map<String, Json> = mapped(target, lead).into_iter().collect();
    json!({
        "type": "lead.received",
        "timestamp": jiff::Timestamp::from_millisecond(now).map(|t| t.to_string()).unwrap_or_default(),
        "data": {
            "id": lead.id,
            "idempotencyKey": idempotency(lead),
            "receivedAt": jiff::Timestamp::from_millisecond(lead.received_at).map(|t| t.to_string()).unwrap_or_default(),
            "stage": lead.stage,
            "knockout": lead.knockout,
            "score": lead.score,
            "grade": lead.grade,
            "groups": lead.record.get("groups"),
            "fired": lead.record.get("fired"),
            "rulesHash": lead.rules_hash,
            "claim": lead.claim_status,
            "consent": lead.consent,
            "fields": fields,
            "attribution": lead.record.get("entries"),
        }
    })
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under the secret's key (Standard Webhooks).
pub fn webhook_signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).ok()?;
    let mut m = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    m.update(format!("{id}.{timestamp}.").as_bytes());
    m.update(body.as_bytes());
    Some(format!("v1,{}", B64.encode(m.finalize().into_bytes())))
}

/// HubSpot's Forms API v3 submission.
pub fn hubspot_payload(target: &TargetConfig, lead: &Lead, consent_text: Option<&str>) -> Json {
    let fields: Vec<Json> = mapped(target, lead)
        .into_iter()
        .map(|(name, v)| json!({"objectTypeId": "0-1", "name": name, "value": text(&v)}))
        .collect();
    let mut context = Map::new();
    if let Some(h) = entry(lead, "hutk").or_else(|| entry(lead, "hubspotutk")) {
        context.insert("hutk".into(), json!(h));
    }
    if let Some(page) = entry(lead, "page_uri").or_else(|| lead.record.get("page").and_then(Json::as_str)) {
        context.insert("pageUri".into(), json!(page));
    }
    if let Some(name) = entry(lead, "page_name") {
        context.insert("pageName".into(), json!(name));
    }
    let mut body = json!({
        "submittedAt": lead.received_at.to_string(),
        "fields": fields,
        "context": context,
    });
    if let (Some(true), Some(text)) = (lead.consent, consent_text) {
        body["legalConsentOptions"] = json!({"consent": {"consentToProcess": true, "text": text}});
    }
    body
}

/// Salesforce Web-to-Lead's form: `oid`, then the mapped fields.
pub fn salesforce_form(target: &TargetConfig, lead: &Lead, oid: &str) -> Vec<(String, String)> {
    let mut form = vec![("oid".to_string(), oid.to_string())];
    form.extend(mapped(target, lead).into_iter().map(|(k, v)| (k, text(&v))));
    form
}

async fn send(app: &App, target: &TargetConfig, d: &Delivery, lead: &Lead) -> Result<(), String> {
    let key = idempotency(lead).to_string();
    let request = match &target.kind {
        TargetKind::Slack { url, template } => {
            let body = json!({ "text": message(app, template, lead, slack_escape) }).to_string();
            app.http.post(url).header("content-type", "application/json").body(body)
        }
        TargetKind::Email { url, from, to, to_owner, subject, template } => {
            return send_email(app, target, lead, EmailParts { url, from, to, to_owner: *to_owner, subject, template })
                .await;
        }
        TargetKind::Webhook { url, secret } => {
            let now = now_ms();
            let body = webhook_payload(target, lead, now).to_string();
            // One id per lead and target, the same on every attempt: the receiver's deduplication key.
            let id = format!("msg_{}_{}", lead.id, d.target);
            let ts = now / 1000;
            let sig = webhook_signature(secret, &id, ts, &body).ok_or("the webhook secret is not base64")?;
            app.http
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sig)
                .header("idempotency-key", key)
                .body(body)
        }
        TargetKind::Hubspot { portal_id, form_guid, url, consent_text } => {
            let base = url.as_deref().unwrap_or("https://api.hsforms.com").trim_end_matches('/');
            let endpoint = format!("{base}/submissions/v3/integration/submit/{portal_id}/{form_guid}");
            let body = hubspot_payload(target, lead, consent_text.as_deref()).to_string();
            app.http.post(endpoint).header("content-type", "application/json").header("idempotency-key", key).body(body)
        }
        TargetKind::Salesforce { oid, url } => {
            let endpoint =
                url.as_deref().unwrap_or("https://webto.salesforce.com/servlet/servlet.WebToLead?encoding=UTF-8");
            app.http.post(endpoint).header("idempotency-key", key).form(&salesforce_form(target, lead, oid))
        }
    };
    let res = request.send().await.map_err(|e| format!("{}: {e}", target.id))?;
    let status = res.status();
    if status.is_success() || status.is_redirection() {
        return Ok(());
    }
    let body = res.text().await.unwrap_or_default();
    let snippet: String = body.chars().take(200).collect();
    Err(format!("HTTP {}: {}", status.as_u16(), snippet.trim()))
}

struct EmailParts<'a> {
    url: &'a str,
    from: &'a str,
    to: &'a [String],
    to_owner: bool,
    subject: &'a str,
    template: &'a str,
}

/// One email to the target's recipients (and the lead's owner), with a Message-ID of the lead and the target:
/// the same on every attempt, so that a mail client shows a repeated delivery once.
async fn send_email(app: &App, target: &TargetConfig, lead: &Lead, e: EmailParts<'_>) -> Result<(), String> {
    use lettre::message::{header::ContentType, Mailbox};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let bad = |what: &str, err: &dyn std::fmt::Display| format!("{}: {what}: {err}", target.id);
    let mut to: Vec<Mailbox> = e.to.iter().map(|a| a.parse().map_err(|x| bad("to", &x))).collect::<Result<_, _>>()?;
    if e.to_owner {
        let owner = lead.work.owner.as_deref();
        if let Some(addr) =
            app.config.users.iter().find(|u| Some(u.name.as_str()) == owner).and_then(|u| u.email.as_ref())
        {
            to.push(addr.parse().map_err(|x| bad("the owner's email", &x))?);
        }
    }
    if to.is_empty() {
        // Routed only with an owner; the owner was removed from the configuration since.
        return Err(format!("{}: nobody to write to: the lead's owner has no email", target.id));
    }
    let mut m = Message::builder()
        .from(e.from.parse().map_err(|x| bad("from", &x))?)
        .subject(one_line(&message(app, e.subject, lead, one_line)))
        .message_id(Some(format!("<{}.{}@leadscore>", lead.id, target.id)))
        .header(ContentType::TEXT_PLAIN);
    for t in to {
        m = m.to(t);
    }
    let m = m.body(message(app, e.template, lead, str::to_string)).map_err(|x| bad("message", &x))?;
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(e.url)
        .map_err(|x| bad("url", &x))?
        .timeout(Some(Duration::from_millis(app.config.delivery.timeout_ms)))
        .build();
    smtp.send(m).await.map(|_| ()).map_err(|x| format!("SMTP: {x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_spec_example() {
        // The example of the Standard Webhooks specification.
        let sig = webhook_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = super::super::config::DeliveryConfig { backoff_ms: 1000, backoff_max_ms: 10_000, ..Default::default() };
        assert_eq!(backoff(&c, 1, 0), 1000);
        assert_eq!(backoff(&c, 2, 0), 2000);
        assert_eq!(backoff(&c, 3, 0), 4000);
        assert_eq!(backoff(&c, 9, 0), 10_000);
        let j = backoff(&c, 1, 50);
        assert!(j > 1000 && j <= 1100, "{j}");
    }

    #[test]
    fn routing() {
        let t = |id: &str, stages: &[&str], kos: &[&str]| TargetConfig {
            id: id.into(),
            kind: TargetKind::Salesforce { oid: "x".into(), url: None },
            stages: stages.iter().map(|s| s.to_string()).collect(),
            knockouts: kos.iter().map(|s| s.to_string()).collect(),
            fields: Default::default(),
            only_mapped: false,
            owners: if id == "ana's" { vec!["ana".into()] } else { vec![] },
        };
        let ts = [
            t("sales", &["sql"], &[]),
            t("nurture", &["mql", "lead"], &[]),
            t("all", &[], &[]),
            t("ko", &[], &["student"]),
            t("ana's", &["sql"], &[]),
        ];
        assert_eq!(route(&ts, "sql", None, None), ["sales", "all"]);
        assert_eq!(route(&ts, "sql", None, Some("bo")), ["sales", "all"]);
        assert_eq!(route(&ts, "sql", None, Some("ana")), ["sales", "all", "ana's"]);
        assert_eq!(route(&ts, "lead", None, Some("ana")), ["nurture", "all"]);
        assert_eq!(route(&ts, "disqualified", Some("student"), None), ["all", "ko"]);
    }
}

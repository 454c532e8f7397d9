//! The outbox worker: delivers stored leads to their targets, at least once, retrying with backoff. A lead's
//! deliveries were written with it, in one transaction; a delivery is leased while it is attempted, so a
//! worker that dies (kill -9) leaves it to be attempted again when the lease runs out.
//!
//! Targets: a generic webhook signed per the Standard Webhooks spec, HubSpot's Forms API v3, Salesforce
//! Web-to-Lead. Each gets the lead's answers under the target's own field names, and the lead's idempotency
//! key (or its id), so that a repeated delivery can be recognised.

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
pub fn route(targets: &[TargetConfig], stage: &str, reason: Option<&str>) -> Vec<String> {
    targets
        .iter()
        .filter(|t| {
            (t.stages.is_empty() && t.knockouts.is_empty())
                || t.stages.iter().any(|s| s == stage)
                || reason.is_some_and(|k| t.knockouts.iter().any(|x| x == k))
        })
        .map(|t| t.id.clone())
        .collect()
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
    let result = send(app, target, &d, &lead).await;
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
        };
        let ts = [
            t("sales", &["sql"], &[]),
            t("nurture", &["mql", "lead"], &[]),
            t("all", &[], &[]),
            t("ko", &[], &["student"]),
        ];
        assert_eq!(route(&ts, "sql", None), ["sales", "all"]);
        assert_eq!(route(&ts, "lead", None), ["nurture", "all"]);
        assert_eq!(route(&ts, "disqualified", Some("student")), ["all", "ko"]);
    }
}

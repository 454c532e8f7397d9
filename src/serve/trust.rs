//! What the receiver believes of a submission. Answers are the visitor's own declarations: the receiver
//! scores them itself. Behaviour events reported by the browser are *claims*: only an event that carries a
//! token the site signed counts toward the receiver's verdict; the rest are kept, flagged unverified, and
//! counted only in the "as claimed" evaluation shown beside it. A browser's claim is `verified` only when the
//! verdict confirms every number it sent.
//!
//! An event token is `v1.<event>.<at_ms>.<nonce>.<mac>`: the event id, when it happened (milliseconds since
//! 1970), a random nonce, and HMAC-SHA256 under a key derived from the site's secret, base64url. The site's
//! own backend hands tokens out (`leadscore token`, or the same HMAC in any language) when it sees the event
//! itself: a webinar platform's attendance callback, a booked meeting, a started trial.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value as Json};
use sha2::Sha256;

use crate::{Claim, Evaluation, Events, Issue, Options, Program, VerifyOptions};

type HmacSha256 = Hmac<Sha256>;

/// Keys derived from the site's secret, one per use, so that a value signed for one use means nothing in
/// another.
#[derive(Clone)]
pub struct Keys {
    events: Vec<u8>,
    ip: Vec<u8>,
    csrf: Vec<u8>,
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

impl Keys {
    pub fn new(secret: &[u8]) -> Keys {
        Keys {
            events: mac(secret, &[b"leadscore event token v1"]).to_vec(),
            ip: mac(secret, &[b"leadscore ip hash v1"]).to_vec(),
            csrf: mac(secret, &[b"leadscore csrf v1"]).to_vec(),
        }
    }

    /// A token for one occurrence of `event` at `at_ms`.
    pub fn mint(&self, event: &str, at_ms: i64, nonce: &str) -> String {
        let body = format!("v1.{event}.{at_ms}.{nonce}");
        let sig = B64.encode(mac(&self.events, &[body.as_bytes()]));
        format!("{body}.{sig}")
    }

    /// The event, time and nonce of a genuine token; why not, otherwise.
    pub fn check(&self, token: &str) -> Result<(String, i64, String), &'static str> {
        let (body, sig) = token.rsplit_once('.').ok_or("not a token")?;
        let sig = B64.decode(sig).map_err(|_| "not a token")?;
        let mut m = HmacSha256::new_from_slice(&self.events).expect("HMAC takes any key length");
        m.update(body.as_bytes());
        m.verify_slice(&sig).map_err(|_| "bad signature")?;
        let rest = body.strip_prefix("v1.").ok_or("unknown token version")?;
        let (rest, nonce) = rest.rsplit_once('.').ok_or("not a token")?;
        let (event, at) = rest.rsplit_once('.').ok_or("not a token")?;
        let at: i64 = at.parse().map_err(|_| "not a token")?;
        Ok((event.to_string(), at, nonce.to_string()))
    }

    /// The client's address, hashed: the same address gives the same hash under one secret.
    pub fn ip_hash(&self, ip: &str) -> String {
        hex(&mac(&self.ip, &[ip.as_bytes()])[..16])
    }

    /// The inbox's CSRF token of `user`.
    pub fn csrf(&self, user: &str) -> String {
        B64.encode(mac(&self.csrf, &[user.as_bytes()]))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How far an event's time may be ahead of the server's clock before it is clamped.
const FUTURE_SLACK_MS: f64 = 60_000.0;

/// One event of a submission, with what the receiver made of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    #[serde(rename = "type")]
    pub kind: String,
    /// The time counted, in milliseconds since 1970 (the token's for a vouched event).
    pub at: f64,
    /// `vouched` (a genuine token), `unverified` (a claim), or `refused` (not counted at all).
    pub trust: &'static str,
    /// Why an event is not vouched, or what was changed (`clamped: the time was in the future`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The receiver's reading of a submission's events.
pub struct ReadEvents {
    /// Only the vouched events: what the verdict counts.
    pub vouched: Events,
    /// Every event counted (vouched and unverified, future times clamped): the evaluation "as claimed".
    pub claimed: Events,
    pub records: Vec<EventRecord>,
    pub issues: Vec<Issue>,
    /// The nonces of the tokens of the vouched events.
    pub nonces: Vec<String>,
}

/// Reads the claimed events `[{type, at, token?}]` of a submission received at `now`. A token is vouched for
/// when its signature holds, it names the event, its time is at most `max_age_days` old and not in the future,
/// and it is not in `taken` (the nonces of tokens another lead has counted) nor used twice here.
pub fn read_events(
    p: &Program,
    keys: Option<&Keys>,
    value: &Json,
    now: f64,
    max_age_days: u32,
    taken: &std::collections::HashSet<String>,
) -> ReadEvents {
    let mut out = ReadEvents {
        vouched: Events::new(p),
        claimed: Events::new(p),
        records: vec![],
        issues: vec![],
        nonces: vec![],
    };
    let Json::Array(items) = value else {
        if !value.is_null() {
            out.issues.push(Issue {
                field: "events".into(),
                code: "type",
                message: "events are a list of {\"type\", \"at\"} objects".into(),
            });
        }
        return out;
    };
    let oldest = now - f64::from(max_age_days) * crate::DAY_MS;
    for (n, it) in items.iter().enumerate() {
        let kind = it.get("type").and_then(Json::as_str).unwrap_or("");
        let Some(e) = p.event_index(kind) else {
            out.issues.push(Issue {
                field: format!("events/{n}"),
                code: "unknown_event",
                message: format!("`{kind}` is not an event of this model; ignored"),
            });
            continue;
        };
        let claimed_at = it.get("at").and_then(Json::as_f64).filter(|t| t.is_finite());
        let token = it.get("token").and_then(Json::as_str);
        let mut record = EventRecord { kind: kind.to_string(), at: 0.0, trust: "unverified", note: None };
        if let Some(t) = token {
            match keys.ok_or("the receiver has no secret to check tokens").and_then(|k| k.check(t)) {
                Ok((event, at, nonce)) => {
                    let at = at as f64;
                    if event != kind {
                        record.note = Some(format!("the token is for `{event}`"));
                    } else if at > now + FUTURE_SLACK_MS {
                        record.note = Some("the token's time is in the future".into());
                    } else if at < oldest {
                        record.note = Some("the token is too old".into());
                    } else if taken.contains(&nonce) || out.nonces.contains(&nonce) {
                        record.trust = "refused";
                        record.at = at;
                        record.note = Some(if taken.contains(&nonce) {
                            // Copied from the page it was given to, or sent again with another lead.
                            "the token was already counted for another lead".into()
                        } else {
                            "the same token twice: counted once".into()
                        });
                        out.records.push(record);
                        continue;
                    } else {
                        record.trust = "vouched";
                        record.at = at;
                        out.nonces.push(nonce);
                        let _ = out.vouched.record(e, at);
                        let _ = out.claimed.record(e, at);
                        out.records.push(record);
                        continue;
                    }
                }
                Err(why) => record.note = Some(format!("token: {why}")),
            }
        }
        let Some(mut at) = claimed_at else {
            record.trust = "refused";
            record.note = Some("no time".into());
            out.records.push(record);
            continue;
        };
        if at > now + FUTURE_SLACK_MS {
            record.note = Some(format!("clamped: the time was {} ms in the future", (at - now) as i64));
            at = now;
        }
        record.at = at;
        let _ = out.claimed.record(e, at);
        out.records.push(record);
    }
    out
}

/// The receiver's verdict on a browser's claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimVerdict {
    /// `none` (no claim: the form was sent without the controller), `incomplete` (a claim without a score or
    /// a rules hash), `unknown_program` (scored with a program the receiver does not accept), `verified` (the
    /// verdict confirms every claimed number), `unvouched` (the numbers hold only if unverified events count),
    /// `mismatch` (they do not hold either way).
    pub status: &'static str,
    pub verified: bool,
    /// What differs between the claim and the verdict.
    pub mismatches: Vec<crate::Mismatch>,
}

/// Compares the claim with the verdict (`vouched`, counting only vouched events) and, when they differ, with
/// the evaluation as claimed (`claimed`, counting unverified events too).
pub fn judge(
    p: &Program,
    claim: Option<&Claim>,
    known_program: bool,
    vouched: &Evaluation,
    claimed: &Evaluation,
    opts: &VerifyOptions,
) -> ClaimVerdict {
    let Some(c) = claim else { return ClaimVerdict { status: "none", verified: false, mismatches: vec![] } };
    if c.rules_hash.is_none() || c.score.is_none() {
        return ClaimVerdict { status: "incomplete", verified: false, mismatches: vec![] };
    }
    if !known_program {
        let mismatches =
            vec![crate::Mismatch { what: "rules_hash".into(), claimed: json!(c.rules_hash), actual: json!(p.hash()) }];
        return ClaimVerdict { status: "unknown_program", verified: false, mismatches };
    }
    let m = p.mismatches(c, vouched, opts);
    if m.is_empty() {
        return ClaimVerdict { status: "verified", verified: true, mismatches: m };
    }
    let status = if p.mismatches(c, claimed, opts).is_empty() { "unvouched" } else { "mismatch" };
    ClaimVerdict { status, verified: false, mismatches: m }
}

/// The complete evaluation of a submitted form.
pub fn evaluate(p: &Program, answers: &crate::Answers, events: &Events, at: f64) -> Evaluation {
    p.evaluate(answers, events, at, &Options { complete: true, locale: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let k = Keys::new(b"0123456789abcdef0123");
        let t = k.mint("demo_request", 1_795_392_000_000, "n1");
        assert!(t.starts_with("v1.demo_request.1795392000000.n1."));
        assert_eq!(k.check(&t), Ok(("demo_request".into(), 1_795_392_000_000, "n1".into())));
        // Another secret, another event, another time: refused.
        assert_eq!(Keys::new(b"another secret of 16+").check(&t), Err("bad signature"));
        assert_eq!(k.check(&t.replace("demo_request", "webinar_attended")), Err("bad signature"));
        assert_eq!(k.check(&t.replace(".1795392000000.", ".4102444800000.")), Err("bad signature"));
        assert_eq!(k.check("v1.x"), Err("not a token"));
        assert_eq!(k.check("v1.a.b.c.!!"), Err("not a token"));
        assert_ne!(k.ip_hash("127.0.0.1"), k.ip_hash("127.0.0.2"));
        assert_eq!(k.ip_hash("127.0.0.1").len(), 32);
    }
}

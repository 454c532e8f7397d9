//! Where leads are kept: SQLite (embedded, the default) or PostgreSQL (several receivers behind a load
//! balancer), with one schema and versioned migrations for each. A lead and its deliveries are written in one
//! transaction (the outbox), before the receiver answers.

mod postgres;
mod sqlite;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A lead as stored: the columns that are queried, and the whole record as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// Sortable by time: 12 hex digits of milliseconds, then 20 random ones.
    pub id: String,
    /// The key the controller sent, so that a resubmission is the same lead.
    pub idempotency_key: Option<String>,
    /// When the receiver stored it, in milliseconds since 1970.
    pub received_at: i64,
    /// The program that scored it.
    pub rules_hash: String,
    pub model_id: String,
    /// The receiver's verdict: stage id, or `disqualified`.
    pub stage: String,
    pub knockout: Option<String>,
    /// The receiver's verdict: the total, counting only events it can vouch for.
    pub score: f64,
    pub grade: Option<String>,
    /// `none`, `incomplete`, `verified`, `unvouched`, `mismatch` or `unknown_program` (docs/serve.md).
    pub claim_status: String,
    pub consent: Option<bool>,
    /// HMAC-SHA256 of the client's address under the site's secret (hex): to count, never to read back.
    pub ip_hash: Option<String>,
    /// `won` or `lost`, set by sales in the inbox; `None` while open.
    pub outcome: Option<String>,
    pub outcome_at: Option<i64>,
    pub outcome_by: Option<String>,
    /// Everything else: answers, groups, fired rules, ledger, the claim and the verdict on it, events with
    /// their trust, the form's other entries (background and attribution), issues.
    pub record: Json,
}

/// One delivery of a lead to a target, in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub lead_id: String,
    pub target: String,
    /// `pending`, `delivered` or `failed` (attempts exhausted; it can be retried from the inbox).
    pub status: String,
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

/// A submission that was not taken as a lead, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    pub at: i64,
    /// `honeypot`, `too_fast`, `no_started`, `rate_limited`, `captcha`, `body`, ...
    pub reason: String,
    pub detail: String,
    pub ip_hash: Option<String>,
    /// The body as received (at most the body limit), so that a person wrongly taken for a bot is not lost.
    pub body: Option<String>,
}

/// What storing a lead did.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// A new lead, with its deliveries queued.
    New,
    /// A lead with this idempotency key exists: that one (nothing new was written).
    Duplicate(Box<Lead>),
    /// Another lead has counted these of its event tokens (by nonce): nothing was written.
    TokensTaken(Vec<String>),
}

/// A storage failure, with what was being done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// Which leads to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub stage: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// The store: one of the two databases.
#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl Store {
    /// Opens `sqlite:PATH` or `postgres://...`, and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            Ok(Store::Sqlite(sqlite::Sqlite::open(path).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(postgres::Postgres::open(url).await?))
        } else {
            Err(StoreError(format!("unknown database `{url}`: sqlite:PATH or postgres://user@host:port/database")))
        }
    }

    /// The schema version after migrations.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.schema_version().await,
            Store::Postgres(p) => p.schema_version().await,
        }
    }

    /// Writes a new lead, its deliveries (one per target) and the nonces of the event tokens it counted in one
    /// transaction; durable when it returns. Writes nothing when a lead with its idempotency key exists (that one
    /// is returned) or when another lead has counted one of its tokens (those are returned).
    pub async fn insert_lead(
        &self,
        lead: Lead,
        targets: Vec<String>,
        tokens: Vec<String>,
    ) -> Result<Stored, StoreError> {
        match self {
            Store::Sqlite(s) => s.insert_lead(lead, targets, tokens).await,
            Store::Postgres(p) => p.insert_lead(lead, targets, tokens).await,
        }
    }

    pub async fn reject(&self, r: Rejection) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.reject(r).await,
            Store::Postgres(p) => p.reject(r).await,
        }
    }

    /// Leases up to `limit` due deliveries to `targets` (pending, `next_at <= now`, not leased by another
    /// worker) until `now + lease_ms`, with their leads. A worker that dies leaves the lease to expire: at least
    /// once. Only the worker's own targets: receivers sharing a database with other targets leave each other's
    /// deliveries alone.
    pub async fn lease_due(
        &self,
        targets: &[String],
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<(Delivery, Lead)>, StoreError> {
        if targets.is_empty() {
            return Ok(vec![]);
        }
        match self {
            Store::Sqlite(s) => s.lease_due(targets, now, lease_ms, limit).await,
            Store::Postgres(p) => p.lease_due(targets, now, lease_ms, limit).await,
        }
    }

    /// Records an attempt: delivered, or failed with the next time (`None`: no more attempts).
    pub async fn attempted(
        &self,
        id: i64,
        now: i64,
        result: Result<(), String>,
        next_at: Option<i64>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.attempted(id, now, result, next_at).await,
            Store::Postgres(p) => p.attempted(id, now, result, next_at).await,
        }
    }

    /// Makes a failed delivery pending again, due now.
    pub async fn retry(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.retry(id, now).await,
            Store::Postgres(p) => p.retry(id, now).await,
        }
    }

    /// Leads, newest first.
    pub async fn leads(&self, filter: &Filter) -> Result<Vec<Lead>, StoreError> {
        match self {
            Store::Sqlite(s) => s.leads(filter).await,
            Store::Postgres(p) => p.leads(filter).await,
        }
    }

    pub async fn count_leads(&self) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.count("leads").await,
            Store::Postgres(p) => p.count("leads").await,
        }
    }

    pub async fn lead(&self, id: &str) -> Result<Option<Lead>, StoreError> {
        match self {
            Store::Sqlite(s) => s.lead(id).await,
            Store::Postgres(p) => p.lead(id).await,
        }
    }

    /// The deliveries of these leads.
    pub async fn deliveries(&self, lead_ids: &[String]) -> Result<Vec<Delivery>, StoreError> {
        match self {
            Store::Sqlite(s) => s.deliveries(lead_ids).await,
            Store::Postgres(p) => p.deliveries(lead_ids).await,
        }
    }

    /// Sets a lead's outcome (`won`, `lost`, or `None`: open again); false when there is no such lead.
    pub async fn set_outcome(&self, id: &str, outcome: Option<&str>, by: &str, at: i64) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.set_outcome(id, outcome, by, at).await,
            Store::Postgres(p) => p.set_outcome(id, outcome, by, at).await,
        }
    }

    /// Rejections, newest first.
    pub async fn rejections(&self, limit: i64) -> Result<Vec<Rejection>, StoreError> {
        match self {
            Store::Sqlite(s) => s.rejections(limit).await,
            Store::Postgres(p) => p.rejections(limit).await,
        }
    }

    pub async fn count_rejections(&self) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.count("rejections").await,
            Store::Postgres(p) => p.count("rejections").await,
        }
    }

    /// Remembers a published program (once per hash).
    pub async fn publish(&self, hash: &str, model_id: &str, bytes: &[u8], now: i64) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.publish(hash, model_id, bytes, now).await,
            Store::Postgres(p) => p.publish(hash, model_id, bytes, now).await,
        }
    }

    /// The newest published programs of model `model_id`: `(hash, bytes)`, newest first.
    pub async fn published(&self, model_id: &str, limit: i64) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        match self {
            Store::Sqlite(s) => s.published(model_id, limit).await,
            Store::Postgres(p) => p.published(model_id, limit).await,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.ping().await,
            Store::Postgres(p) => p.ping().await,
        }
    }
}

/// The JSON a record column holds, or `null` for a damaged one (a store is read even when one row is bad).
fn record_of(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or(Json::Null)
}

/// The columns of `leads`, in the order both stores select them.
const LEAD_COLUMNS: &str = "id, idempotency_key, received_at, rules_hash, model_id, stage, knockout, score, grade, \
     claim_status, consent, ip_hash, outcome, outcome_at, outcome_by, record";

const DELIVERY_COLUMNS: &str = "id, lead_id, target, status, attempts, next_at, last_error, delivered_at";

#[cfg(test)]
mod tests;

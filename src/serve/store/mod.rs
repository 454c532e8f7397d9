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
    /// Who the lead is, read from its answers when it is stored: what the inbox searches, filters and sorts by.
    #[serde(flatten)]
    pub facts: Facts,
    /// How sales are working it: owner and status.
    #[serde(flatten)]
    pub work: Work,
    /// Everything else: answers, groups, fired rules, ledger, the claim and the verdict on it, events with
    /// their trust, the form's other entries (background and attribution), issues.
    pub record: Json,
}

/// The columns of a lead that say who it is (`people::facts` reads them from the answers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub name: Option<String>,
    /// Lowercased.
    pub email: Option<String>,
    pub company: Option<String>,
    /// The email's domain, lowercased, unless it is a free mail provider's: colleagues share it.
    pub domain: Option<String>,
    /// ISO 3166-1 alpha-2, upper case, when the answers name a country.
    pub country: Option<String>,
    /// The campaign source (`utm_source`), else the referring site.
    pub source: Option<String>,
}

impl Facts {
    /// The words a search finds the lead by: name, email (whole and in parts), company and domain, lowercased,
    /// without accents, split at anything but letters and digits.
    pub fn search_text(&self) -> String {
        let parts = [&self.name, &self.email, &self.company, &self.domain];
        words(&parts.iter().filter_map(|p| p.as_deref()).collect::<Vec<_>>().join(" ")).join(" ")
    }
}

/// Text as search words: lowercased, without accents, split at anything but letters and digits.
pub fn words(text: &str) -> Vec<String> {
    crate::host::strip_accents(&text.to_lowercase())
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A lead's status in sales' hands; `Won` and `Lost` are its outcome, which the backtest learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    New,
    Contacted,
    MeetingBooked,
    NoShow,
    Won,
    Lost,
}

/// Every status with its id (stored, in URLs) and label, in the order a lead usually moves.
pub const STATUSES: [(Status, &str, &str); 6] = [
    (Status::New, "new", "New"),
    (Status::Contacted, "contacted", "Contacted"),
    (Status::MeetingBooked, "meeting_booked", "Meeting booked"),
    (Status::NoShow, "no_show", "No-show"),
    (Status::Won, "won", "Won"),
    (Status::Lost, "lost", "Lost"),
];

impl Status {
    pub fn parse(id: &str) -> Option<Status> {
        STATUSES.iter().find(|(_, i, _)| *i == id).map(|(s, _, _)| *s)
    }

    pub fn id(self) -> &'static str {
        STATUSES.iter().find(|(s, _, _)| *s == self).map_or("new", |(_, i, _)| i)
    }

    pub fn label(self) -> &'static str {
        STATUSES.iter().find(|(s, _, _)| *s == self).map_or("New", |(_, _, l)| l)
    }

    /// The label of a status id; an unknown id as it is.
    pub fn label_of(id: &str) -> &str {
        match Status::parse(id) {
            Some(s) => s.label(),
            None => id,
        }
    }

    /// The outcome this status records: `won`, `lost`, or none while the lead is open.
    pub fn outcome(self) -> Option<&'static str> {
        match self {
            Status::Won => Some("won"),
            Status::Lost => Some("lost"),
            Status::New | Status::Contacted | Status::MeetingBooked | Status::NoShow => None,
        }
    }
}

/// How sales are working a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Work {
    pub owner: Option<String>,
    /// A [`Status`] id.
    pub status: String,
    pub status_at: Option<i64>,
    pub status_by: Option<String>,
    /// Why a lost lead was lost (one of the configured reasons).
    pub lost_reason: Option<String>,
}

impl Default for Work {
    fn default() -> Self {
        Work { owner: None, status: "new".into(), status_at: None, status_by: None, lost_reason: None }
    }
}

/// A change to a lead by a user, as its history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub at: i64,
    pub by: String,
    pub what: Changed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Changed {
    /// A status id, and the reason for `lost`.
    Status {
        status: String,
        reason: Option<String>,
    },
    /// The new owner (`None`: nobody).
    Owner {
        owner: Option<String>,
    },
    Note {
        text: String,
    },
}

impl Changed {
    /// The columns of `lead_log`: what, value, reason.
    fn columns(&self) -> (&'static str, Option<&str>, Option<&str>) {
        match self {
            Changed::Status { status, reason } => ("status", Some(status), reason.as_deref()),
            Changed::Owner { owner } => ("owner", owner.as_deref(), None),
            Changed::Note { text } => ("note", Some(text), None),
        }
    }

    fn from_columns(what: &str, value: Option<String>, reason: Option<String>) -> Changed {
        match what {
            "status" => Changed::Status { status: value.unwrap_or_default(), reason },
            "owner" => Changed::Owner { owner: value },
            // The schema allows only these three.
            _ => Changed::Note { text: value.unwrap_or_default() },
        }
    }
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

/// Which leads to list, and in which order. Every condition is a column with an index (the search: SQLite's
/// FTS5 or PostgreSQL's text search), so that no lead is read to be filtered out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Words that the name, email, company or domain must contain (each as a word's beginning).
    pub search: Vec<String>,
    pub stage: Option<String>,
    pub status: Option<StatusFilter>,
    /// `Some(None)`: leads nobody owns.
    pub owner: Option<Option<String>>,
    /// Received at or after, in milliseconds.
    pub from: Option<i64>,
    /// Received before, in milliseconds.
    pub until: Option<i64>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    pub country: Option<String>,
    pub source: Option<String>,
    pub sort: Sort,
    pub limit: i64,
    pub offset: i64,
}

impl Filter {
    /// Every lead, newest first, `limit` from `offset`.
    pub fn page(limit: i64, offset: i64) -> Filter {
        Filter { limit, offset, ..Filter::default() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Is(Status),
    /// Neither won nor lost.
    Open,
}

/// The orders the list can be read in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Newest,
    Oldest,
    ScoreHigh,
    ScoreLow,
    Name,
    Company,
}

/// Every order with its id (in URLs), label and SQL.
pub const SORTS: [(Sort, &str, &str, &str); 6] = [
    (Sort::Newest, "newest", "Newest first", "received_at DESC, id DESC"),
    (Sort::Oldest, "oldest", "Oldest first", "received_at ASC, id ASC"),
    (Sort::ScoreHigh, "score", "Highest score", "score DESC, received_at DESC, id DESC"),
    (Sort::ScoreLow, "score_low", "Lowest score", "score ASC, received_at DESC, id DESC"),
    (Sort::Name, "name", "Name", "name IS NULL, name ASC, received_at DESC, id DESC"),
    (Sort::Company, "company", "Company", "company IS NULL, company ASC, received_at DESC, id DESC"),
];

impl Sort {
    pub fn parse(id: &str) -> Option<Sort> {
        SORTS.iter().find(|(_, i, _, _)| *i == id).map(|(s, _, _, _)| *s)
    }

    pub fn id(self) -> &'static str {
        SORTS.iter().find(|(s, _, _, _)| *s == self).map_or("newest", |(_, i, _, _)| i)
    }

    fn sql(self) -> &'static str {
        SORTS.iter().find(|(s, _, _, _)| *s == self).map_or("received_at DESC, id DESC", |(_, _, _, q)| q)
    }
}

/// A parameter of a built query.
#[derive(Debug, Clone, PartialEq)]
enum Param {
    Text(String),
    Int(i64),
    Real(f64),
}

/// How a store writes what differs between the two SQL dialects.
struct Dialect {
    /// The `n`th parameter (from 1).
    placeholder: fn(usize) -> String,
    /// The condition that the lead matches the search in parameter `p`.
    matches: fn(&str) -> String,
    /// The search parameter for these words.
    search: fn(&[String]) -> String,
}

/// The `WHERE` clause (with its parameters) of a filter: only columns, each compared with a parameter.
fn where_clause(f: &Filter, d: &Dialect) -> (String, Vec<Param>) {
    let mut conds: Vec<String> = vec![];
    let mut params: Vec<Param> = vec![];
    let mut add = |cond: &str, p: Param, conds: &mut Vec<String>| {
        params.push(p);
        conds.push(cond.replace('?', &(d.placeholder)(params.len())));
    };
    let words: Vec<String> = f.search.iter().flat_map(|w| words(w)).collect();
    if !words.is_empty() {
        add(&(d.matches)("?"), Param::Text((d.search)(&words)), &mut conds);
    }
    if let Some(s) = &f.stage {
        add("stage = ?", Param::Text(s.clone()), &mut conds);
    }
    match f.status {
        Some(StatusFilter::Is(s)) => add("status = ?", Param::Text(s.id().into()), &mut conds),
        Some(StatusFilter::Open) => conds.push("outcome IS NULL".into()),
        None => {}
    }
    match &f.owner {
        Some(Some(o)) => add("owner = ?", Param::Text(o.clone()), &mut conds),
        Some(None) => conds.push("owner IS NULL".into()),
        None => {}
    }
    if let Some(t) = f.from {
        add("received_at >= ?", Param::Int(t), &mut conds);
    }
    if let Some(t) = f.until {
        add("received_at < ?", Param::Int(t), &mut conds);
    }
    if let Some(s) = f.min_score {
        add("score >= ?", Param::Real(s), &mut conds);
    }
    if let Some(s) = f.max_score {
        add("score <= ?", Param::Real(s), &mut conds);
    }
    if let Some(c) = &f.country {
        add("country = ?", Param::Text(c.clone()), &mut conds);
    }
    if let Some(s) = &f.source {
        add("source = ?", Param::Text(s.clone()), &mut conds);
    }
    let clause = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
    (clause, params)
}

/// The values a filter's menus offer: the countries, sources and owners of stored leads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facets {
    pub countries: Vec<String>,
    pub sources: Vec<String>,
    pub owners: Vec<String>,
}

/// A lead sharing an email or a domain: id, email, domain, name.
type Sharing = (String, Option<String>, Option<String>, Option<String>);

/// Another lead that may be the same person or company.
#[derive(Debug, Clone, PartialEq)]
pub struct Twin {
    pub lead_id: String,
    /// The lead it resembles.
    pub of: String,
    /// `email` or `domain`.
    pub by: &'static str,
    /// The other lead's name.
    pub name: Option<String>,
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

    /// Changes a lead (its status, with the outcome that follows from it; its owner; or a note) and keeps the
    /// change in its history, in one transaction; false when there is no such lead.
    pub async fn change(&self, id: &str, change: Change) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.change(id, change).await,
            Store::Postgres(p) => p.change(id, change).await,
        }
    }

    /// A lead's changes, oldest first.
    pub async fn changes(&self, id: &str) -> Result<Vec<Change>, StoreError> {
        match self {
            Store::Sqlite(s) => s.changes(id).await,
            Store::Postgres(p) => p.changes(id).await,
        }
    }

    /// How many leads the filter matches (its limit and offset aside).
    pub async fn count_matching(&self, filter: &Filter) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.count_matching(filter).await,
            Store::Postgres(p) => p.count_matching(filter).await,
        }
    }

    /// The countries, sources and owners that stored leads have, each sorted.
    pub async fn facets(&self) -> Result<Facets, StoreError> {
        match self {
            Store::Sqlite(s) => s.facets().await,
            Store::Postgres(p) => p.facets().await,
        }
    }

    /// Other leads with the same email or company domain as these ones.
    pub async fn twins(&self, of: &[Lead]) -> Result<Vec<Twin>, StoreError> {
        let emails: Vec<String> = of.iter().filter_map(|l| l.facts.email.clone()).collect();
        let domains: Vec<String> = of.iter().filter_map(|l| l.facts.domain.clone()).collect();
        if emails.is_empty() && domains.is_empty() {
            return Ok(vec![]);
        }
        let found = match self {
            Store::Sqlite(s) => s.sharing(emails, domains).await?,
            Store::Postgres(p) => p.sharing(emails, domains).await?,
        };
        let mut twins = vec![];
        for l in of {
            for (id, email, domain, name) in &found {
                let by = if *id == l.id {
                    continue;
                } else if email.is_some() && *email == l.facts.email {
                    "email"
                } else if domain.is_some() && *domain == l.facts.domain {
                    "domain"
                } else {
                    continue;
                };
                twins.push(Twin { lead_id: id.clone(), of: l.id.clone(), by, name: name.clone() });
            }
        }
        Ok(twins)
    }

    /// The next turn of a round robin (0, 1, 2, ...), counted in the database so that receivers sharing it
    /// take turns together.
    pub async fn next_turn(&self, rule: &str) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.next_turn(rule).await,
            Store::Postgres(p) => p.next_turn(rule).await,
        }
    }

    /// Up to `limit` leads stored before their facts were kept (an older receiver's).
    pub async fn without_facts(&self, limit: i64) -> Result<Vec<Lead>, StoreError> {
        match self {
            Store::Sqlite(s) => s.without_facts(limit).await,
            Store::Postgres(p) => p.without_facts(limit).await,
        }
    }

    /// Keeps a lead's facts (and indexes them for the search).
    pub async fn set_facts(&self, id: &str, facts: Facts) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.set_facts(id, facts).await,
            Store::Postgres(p) => p.set_facts(id, facts).await,
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
     claim_status, consent, ip_hash, outcome, outcome_at, outcome_by, record, name, email, company, domain, country, \
     source, owner, status, status_at, status_by, lost_reason";

const DELIVERY_COLUMNS: &str = "id, lead_id, target, status, attempts, next_at, last_error, delivered_at";

#[cfg(test)]
mod tests;

//! The SQLite store: one file in WAL mode, written by one thread that commits waiting writes together (group
//! commit), so every lead is on disk (`synchronous = FULL`) before its request is answered without paying one
//! disk flush per lead. Reads go through a second connection and never wait for the writer.

use std::sync::{mpsc, Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{
    record_of, where_clause, Change, Changed, Delivery, Dialect, Facets, Facts, Filter, Lead, Param, Rejection,
    Sharing, Status, StoreError, Stored, Work, DELIVERY_COLUMNS, LEAD_COLUMNS,
};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/sqlite-0001.sql")),
    (2, include_str!("migrations/sqlite-0002.sql")),
    (3, include_str!("migrations/sqlite-0003.sql")),
];

/// SQLite's parameters, and the search through the FTS5 table: each word as a word's beginning.
const DIALECT: Dialect = Dialect {
    placeholder: |n| format!("?{n}"),
    matches: |p| format!("id IN (SELECT lead_id FROM lead_search WHERE lead_search MATCH {p})"),
    search: |words| words.iter().map(|w| format!("\"{w}\"*")).collect::<Vec<_>>().join(" AND "),
};

fn sql_params(params: &[Param]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(t) => rusqlite::types::Value::Text(t.clone()),
            Param::Int(i) => rusqlite::types::Value::Integer(*i),
            Param::Real(r) => rusqlite::types::Value::Real(*r),
        })
        .collect()
}

/// The most writes committed together.
const BATCH: usize = 256;

type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Connection, &mut Round) -> Reply + Send>;

/// What the writes of one round leave to its end.
#[derive(Default)]
struct Round {
    /// The words of the leads stored in this round, indexed together before the commit: FTS5 writes its pending
    /// words to disk at every savepoint, so each lead's words written with it would be a segment of their own.
    words: Vec<(String, String)>,
    /// Why the round is undone: a write run whole (without a savepoint of its own) failed.
    undone: Option<StoreError>,
}

/// How a write is run in its round.
#[derive(Clone, Copy)]
enum Run {
    /// In a savepoint of its own: one that fails is undone alone. Copying the pages it changes costs.
    Savepoint,
    /// Without a savepoint, for the writes that make every check before they write (storing a lead, the
    /// outbox's lease and attempts): one that fails all the same (a full disk, a broken file) undoes its round,
    /// whose writes are all answered with its error.
    Whole,
}

#[derive(Clone)]
pub struct Sqlite {
    jobs: mpsc::Sender<Job>,
    reader: Arc<Mutex<Connection>>,
}

fn err(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError(format!("sqlite: {what}: {e}"))
}

fn connect(path: &str) -> Result<Connection, StoreError> {
    let c = Connection::open(path).map_err(|e| StoreError(format!("sqlite: cannot open {path}: {e}")))?;
    c.busy_timeout(std::time::Duration::from_secs(10)).map_err(err("busy_timeout"))?;
    // Every statement of the writer's hot path stays parsed.
    c.set_prepared_statement_cache_capacity(64);
    c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(|e| StoreError(format!("sqlite: cannot use {path}: {e}")))?;
    Ok(c)
}

impl Sqlite {
    pub async fn open(path: &str) -> Result<Sqlite, StoreError> {
        let path = path.to_string();
        tokio::task::spawn_blocking(move || {
            let mut w = connect(&path)?;
            migrate(&mut w)?;
            let reader = connect(&path)?;
            let (jobs, rx) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("leadscore-sqlite".into())
                .spawn(move || writer(w, rx))
                .map_err(|e| StoreError(format!("sqlite: cannot start the writer: {e}")))?;
            Ok(Sqlite { jobs, reader: Arc::new(Mutex::new(reader)) })
        })
        .await
        .map_err(|e| StoreError(format!("sqlite: {e}")))?
    }

    /// Runs `f` in the writer's next transaction, in a savepoint of its own; its result once that transaction is
    /// committed.
    async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.run(Run::Savepoint, move |c, _| f(c)).await
    }

    async fn run<R: Send + 'static>(
        &self,
        how: Run,
        f: impl FnOnce(&Connection, &mut Round) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (job, rx) = job(how, f);
        self.jobs.send(job).map_err(|_| StoreError("sqlite: the writer has stopped".into()))?;
        rx.await.map_err(|_| StoreError("sqlite: the writer has stopped".into()))?
    }

    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let c = reader.lock().unwrap_or_else(|p| p.into_inner());
            f(&c)
        })
        .await
        .map_err(|e| StoreError(format!("sqlite: {e}")))?
    }

    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            c.query_row("SELECT max(version) FROM schema_migrations", [], |r| r.get(0)).map_err(err("schema version"))
        })
        .await
    }

    pub async fn insert_lead(
        &self,
        lead: Lead,
        targets: Vec<String>,
        tokens: Vec<String>,
    ) -> Result<Stored, StoreError> {
        // The record is written out here, and its tree freed here, not in the writer's thread.
        let mut lead = lead;
        let record = std::mem::take(&mut lead.record).to_string();
        let words = lead.facts.search_text();
        self.run(Run::Whole, move |c, round| {
            // One writer: what is read here cannot change before the inserts below, so the duplicate and the taken
            // tokens are found before anything is written, and nothing that can be refused is written.
            if lead.idempotency_key.is_some() {
                let q = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE idempotency_key = ?1");
                let old = c
                    .prepare_cached(&q)
                    .and_then(|mut st| st.query_row([&lead.idempotency_key], lead_row).optional())
                    .map_err(err("find duplicate"))?;
                if let Some(old) = old {
                    return Ok(Stored::Duplicate(Box::new(old)));
                }
            }
            let mut used =
                c.prepare_cached("SELECT 1 FROM event_tokens WHERE nonce = ?1").map_err(err("event tokens"))?;
            let mut taken = vec![];
            for t in &tokens {
                if used.exists([t]).map_err(err("event tokens"))? {
                    taken.push(t.clone());
                }
            }
            if !taken.is_empty() {
                return Ok(Stored::TokensTaken(taken));
            }
            let (f, w) = (&lead.facts, &lead.work);
            c.prepare_cached(
                "INSERT INTO leads (id, idempotency_key, received_at, rules_hash, model_id, stage, knockout, \
                     score, grade, claim_status, consent, ip_hash, outcome, outcome_at, outcome_by, record, \
                     name, email, company, domain, country, source, facts, owner, status, status_at, status_by, \
                     lost_reason) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
                     ?20, ?21, ?22, 1, ?23, ?24, ?25, ?26, ?27)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    lead.id,
                    lead.idempotency_key,
                    lead.received_at,
                    lead.rules_hash,
                    lead.model_id,
                    lead.stage,
                    lead.knockout,
                    lead.score,
                    lead.grade,
                    lead.claim_status,
                    lead.consent,
                    lead.ip_hash,
                    lead.outcome,
                    lead.outcome_at,
                    lead.outcome_by,
                    record,
                    f.name,
                    f.email,
                    f.company,
                    f.domain,
                    f.country,
                    f.source,
                    w.owner,
                    w.status,
                    w.status_at,
                    w.status_by,
                    w.lost_reason
                ])
            })
            .map_err(err("insert lead"))?;
            round.words.push((lead.id.clone(), words));
            let mut ins = c
                .prepare_cached(
                    "INSERT INTO deliveries (lead_id, target, status, next_at) VALUES (?1, ?2, 'pending', ?3)",
                )
                .map_err(err("insert delivery"))?;
            for t in &targets {
                ins.execute(params![lead.id, t, lead.received_at]).map_err(err("insert delivery"))?;
            }
            let mut ins = c
                .prepare_cached("INSERT INTO event_tokens (nonce, lead_id, at) VALUES (?1, ?2, ?3)")
                .map_err(err("event tokens"))?;
            for t in &tokens {
                ins.execute(params![t, lead.id, lead.received_at]).map_err(err("event tokens"))?;
            }
            Ok(Stored::New)
        })
        .await
    }

    pub async fn reject(&self, r: Rejection) -> Result<(), StoreError> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO rejections (at, reason, detail, ip_hash, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r.at, r.reason, r.detail, r.ip_hash, r.body],
            )
            .map_err(err("insert rejection"))?;
            Ok(())
        })
        .await
    }

    pub async fn lease_due(
        &self,
        targets: &[String],
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<(Delivery, Lead)>, StoreError> {
        let targets = serde_json::to_string(targets).unwrap_or_else(|_| "[]".into());
        let due = self
            .run(Run::Whole, move |c, _| {
                let q = format!(
                    "UPDATE deliveries SET leased_until = ?2 WHERE id IN (SELECT id FROM deliveries WHERE status = \
                     'pending' AND next_at <= ?1 AND leased_until <= ?1 AND target IN (SELECT value FROM \
                     json_each(?4)) ORDER BY next_at, id LIMIT ?3) RETURNING {DELIVERY_COLUMNS}"
                );
                let mut st = c.prepare_cached(&q).map_err(err("lease"))?;
                let due: Vec<Delivery> = st
                    .query_map(params![now, now + lease_ms, limit, targets], delivery_row)
                    .map_err(err("lease"))?
                    .collect::<Result<_, _>>()
                    .map_err(err("lease"))?;
                Ok(due)
            })
            .await?;
        // The leads are read (their records parsed) by the reader: the lease is committed, and a lead is stored
        // before its deliveries.
        self.read(move |c| {
            let q = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = ?1");
            let mut st = c.prepare_cached(&q).map_err(err("lease"))?;
            due.into_iter()
                .map(|d| st.query_row([&d.lead_id], lead_row).map(|lead| (d, lead)).map_err(err("lease")))
                .collect()
        })
        .await
    }

    pub async fn attempted(
        &self,
        id: i64,
        now: i64,
        result: Result<(), String>,
        next_at: Option<i64>,
    ) -> Result<(), StoreError> {
        self.run(Run::Whole, move |c, _| {
            match (result, next_at) {
                (Ok(()), _) => c
                    .prepare_cached(
                        "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?2, \
                         last_error = NULL, leased_until = 0 WHERE id = ?1",
                    )
                    .and_then(|mut st| st.execute(params![id, now])),
                (Err(e), Some(next)) => c
                    .prepare_cached(
                        "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, next_at = ?3, \
                         leased_until = 0 WHERE id = ?1",
                    )
                    .and_then(|mut st| st.execute(params![id, e, next])),
                (Err(e), None) => c
                    .prepare_cached(
                        "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?2, \
                         leased_until = 0 WHERE id = ?1",
                    )
                    .and_then(|mut st| st.execute(params![id, e])),
            }
            .map_err(err("record attempt"))?;
            Ok(())
        })
        .await
    }

    pub async fn retry(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        self.write(move |c| {
            let n = c
                .execute(
                    "UPDATE deliveries SET status = 'pending', next_at = ?2, leased_until = 0 WHERE id = ?1 AND \
                     status = 'failed'",
                    params![id, now],
                )
                .map_err(err("retry"))?;
            Ok(n > 0)
        })
        .await
    }

    pub async fn leads(&self, f: &Filter) -> Result<Vec<Lead>, StoreError> {
        let (clause, mut params) = where_clause(f, &DIALECT);
        let n = params.len();
        let q = format!(
            "SELECT {LEAD_COLUMNS} FROM leads{clause} ORDER BY {} LIMIT ?{} OFFSET ?{}",
            f.sort.sql(),
            n + 1,
            n + 2
        );
        params.extend([Param::Int(f.limit), Param::Int(f.offset)]);
        self.read(move |c| {
            let mut st = c.prepare_cached(&q).map_err(err("list leads"))?;
            let rows =
                st.query_map(rusqlite::params_from_iter(sql_params(&params)), lead_row).map_err(err("list leads"))?;
            rows.collect::<Result<_, _>>().map_err(err("list leads"))
        })
        .await
    }

    pub async fn count_matching(&self, f: &Filter) -> Result<i64, StoreError> {
        let (clause, params) = where_clause(f, &DIALECT);
        self.read(move |c| {
            c.query_row(
                &format!("SELECT count(*) FROM leads{clause}"),
                rusqlite::params_from_iter(sql_params(&params)),
                |r| r.get(0),
            )
            .map_err(err("count leads"))
        })
        .await
    }

    pub async fn facets(&self) -> Result<Facets, StoreError> {
        self.read(|c| {
            let values = |column: &str| -> Result<Vec<String>, StoreError> {
                let q = format!("SELECT DISTINCT {column} FROM leads WHERE {column} IS NOT NULL ORDER BY 1 LIMIT 500");
                let mut st = c.prepare_cached(&q).map_err(err("facets"))?;
                let rows = st.query_map([], |r| r.get(0)).map_err(err("facets"))?;
                rows.collect::<Result<_, _>>().map_err(err("facets"))
            };
            Ok(Facets { countries: values("country")?, sources: values("source")?, owners: values("owner")? })
        })
        .await
    }

    /// The leads with one of these emails or domains.
    pub async fn sharing(&self, emails: Vec<String>, domains: Vec<String>) -> Result<Vec<Sharing>, StoreError> {
        let emails = serde_json::to_string(&emails).unwrap_or_else(|_| "[]".into());
        let domains = serde_json::to_string(&domains).unwrap_or_else(|_| "[]".into());
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT id, email, domain, name FROM leads WHERE email IN (SELECT value FROM json_each(?1)) \
                     UNION SELECT id, email, domain, name FROM leads WHERE domain IN (SELECT value FROM json_each(?2)) \
                     LIMIT 5000",
                )
                .map_err(err("duplicates"))?;
            let rows = st
                .query_map(params![emails, domains], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(err("duplicates"))?;
            rows.collect::<Result<_, _>>().map_err(err("duplicates"))
        })
        .await
    }

    pub async fn change(&self, id: &str, change: Change) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.write(move |c| {
            let n = match &change.what {
                Changed::Status { status, reason } => {
                    let outcome = Status::parse(status).and_then(Status::outcome);
                    c.execute(
                        "UPDATE leads SET status = ?2, status_at = ?3, status_by = ?4, lost_reason = ?5, \
                         outcome = ?6, outcome_at = CASE WHEN ?6 IS NULL THEN NULL ELSE ?3 END, \
                         outcome_by = CASE WHEN ?6 IS NULL THEN NULL ELSE ?4 END WHERE id = ?1",
                        params![id, status, change.at, change.by, reason, outcome],
                    )
                }
                Changed::Owner { owner } => c.execute("UPDATE leads SET owner = ?2 WHERE id = ?1", params![id, owner]),
                Changed::Note { .. } => c
                    .query_row("SELECT count(*) FROM leads WHERE id = ?1", [&id], |r| r.get::<_, i64>(0))
                    .map(|n| n as usize),
            }
            .map_err(err("change lead"))?;
            if n == 0 {
                return Ok(false);
            }
            let (what, value, reason) = change.what.columns();
            c.execute(
                "INSERT INTO lead_log (lead_id, at, by_user, what, value, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, change.at, change.by, what, value, reason],
            )
            .map_err(err("change lead"))?;
            Ok(true)
        })
        .await
    }

    pub async fn changes(&self, id: &str) -> Result<Vec<Change>, StoreError> {
        let id = id.to_string();
        self.read(move |c| {
            let mut st = c
                .prepare_cached("SELECT at, by_user, what, value, reason FROM lead_log WHERE lead_id = ?1 ORDER BY id")
                .map_err(err("changes"))?;
            let rows = st
                .query_map([&id], |r| {
                    let what: String = r.get(2)?;
                    Ok(Change {
                        at: r.get(0)?,
                        by: r.get(1)?,
                        what: Changed::from_columns(&what, r.get(3)?, r.get(4)?),
                    })
                })
                .map_err(err("changes"))?;
            rows.collect::<Result<_, _>>().map_err(err("changes"))
        })
        .await
    }

    pub async fn next_turn(&self, rule: &str) -> Result<i64, StoreError> {
        let rule = rule.to_string();
        self.write(move |c| {
            c.query_row(
                "INSERT INTO turns (rule, next) VALUES (?1, 1) ON CONFLICT (rule) DO UPDATE SET next = next + 1 \
                 RETURNING next - 1",
                [&rule],
                |r| r.get(0),
            )
            .map_err(err("round robin"))
        })
        .await
    }

    pub async fn without_facts(&self, limit: i64) -> Result<Vec<Lead>, StoreError> {
        self.read(move |c| {
            let q = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE facts = 0 LIMIT ?1");
            let mut st = c.prepare_cached(&q).map_err(err("leads without facts"))?;
            let rows = st.query_map([limit], lead_row).map_err(err("leads without facts"))?;
            rows.collect::<Result<_, _>>().map_err(err("leads without facts"))
        })
        .await
    }

    pub async fn set_facts(&self, id: &str, f: Facts) -> Result<(), StoreError> {
        let id = id.to_string();
        self.run(Run::Savepoint, move |c, round| {
            let n = c
                .execute(
                    "UPDATE leads SET name = ?2, email = ?3, company = ?4, domain = ?5, country = ?6, source = ?7, \
                     facts = 1 WHERE id = ?1 AND facts = 0",
                    params![id, f.name, f.email, f.company, f.domain, f.country, f.source],
                )
                .map_err(err("set facts"))?;
            if n > 0 {
                round.words.push((id, f.search_text()));
            }
            Ok(())
        })
        .await
    }

    pub async fn count(&self, table: &'static str) -> Result<i64, StoreError> {
        self.read(move |c| {
            c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).map_err(err("count"))
        })
        .await
    }

    pub async fn lead(&self, id: &str) -> Result<Option<Lead>, StoreError> {
        let id = id.to_string();
        self.read(move |c| {
            let q = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = ?1");
            c.query_row(&q, [&id], lead_row).optional().map_err(err("read lead"))
        })
        .await
    }

    pub async fn deliveries(&self, lead_ids: &[String]) -> Result<Vec<Delivery>, StoreError> {
        let ids = lead_ids.to_vec();
        self.read(move |c| {
            let q = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE lead_id = ?1 ORDER BY id");
            let mut st = c.prepare_cached(&q).map_err(err("deliveries"))?;
            let mut out = vec![];
            for id in &ids {
                for d in st.query_map([id], delivery_row).map_err(err("deliveries"))? {
                    out.push(d.map_err(err("deliveries"))?);
                }
            }
            Ok(out)
        })
        .await
    }

    pub async fn rejections(&self, limit: i64) -> Result<Vec<Rejection>, StoreError> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT at, reason, detail, ip_hash, body FROM rejections ORDER BY at DESC, id DESC LIMIT ?1",
                )
                .map_err(err("rejections"))?;
            let rows = st
                .query_map([limit], |r| {
                    Ok(Rejection {
                        at: r.get(0)?,
                        reason: r.get(1)?,
                        detail: r.get(2)?,
                        ip_hash: r.get(3)?,
                        body: r.get(4)?,
                    })
                })
                .map_err(err("rejections"))?;
            rows.collect::<Result<_, _>>().map_err(err("rejections"))
        })
        .await
    }

    pub async fn publish(&self, hash: &str, model_id: &str, bytes: &[u8], now: i64) -> Result<(), StoreError> {
        let (hash, model_id, bytes) = (hash.to_string(), model_id.to_string(), bytes.to_vec());
        self.write(move |c| {
            c.execute(
                "INSERT INTO programs (hash, model_id, first_seen, bytes) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (hash) DO NOTHING",
                params![hash, model_id, now, bytes],
            )
            .map_err(err("publish"))?;
            Ok(())
        })
        .await
    }

    pub async fn published(&self, model_id: &str, limit: i64) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let model_id = model_id.to_string();
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT hash, bytes FROM programs WHERE model_id = ?1 ORDER BY first_seen DESC, hash LIMIT ?2",
                )
                .map_err(err("published"))?;
            let rows =
                st.query_map(params![model_id, limit], |r| Ok((r.get(0)?, r.get(1)?))).map_err(err("published"))?;
            rows.collect::<Result<_, _>>().map_err(err("published"))
        })
        .await
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(err("ping"))).await
    }
}

fn migrate(c: &mut Connection) -> Result<(), StoreError> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .map_err(err("migrations"))?;
    let have: i64 = c
        .query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| r.get(0))
        .map_err(err("migrations"))?;
    for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > have) {
        let t = c.transaction().map_err(err("migrations"))?;
        t.execute_batch(sql).map_err(|e| StoreError(format!("sqlite: migration {version}: {e}")))?;
        t.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, super::super::now_ms()],
        )
        .map_err(err("migrations"))?;
        t.commit().map_err(err("migrations"))?;
    }
    if let Some(&(latest, _)) = MIGRATIONS.last() {
        if have > latest {
            return Err(StoreError(format!(
                "sqlite: the database has schema version {have}, newer than this receiver's {latest}"
            )));
        }
    }
    Ok(())
}

/// Runs one statement without parameters, parsed once per connection.
fn statement(c: &Connection, sql: &str) -> Result<(), StoreError> {
    c.prepare_cached(sql).and_then(|mut st| st.execute([])).map(drop).map_err(err("transaction"))
}

/// A write as the writer runs it, and where its result arrives once its round is committed or undone.
fn job<R: Send + 'static>(
    how: Run,
    f: impl FnOnce(&Connection, &mut Round) -> Result<R, StoreError> + Send + 'static,
) -> (Job, tokio::sync::oneshot::Receiver<Result<R, StoreError>>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |c, round| {
        let r = match (&round.undone, how) {
            (Some(e), _) => Err(e.clone()),
            (None, Run::Whole) => {
                let r = f(c, round);
                if let Err(e) = &r {
                    round.undone = Some(e.clone());
                }
                r
            }
            (None, Run::Savepoint) => match statement(c, "SAVEPOINT job") {
                Err(e) => Err(e),
                Ok(()) => {
                    let words = round.words.len();
                    let r = f(c, round);
                    let end = match &r {
                        Ok(_) => statement(c, "RELEASE job"),
                        Err(_) => {
                            round.words.truncate(words);
                            statement(c, "ROLLBACK TO job").and_then(|_| statement(c, "RELEASE job"))
                        }
                    };
                    match end {
                        Ok(()) => r,
                        // What the write did cannot be told apart from the rest of the round.
                        Err(e) => {
                            round.undone = Some(e.clone());
                            Err(e)
                        }
                    }
                }
            },
        };
        Box::new(move |committed| {
            let _ = tx.send(committed.and(r));
        })
    });
    (job, rx)
}

/// The writer thread: each round takes every waiting write (up to [`BATCH`]) and runs them together.
fn writer(c: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        round(&c, batch);
    }
}

/// Runs writes in one transaction, indexes the words of the leads they stored, commits once, then answers them
/// all; if a write run whole failed, undoes them all instead.
fn round(c: &Connection, batch: Vec<Job>) {
    if let Err(e) = statement(c, "BEGIN IMMEDIATE") {
        // The writes are not run: dropping them answers each with an error.
        tracing::error!(error = %e, "sqlite: cannot begin a transaction");
        return;
    }
    let mut round = Round::default();
    let replies: Vec<Reply> = batch.into_iter().map(|job| job(c, &mut round)).collect();
    let committed = match round.undone.take() {
        Some(e) => Err(StoreError(format!("{e} (every write of its transaction was undone)"))),
        None => index_words(c, &round.words).and_then(|_| statement(c, "COMMIT")),
    };
    if let Err(e) = &committed {
        tracing::error!(error = %e, "sqlite: a round of writes is undone");
        let _ = c.execute_batch("ROLLBACK");
    }
    for r in replies {
        r(committed.clone());
    }
}

/// Writes the words leads are found by.
fn index_words(c: &Connection, words: &[(String, String)]) -> Result<(), StoreError> {
    let mut st =
        c.prepare_cached("INSERT INTO lead_search (lead_id, words) VALUES (?1, ?2)").map_err(err("search index"))?;
    for (id, text) in words {
        st.execute(params![id, text]).map_err(err("search index"))?;
    }
    Ok(())
}

fn lead_row(r: &Row) -> rusqlite::Result<Lead> {
    let consent: Option<i64> = r.get(10)?;
    let record: String = r.get(15)?;
    Ok(Lead {
        id: r.get(0)?,
        idempotency_key: r.get(1)?,
        received_at: r.get(2)?,
        rules_hash: r.get(3)?,
        model_id: r.get(4)?,
        stage: r.get(5)?,
        knockout: r.get(6)?,
        score: r.get(7)?,
        grade: r.get(8)?,
        claim_status: r.get(9)?,
        consent: consent.map(|c| c != 0),
        ip_hash: r.get(11)?,
        outcome: r.get(12)?,
        outcome_at: r.get(13)?,
        outcome_by: r.get(14)?,
        record: record_of(&record),
        facts: Facts {
            name: r.get(16)?,
            email: r.get(17)?,
            company: r.get(18)?,
            domain: r.get(19)?,
            country: r.get(20)?,
            source: r.get(21)?,
        },
        work: Work {
            owner: r.get(22)?,
            status: r.get(23)?,
            status_at: r.get(24)?,
            status_by: r.get(25)?,
            lost_reason: r.get(26)?,
        },
    })
}

fn delivery_row(r: &Row) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        lead_id: r.get(1)?,
        target: r.get(2)?,
        status: r.get(3)?,
        attempts: r.get(4)?,
        next_at: r.get(5)?,
        last_error: r.get(6)?,
        delivered_at: r.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(rule: &'static str, how: Run) -> (Job, tokio::sync::oneshot::Receiver<Result<(), StoreError>>) {
        job(how, move |c, _| {
            c.execute("INSERT INTO turns (rule, next) VALUES (?1, 1)", [rule]).map(drop).map_err(err("turn"))
        })
    }

    fn words(
        id: &'static str,
        text: &'static str,
        fail: bool,
    ) -> (Job, tokio::sync::oneshot::Receiver<Result<(), StoreError>>) {
        job(Run::Savepoint, move |_, round| {
            round.words.push((id.into(), text.into()));
            if fail {
                return Err(StoreError("refused".into()));
            }
            Ok(())
        })
    }

    fn count(c: &Connection, q: &str) -> i64 {
        c.query_row(q, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_round_undoes_one_write_or_all_of_them() {
        let dir =
            std::env::temp_dir().join(format!("leadscore-round-{}-{}", std::process::id(), crate::serve::now_ms()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = connect(dir.join("leads.db").to_str().unwrap()).unwrap();
        migrate(&mut c).unwrap();

        // In savepoints: the write that fails is undone alone.
        let (a, mut ra) = turn("a", Run::Savepoint);
        let (b, mut rb) = turn("a", Run::Savepoint);
        let (d, mut rd) = turn("b", Run::Savepoint);
        round(&c, vec![a, b, d]);
        assert!(ra.try_recv().unwrap().is_ok());
        assert!(rb.try_recv().unwrap().unwrap_err().0.contains("UNIQUE constraint failed: turns.rule"));
        assert!(rd.try_recv().unwrap().is_ok());
        assert_eq!(count(&c, "SELECT count(*) FROM turns"), 2);

        // Run whole: one that fails undoes the writes before it and answers those after it, with its error.
        let (a, mut ra) = turn("c", Run::Whole);
        let (b, mut rb) = turn("a", Run::Whole);
        let (d, mut rd) = turn("d", Run::Savepoint);
        round(&c, vec![a, b, d]);
        for r in [&mut ra, &mut rb, &mut rd] {
            let e = r.try_recv().unwrap().unwrap_err().0;
            assert!(e.contains("UNIQUE constraint failed: turns.rule"), "{e}");
            assert!(e.contains("every write of its transaction was undone"), "{e}");
        }
        assert_eq!(count(&c, "SELECT count(*) FROM turns"), 2);
        assert!(c.is_autocommit(), "the undone transaction is closed");

        // The next round is committed, and its words are indexed at its end, but not those of a write undone.
        let (a, mut ra) = turn("c", Run::Whole);
        let (b, mut rb) = words("lead-1", "ada lovelace", false);
        let (d, mut rd) = words("lead-2", "ada byron", true);
        round(&c, vec![a, b, d]);
        assert!(ra.try_recv().unwrap().is_ok());
        assert!(rb.try_recv().unwrap().is_ok());
        assert_eq!(rd.try_recv().unwrap().unwrap_err().0, "refused");
        assert_eq!(count(&c, "SELECT count(*) FROM turns"), 3);
        let found: Vec<String> = c
            .prepare("SELECT lead_id FROM lead_search WHERE lead_search MATCH 'ada*'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(found, ["lead-1"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

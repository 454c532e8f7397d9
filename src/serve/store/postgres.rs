//! The PostgreSQL store: the same schema as SQLite's, for several receivers sharing one database. Deliveries
//! are leased with `FOR UPDATE SKIP LOCKED`, so two workers never hold the same one.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Row};

use tokio_postgres::types::ToSql;

use super::{
    record_of, where_clause, Change, Changed, Delivery, Dialect, Facets, Facts, Filter, Lead, Param, Rejection,
    Sharing, Status, StoreError, Stored, Work, DELIVERY_COLUMNS, LEAD_COLUMNS,
};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/postgres-0001.sql")),
    (2, include_str!("migrations/postgres-0002.sql")),
    (3, include_str!("migrations/postgres-0003.sql")),
];

/// PostgreSQL's parameters, and the search through the leads' text search vector: each word as a prefix.
const DIALECT: Dialect = Dialect {
    placeholder: |n| format!("${n}"),
    matches: |p| format!("search_vector @@ to_tsquery('simple', {p})"),
    search: |words| words.iter().map(|w| format!("{w}:*")).collect::<Vec<_>>().join(" & "),
};

fn sql_params(params: &[Param]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::Text(t) => Box::new(t.clone()),
                Param::Int(i) => Box::new(*i),
                Param::Real(r) => Box::new(*r),
            }
        })
        .collect()
}

fn refs(params: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// Any number above this many concurrent receivers' migrations is one lock: they take turns.
const MIGRATION_LOCK: i64 = 0x6c65_6164_7363;

#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
}

fn err(what: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| {
        let detail = e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string());
        StoreError(format!("postgres: {what}: {detail}"))
    }
}

fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError(format!("postgres: cannot connect: {e}"))
}

impl Postgres {
    pub async fn open(url: &str) -> Result<Postgres, StoreError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError(format!("postgres: bad database URL: {e}")))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(16).build().map_err(|e| StoreError(format!("postgres: {e}")))?;
        let p = Postgres { pool };
        p.migrate().await?;
        Ok(p)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut c = self.pool.get().await.map_err(pool_err)?;
        let t = c.transaction().await.map_err(err("migrations"))?;
        t.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(err("migrations"))?;
        t.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(err("migrations"))?;
        let have: i64 = t
            .query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])
            .await
            .map_err(err("migrations"))?
            .get(0);
        if let Some(&(latest, _)) = MIGRATIONS.last() {
            if have > latest {
                return Err(StoreError(format!(
                    "postgres: the database has schema version {have}, newer than this receiver's {latest}"
                )));
            }
        }
        for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > have) {
            t.batch_execute(sql).await.map_err(|e| StoreError(format!("postgres: migration {version}: {e}")))?;
            t.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[&version, &super::super::now_ms()],
            )
            .await
            .map_err(err("migrations"))?;
        }
        t.commit().await.map_err(err("migrations"))?;
        Ok(())
    }

    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let r = c.query_one("SELECT max(version) FROM schema_migrations", &[]).await.map_err(err("schema version"))?;
        Ok(r.get(0))
    }

    pub async fn insert_lead(
        &self,
        lead: Lead,
        targets: Vec<String>,
        tokens: Vec<String>,
    ) -> Result<Stored, StoreError> {
        let mut c = self.pool.get().await.map_err(pool_err)?;
        let t = c.transaction().await.map_err(err("insert lead"))?;
        let record = lead.record.to_string();
        let (f, w) = (&lead.facts, &lead.work);
        let n = t
            .execute(
                "INSERT INTO leads (id, idempotency_key, received_at, rules_hash, model_id, stage, knockout, score, \
                 grade, claim_status, consent, ip_hash, outcome, outcome_at, outcome_by, record, name, email, \
                 company, domain, country, source, facts, owner, status, status_at, status_by, lost_reason, search) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                 $21, $22, 1, $23, $24, $25, $26, $27, $28) \
                 ON CONFLICT (idempotency_key) DO NOTHING",
                &[
                    &lead.id,
                    &lead.idempotency_key,
                    &lead.received_at,
                    &lead.rules_hash,
                    &lead.model_id,
                    &lead.stage,
                    &lead.knockout,
                    &lead.score,
                    &lead.grade,
                    &lead.claim_status,
                    &lead.consent,
                    &lead.ip_hash,
                    &lead.outcome,
                    &lead.outcome_at,
                    &lead.outcome_by,
                    &record,
                    &f.name,
                    &f.email,
                    &f.company,
                    &f.domain,
                    &f.country,
                    &f.source,
                    &w.owner,
                    &w.status,
                    &w.status_at,
                    &w.status_by,
                    &w.lost_reason,
                    &f.search_text(),
                ],
            )
            .await
            .map_err(err("insert lead"))?;
        if n == 0 {
            let q = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE idempotency_key = $1");
            let row = t.query_one(&q, &[&lead.idempotency_key]).await.map_err(err("find duplicate"))?;
            return Ok(Stored::Duplicate(Box::new(lead_row(&row))));
        }
        let ins = t
            .prepare("INSERT INTO deliveries (lead_id, target, status, next_at) VALUES ($1, $2, 'pending', $3)")
            .await
            .map_err(err("insert delivery"))?;
        for target in &targets {
            t.execute(&ins, &[&lead.id, target, &lead.received_at]).await.map_err(err("insert delivery"))?;
        }
        // A lead storing the same token at the same time waits here for this transaction, then finds it taken.
        let mut taken = vec![];
        for token in &tokens {
            let n = t
                .execute(
                    "INSERT INTO event_tokens (nonce, lead_id, at) VALUES ($1, $2, $3) ON CONFLICT (nonce) DO NOTHING",
                    &[token, &lead.id, &lead.received_at],
                )
                .await
                .map_err(err("event tokens"))?;
            if n == 0 {
                taken.push(token.clone());
            }
        }
        if !taken.is_empty() {
            // Dropping the transaction rolls the lead back.
            return Ok(Stored::TokensTaken(taken));
        }
        t.commit().await.map_err(err("commit lead"))?;
        Ok(Stored::New)
    }

    pub async fn reject(&self, r: Rejection) -> Result<(), StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        c.execute(
            "INSERT INTO rejections (at, reason, detail, ip_hash, body) VALUES ($1, $2, $3, $4, $5)",
            &[&r.at, &r.reason, &r.detail, &r.ip_hash, &r.body],
        )
        .await
        .map_err(err("insert rejection"))?;
        Ok(())
    }

    pub async fn lease_due(
        &self,
        targets: &[String],
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<(Delivery, Lead)>, StoreError> {
        let mut c = self.pool.get().await.map_err(pool_err)?;
        let t = c.transaction().await.map_err(err("lease"))?;
        let q = format!(
            "UPDATE deliveries SET leased_until = $2 WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' \
             AND next_at <= $1 AND leased_until <= $1 AND target = ANY($4) ORDER BY next_at, id LIMIT $3 \
             FOR UPDATE SKIP LOCKED) \
             RETURNING {DELIVERY_COLUMNS}"
        );
        let due: Vec<Delivery> = t
            .query(&q, &[&now, &(now + lease_ms), &limit, &targets])
            .await
            .map_err(err("lease"))?
            .iter()
            .map(delivery_row)
            .collect();
        let q = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = $1");
        let mut out = vec![];
        for d in due {
            let row = t.query_one(&q, &[&d.lead_id]).await.map_err(err("lease"))?;
            out.push((d, lead_row(&row)));
        }
        t.commit().await.map_err(err("lease"))?;
        Ok(out)
    }

    pub async fn attempted(
        &self,
        id: i64,
        now: i64,
        result: Result<(), String>,
        next_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        match (result, next_at) {
            (Ok(()), _) => {
                c.execute(
                    "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $2, \
                     last_error = NULL, leased_until = 0 WHERE id = $1",
                    &[&id, &now],
                )
                .await
            }
            (Err(e), Some(next)) => {
                c.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, last_error = $2, next_at = $3, leased_until = 0 \
                     WHERE id = $1",
                    &[&id, &e, &next],
                )
                .await
            }
            (Err(e), None) => {
                c.execute(
                    "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = $2, \
                     leased_until = 0 WHERE id = $1",
                    &[&id, &e],
                )
                .await
            }
        }
        .map_err(err("record attempt"))?;
        Ok(())
    }

    pub async fn retry(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let n = c
            .execute(
                "UPDATE deliveries SET status = 'pending', next_at = $2, leased_until = 0 WHERE id = $1 AND \
                 status = 'failed'",
                &[&id, &now],
            )
            .await
            .map_err(err("retry"))?;
        Ok(n > 0)
    }

    pub async fn leads(&self, f: &Filter) -> Result<Vec<Lead>, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let (clause, mut params) = where_clause(f, &DIALECT);
        let n = params.len();
        let q = format!(
            "SELECT {LEAD_COLUMNS} FROM leads{clause} ORDER BY {} LIMIT ${} OFFSET ${}",
            f.sort.sql(),
            n + 1,
            n + 2
        );
        params.extend([Param::Int(f.limit), Param::Int(f.offset)]);
        let params = sql_params(&params);
        let rows = c.query(&q, &refs(&params)).await.map_err(err("list leads"))?;
        Ok(rows.iter().map(lead_row).collect())
    }

    pub async fn count_matching(&self, f: &Filter) -> Result<i64, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let (clause, params) = where_clause(f, &DIALECT);
        let params = sql_params(&params);
        let r = c
            .query_one(&format!("SELECT count(*) FROM leads{clause}"), &refs(&params))
            .await
            .map_err(err("count leads"))?;
        Ok(r.get(0))
    }

    pub async fn facets(&self) -> Result<Facets, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let mut out = Facets::default();
        for (column, into) in
            [("country", &mut out.countries), ("source", &mut out.sources), ("owner", &mut out.owners)]
        {
            let q = format!("SELECT DISTINCT {column} FROM leads WHERE {column} IS NOT NULL ORDER BY 1 LIMIT 500");
            *into = c.query(&q, &[]).await.map_err(err("facets"))?.iter().map(|r| r.get(0)).collect();
        }
        Ok(out)
    }

    /// The leads with one of these emails or domains.
    pub async fn sharing(&self, emails: Vec<String>, domains: Vec<String>) -> Result<Vec<Sharing>, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let rows = c
            .query(
                "SELECT id, email, domain, name FROM leads WHERE email = ANY($1) \
                 UNION SELECT id, email, domain, name FROM leads WHERE domain = ANY($2) LIMIT 5000",
                &[&emails, &domains],
            )
            .await
            .map_err(err("duplicates"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
    }

    pub async fn change(&self, id: &str, change: Change) -> Result<bool, StoreError> {
        let mut c = self.pool.get().await.map_err(pool_err)?;
        let t = c.transaction().await.map_err(err("change lead"))?;
        let n = match &change.what {
            Changed::Status { status, reason } => {
                let outcome = Status::parse(status).and_then(Status::outcome);
                t.execute(
                    "UPDATE leads SET status = $2, status_at = $3, status_by = $4, lost_reason = $5, \
                     outcome = $6::TEXT, outcome_at = CASE WHEN $6::TEXT IS NULL THEN NULL ELSE $3::BIGINT END, \
                     outcome_by = CASE WHEN $6::TEXT IS NULL THEN NULL ELSE $4::TEXT END WHERE id = $1",
                    &[&id, status, &change.at, &change.by, reason, &outcome],
                )
                .await
            }
            Changed::Owner { owner } => t.execute("UPDATE leads SET owner = $2 WHERE id = $1", &[&id, owner]).await,
            Changed::Note { .. } => t.execute("SELECT 1 FROM leads WHERE id = $1 FOR UPDATE", &[&id]).await,
        }
        .map_err(err("change lead"))?;
        if n == 0 {
            return Ok(false);
        }
        let (what, value, reason) = change.what.columns();
        t.execute(
            "INSERT INTO lead_log (lead_id, at, by_user, what, value, reason) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&id, &change.at, &change.by, &what, &value, &reason],
        )
        .await
        .map_err(err("change lead"))?;
        t.commit().await.map_err(err("change lead"))?;
        Ok(true)
    }

    pub async fn changes(&self, id: &str) -> Result<Vec<Change>, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let rows = c
            .query("SELECT at, by_user, what, value, reason FROM lead_log WHERE lead_id = $1 ORDER BY id", &[&id])
            .await
            .map_err(err("changes"))?;
        Ok(rows
            .iter()
            .map(|r| {
                let what: String = r.get(2);
                Change { at: r.get(0), by: r.get(1), what: Changed::from_columns(&what, r.get(3), r.get(4)) }
            })
            .collect())
    }

    pub async fn next_turn(&self, rule: &str) -> Result<i64, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let r = c
            .query_one(
                "INSERT INTO turns (rule, next) VALUES ($1, 1) ON CONFLICT (rule) DO UPDATE SET next = turns.next + 1 \
                 RETURNING next - 1",
                &[&rule],
            )
            .await
            .map_err(err("round robin"))?;
        Ok(r.get(0))
    }

    pub async fn without_facts(&self, limit: i64) -> Result<Vec<Lead>, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let q = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE facts = 0 LIMIT $1");
        let rows = c.query(&q, &[&limit]).await.map_err(err("leads without facts"))?;
        Ok(rows.iter().map(lead_row).collect())
    }

    pub async fn set_facts(&self, id: &str, f: Facts) -> Result<(), StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        c.execute(
            "UPDATE leads SET name = $2, email = $3, company = $4, domain = $5, country = $6, source = $7, \
             search = $8, facts = 1 WHERE id = $1 AND facts = 0",
            &[&id, &f.name, &f.email, &f.company, &f.domain, &f.country, &f.source, &f.search_text()],
        )
        .await
        .map_err(err("set facts"))?;
        Ok(())
    }

    pub async fn count(&self, table: &'static str) -> Result<i64, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let r = c.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.map_err(err("count"))?;
        Ok(r.get(0))
    }

    pub async fn lead(&self, id: &str) -> Result<Option<Lead>, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let q = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = $1");
        let row = c.query_opt(&q, &[&id]).await.map_err(err("read lead"))?;
        Ok(row.as_ref().map(lead_row))
    }

    pub async fn deliveries(&self, lead_ids: &[String]) -> Result<Vec<Delivery>, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let q = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE lead_id = ANY($1) ORDER BY lead_id, id");
        let rows = c.query(&q, &[&lead_ids]).await.map_err(err("deliveries"))?;
        Ok(rows.iter().map(delivery_row).collect())
    }

    pub async fn rejections(&self, limit: i64) -> Result<Vec<Rejection>, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let rows = c
            .query(
                "SELECT at, reason, detail, ip_hash, body FROM rejections ORDER BY at DESC, id DESC LIMIT $1",
                &[&limit],
            )
            .await
            .map_err(err("rejections"))?;
        Ok(rows
            .iter()
            .map(|r| Rejection { at: r.get(0), reason: r.get(1), detail: r.get(2), ip_hash: r.get(3), body: r.get(4) })
            .collect())
    }

    pub async fn publish(&self, hash: &str, model_id: &str, bytes: &[u8], now: i64) -> Result<(), StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        c.execute(
            "INSERT INTO programs (hash, model_id, first_seen, bytes) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING",
            &[&hash, &model_id, &now, &bytes],
        )
        .await
        .map_err(err("publish"))?;
        Ok(())
    }

    pub async fn published(&self, model_id: &str, limit: i64) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let rows = c
            .query(
                "SELECT hash, bytes FROM programs WHERE model_id = $1 ORDER BY first_seen DESC, hash LIMIT $2",
                &[&model_id, &limit],
            )
            .await
            .map_err(err("published"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let c = self.pool.get().await.map_err(pool_err)?;
        c.query_one("SELECT 1", &[]).await.map_err(err("ping"))?;
        Ok(())
    }
}

fn lead_row(r: &Row) -> Lead {
    let record: String = r.get(15);
    Lead {
        id: r.get(0),
        idempotency_key: r.get(1),
        received_at: r.get(2),
        rules_hash: r.get(3),
        model_id: r.get(4),
        stage: r.get(5),
        knockout: r.get(6),
        score: r.get(7),
        grade: r.get(8),
        claim_status: r.get(9),
        consent: r.get(10),
        ip_hash: r.get(11),
        outcome: r.get(12),
        outcome_at: r.get(13),
        outcome_by: r.get(14),
        record: record_of(&record),
        facts: Facts {
            name: r.get(16),
            email: r.get(17),
            company: r.get(18),
            domain: r.get(19),
            country: r.get(20),
            source: r.get(21),
        },
        work: Work {
            owner: r.get(22),
            status: r.get(23),
            status_at: r.get(24),
            status_by: r.get(25),
            lost_reason: r.get(26),
        },
    }
}

fn delivery_row(r: &Row) -> Delivery {
    Delivery {
        id: r.get(0),
        lead_id: r.get(1),
        target: r.get(2),
        status: r.get(3),
        attempts: r.get(4),
        next_at: r.get(5),
        last_error: r.get(6),
        delivered_at: r.get(7),
    }
}

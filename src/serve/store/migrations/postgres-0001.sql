-- leadscore receiver, schema version 1 (PostgreSQL). The same tables and columns as sqlite-0001.sql.
CREATE TABLE leads (
  id              TEXT PRIMARY KEY,
  idempotency_key TEXT UNIQUE,
  received_at     BIGINT NOT NULL,
  rules_hash      TEXT NOT NULL,
  model_id        TEXT NOT NULL,
  stage           TEXT NOT NULL,
  knockout        TEXT,
  score           DOUBLE PRECISION NOT NULL,
  grade           TEXT,
  claim_status    TEXT NOT NULL,
  consent         BOOLEAN,
  ip_hash         TEXT,
  outcome         TEXT CHECK (outcome IN ('won', 'lost')),
  outcome_at      BIGINT,
  outcome_by      TEXT,
  record          TEXT NOT NULL
);
CREATE INDEX leads_received ON leads (received_at DESC, id DESC);
CREATE INDEX leads_stage ON leads (stage, received_at DESC);

CREATE TABLE deliveries (
  id           BIGSERIAL PRIMARY KEY,
  lead_id      TEXT NOT NULL REFERENCES leads (id),
  target       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts     BIGINT NOT NULL DEFAULT 0,
  next_at      BIGINT NOT NULL,
  leased_until BIGINT NOT NULL DEFAULT 0,
  last_error   TEXT,
  delivered_at BIGINT,
  UNIQUE (lead_id, target)
);
CREATE INDEX deliveries_due ON deliveries (status, next_at);

CREATE TABLE rejections (
  id      BIGSERIAL PRIMARY KEY,
  at      BIGINT NOT NULL,
  reason  TEXT NOT NULL,
  detail  TEXT NOT NULL,
  ip_hash TEXT,
  body    TEXT
);
CREATE INDEX rejections_at ON rejections (at DESC);

CREATE TABLE programs (
  hash       TEXT PRIMARY KEY,
  model_id   TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  bytes      BYTEA NOT NULL
);
CREATE INDEX programs_model ON programs (model_id, first_seen DESC);

-- leadscore receiver, schema version 2 (PostgreSQL). The same tables and columns as sqlite-0002.sql.
-- The event tokens counted, by nonce: a token counts for one lead only.
CREATE TABLE event_tokens (
  nonce   TEXT PRIMARY KEY,
  lead_id TEXT NOT NULL REFERENCES leads (id),
  at      BIGINT NOT NULL
);

-- leadscore receiver, schema version 3 (SQLite). The same tables and columns as postgres-0003.sql, but for the
-- search: here an FTS5 table of each lead's words, there a text search column of the leads.
-- Who the lead is (read from its answers by the receiver), so that the inbox searches, filters and sorts in
-- the database. `facts` is 1 once they are kept: leads stored before this version get theirs at start.
ALTER TABLE leads ADD COLUMN name TEXT;
ALTER TABLE leads ADD COLUMN email TEXT;
ALTER TABLE leads ADD COLUMN company TEXT;
ALTER TABLE leads ADD COLUMN domain TEXT;
ALTER TABLE leads ADD COLUMN country TEXT;
ALTER TABLE leads ADD COLUMN source TEXT;
ALTER TABLE leads ADD COLUMN facts INTEGER NOT NULL DEFAULT 0;
-- How sales work it: an owner, a status (its outcome follows from it), why it was lost.
ALTER TABLE leads ADD COLUMN owner TEXT;
ALTER TABLE leads ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
  CHECK (status IN ('new', 'contacted', 'meeting_booked', 'no_show', 'won', 'lost'));
ALTER TABLE leads ADD COLUMN status_at INTEGER;
ALTER TABLE leads ADD COLUMN status_by TEXT;
ALTER TABLE leads ADD COLUMN lost_reason TEXT;
UPDATE leads SET status = outcome, status_at = outcome_at, status_by = outcome_by WHERE outcome IS NOT NULL;

-- An index per filter; those of columns most leads leave empty hold only the leads that have a value, so that
-- storing a lead writes as few as it can (the receiver's benchmark measures it).
CREATE INDEX leads_status ON leads (status, received_at DESC);
CREATE INDEX leads_score ON leads (score DESC, received_at DESC);
CREATE INDEX leads_owner ON leads (owner, received_at DESC) WHERE owner IS NOT NULL;
CREATE INDEX leads_country ON leads (country, received_at DESC) WHERE country IS NOT NULL;
CREATE INDEX leads_source ON leads (source, received_at DESC) WHERE source IS NOT NULL;
CREATE INDEX leads_email ON leads (email) WHERE email IS NOT NULL;
CREATE INDEX leads_domain ON leads (domain) WHERE domain IS NOT NULL;
CREATE INDEX leads_without_facts ON leads (facts) WHERE facts = 0;

-- The words each lead is found by (written with the lead, never changed).
-- Words only (`detail = none`, `columnsize = 0`): a search is words' beginnings, never phrases or rankings, so
-- neither positions nor sizes are kept.
CREATE VIRTUAL TABLE lead_search USING fts5 (lead_id UNINDEXED, words, tokenize = 'unicode61 remove_diacritics 2', detail = none, columnsize = 0);

-- Every change sales make to a lead: status (with the lost reason), owner, or a note.
CREATE TABLE lead_log (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  lead_id TEXT NOT NULL REFERENCES leads (id),
  at      INTEGER NOT NULL,
  by_user TEXT NOT NULL,
  what    TEXT NOT NULL CHECK (what IN ('status', 'owner', 'note')),
  value   TEXT,
  reason  TEXT
);
CREATE INDEX lead_log_lead ON lead_log (lead_id, id);

-- Round robins' turns, by rule.
CREATE TABLE turns (
  rule TEXT PRIMARY KEY,
  next INTEGER NOT NULL
);

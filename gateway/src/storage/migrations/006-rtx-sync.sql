-- The gateway's RTX service (docs/protocol/rtx-bridge-v1.md, docs/admin-api-rtx.md):
-- org sync runs and their staged snapshot pages, the outbound relay's cursor,
-- RTX conversation keys, and the SendNotify fallbacks already made.

-- One row per sync run: an adapter snapshot (source 'adapter:com', 'adapter:xml'…)
-- or an export XML imported in the console / CLI (source 'xml').
CREATE TABLE rtx_sync_runs (
  id          INTEGER PRIMARY KEY,
  snapshot_id TEXT UNIQUE,
  source      TEXT NOT NULL,
  reason      TEXT,
  state       TEXT NOT NULL CHECK (state IN ('staging', 'planned', 'applied', 'failed', 'discarded')),
  expected    TEXT,              -- JSON {depts, users, groups}: what rtx.org.begin announced
  counts      TEXT,              -- JSON plan counts (see RunCounts)
  warnings    TEXT,              -- JSON string[]
  changes     TEXT,              -- JSON sample of the planned changes (bounded)
  error       TEXT,
  timings     TEXT,              -- JSON {stageMs, planMs, applyMs}
  started_at  INTEGER NOT NULL,
  planned_at  INTEGER,
  finished_at INTEGER
);
CREATE INDEX rtx_sync_runs_state ON rtx_sync_runs (state);

-- Pages of a snapshot while it is staged (deleted once the run is applied or discarded).
CREATE TABLE rtx_sync_pages (
  run_id INTEGER NOT NULL REFERENCES rtx_sync_runs(id) ON DELETE CASCADE,
  kind   TEXT NOT NULL CHECK (kind IN ('depts', 'users', 'groups')),
  page   INTEGER NOT NULL,
  n      INTEGER NOT NULL,
  items  TEXT NOT NULL,
  PRIMARY KEY (run_id, kind, page)
) WITHOUT ROWID;

-- The outbound relay: messages up to this id were looked at (and, when they
-- go to RTX, appended to the plugin outbox in the same transaction).
CREATE TABLE rtx_relay (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  last_message_id INTEGER NOT NULL
);
-- messages stored before the RTX service existed are not relayed
INSERT INTO rtx_relay (id, last_message_id) VALUES (1, (SELECT COALESCE(MAX(id), 0) FROM messages));

-- The RTX session key of a 1:1 conversation, learned from captured messages
-- (accounts lower-cased, a < b), so replies are posted into the same RTX conversation.
CREATE TABLE rtx_im_sessions (
  a           TEXT NOT NULL,
  b           TEXT NOT NULL,
  session_key TEXT NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (a, b)
) WITHOUT ROWID;

-- Messages RTX refused as IM for which a SendNotify was queued instead (once per message).
CREATE TABLE rtx_notify_fallback (
  message_id INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL
);

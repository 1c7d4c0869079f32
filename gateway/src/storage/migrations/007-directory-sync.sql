-- Directory sync (docs/sync.md): the configured sources (LDAP/AD, spreadsheets,
-- RTX…), their runs, each run's stored plan, and when a synced user was
-- disabled (the deletion policy deletes N days later).

-- One row per configured source. `config` is JSON; its secret fields (the
-- source kind names them, e.g. an LDAP bind password) are sealed with the
-- data directory's secret key (gateway/src/settings/secret-box.ts), never in clear.
CREATE TABLE sync_sources (
  id              TEXT PRIMARY KEY,           -- a slug: 'corp-ad', 'hr-sheet'
  kind            TEXT NOT NULL,              -- 'ldap', 'xlsx', 'rtx', 'memory'…
  name            TEXT NOT NULL,
  origin          TEXT NOT NULL UNIQUE,       -- written on every entry it owns: '<kind>:<id>'
  config          TEXT NOT NULL DEFAULT '{}',
  schedule        TEXT,                       -- a cron expression (node-cron syntax) or NULL for manual only
  enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  matching        TEXT NOT NULL DEFAULT '{"by":["account"],"adopt":true}',
  brake_percent   REAL NOT NULL DEFAULT 10,
  deletion_days   INTEGER,                    -- NULL: users removed at the source stay disabled for ever
  cursor          TEXT,                       -- where the next delta starts
  next_run_at     INTEGER,
  last_run_id     INTEGER,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);

CREATE TABLE sync_runs (
  id           INTEGER PRIMARY KEY,
  source_id    TEXT NOT NULL,                 -- no foreign key: history outlives a deleted source
  trigger      TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'missed', 'cli')),
  dry_run      INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
  state        TEXT NOT NULL CHECK (state IN ('reading', 'planning', 'planned', 'needs_confirmation', 'applying', 'applied', 'failed', 'cancelled')),
  read_kind    TEXT,                          -- 'snapshot' | 'delta'
  requested_by TEXT,
  counts       TEXT,                          -- JSON RunCounts (planned; after applying, what was applied)
  brake        TEXT,                          -- JSON {users, affected, percent, limit} when the brake held the run
  errors       TEXT,                          -- JSON per-object errors (capped)
  error_count  INTEGER NOT NULL DEFAULT 0,
  warnings     TEXT,                          -- JSON string[]
  error        TEXT,                          -- why the run failed or was cancelled
  timings      TEXT,                          -- JSON {readMs, planMs, applyMs, totalMs}
  next_cursor  TEXT,                          -- the source's cursor once this run is applied
  confirmed_by TEXT,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER
);
CREATE INDEX sync_runs_source ON sync_runs (source_id, id);
CREATE INDEX sync_runs_state ON sync_runs (state);

-- The plan of a run, gzip-compressed JSON (downloadable; applied on confirmation).
CREATE TABLE sync_run_plans (
  run_id INTEGER PRIMARY KEY REFERENCES sync_runs(id) ON DELETE CASCADE,
  items  INTEGER NOT NULL,
  plan   BLOB NOT NULL
);

-- Synced users the engine disabled: since when, and whether the source still has them.
CREATE TABLE sync_user_state (
  user_id        INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  source_id      TEXT NOT NULL,
  disabled_since INTEGER NOT NULL,
  missing        INTEGER NOT NULL CHECK (missing IN (0, 1))  -- 1: gone from the source (deleted after deletion_days)
);
CREATE INDEX sync_user_state_source ON sync_user_state (source_id);

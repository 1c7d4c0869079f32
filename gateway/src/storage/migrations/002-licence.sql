-- Licences (F-2.3, F-9.1): every imported licence file, exactly as imported,
-- with at most one active. No row at all means the appliance runs as a trial.
-- The installation id used in licence requests lives in meta ('installation_id'),
-- created at its first use.

CREATE TABLE licences (
  id          TEXT PRIMARY KEY,
  body        TEXT NOT NULL,
  imported_at INTEGER NOT NULL,
  active      INTEGER NOT NULL CHECK (active IN (0, 1))
);
CREATE UNIQUE INDEX licences_one_active ON licences (active) WHERE active = 1;
